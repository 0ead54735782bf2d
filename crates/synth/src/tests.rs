//! Tests of whole generated cities: valid and unique IDs, determinism, every feed filled, the
//! ground truth matching the rows, and the planted cases present in useful proportions.

use crate::{Feed, Format, Options, default_as_of, generate};
use domain::{Date, NoProgress, ResidentId};
use std::collections::{HashMap, HashSet};
use std::path::Path;

fn city(dir: &Path, persons: u64, seed: u64, format: Format) -> crate::Summary {
    let options = Options {
        persons,
        seed,
        format,
        as_of: default_as_of(),
    };
    generate(&options, dir, &NoProgress).unwrap()
}

/// Splits one CSV line (RFC 4180 quotes).
fn fields(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                out.last_mut().unwrap().push('"');
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(String::new()),
            c => out.last_mut().unwrap().push(c),
        }
    }
    out
}

/// Header and data rows of a CSV file.
fn read(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = fields(lines.next().unwrap());
    (header, lines.map(fields).collect())
}

fn column(header: &[String], name: &str) -> usize {
    header.iter().position(|h| h == name).unwrap()
}

#[test]
fn population_ids_are_valid_unique_and_agree_with_birth_date_gender_and_region() {
    let tmp = tempfile::tempdir().unwrap();
    let summary = city(tmp.path(), 4000, 11, Format::Csv);
    assert_eq!(summary.persons, 4000);
    let (h, rows) = read(&tmp.path().join("population.csv"));
    let (pid, birth, gender, region) = (
        column(&h, "person_id"),
        column(&h, "birth_date"),
        column(&h, "gender"),
        column(&h, "region_code"),
    );
    let duplicates: HashSet<u64> = read(&tmp.path().join("_truth/invalid.csv"))
        .1
        .iter()
        .filter(|r| r[0] == "population" && r[3] == "duplicate_id")
        .map(|r| r[1].parse().unwrap())
        .collect();
    let mut seen = HashSet::new();
    for (i, row) in rows.iter().enumerate() {
        let id = ResidentId::parse(&row[pid]).unwrap();
        assert_eq!(id.birth_date(), Date::parse(&row[birth]).unwrap());
        assert_eq!(id.gender().as_str(), row[gender]);
        assert!(row[region].starts_with("99") && row[region].len() == 12);
        assert!(id.as_str().starts_with("99"));
        let first = seen.insert(row[pid].clone());
        assert_eq!(
            first,
            !duplicates.contains(&(i as u64 + 1)),
            "row {}",
            i + 1
        );
    }
    assert_eq!(seen.len(), 4000);
    let rural = rows
        .iter()
        .filter(|r| r[region][9..].starts_with(['2', '3']))
        .count();
    assert!(rural > 400 && rural < 3600, "{rural} rural persons");
}

#[test]
fn the_same_seed_gives_byte_identical_files_and_another_seed_does_not() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    city(&a, 2500, 5, Format::Csv);
    city(&b, 2500, 5, Format::Csv);
    city(&c, 2500, 6, Format::Csv);
    for feed in Feed::ALL {
        let name = format!("{}.csv", feed.as_str());
        assert_eq!(
            std::fs::read(a.join(&name)).unwrap(),
            std::fs::read(b.join(&name)).unwrap(),
            "{name}"
        );
    }
    for truth in [
        "_truth/noise.csv",
        "_truth/anomalies.csv",
        "_truth/invalid.csv",
    ] {
        assert_eq!(
            std::fs::read(a.join(truth)).unwrap(),
            std::fs::read(b.join(truth)).unwrap()
        );
    }
    assert_ne!(
        std::fs::read(a.join("population.csv")).unwrap(),
        std::fs::read(c.join("population.csv")).unwrap()
    );
}

#[test]
fn every_feed_has_rows_in_a_city_of_a_few_thousand() {
    let tmp = tempfile::tempdir().unwrap();
    let summary = city(tmp.path(), 3000, 1, Format::Csv);
    for (feed, rows) in &summary.rows {
        assert!(*rows > 0, "{} is empty", feed.as_str());
        let (_, data) = read(&tmp.path().join(format!("{}.csv", feed.as_str())));
        assert_eq!(data.len() as u64, *rows, "{}", feed.as_str());
    }
    assert!(summary.noisy_rows > 0 && summary.invalid_rows > 0);
}

#[test]
fn every_mistyped_row_is_in_the_truth_and_every_truth_row_is_mistyped() {
    let tmp = tempfile::tempdir().unwrap();
    city(tmp.path(), 6000, 3, Format::Csv);
    let (_, noise) = read(&tmp.path().join("_truth/noise.csv"));
    let truth: HashMap<(String, u64), (String, String)> = noise
        .iter()
        .map(|r| {
            (
                (r[0].clone(), r[1].parse().unwrap()),
                (r[2].clone(), r[3].clone()),
            )
        })
        .collect();
    let (_, invalid) = read(&tmp.path().join("_truth/invalid.csv"));
    let invalid: HashSet<(String, u64)> = invalid
        .iter()
        .map(|r| (r[0].clone(), r[1].parse().unwrap()))
        .collect();
    let (_, population) = read(&tmp.path().join("population.csv"));
    let people: HashMap<String, (String, String)> = population
        .iter()
        .map(|r| (r[0].clone(), (r[1].clone(), r[3].clone())))
        .collect();
    let mut kinds = HashSet::new();
    let mut variants = 0;
    for feed in Feed::ALL.into_iter().skip(1) {
        let (h, rows) = read(&tmp.path().join(format!("{}.csv", feed.as_str())));
        let (name, birth) = (column(&h, "name"), column(&h, "birth_date"));
        for (i, row) in rows.iter().enumerate() {
            let key = (feed.as_str().to_string(), i as u64 + 1);
            let linked = ResidentId::parse(&row[0])
                .ok()
                .filter(|id| id.as_str() == row[0]);
            match truth.get(&key) {
                Some((true_id, kind)) => {
                    kinds.insert(kind.clone());
                    assert_ne!(&row[0], true_id);
                    if kind == "legacy_15" {
                        let id = ResidentId::parse(&row[0]).unwrap();
                        assert_eq!(id.as_str(), true_id);
                    } else {
                        assert!(ResidentId::parse(&row[0]).is_err(), "{key:?}");
                    }
                    let (true_name, true_birth) = &people[true_id];
                    assert_eq!(&row[birth], true_birth);
                    assert_eq!(row[name].chars().count(), true_name.chars().count());
                    if &row[name] != true_name {
                        variants += 1;
                    }
                }
                None if invalid.contains(&key) => {}
                None => {
                    let id = linked.unwrap_or_else(|| panic!("{key:?} has no valid id"));
                    assert!(people.contains_key(id.as_str()), "{key:?} names nobody");
                }
            }
        }
    }
    for kind in [
        "changed_digit",
        "swapped_pair",
        "wrong_check",
        "legacy_15",
        "missing",
    ] {
        assert!(kinds.contains(kind), "{kind} never drawn");
    }
    assert!(variants > 0, "no homophone or traditional names");
}

#[test]
fn planted_anomalies_cover_every_kind_and_are_in_useful_proportions() {
    let tmp = tempfile::tempdir().unwrap();
    let summary = city(tmp.path(), 30_000, 2, Format::Csv);
    let (_, anomalies) = read(&tmp.path().join("_truth/anomalies.csv"));
    let reasons: HashSet<&str> = anomalies.iter().flat_map(|r| r[4].split(';')).collect();
    for reason in [
        "income_above",
        "money_assets",
        "vehicle",
        "property",
        "business",
        "deceased",
        "emigrated",
        "household_not_found",
        "able_obligor",
        "work_capacity",
        "income_below_standard",
        "tekun_conditions_met",
        "single_person_route",
        "same_program_twice",
        "exclusive_programs",
    ] {
        assert!(reasons.contains(reason), "no planted {reason}");
    }
    let count = |kind: &str| anomalies.iter().filter(|r| r[0] == kind).count();
    let households = summary.households as usize;
    // Omissions and wrong inclusions are each a fraction of a percent to a few percent of
    // households; duplicates fewer.
    assert!((households / 400..households / 20).contains(&count("omission")));
    assert!((households / 400..households / 20).contains(&count("wrong_inclusion")));
    assert!((1..households / 50).contains(&count("duplicate")));

    // Running dibao spells cover a few percent of households; most of them rightly.
    let (h, spells) = read(&tmp.path().join("assistance.csv"));
    let (program, end, household) = (
        column(&h, "program"),
        column(&h, "end_date"),
        column(&h, "household_id"),
    );
    let paid: HashSet<&str> = spells
        .iter()
        .filter(|r| r[program] == "dibao" && r[end].is_empty())
        .map(|r| r[household].as_str())
        .collect();
    assert!(
        paid.len() > households / 100 && paid.len() < households / 10,
        "{} of {households}",
        paid.len()
    );
    let tekun = spells
        .iter()
        .filter(|r| r[program] == "tekun" && r[end].is_empty())
        .count();
    assert!(tekun > 10, "{tekun} tekun spells");
}

#[test]
fn gb18030_uses_chinese_headers_and_codes() {
    let tmp = tempfile::tempdir().unwrap();
    city(tmp.path(), 300, 4, Format::Gb18030);
    let bytes = std::fs::read(tmp.path().join("population.csv")).unwrap();
    let (text, _, errors) = encoding_rs::GB18030.decode(&bytes);
    assert!(!errors);
    assert!(text.starts_with("公民身份号码,姓名,性别,出生日期,户号,与户主关系"));
    assert!(text.contains(",户主,") && (text.contains(",男,") || text.contains(",女,")));
    let manifest = std::fs::read_to_string(tmp.path().join("batch.toml")).unwrap();
    assert!(manifest.contains("encoding = \"gb18030\""));
}

#[test]
fn parquet_columns_have_natural_types() {
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let tmp = tempfile::tempdir().unwrap();
    city(tmp.path(), 500, 4, Format::Parquet);
    let file = std::fs::File::open(tmp.path().join("medical.parquet")).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let schema = reader.schema().clone();
    use arrow_schema::DataType;
    assert_eq!(
        schema.field_with_name("person_id").unwrap().data_type(),
        &DataType::Utf8
    );
    assert_eq!(
        schema.field_with_name("settled_date").unwrap().data_type(),
        &DataType::Date32
    );
    assert_eq!(
        schema.field_with_name("total_cost").unwrap().data_type(),
        &DataType::Decimal128(18, 2)
    );
    let rows: usize = reader.build().unwrap().map(|b| b.unwrap().num_rows()).sum();
    assert!(rows > 0);
}

#[test]
fn zero_persons_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let options = Options {
        persons: 0,
        seed: 1,
        format: Format::Csv,
        as_of: default_as_of(),
    };
    assert!(generate(&options, tmp.path(), &NoProgress).is_err());
}
