//! `jiuzhu policy`: check a policy pack, run its policy tests, explain the results for a
//! household, and show the parameters in force for a region.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use domain::{Date, RegionCode};
use policy::eval::{Evaluation, Options, evaluate};
use policy::pack::{DEFAULT_TESTS, Resolved};
use policy::{Explanation, Pack};

/// The subcommands of `jiuzhu policy`.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Load and check a policy pack; every problem is printed with file and line.
    Check {
        /// The pack folder.
        pack: PathBuf,
    },
    /// Run the policy tests of a pack (its `tests/` folder; the built-in pack when omitted)
    /// and print the coverage listing. Fails when a test fails or an item is not covered.
    Test {
        /// The pack folder.
        pack: Option<PathBuf>,
    },
    /// Explain every result for the households of a case file (the policy test format).
    Explain {
        /// A YAML file with `cases:` (or one case).
        #[arg(long)]
        case: PathBuf,
        /// Evaluate at this date instead of the case's `as_of`.
        #[arg(long)]
        as_of: Option<String>,
        /// The pack folder (the built-in pack when omitted).
        #[arg(long)]
        pack: Option<PathBuf>,
    },
    /// Show the parameter set and values in force for a region at a date.
    Params {
        /// A 12-digit (or 6-digit) region code.
        #[arg(long)]
        region: String,
        /// The date.
        #[arg(long)]
        as_of: String,
        /// The pack folder (the built-in pack when omitted).
        #[arg(long)]
        pack: Option<PathBuf>,
    },
}

/// Runs `jiuzhu policy`.
pub fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Check { pack } => {
            let loaded = load(Some(&pack))?;
            println!(
                "{}: ok — {} parameters, {} sets, {} derived facts, {} tiers, {} signals, {} tags, {} catalogue items",
                pack.display(),
                loaded.params.len(),
                loaded.sets.len(),
                loaded.derived.len(),
                loaded.tiers.len(),
                loaded.signals.len(),
                loaded.tags.len(),
                loaded.catalogue.len()
            );
            Ok(())
        }
        Command::Test { pack } => test(pack.as_deref()),
        Command::Explain { case, as_of, pack } => explain(&case, as_of.as_deref(), pack.as_deref()),
        Command::Params {
            region,
            as_of,
            pack,
        } => params(&region, &as_of, pack.as_deref()),
    }
}

fn load(pack: Option<&Path>) -> anyhow::Result<Pack> {
    match pack {
        Some(dir) => {
            Pack::load_dir(dir).with_context(|| format!("policy pack {} refused", dir.display()))
        }
        None => Pack::default_pack().context("the built-in policy pack"),
    }
}

fn test(pack_dir: Option<&Path>) -> anyhow::Result<()> {
    let pack = load(pack_dir)?;
    let report = match pack_dir {
        Some(dir) => {
            let tests = dir.join("tests");
            policy::cases::run_dir(&pack, &tests)
                .with_context(|| format!("reading {}", tests.display()))?
        }
        None => policy::cases::run_files(&pack, DEFAULT_TESTS),
    };
    print!("{}", report.render());
    let mut ok = report.ok();
    if let Some(dir) = pack_dir {
        let assess = dir.join("assess");
        if assess.is_dir() {
            let r = policy::assess::cases::run_dir(&assess)
                .with_context(|| format!("case assessment data in {}", assess.display()))?;
            println!("\ncase assessment ({})", assess.display());
            print!("{}", r.render());
            ok &= r.failed() == 0;
        }
    }
    if !ok {
        bail!("policy tests failed or left items uncovered");
    }
    Ok(())
}

fn show(ex: &Explanation, indent: &str) {
    for step in &ex.steps {
        let verdict = if step.holds { "holds" } else { "does not hold" };
        println!("{indent}rule {} — {verdict}", step.rule);
        if !step.source.is_empty() {
            println!("{indent}  source: {}", step.source);
        }
        println!("{indent}  zh: {}", step.text_zh);
        println!("{indent}  en: {}", step.text_en);
        if !step.facts.is_empty() {
            let facts: Vec<String> = step
                .facts
                .iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect();
            println!("{indent}  facts: {}", facts.join("; "));
        }
        if !step.params.is_empty() {
            let params: Vec<String> = step
                .params
                .iter()
                .map(|(k, v)| format!("{k} = {v}"))
                .collect();
            println!("{indent}  parameters: {}", params.join("; "));
        }
    }
}

fn explain(file: &Path, as_of: Option<&str>, pack_dir: Option<&Path>) -> anyhow::Result<()> {
    let pack = load(pack_dir)?;
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    let node = policy::yaml::parse(&text)
        .map_err(|e| anyhow::anyhow!("{}:{}: {}", file.display(), e.line, e.message))?;
    let cases: Vec<policy::yaml::Node> = match node.get("cases").and_then(|c| c.items()) {
        Some(items) => items.to_vec(),
        None => vec![node.clone()],
    };
    let forced = match as_of {
        Some(t) => Some(Date::parse(t).map_err(|_| anyhow::anyhow!("`{t}` is not a date"))?),
        None => None,
    };
    for case in &cases {
        let (input, case_date) = policy::cases::input_from_case(case)
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        let date = forced.unwrap_or(case_date);
        if let Some(name) = case.get("name").and_then(|n| n.as_str()) {
            println!("== {name}");
        }
        let o = match evaluate(&pack, &input, date, Options { explain: true }) {
            Evaluation::Done(o) => o,
            Evaluation::Uncovered { region } => {
                println!(
                    "household {}: region {} has no parameter set at {date}; left out\n",
                    input.household_id,
                    region.unwrap_or_else(|| "unknown".into())
                );
                continue;
            }
        };
        println!(
            "household {} · region {} · parameter set {} · as of {date}",
            o.household_id, o.region, o.set
        );
        println!(
            "tier {} · dibao_amount {} · size {} · tekun members {} · per-capita income {}",
            o.tier, o.dibao_amount, o.size, o.tekun_members, o.per_capita_income
        );
        println!("  tier / 家庭层级:");
        show(&o.tier_explanation, "    ");
        for p in &o.persons {
            println!(
                "  person {} / 个人: {} {}{}",
                policy::eval::mask(&p.person),
                p.status,
                p.amount,
                p.care_level
                    .as_deref()
                    .map(|c| format!(" care {c}"))
                    .unwrap_or_default()
            );
            show(&p.explanation, "    ");
        }
        for a in &o.anomalies {
            println!(
                "  anomaly / 异常: {} {} household {}{} reasons {}",
                a.kind,
                a.program,
                a.household_id,
                a.person
                    .as_ref()
                    .map(|p| format!(" person {}", policy::eval::mask(p)))
                    .unwrap_or_default(),
                a.reasons.join(";")
            );
            show(&a.explanation, "    ");
        }
        for s in &o.signals {
            println!(
                "  signal / 预警: {} {}{}",
                s.signal,
                s.level,
                s.person
                    .as_ref()
                    .map(|p| format!(" person {}", policy::eval::mask(p)))
                    .unwrap_or_default()
            );
            show(&s.explanation, "    ");
        }
        println!(
            "  level {} · tags {} · score {}",
            o.level,
            o.tags.join(";"),
            o.score
        );
        show(&o.tags_explanation, "    ");
        for p in &o.packages {
            println!(
                "  package / 救助包: {} {}{} ({})",
                p.kind,
                p.item,
                p.amount.map(|a| format!(" {a}")).unwrap_or_default(),
                p.reason
            );
            show(&p.explanation, "    ");
        }
        println!();
    }
    Ok(())
}

fn params(region: &str, as_of: &str, pack_dir: Option<&Path>) -> anyhow::Result<()> {
    let pack = load(pack_dir)?;
    let code = RegionCode::parse(region).map_err(|e| anyhow::anyhow!("region `{region}`: {e}"))?;
    let date = Date::parse(as_of).map_err(|_| anyhow::anyhow!("`{as_of}` is not a date"))?;
    let Some((set, values)) = pack.params_for(code, date) else {
        bail!("no parameter set covers region {code} at {date}");
    };
    let kind = if code.is_rural() { "rural" } else { "urban" };
    println!(
        "region {code} ({kind}) at {date}: set {} — {}",
        set.id, set.name
    );
    println!(
        "  prefix {} · from {} · source: {}",
        set.prefix, set.from, set.source
    );
    for (decl, value) in pack.params.iter().zip(values) {
        let shown = match value {
            Resolved::Num(n) => decl.unit.show(*n),
            Resolved::Table(t) => {
                let keys = decl.keys.map(|d| d.words()).unwrap_or(&[]);
                keys.iter()
                    .zip(t)
                    .map(|(k, n)| format!("{k} {}", decl.unit.show(*n)))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
            Resolved::Codes(bits) => {
                let words = match decl.unit {
                    policy::pack::Unit::Codes(d) => d.words(),
                    _ => &[],
                };
                words
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| bits & (1 << i) != 0)
                    .map(|(_, w)| *w)
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };
        let overridden = if set.values.iter().any(|(i, _)| {
            pack.params
                .get(*i as usize)
                .is_some_and(|p| p.name == decl.name)
        }) {
            " (this set)"
        } else {
            ""
        };
        println!("  {:<26} {shown}{overridden}", decl.name);
        println!("  {:<26}   {} — {}", "", decl.description, decl.source);
    }
    Ok(())
}
