//! Reads the rows of the person facts plans into `policy::PersonFacts`: the population rows
//! first, then the rows of every feed's reduction into the facts of their persons; ages and
//! month counts from the raw dates, code words into domain enums, lists into their Rust shapes.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Date32Type, Int64Type};
use domain::{
    DisabilityCategory, EmploymentStatus, Fen, PersonStatus, Program, RegionCode, Relation,
    VehicleType, age_on,
};
use policy::facts::{CareLevel, Home, NEVER, PersonFacts, PersonKey, RunningSpell};
use rustc_hash::FxHashMap;

use crate::MonitorError;
use crate::facts::{Bounds, Part, employment_status, months_between};
use domain::Date;

/// The columns of one facts batch by name, looked up once per batch (a schema look-up per
/// value compared every field name: most of the time spent reading the facts).
type Columns<'a> = FxHashMap<&'a str, &'a dyn Array>;

/// A text column of a batch, its type found once per batch (Utf8, LargeUtf8 or Utf8View).
#[derive(Clone, Copy)]
pub(crate) enum Text<'a> {
    Utf8(&'a arrow::array::StringArray),
    Large(&'a arrow::array::LargeStringArray),
    View(&'a arrow::array::StringViewArray),
    Missing,
}

impl<'a> Text<'a> {
    pub(crate) fn of(column: Option<&'a dyn Array>) -> Text<'a> {
        match column {
            Some(c) => match c.data_type() {
                DataType::Utf8 => Text::Utf8(c.as_string::<i32>()),
                DataType::LargeUtf8 => Text::Large(c.as_string::<i64>()),
                DataType::Utf8View => Text::View(c.as_string_view()),
                _ => Text::Missing,
            },
            None => Text::Missing,
        }
    }

    pub(crate) fn get(self, i: usize) -> Option<&'a str> {
        match self {
            Text::Utf8(a) => (!a.is_null(i)).then(|| a.value(i)),
            Text::Large(a) => (!a.is_null(i)).then(|| a.value(i)),
            Text::View(a) => (!a.is_null(i)).then(|| a.value(i)),
            Text::Missing => None,
        }
    }

    /// The value trimmed; `None` when null or blank.
    pub(crate) fn trimmed(self, i: usize) -> Option<&'a str> {
        self.get(i).map(str::trim).filter(|s| !s.is_empty())
    }
}

/// A date column of a batch, found once per batch.
#[derive(Clone, Copy)]
pub(crate) struct Dates<'a>(Option<&'a arrow::array::Date32Array>);

impl<'a> Dates<'a> {
    pub(crate) fn of(column: Option<&'a dyn Array>) -> Dates<'a> {
        Dates(column.and_then(|c| c.as_primitive_opt::<Date32Type>()))
    }

    pub(crate) fn get(self, i: usize) -> Option<Date> {
        let a = self.0?;
        (!a.is_null(i)).then(|| Date::from_days(a.value(i)))
    }
}

/// An integer column of a batch, found once per batch.
#[derive(Clone, Copy)]
pub(crate) struct Ints<'a>(Option<&'a arrow::array::Int64Array>);

impl<'a> Ints<'a> {
    pub(crate) fn of(column: Option<&'a dyn Array>) -> Ints<'a> {
        Ints(column.and_then(|c| c.as_primitive_opt::<Int64Type>()))
    }

    pub(crate) fn get(self, i: usize) -> Option<i64> {
        let a = self.0?;
        (!a.is_null(i)).then(|| a.value(i))
    }
}

/// Typed access to the columns of one facts batch.
struct Row<'a> {
    columns: &'a Columns<'a>,
    i: usize,
}

impl Row<'_> {
    fn column(&self, name: &str) -> Option<&dyn Array> {
        self.columns.get(name).copied()
    }

    fn flag(&self, name: &str) -> bool {
        match self.column(name) {
            Some(c) if !c.is_null(self.i) => c.as_boolean_opt().is_some_and(|a| a.value(self.i)),
            _ => false,
        }
    }

    /// The values of a list column, nulls kept in their places.
    fn texts_all(&self, name: &str) -> Vec<Option<String>> {
        let Some(c) = self.column(name) else {
            return Vec::new();
        };
        if c.is_null(self.i) {
            return Vec::new();
        }
        let Some(list) = c.as_list_opt::<i32>() else {
            return Vec::new();
        };
        let values = list.value(self.i);
        (0..values.len())
            .map(|j| {
                if values.is_null(j) {
                    return None;
                }
                match values.data_type() {
                    DataType::Utf8 => Some(values.as_string::<i32>().value(j).to_string()),
                    DataType::LargeUtf8 => Some(values.as_string::<i64>().value(j).to_string()),
                    DataType::Utf8View => Some(values.as_string_view().value(j).to_string()),
                    _ => None,
                }
            })
            .collect()
    }

    /// The values of a list column of integers, nulls kept in their places.
    fn ints_all(&self, name: &str) -> Vec<Option<i64>> {
        let Some(c) = self.column(name) else {
            return Vec::new();
        };
        if c.is_null(self.i) {
            return Vec::new();
        }
        let Some(list) = c.as_list_opt::<i32>() else {
            return Vec::new();
        };
        let values = list.value(self.i);
        let Some(ints) = values.as_primitive_opt::<Int64Type>() else {
            return Vec::new();
        };
        (0..ints.len())
            .map(|j| (!ints.is_null(j)).then(|| ints.value(j)))
            .collect()
    }

    fn texts(&self, name: &str) -> Vec<String> {
        self.texts_all(name).into_iter().flatten().collect()
    }

    fn ints(&self, name: &str) -> Vec<i64> {
        self.ints_all(name).into_iter().flatten().collect()
    }

    /// The positions of the lists aggregated with `{key}_seqs` and `{key}_rows` in file order
    /// (commit order, then row): the plan's lists come in no particular order.
    fn file_order(&self, key: &str) -> Vec<usize> {
        let seqs = self.ints_all(&format!("{key}_seqs"));
        let rows = self.ints_all(&format!("{key}_rows"));
        let mut order: Vec<usize> = (0..seqs.len()).collect();
        order.sort_by_key(|&k| (seqs[k], rows.get(k).copied().flatten()));
        order
    }

    /// A list column's non-null texts in the given order of positions.
    fn texts_in(&self, name: &str, order: &[usize]) -> Vec<String> {
        let all = self.texts_all(name);
        order
            .iter()
            .filter_map(|&k| all.get(k).cloned().flatten())
            .collect()
    }

    /// A list column's non-null integers in the given order of positions.
    fn ints_in(&self, name: &str, order: &[usize]) -> Vec<i64> {
        let all = self.ints_all(name);
        order
            .iter()
            .filter_map(|&k| all.get(k).copied().flatten())
            .collect()
    }
}

fn months_ago(period: Option<Date>, bounds: &Bounds) -> i64 {
    period.map_or(NEVER, |p| months_between(p.month(), bounds.as_of.month()))
}

fn category(text: Option<&str>) -> Option<DisabilityCategory> {
    text.and_then(DisabilityCategory::parse)
}

fn grade(value: Option<i64>) -> u8 {
    value.map_or(0, |g| u8::try_from(g.clamp(0, 9)).unwrap_or(0))
}

/// The columns of a batch by name (the first of a name, as `RecordBatch::column_by_name` finds
/// it).
fn columns(batch: &RecordBatch) -> Columns<'_> {
    let mut columns = Columns::default();
    for (field, column) in batch.schema_ref().fields().iter().zip(batch.columns()) {
        columns
            .entry(field.name().as_str())
            .or_insert(column.as_ref());
    }
    columns
}

/// Reads every row of a population batch into person facts: the population's own facts, and
/// for every other fact what a person without rows in its feed has.
pub(crate) fn population(
    batch: &RecordBatch,
    bounds: &Bounds,
    out: &mut Vec<PersonFacts>,
) -> Result<(), MonitorError> {
    let columns = columns(batch);
    // every column found and typed once per batch, not per value: ten million persons
    let text = |name: &str| Text::of(columns.get(name).copied());
    let date = |name: &str| Dates::of(columns.get(name).copied());
    let (person_id, household_id, region_code, relation, status) = (
        text("person_id"),
        text("household_id"),
        text("region_code"),
        text("relation"),
        text("status"),
    );
    let (spouse_id, father_id, mother_id) =
        (text("spouse_id"), text("father_id"), text("mother_id"));
    let (birth_date, status_date) = (date("birth_date"), date("status_date"));
    let key = |c: Text<'_>, i: usize| c.get(i).map(|s| PersonKey(s.to_string()));
    for i in 0..batch.num_rows() {
        let Some(id) = person_id.get(i) else {
            continue;
        };
        let age = birth_date
            .get(i)
            .map_or(0, |b| i64::from(age_on(b, bounds.as_of)));
        let status_date = status_date.get(i);
        out.push(PersonFacts {
            id: PersonKey(id.to_string()),
            household_id: household_id.get(i).unwrap_or_default().to_string(),
            region: region_code.get(i).and_then(|c| RegionCode::parse(c).ok()),
            relation: relation
                .get(i)
                .and_then(Relation::parse)
                .unwrap_or(Relation::Other),
            status: status
                .get(i)
                .and_then(PersonStatus::parse)
                .unwrap_or(PersonStatus::Normal),
            status_recent: status_date
                .is_some_and(|d| d >= bounds.recent_from && d <= bounds.as_of),
            spouse: key(spouse_id, i),
            father: key(father_id, i),
            mother: key(mother_id, i),
            age,
            // every other fact as for a person without rows in its feed
            ..PersonFacts::default()
        });
    }
    Ok(())
}

/// Where each person's facts are: person ID → position, and the next position with the same
/// ID (a population listing a person twice gives both rows the person's facts). The table
/// holds each person's [`id_code`] and position: ten million copies of the IDs as keys cost a
/// tenth of the facts stage and half a gigabyte, and comparing an ID with the person's own
/// read the person's ID text from wherever it was — a cache miss per row looked up.
pub(crate) struct PersonIndex {
    first: hashbrown::HashTable<(u64, u32)>,
    next: Vec<u32>,
}

/// The top bit of an [`id_code`] that is a hash, not the ID itself.
const HASHED: u64 = 1 << 63;

/// A person ID as a number: a resident ID in its canonical form (17 digits and a check
/// character, a digit or `X`) is its own number below 2^63, one to one — every valid ID of the
/// lake; any other text is its hash with the top bit set, which only comparing the texts
/// confirms.
pub(crate) fn id_code(id: &str) -> u64 {
    let b = id.as_bytes();
    if b.len() == 18 && b[..17].iter().all(u8::is_ascii_digit) {
        let check = match b[17] {
            c @ b'0'..=b'9' => Some(u64::from(c - b'0')),
            b'X' => Some(10),
            _ => None,
        };
        if let Some(check) = check {
            let digits = b[..17]
                .iter()
                .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
            // below 10^17 · 11 < 2^63
            return digits * 11 + check;
        }
    }
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(id) | HASHED
}

/// Where a code goes in the table.
fn code_hash(code: u64) -> u64 {
    // the codes of one district share their leading digits: spread them over all bits
    code.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(26)
}

/// Whether an entry of the index is the person with `id`, whose code is `code`: the code
/// alone tells for a canonical ID, a hashed one is confirmed by the person's own ID.
fn same_id<'a>(
    persons: &'a [PersonFacts],
    id: &'a str,
    code: u64,
) -> impl Fn(&(u64, u32)) -> bool + 'a {
    move |&(c, k)| c == code && (code & HASHED == 0 || persons[k as usize].id.0 == id)
}

impl PersonIndex {
    /// Indexes the persons by ID.
    pub(crate) fn new(persons: &[PersonFacts]) -> PersonIndex {
        let mut first = hashbrown::HashTable::with_capacity(persons.len());
        let mut next = vec![u32::MAX; persons.len()];
        for (i, p) in persons.iter().enumerate() {
            let id = p.id.0.as_str();
            let code = id_code(id);
            match first.find(code_hash(code), same_id(persons, id, code)) {
                Some(&(_, head)) => {
                    // a repeated ID (rare): the position joins the end of its chain
                    let mut tail = head as usize;
                    while next[tail] != u32::MAX {
                        tail = next[tail] as usize;
                    }
                    next[tail] = i as u32;
                }
                None => {
                    first.insert_unique(code_hash(code), (code, i as u32), |&(c, _)| code_hash(c));
                }
            }
        }
        PersonIndex { first, next }
    }

    /// The position of the first person with this ID, among the persons indexed.
    pub(crate) fn first(&self, persons: &[PersonFacts], id: &str) -> Option<usize> {
        let code = id_code(id);
        self.first
            .find(code_hash(code), same_id(persons, id, code))
            .map(|&(_, k)| k as usize)
    }

    /// The positions after `at` with the same ID.
    fn after(&self, at: usize) -> impl Iterator<Item = usize> + '_ {
        let mut at = self.next[at];
        std::iter::from_fn(move || {
            if at == u32::MAX {
                return None;
            }
            let here = at as usize;
            at = self.next[here];
            Some(here)
        })
    }
}

/// Puts the rows of one reduction batch into the facts of their persons (rows of persons not
/// in the population are left out, as a join onto it would).
pub(crate) fn apply(
    part: Part,
    batch: &RecordBatch,
    bounds: &Bounds,
    index: &PersonIndex,
    persons: &mut [PersonFacts],
) {
    let columns = columns(batch);
    let key = Text::of(columns.get(part.key()).copied());
    let set = setter(part, &columns, bounds);
    // The rows' persons are found first, then their facts set: the look-ups of a batch do not
    // wait for each other, so the processor has many of them in flight — each is a miss in a
    // table of millions — where setting a row's facts between two look-ups held it up.
    let found: Vec<Option<usize>> = (0..batch.num_rows())
        .map(|i| key.get(i).and_then(|id| index.first(persons, id)))
        .collect();
    for (i, k) in found.into_iter().enumerate() {
        let Some(k) = k else {
            continue; // no ID, or not in the population
        };
        set(i, &mut persons[k]);
        for k in index.after(k) {
            set(i, &mut persons[k]);
        }
    }
}

/// A boolean column of a batch, found once per batch (null reads as false).
#[derive(Clone, Copy)]
struct Flags<'a>(Option<&'a arrow::array::BooleanArray>);

impl Flags<'_> {
    fn get(self, i: usize) -> bool {
        self.0.is_some_and(|a| !a.is_null(i) && a.value(i))
    }
}

/// Sets the facts of one row (by its number in the batch) on a person.
type Setter<'a> = Box<dyn Fn(usize, &mut PersonFacts) + 'a>;

/// What sets the facts one row of a reduction batch gives: the columns of the parts with one
/// value per fact are found and typed once per batch, not per value (ten million rows); the
/// parts with lists read their rows as [`Row`]s.
fn setter<'a>(part: Part, columns: &'a Columns<'a>, bounds: &'a Bounds) -> Setter<'a> {
    let ints = |name: &str| Ints::of(columns.get(name).copied());
    let dates = |name: &str| Dates::of(columns.get(name).copied());
    let texts = |name: &str| Text::of(columns.get(name).copied());
    let flags = |name: &str| Flags(columns.get(name).and_then(|c| c.as_boolean_opt()));
    match part {
        Part::Income => {
            let declared = ints("declared");
            Box::new(move |i, f| f.income = Fen(f.income.0 + declared.get(i).unwrap_or(0)))
        }
        Part::Finance => {
            let assets = ints("financial_assets");
            Box::new(move |i, f| f.financial_assets = Fen(assets.get(i).unwrap_or(0)))
        }
        Part::Disability => {
            let (g, c) = (ints("disability_grade"), texts("disability_category"));
            let (rg, rc) = (
                ints("recent_disability_grade"),
                texts("recent_disability_category"),
            );
            Box::new(move |i, f| {
                f.disability_grade = grade(g.get(i));
                f.disability_category = category(c.get(i));
                f.recent_disability_grade = grade(rg.get(i));
                f.recent_disability_category = category(rc.get(i));
            })
        }
        Part::Education => {
            let (rows, tuition) = (ints("school_rows"), ints("tuition"));
            Box::new(move |i, f| {
                f.student = rows.get(i).unwrap_or(0) > 0;
                f.tuition = Fen(tuition.get(i).unwrap_or(0));
            })
        }
        Part::Medical => {
            let oop = ints("medical_oop_12m");
            let (major, recent, before, chronic) = (
                flags("major_12m"),
                flags("major_recent"),
                flags("major_before_recent"),
                flags("chronic_12m"),
            );
            Box::new(move |i, f| {
                f.medical_oop_12m = Fen(oop.get(i).unwrap_or(0));
                f.major_12m = major.get(i);
                f.major_recent = recent.get(i);
                f.major_before_recent = before.get(i);
                f.chronic_12m = chronic.get(i);
            })
        }
        Part::Care => {
            let care = texts("self_care");
            Box::new(move |i, f| {
                f.care_level = match care.get(i) {
                    Some("partial") => CareLevel::Partial,
                    Some("none") => CareLevel::Full,
                    _ => CareLevel::Myself,
                };
            })
        }
        Part::Utilities => {
            let (arrears, period) = (ints("arrears_months"), dates("utility_period"));
            let (power, power_period) =
                (ints("electricity_centi_kwh"), dates("electricity_period"));
            Box::new(move |i, f| {
                f.utility_arrears_months = arrears.get(i).unwrap_or(0);
                f.utility_months_ago = months_ago(period.get(i), bounds);
                f.electricity_centi_kwh = power.get(i).unwrap_or(0);
                f.electricity_months_ago = months_ago(power_period.get(i), bounds);
            })
        }
        Part::Employment
        | Part::Business
        | Part::Running
        | Part::AtDeath
        | Part::Vehicles
        | Part::Estate => Box::new(move |i, f| fill_lists(part, &Row { columns, i }, f)),
    }
}

/// Employment from its records per person and period (`emp_pid`, `period`, `status` as an
/// [`crate::facts::employment_code`], `earned`), as policy.md §9 reads them: the latest record
/// in the lookback gives the status, the status of the record before it and the earnings; a
/// job starts in a period whose status is employed or flexible after a record of unemployed
/// or none. Each person's records are taken in period order (one record per period).
pub(crate) fn employment(
    batches: &[RecordBatch],
    bounds: &Bounds,
    index: &PersonIndex,
    persons: &mut [PersonFacts],
) {
    /// One record: the position of its person, the period, the status code and the earnings.
    type Record = (u32, Date, Option<i64>, Option<i64>);
    let rows = batches.iter().map(RecordBatch::num_rows).sum();
    let mut records: Vec<Record> = Vec::with_capacity(rows);
    for batch in batches {
        let columns = columns(batch);
        let key = Text::of(columns.get("emp_pid").copied());
        let period = Dates::of(columns.get("period").copied());
        let status = Ints::of(columns.get("status").copied());
        let earned = Ints::of(columns.get("earned").copied());
        for i in 0..batch.num_rows() {
            let (Some(id), Some(p)) = (key.get(i), period.get(i)) else {
                continue;
            };
            let Some(k) = index.first(persons, id) else {
                continue;
            };
            for k in std::iter::once(k).chain(index.after(k)) {
                records.push((k as u32, p, status.get(i), earned.get(i)));
            }
        }
    }
    records.sort_unstable_by_key(|r| (r.0, r.1));
    let code = crate::facts::employment_code;
    let working = [
        code(EmploymentStatus::Employed),
        code(EmploymentStatus::Flexible),
    ];
    let out_of_work = [
        code(EmploymentStatus::Unemployed),
        code(EmploymentStatus::None),
    ];
    for one in records.chunk_by(|a, b| a.0 == b.0) {
        let mut previous: Option<i64> = None;
        // the latest record in the lookback, with the status of the record before it
        let mut latest: Option<(Record, Option<i64>)> = None;
        let mut job_start: Option<Date> = None;
        for &record in one {
            let (_, period, status, _) = record;
            let starts = status.is_some_and(|s| working.contains(&s))
                && previous.is_some_and(|p| out_of_work.contains(&p));
            if starts {
                job_start = Some(period);
            }
            if period >= bounds.lookback_first {
                latest = Some((record, previous));
            }
            previous = status;
        }
        let f = &mut persons[one[0].0 as usize];
        if let Some(((_, _, status, earned), before)) = latest {
            f.income = Fen(f.income.0 + earned.unwrap_or(0));
            f.employment_status = status.and_then(employment_status);
            f.previous_employment_status = before.and_then(employment_status);
        }
        f.employment_months_ago = months_ago(latest.map(|((_, period, _, _), _)| period), bounds);
        f.job_start_months_ago = months_ago(job_start, bounds);
    }
}

/// Sets the facts of the parts whose reduction rows carry lists ([`setter`] sets the others).
fn fill_lists(part: Part, r: &Row<'_>, f: &mut PersonFacts) {
    match part {
        Part::Business => {
            let mut capitals: Vec<Fen> = r.ints("business_capitals").into_iter().map(Fen).collect();
            capitals.sort();
            f.business_capitals = capitals;
            f.business_recent = r.flag("business_recent");
        }
        Part::Running => {
            let spells = r.file_order("running");
            f.running = r
                .texts_in("running_programs", &spells)
                .into_iter()
                .zip(r.texts_in("running_households", &spells))
                .filter_map(|(p, household_id)| {
                    Program::parse(&p).map(|program| RunningSpell {
                        program,
                        household_id,
                    })
                })
                .collect();
        }
        Part::AtDeath => {
            f.running_at_death = r
                .texts("running_at_death")
                .iter()
                .filter_map(|p| Program::parse(p))
                .collect();
        }
        Part::Vehicles => {
            f.active_vehicle_types = r
                .texts_in("active_vehicle_types", &r.file_order("active_vehicle"))
                .iter()
                .filter_map(|t| VehicleType::parse(t))
                .collect();
            f.recent_vehicle_types = r
                .texts_in("recent_vehicle_types", &r.file_order("recent_vehicle"))
                .iter()
                .filter_map(|t| VehicleType::parse(t))
                .collect();
        }
        Part::Estate => {
            f.nonresidential_property = r.flag("nonresidential_property");
            f.property_recent = r.flag("property_recent");
            let order = r.file_order("home");
            f.homes = r
                .texts_in("home_ids", &order)
                .into_iter()
                .zip(r.ints_in("home_areas", &order))
                .map(|(property, area_centi_m2)| Home {
                    property,
                    area_centi_m2,
                })
                .collect();
        }
        // employment is read by `employment` from its records per person and period; the
        // parts with one value per fact are set by `setter`
        Part::Employment
        | Part::Income
        | Part::Finance
        | Part::Disability
        | Part::Education
        | Part::Medical
        | Part::Care
        | Part::Utilities => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use policy::facts::PersonKey;

    fn person(id: &str) -> PersonFacts {
        PersonFacts {
            id: PersonKey(id.to_string()),
            ..PersonFacts::default()
        }
    }

    #[test]
    fn canonical_ids_are_their_own_codes() {
        let a = id_code("110101199003070011");
        assert_eq!(a, 11_010_119_900_307_001 * 11 + 1);
        assert_ne!(id_code("11010119900307001X"), id_code("110101199003070010"));
        assert_eq!(id_code("11010119900307001X") & HASHED, 0);
        // anything else is hashed, with the top bit set
        for other in [
            "11010119900307001x",
            "1101011990030700",
            "",
            "1101011990030700111",
        ] {
            assert_ne!(id_code(other) & HASHED, 0, "{other}");
        }
    }

    #[test]
    fn the_index_finds_every_id_and_repeats() {
        let ids = [
            "110101199003070011",
            "11010119900307001X",
            "not an id",
            "110101199003070011",
            "11010119900307001x",
        ];
        let persons: Vec<PersonFacts> = ids.iter().map(|i| person(i)).collect();
        let index = PersonIndex::new(&persons);
        assert_eq!(index.first(&persons, "110101199003070011"), Some(0));
        assert_eq!(index.after(0).collect::<Vec<_>>(), vec![3]);
        assert_eq!(index.first(&persons, "11010119900307001X"), Some(1));
        assert_eq!(index.first(&persons, "not an id"), Some(2));
        assert_eq!(index.first(&persons, "11010119900307001x"), Some(4));
        assert_eq!(index.first(&persons, "110101199003070012"), None);
        assert_eq!(index.first(&persons, "not an ID"), None);
    }
}
