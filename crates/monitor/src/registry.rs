//! Rows the screening cannot use as they are: unlinked rows (no usable `person_id`, kept for
//! record linkage) and rows whose `person_id` is not in the population snapshot.

use std::collections::BTreeMap;

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::Int64Type;
use datafusion::functions_aggregate::expr_fn::count;
use datafusion::logical_expr::JoinType;
use datafusion::prelude::{SessionContext, col, lit};

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
/// lake as imported, before record linkage).
pub(crate) async fn check(
    ctx: &SessionContext,
    lake: &LakeFiles,
) -> Result<RegistryCheck, MonitorError> {
    let mut out = RegistryCheck::default();
    let population = read_feed(ctx, lake, Feed::Population)
        .await?
        .select(vec![col("person_id").alias("reg_pid")])?;
    for feed in Feed::ALL.into_iter().filter(|f| *f != Feed::Population) {
        if lake.files(feed).is_empty() {
            continue;
        }
        let table = read_feed(ctx, lake, feed).await?;
        let unlinked = table
            .clone()
            .filter(col("person_id").is_null())?
            .aggregate(vec![], vec![count(lit(1i64)).alias("n")])?
            .collect()
            .await?;
        let n = first_count(&unlinked);
        if n > 0 {
            out.unlinked_per_feed.insert(feed.name().to_string(), n);
        }
        let missing = table
            .filter(col("person_id").is_not_null())?
            .join(
                population.clone(),
                JoinType::LeftAnti,
                &["person_id"],
                &["reg_pid"],
                None,
            )?
            .aggregate(vec![], vec![count(lit(1i64)).alias("n")])?
            .collect()
            .await?;
        let n = first_count(&missing);
        if n > 0 {
            out.not_in_registry.insert(feed.name().to_string(), n);
        }
    }
    Ok(out)
}

fn first_count(batches: &[RecordBatch]) -> u64 {
    batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .and_then(|b| {
            b.column(0)
                .as_primitive_opt::<Int64Type>()
                .map(|a| a.value(0))
        })
        .map_or(0, |n| u64::try_from(n).unwrap_or(0))
}
