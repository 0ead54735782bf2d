//! The comparisons of a record pair and their graded levels (best first, the last level is
//! "different"). A comparison where either side lacks the field is null and carries no weight.

use crate::idnumber::{IdAgreement, compare_ids};
use crate::record::{Hashed, Prepared};
use crate::similarity::{edit_distance_counted, jaro_winkler, symbol_bound_of, within_one_edit};

/// Level value meaning "a side lacks the field".
pub(crate) const NULL: u8 = u8::MAX;

/// One field-level comparison of the Fellegi-Sunter model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Comparison {
    /// Given name (名).
    GivenName,
    /// Surname (姓).
    Surname,
    /// Middle initial.
    MiddleInitial,
    /// Date of birth.
    BirthDate,
    /// Identity number.
    IdNumber,
    /// Gender.
    Gender,
    /// Address as one comparison: house number, street, locality and postcode are not
    /// independent evidence (members of one household share all of them).
    Address,
    /// Statistical division code of residence.
    Region,
}

const NAME_LEVELS: &[&str] = &[
    "exact characters",
    "traditional/simplified equivalent",
    "same pinyin (homophone)",
    "one character different or Jaro-Winkler >= 0.92",
    "Jaro-Winkler >= 0.80 on pinyin",
    "different",
];

impl Comparison {
    /// Every comparison, in the order of the model.
    pub const ALL: [Comparison; 8] = [
        Comparison::GivenName,
        Comparison::Surname,
        Comparison::MiddleInitial,
        Comparison::BirthDate,
        Comparison::IdNumber,
        Comparison::Gender,
        Comparison::Address,
        Comparison::Region,
    ];

    /// Canonical English name.
    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::GivenName => "given_name",
            Comparison::Surname => "surname",
            Comparison::MiddleInitial => "middle_initial",
            Comparison::BirthDate => "birth_date",
            Comparison::IdNumber => "id_number",
            Comparison::Gender => "gender",
            Comparison::Address => "address",
            Comparison::Region => "region",
        }
    }

    /// Labels of the levels, best first; the last is "different".
    pub fn levels(self) -> &'static [&'static str] {
        match self {
            Comparison::GivenName | Comparison::Surname => NAME_LEVELS,
            Comparison::MiddleInitial | Comparison::Gender => &["equal", "different"],
            Comparison::BirthDate => &[
                "exact",
                "day and month swapped",
                "one digit different",
                "one of year, month, day different",
                "two digits different",
                "different",
            ],
            Comparison::IdNumber => &[
                "exact",
                "check character differs",
                "adjacent digits swapped",
                "edit distance 1",
                "edit distance 2",
                "two different valid resident IDs",
                "different",
            ],
            Comparison::Address => &[
                "number, street and postcode equal",
                "street similar and postcode or number equal",
                "postcode and locality equal",
                "postcode or locality equal",
                "only the number or the street agrees",
                "different",
            ],
            Comparison::Region => &["same village", "same township", "same county", "different"],
        }
    }

    /// Prior m probabilities (among true matches), used to start EM and as the model when
    /// there is too little data to train.
    pub(crate) fn default_m(self) -> &'static [f64] {
        match self {
            Comparison::GivenName | Comparison::Surname => &[0.80, 0.02, 0.03, 0.08, 0.03, 0.04],
            Comparison::MiddleInitial => &[0.9, 0.1],
            Comparison::Gender => &[0.98, 0.02],
            Comparison::BirthDate => &[0.88, 0.01, 0.05, 0.03, 0.01, 0.02],
            Comparison::IdNumber => &[0.88, 0.01, 0.03, 0.05, 0.01, 0.0001, 0.0199],
            Comparison::Address => &[0.6, 0.2, 0.1, 0.05, 0.03, 0.02],
            Comparison::Region => &[0.85, 0.05, 0.05, 0.05],
        }
    }

    /// A level whose m is fixed by the domain rather than estimated: two different valid
    /// resident IDs almost never belong to one person (the MOD 11-2 check character catches
    /// every single-digit error and adjacent swap), however much else agrees (twins).
    pub(crate) fn fixed_m(self) -> Option<(usize, f64)> {
        match self {
            Comparison::IdNumber => Some((5, 0.0001)),
            _ => None,
        }
    }

    /// Number of levels.
    pub fn level_count(self) -> usize {
        self.levels().len()
    }

    /// True when the record carries the field this comparison needs.
    pub(crate) fn present(self, p: &Prepared) -> bool {
        match self {
            Comparison::GivenName => !p.names.given.is_empty(),
            Comparison::Surname => !p.names.surname.is_empty(),
            Comparison::MiddleInitial => !p.place().middle.is_empty(),
            Comparison::BirthDate => p.birth.is_some(),
            Comparison::IdNumber => !p.id.is_empty(),
            Comparison::Gender => p.gender.is_some(),
            Comparison::Address => !p.place().street.is_empty() || !p.place().postcode.is_empty(),
            Comparison::Region => !p.place().region.is_empty(),
        }
    }
}

/// Level of two names (surname or given name), given their raw, simplified and pinyin forms.
pub(crate) fn name_level(
    raw: (&Hashed, &Hashed),
    simplified: (&Hashed, &Hashed),
    pinyin: (&Hashed, &Hashed),
    han: bool,
) -> u8 {
    if raw.0.is_empty() || raw.1.is_empty() {
        return NULL;
    }
    if raw.0 == raw.1 {
        return 0;
    }
    if simplified.0 == simplified.1 {
        return 1;
    }
    if !pinyin.0.is_empty() && pinyin.0 == pinyin.1 {
        return 2;
    }
    let long_enough = || simplified.0.char_count() >= 2 && simplified.1.char_count() >= 2;
    if han && long_enough() && within_one_edit(simplified.0, simplified.1) {
        return 3;
    }
    let jw = jaro_winkler(pinyin.0, pinyin.1);
    if jw >= 0.92 {
        3
    } else if jw >= 0.80 {
        4
    } else {
        5
    }
}

fn given_level(a: &Prepared, b: &Prepared) -> u8 {
    name_level(
        (&a.names.given, &b.names.given),
        (&a.names.given_simplified, &b.names.given_simplified),
        (&a.names.given_pinyin, &b.names.given_pinyin),
        a.names.han || b.names.han,
    )
}

fn surname_level(a: &Prepared, b: &Prepared) -> u8 {
    name_level(
        (&a.names.surname, &b.names.surname),
        (&a.names.surname_simplified, &b.names.surname_simplified),
        (&a.names.surname_pinyin, &b.names.surname_pinyin),
        a.names.han || b.names.han,
    )
}

/// Name levels (given, surname) with swapped surname and given name recognised: when the
/// crossed comparison agrees (same pinyin or better on both) and the straight one does not,
/// the crossed levels are used. Returns (given, surname, swapped).
pub(crate) fn name_levels(a: &Prepared, b: &Prepared) -> (u8, u8, bool) {
    let g = given_level(a, b);
    let s = surname_level(a, b);
    let score = |x: u8| if x == NULL { 6 } else { x };
    if score(g) <= 2 && score(s) <= 2 {
        return (g, s, false);
    }
    // the crossed levels count only when both reach "same pinyin" (levels 0 to 2), which
    // needs equal simplified forms or equal non-empty pinyin: most pairs fail this at once
    let crossed_agree =
        |x_simplified: &Hashed, y_simplified: &Hashed, x_pinyin: &Hashed, y_pinyin: &Hashed| {
            x_simplified == y_simplified || (!x_pinyin.is_empty() && x_pinyin == y_pinyin)
        };
    if !crossed_agree(
        &a.names.given_simplified,
        &b.names.surname_simplified,
        &a.names.given_pinyin,
        &b.names.surname_pinyin,
    ) || !crossed_agree(
        &a.names.surname_simplified,
        &b.names.given_simplified,
        &a.names.surname_pinyin,
        &b.names.given_pinyin,
    ) {
        return (g, s, false);
    }
    let gs = name_level(
        (&a.names.given, &b.names.surname),
        (&a.names.given_simplified, &b.names.surname_simplified),
        (&a.names.given_pinyin, &b.names.surname_pinyin),
        a.names.han || b.names.han,
    );
    let sg = name_level(
        (&a.names.surname, &b.names.given),
        (&a.names.surname_simplified, &b.names.given_simplified),
        (&a.names.surname_pinyin, &b.names.given_pinyin),
        a.names.han || b.names.han,
    );
    if gs != NULL && sg != NULL && gs.max(sg) <= 2 && score(gs) + score(sg) < score(g) + score(s) {
        (gs, sg, true)
    } else {
        (g, s, false)
    }
}

fn birth_level(a: &Prepared, b: &Prepared) -> u8 {
    let (Some(x), Some(y)) = (a.birth, b.birth) else {
        return NULL;
    };
    if x == y {
        return 0;
    }
    if x.year == y.year && x.month == y.day && x.day == y.month {
        return 1;
    }
    let d = edit_distance_counted(
        (&a.birth_digits, &a.birth_symbols),
        (&b.birth_digits, &b.birth_symbols),
        2,
    );
    if d == 1 {
        return 2;
    }
    let same = u8::from(x.year == y.year) + u8::from(x.month == y.month) + u8::from(x.day == y.day);
    if same == 2 {
        3
    } else if d == 2 {
        4
    } else {
        5
    }
}

fn id_level(a: &Prepared, b: &Prepared) -> u8 {
    if a.id.is_empty() || b.id.is_empty() {
        return NULL;
    }
    // the MOD 11-2 check character catches every single-digit error and adjacent swap: two
    // different valid resident IDs belong to different people (twins share all but a few digits)
    if a.id_valid && b.id_valid && a.id != b.id {
        return 5;
    }
    // what `compare_ids` tells first, from the counts of the records
    if symbol_bound_of(&a.id_symbols, &b.id_symbols) > 2 {
        return 6;
    }
    match compare_ids(a.id.as_bytes(), b.id.as_bytes()) {
        IdAgreement::Exact => 0,
        IdAgreement::CheckCharacter => 1,
        IdAgreement::Transposition => 2,
        IdAgreement::OneEdit => 3,
        // resident IDs embed region and birth date: two edits apart is what a twin's
        // number with one typo looks like, so it is no evidence for them
        IdAgreement::TwoEdits if a.id.len() == 18 && b.id.len() == 18 => 6,
        IdAgreement::TwoEdits => 4,
        IdAgreement::Different => 6,
    }
}

fn equal_nonempty(x: &str, y: &str) -> bool {
    !x.is_empty() && x == y
}

fn address_level(a: &Prepared, b: &Prepared) -> u8 {
    if !Comparison::Address.present(a) || !Comparison::Address.present(b) {
        return NULL;
    }
    let street_eq = equal_nonempty(&a.place().street, &b.place().street);
    let number_eq = equal_nonempty(&a.place().street_number, &b.place().street_number);
    let postcode_eq = equal_nonempty(&a.place().postcode, &b.place().postcode);
    let no_number = a.place().street_number.is_empty() && b.place().street_number.is_empty();
    let no_postcode = a.place().postcode.is_empty() && b.place().postcode.is_empty();
    if street_eq && (number_eq || no_number) && (postcode_eq || no_postcode) {
        return 0;
    }
    let street_close = street_eq
        || (!a.place().street.is_empty()
            && !b.place().street.is_empty()
            && jaro_winkler(&a.place().street, &b.place().street) >= 0.9);
    if street_close && (postcode_eq || number_eq || (no_number && no_postcode)) {
        return 1;
    }
    let locality_eq = equal_nonempty(&a.place().locality, &b.place().locality);
    // without a shared household, a match rarely loses every part of its address at once:
    // "nothing agrees" is kept apart from "only the number or the street agrees"
    if postcode_eq && locality_eq {
        2
    } else if postcode_eq || locality_eq {
        3
    } else if number_eq || street_close {
        4
    } else {
        5
    }
}

fn region_level(a: &Prepared, b: &Prepared) -> u8 {
    let (x, y) = (a.place().region.as_bytes(), b.place().region.as_bytes());
    if x.is_empty() || y.is_empty() {
        return NULL;
    }
    let common = x.iter().zip(y).take_while(|(p, q)| p == q).count();
    if x == y {
        0
    } else if common >= 9 {
        1
    } else if common >= 6 {
        2
    } else {
        3
    }
}

/// Computes the levels of `comparisons` for one pair into `out` (same length); returns
/// whether the names were compared crossed (surname ↔ given name).
pub(crate) fn levels(
    comparisons: &[Comparison],
    a: &Prepared,
    b: &Prepared,
    out: &mut [u8],
) -> bool {
    let mut names: Option<(u8, u8, bool)> = None;
    let mut swapped = false;
    for (slot, c) in out.iter_mut().zip(comparisons) {
        *slot = match c {
            Comparison::GivenName | Comparison::Surname => {
                let (g, s, sw) = *names.get_or_insert_with(|| name_levels(a, b));
                swapped = sw;
                if *c == Comparison::GivenName { g } else { s }
            }
            Comparison::MiddleInitial => {
                if a.place().middle.is_empty() || b.place().middle.is_empty() {
                    NULL
                } else {
                    u8::from(a.place().middle != b.place().middle)
                }
            }
            Comparison::BirthDate => birth_level(a, b),
            Comparison::IdNumber => id_level(a, b),
            Comparison::Gender => match (a.gender, b.gender) {
                (Some(x), Some(y)) => u8::from(x != y),
                _ => NULL,
            },
            Comparison::Address => address_level(a, b),
            Comparison::Region => region_level(a, b),
        };
    }
    swapped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{BirthDate, Record};

    fn chinese(name: &str) -> Prepared {
        Prepared::new(&Record {
            full_name: Some(name.into()),
            ..Record::default()
        })
    }

    fn given(a: &str, b: &str) -> u8 {
        name_levels(&chinese(a), &chinese(b)).0
    }

    #[test]
    fn chinese_name_levels() {
        assert_eq!(given("张小明", "张小明"), 0);
        assert_eq!(given("張曉明", "张晓明"), 1);
        assert_eq!(given("张晓明", "张小明"), 2, "homophone");
        assert_eq!(given("张小明", "张小鸣"), 2, "鸣 and 明 are both ming");
        assert_eq!(given("张小明", "张大明"), 3, "one character different");
        assert_eq!(given("张伟", "张强"), 5);
        let (g, s, swapped) = name_levels(&chinese("张伟"), &chinese("伟张"));
        assert!(swapped);
        assert_eq!((g, s), (0, 0));
    }

    #[test]
    fn surname_levels_use_surname_reading() {
        let a = chinese("单伟");
        let b = Prepared::new(&Record {
            surname: Some("Shan".into()),
            given_name: Some("Wei".into()),
            ..Record::default()
        });
        assert_eq!(name_levels(&a, &b), (2, 2, false));
    }

    #[test]
    fn latin_names_use_jaro_winkler() {
        let p = |g: &str| {
            Prepared::new(&Record {
                given_name: Some(g.into()),
                ..Record::default()
            })
        };
        let lv = |x: &str, y: &str| name_levels(&p(x), &p(y)).0;
        assert_eq!(lv("martha", "Martha"), 0);
        assert_eq!(lv("martha", "marhta"), 3);
        assert_eq!(lv("dwayne", "duane"), 4);
        assert_eq!(lv("john", "peter"), 5);
        assert_eq!(lv("john", ""), NULL);
    }

    #[test]
    fn birth_date_levels() {
        let p = |y, m, d| {
            Prepared::new(&Record {
                birth_date: Some(BirthDate {
                    year: y,
                    month: m,
                    day: d,
                }),
                ..Record::default()
            })
        };
        let lv = |a: &Prepared, b: &Prepared| birth_level(a, b);
        assert_eq!(lv(&p(1980, 3, 4), &p(1980, 3, 4)), 0);
        assert_eq!(lv(&p(1980, 3, 4), &p(1980, 4, 3)), 1);
        assert_eq!(lv(&p(1980, 3, 4), &p(1980, 3, 5)), 2);
        assert_eq!(lv(&p(1980, 3, 4), &p(1980, 3, 25)), 3);
        assert_eq!(lv(&p(1980, 3, 4), &p(1981, 4, 4)), 4);
        assert_eq!(lv(&p(1980, 3, 4), &p(1975, 11, 20)), 5);
        assert_eq!(lv(&p(1980, 3, 4), &Prepared::default()), NULL);
    }

    #[test]
    fn address_and_region_levels() {
        let p = |n: &str, s: &str, pc: &str, loc: &str, reg: &str| {
            Prepared::new(&Record {
                street_number: Some(n.into()),
                street: Some(s.into()),
                postcode: Some(pc.into()),
                locality: Some(loc.into()),
                region: Some(reg.into()),
                ..Record::default()
            })
        };
        let a = p("7", "wallaby place", "2119", "cleveland", "990101001001");
        assert_eq!(address_level(&a, &a), 0);
        assert_eq!(
            address_level(&a, &p("7", "wallaby plce", "2119", "x", "")),
            1
        );
        assert_eq!(
            address_level(&a, &p("9", "other", "2119", "cleveland", "")),
            2
        );
        assert_eq!(address_level(&a, &p("9", "other", "2119", "y", "")), 3);
        assert_eq!(address_level(&a, &p("7", "other", "3000", "y", "")), 4);
        assert_eq!(
            address_level(&a, &p("9", "wallaby place", "3000", "y", "")),
            4
        );
        assert_eq!(address_level(&a, &p("9", "other", "3000", "y", "")), 5);
        assert_eq!(region_level(&a, &p("", "", "", "", "990101001002")), 1);
        assert_eq!(region_level(&a, &p("", "", "", "", "990101002002")), 2);
        assert_eq!(region_level(&a, &p("", "", "", "", "990202002002")), 3);
    }

    #[test]
    fn two_valid_resident_ids_that_differ_are_different_people() {
        let id = |first17: &str| {
            let c = domain::id::check_char(first17.as_bytes()) as char;
            Prepared::new(&Record {
                id_number: Some(format!("{first17}{c}")),
                ..Record::default()
            })
        };
        let twin_a = id("99010119800101123");
        let twin_b = id("99010119800101125");
        assert_eq!(id_level(&twin_a, &twin_b), 5);
        assert_eq!(
            Comparison::IdNumber.levels()[5],
            "two different valid resident IDs"
        );
        let mut typo = twin_a.id.as_str().to_string();
        typo.replace_range(17.., if typo.ends_with('0') { "1" } else { "0" });
        let typo = Prepared::new(&Record {
            id_number: Some(typo),
            ..Record::default()
        });
        assert!(!typo.id_valid);
        assert_eq!(id_level(&twin_a, &typo), 1);
        // numbers without a checksum (other countries) keep the edit-distance levels
        let plain = |s: &str| {
            Prepared::new(&Record {
                id_number: Some(s.into()),
                ..Record::default()
            })
        };
        assert_eq!(id_level(&plain("1234567"), &plain("1234568")), 1);
    }

    #[test]
    fn every_comparison_has_matching_default_m() {
        for c in Comparison::ALL {
            assert_eq!(c.default_m().len(), c.level_count(), "{}", c.as_str());
            let total: f64 = c.default_m().iter().sum();
            assert!((total - 1.0).abs() < 1e-9, "{}", c.as_str());
        }
    }
}
