//! The record a caller hands to linkage, and its prepared form (normalised keys computed once).

use crate::idnumber::normalized_id;
use crate::name::{is_han, pinyin, simplify, split_full_name, surname_pinyin};
use domain::ShortText;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

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
        let mut put = |at: usize, width: usize, mut n: u32| {
            for slot in out[at..at + width].iter_mut().rev() {
                *slot = b'0' + (n % 10) as u8;
                n /= 10;
            }
        };
        put(0, 4, u32::from(self.year % 10000));
        put(4, 2, u32::from(self.month % 100));
        put(6, 2, u32::from(self.day % 100));
        out
    }
}

/// A record with every comparison key computed once. The name parts are shared by every
/// record of the same full name (see [`Preparer`]) and the rarer parts of an address are
/// boxed: a register of ten million persons is held prepared.
#[derive(Clone, Default)]
#[cfg_attr(test, derive(PartialEq, Debug))]
pub(crate) struct Prepared {
    pub names: Arc<NameParts>,
    pub birth: Option<BirthDate>,
    pub birth_digits: [u8; 8],
    /// The symbol counts of `birth_digits` (as `id_symbols` of the ID).
    pub birth_symbols: [u8; 16],
    /// The identity number, normalised, held in the record: blocking reads it for every
    /// record of a register, and a copy on the heap was a cache miss each.
    pub id: ShortText,
    /// The hashes of the surname and given name in pinyin ([`Hashed::hash`]), held in the
    /// record for the same reason: blocking on a name reads them without the name parts.
    pub name_hashes: [u64; 2],
    /// The identity number is a valid resident ID (checksum and birth date hold).
    pub id_valid: bool,
    /// How often each symbol occurs in the identity number, by its byte modulo 16 (see
    /// [`crate::similarity::symbol_bound`]), counted once rather than for every pair.
    pub id_symbols: [u8; 16],
    pub gender: Option<domain::Gender>,
    /// Middle initial and address; `None` when the record has none of them.
    place: Option<Box<Place>>,
}

/// What a record's name gives: surname and given name as written, simplified and in pinyin.
#[derive(Clone, Default)]
#[cfg_attr(test, derive(PartialEq, Debug))]
pub(crate) struct NameParts {
    pub surname: Hashed,
    pub given: Hashed,
    pub surname_simplified: Hashed,
    pub given_simplified: Hashed,
    pub surname_pinyin: Hashed,
    pub given_pinyin: Hashed,
    pub han: bool,
}

/// A text with its hash beside it: two texts of a pair of names mostly differ, and the hashes
/// tell so without comparing the bytes (equal hashes are confirmed by the texts).
#[derive(Clone, Default)]
#[cfg_attr(test, derive(Debug))]
pub(crate) struct Hashed {
    text: String,
    hash: u64,
    chars: u32,
}

impl Hashed {
    pub fn new(text: String) -> Hashed {
        let hash = crate::blocking::fnv(crate::blocking::FNV_START, text.as_bytes());
        let chars = u32::try_from(text.chars().count()).unwrap_or(u32::MAX);
        Hashed { text, hash, chars }
    }

    /// The number of characters, counted once.
    pub fn char_count(&self) -> u32 {
        self.chars
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// FNV-1a of the text from [`crate::blocking::FNV_START`]: what a blocking key that starts
    /// with this text hashes it to.
    pub fn hash(&self) -> u64 {
        self.hash
    }
}

impl std::ops::Deref for Hashed {
    type Target = str;
    fn deref(&self) -> &str {
        &self.text
    }
}

impl PartialEq for Hashed {
    fn eq(&self, other: &Hashed) -> bool {
        self.hash == other.hash && self.text == other.text
    }
}

impl Eq for Hashed {}

impl PartialEq<&str> for Hashed {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl PartialOrd for Hashed {
    fn partial_cmp(&self, other: &Hashed) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Hashed {
    fn cmp(&self, other: &Hashed) -> std::cmp::Ordering {
        self.text.cmp(&other.text)
    }
}

/// The middle initial and the address of a record, cleaned.
#[derive(Clone, Default, PartialEq, Eq)]
#[cfg_attr(test, derive(Debug))]
pub(crate) struct Place {
    pub middle: String,
    pub region: String,
    pub street_number: String,
    pub street: String,
    pub locality: String,
    pub postcode: String,
}

/// The place of a record without one.
static NO_PLACE: Place = Place {
    middle: String::new(),
    region: String::new(),
    street_number: String::new(),
    street: String::new(),
    locality: String::new(),
    postcode: String::new(),
};

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
        let names = NameParts::of(r);
        let hashes = names.pinyin_hashes();
        Prepared::with_names(r, names, hashes)
    }

    /// The prepared record of `r` whose name parts are `names`.
    fn with_names(r: &Record, names: Arc<NameParts>, name_hashes: [u64; 2]) -> Prepared {
        let place = Place {
            middle: clean(&r.middle_initial),
            region: clean(&r.region),
            street_number: clean(&r.street_number),
            street: clean(&r.street),
            locality: clean(&r.locality),
            postcode: clean(&r.postcode),
        }
        .with_region_in_address();
        let place = (place != NO_PLACE).then(|| Box::new(place));
        let id = r.id_number.as_deref();
        Prepared::of_parts(id, r.birth_date, r.gender, place, names, name_hashes)
    }

    /// The prepared record of an ID number, birth date, gender and place whose name parts
    /// are `names`.
    fn of_parts(
        id_number: Option<&str>,
        birth: Option<BirthDate>,
        gender: Option<domain::Gender>,
        place: Option<Box<Place>>,
        names: Arc<NameParts>,
        name_hashes: [u64; 2],
    ) -> Prepared {
        let id = id_number.map(normalized_id).unwrap_or_default();
        let id_valid = id.len() == 18 && domain::ResidentId::parse(&id).is_ok();
        let birth_digits = birth.map(|b| b.digits()).unwrap_or([0; 8]);
        Prepared {
            birth,
            birth_digits,
            birth_symbols: crate::similarity::symbol_counts(&birth_digits),
            id_symbols: crate::similarity::symbol_counts(id.as_bytes()),
            name_hashes,
            names,
            id: ShortText::new(&id),
            id_valid,
            gender,
            place,
        }
    }

    /// The middle initial and address (empty parts when the record has none).
    pub(crate) fn place(&self) -> &Place {
        self.place.as_deref().unwrap_or(&NO_PLACE)
    }
}

impl Place {
    /// Chinese addresses have no postcode: the village code plays its part and the township
    /// code that of the locality, so that the address is one comparison (household members
    /// share street, village and township; counting them separately would outweigh the
    /// evidence that tells them apart).
    fn with_region_in_address(mut self) -> Place {
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

impl NameParts {
    /// The hashes of the surname and the given name in pinyin.
    fn pinyin_hashes(&self) -> [u64; 2] {
        [self.surname_pinyin.hash(), self.given_pinyin.hash()]
    }

    fn of(r: &Record) -> Arc<NameParts> {
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
        Arc::new(NameParts {
            surname_pinyin: Hashed::new(surname_pinyin(&surname_simplified)),
            given_pinyin: Hashed::new(pinyin(&given_simplified)),
            surname_simplified: Hashed::new(surname_simplified),
            given_simplified: Hashed::new(given_simplified),
            surname: Hashed::new(surname),
            given: Hashed::new(given),
            han,
        })
    }
}

/// Distinct full names a [`Preparer`] remembers (beyond it, names are prepared each time).
const NAME_CACHE: usize = 1 << 20;

/// Prepares records one by one into [`PreparedRecords`], remembering the parts of the full
/// names it has seen: in a register many persons share a name (王伟, 张静 …), splitting,
/// simplifying and romanising a name costs more than the rest of a record, and the records of
/// one name share its parts instead of holding six strings each.
#[derive(Default)]
pub struct Preparer {
    /// Full name → its parts and their pinyin hashes. A short name is held in the table
    /// itself, and the hashes beside the parts: finding a name and its hashes reads no other
    /// memory (a heap copy of each name and the parts' own hashes were cache misses).
    names: HashMap<ShortText, (Arc<NameParts>, [u64; 2]), crate::blocking::FxBuild>,
    out: Vec<Prepared>,
}

impl Preparer {
    /// A preparer with room for `n` records.
    pub fn with_capacity(n: usize) -> Preparer {
        Preparer {
            names: HashMap::default(),
            out: Vec::with_capacity(n),
        }
    }

    /// Prepares `r` and appends it.
    pub fn push(&mut self, r: &Record) {
        let p = self.prepare(r);
        self.out.push(p);
    }

    /// Prepares the record of a full name, a birth date and an ID number alone (a person of
    /// a register) and appends it: the same as [`Preparer::push`] of such a record, without
    /// copying the texts into one.
    pub fn push_person(
        &mut self,
        full_name: Option<&str>,
        birth_date: Option<BirthDate>,
        id_number: Option<&str>,
    ) {
        let (names, hashes) = match full_name {
            Some(full) => self.names_of(full),
            None => {
                let parts = NameParts::of(&Record::default());
                let hashes = parts.pinyin_hashes();
                (parts, hashes)
            }
        };
        let p = Prepared::of_parts(id_number, birth_date, None, None, names, hashes);
        self.out.push(p);
    }

    fn prepare(&mut self, r: &Record) -> Prepared {
        // the name parts depend on the full name alone when no separate parts are given
        let (Some(full), None, None) = (&r.full_name, &r.surname, &r.given_name) else {
            return Prepared::new(r);
        };
        let (names, hashes) = self.names_of(full);
        Prepared::with_names(r, names, hashes)
    }

    /// The parts of a full name and their pinyin hashes, from the names seen before.
    fn names_of(&mut self, full: &str) -> (Arc<NameParts>, [u64; 2]) {
        match self.names.get(full) {
            Some((parts, hashes)) => (Arc::clone(parts), *hashes),
            None => {
                let parts = NameParts::of(&Record {
                    full_name: Some(full.to_string()),
                    ..Record::default()
                });
                let hashes = parts.pinyin_hashes();
                if self.names.len() < NAME_CACHE {
                    self.names
                        .insert(ShortText::new(full), (Arc::clone(&parts), hashes));
                }
                (parts, hashes)
            }
        }
    }

    /// The records prepared so far, in the order they were pushed; the names seen are kept
    /// for the records still to come.
    pub fn take(&mut self) -> PreparedRecords {
        PreparedRecords(std::mem::take(&mut self.out))
    }

    /// The prepared records, in the order they were pushed.
    pub fn finish(self) -> PreparedRecords {
        PreparedRecords(self.out)
    }
}

/// Records prepared for linking once (names split and romanised, characters simplified, IDs
/// normalised), held without the records they came from: a register of ten million persons is
/// prepared while it is read, chunk by chunk on every core, and never held twice.
#[derive(Clone, Default)]
pub struct PreparedRecords(Vec<Prepared>);

impl PreparedRecords {
    /// The records of `parts`, taken one after the other, in the order `order` gives (a
    /// permutation of their positions: the record at `order[0]` first) — one copy of the
    /// records, where appending the parts and then reordering them made two (a register of
    /// ten million records is a gigabyte each time).
    pub fn gathered(parts: Vec<PreparedRecords>, order: &[u32]) -> PreparedRecords {
        // taken out of options, not swapped with defaults: a default record allocates
        let mut from: Vec<Vec<Option<Prepared>>> = parts
            .into_iter()
            .map(|p| p.0.into_iter().map(Some).collect())
            .collect();
        let mut starts = Vec::with_capacity(from.len());
        let mut total = 0usize;
        for part in &from {
            starts.push(total);
            total += part.len();
        }
        let mut take = |k: usize| {
            let part = starts.partition_point(|&s| s <= k).checked_sub(1)?;
            from[part].get_mut(k - starts[part]).and_then(Option::take)
        };
        PreparedRecords(order.iter().filter_map(|&k| take(k as usize)).collect())
    }

    /// Copies of the records at `positions`, in that order.
    pub fn keep(&self, positions: &[usize]) -> PreparedRecords {
        PreparedRecords(
            positions
                .iter()
                .filter_map(|&i| self.0.get(i).cloned())
                .collect(),
        )
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn get(&self, j: usize) -> Option<&Prepared> {
        self.0.get(j)
    }

    pub(crate) fn into_vec(self) -> Vec<Prepared> {
        self.0
    }

    pub(crate) fn as_slice(&self) -> &[Prepared] {
        &self.0
    }
}

impl fmt::Debug for PreparedRecords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PreparedRecords {{ len: {}, .. }}", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_preparer_remembers_names_without_changing_records() {
        let records = [
            ("张伟", None, "110105199001011234"),
            ("張偉", None, "110105199001011235"),
            ("张伟", None, "11010519900101123"),
            ("欧阳小明", None, ""),
            ("John Smith", None, "X1"),
            ("张伟", Some("王"), "1"),
        ]
        .map(|(full, surname, id)| Record {
            full_name: Some(full.into()),
            surname: surname.map(Into::into),
            id_number: Some(id.into()),
            ..Record::default()
        });
        let mut preparer = Preparer::default();
        for r in records.iter().chain(&records) {
            preparer.push(r);
        }
        let prepared = preparer.finish();
        assert_eq!(prepared.len(), 2 * records.len());
        for (k, r) in records.iter().chain(&records).enumerate() {
            assert_eq!(prepared.get(k), Some(&Prepared::new(r)), "record {k}");
        }
        // the records of one full name share its parts
        let (first, third) = (prepared.get(0).unwrap(), prepared.get(2).unwrap());
        assert!(Arc::ptr_eq(&first.names, &third.names));
        // gathered from two parts, in the order given
        let (mut front, mut back) = (Preparer::default(), Preparer::default());
        for (k, r) in records.iter().chain(&records).enumerate() {
            if k < 4 { &mut front } else { &mut back }.push(r);
        }
        let order = [5, 0, 3, 1, 2, 4, 6, 7, 8, 9, 10, 11];
        let gathered = PreparedRecords::gathered(vec![front.finish(), back.finish()], &order);
        assert_eq!(gathered.len(), prepared.len());
        for (k, &from) in order.iter().enumerate() {
            let from = from as usize % records.len();
            assert_eq!(gathered.get(k), Some(&Prepared::new(&records[from])), "{k}");
        }
        let kept = prepared.keep(&[1, 4, 11]);
        assert_eq!(kept.len(), 3);
        assert_eq!(kept.get(1), Some(&Prepared::new(&records[4])));
        assert_eq!(kept.get(2), Some(&Prepared::new(&records[5])));
    }

    #[test]
    fn a_register_person_is_prepared_as_its_record() {
        let born = BirthDate::parse_loose("1990-01-01");
        let persons = [
            (Some("张伟"), born, Some("110105199001011234")),
            (Some("張偉"), None, Some("11010519900101123x")),
            (Some("张伟"), born, Some("110105900101123")),
            (Some("John Smith"), born, Some(" 1101-0519 9001011234 ")),
            (None, born, Some("110105199001011234")),
            (Some("欧阳小明"), None, None),
        ];
        let mut preparer = Preparer::default();
        for (name, birth, id) in persons {
            preparer.push_person(name, birth, id);
        }
        let prepared = preparer.finish();
        for (k, (name, birth, id)) in persons.into_iter().enumerate() {
            let record = Record {
                full_name: name.map(Into::into),
                birth_date: birth,
                id_number: id.map(Into::into),
                ..Record::default()
            };
            assert_eq!(prepared.get(k), Some(&Prepared::new(&record)), "person {k}");
        }
        // a lower-case check character and a 15-digit number are put in their normal form
        assert_eq!(prepared.get(1).unwrap().id.as_str(), "11010519900101123X");
        assert_eq!(prepared.get(2).unwrap().id.len(), 18);
    }

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
    fn short_texts_in_place_and_on_the_heap() {
        for text in [
            "",
            "11010119900307001X",
            "a text of twenty-two b",
            "身份证号码是这个",
        ] {
            let t = ShortText::new(text);
            assert_eq!(t.as_str(), text);
            assert_eq!(t.len(), text.len());
            assert_eq!(
                matches!(t, ShortText::Inline(..)),
                text.len() <= 22,
                "{text}"
            );
        }
        assert_ne!(ShortText::new("12"), ShortText::new("1"));
        let empty = crate::blocking::fnv(crate::blocking::FNV_START, b"");
        assert_eq!(Prepared::new(&Record::default()).name_hashes, [empty; 2]);
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
        assert_eq!(p.names.surname_simplified, "单");
        assert_eq!(p.names.surname_pinyin, "shan");
        assert_eq!(p.names.given_pinyin, "wei");
        assert!(p.names.han);
    }
}
