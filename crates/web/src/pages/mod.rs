//! The pages, one module per screen.

pub mod audit;
pub mod dashboard;
pub mod household;
pub mod login;
pub mod map;
pub mod tasks;

use crate::auth::Signed;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use store::Role;

/// `/`: a caseworker starts at her tasks, an analyst at the dashboard.
pub async fn home(user: Signed) -> Redirect {
    if user.has(Role::Caseworker) || user.has(Role::Reviewer) || user.has(Role::Approver) {
        Redirect::to("/tasks")
    } else {
        Redirect::to("/dashboard")
    }
}

/// `?lang=` and `?large=` links set a cookie and come back to the same page without the query,
/// so that preferences never need JavaScript and never stay in addresses.
pub async fn preferences(request: Request, next: Next) -> Response {
    let query = request.uri().query().unwrap_or("");
    let mut cookies = Vec::new();
    for pair in query.split('&') {
        match pair {
            "lang=en" | "lang=zh" => cookies.push(format!(
                "lang={}; Path=/; SameSite=Lax; Max-Age=31536000",
                &pair[5..]
            )),
            "large=1" | "large=0" => cookies.push(format!(
                "large={}; Path=/; SameSite=Lax; Max-Age=31536000",
                &pair[6..]
            )),
            _ => {}
        }
    }
    if cookies.is_empty() || request.method() != axum::http::Method::GET {
        // Error pages are rendered in the language the request asks for.
        let (lang, _) = crate::auth::preferences(request.headers());
        return crate::error::REQUEST_LANG
            .scope(lang, next.run(request))
            .await;
    }
    let path = request.uri().path().to_string();
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, path)]).into_response();
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(&c) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}
