//! Ledger benchmark: appends per second with batched commits on SQLite, verification time of a
//! large log, inclusion-proof time, and the tree root against the `ct-merkle` crate.
//!
//! ```text
//! cargo run --release -p ledger --example bench -- [ENTRIES] [RUNS]
//! ```
//! ENTRIES (default 1 000 000) is the size of the verified log; RUNS (default 5) the number of
//! runs each median is taken over. Figures go to stdout.

use std::time::{Duration, Instant};

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use domain::RegionCode;
use ledger::sql::SqlStore;
use ledger::tree::MemoryTree;
use ledger::{
    Action, DataHash, Entry, HashAlgorithm, Ledger, Purpose, Role, SubjectRef, Timestamp, UserId,
    Verification,
};

const APPEND_ENTRIES: u64 = 100_000;
const APPEND_BATCH: usize = 1_000;
const BUILD_BATCH: usize = 10_000;
const PROOFS: u64 = 1_000;

fn entry(i: u64, region: RegionCode) -> Entry {
    Entry {
        at: Timestamp(1_764_300_000_000 + i as i64),
        actor: UserId(1 + i % 50),
        role: Role::Caseworker,
        region,
        action: Action::UnmaskedRead,
        purpose: Purpose::Verification,
        case: Some(i / 3),
        subject: SubjectRef::Household(i % 100_000),
        data: DataHash::of(HashAlgorithm::Sm3, &i.to_be_bytes()),
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn sqlite_ledger(dir: &tempfile::TempDir, name: &str) -> Ledger<SqlStore> {
    let url = format!("sqlite:{}", dir.path().join(name).display());
    let store = SqlStore::connect(&url).expect("open SQLite");
    Ledger::open(store, HashAlgorithm::Sm3).expect("open ledger")
}

fn main() {
    let mut args = std::env::args().skip(1);
    let size: u64 = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let region = RegionCode::parse("990101001201").expect("synthetic region");
    let dir = tempfile::tempdir().expect("temp dir");
    println!(
        "ledger benchmark: SM3 leaves and nodes, SQLite (WAL, synchronous=NORMAL), median of {runs} runs"
    );

    // 1. Appends with batched commits.
    let entries: Vec<Entry> = (0..APPEND_ENTRIES).map(|i| entry(i, region)).collect();
    let mut rates = Vec::new();
    for run in 0..runs {
        let mut ledger = sqlite_ledger(&dir, &format!("append-{run}.db"));
        let start = Instant::now();
        for batch in entries.chunks(APPEND_BATCH) {
            ledger.append(batch).expect("append");
        }
        rates.push(APPEND_ENTRIES as f64 / secs(start.elapsed()));
    }
    println!(
        "append, SQLite, {APPEND_ENTRIES} entries in commits of {APPEND_BATCH}: {:.0} entries/s",
        median(rates)
    );

    // 2. Verification of a large log.
    let mut ledger = sqlite_ledger(&dir, "large.db");
    let start = Instant::now();
    let mut next = 0u64;
    while next < size {
        let end = (next + BUILD_BATCH as u64).min(size);
        let batch: Vec<Entry> = (next..end).map(|i| entry(i, region)).collect();
        ledger.append(&batch).expect("append");
        next = end;
    }
    let built = start.elapsed();
    println!(
        "build, SQLite, {size} entries in commits of {BUILD_BATCH}: {:.1} s ({:.0} entries/s)",
        secs(built),
        size as f64 / secs(built)
    );
    let head = ledger.head(Timestamp(0));
    let mut times = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let verdict = ledger.verify(&[head]).expect("verify");
        times.push(secs(start.elapsed()));
        assert!(
            matches!(verdict, Verification::Intact { .. }),
            "{verdict:?}"
        );
    }
    println!(
        "verify, SQLite, {size} entries against a tree head: {:.2} s",
        median(times)
    );

    // 3. Inclusion proofs from the SQLite node cache.
    let mut times = Vec::new();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..runs {
        let start = Instant::now();
        for _ in 0..PROOFS {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            let index = (state >> 11) % size;
            let proof = ledger.prove_inclusion(index, size).expect("prove");
            assert!(proof.verify(&head));
        }
        times.push(secs(start.elapsed()) / PROOFS as f64);
    }
    println!(
        "inclusion proof, SQLite, tree of {size}: {:.0} µs per proof (generate + verify)",
        median(times) * 1e6
    );

    // 4. The tree alone against ct-merkle (SHA-256, leaves in memory).
    let leaves: Vec<[u8; 8]> = (0..size).map(u64::to_be_bytes).collect();
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for _ in 0..runs {
        let start = Instant::now();
        let mut tree = MemoryTree::new(HashAlgorithm::Sha256);
        for leaf in &leaves {
            tree.push(HashAlgorithm::Sha256.leaf(leaf));
        }
        let root = tree.root();
        ours.push(secs(start.elapsed()));

        let start = Instant::now();
        let mut tree = MemoryBackedTree::<sha2_legacy::Sha256, [u8; 8]>::new();
        for leaf in &leaves {
            tree.push(*leaf);
        }
        let their_root = tree.root();
        theirs.push(secs(start.elapsed()));
        assert_eq!(root.as_bytes()[..], their_root.as_bytes()[..]);
    }
    println!(
        "tree of {size} SHA-256 leaves in memory: ledger {:.2} s, ct-merkle {:.2} s (same root)",
        median(ours),
        median(theirs)
    );
}
