//! `jiuzhu link eval` on a FEBRL subset read from the shared benchmark folder.

use std::path::{Path, PathBuf};
use std::process::Command;

fn febrl() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/linkage/data");
    if dir.join("febrl4a.csv").exists() {
        Some(dir)
    } else {
        eprintln!(
            "NOTICE: FEBRL data not found at {} — linkage evaluation test skipped",
            dir.display()
        );
        None
    }
}

/// The first `n` data rows of a CSV file (with its header), written to `to`.
fn head(from: &Path, to: &Path, keep: impl Fn(&str) -> bool) {
    let text = std::fs::read_to_string(from).expect("read benchmark file");
    let mut lines = text.lines();
    let mut out = String::new();
    if let Some(h) = lines.next() {
        out.push_str(h);
        out.push('\n');
    }
    for l in lines.filter(|l| keep(l)) {
        out.push_str(l);
        out.push('\n');
    }
    std::fs::write(to, out).expect("write subset");
}

/// Entities rec-0 … rec-599.
fn small_entity(line: &str) -> bool {
    line.split('-')
        .nth(1)
        .and_then(|n| n.parse::<u32>().ok())
        .is_some_and(|n| n < 600)
}

fn field(output: &str, key: &str) -> f64 {
    let at = output
        .find(key)
        .unwrap_or_else(|| panic!("{key} in {output}"));
    output[at + key.len()..]
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("number after {key}"))
}

#[test]
fn link_eval_on_a_febrl4_subset() {
    let Some(dir) = febrl() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = (tmp.path().join("a.csv"), tmp.path().join("b.csv"));
    head(&dir.join("febrl4a.csv"), &a, small_entity);
    head(&dir.join("febrl4b.csv"), &b, small_entity);
    let json = tmp.path().join("out.json");
    let out = Command::new(env!("CARGO_BIN_EXE_jiuzhu"))
        .args(["link", "eval", "--left"])
        .arg(&a)
        .arg("--right")
        .arg(&b)
        .arg("--json")
        .arg(&json)
        .output()
        .expect("run jiuzhu");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("true pairs 600"), "{text}");
    assert!(field(&text, "blocking recall ") >= 0.99, "{text}");
    assert!(field(&text, "F1=") >= 0.98, "{text}");
    let json = std::fs::read_to_string(json).expect("json written");
    assert!(json.contains("\"blocking_recall\""));
}

#[test]
fn dedupe_eval_without_the_national_id() {
    let Some(dir) = febrl() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("f3.csv");
    head(&dir.join("febrl3.csv"), &input, small_entity);
    let out = Command::new(env!("CARGO_BIN_EXE_jiuzhu"))
        .args(["link", "eval", "--dedupe", "--no-id", "--input"])
        .arg(&input)
        .output()
        .expect("run jiuzhu");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("dedupe"), "{text}");
    assert!(field(&text, "F1=") >= 0.9, "{text}");
    assert!(!text.contains("id_number"), "the ID was not used: {text}");
}

#[test]
fn link_without_a_lake_explains_what_is_missing() {
    let out = Command::new(env!("CARGO_BIN_EXE_jiuzhu"))
        .args(["link"])
        .output()
        .expect("run jiuzhu");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--data-dir"));
}
