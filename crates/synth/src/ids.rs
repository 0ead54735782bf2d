//! Identifier numbers of the city: resident IDs that are valid and unique without holding the
//! persons (a counter per address code, birth date and gender), the ways clerks mistype them,
//! and unified social credit codes of businesses.

use crate::Rng64;
use domain::{Date, Gender};

/// How far back birth dates go, in years before the as-of date.
const MAX_AGE_YEARS: i32 = 115;

/// Hands out unique, valid resident ID numbers. Sequence numbers run through a fixed
/// permutation per address code and birth date, so numbers look scattered but never repeat.
pub struct IdAllocator {
    addresses: Vec<[u8; 6]>,
    first_day: i32,
    days: usize,
    counters: Vec<u16>,
}

impl IdAllocator {
    /// An allocator for persons born in the `MAX_AGE_YEARS` before `as_of`, with the 6-digit
    /// address codes that may appear in numbers (the first is the default).
    pub fn new(as_of: Date, addresses: &[[u8; 6]]) -> IdAllocator {
        let first_day = as_of.add_months(-12 * MAX_AGE_YEARS).days();
        let days = (as_of.days() - first_day + 1) as usize;
        IdAllocator {
            addresses: addresses.to_vec(),
            first_day,
            days,
            counters: vec![0; addresses.len() * days * 2],
        }
    }

    /// A new ID for a person born on `birth`, preferably with address code number `address`;
    /// when that code has used up its sequence numbers for the day, the next code is used.
    /// `None` only when every code is exhausted for that day (about 500 000 births a day).
    pub fn allocate(&mut self, address: usize, birth: Date, gender: Gender) -> Option<String> {
        let day = (birth.days() - self.first_day).clamp(0, self.days as i32 - 1) as usize;
        let g = usize::from(gender == Gender::Female);
        for step in 0..self.addresses.len() {
            let a = (address + step) % self.addresses.len();
            let slot = (a * self.days + day) * 2 + g;
            let k = u32::from(self.counters[slot]);
            let offset = (slot as u32).wrapping_mul(2_654_435_761) >> 7;
            let seq = match gender {
                Gender::Male if k < 500 => 2 * ((k * 37 + offset) % 500) + 1,
                Gender::Female if k < 499 => 2 * (1 + (k * 37 + offset) % 499),
                _ => continue,
            };
            self.counters[slot] += 1;
            let (y, m, d) = birth.ymd();
            let addr = std::str::from_utf8(&self.addresses[a]).unwrap_or("990101");
            let first17 = format!("{addr}{y:04}{m:02}{d:02}{seq:03}");
            let check = domain::id::check_char(first17.as_bytes()) as char;
            return Some(format!("{first17}{check}"));
        }
        None
    }
}

/// How a person_id was mistyped in a department's extract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdNoise {
    /// One digit changed (the check character then fails).
    ChangedDigit,
    /// Two adjacent different digits swapped.
    SwappedPair,
    /// A wrong check character.
    WrongCheck,
    /// One digit left out (17 characters).
    DroppedDigit,
    /// The valid 15-digit legacy form (converted and linked directly by the importer).
    Legacy15,
    /// No person_id at all.
    Missing,
}

impl IdNoise {
    /// The code written to the ground truth.
    pub fn as_str(self) -> &'static str {
        match self {
            IdNoise::ChangedDigit => "changed_digit",
            IdNoise::SwappedPair => "swapped_pair",
            IdNoise::WrongCheck => "wrong_check",
            IdNoise::DroppedDigit => "dropped_digit",
            IdNoise::Legacy15 => "legacy_15",
            IdNoise::Missing => "missing",
        }
    }

    /// Every kind, in the proportions extracts show them.
    const WEIGHTED: [IdNoise; 10] = [
        IdNoise::ChangedDigit,
        IdNoise::ChangedDigit,
        IdNoise::SwappedPair,
        IdNoise::SwappedPair,
        IdNoise::WrongCheck,
        IdNoise::WrongCheck,
        IdNoise::DroppedDigit,
        IdNoise::Legacy15,
        IdNoise::Legacy15,
        IdNoise::Missing,
    ];

    /// A kind drawn by its share.
    pub fn draw(rng: &mut Rng64) -> IdNoise {
        *rng.pick(&Self::WEIGHTED)
    }
}

/// The mistyped form of a valid 18-character `id`. Kinds that cannot apply (a legacy form for
/// someone born after 1999, a swap in a number without two different adjacent digits) fall
/// back to a changed digit. Every result but `Legacy15` is an invalid ID number.
pub fn mistype(id: &str, kind: IdNoise, rng: &mut Rng64) -> (String, IdNoise) {
    let b = id.as_bytes();
    match kind {
        IdNoise::Missing => (String::new(), kind),
        IdNoise::Legacy15 if b.len() == 18 && &b[6..8] == b"19" => {
            let mut out = String::with_capacity(15);
            out.push_str(&id[..6]);
            out.push_str(&id[8..17]);
            (out, kind)
        }
        IdNoise::WrongCheck if b.len() == 18 => {
            let mut out = b.to_vec();
            let choices = b"0123456789X";
            loop {
                let c = *rng.pick(choices);
                if c != b[17] {
                    out[17] = c;
                    break;
                }
            }
            (String::from_utf8_lossy(&out).into_owned(), kind)
        }
        IdNoise::SwappedPair if b.len() == 18 => {
            let start = rng.below(16) as usize;
            let pos = (0..16)
                .map(|i| (start + i) % 16)
                .find(|&i| b[i] != b[i + 1]);
            match pos {
                Some(i) => {
                    let mut out = b.to_vec();
                    out.swap(i, i + 1);
                    (String::from_utf8_lossy(&out).into_owned(), kind)
                }
                None => mistype(id, IdNoise::ChangedDigit, rng),
            }
        }
        IdNoise::DroppedDigit if b.len() == 18 => {
            let pos = rng.below(17) as usize;
            let mut out = b.to_vec();
            out.remove(pos);
            (String::from_utf8_lossy(&out).into_owned(), kind)
        }
        _ => {
            let mut out = b.to_vec();
            if out.len() < 17 {
                return (String::new(), IdNoise::Missing);
            }
            let pos = rng.below(17) as usize;
            let old = out[pos];
            let delta = 1 + rng.below(9) as u8;
            out[pos] = b'0' + (old - b'0' + delta) % 10;
            (
                String::from_utf8_lossy(&out).into_owned(),
                IdNoise::ChangedDigit,
            )
        }
    }
}

const ORG_ALPHABET: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// A unified social credit code (GB 32100-2015) registered in county `county6`: registration
/// authority 9 (market regulation), category 1 (enterprise) or 2 (individual business), the
/// county code, a 9-character organisation code with its GB 11714 check, and the check
/// character of the whole.
pub fn credit_code(rng: &mut Rng64, county6: &str, individual: bool) -> String {
    let mut first17 = String::with_capacity(18);
    first17.push('9');
    first17.push(if individual { '2' } else { '1' });
    first17.push_str(county6);
    // Organisation code body: eight digits, then its MOD 11 check (X for 10).
    const WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    let mut sum = 0;
    for w in WEIGHTS {
        let d = rng.below(10) as u32;
        sum += d * w;
        first17.push(char::from(b'0' + d as u8));
    }
    let c9 = 11 - sum % 11;
    first17.push(match c9 {
        10 => 'X',
        11 => '0',
        d => char::from(b'0' + d as u8),
    });
    let check = domain::credit::credit_check_char(first17.as_bytes()).map_or('0', char::from);
    debug_assert!(ORG_ALPHABET.contains(&(check as u8)));
    first17.push(check);
    first17
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::ResidentId;

    fn day(y: i32, m: u32, d: u32) -> Date {
        Date::from_ymd(y, m, d).unwrap_or(Date::from_days(0))
    }

    #[test]
    fn allocated_ids_are_valid_unique_and_carry_birth_date_and_gender() {
        let mut alloc = IdAllocator::new(day(2026, 6, 30), &[*b"990101", *b"990102"]);
        let birth = day(1980, 2, 29);
        let mut seen = std::collections::HashSet::new();
        for i in 0..1200 {
            let gender = if i % 2 == 0 {
                Gender::Male
            } else {
                Gender::Female
            };
            let text = alloc.allocate(0, birth, gender).unwrap_or_default();
            let id = ResidentId::parse(&text).map_err(|e| e.to_string());
            let Ok(id) = id else {
                panic!("invalid id: {id:?}")
            };
            assert_eq!(id.birth_date(), birth);
            assert_eq!(id.gender(), gender);
            assert!(seen.insert(text));
        }
        // 1200 persons on one day overflow the first address code into the second.
        assert!(seen.iter().any(|s| s.starts_with("990102")));
    }

    #[test]
    fn mistyped_ids_are_invalid_except_the_legacy_form() {
        let mut alloc = IdAllocator::new(day(2026, 6, 30), &[*b"990101"]);
        let mut rng = Rng64::new(3);
        for i in 0..500 {
            let birth = day(1950 + i % 70, 1 + (i % 12) as u32, 1 + (i % 28) as u32);
            let id = alloc.allocate(0, birth, Gender::Male).unwrap_or_default();
            let kind = IdNoise::draw(&mut rng);
            let (typed, applied) = mistype(&id, kind, &mut rng);
            match applied {
                IdNoise::Legacy15 => {
                    assert_eq!(typed.len(), 15);
                    let parsed = ResidentId::parse(&typed).map(|p| p.as_str().to_string());
                    assert_eq!(parsed.as_deref(), Ok(id.as_str()));
                }
                IdNoise::Missing => assert!(typed.is_empty()),
                _ => assert!(ResidentId::parse(&typed).is_err(), "{:?}", applied),
            }
        }
    }

    #[test]
    fn credit_codes_pass_the_checksum() {
        let mut rng = Rng64::new(9);
        for i in 0..200 {
            let code = credit_code(&mut rng, "990103", i % 2 == 0);
            assert!(domain::CreditCode::parse(&code).is_ok(), "{code}");
        }
    }
}
