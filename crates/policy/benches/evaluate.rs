//! Households evaluated per second on one core, on synthetic-city-like households (GEN region,
//! 1-5 living members, some relatives elsewhere, spells, assets and medical costs), with and
//! without explanations. Prints the median of several runs.
//!
//! Run: `cargo bench -p policy --bench evaluate`

use std::time::Instant;

use domain::{
    Date, DisabilityCategory, EmploymentStatus, Fen, Program, RegionCode, Relation, VehicleType,
};
use policy::Pack;
use policy::eval::{HouseholdInput, Options, evaluate};
use policy::facts::{CareLevel, PersonFacts, PersonKey, RunningSpell};

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn household(rng: &mut Lcg, h: usize) -> HouseholdInput {
    let region = RegionCode::parse(if rng.below(3) == 0 {
        "990101001201"
    } else {
        "990101001001"
    })
    .ok();
    let n = 1 + rng.below(5) as usize;
    let hid = format!("H{h}");
    let mut members = Vec::new();
    for i in 0..n {
        let age = match i {
            0 => 25 + rng.below(60) as i64,
            1 => 25 + rng.below(55) as i64,
            _ => rng.below(20) as i64,
        };
        let disabled = rng.below(12) == 0;
        let mut p = PersonFacts {
            id: PersonKey(format!("{hid}-{i}").into()),
            household_id: hid.clone().into(),
            region,
            relation: if i == 0 {
                Relation::Head
            } else if i == 1 {
                Relation::Spouse
            } else {
                Relation::Child
            },
            age,
            income: Fen(if age >= 18 {
                rng.below(400_000) as i64
            } else {
                0
            }),
            financial_assets: Fen(rng.below(5_000_000) as i64),
            disability_grade: if disabled { 1 + rng.below(4) as u8 } else { 0 },
            disability_category: disabled.then(|| DisabilityCategory::ALL[rng.below(7) as usize]),
            student: (6..22).contains(&age) && rng.below(2) == 0,
            medical_oop_12m: Fen(if rng.below(4) == 0 {
                rng.below(3_000_000) as i64
            } else {
                0
            }),
            major_12m: rng.below(40) == 0,
            care_level: if age > 70 {
                CareLevel::Partial
            } else {
                CareLevel::Myself
            },
            employment_status: Some(EmploymentStatus::ALL[rng.below(5) as usize]),
            employment_months_ago: rng.below(12) as i64,
            previous_employment_status: Some(EmploymentStatus::Employed),
            ..PersonFacts::default()
        };
        if i == 1 {
            p.spouse = Some(PersonKey(format!("{hid}-0").into()));
        }
        if i >= 2 {
            p.father = Some(PersonKey(format!("{hid}-0").into()));
            p.mother = Some(PersonKey(format!("{hid}-1").into()));
        }
        if rng.below(6) == 0 {
            p.running = Box::new([RunningSpell {
                program: Program::Dibao,
                household_id: hid.as_str().into(),
            }]);
        }
        if rng.below(20) == 0 {
            p.active_vehicle_types = Box::new([VehicleType::Car]);
        }
        members.push(p);
    }
    let mut others = Vec::new();
    if rng.below(3) == 0 {
        let mut parent = PersonFacts {
            id: PersonKey(format!("{hid}-gp").into()),
            household_id: format!("G{h}").into(),
            region,
            relation: Relation::Head,
            age: 60 + rng.below(30) as i64,
            income: Fen(rng.below(500_000) as i64),
            ..PersonFacts::default()
        };
        parent.spouse = None;
        members[0].mother = Some(parent.id.clone());
        others.push(parent);
    }
    HouseholdInput {
        household_id: hid,
        members,
        others,
    }
}

fn main() {
    let pack = match Pack::default_pack() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("{e}");
            return;
        }
    };
    let as_of = Date::from_ymd(2026, 6, 30).unwrap_or(Date::from_days(0));
    let mut rng = Lcg(20260630);
    let households: Vec<HouseholdInput> = (0..20_000).map(|h| household(&mut rng, h)).collect();
    // `cargo bench -p policy --bench evaluate -- plain [RUNS]` (or `explained`) runs one mode
    // only, RUNS times (5 by default).
    let only = std::env::args().nth(1);
    let runs: usize = std::env::args()
        .nth(2)
        .and_then(|r| r.parse().ok())
        .unwrap_or(5);
    for explain in [false, true] {
        match only.as_deref() {
            Some("plain") if explain => continue,
            Some("explained") if !explain => continue,
            _ => {}
        }
        let mut rates = Vec::new();
        for _ in 0..runs {
            let start = Instant::now();
            let mut tiers = 0usize;
            for h in &households {
                if let policy::Evaluation::Done(o) = evaluate(&pack, h, as_of, Options { explain })
                {
                    tiers += usize::from(o.tier != "none");
                }
            }
            let secs = start.elapsed().as_secs_f64();
            std::hint::black_box(tiers);
            rates.push(households.len() as f64 / secs);
        }
        rates.sort_by(|a, b| a.total_cmp(b));
        println!(
            "explain={explain}: median {:.0} households/s on one core (runs: {})",
            rates[rates.len() / 2],
            rates
                .iter()
                .map(|r| format!("{r:.0}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
}
