//! `jiuzhu serve`: the web application over the store.
//!
//! Settings come from a TOML file (`--config`), then environment variables (`JIUZHU_*`), then
//! flags, later ones winning. Logs are structured lines on standard error; they name routes,
//! statuses and request numbers, never a person.

use super::now;
use crate::cmd::users::{StoreArgs, database_url, read_kek};
use crate::tls;
use anyhow::{Context as _, bail};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use store::privacy::Algorithm;
use store::{Store, Timestamp};

/// Arguments of `jiuzhu serve`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The store.
    #[command(flatten)]
    pub store: StoreArgs,
    /// A TOML file of settings (`listen`, `database`, `data_dir`, `key_file`, `boundaries`,
    /// `secure_cookies`, `ledger_key`).
    #[arg(long, env = "JIUZHU_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "JIUZHU_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// A GeoJSON file of the bureau's boundaries keyed by region code, for the maps.
    #[arg(long, env = "JIUZHU_BOUNDARIES")]
    pub boundaries: Option<PathBuf>,
    /// Serve cookies without the `Secure` flag: only for plain HTTP on loopback.
    #[arg(long)]
    pub insecure_cookies: bool,
    /// The ledger's signing key file, with which auditors sign tree heads on the audit page
    /// [default: DATA/keys/ledger.key when it exists].
    #[arg(long, env = "JIUZHU_LEDGER_KEY")]
    pub ledger_key: Option<PathBuf>,
    /// A PEM file of the server's TLS certificate chain: serve HTTPS (with --tls-key).
    #[arg(long, env = "JIUZHU_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// A PEM file of the TLS certificate's private key.
    #[arg(long, env = "JIUZHU_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

/// The settings file.
#[derive(serde::Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
struct Settings {
    listen: Option<SocketAddr>,
    database: Option<String>,
    data_dir: Option<PathBuf>,
    key_file: Option<PathBuf>,
    boundaries: Option<PathBuf>,
    secure_cookies: Option<bool>,
    ledger_key: Option<PathBuf>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
}

/// What the server needs, resolved.
pub struct Server {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The store, opened.
    pub store: Store,
    /// The web settings.
    pub web: web::WebConfig,
    /// The ledger's signing key, if auditors may sign tree heads through the server.
    pub ledger_key: Option<store::ledger::SigningKey>,
    /// The data directory whose lake receives department deliveries (the exchange API).
    pub data_dir: Option<PathBuf>,
    /// TLS settings: serve HTTPS instead of plain HTTP.
    pub tls: Option<tls::Config>,
}

/// Runs `jiuzhu serve`.
pub fn run(mut args: Args) -> anyhow::Result<()> {
    init_logging();
    let settings = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the settings file {}", path.display()))?;
            toml::from_str::<Settings>(&text)
                .with_context(|| format!("reading the settings file {}", path.display()))?
        }
        None => Settings::default(),
    };
    args.store.database = args.store.database.or(settings.database);
    args.store.data_dir = args.store.data_dir.or(settings.data_dir);
    args.store.key_file = args.store.key_file.or(settings.key_file);
    let listen = args
        .listen
        .or(settings.listen)
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
    let secure = !args.insecure_cookies && settings.secure_cookies.unwrap_or(true);
    let boundaries = args.boundaries.or(settings.boundaries);
    let ledger_key = ledger_key(
        args.ledger_key.or(settings.ledger_key),
        args.store.data_dir.as_deref(),
    )?;
    let tls = match (
        args.tls_cert.or(settings.tls_cert),
        args.tls_key.or(settings.tls_key),
    ) {
        (Some(cert), Some(key)) => Some(tls::Config::load(&cert, &key)?),
        (None, None) => None,
        _ => bail!("TLS needs both tls_cert and tls_key"),
    };
    let runtime = runtime()?;
    runtime.block_on(async {
        let kek = read_kek(&args.store)?;
        let url = database_url(&args.store)?;
        let store = Store::open(&url, &kek, Algorithm::default(), now()?)
            .await
            .context("opening the store")?;
        let web = web_config(boundaries.as_deref(), secure)?;
        serve(Server {
            listen,
            store,
            web,
            ledger_key,
            data_dir: args.store.data_dir.clone(),
            tls,
        })
        .await
    })
}

/// The ledger's signing key: the given file (which must exist), else `DATA/keys/ledger.key`
/// when it exists, else none.
fn ledger_key(
    path: Option<PathBuf>,
    data_dir: Option<&Path>,
) -> anyhow::Result<Option<store::ledger::SigningKey>> {
    let path = match (path, data_dir) {
        (Some(path), _) => path,
        (None, Some(dir)) if dir.join("keys").join("ledger.key").exists() => {
            dir.join("keys").join("ledger.key")
        }
        _ => return Ok(None),
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("reading the ledger key {}", path.display()))?;
    let key = store::ledger::SigningKey::from_key_file(&text)
        .with_context(|| format!("reading the ledger key {}", path.display()))?;
    Ok(Some(key))
}

/// Reads the boundary file, if any, into the web settings.
pub fn web_config(
    boundaries: Option<&Path>,
    secure_cookies: bool,
) -> anyhow::Result<web::WebConfig> {
    let boundaries = match boundaries {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the boundary file {}", path.display()))?;
            web::map::parse_geojson(&text)
                .with_context(|| format!("reading the boundary file {}", path.display()))?
        }
        None => Vec::new(),
    };
    Ok(web::WebConfig {
        secure_cookies,
        boundaries,
    })
}

/// A multi-threaded runtime for the server.
pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Serves until interrupted (Ctrl-C or SIGTERM), then finishes the requests under way.
pub async fn serve(server: Server) -> anyhow::Result<()> {
    let clock: web::Clock = Arc::new(|| now().unwrap_or(Timestamp(0)));
    let state = web::AppState::new(server.store, clock, server.web);
    if let Some(key) = server.ledger_key {
        state.set_ledger_key(key);
    }
    if let Some(dir) = server.data_dir {
        state.set_exchange(dir);
    }
    // The dashboards' figures of the latest run, computed while the first requests are served.
    let warming = state.clone();
    tokio::spawn(async move {
        match web::warm_figures(&warming).await {
            Ok(regions) => tracing::info!(regions, "dashboard figures computed ahead"),
            Err(e) => tracing::warn!(error = %e, "computing dashboard figures ahead failed"),
        }
    });
    let app = web::router(state);
    let listener = tokio::net::TcpListener::bind(server.listen)
        .await
        .with_context(|| format!("listening on {}", server.listen))?;
    let scheme = if server.tls.is_some() {
        "https"
    } else {
        "http"
    };
    // Printed once the socket is bound, so that whoever waits for this line can connect.
    println!("serving at {scheme}://{}/  (Ctrl-C to stop)", server.listen);
    tracing::info!(address = %server.listen, scheme, "serving");
    match server.tls {
        Some(config) => {
            axum::serve(tls::Listener::new(listener, config), app)
                .with_graceful_shutdown(shutdown())
                .await
                .context("serving")?;
        }
        None => {
            axum::serve(listener, app)
                .with_graceful_shutdown(shutdown())
                .await
                .context("serving")?;
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown() {
    {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(_) => {
                        let _ = ctrl_c.await;
                        return;
                    }
                };
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
    }
}

/// Structured logs on standard error, filtered by `RUST_LOG` (default `info`).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
