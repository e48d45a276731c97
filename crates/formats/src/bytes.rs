//! Byte helpers for the hot path. Values between separators are short, and for them a plain
//! loop beats a call into `memcmp` or `memchr`, whose setup costs more than the scan; long
//! values still go to `memchr` after the first few bytes.

use memchr::{memchr, memrchr};

/// Bytes scanned one by one before handing over to `memchr`.
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

/// First `needle` in `hay`: eight bytes at a time over the first [`SHORT`] bytes, then
/// `memchr`.
#[inline(always)]
pub(crate) fn find_byte(needle: u8, hay: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let splat = LO * u64::from(needle);
    let head = hay.len().min(SHORT);
    let mut chunks = hay[..head].chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let x = u64::from_le_bytes(w) ^ splat;
        // The lowest byte flagged is exact (a borrow only spoils the bytes above it).
        let found = x.wrapping_sub(LO) & !x & HI;
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    if let Some(i) = chunks.remainder().iter().position(|&c| c == needle) {
        return Some(at + i);
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
        assert!(!eq_short(b"abc", b"abcd"));
        assert!(!has_prefix(b"ab", b"abc"));
    }
}
