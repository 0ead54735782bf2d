//! The ledger's tables, as SQL text for each backend, available without a database driver.
//!
//! Whoever opens a database that holds the ledger applies these migrations with one protocol:
//! create `ledger_migrations (version BIGINT PRIMARY KEY)` if missing, then run, in one
//! transaction, every migration whose version is not in it and record its version. `sql::SqlStore`
//! does so when it connects; the platform's store does so on open, over its own connection pool,
//! so that both find the same tables whichever opens the database first.

/// Creates the bookkeeping table of the ledger's migrations.
pub const MIGRATIONS_TABLE: &str =
    "CREATE TABLE IF NOT EXISTS ledger_migrations (version BIGINT PRIMARY KEY)";

/// The migrations of the `ledger_*` tables on SQLite: `(version, SQL)`, applied in order.
pub const SQLITE_MIGRATIONS: &[(i64, &str)] = &[(
    1,
    "CREATE TABLE ledger_entries (
        seq INTEGER PRIMARY KEY,
        body BLOB NOT NULL,
        leaf_hash BLOB NOT NULL
    );
    CREATE TABLE ledger_nodes (
        level INTEGER NOT NULL,
        idx INTEGER NOT NULL,
        hash BLOB NOT NULL,
        PRIMARY KEY (level, idx)
    ) WITHOUT ROWID;
    CREATE TABLE ledger_heads (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        size INTEGER NOT NULL,
        timestamp_ms INTEGER NOT NULL,
        hash_algorithm TEXT NOT NULL,
        root BLOB NOT NULL,
        signature_algorithm TEXT NOT NULL,
        public_key BLOB NOT NULL,
        signature BLOB NOT NULL
    );",
)];

/// The migrations of the `ledger_*` tables on PostgreSQL: `(version, SQL)`, applied in order.
pub const POSTGRES_MIGRATIONS: &[(i64, &str)] = &[(
    1,
    "CREATE TABLE ledger_entries (
        seq BIGINT PRIMARY KEY,
        body BYTEA NOT NULL,
        leaf_hash BYTEA NOT NULL
    );
    CREATE TABLE ledger_nodes (
        level INTEGER NOT NULL,
        idx BIGINT NOT NULL,
        hash BYTEA NOT NULL,
        PRIMARY KEY (level, idx)
    );
    CREATE TABLE ledger_heads (
        id BIGSERIAL PRIMARY KEY,
        size BIGINT NOT NULL,
        timestamp_ms BIGINT NOT NULL,
        hash_algorithm TEXT NOT NULL,
        root BYTEA NOT NULL,
        signature_algorithm TEXT NOT NULL,
        public_key BYTEA NOT NULL,
        signature BYTEA NOT NULL
    );",
)];
