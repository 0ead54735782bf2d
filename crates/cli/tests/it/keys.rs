//! `jiuzhu keys rotate` on a real SQLite store: a reader in another process keeps reading
//! households throughout and never fails; a rotation killed with SIGKILL resumes and completes;
//! afterwards no field is sealed by the old key and the ledger records the rotation.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};

use domain::{Gender, PersonStatus, RegionCode, Relation, ResidentId};
use store::privacy::{Algorithm, Kek};
use store::{PopulationRow, Role, Scope, Store, Timestamp};

const KEY: &str = "8f3a9c0d1e2b4a5968778695a4b3c2d1e0f1a2b3c4d5e6f708192a3b4c5d6e7f";
const NOW: Timestamp = Timestamp(1_782_871_200);
const PER_HOUSEHOLD: usize = 3;

fn kek() -> Kek {
    Kek::from_hex(KEY).unwrap()
}

fn resident_id(i: usize) -> ResidentId {
    let first17 = format!(
        "99010119500{}{:02}{:03}",
        1 + i / 28_000,
        1 + (i / 1000) % 28,
        i % 1000
    );
    let check = domain::id::check_char(first17.as_bytes()) as char;
    ResidentId::parse(&format!("{first17}{check}")).unwrap()
}

fn household(i: usize) -> String {
    format!("HK{:05}", i / PER_HOUSEHOLD)
}

fn name(i: usize) -> String {
    format!("测试{}号", i)
}

fn url(data: &Path) -> String {
    format!("sqlite:{}", data.join("jiuzhu.sqlite").display())
}

/// A store of `persons` synthetic persons in households of three.
async fn city(data: &Path, persons: usize) {
    let store = Store::open(&url(data), &kek(), Algorithm::default(), NOW)
        .await
        .unwrap();
    let rows: Vec<PopulationRow> = (0..persons)
        .map(|i| PopulationRow {
            person_id: resident_id(i),
            name: name(i),
            gender: if i % 2 == 0 {
                Gender::Male
            } else {
                Gender::Female
            },
            household_id: household(i),
            relation: if i % PER_HOUSEHOLD == 0 {
                Relation::Head
            } else {
                Relation::Child
            },
            region_code: RegionCode::parse("990101001001").unwrap(),
            address: Some(format!("示范市幸福路{}号", i / PER_HOUSEHOLD)),
            status: PersonStatus::Normal,
            status_date: None,
            spouse_id: None,
            father_id: None,
            mother_id: None,
        })
        .collect();
    store
        .load_population(&Scope::system(), &rows)
        .await
        .unwrap();
    store.close().await;
}

fn jiuzhu(data: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jiuzhu"));
    command
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env("JIUZHU_KEY", KEY)
        .env_remove("JIUZHU_DATABASE")
        .env_remove("JIUZHU_DATA_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn run(data: &Path, args: &[&str]) -> Output {
    let output = jiuzhu(data, args).output().expect("runs jiuzhu");
    assert!(
        output.status.success(),
        "jiuzhu {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The key ids `keys status` reports, with how many values each seals.
fn key_counts(data: &Path) -> Vec<(u32, u64)> {
    let out = String::from_utf8(run(data, &["keys", "status"]).stdout).unwrap();
    let mut counts: Vec<(u32, u64)> = Vec::new();
    for line in out.lines().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let (key, n): (u32, u64) = (cols[2].parse().unwrap(), cols[3].parse().unwrap());
        match counts.iter_mut().find(|(k, _)| *k == key) {
            Some(c) => c.1 += n,
            None => counts.push((key, n)),
        }
    }
    counts.sort();
    counts
}

/// Every household read back whole and right.
async fn check_all(store: &Store, persons: usize) {
    let scope = Scope::new(7, &[Role::Reviewer], "99").unwrap();
    let index: std::collections::HashMap<String, usize> = (0..persons)
        .map(|i| (resident_id(i).as_str().to_string(), i))
        .collect();
    for h in 0..persons / PER_HOUSEHOLD {
        let members = store
            .household_members(&scope, &household(h * PER_HOUSEHOLD))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(members.len(), PER_HOUSEHOLD);
        for m in &members {
            let i = index[m.person_id.as_str()];
            assert_eq!(m.name.expose(), name(i));
        }
    }
}

#[tokio::test]
async fn readers_never_fail_while_keys_rotate() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let persons = 900;
    city(data, persons).await;
    assert_eq!(key_counts(data), vec![(1, (persons * 3) as u64)]);

    // A reader that opened the store before the rotation, like a running server.
    let reader = Store::open(&url(data), &kek(), Algorithm::default(), NOW)
        .await
        .unwrap();
    let scope = Scope::new(7, &[Role::Reviewer], "99").unwrap();
    let mut child = jiuzhu(
        data,
        &["keys", "rotate", "--batch", "30", "--pause-ms", "5"],
    )
    .spawn()
    .unwrap();
    let mut reads = 0u64;
    let mut h = 0usize;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        let id = household(h * PER_HOUSEHOLD);
        let members = store_read(&reader, &scope, &id).await;
        assert_eq!(members, PER_HOUSEHOLD, "household {id}");
        reads += 1;
        h = (h + 1) % (persons / PER_HOUSEHOLD);
    };
    let output = child.wait_with_output().unwrap();
    assert!(
        status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        reads > 10,
        "the reader read during the rotation ({reads} reads)"
    );
    assert!(
        String::from_utf8_lossy(&output.stdout)
            .contains("done: every personal field is sealed by key 3")
    );
    // No value under the old key; the old reader still reads everything.
    assert_eq!(key_counts(data), vec![(3, (persons * 3) as u64)]);
    check_all(&reader, persons).await;
    reader.close().await;
    let verified = run(data, &["ledger", "verify"]);
    assert!(String::from_utf8_lossy(&verified.stdout).contains("ledger intact"));
}

async fn store_read(store: &Store, scope: &Scope, household: &str) -> usize {
    match store.household_members(scope, household).await {
        Ok(Some(members)) => members.len(),
        Ok(None) => panic!("household {household} not found"),
        Err(error) => panic!("a read failed during the rotation: {error}"),
    }
}

#[tokio::test]
async fn a_killed_rotation_resumes_and_completes() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let persons = 1500;
    city(data, persons).await;

    let mut child = jiuzhu(
        data,
        &["keys", "rotate", "--batch", "20", "--pause-ms", "10"],
    )
    .spawn()
    .unwrap();
    // Kill it with SIGKILL once some batches have committed.
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    loop {
        let line = lines
            .next()
            .expect("the rotation reports progress")
            .unwrap();
        if let Some(n) = line
            .strip_prefix("resealed ")
            .and_then(|l| l.split(' ').next())
            .and_then(|n| n.parse::<u64>().ok())
            && n >= 300
        {
            break;
        }
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "killed mid-rotation");
    let partial = key_counts(data);
    assert_eq!(partial.len(), 2, "both keys seal values: {partial:?}");
    assert_eq!(
        partial.iter().map(|(_, n)| n).sum::<u64>(),
        (persons * 3) as u64
    );

    let output = run(data, &["keys", "rotate", "--batch", "200"]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        text.contains("resuming the rotation to field key 3"),
        "{text}"
    );
    assert!(text.contains("done"), "{text}");
    assert_eq!(key_counts(data), vec![(3, (persons * 3) as u64)]);

    // Every value reads back as it was; a second rotation starts afresh with key 4.
    let store = Store::open(&url(data), &kek(), Algorithm::default(), NOW)
        .await
        .unwrap();
    check_all(&store, persons).await;
    store.close().await;
    let output = run(data, &["keys", "rotate"]);
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("starting the rotation to field key 4")
    );
    assert_eq!(key_counts(data), vec![(4, (persons * 3) as u64)]);
    let verified = run(data, &["ledger", "verify"]);
    assert!(String::from_utf8_lossy(&verified.stdout).contains("ledger intact"));
}
