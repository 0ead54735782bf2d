//! Web tests through the router, without a network.

#![allow(clippy::unwrap_used)] // Tests fail loudly on purpose.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

async fn get(app: &axum::Router, uri: &str) -> (StatusCode, String) {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn health_metrics_and_not_found() {
    let app = web::router(web::AppState::default());
    assert_eq!(
        get(&app, "/healthz").await,
        (StatusCode::OK, "ok".to_string())
    );
    let (status, body) = get(&app, "/households/110105194912310021").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("没有找到"));
    let (status, css) = get(&app, "/assets/style.css").await;
    assert_eq!(status, StatusCode::OK);
    assert!(css.contains("html.large"));
    let (_, metrics) = get(&app, "/metrics").await;
    assert!(
        metrics.contains(r#"jiuzhu_http_requests_total{route="/healthz",status="200"} 1"#),
        "{metrics}"
    );
    // The unmatched path is counted without the path itself.
    assert!(metrics.contains(r#"route="unmatched",status="404""#));
    assert!(!metrics.contains("110105"));
}
