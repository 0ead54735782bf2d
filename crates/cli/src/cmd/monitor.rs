//! `jiuzhu monitor`: screens every household of the lake at an as-of date against a policy
//! pack and writes the result files; `jiuzhu monitor explain` shows why for one household.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use domain::Date;
use monitor::policy::pack::Pack;

use crate::cmd::load;
use crate::cmd::users::{StoreArgs, database_url, read_kek};
use crate::progress::TerminalProgress;
use store::Store;
use store::privacy::Algorithm;

/// Arguments of `jiuzhu monitor`.
#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    /// Explain one household instead of screening all.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The run itself.
    #[command(flatten)]
    pub run: RunArgs,
}

/// The subcommands of `jiuzhu monitor`.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Print the evaluator's explanation for one household on the facts the batch computes.
    Explain(ExplainArgs),
}

/// Arguments of a screening run.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// The data directory; the lake is DATA/lake.
    #[arg(long, env = "JIUZHU_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The as-of date (YYYY-MM-DD); default today.
    #[arg(long)]
    pub as_of: Option<String>,
    /// A policy pack folder; default the pack built into the binary.
    #[arg(long)]
    pub policy: Option<PathBuf>,
    /// Where to write households.csv, persons.csv, anomalies.csv, warnings.csv,
    /// recommendations.csv, linkage.csv (and Parquet copies, summary.txt).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Worker threads (default: every core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Run the plans on a Ballista cluster (df://HOST:PORT).
    #[arg(long)]
    pub cluster: Option<String>,
    /// Print wall time, CPU time and peak memory at the end of each stage.
    #[arg(long)]
    pub timings: bool,
    /// Link the rows without a usable person ID afresh, even when DATA/links holds the links
    /// an earlier run (or `jiuzhu link`) decided on the same lake with the same program.
    #[arg(long)]
    pub relink: bool,
    /// Also load the run into the installation's store: the population snapshot, the results
    /// with the flagged households' explanations, tasks for the warnings, and the run (and a
    /// changed policy pack) in the audit ledger.
    #[arg(long)]
    pub load: bool,
    /// The installation's database (sqlite:PATH or postgres://…), where the run is recorded in
    /// the audit ledger and, with --load, stored; default DATA/jiuzhu.sqlite when it exists.
    #[arg(long, env = "JIUZHU_DATABASE")]
    pub database: Option<String>,
    /// With --load: a file holding the key-encryption key; without it JIUZHU_KEY is read.
    #[arg(long, requires = "load")]
    pub key_file: Option<PathBuf>,
}

/// Arguments of `jiuzhu monitor explain`.
#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    /// The population household id.
    #[arg(long)]
    pub household: String,
    /// The data directory; the lake is DATA/lake.
    #[arg(long, env = "JIUZHU_DATA_DIR")]
    pub data_dir: PathBuf,
    /// The as-of date (YYYY-MM-DD); default today.
    #[arg(long)]
    pub as_of: Option<String>,
    /// A policy pack folder; default the pack built into the binary.
    #[arg(long)]
    pub policy: Option<PathBuf>,
}

/// Today's date in UTC (the binary is the only place that reads the clock).
pub fn today() -> Date {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Date::from_days(i32::try_from(secs / 86_400).unwrap_or(0))
}

/// The as-of date of a run.
pub fn as_of(text: Option<&str>) -> anyhow::Result<Date> {
    match text {
        None => Ok(today()),
        Some(t) => Date::parse(t).map_err(|e| anyhow::anyhow!("--as-of {t:?}: {e}")),
    }
}

/// The pack of a run: a folder, or the default pack.
pub fn load_pack(path: Option<&Path>) -> anyhow::Result<Pack> {
    match path {
        Some(dir) => {
            Pack::load_dir(dir).map_err(|e| anyhow::anyhow!("policy pack {}: {e}", dir.display()))
        }
        None => Pack::default_pack().map_err(|e| anyhow::anyhow!("the built-in policy pack: {e}")),
    }
}

/// The committed Parquet files of every feed, as the exchange crate lists them: the latest
/// population snapshot, every committed batch of the other feeds in commit order.
pub fn lake_files(data_dir: &Path) -> anyhow::Result<monitor::LakeFiles> {
    let lake = exchange::Lake::open(data_dir)
        .with_context(|| format!("opening the lake in {}", data_dir.display()))?;
    let mut files = monitor::LakeFiles::new();
    for feed in monitor::Feed::ALL {
        if let Some(theirs) = exchange::Feed::parse(feed.name()) {
            files.set(feed, lake.feed_files(theirs));
        }
    }
    Ok(files)
}

/// Where runs keep the links record linkage decided (`DATA/links`), for later runs on the
/// same lake.
pub fn links_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("links")
}

/// Runs `jiuzhu monitor`.
pub fn run(args: Args) -> anyhow::Result<()> {
    if let Some(Command::Explain(e)) = args.command {
        return explain(e);
    }
    let a = args.run;
    let Some(data_dir) = a.data_dir else {
        bail!("--data-dir is required");
    };
    let Some(out) = a.out else {
        bail!("--out is required");
    };
    let as_of = as_of(a.as_of.as_deref())?;
    let pack = load_pack(a.policy.as_deref())?;
    let lake = lake_files(&data_dir).context("reading the lake")?;
    // Open the store first: a wrong key or URL fails before the screening, not after.
    let target = if a.load {
        let store_args = StoreArgs {
            database: a.database.clone(),
            data_dir: Some(data_dir.clone()),
            key_file: a.key_file.clone(),
        };
        Some((read_kek(&store_args)?, database_url(&store_args)?))
    } else {
        None
    };
    // The executors of a cluster read the lake by path; the tables a run makes itself go
    // beside it, in a folder of this run that is removed afterwards.
    let scratch = a.cluster.as_ref().map(|_| {
        data_dir
            .join("scratch")
            .join(format!("run-{}", std::process::id()))
    });
    let mut options = monitor::RunOptions {
        explain_flagged: a.load,
        cluster: a.cluster.clone(),
        scratch: scratch.clone(),
        links: Some(links_dir(&data_dir)),
        relink: a.relink,
        process_ends: true,
        ..monitor::RunOptions::default()
    };
    if let Some(t) = a.threads {
        options.threads = t.max(1);
    }
    let progress = StageTimes::new(TerminalProgress::new());
    let results = monitor::screen(&lake, as_of, &pack, options, &progress);
    if let Some(dir) = &scratch {
        let _ = std::fs::remove_dir_all(dir);
        // The parent only if no other run is using it.
        let _ = dir.parent().map(std::fs::remove_dir);
    }
    let results = results.context("screening")?;
    domain::Progress::stage(&progress, "writing results", 0);
    // The lake's files are hashed for the manifest while the results are written: the two
    // share nothing, and the writing leaves a core idle while its largest table is finished.
    let (written, inputs) = std::thread::scope(|s| {
        let inputs = s.spawn(|| monitor::RunManifest::inputs(&lake));
        let written = results.write(&out, as_of);
        let inputs = inputs
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        (written, inputs)
    });
    let outputs = written.context("writing results")?;
    let manifest = monitor::RunManifest::with_files(inputs?, outputs, &pack, as_of);
    let manifest_bytes = manifest.write(&out)?;
    domain::Progress::finish(&progress);
    print!("{}", results.summary.render());
    println!("run {} · results in {}", manifest.run_id, out.display());
    if target.is_none() {
        let recorded = crate::cmd::ledger::record_run(
            &data_dir,
            a.database.as_deref(),
            &manifest.run_id,
            &manifest_bytes,
        )?;
        match recorded {
            Some(index) => println!("recorded in the audit ledger as entry {index}"),
            None => println!("no database yet: the run is not in the audit ledger"),
        }
    }
    if let Some((kek, url)) = target {
        domain::Progress::stage(&progress, "loading into the store", 0);
        let now = crate::cmd::now()?;
        let loaded = store::block_on(async {
            let store = Store::open(&url, &kek, Algorithm::default(), now)
                .await
                .context("opening the store")?;
            let loaded = load::load(
                &store,
                &data_dir,
                &results,
                &manifest,
                &manifest_bytes,
                &pack,
                as_of,
                now,
            )
            .await;
            store.close().await;
            loaded
        })
        .context("starting the async runtime")??;
        domain::Progress::finish(&progress);
        match loaded.run {
            store::RunLoad::Loaded {
                tasks_opened,
                warnings_on_open_tasks,
            } => println!(
                "loaded: {} persons, {} households; {tasks_opened} tasks opened, \
                 {warnings_on_open_tasks} warnings on tasks already open",
                loaded.persons,
                results.households.len()
            ),
            store::RunLoad::AlreadyLoaded => {
                println!("run {} was loaded before: nothing changed", manifest.run_id);
            }
        }
        if loaded.left_out > 0 {
            println!(
                "{} result rows name a household with no living member in the registry; \
                 they are in the result files, not in the store",
                loaded.left_out
            );
        }
    }
    if a.timings {
        print!("{}", progress.render());
    }
    // The process ends here and gives its memory back at once: freeing the rows of millions
    // of households one by one took a second of a ten-million-person run.
    std::mem::forget(results);
    Ok(())
}

/// Progress that also records, per stage, wall time, process CPU time and peak memory so far
/// (the binary is the only place that reads clocks).
pub struct StageTimes<P> {
    inner: P,
    start: std::time::Instant,
    current: std::sync::Mutex<Option<(String, std::time::Instant, f64)>>,
    done: std::sync::Mutex<Vec<(String, f64, f64, u64)>>,
}

impl<P: domain::Progress> StageTimes<P> {
    /// Wraps a progress display.
    pub fn new(inner: P) -> Self {
        StageTimes {
            inner,
            start: std::time::Instant::now(),
            current: std::sync::Mutex::new(None),
            done: std::sync::Mutex::new(Vec::new()),
        }
    }

    fn close(&self) {
        let Ok(mut current) = self.current.lock() else {
            return;
        };
        if let Some((name, started, cpu)) = current.take() {
            let row = (
                name,
                started.elapsed().as_secs_f64(),
                cpu_seconds() - cpu,
                peak_kib(),
            );
            if let Ok(mut done) = self.done.lock() {
                done.push(row);
            }
        }
    }

    /// The stage table.
    pub fn render(&self) -> String {
        self.close();
        let mut out = format!(
            "{:<28} {:>9} {:>9} {:>12}\n",
            "stage", "wall s", "cpu s", "peak MiB"
        );
        // before the first stage, between stages and after the last: what the total
        // leaves over, so that the table adds up
        let (total_wall, total_cpu) = (self.start.elapsed().as_secs_f64(), cpu_seconds());
        let (mut wall, mut cpu) = (total_wall, total_cpu);
        if let Ok(done) = self.done.lock() {
            for (name, stage_wall, stage_cpu, peak) in done.iter() {
                out.push_str(&format!(
                    "{name:<28} {stage_wall:>9.2} {stage_cpu:>9.2} {:>12}\n",
                    peak / 1024
                ));
                wall -= stage_wall;
                cpu -= stage_cpu;
            }
        }
        out.push_str(&format!(
            "{:<28} {:>9.2} {:>9.2} {:>12}\n",
            "outside the stages",
            wall.max(0.0),
            cpu.max(0.0),
            peak_kib() / 1024
        ));
        out.push_str(&format!(
            "{:<28} {:>9.2} {:>9.2} {:>12}\n",
            "total",
            total_wall,
            total_cpu,
            peak_kib() / 1024
        ));
        out
    }
}

impl<P: domain::Progress> domain::Progress for StageTimes<P> {
    fn stage(&self, name: &str, total: u64) {
        self.close();
        if let Ok(mut current) = self.current.lock() {
            *current = Some((name.to_string(), std::time::Instant::now(), cpu_seconds()));
        }
        self.inner.stage(name, total);
    }

    fn inc(&self, n: u64) {
        self.inner.inc(n);
    }

    fn finish(&self) {
        self.close();
        self.inner.finish();
    }
}

/// User + system CPU time of this process, from /proc (0 where unavailable).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return 0.0;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // After the command name: state is field 0; utime and stime are fields 11 and 12.
    (ticks(11) + ticks(12)) / 100.0
}

/// Peak resident memory of this process so far, KiB (VmHWM; 0 where unavailable).
fn peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn explain(args: ExplainArgs) -> anyhow::Result<()> {
    let as_of = as_of(args.as_of.as_deref())?;
    let pack = load_pack(args.policy.as_deref())?;
    let lake = lake_files(&args.data_dir).context("reading the lake")?;
    let options = monitor::RunOptions {
        links: Some(links_dir(&args.data_dir)),
        ..monitor::RunOptions::default()
    };
    let Some(evaluation) = monitor::explain(&lake, as_of, &pack, &args.household, &options)? else {
        bail!("no household with that id in the lake");
    };
    match evaluation {
        monitor::policy::eval::Evaluation::Uncovered { region } => {
            println!(
                "household {}: no parameter set covers region {}",
                args.household,
                region.unwrap_or_else(|| "unknown".into())
            );
        }
        monitor::policy::eval::Evaluation::Done(o) => print!("{}", render(&o)),
    }
    Ok(())
}

fn render_steps(out: &mut String, ex: &monitor::policy::Explanation) {
    for s in &ex.steps {
        out.push_str(&format!(
            "    [{}] {} ({}) — {}\n",
            if s.holds { "holds" } else { "fails" },
            s.rule,
            s.source,
            s.result
        ));
        out.push_str(&format!("      {}\n      {}\n", s.text_zh, s.text_en));
        if !s.facts.is_empty() {
            let f: Vec<String> = s.facts.iter().map(|(k, v)| format!("{k}={v}")).collect();
            out.push_str(&format!("      facts: {}\n", f.join(", ")));
        }
        if !s.params.is_empty() {
            let p: Vec<String> = s.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            out.push_str(&format!("      parameters: {}\n", p.join(", ")));
        }
    }
}

/// The explanation of one household as text (person ids masked).
fn render(o: &monitor::policy::eval::Outcome) -> String {
    let mut out = String::new();
    out.push_str(&format!(
        "household {} · region {} · parameter set {}\n",
        o.household_id, o.region, o.set
    ));
    out.push_str(&format!(
        "size {} · tekun members {} · per-capita income {} · tier {} · dibao amount {}\n",
        o.size, o.tekun_members, o.per_capita_income, o.tier, o.dibao_amount
    ));
    out.push_str("tier:\n");
    render_steps(&mut out, &o.tier_explanation);
    for p in &o.persons {
        out.push_str(&format!(
            "person {}: {} {}\n",
            monitor::policy::eval::mask(&p.person),
            p.status,
            p.amount
        ));
        render_steps(&mut out, &p.explanation);
    }
    for a in &o.anomalies {
        out.push_str(&format!(
            "anomaly {} {} {}: {}\n",
            a.kind,
            a.program,
            a.person
                .as_ref()
                .map(monitor::policy::eval::mask)
                .unwrap_or_default(),
            a.reasons.join(";")
        ));
        render_steps(&mut out, &a.explanation);
    }
    for s in &o.signals {
        out.push_str(&format!(
            "signal {} ({}) {}\n",
            s.signal,
            s.level,
            s.person
                .as_ref()
                .map(monitor::policy::eval::mask)
                .unwrap_or_default()
        ));
        render_steps(&mut out, &s.explanation);
    }
    out.push_str(&format!(
        "level {} · score {} · tags {}\n",
        o.level,
        o.score,
        o.tags.join(";")
    ));
    render_steps(&mut out, &o.tags_explanation);
    for r in &o.packages {
        out.push_str(&format!(
            "package {} {} {} ({})\n",
            r.kind,
            r.item,
            r.amount.map(|a| a.to_string()).unwrap_or_default(),
            r.reason
        ));
        render_steps(&mut out, &r.explanation);
    }
    out
}
