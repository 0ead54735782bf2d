//! Record linkage inside a run: the rows of every feed kept without a usable `person_id`
//! (exchange.md §1, "Linking fields") are matched to the persons of the population snapshot by
//! `linkage` (Fellegi–Sunter), and the decided links are handed to the facts plan as a small
//! mapping table per feed (file, row → person), joined where the plan reads the feed.
//!
//! The unlinked rows carry the name, birth date and raw ID text the source wrote; the persons
//! carry ID, name and birth date (see [`persons`]). Candidates come from five blocking rules:
//! the same birth date, the ID neighbourhood of the raw text (one edit, check character,
//! swapped pair), surname pinyin with birth year, and birth date with the surname or the given
//! name (see [`settings`]). A row links to its best person when the match probability reaches
//! the threshold; below it, the row stays unmatched and out of the facts.
//!
//! What a run decided can be kept ([`LakeLinks::keep_in`]) and read back by the runs that follow
//! on the same lake with the same program ([`LakeLinks::kept`]): the decisions are a function of
//! the lake's files, the program and the settings, which name the file they are kept in.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::prelude::{ParquetReadOptions, SessionContext, cast, col};
use domain::{Progress, ShortText};
use linkage::{
    Assignment, BirthDate, BlockKey, BlockingRule, Explanation, PreparedRecords, Preparer, Record,
    Settings,
};

use crate::assemble::{Dates, Ints, Text};
use crate::lake::{Feed, LakeFiles, read_feed};
use crate::output::{LinkageRow, write_error};
use crate::{MonitorError, RegistryCounts};

/// Match probability from which a row is linked to its best person.
pub const THRESHOLD: f64 = 0.9;

/// Pairs a blocking rule may give the rows to link, per row (see [`settings`]).
pub const PAIRS_PER_ROW: f64 = 10.0;

/// One row of a feed without a usable person ID.
#[derive(Clone, Copy)]
pub(crate) struct Unlinked {
    pub feed: Feed,
    /// Position of the file in the feed's commit order (the facts plan's `seq`).
    pub seq: i64,
    /// Source row number.
    pub row: i64,
}

/// What linking decided for the unlinked rows of a lake.
#[derive(Clone, Default)]
pub struct LakeLinks {
    rows: Vec<Unlinked>,
    /// Per row: what it carries to be linked on (empty for kept links, which explain nothing).
    records: Vec<Record>,
    persons: PreparedRecords,
    person_ids: Vec<String>,
    /// Per row: the linked person (index into `persons`), and the probability.
    decided: Vec<(Option<usize>, f64)>,
    /// Per row: the best candidate person, linked or not.
    best: Vec<Option<usize>>,
    model: Option<linkage::Model>,
    /// The registry check's counts on the same lake, when they were kept with the links: like
    /// the links, they follow from the lake's files alone (not from the as-of date or the
    /// pack), and counting them reads the IDs of every row of every feed once more.
    counts: Option<RegistryCounts>,
}

/// Linked, unmatched and the mean probability of the linked rows of one feed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedLinks {
    /// Rows linked to a person.
    pub linked: u64,
    /// Rows left unmatched.
    pub unmatched: u64,
    /// Mean match probability of the linked rows, in thousandths (0 without any).
    pub mean_probability_milli: u32,
}

/// The comparison of one row with its best candidate person, without any personal value.
#[derive(Debug, Clone)]
pub struct RowExplanation {
    /// Whether the row was linked.
    pub linked: bool,
    /// The comparison levels and weights.
    pub explanation: Explanation,
}

impl LakeLinks {
    /// The linkage.csv rows: every unlinked row with its person (or none) and probability.
    pub fn linkage_rows(&self) -> Vec<LinkageRow> {
        self.rows
            .iter()
            .zip(&self.decided)
            .map(|(u, (person, p))| LinkageRow {
                feed: u.feed.name(),
                row: u.row,
                person_id: person.map(|i| ShortText::new(&self.person_ids[i])),
                probability_milli: milli(*p),
            })
            .collect()
    }

    /// Linked and unmatched rows per feed (only feeds with unlinked rows).
    pub fn per_feed(&self) -> BTreeMap<String, FeedLinks> {
        let mut out: BTreeMap<String, (FeedLinks, f64)> = BTreeMap::new();
        for (u, (person, p)) in self.rows.iter().zip(&self.decided) {
            let e = out.entry(u.feed.name().to_string()).or_default();
            if person.is_some() {
                e.0.linked += 1;
                e.1 += p;
            } else {
                e.0.unmatched += 1;
            }
        }
        out.into_iter()
            .map(|(feed, (mut f, sum))| {
                if f.linked > 0 {
                    f.mean_probability_milli = milli(sum / f.linked as f64);
                }
                (feed, f)
            })
            .collect()
    }

    /// The person a row of a feed was linked to, by file position and row number.
    pub(crate) fn links_of(&self, feed: Feed) -> Vec<(i64, i64, &str)> {
        self.rows
            .iter()
            .zip(&self.decided)
            .filter(|(u, _)| u.feed == feed)
            .filter_map(|(u, (person, _))| {
                person.map(|i| (u.seq, u.row, self.person_ids[i].as_str()))
            })
            .collect()
    }

    /// The comparison levels and weights of a row's best pair; `None` when the row is not an
    /// unlinked row of that feed or has no candidate at all. Rows of several batches may share
    /// a row number: the first in commit order is explained.
    pub fn explain(&self, feed: Feed, row: i64) -> Option<RowExplanation> {
        let k = self
            .rows
            .iter()
            .position(|u| u.feed == feed && u.row == row)?;
        let person = self.best[k]?;
        let model = self.model.as_ref()?;
        Some(RowExplanation {
            linked: self.decided[k].0.is_some(),
            explanation: model.explain_against(self.records.get(k)?, &self.persons, person)?,
        })
    }

    /// The mapping table of a feed for the facts plan: `link_seq`, `link_row`, `link_pid`.
    pub(crate) fn table(&self, feed: Feed) -> Result<Option<RecordBatch>, MonitorError> {
        let links = self.links_of(feed);
        if links.is_empty() {
            return Ok(None);
        }
        let schema = Arc::new(Schema::new(vec![
            Field::new("link_seq", DataType::Int64, false),
            Field::new("link_row", DataType::Int64, false),
            Field::new("link_pid", DataType::Utf8, false),
        ]));
        let seq: ArrayRef = Arc::new(Int64Array::from_iter_values(links.iter().map(|l| l.0)));
        let row: ArrayRef = Arc::new(Int64Array::from_iter_values(links.iter().map(|l| l.1)));
        let pid: ArrayRef = Arc::new(StringArray::from_iter_values(links.iter().map(|l| l.2)));
        Ok(Some(RecordBatch::try_new(schema, vec![seq, row, pid])?))
    }

    /// The registry check's counts kept with these links, if any ([`LakeLinks::counts`]).
    pub(crate) fn counts(&self) -> Option<&RegistryCounts> {
        self.counts.as_ref()
    }

    /// Keeps the registry check's counts on the same lake with these links.
    pub(crate) fn set_counts(&mut self, counts: RegistryCounts) {
        self.counts = Some(counts);
    }

    /// Keeps only the persons a row was linked to or has as its best candidate (whose IDs go
    /// into the results and whose records explain the rows), and copies their IDs out of the
    /// register's columns: the register of millions is not held through the rest of the run.
    fn keep_referenced(&mut self, ids: &RegisterIds) {
        let mut used: Vec<usize> = self
            .best
            .iter()
            .flatten()
            .chain(self.decided.iter().filter_map(|d| d.0.as_ref()))
            .copied()
            .collect();
        used.sort_unstable();
        used.dedup();
        // always found: `used` holds every index remapped here
        let new_index = |i: usize| used.binary_search(&i).unwrap_or_else(|k| k);
        for b in self.best.iter_mut().flatten() {
            *b = new_index(*b);
        }
        for d in self.decided.iter_mut() {
            if let Some(p) = d.0.as_mut() {
                *p = new_index(*p);
            }
        }
        self.person_ids = used.iter().map(|&i| ids.get(i).to_string()).collect();
        let register = std::mem::take(&mut self.persons);
        self.persons = register.keep(&used);
        // The register is freed on a thread of its own while the run goes on: ten million
        // records, each holding a reference to its name's parts, took half a second.
        std::thread::spawn(move || drop(register));
    }
}

fn milli(p: f64) -> u32 {
    if p.is_finite() {
        (p.clamp(0.0, 1.0) * 1000.0).round() as u32
    } else {
        0
    }
}

/// The linkage settings of a run: blocking on birth date, on the ID neighbourhood of the raw
/// text, on surname pinyin with birth year, and on birth date with the surname or the given
/// name; each row to its best person (a person may have many rows).
///
/// The last two keep rows without an ID findable in a large register: a birth date's block
/// and a common surname's block of a birth year grow with the register, and a rule keeps its
/// smallest blocks within its pair budget — in a city of ten million a row without an ID had
/// no candidate from the first and third. Birth date with a name part is a block of a few
/// persons however large the register.
///
/// A rule gives the rows at most [`PAIRS_PER_ROW`] pairs per row (beyond that its largest
/// blocks are skipped): a row has one person, while a budget per key of both sides
/// (`Settings::max_rule_pairs_per_key`) grows with the register — at ten million persons the
/// birth-date rule paired each row with the three hundred persons born that day, and comparing
/// those thirty million pairs took a fifth of the run, for 1 link in 7,000 (none of the rows
/// was linked wrongly either way).
pub fn settings(threads: usize) -> Settings {
    use BlockKey::*;
    Settings {
        rules: vec![
            BlockingRule::on(&[BirthDate]),
            BlockingRule::on(&[IdNeighbourhood]),
            BlockingRule::on(&[Surname, BirthYear]),
            BlockingRule::on(&[Surname, BirthDate]),
            BlockingRule::on(&[GivenName, BirthDate]),
        ],
        training_rules: vec![0, 1],
        threshold: THRESHOLD,
        assignment: Assignment::ManyToOne,
        threads: threads.max(1),
        max_rule_pairs_per_left_key: Some(PAIRS_PER_ROW),
        ..Settings::default()
    }
}

/// The text, birth date and integer columns of a batch read by [`read_columns`], typed once
/// per batch (null where the file had no such column).
fn text<'a>(batch: &'a RecordBatch, name: &str) -> Text<'a> {
    Text::of(column(batch, name).map(|a| a.as_ref()))
}

fn birth<'a>(batch: &'a RecordBatch, name: &str) -> Dates<'a> {
    Dates::of(column(batch, name).map(|a| a.as_ref()))
}

fn ints<'a>(batch: &'a RecordBatch, name: &str) -> Ints<'a> {
    Ints::of(column(batch, name).map(|a| a.as_ref()))
}

/// A text value trimmed and owned; `None` when null or blank.
fn owned(column: Text<'_>, i: usize) -> Option<String> {
    column.trimmed(i).map(str::to_string)
}

/// A birth date of a column.
fn birth_at(column: Dates<'_>, i: usize) -> Option<BirthDate> {
    column.get(i).map(BirthDate::from_date)
}

/// Reads the given columns of one Parquet file (those present; others read as null) of the
/// rows the filter keeps.
async fn read_columns(
    ctx: &SessionContext,
    path: &std::path::Path,
    wanted: &[(&str, DataType)],
    unlinked_only: bool,
) -> Result<Vec<RecordBatch>, MonitorError> {
    let text = path
        .to_str()
        .ok_or_else(|| MonitorError::Lake("a lake path is not UTF-8".into()))?;
    let df = ctx
        .read_parquet(text.to_string(), ParquetReadOptions::default())
        .await?;
    let present: Vec<bool> = wanted
        .iter()
        .map(|(name, _)| df.schema().field_with_unqualified_name(name).is_ok())
        .collect();
    let df = if unlinked_only {
        if !present.first().copied().unwrap_or(false) {
            return Ok(Vec::new());
        }
        df.filter(col("person_id").is_null())?
    } else {
        df
    };
    let exprs = wanted
        .iter()
        .zip(&present)
        .filter(|(_, p)| **p)
        .map(|((name, ty), _)| {
            let column = col(datafusion::common::Column::from_name(*name));
            // Text is read as the file stores it (the readers take Utf8, LargeUtf8 and
            // Utf8View alike): a cast copied ten million names and addresses.
            let stored = df
                .schema()
                .field_with_unqualified_name(name)
                .map(|f| f.data_type().clone());
            let is_text = |t: &DataType| {
                matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View)
            };
            match stored {
                Ok(t) if is_text(ty) && is_text(&t) => column.alias(*name),
                _ => cast(column, ty.clone()).alias(*name),
            }
        })
        .collect::<Vec<_>>();
    if exprs.is_empty() {
        return Ok(Vec::new());
    }
    Ok(df.select(exprs)?.collect().await?)
}

/// Column `name` of a batch read by [`read_columns`], if the file had it.
fn column<'a>(batch: &'a RecordBatch, name: &str) -> Option<&'a ArrayRef> {
    batch.schema().index_of(name).ok().map(|i| batch.column(i))
}

/// The IDs of the register in ID order, left in the columns they were read in: only the few
/// persons linking refers to get a copy (ten million copies cost a second and half a gigabyte).
struct RegisterIds {
    /// The `person_id` column of each batch read.
    columns: Vec<Option<ArrayRef>>,
    /// (column, row) of each person, in ID order.
    at: Vec<(u32, u32)>,
}

impl RegisterIds {
    /// The ID of the `k`th person in ID order.
    fn get(&self, k: usize) -> &str {
        let (b, i) = self.at[k];
        Text::of(self.columns[b as usize].as_deref())
            .trimmed(i as usize)
            .unwrap_or_default()
    }
}

/// The persons of the population snapshot prepared for linkage, with their IDs, in ID order.
///
/// Only what the rows to link can be compared on is read: they carry a name, a birth date and
/// the raw ID text (see [`unlinked_rows`]), so the persons' gender, region and address would
/// be dropped by linkage as comparisons without data on both sides — reading and preparing
/// ten million addresses cost more than everything else of the register.
///
/// The rows are put in ID order first (by their IDs alone, borrowed from the batches), whatever
/// order the plan delivered them in (a cluster's executors answer in their own order): the
/// model estimated from them must not depend on it. Then they are prepared in that order, in
/// rounds of a few hundred thousand per thread, so that neither the records nor a second copy
/// of the prepared ones is ever held whole.
async fn persons(
    ctx: &SessionContext,
    lake: &LakeFiles,
    threads: usize,
) -> Result<(RegisterIds, PreparedRecords), MonitorError> {
    let wanted = [
        ("person_id", DataType::Utf8),
        ("name", DataType::Utf8),
        ("birth_date", DataType::Date32),
    ];
    let mut batches = Vec::new();
    for path in lake.files(Feed::Population) {
        batches.extend(read_columns(ctx, path, &wanted, false).await?);
    }
    // Columns found and typed once per batch, not per value.
    let columns: Vec<(Text, Text, Dates)> = batches
        .iter()
        .map(|b| {
            (
                text(b, "person_id"),
                text(b, "name"),
                birth(b, "birth_date"),
            )
        })
        .collect();
    // Reserved at once: growing vectors of ten million entries copies them at every doubling.
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let mut at: Vec<(u32, u32)> = Vec::with_capacity(rows);
    let mut texts: Vec<&str> = Vec::with_capacity(rows);
    for (b, ((pid, _, _), batch)) in columns.iter().zip(&batches).enumerate() {
        for i in 0..batch.num_rows() {
            if let Some(id) = pid.trimmed(i) {
                at.push((b as u32, i as u32));
                texts.push(id);
            }
        }
    }
    let order = crate::screen::text_order(&texts);
    drop(texts);
    let ids = RegisterIds {
        columns: batches
            .iter()
            .map(|b| column(b, "person_id").cloned())
            .collect(),
        at: order.iter().map(|&k| at[k as usize]).collect(),
    };

    // Prepared in file order, each thread a contiguous part, then put in ID order: reading the
    // rows in ID order jumped between batches for every value (a third of this stage at ten
    // million persons), moving the prepared records jumps once per record.
    let parts: Vec<PreparedRecords> = crate::on_parts(&at, threads, |rows| {
        let mut preparer = Preparer::with_capacity(rows.len());
        for &(b, i) in rows {
            let (pid, name, birth) = columns[b as usize];
            let i = i as usize;
            preparer.push_person(name.trimmed(i), birth_at(birth, i), pid.trimmed(i));
        }
        preparer.finish()
    });
    let prepared = PreparedRecords::gathered(parts, &order);
    Ok((ids, prepared))
}

/// The rows of every non-population feed without a usable person ID.
async fn unlinked_rows(
    ctx: &SessionContext,
    lake: &LakeFiles,
) -> Result<Vec<(Unlinked, Record)>, MonitorError> {
    let wanted = [
        ("person_id", DataType::Utf8),
        ("row", DataType::Int64),
        ("name", DataType::Utf8),
        ("birth_date", DataType::Date32),
        ("person_id_raw", DataType::Utf8),
    ];
    let mut out = Vec::new();
    for feed in Feed::ALL.into_iter().filter(|f| *f != Feed::Population) {
        for (seq, path) in lake.files(feed).iter().enumerate() {
            {
                for batch in &read_columns(ctx, path, &wanted, true).await? {
                    let rows = ints(batch, "row");
                    let (name, raw) = (text(batch, "name"), text(batch, "person_id_raw"));
                    let born = birth(batch, "birth_date");
                    for i in 0..batch.num_rows() {
                        out.push((
                            Unlinked {
                                feed,
                                seq: seq as i64,
                                row: rows.get(i).unwrap_or(0),
                            },
                            Record {
                                full_name: owned(name, i),
                                birth_date: birth_at(born, i),
                                id_number: owned(raw, i),
                                ..Record::default()
                            },
                        ));
                    }
                }
            }
        }
    }
    // In lake order (feed, file, row), however the plan delivered them.
    out.sort_by_key(|(u, _)| (u.feed, u.seq, u.row));
    Ok(out)
}

/// Links the unlinked rows of the lake to the persons of its population snapshot.
pub(crate) async fn link_lake(
    ctx: &SessionContext,
    lake: &LakeFiles,
    threads: usize,
    progress: &dyn Progress,
) -> Result<LakeLinks, MonitorError> {
    progress.stage("reading rows to link", 0);
    let (rows, records): (Vec<Unlinked>, Vec<Record>) =
        unlinked_rows(ctx, lake).await?.into_iter().unzip();
    progress.finish();
    let mut out = LakeLinks {
        decided: vec![(None, 0.0); rows.len()],
        best: vec![None; rows.len()],
        rows,
        records,
        ..LakeLinks::default()
    };
    if out.rows.is_empty() {
        return Ok(out);
    }
    progress.stage("reading the registry", 0);
    let (ids, persons) = persons(ctx, lake, threads).await?;
    progress.finish();
    out.persons = persons;
    if out.persons.is_empty() {
        return Ok(out);
    }
    let linked =
        match linkage::score_prepared(&out.records, &out.persons, &settings(threads), progress) {
            Ok(l) => l,
            // Nothing to compare (e.g. rows without names): every row stays unmatched.
            Err(linkage::LinkageError::NoComparableFields) => {
                out.keep_referenced(&ids);
                return Ok(out);
            }
            Err(e) => return Err(MonitorError::Linkage(e.to_string())),
        };
    // A row is about one person: its best candidate is weighed against the others of the row,
    // as if at most one of them were its person — odds / (1 + the odds of every candidate).
    // Two persons of one name and birth date explain a row without an ID equally well, and
    // pair by pair each looked certain; now neither is linked.
    let mut best_weight = vec![f32::NEG_INFINITY; out.rows.len()];
    for p in &linked.pairs {
        let l = p.left as usize;
        if p.match_weight > best_weight[l] {
            best_weight[l] = p.match_weight;
            out.best[l] = Some(p.right as usize);
        }
    }
    // 2^(w - best) summed over each row's candidates (the best one counts 1)
    let mut relative = vec![0.0f64; out.rows.len()];
    for p in &linked.pairs {
        let l = p.left as usize;
        relative[l] += f64::from(p.match_weight - best_weight[l]).exp2();
    }
    for (l, best) in out.best.iter().enumerate() {
        let Some(person) = best else {
            continue;
        };
        let probability = 1.0 / ((-f64::from(best_weight[l])).exp2() + relative[l]);
        out.decided[l] = ((probability >= THRESHOLD).then_some(*person), probability);
    }
    out.model = Some(linked.model);
    out.keep_referenced(&ids);
    Ok(out)
}

/// Format of the kept links (see [`LakeLinks::keep_in`]).
const KEPT_FORMAT: &str = "jiuzhu kept links 1";

/// The registry check's counts as they are kept beside the links, in `counts-DIGEST.json`
/// (the digest of the links' file name): rows without an ID and rows whose ID is no person's,
/// feed name → rows. A file of their own, so that a run that decided the links keeps them on
/// the linking thread while the counts are still being made, and adds the counts after.
#[derive(serde::Serialize, serde::Deserialize)]
struct KeptCounts {
    unlinked_per_feed: BTreeMap<String, u64>,
    not_in_registry: BTreeMap<String, u64>,
}

/// The name of the file that keeps the registry check's counts beside the links `name`.
fn counts_name(links: &str) -> String {
    let digest = links
        .trim_start_matches("links-")
        .trim_end_matches(".parquet");
    format!("counts-{digest}.json")
}

/// Writes `bytes` as `dir/name`: beside it first, on the disk, then renamed into place.
fn write_in(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), MonitorError> {
    use std::io::Write;
    std::fs::create_dir_all(dir).map_err(|e| write_error(dir, e))?;
    let partial = dir.join(format!(".{name}.{}", std::process::id()));
    let written = std::fs::File::create(&partial)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&partial, dir.join(name)))
        .map_err(|e| write_error(dir, e));
    if written.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    written
}

/// The name of the file that keeps the links decided on `lake`: a digest of everything a
/// decision follows from — the format, the program that decided (its path, size and time:
/// another build may link differently), the linkage settings and threshold, and every file of
/// every feed by its canonical path (however the data directory was named: relative, through
/// a link) and size. A committed batch never changes (its folder is named by the hash of its
/// content), so a new batch, a new population snapshot, a moved data directory or another
/// build of the program names another file. `None` when the program or a file cannot be
/// identified: such a run decides afresh every time.
fn kept_name(lake: &LakeFiles) -> Option<String> {
    let mut h = blake3::Hasher::new();
    h.update(KEPT_FORMAT.as_bytes());
    let program = std::env::current_exe().ok()?;
    let meta = std::fs::metadata(&program).ok()?;
    let built = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?;
    h.update(program.as_os_str().as_encoded_bytes());
    h.update(&meta.len().to_le_bytes());
    h.update(&built.as_nanos().to_le_bytes());
    h.update(format!("{:?}\x1f{THRESHOLD}", settings(1)).as_bytes());
    for feed in Feed::ALL {
        h.update(b"\x1d");
        h.update(feed.name().as_bytes());
        for path in lake.files(feed) {
            h.update(b"\x1e");
            let path = std::fs::canonicalize(path).ok()?;
            h.update(path.as_os_str().as_encoded_bytes());
            h.update(b"\x1f");
            h.update(&std::fs::metadata(&path).ok()?.len().to_le_bytes());
        }
    }
    Some(format!("links-{}.parquet", &h.finalize().to_hex()[..32]))
}

impl LakeLinks {
    /// Keeps what was decided in `dir`, for later runs on the same lake ([`LakeLinks::kept`]):
    /// per unlinked row its feed, file position, row, person (or none) and probability, and
    /// beside them the registry check's counts when they are known. Each file is written
    /// beside and renamed into place, and the files of other lakes in `dir` are removed.
    pub(crate) fn keep_in(&self, dir: &Path, lake: &LakeFiles) -> Result<(), MonitorError> {
        let Some(name) = kept_name(lake) else {
            return Ok(());
        };
        let schema = Arc::new(Schema::new(vec![
            Field::new("feed", DataType::Utf8, false),
            Field::new("seq", DataType::Int64, false),
            Field::new("row", DataType::Int64, false),
            Field::new("person_id", DataType::Utf8, true),
            Field::new("probability", DataType::Float64, false),
        ]));
        let rows = &self.rows;
        let columns: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from_iter_values(
                rows.iter().map(|u| u.feed.name()),
            )),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|u| u.seq))),
            Arc::new(Int64Array::from_iter_values(rows.iter().map(|u| u.row))),
            Arc::new(StringArray::from_iter(
                self.decided
                    .iter()
                    .map(|(p, _)| p.map(|i| self.person_ids[i].as_str())),
            )),
            Arc::new(Float64Array::from_iter_values(
                self.decided.iter().map(|(_, p)| *p),
            )),
        ];
        let batch = RecordBatch::try_new(schema.clone(), columns)?;
        let mut writer = parquet::arrow::ArrowWriter::try_new(Vec::new(), schema, None)
            .map_err(|e| write_error(dir, e))?;
        writer.write(&batch).map_err(|e| write_error(dir, e))?;
        let bytes = writer.into_inner().map_err(|e| write_error(dir, e))?;
        write_in(dir, &name, &bytes)?;
        // the links and counts of other lakes (earlier batches, another build) are of no
        // further use, nor counts of these links made before them
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let other = entry.file_name();
                let other = other.to_string_lossy();
                let links = other.starts_with("links-") && other.ends_with(".parquet");
                let kept_counts = other.starts_with("counts-") && other.ends_with(".json");
                if (links && other != name) || kept_counts {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        self.write_counts(dir, &name)
    }

    /// Keeps the registry check's counts of these links in `dir`, beside the links kept there
    /// ([`LakeLinks::keep_in`]); nothing when they are not known.
    pub(crate) fn keep_counts_in(&self, dir: &Path, lake: &LakeFiles) -> Result<(), MonitorError> {
        match kept_name(lake) {
            Some(name) => self.write_counts(dir, &name),
            None => Ok(()),
        }
    }

    /// Writes the counts, when they are known, beside the links file `name` in `dir`.
    fn write_counts(&self, dir: &Path, name: &str) -> Result<(), MonitorError> {
        let Some((unlinked, missing)) = &self.counts else {
            return Ok(());
        };
        let kept = KeptCounts {
            unlinked_per_feed: unlinked.clone(),
            not_in_registry: missing.clone(),
        };
        let bytes = serde_json::to_vec(&kept).map_err(|e| write_error(dir, e))?;
        write_in(dir, &counts_name(name), &bytes)
    }

    /// The links kept in `dir` by an earlier run on the same lake with the same program, if
    /// any: what that run decided, which linking the same rows again would decide. They
    /// carry no comparisons, so they explain no row (`jiuzhu link --explain` links afresh).
    /// A file that cannot be read is passed over: the run links afresh and replaces it. The
    /// registry check's counts kept beside them come with them; without them (or when they
    /// cannot be read) the run counts again.
    pub(crate) fn kept(dir: &Path, lake: &LakeFiles) -> Option<LakeLinks> {
        let name = kept_name(lake)?;
        let file = std::fs::File::open(dir.join(&name)).ok()?;
        let counts = std::fs::read(dir.join(counts_name(&name)))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<KeptCounts>(&bytes).ok())
            .map(|c| (c.unlinked_per_feed, c.not_in_registry));
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
            .ok()?
            .build()
            .ok()?;
        let mut out = LakeLinks {
            counts,
            ..LakeLinks::default()
        };
        let mut numbers: HashMap<String, usize> = HashMap::new();
        for batch in reader {
            let batch = batch.ok()?;
            let (feed, person) = (text(&batch, "feed"), text(&batch, "person_id"));
            let (seq, row) = (ints(&batch, "seq"), ints(&batch, "row"));
            let probability = batch
                .column_by_name("probability")?
                .as_any()
                .downcast_ref::<Float64Array>()?;
            for i in 0..batch.num_rows() {
                let person = person.trimmed(i).map(|id| {
                    let next = numbers.len();
                    *numbers.entry(id.to_string()).or_insert(next)
                });
                out.rows.push(Unlinked {
                    feed: Feed::from_name(feed.trimmed(i)?)?,
                    seq: seq.get(i)?,
                    row: row.get(i)?,
                });
                out.decided.push((person, probability.value(i)));
                out.best.push(person);
            }
        }
        out.person_ids = vec![String::new(); numbers.len()];
        for (id, k) in numbers {
            out.person_ids[k] = id;
        }
        Some(out)
    }
}

/// (person, program) of persons with two or more spells of one program running at `as_of` of
/// which at least one is a row that record linkage matched to them.
pub(crate) async fn two_id_spells(
    ctx: &SessionContext,
    linked_lake: &LakeFiles,
    links: &LakeLinks,
    as_of: domain::Date,
) -> Result<BTreeSet<(String, String)>, MonitorError> {
    let linked: HashSet<(i64, i64)> = links
        .links_of(Feed::Assistance)
        .into_iter()
        .map(|(s, r, _)| (s, r))
        .collect();
    if linked.is_empty() {
        return Ok(BTreeSet::new());
    }
    let batches = read_feed(ctx, linked_lake, Feed::Assistance)
        .await?
        .filter(
            col("person_id")
                .is_not_null()
                .and(col("program").is_not_null())
                .and(crate::facts::running_at(crate::facts::date_lit(as_of))),
        )?
        .select(vec![
            col("person_id"),
            col("program"),
            col("seq"),
            col("row"),
        ])?
        .collect()
        .await?;
    // The (person, program) of the linked rows first, then the running spells of those only:
    // counting every running spell of the feed under owned texts took most of this stage at
    // ten million persons, for the few thousand persons a linked row names.
    let mut counts: HashMap<String, Vec<(String, u32)>> = HashMap::new();
    for batch in &batches {
        let (pid, program) = (text(batch, "person_id"), text(batch, "program"));
        let (seq, row) = (ints(batch, "seq"), ints(batch, "row"));
        for i in 0..batch.num_rows() {
            let is_linked =
                matches!((seq.get(i), row.get(i)), (Some(s), Some(r)) if linked.contains(&(s, r)));
            if let (true, Some(p), Some(g)) = (is_linked, pid.trimmed(i), program.trimmed(i)) {
                let programs = counts.entry(p.to_string()).or_default();
                if !programs.iter().any(|(known, _)| known == g) {
                    programs.push((g.to_string(), 0));
                }
            }
        }
    }
    for batch in &batches {
        let (pid, program) = (text(batch, "person_id"), text(batch, "program"));
        for i in 0..batch.num_rows() {
            let (Some(p), Some(g)) = (pid.trimmed(i), program.trimmed(i)) else {
                continue;
            };
            if let Some((_, n)) = counts
                .get_mut(p)
                .and_then(|programs| programs.iter_mut().find(|(known, _)| known == g))
            {
                *n += 1;
            }
        }
    }
    Ok(counts
        .into_iter()
        .flat_map(|(p, programs)| {
            programs
                .into_iter()
                .filter(|&(_, n)| n >= 2)
                .map(move |(g, _)| (p.clone(), g))
        })
        .collect())
}
