//! The assessment procedure of reference §11.3-11.4, in order: composition (R1), income (R2),
//! assets (R3), 特困 person by person (R4), 低保 for the rest of the household (R5), 渐退 (R11),
//! 单人保 (R6), 低保边缘 / 低收入 (R7), 刚性支出困难 (R8), payment (R10), job refusals (R13),
//! review dates (R12) and entitlements (R15). Every number comes from the profile; every step
//! is written to the explanation with its article, facts and parameters.
//!
//! Money is integer fen; per-capita comparisons multiply instead of dividing, and a fraction
//! of a fen is rounded half up once.

use domain::{Date, Fen, RegionCode};

use super::application::{
    Application, ApplicationError, Area, DisabilityKind, Employment, HardshipKind, Kin, Member,
    StudyLevel, Supporter, WorkCapacity,
};
use super::decision::{
    Assessment, CareLevel, Classification, Entitlement, HouseholdDecision, PersonDecision, Program,
    ProgramDecision, TekunSupport,
};
use super::money::{Ratio, yuan};
use super::profile::{
    Exclusion, ExtraNoWork, IncomeBasis, MarginalVariant, Params, Profile, Profiles, Rounding,
    SingleCondition, SinglePayment, SupportImputation, TopUpGroup, VehicleExemption,
};
use crate::explain::{Explanation, Step};

/// Assesses an application against the profile it names. A malformed application or an
/// unknown profile/region is an error; every eligibility outcome is an `Ok`.
pub fn assess(app: &Application, profiles: &Profiles) -> Result<Assessment, ApplicationError> {
    let profile = profiles
        .get(&app.profile)
        .ok_or_else(|| ApplicationError::UnknownProfile(app.profile.clone()))?;
    assess_with(app, profile)
}

/// Assesses an application against a given profile.
pub fn assess_with(app: &Application, profile: &Profile) -> Result<Assessment, ApplicationError> {
    app.validate()?;
    if app.as_of < profile.effective_from {
        return Err(ApplicationError::NotInForce(profile.effective_from));
    }
    let (standard, region) = match &app.region {
        Some(text) => {
            let code =
                RegionCode::parse(text).map_err(|_| ApplicationError::Region(text.clone()))?;
            let s = profile
                .standard(code)
                .ok_or_else(|| ApplicationError::Region(text.clone()))?;
            (s, Some(code))
        }
        None => (
            profile
                .regions
                .first()
                .ok_or_else(|| ApplicationError::Region(String::new()))?,
            None,
        ),
    };
    let area = app.area.unwrap_or(match region {
        Some(code) if code.is_rural() => Area::Rural,
        _ => Area::Urban,
    });
    let std_of = |a: Area| match a {
        Area::Urban => standard.urban,
        Area::Rural => standard.rural,
    };
    let mut run = Run {
        app,
        p: &profile.params,
        std: std_of(area),
        std_urban: standard.urban,
        std_rural: standard.rural,
        area,
        expl: Explanation::default(),
        decisions: Vec::new(),
    };
    Ok(run.go(profile))
}

struct Run<'a> {
    app: &'a Application,
    p: &'a Params,
    std: Fen,
    std_urban: Fen,
    std_rural: Fen,
    area: Area,
    expl: Explanation,
    decisions: Vec<ProgramDecision>,
}

/// One member with the facts the procedure derives once.
struct Facts<'a> {
    m: &'a Member,
    age: u32,
    counted: bool,
    income: Fen,
    tekun_income: Fen,
    exempt_support: Fen,
}

#[allow(clippy::too_many_arguments)] // the eight fields of a Step, named at each call
fn step(
    result: &str,
    rule: &str,
    source: &str,
    holds: bool,
    facts: Vec<(String, String)>,
    params: Vec<(String, String)>,
    zh: String,
    en: String,
) -> Step {
    Step {
        result: result.to_owned(),
        rule: rule.to_owned(),
        source: source.to_owned(),
        holds,
        facts,
        params,
        text_zh: zh,
        text_en: en,
    }
}

fn kv(k: &str, v: impl ToString) -> (String, String) {
    (k.to_owned(), v.to_string())
}

fn add(a: Fen, b: Fen) -> Fen {
    Fen(a.0.saturating_add(b.0))
}

fn sub(a: Fen, b: Fen) -> Fen {
    Fen(a.0.saturating_sub(b.0))
}

fn times(a: Fen, n: usize) -> i128 {
    i128::from(a.0) * n as i128
}

/// `amount < limit` (or `≤` when the profile is not strict).
fn below(strict: bool, amount: i128, limit: i128) -> bool {
    if strict {
        amount < limit
    } else {
        amount <= limit
    }
}

/// Kinship of member `b` to member `a`, from their relations to the applicant.
fn kin_between(a: Kin, b: Kin) -> Kin {
    use Kin::*;
    match (a, b) {
        (Applicant, x) => x,
        (x, Applicant) => match x {
            Spouse => Spouse,
            Child => Parent,
            Parent => Child,
            Grandparent => Grandchild,
            Grandchild => Grandparent,
            Sibling => Sibling,
            _ => Other,
        },
        (Spouse, Child) => Child,
        (Child, Spouse) => Parent,
        (Parent, Child) => Grandchild,
        (Child, Parent) => Grandparent,
        (Child, Child) => Sibling,
        (Parent, Sibling) => Child,
        (Sibling, Parent) => Parent,
        (Parent, Parent) => Spouse,
        (Sibling, Sibling) => Sibling,
        _ => Other,
    }
}

/// A potential obligor of a person, inside or outside the household.
struct Obligor {
    kin: Kin,
    age: u32,
    label: String,
    own_income: Fen,
    is_tekun: bool,
    is_dibao: bool,
    severe: bool,
    absent: bool,
    assets_ok: bool,
    raised_by: bool,
}

impl Run<'_> {
    fn go(&mut self, profile: &Profile) -> Assessment {
        let app = self.app;
        self.expl.push(step(
            "standard",
            "P0",
            &profile
                .regions
                .first()
                .map(|r| r.source.clone())
                .unwrap_or_default(),
            true,
            vec![kv("area", format!("{:?}", self.area).to_lowercase())],
            vec![
                kv("profile", &profile.id),
                kv("dibao_std", yuan(self.std)),
                kv("dibao_std_urban", yuan(self.std_urban)),
                kv("dibao_std_rural", yuan(self.std_rural)),
            ],
            format!(
                "适用参数 {}，低保标准 {} 元/人·月",
                profile.id,
                yuan(self.std)
            ),
            format!(
                "Profile {}: the 低保 standard is {} yuan per person per month",
                profile.id,
                yuan(self.std)
            ),
        ));

        // R1 composition, R2 income.
        let ages: Vec<(&Member, u32)> = app
            .members
            .iter()
            .map(|m| (m, app.age_of(m).unwrap_or(0)))
            .collect();
        let counted_flags = self.composition(&ages);
        let mut facts: Vec<Facts> = Vec::new();
        for (k, &(m, age)) in ages.iter().enumerate() {
            let counted = counted_flags[k];
            let (income, tekun_income, exempt_support) = self.income(m);
            facts.push(Facts {
                m,
                age,
                counted,
                income,
                tekun_income,
                exempt_support,
            });
        }
        let counted: Vec<usize> = (0..facts.len()).filter(|&i| facts[i].counted).collect();

        // Beijing: an obligor household that is fully able (S9 §十二).
        let fully_able = self.supporter_fully_able(&facts);

        // R4 特困 and orphan election.
        let mut person_class: Vec<Classification> = facts
            .iter()
            .map(|f| {
                if f.counted {
                    Classification::None
                } else {
                    Classification::NotCounted
                }
            })
            .collect();
        let mut tekun_support: Vec<Option<TekunSupport>> = vec![None; facts.len()];
        for &i in &counted {
            let (class, support) = self.tekun(i, &facts, &counted);
            person_class[i] = class;
            tekun_support[i] = support;
        }
        let h: Vec<usize> = counted
            .iter()
            .copied()
            .filter(|&i| person_class[i] == Classification::None)
            .collect();

        // Household income of H′ and reductions (S2 §13; S9 §九).
        let gross: Fen = h.iter().fold(Fen(0), |a, &i| add(a, facts[i].income));
        let reduction = self.reduction(&facts, &h);
        let income = Fen((gross.0 - reduction.0).max(0));
        let n = h.len();
        let pc = if n == 0 {
            Fen(0)
        } else {
            income.mul_ratio(1, n as i64)
        };
        if n > 0 {
            self.expl.push(step(
                "household_income",
                "R2",
                "S2 §13",
                true,
                vec![
                    kv("members", h.iter().map(|&i| facts[i].m.id.as_str()).collect::<Vec<_>>().join(",")),
                    kv("countable_income", yuan(gross)),
                    kv("reduction", yuan(reduction)),
                    kv("income_after_reduction", yuan(income)),
                    kv("per_capita_income", yuan(pc)),
                ],
                vec![],
                format!("家庭（{n}人）月可计收入 {} 元，核减 {} 元，人均 {} 元", yuan(gross), yuan(reduction), yuan(pc)),
                format!("Household of {n}: countable income {} yuan a month, reduction {}, per capita {}", yuan(gross), yuan(reduction), yuan(pc)),
            ));
        }

        let mut household = HouseholdDecision {
            classification: Classification::None,
            members: h.iter().map(|&i| facts[i].m.id.clone()).collect(),
            income,
            reduction,
            per_capita_income: pc,
            payment: Fen(0),
            base: Fen(0),
            topups: Fen(0),
            payment_start: None,
            next_review_months: None,
            next_review: None,
            valid_until: None,
            taper_month: None,
            taper_of: None,
            entitlements: Vec::new(),
        };
        let mut single_pay: Vec<Fen> = vec![Fen(0); facts.len()];
        let mut covered: Vec<bool> = vec![false; facts.len()];

        if h.is_empty() {
            household.classification = if counted
                .iter()
                .any(|&i| person_class[i] == Classification::Tekun)
            {
                Classification::Tekun
            } else {
                Classification::OrphanAllowance
            };
            self.decisions.push(ProgramDecision {
                program: Program::Dibao,
                subject: "household".into(),
                eligible: false,
                reasons: vec!["no_remaining_members".into()],
                amount: Fen(0),
            });
        } else {
            // R5 低保.
            let dibao_reasons = self.dibao_test(&facts, &h, income, fully_able);
            let dibao = dibao_reasons.is_empty();
            if dibao {
                household.classification = Classification::Dibao;
                let (base, topups, cov) = self.payment(&facts, &h, income);
                for &i in &h {
                    covered[i] = cov.contains(&i);
                }
                let total = self.round(add(base, topups));
                let total = if total.0 > 0 && total < self.p.min_payment.value {
                    self.p.min_payment.value
                } else {
                    total
                };
                household.base = base;
                household.topups = topups;
                household.payment = total;
            }
            self.decisions.push(ProgramDecision {
                program: Program::Dibao,
                subject: "household".into(),
                eligible: dibao,
                reasons: dibao_reasons,
                amount: household.payment,
            });

            // R11 渐退.
            if !dibao && let Some((k, pay, until)) = self.taper(&facts, &h) {
                household.classification = Classification::Taper;
                household.payment = pay;
                household.taper_month = Some(k);
                household.taper_of = app.current.as_ref().map(|c| c.previous_payment);
                household.valid_until = Some(until);
            }

            // R7 边缘 / 低收入 (needed by 单人保 route A).
            // 低保边缘 presupposes "not 低保" (S2 §8): not assessed for a 低保 household.
            let (marginal_class, marginal_reasons) = if dibao {
                (Classification::Marginal, vec!["dibao".to_owned()])
            } else {
                self.marginal_test(&facts, &h, income, fully_able)
            };
            let marginal = marginal_reasons.is_empty();
            if !dibao {
                self.decisions.push(ProgramDecision {
                    program: Program::Marginal,
                    subject: "household".into(),
                    eligible: marginal,
                    reasons: marginal_reasons,
                    amount: Fen(0),
                });
            }
            if !dibao && marginal && household.classification == Classification::None {
                household.classification = marginal_class;
                if marginal_class == Classification::LowIncome
                    && let Some(rate) = &self.p.low_income_child_rate
                {
                    let share = rate.value.of(self.std);
                    let children = h
                        .iter()
                        .filter(|&&i| facts[i].age <= 16 || student_up_to_bachelor(facts[i].m))
                        .count();
                    household.payment = self.round(Fen(share.0.saturating_mul(children as i64)));
                }
            }

            // R6 单人保.
            if !dibao {
                for &i in &h {
                    if let Some(pay) = self.single(i, &facts, &h, marginal) {
                        person_class[i] = Classification::DibaoSingle;
                        single_pay[i] = pay;
                    }
                }
            }

            // R8 刚性.
            if !dibao
                && !marginal
                && household.classification == Classification::None
                && self.rigid_test(&facts, &h, income)
            {
                {
                    household.classification = Classification::RigidExpense;
                    household.valid_until = Some(
                        app.as_of
                            .add_months(self.p.rigid_validity_months.value as i32),
                    );
                }
            }
        }

        // R14 temporary assistance, independent of the tier.
        self.temporary(&facts, &counted, &household, &person_class);

        // R12 reviews and payment start.
        self.review(&facts, &h, &person_class, &mut household);

        // R15 entitlements.
        household.entitlements = entitlements(household.classification);
        let persons: Vec<PersonDecision> = facts
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let class = match person_class[i] {
                    Classification::None => household.classification,
                    c => c,
                };
                PersonDecision {
                    member: f.m.id.clone(),
                    counted: f.counted,
                    classification: class,
                    payment: single_pay[i],
                    tekun: tekun_support[i].clone(),
                    income: f.income,
                    covered: covered[i],
                    entitlements: if f.counted {
                        entitlements(class)
                    } else {
                        Vec::new()
                    },
                }
            })
            .collect();
        self.expl.push(step(
            "classification",
            "R11.4",
            "S2 §12; S3 §4; S12 §28",
            true,
            vec![
                kv("household", household.classification),
                kv("payment", yuan(household.payment)),
            ],
            vec![],
            format!(
                "家庭认定：{}，月发放 {} 元",
                household.classification.zh(),
                yuan(household.payment)
            ),
            format!(
                "Household classified {}; monthly payment {} yuan",
                household.classification,
                yuan(household.payment)
            ),
        ));
        Assessment {
            profile: profile.id.clone(),
            as_of: app.as_of,
            area: self.area,
            standard: self.std,
            household,
            persons,
            decisions: std::mem::take(&mut self.decisions),
            explanation: std::mem::take(&mut self.expl),
        }
    }

    /// R1: who counts as a household member (S2 §7; S27 arts. 1067, 1074, 1075; Beijing S9 §二
    /// also excludes conscripts). The core — applicant, spouse, minor children, adult children
    /// who cannot live independently or study full-time up to bachelor level — is always
    /// counted; anyone else who lives with the family long-term is counted when a legal duty
    /// links them to a counted member (parents and children, grandparents and grandchildren,
    /// siblings when one of them is a minor).
    fn composition(&mut self, members: &[(&Member, u32)]) -> Vec<bool> {
        let excluded: Vec<Option<&'static str>> = members
            .iter()
            .map(|(m, _)| {
                if m.religious_staff_away_years >= 3 {
                    Some("religious_staff_away")
                } else if m.in_prison {
                    Some("in_prison")
                } else if m.compulsory_detox {
                    Some("compulsory_detox")
                } else if m.declared_missing {
                    Some("declared_missing")
                } else if m.conscript && self.p.extra_excluded.value.contains(&Exclusion::Conscript)
                {
                    Some("conscript")
                } else {
                    None
                }
            })
            .collect();
        let mut basis: Vec<Option<String>> = members
            .iter()
            .zip(&excluded)
            .map(|((m, age), ex)| {
                let core = match m.relation {
                    Kin::Applicant | Kin::Spouse => true,
                    Kin::Child => {
                        *age < 18
                            || !m.can_live_independently
                            || m.fulltime_student_level
                                .is_some_and(|l| l <= StudyLevel::Bachelor)
                    }
                    _ => false,
                };
                (ex.is_none() && core).then(|| "core".to_owned())
            })
            .collect();
        loop {
            let mut changed = false;
            for (i, (m, age)) in members.iter().enumerate() {
                if basis[i].is_some()
                    || excluded[i].is_some()
                    || !(m.co_resident && m.long_term_coresident)
                {
                    continue;
                }
                let link = members.iter().enumerate().find(|(j, (other, other_age))| {
                    basis[*j].is_some()
                        && match kin_between(m.relation, other.relation) {
                            Kin::Spouse | Kin::Parent | Kin::Child => true,
                            Kin::Grandparent | Kin::Grandchild => true,
                            Kin::Sibling => *age < 18 || *other_age < 18,
                            _ => false,
                        }
                });
                if let Some((_, (other, _))) = link {
                    basis[i] = Some(format!("duty_with:{}", other.id));
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        let mut out = Vec::with_capacity(members.len());
        for (i, (m, age)) in members.iter().enumerate() {
            let included = basis[i].is_some();
            let why = match (&basis[i], excluded[i]) {
                (Some(b), _) => b.clone(),
                (None, Some(e)) => e.to_owned(),
                (None, None) => "no_duty_or_not_coresident".to_owned(),
            };
            self.expl.push(step(
                &format!("member:{}", m.id),
                "R1",
                "S2 §7",
                included,
                vec![
                    kv("relation", format!("{:?}", m.relation).to_lowercase()),
                    kv("age", age),
                    kv("co_resident", m.co_resident),
                    kv("basis", &why),
                ],
                vec![],
                format!(
                    "{} {}计入共同生活的家庭成员（{}）",
                    m.id,
                    if included { "" } else { "不" },
                    why
                ),
                format!(
                    "{} is {}counted as a household member ({})",
                    m.id,
                    if included { "" } else { "not " },
                    why
                ),
            ));
            out.push(included);
        }
        out
    }

    /// R2: countable monthly income of one member (S2 §13), the 特困 variant (S3 §7) and the
    /// support from siblings or persons aged 60+ (exempt for 单人保 route B, S6 §一(一)).
    fn income(&mut self, m: &Member) -> (Fen, Fen, Fen) {
        let p = self.p;
        let i = &m.income;
        let wage = add(
            Fen(i
                .wage_gross
                .0
                .saturating_sub(i.income_tax.0)
                .saturating_sub(i.personal_social_insurance.0)
                .max(0)),
            i.wage_net,
        );
        let kind = m.employment.unwrap_or(if m.employed == Some(false) {
            Employment::None
        } else if wage.0 > 0 {
            Employment::Employee
        } else if i.business_net.0 > 0 {
            Employment::Flexible
        } else {
            Employment::None
        });
        let deduction = p.employment_deduction.value.of(self.std);
        // Employment reward / employment cost (S2 §13; S7 §二.11; Beijing S9 §九).
        let earned = match kind {
            Employment::None => add(wage, i.business_net),
            Employment::Employee => add(Fen((wage.0 - deduction.0).max(0)), i.business_net),
            Employment::Flexible => {
                let e = add(wage, i.business_net);
                let band = &p.flexible_std_band.value;
                if band.len() == 2 {
                    let lo = band[0].of(self.std);
                    let hi = band[1].of(self.std);
                    if e >= hi {
                        Fen((e.0 - deduction.0).max(0))
                    } else if e >= lo {
                        self.std
                    } else {
                        e
                    }
                } else {
                    Fen((e.0 - deduction.0).max(0))
                }
            }
        };
        let exempt_base = std::cmp::min(
            i.resident_pension_central_base,
            p.exempt_central_basic_pension.value,
        );
        let pension = add(
            i.pension_employee,
            Fen((i.resident_pension_total.0 - exempt_base.0).max(0)),
        );
        let (support, exempt_support) = self.support_for(m);
        let mut transfers = [
            pension,
            i.unemployment_benefit,
            i.survivor_benefit,
            i.support_received,
            i.compensation,
            i.donations,
            support,
        ]
        .iter()
        .fold(Fen(0), |a, b| add(a, *b));
        transfers = sub(transfers, i.support_paid_out);
        let mut total = [earned, i.property_net, transfers, i.other]
            .iter()
            .fold(Fen(0), |a, b| add(a, *b));
        if !p.exempt_disability_two_subsidies.value {
            total = add(total, i.disability_two_subsidies);
        }
        let tekun_income = Fen(total.0.max(0));
        if !p.exempt_old_age_allowance.value {
            total = add(total, i.old_age_allowance);
        }
        let total = Fen(total.0.max(0));
        let exempt = [
            i.youfu,
            i.family_planning_awards,
            i.scholarship,
            i.bravery_award,
            i.social_assistance_cash,
        ]
        .iter()
        .fold(Fen(0), |a, b| add(a, *b));
        self.expl.push(step(
            &format!("income:{}", m.id),
            "R2",
            "S2 §13",
            true,
            vec![
                kv("earned_after_deduction", yuan(earned)),
                kv("property", yuan(i.property_net)),
                kv("transfers", yuan(transfers)),
                kv("support_from_supporters", yuan(support)),
                kv("exempt_not_counted", yuan(exempt)),
                kv("countable", yuan(total)),
            ],
            vec![
                kv("employment_deduction", yuan(deduction)),
                kv(
                    "exempt_central_basic_pension",
                    yuan(p.exempt_central_basic_pension.value),
                ),
            ],
            format!(
                "{} 月可计收入 {} 元（优抚、奖学金、救助金等 {} 元不计）",
                m.id,
                yuan(total),
                yuan(exempt)
            ),
            format!(
                "{}: countable income {} yuan a month ({} exempt: 优抚, scholarships, assistance)",
                m.id,
                yuan(total),
                yuan(exempt)
            ),
        ));
        (total, tekun_income, exempt_support)
    }

    /// Support counted for a member from supporters outside the household, and the part of it
    /// paid by siblings or persons aged 60+.
    fn support_for(&mut self, m: &Member) -> (Fen, Fen) {
        let mut total = Fen(0);
        let mut exempt = Fen(0);
        for s in &self.app.supporters {
            if !self.supports(s, m) {
                continue;
            }
            let amount = self.support_amount(s, m);
            total = add(total, amount);
            if s.relation == Kin::Sibling || s.age >= 60 {
                exempt = add(exempt, amount);
            }
        }
        (total, exempt)
    }

    fn supports(&self, s: &Supporter, m: &Member) -> bool {
        match &s.supports {
            Some(id) => *id == m.id,
            None => m.relation == Kin::Applicant,
        }
    }

    /// Maintenance from one supporter (S2 §13; Beijing formula S9 §十二(一)3).
    fn support_amount(&mut self, s: &Supporter, m: &Member) -> Fen {
        let p = self.p;
        let duty = matches!(
            s.relation,
            Kin::Spouse | Kin::Parent | Kin::Child | Kin::Grandparent | Kin::Grandchild
        );
        if p.support_imputation.value == SupportImputation::Actual
            || !duty
            || s.is_tekun
            || s.is_dibao
            || s.is_low_income
        {
            return s.support_paid;
        }
        let (Some(lm), Some(share)) = (&p.support_living_multiple, &p.support_share) else {
            return s.support_paid;
        };
        let owed = match (s.support_agreed, s.household_income, s.household_size) {
            (Some(agreed), _, _) => agreed,
            (None, Some(hh), Some(size)) => {
                let households = i128::from(s.households_to_support.unwrap_or(1).max(1));
                let (lm, share) = (lm.value, share.value);
                // (income − lm × std × size) × share ÷ households, rounded half up once.
                let num = (i128::from(hh.0) * i128::from(lm.den)
                    - i128::from(lm.num) * i128::from(self.std.0) * i128::from(size))
                    * i128::from(share.num);
                let den = i128::from(lm.den) * i128::from(share.den) * households;
                let v = if num <= 0 {
                    0
                } else {
                    (2 * num + den) / (2 * den)
                };
                Fen(i64::try_from(v).unwrap_or(i64::MAX))
            }
            _ => Fen(0),
        };
        let amount = std::cmp::max(owed, s.support_paid);
        self.expl.push(step(
            &format!("support:{}", m.id),
            "R2.support",
            "S9 §十二(一)3",
            true,
            vec![
                kv("supporter_relation", format!("{:?}", s.relation).to_lowercase()),
                kv("supporter_household_income", s.household_income.map(yuan).unwrap_or_default()),
                kv("supporter_household_size", s.household_size.unwrap_or(0)),
                kv("households_to_support", s.households_to_support.unwrap_or(1)),
                kv("agreed", s.support_agreed.map(yuan).unwrap_or_default()),
                kv("paid", yuan(s.support_paid)),
                kv("imputed", yuan(amount)),
            ],
            vec![
                kv("support_living_multiple", lm.value),
                kv("support_share", share.value),
                kv("dibao_std", yuan(self.std)),
            ],
            format!("赡养费 = (义务人家庭月收入 − {} × 标准 × 人数) × {} ÷ 赡养户数 = {} 元", lm.value, share.value, yuan(amount)),
            format!("Maintenance = (obligor household income − {} × std × size) × {} ÷ households = {} yuan", lm.value, share.value, yuan(amount)),
        ));
        amount
    }

    /// Beijing: an obligor household with two or more homes (unless small) or property per
    /// capita above 3 × consumption, and no ill or disabled member, is fully able (S9 §十二).
    fn supporter_fully_able(&mut self, facts: &[Facts]) -> bool {
        if !self.p.supporter_full_ability_test.value {
            return false;
        }
        let mut any = false;
        for s in &self.app.supporters {
            let supported_counted = facts.iter().any(|f| f.counted && self.supports(s, f.m));
            let duty = matches!(s.relation, Kin::Spouse | Kin::Parent | Kin::Child);
            let rich = (s.homes_count >= 2 && !s.homes_area_pc_below_average)
                || s.property_pc_above_3x_consumption;
            let unable_status = s.is_tekun || s.is_dibao || s.is_low_income;
            if supported_counted && duty && rich && !s.has_ill_or_disabled_member && !unable_status
            {
                any = true;
                self.expl.push(step(
                    "supporter_fully_able",
                    "R2.obligor",
                    "S9 §十二",
                    true,
                    vec![
                        kv(
                            "supporter_relation",
                            format!("{:?}", s.relation).to_lowercase(),
                        ),
                        kv("homes_count", s.homes_count),
                        kv(
                            "property_pc_above_3x_consumption",
                            s.property_pc_above_3x_consumption,
                        ),
                    ],
                    vec![],
                    "赡养义务人家庭有完全赡养能力，申请家庭不符合条件".into(),
                    "An obligor household is fully able to support: the household does not qualify"
                        .into(),
                ));
            }
        }
        any
    }

    /// The obligors of member `i` (S3 §8; S27 arts. 1067, 1074, 1075).
    fn obligors(&self, i: usize, facts: &[Facts]) -> Vec<Obligor> {
        let x = facts[i].m;
        let mut out: Vec<Obligor> = Vec::new();
        let low_income_money = Fen(self
            .std
            .0
            .saturating_mul(i64::from(self.p.money_months.value.marginal)));
        for (j, f) in facts.iter().enumerate() {
            if j == i {
                continue;
            }
            let kin = kin_between(x.relation, f.m.relation);
            out.push(Obligor {
                kin,
                age: f.age,
                label: f.m.id.clone(),
                own_income: f.income,
                is_tekun: false,
                is_dibao: false,
                severe: f.m.disability.is_some_and(|d| d.severe()),
                absent: f.m.in_prison || f.m.declared_missing,
                assets_ok: f.m.assets.money() <= low_income_money,
                raised_by: false,
            });
        }
        for (k, s) in self.app.supporters.iter().enumerate() {
            if !self.supports(s, x) {
                continue;
            }
            out.push(Obligor {
                kin: s.relation,
                age: s.age,
                label: format!("supporter{}", k + 1),
                own_income: s.own_income,
                is_tekun: s.is_tekun,
                is_dibao: s.is_dibao,
                severe: s.disability.is_some_and(|d| d.severe()),
                absent: s.no_civil_capacity || s.declared_missing || s.in_prison,
                assets_ok: s.assets_low_income_ok,
                raised_by: s.raised_by_supported,
            });
        }
        // Grandparents and grandchildren owe support only when the middle generation is dead
        // or unable (art. 1074); siblings only under art. 1075.
        let able = |o: &Obligor| !self.unable(o);
        let primary_able = out
            .iter()
            .any(|o| matches!(o.kin, Kin::Spouse | Kin::Parent | Kin::Child) && able(o));
        let parents_able = out.iter().any(|o| o.kin == Kin::Parent && able(o));
        let x_age = facts[i].age;
        let x_no_means = self.no_work(x, x_age)
            && below(
                true,
                i128::from(facts[i].tekun_income.0),
                i128::from(self.std.0),
            );
        out.into_iter()
            .filter(|o| match o.kin {
                Kin::Spouse | Kin::Parent | Kin::Child => true,
                Kin::Grandparent | Kin::Grandchild => !primary_able,
                Kin::Sibling => (x_age < 18 && !parents_able) || (o.raised_by && x_no_means),
                _ => false,
            })
            .collect()
    }

    /// An obligor who cannot perform the duty (S3 §8).
    fn unable(&self, o: &Obligor) -> bool {
        let poor = o.own_income < self.p.prev_year_pc_disposable.value && o.assets_ok;
        o.age < 18
            || o.is_tekun
            || (o.is_dibao && o.age >= 60)
            || (o.age >= 70 && poor)
            || (o.severe && poor)
            || (o.absent && o.assets_ok)
    }

    /// 无劳动能力 (S3 §5, with the profile's additions).
    fn no_work(&self, m: &Member, age: u32) -> bool {
        let extra = &self.p.tekun_extra_no_work.value;
        let by_disability = m.disability.is_some_and(|d| match d.kind {
            DisabilityKind::Intellectual | DisabilityKind::Mental => d.grade <= 3,
            DisabilityKind::Physical => d.grade <= 2,
            DisabilityKind::Visual => {
                d.grade == 1 || (d.grade == 2 && extra.contains(&ExtraNoWork::VisualGrade2))
            }
            _ => false,
        });
        let by_assessment = extra.contains(&ExtraNoWork::WorkCapacityLoss)
            && matches!(
                m.work_capacity_assessment,
                Some(WorkCapacity::MajorLoss | WorkCapacity::TotalLoss)
            );
        // A minor already supported continues to 18, and beyond while at school (S3, note to §24).
        let continuation = m.current_tekun
            && (age < 18
                || matches!(
                    m.fulltime_student_level,
                    Some(StudyLevel::Compulsory | StudyLevel::HighSchool | StudyLevel::Vocational)
                ));
        !(16..60).contains(&age) || by_disability || by_assessment || continuation
    }

    /// R4: 特困 for one counted member (S3 §4-9, §19-23).
    fn tekun(
        &mut self,
        i: usize,
        facts: &[Facts],
        counted: &[usize],
    ) -> (Classification, Option<TekunSupport>) {
        let f = &facts[i];
        let m = f.m;
        if m.orphan_or_unsupported_child && m.elects_orphan_allowance {
            self.decisions.push(ProgramDecision {
                program: Program::Tekun,
                subject: m.id.clone(),
                eligible: false,
                reasons: vec!["orphan_allowance_elected".into()],
                amount: Fen(0),
            });
            self.decisions.push(ProgramDecision {
                program: Program::OrphanAllowance,
                subject: m.id.clone(),
                eligible: true,
                reasons: vec!["elected".into()],
                amount: Fen(0),
            });
            self.expl.push(step(
                &format!("tekun:{}", m.id),
                "R4.orphan",
                "S3 §9",
                false,
                vec![
                    kv("orphan_or_unsupported_child", true),
                    kv("elects_orphan_allowance", true),
                ],
                vec![],
                format!(
                    "{} 选择孤儿（事实无人抚养儿童）基本生活费，不认定为特困人员",
                    m.id
                ),
                format!(
                    "{} chose the orphan allowance and is not supported as 特困",
                    m.id
                ),
            ));
            return (Classification::OrphanAllowance, None);
        }
        let p = self.p;
        let rate = if m.contracted_land || m.collective_share {
            Area::Rural
        } else if m.relocated_to_town {
            Area::Urban
        } else {
            self.area
        };
        let std = match rate {
            Area::Urban => self.std_urban,
            Area::Rural => self.std_rural,
        };
        let mut reasons = Vec::new();
        let no_work = self.no_work(m, f.age);
        if !no_work {
            reasons.push("work_capacity".to_owned());
        }
        let (income_ok, income_shown) = match p.tekun_income_basis.value {
            IncomeBasis::Person => (
                below(true, i128::from(f.tekun_income.0), i128::from(std.0)),
                f.tekun_income,
            ),
            IncomeBasis::HouseholdPerCapita => {
                let total: i64 = counted
                    .iter()
                    .fold(0i64, |a, &j| a.saturating_add(facts[j].tekun_income.0));
                let n = counted.len().max(1);
                (
                    below(true, i128::from(total), times(std, n)),
                    Fen(total).mul_ratio(1, n as i64),
                )
            }
        };
        if !income_ok {
            reasons.push("income_not_below_standard".to_owned());
        }
        let group: Vec<usize> = match p.tekun_income_basis.value {
            IncomeBasis::Person => vec![i],
            IncomeBasis::HouseholdPerCapita => counted.to_vec(),
        };
        let asset_reasons = self.assets(
            facts,
            &group,
            Level::Tekun,
            p.tekun_income_basis.value == IncomeBasis::HouseholdPerCapita,
        );
        reasons.extend(asset_reasons);
        let obligors = self.obligors(i, facts);
        let able: Vec<String> = obligors
            .iter()
            .filter(|o| !self.unable(o))
            .map(|o| o.label.clone())
            .collect();
        if !able.is_empty() {
            reasons.push("able_obligor".to_owned());
        }
        let eligible = reasons.is_empty();
        let care_level = match m.adl_failures {
            0 => CareLevel::SelfCare,
            1..=3 => CareLevel::Partial,
            _ => CareLevel::Full,
        };
        let share = match care_level {
            CareLevel::SelfCare => p.tekun_care_share.value.self_care,
            CareLevel::Partial => p.tekun_care_share.value.partial,
            CareLevel::Full => p.tekun_care_share.value.full,
        };
        let basic = p.tekun_basic_multiple.value.of(std);
        let care = share.of(p.min_wage.value);
        let support = TekunSupport {
            basic,
            care_level,
            care,
            total: add(basic, care),
            rate,
        };
        // Only persons who could be 特困 (no work capacity) get a decision row; others are
        // simply not elderly, disabled or minor.
        if no_work || m.current_tekun {
            self.decisions.push(ProgramDecision {
                program: Program::Tekun,
                subject: m.id.clone(),
                eligible,
                reasons: reasons.clone(),
                amount: if eligible { support.total } else { Fen(0) },
            });
            self.expl.push(step(
                &format!("tekun:{}", m.id),
                "R4",
                "S3 §4-8",
                eligible,
                vec![
                    kv("age", f.age),
                    kv("no_work_capacity", no_work),
                    kv("tekun_income", yuan(income_shown)),
                    kv(
                        "obligors",
                        obligors
                            .iter()
                            .map(|o| format!("{}:{:?}", o.label, o.kin).to_lowercase())
                            .collect::<Vec<_>>()
                            .join(","),
                    ),
                    kv("able_obligors", able.join(",")),
                    kv("adl_failures", m.adl_failures),
                ],
                vec![
                    kv("dibao_std", yuan(std)),
                    kv("tekun_basic_multiple", p.tekun_basic_multiple.value),
                    kv("min_wage", yuan(p.min_wage.value)),
                    kv("tekun_care_share", share),
                ],
                if eligible {
                    format!(
                        "{} 认定为特困人员：基本生活 {} 元 + 照料护理 {} 元 = {} 元",
                        m.id,
                        yuan(basic),
                        yuan(care),
                        yuan(support.total)
                    )
                } else {
                    format!("{} 不符合特困条件：{}", m.id, reasons_zh(&reasons))
                },
                if eligible {
                    format!(
                        "{} is 特困: basic {} + care {} = {} yuan a month",
                        m.id,
                        yuan(basic),
                        yuan(care),
                        yuan(support.total)
                    )
                } else {
                    format!("{} is not 特困: {}", m.id, reasons.join(", "))
                },
            ));
        }
        if eligible {
            (Classification::Tekun, Some(support))
        } else {
            (Classification::None, None)
        }
    }

    /// R3: the asset test for a group of members at a level (S2 §14; S14 §二(四); S28 §17).
    /// `household_items` includes buildings and vehicles without an owner.
    fn assets(
        &mut self,
        facts: &[Facts],
        group: &[usize],
        level: Level,
        household_items: bool,
    ) -> Vec<String> {
        let p = self.p;
        let app = self.app;
        let n = group.len().max(1);
        let owned_by_group = |owner: &Option<String>| match owner {
            Some(id) => group.iter().any(|&i| facts[i].m.id == *id),
            None => household_items,
        };
        let mut reasons = Vec::new();
        let money: i128 = group
            .iter()
            .map(|&i| i128::from(facts[i].m.assets.money().0))
            .sum();
        let months = match level {
            Level::Dibao => p.money_months.value.dibao,
            Level::Marginal => p.money_months.value.marginal,
            Level::Rigid => p.money_months.value.rigid,
            Level::Tekun => p.money_months.value.tekun,
        };
        let limit = times(self.std, n) * i128::from(months);
        if money > limit {
            reasons.push("money_assets".to_owned());
        }
        let exempt = &p.vehicle_exempt.value;
        if app
            .vehicles
            .iter()
            .filter(|v| owned_by_group(&v.owner))
            .any(|v| {
                !((v.disability_compensatory
                    && exempt.contains(&VehicleExemption::DisabilityCompensatory))
                    || (v.production_tool && exempt.contains(&VehicleExemption::ProductionTool)))
            })
        {
            reasons.push("vehicle".to_owned());
        }
        if p.large_farm_machinery_fails.value && app.large_farm_machinery && household_items {
            reasons.push("large_farm_machinery".to_owned());
        }
        let homes: Vec<_> = app
            .housing
            .iter()
            .filter(|h| owned_by_group(&h.owner) && h.residential)
            .collect();
        let area: i128 = homes.iter().map(|h| i128::from(h.floor_area_m2)).sum();
        if homes.len() >= 2 && area >= i128::from(p.avg_area_pc.value) * n as i128 {
            reasons.push("housing".to_owned());
        }
        if app
            .housing
            .iter()
            .any(|h| owned_by_group(&h.owner) && !h.residential && !h.is_sole_residence)
        {
            reasons.push("non_residential_property".to_owned());
        }
        let level_name = level.name();
        self.expl.push(step(
            &format!("assets:{level_name}"),
            "R3",
            "S2 §14; S14 §二(四)",
            reasons.is_empty(),
            vec![
                kv("persons", n),
                kv(
                    "money_assets",
                    yuan(Fen(i64::try_from(money).unwrap_or(i64::MAX))),
                ),
                kv("homes", homes.len()),
                kv("home_area_m2", area),
                kv(
                    "vehicles",
                    app.vehicles
                        .iter()
                        .filter(|v| owned_by_group(&v.owner))
                        .count(),
                ),
                kv("failed", reasons.join(",")),
            ],
            vec![
                kv(&format!("money_months.{level_name}"), months),
                kv("dibao_std", yuan(self.std)),
                kv("avg_area_pc", p.avg_area_pc.value),
            ],
            format!(
                "财产状况（{level_name}标准）{}",
                if reasons.is_empty() {
                    "符合规定".to_owned()
                } else {
                    format!("不符合：{}", reasons_zh(&reasons))
                }
            ),
            format!(
                "Assets at the {level_name} level {}",
                if reasons.is_empty() {
                    "pass".to_owned()
                } else {
                    format!("fail: {}", reasons.join(", "))
                }
            ),
        ));
        reasons
    }

    /// R5: 低保 for H′ (S1 §9; S2 §12-14).
    fn dibao_test(
        &mut self,
        facts: &[Facts],
        h: &[usize],
        income: Fen,
        fully_able: bool,
    ) -> Vec<String> {
        let strict = self.p.strict_below.value;
        let n = h.len();
        let mut reasons = Vec::new();
        let income_ok = below(strict, i128::from(income.0), times(self.std, n));
        if !income_ok {
            reasons.push("income_not_below_standard".to_owned());
        }
        reasons.extend(self.assets(facts, h, Level::Dibao, true));
        if fully_able {
            reasons.push("supporter_fully_able".to_owned());
        }
        self.expl.push(step(
            "dibao",
            "R5",
            "S1 §9; S2 §12-14",
            reasons.is_empty(),
            vec![kv("household_income", yuan(income)), kv("members", n)],
            vec![kv("dibao_std", yuan(self.std)), kv("strict_below", strict)],
            format!(
                "家庭月收入 {} 元{}低保标准 {} 元 × {} 人；{}",
                yuan(income),
                if income_ok { "低于" } else { "不低于" },
                yuan(self.std),
                n,
                if reasons.is_empty() {
                    "符合低保条件".to_owned()
                } else {
                    format!("不符合：{}", reasons_zh(&reasons))
                }
            ),
            format!(
                "Household income {} yuan is {}below the standard {} × {}; {}",
                yuan(income),
                if income_ok { "" } else { "not " },
                yuan(self.std),
                n,
                if reasons.is_empty() {
                    "eligible for 低保".to_owned()
                } else {
                    format!("not eligible: {}", reasons.join(", "))
                }
            ),
        ));
        reasons
    }

    /// R10 + R13: the 低保 payment (S1 §12; S2 §23, §27; S1 §45; Beijing top-ups S9 §十(二)).
    fn payment(&mut self, facts: &[Facts], h: &[usize], income: Fen) -> (Fen, Fen, Vec<usize>) {
        let p = self.p;
        let n = h.len();
        let limit = p.job_refusal_limit.value;
        let cov: Vec<usize> = h
            .iter()
            .copied()
            .filter(|&i| !(limit > 0 && facts[i].m.refused_suitable_jobs >= limit))
            .collect();
        for &i in h {
            if !cov.contains(&i) {
                self.expl.push(step(
                    &format!("covered:{}", facts[i].m.id),
                    "R13",
                    "S1 §45; S2 §34",
                    false,
                    vec![kv("refused_suitable_jobs", facts[i].m.refused_suitable_jobs)],
                    vec![kv("job_refusal_limit", limit)],
                    format!("{} 连续 {} 次无正当理由拒绝介绍的工作，停发其本人低保金（收入仍计入家庭）", facts[i].m.id, facts[i].m.refused_suitable_jobs),
                    format!("{} refused {} suitable jobs without good reason: not covered (income still counted)", facts[i].m.id, facts[i].m.refused_suitable_jobs),
                ));
            }
        }
        // (std − pc) × n_covered = (std × n − income) × n_covered / n, rounded once.
        let gap = (times(self.std, n) - i128::from(income.0)).max(0);
        let num = gap * cov.len() as i128;
        let den = n.max(1) as i128;
        let base = Fen(i64::try_from((2 * num + den) / (2 * den)).unwrap_or(i64::MAX));
        let mut topups = Fen(0);
        let mut shown = Vec::new();
        for &i in &cov {
            let f = &facts[i];
            let best = p
                .topups
                .value
                .iter()
                .filter(|t| t.groups.iter().any(|g| self.in_group(f, *g)))
                .map(|t| t.rate)
                .max_by(|a, b| {
                    (i128::from(a.num) * i128::from(b.den))
                        .cmp(&(i128::from(b.num) * i128::from(a.den)))
                });
            if let Some(rate) = best {
                let amount = rate.of(self.std);
                topups = add(topups, amount);
                shown.push(format!("{}:{}", f.m.id, rate));
            }
        }
        self.expl.push(step(
            "dibao_payment",
            "R10",
            "S1 §12; S2 §23 §27; S9 §十(二)",
            true,
            vec![
                kv("household_income", yuan(income)),
                kv("members", n),
                kv("covered", cov.len()),
                kv("topup_rates", shown.join(",")),
            ],
            vec![kv("dibao_std", yuan(self.std))],
            format!(
                "低保金 = (标准 − 人均收入) × 保障人数 {} = {} 元，分类施保加发 {} 元",
                cov.len(),
                yuan(base),
                yuan(topups)
            ),
            format!(
                "Payment = (std − per-capita income) × {} covered = {} yuan, plus top-ups {}",
                cov.len(),
                yuan(base),
                yuan(topups)
            ),
        ));
        (base, topups, cov)
    }

    fn in_group(&self, f: &Facts, g: TopUpGroup) -> bool {
        let m = f.m;
        match g {
            TopUpGroup::MajorIllness => m.major_illness_on_local_list,
            TopUpGroup::SevereDisability => m.disability.is_some_and(|d| d.severe()),
            TopUpGroup::TraditionalRelief => m.traditional_relief,
            TopUpGroup::ReturnedOverseas => m.returned_overseas,
            TopUpGroup::Youfu => m.youfu_household,
            TopUpGroup::Age60Plus => f.age >= 60,
            TopUpGroup::Age16OrUnder => f.age <= 16,
            TopUpGroup::StudentUpToBachelor => student_up_to_bachelor(m),
            TopUpGroup::RetiredUnder60 => m.retired_under_60 && f.age < 60,
            TopUpGroup::WorkCapacityLost => matches!(
                m.work_capacity_assessment,
                Some(WorkCapacity::MajorLoss | WorkCapacity::TotalLoss)
            ),
        }
    }

    /// Beijing income reductions (收入核减, S9 §九): the higher of the ill-or-disabled and the
    /// single-parent reduction.
    fn reduction(&mut self, facts: &[Facts], h: &[usize]) -> Fen {
        let Some(r) = &self.p.household_reductions else {
            return Fen(0);
        };
        let r = r.value;
        let ill: Vec<usize> = h
            .iter()
            .copied()
            .filter(|&i| {
                facts[i].m.major_illness_on_local_list
                    || facts[i].m.disability.is_some_and(|d| d.severe())
            })
            .collect();
        let mut a = Fen(0);
        if !ill.is_empty() {
            a = r.ill_or_disabled.of(self.std);
            let elderly_guardian = ill.iter().any(|&i| {
                h.iter().any(|&j| {
                    kin_between(facts[i].m.relation, facts[j].m.relation) == Kin::Parent
                        && facts[j].age >= 60
                })
            });
            if elderly_guardian {
                a = add(a, r.elderly_guardian_extra.of(self.std));
            }
        }
        let b = if self.app.single_parent
            && h.iter().any(|&i| {
                facts[i].m.relation == Kin::Child
                    && (facts[i].age <= 16 || facts[i].m.fulltime_student_level.is_some())
            }) {
            r.single_parent.of(self.std)
        } else {
            Fen(0)
        };
        let out = std::cmp::max(a, b);
        if out.0 > 0 {
            self.expl.push(step(
                "reduction",
                "R2.reduction",
                "S9 §九",
                true,
                vec![
                    kv("ill_or_disabled_reduction", yuan(a)),
                    kv("single_parent_reduction", yuan(b)),
                ],
                vec![
                    kv("ill_or_disabled", r.ill_or_disabled),
                    kv("elderly_guardian_extra", r.elderly_guardian_extra),
                    kv("single_parent", r.single_parent),
                ],
                format!("收入核减 {} 元（取较高者）", yuan(out)),
                format!(
                    "Income reduction of {} yuan (the higher applies)",
                    yuan(out)
                ),
            ));
        }
        out
    }

    /// R11: 渐退 when a 低保 household's income rose above the line after a job start
    /// (S2 §33; S6 §一(三); S9 §十(四)).
    fn taper(&mut self, facts: &[Facts], h: &[usize]) -> Option<(u32, Fen, Date)> {
        let current = self.app.current.as_ref()?;
        if !matches!(
            current.status,
            super::application::CurrentProgram::Dibao | super::application::CurrentProgram::Taper
        ) {
            return None;
        }
        let schedule = &self.p.taper_schedule.value;
        let as_of = self.app.as_of.month().index();
        let start = h
            .iter()
            .filter_map(|&i| facts[i].m.job_started_on)
            .filter(|d| *d <= self.app.as_of)
            .max()?;
        let k = (as_of - start.month().index()).max(1);
        let holds = k >= 1 && (k as usize) <= schedule.len();
        let share = schedule
            .get((k - 1) as usize)
            .copied()
            .unwrap_or(Ratio::ZERO);
        let pay = self.round(share.of(current.previous_payment));
        let until = domain::Month::from_index(start.month().index() + schedule.len() as i32 + 1)
            .first_day()
            .add_days(-1);
        self.expl.push(step(
            "taper",
            "R11",
            "S2 §33; S6 §一(三)",
            holds,
            vec![
                kv("job_started_on", start),
                kv("taper_month", k),
                kv("previous_payment", yuan(current.previous_payment)),
            ],
            vec![kv("taper_schedule", schedule.iter().map(|r| r.to_string()).collect::<Vec<_>>().join(","))],
            if holds { format!("就业后收入超过标准，渐退第 {k} 个月，发放原低保金的 {share} 即 {} 元", yuan(pay)) } else { "渐退期已满".into() },
            if holds { format!("Income rose above the line after a job start: taper month {k}, {share} of the previous payment = {} yuan", yuan(pay)) } else { "The taper period is over".into() },
        ));
        self.decisions.push(ProgramDecision {
            program: Program::Taper,
            subject: "household".into(),
            eligible: holds,
            reasons: if holds {
                vec![format!("month_{k}")]
            } else {
                vec!["taper_over".into()]
            },
            amount: if holds { pay } else { Fen(0) },
        });
        holds.then_some((k as u32, pay, until))
    }

    /// R7: 低保边缘 (S2 §8; S5 §二; S6 §一(四)) or Beijing 低收入 (S9 §十一).
    fn marginal_test(
        &mut self,
        facts: &[Facts],
        h: &[usize],
        income: Fen,
        fully_able: bool,
    ) -> (Classification, Vec<String>) {
        let p = self.p;
        let strict = p.strict_below.value;
        let n = h.len();
        let (class, limit, shown) = match (p.marginal_variant.value, &p.marginal_multiple) {
            (MarginalVariant::MultipleOfStd, Some(mult)) => {
                let per = mult.value.of(self.std);
                (
                    Classification::Marginal,
                    times(per, n),
                    format!("{} × {}", mult.value, yuan(self.std)),
                )
            }
            _ => (
                Classification::LowIncome,
                times(p.min_wage.value, n),
                format!("min_wage {}", yuan(p.min_wage.value)),
            ),
        };
        let mut reasons = Vec::new();
        if !below(strict, i128::from(income.0), limit) {
            reasons.push("income_not_below_limit".to_owned());
        }
        reasons.extend(self.assets(facts, h, Level::Marginal, true));
        if fully_able {
            reasons.push("supporter_fully_able".to_owned());
        }
        self.expl.push(step(
            class.as_str(),
            "R7",
            if class == Classification::Marginal {
                "S2 §8; S5 §二"
            } else {
                "S9 §十一"
            },
            reasons.is_empty(),
            vec![kv("household_income", yuan(income)), kv("members", n)],
            vec![kv("limit_per_person", shown)],
            format!(
                "{}：{}",
                class.zh(),
                if reasons.is_empty() {
                    "符合".to_owned()
                } else {
                    format!("不符合（{}）", reasons_zh(&reasons))
                }
            ),
            format!(
                "{}: {}",
                class,
                if reasons.is_empty() {
                    "eligible".to_owned()
                } else {
                    format!("not eligible ({})", reasons.join(", "))
                }
            ),
        ));
        (class, reasons)
    }

    /// R6: 单人保 for one member of H′ (S2 §8; S6 §一(一)(四); S5 §四(一); S9 §二(二)).
    fn single(&mut self, i: usize, facts: &[Facts], h: &[usize], marginal: bool) -> Option<Fen> {
        let p = self.p;
        let f = &facts[i];
        let m = f.m;
        let severe = m.disability.is_some_and(|d| d.severe());
        let conds = &p.single_route_a.value;
        let route_a = marginal
            && ((severe && conds.contains(&SingleCondition::SevereDisability))
                || (m.major_illness_on_local_list
                    && conds.contains(&SingleCondition::MajorIllness)));
        let employed = match m.employment {
            Some(Employment::Employee | Employment::Flexible) => true,
            Some(Employment::None) => false,
            None => m.employed.unwrap_or(false),
        };
        let supported_by_siblings_or_elderly = h.iter().filter(|&&j| j != i).all(|&j| {
            kin_between(m.relation, facts[j].m.relation) == Kin::Sibling || facts[j].age >= 60
        });
        let route_b = p.single_route_b.value
            && f.age >= 18
            && !employed
            && m.disability.is_some_and(|d| d.grade <= 2)
            && supported_by_siblings_or_elderly;
        if !route_a && !route_b {
            if severe || m.major_illness_on_local_list {
                self.decisions.push(ProgramDecision {
                    program: Program::DibaoSingle,
                    subject: m.id.clone(),
                    eligible: false,
                    reasons: vec![if marginal {
                        "no_route".into()
                    } else {
                        "household_not_marginal".into()
                    }],
                    amount: Fen(0),
                });
                self.expl.push(step(
                    &format!("dibao_single:{}", m.id),
                    "R6",
                    "S2 §8; S6 §一(一)",
                    false,
                    vec![kv("severe_disability", severe), kv("household_marginal", marginal), kv("employed", employed), kv("supported_by_siblings_or_60plus", supported_by_siblings_or_elderly)],
                    vec![],
                    format!("{} 无单人保途径（家庭非低保边缘，且不属于由兄弟姐妹或60岁以上老人扶养的成年无业重度残疾人）", m.id),
                    format!("{} has no single-person route (household not marginal; not an adult unemployed severely disabled person supported by siblings or persons aged 60+)", m.id),
                ));
            }
            return None;
        }
        let own = if route_b {
            sub(f.income, f.exempt_support)
        } else {
            f.income
        };
        let own = Fen(own.0.max(0));
        let mut reasons = Vec::new();
        if !below(
            p.strict_below.value,
            i128::from(own.0),
            i128::from(self.std.0),
        ) {
            reasons.push("income_not_below_standard".to_owned());
        }
        reasons.extend(self.assets(facts, &[i], Level::Dibao, false));
        let eligible = reasons.is_empty();
        let pay = match p.single_payment.value {
            SinglePayment::FullStdForSevere if severe => self.std,
            _ => sub(self.std, own),
        };
        let route = if route_a { "route_a" } else { "route_b" };
        self.decisions.push(ProgramDecision {
            program: Program::DibaoSingle,
            subject: m.id.clone(),
            eligible,
            reasons: if eligible {
                vec![route.into()]
            } else {
                reasons.clone()
            },
            amount: if eligible { pay } else { Fen(0) },
        });
        self.expl.push(step(
            &format!("dibao_single:{}", m.id),
            "R6",
            if route_a {
                "S2 §8"
            } else {
                "S6 §一(一); S5 §四(一)"
            },
            eligible,
            vec![
                kv("route", route),
                kv("own_income", yuan(own)),
                kv("exempt_support", yuan(f.exempt_support)),
            ],
            vec![
                kv("dibao_std", yuan(self.std)),
                kv(
                    "single_payment",
                    format!("{:?}", p.single_payment.value).to_lowercase(),
                ),
            ],
            if eligible {
                format!("{} 单独纳入低保（{}），月发 {} 元", m.id, route, yuan(pay))
            } else {
                format!("{} 单人保不符合：{}", m.id, reasons_zh(&reasons))
            },
            if eligible {
                format!(
                    "{} covered on their own ({}): {} yuan a month",
                    m.id,
                    route,
                    yuan(pay)
                )
            } else {
                format!(
                    "{} single-person 低保 not met: {}",
                    m.id,
                    reasons.join(", ")
                )
            },
        ));
        eligible.then_some(pay)
    }

    /// R8: 刚性支出困难 (S4 §4-5, §10).
    fn rigid_test(&mut self, facts: &[Facts], h: &[usize], income: Fen) -> bool {
        let p = self.p;
        let Some(ratio) = &p.rigid_ratio else {
            self.decisions.push(ProgramDecision {
                program: Program::RigidExpense,
                subject: "household".into(),
                eligible: false,
                reasons: vec!["not_assessed_in_profile".into()],
                amount: Fen(0),
            });
            return false;
        };
        let n = h.len();
        let e = &self.app.expenses_12m;
        let living = times(self.std, n) * 12;
        let rigid = living
            + i128::from(e.medical.0)
            + i128::from(e.education.0)
            + i128::from(e.rehab.0)
            + i128::from(e.other.0);
        let income_12m = i128::from(income.0) * 12;
        let mut reasons = Vec::new();
        if !below(
            true,
            i128::from(income.0),
            times(p.prev_year_pc_disposable.value, n),
        ) {
            reasons.push("income_not_below_disposable".to_owned());
        }
        reasons.extend(self.assets(facts, h, Level::Rigid, true));
        let over = income_12m <= 0 && rigid > 0 || {
            let (a, b) = (rigid, income_12m.max(1));
            a * i128::from(ratio.value.den) > i128::from(ratio.value.num) * b
        };
        if !over {
            reasons.push("rigid_ratio_not_above".to_owned());
        }
        let eligible = reasons.is_empty();
        self.decisions.push(ProgramDecision {
            program: Program::RigidExpense,
            subject: "household".into(),
            eligible,
            reasons: reasons.clone(),
            amount: Fen(0),
        });
        let clamp = |v: i128| Fen(i64::try_from(v).unwrap_or(i64::MAX));
        self.expl.push(step(
            "rigid_expense",
            "R8",
            "S4 §4-5",
            eligible,
            vec![
                kv("rigid_12m", yuan(clamp(rigid))),
                kv("living_12m", yuan(clamp(living))),
                kv("income_12m", yuan(clamp(income_12m))),
            ],
            vec![
                kv("rigid_ratio", ratio.value),
                kv(
                    "prev_year_pc_disposable",
                    yuan(p.prev_year_pc_disposable.value),
                ),
            ],
            format!(
                "刚性支出 {} 元 / 家庭收入 {} 元，{}",
                yuan(clamp(rigid)),
                yuan(clamp(income_12m)),
                if eligible {
                    "认定为刚性支出困难家庭".to_owned()
                } else {
                    format!("不符合：{}", reasons_zh(&reasons))
                }
            ),
            format!(
                "Rigid spending {} / income {} yuan: {}",
                yuan(clamp(rigid)),
                yuan(clamp(income_12m)),
                if eligible {
                    "rigid-expense hardship".to_owned()
                } else {
                    format!("not met: {}", reasons.join(", "))
                }
            ),
        ));
        eligible
    }

    /// R12: next review and payment start (S2 §21, §31; S6 §一(三); S7 §二.7).
    fn review(
        &mut self,
        facts: &[Facts],
        h: &[usize],
        person_class: &[Classification],
        household: &mut HouseholdDecision,
    ) {
        let p = self.p;
        let r = p.review_months.value;
        let app = self.app;
        let months = match household.classification {
            Classification::Dibao => {
                let unstable = h.iter().any(|&i| {
                    let f = &facts[i];
                    f.m.income_unfixed
                        || f.m.employment == Some(Employment::Flexible)
                        || (16..60).contains(&f.age) && self.work_capable(f)
                });
                Some(if unstable { r.unstable } else { r.stable })
            }
            Classification::Tekun => Some(r.tekun),
            Classification::Marginal | Classification::LowIncome => Some(r.marginal),
            _ if person_class.contains(&Classification::DibaoSingle) => Some(r.stable),
            _ => None,
        };
        let mut next = months.map(|m| app.as_of.add_months(m as i32));
        if let Some(death) = app.deaths.iter().max() {
            let due = death.add_months(p.death_review_months.value as i32);
            next = Some(next.map_or(due, |n| std::cmp::min(n, due)));
        }
        household.next_review_months = months;
        household.next_review = next;
        let pays = (household.payment.0 > 0
            && matches!(
                household.classification,
                Classification::Dibao | Classification::Taper | Classification::LowIncome
            ))
            || household.classification == Classification::Tekun
            || person_class
                .iter()
                .any(|c| matches!(c, Classification::Tekun | Classification::DibaoSingle));
        if pays {
            household.payment_start =
                Some(domain::Month::from_index(app.as_of.month().index() + 1).first_day());
        }
        if let Some(m) = months {
            self.expl.push(step(
                "review",
                "R12",
                "S2 §21 §31; S6 §一(三)",
                true,
                vec![kv(
                    "next_review",
                    next.map(|d| d.to_string()).unwrap_or_default(),
                )],
                vec![kv("review_months", m)],
                format!("{m} 个月后复核；自决定次月起发放"),
                format!("Review in {m} months; payment from the month after the decision"),
            ));
        }
    }

    /// R14: temporary assistance (S1 §47-49; S8 §二; Beijing S11). Emergency help is capped at
    /// `temp_emergency_cap_months × std` per person; expenditure help pays banded shares of the
    /// necessary spending, capped, for recipients of basic assistance and — when their
    /// per-capita income net of the spending is below the low-income line — for others.
    fn temporary(
        &mut self,
        facts: &[Facts],
        counted: &[usize],
        household: &HouseholdDecision,
        person_class: &[Classification],
    ) {
        let Some(hardship) = &self.app.hardship else {
            return;
        };
        let p = self.p;
        let n = counted.len().max(1);
        let (eligible, amount, reasons, rule_text_zh, rule_text_en) = match hardship.kind {
            HardshipKind::Emergency => match &p.temp_emergency_cap_months {
                Some(cap) => {
                    let amount = Fen(self
                        .std
                        .0
                        .saturating_mul(i64::from(cap.value))
                        .saturating_mul(n as i64));
                    (
                        true,
                        amount,
                        vec!["emergency".to_owned()],
                        format!(
                            "急难型临时救助，最高 {} 个月低保标准 × {} 人 = {} 元",
                            cap.value,
                            n,
                            yuan(amount)
                        ),
                        format!(
                            "Emergency assistance up to {} months of the standard × {} persons = {} yuan",
                            cap.value,
                            n,
                            yuan(amount)
                        ),
                    )
                }
                None => (
                    false,
                    Fen(0),
                    vec!["not_assessed_in_profile".to_owned()],
                    "本参数集未设急难型标准".into(),
                    "The profile sets no emergency amount".into(),
                ),
            },
            HardshipKind::Expenditure => match &p.temp_expenditure {
                None => (
                    false,
                    Fen(0),
                    vec!["not_assessed_in_profile".to_owned()],
                    "本参数集未设支出型标准".into(),
                    "The profile sets no expenditure bands".into(),
                ),
                Some(t) => {
                    let t = &t.value;
                    let recipient = matches!(
                        household.classification,
                        Classification::Dibao
                            | Classification::LowIncome
                            | Classification::Tekun
                            | Classification::Taper
                    ) || person_class
                        .iter()
                        .any(|c| matches!(c, Classification::Tekun | Classification::DibaoSingle));
                    let income_12m = hardship.income_12m.unwrap_or_else(|| {
                        Fen(counted
                            .iter()
                            .fold(0i64, |a, &i| a.saturating_add(facts[i].income.0))
                            .saturating_mul(12))
                    });
                    // (12-month income − necessary spending) per person per month below the
                    // low-income line (Beijing: the minimum wage).
                    let net = i128::from(income_12m.0) - i128::from(hardship.necessary_spending.0);
                    let line = match (p.marginal_variant.value, &p.marginal_multiple) {
                        (MarginalVariant::MultipleOfStd, Some(m)) => m.value.of(self.std),
                        _ => p.min_wage.value,
                    };
                    let poor = net < times(line, n) * 12;
                    let mut reasons = Vec::new();
                    if !recipient && !poor {
                        reasons.push("income_after_spending_not_below_line".to_owned());
                    }
                    if !recipient {
                        let h: Vec<usize> = counted.to_vec();
                        reasons.extend(self.assets(facts, &h, Level::Marginal, true));
                    }
                    let bands = if recipient { &t.recipients } else { &t.others };
                    let severe = counted
                        .iter()
                        .any(|&i| facts[i].m.disability.is_some_and(|d| d.severe()));
                    let extra = if !recipient && severe {
                        t.severe_extra
                    } else {
                        Ratio::ZERO
                    };
                    let spend = hardship.necessary_spending;
                    let mut total = Fen(0);
                    for (k, band) in bands.iter().enumerate() {
                        let upper = bands
                            .get(k + 1)
                            .map_or(spend, |next| std::cmp::min(spend, next.from));
                        if upper > band.from {
                            let part = sub(upper, band.from);
                            total = add(total, add(band.rate.of(part), extra.of(part)));
                        }
                    }
                    let cap = Fen(self.std.0.saturating_mul(i64::from(t.cap_months)));
                    let amount = std::cmp::min(total, cap);
                    let eligible = reasons.is_empty() && amount.0 > 0;
                    if reasons.is_empty() && amount.0 == 0 {
                        reasons.push("spending_below_threshold".to_owned());
                    }
                    (
                        eligible,
                        if eligible { amount } else { Fen(0) },
                        if eligible {
                            vec![if recipient {
                                "recipient_bands".into()
                            } else {
                                "other_household_bands".into()
                            }]
                        } else {
                            reasons
                        },
                        format!(
                            "支出型临时救助：必要支出 {} 元，按档计算 {} 元，封顶 {} 元",
                            yuan(spend),
                            yuan(total),
                            yuan(cap)
                        ),
                        format!(
                            "Expenditure assistance: necessary spending {} yuan, banded {} yuan, cap {} yuan",
                            yuan(spend),
                            yuan(total),
                            yuan(cap)
                        ),
                    )
                }
            },
        };
        self.decisions.push(ProgramDecision {
            program: Program::Temporary,
            subject: "household".into(),
            eligible,
            reasons: reasons.clone(),
            amount,
        });
        self.expl.push(step(
            "temporary",
            "R14",
            "S1 §47-49; S8 §二; S11",
            eligible,
            vec![
                kv("kind", format!("{:?}", hardship.kind).to_lowercase()),
                kv("necessary_spending", yuan(hardship.necessary_spending)),
                kv("persons", n),
                kv("amount", yuan(amount)),
            ],
            vec![kv("dibao_std", yuan(self.std))],
            rule_text_zh,
            rule_text_en,
        ));
    }

    fn work_capable(&self, f: &Facts) -> bool {
        if let Some(w) = f.m.work_capable {
            return w;
        }
        !self.no_work(f.m, f.age)
            && !f.m.major_illness_on_local_list
            && f.m.fulltime_student_level.is_none()
            && !matches!(
                f.m.work_capacity_assessment,
                Some(WorkCapacity::MajorLoss | WorkCapacity::TotalLoss)
            )
    }

    fn round(&self, f: Fen) -> Fen {
        match self.p.rounding.value {
            Rounding::Fen => f,
            Rounding::Yuan => f.mul_ratio(1, 100).mul_ratio(100, 1),
        }
    }
}

/// Chinese for the reason codes shown in explanation texts.
fn reasons_zh(reasons: &[String]) -> String {
    reasons
        .iter()
        .map(|r| match r.as_str() {
            "income_not_below_standard" => "收入不低于低保标准",
            "income_not_below_limit" => "收入不低于认定标准",
            "income_not_below_disposable" => "人均收入不低于上年度人均可支配收入",
            "money_assets" => "货币财产超过规定",
            "vehicle" => "拥有机动车辆",
            "large_farm_machinery" => "拥有大型农机具",
            "housing" => "拥有两套以上住房",
            "non_residential_property" => "拥有非居住类房产",
            "supporter_fully_able" => "赡养义务人有完全赡养能力",
            "work_capacity" => "具有劳动能力",
            "able_obligor" => "有履行义务能力的法定义务人",
            "rigid_ratio_not_above" => "刚性支出占比未超过规定",
            other => other,
        })
        .collect::<Vec<_>>()
        .join("、")
}

fn student_up_to_bachelor(m: &Member) -> bool {
    m.fulltime_student_level
        .is_some_and(|l| l <= StudyLevel::Bachelor)
}

#[derive(Clone, Copy)]
enum Level {
    Dibao,
    Marginal,
    Rigid,
    Tekun,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Dibao => "dibao",
            Level::Marginal => "marginal",
            Level::Rigid => "rigid",
            Level::Tekun => "tekun",
        }
    }
}

/// R15: special assistance opened by a classification (S1 §28-45; S5 §四).
fn entitlements(class: Classification) -> Vec<Entitlement> {
    use Entitlement::*;
    let mut out = match class {
        Classification::Tekun => vec![PremiumSubsidy, Medical, Education, Housing, Funeral, Care],
        Classification::Dibao | Classification::DibaoSingle | Classification::Taper => {
            vec![
                PremiumSubsidy,
                Medical,
                Education,
                Housing,
                Employment,
                Heating,
                Funeral,
            ]
        }
        Classification::Marginal | Classification::LowIncome | Classification::RigidExpense => {
            vec![Medical, Education, Housing, Employment, Disaster, Heating]
        }
        _ => vec![],
    };
    if class != Classification::NotCounted {
        out.push(Temporary);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinship_from_relations_to_the_applicant() {
        assert_eq!(kin_between(Kin::Child, Kin::Applicant), Kin::Parent);
        assert_eq!(kin_between(Kin::Child, Kin::Spouse), Kin::Parent);
        assert_eq!(kin_between(Kin::Child, Kin::Child), Kin::Sibling);
        assert_eq!(kin_between(Kin::Applicant, Kin::Parent), Kin::Parent);
        assert_eq!(kin_between(Kin::Child, Kin::Parent), Kin::Grandparent);
        assert_eq!(kin_between(Kin::Spouse, Kin::Parent), Kin::Other);
    }

    #[test]
    fn strictness_switches_the_boundary() {
        assert!(!below(true, 2000, 2000));
        assert!(below(false, 2000, 2000));
        assert!(below(true, 1999, 2000));
    }

    #[test]
    fn entitlements_follow_the_classification() {
        assert!(entitlements(Classification::Tekun).contains(&Entitlement::Care));
        assert!(!entitlements(Classification::Marginal).contains(&Entitlement::PremiumSubsidy));
        assert_eq!(entitlements(Classification::NotCounted), vec![]);
        assert_eq!(
            entitlements(Classification::None),
            vec![Entitlement::Temporary]
        );
    }
}
