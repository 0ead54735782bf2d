//! The jiuzhu web application: server-rendered pages in Chinese and English, charts and maps as
//! SVG, and a JSON API. Handlers translate requests into calls on the store — which enforces
//! role × region on every query — and render the answer; they hold no business rules.
//!
//! The library never reads the clock: the binary passes a clock in [`AppState::new`].

#![recursion_limit = "512"]

pub mod api;
pub mod auth;
pub mod chart;
pub mod error;
pub mod exchange_api;
pub mod i18n;
pub mod map;
pub mod metrics;
pub mod openapi;
pub mod page;
mod pages;
pub mod table;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use domain::Date;
use std::sync::Arc;
use store::{Store, Timestamp};

pub use error::WebError;
pub use i18n::Lang;
pub use pages::dashboard::warm_figures;

/// A source of the current time, given by the binary (tests give a fixed one).
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// Settings of the web application.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Mark cookies `Secure` (on behind TLS; off only for plain HTTP on loopback).
    pub secure_cookies: bool,
    /// The bureau's boundaries as GeoJSON keyed by region code, for maps.
    pub boundaries: Vec<map::Area>,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            secure_cookies: true,
            boundaries: Vec::new(),
        }
    }
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Arc<Store>,
    clock: Clock,
    config: WebConfig,
    metrics: metrics::Metrics,
    ledger_key: std::sync::OnceLock<Arc<store::ledger::SigningKey>>,
    exchange: std::sync::OnceLock<exchange_api::Exchange>,
    figures: pages::dashboard::FigureCache,
}

impl AppState {
    /// The application over a store, with a clock and settings.
    pub fn new(store: Store, clock: Clock, config: WebConfig) -> AppState {
        AppState::new_shared(Arc::new(store), clock, config)
    }

    /// The application over a store shared with other parts of the process.
    pub fn new_shared(store: Arc<Store>, clock: Clock, config: WebConfig) -> AppState {
        AppState {
            inner: Arc::new(Inner {
                store,
                clock,
                config,
                metrics: Default::default(),
                ledger_key: std::sync::OnceLock::new(),
                exchange: std::sync::OnceLock::new(),
                figures: Default::default(),
            }),
        }
    }

    /// The overview figures computed so far, by run and region.
    pub(crate) fn figures(&self) -> &pages::dashboard::FigureCache {
        &self.inner.figures
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The current instant.
    pub fn now(&self) -> Timestamp {
        (self.inner.clock)()
    }

    /// Today's date in China Standard Time (UTC+8), the date the bureau works by.
    pub fn today(&self) -> Date {
        let days = (self.now().0 + 8 * 3600).div_euclid(86_400);
        Date::from_days(i32::try_from(days).unwrap_or(0))
    }

    /// The settings.
    pub fn config(&self) -> &WebConfig {
        &self.inner.config
    }

    /// Request counters.
    pub fn metrics(&self) -> &metrics::Metrics {
        &self.inner.metrics
    }

    /// Gives the server the ledger's signing key, with which auditors sign tree heads (once;
    /// a second key is ignored).
    pub fn set_ledger_key(&self, key: store::ledger::SigningKey) {
        let _ = self.inner.ledger_key.set(Arc::new(key));
    }

    /// The ledger's signing key, if the server has one.
    pub fn ledger_key(&self) -> Option<Arc<store::ledger::SigningKey>> {
        self.inner.ledger_key.get().cloned()
    }

    /// Accepts department deliveries (the exchange API) into the lake of `data_dir` (once).
    pub fn set_exchange(&self, data_dir: std::path::PathBuf) {
        let _ = self
            .inner
            .exchange
            .set(exchange_api::Exchange::new(data_dir));
    }

    /// The exchange API's settings, if deliveries are accepted.
    pub fn exchange(&self) -> Option<&exchange_api::Exchange> {
        self.inner.exchange.get()
    }
}

/// The application's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login::form).post(pages::login::submit))
        .route("/logout", post(pages::login::logout))
        .route("/tasks", get(pages::tasks::queue))
        .route("/tasks/{id}", get(pages::tasks::detail))
        .route("/tasks/{id}/verify", post(pages::tasks::verify))
        .route("/tasks/{id}/decide", post(pages::tasks::decide))
        .route("/tasks/{id}/dismiss", post(pages::tasks::dismiss))
        .route("/households/{id}", get(pages::household::profile))
        // Dashboards, the map and the JSON API.
        .route("/dashboard", get(pages::dashboard::dashboard))
        .route("/dashboard/trends", get(pages::dashboard::trends))
        .route("/dashboard/warnings", get(pages::dashboard::warnings))
        .route("/map", get(pages::map::counties))
        .route("/map/{county}", get(pages::map::townships))
        .merge(api::routes())
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_text))
        .route("/assets/style.css", get(style))
        .merge(pages::audit::routes())
        .merge(exchange_api::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn(pages::preferences))
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
        state.metrics().render(),
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
