//! `jiuzhu policy`: check, test, explain and params through the binary.

use std::path::PathBuf;
use std::process::Command;

fn jiuzhu(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_jiuzhu"))
        .args(args)
        .output()
        .expect("run jiuzhu");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn pack_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policy")
}

#[test]
fn check_accepts_the_default_pack() {
    let dir = pack_dir();
    let (ok, out, err) = jiuzhu(&["policy", "check", dir.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    assert!(out.contains(": ok"), "{out}");
}

#[test]
fn check_names_file_and_line_of_a_problem() {
    let tmp = tempfile::tempdir().unwrap();
    for f in [
        "pack.yaml",
        "parameters.yaml",
        "facts.yaml",
        "tiers.yaml",
        "anomalies.yaml",
        "signals.yaml",
        "tags.yaml",
        "catalogue.yaml",
    ] {
        std::fs::copy(pack_dir().join(f), tmp.path().join(f)).unwrap();
    }
    std::fs::create_dir(tmp.path().join("sets")).unwrap();
    std::fs::copy(
        pack_dir().join("sets/gen.yaml"),
        tmp.path().join("sets/gen.yaml"),
    )
    .unwrap();
    let tags = std::fs::read_to_string(tmp.path().join("tags.yaml")).unwrap();
    std::fs::write(
        tmp.path().join("tags.yaml"),
        tags.replace(
            "when: any(members, age >= 80)",
            "when: any(members, agee >= 80)",
        ),
    )
    .unwrap();
    let (ok, out, err) = jiuzhu(&["policy", "check", tmp.path().to_str().unwrap()]);
    assert!(!ok, "{out}");
    assert!(err.contains("tags.yaml:"), "{err}");
    assert!(err.contains("unknown fact or parameter `agee`"), "{err}");
}

#[test]
fn test_runs_the_built_in_tests_with_coverage() {
    let (ok, out, err) = jiuzhu(&["policy", "test"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("coverage"), "{out}");
    assert!(out.contains("0 not covered"), "{out}");
    assert!(out.contains(" 0 failed"), "{out}");
}

#[test]
fn explain_prints_the_decisive_rule_facts_and_parameters() {
    let file = pack_dir().join("tests/examples.yaml");
    let (ok, out, err) = jiuzhu(&["policy", "explain", "--case", file.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("tier dibao · dibao_amount 800.00"), "{out}");
    assert!(out.contains("rule dibao — holds"), "{out}");
    assert!(out.contains("sum(non_tekun, income) = 2200.00"), "{out}");
    assert!(out.contains("std = 1000.00"), "{out}");
    assert!(out.contains("zh: 人均收入低于低保标准"), "{out}");
    assert!(
        out.contains("person e3a / 个人: tekun 2100.00 care partial"),
        "{out}"
    );
    assert!(out.contains("tekun_care_share[care_level] = 0.4"), "{out}");
}

#[test]
fn explain_accepts_another_date() {
    let file = pack_dir().join("tests/examples.yaml");
    let (ok, out, _) = jiuzhu(&[
        "policy",
        "explain",
        "--case",
        file.to_str().unwrap(),
        "--as-of",
        "2024-12-31",
    ]);
    assert!(ok);
    assert!(out.contains("has no parameter set at 2024-12-31"), "{out}");
}

#[test]
fn params_shows_the_set_in_force() {
    let (ok, out, err) = jiuzhu(&[
        "policy",
        "params",
        "--region",
        "110105001001",
        "--as-of",
        "2024-01-01",
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("set BJ-2023"), "{out}");
    assert!(out.contains("1395.00"), "{out}");
    assert!(out.contains("2420.00"), "{out}");
    let (ok, out, _) = jiuzhu(&[
        "policy",
        "params",
        "--region",
        "510121",
        "--as-of",
        "2026-01-01",
    ]);
    assert!(ok);
    assert!(out.contains("set CD-2023-510121"), "{out}");
    let (ok, _, err) = jiuzhu(&[
        "policy",
        "params",
        "--region",
        "120101001001",
        "--as-of",
        "2026-01-01",
    ]);
    assert!(!ok);
    assert!(err.contains("no parameter set"), "{err}");
}
