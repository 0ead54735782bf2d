//! The append-only log over a [`LedgerStore`]: appends, tree heads, proofs and verification.

use std::ops::Range;

use serde::{Deserialize, Serialize};

use crate::entry::{DecodeError, Entry, Record, Timestamp};
use crate::hash::{Digest, HashAlgorithm};
use crate::head::{HexBytes, SignedTreeHead, SigningKey, TreeHead};
use crate::store::{AppendBatch, LedgerStore, StoreError, StoredNode, StoredRecord};
use crate::tree::{self, Frontier, NodeSource};

/// How many records verification reads at a time.
const VERIFY_CHUNK: u64 = 1 << 16;

/// A failure of a ledger operation (not a finding: tampering is reported as a [`Verification`]).
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A cached subtree the log needs is not in the store.
    #[error("the store lacks the cached subtree at level {level}, index {index}; run verify")]
    MissingNode {
        /// Its level.
        level: u8,
        /// Its index.
        index: u64,
    },
    /// An entry index or tree size beyond the log.
    #[error("the log has {size} entries; {asked} is out of range")]
    OutOfRange {
        /// What was asked for.
        asked: u64,
        /// The log's size.
        size: u64,
    },
    /// A tree head or proof made with another hash function.
    #[error("the log uses {log}, the tree head uses {head}")]
    AlgorithmMismatch {
        /// The log's hash function.
        log: HashAlgorithm,
        /// The head's.
        head: HashAlgorithm,
    },
    /// A stored record does not decode.
    #[error("entry {index} is damaged: {source}")]
    Damaged {
        /// Its index.
        index: u64,
        /// Why it does not decode.
        source: DecodeError,
    },
}

/// Proof that an entry is in the log at a given size (RFC 9162 §2.1.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// The hash function.
    pub hash_algorithm: HashAlgorithm,
    /// The entry's index.
    pub leaf_index: u64,
    /// The size of the tree the proof is for.
    pub tree_size: u64,
    /// The entry's leaf hash.
    pub leaf_hash: Digest,
    /// The audit path, from the leaf upwards.
    pub path: Vec<Digest>,
}

impl InclusionProof {
    /// Whether the proof shows the leaf in the tree described by `head`.
    pub fn verify(&self, head: &TreeHead) -> bool {
        head.hash_algorithm == self.hash_algorithm
            && head.size == self.tree_size
            && tree::verify_inclusion(
                self.hash_algorithm,
                &self.leaf_hash,
                self.leaf_index,
                self.tree_size,
                &self.path,
                &head.root,
            )
    }

    /// Whether the proof shows that the encoded record `body` is the leaf.
    pub fn verify_record(&self, body: &[u8], head: &TreeHead) -> bool {
        self.hash_algorithm.leaf(body) == self.leaf_hash && self.verify(head)
    }
}

/// Proof that a smaller tree is a prefix of a larger one (RFC 9162 §2.1.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// The hash function.
    pub hash_algorithm: HashAlgorithm,
    /// The size of the older tree.
    pub first_size: u64,
    /// The size of the newer tree.
    pub second_size: u64,
    /// The proof nodes.
    pub path: Vec<Digest>,
}

impl ConsistencyProof {
    /// Whether the proof shows that `first` is a prefix of `second`.
    pub fn verify(&self, first: &TreeHead, second: &TreeHead) -> bool {
        first.hash_algorithm == self.hash_algorithm
            && second.hash_algorithm == self.hash_algorithm
            && first.size == self.first_size
            && second.size == self.second_size
            && tree::verify_consistency(
                self.hash_algorithm,
                self.first_size,
                self.second_size,
                &first.root,
                &second.root,
                &self.path,
            )
    }
}

/// One entry with everything an auditor needs to check it: the decoded record, its canonical
/// bytes, the inclusion proof and, when one was published at that size, the signed tree head.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryProof {
    /// The entry at its index.
    pub record: Record,
    /// Its canonical encoding (the leaf).
    pub body: HexBytes,
    /// The inclusion proof.
    pub proof: InclusionProof,
    /// The signed head the proof is for, if one was published at that size.
    pub tree_head: Option<SignedTreeHead>,
}

impl EntryProof {
    /// Whether the bytes are the record, and the proof puts them in `head`.
    pub fn verify(&self, head: &TreeHead) -> bool {
        Record::decode(&self.body.0).is_ok_and(|record| record == self.record)
            && self.proof.verify_record(&self.body.0, head)
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// What is wrong at the first bad entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Problem {
    /// No record is stored at this index (deleted).
    Missing,
    /// The record does not decode.
    Malformed {
        /// Why.
        reason: String,
    },
    /// The record says it belongs at another index (moved or reordered).
    Misplaced {
        /// The index written in the record.
        claims: u64,
    },
    /// The record's bytes do not hash to the leaf hash stored with it (changed after writing).
    Altered,
    /// The entries from this index up to `head_size` do not hash to the root of a tree head,
    /// although every record is self-consistent (rewritten together with its leaf hash).
    RootMismatch {
        /// The size of the head that does not match.
        head_size: u64,
    },
    /// The log ends here, before the size a tree head covers.
    Truncated {
        /// The size the head covers.
        head_size: u64,
    },
    /// The records are sound but the cached subtree hashes (used for appends and proofs)
    /// disagree with them.
    CachedNodes,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::Missing => f.write_str("missing (deleted)"),
            Problem::Malformed { reason } => write!(f, "malformed: {reason}"),
            Problem::Misplaced { claims } => {
                write!(
                    f,
                    "out of place: the record belongs at index {claims} (moved or reordered)"
                )
            }
            Problem::Altered => f.write_str("altered: its bytes do not match its leaf hash"),
            Problem::RootMismatch { head_size } => write!(
                f,
                "rewritten: entries from here up to {head_size} do not match the tree head of size {head_size}"
            ),
            Problem::Truncated { head_size } => {
                write!(
                    f,
                    "missing: the log is truncated, the tree head covers {head_size} entries"
                )
            }
            Problem::CachedNodes => {
                f.write_str("the cached subtree hashes disagree with the entries")
            }
        }
    }
}

/// A tampering finding: the first bad entry and what is wrong with it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The index of the first entry that is not as it was.
    pub first_bad_entry: u64,
    /// What is wrong.
    pub problem: Problem,
}

/// The outcome of verifying a whole log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Verification {
    /// Every entry matches its hash, the tree and every tree head given.
    Intact {
        /// Entries verified.
        size: u64,
        /// The recomputed root.
        root: Digest,
        /// How many tree heads were checked.
        heads_checked: usize,
    },
    /// The log was changed; the first bad entry is named.
    Tampered(Finding),
}

/// The audit log: an RFC 9162 Merkle tree over a store.
#[derive(Debug)]
pub struct Ledger<S> {
    store: S,
    frontier: Frontier,
}

struct StoreNodes<'a, S> {
    store: &'a mut S,
    algorithm: HashAlgorithm,
}

impl<S: LedgerStore> NodeSource for StoreNodes<'_, S> {
    type Error = LedgerError;

    fn algorithm(&self) -> HashAlgorithm {
        self.algorithm
    }

    fn complete_subtree(&mut self, level: u8, index: u64) -> Result<Digest, LedgerError> {
        self.store
            .node(level, index)?
            .ok_or(LedgerError::MissingNode { level, index })
    }
}

impl<S: LedgerStore> Ledger<S> {
    /// Opens the log kept in `store`, hashed with `algorithm`. Reads O(log n) cached nodes.
    pub fn open(mut store: S, algorithm: HashAlgorithm) -> Result<Ledger<S>, LedgerError> {
        let size = store.size()?;
        let frontier = Frontier::load(
            &mut StoreNodes {
                store: &mut store,
                algorithm,
            },
            size,
        )?;
        Ok(Ledger { store, frontier })
    }

    /// The number of entries.
    pub fn size(&self) -> u64 {
        self.frontier.size()
    }

    /// The hash function.
    pub fn algorithm(&self) -> HashAlgorithm {
        self.frontier.algorithm()
    }

    /// The current root hash.
    pub fn root(&self) -> Digest {
        self.frontier.root()
    }

    /// The store.
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// Gives the store back.
    pub fn into_store(self) -> S {
        self.store
    }

    /// Appends entries in one batch (one transaction); O(log n) hashing per entry.
    /// Returns the indices they were given.
    pub fn append(&mut self, entries: &[Entry]) -> Result<Range<u64>, LedgerError> {
        let start = self.size();
        let algorithm = self.algorithm();
        let mut frontier = self.frontier.clone();
        let mut batch = AppendBatch {
            records: Vec::with_capacity(entries.len()),
            nodes: Vec::with_capacity(entries.len()),
        };
        for (index, entry) in (start..).zip(entries) {
            let body = Record {
                index,
                entry: *entry,
            }
            .encode();
            let leaf_hash = algorithm.leaf(&body);
            frontier.push(leaf_hash, |level, index, hash| {
                batch.nodes.push(StoredNode { level, index, hash });
            });
            batch.records.push(StoredRecord {
                index,
                body,
                leaf_hash,
            });
        }
        self.store.append(&batch)?;
        self.frontier = frontier;
        Ok(start..self.size())
    }

    /// The current tree head at `timestamp`.
    pub fn head(&self, timestamp: Timestamp) -> TreeHead {
        TreeHead {
            hash_algorithm: self.algorithm(),
            size: self.size(),
            root: self.root(),
            timestamp,
        }
    }

    /// Signs the current tree head with `key`, keeps it in the store and returns it.
    pub fn publish(
        &mut self,
        key: &SigningKey,
        timestamp: Timestamp,
    ) -> Result<SignedTreeHead, LedgerError> {
        let signed = key.sign(self.head(timestamp));
        self.store.save_head(&signed)?;
        Ok(signed)
    }

    /// The tree heads kept in the store.
    pub fn published_heads(&mut self) -> Result<Vec<SignedTreeHead>, LedgerError> {
        Ok(self.store.heads()?)
    }

    /// The stored record at `index`, decoded.
    pub fn record(&mut self, index: u64) -> Result<(Record, Vec<u8>), LedgerError> {
        self.check_size(index + 1)?;
        let stored = self.store.records(index, index + 1)?;
        let Some(found) = stored.into_iter().find(|r| r.index == index) else {
            return Err(LedgerError::MissingNode { level: 0, index });
        };
        let record =
            Record::decode(&found.body).map_err(|source| LedgerError::Damaged { index, source })?;
        Ok((record, found.body))
    }

    /// Entry `index` with its inclusion proof in the tree of `tree_size` entries, and the latest
    /// published head of that size whose root matches, if any.
    pub fn entry_proof(&mut self, index: u64, tree_size: u64) -> Result<EntryProof, LedgerError> {
        let proof = self.prove_inclusion(index, tree_size)?;
        let (record, body) = self.record(index)?;
        let root = self.root_at(tree_size)?;
        let tree_head = self
            .published_heads()?
            .into_iter()
            .rev()
            .find(|h| h.head.size == tree_size && h.head.root == root);
        Ok(EntryProof {
            record,
            body: HexBytes(body),
            proof,
            tree_head,
        })
    }

    /// The root of the log when it had `size` entries (`size` ≤ the current size).
    pub fn root_at(&mut self, size: u64) -> Result<Digest, LedgerError> {
        self.check_size(size)?;
        tree::subtree_root(&mut self.nodes(), 0, size)
    }

    /// The inclusion proof of entry `index` in the tree of `tree_size` entries.
    pub fn prove_inclusion(
        &mut self,
        index: u64,
        tree_size: u64,
    ) -> Result<InclusionProof, LedgerError> {
        self.check_size(tree_size)?;
        if index >= tree_size {
            return Err(LedgerError::OutOfRange {
                asked: index,
                size: tree_size,
            });
        }
        let mut nodes = self.nodes();
        let leaf_hash = nodes.complete_subtree(0, index)?;
        let path = tree::inclusion_path(&mut nodes, index, tree_size)?;
        Ok(InclusionProof {
            hash_algorithm: self.algorithm(),
            leaf_index: index,
            tree_size,
            leaf_hash,
            path,
        })
    }

    /// The consistency proof between the trees of `first_size` and `second_size` entries
    /// (`0 < first_size <= second_size <= size`).
    pub fn prove_consistency(
        &mut self,
        first_size: u64,
        second_size: u64,
    ) -> Result<ConsistencyProof, LedgerError> {
        self.check_size(second_size)?;
        if first_size == 0 || first_size > second_size {
            return Err(LedgerError::OutOfRange {
                asked: first_size,
                size: second_size,
            });
        }
        let path = tree::consistency_path(&mut self.nodes(), first_size, second_size)?;
        Ok(ConsistencyProof {
            hash_algorithm: self.algorithm(),
            first_size,
            second_size,
            path,
        })
    }

    /// Verifies the whole log; see [`verify`].
    pub fn verify(&mut self, heads: &[TreeHead]) -> Result<Verification, LedgerError> {
        let algorithm = self.algorithm();
        verify(&mut self.store, algorithm, heads)
    }

    fn nodes(&mut self) -> StoreNodes<'_, S> {
        let algorithm = self.algorithm();
        StoreNodes {
            store: &mut self.store,
            algorithm,
        }
    }

    fn check_size(&self, size: u64) -> Result<(), LedgerError> {
        if size > self.size() {
            return Err(LedgerError::OutOfRange {
                asked: size,
                size: self.size(),
            });
        }
        Ok(())
    }
}

/// Verifies the whole log kept in `store` (also a store too damaged to open as a [`Ledger`]):
/// recomputes every leaf hash from the stored records, checks that each record sits at the index it names, recomputes the tree and compares its root at the
/// size of every head in `heads`, and checks the cached right edge of the tree. Reports the
/// first bad entry; O(n) hashing, records read in chunks.
pub fn verify<S: LedgerStore>(
    store: &mut S,
    algorithm: HashAlgorithm,
    heads: &[TreeHead],
) -> Result<Verification, LedgerError> {
    if let Some(head) = heads.iter().find(|h| h.hash_algorithm != algorithm) {
        return Err(LedgerError::AlgorithmMismatch {
            log: algorithm,
            head: head.hash_algorithm,
        });
    }
    let mut heads: Vec<TreeHead> = heads.to_vec();
    heads.sort_by_key(|h| h.size);
    let size = store.size()?;

    let mut frontier = Frontier::new(algorithm);
    let mut pending = heads.iter().peekable();
    // Heads of size 0 commit to the empty tree.
    let mut matched_up_to = 0u64;
    while let Some(head) = pending.next_if(|h| h.size == 0) {
        if head.root != algorithm.empty_root() {
            return Ok(tampered(0, Problem::RootMismatch { head_size: 0 }));
        }
    }
    let mut start = 0u64;
    while start < size {
        let end = (start + VERIFY_CHUNK).min(size);
        let records = store.records(start, end)?;
        let mut expected = start;
        for stored in records {
            if stored.index != expected {
                // An index was skipped (deleted) or repeated.
                return Ok(tampered(expected, Problem::Missing));
            }
            let record = match Record::decode(&stored.body) {
                Ok(record) => record,
                Err(error) => {
                    let problem = Problem::Malformed {
                        reason: error.to_string(),
                    };
                    return Ok(tampered(expected, problem));
                }
            };
            if record.index != expected {
                return Ok(tampered(
                    expected,
                    Problem::Misplaced {
                        claims: record.index,
                    },
                ));
            }
            let leaf_hash = algorithm.leaf(&stored.body);
            if leaf_hash != stored.leaf_hash {
                return Ok(tampered(expected, Problem::Altered));
            }
            frontier.push(leaf_hash, |_, _, _| {});
            expected += 1;
            while let Some(head) = pending.next_if(|h| h.size == expected) {
                if frontier.root() != head.root {
                    return Ok(tampered(
                        matched_up_to,
                        Problem::RootMismatch {
                            head_size: head.size,
                        },
                    ));
                }
                matched_up_to = expected;
            }
        }
        if expected != end {
            return Ok(tampered(expected, Problem::Missing));
        }
        start = end;
    }
    if let Some(head) = pending.next() {
        return Ok(tampered(
            size,
            Problem::Truncated {
                head_size: head.size,
            },
        ));
    }
    let cached = match Frontier::load(&mut StoreNodes { store, algorithm }, size) {
        Ok(cached) => Some(cached.root()),
        Err(LedgerError::MissingNode { .. }) => None,
        Err(error) => return Err(error),
    };
    if cached != Some(frontier.root()) {
        return Ok(tampered(size.saturating_sub(1), Problem::CachedNodes));
    }
    Ok(Verification::Intact {
        size,
        root: frontier.root(),
        heads_checked: heads.len(),
    })
}

fn tampered(first_bad_entry: u64, problem: Problem) -> Verification {
    Verification::Tampered(Finding {
        first_bad_entry,
        problem,
    })
}
