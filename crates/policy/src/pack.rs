//! The policy pack: a folder of YAML files holding parameters by region and date, derived
//! facts, rules, anomaly reasons, signals, tags and the package catalogue, each with its legal
//! source. Loading always runs the checker; a pack with any problem is refused, and every
//! problem names its file and line.
//!
//! Each file holds any of these top-level sections (lists from several files are joined):
//! `pack`, `parameters`, `sets`, `facts`, `derived`, `reasons`, `assets`, `tekun`, `tiers`,
//! `dibao_single`, `wrong_inclusion`, `omissions`, `duplicates`, `signals`, `tags`,
//! `catalogue`. The folder `tests/` holds policy tests and `assess/` case assessment data;
//! neither is part of the pack.

use std::collections::HashSet;
use std::path::Path;

use domain::{Date, Fen, RegionCode};
use serde::Serialize;

use crate::check::{Names, Scope};
use crate::eval::Code;
use crate::eval::compile::Types;
use crate::expr::{self, Expr, Num};
use crate::facts::{BASE_FACTS, Domain, Stage, Type};
use crate::yaml::{self, Node};

/// A problem found by the checker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The file, relative to the pack folder.
    pub file: String,
    /// The line, from 1.
    pub line: usize,
    /// What is wrong, in plain words.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

/// Why a pack could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// A file of the pack could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The checker found problems.
    #[error("the policy pack has {} problem(s):\n{}", .0.len(), .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<Problem>),
}

/// The unit of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    /// Money written in yuan (at most two decimals), held as fen.
    Yuan,
    /// Money written in fen.
    Fen,
    /// A dimensionless decimal.
    Ratio,
    /// Months.
    Months,
    /// Days.
    Days,
    /// A count.
    Count,
    /// Square metres.
    SquareMetres,
    /// Kilowatt hours.
    Kwh,
    /// A list of code words of a domain.
    Codes(Domain),
}

impl Unit {
    fn parse(text: &str, domain: Option<Domain>) -> Option<Unit> {
        Some(match text {
            "yuan" => Unit::Yuan,
            "fen" => Unit::Fen,
            "ratio" => Unit::Ratio,
            "months" => Unit::Months,
            "days" => Unit::Days,
            "count" => Unit::Count,
            "m2" => Unit::SquareMetres,
            "kwh" => Unit::Kwh,
            "codes" => Unit::Codes(domain?),
            _ => return None,
        })
    }

    /// Shows a value of this unit.
    pub fn show(self, n: Num) -> String {
        match self {
            Unit::Yuan | Unit::Fen => Fen(n.round()).to_string(),
            Unit::Ratio => n.to_string(),
            Unit::Months => format!("{n} months"),
            Unit::Days => format!("{n} days"),
            Unit::Count => n.to_string(),
            Unit::SquareMetres => format!("{n} m²"),
            Unit::Kwh => format!("{n} kWh"),
            Unit::Codes(_) => n.to_string(),
        }
    }
}

/// A parameter value as written in the pack.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ParamValue {
    /// One number.
    Num(Num),
    /// Different for urban and rural regions.
    UrbanRural {
        /// Urban (residents' committees, and any ending outside 200-399).
        urban: Num,
        /// Rural (villagers' committees, 200-399).
        rural: Num,
    },
    /// A table keyed by the words of a domain (in the domain's order).
    Table(Vec<Num>),
    /// A set of code words (bit i = word i of the domain).
    Codes(u64),
}

/// A parameter value for one region: urban/rural already chosen.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolved {
    /// One number.
    Num(Num),
    /// A table in the key domain's order.
    Table(Vec<Num>),
    /// A code set.
    Codes(u64),
}

/// A parameter declaration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParamDecl {
    /// The name used in expressions.
    pub name: String,
    /// Its unit.
    pub unit: Unit,
    /// For tables: the domain of the keys.
    pub keys: Option<Domain>,
    /// The legal source.
    pub source: String,
    /// What it means.
    pub description: String,
    /// The value in every set that does not override it.
    pub default: Option<ParamValue>,
    /// Where it is declared.
    pub file: String,
    /// The line.
    pub line: usize,
}

/// A parameter set: the values for regions whose code starts with `prefix`, from `from`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ParamSet {
    /// Short id (`GEN-2025`, `BJ-2024`).
    pub id: String,
    /// A readable name.
    pub name: String,
    /// The region code prefix.
    pub prefix: String,
    /// Effective from.
    pub from: Date,
    /// Effective until (inclusive), if it ends.
    pub until: Option<Date>,
    /// The legal source.
    pub source: String,
    /// Values this set gives (parameter index, value).
    pub values: Vec<(u16, ParamValue)>,
    /// Fully resolved values for urban regions, by parameter index.
    pub urban: Vec<Resolved>,
    /// Fully resolved values for rural regions.
    pub rural: Vec<Resolved>,
    /// Where it is written.
    pub file: String,
    /// The line.
    pub line: usize,
}

/// A rule: an expression with its id, legal source and texts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    /// The id (a code: tier, signal, tag, item, reason, fact …, or a rule name).
    pub id: String,
    /// The checked expression.
    pub expr: Expr,
    /// Its type.
    pub ty: Type,
    /// The legal source or article.
    pub source: String,
    /// What it says, in Chinese.
    pub zh: String,
    /// What it says, in English.
    pub en: String,
    /// Where it is written.
    pub file: String,
    /// The line.
    pub line: usize,
    /// The compiled form, made when the pack is loaded.
    pub code: Code,
}

/// The tier rules tried in order on H′ (after the `tekun` case for an empty H′).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TierRule {
    /// The tier word.
    pub tier: u16,
    /// The condition.
    pub when: Rule,
    /// The amount, for tiers that carry one.
    pub amount: Option<Rule>,
}

/// 单人保 rules.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SingleRules {
    /// Household tiers in which it is considered.
    pub tiers: Vec<u16>,
    /// The condition every route needs.
    pub when: Rule,
    /// The routes (any one suffices).
    pub routes: Vec<Rule>,
    /// The amount.
    pub amount: Rule,
}

/// One reason of a wrong-inclusion check: an expression, or every failing asset reason at a
/// level over a collection.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonRule {
    /// The reason holds when the rule holds.
    When(Box<Rule>),
    /// Each failing asset reason of the level over the collection.
    Assets {
        /// The asset level.
        level: u16,
        /// The group tested.
        over: expr::Collection,
    },
}

/// A wrong-inclusion check of a program.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InclusionCheck {
    /// The program.
    pub program: u16,
    /// The reasons.
    pub reasons: Vec<ReasonRule>,
    /// Household checks: the reason when every living member is tekun.
    pub all_tekun: Option<String>,
    /// Household checks: the reason when no living member has the household id.
    pub not_found: Option<String>,
    /// The legal source.
    pub source: String,
}

/// Who an omission is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum About {
    /// The household.
    Household,
    /// Each living member.
    Person,
    /// Each deceased member.
    Deceased,
    /// Each tekun person.
    Tekun,
    /// Each dibao_single person.
    DibaoSingle,
}

/// An omission check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Omission {
    /// The program.
    pub program: u16,
    /// The reason code.
    pub reason: String,
    /// Who it is about.
    pub about: About,
    /// The condition.
    pub when: Rule,
}

/// Duplicate checks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Duplicates {
    /// Programs that must not run twice for one person.
    pub programs: Vec<u16>,
    /// The reason for a program running twice.
    pub same_reason: String,
    /// Pairs of programs that exclude each other (the first is reported).
    pub exclusive: Vec<(u16, u16)>,
    /// The reason for an exclusive pair.
    pub exclusive_reason: String,
    /// The reason the screening run adds to a program running twice when one of the spells
    /// reached the person through record linkage (a mistyped ID): the same person paid under
    /// two ID numbers. The one-household evaluator never sees linkage, so policy tests do not
    /// cover it; the screening run's tests do.
    pub linked_reason: Option<String>,
    /// The legal source.
    pub source: String,
}

/// A warning signal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Signal {
    /// The level (`yellow`, `orange`, `red`).
    pub level: u16,
    /// Who it is about.
    pub about: About,
    /// The condition (its id is the signal code).
    pub when: Rule,
}

/// A profile tag.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tag {
    /// Its points.
    pub points: i64,
    /// The condition (its id is the tag code).
    pub when: Rule,
}

/// A catalogue item of the assistance package.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    /// `cash`, `subsidy`, `service` or `goods`.
    pub kind: String,
    /// What triggered it (`tier:dibao`, `signal:large_medical`, …).
    pub reason: String,
    /// The condition (its id is the item code).
    pub when: Rule,
    /// The amount, for items that carry one.
    pub amount: Option<Rule>,
}

/// A declared anomaly reason code.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    /// The code.
    pub code: String,
    /// The legal source.
    pub source: String,
    /// Chinese text.
    pub zh: String,
    /// English text.
    pub en: String,
}

/// A loaded, checked policy pack.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pack {
    /// Its name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// The content identity of its files: BLAKE3 (hex) over every file's name and text, in
    /// name order. Two packs with the same digest decide the same way; a run records it.
    pub digest: String,
    /// The cap of the score.
    pub score_cap: i64,
    /// Parameters (index = id used in [`Expr::Param`]).
    pub params: Vec<ParamDecl>,
    /// Parameter sets.
    pub sets: Vec<ParamSet>,
    /// Base facts the pack declares (indices into [`BASE_FACTS`]).
    pub facts: Vec<u16>,
    /// Derived person facts, in order (index = id of [`crate::expr::FactKind::PersonDerived`]).
    pub derived: Vec<Rule>,
    /// Declared anomaly reasons.
    pub reasons: Vec<Reason>,
    /// Asset reasons (group scope), tested per level.
    pub assets: Vec<Rule>,
    /// The tekun condition (person scope).
    pub tekun: Rule,
    /// The tekun amount.
    pub tekun_amount: Rule,
    /// Tier rules in order.
    pub tiers: Vec<TierRule>,
    /// 单人保.
    pub dibao_single: SingleRules,
    /// Wrong-inclusion checks of households (dibao, marginal spells).
    pub household_checks: Vec<InclusionCheck>,
    /// Wrong-inclusion checks of persons (tekun spells).
    pub person_checks: Vec<InclusionCheck>,
    /// Statuses whose running spells are wrong inclusions (reason = the status word).
    pub status_reasons: Vec<u16>,
    /// Omission checks.
    pub omissions: Vec<Omission>,
    /// Duplicate checks.
    pub duplicates: Duplicates,
    /// Signals.
    pub signals: Vec<Signal>,
    /// Tags.
    pub tags: Vec<Tag>,
    /// The package catalogue.
    pub catalogue: Vec<Item>,
    /// The files it was loaded from (name, text), in the order given: what a cluster's
    /// executors load the same pack from.
    #[serde(skip)]
    pub files: std::sync::Arc<[(String, String)]>,
}

/// The default pack's files, embedded in the binary.
pub const DEFAULT_FILES: &[(&str, &str)] = &[
    ("pack.yaml", include_str!("../../../policy/pack.yaml")),
    (
        "parameters.yaml",
        include_str!("../../../policy/parameters.yaml"),
    ),
    (
        "sets/gen.yaml",
        include_str!("../../../policy/sets/gen.yaml"),
    ),
    (
        "sets/beijing.yaml",
        include_str!("../../../policy/sets/beijing.yaml"),
    ),
    (
        "sets/chengdu.yaml",
        include_str!("../../../policy/sets/chengdu.yaml"),
    ),
    ("facts.yaml", include_str!("../../../policy/facts.yaml")),
    ("tiers.yaml", include_str!("../../../policy/tiers.yaml")),
    (
        "anomalies.yaml",
        include_str!("../../../policy/anomalies.yaml"),
    ),
    ("signals.yaml", include_str!("../../../policy/signals.yaml")),
    ("tags.yaml", include_str!("../../../policy/tags.yaml")),
    (
        "catalogue.yaml",
        include_str!("../../../policy/catalogue.yaml"),
    ),
];

/// The default policy tests, embedded.
pub const DEFAULT_TESTS: &[(&str, &str)] = &[
    (
        "tests/examples.yaml",
        include_str!("../../../policy/tests/examples.yaml"),
    ),
    (
        "tests/tekun.yaml",
        include_str!("../../../policy/tests/tekun.yaml"),
    ),
    (
        "tests/tiers.yaml",
        include_str!("../../../policy/tests/tiers.yaml"),
    ),
    (
        "tests/anomalies.yaml",
        include_str!("../../../policy/tests/anomalies.yaml"),
    ),
    (
        "tests/signals.yaml",
        include_str!("../../../policy/tests/signals.yaml"),
    ),
    (
        "tests/tags.yaml",
        include_str!("../../../policy/tests/tags.yaml"),
    ),
    (
        "tests/catalogue.yaml",
        include_str!("../../../policy/tests/catalogue.yaml"),
    ),
    (
        "tests/params.yaml",
        include_str!("../../../policy/tests/params.yaml"),
    ),
];

/// BLAKE3 over (name, text) of every file in name order, each part length-prefixed.
fn digest(files: &[(&str, &str)]) -> String {
    let mut sorted: Vec<&(&str, &str)> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let mut hasher = blake3::Hasher::new();
    for (name, text) in sorted {
        for part in [name.as_bytes(), text.as_bytes()] {
            hasher.update(&(part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
    }
    hasher.finalize().to_hex().to_string()
}

impl Pack {
    /// The default pack (policy.md), embedded in the binary.
    pub fn default_pack() -> Result<Pack, PackError> {
        Pack::from_files(DEFAULT_FILES)
    }

    /// Loads a pack from a folder (every `*.yaml` below it except `tests/` and `assess/`).
    pub fn load_dir(dir: &Path) -> Result<Pack, PackError> {
        let files = read_yaml_files(dir, &["tests", "assess"])?;
        let refs: Vec<(&str, &str)> = files
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_str()))
            .collect();
        Pack::from_files(&refs)
    }

    /// Loads and checks a pack from (file name, text) pairs.
    pub fn from_files(files: &[(&str, &str)]) -> Result<Pack, PackError> {
        let mut b = Builder::default();
        let mut docs = Vec::new();
        for (file, text) in files {
            match yaml::parse(text) {
                Ok(node) => docs.push((file.to_string(), node)),
                Err(e) => b.problem(file, e.line, format!("YAML syntax: {}", e.message)),
            }
        }
        b.collect(&docs);
        match b.build() {
            Some(mut pack) if b.problems.is_empty() => {
                pack.digest = digest(files);
                pack.files = files
                    .iter()
                    .map(|(name, text)| (name.to_string(), text.to_string()))
                    .collect();
                let types = Types::new(&pack.derived, &pack.params);
                pack.rules_mut(&mut |r| r.code = types.rule(r));
                Ok(pack)
            }
            _ => Err(PackError::Invalid(b.problems)),
        }
    }

    /// The same pack without its compiled rules: every rule is evaluated by the tree-walking
    /// interpreter. Results are identical; tests use it to check the compiled form.
    pub fn interpreted(&self) -> Pack {
        let mut pack = self.clone();
        pack.rules_mut(&mut |r| r.code = Code::default());
        pack
    }

    /// Visits every rule of the pack.
    fn rules_mut(&mut self, f: &mut dyn FnMut(&mut Rule)) {
        let reasons = |rules: &mut Vec<ReasonRule>, f: &mut dyn FnMut(&mut Rule)| {
            for r in rules {
                if let ReasonRule::When(rule) = r {
                    f(rule);
                }
            }
        };
        self.derived.iter_mut().for_each(&mut *f);
        self.assets.iter_mut().for_each(&mut *f);
        f(&mut self.tekun);
        f(&mut self.tekun_amount);
        for t in &mut self.tiers {
            f(&mut t.when);
            if let Some(a) = &mut t.amount {
                f(a);
            }
        }
        f(&mut self.dibao_single.when);
        self.dibao_single.routes.iter_mut().for_each(&mut *f);
        f(&mut self.dibao_single.amount);
        for c in self
            .household_checks
            .iter_mut()
            .chain(&mut self.person_checks)
        {
            reasons(&mut c.reasons, f);
        }
        for o in &mut self.omissions {
            f(&mut o.when);
        }
        for s in &mut self.signals {
            f(&mut s.when);
        }
        for t in &mut self.tags {
            f(&mut t.when);
        }
        for i in &mut self.catalogue {
            f(&mut i.when);
            if let Some(a) = &mut i.amount {
                f(a);
            }
        }
    }

    /// The parameter set in force for a region at a date: among the sets whose prefix the
    /// code starts with and that are in force (from ≤ date ≤ until), the longest prefix, then
    /// the latest `from`.
    pub fn set_for(&self, region: RegionCode, as_of: Date) -> Option<&ParamSet> {
        self.sets
            .iter()
            .filter(|s| {
                region.starts_with(&s.prefix)
                    && s.from <= as_of
                    && s.until.is_none_or(|u| as_of <= u)
            })
            .max_by_key(|s| (s.prefix.len(), s.from))
    }

    /// The resolved parameter values for a region at a date.
    pub fn params_for(&self, region: RegionCode, as_of: Date) -> Option<(&ParamSet, &[Resolved])> {
        let set = self.set_for(region, as_of)?;
        let values = if is_rural(region) {
            &set.rural
        } else {
            &set.urban
        };
        Some((set, values))
    }

    /// Index of a parameter by name.
    pub fn param(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|p| p.name == name)
    }

    /// Every code of the pack that policy tests must exercise: `kind:code`.
    pub fn coverage_items(&self) -> Vec<String> {
        let mut out = Vec::new();
        for r in &self.derived {
            out.push(format!("derived:{}", r.id));
        }
        for r in &self.assets {
            out.push(format!("asset:{}", r.id));
        }
        out.push("rule:tekun".into());
        for t in &self.tiers {
            out.push(format!("tier:{}", Domain::Tier.words()[t.tier as usize]));
        }
        out.push("tier:tekun".into());
        out.push("tier:none".into());
        for r in &self.dibao_single.routes {
            out.push(format!("route:{}", r.id));
        }
        for r in &self.reasons {
            if Some(&r.code) != self.duplicates.linked_reason.as_ref() {
                out.push(format!("reason:{}", r.code));
            }
        }
        for s in &self.signals {
            out.push(format!("signal:{}", s.when.id));
        }
        for t in &self.tags {
            out.push(format!("tag:{}", t.when.id));
        }
        for i in &self.catalogue {
            out.push(format!("item:{}", i.when.id));
        }
        for s in &self.sets {
            out.push(format!("set:{}", s.id));
        }
        out
    }
}

/// Urban or rural by the village part of the code: 200-399 is rural, anything else urban.
pub fn is_rural(region: RegionCode) -> bool {
    region.is_rural()
}

/// Reads every `*.yaml` file below `dir` (skipping the named top-level folders), sorted by path.
pub fn read_yaml_files(dir: &Path, skip: &[&str]) -> Result<Vec<(String, String)>, PackError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|source| PackError::Io {
            path: d.display().to_string(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| PackError::Io {
                path: d.display().to_string(),
                source,
            })?;
            let path = entry.path();
            let rel = path
                .strip_prefix(dir)
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default();
            if path.is_dir() {
                if !skip.contains(&rel.as_str()) {
                    stack.push(path);
                }
            } else if rel.ends_with(".yaml") || rel.ends_with(".yml") {
                let text = std::fs::read_to_string(&path).map_err(|source| PackError::Io {
                    path: path.display().to_string(),
                    source,
                })?;
                out.push((rel, text));
            }
        }
    }
    out.sort();
    Ok(out)
}

const SECTIONS: &[&str] = &[
    "pack",
    "parameters",
    "sets",
    "facts",
    "derived",
    "reasons",
    "assets",
    "tekun",
    "tiers",
    "dibao_single",
    "wrong_inclusion",
    "omissions",
    "duplicates",
    "signals",
    "tags",
    "catalogue",
];

#[derive(Default)]
struct Builder {
    problems: Vec<Problem>,
    sections: Vec<(String, String, Node)>,
    params: Vec<ParamDecl>,
    facts: Vec<u16>,
    derived_types: Vec<(String, Type)>,
    signal_codes: Vec<String>,
}

fn dummy_rule() -> Rule {
    Rule {
        id: String::new(),
        expr: Expr::Bool(false),
        ty: Type::Bool,
        source: String::new(),
        zh: String::new(),
        en: String::new(),
        file: String::new(),
        line: 0,
        code: Code::default(),
    }
}

impl Builder {
    fn problem(&mut self, file: &str, line: usize, message: String) {
        self.problems.push(Problem {
            file: file.to_owned(),
            line,
            message,
        });
    }

    fn collect(&mut self, docs: &[(String, Node)]) {
        for (file, node) in docs {
            let Some(entries) = node.entries() else {
                self.problem(
                    file,
                    node.line,
                    "a pack file must be a mapping of sections".into(),
                );
                continue;
            };
            for (k, v) in entries {
                let key = k.as_str().unwrap_or_default();
                if SECTIONS.contains(&key) {
                    self.sections
                        .push((key.to_owned(), file.clone(), v.clone()));
                } else {
                    self.problem(
                        file,
                        k.line,
                        format!("unknown section `{key}` (one of: {})", SECTIONS.join(", ")),
                    );
                }
            }
        }
    }

    fn section_items(&mut self, name: &str) -> Vec<(String, Node)> {
        let mut out = Vec::new();
        let mut bad = Vec::new();
        for (key, file, node) in &self.sections {
            if key != name {
                continue;
            }
            match node.items() {
                Some(items) => out.extend(items.iter().map(|n| (file.clone(), n.clone()))),
                None if node.is_null() => {}
                None => bad.push((file.clone(), node.line)),
            }
        }
        for (file, line) in bad {
            self.problem(&file, line, format!("section `{name}` must be a list"));
        }
        out
    }

    fn section_map(&mut self, name: &str) -> Option<(String, Node)> {
        let found: Vec<(String, Node)> = self
            .sections
            .iter()
            .filter(|(k, _, _)| k == name)
            .map(|(_, f, n)| (f.clone(), n.clone()))
            .collect();
        if found.len() > 1 {
            let (f, n) = &found[1];
            self.problem(f, n.line, format!("section `{name}` is written twice"));
        }
        let first = found.into_iter().next();
        if first.is_none() {
            self.problem("(pack)", 0, format!("section `{name}` is missing"));
        }
        first
    }

    fn text(&mut self, file: &str, node: &Node, key: &str) -> Option<String> {
        match node.get(key) {
            Some(v) => match v.as_str() {
                Some(t) if !t.trim().is_empty() => Some(t.trim().to_owned()),
                _ => {
                    self.problem(file, v.line, format!("`{key}` must be a non-empty text"));
                    None
                }
            },
            None => {
                let what = if key == "source" {
                    "missing legal source (`source`)".to_owned()
                } else {
                    format!("missing `{key}`")
                };
                self.problem(file, node.line, what);
                None
            }
        }
    }

    fn opt_text(&self, node: &Node, key: &str) -> Option<String> {
        node.get(key)
            .and_then(Node::as_str)
            .map(|t| t.trim().to_owned())
    }

    fn known_keys(&mut self, file: &str, node: &Node, keys: &[&str]) {
        let Some(entries) = node.entries() else {
            self.problem(file, node.line, "expected a mapping".into());
            return;
        };
        for (k, _) in entries {
            let key = k.as_str().unwrap_or_default();
            if !keys.contains(&key) {
                self.problem(
                    file,
                    k.line,
                    format!("unknown key `{key}` (expected: {})", keys.join(", ")),
                );
            }
        }
    }

    fn code(&mut self, file: &str, node: &Node, key: &str, domain: Domain) -> Option<u16> {
        let text = self.text(file, node, key)?;
        let line = node.get(key).map_or(node.line, |n| n.line);
        match domain.index(&text) {
            Some(i) => Some(i),
            None => {
                self.problem(
                    file,
                    line,
                    format!(
                        "`{text}` is not a {} code (one of: {})",
                        domain.name(),
                        domain.words().join(", ")
                    ),
                );
                None
            }
        }
    }

    fn codes_list(&mut self, file: &str, node: &Node, domain: Domain) -> Option<Vec<u16>> {
        let Some(items) = node.items() else {
            self.problem(
                file,
                node.line,
                format!("expected a list of {} codes", domain.name()),
            );
            return None;
        };
        let mut out = Vec::new();
        for item in items {
            let word = item.as_str().unwrap_or_default();
            match domain.index(word) {
                Some(i) => out.push(i),
                None => self.problem(
                    file,
                    item.line,
                    format!(
                        "`{word}` is not a {} code (one of: {})",
                        domain.name(),
                        domain.words().join(", ")
                    ),
                ),
            }
        }
        Some(out)
    }

    fn number(&mut self, file: &str, node: &Node, unit: Unit) -> Option<Num> {
        let Some(text) = node.as_str() else {
            self.problem(file, node.line, "expected a number".into());
            return None;
        };
        let bad = |what: &str| format!("`{text}` is not {what}");
        let result = match unit {
            Unit::Yuan => Fen::parse_yuan(text)
                .map(|f| Num::int(f.0))
                .map_err(|_| bad("an amount in yuan (at most two decimals)")),
            Unit::Fen | Unit::Months | Unit::Days | Unit::Count => text
                .parse::<i64>()
                .ok()
                .filter(|v| *v >= 0)
                .map(Num::int)
                .ok_or_else(|| bad("a whole number")),
            Unit::Ratio | Unit::SquareMetres | Unit::Kwh => {
                Num::parse(text).ok_or_else(|| bad("a decimal number"))
            }
            Unit::Codes(_) => Err("a code list is expected here".to_owned()),
        };
        match result {
            Ok(n) => Some(n),
            Err(message) => {
                self.problem(
                    file,
                    node.line,
                    format!("{message} (unit {unit:?})").to_lowercase(),
                );
                None
            }
        }
    }

    fn param_value(&mut self, file: &str, node: &Node, decl: &ParamDecl) -> Option<ParamValue> {
        if let Unit::Codes(d) = decl.unit {
            let codes = self.codes_list(file, node, d)?;
            return Some(ParamValue::Codes(
                codes.iter().fold(0u64, |m, i| m | (1 << i)),
            ));
        }
        if let Some(domain) = decl.keys {
            let Some(entries) = node.entries() else {
                self.problem(
                    file,
                    node.line,
                    format!(
                        "`{}` is a table: give a value for each of {}",
                        decl.name,
                        domain.words().join(", ")
                    ),
                );
                return None;
            };
            let mut table: Vec<Option<Num>> = vec![None; domain.words().len()];
            for (k, v) in entries {
                let key = k.as_str().unwrap_or_default();
                match domain.index(key) {
                    Some(i) => table[i as usize] = self.number(file, v, decl.unit),
                    None => self.problem(
                        file,
                        k.line,
                        format!(
                            "`{key}` is not a key of `{}` (one of: {})",
                            decl.name,
                            domain.words().join(", ")
                        ),
                    ),
                }
            }
            let missing: Vec<&str> = domain
                .words()
                .iter()
                .zip(&table)
                .filter(|(_, v)| v.is_none())
                .map(|(w, _)| *w)
                .collect();
            if !missing.is_empty() {
                self.problem(
                    file,
                    node.line,
                    format!("`{}` has no value for {}", decl.name, missing.join(", ")),
                );
                return None;
            }
            return Some(ParamValue::Table(table.into_iter().flatten().collect()));
        }
        if node.entries().is_some() {
            self.known_keys(file, node, &["urban", "rural"]);
            let urban = node.get("urban");
            let rural = node.get("rural");
            let (Some(u), Some(r)) = (urban, rural) else {
                self.problem(
                    file,
                    node.line,
                    format!("`{}` needs both `urban` and `rural`", decl.name),
                );
                return None;
            };
            let urban = self.number(file, u, decl.unit)?;
            let rural = self.number(file, r, decl.unit)?;
            return Some(ParamValue::UrbanRural { urban, rural });
        }
        self.number(file, node, decl.unit).map(ParamValue::Num)
    }

    fn load_params(&mut self) {
        for (file, node) in self.section_items("parameters") {
            self.known_keys(
                &file,
                &node,
                &[
                    "name",
                    "unit",
                    "domain",
                    "keys",
                    "source",
                    "description",
                    "default",
                ],
            );
            let Some(name) = self.text(&file, &node, "name") else {
                continue;
            };
            let source = self.text(&file, &node, "source").unwrap_or_default();
            let description = self.text(&file, &node, "description").unwrap_or_default();
            let domain = self
                .opt_text(&node, "domain")
                .and_then(|d| Domain::parse(&d));
            let Some(unit_text) = self.text(&file, &node, "unit") else {
                continue;
            };
            let Some(unit) = Unit::parse(&unit_text, domain) else {
                let line = node.get("unit").map_or(node.line, |n| n.line);
                self.problem(&file, line, format!("unknown unit `{unit_text}` (yuan, fen, ratio, months, days, count, m2, kwh, codes with a domain)"));
                continue;
            };
            let keys = match self.opt_text(&node, "keys") {
                Some(k) => match Domain::parse(&k) {
                    Some(d) => Some(d),
                    None => {
                        let line = node.get("keys").map_or(node.line, |n| n.line);
                        self.problem(&file, line, format!("unknown key domain `{k}`"));
                        continue;
                    }
                },
                None => None,
            };
            if self.params.iter().any(|p| p.name == name) {
                self.problem(
                    &file,
                    node.line,
                    format!("parameter `{name}` is declared twice"),
                );
                continue;
            }
            if BASE_FACTS.iter().any(|f| f.0 == name) {
                self.problem(
                    &file,
                    node.line,
                    format!("parameter `{name}` has the name of a fact"),
                );
                continue;
            }
            let mut decl = ParamDecl {
                name,
                unit,
                keys,
                source,
                description,
                default: None,
                file: file.clone(),
                line: node.line,
            };
            if let Some(d) = node.get("default") {
                decl.default = self.param_value(&file, d, &decl);
            }
            self.params.push(decl);
        }
    }

    fn load_sets(&mut self) -> Vec<ParamSet> {
        let mut sets: Vec<ParamSet> = Vec::new();
        for (file, node) in self.section_items("sets") {
            self.known_keys(
                &file,
                &node,
                &["id", "name", "prefix", "from", "until", "source", "values"],
            );
            let Some(id) = self.text(&file, &node, "id") else {
                continue;
            };
            let name = self.text(&file, &node, "name").unwrap_or_default();
            let source = self.text(&file, &node, "source").unwrap_or_default();
            let Some(prefix) = self.text(&file, &node, "prefix") else {
                continue;
            };
            if prefix.is_empty() || prefix.len() > 12 || !prefix.bytes().all(|b| b.is_ascii_digit())
            {
                let line = node.get("prefix").map_or(node.line, |n| n.line);
                self.problem(
                    &file,
                    line,
                    format!("prefix `{prefix}` must be 1 to 12 digits (quote it: \"11\")"),
                );
                continue;
            }
            let date = |b: &mut Builder, key: &str| -> Option<Option<Date>> {
                let n = node.get(key)?;
                let text = n.as_str().unwrap_or_default();
                match Date::parse(text) {
                    Ok(d) => Some(Some(d)),
                    Err(_) => {
                        b.problem(
                            &file,
                            n.line,
                            format!("`{text}` is not a date (YYYY-MM-DD)"),
                        );
                        Some(None)
                    }
                }
            };
            let Some(Some(from)) = date(self, "from") else {
                if node.get("from").is_none() {
                    self.problem(&file, node.line, "missing `from` (effective date)".into());
                }
                continue;
            };
            let until = date(self, "until").flatten();
            if let Some(u) = until
                && u < from
            {
                self.problem(
                    &file,
                    node.line,
                    format!("set `{id}` ends before it starts"),
                );
            }
            if sets.iter().any(|s| s.id == id) {
                self.problem(&file, node.line, format!("set `{id}` is written twice"));
                continue;
            }
            let mut values = Vec::new();
            if let Some(v) = node.get("values") {
                for (k, val) in v.entries().unwrap_or_default() {
                    let pname = k.as_str().unwrap_or_default();
                    match self.params.iter().position(|p| p.name == pname) {
                        Some(i) => {
                            let decl = self.params[i].clone();
                            if let Some(value) = self.param_value(&file, val, &decl) {
                                values.push((i as u16, value));
                            }
                        }
                        None => self.problem(&file, k.line, format!("unknown parameter `{pname}`")),
                    }
                }
            }
            let mut urban = Vec::new();
            let mut rural = Vec::new();
            for (i, decl) in self.params.clone().iter().enumerate() {
                let value = values
                    .iter()
                    .find(|(p, _)| *p as usize == i)
                    .map(|(_, v)| v.clone())
                    .or_else(|| decl.default.clone());
                let Some(value) = value else {
                    self.problem(
                        &file,
                        node.line,
                        format!(
                            "set `{id}` gives no value for `{}`, which has no default",
                            decl.name
                        ),
                    );
                    continue;
                };
                let (u, r) = match value {
                    ParamValue::Num(n) => (Resolved::Num(n), Resolved::Num(n)),
                    ParamValue::UrbanRural { urban, rural } => {
                        (Resolved::Num(urban), Resolved::Num(rural))
                    }
                    ParamValue::Table(t) => (Resolved::Table(t.clone()), Resolved::Table(t)),
                    ParamValue::Codes(c) => (Resolved::Codes(c), Resolved::Codes(c)),
                };
                urban.push(u);
                rural.push(r);
            }
            sets.push(ParamSet {
                id,
                name,
                prefix,
                from,
                until,
                source,
                values,
                urban,
                rural,
                file: file.clone(),
                line: node.line,
            });
        }
        // Effective dates per prefix: no two sets from the same date, no overlap, no gap.
        let mut by_prefix: Vec<&ParamSet> = sets.iter().collect();
        by_prefix.sort_by(|a, b| (&a.prefix, a.from).cmp(&(&b.prefix, b.from)));
        let mut found = Vec::new();
        for pair in by_prefix.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if a.prefix != b.prefix {
                continue;
            }
            if a.from == b.from {
                found.push((
                    b.file.clone(),
                    b.line,
                    format!(
                        "sets `{}` and `{}` for prefix {} both start on {}",
                        a.id, b.id, a.prefix, a.from
                    ),
                ));
            } else if let Some(u) = a.until {
                if u >= b.from {
                    found.push((
                        a.file.clone(),
                        a.line,
                        format!(
                            "set `{}` (until {u}) overlaps set `{}` (from {})",
                            a.id, b.id, b.from
                        ),
                    ));
                } else if u.add_days(1) < b.from {
                    found.push((
                        a.file.clone(),
                        a.line,
                        format!(
                            "gap between set `{}` (until {u}) and set `{}` (from {})",
                            a.id, b.id, b.from
                        ),
                    ));
                }
            }
        }
        for (f, l, m) in found {
            self.problem(&f, l, m);
        }
        sets
    }

    fn load_facts(&mut self) {
        for (file, node) in self.section_items("facts") {
            self.known_keys(&file, &node, &["name", "type", "description"]);
            let Some(name) = self.text(&file, &node, "name") else {
                continue;
            };
            let Some(ty) = self.text(&file, &node, "type") else {
                continue;
            };
            match BASE_FACTS.iter().position(|f| f.0 == name) {
                None => self.problem(
                    &file,
                    node.line,
                    format!("unknown fact `{name}`: the evaluator provides no such base fact"),
                ),
                Some(i) => {
                    if Type::parse(&ty) != Some(BASE_FACTS[i].1) {
                        self.problem(
                            &file,
                            node.line,
                            format!(
                                "fact `{name}` has type {}, not {ty}",
                                BASE_FACTS[i].1.name()
                            ),
                        );
                    }
                    if self.facts.contains(&(i as u16)) {
                        self.problem(&file, node.line, format!("fact `{name}` is declared twice"));
                    }
                    self.facts.push(i as u16);
                }
            }
        }
    }

    /// Reads `key` of `node` as an expression, checks it in `scope` and expects `want`.
    #[allow(clippy::too_many_arguments)]
    fn rule(
        &mut self,
        file: &str,
        node: &Node,
        id: &str,
        key: &str,
        scope: Scope,
        want: Type,
        texts: bool,
    ) -> Option<Rule> {
        let source = if texts {
            self.text(file, node, "source")
        } else {
            self.opt_text(node, "source")
        };
        let (zh, en) = if texts {
            (self.text(file, node, "zh"), self.text(file, node, "en"))
        } else {
            (self.opt_text(node, "zh"), self.opt_text(node, "en"))
        };
        let Some(expr_node) = node.get(key) else {
            self.problem(file, node.line, format!("missing `{key}`"));
            return None;
        };
        let text = expr_node.as_str().unwrap_or_default().to_owned();
        let line = expr_node.line;
        let mut expr = match expr::parse(&text) {
            Ok(e) => e,
            Err(e) => {
                self.problem(
                    file,
                    line,
                    format!("`{key}`: {} at character {}", e.message, e.offset + 1),
                );
                return None;
            }
        };
        let names = Names {
            declared: &self.facts,
            derived: &self.derived_types,
            params: &self.params,
            signals: &self.signal_codes,
        };
        match names.check(&mut expr, scope, None) {
            Ok(ty) if ty == want || (want == Type::Money && ty == Type::Money) => {}
            Ok(ty) => {
                self.problem(
                    file,
                    line,
                    format!(
                        "`{key}` must be {}, but `{text}` is {}",
                        want.name(),
                        ty.name()
                    ),
                );
                return None;
            }
            Err(message) => {
                self.problem(file, line, format!("`{key}`: {message}"));
                return None;
            }
        }
        Some(Rule {
            id: id.to_owned(),
            expr,
            ty: want,
            source: source.unwrap_or_default(),
            zh: zh.unwrap_or_default(),
            en: en.unwrap_or_default(),
            file: file.to_owned(),
            line,
            code: Code::default(),
        })
    }

    fn build(&mut self) -> Option<Pack> {
        let person = |stage| Scope {
            person: true,
            outer: false,
            group: false,
            stage,
        };
        let household = |stage| Scope {
            person: false,
            outer: false,
            group: false,
            stage,
        };

        let (name, version, score_cap) = match self.section_map("pack") {
            Some((file, node)) => {
                self.known_keys(
                    &file,
                    &node,
                    &["name", "version", "description", "score_cap"],
                );
                let name = self.text(&file, &node, "name").unwrap_or_default();
                let version = self.text(&file, &node, "version").unwrap_or_default();
                let cap = node
                    .get("score_cap")
                    .and_then(|n| n.as_str())
                    .and_then(|t| t.parse().ok());
                if cap.is_none() {
                    self.problem(
                        &file,
                        node.line,
                        "missing `score_cap` (a whole number)".into(),
                    );
                }
                (name, version, cap.unwrap_or(100))
            }
            None => (String::new(), String::new(), 100),
        };
        self.load_params();
        let sets = self.load_sets();
        if sets.is_empty() {
            self.problem("(pack)", 0, "the pack has no parameter set".into());
        }
        self.load_facts();

        // Derived person facts, each may use the ones before it.
        let mut derived = Vec::new();
        for (file, node) in self.section_items("derived") {
            self.known_keys(
                &file,
                &node,
                &["name", "type", "expr", "source", "zh", "en"],
            );
            let Some(name) = self.text(&file, &node, "name") else {
                continue;
            };
            let Some(tyt) = self.text(&file, &node, "type") else {
                continue;
            };
            let Some(ty) = Type::parse(&tyt) else {
                self.problem(&file, node.line, format!("unknown type `{tyt}`"));
                continue;
            };
            if BASE_FACTS.iter().any(|f| f.0 == name)
                || self.derived_types.iter().any(|d| d.0 == name)
            {
                self.problem(&file, node.line, format!("fact `{name}` is defined twice"));
                continue;
            }
            if let Some(r) = self.rule(&file, &node, &name, "expr", person(Stage::Start), ty, true)
            {
                derived.push(r);
            }
            self.derived_types.push((name, ty));
        }

        // Anomaly reason codes.
        let mut reasons: Vec<Reason> = Vec::new();
        for (file, node) in self.section_items("reasons") {
            self.known_keys(&file, &node, &["code", "source", "zh", "en"]);
            let Some(code) = self.text(&file, &node, "code") else {
                continue;
            };
            let source = self.text(&file, &node, "source").unwrap_or_default();
            let zh = self.text(&file, &node, "zh").unwrap_or_default();
            let en = self.text(&file, &node, "en").unwrap_or_default();
            if reasons.iter().any(|r| r.code == code) {
                self.problem(
                    &file,
                    node.line,
                    format!("reason `{code}` is declared twice"),
                );
            }
            reasons.push(Reason {
                code,
                source,
                zh,
                en,
            });
        }
        let reason_known = |b: &mut Builder, file: &str, line: usize, code: &str| {
            if !reasons.iter().any(|r| r.code == code) {
                b.problem(
                    file,
                    line,
                    format!("undefined reason code `{code}` (declare it under `reasons`)"),
                );
            }
        };

        // Asset reasons: group scope; their ids must be reasons too.
        let mut assets = Vec::new();
        for (file, node) in self.section_items("assets") {
            self.known_keys(&file, &node, &["reason", "when", "source", "zh", "en"]);
            let Some(code) = self.text(&file, &node, "reason") else {
                continue;
            };
            reason_known(self, &file, node.line, &code);
            let scope = Scope {
                person: false,
                outer: false,
                group: true,
                stage: Stage::Start,
            };
            if let Some(r) = self.rule(&file, &node, &code, "when", scope, Type::Bool, true) {
                assets.push(r);
            }
        }

        let mut tekun = dummy_rule();
        let mut tekun_amount = dummy_rule();
        if let Some((file, node)) = self.section_map("tekun") {
            self.known_keys(&file, &node, &["when", "amount", "source", "zh", "en"]);
            tekun = self
                .rule(
                    &file,
                    &node,
                    "tekun",
                    "when",
                    person(Stage::Start),
                    Type::Bool,
                    true,
                )
                .unwrap_or_else(dummy_rule);
            tekun_amount = self
                .rule(
                    &file,
                    &node,
                    "tekun_amount",
                    "amount",
                    person(Stage::Start),
                    Type::Money,
                    true,
                )
                .unwrap_or_else(dummy_rule);
        }

        let mut tiers = Vec::new();
        for (file, node) in self.section_items("tiers") {
            self.known_keys(
                &file,
                &node,
                &["tier", "when", "amount", "source", "zh", "en"],
            );
            let Some(tier) = self.code(&file, &node, "tier", Domain::Tier) else {
                continue;
            };
            let word = Domain::Tier.words()[tier as usize];
            if matches!(word, "tekun" | "none") {
                self.problem(
                    &file,
                    node.line,
                    format!("tier `{word}` is decided by the procedure, not by a rule"),
                );
                continue;
            }
            let when = self.rule(
                &file,
                &node,
                word,
                "when",
                household(Stage::Tekun),
                Type::Bool,
                true,
            );
            let amount = if node.get("amount").is_some() {
                self.rule(
                    &file,
                    &node,
                    &format!("{word}_amount"),
                    "amount",
                    household(Stage::Tekun),
                    Type::Money,
                    false,
                )
            } else {
                None
            };
            if let Some(when) = when {
                tiers.push(TierRule { tier, when, amount });
            }
        }
        if !tiers
            .iter()
            .any(|t| Domain::Tier.words()[t.tier as usize] == "dibao" && t.amount.is_some())
        {
            self.problem(
                "(pack)",
                0,
                "the `dibao` tier rule with an `amount` is missing".into(),
            );
        }

        let mut single = SingleRules {
            tiers: Vec::new(),
            when: dummy_rule(),
            routes: Vec::new(),
            amount: dummy_rule(),
        };
        if let Some((file, node)) = self.section_map("dibao_single") {
            self.known_keys(
                &file,
                &node,
                &["tiers", "when", "routes", "amount", "source", "zh", "en"],
            );
            if let Some(t) = node.get("tiers") {
                single.tiers = self.codes_list(&file, t, Domain::Tier).unwrap_or_default();
            }
            single.when = self
                .rule(
                    &file,
                    &node,
                    "dibao_single",
                    "when",
                    person(Stage::Tier),
                    Type::Bool,
                    true,
                )
                .unwrap_or_else(dummy_rule);
            single.amount = self
                .rule(
                    &file,
                    &node,
                    "dibao_single_amount",
                    "amount",
                    person(Stage::Tier),
                    Type::Money,
                    false,
                )
                .unwrap_or_else(dummy_rule);
            for route in node.get("routes").and_then(Node::items).unwrap_or_default() {
                self.known_keys(&file, route, &["id", "when", "source", "zh", "en"]);
                let Some(id) = self.text(&file, route, "id") else {
                    continue;
                };
                if let Some(r) = self.rule(
                    &file,
                    route,
                    &id,
                    "when",
                    person(Stage::Tier),
                    Type::Bool,
                    true,
                ) {
                    single.routes.push(r);
                }
            }
        }

        // Wrong inclusion.
        let mut household_checks = Vec::new();
        let mut person_checks = Vec::new();
        let mut status_reasons = Vec::new();
        if let Some((file, node)) = self.section_map("wrong_inclusion") {
            self.known_keys(&file, &node, &["statuses", "households", "persons"]);
            if let Some(s) = node.get("statuses") {
                status_reasons = self
                    .codes_list(&file, s, Domain::PersonStatus)
                    .unwrap_or_default();
                for st in &status_reasons {
                    reason_known(
                        self,
                        &file,
                        s.line,
                        Domain::PersonStatus.words()[*st as usize],
                    );
                }
            }
            for (key, is_household) in [("households", true), ("persons", false)] {
                for check in node.get(key).and_then(Node::items).unwrap_or_default() {
                    self.known_keys(
                        &file,
                        check,
                        &["program", "reasons", "all_tekun", "not_found", "source"],
                    );
                    let Some(program) = self.code(&file, check, "program", Domain::Program) else {
                        continue;
                    };
                    let source = self.text(&file, check, "source").unwrap_or_default();
                    let scope = if is_household {
                        household(Stage::Single)
                    } else {
                        person(Stage::Single)
                    };
                    let mut rs = Vec::new();
                    for r in check
                        .get("reasons")
                        .and_then(Node::items)
                        .unwrap_or_default()
                    {
                        if let Some(level) = r.get("assets") {
                            let level_word = level.as_str().unwrap_or_default();
                            let Some(level) = Domain::AssetLevel.index(level_word) else {
                                self.problem(
                                    &file,
                                    level.line,
                                    format!("`{level_word}` is not an asset level"),
                                );
                                continue;
                            };
                            let over_word = self
                                .opt_text(r, "over")
                                .unwrap_or_else(|| "non_tekun".into());
                            let Some(over) = expr::Collection::from_name(&over_word) else {
                                self.problem(
                                    &file,
                                    r.line,
                                    format!("`{over_word}` is not a collection"),
                                );
                                continue;
                            };
                            rs.push(ReasonRule::Assets { level, over });
                        } else {
                            self.known_keys(&file, r, &["reason", "when", "source", "zh", "en"]);
                            let Some(code) = self.text(&file, r, "reason") else {
                                continue;
                            };
                            reason_known(self, &file, r.line, &code);
                            if let Some(rule) =
                                self.rule(&file, r, &code, "when", scope, Type::Bool, false)
                            {
                                rs.push(ReasonRule::When(Box::new(rule)));
                            }
                        }
                    }
                    let all_tekun = self.opt_text(check, "all_tekun");
                    let not_found = self.opt_text(check, "not_found");
                    for key in ["all_tekun", "not_found"] {
                        if let Some(n) = check.get(key) {
                            let code = n.as_str().unwrap_or_default().to_owned();
                            reason_known(self, &file, n.line, &code);
                        }
                    }
                    let c = InclusionCheck {
                        program,
                        reasons: rs,
                        all_tekun,
                        not_found,
                        source,
                    };
                    if is_household {
                        household_checks.push(c)
                    } else {
                        person_checks.push(c)
                    }
                }
            }
        }

        let mut omissions = Vec::new();
        for (file, node) in self.section_items("omissions") {
            self.known_keys(
                &file,
                &node,
                &["program", "reason", "about", "when", "source", "zh", "en"],
            );
            let Some(program) = self.code(&file, &node, "program", Domain::Program) else {
                continue;
            };
            let Some(reason) = self.text(&file, &node, "reason") else {
                continue;
            };
            reason_known(self, &file, node.line, &reason);
            let about = match self.opt_text(&node, "about").as_deref() {
                Some("household") => About::Household,
                Some("tekun") => About::Tekun,
                Some("dibao_single") => About::DibaoSingle,
                other => {
                    self.problem(
                        &file,
                        node.line,
                        format!("`about` must be household, tekun or dibao_single, not {other:?}"),
                    );
                    continue;
                }
            };
            let scope = if about == About::Household {
                household(Stage::Single)
            } else {
                person(Stage::Single)
            };
            if let Some(when) = self.rule(&file, &node, &reason, "when", scope, Type::Bool, true) {
                omissions.push(Omission {
                    program,
                    reason,
                    about,
                    when,
                });
            }
        }

        let mut duplicates = Duplicates {
            programs: Vec::new(),
            same_reason: String::new(),
            exclusive: Vec::new(),
            exclusive_reason: String::new(),
            linked_reason: None,
            source: String::new(),
        };
        if let Some((file, node)) = self.section_map("duplicates") {
            self.known_keys(
                &file,
                &node,
                &[
                    "programs",
                    "same_reason",
                    "exclusive",
                    "exclusive_reason",
                    "linked_reason",
                    "source",
                ],
            );
            if let Some(p) = node.get("programs") {
                duplicates.programs = self
                    .codes_list(&file, p, Domain::Program)
                    .unwrap_or_default();
            }
            duplicates.same_reason = self.text(&file, &node, "same_reason").unwrap_or_default();
            duplicates.exclusive_reason = self
                .text(&file, &node, "exclusive_reason")
                .unwrap_or_default();
            duplicates.source = self.text(&file, &node, "source").unwrap_or_default();
            duplicates.linked_reason = self.opt_text(&node, "linked_reason");
            for code in [
                Some(duplicates.same_reason.clone()),
                Some(duplicates.exclusive_reason.clone()),
                duplicates.linked_reason.clone(),
            ]
            .into_iter()
            .flatten()
            {
                reason_known(self, &file, node.line, &code);
            }
            for pair in node
                .get("exclusive")
                .and_then(Node::items)
                .unwrap_or_default()
            {
                let codes = self
                    .codes_list(&file, pair, Domain::Program)
                    .unwrap_or_default();
                if codes.len() == 2 {
                    duplicates.exclusive.push((codes[0], codes[1]));
                } else {
                    self.problem(
                        &file,
                        pair.line,
                        "an exclusive pair has two programs".into(),
                    );
                }
            }
        }

        // Signals first collect their codes so that tags and items may refer to them.
        let signal_nodes = self.section_items("signals");
        for (_, node) in &signal_nodes {
            if let Some(c) = self.opt_text(node, "code") {
                self.signal_codes.push(c);
            }
        }
        let mut signals = Vec::new();
        let mut seen = HashSet::new();
        for (file, node) in signal_nodes {
            self.known_keys(
                &file,
                &node,
                &["code", "level", "about", "when", "source", "zh", "en"],
            );
            let Some(code) = self.text(&file, &node, "code") else {
                continue;
            };
            if !seen.insert(code.clone()) {
                self.problem(
                    &file,
                    node.line,
                    format!("signal `{code}` is defined twice"),
                );
            }
            let Some(level) = self.code(&file, &node, "level", Domain::Level) else {
                continue;
            };
            if level == 0 {
                self.problem(
                    &file,
                    node.line,
                    "a signal's level is yellow, orange or red".into(),
                );
            }
            let about = match self.opt_text(&node, "about").as_deref() {
                Some("household") => About::Household,
                Some("person") => About::Person,
                Some("deceased") => About::Deceased,
                other => {
                    self.problem(
                        &file,
                        node.line,
                        format!("`about` must be person, household or deceased, not {other:?}"),
                    );
                    continue;
                }
            };
            let scope = if about == About::Household {
                household(Stage::Single)
            } else {
                person(Stage::Single)
            };
            if let Some(when) = self.rule(&file, &node, &code, "when", scope, Type::Bool, true) {
                signals.push(Signal { level, about, when });
            }
        }

        let mut tags = Vec::new();
        let mut seen = HashSet::new();
        for (file, node) in self.section_items("tags") {
            self.known_keys(
                &file,
                &node,
                &["code", "points", "when", "source", "zh", "en"],
            );
            let Some(code) = self.text(&file, &node, "code") else {
                continue;
            };
            if !seen.insert(code.clone()) {
                self.problem(&file, node.line, format!("tag `{code}` is defined twice"));
            }
            let points = node
                .get("points")
                .and_then(Node::as_str)
                .and_then(|t| t.parse::<i64>().ok());
            let Some(points) = points else {
                self.problem(&file, node.line, "`points` must be a whole number".into());
                continue;
            };
            if let Some(when) = self.rule(
                &file,
                &node,
                &code,
                "when",
                household(Stage::Level),
                Type::Bool,
                true,
            ) {
                tags.push(Tag { points, when });
            }
        }

        let mut catalogue = Vec::new();
        let mut seen = HashSet::new();
        for (file, node) in self.section_items("catalogue") {
            self.known_keys(
                &file,
                &node,
                &[
                    "item", "kind", "when", "amount", "reason", "source", "zh", "en",
                ],
            );
            let Some(item) = self.text(&file, &node, "item") else {
                continue;
            };
            if !seen.insert(item.clone()) {
                self.problem(&file, node.line, format!("item `{item}` is defined twice"));
            }
            let Some(kind) = self.text(&file, &node, "kind") else {
                continue;
            };
            if !matches!(kind.as_str(), "cash" | "subsidy" | "service" | "goods") {
                self.problem(
                    &file,
                    node.line,
                    format!("`{kind}` is not an item kind (cash, subsidy, service, goods)"),
                );
            }
            let reason = self.text(&file, &node, "reason").unwrap_or_default();
            if let Some((what, code)) = reason.split_once(':') {
                let ok = match what {
                    "tier" => Domain::Tier.index(code).is_some(),
                    "signal" => self.signal_codes.iter().any(|s| s == code),
                    "tag" => seen_tag(&tags, code),
                    "level" => Domain::Level.index(code).is_some(),
                    "persons" => matches!(code, "tekun" | "dibao_single"),
                    "rule" => code == item,
                    _ => false,
                };
                if !ok {
                    self.problem(
                        &file,
                        node.line,
                        format!("reason `{reason}` names an undefined code"),
                    );
                }
            }
            let when = self.rule(
                &file,
                &node,
                &item,
                "when",
                household(Stage::Level),
                Type::Bool,
                true,
            );
            let amount = if node.get("amount").is_some() {
                self.rule(
                    &file,
                    &node,
                    &item,
                    "amount",
                    household(Stage::Level),
                    Type::Money,
                    false,
                )
            } else {
                None
            };
            if let Some(when) = when {
                catalogue.push(Item {
                    kind,
                    reason,
                    when,
                    amount,
                });
            }
        }

        if !self.problems.is_empty() {
            return None;
        }
        Some(Pack {
            name,
            version,
            digest: String::new(),
            score_cap,
            params: std::mem::take(&mut self.params),
            sets,
            facts: std::mem::take(&mut self.facts),
            derived,
            reasons,
            assets,
            tekun,
            tekun_amount,
            tiers,
            dibao_single: single,
            household_checks,
            person_checks,
            status_reasons,
            omissions,
            duplicates,
            signals,
            tags,
            catalogue,
            files: std::sync::Arc::new([]),
        })
    }
}

fn seen_tag(tags: &[Tag], code: &str) -> bool {
    tags.iter().any(|t| t.when.id == code)
}
