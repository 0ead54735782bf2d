//! The results of a run and how they are written: the CSV files of exchange.md §4 (money in
//! yuan with two decimals, rows in a deterministic order), a Parquet copy of each, and the run
//! summary.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, RecordBatch, StringArray, StringBuilder};
use arrow::datatypes::{DataType, Field, Schema};
use domain::{Date, Fen, ShortText};
use parquet::arrow::ArrowWriter;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

use crate::MonitorError;
use crate::manifest::FileHash;

/// One row of households.csv (一户一画像). Its short texts are held in the row itself: a city's
/// millions of rows are put into household order after the screening and then read front to
/// back when they are written, where texts of their own would lie wherever the screening made
/// them (reading them was a large part of writing the table).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HouseholdRow {
    /// Population `household_id`.
    pub household_id: ShortText,
    /// The household's region (12 digits).
    pub region_code: ShortText,
    /// Living members.
    pub size: u32,
    /// Living members who are tekun.
    pub tekun_members: u32,
    /// Counted income per member per month.
    pub per_capita_income: Fen,
    /// `tekun`, `dibao`, `marginal`, `rigid_expense` or `none`.
    pub tier: ShortText,
    /// The dibao amount (0 unless the tier is dibao).
    pub dibao_amount: Fen,
    /// 0-100.
    pub score: u32,
    /// `red`, `orange`, `yellow` or `none`.
    pub level: ShortText,
    /// Tag codes, sorted.
    pub tags: Vec<String>,
}

/// One row of persons.csv.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PersonRow {
    /// The person.
    pub person_id: String,
    /// Population `household_id`.
    pub household_id: String,
    /// `tekun` or `dibao_single`.
    pub status: String,
    /// Monthly amount.
    pub amount: Fen,
    /// `self`, `partial`, `full` for tekun; empty otherwise.
    pub care_level: Option<String>,
}

/// One row of anomalies.csv.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct AnomalyRow {
    /// `wrong_inclusion`, `omission` or `duplicate`.
    pub kind: String,
    /// The program concerned.
    pub program: String,
    /// The household.
    pub household_id: String,
    /// The person, when the anomaly is about one person.
    pub person_id: Option<String>,
    /// Reason codes, sorted.
    pub reasons: Vec<String>,
}

/// One row of warnings.csv.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct WarningRow {
    /// The household.
    pub household_id: String,
    /// The person the signal is about, if any.
    pub person_id: Option<String>,
    /// Signal code.
    pub signal: String,
    /// `red`, `orange`, `yellow`.
    pub level: String,
}

/// One row of recommendations.csv.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecommendationRow {
    /// The household.
    pub household_id: String,
    /// `service`, `subsidy`, `cash`, `goods`.
    pub kind: String,
    /// Catalogue item.
    pub item: String,
    /// Amount, for items that have one.
    pub amount: Option<Fen>,
    /// What recommends it.
    pub reason: String,
}

/// One row of linkage.csv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkageRow {
    /// The feed.
    pub feed: &'static str,
    /// Row number in the source file.
    pub row: i64,
    /// The person linked to; `None` when unmatched.
    pub person_id: Option<ShortText>,
    /// Match probability in thousandths (0-1000).
    pub probability_milli: u32,
}

/// What a run did and did not have.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// The as-of date.
    pub as_of: Option<Date>,
    /// Persons in the population snapshot (every status).
    pub persons: u64,
    /// Households screened.
    pub households: u64,
    /// Households per tier.
    pub tiers: BTreeMap<String, u64>,
    /// Anomalies per kind.
    pub anomalies: BTreeMap<String, u64>,
    /// Signals per level.
    pub signals: BTreeMap<String, u64>,
    /// Households left out because no parameter set covers their region.
    pub households_without_parameters: u64,
    /// Rows whose valid person_id is not in the registry, per feed.
    pub not_in_registry: BTreeMap<String, u64>,
    /// Rows kept without a usable person_id, per feed.
    pub unlinked: BTreeMap<String, u64>,
    /// What record linkage decided for those rows, per feed.
    pub linked: BTreeMap<String, crate::linking::FeedLinks>,
    /// Feeds without any committed file.
    pub feeds_missing: Vec<String>,
}

impl Summary {
    /// The summary as text lines for the terminal and `summary.txt`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Some(d) = self.as_of {
            out.push_str(&format!("as of {d}\n"));
        }
        out.push_str(&format!("persons in the registry: {}\n", self.persons));
        out.push_str(&format!("households screened: {}\n", self.households));
        for (tier, n) in &self.tiers {
            out.push_str(&format!("  tier {tier}: {n}\n"));
        }
        for (kind, n) in &self.anomalies {
            out.push_str(&format!("anomalies {kind}: {n}\n"));
        }
        for (level, n) in &self.signals {
            out.push_str(&format!("signals {level}: {n}\n"));
        }
        out.push_str(&format!(
            "households in regions without a parameter set: {}\n",
            self.households_without_parameters
        ));
        for (feed, n) in &self.not_in_registry {
            out.push_str(&format!(
                "rows whose person is not in the registry, {feed}: {n}\n"
            ));
        }
        for (feed, n) in &self.unlinked {
            let l = self.linked.get(feed).copied().unwrap_or_default();
            out.push_str(&format!(
                "unlinked rows, {feed}: {n} (linked {}, unmatched {}, mean probability {}.{:03})\n",
                l.linked,
                l.unmatched,
                l.mean_probability_milli / 1000,
                l.mean_probability_milli % 1000
            ));
        }
        if self.feeds_missing.is_empty() {
            out.push_str("feeds missing: none\n");
        } else {
            out.push_str(&format!(
                "feeds missing: {}\n",
                self.feeds_missing.join(", ")
            ));
        }
        out
    }
}

/// Everything a run produces.
#[derive(Debug, Clone, Default)]
pub struct Results {
    /// households.csv rows.
    pub households: Vec<HouseholdRow>,
    /// persons.csv rows.
    pub persons: Vec<PersonRow>,
    /// anomalies.csv rows.
    pub anomalies: Vec<AnomalyRow>,
    /// warnings.csv rows.
    pub warnings: Vec<WarningRow>,
    /// recommendations.csv rows.
    pub recommendations: Vec<RecommendationRow>,
    /// linkage.csv rows.
    pub linkage: Vec<LinkageRow>,
    /// The run summary.
    pub summary: Summary,
    /// Explanations of the flagged households (a tier, an anomaly or a warning), by household
    /// id, when the run was asked for them ([`crate::RunOptions::explain_flagged`]). Not a
    /// result file: the store keeps them for the workbench.
    pub explanations: std::collections::BTreeMap<String, policy::Explanation>,
}

impl Results {
    /// Puts every file's rows in their deterministic order (the tables side by side on the
    /// machine's cores).
    pub fn sort(&mut self) {
        let Results {
            households,
            persons,
            anomalies,
            warnings,
            recommendations,
            linkage,
            ..
        } = self;
        std::thread::scope(|s| {
            s.spawn(|| households.sort_by(|a, b| a.household_id.cmp(&b.household_id)));
            s.spawn(|| {
                recommendations.sort_by(|a, b| {
                    (&a.household_id, &a.kind, &a.item).cmp(&(&b.household_id, &b.kind, &b.item))
                })
            });
            persons.sort_by(|a, b| {
                (&a.household_id, &a.person_id, &a.status).cmp(&(
                    &b.household_id,
                    &b.person_id,
                    &b.status,
                ))
            });
            anomalies.sort_by(|a, b| {
                (&a.household_id, &a.person_id, &a.kind, &a.program).cmp(&(
                    &b.household_id,
                    &b.person_id,
                    &b.kind,
                    &b.program,
                ))
            });
            warnings.sort_by(|a, b| {
                (&a.household_id, &a.person_id, &a.signal).cmp(&(
                    &b.household_id,
                    &b.person_id,
                    &b.signal,
                ))
            });
            linkage.sort_by(|a, b| (a.feed, a.row).cmp(&(b.feed, b.row)));
        });
    }

    /// Writes the six CSV files, their Parquet copies and `summary.txt` into `dir`, the tables
    /// side by side on the machine's cores; the files' sizes and hashes, hashed as they were
    /// written, in the order of [`crate::manifest::OUTPUT_FILES`].
    pub fn write(&self, dir: &Path, as_of: Date) -> Result<Vec<FileHash>, MonitorError> {
        std::fs::create_dir_all(dir).map_err(|e| write_error(dir, e))?;
        let detected = as_of.to_string();
        let tables: Vec<Table<'_>> = vec![
            Box::new(|| {
                write_table(
                    dir,
                    "households",
                    [
                        "household_id",
                        "region_code",
                        "size",
                        "tekun_members",
                        "per_capita_income",
                        "tier",
                        "dibao_amount",
                        "score",
                        "level",
                        "tags",
                    ],
                    &self.households,
                    |h, c| {
                        c.text(&h.household_id);
                        c.text(&h.region_code);
                        c.show(h.size);
                        c.show(h.tekun_members);
                        c.show(h.per_capita_income);
                        c.text(&h.tier);
                        c.show(h.dibao_amount);
                        c.show(h.score);
                        c.text(&h.level);
                        c.list(&h.tags);
                    },
                )
            }),
            Box::new(|| {
                write_table(
                    dir,
                    "persons",
                    [
                        "person_id",
                        "household_id",
                        "status",
                        "amount",
                        "care_level",
                    ],
                    &self.persons,
                    |p, c| {
                        c.text(&p.person_id);
                        c.text(&p.household_id);
                        c.text(&p.status);
                        c.show(p.amount);
                        c.text(p.care_level.as_deref().unwrap_or_default());
                    },
                )
            }),
            Box::new(|| {
                write_table(
                    dir,
                    "anomalies",
                    ["kind", "program", "household_id", "person_id", "reasons"],
                    &self.anomalies,
                    |a, c| {
                        c.text(&a.kind);
                        c.text(&a.program);
                        c.text(&a.household_id);
                        c.text(a.person_id.as_deref().unwrap_or_default());
                        c.list(&a.reasons);
                    },
                )
            }),
            Box::new(|| {
                write_table(
                    dir,
                    "warnings",
                    [
                        "household_id",
                        "person_id",
                        "signal",
                        "level",
                        "detected_at",
                    ],
                    &self.warnings,
                    |w, c| {
                        c.text(&w.household_id);
                        c.text(w.person_id.as_deref().unwrap_or_default());
                        c.text(&w.signal);
                        c.text(&w.level);
                        c.text(&detected);
                    },
                )
            }),
            Box::new(|| {
                write_table(
                    dir,
                    "recommendations",
                    ["household_id", "kind", "item", "amount", "reason"],
                    &self.recommendations,
                    |r, c| {
                        c.text(&r.household_id);
                        c.text(&r.kind);
                        c.text(&r.item);
                        match r.amount {
                            Some(amount) => c.show(amount),
                            None => c.text(""),
                        }
                        c.text(&r.reason);
                    },
                )
            }),
            Box::new(|| {
                write_table(
                    dir,
                    "linkage",
                    ["feed", "row", "person_id", "probability"],
                    &self.linkage,
                    |l, c| {
                        c.text(l.feed);
                        c.show(l.row);
                        c.text(l.person_id.as_deref().unwrap_or_default());
                        c.show(format_args!(
                            "{}.{:03}",
                            l.probability_milli / 1000,
                            l.probability_milli % 1000
                        ));
                    },
                )
            }),
        ];
        // The largest tables first, so that they do not end up queued behind the small ones.
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let outcomes = crate::on_queue(tables, threads.min(6), |table| table());
        let mut written = Vec::with_capacity(crate::manifest::OUTPUT_FILES.len());
        for outcome in outcomes {
            written.extend(outcome?);
        }
        let path = dir.join("summary.txt");
        let mut summary = Hashing::new(File::create(&path).map_err(|e| write_error(&path, e))?);
        summary
            .write_all(self.summary.render().as_bytes())
            .map_err(|e| write_error(&path, e))?;
        written.push(summary.finish("summary.txt"));
        // the tables were written in no set order
        let files = crate::manifest::OUTPUT_FILES;
        written.sort_by_key(|f| files.iter().position(|name| *name == f.file));
        Ok(written)
    }
}

/// The writing of one table, giving its CSV file's and its Parquet copy's sizes and hashes.
type Table<'a> = Box<dyn FnOnce() -> Result<[FileHash; 2], MonitorError> + Send + 'a>;

/// A writer that hashes what it passes on: the manifest's hashes of the result files are taken
/// as they are written, not by reading them again after.
struct Hashing<W> {
    inner: W,
    hasher: blake3::Hasher,
}

impl<W> Hashing<W> {
    fn new(inner: W) -> Self {
        Hashing {
            inner,
            hasher: blake3::Hasher::new(),
        }
    }

    /// The file's name, size and hash.
    fn finish(self, file: &str) -> FileHash {
        FileHash {
            feed: None,
            file: file.to_string(),
            bytes: self.hasher.count(),
            blake3: self.hasher.finalize().to_hex().to_string(),
        }
    }
}

impl<W: std::io::Write> std::io::Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A file or folder that could not be written, and why.
pub(crate) fn write_error(path: &Path, e: impl std::fmt::Display) -> MonitorError {
    MonitorError::Write {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// One row's cells, written straight into the columns' builders: numbers and lists are
/// formatted in place, where each was a text of its own (twenty million allocations for the
/// households of a city of ten million).
struct Cells<'b> {
    builders: &'b mut [StringBuilder],
    at: usize,
}

impl Cells<'_> {
    /// The next cell, as it is.
    fn text(&mut self, value: &str) {
        if let Some(b) = self.builders.get_mut(self.at) {
            b.append_value(value);
        }
        self.at += 1;
    }

    /// The next cell, as the value displays.
    fn show(&mut self, value: impl std::fmt::Display) {
        if let Some(b) = self.builders.get_mut(self.at) {
            // writing into a builder cannot fail: it appends to its buffer
            let _ = write!(b, "{value}");
            b.append_value("");
        }
        self.at += 1;
    }

    /// The next cell: the items joined by `;`.
    fn list(&mut self, items: &[String]) {
        if let Some(b) = self.builders.get_mut(self.at) {
            // writing into a builder cannot fail: it appends to its buffer
            for (k, item) in items.iter().enumerate() {
                if k > 0 {
                    let _ = b.write_str(";");
                }
                let _ = b.write_str(item);
            }
            b.append_value("");
        }
        self.at += 1;
    }
}

/// Rows per batch of a table's columns. The batches of a large table are built on every core:
/// reading its rows' texts, which lie wherever the screening made them, was most of the
/// writing of a city's households. A multiple of the Parquet writer's 1,024-row steps and a
/// divisor of its row groups, so that the Parquet copy is the same bytes as from one batch.
const ROWS_PER_BATCH: usize = 1 << 17;

/// The columns of `rows` as one batch of text columns.
fn batch_of<const N: usize, T>(
    dir: &Path,
    name: &str,
    schema: &Arc<Schema>,
    rows: &[T],
    fields: &(impl Fn(&T, &mut Cells<'_>) + Sync),
) -> Result<RecordBatch, MonitorError> {
    let mut builders: Vec<StringBuilder> = (0..N)
        .map(|_| StringBuilder::with_capacity(rows.len(), rows.len() * 12))
        .collect();
    for row in rows {
        let mut cells = Cells {
            builders: &mut builders,
            at: 0,
        };
        fields(row, &mut cells);
        if cells.at != N {
            return Err(write_error(
                &dir.join(format!("{name}.csv")),
                format!("a row has {} cells for {N} columns", cells.at),
            ));
        }
    }
    let arrays: Vec<ArrayRef> = builders
        .iter_mut()
        .map(|b| Arc::new(b.finish()) as ArrayRef)
        .collect();
    Ok(RecordBatch::try_new(schema.clone(), arrays)?)
}

/// The Parquet copies' settings: the writer's defaults, but no dictionary for the ID columns,
/// whose values hardly repeat (a household's or a person's ID is on one row of most tables):
/// the writer hashed every ID into a dictionary only to give it up at the page's limit.
fn parquet_properties(header: &[&str]) -> WriterProperties {
    header
        .iter()
        .filter(|name| name.ends_with("_id"))
        .fold(WriterProperties::builder(), |b, name| {
            b.set_column_dictionary_enabled(ColumnPath::from(*name), false)
        })
        .build()
}

/// Writes `NAME.csv` and `NAME.parquet` (every column as text, exactly as in the CSV): the
/// columns are built once as Arrow arrays, and the CSV rows are written from them. The two
/// files' sizes and hashes.
fn write_table<const N: usize, T: Sync>(
    dir: &Path,
    name: &str,
    header: [&str; N],
    rows: &[T],
    fields: impl Fn(&T, &mut Cells<'_>) + Sync,
) -> Result<[FileHash; 2], MonitorError> {
    let schema = Arc::new(Schema::new(
        header
            .iter()
            .map(|h| Field::new(*h, DataType::Utf8, false))
            .collect::<Vec<_>>(),
    ));
    let batches: Vec<RecordBatch> = if rows.len() <= ROWS_PER_BATCH {
        vec![batch_of::<N, T>(dir, name, &schema, rows, &fields)?]
    } else {
        let (schema, fields) = (&schema, &fields);
        let parts: Vec<&[T]> = rows.chunks(ROWS_PER_BATCH).collect();
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        crate::on_parts(&parts, threads, |run| {
            run.iter()
                .map(|part| batch_of::<N, T>(dir, name, schema, part, fields))
                .collect::<Vec<_>>()
        })
        .into_iter()
        .flatten()
        .collect::<Result<_, _>>()?
    };

    // The Parquet copy is encoded on a thread of its own while the CSV is written: the
    // households' table is most of the writing, and one thread did both one after the other.
    let pq_name = format!("{name}.parquet");
    let pq_path = dir.join(&pq_name);
    let parquet = || -> Result<FileHash, MonitorError> {
        let file = File::create(&pq_path).map_err(|e| write_error(&pq_path, e))?;
        let mut pq = ArrowWriter::try_new(
            Hashing::new(file),
            schema,
            Some(parquet_properties(&header)),
        )
        .map_err(|e| write_error(&pq_path, e))?;
        for batch in &batches {
            pq.write(batch).map_err(|e| write_error(&pq_path, e))?;
        }
        let file = pq.into_inner().map_err(|e| write_error(&pq_path, e))?;
        Ok(file.finish(&pq_name))
    };
    let csv_name = format!("{name}.csv");
    let csv_path = dir.join(&csv_name);
    let csv = || -> Result<FileHash, MonitorError> {
        let file = File::create(&csv_path).map_err(|e| write_error(&csv_path, e))?;
        let file = std::io::BufWriter::with_capacity(1 << 20, Hashing::new(file));
        let mut writer = csv::Writer::from_writer(file);
        writer
            .write_record(header)
            .map_err(|e| write_error(&csv_path, e))?;
        for batch in &batches {
            let columns: Vec<&StringArray> = batch
                .columns()
                .iter()
                .map(|c| c.as_string::<i32>())
                .collect();
            for i in 0..batch.num_rows() {
                writer
                    .write_record(columns.iter().map(|c| c.value(i)))
                    .map_err(|e| write_error(&csv_path, e))?;
            }
        }
        let file = writer
            .into_inner()
            .map_err(|e| write_error(&csv_path, e.error()))?
            .into_inner()
            .map_err(|e| write_error(&csv_path, e.error()))?;
        Ok(file.finish(&csv_name))
    };
    let (csv, parquet) = std::thread::scope(|s| {
        let parquet = s.spawn(parquet);
        let csv = csv();
        let parquet = parquet
            .join()
            .unwrap_or_else(|_| Err(write_error(&pq_path, "the Parquet writer stopped")));
        (csv, parquet)
    });
    Ok([csv?, parquet?])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table of more rows than one batch holds is built in batches on several threads: its
    /// CSV and its Parquet copy still hold every row once, in order.
    #[test]
    fn a_table_of_many_batches_keeps_its_rows_in_order() {
        let rows = 2 * ROWS_PER_BATCH + 1234;
        let households = (0..rows)
            .map(|i| HouseholdRow {
                household_id: format!("{i:020}").into(),
                region_code: "990101001001".into(),
                size: (i % 7) as u32,
                tekun_members: 0,
                per_capita_income: Fen(i as i64),
                tier: "none".into(),
                dibao_amount: Fen(0),
                score: (i % 101) as u32,
                level: "none".into(),
                tags: if i % 3 == 0 {
                    vec!["a".into(), "b".into()]
                } else {
                    Vec::new()
                },
            })
            .collect();
        let results = Results {
            households,
            ..Results::default()
        };
        let dir = tempfile::tempdir().expect("a temporary folder");
        results
            .write(dir.path(), Date::from_days(20_000))
            .expect("written");

        let csv = std::fs::read_to_string(dir.path().join("households.csv")).expect("the CSV");
        let lines: Vec<&str> = csv.lines().skip(1).collect();
        assert_eq!(lines.len(), rows);
        for i in [
            0,
            1,
            ROWS_PER_BATCH - 1,
            ROWS_PER_BATCH,
            ROWS_PER_BATCH + 1,
            rows - 1,
        ] {
            let tags = if i % 3 == 0 { "a;b" } else { "" };
            let expected = format!(
                "{i:020},990101001001,{},0,{},none,0.00,{},none,{tags}",
                i % 7,
                Fen(i as i64),
                i % 101
            );
            assert_eq!(lines[i], expected, "row {i}");
        }

        let file = File::open(dir.path().join("households.parquet")).expect("the Parquet copy");
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(file, 8192)
            .expect("a Parquet reader");
        let mut n = 0;
        for batch in reader {
            let batch = batch.expect("a batch");
            let ids = batch.column(0).as_string::<i32>();
            for k in 0..batch.num_rows() {
                assert_eq!(ids.value(k), format!("{n:020}"), "Parquet row {n}");
                n += 1;
            }
        }
        assert_eq!(n, rows);
    }
}
