//! `jiuzhu cluster scheduler|executor`: the two roles of an Apache DataFusion Ballista cluster,
//! from the same binary (a build with the `cluster` feature), for `jiuzhu monitor --cluster`.

use std::net::SocketAddr;
use std::path::PathBuf;

/// The roles.
#[derive(clap::Subcommand, Debug)]
#[cfg_attr(not(feature = "cluster"), allow(dead_code))]
pub enum Command {
    /// Run a scheduler: clients send it plans, it hands their tasks to executors.
    Scheduler {
        /// The address to listen on.
        #[arg(long, default_value = "127.0.0.1:50050")]
        listen: SocketAddr,
    },
    /// Run an executor: it registers with the scheduler and runs tasks on this machine. It
    /// reads the lake by the paths the client gives, so it must see the lake at the same path.
    Executor {
        /// The scheduler (HOST:PORT).
        #[arg(long, default_value = "127.0.0.1:50050")]
        scheduler: String,
        /// The address to bind.
        #[arg(long, default_value = "127.0.0.1")]
        bind: String,
        /// The Arrow Flight port (shuffle data between executors).
        #[arg(long, default_value_t = 50051)]
        port: u16,
        /// The gRPC port (tasks from the scheduler).
        #[arg(long, default_value_t = 50052)]
        grpc_port: u16,
        /// Task slots (default: every core).
        #[arg(long)]
        slots: Option<usize>,
        /// A folder for shuffle files (default: a temporary folder).
        #[arg(long)]
        work_dir: Option<PathBuf>,
    },
}

/// Runs a role until the process is stopped.
#[cfg(feature = "cluster")]
pub fn run(command: Command) -> anyhow::Result<()> {
    use anyhow::Context as _;
    use monitor::cluster::{ExecutorOptions, executor, scheduler};
    // Plans of a run are deep (a union per feed file, joins per feed): decoding and planning
    // them recurses further than Tokio's default 2 MiB worker stacks allow.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_stack_size(64 << 20)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match command {
        Command::Scheduler { listen } => {
            println!("scheduler listening on {listen}");
            runtime.block_on(scheduler(listen))?;
        }
        Command::Executor {
            scheduler,
            bind,
            port,
            grpc_port,
            slots,
            work_dir,
        } => {
            let (host, scheduler_port) = scheduler
                .rsplit_once(':')
                .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
                .context("--scheduler is HOST:PORT")?;
            println!("executor on {bind}:{port} serving the scheduler at {scheduler}");
            runtime.block_on(executor(ExecutorOptions {
                scheduler_host: host,
                scheduler_port,
                bind_host: bind,
                port,
                grpc_port,
                slots: slots
                    .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
                work_dir: work_dir.map(|d| d.display().to_string()),
            }))?;
        }
    }
    Ok(())
}

/// Without the `cluster` feature the roles are not built in.
#[cfg(not(feature = "cluster"))]
pub fn run(_command: Command) -> anyhow::Result<()> {
    anyhow::bail!(
        "this jiuzhu was built without the cluster roles: build it with \
         `cargo build --release -p cli --features cluster`"
    )
}
