//! The storage interface of the platform: one [`Store`] over SQLite (a single file, embedded,
//! the default) or PostgreSQL (what a bureau runs), chosen once by the database URL.
//!
//! Both backends run the same queries through sqlx's `Any` driver; each owns its migrations
//! (`migrations/sqlite`, `migrations/postgres`), applied on open. What differs between the two
//! dialects lives in the migrations, never in the queries: money is integer fen (`BIGINT`),
//! calendar dates are ISO text (`YYYY-MM-DD`, which sorts as dates do), instants are Unix
//! seconds (`BIGINT`), flags are 0/1.
//!
//! Personal data (ID numbers, names, addresses, free-text notes and reasons) is sealed per
//! field with the [`privacy`] keyring before it reaches SQL, and found again by blind index.
//! Region codes, household ids and codes stay in clear: they are what scoping and dashboards
//! need.
//!
//! Access is role × region, enforced in the queries: every method takes a [`Scope`], and
//! every read and write filters by `region_code LIKE '<prefix>%'`, so a household outside the
//! scope is simply not found. Methods that need a role the scope lacks return
//! [`StoreError::Forbidden`].
//!
//! Time is an argument ([`Timestamp`], [`domain::Date`]): nothing here reads the clock.

mod audit;
mod backup;
mod departments;
mod population;
pub mod reports;
mod rotation;
mod runs;
mod scope;
mod tasks;
mod users;

pub use ledger;
pub use privacy;

pub use audit::{LEDGER_HASH, PoolLedgerStore, REVEAL_PURPOSES};
pub use backup::snapshot_sqlite;
pub use departments::{Department, NewDepartment, Receipt};
pub use rotation::{KeyCount, RotationProgress};

pub use population::{Person, PopulationLoad, PopulationRow};
pub use runs::{
    AnomalyKind, AnomalyRow, HouseholdProfile, HouseholdReport, Level, PersonResult,
    ProfileSummary, RecommendationRow, RunLoad, RunProvenance, RunResults, RunSummary, Tier,
    WarningRow,
};
pub use scope::{Role, Scope};
pub use tasks::{
    Decision, DecisionInput, Task, TaskEvent, TaskPage, TaskQuery, TaskRules, TaskState,
};
pub use users::{LoginOutcome, LoginRules, NewUser, User};

use privacy::{Algorithm, Kek, Keyring, Purpose, WrappedKey};
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use std::future::Future;
use std::sync::Once;

/// An instant as Unix seconds (UTC). The binary reads the clock; the store only compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

/// The database engine behind a [`Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// SQLite, one file.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// Why a store operation failed. Messages never carry personal data.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names no supported database (`sqlite:` or `postgres://`).
    #[error("unsupported database URL (expected sqlite:PATH or postgres://…)")]
    BadUrl,
    /// The database refused or failed a query.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A migration failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A key or a sealed value failed.
    #[error("personal data protection: {0}")]
    Privacy(#[from] privacy::PrivacyError),
    /// The scope's roles do not allow this operation.
    #[error("the user's roles do not allow this operation")]
    Forbidden,
    /// The thing does not exist within the scope.
    #[error("not found in the user's region")]
    NotFound,
    /// A task cannot move from one state to another.
    #[error("a task cannot go from {from} to {to}")]
    InvalidTransition {
        /// Current state.
        from: &'static str,
        /// Requested state.
        to: &'static str,
    },
    /// The input breaks a rule of the store.
    #[error("invalid input: {0}")]
    Invalid(&'static str),
    /// A unique name is already taken.
    #[error("already exists: {0}")]
    Conflict(&'static str),
    /// A stored value is not what the schema promises (a damaged or foreign database).
    #[error("stored data is corrupt: {0}")]
    Corrupt(&'static str),
}

/// Result of a store operation.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// The store: a connection pool, its backend and the unwrapped data keys.
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The data keys; replaced as a whole when another process adds a key (a rotation).
    keys: std::sync::RwLock<std::sync::Arc<Keyring>>,
    /// The key-encryption key, to unwrap keys added by another process.
    kek: Kek,
    /// Queue pages computed while no task has changed.
    queue_cache: std::sync::Mutex<tasks::QueueCache>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (and creates, for SQLite) the database at `url`, applies its migrations, and
    /// unwraps its data keys with `kek`. A new database gets fresh data keys of `algorithm`
    /// (field encryption), stored wrapped; an existing one keeps its own.
    ///
    /// URLs: `sqlite:PATH` or `sqlite://PATH` (created if missing), `postgres://…`.
    pub async fn open(url: &str, kek: &Kek, algorithm: Algorithm, now: Timestamp) -> Result<Store> {
        install_drivers();
        let (backend, url) = if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            let url = if path.contains('?') {
                format!("sqlite://{path}")
            } else {
                format!("sqlite://{path}?mode=rwc")
            };
            (Backend::Sqlite, url)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            (Backend::Postgres, url.to_string())
        } else {
            return Err(StoreError::BadUrl);
        };
        // SQLite runs each connection's statements on a thread of its own: with 8, pages that
        // make several small reads wait less for a connection under load (p99 of a profile at
        // 50 concurrent requests: 44 ms with 4, 28 ms with 8; docs/benchmarks.md).
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .connect(&url)
            .await?;
        match backend {
            Backend::Sqlite => {
                sqlx::query("PRAGMA journal_mode = WAL")
                    .execute(&pool)
                    .await?;
                SQLITE_MIGRATIONS.run(&pool).await?;
            }
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&pool).await?,
        }
        audit::migrate_ledger(&pool, backend).await?;
        let keys = load_or_create_keys(&pool, kek, algorithm, now).await?;
        Ok(Store {
            pool,
            backend,
            keys: std::sync::RwLock::new(std::sync::Arc::new(keys)),
            kek: Kek::from_hex(&kek.to_hex())?,
            queue_cache: std::sync::Mutex::default(),
        })
    }

    /// Begins a write transaction. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`), so concurrent writers wait for each other (up to the busy timeout) instead
    /// of failing when a read lock cannot be upgraded.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// The data keys as this process knows them.
    pub(crate) fn keys(&self) -> std::sync::Arc<Keyring> {
        match self.keys.read() {
            Ok(keys) => keys.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set_keys(&self, keys: Keyring) {
        let keys = std::sync::Arc::new(keys);
        match self.keys.write() {
            Ok(mut slot) => *slot = keys,
            Err(poisoned) => *poisoned.into_inner() = keys,
        }
    }

    /// Reads the stored data keys again and, if another process added one (a rotation),
    /// unwraps them; returns whether anything changed.
    pub(crate) async fn refresh_keys(&self) -> Result<bool> {
        let stored = read_keys(&self.pool).await?;
        let newest = stored.iter().map(|k| k.id).max().unwrap_or(0);
        if newest <= self.keys().newest_key() {
            return Ok(false);
        }
        self.set_keys(Keyring::open(&self.kek, &stored)?);
        Ok(true)
    }

    /// Renews the query planner's statistics after a bulk load, so that a look-up by household
    /// uses its index rather than the region's: PostgreSQL does not always analyse a freshly
    /// loaded table in time (at a million persons a profile took 200 ms instead of 1 ms).
    /// SQLite is left without statistics: its planner then prefers the indexes, which is right
    /// for every query of the store, while statistics of a small table make it scan instead.
    pub(crate) async fn refresh_statistics(&self, tables: &[&str]) -> Result<()> {
        if self.backend == Backend::Postgres {
            for table in tables {
                sqlx::query(sqlx::AssertSqlSafe(format!("ANALYZE {table}")))
                    .execute(&self.pool)
                    .await?;
            }
        }
        Ok(())
    }

    /// Catches up with keys another process added (one small query): writers call it first,
    /// so that they seal with the newest field key while a rotation runs elsewhere.
    pub(crate) async fn catch_up_keys(&self) -> Result<()> {
        let newest: Option<i64> = sqlx::query_scalar("SELECT MAX(id) FROM data_keys")
            .fetch_one(&self.pool)
            .await?;
        if newest.unwrap_or(0) > i64::from(self.keys().newest_key()) {
            self.refresh_keys().await?;
        }
        Ok(())
    }

    /// Runs `read`; if a value turns out to be sealed by a key another process added, reads
    /// the keys again and runs `read` once more. So reads never fail because a rotation is
    /// under way elsewhere, and cost no look-up of the keys when none is (a profile page makes
    /// several such reads).
    pub(crate) async fn with_current_keys<T, F, Fut>(&self, read: F) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        match read().await {
            Err(StoreError::Privacy(privacy::PrivacyError::UnknownKey(_))) => {
                self.refresh_keys().await?;
                read().await
            }
            other => other,
        }
    }

    /// The backend chosen by the URL.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Closes every connection (and, for SQLite, checkpoints the write-ahead log).
    pub async fn close(self) {
        self.pool.close().await;
    }

    /// Adds a new field-encryption key that seals every value written from now on, and
    /// stores it wrapped under `kek`. Values sealed earlier stay readable.
    pub async fn rotate_field_key(
        &mut self,
        kek: &Kek,
        algorithm: Algorithm,
        now: Timestamp,
    ) -> Result<u32> {
        let mut keys = Keyring::open(kek, &read_keys(&self.pool).await?)?;
        let wrapped = keys.rotate_field_key(kek, algorithm)?;
        insert_key(&self.pool, &wrapped, now).await?;
        self.set_keys(keys);
        Ok(wrapped.id)
    }
}

async fn load_or_create_keys(
    pool: &AnyPool,
    kek: &Kek,
    algorithm: Algorithm,
    now: Timestamp,
) -> Result<Keyring> {
    let stored = read_keys(pool).await?;
    if !stored.is_empty() {
        return Ok(Keyring::open(kek, &stored)?);
    }
    let (ring, wrapped) = Keyring::create(kek, algorithm)?;
    let mut tx = pool.begin().await?;
    for key in &wrapped {
        sqlx::query(
            "INSERT INTO data_keys (id, purpose, algorithm, wrapped, created_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
        )
        .bind(i64::from(key.id))
        .bind(key.purpose.as_str())
        .bind(key.algorithm.as_str())
        .bind(key.wrapped.clone())
        .bind(now.0)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    // Another process may have created the keys first: the stored ones win.
    let stored = read_keys(pool).await?;
    if stored == wrapped {
        Ok(ring)
    } else {
        Ok(Keyring::open(kek, &stored)?)
    }
}

async fn insert_key(pool: &AnyPool, key: &WrappedKey, now: Timestamp) -> Result<()> {
    sqlx::query(
        "INSERT INTO data_keys (id, purpose, algorithm, wrapped, created_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(i64::from(key.id))
    .bind(key.purpose.as_str())
    .bind(key.algorithm.as_str())
    .bind(key.wrapped.clone())
    .bind(now.0)
    .execute(pool)
    .await?;
    Ok(())
}

async fn read_keys(pool: &AnyPool) -> Result<Vec<WrappedKey>> {
    use sqlx::Row;
    let rows = sqlx::query("SELECT id, purpose, algorithm, wrapped FROM data_keys ORDER BY id")
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| {
            let id: i64 = row.try_get("id")?;
            let purpose: String = row.try_get("purpose")?;
            let algorithm: String = row.try_get("algorithm")?;
            Ok(WrappedKey {
                id: u32::try_from(id).map_err(|_| StoreError::Corrupt("data key id"))?,
                purpose: Purpose::parse(&purpose).ok_or(StoreError::Corrupt("data key purpose"))?,
                algorithm: Algorithm::parse(&algorithm)
                    .ok_or(StoreError::Corrupt("data key algorithm"))?,
                wrapped: row.try_get("wrapped")?,
            })
        })
        .collect()
}

/// Makes sqlx's `Any` driver know SQLite and PostgreSQL (once per process).
pub(crate) fn install_drivers() {
    static DRIVERS: Once = Once::new();
    DRIVERS.call_once(sqlx::any::install_default_drivers);
}

/// Runs a future to completion on a new single-threaded runtime: the entry point for the
/// synchronous binary, which need not depend on an async runtime itself.
pub fn block_on<F: Future>(future: F) -> std::io::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    Ok(runtime.block_on(future))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_sqlite_and_postgres_urls_open() {
        let kek = Kek::generate();
        for url in ["mysql://localhost/x", "jiuzhu.db", ""] {
            assert!(matches!(
                Store::open(url, &kek, Algorithm::Sm4Gcm, Timestamp(0)).await,
                Err(StoreError::BadUrl)
            ));
        }
    }
}
