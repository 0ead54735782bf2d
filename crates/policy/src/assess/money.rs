//! Money at the edge of case assessment: amounts are written in yuan (`1200`, `417.50`,
//! `"1,234.50"`) in profiles, applications and cases and held as integer fen ([`Fen`]).
//! Ratios are exact fractions; a fraction of a fen is rounded half up once, at the end.

use std::fmt;

use domain::Fen;
use serde::de::{self, Deserializer, Visitor};
use serde::ser::Serializer;

/// Reads an amount of yuan: a whole number, or decimal text with at most two decimals. A
/// number that a JSON reader already turned into a float is read back from its shortest
/// decimal text, so no arithmetic is ever done in floating point.
pub fn parse_yuan_text(text: &str) -> Result<Fen, String> {
    let t = text.trim();
    let (neg, digits) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let fen = Fen::parse_yuan(digits).map_err(|e| format!("`{text}`: {e}"))?;
    Ok(if neg { Fen(-fen.0) } else { fen })
}

/// Shows fen as yuan with two decimals (`-12.05`).
pub fn yuan(fen: Fen) -> String {
    let sign = if fen.0 < 0 { "-" } else { "" };
    let a = fen.0.unsigned_abs();
    format!("{sign}{}.{:02}", a / 100, a % 100)
}

struct YuanVisitor;

impl Visitor<'_> for YuanVisitor {
    type Value = Fen;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an amount in yuan (at most two decimals)")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Fen, E> {
        v.checked_mul(100)
            .map(Fen)
            .ok_or_else(|| E::custom("amount too large"))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Fen, E> {
        i64::try_from(v)
            .ok()
            .and_then(|v| v.checked_mul(100))
            .map(Fen)
            .ok_or_else(|| E::custom("amount too large"))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Fen, E> {
        if !v.is_finite() {
            return Err(E::custom("not an amount"));
        }
        parse_yuan_text(&v.to_string()).map_err(E::custom)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Fen, E> {
        parse_yuan_text(v).map_err(E::custom)
    }
}

/// Serde adapter for a [`Fen`] field written in yuan: `#[serde(with = "money::as_yuan")]`.
pub mod as_yuan {
    use super::*;

    /// Reads yuan.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Fen, D::Error> {
        d.deserialize_any(YuanVisitor)
    }

    /// Writes yuan text with two decimals.
    pub fn serialize<S: Serializer>(fen: &Fen, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&yuan(*fen))
    }
}

/// Serde adapter for an optional [`Fen`] field written in yuan.
pub mod as_yuan_opt {
    use super::*;

    struct OptVisitor;

    impl<'de> Visitor<'de> for OptVisitor {
        type Value = Option<Fen>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an amount in yuan, or nothing")
        }

        fn visit_none<E: de::Error>(self) -> Result<Option<Fen>, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Option<Fen>, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<Fen>, D::Error> {
            d.deserialize_any(YuanVisitor).map(Some)
        }
    }

    /// Reads optional yuan.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Fen>, D::Error> {
        d.deserialize_option(OptVisitor)
    }

    /// Writes optional yuan text.
    pub fn serialize<S: Serializer>(fen: &Option<Fen>, s: S) -> Result<S::Ok, S::Error> {
        match fen {
            Some(f) => s.serialize_str(&yuan(*f)),
            None => s.serialize_none(),
        }
    }
}

/// An exact ratio (numerator / denominator), written in files as a decimal (`0.25`, `1.5`) or a
/// fraction (`2/3`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Ratio {
    /// Numerator.
    pub num: i64,
    /// Denominator, always positive.
    pub den: i64,
}

impl Ratio {
    /// One.
    pub const ONE: Ratio = Ratio { num: 1, den: 1 };
    /// Zero.
    pub const ZERO: Ratio = Ratio { num: 0, den: 1 };

    /// Parses `0.25`, `1.5`, `2/3` or `1`.
    pub fn parse(text: &str) -> Result<Ratio, String> {
        let t = text.trim();
        let bad = || format!("`{text}` is not a ratio (write 0.25, 1.5 or 2/3)");
        if let Some((n, d)) = t.split_once('/') {
            let num: i64 = n.trim().parse().map_err(|_| bad())?;
            let den: i64 = d.trim().parse().map_err(|_| bad())?;
            if den <= 0 || num < 0 {
                return Err(bad());
            }
            return Ok(Ratio { num, den });
        }
        let (int, frac) = t.split_once('.').unwrap_or((t, ""));
        if int.is_empty()
            || !int.bytes().all(|c| c.is_ascii_digit())
            || !frac.bytes().all(|c| c.is_ascii_digit())
            || frac.len() > 6
            || int.len() > 9
        {
            return Err(bad());
        }
        let den = 10i64.pow(frac.len() as u32);
        let num = int.parse::<i64>().map_err(|_| bad())? * den
            + if frac.is_empty() {
                0
            } else {
                frac.parse::<i64>().map_err(|_| bad())?
            };
        Ok(Ratio { num, den })
    }

    /// `amount × self`, rounded half up to the fen.
    pub fn of(self, amount: Fen) -> Fen {
        amount.mul_ratio(self.num, self.den)
    }

    /// Whether `a / b > self` (b > 0), exactly.
    pub fn is_below_fraction(self, a: i64, b: i64) -> bool {
        i128::from(a) * i128::from(self.den) > i128::from(self.num) * i128::from(b)
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.den == 1 {
            return write!(f, "{}", self.num);
        }
        let mut den = self.den;
        let mut places = 0;
        while den % 10 == 0 {
            den /= 10;
            places += 1;
        }
        if den == 1 {
            let p = 10i64.pow(places);
            let s = format!(
                "{}.{:0width$}",
                self.num / p,
                self.num % p,
                width = places as usize
            );
            let s = s.trim_end_matches('0').trim_end_matches('.');
            f.write_str(s)
        } else {
            write!(f, "{}/{}", self.num, self.den)
        }
    }
}

impl fmt::Debug for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl<'de> serde::Deserialize<'de> for Ratio {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Ratio, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Ratio;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a ratio such as 0.25, 1.5 or 2/3")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Ratio, E> {
                if v < 0 {
                    return Err(E::custom("a ratio is not negative"));
                }
                Ok(Ratio { num: v, den: 1 })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Ratio, E> {
                i64::try_from(v)
                    .map(|num| Ratio { num, den: 1 })
                    .map_err(|_| E::custom("ratio too large"))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Ratio, E> {
                Ratio::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Ratio, E> {
                Ratio::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

impl serde::Serialize for Ratio {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_text_is_exact() {
        assert_eq!(parse_yuan_text("417.50"), Ok(Fen(41_750)));
        assert_eq!(parse_yuan_text("1,234.5"), Ok(Fen(123_450)));
        assert_eq!(parse_yuan_text("-12.05"), Ok(Fen(-1205)));
        assert!(parse_yuan_text("1.005").is_err());
        assert_eq!(yuan(Fen(-1205)), "-12.05");
        assert_eq!(yuan(Fen(41_750)), "417.50");
    }

    #[test]
    fn ratios_are_exact_and_round_half_up_once() {
        let r = Ratio::parse("0.25").unwrap();
        assert_eq!(r.of(Fen(145_000)), Fen(36_250));
        assert_eq!(Ratio::parse("2/3").unwrap().of(Fen(100)), Fen(67));
        assert_eq!(Ratio::parse("0.005").unwrap().of(Fen(100)), Fen(1));
        assert_eq!(Ratio::parse("1.5").unwrap().to_string(), "1.5");
        assert!(Ratio::parse("-1").is_err());
        assert!(Ratio::parse("abc").is_err());
        assert!(Ratio::parse("1/0").is_err());
        // 0.8 < 46000/61200 is false; 0.8 < 4900/6000 is true.
        let r = Ratio::parse("0.8").unwrap();
        assert!(!r.is_below_fraction(46_000, 61_200));
        assert!(r.is_below_fraction(4_900, 6_000));
    }
}
