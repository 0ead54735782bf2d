//! Short texts held in place: the person and household IDs of a registry of millions, each
//! 18 or so bytes, which as `String`s were as many heap allocations — written one by one when
//! the registry is read, followed to another cache line at every comparison, freed one by one
//! at the end.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Bytes a [`ShortText`] holds in place.
const INLINE: usize = 22;

/// A text of up to 22 bytes held in place, a longer one on the heap; the same size as a
/// `String`. Compared, ordered, hashed and serialized as the text it holds. (Its accessors are
/// `#[inline]`: called across crates millions of times a run, they were calls of their own.)
#[derive(Clone)]
pub enum ShortText {
    /// The length and the bytes (the rest zero).
    Inline(u8, [u8; INLINE]),
    /// A longer text.
    Heap(Box<str>),
}

impl Default for ShortText {
    fn default() -> Self {
        ShortText::Inline(0, [0; INLINE])
    }
}

impl ShortText {
    /// The text, in place when it is short.
    pub fn new(text: &str) -> ShortText {
        match u8::try_from(text.len()) {
            Ok(n) if usize::from(n) <= INLINE => {
                let mut bytes = [0; INLINE];
                bytes[..text.len()].copy_from_slice(text.as_bytes());
                ShortText::Inline(n, bytes)
            }
            _ => ShortText::Heap(text.into()),
        }
    }

    /// The bytes of the text.
    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            ShortText::Inline(n, bytes) => &bytes[..usize::from(*n)],
            ShortText::Heap(text) => text.as_bytes(),
        }
    }

    /// The text (the bytes are always a whole text: they were copied from one).
    #[inline]
    pub fn as_str(&self) -> &str {
        match self {
            ShortText::Inline(..) => std::str::from_utf8(self.as_bytes()).unwrap_or_default(),
            ShortText::Heap(text) => text,
        }
    }

    /// The length in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    /// Whether the text is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl std::ops::Deref for ShortText {
    type Target = str;

    #[inline]
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl From<&str> for ShortText {
    fn from(text: &str) -> ShortText {
        ShortText::new(text)
    }
}

impl From<String> for ShortText {
    fn from(text: String) -> ShortText {
        ShortText::new(&text)
    }
}

impl PartialEq for ShortText {
    #[inline]
    fn eq(&self, other: &ShortText) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for ShortText {}

impl PartialEq<str> for ShortText {
    #[inline]
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for ShortText {
    #[inline]
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<String> for ShortText {
    #[inline]
    fn eq(&self, other: &String) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<ShortText> for str {
    #[inline]
    fn eq(&self, other: &ShortText) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<ShortText> for &str {
    #[inline]
    fn eq(&self, other: &ShortText) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<ShortText> for String {
    #[inline]
    fn eq(&self, other: &ShortText) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialOrd for ShortText {
    fn partial_cmp(&self, other: &ShortText) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ShortText {
    #[inline]
    fn cmp(&self, other: &ShortText) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

// Hashed as the text it holds, so that a table keyed by short texts is searched with a `&str`.
impl Hash for ShortText {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl std::borrow::Borrow<str> for ShortText {
    #[inline]
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for ShortText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for ShortText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for ShortText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ShortText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ShortText, D::Error> {
        let text = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(ShortText::new(&text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_texts_compare_as_their_text() {
        let short = ShortText::new("990103199410237161");
        let long = ShortText::new("a text longer than twenty-two bytes");
        assert!(matches!(short, ShortText::Inline(18, _)));
        assert!(matches!(long, ShortText::Heap(_)));
        assert_eq!(short.as_str(), "990103199410237161");
        assert_eq!(long.as_str(), "a text longer than twenty-two bytes");
        assert_eq!(
            std::mem::size_of::<ShortText>(),
            std::mem::size_of::<String>()
        );
        // ordered as the texts, whichever way each is held
        let mut texts = [
            ShortText::new("b"),
            ShortText::new("a text longer than twenty-two bytes"),
            ShortText::new(""),
            ShortText::new("ab"),
        ];
        texts.sort();
        let order: Vec<&str> = texts.iter().map(ShortText::as_str).collect();
        assert_eq!(
            order,
            vec!["", "a text longer than twenty-two bytes", "ab", "b"]
        );
        assert_eq!(
            ShortText::new("同一户"),
            ShortText::from("同一户".to_string())
        );
        let json = serde_json::to_string(&long).unwrap_or_default();
        assert_eq!(json, "\"a text longer than twenty-two bytes\"");
        let back: ShortText = serde_json::from_str("\"\\u540c\"").unwrap_or_default();
        assert_eq!(back.as_str(), "同");
    }
}
