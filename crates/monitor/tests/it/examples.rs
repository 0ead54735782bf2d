//! The worked examples of policy.md §8 as small batches: the rows the spec states.

use crate::fixture::{City, date, id};
use monitor::policy::pack::Pack;
use monitor::{Feed, Results, RunOptions};

const AS_OF: &str = "2026-06-30";

fn screen(city: &City) -> Results {
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = city.write(dir.path());
    let pack = Pack::default_pack().expect("default pack");
    monitor::screen(
        &lake,
        date(AS_OF),
        &pack,
        RunOptions::default(),
        &domain::NoProgress,
    )
    .expect("screen")
}

fn wage(city: &mut City, pid: &str, amount: &str) {
    city.add(
        Feed::Employment,
        &[
            ("person_id", pid),
            ("period", "2026-06"),
            ("status", "employed"),
            ("monthly_wage", amount),
        ],
    );
}

/// Couple aged 40 and 38 with a child of 10, wage 2200.
fn family(city: &mut City, household: &str, seq: u32) -> [String; 3] {
    let head = id("1986-01-15", seq);
    let spouse = id("1988-02-20", seq + 1);
    let child = id("2016-03-03", seq + 2);
    city.person(&head, household, "head", "1986-01-15");
    city.person(&spouse, household, "spouse", "1988-02-20");
    city.add(
        Feed::Population,
        &[
            ("person_id", &child),
            ("household_id", household),
            ("relation", "child"),
            ("region_code", "990101001001"),
            ("birth_date", "2016-03-03"),
            ("status", "normal"),
            ("father_id", &head),
            ("mother_id", &spouse),
        ],
    );
    wage(city, &head, "2200");
    [head, spouse, child]
}

fn household<'a>(r: &'a Results, id: &str) -> &'a monitor::output::HouseholdRow {
    r.households
        .iter()
        .find(|h| h.household_id == id)
        .expect("household row")
}

#[test]
fn example_1_dibao_family() {
    let mut city = City::new();
    family(&mut city, "H1", 1);
    let r = screen(&city);
    let h = household(&r, "H1");
    assert_eq!(h.size, 3);
    assert_eq!(h.tier, "dibao");
    assert_eq!(h.dibao_amount.to_string(), "800.00");
    assert_eq!(h.per_capita_income.to_string(), "733.33");
    assert_eq!(h.tags.join(";"), "below_standard;child");
    assert_eq!(h.score, 25);
    assert_eq!(h.region_code, "990101001001");
    assert!(r.persons.is_empty());
    let omissions: Vec<_> = r
        .anomalies
        .iter()
        .filter(|a| a.kind == "omission")
        .collect();
    assert_eq!(omissions.len(), 1);
    assert_eq!(omissions[0].program, "dibao");
    assert_eq!(
        omissions[0].reasons,
        vec!["income_below_standard".to_string()]
    );
    assert!(
        r.recommendations
            .iter()
            .any(|x| x.item == "dibao" && x.amount.map(|a| a.0) == Some(80_000))
    );
}

#[test]
fn example_2_deposits_make_a_running_dibao_wrong() {
    let mut city = City::new();
    let [head, ..] = family(&mut city, "H2", 11);
    city.add(
        Feed::Finance,
        &[
            ("person_id", &head),
            ("as_of", "2026-06-01"),
            ("deposits", "80000"),
        ],
    );
    city.add(
        Feed::Assistance,
        &[
            ("person_id", &head),
            ("household_id", "H2"),
            ("program", "dibao"),
            ("start_date", "2025-01-01"),
        ],
    );
    let r = screen(&city);
    assert_eq!(household(&r, "H2").tier, "marginal");
    let wrong: Vec<_> = r
        .anomalies
        .iter()
        .filter(|a| a.kind == "wrong_inclusion")
        .collect();
    assert_eq!(wrong.len(), 1);
    assert_eq!(wrong[0].program, "dibao");
    assert_eq!(wrong[0].household_id, "H2");
    assert_eq!(wrong[0].person_id, None);
    assert_eq!(wrong[0].reasons, vec!["money_assets".to_string()]);
}

fn widow(city: &mut City, household: &str, seq: u32) -> String {
    let pid = id("1948-05-05", seq);
    city.person(&pid, household, "head", "1948-05-05");
    city.add(
        Feed::Employment,
        &[
            ("person_id", &pid),
            ("period", "2026-06"),
            ("status", "retired"),
            ("pension", "400"),
        ],
    );
    city.add(
        Feed::Care,
        &[
            ("person_id", &pid),
            ("self_care", "partial"),
            ("assessed_date", "2026-01-10"),
        ],
    );
    pid
}

#[test]
fn example_3_tekun_woman_alone() {
    let mut city = City::new();
    let pid = widow(&mut city, "H3", 21);
    let r = screen(&city);
    let h = household(&r, "H3");
    assert_eq!((h.tier.as_str(), h.tekun_members, h.size), ("tekun", 1, 1));
    assert_eq!(h.dibao_amount.0, 0);
    assert_eq!(h.tags.join(";"), "below_standard;elderly_alone");
    assert_eq!(h.score, 35);
    assert_eq!(r.persons.len(), 1);
    assert_eq!(r.persons[0].person_id, pid);
    assert_eq!(r.persons[0].status, "tekun");
    assert_eq!(r.persons[0].amount.to_string(), "2100.00");
    assert_eq!(r.persons[0].care_level.as_deref(), Some("partial"));
    let omission: Vec<_> = r
        .anomalies
        .iter()
        .filter(|a| a.kind == "omission")
        .collect();
    assert_eq!(omission.len(), 1);
    assert_eq!(omission[0].program, "tekun");
    assert_eq!(omission[0].person_id.as_deref(), Some(pid.as_str()));
    assert_eq!(
        omission[0].reasons,
        vec!["tekun_conditions_met".to_string()]
    );
}

#[test]
fn example_4_an_able_son_elsewhere_means_dibao() {
    let mut city = City::new();
    let mother = widow(&mut city, "H4", 31);
    let son = id("1981-01-01", 32);
    city.add(
        Feed::Population,
        &[
            ("person_id", &son),
            ("household_id", "H4S"),
            ("relation", "head"),
            ("region_code", "990101001001"),
            ("birth_date", "1981-01-01"),
            ("status", "normal"),
            ("mother_id", &mother),
        ],
    );
    wage(&mut city, &son, "6000");
    let r = screen(&city);
    let h = household(&r, "H4");
    assert_eq!(h.tier, "dibao");
    assert_eq!(h.tekun_members, 0);
    assert_eq!(h.dibao_amount.to_string(), "600.00");
    assert!(r.persons.is_empty());
}

#[test]
fn example_5_income_at_the_line_is_not_below_it() {
    let mut city = City::new();
    let a = id("1990-01-01", 41);
    let b = id("1991-01-01", 42);
    city.person(&a, "H5", "head", "1990-01-01");
    city.person(&b, "H5", "spouse", "1991-01-01");
    wage(&mut city, &a, "2000");
    let r = screen(&city);
    assert_eq!(household(&r, "H5").tier, "marginal");
}

#[test]
fn example_6_a_car_fails_every_asset_test() {
    let mut city = City::new();
    let [head, ..] = family(&mut city, "H6", 51);
    city.add(
        Feed::Employment,
        &[
            ("person_id", &head),
            ("period", "2026-06"),
            ("status", "employed"),
            ("monthly_wage", "1000"),
        ],
    );
    city.add(
        Feed::Vehicles,
        &[
            ("person_id", &head),
            ("vehicle_type", "car"),
            ("registered_date", "2020-01-01"),
        ],
    );
    let r = screen(&city);
    assert_eq!(household(&r, "H6").tier, "none");
    assert_eq!(household(&r, "H6").dibao_amount.0, 0);
}
