//! Test logs on every store, and ways to damage them behind the ledger's back.

use std::sync::atomic::{AtomicU32, Ordering};

use domain::RegionCode;
use ledger::sql::SqlStore;
use ledger::{
    Action, DataHash, Entry, HashAlgorithm, Ledger, LedgerStore, MemoryStore, Purpose, Role,
    SubjectRef, Timestamp, UserId,
};

/// A synthetic entry; `i` varies every field that can vary.
pub fn entry(i: u64) -> Entry {
    Entry {
        at: Timestamp(1_764_300_000_000 + i as i64 * 1000),
        actor: UserId(1 + i % 7),
        role: Role::ALL[(i as usize) % Role::ALL.len()],
        region: RegionCode::parse("990101001201").expect("synthetic region"),
        action: Action::ALL[(i as usize) % Action::ALL.len()],
        purpose: Purpose::ALL[(i as usize) % Purpose::ALL.len()],
        case: i.is_multiple_of(3).then_some(i),
        subject: if i.is_multiple_of(2) {
            SubjectRef::Household(1000 + i)
        } else {
            SubjectRef::blind_index([i as u8; 32])
        },
        data: DataHash::of(HashAlgorithm::Sm3, format!("synthetic row {i}").as_bytes()),
    }
}

/// Damage done to a log's storage directly, as an attacker with database access would.
pub trait Damage {
    /// The stored (body, leaf hash) of entry `index`.
    fn read(&mut self, index: u64) -> (Vec<u8>, Vec<u8>);
    /// Overwrites the stored body and leaf hash of entry `index`.
    fn write(&mut self, index: u64, body: Vec<u8>, leaf_hash: Vec<u8>);
    /// Deletes the entries with `from <= index < to`.
    fn delete(&mut self, from: u64, to: u64);
}

impl Damage for MemoryStore {
    fn read(&mut self, index: u64) -> (Vec<u8>, Vec<u8>) {
        let record = &self.records_mut()[index as usize];
        (record.body.clone(), record.leaf_hash.0.to_vec())
    }

    fn write(&mut self, index: u64, body: Vec<u8>, leaf_hash: Vec<u8>) {
        let record = &mut self.records_mut()[index as usize];
        record.body = body;
        record.leaf_hash = ledger::Digest::from_slice(&leaf_hash).expect("32 bytes");
    }

    fn delete(&mut self, from: u64, to: u64) {
        self.records_mut()
            .retain(|r| r.index < from || r.index >= to);
    }
}

/// A log in SQL with a second, independent connection for damaging it.
pub struct SqlFixture {
    pub url: String,
    pub schema: Option<String>,
    runtime: tokio::runtime::Runtime,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// One damaging statement.
enum Op {
    Read(i64),
    Write(i64, Vec<u8>, Vec<u8>),
    Delete(i64, i64),
}

/// Runs an [`Op`] on a connection of either backend (the SQL is the same text for both).
macro_rules! apply {
    ($connection:ident, $op:ident) => {
        match $op {
            Op::Read(seq) => Some(
                sqlx::query_as("SELECT body, leaf_hash FROM ledger_entries WHERE seq = $1")
                    .bind(seq)
                    .fetch_one(&mut $connection)
                    .await
                    .expect("read entry"),
            ),
            Op::Write(seq, body, leaf) => {
                sqlx::query("UPDATE ledger_entries SET body = $1, leaf_hash = $2 WHERE seq = $3")
                    .bind(body)
                    .bind(leaf)
                    .bind(seq)
                    .execute(&mut $connection)
                    .await
                    .expect("write entry");
                None
            }
            Op::Delete(from, to) => {
                sqlx::query("DELETE FROM ledger_entries WHERE seq >= $1 AND seq < $2")
                    .bind(from)
                    .bind(to)
                    .execute(&mut $connection)
                    .await
                    .expect("delete entries");
                None
            }
        }
    };
}

/// The PostgreSQL test server; `JIUZHU_TEST_POSTGRES` overrides it.
pub fn postgres_url() -> String {
    std::env::var("JIUZHU_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

impl SqlFixture {
    /// A fresh SQLite file in `dir`.
    pub fn sqlite(dir: &tempfile::TempDir) -> SqlFixture {
        let path = dir.path().join(format!(
            "ledger-{}.db",
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        SqlFixture {
            url: format!("sqlite:{}", path.display()),
            schema: None,
            runtime: runtime(),
        }
    }

    /// A fresh PostgreSQL schema, or `None` (with a loud notice) if the server is unreachable.
    pub fn postgres(test: &str) -> Option<SqlFixture> {
        let url = postgres_url();
        let reachable = std::net::TcpStream::connect_timeout(
            &"127.0.0.1:5432".parse().expect("socket address"),
            std::time::Duration::from_secs(2),
        )
        .is_ok();
        if !reachable && std::env::var("JIUZHU_TEST_POSTGRES").is_err() {
            eprintln!("!!! SKIPPED {test} on PostgreSQL: no server at 127.0.0.1:5432 !!!");
            return None;
        }
        let schema = format!(
            "ledger_test_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        Some(SqlFixture {
            url,
            schema: Some(schema),
            runtime: runtime(),
        })
    }

    /// Opens the ledger store of this fixture.
    pub fn store(&self) -> SqlStore {
        match &self.schema {
            Some(schema) => SqlStore::connect_in_schema(&self.url, schema),
            None => SqlStore::connect(&self.url),
        }
        .expect("connect to the test database")
    }

    fn apply(&self, op: Op) -> Option<(Vec<u8>, Vec<u8>)> {
        self.runtime.block_on(async {
            use sqlx::Connection;
            match &self.schema {
                None => {
                    let mut connection = sqlx::SqliteConnection::connect(&self.url)
                        .await
                        .expect("connect");
                    apply!(connection, op)
                }
                Some(schema) => {
                    let mut connection = sqlx::PgConnection::connect(&self.url)
                        .await
                        .expect("connect");
                    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("SET search_path TO {schema}")))
                        .execute(&mut connection)
                        .await
                        .expect("search path");
                    apply!(connection, op)
                }
            }
        })
    }
}

impl Damage for SqlFixture {
    fn read(&mut self, index: u64) -> (Vec<u8>, Vec<u8>) {
        self.apply(Op::Read(index as i64)).expect("entry exists")
    }

    fn write(&mut self, index: u64, body: Vec<u8>, leaf_hash: Vec<u8>) {
        self.apply(Op::Write(index as i64, body, leaf_hash));
    }

    fn delete(&mut self, from: u64, to: u64) {
        self.apply(Op::Delete(from as i64, to as i64));
    }
}

impl Drop for SqlFixture {
    fn drop(&mut self) {
        if let Some(schema) = &self.schema {
            let url = self.url.clone();
            let drop = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
            self.runtime.block_on(async move {
                use sqlx::Connection;
                if let Ok(mut connection) = sqlx::PgConnection::connect(&url).await {
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(drop))
                        .execute(&mut connection)
                        .await;
                }
            });
        }
    }
}

/// A ledger of `n` synthetic entries appended in a few batches.
pub fn filled<S: LedgerStore>(store: S, algorithm: HashAlgorithm, n: u64) -> Ledger<S> {
    let mut ledger = Ledger::open(store, algorithm).expect("open");
    let entries: Vec<Entry> = (0..n).map(entry).collect();
    for batch in entries.chunks(7) {
        ledger.append(batch).expect("append");
    }
    ledger
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}
