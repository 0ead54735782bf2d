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
