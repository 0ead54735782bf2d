//! `jiuzhu synth`.

/// Arguments of `jiuzhu synth`.
#[derive(clap::Args, Debug)]
pub struct Args {}

/// Runs `jiuzhu synth`.
pub fn run(_args: Args) -> anyhow::Result<()> {
    anyhow::bail!("`jiuzhu synth` is not available in this build yet")
}
