//! Integration tests of the policy crate: the default pack, its policy tests, broken packs,
//! edits without rebuilding, records to facts, and properties of the evaluator.

mod assess;
mod broken;
mod default_pack;
