//! A strict, allocation-free JSON scanner over one line: it walks the text once and hands
//! back borrowed slices (strings without their quotes, still escaped; numbers as written).
//! Values nobody asked for are skipped by scanning, still checked for well-formedness.
//!
//! Strict means RFC 8259's grammar: no trailing commas, no comments, no single quotes, no
//! raw control bytes inside strings, escapes limited to `\" \\ \/ \b \f \n \r \t \uXXXX`.
//! Bytes of 0x80 and above are taken as they are (nginx's `escape=json` passes them
//! through even when they are not UTF-8).

use crate::bytes::has_prefix;
use crate::ParseError;

pub(crate) const INVALID: ParseError = ParseError {
    reason: "invalid JSON",
};
pub(crate) const TOO_DEEP: ParseError = ParseError {
    reason: "JSON nested too deeply",
};

/// Deepest nesting of objects and arrays accepted (the top-level object is depth 1).
pub(crate) const MAX_DEPTH: u32 = 64;

/// A position in one line.
#[derive(Debug)]
pub(crate) struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Scanner<'a> {
        Scanner { b, i: 0 }
    }

    /// Skips JSON whitespace.
    #[inline]
    pub(crate) fn ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.i) {
            self.i += 1;
        }
    }

    #[inline]
    pub(crate) fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// Skips whitespace, then consumes `c` if it is next.
    #[inline(always)]
    fn eat_after_ws(&mut self, c: u8) -> bool {
        // Compact lines have no whitespace: one load and one compare.
        if self.peek() == Some(c) {
            self.i += 1;
            return true;
        }
        self.ws();
        self.eat(c)
    }

    /// Consumes `c` if it is next.
    #[inline]
    pub(crate) fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        self.i += usize::from(hit);
        hit
    }

    pub(crate) fn at_end(&self) -> bool {
        self.i >= self.b.len()
    }

    /// After `{` (or after a member's value): the next member's key, positioned at its
    /// value, or `None` at the closing `}`. `first` is true before the first member.
    #[inline]
    pub(crate) fn next_key(
        &mut self,
        first: &mut bool,
    ) -> Result<Option<(&'a [u8], u64)>, ParseError> {
        if std::mem::take(first) {
            if self.eat_after_ws(b'}') {
                return Ok(None);
            }
        } else if !self.eat_after_ws(b',') {
            return if self.eat_after_ws(b'}') {
                Ok(None)
            } else {
                Err(INVALID)
            };
        }
        if !self.eat_after_ws(b'"') {
            return Err(INVALID);
        }
        self.i -= 1;
        let key = self.key()?;
        if !self.eat_after_ws(b':') {
            return Err(INVALID);
        }
        if let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.ws();
        }
        Ok(Some(key))
    }

    /// The key at the cursor (at its `"`), and its first eight bytes as a little-endian word,
    /// zero-padded: see [`head_word`].
    #[inline(always)]
    fn key(&mut self) -> Result<(&'a [u8], u64), ParseError> {
        let start = self.i + 1;
        let key = self.string()?;
        // The line goes on after the key (its quote at least), so a word is usually there.
        let head = match self.b.get(start..start + 8) {
            Some(w) => {
                let mut a = [0u8; 8];
                a.copy_from_slice(w);
                mask(u64::from_le_bytes(a), key.len())
            }
            None => head_word(key),
        };
        Ok((key, head))
    }

    /// The string at the cursor (which is at its `"`), without its quotes, escapes kept.
    #[inline(always)]
    pub(crate) fn string(&mut self) -> Result<&'a [u8], ParseError> {
        let start = self.i + 1;
        let mut i = start;
        loop {
            let (len, byte) = find_special(self.b.get(i..).ok_or(INVALID)?).ok_or(INVALID)?;
            i += len;
            match byte {
                b'"' => {
                    self.i = i + 1;
                    return Ok(&self.b[start..i]);
                }
                b'\\' => i += escape_len(&self.b[i..]).ok_or(INVALID)?,
                _ => return Err(INVALID),
            }
        }
    }

    /// The number at the cursor, as written.
    #[inline]
    pub(crate) fn number(&mut self) -> Result<&'a [u8], ParseError> {
        let b = self.b;
        let start = self.i;
        let mut i = start + usize::from(b.get(start) == Some(&b'-'));
        match b.get(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => i += digits(&b[i..]),
            _ => return Err(INVALID),
        }
        if b.get(i) == Some(&b'.') {
            let n = digits(&b[i + 1..]);
            if n == 0 {
                return Err(INVALID);
            }
            i += 1 + n;
        }
        if let Some(b'e' | b'E') = b.get(i) {
            i += 1;
            if let Some(b'+' | b'-') = b.get(i) {
                i += 1;
            }
            let n = digits(b.get(i..).unwrap_or_default());
            if n == 0 {
                return Err(INVALID);
            }
            i += n;
        }
        self.i = i;
        Ok(&b[start..i])
    }

    /// Skips the value at the cursor; `depth` is the nesting of the object or array it is in.
    pub(crate) fn skip_value(&mut self, depth: u32) -> Result<(), ParseError> {
        match self.peek() {
            Some(b'"') => self.string().map(drop),
            Some(b'-' | b'0'..=b'9') => self.number().map(drop),
            Some(b'{') => {
                self.enter(depth)?;
                let mut first = true;
                while self.next_key(&mut first)?.is_some() {
                    self.skip_value(depth + 1)?;
                }
                Ok(())
            }
            Some(b'[') => {
                self.enter(depth)?;
                self.ws();
                if self.eat(b']') {
                    return Ok(());
                }
                loop {
                    self.ws();
                    self.skip_value(depth + 1)?;
                    self.ws();
                    if self.eat(b']') {
                        return Ok(());
                    }
                    if !self.eat(b',') {
                        return Err(INVALID);
                    }
                }
            }
            Some(b't') => self.word(b"true"),
            Some(b'f') => self.word(b"false"),
            Some(b'n') => self.word(b"null"),
            _ => Err(INVALID),
        }
    }

    /// Steps into the object or array at the cursor, one level below `depth`.
    #[inline]
    pub(crate) fn enter(&mut self, depth: u32) -> Result<(), ParseError> {
        if depth >= MAX_DEPTH {
            return Err(TOO_DEEP);
        }
        self.i += 1;
        Ok(())
    }

    fn word(&mut self, w: &[u8]) -> Result<(), ParseError> {
        if has_prefix(&self.b[self.i..], w) {
            self.i += w.len();
            Ok(())
        } else {
            Err(INVALID)
        }
    }
}

/// The first eight bytes of `key` as a little-endian word, zero-padded when shorter.
#[inline]
pub(crate) fn head_word(key: &[u8]) -> u64 {
    key.iter()
        .take(8)
        .rev()
        .fold(0u64, |acc, &c| acc << 8 | u64::from(c))
}

/// `word` with only its first `len` bytes (all of them from eight on).
#[inline(always)]
fn mask(word: u64, len: usize) -> u64 {
    if len >= 8 {
        word
    } else {
        word & ((1u64 << (8 * len)) - 1)
    }
}

#[inline]
fn digits(b: &[u8]) -> usize {
    b.iter().take_while(|c| c.is_ascii_digit()).count()
}

/// Length of the escape at the start of `b` (a `\`).
#[inline]
fn escape_len(b: &[u8]) -> Option<usize> {
    match b.get(1)? {
        b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => Some(2),
        b'u' if b.get(2..6)?.iter().all(u8::is_ascii_hexdigit) => Some(6),
        _ => None,
    }
}

/// First byte that ends a plain run inside a string: `"`, `\` or a control byte. Eight
/// bytes at a time with two tests: `x ^ 0x02` is below 0x21 exactly for the control bytes
/// and `"` (0x22 becomes 0x20, while 0x20 and 0x21 become 0x22 and 0x23), and `x ^ b'\\'`
/// is zero for `\`. For each test the lowest flagged byte is exact (a borrow only spoils
/// the bytes above it), so the lowest of both flags is too.
#[inline]
fn find_special(hay: &[u8]) -> Option<(usize, u8)> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const FLIP: u64 = LO * 0x02;
    const BELOW: u64 = LO * 0x21;
    const BACKSLASH: u64 = LO * b'\\' as u64;
    let mut chunks = hay.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let w = u64::from_le_bytes(w);
        let c = w ^ FLIP;
        let s = w ^ BACKSLASH;
        let found = (c.wrapping_sub(BELOW) & !c | s.wrapping_sub(LO) & !s) & HI;
        if found != 0 {
            let bit = found.trailing_zeros() & !7;
            return Some((at + (bit / 8) as usize, (w >> bit) as u8));
        }
        at += 8;
    }
    let rest = chunks.remainder();
    let i = rest
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)?;
    Some((at + i, rest[i]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `text` is one well-formed JSON value and nothing else.
    fn valid(text: &[u8]) -> bool {
        let mut s = Scanner::new(text);
        s.ws();
        let ok = s.skip_value(0).is_ok();
        s.ws();
        ok && s.at_end()
    }

    #[test]
    fn special_bytes_are_found_exactly() {
        let base: Vec<u8> = (0..40).map(|i| b'a' + i % 26).collect();
        for at in 0..base.len() {
            for special in [b'"', b'\\', 0, 0x1f] {
                let mut hay = base.clone();
                hay[at] = special;
                // Bytes that borrow or sit next to the tested values must not confuse it.
                if at + 1 < hay.len() {
                    hay[at + 1] = 0x80;
                }
                assert_eq!(find_special(&hay), Some((at, special)), "{special} at {at}");
            }
        }
        assert_eq!(find_special(&base), None);
        // Every byte value, at every position of a word, after every other byte value.
        let special = |c: u8| c == b'"' || c == b'\\' || c < 0x20;
        for x in 0..=255u8 {
            for before in 0..=255u8 {
                let hay = [b'a', b'a', b'a', b'a', before, x, b'a', b'a', b'a'];
                let want = hay.iter().position(|&c| special(c)).map(|i| (i, hay[i]));
                assert_eq!(find_special(&hay), want, "{before:#x} {x:#x}");
            }
        }
        assert_eq!(find_special(b"\x20\x7f\xff\x21\x5b\x5d"), None);
    }

    #[test]
    fn strings_keep_their_escapes() {
        let mut s = Scanner::new(br#""a\"b\\\u00e9\n" x"#);
        assert_eq!(s.string().unwrap(), br#"a\"b\\\u00e9\n"#);
        assert_eq!(s.peek(), Some(b' '));
        for bad in [
            &br#""a"#[..],
            br#""a\x""#,
            br#""\u12""#,
            b"\"a\x01\"",
            br#""\"#,
        ] {
            assert_eq!(Scanner::new(bad).string(), Err(INVALID), "{bad:?}");
        }
    }

    #[test]
    fn keys_come_with_their_head_word() {
        for key in [
            &b""[..],
            b"a",
            b"status",
            b"1234567",
            b"12345678",
            b"upstream_addr",
        ] {
            let line = [&b"\""[..], key, b"\":1}"].concat();
            let mut s = Scanner::new(&line);
            assert_eq!(s.key().unwrap(), (key, head_word(key)));
            // At the very end of a line the word is built byte by byte.
            let line = [&b"\""[..], key, b"\""].concat();
            let mut s = Scanner::new(&line);
            assert_eq!(s.key().unwrap(), (key, head_word(key)));
        }
        assert_eq!(head_word(b"ab"), u64::from_le_bytes(*b"ab\0\0\0\0\0\0"));
        assert_eq!(head_word(b"abcdefghi"), u64::from_le_bytes(*b"abcdefgh"));
    }

    #[test]
    fn numbers_follow_the_grammar() {
        for (text, len) in [
            (&b"0,"[..], 1),
            (b"-12.5e+3}", 8),
            (b"502 ", 3),
            (b"1E9", 3),
            (b"0.001", 5),
        ] {
            let mut s = Scanner::new(text);
            assert_eq!(s.number().unwrap().len(), len);
        }
        for bad in [&b"-"[..], b"1.", b".5", b"1e", b"+1", b"-x"] {
            assert_eq!(Scanner::new(bad).number(), Err(INVALID), "{bad:?}");
        }
    }

    #[test]
    fn skipping_checks_well_formedness() {
        for ok in [
            &br#"{}"#[..],
            br#"{"a":[1,{"b":null},true,false,"x"],"c":{}}"#,
            br#" { "a" : [ ] , "b" : -0.5e-2 } "#,
            br#"[[[]]]"#,
        ] {
            assert!(valid(ok), "{}", String::from_utf8_lossy(ok));
        }
        for bad in [
            &br#"{"a":1,}"#[..],
            br#"{"a" 1}"#,
            br#"{'a':1}"#,
            br#"{"a":[1,]}"#,
            br#"{"a":tru}"#,
            br#"{"a":01}"#,
            br#"{a:1}"#,
            br#"[1 2]"#,
            br#"{"a":1"#,
            b"",
        ] {
            assert!(!valid(bad), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn depth_is_capped() {
        let deep = |n: usize| [vec![b'['; n], vec![b']'; n]].concat();
        assert!(valid(&deep(MAX_DEPTH as usize)));
        let mut s = Scanner::new(&[b'['; 100_000]);
        assert_eq!(s.skip_value(0), Err(TOO_DEEP));
    }
}
