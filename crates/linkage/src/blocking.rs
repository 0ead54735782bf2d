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
        // eight bytes at a time (a name is one or two words), the last word with its length
        let mut words = bytes.chunks_exact(8);
        for word in &mut words {
            let mut w = [0u8; 8];
            w.copy_from_slice(word);
            self.write_u64(u64::from_le_bytes(w));
        }
        let rest = words.remainder();
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        self.write_u64(u64::from_le_bytes(w) ^ ((rest.len() as u64) << 60));
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
pub(crate) const fn fnv(mut h: u64, bytes: &[u8]) -> u64 {
    let mut k = 0;
    while k < bytes.len() {
        h ^= bytes[k] as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
        k += 1;
    }
    // separator so that ("ab","c") and ("a","bc") differ
    (h ^ 0xff).wrapping_mul(0x100_0000_01b3)
}

pub(crate) const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

/// [`fnv`] of the empty text: the hash an absent name part carries.
const EMPTY_HASH: u64 = fnv(FNV_START, b"");

/// The finaliser of SplitMix64: spreads a combined hash over all bits.
fn mix(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Base of the polynomial string hash of [`deletion_neighbourhood`] (odd).
const POLY: u64 = 0x9e37_79b9_7f4a_7c15;

/// Hashes of `text` and of every string made by deleting one of its bytes, into `out`: two
/// texts within one edit (substitution, insertion, deletion, adjacent swap) share one of
/// them. A polynomial hash, `H(s) = Σ (s[i] + 1) · POLY^(n-1-i)`, so that the `n` deletions
/// cost O(n) together instead of O(n²): deleting byte `k` gives
/// `H(s[..k]) · POLY^(n-1-k) + H(s[k+1..])`, from prefix and suffix hashes.
pub(crate) fn deletion_neighbourhood(text: &[u8], out: &mut Vec<u64>) {
    let n = text.len();
    // suffix[i] = H(text[i..]) and power[i] = POLY^i, built from the end; on the stack for
    // identity numbers and anything of their length
    let (mut suffix_stack, mut power_stack) = ([0u64; 33], [1u64; 33]);
    let (mut suffix_heap, mut power_heap) = (Vec::new(), Vec::new());
    let (suffix, power): (&mut [u64], &mut [u64]) = if n < 33 {
        (&mut suffix_stack[..=n], &mut power_stack[..=n])
    } else {
        suffix_heap.resize(n + 1, 0);
        power_heap.resize(n + 1, 1);
        (&mut suffix_heap, &mut power_heap)
    };
    for i in (0..n).rev() {
        power[n - i] = power[n - i - 1].wrapping_mul(POLY);
        suffix[i] = (u64::from(text[i]) + 1)
            .wrapping_mul(power[n - 1 - i])
            .wrapping_add(suffix[i + 1]);
    }
    out.push(mix(suffix[0]));
    let mut prefix = 0u64;
    for k in 0..n {
        out.push(mix(prefix
            .wrapping_mul(power[n - 1 - k])
            .wrapping_add(suffix[k + 1])));
        prefix = prefix
            .wrapping_mul(POLY)
            .wrapping_add(u64::from(text[k]) + 1);
    }
}

/// The keys of one record under one rule (several for neighbourhood keys); empty when a
/// part is missing.
pub(crate) fn rule_keys(rule: &BlockingRule, p: &Prepared, out: &mut Vec<u64>) {
    out.clear();
    out.push(FNV_START);
    for (n, key) in rule.0.iter().enumerate() {
        let part: &[u8] = match key {
            // a name as the first part hashes to the hash it carries: the text is not read
            BlockKey::Surname | BlockKey::GivenName if n == 0 => {
                let hash = match key {
                    BlockKey::Surname => p.name_hashes[0],
                    _ => p.name_hashes[1],
                };
                if hash == EMPTY_HASH {
                    out.clear();
                    return;
                }
                out[0] = hash;
                continue;
            }
            BlockKey::Surname => p.names.surname_pinyin.as_bytes(),
            BlockKey::GivenName => p.names.given_pinyin.as_bytes(),
            BlockKey::SurnameInitial => {
                &p.names.surname_pinyin.as_bytes()[..p.names.surname_pinyin.len().min(1)]
            }
            BlockKey::GivenInitial => {
                &p.names.given_pinyin.as_bytes()[..p.names.given_pinyin.len().min(1)]
            }
            BlockKey::NamePair => {
                if p.names.surname_pinyin.is_empty() || p.names.given_pinyin.is_empty() {
                    out.clear();
                    return;
                }
                let (x, y) = if p.names.surname_pinyin <= p.names.given_pinyin {
                    (&p.names.surname_pinyin, &p.names.given_pinyin)
                } else {
                    (&p.names.given_pinyin, &p.names.surname_pinyin)
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
                // the neighbours follow the keys so far in `out`, then each key so far is
                // combined with each neighbour (without a second vector for the usual single
                // key so far)
                let bases = out.len();
                deletion_neighbourhood(id, out);
                if bases == 1 {
                    // Each string once without sorting: deleting any byte of a run of equal
                    // bytes gives the same string, so only a run's first deletion is kept
                    // (ten million register IDs each sorted their nineteen keys).
                    let h = out[0];
                    let mut kept = 0;
                    for k in 0..=id.len() {
                        // position 0 is the ID itself, k ≥ 1 the ID without byte k − 1
                        if k >= 2 && id[k - 1] == id[k - 2] {
                            continue;
                        }
                        out[kept] = mix(h ^ out[k + 1]);
                        kept += 1;
                    }
                    out.truncate(kept);
                    continue;
                } else {
                    let neighbours = out.split_off(bases);
                    let keys: Vec<u64> = out
                        .iter()
                        .flat_map(|h| neighbours.iter().map(move |d| mix(h ^ d)))
                        .collect();
                    *out = keys;
                }
                out.sort_unstable();
                out.dedup();
                continue;
            }
            BlockKey::Postcode => p.place().postcode.as_bytes(),
            BlockKey::StreetNumber => p.place().street_number.as_bytes(),
            BlockKey::Street => p.place().street.as_bytes(),
            BlockKey::Locality => p.place().locality.as_bytes(),
            BlockKey::Region => p.place().region.as_bytes(),
            BlockKey::Township => {
                if p.place().region.len() < 9 {
                    out.clear();
                    return;
                }
                &p.place().region.as_bytes()[..9]
            }
            BlockKey::MiddleInitial => p.place().middle.as_bytes(),
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
    /// Blocks skipped: too large on their own, or the largest of a rule over its budget.
    pub skipped_blocks: u64,
    /// Distinct candidate pairs.
    pub candidates: u64,
}

/// The blocks of one rule: the left and right records of each key.
/// The blocks of one rule: every key the left records gave, once, in key order, with the left
/// records of each (ascending) and the right records found sharing it. Built by sorting the
/// (key, record) pairs rather than by pushing each record into a vector of its key in a hash
/// map: half a million rows give ten million ID-neighbourhood keys, nearly every one its own
/// block, and a table of vectors for them was an allocation and a cache miss per key.
struct Blocks {
    keys: Vec<u64>,
    /// The left records of block `b` are `left[left_start[b]..left_start[b + 1]]`.
    left_start: Vec<u32>,
    left: Vec<u32>,
    /// The right records of each block.
    right: Vec<Vec<u32>>,
}

impl Blocks {
    /// The blocks of the left records under `rule`, and the number of keys they gave.
    fn of(rule: &BlockingRule, records: &[Prepared]) -> (Blocks, usize) {
        let mut keys = Vec::new();
        let mut pairs: Vec<(u64, u32)> = Vec::with_capacity(records.len());
        for (i, p) in records.iter().enumerate() {
            rule_keys(rule, p, &mut keys);
            pairs.extend(keys.iter().map(|&k| (k, i as u32)));
        }
        let key_count = pairs.len();
        pairs.sort_unstable();
        pairs.dedup();
        let mut blocks = Blocks {
            keys: Vec::new(),
            left_start: Vec::new(),
            left: Vec::with_capacity(pairs.len()),
            right: Vec::new(),
        };
        for (k, i) in pairs {
            if blocks.keys.last() != Some(&k) {
                blocks.keys.push(k);
                blocks.left_start.push(blocks.left.len() as u32);
            }
            blocks.left.push(i);
        }
        blocks.left_start.push(blocks.left.len() as u32);
        blocks.right = vec![Vec::new(); blocks.keys.len()];
        (blocks, key_count)
    }

    fn len(&self) -> usize {
        self.keys.len()
    }

    fn left_of(&self, b: usize) -> &[u32] {
        &self.left[self.left_start[b] as usize..self.left_start[b + 1] as usize]
    }
}

/// Limits on the pairs of blocking.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Limits {
    /// A block that would produce more pairs than this is skipped.
    pub max_block_pairs: u64,
    /// A rule may produce at most this many pairs per key it gives the records (one per
    /// record for most rules, one per deletion for the ID neighbourhood): beyond it, its
    /// largest blocks are skipped. A large block is a key many records share (a postcode
    /// that covers a whole city, a common surname with a common house number): among its
    /// a × b pairs at most min(a, b) are matches, so it is the least informative place to
    /// look.
    pub max_rule_pairs_per_key: f64,
    /// In link mode, at most this many pairs per key of the left records as well.
    pub max_rule_pairs_per_left_key: Option<f64>,
}

/// Pairs a block of `l` left and `r` right records produces (`r` unused in dedupe mode).
fn block_pairs(l: usize, r: usize, dedupe: bool) -> u64 {
    if dedupe {
        l as u64 * (l as u64).saturating_sub(1) / 2
    } else {
        l as u64 * r as u64
    }
}

/// The largest block size (in pairs) a rule may keep: blocks above it are skipped so that
/// the rule's pairs stay within `max_rule_pairs` (and none is above `max_block_pairs`).
fn block_cutoff(sizes: &mut [u64], max_block_pairs: u64, max_rule_pairs: u64) -> u64 {
    sizes.sort_unstable();
    let mut total = 0u64;
    let mut cutoff = 0u64;
    let mut k = 0;
    while k < sizes.len() {
        // blocks of one size are kept or skipped together
        let size = sizes[k];
        let same = sizes[k..].iter().take_while(|s| **s == size).count() as u64;
        if size > max_block_pairs || total + size * same > max_rule_pairs {
            break;
        }
        total += size * same;
        cutoff = size;
        k += same as usize;
    }
    cutoff
}

/// Generates candidate pairs. `right` is `None` for deduplication (pairs i < j within `left`).
/// Returns packed candidates, sorted, one per pair.
pub(crate) fn candidates(
    rules: &[BlockingRule],
    left: &[Prepared],
    right: Option<&[Prepared]>,
    limits: Limits,
    threads: usize,
) -> (Vec<u64>, BlockingStats) {
    let rules = &rules[..rules.len().min(16)];
    let dedupe = right.is_none();
    // the blocks of the left records under every rule, and the keys they gave, the rules
    // side by side on the threads
    let mut blocks: Vec<(Blocks, usize)> = if threads <= 1 || rules.len() <= 1 {
        rules.iter().map(|rule| Blocks::of(rule, left)).collect()
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = rules
                .iter()
                .map(|rule| s.spawn(move || Blocks::of(rule, left)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        })
    };
    // the right records' keys under every rule, in one pass over them
    let right_keys = match right {
        Some(right) => probe_right(rules, right, &mut blocks, threads),
        None => vec![0; rules.len()],
    };
    // Each rule's pairs built and sorted on a thread of its own, then merged: one after the
    // other, and merged into everything so far after each rule, they took 0.9 s for the
    // seventeen million candidates of a city of ten million.
    let rule_pairs = |r: usize, (blocks, left_keys): (Blocks, usize), right_keys: usize| {
        let bit = 1u16 << r;
        let key_count = left_keys + right_keys;
        let mut sizes: Vec<u64> = (0..blocks.len())
            .map(|b| block_pairs(blocks.left_of(b).len(), blocks.right[b].len(), dedupe))
            .filter(|n| *n > 0)
            .collect();
        let mut budget = (limits.max_rule_pairs_per_key * key_count as f64).max(0.0) as u64;
        if let (Some(per_left), false) = (limits.max_rule_pairs_per_left_key, dedupe) {
            budget = budget.min((per_left * left_keys as f64).max(0.0) as u64);
        }
        let cutoff = block_cutoff(&mut sizes, limits.max_block_pairs, budget);
        let skipped = sizes.iter().filter(|n| **n > cutoff).count() as u64;
        let mut pairs: Vec<u64> = Vec::new();
        for (b, rr) in blocks.right.iter().enumerate() {
            let l = blocks.left_of(b);
            let n = block_pairs(l.len(), rr.len(), dedupe);
            if n == 0 || n > cutoff {
                continue;
            }
            if dedupe {
                for (x, &i) in l.iter().enumerate() {
                    for &j in &l[x + 1..] {
                        pairs.push(pack(i.min(j), i.max(j), bit));
                    }
                }
            } else {
                for &i in l {
                    for &j in rr {
                        pairs.push(pack(i, j, bit));
                    }
                }
            }
        }
        let produced = pairs.len() as u64;
        // a pair a rule gives twice (two keys shared) is one candidate
        pairs.sort_unstable();
        pairs.dedup();
        (pairs, produced, skipped)
    };
    let rules_in = blocks.into_iter().zip(right_keys).enumerate();
    let built: Vec<(Vec<u64>, u64, u64)> = if threads <= 1 || rules.len() <= 1 {
        rules_in.map(|(r, (b, k))| rule_pairs(r, b, k)).collect()
    } else {
        std::thread::scope(|s| {
            let rule_pairs = &rule_pairs;
            let handles: Vec<_> = rules_in
                .map(|(r, (b, k))| s.spawn(move || rule_pairs(r, b, k)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        })
    };
    let mut stats = BlockingStats::default();
    let mut all: Vec<u64> = Vec::with_capacity(built.iter().map(|b| b.0.len()).sum());
    for (pairs, produced, skipped) in built {
        all.extend_from_slice(&pairs);
        stats.pairs_per_rule.push(produced);
        stats.skipped_blocks += skipped;
    }
    merge(&mut all);
    stats.candidates = all.len() as u64;
    (all, stats)
}

/// Puts every right record into the blocks of the left records it shares a key with, rule by
/// rule (in order of the right records within each block, as one pass would), and returns the
/// number of keys the right records gave under each rule. The right side is the large one — a
/// register of millions — so it is read once for all rules (each record and its name parts
/// are fetched from memory once, not once per rule), on `threads` threads over contiguous
/// chunks, each collecting (rule, block, record) hits against the blocks, which no thread
/// changes; the hits are added chunk by chunk.
fn probe_right(
    rules: &[BlockingRule],
    right: &[Prepared],
    blocks: &mut [(Blocks, usize)],
    threads: usize,
) -> Vec<usize> {
    // per rule, the blocks by number, for hits that name them without holding the maps; rules
    // without left keys are not probed
    let mut probes: Vec<(usize, HashMap<u64, u32, FxBuild>, KeyFilter)> = Vec::new();
    let mut targets: Vec<Vec<&mut Vec<u32>>> = Vec::new();
    for (r, (blocks, _)) in blocks.iter_mut().enumerate() {
        if blocks.len() == 0 {
            continue;
        }
        let mut index: HashMap<u64, u32, FxBuild> =
            HashMap::with_capacity_and_hasher(blocks.len(), FxBuild::default());
        for (n, k) in blocks.keys.iter().enumerate() {
            index.insert(*k, n as u32);
        }
        let rights: Vec<&mut Vec<u32>> = blocks.right.iter_mut().collect();
        let filter = KeyFilter::new(index.keys().copied(), index.len());
        probes.push((r, index, filter));
        targets.push(rights);
    }
    let mut key_counts = vec![0usize; rules.len()];
    if probes.is_empty() {
        return key_counts;
    }
    let chunk = right.len().div_ceil(threads.max(1)).max(1);
    type Part = (Vec<Vec<(u32, u32)>>, Vec<usize>);
    let parts: Vec<Part> = std::thread::scope(|s| {
        let probes = &probes;
        let handles: Vec<_> = right
            .chunks(chunk)
            .enumerate()
            .map(|(c, records)| {
                s.spawn(move || {
                    let mut keys = Vec::new();
                    let mut hits: Vec<Vec<(u32, u32)>> = vec![Vec::new(); probes.len()];
                    let mut counts = vec![0usize; probes.len()];
                    for (o, p) in records.iter().enumerate() {
                        let j = (c * chunk + o) as u32;
                        for (t, (r, index, filter)) in probes.iter().enumerate() {
                            rule_keys(&rules[*r], p, &mut keys);
                            counts[t] += keys.len();
                            for k in &keys {
                                if !filter.may_contain(*k) {
                                    continue;
                                }
                                if let Some(&b) = index.get(k) {
                                    hits[t].push((b, j));
                                }
                            }
                        }
                    }
                    (hits, counts)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    for (hits, counts) in parts {
        for (t, (hits, count)) in hits.into_iter().zip(counts).enumerate() {
            key_counts[probes[t].0] += count;
            for (b, j) in hits {
                targets[t][b as usize].push(j);
            }
        }
    }
    key_counts
}

/// A filter of the left keys that fits in the cache (a bit array with two bits per key in one
/// word): most keys of a register's records are no left record's, and telling so from the
/// filter saves a look-up in a table of millions of keys that misses the cache. It never
/// says no to a key it holds.
struct KeyFilter {
    words: Vec<u64>,
}

impl KeyFilter {
    fn new(keys: impl Iterator<Item = u64>, count: usize) -> KeyFilter {
        // about 8 bits per key, between 8 KiB and 8 MiB
        let words = (count / 8).next_power_of_two().clamp(1 << 10, 1 << 20);
        let mut f = KeyFilter {
            words: vec![0; words],
        };
        for k in keys {
            let (w, bits) = f.place(k);
            f.words[w] |= bits;
        }
        f
    }

    /// The word of a key and its two bits there.
    fn place(&self, key: u64) -> (usize, u64) {
        let h = mix(key);
        let w = (h as usize) & (self.words.len() - 1);
        let bits = (1u64 << ((h >> 52) & 63)) | (1u64 << ((h >> 58) & 63));
        (w, bits)
    }

    fn may_contain(&self, key: u64) -> bool {
        let (w, bits) = self.place(key);
        self.words[w] & bits == bits
    }
}

/// Sorts packed candidates and merges duplicates, OR-ing their rule masks.
fn merge(all: &mut Vec<u64>) {
    // the stable sort finds the sorted candidates of each rule as one run and merges the
    // runs, instead of sorting everything again
    all.sort();
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

    fn limits(max_block_pairs: u64) -> Limits {
        Limits {
            max_block_pairs,
            max_rule_pairs_per_key: f64::INFINITY,
            max_rule_pairs_per_left_key: None,
        }
    }

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
        let (c, stats) = candidates(&rules, &left, Some(&right), limits(1000), 1);
        let pairs: Vec<_> = c.iter().map(|x| unpack(*x)).collect();
        assert_eq!(pairs, vec![(0, 0, 1), (1, 1, 3)]);
        assert_eq!(stats.candidates, 2);
    }

    #[test]
    fn a_budget_per_left_key_skips_the_blocks_of_many_strangers() {
        // two rows born in 1980 and 1990; the register has twelve persons born in 1980 and
        // two in 1990, on two threads
        let left = vec![rec("王一", "1", 1980), rec("李二", "2", 1990)];
        let mut right: Vec<Prepared> = (0..12).map(|_| rec("张三", "3", 1980)).collect();
        right.extend((0..2).map(|_| rec("赵四", "4", 1990)));
        let rules = vec![
            BlockingRule::on(&[BlockKey::BirthYear]),
            BlockingRule::on(&[BlockKey::Surname, BlockKey::BirthYear]),
        ];
        let (all, _) = candidates(&rules, &left, Some(&right), limits(1000), 2);
        assert_eq!(all.len(), 14);
        // at most three pairs per row: the block of twelve goes, the block of two stays
        let per_left = Limits {
            max_rule_pairs_per_left_key: Some(3.0),
            ..limits(1000)
        };
        let (kept, stats) = candidates(&rules, &left, Some(&right), per_left, 2);
        let pairs: Vec<_> = kept.iter().map(|x| unpack(*x)).collect();
        assert_eq!(pairs, vec![(1, 12, 1), (1, 13, 1)]);
        assert_eq!(stats.skipped_blocks, 1);
        assert_eq!(stats.pairs_per_rule, vec![2, 0]);
        // a rule whose first part is a name keys as the name's text would
        let mut keys = Vec::new();
        rule_keys(&rules[1], &left[0], &mut keys);
        assert_eq!(keys, vec![fnv(fnv(FNV_START, b"wang"), b"1980")]);
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
                limits(1000),
                2,
            );
            assert_eq!(c.len(), 1, "{other}");
        }
        let far = rec("b", "123456789012345600", 1980);
        let (c, _) = candidates(
            &rules,
            std::slice::from_ref(&a),
            Some(std::slice::from_ref(&far)),
            limits(1000),
            2,
        );
        assert!(c.is_empty());
    }

    #[test]
    fn deletion_hashes_are_the_hashes_of_the_deleted_strings() {
        let whole = |t: &[u8]| {
            let mut v = Vec::new();
            deletion_neighbourhood(t, &mut v);
            v[0]
        };
        let long = [b'7'; 40];
        for text in [&b"110105199001011234"[..], b"12X", b"a", b"aab", &long] {
            let mut v = Vec::new();
            deletion_neighbourhood(text, &mut v);
            assert_eq!(v.len(), text.len() + 1);
            for k in 0..text.len() {
                let mut t = text.to_vec();
                t.remove(k);
                assert_eq!(v[k + 1], whole(&t), "deleting {k}");
            }
        }
        assert_ne!(whole(b"12"), whole(b"21"));
        assert_ne!(whole(b"1"), whole(b"11"));
    }

    #[test]
    fn the_key_filter_holds_every_key_and_few_others() {
        let keys: Vec<u64> = (0..50_000u64).map(|k| mix(k * 7 + 3)).collect();
        let filter = KeyFilter::new(keys.iter().copied(), keys.len());
        assert!(keys.iter().all(|k| filter.may_contain(*k)));
        let others = (0..50_000u64)
            .filter(|k| filter.may_contain(mix(k * 7 + 4)))
            .count();
        assert!(others < 5_000, "{others} false positives of 50,000");
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
        let (c, _) = candidates(&rules, &recs, None, limits(1000), 1);
        let pairs: Vec<_> = c.iter().map(|x| unpack(*x)).collect();
        assert_eq!(pairs, vec![(0, 1, 3), (0, 2, 3), (1, 2, 3)]);
    }

    #[test]
    fn oversized_blocks_are_skipped_and_counted() {
        let recs: Vec<_> = (0..10).map(|i| rec("张伟", &i.to_string(), 1980)).collect();
        let rules = vec![BlockingRule::on(&[BlockKey::BirthYear])];
        let (c, stats) = candidates(&rules, &recs, None, limits(10), 1);
        assert!(c.is_empty());
        assert_eq!(stats.skipped_blocks, 1);
    }

    #[test]
    fn a_rule_over_its_budget_skips_its_largest_blocks() {
        // birth year 1980: 6 records (15 pairs); 1981: 3 (3 pairs); 1982: 2 (1 pair)
        let recs: Vec<_> = [
            1980, 1980, 1980, 1980, 1980, 1980, 1981, 1981, 1981, 1982, 1982,
        ]
        .iter()
        .enumerate()
        .map(|(i, y)| rec("张伟", &i.to_string(), *y))
        .collect();
        let rules = vec![BlockingRule::on(&[BlockKey::BirthYear])];
        // 11 keys: a budget of 100/11 pairs per key is 100 pairs
        let budget = |max_rule_pairs: f64| Limits {
            max_block_pairs: 1000,
            max_rule_pairs_per_key: max_rule_pairs / 11.0,
            max_rule_pairs_per_left_key: None,
        };
        let (c, stats) = candidates(&rules, &recs, None, budget(100.0), 1);
        assert_eq!((c.len(), stats.skipped_blocks), (19, 0));
        let (c, stats) = candidates(&rules, &recs, None, budget(10.0), 1);
        assert_eq!((c.len(), stats.skipped_blocks), (4, 1));
        let (c, stats) = candidates(&rules, &recs, None, budget(3.0), 1);
        assert_eq!((c.len(), stats.skipped_blocks), (1, 2));
    }

    #[test]
    fn cutoff_keeps_blocks_of_one_size_together() {
        assert_eq!(block_cutoff(&mut [4, 1, 4, 9], 100, 100), 9);
        assert_eq!(block_cutoff(&mut [4, 1, 4, 9], 5, 100), 4);
        assert_eq!(block_cutoff(&mut [4, 1, 4, 9], 100, 8), 1);
        assert_eq!(block_cutoff(&mut [4, 1, 4, 9], 100, 0), 0);
    }
}
