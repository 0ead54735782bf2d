//! `jiuzhu ledger`.

/// The subcommands of `jiuzhu ledger`.
#[derive(clap::Subcommand, Debug)]
pub enum Command {}

/// Runs `jiuzhu ledger`.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {}
}
