//! One module per subcommand; each owns its arguments and calls into the library crates.

pub mod backup;
pub mod demo;
pub mod departments;
pub mod import;
pub mod keys;
pub mod lake;
pub mod ledger;
pub mod link;
pub mod monitor;
pub mod policy;
pub mod serve;
pub mod simulate;
pub mod synth;
pub mod users;
