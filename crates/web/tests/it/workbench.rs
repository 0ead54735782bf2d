//! The caseworker's day through the router: sign in, the queue, handling a task, scoping.

use crate::fixtures::{Client, world};
use axum::http::StatusCode;

#[tokio::test]
async fn health_metrics_and_not_found() {
    let w = world().await;
    let mut c = Client::new(&w.app);
    let page = c.get("/healthz").await;
    assert_eq!((page.status, page.body.as_str()), (StatusCode::OK, "ok"));
    let page = c.get("/assets/style.css").await;
    assert!(page.body.contains("html.large"));
    // Not signed in: pages send to the sign-in form.
    let page = c.get("/tasks").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location.as_deref(), Some("/login"));
    let page = c.get("/no/such/page").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains("没有找到这个页面"), "{}", page.body);
    // Error pages speak the language the visitor chose.
    c.cookies.push(("lang".into(), "en".into()));
    let page = c.get("/no/such/page").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(
        page.body.contains("This page does not exist"),
        "{}",
        page.body
    );
    c.cookies.clear();
    let metrics = c.get("/metrics").await.body;
    assert!(
        metrics.contains(r#"jiuzhu_http_requests_total{route="/healthz",status="200"} 1"#),
        "{metrics}"
    );
    assert!(metrics.contains(r#"route="unmatched",status="404""#));
}

#[tokio::test]
async fn wrong_password_and_forged_forms_are_refused() {
    let w = world().await;
    let mut c = Client::new(&w.app);
    let form = c.get("/login").await;
    let csrf = Client::csrf_in(&form);
    let page = c
        .post(
            "/login",
            &[
                ("username", "cw_a"),
                ("password", "wrong password!"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(!c.cookies.iter().any(|(k, _)| k == "jz_session"));
    let page = c
        .post(
            "/login",
            &[
                ("username", "cw_a"),
                ("password", crate::fixtures::PASSWORD),
                ("csrf", "forged"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    c.sign_in("cw_a").await;
    let page = c
        .post(
            &format!("/tasks/{}/verify", w.task_a),
            &[("csrf", "forged"), ("note", "x")],
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn caseworker_handles_a_task_and_the_queue_updates() {
    let w = world().await;
    let mut c = Client::new(&w.app);
    c.sign_in("cw_a").await;
    let queue = c.get("/tasks").await;
    assert_eq!(queue.status, StatusCode::OK);
    assert!(queue.body.contains("HA0001"));
    assert!(
        !queue.body.contains("HB0001"),
        "another township's task is listed"
    );
    let task_url = format!("/tasks/{}", w.task_a);
    let detail = c.get(&task_url).await;
    let csrf = Client::csrf_in(&detail);
    let page = c
        .post(
            &format!("{task_url}/verify"),
            &[("csrf", &csrf), ("note", "入户核实：情况属实")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    let detail = c.get(&task_url).await;
    assert!(detail.body.contains("核实中"));
    let page = c
        .post(
            &format!("{task_url}/decide"),
            &[
                ("csrf", &csrf),
                ("outcome", "include"),
                ("item", "dibao"),
                ("reason", "收入低于标准，纳入低保"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let queue = c.get("/tasks?state=open").await;
    assert!(
        !queue.body.contains("HA0001"),
        "the decided task is still open"
    );
    let decided = c.get("/tasks?state=decided").await;
    assert!(decided.body.contains("HA0001"));
    let profile = c.get("/households/HA0001").await;
    assert_eq!(profile.status, StatusCode::OK);
    assert!(profile.body.contains("纳入救助"));
    assert!(profile.body.contains("家庭人均收入低于低保标准"));
    // Members are masked; the plain name and ID never reach the page.
    assert!(
        profile.body.contains("欧*远") || profile.body.contains("欧**远"),
        "{}",
        profile.body
    );
    assert!(!profile.body.contains("欧阳明远"));
    let id = crate::fixtures::resident_id(11);
    assert!(!profile.body.contains(id.as_str()));
}

#[tokio::test]
async fn another_township_gets_404_for_the_household_and_the_task() {
    let w = world().await;
    let mut c = Client::new(&w.app);
    c.sign_in("cw_b").await;
    assert_eq!(
        c.get("/households/HA0001").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        c.get(&format!("/tasks/{}", w.task_a)).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(c.get("/households/HB0001").await.status, StatusCode::OK);
}

#[tokio::test]
async fn analyst_sees_the_figures_of_the_latest_run_but_no_tasks() {
    let w = world().await;
    let mut c = Client::new(&w.app);
    c.sign_in("analyst").await;
    let home = c.get("/").await;
    assert_eq!(home.location.as_deref(), Some("/dashboard"));
    let page = c.get("/dashboard").await;
    assert_eq!(page.status, StatusCode::OK);
    // Two households of tier dibao, both at level red, in the analyst's county.
    assert!(page.body.contains("家庭数 2"), "{}", page.body);
    assert!(
        page.body
            .contains("<th scope=\"row\">低保</th><td class=\"num\">2</td>"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("<th scope=\"row\">红色</th><td class=\"num\">2</td>")
    );
    assert!(page.body.contains("<svg"));
    assert_eq!(c.get("/tasks").await.status, StatusCode::FORBIDDEN);
    // A caseworker may not see the dashboard.
    let mut cw = Client::new(&w.app);
    cw.sign_in("cw_a").await;
    assert_eq!(cw.get("/dashboard").await.status, StatusCode::FORBIDDEN);
}
