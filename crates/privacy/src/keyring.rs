//! Key handling: the key-encryption key, per-purpose data keys, wrapping and rotation.
//!
//! The key-encryption key ([`Kek`], 32 bytes) never enters the database: the binary reads it
//! from a key file or an environment variable. Data keys are random; each is stored only
//! wrapped (sealed under a key derived from the KEK, with its id and purpose as associated
//! data). Rotating a data key adds a key with a higher id that seals new values while older
//! keys keep opening older values; rotating the KEK rewraps the data keys and touches no
//! personal data.

use crate::PrivacyError;
use crate::blind::{BlindIndex, BlindKey};
use crate::revealed::Revealed;
use crate::sealed::{Algorithm, FieldCipher, Header};
use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use sm3::Sm3;
use std::collections::BTreeMap;
use std::fmt;
use zeroize::{Zeroize, Zeroizing};

/// The key-encryption key: 32 secret bytes held outside the database. Zeroized on drop.
pub struct Kek(Zeroizing<[u8; 32]>);

impl Kek {
    /// A KEK from 32 raw bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Kek, PrivacyError> {
        let array: [u8; 32] = bytes.try_into().map_err(|_| PrivacyError::BadKek)?;
        Ok(Kek(Zeroizing::new(array)))
    }

    /// A KEK from 64 hexadecimal characters (surrounding white space ignored), the form of a
    /// key file or of the `JIUZHU_KEY` variable.
    pub fn from_hex(text: &str) -> Result<Kek, PrivacyError> {
        let text = text.trim();
        if text.len() != 64 || !text.is_ascii() {
            return Err(PrivacyError::BadKek);
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16)
                .map_err(|_| PrivacyError::BadKek)?;
        }
        Ok(Kek(bytes))
    }

    /// A fresh random KEK.
    pub fn generate() -> Kek {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(bytes.as_mut());
        Kek(bytes)
    }

    /// The 64 hexadecimal characters of this KEK, for writing a new key file.
    pub fn to_hex(&self) -> Zeroizing<String> {
        let mut out = Zeroizing::new(String::with_capacity(64));
        for b in self.0.iter() {
            out.push_str(&format!("{b:02x}"));
        }
        out
    }

    /// The cipher that wraps data keys: a 32-byte key derived with HMAC-SM3 from the KEK.
    fn wrapping_cipher(&self, algorithm: Algorithm) -> Result<FieldCipher, PrivacyError> {
        let mut mac = <Hmac<Sm3> as KeyInit>::new_from_slice(self.0.as_ref())
            .map_err(|_| PrivacyError::BadKek)?;
        mac.update(b"jiuzhu/kek/wrap/v1");
        let mut derived = Zeroizing::new([0u8; 32]);
        derived.copy_from_slice(&mac.finalize().into_bytes());
        FieldCipher::new(0, algorithm, &derived[..algorithm.key_len()])
    }
}

impl fmt::Debug for Kek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Kek(***)")
    }
}

/// What a data key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Purpose {
    /// Encrypting personal fields.
    Field,
    /// Keying the blind index (HMAC-SM3).
    BlindIndex,
}

impl Purpose {
    /// The canonical name: `field` or `blind_index`.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Field => "field",
            Purpose::BlindIndex => "blind_index",
        }
    }

    /// Parses a canonical name.
    pub fn parse(text: &str) -> Option<Purpose> {
        [Purpose::Field, Purpose::BlindIndex]
            .into_iter()
            .find(|p| p.as_str() == text)
    }
}

/// A data key as stored: id, purpose, algorithm, and the key sealed under the KEK.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKey {
    /// Unique id; a higher id is a newer key.
    pub id: u32,
    /// What the key is for.
    pub purpose: Purpose,
    /// For field keys, the algorithm values are sealed with; blind-index keys record the
    /// algorithm that wrapped them.
    pub algorithm: Algorithm,
    /// The key bytes sealed under the KEK (sealed format of [`crate::sealed`]).
    pub wrapped: Vec<u8>,
}

impl fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WrappedKey")
            .field("id", &self.id)
            .field("purpose", &self.purpose)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

struct DataKey {
    purpose: Purpose,
    algorithm: Algorithm,
    secret: Zeroizing<Vec<u8>>,
}

impl DataKey {
    fn wrap(&self, id: u32, kek: &Kek) -> Result<WrappedKey, PrivacyError> {
        let cipher = kek.wrapping_cipher(self.algorithm)?;
        Ok(WrappedKey {
            id,
            purpose: self.purpose,
            algorithm: self.algorithm,
            wrapped: cipher.seal(WRAP_FIELD, &wrap_record(id, self.purpose), &self.secret),
        })
    }
}

const WRAP_FIELD: &str = "data_key";

fn wrap_record(id: u32, purpose: Purpose) -> String {
    format!("{}:{id}", purpose.as_str())
}

/// The unwrapped data keys of one database: seals and opens personal fields with the newest
/// field key (and any older one), and computes blind indexes.
pub struct Keyring {
    keys: BTreeMap<u32, DataKey>,
    ciphers: BTreeMap<u32, FieldCipher>,
    active_field: u32,
    blind: Option<(u32, BlindKey)>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring")
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .field("active_field", &self.active_field)
            .finish_non_exhaustive()
    }
}

impl Keyring {
    /// A new keyring with one field key of `algorithm` (id 1) and one blind-index key (id 2),
    /// and their wrapped forms to store.
    pub fn create(
        kek: &Kek,
        algorithm: Algorithm,
    ) -> Result<(Keyring, Vec<WrappedKey>), PrivacyError> {
        let mut ring = Keyring {
            keys: BTreeMap::new(),
            ciphers: BTreeMap::new(),
            active_field: 0,
            blind: None,
        };
        let field = ring.add_key(kek, 1, Purpose::Field, algorithm)?;
        let blind = ring.add_key(kek, 2, Purpose::BlindIndex, algorithm)?;
        Ok((ring, vec![field, blind]))
    }

    /// Unwraps stored data keys with the KEK. The field key with the highest id seals new
    /// values; the blind-index key with the highest id computes indexes.
    pub fn open(kek: &Kek, wrapped: &[WrappedKey]) -> Result<Keyring, PrivacyError> {
        let mut ring = Keyring {
            keys: BTreeMap::new(),
            ciphers: BTreeMap::new(),
            active_field: 0,
            blind: None,
        };
        let mut sorted: Vec<&WrappedKey> = wrapped.iter().collect();
        sorted.sort_by_key(|w| w.id);
        for w in sorted {
            let cipher = kek.wrapping_cipher(w.algorithm)?;
            let secret = cipher
                .open(WRAP_FIELD, &wrap_record(w.id, w.purpose), &w.wrapped)
                .map_err(|_| PrivacyError::WrongKek(w.id))?;
            ring.insert(
                w.id,
                DataKey {
                    purpose: w.purpose,
                    algorithm: w.algorithm,
                    secret,
                },
            )?;
        }
        if ring.active_field == 0 {
            return Err(PrivacyError::MissingKey("field"));
        }
        if ring.blind.is_none() {
            return Err(PrivacyError::MissingKey("blind index"));
        }
        Ok(ring)
    }

    /// Adds a new field key of `algorithm` with the next id; it seals every value from now
    /// on. Returns its wrapped form to store. Older values still open.
    pub fn rotate_field_key(
        &mut self,
        kek: &Kek,
        algorithm: Algorithm,
    ) -> Result<WrappedKey, PrivacyError> {
        let id = self.keys.keys().next_back().copied().unwrap_or(0) + 1;
        self.add_key(kek, id, Purpose::Field, algorithm)
    }

    /// Every data key wrapped under `new_kek`, for rotating the KEK.
    pub fn rewrap(&self, new_kek: &Kek) -> Result<Vec<WrappedKey>, PrivacyError> {
        self.keys
            .iter()
            .map(|(id, key)| key.wrap(*id, new_kek))
            .collect()
    }

    /// The highest key id held (of any purpose): a newer stored key means a rotation happened.
    pub fn newest_key(&self) -> u32 {
        self.keys.keys().next_back().copied().unwrap_or(0)
    }

    /// The id of the field key that seals new values.
    pub fn active_field_key(&self) -> u32 {
        self.active_field
    }

    /// Seals a personal value of `field` (e.g. `name`) of the record `record` (e.g. the
    /// person's row key) with the active field key.
    pub fn seal(&self, field: &str, record: &str, plaintext: &str) -> Vec<u8> {
        match self.ciphers.get(&self.active_field) {
            Some(cipher) => cipher.seal(field, record, plaintext.as_bytes()),
            // `open` and `create` guarantee an active field key.
            None => Vec::new(),
        }
    }

    /// Opens a sealed personal value of `field` of `record`, with whichever key sealed it.
    pub fn open_text(
        &self,
        field: &str,
        record: &str,
        sealed: &[u8],
    ) -> Result<Revealed, PrivacyError> {
        let header = Header::read(sealed)?;
        let cipher = self
            .ciphers
            .get(&header.key_id)
            .ok_or(PrivacyError::UnknownKey(header.key_id))?;
        let plain = cipher.open(field, record, sealed)?;
        let text = std::str::from_utf8(&plain).map_err(|_| PrivacyError::NotText)?;
        Ok(Revealed::new(text.to_string()))
    }

    /// Whether a sealed value was sealed by an older key than the active one (a candidate for
    /// re-encryption after a rotation).
    pub fn is_stale(&self, sealed: &[u8]) -> bool {
        Header::read(sealed).is_ok_and(|h| h.key_id != self.active_field)
    }

    /// The blind index of a normalised value of `field`, for exact look-up.
    pub fn blind_index(&self, field: &str, normalised: &str) -> BlindIndex {
        match &self.blind {
            Some((_, key)) => key.index(field, normalised),
            None => BlindIndex([0; 32]),
        }
    }

    /// The blind index of a resident ID number (its canonical 18 characters, upper-case `X`).
    pub fn blind_id(&self, id: &domain::ResidentId) -> BlindIndex {
        self.blind_index("person_id", id.as_str())
    }

    fn add_key(
        &mut self,
        kek: &Kek,
        id: u32,
        purpose: Purpose,
        algorithm: Algorithm,
    ) -> Result<WrappedKey, PrivacyError> {
        let len = match purpose {
            Purpose::Field => algorithm.key_len(),
            Purpose::BlindIndex => 32,
        };
        let mut secret = Zeroizing::new(vec![0u8; len]);
        rand::rng().fill_bytes(&mut secret);
        let key = DataKey {
            purpose,
            algorithm,
            secret,
        };
        let wrapped = key.wrap(id, kek)?;
        self.insert(id, key)?;
        Ok(wrapped)
    }

    fn insert(&mut self, id: u32, key: DataKey) -> Result<(), PrivacyError> {
        match key.purpose {
            Purpose::Field => {
                self.ciphers
                    .insert(id, FieldCipher::new(id, key.algorithm, &key.secret)?);
                self.active_field = self.active_field.max(id);
            }
            Purpose::BlindIndex => {
                if self.blind.as_ref().is_none_or(|(old, _)| *old < id) {
                    self.blind = Some((id, BlindKey::new(&key.secret)));
                }
            }
        }
        self.keys.insert(id, key);
        Ok(())
    }
}

impl Drop for DataKey {
    fn drop(&mut self) {
        self.secret.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kek_parsing() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        assert!(Kek::from_hex(hex).is_ok());
        assert!(Kek::from_hex(&format!(" {hex}\n")).is_ok());
        assert_eq!(
            Kek::from_hex(&hex[..62]).map(|_| ()),
            Err(PrivacyError::BadKek)
        );
        assert_eq!(
            Kek::from_hex(&hex.replace('a', "g")).map(|_| ()),
            Err(PrivacyError::BadKek)
        );
        let k = Kek::from_hex(hex).expect("valid");
        assert_eq!(k.to_hex().as_str(), hex);
        assert_eq!(format!("{k:?}"), "Kek(***)");
    }

    #[test]
    fn create_open_round_trip_and_wrong_kek() {
        for algorithm in Algorithm::ALL {
            let kek = Kek::generate();
            let (ring, wrapped) = Keyring::create(&kek, algorithm).expect("creates");
            let sealed = ring.seal("name", "p:1", "王小明");
            let reopened = Keyring::open(&kek, &wrapped).expect("opens");
            assert_eq!(
                reopened
                    .open_text("name", "p:1", &sealed)
                    .expect("opens")
                    .expose(),
                "王小明"
            );
            assert_eq!(
                ring.blind_index("person_id", "X"),
                reopened.blind_index("person_id", "X")
            );
            let other = Kek::generate();
            assert_eq!(
                Keyring::open(&other, &wrapped).map(|_| ()),
                Err(PrivacyError::WrongKek(1))
            );
        }
    }

    #[test]
    fn rotation_keeps_old_values_readable() {
        let kek = Kek::generate();
        let (mut ring, mut wrapped) = Keyring::create(&kek, Algorithm::Sm4Gcm).expect("creates");
        let old = ring.seal("address", "p:7", "示范市和平区幸福路1号");
        wrapped.push(
            ring.rotate_field_key(&kek, Algorithm::Aes256Gcm)
                .expect("rotates"),
        );
        assert_eq!(ring.active_field_key(), 3);
        let new = ring.seal("address", "p:7", "示范市和平区幸福路2号");
        assert!(ring.is_stale(&old));
        assert!(!ring.is_stale(&new));
        assert_eq!(
            Header::read(&new).map(|h| h.algorithm),
            Ok(Algorithm::Aes256Gcm)
        );

        // KEK rotation: rewrap, then only the new KEK opens the keys.
        let new_kek = Kek::generate();
        let rewrapped = ring.rewrap(&new_kek).expect("rewraps");
        assert!(Keyring::open(&kek, &rewrapped).is_err());
        let ring2 = Keyring::open(&new_kek, &rewrapped).expect("opens");
        assert_eq!(ring2.active_field_key(), 3);
        for (sealed, plain) in [
            (&old, "示范市和平区幸福路1号"),
            (&new, "示范市和平区幸福路2号"),
        ] {
            assert_eq!(
                ring2
                    .open_text("address", "p:7", sealed)
                    .expect("opens")
                    .expose(),
                plain
            );
        }
    }

    #[test]
    fn a_wrapped_key_relabelled_does_not_unwrap() {
        let kek = Kek::generate();
        let (_, mut wrapped) = Keyring::create(&kek, Algorithm::Sm4Gcm).expect("creates");
        wrapped[0].purpose = Purpose::BlindIndex;
        assert!(Keyring::open(&kek, &wrapped).is_err());
    }

    #[test]
    fn missing_keys_are_reported() {
        let kek = Kek::generate();
        let (_, wrapped) = Keyring::create(&kek, Algorithm::Sm4Gcm).expect("creates");
        assert_eq!(
            Keyring::open(&kek, &wrapped[1..]).map(|_| ()),
            Err(PrivacyError::MissingKey("field"))
        );
        assert_eq!(
            Keyring::open(&kek, &wrapped[..1]).map(|_| ()),
            Err(PrivacyError::MissingKey("blind index"))
        );
    }
}
