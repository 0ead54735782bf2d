//! The Parquet files a run reads: which files of which feed, in commit order, and how each is
//! read into a DataFusion table of the canonical columns the facts need.
//!
//! Every feed table gets two ordering columns besides the feed's own: `seq` (the file's position
//! in commit order) and `row` (the source row number), so that "the later row wins" (policy.md
//! §9) is an `ORDER BY seq, row`. A feed without files reads as an empty table of the same schema,
//! so a run without, say, the medical feed still completes and reports the feed missing.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::common::DFSchema;
use datafusion::logical_expr::{EmptyRelation, JoinType, LogicalPlan};
use datafusion::prelude::{
    DataFrame, ParquetReadOptions, SessionContext, cast, coalesce, col, lit,
};
use datafusion::scalar::ScalarValue;

use crate::MonitorError;

/// The feeds of the exchange contract (exchange.md §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Feed {
    /// 户籍人口: the master list of persons.
    Population,
    /// 救助名册: assistance spells.
    Assistance,
    /// 残疾人: disability certificates.
    Disability,
    /// 就业与社保: monthly employment records.
    Employment,
    /// 医保结算: medical settlements.
    Medical,
    /// 不动产登记: real estate.
    RealEstate,
    /// 机动车登记: vehicles.
    Vehicles,
    /// 市场主体登记: businesses.
    Business,
    /// 金融资产: financial assets.
    Finance,
    /// 在校学生: students.
    Education,
    /// 水电气: utilities.
    Utilities,
    /// 家计调查收入: declared income.
    Income,
    /// 生活自理能力评估: care assessments.
    Care,
}

impl Feed {
    /// Every feed, population first.
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

    /// The feed's name in the contract (and its file name in a batch).
    pub fn name(self) -> &'static str {
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

    /// Looks a feed up by its contract name.
    pub fn from_name(name: &str) -> Option<Feed> {
        Feed::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The canonical columns the monitor reads from the feed, with their types. Ids, regions,
    /// codes and text are Utf8; dates and periods Date32; money Int64 fen; decimals are read as
    /// hundredths (Int64); integers Int64.
    pub fn columns(self) -> &'static [(&'static str, Kind)] {
        use Kind::*;
        match self {
            Feed::Population => &[
                ("person_id", Text),
                ("household_id", Text),
                ("relation", Text),
                ("region_code", Text),
                ("birth_date", Date),
                ("status", Text),
                ("status_date", Date),
                ("spouse_id", Text),
                ("father_id", Text),
                ("mother_id", Text),
            ],
            Feed::Assistance => &[
                ("person_id", Text),
                ("household_id", Text),
                ("program", Text),
                ("start_date", Date),
                ("end_date", Date),
            ],
            Feed::Disability => &[
                ("person_id", Text),
                ("category", Text),
                ("grade", Integer),
                ("certified_date", Date),
            ],
            Feed::Employment => &[
                ("person_id", Text),
                ("period", Date),
                ("status", Text),
                ("monthly_wage", Money),
                ("pension", Money),
                ("unemployment_benefit", Money),
            ],
            Feed::Medical => &[
                ("person_id", Text),
                ("settled_date", Date),
                ("out_of_pocket", Money),
                ("kind", Text),
            ],
            Feed::RealEstate => &[
                ("person_id", Text),
                ("property_id", Text),
                ("usage", Text),
                ("area_m2", Centi),
                ("registered_date", Date),
                ("cancelled_date", Date),
            ],
            Feed::Vehicles => &[
                ("person_id", Text),
                ("vehicle_type", Text),
                ("registered_date", Date),
                ("cancelled_date", Date),
            ],
            Feed::Business => &[
                ("person_id", Text),
                ("registered_capital", Money),
                ("status", Text),
                ("registered_date", Date),
            ],
            Feed::Finance => &[
                ("person_id", Text),
                ("as_of", Date),
                ("deposits", Money),
                ("securities", Money),
                ("other_assets", Money),
            ],
            Feed::Education => &[
                ("person_id", Text),
                ("school_year", Text),
                ("annual_tuition", Money),
            ],
            Feed::Utilities => &[
                ("person_id", Text),
                ("period", Date),
                ("electricity_kwh", Centi),
                ("arrears_months", Integer),
            ],
            Feed::Income => &[
                ("person_id", Text),
                ("period", Date),
                ("kind", Text),
                ("monthly_amount", Money),
            ],
            Feed::Care => &[
                ("person_id", Text),
                ("self_care", Text),
                ("assessed_date", Date),
            ],
        }
    }

    /// The Arrow schema of the feed table as the monitor reads it (columns, then `seq`, `row`).
    pub fn schema(self) -> SchemaRef {
        let mut fields: Vec<Field> = self
            .columns()
            .iter()
            .map(|(name, kind)| Field::new(*name, kind.data_type(), true))
            .collect();
        fields.push(Field::new("seq", DataType::Int64, false));
        fields.push(Field::new("row", DataType::Int64, true));
        Arc::new(Schema::new(fields))
    }
}

/// The canonical type of a column as the monitor reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Utf8: ids, regions, codes, text.
    Text,
    /// Date32: dates, and periods as the first day of their month.
    Date,
    /// Int64 fen.
    Money,
    /// Int64 hundredths of a decimal (m², kWh).
    Centi,
    /// Int64.
    Integer,
}

impl Kind {
    /// The Arrow type.
    pub fn data_type(self) -> DataType {
        match self {
            Kind::Text => DataType::Utf8,
            Kind::Date => DataType::Date32,
            Kind::Money | Kind::Centi | Kind::Integer => DataType::Int64,
        }
    }
}

/// The committed Parquet files of each feed, in commit order. Population is a full snapshot:
/// only the files of the latest batch that carries it are listed; other feeds accumulate.
#[derive(Debug, Clone, Default)]
pub struct LakeFiles {
    files: BTreeMap<Feed, Vec<PathBuf>>,
    /// Per feed, the rows record linkage matched to a person: `link_seq`, `link_row`,
    /// `link_pid` (see [`crate::linking`]).
    links: BTreeMap<Feed, RecordBatch>,
    /// The same tables written as Parquet files, for plans that leave this process (a
    /// cluster's executors cannot read a table held in the client's memory).
    link_files: BTreeMap<Feed, PathBuf>,
    /// The same links by row, for the function that reads them in a plan of this process.
    linked: BTreeMap<Feed, Arc<Linked>>,
}

/// The rows of one feed that record linkage matched to a person, by `(seq, row)`: how a plan
/// of this process reads a linked row's person ID ([`LinkedPerson`]). A join on `(seq, row)`
/// copied every column of every row of the feed to give a hundredth of them an ID (a tenth of
/// a reduction's processor time); the function rebuilds only the ID column, and only in the
/// batches that hold a row without an ID.
#[derive(Debug)]
pub(crate) struct Linked {
    at: rustc_hash::FxHashMap<(i64, i64), u32>,
    ids: arrow::array::StringArray,
}

impl Linked {
    /// From a link table (`link_seq`, `link_row`, `link_pid`).
    fn of(table: &RecordBatch) -> Option<Linked> {
        use arrow::array::AsArray;
        use arrow::datatypes::Int64Type;
        let column = |name: &str| table.column_by_name(name);
        let seqs = column("link_seq")?.as_primitive_opt::<Int64Type>()?;
        let rows = column("link_row")?.as_primitive_opt::<Int64Type>()?;
        let ids = column("link_pid")?.as_string_opt::<i32>()?.clone();
        let at = seqs
            .values()
            .iter()
            .zip(rows.values().iter())
            .enumerate()
            .map(|(i, (&seq, &row))| ((seq, row), i as u32))
            .collect();
        Some(Linked { at, ids })
    }

    /// The person ID linked to a row.
    fn get(&self, seq: i64, row: i64) -> Option<&str> {
        use arrow::array::Array;
        let i = *self.at.get(&(seq, row))? as usize;
        self.ids.is_valid(i).then(|| self.ids.value(i))
    }
}

/// `jiuzhu_linked_person(person_id, seq, row)`: the row's `person_id`, or when it has none,
/// the person record linkage matched the row to ([`Linked`]).
#[derive(Debug)]
struct LinkedPerson {
    signature: datafusion::logical_expr::Signature,
    linked: Arc<Linked>,
}

impl PartialEq for LinkedPerson {
    fn eq(&self, other: &LinkedPerson) -> bool {
        Arc::ptr_eq(&self.linked, &other.linked)
    }
}

impl Eq for LinkedPerson {}

impl std::hash::Hash for LinkedPerson {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::ptr::hash(Arc::as_ptr(&self.linked), state);
    }
}

impl datafusion::logical_expr::ScalarUDFImpl for LinkedPerson {
    fn name(&self) -> &str {
        "jiuzhu_linked_person"
    }

    fn signature(&self) -> &datafusion::logical_expr::Signature {
        &self.signature
    }

    fn return_type(&self, _: &[DataType]) -> datafusion::error::Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(
        &self,
        args: datafusion::logical_expr::ScalarFunctionArgs,
    ) -> datafusion::error::Result<datafusion::logical_expr::ColumnarValue> {
        use arrow::array::{Array, AsArray, StringBuilder};
        use arrow::datatypes::Int64Type;
        use datafusion::error::DataFusionError;
        use datafusion::logical_expr::ColumnarValue;
        let n = args.number_rows;
        let [ids, seqs, rows] = args.args.as_slice() else {
            return Err(DataFusionError::Execution(
                "jiuzhu_linked_person: three arguments expected".into(),
            ));
        };
        let ids = ids.to_array(n)?;
        if ids.null_count() == 0 {
            return Ok(ColumnarValue::Array(ids));
        }
        let (seqs, rows) = (seqs.to_array(n)?, rows.to_array(n)?);
        let (Some(text), Some(seqs), Some(rows)) = (
            ids.as_string_opt::<i32>(),
            seqs.as_primitive_opt::<Int64Type>(),
            rows.as_primitive_opt::<Int64Type>(),
        ) else {
            return Err(DataFusionError::Execution(format!(
                "jiuzhu_linked_person: (text, Int64, Int64) expected, not ({}, {}, {})",
                ids.data_type(),
                seqs.data_type(),
                rows.data_type()
            )));
        };
        let mut out = StringBuilder::with_capacity(n, text.value_data().len() + 64);
        for i in 0..n {
            if text.is_valid(i) {
                out.append_value(text.value(i));
            } else if seqs.is_valid(i) && rows.is_valid(i) {
                out.append_option(self.linked.get(seqs.value(i), rows.value(i)));
            } else {
                out.append_null();
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

impl LakeFiles {
    /// No files at all.
    pub fn new() -> LakeFiles {
        LakeFiles::default()
    }

    /// Appends a file of a feed (later calls are later in commit order).
    pub fn add(&mut self, feed: Feed, path: impl Into<PathBuf>) {
        self.files.entry(feed).or_default().push(path.into());
    }

    /// Replaces the files of a feed.
    pub fn set(&mut self, feed: Feed, paths: Vec<PathBuf>) {
        self.files.insert(feed, paths);
    }

    /// The files of a feed.
    pub fn files(&self, feed: Feed) -> &[PathBuf] {
        self.files.get(&feed).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The same files with the decided links of record linkage: a linked row reads as a row of
    /// its person.
    pub(crate) fn with_links(
        &self,
        links: &crate::linking::LakeLinks,
    ) -> Result<LakeFiles, MonitorError> {
        let mut out = self.clone();
        out.links.clear();
        out.link_files.clear();
        out.linked.clear();
        for feed in Feed::ALL {
            if let Some(table) = links.table(feed)? {
                if let Some(linked) = Linked::of(&table) {
                    out.linked.insert(feed, Arc::new(linked));
                }
                out.links.insert(feed, table);
            }
        }
        Ok(out)
    }

    /// Writes the link tables as Parquet files into `dir` (created if needed), which plans then
    /// read instead of the in-memory tables: every process of a cluster that sees `dir` can.
    pub(crate) fn spill_links(&mut self, dir: &std::path::Path) -> Result<(), MonitorError> {
        let error = |e: &dyn std::fmt::Display| MonitorError::Write {
            path: dir.display().to_string(),
            message: e.to_string(),
        };
        std::fs::create_dir_all(dir).map_err(|e| error(&e))?;
        for (feed, batch) in &self.links {
            let path = dir.join(format!("links-{}.parquet", feed.name()));
            let file = std::fs::File::create(&path).map_err(|e| error(&e))?;
            let mut writer = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None)
                .map_err(|e| error(&e))?;
            writer.write(batch).map_err(|e| error(&e))?;
            writer.close().map_err(|e| error(&e))?;
            self.link_files.insert(*feed, path);
        }
        Ok(())
    }

    /// The largest `row` number of any file of a feed, from the files' Parquet statistics
    /// (−1 when no file has a `row` value); `None` when a file cannot tell (no statistics, a
    /// negative row number, a file that cannot be read), so that the caller does not rely on
    /// a bound it does not have.
    pub(crate) fn max_row(&self, feed: Feed) -> Option<i64> {
        use parquet::file::reader::{FileReader, SerializedFileReader};
        use parquet::file::statistics::Statistics;
        let mut max = -1i64;
        for path in self.files(feed) {
            let file = std::fs::File::open(path).ok()?;
            let reader = SerializedFileReader::new(file).ok()?;
            let metadata = reader.metadata();
            let column = metadata
                .file_metadata()
                .schema_descr()
                .columns()
                .iter()
                .position(|c| c.path().parts() == ["row"]);
            let Some(column) = column else {
                continue; // every row of this file has no row number
            };
            for group in metadata.row_groups() {
                let chunk = group.column(column);
                if chunk.num_values() == 0 {
                    continue;
                }
                let statistics = chunk.statistics()?;
                let bounds = match statistics {
                    Statistics::Int64(s) => s.min_opt().copied().zip(s.max_opt().copied()),
                    Statistics::Int32(s) => s
                        .min_opt()
                        .map(|v| i64::from(*v))
                        .zip(s.max_opt().map(|v| i64::from(*v))),
                    _ => return None,
                };
                let Some((low, high)) = bounds else {
                    if statistics.null_count_opt() == Some(chunk.num_values() as u64) {
                        continue; // only nulls in this row group
                    }
                    return None;
                };
                if low < 0 {
                    return None;
                }
                max = max.max(high);
            }
        }
        Some(max)
    }

    /// The feeds without any file.
    pub fn missing(&self) -> Vec<Feed> {
        Feed::ALL
            .into_iter()
            .filter(|f| self.files(*f).is_empty())
            .collect()
    }
}

/// Reads a feed into a DataFrame of its canonical columns plus `seq` and `row`.
pub(crate) async fn read_feed(
    ctx: &SessionContext,
    lake: &LakeFiles,
    feed: Feed,
) -> Result<DataFrame, MonitorError> {
    let schema = feed.schema();
    let mut table: Option<DataFrame> = None;
    for (seq, path) in lake.files(feed).iter().enumerate() {
        let text = path
            .to_str()
            .ok_or_else(|| MonitorError::Lake("a lake path is not UTF-8".into()))?;
        let df = ctx
            .read_parquet(text.to_string(), ParquetReadOptions::default())
            .await?;
        let present: Vec<String> = df
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let mut exprs = Vec::new();
        for (name, kind) in feed.columns() {
            let expr = if present.iter().any(|p| p == name) {
                let source_type = df
                    .schema()
                    .field_with_unqualified_name(name)?
                    .data_type()
                    .clone();
                column_expr(name, *kind, &source_type)
            } else {
                lit(ScalarValue::try_from(&kind.data_type())?)
            };
            exprs.push(expr.alias(*name));
        }
        exprs.push(lit(seq as i64).alias("seq"));
        if present.iter().any(|p| p == "row") {
            exprs.push(cast(col("row"), DataType::Int64).alias("row"));
        } else {
            exprs.push(lit(ScalarValue::Int64(None)).alias("row"));
        }
        let df = df.select(exprs)?;
        table = Some(match table {
            None => df,
            Some(t) => t.union(df)?,
        });
    }
    let Some(table) = table else {
        // An empty relation, not an in-memory table: a cluster can plan it too.
        let empty = LogicalPlan::EmptyRelation(EmptyRelation {
            produce_one_row: false,
            schema: Arc::new(DFSchema::try_from(schema.as_ref().clone())?),
        });
        return Ok(DataFrame::new(ctx.state(), empty));
    };
    // A linked row takes its person's ID: in this process by the function that reads the
    // links (every other column left as it is), elsewhere by the mapping table joined on
    // (file, row).
    let links = match (lake.link_files.get(&feed), lake.links.get(&feed)) {
        (None, Some(_)) if lake.linked.contains_key(&feed) => {
            let linked = Arc::clone(&lake.linked[&feed]);
            let person = datafusion::logical_expr::ScalarUDF::new_from_impl(LinkedPerson {
                signature: datafusion::logical_expr::Signature::any(
                    3,
                    datafusion::logical_expr::Volatility::Immutable,
                ),
                linked,
            });
            let exprs = schema
                .fields()
                .iter()
                .map(|f| {
                    if f.name() == "person_id" {
                        person
                            .call(vec![col("person_id"), col("seq"), col("row")])
                            .alias("person_id")
                    } else {
                        col(quoted(f.name()))
                    }
                })
                .collect::<Vec<_>>();
            return Ok(table.select(exprs)?);
        }
        (Some(path), _) => {
            let text = path
                .to_str()
                .ok_or_else(|| MonitorError::Lake("a scratch path is not UTF-8".into()))?;
            ctx.read_parquet(text.to_string(), ParquetReadOptions::default())
                .await?
        }
        (None, Some(batch)) => ctx.read_batch(batch.clone())?,
        (None, None) => return Ok(table),
    };
    let joined = table.join(
        links,
        JoinType::Left,
        &["seq", "row"],
        &["link_seq", "link_row"],
        None,
    )?;
    let exprs = schema
        .fields()
        .iter()
        .map(|f| {
            if f.name() == "person_id" {
                coalesce(vec![col("person_id"), col("link_pid")]).alias("person_id")
            } else {
                col(quoted(f.name()))
            }
        })
        .collect::<Vec<_>>();
    Ok(joined.select(exprs)?)
}

/// The expression that reads a source column as its canonical kind.
fn column_expr(name: &str, kind: Kind, source: &DataType) -> datafusion::prelude::Expr {
    let c = col(quoted(name));
    match (kind, source) {
        (Kind::Centi, DataType::Decimal128(_, scale))
        | (Kind::Centi, DataType::Decimal256(_, scale)) => {
            // Hundredths, exact for scales up to 2 (the contract's decimals).
            cast(
                cast(c, DataType::Decimal128(38, *scale))
                    * lit(ScalarValue::Decimal128(Some(100), 38, 0)),
                DataType::Int64,
            )
        }
        (Kind::Centi, DataType::Float32 | DataType::Float64) => {
            // Non-negative by the contract: truncating x·100 + ½ rounds half up.
            cast(
                cast(c, DataType::Float64) * lit(100.0f64) + lit(0.5f64),
                DataType::Int64,
            )
        }
        (Kind::Centi, _) => cast(cast(c, DataType::Int64) * lit(100i64), DataType::Int64),
        (Kind::Money, DataType::Decimal128(_, scale)) => cast(
            cast(c, DataType::Decimal128(38, *scale))
                * lit(ScalarValue::Decimal128(Some(100), 38, 0)),
            DataType::Int64,
        ),
        (k, _) => cast(c, k.data_type()),
    }
}

/// A column name as an identifier (keeps upper case and dots literal).
fn quoted(name: &str) -> datafusion::common::Column {
    datafusion::common::Column::from_name(name)
}
