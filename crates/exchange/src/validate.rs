//! Validation of one row of a feed: typing every value, the linking rule, the feed's row rules.
//!
//! This is the only validation code path. File imports (CSV, XLSX, Parquet) call
//! [`check_row`] on cells they have already mapped to canonical columns and normalised; events
//! and callers holding `(column, value)` pairs call [`validate_row`], which normalises and then
//! calls the same [`check_row`].

use crate::reject::{Reason, Reject, mask};
use crate::schema::{ColumnSpec, DECIMAL_SCALE, Feed, FeedSpec, RowRule, ValueType};
use crate::text;
use domain::{CreditCode, Date, Fen, MoneyError, Month, RegionCode, ResidentId};
use std::borrow::Cow;
use std::fmt;

/// A typed value of a column, as the lake stores it.
#[derive(Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// A missing (empty) value.
    Null,
    /// A resident ID number.
    Id(ResidentId),
    /// A region code.
    Region(RegionCode),
    /// A date.
    Date(Date),
    /// A month (`period`).
    Period(Month),
    /// Money in fen.
    Money(Fen),
    /// A decimal, scaled by 10^[`DECIMAL_SCALE`].
    Decimal(i128),
    /// A non-negative integer.
    Integer(i64),
    /// A code's canonical English word.
    Code(&'static str),
    /// Text (also a credit code, in canonical form).
    Text(Cow<'a, str>),
}

impl Value<'_> {
    /// The value without borrows.
    pub fn into_owned(self) -> Value<'static> {
        match self {
            Value::Null => Value::Null,
            Value::Id(v) => Value::Id(v),
            Value::Region(v) => Value::Region(v),
            Value::Date(v) => Value::Date(v),
            Value::Period(v) => Value::Period(v),
            Value::Money(v) => Value::Money(v),
            Value::Decimal(v) => Value::Decimal(v),
            Value::Integer(v) => Value::Integer(v),
            Value::Code(v) => Value::Code(v),
            Value::Text(t) => Value::Text(Cow::Owned(t.into_owned())),
        }
    }

    /// Whether the value is missing.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

impl fmt::Debug for Value<'_> {
    /// Text is masked: it may be a name or an address.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => f.write_str("Null"),
            Value::Id(v) => write!(f, "{v:?}"),
            Value::Region(v) => write!(f, "Region({})", v.as_str()),
            Value::Date(v) => write!(f, "Date({v})"),
            Value::Period(v) => write!(f, "Period({v})"),
            Value::Money(v) => write!(f, "Money({})", v.0),
            Value::Decimal(v) => write!(f, "Decimal({v}e-{DECIMAL_SCALE})"),
            Value::Integer(v) => write!(f, "Integer({v})"),
            Value::Code(v) => write!(f, "Code({v})"),
            Value::Text(t) => write!(f, "Text({})", mask(crate::schema::Privacy::Personal, t)),
        }
    }
}

/// The typed values of one accepted row, in the feed's canonical column order.
#[derive(Debug, Default)]
pub struct CheckedRow<'a> {
    /// One value per column of [`FeedSpec::columns`].
    pub values: Vec<Value<'a>>,
    /// For an unlinked record: the raw `person_id` text (possibly empty), kept for linkage.
    pub raw_id: Option<Cow<'a, str>>,
    /// Values dropped with a warning (population links).
    pub warnings: Vec<Reject>,
}

/// Checks one row whose cells are already mapped to the feed's canonical columns
/// (`cells.len() == spec.columns.len()`) and normalised, with empty values as `None`.
/// On success `out` holds the typed row; on failure every problem of the row is returned.
pub fn check_row<'a>(
    spec: &FeedSpec,
    cells: &mut [Option<Cow<'a, str>>],
    row: u64,
    out: &mut CheckedRow<'a>,
) -> Result<(), Vec<Reject>> {
    out.values.clear();
    out.raw_id = None;
    out.warnings.clear();
    let mut rejects = Vec::new();
    let linked = spec.feed.is_linked();
    let mut person_id_problem: Option<(Reason, Cow<'a, str>)> = None;
    for (i, (column, cell)) in spec.columns.iter().zip(cells.iter_mut()).enumerate() {
        let Some(text) = cell.take() else {
            if column.required && !(linked && i == 0) {
                rejects.push(reject(row, column, Reason::MissingRequired, ""));
            }
            out.values.push(Value::Null);
            continue;
        };
        match parse_value(column, text) {
            Ok(v) => out.values.push(v),
            Err((reason, text)) => {
                if linked && i == 0 {
                    person_id_problem = Some((reason, text));
                } else if column.soft {
                    out.warnings.push(reject(row, column, reason, &text));
                } else {
                    rejects.push(reject(row, column, reason, &text));
                }
                out.values.push(Value::Null);
            }
        }
    }
    if linked && out.values[0].is_null() {
        let has = |name: &str| spec.index(name).is_some_and(|i| !out.values[i].is_null());
        if has("name") && has("birth_date") {
            out.raw_id = Some(
                person_id_problem
                    .map(|(_, t)| t)
                    .unwrap_or(Cow::Borrowed("")),
            );
        } else {
            let (reason, text) =
                person_id_problem.unwrap_or((Reason::MissingRequired, Cow::Borrowed("")));
            rejects.push(reject(row, &spec.columns[0], reason, &text));
        }
    }
    for (rule, [a, b]) in spec.rules.iter().zip(&spec.rule_columns) {
        let (va, vb) = (&out.values[*a], &out.values[*b]);
        let broken = match (rule, va, vb) {
            (RowRule::DateOfId { .. }, Value::Date(d), Value::Id(id)) => {
                (id.birth_date() != *d).then_some(Reason::BirthDateMismatch)
            }
            (RowRule::RequiredUnless { except, .. }, Value::Null, Value::Code(c)) => {
                (c != except).then_some(Reason::MissingRequired)
            }
            (RowRule::RequiredWhen { values, .. }, Value::Null, Value::Code(c)) => {
                values.contains(c).then_some(Reason::MissingRequired)
            }
            (RowRule::NotAbove { .. }, Value::Money(x), Value::Money(limit)) => {
                (x > limit).then_some(Reason::ExceedsTotal)
            }
            _ => None,
        };
        if let Some(reason) = broken {
            let shown = match va {
                Value::Date(d) => d.to_string(),
                Value::Money(m) => m.to_string(),
                _ => String::new(),
            };
            rejects.push(reject(row, &spec.columns[*a], reason, &shown));
        }
    }
    if rejects.is_empty() {
        Ok(())
    } else {
        Err(rejects)
    }
}

fn reject(row: u64, column: &ColumnSpec, reason: Reason, raw: &str) -> Reject {
    Reject {
        row,
        column: column.name,
        reason,
        value: mask(column.privacy, raw),
    }
}

/// Types one normalised, non-empty value; on failure gives the reason and the text back.
fn parse_value<'a>(
    column: &ColumnSpec,
    text: Cow<'a, str>,
) -> Result<Value<'a>, (Reason, Cow<'a, str>)> {
    let parsed = match column.ty {
        ValueType::Id => ResidentId::parse(&text)
            .map(Value::Id)
            .map_err(|_| Reason::InvalidId),
        ValueType::Region => RegionCode::parse(&text)
            .map(Value::Region)
            .map_err(|_| Reason::BadRegion),
        ValueType::Date => Date::parse(&text)
            .map(Value::Date)
            .map_err(|_| Reason::BadDate),
        ValueType::Period => Month::parse(&text)
            .map(Value::Period)
            .map_err(|_| Reason::BadPeriod),
        ValueType::Money => Fen::parse_yuan(&text)
            .map(Value::Money)
            .map_err(|e| match e {
                MoneyError::Negative => Reason::NegativeMoney,
                _ => Reason::BadMoney,
            }),
        ValueType::Decimal => parse_decimal(&text).map(Value::Decimal),
        ValueType::Integer => parse_integer(&text).map(Value::Integer),
        ValueType::Code(list) => list.parse(&text).map(Value::Code).ok_or(Reason::BadCode),
        ValueType::CreditCode => match CreditCode::parse(&text) {
            Ok(code) if code.as_str() == text.as_ref() => return Ok(Value::Text(text)),
            Ok(code) => Ok(Value::Text(Cow::Owned(code.as_str().to_string()))),
            Err(_) => Err(Reason::BadCreditCode),
        },
        ValueType::Text => {
            if column
                .max_chars
                .is_some_and(|max| text.chars().count() > max)
            {
                Err(Reason::TooLong)
            } else {
                return Ok(Value::Text(text));
            }
        }
    };
    parsed.map_err(|reason| (reason, text))
}

/// A non-negative decimal with at most [`DECIMAL_SCALE`] decimals, scaled to an integer.
fn parse_decimal(text: &str) -> Result<i128, Reason> {
    if let Some(rest) = text.strip_prefix('-') {
        return match parse_decimal(rest) {
            Ok(0) => Ok(0),
            Ok(_) => Err(Reason::NegativeNumber),
            Err(e) => Err(e),
        };
    }
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let scale = DECIMAL_SCALE as usize;
    if int.is_empty() || !digits(int) || !digits(frac) || frac.len() > scale || int.len() > 14 {
        return Err(Reason::BadNumber);
    }
    if text.ends_with('.') {
        return Err(Reason::BadNumber);
    }
    let mut v: i128 = 0;
    for b in int.bytes().chain(frac.bytes()) {
        v = v * 10 + i128::from(b - b'0');
    }
    Ok(v * 10i128.pow((scale - frac.len()) as u32))
}

/// A non-negative whole number.
fn parse_integer(text: &str) -> Result<i64, Reason> {
    if let Some(rest) = text.strip_prefix('-') {
        return match parse_integer(rest) {
            Ok(0) => Ok(0),
            Ok(_) => Err(Reason::NegativeNumber),
            Err(e) => Err(e),
        };
    }
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Reason::BadInteger);
    }
    text.parse::<i64>().map_err(|_| Reason::BadInteger)
}

/// An accepted row of a feed, owning its values (see [`validate_row`]).
pub struct ValidRow {
    feed: Feed,
    values: Vec<Value<'static>>,
    raw_id: Option<String>,
    warnings: Vec<Reject>,
}

impl ValidRow {
    /// The feed the row belongs to.
    pub fn feed(&self) -> Feed {
        self.feed
    }

    /// The value of a canonical column (`None` when the feed has no such column).
    pub fn get(&self, column: &str) -> Option<&Value<'static>> {
        self.feed.spec().index(column).map(|i| &self.values[i])
    }

    /// The values in the feed's canonical column order.
    pub fn values(&self) -> &[Value<'static>] {
        &self.values
    }

    /// The person the row names, when its `person_id` is valid.
    pub fn person_id(&self) -> Option<ResidentId> {
        match self.values.first() {
            Some(Value::Id(id)) => Some(*id),
            _ => None,
        }
    }

    /// For an unlinked record (no usable `person_id`, but name and birth date): the raw
    /// `person_id` text, possibly empty. Personal data: never log it.
    pub fn unlinked_raw_id(&self) -> Option<&str> {
        self.raw_id.as_deref()
    }

    /// Values dropped with a warning.
    pub fn warnings(&self) -> &[Reject] {
        &self.warnings
    }
}

impl fmt::Debug for ValidRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ValidRow")
            .field("feed", &self.feed)
            .field("values", &self.values)
            .field("unlinked", &self.raw_id.is_some())
            .finish()
    }
}

/// Validates one row given as `(column, value)` pairs. Columns are named canonically or by an
/// alias; unknown columns are ignored; values are normalised first. This is the same
/// [`check_row`] that file imports use; rejects carry row number 1.
pub fn validate_row(feed: Feed, row: &[(&str, &str)]) -> Result<ValidRow, Vec<Reject>> {
    let spec = feed.spec();
    let mut cells: Vec<Option<Cow<'_, str>>> = vec![None; spec.columns.len()];
    for (name, value) in row {
        if let Some(i) = spec.resolve_header(name) {
            let v = text::normalize(value);
            cells[i] = (!v.is_empty()).then_some(v);
        }
    }
    let mut out = CheckedRow::default();
    check_row(spec, &mut cells, 1, &mut out)?;
    Ok(ValidRow {
        feed,
        values: out.values.into_iter().map(Value::into_owned).collect(),
        raw_id: out.raw_id.map(Cow::into_owned),
        warnings: out.warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Synthetic IDs with a computed check character (province 99 is the test city).
    fn id(first17: &str) -> String {
        let c = domain::id::check_char(first17.as_bytes()) as char;
        format!("{first17}{c}")
    }

    fn person() -> Vec<(&'static str, String)> {
        vec![
            ("person_id", id("99010119800101001")),
            ("name", "张三".into()),
            ("gender", "男".into()),
            ("birth_date", "1980-01-01".into()),
            ("household_id", "H0001".into()),
            ("relation", "户主".into()),
            ("region_code", "990101001001".into()),
            ("status", "normal".into()),
        ]
    }

    fn run(feed: Feed, pairs: &[(&'static str, String)]) -> Result<ValidRow, Vec<Reject>> {
        let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        validate_row(feed, &borrowed)
    }

    fn set(pairs: &mut Vec<(&'static str, String)>, k: &'static str, v: &str) {
        pairs.retain(|(n, _)| *n != k);
        pairs.push((k, v.to_string()));
    }

    fn reasons(r: Result<ValidRow, Vec<Reject>>) -> Vec<(&'static str, &'static str)> {
        match r {
            Ok(_) => vec![],
            Err(rs) => rs.iter().map(|r| (r.column, r.reason.as_str())).collect(),
        }
    }

    #[test]
    fn a_good_person_is_typed() {
        let row = run(Feed::Population, &person()).unwrap();
        assert_eq!(row.get("gender"), Some(&Value::Code("male")));
        assert_eq!(row.get("relation"), Some(&Value::Code("head")));
        assert_eq!(
            row.person_id().map(|p| p.as_str().to_string()),
            Some(id("99010119800101001"))
        );
        assert!(matches!(row.get("address"), Some(Value::Null)));
        assert!(!format!("{row:?}").contains("张三"));
    }

    #[test]
    fn full_width_and_lower_x_normalise() {
        let mut p = person();
        let text = id("99010119800101001");
        let wide: String = text
            .chars()
            .map(|c| char::from_u32(c as u32 - 0x30 + 0xFF10).unwrap_or(c))
            .collect();
        set(&mut p, "person_id", &format!("\u{3000}{wide} "));
        assert!(run(Feed::Population, &p).is_ok());
    }

    #[test]
    fn population_rules() {
        let mut p = person();
        set(&mut p, "birth_date", "1980-01-02");
        assert_eq!(
            reasons(run(Feed::Population, &p)),
            [("birth_date", "birth_date_mismatch")]
        );

        let mut p = person();
        set(&mut p, "status", "死亡");
        assert_eq!(
            reasons(run(Feed::Population, &p)),
            [("status_date", "missing_required")]
        );
        set(&mut p, "status_date", "2026-01-05");
        assert!(run(Feed::Population, &p).is_ok());

        let mut p = person();
        set(&mut p, "household_id", &"H".repeat(33));
        assert_eq!(
            reasons(run(Feed::Population, &p)),
            [("household_id", "too_long")]
        );
        set(&mut p, "household_id", &"户".repeat(32));
        assert!(run(Feed::Population, &p).is_ok());

        let mut p = person();
        set(&mut p, "person_id", "990101198001010010");
        let r = reasons(run(Feed::Population, &p));
        assert!(r.contains(&("person_id", "invalid_id")), "{r:?}");
        p.retain(|(n, _)| *n != "name");
        let r = reasons(run(Feed::Population, &p));
        assert!(r.contains(&("name", "missing_required")), "{r:?}");

        let mut p = person();
        set(&mut p, "gender", "X");
        set(&mut p, "region_code", "12345");
        set(&mut p, "relation", "boss");
        assert_eq!(
            reasons(run(Feed::Population, &p)),
            [
                ("gender", "bad_code"),
                ("relation", "bad_code"),
                ("region_code", "bad_region")
            ]
        );
    }

    #[test]
    fn bad_links_are_dropped_with_a_warning() {
        let mut p = person();
        set(&mut p, "spouse_id", "123");
        set(&mut p, "father_id", &id("99010119500101003"));
        let row = run(Feed::Population, &p).unwrap();
        assert_eq!(row.get("spouse_id"), Some(&Value::Null));
        assert!(matches!(row.get("father_id"), Some(Value::Id(_))));
        assert_eq!(row.warnings().len(), 1);
        assert_eq!(row.warnings()[0].reason, Reason::InvalidId);
        assert_eq!(row.warnings()[0].column, "spouse_id");
    }

    fn medical() -> Vec<(&'static str, String)> {
        vec![
            ("person_id", id("99010119800101001")),
            ("settled_date", "2026/6/3".into()),
            ("total_cost", "1,234.50".into()),
            ("fund_paid", "1000".into()),
            ("out_of_pocket", "234.5".into()),
            ("kind", "住院".into()),
        ]
    }

    #[test]
    fn medical_rules_and_money() {
        let row = run(Feed::Medical, &medical()).unwrap();
        assert_eq!(row.get("total_cost"), Some(&Value::Money(Fen(123_450))));
        assert_eq!(row.get("out_of_pocket"), Some(&Value::Money(Fen(23_450))));
        let mut m = medical();
        set(&mut m, "out_of_pocket", "1234.51");
        assert_eq!(
            reasons(run(Feed::Medical, &m)),
            [("out_of_pocket", "exceeds_total")]
        );
        set(&mut m, "out_of_pocket", "-1");
        assert_eq!(
            reasons(run(Feed::Medical, &m)),
            [("out_of_pocket", "negative_money")]
        );
        set(&mut m, "out_of_pocket", "1.234");
        assert_eq!(
            reasons(run(Feed::Medical, &m)),
            [("out_of_pocket", "bad_money")]
        );
        let mut m = medical();
        set(&mut m, "settled_date", "2026-02-30");
        assert_eq!(
            reasons(run(Feed::Medical, &m)),
            [("settled_date", "bad_date")]
        );
    }

    #[test]
    fn linking_rule() {
        // Mistyped ID with name and birth date: kept unlinked, raw text kept.
        let mut m = medical();
        set(&mut m, "person_id", "99010119800101002");
        set(&mut m, "name", "李四");
        set(&mut m, "birth_date", "19800101");
        let row = run(Feed::Medical, &m).unwrap();
        assert_eq!(row.person_id(), None);
        assert_eq!(row.unlinked_raw_id(), Some("99010119800101002"));
        // Missing ID with name and birth date: kept, raw text empty.
        m.retain(|(n, _)| *n != "person_id");
        assert_eq!(run(Feed::Medical, &m).unwrap().unlinked_raw_id(), Some(""));
        // Neither: rejected.
        m.retain(|(n, _)| *n != "name");
        assert_eq!(
            reasons(run(Feed::Medical, &m)),
            [("person_id", "missing_required")]
        );
        set(&mut m, "person_id", "12345");
        assert_eq!(
            reasons(run(Feed::Medical, &m)),
            [("person_id", "invalid_id")]
        );
        // A 15-digit number is converted and linked.
        set(&mut m, "person_id", "990101800101001");
        let row = run(Feed::Medical, &m).unwrap();
        assert_eq!(
            row.person_id().map(|p| p.as_str()[..8].to_string()),
            Some("99010119".into())
        );
    }

    #[test]
    fn assistance_amount_required_for_dibao_and_tekun() {
        let spell = |program: &str| {
            vec![
                ("person_id", id("99010119800101001")),
                ("household_id", "H1".into()),
                ("program", program.to_string()),
                ("region_code", "990101".into()),
                ("start_date", "2025-01-01".into()),
            ]
        };
        assert_eq!(
            reasons(run(Feed::Assistance, &spell("低保"))),
            [("monthly_amount", "missing_required")]
        );
        assert_eq!(
            reasons(run(Feed::Assistance, &spell("tekun"))),
            [("monthly_amount", "missing_required")]
        );
        let row = run(Feed::Assistance, &spell("临时救助")).unwrap();
        assert_eq!(
            row.get("region_code").map(|v| format!("{v:?}")),
            Some("Region(990101000000)".into())
        );
        let mut s = spell("dibao");
        s.push(("monthly_amount", "800".into()));
        assert!(run(Feed::Assistance, &s).is_ok());
        s.push(("program", "pension".into()));
        s.remove(2);
        assert_eq!(
            reasons(run(Feed::Assistance, &s)),
            [("program", "bad_code")]
        );
    }

    #[test]
    fn numbers_periods_and_credit_codes() {
        let util = |kwh: &str, arrears: &str, period: &str| {
            vec![
                ("person_id", id("99010119800101001")),
                ("period", period.to_string()),
                ("electricity_kwh", kwh.to_string()),
                ("arrears_months", arrears.to_string()),
            ]
        };
        let row = run(Feed::Utilities, &util("63.5", "0", "202606")).unwrap();
        assert_eq!(row.get("electricity_kwh"), Some(&Value::Decimal(635_000)));
        assert_eq!(row.get("arrears_months"), Some(&Value::Integer(0)));
        let bad = |k, a, p| reasons(run(Feed::Utilities, &util(k, a, p)));
        assert_eq!(
            bad("-1.5", "0", "2026-06"),
            [("electricity_kwh", "negative_number")]
        );
        assert_eq!(
            bad("1.23456", "0", "2026-06"),
            [("electricity_kwh", "bad_number")]
        );
        assert_eq!(
            bad("abc", "0", "2026-06"),
            [("electricity_kwh", "bad_number")]
        );
        assert_eq!(
            bad("1", "1.5", "2026-06"),
            [("arrears_months", "bad_integer")]
        );
        assert_eq!(
            bad("1", "-2", "2026-06"),
            [("arrears_months", "negative_number")]
        );
        assert_eq!(bad("1", "2", "2026-13"), [("period", "bad_period")]);

        let biz = |code: &str| {
            vec![
                ("person_id", id("99010119800101001")),
                ("credit_code", code.to_string()),
                ("role", "股东".into()),
                ("status", "存续".into()),
                ("registered_date", "2020-01-01".into()),
            ]
        };
        let first17 = "91350100M000100Y4";
        let good = domain::credit::credit_check_char(first17.as_bytes()).unwrap() as char;
        let bad = if good == '0' { '1' } else { '0' };
        assert_eq!(
            reasons(run(Feed::Business, &biz(&format!("{first17}{bad}")))),
            [("credit_code", "bad_credit_code")]
        );
        assert!(run(Feed::Business, &biz(&format!("{first17}{good}"))).is_ok());
    }

    #[test]
    fn decimal_and_integer_parsers() {
        assert_eq!(parse_decimal("0"), Ok(0));
        assert_eq!(parse_decimal("12.3456"), Ok(123_456));
        assert_eq!(parse_decimal("-0"), Ok(0));
        assert_eq!(parse_decimal("1."), Err(Reason::BadNumber));
        assert_eq!(parse_decimal(".5"), Err(Reason::BadNumber));
        assert_eq!(parse_integer("007"), Ok(7));
        assert_eq!(
            parse_integer("99999999999999999999"),
            Err(Reason::BadInteger)
        );
    }
}
