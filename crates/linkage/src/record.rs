//! The record a caller hands to linkage, and its prepared form (normalised keys computed once).

use crate::idnumber::normalize_id;
use crate::name::{is_han, pinyin, simplify, split_full_name, surname_pinyin};
use std::fmt;

/// One record to link: a person as some source describes them. Every field is optional; the
/// comparisons use what both sides carry. Holds personal data: `Debug` is masked.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Record {
    /// Full name in Chinese characters (姓名), split into surname and given name here. When
    /// set it takes precedence over `surname` / `given_name`.
    pub full_name: Option<String>,
    /// Surname (Latin or Chinese).
    pub surname: Option<String>,
    /// Given name (Latin or Chinese).
    pub given_name: Option<String>,
    /// Middle initial, where a source has one.
    pub middle_initial: Option<String>,
    /// Date of birth.
    pub birth_date: Option<BirthDate>,
    /// Identity number: a resident ID (18 or 15 characters) or another national number.
    pub id_number: Option<String>,
    /// Gender.
    pub gender: Option<domain::Gender>,
    /// Statistical division code (12 digits) of residence.
    pub region: Option<String>,
    /// House number.
    pub street_number: Option<String>,
    /// Street, or a free-text address.
    pub street: Option<String>,
    /// Locality: suburb, town, township or village name.
    pub locality: Option<String>,
    /// Postcode.
    pub postcode: Option<String>,
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let present = [
            ("full_name", self.full_name.is_some()),
            ("surname", self.surname.is_some()),
            ("given_name", self.given_name.is_some()),
            ("birth_date", self.birth_date.is_some()),
            ("id_number", self.id_number.is_some()),
        ];
        let fields: Vec<&str> = present
            .iter()
            .filter(|(_, p)| *p)
            .map(|(n, _)| *n)
            .collect();
        write!(f, "Record {{ present: {fields:?}, .. }}")
    }
}

/// A date of birth as written, possibly impossible (a mistyped 31 February is still evidence):
/// year, month and day kept as numbers, compared field by field.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct BirthDate {
    /// Year (four digits).
    pub year: u16,
    /// Month as written (1-12 when valid).
    pub month: u8,
    /// Day as written (1-31 when valid).
    pub day: u8,
}

impl fmt::Debug for BirthDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BirthDate(****-**-**)")
    }
}

impl BirthDate {
    /// Reads `YYYYMMDD`, `YYYY-MM-DD` (also `/` or `.`), or the US form `MM/DD/YYYY`.
    /// Month and day are not validated; anything else gives `None`.
    pub fn parse_loose(text: &str) -> Option<BirthDate> {
        let t = text.trim();
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit()) && !s.is_empty();
        if t.len() == 8 && digits(t) {
            return Some(BirthDate {
                year: t[0..4].parse().ok()?,
                month: t[4..6].parse().ok()?,
                day: t[6..8].parse().ok()?,
            });
        }
        let parts: Vec<&str> = t.split(['-', '/', '.']).collect();
        if parts.len() != 3 || !parts.iter().all(|p| digits(p)) {
            return None;
        }
        let (y, m, d) = if parts[0].len() == 4 {
            (parts[0], parts[1], parts[2])
        } else if parts[2].len() == 4 {
            (parts[2], parts[0], parts[1])
        } else {
            return None;
        };
        Some(BirthDate {
            year: y.parse().ok()?,
            month: m.parse().ok()?,
            day: d.parse().ok()?,
        })
    }

    /// From a valid date.
    pub fn from_date(date: domain::Date) -> BirthDate {
        let (y, m, d) = date.ymd();
        BirthDate {
            year: y.clamp(0, 9999) as u16,
            month: m as u8,
            day: d as u8,
        }
    }

    /// The eight digits `YYYYMMDD`.
    pub fn digits(&self) -> [u8; 8] {
        let mut out = [b'0'; 8];
        let s = format!(
            "{:04}{:02}{:02}",
            self.year % 10000,
            self.month % 100,
            self.day % 100
        );
        out.copy_from_slice(&s.as_bytes()[..8]);
        out
    }
}

/// A record with every comparison key computed once.
#[derive(Clone, Default)]
pub(crate) struct Prepared {
    pub surname: String,
    pub given: String,
    pub surname_simplified: String,
    pub given_simplified: String,
    pub surname_pinyin: String,
    pub given_pinyin: String,
    pub han: bool,
    pub middle: String,
    pub birth: Option<BirthDate>,
    pub birth_digits: [u8; 8],
    pub id: String,
    /// The identity number is a valid resident ID (checksum and birth date hold).
    pub id_valid: bool,
    pub gender: Option<domain::Gender>,
    pub region: String,
    pub street_number: String,
    pub street: String,
    pub locality: String,
    pub postcode: String,
}

fn clean(v: &Option<String>) -> String {
    match v {
        Some(s) => {
            let n = domain::text::normalize(s);
            if n.is_ascii() {
                n.to_ascii_lowercase()
            } else {
                n.to_lowercase()
            }
        }
        None => String::new(),
    }
}

impl Prepared {
    pub(crate) fn new(r: &Record) -> Prepared {
        let (surname, given) = match r.full_name.as_deref().map(domain::text::normalize) {
            Some(full) if !full.is_empty() && full.chars().next().is_some_and(is_han) => {
                split_full_name(&full)
            }
            _ => (clean(&r.surname), clean(&r.given_name)),
        };
        let (surname, given) = if surname.is_empty() && given.is_empty() {
            // a Latin full name: last word is the surname
            let full = clean(&r.full_name);
            match full.rsplit_once(' ') {
                Some((g, s)) => (s.to_string(), g.to_string()),
                None => (String::new(), full),
            }
        } else {
            (surname, given)
        };
        let han = surname.chars().chain(given.chars()).any(is_han);
        let surname_simplified = simplify(&surname);
        let given_simplified = simplify(&given);
        let birth = r.birth_date;
        let id = r.id_number.as_deref().map(normalize_id).unwrap_or_default();
        let id_valid = id.len() == 18 && domain::ResidentId::parse(&id).is_ok();
        Prepared {
            id,
            id_valid,
            surname_pinyin: surname_pinyin(&surname_simplified),
            given_pinyin: pinyin(&given_simplified),
            surname_simplified,
            given_simplified,
            surname,
            given,
            han,
            middle: clean(&r.middle_initial),
            birth,
            birth_digits: birth.map(|b| b.digits()).unwrap_or([0; 8]),
            gender: r.gender,
            region: clean(&r.region),
            street_number: clean(&r.street_number),
            street: clean(&r.street),
            locality: clean(&r.locality),
            postcode: clean(&r.postcode),
        }
        .with_region_in_address()
    }

    /// Chinese addresses have no postcode: the village code plays its part and the township
    /// code that of the locality, so that the address is one comparison (household members
    /// share street, village and township; counting them separately would outweigh the
    /// evidence that tells them apart).
    fn with_region_in_address(mut self) -> Prepared {
        if !self.region.is_empty() && !self.street.is_empty() {
            if self.postcode.is_empty() {
                self.postcode = self.region.clone();
            }
            if self.locality.is_empty() && self.region.len() >= 9 {
                self.locality = self.region[..9].to_string();
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn birth_dates_in_every_form() {
        let b = BirthDate {
            year: 1994,
            month: 5,
            day: 6,
        };
        assert_eq!(BirthDate::parse_loose("19940506"), Some(b));
        assert_eq!(BirthDate::parse_loose("1994-05-06"), Some(b));
        assert_eq!(BirthDate::parse_loose("05/06/1994"), Some(b));
        assert_eq!(BirthDate::parse_loose("1994/5/6"), Some(b));
        assert_eq!(
            BirthDate::parse_loose("19941306").map(|d| d.month),
            Some(13)
        );
        assert_eq!(BirthDate::parse_loose("abc"), None);
        assert_eq!(&b.digits(), b"19940506");
    }

    #[test]
    fn debug_is_masked() {
        let r = Record {
            full_name: Some("张伟".into()),
            ..Record::default()
        };
        let shown = format!("{r:?}");
        assert!(!shown.contains("张"));
        assert!(shown.contains("full_name"));
    }

    #[test]
    fn chinese_names_are_split_and_romanised() {
        let p = Prepared::new(&Record {
            full_name: Some("單偉".into()),
            ..Record::default()
        });
        assert_eq!(p.surname_simplified, "单");
        assert_eq!(p.surname_pinyin, "shan");
        assert_eq!(p.given_pinyin, "wei");
        assert!(p.han);
    }
}
