//! The storage seam: what the ledger needs from a database, and an in-memory implementation.
//!
//! The ledger knows no database. A [`LedgerStore`] keeps encoded records with their leaf hashes,
//! the cached hashes of complete subtrees (so appends and proofs are O(log n)), and published
//! tree heads. [`MemoryStore`] keeps them in memory; `ledger::sql` keeps them in SQLite or
//! PostgreSQL tables that can live in the platform's database.

use std::collections::HashMap;

use crate::hash::Digest;
use crate::head::SignedTreeHead;

/// An encoded record as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRecord {
    /// The position the store files it under.
    pub index: u64,
    /// The canonical encoding of the record (`Record::encode`).
    pub body: Vec<u8>,
    /// The leaf hash computed when it was appended.
    pub leaf_hash: Digest,
}

/// The hash of a complete subtree of level ≥ 1, cached when its last leaf was appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoredNode {
    /// The level: the subtree covers 2^level leaves.
    pub level: u8,
    /// The subtree's position at its level.
    pub index: u64,
    /// MTH of its leaves.
    pub hash: Digest,
}

/// What one append writes, atomically.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AppendBatch {
    /// New records, at consecutive indices starting at the current size.
    pub records: Vec<StoredRecord>,
    /// The complete subtrees the new records complete.
    pub nodes: Vec<StoredNode>,
}

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed (connection, query, constraint).
    #[error("ledger storage failed: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Another writer appended first: the batch does not start at the end of the log.
    #[error("append starts at entry {start} but the log holds {size} entries")]
    Conflict {
        /// Where the batch starts.
        start: u64,
        /// The size of the stored log.
        size: u64,
    },
    /// The database URL names no supported backend.
    #[error("unsupported ledger database URL scheme (expected sqlite: or postgres://)")]
    UnsupportedUrl,
}

/// What the ledger needs from storage. Implementations need not check anything: the ledger
/// verifies what it reads.
pub trait LedgerStore {
    /// One more than the highest stored index (0 when empty): the size the store claims.
    fn size(&mut self) -> Result<u64, StoreError>;
    /// Writes a batch in one transaction: all of it or nothing.
    fn append(&mut self, batch: &AppendBatch) -> Result<(), StoreError>;
    /// The stored records with `start <= index < end`, in index order (gaps show as missing
    /// indices).
    fn records(&mut self, start: u64, end: u64) -> Result<Vec<StoredRecord>, StoreError>;
    /// A cached subtree hash: the stored leaf hash at level 0, a stored node above.
    fn node(&mut self, level: u8, index: u64) -> Result<Option<Digest>, StoreError>;
    /// Keeps a published tree head.
    fn save_head(&mut self, head: &SignedTreeHead) -> Result<(), StoreError>;
    /// The published tree heads, by size then timestamp.
    fn heads(&mut self) -> Result<Vec<SignedTreeHead>, StoreError>;
}

/// A store in memory: for tests, benchmarks and short-lived tools.
#[derive(Debug, Default)]
pub struct MemoryStore {
    records: Vec<StoredRecord>,
    nodes: HashMap<(u8, u64), Digest>,
    heads: Vec<SignedTreeHead>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// The stored records, in storage order, for tools that inspect or damage a log on purpose
    /// (tamper tests).
    pub fn records_mut(&mut self) -> &mut Vec<StoredRecord> {
        &mut self.records
    }
}

impl LedgerStore for MemoryStore {
    fn size(&mut self) -> Result<u64, StoreError> {
        Ok(self.records.iter().map(|r| r.index + 1).max().unwrap_or(0))
    }

    fn append(&mut self, batch: &AppendBatch) -> Result<(), StoreError> {
        let size = self.size()?;
        if let Some(first) = batch.records.first()
            && first.index != size
        {
            return Err(StoreError::Conflict {
                start: first.index,
                size,
            });
        }
        self.records.extend(batch.records.iter().cloned());
        for node in &batch.nodes {
            self.nodes.insert((node.level, node.index), node.hash);
        }
        Ok(())
    }

    fn records(&mut self, start: u64, end: u64) -> Result<Vec<StoredRecord>, StoreError> {
        // Fast path: an undamaged store holds record i at position i.
        let len = self.records.len() as u64;
        let (from, to) = (start.min(len) as usize, end.min(len) as usize);
        let slice = &self.records[from..to];
        if slice.iter().zip(start..).all(|(r, i)| r.index == i) {
            return Ok(slice.to_vec());
        }
        let mut found: Vec<StoredRecord> = self
            .records
            .iter()
            .filter(|r| r.index >= start && r.index < end)
            .cloned()
            .collect();
        // Storage order is index order, like an ORDER BY in SQL; a stable sort keeps
        // duplicates in the order they were stored.
        found.sort_by_key(|r| r.index);
        Ok(found)
    }

    fn node(&mut self, level: u8, index: u64) -> Result<Option<Digest>, StoreError> {
        if level == 0 {
            let fast = usize::try_from(index)
                .ok()
                .and_then(|i| self.records.get(i));
            if let Some(record) = fast.filter(|r| r.index == index) {
                return Ok(Some(record.leaf_hash));
            }
            return Ok(self
                .records
                .iter()
                .find(|r| r.index == index)
                .map(|r| r.leaf_hash));
        }
        Ok(self.nodes.get(&(level, index)).copied())
    }

    fn save_head(&mut self, head: &SignedTreeHead) -> Result<(), StoreError> {
        self.heads.push(head.clone());
        self.heads.sort_by_key(|h| (h.head.size, h.head.timestamp));
        Ok(())
    }

    fn heads(&mut self) -> Result<Vec<SignedTreeHead>, StoreError> {
        Ok(self.heads.clone())
    }
}
