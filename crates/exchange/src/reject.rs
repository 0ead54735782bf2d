//! Reasons a row is refused (exchange.md §1 "Reason codes"), the reject record written to a
//! batch's `rejects.csv`, and the masking of values shown there: a report never carries a
//! plaintext ID number or name.

use crate::schema::Privacy;
use std::fmt;

/// Why a row (or a whole file, for [`Reason::MissingColumn`]) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    /// A required column is missing from the file header (the whole file; row 0).
    MissingColumn,
    /// A required value is empty.
    MissingRequired,
    /// Not a valid resident ID number.
    InvalidId,
    /// `birth_date` differs from the date inside `person_id`.
    BirthDateMismatch,
    /// A person already listed earlier in the same population file.
    DuplicateId,
    /// Not a date, or no such day.
    BadDate,
    /// Not a month.
    BadPeriod,
    /// Not an amount of yuan.
    BadMoney,
    /// A negative amount of money.
    NegativeMoney,
    /// Not a decimal number (or more decimals than the lake keeps).
    BadNumber,
    /// A negative number.
    NegativeNumber,
    /// Not a whole number.
    BadInteger,
    /// Not one of the listed codes.
    BadCode,
    /// Not a region code.
    BadRegion,
    /// Not a valid unified social credit code.
    BadCreditCode,
    /// Longer than the column allows.
    TooLong,
    /// `out_of_pocket` above `total_cost`.
    ExceedsTotal,
    /// Bytes that are not text in the file's encoding (a code added by this deployment).
    BadEncoding,
}

impl Reason {
    /// Every reason code.
    pub const ALL: [Reason; 18] = [
        Reason::MissingColumn,
        Reason::MissingRequired,
        Reason::InvalidId,
        Reason::BirthDateMismatch,
        Reason::DuplicateId,
        Reason::BadDate,
        Reason::BadPeriod,
        Reason::BadMoney,
        Reason::NegativeMoney,
        Reason::BadNumber,
        Reason::NegativeNumber,
        Reason::BadInteger,
        Reason::BadCode,
        Reason::BadRegion,
        Reason::BadCreditCode,
        Reason::TooLong,
        Reason::ExceedsTotal,
        Reason::BadEncoding,
    ];

    /// The reason code written in reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            Reason::MissingColumn => "missing_column",
            Reason::MissingRequired => "missing_required",
            Reason::InvalidId => "invalid_id",
            Reason::BirthDateMismatch => "birth_date_mismatch",
            Reason::DuplicateId => "duplicate_id",
            Reason::BadDate => "bad_date",
            Reason::BadPeriod => "bad_period",
            Reason::BadMoney => "bad_money",
            Reason::NegativeMoney => "negative_money",
            Reason::BadNumber => "bad_number",
            Reason::NegativeNumber => "negative_number",
            Reason::BadInteger => "bad_integer",
            Reason::BadCode => "bad_code",
            Reason::BadRegion => "bad_region",
            Reason::BadCreditCode => "bad_credit_code",
            Reason::TooLong => "too_long",
            Reason::ExceedsTotal => "exceeds_total",
            Reason::BadEncoding => "bad_encoding",
        }
    }

    /// The reason of a code.
    pub fn parse(code: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == code)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem of one row: row number (data rows from 1; 0 for the whole file), canonical
/// column, reason, and the offending value already masked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// Data row number, from 1; 0 when the whole file is refused.
    pub row: u64,
    /// The canonical column name.
    pub column: &'static str,
    /// The reason code.
    pub reason: Reason,
    /// The value as shown in reports, masked according to the column.
    pub value: String,
}

/// The longest value shown for a column that holds no personal data.
const OPEN_CHARS: usize = 24;

/// Masks a raw value for a report: ID numbers keep their first 6 and last 4 characters
/// (`110105********1234`), personal text keeps its first character (`张*`), other values are
/// truncated.
pub fn mask(privacy: Privacy, raw: &str) -> String {
    match privacy {
        Privacy::IdNumber => domain::id::mask_id_text(raw),
        Privacy::Personal => match raw.chars().next() {
            Some(first) => format!("{first}*"),
            None => String::new(),
        },
        Privacy::Open => {
            let mut out: String = raw.chars().take(OPEN_CHARS).collect();
            if raw.chars().nth(OPEN_CHARS).is_some() {
                out.push('…');
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for r in Reason::ALL {
            assert_eq!(Reason::parse(r.as_str()), Some(r));
        }
        assert_eq!(Reason::ExceedsTotal.to_string(), "exceeds_total");
    }

    #[test]
    fn masks() {
        assert_eq!(
            mask(Privacy::IdNumber, "110105194912310021"),
            "110105********0021"
        );
        assert_eq!(mask(Privacy::Personal, "张三丰"), "张*");
        assert_eq!(mask(Privacy::Personal, ""), "");
        assert_eq!(mask(Privacy::Open, "dibao"), "dibao");
        assert_eq!(
            mask(Privacy::Open, &"9".repeat(30)),
            format!("{}…", "9".repeat(24))
        );
    }
}
