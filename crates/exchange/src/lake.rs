//! The lake: committed batches of canonical Parquet under `DATA/lake/`, their manifests, and
//! the listing the monitor reads. See the crate documentation for the layout and schemas.
//!
//! A batch becomes visible in one step: its folder is built under `lake/staging/`, every file
//! is synced, and the folder is renamed into `lake/batches/`. A folder in `batches/` always
//! holds a complete `manifest.json`; anything in `staging/` is an interrupted import and is
//! removed by the next import.

use crate::reject::Reason;
use crate::schema::Feed;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

/// Version of the manifest format.
pub const MANIFEST_FORMAT: u32 = 1;

/// Why the lake cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    /// A file system operation failed.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The path concerned (a lake path, never personal data).
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A manifest is not valid JSON of the expected shape.
    #[error("batch manifest {path} is unreadable: {message}")]
    Manifest {
        /// The manifest path.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
}

pub(crate) fn io_err(
    action: &'static str,
    path: &Path,
) -> impl FnOnce(std::io::Error) -> LakeError {
    let path = path.to_path_buf();
    move |source| LakeError::Io {
        action,
        path,
        source,
    }
}

/// What a committed batch holds for one feed.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct FeedEntry {
    /// The source file name in the batch folder.
    pub file: String,
    /// The source file format.
    pub format: String,
    /// Rows accepted into the lake.
    pub rows: u64,
    /// Rows rejected.
    pub rejected_rows: u64,
    /// Reject lines per reason code (a row may have several problems).
    pub rejects_by_reason: BTreeMap<String, u64>,
    /// Values dropped with a warning (population links).
    pub warnings: u64,
    /// Header columns that are not in the contract, ignored.
    pub ignored_columns: Vec<String>,
    /// The Parquet files, relative to the batch folder.
    pub parts: Vec<String>,
}

/// A file the batch carried that was refused whole.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RefusedFile {
    /// The file name.
    pub file: String,
    /// The feed it was for.
    pub feed: String,
    /// The reason code (`missing_column`, or `unreadable`).
    pub reason: String,
    /// The column concerned, if any.
    pub column: Option<String>,
    /// A message for the clerk (no personal data).
    pub message: String,
}

/// The manifest of a committed batch (`manifest.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BatchManifest {
    /// [`MANIFEST_FORMAT`].
    pub format: u32,
    /// The batch identity: BLAKE3 of the batch's content (hex, 32 characters).
    pub batch_id: String,
    /// Commit order, from 1; the latest population snapshot is the one with the highest.
    pub sequence: u64,
    /// `source` from batch.toml.
    pub source: Option<String>,
    /// `extracted_at` from batch.toml.
    pub extracted_at: Option<String>,
    /// When it was imported, as told by the caller (the library reads no clock).
    pub imported_at: Option<String>,
    /// The CSV encoding used.
    pub encoding: String,
    /// Per feed: what was accepted and where it is.
    pub feeds: BTreeMap<String, FeedEntry>,
    /// Files refused whole.
    pub refused: Vec<RefusedFile>,
    /// Files of the batch folder that are not feeds of the contract.
    pub ignored_files: Vec<String>,
}

impl BatchManifest {
    /// Rows accepted for a feed (0 when the batch does not carry it).
    pub fn rows(&self, feed: Feed) -> u64 {
        self.feeds.get(feed.as_str()).map_or(0, |e| e.rows)
    }

    /// Reject lines of a reason, over all feeds.
    pub fn rejects(&self, reason: Reason) -> u64 {
        self.feeds
            .values()
            .filter_map(|e| e.rejects_by_reason.get(reason.as_str()))
            .sum()
    }
}

/// A committed batch as listed by [`Lake::open`].
#[derive(Debug, Clone)]
pub struct CommittedBatch {
    /// The batch folder (`DATA/lake/batches/<batch_id>`).
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: BatchManifest,
}

impl CommittedBatch {
    /// The batch's `rejects.csv`.
    pub fn rejects_path(&self) -> PathBuf {
        self.dir.join(REJECTS_FILE)
    }

    /// The Parquet files of a feed in this batch.
    pub fn feed_files(&self, feed: Feed) -> Vec<PathBuf> {
        self.manifest
            .feeds
            .get(feed.as_str())
            .map(|e| e.parts.iter().map(|p| self.dir.join(p)).collect())
            .unwrap_or_default()
    }
}

/// Name of the lake folder inside the data directory.
pub const LAKE_DIR: &str = "lake";
/// Folder of committed batches inside the lake.
pub const BATCHES_DIR: &str = "batches";
/// Folder of batches being written.
pub const STAGING_DIR: &str = "staging";
/// The manifest file of a batch.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The rejects report of a batch.
pub const REJECTS_FILE: &str = "rejects.csv";
/// The warnings report of a batch.
pub const WARNINGS_FILE: &str = "warnings.csv";
/// The human summary of a batch.
pub const SUMMARY_FILE: &str = "summary.txt";
const LOCK_FILE: &str = "lock";

/// The committed state of a lake.
#[derive(Debug, Clone)]
pub struct Lake {
    root: PathBuf,
    batches: Vec<CommittedBatch>,
}

impl Lake {
    /// Reads the committed batches of the lake in `data_dir` (an absent lake is empty).
    /// Folders in `staging/` are never listed.
    pub fn open(data_dir: &Path) -> Result<Lake, LakeError> {
        let root = data_dir.join(LAKE_DIR);
        let dir = root.join(BATCHES_DIR);
        let mut batches = Vec::new();
        if dir.is_dir() {
            for entry in fs::read_dir(&dir).map_err(io_err("list", &dir))? {
                let entry = entry.map_err(io_err("list", &dir))?;
                let path = entry.path().join(MANIFEST_FILE);
                if !path.is_file() {
                    continue;
                }
                let text = fs::read_to_string(&path).map_err(io_err("read", &path))?;
                let manifest: BatchManifest =
                    serde_json::from_str(&text).map_err(|e| LakeError::Manifest {
                        path: path.clone(),
                        message: e.to_string(),
                    })?;
                batches.push(CommittedBatch {
                    dir: entry.path(),
                    manifest,
                });
            }
        }
        batches.sort_by_key(|b| b.manifest.sequence);
        Ok(Lake { root, batches })
    }

    /// The lake folder (`DATA/lake`).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The committed batches in commit order.
    pub fn batches(&self) -> &[CommittedBatch] {
        &self.batches
    }

    /// The committed batch with this identity.
    pub fn batch(&self, batch_id: &str) -> Option<&CommittedBatch> {
        self.batches
            .iter()
            .find(|b| b.manifest.batch_id == batch_id)
    }

    /// The batch whose population snapshot is current: the latest committed batch that
    /// carries an accepted population file.
    pub fn population_batch(&self) -> Option<&CommittedBatch> {
        self.batches
            .iter()
            .rev()
            .find(|b| b.manifest.feeds.contains_key(Feed::Population.as_str()))
    }

    /// The Parquet files the monitor reads for a feed: for population, the files of
    /// [`population_batch`](Self::population_batch) only (a full snapshot replaces the
    /// previous one); for every other feed, the files of every committed batch in commit
    /// order (rows accumulate).
    pub fn feed_files(&self, feed: Feed) -> Vec<PathBuf> {
        match feed {
            Feed::Population => self
                .population_batch()
                .map(|b| b.feed_files(feed))
                .unwrap_or_default(),
            _ => self
                .batches
                .iter()
                .flat_map(|b| b.feed_files(feed))
                .collect(),
        }
    }

    /// Rows the monitor sees for a feed (per [`feed_files`](Self::feed_files)).
    pub fn visible_rows(&self, feed: Feed) -> u64 {
        match feed {
            Feed::Population => self.population_batch().map_or(0, |b| b.manifest.rows(feed)),
            _ => self.batches.iter().map(|b| b.manifest.rows(feed)).sum(),
        }
    }

    pub(crate) fn next_sequence(&self) -> u64 {
        self.batches.last().map_or(1, |b| b.manifest.sequence + 1)
    }
}

/// An exclusive lock on the lake for one import; released when dropped or when the process
/// dies.
pub(crate) struct LakeLock {
    _file: File,
}

impl LakeLock {
    pub(crate) fn acquire(root: &Path) -> Result<LakeLock, LakeError> {
        fs::create_dir_all(root.join(BATCHES_DIR)).map_err(io_err("create", root))?;
        fs::create_dir_all(root.join(STAGING_DIR)).map_err(io_err("create", root))?;
        let path = root.join(LOCK_FILE);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err("open", &path))?;
        file.lock().map_err(io_err("lock", &path))?;
        Ok(LakeLock { _file: file })
    }
}

/// Removes interrupted imports left in `staging/`.
pub(crate) fn clean_staging(root: &Path) -> Result<(), LakeError> {
    let dir = root.join(STAGING_DIR);
    for entry in fs::read_dir(&dir).map_err(io_err("list", &dir))? {
        let path = entry.map_err(io_err("list", &dir))?.path();
        if path.is_dir() {
            fs::remove_dir_all(&path).map_err(io_err("remove", &path))?;
        } else {
            fs::remove_file(&path).map_err(io_err("remove", &path))?;
        }
    }
    Ok(())
}

/// Syncs a file or folder to disk.
pub(crate) fn sync_path(path: &Path) -> Result<(), LakeError> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(io_err("sync", path))
}

/// Syncs every file and folder under `dir`, then `dir` itself.
pub(crate) fn sync_tree(dir: &Path) -> Result<(), LakeError> {
    for entry in fs::read_dir(dir).map_err(io_err("list", dir))? {
        let path = entry.map_err(io_err("list", dir))?.path();
        if path.is_dir() {
            sync_tree(&path)?;
        } else {
            sync_path(&path)?;
        }
    }
    sync_path(dir)
}
