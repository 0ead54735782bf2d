//! `jiuzhu import`.

/// Arguments of `jiuzhu import`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `jiuzhu import`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`jiuzhu import` is not available in this build yet")
}
