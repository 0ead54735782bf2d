//! Integration tests of the linkage pipeline on small synthetic Chinese data: linking feed
//! rows with broken IDs to the register, deduplicating an assistance roster, keeping
//! household members and twins apart, and explaining decisions.

use domain::{Gender, NoProgress};
use linkage::{
    Assignment, BirthDate, Comparison, Preparer, Record, Settings, dedupe, link, link_prepared,
};

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "单", "曾", "解", "欧阳",
];
const GIVEN: &[&str] = &[
    "伟", "娜", "芳", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "小明", "建国", "建华", "玉兰", "海燕",
    "志强", "春梅",
];

fn id_for(region: &str, birth: BirthDate, seq: u32) -> String {
    let first17 = format!(
        "{region}{:04}{:02}{:02}{:03}",
        birth.year,
        birth.month,
        birth.day,
        seq % 1000
    );
    let c = domain::id::check_char(first17.as_bytes()) as char;
    format!("{first17}{c}")
}

/// A tiny deterministic generator.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// A register of `households` households in region 99 (the synthetic test city): members
/// share the address and (mostly) the surname; every fifth household has twins.
fn register(households: usize) -> Vec<Record> {
    let mut rng = Lcg(7);
    let mut out = Vec::new();
    for h in 0..households {
        let surname = SURNAMES[rng.next(SURNAMES.len())];
        let village = format!(
            "99010{}{:03}{:03}",
            rng.next(10),
            rng.next(20) + 1,
            rng.next(200) + 1
        );
        let address = format!("示范市第{}街{}号", rng.next(50) + 1, h);
        let size = 1 + rng.next(4);
        let mut prev_birth = None;
        for k in 0..size {
            let twin = h % 5 == 0 && k == 1;
            let birth = match (twin, prev_birth) {
                (true, Some(b)) => b,
                _ => BirthDate {
                    year: 1940 + rng.next(70) as u16,
                    month: 1 + rng.next(12) as u8,
                    day: 1 + rng.next(28) as u8,
                },
            };
            prev_birth = Some(birth);
            let given = loop {
                let g = GIVEN[rng.next(GIVEN.len())];
                if !out
                    .iter()
                    .rev()
                    .take(k)
                    .any(|r: &Record| r.full_name.as_deref().is_some_and(|n| n.ends_with(g)))
                {
                    break g;
                }
            };
            out.push(Record {
                full_name: Some(format!("{surname}{given}")),
                birth_date: Some(birth),
                id_number: Some(id_for(&village[..6], birth, (h * 4 + k) as u32)),
                gender: Some(if rng.next(2) == 0 {
                    Gender::Male
                } else {
                    Gender::Female
                }),
                region: Some(village.clone()),
                street: Some(address.clone()),
                ..Record::default()
            });
        }
    }
    out
}

/// A feed row as a department would send it: the ID mistyped in one of several ways, the
/// name sometimes in traditional characters or as a homophone.
fn corrupt(r: &Record, k: usize) -> Record {
    let mut c = r.clone();
    let id = c.id_number.clone().unwrap_or_default();
    let mut b = id.into_bytes();
    match k % 4 {
        0 => b[17] = if b[17] == b'0' { b'1' } else { b'0' }, // wrong check character
        1 => b.swap(10, 11),                                  // swapped digits
        2 => b[8] = if b[8] == b'9' { b'0' } else { b[8] + 1 }, // one digit changed
        _ => b.truncate(0),                                   // missing
    }
    c.id_number = if b.is_empty() {
        None
    } else {
        Some(String::from_utf8(b).unwrap_or_default())
    };
    if k.is_multiple_of(7) {
        c.full_name = c.full_name.map(|n| {
            n.replace('张', "張")
                .replace('陈', "陳")
                .replace('伟', "偉")
        });
    }
    if k.is_multiple_of(11) {
        c.full_name = c.full_name.map(|n| n.replace("小明", "晓明"));
    }
    c.street = None;
    c
}

/// A corrupted feed row of every `step`th person of the register.
fn corrupted_rows(persons: &[Record], step: usize) -> Vec<Record> {
    persons
        .iter()
        .enumerate()
        .step_by(step)
        .map(|(k, r)| corrupt(r, k))
        .collect()
}

/// Default settings with a smaller u sample, so that unoptimised test builds stay fast.
fn quick() -> Settings {
    Settings {
        u_sample_pairs: 50_000,
        ..Settings::default()
    }
}

#[test]
fn feed_rows_with_broken_ids_link_to_their_persons() {
    let persons = register(400);
    let rows = corrupted_rows(&persons, 3);
    let truth: Vec<usize> = (0..persons.len()).step_by(3).collect();
    let settings = Settings {
        assignment: Assignment::ManyToOne,
        ..quick()
    };
    let out = link(&rows, &persons, &settings, &NoProgress).expect("links");
    assert_eq!(out.decisions.len(), rows.len());
    let correct = out
        .decisions
        .iter()
        .filter(|d| d.right == Some(truth[d.left]))
        .count();
    let wrong = out
        .decisions
        .iter()
        .filter(|d| d.right.is_some_and(|r| r != truth[d.left]))
        .count();
    assert!(
        correct as f64 >= 0.97 * rows.len() as f64,
        "correct {correct} of {}",
        rows.len()
    );
    assert!(wrong <= rows.len() / 100, "wrong {wrong}");
    // a twin row (same birth date, address, surname) must go to the right twin
    let twin_rows: Vec<_> = out
        .decisions
        .iter()
        .filter(|d| truth[d.left] % 5 == 1)
        .collect();
    assert!(
        twin_rows
            .iter()
            .all(|d| d.right.is_none_or(|r| r == truth[d.left]))
    );
}

#[test]
fn a_register_prepared_beforehand_links_the_same() {
    let persons = register(150);
    let rows = corrupted_rows(&persons, 4);
    let settings = Settings {
        assignment: Assignment::ManyToOne,
        threads: 2,
        ..quick()
    };
    let whole = link(&rows, &persons, &settings, &NoProgress).expect("links");
    let mut preparer = Preparer::default();
    persons.iter().for_each(|p| preparer.push(p));
    let prepared = preparer.finish();
    assert_eq!(prepared.len(), persons.len());
    let again = link_prepared(&rows, &prepared, &settings, &NoProgress).expect("links");
    assert_eq!(again.decisions, whole.decisions);
    assert_eq!(again.pairs, whole.pairs);
    // the register kept for explanations only: the decided persons, in order
    let decided: Vec<usize> = {
        let mut d: Vec<usize> = whole.decisions.iter().filter_map(|d| d.right).collect();
        d.sort_unstable();
        d.dedup();
        d
    };
    assert!(!decided.is_empty());
    let kept = prepared.keep(&decided);
    for (k, &j) in decided.iter().enumerate() {
        let row = whole
            .decisions
            .iter()
            .find(|d| d.right == Some(j))
            .expect("a row");
        let explained = again
            .model
            .explain_against(&rows[row.left], &kept, k)
            .expect("in range");
        assert_eq!(explained, whole.model.explain(&rows[row.left], &persons[j]));
    }
    assert!(
        again
            .model
            .explain_against(&rows[0], &kept, decided.len())
            .is_none()
    );
}

#[test]
fn household_members_and_twins_are_not_merged() {
    let persons = register(600);
    // the roster lists everyone once, and 60 people a second time under a mistyped ID
    let mut roster = persons.clone();
    for k in (0..persons.len()).step_by(10).take(60) {
        let mut dup = corrupt(&persons[k], k);
        dup.street = persons[k].street.clone();
        roster.push(dup);
    }
    let out = dedupe(&roster, &quick(), &NoProgress).expect("dedupes");
    let n = persons.len();
    let mut merged_distinct = 0;
    let mut example = None;
    let mut found = 0;
    for i in 0..roster.len() {
        for j in i + 1..roster.len() {
            if out.clusters[i] != out.clusters[j] {
                continue;
            }
            let same = j >= n && (0..persons.len()).step_by(10).nth(j - n) == Some(i);
            if same {
                found += 1
            } else {
                merged_distinct += 1;
                example.get_or_insert_with(|| out.model.explain(&roster[i], &roster[j]));
            }
        }
    }
    assert_eq!(
        merged_distinct, 0,
        "different people were merged, e.g. {example:?} m {:?} u {:?} λ {}",
        out.model.m, out.model.u, out.model.lambda
    );
    assert!(found >= 57, "duplicates found: {found} of 60");
}

#[test]
fn explanation_names_each_comparison_and_level() {
    let persons = register(200);
    let row = corrupt(&persons[0], 0);
    let out = link(
        std::slice::from_ref(&row),
        &persons,
        &Settings {
            assignment: Assignment::ManyToOne,
            ..quick()
        },
        &NoProgress,
    )
    .expect("links");
    let e = out.model.explain(&row, &persons[0]);
    let id = e
        .terms
        .iter()
        .find(|t| t.comparison == Comparison::IdNumber)
        .expect("id term");
    assert_eq!(id.level, "check character differs");
    let birth = e
        .terms
        .iter()
        .find(|t| t.comparison == Comparison::BirthDate)
        .expect("birth term");
    assert_eq!(birth.level, "exact");
    assert!(birth.weight > 0.0);
    let sum: f64 = e.prior_weight
        + e.terms
            .iter()
            .map(|t| t.weight + t.frequency_adjustment)
            .sum::<f64>();
    assert!((sum - e.match_weight).abs() < 1e-9);
    assert!((e.probability - linkage::probability(e.match_weight)).abs() < 1e-12);
    assert!(!format!("{e:?}").contains(persons[0].full_name.as_deref().unwrap_or("-")));
}

#[test]
fn a_given_model_is_reused_without_training() {
    let persons = register(100);
    let rows: Vec<Record> = persons
        .iter()
        .take(10)
        .enumerate()
        .map(|(k, r)| corrupt(r, k))
        .collect();
    let first = link(&rows, &persons, &quick(), &NoProgress).expect("links");
    let settings = Settings {
        model: Some(first.model.clone()),
        ..quick()
    };
    let second = link(&rows, &persons, &settings, &NoProgress).expect("links");
    assert_eq!(first.model, second.model);
    assert_eq!(first.decisions, second.decisions);
}

#[test]
fn empty_or_unusable_input_is_an_error_not_a_panic() {
    let err = link(
        &[Record::default()],
        &[Record::default()],
        &quick(),
        &NoProgress,
    );
    assert_eq!(err.err(), Some(linkage::LinkageError::NoComparableFields));
    let settings = Settings {
        training_rules: vec![99],
        ..quick()
    };
    let err = dedupe(&register(3), &settings, &NoProgress);
    assert_eq!(err.err(), Some(linkage::LinkageError::BadTrainingRule(99)));
}
