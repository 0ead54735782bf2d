//! The jiuzhu web application: server-rendered pages in Chinese and English, charts and maps as
//! SVG, and a JSON API. Handlers translate requests into calls on the store and render the
//! answer; they hold no business rules.

pub mod chart;
pub mod error;
pub mod i18n;
pub mod map;
pub mod metrics;
pub mod page;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use std::sync::Arc;

pub use error::WebError;
pub use i18n::Lang;

/// What every handler shares.
#[derive(Clone, Default)]
pub struct AppState {
    /// Request counters for `/metrics`.
    pub metrics: Arc<metrics::Metrics>,
}

/// The application's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .route("/assets/style.css", get(style))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::count,
        ))
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn metrics_text(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

async fn style() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../assets/style.css"),
    )
}

async fn not_found() -> WebError {
    WebError::NotFound
}
