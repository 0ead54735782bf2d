//! The ledger kept in SQL tables, SQLite or PostgreSQL through sqlx.
//!
//! The tables are the ledger's own and carry the `ledger_` prefix, so they can live in the
//! platform's database beside the store's tables without either knowing the other:
//!
//! * `ledger_entries (seq, body, leaf_hash)` — the canonical encoding of each record and the leaf
//!   hash computed when it was appended;
//! * `ledger_nodes (level, idx, hash)` — the cached hash of every complete subtree of level ≥ 1,
//!   so appends, heads and proofs read O(log n) rows;
//! * `ledger_heads (…)` — the signed tree heads that were published;
//! * `ledger_migrations (version)` — which of this module's migrations ran (its own bookkeeping,
//!   apart from any other migration table in the same database).
//!
//! sqlx is asynchronous but [`LedgerStore`] is not: [`SqlStore`] drives its own single-threaded
//! runtime. Call it from a blocking context (the binary, or `spawn_blocking` in a server).

use std::str::FromStr;

use crate::entry::Timestamp;
use crate::hash::{Digest, HashAlgorithm};
use crate::head::{HexBytes, PublicKey, SignatureAlgorithm, SignedTreeHead, TreeHead};
use crate::store::{AppendBatch, LedgerStore, StoreError, StoredRecord};

/// Rows per multi-row INSERT: 3 values a row stays far below SQLite's and PostgreSQL's limits on
/// bound parameters.
const INSERT_CHUNK: usize = 1000;

#[cfg(feature = "postgres")]
use crate::schema::POSTGRES_MIGRATIONS;
#[cfg(feature = "sqlite")]
use crate::schema::SQLITE_MIGRATIONS;

/// A stored value that cannot be what the ledger wrote.
#[derive(Debug, thiserror::Error)]
#[error("the ledger table holds an invalid {0}")]
struct InvalidColumn(&'static str);

fn backend(error: impl std::error::Error + Send + Sync + 'static) -> StoreError {
    StoreError::Backend(Box::new(error))
}

fn digest(bytes: &[u8], column: &'static str) -> Result<Digest, StoreError> {
    Digest::from_slice(bytes).ok_or_else(|| backend(InvalidColumn(column)))
}

fn to_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| backend(InvalidColumn("index")))
}

fn to_u64(value: i64, column: &'static str) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| backend(InvalidColumn(column)))
}

/// One row of `ledger_heads`, before it is checked.
type HeadRow = (i64, i64, String, Vec<u8>, String, Vec<u8>, Vec<u8>);

fn head_from_row(row: HeadRow) -> Result<SignedTreeHead, StoreError> {
    let (size, timestamp, hash_algorithm, root, signature_algorithm, public_key, signature) = row;
    Ok(SignedTreeHead {
        head: TreeHead {
            hash_algorithm: HashAlgorithm::parse(&hash_algorithm)
                .ok_or_else(|| backend(InvalidColumn("hash_algorithm")))?,
            size: to_u64(size, "size")?,
            root: digest(&root, "root")?,
            timestamp: Timestamp(timestamp),
        },
        public_key: PublicKey {
            algorithm: SignatureAlgorithm::parse(&signature_algorithm)
                .ok_or_else(|| backend(InvalidColumn("signature_algorithm")))?,
            key: HexBytes(public_key),
        },
        signature: HexBytes(signature),
    })
}

/// The queries, written once in the `$n` placeholder syntax both SQLite and PostgreSQL accept,
/// and instantiated for each backend.
macro_rules! queries {
    ($feature:literal, $module:ident, $db:ty) => {
        #[cfg(feature = $feature)]
        mod $module {
            use sqlx::{Pool, QueryBuilder};

            use super::*;

            type Db = $db;

            pub(super) async fn migrate(
                pool: &Pool<Db>,
                migrations: &[(i64, &'static str)],
            ) -> Result<(), StoreError> {
                let mut tx = pool.begin().await.map_err(backend)?;
                sqlx::raw_sql(crate::schema::MIGRATIONS_TABLE)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
                let applied: Vec<i64> =
                    sqlx::query_scalar("SELECT version FROM ledger_migrations")
                        .fetch_all(&mut *tx)
                        .await
                        .map_err(backend)?;
                for (version, sql) in migrations {
                    if applied.contains(version) {
                        continue;
                    }
                    sqlx::raw_sql(*sql).execute(&mut *tx).await.map_err(backend)?;
                    sqlx::query("INSERT INTO ledger_migrations (version) VALUES ($1)")
                        .bind(*version)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                }
                tx.commit().await.map_err(backend)
            }

            pub(super) async fn size<'e, E>(executor: E) -> Result<u64, StoreError>
            where
                E: sqlx::Executor<'e, Database = Db>,
            {
                let size: i64 =
                    sqlx::query_scalar("SELECT COALESCE(MAX(seq) + 1, 0) FROM ledger_entries")
                        .fetch_one(executor)
                        .await
                        .map_err(backend)?;
                to_u64(size, "seq")
            }

            pub(super) async fn append(pool: &Pool<Db>, batch: &AppendBatch) -> Result<(), StoreError> {
                let mut tx = pool.begin().await.map_err(backend)?;
                if let Some(first) = batch.records.first() {
                    let size = size(&mut *tx).await?;
                    if first.index != size {
                        return Err(StoreError::Conflict { start: first.index, size });
                    }
                }
                for chunk in batch.records.chunks(INSERT_CHUNK) {
                    let rows = chunk
                        .iter()
                        .map(|r| Ok((to_i64(r.index)?, r.body.clone(), r.leaf_hash.0.to_vec())))
                        .collect::<Result<Vec<_>, StoreError>>()?;
                    QueryBuilder::<Db>::new("INSERT INTO ledger_entries (seq, body, leaf_hash) ")
                        .push_values(rows, |mut values, (seq, body, leaf)| {
                            values.push_bind(seq).push_bind(body).push_bind(leaf);
                        })
                        .build()
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                }
                for chunk in batch.nodes.chunks(INSERT_CHUNK) {
                    let rows = chunk
                        .iter()
                        .map(|n| Ok((i32::from(n.level), to_i64(n.index)?, n.hash.0.to_vec())))
                        .collect::<Result<Vec<_>, StoreError>>()?;
                    QueryBuilder::<Db>::new("INSERT INTO ledger_nodes (level, idx, hash) ")
                        .push_values(rows, |mut values, (level, idx, hash)| {
                            values.push_bind(level).push_bind(idx).push_bind(hash);
                        })
                        .build()
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                }
                tx.commit().await.map_err(backend)
            }

            pub(super) async fn records(
                pool: &Pool<Db>,
                start: u64,
                end: u64,
            ) -> Result<Vec<StoredRecord>, StoreError> {
                let rows: Vec<(i64, Vec<u8>, Vec<u8>)> = sqlx::query_as(
                    "SELECT seq, body, leaf_hash FROM ledger_entries \
                     WHERE seq >= $1 AND seq < $2 ORDER BY seq",
                )
                .bind(to_i64(start)?)
                .bind(to_i64(end)?)
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                rows.into_iter()
                    .map(|(seq, body, leaf)| {
                        Ok(StoredRecord {
                            index: to_u64(seq, "seq")?,
                            body,
                            leaf_hash: digest(&leaf, "leaf_hash")?,
                        })
                    })
                    .collect()
            }

            pub(super) async fn node(
                pool: &Pool<Db>,
                level: u8,
                index: u64,
            ) -> Result<Option<Digest>, StoreError> {
                let found: Option<Vec<u8>> = if level == 0 {
                    sqlx::query_scalar("SELECT leaf_hash FROM ledger_entries WHERE seq = $1")
                        .bind(to_i64(index)?)
                        .fetch_optional(pool)
                        .await
                } else {
                    sqlx::query_scalar("SELECT hash FROM ledger_nodes WHERE level = $1 AND idx = $2")
                        .bind(i32::from(level))
                        .bind(to_i64(index)?)
                        .fetch_optional(pool)
                        .await
                }
                .map_err(backend)?;
                found.map(|bytes| digest(&bytes, "hash")).transpose()
            }

            pub(super) async fn save_head(
                pool: &Pool<Db>,
                signed: &SignedTreeHead,
            ) -> Result<(), StoreError> {
                sqlx::query(
                    "INSERT INTO ledger_heads (size, timestamp_ms, hash_algorithm, root, \
                     signature_algorithm, public_key, signature) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(to_i64(signed.head.size)?)
                .bind(signed.head.timestamp.0)
                .bind(signed.head.hash_algorithm.as_str())
                .bind(signed.head.root.0.to_vec())
                .bind(signed.public_key.algorithm.as_str())
                .bind(signed.public_key.key.0.clone())
                .bind(signed.signature.0.clone())
                .execute(pool)
                .await
                .map_err(backend)?;
                Ok(())
            }

            pub(super) async fn heads(pool: &Pool<Db>) -> Result<Vec<SignedTreeHead>, StoreError> {
                let rows: Vec<HeadRow> = sqlx::query_as(
                    "SELECT size, timestamp_ms, hash_algorithm, root, signature_algorithm, \
                     public_key, signature FROM ledger_heads ORDER BY size, timestamp_ms, id",
                )
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                rows.into_iter().map(head_from_row).collect()
            }
        }
    };
}

queries!("sqlite", sqlite_queries, sqlx::Sqlite);
queries!("postgres", postgres_queries, sqlx::Postgres);

enum Pool {
    #[cfg(feature = "sqlite")]
    Sqlite(sqlx::SqlitePool),
    #[cfg(feature = "postgres")]
    Postgres(sqlx::PgPool),
}

/// A [`LedgerStore`] in SQLite (`sqlite:PATH`, the file is created if missing) or PostgreSQL
/// (`postgres://…`). Runs its migrations when it connects.
pub struct SqlStore {
    runtime: tokio::runtime::Runtime,
    pool: Pool,
}

impl std::fmt::Debug for SqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: it is not kept, and not shown.
        let backend = match self.pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(_) => "sqlite",
            #[cfg(feature = "postgres")]
            Pool::Postgres(_) => "postgres",
        };
        write!(f, "SqlStore({backend})")
    }
}

/// Whether `name` is safe to use unquoted as a PostgreSQL schema name.
fn is_plain_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !name.as_bytes()[0].is_ascii_digit()
}

impl SqlStore {
    /// Connects to `url` and brings the ledger tables up to date.
    pub fn connect(url: &str) -> Result<SqlStore, StoreError> {
        SqlStore::connect_with(url, None)
    }

    /// Connects to a PostgreSQL database and keeps the ledger tables in `schema` (created if
    /// missing; lower-case letters, digits and `_`). For SQLite URLs the schema is ignored.
    pub fn connect_in_schema(url: &str, schema: &str) -> Result<SqlStore, StoreError> {
        if !is_plain_identifier(schema) {
            return Err(backend(InvalidColumn("schema name")));
        }
        SqlStore::connect_with(url, Some(schema))
    }

    fn connect_with(url: &str, schema: Option<&str>) -> Result<SqlStore, StoreError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(backend)?;
        let pool = runtime.block_on(SqlStore::open_pool(url, schema))?;
        Ok(SqlStore { runtime, pool })
    }

    /// Closes the connections; SQLite folds its write-ahead log back into the database file.
    pub fn close(self) {
        match &self.pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => self.runtime.block_on(pool.close()),
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => self.runtime.block_on(pool.close()),
        }
    }

    #[allow(unused_variables)]
    async fn open_pool(url: &str, schema: Option<&str>) -> Result<Pool, StoreError> {
        #[cfg(feature = "sqlite")]
        if url.starts_with("sqlite:") {
            use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
            let options = SqliteConnectOptions::from_str(url)
                .map_err(backend)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal);
            let pool = sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await
                .map_err(backend)?;
            sqlite_queries::migrate(&pool, SQLITE_MIGRATIONS).await?;
            return Ok(Pool::Sqlite(pool));
        }
        #[cfg(feature = "postgres")]
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
            let mut options = PgConnectOptions::from_str(url).map_err(backend)?;
            if let Some(schema) = schema {
                use sqlx::ConnectOptions;
                let mut connection = options.connect().await.map_err(backend)?;
                let create = format!("CREATE SCHEMA IF NOT EXISTS {schema}");
                sqlx::raw_sql(sqlx::AssertSqlSafe(create))
                    .execute(&mut connection)
                    .await
                    .map_err(backend)?;
                options = options.options([("search_path", schema)]);
            }
            let pool = PgPoolOptions::new()
                .max_connections(2)
                .connect_with(options)
                .await
                .map_err(backend)?;
            postgres_queries::migrate(&pool, POSTGRES_MIGRATIONS).await?;
            return Ok(Pool::Postgres(pool));
        }
        Err(StoreError::UnsupportedUrl)
    }
}

/// Runs the same query function on whichever backend the store holds.
macro_rules! dispatch {
    ($self:ident, $function:ident ( $($arg:expr),* )) => {
        match &$self.pool {
            #[cfg(feature = "sqlite")]
            Pool::Sqlite(pool) => $self.runtime.block_on(sqlite_queries::$function(pool $(, $arg)*)),
            #[cfg(feature = "postgres")]
            Pool::Postgres(pool) => $self.runtime.block_on(postgres_queries::$function(pool $(, $arg)*)),
        }
    };
}

impl LedgerStore for SqlStore {
    fn size(&mut self) -> Result<u64, StoreError> {
        dispatch!(self, size())
    }

    fn append(&mut self, batch: &AppendBatch) -> Result<(), StoreError> {
        dispatch!(self, append(batch))
    }

    fn records(&mut self, start: u64, end: u64) -> Result<Vec<StoredRecord>, StoreError> {
        dispatch!(self, records(start, end))
    }

    fn node(&mut self, level: u8, index: u64) -> Result<Option<Digest>, StoreError> {
        dispatch!(self, node(level, index))
    }

    fn save_head(&mut self, head: &SignedTreeHead) -> Result<(), StoreError> {
        dispatch!(self, save_head(head))
    }

    fn heads(&mut self) -> Result<Vec<SignedTreeHead>, StoreError> {
        dispatch!(self, heads())
    }
}
