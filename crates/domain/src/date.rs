//! Calendar dates and months of the contract (exchange.md §1 `date` and `period`).
//!
//! A [`Date`] is a day count since 1970-01-01, the same number Arrow's `Date32` stores, so
//! dates move between the lake and the code without conversion. A [`Month`] is a running month
//! index (`year × 12 + month − 1`).

use std::fmt;

/// A calendar date (proleptic Gregorian), stored as days since 1970-01-01.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Date(i32);

/// Why a text is not a date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// The text has none of the accepted forms.
    #[error(
        "not a date in a form the contract accepts (YYYY-MM-DD, YYYYMMDD, YYYY/MM/DD, YYYY.MM.DD)"
    )]
    Format,
    /// The form is right but no such day exists (e.g. 2023-02-29).
    #[error("no such day in the calendar")]
    NoSuchDay,
}

/// Whether `year` is a leap year in the Gregorian calendar.
pub fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// The number of days of a month (1-12) of a year.
pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

impl Date {
    /// The date of a year, month and day, if that day exists. Years are limited to 1..=9999.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Date> {
        if !(1..=9999).contains(&year) || !(1..=12).contains(&month) {
            return None;
        }
        if day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date(days_from_civil(year, month, day)))
    }

    /// The date `days` days after 1970-01-01 (Arrow `Date32`).
    pub fn from_days(days: i32) -> Date {
        Date(days)
    }

    /// Days since 1970-01-01 (Arrow `Date32`).
    pub fn days(self) -> i32 {
        self.0
    }

    /// Year, month (1-12) and day (1-31).
    pub fn ymd(self) -> (i32, u32, u32) {
        civil_from_days(self.0)
    }

    /// The year.
    pub fn year(self) -> i32 {
        self.ymd().0
    }

    /// The month this date falls in.
    pub fn month(self) -> Month {
        let (y, m, _) = self.ymd();
        Month::new(y, m).unwrap_or(Month(0))
    }

    /// The date `n` days later (earlier when negative).
    pub fn add_days(self, n: i32) -> Date {
        Date(self.0.saturating_add(n))
    }

    /// The same day `n` months later (earlier when negative); a day that does not exist in the
    /// target month becomes that month's last day (2024-02-29 minus 12 months is 2023-02-28).
    pub fn add_months(self, n: i32) -> Date {
        let (y, m, d) = self.ymd();
        let index = y * 12 + m as i32 - 1 + n;
        let (ty, tm) = (index.div_euclid(12), index.rem_euclid(12) as u32 + 1);
        let td = d.min(days_in_month(ty, tm));
        Date(days_from_civil(ty, tm, td))
    }

    /// Parses a date in any form of the contract: `YYYY-MM-DD`, `YYYYMMDD`, `YYYY/MM/DD`,
    /// `YYYY.MM.DD` (the separated forms allow one-digit months and days). The input is expected
    /// to be normalised already (see [`crate::text::normalize`]).
    pub fn parse(text: &str) -> Result<Date, DateError> {
        let b = text.as_bytes();
        let (y, m, d) = if b.len() == 8 && b.iter().all(u8::is_ascii_digit) {
            (digits(&b[0..4]), digits(&b[4..6]), digits(&b[6..8]))
        } else {
            let sep = *b.get(4).ok_or(DateError::Format)?;
            if !matches!(sep, b'-' | b'/' | b'.') {
                return Err(DateError::Format);
            }
            let mut parts = text.split(sep as char);
            let (Some(ys), Some(ms), Some(ds), None) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(DateError::Format);
            };
            let ok = |s: &str, max: usize| {
                !s.is_empty() && s.len() <= max && s.bytes().all(|c| c.is_ascii_digit())
            };
            if ys.len() != 4 || !ok(ys, 4) || !ok(ms, 2) || !ok(ds, 2) {
                return Err(DateError::Format);
            }
            (
                digits(ys.as_bytes()),
                digits(ms.as_bytes()),
                digits(ds.as_bytes()),
            )
        };
        Date::from_ymd(y as i32, m, d).ok_or(DateError::NoSuchDay)
    }

    /// The date of an Excel serial number (1900 date system, with Excel's phantom 1900-02-29:
    /// serial 60). Fractions of a day (a time) are dropped. Serials below 1 are not dates.
    pub fn from_excel_serial(serial: f64) -> Option<Date> {
        if !serial.is_finite() || !(1.0..3_000_000.0).contains(&serial) {
            return None;
        }
        let whole = serial.floor() as i32;
        if whole == 60 {
            return None; // 1900-02-29 does not exist
        }
        // Serial 25569 is 1970-01-01; serials before 61 are one day off because of the
        // phantom leap day.
        let days = if whole < 60 {
            whole - 25568
        } else {
            whole - 25569
        };
        Some(Date(days))
    }
}

/// Full years of age at `at` for a person born on `birth`; the age goes up on the birthday
/// itself (a person born on 29 February has a birthday on 1 March in other years). Zero before
/// birth.
pub fn age_on(birth: Date, at: Date) -> u32 {
    let (by, bm, bd) = birth.ymd();
    let (ay, am, ad) = at.ymd();
    let mut years = ay - by;
    if (am, ad) < (bm, bd) {
        years -= 1;
    }
    years.max(0) as u32
}

fn digits(b: &[u8]) -> u32 {
    b.iter().fold(0, |acc, c| acc * 10 + u32::from(c - b'0'))
}

// Howard Hinnant's days_from_civil / civil_from_days.
fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400) as u32;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe as i32 - 719_468
}

fn civil_from_days(z: i32) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097) as u32;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe as i32 + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl TryFrom<String> for Date {
    type Error = DateError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Date::parse(&s)
    }
}

impl From<Date> for String {
    fn from(d: Date) -> String {
        d.to_string()
    }
}

/// A calendar month (a `period` of the contract).
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Month(i32);

impl Month {
    /// The month of a year and a month number (1-12).
    pub fn new(year: i32, month: u32) -> Option<Month> {
        if !(1..=9999).contains(&year) || !(1..=12).contains(&month) {
            return None;
        }
        Some(Month(year * 12 + month as i32 - 1))
    }

    /// Parses `YYYY-MM` or `YYYYMM`.
    pub fn parse(text: &str) -> Result<Month, DateError> {
        let b = text.as_bytes();
        let (ys, ms) = match b.len() {
            7 if b[4] == b'-' => (&b[0..4], &b[5..7]),
            6 => (&b[0..4], &b[4..6]),
            _ => return Err(DateError::Format),
        };
        if !ys.iter().chain(ms).all(u8::is_ascii_digit) {
            return Err(DateError::Format);
        }
        Month::new(digits(ys) as i32, digits(ms)).ok_or(DateError::NoSuchDay)
    }

    /// The running index `year × 12 + month − 1`.
    pub fn index(self) -> i32 {
        self.0
    }

    /// The month of a running index.
    pub fn from_index(index: i32) -> Month {
        Month(index)
    }

    /// The year.
    pub fn year(self) -> i32 {
        self.0.div_euclid(12)
    }

    /// The month number, 1-12.
    pub fn number(self) -> u32 {
        self.0.rem_euclid(12) as u32 + 1
    }

    /// The first day of the month.
    pub fn first_day(self) -> Date {
        Date(days_from_civil(self.year(), self.number(), 1))
    }

    /// The last day of the month.
    pub fn last_day(self) -> Date {
        let (y, m) = (self.year(), self.number());
        Date(days_from_civil(y, m, days_in_month(y, m)))
    }
}

impl std::ops::Add<i32> for Month {
    type Output = Month;
    /// The month `n` months later (earlier when negative).
    fn add(self, n: i32) -> Month {
        Month(self.0 + n)
    }
}

impl std::ops::Sub<i32> for Month {
    type Output = Month;
    /// The month `n` months earlier.
    fn sub(self, n: i32) -> Month {
        Month(self.0 - n)
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year(), self.number())
    }
}

impl fmt::Debug for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl TryFrom<String> for Month {
    type Error = DateError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Month::parse(&s)
    }
}

impl From<Month> for String {
    fn from(m: Month) -> String {
        m.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn every_contract_form() {
        let want = Date::from_ymd(2026, 6, 3).unwrap();
        for s in [
            "2026-06-03",
            "20260603",
            "2026/06/03",
            "2026.06.03",
            "2026/6/3",
            "2026-6-03",
        ] {
            assert_eq!(Date::parse(s), Ok(want), "{s}");
        }
        assert_eq!(want.to_string(), "2026-06-03");
    }

    #[test]
    fn bad_forms_and_missing_days() {
        assert_eq!(Date::parse("2023-02-29"), Err(DateError::NoSuchDay));
        assert_eq!(
            Date::parse("2024-02-29").map(|d| d.to_string()),
            Ok("2024-02-29".into())
        );
        assert_eq!(Date::parse("1900-02-29"), Err(DateError::NoSuchDay));
        assert_eq!(
            Date::parse("2000-02-29").map(|d| d.to_string()),
            Ok("2000-02-29".into())
        );
        assert_eq!(Date::parse("2026-13-01"), Err(DateError::NoSuchDay));
        assert_eq!(Date::parse("2026-04-31"), Err(DateError::NoSuchDay));
        for s in [
            "",
            "2026",
            "26-06-03",
            "2026-06",
            "2026-06-03-01",
            "2026_06_03",
            "２０２６",
            "2026/006/3",
            "2026-0a-03",
            "202606030",
        ] {
            assert_eq!(Date::parse(s), Err(DateError::Format), "{s}");
        }
    }

    #[test]
    fn epoch_and_arrow_days() {
        assert_eq!(d("1970-01-01").days(), 0);
        assert_eq!(d("1969-12-31").days(), -1);
        assert_eq!(d("2000-03-01").days(), 11017);
        assert_eq!(Date::from_days(11017), d("2000-03-01"));
    }

    #[test]
    fn excel_serials() {
        assert_eq!(Date::from_excel_serial(1.0), Some(d("1900-01-01")));
        assert_eq!(Date::from_excel_serial(59.0), Some(d("1900-02-28")));
        assert_eq!(Date::from_excel_serial(60.0), None);
        assert_eq!(Date::from_excel_serial(61.0), Some(d("1900-03-01")));
        assert_eq!(Date::from_excel_serial(25569.0), Some(d("1970-01-01")));
        assert_eq!(Date::from_excel_serial(46203.75), Some(d("2026-06-30")));
        assert_eq!(Date::from_excel_serial(0.0), None);
        assert_eq!(Date::from_excel_serial(f64::NAN), None);
    }

    #[test]
    fn months_add_and_clamp() {
        assert_eq!(d("2024-02-29").add_months(-12), d("2023-02-28"));
        assert_eq!(d("2026-01-31").add_months(1), d("2026-02-28"));
        assert_eq!(d("2026-06-30").add_months(-12), d("2025-06-30"));
        assert_eq!(d("2026-03-15").add_months(-15), d("2024-12-15"));
    }

    #[test]
    fn ages_go_up_on_the_birthday() {
        assert_eq!(age_on(d("1986-06-30"), d("2026-06-29")), 39);
        assert_eq!(age_on(d("1986-06-30"), d("2026-06-30")), 40);
        assert_eq!(age_on(d("2008-02-29"), d("2026-02-28")), 17);
        assert_eq!(age_on(d("2008-02-29"), d("2026-03-01")), 18);
        assert_eq!(age_on(d("2030-01-01"), d("2026-03-01")), 0);
    }

    #[test]
    fn month_forms() {
        let m = Month::parse("2026-06").unwrap();
        assert_eq!(Month::parse("202606"), Ok(m));
        assert_eq!(m.to_string(), "2026-06");
        assert_eq!(m.first_day(), d("2026-06-01"));
        assert_eq!(Month::parse("2024-02").unwrap().last_day(), d("2024-02-29"));
        assert_eq!((m + -6).to_string(), "2025-12");
        assert_eq!(m - 6, m + -6);
        assert_eq!(Month::parse("2026-13"), Err(DateError::NoSuchDay));
        assert_eq!(Month::parse("2026-6"), Err(DateError::Format));
        assert_eq!(d("2026-06-30").month(), m);
    }

    proptest! {
        #[test]
        fn days_round_trip(days in -700_000i32..2_900_000) {
            let date = Date::from_days(days);
            let (y, m, dd) = date.ymd();
            prop_assert_eq!(Date::from_ymd(y, m, dd), Some(date));
            prop_assert_eq!(Date::parse(&date.to_string()), Ok(date));
        }
    }
}
