//! A small synthetic population in region 99 (示范市): two townships of one county, two runs.
//! Every name, ID number and address is made up.

use domain::{Date, Fen, Gender, PersonStatus, Program, RegionCode, Relation, ResidentId};
use store::{
    AnomalyKind, AnomalyRow, HouseholdProfile, Level, PersonResult, PopulationRow,
    RecommendationRow, RunResults, Tier, WarningRow,
};

/// County 990101 (示范市和平区).
pub const COUNTY: &str = "990101";
/// Township A (幸福街道).
pub const TOWNSHIP_A: &str = "990101001";
/// Township B (和谐镇).
pub const TOWNSHIP_B: &str = "990101002";
/// A household in township A.
pub const HOUSEHOLD_A: &str = "HA0001";
/// A household in township B.
pub const HOUSEHOLD_B: &str = "HB0001";

/// A valid synthetic resident ID: address code 990101, the given birth date, sequence `seq`.
pub fn resident_id(year: i32, month: u32, day: u32, seq: u32) -> ResidentId {
    let first17 = format!("990101{year:04}{month:02}{day:02}{seq:03}");
    let check = domain::id::check_char(first17.as_bytes()) as char;
    ResidentId::parse(&format!("{first17}{check}")).expect("valid synthetic ID")
}

/// The head of household A: 张小华.
pub fn head_a() -> ResidentId {
    resident_id(1958, 3, 14, 11)
}

/// The spouse in household A: 刘春梅.
pub fn spouse_a() -> ResidentId {
    resident_id(1960, 7, 2, 22)
}

/// The one person of household B: 欧阳明远.
pub fn single_b() -> ResidentId {
    resident_id(1941, 12, 30, 31)
}

/// Names used, for the at-rest search.
pub const NAMES: [&str; 3] = ["张小华", "刘春梅", "欧阳明远"];
/// Addresses used, for the at-rest search.
pub const ADDRESSES: [&str; 2] = ["示范市和平区幸福路18号", "示范市和平区和谐镇东村7组"];

fn region(code: &str) -> RegionCode {
    RegionCode::parse(code).expect("valid region")
}

fn date(y: i32, m: u32, d: u32) -> Date {
    Date::from_ymd(y, m, d).expect("valid date")
}

/// The population feed of the two households.
pub fn population() -> Vec<PopulationRow> {
    let row = |id: ResidentId,
               name: &str,
               gender,
               household: &str,
               relation,
               region_code: &str,
               address: &str| {
        PopulationRow {
            person_id: id,
            name: name.to_string(),
            gender,
            household_id: household.to_string(),
            relation,
            region_code: region(region_code),
            address: Some(address.to_string()),
            status: PersonStatus::Normal,
            status_date: None,
            spouse_id: None,
            father_id: None,
            mother_id: None,
        }
    };
    let mut head = row(
        head_a(),
        NAMES[0],
        Gender::Male,
        HOUSEHOLD_A,
        Relation::Head,
        "990101001001",
        ADDRESSES[0],
    );
    head.spouse_id = Some(spouse_a());
    let mut spouse = row(
        spouse_a(),
        NAMES[1],
        Gender::Female,
        HOUSEHOLD_A,
        Relation::Spouse,
        "990101001001",
        ADDRESSES[0],
    );
    spouse.spouse_id = Some(head_a());
    vec![
        spouse,
        head,
        row(
            single_b(),
            NAMES[2],
            Gender::Male,
            HOUSEHOLD_B,
            Relation::Head,
            "990101002201",
            ADDRESSES[1],
        ),
    ]
}

pub fn profile(
    household: &str,
    region_code: &str,
    tier: Tier,
    score: u8,
    level: Level,
) -> HouseholdProfile {
    HouseholdProfile {
        household_id: household.to_string(),
        region_code: region(region_code),
        size: if household == HOUSEHOLD_A { 2 } else { 1 },
        tekun_members: 0,
        per_capita_income: Fen(45_000),
        tier,
        dibao_amount: if tier == Tier::Dibao {
            Fen(52_000)
        } else {
            Fen(0)
        },
        score,
        level,
        tags: vec!["elderly".to_string(), "low_income".to_string()],
        explanation: serde_json::json!({"rule": "dibao.income_below_standard", "standard_fen": 90000}),
    }
}

/// Run 1, as of 2026-11-01: household A is 低保 and omitted (漏保) with an orange income
/// warning; household B has a red hospitalisation warning about its member.
pub fn run_1() -> RunResults {
    let as_of = date(2026, 11, 1);
    RunResults {
        run_id: "2026-11-01-a".to_string(),
        as_of,
        policy: "示范市 2026.1".to_string(),
        households: vec![
            profile(HOUSEHOLD_A, "990101001001", Tier::Dibao, 70, Level::Orange),
            profile(HOUSEHOLD_B, "990101002201", Tier::None, 90, Level::Red),
        ],
        persons: vec![PersonResult {
            person_id: head_a(),
            household_id: HOUSEHOLD_A.to_string(),
            status: "dibao_single".to_string(),
            amount: Fen(26_000),
            care_level: None,
        }],
        anomalies: vec![AnomalyRow {
            kind: AnomalyKind::Omission,
            program: Program::Dibao,
            household_id: HOUSEHOLD_A.to_string(),
            person_id: None,
            reasons: vec!["income_below_standard".to_string()],
        }],
        warnings: vec![
            WarningRow {
                household_id: HOUSEHOLD_A.to_string(),
                person_id: None,
                signal: "income_drop".to_string(),
                level: Level::Orange,
                detected_at: as_of,
            },
            WarningRow {
                household_id: HOUSEHOLD_B.to_string(),
                person_id: Some(single_b()),
                signal: "hospitalisation".to_string(),
                level: Level::Red,
                detected_at: as_of,
            },
        ],
        recommendations: vec![
            RecommendationRow {
                household_id: HOUSEHOLD_A.to_string(),
                kind: "cash".to_string(),
                item: "dibao_payment".to_string(),
                amount: Some(Fen(52_000)),
                reason: "tier:dibao".to_string(),
            },
            RecommendationRow {
                household_id: HOUSEHOLD_A.to_string(),
                kind: "service".to_string(),
                item: "home_visit".to_string(),
                amount: None,
                reason: "tag:elderly".to_string(),
            },
        ],
        provenance: None,
    }
}

/// Run 2, as of 2026-12-01: household A's situation worsens (red), the same income warning is
/// raised again.
pub fn run_2() -> RunResults {
    let as_of = date(2026, 12, 1);
    RunResults {
        run_id: "2026-12-01-a".to_string(),
        as_of,
        policy: "示范市 2026.1".to_string(),
        households: vec![profile(
            HOUSEHOLD_A,
            "990101001001",
            Tier::Dibao,
            85,
            Level::Red,
        )],
        persons: vec![],
        anomalies: vec![],
        warnings: vec![WarningRow {
            household_id: HOUSEHOLD_A.to_string(),
            person_id: None,
            signal: "income_drop".to_string(),
            level: Level::Red,
            detected_at: as_of,
        }],
        recommendations: vec![],
        provenance: None,
    }
}

/// A run with `n` households in township A, each with one warning: red, orange and yellow in
/// turn (so that their tasks fall due on three different days).
pub fn busy_run(n: usize) -> RunResults {
    let as_of = date(2026, 11, 1);
    let levels = [Level::Red, Level::Orange, Level::Yellow];
    let ids: Vec<String> = (0..n).map(|i| format!("HQ{i:04}")).collect();
    RunResults {
        run_id: "busy".to_string(),
        as_of,
        policy: "示范市 2026.1".to_string(),
        households: ids
            .iter()
            .enumerate()
            .map(|(i, h)| profile(h, "990101001001", Tier::None, 10, levels[i % 3]))
            .collect(),
        persons: vec![],
        anomalies: vec![],
        warnings: ids
            .iter()
            .enumerate()
            .map(|(i, h)| WarningRow {
                household_id: h.clone(),
                person_id: None,
                signal: if i % 2 == 0 {
                    "large_medical"
                } else {
                    "income_drop"
                }
                .to_string(),
                level: levels[i % 3],
                detected_at: as_of,
            })
            .collect(),
        recommendations: vec![],
        provenance: None,
    }
}
