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
    pub(crate) fn next_key(&mut self, first: &mut bool) -> Result<Option<&'a [u8]>, ParseError> {
        self.ws();
        if std::mem::take(first) {
            if self.eat(b'}') {
                return Ok(None);
            }
        } else if self.eat(b',') {
            self.ws();
        } else if self.eat(b'}') {
            return Ok(None);
        } else {
            return Err(INVALID);
        }
        if self.peek() != Some(b'"') {
            return Err(INVALID);
        }
        let key = self.string()?;
        self.ws();
        if !self.eat(b':') {
            return Err(INVALID);
        }
        self.ws();
        Ok(Some(key))
    }

    /// The string at the cursor (which is at its `"`), without its quotes, escapes kept.
    #[inline]
    pub(crate) fn string(&mut self) -> Result<&'a [u8], ParseError> {
        let start = self.i + 1;
        let mut i = start;
        loop {
            i += find_special(self.b.get(i..).ok_or(INVALID)?).ok_or(INVALID)?;
            match self.b[i] {
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
/// bytes at a time: for each of the three tests the lowest flagged byte is exact (a borrow
/// only spoils the bytes above it), so the lowest of all flags is too.
#[inline]
fn find_special(hay: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const QUOTE: u64 = LO * b'"' as u64;
    const BACKSLASH: u64 = LO * b'\\' as u64;
    const SPACE: u64 = LO * 0x20;
    let mut chunks = hay.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let w = u64::from_le_bytes(w);
        let q = w ^ QUOTE;
        let s = w ^ BACKSLASH;
        let found =
            (q.wrapping_sub(LO) & !q | s.wrapping_sub(LO) & !s | w.wrapping_sub(SPACE) & !w) & HI;
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
        .map(|i| at + i)
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
                assert_eq!(find_special(&hay), Some(at), "{special} at {at}");
            }
        }
        assert_eq!(find_special(&base), None);
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
