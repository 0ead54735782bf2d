//! `jiuzhu link`.

/// Arguments of `jiuzhu link`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `jiuzhu link`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`jiuzhu link` is not available in this build yet")
}
