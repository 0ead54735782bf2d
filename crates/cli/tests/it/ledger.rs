//! `jiuzhu ledger`: keygen, head, verify and prove on a SQLite log, and verify catching a byte
//! changed in the database file and a log cut short against a published tree head.

use std::path::Path;
use std::process::{Command, Output};

use domain::RegionCode;
use ledger::sql::SqlStore;
use ledger::{
    Action, DataHash, Entry, HashAlgorithm, Ledger, Purpose, Role, SubjectRef, Timestamp, UserId,
};

fn data_hash(i: u64) -> DataHash {
    DataHash::of(
        HashAlgorithm::Sm3,
        format!("synthetic household row {i}").as_bytes(),
    )
}

fn entry(i: u64) -> Entry {
    Entry {
        at: Timestamp(1_764_300_000_000 + i as i64),
        actor: UserId(7),
        role: Role::Caseworker,
        region: RegionCode::parse("990101001201").expect("synthetic region"),
        action: Action::UnmaskedRead,
        purpose: Purpose::Verification,
        case: Some(i),
        subject: SubjectRef::Household(100 + i),
        data: data_hash(i),
    }
}

/// A SQLite log of `n` entries at `path`, closed so that everything is in the database file.
fn write_log(path: &Path, n: u64) {
    let store = SqlStore::connect(&format!("sqlite:{}", path.display())).expect("open");
    let mut ledger = Ledger::open(store, HashAlgorithm::Sm3).expect("open ledger");
    let entries: Vec<Entry> = (0..n).map(entry).collect();
    ledger.append(&entries).expect("append");
    ledger.into_store().close();
}

fn jiuzhu(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_jiuzhu"))
        .arg("ledger")
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("JIUZHU_DATABASE")
        .env_remove("JIUZHU_LEDGER_KEY")
        .output()
        .expect("run jiuzhu")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn head_verify_and_prove_then_catch_tampering() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path();
    let database = data.join("jiuzhu.sqlite");
    write_log(&database, 25);

    let keygen = jiuzhu(data, &["keygen"]);
    assert!(keygen.status.success(), "{keygen:?}");
    let key = data.join("keys").join("ledger.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key)
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the key file is private");
    }
    assert!(
        !jiuzhu(data, &["keygen"]).status.success(),
        "an existing key is not overwritten"
    );

    let head_file = data.join("head.json");
    let head = jiuzhu(
        data,
        &["head", "--out", head_file.to_str().expect("utf-8 path")],
    );
    assert!(head.status.success(), "{head:?}");
    assert!(stdout(&head).contains("\"size\": 25"), "{}", stdout(&head));
    assert!(stdout(&head).contains("\"algorithm\": \"sm2\""));

    let verify = jiuzhu(
        data,
        &[
            "verify",
            "--tree-head",
            head_file.to_str().expect("utf-8 path"),
        ],
    );
    assert!(verify.status.success(), "{verify:?}");
    assert!(
        stdout(&verify).contains("ledger intact: 25 entries"),
        "{}",
        stdout(&verify)
    );
    assert!(stdout(&verify).contains("2 tree heads checked"));

    let prove = jiuzhu(data, &["prove", "--entry", "7"]);
    assert!(prove.status.success(), "{prove:?}");
    assert!(
        stdout(&prove).contains("verified: entry 7 is in the signed tree head of size 25"),
        "{}",
        stdout(&prove)
    );
    assert!(jiuzhu(data, &["prove", "--entry", "25"]).status.code() != Some(0));

    // One byte of entry 7 changed in the database file itself.
    let mut bytes = std::fs::read(&database).expect("read database");
    let needle = data_hash(7).digest().0;
    let at = bytes
        .windows(32)
        .position(|w| w == needle)
        .expect("entry 7 in the file");
    bytes[at] ^= 0x01;
    std::fs::write(&database, &bytes).expect("write database");
    let verify = jiuzhu(data, &["verify"]);
    assert!(!verify.status.success());
    assert!(
        stdout(&verify).contains("first bad entry 7: altered"),
        "{}",
        stdout(&verify)
    );
}

#[test]
fn verify_catches_a_log_cut_short_against_a_published_head() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path();
    write_log(&data.join("jiuzhu.sqlite"), 12);
    let head_file = data.join("head.json");
    let head_path = head_file.to_str().expect("utf-8 path");
    assert!(
        jiuzhu(
            data,
            &["head", "--algorithm", "ed25519", "--out", head_path]
        )
        .status
        .success()
    );

    // A copy of the log that lost its last two entries (and its stored heads).
    let short = data.join("short.db");
    write_log(&short, 10);
    let url = format!("sqlite:{}", short.display());
    let verify = jiuzhu(
        data,
        &["verify", "--database", &url, "--tree-head", head_path],
    );
    assert!(!verify.status.success());
    assert!(
        stdout(&verify).contains("first bad entry 10: missing: the log is truncated"),
        "{}",
        stdout(&verify)
    );
}
