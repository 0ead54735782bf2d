//! Money as integer fen (分). Parsed from decimal yuan text exactly, never through floating
//! point; shown as yuan with two decimals.

use std::fmt;
use std::ops::{Add, AddAssign, Mul, Neg, Sub, SubAssign};

/// An amount of money in fen (1 yuan = 100 fen).
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Fen(pub i64);

/// Why a text is not an amount of money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Not digits with optional thousands commas and at most two decimals.
    #[error("not an amount in yuan (digits, optional thousands commas, at most two decimals)")]
    Invalid,
    /// A negative amount.
    #[error("a negative amount")]
    Negative,
}

impl Fen {
    /// Zero.
    pub const ZERO: Fen = Fen(0);

    /// An amount of whole yuan.
    pub const fn from_yuan(yuan: i64) -> Fen {
        Fen(yuan * 100)
    }

    /// Parses yuan text: digits, optionally grouped by thousands with commas (`1,234.50`), at
    /// most two decimals, no sign, no currency symbol. A leading minus is reported as
    /// [`MoneyError::Negative`]. The input is expected to be normalised already.
    pub fn parse_yuan(text: &str) -> Result<Fen, MoneyError> {
        if let Some(rest) = text.strip_prefix('-') {
            return match Fen::parse_yuan(rest) {
                Ok(Fen(0)) => Ok(Fen(0)),
                Ok(_) => Err(MoneyError::Negative),
                Err(e) => Err(e),
            };
        }
        let (int, frac) = match text.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (text, None),
        };
        if int.is_empty() {
            return Err(MoneyError::Invalid);
        }
        let mut yuan: i64 = 0;
        if int.contains(',') {
            // Grouped: 1-3 leading digits, then groups of exactly 3.
            let mut groups = int.split(',');
            let first = groups.next().unwrap_or("");
            if first.is_empty() || first.len() > 3 {
                return Err(MoneyError::Invalid);
            }
            yuan = accumulate(yuan, first)?;
            for g in groups {
                if g.len() != 3 {
                    return Err(MoneyError::Invalid);
                }
                yuan = accumulate(yuan, g)?;
            }
        } else {
            yuan = accumulate(yuan, int)?;
        }
        let fen = match frac {
            None => 0,
            Some(f) if f.is_empty() || f.len() > 2 => return Err(MoneyError::Invalid),
            Some(f) => {
                let v = accumulate(0, f)?;
                if f.len() == 1 { v * 10 } else { v }
            }
        };
        yuan.checked_mul(100)
            .and_then(|y| y.checked_add(fen))
            .map(Fen)
            .ok_or(MoneyError::Invalid)
    }

    /// Multiplies by `num / den`, rounding half up (away from zero for negative amounts) once.
    /// `den` must not be zero; a zero denominator gives zero.
    pub fn mul_ratio(self, num: i64, den: i64) -> Fen {
        if den == 0 {
            return Fen(0);
        }
        let p = i128::from(self.0) * i128::from(num);
        let d = i128::from(den);
        let (p, d) = if d < 0 { (-p, -d) } else { (p, d) };
        let q = if p >= 0 {
            (2 * p + d) / (2 * d)
        } else {
            -((-2 * p + d) / (2 * d))
        };
        Fen(q.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
    }

    /// The amount in fen.
    pub fn fen(self) -> i64 {
        self.0
    }
}

fn accumulate(acc: i64, digits: &str) -> Result<i64, MoneyError> {
    if digits.is_empty() {
        return Err(MoneyError::Invalid);
    }
    digits.bytes().try_fold(acc, |a, c| {
        if !c.is_ascii_digit() {
            return Err(MoneyError::Invalid);
        }
        a.checked_mul(10)
            .and_then(|a| a.checked_add(i64::from(c - b'0')))
            .ok_or(MoneyError::Invalid)
    })
}

impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl fmt::Debug for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "¥{self}")
    }
}

impl Add for Fen {
    type Output = Fen;
    fn add(self, rhs: Fen) -> Fen {
        Fen(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign for Fen {
    fn add_assign(&mut self, rhs: Fen) {
        *self = *self + rhs;
    }
}

impl Sub for Fen {
    type Output = Fen;
    fn sub(self, rhs: Fen) -> Fen {
        Fen(self.0.saturating_sub(rhs.0))
    }
}

impl SubAssign for Fen {
    fn sub_assign(&mut self, rhs: Fen) {
        *self = *self - rhs;
    }
}

impl Mul<i64> for Fen {
    type Output = Fen;
    fn mul(self, rhs: i64) -> Fen {
        Fen(self.0.saturating_mul(rhs))
    }
}

impl Neg for Fen {
    type Output = Fen;
    fn neg(self) -> Fen {
        Fen(self.0.saturating_neg())
    }
}

impl std::iter::Sum for Fen {
    fn sum<I: Iterator<Item = Fen>>(iter: I) -> Fen {
        iter.fold(Fen::ZERO, |a, b| a + b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn exact_parsing() {
        let ok = |s: &str| Fen::parse_yuan(s).unwrap().0;
        assert_eq!(ok("0"), 0);
        assert_eq!(ok("1"), 100);
        assert_eq!(ok("1.5"), 150);
        assert_eq!(ok("1.05"), 105);
        assert_eq!(ok("0.01"), 1);
        assert_eq!(ok("1,234.50"), 123_450);
        assert_eq!(ok("12,345,678"), 1_234_567_800);
        assert_eq!(ok("86000.00"), 8_600_000);
        assert_eq!(ok("0.10"), 10);
        assert_eq!(ok("-0"), 0);
    }

    #[test]
    fn rejected_amounts() {
        for s in [
            "",
            ".5",
            "1.",
            "1.234",
            "1,23",
            "1234,567",
            ",123",
            "¥12",
            "+1",
            "1e3",
            "12 3",
            "1..2",
            "NaN",
            "99999999999999999999",
        ] {
            assert_eq!(Fen::parse_yuan(s), Err(MoneyError::Invalid), "{s}");
        }
        assert_eq!(Fen::parse_yuan("-1.00"), Err(MoneyError::Negative));
        assert_eq!(Fen::parse_yuan("-1,000"), Err(MoneyError::Negative));
        assert_eq!(Fen::parse_yuan("-1.234"), Err(MoneyError::Invalid));
    }

    #[test]
    fn display_and_rounding() {
        assert_eq!(Fen(123_450).to_string(), "1234.50");
        assert_eq!(Fen(5).to_string(), "0.05");
        assert_eq!(Fen(-5).to_string(), "-0.05");
        // 1.3 × 1000 yuan
        assert_eq!(Fen::from_yuan(1000).mul_ratio(13, 10), Fen::from_yuan(1300));
        assert_eq!(Fen(5).mul_ratio(1, 2), Fen(3)); // 2.5 → 3
        assert_eq!(Fen(3).mul_ratio(1, 2), Fen(2)); // 1.5 → 2
        assert_eq!(Fen(1).mul_ratio(1, 3), Fen(0));
        assert_eq!(Fen(-5).mul_ratio(1, 2), Fen(-3));
        assert_eq!(Fen(10).mul_ratio(1, 0), Fen(0));
    }

    proptest! {
        #[test]
        fn display_round_trips(fen in 0i64..10_000_000_000_000) {
            prop_assert_eq!(Fen::parse_yuan(&Fen(fen).to_string()), Ok(Fen(fen)));
        }
    }
}
