//! Test databases: a SQLite temp file, or a fresh PostgreSQL database dropped afterwards.

use privacy::{Algorithm, Kek};
use sqlx::Connection;
use sqlx::postgres::PgConnection;
use store::{Backend, Store, Timestamp};

/// The server the PostgreSQL tests use (trust authentication on the test machines).
pub const PG_SERVER: &str = "postgres://postgres@127.0.0.1:5432";
const PG_ADMIN_DB: &str = "test";

/// A store opened on a throw-away database.
pub struct TestDb {
    /// The store.
    pub store: Store,
    /// The URL it was opened with.
    pub url: String,
    /// The KEK, to reopen.
    pub kek_hex: String,
    /// Where the SQLite file lives (kept alive for the test).
    pub dir: Option<tempfile::TempDir>,
    /// The PostgreSQL database name.
    pub pg_name: Option<String>,
}

/// A fixed instant for tests: 2026-11-30T00:00:00Z.
pub const T0: Timestamp = Timestamp(1_795_996_800);

impl TestDb {
    /// A store on a new SQLite file.
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite:{}", dir.path().join("jiuzhu.db").display());
        let kek = Kek::generate();
        let store = Store::open(&url, &kek, Algorithm::Sm4Gcm, T0)
            .await
            .expect("opens SQLite");
        assert_eq!(store.backend(), Backend::Sqlite);
        TestDb {
            store,
            url,
            kek_hex: kek.to_hex().to_string(),
            dir: Some(dir),
            pg_name: None,
        }
    }

    /// A store on a new PostgreSQL database, or `None` (with a loud notice) when the server
    /// cannot be reached.
    pub async fn postgres() -> Option<TestDb> {
        let admin_url = format!("{PG_SERVER}/{PG_ADMIN_DB}");
        let mut admin = match PgConnection::connect(&admin_url).await {
            Ok(c) => c,
            Err(error) => {
                // CI makes PostgreSQL present and says so; there a skip is a failure.
                assert!(
                    std::env::var_os("JIUZHU_REQUIRE_POSTGRES").is_none(),
                    "PostgreSQL at {PG_SERVER} is unreachable ({error}) but JIUZHU_REQUIRE_POSTGRES is set"
                );
                eprintln!(
                    "\n!!!!!!!! PostgreSQL at {PG_SERVER} is unreachable ({error}); \
                     the PostgreSQL story test is SKIPPED !!!!!!!!\n"
                );
                return None;
            }
        };
        let name = format!("jiuzhu_test_{:016x}", rand::random::<u64>());
        // The name is generated here from hex digits: no injection.
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("creates the test database");
        admin.close().await.ok();
        let url = format!("{PG_SERVER}/{name}");
        let kek = Kek::generate();
        let store = Store::open(&url, &kek, Algorithm::Sm4Gcm, T0)
            .await
            .expect("opens PostgreSQL");
        assert_eq!(store.backend(), Backend::Postgres);
        Some(TestDb {
            store,
            url,
            kek_hex: kek.to_hex().to_string(),
            dir: None,
            pg_name: Some(name),
        })
    }

    /// The KEK this database was created with.
    pub fn kek(&self) -> Kek {
        Kek::from_hex(&self.kek_hex).expect("valid hex")
    }

    /// Closes the store and drops the PostgreSQL database.
    pub async fn finish(self) {
        let TestDb {
            store,
            pg_name,
            dir,
            ..
        } = self;
        store.close().await;
        if let Some(name) = pg_name {
            drop_database(&name).await;
        }
        drop(dir);
    }
}

/// Drops a test database (forcing out any connection left over).
pub async fn drop_database(name: &str) {
    if let Ok(mut admin) = PgConnection::connect(&format!("{PG_SERVER}/{PG_ADMIN_DB}")).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await;
        admin.close().await.ok();
    }
}

/// A story future borrowing its database.
pub type StoryFuture<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + 'a>>;

/// Runs a story on a database and always cleans the database up, even when the story fails
/// (the failure is then re-raised).
pub async fn run_story(db: TestDb, story: for<'a> fn(&'a TestDb) -> StoryFuture<'a>) {
    let db = std::sync::Arc::new(db);
    let task = {
        let db = db.clone();
        tokio::spawn(async move { story(&db).await })
    };
    let outcome = task.await;
    if let Ok(db) = std::sync::Arc::try_unwrap(db) {
        db.finish().await;
    }
    if let Err(error) = outcome {
        if error.is_panic() {
            std::panic::resume_unwind(error.into_panic());
        }
        panic!("story task failed: {error}");
    }
}
