//! The synthetic city 示范市 (region prefix `99`): a seeded, deterministic generator of a batch
//! folder in the exchange format (exchange.md), for the demo, tests and benchmarks. It is never
//! used by production paths.
//!
//! What a batch holds:
//! - one file per feed of exchange.md §2 (`population.csv`, `medical.csv`, …) in the chosen
//!   [`Format`], and `batch.toml` (source, `extracted_at` = the as-of date, encoding);
//! - `_meta/regions.csv` and `_meta/boundaries.geojson`: the divisions of the city;
//! - `_truth/`: what a perfect importer, linker and screener should find — `noise.csv` (rows
//!   with a mistyped person_id and the true person), `invalid.csv` (rows to refuse, with the
//!   reason code) and `anomalies.csv` (planted 错保 / 漏保 / 重复保 with reason codes).
//!
//! Households are generated and written one family unit at a time (a unit is one household,
//! or an elderly household with its adult children's households, so that legal supporters
//! outside the household are linked). Nothing but the current unit and a table of ID sequence
//! counters is held, so memory does not grow with the number of persons.
//!
//! Ordinary households are built to stay clear of every tier and anomaly of the screening
//! policy (policy.md) — their counted income is at least 1.6 × the local standard per member
//! and every person who cannot work has income of their own or an able supporter — so that the
//! only anomalies in the city are the planted ones listed in `_truth/anomalies.csv`. Rows of
//! planted households are never mistyped, so screening outcomes do not depend on linkage.
//!
//! The library never reads the clock: the as-of date is an option.

mod batch;
mod city;
pub mod format;
pub mod ids;
pub mod names;
mod random;
pub mod regions;
pub mod schema;

pub use format::Format;
pub use random::Rng64;
pub use schema::Feed;

use domain::{Date, Progress};
use std::path::{Path, PathBuf};

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    /// Number of living and registered persons in the population feed (exact).
    pub persons: u64,
    /// Seed of the random stream: the same seed and options give byte-identical CSV.
    pub seed: u64,
    /// File format of the feeds.
    pub format: Format,
    /// The date the data is generated around (`extracted_at` in `batch.toml`).
    pub as_of: Date,
}

/// The default as-of date, 2026-06-30.
pub fn default_as_of() -> Date {
    Date::from_ymd(2026, 6, 30).unwrap_or(Date::from_days(20_634))
}

/// Counts of what was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Persons in the population feed (each counted once; duplicate rows not counted).
    pub persons: u64,
    /// Distinct household numbers.
    pub households: u64,
    /// Data rows per feed, invalid rows included, in [`Feed::ALL`] order.
    pub rows: Vec<(Feed, u64)>,
    /// Rows with a mistyped person_id (`_truth/noise.csv`).
    pub noisy_rows: u64,
    /// Rows the importer must refuse or warn about (`_truth/invalid.csv`).
    pub invalid_rows: u64,
    /// Planted anomalies (`_truth/anomalies.csv`).
    pub planted_anomalies: u64,
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// A file could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The XLSX writer failed.
    #[error("cannot write {path}: {message}")]
    Xlsx {
        /// The file.
        path: PathBuf,
        /// The writer's message.
        message: String,
    },
    /// The Parquet writer failed.
    #[error("cannot write {path}: {message}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The writer's message.
        message: String,
    },
    /// A feed has more rows than an XLSX sheet holds.
    #[error(
        "the {feed} feed has more than {limit} rows, the most an XLSX sheet holds; \
         generate fewer persons or use the csv or parquet format"
    )]
    SheetRowLimit {
        /// The feed.
        feed: &'static str,
        /// Data rows a sheet holds.
        limit: u64,
    },
    /// The options cannot be honoured.
    #[error("{0}")]
    Options(String),
}

/// Generates the city into `out` (created if missing; existing feed files are replaced).
pub fn generate(
    options: &Options,
    out: &Path,
    progress: &dyn Progress,
) -> Result<Summary, SynthError> {
    if options.persons == 0 {
        return Err(SynthError::Options(
            "the city needs at least one person".into(),
        ));
    }
    std::fs::create_dir_all(out).map_err(|e| format::io_error(out, e))?;
    let meta = out.join("_meta");
    std::fs::create_dir_all(&meta).map_err(|e| format::io_error(&meta, e))?;
    let city = regions::City::build();
    write_file(&meta.join("regions.csv"), city.regions_csv().as_bytes())?;
    write_file(
        &meta.join("boundaries.geojson"),
        city.boundaries_geojson().as_bytes(),
    )?;
    let manifest = format!(
        "source = \"示范市 synthetic city (jiuzhu synth, seed {})\"\nextracted_at = \"{}\"\nencoding = \"{}\"\n",
        options.seed,
        options.as_of,
        options.format.encoding()
    );
    write_file(&out.join("batch.toml"), manifest.as_bytes())?;

    let mut batch = batch::Batch::create(out, options.format, options.seed)?;
    progress.stage("generating persons", options.persons);
    let counts = city::generate(city, options, &mut batch, progress)?;
    let rows = batch.rows();
    let (noisy_rows, invalid_rows, planted) = (batch.noisy_rows, batch.invalid_rows, batch.planted);
    progress.stage("closing files", 0);
    batch.finish()?;
    progress.finish();
    Ok(Summary {
        persons: counts.persons,
        households: counts.households,
        rows: Feed::ALL.iter().map(|&f| (f, rows[f.index()])).collect(),
        noisy_rows,
        invalid_rows,
        planted_anomalies: planted,
    })
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), SynthError> {
    std::fs::write(path, bytes).map_err(|e| format::io_error(path, e))
}

#[cfg(test)]
mod tests;
