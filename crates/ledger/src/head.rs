//! Tree heads and their signatures.
//!
//! A [`TreeHead`] commits to the whole log at one size: the size, the root hash and the time it
//! was taken (an argument; the library has no clock). A [`SignedTreeHead`] adds a signature by
//! the ledger's key — SM2 (GB/T 32918, with the standard default distinguishing identifier) by
//! default, Ed25519 as an option — and the public key, so an outside auditor can check it.
//! All types here serialise to JSON as they are, for the web API.
//!
//! The signed message is `"jiuzhu-ledger-tree-head" 0x01 || hash code (1 = SM3, 2 = SHA-256) ||
//! size (u64 BE) || timestamp (i64 BE, ms) || root (32 bytes)`.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::entry::Timestamp;
use crate::hash::{Digest, HashAlgorithm, hex_decode, hex_encode};

/// The SM2 distinguishing identifier: the default of GB/T 32918.2 (`1234567812345678`).
pub const SM2_DISTID: &str = "1234567812345678";

const SIGNING_CONTEXT: &[u8] = b"jiuzhu-ledger-tree-head\x01";

/// The signature scheme of a ledger key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SignatureAlgorithm {
    /// SM2 digital signatures (GB/T 32918.2) with SM3. The default.
    #[default]
    Sm2,
    /// Ed25519 (RFC 8032).
    Ed25519,
}

impl SignatureAlgorithm {
    /// Every algorithm.
    pub const ALL: [SignatureAlgorithm; 2] = [SignatureAlgorithm::Sm2, SignatureAlgorithm::Ed25519];

    /// The canonical lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureAlgorithm::Sm2 => "sm2",
            SignatureAlgorithm::Ed25519 => "ed25519",
        }
    }

    /// Parses a canonical name, case-insensitively.
    pub fn parse(text: &str) -> Option<SignatureAlgorithm> {
        SignatureAlgorithm::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(text))
    }
}

impl fmt::Display for SignatureAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The state of the log at one size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TreeHead {
    /// The hash function of the tree.
    pub hash_algorithm: HashAlgorithm,
    /// The number of entries covered.
    pub size: u64,
    /// MTH of those entries.
    pub root: Digest,
    /// When the head was taken.
    pub timestamp: Timestamp,
}

impl TreeHead {
    /// The bytes that are signed (see the module documentation).
    pub fn signed_message(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(SIGNING_CONTEXT.len() + 49);
        bytes.extend_from_slice(SIGNING_CONTEXT);
        bytes.push(match self.hash_algorithm {
            HashAlgorithm::Sm3 => 1,
            HashAlgorithm::Sha256 => 2,
        });
        bytes.extend_from_slice(&self.size.to_be_bytes());
        bytes.extend_from_slice(&self.timestamp.0.to_be_bytes());
        bytes.extend_from_slice(self.root.as_bytes());
        bytes
    }
}

/// Bytes that serialise as lower-case hex.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct HexBytes(pub Vec<u8>);

impl fmt::Debug for HexBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex_encode(&self.0))
    }
}

impl Serialize for HexBytes {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex_encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for HexBytes {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        hex_decode(&text)
            .map(HexBytes)
            .ok_or_else(|| serde::de::Error::custom("expected hex"))
    }
}

/// A public key that checks tree-head signatures.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PublicKey {
    /// The scheme.
    pub algorithm: SignatureAlgorithm,
    /// SEC1 uncompressed point for SM2, 32 bytes for Ed25519.
    pub key: HexBytes,
}

impl PublicKey {
    /// Whether `signature` is this key's signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        match self.algorithm {
            SignatureAlgorithm::Sm2 => {
                use sm2::dsa::signature::Verifier;
                let Ok(key) = sm2::dsa::VerifyingKey::from_sec1_bytes(SM2_DISTID, &self.key.0)
                else {
                    return false;
                };
                let Ok(signature) = sm2::dsa::Signature::from_slice(signature) else {
                    return false;
                };
                key.verify(message, &signature).is_ok()
            }
            SignatureAlgorithm::Ed25519 => {
                let Ok(bytes) = <[u8; 32]>::try_from(self.key.0.as_slice()) else {
                    return false;
                };
                let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&bytes) else {
                    return false;
                };
                let Ok(signature) = ed25519_dalek::Signature::from_slice(signature) else {
                    return false;
                };
                key.verify_strict(message, &signature).is_ok()
            }
        }
    }

    /// A short fingerprint for messages: the first 8 bytes of SM3 over the key, in hex.
    pub fn fingerprint(&self) -> String {
        let digest = HashAlgorithm::Sm3.hash(&self.key.0);
        hex_encode(&digest.as_bytes()[..8])
    }
}

/// A tree head with its signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedTreeHead {
    /// What is signed.
    #[serde(flatten)]
    pub head: TreeHead,
    /// The key that signed it.
    pub public_key: PublicKey,
    /// The signature over [`TreeHead::signed_message`].
    pub signature: HexBytes,
}

impl SignedTreeHead {
    /// Whether the signature is valid under the head's own public key. Whether that key is
    /// trusted is the caller's question (compare with [`SignedTreeHead::verify_with`]).
    pub fn signature_is_valid(&self) -> bool {
        self.public_key
            .verifies(&self.head.signed_message(), &self.signature.0)
    }

    /// Pretty JSON, as published to auditors and read back by [`SignedTreeHead::from_json`].
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads a head written by [`SignedTreeHead::to_json`].
    pub fn from_json(text: &str) -> Result<SignedTreeHead, FormatError> {
        Ok(serde_json::from_str(text)?)
    }

    /// Whether the head was signed by `trusted`.
    pub fn verify_with(&self, trusted: &PublicKey) -> bool {
        self.public_key == *trusted && self.signature_is_valid()
    }
}

/// Text that is not the JSON form of a ledger type.
#[derive(Debug, thiserror::Error)]
#[error("not a valid ledger document: {0}")]
pub struct FormatError(#[from] serde_json::Error);

/// Why a signing key could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The seed is not a valid secret scalar (SM2: zero or not below the group order); draw
    /// another seed.
    #[error("the seed is not a valid secret key; draw another")]
    InvalidSeed,
    /// The key file is not in the expected format.
    #[error("malformed key file: {0}")]
    Malformed(&'static str),
}

enum SecretKey {
    Sm2(Box<sm2::dsa::SigningKey>),
    Ed25519(Box<ed25519_dalek::SigningKey>),
}

/// The ledger's signing key. Kept in a file outside the database; never printed
/// (its `Debug` shows only the public fingerprint).
pub struct SigningKey {
    secret: SecretKey,
    seed: [u8; 32],
    public: PublicKey,
}

const KEY_FILE_HEADER: &str = "jiuzhu ledger signing key";

impl SigningKey {
    /// Makes a key from 32 secret random bytes (the caller draws them from the OS).
    pub fn from_seed(
        algorithm: SignatureAlgorithm,
        seed: [u8; 32],
    ) -> Result<SigningKey, KeyError> {
        let (secret, public) = match algorithm {
            SignatureAlgorithm::Sm2 => {
                let key = sm2::dsa::SigningKey::from_slice(SM2_DISTID, &seed)
                    .map_err(|_| KeyError::InvalidSeed)?;
                let public = key.verifying_key().to_sec1_bytes().to_vec();
                (SecretKey::Sm2(Box::new(key)), public)
            }
            SignatureAlgorithm::Ed25519 => {
                let key = ed25519_dalek::SigningKey::from_bytes(&seed);
                let public = key.verifying_key().to_bytes().to_vec();
                (SecretKey::Ed25519(Box::new(key)), public)
            }
        };
        Ok(SigningKey {
            secret,
            seed,
            public: PublicKey {
                algorithm,
                key: HexBytes(public),
            },
        })
    }

    /// The public half.
    pub fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// Signs a tree head.
    pub fn sign(&self, head: TreeHead) -> SignedTreeHead {
        let message = head.signed_message();
        let signature = match &self.secret {
            SecretKey::Sm2(key) => {
                use sm2::dsa::signature::Signer;
                let signature: sm2::dsa::Signature = key.sign(&message);
                signature.to_bytes().to_vec()
            }
            SecretKey::Ed25519(key) => {
                use ed25519_dalek::Signer;
                key.sign(&message).to_bytes().to_vec()
            }
        };
        SignedTreeHead {
            head,
            public_key: self.public.clone(),
            signature: HexBytes(signature),
        }
    }

    /// The key file text: a header line, `algorithm: …` and `secret: <hex>`.
    pub fn to_key_file(&self) -> String {
        format!(
            "{KEY_FILE_HEADER}\nalgorithm: {}\nsecret: {}\n",
            self.public.algorithm,
            hex_encode(&self.seed)
        )
    }

    /// Reads a key file written by [`SigningKey::to_key_file`].
    pub fn from_key_file(text: &str) -> Result<SigningKey, KeyError> {
        let mut lines = text.lines().map(str::trim).filter(|line| !line.is_empty());
        if lines.next() != Some(KEY_FILE_HEADER) {
            return Err(KeyError::Malformed("header"));
        }
        let algorithm = lines
            .next()
            .and_then(|line| line.strip_prefix("algorithm:"))
            .and_then(|value| SignatureAlgorithm::parse(value.trim()))
            .ok_or(KeyError::Malformed("algorithm"))?;
        let seed = lines
            .next()
            .and_then(|line| line.strip_prefix("secret:"))
            .and_then(|value| hex_decode(value.trim()))
            .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
            .ok_or(KeyError::Malformed("secret"))?;
        SigningKey::from_seed(algorithm, seed).map_err(|_| KeyError::Malformed("secret"))
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SigningKey({}, {})",
            self.public.algorithm,
            self.public.fingerprint()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head() -> TreeHead {
        TreeHead {
            hash_algorithm: HashAlgorithm::Sm3,
            size: 3,
            root: HashAlgorithm::Sm3.hash(b"root"),
            timestamp: Timestamp(1_764_300_000_000),
        }
    }

    #[test]
    fn signatures_verify_and_detect_changes() {
        for algorithm in SignatureAlgorithm::ALL {
            let key = SigningKey::from_seed(algorithm, [5; 32]).expect("valid seed");
            let signed = key.sign(head());
            assert!(signed.signature_is_valid(), "{algorithm}");
            assert!(signed.verify_with(key.public_key()));
            let mut changed = signed.clone();
            changed.head.size = 4;
            assert!(!changed.signature_is_valid());
            let other = SigningKey::from_seed(algorithm, [6; 32]).expect("valid seed");
            assert!(!signed.verify_with(other.public_key()));
        }
    }

    #[test]
    fn key_file_round_trips_and_debug_hides_the_secret() {
        let key = SigningKey::from_seed(SignatureAlgorithm::Sm2, [9; 32]).expect("valid seed");
        let text = key.to_key_file();
        let read = SigningKey::from_key_file(&text).expect("round trip");
        assert_eq!(read.public_key(), key.public_key());
        assert!(!format!("{key:?}").contains(&hex_encode(&[9; 32])));
        assert_eq!(
            SigningKey::from_key_file("nonsense").err(),
            Some(KeyError::Malformed("header"))
        );
    }

    #[test]
    fn sm2_rejects_out_of_range_seed() {
        assert_eq!(
            SigningKey::from_seed(SignatureAlgorithm::Sm2, [0; 32]).err(),
            Some(KeyError::InvalidSeed)
        );
        assert_eq!(
            SigningKey::from_seed(SignatureAlgorithm::Sm2, [0xff; 32]).err(),
            Some(KeyError::InvalidSeed)
        );
    }

    #[test]
    fn signed_head_serialises_to_json_and_back() {
        let key = SigningKey::from_seed(SignatureAlgorithm::Ed25519, [1; 32]).expect("valid seed");
        let signed = key.sign(head());
        let json = serde_json::to_string(&signed).expect("serialise");
        assert!(json.contains("\"size\":3"));
        let back: SignedTreeHead = serde_json::from_str(&json).expect("deserialise");
        assert_eq!(back, signed);
        assert!(back.signature_is_valid());
    }
}
