//! Integration tests of the policy crate: the default pack, its policy tests, broken packs,
//! edits without rebuilding, records to facts, and properties of the evaluator.

// Test helpers may unwrap: a failure is a failing test.
#![allow(clippy::unwrap_used)]

mod assess;
mod broken;
mod default_pack;
mod properties;
mod records;
