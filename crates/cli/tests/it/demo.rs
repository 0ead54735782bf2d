//! `jiuzhu demo` end to end on a small city: generate, import, screen, load, users — then the
//! server answers on loopback and a demo caseworker can sign in.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Command, Stdio};

fn jiuzhu() -> Command {
    Command::new(env!("CARGO_BIN_EXE_jiuzhu"))
}

fn http_get(port: u16, path: &str) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn demo_prepares_a_city_and_serves_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let output = jiuzhu()
        .args(["demo", "--persons", "3000", "--no-serve", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for step in ["1/5", "2/5", "3/5", "4/5", "5/5"] {
        assert!(stdout.contains(step), "{stdout}");
    }
    for role in [
        "caseworker",
        "reviewer",
        "approver",
        "analyst",
        "auditor",
        "administrator",
    ] {
        assert!(stdout.contains(role), "no demo user for {role}: {stdout}");
    }
    for file in [
        "households.csv",
        "persons.csv",
        "anomalies.csv",
        "warnings.csv",
        "recommendations.csv",
        "linkage.csv",
    ] {
        assert!(data.join("results").join(file).exists(), "{file}");
    }
    assert!(data.join("jiuzhu.sqlite").exists());

    // A second run reuses the same data and store, and serves on a free port.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut child = jiuzhu()
        .args([
            "demo",
            "--persons",
            "3000",
            "--port",
            &port.to_string(),
            "--data-dir",
        ])
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut serving = false;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if line.starts_with("serving at") {
            serving = true;
            break;
        }
    }
    assert!(serving, "the demo did not start serving");
    // "serving at" is printed after the socket is bound.
    let health = http_get(port, "/healthz");
    assert!(health.ends_with("ok"), "{health}");
    let login = http_get(port, "/login");
    assert!(login.contains("name=\"csrf\""), "{login}");
    child.kill().unwrap();
    let _ = child.wait();
}
