//! Normalisation of raw values before typing (exchange.md §1 "Reading values"): NFKC and trim,
//! with full-width spaces counted as white space. A fast path leaves text that is already in
//! NFKC form borrowed, so that most values of a file are never copied.

use std::borrow::Cow;
use unicode_normalization::{IsNormalized, is_nfkc_quick};

/// Normalises a value: pure ASCII and text already in NFKC form are only trimmed (borrowed);
/// anything else goes through [`domain::text::normalize`].
pub fn normalize(raw: &str) -> Cow<'_, str> {
    if raw.is_ascii() {
        return Cow::Borrowed(raw.trim_ascii());
    }
    // Names and addresses: ASCII and CJK unified ideographs (U+4E00–U+9FFF), which have no
    // decomposition and no combining class, are NFKC as they are — checked without the
    // normalisation tables.
    if raw
        .chars()
        .all(|c| c.is_ascii() || ('\u{4E00}'..='\u{9FFF}').contains(&c))
    {
        return Cow::Borrowed(raw.trim_matches(|c: char| c.is_whitespace()));
    }
    if is_nfkc_quick(raw.chars()) == IsNormalized::Yes {
        return Cow::Borrowed(raw.trim_matches(|c: char| c.is_whitespace()));
    }
    domain::text::normalize(raw)
}

/// Normalises a value that may already be owned, keeping the borrow where there is one.
pub fn normalize_cow(raw: Cow<'_, str>) -> Cow<'_, str> {
    match raw {
        Cow::Borrowed(s) => normalize(s),
        Cow::Owned(s) => match normalize(&s) {
            Cow::Borrowed(t) if t.len() == s.len() => Cow::Owned(s),
            other => Cow::Owned(other.into_owned()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn borrowed_when_nothing_changes() {
        assert!(matches!(normalize(" 110105 "), Cow::Borrowed("110105")));
        assert!(matches!(normalize("张三"), Cow::Borrowed("张三")));
        assert!(matches!(normalize("\t张三 "), Cow::Borrowed("张三")));
    }

    proptest::proptest! {
        #[test]
        fn the_fast_paths_agree_with_full_normalisation(
            raw in "[ \t\u{b}\u{3000}a-z0-9\u{4E00}-\u{4E10}\u{9FF0}-\u{9FFF}\u{F900}\u{FF10}-\u{FF19}\u{301}é]{0,12}"
        ) {
            proptest::prop_assert_eq!(normalize(&raw), domain::text::normalize(&raw));
        }
    }

    #[test]
    fn full_width_forms_fold() {
        assert_eq!(normalize("\u{3000}１１０１０５\u{3000}"), "110105");
        assert_eq!(normalize("ｄｉｂａｏ"), "dibao");
        assert_eq!(normalize("\u{3000}"), "");
        assert_eq!(normalize_cow(Cow::Owned("　王五　".to_string())), "王五");
        assert_eq!(normalize_cow(Cow::Owned("王五".to_string())), "王五");
    }
}
