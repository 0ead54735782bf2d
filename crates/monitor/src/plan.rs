//! The whole screening as one DataFusion plan — how a cluster screens: the facts of every
//! person, the persons each household's evaluation reads, and the pack evaluated on every
//! household by a function the plan calls, so that the executors do the work where the data
//! is and the client receives only each household's result rows.
//!
//! The plan: the population rows joined (left) with every reduction of [`crate::facts`] (a
//! person's employment records as one list); the pairs (household, person) of every member,
//! every relative a member names or who names a member (spouse, father, mother), and every
//! holder of a spell running at the as-of date that names the household; those persons'
//! rows gathered per household (`array_agg` of one struct per person); and
//! [`FUNCTION`] on each household. The function rebuilds the persons' facts exactly as a
//! local run reads them ([`crate::assemble`]), in the registry's order (file, then row),
//! indexes them as a registry of their own and evaluates the household on it — the same code
//! as a local run, on the same persons, so the same outcome. Its result is the household's
//! rows ([`crate::screen::Screened`]) as JSON. The pack travels in the plan as the text of
//! its files, and is loaded once per process.
//!
//! The function is not one of DataFusion's own: the scheduler and the executors must be the
//! `jiuzhu` binary (`jiuzhu cluster scheduler`, `jiuzhu cluster executor`), which registers
//! it ([`udf`]).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BinaryBuilder, RecordBatch, StringArray, UInt32Array,
};
use arrow::compute::{cast, take, take_record_batch};
use arrow::datatypes::{DataType, Field, Schema};
use datafusion::common::Column;
use datafusion::error::DataFusionError;
use datafusion::functions::core::expr_fn::named_struct;
use datafusion::functions_aggregate::expr_fn::array_agg;
use datafusion::logical_expr::{
    ColumnarValue, JoinType, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::{DataFrame, Expr, SessionContext, coalesce, col, lit};
use datafusion::scalar::ScalarValue;
use domain::Date;
use policy::pack::Pack;
use serde::{Deserialize, Serialize};

use crate::MonitorError;
use crate::assemble::{self, PersonIndex};
use crate::facts::{self, Bounds, Part, date_lit};
use crate::lake::{Feed, LakeFiles, read_feed};
use crate::screen::{Decided, Registry};

/// The name of the function that screens one household.
pub const FUNCTION: &str = "jiuzhu_screen_household";

/// Which households the function explains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Explain {
    /// None.
    No,
    /// Those its own evaluation flags (a tier, an anomaly or a warning).
    Flagged,
    /// Every one.
    All,
}

/// What the function needs besides a household's persons, as the JSON text the plan carries.
#[derive(Serialize, Deserialize)]
struct Setup {
    /// The pack's files (name, text).
    files: Vec<(String, String)>,
    /// The as-of date, as days since 1970-01-01.
    as_of: i32,
    explain: Explain,
}

/// A setup with its pack loaded.
struct Loaded {
    pack: Pack,
    as_of: Date,
    bounds: Bounds,
    explain: Explain,
}

/// One household's result as the function returns it.
#[derive(Serialize, Deserialize)]
pub(crate) struct Evaluated {
    pub decided: Decided,
    pub explanation: Option<policy::Explanation>,
}

/// The function that screens one household, for a session to register.
pub fn udf() -> ScalarUDF {
    ScalarUDF::new_from_impl(ScreenHousehold {
        signature: Signature::any(3, Volatility::Immutable),
    })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct ScreenHousehold {
    signature: Signature,
}

impl ScalarUDFImpl for ScreenHousehold {
    fn name(&self) -> &str {
        FUNCTION
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> datafusion::error::Result<DataType> {
        Ok(DataType::Binary)
    }

    /// Arguments: the persons (a list of one struct per person), the household ID, the setup.
    fn invoke_with_args(
        &self,
        args: ScalarFunctionArgs,
    ) -> datafusion::error::Result<ColumnarValue> {
        let fail = |m: String| DataFusionError::Execution(format!("{FUNCTION}: {m}"));
        let [persons, households, setup] = args.args.as_slice() else {
            return Err(fail("three arguments expected".into()));
        };
        let setup = match setup {
            ColumnarValue::Scalar(ScalarValue::Utf8(Some(text))) => loaded(text).map_err(fail)?,
            _ => return Err(fail("the setup must be a text literal".into())),
        };
        let rows = args.number_rows;
        let persons = persons.to_array(rows)?;
        let households = cast(&households.to_array(rows)?, &DataType::Utf8)?;
        let (Some(persons), Some(households)) = (
            persons.as_list_opt::<i32>(),
            households.as_string_opt::<i32>(),
        ) else {
            return Err(fail("a list of persons and a household ID expected".into()));
        };
        let mut out = BinaryBuilder::new();
        for i in 0..rows {
            if persons.is_null(i) || households.is_null(i) {
                out.append_null();
                continue;
            }
            let evaluated = screen_one(&setup, households.value(i), &persons.value(i))
                .map_err(|e| fail(e.to_string()))?;
            let json = serde_json::to_vec(&evaluated).map_err(|e| fail(e.to_string()))?;
            out.append_value(json);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// The setup of this text, its pack loaded once per process (a plan calls the function once
/// per batch of households, with the same text).
fn loaded(text: &str) -> Result<Arc<Loaded>, String> {
    static LOADED: OnceLock<Mutex<HashMap<String, Arc<Loaded>>>> = OnceLock::new();
    let cache = LOADED.get_or_init(Default::default);
    if let Some(l) = cache
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(text)
    {
        return Ok(l.clone());
    }
    let setup: Setup = serde_json::from_str(text).map_err(|e| format!("setup: {e}"))?;
    let files: Vec<(&str, &str)> = setup
        .files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let pack = Pack::from_files(&files).map_err(|e| format!("policy pack: {e}"))?;
    let as_of = Date::from_days(setup.as_of);
    let l = Arc::new(Loaded {
        bounds: Bounds::new(as_of, crate::windows(&pack)),
        pack,
        as_of,
        explain: setup.explain,
    });
    let mut cache = cache.lock().unwrap_or_else(PoisonError::into_inner);
    // a long-lived executor serves run after run: the packs of a few at most are kept
    if cache.len() >= 8 {
        cache.clear();
    }
    cache.insert(text.to_string(), l.clone());
    Ok(l)
}

/// Screens one household on the rows of its persons (one struct per person).
fn screen_one(setup: &Loaded, id: &str, persons: &ArrayRef) -> Result<Evaluated, MonitorError> {
    let Some(persons) = persons.as_struct_opt() else {
        return Err(MonitorError::Runtime(
            "a household's persons are not rows".into(),
        ));
    };
    let (fields, columns, nulls) = persons.clone().into_parts();
    if nulls.is_some_and(|n| n.null_count() > 0) {
        return Err(MonitorError::Runtime(
            "a household's persons include an empty row".into(),
        ));
    }
    let batch = RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)?;
    // the registry's order: the population's files in commit order, each in row order
    let number = |name: &str| {
        batch
            .column_by_name(name)
            .and_then(|c| cast(c, &DataType::Int64).ok())
    };
    let (seq, row) = (number("seq"), number("row"));
    let (seq, row) = (
        seq.as_ref()
            .and_then(|c| c.as_primitive_opt::<arrow::datatypes::Int64Type>()),
        row.as_ref()
            .and_then(|c| c.as_primitive_opt::<arrow::datatypes::Int64Type>()),
    );
    let key = |i: usize| {
        let at = |c: Option<&arrow::array::Int64Array>| {
            c.and_then(|c| c.is_valid(i).then(|| c.value(i)))
        };
        (at(seq), at(row), i)
    };
    let mut order: Vec<u32> = (0..batch.num_rows() as u32).collect();
    order.sort_by_key(|&i| key(i as usize));
    let batch = take_record_batch(&batch, &UInt32Array::from(order))?;
    let b = &setup.bounds;
    let mut persons = Vec::with_capacity(batch.num_rows());
    let mut codes = Vec::with_capacity(batch.num_rows());
    assemble::population(&batch, b, &mut persons, &mut codes)?;
    let index = PersonIndex::with_codes(&persons, &codes, 1);
    for part in Part::ALL {
        if part == Part::Employment {
            if let Some(records) = employment_records(&batch)? {
                assemble::employment(&[records], b, &index, &mut persons, 1);
            }
        } else {
            assemble::apply(
                part,
                std::slice::from_ref(&batch),
                b,
                &index,
                &mut persons,
                1,
            );
        }
    }
    let registry = Registry::with_ids(persons, index);
    let decided = registry.decide_id(id, &setup.pack, setup.as_of);
    let explain = match (setup.explain, &decided) {
        (Explain::All, _) => true,
        (Explain::Flagged, Decided::Done(s)) => s.flagged(),
        _ => false,
    };
    let explanation = explain
        .then(|| registry.explanation(id, &setup.pack, setup.as_of))
        .flatten();
    Ok(Evaluated {
        decided,
        explanation,
    })
}

/// The employment records of the persons' rows (`emp_records`, a list per person) as the
/// rows of the employment plan: `emp_pid`, `period`, `status`, `earned`, `seq`, `row`.
fn employment_records(batch: &RecordBatch) -> Result<Option<RecordBatch>, MonitorError> {
    let (Some(pid), Some(lists)) = (
        batch.column_by_name(Part::Employment.key()),
        batch.column_by_name("emp_records"),
    ) else {
        return Ok(None);
    };
    let pid = cast(pid, &DataType::Utf8)?;
    let (Some(pid), Some(lists)) = (pid.as_string_opt::<i32>(), lists.as_list_opt::<i32>()) else {
        return Ok(None);
    };
    let mut at = Vec::new();
    let mut ids = Vec::new();
    for i in 0..batch.num_rows() {
        if pid.is_null(i) || lists.is_null(i) {
            continue;
        }
        let offsets = lists.value_offsets();
        for j in offsets[i]..offsets[i + 1] {
            at.push(j as u32);
            ids.push(pid.value(i));
        }
    }
    let Some(records) = lists.values().as_struct_opt() else {
        return Ok(None);
    };
    let taken = take(records, &UInt32Array::from(at), None)?;
    let Some(taken) = taken.as_struct_opt() else {
        return Ok(None);
    };
    let mut fields = vec![Field::new(Part::Employment.key(), DataType::Utf8, false)];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(StringArray::from(ids))];
    for (field, column) in taken.fields().iter().zip(taken.columns()) {
        fields.push(field.as_ref().clone().with_nullable(true));
        columns.push(column.clone());
    }
    Ok(Some(RecordBatch::try_new(
        Arc::new(Schema::new(fields)),
        columns,
    )?))
}

/// A column by its name as written (no parsing of dots or case).
fn column(name: &str) -> Expr {
    Expr::Column(Column::from_name(name))
}

/// The plan of the screening at the bounds' as-of date: `household_id` and `screened` (an
/// [`Evaluated`] as JSON) per household; only the households in `only`, when given.
pub(crate) async fn screening(
    ctx: &SessionContext,
    lake: &LakeFiles,
    bounds: &Bounds,
    pack: &Pack,
    explain: Explain,
    only: Option<&BTreeSet<String>>,
) -> Result<DataFrame, MonitorError> {
    let facts = facts::person_facts(ctx, ctx, lake, bounds, true).await?;
    let population = facts.population;
    let mut wide = population.clone();
    for (part, reduction) in facts.parts {
        let reduction = if part == Part::Employment {
            let record = named_struct(vec![
                lit("period"),
                col("period"),
                lit("status"),
                col("status"),
                lit("earned"),
                col("earned"),
                lit("seq"),
                col("seq"),
                lit("row"),
                col("row"),
            ]);
            reduction.aggregate(
                vec![col(part.key())],
                vec![array_agg(record).alias("emp_records")],
            )?
        } else {
            reduction
        };
        wide = wide.join(
            reduction,
            JoinType::Left,
            &["person_id"],
            &[part.key()],
            None,
        )?;
    }

    // (household, person): members, relatives either way, holders of spells naming it
    let pop = population
        .filter(col("person_id").is_not_null())?
        .select(vec![
            col("person_id"),
            coalesce(vec![col("household_id"), lit("")]).alias("pair_household"),
            col("spouse_id"),
            col("father_id"),
            col("mother_id"),
        ])?;
    let mut pairs = pop.clone().select(vec![
        col("pair_household"),
        col("person_id").alias("pair_pid"),
    ])?;
    // each person's household, for the persons who name them
    let household_of = pop.clone().select(vec![
        col("person_id").alias("named_pid"),
        col("pair_household").alias("named_household"),
    ])?;
    for link in ["spouse_id", "father_id", "mother_id"] {
        let naming = pop.clone().filter(col(link).is_not_null())?;
        let named = naming
            .clone()
            .select(vec![col("pair_household"), col(link).alias("pair_pid")])?;
        let naming = naming
            .select(vec![
                col("person_id").alias("naming_pid"),
                col(link).alias("named"),
            ])?
            .join(
                household_of.clone(),
                JoinType::Inner,
                &["named"],
                &["named_pid"],
                None,
            )?
            .select(vec![
                col("named_household").alias("pair_household"),
                col("naming_pid").alias("pair_pid"),
            ])?;
        pairs = pairs.union(named)?.union(naming)?;
    }
    let holders = read_feed(ctx, lake, Feed::Assistance)
        .await?
        .filter(
            col("person_id")
                .is_not_null()
                .and(col("household_id").is_not_null())
                .and(facts::running_at(date_lit(bounds.as_of))),
        )?
        .select(vec![
            col("household_id").alias("pair_household"),
            col("person_id").alias("pair_pid"),
        ])?;
    let mut pairs = pairs.union(holders)?.distinct()?;
    if let Some(only) = only {
        let ids: Vec<Expr> = only.iter().map(|id| lit(id.as_str())).collect();
        pairs = pairs.filter(col("pair_household").in_list(ids, false))?;
    }

    let names: Vec<String> = wide
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let record = named_struct(
        names
            .iter()
            .flat_map(|n| [lit(n.as_str()), column(n)])
            .collect(),
    );
    let setup = Setup {
        files: pack.files.to_vec(),
        as_of: bounds.as_of.days(),
        explain,
    };
    let setup = serde_json::to_string(&setup).map_err(|e| MonitorError::Runtime(e.to_string()))?;
    Ok(pairs
        .join(wide, JoinType::Inner, &["pair_pid"], &["person_id"], None)?
        .aggregate(
            vec![col("pair_household")],
            vec![array_agg(record).alias("persons")],
        )?
        .select(vec![
            col("pair_household").alias("household_id"),
            udf()
                .call(vec![col("persons"), col("pair_household"), lit(setup)])
                .alias("screened"),
        ])?)
}

/// The households' results of a screening plan's batches, in household-ID order.
pub(crate) fn evaluated(batches: &[RecordBatch]) -> Result<Vec<(String, Evaluated)>, MonitorError> {
    let mut out = Vec::new();
    for batch in batches {
        let ids = cast(batch.column(0), &DataType::Utf8)?;
        let (Some(ids), Some(screened)) = (
            ids.as_string_opt::<i32>(),
            batch.column(1).as_any().downcast_ref::<BinaryArray>(),
        ) else {
            return Err(MonitorError::Runtime("unexpected screening columns".into()));
        };
        for i in 0..batch.num_rows() {
            if ids.is_null(i) || screened.is_null(i) {
                continue;
            }
            let e: Evaluated = serde_json::from_slice(screened.value(i))
                .map_err(|e| MonitorError::Runtime(format!("a household's result: {e}")))?;
            out.push((ids.value(i).to_string(), e));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}
