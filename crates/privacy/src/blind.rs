//! Blind indexes: a keyed HMAC-SM3 of a normalised value, stored beside the sealed value so
//! that an exact look-up (by ID number) needs no decryption and reveals nothing without the key.

use hmac::{Hmac, KeyInit, Mac};
use sm3::Sm3;
use std::fmt;
use zeroize::Zeroizing;

/// The 32-byte HMAC-SM3 of a normalised value under the blind-index key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlindIndex(pub [u8; 32]);

impl BlindIndex {
    /// The bytes, as stored.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Debug for BlindIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlindIndex({:02x}{:02x}…)", self.0[0], self.0[1])
    }
}

/// The secret key of the blind index; zeroized on drop.
pub(crate) struct BlindKey(Zeroizing<Vec<u8>>);

impl BlindKey {
    pub(crate) fn new(secret: &[u8]) -> BlindKey {
        BlindKey(Zeroizing::new(secret.to_vec()))
    }

    /// HMAC-SM3(key, field ‖ 0 ‖ value): the field name keeps indexes of different fields apart.
    pub(crate) fn index(&self, field: &str, normalised: &str) -> BlindIndex {
        let Ok(mut mac) = <Hmac<Sm3> as KeyInit>::new_from_slice(&self.0) else {
            // HMAC accepts keys of any length.
            return BlindIndex([0; 32]);
        };
        mac.update(field.as_bytes());
        mac.update(&[0]);
        mac.update(normalised.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(&mac.finalize().into_bytes());
        BlindIndex(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_and_field_separated() {
        let a = BlindKey::new(&[1; 32]);
        let b = BlindKey::new(&[2; 32]);
        let id = "11010519491231002X";
        assert_eq!(a.index("person_id", id), a.index("person_id", id));
        assert_ne!(a.index("person_id", id), b.index("person_id", id));
        assert_ne!(a.index("person_id", id), a.index("phone", id));
        assert!(!format!("{:?}", a.index("person_id", id)).contains(id));
    }

    /// SM3 known answer: the hash of "abc" from GB/T 32905-2016, Appendix A.
    #[test]
    fn sm3_matches_the_standard_example() {
        use sm3::Digest;
        let digest = Sm3::digest(b"abc");
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"
        );
    }
}
