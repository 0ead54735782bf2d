//! Tamper detection, the same cases on every store: a changed byte, a deleted entry, two
//! entries swapped, a truncated log and a rewritten history are found, and the first bad entry
//! is named.

use ledger::sql::SqlStore;
use ledger::{
    Finding, HashAlgorithm, Ledger, LedgerStore, MemoryStore, Problem, SignatureAlgorithm,
    SigningKey, Timestamp, TreeHead, Verification,
};

use crate::fixture::{Damage, SqlFixture, entry, filled};

const SIZE: u64 = 20;

/// A log under test and a way to damage its storage.
trait Subject {
    type Store: LedgerStore;
    fn ledger(&mut self) -> &mut Ledger<Self::Store>;
    fn damage(&mut self) -> &mut dyn Damage;
}

struct Memory(Ledger<MemoryStore>);

impl Subject for Memory {
    type Store = MemoryStore;
    fn ledger(&mut self) -> &mut Ledger<MemoryStore> {
        &mut self.0
    }
    fn damage(&mut self) -> &mut dyn Damage {
        self.0.store_mut()
    }
}

struct Sql(Ledger<SqlStore>, SqlFixture);

impl Subject for Sql {
    type Store = SqlStore;
    fn ledger(&mut self) -> &mut Ledger<SqlStore> {
        &mut self.0
    }
    fn damage(&mut self) -> &mut dyn Damage {
        &mut self.1
    }
}

fn key() -> SigningKey {
    SigningKey::from_seed(SignatureAlgorithm::Sm2, [3; 32]).expect("valid seed")
}

/// Publishes heads at sizes 10 and 20 (the log grows between them) and returns them.
fn publish_heads<S: Subject>(subject: &mut S) -> Vec<TreeHead> {
    let ledger = subject.ledger();
    let first = ledger
        .publish(&key(), Timestamp(1_000))
        .expect("publish")
        .head;
    let rest: Vec<_> = (first.size..SIZE).map(entry).collect();
    ledger.append(&rest).expect("append");
    let second = ledger
        .publish(&key(), Timestamp(2_000))
        .expect("publish")
        .head;
    vec![first, second]
}

fn stored_heads<S: Subject>(subject: &mut S) -> Vec<TreeHead> {
    let heads = subject.ledger().published_heads().expect("heads");
    assert!(heads.iter().all(|h| h.verify_with(key().public_key())));
    heads.into_iter().map(|h| h.head).collect()
}

fn finding<S: Subject>(subject: &mut S) -> Finding {
    let heads = stored_heads(subject);
    match subject.ledger().verify(&heads).expect("verification runs") {
        Verification::Tampered(finding) => finding,
        Verification::Intact { .. } => panic!("damage went unnoticed"),
    }
}

fn intact<S: Subject>(mut subject: S) {
    publish_heads(&mut subject);
    let heads = stored_heads(&mut subject);
    assert_eq!(
        heads.iter().map(|h| h.size).collect::<Vec<_>>(),
        vec![10, 20]
    );
    let root = subject.ledger().root();
    assert_eq!(
        subject.ledger().verify(&heads).expect("verification runs"),
        Verification::Intact {
            size: SIZE,
            root,
            heads_checked: 2
        }
    );
}

fn changed_byte<S: Subject>(mut subject: S) {
    publish_heads(&mut subject);
    let (mut body, leaf) = subject.damage().read(13);
    body[12] ^= 0x01; // a bit of the timestamp: still a well-formed record
    subject.damage().write(13, body, leaf);
    assert_eq!(
        finding(&mut subject),
        Finding {
            first_bad_entry: 13,
            problem: Problem::Altered
        }
    );
}

fn changed_byte_beyond_decoding<S: Subject>(mut subject: S) {
    publish_heads(&mut subject);
    let (mut body, leaf) = subject.damage().read(4);
    body[25] = 0xee; // the role code
    subject.damage().write(4, body, leaf);
    let found = finding(&mut subject);
    assert_eq!(found.first_bad_entry, 4);
    assert!(
        matches!(found.problem, Problem::Malformed { .. }),
        "{found:?}"
    );
}

fn rewritten_with_leaf_hash<S: Subject>(mut subject: S) {
    publish_heads(&mut subject);
    let (mut body, _) = subject.damage().read(13);
    body[12] ^= 0x01;
    let leaf = subject.ledger().algorithm().leaf(&body);
    subject.damage().write(13, body, leaf.0.to_vec());
    // Every record is self-consistent now; only the signed heads can tell. The first head (10)
    // still matches, so the first bad entry lies from 10 on.
    assert_eq!(
        finding(&mut subject),
        Finding {
            first_bad_entry: 10,
            problem: Problem::RootMismatch { head_size: 20 }
        }
    );
}

fn deleted<S: Subject>(mut subject: S) {
    publish_heads(&mut subject);
    subject.damage().delete(5, 6);
    assert_eq!(
        finding(&mut subject),
        Finding {
            first_bad_entry: 5,
            problem: Problem::Missing
        }
    );
}

fn reordered<S: Subject>(mut subject: S) {
    publish_heads(&mut subject);
    let (body_7, leaf_7) = subject.damage().read(7);
    let (body_8, leaf_8) = subject.damage().read(8);
    subject.damage().write(7, body_8, leaf_8);
    subject.damage().write(8, body_7, leaf_7);
    assert_eq!(
        finding(&mut subject),
        Finding {
            first_bad_entry: 7,
            problem: Problem::Misplaced { claims: 8 }
        }
    );
}

fn truncated<S: Subject>(mut subject: S) {
    publish_heads(&mut subject);
    subject.damage().delete(15, SIZE);
    assert_eq!(
        finding(&mut subject),
        Finding {
            first_bad_entry: 15,
            problem: Problem::Truncated { head_size: 20 }
        }
    );
}

fn truncated_against_a_given_head<S: Subject>(mut subject: S) {
    // The published head is the one an auditor kept; the store's own heads are gone with the
    // truncation in this case, so the head is passed in.
    let head = subject.ledger().head(Timestamp(5));
    subject.damage().delete(9, 10);
    let verdict = subject.ledger().verify(&[head]).expect("verification runs");
    assert_eq!(
        verdict,
        Verification::Tampered(Finding {
            first_bad_entry: 9,
            problem: Problem::Truncated { head_size: 10 }
        })
    );
}

fn proofs_from_storage_verify<S: Subject>(mut subject: S) {
    let heads = publish_heads(&mut subject);
    let ledger = subject.ledger();
    for head in &heads {
        for index in 0..head.size {
            let proof = ledger.prove_inclusion(index, head.size).expect("prove");
            let (_, body) = ledger.record(index).expect("record");
            assert!(
                proof.verify_record(&body, head),
                "entry {index} in head {}",
                head.size
            );
        }
    }
    let proof = ledger
        .prove_consistency(heads[0].size, heads[1].size)
        .expect("prove");
    assert!(proof.verify(&heads[0], &heads[1]));
    let json = serde_json::to_string(&proof).expect("serialise");
    let back: ledger::ConsistencyProof = serde_json::from_str(&json).expect("deserialise");
    assert!(back.verify(&heads[0], &heads[1]));
}

fn reopened_log_continues<S: Subject>(mut subject: S, reopen: impl FnOnce(S) -> S) {
    let root = subject.ledger().root();
    let mut subject = reopen(subject);
    assert_eq!(subject.ledger().size(), 10);
    assert_eq!(subject.ledger().root(), root);
    let rest: Vec<_> = (10..SIZE).map(entry).collect();
    subject.ledger().append(&rest).expect("append");
    let reference = filled(MemoryStore::new(), subject.ledger().algorithm(), SIZE);
    assert_eq!(subject.ledger().root(), reference.root());
}

/// Runs one case on a fresh log of 10 entries (the cases grow it to 20).
macro_rules! on_every_store {
    ($($case:ident),+ $(,)?) => {
        mod memory {
            $(
                #[test]
                fn $case() {
                    for algorithm in ledger::HashAlgorithm::ALL {
                        super::$case(super::Memory(crate::fixture::filled(
                            ledger::MemoryStore::new(),
                            algorithm,
                            10,
                        )));
                    }
                }
            )+
        }
        mod sqlite {
            $(
                #[test]
                fn $case() {
                    let dir = tempfile::tempdir().expect("temp dir");
                    let fixture = crate::fixture::SqlFixture::sqlite(&dir);
                    let ledger = crate::fixture::filled(fixture.store(), ledger::HashAlgorithm::Sm3, 10);
                    super::$case(super::Sql(ledger, fixture));
                }
            )+
        }
        mod postgres {
            $(
                #[test]
                fn $case() {
                    let Some(fixture) = crate::fixture::SqlFixture::postgres(stringify!($case)) else {
                        return;
                    };
                    let ledger = crate::fixture::filled(fixture.store(), ledger::HashAlgorithm::Sm3, 10);
                    super::$case(super::Sql(ledger, fixture));
                }
            )+
        }
    };
}

on_every_store!(
    intact,
    changed_byte,
    changed_byte_beyond_decoding,
    rewritten_with_leaf_hash,
    deleted,
    reordered,
    truncated,
    truncated_against_a_given_head,
    proofs_from_storage_verify,
);

#[test]
fn sqlite_log_reopens_and_continues() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fixture = SqlFixture::sqlite(&dir);
    let ledger = filled(fixture.store(), HashAlgorithm::Sm3, 10);
    reopened_log_continues(Sql(ledger, fixture), |Sql(ledger, fixture)| {
        drop(ledger);
        let store = fixture.store();
        Sql(
            Ledger::open(store, HashAlgorithm::Sm3).expect("reopen"),
            fixture,
        )
    });
}

#[test]
fn postgres_log_reopens_and_continues() {
    let Some(fixture) = SqlFixture::postgres("postgres_log_reopens_and_continues") else {
        return;
    };
    let ledger = filled(fixture.store(), HashAlgorithm::Sm3, 10);
    reopened_log_continues(Sql(ledger, fixture), |Sql(ledger, fixture)| {
        drop(ledger);
        let store = fixture.store();
        Sql(
            Ledger::open(store, HashAlgorithm::Sm3).expect("reopen"),
            fixture,
        )
    });
}

#[test]
fn consistency_proof_fails_for_a_rewritten_history() {
    for algorithm in HashAlgorithm::ALL {
        // The honest log, and an auditor's copy of its head at size 6.
        let mut honest = filled(MemoryStore::new(), algorithm, 6);
        let old_head = honest.head(Timestamp(1));
        let more: Vec<_> = (6..12).map(entry).collect();
        honest.append(&more).expect("append");
        let honest_head = honest.head(Timestamp(2));
        let proof = honest.prove_consistency(6, 12).expect("prove");
        assert!(proof.verify(&old_head, &honest_head));

        // A rewritten history: entry 3 changed, then the same growth, rebuilt from scratch.
        let mut forged = Ledger::open(MemoryStore::new(), algorithm).expect("open");
        let mut entries: Vec<_> = (0..12).map(entry).collect();
        entries[3].case = Some(999_999);
        forged.append(&entries).expect("append");
        let forged_head = forged.head(Timestamp(2));
        let forged_proof = forged.prove_consistency(6, 12).expect("prove");
        assert!(!forged_proof.verify(&old_head, &forged_head));
        // Nor does the honest proof bridge to the forged head.
        assert!(!proof.verify(&old_head, &forged_head));
    }
}

#[test]
fn a_concurrent_append_is_refused_not_merged() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fixture = SqlFixture::sqlite(&dir);
    let mut first = filled(fixture.store(), HashAlgorithm::Sm3, 3);
    let mut second = Ledger::open(fixture.store(), HashAlgorithm::Sm3).expect("open");
    first.append(&[entry(3)]).expect("append");
    let refused = second.append(&[entry(3)]);
    assert!(matches!(
        refused,
        Err(ledger::LedgerError::Store(ledger::StoreError::Conflict {
            start: 3,
            size: 4
        }))
    ));
}
