//! `jiuzhu backup` while writes go on, then `jiuzhu restore` into an empty installation, on
//! SQLite and on PostgreSQL: the restored ledger verifies, the lake and the store answer the
//! same queries, and a damaged backup is refused before anything is written.

use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use domain::{Gender, PersonStatus, RegionCode, Relation, ResidentId};
use store::ledger::Purpose;
use store::privacy::{Algorithm, Kek};
use store::{NewUser, PopulationRow, Role, Scope, Store, Timestamp};

const KEY: &str = "8f3a9c0d1e2b4a5968778695a4b3c2d1e0f1a2b3c4d5e6f708192a3b4c5d6e7f";
const NOW: Timestamp = Timestamp(1_782_871_200);
const PG_SERVER: &str = "postgres://postgres@127.0.0.1:5432";

fn kek() -> Kek {
    Kek::from_hex(KEY).unwrap()
}

fn resident_id(i: usize) -> ResidentId {
    let first17 = format!("990101195001{:02}{:03}", 1 + i / 1000, i % 1000);
    let check = domain::id::check_char(first17.as_bytes()) as char;
    ResidentId::parse(&format!("{first17}{check}")).unwrap()
}

fn jiuzhu(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jiuzhu"));
    command
        .args(args)
        .env("JIUZHU_KEY", KEY)
        .env_remove("JIUZHU_DATABASE")
        .env_remove("JIUZHU_DATA_DIR");
    command
}

fn ok(mut command: Command) -> Output {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A department batch of `n` persons for the lake.
fn write_batch(dir: &Path, n: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let mut pop =
        String::from("person_id,name,gender,birth_date,household_id,relation,region_code,status\n");
    for i in 0..n {
        pop.push_str(&format!(
            "{},测试{i},male,1950-01-01,HB{i},head,990101001201,normal\n",
            resident_id(i).as_str()
        ));
    }
    std::fs::write(dir.join("population.csv"), pop).unwrap();
}

fn location(data: &Path, url: &str) -> Vec<String> {
    vec![
        "--data-dir".into(),
        data.display().to_string(),
        "--database".into(),
        url.into(),
    ]
}

/// The subcommand and its arguments, then the installation's location.
fn with(location: Vec<String>, command: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = command.iter().map(|s| s.to_string()).collect();
    args.extend(location);
    args
}

fn cmd(args: &[String]) -> Command {
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    jiuzhu(&refs)
}

/// The whole story on one backend: `source` and `target` are two database URLs (the target
/// empty), `work` a scratch folder.
async fn story(source: &str, target: &str, work: &Path) {
    let data = work.join("data");
    let restored = work.join("restored");
    let backup = work.join("backup");
    let batch = work.join("batch");
    write_batch(&batch, 60);
    ok(jiuzhu(&[
        "import",
        batch.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ]));

    // The store: persons, users, and ledger entries.
    let store = Arc::new(
        Store::open(source, &kek(), Algorithm::default(), NOW)
            .await
            .unwrap(),
    );
    let admin = Scope::system();
    let rows: Vec<PopulationRow> = (0..60)
        .map(|i| PopulationRow {
            person_id: resident_id(i),
            name: format!("测试{i}"),
            gender: Gender::Male,
            household_id: format!("HB{i}"),
            relation: Relation::Head,
            region_code: RegionCode::parse("990101001201").unwrap(),
            address: None,
            status: PersonStatus::Normal,
            status_date: None,
            spouse_id: None,
            father_id: None,
            mother_id: None,
        })
        .collect();
    store.load_population(&admin, &rows).await.unwrap();

    // Writes go on while the backup runs: users and export entries.
    let stop = Arc::new(AtomicBool::new(false));
    let written = Arc::new(AtomicU64::new(0));
    let writer = {
        let (store, stop, written) = (store.clone(), stop.clone(), written.clone());
        tokio::spawn(async move {
            let admin = Scope::system();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                if n.is_multiple_of(50) {
                    let user = NewUser {
                        username: format!("clerk{n}"),
                        roles: vec![Role::Caseworker],
                        region_prefix: "990101".into(),
                        password: "a long enough password".into(),
                    };
                    store.add_user(&admin, &user, NOW).await.unwrap();
                }
                store
                    .record_export(&admin, "test.csv", Purpose::Statistics, b"a,b\n", NOW)
                    .await
                    .unwrap();
                n += 1;
                written.store(n, Ordering::Relaxed);
            }
        })
    };
    while written.load(Ordering::Relaxed) < 3 {
        tokio::task::yield_now().await;
    }
    let before = written.load(Ordering::Relaxed);
    let ledger_before = store.ledger_size(&admin).await.unwrap();
    let args = with(
        location(&data, source),
        &["backup", "--to", backup.to_str().unwrap()],
    );
    let out = tokio::task::spawn_blocking(move || ok(cmd(&args)))
        .await
        .unwrap();
    let during = written.load(Ordering::Relaxed) - before;
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    assert!(text(&out).contains("backed up"), "{}", text(&out));
    assert!(during > 0, "writes went on during the backup");
    assert!(backup.join("manifest.json").is_file());

    // A damaged copy is refused before anything is written.
    let damaged = work.join("damaged");
    copy_dir(&backup, &damaged);
    let part = find_file(&damaged.join("lake"), "parquet").expect("a Parquet file in the backup");
    let mut bytes = std::fs::read(&part).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&part, bytes).unwrap();
    let elsewhere = work.join("elsewhere");
    let out = cmd(&with(
        location(&elsewhere, target),
        &["restore", "--from", damaged.to_str().unwrap()],
    ))
    .output()
    .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not match its hash"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!elsewhere.join("jiuzhu.sqlite").exists() && !elsewhere.join("lake").exists());

    // Restore into the empty installation.
    let out = ok(cmd(&with(
        location(&restored, target),
        &["restore", "--from", backup.to_str().unwrap()],
    )));
    assert!(text(&out).contains("backup checked"), "{}", text(&out));
    // A second restore onto it is refused.
    let again = cmd(&with(
        location(&restored, target),
        &["restore", "--from", backup.to_str().unwrap()],
    ))
    .output()
    .unwrap();
    assert!(!again.status.success());

    // The ledger verifies; the lake and the store answer as the original did.
    let verified = ok(cmd(&with(
        location(&restored, target),
        &["ledger", "verify"],
    )));
    assert!(
        text(&verified).contains("ledger intact"),
        "{}",
        text(&verified)
    );
    let lake = |d: &Path| {
        text(&ok(cmd(&[
            "lake".into(),
            "ls".into(),
            "--data-dir".into(),
            d.display().to_string(),
        ])))
    };
    assert_eq!(lake(&data), lake(&restored));
    let copy = Store::open(target, &kek(), Algorithm::default(), NOW)
        .await
        .unwrap();
    let reader = Scope::new(9, &[Role::Reviewer], "99").unwrap();
    for i in [0usize, 17, 59] {
        let h = format!("HB{i}");
        let view = |m: Option<Vec<store::Person>>| -> Vec<(String, String, u16)> {
            m.unwrap()
                .iter()
                .map(|p| {
                    (
                        p.person_id.as_str().to_string(),
                        p.name.expose().to_string(),
                        p.birth_year as u16,
                    )
                })
                .collect()
        };
        let a = view(store.household_members(&reader, &h).await.unwrap());
        let b = view(copy.household_members(&reader, &h).await.unwrap());
        assert_eq!(a, b, "{h}");
        assert_eq!(b.len(), 1);
    }
    // The copy is one moment of the original: its users and ledger are a prefix of the
    // original's, and hold entries written while the backup ran.
    let users_then = copy.users(&admin).await.unwrap();
    let users_now = store.users(&admin).await.unwrap();
    assert!(!users_then.is_empty() && users_then.len() <= users_now.len());
    assert!(users_then.iter().all(|u| users_now.contains(u)));
    let size = copy.ledger_size(&admin).await.unwrap();
    assert!(
        size >= ledger_before,
        "the copy holds what was written before the backup"
    );
    let copied = copy.ledger_entries(&admin, 0, size).await.unwrap();
    let original = store.ledger_entries(&admin, 0, size).await.unwrap();
    assert_eq!(copied, original);
    copy.close().await;
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

fn find_file(dir: &Path, extension: &str) -> Option<std::path::PathBuf> {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if let Some(found) = find_file(&path, extension) {
                return Some(found);
            }
        } else if path.extension().is_some_and(|e| e == extension) {
            return Some(path);
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_while_writing_then_restore_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    let source = format!(
        "sqlite:{}",
        work.join("data").join("jiuzhu.sqlite").display()
    );
    std::fs::create_dir_all(work.join("data")).unwrap();
    let target = format!(
        "sqlite:{}",
        work.join("restored").join("jiuzhu.sqlite").display()
    );
    story(&source, &target, work).await;
}

/// Runs SQL on the PostgreSQL server's `test` database; `None` when the server is unreachable.
fn psql(sql: &str) -> Option<Output> {
    let out = Command::new("psql")
        .args(["--no-psqlrc", "--quiet", "--command", sql])
        .arg(format!("{PG_SERVER}/test"))
        .output()
        .ok()?;
    out.status.success().then_some(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_while_writing_then_restore_on_postgres() {
    let n = std::process::id();
    let (source, target) = (
        format!("jiuzhu_backup_a_{n}"),
        format!("jiuzhu_backup_b_{n}"),
    );
    if psql(&format!("CREATE DATABASE {source}")).is_none() {
        assert!(
            std::env::var_os("JIUZHU_REQUIRE_POSTGRES").is_none(),
            "PostgreSQL at {PG_SERVER} is unreachable but JIUZHU_REQUIRE_POSTGRES is set"
        );
        eprintln!(
            "\n!!!!!!!! PostgreSQL at {PG_SERVER} is unreachable; the PostgreSQL backup test is SKIPPED !!!!!!!!\n"
        );
        return;
    }
    psql(&format!("CREATE DATABASE {target}")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let outcome = tokio::spawn({
        let (source, target) = (
            format!("{PG_SERVER}/{source}"),
            format!("{PG_SERVER}/{target}"),
        );
        let work = dir.path().to_path_buf();
        async move { story(&source, &target, &work).await }
    })
    .await;
    for name in [&source, &target] {
        psql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
    }
    if let Err(error) = outcome {
        std::panic::resume_unwind(error.into_panic());
    }
}
