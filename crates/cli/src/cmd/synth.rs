//! `jiuzhu synth`: writes a synthetic city (region 99, 示范市) as an exchange batch folder,
//! with ground truth for linkage and screening tests in `_truth/`.

use crate::progress::TerminalProgress;
use anyhow::Context;
use std::path::PathBuf;

/// Arguments of `jiuzhu synth`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Number of persons in the population feed.
    #[arg(long)]
    persons: u64,
    /// Seed of the generator: the same seed and options give the same files.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Batch folder to write (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// File format of the feeds: csv (UTF-8), gb18030 (CSV with Chinese headers), xlsx or
    /// parquet.
    #[arg(long, default_value = "csv", value_parser = ["csv", "gb18030", "xlsx", "parquet"])]
    format: String,
    /// The date the data is generated around, YYYY-MM-DD [default: 2026-06-30].
    #[arg(long)]
    as_of: Option<String>,
}

/// Runs `jiuzhu synth`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let format = synth::Format::parse(&args.format)
        .with_context(|| format!("unknown format {:?}", args.format))?;
    let as_of = match &args.as_of {
        Some(text) => domain::Date::parse(text)
            .map_err(|e| anyhow::anyhow!("--as-of {text:?} is not a date: {e}"))?,
        None => synth::default_as_of(),
    };
    let options = synth::Options {
        persons: args.persons,
        seed: args.seed,
        format,
        as_of,
    };
    let progress = TerminalProgress::new();
    let started = std::time::Instant::now();
    let summary = synth::generate(&options, &args.out, &progress)
        .with_context(|| format!("generating the city into {}", args.out.display()))?;
    println!(
        "wrote {} persons in {} households to {} ({}, as of {}) in {:.1} s",
        summary.persons,
        summary.households,
        args.out.display(),
        args.format,
        as_of,
        started.elapsed().as_secs_f64()
    );
    for (feed, rows) in &summary.rows {
        println!("  {:<12} {rows:>12} rows", feed.as_str());
    }
    println!(
        "  ground truth: {} mistyped-ID rows, {} invalid rows, {} planted anomalies (in _truth/)",
        summary.noisy_rows, summary.invalid_rows, summary.planted_anomalies
    );
    Ok(())
}
