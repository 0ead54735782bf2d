//! Explanations: why a result was decided — which rule of the pack, its legal source, and the
//! fact and parameter values that decided it, in Chinese and English.

use serde::{Deserialize, Serialize};

/// The reasons behind one result (a tier, an amount, an anomaly, a signal, …), in the order
/// they were decided.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Explanation {
    /// The decisive steps.
    pub steps: Vec<Step>,
}

/// One decisive step: a rule of the pack applied to facts and parameters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// What was decided, e.g. `tier`, `tekun`, `anomaly:wrong_inclusion`.
    pub result: String,
    /// The rule id in the pack.
    pub rule: String,
    /// The legal source or article of the rule.
    pub source: String,
    /// Whether the rule's condition held.
    pub holds: bool,
    /// Fact name → value as shown (money as yuan text).
    pub facts: Vec<(String, String)>,
    /// Parameter name → value as shown.
    pub params: Vec<(String, String)>,
    /// The step in Chinese.
    pub text_zh: String,
    /// The step in English.
    pub text_en: String,
}

impl Explanation {
    /// Appends a step.
    pub fn push(&mut self, step: Step) {
        self.steps.push(step);
    }
}
