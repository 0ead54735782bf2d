//! Base facts from feed records follow the reading rules of policy.md §2 and §9, and feed the
//! evaluator to the same results as the worked examples.

use domain::{
    BusinessStatus, Date, DisabilityCategory, EmploymentStatus, Fen, IncomeKind, MedicalKind,
    Month, PersonStatus, Program, PropertyUsage, RegionCode, Relation, SelfCare, VehicleType,
};
use policy::Pack;
use policy::eval::{Evaluation, Options, evaluate};
use policy::facts::{CareLevel, NEVER, PersonKey};
use policy::records::*;

fn d(s: &str) -> Date {
    Date::parse(s).unwrap()
}
fn m(s: &str) -> Month {
    Month::parse(s).unwrap()
}
fn k(s: &str) -> PersonKey {
    PersonKey(s.into())
}
fn yuan(y: i64) -> Fen {
    Fen::from_yuan(y)
}

fn pop(id: &str, birth: &str, household: &str, relation: Relation) -> PopulationRow {
    PopulationRow {
        person: k(id),
        birth_date: d(birth),
        household_id: household.into(),
        relation,
        region: RegionCode::parse("990101001001").unwrap(),
        status: PersonStatus::Normal,
        status_date: None,
        spouse: None,
        father: None,
        mother: None,
    }
}

fn emp(id: &str, period: &str, status: EmploymentStatus, wage: i64) -> EmploymentRow {
    EmploymentRow {
        person: k(id),
        period: m(period),
        status,
        monthly_wage: yuan(wage),
        pension: Fen(0),
        unemployment_benefit: Fen(0),
    }
}

const A: &str = "2026-06-30";

fn facts(r: &Records, id: &str) -> policy::PersonFacts {
    person_facts(r, &k(id), d(A), Windows::default()).unwrap()
}

#[test]
fn age_goes_up_on_the_birthday() {
    let mut r = Records::default();
    r.population
        .push(pop("a", "1986-06-30", "H", Relation::Head));
    r.population
        .push(pop("b", "1986-07-01", "H", Relation::Spouse));
    assert_eq!(facts(&r, "a").age, 40);
    assert_eq!(facts(&r, "b").age, 39);
}

#[test]
fn employment_latest_period_in_lookback_later_row_wins_and_job_start() {
    let mut r = Records::default();
    r.population
        .push(pop("a", "1980-01-01", "H", Relation::Head));
    r.employment
        .push(emp("a", "2025-06", EmploymentStatus::Employed, 9000)); // outside the lookback
    r.employment
        .push(emp("a", "2026-01", EmploymentStatus::Unemployed, 0));
    r.employment
        .push(emp("a", "2026-02", EmploymentStatus::Flexible, 1500));
    r.employment
        .push(emp("a", "2026-02", EmploymentStatus::Flexible, 1800)); // later row wins
    r.employment
        .push(emp("a", "2026-07", EmploymentStatus::Employed, 5000)); // after A
    let f = facts(&r, "a");
    assert_eq!(f.income, yuan(1800));
    assert_eq!(f.employment_status, Some(EmploymentStatus::Flexible));
    assert_eq!(f.employment_months_ago, 4);
    assert_eq!(
        f.previous_employment_status,
        Some(EmploymentStatus::Unemployed)
    );
    assert_eq!(f.job_start_months_ago, 4);

    let mut old = Records::default();
    old.population
        .push(pop("a", "1980-01-01", "H", Relation::Head));
    old.employment
        .push(emp("a", "2025-06", EmploymentStatus::Employed, 9000));
    let f = facts(&old, "a");
    assert_eq!(
        f.employment_status, None,
        "a record older than 12 months is not read"
    );
    assert_eq!(f.income, Fen(0));
    assert_eq!(f.job_start_months_ago, NEVER);
}

#[test]
fn income_kinds_latest_each_exempt_never_counted() {
    let mut r = Records::default();
    r.population
        .push(pop("a", "1980-01-01", "H", Relation::Head));
    for (period, kind, amount) in [
        ("2026-03", IncomeKind::Business, 300),
        ("2026-05", IncomeKind::Business, 400),
        ("2026-01", IncomeKind::Support, 200),
        ("2026-06", IncomeKind::Exempt, 999),
    ] {
        r.income.push(IncomeRow {
            person: k("a"),
            period: m(period),
            kind,
            monthly_amount: yuan(amount),
        });
    }
    assert_eq!(facts(&r, "a").income, yuan(600));
}

#[test]
fn money_is_the_latest_finance_row_and_active_business_capital() {
    let mut r = Records::default();
    r.population
        .push(pop("a", "1980-01-01", "H", Relation::Head));
    r.finance.push(FinanceRow {
        person: k("a"),
        as_of: d("2026-01-01"),
        deposits: yuan(100),
        securities: Fen(0),
        other_assets: Fen(0),
    });
    r.finance.push(FinanceRow {
        person: k("a"),
        as_of: d("2026-05-01"),
        deposits: yuan(50),
        securities: yuan(5),
        other_assets: yuan(1),
    });
    r.finance.push(FinanceRow {
        person: k("a"),
        as_of: d("2026-07-01"),
        deposits: yuan(99999),
        securities: Fen(0),
        other_assets: Fen(0),
    });
    r.business.push(BusinessRow {
        person: k("a"),
        registered_capital: Some(yuan(30000)),
        status: BusinessStatus::Active,
        registered_date: d("2026-05-01"),
    });
    r.business.push(BusinessRow {
        person: k("a"),
        registered_capital: Some(yuan(70000)),
        status: BusinessStatus::Cancelled,
        registered_date: d("2020-01-01"),
    });
    let f = facts(&r, "a");
    assert_eq!(f.financial_assets, yuan(56));
    assert_eq!(f.business_capitals[..], [yuan(30000)]);
    assert!(f.business_recent);
}

#[test]
fn medical_windows_follow_the_calendar() {
    let mut r = Records::default();
    r.population
        .push(pop("a", "1980-01-01", "H", Relation::Head));
    let add = |r: &mut Records, date: &str, kind, amount| {
        r.medical.push(MedicalRow {
            person: k("a"),
            settled_date: d(date),
            out_of_pocket: yuan(amount),
            kind,
        });
    };
    add(&mut r, "2025-06-30", MedicalKind::Inpatient, 1000); // the same day 12 months earlier: out
    add(&mut r, "2025-07-01", MedicalKind::Inpatient, 10); // the day after: in
    add(&mut r, "2026-04-02", MedicalKind::Major, 5); // A − 89 days: recent
    add(&mut r, "2026-04-01", MedicalKind::Chronic, 1); // A − 90: not recent, in 12 months
    let f = facts(&r, "a");
    assert_eq!(f.medical_oop_12m, yuan(16));
    assert!(f.major_recent && f.major_12m && f.chronic_12m);
    assert!(!f.major_before_recent);
    add(&mut r, "2026-04-01", MedicalKind::Major, 1);
    assert!(facts(&r, "a").major_before_recent);
}

#[test]
fn disability_lowest_grade_then_latest_certificate() {
    let mut r = Records::default();
    r.population
        .push(pop("a", "1980-01-01", "H", Relation::Head));
    let add = |r: &mut Records, cat, grade, date: &str| {
        r.disability.push(DisabilityRow {
            person: k("a"),
            category: cat,
            grade,
            certified_date: d(date),
        });
    };
    add(&mut r, DisabilityCategory::Physical, 3, "2020-01-01");
    add(&mut r, DisabilityCategory::Mental, 3, "2021-01-01");
    add(&mut r, DisabilityCategory::Visual, 1, "2026-07-01"); // after A
    let f = facts(&r, "a");
    assert_eq!(
        (f.disability_grade, f.disability_category),
        (3, Some(DisabilityCategory::Mental))
    );
    assert_eq!(f.recent_disability_grade, 0);
}

#[test]
fn school_years_care_spells_assets_and_utilities() {
    let mut r = Records::default();
    let mut a = pop("a", "2010-01-01", "H", Relation::Head);
    a.status = PersonStatus::Normal;
    r.population.push(a);
    r.education.push(EducationRow {
        person: k("a"),
        school_year: "2025-2026".into(),
        annual_tuition: Some(yuan(1200)),
    });
    r.education.push(EducationRow {
        person: k("a"),
        school_year: "2026/2027".into(),
        annual_tuition: Some(yuan(9)),
    });
    r.care.push(CareRow {
        person: k("a"),
        self_care: SelfCare::None,
        assessed_date: d("2026-01-01"),
    });
    r.assistance.push(SpellRow {
        person: k("a"),
        household_id: "H".into(),
        program: Program::Dibao,
        start_date: d("2025-01-01"),
        end_date: Some(d(A)),
    });
    r.assistance.push(SpellRow {
        person: k("a"),
        household_id: "H".into(),
        program: Program::Tekun,
        start_date: d("2025-01-01"),
        end_date: Some(d("2026-06-29")),
    });
    r.vehicles.push(VehicleRow {
        person: k("a"),
        vehicle_type: VehicleType::Car,
        registered_date: d("2026-05-01"),
        cancelled_date: Some(d("2026-06-01")),
    });
    r.real_estate.push(PropertyRow {
        person: k("a"),
        property_id: "u1".into(),
        usage: PropertyUsage::Residential,
        area_centi_m2: 5000,
        registered_date: d("2010-01-01"),
        cancelled_date: None,
    });
    r.real_estate.push(PropertyRow {
        person: k("a"),
        property_id: "s1".into(),
        usage: PropertyUsage::Commercial,
        area_centi_m2: 2000,
        registered_date: d("2010-01-01"),
        cancelled_date: Some(d("2020-01-01")),
    });
    r.utilities.push(UtilityRow {
        person: k("a"),
        period: m("2026-05"),
        electricity_centi_kwh: Some(300),
        arrears_months: 4,
    });
    r.utilities.push(UtilityRow {
        person: k("a"),
        period: m("2026-06"),
        electricity_centi_kwh: None,
        arrears_months: 0,
    });
    let f = facts(&r, "a");
    assert!(f.student);
    assert_eq!(f.tuition, yuan(1200));
    assert_eq!(f.care_level, CareLevel::Full);
    assert_eq!(
        f.running.len(),
        1,
        "a spell ending on A runs; one ending the day before does not"
    );
    assert!(f.active_vehicle_types.is_empty());
    assert_eq!(
        f.recent_vehicle_types[..],
        [VehicleType::Car],
        "a cancelled registration still counts as recent"
    );
    assert_eq!(f.homes.len(), 1);
    assert!(!f.nonresidential_property);
    assert_eq!((f.utility_arrears_months, f.utility_months_ago), (0, 0));
    assert_eq!(
        (f.electricity_centi_kwh, f.electricity_months_ago),
        (300, 1)
    );
}

#[test]
fn records_of_the_first_worked_example_give_dibao_800() {
    let mut r = Records::default();
    let mut head = pop("h", "1986-01-01", "E1", Relation::Head);
    head.spouse = Some(k("s"));
    r.population.push(head);
    r.population
        .push(pop("s", "1988-01-01", "E1", Relation::Spouse));
    let mut child = pop("c", "2016-01-01", "E1", Relation::Child);
    child.father = Some(k("h"));
    child.mother = Some(k("s"));
    r.population.push(child);
    r.employment
        .push(emp("h", "2026-06", EmploymentStatus::Employed, 2200));
    // A grandmother elsewhere, linked as the head's mother, is read as a relative.
    let mut gm = pop("g", "1950-01-01", "G", Relation::Head);
    gm.status = PersonStatus::Normal;
    r.population.push(gm);
    r.population[0].mother = Some(k("g"));
    let pack = Pack::default_pack().unwrap();
    let w = Windows::from_pack(&pack, RegionCode::parse("990101001001").unwrap(), d(A)).unwrap();
    assert_eq!(
        w,
        Windows {
            lookback_months: 12,
            recent_days: 90
        }
    );
    let input = household_input(&r, "E1", d(A), w);
    assert_eq!(input.members.len(), 3);
    assert_eq!(input.others.len(), 1);
    let Evaluation::Done(o) = evaluate(&pack, &input, d(A), Options::default()) else {
        panic!("covered")
    };
    assert_eq!(o.tier, "dibao");
    assert_eq!(o.dibao_amount, yuan(800));
    assert_eq!(
        o.tags,
        vec!["below_standard".to_owned(), "child".to_owned()]
    );
    assert_eq!(o.score, 25);
}
