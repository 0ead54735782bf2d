//! The default pack loads, and its policy tests all pass and cover every item.

use policy::Pack;
use policy::pack::DEFAULT_TESTS;

#[test]
fn default_pack_loads() {
    let pack = Pack::default_pack().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(pack.name, "jiuzhu-default");
    assert_eq!(pack.sets.len(), 1 + 3 + 1 + 8);
}

#[test]
fn policy_tests_pass_and_cover_every_item() {
    let pack = Pack::default_pack().unwrap_or_else(|e| panic!("{e}"));
    let report = policy::cases::run_files(&pack, DEFAULT_TESTS);
    println!("{}", report.render());
    assert_eq!(report.failed(), 0, "{}", report.render());
    let uncovered = report.uncovered();
    assert!(uncovered.is_empty(), "not covered: {uncovered:?}");
}
