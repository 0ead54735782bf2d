//! Sign-in and sign-out.

use crate::AppState;
use crate::auth::{LOGIN_COOKIE, SESSION_COOKIE, cookie, preferences, same_token, set_cookie};
use crate::error::WebError;
use crate::page;
use axum::Form;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::html;
use store::LoginOutcome;
use store::privacy::password::SessionToken;

/// The sign-in form's fields.
#[derive(serde::Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    csrf: String,
}

fn render(state: &AppState, headers: &HeaderMap, failed: bool) -> Response {
    let (lang, _) = preferences(headers);
    let token = SessionToken::generate();
    let token = token.expose().to_string();
    let body = page::bare(
        lang,
        lang.t("login.title"),
        html! {
            h1 { (lang.t("app.title")) }
            @if failed { p class="level-red" role="alert" { (lang.t("login.denied")) } }
            form method="post" action="/login" {
                input type="hidden" name="csrf" value=(token);
                label for="username" { (lang.t("login.username")) }
                input id="username" name="username" autocomplete="username" required autofocus;
                label for="password" { (lang.t("login.password")) }
                input id="password" name="password" type="password" autocomplete="current-password" required;
                p { button type="submit" { (lang.t("login.submit")) } }
            }
            p { a href="?lang=en" lang="en" { "English" } " · " a href="?lang=zh" lang="zh-CN" { "中文" } }
        },
    );
    let status = if failed {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let cookie = set_cookie(LOGIN_COOKIE, &token, 3600, state.config().secure_cookies);
    (status, [(header::SET_COOKIE, cookie)], body).into_response()
}

/// `GET /login`.
pub async fn form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    render(&state, &headers, false)
}

/// `POST /login`.
pub async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    let expected = cookie(&headers, LOGIN_COOKIE).unwrap_or("");
    if expected.is_empty() || !same_token(expected, &form.csrf) {
        return Err(WebError::BadRequest(
            "the form has expired; please reload the page".into(),
        ));
    }
    let outcome = state
        .store()
        .login(
            &form.username,
            &form.password,
            &store::LoginRules::default(),
            state.now(),
        )
        .await?;
    match outcome {
        LoginOutcome::Success { token, .. } => {
            let rules = store::LoginRules::default();
            let cookie = set_cookie(
                SESSION_COOKIE,
                token.expose(),
                rules.session_secs,
                state.config().secure_cookies,
            );
            Ok((
                StatusCode::SEE_OTHER,
                [(header::SET_COOKIE, cookie), (header::LOCATION, "/".into())],
            )
                .into_response())
        }
        LoginOutcome::Denied => Ok(render(&state, &headers, true)),
        LoginOutcome::Throttled => Err(WebError::TooMany),
    }
}

/// The sign-out form's field.
#[derive(serde::Deserialize)]
pub struct LogoutForm {
    csrf: String,
}

/// `POST /logout`.
pub async fn logout(
    State(state): State<AppState>,
    user: crate::auth::Signed,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Result<Response, WebError> {
    user.check_csrf(&form.csrf)?;
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        state
            .store()
            .logout(&SessionToken::from_client(token))
            .await?;
    }
    let clear = set_cookie(SESSION_COOKIE, "", 0, state.config().secure_cookies);
    Ok((
        StatusCode::SEE_OTHER,
        [
            (header::SET_COOKIE, clear),
            (header::LOCATION, "/login".into()),
        ],
    )
        .into_response())
}
