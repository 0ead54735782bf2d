//! `jiuzhu users add|list|disable|enable` against a SQLite store under a temporary data
//! directory, with the key from a key file or the environment.

use std::io::Write as _;
use std::process::{Command, Output, Stdio};

const KEY: &str = "8f3a9c0d1e2b4a5968778695a4b3c2d1e0f1a2b3c4d5e6f708192a3b4c5d6e7f";

fn jiuzhu(data: &std::path::Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_jiuzhu"))
        .arg("users")
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .env("JIUZHU_KEY", KEY)
        .env_remove("JIUZHU_DATABASE")
        .env_remove("JIUZHU_DATA_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts jiuzhu");
    if let Some(mut input) = child.stdin.take() {
        input.write_all(stdin.as_bytes()).expect("writes stdin");
    }
    child.wait_with_output().expect("runs jiuzhu")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn add_list_disable_enable() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path();
    let added = jiuzhu(
        data,
        &[
            "add",
            "wang.li",
            "--roles",
            "caseworker,reviewer",
            "--region",
            "990101001",
        ],
        "a-long-password\n",
    );
    assert!(added.status.success(), "{}", text(&added.stderr));
    assert!(text(&added.stdout).contains("wang.li\tcaseworker,reviewer\t990101001\tenabled"));
    assert!(data.join("jiuzhu.sqlite").exists());

    let admin = jiuzhu(
        data,
        &["add", "root", "--roles", "管理员"],
        "another-long-one\n",
    );
    assert!(admin.status.success(), "{}", text(&admin.stderr));
    assert!(text(&admin.stdout).contains("root\tadministrator\t*\tenabled"));

    let again = jiuzhu(
        data,
        &["add", "wang.li", "--roles", "caseworker"],
        "a-long-password\n",
    );
    assert!(!again.status.success());
    assert!(text(&again.stderr).contains("already exists"));

    let disabled = jiuzhu(data, &["disable", "wang.li"], "");
    assert!(disabled.status.success(), "{}", text(&disabled.stderr));
    let list = jiuzhu(data, &["list"], "");
    assert!(list.status.success(), "{}", text(&list.stderr));
    let listed = text(&list.stdout);
    assert!(listed.contains("root\tadministrator"));
    assert!(listed.contains("wang.li\tcaseworker,reviewer\t990101001\tdisabled"));
    assert!(!listed.contains("a-long-password"));

    let enabled = jiuzhu(data, &["enable", "wang.li"], "");
    assert!(text(&enabled.stdout).contains("\tenabled"));
    let missing = jiuzhu(data, &["disable", "nobody"], "");
    assert!(!missing.status.success());
}

#[test]
fn refuses_bad_input_clearly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path();
    let role = jiuzhu(
        data,
        &["add", "x.y", "--roles", "boss"],
        "a-long-password\n",
    );
    assert!(!role.status.success());
    assert!(text(&role.stderr).contains("unknown role"));
    let short = jiuzhu(data, &["add", "x.y", "--roles", "analyst"], "short\n");
    assert!(!short.status.success());
    assert!(text(&short.stderr).contains("at least 10 characters"));
    let empty = jiuzhu(data, &["add", "x.y", "--roles", "analyst"], "");
    assert!(!empty.status.success());
    assert!(text(&empty.stderr).contains("standard input"));

    // No key: neither --key-file nor JIUZHU_KEY.
    let no_key = Command::new(env!("CARGO_BIN_EXE_jiuzhu"))
        .args(["users", "list", "--data-dir"])
        .arg(data)
        .env_remove("JIUZHU_KEY")
        .output()
        .expect("runs");
    assert!(!no_key.status.success());
    assert!(text(&no_key.stderr).contains("key-encryption key"));

    // A key file works; a different key does not open the same store.
    let key_file = dir.path().join("kek.hex");
    std::fs::write(&key_file, format!("{KEY}\n")).expect("writes key");
    let with_file = Command::new(env!("CARGO_BIN_EXE_jiuzhu"))
        .args(["users", "list", "--data-dir"])
        .arg(data)
        .arg("--key-file")
        .arg(&key_file)
        .env_remove("JIUZHU_KEY")
        .output()
        .expect("runs");
    assert!(with_file.status.success(), "{}", text(&with_file.stderr));
    std::fs::write(&key_file, KEY.replace('8', "9")).expect("writes key");
    let wrong = Command::new(env!("CARGO_BIN_EXE_jiuzhu"))
        .args(["users", "list", "--data-dir"])
        .arg(data)
        .arg("--key-file")
        .arg(&key_file)
        .env_remove("JIUZHU_KEY")
        .output()
        .expect("runs");
    assert!(!wrong.status.success());
    assert!(text(&wrong.stderr).contains("does not unwrap"));
}
