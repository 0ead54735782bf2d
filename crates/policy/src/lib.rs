//! Screening policy as data: the policy pack (parameters by region and date, rules, anomaly
//! reasons, signals, tags, package catalogue), its checker, and a pure evaluator that decides
//! tiers, amounts, anomalies, signals, tags and packages for one household with an explanation
//! for every result.

pub mod explain;

pub use explain::{Explanation, Step};
