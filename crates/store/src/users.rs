//! Users, sessions and login throttling.
//!
//! Passwords are Argon2id hashes; session tokens are stored only as their SM3 hash; every
//! login attempt is recorded, and too many failures in a window refuse further attempts for
//! that user name without checking the password.

use crate::audit::{Audit, acting_role, region_of_prefix};
use crate::scope::{Role, is_region_prefix};
use crate::{Result, Scope, Store, StoreError, Timestamp};
use ledger::{Action, Purpose};
use privacy::password::{self, SessionToken};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::fmt;

/// A user to create.
#[derive(Clone)]
pub struct NewUser {
    /// Login name: 1 to 64 characters, letters, digits, `.`, `_`, `-`.
    pub username: String,
    /// Roles (at least one).
    pub roles: Vec<Role>,
    /// Region prefix, 0 to 12 digits.
    pub region_prefix: String,
    /// Password in clear (at least 10 characters); only its hash is stored.
    pub password: String,
}

impl fmt::Debug for NewUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("roles", &self.roles)
            .field("region_prefix", &self.region_prefix)
            .finish_non_exhaustive()
    }
}

/// A user as stored (without the password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// User id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Roles, sorted.
    pub roles: Vec<Role>,
    /// Region prefix.
    pub region_prefix: String,
    /// Whether the account is disabled.
    pub disabled: bool,
    /// When it was created.
    pub created_at: Timestamp,
}

impl User {
    /// The scope this user acts in.
    pub fn scope(&self) -> Result<Scope> {
        Scope::new(self.id, &self.roles, &self.region_prefix)
    }
}

/// Login throttling and session lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginRules {
    /// Failed attempts allowed within the window (since the last success).
    pub max_failures: i64,
    /// The window, in seconds.
    pub window_secs: i64,
    /// How long a session lasts, in seconds.
    pub session_secs: i64,
}

impl Default for LoginRules {
    /// 5 failures per 15 minutes; sessions of 8 hours.
    fn default() -> LoginRules {
        LoginRules {
            max_failures: 5,
            window_secs: 15 * 60,
            session_secs: 8 * 3600,
        }
    }
}

/// The result of a login attempt.
#[derive(Debug)]
pub enum LoginOutcome {
    /// Logged in: the token to give the client, and the user.
    Success {
        /// The session token (only its hash is stored).
        token: SessionToken,
        /// The user.
        user: User,
    },
    /// Unknown user, wrong password or disabled account (not told apart).
    Denied,
    /// Too many failures recently; the password was not checked.
    Throttled,
}

const MIN_PASSWORD_CHARS: usize = 10;

fn valid_username(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn roles_text(roles: &[Role]) -> String {
    let mut roles = roles.to_vec();
    roles.sort();
    roles.dedup();
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn user_from_row(row: &AnyRow) -> Result<User> {
    let roles: String = row.try_get("roles")?;
    let roles = roles
        .split(',')
        .filter(|r| !r.is_empty())
        .map(|r| Role::parse(r).ok_or(StoreError::Corrupt("role")))
        .collect::<Result<Vec<_>>>()?;
    Ok(User {
        id: row.try_get("user_id")?,
        username: row.try_get("username")?,
        roles,
        region_prefix: row.try_get("region_prefix")?,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        created_at: Timestamp(row.try_get("created_at")?),
    })
}

macro_rules! user_columns {
    () => {
        "user_id, username, roles, region_prefix, disabled, created_at"
    };
}

async fn hash_password(password: String) -> Result<String> {
    // Argon2id takes tens of milliseconds: keep it off the async workers.
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|_| StoreError::Invalid("password hashing was interrupted"))?
        .map_err(StoreError::from)
}

async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || password::verify(&password, &hash))
        .await
        .unwrap_or(false)
}

impl Store {
    /// Creates a user. Needs the administrator role; the new user's region must lie within
    /// the administrator's.
    pub async fn add_user(&self, scope: &Scope, user: &NewUser, now: Timestamp) -> Result<User> {
        scope.require(&[Role::Administrator])?;
        if !valid_username(&user.username) {
            return Err(StoreError::Invalid(
                "a user name has 1 to 64 letters, digits, '.', '_' or '-'",
            ));
        }
        if user.roles.is_empty() {
            return Err(StoreError::Invalid("a user needs at least one role"));
        }
        if !is_region_prefix(&user.region_prefix) {
            return Err(StoreError::Invalid("a region prefix is 0 to 12 digits"));
        }
        if !user.region_prefix.starts_with(scope.region_prefix()) {
            return Err(StoreError::Forbidden);
        }
        if user.password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(StoreError::Invalid("a password has at least 10 characters"));
        }
        let hash = hash_password(user.password.clone()).await?;
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(concat!(
            "INSERT INTO users (username, roles, region_prefix, password_hash, disabled,
                 created_at)
             VALUES ($1, $2, $3, $4, 0, $5)
             ON CONFLICT (username) DO NOTHING
             RETURNING ",
            user_columns!(),
            ""
        ))
        .bind(user.username.clone())
        .bind(roles_text(&user.roles))
        .bind(user.region_prefix.clone())
        .bind(hash)
        .bind(now.0)
        .fetch_optional(&mut *tx)
        .await?;
        let added = match inserted {
            Some(row) => user_from_row(&row)?,
            None => return Err(StoreError::Conflict("user name")),
        };
        let audit = self.user_audit(scope, &added, "added")?;
        self.append_audit(&mut tx, scope, now, &[audit]).await?;
        tx.commit().await?;
        Ok(added)
    }

    /// The users whose region lies within the scope's, by name. Needs the administrator role.
    pub async fn users(&self, scope: &Scope) -> Result<Vec<User>> {
        scope.require(&[Role::Administrator])?;
        let rows = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE region_prefix LIKE $1 ORDER BY username"
        ))
        .bind(scope.pattern())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Disables (or enables again) a user within the scope's region, and ends their sessions
    /// when disabling. Needs the administrator role. [`StoreError::NotFound`] when no such
    /// user is in the scope.
    pub async fn set_user_disabled(
        &self,
        scope: &Scope,
        username: &str,
        disabled: bool,
        now: Timestamp,
    ) -> Result<User> {
        scope.require(&[Role::Administrator])?;
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(concat!(
            "UPDATE users SET disabled = $1 WHERE username = $2 AND region_prefix LIKE $3
             RETURNING ",
            user_columns!(),
            ""
        ))
        .bind(i64::from(disabled))
        .bind(username.to_string())
        .bind(scope.pattern())
        .fetch_optional(&mut *tx)
        .await?;
        let user = user_from_row(&row.ok_or(StoreError::NotFound)?)?;
        if disabled {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user.id)
                .execute(&mut *tx)
                .await?;
        }
        let audit = self.user_audit(scope, &user, if disabled { "disabled" } else { "enabled" })?;
        self.append_audit(&mut tx, scope, now, &[audit]).await?;
        tx.commit().await?;
        Ok(user)
    }

    /// The ledger entry of a change to `user`: the keyed hash of its name as subject, its
    /// region, and the keyed hash of what changed.
    fn user_audit(&self, scope: &Scope, user: &User, change: &str) -> Result<Audit> {
        let roles: Vec<&str> = user.roles.iter().map(|r| r.as_str()).collect();
        Ok(Audit {
            action: Action::UserChange,
            purpose: Purpose::Administration,
            role: acting_role(scope, &[Role::Administrator]),
            region: region_of_prefix(&user.region_prefix)?,
            case: None,
            subject: self.keyed_subject("user", &user.username),
            data: self.record_hash(
                "user",
                &format!(
                    "{change}\u{1f}{}\u{1f}{}\u{1f}{}",
                    user.id,
                    roles.join(","),
                    user.region_prefix
                ),
            ),
        })
    }

    /// Checks a user name and password and opens a session. Every attempt is recorded;
    /// after `max_failures` failures within the window (since the last success), attempts
    /// are refused without checking the password.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        rules: &LoginRules,
        now: Timestamp,
    ) -> Result<LoginOutcome> {
        let failures: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM login_attempts
             WHERE username = $1 AND succeeded = 0 AND at > $2
               AND at >= (SELECT COALESCE(MAX(at), 0) FROM login_attempts
                          WHERE username = $1 AND succeeded = 1)",
        )
        .bind(username.to_string())
        .bind(now.0 - rules.window_secs)
        .fetch_one(&self.pool)
        .await?;
        if failures >= rules.max_failures {
            return Ok(LoginOutcome::Throttled);
        }
        let row = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            ", password_hash FROM users WHERE username = $1"
        ))
        .bind(username.to_string())
        .fetch_optional(&self.pool)
        .await?;
        let user = match row {
            Some(row) => {
                let hash: String = row.try_get("password_hash")?;
                let user = user_from_row(&row)?;
                let ok = verify_password(password.to_string(), hash).await;
                (ok && !user.disabled).then_some(user)
            }
            None => None,
        };
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO login_attempts (username, at, succeeded) VALUES ($1, $2, $3)")
            .bind(username.to_string())
            .bind(now.0)
            .bind(i64::from(user.is_some()))
            .execute(&mut *tx)
            .await?;
        let outcome = match user {
            Some(user) => {
                let token = SessionToken::generate();
                sqlx::query(
                    "INSERT INTO sessions (token_hash, user_id, created_at, expires_at)
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(token.hash().to_vec())
                .bind(user.id)
                .bind(now.0)
                .bind(now.0 + rules.session_secs)
                .execute(&mut *tx)
                .await?;
                LoginOutcome::Success { token, user }
            }
            None => LoginOutcome::Denied,
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// The user of a session token, if the session exists, has not expired, and the user is
    /// enabled.
    pub async fn session(&self, token: &SessionToken, now: Timestamp) -> Result<Option<User>> {
        let row = sqlx::query(
            "SELECT u.user_id, u.username, u.roles, u.region_prefix, u.disabled, u.created_at
             FROM sessions s JOIN users u ON u.user_id = s.user_id
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND u.disabled = 0",
        )
        .bind(token.hash().to_vec())
        .bind(now.0)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Ends a session.
    pub async fn logout(&self, token: &SessionToken) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token.hash().to_vec())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deletes expired sessions and login attempts older than `keep_secs`; returns the rows
    /// removed.
    pub async fn purge_sessions(&self, now: Timestamp, keep_secs: i64) -> Result<u64> {
        let sessions = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
            .bind(now.0)
            .execute(&self.pool)
            .await?
            .rows_affected();
        let attempts = sqlx::query("DELETE FROM login_attempts WHERE at < $1")
            .bind(now.0 - keep_secs)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(sessions + attempts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(valid_username("wang.li-01"));
        assert!(!valid_username(""));
        assert!(!valid_username("王丽"));
        assert!(!valid_username("a b"));
        assert!(!valid_username(&"a".repeat(65)));
    }

    #[test]
    fn roles_are_stored_sorted() {
        assert_eq!(
            roles_text(&[Role::Reviewer, Role::Caseworker, Role::Reviewer]),
            "caseworker,reviewer"
        );
    }
}
