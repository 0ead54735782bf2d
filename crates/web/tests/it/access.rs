//! The access rules as a table: every route and API endpoint × every role × two regions, with
//! the status each must answer, against a real SQLite store.
//!
//! Every user of the table works in one township: "home" is township A (990101001), where the
//! household and task of the table live, "away" is township B (990101002). Writes act on tasks
//! of township A made for each user, so that one user's allowed write does not change what the
//! next user finds; the read routes all use the same household and task.

use crate::fixtures::{Client, NOW, PASSWORD, as_of, profile, region, resident_id};
use axum::http::StatusCode;
use domain::{Gender, PersonStatus, Relation};
use std::collections::BTreeSet;
use std::sync::Arc;
use store::privacy::{Algorithm, Kek};
use store::{Level, NewUser, PopulationRow, Role, RunResults, Scope, Store, TaskRules, WarningRow};

const ROLES: [Role; 6] = [
    Role::Caseworker,
    Role::Reviewer,
    Role::Approver,
    Role::Analyst,
    Role::Auditor,
    Role::Administrator,
];
const HOME: &str = "990101001";
const AWAY: &str = "990101002";
/// Tasks of township A made for each user: verify + decide (pages), verify + dismiss
/// (pages), verify + decide (API), verify + dismiss (API).
const OWN_TASKS: usize = 4;

/// What a request answers for (caseworker, reviewer, approver, analyst, auditor,
/// administrator), each as (home, away).
type Expected = [(u16, u16); 6];

const ALL_OK: Expected = [(200, 200); 6];
const CASEWORK_LIST: Expected = [
    (200, 200),
    (200, 200),
    (200, 200),
    (403, 403),
    (403, 403),
    (200, 200),
];
const CASEWORK_ONE: Expected = [
    (200, 404),
    (200, 404),
    (200, 404),
    (403, 403),
    (403, 403),
    (200, 404),
];
const HOUSEHOLD: Expected = [
    (200, 404),
    (200, 404),
    (200, 404),
    (403, 403),
    (200, 404),
    (200, 404),
];
const FIGURES: Expected = [
    (403, 403),
    (200, 200),
    (200, 200),
    (200, 200),
    (200, 200),
    (200, 200),
];
/// Other county: not found for every reader, forbidden for a caseworker.
const FIGURES_ELSEWHERE: Expected = [
    (403, 403),
    (404, 404),
    (404, 404),
    (404, 404),
    (404, 404),
    (404, 404),
];
/// Decisions are taken by caseworkers, reviewers and approvers; an administrator manages
/// users and data and decides nothing.
const fn deciding(ok: u16) -> Expected {
    [
        (ok, 404),
        (ok, 404),
        (ok, 404),
        (403, 403),
        (403, 403),
        (403, 403),
    ]
}
const HOME_PAGE: Expected = [(303, 303); 6];
/// The audit log: auditors only, whatever their region (the log names no person and no
/// household); administrators, whose actions the log records, do not audit themselves.
const AUDIT: Expected = [
    (403, 403),
    (403, 403),
    (403, 403),
    (403, 403),
    (200, 200),
    (403, 403),
];
/// Revealing unmasked members: casework roles, in their region.
const REVEAL: Expected = [
    (200, 404),
    (200, 404),
    (200, 404),
    (403, 403),
    (403, 403),
    (403, 403),
];
/// The exchange API takes department API keys only: no user's session or token opens it.
const DEPARTMENTS_ONLY: Expected = [(401, 401); 6];

/// One row of the table: method, route template (as routed), the address requested, and the
/// expected statuses. `{target}` is the shared task, `{own1}`… the user's own tasks.
struct Row {
    method: &'static str,
    route: &'static str,
    uri: &'static str,
    expected: Expected,
    api: bool,
}

const fn row(
    method: &'static str,
    route: &'static str,
    uri: &'static str,
    expected: Expected,
) -> Row {
    Row {
        method,
        route,
        uri,
        expected,
        api: false,
    }
}

const fn api(
    method: &'static str,
    route: &'static str,
    uri: &'static str,
    expected: Expected,
) -> Row {
    Row {
        method,
        route,
        uri,
        expected,
        api: true,
    }
}

const TABLE: &[Row] = &[
    row("GET", "/", "/", HOME_PAGE),
    row("GET", "/login", "/login", ALL_OK),
    // The sign-in form without its own token is refused, whoever posts it.
    row("POST", "/login", "/login", [(400, 400); 6]),
    row("GET", "/healthz", "/healthz", ALL_OK),
    row("GET", "/metrics", "/metrics", ALL_OK),
    row("GET", "/assets/style.css", "/assets/style.css", ALL_OK),
    row("GET", "/tasks", "/tasks", CASEWORK_LIST),
    row("GET", "/tasks/{id}", "/tasks/{target}", CASEWORK_ONE),
    row(
        "POST",
        "/tasks/{id}/verify",
        "/tasks/{own1}/verify",
        deciding(303),
    ),
    row(
        "POST",
        "/tasks/{id}/decide",
        "/tasks/{own1}/decide",
        deciding(303),
    ),
    row(
        "POST",
        "/tasks/{id}/verify",
        "/tasks/{own2}/verify",
        deciding(303),
    ),
    row(
        "POST",
        "/tasks/{id}/dismiss",
        "/tasks/{own2}/dismiss",
        deciding(303),
    ),
    row("GET", "/households/{id}", "/households/HA0000", HOUSEHOLD),
    row("GET", "/dashboard", "/dashboard", FIGURES),
    row(
        "GET",
        "/dashboard",
        "/dashboard?format=csv&table=by_tier",
        FIGURES,
    ),
    row("GET", "/dashboard", "/dashboard?format=xlsx", FIGURES),
    row("GET", "/dashboard/trends", "/dashboard/trends", FIGURES),
    row("GET", "/dashboard/warnings", "/dashboard/warnings", FIGURES),
    row("GET", "/map", "/map", FIGURES),
    row("GET", "/map/{county}", "/map/990101", FIGURES),
    row("GET", "/map/{county}", "/map/990102", FIGURES_ELSEWHERE),
    row(
        "POST",
        "/households/{id}/reveal",
        "/households/HA0000/reveal",
        REVEAL,
    ),
    row("GET", "/audit", "/audit", AUDIT),
    row(
        "POST",
        "/audit/heads",
        "/audit/heads",
        [
            (403, 403),
            (403, 403),
            (403, 403),
            (403, 403),
            (303, 303),
            (403, 403),
        ],
    ),
    row("GET", "/audit/heads.json", "/audit/heads.json", AUDIT),
    row("GET", "/audit/api/head", "/audit/api/head", AUDIT),
    row("GET", "/audit/api/heads", "/audit/api/heads", AUDIT),
    row(
        "GET",
        "/audit/api/entries",
        "/audit/api/entries?from=0&limit=10",
        AUDIT,
    ),
    row(
        "GET",
        "/audit/api/entries/{index}",
        "/audit/api/entries/0",
        AUDIT,
    ),
    row(
        "GET",
        "/audit/api/consistency",
        "/audit/api/consistency?first=1&second=2",
        AUDIT,
    ),
    api(
        "POST",
        "/exchange/v1/events",
        "/exchange/v1/events",
        DEPARTMENTS_ONLY,
    ),
    api(
        "POST",
        "/exchange/v1/batches",
        "/exchange/v1/batches",
        DEPARTMENTS_ONLY,
    ),
    api("GET", "/api/openapi.json", "/api/openapi.json", ALL_OK),
    api("GET", "/api/v1/session", "/api/v1/session", ALL_OK),
    api("GET", "/api/v1/tasks", "/api/v1/tasks", CASEWORK_LIST),
    api(
        "GET",
        "/api/v1/tasks/{id}",
        "/api/v1/tasks/{target}",
        CASEWORK_ONE,
    ),
    api(
        "POST",
        "/api/v1/tasks/{id}/verify",
        "/api/v1/tasks/{own3}/verify",
        deciding(200),
    ),
    api(
        "POST",
        "/api/v1/tasks/{id}/decide",
        "/api/v1/tasks/{own3}/decide",
        deciding(200),
    ),
    api(
        "POST",
        "/api/v1/tasks/{id}/verify",
        "/api/v1/tasks/{own4}/verify",
        deciding(200),
    ),
    api(
        "POST",
        "/api/v1/tasks/{id}/dismiss",
        "/api/v1/tasks/{own4}/dismiss",
        deciding(200),
    ),
    api(
        "GET",
        "/api/v1/households/{id}",
        "/api/v1/households/HA0000",
        HOUSEHOLD,
    ),
    api("GET", "/api/v1/dashboard", "/api/v1/dashboard", FIGURES),
    api(
        "GET",
        "/api/v1/dashboard/trends",
        "/api/v1/dashboard/trends",
        FIGURES,
    ),
    api(
        "GET",
        "/api/v1/dashboard/warnings",
        "/api/v1/dashboard/warnings",
        FIGURES,
    ),
    // Sign-in and sign-out come last: signing out ends the session the rows above used.
    api("POST", "/api/v1/session", "/api/v1/session", ALL_OK),
    api(
        "DELETE",
        "/api/v1/session",
        "/api/v1/session",
        [(204, 204); 6],
    ),
    row("POST", "/logout", "/logout", HOME_PAGE),
];

struct AccessWorld {
    app: axum::Router,
    target: i64,
    /// Per user login, its own tasks.
    own: std::collections::HashMap<String, Vec<i64>>,
    _dir: tempfile::TempDir,
}

fn login(role: Role, home: bool) -> String {
    format!("{}_{}", role.as_str(), if home { "home" } else { "away" })
}

async fn access_world() -> AccessWorld {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("jiuzhu.db").display());
    let kek = Kek::from_bytes(&[9u8; 32]).unwrap();
    let store = Store::open(&url, &kek, Algorithm::default(), NOW)
        .await
        .unwrap();
    let admin = Scope::system();
    let mut logins = Vec::new();
    for role in ROLES {
        for home in [true, false] {
            let name = login(role, home);
            let user = NewUser {
                username: name.clone(),
                roles: vec![role],
                region_prefix: if home { HOME } else { AWAY }.into(),
                password: PASSWORD.into(),
            };
            store.add_user(&admin, &user, NOW).await.unwrap();
            logins.push(name);
        }
    }
    // Household 0 is the shared target; then OWN_TASKS per user; all in township A. One
    // household in township B.
    let count = 1 + logins.len() * OWN_TASKS;
    let households: Vec<String> = (0..count).map(|i| format!("HA{i:04}")).collect();
    let mut population: Vec<PopulationRow> = households
        .iter()
        .enumerate()
        .map(|(i, h)| PopulationRow {
            person_id: resident_id(100 + u32::try_from(i).unwrap()),
            name: "司马清风".into(),
            gender: Gender::Female,
            household_id: h.clone(),
            relation: Relation::Head,
            region_code: region("990101001001"),
            address: None,
            status: PersonStatus::Normal,
            status_date: None,
            spouse_id: None,
            father_id: None,
            mother_id: None,
        })
        .collect();
    population.push(PopulationRow {
        person_id: resident_id(99),
        household_id: "HB0001".into(),
        region_code: region("990101002201"),
        ..population[0].clone()
    });
    store.load_population(&admin, &population).await.unwrap();
    let mut profiles: Vec<_> = households
        .iter()
        .map(|h| profile(h, "990101001001"))
        .collect();
    profiles.push(profile("HB0001", "990101002201"));
    let warnings = profiles
        .iter()
        .map(|p| WarningRow {
            household_id: p.household_id.clone(),
            person_id: None,
            signal: "large_medical".into(),
            level: Level::Red,
            detected_at: as_of(),
        })
        .collect();
    let run = RunResults {
        run_id: "run-access".into(),
        as_of: as_of(),
        policy: "default".into(),
        households: profiles,
        persons: vec![],
        anomalies: vec![],
        warnings,
        recommendations: vec![],
        provenance: None,
    };
    store
        .load_run(&admin, &run, &TaskRules::default(), NOW)
        .await
        .unwrap();
    let users = store.users(&admin).await.unwrap();
    let id_of = |name: &str| users.iter().find(|u| u.username == name).unwrap().id;
    let tasks = store.tasks(&admin, None).await.unwrap();
    let task_of = |h: &str| tasks.iter().find(|t| t.household_id == h).unwrap().id;
    // Every task of township A is the home caseworker's, of B the away caseworker's.
    for t in &tasks {
        let who = if t.region_code.starts_with(HOME) {
            login(Role::Caseworker, true)
        } else {
            login(Role::Caseworker, false)
        };
        store
            .assign_task(&admin, t.id, id_of(&who), NOW)
            .await
            .unwrap();
    }
    let mut own = std::collections::HashMap::new();
    for (u, name) in logins.iter().enumerate() {
        let ids = (0..OWN_TASKS)
            .map(|k| task_of(&households[1 + u * OWN_TASKS + k]))
            .collect();
        own.insert(name.clone(), ids);
    }
    let state = web::AppState::new_shared(
        Arc::new(store),
        Arc::new(|| NOW),
        web::WebConfig {
            secure_cookies: false,
            boundaries: web::map::parse_geojson(crate::fixtures::BOUNDARIES).unwrap(),
        },
    );
    state.set_ledger_key(
        store::ledger::SigningKey::from_seed(store::ledger::SignatureAlgorithm::Sm2, [5u8; 32])
            .unwrap(),
    );
    state.set_exchange(dir.path().join("data"));
    AccessWorld {
        app: web::router(state),
        target: task_of("HA0000"),
        own,
        _dir: dir,
    }
}

fn body_for(uri: &str) -> Option<serde_json::Value> {
    if uri.ends_with("/verify") {
        Some(serde_json::json!({ "note": "入户核实" }))
    } else if uri.ends_with("/decide") {
        Some(serde_json::json!({ "outcome": "no_change", "reason": "核实无误" }))
    } else if uri.ends_with("/dismiss") {
        Some(serde_json::json!({ "reason": "重复预警" }))
    } else if uri == "/api/v1/session" {
        Some(serde_json::json!({ "username": "", "password": PASSWORD }))
    } else {
        None
    }
}

fn form_for(uri: &str) -> Vec<(&'static str, &'static str)> {
    if uri.ends_with("/verify") {
        vec![("note", "入户核实")]
    } else if uri.ends_with("/decide") {
        vec![("outcome", "no_change"), ("reason", "核实无误")]
    } else if uri.ends_with("/dismiss") {
        vec![("reason", "重复预警")]
    } else if uri == "/login" {
        vec![("username", "nobody"), ("password", "wrong password")]
    } else if uri.ends_with("/reveal") {
        vec![("purpose", "verification")]
    } else {
        vec![]
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_for_every_role_in_two_regions() {
    let w = access_world().await;
    let mut failures = Vec::new();
    let mut checked = 0;
    for (r, role) in ROLES.iter().enumerate() {
        for home in [true, false] {
            let name = login(*role, home);
            let mut c = Client::new(&w.app);
            c.sign_in(&name).await;
            let token = c.api_token(&name).await;
            let session_csrf = {
                let page = c.api("GET", "/api/v1/session", None, None, None).await;
                let v: serde_json::Value = serde_json::from_str(&page.body).unwrap();
                v["csrf"].as_str().unwrap().to_string()
            };
            let own = &w.own[&name];
            for row in TABLE {
                let uri = row
                    .uri
                    .replace("{target}", &w.target.to_string())
                    .replace("{own1}", &own[0].to_string())
                    .replace("{own2}", &own[1].to_string())
                    .replace("{own3}", &own[2].to_string())
                    .replace("{own4}", &own[3].to_string());
                let page = if row.api {
                    let mut body = body_for(&uri);
                    if row.method == "POST" && uri == "/api/v1/session" {
                        body = Some(serde_json::json!({ "username": name, "password": PASSWORD }));
                    }
                    c.api(row.method, &uri, Some(&token), None, body).await
                } else if row.method == "POST" {
                    let mut form = vec![("csrf", session_csrf.as_str())];
                    form.extend(form_for(&uri));
                    c.post(&uri, &form).await
                } else {
                    c.get(&uri).await
                };
                let (want_home, want_away) = row.expected[r];
                let want = if home { want_home } else { want_away };
                checked += 1;
                if page.status.as_u16() != want {
                    failures.push(format!(
                        "{name}: {} {uri} → {} (expected {want})",
                        row.method, page.status
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(checked, TABLE.len() * ROLES.len() * 2);
}

#[tokio::test]
async fn without_a_session_pages_send_to_sign_in_and_the_api_answers_401() {
    let w = access_world().await;
    let mut c = Client::new(&w.app);
    for row in TABLE {
        let uri = row
            .uri
            .replace("{target}", &w.target.to_string())
            .replace("{own1}", "1")
            .replace("{own2}", "1")
            .replace("{own3}", "1")
            .replace("{own4}", "1");
        let public = matches!(
            row.route,
            "/login" | "/healthz" | "/metrics" | "/assets/style.css" | "/api/openapi.json"
        );
        if (row.route == "/api/v1/session" || row.route == "/login") && row.method == "POST" {
            continue; // signing in is what a visitor without a session does
        }
        let page = if row.api {
            c.api(row.method, &uri, None, None, body_for(&uri)).await
        } else if row.method == "POST" {
            c.post(&uri, &[("csrf", "x")]).await
        } else {
            c.get(&uri).await
        };
        let status = page.status;
        if public {
            assert_eq!(status, StatusCode::OK, "{uri}");
        } else if row.route.starts_with("/exchange/") {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{} {uri}", row.method);
            assert!(page.body.contains("\"error\":\"no_key\""), "{}", page.body);
        } else if row.api {
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{} {uri}", row.method);
            assert!(page.body.contains("\"error\":\"unauthorized\""));
        } else {
            assert_eq!(status, StatusCode::SEE_OTHER, "{} {uri}", row.method);
            assert_eq!(page.location.as_deref(), Some("/login"));
        }
    }
}

#[tokio::test]
async fn cookie_sessions_need_the_csrf_header_for_api_writes() {
    let w = access_world().await;
    let name = login(Role::Caseworker, true);
    let own = w.own[&name][2];
    let mut c = Client::new(&w.app);
    c.sign_in(&name).await;
    let uri = format!("/api/v1/tasks/{own}/verify");
    let body = body_for(&uri);
    let page = c.api("POST", &uri, None, None, body.clone()).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
    let page = c
        .api("POST", &uri, None, Some("forged"), body.clone())
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    let session = c.api("GET", "/api/v1/session", None, None, None).await;
    let v: serde_json::Value = serde_json::from_str(&session.body).unwrap();
    assert_eq!(v["user"]["region"], HOME);
    let csrf = v["csrf"].as_str().unwrap();
    let page = c.api("POST", &uri, None, Some(csrf), body).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let v: serde_json::Value = serde_json::from_str(&page.body).unwrap();
    assert_eq!(v["state"], "verifying");
    // A bad body is a clear 400 in JSON, not a panic or an HTML page.
    let page = c
        .api(
            "POST",
            &format!("/api/v1/tasks/{own}/decide"),
            None,
            Some(csrf),
            Some(serde_json::json!({ "outcome": "maybe", "reason": "x" })),
        )
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    assert!(page.body.contains("\"error\":\"bad_request\""));
    // Unknown endpoints under the API answer 404 in JSON.
    let page = c
        .api("GET", "/api/v1/no-such-thing", None, None, None)
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains("not_found"));
}

/// Every route of the router and every operation of the OpenAPI document is in the table.
#[test]
fn the_table_covers_every_route_and_every_documented_operation() {
    let covered: BTreeSet<(String, String)> = TABLE
        .iter()
        .map(|r| (r.method.to_lowercase(), r.route.to_string()))
        .collect();
    let mut routes = BTreeSet::new();
    for source in [
        include_str!("../../src/lib.rs"),
        include_str!("../../src/api.rs"),
        include_str!("../../src/pages/audit.rs"),
        include_str!("../../src/exchange_api.rs"),
    ] {
        for chunk in source.split(".route(").skip(1) {
            let Some(path) = chunk.split('"').nth(1) else {
                continue;
            };
            if path.contains('*') {
                continue;
            }
            let call = chunk.split(")\n").next().unwrap_or("");
            for method in ["get", "post", "put", "patch", "delete"] {
                if call.contains(&format!("{method}(")) {
                    routes.insert((method.to_string(), path.to_string()));
                }
            }
        }
    }
    let doc = web::openapi::document();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            routes.insert((method.clone(), path.clone()));
        }
    }
    let missing: Vec<_> = routes.difference(&covered).collect();
    assert!(missing.is_empty(), "routes without a row: {missing:?}");
    let unknown: Vec<_> = covered.difference(&routes).collect();
    assert!(unknown.is_empty(), "rows for no route: {unknown:?}");
}
