//! [`Revealed`]: a decrypted personal value, zeroized when dropped and masked when printed.

use std::fmt;
use zeroize::Zeroize;

/// A decrypted personal text (a name, an address, an ID number). `Debug` and `Display` print
/// `***`; the plain text is reached only through [`Revealed::expose`]. The memory is zeroized
/// on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct Revealed(String);

impl Revealed {
    /// Wraps a plain text.
    pub fn new(text: String) -> Revealed {
        Revealed(text)
    }

    /// The plain text. This is personal data: never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Drop for Revealed {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Revealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Revealed(***)")
    }
}

impl fmt::Display for Revealed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::Revealed;

    #[test]
    fn printing_masks_the_text() {
        let r = Revealed::new("张三丰".to_string());
        assert_eq!(format!("{r}"), "***");
        assert_eq!(format!("{r:?}"), "Revealed(***)");
        assert_eq!(r.expose(), "张三丰");
    }
}
