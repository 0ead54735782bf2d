//! Web tests through the router, against a real SQLite store in a temporary folder: sign-in,
//! the task queue, handling a task, and region scoping. Synthetic data only.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

mod access;
mod audit;
mod dashboards;
mod exchange;
mod fixtures;
mod workbench;
