//! `jiuzhu simulate`: what a reform pack would change — households and persons per tier,
//! monthly cash per program, households gained and lost, by county — as a table on the terminal
//! and a CSV.

use std::path::PathBuf;

use anyhow::Context as _;

use crate::cmd::monitor::{as_of, load_pack};
use crate::progress::TerminalProgress;

/// Arguments of `jiuzhu simulate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The data directory; the lake is DATA/lake.
    #[arg(long, env = "JIUZHU_DATA_DIR")]
    pub data_dir: PathBuf,
    /// The as-of date (YYYY-MM-DD); default today.
    #[arg(long)]
    pub as_of: Option<String>,
    /// The reform pack folder.
    #[arg(long)]
    pub reform: PathBuf,
    /// The base pack folder; default the pack built into the binary.
    #[arg(long)]
    pub base: Option<PathBuf>,
    /// Where to write the comparison CSV (default simulation.csv in the current folder).
    #[arg(long, default_value = "simulation.csv")]
    pub out: PathBuf,
    /// Worker threads (default: every core).
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Runs `jiuzhu simulate`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let as_of = as_of(args.as_of.as_deref())?;
    let base = load_pack(args.base.as_deref())?;
    let reform = load_pack(Some(&args.reform))?;
    let lake = crate::cmd::monitor::lake_files(&args.data_dir).context("reading the lake")?;
    let mut options = monitor::RunOptions {
        links: Some(crate::cmd::monitor::links_dir(&args.data_dir)),
        ..monitor::RunOptions::default()
    };
    if let Some(t) = args.threads {
        options.threads = t.max(1);
    }
    let progress = TerminalProgress::new();
    let rows = monitor::simulate::simulate(&lake, as_of, &base, &reform, options, &progress)
        .context("simulating")?;
    monitor::simulate::write_csv(&rows, &args.out).context("writing the comparison")?;
    // The key column holds a tier (households, persons) or a program (cash).
    let h = [
        "county",
        "measure",
        "tier/program",
        "base",
        "reform",
        "change",
    ];
    println!(
        "{:<14} {:<11} {:<22} {:>14} {:>14} {:>14}",
        h[0], h[1], h[2], h[3], h[4], h[5]
    );
    for r in &rows {
        let f = monitor::simulate::fields(r);
        println!(
            "{:<14} {:<11} {:<22} {:>14} {:>14} {:>14}",
            f[0], f[1], f[2], f[3], f[4], f[5]
        );
    }
    println!("comparison in {}", args.out.display());
    Ok(())
}
