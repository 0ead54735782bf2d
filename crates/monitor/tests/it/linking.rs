//! Record linkage inside a run: rows with a mistyped or missing ID count for their person once
//! linked, rows that match nobody stay out, and a spell paid under a mistyped ID is a duplicate
//! with reason `same_person_two_ids`.

use crate::fixture::{City, date, id};
use monitor::{Feed, RunOptions, Windows};

const SURNAMES: [&str; 10] = ["赵", "钱", "孙", "李", "周", "吴", "郑", "王", "冯", "陈"];
const GIVEN: [&str; 8] = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊"];

/// A city of 80 persons with names and genders, two per household.
fn city() -> (City, Vec<(String, String, String)>) {
    let mut city = City::new();
    let mut people = Vec::new();
    for i in 0..80u32 {
        let birth = format!(
            "19{:02}-{:02}-{:02}",
            40 + i % 50,
            1 + i % 12,
            1 + (i * 7) % 28
        );
        let pid = id(&birth, 100 + i);
        let name = format!(
            "{}{}{}",
            SURNAMES[(i % 10) as usize],
            GIVEN[(i / 10 % 8) as usize],
            GIVEN[(i % 8) as usize]
        );
        let household = format!("H{}", i / 2);
        let relation = if i % 2 == 0 { "head" } else { "spouse" };
        let gender = if i % 2 == 0 { "male" } else { "female" };
        city.add(
            Feed::Population,
            &[
                ("person_id", &pid),
                ("household_id", &household),
                ("relation", relation),
                ("region_code", "990101001001"),
                ("birth_date", &birth),
                ("status", "normal"),
                ("name", &name),
                ("gender", gender),
            ],
        );
        people.push((pid, name, birth));
    }
    (city, people)
}

/// The ID with one digit changed (the check character then fails).
fn changed_digit(pid: &str) -> String {
    let mut b = pid.as_bytes().to_vec();
    b[14] = if b[14] == b'9' { b'0' } else { b[14] + 1 };
    String::from_utf8(b).expect("ascii")
}

/// The ID with a wrong check character.
fn wrong_check(pid: &str) -> String {
    let mut b = pid.as_bytes().to_vec();
    b[17] = if b[17] == b'0' { b'1' } else { b'0' };
    String::from_utf8(b).expect("ascii")
}

/// A medical settlement of 200 yuan written without any ID, with a name and birth date.
fn settlement_without_id(city: &mut City, name: &str, birth: &str, settled: &str) {
    city.add(
        Feed::Medical,
        &[
            ("name", name),
            ("birth_date", birth),
            ("settled_date", settled),
            ("out_of_pocket", "200"),
            ("kind", "outpatient"),
        ],
    );
}

/// A medical settlement of 300 yuan written under the person's ID with one digit changed.
fn settlement_under_a_mistyped_id(city: &mut City, pid: &str, name: &str, birth: &str) {
    city.add(
        Feed::Medical,
        &[
            ("person_id_raw", &changed_digit(pid)),
            ("name", name),
            ("birth_date", birth),
            ("settled_date", "2026-05-01"),
            ("out_of_pocket", "300"),
            ("kind", "outpatient"),
        ],
    );
}

/// Dibao paid to the person twice, in household H11: once under the ID, once under the ID with
/// a wrong check character (with name and birth date).
fn dibao_paid_twice(city: &mut City, pid: &str, name: &str, birth: &str) {
    for raw in [None, Some(wrong_check(pid))] {
        let mut row: Vec<(&str, &str)> = vec![
            ("household_id", "H11"),
            ("program", "dibao"),
            ("region_code", "990101001001"),
            ("start_date", "2025-01-01"),
            ("monthly_amount", "300"),
        ];
        match &raw {
            None => row.push(("person_id", pid)),
            Some(r) => row.extend([
                ("person_id_raw", r.as_str()),
                ("name", name),
                ("birth_date", birth),
            ]),
        }
        city.add(Feed::Assistance, &row);
    }
}

/// A run as of 2026-06-30 that keeps no links.
fn screened(lake: &monitor::LakeFiles, pack: &monitor::policy::Pack) -> monitor::Results {
    monitor::screen(
        lake,
        date("2026-06-30"),
        pack,
        RunOptions::default(),
        &domain::NoProgress,
    )
    .expect("screen")
}

/// A run as of 2026-06-30 that keeps its links in `kept` (or links afresh), and whether it
/// read the register to link.
fn screened_keeping(
    lake: &monitor::LakeFiles,
    pack: &monitor::policy::Pack,
    kept: &std::path::Path,
    relink: bool,
) -> (monitor::Results, bool) {
    let stages = Stages::default();
    let options = RunOptions {
        links: Some(kept.to_path_buf()),
        relink,
        ..RunOptions::default()
    };
    let results =
        monitor::screen(lake, date("2026-06-30"), pack, options, &stages).expect("screen");
    (results, stages.linked())
}

#[test]
fn linked_rows_count_for_their_person_and_unmatched_rows_do_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut city, people) = city();
    let (a, a_name, a_birth) = &people[10];
    let (b, b_name, b_birth) = &people[23];
    // A medical settlement of A under a mistyped ID; one of B without any ID; one of a stranger.
    settlement_under_a_mistyped_id(&mut city, a, a_name, a_birth);
    settlement_without_id(&mut city, b_name, b_birth, "2026-05-02");
    city.add(
        Feed::Medical,
        &[
            ("person_id_raw", "99010119991231999"),
            ("name", "欧阳无名"),
            ("birth_date", "1999-12-31"),
            ("settled_date", "2026-05-03"),
            ("out_of_pocket", "900"),
            ("kind", "outpatient"),
        ],
    );
    let lake = city.write(dir.path());

    let links = monitor::link(&lake, RunOptions::default(), &domain::NoProgress).expect("link");
    let rows = links.linkage_rows();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].person_id.as_deref(), Some(a.as_str()));
    assert_eq!(rows[1].person_id.as_deref(), Some(b.as_str()));
    assert_eq!(rows[2].person_id, None);
    assert!(
        rows[0].probability_milli >= 900,
        "{}",
        rows[0].probability_milli
    );
    let medical = links.per_feed()["medical"];
    assert_eq!((medical.linked, medical.unmatched), (2, 1));
    let explained = links.explain(Feed::Medical, 1).expect("an explanation");
    assert!(explained.linked);
    assert!(explained.explanation.probability >= 0.9);

    let facts =
        monitor::person_facts(&lake, date("2026-06-30"), Windows::default()).expect("facts");
    let oop = |pid: &str| {
        facts
            .iter()
            .find(|f| f.id.0 == pid)
            .map(|f| f.medical_oop_12m.0)
            .expect("person")
    };
    assert_eq!(oop(a), 30_000, "the linked row counts for A");
    assert_eq!(oop(b), 20_000, "the row without an ID counts for B");
    let total: i64 = facts.iter().map(|f| f.medical_oop_12m.0).sum();
    assert_eq!(total, 50_000, "the stranger's row counts for nobody");
}

#[test]
fn a_row_two_persons_explain_equally_well_is_linked_to_neither() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut city, people) = city();
    let (b, b_name, b_birth) = &people[23];
    let (a, a_name, a_birth) = &people[10];
    // A second person of B's name and birth date, in another household.
    let twin = id(b_birth, 999);
    city.add(
        Feed::Population,
        &[
            ("person_id", &twin),
            ("household_id", "H99"),
            ("relation", "head"),
            ("region_code", "990101001001"),
            ("birth_date", b_birth),
            ("status", "normal"),
            ("name", b_name),
            ("gender", "female"),
        ],
    );
    // Rows without an ID: one for B's name and birth date, one for A's (A has no twin).
    settlement_without_id(&mut city, b_name, b_birth, "2026-05-02");
    settlement_without_id(&mut city, a_name, a_birth, "2026-05-03");
    let lake = city.write(dir.path());

    let links = monitor::link(&lake, RunOptions::default(), &domain::NoProgress).expect("link");
    let rows = links.linkage_rows();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].person_id, None, "B or the twin: neither is linked");
    assert!(
        (300..=600).contains(&rows[0].probability_milli),
        "about even between two: {}",
        rows[0].probability_milli
    );
    assert_eq!(rows[1].person_id.as_deref(), Some(a.as_str()));
    assert!(rows[1].probability_milli >= 900);
    let explained = links
        .explain(Feed::Medical, 1)
        .expect("the best candidate explained");
    assert!(!explained.linked);
    assert_ne!(b, &twin);
}

#[test]
fn a_spell_under_a_mistyped_id_is_a_duplicate_with_its_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut city, people) = city();
    let (b, b_name, b_birth) = &people[23];
    dibao_paid_twice(&mut city, b, b_name, b_birth);
    let lake = city.write(dir.path());
    let pack = monitor::policy::Pack::default_pack().expect("pack");
    let results = screened(&lake, &pack);
    assert_eq!(results.linkage.len(), 1);
    assert_eq!(results.linkage[0].person_id.as_deref(), Some(b.as_str()));
    let duplicates: Vec<_> = results
        .anomalies
        .iter()
        .filter(|r| r.kind == "duplicate")
        .collect();
    assert_eq!(duplicates.len(), 1, "{duplicates:?}");
    assert_eq!(duplicates[0].person_id.as_deref(), Some(b.as_str()));
    assert_eq!(duplicates[0].program, "dibao");
    assert_eq!(
        duplicates[0].reasons,
        vec![
            "same_person_two_ids".to_string(),
            "same_program_twice".to_string()
        ]
    );
    let summary = results.summary.render();
    assert!(
        summary.contains("unlinked rows, assistance: 1 (linked 1, unmatched 0"),
        "{summary}"
    );
}

/// The stages a run reported.
#[derive(Default)]
struct Stages(std::sync::Mutex<Vec<String>>);

impl domain::Progress for Stages {
    fn stage(&self, name: &str, _total: u64) {
        self.0.lock().expect("stages").push(name.to_string());
    }
}

impl Stages {
    /// Whether the run read the register to link (rather than kept links).
    fn linked(&self) -> bool {
        self.0
            .lock()
            .expect("stages")
            .iter()
            .any(|s| s == "reading the registry")
    }
}

/// The files of a folder, by name.
fn names(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The kept links files of a folder, by name.
fn links_files(dir: &std::path::Path) -> Vec<String> {
    names(dir)
        .into_iter()
        .filter(|n| n.starts_with("links-"))
        .collect()
}

#[test]
fn links_kept_by_a_run_are_read_by_the_next_while_the_lake_and_program_are_the_same() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut city, people) = city();
    let (a, a_name, a_birth) = &people[10];
    let (b, b_name, b_birth) = &people[23];
    settlement_under_a_mistyped_id(&mut city, a, a_name, a_birth);
    settlement_without_id(&mut city, "欧阳无名", "1999-12-31", "2026-05-03");
    // B paid dibao twice, once under a wrong check character: a duplicate found through a link
    dibao_paid_twice(&mut city, b, b_name, b_birth);
    let first = dir.path().join("first");
    std::fs::create_dir_all(&first).expect("folder");
    let lake = city.write(&first);
    let pack = monitor::policy::Pack::default_pack().expect("pack");
    let kept = dir.path().join("links");
    let run =
        |lake: &monitor::LakeFiles, relink: bool| screened_keeping(lake, &pack, &kept, relink);
    let same = |x: &monitor::Results, y: &monitor::Results| {
        assert_eq!(x.households, y.households);
        assert_eq!(x.persons, y.persons);
        assert_eq!(x.anomalies, y.anomalies);
        assert_eq!(x.warnings, y.warnings);
        assert_eq!(x.recommendations, y.recommendations);
        assert_eq!(x.linkage, y.linkage);
        assert_eq!(x.summary, y.summary);
    };
    let fresh = screened(&lake, &pack);
    assert_eq!(fresh.linkage.len(), 3);
    assert!(
        fresh
            .anomalies
            .iter()
            .any(|r| r.reasons.contains(&"same_person_two_ids".to_string())),
        "{:?}",
        fresh.anomalies
    );
    assert!(
        names(&kept).is_empty(),
        "a run without a folder keeps nothing"
    );

    // The first run links and keeps one file; the next reads it and decides nothing.
    let (first, linked) = run(&lake, false);
    assert!(linked);
    let files = links_files(&kept);
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].starts_with("links-") && files[0].ends_with(".parquet"));
    let (second, linked) = run(&lake, false);
    assert!(!linked, "the kept links were read");
    same(&first, &fresh);
    same(&second, &fresh);
    let (relinked, linked) = run(&lake, true);
    assert!(linked, "asked to link afresh");
    same(&relinked, &fresh);
    assert_eq!(links_files(&kept), files);
    // The same files named another way (as a data directory given by a relative path would
    // be) are the same lake.
    let mut respelled = monitor::LakeFiles::new();
    for feed in Feed::ALL {
        let paths = lake.files(feed).iter().map(|p| {
            let file = p.file_name().expect("a file name");
            p.parent()
                .expect("a folder")
                .join("..")
                .join(
                    p.parent()
                        .and_then(|d| d.file_name())
                        .expect("a folder name"),
                )
                .join(file)
        });
        respelled.set(feed, paths.collect());
    }
    assert_ne!(respelled.files(Feed::Medical), lake.files(Feed::Medical));
    let (again, linked) = run(&respelled, false);
    assert!(!linked, "the kept links of the same files were read");
    same(&again, &fresh);

    // Another lake (one more row) is linked afresh, and its links replace the others.
    settlement_without_id(&mut city, b_name, b_birth, "2026-05-04");
    let second = dir.path().join("second");
    std::fs::create_dir_all(&second).expect("folder");
    let other = city.write(&second);
    let (grown, linked) = run(&other, false);
    assert!(linked, "the links of another lake are not read");
    assert_eq!(grown.linkage.len(), 4);
    let other_files = links_files(&kept);
    assert_eq!(other_files.len(), 1, "{other_files:?}");
    assert_ne!(other_files, files);

    // A folder that cannot be written (here a file stands where it would be) does not stop a
    // run, and says so.
    let blocked = dir.path().join("blocked");
    std::fs::write(&blocked, b"a file").expect("file");
    let stages = Stages::default();
    let options = RunOptions {
        links: Some(blocked.clone()),
        ..RunOptions::default()
    };
    let unkept =
        monitor::screen(&other, date("2026-06-30"), &pack, options, &stages).expect("screen");
    same(&unkept, &grown);
    assert!(
        stages
            .0
            .lock()
            .expect("stages")
            .iter()
            .any(|s| s.starts_with("links not kept")),
        "the run says the links were not kept"
    );

    // A damaged file is passed over: the run links afresh and replaces it.
    std::fs::write(kept.join(&other_files[0]), b"not parquet").expect("damage");
    let (repaired, linked) = run(&other, false);
    assert!(linked);
    same(&repaired, &grown);
    let (after, linked) = run(&other, false);
    assert!(!linked, "the replaced file is read");
    same(&after, &grown);
}

/// The registry check's counts kept beside a links file, if any.
fn kept_counts(links: &std::path::Path) -> Option<monitor::RegistryCounts> {
    let bytes = std::fs::read(counts_file(links)).ok()?;
    let kept: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    let counts = |key: &str| serde_json::from_value(kept[key].clone()).expect("counts");
    Some((counts("unlinked_per_feed"), counts("not_in_registry")))
}

/// The file of the counts kept beside a links file.
fn counts_file(links: &std::path::Path) -> std::path::PathBuf {
    let name = links.file_name().expect("name").to_string_lossy();
    let digest = name
        .trim_start_matches("links-")
        .trim_end_matches(".parquet");
    links.with_file_name(format!("counts-{digest}.json"))
}

/// Keeps other counts beside a links file, or none.
fn with_counts(links: &std::path::Path, counts: Option<&monitor::RegistryCounts>) {
    match counts {
        Some((unlinked, missing)) => std::fs::write(
            counts_file(links),
            serde_json::json!({ "unlinked_per_feed": unlinked, "not_in_registry": missing })
                .to_string(),
        )
        .expect("write counts"),
        None => std::fs::remove_file(counts_file(links)).expect("remove counts"),
    }
}

#[test]
fn the_registry_counts_are_kept_with_the_links_and_read_with_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut city, people) = city();
    let (a, a_name, a_birth) = &people[10];
    // a row without a usable ID, and a row under a valid ID that is no person's
    settlement_under_a_mistyped_id(&mut city, a, a_name, a_birth);
    let stranger = id("1999-12-31", 999);
    city.add(
        Feed::Medical,
        &[
            ("person_id", &stranger),
            ("settled_date", "2026-05-03"),
            ("out_of_pocket", "900"),
            ("kind", "outpatient"),
        ],
    );
    let lake = city.write(dir.path());
    let pack = monitor::policy::Pack::default_pack().expect("pack");
    let kept = dir.path().join("links");
    let run = |relink: bool| {
        let (results, linked) = screened_keeping(&lake, &pack, &kept, relink);
        (results.summary, linked)
    };
    let fresh = screened(&lake, &pack).summary;
    assert_eq!(fresh.unlinked.get("medical"), Some(&1));
    assert_eq!(fresh.not_in_registry.get("medical"), Some(&1));
    let counts = (fresh.unlinked.clone(), fresh.not_in_registry.clone());

    // Linking the lake keeps the counts with the links; a run on them reports them.
    let options = RunOptions {
        links: Some(kept.clone()),
        ..RunOptions::default()
    };
    monitor::link(&lake, options, &domain::NoProgress).expect("link");
    let files = links_files(&kept);
    assert_eq!(files.len(), 1, "{files:?}");
    let file = kept.join(&files[0]);
    assert_eq!(kept_counts(&file), Some(counts.clone()));
    let (on_kept, linked) = run(false);
    assert!(!linked, "the kept links were read");
    assert_eq!(on_kept, fresh);

    // The run takes the counts from the file, not from counting again.
    let mut doctored = counts.clone();
    doctored.1.insert("medical".to_string(), 7);
    with_counts(&file, Some(&doctored));
    let (on_doctored, linked) = run(false);
    assert!(!linked);
    assert_eq!(on_doctored.not_in_registry.get("medical"), Some(&7));

    // Links kept without counts are read, and the counts kept again beside them.
    with_counts(&file, None);
    assert_eq!(kept_counts(&file), None);
    let (on_bare, linked) = run(false);
    assert!(!linked, "links without counts are still read");
    assert_eq!(on_bare, fresh);
    assert_eq!(kept_counts(&file), Some(counts.clone()));

    // Linking afresh counts afresh.
    with_counts(&file, Some(&doctored));
    let (relinked, linked) = run(true);
    assert!(linked);
    assert_eq!(relinked, fresh);
    assert_eq!(kept_counts(&file), Some(counts));
}
