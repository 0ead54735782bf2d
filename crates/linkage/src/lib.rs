//! Record linkage for jiuzhu: finds which records describe the same person when the resident
//! ID is missing or mistyped.
//!
//! The pipeline, the same in both modes:
//! 1. **prepare** every [`Record`] once (Chinese names split and romanised with surname
//!    readings, traditional characters simplified, IDs normalised);
//! 2. **block**: candidate pairs are the union of combinable [`BlockingRule`]s;
//! 3. **compare** every candidate on graded levels ([`Comparison`]);
//! 4. **train** a Fellegi-Sunter [`Model`]: u by random sampling, m by EM per training rule,
//!    the prior by EM over the candidates (or use a given model);
//! 5. **score** each pair (term-frequency adjusted) and **decide**: one-to-one or many-to-one
//!    assignment in link mode ([`link`]), clusters in dedupe mode ([`dedupe`]).
//!
//! Every decision can be explained ([`Model::explain`]): which comparison reached which level
//! and what weight it contributed. The crate does no IO and reads no clock; progress is
//! reported through [`domain::Progress`].

pub mod assign;
pub mod blocking;
pub mod compare;
pub mod idnumber;
pub mod model;
pub mod name;
pub mod record;
pub mod similarity;

pub use assign::Assignment;
pub use blocking::{BlockKey, BlockingRule, BlockingStats};
pub use compare::Comparison;
pub use model::{Explanation, Model, Term, probability};
pub use record::{BirthDate, PreparedRecords, Preparer, Record};

use std::collections::HashMap;
use std::sync::Arc;

use compare::NULL;
use record::Prepared;

/// Why linkage could not run.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LinkageError {
    /// More records than the 24-bit pair encoding supports.
    #[error("too many records: {0} (at most 16,777,215 per side)")]
    TooManyRecords(usize),
    /// More than 16 blocking rules.
    #[error("too many blocking rules: {0} (at most 16)")]
    TooManyRules(usize),
    /// A training rule refers to no blocking rule.
    #[error("training rule {0} is not one of the blocking rules")]
    BadTrainingRule(usize),
    /// No comparison has data on both sides.
    #[error("no field is present on both sides")]
    NoComparableFields,
}

/// How to link.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Blocking rules; candidates are their union (at most 16).
    pub rules: Vec<BlockingRule>,
    /// Indexes into `rules` of the rules whose pairs train m (one EM session each).
    pub training_rules: Vec<usize>,
    /// Comparisons to use; `None` uses every comparison with data on both sides.
    pub comparisons: Option<Vec<Comparison>>,
    /// Decision threshold on the match probability.
    pub threshold: f64,
    /// Assignment in link mode.
    pub assignment: Assignment,
    /// Weight exact name agreement by the name's frequency (王伟 counts less than a rare name).
    pub term_frequency: bool,
    /// Random pairs drawn to estimate u.
    pub u_sample_pairs: usize,
    /// Blocks that would produce more pairs than this are skipped (and counted).
    pub max_block_pairs: u64,
    /// Pairs one rule may produce per blocking key of the records (about one key per
    /// record and rule): a rule beyond it skips its largest blocks (and counts them). Keeps
    /// coarse rules (a postcode with an initial) affordable where a key is shared by many
    /// records, and at a million records.
    pub max_rule_pairs_per_key: f64,
    /// In link mode, pairs one rule may produce per key of the left records (`None`: no such
    /// bound). Where the right side is a register of millions and the left a few rows, the
    /// budget of [`Settings::max_rule_pairs_per_key`] grows with the register while a row has
    /// at most one person: a coarse rule (a birth date alone) would pair every row with
    /// hundreds of strangers.
    pub max_rule_pairs_per_left_key: Option<f64>,
    /// EM iterations per session.
    pub em_iterations: usize,
    /// Seed of the pair sampler.
    pub seed: u64,
    /// Worker threads for comparing pairs (1 = none).
    pub threads: usize,
    /// A trained model to use instead of training on these records.
    pub model: Option<Model>,
}

impl Default for Settings {
    fn default() -> Self {
        use BlockKey::*;
        Settings {
            rules: vec![
                BlockingRule::on(&[NamePair]),
                BlockingRule::on(&[BirthDate]),
                BlockingRule::on(&[IdNeighbourhood]),
                BlockingRule::on(&[Surname, BirthYear]),
                BlockingRule::on(&[Postcode, StreetNumber]),
                BlockingRule::on(&[Township, GivenName]),
                BlockingRule::on(&[Surname, StreetNumber]),
                BlockingRule::on(&[GivenName, StreetNumber]),
                BlockingRule::on(&[StreetNumber, Street]),
                BlockingRule::on(&[Postcode, SurnameInitial]),
                BlockingRule::on(&[Postcode, GivenInitial]),
                BlockingRule::on(&[Postcode, Street]),
                BlockingRule::on(&[GivenName, BirthYear]),
            ],
            training_rules: vec![0, 1, 2],
            comparisons: None,
            threshold: 0.5,
            assignment: Assignment::OneToOne,
            term_frequency: true,
            u_sample_pairs: 1_000_000,
            max_block_pairs: 250_000,
            max_rule_pairs_per_key: 3.0,
            max_rule_pairs_per_left_key: None,
            em_iterations: 40,
            seed: 42,
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            model: None,
        }
    }
}

/// A scored candidate pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredPair {
    /// Index of the left record (in dedupe mode the smaller index).
    pub left: u32,
    /// Index of the right record.
    pub right: u32,
    /// Match weight (log2 odds, prior included).
    pub match_weight: f32,
}

impl ScoredPair {
    /// Match probability.
    pub fn probability(&self) -> f64 {
        probability(f64::from(self.match_weight))
    }
}

/// What linkage decided for one left record.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Decision {
    /// Index of the left record.
    pub left: usize,
    /// The right record it is linked to; `None` when unmatched.
    pub right: Option<usize>,
    /// Probability of the chosen pair, or of the best candidate when unmatched (0 without one).
    pub probability: f64,
}

/// Sizes and times of a run, for reports (no personal data).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stats {
    /// Blocking statistics.
    pub blocking: BlockingStats,
    /// Total pairs of the comparison space.
    pub total_pairs: f64,
    /// Expected number of matches among the candidates under the model.
    pub expected_matches: f64,
}

/// Result of [`link`].
#[derive(Debug, Clone)]
pub struct Linkage {
    /// The model used.
    pub model: Model,
    /// Every candidate pair with its weight.
    pub pairs: Vec<ScoredPair>,
    /// One decision per left record, in order.
    pub decisions: Vec<Decision>,
    /// Statistics.
    pub stats: Stats,
}

/// Result of [`score_prepared`]: the model and every candidate pair with its weight, for a
/// caller that decides on the pairs itself.
#[derive(Debug, Clone)]
pub struct Scored {
    /// The model used.
    pub model: Model,
    /// Every candidate pair with its weight.
    pub pairs: Vec<ScoredPair>,
    /// Statistics.
    pub stats: Stats,
}

/// Result of [`dedupe`].
#[derive(Debug, Clone)]
pub struct Deduplication {
    /// The model used.
    pub model: Model,
    /// Every candidate pair (left < right) with its weight.
    pub pairs: Vec<ScoredPair>,
    /// Cluster of each record: the smallest record index in its cluster.
    pub clusters: Vec<u32>,
    /// Statistics.
    pub stats: Stats,
}

impl Model {
    /// Explains the decision on one pair of records: each comparison's level and weight.
    pub fn explain(&self, a: &Record, b: &Record) -> Explanation {
        self.explain_prepared(&Prepared::new(a), &Prepared::new(b))
    }

    /// Explains the decision on a record and the `j`th of a prepared set; `None` when `j` is
    /// out of range.
    pub fn explain_against(
        &self,
        a: &Record,
        b: &PreparedRecords,
        j: usize,
    ) -> Option<Explanation> {
        Some(self.explain_prepared(&Prepared::new(a), b.get(j)?))
    }
}

/// Links `left` records (e.g. feed rows without a usable ID) to `right` records (e.g. the
/// persons of the register): candidates, model, scored pairs and one decision per left record.
pub fn link(
    left: &[Record],
    right: &[Record],
    settings: &Settings,
    progress: &dyn domain::Progress,
) -> Result<Linkage, LinkageError> {
    check_settings(left.len().max(right.len()), settings)?;
    let (pl, pr) = prepare_stage(left.len() + right.len(), progress, || {
        (
            prepare_all(left, settings.threads),
            prepare_all(right, settings.threads),
        )
    });
    let run = run(&pl, Some(&pr), settings, progress)?;
    Ok(decide(left.len(), run, settings))
}

/// [`link`] against right records prepared beforehand (a register prepared while it is read,
/// without holding its records as well): the same candidates, model and decisions.
pub fn link_prepared(
    left: &[Record],
    right: &PreparedRecords,
    settings: &Settings,
    progress: &dyn domain::Progress,
) -> Result<Linkage, LinkageError> {
    let scored = score_prepared(left, right, settings, progress)?;
    Ok(decide(left.len(), scored, settings))
}

/// Blocks, compares, trains and scores as [`link_prepared`] does, without deciding: the
/// scored pairs of a caller that weighs each row's candidates itself (deciding on the pairs
/// of a register of millions took half a second for decisions such a caller does not read).
pub fn score_prepared(
    left: &[Record],
    right: &PreparedRecords,
    settings: &Settings,
    progress: &dyn domain::Progress,
) -> Result<Scored, LinkageError> {
    check_settings(left.len().max(right.len()), settings)?;
    let pl = prepare_stage(left.len(), progress, || prepare_all(left, settings.threads));
    run(&pl, Some(right.as_slice()), settings, progress)
}

/// One decision per left record from the scored pairs of a link run.
fn decide(left: usize, run: Scored, settings: &Settings) -> Linkage {
    let triples: Vec<(u32, u32, f32)> = run
        .pairs
        .iter()
        .map(|p| (p.left, p.right, p.match_weight))
        .collect();
    let min_weight = weight_of(settings.threshold) as f32;
    let chosen = assign::assign(&triples, min_weight, settings.assignment);
    let mut decisions: Vec<Decision> = (0..left)
        .map(|i| Decision {
            left: i,
            right: None,
            probability: 0.0,
        })
        .collect();
    for p in &run.pairs {
        let d = &mut decisions[p.left as usize];
        d.probability = d.probability.max(p.probability());
    }
    for k in chosen {
        let p = run.pairs[k];
        let d = &mut decisions[p.left as usize];
        d.right = Some(p.right as usize);
        d.probability = p.probability();
    }
    Linkage {
        model: run.model,
        pairs: run.pairs,
        decisions,
        stats: run.stats,
    }
}

/// Deduplicates one list: candidates within it, model, scored pairs and clusters of the pairs
/// at or above the threshold (best first; two clusters join only when the mean probability
/// of the scored pairs between them reaches the threshold, see [`assign`]).
pub fn dedupe(
    records: &[Record],
    settings: &Settings,
    progress: &dyn domain::Progress,
) -> Result<Deduplication, LinkageError> {
    check_settings(records.len(), settings)?;
    let prepared = prepare_stage(records.len(), progress, || {
        prepare_all(records, settings.threads)
    });
    let run = run(&prepared, None, settings, progress)?;
    let min_weight = weight_of(settings.threshold) as f32;
    let mut joined: Vec<&ScoredPair> = run
        .pairs
        .iter()
        .filter(|p| p.match_weight >= min_weight)
        .collect();
    joined.sort_by(|a, b| b.match_weight.total_cmp(&a.match_weight));
    let identity: Vec<Option<u64>> = records
        .iter()
        .map(|r| {
            let id = idnumber::normalize_id(r.id_number.as_deref()?);
            domain::ResidentId::parse(&id).ok().map(|valid| {
                use std::hash::{Hash, Hasher};
                let mut h = std::collections::hash_map::DefaultHasher::new();
                valid.as_str().hash(&mut h);
                h.finish()
            })
        })
        .collect();
    // the pairs are in candidate order, sorted by (left, right)
    let weight_of = |a: u32, b: u32| {
        run.pairs
            .binary_search_by(|p| (p.left, p.right).cmp(&(a, b)))
            .ok()
            .map(|k| run.pairs[k].match_weight)
    };
    let clusters = assign::clusters(
        records.len(),
        joined.iter().map(|p| (p.left, p.right)),
        &identity,
        weight_of,
        settings.threshold,
    );
    Ok(Deduplication {
        model: run.model,
        pairs: run.pairs,
        clusters,
        stats: run.stats,
    })
}

/// Match weight at which the probability equals `p`.
pub fn weight_of(p: f64) -> f64 {
    let p = p.clamp(1e-12, 1.0 - 1e-12);
    (p / (1.0 - p)).log2()
}

fn prepare_all(records: &[Record], threads: usize) -> Vec<Prepared> {
    let chunk = records.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|s| {
        let handles: Vec<_> = records
            .chunks(chunk)
            .map(|c| {
                s.spawn(move || {
                    let mut preparer = record::Preparer::with_capacity(c.len());
                    c.iter().for_each(|r| preparer.push(r));
                    preparer.finish().into_vec()
                })
            })
            .collect();
        // reserved at once: a vector of millions of prepared records grown by doubling is
        // copied into fresh memory each time
        let mut all = Vec::with_capacity(records.len());
        for h in handles {
            // a chunk lost to a panic would shift every later record's index: pass it on
            all.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        all
    })
}

/// Levels of many pairs, in parallel; `pairs` yields (left, right) indexes.
fn compute_levels(
    comparisons: &[Comparison],
    left: &[Prepared],
    right: &[Prepared],
    pairs: &[u64],
    threads: usize,
    progress: &dyn domain::Progress,
) -> Vec<u8> {
    let width = comparisons.len();
    let mut out = vec![0u8; pairs.len() * width];
    let chunk = pairs.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|s| {
        for (pc, oc) in pairs.chunks(chunk).zip(out.chunks_mut(chunk * width)) {
            s.spawn(move || {
                for (k, (x, slot)) in pc.iter().zip(oc.chunks_exact_mut(width)).enumerate() {
                    let (i, j, _) = blocking::unpack(*x);
                    compare::levels(comparisons, &left[i as usize], &right[j as usize], slot);
                    if k % 65_536 == 65_535 {
                        progress.inc(65_536);
                    }
                }
            });
        }
    });
    out
}

/// Whether the settings and the larger side's size can be run.
fn check_settings(max: usize, settings: &Settings) -> Result<(), LinkageError> {
    if max > blocking::MAX_RECORDS {
        return Err(LinkageError::TooManyRecords(max));
    }
    if settings.rules.len() > 16 {
        return Err(LinkageError::TooManyRules(settings.rules.len()));
    }
    if let Some(bad) = settings
        .training_rules
        .iter()
        .find(|&&r| r >= settings.rules.len())
    {
        return Err(LinkageError::BadTrainingRule(*bad));
    }
    Ok(())
}

/// Runs `prepare` as the "prepare records" stage of `n` records.
fn prepare_stage<T>(n: usize, progress: &dyn domain::Progress, prepare: impl FnOnce() -> T) -> T {
    progress.stage("prepare records", n as u64);
    let out = prepare();
    progress.inc(n as u64);
    out
}

/// Blocks, compares, trains and scores prepared records (`right` is `None` for dedupe).
fn run(
    pl: &[Prepared],
    pr: Option<&[Prepared]>,
    settings: &Settings,
    progress: &dyn domain::Progress,
) -> Result<Scored, LinkageError> {
    let threads = settings.threads.max(1);
    let rights: &[Prepared] = pr.unwrap_or(pl);

    // comparisons with data on both sides (or those of a given model)
    let comparisons: Vec<Comparison> = match (&settings.model, &settings.comparisons) {
        (Some(model), _) => model.comparisons.clone(),
        (None, Some(c)) => c.clone(),
        (None, None) => Comparison::ALL
            .into_iter()
            .filter(|c| {
                let share = |ps: &[Prepared]| {
                    let n = ps.iter().take(20_000).count().max(1);
                    ps.iter().take(20_000).filter(|p| c.present(p)).count() as f64 / n as f64
                };
                share(pl) >= 0.05 && share(rights) >= 0.05
            })
            .collect(),
    };
    // the region is part of the address comparison when both are there (see `Prepared`)
    let comparisons: Vec<Comparison> = if settings.comparisons.is_none()
        && settings.model.is_none()
        && comparisons.contains(&Comparison::Address)
    {
        comparisons
            .into_iter()
            .filter(|c| *c != Comparison::Region)
            .collect()
    } else {
        comparisons
    };
    if comparisons.is_empty() {
        return Err(LinkageError::NoComparableFields);
    }

    progress.stage("block", 0);
    let limits = blocking::Limits {
        max_block_pairs: settings.max_block_pairs,
        max_rule_pairs_per_key: settings.max_rule_pairs_per_key,
        max_rule_pairs_per_left_key: settings.max_rule_pairs_per_left_key,
    };
    let (cands, blocking_stats) = blocking::candidates(&settings.rules, pl, pr, limits, threads);
    progress.finish();

    progress.stage("compare candidates", cands.len() as u64);
    let width = comparisons.len();
    let levels = compute_levels(&comparisons, pl, rights, &cands, threads, progress);
    progress.finish();

    let total_pairs = match pr {
        Some(r) => pl.len() as f64 * r.len() as f64,
        None => pl.len() as f64 * (pl.len() as f64 - 1.0) / 2.0,
    };
    let patterns =
        model::Patterns::from_levels(&levels, cands.iter().map(|x| blocking::unpack(*x).2), width);

    let mut model = match &settings.model {
        Some(m) => m.clone(),
        None => {
            progress.stage("train model", 0);
            let m = train(
                &comparisons,
                pl,
                rights,
                pr.is_none(),
                &patterns,
                total_pairs,
                settings,
                progress,
            );
            progress.finish();
            m
        }
    };
    if settings.model.is_none() {
        model.term_frequency = settings.term_frequency;
        if settings.term_frequency {
            let (g, s, floor) = frequencies(pl, pr, threads);
            model.tf_given = g;
            model.tf_surname = s;
            model.tf_floor = floor;
        }
    }

    progress.stage("score pairs", cands.len() as u64);
    let pairs = score(&model, &comparisons, pl, rights, &cands, &levels, threads);
    progress.finish();

    let all_rows: Vec<(&[u8], f64)> = patterns
        .rows
        .iter()
        .map(|(l, _, n)| (l.as_slice(), *n))
        .collect();
    let table = model.weight_table();
    let expected_matches: f64 = all_rows
        .iter()
        .map(|(lv, n)| probability(model.prior_weight() + table.sum(lv)) * n)
        .sum();
    Ok(Scored {
        model,
        pairs,
        stats: Stats {
            blocking: blocking_stats,
            total_pairs,
            expected_matches,
        },
    })
}

fn frequencies(
    left: &[Prepared],
    right: Option<&[Prepared]>,
    threads: usize,
) -> (model::NameFrequencies, model::NameFrequencies, f64) {
    // The records of one full name share its parts (see `record::Preparer`): they are counted
    // per shared parts first, on the threads, and only each distinct name's texts are hashed
    // — hashing and comparing ten million names one record at a time took over a second.
    type Shared<'a> = HashMap<usize, (f64, &'a record::NameParts), blocking::FxBuild>;
    fn count_parts(records: &[Prepared]) -> Shared<'_> {
        let mut shared = Shared::default();
        for p in records {
            shared
                .entry(Arc::as_ptr(&p.names) as usize)
                .or_insert((0.0, &p.names))
                .0 += 1.0;
        }
        shared
    }
    let right = right.unwrap_or(&[]);
    let chunk = right.len().div_ceil(threads.max(1)).max(1);
    let mut parts: Vec<Shared> = std::thread::scope(|s| {
        let handles: Vec<_> = right
            .chunks(chunk)
            .map(|records| s.spawn(move || count_parts(records)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    parts.push(count_parts(left));
    let mut g = model::NameFrequencies::default();
    let mut s = model::NameFrequencies::default();
    let (mut ng, mut ns) = (0.0, 0.0);
    // a name is copied only when first seen: a register of millions repeats its names
    let count = |table: &mut model::NameFrequencies, name: &str, n: f64| match table.get_mut(name) {
        Some(c) => *c += n,
        None => {
            table.insert(name.to_string(), n);
        }
    };
    for (n, names) in parts.iter().flat_map(|part| part.values()) {
        if !names.given_simplified.is_empty() {
            count(&mut g, &names.given_simplified, *n);
            ng += n;
        }
        if !names.surname_simplified.is_empty() {
            count(&mut s, &names.surname_simplified, *n);
            ns += n;
        }
    }
    g.values_mut().for_each(|v| *v /= f64::max(ng, 1.0));
    s.values_mut().for_each(|v| *v /= f64::max(ns, 1.0));
    let floor = 1.0 / f64::max(ng.max(ns), 1.0);
    (g, s, floor)
}

#[allow(clippy::too_many_arguments)]
fn train(
    comparisons: &[Comparison],
    left: &[Prepared],
    right: &[Prepared],
    dedupe: bool,
    patterns: &model::Patterns,
    total_pairs: f64,
    settings: &Settings,
    progress: &dyn domain::Progress,
) -> Model {
    let width = comparisons.len();
    // u: random pairs
    let mut rng = model::SplitMix(settings.seed);
    let samples = (settings.u_sample_pairs as f64).min(total_pairs).max(0.0) as usize;
    let mut sample_pairs = Vec::with_capacity(samples);
    while sample_pairs.len() < samples && !left.is_empty() && !right.is_empty() {
        let i = rng.below(left.len() as u64) as u32;
        let j = rng.below(right.len() as u64) as u32;
        if dedupe && i == j {
            continue;
        }
        sample_pairs.push(blocking::pack(i, j, 0));
    }
    let sample_levels = compute_levels(
        comparisons,
        left,
        right,
        &sample_pairs,
        settings.threads,
        &domain::NoProgress,
    );
    let mut u_counts: Vec<Vec<f64>> = comparisons
        .iter()
        .map(|c| vec![0.0; c.level_count()])
        .collect();
    for chunk in sample_levels.chunks_exact(width) {
        for (k, l) in chunk.iter().enumerate() {
            if *l != NULL {
                u_counts[k][*l as usize] += 1.0;
            }
        }
    }
    let normalise = |counts: &[Vec<f64>]| -> Vec<Vec<f64>> {
        counts
            .iter()
            .map(|c| {
                let n: f64 = c.iter().sum();
                let floor = 0.5 / n.max(1.0);
                let v: Vec<f64> = c.iter().map(|x| (x / n.max(1.0)).max(floor)).collect();
                let s: f64 = v.iter().sum();
                v.iter().map(|x| x / s).collect()
            })
            .collect()
    };
    let mut model = Model::with_defaults(comparisons, 1e-4);
    model.u = normalise(&u_counts);
    if patterns.rows.is_empty() {
        return model;
    }
    let all_rows: Vec<(&[u8], f64)> = patterns
        .rows
        .iter()
        .map(|(l, _, n)| (l.as_slice(), *n))
        .collect();
    let n_candidates: f64 = all_rows.iter().map(|(_, n)| n).sum();
    for round in 0..2 {
        // m: one EM session per training rule, averaging the estimates per comparison
        let mut sums: Vec<Vec<f64>> = comparisons
            .iter()
            .map(|c| vec![0.0; c.level_count()])
            .collect();
        let mut sessions = vec![0usize; width];
        for &r in &settings.training_rules {
            let bit = 1u16 << r;
            let rows: Vec<(&[u8], f64)> = patterns
                .rows
                .iter()
                .filter(|(_, mask, _)| mask & bit != 0)
                .map(|(l, _, n)| (l.as_slice(), *n))
                .collect();
            if rows.iter().map(|(_, n)| n).sum::<f64>() < 50.0 {
                continue;
            }
            let fixed: Vec<Comparison> = settings.rules[r]
                .0
                .iter()
                .flat_map(|k| k.comparisons().iter().copied())
                .collect();
            let active: Vec<bool> = comparisons.iter().map(|c| !fixed.contains(c)).collect();
            let mut m = model.m.clone();
            model::em_session(
                comparisons,
                &rows,
                &mut m,
                &model.u,
                &active,
                settings.em_iterations,
            );
            for k in 0..width {
                if active[k] {
                    sessions[k] += 1;
                    for (l, v) in m[k].iter().enumerate() {
                        sums[k][l] += v;
                    }
                }
            }
        }
        for k in 0..width {
            if sessions[k] > 0 {
                model.m[k] = sums[k].iter().map(|v| v / sessions[k] as f64).collect();
            }
        }
        // prior: EM over all candidates with m and u fixed
        let share = model::em_prior(&all_rows, &model.m, &model.u, 200);
        let expected = share * n_candidates;
        model.lambda = (expected / total_pairs.max(1.0)).clamp(1e-12, 0.5);
        progress.inc(1);
        if round == 0 {
            // random sampling also draws true matches; count each sampled pair towards u
            // with the weight of its posterior probability of being a non-match
            let lw = model.level_weights();
            let prior = model.prior_weight();
            let mut counts: Vec<Vec<f64>> = comparisons
                .iter()
                .map(|c| vec![0.0; c.level_count()])
                .collect();
            for chunk in sample_levels.chunks_exact(width) {
                let mut w = prior;
                for (k, l) in chunk.iter().enumerate() {
                    if *l != NULL {
                        w += lw[k][*l as usize];
                    }
                }
                let keep = 1.0 - model::probability(w);
                for (k, l) in chunk.iter().enumerate() {
                    if *l != NULL {
                        counts[k][*l as usize] += keep;
                    }
                }
            }
            model.u = normalise(&counts);
        }
    }
    let surname = u_same_address(comparisons, patterns, settings, Comparison::Surname);
    let birth = u_same_address(comparisons, patterns, settings, Comparison::BirthDate);
    if surname.is_some() || birth.is_some() {
        model.u_surname_same_address = surname;
        model.u_birth_same_address = birth;
        let table = model.weight_table();
        let share = prior_share(&all_rows, &table, 200);
        model.lambda = (share * n_candidates / total_pairs.max(1.0)).clamp(1e-12, 0.5);
    }
    model
}

/// u of the levels of `target` (surname or birth date) among pairs at the same address that
/// are clearly different people, from the candidates of rules that block on the address
/// alone (so not selected for agreement on the target). Household members share a surname,
/// and twins a birth date, far more often than two people drawn at random. Clearly
/// different: the given names differ, and for the surname the birth dates differ too, for
/// the birth date the identity numbers are different (where both have one; without the
/// identity comparison there is no birth-date estimate).
fn u_same_address(
    comparisons: &[Comparison],
    patterns: &model::Patterns,
    settings: &Settings,
    target: Comparison,
) -> Option<Vec<f64>> {
    let s = comparisons.iter().position(|c| *c == target)?;
    let a = comparisons.iter().position(|c| *c == Comparison::Address)?;
    let g = comparisons
        .iter()
        .position(|c| *c == Comparison::GivenName)?;
    let other = match target {
        Comparison::Surname => Comparison::BirthDate,
        _ => Comparison::IdNumber,
    };
    let b = comparisons.iter().position(|c| *c == other);
    // a different given name alone does not tell two twins from one person whose given
    // name was mistyped: the birth date needs the identity number as well
    if target == Comparison::BirthDate && b.is_none() {
        return None;
    }
    let mut address_rules = 0u16;
    for (r, rule) in settings.rules.iter().enumerate().take(16) {
        if rule
            .0
            .iter()
            .all(|k| k.comparisons() == [Comparison::Address])
        {
            address_rules |= 1 << r;
        }
    }
    if address_rules == 0 {
        return None;
    }
    let last = |k: usize| (comparisons[k].level_count() - 1) as u8;
    // "different" of the other comparison: its last level, and for identity numbers also
    // two different valid resident IDs
    let different = |k: usize, l: u8| {
        l == NULL || l == last(k) || (comparisons[k] == Comparison::IdNumber && l == 5)
    };
    let mut counts = vec![0.0; comparisons[s].level_count()];
    let mut same_address = 0.0;
    for (lv, mask, n) in &patterns.rows {
        if mask & address_rules == 0 || lv[a] > 1 {
            continue;
        }
        same_address += n;
        let clearly_different = lv[g] == last(g) && b.is_none_or(|b| different(b, lv[b]));
        if clearly_different && lv[s] != NULL {
            counts[lv[s] as usize] += n;
        }
    }
    let total: f64 = counts.iter().sum();
    // only where several people live at one address (households): elsewhere the few pairs
    // selected are mostly corrupted copies of one person, and would say nothing
    if total < 30.0 || total < 0.1 * same_address {
        return None;
    }
    Some(
        counts
            .iter()
            .map(|c| (c + 0.5) / (total + 0.5 * counts.len() as f64))
            .collect(),
    )
}

/// The share of matches among candidate patterns with the weights fixed (EM on the prior).
fn prior_share(rows: &[(&[u8], f64)], table: &model::WeightTable, iterations: usize) -> f64 {
    let bfs: Vec<(f64, f64)> = rows
        .iter()
        .map(|(lv, n)| (table.sum(lv).exp2(), *n))
        .collect();
    let total: f64 = bfs.iter().map(|(_, n)| n).sum();
    if total == 0.0 {
        return 0.0;
    }
    let mut lambda = 0.1;
    for _ in 0..iterations {
        let matched: f64 = bfs
            .iter()
            .map(|(bf, n)| {
                let odds = lambda / (1.0 - lambda) * bf;
                if odds.is_finite() {
                    odds / (1.0 + odds) * n
                } else {
                    *n
                }
            })
            .sum();
        let next = (matched / total).clamp(1e-12, 1.0 - 1e-9);
        if (next - lambda).abs() < 1e-9 {
            return next;
        }
        lambda = next;
    }
    lambda
}

fn score(
    model: &Model,
    comparisons: &[Comparison],
    left: &[Prepared],
    right: &[Prepared],
    cands: &[u64],
    levels: &[u8],
    threads: usize,
) -> Vec<ScoredPair> {
    let width = comparisons.len();
    let table = model.weight_table();
    let same_address = model.u_surname_same_address.is_some();
    let address_slot = comparisons.iter().position(|c| *c == Comparison::Address);
    let prior = model.prior_weight() as f32;
    let name_slots: Vec<(usize, Comparison)> = comparisons
        .iter()
        .enumerate()
        .filter(|(_, c)| matches!(c, Comparison::GivenName | Comparison::Surname))
        .map(|(k, c)| (k, *c))
        .collect();
    let tf = model.term_frequency && !model.tf_given.is_empty();
    // the adjustment depends on the left record's name only: look each up once
    let adjustments: Vec<Vec<f32>> = if tf {
        name_slots
            .iter()
            .map(|(k, c)| {
                left.iter()
                    .map(|a| model.tf_adjustment(*k, model.name_tf(*c, a)) as f32)
                    .collect()
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut out = vec![
        ScoredPair {
            left: 0,
            right: 0,
            match_weight: 0.0
        };
        cands.len()
    ];
    let chunk = cands.len().div_ceil(threads.max(1)).max(1);
    std::thread::scope(|s| {
        for ((cc, lc), oc) in cands
            .chunks(chunk)
            .zip(levels.chunks(chunk * width))
            .zip(out.chunks_mut(chunk))
        {
            let table = &table;
            let name_slots = &name_slots;
            let adjustments = &adjustments;
            s.spawn(move || {
                for ((x, lv), slot) in cc.iter().zip(lc.chunks_exact(width)).zip(oc.iter_mut()) {
                    let (i, j, _) = blocking::unpack(*x);
                    let mut w = prior + table.sum(lv) as f32;
                    let at_same_address = same_address && address_slot.is_some_and(|a| lv[a] <= 1);
                    if tf {
                        let (a, b) = (&left[i as usize], &right[j as usize]);
                        for (n, (k, c)) in name_slots.iter().enumerate() {
                            if lv[*k] <= 1 && !(at_same_address && *c == Comparison::Surname) {
                                let same = match c {
                                    Comparison::GivenName => {
                                        a.names.given_simplified == b.names.given_simplified
                                    }
                                    _ => a.names.surname_simplified == b.names.surname_simplified,
                                };
                                if same {
                                    w += adjustments[n][i as usize];
                                }
                            }
                        }
                    }
                    *slot = ScoredPair {
                        left: i,
                        right: j,
                        match_weight: w,
                    };
                }
            });
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Patterns of pairs found by an address-only rule (Postcode+StreetNumber), all at the
    /// same address with different given names and different identity numbers: `twins` of
    /// them share the birth date, the others do not.
    fn household_patterns(twins: f64, others: f64) -> model::Patterns {
        let mask = 1u16 << 4;
        let row = |birth: u8, n: f64| (vec![5, 0, birth, 6, 0], mask, n);
        model::Patterns {
            rows: vec![row(0, twins), row(5, others)],
        }
    }

    const COMPARISONS: [Comparison; 5] = [
        Comparison::GivenName,
        Comparison::Surname,
        Comparison::BirthDate,
        Comparison::IdNumber,
        Comparison::Address,
    ];

    #[test]
    fn birth_date_u_at_one_address_counts_twins() {
        let settings = Settings::default();
        let u = u_same_address(
            &COMPARISONS,
            &household_patterns(40.0, 960.0),
            &settings,
            Comparison::BirthDate,
        )
        .expect("enough household pairs");
        assert!((u[0] - 0.04).abs() < 0.005, "{u:?}");
        // far above the 1 in tens of thousands of two random people
        assert!(u[0] > 100.0 * 1e-4);
    }

    #[test]
    fn no_birth_date_estimate_without_identity_numbers() {
        let without_id: Vec<Comparison> = COMPARISONS
            .into_iter()
            .filter(|c| *c != Comparison::IdNumber)
            .collect();
        let patterns = model::Patterns {
            rows: vec![
                (vec![5, 0, 0, 0], 1 << 4, 40.0),
                (vec![5, 0, 5, 0], 1 << 4, 960.0),
            ],
        };
        let settings = Settings::default();
        assert!(u_same_address(&without_id, &patterns, &settings, Comparison::BirthDate).is_none());
        // the surname estimate needs no identity number
        assert!(u_same_address(&without_id, &patterns, &settings, Comparison::Surname).is_some());
    }

    #[test]
    fn few_pairs_at_one_address_give_no_estimate() {
        let settings = Settings::default();
        let few = household_patterns(2.0, 20.0);
        assert!(u_same_address(&COMPARISONS, &few, &settings, Comparison::BirthDate).is_none());
    }
}
