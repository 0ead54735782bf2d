//! The Fellegi-Sunter model: u probabilities by random sampling of pairs, m probabilities by
//! expectation-maximisation on blocked pairs (one session per training rule, leaving out the
//! comparisons the rule fixes), the prior by EM over all candidates, term-frequency
//! adjustment of exact name agreement, and per-pair match weights with explanations.

use crate::compare::{Comparison, NULL};
use crate::record::Prepared;
use std::collections::HashMap;

/// Frequency of each name among the records (a fast hash: millions of lookups while scoring).
pub(crate) type NameFrequencies = HashMap<String, f64, crate::blocking::FxBuild>;

/// A trained (or default) Fellegi-Sunter model.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// The comparisons in use, in order.
    pub comparisons: Vec<Comparison>,
    /// m probabilities per comparison and level: P(level | match).
    pub m: Vec<Vec<f64>>,
    /// u probabilities per comparison and level: P(level | non-match).
    pub u: Vec<Vec<f64>>,
    /// Prior probability that two records drawn at random match.
    pub lambda: f64,
    /// Whether exact name agreement is weighted by the frequency of the name.
    pub term_frequency: bool,
    /// Frequency of each (simplified) given name among the records.
    pub(crate) tf_given: NameFrequencies,
    /// Frequency of each (simplified) surname among the records.
    pub(crate) tf_surname: NameFrequencies,
    /// Lowest frequency used in the term-frequency adjustment.
    pub(crate) tf_floor: f64,
    /// u of the surname levels among non-matching pairs at the same address (household
    /// members share surnames far more often than random pairs), used instead of `u` for the
    /// surname when the address agrees. `None` when there was too little data or no address.
    pub u_surname_same_address: Option<Vec<f64>>,
    /// u of the birth-date levels among non-matching pairs at the same address (twins),
    /// used instead of `u` for the birth date when the address agrees.
    pub u_birth_same_address: Option<Vec<f64>>,
}

/// Level weights of a model, with the surname weights used at the same address.
pub(crate) struct WeightTable {
    pub(crate) levels: Vec<Vec<f64>>,
    /// (comparison index, address index, weights of that comparison when the address
    /// agrees), for the surname and the birth date
    same_address: Vec<(usize, usize, Vec<f64>)>,
}

impl WeightTable {
    /// Sum of the level weights of one comparison vector (null levels count zero).
    pub(crate) fn sum(&self, lv: &[u8]) -> f64 {
        let mut w = 0.0;
        for (k, l) in lv.iter().enumerate() {
            if *l != NULL {
                w += self.weight(lv, k);
            }
        }
        w
    }

    /// Weight of comparison `k` in the vector `lv` (which must not be null there).
    pub(crate) fn weight(&self, lv: &[u8], k: usize) -> f64 {
        let l = lv[k] as usize;
        for (s, a, alt) in &self.same_address {
            if k == *s && lv[*a] <= 1 {
                return alt[l];
            }
        }
        self.levels[k][l]
    }
}

/// The contribution of one comparison to a pair's match weight.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    /// Which comparison.
    pub comparison: Comparison,
    /// Label of the level reached (or "missing").
    pub level: &'static str,
    /// log2(m/u) of that level (0 when missing).
    pub weight: f64,
    /// Term-frequency adjustment added to `weight` (0 when none).
    pub frequency_adjustment: f64,
}

/// Why a pair got its probability: prior, one term per comparison, total.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// log2 of the prior odds λ/(1-λ).
    pub prior_weight: f64,
    /// Contribution of each comparison.
    pub terms: Vec<Term>,
    /// Surname and given name were compared crossed (written in swapped order).
    pub names_swapped: bool,
    /// Prior plus every term.
    pub match_weight: f64,
    /// Match probability 2^w / (1 + 2^w).
    pub probability: f64,
}

/// Converts a match weight to a probability.
pub fn probability(match_weight: f64) -> f64 {
    1.0 / (1.0 + (-match_weight).exp2())
}

impl Model {
    /// The untrained model: default m, uniform-ish u, used when there is too little data.
    pub fn with_defaults(comparisons: &[Comparison], lambda: f64) -> Model {
        let m = comparisons.iter().map(|c| c.default_m().to_vec()).collect();
        let u = comparisons
            .iter()
            .map(|c| {
                let n = c.level_count();
                let mut u = vec![0.01 / (n - 1) as f64; n];
                u[n - 1] = 0.99;
                u
            })
            .collect();
        Model {
            comparisons: comparisons.to_vec(),
            m,
            u,
            lambda,
            term_frequency: false,
            tf_given: NameFrequencies::default(),
            tf_surname: NameFrequencies::default(),
            tf_floor: 1e-6,
            u_surname_same_address: None,
            u_birth_same_address: None,
        }
    }

    /// The weights of every level, with the same-address surname weights.
    pub(crate) fn weight_table(&self) -> WeightTable {
        let levels = self.level_weights();
        let a = self
            .comparisons
            .iter()
            .position(|c| *c == Comparison::Address);
        let mut same_address = Vec::new();
        for (target, u) in [
            (Comparison::Surname, &self.u_surname_same_address),
            (Comparison::BirthDate, &self.u_birth_same_address),
        ] {
            let s = self.comparisons.iter().position(|c| *c == target);
            if let (Some(s), Some(a), Some(u)) = (s, a, u) {
                let weights = self.m[s]
                    .iter()
                    .zip(u)
                    .map(|(m, u)| (m / u).log2())
                    .collect();
                same_address.push((s, a, weights));
            }
        }
        WeightTable {
            levels,
            same_address,
        }
    }

    /// log2(λ/(1-λ)).
    pub fn prior_weight(&self) -> f64 {
        (self.lambda / (1.0 - self.lambda)).log2()
    }

    /// log2(m/u) per comparison and level.
    pub(crate) fn level_weights(&self) -> Vec<Vec<f64>> {
        self.m
            .iter()
            .zip(&self.u)
            .map(|(m, u)| m.iter().zip(u).map(|(m, u)| (m / u).log2()).collect())
            .collect()
    }

    /// Term-frequency adjustment for exact agreement on a name with frequency `tf`, relative
    /// to the average u of the exact level.
    pub(crate) fn tf_adjustment(&self, comparison_index: usize, tf: f64) -> f64 {
        let u_exact = self.u[comparison_index][0];
        (u_exact / tf.max(self.tf_floor)).log2()
    }

    pub(crate) fn name_tf(&self, c: Comparison, p: &Prepared) -> f64 {
        let (table, key) = match c {
            Comparison::GivenName => (&self.tf_given, &p.names.given_simplified),
            Comparison::Surname => (&self.tf_surname, &p.names.surname_simplified),
            _ => return 0.0,
        };
        table.get(key.as_str()).copied().unwrap_or(self.tf_floor)
    }

    /// Explains the pair of prepared records.
    pub(crate) fn explain_prepared(&self, a: &Prepared, b: &Prepared) -> Explanation {
        let mut levels = vec![0u8; self.comparisons.len()];
        let swapped = crate::compare::levels(&self.comparisons, a, b, &mut levels);
        let table = self.weight_table();
        let mut terms = Vec::with_capacity(levels.len());
        let mut total = self.prior_weight();
        for (k, (c, l)) in self.comparisons.iter().zip(&levels).enumerate() {
            if *l == NULL {
                terms.push(Term {
                    comparison: *c,
                    level: "missing",
                    weight: 0.0,
                    frequency_adjustment: 0.0,
                });
                continue;
            }
            let weight = table.weight(&levels, k);
            let mut adj = 0.0;
            let at_same_address = self.u_surname_same_address.is_some()
                && self
                    .comparisons
                    .iter()
                    .position(|c| *c == Comparison::Address)
                    .is_some_and(|a| levels[a] <= 1);
            if self.term_frequency
                && !(at_same_address && *c == Comparison::Surname)
                && *l <= 1
                && matches!(c, Comparison::GivenName | Comparison::Surname)
                && !swapped
            {
                adj = self.tf_adjustment(k, self.name_tf(*c, a).max(self.name_tf(*c, b)));
            }
            total += weight + adj;
            terms.push(Term {
                comparison: *c,
                level: c.levels()[*l as usize],
                weight,
                frequency_adjustment: adj,
            });
        }
        Explanation {
            prior_weight: self.prior_weight(),
            terms,
            names_swapped: swapped,
            match_weight: total,
            probability: probability(total),
        }
    }
}

/// Counts of distinct comparison vectors (patterns), with the rule mask of the candidates.
pub(crate) struct Patterns {
    /// (levels, rule mask, count)
    pub rows: Vec<(Vec<u8>, u16, f64)>,
}

impl Patterns {
    pub(crate) fn from_levels(
        levels: &[u8],
        masks: impl Iterator<Item = u16>,
        width: usize,
    ) -> Patterns {
        let mut map: HashMap<(u64, u16), f64, crate::blocking::FxBuild> = HashMap::default();
        for (chunk, mask) in levels.chunks_exact(width.max(1)).zip(masks) {
            let mut key = 0u64;
            for l in chunk {
                key = (key << 8) | u64::from(*l);
            }
            *map.entry((key, mask)).or_insert(0.0) += 1.0;
        }
        let rows = map
            .into_iter()
            .map(|((key, mask), n)| {
                let mut lv = vec![0u8; width];
                for (i, slot) in lv.iter_mut().enumerate() {
                    *slot = (key >> (8 * (width - 1 - i))) as u8;
                }
                (lv, mask, n)
            })
            .collect();
        Patterns { rows }
    }
}

/// One EM session: estimates m of the `active` comparisons and the share of matches among
/// the selected patterns, with u fixed.
pub(crate) fn em_session(
    comparisons: &[Comparison],
    rows: &[(&[u8], f64)],
    m: &mut [Vec<f64>],
    u: &[Vec<f64>],
    active: &[bool],
    iterations: usize,
) -> f64 {
    let mut lambda = 0.1;
    for _ in 0..iterations {
        let mut new_m: Vec<Vec<f64>> = m.iter().map(|v| vec![0.0; v.len()]).collect();
        let mut matched = 0.0;
        let mut total = 0.0;
        for (lv, n) in rows {
            let mut log_bf = 0.0;
            for (k, l) in lv.iter().enumerate() {
                if active[k] && *l != NULL {
                    log_bf += (m[k][*l as usize] / u[k][*l as usize]).ln();
                }
            }
            let odds = lambda / (1.0 - lambda) * log_bf.exp();
            let p = if odds.is_finite() {
                odds / (1.0 + odds)
            } else {
                1.0
            };
            matched += p * n;
            total += n;
            for (k, l) in lv.iter().enumerate() {
                if active[k] && *l != NULL {
                    new_m[k][*l as usize] += p * n;
                }
            }
        }
        if total == 0.0 {
            return lambda;
        }
        let next_lambda = (matched / total).clamp(1e-9, 1.0 - 1e-9);
        let mut change = (next_lambda - lambda).abs();
        lambda = next_lambda;
        for (k, counts) in new_m.iter().enumerate() {
            if !active[k] {
                continue;
            }
            let sum: f64 = counts.iter().sum();
            if sum <= 0.0 {
                continue;
            }
            // a weak Dirichlet prior at the default m keeps small sessions sensible
            let prior = comparisons[k].default_m();
            let alpha = 10.0;
            let mut next: Vec<f64> = counts
                .iter()
                .zip(prior)
                .map(|(c, p)| ((c + alpha * p) / (sum + alpha)).max(1e-6))
                .collect();
            apply_fixed(comparisons[k], &mut next);
            for (l, v) in next.into_iter().enumerate() {
                change = change.max((v - m[k][l]).abs());
                m[k][l] = v;
            }
        }
        if change < 1e-7 {
            break;
        }
    }
    lambda
}

/// Sets the domain-fixed m of a comparison (if any) and rescales the other levels.
pub(crate) fn apply_fixed(c: Comparison, m: &mut [f64]) {
    if let Some((level, value)) = c.fixed_m() {
        let rest: f64 = m
            .iter()
            .enumerate()
            .filter(|(l, _)| *l != level)
            .map(|(_, v)| v)
            .sum();
        if rest > 0.0 {
            for (l, v) in m.iter_mut().enumerate() {
                *v = if l == level {
                    value
                } else {
                    *v / rest * (1.0 - value)
                };
            }
        }
    }
}

/// The share of matches among candidates with m and u fixed (EM on the prior only).
pub(crate) fn em_prior(
    rows: &[(&[u8], f64)],
    m: &[Vec<f64>],
    u: &[Vec<f64>],
    iterations: usize,
) -> f64 {
    let bfs: Vec<(f64, f64)> = rows
        .iter()
        .map(|(lv, n)| {
            let mut log_bf = 0.0;
            for (k, l) in lv.iter().enumerate() {
                if *l != NULL {
                    log_bf += (m[k][*l as usize] / u[k][*l as usize]).ln();
                }
            }
            (log_bf.exp(), *n)
        })
        .collect();
    let total: f64 = bfs.iter().map(|(_, n)| n).sum();
    if total == 0.0 {
        return 0.0;
    }
    let mut lambda = 0.1;
    for _ in 0..iterations {
        let mut matched = 0.0;
        for (bf, n) in &bfs {
            let odds = lambda / (1.0 - lambda) * bf;
            matched += if odds.is_finite() {
                odds / (1.0 + odds)
            } else {
                1.0
            } * n;
        }
        let next = (matched / total).clamp(1e-12, 1.0 - 1e-9);
        if (next - lambda).abs() < 1e-9 {
            lambda = next;
            break;
        }
        lambda = next;
    }
    lambda
}

/// A small deterministic generator (SplitMix64) for sampling pairs.
pub(crate) struct SplitMix(pub u64);

impl SplitMix {
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn em_recovers_m_from_a_clear_mixture() {
        // gender (2 levels) and region (4 levels); matches agree, non-matches do not
        let comps = [Comparison::Gender, Comparison::Region];
        let u = vec![vec![0.05, 0.95], vec![0.01, 0.01, 0.03, 0.95]];
        let mut m = vec![vec![0.5, 0.5], vec![0.25, 0.25, 0.25, 0.25]];
        let rows_owned: Vec<(Vec<u8>, f64)> = vec![
            (vec![0, 0], 90.0),
            (vec![0, 1], 10.0),
            (vec![1, 3], 880.0),
            (vec![0, 3], 20.0),
        ];
        let rows: Vec<(&[u8], f64)> = rows_owned.iter().map(|(l, n)| (l.as_slice(), *n)).collect();
        let lambda = em_session(&comps, &rows, &mut m, &u, &[true, true], 100);
        assert!((lambda - 0.1).abs() < 0.02, "lambda {lambda}");
        assert!(m[1][0] > 0.8, "{m:?}");
        let prior = em_prior(&rows, &m, &u, 100);
        assert!((prior - lambda).abs() < 0.02);
    }

    #[test]
    fn probability_of_weights() {
        assert!((probability(0.0) - 0.5).abs() < 1e-12);
        assert!(probability(20.0) > 0.999);
        assert!(probability(-20.0) < 0.001);
    }

    #[test]
    fn sampling_is_deterministic() {
        let mut a = SplitMix(7);
        let mut b = SplitMix(7);
        assert_eq!(a.next_u64(), b.next_u64());
        assert!(a.below(10) < 10);
    }
}
