//! nginx error-log lines, laid out by `ngx_log_error_core` (time, level, pid#tid, `*connection`)
//! and `ngx_http_log_error_handler` (the `, client: …, server: …` context after the message).

use memchr::memchr;

use crate::bytes::{find_byte, has_prefix};

use crate::time::{d2, d4, expect, to_secs};

/// One nginx error-log line (src/core/ngx_log.c layout:
/// `2024/03/12 08:13:25 [error] 2811#2811: *228540 message, client: X, server: Y, request: "...",
/// upstream: "...", host: "..."`).
///
/// Context values are raw (nginx does not escape the error log); absent ones are empty.
#[derive(Debug, Clone, Default)]
pub struct ErrorLine<'a> {
    /// The timestamp read as if it were UTC: the error log has no offset, the caller applies
    /// the one of the matching access log or of the configuration.
    pub local_secs: i64,
    pub level: &'a [u8],
    pub pid: u32,
    /// The `*N` connection number, which is `$connection` in the access log.
    pub connection: Option<u64>,
    /// The text before the context, including nginx's ` while <action>` phrase.
    pub message: &'a [u8],
    /// nginx: the phase after ` while ` in the message (`connecting to upstream`, `reading
    /// response header from upstream`, `SSL handshaking to upstream`…); empty when absent.
    pub phase: &'a [u8],
    /// Apache: the message id (`AH01102`); empty when absent.
    pub code: &'a [u8],
    /// nginx: the thread id after `#`; Apache: `tid`; 0 when absent.
    pub tid: u64,
    pub client: &'a [u8],
    pub server: &'a [u8],
    pub request: &'a [u8],
    pub upstream: &'a [u8],
    pub host: &'a [u8],
}

const LEVELS: [&[u8]; 8] = [
    b"debug", b"info", b"notice", b"warn", b"error", b"crit", b"alert", b"emerg",
];

/// The context keys nginx appends after the message, in its order, and whether it quotes them.
const KEYS: [(&[u8], bool); 7] = [
    (b"client", false),
    (b"server", false),
    (b"request", true),
    (b"subrequest", true),
    (b"upstream", true),
    (b"host", true),
    (b"referrer", true),
];

/// Parses an nginx error-log line; `None` when the line does not have its layout.
pub fn parse_nginx_error(line: &[u8]) -> Option<ErrorLine<'_>> {
    let mut out = ErrorLine {
        local_secs: timestamp(line)?,
        ..ErrorLine::default()
    };
    let rest = line.get(19..)?.strip_prefix(b" [")?;
    let close = memchr(b']', rest.get(..8.min(rest.len()))?)?;
    out.level = &rest[..close];
    if !LEVELS.contains(&out.level) {
        return None;
    }
    let rest = rest[close + 1..].strip_prefix(b" ")?;
    let (pid, rest) = digits(rest)?;
    let (tid, rest) = digits(rest.strip_prefix(b"#")?)?;
    out.tid = tid;
    let mut rest = rest.strip_prefix(b": ")?;
    out.pid = u32::try_from(pid).ok()?;
    if let Some(after) = rest.strip_prefix(b"*") {
        let (conn, after) = digits(after)?;
        out.connection = Some(conn);
        rest = after.strip_prefix(b" ").unwrap_or(after);
    }
    match context_start(rest) {
        Some(end) => {
            out.message = &rest[..end];
            context(&rest[end + 2..], &mut out);
        }
        None => out.message = rest,
    }
    out.phase = phase(out.message);
    Some(out)
}

/// The last physical line of a message that ran over several lines (nginx writes what
/// FastCGI sent with its newlines): the context nginx appended after it (`…" while reading
/// response header from upstream, client: X, server: Y, request: "…", upstream: "…"`).
/// `None` when the line carries no context. Time, level and pid stay empty.
pub fn parse_nginx_error_tail(line: &[u8]) -> Option<ErrorLine<'_>> {
    let end = context_start(line)?;
    let mut out = ErrorLine {
        message: &line[..end],
        ..ErrorLine::default()
    };
    context(&line[end + 2..], &mut out);
    out.phase = phase(out.message);
    Some(out)
}

/// The phase nginx names after the last ` while ` of a message.
fn phase(message: &[u8]) -> &[u8] {
    message
        .windows(7)
        .rposition(|w| w == b" while ")
        .map_or(&message[..0], |p| &message[p + 7..])
}

/// Where `, client: ` starts: the context nginx appends after the message.
fn context_start(b: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = find_byte(b',', &b[from..]).map(|j| from + j) {
        if has_prefix(&b[at..], b", client: ") {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// `2024/03/12 08:13:25` as seconds, read as UTC.
fn timestamp(b: &[u8]) -> Option<i64> {
    let (y, mo, d) = (d4(b, 0)?, d2(b, 5)?, d2(b, 8)?);
    let (h, mi, s) = (d2(b, 11)?, d2(b, 14)?, d2(b, 17)?);
    for (at, sep) in [(4, b'/'), (7, b'/'), (10, b' '), (13, b':'), (16, b':')] {
        expect(b, at, sep)?;
    }
    to_secs(y, mo, d, h, mi, s)
}

/// A run of 1 to 19 ASCII digits and what follows it.
fn digits(b: &[u8]) -> Option<(u64, &[u8])> {
    let n = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 0 || n > 19 {
        return None;
    }
    let v = b[..n]
        .iter()
        .fold(0u64, |acc, &c| acc * 10 + u64::from(c - b'0'));
    Some((v, &b[n..]))
}

/// The key starting `b` (`client: ` …), as an index into [`KEYS`], and the value's start.
fn key_at(b: &[u8]) -> Option<(usize, usize)> {
    KEYS.iter().enumerate().find_map(|(i, (k, _))| {
        let after = b.strip_prefix(*k)?.strip_prefix(b": ")?;
        Some((i, b.len() - after.len()))
    })
}

/// Reads `client: X, server: Y, request: "…", …` into `out`. A value ends where `, ` and a
/// known key follow (after the closing `"` for quoted keys), so commas inside values survive.
fn context<'a>(mut b: &'a [u8], out: &mut ErrorLine<'a>) {
    while let Some((key, start)) = key_at(b) {
        let quoted = KEYS[key].1;
        let mut v = &b[start..];
        if quoted {
            let Some(inner) = v.strip_prefix(b"\"") else {
                return;
            };
            v = inner;
        }
        let (end, next) = value_end(v, quoted);
        let value = &v[..end];
        match key {
            0 => out.client = value,
            1 => out.server = value,
            2 => out.request = value,
            4 => out.upstream = value,
            5 => out.host = value,
            _ => {}
        }
        match next {
            Some(n) => b = &v[n..],
            None => return,
        }
    }
}

/// Where a value ends, and where the next key starts if one follows.
fn value_end(v: &[u8], quoted: bool) -> (usize, Option<usize>) {
    let close = if quoted { b'"' } else { b',' };
    let skip = usize::from(quoted);
    let mut from = 0;
    while let Some(at) = memchr(close, &v[from..]).map(|j| from + j) {
        if quoted && at + 1 == v.len() {
            return (at, None);
        }
        let after = &v[at + skip..];
        if let Some(next) = after.strip_prefix(b", ") {
            if key_at(next).is_some() {
                return (at, Some(at + skip + 2));
            }
        }
        from = at + 1;
    }
    (v.len(), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_without_context_or_connection() {
        let l =
            parse_nginx_error(b"2024/03/12 08:00:00 [notice] 1#1: signal process started").unwrap();
        assert_eq!(l.level, b"notice");
        assert_eq!((l.pid, l.connection), (1, None));
        assert_eq!(l.message, b"signal process started");
        assert_eq!(l.client, b"");
        assert_eq!(l.local_secs, 1_710_230_400);
    }

    #[test]
    fn rejects_other_layouts() {
        for bad in [
            &b""[..],
            b"2024/03/12 08:00:00 [bogus] 1#1: x",
            b"2024-03-12 08:00:00 [error] 1#1: x",
            b"2024/03/12 08:00:00 [error] 1: x",
            b"2024/03/12 08:00:00 [error] #1: x",
            b"2024/03/12 08:00:00 [error] 99999999999#1: x",
            b"12/Mar/2024:08:00:00 +0000",
        ] {
            assert!(
                parse_nginx_error(bad).is_none(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn commas_inside_values_do_not_end_them() {
        let l = parse_nginx_error(
            b"2024/03/12 08:00:00 [error] 7#7: *3 boom, client: 1.2.3.4, server: , \
              request: \"GET /a,b, c HTTP/1.1\", host: \"h\"",
        )
        .unwrap();
        assert_eq!(l.server, b"");
        assert_eq!(l.request, b"GET /a,b, c HTTP/1.1");
        assert_eq!(l.host, b"h");
        assert_eq!(l.upstream, b"");
    }
}
