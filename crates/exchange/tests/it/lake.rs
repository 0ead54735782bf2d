//! The lake across batches: population snapshots replace each other, other feeds accumulate,
//! interrupted imports leave nothing visible.

use crate::fixture::*;
use exchange::{Feed, ImportOptions, Lake, import_batch};

fn batch(dir: &std::path::Path, population: &[&str], medical_rows: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let mut pop =
        String::from("person_id,name,gender,birth_date,household_id,relation,region_code,status\n");
    for (i, first17) in population.iter().enumerate() {
        let date = &first17[6..14];
        pop.push_str(&format!(
            "{},人{i},male,{date},H{i},head,990101001201,normal\n",
            id(first17)
        ));
    }
    std::fs::write(dir.join("population.csv"), pop).unwrap();
    let mut med = String::from("person_id,settled_date,total_cost,fund_paid,out_of_pocket,kind\n");
    for i in 0..medical_rows {
        med.push_str(&format!(
            "{},2026-06-{:02},{i},0,0,outpatient\n",
            id(population[0]),
            i + 1
        ));
    }
    std::fs::write(dir.join("medical.csv"), med).unwrap();
}

#[test]
fn latest_population_wins_and_other_feeds_accumulate() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    batch(&tmp.path().join("a"), &[P1, P2], 2);
    batch(&tmp.path().join("b"), &[P1, P2, P3], 3);
    let options = ImportOptions::default();
    import_batch(&tmp.path().join("a"), &data, &options).unwrap();
    import_batch(&tmp.path().join("b"), &data, &options).unwrap();
    let lake = Lake::open(&data).unwrap();
    assert_eq!(lake.batches().len(), 2);
    assert_eq!(lake.batches()[0].manifest.sequence, 1);
    assert_eq!(lake.batches()[1].manifest.sequence, 2);
    assert_eq!(lake.population_batch().unwrap().manifest.sequence, 2);
    assert_eq!(lake.visible_rows(Feed::Population), 3);
    assert_eq!(lake.visible_rows(Feed::Medical), 5);
    assert_eq!(lake_rows(&data, Feed::Population).len(), 3);
    assert_eq!(lake_rows(&data, Feed::Medical).len(), 5);
    assert!(lake.feed_files(Feed::Care).is_empty());
}

#[test]
fn stale_staging_is_invisible_and_cleaned() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // What an import killed before its commit leaves behind.
    let stale = data.join("lake/staging/0123abcd/population");
    std::fs::create_dir_all(&stale).unwrap();
    std::fs::write(stale.join("part-0.parquet"), b"half written").unwrap();
    assert!(Lake::open(&data).unwrap().batches().is_empty());
    batch(&tmp.path().join("a"), &[P1], 1);
    import_batch(&tmp.path().join("a"), &data, &ImportOptions::default()).unwrap();
    assert!(!data.join("lake/staging/0123abcd").exists());
    assert_eq!(Lake::open(&data).unwrap().batches().len(), 1);
}

#[test]
fn a_big_file_streams_in_many_chunks_in_order() {
    // More rows than one chunk and one writer: rows land exactly once, duplicates across
    // chunks are still found.
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("big");
    std::fs::create_dir_all(&dir).unwrap();
    let n = 70_000u64;
    let mut pop =
        String::from("person_id,name,gender,birth_date,household_id,relation,region_code,status\n");
    for i in 0..n {
        let f = format!("9901{:02}19800101{:03}", i / 1000 % 100, i % 1000);
        pop.push_str(&format!(
            "{},某,male,1980-01-01,H{i},head,990101001201,normal\n",
            id(&f)
        ));
    }
    // The first person again at the very end: a duplicate in the last chunk.
    pop.push_str(&format!(
        "{},某,male,1980-01-01,H0,head,990101001201,normal\n",
        id("99010019800101000")
    ));
    std::fs::write(dir.join("population.csv"), pop).unwrap();
    let data = tmp.path().join("data");
    let report = import_batch(&dir, &data, &ImportOptions::default()).unwrap();
    let entry = &report.batch.manifest.feeds["population"];
    assert_eq!(entry.rows, n);
    assert_eq!(entry.rejects_by_reason.get("duplicate_id"), Some(&1));
    let rejects = std::fs::read_to_string(report.batch.rejects_path()).unwrap();
    assert!(
        rejects.contains(&format!("population,{},person_id,duplicate_id", n + 1)),
        "{rejects}"
    );
    let rows = lake_rows(&data, Feed::Population);
    assert_eq!(rows.len() as u64, n);
}
