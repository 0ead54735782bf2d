//! Rotation of the field-encryption key while the platform keeps serving.
//!
//! [`Store::start_key_rotation`] adds a new field key (stored wrapped under the KEK), records the
//! rotation in `key_rotations` and in the ledger, in one transaction; from then on every value
//! written is sealed with the new key. [`Store::continue_key_rotation`] re-seals one batch of
//! older values: it works through the tables with sealed fields in a fixed order, each in the
//! order of its key, and stores how far it got (stage and last key) in the same transaction as
//! the batch, so a process killed at any moment resumes exactly where its last batch committed.
//! When every table is done it counts the values still under another key (a writer that had not
//! yet seen the new key may have added some) and starts over if there are any; only then is
//! the rotation marked finished. Readers never fail meanwhile: every key stays in the keyring,
//! and a store in another process that meets a value sealed by a key it does not know reads the
//! keys again (`Store::with_current_keys`).

use crate::audit::{Audit, acting_role, region_of_prefix};
use crate::population::person_record;
use crate::runs::{profile_record, result_record};
use crate::scope::Role;
use crate::tasks::{decision_record, history_record};
use crate::{Result, Scope, Store, StoreError, Timestamp, read_keys};
use ledger::{Action, Purpose};
use privacy::{Algorithm, BlindIndex, Keyring};
use sqlx::{Any, Row, Transaction};

/// The tables with sealed fields, in the order a rotation re-seals them.
const STAGES: &[&str] = &[
    "persons",
    "person_results",
    "anomalies",
    "warnings",
    "task_history",
    "decisions",
    "department_events",
    "profiles",
];

/// Every sealed column: (table, column).
const SEALED_COLUMNS: &[(&str, &str)] = &[
    ("persons", "id_sealed"),
    ("persons", "name_sealed"),
    ("persons", "address_sealed"),
    ("person_results", "person_sealed"),
    ("anomalies", "person_sealed"),
    ("warnings", "person_sealed"),
    ("task_history", "note_sealed"),
    ("decisions", "reason_sealed"),
    ("department_events", "row_sealed"),
    ("profiles", "explanation_sealed"),
];

/// Where a rotation stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationProgress {
    /// The new field key.
    pub key_id: u32,
    /// The table being re-sealed (`done` when finished).
    pub stage: &'static str,
    /// Values re-sealed so far.
    pub resealed: u64,
    /// Whether every value is sealed by the new key and the rotation is closed.
    pub finished: bool,
    /// Whether this call resumed a rotation started earlier.
    pub resumed: bool,
}

/// How many values of one column are sealed by one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyCount {
    /// The table.
    pub table: &'static str,
    /// The column.
    pub column: &'static str,
    /// The key id in the values' header.
    pub key_id: u32,
    /// How many values.
    pub values: u64,
}

/// The 4 header bytes that name key `id` in a sealed value (offset 2, big-endian).
fn key_bytes(id: u32) -> Vec<u8> {
    id.to_be_bytes().to_vec()
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

struct Row5 {
    key_id: u32,
    stage: usize,
    after_key: String,
    resealed: u64,
}

impl Store {
    /// Starts a rotation of the field key, or resumes the one under way. A new key of
    /// `algorithm` seals every value written from now on. Needs the administrator role.
    pub async fn start_key_rotation(
        &self,
        scope: &Scope,
        algorithm: Algorithm,
        now: Timestamp,
    ) -> Result<RotationProgress> {
        scope.require(&[Role::Administrator])?;
        let mut tx = self.begin_write().await?;
        if let Some(row) = unfinished(&mut tx).await? {
            tx.commit().await?;
            self.refresh_keys().await?;
            return Ok(progress(&row, false, true));
        }
        let mut keys = Keyring::open(&self.kek, &read_keys(&self.pool).await?)?;
        let wrapped = keys.rotate_field_key(&self.kek, algorithm)?;
        sqlx::query(
            "INSERT INTO data_keys (id, purpose, algorithm, wrapped, created_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(i64::from(wrapped.id))
        .bind(wrapped.purpose.as_str())
        .bind(wrapped.algorithm.as_str())
        .bind(wrapped.wrapped.clone())
        .bind(now.0)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO key_rotations (key_id, started_at, stage, after_key, resealed)
             VALUES ($1, $2, 0, '', 0)",
        )
        .bind(i64::from(wrapped.id))
        .bind(now.0)
        .execute(&mut *tx)
        .await?;
        let audit = self.rotation_audit(scope, wrapped.id, "started")?;
        self.append_audit(&mut tx, scope, now, &[audit]).await?;
        tx.commit().await?;
        let key_id = wrapped.id;
        self.set_keys(keys);
        Ok(RotationProgress {
            key_id,
            stage: STAGES[0],
            resealed: 0,
            finished: false,
            resumed: false,
        })
    }

    /// Re-seals up to `batch` values of the rotation under way and records how far it got,
    /// in one transaction. Call until `finished`. [`StoreError::Invalid`] when no rotation is
    /// under way.
    pub async fn continue_key_rotation(
        &self,
        scope: &Scope,
        batch: u64,
        now: Timestamp,
    ) -> Result<RotationProgress> {
        scope.require(&[Role::Administrator])?;
        let batch = i64::try_from(batch.clamp(1, 100_000)).unwrap_or(1000);
        self.catch_up_keys().await?;
        let mut tx = self.begin_write().await?;
        let mut row = unfinished(&mut tx)
            .await?
            .ok_or(StoreError::Invalid("no key rotation is under way"))?;
        if self.keys().active_field_key() != row.key_id {
            return Err(StoreError::Corrupt(
                "the rotation's key is not the active field key",
            ));
        }
        if row.stage < STAGES.len() {
            let (next, done) = self
                .reseal_stage(&mut tx, row.stage, &row.after_key, batch)
                .await?;
            row.resealed += done;
            match next {
                Some(key) => row.after_key = key,
                None => {
                    row.stage += 1;
                    row.after_key.clear();
                }
            }
        }
        let mut finished = false;
        if row.stage >= STAGES.len() {
            // Writers that had not seen the new key may have sealed values behind the marker.
            if stale_values(&mut tx, row.key_id).await? == 0 {
                finished = true;
            } else {
                row.stage = 0;
                row.after_key.clear();
            }
        }
        sqlx::query(
            "UPDATE key_rotations SET stage = $1, after_key = $2, resealed = $3, finished_at = $4
             WHERE key_id = $5",
        )
        .bind(i64::try_from(row.stage).unwrap_or(0))
        .bind(row.after_key.clone())
        .bind(i64::try_from(row.resealed).unwrap_or(i64::MAX))
        .bind(finished.then_some(now.0))
        .bind(i64::from(row.key_id))
        .execute(&mut *tx)
        .await?;
        if finished {
            let audit = self.rotation_audit(scope, row.key_id, "finished")?;
            self.append_audit(&mut tx, scope, now, &[audit]).await?;
        }
        tx.commit().await?;
        Ok(progress(&row, finished, false))
    }

    /// How many sealed values each key seals, per column. Needs the administrator role.
    pub async fn sealed_key_counts(&self, scope: &Scope) -> Result<Vec<KeyCount>> {
        scope.require(&[Role::Administrator])?;
        let mut out = Vec::new();
        for (table, column) in SEALED_COLUMNS {
            let sql = format!(
                "SELECT substr({column}, 3, 4) AS k, COUNT(*) AS n FROM {table}
                 WHERE {column} IS NOT NULL GROUP BY substr({column}, 3, 4)"
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(&self.pool)
                .await?;
            for r in &rows {
                let k: Vec<u8> = r.try_get("k")?;
                let n: i64 = r.try_get("n")?;
                let id: [u8; 4] = k
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("a sealed value's header"))?;
                out.push(KeyCount {
                    table,
                    column,
                    key_id: u32::from_be_bytes(id),
                    values: count(n),
                });
            }
        }
        out.sort_by_key(|c| (c.table, c.column, c.key_id));
        Ok(out)
    }

    fn rotation_audit(&self, scope: &Scope, key_id: u32, what: &str) -> Result<Audit> {
        Ok(Audit {
            action: Action::KeyRotation,
            purpose: Purpose::Administration,
            role: acting_role(scope, &[Role::Administrator]),
            region: region_of_prefix(scope.region_prefix())?,
            case: None,
            subject: self.keyed_subject("data_key", &key_id.to_string()),
            data: self.record_hash("key_rotation", &format!("{what}\u{1f}{key_id}")),
        })
    }

    /// Re-seals up to `limit` rows of stage `stage` after `after`; returns the key of the last
    /// row read (`None` when the table is done) and how many values were re-sealed.
    async fn reseal_stage(
        &self,
        tx: &mut Transaction<'static, Any>,
        stage: usize,
        after: &str,
        limit: i64,
    ) -> Result<(Option<String>, u64)> {
        let keys = self.keys();
        let reseal = |field: &str, record: &str, sealed: &[u8]| -> Result<Option<Vec<u8>>> {
            if !keys.is_stale(sealed) {
                return Ok(None);
            }
            let plain = keys.open_text(field, record, sealed)?;
            Ok(Some(keys.seal(field, record, plain.expose())))
        };
        let mut done = 0u64;
        let mut last = None;
        match STAGES.get(stage).copied() {
            Some("persons") => {
                let after = hex_decode(after)?;
                let rows = sqlx::query(
                    "SELECT id_index, id_sealed, name_sealed, address_sealed FROM persons
                     WHERE id_index > $1 ORDER BY id_index LIMIT $2",
                )
                .bind(after)
                .bind(limit)
                .fetch_all(&mut **tx)
                .await?;
                for r in &rows {
                    let index: Vec<u8> = r.try_get("id_index")?;
                    let id: Vec<u8> = r.try_get("id_sealed")?;
                    let name: Vec<u8> = r.try_get("name_sealed")?;
                    let address: Option<Vec<u8>> = r.try_get("address_sealed")?;
                    let blind = BlindIndex(
                        index
                            .clone()
                            .try_into()
                            .map_err(|_| StoreError::Corrupt("person index"))?,
                    );
                    let record = person_record(&blind);
                    let new_id = reseal("person_id", &record, &id)?;
                    let new_name = reseal("name", &record, &name)?;
                    let new_address = match &address {
                        Some(a) => reseal("address", &record, a)?,
                        None => None,
                    };
                    let changed = usize::from(new_id.is_some())
                        + usize::from(new_name.is_some())
                        + usize::from(new_address.is_some());
                    if changed > 0 {
                        // Only if no writer replaced the person meanwhile (PostgreSQL lets
                        // one; the final count catches what it sealed).
                        let updated = sqlx::query(
                            "UPDATE persons SET id_sealed = $1, name_sealed = $2,
                                 address_sealed = $3 WHERE id_index = $4 AND id_sealed = $5",
                        )
                        .bind(new_id.unwrap_or_else(|| id.clone()))
                        .bind(new_name.unwrap_or(name))
                        .bind(new_address.or(address))
                        .bind(index.clone())
                        .bind(id)
                        .execute(&mut **tx)
                        .await?
                        .rows_affected();
                        if updated == 1 {
                            done += changed as u64;
                        }
                    }
                    last = Some(hex_encode(&index));
                }
                Ok((last.filter(|_| rows.len() as i64 == limit), done))
            }
            Some(table @ ("person_results" | "anomalies" | "warnings")) => {
                let (run, seq) = after.split_once('\t').unwrap_or(("", "-1"));
                let seq: i64 = seq.parse().unwrap_or(-1);
                let sql = format!(
                    "SELECT run_id, seq, person_sealed FROM {table}
                     WHERE run_id > $1 OR (run_id = $1 AND seq > $2)
                     ORDER BY run_id, seq LIMIT $3"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(run.to_string())
                    .bind(seq)
                    .bind(limit)
                    .fetch_all(&mut **tx)
                    .await?;
                let update =
                    format!("UPDATE {table} SET person_sealed = $1 WHERE run_id = $2 AND seq = $3");
                for r in &rows {
                    let run_id: String = r.try_get("run_id")?;
                    let seq: i64 = r.try_get("seq")?;
                    let sealed: Option<Vec<u8>> = r.try_get("person_sealed")?;
                    let record = result_record(&run_id, table, usize::try_from(seq).unwrap_or(0));
                    if let Some(s) = sealed
                        && let Some(new) = reseal("person_id", &record, &s)?
                    {
                        sqlx::query(sqlx::AssertSqlSafe(update.clone()))
                            .bind(new)
                            .bind(run_id.clone())
                            .bind(seq)
                            .execute(&mut **tx)
                            .await?;
                        done += 1;
                    }
                    last = Some(format!("{run_id}\t{seq}"));
                }
                Ok((last.filter(|_| rows.len() as i64 == limit), done))
            }
            Some("task_history") => {
                let (task, seq) = after.split_once('\t').unwrap_or(("-1", "-1"));
                let task: i64 = task.parse().unwrap_or(-1);
                let seq: i64 = seq.parse().unwrap_or(-1);
                let rows = sqlx::query(
                    "SELECT task_id, seq, note_sealed FROM task_history
                     WHERE task_id > $1 OR (task_id = $1 AND seq > $2)
                     ORDER BY task_id, seq LIMIT $3",
                )
                .bind(task)
                .bind(seq)
                .bind(limit)
                .fetch_all(&mut **tx)
                .await?;
                for r in &rows {
                    let task_id: i64 = r.try_get("task_id")?;
                    let seq: i64 = r.try_get("seq")?;
                    let sealed: Option<Vec<u8>> = r.try_get("note_sealed")?;
                    if let Some(s) = sealed
                        && let Some(new) = reseal("note", &history_record(task_id, seq), &s)?
                    {
                        sqlx::query(
                            "UPDATE task_history SET note_sealed = $1
                             WHERE task_id = $2 AND seq = $3",
                        )
                        .bind(new)
                        .bind(task_id)
                        .bind(seq)
                        .execute(&mut **tx)
                        .await?;
                        done += 1;
                    }
                    last = Some(format!("{task_id}\t{seq}"));
                }
                Ok((last.filter(|_| rows.len() as i64 == limit), done))
            }
            Some("decisions") => {
                let after: i64 = after.parse().unwrap_or(-1);
                let rows = sqlx::query(
                    "SELECT decision_id, task_id, decided_at, reason_sealed FROM decisions
                     WHERE decision_id > $1 ORDER BY decision_id LIMIT $2",
                )
                .bind(after)
                .bind(limit)
                .fetch_all(&mut **tx)
                .await?;
                for r in &rows {
                    let id: i64 = r.try_get("decision_id")?;
                    let task_id: i64 = r.try_get("task_id")?;
                    let at = Timestamp(r.try_get("decided_at")?);
                    let sealed: Vec<u8> = r.try_get("reason_sealed")?;
                    if let Some(new) = reseal("reason", &decision_record(task_id, at), &sealed)? {
                        sqlx::query(
                            "UPDATE decisions SET reason_sealed = $1 WHERE decision_id = $2",
                        )
                        .bind(new)
                        .bind(id)
                        .execute(&mut **tx)
                        .await?;
                        done += 1;
                    }
                    last = Some(id.to_string());
                }
                Ok((last.filter(|_| rows.len() as i64 == limit), done))
            }
            Some("department_events") => {
                let (account, event) = after.split_once('\t').unwrap_or(("-1", ""));
                let account: i64 = account.parse().unwrap_or(-1);
                let rows = sqlx::query(
                    "SELECT account_id, event_id, row_sealed FROM department_events
                     WHERE account_id > $1 OR (account_id = $1 AND event_id > $2)
                     ORDER BY account_id, event_id LIMIT $3",
                )
                .bind(account)
                .bind(event.to_string())
                .bind(limit)
                .fetch_all(&mut **tx)
                .await?;
                for r in &rows {
                    let account_id: i64 = r.try_get("account_id")?;
                    let event_id: String = r.try_get("event_id")?;
                    let sealed: Vec<u8> = r.try_get("row_sealed")?;
                    let record = format!("event:{account_id}:{event_id}");
                    if let Some(new) = reseal("event", &record, &sealed)? {
                        sqlx::query(
                            "UPDATE department_events SET row_sealed = $1
                             WHERE account_id = $2 AND event_id = $3",
                        )
                        .bind(new)
                        .bind(account_id)
                        .bind(event_id.clone())
                        .execute(&mut **tx)
                        .await?;
                        done += 1;
                    }
                    last = Some(format!("{account_id}\t{event_id}"));
                }
                Ok((last.filter(|_| rows.len() as i64 == limit), done))
            }
            Some("profiles") => {
                let (run, household) = after.split_once('\t').unwrap_or(("", ""));
                let rows = sqlx::query(
                    "SELECT run_id, household_id, explanation_sealed FROM profiles
                     WHERE (run_id > $1 OR (run_id = $1 AND household_id > $2))
                       AND explanation_sealed IS NOT NULL
                     ORDER BY run_id, household_id LIMIT $3",
                )
                .bind(run.to_string())
                .bind(household.to_string())
                .bind(limit)
                .fetch_all(&mut **tx)
                .await?;
                for r in &rows {
                    let run_id: String = r.try_get("run_id")?;
                    let household: String = r.try_get("household_id")?;
                    let sealed: Vec<u8> = r.try_get("explanation_sealed")?;
                    let record = profile_record(&run_id, &household);
                    if let Some(new) = reseal("explanation", &record, &sealed)? {
                        sqlx::query(
                            "UPDATE profiles SET explanation_sealed = $1
                             WHERE run_id = $2 AND household_id = $3",
                        )
                        .bind(new)
                        .bind(run_id.clone())
                        .bind(household.clone())
                        .execute(&mut **tx)
                        .await?;
                        done += 1;
                    }
                    last = Some(format!("{run_id}\t{household}"));
                }
                Ok((last.filter(|_| rows.len() as i64 == limit), done))
            }
            _ => Ok((None, 0)),
        }
    }
}

async fn unfinished(tx: &mut Transaction<'static, Any>) -> Result<Option<Row5>> {
    let row = sqlx::query(
        "SELECT key_id, stage, after_key, resealed FROM key_rotations
         WHERE finished_at IS NULL ORDER BY key_id DESC LIMIT 1",
    )
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|r| {
        let key_id: i64 = r.try_get("key_id")?;
        let stage: i64 = r.try_get("stage")?;
        let resealed: i64 = r.try_get("resealed")?;
        Ok(Row5 {
            key_id: u32::try_from(key_id).map_err(|_| StoreError::Corrupt("rotation key id"))?,
            stage: usize::try_from(stage).map_err(|_| StoreError::Corrupt("rotation stage"))?,
            after_key: r.try_get("after_key")?,
            resealed: count(resealed),
        })
    })
    .transpose()
}

/// Values in any sealed column whose header names another key than `key_id`.
async fn stale_values(tx: &mut Transaction<'static, Any>, key_id: u32) -> Result<u64> {
    let mut total = 0;
    for (table, column) in SEALED_COLUMNS {
        let sql = format!(
            "SELECT COUNT(*) FROM {table}
             WHERE {column} IS NOT NULL AND substr({column}, 3, 4) <> $1"
        );
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(key_bytes(key_id))
            .fetch_one(&mut **tx)
            .await?;
        total += count(n);
    }
    Ok(total)
}

fn progress(row: &Row5, finished: bool, resumed: bool) -> RotationProgress {
    RotationProgress {
        key_id: row.key_id,
        stage: if finished {
            "done"
        } else {
            STAGES.get(row.stage).copied().unwrap_or("check")
        },
        resealed: row.resealed,
        finished,
        resumed,
    }
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hex_decode(text: &str) -> Result<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return Err(StoreError::Corrupt("rotation marker"));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            text.get(i..i + 2)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or(StoreError::Corrupt("rotation marker"))
        })
        .collect()
}
