//! Integration tests that run the `jiuzhu` binary as a user would.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly on purpose.

mod backup;
mod browser;
#[cfg(feature = "cluster")]
mod cluster;
mod demo;
mod import;
mod keys;
mod ledger;
mod link;
mod monitor;
mod policy;
mod synth;
mod tls;
mod users;
