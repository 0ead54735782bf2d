//! The department exchange API: machine accounts deliver batches (the files of exchange.md as
//! a `multipart/form-data` upload) and events (exchange.md §3), and get a receipt for each —
//! the content hash and the ledger entry that records it.
//!
//! Every request carries `Authorization: Bearer <API key>`; the store keeps only the key's
//! hash. An account may send only its feeds, at most its rate of requests per minute, and
//! bodies up to its maximum size; everything is checked before anything is stored. Batches go
//! through the same importer as `jiuzhu import` into the lake (atomic, idempotent by content);
//! events through `exchange::Event::parse`, the same validation as a file row, idempotent by
//! `event_id`. Answers are JSON: `{"error": code, "message": …}` with a status that says what
//! to do (401 key, 403 feed, 413 size, 429 rate, 400/422 content, 409 reused `event_id`).
//! Messages name columns and reason codes, never values.

use crate::AppState;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use store::{Department, StoreError};

/// What the exchange API needs besides the store: the data directory of the lake, and each
/// account's requests in the current minute.
#[derive(Debug)]
pub struct Exchange {
    data_dir: PathBuf,
    window: Mutex<HashMap<i64, (i64, u32)>>,
}

impl Exchange {
    /// The exchange API over the lake in `data_dir`.
    pub fn new(data_dir: PathBuf) -> Exchange {
        Exchange {
            data_dir,
            window: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request of `account` at `now` (Unix seconds); false when over `per_minute`.
    fn admit(&self, account: i64, per_minute: u32, now: i64) -> bool {
        let minute = now.div_euclid(60);
        let mut window = match self.window.lock() {
            Ok(w) => w,
            Err(poisoned) => poisoned.into_inner(),
        };
        let slot = window.entry(account).or_insert((minute, 0));
        if slot.0 != minute {
            *slot = (minute, 0);
        }
        if slot.1 >= per_minute {
            return false;
        }
        slot.1 += 1;
        true
    }
}

/// The exchange routes, merged into the application's router.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/exchange/v1/events", post(event))
        .route("/exchange/v1/batches", post(batch))
}

/// A refusal, as JSON.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
}

fn refuse(status: StatusCode, code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError {
        status,
        code,
        message: message.into(),
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({"error": self.code, "message": self.message});
        (self.status, axum::Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::Forbidden => refuse(
                StatusCode::FORBIDDEN,
                "feed_not_allowed",
                "this account may not send this feed",
            ),
            StoreError::Conflict(what) => refuse(
                StatusCode::CONFLICT,
                "event_id_reused",
                format!("already received: {what}"),
            ),
            StoreError::Invalid(why) => refuse(StatusCode::BAD_REQUEST, "invalid", why),
            other => {
                tracing::error!(detail = %other, "exchange API storage error");
                refuse(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the platform could not store this; send it again later",
                )
            }
        }
    }
}

/// The account of the request's API key, admitted by its rate limit.
async fn account(state: &AppState, headers: &HeaderMap) -> Result<Department, ApiError> {
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| {
            refuse(
                StatusCode::UNAUTHORIZED,
                "no_key",
                "send the account's API key as `Authorization: Bearer KEY`",
            )
        })?;
    let department = state.store().department_by_key(key).await?.ok_or_else(|| {
        refuse(
            StatusCode::UNAUTHORIZED,
            "wrong_key",
            "the API key is not valid (wrong, or the account is disabled)",
        )
    })?;
    let exchange = state.exchange().ok_or_else(|| {
        refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_configured",
            "this server accepts no deliveries (no data directory)",
        )
    })?;
    if !exchange.admit(department.id, department.rate_per_minute, state.now().0) {
        return Err(refuse(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!(
                "at most {} requests per minute for this account",
                department.rate_per_minute
            ),
        ));
    }
    Ok(department)
}

/// The body, refused whole when larger than the account allows.
async fn read_body(body: Body, department: &Department) -> Result<Vec<u8>, ApiError> {
    let limit = usize::try_from(department.max_upload_bytes).unwrap_or(usize::MAX);
    axum::body::to_bytes(body, limit)
        .await
        .map(|b| b.to_vec())
        .map_err(|_| {
            refuse(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!(
                    "the body is larger than this account's limit of {} bytes",
                    department.max_upload_bytes
                ),
            )
        })
}

/// `POST /exchange/v1/events`: one event as JSON.
pub async fn event(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let department = account(&state, &headers).await?;
    let bytes = read_body(body, &department).await?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| refuse(StatusCode::BAD_REQUEST, "malformed_event", "not UTF-8 text"))?;
    // The feed first: a feed the account may not send is refused whatever the row holds.
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text)
        && let Some(feed) = value
            .get("feed")
            .and_then(|f| f.as_str())
            .and_then(exchange::Feed::parse)
        && !department.may_send(feed.as_str())
    {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "feed_not_allowed",
            format!("this account may not send the feed {}", feed.as_str()),
        ));
    }
    let event = exchange::Event::parse(text).map_err(|error| match error {
        exchange::EventError::Rejected(_) => refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "rejected",
            error.to_string(),
        ),
        other => refuse(
            StatusCode::BAD_REQUEST,
            "malformed_event",
            other.to_string(),
        ),
    })?;
    let feed = event.row.feed().as_str();
    if !department.may_send(feed) {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "feed_not_allowed",
            format!("this account may not send the feed {feed}"),
        ));
    }
    // Canonical JSON (keys sorted) so that the same event hashes the same however it is spaced.
    let canonical = serde_json::from_str::<serde_json::Value>(text)
        .and_then(|v| serde_json::to_string(&v))
        .map_err(|e| refuse(StatusCode::BAD_REQUEST, "malformed_event", e.to_string()))?;
    let receipt = state
        .store()
        .record_event(&department, &event.event_id, feed, &canonical, state.now())
        .await?;
    let status = if receipt.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let body = serde_json::json!({
        "event_id": event.event_id,
        "feed": feed,
        "content_hash": receipt.content_hash,
        "ledger_index": receipt.ledger_index,
        "duplicate": receipt.duplicate,
    });
    Ok((status, axum::Json(body)).into_response())
}

/// `POST /exchange/v1/batches`: the files of one batch as `multipart/form-data` (each part's
/// file name is the file's name in the batch folder: `population.csv`, `batch.toml`, …).
pub async fn batch(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let department = account(&state, &headers).await?;
    let bytes = read_body(body, &department).await?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let files = parse_multipart(content_type, &bytes).ok_or_else(|| {
        refuse(
            StatusCode::BAD_REQUEST,
            "malformed_upload",
            "expected multipart/form-data with one file per part",
        )
    })?;
    if files.is_empty() {
        return Err(refuse(StatusCode::BAD_REQUEST, "empty_batch", "no files"));
    }
    let mut seen = Vec::new();
    for (name, _) in &files {
        if !safe_file_name(name) || seen.contains(name) {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "bad_file_name",
                "file names are unique and use letters, digits, '.', '_' and '-'",
            ));
        }
        seen.push(name.clone());
        if name == "batch.toml" {
            continue;
        }
        let stem = name.rsplit_once('.').map(|(s, _)| s).unwrap_or(name);
        let Some(feed) = exchange::Feed::parse(stem) else {
            return Err(refuse(
                StatusCode::BAD_REQUEST,
                "unknown_feed",
                format!("{name} is not a feed file of the exchange contract"),
            ));
        };
        if !department.may_send(feed.as_str()) {
            return Err(refuse(
                StatusCode::FORBIDDEN,
                "feed_not_allowed",
                format!("this account may not send the feed {}", feed.as_str()),
            ));
        }
    }
    let exchange = state
        .exchange()
        .ok_or_else(|| refuse(StatusCode::SERVICE_UNAVAILABLE, "not_configured", "no lake"))?;
    let data_dir = exchange.data_dir.clone();
    let imported_at = state.now().0;
    let report = tokio::task::spawn_blocking(move || import(&data_dir, files, imported_at))
        .await
        .map_err(|e| internal(&e.to_string()))??;
    let manifest = std::fs::read(report.batch.dir.join("manifest.json"))
        .map_err(|e| internal(&e.to_string()))?;
    let receipt = state
        .store()
        .record_department_batch(
            &department,
            &report.batch.manifest.batch_id,
            &manifest,
            state.now(),
        )
        .await?;
    let m = &report.batch.manifest;
    let body = serde_json::json!({
        "batch_id": m.batch_id,
        "content_hash": receipt.content_hash,
        "ledger_index": receipt.ledger_index,
        "duplicate": receipt.duplicate,
        "feeds": m.feeds,
        "refused_files": m.refused,
    });
    let status = if receipt.duplicate {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, axum::Json(body)).into_response())
}

fn internal(detail: &str) -> ApiError {
    tracing::error!(%detail, "exchange API import error");
    refuse(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "the batch could not be imported; send it again later",
    )
}

/// Writes the files into a fresh folder, imports it into the lake, and removes the folder.
fn import(
    data_dir: &Path,
    files: Vec<(String, Vec<u8>)>,
    imported_at: i64,
) -> Result<exchange::ImportReport, ApiError> {
    let incoming = data_dir
        .join("exchange")
        .join("incoming")
        .join(store::privacy::password::SessionToken::generate().expose());
    std::fs::create_dir_all(&incoming).map_err(|e| internal(&e.to_string()))?;
    let result = (|| {
        for (name, content) in &files {
            std::fs::write(incoming.join(name), content).map_err(|e| internal(&e.to_string()))?;
        }
        let options = exchange::ImportOptions {
            imported_at: Some(imported_at.to_string()),
            ..Default::default()
        };
        exchange::import_batch(&incoming, data_dir, &options).map_err(|e| match e {
            exchange::ImportError::BatchToml(why) => {
                refuse(StatusCode::BAD_REQUEST, "bad_batch_toml", why)
            }
            other => internal(&other.to_string()),
        })
    })();
    let _ = std::fs::remove_dir_all(&incoming);
    result
}

fn safe_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() || from > haystack.len() {
        return None;
    }
    haystack[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// The file parts of a `multipart/form-data` body (RFC 7578): (file name, content). `None`
/// when the body is not well-formed or a part has no file name.
pub fn parse_multipart(content_type: &str, body: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    let boundary = params.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.eq_ignore_ascii_case("boundary")
            .then(|| v.trim_matches('"').to_string())
    })?;
    if boundary.is_empty() || boundary.len() > 70 {
        return None;
    }
    let delimiter = format!("--{boundary}").into_bytes();
    let mut position = find(body, &delimiter, 0)? + delimiter.len();
    let mut parts = Vec::new();
    loop {
        if body.get(position..position + 2) == Some(b"--") {
            return Some(parts);
        }
        if body.get(position..position + 2) != Some(b"\r\n") {
            return None;
        }
        let headers_start = position + 2;
        let headers_end = find(body, b"\r\n\r\n", headers_start)?;
        let headers = std::str::from_utf8(&body[headers_start..headers_end]).ok()?;
        let mut closing = b"\r\n".to_vec();
        closing.extend_from_slice(&delimiter);
        let content_end = find(body, &closing, headers_end + 4)?;
        let filename = headers.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            if !name.trim().eq_ignore_ascii_case("content-disposition") {
                return None;
            }
            value.split(';').find_map(|p| {
                let (k, v) = p.trim().split_once('=')?;
                (k == "filename").then(|| v.trim_matches('"').to_string())
            })
        })?;
        parts.push((filename, body[headers_end + 4..content_end].to_vec()));
        position = content_end + closing.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_bodies_parse_or_are_refused() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"medical.csv\"\r\nContent-Type: text/csv\r\n\r\na,b\r\n1,2\r\n--XyZ\r\nContent-Disposition: form-data; name=\"g\"; filename=\"batch.toml\"\r\n\r\nsource = \"x\"\r\n--XyZ--\r\n";
        let parts = parse_multipart("multipart/form-data; boundary=XyZ", body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].0, "medical.csv");
        assert_eq!(parts[0].1, b"a,b\r\n1,2");
        assert_eq!(
            parts[1],
            ("batch.toml".to_string(), b"source = \"x\"".to_vec())
        );
        assert!(parse_multipart("application/json", body).is_none());
        assert!(parse_multipart("multipart/form-data; boundary=Other", body).is_none());
        assert!(parse_multipart("multipart/form-data; boundary=XyZ", &body[..40]).is_none());
        let unnamed = b"--B\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nx\r\n--B--";
        assert!(parse_multipart("multipart/form-data; boundary=B", unnamed).is_none());
    }

    #[test]
    fn rate_limits_count_per_account_and_minute() {
        let exchange = Exchange::new(PathBuf::from("unused"));
        assert!(exchange.admit(1, 2, 60));
        assert!(exchange.admit(1, 2, 61));
        assert!(!exchange.admit(1, 2, 62));
        assert!(
            exchange.admit(2, 2, 62),
            "another account has its own count"
        );
        assert!(exchange.admit(1, 2, 120), "a new minute starts afresh");
    }

    #[test]
    fn file_names_stay_in_their_folder() {
        assert!(safe_file_name("medical.csv"));
        for bad in ["../x.csv", "a/b.csv", ".hidden", "", "名.csv"] {
            assert!(!safe_file_name(bad), "{bad}");
        }
    }
}
