//! `jiuzhu keys`: rotation of the field-encryption key while the platform keeps serving.
//!
//! `rotate` adds a new field key (stored wrapped under the key-encryption key, which comes from
//! `--key-file` or `JIUZHU_KEY` and never enters the database) and re-seals every personal
//! field in batches. Each batch commits together with the position it reached, so the command
//! can be stopped or killed at any moment and run again: it resumes the rotation under way.
//! Readers (a running `jiuzhu serve`) keep working throughout: older keys stay readable, and a
//! server meeting a value sealed by the new key reads the keys again. `status` shows how many
//! values each key seals.

use super::now;
use crate::cmd::users::{StoreArgs, database_url, read_kek};
use anyhow::{Context as _, bail};
use store::privacy::Algorithm;
use store::{Scope, Store};

/// Arguments of `jiuzhu keys`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The store.
    #[command(flatten)]
    pub store: StoreArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands of `jiuzhu keys`.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Add a new field key and re-seal every personal field with it (resumes a rotation that
    /// was interrupted).
    Rotate {
        /// Values re-sealed per transaction.
        #[arg(long, default_value_t = 500)]
        batch: u64,
        /// Pause between batches, in milliseconds, to leave the database to its other users.
        #[arg(long, default_value_t = 0)]
        pause_ms: u64,
        /// The new key's algorithm: sm4-gcm or aes-256-gcm.
        #[arg(long, default_value = "sm4-gcm", value_parser = parse_algorithm)]
        algorithm: Algorithm,
    },
    /// How many sealed values each key seals, per column, and the rotation under way.
    Status,
}

fn parse_algorithm(text: &str) -> Result<Algorithm, String> {
    Algorithm::parse(text).ok_or_else(|| "expected sm4-gcm or aes-256-gcm".to_string())
}

/// Runs `jiuzhu keys`.
pub fn run(args: Args) -> anyhow::Result<()> {
    let kek = read_kek(&args.store)?;
    let url = database_url(&args.store)?;
    store::block_on(async move {
        let store = Store::open(&url, &kek, Algorithm::default(), now()?)
            .await
            .context("opening the store")?;
        let result = keys(&store, args.command).await;
        store.close().await;
        result
    })
    .context("starting the async runtime")?
}

async fn keys(store: &Store, command: Command) -> anyhow::Result<()> {
    let operator = Scope::system();
    match command {
        Command::Rotate {
            batch,
            pause_ms,
            algorithm,
        } => {
            if batch == 0 {
                bail!("--batch must be at least 1");
            }
            let started = store
                .start_key_rotation(&operator, algorithm, now()?)
                .await
                .context("starting the rotation")?;
            println!(
                "{} the rotation to field key {}",
                if started.resumed {
                    "resuming"
                } else {
                    "starting"
                },
                started.key_id
            );
            loop {
                let progress = store
                    .continue_key_rotation(&operator, batch, now()?)
                    .await
                    .context("re-sealing a batch")?;
                println!(
                    "resealed {} values; at {}",
                    progress.resealed, progress.stage
                );
                if progress.finished {
                    println!(
                        "done: every personal field is sealed by key {}",
                        progress.key_id
                    );
                    break;
                }
                if pause_ms > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(pause_ms)).await;
                }
            }
        }
        Command::Status => {
            println!("table\tcolumn\tkey\tvalues");
            for c in store
                .sealed_key_counts(&operator)
                .await
                .context("counting sealed values")?
            {
                println!("{}\t{}\t{}\t{}", c.table, c.column, c.key_id, c.values);
            }
        }
    }
    Ok(())
}
