//! Policy tests as data: YAML files of cases (a household's facts in, expected results out),
//! run against a pack, with a coverage listing of the pack items the passing cases exercised.
//!
//! A case file holds `cases:`, a list of:
//!
//! ```yaml
//! - name: couple with a child, wage 2200 → dibao 800
//!   as_of: 2026-06-30
//!   household: H1                 # default H
//!   region: "990101001001"        # default for members without one
//!   members:                      # PersonFacts; money in yuan, areas in m², kWh as written
//!     - {id: p1, relation: head, age: 40, income: 2200}
//!   others: []                    # relatives and spell holders in other households
//!   expect:                       # only the keys given are compared
//!     tier: dibao
//!     dibao_amount: 800
//!     tags: [below_standard, child]
//!     score: 25
//! ```
//!
//! Expected lists (`persons`, `anomalies`, `signals`, `packages`) are compared exactly as
//! sets of rows; `uncovered: true` expects the region to have no parameter set.

use std::path::Path;

use domain::{Date, Fen};
use serde_json::{Map, Value};

use crate::eval::{Evaluation, HouseholdInput, Options, Outcome, evaluate};
use crate::facts::PersonFacts;
use crate::pack::{Pack, PackError, read_yaml_files};
use crate::yaml::{self, Node};

/// The result of one case.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseResult {
    /// The file.
    pub file: String,
    /// The line of the case.
    pub line: usize,
    /// Its name.
    pub name: String,
    /// What differed (empty when it passed).
    pub failures: Vec<String>,
}

/// The results of a run with the coverage of pack items.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CaseReport {
    /// Per case.
    pub results: Vec<CaseResult>,
    /// Every pack item with the number of passing cases that exercised it.
    pub coverage: Vec<(String, usize)>,
}

impl CaseReport {
    /// Number of passing cases.
    pub fn passed(&self) -> usize {
        self.results
            .iter()
            .filter(|r| r.failures.is_empty())
            .count()
    }

    /// Number of failing cases.
    pub fn failed(&self) -> usize {
        self.results.len() - self.passed()
    }

    /// Pack items no passing case exercised.
    pub fn uncovered(&self) -> Vec<&str> {
        self.coverage
            .iter()
            .filter(|(_, n)| *n == 0)
            .map(|(k, _)| k.as_str())
            .collect()
    }

    /// Whether every case passed and every item is covered.
    pub fn ok(&self) -> bool {
        self.failed() == 0 && self.uncovered().is_empty() && !self.results.is_empty()
    }

    /// A readable report: failures, the coverage listing, and a closing count line.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for r in &self.results {
            if r.failures.is_empty() {
                out.push_str(&format!("ok    {}:{} {}\n", r.file, r.line, r.name));
            } else {
                out.push_str(&format!("FAIL  {}:{} {}\n", r.file, r.line, r.name));
                for f in &r.failures {
                    out.push_str(&format!("        {f}\n"));
                }
            }
        }
        out.push_str("\ncoverage (item: passing cases that exercised it)\n");
        for (k, n) in &self.coverage {
            let mark = if *n == 0 { "  NOT COVERED" } else { "" };
            out.push_str(&format!("  {k}: {n}{mark}\n"));
        }
        let uncovered = self.uncovered();
        out.push_str(&format!(
            "\n{} items, {} not covered\n{} passed, {} failed\n",
            self.coverage.len(),
            uncovered.len(),
            self.passed(),
            self.failed()
        ));
        out
    }
}

/// Runs every `*.yaml` case file below `dir`.
pub fn run_dir(pack: &Pack, dir: &Path) -> Result<CaseReport, PackError> {
    let files = read_yaml_files(dir, &[])?;
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    Ok(run_files(pack, &refs))
}

/// Runs case files given as (name, text).
pub fn run_files(pack: &Pack, files: &[(&str, &str)]) -> CaseReport {
    let mut report = CaseReport {
        results: Vec::new(),
        coverage: pack.coverage_items().into_iter().map(|k| (k, 0)).collect(),
    };
    for (file, text) in files {
        let node = match yaml::parse(text) {
            Ok(n) => n,
            Err(e) => {
                report.results.push(CaseResult {
                    file: file.to_string(),
                    line: e.line,
                    name: "(file)".into(),
                    failures: vec![format!("YAML syntax: {}", e.message)],
                });
                continue;
            }
        };
        for case in node.get("cases").and_then(Node::items).unwrap_or_default() {
            let name = case
                .get("name")
                .and_then(Node::as_str)
                .unwrap_or("(unnamed)")
                .to_owned();
            let (failures, hit) = match run_case(pack, case) {
                Ok((f, mut hit)) => {
                    let derived: Vec<String> = pack
                        .derived
                        .iter()
                        .filter(|d| {
                            hit.iter()
                                .any(|h| h.starts_with("text:") && mentions(h, &d.id))
                        })
                        .map(|d| format!("derived:{}", d.id))
                        .collect();
                    hit.extend(derived);
                    (f, hit)
                }
                Err(message) => (vec![message], Vec::new()),
            };
            if failures.is_empty() {
                for h in hit {
                    if let Some(entry) = report.coverage.iter_mut().find(|(k, _)| *k == h) {
                        entry.1 += 1;
                    }
                }
            }
            report.results.push(CaseResult {
                file: file.to_string(),
                line: case.line,
                name,
                failures,
            });
        }
    }
    report
}

const MONEY_FIELDS: &[&str] = &["income", "financial_assets", "tuition", "medical_oop_12m"];

fn yuan_value(v: &Value) -> Result<Value, String> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        other => return Err(format!("expected an amount in yuan, found {other}")),
    };
    Fen::parse_yuan(&text)
        .map(|f| Value::from(f.0))
        .map_err(|e| format!("`{text}`: {e}"))
}

fn hundredths(v: &Value) -> Result<Value, String> {
    let text = match v {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        other => return Err(format!("expected a number, found {other}")),
    };
    let n = crate::expr::Num::parse(&text).ok_or_else(|| format!("`{text}` is not a number"))?;
    Ok(Value::from(n.times(crate::expr::Num::int(100)).round()))
}

/// Reads a person written in a case (money in yuan, areas in m², kWh as written).
pub fn person_from_case(
    node: &Node,
    household: &str,
    region: Option<&str>,
) -> Result<PersonFacts, String> {
    let Value::Object(mut map) = node.to_json() else {
        return Err(format!("line {}: a person must be a mapping", node.line));
    };
    let at = |m: String| format!("line {}: {m}", node.line);
    for key in MONEY_FIELDS {
        if let Some(v) = map.get(*key) {
            let fen = yuan_value(v).map_err(at)?;
            map.insert((*key).to_owned(), fen);
        }
    }
    if let Some(Value::Array(items)) = map.get("business_capitals").cloned() {
        let fen: Result<Vec<Value>, String> = items.iter().map(yuan_value).collect();
        map.insert("business_capitals".into(), Value::Array(fen.map_err(at)?));
    }
    if let Some(v) = map.remove("electricity_kwh") {
        map.insert("electricity_centi_kwh".into(), hundredths(&v).map_err(at)?);
    }
    if let Some(Value::Array(items)) = map.get("homes").cloned() {
        let mut homes = Vec::new();
        for h in items {
            let Value::Object(mut h) = h else {
                return Err(at("a home is {property, area}".into()));
            };
            if let Some(a) = h.remove("area") {
                h.insert("area_centi_m2".into(), hundredths(&a).map_err(at)?);
            }
            homes.push(Value::Object(h));
        }
        map.insert("homes".into(), Value::Array(homes));
    }
    if let Some(Value::Array(items)) = map.get("running").cloned() {
        let spells: Vec<Value> = items
            .into_iter()
            .map(|s| match s {
                Value::String(text) => {
                    let (program, hid) = text.split_once('@').unwrap_or((&text, household));
                    let mut m = Map::new();
                    m.insert("program".into(), Value::from(program));
                    m.insert("household_id".into(), Value::from(hid));
                    Value::Object(m)
                }
                other => other,
            })
            .collect();
        map.insert("running".into(), Value::Array(spells));
    }
    if !map.contains_key("household_id") {
        map.insert("household_id".into(), Value::from(household));
    }
    if !map.contains_key("region")
        && let Some(r) = region
    {
        map.insert("region".into(), Value::from(r));
    }
    for key in ["id", "spouse", "father", "mother"] {
        if let Some(Value::Number(n)) = map.get(key) {
            let text = n.to_string();
            map.insert(key.into(), Value::from(text));
        }
    }
    serde_json::from_value(Value::Object(map)).map_err(|e| at(e.to_string()))
}

/// Reads the household input of a case.
pub fn input_from_case(case: &Node) -> Result<(HouseholdInput, Date), String> {
    let as_of_text = case
        .get("as_of")
        .and_then(Node::as_str)
        .ok_or("missing `as_of`")?;
    let as_of = Date::parse(as_of_text).map_err(|_| format!("`{as_of_text}` is not a date"))?;
    let household = case
        .get("household")
        .and_then(Node::as_str)
        .unwrap_or("H")
        .to_owned();
    let region = case.get("region").and_then(Node::as_str);
    let mut input = HouseholdInput {
        household_id: household.clone(),
        ..HouseholdInput::default()
    };
    for m in case
        .get("members")
        .and_then(Node::items)
        .unwrap_or_default()
    {
        input.members.push(person_from_case(m, &household, region)?);
    }
    for m in case.get("others").and_then(Node::items).unwrap_or_default() {
        let hid = m
            .get("household_id")
            .and_then(Node::as_str)
            .unwrap_or("ELSEWHERE")
            .to_owned();
        input.others.push(person_from_case(m, &hid, region)?);
    }
    Ok((input, as_of))
}

fn run_case(pack: &Pack, case: &Node) -> Result<(Vec<String>, Vec<String>), String> {
    let (input, as_of) = input_from_case(case)?;
    let expect = case.get("expect").ok_or("missing `expect`")?;
    let evaluation = evaluate(pack, &input, as_of, Options::default());
    let mut failures = Vec::new();
    let want_uncovered = expect.get("uncovered").and_then(Node::as_str) == Some("true");
    let outcome = match evaluation {
        Evaluation::Uncovered { .. } => {
            if !want_uncovered {
                failures.push("the household's region has no parameter set".into());
            }
            return Ok((failures, Vec::new()));
        }
        Evaluation::Done(o) => o,
    };
    if want_uncovered {
        failures.push("expected no parameter set for the region".into());
    }
    compare(&outcome, expect, &mut failures);
    Ok((failures, hits(&outcome)))
}

fn scalar_eq(failures: &mut Vec<String>, what: &str, got: &str, want: Option<&Node>) {
    if let Some(w) = want.and_then(Node::as_str)
        && w != got
    {
        failures.push(format!("{what}: expected {w}, got {got}"));
    }
}

fn money_eq(failures: &mut Vec<String>, what: &str, got: Fen, want: Option<&Node>) {
    if let Some(w) = want.and_then(Node::as_str) {
        match Fen::parse_yuan(w) {
            Ok(f) if f == got => {}
            Ok(_) => failures.push(format!("{what}: expected {w}, got {got}")),
            Err(_) => failures.push(format!("{what}: `{w}` is not an amount")),
        }
    }
}

fn list_words(node: &Node) -> Vec<String> {
    node.items()
        .unwrap_or_default()
        .iter()
        .filter_map(|n| n.as_str().map(str::to_owned))
        .collect()
}

fn row(fields: &[(&str, String)]) -> String {
    fields
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

fn norm_money(text: &str) -> String {
    Fen::parse_yuan(text).map_or(text.to_owned(), |f| f.to_string())
}

fn compare_rows(
    failures: &mut Vec<String>,
    what: &str,
    mut got: Vec<String>,
    want: Option<&Node>,
    to_row: impl Fn(&Node) -> String,
) {
    let Some(want) = want else { return };
    let mut want: Vec<String> = want
        .items()
        .unwrap_or_default()
        .iter()
        .map(to_row)
        .collect();
    got.sort();
    want.sort();
    if got != want {
        failures.push(format!(
            "{what}: expected [{}], got [{}]",
            want.join("; "),
            got.join("; ")
        ));
    }
}

fn field(n: &Node, k: &str) -> String {
    n.get(k)
        .and_then(Node::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn compare(o: &Outcome, expect: &Node, failures: &mut Vec<String>) {
    scalar_eq(failures, "tier", &o.tier, expect.get("tier"));
    money_eq(
        failures,
        "dibao_amount",
        o.dibao_amount,
        expect.get("dibao_amount"),
    );
    money_eq(
        failures,
        "per_capita_income",
        o.per_capita_income,
        expect.get("per_capita_income"),
    );
    scalar_eq(failures, "score", &o.score.to_string(), expect.get("score"));
    scalar_eq(failures, "level", &o.level, expect.get("level"));
    scalar_eq(failures, "set", &o.set, expect.get("set"));
    scalar_eq(failures, "region", &o.region, expect.get("region"));
    scalar_eq(failures, "size", &o.size.to_string(), expect.get("size"));
    scalar_eq(
        failures,
        "tekun_members",
        &o.tekun_members.to_string(),
        expect.get("tekun_members"),
    );
    if let Some(t) = expect.get("tags") {
        let want = list_words(t);
        if want != o.tags {
            failures.push(format!(
                "tags: expected {}, got {}",
                want.join(";"),
                o.tags.join(";")
            ));
        }
    }
    let key = |k: &crate::facts::PersonKey| k.0.to_string();
    compare_rows(
        failures,
        "persons",
        o.persons
            .iter()
            .map(|p| {
                row(&[
                    ("person", key(&p.person)),
                    ("status", p.status.clone()),
                    ("amount", p.amount.to_string()),
                    ("care_level", p.care_level.clone().unwrap_or_default()),
                ])
            })
            .collect(),
        expect.get("persons"),
        |n| {
            row(&[
                ("person", field(n, "person")),
                ("status", field(n, "status")),
                ("amount", norm_money(&field(n, "amount"))),
                ("care_level", field(n, "care_level")),
            ])
        },
    );
    compare_rows(
        failures,
        "anomalies",
        o.anomalies
            .iter()
            .map(|a| {
                row(&[
                    ("kind", a.kind.clone()),
                    ("program", a.program.clone()),
                    ("household", a.household_id.clone()),
                    ("person", a.person.as_ref().map(key).unwrap_or_default()),
                    ("reasons", a.reasons.join(";")),
                ])
            })
            .collect(),
        expect.get("anomalies"),
        |n| {
            let mut reasons = list_words(n.get("reasons").unwrap_or(n));
            reasons.sort();
            let household = match field(n, "household") {
                h if h.is_empty() => o.household_id.clone(),
                h => h,
            };
            row(&[
                ("kind", field(n, "kind")),
                ("program", field(n, "program")),
                ("household", household),
                ("person", field(n, "person")),
                ("reasons", reasons.join(";")),
            ])
        },
    );
    compare_rows(
        failures,
        "signals",
        o.signals
            .iter()
            .map(|s| {
                row(&[
                    ("signal", s.signal.clone()),
                    ("level", s.level.clone()),
                    ("person", s.person.as_ref().map(key).unwrap_or_default()),
                ])
            })
            .collect(),
        expect.get("signals"),
        |n| {
            let level = field(n, "level");
            let level = if level.is_empty() {
                o.signals
                    .iter()
                    .find(|s| s.signal == field(n, "signal"))
                    .map(|s| s.level.clone())
                    .unwrap_or_default()
            } else {
                level
            };
            row(&[
                ("signal", field(n, "signal")),
                ("level", level),
                ("person", field(n, "person")),
            ])
        },
    );
    compare_rows(
        failures,
        "packages",
        o.packages
            .iter()
            .map(|p| {
                row(&[
                    ("item", p.item.clone()),
                    (
                        "amount",
                        p.amount.map(|a| a.to_string()).unwrap_or_default(),
                    ),
                ])
            })
            .collect(),
        expect.get("packages"),
        |n| {
            row(&[
                ("item", field(n, "item")),
                (
                    "amount",
                    field(n, "amount")
                        .is_empty()
                        .then(String::new)
                        .unwrap_or_else(|| norm_money(&field(n, "amount"))),
                ),
            ])
        },
    );
}

/// The pack items an outcome exercised.
fn hits(o: &Outcome) -> Vec<String> {
    let mut out = vec![format!("tier:{}", o.tier), format!("set:{}", o.set)];
    for p in &o.persons {
        if p.status == "tekun" {
            out.push("rule:tekun".into());
        }
        for s in &p.explanation.steps {
            if s.rule.starts_with("route_") {
                out.push(format!("route:{}", s.rule));
            }
        }
    }
    for a in &o.anomalies {
        for r in &a.reasons {
            out.push(format!("reason:{r}"));
            out.push(format!("asset:{r}"));
        }
    }
    for s in &o.signals {
        out.push(format!("signal:{}", s.signal));
    }
    for t in &o.tags {
        out.push(format!("tag:{t}"));
    }
    for p in &o.packages {
        out.push(format!("item:{}", p.item));
    }
    for step in o
        .tier_explanation
        .steps
        .iter()
        .chain(o.persons.iter().flat_map(|p| p.explanation.steps.iter()))
        .chain(o.signals.iter().flat_map(|s| s.explanation.steps.iter()))
        .chain(o.anomalies.iter().flat_map(|s| s.explanation.steps.iter()))
        .chain(o.packages.iter().flat_map(|s| s.explanation.steps.iter()))
        .chain(o.tags_explanation.steps.iter())
    {
        out.push(format!("text:{}", step.text_en));
    }
    out
}

/// Whether a rule text mentions a name as a whole word.
fn mentions(text: &str, name: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|w| w == name)
}
