//! Loading a screening run into the store: the lake's population snapshot (personal fields
//! sealed by the store), the result rows, the flagged households' explanations and the run
//! manifest, whose hash the store writes into the audit ledger with the run.

use anyhow::Context as _;
use arrow::array::{Array, AsArray};
use arrow::datatypes::Date32Type;
use domain::{Date, Gender, PersonStatus, Program, RegionCode, Relation, ResidentId};
use monitor::policy::pack::Pack;
use monitor::{Results, RunManifest};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::path::{Path, PathBuf};
use store::{RunLoad, Scope, Store, TaskRules, Timestamp};

/// What [`load`] did.
pub struct Loaded {
    /// Persons of the population snapshot stored.
    pub persons: usize,
    /// The run's load.
    pub run: RunLoad,
    /// Result rows left out because their household has no profile.
    pub left_out: usize,
}

/// Loads the population snapshot of the lake in `data_dir` and a run's results into `store`,
/// as the operator of the binary. `manifest_bytes` is `run.json` exactly as written.
#[allow(clippy::too_many_arguments)] // the parts of one loaded run, each used once
pub async fn load(
    store: &Store,
    data_dir: &Path,
    results: &Results,
    manifest: &RunManifest,
    manifest_bytes: &[u8],
    pack: &Pack,
    as_of: Date,
    now: Timestamp,
) -> anyhow::Result<Loaded> {
    let population =
        read_population(&exchange::Lake::open(data_dir)?.feed_files(exchange::Feed::Population))?;
    let mut run = run_results(results, as_of, pack, manifest, manifest_bytes)?;
    let left_out = keep_profiled(&mut run);
    let system = Scope::system();
    store
        .load_population(&system, &population)
        .await
        .context("loading persons")?;
    let loaded = store
        .load_run(&system, &run, &TaskRules::default(), now)
        .await
        .context("loading the run")?;
    Ok(Loaded {
        persons: population.len(),
        run: loaded,
        left_out,
    })
}

/// Keeps only the rows whose household has a profile (the store scopes every row by its
/// household's region); returns how many were left out.
pub fn keep_profiled(run: &mut store::RunResults) -> usize {
    let profiled: std::collections::HashSet<String> = run
        .households
        .iter()
        .map(|h| h.household_id.clone())
        .collect();
    let before =
        run.persons.len() + run.anomalies.len() + run.warnings.len() + run.recommendations.len();
    run.persons.retain(|r| profiled.contains(&r.household_id));
    run.anomalies.retain(|r| profiled.contains(&r.household_id));
    run.warnings.retain(|r| profiled.contains(&r.household_id));
    run.recommendations
        .retain(|r| profiled.contains(&r.household_id));
    before
        - (run.persons.len() + run.anomalies.len() + run.warnings.len() + run.recommendations.len())
}

/// The population snapshot of the lake, as the store takes it.
pub fn read_population(files: &[PathBuf]) -> anyhow::Result<Vec<store::PopulationRow>> {
    let mut rows = Vec::new();
    for path in files {
        let file =
            std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)?.build()?;
        for batch in reader {
            let batch = batch?;
            let text = |name: &str| {
                batch
                    .column_by_name(name)
                    .map(|c| c.as_string::<i32>().clone())
            };
            let (
                Some(ids),
                Some(names),
                Some(genders),
                Some(households),
                Some(relations),
                Some(regions),
                Some(statuses),
            ) = (
                text("person_id"),
                text("name"),
                text("gender"),
                text("household_id"),
                text("relation"),
                text("region_code"),
                text("status"),
            )
            else {
                anyhow::bail!("{}: not a population file of the lake", path.display());
            };
            let addresses = text("address");
            let (spouses, fathers, mothers) =
                (text("spouse_id"), text("father_id"), text("mother_id"));
            let status_dates = batch
                .column_by_name("status_date")
                .map(|c| c.as_primitive::<Date32Type>().clone());
            let opt = |col: &Option<arrow::array::StringArray>, i: usize| {
                col.as_ref()
                    .filter(|c| c.is_valid(i))
                    .map(|c| c.value(i).to_string())
            };
            let id = |text: Option<String>| text.and_then(|t| ResidentId::parse(&t).ok());
            for i in 0..batch.num_rows() {
                let (Ok(person_id), Ok(region_code)) = (
                    ResidentId::parse(ids.value(i)),
                    RegionCode::parse(regions.value(i)),
                ) else {
                    continue;
                };
                rows.push(store::PopulationRow {
                    person_id,
                    name: names.value(i).to_string(),
                    gender: Gender::parse(genders.value(i)).unwrap_or(Gender::Female),
                    household_id: households.value(i).to_string(),
                    relation: Relation::parse(relations.value(i)).unwrap_or(Relation::Other),
                    region_code,
                    address: opt(&addresses, i),
                    status: PersonStatus::parse(statuses.value(i)).unwrap_or(PersonStatus::Normal),
                    status_date: status_dates
                        .as_ref()
                        .filter(|c| c.is_valid(i))
                        .map(|c| Date::from_days(c.value(i))),
                    spouse_id: id(opt(&spouses, i)),
                    father_id: id(opt(&fathers, i)),
                    mother_id: id(opt(&mothers, i)),
                });
            }
        }
    }
    Ok(rows)
}

/// A run's result rows as the store keeps them.
pub fn run_results(
    results: &Results,
    as_of: Date,
    pack: &Pack,
    manifest: &RunManifest,
    manifest_bytes: &[u8],
) -> anyhow::Result<store::RunResults> {
    let id = |text: &str| ResidentId::parse(text).ok();
    let households = results
        .households
        .iter()
        .filter_map(|h| {
            Some(store::HouseholdProfile {
                household_id: h.household_id.to_string(),
                region_code: RegionCode::parse(&h.region_code).ok()?,
                size: h.size,
                tekun_members: h.tekun_members,
                per_capita_income: h.per_capita_income,
                tier: store::Tier::parse(&h.tier)?,
                dibao_amount: h.dibao_amount,
                score: u8::try_from(h.score.min(100)).unwrap_or(100),
                level: store::Level::parse(&h.level)?,
                tags: h.tags.clone(),
                explanation: results
                    .explanations
                    .get(h.household_id.as_str())
                    .and_then(|e| serde_json::to_value(e).ok())
                    .unwrap_or(serde_json::Value::Null),
            })
        })
        .collect();
    Ok(store::RunResults {
        run_id: manifest.run_id.clone(),
        as_of,
        policy: format!("{} {}", pack.name, pack.version),
        households,
        persons: results
            .persons
            .iter()
            .filter_map(|p| {
                Some(store::PersonResult {
                    person_id: id(&p.person_id)?,
                    household_id: p.household_id.clone(),
                    status: p.status.clone(),
                    amount: p.amount,
                    care_level: p.care_level.clone(),
                })
            })
            .collect(),
        anomalies: results
            .anomalies
            .iter()
            .filter_map(|a| {
                Some(store::AnomalyRow {
                    kind: store::AnomalyKind::parse(&a.kind)?,
                    program: Program::parse(&a.program)?,
                    household_id: a.household_id.clone(),
                    person_id: a.person_id.as_deref().and_then(id),
                    reasons: a.reasons.clone(),
                })
            })
            .collect(),
        warnings: results
            .warnings
            .iter()
            .filter_map(|w| {
                Some(store::WarningRow {
                    household_id: w.household_id.clone(),
                    person_id: w.person_id.as_deref().and_then(id),
                    signal: w.signal.clone(),
                    level: store::Level::parse(&w.level)?,
                    detected_at: as_of,
                })
            })
            .collect(),
        recommendations: results
            .recommendations
            .iter()
            .map(|r| store::RecommendationRow {
                household_id: r.household_id.clone(),
                kind: r.kind.clone(),
                item: r.item.clone(),
                amount: r.amount,
                reason: r.reason.clone(),
            })
            .collect(),
        provenance: Some(store::RunProvenance {
            manifest: String::from_utf8(manifest_bytes.to_vec())
                .context("the run manifest is not UTF-8")?,
            pack_digest: pack.digest.clone(),
        }),
    })
}
