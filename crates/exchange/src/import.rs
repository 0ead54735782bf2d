//! Importing a batch folder into the lake: identity, idempotence, the streaming pipeline per
//! file (read → validate on every core → order and deduplicate → write Parquet parts), the
//! rejects and warnings reports, and the atomic commit.

use crate::builder::LakeBatchBuilder;
use crate::lake::{
    BATCHES_DIR, BatchManifest, CommittedBatch, FeedEntry, LAKE_DIR, Lake, LakeError, LakeLock,
    MANIFEST_FILE, MANIFEST_FORMAT, REJECTS_FILE, RefusedFile, STAGING_DIR, SUMMARY_FILE,
    WARNINGS_FILE, clean_staging, io_err, sync_path, sync_tree,
};
use crate::reject::{Reason, Reject};
use crate::schema::{Feed, FeedSpec};
use crate::source::{Format, RawChunk, SourceFile, TextEncoding};
use crate::text::normalize_cow;
use crate::validate::{CheckedRow, Value, check_row};
use arrow::array::{Array, AsArray, BooleanArray};
use arrow::compute::filter_record_batch;
use arrow_array::RecordBatch;
use arrow_schema::ArrowError;
use crossbeam_channel::{Receiver, Sender, bounded};
use domain::Progress;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use rustc_hash::FxHashSet;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// Rows per Parquet row group in the lake.
const ROW_GROUP_ROWS: usize = 512 * 1024;

/// How to import a batch.
pub struct ImportOptions<'a> {
    /// CSV encoding to use whatever batch.toml says (`--encoding`).
    pub encoding: Option<TextEncoding>,
    /// The import time to record in the manifest (the caller reads the clock).
    pub imported_at: Option<String>,
    /// Receives progress: one stage per file.
    pub progress: &'a dyn Progress,
    /// Called after every staged file is written and synced, just before the commit rename.
    pub before_commit: Option<&'a dyn Fn()>,
    /// Validation threads (0: one per available core).
    pub threads: usize,
}

impl Default for ImportOptions<'_> {
    fn default() -> Self {
        ImportOptions {
            encoding: None,
            imported_at: None,
            progress: &domain::NoProgress,
            before_commit: None,
            threads: 0,
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The batch was committed now.
    Applied,
    /// A batch with the same content was committed before; nothing changed.
    AlreadyImported,
}

/// The result of [`import_batch`].
#[derive(Debug, Clone)]
pub struct ImportReport {
    /// Applied now, or already there.
    pub outcome: Outcome,
    /// The committed batch (folder and manifest).
    pub batch: CommittedBatch,
}

impl ImportReport {
    /// Whether some file of the batch was refused whole.
    pub fn has_refused_files(&self) -> bool {
        !self.batch.manifest.refused.is_empty()
    }

    /// The human summary (also kept as `summary.txt` in the batch folder).
    pub fn summary(&self) -> String {
        let mut text = render_summary(&self.batch.manifest);
        if self.outcome == Outcome::AlreadyImported {
            text = format!(
                "batch {} was already imported (sequence {}): nothing changed\n{text}",
                self.batch.manifest.batch_id, self.batch.manifest.sequence
            );
        }
        let _ = writeln!(text, "rejects: {}", self.batch.rejects_path().display());
        text
    }
}

/// Why an import failed (rows and files that break the contract are reported, not errors).
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The batch folder cannot be read.
    #[error("cannot read batch folder {path}: {source}")]
    BatchDir {
        /// The folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// batch.toml is not valid.
    #[error("batch.toml is not valid: {0}")]
    BatchToml(String),
    /// The batch folder carries no feed file.
    #[error("the batch folder {0} has no feed file (population.csv, medical.xlsx, …)")]
    Empty(PathBuf),
    /// Reading the lake or writing to it failed.
    #[error(transparent)]
    Lake(#[from] LakeError),
    /// A file broke off while being read.
    #[error(transparent)]
    Source(#[from] crate::source::SourceError),
    /// Writing Parquet failed.
    #[error("writing {feed} to the lake failed: {message}")]
    Write {
        /// The feed.
        feed: Feed,
        /// The writer's message.
        message: String,
    },
    /// Writing a report failed.
    #[error("writing the rejects report failed: {0}")]
    Report(String),
}

#[derive(Debug, Default, serde::Deserialize)]
struct BatchToml {
    source: Option<String>,
    extracted_at: Option<toml::Value>,
    encoding: Option<String>,
}

struct FeedFile {
    feed: Feed,
    format: Format,
    path: PathBuf,
    name: String,
}

struct BatchPlan {
    toml_bytes: Vec<u8>,
    toml: BatchToml,
    encoding: TextEncoding,
    files: Vec<FeedFile>,
    ignored_files: Vec<String>,
}

impl BatchPlan {
    fn read(dir: &Path, encoding: Option<TextEncoding>) -> Result<BatchPlan, ImportError> {
        let dir_err = |source| ImportError::BatchDir {
            path: dir.to_path_buf(),
            source,
        };
        let mut names: Vec<(String, PathBuf)> = Vec::new();
        for entry in fs::read_dir(dir).map_err(dir_err)? {
            let entry = entry.map_err(dir_err)?;
            if entry.file_type().map_err(dir_err)?.is_file() {
                names.push((
                    entry.file_name().to_string_lossy().into_owned(),
                    entry.path(),
                ));
            }
        }
        names.sort();
        let mut toml_bytes = Vec::new();
        let mut files: Vec<FeedFile> = Vec::new();
        let mut ignored_files = Vec::new();
        for (name, path) in names {
            if name == "batch.toml" {
                toml_bytes = fs::read(&path).map_err(dir_err)?;
                continue;
            }
            let (stem, ext) = name.rsplit_once('.').unwrap_or((&name, ""));
            match (Feed::parse(stem), Format::from_extension(ext)) {
                (Some(feed), Some(format)) if !files.iter().any(|f| f.feed == feed) => {
                    files.push(FeedFile {
                        feed,
                        format,
                        path,
                        name,
                    });
                }
                _ => ignored_files.push(name),
            }
        }
        let toml: BatchToml = if toml_bytes.is_empty() {
            BatchToml::default()
        } else {
            let text = String::from_utf8_lossy(&toml_bytes);
            toml::from_str(&text).map_err(|e| ImportError::BatchToml(e.message().to_string()))?
        };
        let encoding = match (encoding, &toml.encoding) {
            (Some(e), _) => e,
            (None, Some(label)) => TextEncoding::parse(label).ok_or_else(|| {
                ImportError::BatchToml(format!("unknown encoding {label:?} (utf-8 or gb18030)"))
            })?,
            (None, None) => TextEncoding::Utf8,
        };
        if files.is_empty() {
            return Err(ImportError::Empty(dir.to_path_buf()));
        }
        files.sort_by_key(|f| f.feed);
        Ok(BatchPlan {
            toml_bytes,
            toml,
            encoding,
            files,
            ignored_files,
        })
    }

    /// BLAKE3 over batch.toml, the effective encoding and every feed file (name and bytes).
    fn identity(&self) -> Result<String, ImportError> {
        let mut hasher = blake3::Hasher::new();
        hasher.update(b"jiuzhu-batch-1\0");
        hasher.update(&(self.toml_bytes.len() as u64).to_le_bytes());
        hasher.update(&self.toml_bytes);
        hasher.update(self.encoding.as_str().as_bytes());
        let mut buf = vec![0u8; 1 << 20];
        for f in &self.files {
            hasher.update(b"\0file\0");
            hasher.update(f.name.as_bytes());
            hasher.update(b"\0");
            let mut file = File::open(&f.path).map_err(|source| ImportError::BatchDir {
                path: f.path.clone(),
                source,
            })?;
            loop {
                let n = file
                    .read(&mut buf)
                    .map_err(|source| ImportError::BatchDir {
                        path: f.path.clone(),
                        source,
                    })?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
            }
        }
        Ok(hasher.finalize().to_hex()[..32].to_string())
    }
}

/// The rejects and warnings reports of a batch being staged.
struct Reports {
    rejects: csv::Writer<BufWriter<File>>,
    warnings: csv::Writer<BufWriter<File>>,
}

impl Reports {
    fn create(dir: &Path) -> Result<Reports, ImportError> {
        let open = |name: &str| -> Result<csv::Writer<BufWriter<File>>, ImportError> {
            let path = dir.join(name);
            let file = File::create(&path).map_err(io_err("create", &path))?;
            let mut w = csv::Writer::from_writer(BufWriter::new(file));
            w.write_record(["feed", "row", "column", "reason", "value"])
                .map_err(report_err)?;
            Ok(w)
        };
        Ok(Reports {
            rejects: open(REJECTS_FILE)?,
            warnings: open(WARNINGS_FILE)?,
        })
    }

    fn write(
        w: &mut csv::Writer<BufWriter<File>>,
        feed: Feed,
        r: &Reject,
    ) -> Result<(), ImportError> {
        let row = r.row.to_string();
        w.write_record([feed.as_str(), &row, r.column, r.reason.as_str(), &r.value])
            .map_err(report_err)
    }

    fn finish(self) -> Result<(), ImportError> {
        for w in [self.rejects, self.warnings] {
            w.into_inner()
                .map_err(|e| ImportError::Report(e.to_string()))?
                .flush()
                .map_err(report_err)?;
        }
        Ok(())
    }
}

fn report_err(e: impl std::fmt::Display) -> ImportError {
    ImportError::Report(e.to_string())
}

/// Imports a batch folder into the lake of `data_dir`.
///
/// Files that break the contract are reported in the manifest (refused files) and rows that
/// break it in `rejects.csv`; neither is an error. Importing a batch whose content was already
/// committed changes nothing and reports [`Outcome::AlreadyImported`].
pub fn import_batch(
    batch_dir: &Path,
    data_dir: &Path,
    options: &ImportOptions<'_>,
) -> Result<ImportReport, ImportError> {
    let plan = BatchPlan::read(batch_dir, options.encoding)?;
    let batch_id = plan.identity()?;
    let root = data_dir.join(LAKE_DIR);
    let _lock = LakeLock::acquire(&root)?;
    clean_staging(&root)?;
    let lake = Lake::open(data_dir)?;
    if let Some(batch) = lake.batch(&batch_id) {
        options.progress.finish();
        return Ok(ImportReport {
            outcome: Outcome::AlreadyImported,
            batch: batch.clone(),
        });
    }
    let staging = root.join(STAGING_DIR).join(&batch_id);
    fs::create_dir_all(&staging).map_err(io_err("create", &staging))?;
    let mut reports = Reports::create(&staging)?;
    let mut manifest = BatchManifest {
        format: MANIFEST_FORMAT,
        batch_id: batch_id.clone(),
        sequence: lake.next_sequence(),
        source: plan.toml.source.clone(),
        extracted_at: plan.toml.extracted_at.as_ref().map(|v| match v {
            toml::Value::String(s) => s.clone(),
            other => other.to_string(),
        }),
        imported_at: options.imported_at.clone(),
        encoding: plan.encoding.as_str().to_string(),
        feeds: BTreeMap::new(),
        refused: Vec::new(),
        ignored_files: plan.ignored_files.clone(),
    };
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
        n => n,
    };
    for file in &plan.files {
        match import_file(
            file,
            plan.encoding,
            &staging,
            &mut reports,
            options.progress,
            threads,
        )? {
            FileOutcome::Accepted(entry) => {
                manifest.feeds.insert(file.feed.as_str().to_string(), entry);
            }
            FileOutcome::Refused(refused) => manifest.refused.push(refused),
        }
    }
    reports.finish()?;
    let summary_path = staging.join(SUMMARY_FILE);
    fs::write(&summary_path, render_summary(&manifest)).map_err(io_err("write", &summary_path))?;
    let manifest_path = staging.join(MANIFEST_FILE);
    let json = serde_json::to_string_pretty(&manifest).map_err(report_err)?;
    fs::write(&manifest_path, json).map_err(io_err("write", &manifest_path))?;
    sync_tree(&staging)?;
    options.progress.finish();
    if let Some(hook) = options.before_commit {
        hook();
    }
    let committed = root.join(BATCHES_DIR).join(&batch_id);
    fs::rename(&staging, &committed).map_err(io_err("commit", &committed))?;
    sync_path(&root.join(BATCHES_DIR))?;
    Ok(ImportReport {
        outcome: Outcome::Applied,
        batch: CommittedBatch {
            dir: committed,
            manifest,
        },
    })
}

enum FileOutcome {
    Accepted(FeedEntry),
    Refused(RefusedFile),
}

/// What a validation worker makes of one chunk.
struct ChunkResult {
    batch: RecordBatch,
    /// Population: the dedup key of each accepted row, in batch order.
    keys: Vec<u64>,
    rejects: Vec<Reject>,
    rejected_rows: u64,
    warnings: Vec<Reject>,
}

fn import_file(
    file: &FeedFile,
    encoding: TextEncoding,
    staging: &Path,
    reports: &mut Reports,
    progress: &dyn Progress,
    threads: usize,
) -> Result<FileOutcome, ImportError> {
    let feed = file.feed;
    let spec = feed.spec();
    let refused = |reason: &str, column: Option<&str>, message: String| RefusedFile {
        file: file.name.clone(),
        feed: feed.as_str().to_string(),
        reason: reason.to_string(),
        column: column.map(str::to_string),
        message,
    };
    let mut source = match SourceFile::open(&file.path, file.format, encoding) {
        Ok(s) => s,
        Err(e) => {
            return Ok(FileOutcome::Refused(refused(
                "unreadable",
                None,
                e.to_string(),
            )));
        }
    };
    let mut map: Vec<Option<usize>> = vec![None; source.header.len()];
    let mut seen = vec![false; spec.columns.len()];
    let mut ignored_columns = Vec::new();
    for (j, header) in source.header.iter().enumerate() {
        match spec.resolve_header(header) {
            Some(i) if !seen[i] => {
                map[j] = Some(i);
                seen[i] = true;
            }
            _ if header.trim().is_empty() => {}
            _ => ignored_columns.push(header.clone()),
        }
    }
    let missing: Vec<_> = spec
        .columns
        .iter()
        .zip(&seen)
        .filter(|(c, s)| c.required && !**s)
        .map(|(c, _)| c)
        .collect();
    if let Some(first) = missing.first() {
        for column in &missing {
            let r = Reject {
                row: 0,
                column: column.name,
                reason: Reason::MissingColumn,
                value: String::new(),
            };
            Reports::write(&mut reports.rejects, feed, &r)?;
        }
        let names: Vec<String> = missing
            .iter()
            .map(|c| match c.aliases.first() {
                Some(alias) => format!("`{}` ({alias})", c.name),
                None => format!("`{}`", c.name),
            })
            .collect();
        let message = format!(
            "{}: required column {} missing; the file was not imported",
            file.name,
            names.join(", ")
        );
        return Ok(FileOutcome::Refused(refused(
            Reason::MissingColumn.as_str(),
            Some(first.name),
            message,
        )));
    }
    source.set_column_types(map.iter().map(|m| m.map(|i| spec.columns[i].ty)).collect());
    progress.stage(&file.name, source.total_work);

    let dir = staging.join(feed.as_str());
    fs::create_dir_all(&dir).map_err(io_err("create", &dir))?;
    let writers = threads.clamp(1, 2);
    let mut entry = FeedEntry {
        file: file.name.clone(),
        format: format!("{:?}", file.format).to_lowercase(),
        ignored_columns,
        ..FeedEntry::default()
    };
    let mut by_reason: BTreeMap<Reason, u64> = BTreeMap::new();

    let result: Result<Vec<String>, ImportError> = std::thread::scope(|s| {
        let (chunk_tx, chunk_rx) = bounded::<(u64, RawChunk)>(threads * 2);
        let (done_tx, done_rx) = bounded::<(u64, Result<ChunkResult, ArrowError>)>(threads * 2);
        let reader = s.spawn(move || -> Result<(), ImportError> {
            let mut seq = 0;
            while let Some(chunk) = source.next_chunk()? {
                progress.inc(chunk.work);
                if chunk_tx.send((seq, chunk)).is_err() {
                    break;
                }
                seq += 1;
            }
            Ok(())
        });
        let map = &map;
        for _ in 0..threads {
            let (rx, tx) = (chunk_rx.clone(), done_tx.clone());
            s.spawn(move || {
                for (seq, chunk) in rx {
                    let result = chunk
                        .into_text()
                        .and_then(|chunk| process_chunk(spec, map, &chunk));
                    if tx.send((seq, result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop((chunk_rx, done_tx));
        let mut writer_txs = Vec::new();
        let mut writer_handles = Vec::new();
        for k in 0..writers {
            let (tx, rx) = bounded::<RecordBatch>(2);
            writer_txs.push(tx);
            let path = dir.join(format!("part-{k}.parquet"));
            writer_handles.push(s.spawn(move || write_part(spec, &path, rx)));
        }

        let sequenced = sequence(
            feed,
            done_rx,
            &writer_txs,
            reports,
            &mut entry,
            &mut by_reason,
        );
        drop(writer_txs);
        let mut parts = Vec::new();
        let mut first_error = sequenced.err();
        for (k, h) in writer_handles.into_iter().enumerate() {
            match h.join() {
                Ok(Ok(true)) => parts.push(format!("{}/part-{k}.parquet", feed.as_str())),
                Ok(Ok(false)) => {}
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                Err(_) => {
                    first_error.get_or_insert(ImportError::Write {
                        feed,
                        message: "a writer thread failed".into(),
                    });
                }
            }
        }
        match reader.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                first_error = Some(e);
            }
            Err(_) => {
                first_error.get_or_insert(ImportError::Write {
                    feed,
                    message: "the reader thread failed".into(),
                });
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(parts),
        }
    });
    let mut parts = result?;
    if parts.is_empty() {
        // No accepted row: an empty part still carries the schema for readers.
        write_batches(spec, &dir.join("part-0.parquet"), std::iter::empty())?;
        parts.push(format!("{}/part-0.parquet", feed.as_str()));
    }
    entry.parts = parts;
    entry.rejects_by_reason = by_reason
        .into_iter()
        .map(|(r, n)| (r.as_str().to_string(), n))
        .collect();
    Ok(FileOutcome::Accepted(entry))
}

/// Puts worker results back in file order, drops population duplicates after their first
/// accepted row, writes the reports and hands batches to the Parquet writers.
fn sequence(
    feed: Feed,
    done: Receiver<(u64, Result<ChunkResult, ArrowError>)>,
    writers: &[Sender<RecordBatch>],
    reports: &mut Reports,
    entry: &mut FeedEntry,
    by_reason: &mut BTreeMap<Reason, u64>,
) -> Result<(), ImportError> {
    let write_err = |e: ArrowError| ImportError::Write {
        feed,
        message: e.to_string(),
    };
    let mut pending: HashMap<u64, ChunkResult> = HashMap::new();
    let mut next = 0u64;
    let mut seen: FxHashSet<u64> = FxHashSet::default();
    for (seq, result) in done {
        pending.insert(seq, result.map_err(write_err)?);
        while let Some(mut chunk) = pending.remove(&next) {
            next += 1;
            if feed == Feed::Population {
                let mut keep: Option<Vec<bool>> = None;
                for (i, key) in chunk.keys.iter().enumerate() {
                    if !seen.insert(*key) {
                        keep.get_or_insert_with(|| vec![true; chunk.keys.len()])[i] = false;
                        let row = chunk
                            .batch
                            .column(0)
                            .as_primitive::<arrow::datatypes::Int64Type>()
                            .value(i);
                        let ids = chunk.batch.column(1).as_string::<i32>();
                        let shown = if ids.is_valid(i) { ids.value(i) } else { "" };
                        chunk.rejects.push(Reject {
                            row: row as u64,
                            column: "person_id",
                            reason: Reason::DuplicateId,
                            value: domain::id::mask_id_text(shown),
                        });
                        chunk.rejected_rows += 1;
                    }
                }
                if let Some(keep) = keep {
                    chunk.batch = filter_record_batch(&chunk.batch, &BooleanArray::from(keep))
                        .map_err(write_err)?;
                }
            }
            for r in &chunk.rejects {
                *by_reason.entry(r.reason).or_default() += 1;
                Reports::write(&mut reports.rejects, feed, r)?;
            }
            for w in &chunk.warnings {
                Reports::write(&mut reports.warnings, feed, w)?;
            }
            entry.rejected_rows += chunk.rejected_rows;
            entry.warnings += chunk.warnings.len() as u64;
            entry.rows += chunk.batch.num_rows() as u64;
            if chunk.batch.num_rows() > 0 {
                let k = (next as usize - 1) % writers.len();
                if writers[k].send(chunk.batch).is_err() {
                    // The writer stopped; its error is reported when it is joined.
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}

/// Snappy, large row groups, and no dictionary for columns whose values are (nearly) all
/// distinct — ID numbers, row numbers, amounts — where a dictionary only costs time.
fn writer_properties(spec: &FeedSpec) -> WriterProperties {
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_column_dictionary_enabled(ColumnPath::from(crate::schema::ROW_COLUMN), false)
        .set_column_dictionary_enabled(ColumnPath::from(crate::schema::RAW_ID_COLUMN), false);
    // Amounts are nearly all distinct too (costs, incomes, prices).
    for c in spec.columns.iter().filter(|c| {
        matches!(
            c.ty,
            crate::schema::ValueType::Id
                | crate::schema::ValueType::Money
                | crate::schema::ValueType::Decimal
        )
    }) {
        builder = builder.set_column_dictionary_enabled(ColumnPath::from(c.name), false);
    }
    builder.build()
}

/// Writes the batches received to one Parquet part; creates the file only when a batch
/// arrives. Returns whether a file was written.
fn write_part(
    spec: &FeedSpec,
    path: &Path,
    rx: Receiver<RecordBatch>,
) -> Result<bool, ImportError> {
    let Ok(first) = rx.recv() else {
        return Ok(false);
    };
    write_batches(spec, path, std::iter::once(first).chain(rx))?;
    Ok(true)
}

fn write_batches(
    spec: &FeedSpec,
    path: &Path,
    batches: impl IntoIterator<Item = RecordBatch>,
) -> Result<(), ImportError> {
    let feed = spec.feed;
    let err = |e: parquet::errors::ParquetError| ImportError::Write {
        feed,
        message: e.to_string(),
    };
    let file = File::create(path).map_err(io_err("create", path))?;
    let mut writer = ArrowWriter::try_new(
        BufWriter::with_capacity(1 << 20, file),
        spec.lake_schema.clone(),
        Some(writer_properties(spec)),
    )
    .map_err(err)?;
    for batch in batches {
        writer.write(&batch).map_err(err)?;
    }
    let inner = writer.into_inner().map_err(err)?;
    inner
        .into_inner()
        .map_err(|e| ImportError::Write {
            feed,
            message: e.to_string(),
        })?
        .sync_all()
        .map_err(io_err("sync", path))?;
    Ok(())
}

/// Validates one chunk: decode and normalise each mapped field, check the row, append
/// accepted rows to Arrow builders.
fn process_chunk(
    spec: &'static FeedSpec,
    map: &[Option<usize>],
    chunk: &RawChunk,
) -> Result<ChunkResult, ArrowError> {
    let mut builder = LakeBatchBuilder::new(spec, chunk.len());
    let mut cells: Vec<Option<Cow<'_, str>>> = vec![None; spec.columns.len()];
    let mut checked = CheckedRow::default();
    let population = spec.feed == Feed::Population;
    let mut keys = Vec::new();
    let mut rejects = Vec::new();
    let mut warnings = Vec::new();
    let mut rejected_rows = 0;
    // Usually the whole chunk is valid UTF-8: checked once, its fields are then borrowed
    // without checking each (a field cut inside a character is still refused by `get`).
    let whole = (chunk.encoding == TextEncoding::Utf8)
        .then(|| std::str::from_utf8(&chunk.data).ok())
        .flatten();
    for r in 0..chunk.len() {
        let row = chunk.first_row + r as u64;
        cells.iter_mut().for_each(|c| *c = None);
        let mut bad_encoding = None;
        for (j, range) in chunk.record_ranges(r).enumerate() {
            let Some(Some(i)) = map.get(j) else { continue };
            let decoded = match whole {
                Some(text) => text.get(range).map(Cow::Borrowed),
                None => chunk.encoding.decode(&chunk.data[range]),
            };
            match decoded {
                Some(text) => {
                    let text = normalize_cow(text);
                    cells[*i] = (!text.is_empty()).then_some(text);
                }
                None => {
                    bad_encoding.get_or_insert(*i);
                }
            }
        }
        if let Some(i) = bad_encoding {
            rejects.push(Reject {
                row,
                column: spec.columns[i].name,
                reason: Reason::BadEncoding,
                value: String::new(),
            });
            rejected_rows += 1;
            continue;
        }
        match check_row(spec, &mut cells, row, &mut checked) {
            Ok(()) => {
                builder.append(row, &checked);
                if population {
                    keys.push(match &checked.values[0] {
                        Value::Id(id) => id_key(id),
                        _ => 0,
                    });
                }
                warnings.append(&mut checked.warnings);
            }
            Err(rs) => {
                rejected_rows += 1;
                rejects.extend(rs);
            }
        }
    }
    Ok(ChunkResult {
        batch: builder.finish()?,
        keys,
        rejects,
        rejected_rows,
        warnings,
    })
}

/// The first 17 digits of an ID as a number: they determine the check character, so they
/// identify the person.
fn id_key(id: &domain::ResidentId) -> u64 {
    id.as_bytes()[..17]
        .iter()
        .fold(0u64, |acc, b| acc * 10 + u64::from(b - b'0'))
}

/// The human summary of a batch.
pub fn render_summary(m: &BatchManifest) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "batch {} (sequence {})", m.batch_id, m.sequence);
    if let Some(source) = &m.source {
        let _ = writeln!(out, "  source: {source}");
    }
    for (feed, e) in &m.feeds {
        let _ = write!(
            out,
            "  {feed:<12} {:<24} {:>12} accepted {:>10} rejected",
            e.file, e.rows, e.rejected_rows
        );
        if !e.rejects_by_reason.is_empty() {
            let reasons: Vec<String> = e
                .rejects_by_reason
                .iter()
                .map(|(r, n)| format!("{r} {n}"))
                .collect();
            let _ = write!(out, "  ({})", reasons.join(", "));
        }
        if e.warnings > 0 {
            let _ = write!(out, "  {} warnings (links dropped)", e.warnings);
        }
        out.push('\n');
        if !e.ignored_columns.is_empty() {
            let _ = writeln!(
                out,
                "  {:<12} ignored columns: {}",
                "",
                e.ignored_columns.join(", ")
            );
        }
    }
    for r in &m.refused {
        let _ = writeln!(out, "  REFUSED {}: {}", r.file, r.message);
    }
    if !m.ignored_files.is_empty() {
        let _ = writeln!(out, "  ignored files: {}", m.ignored_files.join(", "));
    }
    out
}
