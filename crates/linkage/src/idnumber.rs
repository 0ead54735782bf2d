//! Identity numbers as linking evidence: normalisation (15-digit legacy resident IDs become 18
//! digits), the graded comparison levels, and repair candidates for a mistyped resident ID
//! (a wrong check character, or two adjacent digits swapped).

use crate::similarity::{edit_distance_bytes, is_adjacent_transposition, symbol_bound};
use domain::ResidentId;

/// Normalises an identity number for comparison: keeps letters and digits, upper-cases, and
/// converts a valid 15-digit legacy resident ID to its 18-digit form.
pub fn normalize_id(raw: &str) -> String {
    normalized_id(raw).into_owned()
}

/// [`normalize_id`] without a copy when the text is already in its normal form (upper-case
/// letters and digits, not 15 long): a register's IDs are.
pub(crate) fn normalized_id(raw: &str) -> std::borrow::Cow<'_, str> {
    let b = raw.as_bytes();
    if b.len() != 15
        && b.iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
    {
        return std::borrow::Cow::Borrowed(raw);
    }
    std::borrow::Cow::Owned(normalized_copy(raw))
}

fn normalized_copy(raw: &str) -> String {
    let cleaned: String = raw
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if cleaned.len() == 15
        && let Ok(id) = ResidentId::parse(&cleaned)
    {
        return id.as_str().to_string();
    }
    cleaned
}

/// How two identity numbers agree, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdAgreement {
    /// The same number.
    Exact,
    /// Equal except the last character (a wrong or missing check character).
    CheckCharacter,
    /// Two adjacent characters swapped.
    Transposition,
    /// One insertion, deletion or substitution.
    OneEdit,
    /// Two edits.
    TwoEdits,
    /// Different numbers.
    Different,
}

/// Compares two normalised identity numbers.
pub fn compare_ids(a: &[u8], b: &[u8]) -> IdAgreement {
    // every agreement but the last is within two edits: most pairs of a birth-date block are
    // told apart by their symbol counts before any comparison of the characters
    if symbol_bound(a, b) > 2 {
        return IdAgreement::Different;
    }
    if a == b {
        return IdAgreement::Exact;
    }
    if a.len() == b.len() && a.len() >= 2 && a[..a.len() - 1] == b[..b.len() - 1] {
        return IdAgreement::CheckCharacter;
    }
    if is_adjacent_transposition(a, b) {
        return IdAgreement::Transposition;
    }
    match edit_distance_bytes(a, b, 2) {
        1 => IdAgreement::OneEdit,
        2 => IdAgreement::TwoEdits,
        _ => IdAgreement::Different,
    }
}

/// Valid resident IDs that a mistyped 18-character number may have been meant to be: the
/// number with its check character recomputed, and every adjacent swap among the first 17
/// characters that yields a valid number with the given check character. An already valid
/// number is returned alone. The caller looks the candidates up in the population register.
pub fn repair_candidates(raw: &str) -> Vec<ResidentId> {
    let id = normalize_id(raw);
    if let Ok(valid) = ResidentId::parse(&id) {
        return vec![valid];
    }
    let bytes = id.as_bytes();
    if bytes.len() != 18 || !bytes[..17].iter().all(u8::is_ascii_digit) {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut fixed = bytes.to_vec();
    fixed[17] = domain::id::check_char(&bytes[..17]);
    if let Ok(s) = std::str::from_utf8(&fixed)
        && let Ok(valid) = ResidentId::parse(s)
    {
        out.push(valid);
    }
    for i in 0..16 {
        if bytes[i] == bytes[i + 1] {
            continue;
        }
        let mut swapped = bytes.to_vec();
        swapped.swap(i, i + 1);
        if let Ok(s) = std::str::from_utf8(&swapped)
            && let Ok(valid) = ResidentId::parse(s)
            && !out.contains(&valid)
        {
            out.push(valid);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // synthetic numbers in the test region 99
    fn valid(first17: &str) -> String {
        let c = domain::id::check_char(first17.as_bytes()) as char;
        format!("{first17}{c}")
    }

    #[test]
    fn legacy_fifteen_digit_numbers_become_eighteen() {
        let long = normalize_id("990101800101123");
        assert_eq!(long.len(), 18);
        assert!(long.starts_with("99010119800101123"));
        assert_eq!(
            compare_ids(long.as_bytes(), normalize_id(&long).as_bytes()),
            IdAgreement::Exact
        );
        assert_eq!(normalize_id("99010119800101123x"), "99010119800101123X");
        assert_eq!(normalize_id("584-16-0130"), "584160130");
    }

    #[test]
    fn levels_are_graded() {
        let a = valid("99010119800101123");
        let mut wrong_check = a.clone().into_bytes();
        wrong_check[17] = if wrong_check[17] == b'0' { b'1' } else { b'0' };
        assert_eq!(
            compare_ids(a.as_bytes(), &wrong_check),
            IdAgreement::CheckCharacter
        );
        assert_eq!(
            compare_ids(b"1234567", b"1243567"),
            IdAgreement::Transposition
        );
        assert_eq!(compare_ids(b"1234567", b"1234667"), IdAgreement::OneEdit);
        assert_eq!(compare_ids(b"1234567", b"1239667"), IdAgreement::TwoEdits);
        assert_eq!(compare_ids(b"1234567", b"7654321"), IdAgreement::Different);
    }

    #[test]
    fn repair_fixes_check_character_and_swaps() {
        let a = valid("99010119800101123");
        let mut wrong_check = a.clone().into_bytes();
        wrong_check[17] = if wrong_check[17] == b'0' { b'1' } else { b'0' };
        let wrong = String::from_utf8(wrong_check).unwrap_or_default();
        let candidates = repair_candidates(&wrong);
        assert!(
            candidates.iter().any(|c| c.as_str() == a),
            "check character repaired"
        );

        let mut swapped = a.clone().into_bytes();
        swapped.swap(14, 15);
        let swapped = String::from_utf8(swapped).unwrap_or_default();
        let candidates = repair_candidates(&swapped);
        assert!(candidates.iter().any(|c| c.as_str() == a), "swap repaired");
        assert_eq!(repair_candidates(&a).len(), 1);
        assert!(repair_candidates("12345").is_empty());
    }
}
