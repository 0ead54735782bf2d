//! The results of monitoring runs (exchange.md §4): one `runs` row per run and its household
//! profiles, person results, anomalies, warnings and recommendations, keyed by run. Loading a
//! run is idempotent and keeps earlier runs as history; warnings become tasks.

use crate::audit::{Audit, LEDGER_HASH, acting_role, file_hash, region_of_prefix};
use crate::scope::{CASEWORK, RESULTS, Role};
use crate::tasks::{TaskRules, TaskState, insert_history};
use crate::{Result, Scope, Store, StoreError, Timestamp};
use domain::{Date, Fen, Program, RegionCode, ResidentId};
use ledger::{Action, Purpose, SubjectRef};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::BTreeMap;
use std::fmt;

macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The canonical code.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            /// Parses the canonical code (case-insensitive).
            pub fn parse(text: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|v| v.as_str().eq_ignore_ascii_case(text.trim()))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

code_enum! {
    /// A household's assistance tier (policy spec §3).
    Tier {
        /// 特困: every living member is 特困.
        Tekun = "tekun",
        /// 低保.
        Dibao = "dibao",
        /// 低保边缘.
        Marginal = "marginal",
        /// 刚性支出困难.
        RigidExpense = "rigid_expense",
        /// None of the above.
        None = "none",
    }
}

code_enum! {
    /// A warning level, most urgent first.
    Level {
        /// 红色预警.
        Red = "red",
        /// 橙色预警.
        Orange = "orange",
        /// 黄色预警.
        Yellow = "yellow",
        /// No warning.
        None = "none",
    }
}

code_enum! {
    /// The kind of an anomaly.
    AnomalyKind {
        /// 错保: paid but the rules no longer hold.
        WrongInclusion = "wrong_inclusion",
        /// 漏保: the rules hold but nobody is paid.
        Omission = "omission",
        /// 重复保: paid twice or two programs that exclude each other.
        Duplicate = "duplicate",
    }
}

/// One row of households.csv (一户一画像), plus the explanation a UI shows.
#[derive(Debug, Clone, PartialEq)]
pub struct HouseholdProfile {
    /// Household number.
    pub household_id: String,
    /// The household's region.
    pub region_code: RegionCode,
    /// Living members.
    pub size: u32,
    /// Living members classified 特困.
    pub tekun_members: u32,
    /// Counted income per member per month.
    pub per_capita_income: Fen,
    /// Tier.
    pub tier: Tier,
    /// Monthly 低保 entitlement (0 unless the tier is `dibao`).
    pub dibao_amount: Fen,
    /// Need and urgency score, 0-100.
    pub score: u8,
    /// Warning level.
    pub level: Level,
    /// Tag codes, sorted.
    pub tags: Vec<String>,
    /// The evaluator's explanation (JSON; no personal data).
    pub explanation: serde_json::Value,
}

/// One row of persons.csv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonResult {
    /// The person.
    pub person_id: ResidentId,
    /// Household number.
    pub household_id: String,
    /// `tekun` or `dibao_single`.
    pub status: String,
    /// Monthly amount the rules give this person.
    pub amount: Fen,
    /// `self`, `partial`, `full` for 特困.
    pub care_level: Option<String>,
}

/// One row of anomalies.csv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnomalyRow {
    /// 错保, 漏保 or 重复保.
    pub kind: AnomalyKind,
    /// The program concerned.
    pub program: Program,
    /// Household number.
    pub household_id: String,
    /// The person, when the anomaly is about one person.
    pub person_id: Option<ResidentId>,
    /// Reason codes, sorted.
    pub reasons: Vec<String>,
}

/// One row of warnings.csv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarningRow {
    /// Household number.
    pub household_id: String,
    /// The person the signal is about, if any.
    pub person_id: Option<ResidentId>,
    /// Signal code.
    pub signal: String,
    /// Level (never `none` for a warning).
    pub level: Level,
    /// The run's as-of date, or the event's date.
    pub detected_at: Date,
}

/// One row of recommendations.csv.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecommendationRow {
    /// Household number.
    pub household_id: String,
    /// `service`, `subsidy`, `cash` or `goods`.
    pub kind: String,
    /// Catalogue item code.
    pub item: String,
    /// Amount, where the item has one.
    pub amount: Option<Fen>,
    /// The rule or tag that recommends it.
    pub reason: String,
}

/// Everything one monitoring run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct RunResults {
    /// Unique run id (e.g. derived from the as-of date and the inputs' digest).
    pub run_id: String,
    /// The as-of date.
    pub as_of: Date,
    /// Policy pack name and version.
    pub policy: String,
    /// Household profiles: every other row names a household among these.
    pub households: Vec<HouseholdProfile>,
    /// Person results.
    pub persons: Vec<PersonResult>,
    /// Anomalies.
    pub anomalies: Vec<AnomalyRow>,
    /// Warnings.
    pub warnings: Vec<WarningRow>,
    /// Recommendations.
    pub recommendations: Vec<RecommendationRow>,
    /// What the run read and wrote, when it came from result files: the ledger entry of the
    /// load holds the hash of its manifest.
    pub provenance: Option<RunProvenance>,
}

/// What a run read and wrote, by hash (no personal data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunProvenance {
    /// The run manifest (`run.json`) exactly as written beside the result files: the pack's
    /// digest and the BLAKE3 of every input and result file.
    pub manifest: String,
    /// The policy pack's digest (BLAKE3 of its files); a load with another digest than the
    /// previous run's is recorded as a policy change.
    pub pack_digest: String,
}

/// What loading a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunLoad {
    /// The run was stored.
    Loaded {
        /// New tasks opened for warnings.
        tasks_opened: u64,
        /// Warnings attached to a task that was already open for the same household and
        /// signal.
        warnings_on_open_tasks: u64,
    },
    /// A run with this id was stored before; nothing changed.
    AlreadyLoaded,
}

/// A run as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunSummary {
    /// Run id.
    pub run_id: String,
    /// As-of date.
    pub as_of: Date,
    /// Policy pack.
    pub policy: String,
    /// When it was loaded.
    pub loaded_at: Timestamp,
    /// Households profiled.
    pub households: u64,
    /// Warnings raised.
    pub warnings: u64,
}

/// One line of a household's history across runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileSummary {
    /// Run id.
    pub run_id: String,
    /// As-of date of the run.
    pub as_of: Date,
    /// Tier in that run.
    pub tier: Tier,
    /// Score in that run.
    pub score: u8,
    /// Level in that run.
    pub level: Level,
}

/// A household's latest profile with the rows of the same run.
#[derive(Debug, Clone, PartialEq)]
pub struct HouseholdReport {
    /// The run.
    pub run_id: String,
    /// Its as-of date.
    pub as_of: Date,
    /// The profile.
    pub profile: HouseholdProfile,
    /// Person results.
    pub persons: Vec<PersonResult>,
    /// Anomalies.
    pub anomalies: Vec<AnomalyRow>,
    /// Warnings.
    pub warnings: Vec<WarningRow>,
    /// Recommendations.
    pub recommendations: Vec<RecommendationRow>,
}

pub(crate) fn result_record(run_id: &str, table: &str, seq: usize) -> String {
    format!("run:{run_id}:{table}:{seq}")
}

fn fen(row: &AnyRow, column: &str) -> Result<Fen> {
    Ok(Fen(row.try_get::<i64, _>(column)?))
}

fn count(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn codes(text: &str) -> Vec<String> {
    text.split(';')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

fn date(row: &AnyRow, column: &str) -> Result<Date> {
    let text: String = row.try_get(column)?;
    Date::parse(&text).map_err(|_| StoreError::Corrupt("date"))
}

impl Store {
    /// The ledger entry of a run load: the run (keyed) as subject, and as data the plain SM3
    /// of its manifest (which names the pack and hashes every input and result file) when the
    /// run has one; otherwise a hash chained over its identity and every household's outcome
    /// and warning, in the order given.
    fn run_audit(&self, scope: &Scope, run: &RunResults) -> Result<Audit> {
        let data = match &run.provenance {
            Some(p) => file_hash(p.manifest.as_bytes()),
            None => {
                let mut chain = LEDGER_HASH.hash(
                    format!("{}\u{1f}{}\u{1f}{}", run.run_id, run.as_of, run.policy).as_bytes(),
                );
                let mut add = |row: String| {
                    chain = LEDGER_HASH.hash_parts(&[chain.as_bytes(), row.as_bytes()]);
                };
                for h in &run.households {
                    add(format!(
                        "h\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}",
                        h.household_id,
                        h.tier.as_str(),
                        h.level.as_str(),
                        h.score,
                        h.dibao_amount.0
                    ));
                }
                for w in &run.warnings {
                    add(format!(
                        "w\u{1f}{}\u{1f}{}\u{1f}{}",
                        w.household_id,
                        w.signal,
                        w.level.as_str()
                    ));
                }
                self.record_hash("run", &chain.to_hex())
            }
        };
        Ok(Audit {
            action: Action::MonitoringRun,
            purpose: Purpose::Monitoring,
            role: acting_role(scope, &[Role::Administrator]),
            region: region_of_prefix(scope.region_prefix())?,
            case: None,
            subject: self.keyed_subject("run", &run.run_id),
            data,
        })
    }

    /// The ledger entry of a policy change: the first run screened with a pack whose digest
    /// differs from the previous run's. Subject and data are plain SM3 of the pack digest, so
    /// that whoever holds the pack can find and check the entry.
    fn policy_audit(&self, scope: &Scope, pack_digest: &str) -> Result<Audit> {
        Ok(Audit {
            action: Action::PolicyChange,
            purpose: Purpose::Administration,
            role: acting_role(scope, &[Role::Administrator]),
            region: region_of_prefix(scope.region_prefix())?,
            case: None,
            subject: SubjectRef::Hashed(LEDGER_HASH.hash(format!("pack:{pack_digest}").as_bytes())),
            data: file_hash(pack_digest.as_bytes()),
        })
    }

    /// Stores a run's results in one transaction. A run id seen before changes nothing
    /// ([`RunLoad::AlreadyLoaded`]); earlier runs stay as history. Each warning opens a task
    /// (state `open`, due by [`TaskRules`]) unless a task for the same household and signal is
    /// still open or verifying, in which case the warning is attached to it. Needs the
    /// administrator role; rows outside the scope's region are refused as a whole
    /// ([`StoreError::Forbidden`]).
    pub async fn load_run(
        &self,
        scope: &Scope,
        run: &RunResults,
        rules: &TaskRules,
        now: Timestamp,
    ) -> Result<RunLoad> {
        scope.require(&[Role::Administrator])?;
        self.catch_up_keys().await?;
        if run.run_id.is_empty() || run.run_id.len() > 64 {
            return Err(StoreError::Invalid("a run id has 1 to 64 characters"));
        }
        let mut regions: BTreeMap<&str, &str> = BTreeMap::new();
        for h in &run.households {
            if !scope.covers(h.region_code.as_str()) {
                return Err(StoreError::Forbidden);
            }
            regions.insert(h.household_id.as_str(), h.region_code.as_str());
        }
        let region_of = |household: &str| -> Result<String> {
            regions
                .get(household)
                .map(|r| r.to_string())
                .ok_or(StoreError::Invalid(
                    "a result row names a household without a profile",
                ))
        };
        let mut tx = self.begin_write().await?;
        let seen: Option<String> = sqlx::query_scalar("SELECT run_id FROM runs WHERE run_id = $1")
            .bind(run.run_id.clone())
            .fetch_optional(&mut *tx)
            .await?;
        if seen.is_some() {
            return Ok(RunLoad::AlreadyLoaded);
        }
        let mut audits = Vec::new();
        if let Some(p) = &run.provenance {
            let previous: Option<Option<String>> = sqlx::query_scalar(
                "SELECT pack_digest FROM runs ORDER BY loaded_at DESC, run_id DESC LIMIT 1",
            )
            .fetch_optional(&mut *tx)
            .await?;
            if previous.flatten().as_deref() != Some(p.pack_digest.as_str()) {
                audits.push(self.policy_audit(scope, &p.pack_digest)?);
            }
        }
        let inserted = sqlx::query(
            "INSERT INTO runs (run_id, as_of, policy, loaded_at, households, warnings, manifest,
                 pack_digest)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(run.run_id.clone())
        .bind(run.as_of.to_string())
        .bind(run.policy.clone())
        .bind(now.0)
        .bind(count(run.households.len()))
        .bind(count(run.warnings.len()))
        .bind(run.provenance.as_ref().map(|p| p.manifest.clone()))
        .bind(run.provenance.as_ref().map(|p| p.pack_digest.clone()))
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            // Another process loaded the same run between the check and the insert.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                return Ok(RunLoad::AlreadyLoaded);
            }
            Err(e) => return Err(e.into()),
        }
        for h in &run.households {
            sqlx::query(
                "INSERT INTO profiles (run_id, household_id, region_code, size, tekun_members,
                     per_capita_income, tier, dibao_amount, score, level, tags, explanation,
                     explanation_sealed)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(run.run_id.clone())
            .bind(h.household_id.clone())
            .bind(h.region_code.as_str().to_string())
            .bind(i64::from(h.size))
            .bind(i64::from(h.tekun_members))
            .bind(h.per_capita_income.0)
            .bind(h.tier.as_str())
            .bind(h.dibao_amount.0)
            .bind(i64::from(h.score))
            .bind(h.level.as_str())
            .bind(h.tags.join(";"))
            .bind("null")
            .bind((!h.explanation.is_null()).then(|| {
                self.keys().seal(
                    "explanation",
                    &profile_record(&run.run_id, &h.household_id),
                    &h.explanation.to_string(),
                )
            }))
            .execute(&mut *tx)
            .await?;
        }
        for (seq, p) in run.persons.iter().enumerate() {
            let record = result_record(&run.run_id, "person_results", seq);
            sqlx::query(
                "INSERT INTO person_results (run_id, seq, household_id, region_code,
                     person_index, person_sealed, status, amount, care_level)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(run.run_id.clone())
            .bind(count(seq))
            .bind(p.household_id.clone())
            .bind(region_of(&p.household_id)?)
            .bind(self.keys().blind_id(&p.person_id).0.to_vec())
            .bind(self.keys().seal("person_id", &record, p.person_id.as_str()))
            .bind(p.status.clone())
            .bind(p.amount.0)
            .bind(p.care_level.clone())
            .execute(&mut *tx)
            .await?;
        }
        for (seq, a) in run.anomalies.iter().enumerate() {
            let record = result_record(&run.run_id, "anomalies", seq);
            sqlx::query(
                "INSERT INTO anomalies (run_id, seq, kind, program, household_id, region_code,
                     person_index, person_sealed, reasons)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(run.run_id.clone())
            .bind(count(seq))
            .bind(a.kind.as_str())
            .bind(a.program.as_str())
            .bind(a.household_id.clone())
            .bind(region_of(&a.household_id)?)
            .bind(a.person_id.map(|p| self.keys().blind_id(&p).0.to_vec()))
            .bind(
                a.person_id
                    .map(|p| self.keys().seal("person_id", &record, p.as_str())),
            )
            .bind(a.reasons.join(";"))
            .execute(&mut *tx)
            .await?;
        }
        for (seq, r) in run.recommendations.iter().enumerate() {
            sqlx::query(
                "INSERT INTO recommendations (run_id, seq, household_id, region_code, kind,
                     item, amount, reason)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(run.run_id.clone())
            .bind(count(seq))
            .bind(r.household_id.clone())
            .bind(region_of(&r.household_id)?)
            .bind(r.kind.clone())
            .bind(r.item.clone())
            .bind(r.amount.map(|a| a.0))
            .bind(r.reason.clone())
            .execute(&mut *tx)
            .await?;
        }
        let mut tasks_opened = 0;
        let mut warnings_on_open_tasks = 0;
        for (seq, w) in run.warnings.iter().enumerate() {
            let region = region_of(&w.household_id)?;
            let record = result_record(&run.run_id, "warnings", seq);
            let open: Option<i64> = sqlx::query_scalar(
                "SELECT task_id FROM tasks WHERE household_id = $1 AND signal = $2
                 AND state IN ('open', 'verifying') ORDER BY task_id LIMIT 1",
            )
            .bind(w.household_id.clone())
            .bind(w.signal.clone())
            .fetch_optional(&mut *tx)
            .await?;
            let task_id = match open {
                Some(id) => {
                    warnings_on_open_tasks += 1;
                    id
                }
                None => {
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO tasks (household_id, region_code, signal, level,
                             person_index, run_id, state, assignee, due_date, created_on,
                             updated_at)
                         VALUES ($1, $2, $3, $4, $5, $6, 'open', NULL, $7, $8, $9)
                         RETURNING task_id",
                    )
                    .bind(w.household_id.clone())
                    .bind(region.clone())
                    .bind(w.signal.clone())
                    .bind(w.level.as_str())
                    .bind(w.person_id.map(|p| self.keys().blind_id(&p).0.to_vec()))
                    .bind(run.run_id.clone())
                    .bind(rules.due_date(w.level, w.detected_at).to_string())
                    .bind(w.detected_at.to_string())
                    .bind(now.0)
                    .fetch_one(&mut *tx)
                    .await?;
                    insert_history(
                        &mut tx,
                        &self.keys(),
                        id,
                        now,
                        scope.user_id(),
                        None,
                        TaskState::Open,
                        "opened",
                        None,
                    )
                    .await?;
                    tasks_opened += 1;
                    id
                }
            };
            sqlx::query(
                "INSERT INTO warnings (run_id, seq, household_id, region_code, person_index,
                     person_sealed, signal, level, detected_at, task_id)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(run.run_id.clone())
            .bind(count(seq))
            .bind(w.household_id.clone())
            .bind(region)
            .bind(w.person_id.map(|p| self.keys().blind_id(&p).0.to_vec()))
            .bind(
                w.person_id
                    .map(|p| self.keys().seal("person_id", &record, p.as_str())),
            )
            .bind(w.signal.clone())
            .bind(w.level.as_str())
            .bind(w.detected_at.to_string())
            .bind(task_id)
            .execute(&mut *tx)
            .await?;
        }
        audits.push(self.run_audit(scope, run)?);
        self.append_audit(&mut tx, scope, now, &audits).await?;
        tx.commit().await?;
        self.refresh_statistics(&[
            "profiles",
            "person_results",
            "anomalies",
            "warnings",
            "recommendations",
            "tasks",
        ])
        .await?;
        Ok(RunLoad::Loaded {
            tasks_opened,
            warnings_on_open_tasks,
        })
    }

    /// The runs stored, newest as-of date first. Needs a results role.
    pub async fn runs(&self, scope: &Scope) -> Result<Vec<RunSummary>> {
        scope.require(RESULTS)?;
        let rows = sqlx::query(
            "SELECT run_id, as_of, policy, loaded_at, households, warnings FROM runs
             ORDER BY as_of DESC, loaded_at DESC, run_id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RunSummary {
                    run_id: r.try_get("run_id")?,
                    as_of: date(r, "as_of")?,
                    policy: r.try_get("policy")?,
                    loaded_at: Timestamp(r.try_get("loaded_at")?),
                    households: u64::try_from(r.try_get::<i64, _>("households")?).unwrap_or(0),
                    warnings: u64::try_from(r.try_get::<i64, _>("warnings")?).unwrap_or(0),
                })
            })
            .collect()
    }

    /// A household's profile in every run, oldest first; empty when the household is unknown
    /// or outside the scope. Needs a results role.
    pub async fn profile_history(
        &self,
        scope: &Scope,
        household_id: &str,
    ) -> Result<Vec<ProfileSummary>> {
        scope.require(RESULTS)?;
        let rows = sqlx::query(
            "SELECT p.run_id, r.as_of, p.tier, p.score, p.level
             FROM profiles p JOIN runs r ON r.run_id = p.run_id
             WHERE p.household_id = $1 AND p.region_code LIKE $2
             ORDER BY r.as_of, r.loaded_at, p.run_id",
        )
        .bind(household_id.to_string())
        .bind(scope.pattern())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let tier: String = r.try_get("tier")?;
                let level: String = r.try_get("level")?;
                Ok(ProfileSummary {
                    run_id: r.try_get("run_id")?,
                    as_of: date(r, "as_of")?,
                    tier: Tier::parse(&tier).ok_or(StoreError::Corrupt("tier"))?,
                    score: u8::try_from(r.try_get::<i64, _>("score")?)
                        .map_err(|_| StoreError::Corrupt("score"))?,
                    level: Level::parse(&level).ok_or(StoreError::Corrupt("level"))?,
                })
            })
            .collect()
    }

    /// The household's profile in its latest run (or in `run_id`), with the person results,
    /// anomalies, warnings and recommendations of that run. `None` when the household is
    /// unknown or outside the scope. Needs a casework role (person rows carry ID numbers).
    pub async fn household_report(
        &self,
        scope: &Scope,
        household_id: &str,
        run_id: Option<&str>,
    ) -> Result<Option<HouseholdReport>> {
        self.with_current_keys(|| self.household_report_now(scope, household_id, run_id))
            .await
    }

    async fn household_report_now(
        &self,
        scope: &Scope,
        household_id: &str,
        run_id: Option<&str>,
    ) -> Result<Option<HouseholdReport>> {
        scope.require(CASEWORK)?;
        let row = sqlx::query(
            "SELECT p.*, r.as_of FROM profiles p JOIN runs r ON r.run_id = p.run_id
             WHERE p.household_id = $1 AND p.region_code LIKE $2
               AND ($3 = '' OR p.run_id = $3)
             ORDER BY r.as_of DESC, r.loaded_at DESC, p.run_id DESC LIMIT 1",
        )
        .bind(household_id.to_string())
        .bind(scope.pattern())
        .bind(run_id.unwrap_or("").to_string())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let run_id: String = row.try_get("run_id")?;
        let as_of = date(&row, "as_of")?;
        let profile = profile_from_row(self, &row)?;
        let persons = self.person_results(&run_id, household_id).await?;
        let anomalies = self.anomalies(&run_id, household_id).await?;
        let warnings = self.warnings(&run_id, household_id).await?;
        let recommendations = self.recommendations(&run_id, household_id).await?;
        Ok(Some(HouseholdReport {
            run_id,
            as_of,
            profile,
            persons,
            anomalies,
            warnings,
            recommendations,
        }))
    }

    /// The profiles of one run within the scope, highest score first, optionally only at a
    /// given level. Needs a results role.
    pub async fn profiles(
        &self,
        scope: &Scope,
        run_id: &str,
        level: Option<Level>,
    ) -> Result<Vec<HouseholdProfile>> {
        scope.require(RESULTS)?;
        let rows = sqlx::query(
            "SELECT * FROM profiles WHERE run_id = $1 AND region_code LIKE $2
               AND ($3 = '' OR level = $3)
             ORDER BY score DESC, household_id",
        )
        .bind(run_id.to_string())
        .bind(scope.pattern())
        .bind(level.map(Level::as_str).unwrap_or("").to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| profile_from_row(self, r)).collect()
    }

    fn open_person(&self, record: &str, sealed: &[u8]) -> Result<ResidentId> {
        let text = self.keys().open_text("person_id", record, sealed)?;
        ResidentId::parse(text.expose()).map_err(|_| StoreError::Corrupt("person id"))
    }

    async fn person_results(&self, run_id: &str, household: &str) -> Result<Vec<PersonResult>> {
        let rows = sqlx::query(
            "SELECT seq, person_sealed, status, amount, care_level FROM person_results
             WHERE run_id = $1 AND household_id = $2 ORDER BY seq",
        )
        .bind(run_id.to_string())
        .bind(household.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let seq: i64 = r.try_get("seq")?;
                let record = result_record(run_id, "person_results", seq_usize(seq));
                let sealed: Vec<u8> = r.try_get("person_sealed")?;
                Ok(PersonResult {
                    person_id: self.open_person(&record, &sealed)?,
                    household_id: household.to_string(),
                    status: r.try_get("status")?,
                    amount: fen(r, "amount")?,
                    care_level: r.try_get("care_level")?,
                })
            })
            .collect()
    }

    async fn anomalies(&self, run_id: &str, household: &str) -> Result<Vec<AnomalyRow>> {
        let rows = sqlx::query(
            "SELECT seq, kind, program, person_sealed, reasons FROM anomalies
             WHERE run_id = $1 AND household_id = $2 ORDER BY seq",
        )
        .bind(run_id.to_string())
        .bind(household.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let seq: i64 = r.try_get("seq")?;
                let record = result_record(run_id, "anomalies", seq_usize(seq));
                let sealed: Option<Vec<u8>> = r.try_get("person_sealed")?;
                let kind: String = r.try_get("kind")?;
                let program: String = r.try_get("program")?;
                let reasons: String = r.try_get("reasons")?;
                Ok(AnomalyRow {
                    kind: AnomalyKind::parse(&kind).ok_or(StoreError::Corrupt("anomaly kind"))?,
                    program: Program::parse(&program).ok_or(StoreError::Corrupt("program"))?,
                    household_id: household.to_string(),
                    person_id: sealed.map(|s| self.open_person(&record, &s)).transpose()?,
                    reasons: codes(&reasons),
                })
            })
            .collect()
    }

    async fn warnings(&self, run_id: &str, household: &str) -> Result<Vec<WarningRow>> {
        let rows = sqlx::query(
            "SELECT seq, person_sealed, signal, level, detected_at FROM warnings
             WHERE run_id = $1 AND household_id = $2 ORDER BY seq",
        )
        .bind(run_id.to_string())
        .bind(household.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let seq: i64 = r.try_get("seq")?;
                let record = result_record(run_id, "warnings", seq_usize(seq));
                let sealed: Option<Vec<u8>> = r.try_get("person_sealed")?;
                let level: String = r.try_get("level")?;
                Ok(WarningRow {
                    household_id: household.to_string(),
                    person_id: sealed.map(|s| self.open_person(&record, &s)).transpose()?,
                    signal: r.try_get("signal")?,
                    level: Level::parse(&level).ok_or(StoreError::Corrupt("level"))?,
                    detected_at: date(r, "detected_at")?,
                })
            })
            .collect()
    }

    async fn recommendations(
        &self,
        run_id: &str,
        household: &str,
    ) -> Result<Vec<RecommendationRow>> {
        let rows = sqlx::query(
            "SELECT kind, item, amount, reason FROM recommendations
             WHERE run_id = $1 AND household_id = $2 ORDER BY seq",
        )
        .bind(run_id.to_string())
        .bind(household.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RecommendationRow {
                    household_id: household.to_string(),
                    kind: r.try_get("kind")?,
                    item: r.try_get("item")?,
                    amount: r.try_get::<Option<i64>, _>("amount")?.map(Fen),
                    reason: r.try_get("reason")?,
                })
            })
            .collect()
    }
}

fn seq_usize(seq: i64) -> usize {
    usize::try_from(seq).unwrap_or(usize::MAX)
}

/// The record key that binds a profile's sealed explanation to its row.
pub(crate) fn profile_record(run_id: &str, household_id: &str) -> String {
    format!("profile:{run_id}:{household_id}")
}

fn profile_from_row(store: &Store, row: &AnyRow) -> Result<HouseholdProfile> {
    let region: String = row.try_get("region_code")?;
    let tier: String = row.try_get("tier")?;
    let level: String = row.try_get("level")?;
    let tags: String = row.try_get("tags")?;
    let sealed: Option<Vec<u8>> = row.try_get("explanation_sealed")?;
    let explanation: String = match sealed {
        Some(sealed) => {
            let run_id: String = row.try_get("run_id")?;
            let household: String = row.try_get("household_id")?;
            store
                .keys()
                .open_text("explanation", &profile_record(&run_id, &household), &sealed)?
                .expose()
                .to_string()
        }
        None => row.try_get("explanation")?,
    };
    let small = |column: &str| -> Result<u32> {
        u32::try_from(row.try_get::<i64, _>(column)?).map_err(|_| StoreError::Corrupt("count"))
    };
    Ok(HouseholdProfile {
        household_id: row.try_get("household_id")?,
        region_code: RegionCode::parse(&region).map_err(|_| StoreError::Corrupt("region"))?,
        size: small("size")?,
        tekun_members: small("tekun_members")?,
        per_capita_income: fen(row, "per_capita_income")?,
        tier: Tier::parse(&tier).ok_or(StoreError::Corrupt("tier"))?,
        dibao_amount: fen(row, "dibao_amount")?,
        score: u8::try_from(row.try_get::<i64, _>("score")?)
            .map_err(|_| StoreError::Corrupt("score"))?,
        level: Level::parse(&level).ok_or(StoreError::Corrupt("level"))?,
        tags: codes(&tags),
        explanation: serde_json::from_str(&explanation)
            .map_err(|_| StoreError::Corrupt("explanation"))?,
    })
}
