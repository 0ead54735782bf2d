//! Person facts computed by the DataFusion plan, checked field by field on small cities.

use crate::fixture::{City, date, id};
use monitor::{Feed, Windows};

#[test]
fn income_money_and_windows_follow_the_reading_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = id("1986-03-01", 11);
    let b = id("1988-04-02", 22);
    let mut city = City::new();
    city.person(&a, "H1", "head", "1986-03-01");
    city.person(&b, "H1", "spouse", "1988-04-02");
    // Employment: an old record outside the lookback, two rows for one period (the later wins).
    city.add(
        Feed::Employment,
        &[
            ("person_id", &a),
            ("period", "2025-05"),
            ("status", "employed"),
            ("monthly_wage", "9000"),
        ],
    );
    city.add(
        Feed::Employment,
        &[
            ("person_id", &a),
            ("period", "2026-05"),
            ("status", "unemployed"),
        ],
    );
    city.add(
        Feed::Employment,
        &[
            ("person_id", &a),
            ("period", "2026-06"),
            ("status", "employed"),
            ("monthly_wage", "1000"),
        ],
    );
    city.add(
        Feed::Employment,
        &[
            ("person_id", &a),
            ("period", "2026-06"),
            ("status", "employed"),
            ("monthly_wage", "2200"),
        ],
    );
    city.add(
        Feed::Employment,
        &[
            ("person_id", &b),
            ("period", "2025-05"),
            ("status", "employed"),
            ("monthly_wage", "5000"),
        ],
    );
    // Income: exempt never counts; the latest of each kind.
    city.add(
        Feed::Income,
        &[
            ("person_id", &b),
            ("period", "2026-01"),
            ("kind", "support"),
            ("monthly_amount", "100"),
        ],
    );
    city.add(
        Feed::Income,
        &[
            ("person_id", &b),
            ("period", "2026-03"),
            ("kind", "support"),
            ("monthly_amount", "150"),
        ],
    );
    city.add(
        Feed::Income,
        &[
            ("person_id", &b),
            ("period", "2026-03"),
            ("kind", "exempt"),
            ("monthly_amount", "999"),
        ],
    );
    city.add(
        Feed::Finance,
        &[
            ("person_id", &a),
            ("as_of", "2026-01-01"),
            ("deposits", "50000"),
        ],
    );
    city.add(
        Feed::Finance,
        &[
            ("person_id", &a),
            ("as_of", "2026-05-01"),
            ("deposits", "80000"),
            ("securities", "1.5"),
        ],
    );
    city.add(
        Feed::Finance,
        &[
            ("person_id", &a),
            ("as_of", "2026-07-01"),
            ("deposits", "1"),
        ],
    );
    city.add(
        Feed::Medical,
        &[
            ("person_id", &b),
            ("settled_date", "2025-06-30"),
            ("out_of_pocket", "700"),
            ("kind", "major"),
        ],
    );
    city.add(
        Feed::Medical,
        &[
            ("person_id", &b),
            ("settled_date", "2025-07-01"),
            ("out_of_pocket", "300"),
            ("kind", "chronic"),
        ],
    );
    city.add(
        Feed::Medical,
        &[
            ("person_id", &b),
            ("settled_date", "2026-04-02"),
            ("out_of_pocket", "20"),
            ("kind", "major"),
        ],
    );
    let lake = city.write(dir.path());
    let facts =
        monitor::person_facts(&lake, date("2026-06-30"), Windows::default()).expect("facts");
    let fa = facts.iter().find(|f| f.id.0 == a).expect("a");
    let fb = facts.iter().find(|f| f.id.0 == b).expect("b");
    assert_eq!(fa.income.0, 220_000);
    assert_eq!(fa.age, 40);
    assert_eq!(fa.financial_assets.0, 8_000_150);
    assert_eq!(fa.job_start_months_ago, 0);
    assert_eq!(fa.employment_months_ago, 0);
    assert_eq!(
        fb.income.0, 15_000,
        "the employment record is outside the lookback"
    );
    assert_eq!(fb.employment_status, None);
    assert_eq!(
        fb.medical_oop_12m.0, 32_000,
        "a settlement on the same day 12 months before is outside"
    );
    assert!(fb.major_12m && fb.major_recent && fb.chronic_12m);
    assert!(
        fb.major_before_recent,
        "2025-06-30 lies in the 12 months before the recent window"
    );
}

/// A local run groups each feed's rows by the number of the person's resident ID; a
/// population that holds an ID in another form (not written by import) is grouped by text
/// instead, and its persons still get their rows.
#[test]
fn persons_whose_ids_are_not_canonical_still_get_their_rows() {
    let as_of = date("2026-06-30");
    let facts_of = |ids: [&str; 3]| {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut city = City::new();
        city.person(ids[0], "H1", "head", "1986-03-01");
        city.person(ids[1], "H1", "spouse", "1988-04-02");
        for (pid, wage, deposits) in [(ids[0], "2200", "300"), (ids[1], "900", "40")] {
            city.add(
                Feed::Employment,
                &[
                    ("person_id", pid),
                    ("period", "2026-06"),
                    ("status", "employed"),
                    ("monthly_wage", wage),
                ],
            );
            city.add(
                Feed::Finance,
                &[
                    ("person_id", pid),
                    ("as_of", "2026-05-31"),
                    ("deposits", deposits),
                ],
            );
        }
        // rows of an ID that is no person's, canonical or not
        for pid in [ids[2], "not an id"] {
            city.add(
                Feed::Finance,
                &[
                    ("person_id", pid),
                    ("as_of", "2026-05-31"),
                    ("deposits", "7"),
                ],
            );
        }
        let lake = city.write(dir.path());
        let facts = monitor::person_facts(&lake, as_of, Windows::default()).expect("facts");
        ids[..2]
            .iter()
            .map(|id| {
                let f = facts.iter().find(|f| f.id.0 == *id).expect("person");
                (f.income.0, f.financial_assets.0, f.employment_months_ago)
            })
            .collect::<Vec<_>>()
    };
    let expected = vec![(220_000, 30_000, 0), (90_000, 4_000, 0)];
    let (a, b, nobody) = (
        id("1986-03-01", 11),
        id("1988-04-02", 22),
        id("1990-01-01", 33),
    );
    assert_eq!(facts_of([&a, &b, &nobody]), expected, "canonical IDs");
    let lower = b.to_lowercase().replace('X', "x");
    assert_eq!(
        facts_of(["P-0001", "P-0002", &nobody]),
        expected,
        "IDs in another form"
    );
    assert_eq!(facts_of([&a, "P-0002", &lower]), expected, "both kinds");
}
