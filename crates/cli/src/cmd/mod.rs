//! One module per subcommand; each owns its arguments and calls into the library crates.

pub mod backup;
pub mod cluster;
pub mod demo;
pub mod departments;
pub mod import;
pub mod keys;
pub mod lake;
pub mod ledger;
pub mod link;
pub mod load;
pub mod monitor;
pub mod policy;
pub mod serve;
pub mod simulate;
pub mod synth;
pub mod users;

/// The current time, for the store (the binary is the only place that reads the clock).
pub fn now() -> anyhow::Result<store::Timestamp> {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| anyhow::anyhow!("the system clock is before 1970"))?;
    match i64::try_from(since.as_secs()) {
        Ok(s) => Ok(store::Timestamp(s)),
        Err(_) => anyhow::bail!("the system clock is out of range"),
    }
}
