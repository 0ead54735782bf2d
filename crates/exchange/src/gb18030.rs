//! GB18030 to UTF-8, fast for what department extracts hold.
//!
//! Chinese text in a GB18030 file is almost all two-byte sequences (the GBK range); ASCII
//! stays one byte. Decoding a field with `encoding_rs` allocates a string and sets up a decoder
//! each time, which for tens of millions of names and addresses costs more than the rest of the
//! CSV path. Here the two-byte range is decoded through a table built once from `encoding_rs`
//! itself, into one buffer per chunk; any other sequence (four-byte codes, the single byte
//! 0x80, invalid bytes) sends the whole field to `encoding_rs`. The result is therefore exactly
//! what `encoding_rs` gives, field by field.

use encoding_rs::GB18030;
use std::sync::LazyLock;

const LEAD_FIRST: u8 = 0x81;
const LEAD_LAST: u8 = 0xFE;
const TRAIL_FIRST: u8 = 0x40;
const TRAIL_LAST: u8 = 0xFE;
const TRAILS: usize = (TRAIL_LAST - TRAIL_FIRST) as usize + 1;

/// The character of every two-byte sequence (lead 0x81–0xFE, trail 0x40–0xFE), as
/// `encoding_rs` decodes the pair alone; `'\0'` where it does not decode to one character.
static PAIRS: LazyLock<Vec<char>> = LazyLock::new(|| {
    let mut table = vec!['\0'; (LEAD_LAST - LEAD_FIRST + 1) as usize * TRAILS];
    for lead in LEAD_FIRST..=LEAD_LAST {
        for trail in TRAIL_FIRST..=TRAIL_LAST {
            let pair = [lead, trail];
            if let Some(text) = GB18030.decode_without_bom_handling_and_without_replacement(&pair) {
                let mut chars = text.chars();
                if let (Some(c), None) = (chars.next(), chars.next())
                    && c != '\0'
                {
                    table[index(lead, trail)] = c;
                }
            }
        }
    }
    table
});

fn index(lead: u8, trail: u8) -> usize {
    usize::from(lead - LEAD_FIRST) * TRAILS + usize::from(trail - TRAIL_FIRST)
}

/// Appends the UTF-8 text of one GB18030 field to `out`; `false` (with `out` as it was) when
/// the bytes are not GB18030 text.
pub fn decode_into(bytes: &[u8], out: &mut Vec<u8>) -> bool {
    let start = out.len();
    if fast(bytes, out) {
        return true;
    }
    out.truncate(start);
    match GB18030.decode_without_bom_handling_and_without_replacement(bytes) {
        Some(text) => {
            out.extend_from_slice(text.as_bytes());
            true
        }
        None => false,
    }
}

/// The common case: ASCII and two-byte sequences found in the table. `false` as soon as
/// anything else appears (the caller then truncates and falls back).
fn fast(bytes: &[u8], out: &mut Vec<u8>) -> bool {
    let table = &*PAIRS;
    let mut i = 0;
    while i < bytes.len() {
        let ascii_end = bytes[i..]
            .iter()
            .position(|b| !b.is_ascii())
            .map_or(bytes.len(), |p| i + p);
        if ascii_end > i {
            out.extend_from_slice(&bytes[i..ascii_end]);
            i = ascii_end;
            continue;
        }
        let lead = bytes[i];
        let Some(&trail) = bytes.get(i + 1) else {
            return false;
        };
        if !(LEAD_FIRST..=LEAD_LAST).contains(&lead) || !(TRAIL_FIRST..=TRAIL_LAST).contains(&trail)
        {
            return false;
        }
        let c = table[index(lead, trail)];
        if c == '\0' {
            return false;
        }
        out.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        i += 2;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reference(bytes: &[u8]) -> Option<String> {
        GB18030
            .decode_without_bom_handling_and_without_replacement(bytes)
            .map(|c| c.into_owned())
    }

    fn ours(bytes: &[u8]) -> Option<String> {
        let mut out = "前缀".as_bytes().to_vec();
        decode_into(bytes, &mut out)
            .then(|| String::from_utf8(out["前缀".len()..].to_vec()).expect("UTF-8"))
    }

    #[test]
    fn chinese_text_round_trips() {
        for text in ["张伟", "示范市1区幸福路12号", "abc", "", "€", "𠀀家", "ÿ"] {
            let (bytes, _, unmappable) = GB18030.encode(text);
            assert!(!unmappable, "{text}");
            assert_eq!(ours(&bytes).as_deref(), Some(text), "{text}");
        }
    }

    #[test]
    fn every_pair_and_its_neighbours_agree_with_encoding_rs() {
        for lead in 0x80..=0xFFu8 {
            for trail in 0x00..=0xFFu8 {
                for bytes in [
                    vec![lead, trail],
                    vec![b'a', lead, trail, b'b'],
                    vec![lead, trail, lead],
                ] {
                    assert_eq!(ours(&bytes), reference(&bytes), "{bytes:02x?}");
                }
            }
        }
    }

    #[test]
    fn a_failed_field_leaves_the_buffer_as_it_was() {
        let mut out = b"ok".to_vec();
        assert!(!decode_into(&[0xB0, 0xA1, 0xFF], &mut out));
        assert_eq!(out, b"ok");
    }

    proptest! {
        #[test]
        fn any_bytes_decode_as_encoding_rs_does(bytes in proptest::collection::vec(any::<u8>(), 0..24)) {
            prop_assert_eq!(ours(&bytes), reference(&bytes));
        }

        #[test]
        fn mostly_chinese_bytes_decode_as_encoding_rs_does(
            bytes in proptest::collection::vec(prop_oneof![0x81..=0xFEu8, 0x30..=0x39u8, 0x40..=0x7Eu8], 0..24)
        ) {
            prop_assert_eq!(ours(&bytes), reference(&bytes));
        }
    }
}
