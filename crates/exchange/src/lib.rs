//! The data exchange contract (`shared/spec/exchange.md`) and the Parquet lake.
//!
//! Department extracts arrive as batch folders (CSV in UTF-8 or GB18030, XLSX, Parquet) and
//! single rows arrive as events. Both go through one validation path
//! ([`validate::check_row`]): values are normalised (NFKC, trimmed), typed once into
//! `domain` values, checked against the feed's row rules, and either written to the lake or
//! refused with a reason code. The crate knows nothing of databases or HTTP.
//!
//! # Pipeline
//!
//! [`import_batch`] hashes the batch (BLAKE3 of `batch.toml`, the CSV encoding and every feed
//! file) — a batch already committed is a no-op — then streams each file: a reader thread cuts
//! it into chunks of 32 768 records ([`source`]), validation workers (one per core) turn them
//! into UTF-8 text (GB18030 through a table of its two-byte codes, Parquet cells written out),
//! normalise, check and build Arrow arrays ([`builder`]), a sequencer restores file order,
//! drops population duplicates and writes the reports, and two writers encode Snappy Parquet.
//! Memory stays bounded by the channel capacities whatever the file size.
//!
//! # Lake layout (for the monitor)
//!
//! ```text
//! DATA/lake/
//!   lock                              advisory lock held by an import
//!   staging/<batch_id>/               an import in progress (removed by the next import)
//!   batches/<batch_id>/               a committed batch (appears by one atomic rename)
//!     manifest.json                   BatchManifest: sequence, source, per-feed counts, parts
//!     summary.txt                     the human summary printed by `jiuzhu import`
//!     rejects.csv                     feed,row,column,reason,value (value masked)
//!     warnings.csv                    the same columns: population links dropped
//!     <feed>/part-<k>.parquet         accepted rows, k = 0..1 (Snappy, 512 Ki rows per group)
//! ```
//!
//! `batch_id` is the first 32 hex digits of the BLAKE3 content hash. `sequence` (1, 2, …) is the
//! commit order. List files with [`Lake::open`] and [`Lake::feed_files`]:
//! **population** is a full snapshot, so only the parts of the latest committed batch that
//! carries a population file are current; **every other feed accumulates**: the parts of all
//! committed batches, in commit order. A feed file refused whole (missing column) has no parts.
//! Row order across parts is not meaningful; `row` gives the source order.
//!
//! # Lake schemas
//!
//! Every feed's Parquet has, in this order: `row` (`Int64`, not null: the source data row,
//! counted from 1), then the contract's columns of the feed under their canonical English
//! names (exchange.md §2), then — for every feed except population — `name` (`Utf8`),
//! `birth_date` (`Date32`) and `person_id_raw` (`Utf8`). Types by contract value type:
//!
//! | contract type | Arrow type | value |
//! |---|---|---|
//! | `id` | `Utf8` | 18 characters, upper-case `X` (15-digit numbers converted) |
//! | `region` | `Utf8` | 12 digits (6-digit codes padded with `000000`) |
//! | `date` | `Date32` | days since 1970-01-01 |
//! | `period` | `Date32` | the first day of the month (`2026-06` → 2026-06-01) |
//! | `money` | `Int64` | fen (1 yuan = 100 fen); never floating point |
//! | `decimal` | `Decimal128(18, 4)` | exact; more than 4 decimals is refused (`bad_number`) |
//! | `integer` | `Int64` | |
//! | `code` | `Utf8` | the canonical English word (`dibao`, `male`, `inpatient`, grade `1`-`4`) |
//! | `text` | `Utf8` | normalised (NFKC, trimmed); credit codes in canonical form |
//!
//! Required columns are non-null, except `person_id` of non-population feeds: it is null for an
//! **unlinked record** (no usable ID but a name and a birth date), whose raw ID text (possibly
//! empty) is in `person_id_raw`; `person_id_raw` is null for linked rows. `name` and
//! `birth_date` of other feeds are kept when the department sent them. The exact schema of a
//! feed is [`FeedSpec::lake_schema`] (`Feed::X.spec().lake_schema`).
//!
//! Population rows are unique by `person_id` within a batch (later duplicates are rejected);
//! invalid `spouse_id`/`father_id`/`mother_id` are null with a line in `warnings.csv`.

pub mod builder;
pub mod event;
mod gb18030;
pub mod import;
pub mod lake;
pub mod reject;
pub mod schema;
pub mod source;
pub mod text;
pub mod validate;

pub use event::{Event, EventError};
pub use import::{ImportError, ImportOptions, ImportReport, Outcome, import_batch};
pub use lake::{BatchManifest, CommittedBatch, FeedEntry, Lake, LakeError, RefusedFile};
pub use reject::{Reason, Reject};
pub use schema::{ColumnSpec, Feed, FeedSpec, ValueType};
pub use source::{Format, TextEncoding};
pub use validate::{ValidRow, Value, validate_row};
