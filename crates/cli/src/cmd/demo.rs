//! `jiuzhu demo`: the whole platform on a synthetic city, on the embedded default — generate,
//! import, screen, load into the store, create a user for each role, and serve.
//!
//! Everything lives under `--data-dir` (default `demo-data/`): the batch, the lake, the results,
//! the SQLite store and its key. The demo users' passwords are printed: they guard synthetic
//! data on a loopback address, and nothing else.

use crate::cmd::{load, monitor as monitor_cmd, serve};
use crate::progress::TerminalProgress;
use anyhow::Context as _;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use store::privacy::{Algorithm, Kek};
use store::{NewUser, Role, Scope, Store};

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
    let options = monitor::RunOptions {
        explain_flagged: true,
        links: Some(monitor_cmd::links_dir(dir)),
        ..monitor::RunOptions::default()
    };
    let results = monitor::screen(&lake, as_of, &pack, options, &progress).context("screening")?;
    let out = dir.join("results");
    let outputs = results.write(&out, as_of).context("writing the results")?;
    let inputs = monitor::RunManifest::inputs(&lake)?;
    let manifest = monitor::RunManifest::with_files(inputs, outputs, &pack, as_of);
    let manifest_bytes = manifest.write(&out)?;
    print!("{}", results.summary.render());

    println!("4/5 loading persons and results into the store");
    let key_path = dir.join("demo.key");
    let kek = demo_key(&key_path)?;
    let url = args
        .database
        .clone()
        .unwrap_or_else(|| format!("sqlite:{}", dir.join("jiuzhu.sqlite").display()));
    let runtime = serve::runtime()?;
    let store = runtime.block_on(async {
        let now = crate::cmd::now()?;
        let store = Store::open(&url, &kek, Algorithm::default(), now)
            .await
            .context("opening the store")?;
        let system = Scope::system();
        let loaded = load::load(
            &store,
            dir,
            &results,
            &manifest,
            &manifest_bytes,
            &pack,
            as_of,
            now,
        )
        .await?;
        if loaded.left_out > 0 {
            println!(
                "  {} result rows name a household with no living member in the registry \
                 (e.g. 错保 household_not_found); they are in the result files, not in the store",
                loaded.left_out
            );
        }
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
