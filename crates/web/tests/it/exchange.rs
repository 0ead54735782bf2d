//! The department exchange API through the router, against a real store and a real lake in a
//! temporary folder: each refusal of the acceptance text (wrong key, a feed not allowed, an
//! oversized upload, a malformed event, a replayed event) stores nothing; accepted deliveries
//! get receipts that match the ledger.

use crate::fixtures::{NOW, resident_id, world};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use std::path::Path;
use store::ledger::{Action, Purpose};
use store::{Department, NewDepartment, Scope};
use tower::ServiceExt;

struct Answer {
    status: StatusCode,
    json: serde_json::Value,
}

async fn send(
    app: &axum::Router,
    path: &str,
    key: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> Answer {
    let mut request = Request::post(path).header(header::CONTENT_TYPE, content_type);
    if let Some(key) = key {
        request = request.header(header::AUTHORIZATION, format!("Bearer {key}"));
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    Answer { status, json }
}

async fn event(app: &axum::Router, key: Option<&str>, body: &str) -> Answer {
    send(
        app,
        "/exchange/v1/events",
        key,
        "application/json",
        body.as_bytes().to_vec(),
    )
    .await
}

fn multipart(files: &[(&str, &str)]) -> (String, Vec<u8>) {
    let boundary = "jiuzhu-test-boundary";
    let mut body = Vec::new();
    for (name, content) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: text/csv\r\n\r\n{content}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn batch(app: &axum::Router, key: &str, files: &[(&str, &str)]) -> Answer {
    let (content_type, body) = multipart(files);
    send(app, "/exchange/v1/batches", Some(key), &content_type, body).await
}

fn medical_event(event_id: &str, cost: &str) -> String {
    serde_json::json!({
        "event_id": event_id,
        "feed": "medical",
        "row": {
            "person_id": resident_id(11).as_str(),
            "settled_date": "2026-06-03",
            "total_cost": cost,
            "fund_paid": "50.00",
            "out_of_pocket": "50.00",
            "kind": "outpatient",
        }
    })
    .to_string()
}

fn medical_csv(rows: usize) -> String {
    let mut csv = String::from("person_id,settled_date,total_cost,fund_paid,out_of_pocket,kind\n");
    for _ in 0..rows {
        csv.push_str(&format!(
            "{},2026-06-03,100.00,50.00,50.00,outpatient\n",
            resident_id(11).as_str()
        ));
    }
    csv
}

fn lake_batches(data: &Path) -> usize {
    ::exchange::Lake::open(data)
        .map(|l| l.batches().len())
        .unwrap_or(0)
}

async fn account(
    w: &crate::fixtures::World,
    name: &str,
    rate: u32,
    max: u64,
) -> (Department, String) {
    w.state
        .store()
        .add_department(
            &Scope::system(),
            &NewDepartment {
                name: name.into(),
                feeds: vec!["medical".into()],
                purpose: Purpose::DataExchange,
                region_prefix: "99".into(),
                rate_per_minute: rate,
                max_upload_bytes: max,
            },
            NOW,
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn refusals_store_nothing() {
    let w = world().await;
    let lake = tempfile::tempdir().unwrap();
    w.state.set_exchange(lake.path().to_path_buf());
    let (medical, key) = account(&w, "medical-insurance", 1000, 4096).await;
    let store = w.state.store();
    let ledger_before = store.ledger_size(&Scope::system()).await.unwrap();

    // No key, a wrong key, a disabled account.
    let good = medical_event("m-1", "100.00");
    assert_eq!(
        event(&w.app, None, &good).await.status,
        StatusCode::UNAUTHORIZED
    );
    let last = if key.ends_with('0') { '1' } else { '0' };
    let wrong = format!("{}{last}", &key[..key.len() - 1]);
    let answer = event(&w.app, Some(&wrong), &good).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer.json["error"], "wrong_key");

    // A feed the account may not send, as an event and in a batch.
    let income = serde_json::json!({"event_id": "i-1", "feed": "income",
        "row": {"person_id": resident_id(11).as_str()}})
    .to_string();
    let answer = event(&w.app, Some(&key), &income).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.json);
    assert_eq!(answer.json["error"], "feed_not_allowed");
    let answer = batch(
        &w.app,
        &key,
        &[("medical.csv", &medical_csv(1)), ("income.csv", "x")],
    )
    .await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.json);
    assert_eq!(answer.json["error"], "feed_not_allowed");

    // An upload over the account's limit.
    let answer = batch(&w.app, &key, &[("medical.csv", &medical_csv(100))]).await;
    assert_eq!(
        answer.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        answer.json
    );
    assert_eq!(answer.json["error"], "too_large");

    // Malformed events: not JSON, no event_id, a row that breaks the contract.
    for (body, code) in [
        ("{not json", StatusCode::BAD_REQUEST),
        (r#"{"feed": "medical", "row": {}}"#, StatusCode::BAD_REQUEST),
        (
            &*medical_event("m-bad", "a lot"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let answer = event(&w.app, Some(&key), body).await;
        assert_eq!(answer.status, code, "{body}: {}", answer.json);
        assert!(
            !answer.json["message"].as_str().unwrap().contains("a lot"),
            "no values in messages"
        );
    }
    // A path in a file name.
    let answer = batch(&w.app, &key, &[("../medical.csv", &medical_csv(1))]).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);

    assert_eq!(store.department_event_count(&medical).await.unwrap(), 0);
    assert_eq!(lake_batches(lake.path()), 0);
    assert_eq!(
        store.ledger_size(&Scope::system()).await.unwrap(),
        ledger_before
    );
    assert!(
        std::fs::read_dir(lake.path().join("exchange").join("incoming"))
            .map(|d| d.count())
            .unwrap_or(0)
            == 0,
        "no upload left behind"
    );
}

#[tokio::test]
async fn events_are_idempotent_and_batches_get_receipts() {
    let w = world().await;
    let lake = tempfile::tempdir().unwrap();
    w.state.set_exchange(lake.path().to_path_buf());
    let (medical, key) = account(&w, "medical-insurance", 1000, 1 << 20).await;
    let store = w.state.store();

    let first = event(&w.app, Some(&key), &medical_event("m-1", "100.00")).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.json);
    // The same event again, spaced differently: the first receipt, nothing new stored.
    let spaced = serde_json::to_string_pretty(
        &serde_json::from_str::<serde_json::Value>(&medical_event("m-1", "100.00")).unwrap(),
    )
    .unwrap();
    let again = event(&w.app, Some(&key), &spaced).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json["duplicate"], true);
    assert_eq!(again.json["ledger_index"], first.json["ledger_index"]);
    assert_eq!(again.json["content_hash"], first.json["content_hash"]);
    // The same event_id with other content is refused.
    let reused = event(&w.app, Some(&key), &medical_event("m-1", "900.00")).await;
    assert_eq!(reused.status, StatusCode::CONFLICT);
    assert_eq!(store.department_event_count(&medical).await.unwrap(), 1);

    // A batch: imported into the lake, recorded in the ledger with the manifest's hash.
    let answer = batch(&w.app, &key, &[("medical.csv", &medical_csv(3))]).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.json);
    assert_eq!(lake_batches(lake.path()), 1);
    let batch_id = answer.json["batch_id"].as_str().unwrap().to_string();
    let index = answer.json["ledger_index"].as_u64().unwrap();
    let entry = store
        .ledger_entries(&Scope::system(), index, 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(entry.entry.action, Action::ImportBatch);
    assert_eq!(entry.entry.role, store::ledger::Role::DepartmentAccount);
    assert_eq!(entry.entry.actor.0, medical.id as u64);
    let manifest = std::fs::read(
        lake.path()
            .join("lake")
            .join("batches")
            .join(&batch_id)
            .join("manifest.json"),
    )
    .unwrap();
    let hash = store::LEDGER_HASH.hash(&manifest).to_hex();
    assert_eq!(entry.entry.data.digest().to_hex(), hash);
    assert_eq!(answer.json["content_hash"], hash.as_str());
    // The same batch again: the same receipt, the lake unchanged.
    let again = batch(&w.app, &key, &[("medical.csv", &medical_csv(3))]).await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json["ledger_index"], index);
    assert_eq!(lake_batches(lake.path()), 1);
    // The event's receipt is in the ledger too.
    let event_index = first.json["ledger_index"].as_u64().unwrap();
    let entry = store
        .ledger_entries(&Scope::system(), event_index, 1)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        entry.entry.data.digest().to_hex(),
        first.json["content_hash"].as_str().unwrap()
    );
}

#[tokio::test]
async fn each_account_has_its_rate_limit() {
    let w = world().await;
    let lake = tempfile::tempdir().unwrap();
    w.state.set_exchange(lake.path().to_path_buf());
    let (_, slow) = account(&w, "slow", 2, 1 << 20).await;
    let (_, other) = account(&w, "other", 2, 1 << 20).await;
    for i in 0..2 {
        let answer = event(
            &w.app,
            Some(&slow),
            &medical_event(&format!("s-{i}"), "100.00"),
        )
        .await;
        assert_eq!(answer.status, StatusCode::CREATED);
    }
    let answer = event(&w.app, Some(&slow), &medical_event("s-2", "100.00")).await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(answer.json["error"], "rate_limited");
    let answer = event(&w.app, Some(&other), &medical_event("o-1", "100.00")).await;
    assert_eq!(answer.status, StatusCode::CREATED);
}
