//! Figures for dashboards and maps: counts and sums over the results of monitoring runs and over
//! tasks, within a scope. Every query filters by the scope's region prefix like every other
//! query of the store, and returns aggregates only — never a person, a name or a household id —
//! so the results roles (analysts included) may read them.
//!
//! Sums are cast to `BIGINT` in SQL: PostgreSQL's `SUM` of a `BIGINT` is `NUMERIC`, which the
//! `Any` driver does not decode as an integer.

use crate::runs::{Level, Tier};
use crate::scope::RESULTS;
use crate::tasks::TaskState;
use crate::{Result, Scope, Store, StoreError, Timestamp};
use domain::{Date, Fen};
use sqlx::Row;
use std::collections::BTreeMap;

/// A level of the region hierarchy that figures are grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionDepth {
    /// Counties (the first 6 digits).
    County,
    /// Townships (the first 9 digits).
    Township,
}

impl RegionDepth {
    /// The number of leading digits of a region code at this level.
    pub fn digits(self) -> usize {
        match self {
            RegionDepth::County => 6,
            RegionDepth::Township => 9,
        }
    }
}

/// Households and persons of one group (a tier, a level, an age band, a tag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupCount {
    /// The group's code (`dibao`, `red`, `60-79`, a tag code …).
    pub key: String,
    /// Households in the group (for age bands: households with a member in the band).
    pub households: i64,
    /// Persons in the group (living members).
    pub persons: i64,
}

/// The figures of one area (a county or a township) in a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AreaFigures {
    /// The area's region prefix (6 or 9 digits).
    pub prefix: String,
    /// Households profiled.
    pub households: i64,
    /// Living members of those households.
    pub persons: i64,
    /// Households in a tier (anything but `none`): covered by assistance.
    pub covered: i64,
    /// Households with a warning level other than `none`.
    pub warned: i64,
}

impl AreaFigures {
    /// Covered households per thousand households (0 when there are none).
    pub fn coverage_per_mille(&self) -> i64 {
        if self.households == 0 {
            0
        } else {
            self.covered * 1000 / self.households
        }
    }
}

/// One run's totals, for trends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrendPoint {
    /// The run.
    pub run_id: String,
    /// Its as-of date.
    pub as_of: Date,
    /// Households profiled.
    pub households: i64,
    /// Households per tier (every tier present, zeros included).
    pub by_tier: BTreeMap<Tier, i64>,
    /// Households with a warning level other than `none`.
    pub warned: i64,
}

/// Monthly amounts of one program in one run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spending {
    /// The run.
    pub run_id: String,
    /// Its as-of date.
    pub as_of: Date,
    /// `dibao` (household entitlements), `tekun` or `dibao_single` (person entitlements).
    pub program: String,
    /// Households or persons paid.
    pub recipients: i64,
    /// The monthly amount.
    pub amount: Fen,
}

/// How a warning's task is being handled, as of a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Handling {
    /// Open or being verified, due date not passed.
    Open,
    /// Open or being verified after its due date.
    Overdue,
    /// Decided or closed on or before its due date.
    ClosedInTime,
    /// Decided or closed after its due date.
    ClosedLate,
}

impl Handling {
    /// Every value, in display order.
    pub const ALL: [Handling; 4] = [
        Handling::Open,
        Handling::Overdue,
        Handling::ClosedInTime,
        Handling::ClosedLate,
    ];

    /// The canonical code.
    pub fn as_str(self) -> &'static str {
        match self {
            Handling::Open => "open",
            Handling::Overdue => "overdue",
            Handling::ClosedInTime => "closed_in_time",
            Handling::ClosedLate => "closed_late",
        }
    }
}

/// Warnings (their tasks) of one signal and level in one handling state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WarningFigure {
    /// Signal code.
    pub signal: String,
    /// Level.
    pub level: Level,
    /// Handling state.
    pub handling: Handling,
    /// Number of tasks.
    pub count: i64,
}

/// The age bands of the dashboard, as (code, lowest age, highest age).
pub const AGE_BANDS: [(&str, i64, i64); 5] = [
    ("0-17", 0, 17),
    ("18-44", 18, 44),
    ("45-59", 45, 59),
    ("60-79", 60, 79),
    ("80+", 80, i64::MAX),
];

/// The date of an instant in China Standard Time (UTC+8), the date the bureau works by.
pub fn china_date(at: Timestamp) -> Date {
    let days = (at.0 + 8 * 3600).div_euclid(86_400);
    Date::from_days(i32::try_from(days).unwrap_or(0))
}

fn int(row: &sqlx::any::AnyRow, column: &str) -> Result<i64> {
    Ok(row.try_get::<i64, _>(column)?)
}

fn as_of(row: &sqlx::any::AnyRow) -> Result<Date> {
    let text: String = row.try_get("as_of")?;
    Date::parse(&text).map_err(|_| StoreError::Corrupt("date"))
}

impl Store {
    /// Households and persons of a run by tier (every tier listed, zeros included).
    pub async fn households_by_tier(&self, scope: &Scope, run_id: &str) -> Result<Vec<GroupCount>> {
        self.grouped(scope, run_id, "tier", Tier::ALL.iter().map(|t| t.as_str()))
            .await
    }

    /// Households and persons of a run by warning level (every level listed).
    pub async fn households_by_level(
        &self,
        scope: &Scope,
        run_id: &str,
    ) -> Result<Vec<GroupCount>> {
        self.grouped(
            scope,
            run_id,
            "level",
            Level::ALL.iter().map(|l| l.as_str()),
        )
        .await
    }

    async fn grouped(
        &self,
        scope: &Scope,
        run_id: &str,
        column: &'static str,
        order: impl Iterator<Item = &'static str>,
    ) -> Result<Vec<GroupCount>> {
        scope.require(RESULTS)?;
        let sql = match column {
            "tier" => {
                "SELECT tier AS k, CAST(COUNT(*) AS BIGINT) AS households,
                    CAST(COALESCE(SUM(size), 0) AS BIGINT) AS persons
                 FROM profiles WHERE run_id = $1 AND region_code LIKE $2 GROUP BY tier"
            }
            _ => {
                "SELECT level AS k, CAST(COUNT(*) AS BIGINT) AS households,
                    CAST(COALESCE(SUM(size), 0) AS BIGINT) AS persons
                 FROM profiles WHERE run_id = $1 AND region_code LIKE $2 GROUP BY level"
            }
        };
        let rows = sqlx::query(sql)
            .bind(run_id.to_string())
            .bind(scope.pattern())
            .fetch_all(&self.pool)
            .await?;
        let mut found = BTreeMap::new();
        for r in &rows {
            let key: String = r.try_get("k")?;
            found.insert(key, (int(r, "households")?, int(r, "persons")?));
        }
        Ok(order
            .map(|k| {
                let (households, persons) = found.get(k).copied().unwrap_or((0, 0));
                GroupCount {
                    key: k.to_string(),
                    households,
                    persons,
                }
            })
            .collect())
    }

    /// The figures of every county or township of a run within the scope, by region prefix.
    pub async fn areas(
        &self,
        scope: &Scope,
        run_id: &str,
        depth: RegionDepth,
    ) -> Result<Vec<AreaFigures>> {
        scope.require(RESULTS)?;
        // Two fixed statements: the length is part of the SQL text, never a bound number
        // (PostgreSQL has no SUBSTR over a BIGINT length).
        let sql = match depth {
            RegionDepth::County => {
                "SELECT SUBSTR(region_code, 1, 6) AS k, CAST(COUNT(*) AS BIGINT) AS households,
                    CAST(COALESCE(SUM(size), 0) AS BIGINT) AS persons,
                    CAST(COALESCE(SUM(CASE WHEN tier <> 'none' THEN 1 ELSE 0 END), 0) AS BIGINT) AS covered,
                    CAST(COALESCE(SUM(CASE WHEN level <> 'none' THEN 1 ELSE 0 END), 0) AS BIGINT) AS warned
                 FROM profiles WHERE run_id = $1 AND region_code LIKE $2
                 GROUP BY SUBSTR(region_code, 1, 6) ORDER BY k"
            }
            RegionDepth::Township => {
                "SELECT SUBSTR(region_code, 1, 9) AS k, CAST(COUNT(*) AS BIGINT) AS households,
                    CAST(COALESCE(SUM(size), 0) AS BIGINT) AS persons,
                    CAST(COALESCE(SUM(CASE WHEN tier <> 'none' THEN 1 ELSE 0 END), 0) AS BIGINT) AS covered,
                    CAST(COALESCE(SUM(CASE WHEN level <> 'none' THEN 1 ELSE 0 END), 0) AS BIGINT) AS warned
                 FROM profiles WHERE run_id = $1 AND region_code LIKE $2
                 GROUP BY SUBSTR(region_code, 1, 9) ORDER BY k"
            }
        };
        let rows = sqlx::query(sql)
            .bind(run_id.to_string())
            .bind(scope.pattern())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(AreaFigures {
                    prefix: r.try_get("k")?,
                    households: int(r, "households")?,
                    persons: int(r, "persons")?,
                    covered: int(r, "covered")?,
                    warned: int(r, "warned")?,
                })
            })
            .collect()
    }

    /// Living persons of the registry within the scope by age band (ages on `on`, by year of
    /// birth), with the households of a run that have a member in the band. Every band listed.
    pub async fn persons_by_age_band(
        &self,
        scope: &Scope,
        run_id: &str,
        on: Date,
    ) -> Result<Vec<GroupCount>> {
        scope.require(RESULTS)?;
        let rows = sqlx::query(
            "SELECT birth_year, CAST(COUNT(*) AS BIGINT) AS persons FROM persons
             WHERE region_code LIKE $1 AND status = 'normal' GROUP BY birth_year",
        )
        .bind(scope.pattern())
        .fetch_all(&self.pool)
        .await?;
        let year = i64::from(on.year());
        let band_of = |birth_year: i64| {
            let age = (year - birth_year).max(0);
            AGE_BANDS
                .iter()
                .position(|(_, lo, hi)| (*lo..=*hi).contains(&age))
        };
        let mut bands: Vec<GroupCount> = AGE_BANDS
            .iter()
            .map(|(k, _, _)| GroupCount {
                key: (*k).to_string(),
                households: 0,
                persons: 0,
            })
            .collect();
        for r in &rows {
            if let Some(band) = band_of(int(r, "birth_year")?).and_then(|i| bands.get_mut(i)) {
                band.persons += int(r, "persons")?;
            }
        }
        // Households of the run with a member in each band.
        let rows = sqlx::query(
            "SELECT DISTINCT p.household_id AS h, p.birth_year AS birth_year
             FROM persons p JOIN profiles f ON f.household_id = p.household_id AND f.run_id = $1
             WHERE p.region_code LIKE $2 AND p.status = 'normal'",
        )
        .bind(run_id.to_string())
        .bind(scope.pattern())
        .fetch_all(&self.pool)
        .await?;
        let mut seen: std::collections::HashSet<(String, usize)> = Default::default();
        for r in &rows {
            let household: String = r.try_get("h")?;
            if let Some(i) = band_of(int(r, "birth_year")?)
                && seen.insert((household, i))
                && let Some(band) = bands.get_mut(i)
            {
                band.households += 1;
            }
        }
        Ok(bands)
    }

    /// Households and persons of a run by tag, most frequent first (tags of no household are
    /// not listed).
    pub async fn households_by_tag(&self, scope: &Scope, run_id: &str) -> Result<Vec<GroupCount>> {
        scope.require(RESULTS)?;
        let rows = sqlx::query(
            "SELECT tags, CAST(COUNT(*) AS BIGINT) AS households,
                CAST(COALESCE(SUM(size), 0) AS BIGINT) AS persons
             FROM profiles WHERE run_id = $1 AND region_code LIKE $2 AND tags <> ''
             GROUP BY tags",
        )
        .bind(run_id.to_string())
        .bind(scope.pattern())
        .fetch_all(&self.pool)
        .await?;
        let mut counts: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        for r in &rows {
            let tags: String = r.try_get("tags")?;
            let (h, p) = (int(r, "households")?, int(r, "persons")?);
            for tag in tags.split(';').filter(|t| !t.is_empty()) {
                let entry = counts.entry(tag.to_string()).or_default();
                entry.0 += h;
                entry.1 += p;
            }
        }
        let mut out: Vec<GroupCount> = counts
            .into_iter()
            .map(|(key, (households, persons))| GroupCount {
                key,
                households,
                persons,
            })
            .collect();
        out.sort_by(|a, b| b.households.cmp(&a.households).then(a.key.cmp(&b.key)));
        Ok(out)
    }

    /// Totals of every run within the scope, oldest as-of date first.
    pub async fn trends(&self, scope: &Scope) -> Result<Vec<TrendPoint>> {
        scope.require(RESULTS)?;
        let rows = sqlx::query(
            "SELECT r.run_id AS run_id, r.as_of AS as_of, r.loaded_at AS loaded_at,
                p.tier AS tier, CAST(COUNT(*) AS BIGINT) AS households,
                CAST(COALESCE(SUM(CASE WHEN p.level <> 'none' THEN 1 ELSE 0 END), 0) AS BIGINT) AS warned
             FROM profiles p JOIN runs r ON r.run_id = p.run_id
             WHERE p.region_code LIKE $1
             GROUP BY r.run_id, r.as_of, r.loaded_at, p.tier
             ORDER BY r.as_of, r.loaded_at, r.run_id",
        )
        .bind(scope.pattern())
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<TrendPoint> = Vec::new();
        for r in &rows {
            let run_id: String = r.try_get("run_id")?;
            if out.last().is_none_or(|p| p.run_id != run_id) {
                out.push(TrendPoint {
                    run_id: run_id.clone(),
                    as_of: as_of(r)?,
                    households: 0,
                    by_tier: Tier::ALL.iter().map(|t| (*t, 0)).collect(),
                    warned: 0,
                });
            }
            let tier: String = r.try_get("tier")?;
            let tier = Tier::parse(&tier).ok_or(StoreError::Corrupt("tier"))?;
            let households = int(r, "households")?;
            if let Some(point) = out.last_mut() {
                point.households += households;
                point.warned += int(r, "warned")?;
                *point.by_tier.entry(tier).or_default() += households;
            }
        }
        Ok(out)
    }

    /// Monthly amounts by program in every run within the scope, oldest run first: 低保 from
    /// the households' entitlements, 特困 and 单人保 from the persons' results.
    pub async fn spending(&self, scope: &Scope) -> Result<Vec<Spending>> {
        scope.require(RESULTS)?;
        let rows = sqlx::query(
            "SELECT r.run_id AS run_id, r.as_of AS as_of, r.loaded_at AS loaded_at,
                'dibao' AS program, CAST(COUNT(*) AS BIGINT) AS recipients,
                CAST(COALESCE(SUM(p.dibao_amount), 0) AS BIGINT) AS amount
             FROM profiles p JOIN runs r ON r.run_id = p.run_id
             WHERE p.region_code LIKE $1 AND p.dibao_amount > 0
             GROUP BY r.run_id, r.as_of, r.loaded_at
             UNION ALL
             SELECT r.run_id AS run_id, r.as_of AS as_of, r.loaded_at AS loaded_at,
                x.status AS program, CAST(COUNT(*) AS BIGINT) AS recipients,
                CAST(COALESCE(SUM(x.amount), 0) AS BIGINT) AS amount
             FROM person_results x JOIN runs r ON r.run_id = x.run_id
             WHERE x.region_code LIKE $1
             GROUP BY r.run_id, r.as_of, r.loaded_at, x.status
             ORDER BY as_of, loaded_at, run_id, program",
        )
        .bind(scope.pattern())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Spending {
                    run_id: r.try_get("run_id")?,
                    as_of: as_of(r)?,
                    program: r.try_get("program")?,
                    recipients: int(r, "recipients")?,
                    amount: Fen(int(r, "amount")?),
                })
            })
            .collect()
    }

    /// Warnings' tasks within the scope by signal, level and handling state on `today`
    /// (decided or closed by the end of the due date counts as in time, in China Standard
    /// Time). Only combinations that occur are listed, by signal, level and handling.
    pub async fn warning_figures(&self, scope: &Scope, today: Date) -> Result<Vec<WarningFigure>> {
        scope.require(RESULTS)?;
        let rows = sqlx::query(
            "SELECT t.signal AS signal, t.level AS level, t.state AS state,
                t.due_date AS due_date,
                (SELECT MIN(h.at) FROM task_history h
                  WHERE h.task_id = t.task_id AND h.to_state IN ('decided', 'closed')) AS handled_at
             FROM tasks t WHERE t.region_code LIKE $1",
        )
        .bind(scope.pattern())
        .fetch_all(&self.pool)
        .await?;
        let mut counts: BTreeMap<(String, Level, Handling), i64> = BTreeMap::new();
        for r in &rows {
            let level: String = r.try_get("level")?;
            let level = Level::parse(&level).ok_or(StoreError::Corrupt("level"))?;
            let state: String = r.try_get("state")?;
            let state = TaskState::parse(&state).ok_or(StoreError::Corrupt("task state"))?;
            let due: String = r.try_get("due_date")?;
            let due = Date::parse(&due).map_err(|_| StoreError::Corrupt("due date"))?;
            let handled: Option<i64> = r.try_get("handled_at")?;
            let handling = match (state, handled) {
                (TaskState::Open | TaskState::Verifying, _) if due < today => Handling::Overdue,
                (TaskState::Open | TaskState::Verifying, _) => Handling::Open,
                (_, Some(at)) if china_date(Timestamp(at)) <= due => Handling::ClosedInTime,
                _ => Handling::ClosedLate,
            };
            *counts
                .entry((r.try_get("signal")?, level, handling))
                .or_default() += 1;
        }
        Ok(counts
            .into_iter()
            .map(|((signal, level, handling), count)| WarningFigure {
                signal,
                level,
                handling,
                count,
            })
            .collect())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    //! The figures on a small synthetic world, on SQLite and (when reachable) PostgreSQL:
    //! county 990101 with townships 001 and 002, county 990102, two runs, two tasks.

    use super::*;
    use crate::{
        HouseholdProfile, NewUser, PersonResult, PopulationRow, Role, RunResults, TaskRules,
        WarningRow,
    };
    use domain::{Gender, PersonStatus, RegionCode, Relation, ResidentId};
    use privacy::{Algorithm, Kek};
    use sqlx::Connection as _;

    const PG_SERVER: &str = "postgres://postgres@127.0.0.1:5432";
    /// 2026-07-01 10:00 in China.
    const NOW: Timestamp = Timestamp(1_782_871_200);

    fn date(y: i32, m: u32, d: u32) -> Date {
        Date::from_ymd(y, m, d).unwrap()
    }

    fn id(year: i32, seq: u32) -> ResidentId {
        let first17 = format!("990101{year:04}0101{seq:03}");
        let check = domain::id::check_char(first17.as_bytes()) as char;
        ResidentId::parse(&format!("{first17}{check}")).unwrap()
    }

    fn person(year: i32, seq: u32, household: &str, region: &str) -> PopulationRow {
        PopulationRow {
            person_id: id(year, seq),
            name: "测试人".into(),
            gender: Gender::Female,
            household_id: household.into(),
            relation: Relation::Head,
            region_code: RegionCode::parse(region).unwrap(),
            address: None,
            status: PersonStatus::Normal,
            status_date: None,
            spouse_id: None,
            father_id: None,
            mother_id: None,
        }
    }

    fn profile(
        household: &str,
        region: &str,
        size: u32,
        tier: Tier,
        level: Level,
        tags: &[&str],
    ) -> HouseholdProfile {
        HouseholdProfile {
            household_id: household.into(),
            region_code: RegionCode::parse(region).unwrap(),
            size,
            tekun_members: 0,
            per_capita_income: Fen(0),
            tier,
            dibao_amount: if tier == Tier::Dibao {
                Fen(60_000 * i64::from(size))
            } else {
                Fen(0)
            },
            score: 50,
            level,
            tags: tags.iter().map(|t| t.to_string()).collect(),
            explanation: serde_json::Value::Null,
        }
    }

    fn run(run_id: &str, as_of: Date, second: bool) -> RunResults {
        let warning = |household: &str, signal: &str, level| WarningRow {
            household_id: household.into(),
            person_id: None,
            signal: signal.into(),
            level,
            detected_at: as_of,
        };
        RunResults {
            run_id: run_id.into(),
            as_of,
            policy: "default".into(),
            households: vec![
                profile(
                    "HA1",
                    "990101001001",
                    2,
                    Tier::Dibao,
                    Level::Red,
                    &["elderly_alone"],
                ),
                profile(
                    "HA2",
                    "990101001002",
                    1,
                    if second { Tier::Marginal } else { Tier::None },
                    Level::None,
                    &[],
                ),
                profile(
                    "HB1",
                    "990101002001",
                    1,
                    Tier::Tekun,
                    Level::Orange,
                    &["disabled", "elderly_alone"],
                ),
                profile(
                    "HC1",
                    "990102003001",
                    3,
                    Tier::Dibao,
                    Level::None,
                    &["disabled"],
                ),
            ],
            persons: vec![PersonResult {
                person_id: id(1940, 4),
                household_id: "HB1".into(),
                status: "tekun".into(),
                amount: Fen(100_000),
                care_level: Some("full".into()),
            }],
            anomalies: vec![],
            warnings: if second {
                vec![
                    warning("HA1", "large_medical", Level::Red),
                    warning("HB1", "job_loss", Level::Orange),
                ]
            } else {
                vec![]
            },
            recommendations: vec![],
            provenance: None,
        }
    }

    async fn fill(store: &Store) {
        let system = Scope::system();
        store
            .load_population(
                &system,
                &[
                    person(1950, 1, "HA1", "990101001001"),
                    person(2015, 2, "HA1", "990101001001"),
                    person(1990, 3, "HA2", "990101001002"),
                    person(1940, 4, "HB1", "990101002001"),
                    person(1985, 5, "HC1", "990102003001"),
                    person(1987, 6, "HC1", "990102003001"),
                    person(2020, 7, "HC1", "990102003001"),
                ],
            )
            .await
            .unwrap();
        let rules = TaskRules::default();
        store
            .load_run(&system, &run("r1", date(2026, 5, 31), false), &rules, NOW)
            .await
            .unwrap();
        store
            .load_run(&system, &run("r2", date(2026, 6, 30), true), &rules, NOW)
            .await
            .unwrap();
        let reviewer = store
            .add_user(
                &system,
                &NewUser {
                    username: "rev".into(),
                    roles: vec![Role::Reviewer],
                    region_prefix: "99".into(),
                    password: "a long enough password".into(),
                },
                NOW,
            )
            .await
            .unwrap()
            .scope()
            .unwrap();
        let tasks = store.tasks(&system, None).await.unwrap();
        let red = tasks.iter().find(|t| t.household_id == "HA1").unwrap();
        store
            .move_task(
                &reviewer,
                red.id,
                TaskState::Verifying,
                Some("visited"),
                NOW,
            )
            .await
            .unwrap();
        let input = crate::DecisionInput {
            outcome: "no_change".into(),
            reason: "checked".into(),
            package_items: vec![],
        };
        store
            .record_decision(&reviewer, red.id, &input, NOW)
            .await
            .unwrap();
    }

    async fn figures(store: &Store) {
        fill(store).await;
        let county = Scope::new(9, &[Role::Analyst], "990101").unwrap();
        let township = Scope::new(9, &[Role::Analyst], "990101001").unwrap();

        let tiers = store.households_by_tier(&county, "r2").await.unwrap();
        let get = |rows: &[GroupCount], k: &str| {
            let r = rows.iter().find(|r| r.key == k).unwrap();
            (r.households, r.persons)
        };
        assert_eq!(tiers.len(), Tier::ALL.len());
        assert_eq!(get(&tiers, "dibao"), (1, 2)); // HC1 is in another county
        assert_eq!(get(&tiers, "tekun"), (1, 1));
        assert_eq!(get(&tiers, "marginal"), (1, 1));
        assert_eq!(get(&tiers, "none"), (0, 0));
        let tiers = store.households_by_tier(&township, "r1").await.unwrap();
        assert_eq!(
            (get(&tiers, "dibao"), get(&tiers, "none")),
            ((1, 2), (1, 1))
        );
        assert_eq!(get(&tiers, "tekun"), (0, 0));

        let levels = store.households_by_level(&county, "r2").await.unwrap();
        assert_eq!(get(&levels, "red"), (1, 2));
        assert_eq!(get(&levels, "orange"), (1, 1));
        assert_eq!(get(&levels, "none"), (1, 1));

        let areas = store
            .areas(&Scope::system(), "r2", RegionDepth::County)
            .await
            .unwrap();
        let prefixes: Vec<&str> = areas.iter().map(|a| a.prefix.as_str()).collect();
        assert_eq!(prefixes, ["990101", "990102"]);
        assert_eq!(
            (
                areas[0].households,
                areas[0].persons,
                areas[0].covered,
                areas[0].warned
            ),
            (3, 4, 3, 2)
        );
        assert_eq!(areas[0].coverage_per_mille(), 1000);
        let areas = store
            .areas(&county, "r1", RegionDepth::Township)
            .await
            .unwrap();
        assert_eq!(areas.len(), 2);
        assert_eq!(areas[0].prefix, "990101001");
        assert_eq!((areas[0].households, areas[0].covered), (2, 1));
        assert_eq!(areas[0].coverage_per_mille(), 500);

        let ages = store
            .persons_by_age_band(&county, "r2", date(2026, 6, 30))
            .await
            .unwrap();
        let keys: Vec<&str> = ages.iter().map(|a| a.key.as_str()).collect();
        assert_eq!(keys, ["0-17", "18-44", "45-59", "60-79", "80+"]);
        // Born 2015 (11), 1990 (36), 1950 (76), 1940 (86); HC1's members are elsewhere.
        assert_eq!(get(&ages, "0-17"), (1, 1));
        assert_eq!(get(&ages, "18-44"), (1, 1));
        assert_eq!(get(&ages, "45-59"), (0, 0));
        assert_eq!(get(&ages, "60-79"), (1, 1));
        assert_eq!(get(&ages, "80+"), (1, 1));
        let everyone = store
            .persons_by_age_band(&Scope::system(), "r2", date(2026, 6, 30))
            .await
            .unwrap();
        assert_eq!(get(&everyone, "0-17"), (2, 2)); // HA1's child and HC1's child
        assert_eq!(get(&everyone, "18-44"), (2, 3)); // HA2; HC1's two adults, one household

        let tags = store.households_by_tag(&county, "r2").await.unwrap();
        assert_eq!(tags[0].key, "elderly_alone");
        assert_eq!((tags[0].households, tags[0].persons), (2, 3));
        assert_eq!(get(&tags, "disabled"), (1, 1));
        assert_eq!(tags.len(), 2);

        let trends = store.trends(&county).await.unwrap();
        assert_eq!(trends.len(), 2);
        assert_eq!(
            (trends[0].run_id.as_str(), trends[1].run_id.as_str()),
            ("r1", "r2")
        );
        assert_eq!(trends[0].by_tier[&Tier::None], 1);
        assert_eq!(trends[1].by_tier[&Tier::None], 0);
        assert_eq!(trends[1].by_tier[&Tier::Marginal], 1);
        assert_eq!((trends[1].households, trends[1].warned), (3, 2));

        let spending = store.spending(&county).await.unwrap();
        let amounts: Vec<(&str, &str, i64, i64)> = spending
            .iter()
            .map(|s| {
                (
                    s.run_id.as_str(),
                    s.program.as_str(),
                    s.recipients,
                    s.amount.0,
                )
            })
            .collect();
        assert_eq!(
            amounts,
            [
                ("r1", "dibao", 1, 120_000),
                ("r1", "tekun", 1, 100_000),
                ("r2", "dibao", 1, 120_000),
                ("r2", "tekun", 1, 100_000),
            ]
        );
        let spending = store.spending(&Scope::system()).await.unwrap();
        assert_eq!(spending[0].amount, Fen(300_000)); // HC1 adds 3 × 600 yuan

        // The red task was decided on 2026-07-01, due 07-03; the orange one is due 07-07.
        let w = store
            .warning_figures(&county, date(2026, 7, 2))
            .await
            .unwrap();
        let find = |w: &[WarningFigure], s: &str| {
            w.iter()
                .find(|f| f.signal == s)
                .map(|f| (f.level, f.handling, f.count))
                .unwrap()
        };
        assert_eq!(w.len(), 2);
        assert_eq!(
            find(&w, "large_medical"),
            (Level::Red, Handling::ClosedInTime, 1)
        );
        assert_eq!(find(&w, "job_loss"), (Level::Orange, Handling::Open, 1));
        let w = store
            .warning_figures(&county, date(2026, 7, 10))
            .await
            .unwrap();
        assert_eq!(find(&w, "job_loss"), (Level::Orange, Handling::Overdue, 1));
        let w = store
            .warning_figures(&township, date(2026, 7, 10))
            .await
            .unwrap();
        assert_eq!(w.len(), 1, "township B's task is outside the scope");

        // A role without results sees nothing.
        let department = Scope::new(9, &[Role::Department], "99").unwrap();
        assert!(matches!(
            store.households_by_tier(&department, "r2").await,
            Err(StoreError::Forbidden)
        ));
        assert!(matches!(
            store.trends(&department).await,
            Err(StoreError::Forbidden)
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn figures_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("r.db").display());
        let store = Store::open(&url, &Kek::generate(), Algorithm::Sm4Gcm, NOW)
            .await
            .unwrap();
        figures(&store).await;
        store.close().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn figures_on_postgres() {
        let mut admin =
            match sqlx::postgres::PgConnection::connect(&format!("{PG_SERVER}/test")).await {
                Ok(c) => c,
                Err(error) => {
                    assert!(
                        std::env::var_os("JIUZHU_REQUIRE_POSTGRES").is_none(),
                        "PostgreSQL is unreachable ({error}) but JIUZHU_REQUIRE_POSTGRES is set"
                    );
                    eprintln!(
                        "\n!!!!!!!! PostgreSQL at {PG_SERVER} is unreachable ({error}); \
                     the PostgreSQL report test is SKIPPED !!!!!!!!\n"
                    );
                    return;
                }
            };
        let name = format!("jiuzhu_reports_{:016x}", rand::random::<u64>());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .unwrap();
        let store = Store::open(
            &format!("{PG_SERVER}/{name}"),
            &Kek::generate(),
            Algorithm::Sm4Gcm,
            NOW,
        )
        .await
        .unwrap();
        let outcome = tokio::spawn(async move {
            figures(&store).await;
            store.close().await;
        })
        .await;
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await;
        if let Err(e) = outcome {
            std::panic::resume_unwind(e.into_panic());
        }
    }
}
