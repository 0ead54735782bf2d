//! Screening on an Apache DataFusion Ballista cluster (the `cluster` feature).
//!
//! The plans of a run — record linkage's candidate reads, the registry checks, and the
//! screening ([`crate::plan`]: the facts of every person, each household's persons gathered,
//! and the pack evaluated on each household by [`crate::plan::FUNCTION`]) — are DataFusion
//! plans over the Parquet lake. The pack's function is the project's own, so the scheduler
//! and the executors are this binary's two roles, which register it: stock Ballista
//! executors would not know it. The executors read the lake by path: every executor must see
//! the lake at the same path as the client (one machine, a shared file system), or the lake
//! must live in an object store they all reach. The client receives each household's result
//! rows, and writes the same files as a local run.

use std::net::SocketAddr;
use std::sync::Arc;

use ballista::prelude::{SessionConfigExt as _, SessionContextExt as _};
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::registry::FunctionRegistry as _;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::MonitorError;

fn cluster_error(e: impl std::fmt::Display) -> MonitorError {
    MonitorError::Runtime(format!("cluster: {e}"))
}

/// A session whose plans run on the cluster whose scheduler is at `url` (`df://HOST:PORT`).
pub(crate) async fn client(url: &str, partitions: usize) -> Result<SessionContext, MonitorError> {
    let config = crate::configured(SessionConfig::new_with_ballista(), partitions);
    let mut state = SessionStateBuilder::new()
        .with_config(config)
        .with_default_features()
        .build();
    state
        .register_udf(Arc::new(crate::plan::udf()))
        .map_err(cluster_error)?;
    SessionContext::remote_with_state(url, state)
        .await
        .map_err(cluster_error)
}

/// Runs a scheduler on `listen` until the process ends.
pub async fn scheduler(listen: SocketAddr) -> Result<(), MonitorError> {
    use ballista_scheduler::cluster::BallistaCluster;
    use ballista_scheduler::config::SchedulerConfig;
    let config = SchedulerConfig {
        bind_host: listen.ip().to_string(),
        external_host: listen.ip().to_string(),
        bind_port: listen.port(),
        // the plans it receives call the pack's function
        override_session_builder: Some(Arc::new(|config| {
            let mut state = ballista_core::utils::default_session_builder(config)?;
            state.register_udf(Arc::new(crate::plan::udf()))?;
            Ok(state)
        })),
        ..SchedulerConfig::default()
    };
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .map_err(cluster_error)?;
    ballista_scheduler::scheduler_process::start_server(cluster, listen, Arc::new(config))
        .await
        .map_err(cluster_error)
}

/// Where an executor listens and which scheduler it serves.
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler's host.
    pub scheduler_host: String,
    /// The scheduler's port.
    pub scheduler_port: u16,
    /// The address the executor binds.
    pub bind_host: String,
    /// Its Arrow Flight port (shuffle data).
    pub port: u16,
    /// Its gRPC port (tasks).
    pub grpc_port: u16,
    /// Task slots it offers.
    pub slots: usize,
    /// A folder for its shuffle files.
    pub work_dir: Option<String>,
}

/// Runs an executor until the process ends.
pub async fn executor(options: ExecutorOptions) -> Result<(), MonitorError> {
    use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
    // DataFusion's functions and the pack's, which the screening plan calls
    let mut registry = ballista_core::registry::BallistaFunctionRegistry::default();
    let udf = crate::plan::udf();
    registry
        .scalar_functions
        .insert(udf.name().to_string(), Arc::new(udf));
    let config = ExecutorProcessConfig {
        bind_host: options.bind_host.clone(),
        external_host: Some(options.bind_host),
        port: options.port,
        grpc_port: options.grpc_port,
        scheduler_host: options.scheduler_host,
        scheduler_port: options.scheduler_port,
        scheduler_connect_timeout_seconds: 30,
        vcores: options.slots.max(1),
        work_dir: options.work_dir,
        executor_heartbeat_interval_seconds: 5,
        override_function_registry: Some(Arc::new(registry)),
        ..ExecutorProcessConfig::default()
    };
    start_executor_process(Arc::new(config))
        .await
        .map_err(cluster_error)
}
