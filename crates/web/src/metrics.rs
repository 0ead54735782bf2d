//! Request counters and latencies in the Prometheus text format. Labels are route templates
//! (`/households/{id}`), never concrete paths, so no identifier reaches the metrics.

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Instant;

/// Counters per route template and status class.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<BTreeMap<(String, u16), (u64, f64)>>,
}

impl Metrics {
    /// Records one answered request.
    pub fn record(&self, route: &str, status: u16, seconds: f64) {
        if let Ok(mut map) = self.inner.lock() {
            let entry = map.entry((route.to_string(), status)).or_insert((0, 0.0));
            entry.0 += 1;
            entry.1 += seconds;
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::from(
            "# HELP jiuzhu_http_requests_total Requests answered, by route and status.\n\
             # TYPE jiuzhu_http_requests_total counter\n",
        );
        let mut secs = String::from(
            "# HELP jiuzhu_http_request_seconds_total Time spent answering, by route and status.\n\
             # TYPE jiuzhu_http_request_seconds_total counter\n",
        );
        if let Ok(map) = self.inner.lock() {
            for ((route, status), (n, s)) in map.iter() {
                out.push_str(&format!(
                    "jiuzhu_http_requests_total{{route=\"{route}\",status=\"{status}\"}} {n}\n"
                ));
                secs.push_str(&format!(
                    "jiuzhu_http_request_seconds_total{{route=\"{route}\",status=\"{status}\"}} {s:.6}\n"
                ));
            }
        }
        out + &secs
    }
}

/// Middleware that counts every request under its route template.
pub async fn count(State(state): State<crate::AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let start = Instant::now();
    let response = next.run(request).await;
    state.metrics().record(
        &route,
        response.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    response
}
