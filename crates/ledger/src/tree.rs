//! The RFC 9162 Merkle tree algorithms, independent of where hashes are kept.
//!
//! * [`Frontier`] — the right edge of a tree (one complete subtree root per set bit of its size):
//!   appending a leaf is O(log n) and reports the interior nodes it completes, so a store can
//!   cache every complete subtree.
//! * [`subtree_root`], [`inclusion_path`], [`consistency_path`] — MTH, PATH and PROOF of
//!   RFC 9162 §2.1.1, §2.1.3.1 and §2.1.4.1 over a [`NodeSource`] of cached complete subtrees,
//!   so a proof costs O(log² n) node reads instead of rehashing the log.
//! * [`verify_inclusion`], [`verify_consistency`] — the verification algorithms of
//!   §2.1.3.2 and §2.1.4.2, which need nothing but hashes.

use crate::hash::{Digest, HashAlgorithm};

/// Where the hashes of complete subtrees come from (a store's node cache, or memory).
///
/// A complete subtree at `level` and `index` covers leaves `[index·2^level, (index+1)·2^level)`;
/// level 0 is the leaf hashes themselves.
pub trait NodeSource {
    /// The failure of reading a node.
    type Error;
    /// The hash function of the tree.
    fn algorithm(&self) -> HashAlgorithm;
    /// The hash of the complete subtree at `level` and `index`. Only asked for subtrees that lie
    /// wholly within the tree.
    fn complete_subtree(&mut self, level: u8, index: u64) -> Result<Digest, Self::Error>;
}

/// The largest power of two strictly smaller than `n` (`n` ≥ 2), the split point `k` of RFC 9162.
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// MTH of the leaves `[start, end)` (RFC 9162 §2.1.1), read from cached complete subtrees.
/// The empty range hashes to `HASH()`.
pub fn subtree_root<S: NodeSource>(
    source: &mut S,
    start: u64,
    end: u64,
) -> Result<Digest, S::Error> {
    let n = end.saturating_sub(start);
    if n == 0 {
        return Ok(source.algorithm().empty_root());
    }
    if n.is_power_of_two() && start.is_multiple_of(n) {
        let level = n.trailing_zeros() as u8;
        return source.complete_subtree(level, start >> level);
    }
    let k = split(n);
    let left = subtree_root(source, start, start + k)?;
    let right = subtree_root(source, start + k, end)?;
    Ok(source.algorithm().node(&left, &right))
}

/// The inclusion proof PATH(index, D[0:size]) of RFC 9162 §2.1.3.1. `index < size` is the
/// caller's check.
pub fn inclusion_path<S: NodeSource>(
    source: &mut S,
    index: u64,
    size: u64,
) -> Result<Vec<Digest>, S::Error> {
    let mut path = Vec::new();
    path_into(source, index, 0, size, &mut path)?;
    Ok(path)
}

fn path_into<S: NodeSource>(
    source: &mut S,
    index: u64,
    start: u64,
    end: u64,
    path: &mut Vec<Digest>,
) -> Result<(), S::Error> {
    let n = end - start;
    if n <= 1 {
        return Ok(());
    }
    let k = split(n);
    if index < k {
        path_into(source, index, start, start + k, path)?;
        path.push(subtree_root(source, start + k, end)?);
    } else {
        path_into(source, index - k, start + k, end, path)?;
        path.push(subtree_root(source, start, start + k)?);
    }
    Ok(())
}

/// The consistency proof PROOF(first, D[0:second]) of RFC 9162 §2.1.4.1.
/// `0 < first <= second` is the caller's check; `first == second` gives the empty proof.
pub fn consistency_path<S: NodeSource>(
    source: &mut S,
    first: u64,
    second: u64,
) -> Result<Vec<Digest>, S::Error> {
    let mut path = Vec::new();
    subproof_into(source, first, 0, second, true, &mut path)?;
    Ok(path)
}

fn subproof_into<S: NodeSource>(
    source: &mut S,
    first: u64,
    start: u64,
    end: u64,
    whole: bool,
    path: &mut Vec<Digest>,
) -> Result<(), S::Error> {
    let n = end - start;
    if first == n {
        if !whole {
            path.push(subtree_root(source, start, end)?);
        }
        return Ok(());
    }
    let k = split(n);
    if first <= k {
        subproof_into(source, first, start, start + k, whole, path)?;
        path.push(subtree_root(source, start + k, end)?);
    } else {
        subproof_into(source, first - k, start + k, end, false, path)?;
        path.push(subtree_root(source, start, start + k)?);
    }
    Ok(())
}

/// Verifies that `leaf_hash` is leaf `index` of the tree of `size` leaves with root `root`
/// (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    algorithm: HashAlgorithm,
    leaf_hash: &Digest,
    index: u64,
    size: u64,
    path: &[Digest],
    root: &Digest,
) -> bool {
    if index >= size {
        return false;
    }
    let mut f_n = index;
    let mut s_n = size - 1;
    let mut r = *leaf_hash;
    for p in path {
        if s_n == 0 {
            return false;
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = algorithm.node(p, &r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            r = algorithm.node(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    s_n == 0 && r == *root
}

/// Verifies that the tree of `first` leaves with root `first_root` is a prefix of the tree of
/// `second` leaves with root `second_root` (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    algorithm: HashAlgorithm,
    first: u64,
    second: u64,
    first_root: &Digest,
    second_root: &Digest,
    path: &[Digest],
) -> bool {
    if first == 0 || first > second {
        return false;
    }
    if first == second {
        return path.is_empty() && first_root == second_root;
    }
    let mut nodes: Vec<Digest> = Vec::with_capacity(path.len() + 1);
    if first.is_power_of_two() {
        nodes.push(*first_root);
    }
    nodes.extend_from_slice(path);
    let Some((&seed, rest)) = nodes.split_first() else {
        return false;
    };
    let mut f_n = first - 1;
    let mut s_n = second - 1;
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let mut f_r = seed;
    let mut s_r = seed;
    for c in rest {
        if s_n == 0 {
            return false;
        }
        if f_n & 1 == 1 || f_n == s_n {
            f_r = algorithm.node(c, &f_r);
            s_r = algorithm.node(c, &s_r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            s_r = algorithm.node(&s_r, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    f_r == *first_root && s_r == *second_root && s_n == 0
}

/// The right edge of a Merkle tree: the roots of its maximal complete subtrees, largest first
/// (one per set bit of the size). Enough to append in O(log n) and to compute the root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frontier {
    algorithm: HashAlgorithm,
    size: u64,
    hashes: Vec<Digest>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new(algorithm: HashAlgorithm) -> Frontier {
        Frontier {
            algorithm,
            size: 0,
            hashes: Vec::new(),
        }
    }

    /// Rebuilds the frontier of a tree of `size` leaves from its cached complete subtrees
    /// (at most 64 node reads).
    pub fn load<S: NodeSource>(source: &mut S, size: u64) -> Result<Frontier, S::Error> {
        let mut hashes = Vec::new();
        let mut start = 0u64;
        for level in (0..64u8).rev() {
            let width = 1u64 << level;
            if size & width != 0 {
                hashes.push(source.complete_subtree(level, start >> level)?);
                start += width;
            }
        }
        Ok(Frontier {
            algorithm: source.algorithm(),
            size,
            hashes,
        })
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The hash function.
    pub fn algorithm(&self) -> HashAlgorithm {
        self.algorithm
    }

    /// Appends a leaf hash. `completed(level, index, hash)` is called for every complete subtree
    /// of level ≥ 1 that this leaf completes, lowest first.
    pub fn push(&mut self, leaf_hash: Digest, mut completed: impl FnMut(u8, u64, Digest)) {
        let mut hash = leaf_hash;
        let mut index = self.size;
        let mut level = 0u8;
        while index & 1 == 1 {
            // A set low bit means the frontier ends with the left sibling at this level.
            let Some(left) = self.hashes.pop() else { break };
            hash = self.algorithm.node(&left, &hash);
            index >>= 1;
            level += 1;
            completed(level, index, hash);
        }
        self.hashes.push(hash);
        self.size += 1;
    }

    /// The root: MTH of all leaves so far.
    pub fn root(&self) -> Digest {
        let mut iter = self.hashes.iter().rev();
        let Some(&last) = iter.next() else {
            return self.algorithm.empty_root();
        };
        iter.fold(last, |acc, left| self.algorithm.node(left, &acc))
    }
}

/// MTH over leaf hashes held in memory, by the recursive definition of RFC 9162 §2.1.1.
/// The reference the cached algorithms are tested against.
pub fn root_of_leaves(algorithm: HashAlgorithm, leaves: &[Digest]) -> Digest {
    match leaves.len() {
        0 => algorithm.empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n as u64) as usize;
            let left = root_of_leaves(algorithm, &leaves[..k]);
            let right = root_of_leaves(algorithm, &leaves[k..]);
            algorithm.node(&left, &right)
        }
    }
}

/// Every complete subtree of a tree held in memory, level by level; a [`NodeSource`] for the
/// memory store and for tests.
#[derive(Clone, Debug)]
pub struct MemoryTree {
    algorithm: HashAlgorithm,
    frontier: Frontier,
    /// `levels[l][i]` is the complete subtree at level `l`, index `i`.
    levels: Vec<Vec<Digest>>,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new(algorithm: HashAlgorithm) -> MemoryTree {
        MemoryTree {
            algorithm,
            frontier: Frontier::new(algorithm),
            levels: vec![Vec::new()],
        }
    }

    /// Appends a leaf hash in O(log n).
    pub fn push(&mut self, leaf_hash: Digest) {
        self.levels[0].push(leaf_hash);
        let levels = &mut self.levels;
        self.frontier.push(leaf_hash, |level, _, hash| {
            let level = usize::from(level);
            if levels.len() <= level {
                levels.push(Vec::new());
            }
            levels[level].push(hash);
        });
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The current root.
    pub fn root(&self) -> Digest {
        self.frontier.root()
    }

    /// The leaf hashes.
    pub fn leaves(&self) -> &[Digest] {
        &self.levels[0]
    }
}

/// A node outside the tree was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("no complete subtree at level {level}, index {index}")]
pub struct MissingNode {
    /// The level asked for.
    pub level: u8,
    /// The index asked for.
    pub index: u64,
}

impl NodeSource for MemoryTree {
    type Error = MissingNode;

    fn algorithm(&self) -> HashAlgorithm {
        self.algorithm
    }

    fn complete_subtree(&mut self, level: u8, index: u64) -> Result<Digest, MissingNode> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.levels.get(usize::from(level))?.get(i))
            .copied()
            .ok_or(MissingNode { level, index })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(algorithm: HashAlgorithm, n: u64) -> MemoryTree {
        let mut tree = MemoryTree::new(algorithm);
        for i in 0..n {
            tree.push(algorithm.leaf(&i.to_be_bytes()));
        }
        tree
    }

    #[test]
    fn split_is_largest_power_of_two_below() {
        assert_eq!(split(2), 1);
        assert_eq!(split(3), 2);
        assert_eq!(split(4), 2);
        assert_eq!(split(5), 4);
        assert_eq!(split(8), 4);
        assert_eq!(split(9), 8);
    }

    #[test]
    fn frontier_root_matches_recursive_definition_for_every_size() {
        for algorithm in HashAlgorithm::ALL {
            let mut memory = MemoryTree::new(algorithm);
            assert_eq!(memory.root(), algorithm.empty_root());
            for i in 0..70u64 {
                memory.push(algorithm.leaf(&i.to_be_bytes()));
                assert_eq!(
                    memory.root(),
                    root_of_leaves(algorithm, memory.leaves()),
                    "size {}",
                    i + 1
                );
                let size = memory.size();
                assert_eq!(subtree_root(&mut memory, 0, size), Ok(memory.root()));
            }
        }
    }

    #[test]
    fn frontier_reloads_from_cached_nodes() {
        let mut memory = tree(HashAlgorithm::Sm3, 45);
        for size in 0..=45 {
            let frontier = Frontier::load(&mut memory, size).expect("nodes are cached");
            assert_eq!(
                frontier.root(),
                root_of_leaves(HashAlgorithm::Sm3, &memory.leaves()[..size as usize])
            );
        }
    }

    #[test]
    fn every_inclusion_proof_verifies_and_a_wrong_leaf_does_not() {
        let algorithm = HashAlgorithm::Sm3;
        let mut memory = tree(algorithm, 33);
        for size in 1..=33u64 {
            let root = subtree_root(&mut memory, 0, size).expect("in tree");
            for index in 0..size {
                let path = inclusion_path(&mut memory, index, size).expect("in tree");
                let leaf = memory.leaves()[index as usize];
                assert!(verify_inclusion(
                    algorithm, &leaf, index, size, &path, &root
                ));
                let other = algorithm.leaf(b"other");
                assert!(!verify_inclusion(
                    algorithm, &other, index, size, &path, &root
                ));
                if size > 1 {
                    assert!(!verify_inclusion(
                        algorithm,
                        &leaf,
                        (index + 1) % size,
                        size,
                        &path,
                        &root
                    ));
                }
            }
        }
    }

    #[test]
    fn every_consistency_proof_verifies_and_a_wrong_root_does_not() {
        let algorithm = HashAlgorithm::Sha256;
        let mut memory = tree(algorithm, 33);
        for second in 1..=33u64 {
            let second_root = subtree_root(&mut memory, 0, second).expect("in tree");
            for first in 1..=second {
                let first_root = subtree_root(&mut memory, 0, first).expect("in tree");
                let path = consistency_path(&mut memory, first, second).expect("in tree");
                assert!(verify_consistency(
                    algorithm,
                    first,
                    second,
                    &first_root,
                    &second_root,
                    &path
                ));
                let forged = algorithm.hash(b"forged");
                assert!(!verify_consistency(
                    algorithm,
                    first,
                    second,
                    &forged,
                    &second_root,
                    &path
                ));
                assert!(!verify_consistency(
                    algorithm,
                    first,
                    second,
                    &first_root,
                    &forged,
                    &path
                ));
            }
        }
    }

    #[test]
    fn rfc_example_tree_of_seven_has_documented_proof_shapes() {
        // RFC 9162 §2.1.5: for the tree of 7 leaves, the inclusion proof of leaf b (index 1) is
        // [a, h(c,d), h(e,f,g)] and the consistency proof between sizes 4 and 7 is [l] = [h(e,f,g)]
        // (the first root is a complete subtree).
        let algorithm = HashAlgorithm::Sha256;
        let mut memory = tree(algorithm, 7);
        let leaves = memory.leaves().to_vec();
        let path = inclusion_path(&mut memory, 1, 7).expect("in tree");
        assert_eq!(
            path,
            vec![
                leaves[0],
                algorithm.node(&leaves[2], &leaves[3]),
                root_of_leaves(algorithm, &leaves[4..7])
            ]
        );
        let proof = consistency_path(&mut memory, 4, 7).expect("in tree");
        assert_eq!(proof, vec![root_of_leaves(algorithm, &leaves[4..7])]);
        // Between sizes 3 and 7: [c, d, g, l] in the RFC's notation.
        let proof = consistency_path(&mut memory, 3, 7).expect("in tree");
        assert_eq!(
            proof,
            vec![
                leaves[2],
                leaves[3],
                algorithm.node(&leaves[0], &leaves[1]),
                root_of_leaves(algorithm, &leaves[4..7])
            ]
        );
    }
}
