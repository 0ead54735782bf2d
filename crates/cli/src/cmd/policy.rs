//! `jiuzhu policy`.

/// The subcommands of `jiuzhu policy`.
#[derive(clap::Subcommand, Debug)]
pub enum Command {}

/// Runs `jiuzhu policy`.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {}
}
