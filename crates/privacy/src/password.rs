//! Password hashes (Argon2id, PHC strings) and session tokens.
//!
//! A session token is 32 random bytes shown to the browser once as 64 hexadecimal
//! characters; the database keeps only its SM3 hash, so a copy of the database opens no
//! session.

use crate::PrivacyError;
use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use rand::RngCore;
use sm3::{Digest, Sm3};
use std::fmt;
use zeroize::Zeroizing;

/// Hashes a password with Argon2id (default parameters, random salt) into a PHC string
/// (`$argon2id$v=19$…`).
pub fn hash(password: &str) -> Result<String, PrivacyError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|_| PrivacyError::PasswordHash)
}

/// Whether `password` matches a PHC string made by [`hash`]. A malformed hash never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// A session token as given to the client. `Debug` hides it.
pub struct SessionToken(Zeroizing<String>);

impl SessionToken {
    /// A fresh random token.
    pub fn generate() -> SessionToken {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(bytes.as_mut());
        let mut text = Zeroizing::new(String::with_capacity(64));
        for b in bytes.iter() {
            text.push_str(&format!("{b:02x}"));
        }
        SessionToken(text)
    }

    /// A token received from a client.
    pub fn from_client(text: &str) -> SessionToken {
        SessionToken(Zeroizing::new(text.trim().to_string()))
    }

    /// The token text to send to the client (a cookie value).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The SM3 hash under which the token is stored.
    pub fn hash(&self) -> [u8; 32] {
        let mut out = [0u8; 32];
        out.copy_from_slice(&Sm3::digest(self.0.as_bytes()));
        out
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = hash("correct horse").expect("hashes");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("correct horse", &h));
        assert!(!verify("wrong horse", &h));
        assert!(!verify("correct horse", "not a hash"));
        assert_ne!(h, hash("correct horse").expect("hashes"), "salted");
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = SessionToken::generate();
        let b = SessionToken::generate();
        assert_eq!(a.expose().len(), 64);
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.hash(), SessionToken::from_client(a.expose()).hash());
        assert_ne!(a.hash(), b.hash());
        assert_eq!(format!("{a:?}"), "SessionToken(***)");
    }
}
