//! Broken packs are refused, every problem naming its file and line; an edited copy of the
//! pack changes results without rebuilding anything.

use std::path::{Path, PathBuf};

use domain::Date;
use policy::eval::{Evaluation, Options, evaluate};
use policy::pack::DEFAULT_FILES;
use policy::{Pack, PackError};

fn files_with(file: &str, from: &str, to: &str) -> Vec<(String, String)> {
    DEFAULT_FILES
        .iter()
        .map(|(name, text)| {
            let text = if *name == file {
                assert!(text.contains(from), "{file} has no `{from}`");
                text.replacen(from, to, 1)
            } else {
                (*text).to_owned()
            };
            ((*name).to_owned(), text)
        })
        .collect()
}

fn line_of(files: &[(String, String)], file: &str, needle: &str) -> usize {
    let text = files
        .iter()
        .find(|(n, _)| n == file)
        .map(|(_, t)| t.as_str())
        .unwrap_or("");
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or(0)
}

fn problems(files: &[(String, String)]) -> Vec<String> {
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    match Pack::from_files(&refs) {
        Ok(_) => Vec::new(),
        Err(PackError::Invalid(p)) => p.iter().map(ToString::to_string).collect(),
        Err(e) => vec![e.to_string()],
    }
}

fn assert_problem(file: &str, from: &str, to: &str, line_needle: &str, message: &str) {
    let files = files_with(file, from, to);
    let found = problems(&files);
    let line = line_of(&files, file, line_needle);
    let want = format!("{file}:{line}:");
    assert!(
        found
            .iter()
            .any(|p| p.starts_with(&want) && p.contains(message)),
        "expected `{want} …{message}…`, got {found:#?}"
    );
}

#[test]
fn unknown_fact_in_a_rule() {
    assert_problem(
        "tags.yaml",
        "any(members, age >= 80)",
        "any(members, agee >= 80)",
        "agee",
        "unknown fact or parameter `agee`",
    );
}

#[test]
fn unknown_parameter_in_a_set() {
    assert_problem(
        "sets/gen.yaml",
        "std: {urban: 1000, rural: 800}",
        "std: {urban: 1000, rural: 800}\n      sdt: 5",
        "sdt",
        "unknown parameter `sdt`",
    );
}

#[test]
fn type_errors() {
    // Money compared with an area.
    assert_problem(
        "tiers.yaml",
        "sum(group, money) > money_months[level] * std * count(group)",
        "sum(group, money) > avg_area_pc * count(group)",
        "sum(group, money) > avg_area_pc",
        "cannot combine money and area",
    );
    // A condition that is not a truth value.
    assert_problem(
        "tags.yaml",
        "when: any(members, age >= 80)",
        "when: sum(members, tuition)",
        "sum(members, tuition)",
        "must be bool",
    );
}

#[test]
fn undefined_codes() {
    assert_problem(
        "anomalies.yaml",
        "all_tekun: tekun_instead",
        "all_tekun: tekun_elsewhere",
        "tekun_elsewhere",
        "undefined reason code `tekun_elsewhere`",
    );
    assert_problem(
        "signals.yaml",
        "level: red\n    about: person\n    when: age >= 75",
        "level: crimson\n    about: person\n    when: age >= 75",
        "crimson",
        "`crimson` is not a level code",
    );
    assert_problem(
        "catalogue.yaml",
        "when: signal(child_unsupported)",
        "when: signal(child_neglected)",
        "child_neglected",
        "`child_neglected` is not a signal",
    );
    assert_problem(
        "tags.yaml",
        "employment_status == unemployed",
        "employment_status == jobless",
        "jobless",
        "`jobless` is not a employment_status code",
    );
}

#[test]
fn overlapping_and_gapped_effective_dates() {
    assert_problem(
        "sets/beijing.yaml",
        "from: 2023-07-01",
        "from: 2022-07-01",
        "id: BJ-2023",
        "both start on 2022-07-01",
    );
    assert_problem(
        "sets/beijing.yaml",
        "from: 2022-07-01",
        "from: 2022-07-01\n    until: 2023-07-05",
        "id: BJ-2022",
        "overlaps set `BJ-2023`",
    );
    assert_problem(
        "sets/beijing.yaml",
        "from: 2022-07-01",
        "from: 2022-07-01\n    until: 2023-05-31",
        "id: BJ-2022",
        "gap between set `BJ-2022`",
    );
}

#[test]
fn missing_sources() {
    assert_problem(
        "tags.yaml",
        "    source: 民发〔2023〕39号\n    zh: 有80岁以上老人",
        "    zh: 有80岁以上老人",
        "code: elderly_80",
        "missing legal source",
    );
    assert_problem(
        "parameters.yaml",
        "    description: 刚性支出占收入比例阈值 rigid spending / income above which there is hardship\n    source: 民发〔2023〕39号\n",
        "    description: 刚性支出占收入比例阈值 rigid spending / income above which there is hardship\n",
        "name: rigid_ratio",
        "missing legal source",
    );
}

#[test]
fn wrong_units() {
    assert_problem(
        "parameters.yaml",
        "unit: ratio\n    default: 1.5",
        "unit: percent\n    default: 1.5",
        "unit: percent",
        "unknown unit `percent`",
    );
    assert_problem(
        "parameters.yaml",
        "default: 40",
        "default: 40.5.1",
        "default: 40",
        "is not a decimal number",
    );
    assert_problem(
        "sets/gen.yaml",
        "std: {urban: 1000, rural: 800}",
        "std: {urban: 1000.001, rural: 800}",
        "std:",
        "not an amount in yuan",
    );
    assert_problem(
        "parameters.yaml",
        "default: 6\n",
        "default: 6.5\n",
        "default: 6",
        "is not a whole number",
    );
}

#[test]
fn syntax_errors_and_unknown_keys() {
    assert_problem(
        "tags.yaml",
        "when: any(members, age >= 80)",
        "when: any(members, age >= )",
        "when: any(members, age >= )",
        "unexpected `)` at character 21",
    );
    assert_problem(
        "tags.yaml",
        "points: 10\n    when: any(members, age >= 80)",
        "pionts: 10\n    when: any(members, age >= 80)",
        "pionts",
        "unknown key `pionts`",
    );
    let found = problems(&files_with(
        "tags.yaml",
        "tags:\n",
        "tags:\n  - [unclosed\n",
    ));
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("tags.yaml:") && p.contains("YAML syntax")),
        "{found:?}"
    );
}

fn copy_pack(to: &Path) {
    for (name, text) in DEFAULT_FILES {
        let path = to.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(path, text).unwrap();
    }
}

fn beijing_single() -> policy::HouseholdInput {
    let node = policy::yaml::parse(
        "as_of: 2026-06-30\nhousehold: X\nregion: \"110105001001\"\nmembers:\n  - {id: x1, relation: head, age: 30}\n",
    )
    .unwrap();
    policy::cases::input_from_case(&node).unwrap().0
}

#[test]
fn editing_a_copy_of_the_pack_changes_results_without_rebuilding() {
    let tmp = tempfile::tempdir().unwrap();
    copy_pack(tmp.path());
    let as_of = Date::from_ymd(2026, 6, 30).unwrap();
    let amount = |dir: &Path| match evaluate(
        &Pack::load_dir(dir).unwrap(),
        &beijing_single(),
        as_of,
        Options::default(),
    ) {
        Evaluation::Done(o) => o.dibao_amount.to_string(),
        other => panic!("{other:?}"),
    };
    assert_eq!(amount(tmp.path()), "1450.00");
    let file: PathBuf = tmp.path().join("sets/beijing.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("std: 1450", "std: 1500")).unwrap();
    assert_eq!(amount(tmp.path()), "1500.00");
    // A new signal is an edit to the pack too.
    let signals = tmp.path().join("signals.yaml");
    let mut text = std::fs::read_to_string(&signals).unwrap();
    text.push_str("  - code: young_adult\n    level: yellow\n    about: person\n    when: age >= 18 and age < 35\n    source: local notice\n    zh: 青年\n    en: a young adult\n");
    std::fs::write(&signals, text).unwrap();
    let pack = Pack::load_dir(tmp.path()).unwrap();
    let Evaluation::Done(o) = evaluate(&pack, &beijing_single(), as_of, Options::default()) else {
        panic!("covered");
    };
    assert!(
        o.signals.iter().any(|s| s.signal == "young_adult"),
        "{:?}",
        o.signals
    );
    assert_eq!(o.level, "yellow");
    // A broken edit is refused.
    std::fs::write(&file, "sets: [{id: X}]\n").unwrap();
    assert!(Pack::load_dir(tmp.path()).is_err());
}

#[test]
fn the_folder_pack_equals_the_embedded_pack() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../policy");
    let from_dir = Pack::load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    let embedded = Pack::default_pack().unwrap();
    assert_eq!(from_dir.params, embedded.params);
    assert_eq!(from_dir.signals.len(), embedded.signals.len());
    assert_eq!(from_dir.catalogue.len(), embedded.catalogue.len());
    assert_eq!(
        from_dir.digest, embedded.digest,
        "the same files, the same digest"
    );
    assert_eq!(from_dir.digest.len(), 64);
}

#[test]
fn any_change_to_a_file_changes_the_digest() {
    let base = Pack::default_pack().unwrap();
    let mut files: Vec<(&str, String)> = policy::pack::DEFAULT_FILES
        .iter()
        .map(|(n, t)| (*n, (*t).to_string()))
        .collect();
    files[0].1.push_str("# a comment\n");
    let refs: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    let edited = Pack::from_files(&refs).unwrap();
    assert_ne!(edited.digest, base.digest);
    // The order the files are given in does not matter.
    let mut reversed: Vec<(&str, &str)> = policy::pack::DEFAULT_FILES.to_vec();
    reversed.reverse();
    assert_eq!(Pack::from_files(&reversed).unwrap().digest, base.digest);
}
