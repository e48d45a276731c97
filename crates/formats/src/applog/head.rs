//! Record prefixes: the timestamp, level, pid and source a logging library or a collector
//! puts before a line's text. Which reader runs is chosen by the first byte, and each one
//! gives up within a few bytes on a line it does not fit, so continuation lines cost little.

use memchr::{memchr, memmem};

use super::stamp::{self, Stamp};
use super::{json, Level};
use crate::bytes::has_prefix;

/// How the rest of a record is laid out, which decides where the fingerprint finds its
/// message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Text,
    Logfmt,
    Json,
}

/// A record prefix found at the start of a line.
#[derive(Debug, Clone)]
pub(crate) struct Head {
    pub(crate) time: Option<Stamp>,
    pub(crate) level: Option<Level>,
    /// The text after the prefix, where the line's shape is read: the line a collector
    /// wrapped, or a record's message with its level.
    pub(crate) body: (usize, usize),
    /// Where the message starts, after the level and the punctuation around it.
    pub(crate) msg: usize,
    /// For prefixes a collector puts on every physical line (syslog, PHP-FPM's `said into
    /// stderr`, `docker logs --timestamps`): the bytes naming the source, which must be the
    /// same for a prefixed line to continue an event.
    pub(crate) wrap: Option<(usize, usize)>,
    pub(crate) format: Format,
    /// The runtime of a JSON record's stack field.
    pub(crate) kind: Option<&'static str>,
}

pub(crate) fn head(line: &[u8], year: Option<i32>) -> Option<Head> {
    match *line.first()? {
        b'0'..=b'9' => numeric(line),
        b'[' => bracketed(line),
        b'{' => json::head(line),
        b'<' => syslog_pri(line, year),
        b'A'..=b'Z' | b'a'..=b'z' => worded(line, year),
        _ => None,
    }
}

/// A text record whose prefix ends at `after`: its level and message are looked for in the
/// next few words.
fn record(time: Option<Stamp>, line: &[u8], after: usize) -> Head {
    let start = skip_ws(line, after);
    let (level, msg) = level_scan(line, start);
    Head {
        time,
        level,
        body: (start, line.len()),
        msg,
        wrap: None,
        format: Format::Text,
        kind: None,
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    i.min(b.len())
}

/// A level word among the first six words after `from` (`ERROR`, `[ERROR]`, `error:`,
/// `<warn>`; a lower-case word undecorated only in the first place, where zap and logrus
/// put it): the level and where the message after it starts.
fn level_scan(b: &[u8], from: usize) -> (Option<Level>, usize) {
    let end = b.len().min(from + 96);
    let mut i = from;
    for n in 0..6 {
        i = skip_ws(b, i);
        if i >= end {
            break;
        }
        let start = i;
        while i < end && !matches!(b[i], b' ' | b'\t' | b'/' | b'|') {
            i += 1;
        }
        let token = &b[start..i];
        let word = trim_decor(token);
        if let Some(level) = Level::from_word(word) {
            let upper = !word.iter().any(u8::is_ascii_lowercase);
            if upper || word.len() < token.len() || n == 0 {
                return (Some(level), msg_after(b, i));
            }
        }
        // `ERROR:shop.api:message`: Python's default format inside another prefix.
        if let Some(colon) = memchr(b':', word) {
            let w = &word[..colon];
            if w.len() > 2 && !w.iter().any(u8::is_ascii_lowercase) {
                if let Some(level) = Level::from_word(w) {
                    return (Some(level), msg_after(b, start + colon + 1));
                }
            }
        }
        i += usize::from(i < end && b[i] != b' ' && b[i] != b'\t');
    }
    (None, skip_ws(b, from))
}

fn trim_decor(mut t: &[u8]) -> &[u8] {
    while let [b'[' | b'(' | b'<' | b'{' | b'"', rest @ ..] = t {
        t = rest;
    }
    while let [rest @ .., b']' | b')' | b'>' | b'}' | b':' | b',' | b'"'] = t {
        t = rest;
    }
    t
}

/// The message after a level word: separators such as ` - `, ` -- : ` and `: ` skipped.
fn msg_after(b: &[u8], mut i: usize) -> usize {
    while matches!(
        b.get(i),
        Some(b' ' | b'\t' | b'-' | b':' | b'|' | b']' | b'>')
    ) {
        i += 1;
    }
    i.min(b.len())
}

/// ISO 8601 first (most loggers), or a bare time of day (logback's default pattern).
fn numeric(line: &[u8]) -> Option<Head> {
    if let Some((stamp, used, t)) = stamp::iso(line) {
        let mut h = record(Some(stamp), line, used);
        // `docker logs --timestamps` and `kubectl logs --timestamps` put an RFC 3339 time in
        // nanoseconds and one space before each raw line of the container's output. A
        // level after it means a record (Spring Boot pads its level with a space).
        let nanos = line.get(19) == Some(&b'.') && stamp::digits(&line[20..]) >= 4;
        if t && nanos && stamp.1.is_some() && line.get(used) == Some(&b' ') && h.level.is_none() {
            h.wrap = Some((0, 0));
            h.body.0 = used + 1;
        }
        return Some(h);
    }
    let used = stamp::clock(line)?;
    Some(record(None, line, used))
}

/// `[time] …` (gunicorn, Flask, celery, PHP, PHP-FPM), the kernel's `[uptime]`, uWSGI's
/// `[pid: …]` and `[LEVEL] …`.
fn bracketed(line: &[u8]) -> Option<Head> {
    let inner = &line[1..];
    let (time, used, fpm) = if let Some((s, used, _)) = stamp::iso(inner) {
        (s, used, false)
    } else if let Some((s, used)) = stamp::dmy(inner) {
        (s, used, true)
    } else if let Some((s, used)) = stamp::asctime(inner) {
        (s, used, false)
    } else {
        return other_bracket(line);
    };
    // The bracket may hold more after the time: `+0000`, `: ERROR/MainProcess`, a zone name.
    let close = 1 + used + memchr(b']', &inner[used..inner.len().min(used + 48)])?;
    let mut h = record(Some(time), line, close + 1);
    if h.level.is_none() {
        (h.level, _) = level_scan(&line[..close], 1 + used);
    }
    if fpm {
        said_into(line, &mut h);
    }
    Some(h)
}

/// PHP-FPM's `WARNING: [pool www] child 12 said into stderr: "…"`: one physical line of a
/// worker's output, wrapped.
fn said_into(line: &[u8], h: &mut Head) {
    let from = h.body.0;
    let window = &line[from..line.len().min(from + 128)];
    let Some(at) = memmem::find(window, b" said into std") else {
        return;
    };
    let Some(pool) = memmem::find(&window[..at], b"[pool ") else {
        return;
    };
    let Some(quote) = memmem::find(&window[at..], b": \"") else {
        return;
    };
    let start = from + at + quote + 3;
    let mut end = line.len();
    for tail in [&b"\", pipe is closed"[..], b"\""] {
        if line[start..].ends_with(tail) {
            end -= tail.len();
            break;
        }
    }
    h.wrap = Some((from + pool, from + at));
    h.body = (start, end.max(start));
    h.msg = start;
}

fn other_bracket(line: &[u8]) -> Option<Head> {
    let inner = &line[1..];
    // The kernel's ring buffer: `[12345.678901] Out of memory: …`, seconds since boot.
    let pad = inner.iter().take_while(|&&c| c == b' ').count();
    let int = stamp::digits(&inner[pad..]);
    if int > 0 && inner.get(pad + int) == Some(&b'.') {
        let frac = stamp::digits(&inner[pad + int + 1..]);
        let close = pad + int + 1 + frac;
        if frac > 0 && inner.get(close) == Some(&b']') {
            let mut h = record(None, line, close + 2);
            (h.level, h.msg) = (None, h.body.0);
            return Some(h);
        }
    }
    if has_prefix(inner, b"pid: ") {
        return Some(uwsgi(line));
    }
    // `[ERROR] message`.
    let close = memchr(b']', &inner[..inner.len().min(12)])?;
    let level = Level::from_word(&inner[..close])?;
    if inner[..close].iter().any(u8::is_ascii_lowercase) {
        return None;
    }
    let mut h = record(None, line, close + 2);
    (h.level, h.msg) = (Some(level), h.body.0);
    Some(h)
}

/// uWSGI's request log, `[pid: 12|app: 0|req: 3/9] 10.0.0.1 () {34 vars in 612 bytes} [Thu
/// May 14 10:21:33 2026] GET / => generated …`: the time comes after the variables.
fn uwsgi(line: &[u8]) -> Head {
    let mut h = record(None, line, 0);
    h.level = None;
    let window = &line[..line.len().min(256)];
    if let Some(at) = memmem::find(window, b"} [") {
        if let Some((s, used)) = stamp::asctime(&line[at + 3..]) {
            h.time = Some(s);
            h.msg = skip_ws(line, at + 3 + used + 1);
        }
    }
    h
}

/// Records that start with a word: Ruby's Logger, syslog, asctime, klog, `LEVEL:`, logfmt.
fn worded(line: &[u8], year: Option<i32>) -> Option<Head> {
    if line.get(1..4) == Some(b", [") {
        return ruby(line);
    }
    if let Some((time, used)) = stamp::syslog(line, year) {
        return syslog_rest(line, time, used);
    }
    if let Some((s, used)) = stamp::asctime(line) {
        // uWSGI: `Thu May 14 10:21:33 2026 - *** HARAKIRI ON WORKER 1 (pid: 12, try: 1) ***`.
        let mut h = record(Some(s), line, used);
        h.msg = msg_after(line, used);
        return Some(h);
    }
    if matches!(line[0], b'I' | b'W' | b'E' | b'F') {
        if let Some((time, used)) = stamp::klog(line, year) {
            return Some(klog(line, time, used));
        }
    }
    level_colon(line).or_else(|| logfmt(line))
}

/// `E, [2026-05-14T10:21:33.123456 #1234] ERROR -- progname: message`.
fn ruby(line: &[u8]) -> Option<Head> {
    let level = match line[0] {
        b'D' => Level::Debug,
        b'I' => Level::Info,
        b'W' => Level::Warn,
        b'E' => Level::Error,
        b'F' => Level::Fatal,
        b'A' => Level::Error,
        _ => return None,
    };
    let (stamp, used, _) = stamp::iso(&line[4..])?;
    let after = 4 + used;
    let close = after + memchr(b']', &line[after..line.len().min(after + 24)])?;
    let dashes = close + memmem::find(&line[close..line.len().min(close + 16)], b" -- ")?;
    let colon = dashes + 4 + memchr(b':', &line[dashes + 4..])?;
    let start = (colon + 2).min(line.len());
    Some(Head {
        time: Some(stamp),
        level: Some(level),
        body: (start, line.len()),
        msg: start,
        wrap: None,
        format: Format::Text,
        kind: None,
    })
}

/// After `May 14 10:21:33`: `host prog[pid]: message`, or `host message`.
fn syslog_rest(line: &[u8], time: Option<Stamp>, used: usize) -> Option<Head> {
    let host = used + 1;
    let host_end = host + memchr(b' ', line.get(host..)?)?;
    let tag = host_end + 1;
    let window = &line[tag.min(line.len())..line.len().min(tag + 64)];
    let (source_end, body) = match memchr(b':', window) {
        Some(c) if !window[..c].contains(&b' ') && c > 0 => {
            (tag + c, (tag + c + 2).min(line.len()))
        }
        _ => (host_end, tag.min(line.len())),
    };
    let mut h = record(time, line, body);
    h.body.0 = body;
    h.wrap = Some((host, source_end));
    Some(h)
}

/// `<13>May 14 10:21:33 host prog: …` (RFC 3164 as sent), `<34>1 2026-05-14T10:21:33Z host
/// app 1234 ID47 - message` (RFC 5424).
fn syslog_pri(line: &[u8], year: Option<i32>) -> Option<Head> {
    let close = memchr(b'>', &line[..line.len().min(5)])?;
    if close < 2 || !line[1..close].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let at = close + 1;
    if let Some((time, used)) = stamp::syslog(&line[at..], year) {
        let mut h = syslog_rest(&line[at..], time, used)?;
        shift(&mut h, at);
        return Some(h);
    }
    let rest = line[at..].strip_prefix(b"1 ")?;
    let (stamp, used, _) = stamp::iso(rest)?;
    let mut i = at + 2 + used;
    let source = i + 1;
    for _ in 0..4 {
        i += 1 + memchr(b' ', line.get(i + 1..)?)?;
    }
    let source_end = i;
    i += 1;
    if line.get(i) == Some(&b'[') {
        i += memmem::find(&line[i..], b"] ")? + 1;
    } else {
        i += 1;
    }
    let mut h = record(Some(stamp), line, i);
    h.body.0 = skip_ws(line, i);
    h.wrap = Some((source, source_end));
    Some(h)
}

fn shift(h: &mut Head, by: usize) {
    h.body = (h.body.0 + by, h.body.1 + by);
    h.msg += by;
    if let Some((a, b)) = h.wrap {
        h.wrap = Some((a + by, b + by));
    }
}

/// `E0514 10:21:33.123456    1234 main.go:12] message`.
fn klog(line: &[u8], time: Option<Stamp>, used: usize) -> Head {
    let level = match line[0] {
        b'I' => Level::Info,
        b'W' => Level::Warn,
        b'E' => Level::Error,
        _ => Level::Fatal,
    };
    let mut h = record(time, line, used);
    h.level = Some(level);
    if let Some(close) = memmem::find(&line[used..line.len().min(used + 96)], b"] ") {
        h.msg = used + close + 2;
        h.body.0 = h.msg;
    }
    h
}

/// `ERROR:root:message` (Python's default format), `INFO:     10.0.0.1:5000 - "GET / …"`
/// (uvicorn): an upper-case level word and a colon.
fn level_colon(line: &[u8]) -> Option<Head> {
    let n = line
        .iter()
        .take(10)
        .take_while(|c| c.is_ascii_uppercase())
        .count();
    if line.get(n) != Some(&b':') {
        return None;
    }
    let level = Level::from_word(&line[..n])?;
    let mut h = record(None, line, n + 1);
    h.level = Some(level);
    h.body.0 = n + 1;
    h.msg = skip_ws(line, n + 1);
    Some(h)
}

/// `time=… level=error msg="…"` (logrus, slog, go-kit): a known key first.
fn logfmt(line: &[u8]) -> Option<Head> {
    let eq = memchr(b'=', &line[..line.len().min(12)])?;
    const KEYS: [&[u8]; 9] = [
        b"time",
        b"ts",
        b"t",
        b"timestamp",
        b"level",
        b"lvl",
        b"msg",
        b"caller",
        b"severity",
    ];
    if !KEYS.contains(&&line[..eq]) {
        return None;
    }
    let mut h = Head {
        time: None,
        level: None,
        body: (0, line.len()),
        msg: 0,
        wrap: None,
        format: Format::Logfmt,
        kind: None,
    };
    for (key, value) in pairs(line).take(24) {
        match key {
            b"time" | b"ts" | b"t" | b"timestamp" if h.time.is_none() => {
                h.time = stamp::iso(value)
                    .map(|(s, _, _)| s)
                    .or_else(|| stamp::epoch(value));
            }
            b"level" | b"lvl" | b"severity" if h.level.is_none() => {
                h.level = Level::from_word(value);
            }
            _ => {}
        }
    }
    Some(h)
}

/// logfmt's `key=value` and `key="quoted value"` pairs; values keep their escapes.
pub(crate) fn pairs(line: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut i = 0;
    std::iter::from_fn(move || {
        i = skip_ws(line, i);
        let rest = line.get(i..)?;
        let eq = rest.iter().position(|&c| c == b'=' || c == b' ')?;
        if rest[eq] != b'=' {
            return None;
        }
        let key = &rest[..eq];
        let v = &rest[eq + 1..];
        let (value, used) = if v.first() == Some(&b'"') {
            let mut j = 1;
            while j < v.len() && v[j] != b'"' {
                j += if v[j] == b'\\' { 2 } else { 1 };
            }
            (&v[1..j.min(v.len())], (j + 1).min(v.len()))
        } else {
            let j = v.iter().position(|&c| c == b' ').unwrap_or(v.len());
            (&v[..j], j)
        };
        i += eq + 1 + used;
        Some((key, value))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_778_754_093;

    fn h(line: &str) -> Head {
        head(line.as_bytes(), Some(2026)).unwrap_or_else(|| panic!("no head: {line}"))
    }

    fn msg(line: &str) -> &str {
        &line[h(line).msg..]
    }

    #[test]
    fn records() {
        let l = "2026-05-14 10:21:33,123 - app.db - ERROR - connection failed";
        assert_eq!(
            (h(l).time, h(l).level),
            (Some((T, None)), Some(Level::Error))
        );
        assert_eq!(msg(l), "connection failed");
        let l = "[2026-05-14 10:21:33 +0000] [123] [CRITICAL] WORKER TIMEOUT (pid:456)";
        assert_eq!(h(l).time, Some((T, Some(0))));
        assert_eq!(h(l).level, Some(Level::Critical));
        assert_eq!(msg(l), "WORKER TIMEOUT (pid:456)");
        let l = "E, [2026-05-14T10:21:33.123456 #1234] ERROR -- : boom (RuntimeError)";
        assert_eq!(
            (h(l).level, msg(l)),
            (Some(Level::Error), "boom (RuntimeError)")
        );
        let l = "2026-05-14 10:21:33.123 ERROR 1 --- [nio-8080-exec-1] c.e.OrderController : x";
        assert_eq!(h(l).level, Some(Level::Error));
        let l = "[2026-05-14 10:21:33,123: ERROR/ForkPoolWorker-1] Task failed";
        assert_eq!(h(l).level, Some(Level::Error));
        let l = "ERROR:root:boom";
        assert_eq!((h(l).level, msg(l)), (Some(Level::Error), "root:boom"));
        let l = "10:21:33.123 [main] WARN  c.e.App - slow";
        assert_eq!((h(l).time, h(l).level), (None, Some(Level::Warn)));
        let l = "2026-05-14T10:21:33.123Z\terror\tapi/handler.go:42\trequest failed";
        assert_eq!(h(l).level, Some(Level::Error));
        assert!(h(l).wrap.is_none());
        let l = "2026-05-14 10:21:33 Connection error: retrying";
        assert_eq!(h(l).level, Some(Level::Error));
        let l = "2026-05-14 10:21:33 retrying after error";
        assert_eq!(h(l).level, None);
        assert!(head(b"Traceback (most recent call last):", None).is_none());
        assert!(head(b"  File \"x\"", None).is_none());
        assert!(head(b"java.lang.IllegalStateException: x", None).is_none());
        assert!(head(b"[b1f0] Started GET", None).is_none());
    }

    #[test]
    fn wrappers() {
        let l = "May 14 10:21:33 web1 app[812]: Traceback (most recent call last):";
        let x = h(l);
        assert_eq!(x.time, Some((T, None)));
        assert_eq!(&l[x.wrap.unwrap().0..x.wrap.unwrap().1], "web1 app[812]");
        assert_eq!(&l[x.body.0..], "Traceback (most recent call last):");
        let l = "May 14 10:21:33 web1 app[812]:   File \"/app/x.py\", line 3";
        assert_eq!(&l[h(l).body.0..], "  File \"/app/x.py\", line 3");
        let l = "2026-05-14T10:21:33.123456789Z \tat x.Y.z(Y.java:1)";
        let x = h(l);
        assert_eq!(
            (x.wrap, &l[x.body.0..]),
            (Some((0, 0)), "\tat x.Y.z(Y.java:1)")
        );
        let l = r##"[14-May-2026 10:21:33] WARNING: [pool www] child 12 said into stderr: "#0 {main}""##;
        let x = h(l);
        assert_eq!(&l[x.body.0..x.body.1], "#0 {main}");
        assert_eq!(
            &l[x.wrap.unwrap().0..x.wrap.unwrap().1],
            "[pool www] child 12"
        );
        let l = "<34>1 2026-05-14T10:21:33.003Z web1 app 812 - - boom";
        let x = h(l);
        assert_eq!((&l[x.body.0..], x.time), ("boom", Some((T, Some(0)))));
        let l = "<13>May 14 10:21:33 web1 app: boom";
        assert_eq!(&l[h(l).body.0..], "boom");
    }

    #[test]
    fn others() {
        let l = "[14-May-2026 10:21:33 UTC] PHP Fatal error:  Uncaught Exception: x";
        let x = h(l);
        assert_eq!(
            (x.time, &l[x.body.0..x.body.1]),
            (
                Some((T, Some(0))),
                "PHP Fatal error:  Uncaught Exception: x"
            )
        );
        let l = "[12345.678901] Out of memory: Killed process 1234 (python3)";
        assert_eq!(
            (h(l).time, msg(l)),
            (None, "Out of memory: Killed process 1234 (python3)")
        );
        let l = "[pid: 12|app: 0|req: 3/9] 10.0.0.1 () {34 vars in 612 bytes} [Thu May 14 10:21:33 2026] GET / => generated 0 bytes";
        assert_eq!(
            (h(l).time, msg(l)),
            (Some((T, None)), "GET / => generated 0 bytes")
        );
        let l = "Thu May 14 10:21:33 2026 - *** HARAKIRI ON WORKER 1 ***";
        assert_eq!(msg(l), "*** HARAKIRI ON WORKER 1 ***");
        let l = "E0514 10:21:33.123456    1234 main.go:12] sync failed";
        assert_eq!((h(l).level, msg(l)), (Some(Level::Error), "sync failed"));
        let l = r#"time="2026-05-14T10:21:33Z" level=error msg="db down" err="x""#;
        assert_eq!(
            (h(l).time, h(l).level),
            (Some((T, Some(0))), Some(Level::Error))
        );
        assert_eq!(h(l).format, Format::Logfmt);
        let l = "[ERROR] boom";
        assert_eq!((h(l).level, msg(l)), (Some(Level::Error), "boom"));
        assert!(head(b"level is fine", None).is_none());
    }
}
