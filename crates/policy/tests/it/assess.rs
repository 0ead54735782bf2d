//! Case assessment: the reference cases and the rule cases under `policy/assess/cases`, profile
//! loading errors with file and line, JSON input, and a property test that assessment never
//! panics on a well-formed application.

use std::path::{Path, PathBuf};

use policy::assess::cases::run_dir;
use policy::assess::{Application, Classification, Profile, Profiles, assess};
use proptest::prelude::*;

fn root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|a| a.join("policy/assess"))
        .find(|p| p.join("profiles").is_dir())
        .expect("policy/assess beside the workspace")
}

#[test]
fn every_case_passes() {
    let report = run_dir(&root()).unwrap();
    let text = report.render();
    assert_eq!(report.failed(), 0, "{text}");
    for n in 1..=20 {
        let id = format!("TC{n:02}");
        assert!(
            report.cases.iter().any(|c| c.id == id),
            "reference case {id} missing\n{text}"
        );
    }
    // Every rule of the procedure is exercised by some case.
    for rule in [
        "R1",
        "R2",
        "R2.support",
        "R2.reduction",
        "R2.obligor",
        "R3",
        "R4",
        "R4.orphan",
        "R5",
        "R6",
        "R7",
        "R8",
        "R10",
        "R11",
        "R12",
        "R13",
        "R14",
    ] {
        assert!(
            report.rules_exercised.contains(rule),
            "no case exercises {rule}\n{text}"
        );
    }
    // Each programme is seen both granted and refused.
    for program in [
        "Tekun",
        "Dibao",
        "DibaoSingle",
        "Marginal",
        "RigidExpense",
        "Taper",
        "Temporary",
    ] {
        for eligible in [true, false] {
            assert!(
                report
                    .outcomes_seen
                    .contains(&(program.to_owned(), eligible)),
                "no case where {program} eligible={eligible}\n{text}"
            );
        }
    }
}

#[test]
fn shipped_profiles_load_and_match_the_files() {
    let builtin = Profiles::builtin().unwrap();
    let ids: Vec<&str> = builtin.ids().collect();
    assert_eq!(ids, ["BJ-2024", "CD-2023", "GEN-2025"]);
    let from_dir = Profiles::from_dir(&root().join("profiles")).unwrap();
    for id in ids {
        assert_eq!(builtin.get(id), from_dir.get(id));
    }
}

fn gen_text() -> String {
    std::fs::read_to_string(root().join("profiles/gen-2025.yaml")).expect("GEN profile")
}

fn line_containing(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .expect("needle in text")
        + 1
}

#[test]
fn broken_profiles_name_file_and_line() {
    let text = gen_text();
    // Wrong unit.
    let broken = text.replace(
        "min_wage: {value: 2000, unit: yuan_per_month",
        "min_wage: {value: 2000, unit: ratio",
    );
    let e = Profile::from_yaml(&broken, "gen.yaml").unwrap_err();
    assert_eq!(
        (e.file.as_str(), e.line),
        ("gen.yaml", line_containing(&broken, "min_wage:")),
        "{e}"
    );
    assert!(e.message.contains("yuan_per_month"), "{e}");
    // Unknown source.
    let broken = text.replace(
        "job_refusal_limit: {value: 3, unit: count, source: S1 §45",
        "job_refusal_limit: {value: 3, unit: count, source: S99 §1",
    );
    let e = Profile::from_yaml(&broken, "gen.yaml").unwrap_err();
    assert_eq!(
        e.line,
        line_containing(&broken, "job_refusal_limit:"),
        "{e}"
    );
    assert!(e.message.contains("S99"), "{e}");
    // Not a ratio.
    let broken = text.replace(
        "tekun_basic_multiple: {value: 1.3,",
        "tekun_basic_multiple: {value: lots,",
    );
    let e = Profile::from_yaml(&broken, "gen.yaml").unwrap_err();
    assert_eq!(
        e.line,
        line_containing(&broken, "tekun_basic_multiple:"),
        "{e}"
    );
    // Unknown parameter.
    let broken = text.replace("  rounding:", "  roundin:");
    let e = Profile::from_yaml(&broken, "gen.yaml").unwrap_err();
    assert_eq!(e.line, line_containing(&broken, "roundin:"), "{e}");
    // A taper longer than six months.
    let broken = text.replace(
        "taper_schedule: {value: [1, 1, 1, 1, 1, 1]",
        "taper_schedule: {value: [1, 1, 1, 1, 1, 1, 1]",
    );
    let e = Profile::from_yaml(&broken, "gen.yaml").unwrap_err();
    assert_eq!(e.line, line_containing(&broken, "taper_schedule:"), "{e}");
    // Money with three decimals.
    let broken = text.replace(
        "prev_year_pc_disposable: {value: 4000,",
        "prev_year_pc_disposable: {value: 4000.125,",
    );
    let e = Profile::from_yaml(&broken, "gen.yaml").unwrap_err();
    assert_eq!(
        e.line,
        line_containing(&broken, "prev_year_pc_disposable:"),
        "{e}"
    );
    // YAML syntax.
    let e = Profile::from_yaml("id: [x\n", "x.yaml").unwrap_err();
    assert!(e.line >= 1, "{e}");
}

#[test]
fn a_changed_parameter_changes_the_result_without_rebuilding() {
    let dir = tempfile::tempdir().unwrap();
    let text = gen_text().replace("urban: 1000, rural: 800", "urban: 1100, rural: 800");
    std::fs::write(dir.path().join("gen.yaml"), text).unwrap();
    let profiles = Profiles::from_dir(dir.path()).unwrap();
    let app: Application = serde_json::from_str(
        r#"{"profile": "GEN-2025", "as_of": "2025-10-15",
            "members": [{"id": "m1", "relation": "applicant", "age": 40, "income": {"wage_net": 600.5}}]}"#,
    )
    .unwrap();
    let a = assess(&app, &profiles).unwrap();
    assert_eq!(a.household.classification, Classification::Dibao);
    assert_eq!(a.household.payment.0, 49_950);
}

#[test]
fn a_not_above_locality_turns_the_boundary_case_into_dibao_with_zero_payment() {
    // TC05's note: with "≤" (不高于) instead of "<" (低于), per-capita income equal to the
    // standard is 低保 with payment 0.
    let case = |profiles: &Profiles| {
        let app: Application = serde_json::from_str(
            r#"{"profile": "GEN-2025", "as_of": "2025-10-15", "members": [
                {"id": "m1", "relation": "applicant", "age": 45, "income": {"wage_net": 2000}},
                {"id": "m2", "relation": "spouse", "age": 44}]}"#,
        )
        .unwrap();
        assess(&app, profiles).unwrap()
    };
    let strict = case(&Profiles::builtin().unwrap());
    assert_eq!(strict.household.classification, Classification::Marginal);
    let dir = tempfile::tempdir().unwrap();
    let text = gen_text().replace("strict_below: {value: true", "strict_below: {value: false");
    std::fs::write(dir.path().join("gen.yaml"), text).unwrap();
    let lenient = case(&Profiles::from_dir(dir.path()).unwrap());
    assert_eq!(lenient.household.classification, Classification::Dibao);
    assert_eq!(lenient.household.payment.0, 0);
}

#[test]
fn not_eligible_is_a_value_and_malformed_is_an_error() {
    let profiles = Profiles::builtin().unwrap();
    let app: Application = serde_json::from_str(
        r#"{"profile": "GEN-2025", "as_of": "2025-10-15",
            "members": [{"id": "m1", "relation": "applicant", "age": 40, "income": {"wage_net": 9000}}]}"#,
    )
    .unwrap();
    let a = assess(&app, &profiles).unwrap();
    assert_eq!(a.household.classification, Classification::None);
    assert!(!a.explanation.steps.is_empty());
    assert!(
        a.explanation
            .steps
            .iter()
            .all(|s| !s.text_zh.is_empty() && !s.text_en.is_empty() && !s.source.is_empty())
    );
    let text = a.render();
    assert!(text.contains("household 不符合 / none"), "{text}");
    assert!(text.contains("[R5] S1 §9; S2 §12-14 ✗ dibao"), "{text}");
    assert!(text.contains("params: dibao_std=1000.00"), "{text}");
    let mut bad = app.clone();
    bad.members.push(bad.members[0].clone());
    assert!(assess(&bad, &profiles).is_err());
    let mut unknown = app.clone();
    unknown.profile = "XX".into();
    assert!(assess(&unknown, &profiles).is_err());
    let mut early = app;
    early.as_of = domain::Date::from_ymd(2020, 1, 1).unwrap();
    assert!(assess(&early, &profiles).is_err());
}

#[test]
fn debug_output_hides_health_details() {
    let app: Application = serde_json::from_str(
        r#"{"profile": "GEN-2025", "as_of": "2025-10-15",
            "members": [{"id": "m1", "relation": "applicant", "age": 40,
                         "disability": {"type": "mental", "grade": 2}, "major_illness_on_local_list": true}]}"#,
    )
    .unwrap();
    let shown = format!("{app:?}");
    assert!(
        !shown.contains("mental") && !shown.contains("major_illness"),
        "{shown}"
    );
}

fn member() -> impl Strategy<Value = serde_json::Value> {
    (
        prop::sample::select(vec!["spouse", "child", "parent", "grandparent", "grandchild", "sibling", "other"]),
        0u32..100,
        any::<bool>(),
        prop::option::of((prop::sample::select(vec!["physical", "intellectual", "mental", "visual", "hearing"]), 1u8..=4)),
        0u8..=6,
        0i64..2_000_000,
        0i64..20_000_000,
        0u32..5,
        any::<bool>(),
    )
        .prop_map(|(rel, age, flag, dis, adl, wage, deposits, refusals, ill)| {
            let mut m = serde_json::json!({
                "relation": rel, "age": age, "in_prison": flag && age % 7 == 0,
                "adl_failures": adl, "refused_suitable_jobs": refusals,
                "major_illness_on_local_list": ill,
                "employed": !flag,
                "income": {"wage_net": format!("{}.{:02}", wage / 100, wage % 100), "support_paid_out": "10.00"},
                "assets": {"deposits": deposits / 100},
            });
            if let Some((kind, grade)) = dis {
                m["disability"] = serde_json::json!({"type": kind, "grade": grade});
            }
            m
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn assessment_never_panics(
        applicant in member(),
        others in prop::collection::vec(member(), 0..6),
        profile in prop::sample::select(vec!["GEN-2025", "BJ-2024", "CD-2023"]),
        rural in any::<bool>(),
        car in any::<bool>(),
        homes in 0usize..3,
        supporter_income in 0i64..50_000,
        taper in any::<bool>(),
    ) {
        let mut members = vec![applicant];
        members.extend(others);
        for (i, m) in members.iter_mut().enumerate() {
            m["id"] = serde_json::json!(format!("m{i}"));
            if i == 0 { m["relation"] = serde_json::json!("applicant"); }
            if taper { m["job_started_on"] = serde_json::json!("2025-08-01"); }
        }
        let region = match profile { "BJ-2024" => "110105000000", "CD-2023" => "510121000000", _ => "990101001001" };
        let app = serde_json::json!({
            "profile": profile, "region": region, "area": if rural { "rural" } else { "urban" },
            "as_of": "2025-10-15", "members": members, "single_parent": rural,
            "current": {"status": if taper { "dibao" } else { "none" }, "previous_payment": 800},
            "vehicles": if car { serde_json::json!([{"market_value": 30000}]) } else { serde_json::json!([]) },
            "housing": (0..homes).map(|_| serde_json::json!({"floor_area_m2": 50})).collect::<Vec<_>>(),
            "supporters": [{"relation": "child", "age": 45, "household_income": supporter_income, "household_size": 3, "support_paid": 100}],
            "expenses_12m": {"medical": 5000},
            "hardship": {"kind": if car { "emergency" } else { "expenditure" }, "necessary_spending": supporter_income * 3},
        });
        let app: Application = serde_json::from_value(app).unwrap();
        let profiles = Profiles::builtin().unwrap();
        let a = assess(&app, &profiles).unwrap();
        // Consistency: household cash only for the classifications that pay it.
        if a.household.payment.0 > 0 {
            prop_assert!(matches!(a.household.classification,
                Classification::Dibao | Classification::Taper | Classification::LowIncome));
        }
        if a.household.classification == Classification::Dibao {
            prop_assert!(a.household.payment.0 >= 0);
        }
        // Temporary assistance never exceeds 24 months of the standard (expenditure) or 3 months
        // per person (emergency).
        let n = a.persons.iter().filter(|p| p.counted).count().max(1) as i64;
        if let Some(t) = a.decision(policy::assess::Program::Temporary, "household") {
            prop_assert!(t.amount.0 <= a.standard.0 * 24.max(3 * n));
        }
        for p in &a.persons {
            prop_assert_eq!(p.tekun.is_some(), p.classification == Classification::Tekun);
            prop_assert!(p.payment.0 >= 0);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn extreme_amounts_do_not_panic(
        amounts in prop::collection::vec(prop::sample::select(vec![0i64, 1, 999_999, i64::MAX / 100]), 8),
        profile in prop::sample::select(vec!["GEN-2025", "BJ-2024", "CD-2023"]),
        kind in prop::sample::select(vec!["emergency", "expenditure"]),
    ) {
        let region = match profile { "BJ-2024" => "110105000000", "CD-2023" => "510104000000", _ => "990101001001" };
        let app = serde_json::json!({
            "profile": profile, "region": region, "as_of": "2025-10-15",
            "current": {"status": "dibao", "previous_payment": amounts[7]},
            "members": [
                {"id": "m1", "relation": "applicant", "age": 40, "job_started_on": "2025-09-01",
                 "income": {"wage_gross": amounts[0], "income_tax": amounts[1], "personal_social_insurance": amounts[2],
                            "wage_net": amounts[3], "support_paid_out": amounts[4]},
                 "assets": {"deposits": amounts[5], "securities": amounts[6]}},
                {"id": "m2", "relation": "child", "age": 10, "income": {"other": amounts[6]}},
            ],
            "supporters": [{"relation": "child", "age": 45, "household_income": amounts[0], "household_size": 1,
                            "support_paid": amounts[3], "support_agreed": amounts[4]}],
            "housing": [{"floor_area_m2": 4_000_000_000u32}, {"floor_area_m2": 4_000_000_000u32}],
            "expenses_12m": {"medical": amounts[5], "education": amounts[6]},
            "hardship": {"kind": kind, "necessary_spending": amounts[7], "income_12m": amounts[2]},
        });
        let app: Application = serde_json::from_value(app).unwrap();
        let a = assess(&app, &Profiles::builtin().unwrap()).unwrap();
        prop_assert!(a.household.payment.0 >= 0);
    }
}
