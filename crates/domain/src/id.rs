//! Resident ID numbers (公民身份号码, GB 11643-1999).
//!
//! 18 characters: a 6-digit address code, an 8-digit birth date, a 3-digit sequence (odd for
//! men, even for women) and an ISO 7064 MOD 11-2 check character (`0`-`9` or `X`). Legacy
//! 15-digit numbers (two-digit year, no check character) are converted: century 19 and a
//! computed check character. The address code is never validated against today's division
//! table: a number keeps the code that was valid at birth.
//!
//! A resident ID is personal data: `Debug` and `Display` mask it (`110105********1234`); the
//! plain value is reached only through [`ResidentId::as_str`].

use crate::codes::Gender;
use crate::date::Date;
use std::fmt;

/// A valid 18-character resident ID number.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResidentId([u8; 18]);

/// Why a text is not a resident ID number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// Neither 18 nor 15 characters.
    #[error("a resident ID number has 18 characters (or 15 for the old form)")]
    Length,
    /// A character other than digits (and a final X).
    #[error("a resident ID number has only digits and a final check character 0-9 or X")]
    Character,
    /// The check character does not match the first 17 digits.
    #[error("the check character does not match (ISO 7064 MOD 11-2)")]
    Checksum,
    /// The embedded birth date does not exist.
    #[error("the birth date inside the number does not exist")]
    BirthDate,
}

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: [u8; 11] = *b"10X98765432";

/// The ISO 7064 MOD 11-2 check character of the first 17 digits of a resident ID
/// (`b'0'`..=`b'9'` or `b'X'`). Only the first 17 bytes are read; they must be ASCII digits.
pub fn check_char(first17: &[u8]) -> u8 {
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(c, w)| u32::from(c.wrapping_sub(b'0')) * w)
        .sum();
    CHECK[(sum % 11) as usize]
}

impl ResidentId {
    /// Parses a resident ID number: 18 characters with a valid check character (lower-case `x`
    /// accepted) and an existing birth date, or a valid 15-digit legacy number, which is
    /// converted to 18 characters. The input is expected to be normalised already.
    pub fn parse(text: &str) -> Result<ResidentId, IdError> {
        let b = text.as_bytes();
        match b.len() {
            18 => {
                if !b[..17].iter().all(u8::is_ascii_digit) {
                    return Err(IdError::Character);
                }
                let last = b[17].to_ascii_uppercase();
                if !(last.is_ascii_digit() || last == b'X') {
                    return Err(IdError::Character);
                }
                let mut out = [0u8; 18];
                out[..17].copy_from_slice(&b[..17]);
                out[17] = last;
                let id = ResidentId(out);
                id.birth_date_checked().ok_or(IdError::BirthDate)?;
                if check_char(&out[..17]) != last {
                    return Err(IdError::Checksum);
                }
                Ok(id)
            }
            15 => {
                if !b.iter().all(u8::is_ascii_digit) {
                    return Err(IdError::Character);
                }
                let mut out = [0u8; 18];
                out[..6].copy_from_slice(&b[..6]);
                out[6] = b'1';
                out[7] = b'9';
                out[8..17].copy_from_slice(&b[6..15]);
                out[17] = check_char(&out[..17]);
                let id = ResidentId(out);
                id.birth_date_checked().ok_or(IdError::BirthDate)?;
                Ok(id)
            }
            _ => Err(IdError::Length),
        }
    }

    fn birth_date_checked(&self) -> Option<Date> {
        let n = |r: std::ops::Range<usize>| {
            self.0[r]
                .iter()
                .fold(0u32, |a, c| a * 10 + u32::from(c - b'0'))
        };
        Date::from_ymd(n(6..10) as i32, n(10..12), n(12..14))
    }

    /// The plain 18 characters (upper-case `X`). This is personal data: never log it.
    pub fn as_str(&self) -> &str {
        // Only ASCII digits and 'X' are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("")
    }

    /// The 18 bytes.
    pub fn as_bytes(&self) -> &[u8; 18] {
        &self.0
    }

    /// The birth date written in the number.
    pub fn birth_date(&self) -> Date {
        // Checked at parse time.
        self.birth_date_checked().unwrap_or(Date::from_days(0))
    }

    /// The gender written in the number: the 17th character is odd for men, even for women.
    pub fn gender(&self) -> Gender {
        if (self.0[16] - b'0') % 2 == 1 {
            Gender::Male
        } else {
            Gender::Female
        }
    }

    /// The 6-digit address code of the place of first registration.
    pub fn address_code(&self) -> &str {
        &self.as_str()[..6]
    }

    /// The masked form shown on screens and in reports: `110105********1234`.
    pub fn masked(&self) -> String {
        mask_id_text(self.as_str())
    }
}

/// Masks any text that may be an ID number: the first 6 and last 4 characters stay, the rest
/// becomes `*`. Short texts are masked whole except their last character.
pub fn mask_id_text(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    if n >= 11 {
        let mut out: String = chars[..6].iter().collect();
        out.extend(std::iter::repeat_n('*', n - 10));
        out.extend(&chars[n - 4..]);
        out
    } else if n == 0 {
        String::new()
    } else {
        let mut out: String = std::iter::repeat_n('*', n - 1).collect();
        out.push(chars[n - 1]);
        out
    }
}

impl fmt::Display for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl fmt::Debug for ResidentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ResidentId({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // Synthetic numbers built with the check character computed here, not real people.
    fn with_check(first17: &str) -> String {
        let c = check_char(first17.as_bytes()) as char;
        format!("{first17}{c}")
    }

    #[test]
    fn valid_and_masked() {
        let text = with_check("11010519491231002");
        let id = ResidentId::parse(&text).unwrap();
        assert_eq!(id.as_str(), text);
        assert_eq!(id.masked(), format!("110105********{}", &text[14..]));
        assert_eq!(format!("{id}"), id.masked());
        assert!(!format!("{id:?}").contains(&text[6..14]));
        assert_eq!(id.birth_date().to_string(), "1949-12-31");
        assert_eq!(id.gender(), Gender::Female);
        assert_eq!(id.address_code(), "110105");
    }

    #[test]
    fn x_and_lower_case_x() {
        // Find a sequence whose check character is X.
        let first17 = (0..1000)
            .map(|s| format!("99010119800101{s:03}"))
            .find(|f| check_char(f.as_bytes()) == b'X')
            .unwrap();
        let upper = format!("{first17}X");
        let lower = format!("{first17}x");
        assert_eq!(ResidentId::parse(&upper).unwrap().as_str(), upper);
        assert_eq!(ResidentId::parse(&lower).unwrap().as_str(), upper);
        assert_eq!(
            ResidentId::parse(&format!("{first17}0")),
            Err(IdError::Checksum)
        );
    }

    #[test]
    fn fifteen_digits_become_eighteen() {
        let id = ResidentId::parse("110105491231002").unwrap();
        assert_eq!(id.as_str(), with_check("11010519491231002"));
        assert_eq!(
            ResidentId::parse("110105490231002"),
            Err(IdError::BirthDate)
        );
        assert_eq!(
            ResidentId::parse("11010549123100A"),
            Err(IdError::Character)
        );
    }

    #[test]
    fn errors() {
        assert_eq!(ResidentId::parse(""), Err(IdError::Length));
        assert_eq!(ResidentId::parse("1101051949123100"), Err(IdError::Length));
        assert_eq!(
            ResidentId::parse(&with_check("11010520230229002")),
            Err(IdError::BirthDate)
        );
        assert_eq!(
            ResidentId::parse("1101051949123100XX"),
            Err(IdError::Character)
        );
        let good = with_check("11010519491231002");
        let mut bad = good.clone().into_bytes();
        bad[3] = if bad[3] == b'9' { b'0' } else { bad[3] + 1 };
        assert_eq!(
            ResidentId::parse(std::str::from_utf8(&bad).unwrap()),
            Err(IdError::Checksum)
        );
    }

    #[test]
    fn mask_any_text() {
        assert_eq!(mask_id_text("12345678901"), "123456*8901");
        assert_eq!(mask_id_text("abc"), "**c");
        assert_eq!(mask_id_text(""), "");
    }

    proptest! {
        #[test]
        fn one_changed_digit_is_always_caught(seq in 0u32..1000, pos in 0usize..17, delta in 1u8..10) {
            let text = with_check(&format!("99010119800101{seq:03}"));
            let mut b = text.clone().into_bytes();
            b[pos] = b'0' + (b[pos] - b'0' + delta) % 10;
            let changed = String::from_utf8(b).unwrap();
            prop_assert!(ResidentId::parse(&changed).is_err());
        }
    }
}
