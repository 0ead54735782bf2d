//! The audit log for auditors: a page that browses the ledger (entries hold no personal data;
//! subjects and data are shown as hash prefixes), signs and exports tree heads, and JSON
//! endpoints an outside auditor checks with any RFC 9162 implementation — the current head, the
//! published heads, an entry with its inclusion proof, a consistency proof between two sizes.
//! Auditor role only.

use crate::AppState;
use crate::auth::Signed;
use crate::error::WebError;
use crate::page::shell;
use crate::pages::household;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use maud::{Markup, html};
use serde::Deserialize;
use store::Role;
use store::ledger::Record;

/// Entries per page of the log.
const PAGE: u64 = 50;

/// The audit routes, merged into the application's router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/audit", get(log))
        .route("/audit/heads", post(publish))
        .route("/audit/heads.json", get(heads_download))
        .route("/audit/api/head", get(api_head))
        .route("/audit/api/heads", get(api_heads))
        .route("/audit/api/entries", get(api_entries))
        .route("/audit/api/entries/{index}", get(api_entry))
        .route("/audit/api/consistency", get(api_consistency))
        .route("/households/{id}/reveal", post(household::reveal))
}

fn auditor(user: &Signed) -> Result<(), WebError> {
    user.require(&[Role::Auditor])
}

/// `?from=` of the log page and the entry list.
#[derive(Deserialize)]
pub struct Page {
    from: Option<u64>,
    limit: Option<u64>,
}

/// The first 12 hexadecimal digits of a digest.
fn short(hex: &str) -> &str {
    hex.get(..12).unwrap_or(hex)
}

/// An instant in milliseconds as `YYYY-MM-DD HH:MM:SS` UTC.
fn instant(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rest = secs.rem_euclid(86_400);
    let date = domain::Date::from_days(i32::try_from(days).unwrap_or(0));
    format!(
        "{date} {:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

fn subject(record: &Record) -> String {
    match record.entry.subject {
        store::ledger::SubjectRef::Household(n) => format!("#{n}"),
        store::ledger::SubjectRef::Hashed(d) => short(&d.to_hex()).to_string(),
    }
}

/// `GET /audit`: the log, newest page last, with the published heads and a form to sign one.
pub async fn log(
    State(state): State<AppState>,
    user: Signed,
    Query(query): Query<Page>,
) -> Result<Markup, WebError> {
    auditor(&user)?;
    let lang = user.lang;
    let store = state.store();
    let size = store.ledger_size(&user.scope).await?;
    let from = query
        .from
        .unwrap_or_else(|| size.saturating_sub(PAGE))
        .min(size);
    let records = store.ledger_entries(&user.scope, from, PAGE).await?;
    let heads = store.ledger_heads(&user.scope).await?;
    let body = html! {
        h1 { (lang.t("audit.title")) }
        p { (lang.t("audit.size")) ": " strong id="ledger-size" { (size) } }
        nav class="pager" {
            @if from > 0 { a href={"/audit?from=" (from.saturating_sub(PAGE))} { (lang.t("audit.earlier")) } " " }
            @if from + PAGE < size { a href={"/audit?from=" (from + PAGE)} { (lang.t("audit.later")) } }
        }
        table {
            thead { tr {
                th scope="col" { "#" }
                th scope="col" { (lang.t("audit.at")) }
                th scope="col" { (lang.t("audit.actor")) }
                th scope="col" { (lang.t("audit.role")) }
                th scope="col" { (lang.t("audit.region")) }
                th scope="col" { (lang.t("audit.action")) }
                th scope="col" { (lang.t("audit.purpose")) }
                th scope="col" { (lang.t("audit.case")) }
                th scope="col" { (lang.t("audit.subject")) }
                th scope="col" { (lang.t("audit.data")) }
            } }
            tbody {
                @for r in &records {
                    tr {
                        td class="num" { a href={"/audit/api/entries/" (r.index)} { (r.index) } }
                        td { (instant(r.entry.at.0)) }
                        td class="num" { (r.entry.actor.0) }
                        td { (r.entry.role.as_str()) }
                        td { (r.entry.region.as_str()) }
                        td { (r.entry.action.as_str()) }
                        td { (r.entry.purpose.as_str()) }
                        td class="num" { @if let Some(c) = r.entry.case { (c) } }
                        td { code { (subject(r)) } }
                        td { code { (short(&r.entry.data.digest().to_hex())) } }
                    }
                }
            }
        }
        h2 { (lang.t("audit.heads")) }
        p { a href="/audit/heads.json" download="tree-heads.json" { (lang.t("audit.download_heads")) } }
        table {
            tbody {
                @for h in heads.iter().rev().take(10) {
                    tr {
                        td class="num" { (h.head.size) }
                        td { (instant(h.head.timestamp.0)) }
                        td { code { (short(&h.head.root.to_hex())) } }
                        td { (h.public_key.algorithm.as_str()) " " code { (h.public_key.fingerprint()) } }
                    }
                }
            }
        }
        @if state.ledger_key().is_some() {
            form method="post" action="/audit/heads" {
                input type="hidden" name="csrf" value=(user.csrf);
                button type="submit" { (lang.t("audit.sign_head")) }
            }
        } @else {
            p { (lang.t("audit.no_key")) }
        }
    };
    Ok(shell(&user.viewer(), lang.t("audit.title"), body))
}

/// The sign form.
#[derive(Deserialize)]
pub struct PublishForm {
    csrf: String,
}

/// `POST /audit/heads`: signs the current tree head with the server's ledger key.
pub async fn publish(
    State(state): State<AppState>,
    user: Signed,
    Form(form): Form<PublishForm>,
) -> Result<Redirect, WebError> {
    auditor(&user)?;
    user.check_csrf(&form.csrf)?;
    let key = state.ledger_key().ok_or(WebError::BadRequest(
        "this server has no ledger signing key".into(),
    ))?;
    state
        .store()
        .ledger_publish(&user.scope, key, state.now())
        .await?;
    Ok(Redirect::to("/audit"))
}

fn json<T: serde::Serialize>(value: &T) -> Result<Response, WebError> {
    let text =
        serde_json::to_string_pretty(value).map_err(|e| WebError::Internal(e.to_string()))?;
    Ok((
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        text,
    )
        .into_response())
}

/// `GET /audit/heads.json`: every published signed tree head, as a file.
pub async fn heads_download(
    State(state): State<AppState>,
    user: Signed,
) -> Result<Response, WebError> {
    auditor(&user)?;
    let heads = state.store().ledger_heads(&user.scope).await?;
    let mut response = json(&heads)?;
    response.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        header::HeaderValue::from_static("attachment; filename=\"tree-heads.json\""),
    );
    Ok(response)
}

/// `GET /audit/api/head`: the current size and root, and the latest signed head.
pub async fn api_head(State(state): State<AppState>, user: Signed) -> Result<Response, WebError> {
    auditor(&user)?;
    let store = state.store();
    let head = store.ledger_tree_head(&user.scope, state.now()).await?;
    let latest = store.ledger_heads(&user.scope).await?.into_iter().last();
    json(&serde_json::json!({
        "hash_algorithm": head.hash_algorithm.as_str(),
        "size": head.size,
        "root": head.root.to_hex(),
        "signed": latest,
    }))
}

/// `GET /audit/api/heads`: every published signed tree head.
pub async fn api_heads(State(state): State<AppState>, user: Signed) -> Result<Response, WebError> {
    auditor(&user)?;
    json(&state.store().ledger_heads(&user.scope).await?)
}

/// `GET /audit/api/entries?from=&limit=`: decoded entries (at most 1000).
pub async fn api_entries(
    State(state): State<AppState>,
    user: Signed,
    Query(query): Query<Page>,
) -> Result<Response, WebError> {
    auditor(&user)?;
    let limit = query.limit.unwrap_or(PAGE).min(1000);
    let records = state
        .store()
        .ledger_entries(&user.scope, query.from.unwrap_or(0), limit)
        .await?;
    json(&records)
}

/// `?tree_size=` of an entry proof.
#[derive(Deserialize)]
pub struct Size {
    tree_size: Option<u64>,
}

/// `GET /audit/api/entries/{index}?tree_size=`: the entry, its canonical bytes, its inclusion
/// proof and the signed head of that size if one was published.
pub async fn api_entry(
    State(state): State<AppState>,
    user: Signed,
    Path(index): Path<u64>,
    Query(query): Query<Size>,
) -> Result<Response, WebError> {
    auditor(&user)?;
    let proof = state
        .store()
        .ledger_entry_proof(&user.scope, index, query.tree_size)
        .await?;
    json(&proof)
}

/// `?first=&second=` of a consistency proof.
#[derive(Deserialize)]
pub struct Sizes {
    first: u64,
    second: u64,
}

/// `GET /audit/api/consistency?first=&second=`: proof that the tree of `first` entries is a
/// prefix of the tree of `second`.
pub async fn api_consistency(
    State(state): State<AppState>,
    user: Signed,
    Query(query): Query<Sizes>,
) -> Result<Response, WebError> {
    auditor(&user)?;
    let proof = state
        .store()
        .ledger_consistency(&user.scope, query.first, query.second)
        .await?;
    json(&proof)
}
