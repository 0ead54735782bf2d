//! `jiuzhu backup` and `jiuzhu restore`: an online, consistent copy of an installation — the
//! database (with the ledger, which lives in it) and the lake — with a manifest of BLAKE3
//! hashes that is checked before anything is restored.
//!
//! Layout of a backup folder:
//!
//! ```text
//! DIR/manifest.json                 format, backend, time, and every file with size and BLAKE3
//! DIR/database/jiuzhu.sqlite        SQLite: a VACUUM INTO snapshot
//! DIR/database/jiuzhu.pgdump        PostgreSQL: pg_dump --format=custom (one snapshot)
//! DIR/lake/batches/<batch_id>/…     the committed batches (immutable once committed)
//! ```
//!
//! The database is copied first and the lake second: batches are immutable and appear by one
//! rename, so the copy holds every batch the database knows of. The server keeps serving
//! meanwhile. A backup is built under `DIR.partial` and renamed to `DIR` when complete. Keys are
//! not in a backup: the key-encryption key and the ledger's signing key live outside the
//! database and are kept (and backed up) apart; the database holds personal fields sealed.

use crate::cmd::users::DATABASE_FILE;
use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The manifest's format version.
const FORMAT: u32 = 1;
const MANIFEST: &str = "manifest.json";
const PG_DUMP: &str = "jiuzhu.pgdump";

/// Where the installation is.
#[derive(clap::Args, Debug)]
pub struct Location {
    /// The database: sqlite:PATH or postgres://… [default: sqlite:DATA/jiuzhu.sqlite].
    #[arg(long, env = "JIUZHU_DATABASE")]
    database: Option<String>,
    /// The data directory (the lake, and the SQLite database by default).
    #[arg(long, env = "JIUZHU_DATA_DIR", default_value = "data")]
    data_dir: PathBuf,
}

/// Arguments of `jiuzhu backup`.
#[derive(clap::Args, Debug)]
pub struct BackupArgs {
    #[command(flatten)]
    location: Location,
    /// The backup folder to create (must not exist).
    #[arg(long)]
    to: PathBuf,
}

/// Arguments of `jiuzhu restore`.
#[derive(clap::Args, Debug)]
pub struct RestoreArgs {
    #[command(flatten)]
    location: Location,
    /// The backup folder.
    #[arg(long)]
    from: PathBuf,
}

/// One file of a backup.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
struct FileEntry {
    /// Path inside the backup folder, `/`-separated.
    path: String,
    /// Size in bytes.
    bytes: u64,
    /// BLAKE3 of the content, hexadecimal.
    blake3: String,
}

/// The manifest of a backup.
#[derive(Serialize, Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Manifest {
    format: u32,
    /// `sqlite` or `postgres`.
    backend: String,
    /// When the backup began, Unix seconds.
    created_at: i64,
    files: Vec<FileEntry>,
}

impl Location {
    fn url(&self) -> String {
        match &self.database {
            Some(url) => url.clone(),
            None => format!("sqlite:{}", self.data_dir.join(DATABASE_FILE).display()),
        }
    }

    fn batches(&self) -> PathBuf {
        self.data_dir.join("lake").join("batches")
    }
}

fn is_postgres(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

fn sqlite_path(url: &str) -> anyhow::Result<PathBuf> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .context("the database URL is neither sqlite: nor postgres://")?;
    Ok(PathBuf::from(path.split('?').next().unwrap_or(path)))
}

/// Runs `jiuzhu backup`.
pub fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let url = args.location.url();
    if args.to.exists() {
        bail!(
            "{} exists; a backup goes into a new folder",
            args.to.display()
        );
    }
    let partial = PathBuf::from(format!("{}.partial", args.to.display()));
    if partial.exists() {
        std::fs::remove_dir_all(&partial)
            .with_context(|| format!("removing an unfinished backup {}", partial.display()))?;
    }
    let database = partial.join("database");
    std::fs::create_dir_all(&database)
        .with_context(|| format!("creating {}", database.display()))?;
    let created_at = crate::cmd::now()?.0;
    let backend = if is_postgres(&url) {
        let status = Command::new("pg_dump")
            .arg("--format=custom")
            .arg("--no-owner")
            .arg("--file")
            .arg(database.join(PG_DUMP))
            .arg("--dbname")
            .arg(&url)
            .status()
            .context("running pg_dump (package postgresql-client)")?;
        if !status.success() {
            bail!("pg_dump failed ({status})");
        }
        "postgres"
    } else {
        store::block_on(store::snapshot_sqlite(&url, &database.join(DATABASE_FILE)))
            .context("starting the async runtime")?
            .context("taking a snapshot of the SQLite database")?;
        "sqlite"
    };
    let batches = args.location.batches();
    let mut lake_batches = 0usize;
    if batches.is_dir() {
        for entry in sorted_entries(&batches)? {
            // Only committed batches (folders with a manifest) are in `batches/`.
            if entry.is_dir() && entry.join("manifest.json").is_file() {
                let name = entry
                    .file_name()
                    .context("a batch folder without a name")?
                    .to_os_string();
                copy_tree(&entry, &partial.join("lake").join("batches").join(name))?;
                lake_batches += 1;
            }
        }
    }
    let files = hash_tree(&partial)?;
    let manifest = Manifest {
        format: FORMAT,
        backend: backend.to_string(),
        created_at,
        files,
    };
    let text = serde_json::to_string_pretty(&manifest).context("writing the manifest")?;
    std::fs::write(partial.join(MANIFEST), format!("{text}\n"))
        .with_context(|| format!("writing {}", partial.join(MANIFEST).display()))?;
    std::fs::rename(&partial, &args.to)
        .with_context(|| format!("moving the backup to {}", args.to.display()))?;
    println!(
        "backed up the {backend} database and {lake_batches} lake batches to {} ({} files); \
         manifest BLAKE3 {}",
        args.to.display(),
        manifest.files.len(),
        blake3::hash(text.as_bytes()).to_hex()
    );
    Ok(())
}

/// Runs `jiuzhu restore`.
pub fn restore(args: RestoreArgs) -> anyhow::Result<()> {
    let manifest = check(&args.from)?;
    println!(
        "backup checked: {} files match the manifest",
        manifest.files.len()
    );
    let url = args.location.url();
    let batches = args.location.batches();
    if batches.is_dir() && !sorted_entries(&batches)?.is_empty() {
        bail!(
            "{} already holds lake batches; restore into an empty installation",
            batches.display()
        );
    }
    match (manifest.backend.as_str(), is_postgres(&url)) {
        ("postgres", true) => {
            let tables = Command::new("psql")
                .arg("--no-psqlrc")
                .arg("--tuples-only")
                .arg("--no-align")
                .arg("--command")
                .arg(
                    "SELECT count(*) FROM information_schema.tables \
                     WHERE table_schema = current_schema()",
                )
                .arg(&url)
                .output()
                .context("running psql (package postgresql-client)")?;
            if !tables.status.success() {
                bail!(
                    "cannot reach the target database: {}",
                    String::from_utf8_lossy(&tables.stderr).trim()
                );
            }
            if String::from_utf8_lossy(&tables.stdout).trim() != "0" {
                bail!("the target database is not empty; restore into an empty database");
            }
            let status = Command::new("pg_restore")
                .arg("--no-owner")
                .arg("--exit-on-error")
                .arg("--single-transaction")
                .arg("--dbname")
                .arg(&url)
                .arg(args.from.join("database").join(PG_DUMP))
                .status()
                .context("running pg_restore (package postgresql-client)")?;
            if !status.success() {
                bail!("pg_restore failed ({status})");
            }
        }
        ("sqlite", false) => {
            let target = sqlite_path(&url)?;
            if target.exists() {
                bail!(
                    "{} exists; restore into an empty installation",
                    target.display()
                );
            }
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("creating {}", parent.display()))?;
            }
            copy_file(&args.from.join("database").join(DATABASE_FILE), &target)?;
        }
        (backend, _) => bail!(
            "the backup holds a {backend} database; give a matching --database (sqlite:PATH or postgres://…)"
        ),
    }
    let from_batches = args.from.join("lake").join("batches");
    let mut restored = 0usize;
    if from_batches.is_dir() {
        for entry in sorted_entries(&from_batches)? {
            let name = entry.file_name().context("a batch without a name")?;
            copy_tree(&entry, &batches.join(name))?;
            restored += 1;
        }
    }
    println!(
        "restored the {} database and {restored} lake batches into {}",
        manifest.backend,
        args.location.data_dir.display()
    );
    Ok(())
}

/// Reads the manifest and checks every file against it: present, same size, same BLAKE3, and
/// no file that the manifest does not list.
fn check(dir: &Path) -> anyhow::Result<Manifest> {
    let path = dir.join(MANIFEST);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let manifest: Manifest = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a backup manifest", path.display()))?;
    if manifest.format != FORMAT {
        bail!("backup format {} is not supported", manifest.format);
    }
    let mut found = hash_tree(dir)?;
    found.retain(|f| f.path != MANIFEST);
    let mut listed = manifest.files.clone();
    listed.sort_by(|a, b| a.path.cmp(&b.path));
    for file in &listed {
        match found.iter().find(|f| f.path == file.path) {
            None => bail!("the backup is damaged: {} is missing", file.path),
            Some(f) if f != file => {
                bail!(
                    "the backup is damaged: {} does not match its hash",
                    file.path
                )
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = found
        .iter()
        .find(|f| !listed.iter().any(|l| l.path == f.path))
    {
        bail!(
            "the backup is damaged: {} is not in the manifest",
            extra.path
        );
    }
    Ok(manifest)
}

fn sorted_entries(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut entries = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("reading {}", dir.display()))?;
    entries.sort();
    Ok(entries)
}

fn copy_file(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::copy(from, to)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    let file = std::fs::File::open(to).with_context(|| format!("opening {}", to.display()))?;
    file.sync_all()
        .with_context(|| format!("syncing {}", to.display()))?;
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in sorted_entries(from)? {
        let name = entry.file_name().context("a file without a name")?;
        if entry.is_dir() {
            copy_tree(&entry, &to.join(name))?;
        } else {
            copy_file(&entry, &to.join(name))?;
        }
    }
    Ok(())
}

/// Every file under `root` with its size and BLAKE3, by path.
fn hash_tree(root: &Path) -> anyhow::Result<Vec<FileEntry>> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<FileEntry>) -> anyhow::Result<()> {
        for entry in sorted_entries(dir)? {
            if entry.is_dir() {
                walk(root, &entry, out)?;
                continue;
            }
            let relative = entry
                .strip_prefix(root)
                .context("a file outside the backup")?
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let file = std::fs::File::open(&entry)
                .with_context(|| format!("reading {}", entry.display()))?;
            let mut hasher = blake3::Hasher::new();
            hasher
                .update_reader(file)
                .with_context(|| format!("reading {}", entry.display()))?;
            let bytes = hasher.count();
            out.push(FileEntry {
                path: relative,
                bytes,
                blake3: hasher.finalize().to_hex().to_string(),
            });
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(root, root, &mut out)?;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}
