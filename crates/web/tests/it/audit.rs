//! The audit trail through the router: a decision and a read of unmasked personal data by a
//! caseworker, then an auditor who signs a tree head and finds both entries, with inclusion
//! proofs that verify against it; refusals write nothing.

use crate::fixtures::{Client, resident_id, world};
use axum::http::StatusCode;
use store::ledger::{
    Action, ConsistencyProof, DataHash, EntryProof, HashAlgorithm, Purpose, Record,
    SignatureAlgorithm, SignedTreeHead, SigningKey,
};

fn key() -> SigningKey {
    SigningKey::from_seed(SignatureAlgorithm::Sm2, [7u8; 32]).unwrap()
}

async fn entries(auditor: &mut Client<'_>) -> Vec<Record> {
    let page = auditor.get("/audit/api/entries?from=0&limit=1000").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    serde_json::from_str(&page.body).unwrap()
}

async fn sign_head(auditor: &mut Client<'_>) -> SignedTreeHead {
    let page = auditor.get("/audit").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = Client::csrf_in(&page);
    let page = auditor.post("/audit/heads", &[("csrf", &csrf)]).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let page = auditor.get("/audit/api/head").await;
    assert_eq!(page.status, StatusCode::OK);
    let head: serde_json::Value = serde_json::from_str(&page.body).unwrap();
    let signed: SignedTreeHead = serde_json::from_value(head["signed"].clone()).unwrap();
    assert_eq!(head["size"].as_u64(), Some(signed.head.size));
    assert_eq!(
        head["root"].as_str(),
        Some(signed.head.root.to_hex().as_str())
    );
    signed
}

async fn proven(auditor: &mut Client<'_>, index: u64, head: &SignedTreeHead) -> EntryProof {
    let page = auditor
        .get(&format!(
            "/audit/api/entries/{index}?tree_size={}",
            head.head.size
        ))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    serde_json::from_str(&page.body).unwrap()
}

#[tokio::test]
async fn a_decision_and_a_reveal_are_in_the_ledger_with_proofs() {
    let w = world().await;
    w.state.set_ledger_key(key());
    let trusted = key().public_key().clone();
    let full_id = resident_id(11).as_str().to_string();

    // A caseworker verifies and decides her task, then reveals the household's members.
    let mut cw = Client::new(&w.app);
    cw.sign_in("cw_a").await;
    let page = cw.get(&format!("/tasks/{}", w.task_a)).await;
    let csrf = Client::csrf_in(&page);
    let page = cw
        .post(
            &format!("/tasks/{}/verify", w.task_a),
            &[("csrf", &csrf), ("note", "入户核查：独居老人")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let page = cw
        .post(
            &format!("/tasks/{}/decide", w.task_a),
            &[
                ("csrf", &csrf),
                ("outcome", "include"),
                ("reason", "收入低于标准"),
                ("item", "dibao"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);

    let profile = cw.get("/households/HA0001").await;
    assert_eq!(profile.status, StatusCode::OK);
    assert!(!profile.body.contains(&full_id), "the profile is masked");
    assert!(profile.body.contains("/households/HA0001/reveal"));
    let page = cw
        .post(
            "/households/HA0001/reveal",
            &[("csrf", &csrf), ("purpose", "verification")],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains(&full_id), "the reveal shows the full ID");
    assert!(page.body.contains("欧阳明远"));

    // The auditor signs a head and finds both entries, each with a proof that verifies.
    let mut auditor = Client::new(&w.app);
    auditor.sign_in("auditor").await;
    let head = sign_head(&mut auditor).await;
    assert!(head.verify_with(&trusted), "signed with the server's key");
    let log = entries(&mut auditor).await;
    assert_eq!(log.len() as u64, head.head.size);
    let decision = log
        .iter()
        .find(|r| r.entry.action == Action::Decision && r.entry.case == Some(w.task_a as u64))
        .expect("the decision is in the ledger");
    let reveal = log
        .iter()
        .find(|r| r.entry.action == Action::UnmaskedRead)
        .expect("the reveal is in the ledger");
    assert_eq!(reveal.entry.purpose, Purpose::Verification);
    assert_eq!(reveal.entry.region.as_str(), "990101001001");
    assert_eq!(decision.entry.actor, reveal.entry.actor);
    assert_eq!(decision.entry.role, store::ledger::Role::Caseworker);
    assert!(page.body.contains(&reveal.index.to_string()));
    for record in [decision, reveal] {
        let proof = proven(&mut auditor, record.index, &head).await;
        assert_eq!(proof.record, *record);
        assert!(proof.verify(&head.head), "entry {} verifies", record.index);
        assert_eq!(proof.tree_head.as_ref(), Some(&head));
        // A proof against another root fails.
        let mut other = head.head;
        other.root.0[0] ^= 1;
        assert!(!proof.verify(&other));
    }
    // No personal data in the log as the auditor reads it.
    let json = auditor
        .get("/audit/api/entries?from=0&limit=1000")
        .await
        .body;
    let page = auditor.get("/audit").await.body;
    for text in [&json, &page] {
        assert!(!text.contains(&full_id) && !text.contains("欧阳") && !text.contains("HA0001"));
    }

    // A later head is consistent with the first.
    let before = head.head.size;
    cw.post(
        "/households/HA0001/reveal",
        &[("csrf", &csrf), ("purpose", "appeal")],
    )
    .await;
    let later = sign_head(&mut auditor).await;
    assert_eq!(later.head.size, before + 1);
    let page = auditor
        .get(&format!(
            "/audit/api/consistency?first={before}&second={}",
            later.head.size
        ))
        .await;
    let proof: ConsistencyProof = serde_json::from_str(&page.body).unwrap();
    assert!(proof.verify(&head.head, &later.head));
}

#[tokio::test]
async fn refused_reveals_write_nothing_and_only_auditors_read_the_log() {
    let w = world().await;
    let mut auditor = Client::new(&w.app);
    auditor.sign_in("auditor").await;
    let start = entries(&mut auditor).await.len();

    let mut cw_b = Client::new(&w.app);
    cw_b.sign_in("cw_b").await;
    let page = cw_b.get("/tasks").await;
    let csrf = Client::csrf_in(&page);
    // Another township's household is not found, a purpose outside the list is refused, a
    // forged form is refused.
    let page = cw_b
        .post(
            "/households/HA0001/reveal",
            &[("csrf", &csrf), ("purpose", "verification")],
        )
        .await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    for (purpose, token) in [("statistics", csrf.as_str()), ("verification", "forged")] {
        let page = cw_b
            .post(
                "/households/HB0001/reveal",
                &[("csrf", token), ("purpose", purpose)],
            )
            .await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{purpose}");
    }
    // Auditors and analysts do not reveal; caseworkers and analysts do not read the log.
    let page = auditor.get("/audit").await;
    let auditor_csrf = Client::csrf_in(&page);
    let page = auditor
        .post(
            "/households/HA0001/reveal",
            &[("csrf", &auditor_csrf), ("purpose", "verification")],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    for path in ["/audit", "/audit/api/head", "/audit/api/entries/0"] {
        assert_eq!(cw_b.get(path).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    assert_eq!(
        entries(&mut auditor).await.len(),
        start,
        "nothing was written"
    );
    // Without a signing key the server signs nothing.
    let page = auditor
        .post("/audit/heads", &[("csrf", &auditor_csrf)])
        .await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST);
    // Out-of-range proofs are not found.
    let page = auditor.get("/audit/api/entries/100000").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn every_download_is_an_export_entry_with_the_hash_of_the_file() {
    let w = world().await;
    w.state.set_ledger_key(key());
    let mut analyst = Client::new(&w.app);
    analyst.sign_in("analyst").await;
    let mut downloads = Vec::new();
    for path in [
        "/dashboard?format=csv&table=by_tier",
        "/dashboard?format=xlsx",
        "/dashboard/warnings?format=csv&table=by_level",
        "/map?format=csv",
    ] {
        let page = analyst.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}: {}", page.body);
        let index = page
            .ledger_entry
            .unwrap_or_else(|| panic!("{path} names its ledger entry"));
        downloads.push((path, index, page.bytes));
    }
    // A refused download (an unknown table) writes nothing.
    let refused = analyst.get("/dashboard?format=csv&table=nonesuch").await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert_eq!(refused.ledger_entry, None);

    let mut auditor = Client::new(&w.app);
    auditor.sign_in("auditor").await;
    let head = sign_head(&mut auditor).await;
    let log = entries(&mut auditor).await;
    let exports: Vec<&Record> = log
        .iter()
        .filter(|r| r.entry.action == Action::Export)
        .collect();
    assert_eq!(exports.len(), downloads.len(), "one entry per download");
    for (path, index, bytes) in &downloads {
        let record = log
            .iter()
            .find(|r| r.index == *index)
            .unwrap_or_else(|| panic!("entry {index} of {path}"));
        assert_eq!(record.entry.action, Action::Export, "{path}");
        assert_eq!(record.entry.purpose, Purpose::Statistics);
        assert_eq!(record.entry.role, store::ledger::Role::Analyst);
        assert_eq!(record.entry.region.as_str(), "990101000000");
        assert_eq!(
            record.entry.data,
            DataHash::of(HashAlgorithm::Sm3, bytes),
            "{path}: the entry holds the hash of the file as sent"
        );
        let proof = proven(&mut auditor, *index, &head).await;
        assert!(proof.verify(&head.head), "{path}");
    }
}
