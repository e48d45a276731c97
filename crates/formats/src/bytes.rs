//! Byte helpers for the hot path. Values between separators are short, and for them an inline
//! search (sixteen bytes per compare) or comparison beats a call into `memcmp` or `memchr`,
//! whose setup costs more than the scan; long values still go to `memchr` after the first
//! few bytes.

use memchr::{memchr, memrchr};
use wide::u8x16;

/// Bytes searched inline before handing over to `memchr`.
const SHORT: usize = 64;

/// `hay` starts with `lit`, compared inline (literals are a few bytes).
#[inline(always)]
pub(crate) fn has_prefix(hay: &[u8], lit: &[u8]) -> bool {
    hay.len() >= lit.len() && hay.iter().zip(lit).all(|(a, b)| a == b)
}

/// `hay` without its prefix `lit`.
#[inline(always)]
pub(crate) fn strip<'a>(hay: &'a [u8], lit: &[u8]) -> Option<&'a [u8]> {
    if has_prefix(hay, lit) {
        hay.get(lit.len()..)
    } else {
        None
    }
}

/// Equality of short slices, eight bytes at a time.
#[inline]
pub(crate) fn eq_short(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let n = a.len();
    if n < 8 {
        return a.iter().zip(b).all(|(x, y)| x == y);
    }
    let mut i = 0;
    while i + 8 <= n {
        if word(a, i) != word(b, i) {
            return false;
        }
        i += 8;
    }
    word(a, n - 8) == word(b, n - 8)
}

#[inline(always)]
fn word(s: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&s[at..at + 8]);
    u64::from_ne_bytes(w)
}

/// First `needle` in `hay`: sixteen bytes at a time (SSE2 lanes) over the first [`SHORT`]
/// bytes, then `memchr`. Inlined: most values end within the first sixteen bytes, where a
/// call would cost more than the search.
#[inline(always)]
pub(crate) fn find_byte(needle: u8, hay: &[u8]) -> Option<usize> {
    let splat = u8x16::splat(needle);
    let head = hay.len().min(SHORT);
    let mut at = 0;
    while let Some(chunk) = hay[at..head].first_chunk::<16>() {
        let found = u8x16::new(*chunk).cmp_eq(splat).move_mask();
        if found != 0 {
            return Some(at + found.trailing_zeros() as usize);
        }
        at += 16;
    }
    if at < head {
        match hay.get(head.saturating_sub(16)..head) {
            // The last sixteen bytes of the head, those already searched masked out.
            Some(last) if last.len() == 16 => {
                let from = head - 16;
                let chunk = last.first_chunk::<16>().expect("16 bytes");
                let found = (u8x16::new(*chunk).cmp_eq(splat).move_mask() as u32) >> (at - from);
                if found != 0 {
                    return Some(at + found.trailing_zeros() as usize);
                }
            }
            _ => {
                if let Some(i) = hay[at..head].iter().position(|&c| c == needle) {
                    return Some(at + i);
                }
            }
        }
    }
    memchr(needle, &hay[head..]).map(|i| i + head)
}

/// Last `needle` in `hay`.
#[inline(always)]
pub(crate) fn rfind_byte(needle: u8, hay: &[u8]) -> Option<usize> {
    let tail = hay.len().saturating_sub(16);
    match hay[tail..].iter().rposition(|&c| c == needle) {
        Some(i) => Some(tail + i),
        None => memrchr(needle, &hay[..tail]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_agree_with_the_standard_library() {
        let hay: Vec<u8> = (0..100u8).map(|i| b'a' + i % 7).chain(*b" x y ").collect();
        for len in 0..hay.len() {
            let h = &hay[..len];
            for needle in [b'a', b'g', b' ', b'y', b'z'] {
                assert_eq!(find_byte(needle, h), h.iter().position(|&c| c == needle));
                assert_eq!(rfind_byte(needle, h), h.iter().rposition(|&c| c == needle));
            }
            assert!(eq_short(h, &hay[..len]));
            assert!(has_prefix(&hay, h));
            assert_eq!(strip(&hay, h), Some(&hay[len..]));
            if len > 0 {
                let mut other = h.to_vec();
                other[len / 2] ^= 1;
                assert!(!eq_short(h, &other));
                assert!(!has_prefix(&hay, &other));
            }
        }
        // A needle alone at every place of every length, and bytes one off it nowhere.
        for len in 0..150 {
            for at in 0..=len {
                let mut h = vec![b'a'; len];
                if at < len {
                    h[at] = b'"';
                }
                let want = (at < len).then_some(at);
                assert_eq!(find_byte(b'"', &h), want, "{len} {at}");
                assert_eq!(find_byte(b'!', &h), None);
                assert_eq!(find_byte(b'#', &h), None);
            }
        }
        assert!(!eq_short(b"abc", b"abcd"));
        assert!(!has_prefix(b"ab", b"abc"));
    }
}
