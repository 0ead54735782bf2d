//! The thirteen feeds of the contract (exchange.md §2) as one table of column specifications:
//! canonical name, aliases, value type, whether required, and each feed's row rules. Parsers,
//! validation, the lake schema and masking all read this table; nothing else lists columns.

use arrow_schema::{DataType, Field, Schema};
use std::sync::{Arc, OnceLock};

/// Scale of `decimal` columns in the lake: `Decimal128(DECIMAL_PRECISION, DECIMAL_SCALE)`, so
/// values are exact to 1/10 000 (areas in m², kWh, m³). More decimals are refused (`bad_number`).
pub const DECIMAL_SCALE: i8 = 4;
/// Precision of `decimal` columns in the lake.
pub const DECIMAL_PRECISION: u8 = 18;

/// A feed of the contract: one kind of department extract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Feed {
    /// 户籍人口: the master list of persons, a full snapshot.
    Population,
    /// 救助名册: current and past assistance spells.
    Assistance,
    /// 残疾人.
    Disability,
    /// 就业与社保, monthly.
    Employment,
    /// 医保结算, one row per settlement.
    Medical,
    /// 不动产登记.
    RealEstate,
    /// 机动车登记.
    Vehicles,
    /// 市场主体登记.
    Business,
    /// 金融资产.
    Finance,
    /// 在校学生.
    Education,
    /// 水电气, monthly.
    Utilities,
    /// 家计调查收入, monthly.
    Income,
    /// 生活自理能力评估.
    Care,
}

impl Feed {
    /// Every feed, in the order of the contract.
    pub const ALL: [Feed; 13] = [
        Feed::Population,
        Feed::Assistance,
        Feed::Disability,
        Feed::Employment,
        Feed::Medical,
        Feed::RealEstate,
        Feed::Vehicles,
        Feed::Business,
        Feed::Finance,
        Feed::Education,
        Feed::Utilities,
        Feed::Income,
        Feed::Care,
    ];

    /// The feed's name, which is also its file stem (`population.csv`) and lake folder.
    pub const fn as_str(self) -> &'static str {
        match self {
            Feed::Population => "population",
            Feed::Assistance => "assistance",
            Feed::Disability => "disability",
            Feed::Employment => "employment",
            Feed::Medical => "medical",
            Feed::RealEstate => "real_estate",
            Feed::Vehicles => "vehicles",
            Feed::Business => "business",
            Feed::Finance => "finance",
            Feed::Education => "education",
            Feed::Utilities => "utilities",
            Feed::Income => "income",
            Feed::Care => "care",
        }
    }

    /// The feed of a name (`"medical"`), case-insensitive.
    pub fn parse(name: &str) -> Option<Feed> {
        Feed::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(name))
    }

    /// Whether rows of this feed name their person by `person_id` and may be kept unlinked
    /// (every feed except population).
    pub const fn is_linked(self) -> bool {
        !matches!(self, Feed::Population)
    }

    /// The feed's specification (columns and row rules).
    pub fn spec(self) -> &'static FeedSpec {
        let all = SPECS.get_or_init(|| Feed::ALL.map(FeedSpec::build));
        &all[self as usize]
    }
}

impl std::fmt::Display for Feed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

static SPECS: OnceLock<[FeedSpec; 13]> = OnceLock::new();

/// A code list of the contract; values are stored as the canonical English word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeList {
    /// [`domain::Gender`].
    Gender,
    /// [`domain::Relation`].
    Relation,
    /// [`domain::PersonStatus`].
    PersonStatus,
    /// [`domain::Program`].
    Program,
    /// [`domain::DisabilityCategory`].
    DisabilityCategory,
    /// [`domain::DisabilityGrade`].
    DisabilityGrade,
    /// [`domain::EmploymentStatus`].
    EmploymentStatus,
    /// [`domain::MedicalKind`].
    MedicalKind,
    /// [`domain::PropertyUsage`].
    PropertyUsage,
    /// [`domain::VehicleType`].
    VehicleType,
    /// [`domain::BusinessRole`].
    BusinessRole,
    /// [`domain::BusinessStatus`].
    BusinessStatus,
    /// [`domain::EducationLevel`].
    EducationLevel,
    /// [`domain::IncomeKind`].
    IncomeKind,
    /// [`domain::SelfCare`].
    SelfCare,
}

impl CodeList {
    /// The canonical word of a (normalised) value, or `None` when it is not in the list.
    pub fn parse(self, text: &str) -> Option<&'static str> {
        use domain::*;
        match self {
            CodeList::Gender => Gender::parse(text).map(Gender::as_str),
            CodeList::Relation => Relation::parse(text).map(Relation::as_str),
            CodeList::PersonStatus => PersonStatus::parse(text).map(PersonStatus::as_str),
            CodeList::Program => Program::parse(text).map(Program::as_str),
            CodeList::DisabilityCategory => {
                DisabilityCategory::parse(text).map(DisabilityCategory::as_str)
            }
            CodeList::DisabilityGrade => DisabilityGrade::parse(text).map(DisabilityGrade::as_str),
            CodeList::EmploymentStatus => {
                EmploymentStatus::parse(text).map(EmploymentStatus::as_str)
            }
            CodeList::MedicalKind => MedicalKind::parse(text).map(MedicalKind::as_str),
            CodeList::PropertyUsage => PropertyUsage::parse(text).map(PropertyUsage::as_str),
            CodeList::VehicleType => VehicleType::parse(text).map(VehicleType::as_str),
            CodeList::BusinessRole => BusinessRole::parse(text).map(BusinessRole::as_str),
            CodeList::BusinessStatus => BusinessStatus::parse(text).map(BusinessStatus::as_str),
            CodeList::EducationLevel => EducationLevel::parse(text).map(EducationLevel::as_str),
            CodeList::IncomeKind => IncomeKind::parse(text).map(IncomeKind::as_str),
            CodeList::SelfCare => SelfCare::parse(text).map(SelfCare::as_str),
        }
    }
}

/// The value type of a column (exchange.md §1 "Value types") and how the lake stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// Resident ID number → `Utf8`, 18 characters, upper-case `X`.
    Id,
    /// Statistical division code → `Utf8`, 12 digits.
    Region,
    /// Date → `Date32`.
    Date,
    /// Month → `Date32` of the month's first day.
    Period,
    /// Yuan → `Int64` fen.
    Money,
    /// Non-negative exact decimal → `Decimal128(18, 4)`.
    Decimal,
    /// Non-negative whole number → `Int64`.
    Integer,
    /// Free text → `Utf8`.
    Text,
    /// A code list → `Utf8`, the canonical English word.
    Code(CodeList),
    /// Unified social credit code (GB 32100-2015, checksum validated) → `Utf8`.
    CreditCode,
}

impl ValueType {
    /// The Arrow type the lake stores this value type as.
    pub fn arrow_type(self) -> DataType {
        match self {
            ValueType::Date | ValueType::Period => DataType::Date32,
            ValueType::Money | ValueType::Integer => DataType::Int64,
            ValueType::Decimal => DataType::Decimal128(DECIMAL_PRECISION, DECIMAL_SCALE),
            ValueType::Id
            | ValueType::Region
            | ValueType::Text
            | ValueType::Code(_)
            | ValueType::CreditCode => DataType::Utf8,
        }
    }

    /// Whether values of this type are read as dates (XLSX serial numbers are converted).
    pub fn is_date_like(self) -> bool {
        matches!(self, ValueType::Date | ValueType::Period)
    }
}

/// How a column's value is masked in reports (rejects, warnings).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Privacy {
    /// Not personal: shown (truncated).
    Open,
    /// An ID number: `110105********1234`.
    IdNumber,
    /// A name or other personal text: first character and `*`.
    Personal,
}

/// One column of a feed.
#[derive(Debug, Clone, Copy)]
pub struct ColumnSpec {
    /// The canonical English name (lake column name).
    pub name: &'static str,
    /// Chinese aliases accepted in headers.
    pub aliases: &'static [&'static str],
    /// The value type.
    pub ty: ValueType,
    /// Whether a value is required (`*` in the contract).
    pub required: bool,
    /// The longest value accepted, in characters (`too_long` beyond).
    pub max_chars: Option<usize>,
    /// An invalid value drops the value with a warning instead of rejecting the row
    /// (population `spouse_id`, `father_id`, `mother_id`).
    pub soft: bool,
    /// How the value is masked in reports.
    pub privacy: Privacy,
}

const fn col(
    name: &'static str,
    aliases: &'static [&'static str],
    ty: ValueType,
    required: bool,
) -> ColumnSpec {
    let privacy = match ty {
        ValueType::Id => Privacy::IdNumber,
        _ => Privacy::Open,
    };
    ColumnSpec {
        name,
        aliases,
        ty,
        required,
        max_chars: None,
        soft: false,
        privacy,
    }
}

const fn personal(mut c: ColumnSpec) -> ColumnSpec {
    c.privacy = Privacy::Personal;
    c
}

const fn soft(mut c: ColumnSpec) -> ColumnSpec {
    c.soft = true;
    c
}

const fn max_chars(mut c: ColumnSpec, n: usize) -> ColumnSpec {
    c.max_chars = Some(n);
    c
}

/// A rule over several columns of one row.
#[derive(Debug, Clone, Copy)]
pub enum RowRule {
    /// The date column must equal the birth date inside the ID column (`birth_date_mismatch`).
    DateOfId {
        /// The date column.
        date: &'static str,
        /// The ID column.
        id: &'static str,
    },
    /// `column` is required when the code in `when` is not `except` (`missing_required`).
    RequiredUnless {
        /// The column that becomes required.
        column: &'static str,
        /// The code column deciding it.
        when: &'static str,
        /// The code value for which `column` may stay empty.
        except: &'static str,
    },
    /// `column` is required when the code in `when` is one of `values` (`missing_required`).
    RequiredWhen {
        /// The column that becomes required.
        column: &'static str,
        /// The code column deciding it.
        when: &'static str,
        /// The code values for which `column` is required.
        values: &'static [&'static str],
    },
    /// The money in `column` must not exceed the money in `limit` (`exceeds_total`).
    NotAbove {
        /// The bounded column.
        column: &'static str,
        /// The bounding column.
        limit: &'static str,
    },
}

/// A feed's columns (in canonical order) and row rules.
#[derive(Debug)]
pub struct FeedSpec {
    /// The feed.
    pub feed: Feed,
    /// The columns: the contract's columns, then, for linked feeds, the optional linking
    /// columns `name` and `birth_date`.
    pub columns: Vec<ColumnSpec>,
    /// The row rules.
    pub rules: &'static [RowRule],
    /// The lake's Arrow schema for this feed (see the crate documentation).
    pub lake_schema: Arc<Schema>,
    /// For each rule, the indices of its two columns (the checked column first).
    pub(crate) rule_columns: Vec<[usize; 2]>,
}

/// Name of the source row number column in the lake (data rows counted from 1).
pub const ROW_COLUMN: &str = "row";
/// Name of the lake column keeping the raw `person_id` text of an unlinked record.
pub const RAW_ID_COLUMN: &str = "person_id_raw";

use CodeList as C;
use ValueType as T;

const PERSON_ID: ColumnSpec = col("person_id", &["身份证号"], T::Id, true);

const POPULATION: &[ColumnSpec] = &[
    col(
        "person_id",
        &["公民身份号码", "身份证号", "身份证号码"],
        T::Id,
        true,
    ),
    personal(col("name", &["姓名"], T::Text, true)),
    col("gender", &["性别"], T::Code(C::Gender), true),
    personal(col("birth_date", &["出生日期"], T::Date, true)),
    personal(max_chars(col("household_id", &["户号"], T::Text, true), 32)),
    col("relation", &["与户主关系"], T::Code(C::Relation), true),
    col(
        "region_code",
        &["行政区划代码", "区划代码"],
        T::Region,
        true,
    ),
    personal(col("address", &["住址"], T::Text, false)),
    col("status", &["人口状态"], T::Code(C::PersonStatus), true),
    col("status_date", &["状态变更日期"], T::Date, false),
    soft(col("spouse_id", &["配偶公民身份号码"], T::Id, false)),
    soft(col("father_id", &["父亲公民身份号码"], T::Id, false)),
    soft(col("mother_id", &["母亲公民身份号码"], T::Id, false)),
];

const ASSISTANCE: &[ColumnSpec] = &[
    PERSON_ID,
    personal(col(
        "household_id",
        &["户号", "救助家庭编号"],
        T::Text,
        true,
    )),
    col("program", &["救助项目"], T::Code(C::Program), true),
    col("region_code", &["行政区划代码"], T::Region, true),
    col("start_date", &["开始日期"], T::Date, true),
    col("end_date", &["结束日期"], T::Date, false),
    col("monthly_amount", &["月救助金额"], T::Money, false),
];

const DISABILITY: &[ColumnSpec] = &[
    PERSON_ID,
    col(
        "category",
        &["残疾类别"],
        T::Code(C::DisabilityCategory),
        true,
    ),
    col("grade", &["残疾等级"], T::Code(C::DisabilityGrade), true),
    col("certified_date", &["发证日期"], T::Date, true),
];

const EMPLOYMENT: &[ColumnSpec] = &[
    PERSON_ID,
    col("period", &["所属期"], T::Period, true),
    col("status", &["就业状态"], T::Code(C::EmploymentStatus), true),
    col("monthly_wage", &["月工资", "缴费基数"], T::Money, false),
    col("pension", &["养老金"], T::Money, false),
    col("unemployment_benefit", &["失业保险金"], T::Money, false),
];

const MEDICAL: &[ColumnSpec] = &[
    PERSON_ID,
    col("settled_date", &["结算日期"], T::Date, true),
    col("total_cost", &["总费用"], T::Money, true),
    col("fund_paid", &["统筹支付"], T::Money, true),
    col("out_of_pocket", &["个人自付"], T::Money, true),
    col("kind", &["就诊类型"], T::Code(C::MedicalKind), true),
    personal(col("diagnosis", &["诊断编码"], T::Text, false)),
];

const REAL_ESTATE: &[ColumnSpec] = &[
    col("person_id", &["身份证号", "权利人证件号"], T::Id, true),
    personal(col("property_id", &["不动产单元号"], T::Text, true)),
    col("usage", &["用途"], T::Code(C::PropertyUsage), true),
    col("area_m2", &["面积"], T::Decimal, true),
    col("registered_date", &["登记日期"], T::Date, true),
    col("cancelled_date", &["注销日期"], T::Date, false),
];

const VEHICLES: &[ColumnSpec] = &[
    col("person_id", &["身份证号", "所有人证件号"], T::Id, true),
    personal(col("plate", &["号牌号码"], T::Text, true)),
    col("vehicle_type", &["车辆类型"], T::Code(C::VehicleType), true),
    col("registered_date", &["登记日期"], T::Date, true),
    col("cancelled_date", &["注销日期"], T::Date, false),
    col("price", &["购置价格"], T::Money, false),
];

const BUSINESS: &[ColumnSpec] = &[
    PERSON_ID,
    col("credit_code", &["统一社会信用代码"], T::CreditCode, true),
    col("role", &["角色"], T::Code(C::BusinessRole), true),
    col("registered_capital", &["注册资本"], T::Money, false),
    col("status", &["登记状态"], T::Code(C::BusinessStatus), true),
    col("registered_date", &["成立日期"], T::Date, true),
];

const FINANCE: &[ColumnSpec] = &[
    PERSON_ID,
    col("as_of", &["查询日期"], T::Date, true),
    col("deposits", &["存款"], T::Money, true),
    col("securities", &["有价证券"], T::Money, false),
    col("other_assets", &["其他金融资产"], T::Money, false),
];

const EDUCATION: &[ColumnSpec] = &[
    PERSON_ID,
    col("school_year", &["学年"], T::Text, true),
    col("level", &["学段"], T::Code(C::EducationLevel), true),
    col("annual_tuition", &["学费"], T::Money, false),
];

const UTILITIES: &[ColumnSpec] = &[
    col("person_id", &["身份证号", "户主证件号"], T::Id, true),
    col("period", &["所属期"], T::Period, true),
    col("electricity_kwh", &["用电量"], T::Decimal, false),
    col("water_m3", &["用水量"], T::Decimal, false),
    col("arrears_months", &["欠费月数"], T::Integer, true),
];

const INCOME: &[ColumnSpec] = &[
    PERSON_ID,
    col("period", &["所属期"], T::Period, true),
    col("kind", &["收入类型"], T::Code(C::IncomeKind), true),
    col("monthly_amount", &["月收入"], T::Money, true),
];

const CARE: &[ColumnSpec] = &[
    PERSON_ID,
    col("self_care", &["自理能力"], T::Code(C::SelfCare), true),
    col("assessed_date", &["评估日期"], T::Date, true),
];

/// The optional linking columns every feed except population accepts (exchange.md §1
/// "Linking fields").
const LINK_COLUMNS: &[ColumnSpec] = &[
    personal(col("name", &["姓名"], T::Text, false)),
    personal(col("birth_date", &["出生日期"], T::Date, false)),
];

impl FeedSpec {
    fn build(feed: Feed) -> FeedSpec {
        let (own, rules): (&[ColumnSpec], &'static [RowRule]) = match feed {
            Feed::Population => (
                POPULATION,
                &[
                    RowRule::DateOfId {
                        date: "birth_date",
                        id: "person_id",
                    },
                    RowRule::RequiredUnless {
                        column: "status_date",
                        when: "status",
                        except: "normal",
                    },
                ],
            ),
            Feed::Assistance => (
                ASSISTANCE,
                &[RowRule::RequiredWhen {
                    column: "monthly_amount",
                    when: "program",
                    values: &["dibao", "tekun"],
                }],
            ),
            Feed::Disability => (DISABILITY, &[]),
            Feed::Employment => (EMPLOYMENT, &[]),
            Feed::Medical => (
                MEDICAL,
                &[RowRule::NotAbove {
                    column: "out_of_pocket",
                    limit: "total_cost",
                }],
            ),
            Feed::RealEstate => (REAL_ESTATE, &[]),
            Feed::Vehicles => (VEHICLES, &[]),
            Feed::Business => (BUSINESS, &[]),
            Feed::Finance => (FINANCE, &[]),
            Feed::Education => (EDUCATION, &[]),
            Feed::Utilities => (UTILITIES, &[]),
            Feed::Income => (INCOME, &[]),
            Feed::Care => (CARE, &[]),
        };
        let mut columns = own.to_vec();
        if feed.is_linked() {
            columns.extend_from_slice(LINK_COLUMNS);
        }
        let mut fields = vec![Field::new(ROW_COLUMN, DataType::Int64, false)];
        for c in &columns {
            // person_id of a linked feed is null for unlinked records.
            let nullable = !c.required || (feed.is_linked() && c.name == "person_id");
            fields.push(Field::new(c.name, c.ty.arrow_type(), nullable));
        }
        if feed.is_linked() {
            fields.push(Field::new(RAW_ID_COLUMN, DataType::Utf8, true));
        }
        let find = |name: &str| columns.iter().position(|c| c.name == name).unwrap_or(0);
        let rule_columns = rules
            .iter()
            .map(|rule| match *rule {
                RowRule::DateOfId { date, id } => [find(date), find(id)],
                RowRule::RequiredUnless { column, when, .. } => [find(column), find(when)],
                RowRule::RequiredWhen { column, when, .. } => [find(column), find(when)],
                RowRule::NotAbove { column, limit } => [find(column), find(limit)],
            })
            .collect();
        let lake_schema = Arc::new(Schema::new(fields));
        FeedSpec {
            feed,
            columns,
            rules,
            lake_schema,
            rule_columns,
        }
    }

    /// The index of a canonical column name.
    pub fn index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The canonical column a header names (canonical English, any case, or an alias), after
    /// normalisation of the header text.
    pub fn resolve_header(&self, header: &str) -> Option<usize> {
        let header = crate::text::normalize(header);
        self.columns.iter().position(|c| {
            c.name.eq_ignore_ascii_case(&header) || c.aliases.iter().any(|a| *a == header)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_feed_has_its_name_and_person_id_first() {
        for feed in Feed::ALL {
            assert_eq!(Feed::parse(feed.as_str()), Some(feed));
            let spec = feed.spec();
            assert_eq!(spec.feed, feed);
            assert_eq!(spec.columns[0].name, "person_id");
            assert_eq!(spec.columns[0].ty, ValueType::Id);
            let extra = if feed.is_linked() { 2 } else { 1 };
            assert_eq!(spec.lake_schema.fields().len(), spec.columns.len() + extra);
        }
        assert_eq!(Feed::parse("REAL_ESTATE"), Some(Feed::RealEstate));
        assert_eq!(Feed::parse("people"), None);
    }

    #[test]
    fn headers_resolve_by_name_and_alias() {
        let spec = Feed::Population.spec();
        assert_eq!(spec.resolve_header("公民身份号码"), Some(0));
        assert_eq!(spec.resolve_header("身份证号码"), Some(0));
        assert_eq!(spec.resolve_header(" Person_ID "), Some(0));
        assert_eq!(spec.resolve_header("区划代码"), spec.index("region_code"));
        assert_eq!(spec.resolve_header("shoe_size"), None);
        let medical = Feed::Medical.spec();
        assert_eq!(medical.resolve_header("姓名"), medical.index("name"));
        assert_eq!(
            medical.resolve_header("出生日期"),
            medical.index("birth_date")
        );
    }

    #[test]
    fn rule_columns_exist() {
        for feed in Feed::ALL {
            let spec = feed.spec();
            for rule in spec.rules {
                let names: Vec<&str> = match *rule {
                    RowRule::DateOfId { date, id } => vec![date, id],
                    RowRule::RequiredUnless { column, when, .. } => vec![column, when],
                    RowRule::RequiredWhen { column, when, .. } => vec![column, when],
                    RowRule::NotAbove { column, limit } => vec![column, limit],
                };
                for n in names {
                    assert!(spec.index(n).is_some(), "{feed}: {n}");
                }
            }
        }
    }
}
