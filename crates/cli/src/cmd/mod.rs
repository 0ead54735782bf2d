//! One module per subcommand; each owns its arguments and calls into the library crates.

pub mod import;
pub mod lake;
pub mod ledger;
pub mod link;
pub mod policy;
pub mod synth;
