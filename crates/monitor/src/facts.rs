//! Person facts at an as-of date as DataFusion plans over the lake: every feed reduced to one
//! row per person by the reading rules of policy.md §2 and §9, beside the population rows.
//!
//! The plans yield exactly the base facts of `policy::PersonFacts` (some still as raw dates,
//! turned into ages and month counts when the rows are read, see [`crate::assemble`]). Only
//! plain DataFusion expressions and built-in aggregates are used, but for the number a local
//! run groups rows by ([`Keys::Number`]) and the function by which it reads a linked row's
//! person ([`crate::lake::read_feed`]); a cluster's screening plan joins them and adds the
//! pack's function ([`crate::plan`]).

use std::sync::{Arc, LazyLock};

use arrow::array::{Array, AsArray, Int64Array};
use arrow::datatypes::DataType;
use datafusion::error::DataFusionError;
use datafusion::functions_aggregate::expr_fn::{array_agg, bool_or, count, last_value, max, sum};
use datafusion::logical_expr::{
    ColumnarValue, ExprFunctionExt, JoinType, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl,
    Signature, SortExpr, Volatility,
};
use datafusion::prelude::{DataFrame, Expr, SessionContext, cast, coalesce, col, lit};
use datafusion::scalar::ScalarValue;
use domain::{Date, DisabilityCategory, EmploymentStatus, Month};

use crate::MonitorError;
use crate::lake::{Feed, LakeFiles, read_feed};

/// What the reductions group a feed's rows by: the person ID as it is, or as its number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keys {
    /// The ID's text: plain expressions, which every executor of a cluster can run.
    Text,
    /// The number of a canonical resident ID ([`crate::assemble::canonical_code`]; null for any
    /// other text), by a function of this program: grouping by a number took a fraction of
    /// grouping by text, which hashed and compared the IDs' bytes (a fifth of the processor
    /// time of a local run's reductions at ten million persons). Exact when every population
    /// ID is canonical, as import writes them; a run whose population holds another ID groups
    /// by text ([`crate::assemble::PersonIndex::canonical`]).
    Number,
}

impl Keys {
    /// The key of a row, from its `person_id`.
    fn of(self, person_id: Expr) -> Expr {
        match self {
            Keys::Text => person_id,
            Keys::Number => PERSON_NUMBER.call(vec![person_id]),
        }
    }
}

/// The function that turns a person ID into the number of [`Keys::Number`].
static PERSON_NUMBER: LazyLock<ScalarUDF> = LazyLock::new(|| {
    ScalarUDF::new_from_impl(PersonNumber {
        signature: Signature::any(1, Volatility::Immutable),
    })
});

#[derive(Debug, PartialEq, Eq, Hash)]
struct PersonNumber {
    signature: Signature,
}

impl ScalarUDFImpl for PersonNumber {
    fn name(&self) -> &str {
        "jiuzhu_person_number"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> datafusion::error::Result<DataType> {
        Ok(DataType::Int64)
    }

    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::error::Result<ColumnarValue> {
        let [ids] = args.args.as_slice() else {
            return Err(DataFusionError::Execution(
                "jiuzhu_person_number: one argument expected".into(),
            ));
        };
        let ids = ids.to_array(args.number_rows)?;
        let number = |id: Option<&str>| {
            id.and_then(|id| crate::assemble::canonical_code(id.as_bytes()))
                .and_then(|n| i64::try_from(n).ok())
        };
        let numbers: Int64Array = match ids.data_type() {
            DataType::Utf8 => ids.as_string::<i32>().iter().map(number).collect(),
            DataType::LargeUtf8 => ids.as_string::<i64>().iter().map(number).collect(),
            DataType::Utf8View => ids.as_string_view().iter().map(number).collect(),
            DataType::Null => Int64Array::new_null(ids.len()),
            other => {
                return Err(DataFusionError::Execution(format!(
                    "jiuzhu_person_number: a text expected, not {other}"
                )));
            }
        };
        Ok(ColumnarValue::Array(Arc::new(numbers)))
    }
}

/// The windows of the reading rules, from the policy pack's parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windows {
    /// `income_lookback_months`: monthly records older than this are ignored.
    pub lookback_months: i32,
    /// `recent_days`: what "recent" means.
    pub recent_days: i32,
}

impl Default for Windows {
    fn default() -> Self {
        Windows {
            lookback_months: 12,
            recent_days: 90,
        }
    }
}

/// The dates that bound the windows at an as-of date (policy.md §9).
#[derive(Debug, Clone)]
pub(crate) struct Bounds {
    pub as_of: Date,
    /// First day of A's month.
    pub month_first: Date,
    /// First day of the oldest month in the lookback.
    pub lookback_first: Date,
    /// The 12 months before A are the dates after this one, up to A.
    pub year_excl: Date,
    /// The recent window starts here (A − (recent_days − 1)).
    pub recent_from: Date,
    /// The 12 months before the recent window are after this date, up to `recent_from − 1`.
    pub before_recent_excl: Date,
    /// The school year containing A, written `Y-(Y+1)`.
    pub school_year: String,
}

impl Bounds {
    pub(crate) fn new(as_of: Date, windows: Windows) -> Bounds {
        let month = as_of.month();
        let recent_from = as_of.add_days(-(windows.recent_days - 1));
        let (year, m, _) = as_of.ymd();
        let start = if m >= 9 { year } else { year - 1 };
        Bounds {
            as_of,
            month_first: month.first_day(),
            lookback_first: (month - (windows.lookback_months - 1)).first_day(),
            year_excl: as_of.add_months(-12),
            recent_from,
            before_recent_excl: recent_from.add_days(-1).add_months(-12),
            school_year: format!("{}-{}", start, start + 1),
        }
    }
}

/// Whether an assistance spell runs on day `d`: started by then and not ended before it.
pub(crate) fn running_at(d: Expr) -> Expr {
    col("start_date")
        .lt_eq(d.clone())
        .and(col("end_date").is_null().or(col("end_date").gt_eq(d)))
}

/// A Date32 literal.
pub(crate) fn date_lit(date: Date) -> Expr {
    lit(ScalarValue::Date32(Some(date.days())))
}

/// Months from `month` to `to` (positive when `month` is earlier).
pub(crate) fn months_between(month: Month, to: Month) -> i64 {
    i64::from(to.index() - month.index())
}

fn asc(e: Expr) -> SortExpr {
    e.sort(true, true)
}

fn desc(e: Expr) -> SortExpr {
    e.sort(false, true)
}

/// The order in which "the later row wins": commit order, then row number.
fn file_order() -> Vec<SortExpr> {
    vec![asc(col("seq")), asc(col("row"))]
}

fn ordered(mut first: Vec<SortExpr>) -> Vec<SortExpr> {
    first.extend(file_order());
    first
}

fn agg(e: Expr, filter: Option<Expr>, order: Option<Vec<SortExpr>>) -> Result<Expr, MonitorError> {
    let mut b = e.order_by(order.unwrap_or_default());
    if let Some(f) = filter {
        b = b.filter(f);
    }
    Ok(b.build()?)
}

fn in_range(c: &str, from: Date, to: Date) -> Expr {
    col(c).gt_eq(date_lit(from)).and(col(c).lt_eq(date_lit(to)))
}

fn in_year(c: &str, excl: Date, to: Date) -> Expr {
    col(c).gt(date_lit(excl)).and(col(c).lt_eq(date_lit(to)))
}

fn zero(e: Expr) -> Expr {
    coalesce(vec![e, lit(0i64)])
}

/// The number that stands for an employment status in the plan (1, 2, … in the contract's
/// order). `last_value` with an order keeps an accumulator per group for text but works
/// column-wise on numbers, and employment has a row per person and month.
pub(crate) fn employment_code(status: EmploymentStatus) -> i64 {
    EmploymentStatus::ALL
        .iter()
        .position(|s| *s == status)
        .map_or(0, |i| i as i64 + 1)
}

/// The employment status of a number of [`employment_code`].
pub(crate) fn employment_status(code: i64) -> Option<EmploymentStatus> {
    let i = usize::try_from(code.checked_sub(1)?).ok()?;
    EmploymentStatus::ALL.get(i).copied()
}

/// Lists of `values` (named `names`) over the rows that `filter` keeps (all rows without one),
/// with the rows' file order beside them as `{key}_seqs` and `{key}_rows`: one `array_agg` per
/// list without ORDER BY, which DataFusion computes column-wise (an ordered one keeps an
/// accumulator per group). The lists of one aggregate are filled from the same rows in the
/// same order, so they stay aligned; the reader sorts them into file order
/// ([`crate::assemble`]).
fn lists_in_file_order(
    values: &[Expr],
    names: &[&str],
    filter: Option<Expr>,
    key: &str,
) -> Result<Vec<Expr>, MonitorError> {
    let seqs = format!("{key}_seqs");
    let rows = format!("{key}_rows");
    values
        .iter()
        .cloned()
        .zip(names.iter().copied())
        .chain([(col("seq"), seqs.as_str()), (col("row"), rows.as_str())])
        .map(|(value, name)| Ok(agg(array_agg(value), filter.clone(), None)?.alias(name)))
        .collect()
}

/// `status` of the employment feed as its [`employment_code`] (null for anything else).
fn status_code() -> Result<Expr, MonitorError> {
    let mut builder = datafusion::logical_expr::case(col("status"));
    for status in EmploymentStatus::ALL {
        builder = builder.when(lit(status.as_str()), lit(employment_code(*status)));
    }
    Ok(builder.otherwise(lit(ScalarValue::Int64(None)))?)
}

/// A part of the order in which a feed's rows follow one another before file order (`seq`,
/// `row`), which always comes last.
#[derive(Debug, Clone, Copy)]
enum Key {
    /// A date column, ascending (nulls first).
    Date(&'static str),
    /// A disability grade column, descending (nulls first): grade 1, the most severe, last.
    GradeDescending(&'static str),
}

/// Bits of the order key of a date: null first, then the days from [`FIRST_DAY`], clamped.
const DATE_BITS: u32 = 18;
/// Bits of the order key of a grade: null first, then 14 … 0.
const GRADE_BITS: u32 = 4;
/// The order key of a row fits in a positive Int64 of this many bits.
const ORDER_BITS: u32 = 61;
/// Bits of the value beside the order key: 0 for null, else the Int64 value + 2^63 + 1.
const VALUE_BITS: u32 = 65;
/// Days of 1800-01-01 since 1970-01-01: dates are ordered from here to the 26th century (an
/// earlier or a later date counts as the end of that range, which no valid row reaches).
const FIRST_DAY: i64 = -62_091;

impl Key {
    fn bits(self) -> u32 {
        match self {
            Key::Date(_) => DATE_BITS,
            Key::GradeDescending(_) => GRADE_BITS,
        }
    }

    fn sort(self) -> SortExpr {
        match self {
            Key::Date(c) => asc(col(c)),
            Key::GradeDescending(c) => desc(col(c)),
        }
    }

    /// A non-negative Int64 below 2^bits that orders rows as [`Key::sort`] does.
    fn ordinal(self) -> Result<Expr, MonitorError> {
        Ok(match self {
            Key::Date(c) => {
                let days = cast(col(c), DataType::Int64) - lit(FIRST_DAY);
                let top = (1i64 << DATE_BITS) - 2;
                datafusion::logical_expr::when(col(c).is_null(), lit(0i64))
                    .when(days.clone().lt(lit(0i64)), lit(1i64))
                    .when(days.clone().gt(lit(top)), lit(top + 1))
                    .otherwise(days + lit(1i64))?
            }
            Key::GradeDescending(c) => {
                let top = (1i64 << GRADE_BITS) - 1;
                let grade = cast(col(c), DataType::Int64);
                datafusion::logical_expr::when(col(c).is_null(), lit(0i64))
                    .when(grade.clone().lt(lit(0i64)), lit(top))
                    .when(grade.clone().gt(lit(top - 1)), lit(1i64))
                    .otherwise(lit(top) - grade)?
            }
        })
    }
}

/// How "the value of the latest row" of a feed is computed. When the order key of every row —
/// its keys, `seq` and `row` — fits in [`ORDER_BITS`] bits, the key and the value are packed
/// into one 128-bit decimal, `key · 2^65 + value field`, and the latest row's value is the
/// `max` of those numbers: a column-wise aggregate, where an ordered `last_value` keeps a
/// vector of scalar values per group (a third of the facts plans' time at ten million
/// persons). Otherwise (a feed of thousands of files) it is the ordered `last_value`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Latest {
    /// Bits of `seq` and of `row + 1`, when the lake's bounds are known.
    file_bits: Option<(u32, u32)>,
}

/// Bits needed for the numbers 0 … `max`.
fn bits_for(max: i64) -> u32 {
    64 - (max.max(0) as u64).leading_zeros()
}

/// A Decimal128(38, 0) literal.
fn decimal(v: i128) -> Expr {
    lit(ScalarValue::Decimal128(Some(v), 38, 0))
}

fn to_decimal(e: Expr) -> Expr {
    cast(e, DataType::Decimal128(38, 0))
}

impl Latest {
    /// The packing for a feed's files, if their row numbers are bounded.
    pub(crate) fn of(lake: &LakeFiles, feed: Feed) -> Latest {
        let files = lake.files(feed).len() as i64;
        let file_bits = lake
            .max_row(feed)
            .map(|row| (bits_for(files - 1), bits_for(row + 1)));
        Latest { file_bits }
    }

    /// The bits of `seq` and `row + 1` when rows ordered by `keys` can be packed.
    fn packing(self, keys: &[Key]) -> Option<(u32, u32)> {
        let (seq, row) = self.file_bits?;
        let total: u32 = keys.iter().map(|k| k.bits()).sum::<u32>() + seq + row;
        (total <= ORDER_BITS).then_some((seq, row))
    }
}

/// The aggregates of one reduction, and the expressions that read its result columns.
struct Reduce {
    latest: Latest,
    aggregates: Vec<Expr>,
    outputs: Vec<Expr>,
}

impl Reduce {
    fn new(latest: Latest, keys: &[&str]) -> Reduce {
        Reduce {
            latest,
            aggregates: Vec::new(),
            outputs: keys.iter().map(|k| col(*k)).collect(),
        }
    }

    /// An aggregate as it is.
    fn plain(mut self, aggregate: Expr, name: &str) -> Reduce {
        self.aggregates.push(aggregate.alias(name));
        self.outputs.push(col(name));
        self
    }

    /// The Int64 `value` of the latest row (by `keys`, then file order) among the rows that
    /// `filter` keeps, as `name`; `decode` turns it into the column's final form.
    fn latest(
        mut self,
        value: Expr,
        keys: &[Key],
        filter: Option<Expr>,
        name: &str,
        decode: impl Fn(Expr) -> Result<Expr, MonitorError>,
    ) -> Result<Reduce, MonitorError> {
        let inner = format!("{name}__latest");
        let read = match self.latest.packing(keys) {
            Some((seq_bits, row_bits)) => {
                let mut key = lit(0i64);
                for k in keys {
                    key = key * lit(1i64 << k.bits()) + k.ordinal()?;
                }
                key = key * lit(1i64 << seq_bits) + col("seq");
                key =
                    key * lit(1i64 << row_bits) + coalesce(vec![col("row") + lit(1i64), lit(0i64)]);
                let field = datafusion::logical_expr::when(value.clone().is_null(), decimal(0))
                    .otherwise(to_decimal(value) + decimal((1i128 << 63) + 1))?;
                let packed = to_decimal(key) * decimal(1i128 << VALUE_BITS) + field;
                self.aggregates
                    .push(agg(max(packed), filter, None)?.alias(inner.as_str()));
                let field = col(inner.as_str()) % decimal(1i128 << VALUE_BITS);
                datafusion::logical_expr::when(
                    field.clone().eq(decimal(0)),
                    lit(ScalarValue::Int64(None)),
                )
                .otherwise(cast(field - decimal((1i128 << 63) + 1), DataType::Int64))?
            }
            None => {
                let order = ordered(keys.iter().map(|k| k.sort()).collect());
                self.aggregates.push(
                    agg(last_value(value, vec![]), filter, Some(order))?.alias(inner.as_str()),
                );
                col(inner.as_str())
            }
        };
        self.outputs.push(decode(read)?.alias(name));
        Ok(self)
    }

    /// The reduction of `table` grouped by `group`.
    fn of(self, table: DataFrame, group: Vec<Expr>) -> Result<DataFrame, MonitorError> {
        Ok(table
            .aggregate(group, self.aggregates)?
            .select(self.outputs)?)
    }
}

/// The value as it is.
fn same(e: Expr) -> Result<Expr, MonitorError> {
    Ok(e)
}

/// A code column as the number of its value among `codes` (1, 2, …; null for anything else),
/// and back: a column's text values travel through [`Reduce::latest`] as numbers.
fn code_of(column: &str, codes: &[&str]) -> Result<Expr, MonitorError> {
    let mut builder = datafusion::logical_expr::case(col(column));
    for (i, code) in codes.iter().enumerate() {
        builder = builder.when(lit(*code), lit(i as i64 + 1));
    }
    Ok(builder.otherwise(lit(ScalarValue::Int64(None)))?)
}

fn text_of(number: Expr, codes: &[&str]) -> Result<Expr, MonitorError> {
    let mut builder = datafusion::logical_expr::case(number);
    for (i, code) in codes.iter().enumerate() {
        builder = builder.when(lit(i as i64 + 1), lit(*code));
    }
    Ok(builder.otherwise(lit(ScalarValue::Utf8(None)))?)
}

/// One feed reduced to a row per person, keyed by [`Part::key`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    Employment,
    Income,
    Finance,
    Business,
    Disability,
    Education,
    Medical,
    Care,
    Running,
    AtDeath,
    Vehicles,
    Estate,
    Utilities,
}

impl Part {
    /// Every part.
    pub(crate) const ALL: [Part; 13] = [
        Part::Employment,
        Part::Income,
        Part::Finance,
        Part::Business,
        Part::Disability,
        Part::Education,
        Part::Medical,
        Part::Care,
        Part::Running,
        Part::AtDeath,
        Part::Vehicles,
        Part::Estate,
        Part::Utilities,
    ];

    /// The column of the reduction that holds the person ID.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Part::Employment => "emp_pid",
            Part::Income => "inc_pid",
            Part::Finance => "fin_pid",
            Part::Business => "bus_pid",
            Part::Disability => "dis_pid",
            Part::Education => "edu_pid",
            Part::Medical => "med_pid",
            Part::Care => "care_pid",
            Part::Running => "run_pid",
            Part::AtDeath => "dth_pid",
            Part::Vehicles => "veh_pid",
            Part::Estate => "est_pid",
            Part::Utilities => "utl_pid",
        }
    }
}

/// The plans of the person facts: the population rows, and every feed reduced to one row per
/// person. The reductions are not joined onto the population in a plan (twelve joins copied
/// every population column through each of them, and a cluster sent the wide result back); the
/// rows of each reduction are put into their persons' facts when they are read
/// ([`crate::assemble`]), as a left join would.
pub(crate) struct Facts {
    /// One row per population row (every status), with the population columns.
    pub population: DataFrame,
    /// The reductions (employment: its rows, reduced when they are read), each keyed by its
    /// part's key column.
    pub parts: Vec<(Part, DataFrame)>,
}

/// Builds the plans of person facts at the bounds' as-of date: the population's on `ctx`, the
/// reductions on `parts_ctx` (a local run plans them on one partition each).
pub(crate) async fn person_facts(
    ctx: &SessionContext,
    parts_ctx: &SessionContext,
    lake: &LakeFiles,
    bounds: &Bounds,
    packed: bool,
) -> Result<Facts, MonitorError> {
    Ok(Facts {
        population: population(ctx, lake).await?,
        parts: reductions(parts_ctx, lake, bounds, packed, Keys::Text).await?,
    })
}

/// The plan of the population's rows (every status) with the columns the facts take from
/// them. The population is what rows are linked to: it needs no links.
pub(crate) async fn population(
    ctx: &SessionContext,
    lake: &LakeFiles,
) -> Result<DataFrame, MonitorError> {
    Ok(read_feed(ctx, lake, Feed::Population).await?.select(vec![
        col("person_id"),
        col("household_id"),
        col("relation"),
        col("region_code"),
        col("birth_date"),
        col("status"),
        col("status_date"),
        col("spouse_id"),
        col("father_id"),
        col("mother_id"),
        // where the row is, for the registry's order when a cluster gathers a household
        col("seq"),
        col("row"),
    ])?)
}

/// The plans of the reductions of every feed but the population, each keyed by its part's key
/// column, at the bounds' as-of date.
pub(crate) async fn reductions(
    parts_ctx: &SessionContext,
    lake: &LakeFiles,
    bounds: &Bounds,
    packed: bool,
    keys: Keys,
) -> Result<Vec<(Part, DataFrame)>, MonitorError> {
    let pid = || keys.of(col("person_id"));
    let b = bounds;
    let a = b.as_of;
    let latest = |feed: Feed| {
        if packed {
            Latest::of(lake, feed)
        } else {
            Latest { file_bits: None }
        }
    };
    let mut parts = Vec::new();

    // Employment: its rows up to A's month, each as its person, period, status (as a
    // number), earnings and place in file order. One record per person and period (the later
    // row wins), the status of the record before each, job starts and the latest record in the
    // lookback are found per person when the rows are read ([`crate::assemble::employment`]),
    // which sorts each person's rows anyway: as an aggregate per person and period the plan
    // was the largest of the thirteen (a quarter of their time at ten million persons), and
    // as a `lag` window and a second aggregate it had been a fifth more, most of it sorting
    // and copying the rows for the window.
    let employment = read_feed(parts_ctx, lake, Feed::Employment)
        .await?
        .filter(
            col("person_id")
                .is_not_null()
                .and(col("period").lt_eq(date_lit(b.month_first))),
        )?
        .select(vec![
            pid().alias("emp_pid"),
            col("period"),
            status_code()?.alias("status"),
            (zero(col("monthly_wage")) + zero(col("pension")) + zero(col("unemployment_benefit")))
                .alias("earned"),
            col("seq"),
            col("row"),
        ])?;
    parts.push((Part::Employment, employment));

    // Declared income: the latest row of each counted kind in the lookback.
    let income = read_feed(parts_ctx, lake, Feed::Income).await?.filter(
        col("person_id")
            .is_not_null()
            .and(in_range("period", b.lookback_first, b.month_first))
            .and(col("kind").not_eq(lit("exempt"))),
    )?;
    let income = Reduce::new(latest(Feed::Income), &["inc_key", "kind"])
        .latest(
            zero(col("monthly_amount")),
            &[Key::Date("period")],
            None,
            "amount",
            same,
        )?
        .of(income, vec![pid().alias("inc_key"), col("kind")])?
        .aggregate(
            vec![col("inc_key").alias("inc_pid")],
            vec![sum(col("amount")).alias("declared")],
        )?;
    parts.push((Part::Income, income));

    // Finance: the latest row not after A.
    let finance = read_feed(parts_ctx, lake, Feed::Finance).await?.filter(
        col("person_id")
            .is_not_null()
            .and(col("as_of").lt_eq(date_lit(a))),
    )?;
    let finance = Reduce::new(latest(Feed::Finance), &["fin_pid"])
        .latest(
            zero(col("deposits")) + zero(col("securities")) + zero(col("other_assets")),
            &[Key::Date("as_of")],
            None,
            "financial_assets",
            same,
        )?
        .of(finance, vec![pid().alias("fin_pid")])?;
    parts.push((Part::Finance, finance));

    // Business: capital of each active business registered on or before A.
    let business = read_feed(parts_ctx, lake, Feed::Business)
        .await?
        .filter(
            col("person_id")
                .is_not_null()
                .and(col("status").eq(lit("active")))
                .and(col("registered_date").lt_eq(date_lit(a))),
        )?
        .aggregate(
            vec![pid().alias("bus_pid")],
            vec![
                // Sorted when read: no order needed here.
                array_agg(zero(col("registered_capital"))).alias("business_capitals"),
                bool_or(col("registered_date").gt_eq(date_lit(b.recent_from)))
                    .alias("business_recent"),
            ],
        )?;
    parts.push((Part::Business, business));

    // Disability: the most severe certificate (lowest grade; then the latest certificate; then
    // the later row), overall and among the recent ones.
    let severity = [Key::GradeDescending("grade"), Key::Date("certified_date")];
    let recent = col("certified_date").gt_eq(date_lit(b.recent_from));
    let categories: Vec<&str> = DisabilityCategory::ALL.iter().map(|c| c.as_str()).collect();
    let category = || code_of("category", &categories);
    let category_text = |e: Expr| text_of(e, &categories);
    let disability = read_feed(parts_ctx, lake, Feed::Disability).await?.filter(
        col("person_id")
            .is_not_null()
            .and(col("certified_date").lt_eq(date_lit(a))),
    )?;
    let disability = Reduce::new(latest(Feed::Disability), &["dis_pid"])
        .latest(col("grade"), &severity, None, "disability_grade", same)?
        .latest(
            category()?,
            &severity,
            None,
            "disability_category",
            category_text,
        )?
        .latest(
            col("grade"),
            &severity,
            Some(recent.clone()),
            "recent_disability_grade",
            same,
        )?
        .latest(
            category()?,
            &severity,
            Some(recent),
            "recent_disability_category",
            category_text,
        )?
        .of(disability, vec![pid().alias("dis_pid")])?;
    parts.push((Part::Disability, disability));

    // Education: a row of the school year containing A.
    let education = read_feed(parts_ctx, lake, Feed::Education).await?.filter(
        col("person_id")
            .is_not_null()
            .and(col("school_year").eq(lit(b.school_year.clone()))),
    )?;
    let education = Reduce::new(latest(Feed::Education), &["edu_pid"])
        .latest(zero(col("annual_tuition")), &[], None, "tuition", same)?
        .plain(count(lit(1i64)), "school_rows")
        .of(education, vec![pid().alias("edu_pid")])?;
    parts.push((Part::Education, education));

    // Medical settlements: sums and flags over the windows.
    let year = in_year("settled_date", b.year_excl, a);
    let before = in_year(
        "settled_date",
        b.before_recent_excl,
        b.recent_from.add_days(-1),
    );
    let recent = in_range("settled_date", b.recent_from, a);
    let major = col("kind").eq(lit("major"));
    let medical = read_feed(parts_ctx, lake, Feed::Medical)
        .await?
        .filter(
            col("person_id")
                .is_not_null()
                .and(col("settled_date").lt_eq(date_lit(a)))
                .and(col("settled_date").gt(date_lit(b.before_recent_excl.min(b.year_excl)))),
        )?
        .aggregate(
            vec![pid().alias("med_pid")],
            vec![
                agg(sum(zero(col("out_of_pocket"))), Some(year.clone()), None)?
                    .alias("medical_oop_12m"),
                bool_or(major.clone().and(year.clone())).alias("major_12m"),
                bool_or(major.clone().and(recent)).alias("major_recent"),
                bool_or(major.and(before)).alias("major_before_recent"),
                bool_or(col("kind").eq(lit("chronic")).and(year)).alias("chronic_12m"),
            ],
        )?;
    parts.push((Part::Medical, medical));

    // Care: the latest assessment not after A.
    let care = read_feed(parts_ctx, lake, Feed::Care).await?.filter(
        col("person_id")
            .is_not_null()
            .and(col("assessed_date").lt_eq(date_lit(a))),
    )?;
    // Only these two values of `self_care` mean anything but caring for oneself.
    let care_codes = ["partial", "none"];
    let care = Reduce::new(latest(Feed::Care), &["care_pid"])
        .latest(
            code_of("self_care", &care_codes)?,
            &[Key::Date("assessed_date")],
            None,
            "self_care",
            |e| text_of(e, &care_codes),
        )?
        .of(care, vec![pid().alias("care_pid")])?;
    parts.push((Part::Care, care));

    // Assistance: spells running at A, and spells running on the person's status date.
    let spells = read_feed(parts_ctx, lake, Feed::Assistance)
        .await?
        .filter(col("person_id").is_not_null())?;
    let running = spells.clone().filter(running_at(date_lit(a)))?.aggregate(
        vec![pid().alias("run_pid")],
        lists_in_file_order(
            &[col("program"), col("household_id")],
            &["running_programs", "running_households"],
            None,
            "running",
        )?,
    )?;
    parts.push((Part::Running, running));
    let deaths = read_feed(parts_ctx, lake, Feed::Population)
        .await?
        .filter(col("status_date").is_not_null())?
        .select(vec![
            col("person_id").alias("death_pid"),
            col("status_date").alias("death_date"),
        ])?;
    let at_death = spells
        .join(
            deaths,
            JoinType::Inner,
            &["person_id"],
            &["death_pid"],
            None,
        )?
        .filter(running_at(col("death_date")))?
        .aggregate(
            vec![pid().alias("dth_pid")],
            // The order of these programs carries no meaning (they are read as a set).
            vec![array_agg(col("program")).alias("running_at_death")],
        )?;
    parts.push((Part::AtDeath, at_death));

    // Vehicles: types active at A, types registered recently.
    let vehicles = read_feed(parts_ctx, lake, Feed::Vehicles).await?.filter(
        col("person_id")
            .is_not_null()
            .and(col("registered_date").lt_eq(date_lit(a))),
    )?;
    let active = col("cancelled_date")
        .is_null()
        .or(col("cancelled_date").gt(date_lit(a)));
    let mut lists = lists_in_file_order(
        &[col("vehicle_type")],
        &["active_vehicle_types"],
        Some(active.clone()),
        "active_vehicle",
    )?;
    lists.extend(lists_in_file_order(
        &[col("vehicle_type")],
        &["recent_vehicle_types"],
        Some(col("registered_date").gt_eq(date_lit(b.recent_from))),
        "recent_vehicle",
    )?);
    let vehicles = vehicles.aggregate(vec![pid().alias("veh_pid")], lists)?;
    parts.push((Part::Vehicles, vehicles));

    // Real estate: active non-residential property, active homes, recent registrations.
    let homes = col("usage").eq(lit("residential")).and(active.clone());
    let estate = read_feed(parts_ctx, lake, Feed::RealEstate)
        .await?
        .filter(
            col("person_id")
                .is_not_null()
                .and(col("registered_date").lt_eq(date_lit(a))),
        )?
        .aggregate(
            vec![pid().alias("est_pid")],
            [
                bool_or(col("usage").not_eq(lit("residential")).and(active))
                    .alias("nonresidential_property"),
                bool_or(col("registered_date").gt_eq(date_lit(b.recent_from)))
                    .alias("property_recent"),
            ]
            .into_iter()
            .chain(lists_in_file_order(
                &[col("property_id"), zero(col("area_m2"))],
                &["home_ids", "home_areas"],
                Some(homes),
                "home",
            )?)
            .collect(),
        )?;
    parts.push((Part::Estate, estate));

    // Utilities: the latest row in the lookback; the latest row with an electricity value.
    let utilities = read_feed(parts_ctx, lake, Feed::Utilities).await?.filter(
        col("person_id")
            .is_not_null()
            .and(in_range("period", b.lookback_first, b.month_first)),
    )?;
    let period = [Key::Date("period")];
    let has_power = col("electricity_kwh").is_not_null();
    let utilities = Reduce::new(latest(Feed::Utilities), &["utl_pid"])
        .latest(
            zero(col("arrears_months")),
            &period,
            None,
            "arrears_months",
            same,
        )?
        .plain(max(col("period")), "utility_period")
        .latest(
            col("electricity_kwh"),
            &period,
            Some(has_power.clone()),
            "electricity_centi_kwh",
            same,
        )?
        .plain(
            agg(max(col("period")), Some(has_power), None)?,
            "electricity_period",
        )
        .of(utilities, vec![pid().alias("utl_pid")])?;
    parts.push((Part::Utilities, utilities));

    Ok(parts)
}
