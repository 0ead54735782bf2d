//! `jiuzhu lake`: inspects the lake (committed batches and what the monitor will read).

use anyhow::Context as _;
use exchange::{Feed, Lake};
use std::path::PathBuf;

/// The subcommands of `jiuzhu lake`.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Lists committed batches with accepted rows per feed.
    Ls {
        /// The data directory; the lake is DATA/lake.
        #[arg(long, env = "JIUZHU_DATA_DIR")]
        data_dir: PathBuf,
    },
}

/// Runs `jiuzhu lake`.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Ls { data_dir } => ls(&data_dir),
    }
}

fn ls(data_dir: &std::path::Path) -> anyhow::Result<()> {
    let lake = Lake::open(data_dir)
        .with_context(|| format!("reading the lake in {}", data_dir.display()))?;
    if lake.batches().is_empty() {
        println!("no batches in {}", lake.root().display());
        return Ok(());
    }
    for batch in lake.batches() {
        let m = &batch.manifest;
        println!(
            "batch {} (sequence {}) imported {} source {}",
            m.batch_id,
            m.sequence,
            m.imported_at.as_deref().unwrap_or("-"),
            m.source.as_deref().unwrap_or("-"),
        );
        for (feed, entry) in &m.feeds {
            println!(
                "  {feed:<12} {:>12} rows {:>10} rejected  {}",
                entry.rows, entry.rejected_rows, entry.file
            );
        }
        for refused in &m.refused {
            println!("  refused: {}", refused.message);
        }
    }
    println!("visible to the monitor:");
    for feed in Feed::ALL {
        let rows = lake.visible_rows(feed);
        if rows > 0 || !lake.feed_files(feed).is_empty() {
            println!("  {:<12} {rows:>12} rows", feed.as_str());
        }
    }
    Ok(())
}
