//! Candidate generation: combinable blocking rules. A rule is a list of keys that must all
//! be equal; the candidates are the union over rules. Each candidate remembers which rules
//! produced it (a bit mask), so that training can use the pairs of one rule.

use crate::compare::Comparison;
use crate::record::Prepared;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// One part of a blocking rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BlockKey {
    /// Surname pinyin (lower-case Latin surname).
    Surname,
    /// Given-name pinyin.
    GivenName,
    /// First letter of the surname pinyin.
    SurnameInitial,
    /// First letter of the given-name pinyin.
    GivenInitial,
    /// Surname and given name as an unordered pair: catches swapped names as well.
    NamePair,
    /// Full date of birth.
    BirthDate,
    /// Year of birth.
    BirthYear,
    /// The identity number itself.
    IdNumber,
    /// Identity numbers within one edit (substitution, insertion, deletion, adjacent swap;
    /// a wrong check character is a substitution): symmetric one-deletion neighbourhoods.
    IdNeighbourhood,
    /// Postcode.
    Postcode,
    /// House number.
    StreetNumber,
    /// Street or free-text address.
    Street,
    /// Locality.
    Locality,
    /// Region code at village level (12 digits).
    Region,
    /// Region code at township level (9 digits).
    Township,
    /// Middle initial.
    MiddleInitial,
}

impl BlockKey {
    /// The comparison whose evidence this key fixes (not re-estimated when training on pairs
    /// blocked by it).
    pub(crate) fn comparisons(self) -> &'static [Comparison] {
        match self {
            BlockKey::Surname
            | BlockKey::GivenName
            | BlockKey::NamePair
            | BlockKey::SurnameInitial
            | BlockKey::GivenInitial => &[Comparison::GivenName, Comparison::Surname],
            BlockKey::BirthDate | BlockKey::BirthYear => &[Comparison::BirthDate],
            BlockKey::IdNumber | BlockKey::IdNeighbourhood => &[Comparison::IdNumber],
            BlockKey::Postcode | BlockKey::StreetNumber | BlockKey::Street | BlockKey::Locality => {
                &[Comparison::Address]
            }
            BlockKey::Region | BlockKey::Township => &[Comparison::Region],
            BlockKey::MiddleInitial => &[Comparison::MiddleInitial],
        }
    }
}

/// A blocking rule: records are candidates when every key is present and equal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockingRule(pub Vec<BlockKey>);

impl BlockingRule {
    /// A rule of the given keys.
    pub fn on(keys: &[BlockKey]) -> BlockingRule {
        BlockingRule(keys.to_vec())
    }

    /// Readable form, e.g. `surname+birth_year`.
    pub fn describe(&self) -> String {
        self.0
            .iter()
            .map(|k| format!("{k:?}"))
            .collect::<Vec<_>>()
            .join("+")
    }
}

/// A multiplicative hasher for keys that are already hashes or small integers.
#[derive(Default)]
pub(crate) struct FxHasher(u64);

impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.write_u64(u64::from(*b));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

pub(crate) type FxBuild = BuildHasherDefault<FxHasher>;

/// FNV-1a over bytes, continuing from `h`.
fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    // separator so that ("ab","c") and ("a","bc") differ
    (h ^ 0xff).wrapping_mul(0x100_0000_01b3)
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// The keys of one record under one rule (several for neighbourhood keys); empty when a
/// part is missing.
pub(crate) fn rule_keys(rule: &BlockingRule, p: &Prepared, out: &mut Vec<u64>) {
    out.clear();
    out.push(FNV_START);
    for key in &rule.0 {
        let part: &[u8] = match key {
            BlockKey::Surname => p.surname_pinyin.as_bytes(),
            BlockKey::GivenName => p.given_pinyin.as_bytes(),
            BlockKey::SurnameInitial => {
                &p.surname_pinyin.as_bytes()[..p.surname_pinyin.len().min(1)]
            }
            BlockKey::GivenInitial => &p.given_pinyin.as_bytes()[..p.given_pinyin.len().min(1)],
            BlockKey::NamePair => {
                if p.surname_pinyin.is_empty() || p.given_pinyin.is_empty() {
                    out.clear();
                    return;
                }
                let (x, y) = if p.surname_pinyin <= p.given_pinyin {
                    (&p.surname_pinyin, &p.given_pinyin)
                } else {
                    (&p.given_pinyin, &p.surname_pinyin)
                };
                for h in out.iter_mut() {
                    *h = fnv(fnv(*h, x.as_bytes()), y.as_bytes());
                }
                continue;
            }
            BlockKey::BirthDate => {
                if p.birth.is_none() {
                    out.clear();
                    return;
                }
                &p.birth_digits
            }
            BlockKey::BirthYear => {
                if p.birth.is_none() {
                    out.clear();
                    return;
                }
                &p.birth_digits[..4]
            }
            BlockKey::IdNumber => p.id.as_bytes(),
            BlockKey::IdNeighbourhood => {
                let id = p.id.as_bytes();
                if id.is_empty() {
                    out.clear();
                    return;
                }
                let bases = std::mem::take(out);
                for h in bases {
                    out.push(fnv(fnv(h, b"del"), id));
                    for skip in 0..id.len() {
                        let mut x = fnv(h, b"del");
                        for (i, b) in id.iter().enumerate() {
                            if i != skip {
                                x ^= u64::from(*b);
                                x = x.wrapping_mul(0x100_0000_01b3);
                            }
                        }
                        out.push(fnv(x, &[]));
                    }
                }
                out.sort_unstable();
                out.dedup();
                continue;
            }
            BlockKey::Postcode => p.postcode.as_bytes(),
            BlockKey::StreetNumber => p.street_number.as_bytes(),
            BlockKey::Street => p.street.as_bytes(),
            BlockKey::Locality => p.locality.as_bytes(),
            BlockKey::Region => p.region.as_bytes(),
            BlockKey::Township => {
                if p.region.len() < 9 {
                    out.clear();
                    return;
                }
                &p.region.as_bytes()[..9]
            }
            BlockKey::MiddleInitial => p.middle.as_bytes(),
        };
        if part.is_empty() {
            out.clear();
            return;
        }
        for h in out.iter_mut() {
            *h = fnv(*h, part);
        }
    }
}

/// Largest number of records on either side supported (24-bit indexes).
pub const MAX_RECORDS: usize = (1 << 24) - 1;

/// Packs a candidate: left index, right index, rule mask.
pub(crate) fn pack(i: u32, j: u32, mask: u16) -> u64 {
    (u64::from(i) << 40) | (u64::from(j) << 16) | u64::from(mask)
}

/// Unpacks a candidate into (left, right, mask).
pub(crate) fn unpack(x: u64) -> (u32, u32, u16) {
    (
        (x >> 40) as u32,
        ((x >> 16) & 0xff_ffff) as u32,
        (x & 0xffff) as u16,
    )
}

/// Statistics of candidate generation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BlockingStats {
    /// Pairs produced per rule before removing duplicates across rules.
    pub pairs_per_rule: Vec<u64>,
    /// Blocks skipped because they would produce more than `max_block_pairs` pairs.
    pub skipped_blocks: u64,
    /// Distinct candidate pairs.
    pub candidates: u64,
}

type Buckets = HashMap<u64, (Vec<u32>, Vec<u32>), FxBuild>;

/// Generates candidate pairs. `right` is `None` for deduplication (pairs i < j within `left`).
/// Returns packed candidates, sorted, one per pair.
pub(crate) fn candidates(
    rules: &[BlockingRule],
    left: &[Prepared],
    right: Option<&[Prepared]>,
    max_block_pairs: u64,
) -> (Vec<u64>, BlockingStats) {
    let mut all: Vec<u64> = Vec::new();
    let mut stats = BlockingStats::default();
    let mut keys = Vec::new();
    for (r, rule) in rules.iter().enumerate().take(16) {
        let bit = 1u16 << r;
        let mut buckets: Buckets = HashMap::default();
        for (i, p) in left.iter().enumerate() {
            rule_keys(rule, p, &mut keys);
            for k in &keys {
                buckets.entry(*k).or_default().0.push(i as u32);
            }
        }
        if let Some(right) = right {
            for (j, p) in right.iter().enumerate() {
                rule_keys(rule, p, &mut keys);
                for k in &keys {
                    if let Some(b) = buckets.get_mut(k) {
                        b.1.push(j as u32);
                    }
                }
            }
        }
        let before = all.len();
        for (l, rr) in buckets.values() {
            match right {
                Some(_) => {
                    let n = l.len() as u64 * rr.len() as u64;
                    if n == 0 {
                        continue;
                    }
                    if n > max_block_pairs {
                        stats.skipped_blocks += 1;
                        continue;
                    }
                    for &i in l {
                        for &j in rr {
                            all.push(pack(i, j, bit));
                        }
                    }
                }
                None => {
                    let n = l.len() as u64 * (l.len() as u64).saturating_sub(1) / 2;
                    if n == 0 {
                        continue;
                    }
                    if n > max_block_pairs {
                        stats.skipped_blocks += 1;
                        continue;
                    }
                    for (x, &i) in l.iter().enumerate() {
                        for &j in &l[x + 1..] {
                            all.push(pack(i.min(j), i.max(j), bit));
                        }
                    }
                }
            }
        }
        stats.pairs_per_rule.push((all.len() - before) as u64);
        // merge as we go to bound memory
        merge(&mut all);
    }
    stats.candidates = all.len() as u64;
    (all, stats)
}

/// Sorts packed candidates and merges duplicates, OR-ing their rule masks.
fn merge(all: &mut Vec<u64>) {
    all.sort_unstable();
    let mut w = 0usize;
    for r in 0..all.len() {
        if w > 0 && all[w - 1] >> 16 == all[r] >> 16 {
            all[w - 1] |= all[r] & 0xffff;
        } else {
            all[w] = all[r];
            w += 1;
        }
    }
    all.truncate(w);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{BirthDate, Record};

    fn rec(name: &str, id: &str, year: u16) -> Prepared {
        Prepared::new(&Record {
            full_name: Some(name.into()),
            id_number: Some(id.into()),
            birth_date: Some(BirthDate {
                year,
                month: 1,
                day: 2,
            }),
            ..Record::default()
        })
    }

    #[test]
    fn union_of_rules_with_masks() {
        let left = vec![rec("张伟", "1234567", 1980), rec("李娜", "7654321", 1990)];
        let right = vec![rec("张伟", "9999999", 1981), rec("李娜", "7654312", 1970)];
        let rules = vec![
            BlockingRule::on(&[BlockKey::NamePair]),
            BlockingRule::on(&[BlockKey::IdNeighbourhood]),
        ];
        let (c, stats) = candidates(&rules, &left, Some(&right), 1000);
        let pairs: Vec<_> = c.iter().map(|x| unpack(*x)).collect();
        assert_eq!(pairs, vec![(0, 0, 1), (1, 1, 3)]);
        assert_eq!(stats.candidates, 2);
    }

    #[test]
    fn id_neighbourhood_finds_one_edit_and_swaps() {
        let a = rec("a", "123456789012345678", 1980);
        let rules = vec![BlockingRule::on(&[BlockKey::IdNeighbourhood])];
        for other in [
            "123456789012345679",
            "123456789012345687",
            "12345678901234567",
            "923456789012345678",
        ] {
            let b = rec("b", other, 1980);
            let (c, _) = candidates(
                &rules,
                std::slice::from_ref(&a),
                Some(std::slice::from_ref(&b)),
                1000,
            );
            assert_eq!(c.len(), 1, "{other}");
        }
        let far = rec("b", "123456789012345600", 1980);
        let (c, _) = candidates(
            &rules,
            std::slice::from_ref(&a),
            Some(std::slice::from_ref(&far)),
            1000,
        );
        assert!(c.is_empty());
    }

    #[test]
    fn dedupe_pairs_are_ordered_and_unique() {
        let recs = vec![
            rec("张伟", "1", 1980),
            rec("张伟", "2", 1980),
            rec("伟张", "3", 1980),
        ];
        let rules = vec![
            BlockingRule::on(&[BlockKey::NamePair]),
            BlockingRule::on(&[BlockKey::BirthYear]),
        ];
        let (c, _) = candidates(&rules, &recs, None, 1000);
        let pairs: Vec<_> = c.iter().map(|x| unpack(*x)).collect();
        assert_eq!(pairs, vec![(0, 1, 3), (0, 2, 3), (1, 2, 3)]);
    }

    #[test]
    fn oversized_blocks_are_skipped_and_counted() {
        let recs: Vec<_> = (0..10).map(|i| rec("张伟", &i.to_string(), 1980)).collect();
        let rules = vec![BlockingRule::on(&[BlockKey::BirthYear])];
        let (c, stats) = candidates(&rules, &recs, None, 10);
        assert!(c.is_empty());
        assert_eq!(stats.skipped_blocks, 1);
    }
}
