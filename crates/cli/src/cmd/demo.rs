//! `jiuzhu demo`: the whole platform on a synthetic city, on the embedded default — generate,
//! import, screen, load into the store, create a user for each role, and serve.
//!
//! Everything lives under `--data-dir` (default `demo-data/`): the batch, the lake, the results,
//! the SQLite store and its key. The demo users' passwords are printed: they guard synthetic
//! data on a loopback address, and nothing else.

use crate::cmd::{monitor as monitor_cmd, serve};
use crate::progress::TerminalProgress;
use anyhow::Context as _;
use arrow::array::{Array, AsArray};
use arrow::datatypes::Date32Type;
use domain::{Date, Gender, PersonStatus, Program, RegionCode, Relation, ResidentId};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use store::privacy::{Algorithm, Kek};
use store::{NewUser, Role, Scope, Store, TaskRules};

/// Arguments of `jiuzhu demo`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Persons in the synthetic city.
    #[arg(long, default_value_t = 20_000)]
    pub persons: u64,
    /// Port on 127.0.0.1.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Where the demo keeps its batch, lake, results and store.
    #[arg(long, default_value = "demo-data")]
    pub data_dir: PathBuf,
    /// Seed of the synthetic city.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Prepare everything, print the users, and exit without serving.
    #[arg(long)]
    pub no_serve: bool,
    /// The store's database URL (`sqlite:PATH` or `postgres://…`); by default a SQLite file
    /// in the data directory.
    #[arg(long)]
    pub database: Option<String>,
}

/// The demo users: (login, role, region prefix, password). The two caseworkers work in
/// different townships so that scoping can be seen.
fn demo_users(township: &str, other_township: &str) -> Vec<(String, Role, String, String)> {
    let city = "99".to_string();
    vec![
        (
            "caseworker".into(),
            Role::Caseworker,
            township.to_string(),
            "demo-caseworker".into(),
        ),
        (
            "caseworker2".into(),
            Role::Caseworker,
            other_township.to_string(),
            "demo-caseworker2".into(),
        ),
        (
            "reviewer".into(),
            Role::Reviewer,
            city.clone(),
            "demo-reviewer".into(),
        ),
        (
            "approver".into(),
            Role::Approver,
            city.clone(),
            "demo-approver".into(),
        ),
        (
            "analyst".into(),
            Role::Analyst,
            city.clone(),
            "demo-analyst".into(),
        ),
        (
            "auditor".into(),
            Role::Auditor,
            city.clone(),
            "demo-auditor".into(),
        ),
        (
            "admin".into(),
            Role::Administrator,
            city,
            "demo-administrator".into(),
        ),
    ]
}

/// Runs `jiuzhu demo`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let dir = &args.data_dir;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let as_of = synth::default_as_of();
    let progress = TerminalProgress::new();

    let batch = dir.join("batch");
    if batch.exists() {
        std::fs::remove_dir_all(&batch).with_context(|| format!("clearing {}", batch.display()))?;
    }
    println!(
        "1/5 generating a synthetic city of {} persons (示范市, region 99)",
        args.persons
    );
    let options = synth::Options {
        persons: args.persons,
        seed: args.seed,
        format: synth::Format::Csv,
        as_of,
    };
    synth::generate(&options, &batch, &progress).context("generating the synthetic city")?;

    println!("2/5 importing it into the lake");
    let import = exchange::ImportOptions {
        encoding: None,
        imported_at: None,
        progress: &progress,
        before_commit: None,
        threads: 0,
    };
    let report = exchange::import_batch(&batch, dir, &import).context("importing the batch")?;
    print!("{}", report.summary());

    println!("3/5 screening every household as of {as_of}");
    let lake = monitor_cmd::lake_files(dir)?;
    let pack = monitor_cmd::load_pack(None)?;
    let results = monitor::screen(
        &lake,
        as_of,
        &pack,
        monitor::RunOptions::default(),
        &progress,
    )
    .context("screening")?;
    results
        .write(&dir.join("results"), as_of)
        .context("writing the results")?;
    print!("{}", results.summary.render());

    println!("4/5 loading persons and results into the store");
    let key_path = dir.join("demo.key");
    let kek = demo_key(&key_path)?;
    let url = args
        .database
        .clone()
        .unwrap_or_else(|| format!("sqlite:{}", dir.join("jiuzhu.sqlite").display()));
    let runtime = serve::runtime()?;
    let population =
        read_population(&exchange::Lake::open(dir)?.feed_files(exchange::Feed::Population))?;
    let mut run = run_results(&results, as_of, DEFAULT_PACK)?;
    let left_out = keep_profiled(&mut run);
    if left_out > 0 {
        println!(
            "  {left_out} result rows name a household with no living member in the registry \
             (e.g. 错保 household_not_found); they are in the result files, not in the store"
        );
    }
    let store = runtime.block_on(async {
        let now = crate::cmd::now()?;
        let store = Store::open(&url, &kek, Algorithm::default(), now)
            .await
            .context("opening the store")?;
        let system = Scope::system();
        store
            .load_population(&system, &population)
            .await
            .context("loading persons")?;
        store
            .load_run(&system, &run, &TaskRules::default(), now)
            .await
            .context("loading the run")?;
        let tasks = store.tasks(&system, None).await.context("listing tasks")?;
        let mut per_township: BTreeMap<String, usize> = BTreeMap::new();
        for t in &tasks {
            *per_township
                .entry(t.region_code.township().prefix().to_string())
                .or_default() += 1;
        }
        let mut busiest: Vec<(String, usize)> = per_township.into_iter().collect();
        busiest.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let township = busiest
            .first()
            .map(|b| b.0.clone())
            .unwrap_or_else(|| "99".into());
        let other = busiest
            .get(1)
            .map(|b| b.0.clone())
            .unwrap_or_else(|| township.clone());
        let existing = store.users(&system).await?;
        let mut printed = Vec::new();
        for (login, role, region, password) in demo_users(&township, &other) {
            if !existing.iter().any(|u| u.username == login) {
                let user = NewUser {
                    username: login.clone(),
                    roles: vec![role],
                    region_prefix: region.clone(),
                    password: password.clone(),
                };
                store
                    .add_user(&system, &user, now)
                    .await
                    .with_context(|| format!("adding {login}"))?;
            }
            printed.push((login, role, region, password));
        }
        // The queue of each caseworker: the open tasks of her township.
        let users = store.users(&system).await?;
        for t in tasks.iter().filter(|t| t.assignee.is_none()) {
            let township = t.region_code.township();
            if let Some(u) = users.iter().find(|u| {
                u.roles.contains(&Role::Caseworker) && township.starts_with(&u.region_prefix)
            }) {
                store
                    .assign_task(&system, t.id, u.id, now)
                    .await
                    .context("assigning tasks")?;
            }
        }
        println!("5/5 demo users (password after the colon):");
        for (login, role, region, password) in &printed {
            println!(
                "  {login:<12} {:<14} region {region:<12} : {password}",
                role.as_str()
            );
        }
        Ok::<_, anyhow::Error>(store)
    })?;
    if args.no_serve {
        return Ok(());
    }
    let listen = SocketAddr::from(([127, 0, 0, 1], args.port));
    serve::init_logging();
    let boundaries = batch.join("_meta").join("boundaries.geojson");
    let web = serve::web_config(boundaries.exists().then_some(boundaries.as_path()), false)?;
    runtime.block_on(serve::serve(serve::Server {
        listen,
        store,
        web,
        ledger_key: None,
        data_dir: Some(dir.to_path_buf()),
        tls: None,
    }))
}

/// Keeps only the rows whose household has a profile (the store scopes every row by its
/// household's region); returns how many were left out.
fn keep_profiled(run: &mut store::RunResults) -> usize {
    let profiled: std::collections::HashSet<String> = run
        .households
        .iter()
        .map(|h| h.household_id.clone())
        .collect();
    let before =
        run.persons.len() + run.anomalies.len() + run.warnings.len() + run.recommendations.len();
    run.persons.retain(|r| profiled.contains(&r.household_id));
    run.anomalies.retain(|r| profiled.contains(&r.household_id));
    run.warnings.retain(|r| profiled.contains(&r.household_id));
    run.recommendations
        .retain(|r| profiled.contains(&r.household_id));
    before
        - (run.persons.len() + run.anomalies.len() + run.warnings.len() + run.recommendations.len())
}

/// The name the store records for runs of the built-in policy pack.
const DEFAULT_PACK: &str = "default";

/// The demo's key-encryption key, made on first use and kept beside the data (a real
/// installation keeps it outside the data directory).
fn demo_key(path: &Path) -> anyhow::Result<Kek> {
    if let Ok(text) = std::fs::read_to_string(path) {
        return Kek::from_hex(&text).context("reading the demo key");
    }
    let kek = Kek::generate();
    std::fs::write(path, kek.to_hex().as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    Ok(kek)
}

/// The population snapshot of the lake, as the store takes it.
fn read_population(files: &[PathBuf]) -> anyhow::Result<Vec<store::PopulationRow>> {
    let mut rows = Vec::new();
    for path in files {
        let file =
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)?.build()?;
        for batch in reader {
            let batch = batch?;
            let text = |name: &str| {
                batch
                    .column_by_name(name)
                    .map(|c| c.as_string::<i32>().clone())
            };
            let (
                Some(ids),
                Some(names),
                Some(genders),
                Some(households),
                Some(relations),
                Some(regions),
                Some(statuses),
            ) = (
                text("person_id"),
                text("name"),
                text("gender"),
                text("household_id"),
                text("relation"),
                text("region_code"),
                text("status"),
            )
            else {
                anyhow::bail!("{}: not a population file of the lake", path.display());
            };
            let addresses = text("address");
            let (spouses, fathers, mothers) =
                (text("spouse_id"), text("father_id"), text("mother_id"));
            let status_dates = batch
                .column_by_name("status_date")
                .map(|c| c.as_primitive::<Date32Type>().clone());
            let opt = |col: &Option<arrow::array::StringArray>, i: usize| {
                col.as_ref()
                    .filter(|c| c.is_valid(i))
                    .map(|c| c.value(i).to_string())
            };
            let id = |text: Option<String>| text.and_then(|t| ResidentId::parse(&t).ok());
            for i in 0..batch.num_rows() {
                let (Ok(person_id), Ok(region_code)) = (
                    ResidentId::parse(ids.value(i)),
                    RegionCode::parse(regions.value(i)),
                ) else {
                    continue;
                };
                rows.push(store::PopulationRow {
                    person_id,
                    name: names.value(i).to_string(),
                    gender: Gender::parse(genders.value(i)).unwrap_or(Gender::Female),
                    household_id: households.value(i).to_string(),
                    relation: Relation::parse(relations.value(i)).unwrap_or(Relation::Other),
                    region_code,
                    address: opt(&addresses, i),
                    status: PersonStatus::parse(statuses.value(i)).unwrap_or(PersonStatus::Normal),
                    status_date: status_dates
                        .as_ref()
                        .filter(|c| c.is_valid(i))
                        .map(|c| Date::from_days(c.value(i))),
                    spouse_id: id(opt(&spouses, i)),
                    father_id: id(opt(&fathers, i)),
                    mother_id: id(opt(&mothers, i)),
                });
            }
        }
    }
    Ok(rows)
}

/// A run's result rows as the store keeps them.
fn run_results(
    results: &monitor::output::Results,
    as_of: Date,
    policy: &str,
) -> anyhow::Result<store::RunResults> {
    let id = |text: &str| ResidentId::parse(text).ok();
    let households = results
        .households
        .iter()
        .filter_map(|h| {
            Some(store::HouseholdProfile {
                household_id: h.household_id.clone(),
                region_code: RegionCode::parse(&h.region_code).ok()?,
                size: h.size,
                tekun_members: h.tekun_members,
                per_capita_income: h.per_capita_income,
                tier: store::Tier::parse(&h.tier)?,
                dibao_amount: h.dibao_amount,
                score: u8::try_from(h.score.min(100)).unwrap_or(100),
                level: store::Level::parse(&h.level)?,
                tags: h.tags.clone(),
                explanation: serde_json::Value::Null,
            })
        })
        .collect();
    Ok(store::RunResults {
        run_id: format!("{as_of}-{policy}"),
        as_of,
        policy: policy.to_string(),
        households,
        persons: results
            .persons
            .iter()
            .filter_map(|p| {
                Some(store::PersonResult {
                    person_id: id(&p.person_id)?,
                    household_id: p.household_id.clone(),
                    status: p.status.clone(),
                    amount: p.amount,
                    care_level: p.care_level.clone(),
                })
            })
            .collect(),
        anomalies: results
            .anomalies
            .iter()
            .filter_map(|a| {
                Some(store::AnomalyRow {
                    kind: store::AnomalyKind::parse(&a.kind)?,
                    program: Program::parse(&a.program)?,
                    household_id: a.household_id.clone(),
                    person_id: a.person_id.as_deref().and_then(id),
                    reasons: a.reasons.clone(),
                })
            })
            .collect(),
        warnings: results
            .warnings
            .iter()
            .filter_map(|w| {
                Some(store::WarningRow {
                    household_id: w.household_id.clone(),
                    person_id: w.person_id.as_deref().and_then(id),
                    signal: w.signal.clone(),
                    level: store::Level::parse(&w.level)?,
                    detected_at: as_of,
                })
            })
            .collect(),
        recommendations: results
            .recommendations
            .iter()
            .map(|r| store::RecommendationRow {
                household_id: r.household_id.clone(),
                kind: r.kind.clone(),
                item: r.item.clone(),
                amount: r.amount,
                reason: r.reason.clone(),
            })
            .collect(),
    })
}
