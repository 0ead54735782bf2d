//! The sealed-value format and the two AEAD algorithms.
//!
//! A sealed value is bytes:
//!
//! | offset | length | content |
//! |---|---|---|
//! | 0 | 1 | format version, `1` |
//! | 1 | 1 | algorithm: `1` SM4-GCM, `2` AES-256-GCM |
//! | 2 | 4 | data key id, big-endian |
//! | 6 | 12 | random nonce |
//! | 18 | n + 16 | ciphertext and 16-byte GCM tag |
//!
//! The associated data is the 6-byte header, the field name, a zero byte and the record key:
//! a value copied to another field, another record, or relabelled with another key id fails
//! authentication. SM4-GCM is GCM (NIST SP 800-38D) over the SM4 block cipher, as in
//! RFC 8998; both algorithms use 96-bit nonces drawn from the operating system's CSPRNG.

use crate::PrivacyError;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::aes::Aes256;
use aes_gcm::aes::cipher::consts::U12;
use aes_gcm::{AesGcm, Nonce};
use rand::RngCore;
use sm4::Sm4;
use zeroize::Zeroizing;

/// The current format version.
pub const VERSION: u8 = 1;
/// Bytes before the ciphertext: version, algorithm, key id, nonce.
pub const HEADER_LEN: usize = 6 + NONCE_LEN;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// An authenticated encryption algorithm for field values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Algorithm {
    /// SM4 (GB/T 32907-2016) in Galois/Counter Mode, 128-bit key: the default.
    #[default]
    Sm4Gcm,
    /// AES-256 in Galois/Counter Mode.
    Aes256Gcm,
}

impl Algorithm {
    /// Every algorithm.
    pub const ALL: [Algorithm; 2] = [Algorithm::Sm4Gcm, Algorithm::Aes256Gcm];

    /// The canonical name: `sm4-gcm` or `aes-256-gcm`.
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Sm4Gcm => "sm4-gcm",
            Algorithm::Aes256Gcm => "aes-256-gcm",
        }
    }

    /// Parses a canonical name (case-insensitive).
    pub fn parse(text: &str) -> Option<Algorithm> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(text.trim()))
    }

    /// The byte written in sealed values.
    pub fn code(self) -> u8 {
        match self {
            Algorithm::Sm4Gcm => 1,
            Algorithm::Aes256Gcm => 2,
        }
    }

    /// The algorithm of a format byte.
    pub fn from_code(code: u8) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.code() == code)
    }

    /// Key length in bytes: 16 for SM4, 32 for AES-256.
    pub fn key_len(self) -> usize {
        match self {
            Algorithm::Sm4Gcm => 16,
            Algorithm::Aes256Gcm => 32,
        }
    }
}

type Sm4Gcm = AesGcm<Sm4, U12>;
type Aes256Gcm = AesGcm<Aes256, U12>;

enum Engine {
    Sm4(Box<Sm4Gcm>),
    Aes(Box<Aes256Gcm>),
}

/// One data key ready to seal and open values. The key schedule is zeroized on drop.
pub struct FieldCipher {
    id: u32,
    algorithm: Algorithm,
    engine: Engine,
}

impl FieldCipher {
    /// A cipher for a key of the algorithm's length.
    pub fn new(id: u32, algorithm: Algorithm, key: &[u8]) -> Result<FieldCipher, PrivacyError> {
        if key.len() != algorithm.key_len() {
            return Err(PrivacyError::Format);
        }
        let engine = match algorithm {
            Algorithm::Sm4Gcm => Engine::Sm4(Box::new(
                Sm4Gcm::new_from_slice(key).map_err(|_| PrivacyError::Format)?,
            )),
            Algorithm::Aes256Gcm => Engine::Aes(Box::new(
                Aes256Gcm::new_from_slice(key).map_err(|_| PrivacyError::Format)?,
            )),
        };
        Ok(FieldCipher {
            id,
            algorithm,
            engine,
        })
    }

    /// The data key id written into sealed values.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// Seals `plaintext` for `field` of `record` with a fresh random nonce.
    pub fn seal(&self, field: &str, record: &str, plaintext: &[u8]) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        self.seal_with_nonce(field, record, plaintext, nonce)
    }

    fn seal_with_nonce(
        &self,
        field: &str,
        record: &str,
        plaintext: &[u8],
        nonce: [u8; NONCE_LEN],
    ) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
        out.push(VERSION);
        out.push(self.algorithm.code());
        out.extend_from_slice(&self.id.to_be_bytes());
        let aad = associated_data(&out, field, record);
        out.extend_from_slice(&nonce);
        let payload = Payload {
            msg: plaintext,
            aad: &aad,
        };
        let nonce = Nonce::<U12>::from(nonce);
        // GCM encryption fails only beyond 2^36 bytes, which no field value reaches.
        let sealed = match &self.engine {
            Engine::Sm4(c) => c.encrypt(&nonce, payload),
            Engine::Aes(c) => c.encrypt(&nonce, payload),
        }
        .unwrap_or_default();
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens a sealed value written by this key for `field` of `record`.
    pub fn open(
        &self,
        field: &str,
        record: &str,
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, PrivacyError> {
        let header = Header::read(sealed)?;
        if header.key_id != self.id || header.algorithm != self.algorithm {
            return Err(PrivacyError::Authentication);
        }
        let aad = associated_data(&sealed[..6], field, record);
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&sealed[6..HEADER_LEN]);
        let nonce = Nonce::<U12>::from(nonce);
        let payload = Payload {
            msg: &sealed[HEADER_LEN..],
            aad: &aad,
        };
        match &self.engine {
            Engine::Sm4(c) => c.decrypt(&nonce, payload),
            Engine::Aes(c) => c.decrypt(&nonce, payload),
        }
        .map(Zeroizing::new)
        .map_err(|_| PrivacyError::Authentication)
    }
}

/// The clear header of a sealed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The algorithm that sealed it.
    pub algorithm: Algorithm,
    /// The id of the data key that sealed it.
    pub key_id: u32,
}

impl Header {
    /// Reads the header of a sealed value, checking its version and minimum length.
    pub fn read(sealed: &[u8]) -> Result<Header, PrivacyError> {
        if sealed.len() < HEADER_LEN + TAG_LEN || sealed[0] != VERSION {
            return Err(PrivacyError::Format);
        }
        let algorithm = Algorithm::from_code(sealed[1]).ok_or(PrivacyError::Format)?;
        let key_id = u32::from_be_bytes([sealed[2], sealed[3], sealed[4], sealed[5]]);
        Ok(Header { algorithm, key_id })
    }
}

fn associated_data(header: &[u8], field: &str, record: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(header.len() + field.len() + 1 + record.len());
    aad.extend_from_slice(header);
    aad.extend_from_slice(field.as_bytes());
    aad.push(0);
    aad.extend_from_slice(record.as_bytes());
    aad
}

#[cfg(test)]
mod tests {
    use super::*;
    use sm4::cipher::{Array, BlockCipherEncrypt};

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap_or(0))
            .collect()
    }

    /// GB/T 32907-2016, Appendix A, example 1: key = plaintext = 0123456789abcdeffedcba9876543210.
    #[test]
    fn sm4_matches_the_standard_example() {
        let key = hex("0123456789abcdeffedcba9876543210");
        let cipher = Sm4::new_from_slice(&key).expect("16-byte key");
        let mut block = Array::try_from(key.as_slice()).expect("16 bytes");
        cipher.encrypt_block(&mut block);
        assert_eq!(block.as_slice(), hex("681edf34d206965e86b3e94f536e4246"));
    }

    /// GB/T 32907-2016, Appendix A, example 2: the same block encrypted 1,000,000 times.
    #[test]
    fn sm4_matches_the_standard_million_round_example() {
        let key = hex("0123456789abcdeffedcba9876543210");
        let cipher = Sm4::new_from_slice(&key).expect("16-byte key");
        let mut block = Array::try_from(key.as_slice()).expect("16 bytes");
        for _ in 0..1_000_000 {
            cipher.encrypt_block(&mut block);
        }
        assert_eq!(block.as_slice(), hex("595298c7c6fd271f0402f804c33d3f66"));
    }

    /// RFC 8998 Appendix A.1 (SM4-GCM test vector).
    #[test]
    fn sm4_gcm_matches_rfc_8998() {
        let key = hex("0123456789ABCDEFFEDCBA9876543210");
        let nonce: [u8; 12] = hex("00001234567800000000ABCD")
            .try_into()
            .expect("12 bytes");
        let aad = hex("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2");
        let plaintext = hex(concat!(
            "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB",
            "CCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD",
            "EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFF",
            "EEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA"
        ));
        let expected = hex(concat!(
            "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735",
            "D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D",
            "83DE3541E4C2B58177E065A9BF7B62EC",
            "83DE3541E4C2B58177E065A9BF7B62EC"
        ));
        let cipher = Sm4Gcm::new_from_slice(&key).expect("16-byte key");
        let sealed = cipher
            .encrypt(
                &Nonce::<U12>::from(nonce),
                Payload {
                    msg: &plaintext,
                    aad: &aad,
                },
            )
            .expect("encrypts");
        // Ciphertext (64 bytes) then tag 83DE3541E4C2B58177E065A9BF7B62EC.
        assert_eq!(&sealed[..64], &expected[..64]);
        assert_eq!(&sealed[sealed.len() - 16..], &expected[64..80]);
    }

    #[test]
    fn round_trip_both_algorithms() {
        for algorithm in Algorithm::ALL {
            let key = vec![7u8; algorithm.key_len()];
            let c = FieldCipher::new(3, algorithm, &key).expect("key of the right length");
            let sealed = c.seal("name", "p:42", "张三".as_bytes());
            assert_eq!(
                Header::read(&sealed),
                Ok(Header {
                    algorithm,
                    key_id: 3
                })
            );
            assert_eq!(
                c.open("name", "p:42", &sealed).expect("opens").as_slice(),
                "张三".as_bytes()
            );
            // Random nonces: sealing twice gives different bytes.
            assert_ne!(sealed, c.seal("name", "p:42", "张三".as_bytes()));
        }
    }

    #[test]
    fn wrong_field_record_key_or_tamper_fails() {
        let c = FieldCipher::new(1, Algorithm::Sm4Gcm, &[1u8; 16]).expect("key");
        let other = FieldCipher::new(1, Algorithm::Sm4Gcm, &[2u8; 16]).expect("key");
        let sealed = c.seal("name", "p:1", b"secret");
        assert_eq!(
            c.open("address", "p:1", &sealed),
            Err(PrivacyError::Authentication)
        );
        assert_eq!(
            c.open("name", "p:2", &sealed),
            Err(PrivacyError::Authentication)
        );
        assert_eq!(
            other.open("name", "p:1", &sealed),
            Err(PrivacyError::Authentication)
        );
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(
            c.open("name", "p:1", &tampered),
            Err(PrivacyError::Authentication)
        );
        assert_eq!(
            c.open("name", "p:1", &sealed[..10]),
            Err(PrivacyError::Format)
        );
        assert!(FieldCipher::new(1, Algorithm::Aes256Gcm, &[0u8; 16]).is_err());
    }
}
