//! The field plan shared by the text dialects (nginx `log_format`, Apache `LogFormat`): a
//! format becomes literal text and typed fields, and a line is read with a few byte scans and
//! no allocation. The JSON reader reuses [`apply`] to store its values.

use faultline_model::{upstream::parse_secs_us, Record};

use crate::bytes::{find_byte, has_prefix, rfind_byte, strip};
use crate::time::{parse_duration_us, parse_epoch, parse_msec, TimeCache, TimeKind, TimeUnit};
use crate::ParseError;

const fn err(reason: &'static str) -> ParseError {
    ParseError { reason }
}

pub(crate) const NO_MATCH: ParseError = err("line does not match the format");
pub(crate) const UNTERMINATED_QUOTE: ParseError = err("unterminated quoted value");
pub(crate) const UNTERMINATED_BRACKET: ParseError = err("unterminated bracketed value");
pub(crate) const BAD_TIMESTAMP: ParseError = err("bad timestamp");
pub(crate) const MISSING_STATUS: ParseError = err("missing status");
pub(crate) const BAD_STATUS: ParseError = err("bad status");
pub(crate) const BAD_NUMBER: ParseError = err("bad number");
pub(crate) const BAD_SECONDS: ParseError = err("bad seconds value");
pub(crate) const BAD_DURATION: ParseError = err("bad duration");

/// Which parts of a request line fill the record (other fields may have priority).
pub(crate) const REQ_METHOD: u8 = 1;
pub(crate) const REQ_PATH: u8 = 2;
pub(crate) const REQ_PROTOCOL: u8 = 4;
pub(crate) const REQ_ALL: u8 = REQ_METHOD | REQ_PATH | REQ_PROTOCOL;

/// What a value is turned into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Var {
    Ignore,
    /// `12/Mar/2024:08:00:00 +0000`
    TimeLocal,
    /// nginx `$time_iso8601`: exactly `2024-03-12T08:00:00+00:00` or `…Z`.
    TimeIso8601,
    /// RFC 3339 with optional fractional seconds and a `±HHMM` offset too.
    TimeRfc3339,
    /// nginx `$msec`: `1710230400.123`.
    Msec,
    /// Seconds (or another unit) since the epoch; `None`: guessed from the magnitude.
    Epoch(Option<TimeUnit>),
    /// Any of the above, told apart by shape (JSON values).
    TimeAny(Option<TimeUnit>),
    /// A request line, with the `REQ_*` parts it fills.
    Request(u8),
    Method,
    Path,
    Protocol,
    Status,
    BytesSent,
    /// Apache `%b`: `-` means zero bytes.
    BytesClf,
    /// nginx seconds with millisecond precision (`$request_time`).
    RequestTime,
    /// A request duration in a given unit (`%D`, `%{ms}T`, JSON `duration_ms`).
    Duration(TimeUnit),
    Host,
    RemoteAddr,
    UserAgent,
    Referer,
    ForwardedFor,
    RequestId,
    Connection,
    UpstreamAddr,
    /// Apache `%{BALANCER_WORKER_NAME}e`: the upstream, unless empty.
    UpstreamWorker,
    /// Apache `%{BALANCER_NAME}e`: the pool, when no worker was logged (as nginx logs the
    /// pool name when no live server was left).
    UpstreamPool,
    UpstreamStatus,
    UpstreamResponseTime,
    UpstreamConnectTime,
    UpstreamHeaderTime,
}

/// How the end of a field's value is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    /// The last field: the rest of the line.
    Rest,
    /// Between `"`…`"` or `[`…`]` where the closing byte is never escaped (nginx writes `"`
    /// inside values as `\x22`), so the first one closes.
    Byte(u8),
    /// Between `"`…`"` where `"` inside is written `\"` and `\` as `\\` (Apache): the first
    /// `"` after an even number of backslashes closes.
    Quoted,
    /// A value of fixed width (`$time_local` contains a space).
    Fixed(usize),
    /// The first occurrence of the following literal.
    Literal,
    /// An `$upstream_*` list: a space after `,` or before `: ` does not end it.
    List,
}

/// One field, how its value ends, and the literal text that follows it.
#[derive(Debug, Clone)]
pub(crate) struct Field {
    pub(crate) var: Var,
    pub(crate) end: End,
    pub(crate) lit: Box<[u8]>,
    /// `lit` as a word to compare eight bytes at once with (see [`Lit8`]).
    pub(crate) lit8: Lit8,
}

/// A literal of at most eight bytes as a masked little-endian word, so that a line is
/// checked for it with one load and compare instead of a byte loop.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Lit8 {
    word: u64,
    mask: u64,
    /// Whether the literal fits (longer ones take the byte loop).
    fits: bool,
}

impl Lit8 {
    pub(crate) fn new(lit: &[u8]) -> Lit8 {
        if lit.len() > 8 {
            return Lit8::default();
        }
        let mut w = [0u8; 8];
        w[..lit.len()].copy_from_slice(lit);
        let mask = if lit.len() == 8 {
            u64::MAX
        } else {
            (1u64 << (8 * lit.len())) - 1
        };
        Lit8 {
            word: u64::from_le_bytes(w),
            mask,
            fits: true,
        }
    }

    /// `hay` without the literal `lit` (whose word this is) at its start.
    #[inline(always)]
    pub(crate) fn strip<'a>(&self, hay: &'a [u8], lit: &[u8]) -> Option<&'a [u8]> {
        if self.fits {
            if let Some(head) = hay.first_chunk::<8>() {
                return (u64::from_le_bytes(*head) & self.mask == self.word)
                    .then(|| &hay[lit.len()..]);
            }
        }
        strip(hay, lit)
    }
}

/// A compiled text format: literal text before the first field, then the fields.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) head: Box<[u8]>,
    pub(crate) fields: Box<[Field]>,
    /// What is read by dedicated code rather than the field loop.
    shape: Shape,
}

/// The part of a format read by functions that know its literals and conversions in
/// advance, as the field loop would read it (same values, same errors in the same order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Every field through the loop.
    General,
    /// The format starts with nginx's `combined` (every nginx preset does): its eight fields
    /// are read by [`combined_prefix`], and the loop goes on from the ninth.
    Combined,
    /// The format is the `extended` preset: [`combined_prefix`], then [`extended_tail`].
    Extended,
}

/// nginx's `combined` as a plan compiles it: each field's variable, end and following
/// literal; the user agent's literal only has to start with the closing quote.
const COMBINED: [(Var, End, &[u8]); 8] = [
    (Var::RemoteAddr, End::Literal, b" - "),
    (Var::Ignore, End::Literal, b" ["),
    (Var::TimeLocal, End::Byte(b']'), b"] \""),
    (Var::Request(REQ_ALL), End::Byte(b'"'), b"\" "),
    (Var::Status, End::Literal, b" "),
    (Var::BytesSent, End::Literal, b" \""),
    (Var::Referer, End::Byte(b'"'), b"\" \""),
    (Var::UserAgent, End::Byte(b'"'), b"\""),
];

/// The five fields the `extended` preset adds after the user agent, whose literal is `" `.
const EXTENDED_TAIL: [(Var, End, &[u8]); 5] = [
    (Var::RequestTime, End::Literal, b" "),
    (Var::UpstreamResponseTime, End::List, b" "),
    (Var::UpstreamAddr, End::List, b" "),
    (Var::UpstreamStatus, End::List, b" \""),
    (Var::Host, End::Byte(b'"'), b"\""),
];

fn shape(head: &[u8], fields: &[Field]) -> Shape {
    let is = |f: &Field, (var, end, lit): (Var, End, &[u8])| {
        f.var == var && f.end == end && &*f.lit == lit
    };
    let n = COMBINED.len();
    if !head.is_empty() || fields.len() < n {
        return Shape::General;
    }
    let (prefix, tail) = fields.split_at(n);
    let (agent, (var, end, lit)) = (&prefix[n - 1], COMBINED[n - 1]);
    let combined = prefix
        .iter()
        .zip(COMBINED)
        .take(n - 1)
        .all(|(f, s)| is(f, s))
        && agent.var == var
        && agent.end == end
        && agent.lit.starts_with(lit);
    if !combined {
        Shape::General
    } else if &*agent.lit == b"\" "
        && tail.len() == EXTENDED_TAIL.len()
        && tail.iter().zip(EXTENDED_TAIL).all(|(f, s)| is(f, s))
    {
        Shape::Extended
    } else {
        Shape::Combined
    }
}

/// `-` is an empty value.
#[inline(always)]
fn undash(value: &[u8]) -> &[u8] {
    if value == b"-" {
        &value[..0]
    } else {
        value
    }
}

/// Reads the eight fields of nginx's `combined` at the start of `line`, exactly as the field
/// loop would (same values, same errors in the same order), and returns what follows the user
/// agent's value: its closing quote and the rest of the line.
#[inline(always)]
fn combined_prefix<'a>(
    line: &'a [u8],
    rec: &mut Record<'a>,
    cache: &mut TimeCache,
) -> Result<&'a [u8], ParseError> {
    // $remote_addr " - " $remote_user " ["
    let n = find_literal(line, b" - ").ok_or(NO_MATCH)?;
    rec.remote_addr = undash(&line[..n]);
    let rest = &line[n + 3..];
    let n = find_literal(rest, b" [").ok_or(NO_MATCH)?;
    let rest = &rest[n + 2..];
    // $time_local "] \"": most lines are in the second of the line before, recognised
    // without a search for the bracket
    let rest = match cache.local_prefix(rest) {
        Some((n, t)) if rest.get(n) == Some(&b']') => {
            let rest = rest[n..].strip_prefix(b"] \"").ok_or(NO_MATCH)?;
            rec.time = Some(t);
            rest
        }
        _ => {
            let n = find_byte(b']', rest).ok_or(UNTERMINATED_BRACKET)?;
            let (value, after) = rest.split_at(n);
            let rest = after.strip_prefix(b"] \"").ok_or(NO_MATCH)?;
            rec.time = time(undash(value), |v| cache.get(TimeKind::Local, v))?;
            rest
        }
    };
    // $request "\" "
    let n = memchr::memchr(b'"', rest).ok_or(UNTERMINATED_QUOTE)?;
    let (value, after) = rest.split_at(n);
    let rest = after.strip_prefix(b"\" ").ok_or(NO_MATCH)?;
    split_request(undash(value), REQ_ALL, rec);
    // $status " "
    let n = find_byte(b' ', rest).ok_or(NO_MATCH)?;
    rec.status = status(undash(&rest[..n]))?;
    let rest = &rest[n + 1..];
    // $body_bytes_sent " \""
    let n = find_literal(rest, b" \"").ok_or(NO_MATCH)?;
    let value = &rest[..n];
    let rest = &rest[n + 2..];
    rec.bytes_sent = number(undash(value))?;
    // $http_referer "\" \""
    let n = find_byte(b'"', rest).ok_or(UNTERMINATED_QUOTE)?;
    let (value, after) = rest.split_at(n);
    let rest = after.strip_prefix(b"\" \"").ok_or(NO_MATCH)?;
    rec.referer = undash(value);
    // $http_user_agent, up to its closing quote: long enough that `memchr` pays from the start
    let n = memchr::memchr(b'"', rest).ok_or(UNTERMINATED_QUOTE)?;
    rec.user_agent = undash(&rest[..n]);
    Ok(&rest[n..])
}

/// Reads the rest of an `extended` line after the user agent and its `" `: request time,
/// the three upstream lists and the host, up to the line's end, exactly as the field loop
/// would.
#[inline(always)]
fn extended_tail<'a>(rest: &'a [u8], rec: &mut Record<'a>) -> Result<(), ParseError> {
    // $request_time " "
    let n = find_byte(b' ', rest).ok_or(NO_MATCH)?;
    let (value, rest) = (&rest[..n], &rest[n + 1..]);
    rec.request_time_us = seconds(undash(value))?;
    // $upstream_response_time " " $upstream_addr " "
    let n = find_list_end(rest, b" ").ok_or(NO_MATCH)?;
    rec.upstream_response_time = undash(&rest[..n]);
    let rest = &rest[n + 1..];
    let n = find_list_end(rest, b" ").ok_or(NO_MATCH)?;
    rec.upstream_addr = undash(&rest[..n]);
    let rest = &rest[n + 1..];
    // $upstream_status " \""
    let n = find_list_end(rest, b" \"").ok_or(NO_MATCH)?;
    rec.upstream_status = undash(&rest[..n]);
    let rest = &rest[n + 2..];
    // $host "\"", the end of the line
    let n = find_byte(b'"', rest).ok_or(UNTERMINATED_QUOTE)?;
    rec.host = undash(&rest[..n]);
    if n + 1 == rest.len() {
        Ok(())
    } else {
        Err(NO_MATCH)
    }
}

/// A piece of a format on its way into a [`Plan`].
#[derive(Debug, Clone)]
pub(crate) enum Piece {
    Lit(Vec<u8>),
    Field {
        var: Var,
        /// The variable as written, for error messages.
        name: String,
        /// The width of the value when it is fixed and not delimited otherwise.
        fixed: Option<usize>,
        /// An nginx `$upstream_*` list.
        list: bool,
    },
}

impl Plan {
    /// Builds a plan from literals and fields; adjacent literals are joined. `quote` is how
    /// a field between double quotes ends. Two touching fields are refused: the name of the
    /// first is the error.
    pub(crate) fn build(pieces: Vec<Piece>, quote: End) -> Result<Plan, String> {
        let mut joined: Vec<Piece> = Vec::with_capacity(pieces.len());
        for piece in pieces {
            match (piece, joined.last_mut()) {
                (Piece::Lit(l), _) if l.is_empty() => {}
                (Piece::Lit(l), Some(Piece::Lit(prev))) => prev.extend_from_slice(&l),
                (piece, _) => joined.push(piece),
            }
        }
        // Now literals and fields alternate.
        let mut items = joined.into_iter().peekable();
        let head = match items.next_if(|p| matches!(p, Piece::Lit(_))) {
            Some(Piece::Lit(l)) => l,
            _ => Vec::new(),
        };
        let mut before = head.clone();
        let mut fields = Vec::new();
        while let Some(Piece::Field {
            var,
            name,
            fixed,
            list,
        }) = items.next()
        {
            let after = match items.next() {
                Some(Piece::Lit(l)) => Some(l),
                Some(Piece::Field { .. }) => return Err(name),
                None => None,
            };
            let lit: Box<[u8]> = after.as_deref().unwrap_or_default().into();
            fields.push(Field {
                var,
                end: end_rule(quote, fixed, list, &before, after.as_deref()),
                lit8: Lit8::new(&lit),
                lit,
            });
            before = after.unwrap_or_default();
        }
        Ok(Plan {
            shape: shape(&head, &fields),
            head: head.into(),
            fields: fields.into(),
        })
    }

    /// Reads one line into `rec` (cleared first). Never panics, whatever the bytes.
    #[inline]
    pub(crate) fn parse<'a>(
        &self,
        line: &'a [u8],
        rec: &mut Record<'a>,
        cache: &mut TimeCache,
    ) -> Result<(), ParseError> {
        rec.clear();
        let (mut rest, fields) = match self.shape {
            Shape::Extended => {
                let after = combined_prefix(line, rec, cache)?;
                return extended_tail(after.strip_prefix(b"\" ").ok_or(NO_MATCH)?, rec);
            }
            Shape::Combined => {
                let after = combined_prefix(line, rec, cache)?;
                let (agent, fields) = self.fields.split_at(COMBINED.len());
                let ua = &agent[COMBINED.len() - 1];
                (ua.lit8.strip(after, &ua.lit).ok_or(NO_MATCH)?, fields)
            }
            Shape::General => (strip(line, &self.head).ok_or(NO_MATCH)?, &self.fields[..]),
        };
        for f in fields {
            let len = value_len(f, rest)?;
            let (value, after) = rest.split_at(len);
            rest = f.lit8.strip(after, &f.lit).ok_or(NO_MATCH)?;
            apply(f.var, value, rec, cache)?;
        }
        if rest.is_empty() {
            Ok(())
        } else {
            Err(NO_MATCH)
        }
    }
}

fn end_rule(quote: End, fixed: Option<usize>, list: bool, prev: &[u8], next: Option<&[u8]>) -> End {
    let Some(next) = next else { return End::Rest };
    let opens = |b: u8| prev.last() == Some(&b);
    let closes = |b: u8| next.first() == Some(&b);
    if opens(b'"') && closes(b'"') {
        quote
    } else if opens(b'[') && closes(b']') {
        End::Byte(b']')
    } else if let Some(n) = fixed {
        End::Fixed(n)
    } else if list {
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
        End::Quoted => find_quote_end(rest).ok_or(UNTERMINATED_QUOTE),
        End::Fixed(n) if n <= rest.len() => Ok(n),
        End::Fixed(_) => Err(NO_MATCH),
        End::Literal => find_literal(rest, &f.lit).ok_or(NO_MATCH),
        End::List => find_list_end(rest, &f.lit).ok_or(NO_MATCH),
    }
}

/// First occurrence of `lit` (non-empty) in `hay`.
#[inline(always)]
pub(crate) fn find_literal(hay: &[u8], lit: &[u8]) -> Option<usize> {
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

/// First `"` not escaped by a backslash: `a\"b"` ends at 4, `a\\"` at 3.
#[inline]
pub(crate) fn find_quote_end(hay: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(at) = find_byte(b'"', &hay[from..]).map(|j| from + j) {
        let backslashes = hay[..at].iter().rev().take_while(|&&c| c == b'\\').count();
        if backslashes % 2 == 0 {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// End of an `$upstream_*` list: `0.021, 0.024` and `a:80, b:80 : c:80` hold spaces that do
/// not end the value when the literal after it starts with a space. Inlined so that a known
/// literal folds into the loop.
#[inline(always)]
pub(crate) fn find_list_end(hay: &[u8], lit: &[u8]) -> Option<usize> {
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

/// Stores one value into the record; `-` is an empty value. Inlined into the field loop:
/// a call per field costs about 4 % of the instructions of a whole run.
#[inline(always)]
pub(crate) fn apply<'a>(
    var: Var,
    value: &'a [u8],
    rec: &mut Record<'a>,
    cache: &mut TimeCache,
) -> Result<(), ParseError> {
    let v = undash(value);
    let dash = v.len() != value.len();
    match var {
        Var::Ignore => {}
        Var::TimeLocal => rec.time = time(v, |v| cache.get(TimeKind::Local, v))?,
        Var::TimeIso8601 => rec.time = time(v, |v| cache.get(TimeKind::Iso8601, v))?,
        Var::TimeRfc3339 => rec.time = time(v, |v| cache.get_rfc3339(v))?,
        Var::Msec => rec.time = time(v, parse_msec)?,
        Var::Epoch(unit) => rec.time = time(v, |v| parse_epoch(v, unit))?,
        Var::TimeAny(unit) => rec.time = time(v, |v| any_time(v, unit, cache))?,
        Var::Request(parts) => split_request(v, parts, rec),
        Var::Method => rec.method = v,
        Var::Path => rec.path = v,
        Var::Protocol => rec.protocol = v,
        Var::Status => rec.status = status(v)?,
        Var::BytesSent => rec.bytes_sent = number(v)?,
        Var::BytesClf if dash => rec.bytes_sent = Some(0),
        Var::BytesClf => rec.bytes_sent = number(v)?,
        Var::RequestTime => rec.request_time_us = seconds(v)?,
        Var::Duration(unit) => rec.request_time_us = duration(v, unit)?,
        Var::Host => rec.host = v,
        Var::RemoteAddr => rec.remote_addr = v,
        Var::UserAgent => rec.user_agent = v,
        Var::Referer => rec.referer = v,
        Var::ForwardedFor => rec.forwarded_for = v,
        Var::RequestId => rec.request_id = v,
        Var::Connection => rec.connection = number(v)?,
        Var::UpstreamAddr => rec.upstream_addr = v,
        Var::UpstreamWorker if v.is_empty() => {}
        Var::UpstreamWorker => rec.upstream_addr = v,
        Var::UpstreamPool if rec.upstream_addr.is_empty() => rec.upstream_addr = v,
        Var::UpstreamPool => {}
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

/// A timestamp told apart by its shape: `12/Mar/…`, `2024-03-12T…`, or epoch digits.
#[inline]
fn any_time(
    v: &[u8],
    unit: Option<TimeUnit>,
    cache: &mut TimeCache,
) -> Option<faultline_model::EventTime> {
    match v {
        [_, _, b'/', ..] => cache.get(TimeKind::Local, v),
        [_, _, _, _, b'-', ..] => cache.get_rfc3339(v),
        _ => parse_epoch(v, unit),
    }
}

#[inline]
pub(crate) fn status(v: &[u8]) -> Result<u16, ParseError> {
    match *v {
        [] => Err(MISSING_STATUS),
        [a, b, c] if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() => {
            Ok(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => Err(BAD_STATUS),
    }
}

#[inline]
pub(crate) fn number(v: &[u8]) -> Result<Option<u64>, ParseError> {
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
pub(crate) fn seconds(v: &[u8]) -> Result<Option<u64>, ParseError> {
    if v.is_empty() {
        return Ok(None);
    }
    parse_secs_us(v).map(Some).ok_or(BAD_SECONDS)
}

#[inline]
fn duration(v: &[u8], unit: TimeUnit) -> Result<Option<u64>, ParseError> {
    if v.is_empty() {
        return Ok(None);
    }
    parse_duration_us(v, unit).map(Some).ok_or(BAD_DURATION)
}

/// `GET /path?q HTTP/1.1` → method, target, protocol. Junk (a TLS hello, an empty request)
/// is kept as it is: what precedes the first space is the method, and the protocol is only
/// taken when the last word looks like one.
#[inline]
pub(crate) fn split_request<'a>(v: &'a [u8], parts: u8, rec: &mut Record<'a>) {
    let (method, rest) = match find_byte(b' ', v) {
        Some(i) => (&v[..i], &v[i + 1..]),
        None => (v, &v[..0]),
    };
    // The common `… HTTP/1.1` is checked at its place before searching for the last space.
    let n = rest.len();
    let (path, protocol) = match rest.get(n.wrapping_sub(9)..) {
        Some([b' ', b'H', b'T', b'T', b'P', b'/', a, b'.', b]) if a != &b' ' && b != &b' ' => {
            (&rest[..n - 9], &rest[n - 8..])
        }
        _ => match rfind_byte(b' ', rest) {
            Some(i) if has_prefix(&rest[i + 1..], b"HTTP/") => (&rest[..i], &rest[i + 1..]),
            _ => (rest, &rest[..0]),
        },
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

    fn lit(s: &str) -> Piece {
        Piece::Lit(s.as_bytes().to_vec())
    }

    fn var(var: Var, name: &str) -> Piece {
        Piece::Field {
            var,
            name: name.into(),
            fixed: None,
            list: false,
        }
    }

    #[test]
    fn build_joins_literals_and_refuses_touching_fields() {
        let p = Plan::build(
            vec![
                lit("<"),
                lit("["),
                var(Var::Status, "a"),
                lit("]"),
                lit(" "),
                var(Var::Host, "b"),
            ],
            End::Quoted,
        )
        .unwrap();
        assert_eq!(&*p.head, b"<[");
        assert_eq!(p.fields.len(), 2);
        assert_eq!(
            (p.fields[0].end, &*p.fields[0].lit),
            (End::Byte(b']'), &b"] "[..])
        );
        assert_eq!((p.fields[1].end, &*p.fields[1].lit), (End::Rest, &b""[..]));
        let touching = vec![var(Var::Status, "a"), var(Var::Host, "b")];
        assert_eq!(Plan::build(touching, End::Quoted).unwrap_err(), "a");
        let quoted = vec![lit("\""), var(Var::Status, "a"), lit("\"")];
        let p = Plan::build(quoted, End::Quoted).unwrap();
        assert_eq!(p.fields[0].end, End::Quoted);
    }

    #[test]
    fn a_literal_word_strips_what_the_byte_loop_strips() {
        let hay = b"\" 200 \"-\" 0.021 : x] \"GET /a\" 12345678 trailing";
        for lit in [
            &b""[..],
            b" ",
            b"\" ",
            b"] \"",
            b" : ",
            b"\" 200 \"-",
            b"\" 200 \"-\" 0.0",
        ] {
            let w = Lit8::new(lit);
            for from in 0..hay.len() {
                let h = &hay[from..];
                assert_eq!(w.strip(h, lit), strip(h, lit), "{:?} at {from}", lit);
            }
        }
    }

    /// The `combined` prefix and the `extended` tail read every line as the field loop does:
    /// same record, same error, on real lines and on thousands of damaged copies of them.
    #[test]
    fn the_dedicated_readers_agree_with_the_field_loop() {
        let lines: [&[u8]; 5] = [
            br#"203.0.113.9 - - [12/Mar/2024:08:00:01 +0000] "GET /api/v1/orders/17?x=1 HTTP/1.1" 502 157 "-" "okhttp/4.12.0" 0.000 0.000 10.0.7.12:3000, 10.0.7.13:3000 502, 200 "api.example.com""#,
            br#"2a02:810d::df28 - bob [12/Mar/2024:08:00:02 +0100] "POST /a b HTTP/2.0" 200 6687 "https://x/" "Mozilla/5.0 (X11)" 0.135 - - - "-""#,
            br#"- - - [-] "-" 200 - "-" "-" - - - - "h""#,
            br#"10.0.0.1 - - [12/Mar/2024:08:00:03 +0000] "" 400 0 "-" "-" 0.001 - - - "_""#,
            br#"10.0.0.1 - - [12/Mar/2024:08:00:03 +0000] "GET / HTTP/1 1" 200 1 "-" "a" 0.001 - - - "h""#,
        ];
        let alphabet = b" \"[]-0129aHTP/.:,\\";
        for preset in crate::nginx::PRESETS {
            let fast = crate::nginx::compile(preset.1).unwrap().plan;
            let want = match preset.0 {
                "extended" => Shape::Extended,
                _ => Shape::Combined,
            };
            assert_eq!(fast.shape, want, "{}", preset.0);
            let slow = Plan {
                shape: Shape::General,
                ..fast.clone()
            };
            let mut rng = fastrand::Rng::with_seed(42);
            // Kept from line to line, as a reader keeps them: most lines hit the time cache.
            let (mut ca, mut cb) = (TimeCache::default(), TimeCache::default());
            for line in lines {
                for round in 0..2000 {
                    let mut l = line.to_vec();
                    for _ in 0..(1 + round % 3) {
                        let at = rng.usize(..l.len() + 1);
                        let c = alphabet[rng.usize(..alphabet.len())];
                        match rng.usize(..3) {
                            0 if at < l.len() => l[at] = c,
                            1 if at < l.len() => {
                                l.remove(at);
                            }
                            _ => l.insert(at, c),
                        }
                    }
                    let (mut a, mut b) = (Record::default(), Record::default());
                    let ra = fast.parse(&l, &mut a, &mut ca);
                    let rb = slow.parse(&l, &mut b, &mut cb);
                    assert_eq!(ra, rb, "{} {:?}", preset.0, String::from_utf8_lossy(&l));
                    if ra.is_ok() {
                        assert_eq!(format!("{a:?}"), format!("{b:?}"));
                    }
                }
            }
        }
        let apache = crate::apache::compile(crate::apache::PRESETS[1].1).unwrap();
        assert_eq!(apache.plan.shape, Shape::General);
    }

    #[test]
    fn quoted_values_end_at_an_unescaped_quote() {
        assert_eq!(find_quote_end(br#"abc" x"#), Some(3));
        assert_eq!(find_quote_end(br#"a\"b" x"#), Some(4));
        assert_eq!(find_quote_end(br#"a\\" x"#), Some(3));
        assert_eq!(find_quote_end(br#"a\\\"b""#), Some(6));
        assert_eq!(find_quote_end(br#"a\""#), None);
        assert_eq!(find_quote_end(b""), None);
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
        split_request(b"GET /a b HTTP/1.1", REQ_ALL, &mut r);
        assert_eq!(
            (r.method, r.path, r.protocol),
            (&b"GET"[..], &b"/a b"[..], &b"HTTP/1.1"[..])
        );
        split_request(b"GET /", REQ_ALL, &mut r);
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
        assert_eq!(duration(b"1500", TimeUnit::Micros), Ok(Some(1_500)));
        assert_eq!(duration(b"1.5", TimeUnit::Millis), Ok(Some(1_500)));
        assert_eq!(duration(b"1.5e3", TimeUnit::Millis), Err(BAD_DURATION));
    }

    #[test]
    fn apache_byte_counts_and_balancer_variables() {
        let mut rec = Record::default();
        let mut cache = TimeCache::default();
        apply(Var::BytesClf, b"-", &mut rec, &mut cache).unwrap();
        assert_eq!(rec.bytes_sent, Some(0));
        apply(Var::BytesSent, b"-", &mut rec, &mut cache).unwrap();
        assert_eq!(rec.bytes_sent, None);
        apply(Var::UpstreamPool, b"balancer://api", &mut rec, &mut cache).unwrap();
        apply(
            Var::UpstreamWorker,
            b"http://10.0.0.1:80",
            &mut rec,
            &mut cache,
        )
        .unwrap();
        assert_eq!(rec.upstream_addr, b"http://10.0.0.1:80");
        apply(Var::UpstreamPool, b"balancer://api", &mut rec, &mut cache).unwrap();
        apply(Var::UpstreamWorker, b"-", &mut rec, &mut cache).unwrap();
        assert_eq!(rec.upstream_addr, b"http://10.0.0.1:80");
    }
}
