//! `jiuzhu serve` over loopback TLS: a certificate made with openssl, a real server process, and
//! curl as the client; plain HTTP to the TLS port gets no page.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

const KEY: &str = "8f3a9c0d1e2b4a5968778695a4b3c2d1e0f1a2b3c4d5e6f708192a3b4c5d6e7f";

fn certificate(dir: &Path) {
    let status = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(dir.join("key.pem"))
        .arg("-out")
        .arg(dir.join("cert.pem"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("runs openssl");
    assert!(status.success());
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn serves_https_on_loopback() {
    let dir = tempfile::tempdir().unwrap();
    certificate(dir.path());
    let port = free_port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_jiuzhu"))
        .arg("serve")
        .arg("--data-dir")
        .arg(dir.path().join("data"))
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--tls-cert")
        .arg(dir.path().join("cert.pem"))
        .arg("--tls-key")
        .arg(dir.path().join("key.pem"))
        .env("JIUZHU_KEY", KEY)
        .env_remove("JIUZHU_DATABASE")
        .env_remove("JIUZHU_DATA_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let result = std::panic::catch_unwind(|| {
        assert!(
            line.contains(&format!("https://127.0.0.1:{port}/")),
            "{line}"
        );
        let https = Command::new("curl")
            .args(["--silent", "--show-error", "--max-time", "10", "--cacert"])
            .arg(dir.path().join("cert.pem"))
            .arg(format!("https://127.0.0.1:{port}/healthz"))
            .output()
            .unwrap();
        assert!(
            https.status.success(),
            "{}",
            String::from_utf8_lossy(&https.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&https.stdout), "ok");
        let plain = Command::new("curl")
            .args(["--silent", "--max-time", "5"])
            .arg(format!("http://127.0.0.1:{port}/healthz"))
            .output()
            .unwrap();
        assert!(
            !(plain.status.success() && plain.stdout == b"ok"),
            "no page over plain HTTP"
        );
        // A certificate the client does not trust is refused by the client.
        let untrusted = Command::new("curl")
            .args(["--silent", "--max-time", "5"])
            .arg(format!("https://127.0.0.1:{port}/healthz"))
            .output()
            .unwrap();
        assert!(!untrusted.status.success());
    });
    server.kill().unwrap();
    server.wait().unwrap();
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}
