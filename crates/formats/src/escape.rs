//! nginx's `\xHH` escaping of access-log values (`escape=default`), undone for display.

use std::borrow::Cow;

use memchr::memchr;

/// Decodes nginx `\xHH` escapes for display. The text is attacker-controlled: decoded bytes
/// are for showing to people, never for keys (the raw form keeps keys stable). Anything that
/// is not a complete `\xHH` is kept as it is; without escapes the input is borrowed.
pub fn unescape(raw: &[u8]) -> Cow<'_, [u8]> {
    let Some((first, _)) = next_escape(raw, 0) else {
        return Cow::Borrowed(raw);
    };
    let mut out = Vec::with_capacity(raw.len());
    out.extend_from_slice(&raw[..first]);
    let mut from = first;
    while let Some((at, byte)) = next_escape(raw, from) {
        out.extend_from_slice(&raw[from..at]);
        out.push(byte);
        from = at + 4;
    }
    out.extend_from_slice(&raw[from..]);
    Cow::Owned(out)
}

/// The next `\xHH` at or after `from`: its position and the byte it stands for.
fn next_escape(raw: &[u8], mut from: usize) -> Option<(usize, u8)> {
    while let Some(at) = memchr(b'\\', &raw[from..]).map(|j| from + j) {
        if let [b'\\', b'x', hi, lo, ..] = raw[at..] {
            if let (Some(hi), Some(lo)) = (hex(hi), hex(lo)) {
                return Some((at, hi << 4 | lo));
            }
        }
        from = at + 1;
    }
    None
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_escapes_and_borrows_plain_text() {
        assert!(matches!(unescape(b"GET / HTTP/1.1"), Cow::Borrowed(_)));
        assert_eq!(&*unescape(b"\\x16\\x03\\x01R\\xB5"), b"\x16\x03\x01R\xb5");
        assert_eq!(&*unescape(b"say \\x22hi\\x22"), b"say \"hi\"");
        assert_eq!(&*unescape(b"a\\x5Cx41"), b"a\\x41");
    }

    #[test]
    fn keeps_incomplete_escapes() {
        assert_eq!(&*unescape(b"\\x4"), b"\\x4");
        assert_eq!(&*unescape(b"\\xZZ\\"), b"\\xZZ\\");
        assert_eq!(&*unescape(b"\\\\x41"), b"\\A");
    }
}
