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
