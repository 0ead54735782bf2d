//! The tamper-evident audit ledger (design decision 5).
//!
//! Every decision and every read of personal data is appended as an [`Entry`] to an append-only
//! log hashed into a Merkle tree exactly as RFC 9162 (Certificate Transparency 2.0) defines it:
//! leaves are `HASH(0x00 || record)`, nodes `HASH(0x01 || left || right)`, SM3 by default and
//! SHA-256 on request. The log publishes signed tree heads (SM2 by default, Ed25519 on request),
//! proves that an entry is included in a head and that a later head extends an earlier one, and
//! verifies a whole log against its heads, naming the first entry that was changed, deleted,
//! moved or cut off.
//!
//! The crate knows no database: it needs a [`LedgerStore`]. [`MemoryStore`] keeps the log in
//! memory; `sql::SqlStore` (features `sqlite` and `postgres`) keeps it in tables named
//! `ledger_*` that can share the platform's database. Entries hold no personal data
//! (see [`entry`]). Time is an argument everywhere: the crate never reads the clock.

pub mod entry;
pub mod hash;
pub mod head;
pub mod log;
pub mod schema;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub mod sql;
pub mod store;
pub mod tree;

pub use entry::{Action, DataHash, Entry, Purpose, Record, Role, SubjectRef, Timestamp, UserId};
pub use hash::{Digest, HashAlgorithm};
pub use head::{
    FormatError, KeyError, PublicKey, SignatureAlgorithm, SignedTreeHead, SigningKey, TreeHead,
};
pub use log::{
    ConsistencyProof, EntryProof, Finding, InclusionProof, Ledger, LedgerError, Problem,
    Verification, verify,
};
pub use store::{LedgerStore, MemoryStore, StoreError};
