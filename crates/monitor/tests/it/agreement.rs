//! Agreement: a random city of 20,000 persons screened in batch. The batch's facts equal a
//! straightforward reading of policy.md §2 and §9 over the same rows, person by person; and the
//! batch's results equal the pure evaluator's on those independently derived facts, household
//! by household.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use domain::{
    DisabilityCategory, EmploymentStatus, Fen, Month, PersonStatus, Program, RegionCode, Relation,
    VehicleType, age_on,
};
use monitor::policy::eval::{Evaluation, HouseholdInput, Options, evaluate};
use monitor::policy::facts::{CareLevel, Home, PersonFacts, PersonKey, RunningSpell};
use monitor::policy::pack::Pack;
use monitor::{Feed, RunOptions, Windows};

use crate::fixture::{City, date, id};

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

/// The (column, value) pairs of one row.
type Cols = Vec<(String, String)>;

/// One generated row: its feed and its columns, in file order.
type Row = (Feed, Cols);

fn yuan(r: &mut Rng, max: u64) -> String {
    format!("{}.{:02}", r.below(max), r.below(100))
}

fn day(r: &mut Rng, from: &str, span: i32) -> String {
    date(from).add_days(r.below(span as u64) as i32).to_string()
}

fn month(r: &mut Rng) -> String {
    // 2025-03 … 2026-08: some outside the lookback, some after A's month.
    (Month::parse("2025-03").expect("month") + r.below(18) as i32).to_string()
}

struct Generated {
    rows: Vec<Row>,
}

fn generate(persons: usize, seed: u64) -> Generated {
    let mut r = Rng(seed | 1);
    let mut rows: Vec<Row> = Vec::new();
    let mut ids: Vec<String> = Vec::new();
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut hh = 0u32;
    let villages = ["001", "002", "150", "201", "230", "399", "000"];
    while ids.len() < persons {
        hh += 1;
        let household = format!("G{hh:06}");
        let region = if r.chance(2) {
            "980101001001".to_string()
        } else {
            format!("9901{:02}001{}", 1 + r.below(3), r.pick(&villages))
        };
        let size = 1 + r.below(5) as usize;
        let mut members: Vec<String> = Vec::new();
        for k in 0..size {
            let birth = date("1930-01-01").add_days(r.below(95 * 365) as i32);
            let pid = id(&birth.to_string(), (ids.len() % 997) as u32);
            if !seen.insert(pid.clone()) {
                continue;
            }
            let relation = if k == 0 {
                "head"
            } else {
                r.pick(&["spouse", "child", "parent", "sibling", "other"])
            };
            let status = if r.chance(4) {
                "deceased"
            } else if r.chance(2) {
                "emigrated"
            } else {
                "normal"
            };
            let mut row = vec![
                ("person_id".to_string(), pid.clone()),
                ("household_id".into(), household.clone()),
                ("relation".into(), relation.into()),
                ("region_code".into(), region.clone()),
                ("birth_date".into(), birth.to_string()),
                ("status".into(), status.into()),
            ];
            if status != "normal" {
                row.push(("status_date".into(), day(&mut r, "2025-10-01", 300)));
            }
            if k > 0 && relation == "spouse" {
                row.push(("spouse_id".into(), members[0].clone()));
            }
            if relation == "child" || (!ids.is_empty() && r.chance(20)) {
                let parent = if relation == "child" {
                    members[0].clone()
                } else {
                    ids[r.below(ids.len() as u64) as usize].clone()
                };
                row.push((
                    if r.chance(50) {
                        "father_id"
                    } else {
                        "mother_id"
                    }
                    .into(),
                    parent,
                ));
            }
            rows.push((Feed::Population, row));
            members.push(pid.clone());
            ids.push(pid);
        }
        for pid in &members {
            let p = pid.clone();
            let mut add = |feed: Feed, cols: Vec<(&str, String)>| {
                let mut row = vec![("person_id".to_string(), p.clone())];
                row.extend(cols.into_iter().map(|(c, v)| (c.to_string(), v)));
                rows.push((feed, row));
            };
            for _ in 0..r.below(4) {
                let status = r.pick(&["employed", "flexible", "unemployed", "retired", "none"]);
                let mut cols = vec![("period", month(&mut r)), ("status", status.into())];
                if r.chance(60) {
                    cols.push(("monthly_wage", yuan(&mut r, 3000)));
                }
                if r.chance(20) {
                    cols.push(("pension", yuan(&mut r, 1500)));
                }
                if r.chance(10) {
                    cols.push(("unemployment_benefit", yuan(&mut r, 800)));
                }
                add(Feed::Employment, cols);
            }
            for _ in 0..r.below(3) {
                let kind = r.pick(&[
                    "business", "property", "transfer", "support", "other", "exempt",
                ]);
                add(
                    Feed::Income,
                    vec![
                        ("period", month(&mut r)),
                        ("kind", kind.into()),
                        ("monthly_amount", yuan(&mut r, 900)),
                    ],
                );
            }
            if r.chance(30) {
                let mut cols = vec![
                    ("as_of", day(&mut r, "2025-06-01", 500)),
                    ("deposits", yuan(&mut r, 60000)),
                ];
                if r.chance(30) {
                    cols.push(("securities", yuan(&mut r, 30000)));
                }
                add(Feed::Finance, cols);
            }
            if r.chance(5) {
                let mut cols = vec![
                    ("status", r.pick(&["active", "cancelled"]).into()),
                    ("registered_date", day(&mut r, "2024-01-01", 1000)),
                    ("role", "legal_rep".into()),
                ];
                if r.chance(80) {
                    cols.push(("registered_capital", yuan(&mut r, 200_000)));
                }
                add(Feed::Business, cols);
            }
            for _ in 0..(if r.chance(12) { 1 + r.below(2) } else { 0 }) {
                let cat = r.pick(&[
                    "visual",
                    "hearing",
                    "speech",
                    "physical",
                    "intellectual",
                    "mental",
                    "multiple",
                ]);
                add(
                    Feed::Disability,
                    vec![
                        ("category", cat.into()),
                        ("grade", (1 + r.below(4)).to_string()),
                        ("certified_date", day(&mut r, "2025-09-01", 400)),
                    ],
                );
            }
            if r.chance(15) {
                let year = r.pick(&["2025-2026", "2026-2027", "2025-2027", "2024-2025"]);
                let mut cols = vec![
                    ("school_year", year.to_string()),
                    ("level", "primary".into()),
                ];
                if r.chance(70) {
                    cols.push(("annual_tuition", yuan(&mut r, 8000)));
                }
                add(Feed::Education, cols);
            }
            for _ in 0..(if r.chance(25) { r.below(4) } else { 0 }) {
                let kind = r.pick(&["outpatient", "inpatient", "chronic", "major"]);
                add(
                    Feed::Medical,
                    vec![
                        ("settled_date", day(&mut r, "2025-03-01", 520)),
                        ("out_of_pocket", yuan(&mut r, 30000)),
                        ("kind", kind.into()),
                    ],
                );
            }
            if r.chance(10) {
                add(
                    Feed::Care,
                    vec![
                        ("self_care", r.pick(&["full", "partial", "none"]).into()),
                        ("assessed_date", day(&mut r, "2025-06-01", 450)),
                    ],
                );
            }
            for _ in 0..(if r.chance(15) { 1 + r.below(2) } else { 0 }) {
                let program = r.pick(&[
                    "dibao",
                    "tekun",
                    "marginal",
                    "medical",
                    "education",
                    "temporary",
                ]);
                let named = if r.chance(90) {
                    household.clone()
                } else {
                    format!("X{:06}", r.below(50))
                };
                let mut cols = vec![
                    ("household_id", named),
                    ("program", program.into()),
                    ("start_date", day(&mut r, "2024-01-01", 900)),
                    ("region_code", "990101001001".into()),
                ];
                if r.chance(30) {
                    cols.push(("end_date", day(&mut r, "2025-06-01", 500)));
                }
                add(Feed::Assistance, cols);
            }
            if r.chance(8) {
                let mut cols = vec![
                    (
                        "vehicle_type",
                        r.pick(&[
                            "car",
                            "truck",
                            "motorcycle",
                            "agricultural",
                            "disability",
                            "other",
                        ])
                        .into(),
                    ),
                    ("registered_date", day(&mut r, "2024-01-01", 950)),
                    ("plate", "X".into()),
                ];
                if r.chance(30) {
                    cols.push(("cancelled_date", day(&mut r, "2025-01-01", 700)));
                }
                add(Feed::Vehicles, cols);
            }
            for _ in 0..(if r.chance(10) { 1 + r.below(2) } else { 0 }) {
                let mut cols = vec![
                    ("property_id", format!("P{}", r.below(3000))),
                    (
                        "usage",
                        r.pick(&[
                            "residential",
                            "residential",
                            "commercial",
                            "industrial",
                            "other",
                        ])
                        .into(),
                    ),
                    ("area_m2", yuan(&mut r, 150)),
                    ("registered_date", day(&mut r, "2024-01-01", 950)),
                ];
                if r.chance(20) {
                    cols.push(("cancelled_date", day(&mut r, "2025-01-01", 700)));
                }
                add(Feed::RealEstate, cols);
            }
            for _ in 0..(if r.chance(10) { 1 + r.below(3) } else { 0 }) {
                let mut cols = vec![
                    ("period", month(&mut r)),
                    ("arrears_months", r.below(6).to_string()),
                ];
                if r.chance(70) {
                    cols.push((
                        "electricity_kwh",
                        format!("{}.{}", r.below(30), r.below(10)),
                    ));
                }
                add(Feed::Utilities, cols);
            }
        }
    }
    Generated { rows }
}

fn get<'a>(row: &'a [(String, String)], c: &str) -> Option<&'a str> {
    row.iter().find(|(k, _)| k == c).map(|(_, v)| v.as_str())
}

fn fen(v: Option<&str>) -> i64 {
    v.map_or(0, |t| Fen::parse_yuan(t).expect("money").0)
}

fn d(v: Option<&str>) -> Option<domain::Date> {
    v.map(|t| {
        if t.len() == 7 {
            Month::parse(t).expect("period").first_day()
        } else {
            date(t)
        }
    })
}

/// Adds an item to one of the facts' lists (held as boxed slices: the registry's size).
fn push<T>(list: &mut Box<[T]>, item: T) {
    let mut items = std::mem::take(list).into_vec();
    items.push(item);
    *list = items.into();
}

/// The facts of every person, read naively from the rows (policy.md §2, §9).
fn naive_facts(rows: &[Row], as_of: domain::Date, w: Windows) -> Vec<PersonFacts> {
    let a = as_of;
    let am = a.month();
    let lookback_first = (am - (w.lookback_months - 1)).first_day();
    let recent_from = a.add_days(-(w.recent_days - 1));
    let year_excl = a.add_months(-12);
    let before_excl = recent_from.add_days(-1).add_months(-12);
    let (y, m, _) = a.ymd();
    let sy = if m >= 9 {
        format!("{}-{}", y, y + 1)
    } else {
        format!("{}-{}", y - 1, y)
    };
    let months_ago = |p: domain::Date| i64::from(am.index() - p.month().index());
    let mut by_feed: HashMap<(Feed, String), Vec<&Cols>> = HashMap::new();
    for (f, r) in rows {
        if let Some(p) = get(r, "person_id") {
            by_feed.entry((*f, p.to_string())).or_default().push(r);
        }
    }
    let rows_of = |feed: Feed, pid: &str| {
        by_feed
            .get(&(feed, pid.to_string()))
            .cloned()
            .unwrap_or_default()
    };
    let population: Vec<&Vec<(String, String)>> = rows
        .iter()
        .filter(|(f, _)| *f == Feed::Population)
        .map(|(_, r)| r)
        .collect();
    let mut out = Vec::new();
    for p in population {
        let pid = get(p, "person_id").expect("pid");
        let mut f = PersonFacts {
            id: PersonKey(pid.into()),
            household_id: get(p, "household_id").expect("hh").into(),
            region: get(p, "region_code").and_then(|c| RegionCode::parse(c).ok()),
            relation: get(p, "relation")
                .and_then(Relation::parse)
                .expect("relation"),
            status: get(p, "status")
                .and_then(PersonStatus::parse)
                .expect("status"),
            spouse: get(p, "spouse_id").map(|s| PersonKey(s.into())),
            father: get(p, "father_id").map(|s| PersonKey(s.into())),
            mother: get(p, "mother_id").map(|s| PersonKey(s.into())),
            age: i64::from(age_on(d(get(p, "birth_date")).expect("birth"), a)),
            ..PersonFacts::default()
        };
        let status_date = d(get(p, "status_date"));
        f.status_recent = status_date.is_some_and(|s| s >= recent_from && s <= a);

        // Employment: one record per period (the later row wins), periods up to A's month.
        let mut emp: BTreeMap<domain::Date, (&str, i64)> = BTreeMap::new();
        for r in rows_of(Feed::Employment, pid) {
            let period = d(get(r, "period")).expect("period");
            if period > am.first_day() {
                continue;
            }
            let earned = fen(get(r, "monthly_wage"))
                + fen(get(r, "pension"))
                + fen(get(r, "unemployment_benefit"));
            emp.insert(period, (get(r, "status").expect("status"), earned));
        }
        let list: Vec<(domain::Date, &str, i64)> =
            emp.iter().map(|(p, (s, e))| (*p, *s, *e)).collect();
        let mut income = 0;
        if let Some(last) = list.iter().rposition(|(p, _, _)| *p >= lookback_first) {
            let (period, status, earned) = list[last];
            income += earned;
            f.employment_status = EmploymentStatus::parse(status);
            f.employment_months_ago = months_ago(period);
            f.previous_employment_status = if last > 0 {
                EmploymentStatus::parse(list[last - 1].1)
            } else {
                None
            };
        }
        for k in 1..list.len() {
            if ["employed", "flexible"].contains(&list[k].1)
                && ["unemployed", "none"].contains(&list[k - 1].1)
            {
                f.job_start_months_ago = months_ago(list[k].0);
            }
        }
        let mut kinds: BTreeMap<&str, (domain::Date, i64)> = BTreeMap::new();
        for r in rows_of(Feed::Income, pid) {
            let period = d(get(r, "period")).expect("period");
            let kind = get(r, "kind").expect("kind");
            if kind == "exempt" || period < lookback_first || period > am.first_day() {
                continue;
            }
            if kinds.get(kind).is_none_or(|(p, _)| period >= *p) {
                kinds.insert(kind, (period, fen(get(r, "monthly_amount"))));
            }
        }
        income += kinds.values().map(|(_, v)| v).sum::<i64>();
        f.income = Fen(income);
        let mut latest: Option<domain::Date> = None;
        for r in rows_of(Feed::Finance, pid) {
            let as_of_row = d(get(r, "as_of")).expect("as_of");
            if as_of_row <= a && latest.is_none_or(|l| as_of_row >= l) {
                latest = Some(as_of_row);
                f.financial_assets = Fen(fen(get(r, "deposits"))
                    + fen(get(r, "securities"))
                    + fen(get(r, "other_assets")));
            }
        }
        for r in rows_of(Feed::Business, pid) {
            let reg = d(get(r, "registered_date")).expect("reg");
            if get(r, "status") == Some("active") && reg <= a {
                push(
                    &mut f.business_capitals,
                    Fen(fen(get(r, "registered_capital"))),
                );
                f.business_recent |= reg >= recent_from;
            }
        }
        f.business_capitals.sort();
        let mut best: Option<(i64, domain::Date)> = None;
        let mut best_recent: Option<(i64, domain::Date)> = None;
        for r in rows_of(Feed::Disability, pid) {
            let cert = d(get(r, "certified_date")).expect("cert");
            if cert > a {
                continue;
            }
            let grade: i64 = get(r, "grade").expect("grade").parse().expect("grade");
            let cat = get(r, "category").and_then(DisabilityCategory::parse);
            let better = |b: Option<(i64, domain::Date)>| {
                b.is_none_or(|(g, c)| grade < g || (grade == g && cert >= c))
            };
            if better(best) {
                best = Some((grade, cert));
                f.disability_grade = grade as u8;
                f.disability_category = cat;
            }
            if cert >= recent_from && better(best_recent) {
                best_recent = Some((grade, cert));
                f.recent_disability_grade = grade as u8;
                f.recent_disability_category = cat;
            }
        }
        for r in rows_of(Feed::Education, pid) {
            if get(r, "school_year") == Some(sy.as_str()) {
                f.student = true;
                f.tuition = Fen(fen(get(r, "annual_tuition")));
            }
        }
        for r in rows_of(Feed::Medical, pid) {
            let s = d(get(r, "settled_date")).expect("settled");
            let kind = get(r, "kind").expect("kind");
            let in_year = s > year_excl && s <= a;
            if in_year {
                f.medical_oop_12m += Fen(fen(get(r, "out_of_pocket")));
                f.major_12m |= kind == "major";
                f.chronic_12m |= kind == "chronic";
            }
            f.major_recent |= kind == "major" && s >= recent_from && s <= a;
            f.major_before_recent |= kind == "major" && s > before_excl && s < recent_from;
        }
        let mut latest: Option<domain::Date> = None;
        for r in rows_of(Feed::Care, pid) {
            let at = d(get(r, "assessed_date")).expect("assessed");
            if at <= a && latest.is_none_or(|l| at >= l) {
                latest = Some(at);
                f.care_level = match get(r, "self_care") {
                    Some("partial") => CareLevel::Partial,
                    Some("none") => CareLevel::Full,
                    _ => CareLevel::Myself,
                };
            }
        }
        for r in rows_of(Feed::Assistance, pid) {
            let start = d(get(r, "start_date")).expect("start");
            let end = d(get(r, "end_date"));
            let program = Program::parse(get(r, "program").expect("program")).expect("program");
            if start <= a && end.is_none_or(|e| e >= a) {
                push(
                    &mut f.running,
                    RunningSpell {
                        program,
                        household_id: get(r, "household_id").expect("hh").into(),
                    },
                );
            }
            if let Some(sd) = status_date
                && start <= sd
                && end.is_none_or(|e| e >= sd)
            {
                push(&mut f.running_at_death, program);
            }
        }
        for r in rows_of(Feed::Vehicles, pid) {
            let reg = d(get(r, "registered_date")).expect("reg");
            let cancelled = d(get(r, "cancelled_date"));
            let t = VehicleType::parse(get(r, "vehicle_type").expect("type")).expect("type");
            if reg <= a && cancelled.is_none_or(|c| c > a) {
                push(&mut f.active_vehicle_types, t);
            }
            if reg <= a && reg >= recent_from {
                push(&mut f.recent_vehicle_types, t);
            }
        }
        for r in rows_of(Feed::RealEstate, pid) {
            let reg = d(get(r, "registered_date")).expect("reg");
            if reg > a {
                continue;
            }
            let active = d(get(r, "cancelled_date")).is_none_or(|c| c > a);
            let usage = get(r, "usage").expect("usage");
            if active && usage != "residential" {
                f.nonresidential_property = true;
            }
            if active && usage == "residential" {
                push(
                    &mut f.homes,
                    Home {
                        property: get(r, "property_id").expect("id").into(),
                        area_centi_m2: fen(get(r, "area_m2")),
                    },
                );
            }
            f.property_recent |= reg >= recent_from;
        }
        let mut util: BTreeMap<domain::Date, (i64, Option<i64>)> = BTreeMap::new();
        let mut power: BTreeMap<domain::Date, i64> = BTreeMap::new();
        for r in rows_of(Feed::Utilities, pid) {
            let period = d(get(r, "period")).expect("period");
            if period < lookback_first || period > am.first_day() {
                continue;
            }
            let kwh = get(r, "electricity_kwh").map(|v| fen(Some(v)));
            util.insert(
                period,
                (
                    get(r, "arrears_months")
                        .expect("arrears")
                        .parse()
                        .expect("int"),
                    kwh,
                ),
            );
            if let Some(k) = kwh {
                power.insert(period, k);
            }
        }
        if let Some((p, (arrears, _))) = util.iter().next_back() {
            f.utility_arrears_months = *arrears;
            f.utility_months_ago = months_ago(*p);
        }
        if let Some((p, k)) = power.iter().next_back() {
            f.electricity_centi_kwh = *k;
            f.electricity_months_ago = months_ago(*p);
        }
        out.push(f);
    }
    out
}

/// The evaluator's input for every household, built naively from the facts.
fn naive_inputs(facts: &[PersonFacts]) -> BTreeMap<String, HouseholdInput> {
    let mut inputs: BTreeMap<String, HouseholdInput> = BTreeMap::new();
    for p in facts {
        inputs
            .entry(p.household_id.to_string())
            .or_default()
            .members
            .push(p.clone());
    }
    for p in facts {
        for s in &p.running {
            if s.household_id != p.household_id {
                inputs.entry(s.household_id.to_string()).or_default();
            }
        }
    }
    // Who is linked to whom, both directions, and who holds a spell naming which household.
    let mut linked: HashMap<&str, BTreeSet<usize>> = HashMap::new();
    let mut holders: HashMap<&str, BTreeSet<usize>> = HashMap::new();
    let index: HashMap<&str, usize> = facts
        .iter()
        .enumerate()
        .map(|(k, p)| (p.id.0.as_str(), k))
        .collect();
    for (k, p) in facts.iter().enumerate() {
        for link in [&p.spouse, &p.father, &p.mother].into_iter().flatten() {
            if let Some(&j) = index.get(link.0.as_str()) {
                linked.entry(p.id.0.as_str()).or_default().insert(j);
                linked.entry(link.0.as_str()).or_default().insert(k);
            }
        }
        for s in &p.running {
            holders
                .entry(s.household_id.as_str())
                .or_default()
                .insert(k);
        }
    }
    for (id, input) in inputs.iter_mut() {
        input.household_id = id.clone();
        let member_ids: BTreeSet<&str> = input.members.iter().map(|m| m.id.0.as_str()).collect();
        let mut others: BTreeSet<usize> = BTreeSet::new();
        for m in &input.members {
            others.extend(linked.get(m.id.0.as_str()).into_iter().flatten().copied());
        }
        others.extend(holders.get(id.as_str()).into_iter().flatten().copied());
        others.retain(|k| !member_ids.contains(facts[*k].id.0.as_str()));
        input.others = others.into_iter().map(|k| facts[k].clone()).collect();
    }
    inputs
}

#[test]
fn batch_facts_and_results_equal_the_pure_evaluator_on_a_random_city() {
    let as_of = date("2026-06-30");
    let generated = generate(20_000, 20_261_128);
    let mut city = City::new();
    for (feed, row) in &generated.rows {
        let pairs: Vec<(&str, &str)> = row.iter().map(|(c, v)| (c.as_str(), v.as_str())).collect();
        city.add(*feed, &pairs);
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let lake = city.write(dir.path());
    let pack = Pack::default_pack().expect("pack");
    let windows = monitor::windows(&pack);

    let mut batch = monitor::person_facts(&lake, as_of, windows).expect("facts");
    let mut plain = monitor::person_facts_by_last_value(&lake, as_of, windows).expect("facts");
    let mut naive = naive_facts(&generated.rows, as_of, windows);
    assert!(batch.len() >= 20_000);
    batch.sort_by(|a, b| a.id.cmp(&b.id));
    plain.sort_by(|a, b| a.id.cmp(&b.id));
    naive.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(batch.len(), naive.len());
    assert!(
        batch == plain,
        "the packed latest rows differ from ordered last_value"
    );
    for (b, n) in batch.iter_mut().zip(naive.iter_mut()) {
        for f in [&mut *b, &mut *n] {
            f.running.sort_by(|x, y| {
                (x.program.as_str(), &x.household_id).cmp(&(y.program.as_str(), &y.household_id))
            });
            f.running_at_death.sort_by_key(|p| p.as_str());
            f.active_vehicle_types.sort_by_key(|v| v.as_str());
            f.recent_vehicle_types.sort_by_key(|v| v.as_str());
            f.homes.sort_by(|x, y| {
                (&x.property, x.area_centi_m2).cmp(&(&y.property, y.area_centi_m2))
            });
        }
        assert_eq!(b, n, "facts of one person differ");
    }

    let results = monitor::screen(
        &lake,
        as_of,
        &pack,
        RunOptions::default(),
        &domain::NoProgress,
    )
    .expect("screen");
    let inputs = naive_inputs(&naive);
    let mut households = 0;
    let mut expected_anomalies = BTreeSet::new();
    for (id, input) in &inputs {
        let Evaluation::Done(o) = evaluate(&pack, input, as_of, Options { explain: false }) else {
            assert!(!results.households.iter().any(|h| &h.household_id == id));
            continue;
        };
        for a in &o.anomalies {
            expected_anomalies.insert((
                a.kind.clone(),
                a.program.clone(),
                a.household_id.clone(),
                a.person.as_ref().map(|p| p.0.to_string()),
                a.reasons.clone(),
            ));
        }
        if o.size == 0 {
            continue;
        }
        households += 1;
        let row = results
            .households
            .iter()
            .find(|h| &h.household_id == id)
            .expect("household in batch");
        assert_eq!(row.tier, o.tier);
        assert_eq!(row.dibao_amount, o.dibao_amount);
        assert_eq!(row.per_capita_income, o.per_capita_income);
        assert_eq!(row.tags, o.tags);
        assert_eq!(i64::from(row.score), o.score);
        assert_eq!(row.level, o.level);
        assert_eq!(row.tekun_members as usize, o.tekun_members);
        let persons: Vec<_> = results
            .persons
            .iter()
            .filter(|p| &p.household_id == id)
            .collect();
        assert_eq!(persons.len(), o.persons.len());
        let packages = results
            .recommendations
            .iter()
            .filter(|r| &r.household_id == id)
            .count();
        assert_eq!(packages, o.packages.len());
    }
    assert_eq!(households, results.households.len());
    let batch_anomalies: BTreeSet<_> = results
        .anomalies
        .iter()
        .map(|a| {
            (
                a.kind.clone(),
                a.program.clone(),
                a.household_id.clone(),
                a.person_id.clone(),
                a.reasons.clone(),
            )
        })
        .collect();
    assert_eq!(batch_anomalies, expected_anomalies);
    let tiers: BTreeSet<&str> = results.households.iter().map(|h| h.tier.as_str()).collect();
    assert!(
        tiers.len() >= 4,
        "the random city reaches most tiers: {tiers:?}"
    );
    assert!(results.summary.households_without_parameters > 0);

    // The same screening as one DataFusion plan, the pack evaluated per household by the
    // plan's function on each household's gathered persons (how a cluster screens), with the
    // explanations a store keeps.
    let options = RunOptions {
        explain_flagged: true,
        ..RunOptions::default()
    };
    let local =
        monitor::screen(&lake, as_of, &pack, options.clone(), &domain::NoProgress).expect("screen");
    let planned = monitor::screen_as_one_plan(&lake, as_of, &pack, &options, &domain::NoProgress)
        .expect("screen as one plan");
    assert_eq!(local.households, results.households);
    assert_eq!(planned.households, local.households);
    assert_eq!(planned.persons, local.persons);
    assert_eq!(planned.anomalies, local.anomalies);
    assert_eq!(planned.warnings, local.warnings);
    assert_eq!(planned.recommendations, local.recommendations);
    assert_eq!(planned.linkage, local.linkage);
    assert_eq!(planned.summary, local.summary);
    assert!(local.explanations.len() >= local.anomalies.len().min(100));
    assert!(
        planned.explanations == local.explanations,
        "explanations differ"
    );
}
