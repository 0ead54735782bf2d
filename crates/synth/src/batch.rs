//! The batch folder being written: one writer per feed, `batch.toml`, and the ground truth in
//! `_truth/`. Rows pass through here so that the imperfections of real extracts are added in
//! one place and every one of them is recorded: mistyped person_ids (with name and birth date
//! kept for record linkage, sometimes spelled with a homophone or in traditional script),
//! invalid rows the importer must reject, duplicate population rows and broken links.

use crate::format::{self, Cell, FeedWriter, Format, io_error};
use crate::ids::{IdNoise, mistype};
use crate::names::{NameVariant, variant};
use crate::schema::{ColumnType, Feed};
use crate::{Rng64, SynthError};
use domain::Date;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Share of the rows of ordinary persons in non-population feeds whose person_id is mistyped.
const NOISE_RATE: f64 = 0.015;
/// An invalid copy of a row follows data row `n` of a feed when `n % INVALID_EVERY == INVALID_AT`.
const INVALID_EVERY: u64 = 4000;
const INVALID_AT: u64 = 37;
/// A duplicate population row follows row `n` when `n % POPULATION_DUPLICATE_EVERY == 11`.
const POPULATION_DUPLICATE_EVERY: u64 = 25_000;
/// A spouse link is broken in population row `n` when `n % BROKEN_LINK_EVERY == 23`.
const BROKEN_LINK_EVERY: u64 = 9_000;

/// Feeds whose every row carries `name` and `birth_date`; the monthly feeds carry them only on
/// rows with a mistyped person_id, as their extracts would otherwise double in size.
fn names_every_row(feed: Feed) -> bool {
    !matches!(feed, Feed::Employment | Feed::Utilities | Feed::Income)
}

/// Who a row is about.
pub(crate) struct Who<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub birth: Date,
    /// Whether this person's rows may be mistyped or corrupted (planted cases stay clean, so
    /// their outcome does not depend on record linkage).
    pub noisy: bool,
}

struct TruthFile {
    path: PathBuf,
    out: BufWriter<File>,
}

impl TruthFile {
    fn create(path: PathBuf, header: &str) -> Result<TruthFile, SynthError> {
        let file = File::create(&path).map_err(|e| io_error(&path, e))?;
        let mut t = TruthFile {
            path,
            out: BufWriter::new(file),
        };
        t.line(header)?;
        Ok(t)
    }

    fn line(&mut self, text: &str) -> Result<(), SynthError> {
        self.out
            .write_all(text.as_bytes())
            .and_then(|()| self.out.write_all(b"\n"))
            .map_err(|e| io_error(&self.path, e))
    }

    fn finish(mut self) -> Result<(), SynthError> {
        self.out.flush().map_err(|e| io_error(&self.path, e))
    }
}

/// The batch being written.
pub(crate) struct Batch {
    format: Format,
    writers: Vec<Box<dyn FeedWriter>>,
    rows: [u64; 13],
    rng: Rng64,
    row: Vec<Cell>,
    noise: TruthFile,
    invalid: TruthFile,
    anomalies: TruthFile,
    /// Rows written to the noise truth.
    pub noisy_rows: u64,
    /// Rows written to the invalid truth.
    pub invalid_rows: u64,
    /// Anomalies planted.
    pub planted: u64,
}

impl Batch {
    /// Creates the folder layout and opens every feed file.
    pub fn create(dir: &Path, format: Format, seed: u64) -> Result<Batch, SynthError> {
        let truth = dir.join("_truth");
        std::fs::create_dir_all(&truth).map_err(|e| io_error(&truth, e))?;
        let writers = Feed::ALL
            .iter()
            .map(|&feed| format::open(format, dir, feed))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Batch {
            format,
            writers,
            rows: [0; 13],
            rng: Rng64::new(seed ^ 0x6e6f_6973_655f_7273),
            row: Vec::with_capacity(16),
            noise: TruthFile::create(
                truth.join("noise.csv"),
                "feed,row,person_id,id_noise,name_variant",
            )?,
            invalid: TruthFile::create(truth.join("invalid.csv"), "feed,row,column,reason,effect")?,
            anomalies: TruthFile::create(
                truth.join("anomalies.csv"),
                "kind,program,household_id,person_id,reasons",
            )?,
            noisy_rows: 0,
            invalid_rows: 0,
            planted: 0,
        })
    }

    /// Data rows written per feed (invalid rows included), in [`Feed::ALL`] order.
    pub fn rows(&self) -> [u64; 13] {
        self.rows
    }

    fn put(&mut self, feed: Feed) -> Result<u64, SynthError> {
        let i = feed.index();
        if self.format == Format::Xlsx && self.rows[i] >= format::XLSX_MAX_DATA_ROWS {
            return Err(SynthError::SheetRowLimit {
                feed: feed.as_str(),
                limit: format::XLSX_MAX_DATA_ROWS,
            });
        }
        self.writers[i].write_row(&self.row)?;
        self.rows[i] += 1;
        Ok(self.rows[i])
    }

    /// Writes one population row (cells in the feed's column order). For ordinary persons a
    /// few rows get a broken spouse link (dropped with a warning) or are written twice (the
    /// second copy is refused as `duplicate_id`).
    pub fn population(&mut self, mut cells: Vec<Cell>, noisy: bool) -> Result<(), SynthError> {
        let next = self.rows[Feed::Population.index()] + 1;
        let mut broken = false;
        if noisy
            && next % BROKEN_LINK_EVERY == 23
            && let Cell::Text(spouse) = &cells[10]
        {
            let (typed, _) = mistype(spouse, IdNoise::WrongCheck, &mut self.rng);
            cells[10] = Cell::Text(typed);
            broken = true;
        }
        self.row = cells;
        let row = self.put(Feed::Population)?;
        if broken {
            self.invalid_line(Feed::Population, row, "spouse_id", "invalid_id", "warning")?;
        }
        if noisy && row % POPULATION_DUPLICATE_EVERY == 11 {
            let dup = self.put(Feed::Population)?;
            self.invalid_line(
                Feed::Population,
                dup,
                "person_id",
                "duplicate_id",
                "rejected",
            )?;
        }
        Ok(())
    }

    fn invalid_line(
        &mut self,
        feed: Feed,
        row: u64,
        column: &str,
        reason: &str,
        effect: &str,
    ) -> Result<(), SynthError> {
        self.invalid_rows += 1;
        let line = format!("{},{row},{column},{reason},{effect}", feed.as_str());
        self.invalid.line(&line)
    }

    fn fill(&mut self, feed: Feed, id: String, name: &str, birth: Option<Date>, body: Vec<Cell>) {
        self.row.clear();
        self.row.push(if id.is_empty() {
            Cell::Empty
        } else {
            Cell::Text(id)
        });
        self.row.extend(body);
        let named = birth.is_some() || names_every_row(feed);
        if named {
            self.row.push(Cell::Text(name.to_string()));
            self.row.push(birth.map_or(Cell::Empty, Cell::Date));
        } else {
            self.row.push(Cell::Empty);
            self.row.push(Cell::Empty);
        }
    }

    /// Writes one row of a non-population feed about `who`; `body` holds the columns between
    /// `person_id` and the linkage columns.
    pub fn record(&mut self, feed: Feed, who: &Who<'_>, body: Vec<Cell>) -> Result<(), SynthError> {
        if who.noisy && self.rng.chance(NOISE_RATE) {
            let kind = IdNoise::draw(&mut self.rng);
            return self.mistyped(feed, who, body, kind);
        }
        let birth = names_every_row(feed).then_some(who.birth);
        self.fill(feed, who.id.to_string(), who.name, birth, body);
        let row = self.put(feed)?;
        if who.noisy && row % INVALID_EVERY == INVALID_AT {
            self.write_invalid_copy(feed)?;
        }
        Ok(())
    }

    /// Writes a row whose person_id is mistyped (`kind`), with name and birth date for record
    /// linkage, and records the true person in the ground truth.
    pub fn mistyped(
        &mut self,
        feed: Feed,
        who: &Who<'_>,
        body: Vec<Cell>,
        kind: IdNoise,
    ) -> Result<(), SynthError> {
        let (typed, applied) = mistype(who.id, kind, &mut self.rng);
        let mut name_variant = "";
        let mut name = who.name.to_string();
        if self.rng.chance(0.3) {
            let (v, label) = if self.rng.chance(0.5) {
                (NameVariant::Homophone, "homophone")
            } else {
                (NameVariant::Traditional, "traditional")
            };
            if let Some(changed) = variant(who.name, v) {
                name = changed;
                name_variant = label;
            }
        }
        self.fill(feed, typed, &name, Some(who.birth), body);
        let row = self.put(feed)?;
        self.noisy_rows += 1;
        let line = format!(
            "{},{row},{},{},{name_variant}",
            feed.as_str(),
            who.id,
            applied.as_str()
        );
        self.noise.line(&line)
    }

    /// Writes a corrupted copy of the row just written and records why it must be refused.
    fn write_invalid_copy(&mut self, feed: Feed) -> Result<(), SynthError> {
        let columns = feed.columns();
        let mut candidates: Vec<(usize, &'static str)> = Vec::new();
        for (i, col) in columns.iter().enumerate() {
            if i == 0 || col.name == "name" || col.name == "birth_date" {
                continue;
            }
            let applies = match (col.kind, &self.row[i]) {
                (ColumnType::Date, Cell::Date(_)) => col.required,
                (ColumnType::Period, _) => true,
                (ColumnType::Money, Cell::Money(_)) => true,
                (ColumnType::Code, _) => true,
                (ColumnType::Integer, _) => true,
                (ColumnType::Decimal, Cell::Decimal(_)) => col.required,
                (ColumnType::Text, _) => col.name == "credit_code",
                _ => false,
            };
            if applies {
                candidates.push((i, col.name));
            }
        }
        if feed == Feed::Medical {
            candidates.push((usize::MAX, "out_of_pocket"));
        }
        if candidates.is_empty() {
            return Ok(());
        }
        let (i, name) = *self.rng.pick(&candidates);
        let parquet = self.format == Format::Parquet;
        let reason = if i == usize::MAX {
            // out_of_pocket above total_cost.
            let total = match self.row[2] {
                Cell::Money(v) => v,
                _ => 0,
            };
            self.row[4] = Cell::Money(total + 10_000);
            "exceeds_total"
        } else {
            let col = columns[i];
            match col.kind {
                ColumnType::Date => {
                    self.row[i] = Cell::Invalid("2026-02-30".into());
                    if parquet {
                        "missing_required"
                    } else {
                        "bad_date"
                    }
                }
                ColumnType::Period => {
                    self.row[i] = Cell::Invalid("2026-13".into());
                    "bad_period"
                }
                ColumnType::Money => {
                    let v = match self.row[i] {
                        Cell::Money(v) => v,
                        _ => 0,
                    };
                    self.row[i] = Cell::Money(-(v.abs().max(100)));
                    "negative_money"
                }
                ColumnType::Code => {
                    self.row[i] =
                        Cell::Invalid(if col.name == "grade" { "5" } else { "unknown" }.into());
                    "bad_code"
                }
                ColumnType::Integer => {
                    self.row[i] = Cell::Invalid("2.5".into());
                    if parquet {
                        "missing_required"
                    } else {
                        "bad_integer"
                    }
                }
                ColumnType::Decimal => {
                    self.row[i] = Cell::Invalid("abc".into());
                    if parquet {
                        "missing_required"
                    } else {
                        "bad_number"
                    }
                }
                ColumnType::Text => {
                    if let Cell::Text(code) = &self.row[i] {
                        let mut b = code.clone().into_bytes();
                        if let Some(last) = b.last_mut() {
                            *last = if *last == b'0' { b'1' } else { b'0' };
                        }
                        self.row[i] = Cell::Text(String::from_utf8_lossy(&b).into_owned());
                    }
                    "bad_credit_code"
                }
            }
        };
        let row = self.put(feed)?;
        self.invalid_line(feed, row, name, reason, "rejected")
    }

    /// Records a planted anomaly (错保 / 漏保 / 重复保) in the ground truth. `reasons` are
    /// sorted and `;`-joined as in anomalies.csv.
    pub fn anomaly(
        &mut self,
        kind: &str,
        program: &str,
        household: &str,
        person: &str,
        reasons: &[&str],
    ) -> Result<(), SynthError> {
        let mut r = reasons.to_vec();
        r.sort_unstable();
        self.planted += 1;
        let line = format!("{kind},{program},{household},{person},{}", r.join(";"));
        self.anomalies.line(&line)
    }

    /// Closes every file.
    pub fn finish(self) -> Result<(), SynthError> {
        for w in self.writers {
            w.finish()?;
        }
        self.noise.finish()?;
        self.invalid.finish()?;
        self.anomalies.finish()
    }
}
