//! Integration tests that run the `jiuzhu` binary as a user would.
mod link;
mod policy;
mod synth;
mod ledger;
mod import;
