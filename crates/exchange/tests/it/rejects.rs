//! A batch with bad rows of every kind: every bad row is reported with its reason and row,
//! every good row lands, nothing personal is written in the report, and a second import is a
//! no-op.

use crate::fixture::*;
use exchange::{Feed, ImportOptions, Lake, Outcome, import_batch};
use std::collections::BTreeSet;

/// A credit code with a wrong check character.
fn bad_credit_code() -> String {
    let first17 = "91350100M000100Y4";
    let good = domain::credit::credit_check_char(first17.as_bytes()).unwrap();
    let bad = if good == b'0' { '1' } else { '0' };
    format!("{first17}{bad}")
}

fn write(dir: &std::path::Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn every_bad_row_is_reported_and_every_good_row_lands() {
    let tmp = tempfile::tempdir().unwrap();
    let batch = tmp.path().join("batch");
    let data = tmp.path().join("data");
    std::fs::create_dir_all(&batch).unwrap();
    let (p1, p2, p3, p4) = (id(P1), id(P2), id(P3), id(P4));
    let p5 = id("99010119900505005");
    let header = "person_id,name,gender,birth_date,household_id,relation,region_code,status,status_date,spouse_id,shoe_size\n";
    let population = format!(
        "{header}\
         {p1},张三,male,1980-01-01,H001,head,990101001201,normal,,{p2},42\n\
         {p2},李四,female,1982-02-02,H001,spouse,990101001201,normal,,not-an-id,37\n\
         {p1},张三,male,1980-01-01,H001,head,990101001201,normal,,,42\n\
         {bad_id},王五,male,1980-01-01,H003,head,990101001201,normal,,,\n\
         {p3},张小明,male,2010-03-04,H001,child,990101001201,normal,,,\n\
         {p4},王五,female,1940-04-04,H002,head,990101002001,deceased,,,\n\
         {p5},赵六,male,1990-05-05,{long},head,990101001201,normal,,,\n\
         {p5},赵六,robot,1990-05-05,H005,boss,99010,normal,,,\n\
         {p5},,male,1990-05-05,H005,head,990101001201,normal,2026-13-01,,\n\
         {p5},赵六,male,1990-05-05,H005,head,990101001201,normal,,,\n",
        bad_id = mistyped(P4),
        long = "H".repeat(33),
    );
    write(&batch, "population.csv", &population);
    let medical = format!(
        "person_id,settled_date,total_cost,fund_paid,out_of_pocket,kind,name,birth_date\n\
         {p1},2026-06-03,100.00,50.00,100.01,outpatient,,\n\
         {p1},2026-06-03,1.234,0,0,outpatient,,\n\
         {p1},2026-06-03,-5,0,0,outpatient,,\n\
         ,2026-06-03,10,0,0,outpatient,,\n\
         12345,2026-06-03,10,0,0,outpatient,张三,\n\
         12345,2026-06-03,10,0,0,outpatient,张三,1980-01-01\n\
         {p1},2026-06-03,10,0,10,outpatient,,\n"
    );
    write(&batch, "medical.csv", &medical);
    let utilities = format!(
        "person_id,period,electricity_kwh,arrears_months\n\
         {p1},2026-6,1,0\n\
         {p1},2026-06,-1,0\n\
         {p1},2026-06,abc,0\n\
         {p1},2026-06,1,1.5\n\
         {p1},2026-06,1,0\n"
    );
    write(&batch, "utilities.csv", &utilities);
    write(
        &batch,
        "business.csv",
        &format!(
            "person_id,credit_code,role,status,registered_date\n\
             {p1},{bad_code},legal_rep,active,2020-01-01\n",
            bad_code = bad_credit_code()
        ),
    );
    write(
        &batch,
        "assistance.csv",
        &format!(
            "person_id,household_id,program,region_code,start_date,monthly_amount\n\
             {p1},H001,dibao,990101,2025-01-01,\n\
             {p1},H001,dibao,990101,2025-01-01,500\n"
        ),
    );
    // Missing a required column: the whole file is refused, the rest still imports.
    write(
        &batch,
        "finance.csv",
        &format!("person_id,deposits\n{p1},100\n"),
    );
    write(&batch, "notes.txt", "not a feed");

    let report = import_batch(&batch, &data, &ImportOptions::default()).unwrap();
    assert_eq!(report.outcome, Outcome::Applied);
    let m = &report.batch.manifest;

    let rejects = std::fs::read_to_string(report.batch.rejects_path()).unwrap();
    let lines: BTreeSet<(String, String, String, String)> = rejects
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].into(), f[1].into(), f[2].into(), f[3].into())
        })
        .collect();
    let want = |feed: &str, row: u32, column: &str, reason: &str| {
        let key = (
            feed.to_string(),
            row.to_string(),
            column.to_string(),
            reason.to_string(),
        );
        assert!(lines.contains(&key), "missing {key:?} in\n{rejects}");
    };
    want("population", 3, "person_id", "duplicate_id");
    want("population", 4, "person_id", "invalid_id");
    want("population", 5, "birth_date", "birth_date_mismatch");
    want("population", 6, "status_date", "missing_required");
    want("population", 7, "household_id", "too_long");
    want("population", 8, "gender", "bad_code");
    want("population", 8, "relation", "bad_code");
    want("population", 8, "region_code", "bad_region");
    want("population", 9, "name", "missing_required");
    want("population", 9, "status_date", "bad_date");
    want("medical", 1, "out_of_pocket", "exceeds_total");
    want("medical", 2, "total_cost", "bad_money");
    want("medical", 3, "total_cost", "negative_money");
    want("medical", 4, "person_id", "missing_required");
    want("medical", 5, "person_id", "invalid_id");
    want("utilities", 1, "period", "bad_period");
    want("utilities", 2, "electricity_kwh", "negative_number");
    want("utilities", 3, "electricity_kwh", "bad_number");
    want("utilities", 4, "arrears_months", "bad_integer");
    want("business", 1, "credit_code", "bad_credit_code");
    want("assistance", 1, "monthly_amount", "missing_required");
    want("finance", 0, "as_of", "missing_column");
    assert_eq!(lines.len(), 22, "{rejects}");

    // Nothing personal in plain text: IDs masked, names masked.
    for text in [&p1, &p2, &p4, &p5, &mistyped(P4)] {
        assert!(!rejects.contains(text.as_str()));
    }
    assert!(!rejects.contains("张三") && !rejects.contains("赵六"));
    assert!(rejects.contains(&format!("{}********{}", &p1[..6], &p1[14..])));

    // Good rows land: population rows 1, 2 and 10; medical 6 (unlinked) and 7; utilities 5.
    assert_eq!(m.rows(Feed::Population), 3);
    assert_eq!(m.feeds["population"].rejected_rows, 7);
    assert_eq!(m.feeds["population"].warnings, 1);
    assert_eq!(m.feeds["population"].ignored_columns, ["shoe_size"]);
    assert_eq!(m.rows(Feed::Medical), 2);
    assert_eq!(m.rows(Feed::Utilities), 1);
    assert_eq!(m.rows(Feed::Business), 0);
    assert_eq!(m.rows(Feed::Assistance), 1);
    assert!(!m.feeds.contains_key("finance"));
    assert_eq!(m.refused.len(), 1);
    assert!(m.refused[0].message.contains("finance.csv"));
    assert!(m.refused[0].message.contains("as_of"));
    assert_eq!(m.ignored_files, ["notes.txt"]);
    let population = lake_rows(&data, Feed::Population);
    assert_eq!(population.len(), 3);
    assert!(
        population
            .iter()
            .any(|r| r.starts_with("2|") && r.contains("|∅|")),
        "{population:?}"
    );
    let warnings = std::fs::read_to_string(report.batch.dir.join("warnings.csv")).unwrap();
    assert!(
        warnings.contains("population,2,spouse_id,invalid_id"),
        "{warnings}"
    );
    let summary = report.summary();
    assert!(summary.contains("duplicate_id 1"), "{summary}");
    assert!(summary.contains("REFUSED finance.csv"), "{summary}");

    // The same batch again: nothing changes.
    let again = import_batch(&batch, &data, &ImportOptions::default()).unwrap();
    assert_eq!(again.outcome, Outcome::AlreadyImported);
    assert_eq!(again.batch.manifest, *m);
    let lake = Lake::open(&data).unwrap();
    assert_eq!(lake.batches().len(), 1);
    assert_eq!(lake_rows(&data, Feed::Population).len(), 3);
}
