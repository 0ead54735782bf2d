//! The audit trail: the [`ledger`] kept in the store's own database, written in the same
//! transaction as the change it records, and read back for auditors.
//!
//! Every decision, task change, user change, monitoring-run load, read of unmasked personal
//! data and export appends one [`Entry`]: who (user id), in which role and region, when, what
//! ([`Action`]), why ([`Purpose`], a closed list) and the hash of the data touched — never the
//! data. Subjects are keyed hashes (the blind-index key): a household is
//! `HMAC-SM3("household", id)`, so the log names no household an outsider could look up, and
//! the platform can still find every entry about one. The hash of a record (a decision, the
//! members revealed) is keyed the same way, because such data is short enough to be guessed
//! from a plain hash; the hash of a file (an export, an import batch) is plain SM3, so that
//! whoever holds the file can check it.
//!
//! Appends happen inside the caller's write transaction: the change and its entry commit or
//! roll back together. On PostgreSQL the transaction locks `ledger_entries` first, so
//! concurrent writers append one after the other; on SQLite write transactions are already
//! serial (`BEGIN IMMEDIATE`). Reading, proving and verifying go through [`ledger::Ledger`]
//! over the same pool ([`PoolLedgerStore`]), so auditors get the ledger crate's own proofs.
//! The log is hashed with SM3 ([`LEDGER_HASH`]).

use crate::scope::Role;
use crate::{Backend, Person, Result, Scope, Store, StoreError, Timestamp};
use domain::RegionCode;
use ledger::store::{AppendBatch, LedgerStore, StoredRecord};
use ledger::tree::{Frontier, NodeSource};
use ledger::{
    Action, ConsistencyProof, DataHash, Digest, Entry, EntryProof, HashAlgorithm, Ledger, Purpose,
    Record, SignedTreeHead, SigningKey, SubjectRef, TreeHead, UserId, Verification,
};
use sqlx::{Any, AnyPool, Row, Transaction};
use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

/// The hash function of the platform's ledger.
pub const LEDGER_HASH: HashAlgorithm = HashAlgorithm::Sm3;

/// Roles that may reveal unmasked personal data (casework; auditors and administrators see
/// masked data only).
const REVEALING: &[Role] = &[Role::Caseworker, Role::Reviewer, Role::Approver];

/// Purposes a reveal may declare.
pub const REVEAL_PURPOSES: &[Purpose] = &[
    Purpose::Verification,
    Purpose::Approval,
    Purpose::WarningFollowUp,
    Purpose::Appeal,
    Purpose::Payment,
];

/// One audited action before it is given an index and a time.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Audit {
    pub action: Action,
    pub purpose: Purpose,
    pub role: ledger::Role,
    pub region: RegionCode,
    pub case: Option<u64>,
    pub subject: SubjectRef,
    pub data: DataHash,
}

/// The ledger role of a scope acting in one of `preferred` roles (the first it has), else its
/// first role; the operator of the binary (user 0) acts as the platform.
pub(crate) fn acting_role(scope: &Scope, preferred: &[Role]) -> ledger::Role {
    if scope.user_id() == 0 {
        return ledger::Role::System;
    }
    let role = preferred
        .iter()
        .copied()
        .find(|r| scope.has(*r))
        .or_else(|| scope.roles().first().copied());
    match role {
        Some(Role::Caseworker) => ledger::Role::Caseworker,
        Some(Role::Reviewer) => ledger::Role::Reviewer,
        Some(Role::Approver) => ledger::Role::Approver,
        Some(Role::Analyst) => ledger::Role::Analyst,
        Some(Role::Auditor) => ledger::Role::Auditor,
        Some(Role::Administrator) => ledger::Role::Administrator,
        Some(Role::Department) => ledger::Role::DepartmentAccount,
        None => ledger::Role::System,
    }
}

/// The region code of a region prefix: the prefix padded with zeros (the whole country is
/// `000000000000`).
pub(crate) fn region_of_prefix(prefix: &str) -> Result<RegionCode> {
    RegionCode::parse(&format!("{prefix:0<12}"))
        .map_err(|_| StoreError::Invalid("a region prefix is 0 to 12 digits"))
}

/// Plain SM3 of a file's bytes.
pub(crate) fn file_hash(bytes: &[u8]) -> DataHash {
    DataHash::of(LEDGER_HASH, bytes)
}

impl Store {
    /// The keyed subject of a household.
    pub(crate) fn household_subject(&self, household_id: &str) -> SubjectRef {
        SubjectRef::blind_index(self.keys().blind_index("ledger.household", household_id).0)
    }

    /// A keyed subject of another kind of thing (`kind` names it: `user`, `run`, …).
    pub(crate) fn keyed_subject(&self, kind: &str, id: &str) -> SubjectRef {
        SubjectRef::blind_index(self.keys().blind_index(&format!("ledger.{kind}"), id).0)
    }

    /// The keyed hash of a record's canonical text.
    pub(crate) fn record_hash(&self, kind: &str, canonical: &str) -> DataHash {
        DataHash::from_digest(Digest(
            self.keys()
                .blind_index(&format!("ledger.data.{kind}"), canonical)
                .0,
        ))
    }

    /// Appends `audits` at `now` for `scope`'s user inside `tx`; returns their indices.
    pub(crate) async fn append_audit(
        &self,
        tx: &mut Transaction<'static, Any>,
        scope: &Scope,
        now: Timestamp,
        audits: &[Audit],
    ) -> Result<Range<u64>> {
        let actor = UserId(u64::try_from(scope.user_id()).unwrap_or(0));
        let at = ledger::Timestamp(now.0.saturating_mul(1000));
        let entries: Vec<Entry> = audits
            .iter()
            .map(|a| Entry {
                at,
                actor,
                role: a.role,
                region: a.region,
                action: a.action,
                purpose: a.purpose,
                case: a.case,
                subject: a.subject,
                data: a.data,
            })
            .collect();
        append_entries(tx, self.backend, &entries).await
    }

    /// Reveals the unmasked members of a household for a declared purpose and records the read
    /// in the ledger (in one transaction: no entry, no data). Casework roles only
    /// (caseworker, reviewer, approver); outside the scope the household is not found.
    pub async fn reveal_household(
        &self,
        scope: &Scope,
        household_id: &str,
        purpose: Purpose,
        now: Timestamp,
    ) -> Result<(Vec<Person>, u64)> {
        scope.require(REVEALING)?;
        if !REVEAL_PURPOSES.contains(&purpose) {
            return Err(StoreError::Invalid(
                "not a purpose for reading personal data",
            ));
        }
        let members = self
            .household_members(scope, household_id)
            .await?
            .filter(|m| !m.is_empty())
            .ok_or(StoreError::NotFound)?;
        let region = members
            .first()
            .map(|m| m.region_code)
            .ok_or(StoreError::NotFound)?;
        let canonical: Vec<String> = members
            .iter()
            .map(|m| format!("{}\u{1f}{}", m.person_id.as_str(), m.name.expose()))
            .collect();
        let audit = Audit {
            action: Action::UnmaskedRead,
            purpose,
            role: acting_role(scope, REVEALING),
            region,
            case: None,
            subject: self.household_subject(household_id),
            data: self.record_hash("members", &canonical.join("\u{1e}")),
        };
        let mut tx = self.begin_write().await?;
        let range = self.append_audit(&mut tx, scope, now, &[audit]).await?;
        tx.commit().await?;
        Ok((members, range.start))
    }

    /// Records an export (a CSV or XLSX download, a report) in the ledger: `kind` names what
    /// was exported (e.g. `dashboard.csv`), `content` is the file as sent, hashed with plain
    /// SM3 so that whoever holds the file can check it. Every export handler calls this before
    /// sending the file; returns the entry's index.
    pub async fn record_export(
        &self,
        scope: &Scope,
        kind: &str,
        purpose: Purpose,
        content: &[u8],
        now: Timestamp,
    ) -> Result<u64> {
        let audit = Audit {
            action: Action::Export,
            purpose,
            role: acting_role(scope, &[]),
            region: region_of_prefix(scope.region_prefix())?,
            case: None,
            subject: SubjectRef::Hashed(LEDGER_HASH.hash(format!("export:{kind}").as_bytes())),
            data: file_hash(content),
        };
        let mut tx = self.begin_write().await?;
        let range = self.append_audit(&mut tx, scope, now, &[audit]).await?;
        tx.commit().await?;
        Ok(range.start)
    }

    /// Records an import batch of department extracts: `batch_id` is the batch's content
    /// identity, `manifest` its manifest file (hashed with plain SM3). Returns the entry's
    /// index.
    pub async fn record_import(
        &self,
        scope: &Scope,
        batch_id: &str,
        manifest: &[u8],
        now: Timestamp,
    ) -> Result<u64> {
        let audit = Audit {
            action: Action::ImportBatch,
            purpose: Purpose::DataExchange,
            role: acting_role(scope, &[Role::Department, Role::Administrator]),
            region: region_of_prefix(scope.region_prefix())?,
            case: None,
            subject: SubjectRef::Hashed(LEDGER_HASH.hash(format!("batch:{batch_id}").as_bytes())),
            data: file_hash(manifest),
        };
        let mut tx = self.begin_write().await?;
        let range = self.append_audit(&mut tx, scope, now, &[audit]).await?;
        tx.commit().await?;
        Ok(range.start)
    }

    /// Runs `f` on the ledger kept in this database, on a blocking thread. Auditor and
    /// administrator roles only.
    async fn with_ledger<T, F>(&self, scope: &Scope, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Ledger<PoolLedgerStore>) -> Result<T, ledger::LedgerError> + Send + 'static,
    {
        scope.require(&[Role::Auditor, Role::Administrator])?;
        let store = PoolLedgerStore {
            pool: self.pool.clone(),
            handle: tokio::runtime::Handle::current(),
        };
        tokio::task::spawn_blocking(move || {
            let mut ledger = Ledger::open(store, LEDGER_HASH)?;
            f(&mut ledger)
        })
        .await
        .map_err(|_| StoreError::Corrupt("the ledger task failed"))?
        .map_err(StoreError::from)
    }

    /// The number of entries in the ledger.
    pub async fn ledger_size(&self, scope: &Scope) -> Result<u64> {
        self.with_ledger(scope, |l| Ok(l.size())).await
    }

    /// The current (unsigned) tree head.
    pub async fn ledger_tree_head(&self, scope: &Scope, now: Timestamp) -> Result<TreeHead> {
        self.with_ledger(scope, move |l| {
            Ok(l.head(ledger::Timestamp(now.0.saturating_mul(1000))))
        })
        .await
    }

    /// Up to `limit` entries from index `start`, decoded (they hold no personal data).
    pub async fn ledger_entries(
        &self,
        scope: &Scope,
        start: u64,
        limit: u64,
    ) -> Result<Vec<Record>> {
        self.with_ledger(scope, move |l| {
            let end = start.saturating_add(limit).min(l.size());
            (start..end).map(|i| l.record(i).map(|(r, _)| r)).collect()
        })
        .await
    }

    /// Signs the current tree head with `key`, keeps it with the ledger and returns it.
    pub async fn ledger_publish(
        &self,
        scope: &Scope,
        key: Arc<SigningKey>,
        now: Timestamp,
    ) -> Result<SignedTreeHead> {
        self.with_ledger(scope, move |l| {
            l.publish(&key, ledger::Timestamp(now.0.saturating_mul(1000)))
        })
        .await
    }

    /// The tree heads published so far, oldest first.
    pub async fn ledger_heads(&self, scope: &Scope) -> Result<Vec<SignedTreeHead>> {
        self.with_ledger(scope, |l| l.published_heads()).await
    }

    /// Entry `index` with its inclusion proof in the tree of `tree_size` entries (the current
    /// size when `None`) and the signed head of that size, if one was published.
    pub async fn ledger_entry_proof(
        &self,
        scope: &Scope,
        index: u64,
        tree_size: Option<u64>,
    ) -> Result<EntryProof> {
        self.with_ledger(scope, move |l| {
            let size = tree_size.unwrap_or(l.size());
            l.entry_proof(index, size)
        })
        .await
    }

    /// The consistency proof between two tree sizes.
    pub async fn ledger_consistency(
        &self,
        scope: &Scope,
        first: u64,
        second: u64,
    ) -> Result<ConsistencyProof> {
        self.with_ledger(scope, move |l| l.prove_consistency(first, second))
            .await
    }

    /// Verifies the whole ledger against every published head.
    pub async fn ledger_verify(&self, scope: &Scope) -> Result<Verification> {
        self.with_ledger(scope, |l| {
            let heads: Vec<_> = l.published_heads()?.into_iter().map(|h| h.head).collect();
            l.verify(&heads)
        })
        .await
    }
}

impl From<ledger::LedgerError> for StoreError {
    fn from(error: ledger::LedgerError) -> StoreError {
        match error {
            ledger::LedgerError::OutOfRange { .. } => StoreError::NotFound,
            ledger::LedgerError::Store(ledger::StoreError::Backend(_)) => {
                StoreError::Corrupt("the ledger's storage failed")
            }
            _ => StoreError::Corrupt("the ledger is damaged; run jiuzhu ledger verify"),
        }
    }
}

/// Creates the ledger's tables in the store's database if missing (the ledger crate's own
/// migrations and bookkeeping, see `ledger::schema`).
pub(crate) async fn migrate_ledger(pool: &AnyPool, backend: Backend) -> Result<()> {
    let migrations = match backend {
        Backend::Sqlite => ledger::schema::SQLITE_MIGRATIONS,
        Backend::Postgres => ledger::schema::POSTGRES_MIGRATIONS,
    };
    let mut tx = match backend {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => pool.begin().await?,
    };
    sqlx::raw_sql(ledger::schema::MIGRATIONS_TABLE)
        .execute(&mut *tx)
        .await?;
    let applied: Vec<i64> = sqlx::query_scalar("SELECT version FROM ledger_migrations")
        .fetch_all(&mut *tx)
        .await?;
    for (version, sql) in migrations {
        if applied.contains(version) {
            continue;
        }
        sqlx::raw_sql(*sql).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO ledger_migrations (version) VALUES ($1)")
            .bind(*version)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The complete subtrees a frontier of `size` leaves needs, prefetched.
struct Prefetched(HashMap<(u8, u64), Digest>);

impl NodeSource for Prefetched {
    type Error = StoreError;

    fn algorithm(&self) -> HashAlgorithm {
        LEDGER_HASH
    }

    fn complete_subtree(&mut self, level: u8, index: u64) -> Result<Digest> {
        self.0
            .get(&(level, index))
            .copied()
            .ok_or(StoreError::Corrupt(
                "a ledger node is missing; run jiuzhu ledger verify",
            ))
    }
}

fn to_i64(value: u64) -> Result<i64> {
    i64::try_from(value).map_err(|_| StoreError::Corrupt("ledger index"))
}

fn digest(bytes: &[u8]) -> Result<Digest> {
    Digest::from_slice(bytes).ok_or(StoreError::Corrupt("ledger hash"))
}

async fn read_node<'e, E>(executor: E, level: u8, index: u64) -> Result<Option<Digest>>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let found: Option<Vec<u8>> = if level == 0 {
        sqlx::query_scalar("SELECT leaf_hash FROM ledger_entries WHERE seq = $1")
            .bind(to_i64(index)?)
            .fetch_optional(executor)
            .await?
    } else {
        sqlx::query_scalar("SELECT hash FROM ledger_nodes WHERE level = $1 AND idx = $2")
            .bind(i32::from(level))
            .bind(to_i64(index)?)
            .fetch_optional(executor)
            .await?
    };
    found.map(|b| digest(&b)).transpose()
}

async fn ledger_size<'e, E>(executor: E) -> Result<u64>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let size: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq) + 1, 0) FROM ledger_entries")
        .fetch_one(executor)
        .await?;
    u64::try_from(size).map_err(|_| StoreError::Corrupt("ledger size"))
}

/// Appends entries inside `tx`, after the last stored one.
async fn append_entries(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    entries: &[Entry],
) -> Result<Range<u64>> {
    if backend == Backend::Postgres {
        // Writers append one after the other; readers are not blocked.
        sqlx::query("LOCK TABLE ledger_entries IN EXCLUSIVE MODE")
            .execute(&mut **tx)
            .await?;
    }
    let size = ledger_size(&mut **tx).await?;
    let mut cached = HashMap::new();
    let mut start = 0u64;
    for level in (0..64u8).rev() {
        let width = 1u64 << level;
        if size & width != 0 {
            let index = start >> level;
            let hash = read_node(&mut **tx, level, index)
                .await?
                .ok_or(StoreError::Corrupt(
                    "a ledger node is missing; run jiuzhu ledger verify",
                ))?;
            cached.insert((level, index), hash);
            start += width;
        }
    }
    let mut frontier = Frontier::load(&mut Prefetched(cached), size)?;
    for (index, entry) in (size..).zip(entries) {
        let body = Record {
            index,
            entry: *entry,
        }
        .encode();
        let leaf_hash = LEDGER_HASH.leaf(&body);
        let mut nodes = Vec::new();
        frontier.push(leaf_hash, |level, index, hash| {
            nodes.push((level, index, hash))
        });
        sqlx::query("INSERT INTO ledger_entries (seq, body, leaf_hash) VALUES ($1, $2, $3)")
            .bind(to_i64(index)?)
            .bind(body)
            .bind(leaf_hash.0.to_vec())
            .execute(&mut **tx)
            .await?;
        for (level, index, hash) in nodes {
            sqlx::query("INSERT INTO ledger_nodes (level, idx, hash) VALUES ($1, $2, $3)")
                .bind(i32::from(level))
                .bind(to_i64(index)?)
                .bind(hash.0.to_vec())
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(size..frontier.size())
}

/// The ledger's storage over the store's pool, for reading, proving, verifying and keeping
/// tree heads. Used from a blocking thread (it drives queries with the runtime's handle).
/// Appends go through the store's transactions instead, so [`LedgerStore::append`] refuses.
pub struct PoolLedgerStore {
    pool: AnyPool,
    handle: tokio::runtime::Handle,
}

impl std::fmt::Debug for PoolLedgerStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PoolLedgerStore")
    }
}

fn backend_error(error: impl std::error::Error + Send + Sync + 'static) -> ledger::StoreError {
    ledger::StoreError::Backend(Box::new(error))
}

/// An append through the read side of the store.
#[derive(Debug, thiserror::Error)]
#[error("entries are appended by the store's own transactions")]
struct ReadOnly;

type HeadRow = (i64, i64, String, Vec<u8>, String, Vec<u8>, Vec<u8>);

impl LedgerStore for PoolLedgerStore {
    fn size(&mut self) -> Result<u64, ledger::StoreError> {
        self.handle
            .block_on(ledger_size(&self.pool))
            .map_err(backend_error)
    }

    fn append(&mut self, _batch: &AppendBatch) -> Result<(), ledger::StoreError> {
        Err(backend_error(ReadOnly))
    }

    fn records(&mut self, start: u64, end: u64) -> Result<Vec<StoredRecord>, ledger::StoreError> {
        let pool = &self.pool;
        self.handle
            .block_on(async move {
                let rows = sqlx::query(
                    "SELECT seq, body, leaf_hash FROM ledger_entries
                     WHERE seq >= $1 AND seq < $2 ORDER BY seq",
                )
                .bind(to_i64(start)?)
                .bind(to_i64(end)?)
                .fetch_all(pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        let seq: i64 = r.try_get("seq")?;
                        let leaf: Vec<u8> = r.try_get("leaf_hash")?;
                        Ok(StoredRecord {
                            index: u64::try_from(seq)
                                .map_err(|_| StoreError::Corrupt("ledger index"))?,
                            body: r.try_get("body")?,
                            leaf_hash: digest(&leaf)?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()
            })
            .map_err(backend_error)
    }

    fn node(&mut self, level: u8, index: u64) -> Result<Option<Digest>, ledger::StoreError> {
        self.handle
            .block_on(read_node(&self.pool, level, index))
            .map_err(backend_error)
    }

    fn save_head(&mut self, head: &SignedTreeHead) -> Result<(), ledger::StoreError> {
        let pool = &self.pool;
        self.handle
            .block_on(async move {
                sqlx::query(
                    "INSERT INTO ledger_heads (size, timestamp_ms, hash_algorithm, root,
                         signature_algorithm, public_key, signature)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(to_i64(head.head.size)?)
                .bind(head.head.timestamp.0)
                .bind(head.head.hash_algorithm.as_str())
                .bind(head.head.root.0.to_vec())
                .bind(head.public_key.algorithm.as_str())
                .bind(head.public_key.key.0.clone())
                .bind(head.signature.0.clone())
                .execute(pool)
                .await?;
                Ok::<(), StoreError>(())
            })
            .map_err(backend_error)
    }

    fn heads(&mut self) -> Result<Vec<SignedTreeHead>, ledger::StoreError> {
        let pool = &self.pool;
        let rows: Vec<HeadRow> = self
            .handle
            .block_on(async move {
                sqlx::query_as(
                    "SELECT size, timestamp_ms, hash_algorithm, root, signature_algorithm,
                         public_key, signature
                     FROM ledger_heads ORDER BY size, timestamp_ms, id",
                )
                .fetch_all(pool)
                .await
            })
            .map_err(backend_error)?;
        rows.into_iter()
            .map(|(size, at, hash, root, sig_alg, key, signature)| {
                let bad = || backend_error(StoreError::Corrupt("a tree head"));
                Ok(SignedTreeHead {
                    head: ledger::TreeHead {
                        hash_algorithm: HashAlgorithm::parse(&hash).ok_or_else(bad)?,
                        size: u64::try_from(size).map_err(|_| bad())?,
                        root: Digest::from_slice(&root).ok_or_else(bad)?,
                        timestamp: ledger::Timestamp(at),
                    },
                    public_key: ledger::PublicKey {
                        algorithm: ledger::SignatureAlgorithm::parse(&sig_alg).ok_or_else(bad)?,
                        key: ledger::head::HexBytes(key),
                    },
                    signature: ledger::head::HexBytes(signature),
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_become_region_codes() {
        let code = |p: &str| region_of_prefix(p).expect("prefix").as_str().to_string();
        assert_eq!(code("990101"), "990101000000");
        assert_eq!(code(""), "000000000000");
        assert_eq!(code("990101001001"), "990101001001");
        assert!(region_of_prefix("99x").is_err());
    }

    #[test]
    fn the_operator_acts_as_the_platform() {
        let scope = Scope::new(5, &[Role::Auditor, Role::Caseworker], "99").expect("scope");
        assert_eq!(
            acting_role(&scope, &[Role::Caseworker]),
            ledger::Role::Caseworker
        );
        assert_eq!(acting_role(&scope, &[]), ledger::Role::Caseworker);
        assert_eq!(
            acting_role(&Scope::system(), &[Role::Caseworker]),
            ledger::Role::System
        );
    }
}
