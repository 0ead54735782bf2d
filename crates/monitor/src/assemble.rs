//! Reads the rows of the person facts plans into `policy::PersonFacts`: the population rows
//! first, then the rows of every feed's reduction into the facts of their persons; ages and
//! month counts from the raw dates, code words into domain enums, lists into their Rust shapes.

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Date32Type, Int64Type};
use domain::{
    DisabilityCategory, EmploymentStatus, Fen, PersonStatus, Program, RegionCode, Relation,
    ShortText, VehicleType, age_on,
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

/// A list column of a batch (an `array_agg`), found and typed once per batch.
#[derive(Clone, Copy)]
struct List<'a>(Option<&'a arrow::array::ListArray>);

impl<'a> List<'a> {
    fn of(column: Option<&'a dyn Array>) -> List<'a> {
        List(column.and_then(|c| c.as_list_opt::<i32>()))
    }

    /// Where the values of row `i` are among the list's values (none when the list is null).
    fn range(self, i: usize) -> std::ops::Range<usize> {
        match self.0 {
            Some(l) if !l.is_null(i) => {
                let offsets = l.value_offsets();
                offsets[i] as usize..offsets[i + 1] as usize
            }
            _ => 0..0,
        }
    }

    /// The values as text.
    fn texts(self) -> Text<'a> {
        Text::of(self.0.map(|l| l.values().as_ref()))
    }

    /// The values as integers.
    fn ints(self) -> Ints<'a> {
        Ints::of(self.0.map(|l| l.values().as_ref()))
    }

    /// The non-null values of row `i` (read by `get` from the list's values) in the order of
    /// the positions `order`.
    fn in_order<'o, T>(
        self,
        i: usize,
        order: &'o [usize],
        get: impl Fn(usize) -> Option<T> + 'o,
    ) -> impl Iterator<Item = T> + 'o {
        let range = self.range(i);
        order
            .iter()
            .filter_map(move |&k| (k < range.len()).then(|| get(range.start + k)).flatten())
    }
}

/// The lists of one `array_agg` with the file order of their values beside them
/// (`{key}_seqs`, `{key}_rows`: commit order, then row), found once per batch.
#[derive(Clone, Copy)]
struct Ordered<'a> {
    seqs: List<'a>,
    rows: List<'a>,
}

impl<'a> Ordered<'a> {
    fn of(columns: &Columns<'a>, key: &str) -> Ordered<'a> {
        let list =
            |suffix: &str| List::of(columns.get(format!("{key}_{suffix}").as_str()).copied());
        Ordered {
            seqs: list("seqs"),
            rows: list("rows"),
        }
    }

    /// The positions of row `i`'s values in file order (the plan's lists come in no
    /// particular order).
    fn order(self, i: usize) -> Vec<usize> {
        let (seqs, rows) = (self.seqs.range(i), self.rows.range(i));
        let mut order: Vec<usize> = (0..seqs.len()).collect();
        if order.len() > 1 {
            let (s, r) = (self.seqs.ints(), self.rows.ints());
            order.sort_by_key(|&k| {
                let row = (k < rows.len()).then(|| r.get(rows.start + k)).flatten();
                (s.get(seqs.start + k), row)
            });
        }
        order
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
/// for every other fact what a person without rows in its feed has; the [`id_code`] of each
/// person's ID into `codes`.
pub(crate) fn population(
    batch: &RecordBatch,
    bounds: &Bounds,
    out: &mut Vec<PersonFacts>,
    codes: &mut Vec<u64>,
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
    let key = |c: Text<'_>, i: usize| c.get(i).map(|s| PersonKey(s.into()));
    for i in 0..batch.num_rows() {
        let Some(id) = person_id.get(i) else {
            continue;
        };
        let age = birth_date
            .get(i)
            .map_or(0, |b| i64::from(age_on(b, bounds.as_of)));
        let status_date = status_date.get(i);
        codes.push(id_code(id.as_bytes()));
        out.push(PersonFacts {
            id: PersonKey(id.into()),
            household_id: household_id.get(i).unwrap_or_default().into(),
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
///
/// The table is open addressing with linear probing, its slots (code, position) in one
/// array: a look-up reads its first slot and, when that is another person's, the next ones —
/// mostly in the same cache line. A general hash table read a control byte and then,
/// elsewhere in memory, the entry: two misses in a table of millions, the second waiting for
/// the first (the look-ups were a sixth of a run's processor time at ten million persons).
/// One slot per look-up lets [`PersonIndex::first_of_all`] read the first slots of a whole
/// batch in a loop of their own.
pub(crate) struct PersonIndex {
    /// (code, position); position [`NOBODY`] for an empty slot.
    slots: Vec<(u64, u32)>,
    /// A code's first slot is its [`code_hash`] shifted right by this.
    shift: u32,
    next: Vec<u32>,
    /// Every person's ID is canonical ([`PersonIndex::canonical`]).
    canonical: bool,
}

/// The position [`PersonIndex::first_of_all`] gives an ID that is no person's.
pub(crate) const NOBODY: u32 = u32::MAX;

/// The top bit of an [`id_code`] that is a hash, not the ID itself.
const HASHED: u64 = 1 << 63;

/// A person ID as a number: a resident ID in its canonical form (17 digits and a check
/// character, a digit or `X`) is its own number below 2^63, one to one — every valid ID of the
/// lake; any other text is its hash with the top bit set, which only comparing the texts
/// confirms.
pub(crate) fn id_code(b: &[u8]) -> u64 {
    canonical_code(b).unwrap_or_else(|| {
        use std::hash::BuildHasher;
        rustc_hash::FxBuildHasher.hash_one(b) | HASHED
    })
}

/// The number of a resident ID in its canonical form ([`id_code`]); `None` for any other text.
pub(crate) fn canonical_code(b: &[u8]) -> Option<u64> {
    let (Some(high), Some(low), &[last, check]) = (
        b.get(..8).and_then(eight_digits),
        b.get(8..16).and_then(eight_digits),
        b.get(16..).unwrap_or_default(),
    ) else {
        return None;
    };
    if !last.is_ascii_digit() {
        return None;
    }
    let check = match check {
        c @ b'0'..=b'9' => u64::from(c - b'0'),
        b'X' => 10,
        _ => return None,
    };
    let digits = (high * 100_000_000 + low) * 10 + u64::from(last - b'0');
    // below 10^17 · 11 < 2^63
    Some(digits * 11 + check)
}

/// The number that eight ASCII digits write, read as one word; `None` unless all eight are
/// digits. Every row of every feed has its person's ID turned into a number: character by
/// character, each step waiting for the last, that was 3 % of a run's processor time at a
/// million persons, 1.8 % read by words.
fn eight_digits(bytes: &[u8]) -> Option<u64> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let word = u64::from_le_bytes(bytes.try_into().ok()?);
    // every byte less '0': a digit gives 0 … 9; a smaller byte wraps to 0xD0 or more, and a
    // larger one gives 10 or more, which adding 0x76 takes to 0x80 or more — either way the
    // byte's top bit (the borrows and carries they cause reach only bytes above, by then
    // already refused)
    let value = word.wrapping_sub(ONES * u64::from(b'0'));
    if (value | value.wrapping_add(ONES * 0x76)) & (ONES * 0x80) != 0 {
        return None;
    }
    // pairs, quads, then the eight: the first byte is the most significant digit
    let value = (value * 10 + (value >> 8)) & 0x00ff_00ff_00ff_00ff;
    let value = (value * 100 + (value >> 16)) & 0x0000_ffff_0000_ffff;
    Some((value * 10_000 + (value >> 32)) & 0xffff_ffff)
}

/// What inserting a run of slots leaves to do: the repeated IDs found, as (position, the first
/// position with the ID), and the positions that reached the run's end.
type RunLeft = (Vec<(u32, u32)>, Vec<u32>);

/// Inserts the persons whose first slot is in `run` (the slots from `base` on), in person
/// order, probing no further than the run's end.
fn insert_run(
    persons: &[PersonFacts],
    codes: &[u64],
    shift: u32,
    base: usize,
    run: &mut [(u64, u32)],
) -> RunLeft {
    let (mut repeats, mut left) = (Vec::new(), Vec::new());
    let end = base + run.len();
    for (i, &code) in codes.iter().enumerate() {
        let first = first_slot(code, shift);
        if !(base..end).contains(&first) {
            continue;
        }
        let mut at = first - base;
        loop {
            let Some(&(c, k)) = run.get(at) else {
                left.push(i as u32);
                break;
            };
            if k == NOBODY {
                run[at] = (code, i as u32);
                break;
            }
            // a hashed code is confirmed by the IDs themselves
            if c == code && (code & HASHED == 0 || persons[k as usize].id == persons[i].id) {
                repeats.push((i as u32, k));
                break;
            }
            at += 1;
        }
    }
    (repeats, left)
}

/// The slot a code's probing starts at, in a table of 2^(64 - `shift`) slots.
fn first_slot(code: u64, shift: u32) -> usize {
    (code_hash(code) >> shift) as usize
}

/// Where a code goes in the table (its top bits).
fn code_hash(code: u64) -> u64 {
    // the codes of one district share their leading digits: spread them over all bits
    code.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(26)
}

impl PersonIndex {
    /// Indexes the persons by ID (on one thread).
    pub(crate) fn new(persons: &[PersonFacts]) -> PersonIndex {
        let codes: Vec<u64> = persons.iter().map(|p| id_code(p.id.0.as_bytes())).collect();
        PersonIndex::with_codes(persons, &codes, 1)
    }

    /// Indexes the persons by ID, given the [`id_code`] of each (computed while the IDs were
    /// at hand: reading ten million IDs again from the facts is a cache miss each), on
    /// `threads` threads.
    ///
    /// The table is cut into as many runs of slots as there are threads, and each thread
    /// inserts the persons whose first slot is in its run, in person order, never probing past
    /// its run's end: a person that would is left for the end, when the persons left over are
    /// inserted one after another, probing on into the next runs. Every person is then still
    /// reached from its first slot through filled slots, and a repeated ID, whose first slot
    /// is the same, is found by the thread (or at the end) that inserted it first. On one
    /// thread the build was a second with the other core idle, at ten million persons.
    pub(crate) fn with_codes(
        persons: &[PersonFacts],
        codes: &[u64],
        threads: usize,
    ) -> PersonIndex {
        // at most five slots in eight filled: a look-up finds its person in its first slot or
        // the next, or an empty slot soon after
        let bits = (persons.len() * 8 / 5)
            .max(16)
            .next_power_of_two()
            .trailing_zeros();
        let shift = 64 - bits;
        let mut slots = vec![(0, NOBODY); 1 << bits];
        let run_len = crate::part_len(slots.len(), threads);
        let found = crate::on_parts_mut(&mut slots, threads, |r, run| {
            insert_run(persons, codes, shift, r * run_len, run)
        });
        let mut index = PersonIndex {
            slots,
            shift,
            next: vec![NOBODY; persons.len()],
            canonical: codes.iter().all(|c| c & HASHED == 0),
        };
        for (repeats, _) in &found {
            for &(i, head) in repeats {
                index.chain(head, i);
            }
        }
        let mut left: Vec<u32> = found.into_iter().flat_map(|(_, left)| left).collect();
        left.sort_unstable();
        for i in left {
            let code = codes[i as usize];
            let at = index.probe(
                persons,
                persons[i as usize].id.0.as_bytes(),
                code,
                index.first_slot(code),
            );
            match index.slots[at] {
                (_, NOBODY) => index.slots[at] = (code, i),
                (_, head) => index.chain(head, i),
            }
        }
        index
    }

    /// Adds position `i` at the end of the chain of positions with the ID of `head`.
    fn chain(&mut self, head: u32, i: u32) {
        let mut tail = head as usize;
        while self.next[tail] != NOBODY {
            tail = self.next[tail] as usize;
        }
        self.next[tail] = i;
    }

    /// The slot a code's probing starts at.
    fn first_slot(&self, code: u64) -> usize {
        first_slot(code, self.shift)
    }

    /// The slot of the person with `id` (code `code`), or the empty slot where it would go,
    /// probing from slot `at` on. (The table always has empty slots.)
    fn probe(&self, persons: &[PersonFacts], id: &[u8], code: u64, mut at: usize) -> usize {
        let mask = self.slots.len() - 1;
        loop {
            let (c, k) = self.slots[at];
            // the code alone tells for a canonical ID; a hashed one is confirmed by the
            // person's own ID
            if k == NOBODY
                || (c == code && (code & HASHED == 0 || persons[k as usize].id.0.as_bytes() == id))
            {
                return at;
            }
            at = (at + 1) & mask;
        }
    }

    /// The position of the first person with each of `ids` ([`NOBODY`] for a missing ID or
    /// one that is no person's), in three passes: every ID's code and first slot, then every
    /// first slot read, then the look-ups completed. Each slot read is a cache miss in a table
    /// of millions; alone in a loop, with nothing between them that depends on what they
    /// read, the processor has many in flight — where a code's parsing between them (branches
    /// on every character), or probing on what the last read found, made each wait for the
    /// last.
    pub(crate) fn first_of_all<'a>(
        &self,
        persons: &[PersonFacts],
        ids: impl Iterator<Item = Option<&'a [u8]>>,
    ) -> Vec<u32> {
        let (ids, codes): (Vec<Option<&[u8]>>, Vec<u64>) =
            ids.map(|id| (id, id.map_or(0, id_code))).unzip();
        let starts: Vec<usize> = codes.iter().map(|&c| self.first_slot(c)).collect();
        let firsts: Vec<(u64, u32)> = starts.iter().map(|&at| self.slots[at]).collect();
        ids.iter()
            .zip(codes)
            .zip(starts)
            .zip(firsts)
            .map(|(((id, code), at), (c, k))| {
                let Some(id) = id else {
                    return NOBODY;
                };
                if k == NOBODY || (c == code && code & HASHED == 0) {
                    // an empty first slot, or the person's own
                    return k;
                }
                self.slots[self.probe(persons, id, code, at)].1
            })
            .collect()
    }

    /// The position of the first person with each of `codes`, the numbers of canonical
    /// resident IDs ([`canonical_code`]; [`NOBODY`] for a missing one or one that is no
    /// person's): a canonical ID's number is the ID, so no text is compared.
    pub(crate) fn first_of_codes(&self, codes: impl Iterator<Item = Option<u64>>) -> Vec<u32> {
        let codes: Vec<Option<u64>> = codes.collect();
        let starts: Vec<usize> = codes
            .iter()
            .map(|c| self.first_slot(c.unwrap_or(0)))
            .collect();
        let firsts: Vec<(u64, u32)> = starts.iter().map(|&at| self.slots[at]).collect();
        codes
            .into_iter()
            .zip(starts)
            .zip(firsts)
            .map(|((code, at), (c, k))| match code {
                // a hashed number is no canonical ID's
                Some(code) if code & HASHED == 0 => {
                    if k == NOBODY || c == code {
                        k
                    } else {
                        self.slots[self.probe_code(code, at)].1
                    }
                }
                _ => NOBODY,
            })
            .collect()
    }

    /// The slot of the canonical ID numbered `code`, or the empty slot where it would go,
    /// probing from slot `at` on.
    fn probe_code(&self, code: u64, mut at: usize) -> usize {
        let mask = self.slots.len() - 1;
        loop {
            let (c, k) = self.slots[at];
            if k == NOBODY || c == code {
                return at;
            }
            at = (at + 1) & mask;
        }
    }

    /// [`Self::first_of_all`] of a key column of person IDs: their texts, or their numbers
    /// ([`crate::facts::Keys::Number`]).
    pub(crate) fn first_of_keys(
        &self,
        persons: &[PersonFacts],
        column: Option<&dyn Array>,
    ) -> Vec<u32> {
        match column {
            Some(c) if c.data_type() == &DataType::Int64 => {
                let numbers = c.as_primitive::<Int64Type>();
                self.first_of_codes(
                    numbers
                        .iter()
                        .map(|n| n.and_then(|n| u64::try_from(n).ok())),
                )
            }
            _ => {
                let key = Text::of(column);
                let rows = column.map_or(0, |c| c.len());
                self.first_of_all(persons, (0..rows).map(|i| key.get(i).map(str::as_bytes)))
            }
        }
    }

    /// Whether every person's ID is a canonical resident ID (the IDs of a lake that import
    /// wrote): then a person's rows keyed by the ID's number find the person.
    pub(crate) fn canonical(&self) -> bool {
        self.canonical
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

/// Puts the rows of one reduction into the facts of their persons (rows of persons not in the
/// population are left out, as a join onto it would), on `threads` threads: the rows'
/// persons are found first, the batches spread over the threads — the look-ups of a batch do
/// not wait for each other, so the processor has many in flight, each a miss in a table of
/// millions — then each thread sets the facts of the persons in its part of the registry.
/// (On one thread, putting the reductions into the facts took as long as the plans that
/// computed them on two.)
pub(crate) fn apply(
    part: Part,
    batches: &[RecordBatch],
    bounds: &Bounds,
    index: &PersonIndex,
    persons: &mut [PersonFacts],
    threads: usize,
) {
    let threads = threads.max(1);
    let columns: Vec<Columns> = batches.iter().map(columns).collect();
    // (person, row) of every row with a person in the population, per batch
    let targets: Vec<Vec<(u32, u32)>> = {
        let persons: &[PersonFacts] = persons;
        let find = |batch: &RecordBatch| {
            let found = index.first_of_keys(
                persons,
                batch.column_by_name(part.key()).map(|c| c.as_ref()),
            );
            let mut out = Vec::with_capacity(found.len());
            for (i, k) in found.into_iter().enumerate() {
                if k == NOBODY {
                    continue; // no ID, or not in the population
                }
                out.push((k, i as u32));
                out.extend(index.after(k as usize).map(|k| (k as u32, i as u32)));
            }
            out
        };
        crate::on_parts(batches, threads, |part| {
            part.iter().map(find).collect::<Vec<_>>()
        })
        .into_iter()
        .flatten()
        .collect()
    };
    let per_thread = crate::part_len(persons.len(), threads);
    // the persons of part `t`, in `mine`
    crate::on_parts_mut(persons, threads, |t, mine| {
        let from = t * per_thread;
        for (c, rows) in columns.iter().zip(&targets) {
            let set = setter(part, c, bounds);
            for &(k, i) in rows {
                if let Some(f) = (k as usize).checked_sub(from).and_then(|k| mine.get_mut(k)) {
                    set(i as usize, f);
                }
            }
        }
    });
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

/// What sets the facts one row of a reduction batch gives: the columns are found and typed
/// once per batch, not per value (ten million rows), and a list's values are read where the
/// column holds them (a list copied into a vector of texts per row, and its column found by
/// name per row, made lists three times as slow to read as single values).
fn setter<'a>(part: Part, columns: &'a Columns<'a>, bounds: &'a Bounds) -> Setter<'a> {
    let ints = |name: &str| Ints::of(columns.get(name).copied());
    let dates = |name: &str| Dates::of(columns.get(name).copied());
    let texts = |name: &str| Text::of(columns.get(name).copied());
    let flags = |name: &str| Flags(columns.get(name).and_then(|c| c.as_boolean_opt()));
    let list = |name: &str| List::of(columns.get(name).copied());
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
        Part::Business => {
            let (capitals, recent) = (list("business_capitals"), flags("business_recent"));
            Box::new(move |i, f| {
                let (range, values) = (capitals.range(i), capitals.ints());
                let mut capitals: Vec<Fen> = range.filter_map(|j| values.get(j)).map(Fen).collect();
                capitals.sort();
                f.business_capitals = capitals.into();
                f.business_recent = recent.get(i);
            })
        }
        Part::Running => {
            let spells = Ordered::of(columns, "running");
            let (programs, households) = (list("running_programs"), list("running_households"));
            Box::new(move |i, f| {
                let order = spells.order(i);
                let (p, h) = (programs.texts(), households.texts());
                f.running = programs
                    .in_order(i, &order, |j| p.get(j))
                    .zip(households.in_order(i, &order, |j| h.get(j)))
                    .filter_map(|(p, household_id)| {
                        Program::parse(p).map(|program| RunningSpell {
                            program,
                            household_id: ShortText::new(household_id),
                        })
                    })
                    .collect();
            })
        }
        Part::AtDeath => {
            let programs = list("running_at_death");
            Box::new(move |i, f| {
                let (range, texts) = (programs.range(i), programs.texts());
                f.running_at_death = range
                    .filter_map(|j| texts.get(j))
                    .filter_map(Program::parse)
                    .collect();
            })
        }
        Part::Vehicles => {
            let (active, recent) = (
                Ordered::of(columns, "active_vehicle"),
                Ordered::of(columns, "recent_vehicle"),
            );
            let (active_types, recent_types) =
                (list("active_vehicle_types"), list("recent_vehicle_types"));
            Box::new(move |i, f| {
                let (a, r) = (active_types.texts(), recent_types.texts());
                f.active_vehicle_types = active_types
                    .in_order(i, &active.order(i), |j| a.get(j))
                    .filter_map(VehicleType::parse)
                    .collect();
                f.recent_vehicle_types = recent_types
                    .in_order(i, &recent.order(i), |j| r.get(j))
                    .filter_map(VehicleType::parse)
                    .collect();
            })
        }
        Part::Estate => {
            let (nonresidential, recent) =
                (flags("nonresidential_property"), flags("property_recent"));
            let homes = Ordered::of(columns, "home");
            let (ids, areas) = (list("home_ids"), list("home_areas"));
            Box::new(move |i, f| {
                f.nonresidential_property = nonresidential.get(i);
                f.property_recent = recent.get(i);
                let order = homes.order(i);
                let (property, area) = (ids.texts(), areas.ints());
                f.homes = ids
                    .in_order(i, &order, |j| property.get(j))
                    .zip(areas.in_order(i, &order, |j| area.get(j)))
                    .map(|(property, area_centi_m2)| Home {
                        property: ShortText::new(property),
                        area_centi_m2,
                    })
                    .collect();
            })
        }
        // employment is read by `employment` from its records per person and period
        Part::Employment => Box::new(|_, _| {}),
    }
}

/// Employment from its rows (`emp_pid`, `period`, `status` as an
/// [`crate::facts::employment_code`], `earned`, and the row's place in file order, `seq` and
/// `row`), as policy.md §9 reads them: one record per person and period, the later row's; the
/// latest record in the lookback gives the status, the status of the record before it and the
/// earnings; a job starts in a period whose status is employed or flexible after a record of
/// unemployed or none. Each person's records are taken in period order.
///
/// On `threads` threads: the rows' persons are found with the batches spread over the threads,
/// each row put with the part of the registry its person is in; then each thread sorts the
/// records of its part and sets its persons' facts. (On one thread, the nine million rows of a
/// city of ten million took three seconds while the other core had nothing left to do.)
pub(crate) fn employment(
    batches: &[RecordBatch],
    bounds: &Bounds,
    index: &PersonIndex,
    persons: &mut [PersonFacts],
    threads: usize,
) {
    let threads = threads.max(1);
    let per_thread = crate::part_len(persons.len(), threads);
    // per thread of the lookups, per part of the registry: its rows
    let found: Vec<Vec<Vec<EmploymentRow>>> = {
        let persons: &[PersonFacts] = persons;
        crate::on_parts(batches, threads, |part| {
            // reserved at once for rows spread evenly (growing copies them at every doubling)
            let rows: usize = part.iter().map(RecordBatch::num_rows).sum();
            let mut mine: Vec<Vec<EmploymentRow>> = (0..threads)
                .map(|_| Vec::with_capacity(rows / threads + rows / 16))
                .collect();
            for batch in part {
                employment_rows(batch, index, persons, per_thread, &mut mine);
            }
            mine
        })
    };
    crate::on_parts_mut(persons, threads, |t, mine| {
        let from = t * per_thread;
        let rows: usize = found.iter().map(|f| f.get(t).map_or(0, Vec::len)).sum();
        let mut records: Vec<EmploymentRow> = Vec::with_capacity(rows);
        for f in &found {
            if let Some(part) = f.get(t) {
                records.extend_from_slice(part);
            }
        }
        settle_employment(records, bounds, from, mine);
    });
}

/// One employment record: the position of its person, the period, the status code and the
/// earnings.
type EmploymentRecord = (u32, Date, Option<i64>, Option<i64>);

/// An employment row: its record and its place in file order (`seq`, `row`; a row without a
/// number comes first, as in the plans' order).
type EmploymentRow = (EmploymentRecord, (Option<i64>, Option<i64>));

/// The rows of one batch of employment, each with every position of its person, put with the
/// part of the registry (of `per_part` persons) the position is in.
fn employment_rows(
    batch: &RecordBatch,
    index: &PersonIndex,
    persons: &[PersonFacts],
    per_part: usize,
    parts: &mut [Vec<EmploymentRow>],
) {
    let columns = columns(batch);
    let period = Dates::of(columns.get("period").copied());
    let status = Ints::of(columns.get("status").copied());
    let earned = Ints::of(columns.get("earned").copied());
    let (seq, row) = (
        Ints::of(columns.get("seq").copied()),
        Ints::of(columns.get("row").copied()),
    );
    let found = index.first_of_keys(persons, columns.get("emp_pid").copied());
    for (i, k) in found.into_iter().enumerate() {
        let Some(p) = period.get(i).filter(|_| k != NOBODY) else {
            continue;
        };
        let k = k as usize;
        let place = (seq.get(i), row.get(i));
        for k in std::iter::once(k).chain(index.after(k)) {
            let record = (k as u32, p, status.get(i), earned.get(i));
            parts[(k / per_part).min(parts.len() - 1)].push((record, place));
        }
    }
}

/// The employment facts of `persons` (the registry from position `from` on) from the rows of
/// their records.
fn settle_employment(
    records: Vec<EmploymentRow>,
    bounds: &Bounds,
    from: usize,
    persons: &mut [PersonFacts],
) {
    let mut records = by_person(records, from, persons.len());
    // each person's few rows by period and in file order
    for rows in records.chunk_by_mut(|(a, _), (b, _)| a.0 == b.0) {
        rows.sort_unstable_by(|(a, at), (b, bt)| (a.1, at).cmp(&(b.1, bt)));
    }
    // of a period's rows, the later one is kept
    let records: Vec<EmploymentRecord> = records
        .chunk_by(|(a, _), (b, _)| (a.0, a.1) == (b.0, b.1))
        .filter_map(|rows| rows.last().map(|(record, _)| *record))
        .collect();
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
        let mut latest: Option<(EmploymentRecord, Option<i64>)> = None;
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
        let f = &mut persons[one[0].0 as usize - from];
        if let Some(((_, _, status, earned), before)) = latest {
            f.income = Fen(f.income.0 + earned.unwrap_or(0));
            f.employment_status = status.and_then(employment_status);
            f.previous_employment_status = before.and_then(employment_status);
        }
        f.employment_months_ago = months_ago(latest.map(|((_, period, _, _), _)| period), bounds);
        f.job_start_months_ago = months_ago(job_start, bounds);
    }
}

/// The rows in the order of their persons' positions (`from` … `from + persons`), each
/// person's rows in the order they came: counted per person, then each put in its place. (A
/// sort of the rows by person, period and file order was 2 % of the processor time of a
/// ten-million-person run: a city's employment rows come in no order of persons.)
fn by_person(rows: Vec<EmploymentRow>, from: usize, persons: usize) -> Vec<EmploymentRow> {
    let slot = |row: &EmploymentRow| row.0.0 as usize - from;
    // where each person's rows start
    let mut start = vec![0u32; persons + 1];
    for row in &rows {
        start[slot(row) + 1] += 1;
    }
    for p in 1..start.len() {
        start[p] += start[p - 1];
    }
    // which row goes to each place
    let mut order = vec![0u32; rows.len()];
    for (i, row) in rows.iter().enumerate() {
        let at = &mut start[slot(row)];
        order[*at as usize] = i as u32;
        *at += 1;
    }
    order.into_iter().map(|i| rows[i as usize]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use policy::facts::PersonKey;

    /// The reading of [`canonical_code`] one character at a time.
    fn canonical_by_characters(b: &[u8]) -> Option<u64> {
        if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
            return None;
        }
        let check = match b[17] {
            c @ b'0'..=b'9' => u64::from(c - b'0'),
            b'X' => 10,
            _ => return None,
        };
        let digits = b[..17]
            .iter()
            .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
        Some(digits * 11 + check)
    }

    #[test]
    fn an_id_read_as_words_is_the_id_read_by_characters() {
        let mut ids: Vec<Vec<u8>> = vec![
            b"110101199003070011".to_vec(),
            b"11010119900307001X".to_vec(),
            b"99999999999999999X".to_vec(),
            b"000000000000000000".to_vec(),
            b"11010119900307001x".to_vec(),
            b"1101011990030700111".to_vec(),
            b"11010119900307001".to_vec(),
            b"".to_vec(),
        ];
        // every position of a valid ID given every byte value in turn
        let base = *b"440305198812245678";
        for at in 0..18 {
            for byte in 0..=255u8 {
                let mut id = base;
                id[at] = byte;
                ids.push(id.to_vec());
            }
        }
        // and two bytes at once, around the words' edges
        for (a, b) in [(0, 7), (7, 8), (8, 15), (15, 16), (16, 17), (3, 12)] {
            for x in [b'/', b'0', b'9', b':', 0, 0x7f, 0x80, 0xff, b'X'] {
                for y in [b'/', b'0', b'5', b'9', b':', 0xd0, 0xff] {
                    let mut id = base;
                    id[a] = x;
                    id[b] = y;
                    ids.push(id.to_vec());
                }
            }
        }
        let mut valid = 0;
        for id in &ids {
            let expected = canonical_by_characters(id);
            assert_eq!(
                canonical_code(id),
                expected,
                "{:?}",
                String::from_utf8_lossy(id)
            );
            valid += usize::from(expected.is_some());
        }
        // the check character takes ten digits and X, every other position ten digits
        assert!(valid > 18 * 10, "{valid} valid IDs among the cases");
    }

    fn person(id: &str) -> PersonFacts {
        PersonFacts {
            id: PersonKey(id.into()),
            ..PersonFacts::default()
        }
    }

    #[test]
    fn employment_rows_are_put_in_person_order_each_persons_in_the_order_they_came() {
        // positions 100 … 104 (the part from 100 on), rows in no order of persons; the
        // period of each row is its place among its person's rows, the row number its order
        let persons = [103u32, 100, 104, 103, 101, 100, 103, 101, 100];
        let mut seen = [0i32; 5];
        let rows: Vec<EmploymentRow> = persons
            .iter()
            .enumerate()
            .map(|(i, &p)| {
                let k = (p - 100) as usize;
                seen[k] += 1;
                let record = (p, Date::from_days(seen[k]), None, None);
                (record, (Some(0), Some(i as i64)))
            })
            .collect();
        let sorted = by_person(rows.clone(), 100, 5);
        let mut expected = rows;
        expected.sort_by_key(|(record, _)| (record.0, record.1));
        assert_eq!(sorted, expected);
    }

    #[test]
    fn canonical_ids_are_their_own_codes() {
        let a = id_code(b"110101199003070011");
        assert_eq!(a, 11_010_119_900_307_001 * 11 + 1);
        assert_ne!(
            id_code(b"11010119900307001X"),
            id_code(b"110101199003070010")
        );
        assert_eq!(id_code(b"11010119900307001X") & HASHED, 0);
        // anything else is hashed, with the top bit set
        for other in [
            "11010119900307001x",
            "1101011990030700",
            "",
            "1101011990030700111",
        ] {
            assert_ne!(id_code(other.as_bytes()) & HASHED, 0, "{other}");
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
        let asked = [
            Some("110101199003070011"),
            Some("11010119900307001X"),
            None,
            Some("not an id"),
            Some("11010119900307001x"),
            Some("110101199003070012"),
            Some("not an ID"),
        ];
        assert_eq!(
            index.first_of_all(&persons, asked.into_iter().map(|id| id.map(str::as_bytes))),
            vec![0, 1, NOBODY, 2, 4, NOBODY, NOBODY]
        );
        assert_eq!(index.after(0).collect::<Vec<_>>(), vec![3]);
    }

    #[test]
    fn the_index_agrees_with_a_map_over_thousands_of_ids() {
        // canonical IDs, hashed ones and repeats, in a table full enough for long probes
        let id = |n: u64| match n % 5 {
            0 => format!("person {n}"),
            _ => format!("{:017}{}", 11_010_119_900_000_000 + n * 7919, n % 10),
        };
        let persons: Vec<PersonFacts> = (0..5000u64)
            .map(|n| person(&id(if n % 97 == 3 { n - 1 } else { n })))
            .collect();
        let index = PersonIndex::new(&persons);
        let mut first = std::collections::HashMap::new();
        for (k, p) in persons.iter().enumerate() {
            first.entry(p.id.0.to_string()).or_insert(k as u32);
        }
        let asked: Vec<String> = (0..7000u64).map(id).collect();
        let found = index.first_of_all(&persons, asked.iter().map(|a| Some(a.as_bytes())));
        for (a, k) in asked.iter().zip(&found) {
            assert_eq!(*k, first.get(a).copied().unwrap_or(NOBODY), "{a}");
        }
        // by number: the same for a canonical ID, nobody for any other text
        let by_number = index.first_of_codes(asked.iter().map(|a| canonical_code(a.as_bytes())));
        for ((a, k), n) in asked.iter().zip(&found).zip(by_number) {
            let canonical = canonical_code(a.as_bytes()).is_some();
            assert_eq!(n, if canonical { *k } else { NOBODY }, "{a}");
        }
        assert!(!index.canonical());
        let canonical: Vec<PersonFacts> = (1..5000u64).map(|n| person(&id(n * 5 + 1))).collect();
        assert!(PersonIndex::new(&canonical).canonical());
        // person 3 repeats person 2's ID, person 100 person 99's
        assert_eq!(index.after(2).collect::<Vec<_>>(), vec![3]);
        assert_eq!(index.after(99).collect::<Vec<_>>(), vec![100]);
        assert_eq!(index.after(5).count(), 0);
    }

    #[test]
    fn an_index_built_on_several_threads_finds_what_one_thread_finds() {
        // canonical IDs, hashed ones and IDs repeated two and three times; with many threads
        // the runs of slots are short, and many persons reach the end of their run
        let id = |n: u64| match n % 7 {
            0 => format!("person {n}"),
            _ => format!("{:017}{}", 11_010_119_900_000_000 + n * 104_729, n % 10),
        };
        let persons: Vec<PersonFacts> = (0..6000u64)
            .map(|n| {
                person(&id(match n % 89 {
                    5 => n - 1,
                    6 => n - 2,
                    _ => n,
                }))
            })
            .collect();
        let codes: Vec<u64> = persons.iter().map(|p| id_code(p.id.0.as_bytes())).collect();
        let one = PersonIndex::with_codes(&persons, &codes, 1);
        let asked: Vec<String> = (0..9000u64).map(id).collect();
        let expected = one.first_of_all(&persons, asked.iter().map(|a| Some(a.as_bytes())));
        assert!(expected.iter().filter(|&&k| k == NOBODY).count() > 3000);
        for threads in [2, 3, 64, 1000] {
            let index = PersonIndex::with_codes(&persons, &codes, threads);
            let found = index.first_of_all(&persons, asked.iter().map(|a| Some(a.as_bytes())));
            assert_eq!(found, expected, "{threads} threads");
            for k in 0..persons.len() {
                assert_eq!(
                    index.after(k).collect::<Vec<_>>(),
                    one.after(k).collect::<Vec<_>>(),
                    "{threads} threads, person {k}"
                );
            }
            // person 5 repeats person 4's ID, and person 6 it too
            assert_eq!(index.after(4).collect::<Vec<_>>(), vec![5, 6]);
        }
    }
}
