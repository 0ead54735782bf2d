//! `jiuzhu link eval` on a FEBRL subset read from the shared benchmark folder; record linkage of
//! the lake (in `jiuzhu monitor` and `jiuzhu link`) on a synthetic city against its ground truth.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn febrl() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/linkage/data");
    if dir.join("febrl4a.csv").exists() {
        Some(dir)
    } else {
        eprintln!(
            "NOTICE: FEBRL data not found at {} — linkage evaluation test skipped",
            dir.display()
        );
        None
    }
}

/// The first `n` data rows of a CSV file (with its header), written to `to`.
fn head(from: &Path, to: &Path, keep: impl Fn(&str) -> bool) {
    let text = std::fs::read_to_string(from).expect("read benchmark file");
    let mut lines = text.lines();
    let mut out = String::new();
    if let Some(h) = lines.next() {
        out.push_str(h);
        out.push('\n');
    }
    for l in lines.filter(|l| keep(l)) {
        out.push_str(l);
        out.push('\n');
    }
    std::fs::write(to, out).expect("write subset");
}

/// Entities rec-0 … rec-599.
fn small_entity(line: &str) -> bool {
    line.split('-')
        .nth(1)
        .and_then(|n| n.parse::<u32>().ok())
        .is_some_and(|n| n < 600)
}

fn field(output: &str, key: &str) -> f64 {
    let at = output
        .find(key)
        .unwrap_or_else(|| panic!("{key} in {output}"));
    output[at + key.len()..]
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("number after {key}"))
}

#[test]
fn link_eval_on_a_febrl4_subset() {
    let Some(dir) = febrl() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = (tmp.path().join("a.csv"), tmp.path().join("b.csv"));
    head(&dir.join("febrl4a.csv"), &a, small_entity);
    head(&dir.join("febrl4b.csv"), &b, small_entity);
    let json = tmp.path().join("out.json");
    let out = Command::new(env!("CARGO_BIN_EXE_jiuzhu"))
        .args(["link", "eval", "--left"])
        .arg(&a)
        .arg("--right")
        .arg(&b)
        .arg("--json")
        .arg(&json)
        .output()
        .expect("run jiuzhu");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("true pairs 600"), "{text}");
    assert!(field(&text, "blocking recall ") >= 0.99, "{text}");
    assert!(field(&text, "F1=") >= 0.98, "{text}");
    let json = std::fs::read_to_string(json).expect("json written");
    assert!(json.contains("\"blocking_recall\""));
}

#[test]
fn dedupe_eval_without_the_national_id() {
    let Some(dir) = febrl() else { return };
    let tmp = tempfile::tempdir().expect("tempdir");
    let input = tmp.path().join("f3.csv");
    head(&dir.join("febrl3.csv"), &input, small_entity);
    let out = Command::new(env!("CARGO_BIN_EXE_jiuzhu"))
        .args(["link", "eval", "--dedupe", "--no-id", "--input"])
        .arg(&input)
        .output()
        .expect("run jiuzhu");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("dedupe"), "{text}");
    assert!(field(&text, "F1=") >= 0.9, "{text}");
    assert!(!text.contains("id_number"), "the ID was not used: {text}");
}

#[test]
fn link_without_a_lake_explains_what_is_missing() {
    let out = Command::new(env!("CARGO_BIN_EXE_jiuzhu"))
        .args(["link"])
        .output()
        .expect("run jiuzhu");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--data-dir"));
}

/// The synthetic city of 20,000 persons (its mistyped IDs and ground truth), imported.
struct City {
    _tmp: tempfile::TempDir,
    batch: PathBuf,
    data: PathBuf,
    out: PathBuf,
}

fn jiuzhu(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_jiuzhu"))
        .args(args)
        .output()
        .expect("run jiuzhu");
    assert!(
        out.status.success(),
        "jiuzhu {}: {}",
        args.first().unwrap_or(&""),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn city() -> City {
    let tmp = tempfile::tempdir().expect("tempdir");
    let batch = tmp.path().join("batch");
    let data = tmp.path().join("data");
    let out = tmp.path().join("out");
    let s = |p: &Path| p.to_str().expect("utf-8").to_string();
    jiuzhu(&[
        "synth",
        "--persons",
        "20000",
        "--seed",
        "11",
        "--format",
        "parquet",
        "--as-of",
        "2026-06-30",
        "--out",
        &s(&batch),
    ]);
    jiuzhu(&["import", &s(&batch), "--data-dir", &s(&data)]);
    City {
        _tmp: tmp,
        batch,
        data,
        out,
    }
}

/// Rows of a headed CSV file as maps from column to value (no quoting in these files).
fn rows(path: &Path) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<String> = lines
        .next()
        .expect("header")
        .split(',')
        .map(str::to_string)
        .collect();
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            header
                .iter()
                .cloned()
                .zip(l.split(',').map(str::to_string))
                .collect()
        })
        .collect()
}

/// The linkage of a screening run against the synthetic city's ground truth: precision and
/// recall of the links of linkage.csv, the same-person-two-IDs duplicates, and `jiuzhu link`.
#[test]
fn monitor_links_the_noisy_rows_of_a_synthetic_city() {
    let c = city();
    let s = |p: &Path| p.to_str().expect("utf-8").to_string();
    let summary = jiuzhu(&[
        "monitor",
        "--data-dir",
        &s(&c.data),
        "--as-of",
        "2026-06-30",
        "--out",
        &s(&c.out),
    ]);

    // Ground truth: every mistyped row but the legacy 15-digit form (which the importer
    // converts and links directly) must be linked to its person.
    let noise = rows(&c.batch.join("_truth/noise.csv"));
    let truth: HashMap<(String, String), String> = noise
        .iter()
        .filter(|r| r["id_noise"] != "legacy_15")
        .map(|r| {
            (
                (r["feed"].clone(), r["row"].clone()),
                r["person_id"].clone(),
            )
        })
        .collect();
    assert!(truth.len() > 1000, "{} noisy rows", truth.len());
    let linkage = rows(&c.out.join("linkage.csv"));
    let listed: HashSet<(String, String)> = linkage
        .iter()
        .map(|r| (r["feed"].clone(), r["row"].clone()))
        .collect();
    assert!(
        truth.keys().all(|k| listed.contains(k)),
        "every noisy row is listed in linkage.csv"
    );
    let predicted: Vec<&HashMap<String, String>> = linkage
        .iter()
        .filter(|r| !r["person_id"].is_empty())
        .collect();
    let correct = predicted
        .iter()
        .filter(|r| truth.get(&(r["feed"].clone(), r["row"].clone())) == Some(&r["person_id"]))
        .count();
    let precision = correct as f64 / predicted.len().max(1) as f64;
    let recall = correct as f64 / truth.len() as f64;
    println!(
        "linkage on the synthetic city: {} noisy rows, {} linked, {correct} correct: \
         precision {precision:.4}, recall {recall:.4}",
        truth.len(),
        predicted.len()
    );
    assert!(precision >= 0.995, "precision {precision:.4}");
    assert!(recall >= 0.99, "recall {recall:.4}");
    for r in &linkage {
        let p: f64 = r["probability"].parse().expect("probability");
        assert!((0.0..=1.0).contains(&p), "{p}");
        if !r["person_id"].is_empty() {
            assert!(p >= 0.9, "a link below the threshold: {p}");
        }
    }
    assert!(summary.contains("unlinked rows, assistance:"), "{summary}");
    assert!(summary.contains("linked "), "{summary}");

    // The same person paid dibao twice, once under a mistyped ID (planted: a duplicate whose
    // person has a mistyped assistance row), is a duplicate with reason same_person_two_ids.
    let mistyped_spells: HashSet<String> = noise
        .iter()
        .filter(|r| r["feed"] == "assistance" && r["id_noise"] != "legacy_15")
        .map(|r| r["person_id"].clone())
        .collect();
    let planted: Vec<String> = rows(&c.batch.join("_truth/anomalies.csv"))
        .into_iter()
        .filter(|r| r["kind"] == "duplicate" && mistyped_spells.contains(&r["person_id"]))
        .map(|r| r["person_id"].clone())
        .collect();
    assert!(
        !planted.is_empty(),
        "the city plants same-person-two-IDs cases"
    );
    let anomalies = rows(&c.out.join("anomalies.csv"));
    let two_ids: HashSet<String> = anomalies
        .iter()
        .filter(|r| r["kind"] == "duplicate" && r["reasons"].contains("same_person_two_ids"))
        .map(|r| r["person_id"].clone())
        .collect();
    for p in &planted {
        assert!(two_ids.contains(p), "a planted case is found");
        assert!(
            anomalies.iter().any(|r| &r["person_id"] == p
                && r["kind"] == "duplicate"
                && r["program"] == "dibao"
                && r["reasons"] == "same_person_two_ids;same_program_twice"),
            "with both reasons"
        );
    }
    assert!(
        two_ids.iter().all(|p| mistyped_spells.contains(p)),
        "only persons with a mistyped spell get the reason"
    );

    // `jiuzhu link`: the same counts per feed, and an explanation without names or IDs.
    let (feed, row) = noise
        .iter()
        .find(|r| r["feed"] == "assistance" && r["id_noise"] == "changed_digit")
        .map(|r| (r["feed"].clone(), r["row"].clone()))
        .expect("a mistyped assistance row");
    let text = jiuzhu(&[
        "link",
        "--data-dir",
        &s(&c.data),
        "--as-of",
        "2026-06-30",
        "--explain",
        &format!("{feed}:{row}"),
    ]);
    let linked_assistance = linkage
        .iter()
        .filter(|r| r["feed"] == "assistance" && !r["person_id"].is_empty())
        .count();
    let line = text
        .lines()
        .find(|l| l.starts_with("assistance "))
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(
        line.split_whitespace().nth(1),
        Some(linked_assistance.to_string().as_str()),
        "{text}"
    );
    assert!(
        text.contains(&format!("{feed}:{row} — best candidate linked")),
        "{text}"
    );
    assert!(text.contains("IdNumber"), "{text}");
    assert!(text.contains("BirthDate"), "{text}");
    let digits = text
        .split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0);
    assert!(digits < 15, "no ID number in the output: {text}");
    assert!(
        !text.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "no name in the output: {text}"
    );

    // The links `jiuzhu link` kept, with the registry check's counts beside them, are read by
    // the next run (no linkage stage, the same result files); `--relink` links afresh and
    // gives them too.
    let mut kept: Vec<_> = std::fs::read_dir(c.data.join("links"))
        .expect("DATA/links")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    kept.sort();
    assert_eq!(kept.len(), 2, "{kept:?}");
    let digest = kept[1]
        .strip_prefix("links-")
        .and_then(|n| n.strip_suffix(".parquet"))
        .unwrap_or_else(|| panic!("a links file: {kept:?}"));
    assert_eq!(kept[0], format!("counts-{digest}.json"), "{kept:?}");
    for (relink, linked) in [(false, false), (true, true)] {
        let out = c.data.join(format!("again-{relink}"));
        let mut args = vec![
            "monitor".to_string(),
            "--data-dir".to_string(),
            s(&c.data),
            "--as-of".to_string(),
            "2026-06-30".to_string(),
            "--out".to_string(),
            s(&out),
            "--timings".to_string(),
        ];
        if relink {
            args.push("--relink".to_string());
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let text = jiuzhu(&refs);
        assert_eq!(
            text.contains("reading the registry"),
            linked,
            "relink {relink}: {text}"
        );
        for file in ["households.csv", "anomalies.csv", "linkage.csv"] {
            assert_eq!(
                std::fs::read(c.out.join(file)).expect("first run"),
                std::fs::read(out.join(file)).expect("again"),
                "{file}, relink {relink}"
            );
        }
    }
}

#[test]
fn link_explain_refuses_a_malformed_row() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_jiuzhu"))
        .args(["link", "--data-dir"])
        .arg(tmp.path())
        .args(["--explain", "medical"])
        .output()
        .expect("run jiuzhu");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("FEED:ROW"));
}
