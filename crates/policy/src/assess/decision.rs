//! What an assessment decides: a classification and amount for the household and for each
//! person who is assessed on their own, a decision (eligible or not, with reason codes) per
//! programme, the review and payment dates, the entitlements that follow, and the explanation.
//! "Not eligible" is a value here, never an error.

use std::fmt;

use domain::{Date, Fen};
use serde::Serialize;

use super::application::Area;
use super::money::{as_yuan, as_yuan_opt};
use crate::explain::Explanation;

/// A classification (reference §11.4 output).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Classification {
    /// 特困.
    Tekun,
    /// 低保.
    Dibao,
    /// 单人保 (a person).
    DibaoSingle,
    /// 低保边缘.
    Marginal,
    /// Beijing 低收入家庭.
    LowIncome,
    /// 刚性支出困难.
    RigidExpense,
    /// 渐退 after a job start.
    Taper,
    /// The orphan / unsupported-child allowance was chosen.
    OrphanAllowance,
    /// Not a member of the household (composition).
    NotCounted,
    /// None of the above.
    None,
}

impl Classification {
    /// Canonical name.
    pub fn as_str(self) -> &'static str {
        match self {
            Classification::Tekun => "tekun",
            Classification::Dibao => "dibao",
            Classification::DibaoSingle => "dibao_single",
            Classification::Marginal => "marginal",
            Classification::LowIncome => "low_income",
            Classification::RigidExpense => "rigid_expense",
            Classification::Taper => "taper",
            Classification::OrphanAllowance => "orphan_allowance",
            Classification::NotCounted => "not_counted",
            Classification::None => "none",
        }
    }

    /// Chinese name.
    pub fn zh(self) -> &'static str {
        match self {
            Classification::Tekun => "特困",
            Classification::Dibao => "低保",
            Classification::DibaoSingle => "单人保",
            Classification::Marginal => "低保边缘",
            Classification::LowIncome => "低收入家庭",
            Classification::RigidExpense => "刚性支出困难",
            Classification::Taper => "渐退",
            Classification::OrphanAllowance => "孤儿基本生活费",
            Classification::NotCounted => "不计入家庭成员",
            Classification::None => "不符合",
        }
    }
}

impl fmt::Display for Classification {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Self-care level (S3 §20-23).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CareLevel {
    /// 具备生活自理能力 (no activity failed).
    SelfCare,
    /// 部分丧失 (1-3 activities).
    Partial,
    /// 完全丧失 (4 or more).
    Full,
}

/// Programmes decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Program {
    /// 特困, per person.
    Tekun,
    /// Orphan allowance, per person.
    OrphanAllowance,
    /// 低保, household.
    Dibao,
    /// 渐退, household.
    Taper,
    /// 单人保, per person.
    DibaoSingle,
    /// 低保边缘 (or Beijing 低收入), household.
    Marginal,
    /// 刚性支出困难, household.
    RigidExpense,
    /// 临时救助, household.
    Temporary,
}

/// Special assistance a classification opens (R15).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Entitlement {
    /// Basic medical insurance premium subsidy.
    PremiumSubsidy,
    /// 医疗救助.
    Medical,
    /// 教育救助.
    Education,
    /// 住房救助.
    Housing,
    /// 就业救助.
    Employment,
    /// 受灾人员救助.
    Disaster,
    /// Heating subsidy.
    Heating,
    /// Funeral fee waiver.
    Funeral,
    /// Care services.
    Care,
    /// 临时救助 (open to anyone).
    Temporary,
}

/// 特困 support of one person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TekunSupport {
    /// Basic living part.
    #[serde(with = "as_yuan")]
    pub basic: Fen,
    /// Self-care level.
    pub care_level: CareLevel,
    /// Care part.
    #[serde(with = "as_yuan")]
    pub care: Fen,
    /// Basic + care.
    #[serde(with = "as_yuan")]
    pub total: Fen,
    /// Urban or rural rate (S3 §19).
    pub rate: Area,
}

/// The decision on one programme for the household or one person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProgramDecision {
    /// The programme.
    pub program: Program,
    /// `household`, or the member label.
    pub subject: String,
    /// Eligible.
    pub eligible: bool,
    /// Why not (reason codes), or why (route) when eligible.
    pub reasons: Vec<String>,
    /// Monthly amount when eligible.
    #[serde(with = "as_yuan")]
    pub amount: Fen,
}

/// The result for one member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PersonDecision {
    /// Member label.
    pub member: String,
    /// Counted as a household member (R1).
    pub counted: bool,
    /// The person's own classification (tekun, dibao_single, orphan_allowance, not_counted)
    /// or the household's.
    pub classification: Classification,
    /// Monthly cash paid to the person on their own (单人保), zero otherwise.
    #[serde(with = "as_yuan")]
    pub payment: Fen,
    /// 特困 support, when tekun.
    pub tekun: Option<TekunSupport>,
    /// Countable monthly income of the person (R2).
    #[serde(with = "as_yuan")]
    pub income: Fen,
    /// Covered by the household payment (not excluded for job refusals).
    pub covered: bool,
    /// Entitlements.
    pub entitlements: Vec<Entitlement>,
}

/// The result for the household (H′ = counted members who are not 特困 or orphans).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HouseholdDecision {
    /// Classification.
    pub classification: Classification,
    /// Members of H′.
    pub members: Vec<String>,
    /// Countable monthly income of H′ after local reductions.
    #[serde(with = "as_yuan")]
    pub income: Fen,
    /// Reduction (核减) applied.
    #[serde(with = "as_yuan")]
    pub reduction: Fen,
    /// Per-capita income of H′, rounded half up to the fen.
    #[serde(with = "as_yuan")]
    pub per_capita_income: Fen,
    /// Monthly household cash (低保 gap + top-ups, 低收入 child share, or taper).
    #[serde(with = "as_yuan")]
    pub payment: Fen,
    /// Gap part of the payment.
    #[serde(with = "as_yuan")]
    pub base: Fen,
    /// Top-up part.
    #[serde(with = "as_yuan")]
    pub topups: Fen,
    /// First day of payment (the month after the decision).
    pub payment_start: Option<Date>,
    /// Months to the next review.
    pub next_review_months: Option<u32>,
    /// Date of the next review.
    pub next_review: Option<Date>,
    /// End of validity (刚性, 渐退).
    pub valid_until: Option<Date>,
    /// Taper month (1-based) when classification is taper.
    pub taper_month: Option<u32>,
    /// Previous payment the taper is a share of.
    #[serde(with = "as_yuan_opt")]
    pub taper_of: Option<Fen>,
    /// Entitlements.
    pub entitlements: Vec<Entitlement>,
}

/// The whole result of an assessment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assessment {
    /// Profile used.
    pub profile: String,
    /// As-of (decision) date.
    pub as_of: Date,
    /// Urban or rural rate of the household.
    pub area: Area,
    /// 低保 standard applied.
    #[serde(with = "as_yuan")]
    pub standard: Fen,
    /// Household result.
    pub household: HouseholdDecision,
    /// Per-member results, in application order.
    pub persons: Vec<PersonDecision>,
    /// Per-programme decisions.
    pub decisions: Vec<ProgramDecision>,
    /// Why.
    pub explanation: Explanation,
}

impl Assessment {
    /// The result for a member label.
    pub fn person(&self, member: &str) -> Option<&PersonDecision> {
        self.persons.iter().find(|p| p.member == member)
    }

    /// A plain-text account for a caseworker: the decisions, then every step with its rule,
    /// source, facts and parameters, in Chinese and English.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let h = &self.household;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "{} ({}) as of {}: household {} / {} — payment {} yuan a month",
            self.profile,
            match self.area {
                Area::Urban => "urban",
                Area::Rural => "rural",
            },
            self.as_of,
            h.classification.zh(),
            h.classification,
            super::money::yuan(h.payment)
        );
        for p in &self.persons {
            if p.classification != h.classification || p.tekun.is_some() || p.payment.0 > 0 {
                let _ = writeln!(
                    out,
                    "  {}: {} / {}{}",
                    p.member,
                    p.classification.zh(),
                    p.classification,
                    match (&p.tekun, p.payment.0) {
                        (Some(t), _) => format!(" — 特困 {} yuan", super::money::yuan(t.total)),
                        (None, x) if x > 0 => format!(" — {} yuan", super::money::yuan(p.payment)),
                        _ => String::new(),
                    }
                );
            }
        }
        for d in &self.decisions {
            let _ = writeln!(
                out,
                "  {:?} [{}]: {} {}",
                d.program,
                d.subject,
                if d.eligible {
                    "eligible"
                } else {
                    "not eligible"
                },
                d.reasons.join(", ")
            );
        }
        for s in &self.explanation.steps {
            let _ = writeln!(
                out,
                "[{}] {} {} {}",
                s.rule,
                s.source,
                if s.holds { "✓" } else { "✗" },
                s.result
            );
            let _ = writeln!(out, "    {}", s.text_zh);
            let _ = writeln!(out, "    {}", s.text_en);
            let show = |kv: &[(String, String)]| {
                kv.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            if !s.facts.is_empty() {
                let _ = writeln!(out, "    facts: {}", show(&s.facts));
            }
            if !s.params.is_empty() {
                let _ = writeln!(out, "    params: {}", show(&s.params));
            }
        }
        out
    }

    /// The decision on a programme for a subject (`household` or a member label).
    pub fn decision(&self, program: Program, subject: &str) -> Option<&ProgramDecision> {
        self.decisions
            .iter()
            .find(|d| d.program == program && d.subject == subject)
    }
}
