//! Properties of the evaluator over generated facts: it never panics and its results agree
//! with each other.

use domain::{
    Date, DisabilityCategory, EmploymentStatus, Fen, PersonStatus, Program, RegionCode, Relation,
    VehicleType,
};
use policy::Pack;
use policy::eval::{Evaluation, HouseholdInput, Options, evaluate};
use policy::facts::{CareLevel, Home, PersonFacts, PersonKey, RunningSpell};
use proptest::prelude::*;

fn person(i: usize) -> impl Strategy<Value = PersonFacts> {
    (
        (
            0i64..100,
            0i64..800_000,
            0i64..20_000_000,
            0u8..5,
            0usize..7,
            any::<bool>(),
            0i64..5_000_000,
        ),
        (
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            0usize..3,
            0usize..7,
            0i64..14,
            prop::collection::vec(0usize..9, 0..3),
        ),
        (
            0usize..6,
            0usize..4,
            any::<bool>(),
            0i64..6,
            0i64..1000,
            0usize..3,
            0usize..3,
        ),
    )
        .prop_map(move |(a, b, c)| {
            let (age, income, assets, grade, cat, student, oop) = a;
            let (major, chronic, recent, care, emp, months, programs) = b;
            let (vehicle, status, home, arrears, kwh, father, spouse) = c;
            let categories = DisabilityCategory::ALL;
            let statuses = [
                PersonStatus::Normal,
                PersonStatus::Normal,
                PersonStatus::Normal,
                PersonStatus::Deceased,
            ];
            let programs_all = Program::ALL;
            PersonFacts {
                id: PersonKey(format!("p{i}").into()),
                household_id: "H".into(),
                region: RegionCode::parse(if i.is_multiple_of(2) {
                    "990101001001"
                } else {
                    "990101001201"
                })
                .ok(),
                relation: if i == 0 {
                    Relation::Head
                } else {
                    Relation::Child
                },
                status: statuses[status % statuses.len()],
                status_recent: recent,
                spouse: (spouse == 1).then(|| PersonKey(format!("p{}", i + 1).into())),
                father: (father == 1 && i > 0).then(|| PersonKey("p0".into())),
                mother: (father == 2).then(|| PersonKey("o0".into())),
                age,
                income: Fen(income),
                financial_assets: Fen(assets),
                business_capitals: if assets % 3 == 0 {
                    Box::new([Fen(assets / 2)])
                } else {
                    Box::default()
                },
                disability_grade: grade,
                disability_category: (grade > 0).then(|| categories[cat % categories.len()]),
                recent_disability_grade: if recent { grade } else { 0 },
                recent_disability_category: (recent && grade > 0)
                    .then(|| categories[cat % categories.len()]),
                student,
                tuition: Fen(if student { oop / 3 } else { 0 }),
                medical_oop_12m: Fen(oop),
                major_12m: major,
                major_recent: major && recent,
                major_before_recent: major && chronic,
                chronic_12m: chronic,
                care_level: [CareLevel::Myself, CareLevel::Partial, CareLevel::Full][care],
                employment_status: EmploymentStatus::ALL.get(emp).copied(),
                employment_months_ago: months,
                previous_employment_status: EmploymentStatus::ALL.get((emp + 1) % 6).copied(),
                job_start_months_ago: months,
                running: programs
                    .iter()
                    .map(|p| RunningSpell {
                        program: programs_all[*p % programs_all.len()],
                        household_id: if p.is_multiple_of(2) {
                            "H".into()
                        } else {
                            "G".into()
                        },
                    })
                    .collect(),
                running_at_death: programs
                    .iter()
                    .map(|p| programs_all[*p % programs_all.len()])
                    .collect(),
                active_vehicle_types: VehicleType::ALL.get(vehicle).into_iter().copied().collect(),
                recent_vehicle_types: VehicleType::ALL
                    .get(vehicle)
                    .into_iter()
                    .copied()
                    .filter(|_| recent)
                    .collect(),
                nonresidential_property: home && arrears == 5,
                homes: if home {
                    Box::new([Home {
                        property: format!("h{}", i % 2).into(),
                        area_centi_m2: kwh * 10,
                    }])
                } else {
                    Box::default()
                },
                property_recent: recent && home,
                business_recent: recent && assets % 3 == 0,
                utility_arrears_months: arrears,
                utility_months_ago: months,
                electricity_centi_kwh: kwh,
                electricity_months_ago: months % 3,
            }
        })
}

fn household() -> impl Strategy<Value = HouseholdInput> {
    (1usize..6, 0usize..3).prop_flat_map(|(n, o)| {
        let members: Vec<_> = (0..n).map(person).collect();
        let others: Vec<_> = (0..o).map(|i| person(100 + i)).collect();
        (members, others).prop_map(|(members, mut others)| {
            for (i, p) in others.iter_mut().enumerate() {
                p.id = PersonKey(format!("o{i}").into());
                p.household_id = "ELSEWHERE".into();
            }
            HouseholdInput {
                household_id: "H".into(),
                members,
                others,
            }
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn results_are_consistent(input in household()) {
        let pack = Pack::default_pack().unwrap();
        let as_of = Date::from_ymd(2026, 6, 30).unwrap();
        let Evaluation::Done(o) = evaluate(&pack, &input, as_of, Options::default()) else {
            return Err(TestCaseError::fail("GEN regions are covered"));
        };
        prop_assert_eq!(o.dibao_amount.0 > 0, o.tier == "dibao");
        prop_assert_eq!(o.tier == "tekun", o.size > 0 && o.tekun_members == o.size);
        prop_assert!(o.score >= 0 && o.score <= 100);
        let tekun_persons = o.persons.iter().filter(|p| p.status == "tekun").count();
        prop_assert_eq!(tekun_persons, o.tekun_members);
        for p in &o.persons {
            prop_assert!(p.amount.0 > 0);
            if p.status == "dibao_single" {
                prop_assert!(["marginal", "rigid_expense", "none"].contains(&o.tier.as_str()));
            }
        }
        let mut sorted = o.tags.clone();
        sorted.sort();
        prop_assert_eq!(&sorted, &o.tags);
        let rank = |l: &str| ["none", "yellow", "orange", "red"].iter().position(|x| *x == l).unwrap_or(0);
        let max = o.signals.iter().map(|s| rank(&s.level)).max().unwrap_or(0);
        prop_assert_eq!(rank(&o.level), max);
        if let Some(row) = o.packages.iter().find(|p| p.item == "dibao") {
            prop_assert_eq!(row.amount, Some(o.dibao_amount));
        }
        for a in &o.anomalies {
            prop_assert!(!a.reasons.is_empty());
        }
        // Without explanations the decisions are the same.
        let Evaluation::Done(fast) = evaluate(&pack, &input, as_of, Options { explain: false }) else {
            return Err(TestCaseError::fail("covered"));
        };
        prop_assert_eq!(&fast.tier, &o.tier);
        prop_assert_eq!(fast.dibao_amount, o.dibao_amount);
        prop_assert_eq!(fast.score, o.score);
        prop_assert_eq!(fast.anomalies.len(), o.anomalies.len());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    /// The compiled rules mean exactly what the interpreter does: every result and every
    /// explanation is the same.
    #[test]
    fn compiled_rules_agree_with_the_interpreter(input in household(), explain in any::<bool>()) {
        static PACKS: std::sync::LazyLock<(Pack, Pack)> = std::sync::LazyLock::new(|| {
            let compiled = Pack::default_pack().unwrap();
            let interpreted = compiled.interpreted();
            (compiled, interpreted)
        });
        let (compiled, interpreted) = &*PACKS;
        let as_of = Date::from_ymd(2026, 6, 30).unwrap();
        let a = evaluate(compiled, &input, as_of, Options { explain });
        let b = evaluate(interpreted, &input, as_of, Options { explain });
        prop_assert_eq!(a, b);
    }
}
