//! `jiuzhu synth` as a developer runs it: a small city in every format, the summary it prints,
//! and a clear refusal of a bad as-of date.

use std::path::Path;
use std::process::Command;

fn synth(out: &Path, format: &str, persons: u32) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_jiuzhu"))
        .args([
            "synth",
            "--persons",
            &persons.to_string(),
            "--seed",
            "7",
            "--out",
        ])
        .arg(out)
        .args(["--format", format, "--as-of", "2026-06-30"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

const FEEDS: [&str; 13] = [
    "population",
    "assistance",
    "disability",
    "employment",
    "medical",
    "real_estate",
    "vehicles",
    "business",
    "finance",
    "education",
    "utilities",
    "income",
    "care",
];

fn check_batch(dir: &Path, ext: &str, encoding: &str) {
    for feed in FEEDS {
        let path = dir.join(format!("{feed}.{ext}"));
        let len = std::fs::metadata(&path).unwrap().len();
        assert!(len > 0, "{feed}.{ext} is empty");
    }
    let manifest = std::fs::read_to_string(dir.join("batch.toml")).unwrap();
    assert!(
        manifest.contains("extracted_at = \"2026-06-30\""),
        "{manifest}"
    );
    assert!(
        manifest.contains(&format!("encoding = \"{encoding}\"")),
        "{manifest}"
    );
    for truth in ["noise.csv", "invalid.csv", "anomalies.csv"] {
        assert!(dir.join("_truth").join(truth).exists(), "{truth}");
    }
    assert!(dir.join("_meta/regions.csv").exists());
    assert!(dir.join("_meta/boundaries.geojson").exists());
}

#[test]
fn csv_city_has_every_feed_and_prints_a_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let out = synth(tmp.path(), "csv", 1500);
    assert!(out.contains("wrote 1500 persons"), "{out}");
    assert!(out.contains("population"), "{out}");
    check_batch(tmp.path(), "csv", "utf-8");
    let population = std::fs::read_to_string(tmp.path().join("population.csv")).unwrap();
    assert!(population.starts_with("person_id,name,gender,birth_date,household_id"));
    // 1500 persons, plus the header and any duplicate rows planted for the importer.
    let rows = population.lines().count();
    assert!((1501..1510).contains(&rows), "{rows}");
}

#[test]
fn gb18030_city_is_not_utf8_and_has_chinese_headers() {
    let tmp = tempfile::tempdir().unwrap();
    synth(tmp.path(), "gb18030", 800);
    check_batch(tmp.path(), "csv", "gb18030");
    let bytes = std::fs::read(tmp.path().join("population.csv")).unwrap();
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "GB18030 text with Chinese is not UTF-8"
    );
    // 公 in GB18030 is B9 AB.
    assert_eq!(&bytes[..2], &[0xB9, 0xAB]);
}

#[test]
fn xlsx_and_parquet_cities_are_written() {
    let tmp = tempfile::tempdir().unwrap();
    let xlsx = tmp.path().join("xlsx");
    synth(&xlsx, "xlsx", 600);
    check_batch(&xlsx, "xlsx", "utf-8");
    let bytes = std::fs::read(xlsx.join("population.xlsx")).unwrap();
    assert_eq!(&bytes[..2], b"PK", "an XLSX file is a zip archive");

    let parquet = tmp.path().join("parquet");
    synth(&parquet, "parquet", 600);
    check_batch(&parquet, "parquet", "utf-8");
    let bytes = std::fs::read(parquet.join("medical.parquet")).unwrap();
    assert_eq!(&bytes[..4], b"PAR1");
    assert_eq!(&bytes[bytes.len() - 4..], b"PAR1");
}

#[test]
fn a_bad_as_of_date_is_refused_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_jiuzhu"))
        .args(["synth", "--persons", "10", "--out"])
        .arg(tmp.path())
        .args(["--as-of", "2026-02-30"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(err.contains("--as-of"), "{err}");
}
