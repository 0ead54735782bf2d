//! Normalisation of every incoming value: Unicode NFKC (full-width digits and letters become
//! ASCII) and trimming, with full-width spaces counted as white space (exchange.md §1).

use std::borrow::Cow;
use unicode_normalization::UnicodeNormalization;

/// Normalises a raw value: NFKC, then trims white space (including U+3000). Pure ASCII input
/// is only trimmed, without allocating.
pub fn normalize(raw: &str) -> Cow<'_, str> {
    if raw.is_ascii() {
        return Cow::Borrowed(raw.trim_matches(|c: char| c.is_ascii_whitespace()));
    }
    let folded: String = raw.nfkc().collect();
    let trimmed = folded.trim_matches(|c: char| c.is_whitespace() || c == '\u{3000}');
    if trimmed.len() == folded.len() {
        Cow::Owned(folded)
    } else {
        Cow::Owned(trimmed.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn full_width_digits_and_spaces() {
        assert_eq!(normalize("\u{3000}１１０１０５\u{3000}"), "110105");
        assert_eq!(normalize("  abc "), "abc");
        assert_eq!(normalize("张三"), "张三");
        assert_eq!(normalize("\u{3000}"), "");
        assert_eq!(normalize("ＡＢｃ"), "ABc");
    }
}
