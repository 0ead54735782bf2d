//! Dashboards, downloads, the map and the JSON API through the router, on the small world of
//! `fixtures` (two households of tier dibao at level red, one in each township of county
//! 990101; the clock on 2026-07-01, both tasks due 2026-07-03).

use crate::fixtures::{Client, world};
use axum::http::StatusCode;
use serde_json::Value;

#[tokio::test]
async fn dashboards_show_charts_and_tables_and_download_them() {
    let w = world().await;
    let mut c = Client::new(&w.app);
    c.sign_in("analyst").await;
    let page = c.get("/dashboard").await;
    for id in [
        "by_tier",
        "by_level",
        "by_county",
        "by_township",
        "by_age",
        "by_tag",
    ] {
        assert!(page.body.contains(&format!("id=\"table-{id}\"")), "{id}");
    }
    assert_eq!(page.body.matches("<svg class=\"chart\"").count(), 6);
    // Both members are born in 1950: age 76 on the run's as-of date.
    assert!(
        page.body.contains(
            "<th scope=\"row\">60-79</th><td class=\"num\">2</td><td class=\"num\">2</td>"
        ),
        "{}",
        page.body
    );
    // Township rows carry the boundary file's names.
    assert!(page.body.contains("幸福街道"));

    let csv = c.get("/dashboard?format=csv&table=by_tier").await;
    assert_eq!(csv.status, StatusCode::OK);
    assert_eq!(csv.content_type.as_deref(), Some("text/csv; charset=utf-8"));
    assert!(csv.body.starts_with('\u{feff}'));
    let lines: Vec<&str> = csv.body.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.len(), 6, "{}", csv.body); // header and five tiers
    assert!(lines.contains(&"低保,2,2"), "{}", csv.body);
    let xlsx = c.get("/dashboard?format=xlsx").await;
    assert_eq!(xlsx.status, StatusCode::OK);
    assert!(xlsx.body.starts_with("PK"));
    assert_eq!(
        c.get("/dashboard?format=pdf").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        c.get("/dashboard?format=csv").await.status,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        c.get("/dashboard?format=csv&table=nope").await.status,
        StatusCode::NOT_FOUND
    );

    let trends = c.get("/dashboard/trends").await;
    assert_eq!(trends.status, StatusCode::OK);
    assert!(trends.body.contains("chart-line"));
    let spending = c.get("/dashboard/trends?format=csv&table=spending").await;
    // Two dibao households of 600 yuan a month.
    assert!(
        spending.body.contains("2026-06-30,低保,2,1200.00"),
        "{}",
        spending.body
    );

    let warnings = c.get("/dashboard/warnings?format=csv&table=detail").await;
    assert!(
        warnings.body.contains(",红色,处理中（未超期）,2"),
        "{}",
        warnings.body
    );
}

#[tokio::test]
async fn the_map_colours_counties_and_drills_down_to_townships() {
    let w = world().await;
    let mut c = Client::new(&w.app);
    c.sign_in("analyst").await;
    let map = c.get("/map").await;
    assert_eq!(map.status, StatusCode::OK);
    // County 990101 is the analyst's: every household covered; 990102 has no figures.
    assert!(
        map.body.contains(r#"href="/map/990101?by=coverage""#),
        "{}",
        map.body
    );
    assert!(
        map.body
            .contains(r#"class="map-area map-c4" data-code="990101000000""#)
    );
    assert!(!map.body.contains(r#"data-code="990102000000""#));
    assert!(map.body.contains("100.0%"));
    let county = c.get("/map/990101?by=warnings").await;
    assert_eq!(county.status, StatusCode::OK);
    assert_eq!(county.body.matches("class=\"map-area").count(), 2);
    assert!(county.body.contains("和谐镇: 1"));
    let csv = c.get("/map/990101?format=csv").await;
    assert!(
        csv.body.contains("幸福街道,990101001,1,1,1,100.0%,1"),
        "{}",
        csv.body
    );
    assert_eq!(c.get("/map/990102").await.status, StatusCode::NOT_FOUND);
    assert_eq!(c.get("/map/99x").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_api_lists_decides_and_reports() {
    let w = world().await;
    let mut c = Client::new(&w.app);
    let token = c.api_token("cw_a").await;
    let get = |v: &str| serde_json::from_str::<Value>(v).unwrap();
    let list = c
        .api("GET", "/api/v1/tasks", Some(&token), None, None)
        .await;
    let list = get(&list.body);
    let tasks = list["tasks"].as_array().unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["household_id"], "HA0001");
    assert_eq!(tasks[0]["overdue"], false);
    let uri = format!("/api/v1/tasks/{}", w.task_a);
    let verify = serde_json::json!({ "note": "入户核实" });
    let page = c
        .api(
            "POST",
            &format!("{uri}/verify"),
            Some(&token),
            None,
            Some(verify),
        )
        .await;
    assert_eq!(get(&page.body)["state"], "verifying");
    let decide =
        serde_json::json!({ "outcome": "include", "reason": "收入低于标准", "items": ["dibao"] });
    let page = c
        .api(
            "POST",
            &format!("{uri}/decide"),
            Some(&token),
            None,
            Some(decide),
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert_eq!(get(&page.body)["decision"]["package_items"][0], "dibao");
    let detail = get(&c.api("GET", &uri, Some(&token), None, None).await.body);
    assert_eq!(detail["state"], "decided");
    let actions: Vec<&str> = detail["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["opened", "assigned", "moved", "decided"]);
    let household = c
        .api("GET", "/api/v1/households/HA0001", Some(&token), None, None)
        .await;
    let household = get(&household.body);
    assert_eq!(household["tier"], "dibao");
    assert_eq!(household["dibao_amount_fen"], 60_000);
    assert_eq!(household["decisions"][0]["outcome"], "include");
    // Masked: the name and the ID number never leave the server in clear.
    assert!(!household.to_string().contains("欧阳明远"));
    assert!(
        !household
            .to_string()
            .contains(crate::fixtures::resident_id(11).as_str())
    );

    let analyst = c.api_token("analyst").await;
    let figures = c
        .api("GET", "/api/v1/dashboard", Some(&analyst), None, None)
        .await;
    let figures = get(&figures.body);
    let dibao = figures["by_tier"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["key"] == "dibao")
        .unwrap();
    assert_eq!(dibao["households"], 2);
    assert_eq!(figures["by_county"][0]["coverage_per_mille"], 1000);
    let warnings = c
        .api(
            "GET",
            "/api/v1/dashboard/warnings",
            Some(&analyst),
            None,
            None,
        )
        .await;
    let warnings = get(&warnings.body);
    let handled: Vec<&str> = warnings["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["handling"].as_str().unwrap())
        .collect();
    assert_eq!(handled, ["open", "closed_in_time"]);
    let doc = c.api("GET", "/api/openapi.json", None, None, None).await;
    assert_eq!(get(&doc.body)["openapi"], "3.1.0");
}

#[tokio::test]
async fn dashboard_figures_are_computed_ahead_for_each_readers_region() {
    let w = world().await;
    // The analyst and the auditor read dashboards, both of county 990101; the caseworkers
    // do not.
    assert_eq!(web::warm_figures(&w.state).await.expect("warms"), 1);
    let store = w.state.store();
    store
        .add_user(
            &store::Scope::system(),
            &store::NewUser {
                username: "analyst_b".into(),
                roles: vec![store::Role::Analyst],
                region_prefix: "990101002".into(),
                password: crate::fixtures::PASSWORD.into(),
            },
            crate::fixtures::NOW,
        )
        .await
        .expect("adds");
    assert_eq!(web::warm_figures(&w.state).await.expect("warms"), 2);
    // The page is the one computed ahead.
    let mut c = Client::new(&w.app);
    c.sign_in("analyst").await;
    assert!(
        c.get("/dashboard")
            .await
            .body
            .contains("id=\"table-by_tier\"")
    );
}
