//! `jiuzhu departments`: the machine accounts of the department exchange API.
//!
//! `add` prints the account's API key once; the database keeps only its hash. The account may
//! send only the feeds given, for the declared purpose, at most `--rate` requests a minute and
//! bodies of at most `--max-upload-mb`.

use crate::cmd::users::{StoreArgs, database_url, read_kek};
use anyhow::Context as _;
use store::ledger::Purpose;
use store::privacy::Algorithm;
use store::{Department, NewDepartment, Scope, Store, Timestamp};

/// Arguments of `jiuzhu departments`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The store.
    #[command(flatten)]
    pub store: StoreArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands of `jiuzhu departments`.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Add an account and print its API key (shown once).
    Add {
        /// Account name (letters, digits, '.', '_', '-'), e.g. `medical-insurance`.
        name: String,
        /// Feeds it may send, comma-separated (population, medical, income, …).
        #[arg(long, value_delimiter = ',', required = true)]
        feeds: Vec<String>,
        /// The declared purpose: data_exchange, monitoring, verification, payment, …
        #[arg(long, default_value = "data_exchange", value_parser = parse_purpose)]
        purpose: Purpose,
        /// The region it reports for (0 to 12 digits).
        #[arg(long, default_value = "")]
        region: String,
        /// Requests per minute.
        #[arg(long, default_value_t = 60)]
        rate: u32,
        /// The largest upload, in MiB.
        #[arg(long, default_value_t = 64)]
        max_upload_mb: u64,
    },
    /// List accounts.
    List,
    /// Disable an account: its key stops working at once.
    Disable {
        /// Account name.
        name: String,
    },
    /// Enable a disabled account again.
    Enable {
        /// Account name.
        name: String,
    },
}

fn parse_purpose(text: &str) -> Result<Purpose, String> {
    Purpose::parse(text).ok_or_else(|| {
        let all: Vec<&str> = Purpose::ALL.iter().map(|p| p.as_str()).collect();
        format!("expected one of {}", all.join(", "))
    })
}

/// Runs `jiuzhu departments`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let kek = read_kek(&args.store)?;
    let url = database_url(&args.store)?;
    let now = crate::cmd::now()?;
    store::block_on(async move {
        let store = Store::open(&url, &kek, Algorithm::default(), now)
            .await
            .context("opening the store")?;
        let result = departments(&store, args.command, now).await;
        store.close().await;
        result
    })
    .context("starting the async runtime")?
}

async fn departments(store: &Store, command: Command, now: Timestamp) -> anyhow::Result<()> {
    let operator = Scope::system();
    match command {
        Command::Add {
            name,
            feeds,
            purpose,
            region,
            rate,
            max_upload_mb,
        } => {
            let feeds = feeds
                .iter()
                .map(|f| {
                    exchange::Feed::parse(f.trim())
                        .map(|feed| feed.as_str().to_string())
                        .with_context(|| format!("{f:?} is not a feed of the exchange contract"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let (department, key) = store
                .add_department(
                    &operator,
                    &NewDepartment {
                        name,
                        feeds,
                        purpose,
                        region_prefix: region,
                        rate_per_minute: rate,
                        max_upload_bytes: max_upload_mb.saturating_mul(1 << 20),
                    },
                    now,
                )
                .await
                .context("adding the account")?;
            println!("added {}", line(&department));
            println!("API key (shown once; keep it secret): {key}");
        }
        Command::List => {
            println!("id\tname\tfeeds\tpurpose\tregion\trate/min\tmax bytes\tstate");
            for d in store
                .departments(&operator)
                .await
                .context("listing accounts")?
            {
                println!("{}", line(&d));
            }
        }
        Command::Disable { name } => {
            let d = store
                .set_department_disabled(&operator, &name, true, now)
                .await
                .with_context(|| format!("disabling {name}"))?;
            println!("disabled {}", line(&d));
        }
        Command::Enable { name } => {
            let d = store
                .set_department_disabled(&operator, &name, false, now)
                .await
                .with_context(|| format!("enabling {name}"))?;
            println!("enabled {}", line(&d));
        }
    }
    Ok(())
}

fn line(d: &Department) -> String {
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
        d.id,
        d.name,
        d.feeds.join(","),
        d.purpose.as_str(),
        if d.region_prefix.is_empty() {
            "*"
        } else {
            &d.region_prefix
        },
        d.rate_per_minute,
        d.max_upload_bytes,
        if d.disabled { "disabled" } else { "enabled" }
    )
}
