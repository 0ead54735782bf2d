//! `jiuzhu serve`: the web application over the store.
//!
//! Settings come from a TOML file (`--config`), then environment variables (`JIUZHU_*`), then
//! flags, later ones winning. Logs are structured lines on standard error; they name routes,
//! statuses and request numbers, never a person.

use crate::cmd::users::{StoreArgs, database_url, read_kek};
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
    /// `secure_cookies`).
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
}

/// What the server needs, resolved.
pub struct Server {
    /// Where to listen.
    pub listen: SocketAddr,
    /// The store, opened.
    pub store: Store,
    /// The web settings.
    pub web: web::WebConfig,
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
    let runtime = runtime()?;
    runtime.block_on(async {
        let kek = read_kek(&args.store)?;
        let url = database_url(&args.store)?;
        let store = Store::open(&url, &kek, Algorithm::default(), now()?)
            .await
            .context("opening the store")?;
        let web = web_config(boundaries.as_deref(), secure)?;
        serve(Server { listen, store, web }).await
    })
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
    let app = web::router(web::AppState::new(server.store, clock, server.web));
    let listener = tokio::net::TcpListener::bind(server.listen)
        .await
        .with_context(|| format!("listening on {}", server.listen))?;
    // Printed once the socket is bound, so that whoever waits for this line can connect.
    println!("serving at http://{}/  (Ctrl-C to stop)", server.listen);
    tracing::info!(address = %server.listen, "serving");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let ctrl_c = tokio::signal::ctrl_c();
            #[cfg(unix)]
            {
                let mut term =
                    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    {
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
        })
        .await
        .context("serving")?;
    tracing::info!("stopped");
    Ok(())
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

/// The current instant from the system clock: the binary is the only place that reads it.
pub fn now() -> anyhow::Result<Timestamp> {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("the system clock is before 1970")?;
    match i64::try_from(since.as_secs()) {
        Ok(s) => Ok(Timestamp(s)),
        Err(_) => bail!("the system clock is out of range"),
    }
}
