//! The RFC 9162 algorithms checked against the independent `ct-merkle` implementation
//! (SHA-256): the same roots, and proofs that verify across both, for many sizes.

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{ConsistencyProof as CtConsistency, InclusionProof as CtInclusion, RootHash};
use ledger::tree::{self, MemoryTree};
use ledger::{Digest, HashAlgorithm};
use sha2_legacy::Sha256;

const SIZES: u64 = 70;

fn leaf_data(i: u64) -> Vec<u8> {
    format!("synthetic leaf {i}").into_bytes()
}

fn both(n: u64) -> (MemoryTree, MemoryBackedTree<Sha256, Vec<u8>>) {
    let mut ours = MemoryTree::new(HashAlgorithm::Sha256);
    let mut theirs = MemoryBackedTree::<Sha256, Vec<u8>>::new();
    for i in 0..n {
        ours.push(HashAlgorithm::Sha256.leaf(&leaf_data(i)));
        theirs.push(leaf_data(i));
    }
    (ours, theirs)
}

fn legacy(path: &[Digest]) -> Vec<sha2_legacy::digest::Output<Sha256>> {
    path.iter().map(|d| d.0.into()).collect()
}

fn their_root(theirs: &MemoryBackedTree<Sha256, Vec<u8>>) -> Digest {
    Digest::from_slice(theirs.root().as_bytes()).expect("32 bytes")
}

#[test]
fn roots_agree_for_every_size() {
    for n in 1..=SIZES {
        let (mut ours, theirs) = both(n);
        assert_eq!(ours.root(), their_root(&theirs), "size {n}");
        assert_eq!(tree::subtree_root(&mut ours, 0, n), Ok(their_root(&theirs)));
    }
}

#[test]
fn inclusion_proofs_verify_across_implementations() {
    for n in 1..=SIZES {
        let (mut ours, theirs) = both(n);
        let root = ours.root();
        let their_root = theirs.root();
        for index in 0..n {
            // Ours → theirs.
            let path = tree::inclusion_path(&mut ours, index, n).expect("in tree");
            let proof = CtInclusion::<Sha256>::from_digests(&legacy(&path));
            assert!(
                their_root
                    .verify_inclusion(&leaf_data(index), index, &proof)
                    .is_ok(),
                "ours rejected by ct-merkle: size {n}, index {index}"
            );
            // Theirs → ours.
            let theirs_proof = theirs.prove_inclusion(index as usize);
            let path: Vec<Digest> = theirs_proof
                .as_bytes()
                .chunks(32)
                .map(|c| Digest::from_slice(c).expect("32 bytes"))
                .collect();
            let leaf = HashAlgorithm::Sha256.leaf(&leaf_data(index));
            assert!(
                tree::verify_inclusion(HashAlgorithm::Sha256, &leaf, index, n, &path, &root),
                "ct-merkle proof rejected: size {n}, index {index}"
            );
        }
    }
}

#[test]
fn consistency_proofs_verify_across_implementations() {
    for second in 1..=SIZES {
        let (mut ours, _) = both(second);
        let second_root = ours.root();
        for first in 1..second {
            let (_, old) = both(first);
            let (_, new) = both(second);
            let first_root = tree::subtree_root(&mut ours, 0, first).expect("in tree");
            // Ours → theirs.
            let path = tree::consistency_path(&mut ours, first, second).expect("in tree");
            let proof = CtConsistency::<Sha256>::from_digests(&legacy(&path));
            let old_root: RootHash<Sha256> = old.root();
            assert!(
                new.root().verify_consistency(&old_root, &proof).is_ok(),
                "ours rejected by ct-merkle: {first} → {second}"
            );
            // Theirs → ours.
            let theirs_proof = new.prove_consistency((second - first) as usize);
            let path: Vec<Digest> = theirs_proof
                .as_bytes()
                .chunks(32)
                .map(|c| Digest::from_slice(c).expect("32 bytes"))
                .collect();
            assert!(
                tree::verify_consistency(
                    HashAlgorithm::Sha256,
                    first,
                    second,
                    &first_root,
                    &second_root,
                    &path
                ),
                "ct-merkle proof rejected: {first} → {second}"
            );
        }
    }
}

#[test]
fn known_answer_roots() {
    // Leaves are the bytes 0x00, 0x01, … hashed as RFC 9162 leaves; roots for SHA-256 are those
    // of RFC 6962's reference test vectors (certificate-transparency-go, merkle tree tests).
    let leaves: Vec<Vec<u8>> = vec![
        vec![],
        vec![0x00],
        vec![0x10],
        vec![0x20, 0x21],
        vec![0x30, 0x31],
        vec![0x40, 0x41, 0x42, 0x43],
        vec![0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57],
        vec![
            0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d,
            0x6e, 0x6f,
        ],
    ];
    let expected = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    let mut tree = MemoryTree::new(HashAlgorithm::Sha256);
    for (leaf, root) in leaves.iter().zip(expected) {
        tree.push(HashAlgorithm::Sha256.leaf(leaf));
        assert_eq!(tree.root().to_hex(), root, "size {}", tree.size());
    }
}
