//! Hash algorithms and the RFC 9162 §2.1.1 domain-separated leaf and node hashes.
//!
//! A leaf hash is `HASH(0x00 || leaf)`, an interior node is `HASH(0x01 || left || right)`. The
//! prefixes make a leaf impossible to pass off as a node (second-preimage resistance of the tree).
//! SM3 (GB/T 32905) is the default; SHA-256 is available for interoperability.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The byte that prefixes a leaf before hashing (RFC 9162 §2.1.1).
pub const LEAF_PREFIX: u8 = 0x00;
/// The byte that prefixes two child hashes before hashing (RFC 9162 §2.1.1).
pub const NODE_PREFIX: u8 = 0x01;

/// The hash function of a log. Both produce 32-byte digests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum HashAlgorithm {
    /// SM3, the national standard hash (GB/T 32905-2016). The default.
    #[default]
    Sm3,
    /// SHA-256 (FIPS 180-4).
    Sha256,
}

impl HashAlgorithm {
    /// Every algorithm, for tests and help texts.
    pub const ALL: [HashAlgorithm; 2] = [HashAlgorithm::Sm3, HashAlgorithm::Sha256];

    /// The canonical lower-case name (`sm3`, `sha256`).
    pub fn as_str(self) -> &'static str {
        match self {
            HashAlgorithm::Sm3 => "sm3",
            HashAlgorithm::Sha256 => "sha256",
        }
    }

    /// Parses a name as written by [`HashAlgorithm::as_str`] (case-insensitive; `sha-256` too).
    pub fn parse(text: &str) -> Option<HashAlgorithm> {
        match text.to_ascii_lowercase().as_str() {
            "sm3" => Some(HashAlgorithm::Sm3),
            "sha256" | "sha-256" => Some(HashAlgorithm::Sha256),
            _ => None,
        }
    }

    /// Hashes the concatenation of `parts`.
    pub fn hash_parts(self, parts: &[&[u8]]) -> Digest {
        use sha2::Digest as _;
        let bytes: [u8; 32] = match self {
            HashAlgorithm::Sm3 => {
                let mut hasher = sm3::Sm3::new();
                for part in parts {
                    hasher.update(part);
                }
                hasher.finalize().into()
            }
            HashAlgorithm::Sha256 => {
                let mut hasher = sha2::Sha256::new();
                for part in parts {
                    hasher.update(part);
                }
                hasher.finalize().into()
            }
        };
        Digest(bytes)
    }

    /// `HASH(data)`, e.g. of the data an audited action touched.
    pub fn hash(self, data: &[u8]) -> Digest {
        self.hash_parts(&[data])
    }

    /// The Merkle tree hash of the empty list: `HASH()` (RFC 9162 §2.1.1).
    pub fn empty_root(self) -> Digest {
        self.hash_parts(&[])
    }

    /// The leaf hash `HASH(0x00 || leaf)`.
    pub fn leaf(self, leaf: &[u8]) -> Digest {
        self.hash_parts(&[&[LEAF_PREFIX], leaf])
    }

    /// The interior node hash `HASH(0x01 || left || right)`.
    pub fn node(self, left: &Digest, right: &Digest) -> Digest {
        self.hash_parts(&[&[NODE_PREFIX], &left.0, &right.0])
    }
}

impl fmt::Display for HashAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A 32-byte digest. Serialises as lower-case hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Takes a digest from a 32-byte slice; `None` for any other length.
    pub fn from_slice(bytes: &[u8]) -> Option<Digest> {
        <[u8; 32]>::try_from(bytes).ok().map(Digest)
    }

    /// Lower-case hex, 64 characters.
    pub fn to_hex(&self) -> String {
        hex_encode(&self.0)
    }

    /// Parses 64 hex characters (either case).
    pub fn from_hex(text: &str) -> Option<Digest> {
        hex_decode(text).and_then(|bytes| Digest::from_slice(&bytes))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.to_hex())
    }
}

impl Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Digest::from_hex(&text).ok_or_else(|| serde::de::Error::custom("expected 64 hex digits"))
    }
}

/// Lower-case hex of `bytes`.
pub fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

/// Decodes hex (either case); `None` on an odd length or a non-hex character.
pub fn hex_decode(text: &str) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers_for_empty_input() {
        // GB/T 32905 and FIPS 180-4 digests of the empty string.
        assert_eq!(
            HashAlgorithm::Sm3.empty_root().to_hex(),
            "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"
        );
        assert_eq!(
            HashAlgorithm::Sha256.empty_root().to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn sm3_known_answer_abc() {
        // GB/T 32905-2016 Appendix A, example 1.
        assert_eq!(
            HashAlgorithm::Sm3.hash(b"abc").to_hex(),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
    }

    #[test]
    fn leaf_and_node_are_domain_separated() {
        for algorithm in HashAlgorithm::ALL {
            let a = algorithm.hash(b"a");
            let leaf = algorithm.leaf(&[a.0, a.0].concat());
            let node = algorithm.node(&a, &a);
            assert_ne!(leaf, node);
            assert_eq!(node, algorithm.hash_parts(&[&[1], &a.0, &a.0]));
        }
    }

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        let digest = HashAlgorithm::Sha256.hash(b"x");
        assert_eq!(Digest::from_hex(&digest.to_hex()), Some(digest));
        assert_eq!(
            Digest::from_hex(&digest.to_hex().to_uppercase()),
            Some(digest)
        );
        assert_eq!(Digest::from_hex("zz"), None);
        assert_eq!(Digest::from_hex("abc"), None);
        assert_eq!(Digest::from_hex("00"), None);
    }
}
