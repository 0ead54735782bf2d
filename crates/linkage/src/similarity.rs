//! String similarity measures used by the comparisons: Jaro-Winkler and the optimal string
//! alignment (restricted Damerau-Levenshtein) distance, both over `char`s so that Chinese
//! characters count as one unit each.

/// Jaro-Winkler similarity in `[0, 1]` (prefix scale 0.1, prefix of at most four characters).
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    if a == b {
        return if a.is_empty() { 0.0 } else { 1.0 };
    }
    // pinyin and most addresses are ASCII: compare bytes without decoding
    if a.is_ascii() && b.is_ascii() && a.len() <= 64 && b.len() <= 64 {
        return winkler(a.as_bytes(), b.as_bytes());
    }
    let mut buf_a = [' '; 64];
    let mut buf_b = [' '; 64];
    let (va, vb);
    let (sa, sb): (&[char], &[char]) = if a.chars().count() <= 64 && b.chars().count() <= 64 {
        let mut la = 0;
        for c in a.chars() {
            buf_a[la] = c;
            la += 1;
        }
        let mut lb = 0;
        for c in b.chars() {
            buf_b[lb] = c;
            lb += 1;
        }
        (&buf_a[..la], &buf_b[..lb])
    } else {
        va = a.chars().collect::<Vec<_>>();
        vb = b.chars().collect::<Vec<_>>();
        (&va, &vb)
    };
    winkler(sa, sb)
}

fn winkler<T: PartialEq + Copy + Default>(a: &[T], b: &[T]) -> f64 {
    let jaro = jaro(a, b);
    let prefix = a
        .iter()
        .zip(b.iter())
        .take(4)
        .take_while(|(x, y)| x == y)
        .count();
    jaro + prefix as f64 * 0.1 * (1.0 - jaro)
}

fn jaro<T: PartialEq + Copy + Default>(a: &[T], b: &[T]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let window = (a.len().max(b.len()) / 2).saturating_sub(1);
    let mut b_used = [false; 64];
    let mut b_used_vec;
    let b_used: &mut [bool] = if b.len() <= 64 {
        &mut b_used[..b.len()]
    } else {
        b_used_vec = vec![false; b.len()];
        &mut b_used_vec
    };
    let mut matched_buf = [T::default(); 64];
    let mut matched_vec;
    let a_matched: &mut [T] = if a.len() <= 64 {
        &mut matched_buf[..a.len()]
    } else {
        matched_vec = vec![T::default(); a.len()];
        &mut matched_vec
    };
    let mut matches = 0usize;
    for (i, ca) in a.iter().enumerate() {
        let lo = i.saturating_sub(window);
        let hi = (i + window + 1).min(b.len());
        for j in lo..hi {
            if !b_used[j] && b[j] == *ca {
                b_used[j] = true;
                a_matched[matches] = *ca;
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let mut transpositions = 0usize;
    let mut k = 0usize;
    for (j, cb) in b.iter().enumerate() {
        if b_used[j] {
            if a_matched[k] != *cb {
                transpositions += 1;
            }
            k += 1;
        }
    }
    let m = matches as f64;
    (m / a.len() as f64 + m / b.len() as f64 + (m - (transpositions / 2) as f64) / m) / 3.0
}

/// Optimal string alignment distance (insertions, deletions, substitutions and transpositions
/// of adjacent characters), stopping early once the distance exceeds `limit`: the result is
/// then `limit + 1`.
pub fn edit_distance(a: &str, b: &str, limit: usize) -> usize {
    if a == b {
        return 0;
    }
    if a.is_ascii() && b.is_ascii() {
        return edit_distance_chars(a.as_bytes(), b.as_bytes(), limit);
    }
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    edit_distance_chars(&a, &b, limit)
}

/// The distance of two texts of one length that differ in at most two places, without a
/// table: one place is one substitution; two are one swap of adjacent characters or two
/// substitutions (an insertion and a deletion cost two as well). `None` otherwise.
fn few_mismatches(a: &[u8], b: &[u8]) -> Option<usize> {
    if a.len() != b.len() {
        return None;
    }
    let mut places = [0usize; 2];
    let mut n = 0;
    for (k, (x, y)) in a.iter().zip(b).enumerate() {
        if x != y {
            if n == 2 {
                return None;
            }
            places[n] = k;
            n += 1;
        }
    }
    Some(match n {
        0 | 1 => n,
        _ => {
            let [p, q] = places;
            if q == p + 1 && a[p] == b[q] && a[q] == b[p] {
                1
            } else {
                2
            }
        }
    })
}

/// [`edit_distance`] on byte strings (ID numbers and dates are ASCII).
pub fn edit_distance_bytes(a: &[u8], b: &[u8], limit: usize) -> usize {
    distance_with_bound(a, b, limit, || symbol_bound(a, b))
}

/// The distance of two byte strings: equal, a few places apart, beyond `limit` by the lower
/// bound `bound` gives, or else by the banded table.
fn distance_with_bound(a: &[u8], b: &[u8], limit: usize, bound: impl FnOnce() -> usize) -> usize {
    if a == b {
        return 0;
    }
    if let Some(d) = few_mismatches(a, b) {
        return d.min(limit + 1);
    }
    if bound() > limit {
        return limit + 1;
    }
    edit_distance_chars(a, b, limit)
}

/// A lower bound of the edit distance from the counts of symbols: a substitution changes the
/// difference of the counts by at most two, an insertion or deletion by one, a swap not at
/// all. Two ID numbers of one birth-date block mostly differ in more symbols than a small
/// limit allows, and telling so costs far less than the table. Bytes are counted modulo 16
/// (the ten digits stay apart; `X` shares a count with `8`), which can only lower the bound.
pub(crate) fn symbol_bound(a: &[u8], b: &[u8]) -> usize {
    let mut counts = [0i32; 16];
    for x in a {
        counts[usize::from(x & 15)] += 1;
    }
    for x in b {
        counts[usize::from(x & 15)] -= 1;
    }
    let l1: u32 = counts.iter().map(|c| c.unsigned_abs()).sum();
    l1.div_ceil(2) as usize
}

/// [`edit_distance_bytes`] given the symbol counts of both texts ([`symbol_counts`]).
pub(crate) fn edit_distance_counted(
    (a, a_counts): (&[u8], &[u8; 16]),
    (b, b_counts): (&[u8], &[u8; 16]),
    limit: usize,
) -> usize {
    distance_with_bound(a, b, limit, || symbol_bound_of(a_counts, b_counts))
}

/// The symbol counts of [`symbol_bound`] for one text, each at most 255 (a count cut there can
/// only lower the bound, so it stays a lower bound).
pub(crate) fn symbol_counts(text: &[u8]) -> [u8; 16] {
    let mut counts = [0u8; 16];
    for x in text {
        let c = &mut counts[usize::from(x & 15)];
        *c = c.saturating_add(1);
    }
    counts
}

/// [`symbol_bound`] from the counts of two texts.
pub(crate) fn symbol_bound_of(a: &[u8; 16], b: &[u8; 16]) -> usize {
    let l1: u32 = a
        .iter()
        .zip(b)
        .map(|(x, y)| u32::from(x.abs_diff(*y)))
        .sum();
    l1.div_ceil(2) as usize
}

fn edit_distance_chars<T: PartialEq + Copy>(a: &[T], b: &[T], limit: usize) -> usize {
    if a.len().abs_diff(b.len()) > limit {
        return limit + 1;
    }
    let n = b.len();
    // Only the band |i - j| <= limit of the table is computed: a cell outside it is at least
    // |i - j| > limit. Two ID numbers of one birth-date block share all but a few characters,
    // so the whole table was computed for most pairs compared.
    let far = limit + 1;
    // three rows of the table; on the stack for the short strings compared here
    let mut stack = [0usize; 3 * 33];
    let mut heap;
    let rows: &mut [usize] = if n < 33 {
        &mut stack[..3 * (n + 1)]
    } else {
        heap = vec![0usize; 3 * (n + 1)];
        &mut heap
    };
    let (prev2, rest) = rows.split_at_mut(n + 1);
    let (prev, cur) = rest.split_at_mut(n + 1);
    let (mut prev2, mut prev, mut cur) = (prev2, prev, cur);
    for (j, v) in prev.iter_mut().enumerate() {
        *v = j.min(far);
    }
    for i in 1..=a.len() {
        let lo = i.saturating_sub(limit).max(1);
        let hi = (i + limit).min(n);
        // the cells beside the band that the next rows read
        cur[lo - 1] = if lo == 1 { i.min(far) } else { far };
        if hi < n {
            cur[hi + 1] = far;
        }
        let mut row_min = cur[lo - 1];
        for j in lo..=hi {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > limit {
            return limit + 1;
        }
        // rotate the rows: prev2 <- prev <- cur <- (old prev2, overwritten next)
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[n].min(limit + 1)
}

/// Whether the optimal string alignment distance of `a` and `b` (see [`edit_distance`]) is at
/// most one: equal, one character substituted, inserted or deleted, or two adjacent ones
/// swapped. One pass without a table or an allocation: names compared in a birth-date block
/// mostly differ at once.
pub fn within_one_edit(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    if a.is_ascii() && b.is_ascii() {
        return within_one_edit_of(a.as_bytes(), b.as_bytes());
    }
    // names are a few characters: decode onto the stack
    let (mut buf_a, mut buf_b) = (['\0'; 16], ['\0'; 16]);
    let fill = |text: &str, buf: &mut [char; 16]| -> Option<usize> {
        let mut n = 0;
        for c in text.chars() {
            *buf.get_mut(n)? = c;
            n += 1;
        }
        Some(n)
    };
    match (fill(a, &mut buf_a), fill(b, &mut buf_b)) {
        (Some(la), Some(lb)) => within_one_edit_of(&buf_a[..la], &buf_b[..lb]),
        _ => edit_distance(a, b, 1) <= 1,
    }
}

fn within_one_edit_of<T: PartialEq>(a: &[T], b: &[T]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    let Some(i) = short.iter().zip(long).position(|(x, y)| x != y) else {
        // one is a prefix of the other
        return long.len() - short.len() <= 1;
    };
    match long.len() - short.len() {
        // one substitution, or one adjacent swap
        0 => {
            short[i + 1..] == long[i + 1..]
                || (i + 1 < short.len()
                    && short[i] == long[i + 1]
                    && short[i + 1] == long[i]
                    && short[i + 2..] == long[i + 2..])
        }
        // one insertion into the shorter
        1 => short[i..] == long[i + 1..],
        _ => false,
    }
}

/// True when `b` is `a` with exactly one pair of adjacent characters swapped.
pub fn is_adjacent_transposition(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() || a == b {
        return false;
    }
    let Some(i) = a.iter().zip(b).position(|(x, y)| x != y) else {
        return false;
    };
    i + 1 < a.len() && a[i] == b[i + 1] && a[i + 1] == b[i] && a[i + 2..] == b[i + 2..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Optimal string alignment distance over the whole table, without limit or band.
    fn full_table(a: &[u8], b: &[u8]) -> usize {
        let (m, n) = (a.len(), b.len());
        let mut d = vec![vec![0usize; n + 1]; m + 1];
        for (i, row) in d.iter_mut().enumerate() {
            row[0] = i;
        }
        for (j, v) in d[0].iter_mut().enumerate() {
            *v = j;
        }
        for i in 1..=m {
            for j in 1..=n {
                let cost = usize::from(a[i - 1] != b[j - 1]);
                d[i][j] = (d[i - 1][j] + 1)
                    .min(d[i][j - 1] + 1)
                    .min(d[i - 1][j - 1] + cost);
                if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                    d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
                }
            }
        }
        d[m][n]
    }

    #[test]
    fn jaro_winkler_known_values() {
        assert!((jaro_winkler("martha", "marhta") - 0.9611).abs() < 1e-3);
        assert!((jaro_winkler("dwayne", "duane") - 0.84).abs() < 1e-3);
        assert_eq!(jaro_winkler("", ""), 0.0);
        assert_eq!(jaro_winkler("abc", "xyz"), 0.0);
        assert_eq!(jaro_winkler("zhang", "zhang"), 1.0);
    }

    #[test]
    fn edit_distance_counts_transposition_as_one() {
        assert_eq!(edit_distance("abcd", "abdc", 3), 1);
        assert_eq!(edit_distance("张小明", "张晓明", 3), 1);
        assert_eq!(edit_distance("kitten", "sitting", 5), 3);
        assert_eq!(edit_distance("kitten", "sitting", 1), 2);
        assert!(is_adjacent_transposition(b"1234", b"1324"));
        assert!(!is_adjacent_transposition(b"1234", b"1243x"));
        assert!(!is_adjacent_transposition(b"1234", b"4231"));
    }

    proptest! {
        #[test]
        fn jaro_winkler_is_symmetric_and_bounded(a in "[a-e]{0,8}", b in "[a-e]{0,8}") {
            let x = jaro_winkler(&a, &b);
            prop_assert!((0.0..=1.0).contains(&x));
            prop_assert!((x - jaro_winkler(&b, &a)).abs() < 1e-9);
        }

        #[test]
        fn the_bound_from_counts_is_the_bound(a in "[0-9X]{0,40}", b in "[0-9X]{0,40}") {
            let (x, y) = (a.as_bytes(), b.as_bytes());
            prop_assert_eq!(symbol_bound_of(&symbol_counts(x), &symbol_counts(y)), symbol_bound(x, y));
        }

        #[test]
        fn the_symbol_bound_is_a_lower_bound(a in "[0-9X]{0,18}", b in "[0-9X]{0,18}") {
            prop_assert!(symbol_bound(a.as_bytes(), b.as_bytes()) <= full_table(a.as_bytes(), b.as_bytes()));
            for limit in 0..4 {
                prop_assert_eq!(
                    edit_distance_bytes(a.as_bytes(), b.as_bytes(), limit),
                    full_table(a.as_bytes(), b.as_bytes()).min(limit + 1)
                );
            }
        }

        #[test]
        fn within_one_edit_is_the_distance_at_most_one(a in "[a-c]{0,6}", b in "[a-c]{0,6}") {
            prop_assert_eq!(within_one_edit(&a, &b), full_table(a.as_bytes(), b.as_bytes()) <= 1);
            // the same through the character path
            let (ha, hb) = (a.replace('a', "张").replace('b', "明"), b.replace('a', "张").replace('b', "明"));
            prop_assert_eq!(within_one_edit(&ha, &hb), edit_distance(&ha, &hb, 1) <= 1);
        }

        #[test]
        fn byte_and_char_paths_agree(a in "[a-e]{0,8}", b in "[a-e]{0,8}") {
            let ca: Vec<char> = a.chars().collect();
            let cb: Vec<char> = b.chars().collect();
            prop_assert!((jaro_winkler(&a, &b) - winkler(&ca, &cb)).abs() < 1e-12 || a == b);
            prop_assert_eq!(edit_distance(&a, &b, 3), edit_distance_chars(&ca, &cb, 3));
        }

        #[test]
        fn banded_distance_equals_the_whole_table(a in "[0-3]{0,12}", b in "[0-3]{0,12}", limit in 0usize..5) {
            let (x, y) = (a.as_bytes(), b.as_bytes());
            prop_assert_eq!(edit_distance_bytes(x, y, limit), full_table(x, y).min(limit + 1));
        }

        #[test]
        fn texts_of_one_length_take_the_short_way_exactly(a in "[0-1]{8}", b in "[0-1]{8}", limit in 0usize..4) {
            let (x, y) = (a.as_bytes(), b.as_bytes());
            let whole = full_table(x, y).min(limit + 1);
            prop_assert_eq!(edit_distance_bytes(x, y, limit), whole);
            prop_assert_eq!(
                edit_distance_counted((x, &symbol_counts(x)), (y, &symbol_counts(y)), limit),
                whole
            );
        }

        #[test]
        fn edit_distance_is_symmetric_and_zero_only_for_equal(a in "[0-3]{0,7}", b in "[0-3]{0,7}") {
            let d = edit_distance(&a, &b, 10);
            prop_assert_eq!(d, edit_distance(&b, &a, 10));
            prop_assert_eq!(d == 0, a == b);
        }
    }
}
