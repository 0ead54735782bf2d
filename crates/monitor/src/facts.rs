//! Person facts at an as-of date as DataFusion plans over the lake: every feed reduced to one
//! row per person by the reading rules of policy.md §2 and §9, beside the population rows.
//!
//! The plans yield exactly the base facts of `policy::PersonFacts` (some still as raw dates,
//! turned into ages and month counts when the rows are read, see [`crate::assemble`]). Only
//! plain DataFusion expressions and built-in aggregates are used, so that stock Ballista
//! executors can run the plan.

use datafusion::functions_aggregate::expr_fn::{array_agg, bool_or, count, last_value, max, sum};
use datafusion::logical_expr::{ExprFunctionExt, JoinType, SortExpr};
use datafusion::prelude::{DataFrame, Expr, SessionContext, coalesce, col, lit};
use datafusion::scalar::ScalarValue;
use domain::{Date, EmploymentStatus, Month};

use crate::MonitorError;
use crate::lake::{Feed, LakeFiles, read_feed};

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
    /// The reductions, each keyed by its part's key column.
    pub parts: Vec<(Part, DataFrame)>,
}

/// Builds the plans of person facts at the bounds' as-of date.
pub(crate) async fn person_facts(
    ctx: &SessionContext,
    lake: &LakeFiles,
    bounds: &Bounds,
) -> Result<Facts, MonitorError> {
    let b = bounds;
    let a = b.as_of;
    let population = read_feed(ctx, lake, Feed::Population).await?;
    let mut parts = Vec::new();
    let population = population.select(vec![
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
    ])?;

    // Employment: one record per person and period (the later row wins), periods up to A's
    // month. The status of the record before each, job starts and the latest record in the
    // lookback are found per person when the rows are read ([`crate::assemble::employment`]):
    // as a window (`lag` over each person's periods) and a second aggregate, they took a fifth
    // of the facts plans' time, most of it sorting and copying the rows for the window.
    let employment = read_feed(ctx, lake, Feed::Employment)
        .await?
        .filter(
            col("person_id")
                .is_not_null()
                .and(col("period").lt_eq(date_lit(b.month_first))),
        )?
        .aggregate(
            vec![col("person_id").alias("emp_pid"), col("period")],
            vec![
                agg(last_value(status_code()?, vec![]), None, Some(file_order()))?.alias("status"),
                agg(
                    last_value(
                        zero(col("monthly_wage"))
                            + zero(col("pension"))
                            + zero(col("unemployment_benefit")),
                        vec![],
                    ),
                    None,
                    Some(file_order()),
                )?
                .alias("earned"),
            ],
        )?;
    parts.push((Part::Employment, employment));

    // Declared income: the latest row of each counted kind in the lookback.
    let income = read_feed(ctx, lake, Feed::Income)
        .await?
        .filter(
            col("person_id")
                .is_not_null()
                .and(in_range("period", b.lookback_first, b.month_first))
                .and(col("kind").not_eq(lit("exempt"))),
        )?
        .aggregate(
            vec![col("person_id"), col("kind")],
            vec![
                agg(
                    last_value(zero(col("monthly_amount")), vec![]),
                    None,
                    Some(ordered(vec![asc(col("period"))])),
                )?
                .alias("amount"),
            ],
        )?
        .aggregate(
            vec![col("person_id").alias("inc_pid")],
            vec![sum(col("amount")).alias("declared")],
        )?;
    parts.push((Part::Income, income));

    // Finance: the latest row not after A.
    let finance = read_feed(ctx, lake, Feed::Finance)
        .await?
        .filter(
            col("person_id")
                .is_not_null()
                .and(col("as_of").lt_eq(date_lit(a))),
        )?
        .aggregate(
            vec![col("person_id").alias("fin_pid")],
            vec![
                agg(
                    last_value(
                        zero(col("deposits")) + zero(col("securities")) + zero(col("other_assets")),
                        vec![],
                    ),
                    None,
                    Some(ordered(vec![asc(col("as_of"))])),
                )?
                .alias("financial_assets"),
            ],
        )?;
    parts.push((Part::Finance, finance));

    // Business: capital of each active business registered on or before A.
    let business = read_feed(ctx, lake, Feed::Business)
        .await?
        .filter(
            col("person_id")
                .is_not_null()
                .and(col("status").eq(lit("active")))
                .and(col("registered_date").lt_eq(date_lit(a))),
        )?
        .aggregate(
            vec![col("person_id").alias("bus_pid")],
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
    let severity = ordered(vec![desc(col("grade")), asc(col("certified_date"))]);
    let recent = col("certified_date").gt_eq(date_lit(b.recent_from));
    let disability = read_feed(ctx, lake, Feed::Disability)
        .await?
        .filter(
            col("person_id")
                .is_not_null()
                .and(col("certified_date").lt_eq(date_lit(a))),
        )?
        .aggregate(
            vec![col("person_id").alias("dis_pid")],
            vec![
                agg(
                    last_value(col("grade"), vec![]),
                    None,
                    Some(severity.clone()),
                )?
                .alias("disability_grade"),
                agg(
                    last_value(col("category"), vec![]),
                    None,
                    Some(severity.clone()),
                )?
                .alias("disability_category"),
                agg(
                    last_value(col("grade"), vec![]),
                    Some(recent.clone()),
                    Some(severity.clone()),
                )?
                .alias("recent_disability_grade"),
                agg(
                    last_value(col("category"), vec![]),
                    Some(recent),
                    Some(severity),
                )?
                .alias("recent_disability_category"),
            ],
        )?;
    parts.push((Part::Disability, disability));

    // Education: a row of the school year containing A.
    let education = read_feed(ctx, lake, Feed::Education)
        .await?
        .filter(
            col("person_id")
                .is_not_null()
                .and(col("school_year").eq(lit(b.school_year.clone()))),
        )?
        .aggregate(
            vec![col("person_id").alias("edu_pid")],
            vec![
                agg(
                    last_value(zero(col("annual_tuition")), vec![]),
                    None,
                    Some(file_order()),
                )?
                .alias("tuition"),
                count(lit(1i64)).alias("school_rows"),
            ],
        )?;
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
    let medical = read_feed(ctx, lake, Feed::Medical)
        .await?
        .filter(
            col("person_id")
                .is_not_null()
                .and(col("settled_date").lt_eq(date_lit(a)))
                .and(col("settled_date").gt(date_lit(b.before_recent_excl.min(b.year_excl)))),
        )?
        .aggregate(
            vec![col("person_id").alias("med_pid")],
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
    let care = read_feed(ctx, lake, Feed::Care)
        .await?
        .filter(
            col("person_id")
                .is_not_null()
                .and(col("assessed_date").lt_eq(date_lit(a))),
        )?
        .aggregate(
            vec![col("person_id").alias("care_pid")],
            vec![
                agg(
                    last_value(col("self_care"), vec![]),
                    None,
                    Some(ordered(vec![asc(col("assessed_date"))])),
                )?
                .alias("self_care"),
            ],
        )?;
    parts.push((Part::Care, care));

    // Assistance: spells running at A, and spells running on the person's status date.
    let spells = read_feed(ctx, lake, Feed::Assistance)
        .await?
        .filter(col("person_id").is_not_null())?;
    let running_at = |d: Expr| {
        col("start_date")
            .lt_eq(d.clone())
            .and(col("end_date").is_null().or(col("end_date").gt_eq(d)))
    };
    let running = spells.clone().filter(running_at(date_lit(a)))?.aggregate(
        vec![col("person_id").alias("run_pid")],
        lists_in_file_order(
            &[col("program"), col("household_id")],
            &["running_programs", "running_households"],
            None,
            "running",
        )?,
    )?;
    parts.push((Part::Running, running));
    let deaths = read_feed(ctx, lake, Feed::Population)
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
            vec![col("person_id").alias("dth_pid")],
            // The order of these programs carries no meaning (they are read as a set).
            vec![array_agg(col("program")).alias("running_at_death")],
        )?;
    parts.push((Part::AtDeath, at_death));

    // Vehicles: types active at A, types registered recently.
    let vehicles = read_feed(ctx, lake, Feed::Vehicles).await?.filter(
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
    let vehicles = vehicles.aggregate(vec![col("person_id").alias("veh_pid")], lists)?;
    parts.push((Part::Vehicles, vehicles));

    // Real estate: active non-residential property, active homes, recent registrations.
    let homes = col("usage").eq(lit("residential")).and(active.clone());
    let estate = read_feed(ctx, lake, Feed::RealEstate)
        .await?
        .filter(
            col("person_id")
                .is_not_null()
                .and(col("registered_date").lt_eq(date_lit(a))),
        )?
        .aggregate(
            vec![col("person_id").alias("est_pid")],
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
    let utilities = read_feed(ctx, lake, Feed::Utilities).await?.filter(
        col("person_id")
            .is_not_null()
            .and(in_range("period", b.lookback_first, b.month_first)),
    )?;
    let order = ordered(vec![asc(col("period"))]);
    let has_power = col("electricity_kwh").is_not_null();
    let utilities = utilities.aggregate(
        vec![col("person_id").alias("utl_pid")],
        vec![
            agg(
                last_value(zero(col("arrears_months")), vec![]),
                None,
                Some(order.clone()),
            )?
            .alias("arrears_months"),
            max(col("period")).alias("utility_period"),
            agg(
                last_value(col("electricity_kwh"), vec![]),
                Some(has_power.clone()),
                Some(order),
            )?
            .alias("electricity_centi_kwh"),
            agg(max(col("period")), Some(has_power), None)?.alias("electricity_period"),
        ],
    )?;
    parts.push((Part::Utilities, utilities));

    Ok(Facts { population, parts })
}
