//! Rows the screening cannot use as they are: unlinked rows (no usable `person_id`, kept for
//! record linkage) and rows whose `person_id` is not in the population snapshot.

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type};
use datafusion::functions_aggregate::expr_fn::count;
use datafusion::logical_expr::JoinType;
use datafusion::prelude::{DataFrame, SessionContext, col, lit};

use futures::StreamExt;
use policy::PersonFacts;

use crate::MonitorError;
use crate::assemble::{NOBODY, PersonIndex, Text};
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
/// that the population's IDs are hashed once, not once per feed. A cluster runs this plan; a
/// local run has the population's index already and uses [`check_indexed`].
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
    // The population is the side hashed: the feeds have several times its rows.
    let missing = population
        .join(
            rows.filter(col("person_id").is_not_null())?,
            JoinType::RightAnti,
            &["reg_pid"],
            &["person_id"],
            None,
        )?
        .aggregate(vec![col("feed")], per_feed)?
        .collect()
        .await?;
    out.not_in_registry = counts(&missing);
    Ok(out)
}

/// The same counts as [`check`], from the index of the population that the facts were read
/// with: the person IDs of each feed are streamed and looked up, where the plan built a join
/// table of the population's IDs and probed it with every row of every feed (a tenth of a run
/// at ten million persons, and two gigabytes).
///
/// Each thread reads a partition of a feed at a time and looks its batches up as they come:
/// reading and looking up go on side by side on every core. (When chunks of rows were read
/// first and then looked up on every thread, the reading waited for the look-ups, and a
/// core was idle for a third of the check.)
pub(crate) async fn check_indexed(
    ctx: &SessionContext,
    lake: &LakeFiles,
    persons: &[PersonFacts],
    index: &PersonIndex,
    threads: usize,
) -> Result<RegistryCheck, MonitorError> {
    let mut partitions = Vec::new();
    for feed in Feed::ALL.into_iter().filter(|f| *f != Feed::Population) {
        if lake.files(feed).is_empty() {
            continue;
        }
        let streams = read_feed(ctx, lake, feed)
            .await?
            .select(vec![col("person_id")])?
            .execute_stream_partitioned()
            .await?;
        partitions.extend(streams.into_iter().map(|stream| (feed, stream)));
    }
    let runtime = tokio::runtime::Handle::current();
    let counted = crate::on_queue(partitions, threads, |(feed, mut stream)| {
        runtime.block_on(async {
            let (mut unlinked, mut missing) = (0u64, 0u64);
            while let Some(batch) = stream.next().await {
                let (u, m) = count_batch(&batch?, persons, index);
                (unlinked, missing) = (unlinked + u, missing + m);
            }
            Ok::<_, MonitorError>((feed, unlinked, missing))
        })
    });
    let mut out = RegistryCheck::default();
    for counts in counted {
        let (feed, unlinked, missing) = counts?;
        for (map, n) in [
            (&mut out.unlinked_per_feed, unlinked),
            (&mut out.not_in_registry, missing),
        ] {
            if n > 0 {
                *map.entry(feed.name().to_string()).or_default() += n;
            }
        }
    }
    Ok(out)
}

/// The rows of a batch of person IDs without an ID, and those whose ID is not a person's.
fn count_batch(batch: &RecordBatch, persons: &[PersonFacts], index: &PersonIndex) -> (u64, u64) {
    let ids = Text::of(Some(batch.column(0).as_ref()));
    let unlinked = batch.column(0).null_count() as u64;
    // a person's rows often follow each other (a month per row): each run of one ID is
    // looked up once, and counts its rows
    let mut runs: Vec<(&str, u64)> = Vec::new();
    for id in (0..batch.num_rows()).filter_map(|i| ids.get(i)) {
        match runs.last_mut() {
            Some((last, n)) if *last == id => *n += 1,
            _ => runs.push((id, 1)),
        }
    }
    let found = index.first_of_all(persons, runs.iter().map(|(id, _)| Some(id.as_bytes())));
    let missing = runs
        .iter()
        .zip(found)
        .filter(|&(_, k)| k == NOBODY)
        .map(|((_, n), _)| n)
        .sum::<u64>();
    (unlinked, missing)
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
