//! The feeds the generator writes, as exchange.md §2 lists them: file stem, columns with their
//! canonical English header, the first Chinese alias (used by the GB18030 format) and the value
//! type that decides how each format writes a cell.

/// How a column's values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// Free text and identifiers: `Utf8` in Parquet, a string cell in XLSX.
    Text,
    /// A code of the contract (`male`, `dibao`): written like text.
    Code,
    /// A date: `Date32` in Parquet, an Excel date in XLSX.
    Date,
    /// A month (`YYYY-MM`): `Utf8` everywhere.
    Period,
    /// Money in fen, written as yuan with two decimals: `Decimal128(18, 2)` in Parquet.
    Money,
    /// A non-negative decimal in hundredths: `Decimal128(18, 2)` in Parquet.
    Decimal,
    /// A non-negative whole number: `Int64` in Parquet.
    Integer,
}

/// One column of a feed.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Canonical English header.
    pub name: &'static str,
    /// Chinese header (the first alias of the contract).
    pub alias: &'static str,
    /// Value type.
    pub kind: ColumnType,
    /// Whether the contract requires a value.
    pub required: bool,
}

const fn col(name: &'static str, alias: &'static str, kind: ColumnType, required: bool) -> Column {
    Column {
        name,
        alias,
        kind,
        required,
    }
}

use ColumnType::{Code, Date, Decimal, Integer, Money, Period, Text};

/// The feeds of the contract, in the contract's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Feed {
    /// 户籍人口.
    Population,
    /// 救助名册.
    Assistance,
    /// 残疾人.
    Disability,
    /// 就业与社保.
    Employment,
    /// 医保结算.
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
    /// 水电气.
    Utilities,
    /// 家计调查收入.
    Income,
    /// 生活自理能力评估.
    Care,
}

/// The two linkage columns every feed but population carries at its end.
const LINKAGE: [Column; 2] = [
    col("name", "姓名", Text, false),
    col("birth_date", "出生日期", Date, false),
];

const POPULATION: &[Column] = &[
    col("person_id", "公民身份号码", Text, true),
    col("name", "姓名", Text, true),
    col("gender", "性别", Code, true),
    col("birth_date", "出生日期", Date, true),
    col("household_id", "户号", Text, true),
    col("relation", "与户主关系", Code, true),
    col("region_code", "行政区划代码", Text, true),
    col("address", "住址", Text, false),
    col("status", "人口状态", Code, true),
    col("status_date", "状态变更日期", Date, false),
    col("spouse_id", "配偶公民身份号码", Text, false),
    col("father_id", "父亲公民身份号码", Text, false),
    col("mother_id", "母亲公民身份号码", Text, false),
];

const ASSISTANCE: &[Column] = &[
    col("person_id", "身份证号", Text, true),
    col("household_id", "户号", Text, true),
    col("program", "救助项目", Code, true),
    col("region_code", "行政区划代码", Text, true),
    col("start_date", "开始日期", Date, true),
    col("end_date", "结束日期", Date, false),
    col("monthly_amount", "月救助金额", Money, false),
    LINKAGE[0],
    LINKAGE[1],
];

const DISABILITY: &[Column] = &[
    col("person_id", "身份证号", Text, true),
    col("category", "残疾类别", Code, true),
    col("grade", "残疾等级", Code, true),
    col("certified_date", "发证日期", Date, true),
    LINKAGE[0],
    LINKAGE[1],
];

const EMPLOYMENT: &[Column] = &[
    col("person_id", "身份证号", Text, true),
    col("period", "所属期", Period, true),
    col("status", "就业状态", Code, true),
    col("monthly_wage", "月工资", Money, false),
    col("pension", "养老金", Money, false),
    col("unemployment_benefit", "失业保险金", Money, false),
    LINKAGE[0],
    LINKAGE[1],
];

const MEDICAL: &[Column] = &[
    col("person_id", "身份证号", Text, true),
    col("settled_date", "结算日期", Date, true),
    col("total_cost", "总费用", Money, true),
    col("fund_paid", "统筹支付", Money, true),
    col("out_of_pocket", "个人自付", Money, true),
    col("kind", "就诊类型", Code, true),
    col("diagnosis", "诊断编码", Text, false),
    LINKAGE[0],
    LINKAGE[1],
];

const REAL_ESTATE: &[Column] = &[
    col("person_id", "身份证号", Text, true),
    col("property_id", "不动产单元号", Text, true),
    col("usage", "用途", Code, true),
    col("area_m2", "面积", Decimal, true),
    col("registered_date", "登记日期", Date, true),
    col("cancelled_date", "注销日期", Date, false),
    LINKAGE[0],
    LINKAGE[1],
];

const VEHICLES: &[Column] = &[
    col("person_id", "身份证号", Text, true),
    col("plate", "号牌号码", Text, true),
    col("vehicle_type", "车辆类型", Code, true),
    col("registered_date", "登记日期", Date, true),
    col("cancelled_date", "注销日期", Date, false),
    col("price", "购置价格", Money, false),
    LINKAGE[0],
    LINKAGE[1],
];

const BUSINESS: &[Column] = &[
    col("person_id", "身份证号", Text, true),
    col("credit_code", "统一社会信用代码", Text, true),
    col("role", "角色", Code, true),
    col("registered_capital", "注册资本", Money, false),
    col("status", "登记状态", Code, true),
    col("registered_date", "成立日期", Date, true),
    LINKAGE[0],
    LINKAGE[1],
];

const FINANCE: &[Column] = &[
    col("person_id", "身份证号", Text, true),
    col("as_of", "查询日期", Date, true),
    col("deposits", "存款", Money, true),
    col("securities", "有价证券", Money, false),
    col("other_assets", "其他金融资产", Money, false),
    LINKAGE[0],
    LINKAGE[1],
];

const EDUCATION: &[Column] = &[
    col("person_id", "身份证号", Text, true),
    col("school_year", "学年", Text, true),
    col("level", "学段", Code, true),
    col("annual_tuition", "学费", Money, false),
    LINKAGE[0],
    LINKAGE[1],
];

const UTILITIES: &[Column] = &[
    col("person_id", "身份证号", Text, true),
    col("period", "所属期", Period, true),
    col("electricity_kwh", "用电量", Decimal, false),
    col("water_m3", "用水量", Decimal, false),
    col("arrears_months", "欠费月数", Integer, true),
    LINKAGE[0],
    LINKAGE[1],
];

const INCOME: &[Column] = &[
    col("person_id", "身份证号", Text, true),
    col("period", "所属期", Period, true),
    col("kind", "收入类型", Code, true),
    col("monthly_amount", "月收入", Money, true),
    LINKAGE[0],
    LINKAGE[1],
];

const CARE: &[Column] = &[
    col("person_id", "身份证号", Text, true),
    col("self_care", "自理能力", Code, true),
    col("assessed_date", "评估日期", Date, true),
    LINKAGE[0],
    LINKAGE[1],
];

impl Feed {
    /// Every feed, in the contract's order.
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

    /// The feed's name and file stem.
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

    /// The columns written, in file order. Every feed but population ends with `name` and
    /// `birth_date` for record linkage.
    pub const fn columns(self) -> &'static [Column] {
        match self {
            Feed::Population => POPULATION,
            Feed::Assistance => ASSISTANCE,
            Feed::Disability => DISABILITY,
            Feed::Employment => EMPLOYMENT,
            Feed::Medical => MEDICAL,
            Feed::RealEstate => REAL_ESTATE,
            Feed::Vehicles => VEHICLES,
            Feed::Business => BUSINESS,
            Feed::Finance => FINANCE,
            Feed::Education => EDUCATION,
            Feed::Utilities => UTILITIES,
            Feed::Income => INCOME,
            Feed::Care => CARE,
        }
    }

    /// Position in [`Feed::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_feed_but_population_names_its_person_first_and_ends_with_linkage_columns() {
        for feed in Feed::ALL {
            let cols = feed.columns();
            assert_eq!(cols[0].name, "person_id");
            assert_eq!(Feed::ALL[feed.index()], feed);
            if feed != Feed::Population {
                let n = cols.len();
                assert_eq!((cols[n - 2].name, cols[n - 1].name), ("name", "birth_date"));
            }
        }
    }
}
