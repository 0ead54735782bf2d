//! Region codes: the 12-digit statistical division code (统计用区划代码) — province (2), city
//! (2), county (2), township (3), village (3). A 6-digit county code (GB/T 2260) is read as that
//! code followed by `000000`. Province `99` is reserved for the synthetic test city (示范市).

use std::fmt;

/// A 12-digit region code.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegionCode([u8; 12]);

/// Why a text is not a region code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RegionError {
    /// Not 12 (or 6) ASCII digits.
    #[error("a region code has 12 digits (or a 6-digit county code)")]
    Format,
}

/// The administrative level of a region code, read from which parts are zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RegionLevel {
    /// 省 (only the first two digits are set).
    Province,
    /// 市 (the first four digits).
    City,
    /// 县/区 (the first six digits).
    County,
    /// 乡镇/街道 (the first nine digits).
    Township,
    /// 村/社区 (all twelve digits).
    Village,
}

impl RegionCode {
    /// Parses 12 digits, or 6 digits padded with `000000`.
    pub fn parse(text: &str) -> Result<RegionCode, RegionError> {
        let b = text.as_bytes();
        if !b.iter().all(u8::is_ascii_digit) {
            return Err(RegionError::Format);
        }
        let mut out = [b'0'; 12];
        match b.len() {
            12 => out.copy_from_slice(b),
            6 => out[..6].copy_from_slice(b),
            _ => return Err(RegionError::Format),
        }
        Ok(RegionCode(out))
    }

    /// The 12 digits.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("")
    }

    /// The village-level part (last three digits) as a number.
    pub fn village_part(&self) -> u16 {
        self.0[9..]
            .iter()
            .fold(0, |a, c| a * 10 + u16::from(c - b'0'))
    }

    /// Rural when the village-level unit is a villagers' committee (村委会, 200-399); every
    /// other ending, `000` included, counts as urban (policy.md §1).
    pub fn is_rural(&self) -> bool {
        (200..=399).contains(&self.village_part())
    }

    /// Whether the code starts with `prefix` (a prefix of digits, e.g. `"5101"`).
    pub fn starts_with(&self, prefix: &str) -> bool {
        self.0.starts_with(prefix.as_bytes())
    }

    /// The code cut to its first `digits` digits (2, 4, 6, 9 or 12), the rest zero: the
    /// enclosing province, city, county or township.
    pub fn truncate(&self, digits: usize) -> RegionCode {
        let mut out = [b'0'; 12];
        let n = digits.min(12);
        out[..n].copy_from_slice(&self.0[..n]);
        RegionCode(out)
    }

    /// The county (6 digits) containing this region.
    pub fn county(&self) -> RegionCode {
        self.truncate(6)
    }

    /// The township (9 digits) containing this region.
    pub fn township(&self) -> RegionCode {
        self.truncate(9)
    }

    /// The most specific level whose digits are not all zero.
    pub fn level(&self) -> RegionLevel {
        let zero = |r: std::ops::Range<usize>| self.0[r].iter().all(|&c| c == b'0');
        if !zero(9..12) {
            RegionLevel::Village
        } else if !zero(6..9) {
            RegionLevel::Township
        } else if !zero(4..6) {
            RegionLevel::County
        } else if !zero(2..4) {
            RegionLevel::City
        } else {
            RegionLevel::Province
        }
    }

    /// The shortest prefix that identifies this region at its level (e.g. `"110105"` for a
    /// county), for prefix matching of scopes and parameter sets.
    pub fn prefix(&self) -> &str {
        let n = match self.level() {
            RegionLevel::Province => 2,
            RegionLevel::City => 4,
            RegionLevel::County => 6,
            RegionLevel::Township => 9,
            RegionLevel::Village => 12,
        };
        &self.as_str()[..n]
    }
}

/// Whether `prefix` is a valid region prefix: 0 to 12 ASCII digits.
pub fn is_region_prefix(prefix: &str) -> bool {
    prefix.len() <= 12 && prefix.bytes().all(|c| c.is_ascii_digit())
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegionCode({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_and_six_digits() {
        let r = RegionCode::parse("110105001002").unwrap();
        assert_eq!(r.to_string(), "110105001002");
        assert_eq!(
            RegionCode::parse("110105").unwrap().to_string(),
            "110105000000"
        );
        for bad in ["", "11010", "1101050010021", "11010500100a", "１１０１０５"] {
            assert_eq!(RegionCode::parse(bad), Err(RegionError::Format), "{bad}");
        }
    }

    #[test]
    fn urban_and_rural() {
        let r = |s| RegionCode::parse(s).unwrap();
        assert!(!r("990101001001").is_rural());
        assert!(!r("990101001199").is_rural());
        assert!(r("990101001200").is_rural());
        assert!(r("990101001399").is_rural());
        assert!(!r("990101001400").is_rural());
        assert!(!r("990101001000").is_rural());
    }

    #[test]
    fn prefixes_and_levels() {
        let r = RegionCode::parse("510121102203").unwrap();
        assert!(r.starts_with("5101"));
        assert!(r.starts_with("510121"));
        assert!(!r.starts_with("510122"));
        assert_eq!(r.county().to_string(), "510121000000");
        assert_eq!(r.township().to_string(), "510121102000");
        assert_eq!(r.level(), RegionLevel::Village);
        assert_eq!(r.county().level(), RegionLevel::County);
        assert_eq!(r.county().prefix(), "510121");
        assert!(is_region_prefix("5101"));
        assert!(!is_region_prefix("51a"));
    }
}
