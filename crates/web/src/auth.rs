//! Sign-in, sessions and CSRF protection.
//!
//! A session is a random token in an HTTP-only, SameSite=Strict cookie (`Secure` unless the
//! server is configured for plain loopback HTTP); the store keeps only its hash. Every form
//! carries a CSRF token derived from the session token, so a page from another site can neither
//! read nor forge it. The sign-in form, which has no session yet, uses a double-submit cookie.
//! Login throttling lives in the store.

use crate::AppState;
use crate::error::WebError;
use crate::i18n::Lang;
use crate::page::Viewer;
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use store::privacy::password::SessionToken;
use store::{Role, Scope, User};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "jz_session";
/// The sign-in form's double-submit cookie.
pub const LOGIN_COOKIE: &str = "jz_login";

/// The value of cookie `name` in a request's headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value for a cookie only the server reads.
pub fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The CSRF token that belongs to a session token.
pub fn csrf_for(token: &str) -> String {
    let digest = Sha256::digest(format!("jiuzhu-csrf:{token}").as_bytes());
    hex::encode(&digest[..16])
}

/// Compares two tokens in time independent of where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The display preferences every request carries in cookies.
pub fn preferences(headers: &HeaderMap) -> (Lang, bool) {
    (
        Lang::from_code(cookie(headers, "lang")),
        cookie(headers, "large") == Some("1"),
    )
}

/// A signed-in user, extracted from the session cookie; requests without a valid session are
/// sent to the sign-in page.
pub struct Signed {
    /// The user.
    pub user: User,
    /// The user's scope (roles × region) for every store call.
    pub scope: Scope,
    /// The CSRF token for forms on this user's pages.
    pub csrf: String,
    /// The interface language.
    pub lang: Lang,
    /// Large-text mode.
    pub large_text: bool,
}

impl Signed {
    /// Whether the user has `role`.
    pub fn has(&self, role: Role) -> bool {
        self.user.roles.contains(&role)
    }

    /// Fails with 403 unless the user has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), WebError> {
        if roles.iter().any(|r| self.has(*r)) {
            Ok(())
        } else {
            Err(WebError::Forbidden)
        }
    }

    /// Checks a submitted CSRF token.
    pub fn check_csrf(&self, submitted: &str) -> Result<(), WebError> {
        if same_token(&self.csrf, submitted) {
            Ok(())
        } else {
            Err(WebError::BadRequest(
                "the form has expired; please reload the page".into(),
            ))
        }
    }

    /// What the page shell needs.
    pub fn viewer(&self) -> Viewer {
        let role = self.user.roles.first().map(|r| r.as_str()).unwrap_or("");
        Viewer {
            lang: self.lang,
            large_text: self.large_text,
            user: Some((self.user.username.clone(), role.to_string())),
            nav: navigation(&self.user.roles),
            csrf: self.csrf.clone(),
        }
    }
}

/// The navigation entries a set of roles may use.
pub fn navigation(roles: &[Role]) -> Vec<(&'static str, &'static str)> {
    let has = |r: &[Role]| roles.iter().any(|x| r.contains(x));
    let mut nav = Vec::new();
    if has(&[
        Role::Caseworker,
        Role::Reviewer,
        Role::Approver,
        Role::Administrator,
    ]) {
        nav.push(("nav.tasks", "/tasks"));
    }
    if has(&[
        Role::Analyst,
        Role::Reviewer,
        Role::Approver,
        Role::Administrator,
        Role::Auditor,
    ]) {
        nav.push(("nav.dashboard", "/dashboard"));
        nav.push(("nav.map", "/map"));
    }
    if has(&[Role::Auditor]) {
        nav.push(("nav.ledger", "/audit"));
    }
    nav
}

impl Signed {
    /// The user of a session token (from the cookie or an `Authorization: Bearer` header),
    /// with the display preferences of the request.
    pub async fn from_token(
        state: &AppState,
        token: &str,
        headers: &HeaderMap,
    ) -> Result<Signed, WebError> {
        let session = SessionToken::from_client(token);
        let user = state
            .store()
            .session(&session, state.now())
            .await
            .map_err(WebError::from)?
            .ok_or(WebError::Unauthorized)?;
        let scope = user.scope().map_err(WebError::from)?;
        let (lang, large_text) = preferences(headers);
        Ok(Signed {
            csrf: csrf_for(token),
            user,
            scope,
            lang,
            large_text,
        })
    }
}

impl FromRequestParts<AppState> for Signed {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or(WebError::Unauthorized)?;
        Signed::from_token(state, token, &parts.headers).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_and_tokens() {
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::COOKIE,
            "a=1; jz_session=abc; lang=en".parse().unwrap(),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "lang"), Some("en"));
        assert_eq!(cookie(&headers, "b"), None);
        assert_eq!(preferences(&headers), (Lang::En, false));
        assert_ne!(csrf_for("abc"), csrf_for("abd"));
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "ab"));
        let set = set_cookie(SESSION_COOKIE, "v", 60, true);
        assert!(
            set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.ends_with("Secure")
        );
    }

    #[test]
    fn navigation_follows_roles() {
        assert!(
            navigation(&[Role::Caseworker])
                .iter()
                .any(|(_, h)| *h == "/tasks")
        );
        assert!(
            !navigation(&[Role::Caseworker])
                .iter()
                .any(|(_, h)| *h == "/dashboard")
        );
        assert!(
            navigation(&[Role::Analyst])
                .iter()
                .any(|(_, h)| *h == "/dashboard")
        );
        assert!(
            !navigation(&[Role::Analyst])
                .iter()
                .any(|(_, h)| *h == "/tasks")
        );
    }
}
