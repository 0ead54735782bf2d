//! The JSON API under `/api/v1`: tasks, households, decisions and dashboards, with the same
//! access rules as the pages (the same handlers' checks and the same store scoping), described
//! by the OpenAPI 3.1 document at `/api/openapi.json` (`openapi.rs`).
//!
//! Authentication: `POST /api/v1/session` with a user name and password returns a session
//! token to send as `Authorization: Bearer <token>`. A browser's session cookie is accepted too;
//! then every write must carry the session's CSRF token in an `X-CSRF-Token` header (the token
//! is in `GET /api/v1/session`), since a browser attaches cookies to requests other sites make.
//! A bearer token is never attached by a browser, so bearer requests need no CSRF token.
//!
//! Errors are JSON `{"error": code}` with the status the pages use, except that a missing or
//! expired session is `401` (the pages redirect to the sign-in form). Money is integer fen.

use crate::AppState;
use crate::auth::{SESSION_COOKIE, Signed, cookie, same_token};
use crate::error::WebError;
use crate::pages::{dashboard, household, tasks};
use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use store::privacy::mask;
use store::privacy::password::SessionToken;
use store::{LoginOutcome, Task, TaskState};

/// The API's routes (merged into the application's router).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", get(openapi))
        .route(
            "/api/v1/session",
            get(session).post(sign_in).delete(sign_out),
        )
        .route("/api/v1/tasks", get(task_list))
        .route("/api/v1/tasks/{id}", get(task_detail))
        .route("/api/v1/tasks/{id}/verify", post(verify))
        .route("/api/v1/tasks/{id}/decide", post(decide))
        .route("/api/v1/tasks/{id}/dismiss", post(dismiss))
        .route("/api/v1/households/{id}", get(household_detail))
        .route("/api/v1/dashboard", get(overview))
        .route("/api/v1/dashboard/trends", get(trends))
        .route("/api/v1/dashboard/warnings", get(warnings))
        .route("/api/v1/{*rest}", axum::routing::any(no_such_endpoint))
}

/// An error of the API, rendered as JSON.
pub struct ApiError(WebError);

impl From<WebError> for ApiError {
    fn from(e: WebError) -> ApiError {
        ApiError(e)
    }
}

impl From<store::StoreError> for ApiError {
    fn from(e: store::StoreError) -> ApiError {
        ApiError(WebError::from(e))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> ApiError {
        ApiError(WebError::BadRequest(e.body_text()))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if matches!(self.0, WebError::Internal(_)) {
            // Logged with a request number by the page error's renderer; only the status is
            // kept.
            let status = self.0.into_response().status();
            return (status, Json(json!({ "error": "internal" }))).into_response();
        }
        let (status, code) = match &self.0 {
            WebError::NotFound => (StatusCode::NOT_FOUND, "not_found"),
            WebError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
            WebError::Unauthorized => (StatusCode::UNAUTHORIZED, "unauthorized"),
            WebError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            WebError::TooMany => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            WebError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        };
        let mut body = json!({ "error": code });
        if let WebError::BadRequest(why) = &self.0 {
            body["message"] = Value::String(why.clone());
        }
        (status, Json(body)).into_response()
    }
}

type ApiResult = Result<Response, ApiError>;

fn ok(value: Value) -> ApiResult {
    Ok(Json(value).into_response())
}

/// A user of the API: signed in by a bearer token or by the session cookie (then writes need
/// the CSRF header).
pub struct ApiUser(pub Signed);

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        if let Some(token) = bearer {
            return Ok(ApiUser(
                Signed::from_token(state, token, &parts.headers).await?,
            ));
        }
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or(WebError::Unauthorized)?;
        let signed = Signed::from_token(state, token, &parts.headers).await?;
        if parts.method != Method::GET && parts.method != Method::HEAD {
            let sent = parts
                .headers
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if !same_token(&signed.csrf, sent) {
                return Err(WebError::BadRequest("missing or wrong X-CSRF-Token".into()).into());
            }
        }
        Ok(ApiUser(signed))
    }
}

async fn openapi() -> Response {
    (
        [(header::CACHE_CONTROL, "public, max-age=3600")],
        Json(crate::openapi::document()),
    )
        .into_response()
}

async fn no_such_endpoint() -> ApiError {
    ApiError(WebError::NotFound)
}

fn user_json(user: &Signed) -> Value {
    json!({
        "username": user.user.username,
        "roles": user.user.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
        "region": user.scope.region_prefix(),
    })
}

async fn session(ApiUser(user): ApiUser) -> ApiResult {
    ok(json!({ "user": user_json(&user), "csrf": user.csrf }))
}

#[derive(serde::Deserialize)]
struct Credentials {
    username: String,
    password: String,
}

async fn sign_in(
    State(state): State<AppState>,
    body: Result<Json<Credentials>, JsonRejection>,
) -> ApiResult {
    let Json(c) = body?;
    let rules = store::LoginRules::default();
    match state
        .store()
        .login(&c.username, &c.password, &rules, state.now())
        .await?
    {
        LoginOutcome::Success { token, .. } => {
            let headers = HeaderMap::new();
            let user = Signed::from_token(&state, token.expose(), &headers).await?;
            ok(json!({
                "token": token.expose(),
                "expires_in": rules.session_secs,
                "user": user_json(&user),
            }))
        }
        LoginOutcome::Denied => Err(WebError::Unauthorized.into()),
        LoginOutcome::Throttled => Err(WebError::TooMany.into()),
    }
}

async fn sign_out(State(state): State<AppState>, headers: HeaderMap, _user: ApiUser) -> ApiResult {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .or_else(|| cookie(&headers, SESSION_COOKIE));
    if let Some(token) = token {
        state
            .store()
            .logout(&SessionToken::from_client(token))
            .await?;
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn task_json(task: &Task, today: domain::Date) -> Value {
    json!({
        "id": task.id,
        "household_id": task.household_id,
        "region_code": task.region_code.as_str(),
        "signal": task.signal,
        "level": task.level.as_str(),
        "state": task.state.as_str(),
        "assignee": task.assignee,
        "due_date": task.due_date.to_string(),
        "created_on": task.created_on.to_string(),
        "overdue": tasks::is_overdue(task, today),
    })
}

async fn task_list(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Query(filter): Query<tasks::QueueFilter>,
) -> ApiResult {
    let queue = tasks::queue_of(&state, &user, &filter).await?;
    let today = state.today();
    ok(json!({
        "tasks": queue.tasks.iter().map(|t| task_json(t, today)).collect::<Vec<_>>(),
        "total": queue.total,
        "page": queue.page,
        "pages": queue.pages(),
        "per_page": tasks::PAGE_SIZE,
    }))
}

async fn task_detail(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
) -> ApiResult {
    user.require(tasks::CASEWORK)?;
    let store = state.store();
    let task = store
        .task(&user.scope, id)
        .await?
        .ok_or(WebError::NotFound)?;
    let history = store
        .task_history(&user.scope, id)
        .await?
        .unwrap_or_default();
    let mut value = task_json(&task, state.today());
    value["history"] = history
        .iter()
        .map(|e| {
            json!({
                "at": e.at.0,
                "actor": e.actor,
                "from": e.from.map(TaskState::as_str),
                "to": e.to.as_str(),
                "action": e.action,
            })
        })
        .collect();
    ok(value)
}

#[derive(serde::Deserialize)]
struct VerifyBody {
    note: String,
}

async fn verify(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    body: Result<Json<VerifyBody>, JsonRejection>,
) -> ApiResult {
    let Json(body) = body?;
    let task = tasks::verify_task(&state, &user, id, &body.note).await?;
    ok(task_json(&task, state.today()))
}

#[derive(serde::Deserialize)]
struct DecideBody {
    outcome: String,
    reason: String,
    #[serde(default)]
    items: Vec<String>,
}

async fn decide(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    body: Result<Json<DecideBody>, JsonRejection>,
) -> ApiResult {
    let Json(body) = body?;
    let d = tasks::decide_task(&state, &user, id, &body.outcome, &body.reason, body.items).await?;
    ok(json!({
        "decision": {
            "id": d.id,
            "task_id": d.task_id,
            "outcome": d.outcome,
            "package_items": d.package_items,
            "decided_at": d.decided_at.0,
        }
    }))
}

#[derive(serde::Deserialize)]
struct DismissBody {
    reason: String,
}

async fn dismiss(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<i64>,
    body: Result<Json<DismissBody>, JsonRejection>,
) -> ApiResult {
    let Json(body) = body?;
    let task = tasks::dismiss_task(&state, &user, id, &body.reason).await?;
    ok(task_json(&task, state.today()))
}

async fn household_detail(
    State(state): State<AppState>,
    ApiUser(user): ApiUser,
    Path(id): Path<String>,
) -> ApiResult {
    user.require(household::READERS)?;
    let store = state.store();
    let report = store
        .household_report(&user.scope, &id, None)
        .await?
        .ok_or(WebError::NotFound)?;
    let members = store
        .household_members(&user.scope, &id)
        .await?
        .unwrap_or_default();
    let history = store.profile_history(&user.scope, &id).await?;
    let decisions = store.decisions(&user.scope, &id).await?;
    let p = &report.profile;
    ok(json!({
        "household_id": p.household_id,
        "region_code": p.region_code.as_str(),
        "run_id": report.run_id,
        "as_of": report.as_of.to_string(),
        "size": p.size,
        "tier": p.tier.as_str(),
        "level": p.level.as_str(),
        "score": p.score,
        "per_capita_income_fen": p.per_capita_income.0,
        "dibao_amount_fen": p.dibao_amount.0,
        "tags": p.tags,
        "explanation": p.explanation,
        "members": members.iter().map(|m| json!({
            "name": mask::name(m.name.expose()),
            "person_id": m.person_id.masked(),
            "relation": m.relation.as_str(),
            "birth_year": m.birth_year,
        })).collect::<Vec<_>>(),
        "persons": report.persons.iter().map(|r| json!({
            "person_id": r.person_id.masked(),
            "status": r.status,
            "amount_fen": r.amount.0,
            "care_level": r.care_level,
        })).collect::<Vec<_>>(),
        "warnings": report.warnings.iter().map(|w| json!({
            "signal": w.signal,
            "level": w.level.as_str(),
            "detected_at": w.detected_at.to_string(),
        })).collect::<Vec<_>>(),
        "anomalies": report.anomalies.iter().map(|a| json!({
            "kind": a.kind.as_str(),
            "program": a.program.as_str(),
            "reasons": a.reasons,
        })).collect::<Vec<_>>(),
        "recommendations": report.recommendations.iter().map(|r| json!({
            "kind": r.kind,
            "item": r.item,
            "amount_fen": r.amount.map(|a| a.0),
            "reason": r.reason,
        })).collect::<Vec<_>>(),
        "history": history.iter().map(|h| json!({
            "run_id": h.run_id,
            "as_of": h.as_of.to_string(),
            "tier": h.tier.as_str(),
            "score": h.score,
            "level": h.level.as_str(),
        })).collect::<Vec<_>>(),
        "decisions": decisions.iter().map(|d| json!({
            "id": d.id,
            "task_id": d.task_id,
            "outcome": d.outcome,
            "reason": d.reason.expose(),
            "package_items": d.package_items,
            "decided_at": d.decided_at.0,
        })).collect::<Vec<_>>(),
    }))
}

fn groups(rows: &[store::reports::GroupCount]) -> Value {
    rows.iter()
        .map(|g| json!({ "key": g.key, "households": g.households, "persons": g.persons }))
        .collect()
}

fn areas(rows: &[store::reports::AreaFigures]) -> Value {
    rows.iter()
        .map(|a| {
            json!({
                "region": a.prefix,
                "households": a.households,
                "persons": a.persons,
                "covered": a.covered,
                "coverage_per_mille": a.coverage_per_mille(),
                "warned": a.warned,
            })
        })
        .collect()
}

async fn overview(State(state): State<AppState>, ApiUser(user): ApiUser) -> ApiResult {
    let Some(o) = dashboard::overview(&state, &user).await? else {
        return ok(json!({ "run": null }));
    };
    ok(json!({
        "run": { "run_id": o.run.run_id, "as_of": o.run.as_of.to_string() },
        "by_tier": groups(&o.tiers),
        "by_level": groups(&o.levels),
        "by_county": areas(&o.counties),
        "by_township": areas(&o.townships),
        "by_age": groups(&o.ages),
        "by_tag": groups(&o.tags),
    }))
}

async fn trends(State(state): State<AppState>, ApiUser(user): ApiUser) -> ApiResult {
    let (points, spending) = dashboard::trend_figures(&state, &user).await?;
    ok(json!({
        "runs": points.iter().map(|p| json!({
            "run_id": p.run_id,
            "as_of": p.as_of.to_string(),
            "households": p.households,
            "warned": p.warned,
            "by_tier": p.by_tier.iter().map(|(t, n)| (t.as_str().to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
        })).collect::<Vec<_>>(),
        "spending": spending.iter().map(|s| json!({
            "run_id": s.run_id,
            "as_of": s.as_of.to_string(),
            "program": s.program,
            "recipients": s.recipients,
            "amount_fen": s.amount.0,
        })).collect::<Vec<_>>(),
    }))
}

async fn warnings(State(state): State<AppState>, ApiUser(user): ApiUser) -> ApiResult {
    user.require(dashboard::READERS)?;
    let today = state.today();
    let figures = state.store().warning_figures(&user.scope, today).await?;
    ok(json!({
        "as_of": today.to_string(),
        "warnings": figures.iter().map(|f| json!({
            "signal": f.signal,
            "level": f.level.as_str(),
            "handling": f.handling.as_str(),
            "count": f.count,
        })).collect::<Vec<_>>(),
    }))
}
