//! One batch written four ways imports to identical lake contents.

use crate::fixture::*;
use exchange::{Feed, ImportOptions, Outcome, import_batch};
use std::path::Path;

fn import(write: fn(&Path, &[Table])) -> (tempfile::TempDir, Vec<(Feed, Vec<String>)>) {
    let tmp = tempfile::tempdir().unwrap();
    let batch = tmp.path().join("batch");
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&batch).unwrap();
    let tables = small_batch();
    write(&batch, &tables);
    let report = import_batch(&batch, &data, &ImportOptions::default()).unwrap();
    assert_eq!(report.outcome, Outcome::Applied);
    assert!(
        report.batch.manifest.refused.is_empty(),
        "{:?}",
        report.batch.manifest.refused
    );
    for t in &tables {
        let entry = &report.batch.manifest.feeds[t.feed.as_str()];
        assert_eq!(entry.rows, t.rows.len() as u64, "{}", t.feed);
        assert_eq!(entry.rejected_rows, 0, "{}", t.feed);
    }
    let rows = tables
        .iter()
        .map(|t| (t.feed, lake_rows(&data, t.feed)))
        .collect();
    (tmp, rows)
}

#[test]
fn four_formats_one_lake() {
    let (_a, utf8) = import(write_csv_utf8);
    let (_b, gb) = import(write_csv_gb18030);
    let (_c, xlsx) = import(write_xlsx);
    let (_d, parquet) = import(write_parquet);
    assert_eq!(utf8, gb, "CSV GB18030 with Chinese headers");
    assert_eq!(utf8, xlsx, "XLSX with serial dates");
    assert_eq!(utf8, parquet, "Parquet with natural types");
}

#[test]
fn canonical_values_in_the_lake() {
    let (_tmp, rows) = import(write_csv_utf8);
    let feed = |f: Feed| {
        rows.iter()
            .find(|(x, _)| *x == f)
            .map(|(_, r)| r.clone())
            .unwrap()
    };
    let population = feed(Feed::Population);
    assert_eq!(
        population[0],
        format!(
            "1|{}|张三|male|1980-01-01|H001|head|990101001201|示范市一路1号|normal|∅|{}|∅|∅",
            id(P1),
            id(P2)
        )
    );
    assert!(
        population[3].contains("|deceased|2026-01-15|"),
        "{}",
        population[3]
    );
    let medical = feed(Feed::Medical);
    // Money in fen; the mistyped ID is kept raw for linkage, person_id null.
    assert_eq!(
        medical[0],
        format!(
            "1|{}|2026-06-03|123450|100000|23450|inpatient|J18.9|∅|∅|∅",
            id(P1)
        )
    );
    assert_eq!(
        medical[1],
        format!(
            "2|∅|2026-07-10|8600000|5200000|3400000|major|∅|李四|1982-02-02|{}",
            mistyped(P2)
        )
    );
    // Periods are the first day of the month; decimals exact with scale 4; 6-digit regions padded.
    let utilities = feed(Feed::Utilities);
    assert_eq!(
        utilities[0],
        format!("1|{}|2026-06-01|63.5000|4.2500|0|∅|∅|∅", id(P1))
    );
    let assistance = feed(Feed::Assistance);
    assert!(
        assistance[0].contains("|dibao|990101000000|2025-01-01|∅|80000|"),
        "{}",
        assistance[0]
    );
}
