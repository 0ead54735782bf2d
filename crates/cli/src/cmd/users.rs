//! `jiuzhu users`: adds, lists, disables and enables the platform's users.
//!
//! The database is `--database URL` (`sqlite:PATH` or `postgres://…`), by default the SQLite
//! file `DATA/jiuzhu.sqlite` under `--data-dir`. The key-encryption key (64 hexadecimal
//! characters) comes from `--key-file` or the `JIUZHU_KEY` environment variable; it never
//! enters the database. A new password is read from the first line of standard input, so
//! that it appears neither in the process list nor in the shell history. The operator of the
//! binary acts with every role over the whole country.

use super::now;
use anyhow::{Context as _, bail};
use std::io::BufRead as _;
use std::path::PathBuf;
use store::privacy::{Algorithm, Kek};
use store::{NewUser, Role, Scope, Store, Timestamp, User};

/// Where the store is and how to unlock it; shared by commands that open the store.
#[derive(clap::Args, Debug)]
pub struct StoreArgs {
    /// Database URL: sqlite:PATH or postgres://USER@HOST/DB. Default: DATA/jiuzhu.sqlite.
    #[arg(long, env = "JIUZHU_DATABASE", global = true)]
    pub database: Option<String>,
    /// The data directory (used when --database is not given).
    #[arg(long, env = "JIUZHU_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// A file holding the key-encryption key (64 hexadecimal characters). Without it, the
    /// JIUZHU_KEY environment variable is read.
    #[arg(long, global = true)]
    pub key_file: Option<PathBuf>,
}

/// Arguments of `jiuzhu users`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The store.
    #[command(flatten)]
    pub store: StoreArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands of `jiuzhu users`.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Add a user; the password (at least 10 characters) is read from standard input.
    Add {
        /// Login name (letters, digits, '.', '_', '-').
        username: String,
        /// Roles, comma-separated: caseworker, reviewer, approver, analyst, auditor,
        /// administrator, department.
        #[arg(long, value_delimiter = ',', required = true)]
        roles: Vec<String>,
        /// Region prefix (0 to 12 digits; empty: the whole country).
        #[arg(long, default_value = "")]
        region: String,
    },
    /// List users.
    List,
    /// Disable a user and end their sessions.
    Disable {
        /// Login name.
        username: String,
    },
    /// Enable a disabled user again.
    Enable {
        /// Login name.
        username: String,
    },
}

/// Runs `jiuzhu users`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let kek = read_kek(&args.store)?;
    let url = database_url(&args.store)?;
    let now = now()?;
    store::block_on(async move {
        let store = Store::open(&url, &kek, Algorithm::default(), now)
            .await
            .context("opening the store")?;
        let result = users(&store, args.command, now).await;
        store.close().await;
        result
    })
    .context("starting the async runtime")?
}

async fn users(store: &Store, command: Command, now: Timestamp) -> anyhow::Result<()> {
    let operator = Scope::system();
    match command {
        Command::Add {
            username,
            roles,
            region,
        } => {
            let roles = roles
                .iter()
                .map(|r| Role::parse(r).with_context(|| format!("unknown role {r:?}")))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let password = read_password()?;
            let user = store
                .add_user(
                    &operator,
                    &NewUser {
                        username,
                        roles,
                        region_prefix: region,
                        password,
                    },
                    now,
                )
                .await
                .context("adding the user")?;
            println!("added {}", line(&user));
        }
        Command::List => {
            let users = store.users(&operator).await.context("listing users")?;
            println!("id\tusername\troles\tregion\tstate");
            for user in &users {
                println!("{}", line(user));
            }
        }
        Command::Disable { username } => {
            let user = store
                .set_user_disabled(&operator, &username, true, now)
                .await
                .with_context(|| format!("disabling {username}"))?;
            println!("disabled {}", line(&user));
        }
        Command::Enable { username } => {
            let user = store
                .set_user_disabled(&operator, &username, false, now)
                .await
                .with_context(|| format!("enabling {username}"))?;
            println!("enabled {}", line(&user));
        }
    }
    Ok(())
}

fn line(user: &User) -> String {
    let roles: Vec<&str> = user.roles.iter().map(|r| r.as_str()).collect();
    format!(
        "{}\t{}\t{}\t{}\t{}",
        user.id,
        user.username,
        roles.join(","),
        if user.region_prefix.is_empty() {
            "*"
        } else {
            &user.region_prefix
        },
        if user.disabled { "disabled" } else { "enabled" }
    )
}

/// The KEK from `--key-file` or `JIUZHU_KEY`.
pub fn read_kek(args: &StoreArgs) -> anyhow::Result<Kek> {
    let text = match &args.key_file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("reading the key file {}", path.display()))?,
        None => match std::env::var("JIUZHU_KEY") {
            Ok(text) => text,
            Err(_) => bail!(
                "no key-encryption key: give --key-file FILE or set JIUZHU_KEY \
                 (64 hexadecimal characters, e.g. from `openssl rand -hex 32`)"
            ),
        },
    };
    Kek::from_hex(&text).context("reading the key-encryption key")
}

/// The one database file of an installation under its data directory (store, ledger and every
/// other table): `jiuzhu users`, `serve`, `ledger`, `keys` and `backup` all default to it.
pub const DATABASE_FILE: &str = "jiuzhu.sqlite";

/// The database URL from `--database`, or the SQLite file under `--data-dir`.
pub fn database_url(args: &StoreArgs) -> anyhow::Result<String> {
    if let Some(url) = &args.database {
        return Ok(url.clone());
    }
    let Some(dir) = &args.data_dir else {
        bail!("give --database URL or --data-dir DATA");
    };
    std::fs::create_dir_all(dir)
        .with_context(|| format!("creating the data directory {}", dir.display()))?;
    Ok(format!("sqlite:{}", dir.join(DATABASE_FILE).display()))
}

fn read_password() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        bail!("no password on standard input (pipe it in: the first line is the password)");
    }
    Ok(password)
}
