//! Rows the screening cannot use as they are: unlinked rows (no usable `person_id`, kept for
//! record linkage) and rows whose `person_id` is not in the population snapshot.

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type};
use datafusion::functions_aggregate::expr_fn::count;
use datafusion::logical_expr::JoinType;
use datafusion::prelude::{DataFrame, SessionContext, col, lit};

use crate::MonitorError;
use crate::lake::{Feed, LakeFiles, read_feed};
use crate::linking::LakeLinks;

/// What the registry check found.
#[derive(Default, Clone)]
pub(crate) struct RegistryCheck {
    /// What record linkage decided for the unlinked rows.
    pub links: LakeLinks,
    /// (person, program) paid twice under two ID numbers (see [`crate::linking`]).
    pub two_ids: std::collections::BTreeSet<(String, String)>,
    /// Unlinked rows per feed.
    pub unlinked_per_feed: BTreeMap<String, u64>,
    /// Rows whose person is not in the registry, per feed.
    pub not_in_registry: BTreeMap<String, u64>,
}

/// Counts unlinked rows and rows of persons missing from the registry, feed by feed (on the
/// lake as imported, before record linkage): one plan over the person IDs of every feed, so
/// that the population's IDs are hashed once, not once per feed.
pub(crate) async fn check(
    ctx: &SessionContext,
    lake: &LakeFiles,
) -> Result<RegistryCheck, MonitorError> {
    let mut out = RegistryCheck::default();
    let mut rows: Option<DataFrame> = None;
    for feed in Feed::ALL.into_iter().filter(|f| *f != Feed::Population) {
        if lake.files(feed).is_empty() {
            continue;
        }
        let table = read_feed(ctx, lake, feed)
            .await?
            .select(vec![lit(feed.name()).alias("feed"), col("person_id")])?;
        rows = Some(match rows {
            None => table,
            Some(r) => r.union(table)?,
        });
    }
    let Some(rows) = rows else {
        return Ok(out);
    };
    let population = read_feed(ctx, lake, Feed::Population)
        .await?
        .select(vec![col("person_id").alias("reg_pid")])?;
    let per_feed = vec![count(lit(1i64)).alias("n")];
    let unlinked = rows
        .clone()
        .filter(col("person_id").is_null())?
        .aggregate(vec![col("feed")], per_feed.clone())?
        .collect()
        .await?;
    out.unlinked_per_feed = counts(&unlinked);
    let missing = rows
        .filter(col("person_id").is_not_null())?
        .join(
            population,
            JoinType::LeftAnti,
            &["person_id"],
            &["reg_pid"],
            None,
        )?
        .aggregate(vec![col("feed")], per_feed)?
        .collect()
        .await?;
    out.not_in_registry = counts(&missing);
    Ok(out)
}

/// The (feed, n) rows of a count per feed.
fn counts(batches: &[RecordBatch]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for batch in batches {
        let feeds = cast(batch.column(0), &DataType::Utf8);
        let (Ok(feeds), Some(n)) = (feeds, batch.column(1).as_primitive_opt::<Int64Type>()) else {
            continue;
        };
        let feeds = feeds.as_string::<i32>();
        for i in 0..batch.num_rows() {
            let count = u64::try_from(n.value(i)).unwrap_or(0);
            if !feeds.is_null(i) && count > 0 {
                *out.entry(feeds.value(i).to_string()).or_default() += count;
            }
        }
    }
    out
}
