//! Screening on Apache DataFusion: every household of a city against every department's data
//! at an as-of date.
//!
//! The pipeline: [`lake`] lists the committed Parquet files of each feed; [`facts`] are
//! DataFusion plans that reduce every feed to the base facts of each person (policy.md §2, §9);
//! the rows are then assembled into households and screened against the policy pack; the
//! results are written as the files of exchange.md §4, and [`manifest`] hashes what the run
//! read and wrote into `run.json`. With the `cluster` feature the run is one plan on an Apache
//! DataFusion Ballista cluster (`cluster`, [`RunOptions::cluster`]), the pack evaluated on the
//! executors by a function of the plan ([`plan`]), and gives the same files.
//!
//! CPU-heavy work runs on a Tokio runtime the crate owns: callers use the blocking API and never
//! run it on a web server's async runtime. The crate never reads the clock: the as-of date is an
//! argument.

mod assemble;
#[cfg(feature = "cluster")]
pub mod cluster;
pub mod facts;
pub mod lake;
pub mod linking;
pub mod manifest;
pub mod output;
pub mod plan;
mod registry;
mod screen;
pub mod simulate;

pub use facts::Windows;
pub use lake::{Feed, LakeFiles};
pub use linking::{FeedLinks, LakeLinks};
pub use manifest::RunManifest;
pub use output::{Results, Summary};
pub use policy;

use datafusion::prelude::{SessionConfig, SessionContext};
use domain::{Date, Progress};
use policy::eval::{Evaluation, Options, Outcome};
use policy::facts::PersonFacts;
use policy::pack::{Pack, ParamValue};

/// Why a run failed (a household that does not qualify is a result, not an error).
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// The lake could not be listed.
    #[error("lake: {0}")]
    Lake(String),
    /// A DataFusion plan failed.
    #[error("query: {0}")]
    Query(#[from] datafusion::error::DataFusionError),
    /// An Arrow operation failed.
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    /// Writing results failed.
    #[error("writing {path}: {message}")]
    Write {
        /// The file.
        path: String,
        /// The cause.
        message: String,
    },
    /// Record linkage failed.
    #[error("record linkage: {0}")]
    Linkage(String),
    /// The runtime could not be started.
    #[error("runtime: {0}")]
    Runtime(String),
}

/// A DataFusion session sized for this machine.
pub(crate) fn session(partitions: usize) -> SessionContext {
    let ctx = SessionContext::new_with_config(configured(SessionConfig::new(), partitions));
    ctx.register_udf(plan::udf());
    ctx
}

/// The settings of every session of a run, local or on a cluster: `partitions` at a time,
/// batches of 8,192 rows, and text read from Parquet as plain UTF-8 arrays — the type every
/// plan reads text as — rather than as string views that each plan then copies into it.
pub(crate) fn configured(config: SessionConfig, partitions: usize) -> SessionConfig {
    config
        .with_target_partitions(partitions.max(1))
        .with_batch_size(8192)
        .set_bool(
            "datafusion.execution.parquet.schema_force_view_types",
            false,
        )
}

/// The length of each of `threads` contiguous parts of `len` items, the last one shorter (at
/// least one).
pub(crate) fn part_len(len: usize, threads: usize) -> usize {
    len.div_ceil(threads.max(1)).max(1)
}

/// `f` of each of `threads` contiguous parts of `items` of [`part_len`], with the part's number,
/// each part changed on its own thread, the results in the order of the parts (a panic on one
/// is passed on).
pub(crate) fn on_parts_mut<T: Send, R: Send>(
    items: &mut [T],
    threads: usize,
    f: impl Fn(usize, &mut [T]) -> R + Sync,
) -> Vec<R> {
    if threads <= 1 || items.len() <= 1 {
        return vec![f(0, items)];
    }
    let per_part = part_len(items.len(), threads);
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = items
            .chunks_mut(per_part)
            .enumerate()
            .map(|(t, part)| s.spawn(move || f(t, part)))
            .collect();
        joined(handles)
    })
}

/// `f` of each of `items`, taken in turn by `threads` threads (the results in no set order;
/// a panic on one is passed on): for work whose items differ in size, such as tables or
/// partitions of feeds, where parts fixed in advance would leave a thread waiting.
pub(crate) fn on_queue<T: Send, R: Send>(
    items: Vec<T>,
    threads: usize,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    // the lock is held only while an item is taken
    let queue = std::sync::Mutex::new(items.into_iter());
    let next = || queue.lock().unwrap_or_else(|e| e.into_inner()).next();
    std::thread::scope(|s| {
        let (f, next) = (&f, &next);
        let handles: Vec<_> = (0..threads.max(1))
            .map(|_| s.spawn(move || std::iter::from_fn(next).map(f).collect::<Vec<R>>()))
            .collect();
        joined(handles).into_iter().flatten().collect()
    })
}

/// The results of scoped threads in the order of their handles (a panic on one is passed on).
pub(crate) fn joined<R>(handles: Vec<std::thread::ScopedJoinHandle<'_, R>>) -> Vec<R> {
    handles
        .into_iter()
        .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
        .collect()
}

/// `f` of each of `threads` contiguous parts of `items`, each part on its own thread, the
/// results in the order of the parts (a panic on one is passed on: a lost part would shift
/// everything after it).
pub(crate) fn on_parts<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    f: impl Fn(&[T]) -> R + Sync,
) -> Vec<R> {
    if threads <= 1 || items.len() <= 1 {
        // one part: no thread to start (one household's persons on a cluster's executor)
        return if items.is_empty() {
            Vec::new()
        } else {
            vec![f(items)]
        };
    }
    let per_thread = items.len().div_ceil(threads).max(1);
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = items
            .chunks(per_thread)
            .map(|part| s.spawn(move || f(part)))
            .collect();
        joined(handles)
    })
}

/// A Tokio runtime owned by the caller of the blocking API.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, MonitorError> {
    // Deep plans (a union per feed file, joins per feed) recurse while they are planned and,
    // for a cluster, encoded: more stack than Tokio's default 2 MiB per worker.
    tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(64 << 20)
        .enable_all()
        .build()
        .map_err(|e| MonitorError::Runtime(e.to_string()))
}

/// The reading windows a pack sets (`income_lookback_months`, `recent_days`), from the values
/// every parameter set shares; the contract's defaults when the pack does not declare them.
pub fn windows(pack: &Pack) -> Windows {
    let value = |name: &str, fallback: i32| {
        pack.param(name)
            .and_then(|i| pack.params.get(i))
            .and_then(|p| match &p.default {
                Some(ParamValue::Num(n)) => i32::try_from(n.round()).ok(),
                _ => None,
            })
            .unwrap_or(fallback)
    };
    let defaults = Windows::default();
    Windows {
        lookback_months: value("income_lookback_months", defaults.lookback_months),
        recent_days: value("recent_days", defaults.recent_days),
    }
}

/// How a run is carried out.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Threads for DataFusion partitions and for household evaluation.
    pub threads: usize,
    /// Also explain every flagged household (a tier, an anomaly or a warning) into
    /// [`Results::explanations`], for a store to keep; the others are explained on demand.
    pub explain_flagged: bool,
    /// The scheduler of an Apache DataFusion Ballista cluster (`df://HOST:PORT`) that runs the
    /// plans, instead of this process; needs the `cluster` feature.
    pub cluster: Option<String>,
    /// With a cluster: a folder every executor sees at the same path (beside the lake), for
    /// the tables a run makes itself (record linkage's links), written there as Parquet.
    pub scratch: Option<std::path::PathBuf>,
    /// A folder where the run keeps the links record linkage decided, and from which a later
    /// run on the same lake reads them instead of linking again (`DATA/links` for the
    /// command line). Linking a city's unlinked rows against its register is a third of a
    /// run's work; the links change only when the lake or the program does. The registry
    /// check's counts are kept with them, for the same reason. A folder that cannot be
    /// written does not stop the run (a stage says so).
    pub links: Option<std::path::PathBuf>,
    /// Link afresh even when [`RunOptions::links`] holds links of this lake (and keep the
    /// new ones).
    pub relink: bool,
    /// The process ends once the results are written (the command line's `monitor`): the
    /// facts of everyone are left for the operating system to reclaim at its end, where
    /// freeing millions of them one by one took a core for a second of a ten-million-person
    /// run while the results were written. A process that lives on (`jiuzhu demo`, which
    /// serves the results it screened) frees them.
    pub process_ends: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            explain_flagged: false,
            cluster: None,
            scratch: None,
            links: None,
            relink: false,
            process_ends: false,
        }
    }
}

/// The DataFusion session of a run: local, or a client of the cluster the options name.
async fn context(options: &RunOptions) -> Result<SessionContext, MonitorError> {
    match &options.cluster {
        None => Ok(session(options.threads)),
        #[cfg(feature = "cluster")]
        Some(url) => cluster::client(url, options.threads).await,
        #[cfg(not(feature = "cluster"))]
        Some(_) => Err(MonitorError::Runtime(
            "screening on a cluster needs a build with the `cluster` feature".into(),
        )),
    }
}

/// Every step of a household's outcome in one explanation: tier, persons, anomalies, signals,
/// tags, package (the steps name rules, facts and parameters, never a person).
pub fn merged_explanation(outcome: &Outcome) -> policy::Explanation {
    let mut merged = policy::Explanation::default();
    let parts = std::iter::once(&outcome.tier_explanation)
        .chain(outcome.persons.iter().map(|p| &p.explanation))
        .chain(outcome.anomalies.iter().map(|a| &a.explanation))
        .chain(outcome.signals.iter().map(|s| &s.explanation))
        .chain(std::iter::once(&outcome.tags_explanation))
        .chain(outcome.packages.iter().map(|p| &p.explanation));
    for part in parts {
        merged.steps.extend(part.steps.iter().cloned());
    }
    merged
}

/// The links kept by an earlier run on this lake, when the options allow their use and there
/// are any (see [`RunOptions::links`]).
fn kept_links(
    lake: &LakeFiles,
    options: &RunOptions,
    progress: &dyn Progress,
) -> Option<LakeLinks> {
    let dir = options.links.as_deref().filter(|_| !options.relink)?;
    progress.stage("reading kept links", 0);
    let kept = LakeLinks::kept(dir, lake);
    progress.finish();
    kept
}

/// The lake with the decided links applied (and, for a cluster, written where its executors
/// read them).
fn with_links(
    lake: &LakeFiles,
    links: &LakeLinks,
    options: &RunOptions,
) -> Result<LakeFiles, MonitorError> {
    let mut linked = lake.with_links(links)?;
    if let Some(dir) = scratch(options)? {
        linked.spill_links(dir)?;
    }
    Ok(linked)
}

/// The links of the lake's unlinked rows — kept ones when they are current, otherwise
/// decided now (and kept, when the options name a folder) — and the lake with them applied.
async fn linked(
    ctx: &SessionContext,
    lake: &LakeFiles,
    options: &RunOptions,
    progress: &dyn Progress,
) -> Result<(LakeFiles, LakeLinks), MonitorError> {
    let links = match kept_links(lake, options, progress) {
        Some(links) => links,
        None => {
            let links = linking::link_lake(ctx, lake, options.threads, progress).await?;
            keep(&links, lake, options, progress);
            links
        }
    };
    Ok((with_links(lake, &links, options)?, links))
}

/// Keeps the links (with the registry check's counts, when they are known) when the options
/// name a folder.
fn keep(links: &LakeLinks, lake: &LakeFiles, options: &RunOptions, progress: &dyn Progress) {
    if let Some(dir) = &options.links
        && links.keep_in(dir, lake).is_err()
    {
        // A data directory the run may not write to (a read-only copy of a lake) is screened
        // as before; the next run links again.
        progress.stage("links not kept: their folder cannot be written", 0);
        progress.finish();
    }
}

/// Record linkage of the lake's unlinked rows to the persons of its population snapshot, as a
/// run does it (blocking): linkage.csv rows, counts per feed, explanations. Always links
/// afresh (kept links explain no row), and keeps the links when the options name a folder —
/// on one machine with the registry check's counts, counted while linkage works, so that the
/// runs on the links count nothing again.
pub fn link(
    lake: &LakeFiles,
    options: RunOptions,
    progress: &dyn Progress,
) -> Result<LakeLinks, MonitorError> {
    let rt = runtime()?;
    let ctx = rt.block_on(context(&options))?;
    let handle = rt.handle();
    let counting = options.links.is_some() && options.cluster.is_none();
    std::thread::scope(|s| {
        let linking =
            s.spawn(|| handle.block_on(linking::link_lake(&ctx, lake, options.threads, progress)));
        let counts = counting
            .then(|| handle.block_on(registry_counts(&ctx, lake, options.threads)))
            .transpose();
        let mut links = linking
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))?;
        if let Some(counts) = counts? {
            links.set_counts(counts);
        }
        keep(&links, lake, &options, progress);
        Ok(links)
    })
}

/// The registry check's counts on a lake (rows without an ID, rows whose ID is no person's),
/// by the look-ups of a local run in the population's index.
async fn registry_counts(
    ctx: &SessionContext,
    lake: &LakeFiles,
    threads: usize,
) -> Result<RegistryCounts, MonitorError> {
    // the index needs no as-of date: any bounds read the same IDs
    let bounds = facts::Bounds::new(Date::from_days(0), Windows::default());
    let (persons, index) =
        population_facts(ctx, &bounds, lake, threads, &domain::NoProgress).await?;
    let check = registry::check_indexed(ctx, lake, &persons, &index, threads).await?;
    Ok((check.unlinked_per_feed, check.not_in_registry))
}

async fn facts_of_everyone(
    ctx: &SessionContext,
    local: bool,
    threads: usize,
    lake: &LakeFiles,
    bounds: facts::Bounds,
    packed: bool,
    progress: &dyn Progress,
) -> Result<(Vec<PersonFacts>, assemble::PersonIndex), MonitorError> {
    progress.stage("computing person facts", 0);
    // The reductions run on the runtime's workers while this thread puts the population's rows
    // into facts.
    let parts = reductions(ctx, local, lake, &bounds, packed).await?;
    let (mut persons, index) = population_facts(ctx, &bounds, lake, threads, progress).await?;
    put_reductions(parts, &bounds, &index, &mut persons, threads).await?;
    progress.finish();
    Ok((persons, index))
}

/// The reductions of person facts, started on the runtime's workers.
async fn reductions(
    ctx: &SessionContext,
    local: bool,
    lake: &LakeFiles,
    bounds: &facts::Bounds,
    packed: bool,
) -> Result<Reductions, MonitorError> {
    // On one machine each reduction is planned on one partition: the thirteen run side by
    // side on the cores, each aggregating its rows once. Planned on every core, each split
    // every aggregate into a partial and a final one and repartitioned the rows between them —
    // a quarter of the facts' processor time at ten million persons, for groups (persons)
    // that hardly repeat within a partition. A cluster's plans keep their partitions.
    let one = session(1);
    let parts_ctx = if local { &one } else { ctx };
    let keys = if local {
        facts::Keys::Number
    } else {
        facts::Keys::Text
    };
    Ok(Reductions {
        running: started(parts_ctx, lake, bounds, packed, keys).await?,
        keys,
        again: (parts_ctx.clone(), lake.clone(), bounds.clone(), packed),
    })
}

/// The reduction plans, each started on the runtime's workers.
async fn started(
    ctx: &SessionContext,
    lake: &LakeFiles,
    bounds: &facts::Bounds,
    packed: bool,
    keys: facts::Keys,
) -> Result<Running, MonitorError> {
    let mut running = tokio::task::JoinSet::new();
    for (part, plan) in facts::reductions(ctx, lake, bounds, packed, keys).await? {
        running.spawn(async move { (part, plan.collect().await) });
    }
    Ok(running)
}

/// Reduction plans running, each giving its part and its batches.
type Running = tokio::task::JoinSet<(
    facts::Part,
    Result<Vec<arrow::array::RecordBatch>, datafusion::error::DataFusionError>,
)>;

/// The reduction plans of person facts, running, with what they were planned from.
struct Reductions {
    running: Running,
    /// What they group rows by.
    keys: facts::Keys,
    /// The session, the lake, the bounds and the packing they were planned with (to plan them
    /// again by the IDs' text, see [`facts::Keys::Number`]).
    again: (SessionContext, LakeFiles, facts::Bounds, bool),
}

/// Every person of the population snapshot with the facts its rows give, and the index by ID.
/// The population is what rows are linked to: a run reads it while linkage works.
async fn population_facts(
    ctx: &SessionContext,
    bounds: &facts::Bounds,
    lake: &LakeFiles,
    threads: usize,
    progress: &dyn Progress,
) -> Result<(Vec<PersonFacts>, assemble::PersonIndex), MonitorError> {
    // The rows on every core, then into facts on this thread (reserved at once: growing a
    // vector of ten million facts copies it into fresh memory at every doubling).
    let population = facts::population(ctx, lake).await?.collect().await?;
    let rows: usize = population.iter().map(|b| b.num_rows()).sum();
    let mut persons = Vec::with_capacity(rows);
    let mut codes = Vec::with_capacity(rows);
    for batch in &population {
        progress.inc(batch.num_rows() as u64);
        assemble::population(batch, bounds, &mut persons, &mut codes)?;
    }
    drop(population);
    let index = assemble::PersonIndex::with_codes(&persons, &codes, threads);
    Ok((persons, index))
}

/// Puts each reduction into the facts as soon as it is done (in the order they finish: the
/// largest are not waited for while the others are ready).
async fn put_reductions(
    mut parts: Reductions,
    bounds: &facts::Bounds,
    index: &assemble::PersonIndex,
    persons: &mut [PersonFacts],
    threads: usize,
) -> Result<(), MonitorError> {
    if parts.keys == facts::Keys::Number && !index.canonical() {
        // an ID that is not a canonical resident ID has no number: every feed grouped by text
        parts.running.abort_all();
        let (ctx, lake, bounds, packed) = &parts.again;
        parts.running = started(ctx, lake, bounds, *packed, facts::Keys::Text).await?;
    }
    while let Some(done) = parts.running.join_next().await {
        let (part, batches) = done.map_err(|e| MonitorError::Runtime(e.to_string()))?;
        let batches = batches?;
        if part == facts::Part::Employment {
            assemble::employment(&batches, bounds, index, persons, threads);
        } else {
            assemble::apply(part, &batches, bounds, index, persons, threads);
        }
    }
    Ok(())
}

/// Rows without an ID and rows whose ID is no person's, per feed, counted both ways: by the
/// plan a cluster runs and by the look-ups of a local run in the population index (blocking;
/// for the test that keeps them equal).
#[doc(hidden)]
pub fn registry_counts_both_ways(lake: &LakeFiles) -> Result<[RegistryCounts; 2], MonitorError> {
    let rt = runtime()?;
    rt.block_on(async {
        let threads = RunOptions::default().threads;
        let ctx = session(threads);
        let bounds = facts::Bounds::new(Date::from_days(0), Windows::default());
        let (persons, index) =
            facts_of_everyone(&ctx, true, threads, lake, bounds, true, &domain::NoProgress).await?;
        let plan = registry::check(&ctx, lake).await?;
        let indexed = registry::check_indexed(&ctx, lake, &persons, &index, threads).await?;
        Ok([plan, indexed].map(|c| (c.unlinked_per_feed, c.not_in_registry)))
    })
}

/// Rows without an ID and rows of persons not in the registry, per feed.
pub type RegistryCounts = (
    std::collections::BTreeMap<String, u64>,
    std::collections::BTreeMap<String, u64>,
);

/// The base facts of every person of the population snapshot at `as_of` (blocking).
pub fn person_facts(
    lake: &LakeFiles,
    as_of: Date,
    windows: Windows,
) -> Result<Vec<PersonFacts>, MonitorError> {
    facts_blocking(lake, as_of, windows, true, &RunOptions::default())
}

/// The same facts as [`person_facts`], with every "latest row" found by an ordered
/// `last_value` instead of the packed `max` a run uses: the plain reading of the rules, which
/// the packed one must equal.
pub fn person_facts_by_last_value(
    lake: &LakeFiles,
    as_of: Date,
    windows: Windows,
) -> Result<Vec<PersonFacts>, MonitorError> {
    facts_blocking(lake, as_of, windows, false, &RunOptions::default())
}

fn facts_blocking(
    lake: &LakeFiles,
    as_of: Date,
    windows: Windows,
    packed: bool,
    options: &RunOptions,
) -> Result<Vec<PersonFacts>, MonitorError> {
    let rt = runtime()?;
    rt.block_on(async {
        let threads = options.threads;
        let ctx = session(threads);
        let (lake, _) = linked(&ctx, lake, options, &domain::NoProgress).await?;
        let (persons, _) = facts_of_everyone(
            &ctx,
            true,
            threads,
            &lake,
            facts::Bounds::new(as_of, windows),
            packed,
            &domain::NoProgress,
        )
        .await?;
        Ok(persons)
    })
}

/// The person facts, the households and relatives the population decides, and the registry
/// check of a run.
type Prepared = ((Vec<PersonFacts>, screen::Early), registry::RegistryCheck);

/// Facts of everyone and the registry check, computed once for one or more evaluations.
pub(crate) fn prepare(
    lake: &LakeFiles,
    as_of: Date,
    windows: Windows,
    options: &RunOptions,
    progress: &dyn Progress,
) -> Result<(screen::Registry, registry::RegistryCheck), MonitorError> {
    let rt = runtime()?;
    let ctx = rt.block_on(context(options))?;
    let bounds = facts::Bounds::new(as_of, windows);
    let ((persons, early), mut check) = match kept_links(lake, options, progress) {
        Some(links) => rt.block_on(prepared_with(&ctx, lake, links, &bounds, options, progress))?,
        None => prepared_linking(&rt, &ctx, lake, &bounds, options, progress)?,
    };
    if check.links.counts().is_none() {
        // links decided in this run, or kept without the counts: kept now with them
        let counts = (
            check.unlinked_per_feed.clone(),
            check.not_in_registry.clone(),
        );
        check.links.set_counts(counts);
        if let Some(dir) = &options.links {
            // like the links: a folder that cannot be written means counting again next time
            let _ = check.links.keep_counts_in(dir, lake);
        }
    }
    progress.stage("grouping households", 0);
    let registry = screen::Registry::with_early(persons, early);
    progress.finish();
    Ok((registry, check))
}

/// The population's facts with the index by ID, the registry check, and the households and
/// relatives the population decides.
type Population = (
    Vec<PersonFacts>,
    assemble::PersonIndex,
    registry::RegistryCheck,
    screen::Early,
);

/// [`Population`]: none of it needs the links. The registry check's counts are taken as
/// `known` when they were kept with the links.
async fn population_read(
    ctx: &SessionContext,
    lake: &LakeFiles,
    bounds: &facts::Bounds,
    options: &RunOptions,
    known: Option<&RegistryCounts>,
) -> Result<Population, MonitorError> {
    let (persons, index) =
        population_facts(ctx, bounds, lake, options.threads, &domain::NoProgress).await?;
    // A cluster checks every feed's rows where they are; a local run looks them up in the
    // index the facts are read with.
    let check = match known {
        Some((unlinked, missing)) => registry::RegistryCheck {
            unlinked_per_feed: unlinked.clone(),
            not_in_registry: missing.clone(),
            ..registry::RegistryCheck::default()
        },
        None if options.cluster.is_none() => {
            registry::check_indexed(ctx, lake, &persons, &index, options.threads).await?
        }
        None => registry::check(ctx, lake).await?,
    };
    let early = screen::Early::of(&persons, &index);
    Ok((persons, index, check, early))
}

/// [`prepare`] with links known from the start (kept by an earlier run): the reductions of
/// the linked lake start at once on the runtime's workers while this thread reads the
/// population.
async fn prepared_with(
    ctx: &SessionContext,
    lake: &LakeFiles,
    links: LakeLinks,
    bounds: &facts::Bounds,
    options: &RunOptions,
    progress: &dyn Progress,
) -> Result<Prepared, MonitorError> {
    let linked_lake = with_links(lake, &links, options)?;
    let local = options.cluster.is_none();
    progress.stage("reading the population", 0);
    let parts = reductions(ctx, local, &linked_lake, bounds, true).await?;
    let population = population_read(ctx, lake, bounds, options, links.counts()).await?;
    progress.finish();
    let linked = (linked_lake, links);
    completed(ctx, population, parts, linked, bounds, options, progress).await
}

/// The reductions put into the population's facts, and the registry check completed with the
/// persons paid twice under a linked row and with the links themselves.
async fn completed(
    ctx: &SessionContext,
    (mut persons, index, mut check, early): Population,
    parts: Reductions,
    (linked_lake, links): (LakeFiles, LakeLinks),
    bounds: &facts::Bounds,
    options: &RunOptions,
    progress: &dyn Progress,
) -> Result<Prepared, MonitorError> {
    progress.stage("computing person facts", 0);
    put_reductions(parts, bounds, &index, &mut persons, options.threads).await?;
    progress.finish();
    progress.stage("checking the registry", 0);
    check.two_ids = linking::two_id_spells(ctx, &linked_lake, &links, bounds.as_of).await?;
    check.links = links;
    progress.finish();
    Ok(((persons, early), check))
}

/// [`prepare`] with the links decided in the run: linkage on a thread of its own while this
/// one reads the population into facts and checks every feed's IDs against it — neither needs
/// the links, and linkage leaves a core idle for much of its time (reading and preparing the
/// register, probing it). The reductions, which read the linked rows, follow.
fn prepared_linking(
    rt: &tokio::runtime::Runtime,
    ctx: &SessionContext,
    lake: &LakeFiles,
    bounds: &facts::Bounds,
    options: &RunOptions,
    progress: &dyn Progress,
) -> Result<Prepared, MonitorError> {
    let handle = rt.handle();
    let local = options.cluster.is_none();
    std::thread::scope(|s| {
        let linking = s.spawn(|| {
            handle.block_on(async {
                let links = linking::link_lake(ctx, lake, options.threads, progress).await?;
                keep(&links, lake, options, progress);
                Ok::<_, MonitorError>((with_links(lake, &links, options)?, links))
            })
        });
        let read = handle.block_on(population_read(ctx, lake, bounds, options, None));
        let linked = linking
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        let (population, linked) = (read?, linked?);
        handle.block_on(async {
            let parts = reductions(ctx, local, &linked.0, bounds, true).await?;
            completed(ctx, population, parts, linked, bounds, options, progress).await
        })
    })
}

/// Evaluates a pack on every household of a prepared registry.
pub(crate) fn results_of(
    registry: &screen::Registry,
    check: &registry::RegistryCheck,
    lake: &LakeFiles,
    as_of: Date,
    pack: &Pack,
    options: &RunOptions,
    progress: &dyn Progress,
) -> Results {
    let mut results = screen::evaluate_all(registry, pack, as_of, options.threads, progress);
    if options.explain_flagged {
        let explained: Vec<(String, policy::Explanation)> = flagged(&results)
            .into_iter()
            .filter_map(|id| registry.explanation(&id, pack, as_of).map(|e| (id, e)))
            .collect();
        results.explanations.extend(explained);
    }
    finished(
        results,
        registry.persons.len() as u64,
        check,
        lake,
        as_of,
        pack,
    )
}

/// The households a store keeps the explanation of: those with a tier, and those an anomaly
/// or a warning names.
fn flagged(results: &Results) -> std::collections::BTreeSet<String> {
    let mut flagged: std::collections::BTreeSet<String> = results
        .households
        .iter()
        .filter(|h| h.tier != "none")
        .map(|h| h.household_id.to_string())
        .collect();
    flagged.extend(results.anomalies.iter().map(|a| a.household_id.clone()));
    flagged.extend(results.warnings.iter().map(|w| w.household_id.clone()));
    flagged
}

/// The households' rows completed with what the run had and did not have, and put in order.
fn finished(
    mut results: Results,
    persons: u64,
    check: &registry::RegistryCheck,
    lake: &LakeFiles,
    as_of: Date,
    pack: &Pack,
) -> Results {
    results.summary.as_of = Some(as_of);
    results.summary.persons = persons;
    results.summary.feeds_missing = lake
        .missing()
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    results.summary.not_in_registry = check.not_in_registry.clone();
    results.summary.unlinked = check.unlinked_per_feed.clone();
    results.summary.linked = check.links.per_feed();
    results.linkage = check.links.linkage_rows();
    // A person paid the same program twice, one spell under a mistyped ID: the duplicate
    // found by the pack gets the reason that says how.
    // The reason is the pack's (`duplicates.linked_reason`); a pack without one adds none.
    if let Some(reason) = &pack.duplicates.linked_reason {
        for a in &mut results.anomalies {
            if a.kind == "duplicate"
                && a.reasons.contains(&pack.duplicates.same_reason)
                && let Some(p) = &a.person_id
                && check.two_ids.contains(&(p.clone(), a.program.clone()))
            {
                a.reasons.push(reason.clone());
                a.reasons.sort();
            }
        }
    }
    results.sort();
    results
}

/// The folder for the tables a run makes itself, which a cluster's executors must read.
fn scratch(options: &RunOptions) -> Result<Option<&std::path::Path>, MonitorError> {
    match (&options.cluster, &options.scratch) {
        (Some(_), Some(dir)) => Ok(Some(dir.as_path())),
        (Some(_), None) => Err(MonitorError::Runtime(
            "a run on a cluster needs a scratch folder the executors can read".into(),
        )),
        (None, _) => Ok(None),
    }
}

/// Screens every household as one DataFusion plan whose function evaluates the pack
/// ([`plan`]): how a cluster screens, the executors doing the evaluation; run on a local
/// session by the test that keeps it equal to a local run (blocking).
#[doc(hidden)]
pub fn screen_as_one_plan(
    lake: &LakeFiles,
    as_of: Date,
    pack: &Pack,
    options: &RunOptions,
    progress: &dyn Progress,
) -> Result<Results, MonitorError> {
    let rt = runtime()?;
    rt.block_on(async {
        let ctx = context(options).await?;
        let (linked_lake, links) = linked(&ctx, lake, options, progress).await?;
        progress.stage("checking the registry", 0);
        let mut check = registry::check(&ctx, lake).await?;
        check.two_ids = linking::two_id_spells(&ctx, &linked_lake, &links, as_of).await?;
        check.links = links;
        let persons = lake::read_feed(&ctx, lake, Feed::Population)
            .await?
            .filter(datafusion::prelude::col("person_id").is_not_null())?
            .count()
            .await? as u64;
        progress.finish();
        progress.stage("screening households", 0);
        let bounds = facts::Bounds::new(as_of, windows(pack));
        let explain = if options.explain_flagged {
            plan::Explain::Flagged
        } else {
            plan::Explain::No
        };
        let screening = plan::screening(&ctx, &linked_lake, &bounds, pack, explain, None).await?;
        let mut explanations = std::collections::BTreeMap::new();
        let decided: Vec<screen::Decided> = plan::evaluated(&screening.collect().await?)?
            .into_iter()
            .map(|(id, e)| {
                if let Some(x) = e.explanation {
                    explanations.insert(id, x);
                }
                e.decided
            })
            .collect();
        let mut results = Results::default();
        screen::collect(decided, &mut results);
        if options.explain_flagged {
            // households a finding of another names, not flagged by their own evaluation
            let flagged = flagged(&results);
            explanations.retain(|id, _| flagged.contains(id));
            let missing: std::collections::BTreeSet<String> = flagged
                .into_iter()
                .filter(|id| !explanations.contains_key(id))
                .collect();
            if !missing.is_empty() {
                let all = plan::Explain::All;
                let screening =
                    plan::screening(&ctx, &linked_lake, &bounds, pack, all, Some(&missing)).await?;
                for (id, e) in plan::evaluated(&screening.collect().await?)? {
                    if let Some(x) = e.explanation {
                        explanations.insert(id, x);
                    }
                }
            }
            results.explanations = explanations;
        }
        progress.finish();
        Ok(finished(results, persons, &check, lake, as_of, pack))
    })
}

/// Screens every household of the lake at `as_of` against the pack (blocking): facts on
/// DataFusion, then the pack on every household, then the result rows in their file order.
pub fn screen(
    lake: &LakeFiles,
    as_of: Date,
    pack: &Pack,
    options: RunOptions,
    progress: &dyn Progress,
) -> Result<Results, MonitorError> {
    if options.cluster.is_some() {
        // the executors evaluate the pack where the facts are
        return screen_as_one_plan(lake, as_of, pack, &options, progress);
    }
    let (registry, check) = prepare(lake, as_of, windows(pack), &options, progress)?;
    let results = results_of(&registry, &check, lake, as_of, pack, &options, progress);
    if options.process_ends {
        std::mem::forget((registry, check));
    } else {
        // The facts of millions are freed on a thread of its own while the caller writes the
        // results (a second at ten million persons).
        std::thread::spawn(move || drop((registry, check)));
    }
    Ok(results)
}

/// Evaluates one household with explanations, on the facts a batch run computes (blocking).
/// `None` when the household is not in the data. The options' kept links are read (and kept)
/// as a run does ([`RunOptions::links`]); the facts are computed in this process.
pub fn explain(
    lake: &LakeFiles,
    as_of: Date,
    pack: &Pack,
    household_id: &str,
    options: &RunOptions,
) -> Result<Option<Evaluation>, MonitorError> {
    let local = RunOptions {
        cluster: None,
        ..options.clone()
    };
    let persons = facts_blocking(lake, as_of, windows(pack), true, &local)?;
    let registry = screen::Registry::new(persons);
    if !registry.has_household(household_id) {
        return Ok(None);
    }
    let input = registry.input(household_id);
    Ok(Some(policy::eval::evaluate(
        pack,
        &input,
        as_of,
        Options { explain: true },
    )))
}

/// The outcome type of one household, re-exported for callers that print explanations.
pub type HouseholdOutcome = Outcome;
