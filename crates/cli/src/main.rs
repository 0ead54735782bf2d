//! `jiuzhu`: the one binary of the platform. It parses arguments, reads configuration and the
//! clock, shows progress, and calls the library crates; it holds no business rules.

mod cmd;
mod progress;
mod tls;

use clap::{Parser, Subcommand};

/// mimalloc instead of the system allocator: screening, linkage and import allocate many small
/// strings and vectors from several threads, where glibc's allocator took a sixth of a
/// screening run's time (docs/benchmarks.md). Built without transparent huge pages (the
/// `no_thp` feature): with them a fault in a freed and reused region clears two megabytes, and
/// a screening run spent twice the system time clearing memory.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// jiuzhu (救助): dynamic monitoring of the low-income population and tiered social assistance.
#[derive(Parser, Debug)]
#[command(name = "jiuzhu", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Generate a synthetic city (region 99, 示范市) as an exchange batch.
    Synth(cmd::synth::Args),
    /// Import a batch folder of department extracts into the lake.
    Import(cmd::import::Args),
    /// Inspect the lake.
    #[command(subcommand)]
    Lake(cmd::lake::Command),
    /// Check, test and explain policy packs.
    #[command(subcommand)]
    Policy(cmd::policy::Command),
    /// Record linkage: link unlinked rows to persons, evaluate on labelled data.
    Link(cmd::link::Args),
    /// The tamper-evident audit ledger.
    #[command(subcommand)]
    Ledger(cmd::ledger::Command),
    /// Manage users: add, list, disable, enable.
    Users(cmd::users::Args),
    /// Rotate the field-encryption key online, resumably; show what each key seals.
    Keys(cmd::keys::Args),
    /// Department accounts of the exchange API: add (prints the API key), list, disable.
    Departments(cmd::departments::Args),
    /// Copy the database, the ledger and the lake into a new folder while serving.
    Backup(cmd::backup::BackupArgs),
    /// Check a backup against its manifest and rebuild an installation from it.
    Restore(cmd::backup::RestoreArgs),
    /// Serve the web application.
    Serve(cmd::serve::Args),
    /// Screen every household of the lake at an as-of date.
    Monitor(cmd::monitor::Args),
    /// Compare a reformed policy pack with the baseline (what-if).
    Simulate(cmd::simulate::Args),
    /// Run a role of an Apache DataFusion Ballista cluster for `monitor --cluster`.
    #[command(subcommand)]
    Cluster(cmd::cluster::Command),
    /// The whole platform on a synthetic city: generate, import, screen, load and serve.
    Demo(cmd::demo::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Synth(args) => cmd::synth::run(args),
        Command::Import(args) => cmd::import::run(args),
        Command::Lake(command) => cmd::lake::run(command),
        Command::Policy(command) => cmd::policy::run(command),
        Command::Link(args) => cmd::link::run(args),
        Command::Ledger(command) => cmd::ledger::run(command),
        Command::Users(args) => cmd::users::run(args),
        Command::Keys(args) => cmd::keys::run(args),
        Command::Departments(args) => cmd::departments::run(args),
        Command::Backup(args) => cmd::backup::backup(args),
        Command::Restore(args) => cmd::backup::restore(args),
        Command::Serve(args) => cmd::serve::run(args),
        Command::Monitor(args) => cmd::monitor::run(args),
        Command::Simulate(args) => cmd::simulate::run(args),
        Command::Cluster(command) => cmd::cluster::run(command),
        Command::Demo(args) => cmd::demo::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
