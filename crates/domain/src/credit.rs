//! Unified social credit codes (统一社会信用代码, GB 32100-2015): 18 characters from a
//! 31-character alphabet (digits and upper-case letters without I, O, S, V, Z), the last a
//! check character of the first 17 (weights 3^i mod 31).

use std::fmt;

const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// A valid unified social credit code.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CreditCode([u8; 18]);

/// Why a text is not a unified social credit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CreditCodeError {
    /// Not 18 characters.
    #[error("a unified social credit code has 18 characters")]
    Length,
    /// A character outside the code's alphabet.
    #[error(
        "a character outside the alphabet of credit codes (digits and letters except I O S V Z)"
    )]
    Character,
    /// The check character does not match.
    #[error("the check character does not match (GB 32100-2015)")]
    Checksum,
}

fn value(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// The check character of the first 17 characters of a credit code, or `None` when one of
/// them is outside the alphabet.
pub fn credit_check_char(first17: &[u8]) -> Option<u8> {
    let mut sum = 0u32;
    for (c, w) in first17.iter().zip(WEIGHTS) {
        sum += value(*c)? * w;
    }
    let check = (31 - sum % 31) % 31;
    Some(ALPHABET[check as usize])
}

impl CreditCode {
    /// Parses an 18-character code (lower-case letters accepted) and checks its check
    /// character.
    pub fn parse(text: &str) -> Result<CreditCode, CreditCodeError> {
        let b = text.as_bytes();
        if b.len() != 18 || !text.is_ascii() {
            return Err(CreditCodeError::Length);
        }
        let mut out = [0u8; 18];
        for (o, c) in out.iter_mut().zip(b) {
            let u = c.to_ascii_uppercase();
            value(u).ok_or(CreditCodeError::Character)?;
            *o = u;
        }
        if credit_check_char(&out[..17]) != Some(out[17]) {
            return Err(CreditCodeError::Checksum);
        }
        Ok(CreditCode(out))
    }

    /// The 18 characters.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }
}

impl fmt::Display for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for CreditCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CreditCode({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_example_codes() {
        // The example of GB 32100-2015 and a code printed on a public business licence.
        for code in ["91350100M000100Y43", "91110000802100433B"] {
            assert!(CreditCode::parse(code).is_ok(), "{code}");
        }
        assert_eq!(
            CreditCode::parse("91350100m000100y43").map(|c| c.to_string()),
            Ok("91350100M000100Y43".into())
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            CreditCode::parse("91350100M000100Y44"),
            Err(CreditCodeError::Checksum)
        );
        assert_eq!(
            CreditCode::parse("91350100M000100Y4"),
            Err(CreditCodeError::Length)
        );
        assert_eq!(
            CreditCode::parse("91350100I000100Y43"),
            Err(CreditCodeError::Character)
        );
        assert_eq!(CreditCode::parse(""), Err(CreditCodeError::Length));
    }

    #[test]
    fn computed_check_characters_validate() {
        let first17 = b"9199010100000012A";
        let c = credit_check_char(first17).unwrap();
        let mut code = first17.to_vec();
        code.push(c);
        assert!(CreditCode::parse(std::str::from_utf8(&code).unwrap()).is_ok());
    }
}
