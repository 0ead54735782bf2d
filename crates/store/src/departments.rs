//! Department accounts of the exchange API and the receipts of what they delivered.
//!
//! An account has a name, an API key (given once when the account is made; only its SM3 hash
//! is stored), the feeds it may send, a declared purpose, a region, a rate limit and a maximum
//! upload size. Every accepted event and batch is recorded with its content hash in the same
//! transaction as its ledger entry, which is the receipt. Events are idempotent by
//! `(account, event_id)`: the same event again returns the first receipt, and an `event_id`
//! reused for other content is refused. The rows of events hold personal data and are sealed.

use crate::audit::{Audit, acting_role, file_hash, region_of_prefix};
use crate::scope::{Role, is_region_prefix};
use crate::{Result, Scope, Store, StoreError, Timestamp};
use ledger::{Action, Purpose, SubjectRef};
use privacy::password::SessionToken;
use sqlx::Row;
use sqlx::any::AnyRow;

/// A new department account.
#[derive(Debug, Clone)]
pub struct NewDepartment {
    /// Unique name (letters, digits, `.`, `_`, `-`).
    pub name: String,
    /// Feeds it may send (canonical feed names).
    pub feeds: Vec<String>,
    /// Why it sends data.
    pub purpose: Purpose,
    /// The region it reports for (0 to 12 digits).
    pub region_prefix: String,
    /// Requests allowed per minute.
    pub rate_per_minute: u32,
    /// The largest request body accepted, in bytes.
    pub max_upload_bytes: u64,
}

/// A department account as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Department {
    /// Account id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Feeds it may send.
    pub feeds: Vec<String>,
    /// Declared purpose.
    pub purpose: Purpose,
    /// Region prefix.
    pub region_prefix: String,
    /// Requests allowed per minute.
    pub rate_per_minute: u32,
    /// Largest request body, in bytes.
    pub max_upload_bytes: u64,
    /// Whether the account is disabled.
    pub disabled: bool,
}

impl Department {
    /// Whether the account may send `feed`.
    pub fn may_send(&self, feed: &str) -> bool {
        self.feeds.iter().any(|f| f == feed)
    }

    /// The scope the account acts in (the department role in its region).
    pub fn scope(&self) -> Result<Scope> {
        Scope::new(self.id, &[Role::Department], &self.region_prefix)
    }
}

/// What the platform gives back for an accepted event or batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The content hash (SM3, hexadecimal) of what was accepted.
    pub content_hash: String,
    /// The ledger entry that records it.
    pub ledger_index: u64,
    /// Whether it had been accepted before (nothing new was stored).
    pub duplicate: bool,
}

macro_rules! department_columns {
    () => {
        "account_id, name, feeds, purpose, region_prefix, rate_per_minute, max_upload_bytes, \
         disabled"
    };
}

fn department_from_row(row: &AnyRow) -> Result<Department> {
    let feeds: String = row.try_get("feeds")?;
    let purpose: String = row.try_get("purpose")?;
    let rate: i64 = row.try_get("rate_per_minute")?;
    let max: i64 = row.try_get("max_upload_bytes")?;
    let disabled: i64 = row.try_get("disabled")?;
    Ok(Department {
        id: row.try_get("account_id")?,
        name: row.try_get("name")?,
        feeds: feeds
            .split(',')
            .filter(|f| !f.is_empty())
            .map(str::to_string)
            .collect(),
        purpose: Purpose::parse(&purpose).ok_or(StoreError::Corrupt("department purpose"))?,
        region_prefix: row.try_get("region_prefix")?,
        rate_per_minute: u32::try_from(rate).map_err(|_| StoreError::Corrupt("rate"))?,
        max_upload_bytes: u64::try_from(max).map_err(|_| StoreError::Corrupt("upload size"))?,
        disabled: disabled != 0,
    })
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Store {
    /// Creates a department account and returns it with its API key, which is shown once and
    /// stored only hashed. Needs the administrator role; the account's region must lie within
    /// the administrator's.
    pub async fn add_department(
        &self,
        scope: &Scope,
        new: &NewDepartment,
        now: Timestamp,
    ) -> Result<(Department, String)> {
        scope.require(&[Role::Administrator])?;
        if !valid_name(&new.name) {
            return Err(StoreError::Invalid(
                "a department name has 1 to 64 letters, digits, '.', '_' or '-'",
            ));
        }
        if new.feeds.is_empty() || new.feeds.iter().any(|f| !valid_name(f)) {
            return Err(StoreError::Invalid("a department needs at least one feed"));
        }
        if !is_region_prefix(&new.region_prefix) {
            return Err(StoreError::Invalid("a region prefix is 0 to 12 digits"));
        }
        if !new.region_prefix.starts_with(scope.region_prefix()) {
            return Err(StoreError::Forbidden);
        }
        if new.rate_per_minute == 0 || new.max_upload_bytes == 0 {
            return Err(StoreError::Invalid(
                "the rate limit and the upload size must be positive",
            ));
        }
        let token = SessionToken::generate();
        let key = format!("jzd_{}", token.expose());
        let hash = SessionToken::from_client(&key).hash();
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(concat!(
            "INSERT INTO departments (name, key_hash, feeds, purpose, region_prefix,
                 rate_per_minute, max_upload_bytes, disabled, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8)
             ON CONFLICT (name) DO NOTHING RETURNING ",
            department_columns!()
        ))
        .bind(new.name.clone())
        .bind(hash.to_vec())
        .bind(new.feeds.join(","))
        .bind(new.purpose.as_str())
        .bind(new.region_prefix.clone())
        .bind(i64::from(new.rate_per_minute))
        .bind(i64::try_from(new.max_upload_bytes).unwrap_or(i64::MAX))
        .bind(now.0)
        .fetch_optional(&mut *tx)
        .await?;
        let department = department_from_row(&row.ok_or(StoreError::Conflict("department name"))?)?;
        let audit = self.department_audit(scope, &department, "added")?;
        self.append_audit(&mut tx, scope, now, &[audit]).await?;
        tx.commit().await?;
        Ok((department, key))
    }

    /// The department accounts within the scope's region, by name. Administrator role.
    pub async fn departments(&self, scope: &Scope) -> Result<Vec<Department>> {
        scope.require(&[Role::Administrator])?;
        let rows = sqlx::query(concat!(
            "SELECT ",
            department_columns!(),
            " FROM departments WHERE region_prefix LIKE $1 ORDER BY name"
        ))
        .bind(scope.pattern())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(department_from_row).collect()
    }

    /// Disables (or enables) a department account; its key stops (or starts) working at once.
    pub async fn set_department_disabled(
        &self,
        scope: &Scope,
        name: &str,
        disabled: bool,
        now: Timestamp,
    ) -> Result<Department> {
        scope.require(&[Role::Administrator])?;
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(concat!(
            "UPDATE departments SET disabled = $1 WHERE name = $2 AND region_prefix LIKE $3
             RETURNING ",
            department_columns!()
        ))
        .bind(i64::from(disabled))
        .bind(name.to_string())
        .bind(scope.pattern())
        .fetch_optional(&mut *tx)
        .await?;
        let department = department_from_row(&row.ok_or(StoreError::NotFound)?)?;
        let change = if disabled { "disabled" } else { "enabled" };
        let audit = self.department_audit(scope, &department, change)?;
        self.append_audit(&mut tx, scope, now, &[audit]).await?;
        tx.commit().await?;
        Ok(department)
    }

    /// The enabled account whose API key is `key`, if any.
    pub async fn department_by_key(&self, key: &str) -> Result<Option<Department>> {
        let hash = SessionToken::from_client(key).hash();
        let row = sqlx::query(concat!(
            "SELECT ",
            department_columns!(),
            " FROM departments WHERE key_hash = $1 AND disabled = 0"
        ))
        .bind(hash.to_vec())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(department_from_row).transpose()
    }

    /// Records an accepted event (already validated) of `feed` from `department`:
    /// `canonical` is the event's canonical JSON, sealed at rest. The same `event_id` with the
    /// same content returns the first receipt; with other content it is refused
    /// ([`StoreError::Conflict`]). The event and its ledger entry commit together.
    pub async fn record_event(
        &self,
        department: &Department,
        event_id: &str,
        feed: &str,
        canonical: &str,
        now: Timestamp,
    ) -> Result<Receipt> {
        if !department.may_send(feed) {
            return Err(StoreError::Forbidden);
        }
        if event_id.is_empty() || event_id.len() > 128 {
            return Err(StoreError::Invalid("an event_id has 1 to 128 characters"));
        }
        self.catch_up_keys().await?;
        let content = file_hash(canonical.as_bytes());
        let mut tx = self.begin_write().await?;
        let earlier = sqlx::query(
            "SELECT content_hash, ledger_index FROM department_events
             WHERE account_id = $1 AND event_id = $2",
        )
        .bind(department.id)
        .bind(event_id.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = earlier {
            let hash: Vec<u8> = row.try_get("content_hash")?;
            let index: i64 = row.try_get("ledger_index")?;
            if hash != content.digest().0 {
                return Err(StoreError::Conflict(
                    "event_id (sent before with other content)",
                ));
            }
            return Ok(Receipt {
                content_hash: hex(&hash),
                ledger_index: u64::try_from(index).map_err(|_| StoreError::Corrupt("index"))?,
                duplicate: true,
            });
        }
        let scope = department.scope()?;
        let audit = Audit {
            action: Action::ImportBatch,
            purpose: department.purpose,
            role: acting_role(&scope, &[Role::Department]),
            region: region_of_prefix(&department.region_prefix)?,
            case: None,
            subject: self.keyed_subject("event", &format!("{}:{event_id}", department.id)),
            data: content,
        };
        let range = self.append_audit(&mut tx, &scope, now, &[audit]).await?;
        let record = format!("event:{}:{event_id}", department.id);
        sqlx::query(
            "INSERT INTO department_events (account_id, event_id, feed, row_sealed,
                 content_hash, received_at, ledger_index)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(department.id)
        .bind(event_id.to_string())
        .bind(feed.to_string())
        .bind(self.keys().seal("event", &record, canonical))
        .bind(content.digest().0.to_vec())
        .bind(now.0)
        .bind(i64::try_from(range.start).map_err(|_| StoreError::Corrupt("index"))?)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Receipt {
            content_hash: content.digest().to_hex(),
            ledger_index: range.start,
            duplicate: false,
        })
    }

    /// The number of events an account has delivered.
    pub async fn department_event_count(&self, department: &Department) -> Result<u64> {
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM department_events WHERE account_id = $1")
                .bind(department.id)
                .fetch_one(&self.pool)
                .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Records a batch committed to the lake for `department`: `batch_id` is its content
    /// identity, `manifest` its manifest file (hashed with SM3). A batch delivered before returns
    /// the first receipt.
    pub async fn record_department_batch(
        &self,
        department: &Department,
        batch_id: &str,
        manifest: &[u8],
        now: Timestamp,
    ) -> Result<Receipt> {
        let content = file_hash(manifest);
        let mut tx = self.begin_write().await?;
        let earlier: Option<(Vec<u8>, i64)> = sqlx::query_as(
            "SELECT content_hash, ledger_index FROM department_batches
             WHERE account_id = $1 AND batch_id = $2",
        )
        .bind(department.id)
        .bind(batch_id.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((hash, index)) = earlier {
            return Ok(Receipt {
                content_hash: hex(&hash),
                ledger_index: u64::try_from(index).map_err(|_| StoreError::Corrupt("index"))?,
                duplicate: true,
            });
        }
        let scope = department.scope()?;
        let audit = Audit {
            action: Action::ImportBatch,
            purpose: department.purpose,
            role: acting_role(&scope, &[Role::Department]),
            region: region_of_prefix(&department.region_prefix)?,
            case: None,
            subject: SubjectRef::Hashed(
                crate::LEDGER_HASH.hash(format!("batch:{batch_id}").as_bytes()),
            ),
            data: content,
        };
        let range = self.append_audit(&mut tx, &scope, now, &[audit]).await?;
        sqlx::query(
            "INSERT INTO department_batches (account_id, batch_id, content_hash, received_at,
                 ledger_index)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(department.id)
        .bind(batch_id.to_string())
        .bind(content.digest().0.to_vec())
        .bind(now.0)
        .bind(i64::try_from(range.start).map_err(|_| StoreError::Corrupt("index"))?)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Receipt {
            content_hash: content.digest().to_hex(),
            ledger_index: range.start,
            duplicate: false,
        })
    }

    fn department_audit(&self, scope: &Scope, d: &Department, change: &str) -> Result<Audit> {
        Ok(Audit {
            action: Action::UserChange,
            purpose: Purpose::Administration,
            role: acting_role(scope, &[Role::Administrator]),
            region: region_of_prefix(&d.region_prefix)?,
            case: None,
            subject: self.keyed_subject("department", &d.name),
            data: self.record_hash(
                "department",
                &format!(
                    "{change}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}",
                    d.id,
                    d.feeds.join(","),
                    d.purpose.as_str(),
                    d.rate_per_minute,
                    d.max_upload_bytes
                ),
            ),
        })
    }
}
