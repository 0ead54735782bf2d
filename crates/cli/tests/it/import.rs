//! `jiuzhu import` and `jiuzhu lake ls` as a clerk runs them, including an import killed
//! (SIGKILL) just before its commit.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn jiuzhu() -> Command {
    Command::new(env!("CARGO_BIN_EXE_jiuzhu"))
}

fn id(first17: &str) -> String {
    let c = domain::id::check_char(first17.as_bytes()) as char;
    format!("{first17}{c}")
}

/// A synthetic batch (province 99) of `n` persons and one medical row each.
fn write_batch(dir: &Path, n: usize, seed: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let mut pop =
        String::from("person_id,name,gender,birth_date,household_id,relation,region_code,status\n");
    let mut med = String::from("person_id,settled_date,total_cost,fund_paid,out_of_pocket,kind\n");
    for i in 0..n {
        let p = id(&format!("9901{:02}19800101{:03}", seed, i));
        pop.push_str(&format!(
            "{p},测试{i},male,1980-01-01,H{seed}-{i},head,990101001201,normal\n"
        ));
        med.push_str(&format!("{p},2026-06-03,100.00,50.00,50.00,outpatient\n"));
    }
    std::fs::write(dir.join("population.csv"), pop).unwrap();
    std::fs::write(dir.join("medical.csv"), med).unwrap();
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn lake_ls(data: &Path) -> String {
    let out = run(jiuzhu().args(["lake", "ls", "--data-dir"]).arg(data));
    String::from_utf8(out.stdout).unwrap()
}

/// Rows `lake ls` says the monitor sees for a feed.
fn visible_rows(ls: &str, feed: &str) -> Option<u64> {
    let (_, visible) = ls.split_once("visible to the monitor:")?;
    visible.lines().find_map(|l| {
        let mut words = l.split_whitespace();
        (words.next() == Some(feed))
            .then(|| words.next()?.parse().ok())
            .flatten()
    })
}

#[test]
fn import_prints_a_summary_and_is_idempotent() {
    let tmp = tempfile::tempdir().unwrap();
    let (batch, data) = (tmp.path().join("batch"), tmp.path().join("data"));
    write_batch(&batch, 3, 1);
    std::fs::write(
        batch.join("population.csv"),
        std::fs::read_to_string(batch.join("population.csv")).unwrap()
            + &format!(
                "{},坏,male,1980-01-02,H9,head,990101001201,normal\n",
                id("99010119800101999")
            ),
    )
    .unwrap();
    let out = run(jiuzhu()
        .arg("import")
        .arg(&batch)
        .arg("--data-dir")
        .arg(&data));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("birth_date_mismatch 1"), "{stdout}");
    assert!(stdout.contains("rejects.csv"), "{stdout}");
    assert!(!stdout.contains("坏"), "no names in the summary");
    let ls = lake_ls(&data);
    assert!(ls.contains("(sequence 1)"), "{ls}");
    assert!(ls.contains("population"), "{ls}");

    let again = run(jiuzhu()
        .arg("import")
        .arg(&batch)
        .arg("--data-dir")
        .arg(&data));
    assert!(String::from_utf8_lossy(&again.stdout).contains("already imported"));
    assert_eq!(lake_ls(&data), ls);
}

#[test]
fn a_refused_file_fails_the_command_but_the_rest_is_applied() {
    let tmp = tempfile::tempdir().unwrap();
    let (batch, data) = (tmp.path().join("batch"), tmp.path().join("data"));
    write_batch(&batch, 2, 2);
    std::fs::write(batch.join("care.csv"), "person_id,assessed_date\n").unwrap();
    let out = jiuzhu()
        .arg("import")
        .arg(&batch)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("care.csv") && stderr.contains("self_care"),
        "{stderr}"
    );
    assert!(lake_ls(&data).contains("population"));
}

#[test]
fn an_import_killed_before_its_commit_leaves_the_lake_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let (first, second) = (tmp.path().join("first"), tmp.path().join("second"));
    write_batch(&first, 5, 3);
    write_batch(&second, 50, 4);
    run(jiuzhu()
        .arg("import")
        .arg(&first)
        .arg("--data-dir")
        .arg(&data));
    let before = lake_ls(&data);

    let mut child = jiuzhu()
        .arg("import")
        .arg(&second)
        .arg("--data-dir")
        .arg(&data)
        .env("JIUZHU_IMPORT_PAUSE_BEFORE_COMMIT", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Blocks until the importer has staged and synced everything and stopped before its commit.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("import paused before commit") {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "the importer ended without pausing"
        );
    }
    let staging = data.join("lake/staging");
    assert_eq!(
        std::fs::read_dir(&staging).unwrap().count(),
        1,
        "the batch is staged"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    assert_eq!(lake_ls(&data), before, "a killed import changes nothing");
    run(jiuzhu()
        .arg("import")
        .arg(&second)
        .arg("--data-dir")
        .arg(&data));
    let after = lake_ls(&data);
    assert!(after.contains("(sequence 2)"), "{after}");
    assert_eq!(visible_rows(&after, "population"), Some(50), "{after}");
    assert_eq!(visible_rows(&after, "medical"), Some(55), "{after}");
    assert_eq!(
        std::fs::read_dir(&staging).unwrap().count(),
        0,
        "stale staging removed"
    );
}
