//! Households of the city and what every department knows about their members.
//!
//! A family unit is built in memory (persons, their facts, assistance spells and the anomalies
//! planted in it), written through the [`Batch`], and dropped. Ordinary units stay clear of
//! every tier and anomaly of the screening policy; scenario units are built so that the policy
//! (policy.md, GEN parameters: std 1000 urban / 800 rural) puts them exactly where the ground
//! truth says: correctly paid dibao, marginal, rigid-expense and tekun cases, and the planted
//! wrong inclusions, omissions and duplicates.

use crate::batch::{Batch, Who};
use crate::format::Cell;
use crate::ids::{IdAllocator, IdNoise, credit_code};
use crate::names::{given_name, surname};
use crate::regions::City;
use crate::schema::Feed;
use crate::{Options, Rng64, SynthError};
use domain::{
    BusinessRole, Date, DisabilityCategory, DisabilityGrade, EducationLevel, EmploymentStatus,
    Gender, IncomeKind, MedicalKind, Month, PersonStatus, Program, Progress, PropertyUsage,
    Relation, SelfCare, VehicleType,
};

/// Monthly subsistence standard of the GEN parameter set, in fen.
const STD_URBAN: i64 = 100_000;
const STD_RURAL: i64 = 80_000;
/// 特困 care share of the minimum wage (2000 yuan): self 0.2, partial 0.4, full 0.6.
const CARE_SHARE: [i64; 3] = [40_000, 80_000, 120_000];
/// Months of employment history written for persons whose work changed.
const HISTORY_MONTHS: usize = 13;

/// The month `n` months after `m`.
fn shift(m: Month, n: i32) -> Month {
    Month::from_index(m.index() + n)
}

fn std_of(rural: bool) -> i64 {
    if rural { STD_RURAL } else { STD_URBAN }
}

macro_rules! code {
    ($value:expr) => {{
        let v = $value;
        Cell::Code(
            v.as_str(),
            v.aliases().first().copied().unwrap_or(v.as_str()),
        )
    }};
}

/// Counts of the population written.
pub(crate) struct Counts {
    pub persons: u64,
    pub households: u64,
}

#[derive(Clone, Copy)]
struct Emp {
    status: EmploymentStatus,
    wage: i64,
    pension: i64,
    benefit: i64,
}

impl Emp {
    fn new(status: EmploymentStatus, wage: i64) -> Emp {
        Emp {
            status,
            wage,
            pension: 0,
            benefit: 0,
        }
    }
    fn counted(&self) -> i64 {
        self.wage + self.pension + self.benefit
    }
}

enum Work {
    Nothing,
    Latest(Emp),
    /// One record per month, oldest first, ending at the latest period.
    History(Vec<Emp>),
}

struct Medical {
    date: Date,
    total: i64,
    fund: i64,
    oop: i64,
    kind: MedicalKind,
    diagnosis: &'static str,
}

struct Property {
    id: String,
    usage: PropertyUsage,
    area: i64,
    registered: Date,
    cancelled: Option<Date>,
}

struct Vehicle {
    plate: String,
    kind: VehicleType,
    registered: Date,
    cancelled: Option<Date>,
    price: i64,
}

struct Business {
    code: String,
    role: BusinessRole,
    capital: i64,
    active: bool,
    registered: Date,
}

struct Spell {
    program: Program,
    household: String,
    region: String,
    start: Date,
    end: Option<Date>,
    amount: Option<i64>,
    /// Written under a mistyped person_id (the same person paid under two numbers).
    mistyped: bool,
}

struct Person {
    id: String,
    name: String,
    gender: Gender,
    birth: Date,
    age: i32,
    relation: Relation,
    status: PersonStatus,
    status_date: Option<Date>,
    spouse: Option<String>,
    father: Option<String>,
    mother: Option<String>,
    noisy: bool,
    work: Work,
    incomes: Vec<(IncomeKind, i64)>,
    finance: Option<(i64, i64, i64)>,
    disability: Option<(DisabilityCategory, DisabilityGrade, Date)>,
    medical: Vec<Medical>,
    properties: Vec<Property>,
    vehicles: Vec<Vehicle>,
    businesses: Vec<Business>,
    education: Option<(EducationLevel, i64)>,
    care: Option<(SelfCare, Date)>,
    spells: Vec<Spell>,
}

impl Person {
    fn latest(&self) -> Option<Emp> {
        match &self.work {
            Work::Nothing => None,
            Work::Latest(e) => Some(*e),
            Work::History(h) => h.last().copied(),
        }
    }

    /// Counted monthly income under the policy: latest employment record plus the latest
    /// record of each non-exempt income kind.
    fn income(&self) -> i64 {
        let emp = self.latest().map_or(0, |e| e.counted());
        let other: i64 = self
            .incomes
            .iter()
            .filter(|(k, _)| *k != IncomeKind::Exempt)
            .map(|(_, v)| v)
            .sum();
        emp + other
    }

    fn add_income(&mut self, kind: IncomeKind, amount: i64) {
        if let Some(entry) = self.incomes.iter_mut().find(|(k, _)| *k == kind) {
            entry.1 += amount;
        } else {
            self.incomes.push((kind, amount));
        }
    }

    fn living(&self) -> bool {
        self.status == PersonStatus::Normal
    }
}

struct Household {
    id: String,
    region: String,
    county: usize,
    rural: bool,
    address: String,
    members: Vec<Person>,
    /// Electricity (hundredths of kWh) for the last three months, oldest first.
    kwh: [i64; 3],
    water: [i64; 3],
    arrears: i64,
}

impl Household {
    fn std(&self) -> i64 {
        std_of(self.rural)
    }
    fn living(&self) -> usize {
        self.members.iter().filter(|p| p.living()).count()
    }
    fn income(&self) -> i64 {
        self.members
            .iter()
            .filter(|p| p.living())
            .map(Person::income)
            .sum()
    }
    fn county_code(&self) -> String {
        format!("{}000000", &self.region[..6])
    }
}

struct Anomaly {
    kind: &'static str,
    program: &'static str,
    household: String,
    person: String,
    reasons: Vec<&'static str>,
}

#[derive(Default)]
struct Unit {
    households: Vec<Household>,
    anomalies: Vec<Anomaly>,
}

impl Unit {
    fn size(&self) -> usize {
        self.households.iter().map(|h| h.members.len()).sum()
    }
    fn plant(
        &mut self,
        kind: &'static str,
        program: &'static str,
        household: &str,
        person: &str,
        reasons: &[&'static str],
    ) {
        self.anomalies.push(Anomaly {
            kind,
            program,
            household: household.to_string(),
            person: person.to_string(),
            reasons: reasons.to_vec(),
        });
    }
}

/// What a unit is built as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scenario {
    Single,
    Couple,
    Family,
    ThreeGenerations,
    ElderlyWithChildren,
    ElderAlone,
    DibaoPaid,
    DibaoOmission,
    DibaoTwice,
    DibaoMarginalExclusive,
    DibaoTwoIds,
    DibaoTaper,
    DibaoEmigratedPaid,
    DibaoDeathRecent,
    DibaoIncomeAbove,
    DibaoMoney,
    DibaoVehicle,
    DibaoProperty,
    DibaoBusiness,
    DibaoHouseholdNotFound,
    MarginalPaid,
    MarginalIncomeAbove,
    SingleRouteA,
    SingleRouteB,
    TekunPaid,
    TekunOmission,
    TekunDeceasedPaid,
    TekunAbleObligor,
    TekunWorkCapacity,
    OrphanPaid,
    OrphanOmission,
    RigidPaid,
}

/// Scenario units and their weight per 10 000 units; ordinary units take the rest.
const SPECIAL: &[(Scenario, u64)] = &[
    (Scenario::DibaoPaid, 260),
    (Scenario::DibaoOmission, 30),
    (Scenario::DibaoTwice, 6),
    (Scenario::DibaoMarginalExclusive, 6),
    (Scenario::DibaoTwoIds, 6),
    (Scenario::DibaoTaper, 10),
    (Scenario::DibaoEmigratedPaid, 5),
    (Scenario::DibaoDeathRecent, 10),
    (Scenario::DibaoIncomeAbove, 12),
    (Scenario::DibaoMoney, 6),
    (Scenario::DibaoVehicle, 6),
    (Scenario::DibaoProperty, 4),
    (Scenario::DibaoBusiness, 4),
    (Scenario::DibaoHouseholdNotFound, 3),
    (Scenario::MarginalPaid, 100),
    (Scenario::MarginalIncomeAbove, 8),
    (Scenario::SingleRouteA, 8),
    (Scenario::SingleRouteB, 10),
    (Scenario::TekunPaid, 60),
    (Scenario::TekunOmission, 10),
    (Scenario::TekunDeceasedPaid, 5),
    (Scenario::TekunAbleObligor, 5),
    (Scenario::TekunWorkCapacity, 3),
    (Scenario::OrphanPaid, 5),
    (Scenario::OrphanOmission, 2),
    (Scenario::RigidPaid, 30),
];

const ORDINARY: &[(Scenario, u64)] = &[
    (Scenario::Single, 20),
    (Scenario::Couple, 15),
    (Scenario::Family, 33),
    (Scenario::ThreeGenerations, 12),
    (Scenario::ElderlyWithChildren, 10),
    (Scenario::ElderAlone, 10),
];

/// Units at the start of every city: each scenario once, so that even a small city holds
/// every planted case.
const OPENING: &[Scenario] = &[
    Scenario::DibaoPaid,
    Scenario::DibaoOmission,
    Scenario::DibaoTwice,
    Scenario::DibaoMarginalExclusive,
    Scenario::DibaoTwoIds,
    Scenario::DibaoTaper,
    Scenario::DibaoEmigratedPaid,
    Scenario::DibaoDeathRecent,
    Scenario::DibaoIncomeAbove,
    Scenario::DibaoMoney,
    Scenario::DibaoVehicle,
    Scenario::DibaoProperty,
    Scenario::DibaoBusiness,
    Scenario::DibaoHouseholdNotFound,
    Scenario::MarginalPaid,
    Scenario::MarginalIncomeAbove,
    Scenario::SingleRouteA,
    Scenario::SingleRouteB,
    Scenario::TekunPaid,
    Scenario::TekunOmission,
    Scenario::TekunDeceasedPaid,
    Scenario::TekunAbleObligor,
    Scenario::TekunWorkCapacity,
    Scenario::OrphanPaid,
    Scenario::OrphanOmission,
    Scenario::RigidPaid,
    Scenario::Family,
    Scenario::ElderlyWithChildren,
];

struct Gen {
    rng: Rng64,
    ids: IdAllocator,
    city: City,
    as_of: Date,
    /// The latest period of monthly feeds: the month before the as-of month.
    latest: Month,
    school_year: String,
    serial: u64,
}

/// Generates the whole population into `batch`.
pub(crate) fn generate(
    city: City,
    options: &Options,
    batch: &mut Batch,
    progress: &dyn Progress,
) -> Result<Counts, SynthError> {
    let as_of = options.as_of;
    let (y, m, _) = as_of.ymd();
    let start = if m >= 9 { y } else { y - 1 };
    let mut g = Gen {
        rng: Rng64::new(options.seed),
        ids: IdAllocator::new(as_of, &city.address_codes()),
        city,
        as_of,
        latest: shift(as_of.month(), -1),
        school_year: format!("{start}-{}", start + 1),
        serial: 0,
    };
    let mut counts = Counts {
        persons: 0,
        households: 0,
    };
    let mut index = 0usize;
    while counts.persons < options.persons {
        let remaining = options.persons - counts.persons;
        let unit = if remaining <= 12 {
            g.ordinary(Scenario::Single)
        } else {
            let scenario = g.scenario(index);
            index += 1;
            g.build(scenario)
        };
        let size = unit.size() as u64;
        if size == 0 || size > remaining {
            continue;
        }
        g.write(unit, batch, &mut counts)?;
        progress.inc(size);
    }
    Ok(counts)
}

impl Gen {
    fn scenario(&mut self, index: usize) -> Scenario {
        if let Some(s) = OPENING.get(index) {
            return *s;
        }
        let draw = self.rng.below(10_000);
        let mut acc = 0;
        for (s, w) in SPECIAL {
            acc += w;
            if draw < acc {
                return *s;
            }
        }
        let total: u64 = ORDINARY.iter().map(|(_, w)| w).sum();
        let mut pick = self.rng.below(total);
        for (s, w) in ORDINARY {
            if pick < *w {
                return *s;
            }
            pick -= w;
        }
        Scenario::Single
    }

    fn build(&mut self, scenario: Scenario) -> Unit {
        use Scenario as S;
        match scenario {
            S::Single
            | S::Couple
            | S::Family
            | S::ThreeGenerations
            | S::ElderlyWithChildren
            | S::ElderAlone => self.ordinary(scenario),
            S::DibaoPaid
            | S::DibaoOmission
            | S::DibaoTwice
            | S::DibaoMarginalExclusive
            | S::DibaoTwoIds
            | S::DibaoTaper
            | S::DibaoEmigratedPaid
            | S::DibaoDeathRecent
            | S::DibaoIncomeAbove
            | S::DibaoMoney
            | S::DibaoVehicle
            | S::DibaoProperty
            | S::DibaoBusiness => self.dibao(scenario),
            S::DibaoHouseholdNotFound => self.household_not_found(),
            S::MarginalPaid | S::MarginalIncomeAbove | S::SingleRouteA => self.marginal(scenario),
            S::SingleRouteB => self.route_b(),
            S::TekunPaid
            | S::TekunOmission
            | S::TekunDeceasedPaid
            | S::TekunAbleObligor
            | S::TekunWorkCapacity => self.tekun(scenario),
            S::OrphanPaid | S::OrphanOmission => self.orphan(scenario == S::OrphanPaid),
            S::RigidPaid => self.rigid(),
        }
    }

    // ---- dates and amounts -------------------------------------------------------------

    fn days_ago(&self, n: i64) -> Date {
        self.as_of.add_days(-(n as i32))
    }

    fn some_days_ago(&mut self, lo: i64, hi: i64) -> Date {
        let n = self.rng.range(lo, hi);
        self.days_ago(n)
    }

    /// Yuan in `lo..=hi`, as fen rounded to whole yuan.
    fn yuan(&mut self, lo: i64, hi: i64) -> i64 {
        self.rng.range(lo, hi) * 100
    }

    fn gender(&mut self) -> Gender {
        if self.rng.chance(0.5) {
            Gender::Male
        } else {
            Gender::Female
        }
    }

    // ---- households and persons ---------------------------------------------------------

    fn household(&mut self, rural: Option<bool>) -> Household {
        let (ci, v) = self.city.pick(&mut self.rng, rural);
        let county = &self.city.counties[ci];
        let town = county
            .townships
            .iter()
            .find(|t| v.code.starts_with(&t.code[..9]))
            .map_or("", |t| t.name.as_str());
        let stem: String = v.name.chars().take(2).collect();
        let region = v.code.clone();
        let is_rural = v.rural;
        let address = if is_rural {
            format!(
                "示范市{}{}{}村{}组{}号",
                county.name,
                town,
                stem,
                1 + self.rng.below(12),
                1 + self.rng.below(80)
            )
        } else {
            format!(
                "示范市{}{}{}小区{}栋{}单元{}室",
                county.name,
                town,
                stem,
                1 + self.rng.below(30),
                1 + self.rng.below(4),
                101 + 100 * self.rng.below(18) + self.rng.below(4)
            )
        };
        self.serial += 1;
        let kwh = [0; 3].map(|_| self.rng.range(8_000, 40_000));
        let water = [0; 3].map(|_| self.rng.range(300, 1_800));
        let arrears = match self.rng.below(1000) {
            0..=14 => self.rng.range(3, 6),
            15..=44 => self.rng.range(1, 2),
            _ => 0,
        };
        Household {
            id: format!("{region}{:08}", self.serial),
            region,
            county: ci,
            rural: is_rural,
            address,
            members: Vec::new(),
            kwh,
            water,
            arrears,
        }
    }

    /// Adds a living person to `hh` and returns their index.
    fn add(
        &mut self,
        hh: &mut Household,
        age: i32,
        gender: Gender,
        family: Option<&str>,
        relation: Relation,
    ) -> usize {
        let age = age.clamp(0, 110);
        let birth = self
            .as_of
            .add_months(-12 * age)
            .add_days(-(self.rng.below(360) as i32));
        let n = self.city.counties.len();
        let address = if self.rng.chance(0.85) {
            hh.county
        } else {
            self.rng.below(n as u64) as usize
        };
        let id = self
            .ids
            .allocate(address, birth, gender)
            .unwrap_or_default();
        let sur = family.map_or_else(|| surname(&mut self.rng).to_string(), str::to_string);
        let name = format!("{sur}{}", given_name(&mut self.rng, gender));
        hh.members.push(Person {
            id,
            name,
            gender,
            birth,
            age,
            relation,
            status: PersonStatus::Normal,
            status_date: None,
            spouse: None,
            father: None,
            mother: None,
            noisy: true,
            work: Work::Nothing,
            incomes: Vec::new(),
            finance: None,
            disability: None,
            medical: Vec::new(),
            properties: Vec::new(),
            vehicles: Vec::new(),
            businesses: Vec::new(),
            education: None,
            care: None,
            spells: Vec::new(),
        });
        hh.members.len() - 1
    }

    fn surname_of(hh: &Household, i: usize) -> String {
        // Double surnames are kept whole for the family.
        let name = &hh.members[i].name;
        let two: String = name.chars().take(2).collect();
        if ["欧阳", "司马", "诸葛", "上官"].contains(&two.as_str()) {
            two
        } else {
            name.chars().take(1).collect()
        }
    }

    fn marry(hh: &mut Household, a: usize, b: usize) {
        let (ia, ib) = (hh.members[a].id.clone(), hh.members[b].id.clone());
        hh.members[a].spouse = Some(ib);
        hh.members[b].spouse = Some(ia);
    }

    /// A couple: head of `age` and a spouse of the other gender within a few years.
    fn couple(&mut self, hh: &mut Household, age: i32) -> (usize, usize) {
        let spouse_age = (age + self.rng.range(-4, 4) as i32).max(20);
        self.couple_aged(hh, age, spouse_age)
    }

    /// A couple of the given ages: head and spouse of the other gender.
    fn couple_aged(&mut self, hh: &mut Household, age: i32, spouse_age: i32) -> (usize, usize) {
        let g = self.gender();
        let head = self.add(hh, age, g, None, Relation::Head);
        let other = if g == Gender::Male {
            Gender::Female
        } else {
            Gender::Male
        };
        let spouse = self.add(hh, spouse_age, other, None, Relation::Spouse);
        Self::marry(hh, head, spouse);
        (head, spouse)
    }

    /// A child of the couple (father, mother in either order by gender).
    fn child(
        &mut self,
        hh: &mut Household,
        parents: (usize, usize),
        age: i32,
        relation: Relation,
    ) -> usize {
        let (father, mother) = if hh.members[parents.0].gender == Gender::Male {
            parents
        } else {
            (parents.1, parents.0)
        };
        let family = Self::surname_of(hh, father);
        let g = self.gender();
        let c = self.add(hh, age, g, Some(&family), relation);
        hh.members[c].father = Some(hh.members[father].id.clone());
        hh.members[c].mother = Some(hh.members[mother].id.clone());
        c
    }

    fn schooling(&mut self, p: &mut Person, tuition_scale: i64) {
        let (level, lo, hi) = match p.age {
            3..=5 if self.rng.chance(0.8) => (EducationLevel::Preschool, 2_000, 12_000),
            6..=11 => (EducationLevel::Primary, 0, 1_500),
            12..=14 => (EducationLevel::Junior, 0, 2_000),
            15..=17 if self.rng.chance(0.8) => (EducationLevel::Senior, 1_000, 3_500),
            15..=17 => (EducationLevel::Vocational, 0, 2_500),
            18..=22 if self.rng.chance(0.5) => (EducationLevel::Higher, 5_000, 12_000),
            _ => return,
        };
        let tuition = self.yuan(lo, hi) * tuition_scale;
        p.education = Some((level, tuition));
    }

    /// Work of an ordinary person by age; students and children have none.
    fn ordinary_work(&mut self, p: &mut Person, rural: bool) {
        if p.education.is_some() || p.age < 16 {
            return;
        }
        if p.age >= 60 {
            let mut e = Emp::new(EmploymentStatus::Retired, 0);
            e.pension = if rural && self.rng.chance(0.7) {
                e.status = EmploymentStatus::None;
                self.yuan(150, 450)
            } else {
                self.yuan(1_800, 6_500)
            };
            p.work = Work::Latest(e);
            return;
        }
        let scale = if rural { 6 } else { 10 };
        let e = match self.rng.below(100) {
            0..=64 => Emp::new(EmploymentStatus::Employed, self.yuan(2_400, 1_400 * scale)),
            65..=77 => Emp::new(EmploymentStatus::Flexible, self.yuan(1_500, 500 * scale)),
            78..=82 => {
                let mut e = Emp::new(EmploymentStatus::Unemployed, 0);
                e.benefit = self.yuan(1_300, 1_800);
                e
            }
            _ => Emp::new(EmploymentStatus::None, 0),
        };
        // A few work histories change: a job lost in the last two months, or a job started.
        let dynamic = self.rng.below(100);
        if dynamic < 3 && e.status == EmploymentStatus::Employed {
            let lost = 1 + self.rng.below(2) as usize;
            let mut history = vec![e; HISTORY_MONTHS];
            for rec in history.iter_mut().skip(HISTORY_MONTHS - lost) {
                *rec = Emp::new(EmploymentStatus::Unemployed, 0);
                rec.benefit = self.yuan(1_300, 1_800);
            }
            p.work = Work::History(history);
        } else if dynamic < 5 && e.status == EmploymentStatus::Employed {
            let since = 1 + self.rng.below(9) as usize;
            let mut history = vec![Emp::new(EmploymentStatus::None, 0); HISTORY_MONTHS];
            for rec in history.iter_mut().skip(HISTORY_MONTHS - since) {
                *rec = e;
            }
            p.work = Work::History(history);
        } else {
            p.work = Work::Latest(e);
        }
        if rural && p.relation == Relation::Head {
            let farming = self.yuan(300, 2_500);
            p.add_income(IncomeKind::Business, farming);
        }
    }

    fn medical(&mut self, p: &mut Person, kind: MedicalKind, date: Date) {
        let (total, fund_share, diagnoses): (i64, i64, &[&'static str]) = match kind {
            MedicalKind::Outpatient => (
                self.yuan(40, 900),
                45,
                &["J06.9", "K29.7", "M54.5", "H10.9"],
            ),
            MedicalKind::Chronic => (
                self.yuan(200, 2_400),
                60,
                &["I10", "E11.9", "J44.9", "N18.3"],
            ),
            MedicalKind::Inpatient => (
                self.yuan(4_000, 60_000),
                65,
                &["I21.9", "J18.9", "S72.0", "K80.2"],
            ),
            MedicalKind::Major => (
                self.yuan(60_000, 320_000),
                60,
                &["C34.9", "C16.9", "I63.9", "N18.5"],
            ),
        };
        let fund = total * fund_share / 100;
        let diagnosis = *self.rng.pick(diagnoses);
        p.medical.push(Medical {
            date,
            total,
            fund,
            oop: total - fund,
            kind,
            diagnosis,
        });
    }

    /// Finance, disability, medical, business and care facts of an ordinary person; none of
    /// them makes anyone eligible (disabilities are mild unless the person's own income is at
    /// least the standard, businesses of ordinary households only).
    fn ordinary_facts(&mut self, hh_rural: bool, p: &mut Person) {
        if p.age >= 18 && self.rng.chance(0.6) {
            let exp = self.rng.range(2_000, 5_500) as f64 / 1000.0;
            let deposits = (10f64.powf(exp) as i64) * 100;
            let securities = if self.rng.chance(0.1) {
                self.yuan(5_000, 300_000)
            } else {
                0
            };
            let other = if self.rng.chance(0.05) {
                self.yuan(1_000, 80_000)
            } else {
                0
            };
            p.finance = Some((deposits, securities, other));
        }
        let disabled = if p.age >= 60 { 0.12 } else { 0.03 };
        if self.rng.chance(disabled) {
            let std = std_of(hh_rural);
            let severe_ok = p.income() >= std;
            let category = *self.rng.pick(DisabilityCategory::ALL);
            let grade = if severe_ok && self.rng.chance(0.3) {
                if self.rng.chance(0.5) {
                    DisabilityGrade::Two
                } else {
                    DisabilityGrade::One
                }
            } else if matches!(
                category,
                DisabilityCategory::Intellectual | DisabilityCategory::Mental
            ) {
                DisabilityGrade::Four
            } else if self.rng.chance(0.5) {
                DisabilityGrade::Three
            } else {
                DisabilityGrade::Four
            };
            let certified = self.some_days_ago(20, 7_000);
            p.disability = Some((category, grade, certified));
        }
        let visits = match p.age {
            0..=17 => self.rng.below(3),
            18..=59 => self.rng.below(3),
            _ => 1 + self.rng.below(4),
        };
        for _ in 0..visits {
            let d = self.some_days_ago(0, 540);
            self.medical(p, MedicalKind::Outpatient, d);
        }
        if p.age >= 50 && self.rng.chance(0.2) {
            for _ in 0..1 + self.rng.below(3) {
                let d = self.some_days_ago(0, 360);
                self.medical(p, MedicalKind::Chronic, d);
            }
        }
        if self.rng.chance(if p.age >= 60 { 0.06 } else { 0.02 }) {
            let d = self.some_days_ago(0, 500);
            self.medical(p, MedicalKind::Inpatient, d);
        }
        if self.rng.chance(0.002) {
            let d = self.some_days_ago(0, 400);
            self.medical(p, MedicalKind::Major, d);
        }
        if (20..=65).contains(&p.age) && self.rng.chance(0.04) {
            let individual = self.rng.chance(0.6);
            let (role, capital) = if individual {
                (BusinessRole::SoleProprietor, self.yuan(5_000, 100_000))
            } else if self.rng.chance(0.6) {
                (BusinessRole::LegalRep, self.yuan(100_000, 5_000_000))
            } else {
                (BusinessRole::Shareholder, self.yuan(50_000, 2_000_000))
            };
            let county = format!("9901{:02}", 1 + self.rng.below(6));
            let code = credit_code(&mut self.rng, &county, individual);
            let registered = self.some_days_ago(30, 6_000);
            p.businesses.push(Business {
                code,
                role,
                capital,
                active: self.rng.chance(0.88),
                registered,
            });
        }
        if p.age >= 75 && self.rng.chance(0.25) {
            let care = match self.rng.below(10) {
                0..=5 => SelfCare::Full,
                6..=8 => SelfCare::Partial,
                _ => SelfCare::None,
            };
            let d = self.some_days_ago(10, 900);
            p.care = Some((care, d));
        }
        if p.age >= 80 {
            let allowance = self.yuan(100, 300);
            p.add_income(IncomeKind::Exempt, allowance);
        }
    }

    fn property(&mut self, p: &mut Person, hh: &str, usage: PropertyUsage, registered: Date) {
        self.serial += 1;
        let area = match usage {
            PropertyUsage::Residential => self.rng.range(3_500, 14_000),
            _ => self.rng.range(1_500, 30_000),
        };
        p.properties.push(Property {
            id: format!(
                "{}GB{:08}F{:04}",
                &hh[..12],
                self.serial % 100_000_000,
                self.rng.below(10_000)
            ),
            usage,
            area,
            registered,
            cancelled: None,
        });
    }

    fn plate(&mut self) -> String {
        const LETTERS: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";
        let mut s = String::from("示");
        s.push(char::from(b'A' + self.rng.below(6) as u8));
        for _ in 0..5 {
            s.push(char::from(*self.rng.pick(LETTERS)));
        }
        s
    }

    fn vehicle(&mut self, p: &mut Person, kind: VehicleType, registered: Date, price: i64) {
        let plate = self.plate();
        p.vehicles.push(Vehicle {
            plate,
            kind,
            registered,
            cancelled: None,
            price,
        });
    }

    /// Homes and vehicles of an ordinary household, owned by the head.
    fn ordinary_assets(&mut self, hh: &mut Household) {
        let Some(head) = hh.members.iter().position(|p| p.relation == Relation::Head) else {
            return;
        };
        let hid = hh.id.clone();
        let rural = hh.rural;
        let person = &mut hh.members[head];
        if person.age < 18 {
            return;
        }
        if self.rng.chance(0.8) {
            let d = self.some_days_ago(200, 9_000);
            self.property(person, &hid, PropertyUsage::Residential, d);
            if self.rng.chance(0.12) {
                let d = self.some_days_ago(30, 5_000);
                self.property(person, &hid, PropertyUsage::Residential, d);
            }
            if self.rng.chance(0.02) {
                let d = self.some_days_ago(30, 5_000);
                self.property(person, &hid, PropertyUsage::Commercial, d);
            }
        }
        if self.rng.chance(if rural { 0.2 } else { 0.35 }) {
            let d = self.some_days_ago(10, 5_000);
            let price = self.yuan(50_000, 350_000);
            self.vehicle(person, VehicleType::Car, d, price);
            if self.rng.chance(0.05) {
                let old = self.some_days_ago(4_000, 7_000);
                let price = self.yuan(30_000, 120_000);
                self.vehicle(person, VehicleType::Car, old, price);
                if let Some(v) = person.vehicles.last_mut() {
                    v.cancelled = Some(d);
                }
            }
        }
        if rural && self.rng.chance(0.15) {
            let d = self.some_days_ago(100, 6_000);
            let price = self.yuan(8_000, 60_000);
            self.vehicle(person, VehicleType::Agricultural, d, price);
        }
        if self.rng.chance(0.08) {
            let d = self.some_days_ago(100, 6_000);
            let price = self.yuan(2_000, 12_000);
            self.vehicle(person, VehicleType::Motorcycle, d, price);
        }
        if self.rng.chance(0.01) {
            let d = self.some_days_ago(100, 4_000);
            let price = self.yuan(60_000, 250_000);
            self.vehicle(person, VehicleType::Truck, d, price);
        }
    }

    /// Raises incomes so that an ordinary household stays clear of every tier: each living
    /// member aged 60 or more has at least 1.2 × the standard (support from children when
    /// the pension is low) and the household at least 1.6 × the standard per member.
    fn keep_clear(&mut self, hh: &mut Household) {
        let std = hh.std();
        for p in hh.members.iter_mut().filter(|p| p.living()) {
            if p.age >= 60 && p.income() < std * 6 / 5 {
                let need = std * 6 / 5 - p.income() + self.rng.range(0, 800) * 100;
                p.add_income(IncomeKind::Support, need);
            }
        }
        let n = hh.living() as i64;
        let floor = std * 8 * n / 5;
        let income = hh.income();
        if income >= floor {
            return;
        }
        let need = floor - income + self.rng.range(0, 2_000) * 100;
        let worker = hh.members.iter().position(|p| {
            p.living() && matches!(p.latest(), Some(e) if matches!(e.status, EmploymentStatus::Employed | EmploymentStatus::Flexible)) && matches!(p.work, Work::Latest(_))
        });
        if let Some(w) = worker
            && let Work::Latest(e) = &mut hh.members[w].work
        {
            e.wage += need;
            return;
        }
        let adult = hh.members.iter().position(|p| {
            p.living()
                && (18..60).contains(&p.age)
                && p.education.is_none()
                && matches!(p.work, Work::Latest(_) | Work::Nothing)
        });
        if let Some(a) = adult {
            let wage = need;
            hh.members[a].work =
                Work::Latest(Emp::new(EmploymentStatus::Employed, wage.max(250_000)));
            return;
        }
        // Nobody can take a job: rent or other property income of the oldest adult.
        let holder = hh
            .members
            .iter()
            .enumerate()
            .filter(|(_, p)| p.living() && p.age >= 18)
            .max_by_key(|(_, p)| p.age)
            .map(|(i, _)| i);
        if let Some(h) = holder {
            hh.members[h].add_income(IncomeKind::Property, need);
        }
    }

    /// Finishes an ordinary household: work, facts, assets, incomes kept clear of the tiers.
    fn finish_ordinary(&mut self, hh: &mut Household) {
        let rural = hh.rural;
        let mut members = std::mem::take(&mut hh.members);
        for p in members.iter_mut() {
            if p.education.is_none() && p.age < 23 {
                self.schooling(p, 1);
            }
            self.ordinary_work(p, rural);
        }
        hh.members = members;
        self.keep_clear(hh);
        let mut members = std::mem::take(&mut hh.members);
        for p in members.iter_mut() {
            self.ordinary_facts(rural, p);
        }
        hh.members = members;
        self.ordinary_assets(hh);
        // Some households had assistance once.
        if self.rng.chance(0.02) {
            let end = self.some_days_ago(200, 1_500);
            let start = end.add_days(-(self.rng.range(180, 1_500) as i32));
            let program = if self.rng.chance(0.5) {
                Program::Dibao
            } else {
                Program::Temporary
            };
            let region = hh.county_code();
            let hid = hh.id.clone();
            if let Some(p) = hh.members.first_mut() {
                p.spells.push(Spell {
                    program,
                    household: hid,
                    region,
                    start,
                    end: Some(end),
                    amount: Some(30_000),
                    mistyped: false,
                });
            }
        }
    }

    /// A family of a couple aged `age` with `kids` children.
    fn family(&mut self, hh: &mut Household, age: i32, kids: usize) -> (usize, usize, Vec<usize>) {
        let (a, b) = self.couple(hh, age);
        let youngest_parent = hh.members[a].age.min(hh.members[b].age);
        let mut children = Vec::new();
        for _ in 0..kids {
            let max = (youngest_parent - 20).clamp(0, 26);
            let age = self.rng.range(0, i64::from(max)) as i32;
            children.push(self.child(hh, (a, b), age, Relation::Child));
        }
        (a, b, children)
    }

    fn ordinary(&mut self, scenario: Scenario) -> Unit {
        let mut unit = Unit::default();
        let rural = Some(self.rng.chance(0.3));
        match scenario {
            Scenario::Single => {
                let mut hh = self.household(rural);
                let age = self.rng.range(20, 45) as i32;
                let g = self.gender();
                self.add(&mut hh, age, g, None, Relation::Head);
                self.finish_ordinary(&mut hh);
                unit.households.push(hh);
            }
            Scenario::Couple => {
                let mut hh = self.household(rural);
                let age = self.rng.range(24, 66) as i32;
                self.couple(&mut hh, age);
                self.finish_ordinary(&mut hh);
                unit.households.push(hh);
            }
            Scenario::Family => {
                let mut hh = self.household(rural);
                let age = self.rng.range(28, 52) as i32;
                let kids = 1 + self.rng.below(3) as usize;
                let (_, _, children) = self.family(&mut hh, age, kids);
                // A grown child sometimes moved away (迁出).
                for c in children {
                    if hh.members[c].age >= 18 && self.rng.chance(0.3) {
                        hh.members[c].status = PersonStatus::Emigrated;
                        let d = self.some_days_ago(30, 2_000);
                        hh.members[c].status_date = Some(d);
                    }
                }
                self.finish_ordinary(&mut hh);
                unit.households.push(hh);
            }
            Scenario::ThreeGenerations => {
                let mut hh = self.household(rural);
                let age = self.rng.range(35, 55) as i32;
                let kids = 1 + self.rng.below(2) as usize;
                let (a, _, _) = self.family(&mut hh, age, kids);
                let head_age = hh.members[a].age;
                let family = Self::surname_of(&hh, a);
                let grand_age = head_age + self.rng.range(22, 34) as i32;
                let gf = self.add(
                    &mut hh,
                    grand_age,
                    Gender::Male,
                    Some(&family),
                    Relation::Parent,
                );
                let gm_age = grand_age + self.rng.range(-4, 3) as i32;
                let gm = self.add(&mut hh, gm_age, Gender::Female, None, Relation::Parent);
                Self::marry(&mut hh, gf, gm);
                hh.members[a].father = Some(hh.members[gf].id.clone());
                hh.members[a].mother = Some(hh.members[gm].id.clone());
                if self.rng.chance(0.2) {
                    let dead = if self.rng.chance(0.5) { gf } else { gm };
                    hh.members[dead].status = PersonStatus::Deceased;
                    let d = self.some_days_ago(30, 3_000);
                    hh.members[dead].status_date = Some(d);
                }
                self.finish_ordinary(&mut hh);
                unit.households.push(hh);
            }
            Scenario::ElderlyWithChildren | Scenario::ElderAlone => {
                let mut elder = self.household(rural);
                let age = self.rng.range(62, 92) as i32;
                let (a, b) = self.couple(&mut elder, age);
                if scenario == Scenario::ElderAlone || self.rng.chance(0.3) {
                    let dead = if self.rng.chance(0.6) { a } else { b };
                    elder.members[dead].status = PersonStatus::Deceased;
                    let d = self.some_days_ago(60, 5_000);
                    elder.members[dead].status_date = Some(d);
                }
                let children = if scenario == Scenario::ElderAlone {
                    self.rng.below(2) as usize
                } else {
                    1 + self.rng.below(3) as usize
                };
                let (father, mother) = if elder.members[a].gender == Gender::Male {
                    (a, b)
                } else {
                    (b, a)
                };
                let family = Self::surname_of(&elder, father);
                let youngest = elder.members[a].age.min(elder.members[b].age);
                let mut child_households = Vec::new();
                for _ in 0..children {
                    let mut hh = self.household(rural);
                    let cage = (youngest - self.rng.range(22, 35) as i32).max(25);
                    let g = self.gender();
                    let c = self.add(&mut hh, cage, g, Some(&family), Relation::Head);
                    hh.members[c].father = Some(elder.members[father].id.clone());
                    hh.members[c].mother = Some(elder.members[mother].id.clone());
                    let spouse_g = if g == Gender::Male {
                        Gender::Female
                    } else {
                        Gender::Male
                    };
                    let sage = cage + self.rng.range(-3, 3) as i32;
                    let s = self.add(&mut hh, sage, spouse_g, None, Relation::Spouse);
                    Self::marry(&mut hh, c, s);
                    for _ in 0..self.rng.below(3) {
                        let max = (cage - 22).clamp(0, 20);
                        let kage = self.rng.range(0, i64::from(max)) as i32;
                        self.child(&mut hh, (c, s), kage, Relation::Child);
                    }
                    self.finish_ordinary(&mut hh);
                    child_households.push(hh);
                }
                self.finish_ordinary(&mut elder);
                unit.households.push(elder);
                unit.households.extend(child_households);
            }
            _ => {}
        }
        unit
    }

    // ---- scenario households --------------------------------------------------------------

    /// Low-income facts of a scenario person: small deposits, outpatient visits, nothing that
    /// fails an asset test. Rows are never mistyped.
    fn modest_facts(&mut self, p: &mut Person, deposits_max: i64) {
        p.noisy = false;
        if p.age >= 18 && self.rng.chance(0.8) {
            let d = self.rng.range(0, deposits_max / 100) * 100;
            p.finance = Some((d, 0, 0));
        }
        for _ in 0..self.rng.below(3) {
            let d = self.some_days_ago(0, 400);
            self.medical(p, MedicalKind::Outpatient, d);
        }
        if p.age >= 45 && self.rng.chance(0.3) {
            let d = self.some_days_ago(0, 300);
            self.medical(p, MedicalKind::Chronic, d);
        }
    }

    fn spell(&mut self, hh: &Household, program: Program, amount: Option<i64>) -> Spell {
        let start = self.some_days_ago(40, 2_000);
        Spell {
            program,
            household: hh.id.clone(),
            region: hh.county_code(),
            start,
            end: None,
            amount,
            mistyped: false,
        }
    }

    /// Running spells of `program` for every living member.
    fn pay_all(&mut self, hh: &mut Household, program: Program, total: Option<i64>) {
        let n = hh.living().max(1) as i64;
        let share = total.map(|t| (t / n).max(1_000));
        let start = self.some_days_ago(40, 2_000);
        let region = hh.county_code();
        for p in hh.members.iter_mut().filter(|p| p.living()) {
            p.spells.push(Spell {
                program,
                household: hh.id.clone(),
                region: region.clone(),
                start,
                end: None,
                amount: share,
                mistyped: false,
            });
        }
    }

    /// A working-age couple with one or two children whose counted income is `share` percent
    /// of the standard per member, with modest assets: the dibao family of policy.md §8.1.
    fn poor_family(&mut self, share_pct: i64) -> Household {
        let rural = Some(self.rng.chance(0.45));
        let mut hh = self.household(rural);
        let age = self.rng.range(30, 50) as i32;
        let (a, b) = self.couple(&mut hh, age);
        // Children under 16: they cannot work and their parents are able obligors.
        let youngest = hh.members[a].age.min(hh.members[b].age);
        for _ in 0..1 + self.rng.below(2) {
            let max = (youngest - 20).clamp(0, 15);
            let kage = self.rng.range(0, i64::from(max)) as i32;
            self.child(&mut hh, (a, b), kage, Relation::Child);
        }
        let n = hh.living() as i64;
        let target = hh.std() * n * share_pct / 100;
        let farming = if hh.rural { target / 3 } else { 0 };
        let head_status = if self.rng.chance(0.6) {
            EmploymentStatus::Flexible
        } else {
            EmploymentStatus::Employed
        };
        hh.members[a].work = Work::Latest(Emp::new(head_status, target - farming));
        if farming > 0 {
            hh.members[a].add_income(IncomeKind::Business, farming);
        }
        hh.members[b].work = Work::Latest(Emp::new(EmploymentStatus::None, 0));
        let limit = hh.std() * 3 * n;
        let hid = hh.id.clone();
        let mut members = std::mem::take(&mut hh.members);
        for p in members.iter_mut() {
            if p.age < 18 {
                self.schooling(p, 1);
            }
            self.modest_facts(p, limit / n);
        }
        if self.rng.chance(0.7) {
            let d = self.some_days_ago(400, 8_000);
            self.property(&mut members[a], &hid, PropertyUsage::Residential, d);
        }
        if hh.rural && self.rng.chance(0.3) {
            let d = self.some_days_ago(200, 4_000);
            let price = self.yuan(6_000, 30_000);
            self.vehicle(&mut members[a], VehicleType::Agricultural, d, price);
        }
        hh.members = members;
        hh.kwh = [0; 3].map(|_| self.rng.range(6_000, 20_000));
        hh
    }

    fn dibao(&mut self, scenario: Scenario) -> Unit {
        use Scenario as S;
        let mut unit = Unit::default();
        let share = self.rng.range(20, 70);
        let mut hh = self.poor_family(share);
        let n = hh.living() as i64;
        let owed = hh.std() * n - hh.income();
        let head = 0;
        let head_id = hh.members[head].id.clone();
        let hid = hh.id.clone();
        match scenario {
            S::DibaoOmission => {
                unit.plant("omission", "dibao", &hid, "", &["income_below_standard"]);
            }
            S::DibaoIncomeAbove => {
                // Stable jobs for both adults; no job start, so no taper.
                let above = hh.std() * n * self.rng.range(130, 200) / 100;
                hh.members[0].incomes.clear();
                hh.members[0].work =
                    Work::Latest(Emp::new(EmploymentStatus::Employed, above * 2 / 3));
                hh.members[1].work =
                    Work::Latest(Emp::new(EmploymentStatus::Flexible, above - above * 2 / 3));
                self.pay_all(&mut hh, Program::Dibao, Some(30_000 * n));
                unit.plant("wrong_inclusion", "dibao", &hid, "", &["income_above"]);
            }
            S::DibaoTaper => {
                // A job started 1-4 months before the latest period lifts income above the line:
                // within taper_months, so it is not a wrong inclusion (渐退).
                self.pay_all(&mut hh, Program::Dibao, Some(owed));
                let wage = hh.std() * n * self.rng.range(120, 180) / 100;
                let since = 1 + self.rng.below(4) as usize;
                let mut history = vec![Emp::new(EmploymentStatus::None, 0); HISTORY_MONTHS];
                for rec in history.iter_mut().skip(HISTORY_MONTHS - since) {
                    *rec = Emp::new(EmploymentStatus::Employed, wage);
                }
                hh.members[1].work = Work::History(history);
            }
            S::DibaoMoney => {
                let limit = 24 * hh.std() * n;
                let deposits = limit + self.yuan(5_000, 60_000);
                hh.members[0].finance = Some((deposits, 0, 0));
                for p in hh.members.iter_mut().skip(1) {
                    p.finance = None;
                }
                self.pay_all(&mut hh, Program::Dibao, Some(owed));
                unit.plant("wrong_inclusion", "dibao", &hid, "", &["money_assets"]);
            }
            S::DibaoVehicle => {
                let recent = self.rng.chance(0.5);
                let d = if recent {
                    self.some_days_ago(5, 80)
                } else {
                    self.some_days_ago(200, 2_000)
                };
                let price = self.yuan(60_000, 160_000);
                let mut tmp = self.scratch_person();
                self.vehicle(&mut tmp, VehicleType::Car, d, price);
                hh.members[0].vehicles.append(&mut tmp.vehicles);
                self.pay_all(&mut hh, Program::Dibao, Some(owed));
                unit.plant("wrong_inclusion", "dibao", &hid, "", &["vehicle"]);
            }
            S::DibaoProperty => {
                let d = self.some_days_ago(100, 3_000);
                let mut tmp = self.scratch_person();
                self.property(&mut tmp, &hid, PropertyUsage::Commercial, d);
                hh.members[0].properties.append(&mut tmp.properties);
                self.pay_all(&mut hh, Program::Dibao, Some(owed));
                unit.plant("wrong_inclusion", "dibao", &hid, "", &["property"]);
            }
            S::DibaoBusiness => {
                let county = hh.region[..6].to_string();
                let code = credit_code(&mut self.rng, &county, false);
                let registered = self.some_days_ago(200, 3_000);
                let capital = self.yuan(200_000, 800_000);
                hh.members[0].businesses.push(Business {
                    code,
                    role: BusinessRole::LegalRep,
                    capital,
                    active: true,
                    registered,
                });
                self.pay_all(&mut hh, Program::Dibao, Some(owed));
                unit.plant("wrong_inclusion", "dibao", &hid, "", &["business"]);
            }
            _ => {
                self.pay_all(&mut hh, Program::Dibao, Some(owed));
                match scenario {
                    S::DibaoTwice => {
                        let extra = self.spell(&hh, Program::Dibao, Some(owed / n));
                        hh.members[head].spells.push(extra);
                        unit.plant(
                            "duplicate",
                            "dibao",
                            &hid,
                            &head_id,
                            &["same_program_twice"],
                        );
                    }
                    S::DibaoMarginalExclusive => {
                        let extra = self.spell(&hh, Program::Marginal, None);
                        hh.members[head].spells.push(extra);
                        unit.plant(
                            "duplicate",
                            "dibao",
                            &hid,
                            &head_id,
                            &["exclusive_programs"],
                        );
                    }
                    S::DibaoTwoIds => {
                        let mut extra = self.spell(&hh, Program::Dibao, Some(owed / n));
                        extra.mistyped = true;
                        hh.members[head].spells.push(extra);
                        unit.plant(
                            "duplicate",
                            "dibao",
                            &hid,
                            &head_id,
                            &["same_program_twice"],
                        );
                    }
                    S::DibaoEmigratedPaid => {
                        // An adult relative who moved out is still on the roster; the others
                        // still qualify without them.
                        let age = self.rng.range(18, 24) as i32;
                        let parents = (0, 1);
                        let c = self.child(&mut hh, parents, age, Relation::Child);
                        let d = self.some_days_ago(60, 400);
                        let p = &mut hh.members[c];
                        p.noisy = false;
                        p.status = PersonStatus::Emigrated;
                        p.status_date = Some(d);
                        let spell = self.spell(&hh, Program::Dibao, Some(owed / n));
                        let cid = hh.members[c].id.clone();
                        hh.members[c].spells.push(spell);
                        unit.plant("wrong_inclusion", "dibao", &hid, &cid, &["emigrated"]);
                    }
                    S::DibaoDeathRecent => {
                        // The head's father, on the roster with them, died recently; his spell
                        // ended on the day of death (death signal, no anomaly).
                        let head_age = hh.members[0].age;
                        let family = Self::surname_of(&hh, 0);
                        let age = head_age + self.rng.range(24, 32) as i32;
                        let f =
                            self.add(&mut hh, age, Gender::Male, Some(&family), Relation::Parent);
                        let died = self.some_days_ago(5, 80);
                        let start = self.some_days_ago(400, 2_000);
                        let region = hh.county_code();
                        let fid = hh.members[f].id.clone();
                        let p = &mut hh.members[f];
                        p.noisy = false;
                        p.status = PersonStatus::Deceased;
                        p.status_date = Some(died);
                        p.spells.push(Spell {
                            program: Program::Dibao,
                            household: hid.clone(),
                            region,
                            start,
                            end: Some(died),
                            amount: Some(owed / n),
                            mistyped: false,
                        });
                        hh.members[0].father = Some(fid);
                    }
                    _ => {
                        // Correctly paid; some with medical or education assistance, some with
                        // a home or small shop registered recently (signals, not anomalies).
                        if self.rng.chance(0.3) {
                            let s = self.spell(&hh, Program::Medical, None);
                            hh.members[0].spells.push(s);
                        }
                        for i in 0..hh.members.len() {
                            if hh.members[i].education.is_some() && self.rng.chance(0.5) {
                                let s = self.spell(&hh, Program::Education, None);
                                hh.members[i].spells.push(s);
                            }
                        }
                        match self.rng.below(20) {
                            0 if hh.members[0].properties.is_empty() => {
                                let d = self.some_days_ago(3, 80);
                                let mut tmp = self.scratch_person();
                                self.property(&mut tmp, &hid, PropertyUsage::Residential, d);
                                hh.members[0].properties.append(&mut tmp.properties);
                            }
                            1 => {
                                let county = hh.region[..6].to_string();
                                let code = credit_code(&mut self.rng, &county, true);
                                let registered = self.some_days_ago(3, 80);
                                let capital = self.yuan(3_000, 10_000);
                                hh.members[1].businesses.push(Business {
                                    code,
                                    role: BusinessRole::SoleProprietor,
                                    capital,
                                    active: true,
                                    registered,
                                });
                            }
                            2 => hh.arrears = self.rng.range(3, 8),
                            _ => {}
                        }
                    }
                }
            }
        }
        unit.households.push(hh);
        unit
    }

    /// A placeholder person to build facts on before moving them to a member.
    fn scratch_person(&self) -> Person {
        Person {
            id: String::new(),
            name: String::new(),
            gender: Gender::Male,
            birth: self.as_of,
            age: 0,
            relation: Relation::Other,
            status: PersonStatus::Normal,
            status_date: None,
            spouse: None,
            father: None,
            mother: None,
            noisy: false,
            work: Work::Nothing,
            incomes: Vec::new(),
            finance: None,
            disability: None,
            medical: Vec::new(),
            properties: Vec::new(),
            vehicles: Vec::new(),
            businesses: Vec::new(),
            education: None,
            care: None,
            spells: Vec::new(),
        }
    }

    /// A person who moved away is still paid dibao for a household number that no longer
    /// exists.
    fn household_not_found(&mut self) -> Unit {
        let mut unit = self.ordinary(Scenario::Couple);
        let Some(hh) = unit.households.first_mut() else {
            return unit;
        };
        let i = hh.members.len() - 1;
        let d = self.some_days_ago(100, 700);
        self.serial += 1;
        let gone = format!("{}{:08}", hh.region, self.serial);
        let start = self.some_days_ago(800, 2_000);
        let region = hh.county_code();
        let p = &mut hh.members[i];
        p.noisy = false;
        p.status = PersonStatus::Emigrated;
        p.status_date = Some(d);
        p.spells.push(Spell {
            program: Program::Dibao,
            household: gone.clone(),
            region,
            start,
            end: None,
            amount: Some(50_000),
            mistyped: false,
        });
        let pid = p.id.clone();
        unit.plant(
            "wrong_inclusion",
            "dibao",
            &gone,
            "",
            &["household_not_found"],
        );
        unit.plant("wrong_inclusion", "dibao", &gone, &pid, &["emigrated"]);
        unit
    }

    fn marginal(&mut self, scenario: Scenario) -> Unit {
        let mut unit = Unit::default();
        let pct = if scenario == Scenario::MarginalIncomeAbove {
            self.rng.range(165, 220)
        } else {
            self.rng.range(110, 140)
        };
        let mut hh = self.poor_family(pct);
        let hid = hh.id.clone();
        self.pay_all(&mut hh, Program::Marginal, None);
        match scenario {
            Scenario::MarginalIncomeAbove => {
                unit.plant("wrong_inclusion", "marginal", &hid, "", &["income_above"]);
            }
            Scenario::SingleRouteA => {
                // The spouse (no income of their own) has a major illness: 单人保 route A.
                let d = self.some_days_ago(5, 80);
                let mut tmp = self.scratch_person();
                self.medical(&mut tmp, MedicalKind::Major, d);
                let p = &mut hh.members[1];
                p.medical.append(&mut tmp.medical);
                p.finance = None;
                let pid = p.id.clone();
                unit.plant("omission", "dibao", &hid, &pid, &["single_person_route"]);
            }
            _ => {}
        }
        unit.households.push(hh);
        unit
    }

    /// An adult with a severe disability, not working, living only with parents aged 60-69
    /// who have pensions: 单人保 route B, not paid.
    fn route_b(&mut self) -> Unit {
        let mut unit = Unit::default();
        let rural = Some(self.rng.chance(0.4));
        let mut hh = self.household(rural);
        let age = self.rng.range(61, 69) as i32;
        let spouse_age = self.rng.range(60, 69) as i32;
        let (a, b) = self.couple_aged(&mut hh, age, spouse_age);
        for i in [a, b] {
            let mut e = Emp::new(EmploymentStatus::Retired, 0);
            e.pension = self.yuan(2_300, 3_000);
            hh.members[i].work = Work::Latest(e);
        }
        let cage = self.rng.range(25, 38) as i32;
        let c = self.child(&mut hh, (a, b), cage, Relation::Child);
        let (category, grade) = if self.rng.chance(0.5) {
            (DisabilityCategory::Physical, DisabilityGrade::One)
        } else {
            (DisabilityCategory::Intellectual, DisabilityGrade::Two)
        };
        let certified = if self.rng.chance(0.3) {
            self.some_days_ago(5, 80)
        } else {
            self.some_days_ago(400, 6_000)
        };
        hh.members[c].disability = Some((category, grade, certified));
        hh.members[c].work = Work::Latest(Emp::new(EmploymentStatus::None, 0));
        let allowance = self.yuan(80, 200);
        hh.members[c].add_income(IncomeKind::Exempt, allowance);
        let hid = hh.id.clone();
        let limit = hh.std() * 3;
        let mut members = std::mem::take(&mut hh.members);
        for p in members.iter_mut() {
            self.modest_facts(p, limit);
        }
        members[c].finance = None;
        hh.members = members;
        let pid = hh.members[c].id.clone();
        unit.plant("omission", "dibao", &hid, &pid, &["single_person_route"]);
        unit.households.push(hh);
        unit
    }

    /// An old person living alone with a pension below the standard.
    fn elder_alone(&mut self, lo: i32, hi: i32) -> (Household, usize) {
        let rural = Some(self.rng.chance(0.5));
        let mut hh = self.household(rural);
        let age = self.rng.range(i64::from(lo), i64::from(hi)) as i32;
        let g = self.gender();
        let p = self.add(&mut hh, age, g, None, Relation::Head);
        let pension_max = hh.std() * 7 / 10 / 100;
        let mut e = Emp::new(EmploymentStatus::None, 0);
        e.pension = self.yuan(100, pension_max);
        hh.members[p].work = Work::Latest(e);
        if age >= 80 {
            let a = self.yuan(100, 300);
            hh.members[p].add_income(IncomeKind::Exempt, a);
        }
        let mut person = std::mem::replace(&mut hh.members[p], self.scratch_person());
        self.modest_facts(&mut person, hh.std() * 10);
        hh.members[p] = person;
        if self.rng.chance(0.5) {
            // A spouse who died years ago is still in the household register.
            let other = if g == Gender::Male {
                Gender::Female
            } else {
                Gender::Male
            };
            let sage = age + self.rng.range(-3, 3) as i32;
            let s = self.add(&mut hh, sage, other, None, Relation::Spouse);
            Self::marry(&mut hh, p, s);
            let d = self.some_days_ago(400, 5_000);
            hh.members[s].status = PersonStatus::Deceased;
            hh.members[s].status_date = Some(d);
            hh.members[s].noisy = false;
        }
        if age >= 70 && self.rng.chance(0.6) {
            let care = if self.rng.chance(0.7) {
                SelfCare::Partial
            } else {
                SelfCare::None
            };
            let d = self.some_days_ago(30, 700);
            hh.members[p].care = Some((care, d));
        }
        if age >= 75 && self.rng.chance(0.3) {
            hh.kwh = [0; 3].map(|_| self.rng.range(50, 480));
        } else {
            hh.kwh = [0; 3].map(|_| self.rng.range(1_500, 9_000));
        }
        (hh, p)
    }

    fn tekun_amount(hh: &Household, p: &Person) -> i64 {
        let share = match p.care.map(|c| c.0) {
            Some(SelfCare::Partial) => CARE_SHARE[1],
            Some(SelfCare::None) => CARE_SHARE[2],
            _ => CARE_SHARE[0],
        };
        hh.std() * 13 / 10 + share
    }

    fn tekun(&mut self, scenario: Scenario) -> Unit {
        use Scenario as S;
        let mut unit = Unit::default();
        if scenario == S::TekunWorkCapacity {
            // A working-age person on the 特困 roster who earns above the standard.
            let rural = Some(self.rng.chance(0.5));
            let mut hh = self.household(rural);
            let age = self.rng.range(40, 55) as i32;
            let g = self.gender();
            let p = self.add(&mut hh, age, g, None, Relation::Head);
            let wage = hh.std() * self.rng.range(165, 200) / 100;
            hh.members[p].work = Work::Latest(Emp::new(EmploymentStatus::Employed, wage));
            let mut person = std::mem::replace(&mut hh.members[p], self.scratch_person());
            self.modest_facts(&mut person, hh.std() * 5);
            hh.members[p] = person;
            let s = self.spell(&hh, Program::Tekun, Some(hh.std() * 13 / 10));
            hh.members[p].spells.push(s);
            let (hid, pid) = (hh.id.clone(), hh.members[p].id.clone());
            unit.plant(
                "wrong_inclusion",
                "tekun",
                &hid,
                &pid,
                &["income_above", "work_capacity"],
            );
            unit.households.push(hh);
            return unit;
        }
        let (mut hh, p) = if scenario == S::TekunAbleObligor {
            self.elder_alone(65, 79)
        } else {
            self.elder_alone(62, 95)
        };
        let amount = Self::tekun_amount(&hh, &hh.members[p]);
        let (hid, pid) = (hh.id.clone(), hh.members[p].id.clone());
        match scenario {
            S::TekunPaid => {
                let s = self.spell(&hh, Program::Tekun, Some(amount));
                hh.members[p].spells.push(s);
            }
            S::TekunOmission => {
                unit.plant("omission", "tekun", &hid, &pid, &["tekun_conditions_met"]);
            }
            S::TekunDeceasedPaid => {
                let s = self.spell(&hh, Program::Tekun, Some(amount));
                let died = if self.rng.chance(0.5) {
                    self.some_days_ago(5, 80)
                } else {
                    self.some_days_ago(100, 300)
                };
                let person = &mut hh.members[p];
                person.spells.push(s);
                person.status = PersonStatus::Deceased;
                person.status_date = Some(died);
                unit.plant("wrong_inclusion", "tekun", &hid, &pid, &["deceased"]);
            }
            S::TekunAbleObligor => {
                // A son or daughter with a good wage lives in another household: an able
                // obligor, so not 特困; and with a low pension the household is a dibao case.
                let s = self.spell(&hh, Program::Tekun, Some(amount));
                hh.members[p].spells.push(s);
                let mut child_hh = self.household(Some(hh.rural));
                let cage = (hh.members[p].age - self.rng.range(24, 32) as i32).max(30);
                let g = self.gender();
                let family = Self::surname_of(&hh, p);
                let c = self.add(
                    &mut child_hh,
                    cage,
                    g,
                    if hh.members[p].gender == Gender::Male {
                        Some(&family)
                    } else {
                        None
                    },
                    Relation::Head,
                );
                if hh.members[p].gender == Gender::Male {
                    child_hh.members[c].father = Some(pid.clone());
                } else {
                    child_hh.members[c].mother = Some(pid.clone());
                }
                self.finish_ordinary(&mut child_hh);
                // Whatever the ordinary draw gave, the child earns well and is easy to link.
                let wage = self.yuan(5_000, 12_000);
                let child = &mut child_hh.members[c];
                child.work = Work::Latest(Emp::new(EmploymentStatus::Employed, wage));
                child.noisy = false;
                unit.plant("wrong_inclusion", "tekun", &hid, &pid, &["able_obligor"]);
                unit.plant("omission", "dibao", &hid, "", &["income_below_standard"]);
                unit.households.push(hh);
                unit.households.push(child_hh);
                return unit;
            }
            _ => {}
        }
        unit.households.push(hh);
        unit
    }

    /// A child whose parents died, living with grandparents aged 70 or more: 特困 (no able
    /// obligor) and the child_unsupported signal.
    fn orphan(&mut self, paid: bool) -> Unit {
        let mut unit = Unit::default();
        let rural = Some(self.rng.chance(0.6));
        let mut hh = self.household(rural);
        let age = self.rng.range(70, 82) as i32;
        let spouse_age = self.rng.range(70, 82) as i32;
        let (a, b) = self.couple_aged(&mut hh, age, spouse_age);
        let (gf, gm) = if hh.members[a].gender == Gender::Male {
            (a, b)
        } else {
            (b, a)
        };
        for i in [a, b] {
            let mut e = Emp::new(EmploymentStatus::Retired, 0);
            e.pension = hh.std() * self.rng.range(115, 150) / 100;
            hh.members[i].work = Work::Latest(e);
        }
        let page = self.rng.range(30, 42) as i32;
        let parent = self.child(&mut hh, (gf, gm), page, Relation::Child);
        let other_g = if hh.members[parent].gender == Gender::Male {
            Gender::Female
        } else {
            Gender::Male
        };
        let in_law = self.add(&mut hh, page, other_g, None, Relation::Other);
        Self::marry(&mut hh, parent, in_law);
        let kage = self.rng.range(4, 14) as i32;
        let k = self.child(&mut hh, (parent, in_law), kage, Relation::Grandchild);
        for i in [parent, in_law] {
            let d = self.some_days_ago(300, 2_000);
            hh.members[i].status = PersonStatus::Deceased;
            hh.members[i].status_date = Some(d);
        }
        let limit = hh.std() * 5;
        let mut members = std::mem::take(&mut hh.members);
        for p in members.iter_mut() {
            self.modest_facts(p, limit);
        }
        let mut kid = std::mem::replace(&mut members[k], self.scratch_person());
        self.schooling(&mut kid, 1);
        kid.finance = None;
        members[k] = kid;
        hh.members = members;
        let (hid, pid) = (hh.id.clone(), hh.members[k].id.clone());
        if paid {
            let amount = Self::tekun_amount(&hh, &hh.members[k]);
            let s = self.spell(&hh, Program::Tekun, Some(amount));
            hh.members[k].spells.push(s);
        } else {
            unit.plant("omission", "tekun", &hid, &pid, &["tekun_conditions_met"]);
        }
        unit.households.push(hh);
        unit
    }

    /// Income between 1.5 × the standard and the local disposable income, but large medical
    /// and school costs: 刚性支出困难, paid.
    fn rigid(&mut self) -> Unit {
        let mut unit = Unit::default();
        let pct = self.rng.range(155, 185);
        let mut hh = self.poor_family(pct);
        let n = hh.living() as i64;
        let income = hh.income();
        let tuition: i64 = hh
            .members
            .iter()
            .filter_map(|p| p.education.map(|e| e.1))
            .sum();
        let earlier_oop: i64 = hh
            .members
            .iter()
            .flat_map(|p| p.medical.iter())
            .filter(|m| m.date > self.as_of.add_months(-12))
            .map(|m| m.oop)
            .sum();
        let needed = income * 12 * 8 / 10 - hh.std() * n * 12 - tuition - earlier_oop;
        let oop = needed.max(0) + self.yuan(8_000, 30_000);
        let total = oop * 100 / 35;
        let d = self.some_days_ago(20, 300);
        hh.members[0].medical.push(Medical {
            date: d,
            total,
            fund: total - oop,
            oop,
            kind: MedicalKind::Inpatient,
            diagnosis: "C50.9",
        });
        self.pay_all(&mut hh, Program::RigidExpense, None);
        unit.households.push(hh);
        unit
    }

    // ---- writing ------------------------------------------------------------------------------

    fn write(
        &mut self,
        unit: Unit,
        batch: &mut Batch,
        counts: &mut Counts,
    ) -> Result<(), SynthError> {
        for hh in &unit.households {
            counts.households += 1;
            for p in &hh.members {
                counts.persons += 1;
                let cells = vec![
                    Cell::Text(p.id.clone()),
                    Cell::Text(p.name.clone()),
                    code!(p.gender),
                    Cell::Date(p.birth),
                    Cell::Text(hh.id.clone()),
                    code!(p.relation),
                    Cell::Text(hh.region.clone()),
                    Cell::Text(hh.address.clone()),
                    code!(p.status),
                    p.status_date.map_or(Cell::Empty, Cell::Date),
                    p.spouse.clone().map_or(Cell::Empty, Cell::Text),
                    p.father.clone().map_or(Cell::Empty, Cell::Text),
                    p.mother.clone().map_or(Cell::Empty, Cell::Text),
                ];
                batch.population(cells, p.noisy)?;
            }
            for (i, p) in hh.members.iter().enumerate() {
                self.write_person(hh, i == 0, p, batch)?;
            }
        }
        for a in &unit.anomalies {
            batch.anomaly(a.kind, a.program, &a.household, &a.person, &a.reasons)?;
        }
        Ok(())
    }

    fn write_person(
        &mut self,
        hh: &Household,
        holder: bool,
        p: &Person,
        batch: &mut Batch,
    ) -> Result<(), SynthError> {
        let who = Who {
            id: &p.id,
            name: &p.name,
            birth: p.birth,
            noisy: p.noisy,
        };
        let money = |v: i64| if v > 0 { Cell::Money(v) } else { Cell::Empty };
        for s in &p.spells {
            let body = vec![
                Cell::Text(s.household.clone()),
                code!(s.program),
                Cell::Text(s.region.clone()),
                Cell::Date(s.start),
                s.end.map_or(Cell::Empty, Cell::Date),
                s.amount.map_or(Cell::Empty, Cell::Money),
            ];
            if s.mistyped {
                let kind = *self.rng.pick(&[
                    IdNoise::ChangedDigit,
                    IdNoise::SwappedPair,
                    IdNoise::WrongCheck,
                ]);
                batch.mistyped(Feed::Assistance, &who, body, kind)?;
            } else {
                batch.record(Feed::Assistance, &who, body)?;
            }
        }
        if let Some((category, grade, certified)) = p.disability {
            batch.record(
                Feed::Disability,
                &who,
                vec![code!(category), code!(grade), Cell::Date(certified)],
            )?;
        }
        let emp_row = |m: Month, e: &Emp| {
            vec![
                Cell::Period(m),
                code!(e.status),
                money(e.wage),
                money(e.pension),
                money(e.benefit),
            ]
        };
        match &p.work {
            Work::Nothing => {}
            Work::Latest(e) => batch.record(Feed::Employment, &who, emp_row(self.latest, e))?,
            Work::History(h) => {
                let first = shift(self.latest, 1 - h.len() as i32);
                for (k, e) in h.iter().enumerate() {
                    batch.record(Feed::Employment, &who, emp_row(shift(first, k as i32), e))?;
                }
            }
        }
        for m in &p.medical {
            batch.record(
                Feed::Medical,
                &who,
                vec![
                    Cell::Date(m.date),
                    Cell::Money(m.total),
                    Cell::Money(m.fund),
                    Cell::Money(m.oop),
                    code!(m.kind),
                    Cell::Text(m.diagnosis.to_string()),
                ],
            )?;
        }
        for r in &p.properties {
            batch.record(
                Feed::RealEstate,
                &who,
                vec![
                    Cell::Text(r.id.clone()),
                    code!(r.usage),
                    Cell::Decimal(r.area),
                    Cell::Date(r.registered),
                    r.cancelled.map_or(Cell::Empty, Cell::Date),
                ],
            )?;
        }
        for v in &p.vehicles {
            batch.record(
                Feed::Vehicles,
                &who,
                vec![
                    Cell::Text(v.plate.clone()),
                    code!(v.kind),
                    Cell::Date(v.registered),
                    v.cancelled.map_or(Cell::Empty, Cell::Date),
                    Cell::Money(v.price),
                ],
            )?;
        }
        for b in &p.businesses {
            let status = if b.active {
                domain::BusinessStatus::Active
            } else {
                domain::BusinessStatus::Cancelled
            };
            batch.record(
                Feed::Business,
                &who,
                vec![
                    Cell::Text(b.code.clone()),
                    code!(b.role),
                    Cell::Money(b.capital),
                    code!(status),
                    Cell::Date(b.registered),
                ],
            )?;
        }
        if let Some((deposits, securities, other)) = p.finance {
            let d = self.as_of.add_days(-(self.rng.below(45) as i32));
            batch.record(
                Feed::Finance,
                &who,
                vec![
                    Cell::Date(d),
                    Cell::Money(deposits),
                    money(securities),
                    money(other),
                ],
            )?;
        }
        if let Some((level, tuition)) = p.education {
            batch.record(
                Feed::Education,
                &who,
                vec![
                    Cell::Text(self.school_year.clone()),
                    code!(level),
                    Cell::Money(tuition),
                ],
            )?;
        }
        if holder && p.living() {
            for k in 0..3 {
                let arrears = (hh.arrears - (2 - k as i64)).max(0);
                batch.record(
                    Feed::Utilities,
                    &who,
                    vec![
                        Cell::Period(shift(self.latest, k as i32 - 2)),
                        Cell::Decimal(hh.kwh[k]),
                        Cell::Decimal(hh.water[k]),
                        Cell::Integer(arrears),
                    ],
                )?;
            }
        }
        for (kind, amount) in &p.incomes {
            batch.record(
                Feed::Income,
                &who,
                vec![
                    Cell::Period(self.latest),
                    code!(*kind),
                    Cell::Money(*amount),
                ],
            )?;
        }
        if let Some((care, d)) = p.care {
            batch.record(Feed::Care, &who, vec![code!(care), Cell::Date(d)])?;
        }
        Ok(())
    }
}
