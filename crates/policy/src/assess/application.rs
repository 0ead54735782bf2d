//! The application a household makes (reference §11.1): who lives in it, their relation to the
//! applicant, age, disability, health, work, income by kind, assets, and the legal obligors who
//! live elsewhere (supporters). Read from YAML or JSON (serde), or built field by field by the
//! web application's form. Amounts are written in yuan and held in fen; incomes are monthly
//! averages over the profile's look-back window.
//!
//! Members are named by a short label chosen by the form (`m1`, `m2` …), never by name or ID
//! number. Health and disability are personal data: `Debug` shows only the label and relation.

use std::fmt;

use domain::{Date, Fen};
use serde::{Deserialize, Serialize};

use super::money::{as_yuan, as_yuan_opt};

/// A household's application for assessment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Application {
    /// The profile to assess against (e.g. `GEN-2025`).
    pub profile: String,
    /// The household's region code (12 digits, or 6); the profile's first region when absent.
    #[serde(default)]
    pub region: Option<String>,
    /// Urban or rural rate; read from the region code (村委会 = rural) when absent.
    #[serde(default)]
    pub area: Option<Area>,
    /// The date the assessment is made for (decision date). No clock is read.
    pub as_of: Date,
    /// The household's status before this assessment (for reviews: taper).
    #[serde(default)]
    pub current: Option<CurrentStatus>,
    /// A single parent raises a child aged 16 or less or a full-time student (Beijing 核减).
    #[serde(default)]
    pub single_parent: bool,
    /// The members, applicant first or anywhere.
    pub members: Vec<Member>,
    /// Homes and other buildings owned or rented.
    #[serde(default)]
    pub housing: Vec<Housing>,
    /// Motor vehicles.
    #[serde(default)]
    pub vehicles: Vec<Vehicle>,
    /// The household owns large farm machinery.
    #[serde(default)]
    pub large_farm_machinery: bool,
    /// Rigid spending in the 12 months before the application (刚性支出, S4 §5).
    #[serde(default)]
    pub expenses_12m: Expenses,
    /// Legal obligors living outside the household.
    #[serde(default)]
    pub supporters: Vec<Supporter>,
    /// A hardship that asks for temporary assistance (临时救助).
    #[serde(default)]
    pub hardship: Option<Hardship>,
    /// Dates of members' deaths since the last review.
    #[serde(default)]
    pub deaths: Vec<Date>,
}

/// A sudden hardship (S1 §47; S8 §二(一)).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Hardship {
    /// Emergency (accident, sudden illness) or expenditure (necessary spending shock).
    pub kind: HardshipKind,
    /// Necessary spending after insurance and other aid (expenditure type).
    #[serde(default, with = "as_yuan")]
    pub necessary_spending: Fen,
    /// Household income of the last 12 months (defaults to 12 × the monthly income).
    #[serde(default, with = "as_yuan_opt")]
    pub income_12m: Option<Fen>,
}

/// Type of temporary assistance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HardshipKind {
    /// 急难型.
    Emergency,
    /// 支出型.
    Expenditure,
}

/// Urban or rural.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Area {
    /// 城市.
    Urban,
    /// 农村.
    Rural,
}

/// The household's assistance before this assessment.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CurrentStatus {
    /// The programme.
    pub status: CurrentProgram,
    /// The monthly payment so far.
    #[serde(default, with = "as_yuan")]
    pub previous_payment: Fen,
}

/// Programmes a household can be on before a review.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CurrentProgram {
    /// 低保.
    Dibao,
    /// 低保边缘 / 低收入.
    Marginal,
    /// 渐退.
    Taper,
    /// None.
    None,
}

/// A member's relation to the applicant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kin {
    /// The applicant.
    Applicant,
    /// Spouse.
    Spouse,
    /// Child (also step-child raised by the applicant).
    Child,
    /// Parent.
    Parent,
    /// Grandparent.
    Grandparent,
    /// Grandchild.
    Grandchild,
    /// Brother or sister.
    Sibling,
    /// Someone else (e.g. a parent-in-law).
    Other,
}

/// Full-time study level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StudyLevel {
    /// Compulsory education.
    Compulsory,
    /// Ordinary high school.
    HighSchool,
    /// Secondary or higher vocational.
    Vocational,
    /// Bachelor.
    Bachelor,
    /// Postgraduate.
    Postgrad,
}

/// Disability category of the certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DisabilityKind {
    /// 视力.
    Visual,
    /// 听力.
    Hearing,
    /// 言语.
    Speech,
    /// 肢体.
    Physical,
    /// 智力.
    Intellectual,
    /// 精神.
    Mental,
    /// 多重.
    Multiple,
}

/// A disability certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Disability {
    /// Category.
    #[serde(rename = "type")]
    pub kind: DisabilityKind,
    /// Grade 1 (most severe) to 4.
    pub grade: u8,
}

impl Disability {
    /// 重度: grade 1-2, or grade 3 intellectual or mental (S2 §8).
    pub fn severe(self) -> bool {
        self.grade <= 2
            || (self.grade == 3
                && matches!(
                    self.kind,
                    DisabilityKind::Intellectual | DisabilityKind::Mental
                ))
    }
}

/// Result of a work-capacity assessment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkCapacity {
    /// Partial loss.
    Partial,
    /// Major loss.
    MajorLoss,
    /// Total loss.
    TotalLoss,
}

/// How a member works.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Employment {
    /// Not working.
    None,
    /// An employee.
    Employee,
    /// Flexible or self-employed.
    Flexible,
}

/// Monthly income by kind (S2 §13), averaged over the look-back window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Income {
    /// Gross wage (工资性收入 before tax and contributions).
    #[serde(with = "as_yuan")]
    pub wage_gross: Fen,
    /// Income tax paid on it.
    #[serde(with = "as_yuan")]
    pub income_tax: Fen,
    /// Personal social-insurance contributions.
    #[serde(with = "as_yuan")]
    pub personal_social_insurance: Fen,
    /// Wage already net of tax and contributions.
    #[serde(with = "as_yuan")]
    pub wage_net: Fen,
    /// Net business income (经营净收入), farming included.
    #[serde(with = "as_yuan")]
    pub business_net: Fen,
    /// Net property income (财产净收入): interest, dividends, rent, land transfer.
    #[serde(with = "as_yuan")]
    pub property_net: Fen,
    /// Employee pension.
    #[serde(with = "as_yuan")]
    pub pension_employee: Fen,
    /// Residents' pension, total.
    #[serde(with = "as_yuan")]
    pub resident_pension_total: Fen,
    /// Of which the centrally set basic pension.
    #[serde(with = "as_yuan")]
    pub resident_pension_central_base: Fen,
    /// Unemployment benefit.
    #[serde(with = "as_yuan")]
    pub unemployment_benefit: Fen,
    /// Survivor benefit.
    #[serde(with = "as_yuan")]
    pub survivor_benefit: Fen,
    /// Maintenance received from persons not listed as supporters.
    #[serde(with = "as_yuan")]
    pub support_received: Fen,
    /// Compensation.
    #[serde(with = "as_yuan")]
    pub compensation: Fen,
    /// Donations.
    #[serde(with = "as_yuan")]
    pub donations: Fen,
    /// Maintenance paid out to persons outside the household.
    #[serde(with = "as_yuan")]
    pub support_paid_out: Fen,
    /// Other countable income.
    #[serde(with = "as_yuan")]
    pub other: Fen,
    /// 优待抚恤金 (exempt).
    #[serde(with = "as_yuan")]
    pub youfu: Fen,
    /// Family-planning rewards and aid (exempt).
    #[serde(with = "as_yuan")]
    pub family_planning_awards: Fen,
    /// Scholarships (exempt).
    #[serde(with = "as_yuan")]
    pub scholarship: Fen,
    /// Bravery awards (exempt).
    #[serde(with = "as_yuan")]
    pub bravery_award: Fen,
    /// Social-assistance cash (exempt).
    #[serde(with = "as_yuan")]
    pub social_assistance_cash: Fen,
    /// Disability living and nursing subsidies (exempt where the profile says so).
    #[serde(with = "as_yuan")]
    pub disability_two_subsidies: Fen,
    /// Old-age allowance 高龄津贴 (exempt where the profile says so; always for 特困).
    #[serde(with = "as_yuan")]
    pub old_age_allowance: Fen,
}

/// Money assets (S2 §14).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Assets {
    /// Cash and bank deposits.
    #[serde(with = "as_yuan")]
    pub deposits: Fen,
    /// Securities and funds.
    #[serde(with = "as_yuan")]
    pub securities: Fen,
    /// Cash value of commercial insurance.
    #[serde(with = "as_yuan")]
    pub commercial_insurance: Fen,
    /// Receivables.
    #[serde(with = "as_yuan")]
    pub receivables: Fen,
    /// Internet-finance assets.
    #[serde(with = "as_yuan")]
    pub internet_finance: Fen,
    /// Capital subscribed as an enterprise investor.
    #[serde(with = "as_yuan")]
    pub subscribed_capital: Fen,
}

impl Assets {
    /// All money assets.
    pub fn money(&self) -> Fen {
        Fen(self
            .deposits
            .0
            .saturating_add(self.securities.0)
            .saturating_add(self.commercial_insurance.0)
            .saturating_add(self.receivables.0)
            .saturating_add(self.internet_finance.0)
            .saturating_add(self.subscribed_capital.0))
    }
}

/// A member of the applying household (or a person living with it).
#[derive(Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// Label chosen by the form (`m1`); not a name or ID number.
    pub id: String,
    /// Relation to the applicant.
    pub relation: Kin,
    /// Age in full years at the as-of date (or give `birth_date`).
    #[serde(default)]
    pub age: Option<u32>,
    /// Birth date (used when `age` is absent).
    #[serde(default)]
    pub birth_date: Option<Date>,
    /// Lives with the applicant.
    #[serde(default = "yes")]
    pub co_resident: bool,
    /// Has lived with the applicant for a long time (长期共同居住).
    #[serde(default = "yes")]
    pub long_term_coresident: bool,
    /// Married.
    #[serde(default)]
    pub married: bool,
    /// Years a religious staff member has lived away from the family.
    #[serde(default)]
    pub religious_staff_away_years: u32,
    /// Serving a prison sentence.
    #[serde(default)]
    pub in_prison: bool,
    /// In compulsory drug detoxification.
    #[serde(default)]
    pub compulsory_detox: bool,
    /// Declared missing.
    #[serde(default)]
    pub declared_missing: bool,
    /// A conscript (义务兵).
    #[serde(default)]
    pub conscript: bool,
    /// Full-time study level, if any.
    #[serde(default)]
    pub fulltime_student_level: Option<StudyLevel>,
    /// Can live independently (an adult child).
    #[serde(default = "yes")]
    pub can_live_independently: bool,
    /// Disability certificate.
    #[serde(default)]
    pub disability: Option<Disability>,
    /// Has a major illness on the local list.
    #[serde(default)]
    pub major_illness_on_local_list: bool,
    /// Result of a work-capacity assessment.
    #[serde(default)]
    pub work_capacity_assessment: Option<WorkCapacity>,
    /// Able to work, when stated (otherwise derived from age, disability and assessment).
    #[serde(default)]
    pub work_capable: Option<bool>,
    /// Employment.
    #[serde(default)]
    pub employment: Option<Employment>,
    /// Shorthand: `employed: false` = no employment.
    #[serde(default)]
    pub employed: Option<bool>,
    /// Income comes from unfixed sources.
    #[serde(default)]
    pub income_unfixed: bool,
    /// Date a job started (for 渐退).
    #[serde(default)]
    pub job_started_on: Option<Date>,
    /// Unjustified refusals of suitable jobs in a row (S1 §45).
    #[serde(default)]
    pub refused_suitable_jobs: u32,
    /// Activities of daily living the person cannot do (0-6).
    #[serde(default)]
    pub adl_failures: u8,
    /// An orphan or de facto unsupported child.
    #[serde(default)]
    pub orphan_or_unsupported_child: bool,
    /// Chooses the orphan / unsupported-child allowance.
    #[serde(default)]
    pub elects_orphan_allowance: bool,
    /// Holds contracted land (rural 特困 rate, S3 §19).
    #[serde(default)]
    pub contracted_land: bool,
    /// Holds a share of rural collective income.
    #[serde(default)]
    pub collective_share: bool,
    /// Relocated to a town under poverty-relief resettlement (urban 特困 rate).
    #[serde(default)]
    pub relocated_to_town: bool,
    /// Currently supported as 特困 (continuation of a minor to 18 and while at school).
    #[serde(default)]
    pub current_tekun: bool,
    /// Beijing top-up groups.
    #[serde(default)]
    pub traditional_relief: bool,
    /// A returned overseas Chinese.
    #[serde(default)]
    pub returned_overseas: bool,
    /// A member of an 优抚 household.
    #[serde(default)]
    pub youfu_household: bool,
    /// Under 60 and past retirement age.
    #[serde(default)]
    pub retired_under_60: bool,
    /// Monthly income by kind.
    #[serde(default)]
    pub income: Income,
    /// Money assets.
    #[serde(default)]
    pub assets: Assets,
}

fn yes() -> bool {
    true
}

impl fmt::Debug for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Member")
            .field("id", &self.id)
            .field("relation", &self.relation)
            .finish_non_exhaustive()
    }
}

/// Tenure of a building.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tenure {
    /// Owned.
    Owned,
    /// Rented (private market).
    Rented,
    /// Public rental housing.
    PublicRental,
    /// Rural homestead.
    Homestead,
}

/// A building the household owns or rents.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Housing {
    /// Residential, or not (shop, office, factory).
    #[serde(default = "yes")]
    pub residential: bool,
    /// Floor area in m² (whole square metres).
    pub floor_area_m2: u32,
    /// It is the household's only home.
    #[serde(default)]
    pub is_sole_residence: bool,
    /// Tenure.
    #[serde(default = "owned")]
    pub tenure: Tenure,
    /// The member who owns it (whole household when absent).
    #[serde(default)]
    pub owner: Option<String>,
}

fn owned() -> Tenure {
    Tenure::Owned
}

/// A motor vehicle.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Vehicle {
    /// Market value.
    #[serde(default, with = "as_yuan")]
    pub market_value: Fen,
    /// A disability compensatory vehicle (残疾人功能性补偿代步机动车辆).
    #[serde(default)]
    pub disability_compensatory: bool,
    /// A tool of the household's production.
    #[serde(default)]
    pub production_tool: bool,
    /// The member who owns it.
    #[serde(default)]
    pub owner: Option<String>,
}

/// Rigid spending over the 12 months before application (S4 §5).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Expenses {
    /// Medical out-of-pocket after insurance and assistance.
    #[serde(with = "as_yuan")]
    pub medical: Fen,
    /// Education at public-school rates (tuition, care, boarding).
    #[serde(with = "as_yuan")]
    pub education: Fen,
    /// Disability rehabilitation and assistive devices, net of subsidies.
    #[serde(with = "as_yuan")]
    pub rehab: Fen,
    /// Other items the county recognises.
    #[serde(with = "as_yuan")]
    pub other: Fen,
}

/// A legal obligor (赡养、抚养、扶养义务人) living outside the household.
#[derive(Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Supporter {
    /// The member they are related to (the applicant when absent).
    #[serde(default)]
    pub supports: Option<String>,
    /// Their relation to that member (a son is `child`).
    pub relation: Kin,
    /// Age.
    pub age: u32,
    /// The supported member raised this sibling (art. 1075 duty of a younger sibling).
    #[serde(default)]
    pub raised_by_supported: bool,
    /// Supported as 特困.
    #[serde(default)]
    pub is_tekun: bool,
    /// On 低保.
    #[serde(default)]
    pub is_dibao: bool,
    /// Their household is 低收入 (Beijing: counts as unable).
    #[serde(default)]
    pub is_low_income: bool,
    /// Disability certificate.
    #[serde(default)]
    pub disability: Option<Disability>,
    /// Lacks civil capacity.
    #[serde(default)]
    pub no_civil_capacity: bool,
    /// Declared missing.
    #[serde(default)]
    pub declared_missing: bool,
    /// Serving a prison sentence.
    #[serde(default)]
    pub in_prison: bool,
    /// Their own monthly income.
    #[serde(default, with = "as_yuan")]
    pub own_income: Fen,
    /// Their assets are within the low-income rule.
    #[serde(default = "yes")]
    pub assets_low_income_ok: bool,
    /// Their household's monthly income (Beijing formula).
    #[serde(default, with = "as_yuan_opt")]
    pub household_income: Option<Fen>,
    /// Persons in their household.
    #[serde(default)]
    pub household_size: Option<u32>,
    /// Households they must support.
    #[serde(default)]
    pub households_to_support: Option<u32>,
    /// Homes their household owns.
    #[serde(default)]
    pub homes_count: u32,
    /// Their household's floor area per person is below the city average.
    #[serde(default)]
    pub homes_area_pc_below_average: bool,
    /// Their household's property per capita is above 3 × last year's per-capita consumption.
    #[serde(default)]
    pub property_pc_above_3x_consumption: bool,
    /// A seriously ill or disabled member in their household.
    #[serde(default)]
    pub has_ill_or_disabled_member: bool,
    /// Amount set by mediation, judgment or agreement.
    #[serde(default, with = "as_yuan_opt")]
    pub support_agreed: Option<Fen>,
    /// Amount actually paid each month.
    #[serde(default, with = "as_yuan")]
    pub support_paid: Fen,
}

impl fmt::Debug for Supporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Supporter")
            .field("relation", &self.relation)
            .field("supports", &self.supports)
            .finish_non_exhaustive()
    }
}

/// Why an application cannot be assessed at all (a malformed application, not an
/// ineligible one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApplicationError {
    /// No member or more than one has relation `applicant`.
    #[error("an application has exactly one member with relation `applicant`")]
    Applicant,
    /// Two members share a label.
    #[error("member label `{0}` is used twice")]
    DuplicateMember(String),
    /// A reference to a member label that does not exist.
    #[error("`{0}` names no member")]
    UnknownMember(String),
    /// A member without age or birth date, or born after the as-of date.
    #[error("member `{0}` needs an age or a birth date on or before the as-of date")]
    Age(String),
    /// A disability grade outside 1-4 or ADL count above 6.
    #[error("member `{0}`: disability grade must be 1-4 and adl_failures 0-6")]
    Range(String),
    /// A negative amount.
    #[error("negative amounts are not allowed ({0})")]
    Negative(String),
    /// The profile is not known.
    #[error("unknown profile `{0}`")]
    UnknownProfile(String),
    /// The region code is malformed or not covered by the profile.
    #[error("region `{0}` is not a region code covered by the profile")]
    Region(String),
    /// The as-of date is before the profile takes effect.
    #[error("the profile takes effect on {0}, after the as-of date")]
    NotInForce(Date),
}

impl Application {
    /// Checks what the procedure relies on: one applicant, unique labels, references to
    /// existing members, ages, ranges, non-negative amounts.
    pub fn validate(&self) -> Result<(), ApplicationError> {
        let applicants = self
            .members
            .iter()
            .filter(|m| m.relation == Kin::Applicant)
            .count();
        if applicants != 1 {
            return Err(ApplicationError::Applicant);
        }
        let mut seen = std::collections::BTreeSet::new();
        for m in &self.members {
            if !seen.insert(m.id.as_str()) {
                return Err(ApplicationError::DuplicateMember(m.id.clone()));
            }
            if self.age_of(m).is_none() {
                return Err(ApplicationError::Age(m.id.clone()));
            }
            if m.disability.is_some_and(|d| !(1..=4).contains(&d.grade)) || m.adl_failures > 6 {
                return Err(ApplicationError::Range(m.id.clone()));
            }
            let i = &m.income;
            let amounts = [
                i.wage_gross,
                i.income_tax,
                i.personal_social_insurance,
                i.wage_net,
                i.pension_employee,
                i.resident_pension_total,
                i.resident_pension_central_base,
                i.unemployment_benefit,
                i.survivor_benefit,
                i.support_received,
                i.compensation,
                i.donations,
                i.support_paid_out,
                i.other,
                i.youfu,
                i.family_planning_awards,
                i.scholarship,
                i.bravery_award,
                i.social_assistance_cash,
                i.disability_two_subsidies,
                i.old_age_allowance,
                m.assets.deposits,
                m.assets.securities,
                m.assets.commercial_insurance,
                m.assets.receivables,
                m.assets.internet_finance,
                m.assets.subscribed_capital,
            ];
            if amounts.iter().any(|a| a.0 < 0) {
                return Err(ApplicationError::Negative(format!("member `{}`", m.id)));
            }
        }
        let known = |id: &Option<String>| match id {
            Some(id) if !seen.contains(id.as_str()) => {
                Err(ApplicationError::UnknownMember(id.clone()))
            }
            _ => Ok(()),
        };
        for h in &self.housing {
            known(&h.owner)?;
        }
        for v in &self.vehicles {
            known(&v.owner)?;
            if v.market_value.0 < 0 {
                return Err(ApplicationError::Negative("vehicle".into()));
            }
        }
        for s in &self.supporters {
            known(&s.supports)?;
            let negative = s.own_income.0 < 0
                || s.support_paid.0 < 0
                || s.household_income.is_some_and(|f| f.0 < 0)
                || s.support_agreed.is_some_and(|f| f.0 < 0);
            if negative {
                return Err(ApplicationError::Negative("supporter".into()));
            }
        }
        let e = &self.expenses_12m;
        if [e.medical, e.education, e.rehab, e.other]
            .iter()
            .any(|a| a.0 < 0)
            || self
                .current
                .as_ref()
                .is_some_and(|c| c.previous_payment.0 < 0)
            || self.hardship.as_ref().is_some_and(|h| {
                h.necessary_spending.0 < 0 || h.income_12m.is_some_and(|f| f.0 < 0)
            })
        {
            return Err(ApplicationError::Negative(
                "expenses or previous payment".into(),
            ));
        }
        Ok(())
    }

    /// A member's age at the as-of date.
    pub fn age_of(&self, m: &Member) -> Option<u32> {
        match (m.age, m.birth_date) {
            (Some(a), _) => Some(a),
            (None, Some(b)) if b <= self.as_of => Some(domain::age_on(b, self.as_of)),
            _ => None,
        }
    }
}
