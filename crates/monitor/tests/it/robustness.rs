//! Runs that lack something still complete and say what they did not have.

use crate::fixture::{City, date, id};
use monitor::policy::pack::Pack;
use monitor::{Feed, RunOptions};

fn city() -> City {
    let mut city = City::new();
    let a = id("1950-01-01", 1);
    let b = id("1980-01-01", 2);
    city.person(&a, "H1", "head", "1950-01-01");
    city.person(&b, "H2", "head", "1980-01-01");
    let rows: &[(Feed, &[(&str, &str)])] = &[
        (
            Feed::Assistance,
            &[
                ("household_id", "H1"),
                ("program", "dibao"),
                ("start_date", "2025-01-01"),
            ],
        ),
        (
            Feed::Disability,
            &[
                ("category", "physical"),
                ("grade", "1"),
                ("certified_date", "2026-05-01"),
            ],
        ),
        (
            Feed::Employment,
            &[("period", "2026-06"), ("status", "unemployed")],
        ),
        (
            Feed::Medical,
            &[
                ("settled_date", "2026-05-01"),
                ("out_of_pocket", "30000"),
                ("kind", "major"),
            ],
        ),
        (
            Feed::RealEstate,
            &[
                ("property_id", "P1"),
                ("usage", "commercial"),
                ("area_m2", "50"),
                ("registered_date", "2026-06-01"),
            ],
        ),
        (
            Feed::Vehicles,
            &[("vehicle_type", "car"), ("registered_date", "2026-06-01")],
        ),
        (
            Feed::Business,
            &[
                ("status", "active"),
                ("registered_capital", "5000"),
                ("registered_date", "2026-06-01"),
            ],
        ),
        (
            Feed::Finance,
            &[("as_of", "2026-06-01"), ("deposits", "100")],
        ),
        (
            Feed::Education,
            &[("school_year", "2025-2026"), ("annual_tuition", "800")],
        ),
        (
            Feed::Utilities,
            &[
                ("period", "2026-06"),
                ("arrears_months", "4"),
                ("electricity_kwh", "1.5"),
            ],
        ),
        (
            Feed::Income,
            &[
                ("period", "2026-06"),
                ("kind", "support"),
                ("monthly_amount", "300"),
            ],
        ),
        (
            Feed::Care,
            &[("self_care", "none"), ("assessed_date", "2026-01-01")],
        ),
    ];
    let stranger = id("1970-01-01", 9);
    for (feed, cols) in rows {
        for who in [&a, &b, &stranger] {
            let mut row = vec![("person_id", who.as_str())];
            row.extend_from_slice(cols);
            city.add(*feed, &row);
        }
        // An unlinked row: no usable person_id.
        city.add(*feed, cols);
    }
    city
}

#[test]
fn every_feed_missing_in_turn_still_completes_and_is_reported() {
    let pack = Pack::default_pack().expect("pack");
    let full = city();
    for missing in Feed::ALL {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut lake = full.write(dir.path());
        lake.set(missing, Vec::new());
        let r = monitor::screen(
            &lake,
            date("2026-06-30"),
            &pack,
            RunOptions::default(),
            &domain::NoProgress,
        )
        .expect("a run without one feed completes");
        assert_eq!(r.summary.feeds_missing, vec![missing.name().to_string()]);
        if missing == Feed::Population {
            assert!(r.households.is_empty());
            assert_eq!(r.summary.persons, 0);
        } else {
            assert_eq!(r.households.len(), 2, "without {}", missing.name());
            assert_eq!(
                r.summary.not_in_registry.len(),
                11,
                "rows of a stranger in every other feed"
            );
            assert_eq!(r.summary.unlinked.len(), 11);
            assert!(!r.summary.unlinked.contains_key(missing.name()));
            // one stranger's row and one row without an ID in each feed, not those of a and b
            assert!(r.summary.not_in_registry.values().all(|n| *n == 1));
            assert!(r.summary.unlinked.values().all(|n| *n == 1));
            // a cluster counts them with a plan: the same counts
            let [plan, indexed] = monitor::registry_counts_both_ways(&lake).expect("counts");
            assert_eq!(plan, indexed, "without {}", missing.name());
            assert_eq!(indexed.1, r.summary.not_in_registry);
            assert_eq!(r.linkage.len(), 11);
            assert!(
                r.linkage
                    .iter()
                    .all(|l| l.person_id.is_none() && l.row == 4)
            );
        }
    }
}

#[test]
fn a_household_without_a_parameter_set_is_left_out_and_counted() {
    let mut city = City::new();
    let a = id("1960-01-01", 3);
    city.add(
        Feed::Population,
        &[
            ("person_id", &a),
            ("household_id", "FAR"),
            ("relation", "head"),
            ("region_code", "980101001001"),
            ("birth_date", "1960-01-01"),
            ("status", "normal"),
        ],
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = city.write(dir.path());
    let pack = Pack::default_pack().expect("pack");
    let r = monitor::screen(
        &lake,
        date("2026-06-30"),
        &pack,
        RunOptions::default(),
        &domain::NoProgress,
    )
    .expect("run");
    assert!(r.households.is_empty());
    assert_eq!(r.summary.households_without_parameters, 1);
    assert!(
        r.summary
            .render()
            .contains("households in regions without a parameter set: 1")
    );
}

#[test]
fn results_are_written_as_the_contract_says() {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = city().write(dir.path());
    let pack = Pack::default_pack().expect("pack");
    let as_of = date("2026-06-30");
    let r = monitor::screen(
        &lake,
        as_of,
        &pack,
        RunOptions::default(),
        &domain::NoProgress,
    )
    .expect("run");
    let out = dir.path().join("out");
    r.write(&out, as_of).expect("write");
    let header = |name: &str| {
        let text = std::fs::read_to_string(out.join(name)).expect("read");
        text.lines().next().unwrap_or_default().to_string()
    };
    assert_eq!(
        header("households.csv"),
        "household_id,region_code,size,tekun_members,per_capita_income,tier,dibao_amount,score,level,tags"
    );
    assert_eq!(
        header("persons.csv"),
        "person_id,household_id,status,amount,care_level"
    );
    assert_eq!(
        header("anomalies.csv"),
        "kind,program,household_id,person_id,reasons"
    );
    assert_eq!(
        header("warnings.csv"),
        "household_id,person_id,signal,level,detected_at"
    );
    assert_eq!(
        header("recommendations.csv"),
        "household_id,kind,item,amount,reason"
    );
    assert_eq!(header("linkage.csv"), "feed,row,person_id,probability");
    let warnings = std::fs::read_to_string(out.join("warnings.csv")).expect("read");
    assert!(warnings.lines().skip(1).all(|l| l.ends_with(",2026-06-30")));
    assert!(warnings.lines().count() > 1, "the city raises signals");
    for name in [
        "households",
        "persons",
        "anomalies",
        "warnings",
        "recommendations",
        "linkage",
    ] {
        assert!(out.join(format!("{name}.parquet")).is_file());
    }
    assert!(
        std::fs::read_to_string(out.join("summary.txt"))
            .expect("summary")
            .contains("feeds missing: none")
    );
    // Deterministic: a second run writes the same bytes.
    let again = monitor::screen(
        &lake,
        as_of,
        &pack,
        RunOptions::default(),
        &domain::NoProgress,
    )
    .expect("run");
    let out2 = dir.path().join("out2");
    again.write(&out2, as_of).expect("write");
    for name in [
        "households.csv",
        "persons.csv",
        "anomalies.csv",
        "warnings.csv",
        "recommendations.csv",
        "linkage.csv",
    ] {
        assert_eq!(
            std::fs::read(out.join(name)).expect("a"),
            std::fs::read(out2.join(name)).expect("b"),
            "{name}"
        );
    }
}
