//! nginx `log_format`: compiled once into a plan of literals and variables, then applied to
//! each line with a few byte scans and no allocation.

use faultline_model::{upstream::parse_secs_us, Record};
use memchr::memchr;

use crate::bytes::{find_byte, has_prefix, rfind_byte, strip};
use crate::time::{parse_msec, TimeCache, TimeKind};
use crate::{FormatError, ParseError};

/// nginx's predefined `combined` format, the start of every preset.
macro_rules! combined {
    () => {
        r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#
    };
}

/// The predefined formats, by name, as nginx (or ingress-nginx) writes them.
const PRESETS: [(&str, &str); 5] = [
    ("combined", combined!()),
    ("main", concat!(combined!(), r#" "$http_x_forwarded_for""#)),
    (
        "extended",
        concat!(
            combined!(),
            r#" $request_time $upstream_response_time $upstream_addr $upstream_status "$host""#
        ),
    ),
    (
        "upstream_time",
        concat!(
            combined!(),
            r#" rt=$request_time uct="$upstream_connect_time" uht="$upstream_header_time""#,
            r#" urt="$upstream_response_time""#
        ),
    ),
    (
        "upstreaminfo",
        concat!(
            combined!(),
            " $request_length $request_time [$proxy_upstream_name]",
            " [$proxy_alternative_upstream_name] $upstream_addr $upstream_response_length",
            " $upstream_response_time $upstream_status $req_id"
        ),
    ),
];

const PRESET_NAMES: [&str; 5] = [
    PRESETS[0].0,
    PRESETS[1].0,
    PRESETS[2].0,
    PRESETS[3].0,
    PRESETS[4].0,
];

const fn err(reason: &'static str) -> ParseError {
    ParseError { reason }
}

const NO_MATCH: ParseError = err("line does not match the format");
const UNTERMINATED_QUOTE: ParseError = err("unterminated quoted value");
const UNTERMINATED_BRACKET: ParseError = err("unterminated bracketed value");
const BAD_TIMESTAMP: ParseError = err("bad timestamp");
const MISSING_STATUS: ParseError = err("missing status");
const BAD_STATUS: ParseError = err("bad status");
const BAD_NUMBER: ParseError = err("bad number");
const BAD_SECONDS: ParseError = err("bad seconds value");

/// Which parts of `$request` fill the record (other variables may have priority).
const REQ_METHOD: u8 = 1;
const REQ_PATH: u8 = 2;
const REQ_PROTOCOL: u8 = 4;

/// What a variable's value is turned into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Var {
    Ignore,
    TimeLocal,
    TimeIso8601,
    Msec,
    /// `$request`, with the `REQ_*` parts it fills.
    Request(u8),
    Method,
    Path,
    Protocol,
    Status,
    BytesSent,
    RequestTime,
    Host,
    RemoteAddr,
    UserAgent,
    Referer,
    ForwardedFor,
    RequestId,
    Connection,
    UpstreamAddr,
    UpstreamStatus,
    UpstreamResponseTime,
    UpstreamConnectTime,
    UpstreamHeaderTime,
}

/// How the end of a variable's value is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// The last variable: the rest of the line.
    Rest,
    /// Between `"`…`"` or `[`…`]`: nginx escapes `"` inside values, so the first one closes.
    Byte(u8),
    /// A value of fixed width (`$time_local` contains a space).
    Fixed(usize),
    /// The first occurrence of the following literal.
    Literal,
    /// An `$upstream_*` list: a space after `,` or before `: ` does not end it.
    List,
}

/// One variable, how its value ends, and the literal text that follows it.
#[derive(Debug, Clone)]
struct Field {
    var: Var,
    end: End,
    lit: Box<[u8]>,
}

/// A compiled access-log format: a field plan built once.
#[derive(Debug, Clone)]
pub struct AccessParser {
    name: &'static str,
    /// Literal text before the first variable.
    head: Box<[u8]>,
    fields: Box<[Field]>,
    upstream: bool,
    timing: bool,
}

/// A piece of a `log_format` string.
#[derive(Debug, Clone, Copy)]
enum Token<'f> {
    Lit(&'f [u8]),
    Var(&'f str),
}

impl AccessParser {
    /// Compiles an nginx `log_format` string passed verbatim (the part after the name, quotes
    /// already joined, e.g. `$remote_addr - $remote_user [$time_local] "$request" $status ...`).
    pub fn nginx(log_format: &str) -> Result<AccessParser, FormatError> {
        compile(log_format, "custom")
    }

    /// A named preset: "combined", "main", "extended", "upstream_time", "upstreaminfo".
    pub fn preset(name: &str) -> Result<AccessParser, FormatError> {
        let (name, format) = PRESETS
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| FormatError::UnknownPreset(name.to_string()))?;
        compile(format, name)
    }

    /// The names [`AccessParser::preset`] accepts.
    pub fn presets() -> &'static [&'static str] {
        &PRESET_NAMES
    }

    /// Parses one line (without its trailing `\n` / `\r\n`) into `rec`, which is cleared first.
    /// Never panics, whatever the bytes.
    pub fn parse<'a>(
        &self,
        line: &'a [u8],
        rec: &mut Record<'a>,
        cache: &mut TimeCache,
    ) -> Result<(), ParseError> {
        rec.clear();
        let mut rest = strip(line, &self.head).ok_or(NO_MATCH)?;
        for f in self.fields.iter() {
            let len = value_len(f, rest)?;
            let (value, after) = rest.split_at(len);
            rest = strip(after, &f.lit).ok_or(NO_MATCH)?;
            apply(f.var, value, rec, cache)?;
        }
        if rest.is_empty() {
            Ok(())
        } else {
            Err(NO_MATCH)
        }
    }

    /// The log syntax this parser reads.
    pub fn dialect(&self) -> &'static str {
        "nginx"
    }

    /// The preset name, or "custom".
    pub fn name(&self) -> &str {
        self.name
    }

    /// Whether the format carries `$upstream_addr` or `$upstream_status`.
    pub fn has_upstream(&self) -> bool {
        self.upstream
    }

    /// Whether the format carries `$request_time` or `$upstream_response_time`.
    pub fn has_timing(&self) -> bool {
        self.timing
    }

    /// Number of variables in the format.
    pub fn field_count(&self) -> usize {
        self.fields.len()
    }
}

fn compile(format: &str, name: &'static str) -> Result<AccessParser, FormatError> {
    let tokens = tokenize(format)?;
    let names: Vec<&str> = tokens
        .iter()
        .filter_map(|t| match t {
            Token::Var(n) => Some(*n),
            Token::Lit(_) => None,
        })
        .collect();
    if !names.contains(&"status") {
        return Err(FormatError::NoStatus);
    }
    // Literals and variables alternate, except that two variables may touch.
    let mut head: &[u8] = b"";
    let mut prev: &[u8] = b"";
    let mut pending: Option<(&str, &[u8])> = None;
    let mut fields = Vec::with_capacity(names.len());
    for tok in tokens {
        match (tok, pending.take()) {
            (Token::Lit(lit), Some((var, before))) => {
                fields.push(field(var, &names, before, Some(lit)));
                prev = lit;
            }
            (Token::Lit(lit), None) => {
                head = lit;
                prev = lit;
            }
            (Token::Var(var), None) => pending = Some((var, prev)),
            (Token::Var(_), Some((var, _))) => return Err(FormatError::Adjacent(var.to_string())),
        }
    }
    if let Some((var, before)) = pending {
        fields.push(field(var, &names, before, None));
    }
    let has = |n: &str| names.contains(&n);
    Ok(AccessParser {
        name,
        head: head.into(),
        fields: fields.into(),
        upstream: has("upstream_addr") || has("upstream_status"),
        timing: has("request_time") || has("upstream_response_time"),
    })
}

fn field(var: &str, names: &[&str], before: &[u8], after: Option<&[u8]>) -> Field {
    Field {
        var: classify(var, names),
        end: end_rule(var, before, after),
        lit: after.unwrap_or_default().into(),
    }
}

/// Splits a format into literals and `$name` / `${name}` variables.
fn tokenize(format: &str) -> Result<Vec<Token<'_>>, FormatError> {
    let b = format.as_bytes();
    let is_name = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut tokens = Vec::new();
    let (mut i, mut lit_start) = (0, 0);
    while let Some(at) = memchr(b'$', &b[i..]).map(|j| i + j) {
        if at > lit_start {
            tokens.push(Token::Lit(&b[lit_start..at]));
        }
        let (start, end, next) = if b.get(at + 1) == Some(&b'{') {
            let close = memchr(b'}', &b[at + 2..]).ok_or(FormatError::BadVariable(at))? + at + 2;
            (at + 2, close, close + 1)
        } else {
            let len = b[at + 1..].iter().take_while(|&&c| is_name(c)).count();
            (at + 1, at + 1 + len, at + 1 + len)
        };
        if start == end || !b[start..end].iter().all(|&c| is_name(c)) {
            return Err(FormatError::BadVariable(at));
        }
        // Only ASCII bytes were accepted, so this slice is on char boundaries.
        tokens.push(Token::Var(&format[start..end]));
        i = next;
        lit_start = next;
    }
    if lit_start < b.len() {
        tokens.push(Token::Lit(&b[lit_start..]));
    }
    Ok(tokens)
}

/// What a variable fills. Where several variables could fill one record field, the most
/// precise one wins and the others are ignored, so the result does not depend on their order.
fn classify(name: &str, names: &[&str]) -> Var {
    let has = |n: &str| names.contains(&n);
    match name {
        "time_local" => Var::TimeLocal,
        "time_iso8601" => Var::TimeIso8601,
        "msec" => Var::Msec,
        "request" => {
            let mut parts = 0;
            if !has("request_method") {
                parts |= REQ_METHOD;
            }
            if !has("request_uri") {
                parts |= REQ_PATH;
            }
            if !has("server_protocol") {
                parts |= REQ_PROTOCOL;
            }
            if parts == 0 {
                Var::Ignore
            } else {
                Var::Request(parts)
            }
        }
        "request_method" => Var::Method,
        "request_uri" => Var::Path,
        "uri" if !has("request_uri") && !has("request") => Var::Path,
        "server_protocol" => Var::Protocol,
        "status" => Var::Status,
        "body_bytes_sent" => Var::BytesSent,
        "bytes_sent" if !has("body_bytes_sent") => Var::BytesSent,
        "request_time" => Var::RequestTime,
        "host" => Var::Host,
        "http_host" if !has("host") => Var::Host,
        "server_name" if !has("host") && !has("http_host") => Var::Host,
        "remote_addr" => Var::RemoteAddr,
        "http_user_agent" => Var::UserAgent,
        "http_referer" => Var::Referer,
        "http_x_forwarded_for" => Var::ForwardedFor,
        "request_id" | "req_id" => Var::RequestId,
        "connection" => Var::Connection,
        "upstream_addr" => Var::UpstreamAddr,
        "upstream_status" => Var::UpstreamStatus,
        "upstream_response_time" => Var::UpstreamResponseTime,
        "upstream_connect_time" => Var::UpstreamConnectTime,
        "upstream_header_time" => Var::UpstreamHeaderTime,
        _ => Var::Ignore,
    }
}

fn end_rule(name: &str, prev: &[u8], next: Option<&[u8]>) -> End {
    let Some(next) = next else { return End::Rest };
    let opens = |b: u8| prev.last() == Some(&b);
    let closes = |b: u8| next.first() == Some(&b);
    if opens(b'"') && closes(b'"') {
        End::Byte(b'"')
    } else if opens(b'[') && closes(b']') {
        End::Byte(b']')
    } else if name == "time_local" {
        End::Fixed(26)
    } else if name.starts_with("upstream_") {
        End::List
    } else {
        End::Literal
    }
}

/// Length of the value at the start of `rest` (the following literal is checked by the caller).
#[inline]
fn value_len(f: &Field, rest: &[u8]) -> Result<usize, ParseError> {
    match f.end {
        End::Rest => Ok(rest.len()),
        End::Byte(b) => find_byte(b, rest).ok_or(match b {
            b'"' => UNTERMINATED_QUOTE,
            _ => UNTERMINATED_BRACKET,
        }),
        End::Fixed(n) if n <= rest.len() => Ok(n),
        End::Fixed(_) => Err(NO_MATCH),
        End::Literal => find_literal(rest, &f.lit).ok_or(NO_MATCH),
        End::List => find_list_end(rest, &f.lit).ok_or(NO_MATCH),
    }
}

/// First occurrence of `lit` (non-empty) in `hay`.
#[inline]
fn find_literal(hay: &[u8], lit: &[u8]) -> Option<usize> {
    let first = *lit.first()?;
    let mut from = 0;
    while let Some(at) = find_byte(first, &hay[from..]).map(|j| from + j) {
        if has_prefix(&hay[at..], lit) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// End of an `$upstream_*` list: `0.021, 0.024` and `a:80, b:80 : c:80` hold spaces that do
/// not end the value when the literal after it starts with a space.
#[inline]
fn find_list_end(hay: &[u8], lit: &[u8]) -> Option<usize> {
    let first = *lit.first()?;
    let mut from = 0;
    while let Some(at) = find_byte(first, &hay[from..]).map(|j| from + j) {
        if first == b' ' {
            if at > 0 && hay[at - 1] == b',' {
                from = at + 1;
                continue;
            }
            if has_prefix(&hay[at + 1..], b": ") {
                from = at + 3;
                continue;
            }
        }
        if has_prefix(&hay[at..], lit) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Stores one value into the record.
#[inline]
fn apply<'a>(
    var: Var,
    value: &'a [u8],
    rec: &mut Record<'a>,
    cache: &mut TimeCache,
) -> Result<(), ParseError> {
    let v = if value.len() == 1 && value[0] == b'-' {
        &value[..0]
    } else {
        value
    };
    match var {
        Var::Ignore => {}
        Var::TimeLocal => rec.time = time(v, |v| cache.get(TimeKind::Local, v))?,
        Var::TimeIso8601 => rec.time = time(v, |v| cache.get(TimeKind::Iso8601, v))?,
        Var::Msec => rec.time = time(v, parse_msec)?,
        Var::Request(parts) => split_request(v, parts, rec),
        Var::Method => rec.method = v,
        Var::Path => rec.path = v,
        Var::Protocol => rec.protocol = v,
        Var::Status => rec.status = status(v)?,
        Var::BytesSent => rec.bytes_sent = number(v)?,
        Var::RequestTime => rec.request_time_us = seconds(v)?,
        Var::Host => rec.host = v,
        Var::RemoteAddr => rec.remote_addr = v,
        Var::UserAgent => rec.user_agent = v,
        Var::Referer => rec.referer = v,
        Var::ForwardedFor => rec.forwarded_for = v,
        Var::RequestId => rec.request_id = v,
        Var::Connection => rec.connection = number(v)?,
        Var::UpstreamAddr => rec.upstream_addr = v,
        Var::UpstreamStatus => rec.upstream_status = v,
        Var::UpstreamResponseTime => rec.upstream_response_time = v,
        Var::UpstreamConnectTime => rec.upstream_connect_time = v,
        Var::UpstreamHeaderTime => rec.upstream_header_time = v,
    }
    Ok(())
}

#[inline]
fn time<T>(v: &[u8], parse: impl FnOnce(&[u8]) -> Option<T>) -> Result<Option<T>, ParseError> {
    if v.is_empty() {
        return Ok(None);
    }
    parse(v).map(Some).ok_or(BAD_TIMESTAMP)
}

#[inline]
fn status(v: &[u8]) -> Result<u16, ParseError> {
    match *v {
        [] => Err(MISSING_STATUS),
        [a, b, c] if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() => {
            Ok(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => Err(BAD_STATUS),
    }
}

#[inline]
fn number(v: &[u8]) -> Result<Option<u64>, ParseError> {
    if v.is_empty() {
        return Ok(None);
    }
    let mut n: u64 = 0;
    for &c in v {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return Err(BAD_NUMBER);
        }
        n = n
            .checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(d)))
            .ok_or(BAD_NUMBER)?;
    }
    Ok(Some(n))
}

#[inline]
fn seconds(v: &[u8]) -> Result<Option<u64>, ParseError> {
    if v.is_empty() {
        return Ok(None);
    }
    parse_secs_us(v).map(Some).ok_or(BAD_SECONDS)
}

/// `GET /path?q HTTP/1.1` → method, target, protocol. Junk (a TLS hello, an empty request)
/// is kept as it is: what precedes the first space is the method, and the protocol is only
/// taken when the last word looks like one.
#[inline]
fn split_request<'a>(v: &'a [u8], parts: u8, rec: &mut Record<'a>) {
    let (method, rest) = match find_byte(b' ', v) {
        Some(i) => (&v[..i], &v[i + 1..]),
        None => (v, &v[..0]),
    };
    let (path, protocol) = match rfind_byte(b' ', rest) {
        Some(i) if has_prefix(&rest[i + 1..], b"HTTP/") => (&rest[..i], &rest[i + 1..]),
        _ => (rest, &rest[..0]),
    };
    if parts & REQ_METHOD != 0 {
        rec.method = method;
    }
    if parts & REQ_PATH != 0 {
        rec.path = path;
    }
    if parts & REQ_PROTOCOL != 0 {
        rec.protocol = protocol;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_compile_with_the_expected_shape() {
        let count = |n| AccessParser::preset(n).unwrap().field_count();
        assert_eq!(count("combined"), 8);
        assert_eq!(count("main"), 9);
        assert_eq!(count("extended"), 13);
        assert_eq!(count("upstream_time"), 12);
        assert_eq!(count("upstreaminfo"), 17);
        let ext = AccessParser::preset("extended").unwrap();
        assert!(ext.has_upstream() && ext.has_timing());
        let comb = AccessParser::preset("combined").unwrap();
        assert!(!comb.has_upstream() && !comb.has_timing());
        assert_eq!(comb.name(), "combined");
        assert_eq!(comb.dialect(), "nginx");
    }

    #[test]
    fn end_rules_follow_the_surrounding_literals() {
        let p = AccessParser::preset("extended").unwrap();
        let ends: Vec<End> = p.fields.iter().map(|f| f.end).collect();
        use End::*;
        assert_eq!(
            ends,
            [
                Literal,
                Literal,
                Byte(b']'),
                Byte(b'"'),
                Literal,
                Literal,
                Byte(b'"'),
                Byte(b'"'),
                Literal,
                List,
                List,
                List,
                Byte(b'"'),
            ]
        );
        assert_eq!(&*p.head, b"");
        assert_eq!(&*p.fields.last().unwrap().lit, b"\"");
        // A leading literal counts as the text before the first variable.
        let p = AccessParser::nginx(r#""$request" [$status]"#).unwrap();
        assert_eq!(&*p.head, b"\"");
        assert_eq!([p.fields[0].end, p.fields[1].end], [Byte(b'"'), Byte(b']')]);
    }

    #[test]
    fn tokenizer_reads_braces_and_rejects_bad_variables() {
        let t = tokenize("a${host}b$status").unwrap();
        assert!(matches!(
            t[..],
            [
                Token::Lit(b"a"),
                Token::Var("host"),
                Token::Lit(b"b"),
                Token::Var("status")
            ]
        ));
        assert!(matches!(
            tokenize("x $ y"),
            Err(FormatError::BadVariable(2))
        ));
        assert!(matches!(
            tokenize("${status"),
            Err(FormatError::BadVariable(0))
        ));
        assert!(matches!(tokenize("${}"), Err(FormatError::BadVariable(0))));
        assert!(matches!(
            tokenize("${a-b}"),
            Err(FormatError::BadVariable(0))
        ));
    }

    #[test]
    fn list_end_skips_separators_inside_the_list() {
        assert_eq!(find_list_end(b"0.021, 0.024 x", b" "), Some(12));
        assert_eq!(find_list_end(b"a:80 : b:80, c:80 \"h\"", b" \""), Some(17));
        assert_eq!(find_list_end(b"- - -", b" "), Some(1));
        assert_eq!(find_list_end(b"abc", b" "), None);
    }

    #[test]
    fn requests_split_into_parts() {
        let mut r = Record::default();
        split_request(
            b"GET /a b HTTP/1.1",
            REQ_METHOD | REQ_PATH | REQ_PROTOCOL,
            &mut r,
        );
        assert_eq!(
            (r.method, r.path, r.protocol),
            (&b"GET"[..], &b"/a b"[..], &b"HTTP/1.1"[..])
        );
        split_request(b"GET /", REQ_METHOD | REQ_PATH | REQ_PROTOCOL, &mut r);
        assert_eq!(
            (r.method, r.path, r.protocol),
            (&b"GET"[..], &b"/"[..], &b""[..])
        );
        let mut r = Record::default();
        split_request(b"GET /x HTTP/2.0", REQ_PATH, &mut r);
        assert_eq!(
            (r.method, r.path, r.protocol),
            (&b""[..], &b"/x"[..], &b""[..])
        );
    }

    #[test]
    fn numbers_are_strict() {
        assert_eq!(status(b"200"), Ok(200));
        assert_eq!(status(b""), Err(MISSING_STATUS));
        assert_eq!(status(b"20"), Err(BAD_STATUS));
        assert_eq!(status(b"2000"), Err(BAD_STATUS));
        assert_eq!(number(b"18446744073709551615"), Ok(Some(u64::MAX)));
        assert_eq!(number(b"18446744073709551616"), Err(BAD_NUMBER));
        assert_eq!(number(b"12a"), Err(BAD_NUMBER));
        assert_eq!(seconds(b"0.049"), Ok(Some(49_000)));
        assert_eq!(seconds(b"x"), Err(BAD_SECONDS));
    }
}
