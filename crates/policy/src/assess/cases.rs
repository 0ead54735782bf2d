//! Assessment test cases as data: one YAML file per case under `policy/assess/cases/`, each an
//! application and the results the reference (or the case's author) expects. [`run_dir`] runs a
//! folder of cases against the profiles beside it and reports every difference; `cargo test`
//! and `jiuzhu policy test` both use it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use domain::{Date, Fen};
use serde::Deserialize;

use super::application::Application;
use super::decision::{Assessment, CareLevel, Classification, Entitlement, Program};
use super::load::{self, LoadError};
use super::money::{as_yuan_opt, yuan};
use super::procedure::assess;
use super::profile::{ProfileError, Profiles, yaml_files};

/// One case file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Case id (e.g. `TC01`).
    pub id: String,
    /// What the case shows.
    pub title: String,
    /// Rules of reference §11.3 it exercises.
    #[serde(default)]
    pub rules: Vec<String>,
    /// Legal sources the expectation rests on.
    #[serde(default)]
    pub sources: Vec<String>,
    /// The application.
    pub application: Application,
    /// The expected results.
    pub expect: Expect,
}

/// Expected results; only what is written is checked.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Household classification.
    #[serde(default)]
    pub classification: Option<Classification>,
    /// Household monthly payment.
    #[serde(default, with = "as_yuan_opt")]
    pub payment: Option<Fen>,
    /// Gap part.
    #[serde(default, with = "as_yuan_opt")]
    pub base: Option<Fen>,
    /// Top-up part.
    #[serde(default, with = "as_yuan_opt")]
    pub topups: Option<Fen>,
    /// Household income of H′ after reductions.
    #[serde(default, with = "as_yuan_opt")]
    pub income: Option<Fen>,
    /// Reduction.
    #[serde(default, with = "as_yuan_opt")]
    pub reduction: Option<Fen>,
    /// Per-capita income.
    #[serde(default, with = "as_yuan_opt")]
    pub per_capita_income: Option<Fen>,
    /// Members of H′.
    #[serde(default)]
    pub members: Option<Vec<String>>,
    /// Months to the next review.
    #[serde(default)]
    pub next_review_months: Option<u32>,
    /// Next review date.
    #[serde(default)]
    pub next_review: Option<Date>,
    /// Validity end.
    #[serde(default)]
    pub valid_until: Option<Date>,
    /// Payment start.
    #[serde(default)]
    pub payment_start: Option<Date>,
    /// Taper month.
    #[serde(default)]
    pub taper_month: Option<u32>,
    /// Entitlements that must be among the household's.
    #[serde(default)]
    pub entitlements_include: Vec<Entitlement>,
    /// Per-member expectations.
    #[serde(default)]
    pub persons: BTreeMap<String, ExpectPerson>,
    /// Per-programme expectations.
    #[serde(default)]
    pub decisions: Vec<ExpectDecision>,
    /// Temporary-assistance amount (0 when refused).
    #[serde(default, with = "as_yuan_opt")]
    pub temporary_amount: Option<Fen>,
    /// Rule ids that must appear in the explanation.
    #[serde(default)]
    pub explained_rules: Vec<String>,
    /// The assessment must be refused as malformed (an error, not a decision).
    #[serde(default)]
    pub error: bool,
}

/// Expectations for one member.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectPerson {
    /// Classification.
    #[serde(default)]
    pub classification: Option<Classification>,
    /// Own payment (单人保).
    #[serde(default, with = "as_yuan_opt")]
    pub payment: Option<Fen>,
    /// Counted as a member.
    #[serde(default)]
    pub counted: Option<bool>,
    /// Countable income.
    #[serde(default, with = "as_yuan_opt")]
    pub income: Option<Fen>,
    /// Covered by the household payment.
    #[serde(default)]
    pub covered: Option<bool>,
    /// Is 特困.
    #[serde(default)]
    pub tekun: Option<bool>,
    /// 特困 basic part.
    #[serde(default, with = "as_yuan_opt")]
    pub tekun_basic: Option<Fen>,
    /// 特困 care part.
    #[serde(default, with = "as_yuan_opt")]
    pub tekun_care: Option<Fen>,
    /// 特困 total.
    #[serde(default, with = "as_yuan_opt")]
    pub tekun_total: Option<Fen>,
    /// Care level.
    #[serde(default)]
    pub care_level: Option<CareLevel>,
    /// 特困 rate.
    #[serde(default)]
    pub rate: Option<super::application::Area>,
}

/// Expectation for one programme decision.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectDecision {
    /// Programme.
    pub program: Program,
    /// `household` or a member label.
    #[serde(default = "household")]
    pub subject: String,
    /// Eligible.
    pub eligible: bool,
    /// Reasons that must be among the decision's.
    #[serde(default)]
    pub reasons_include: Vec<String>,
}

fn household() -> String {
    "household".into()
}

/// The outcome of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseOutcome {
    /// Case id.
    pub id: String,
    /// File.
    pub file: String,
    /// Differences (empty = passed).
    pub failures: Vec<String>,
}

/// The outcome of a folder of cases.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseReport {
    /// Per case, in file order.
    pub cases: Vec<CaseOutcome>,
    /// Rule ids that appeared in some explanation.
    pub rules_exercised: BTreeSet<String>,
    /// Programme decisions seen eligible and not eligible: (program, eligible).
    pub outcomes_seen: BTreeSet<(String, bool)>,
}

impl CaseReport {
    /// Number of passed cases.
    pub fn passed(&self) -> usize {
        self.cases.iter().filter(|c| c.failures.is_empty()).count()
    }

    /// Number of failed cases.
    pub fn failed(&self) -> usize {
        self.cases.len() - self.passed()
    }

    /// A plain-text listing, one line per case, then the summary line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for c in &self.cases {
            if c.failures.is_empty() {
                out.push_str(&format!("ok     {} ({})\n", c.id, c.file));
            } else {
                out.push_str(&format!("FAILED {} ({})\n", c.id, c.file));
                for f in &c.failures {
                    out.push_str(&format!("         {f}\n"));
                }
            }
        }
        out.push_str(&format!(
            "rules exercised: {}\n",
            self.rules_exercised
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(" ")
        ));
        out.push_str(&format!(
            "{} passed, {} failed\n",
            self.passed(),
            self.failed()
        ));
        out
    }
}

/// Why a folder of cases could not be run at all.
#[derive(Debug, thiserror::Error)]
pub enum CasesError {
    /// The profiles could not be loaded.
    #[error(transparent)]
    Profiles(#[from] ProfileError),
    /// A case file is malformed.
    #[error(transparent)]
    Load(#[from] LoadError),
}

/// Runs the cases of `root/cases` against the profiles of `root/profiles` (e.g.
/// `policy/assess`).
pub fn run_dir(root: &Path) -> Result<CaseReport, CasesError> {
    let profiles = Profiles::from_dir(&root.join("profiles"))?;
    run_cases(&root.join("cases"), &profiles)
}

/// Runs every case file under `dir` against `profiles`.
pub fn run_cases(dir: &Path, profiles: &Profiles) -> Result<CaseReport, CasesError> {
    let mut report = CaseReport::default();
    for file in yaml_files(dir)? {
        let name = file.display().to_string();
        let text = std::fs::read_to_string(&file).map_err(|e| ProfileError::Read {
            file: name.clone(),
            message: e.to_string(),
        })?;
        let case: Case = load::from_yaml_str(&text, &name)?;
        let failures = match assess(&case.application, profiles) {
            Ok(a) => {
                for s in &a.explanation.steps {
                    report.rules_exercised.insert(s.rule.clone());
                }
                for d in &a.decisions {
                    report
                        .outcomes_seen
                        .insert((format!("{:?}", d.program), d.eligible));
                }
                compare(&case.expect, &a)
            }
            Err(e) if case.expect.error => {
                let _ = e;
                Vec::new()
            }
            Err(e) => vec![format!("assessment refused: {e}")],
        };
        report.cases.push(CaseOutcome {
            id: case.id,
            file: name,
            failures,
        });
    }
    Ok(report)
}

fn check<T: PartialEq + std::fmt::Debug>(
    out: &mut Vec<String>,
    what: &str,
    want: &Option<T>,
    got: &T,
) {
    if let Some(w) = want
        && w != got
    {
        out.push(format!("{what}: expected {w:?}, got {got:?}"));
    }
}

fn check_money(out: &mut Vec<String>, what: &str, want: Option<Fen>, got: Fen) {
    if let Some(w) = want
        && w != got
    {
        out.push(format!("{what}: expected {}, got {}", yuan(w), yuan(got)));
    }
}

/// The differences between an expectation and an assessment.
pub fn compare(e: &Expect, a: &Assessment) -> Vec<String> {
    let mut out = Vec::new();
    if e.error {
        out.push("expected the application to be refused".into());
    }
    let h = &a.household;
    check(
        &mut out,
        "classification",
        &e.classification,
        &h.classification,
    );
    check_money(&mut out, "payment", e.payment, h.payment);
    check_money(&mut out, "base", e.base, h.base);
    check_money(&mut out, "topups", e.topups, h.topups);
    check_money(&mut out, "income", e.income, h.income);
    check_money(&mut out, "reduction", e.reduction, h.reduction);
    check_money(
        &mut out,
        "per_capita_income",
        e.per_capita_income,
        h.per_capita_income,
    );
    check(&mut out, "members", &e.members, &h.members);
    check(
        &mut out,
        "next_review_months",
        &e.next_review_months.map(Some),
        &h.next_review_months,
    );
    check(
        &mut out,
        "next_review",
        &e.next_review.map(Some),
        &h.next_review,
    );
    check(
        &mut out,
        "valid_until",
        &e.valid_until.map(Some),
        &h.valid_until,
    );
    check(
        &mut out,
        "payment_start",
        &e.payment_start.map(Some),
        &h.payment_start,
    );
    check(
        &mut out,
        "taper_month",
        &e.taper_month.map(Some),
        &h.taper_month,
    );
    for ent in &e.entitlements_include {
        if !h.entitlements.contains(ent) {
            out.push(format!("entitlements: {ent:?} missing"));
        }
    }
    for (id, ep) in &e.persons {
        let Some(p) = a.person(id) else {
            out.push(format!("{id}: no such member"));
            continue;
        };
        check(
            &mut out,
            &format!("{id}.classification"),
            &ep.classification,
            &p.classification,
        );
        check_money(&mut out, &format!("{id}.payment"), ep.payment, p.payment);
        check(&mut out, &format!("{id}.counted"), &ep.counted, &p.counted);
        check_money(&mut out, &format!("{id}.income"), ep.income, p.income);
        check(&mut out, &format!("{id}.covered"), &ep.covered, &p.covered);
        check(
            &mut out,
            &format!("{id}.tekun"),
            &ep.tekun,
            &p.tekun.is_some(),
        );
        if let Some(t) = &p.tekun {
            check_money(
                &mut out,
                &format!("{id}.tekun_basic"),
                ep.tekun_basic,
                t.basic,
            );
            check_money(&mut out, &format!("{id}.tekun_care"), ep.tekun_care, t.care);
            check_money(
                &mut out,
                &format!("{id}.tekun_total"),
                ep.tekun_total,
                t.total,
            );
            check(
                &mut out,
                &format!("{id}.care_level"),
                &ep.care_level,
                &t.care_level,
            );
            check(&mut out, &format!("{id}.rate"), &ep.rate, &t.rate);
        } else if ep.tekun_total.is_some() || ep.care_level.is_some() {
            out.push(format!("{id}: expected 特困 support, got none"));
        }
    }
    for ed in &e.decisions {
        match a.decision(ed.program, &ed.subject) {
            None => out.push(format!("no {:?} decision for {}", ed.program, ed.subject)),
            Some(d) => {
                if d.eligible != ed.eligible {
                    out.push(format!(
                        "{:?} for {}: expected eligible={}, got {} ({})",
                        ed.program,
                        ed.subject,
                        ed.eligible,
                        d.eligible,
                        d.reasons.join(",")
                    ));
                }
                for r in &ed.reasons_include {
                    if !d.reasons.contains(r) {
                        out.push(format!(
                            "{:?} for {}: reason {r} missing (got {})",
                            ed.program,
                            ed.subject,
                            d.reasons.join(",")
                        ));
                    }
                }
            }
        }
    }
    if let Some(want) = e.temporary_amount {
        let got = a
            .decision(Program::Temporary, "household")
            .map_or(Fen(0), |d| d.amount);
        check_money(&mut out, "temporary_amount", Some(want), got);
    }
    for rule in &e.explained_rules {
        if !a.explanation.steps.iter().any(|s| &s.rule == rule) {
            out.push(format!("explanation lacks rule {rule}"));
        }
    }
    out
}
