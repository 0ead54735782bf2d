//! The pure one-household evaluator: given the base facts of a household's persons (and of
//! their relatives and spell holders elsewhere) and an as-of date, it applies a checked pack
//! and decides every result of policy.md — tekun persons and amounts, the tier and dibao amount,
//! dibao_single persons, anomalies, signals, level, tags, score and package — each with an
//! explanation. It never reads the clock and never panics on a checked pack.

pub(crate) mod compile;

use std::borrow::Cow;

use domain::{Date, Fen, PersonStatus, Relation};
use serde::Serialize;

use crate::explain::{Explanation, Step};
use crate::expr::{Aggregate, BinOp, Collection, Expr, FactKind, Func, Num, ParamKey};
use crate::facts::{
    BASE_FACTS, Domain, GROUP_FACTS, HOUSEHOLD_FACTS, PERSON_STATE_FACTS, PersonFacts, PersonKey,
    Type,
};
use crate::pack::{About, Pack, ReasonRule, Resolved, Rule};

pub use compile::Code;

/// The persons one evaluation reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct HouseholdInput {
    /// The population `household_id`.
    pub household_id: String,
    /// Every person whose population `household_id` is this one, whatever their status.
    pub members: Vec<PersonFacts>,
    /// Linked relatives in other households (spouse, parents, children, any status) and
    /// holders of spells naming this household.
    #[serde(default)]
    pub others: Vec<PersonFacts>,
}

/// How much to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Build explanations (slower; the batch path may leave them out).
    pub explain: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { explain: true }
    }
}

/// A person-level result (persons.csv).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersonResult {
    /// The person.
    pub person: PersonKey,
    /// `tekun` or `dibao_single`.
    pub status: String,
    /// Monthly amount.
    pub amount: Fen,
    /// Care level, for tekun.
    pub care_level: Option<String>,
    /// Why.
    pub explanation: Explanation,
}

/// An anomaly (anomalies.csv).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Anomaly {
    /// `wrong_inclusion`, `omission` or `duplicate`.
    pub kind: String,
    /// The program.
    pub program: String,
    /// The household id the finding carries.
    pub household_id: String,
    /// The person, for person-level findings.
    pub person: Option<PersonKey>,
    /// Reason codes, sorted.
    pub reasons: Vec<String>,
    /// Why.
    pub explanation: Explanation,
}

/// A fired signal (warnings.csv).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignalResult {
    /// The signal code.
    pub signal: String,
    /// Its level.
    pub level: String,
    /// The person, for person signals.
    pub person: Option<PersonKey>,
    /// Why.
    pub explanation: Explanation,
}

/// A package row (recommendations.csv).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackageRow {
    /// `cash`, `subsidy`, `service` or `goods`.
    pub kind: String,
    /// The catalogue item.
    pub item: String,
    /// The amount, for items that carry one.
    pub amount: Option<Fen>,
    /// What triggered it.
    pub reason: String,
    /// Why.
    pub explanation: Explanation,
}

/// Everything decided for one household.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    /// The population household id.
    pub household_id: String,
    /// Its region (12 digits).
    pub region: String,
    /// The parameter set used.
    pub set: String,
    /// Living members.
    pub size: usize,
    /// Living members who are tekun.
    pub tekun_members: usize,
    /// Σ income of the living members / their number, half up.
    pub per_capita_income: Fen,
    /// The tier.
    pub tier: String,
    /// The dibao amount (0 unless tier dibao).
    pub dibao_amount: Fen,
    /// Why this tier.
    pub tier_explanation: Explanation,
    /// Tekun and dibao_single persons.
    pub persons: Vec<PersonResult>,
    /// Anomalies.
    pub anomalies: Vec<Anomaly>,
    /// Signals.
    pub signals: Vec<SignalResult>,
    /// The warning level.
    pub level: String,
    /// Tags, sorted.
    pub tags: Vec<String>,
    /// The score.
    pub score: i64,
    /// Why these tags.
    pub tags_explanation: Explanation,
    /// The package.
    pub packages: Vec<PackageRow>,
}

/// The result of an evaluation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Evaluation {
    /// Decided.
    Done(Box<Outcome>),
    /// The household's region is not covered by any parameter set (or unknown).
    Uncovered {
        /// The region, when known.
        region: Option<String>,
    },
}

#[derive(Clone, Copy, Debug)]
enum Value<'a> {
    Bool(bool),
    Num(Num),
    Code(u16),
    Codes(u64),
    List(&'a [Fen]),
}

impl Value<'_> {
    fn truth(self) -> bool {
        matches!(self, Value::Bool(true))
    }
    fn num(self) -> Num {
        match self {
            Value::Num(n) => n,
            _ => Num::int(0),
        }
    }
}

#[derive(Clone, Copy)]
pub(crate) struct Frame<'g> {
    person: Option<usize>,
    outer: Option<usize>,
    group: Option<&'g [usize]>,
    level: u16,
}

const HOUSEHOLD: Frame<'static> = Frame {
    person: None,
    outer: None,
    group: None,
    level: 0,
};

struct Cache {
    running: u64,
    running_at_death: u64,
    vehicles: u64,
    recent_vehicles: u64,
    /// The code facts, in the order of [`code_slot`].
    codes: [u16; 6],
}

/// The base code facts kept in [`Cache::codes`], in that order.
const CODE_FACTS: [&str; 6] = [
    "disability_category",
    "recent_disability_category",
    "care_level",
    "employment_status",
    "previous_employment_status",
    "status",
];

/// The base money facts whose totals over the members and over H′ are kept per household
/// ([`Env::member_sums`], [`Env::non_tekun_sums`]), in that order.
pub(crate) const MONEY_FACTS: [&str; 4] =
    ["income", "financial_assets", "tuition", "medical_oop_12m"];

/// Where the totals of a base money fact are kept.
fn money_slot(id: u16) -> Option<usize> {
    let name = BASE_FACTS.get(id as usize)?.0;
    MONEY_FACTS.iter().position(|f| *f == name)
}

/// The saturating totals of the [`MONEY_FACTS`] over some persons, in their order.
fn money_sums(people: &[&PersonFacts], persons: &[usize]) -> [i128; 4] {
    let mut sums = [0i128; 4];
    for &p in persons {
        let f = people[p];
        let values = [f.income, f.financial_assets, f.tuition, f.medical_oop_12m];
        for (sum, v) in sums.iter_mut().zip(values) {
            *sum = sum.saturating_add(i128::from(v.0));
        }
    }
    sums
}

/// Where a base code fact is kept in [`Cache::codes`].
fn code_slot(id: u16) -> Option<usize> {
    let name = BASE_FACTS.get(id as usize)?.0;
    CODE_FACTS.iter().position(|f| *f == name)
}

/// The index of an enum value's word in a domain, through a table made once per enum.
fn code_index<T: Copy + PartialEq>(
    d: Domain,
    all: &'static [T],
    word: fn(T) -> &'static str,
    table: &'static std::sync::OnceLock<Vec<u16>>,
    v: Option<T>,
    absent: &str,
) -> u16 {
    let Some(v) = v else {
        return d.index(absent).unwrap_or(0);
    };
    let table = table.get_or_init(|| all.iter().map(|x| d.index(word(*x)).unwrap_or(0)).collect());
    all.iter()
        .position(|x| *x == v)
        .and_then(|i| table.get(i).copied())
        .unwrap_or(0)
}

fn person_codes(f: &PersonFacts) -> [u16; 6] {
    use domain::{DisabilityCategory as D, EmploymentStatus as E, PersonStatus as S};
    static DISABILITY: std::sync::OnceLock<Vec<u16>> = std::sync::OnceLock::new();
    static EMPLOYMENT: std::sync::OnceLock<Vec<u16>> = std::sync::OnceLock::new();
    static STATUS: std::sync::OnceLock<Vec<u16>> = std::sync::OnceLock::new();
    let dis = |v| {
        code_index(
            Domain::DisabilityCategory,
            D::ALL,
            D::as_str,
            &DISABILITY,
            v,
            "none",
        )
    };
    let emp = |v| {
        code_index(
            Domain::EmploymentStatus,
            E::ALL,
            E::as_str,
            &EMPLOYMENT,
            v,
            "unknown",
        )
    };
    [
        dis(f.disability_category),
        dis(f.recent_disability_category),
        Domain::CareLevel.index(f.care_level.as_str()).unwrap_or(0),
        emp(f.employment_status),
        emp(f.previous_employment_status),
        code_index(
            Domain::PersonStatus,
            S::ALL,
            S::as_str,
            &STATUS,
            Some(f.status),
            "normal",
        ),
    ]
}

pub(crate) struct Env<'a> {
    pack: &'a Pack,
    params: &'a [Resolved],
    people: Vec<&'a PersonFacts>,
    n_members: usize,
    cache: Vec<Cache>,
    living: Vec<usize>,
    non_tekun: Vec<usize>,
    /// Derived facts, person after person, each in pack order.
    derived: Vec<Value<'a>>,
    /// The obligors and then the parents of each living member, as ranges of `links`.
    links: Vec<usize>,
    obligors: Vec<(u32, u32)>,
    parents: Vec<(u32, u32)>,
    tekun: Vec<bool>,
    tekun_amount: Vec<i64>,
    single: Vec<bool>,
    single_amount: Vec<i64>,
    running_programs: u64,
    /// The totals of the [`MONEY_FACTS`] over the living members.
    member_sums: [i128; 4],
    /// The same over H′ (zero until H′ is known).
    non_tekun_sums: [i128; 4],
    tier: u16,
    dibao_amount: i64,
    level: u16,
    fired: Vec<bool>,
    /// `assets_pass` of the members (slots 0-3) and of H′ (4-7) per asset level, once known:
    /// 0 unknown, 1 fails, 2 passes.
    assets_memo: std::cell::Cell<[u8; 8]>,
}

fn bits<T: Copy>(items: &[T], index: impl Fn(T) -> Option<u16>) -> u64 {
    items
        .iter()
        .filter_map(|x| index(*x))
        .fold(0u64, |m, i| m | (1u64 << (i & 63)))
}

fn program_index(p: domain::Program) -> Option<u16> {
    Domain::Program.index(p.as_str())
}

fn tier_index(word: &str) -> u16 {
    Domain::Tier.index(word).unwrap_or(0)
}

/// The household's region: its living head's (smallest code when several), otherwise the most
/// common among living members (smallest on a tie); with no living member, the smallest
/// region of any member.
pub fn household_region(members: &[PersonFacts]) -> Option<domain::RegionCode> {
    region_of(members.iter())
}

/// [`household_region`] of members however they are held.
fn region_of<'a>(
    members: impl Iterator<Item = &'a PersonFacts> + Clone,
) -> Option<domain::RegionCode> {
    let living = || members.clone().filter(|p| p.status == PersonStatus::Normal);
    if let Some(r) = living()
        .filter(|p| p.relation == Relation::Head)
        .filter_map(|p| p.region)
        .min()
    {
        return Some(r);
    }
    if living().next().is_none() {
        return members.filter_map(|p| p.region).min();
    }
    // The most common region of the living members, the smallest on a tie (households are
    // small: counting for each member is cheaper than sorting a copy).
    let mut best: Option<(usize, domain::RegionCode)> = None;
    for r in living().filter_map(|p| p.region) {
        let n = living().filter(|p| p.region == Some(r)).count();
        if best.is_none_or(|(m, b)| n > m || (n == m && r < b)) {
            best = Some((n, r));
        }
    }
    best.map(|(_, r)| r)
}

/// A household whose persons are borrowed from wherever a caller keeps them (a batch run's
/// registry), so that evaluating it copies nobody's facts. The same fields as
/// [`HouseholdInput`].
#[derive(Debug, Clone, Copy)]
pub struct HouseholdView<'a> {
    /// The population `household_id`.
    pub household_id: &'a str,
    /// Every person whose population `household_id` is this one, whatever their status.
    pub members: &'a [&'a PersonFacts],
    /// Linked relatives in other households and holders of spells naming this household.
    pub others: &'a [&'a PersonFacts],
}

/// Evaluates a pack on one household at `as_of`.
pub fn evaluate(pack: &Pack, input: &HouseholdInput, as_of: Date, options: Options) -> Evaluation {
    let members: Vec<&PersonFacts> = input.members.iter().collect();
    let others: Vec<&PersonFacts> = input.others.iter().collect();
    let view = HouseholdView {
        household_id: &input.household_id,
        members: &members,
        others: &others,
    };
    evaluate_view(pack, view, as_of, options)
}

/// [`evaluate`] on a household whose persons are borrowed.
pub fn evaluate_view(
    pack: &Pack,
    input: HouseholdView<'_>,
    as_of: Date,
    options: Options,
) -> Evaluation {
    let region = region_of(input.members.iter().copied())
        .or_else(|| input.others.iter().filter_map(|p| p.region).min());
    let Some(region) = region else {
        return Evaluation::Uncovered { region: None };
    };
    let Some((set, params)) = pack.params_for(region, as_of) else {
        return Evaluation::Uncovered {
            region: Some(region.as_str().to_owned()),
        };
    };
    // The buffers are borrowed from this thread's scratch and given back for the next
    // household.
    let outcome = SCRATCH.with_borrow_mut(|scratch| {
        scratch.clear();
        evaluate_with(pack, params, input, region, &set.id, options, scratch)
    });
    Evaluation::Done(Box::new(outcome))
}

/// [`evaluate`] once the parameters are known, on the buffers of `scratch`.
fn evaluate_with(
    pack: &Pack,
    params: &[Resolved],
    input: HouseholdView<'_>,
    region: domain::RegionCode,
    set: &str,
    options: Options,
    scratch: &mut Scratch,
) -> Outcome {
    let mut people: Vec<&PersonFacts> = std::mem::take(&mut scratch.people);
    people.extend(input.members.iter().chain(input.others.iter()).copied());
    let n = people.len();
    let mut cache = std::mem::take(&mut scratch.cache);
    cache.extend(people.iter().map(|p| {
        Cache {
            running: p
                .running
                .iter()
                .filter_map(|s| program_index(s.program))
                .fold(0u64, |m, i| m | (1u64 << (i & 63))),
            running_at_death: bits(&p.running_at_death, program_index),
            vehicles: bits(&p.active_vehicle_types, |v| {
                Domain::VehicleType.index(v.as_str())
            }),
            recent_vehicles: bits(&p.recent_vehicle_types, |v| {
                Domain::VehicleType.index(v.as_str())
            }),
            codes: person_codes(p),
        }
    }));
    let mut living = std::mem::take(&mut scratch.living);
    living.extend((0..input.members.len()).filter(|&i| people[i].status == PersonStatus::Normal));
    let mut env = Env {
        pack,
        params,
        people,
        n_members: input.members.len(),
        cache,
        living,
        non_tekun: std::mem::take(&mut scratch.non_tekun),
        derived: recycle(std::mem::take(&mut scratch.derived)),
        links: std::mem::take(&mut scratch.links),
        obligors: grow(std::mem::take(&mut scratch.obligors), n, (0, 0)),
        parents: grow(std::mem::take(&mut scratch.parents), n, (0, 0)),
        tekun: grow(std::mem::take(&mut scratch.tekun), n, false),
        tekun_amount: grow(std::mem::take(&mut scratch.tekun_amount), n, 0),
        single: grow(std::mem::take(&mut scratch.single), n, false),
        single_amount: grow(std::mem::take(&mut scratch.single_amount), n, 0),
        running_programs: 0,
        member_sums: [0; 4],
        non_tekun_sums: [0; 4],
        tier: tier_index("none"),
        dibao_amount: 0,
        level: 0,
        fired: grow(
            std::mem::take(&mut scratch.fired),
            pack.signals.len(),
            false,
        ),
        assets_memo: std::cell::Cell::new([0; 8]),
    };
    env.prepare(input.household_id);
    let outcome = env.run(input.household_id, region, set, options);
    scratch.people = recycle(env.people);
    scratch.derived = recycle(env.derived);
    scratch.cache = env.cache;
    scratch.living = env.living;
    scratch.non_tekun = env.non_tekun;
    scratch.links = env.links;
    scratch.obligors = env.obligors;
    scratch.parents = env.parents;
    scratch.tekun = env.tekun;
    scratch.tekun_amount = env.tekun_amount;
    scratch.single = env.single;
    scratch.single_amount = env.single_amount;
    scratch.fired = env.fired;
    outcome
}

/// An empty buffer of another element type on the same allocation: the standard library
/// collects in place when the layouts agree, as they do for the same type with another
/// lifetime, which is how the buffers of references outlive one household.
fn recycle<T, U>(mut v: Vec<T>) -> Vec<U> {
    v.clear();
    v.into_iter().filter_map(|_| None).collect()
}

/// A buffer of `len` copies of `x`, reusing the allocation.
fn grow<T: Clone>(mut v: Vec<T>, len: usize, x: T) -> Vec<T> {
    v.clear();
    v.resize(len, x);
    v
}

/// Buffers of one evaluation, kept per thread so that evaluating a household allocates only
/// for its results.
#[derive(Default)]
struct Scratch {
    people: Vec<&'static PersonFacts>,
    derived: Vec<Value<'static>>,
    cache: Vec<Cache>,
    living: Vec<usize>,
    non_tekun: Vec<usize>,
    links: Vec<usize>,
    obligors: Vec<(u32, u32)>,
    parents: Vec<(u32, u32)>,
    tekun: Vec<bool>,
    tekun_amount: Vec<i64>,
    single: Vec<bool>,
    single_amount: Vec<i64>,
    fired: Vec<bool>,
}

impl Scratch {
    fn clear(&mut self) {
        self.people.clear();
        self.derived.clear();
        self.cache.clear();
        self.living.clear();
        self.non_tekun.clear();
        self.links.clear();
        self.obligors.clear();
        self.parents.clear();
        self.tekun.clear();
        self.tekun_amount.clear();
        self.single.clear();
        self.single_amount.clear();
        self.fired.clear();
    }
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Where `assets_pass` of the members or of H′ at a level is kept in [`Env::assets_memo`].
/// The members and H′ do not change once H′ is known, and asset reasons read only
/// start-stage facts (the checker's scope), so their result is kept for the household.
fn assets_slot(c: Collection, level: u16) -> Option<usize> {
    match c {
        Collection::Members => Some(level as usize),
        Collection::NonTekun => Some(4 + level as usize),
        _ => None,
    }
    .filter(|&s| s < 8 && level < 4)
}

/// Whether a link (father, mother, spouse) names a person. Keys are compared by length and
/// last byte first, which tell most persons of a household apart without comparing whole keys.
fn names(link: &Option<PersonKey>, key: &PersonKey) -> bool {
    link.as_ref().is_some_and(|l| {
        let (a, b) = (l.0.as_bytes(), key.0.as_bytes());
        a.len() == b.len() && a.last() == b.last() && a == b
    })
}

fn is_living(p: &PersonFacts) -> bool {
    p.status == PersonStatus::Normal
}

impl<'a> Env<'a> {
    fn prepare(&mut self, household_id: &str) {
        self.member_sums = money_sums(&self.people, &self.living);
        // Derived facts of every person, in pack order.
        for i in 0..self.people.len() {
            for d in 0..self.pack.derived.len() {
                let frame = Frame {
                    person: Some(i),
                    ..HOUSEHOLD
                };
                let rule = &self.pack.derived[d];
                let v = match rule.code.0.as_deref() {
                    Some(compile::Node::Bool(f)) => Value::Bool(f(self, &frame)),
                    Some(compile::Node::Num(f)) => Value::Num(f(self, &frame)),
                    None => self.eval(&rule.expr, frame),
                };
                self.derived.push(v);
            }
        }
        // Relations of living members.
        for li in 0..self.living.len() {
            let m = self.living[li];
            let me = self.people[m];
            let start = self.links.len() as u32;
            for (j, p) in self.people.iter().enumerate() {
                if j == m || !is_living(p) {
                    continue;
                }
                let is_parent = names(&me.father, &p.id) || names(&me.mother, &p.id);
                let spouse = names(&me.spouse, &p.id) || names(&p.spouse, &me.id);
                let child = names(&p.father, &me.id) || names(&p.mother, &me.id);
                let minor = me.age < 18 && j < self.n_members && p.age >= 18;
                if spouse || is_parent || child || minor {
                    self.links.push(j);
                }
            }
            let middle = self.links.len() as u32;
            for (j, p) in self.people.iter().enumerate() {
                if j != m && (names(&me.father, &p.id) || names(&me.mother, &p.id)) {
                    self.links.push(j);
                }
            }
            self.obligors[m] = (start, middle);
            self.parents[m] = (middle, self.links.len() as u32);
        }
        // Programs running for the household: spells naming it, or held by a living member.
        let mut running = 0u64;
        for (i, p) in self.people.iter().enumerate() {
            for s in &p.running {
                let living_member = i < self.n_members && is_living(p);
                if (living_member || s.household_id == household_id)
                    && let Some(b) = program_index(s.program)
                {
                    running |= 1 << b;
                }
            }
        }
        self.running_programs = running;
    }

    fn obligors_of(&self, p: usize) -> &[usize] {
        let (a, b) = self.obligors[p];
        &self.links[a as usize..b as usize]
    }

    fn parents_of(&self, p: usize) -> &[usize] {
        let (a, b) = self.parents[p];
        &self.links[a as usize..b as usize]
    }

    /// A derived fact of a person, once computed.
    fn derived_of(&self, p: usize, id: usize) -> Option<&Value<'a>> {
        let n = self.pack.derived.len();
        if id >= n {
            return None;
        }
        self.derived.get(p * n + id)
    }

    fn param(&self, id: u16) -> Option<&Resolved> {
        self.params.get(id as usize)
    }

    fn people_of<'s>(&'s self, c: Collection, frame: Frame<'s>) -> (Cow<'s, [usize]>, bool) {
        // The persons, and whether the outer person is set.
        let none: &[usize] = &[];
        match c {
            Collection::Members => (Cow::Borrowed(&self.living[..]), false),
            Collection::NonTekun => (Cow::Borrowed(&self.non_tekun[..]), false),
            Collection::Group => (Cow::Borrowed(frame.group.unwrap_or(none)), false),
            Collection::Obligors => (
                Cow::Borrowed(frame.person.map_or(none, |p| self.obligors_of(p))),
                true,
            ),
            Collection::Parents => (
                Cow::Borrowed(frame.person.map_or(none, |p| self.parents_of(p))),
                true,
            ),
            Collection::OtherNonTekun => (
                Cow::Owned(
                    self.non_tekun
                        .iter()
                        .copied()
                        .filter(|&i| Some(i) != frame.person)
                        .collect(),
                ),
                true,
            ),
            Collection::Myself => (Cow::Owned(frame.person.into_iter().collect()), true),
        }
    }

    fn base(&self, p: usize, id: u16) -> Value<'a> {
        let f = self.people[p];
        let c = &self.cache[p];
        let code = |id: u16| Value::Code(code_slot(id).map_or(0, |s| c.codes[s]));
        // Arms follow the order of BASE_FACTS (checked by a unit test).
        match id {
            0 => Value::Num(Num::int(f.age)),
            1 => Value::Num(Num::int(f.income.0)),
            2 => Value::Num(Num::int(f.financial_assets.0)),
            3 => Value::List(&f.business_capitals),
            4 => Value::Num(Num::int(i64::from(f.disability_grade))),
            6 => Value::Num(Num::int(i64::from(f.recent_disability_grade))),
            8 => Value::Bool(f.student),
            9 => Value::Num(Num::int(f.tuition.0)),
            10 => Value::Num(Num::int(f.medical_oop_12m.0)),
            11 => Value::Bool(f.major_12m),
            12 => Value::Bool(f.major_recent),
            13 => Value::Bool(f.major_before_recent),
            14 => Value::Bool(f.chronic_12m),
            17 => Value::Num(Num::int(f.employment_months_ago)),
            19 => Value::Num(Num::int(f.job_start_months_ago)),
            20 => Value::Codes(c.running),
            21 => Value::Codes(c.running_at_death),
            22 => Value::Codes(c.vehicles),
            23 => Value::Codes(c.recent_vehicles),
            24 => Value::Bool(f.nonresidential_property),
            25 => Value::Bool(f.property_recent),
            26 => Value::Bool(f.business_recent),
            27 => Value::Num(Num::int(f.utility_arrears_months)),
            28 => Value::Num(Num::int(f.utility_months_ago)),
            29 => Value::Num(Num {
                v: i128::from(f.electricity_centi_kwh),
                scale: 2,
            }),
            30 => Value::Num(Num::int(f.electricity_months_ago)),
            5 | 7 | 15 | 16 | 18 | 31 => code(id),
            32 => Value::Bool(f.status_recent),
            _ => Value::Bool(false),
        }
    }

    fn group_fact(&self, id: u16, frame: Frame<'_>) -> Value<'a> {
        let group = frame.group.unwrap_or(&[]);
        let name = GROUP_FACTS.get(id as usize).map_or("", |f| f.0);
        if name == "level" {
            return Value::Code(frame.level);
        }
        let (count, area) = self.homes(group);
        match name {
            "home_count" => Value::Num(Num::int(count)),
            "home_area" => Value::Num(Num { v: area, scale: 2 }),
            _ => Value::Bool(false),
        }
    }

    /// The distinct homes of a group (by property) and their total area in 0.01 m².
    fn homes(&self, group: &[usize]) -> (i64, i128) {
        let (mut count, mut area) = (0i64, 0i128);
        for (gi, &p) in group.iter().enumerate() {
            for (hi, h) in self.people[p].homes.iter().enumerate() {
                let seen = group[..gi].iter().any(|&q| {
                    self.people[q]
                        .homes
                        .iter()
                        .any(|k| k.property == h.property)
                }) || self.people[p].homes[..hi]
                    .iter()
                    .any(|k| k.property == h.property);
                if !seen {
                    count += 1;
                    area += i128::from(h.area_centi_m2);
                }
            }
        }
        (count, area)
    }

    /// A relation of the frame's person to the outer person (`is_parent`, `is_sibling`).
    fn relation(&self, id: u16, frame: &Frame<'_>) -> bool {
        let (Some(p), Some(o)) = (frame.person, frame.outer) else {
            return false;
        };
        let (me, outer) = (self.people[p], self.people[o]);
        match id {
            0 => names(&outer.father, &me.id) || names(&outer.mother, &me.id),
            _ => {
                let shared = |a: &Option<PersonKey>| {
                    a.as_ref()
                        .is_some_and(|k| names(&outer.father, k) || names(&outer.mother, k))
                };
                shared(&me.father) || shared(&me.mother)
            }
        }
    }

    /// `assets_pass(C, level)`: no asset reason holds for the persons of C at the level.
    fn assets_pass(&self, c: Collection, frame: &Frame<'_>, level: u16) -> bool {
        let slot = assets_slot(c, level);
        if let Some(s) = slot {
            match self.assets_memo.get()[s] {
                1 => return false,
                2 => return true,
                _ => {}
            }
        }
        let pass = self.assets_pass_now(c, frame, level);
        if let Some(s) = slot {
            let mut memo = self.assets_memo.get();
            memo[s] = if pass { 2 } else { 1 };
            self.assets_memo.set(memo);
        }
        pass
    }

    /// Whether `assets_pass(C, level)` is already known to hold for this household.
    fn assets_known_to_pass(&self, c: Collection, level: u16) -> bool {
        assets_slot(c, level).is_some_and(|s| self.assets_memo.get()[s] == 2)
    }

    fn assets_pass_now(&self, c: Collection, frame: &Frame<'_>, level: u16) -> bool {
        let one;
        let (group, _) = match c {
            Collection::Myself => {
                one = [frame.person.unwrap_or(usize::MAX)];
                let slice: &[usize] = if frame.person.is_some() { &one } else { &[] };
                (Cow::Borrowed(slice), true)
            }
            _ => self.people_of(c, *frame),
        };
        let gframe = Frame {
            person: None,
            outer: None,
            group: Some(&group),
            level,
        };
        !self.pack.assets.iter().any(|r| self.holds(r, gframe))
    }

    fn eval(&self, e: &Expr, frame: Frame<'_>) -> Value<'a> {
        match e {
            Expr::Bool(b) => Value::Bool(*b),
            Expr::Num(n) => Value::Num(*n),
            Expr::Name(_) | Expr::List(_) | Expr::Collection(_) => Value::Bool(false),
            Expr::Code { id, .. } => Value::Code(*id),
            Expr::Fact { kind, id, .. } => match kind {
                FactKind::PersonBase => frame
                    .person
                    .map_or(Value::Bool(false), |p| self.base(p, *id)),
                FactKind::PersonDerived => frame
                    .person
                    .and_then(|p| self.derived_of(p, *id as usize).copied())
                    .unwrap_or(Value::Bool(false)),
                FactKind::PersonState => {
                    let Some(p) = frame.person else {
                        return Value::Bool(false);
                    };
                    match PERSON_STATE_FACTS.get(*id as usize).map_or("", |f| f.0) {
                        "tekun" => Value::Bool(self.tekun[p]),
                        "tekun_amount" => Value::Num(Num::int(self.tekun_amount[p])),
                        "dibao_single" => Value::Bool(self.single[p]),
                        "dibao_single_amount" => Value::Num(Num::int(self.single_amount[p])),
                        _ => Value::Bool(false),
                    }
                }
                FactKind::Household => match *id {
                    0 => Value::Codes(self.running_programs),
                    1 => Value::Code(self.tier),
                    2 => Value::Num(Num::int(self.dibao_amount)),
                    3 => Value::Num(Num::int(
                        self.living.iter().filter(|&&i| self.tekun[i]).count() as i64,
                    )),
                    4 => Value::Num(Num::int(
                        self.living.iter().filter(|&&i| self.single[i]).count() as i64,
                    )),
                    5 => Value::Code(self.level),
                    _ => Value::Bool(false),
                },
                FactKind::Group => self.group_fact(*id, frame),
                FactKind::Relation => Value::Bool(self.relation(*id, &frame)),
            },
            Expr::Param { id, key, .. } => match (self.param(*id), key) {
                (Some(Resolved::Num(n)), None) => Value::Num(*n),
                (Some(Resolved::Codes(c)), None) => Value::Codes(*c),
                (Some(Resolved::Table(t)), Some(k)) => {
                    let index = match k {
                        ParamKey::Fixed(word) => self
                            .pack
                            .params
                            .get(*id as usize)
                            .and_then(|d| d.keys)
                            .and_then(|d| d.index(word)),
                        ParamKey::Dynamic(x) => match self.eval(x, frame) {
                            Value::Code(c) => Some(c),
                            _ => None,
                        },
                    };
                    index
                        .and_then(|i| t.get(i as usize))
                        .map_or(Value::Num(Num::int(0)), |n| Value::Num(*n))
                }
                _ => Value::Num(Num::int(0)),
            },
            Expr::Not(x) => Value::Bool(!self.eval(x, frame).truth()),
            Expr::Neg(x) => Value::Num(Num::int(0).minus(self.eval(x, frame).num())),
            Expr::Binary { op, lhs, rhs } => self.binary(*op, lhs, rhs, frame),
            Expr::In { value, list } => {
                let v = self.eval(value, frame);
                let Value::Code(c) = v else {
                    return Value::Bool(false);
                };
                Value::Bool(self.code_set(list, frame) & (1 << (c & 63)) != 0)
            }
            Expr::Aggregate { func, over, body } => {
                let (persons, _) = self.people_of(*over, frame);
                let persons: &[usize] = &persons;
                let inner = |p: usize| Frame {
                    person: Some(p),
                    outer: frame.person,
                    group: None,
                    level: frame.level,
                };
                match func {
                    Aggregate::Any => Value::Bool(persons.iter().any(|&p| {
                        body.as_ref()
                            .is_some_and(|b| self.eval(b, inner(p)).truth())
                    })),
                    Aggregate::All => Value::Bool(persons.iter().all(|&p| {
                        body.as_ref()
                            .is_some_and(|b| self.eval(b, inner(p)).truth())
                    })),
                    Aggregate::Count => Value::Num(Num::int(match body {
                        None => persons.len() as i64,
                        Some(b) => persons
                            .iter()
                            .filter(|&&p| self.eval(b, inner(p)).truth())
                            .count() as i64,
                    })),
                    Aggregate::Sum => Value::Num(persons.iter().fold(Num::int(0), |acc, &p| {
                        acc.plus(
                            body.as_ref()
                                .map_or(Num::int(0), |b| self.eval(b, inner(p)).num()),
                        )
                    })),
                }
            }
            Expr::Call { func, args } => self.call(*func, args, frame),
        }
    }

    fn code_set(&self, list: &Expr, frame: Frame<'_>) -> u64 {
        match list {
            Expr::List(items) => items.iter().fold(0u64, |m, x| match self.eval(x, frame) {
                Value::Code(c) => m | (1 << (c & 63)),
                _ => m,
            }),
            other => match self.eval(other, frame) {
                Value::Codes(c) => c,
                _ => 0,
            },
        }
    }

    fn binary(&self, op: BinOp, lhs: &Expr, rhs: &Expr, frame: Frame<'_>) -> Value<'a> {
        match op {
            BinOp::And => {
                return Value::Bool(self.eval(lhs, frame).truth() && self.eval(rhs, frame).truth());
            }
            BinOp::Or => {
                return Value::Bool(self.eval(lhs, frame).truth() || self.eval(rhs, frame).truth());
            }
            _ => {}
        }
        let (l, r) = (self.eval(lhs, frame), self.eval(rhs, frame));
        match op {
            BinOp::Add => Value::Num(l.num().plus(r.num())),
            BinOp::Sub => Value::Num(l.num().minus(r.num())),
            BinOp::Mul => Value::Num(l.num().times(r.num())),
            BinOp::Eq | BinOp::Ne => {
                let eq = match (l, r) {
                    (Value::Num(a), Value::Num(b)) => a.cmp_num(b).is_eq(),
                    (Value::Bool(a), Value::Bool(b)) => a == b,
                    (Value::Code(a), Value::Code(b)) => a == b,
                    _ => false,
                };
                Value::Bool(if op == BinOp::Eq { eq } else { !eq })
            }
            _ => {
                let o = l.num().cmp_num(r.num());
                Value::Bool(match op {
                    BinOp::Lt => o.is_lt(),
                    BinOp::Le => o.is_le(),
                    BinOp::Gt => o.is_gt(),
                    _ => o.is_ge(),
                })
            }
        }
    }

    fn call(&self, func: Func, args: &[Expr], frame: Frame<'_>) -> Value<'a> {
        let arg = |i: usize| {
            args.get(i)
                .map_or(Value::Bool(false), |a| self.eval(a, frame))
        };
        match func {
            Func::Min | Func::Max => {
                let (a, b) = (arg(0).num(), arg(1).num());
                let a_first = a.cmp_num(b).is_le() == (func == Func::Min);
                Value::Num(if a_first { a } else { b })
            }
            Func::Has => match (arg(0), arg(1)) {
                (Value::Codes(s), Value::Code(c)) => Value::Bool(s & (1 << (c & 63)) != 0),
                _ => Value::Bool(false),
            },
            Func::Subset | Func::Overlaps => {
                let Value::Codes(s) = arg(0) else {
                    return Value::Bool(false);
                };
                let list = args.get(1).map_or(0, |l| self.code_set(l, frame));
                Value::Bool(if func == Func::Subset {
                    s & !list == 0
                } else {
                    s & list != 0
                })
            }
            Func::SumLe | Func::AnyGt => {
                let Value::List(list) = arg(0) else {
                    return Value::Bool(false);
                };
                let limit = arg(1).num();
                if func == Func::SumLe {
                    Value::Num(list.iter().fold(Num::int(0), |acc, f| {
                        if Num::int(f.0).cmp_num(limit).is_le() {
                            acc.plus(Num::int(f.0))
                        } else {
                            acc
                        }
                    }))
                } else {
                    Value::Bool(list.iter().any(|f| Num::int(f.0).cmp_num(limit).is_gt()))
                }
            }
            Func::AssetsPass => {
                let (Some(Expr::Collection(c)), Some(level)) = (args.first(), args.get(1)) else {
                    return Value::Bool(false);
                };
                let Value::Code(level) = self.eval(level, frame) else {
                    return Value::Bool(false);
                };
                Value::Bool(self.assets_pass(*c, &frame, level))
            }
            Func::Signal => match args.first() {
                Some(Expr::Code { id, .. }) => {
                    Value::Bool(self.fired.get(*id as usize).copied().unwrap_or(false))
                }
                _ => Value::Bool(false),
            },
        }
    }

    fn failing_assets(&self, group: &[usize], level: u16) -> Vec<&'a Rule> {
        let frame = Frame {
            person: None,
            outer: None,
            group: Some(group),
            level,
        };
        self.pack
            .assets
            .iter()
            .filter(|r| self.holds(r, frame))
            .collect()
    }

    fn holds(&self, rule: &Rule, frame: Frame<'_>) -> bool {
        match rule.code.0.as_deref() {
            Some(compile::Node::Bool(f)) => f(self, &frame),
            _ => self.eval(&rule.expr, frame).truth(),
        }
    }

    fn amount(&self, rule: &Rule, frame: Frame<'_>) -> i64 {
        match rule.code.0.as_deref() {
            Some(compile::Node::Num(f)) => f(self, &frame).round(),
            _ => self.eval(&rule.expr, frame).num().round(),
        }
    }

    // ---- explanations ----

    fn ty_of(&self, e: &Expr) -> Type {
        match e {
            Expr::Bool(_) => Type::Bool,
            Expr::Num(n) => {
                if n.scale == 0 {
                    Type::Int
                } else {
                    Type::Ratio
                }
            }
            Expr::Fact { kind, id, .. } => match kind {
                FactKind::PersonBase => BASE_FACTS.get(*id as usize).map_or(Type::Bool, |f| f.1),
                FactKind::PersonDerived => self
                    .pack
                    .derived
                    .get(*id as usize)
                    .map_or(Type::Bool, |r| r.ty),
                FactKind::PersonState => PERSON_STATE_FACTS
                    .get(*id as usize)
                    .map_or(Type::Bool, |f| f.1),
                FactKind::Household => HOUSEHOLD_FACTS
                    .get(*id as usize)
                    .map_or(Type::Bool, |f| f.1),
                FactKind::Group => GROUP_FACTS.get(*id as usize).map_or(Type::Bool, |f| f.1),
                FactKind::Relation => Type::Bool,
            },
            Expr::Param { id, .. } => self
                .pack
                .params
                .get(*id as usize)
                .map_or(Type::Int, |p| p.unit.value_type()),
            Expr::Aggregate { func, body, .. } => match func {
                Aggregate::Any | Aggregate::All => Type::Bool,
                Aggregate::Count => Type::Int,
                Aggregate::Sum => body.as_ref().map_or(Type::Int, |b| self.ty_of(b)),
            },
            Expr::Binary { op, lhs, rhs } => match op {
                BinOp::Add | BinOp::Sub => self.ty_of(lhs),
                BinOp::Mul => {
                    let (l, r) = (self.ty_of(lhs), self.ty_of(rhs));
                    if matches!(l, Type::Int | Type::Ratio) {
                        r
                    } else {
                        l
                    }
                }
                _ => Type::Bool,
            },
            Expr::Call { func, args } => match func {
                Func::Min | Func::Max => args.first().map_or(Type::Int, |a| self.ty_of(a)),
                Func::SumLe => Type::Money,
                _ => Type::Bool,
            },
            _ => Type::Bool,
        }
    }

    fn show(&self, v: Value<'_>, ty: Type) -> String {
        match (v, ty) {
            (Value::Bool(b), _) => if b { "yes" } else { "no" }.to_owned(),
            (Value::Num(n), Type::Money) => Fen(n.round()).to_string(),
            (Value::Num(n), Type::Area) => format!("{n} m²"),
            (Value::Num(n), Type::Energy) => format!("{n} kWh"),
            (Value::Num(n), _) => n.to_string(),
            (Value::Code(c), Type::Code(d)) => {
                d.words().get(c as usize).copied().unwrap_or("?").to_owned()
            }
            (Value::Codes(s), Type::Codes(d)) => {
                let words: Vec<&str> = d
                    .words()
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| s & (1 << i) != 0)
                    .map(|(_, w)| *w)
                    .collect();
                format!("[{}]", words.join(", "))
            }
            (Value::List(l), _) => {
                let items: Vec<String> = l.iter().map(ToString::to_string).collect();
                format!("[{}]", items.join(", "))
            }
            (Value::Code(c), _) => c.to_string(),
            (Value::Codes(s), _) => format!("{s:#x}"),
        }
    }

    fn collect(
        &self,
        e: &Expr,
        frame: Frame<'_>,
        facts: &mut Vec<(String, String)>,
        params: &mut Vec<(String, String)>,
    ) {
        let push = |list: &mut Vec<(String, String)>, k: String, v: String| {
            if !list.iter().any(|(x, _)| *x == k) {
                list.push((k, v));
            }
        };
        match e {
            Expr::Fact { name, .. } => {
                let v = self.eval(e, frame);
                push(facts, name.clone(), self.show(v, self.ty_of(e)));
            }
            Expr::Param { key, .. } => {
                if let Some(ParamKey::Dynamic(k)) = key {
                    self.collect(k, frame, facts, params);
                }
                let v = self.eval(e, frame);
                let shown = match self.pack.params.get(match e {
                    Expr::Param { id, .. } => *id as usize,
                    _ => 0,
                }) {
                    Some(p) => match v {
                        Value::Num(n) => p.unit.show(n),
                        other => self.show(other, self.ty_of(e)),
                    },
                    None => String::new(),
                };
                push(params, e.to_string(), shown);
            }
            Expr::Aggregate { .. } | Expr::Call { .. } => {
                let v = self.eval(e, frame);
                push(facts, e.to_string(), self.show(v, self.ty_of(e)));
                if let Expr::Call { args, .. } = e {
                    for a in args {
                        if matches!(a, Expr::Param { .. }) {
                            self.collect(a, frame, facts, params);
                        }
                    }
                }
            }
            Expr::Not(x) | Expr::Neg(x) => self.collect(x, frame, facts, params),
            Expr::Binary { lhs, rhs, .. } => {
                self.collect(lhs, frame, facts, params);
                self.collect(rhs, frame, facts, params);
            }
            Expr::In { value, list } => {
                self.collect(value, frame, facts, params);
                self.collect(list, frame, facts, params);
            }
            _ => {}
        }
    }

    /// The explanation step of a rule, when explaining (inlined, so that the plain path
    /// neither builds nor moves a step).
    #[inline]
    fn step(
        &self,
        result: &str,
        rule: &Rule,
        frame: Frame<'_>,
        holds: bool,
        explain: bool,
    ) -> Option<Step> {
        if explain {
            Some(self.explain_step(result, rule, frame, holds))
        } else {
            None
        }
    }

    #[inline(never)]
    fn explain_step(&self, result: &str, rule: &Rule, frame: Frame<'_>, holds: bool) -> Step {
        let mut facts = Vec::new();
        let mut params = Vec::new();
        self.collect(&rule.expr, frame, &mut facts, &mut params);
        if let Some(p) = frame.person {
            let key = &self.people[p].id;
            facts.insert(0, ("person".into(), mask(key)));
        }
        let verdict_zh = if holds { "成立" } else { "不成立" };
        let verdict_en = if holds { "holds" } else { "does not hold" };
        Step {
            result: result.to_owned(),
            rule: rule.id.clone(),
            source: rule.source.clone(),
            holds,
            facts,
            params,
            text_zh: format!("{}（{}）：{}", rule.zh, verdict_zh, rule.expr),
            text_en: format!("{} ({}): {}", rule.en, verdict_en, rule.expr),
        }
    }

    // ---- the procedure ----

    fn run(
        &mut self,
        household_id: &str,
        region: domain::RegionCode,
        set: &str,
        options: Options,
    ) -> Outcome {
        let explain = options.explain;
        let pack = self.pack;
        let hid = household_id.to_string();
        let mut persons = Vec::new();

        // 特困, person by person.
        for li in 0..self.living.len() {
            let m = self.living[li];
            let frame = Frame {
                person: Some(m),
                ..HOUSEHOLD
            };
            if self.holds(&pack.tekun, frame) {
                self.tekun[m] = true;
                self.tekun_amount[m] = self.amount(&pack.tekun_amount, frame);
            }
        }
        for &m in &self.living {
            if self.tekun[m] {
                let frame = Frame {
                    person: Some(m),
                    ..HOUSEHOLD
                };
                let mut ex = Explanation::default();
                ex.steps
                    .extend(self.step("tekun", &pack.tekun, frame, true, explain));
                ex.steps.extend(self.step(
                    "tekun_amount",
                    &pack.tekun_amount,
                    frame,
                    true,
                    explain,
                ));
                persons.push(PersonResult {
                    person: self.people[m].id.clone(),
                    status: "tekun".into(),
                    amount: Fen(self.tekun_amount[m]),
                    care_level: Some(self.people[m].care_level.as_str().to_owned()),
                    explanation: ex,
                });
            }
        }
        let mut non_tekun = std::mem::take(&mut self.non_tekun);
        non_tekun.clear();
        non_tekun.extend(self.living.iter().copied().filter(|&i| !self.tekun[i]));
        self.non_tekun = non_tekun;
        self.non_tekun_sums = money_sums(&self.people, &self.non_tekun);
        let mut memo = self.assets_memo.get();
        memo[4..].fill(0);
        self.assets_memo.set(memo);

        // Household tier on H′.
        let mut tier_ex = Explanation::default();
        if self.living.is_empty() {
            self.tier = tier_index("none");
        } else if self.non_tekun.is_empty() {
            self.tier = tier_index("tekun");
            if explain {
                tier_ex.push(Step {
                    result: "tier".into(),
                    rule: "tier:tekun".into(),
                    source: pack.tekun.source.clone(),
                    holds: true,
                    facts: vec![("tekun_members".into(), self.living.len().to_string())],
                    params: Vec::new(),
                    text_zh: "全部在世成员均为特困人员，家庭层级为特困".into(),
                    text_en: "every living member is tekun, so the tier is tekun".into(),
                });
            }
        } else {
            self.tier = tier_index("none");
            for t in &pack.tiers {
                let holds = self.holds(&t.when, HOUSEHOLD);
                tier_ex
                    .steps
                    .extend(self.step("tier", &t.when, HOUSEHOLD, holds, explain));
                if holds {
                    self.tier = t.tier;
                    if let Some(a) = &t.amount {
                        self.dibao_amount = self.amount(a, HOUSEHOLD).max(0);
                        tier_ex.steps.extend(self.step(
                            "dibao_amount",
                            a,
                            HOUSEHOLD,
                            true,
                            explain,
                        ));
                    }
                    break;
                }
            }
            if explain && self.tier == tier_index("none") {
                tier_ex.push(Step {
                    result: "tier".into(),
                    rule: "tier:none".into(),
                    source: String::new(),
                    holds: true,
                    facts: Vec::new(),
                    params: Vec::new(),
                    text_zh: "以上层级规则均不成立，层级为无".into(),
                    text_en: "no tier rule holds, so the tier is none".into(),
                });
            }
        }
        if Domain::Tier.words()[self.tier as usize] != "dibao" {
            self.dibao_amount = 0;
        }

        // 单人保.
        if pack.dibao_single.tiers.contains(&self.tier) {
            for ni in 0..self.non_tekun.len() {
                let m = self.non_tekun[ni];
                let frame = Frame {
                    person: Some(m),
                    ..HOUSEHOLD
                };
                if !self.holds(&pack.dibao_single.when, frame) {
                    continue;
                }
                let Some(route) = pack
                    .dibao_single
                    .routes
                    .iter()
                    .find(|r| self.holds(r, frame))
                else {
                    continue;
                };
                self.single[m] = true;
                self.single_amount[m] = self.amount(&pack.dibao_single.amount, frame).max(0);
                let mut ex = Explanation::default();
                ex.steps.extend(self.step(
                    "dibao_single",
                    &pack.dibao_single.when,
                    frame,
                    true,
                    explain,
                ));
                ex.steps
                    .extend(self.step("dibao_single", route, frame, true, explain));
                ex.steps.extend(self.step(
                    "dibao_single_amount",
                    &pack.dibao_single.amount,
                    frame,
                    true,
                    explain,
                ));
                persons.push(PersonResult {
                    person: self.people[m].id.clone(),
                    status: "dibao_single".into(),
                    amount: Fen(self.single_amount[m]),
                    care_level: None,
                    explanation: ex,
                });
            }
        }

        let anomalies = self.anomalies(&hid, explain);

        // Signals.
        let mut signals = Vec::new();
        for (si, s) in pack.signals.iter().enumerate() {
            // The targets, by position: the household, each living member or each deceased
            // member.
            let count = match s.about {
                About::Household => usize::from(!self.living.is_empty()),
                About::Person => self.living.len(),
                About::Deceased => self.n_members,
                About::Tekun | About::DibaoSingle => 0,
            };
            for k in 0..count {
                let t = match s.about {
                    About::Person => Some(self.living[k]),
                    About::Deceased if self.people[k].status == PersonStatus::Deceased => Some(k),
                    About::Deceased => continue,
                    _ => None,
                };
                let frame = Frame {
                    person: t,
                    ..HOUSEHOLD
                };
                if self.holds(&s.when, frame) {
                    self.fired[si] = true;
                    self.level = self.level.max(s.level);
                    let mut ex = Explanation::default();
                    ex.steps
                        .extend(self.step("signal", &s.when, frame, true, explain));
                    signals.push(SignalResult {
                        signal: s.when.id.clone(),
                        level: Domain::Level.words()[s.level as usize].to_owned(),
                        person: t.map(|p| self.people[p].id.clone()),
                        explanation: ex,
                    });
                }
            }
        }

        // Tags and score.
        let mut tags = Vec::new();
        let mut points = 0i64;
        let mut tags_ex = Explanation::default();
        if !self.living.is_empty() {
            for t in &pack.tags {
                if self.holds(&t.when, HOUSEHOLD) {
                    tags.push(t.when.id.clone());
                    points = points.saturating_add(t.points);
                    tags_ex
                        .steps
                        .extend(self.step("tag", &t.when, HOUSEHOLD, true, explain));
                }
            }
        }
        let score = points.min(pack.score_cap).max(0);
        tags.sort_unstable();
        tags.dedup();

        // Package.
        let mut packages = Vec::new();
        if !self.living.is_empty() {
            for item in &pack.catalogue {
                if self.holds(&item.when, HOUSEHOLD) {
                    let mut ex = Explanation::default();
                    ex.steps
                        .extend(self.step("package", &item.when, HOUSEHOLD, true, explain));
                    let amount = item.amount.as_ref().map(|a| {
                        ex.steps
                            .extend(self.step("package_amount", a, HOUSEHOLD, true, explain));
                        Fen(self.amount(a, HOUSEHOLD).max(0))
                    });
                    packages.push(PackageRow {
                        kind: item.kind.clone(),
                        item: item.when.id.clone(),
                        amount,
                        reason: item.reason.clone(),
                        explanation: ex,
                    });
                }
            }
        }

        let n = i128::from(self.living.len() as i64);
        let total: i128 = self
            .living
            .iter()
            .map(|&i| i128::from(self.people[i].income.0))
            .sum();
        // Half up: (2·total + n) / (2n), incomes being non-negative.
        let per_capita = if n == 0 {
            0
        } else {
            i64::try_from((2 * total + n).div_euclid(2 * n)).unwrap_or(i64::MAX)
        };

        Outcome {
            household_id: hid,
            region: region.as_str().to_owned(),
            set: set.to_owned(),
            size: self.living.len(),
            tekun_members: self.living.iter().filter(|&&i| self.tekun[i]).count(),
            per_capita_income: Fen(per_capita),
            tier: Domain::Tier.words()[self.tier as usize].to_owned(),
            dibao_amount: Fen(self.dibao_amount),
            tier_explanation: tier_ex,
            persons,
            anomalies,
            signals,
            level: Domain::Level.words()[self.level as usize].to_owned(),
            tags,
            score,
            tags_explanation: tags_ex,
            packages,
        }
    }

    fn anomalies(&self, hid: &str, explain: bool) -> Vec<Anomaly> {
        let pack = self.pack;
        let prog = |p: u16| {
            Domain::Program
                .words()
                .get(p as usize)
                .copied()
                .unwrap_or("?")
        };
        let mut found: Vec<Anomaly> = Vec::new();
        let mut add = |kind: &str,
                       program: &str,
                       household: &str,
                       person: Option<&PersonKey>,
                       reasons: Vec<String>,
                       steps: Vec<Step>| {
            if reasons.is_empty() {
                return;
            }
            if let Some(a) = found.iter_mut().find(|a| {
                a.kind == kind
                    && a.program == program
                    && a.household_id == household
                    && a.person.as_ref() == person
            }) {
                a.reasons.extend(reasons);
                a.reasons.sort();
                a.reasons.dedup();
                a.explanation.steps.extend(steps);
                return;
            }
            let mut reasons = reasons;
            reasons.sort();
            reasons.dedup();
            found.push(Anomaly {
                kind: kind.into(),
                program: program.into(),
                household_id: household.into(),
                person: person.cloned(),
                reasons,
                explanation: Explanation { steps },
            });
        };
        let simple_step = |result: &str,
                           rule: &str,
                           source: &str,
                           facts: Vec<(String, String)>,
                           zh: String,
                           en: String| Step {
            result: result.into(),
            rule: rule.into(),
            source: source.into(),
            holds: true,
            facts,
            params: Vec::new(),
            text_zh: zh,
            text_en: en,
        };

        // Wrong inclusion: running spells of deceased or emigrated members.
        for p in 0..self.n_members {
            let person = self.people[p];
            let Some(st) = Domain::PersonStatus.index(person.status.as_str()) else {
                continue;
            };
            if !pack.status_reasons.contains(&st) {
                continue;
            }
            for s in &person.running {
                let steps = if explain {
                    vec![simple_step(
                        "anomaly:wrong_inclusion",
                        "wrong_inclusion:status",
                        &self.reason_source(person.status.as_str()),
                        vec![
                            ("person".into(), mask(&person.id)),
                            ("status".into(), person.status.as_str().into()),
                            ("running".into(), s.program.as_str().into()),
                        ],
                        format!(
                            "人员状态为{}，仍有在保的{}",
                            person.status.as_str(),
                            s.program.as_str()
                        ),
                        format!(
                            "status is {} while a {} spell is running",
                            person.status.as_str(),
                            s.program.as_str()
                        ),
                    )]
                } else {
                    Vec::new()
                };
                add(
                    "wrong_inclusion",
                    s.program.as_str(),
                    &s.household_id,
                    Some(&person.id),
                    vec![person.status.as_str().to_owned()],
                    steps,
                );
            }
        }

        // Wrong inclusion: household programs.
        for check in &pack.household_checks {
            let bit = 1u64 << check.program;
            if self.living.is_empty() {
                let named = self.people.iter().any(|p| {
                    p.running.iter().any(|s| {
                        s.household_id == hid && program_index(s.program) == Some(check.program)
                    })
                });
                if named && let Some(code) = &check.not_found {
                    let steps = if explain {
                        vec![simple_step(
                            "anomaly:wrong_inclusion",
                            code,
                            &check.source,
                            Vec::new(),
                            "救助家庭编号下没有在世成员".into(),
                            "no living member has this household id".into(),
                        )]
                    } else {
                        Vec::new()
                    };
                    add(
                        "wrong_inclusion",
                        prog(check.program),
                        hid,
                        None,
                        vec![code.clone()],
                        steps,
                    );
                }
                continue;
            }
            if self.running_programs & bit == 0 {
                continue;
            }
            if self.non_tekun.is_empty() {
                if let Some(code) = &check.all_tekun {
                    let steps = if explain {
                        vec![simple_step(
                            "anomaly:wrong_inclusion",
                            code,
                            &check.source,
                            Vec::new(),
                            "全部在世成员均为特困人员".into(),
                            "every living member is tekun".into(),
                        )]
                    } else {
                        Vec::new()
                    };
                    add(
                        "wrong_inclusion",
                        prog(check.program),
                        hid,
                        None,
                        vec![code.clone()],
                        steps,
                    );
                }
                continue;
            }
            let (reasons, steps) = self.check_reasons(&check.reasons, HOUSEHOLD, explain);
            add(
                "wrong_inclusion",
                prog(check.program),
                hid,
                None,
                reasons,
                steps,
            );
        }

        // Wrong inclusion: person programs (tekun).
        for check in &pack.person_checks {
            for &m in &self.living {
                let person = self.people[m];
                let spells: Vec<&str> = person
                    .running
                    .iter()
                    .filter(|s| program_index(s.program) == Some(check.program))
                    .map(|s| s.household_id.as_str())
                    .collect();
                if spells.is_empty()
                    || (Domain::Program.words()[check.program as usize] == "tekun" && self.tekun[m])
                {
                    continue;
                }
                let frame = Frame {
                    person: Some(m),
                    ..HOUSEHOLD
                };
                let (reasons, steps) = self.check_reasons(&check.reasons, frame, explain);
                for h in spells {
                    add(
                        "wrong_inclusion",
                        prog(check.program),
                        h,
                        Some(&person.id),
                        reasons.clone(),
                        steps.clone(),
                    );
                }
            }
        }

        // Omissions.
        for o in &pack.omissions {
            match o.about {
                About::Household => {
                    if !self.living.is_empty() && self.holds(&o.when, HOUSEHOLD) {
                        let steps: Vec<Step> = self
                            .step("anomaly:omission", &o.when, HOUSEHOLD, true, explain)
                            .into_iter()
                            .collect();
                        add(
                            "omission",
                            prog(o.program),
                            hid,
                            None,
                            vec![o.reason.clone()],
                            steps,
                        );
                    }
                }
                About::Tekun | About::DibaoSingle => {
                    for &m in &self.living {
                        let chosen = if o.about == About::Tekun {
                            self.tekun[m]
                        } else {
                            self.single[m]
                        };
                        let frame = Frame {
                            person: Some(m),
                            ..HOUSEHOLD
                        };
                        if chosen && self.holds(&o.when, frame) {
                            let steps: Vec<Step> = self
                                .step("anomaly:omission", &o.when, frame, true, explain)
                                .into_iter()
                                .collect();
                            add(
                                "omission",
                                prog(o.program),
                                hid,
                                Some(&self.people[m].id),
                                vec![o.reason.clone()],
                                steps,
                            );
                        }
                    }
                }
                About::Person | About::Deceased => {}
            }
        }

        // Duplicates.
        let d = &pack.duplicates;
        for p in 0..self.n_members {
            let person = self.people[p];
            let count = |prog_i: u16| {
                person
                    .running
                    .iter()
                    .filter(|s| program_index(s.program) == Some(prog_i))
                    .count()
            };
            for &pr in &d.programs {
                if count(pr) >= 2 {
                    let steps = if explain {
                        vec![simple_step(
                            "anomaly:duplicate",
                            &d.same_reason,
                            &d.source,
                            vec![
                                ("person".into(), mask(&person.id)),
                                ("program".into(), prog(pr).into()),
                                ("running_spells".into(), count(pr).to_string()),
                            ],
                            format!("同一项目{}有两段以上在保记录", prog(pr)),
                            format!("two or more running {} spells", prog(pr)),
                        )]
                    } else {
                        Vec::new()
                    };
                    add(
                        "duplicate",
                        prog(pr),
                        hid,
                        Some(&person.id),
                        vec![d.same_reason.clone()],
                        steps,
                    );
                }
            }
            for &(a, b) in &d.exclusive {
                if count(a) >= 1 && count(b) >= 1 {
                    let steps = if explain {
                        vec![simple_step(
                            "anomaly:duplicate",
                            &d.exclusive_reason,
                            &d.source,
                            vec![
                                ("person".into(), mask(&person.id)),
                                ("programs".into(), format!("{}, {}", prog(a), prog(b))),
                            ],
                            format!("{}与{}不得同时享受", prog(a), prog(b)),
                            format!("{} and {} exclude each other", prog(a), prog(b)),
                        )]
                    } else {
                        Vec::new()
                    };
                    add(
                        "duplicate",
                        prog(a),
                        hid,
                        Some(&person.id),
                        vec![d.exclusive_reason.clone()],
                        steps,
                    );
                }
            }
        }
        found
    }

    fn reason_source(&self, code: &str) -> String {
        self.pack
            .reasons
            .iter()
            .find(|r| r.code == code)
            .map(|r| r.source.clone())
            .unwrap_or_default()
    }

    fn check_reasons(
        &self,
        rules: &[ReasonRule],
        frame: Frame<'_>,
        explain: bool,
    ) -> (Vec<String>, Vec<Step>) {
        let mut reasons = Vec::new();
        let mut steps = Vec::new();
        for r in rules {
            match r {
                ReasonRule::When(rule) => {
                    if self.holds(rule, frame) {
                        reasons.push(rule.id.clone());
                        steps.extend(self.step(
                            "anomaly:wrong_inclusion",
                            rule,
                            frame,
                            true,
                            explain,
                        ));
                    }
                }
                ReasonRule::Assets { level, over } => {
                    // No asset reason fails where the assets are known to pass.
                    if self.assets_known_to_pass(*over, *level) {
                        continue;
                    }
                    let (group, _) = self.people_of(*over, frame);
                    let gframe = Frame {
                        person: None,
                        outer: None,
                        group: Some(&group),
                        level: *level,
                    };
                    for rule in self.failing_assets(&group, *level) {
                        reasons.push(rule.id.clone());
                        steps.extend(self.step(
                            "anomaly:wrong_inclusion",
                            rule,
                            gframe,
                            true,
                            explain,
                        ));
                    }
                }
            }
        }
        (reasons, steps)
    }
}

/// Masks a person key for explanations: the first 6 and last 4 characters of a long key.
pub fn mask(key: &PersonKey) -> String {
    let chars: Vec<char> = key.0.chars().collect();
    if chars.len() >= 15 {
        let head: String = chars[..6].iter().collect();
        let tail: String = chars[chars.len() - 4..].iter().collect();
        format!("{head}********{tail}")
    } else {
        key.0.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_fact_arms_follow_the_declared_order() {
        let src = include_str!("eval.rs");
        let body = src.split("fn base(").nth(1).unwrap_or_default();
        for (i, (name, _, _)) in BASE_FACTS.iter().enumerate() {
            if code_slot(i as u16).is_some() {
                continue; // read from the cache: `person_codes_follow_code_facts`
            }
            let arm = format!("            {i} => ");
            let at = body
                .find(&arm)
                .unwrap_or_else(|| panic!("no arm {i} for {name}"));
            let line = &body[at..at + body[at..].find('\n').unwrap_or(0)];
            let next = &body[at..];
            let field = match *name {
                "electricity_kwh" => "electricity_centi_kwh",
                "active_vehicle_types" => "c.vehicles",
                "recent_vehicle_types" => "c.recent_vehicles",
                other => other,
            };
            assert!(
                line.contains(field) || next[..200.min(next.len())].contains(field),
                "arm {i} is not {name}: {line}"
            );
        }
    }

    #[test]
    fn person_codes_follow_code_facts() {
        use domain::{DisabilityCategory, EmploymentStatus};
        let f = PersonFacts {
            disability_category: Some(DisabilityCategory::Mental),
            recent_disability_category: None,
            care_level: crate::facts::CareLevel::Full,
            employment_status: Some(EmploymentStatus::Unemployed),
            previous_employment_status: Some(EmploymentStatus::Retired),
            status: PersonStatus::Deceased,
            ..PersonFacts::default()
        };
        let expected = [
            ("disability_category", "mental"),
            ("recent_disability_category", "none"),
            ("care_level", "full"),
            ("employment_status", "unemployed"),
            ("previous_employment_status", "retired"),
            ("status", "deceased"),
        ];
        let codes = person_codes(&f);
        for (slot, (name, word)) in expected.iter().enumerate() {
            assert_eq!(CODE_FACTS[slot], *name);
            let id = BASE_FACTS.iter().position(|b| b.0 == *name).unwrap() as u16;
            assert_eq!(code_slot(id), Some(slot));
            let Type::Code(domain) = BASE_FACTS[id as usize].1 else {
                panic!("{name} is a code fact");
            };
            assert_eq!(domain.words()[codes[slot] as usize], *word, "{name}");
        }
    }
}
