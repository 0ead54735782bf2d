//! Assessment profiles: the dated, regional parameters of case assessment (reference §11.2),
//! one YAML file per profile under `policy/assess/profiles/`. Every parameter carries its value,
//! its unit, its legal source (an id of the profile's source register, e.g. `S2 §13`) and the
//! reference's confidence tag. A profile is checked when it is loaded — unknown fields, wrong
//! units, unknown sources, impossible values — and every problem names its file and line.

use std::collections::BTreeMap;
use std::path::Path;

use domain::{Date, Fen, RegionCode};
use serde::{Deserialize, Serialize};

use super::load::{self, LoadError};
use super::money::{Ratio, as_yuan};
use crate::yaml::{self, Node};

/// The unit a parameter is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Yuan per person per month.
    YuanPerPersonMonth,
    /// Yuan per month.
    YuanPerMonth,
    /// A plain ratio.
    Ratio,
    /// A multiple of the 低保 standard.
    RatioOfStd,
    /// A multiple of the minimum wage.
    RatioOfMinWage,
    /// Months.
    Months,
    /// Square metres per person.
    M2PerPerson,
    /// A count.
    Count,
    /// Yes or no.
    Flag,
    /// One or more named choices.
    Choice,
}

/// The reference's confidence tag for a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum Confidence {
    /// Checked against the full text.
    V,
    /// Partly checked.
    P,
    /// Not checked: do not ship without checking.
    U,
    /// Varies by locality; a chosen default.
    L,
}

/// One parameter: its value with unit, source and confidence.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Param<T> {
    /// The value.
    pub value: T,
    /// The unit it is written in.
    pub unit: Unit,
    /// Legal source: a register id and article, e.g. `S2 §13`.
    pub source: String,
    /// The reference's confidence tag.
    pub confidence: Confidence,
    /// A remark for the analyst.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A money parameter.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MoneyParam {
    /// The amount.
    #[serde(with = "as_yuan")]
    pub value: Fen,
    /// The unit it is written in.
    pub unit: Unit,
    /// Legal source.
    pub source: String,
    /// Confidence tag.
    pub confidence: Confidence,
    /// A remark for the analyst.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One document of the source register.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SourceDoc {
    /// Title of the document.
    pub title: String,
    /// Where the text was read.
    #[serde(default)]
    pub url: Option<String>,
}

/// The 低保 standard of the regions under a code prefix.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RegionStandard {
    /// Region-code prefix (2 to 12 digits).
    pub prefix: String,
    /// Name of the area.
    pub name: String,
    /// 低保标准 for urban residents, per person per month.
    #[serde(with = "as_yuan")]
    pub urban: Fen,
    /// 低保标准 for rural residents, per person per month.
    #[serde(with = "as_yuan")]
    pub rural: Fen,
    /// Unit (yuan_per_person_month).
    pub unit: Unit,
    /// Legal source.
    pub source: String,
    /// Confidence tag.
    pub confidence: Confidence,
}

/// Money-asset limits per member, in months of the standard, per programme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LevelMonths {
    /// 低保 (and 单人保).
    pub dibao: u32,
    /// 低保边缘 (or Beijing's 低收入).
    pub marginal: u32,
    /// 刚性支出困难.
    pub rigid: u32,
    /// 特困.
    pub tekun: u32,
}

/// Vehicles that do not fail the asset test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VehicleExemption {
    /// 残疾人功能性补偿代步机动车辆.
    DisabilityCompensatory,
    /// A vehicle that is a tool of the household's production.
    ProductionTool,
}

/// Persons a locality adds to the national list of those not counted (S2 §7(三)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    /// 义务兵 (Beijing, S9 §二).
    Conscript,
}

/// How the marginal tier is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MarginalVariant {
    /// 低保边缘: per-capita income below `marginal_multiple × std`, marginal asset rule.
    MultipleOfStd,
    /// Beijing 低收入家庭: per-capita income below the minimum wage, 低保 asset rule.
    BelowMinWage,
}

/// How maintenance from obligors outside the household is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SupportImputation {
    /// Only what is actually paid.
    Actual,
    /// Beijing: the agreed amount or the formula, or what is paid when higher.
    BeijingFormula,
}

/// Whose income decides 特困's "no livelihood".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IncomeBasis {
    /// The person's own income.
    Person,
    /// The household's per-capita income.
    HouseholdPerCapita,
}

/// Extra cases of "no work capacity" a locality adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtraNoWork {
    /// Visual disability grade 2.
    #[serde(rename = "visual_grade2")]
    VisualGrade2,
    /// A work-capacity assessment of total or major loss.
    WorkCapacityLoss,
}

/// What qualifies a member of a marginal household for 单人保 route A.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SingleCondition {
    /// Disability grade 1-2, or intellectual/mental grade 3.
    SevereDisability,
    /// A major illness on the local list.
    MajorIllness,
}

/// How 单人保 is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SinglePayment {
    /// The standard minus the person's own income.
    Gap,
    /// The full standard for a severely disabled person, the gap otherwise.
    FullStdForSevere,
}

/// Who a top-up rate is for (Beijing 分类施保, S9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TopUpGroup {
    /// A major illness on the local list.
    MajorIllness,
    /// A severe disability.
    SevereDisability,
    /// 传统救济对象.
    TraditionalRelief,
    /// 归侨.
    ReturnedOverseas,
    /// A member of an 优抚 household.
    Youfu,
    /// Aged 60 or more.
    #[serde(rename = "age_60_plus")]
    Age60Plus,
    /// Aged 16 or less.
    #[serde(rename = "age_16_or_under")]
    Age16OrUnder,
    /// A full-time student at bachelor level or below.
    StudentUpToBachelor,
    /// Under 60 and past retirement age.
    #[serde(rename = "retired_under_60")]
    RetiredUnder60,
    /// Work capacity wholly or mostly lost.
    WorkCapacityLost,
}

/// One top-up rate and the groups it is for.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TopUp {
    /// Times the standard, per person.
    pub rate: Ratio,
    /// Groups that receive it.
    pub groups: Vec<TopUpGroup>,
}

/// Beijing's income reductions (收入核减), times the standard, per household.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Reductions {
    /// A member with a major illness or severe disability.
    pub ill_or_disabled: Ratio,
    /// Further, when that member's parent in the household is 60 or more.
    pub elderly_guardian_extra: Ratio,
    /// A single parent raising a child of 16 or less, or a full-time student.
    pub single_parent: Ratio,
}

/// The care part of 特困 support, times the minimum wage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CareShares {
    /// 具备生活自理能力.
    pub self_care: Ratio,
    /// 部分丧失.
    pub partial: Ratio,
    /// 完全丧失.
    pub full: Ratio,
}

/// Review intervals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewMonths {
    /// Stable 低保 households.
    pub stable: u32,
    /// 低保 households with a member able to work or unfixed income.
    pub unstable: u32,
    /// 特困.
    pub tekun: u32,
    /// 低保边缘 / 低收入.
    pub marginal: u32,
}

/// Payment rounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// To the fen, half up (two decimals).
    Fen,
    /// To the yuan, half up.
    Yuan,
}

/// Every parameter of a profile.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Compare with "<" (低于) rather than "≤".
    pub strict_below: Param<bool>,
    /// Persons not counted as household members beyond the national list.
    pub extra_excluded: Param<Vec<Exclusion>>,
    /// Income averaging window (inputs are monthly averages over it).
    pub income_lookback_months: Param<u32>,
    /// Exempt part of the residents' pension (the central basic pension), per person.
    pub exempt_central_basic_pension: MoneyParam,
    /// Disability living and nursing subsidies are exempt.
    pub exempt_disability_two_subsidies: Param<bool>,
    /// Old-age allowance (高龄津贴) is exempt from 低保 income.
    pub exempt_old_age_allowance: Param<bool>,
    /// Employment deduction per working member, times the standard.
    pub employment_deduction: Param<Ratio>,
    /// Flexible workers: `[lower, upper]` times the standard within which income counts as
    /// exactly the standard; empty when there is no such band.
    pub flexible_std_band: Param<Vec<Ratio>>,
    /// How support from obligors outside the household is counted.
    pub support_imputation: Param<SupportImputation>,
    /// Beijing formula: living allowance of the obligor household, times the standard per person.
    #[serde(default)]
    pub support_living_multiple: Option<Param<Ratio>>,
    /// Beijing formula: share of the rest owed as maintenance.
    #[serde(default)]
    pub support_share: Option<Param<Ratio>>,
    /// Beijing: an obligor household that is fully able makes the applicant ineligible.
    pub supporter_full_ability_test: Param<bool>,
    /// Household income reductions (核减), if any.
    #[serde(default)]
    pub household_reductions: Option<Param<Reductions>>,
    /// Money-asset limits.
    pub money_months: Param<LevelMonths>,
    /// Vehicles that do not fail the asset test.
    pub vehicle_exempt: Param<Vec<VehicleExemption>>,
    /// Large farm machinery fails the asset test.
    pub large_farm_machinery_fails: Param<bool>,
    /// Two or more homes fail only at or above this floor area per person.
    pub avg_area_pc: Param<u32>,
    /// How the marginal tier is defined.
    pub marginal_variant: Param<MarginalVariant>,
    /// 低保边缘 income limit, times the standard.
    #[serde(default)]
    pub marginal_multiple: Option<Param<Ratio>>,
    /// Beijing 低收入: children and students receive this share of the standard.
    #[serde(default)]
    pub low_income_child_rate: Option<Param<Ratio>>,
    /// Last year's local per-capita disposable income, monthly.
    pub prev_year_pc_disposable: MoneyParam,
    /// 刚性: rigid spending / income above this is hardship; absent when the profile does not
    /// assess 刚性支出困难.
    #[serde(default)]
    pub rigid_ratio: Option<Param<Ratio>>,
    /// Validity of a 刚性 recognition.
    pub rigid_validity_months: Param<u32>,
    /// Monthly minimum wage.
    pub min_wage: MoneyParam,
    /// 特困 basic support, times the standard.
    pub tekun_basic_multiple: Param<Ratio>,
    /// 特困 care support, times the minimum wage.
    pub tekun_care_share: Param<CareShares>,
    /// Whose income decides 特困's "no livelihood".
    pub tekun_income_basis: Param<IncomeBasis>,
    /// Extra cases of "no work capacity".
    pub tekun_extra_no_work: Param<Vec<ExtraNoWork>>,
    /// 单人保 route A conditions (members of marginal households).
    pub single_route_a: Param<Vec<SingleCondition>>,
    /// 单人保 route B (adult unemployed severely disabled supported by siblings or 60+ persons).
    pub single_route_b: Param<bool>,
    /// How 单人保 is paid.
    pub single_payment: Param<SinglePayment>,
    /// 渐退: share of the previous payment in each month after a job start.
    pub taper_schedule: Param<Vec<Ratio>>,
    /// Per-person top-ups; the highest applicable rate is paid.
    pub topups: Param<Vec<TopUp>>,
    /// Payment rounding.
    pub rounding: Param<Rounding>,
    /// Minimum household payment when the payment is above zero.
    pub min_payment: MoneyParam,
    /// Review intervals.
    pub review_months: Param<ReviewMonths>,
    /// Review after a member's death, within this many months.
    pub death_review_months: Param<u32>,
    /// Unjustified consecutive refusals of suitable jobs after which the person is not covered.
    pub job_refusal_limit: Param<u32>,
    /// 临时救助, emergency type: at most this many months of the standard per person.
    #[serde(default)]
    pub temp_emergency_cap_months: Option<Param<u32>>,
    /// 临时救助, expenditure type: banded shares of necessary spending.
    #[serde(default)]
    pub temp_expenditure: Option<Param<TempExpenditure>>,
}

/// One band of necessary spending: the share paid of the part above `from` (and up to the
/// next band's `from`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SpendingBand {
    /// Lower edge of the band (yuan).
    #[serde(with = "as_yuan")]
    pub from: Fen,
    /// Share of the spending in the band.
    pub rate: Ratio,
}

/// Banded expenditure-type temporary assistance (Beijing S11).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TempExpenditure {
    /// Bands for 低保, 低收入 and 特困 households.
    pub recipients: Vec<SpendingBand>,
    /// Bands for other households.
    pub others: Vec<SpendingBand>,
    /// Extra share for other households with a severely disabled member.
    pub severe_extra: Ratio,
    /// Cap, in months of the standard.
    pub cap_months: u32,
}

/// An assessment profile.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Profile id, e.g. `GEN-2025`.
    pub id: String,
    /// Title in Chinese.
    pub title_zh: String,
    /// Title in English.
    pub title_en: String,
    /// Whether the profile is a synthetic test city rather than a real place.
    #[serde(default)]
    pub synthetic: bool,
    /// First day the profile applies.
    pub effective_from: Date,
    /// The source register (id → document).
    pub sources: BTreeMap<String, SourceDoc>,
    /// 低保 standards by region prefix (longest prefix wins).
    pub regions: Vec<RegionStandard>,
    /// The parameters.
    pub params: Params,
}

/// Why a profile set cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// A problem in a profile file.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// A file could not be read.
    #[error("{file}: cannot read: {message}")]
    Read {
        /// The file.
        file: String,
        /// The IO error.
        message: String,
    },
    /// Two profiles share an id.
    #[error("{file}: profile id `{id}` is used twice")]
    Duplicate {
        /// The second file.
        file: String,
        /// The id.
        id: String,
    },
}

impl Profile {
    /// Parses and checks one profile file.
    pub fn from_yaml(text: &str, file: &str) -> Result<Profile, LoadError> {
        let node = yaml::parse(text).map_err(|e| LoadError {
            file: file.to_owned(),
            line: e.line,
            message: e.message,
        })?;
        let profile: Profile = load::from_node(&node, file)?;
        if let Some((path, message)) = profile.check().into_iter().next() {
            return Err(LoadError {
                file: file.to_owned(),
                line: line_of(&node, &path),
                message,
            });
        }
        Ok(profile)
    }

    /// The standard (urban, rural) for a region: the longest matching prefix.
    pub fn standard(&self, region: RegionCode) -> Option<&RegionStandard> {
        self.regions
            .iter()
            .filter(|r| region.starts_with(&r.prefix))
            .max_by_key(|r| r.prefix.len())
    }

    /// Every problem, as (path of keys, message).
    fn check(&self) -> Vec<(Vec<String>, String)> {
        let mut out: Vec<(Vec<String>, String)> = Vec::new();
        let p = &self.params;
        let mut expect = |name: &str, unit: Unit, source: &str, want: Unit| {
            if unit != want {
                out.push((
                    path(&["params", name, "unit"]),
                    format!(
                        "parameter `{name}` must be written in unit `{}`",
                        unit_name(want)
                    ),
                ));
            }
            if let Some(problem) = self.source_problem(source) {
                out.push((
                    path(&["params", name, "source"]),
                    format!("parameter `{name}`: {problem}"),
                ));
            }
        };
        use Unit as U;
        expect(
            "strict_below",
            p.strict_below.unit,
            &p.strict_below.source,
            U::Flag,
        );
        expect(
            "income_lookback_months",
            p.income_lookback_months.unit,
            &p.income_lookback_months.source,
            U::Months,
        );
        expect(
            "exempt_central_basic_pension",
            p.exempt_central_basic_pension.unit,
            &p.exempt_central_basic_pension.source,
            U::YuanPerPersonMonth,
        );
        expect(
            "exempt_disability_two_subsidies",
            p.exempt_disability_two_subsidies.unit,
            &p.exempt_disability_two_subsidies.source,
            U::Flag,
        );
        expect(
            "exempt_old_age_allowance",
            p.exempt_old_age_allowance.unit,
            &p.exempt_old_age_allowance.source,
            U::Flag,
        );
        expect(
            "employment_deduction",
            p.employment_deduction.unit,
            &p.employment_deduction.source,
            U::RatioOfStd,
        );
        expect(
            "flexible_std_band",
            p.flexible_std_band.unit,
            &p.flexible_std_band.source,
            U::RatioOfStd,
        );
        expect(
            "support_imputation",
            p.support_imputation.unit,
            &p.support_imputation.source,
            U::Choice,
        );
        if let Some(x) = &p.support_living_multiple {
            expect("support_living_multiple", x.unit, &x.source, U::RatioOfStd);
        }
        if let Some(x) = &p.support_share {
            expect("support_share", x.unit, &x.source, U::Ratio);
        }
        expect(
            "supporter_full_ability_test",
            p.supporter_full_ability_test.unit,
            &p.supporter_full_ability_test.source,
            U::Flag,
        );
        if let Some(x) = &p.household_reductions {
            expect("household_reductions", x.unit, &x.source, U::RatioOfStd);
        }
        expect(
            "money_months",
            p.money_months.unit,
            &p.money_months.source,
            U::Months,
        );
        expect(
            "vehicle_exempt",
            p.vehicle_exempt.unit,
            &p.vehicle_exempt.source,
            U::Choice,
        );
        expect(
            "large_farm_machinery_fails",
            p.large_farm_machinery_fails.unit,
            &p.large_farm_machinery_fails.source,
            U::Flag,
        );
        expect(
            "avg_area_pc",
            p.avg_area_pc.unit,
            &p.avg_area_pc.source,
            U::M2PerPerson,
        );
        expect(
            "marginal_variant",
            p.marginal_variant.unit,
            &p.marginal_variant.source,
            U::Choice,
        );
        if let Some(x) = &p.marginal_multiple {
            expect("marginal_multiple", x.unit, &x.source, U::RatioOfStd);
        }
        if let Some(x) = &p.low_income_child_rate {
            expect("low_income_child_rate", x.unit, &x.source, U::RatioOfStd);
        }
        expect(
            "prev_year_pc_disposable",
            p.prev_year_pc_disposable.unit,
            &p.prev_year_pc_disposable.source,
            U::YuanPerPersonMonth,
        );
        if let Some(x) = &p.rigid_ratio {
            expect("rigid_ratio", x.unit, &x.source, U::Ratio);
        }
        expect(
            "rigid_validity_months",
            p.rigid_validity_months.unit,
            &p.rigid_validity_months.source,
            U::Months,
        );
        expect(
            "min_wage",
            p.min_wage.unit,
            &p.min_wage.source,
            U::YuanPerMonth,
        );
        expect(
            "tekun_basic_multiple",
            p.tekun_basic_multiple.unit,
            &p.tekun_basic_multiple.source,
            U::RatioOfStd,
        );
        expect(
            "tekun_care_share",
            p.tekun_care_share.unit,
            &p.tekun_care_share.source,
            U::RatioOfMinWage,
        );
        expect(
            "tekun_income_basis",
            p.tekun_income_basis.unit,
            &p.tekun_income_basis.source,
            U::Choice,
        );
        expect(
            "tekun_extra_no_work",
            p.tekun_extra_no_work.unit,
            &p.tekun_extra_no_work.source,
            U::Choice,
        );
        expect(
            "single_route_a",
            p.single_route_a.unit,
            &p.single_route_a.source,
            U::Choice,
        );
        expect(
            "single_route_b",
            p.single_route_b.unit,
            &p.single_route_b.source,
            U::Flag,
        );
        expect(
            "single_payment",
            p.single_payment.unit,
            &p.single_payment.source,
            U::Choice,
        );
        expect(
            "taper_schedule",
            p.taper_schedule.unit,
            &p.taper_schedule.source,
            U::Ratio,
        );
        expect("topups", p.topups.unit, &p.topups.source, U::RatioOfStd);
        expect("rounding", p.rounding.unit, &p.rounding.source, U::Choice);
        expect(
            "min_payment",
            p.min_payment.unit,
            &p.min_payment.source,
            U::YuanPerMonth,
        );
        expect(
            "review_months",
            p.review_months.unit,
            &p.review_months.source,
            U::Months,
        );
        expect(
            "death_review_months",
            p.death_review_months.unit,
            &p.death_review_months.source,
            U::Months,
        );
        expect(
            "job_refusal_limit",
            p.job_refusal_limit.unit,
            &p.job_refusal_limit.source,
            U::Count,
        );

        if let Some(x) = &p.temp_emergency_cap_months {
            expect("temp_emergency_cap_months", x.unit, &x.source, U::Months);
        }
        if let Some(x) = &p.temp_expenditure {
            expect("temp_expenditure", x.unit, &x.source, U::Ratio);
            for (key, bands) in [
                ("recipients", &x.value.recipients),
                ("others", &x.value.others),
            ] {
                if bands.is_empty() || bands.windows(2).any(|w| w[0].from >= w[1].from) {
                    out.push((
                        path(&["params", "temp_expenditure", "value", key]),
                        "bands must be given in rising order of `from`".into(),
                    ));
                }
            }
        }

        // Values that would make the procedure meaningless.
        if p.support_imputation.value == SupportImputation::BeijingFormula
            && (p.support_living_multiple.is_none() || p.support_share.is_none())
        {
            out.push((
                path(&["params", "support_imputation"]),
                "the Beijing formula needs `support_living_multiple` and `support_share`".into(),
            ));
        }
        if p.marginal_variant.value == MarginalVariant::MultipleOfStd
            && p.marginal_multiple.is_none()
        {
            out.push((
                path(&["params", "marginal_variant"]),
                "`multiple_of_std` needs `marginal_multiple`".into(),
            ));
        }
        if let Some(m) = &p.marginal_multiple
            && m.value.num < m.value.den
        {
            out.push((
                path(&["params", "marginal_multiple", "value"]),
                "the marginal multiple must be at least 1".into(),
            ));
        }
        let band = &p.flexible_std_band.value;
        if !(band.is_empty() || (band.len() == 2 && ratio_le(band[0], band[1]))) {
            out.push((
                path(&["params", "flexible_std_band", "value"]),
                "write no band ([]) or two ratios [lower, upper] with lower ≤ upper".into(),
            ));
        }
        if p.taper_schedule.value.len() > 6 {
            out.push((
                path(&["params", "taper_schedule", "value"]),
                "a taper lasts at most 6 months (S6 §一(三))".into(),
            ));
        }
        if p.taper_schedule.value.iter().any(|r| r.num > r.den) {
            out.push((
                path(&["params", "taper_schedule", "value"]),
                "a taper month pays at most the previous amount (ratio ≤ 1)".into(),
            ));
        }
        if p.review_months.value.unstable == 0 || p.review_months.value.stable == 0 {
            out.push((
                path(&["params", "review_months", "value"]),
                "review intervals must be at least one month".into(),
            ));
        }
        for (name, months) in [
            (
                "review_months",
                p.review_months
                    .value
                    .stable
                    .max(p.review_months.value.unstable)
                    .max(p.review_months.value.tekun)
                    .max(p.review_months.value.marginal),
            ),
            ("death_review_months", p.death_review_months.value),
            ("rigid_validity_months", p.rigid_validity_months.value),
            ("income_lookback_months", p.income_lookback_months.value),
        ] {
            if months > 120 {
                out.push((
                    path(&["params", name, "value"]),
                    format!("`{name}` above 120 months is not a plausible interval"),
                ));
            }
        }
        if self.regions.is_empty() {
            out.push((
                path(&["regions"]),
                "a profile needs at least one region".into(),
            ));
        }
        for (i, r) in self.regions.iter().enumerate() {
            let at = |k: &str| vec!["regions".to_owned(), i.to_string(), k.to_owned()];
            if !(2..=12).contains(&r.prefix.len()) || !r.prefix.bytes().all(|c| c.is_ascii_digit())
            {
                out.push((
                    at("prefix"),
                    format!("`{}` is not a region-code prefix (2-12 digits)", r.prefix),
                ));
            }
            if r.unit != Unit::YuanPerPersonMonth {
                out.push((
                    at("unit"),
                    "a standard is written in unit `yuan_per_person_month`".into(),
                ));
            }
            if r.urban.0 <= 0 || r.rural.0 <= 0 {
                out.push((at("urban"), "a standard must be above zero".into()));
            }
            if let Some(problem) = self.source_problem(&r.source) {
                out.push((at("source"), problem));
            }
        }
        out
    }

    fn source_problem(&self, source: &str) -> Option<String> {
        let first = source
            .split(|c: char| c.is_whitespace() || c == ';' || c == ',')
            .next()
            .unwrap_or("");
        if source.trim().is_empty() {
            Some("a legal source is required".into())
        } else if !self.sources.contains_key(first) {
            Some(format!(
                "source `{first}` is not in the profile's source register"
            ))
        } else {
            None
        }
    }
}

fn ratio_le(a: Ratio, b: Ratio) -> bool {
    i128::from(a.num) * i128::from(b.den) <= i128::from(b.num) * i128::from(a.den)
}

fn path(keys: &[&str]) -> Vec<String> {
    keys.iter().map(|k| (*k).to_owned()).collect()
}

fn unit_name(unit: Unit) -> &'static str {
    match unit {
        Unit::YuanPerPersonMonth => "yuan_per_person_month",
        Unit::YuanPerMonth => "yuan_per_month",
        Unit::Ratio => "ratio",
        Unit::RatioOfStd => "ratio_of_std",
        Unit::RatioOfMinWage => "ratio_of_min_wage",
        Unit::Months => "months",
        Unit::M2PerPerson => "m2_per_person",
        Unit::Count => "count",
        Unit::Flag => "flag",
        Unit::Choice => "choice",
    }
}

/// The line of the node at `path` (mapping keys and sequence indexes), or of the deepest node
/// found on the way.
pub(crate) fn line_of(node: &Node, path: &[String]) -> usize {
    let mut at = node;
    for key in path {
        let next = match (at.get(key), key.parse::<usize>().ok(), at.items()) {
            (Some(n), _, _) => Some(n),
            (None, Some(i), Some(items)) => items.get(i),
            _ => None,
        };
        match next {
            Some(n) => at = n,
            None => break,
        }
    }
    at.line
}

/// The profiles an assessment can name, by id.
#[derive(Debug, Clone, Default)]
pub struct Profiles {
    by_id: BTreeMap<String, Profile>,
}

/// The profiles shipped with the software (embedded at build time).
const BUILTIN: &[(&str, &str)] = &[
    (
        "gen-2025.yaml",
        include_str!("../../../../policy/assess/profiles/gen-2025.yaml"),
    ),
    (
        "bj-2024.yaml",
        include_str!("../../../../policy/assess/profiles/bj-2024.yaml"),
    ),
    (
        "cd-2023.yaml",
        include_str!("../../../../policy/assess/profiles/cd-2023.yaml"),
    ),
];

impl Profiles {
    /// The shipped profiles (GEN-2025, BJ-2024, CD-2023).
    pub fn builtin() -> Result<Profiles, ProfileError> {
        let mut out = Profiles::default();
        for (file, text) in BUILTIN {
            out.insert(Profile::from_yaml(text, file)?, file)?;
        }
        Ok(out)
    }

    /// Loads every `*.yaml` file of a folder.
    pub fn from_dir(dir: &Path) -> Result<Profiles, ProfileError> {
        let mut out = Profiles::default();
        for file in yaml_files(dir)? {
            let name = file.display().to_string();
            let text = std::fs::read_to_string(&file).map_err(|e| ProfileError::Read {
                file: name.clone(),
                message: e.to_string(),
            })?;
            out.insert(Profile::from_yaml(&text, &name)?, &name)?;
        }
        Ok(out)
    }

    fn insert(&mut self, profile: Profile, file: &str) -> Result<(), ProfileError> {
        if self.by_id.contains_key(&profile.id) {
            return Err(ProfileError::Duplicate {
                file: file.to_owned(),
                id: profile.id,
            });
        }
        self.by_id.insert(profile.id.clone(), profile);
        Ok(())
    }

    /// The profile with this id.
    pub fn get(&self, id: &str) -> Option<&Profile> {
        self.by_id.get(id)
    }

    /// The profile ids.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.by_id.keys().map(String::as_str)
    }
}

/// The `*.yaml` files of a folder and its sub-folders, sorted.
pub(crate) fn yaml_files(dir: &Path) -> Result<Vec<std::path::PathBuf>, ProfileError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| ProfileError::Read {
            file: d.display().to_string(),
            message: e.to_string(),
        })?;
        for entry in entries.flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}
