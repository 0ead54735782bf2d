//! The one error type of the web layer, mapped to status codes. Internal errors are logged with
//! a request number and never rendered: the page shows only the number.

use crate::i18n::Lang;
use crate::page;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;
use std::sync::atomic::{AtomicU64, Ordering};

/// What went wrong while answering a request.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// No such thing, or not in the user's scope (the two are deliberately indistinguishable).
    #[error("not found")]
    NotFound,
    /// The user's role may not do this.
    #[error("forbidden")]
    Forbidden,
    /// Not signed in.
    #[error("not signed in")]
    Unauthorized,
    /// The request is malformed; the message is safe to show (it carries no personal data).
    #[error("bad request: {0}")]
    BadRequest(String),
    /// Too many attempts.
    #[error("too many requests")]
    TooMany,
    /// Anything else. Logged with a request number, never shown.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<store::StoreError> for WebError {
    fn from(error: store::StoreError) -> WebError {
        use store::StoreError as E;
        match error {
            E::NotFound => WebError::NotFound,
            E::Forbidden => WebError::Forbidden,
            E::InvalidTransition { from, to } => {
                WebError::BadRequest(format!("a task cannot go from {from} to {to}"))
            }
            E::Invalid(why) => WebError::BadRequest(why.to_string()),
            E::Conflict(what) => WebError::BadRequest(format!("already exists: {what}")),
            other => WebError::Internal(other.to_string()),
        }
    }
}

static REQUEST_NUMBER: AtomicU64 = AtomicU64::new(1);

tokio::task_local! {
    /// The language of the request being answered (set by [`crate::pages::preferences`]), for
    /// error pages rendered far from the user's preferences; Chinese outside a request.
    pub(crate) static REQUEST_LANG: Lang;
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let lang = REQUEST_LANG.try_with(|l| *l).unwrap_or(Lang::Zh);
        let (status, message, number) = match &self {
            WebError::NotFound => (StatusCode::NOT_FOUND, lang.t("error.not_found"), None),
            WebError::Forbidden => (StatusCode::FORBIDDEN, lang.t("error.forbidden"), None),
            WebError::Unauthorized => {
                return (
                    StatusCode::SEE_OTHER,
                    [(axum::http::header::LOCATION, "/login")],
                )
                    .into_response();
            }
            WebError::BadRequest(_) => (StatusCode::BAD_REQUEST, lang.t("error.bad_request"), None),
            WebError::TooMany => (
                StatusCode::TOO_MANY_REQUESTS,
                lang.t("error.too_many"),
                None,
            ),
            WebError::Internal(detail) => {
                let n = REQUEST_NUMBER.fetch_add(1, Ordering::Relaxed);
                tracing::error!(request = n, %detail, "internal error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    lang.t("error.internal"),
                    Some(n),
                )
            }
        };
        let body = page::bare(
            lang,
            message,
            html! {
                h1 { (message) }
                @if let Some(n) = number { p { code { (n) } } }
                @if let WebError::BadRequest(why) = &self { p { (why) } }
            },
        );
        (status, body).into_response()
    }
}
