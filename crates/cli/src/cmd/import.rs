//! `jiuzhu import`: imports a batch folder of department extracts into the lake, with progress
//! on the terminal and a human summary at the end.

use crate::progress::TerminalProgress;
use anyhow::Context as _;
use exchange::{ImportOptions, Outcome, TextEncoding, import_batch};
use std::io::Read as _;
use std::path::PathBuf;

/// When this environment variable is set, the import stops after every file of the batch is
/// staged and synced, just before the commit, says so on standard error and waits for
/// standard input to close. Crash-safety tests kill the process there.
pub const PAUSE_BEFORE_COMMIT: &str = "JIUZHU_IMPORT_PAUSE_BEFORE_COMMIT";

/// The line written to standard error when the import pauses before its commit.
pub const PAUSED_LINE: &str = "import paused before commit";

/// Arguments of `jiuzhu import`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The batch folder (population.csv, medical.xlsx, … and an optional batch.toml).
    pub dir: PathBuf,
    /// The data directory; the lake is DATA/lake.
    #[arg(long, env = "JIUZHU_DATA_DIR")]
    pub data_dir: PathBuf,
    /// CSV text encoding (utf-8 or gb18030), overriding batch.toml.
    #[arg(long)]
    pub encoding: Option<String>,
    /// The installation's database, in whose audit ledger the batch is recorded
    /// [default: DATA/jiuzhu.sqlite when it exists; without a database the batch is only
    /// imported into the lake].
    #[arg(long, env = "JIUZHU_DATABASE")]
    pub database: Option<String>,
}

/// Runs `jiuzhu import`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let encoding = match &args.encoding {
        None => None,
        Some(label) => Some(
            TextEncoding::parse(label)
                .with_context(|| format!("unknown encoding {label:?}: use utf-8 or gb18030"))?,
        ),
    };
    let progress = TerminalProgress::new();
    let pause = || {
        eprintln!("{PAUSED_LINE}");
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    };
    let pause_requested = std::env::var_os(PAUSE_BEFORE_COMMIT).is_some();
    let options = ImportOptions {
        encoding,
        imported_at: Some(now_utc()),
        progress: &progress,
        before_commit: if pause_requested {
            Some(&pause as &dyn Fn())
        } else {
            None
        },
        threads: 0,
    };
    let report = import_batch(&args.dir, &args.data_dir, &options)
        .with_context(|| format!("importing {}", args.dir.display()))?;
    match report.outcome {
        Outcome::Applied => {
            println!("imported {}", args.dir.display());
            let manifest = std::fs::read(report.batch.dir.join("manifest.json"))
                .context("reading the batch manifest")?;
            match crate::cmd::ledger::record_import(
                &args.data_dir,
                args.database.as_deref(),
                &report.batch.manifest.batch_id,
                &manifest,
            )? {
                Some(index) => println!("recorded in the audit ledger as entry {index}"),
                None => println!("no database yet: the batch is not in the audit ledger"),
            }
        }
        Outcome::AlreadyImported => {
            println!("{}: already imported, nothing changed", args.dir.display())
        }
    }
    print!("{}", report.summary());
    let refused = &report.batch.manifest.refused;
    if !refused.is_empty() {
        let messages: Vec<&str> = refused.iter().map(|r| r.message.as_str()).collect();
        anyhow::bail!(
            "{} file(s) of the batch refused (the rest was applied): {}",
            refused.len(),
            messages.join("; ")
        );
    }
    Ok(())
}

/// The current time as `YYYY-MM-DDTHH:MM:SSZ`.
fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let date = domain::Date::from_days((secs / 86_400) as i32);
    let t = secs % 86_400;
    format!("{date}T{:02}:{:02}:{:02}Z", t / 3600, t / 60 % 60, t % 60)
}
