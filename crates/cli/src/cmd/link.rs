//! `jiuzhu link`: record linkage on the lake (rows without a usable person ID → persons, as a
//! monitoring run links them), and
//! `jiuzhu link eval`, which measures linkage on labelled benchmark files (FEBRL, generated
//! sets, pseudopeople) with precision, recall, F1, blocking recall and timings. The file
//! reading lives here; the `linkage` crate does no IO.

use anyhow::{Context, bail};
use linkage::{Assignment, BirthDate, Record, Settings};
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Instant;

/// Arguments of `jiuzhu link`.
#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Data directory (the lake is DATA/lake): link the rows without a usable person ID to the
    /// persons of the population snapshot, as a monitoring run does, and keep the links in
    /// DATA/links for the monitoring runs on this lake.
    #[arg(long, env = "JIUZHU_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// The as-of date (YYYY-MM-DD) of the run this linking belongs to; every committed batch
    /// is read, as a monitoring run reads it.
    #[arg(long)]
    as_of: Option<String>,
    /// Explain one row, FEED:ROW (e.g. medical:12): the comparison levels and weights of its
    /// best pair, without any name or ID.
    #[arg(long, value_name = "FEED:ROW")]
    explain: Option<String>,
    /// Worker threads (default: every core).
    #[arg(long)]
    threads: Option<usize>,
}

#[derive(clap::Subcommand, Debug)]
enum Command {
    /// Measure linkage on labelled CSV files (precision, recall, F1, blocking recall, timings).
    Eval(EvalArgs),
}

#[derive(clap::Args, Debug)]
struct EvalArgs {
    /// Left file (link mode).
    #[arg(long, required_unless_present = "dedupe")]
    left: Option<PathBuf>,
    /// Right file (link mode).
    #[arg(long, required_unless_present = "dedupe")]
    right: Option<PathBuf>,
    /// Deduplicate one file (with --input) instead of linking two.
    #[arg(long, requires = "input")]
    dedupe: bool,
    /// The file to deduplicate.
    #[arg(long)]
    input: Option<PathBuf>,
    /// True pairs: CSV with two record-id columns. Without it, records of one entity are
    /// found by --entity-column (auto: simulant_id) or by the record id (rec-12-org → rec-12,
    /// e12-a → e12).
    #[arg(long)]
    truth: Option<PathBuf>,
    /// Column naming the entity of each record (when no truth file is given).
    #[arg(long)]
    entity_column: Option<String>,
    /// Column mapping overrides, `field=column` (fields: id, full_name, surname, given_name,
    /// middle_initial, birth_date, id_number, gender, region, street_number, street,
    /// locality, postcode). Other fields are detected from the header.
    #[arg(long = "map", value_name = "FIELD=COLUMN")]
    map: Vec<String>,
    /// Ignore the identity number (records without a national ID).
    #[arg(long)]
    no_id: bool,
    /// Decision threshold on the match probability.
    #[arg(long, default_value_t = 0.5)]
    threshold: f64,
    /// Link mode: one-to-one, many-to-one (each left record at most one right) or all.
    #[arg(long, default_value = "one-to-one")]
    assignment: String,
    /// Turn off the term-frequency adjustment of names.
    #[arg(long)]
    no_tf: bool,
    /// Write the figures as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Name of the run in the JSON output.
    #[arg(long, default_value = "jiuzhu")]
    name: String,
    /// Write the wrongly decided pairs (record ids, probability, level of each comparison;
    /// no field values) to this CSV file, for error analysis.
    #[arg(long)]
    errors: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Pairs a blocking rule may produce per blocking key before its largest blocks are
    /// skipped (default: the library's).
    #[arg(long)]
    rule_pairs_per_key: Option<f64>,
}

/// Runs `jiuzhu link`.
pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Some(Command::Eval(eval)) => run_eval(eval),
        None => {
            let Some(dir) = args.data_dir else {
                bail!("give --data-dir DATA (or `jiuzhu link eval …` for labelled files)");
            };
            run_lake(
                &dir,
                args.as_of.as_deref(),
                args.explain.as_deref(),
                args.threads,
            )
        }
    }
}

/// Parses `FEED:ROW`.
fn feed_row(text: &str) -> anyhow::Result<(monitor::Feed, i64)> {
    let Some((feed, row)) = text.split_once(':') else {
        bail!("--explain takes FEED:ROW, e.g. medical:12");
    };
    let Some(f) = monitor::Feed::from_name(feed.trim()) else {
        bail!("--explain: unknown feed {:?}", feed.trim());
    };
    if f == monitor::Feed::Population {
        bail!("--explain: population rows are the persons linked to, not linked themselves");
    }
    let row: i64 = row
        .trim()
        .parse()
        .ok()
        .filter(|r| *r >= 1)
        .with_context(|| format!("--explain: the row must be a number from 1, not {row:?}"))?;
    Ok((f, row))
}

/// `jiuzhu link --data-dir DATA`: links the lake's unlinked rows, keeps the links (with the
/// registry check's counts) for the monitoring runs on the lake, and prints, per feed, how many were linked, how many stay
/// unmatched and the mean probability of the links; with
/// `--explain FEED:ROW`, the comparison of that row with its best candidate.
fn run_lake(
    dir: &Path,
    as_of: Option<&str>,
    explain: Option<&str>,
    threads: Option<usize>,
) -> anyhow::Result<()> {
    let as_of = super::monitor::as_of(as_of)?;
    let wanted = explain.map(feed_row).transpose()?;
    let lake = super::monitor::lake_files(dir).context("reading the lake")?;
    let mut options = monitor::RunOptions {
        links: Some(super::monitor::links_dir(dir)),
        ..monitor::RunOptions::default()
    };
    if let Some(t) = threads {
        options.threads = t.max(1);
    }
    let progress = crate::progress::TerminalProgress::new();
    let links = monitor::link(&lake, options, &progress).context("record linkage")?;
    domain::Progress::finish(&progress);
    println!("record linkage of the lake's unlinked rows (as of {as_of})");
    let per_feed = links.per_feed();
    if per_feed.is_empty() {
        println!("no unlinked rows");
    }
    println!(
        "{:<14} {:>9} {:>10} {:>17}",
        "feed", "linked", "unmatched", "mean probability"
    );
    for (feed, f) in &per_feed {
        println!(
            "{feed:<14} {:>9} {:>10} {:>13}.{:03}",
            f.linked,
            f.unmatched,
            f.mean_probability_milli / 1000,
            f.mean_probability_milli % 1000
        );
    }
    if let Some((feed, row)) = wanted {
        let Some(e) = links.explain(feed, row) else {
            bail!(
                "{}:{row} is not an unlinked row with a candidate person",
                feed.name()
            );
        };
        println!();
        print!("{}", render_explanation(feed.name(), row, &e));
    }
    Ok(())
}

/// The comparison of a row with its best candidate, as text: levels and weights only.
fn render_explanation(feed: &str, row: i64, e: &monitor::linking::RowExplanation) -> String {
    let x = &e.explanation;
    let mut out = format!(
        "{feed}:{row} — best candidate {} (probability {:.4}, match weight {:+.2})\n",
        if e.linked { "linked" } else { "not linked" },
        x.probability,
        x.match_weight
    );
    out.push_str(&format!(
        "  {:<12} {:<52} {:>8}\n",
        "prior",
        "",
        format!("{:+.2}", x.prior_weight)
    ));
    for t in &x.terms {
        let tf = if t.frequency_adjustment == 0.0 {
            String::new()
        } else {
            format!(" (name frequency {:+.2})", t.frequency_adjustment)
        };
        out.push_str(&format!(
            "  {:<12} {:<52} {:>8}{tf}\n",
            format!("{:?}", t.comparison),
            t.level,
            format!("{:+.2}", t.weight)
        ));
    }
    if x.names_swapped {
        out.push_str("  surname and given name compared crossed (written in swapped order)\n");
    }
    out
}

/// A CSV table: header and rows of fields (RFC 4180 quoting).
struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

fn read_csv(path: &Path) -> anyhow::Result<Table> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let text =
        String::from_utf8(bytes).with_context(|| format!("{} is not UTF-8", path.display()))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut rows = parse_csv(text);
    if rows.is_empty() {
        bail!("{} is empty", path.display());
    }
    let header = rows
        .remove(0)
        .into_iter()
        .map(|h| h.trim().to_string())
        .collect();
    Ok(Table { header, rows })
}

fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        any = true;
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                any = false;
            }
            _ => field.push(c),
        }
    }
    if any {
        row.push(field);
        rows.push(row);
    }
    rows
}

const FIELDS: &[(&str, &[&str])] = &[
    ("id", &["rec_id", "record_id", "id", "row"]),
    ("full_name", &["full_name", "name", "姓名"]),
    ("surname", &["surname", "last_name", "family_name", "姓"]),
    ("given_name", &["given_name", "first_name", "名"]),
    ("middle_initial", &["middle_initial"]),
    (
        "birth_date",
        &["date_of_birth", "birth_date", "dob", "出生日期"],
    ),
    (
        "id_number",
        &[
            "soc_sec_id",
            "ssn",
            "person_id",
            "id_number",
            "身份证号",
            "公民身份号码",
        ],
    ),
    ("gender", &["sex", "gender", "性别"]),
    ("region", &["region", "region_code", "区划代码"]),
    ("street_number", &["street_number", "house_number"]),
    (
        "street",
        &["address_1", "street_name", "street", "address", "地址"],
    ),
    ("locality", &["suburb", "city", "locality", "town"]),
    ("postcode", &["postcode", "zipcode", "zip", "邮编"]),
];

/// Column index per field, from the header and the overrides.
fn column_map(
    header: &[String],
    overrides: &[String],
    no_id: bool,
) -> anyhow::Result<HashMap<&'static str, usize>> {
    let lower: Vec<String> = header.iter().map(|h| h.to_lowercase()).collect();
    let mut map = HashMap::new();
    for (field, aliases) in FIELDS {
        if let Some(i) = aliases
            .iter()
            .find_map(|a| lower.iter().position(|h| h == a))
        {
            map.insert(*field, i);
        }
    }
    for o in overrides {
        let Some((field, column)) = o.split_once('=') else {
            bail!("--map expects FIELD=COLUMN, got {o:?}");
        };
        let Some((name, _)) = FIELDS.iter().find(|(f, _)| *f == field) else {
            bail!("unknown field {field:?} in --map");
        };
        if column.is_empty() {
            map.remove(name);
            continue;
        }
        let Some(i) = header.iter().position(|h| h == column) else {
            bail!("column {column:?} of --map is not in the header");
        };
        map.insert(*name, i);
    }
    if no_id {
        map.remove("id_number");
    }
    if !map.contains_key("id") {
        map.insert("id", 0);
    }
    Ok(map)
}

fn records(table: &Table, map: &HashMap<&'static str, usize>) -> (Vec<String>, Vec<Record>) {
    let get = |row: &Vec<String>, field: &str| -> Option<String> {
        let v = row.get(*map.get(field)?)?.trim();
        if v.is_empty() {
            None
        } else {
            Some(v.to_string())
        }
    };
    let mut ids = Vec::with_capacity(table.rows.len());
    let mut out = Vec::with_capacity(table.rows.len());
    for row in &table.rows {
        ids.push(get(row, "id").unwrap_or_default());
        out.push(Record {
            full_name: get(row, "full_name"),
            surname: get(row, "surname"),
            given_name: get(row, "given_name"),
            middle_initial: get(row, "middle_initial"),
            birth_date: get(row, "birth_date").and_then(|d| BirthDate::parse_loose(&d)),
            id_number: get(row, "id_number"),
            gender: get(row, "gender").and_then(|g| match g.to_lowercase().as_str() {
                "m" => Some(domain::Gender::Male),
                "f" => Some(domain::Gender::Female),
                other => domain::Gender::parse(other),
            }),
            region: get(row, "region"),
            street_number: get(row, "street_number"),
            street: get(row, "street"),
            locality: get(row, "locality"),
            postcode: get(row, "postcode"),
        });
    }
    (ids, out)
}

/// The harness's entity rule: rec-1070-org / rec-1070-dup-0 → rec-1070; e123-a → e123.
fn entity_of(id: &str) -> &str {
    if id.starts_with("rec-") {
        let end = id.match_indices('-').nth(1).map_or(id.len(), |(i, _)| i);
        &id[..end]
    } else {
        id.split('-').next().unwrap_or(id)
    }
}

/// Times the library's stages (the library reports stages; the binary reads the clock).
struct StageTimer {
    current: Mutex<Option<(String, Instant)>>,
    done: Mutex<Vec<(String, f64)>>,
}

impl StageTimer {
    fn new() -> Self {
        StageTimer {
            current: Mutex::new(None),
            done: Mutex::new(Vec::new()),
        }
    }
    fn close(&self) {
        if let Ok(mut cur) = self.current.lock()
            && let Some((name, t)) = cur.take()
            && let Ok(mut done) = self.done.lock()
        {
            done.push((name, t.elapsed().as_secs_f64()));
        }
    }
    fn stages(&self) -> Vec<(String, f64)> {
        self.close();
        self.done.lock().map(|d| d.clone()).unwrap_or_default()
    }
}

impl domain::Progress for StageTimer {
    fn stage(&self, name: &str, _total: u64) {
        self.close();
        if let Ok(mut cur) = self.current.lock() {
            *cur = Some((name.to_string(), Instant::now()));
        }
    }
    fn finish(&self) {
        self.close();
    }
}

#[derive(Clone, Copy, Default)]
struct Prf {
    tp: u64,
    fp: u64,
    fn_: u64,
}

impl Prf {
    fn new(tp: u64, predicted: u64, truth: u64) -> Prf {
        Prf {
            tp,
            fp: predicted - tp,
            fn_: truth.saturating_sub(tp),
        }
    }
    fn precision(&self) -> f64 {
        if self.tp + self.fp == 0 {
            0.0
        } else {
            self.tp as f64 / (self.tp + self.fp) as f64
        }
    }
    fn recall(&self) -> f64 {
        if self.tp + self.fn_ == 0 {
            0.0
        } else {
            self.tp as f64 / (self.tp + self.fn_) as f64
        }
    }
    fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
    fn json(&self) -> String {
        format!(
            "{{\"tp\": {}, \"fp\": {}, \"fn\": {}, \"precision\": {:.4}, \"recall\": {:.4}, \"f1\": {:.4}}}",
            self.tp,
            self.fp,
            self.fn_,
            self.precision(),
            self.recall(),
            self.f1()
        )
    }
    fn line(&self) -> String {
        format!(
            "P={:.4} R={:.4} F1={:.4} (tp {} fp {} fn {})",
            self.precision(),
            self.recall(),
            self.f1(),
            self.tp,
            self.fp,
            self.fn_
        )
    }
}

/// Ground truth: whether two record ids (left, right) are a true pair, and how many there are.
struct Truth {
    pairs: Option<HashSet<(String, String)>>,
    entity_left: Vec<String>,
    entity_right: Vec<String>,
    total: u64,
}

impl Truth {
    fn is_match(&self, left_id: &str, right_id: &str, i: usize, j: usize) -> bool {
        match &self.pairs {
            Some(p) => {
                p.contains(&(left_id.to_string(), right_id.to_string()))
                    || p.contains(&(right_id.to_string(), left_id.to_string()))
            }
            None => !self.entity_left[i].is_empty() && self.entity_left[i] == self.entity_right[j],
        }
    }
}

fn entities(table: &Table, ids: &[String], column: Option<&str>) -> Vec<String> {
    let col = column.and_then(|c| table.header.iter().position(|h| h == c));
    match col {
        Some(c) => table
            .rows
            .iter()
            .map(|r| r.get(c).cloned().unwrap_or_default())
            .collect(),
        None => ids.iter().map(|id| entity_of(id).to_string()).collect(),
    }
}

fn build_truth(
    args: &EvalArgs,
    tables: (&Table, Option<&Table>),
    ids: (&[String], Option<&[String]>),
) -> anyhow::Result<Truth> {
    if let Some(path) = &args.truth {
        let t = read_csv(path)?;
        let pairs: HashSet<(String, String)> = t
            .rows
            .iter()
            .filter(|r| r.len() >= 2)
            .map(|r| (r[0].trim().to_string(), r[1].trim().to_string()))
            .collect();
        let total = pairs.len() as u64;
        return Ok(Truth {
            pairs: Some(pairs),
            entity_left: Vec::new(),
            entity_right: Vec::new(),
            total,
        });
    }
    let column = args.entity_column.clone().or_else(|| {
        tables
            .0
            .header
            .iter()
            .any(|h| h == "simulant_id")
            .then(|| "simulant_id".to_string())
    });
    let left = entities(tables.0, ids.0, column.as_deref());
    let right = match (tables.1, ids.1) {
        (Some(t), Some(i)) => entities(t, i, column.as_deref()),
        _ => left.clone(),
    };
    let mut count_left: HashMap<&str, u64> = HashMap::new();
    for e in &left {
        *count_left.entry(e).or_default() += 1;
    }
    let total = if tables.1.is_some() {
        let mut count_right: HashMap<&str, u64> = HashMap::new();
        for e in &right {
            *count_right.entry(e).or_default() += 1;
        }
        count_left
            .iter()
            .map(|(e, n)| n * count_right.get(e).copied().unwrap_or(0))
            .sum()
    } else {
        count_left
            .values()
            .map(|n| n * n.saturating_sub(1) / 2)
            .sum()
    };
    Ok(Truth {
        pairs: None,
        entity_left: left,
        entity_right: right,
        total,
    })
}

fn run_eval(args: EvalArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let t_load = Instant::now();
    let (left_path, right_path) = if args.dedupe {
        (args.input.clone().context("--dedupe needs --input")?, None)
    } else {
        (
            args.left.clone().context("--left is required")?,
            Some(args.right.clone().context("--right is required")?),
        )
    };
    let left_table = read_csv(&left_path)?;
    let right_table = right_path.as_deref().map(read_csv).transpose()?;
    let map_left = column_map(&left_table.header, &args.map, args.no_id)?;
    let (left_ids, left_records) = records(&left_table, &map_left);
    let right = match &right_table {
        Some(t) => {
            let map_right = column_map(&t.header, &args.map, args.no_id)?;
            Some(records(t, &map_right))
        }
        None => None,
    };
    let truth = build_truth(
        &args,
        (&left_table, right_table.as_ref()),
        (&left_ids, right.as_ref().map(|(ids, _)| ids.as_slice())),
    )?;
    let load_s = t_load.elapsed().as_secs_f64();

    let mut settings = Settings {
        threshold: args.threshold,
        term_frequency: !args.no_tf,
        assignment: match args.assignment.as_str() {
            "one-to-one" => Assignment::OneToOne,
            "many-to-one" => Assignment::ManyToOne,
            "all" => Assignment::All,
            other => bail!("unknown --assignment {other:?} (one-to-one, many-to-one, all)"),
        },
        ..Settings::default()
    };
    if let Some(t) = args.threads {
        settings.threads = t.max(1);
    }
    if let Some(c) = args.rule_pairs_per_key {
        settings.max_rule_pairs_per_key = c;
    }
    let timer = StageTimer::new();
    let t_link = Instant::now();
    let (pairs, decided, model, stats): (
        Vec<linkage::ScoredPair>,
        Vec<(u32, u32)>,
        linkage::Model,
        linkage::Stats,
    ) = match &right {
        Some((_, right_records)) => {
            let out = linkage::link(&left_records, right_records, &settings, &timer)?;
            let decided = out
                .decisions
                .iter()
                .filter_map(|d| d.right.map(|r| (d.left as u32, r as u32)))
                .collect();
            (out.pairs, decided, out.model, out.stats)
        }
        None => {
            let out = linkage::dedupe(&left_records, &settings, &timer)?;
            let mut members: HashMap<u32, Vec<u32>> = HashMap::new();
            for (i, c) in out.clusters.iter().enumerate() {
                members.entry(*c).or_default().push(i as u32);
            }
            let mut decided = Vec::new();
            for m in members.values().filter(|m| m.len() > 1) {
                for (x, a) in m.iter().enumerate() {
                    for b in &m[x + 1..] {
                        decided.push((*a, *b));
                    }
                }
            }
            (out.pairs, decided, out.model, out.stats)
        }
    };
    let link_s = t_link.elapsed().as_secs_f64();

    let t_eval = Instant::now();
    let right_ids: &[String] = right.as_ref().map_or(&left_ids, |(ids, _)| ids);
    let is_true = |i: u32, j: u32| {
        truth.is_match(
            &left_ids[i as usize],
            &right_ids[j as usize],
            i as usize,
            j as usize,
        )
    };
    let flags: Vec<bool> = pairs.iter().map(|p| is_true(p.left, p.right)).collect();
    let in_candidates = flags.iter().filter(|f| **f).count() as u64;
    let threshold_weight = linkage::weight_of(args.threshold) as f32;
    let mut sweep = Vec::new();
    for t in [0.01, 0.1, 0.5, 0.9, 0.99] {
        let w = linkage::weight_of(t) as f32;
        let (mut n, mut tp) = (0u64, 0u64);
        for (p, f) in pairs.iter().zip(&flags) {
            if p.match_weight >= w {
                n += 1;
                tp += u64::from(*f);
            }
        }
        sweep.push((t, Prf::new(tp, n, truth.total)));
    }
    let (mut n, mut tp) = (0u64, 0u64);
    for (p, f) in pairs.iter().zip(&flags) {
        if p.match_weight >= threshold_weight {
            n += 1;
            tp += u64::from(*f);
        }
    }
    let pairwise = Prf::new(tp, n, truth.total);
    // oracle: best F1 over all cut points
    // pairs below probability 0.001 cannot hold the best cut point of any useful model;
    // leaving them out keeps the sort small on a million records
    let floor = linkage::weight_of(0.001) as f32;
    let mut order: Vec<usize> = (0..pairs.len())
        .filter(|&k| pairs[k].match_weight >= floor)
        .collect();
    order.sort_unstable_by(|a, b| pairs[*b].match_weight.total_cmp(&pairs[*a].match_weight));
    let (mut best, mut best_p, mut cum_n, mut cum_tp) = (Prf::default(), 0.0, 0u64, 0u64);
    for k in order {
        cum_n += 1;
        cum_tp += u64::from(flags[k]);
        let r = Prf::new(cum_tp, cum_n, truth.total);
        if r.f1() > best.f1() {
            best = r;
            best_p = pairs[k].probability();
        }
    }
    let decided_tp = decided.iter().filter(|(i, j)| is_true(*i, *j)).count() as u64;
    let decisions = Prf::new(decided_tp, decided.len() as u64, truth.total);
    if let Some(path) = &args.errors {
        let right_records: &[Record] = right.as_ref().map_or(&left_records, |(_, r)| r);
        let mut out = String::from("kind,left,right,probability,explanation\n");
        let mut push = |kind: &str, i: u32, j: u32| {
            let e = model.explain(&left_records[i as usize], &right_records[j as usize]);
            let terms: Vec<String> = e
                .terms
                .iter()
                .map(|t| {
                    format!(
                        "{}={} ({:+.1}{:+.1})",
                        t.comparison.as_str(),
                        t.level,
                        t.weight,
                        t.frequency_adjustment
                    )
                })
                .collect();
            out.push_str(&format!(
                "{kind},{},{},{:.4},\"{}{}\"\n",
                left_ids[i as usize],
                right_ids[j as usize],
                e.probability,
                if e.names_swapped {
                    "names swapped; "
                } else {
                    ""
                },
                terms.join("; ")
            ));
        };
        for (p, f) in pairs.iter().zip(&flags) {
            let decided = p.match_weight >= threshold_weight;
            if decided && !f {
                push("false_positive", p.left, p.right);
            } else if !decided && *f {
                push("false_negative", p.left, p.right);
            }
        }
        std::fs::write(path, out).with_context(|| format!("writing {}", path.display()))?;
    }
    let eval_s = t_eval.elapsed().as_secs_f64();
    let wall_s = started.elapsed().as_secs_f64();
    let blocking_recall = if truth.total == 0 {
        0.0
    } else {
        in_candidates as f64 / truth.total as f64
    };
    let stages = timer.stages();
    let peak_rss_mib = peak_rss_mib();

    // a closed pipe (`| head`) is not an error of the evaluation
    let mut stdout = std::io::stdout().lock();
    let mode = if right.is_some() { "link" } else { "dedupe" };
    let decision_kind = if right.is_some() {
        args.assignment.as_str()
    } else {
        "clusters"
    };
    let _ = writeln!(
        stdout,
        "== {}: {mode}, records {} + {}, candidates {}, true pairs {}, blocking recall {:.4}",
        args.name,
        left_records.len(),
        right.as_ref().map_or(0, |(_, r)| r.len()),
        pairs.len(),
        truth.total,
        blocking_recall
    );
    let _ = writeln!(
        stdout,
        "   pairwise @{}: {}",
        args.threshold,
        pairwise.line()
    );
    let _ = writeln!(
        stdout,
        "   decisions ({decision_kind}) @{}: {}",
        args.threshold,
        decisions.line()
    );
    let _ = writeln!(
        stdout,
        "   oracle best pairwise F1 {:.4} @p>={:.4} (cut points from p 0.001)",
        best.f1(),
        best_p
    );
    let _ = writeln!(
        stdout,
        "   model: lambda {:.3e}, comparisons {:?}",
        model.lambda,
        model
            .comparisons
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
    );
    let stage_text: Vec<String> = stages.iter().map(|(n, s)| format!("{n} {s:.3}")).collect();
    let _ = writeln!(
        stdout,
        "   seconds: load {load_s:.3}, link {link_s:.3} ({}), evaluate {eval_s:.3}, wall {wall_s:.3}; peak RSS {peak_rss_mib:.1} MiB",
        stage_text.join(", ")
    );
    if let Some(path) = &args.json {
        let sweep_json: Vec<String> = sweep
            .iter()
            .map(|(t, r)| format!("{{\"threshold\": {t}, \"result\": {}}}", r.json()))
            .collect();
        let stages_json: Vec<String> = stages
            .iter()
            .map(|(n, s)| format!("\"{n}\": {s:.3}"))
            .collect();
        let per_rule: Vec<String> = stats
            .blocking
            .pairs_per_rule
            .iter()
            .map(u64::to_string)
            .collect();
        let json = format!(
            "{{\n  \"tool\": \"jiuzhu\",\n  \"name\": \"{}\",\n  \"mode\": \"{mode}\",\n  \"records\": {},\n  \"uses_id\": {},\n  \"candidate_pairs\": {},\n  \"pairs_per_rule\": [{}],\n  \"skipped_blocks\": {},\n  \"true_pairs\": {},\n  \"blocking_recall\": {:.4},\n  \"lambda\": {:e},\n  \"threshold\": {},\n  \"pairwise\": {},\n  \"decisions\": {},\n  \"decision_kind\": \"{decision_kind}\",\n  \"oracle_best_f1\": {},\n  \"sweep\": [{}],\n  \"seconds\": {{\"load\": {load_s:.3}, \"link\": {link_s:.3}, \"evaluate\": {eval_s:.3}, \"wall\": {wall_s:.3}, {}}},\n  \"peak_rss_mib\": {peak_rss_mib:.1}\n}}\n",
            args.name,
            left_records.len() + right.as_ref().map_or(0, |(_, r)| r.len()),
            !args.no_id,
            pairs.len(),
            per_rule.join(", "),
            stats.blocking.skipped_blocks,
            truth.total,
            blocking_recall,
            model.lambda,
            args.threshold,
            pairwise.json(),
            decisions.json(),
            best.json(),
            sweep_json.join(", "),
            stages_json.join(", "),
        );
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Peak resident memory of this process (Linux), in MiB; 0 when unknown.
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|v| v.parse::<f64>().ok())
            })
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_line_endings() {
        let rows = parse_csv("a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\n1,\n");
        assert_eq!(
            rows,
            vec![vec!["a", "b"], vec!["x, y", "say \"hi\""], vec!["1", ""]]
        );
    }

    #[test]
    fn harness_entity_rule() {
        assert_eq!(entity_of("rec-1070-org"), "rec-1070");
        assert_eq!(entity_of("rec-1070-dup-0"), "rec-1070");
        assert_eq!(entity_of("e123-a"), "e123");
    }

    #[test]
    fn header_detection_and_overrides() {
        let header: Vec<String> = ["rec_id", "first_name", "last_name", "ssn", "zipcode"]
            .map(String::from)
            .to_vec();
        let map = column_map(&header, &[], false).unwrap_or_default();
        assert_eq!(map.get("given_name"), Some(&1));
        assert_eq!(map.get("id_number"), Some(&3));
        let map = column_map(&header, &[], true).unwrap_or_default();
        assert_eq!(map.get("id_number"), None);
        let map = column_map(&header, &["postcode=".to_string()], false).unwrap_or_default();
        assert_eq!(map.get("postcode"), None);
        assert!(column_map(&header, &["nonsense".to_string()], false).is_err());
    }
}
