//! `jiuzhu monitor`, `jiuzhu monitor explain` and `jiuzhu simulate` on a batch imported with
//! `jiuzhu import`, including rejected and unlinked rows.

use std::path::Path;
use std::process::Command;

fn jiuzhu(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_jiuzhu"))
        .args(args)
        .output()
        .expect("run jiuzhu")
}

fn id(first17: &str) -> String {
    let check = domain::id::check_char(first17.as_bytes()) as char;
    format!("{first17}{check}")
}

/// A batch: a dibao family, a tekun widow, a stranger's medical row, an unlinked row and a
/// rejected row.
fn batch(dir: &Path) -> (String, String) {
    let head = id("99010119860115001");
    let spouse = id("99010119880220002");
    let widow = id("99010119480505003");
    let stranger = id("99010119700101004");
    std::fs::create_dir_all(dir).expect("dir");
    std::fs::write(
        dir.join("population.csv"),
        format!(
            "person_id,name,gender,birth_date,household_id,relation,region_code,status\n\
             {head},甲一,male,1986-01-15,H1,head,990101001001,normal\n\
             {spouse},乙二,female,1988-02-20,H1,spouse,990101001001,normal\n\
             {widow},丙三,female,1948-05-05,H3,head,990101001001,normal\n"
        ),
    )
    .expect("population");
    std::fs::write(
        dir.join("employment.csv"),
        format!(
            "person_id,period,status,monthly_wage,pension\n\
             {head},2026-06,employed,1500,\n\
             {widow},2026-06,retired,,400\n\
             {head},2026-13,employed,1500,\n"
        ),
    )
    .expect("employment");
    std::fs::write(
        dir.join("medical.csv"),
        format!(
            "person_id,settled_date,total_cost,fund_paid,out_of_pocket,kind,name,birth_date\n\
             {stranger},2026-05-01,100,50,50,outpatient,,\n\
             1101051980010112,2026-05-01,100,50,50,outpatient,丁四,1980-01-01\n"
        ),
    )
    .expect("medical");
    std::fs::write(
        dir.join("care.csv"),
        format!("person_id,self_care,assessed_date\n{widow},partial,2026-01-10\n"),
    )
    .expect("care");
    (head, widow)
}

#[test]
fn monitor_screens_an_imported_batch_and_explains_a_household() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let out = tmp.path().join("out");
    let (_, widow) = batch(&tmp.path().join("batch"));
    let import = jiuzhu(&[
        "import",
        tmp.path().join("batch").to_str().expect("utf-8"),
        "--data-dir",
        data.to_str().expect("utf-8"),
    ]);
    assert!(
        import.status.success(),
        "{}",
        String::from_utf8_lossy(&import.stderr)
    );

    let run = jiuzhu(&[
        "monitor",
        "--data-dir",
        data.to_str().expect("utf-8"),
        "--as-of",
        "2026-06-30",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    let stdout = String::from_utf8_lossy(&run.stdout).to_string();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let households = std::fs::read_to_string(out.join("households.csv")).expect("households");
    assert_eq!(
        households,
        "household_id,region_code,size,tekun_members,per_capita_income,tier,dibao_amount,score,level,tags\n\
         H1,990101001001,2,0,750.00,dibao,500.00,20,none,below_standard\n\
         H3,990101001001,1,1,400.00,tekun,0.00,35,none,below_standard;elderly_alone\n"
    );
    let persons = std::fs::read_to_string(out.join("persons.csv")).expect("persons");
    assert_eq!(
        persons,
        format!(
            "person_id,household_id,status,amount,care_level\n{widow},H3,tekun,2100.00,partial\n"
        )
    );
    let linkage = std::fs::read_to_string(out.join("linkage.csv")).expect("linkage");
    assert_eq!(
        linkage,
        "feed,row,person_id,probability\nmedical,2,,0.000\n"
    );
    assert!(
        stdout.contains("rows whose person is not in the registry, medical: 1"),
        "{stdout}"
    );
    assert!(stdout.contains("feeds missing: assistance"), "{stdout}");
    assert!(!stdout.contains(&widow), "no resident ID on the terminal");

    let explain = jiuzhu(&[
        "monitor",
        "explain",
        "--household",
        "H3",
        "--data-dir",
        data.to_str().expect("utf-8"),
        "--as-of",
        "2026-06-30",
    ]);
    let text = String::from_utf8_lossy(&explain.stdout).to_string();
    assert!(
        explain.status.success(),
        "{}",
        String::from_utf8_lossy(&explain.stderr)
    );
    assert!(text.contains("tier tekun"), "{text}");
    assert!(text.contains("tekun 2100.00"), "{text}");
    assert!(!text.contains(&widow), "explanations mask resident IDs");
}

#[test]
fn simulate_compares_a_reform_by_county() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    batch(&tmp.path().join("batch"));
    let import = jiuzhu(&[
        "import",
        tmp.path().join("batch").to_str().expect("utf-8"),
        "--data-dir",
        data.to_str().expect("utf-8"),
    ]);
    assert!(import.status.success());
    // The reform: the default pack with the synthetic city's urban standard raised to 1200.
    let pack = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policy");
    let reform = tmp.path().join("reform");
    copy_dir(&pack, &reform);
    let gen_path = reform.join("sets/gen.yaml");
    let gen_text = std::fs::read_to_string(&gen_path).expect("gen.yaml");
    std::fs::write(
        &gen_path,
        gen_text.replace("{urban: 1000, rural: 800}", "{urban: 1200, rural: 800}"),
    )
    .expect("edit");
    let csv = tmp.path().join("sim.csv");
    let run = jiuzhu(&[
        "simulate",
        "--data-dir",
        data.to_str().expect("utf-8"),
        "--as-of",
        "2026-06-30",
        "--reform",
        reform.to_str().expect("utf-8"),
        "--out",
        csv.to_str().expect("utf-8"),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = std::fs::read_to_string(&csv).expect("csv");
    assert!(text.starts_with("county,measure,key,base,reform,change\n"));
    // H1: income 1500 for 2 persons → dibao 500 under 1000, 900 under 1200.
    assert!(
        text.contains("all,cash,dibao,500.00,900.00,400.00\n"),
        "{text}"
    );
    assert!(
        text.contains("990101000000,households,dibao,1,1,0\n"),
        "{text}"
    );
    assert!(String::from_utf8_lossy(&run.stdout).contains("tier/program"));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// `jiuzhu monitor --load`: the run manifest hashes every input and result file; the run, and
/// the first run of each policy pack, are in the installation's audit ledger; loading the same
/// run twice changes nothing; flagged households keep their explanation in the store.
#[test]
fn a_loaded_run_is_in_the_ledger_with_its_manifest_and_pack() {
    use ledger::sql::SqlStore;
    use ledger::{Action, DataHash, HashAlgorithm, Ledger};

    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("data");
    let out = tmp.path().join("out");
    batch(&tmp.path().join("batch"));
    let import = jiuzhu(&[
        "import",
        tmp.path().join("batch").to_str().expect("utf-8"),
        "--data-dir",
        data.to_str().expect("utf-8"),
    ]);
    assert!(import.status.success());
    let key = tmp.path().join("kek");
    std::fs::write(&key, "07".repeat(32)).expect("key");
    let run = |out: &Path, policy: Option<&Path>| {
        let mut args = vec![
            "monitor",
            "--data-dir",
            data.to_str().expect("utf-8"),
            "--as-of",
            "2026-06-30",
            "--out",
            out.to_str().expect("utf-8"),
            "--load",
            "--key-file",
            key.to_str().expect("utf-8"),
        ];
        if let Some(p) = policy {
            args.extend(["--policy", p.to_str().expect("utf-8")]);
        }
        let output = Command::new(env!("CARGO_BIN_EXE_jiuzhu"))
            .args(&args)
            .env_remove("JIUZHU_DATABASE")
            .env_remove("JIUZHU_KEY")
            .output()
            .expect("run jiuzhu");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let ledger_actions = || -> Vec<(Action, DataHash)> {
        let url = format!("sqlite:{}", data.join("jiuzhu.sqlite").display());
        let mut log =
            Ledger::open(SqlStore::connect(&url).expect("db"), HashAlgorithm::Sm3).expect("ledger");
        (0..log.size())
            .map(|i| log.record(i).expect("record").0.entry)
            .filter(|e| matches!(e.action, Action::PolicyChange | Action::MonitoringRun))
            .map(|e| (e.action, e.data))
            .collect()
    };

    let stdout = run(&out, None);
    assert!(
        stdout.contains("loaded: 3 persons, 2 households"),
        "{stdout}"
    );
    let manifest_bytes = std::fs::read(out.join("run.json")).expect("run.json");
    let manifest: serde_json::Value = serde_json::from_slice(&manifest_bytes).expect("json");
    let outputs = manifest["outputs"].as_array().expect("outputs");
    assert_eq!(
        outputs.len(),
        13,
        "six CSV files, their Parquet copies, the summary"
    );
    for f in outputs {
        let name = f["file"].as_str().expect("file");
        let bytes = std::fs::read(out.join(name)).expect("an output file");
        assert_eq!(
            f["blake3"].as_str(),
            Some(blake3::hash(&bytes).to_hex().as_str()),
            "{name}"
        );
    }
    let inputs = manifest["inputs"].as_array().expect("inputs");
    let feeds: Vec<&str> = inputs.iter().filter_map(|i| i["feed"].as_str()).collect();
    for feed in ["population", "employment", "medical", "care"] {
        assert!(feeds.contains(&feed), "{feed} is an input");
    }
    assert!(inputs.iter().all(|i| {
        i["file"]
            .as_str()
            .is_some_and(|f| f.starts_with("batches/"))
    }));
    let run_id = manifest["run_id"].as_str().expect("run id").to_string();
    assert!(run_id.starts_with("2026-06-30-"), "{run_id}");
    let digest = manifest["pack"]["digest"]
        .as_str()
        .expect("digest")
        .to_string();
    let sm3 = |b: &[u8]| DataHash::of(HashAlgorithm::Sm3, b);
    assert_eq!(
        ledger_actions(),
        vec![
            (Action::PolicyChange, sm3(digest.as_bytes())),
            (Action::MonitoringRun, sm3(&manifest_bytes)),
        ]
    );
    // The flagged household's explanation is in the store (sealed at rest).
    let kek = store::privacy::Kek::from_hex(&"07".repeat(32)).expect("kek");
    let url = format!("sqlite:{}", data.join("jiuzhu.sqlite").display());
    let explanation = store::block_on(async {
        let s = store::Store::open(
            &url,
            &kek,
            store::privacy::Algorithm::default(),
            store::Timestamp(0),
        )
        .await
        .expect("store");
        let report = s
            .household_report(&store::Scope::system(), "H3", None)
            .await
            .expect("report")
            .expect("H3 is stored");
        s.close().await;
        report.profile.explanation
    })
    .expect("runtime");
    let steps = explanation["steps"].as_array().expect("steps");
    assert!(
        steps.iter().any(|s| s["result"].as_str() == Some("tier")),
        "{explanation}"
    );

    // A run that is not loaded is recorded too, by the hash of its manifest (here the same
    // run again: the same manifest).
    let plain = tmp.path().join("plain");
    let output = Command::new(env!("CARGO_BIN_EXE_jiuzhu"))
        .args([
            "monitor",
            "--data-dir",
            data.to_str().expect("utf-8"),
            "--as-of",
        ])
        .args(["2026-06-30", "--out", plain.to_str().expect("utf-8")])
        .output()
        .expect("run jiuzhu");
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("recorded in the audit ledger"));
    assert_eq!(
        std::fs::read(plain.join("run.json")).expect("run.json"),
        manifest_bytes
    );
    assert_eq!(
        ledger_actions()[2],
        (Action::MonitoringRun, sm3(&manifest_bytes))
    );

    // The same data, pack and date: the same run, loaded once.
    let again = tmp.path().join("again");
    let stdout = run(&again, None);
    assert!(stdout.contains("was loaded before"), "{stdout}");
    assert_eq!(ledger_actions().len(), 3);

    // A changed pack is a policy change, then its run.
    let pack = tmp.path().join("pack");
    copy_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policy"),
        &pack,
    );
    let yaml = pack.join("pack.yaml");
    let mut text = std::fs::read_to_string(&yaml).expect("pack.yaml");
    text.push_str("# reviewed again\n");
    std::fs::write(&yaml, text).expect("pack.yaml");
    let changed = tmp.path().join("changed");
    run(&changed, Some(&pack));
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(changed.join("run.json")).expect("run.json"))
            .expect("json");
    let new_digest = manifest["pack"]["digest"].as_str().expect("digest");
    assert_ne!(new_digest, digest);
    assert_ne!(manifest["run_id"].as_str(), Some(run_id.as_str()));
    let actions = ledger_actions();
    assert_eq!(actions.len(), 5);
    assert_eq!(
        actions[3],
        (Action::PolicyChange, sm3(new_digest.as_bytes()))
    );
    assert_eq!(actions[4].0, Action::MonitoringRun);
}
