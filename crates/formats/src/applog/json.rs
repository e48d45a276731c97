//! JSON-lines records (pino, bunyan, zap, logrus, structlog, python-json-logger, logstash's
//! encoder, ECS): the time, level, message and stack a record carries under its usual key
//! names, read by a lenient walk over the top-level object (and one level into an
//! `err` / `error` / `exception` object). Values stay escaped until [`unescape`] is asked.

use memchr::memmem;

use super::head::{Format, Head};
use super::shape::{GO, JAVA, NODE, PHP, PYTHON, RUBY};
use super::stamp::{self, Stamp};
use super::Level;

/// What a JSON record says about itself; strings are still escaped.
#[derive(Debug, Default)]
pub(crate) struct JsonRecord<'a> {
    pub(crate) time: Option<Stamp>,
    pub(crate) level: Option<Level>,
    pub(crate) msg: Option<&'a [u8]>,
    pub(crate) stack: Option<&'a [u8]>,
    pub(crate) error: Option<&'a [u8]>,
    pub(crate) error_type: Option<&'a [u8]>,
}

pub(crate) fn head(line: &[u8]) -> Option<Head> {
    let rec = read(line)?;
    Some(Head {
        time: rec.time,
        level: rec.level,
        body: (0, line.len()),
        msg: 0,
        wrap: None,
        format: Format::Json,
        kind: rec.stack.and_then(sniff),
    })
}

/// The record in `line`, `None` unless it opens with an object and a first key.
pub(crate) fn read(line: &[u8]) -> Option<JsonRecord<'_>> {
    let mut rec = JsonRecord::default();
    let mut any = false;
    for (key, value) in Members::new(line)? {
        any = true;
        match (key, value) {
            (b"time" | b"timestamp" | b"ts" | b"@timestamp" | b"t" | b"@t", v)
            | (b"asctime" | b"datetime" | b"date", v)
                if rec.time.is_none() =>
            {
                rec.time = time(v);
            }
            (b"level" | b"lvl" | b"severity" | b"levelname" | b"loglevel", v)
            | (b"log.level" | b"@l" | b"level_name", v)
                if rec.level.is_none() =>
            {
                rec.level = level(v);
            }
            (b"msg" | b"message" | b"@m" | b"@mt" | b"event" | b"log", Value::Str(s)) => {
                rec.msg.get_or_insert(s);
            }
            (b"stack" | b"stack_trace" | b"stacktrace" | b"exc_info" | b"traceback", v)
            | (b"exc_text" | b"exception" | b"error.stack_trace" | b"err.stack", v) => {
                if let Value::Str(s) = v {
                    rec.stack.get_or_insert(s);
                } else if let Value::Object(o) = v {
                    nested(o, &mut rec);
                }
            }
            (b"err" | b"error" | b"exc" | b"error.message", Value::Str(s)) => {
                rec.error.get_or_insert(s);
            }
            (b"err" | b"error" | b"exc", Value::Object(o)) => nested(o, &mut rec),
            (b"error.type" | b"error.kind", Value::Str(s)) => {
                rec.error_type.get_or_insert(s);
            }
            _ => {}
        }
    }
    any.then_some(rec)
}

/// An `err` / `error` / `exception` object: its stack, message and type.
fn nested<'a>(obj: &'a [u8], rec: &mut JsonRecord<'a>) {
    let Some(members) = Members::new(obj) else {
        return;
    };
    for (key, value) in members {
        let Value::Str(s) = value else { continue };
        match key {
            b"stack" | b"stack_trace" | b"stacktrace" | b"backtrace" => {
                rec.stack.get_or_insert(s);
            }
            b"message" | b"msg" => {
                rec.error.get_or_insert(s);
            }
            b"type" | b"kind" | b"name" | b"class" => {
                rec.error_type.get_or_insert(s);
            }
            _ => {}
        }
    }
}

fn time(v: Value<'_>) -> Option<Stamp> {
    match v {
        Value::Str(s) => stamp::iso(s).map(|(t, _, _)| t).or_else(|| stamp::epoch(s)),
        Value::Scalar(n) => stamp::epoch(n),
        _ => None,
    }
}

/// A level word, or a number: pino and bunyan's 10…60, else syslog's severities 0…7.
fn level(v: Value<'_>) -> Option<Level> {
    match v {
        Value::Str(s) => Level::from_word(s),
        Value::Scalar(n) => {
            let n: u32 = std::str::from_utf8(n).ok()?.parse().ok()?;
            Some(match n {
                0 | 1 => Level::Fatal,
                2 => Level::Critical,
                3 => Level::Error,
                4 => Level::Warn,
                5 => Level::Notice,
                6 => Level::Info,
                7 => Level::Debug,
                8..=10 => Level::Trace,
                11..=20 => Level::Debug,
                21..=30 => Level::Info,
                31..=40 => Level::Warn,
                41..=50 => Level::Error,
                _ => Level::Fatal,
            })
        }
        _ => None,
    }
}

/// The runtime a stack (still escaped) comes from.
pub(crate) fn sniff(stack: &[u8]) -> Option<&'static str> {
    let has = |needle: &[u8]| memmem::find(stack, needle).is_some();
    if has(b"Traceback (most recent call last):") {
        Some(PYTHON)
    } else if has(b"\\n\\tat ") {
        Some(JAVA)
    } else if has(b"\\n    at ") {
        Some(NODE)
    } else if has(b"goroutine ") {
        Some(GO)
    } else if has(b".rb:") {
        Some(RUBY)
    } else if has(b"#0 ") {
        Some(PHP)
    } else {
        None
    }
}

/// A member's value: strings without their quotes, still escaped.
#[derive(Debug, Clone, Copy)]
enum Value<'a> {
    Str(&'a [u8]),
    Scalar(&'a [u8]),
    Object(&'a [u8]),
    Other,
}

/// The members of the object at the start of a slice, read leniently: the walk stops at
/// the first thing it does not understand.
struct Members<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Members<'a> {
    fn new(b: &'a [u8]) -> Option<Members<'a>> {
        let mut m = Members { b, i: 0 };
        m.ws();
        (m.b.get(m.i) == Some(&b'{')).then(|| {
            m.i += 1;
            m
        })
    }

    fn ws(&mut self) {
        while matches!(self.b.get(self.i), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.i += 1;
        }
    }

    /// The string at the cursor's `"`, without its quotes.
    fn string(&mut self) -> Option<&'a [u8]> {
        let start = self.i + 1;
        let mut j = start;
        loop {
            match *self.b.get(j)? {
                b'"' => break,
                b'\\' => j += 2,
                _ => j += 1,
            }
        }
        self.i = j + 1;
        Some(&self.b[start..j])
    }

    /// Skips the object or array at the cursor.
    fn nest(&mut self) -> Option<&'a [u8]> {
        let start = self.i;
        let mut depth = 0usize;
        loop {
            match *self.b.get(self.i)? {
                b'"' => {
                    self.string()?;
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        self.i += 1;
                        return Some(&self.b[start..self.i]);
                    }
                }
                _ => {}
            }
            self.i += 1;
        }
    }

    fn value(&mut self) -> Option<Value<'a>> {
        Some(match *self.b.get(self.i)? {
            b'"' => Value::Str(self.string()?),
            b'{' => Value::Object(self.nest()?),
            b'[' => {
                self.nest()?;
                Value::Other
            }
            _ => {
                let start = self.i;
                while !matches!(self.b.get(self.i), None | Some(b',' | b'}' | b' ' | b'\t')) {
                    self.i += 1;
                }
                Value::Scalar(&self.b[start..self.i])
            }
        })
    }
}

impl<'a> Iterator for Members<'a> {
    type Item = (&'a [u8], Value<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        self.ws();
        if self.b.get(self.i) == Some(&b',') {
            self.i += 1;
            self.ws();
        }
        if self.b.get(self.i) != Some(&b'"') {
            return None;
        }
        let key = self.string()?;
        self.ws();
        if self.b.get(self.i) != Some(&b':') {
            return None;
        }
        self.i += 1;
        self.ws();
        let value = self.value()?;
        Some((key, value))
    }
}

/// Appends a JSON string's content with its escapes decoded; bytes that are not UTF-8 and
/// bad escapes become U+FFFD.
pub(crate) fn unescape(s: &[u8], out: &mut String) {
    let mut i = 0;
    while i < s.len() {
        let run = s[i..]
            .iter()
            .position(|&c| c == b'\\')
            .unwrap_or(s.len() - i);
        out.push_str(&String::from_utf8_lossy(&s[i..i + run]));
        i += run;
        if i >= s.len() {
            break;
        }
        let (c, used) = escape(&s[i..]);
        out.push(c);
        i += used;
    }
}

/// The escape at the start of `s` (which is at its `\`): the character and bytes used.
fn escape(s: &[u8]) -> (char, usize) {
    let c = match s.get(1) {
        Some(b'n') => '\n',
        Some(b't') => '\t',
        Some(b'r') => '\r',
        Some(b'b') => '\u{8}',
        Some(b'f') => '\u{c}',
        Some(b'u') => return unicode(s),
        Some(&c) if c.is_ascii() => c as char,
        _ => return ('\u{fffd}', s.len().min(2)),
    };
    (c, 2)
}

fn unicode(s: &[u8]) -> (char, usize) {
    let hex = |at: usize| {
        let h = std::str::from_utf8(s.get(at..at + 4)?).ok()?;
        u32::from_str_radix(h, 16).ok()
    };
    let Some(hi) = hex(2) else {
        return ('\u{fffd}', 2);
    };
    if (0xd800..0xdc00).contains(&hi) && s.get(6..8) == Some(b"\\u") {
        if let Some(lo) = hex(8).filter(|lo| (0xdc00..0xe000).contains(lo)) {
            let c = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
            return (char::from_u32(c).unwrap_or('\u{fffd}'), 12);
        }
    }
    (char::from_u32(hi).unwrap_or('\u{fffd}'), 6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pino_record_with_an_error() {
        let line = br#"{"level":50,"time":1778754093123,"pid":7,"msg":"request failed","err":{"type":"TypeError","message":"x is undefined","stack":"TypeError: x is undefined\n    at f (/app/a.js:1:2)"}}"#;
        let rec = read(line).unwrap();
        assert_eq!(rec.level, Some(Level::Error));
        assert_eq!(rec.time, Some((1_778_754_093, Some(0))));
        assert_eq!(rec.msg, Some(&b"request failed"[..]));
        assert_eq!(rec.error_type, Some(&b"TypeError"[..]));
        assert_eq!(head(line).unwrap().kind, Some(NODE));
    }

    #[test]
    fn python_json_logger() {
        let line = br#"{"asctime": "2026-05-14 10:21:33,123", "levelname": "ERROR", "message": "boom", "exc_info": "Traceback (most recent call last):\n  File \"/app/x.py\", line 1, in <module>\nKeyError: 'id'"}"#;
        let rec = read(line).unwrap();
        assert_eq!(rec.level, Some(Level::Error));
        assert_eq!(rec.time, Some((1_778_754_093, None)));
        let mut s = String::new();
        unescape(rec.stack.unwrap(), &mut s);
        assert!(s.ends_with("in <module>\nKeyError: 'id'"));
        assert_eq!(head(line).unwrap().kind, Some(PYTHON));
    }

    #[test]
    fn escapes_and_garbage() {
        let mut s = String::new();
        unescape(br#"a\"b\\c\u00e9\ud83d\ude00\u12"#, &mut s);
        assert_eq!(s, "a\"b\\cé😀\u{fffd}12");
        assert!(read(b"{").is_none());
        assert!(read(b"{\"a").is_none());
        assert!(read(b"not json").is_none());
        assert!(
            read(br#"{"a":[1,{"b":"}"}],"level":"warn"}"#)
                .unwrap()
                .level
                == Some(Level::Warn)
        );
    }
}
