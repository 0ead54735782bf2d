//! Online snapshots of a SQLite database for backups.
//!
//! `VACUUM INTO` writes a consistent copy of the whole database (the store's tables and the
//! ledger's) as of the start of its read transaction, while other connections keep reading and
//! writing: in WAL mode writers are not blocked, and the copy holds none of their later
//! commits. It needs no key: the copy holds the personal fields sealed, as they are stored. A
//! PostgreSQL database is backed up with `pg_dump`, which works from a snapshot in the same way;
//! running it is the binary's business (`jiuzhu backup`).

use crate::{Result, StoreError};
use sqlx::any::AnyPoolOptions;
use std::path::Path;

/// Writes a consistent copy of the SQLite database at `url` (`sqlite:PATH`) to `target`, which
/// must not exist, while the database stays in use by other connections and processes.
pub async fn snapshot_sqlite(url: &str, target: &Path) -> Result<()> {
    let file = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .ok_or(StoreError::BadUrl)?;
    let file = file.split('?').next().unwrap_or(file);
    if !Path::new(file).exists() {
        return Err(StoreError::NotFound);
    }
    if target.exists() {
        return Err(StoreError::Conflict("snapshot file"));
    }
    let target = target
        .to_str()
        .ok_or(StoreError::Invalid("the snapshot path is not UTF-8"))?;
    crate::install_drivers();
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .connect(&format!("sqlite://{file}?mode=rw"))
        .await?;
    let result = sqlx::query("VACUUM INTO $1")
        .bind(target.to_string())
        .execute(&pool)
        .await;
    pool.close().await;
    result?;
    Ok(())
}
