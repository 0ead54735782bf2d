//! Protection of personal data at rest and on screen.
//!
//! - [`Keyring`]: per-purpose data keys (field encryption, blind index) wrapped by a
//!   key-encryption key ([`Kek`]) that lives outside the database; the binary reads the KEK
//!   from a file or an environment variable and hands this crate the bytes.
//! - Field encryption: SM4-GCM by default (GB/T 32907 block cipher in Galois/Counter Mode),
//!   AES-256-GCM selectable; a random nonce per value; the field name and the record key are
//!   associated data, so a ciphertext moved to another field or record does not decrypt. The
//!   sealed format is versioned and names its key, so keys rotate without downtime
//!   (see [`sealed`]).
//! - [`BlindIndex`]: a keyed HMAC-SM3 of a normalised value for exact look-up (ID numbers).
//! - [`mask`]: the masked forms shown on screens and in exports.
//! - [`password`]: Argon2id password hashes and session tokens.
//!
//! The crate knows nothing of the database: it takes and returns bytes. Keys are zeroized when
//! dropped, and no error message carries a plaintext.

pub mod blind;
pub mod keyring;
pub mod mask;
pub mod password;
pub mod revealed;
pub mod sealed;

pub use blind::BlindIndex;
pub use keyring::{Kek, Keyring, Purpose, WrappedKey};
pub use revealed::Revealed;
pub use sealed::Algorithm;

/// Why a privacy operation failed. No variant carries a plaintext value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrivacyError {
    /// A key-encryption key of the wrong length or encoding.
    #[error("the key-encryption key must be 32 bytes (64 hexadecimal characters)")]
    BadKek,
    /// A wrapped data key did not unwrap: the key-encryption key is not the one it was wrapped
    /// with, or the stored key was altered.
    #[error("data key {0} does not unwrap with this key-encryption key")]
    WrongKek(u32),
    /// A sealed value names a key this keyring does not hold.
    #[error("no data key with id {0}")]
    UnknownKey(u32),
    /// The keyring holds no key for this purpose.
    #[error("the keyring has no {0} key")]
    MissingKey(&'static str),
    /// A sealed value is too short or of an unknown version or algorithm.
    #[error("not a sealed value of a known format")]
    Format,
    /// Authentication failed: wrong key, wrong field or record, or altered ciphertext.
    #[error("the sealed value does not authenticate (wrong key, field or record, or altered)")]
    Authentication,
    /// A decrypted value is not UTF-8 text.
    #[error("a decrypted value is not UTF-8 text")]
    NotText,
    /// The password hashing library refused its input or parameters.
    #[error("password hashing failed")]
    PasswordHash,
}
