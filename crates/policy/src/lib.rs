//! Screening policy as data: the policy pack (parameters by region and date, rules, anomaly
//! reasons, signals, tags, package catalogue), its checker, and a pure evaluator that decides
//! tiers, amounts, anomalies, signals, tags and packages for one household with an explanation
//! for every result.
//!
//! - [`pack`] — loading a folder of YAML files, checking it (every problem with file and line).
//! - [`expr`] — the expression language and its public AST (what the batch monitor compiles).
//! - [`facts`] — the base facts of a person at an as-of date.
//! - [`records`] — deriving base facts from feed records (policy.md §2, §9).
//! - [`eval`] — the one-household evaluator.
//! - [`cases`] — policy tests as data, with coverage.
//! - [`explain`] — explanations.

pub mod assess;
pub mod cases;
pub mod check;
pub mod eval;
pub mod explain;
pub mod expr;
pub mod facts;
pub mod pack;
pub mod records;
pub mod yaml;

pub use eval::{Evaluation, HouseholdInput, Options, Outcome, evaluate};
pub use explain::{Explanation, Step};
pub use facts::PersonFacts;
pub use pack::{Pack, PackError, Problem};
