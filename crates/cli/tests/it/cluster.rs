//! `jiuzhu monitor --cluster`: a Ballista scheduler and two executors as separate processes on
//! 127.0.0.1 screen a synthetic city, and every result file equals the local run's byte for
//! byte. Built with the `cluster` feature only.

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Child processes killed when the test ends, however it ends.
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

fn wait_for(port: u16) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "nothing listens on {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn jiuzhu(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_jiuzhu"))
        .args(args)
        .output()
        .expect("run jiuzhu");
    assert!(
        out.status.success(),
        "jiuzhu {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn spawn(args: &[&str], log: &Path) -> Child {
    let file = std::fs::File::create(log).expect("log file");
    Command::new(env!("CARGO_BIN_EXE_jiuzhu"))
        .args(args)
        .stdout(Stdio::from(file.try_clone().expect("log")))
        .stderr(Stdio::from(file))
        .spawn()
        .expect("start a cluster role")
}

#[test]
fn a_scheduler_and_two_executors_give_the_local_results() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let s = |p: &Path| p.to_str().expect("utf-8").to_string();
    let (batch, data) = (tmp.path().join("batch"), tmp.path().join("data"));
    jiuzhu(&[
        "synth",
        "--persons",
        "20000",
        "--seed",
        "5",
        "--as-of",
        "2026-06-30",
        "--out",
        &s(&batch),
    ]);
    jiuzhu(&["import", &s(&batch), "--data-dir", &s(&data)]);

    let scheduler = free_port();
    let mut roles = Processes(Vec::new());
    roles.0.push(spawn(
        &[
            "cluster",
            "scheduler",
            "--listen",
            &format!("127.0.0.1:{scheduler}"),
        ],
        &tmp.path().join("scheduler.log"),
    ));
    wait_for(scheduler);
    let mut executor_ports = Vec::new();
    for i in 0..2 {
        let (port, grpc) = (free_port(), free_port());
        let work = tmp.path().join(format!("executor-{i}"));
        std::fs::create_dir_all(&work).expect("work dir");
        roles.0.push(spawn(
            &[
                "cluster",
                "executor",
                "--scheduler",
                &format!("127.0.0.1:{scheduler}"),
                "--port",
                &port.to_string(),
                "--grpc-port",
                &grpc.to_string(),
                "--slots",
                "1",
                "--work-dir",
                &s(&work),
            ],
            &tmp.path().join(format!("executor-{i}.log")),
        ));
        executor_ports.push(port);
    }
    for port in executor_ports {
        wait_for(port);
    }

    let (local, remote) = (tmp.path().join("local"), tmp.path().join("remote"));
    let run = |out: &Path, cluster: Option<String>| {
        let mut args = vec![
            "monitor".to_string(),
            "--data-dir".into(),
            s(&data),
            "--as-of".into(),
            "2026-06-30".into(),
            "--out".into(),
            s(out),
        ];
        if let Some(c) = cluster {
            args.extend(["--cluster".into(), c]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        jiuzhu(&args)
    };
    run(&local, None);
    let stdout = run(&remote, Some(format!("df://127.0.0.1:{scheduler}")));
    assert!(stdout.contains("households"), "{stdout}");

    let mut compared = 0;
    for name in monitor::manifest::OUTPUT_FILES {
        let a = std::fs::read(local.join(name)).expect("local file");
        let b = std::fs::read(remote.join(name)).expect("cluster file");
        assert!(
            a == b,
            "{name} differs between the local run and the cluster run"
        );
        compared += 1;
    }
    assert_eq!(compared, 13);
    let households = std::fs::read_to_string(local.join("households.csv")).expect("households");
    assert!(households.lines().count() > 5_000, "a city, not a toy");
    // The run manifests name the same inputs, pack and outputs: the same run.
    assert_eq!(
        std::fs::read(local.join("run.json")).expect("run.json"),
        std::fs::read(remote.join("run.json")).expect("run.json")
    );
    // Both executors ran tasks: each wrote shuffle files into its work folder.
    for i in 0..2 {
        let work = tmp.path().join(format!("executor-{i}"));
        assert!(
            files_under(&work) > 0,
            "executor {i} ran no task; its log:\n{}",
            std::fs::read_to_string(tmp.path().join(format!("executor-{i}.log")))
                .unwrap_or_default()
        );
    }
}

fn files_under(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() { files_under(&p) } else { 1 }
                })
                .sum()
        })
        .unwrap_or(0)
}
