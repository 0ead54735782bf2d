//! `jiuzhu lake`.

/// The subcommands of `jiuzhu lake`.
#[derive(clap::Subcommand, Debug)]
pub enum Command {}

/// Runs `jiuzhu lake`.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {}
}
