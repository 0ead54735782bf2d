//! Deriving the base facts ([`PersonFacts`]) of a household's persons from typed feed records
//! at an as-of date A, following policy.md §2 and §9 to the letter:
//!
//! - monthly records count when their period is A's month or one of the
//!   `income_lookback_months − 1` months before; of those the latest period is used, and of two
//!   rows for the same person and period (or kind and period, `as_of`, school year) the later
//!   row in the file wins;
//! - "recent" is the `recent_days` ending on A; "the 12 months before A" runs from the day after
//!   the same day 12 months earlier (clamped to the month end) to A;
//! - disability: the lowest grade certified on or before A, on a tie the latest certificate.
//!
//! The rows are the feed rows of the household's members, their linked relatives and the
//! holders of spells naming the household, in file order. This module is pure: the as-of date
//! and the windows are arguments.

use domain::{
    BusinessStatus, Date, DisabilityCategory, EmploymentStatus, Fen, IncomeKind, MedicalKind,
    Month, PersonStatus, Program, PropertyUsage, RegionCode, Relation, SelfCare, ShortText,
    VehicleType, age_on,
};

use crate::eval::HouseholdInput;
use crate::facts::{CareLevel, Home, NEVER, PersonFacts, PersonKey, RunningSpell};
use crate::pack::{Pack, Resolved};

/// A population row.
#[derive(Debug, Clone, PartialEq)]
pub struct PopulationRow {
    /// The person.
    pub person: PersonKey,
    /// Birth date.
    pub birth_date: Date,
    /// Household.
    pub household_id: String,
    /// Relation to the head.
    pub relation: Relation,
    /// Region.
    pub region: RegionCode,
    /// Status.
    pub status: PersonStatus,
    /// Status date.
    pub status_date: Option<Date>,
    /// Spouse link.
    pub spouse: Option<PersonKey>,
    /// Father link.
    pub father: Option<PersonKey>,
    /// Mother link.
    pub mother: Option<PersonKey>,
}

/// An assistance spell.
#[derive(Debug, Clone, PartialEq)]
pub struct SpellRow {
    /// The person.
    pub person: PersonKey,
    /// The assistance household id.
    pub household_id: String,
    /// The program.
    pub program: Program,
    /// Start.
    pub start_date: Date,
    /// End, empty while running.
    pub end_date: Option<Date>,
}

/// A disability certificate.
#[derive(Debug, Clone, PartialEq)]
pub struct DisabilityRow {
    /// The person.
    pub person: PersonKey,
    /// Category.
    pub category: DisabilityCategory,
    /// Grade 1-4.
    pub grade: u8,
    /// Certified on.
    pub certified_date: Date,
}

/// A monthly employment row.
#[derive(Debug, Clone, PartialEq)]
pub struct EmploymentRow {
    /// The person.
    pub person: PersonKey,
    /// Period.
    pub period: Month,
    /// Status.
    pub status: EmploymentStatus,
    /// Wage.
    pub monthly_wage: Fen,
    /// Pension.
    pub pension: Fen,
    /// Unemployment benefit.
    pub unemployment_benefit: Fen,
}

/// A medical settlement.
#[derive(Debug, Clone, PartialEq)]
pub struct MedicalRow {
    /// The person.
    pub person: PersonKey,
    /// Settled on.
    pub settled_date: Date,
    /// Out of pocket.
    pub out_of_pocket: Fen,
    /// Kind.
    pub kind: MedicalKind,
}

/// A real-estate row.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyRow {
    /// The person.
    pub person: PersonKey,
    /// Property unit id.
    pub property_id: String,
    /// Usage.
    pub usage: PropertyUsage,
    /// Area, hundredths of m².
    pub area_centi_m2: i64,
    /// Registered on.
    pub registered_date: Date,
    /// Cancelled on.
    pub cancelled_date: Option<Date>,
}

/// A vehicle row.
#[derive(Debug, Clone, PartialEq)]
pub struct VehicleRow {
    /// The person.
    pub person: PersonKey,
    /// Type.
    pub vehicle_type: VehicleType,
    /// Registered on.
    pub registered_date: Date,
    /// Cancelled on.
    pub cancelled_date: Option<Date>,
}

/// A business row.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessRow {
    /// The person.
    pub person: PersonKey,
    /// Registered capital.
    pub registered_capital: Option<Fen>,
    /// Status.
    pub status: BusinessStatus,
    /// Registered on.
    pub registered_date: Date,
}

/// A finance row.
#[derive(Debug, Clone, PartialEq)]
pub struct FinanceRow {
    /// The person.
    pub person: PersonKey,
    /// Query date.
    pub as_of: Date,
    /// Deposits.
    pub deposits: Fen,
    /// Securities.
    pub securities: Fen,
    /// Other assets.
    pub other_assets: Fen,
}

/// An education row.
#[derive(Debug, Clone, PartialEq)]
pub struct EducationRow {
    /// The person.
    pub person: PersonKey,
    /// School year as written (`2026-2027`).
    pub school_year: String,
    /// Annual tuition.
    pub annual_tuition: Option<Fen>,
}

/// A monthly utilities row.
#[derive(Debug, Clone, PartialEq)]
pub struct UtilityRow {
    /// The person.
    pub person: PersonKey,
    /// Period.
    pub period: Month,
    /// Electricity, hundredths of kWh.
    pub electricity_centi_kwh: Option<i64>,
    /// Arrears months.
    pub arrears_months: i64,
}

/// A monthly income row.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomeRow {
    /// The person.
    pub person: PersonKey,
    /// Period.
    pub period: Month,
    /// Kind.
    pub kind: IncomeKind,
    /// Amount.
    pub monthly_amount: Fen,
}

/// A care assessment.
#[derive(Debug, Clone, PartialEq)]
pub struct CareRow {
    /// The person.
    pub person: PersonKey,
    /// Self-care ability.
    pub self_care: SelfCare,
    /// Assessed on.
    pub assessed_date: Date,
}

/// The rows of every feed, each in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Records {
    /// Population.
    pub population: Vec<PopulationRow>,
    /// Assistance spells.
    pub assistance: Vec<SpellRow>,
    /// Disability.
    pub disability: Vec<DisabilityRow>,
    /// Employment.
    pub employment: Vec<EmploymentRow>,
    /// Medical.
    pub medical: Vec<MedicalRow>,
    /// Real estate.
    pub real_estate: Vec<PropertyRow>,
    /// Vehicles.
    pub vehicles: Vec<VehicleRow>,
    /// Business.
    pub business: Vec<BusinessRow>,
    /// Finance.
    pub finance: Vec<FinanceRow>,
    /// Education.
    pub education: Vec<EducationRow>,
    /// Utilities.
    pub utilities: Vec<UtilityRow>,
    /// Income.
    pub income: Vec<IncomeRow>,
    /// Care.
    pub care: Vec<CareRow>,
}

/// The windows the reading rules use (from the pack's parameters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    /// `income_lookback_months`.
    pub lookback_months: i32,
    /// `recent_days`.
    pub recent_days: i32,
}

impl Default for Windows {
    fn default() -> Self {
        Windows {
            lookback_months: 12,
            recent_days: 90,
        }
    }
}

impl Windows {
    /// The windows of the parameter set in force for a region at a date.
    pub fn from_pack(pack: &Pack, region: RegionCode, as_of: Date) -> Option<Windows> {
        let (_, values) = pack.params_for(region, as_of)?;
        let get = |name: &str| match pack.param(name).and_then(|i| values.get(i)) {
            Some(Resolved::Num(n)) => i32::try_from(n.round()).ok(),
            _ => None,
        };
        Some(Windows {
            lookback_months: get("income_lookback_months")?,
            recent_days: get("recent_days")?,
        })
    }
}

fn in_recent(d: Date, as_of: Date, w: Windows) -> bool {
    d <= as_of && d >= as_of.add_days(-(w.recent_days - 1))
}

/// The 12 months before `end`: after the same day 12 months earlier, up to and including `end`.
fn in_year_before(d: Date, end: Date) -> bool {
    d <= end && d > end.add_months(-12)
}

fn months_ago(period: Month, as_of: Date) -> i64 {
    i64::from(as_of.month().index() - period.index())
}

fn in_lookback(period: Month, as_of: Date, w: Windows) -> bool {
    let ago = months_ago(period, as_of);
    ago >= 0 && ago < i64::from(w.lookback_months)
}

/// The latest row by `key` among `rows`; on equal keys the later row in the file wins.
fn latest<'r, T, K: Ord>(rows: impl Iterator<Item = &'r T>, key: impl Fn(&T) -> K) -> Option<&'r T>
where
    T: 'r,
{
    let mut best: Option<&T> = None;
    for r in rows {
        if best.is_none_or(|b| key(r) >= key(b)) {
            best = Some(r);
        }
    }
    best
}

fn school_year_contains(text: &str, d: Date) -> bool {
    let Some((a, b)) = text.split_once('-') else {
        return false;
    };
    let (Ok(y1), Ok(y2)) = (a.trim().parse::<i32>(), b.trim().parse::<i32>()) else {
        return false;
    };
    if y2 != y1 + 1 || a.trim().len() != 4 || b.trim().len() != 4 {
        return false;
    }
    match (Date::from_ymd(y1, 9, 1), Date::from_ymd(y2, 8, 31)) {
        (Some(from), Some(to)) => from <= d && d <= to,
        _ => false,
    }
}

fn most_severe<'r>(rows: impl Iterator<Item = &'r DisabilityRow>) -> Option<&'r DisabilityRow> {
    // Lowest grade; on a tie the latest certificate; on a full tie the later row.
    latest(rows, |r| (std::cmp::Reverse(r.grade), r.certified_date))
}

/// The base facts of one person at `as_of` from the records.
pub fn person_facts(
    records: &Records,
    person: &PersonKey,
    as_of: Date,
    w: Windows,
) -> Option<PersonFacts> {
    let pop = records.population.iter().find(|p| &p.person == person)?;
    let mine = |p: &PersonKey| p == person;
    let mut f = PersonFacts {
        id: person.clone(),
        household_id: pop.household_id.as_str().into(),
        region: Some(pop.region),
        relation: pop.relation,
        status: pop.status,
        status_recent: pop.status_date.is_some_and(|d| in_recent(d, as_of, w)),
        spouse: pop.spouse.clone(),
        father: pop.father.clone(),
        mother: pop.mother.clone(),
        age: i64::from(age_on(pop.birth_date, as_of)),
        ..PersonFacts::default()
    };

    // Disability.
    if let Some(d) = most_severe(
        records
            .disability
            .iter()
            .filter(|r| mine(&r.person) && r.certified_date <= as_of),
    ) {
        f.disability_grade = d.grade;
        f.disability_category = Some(d.category);
    }
    if let Some(d) = most_severe(
        records
            .disability
            .iter()
            .filter(|r| mine(&r.person) && in_recent(r.certified_date, as_of, w)),
    ) {
        f.recent_disability_grade = d.grade;
        f.recent_disability_category = Some(d.category);
    }

    // Employment: the latest period in the lookback; the record before it; job starts.
    let emp: Vec<&EmploymentRow> = records
        .employment
        .iter()
        .filter(|r| mine(&r.person) && months_ago(r.period, as_of) >= 0)
        .collect();
    let mut income = Fen(0);
    if let Some(e) = latest(
        emp.iter()
            .copied()
            .filter(|r| in_lookback(r.period, as_of, w)),
        |r| r.period,
    ) {
        f.employment_status = Some(e.status);
        f.employment_months_ago = months_ago(e.period, as_of);
        income = income + e.monthly_wage + e.pension + e.unemployment_benefit;
        f.previous_employment_status =
            latest(emp.iter().copied().filter(|r| r.period < e.period), |r| {
                r.period
            })
            .map(|r| r.status);
    }
    // One status per period (the later row wins), in period order.
    let mut periods: Vec<(Month, EmploymentStatus)> = Vec::new();
    for r in &emp {
        match periods.iter_mut().find(|(p, _)| *p == r.period) {
            Some(slot) => slot.1 = r.status,
            None => periods.push((r.period, r.status)),
        }
    }
    periods.sort_by_key(|(p, _)| *p);
    for pair in periods.windows(2) {
        let (prev, cur) = (pair[0].1, pair[1].1);
        if matches!(cur, EmploymentStatus::Employed | EmploymentStatus::Flexible)
            && matches!(prev, EmploymentStatus::Unemployed | EmploymentStatus::None)
        {
            f.job_start_months_ago = months_ago(pair[1].0, as_of);
        }
    }

    // Other income: per non-exempt kind, the latest period in the lookback.
    for kind in IncomeKind::ALL
        .iter()
        .copied()
        .filter(|k| *k != IncomeKind::Exempt)
    {
        if let Some(r) = latest(
            records
                .income
                .iter()
                .filter(|r| mine(&r.person) && r.kind == kind && in_lookback(r.period, as_of, w)),
            |r| r.period,
        ) {
            income += r.monthly_amount;
        }
    }
    f.income = income;

    // Money.
    if let Some(r) = latest(
        records
            .finance
            .iter()
            .filter(|r| mine(&r.person) && r.as_of <= as_of),
        |r| r.as_of,
    ) {
        f.financial_assets = r.deposits + r.securities + r.other_assets;
    }
    let mut capitals = Vec::new();
    for b in records
        .business
        .iter()
        .filter(|r| mine(&r.person) && r.status == BusinessStatus::Active)
    {
        if b.registered_date <= as_of {
            capitals.push(b.registered_capital.unwrap_or(Fen(0)));
        }
        if in_recent(b.registered_date, as_of, w) {
            f.business_recent = true;
        }
    }
    f.business_capitals = capitals.into();

    // Education.
    if let Some(r) = latest(
        records
            .education
            .iter()
            .filter(|r| mine(&r.person) && school_year_contains(&r.school_year, as_of)),
        |_| 0,
    ) {
        f.student = true;
        f.tuition = r.annual_tuition.unwrap_or(Fen(0));
    }

    // Medical.
    let recent_start = as_of.add_days(-(w.recent_days - 1));
    let before_end = recent_start.add_days(-1);
    for m in records.medical.iter().filter(|r| mine(&r.person)) {
        if in_year_before(m.settled_date, as_of) {
            f.medical_oop_12m += m.out_of_pocket;
            match m.kind {
                MedicalKind::Major => f.major_12m = true,
                MedicalKind::Chronic => f.chronic_12m = true,
                _ => {}
            }
        }
        if m.kind == MedicalKind::Major {
            if in_recent(m.settled_date, as_of, w) {
                f.major_recent = true;
            }
            if in_year_before(m.settled_date, before_end) {
                f.major_before_recent = true;
            }
        }
    }

    // Care.
    if let Some(c) = latest(
        records
            .care
            .iter()
            .filter(|r| mine(&r.person) && r.assessed_date <= as_of),
        |r| r.assessed_date,
    ) {
        f.care_level = match c.self_care {
            SelfCare::Full => CareLevel::Myself,
            SelfCare::Partial => CareLevel::Partial,
            SelfCare::None => CareLevel::Full,
        };
    }

    // Spells.
    let running_on = |s: &SpellRow, d: Date| s.start_date <= d && s.end_date.is_none_or(|e| e >= d);
    let (mut running, mut at_death) = (Vec::new(), Vec::new());
    for s in records.assistance.iter().filter(|r| mine(&r.person)) {
        if running_on(s, as_of) {
            running.push(RunningSpell {
                program: s.program,
                household_id: ShortText::new(&s.household_id),
            });
        }
        if let Some(d) = pop.status_date
            && pop.status == PersonStatus::Deceased
            && running_on(s, d)
            && !at_death.contains(&s.program)
        {
            at_death.push(s.program);
        }
    }
    f.running = running.into();
    f.running_at_death = at_death.into();

    // Vehicles and property.
    let active =
        |reg: Date, cancelled: Option<Date>| reg <= as_of && cancelled.is_none_or(|c| c > as_of);
    let (mut active_types, mut recent_types) = (Vec::new(), Vec::new());
    for v in records.vehicles.iter().filter(|r| mine(&r.person)) {
        if active(v.registered_date, v.cancelled_date) && !active_types.contains(&v.vehicle_type) {
            active_types.push(v.vehicle_type);
        }
        if in_recent(v.registered_date, as_of, w) && !recent_types.contains(&v.vehicle_type) {
            recent_types.push(v.vehicle_type);
        }
    }
    f.active_vehicle_types = active_types.into();
    f.recent_vehicle_types = recent_types.into();
    let mut homes: Vec<Home> = Vec::new();
    for p in records.real_estate.iter().filter(|r| mine(&r.person)) {
        if active(p.registered_date, p.cancelled_date) {
            if p.usage == PropertyUsage::Residential {
                match homes.iter_mut().find(|h| h.property == p.property_id) {
                    Some(h) => h.area_centi_m2 = p.area_centi_m2,
                    None => homes.push(Home {
                        property: ShortText::new(&p.property_id),
                        area_centi_m2: p.area_centi_m2,
                    }),
                }
            } else {
                f.nonresidential_property = true;
            }
        }
        if in_recent(p.registered_date, as_of, w) {
            f.property_recent = true;
        }
    }
    f.homes = homes.into();

    // Utilities.
    let util = || {
        records
            .utilities
            .iter()
            .filter(|r| mine(&r.person) && in_lookback(r.period, as_of, w))
    };
    if let Some(u) = latest(util(), |r| r.period) {
        f.utility_arrears_months = u.arrears_months;
        f.utility_months_ago = months_ago(u.period, as_of);
    }
    if let Some(u) = latest(util().filter(|r| r.electricity_centi_kwh.is_some()), |r| {
        r.period
    }) {
        f.electricity_centi_kwh = u.electricity_centi_kwh.unwrap_or(0);
        f.electricity_months_ago = months_ago(u.period, as_of);
    }
    Some(f)
}

/// The evaluator's input for one household: its members (any status), their linked relatives
/// elsewhere, and the holders of spells naming the household.
pub fn household_input(
    records: &Records,
    household_id: &str,
    as_of: Date,
    w: Windows,
) -> HouseholdInput {
    let members: Vec<&PopulationRow> = records
        .population
        .iter()
        .filter(|p| p.household_id == household_id)
        .collect();
    let mut other_keys: Vec<&PersonKey> = Vec::new();
    for m in &members {
        for link in [&m.spouse, &m.father, &m.mother].into_iter().flatten() {
            other_keys.push(link);
        }
    }
    for p in &records.population {
        let linked = members.iter().any(|m| {
            p.spouse.as_ref() == Some(&m.person)
                || p.father.as_ref() == Some(&m.person)
                || p.mother.as_ref() == Some(&m.person)
        });
        if linked {
            other_keys.push(&p.person);
        }
    }
    for s in records
        .assistance
        .iter()
        .filter(|s| s.household_id == household_id)
    {
        other_keys.push(&s.person);
    }
    let mut others: Vec<PersonFacts> = Vec::new();
    for k in other_keys {
        if members.iter().any(|m| &m.person == k) || others.iter().any(|o| &o.id == k) {
            continue;
        }
        if let Some(f) = person_facts(records, k, as_of, w) {
            others.push(f);
        }
    }
    HouseholdInput {
        household_id: household_id.to_owned(),
        members: members
            .iter()
            .filter_map(|m| person_facts(records, &m.person, as_of, w))
            .collect(),
        others,
    }
}

/// Months-ago value for absent records, re-exported for callers building facts themselves.
pub const ABSENT: i64 = NEVER;
