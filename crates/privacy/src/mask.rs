//! Masked forms of personal data for screens and exports.
//!
//! Screens and exports show these by default; the plain value needs an explicit, logged
//! permission. Every function takes any text and never fails: a value that does not look like
//! what it should be is masked more, never less.

/// An ID number: the first 6 and last 4 characters stay (`110105********1234`); shorter texts
/// keep only their last character.
pub fn id(text: &str) -> String {
    domain::id::mask_id_text(text)
}

/// A person's name: the first character, then `*` for each hidden character.
///
/// - one character: `*`;
/// - two characters: `张*`;
/// - three or more Han characters: first and last stay, `张*华`, `欧**华`;
/// - any other script or a name with separators (`·`, spaces), e.g. `阿依古丽·买买提` or
///   `Maria Lopez`: the first character and `***`, which hides the length as well.
pub fn name(text: &str) -> String {
    let text = text.trim();
    let chars: Vec<char> = text.chars().collect();
    match chars.len() {
        0 => String::new(),
        1 => "*".to_string(),
        2 => format!("{}*", chars[0]),
        n if chars.iter().all(|c| is_han(*c)) => {
            let mut out = String::new();
            out.push(chars[0]);
            out.extend(std::iter::repeat_n('*', n - 2));
            out.push(chars[n - 1]);
            out
        }
        _ => format!("{}***", chars[0]),
    }
}

/// A phone number: an 11-digit mobile number keeps its first 3 and last 4 digits
/// (`138****5678`); any other text of 8 characters or more keeps its first 3 and last 4
/// characters; a shorter text is masked whole.
pub fn phone(text: &str) -> String {
    let chars: Vec<char> = text.trim().chars().collect();
    let n = chars.len();
    if n < 8 {
        return "*".repeat(n);
    }
    let mut out: String = chars[..3].iter().collect();
    out.extend(std::iter::repeat_n('*', n - 7));
    out.extend(&chars[n - 4..]);
    out
}

/// An address truncated after the county-level part (district 区, county 县, banner 旗),
/// followed by `***` when something was cut: `示范市和平区幸福路1号` → `示范市和平区***`.
/// A province-level `自治区` or `特别行政区` is not a district. Without a county-level part,
/// the text is kept up to its last `市` (a county-level city) or first `省`, else it is masked
/// whole.
pub fn address(text: &str) -> String {
    let text = text.trim();
    if text.is_empty() {
        return String::new();
    }
    let cut = county_end(text)
        .or_else(|| text.rfind('市').map(|i| i + '市'.len_utf8()))
        .or_else(|| text.find('省').map(|i| i + '省'.len_utf8()));
    match cut {
        Some(end) if end == text.len() => text.to_string(),
        Some(end) => format!("{}***", &text[..end]),
        None => "***".to_string(),
    }
}

/// The byte offset just after the first county-level marker.
fn county_end(text: &str) -> Option<usize> {
    for (i, c) in text.char_indices() {
        let end = i + c.len_utf8();
        match c {
            '县' | '旗' => return Some(end),
            '区' => {
                let before = &text[..i];
                if before.ends_with("自治") || before.ends_with("特别行政") {
                    continue;
                }
                return Some(end);
            }
            _ => {}
        }
    }
    None
}

fn is_han(c: char) -> bool {
    matches!(c,
        '\u{4E00}'..='\u{9FFF}'
        | '\u{3400}'..='\u{4DBF}'
        | '\u{20000}'..='\u{2A6DF}'
        | '\u{2A700}'..='\u{2EBEF}'
        | '\u{30000}'..='\u{3134F}'
        | '\u{F900}'..='\u{FAFF}'
        | '〇')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert_eq!(id("11010519491231002X"), "110105********002X");
        assert_eq!(id(""), "");
        assert_eq!(id("1234"), "***4");
    }

    #[test]
    fn names() {
        assert_eq!(name(""), "");
        assert_eq!(name("张"), "*");
        assert_eq!(name("张三"), "张*");
        assert_eq!(name("张小华"), "张*华");
        assert_eq!(name("欧阳小华"), "欧**华");
        assert_eq!(name("  李四 "), "李*");
        assert_eq!(name("阿依古丽·买买提"), "阿***");
        assert_eq!(name("Maria Lopez"), "M***");
        assert_eq!(name("Li"), "L*");
        assert_eq!(name("𠀀𠀁𠀂"), "𠀀*𠀂");
    }

    #[test]
    fn phones() {
        assert_eq!(phone("13812345678"), "138****5678");
        assert_eq!(phone("010-12345678"), "010*****5678");
        assert_eq!(phone("12345"), "*****");
        assert_eq!(phone(""), "");
    }

    #[test]
    fn addresses() {
        assert_eq!(address("示范市和平区幸福路1号"), "示范市和平区***");
        assert_eq!(address("示范市和平区"), "示范市和平区");
        assert_eq!(address("某省某县某镇某村5组"), "某省某县***");
        assert_eq!(
            address("广西壮族自治区南宁市青秀区民族大道1号"),
            "广西壮族自治区南宁市青秀区***"
        );
        assert_eq!(
            address("内蒙古自治区某盟某旗某苏木"),
            "内蒙古自治区某盟某旗***"
        );
        assert_eq!(address("江苏省昆山市玉山镇某路8号"), "江苏省昆山市***");
        assert_eq!(address("幸福路1号"), "***");
        assert_eq!(address(""), "");
    }
}
