//! The base facts of a person at an as-of date: what the evaluator (and the batch monitor) needs
//! from the feeds, already reduced by the reading rules of policy.md §2 and §9. Everything the
//! pack's expressions may read about a person is listed in [`BASE_FACTS`] with its type; the
//! pack declares the facts it uses and the checker compares them with this list.

use domain::{
    DisabilityCategory, EmploymentStatus, Fen, PersonStatus, Program, RegionCode, Relation,
    ShortText, VehicleType,
};
use serde::{Deserialize, Serialize};

/// The sentinel for "months ago" facts when there is no such record.
pub const NEVER: i64 = 9999;

/// The type of a fact, parameter or expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Type {
    /// true / false.
    Bool,
    /// A whole number (count, age, months, days).
    Int,
    /// Money, integer fen.
    Money,
    /// A dimensionless decimal (share, multiple).
    Ratio,
    /// Square metres.
    Area,
    /// Kilowatt hours.
    Energy,
    /// One code word of a domain.
    Code(Domain),
    /// A set of code words of a domain.
    Codes(Domain),
    /// A list of money amounts.
    MoneyList,
}

impl Type {
    /// The name of the type in the pack.
    pub fn name(self) -> String {
        match self {
            Type::Bool => "bool".into(),
            Type::Int => "int".into(),
            Type::Money => "money".into(),
            Type::Ratio => "ratio".into(),
            Type::Area => "area".into(),
            Type::Energy => "energy".into(),
            Type::Code(d) => format!("code<{}>", d.name()),
            Type::Codes(d) => format!("codes<{}>", d.name()),
            Type::MoneyList => "money_list".into(),
        }
    }

    /// Parses a type name of the pack.
    pub fn parse(text: &str) -> Option<Type> {
        Some(match text {
            "bool" => Type::Bool,
            "int" => Type::Int,
            "money" => Type::Money,
            "ratio" => Type::Ratio,
            "area" => Type::Area,
            "energy" => Type::Energy,
            "money_list" => Type::MoneyList,
            _ => {
                if let Some(d) = text.strip_prefix("code<").and_then(|t| t.strip_suffix('>')) {
                    Type::Code(Domain::parse(d)?)
                } else if let Some(d) = text
                    .strip_prefix("codes<")
                    .and_then(|t| t.strip_suffix('>'))
                {
                    Type::Codes(Domain::parse(d)?)
                } else {
                    return None;
                }
            }
        })
    }
}

/// A domain of code words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Domain {
    /// Assistance programs.
    Program,
    /// Vehicle types.
    VehicleType,
    /// Care level of a tekun person: self, partial, full.
    CareLevel,
    /// Employment status (`unknown` when no record in the lookback).
    EmploymentStatus,
    /// Disability category (`none` without a certificate).
    DisabilityCategory,
    /// Population status.
    PersonStatus,
    /// Household tier.
    Tier,
    /// Warning level.
    Level,
    /// Asset test level.
    AssetLevel,
}

impl Domain {
    /// Every domain.
    pub const ALL: &'static [Domain] = &[
        Domain::Program,
        Domain::VehicleType,
        Domain::CareLevel,
        Domain::EmploymentStatus,
        Domain::DisabilityCategory,
        Domain::PersonStatus,
        Domain::Tier,
        Domain::Level,
        Domain::AssetLevel,
    ];

    /// The name in the pack.
    pub fn name(self) -> &'static str {
        match self {
            Domain::Program => "program",
            Domain::VehicleType => "vehicle_type",
            Domain::CareLevel => "care_level",
            Domain::EmploymentStatus => "employment_status",
            Domain::DisabilityCategory => "disability_category",
            Domain::PersonStatus => "person_status",
            Domain::Tier => "tier",
            Domain::Level => "level",
            Domain::AssetLevel => "asset_level",
        }
    }

    /// Parses a domain name.
    pub fn parse(text: &str) -> Option<Domain> {
        Domain::ALL.iter().copied().find(|d| d.name() == text)
    }

    /// The words of the domain; a code's value is its position here.
    pub fn words(self) -> &'static [&'static str] {
        match self {
            Domain::Program => &[
                "dibao",
                "tekun",
                "marginal",
                "rigid_expense",
                "temporary",
                "medical",
                "education",
                "housing",
                "employment",
            ],
            Domain::VehicleType => &[
                "car",
                "truck",
                "motorcycle",
                "agricultural",
                "disability",
                "other",
            ],
            Domain::CareLevel => &["self", "partial", "full"],
            Domain::EmploymentStatus => &[
                "employed",
                "flexible",
                "unemployed",
                "retired",
                "none",
                "unknown",
            ],
            Domain::DisabilityCategory => &[
                "visual",
                "hearing",
                "speech",
                "physical",
                "intellectual",
                "mental",
                "multiple",
                "none",
            ],
            Domain::PersonStatus => &["normal", "deceased", "emigrated"],
            Domain::Tier => &["tekun", "dibao", "marginal", "rigid_expense", "none"],
            Domain::Level => &["none", "yellow", "orange", "red"],
            Domain::AssetLevel => &["dibao", "tekun", "marginal", "rigid"],
        }
    }

    /// The position of a word in the domain.
    pub fn index(self, word: &str) -> Option<u16> {
        self.words()
            .iter()
            .position(|w| *w == word)
            .map(|i| i as u16)
    }
}

/// Care level of a tekun person (from the latest care assessment: `full` self-care → `self`,
/// `partial` → `partial`, `none` → `full`; `self` without an assessment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CareLevel {
    /// 生活自理.
    #[default]
    #[serde(rename = "self")]
    Myself,
    /// 半护理.
    Partial,
    /// 全护理.
    Full,
}

impl CareLevel {
    /// The word used in outputs.
    pub fn as_str(self) -> &'static str {
        match self {
            CareLevel::Myself => "self",
            CareLevel::Partial => "partial",
            CareLevel::Full => "full",
        }
    }
}

/// An opaque person key (the resident ID text in production, any label in tests). It is
/// personal data: `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PersonKey(pub ShortText);

impl std::fmt::Debug for PersonKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PersonKey(<{} chars>)", self.0.chars().count())
    }
}

/// A running assistance spell: its program and the household it was approved for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunningSpell {
    /// The program.
    pub program: Program,
    /// The assistance `household_id`.
    pub household_id: ShortText,
}

/// An active residential property (for the two-homes area test; the same `property` key owned
/// by several persons counts once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Home {
    /// The property unit key.
    pub property: ShortText,
    /// Area in hundredths of a square metre.
    pub area_centi_m2: i64,
}

/// Everything about one person at the as-of date A that the pack may read. Built by
/// [`crate::records::person_facts`] from feed records, or computed by the monitor in
/// DataFusion with exactly these meanings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PersonFacts {
    /// The person.
    pub id: PersonKey,
    /// Population `household_id`.
    pub household_id: ShortText,
    /// Population region code (where the household lives).
    #[serde(with = "region_text")]
    pub region: Option<RegionCode>,
    /// Relation to the household head.
    pub relation: Relation,
    /// Population status (applies whatever its date).
    pub status: PersonStatus,
    /// The status date lies in the recent window (A − (recent_days − 1) … A).
    pub status_recent: bool,
    /// The spouse link.
    pub spouse: Option<PersonKey>,
    /// The father link.
    pub father: Option<PersonKey>,
    /// The mother link.
    pub mother: Option<PersonKey>,
    /// Full years at A.
    pub age: i64,
    /// Counted monthly income (latest employment row in the lookback: wage + pension +
    /// unemployment benefit; plus the latest row of each non-exempt income kind).
    pub income: Fen,
    /// The latest finance row (`as_of` ≤ A): deposits + securities + other assets.
    pub financial_assets: Fen,
    /// Registered capital of each active business of the person (registered ≤ A, status active).
    pub business_capitals: Box<[Fen]>,
    /// Grade of the most severe certificate with `certified_date` ≤ A (0 without one).
    pub disability_grade: u8,
    /// Category of that certificate.
    pub disability_category: Option<DisabilityCategory>,
    /// Grade of the most severe certificate issued in the recent window (0 without one).
    pub recent_disability_grade: u8,
    /// Category of that certificate.
    pub recent_disability_category: Option<DisabilityCategory>,
    /// An education row whose school year contains A.
    pub student: bool,
    /// That row's annual tuition.
    pub tuition: Fen,
    /// Σ out-of-pocket of medical settlements in the 12 months before A.
    pub medical_oop_12m: Fen,
    /// A `major` settlement in the 12 months before A.
    pub major_12m: bool,
    /// A `major` settlement in the recent window.
    pub major_recent: bool,
    /// A `major` settlement in the 12 months ending the day before the recent window.
    pub major_before_recent: bool,
    /// A `chronic` settlement in the 12 months before A.
    pub chronic_12m: bool,
    /// Care level from the latest care assessment.
    pub care_level: CareLevel,
    /// The latest employment status in the lookback (`None` = no record).
    pub employment_status: Option<EmploymentStatus>,
    /// Months between that record's period and A's month ([`NEVER`] without one).
    pub employment_months_ago: i64,
    /// The status of the record before it (`None` = no earlier record).
    pub previous_employment_status: Option<EmploymentStatus>,
    /// Months between the latest job start and A's month ([`NEVER`] without one).
    pub job_start_months_ago: i64,
    /// Spells running at A.
    pub running: Box<[RunningSpell]>,
    /// Programs of the spells running on the person's status date (for deaths).
    pub running_at_death: Box<[Program]>,
    /// Types of the vehicles active at A.
    pub active_vehicle_types: Box<[VehicleType]>,
    /// Types of the vehicles registered in the recent window (cancelled or not).
    pub recent_vehicle_types: Box<[VehicleType]>,
    /// Owns active non-residential property at A.
    pub nonresidential_property: bool,
    /// Active residential properties at A.
    pub homes: Box<[Home]>,
    /// A property registered in the recent window (cancelled or not).
    pub property_recent: bool,
    /// An active business registered in the recent window.
    pub business_recent: bool,
    /// Arrears months of the latest utilities row in the lookback.
    pub utility_arrears_months: i64,
    /// Months between that row's period and A's month ([`NEVER`] without one).
    pub utility_months_ago: i64,
    /// Electricity of the latest utilities row with an electricity value, hundredths of kWh.
    pub electricity_centi_kwh: i64,
    /// Months between that row's period and A's month ([`NEVER`] without one).
    pub electricity_months_ago: i64,
}

impl Default for PersonFacts {
    fn default() -> Self {
        PersonFacts {
            id: PersonKey::default(),
            household_id: ShortText::default(),
            region: None,
            relation: Relation::Other,
            status: PersonStatus::Normal,
            status_recent: false,
            spouse: None,
            father: None,
            mother: None,
            age: 0,
            income: Fen(0),
            financial_assets: Fen(0),
            business_capitals: Box::default(),
            disability_grade: 0,
            disability_category: None,
            recent_disability_grade: 0,
            recent_disability_category: None,
            student: false,
            tuition: Fen(0),
            medical_oop_12m: Fen(0),
            major_12m: false,
            major_recent: false,
            major_before_recent: false,
            chronic_12m: false,
            care_level: CareLevel::Myself,
            employment_status: None,
            employment_months_ago: NEVER,
            previous_employment_status: None,
            job_start_months_ago: NEVER,
            running: Box::default(),
            running_at_death: Box::default(),
            active_vehicle_types: Box::default(),
            recent_vehicle_types: Box::default(),
            nonresidential_property: false,
            homes: Box::default(),
            property_recent: false,
            business_recent: false,
            utility_arrears_months: 0,
            utility_months_ago: NEVER,
            electricity_centi_kwh: 0,
            electricity_months_ago: NEVER,
        }
    }
}

/// The base person facts the pack's expressions may read, with their types and meanings.
/// The index in this list is the fact's id.
pub const BASE_FACTS: &[(&str, Type, &str)] = &[
    ("age", Type::Int, "full years at A"),
    ("income", Type::Money, "counted monthly income"),
    (
        "financial_assets",
        Type::Money,
        "latest finance row: deposits + securities + other",
    ),
    (
        "business_capitals",
        Type::MoneyList,
        "capital of each active business",
    ),
    (
        "disability_grade",
        Type::Int,
        "most severe certified grade, 0 = none",
    ),
    (
        "disability_category",
        Type::Code(Domain::DisabilityCategory),
        "category of that certificate",
    ),
    (
        "recent_disability_grade",
        Type::Int,
        "most severe grade certified recently, 0 = none",
    ),
    (
        "recent_disability_category",
        Type::Code(Domain::DisabilityCategory),
        "its category",
    ),
    ("student", Type::Bool, "in a school year containing A"),
    ("tuition", Type::Money, "annual tuition of that school year"),
    (
        "medical_oop_12m",
        Type::Money,
        "medical out-of-pocket in the 12 months before A",
    ),
    (
        "major_12m",
        Type::Bool,
        "a major settlement in the 12 months before A",
    ),
    (
        "major_recent",
        Type::Bool,
        "a major settlement in the recent window",
    ),
    (
        "major_before_recent",
        Type::Bool,
        "a major settlement in the 12 months before the recent window",
    ),
    (
        "chronic_12m",
        Type::Bool,
        "a chronic settlement in the 12 months before A",
    ),
    (
        "care_level",
        Type::Code(Domain::CareLevel),
        "care level from the latest assessment",
    ),
    (
        "employment_status",
        Type::Code(Domain::EmploymentStatus),
        "latest status in the lookback",
    ),
    (
        "employment_months_ago",
        Type::Int,
        "months since that record's period",
    ),
    (
        "previous_employment_status",
        Type::Code(Domain::EmploymentStatus),
        "status of the record before",
    ),
    (
        "job_start_months_ago",
        Type::Int,
        "months since the latest job start",
    ),
    (
        "running",
        Type::Codes(Domain::Program),
        "programs with a spell running at A",
    ),
    (
        "running_at_death",
        Type::Codes(Domain::Program),
        "programs running on the status date",
    ),
    (
        "active_vehicle_types",
        Type::Codes(Domain::VehicleType),
        "types of vehicles active at A",
    ),
    (
        "recent_vehicle_types",
        Type::Codes(Domain::VehicleType),
        "types registered recently",
    ),
    (
        "nonresidential_property",
        Type::Bool,
        "owns active non-residential property",
    ),
    (
        "property_recent",
        Type::Bool,
        "property registered recently",
    ),
    (
        "business_recent",
        Type::Bool,
        "active business registered recently",
    ),
    (
        "utility_arrears_months",
        Type::Int,
        "arrears of the latest utilities row",
    ),
    (
        "utility_months_ago",
        Type::Int,
        "months since that row's period",
    ),
    (
        "electricity_kwh",
        Type::Energy,
        "electricity of the latest row with a value",
    ),
    (
        "electricity_months_ago",
        Type::Int,
        "months since that row's period",
    ),
    (
        "status",
        Type::Code(Domain::PersonStatus),
        "population status",
    ),
    (
        "status_recent",
        Type::Bool,
        "status date in the recent window",
    ),
];

/// Facts of the household computed by the evaluator, with the stage after which they are known.
pub const HOUSEHOLD_FACTS: &[(&str, Type, Stage, &str)] = &[
    (
        "running_programs",
        Type::Codes(Domain::Program),
        Stage::Start,
        "programs with a running spell naming the household or held by a living member",
    ),
    (
        "tier",
        Type::Code(Domain::Tier),
        Stage::Tier,
        "the household tier",
    ),
    ("dibao_amount", Type::Money, Stage::Tier, "the dibao amount"),
    (
        "tekun_count",
        Type::Int,
        Stage::Tekun,
        "living members who are tekun",
    ),
    (
        "dibao_single_count",
        Type::Int,
        Stage::Single,
        "members who are dibao_single",
    ),
    (
        "level",
        Type::Code(Domain::Level),
        Stage::Level,
        "the warning level",
    ),
];

/// Facts of a group under an asset test.
pub const GROUP_FACTS: &[(&str, Type, &str)] = &[
    (
        "level",
        Type::Code(Domain::AssetLevel),
        "the level of the test",
    ),
    (
        "home_count",
        Type::Int,
        "distinct active residential properties of the group",
    ),
    ("home_area", Type::Area, "their total area"),
];

/// Relations of a person inside an aggregate to the person outside it.
pub const RELATION_FACTS: &[(&str, &str)] = &[
    (
        "is_parent",
        "is a linked parent (father or mother) of the outer person",
    ),
    ("is_sibling", "shares a linked parent with the outer person"),
];

/// Person facts that are not in [`BASE_FACTS`] but known to the evaluator per person.
pub const PERSON_STATE_FACTS: &[(&str, Type, Stage, &str)] = &[
    ("tekun", Type::Bool, Stage::Tekun, "the person is tekun"),
    (
        "tekun_amount",
        Type::Money,
        Stage::Tekun,
        "the person's tekun amount, 0 when not tekun",
    ),
    (
        "dibao_single",
        Type::Bool,
        Stage::Single,
        "the person is dibao_single",
    ),
    (
        "dibao_single_amount",
        Type::Money,
        Stage::Single,
        "the dibao_single amount, 0 when not",
    ),
];

/// The order in which the evaluator decides; a rule may only read what is known at its stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Stage {
    /// Before anything is decided.
    Start,
    /// After tekun persons.
    Tekun,
    /// After the household tier.
    Tier,
    /// After dibao_single persons.
    Single,
    /// After signals and the level.
    Level,
}

/// Shows fen as yuan with two decimals.
pub fn yuan(fen: Fen) -> String {
    fen.to_string()
}

mod region_text {
    use domain::RegionCode;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(r: &Option<RegionCode>, s: S) -> Result<S::Ok, S::Error> {
        match r {
            Some(r) => s.serialize_str(r.as_str()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<RegionCode>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        match text {
            None => Ok(None),
            Some(t) => RegionCode::parse(&t)
                .map(Some)
                .map_err(|e| serde::de::Error::custom(format!("region code: {e}"))),
        }
    }
}
