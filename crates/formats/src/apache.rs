//! Apache `LogFormat` (mod_log_config): compiled into the same plan of literals and fields as
//! an nginx `log_format`, so a line costs the same to read.
//!
//! Every directive of mod_log_config (and mod_logio's `%I %O %S %^FB`, mod_ssl's `%{…}x`
//! and `%{…}c`) is accepted, with its modifiers (`%>s`, `%<s`, `%400,501{User-agent}i`,
//! `%!200a`). Those that fill the record:
//!
//! | record | directives, most precise first |
//! | --- | --- |
//! | time | `%t` (`[10/Oct/2000:13:55:36 -0700]`), `%{sec}t` / `%{msec}t` / `%{usec}t`, `%{%d/%b/%Y:%H:%M:%S %z}t`, `%{%Y-%m-%dT%H:%M:%S%z}t` |
//! | status | `%>s`, then `%s` / `%<s` |
//! | request | `%r`; without it `%m`, `%U` (or `%U%q`), `%H` |
//! | bytes | `%b` (`-` is 0) or `%B`, then `%O` |
//! | request time | `%D` (µs), `%{us}T`, `%{ms}T`, `%T` / `%{s}T` |
//! | host | `%V`, `%{Host}i`, `%v` |
//! | client | `%a`, `%h`, `%{c}a` |
//! | request id | `%{X-Request-ID}i` (or `Request-ID`, `X-Correlation-ID`), `%{UNIQUE_ID}e`, `%L` |
//! | upstream | `%{BALANCER_WORKER_NAME}e` (kept raw, e.g. `http://127.0.0.1:8081`), else `%{BALANCER_NAME}e` (the pool) |
//! | others | `%{Referer}i`, `%{User-Agent}i`, `%{X-Forwarded-For}i` (header names in any case) |
//!
//! Apache escapes `"` as `\"` and `\` as `\\` inside values, so a quoted value ends at the
//! first `"` after an even number of backslashes. `-` is an empty value.

use memchr::memchr;

use crate::plan::{End, Piece, Plan, Var, REQ_ALL};
use crate::time::TimeUnit;
use crate::FormatError;

/// The formats of Apache's default configuration, by name.
pub(crate) const PRESETS: [(&str, &str); 3] = [
    ("apache_common", r#"%h %l %u %t "%r" %>s %b"#),
    (
        "apache_combined",
        r#"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i""#,
    ),
    (
        "apache_vhost_combined",
        r#"%v:%p %h %l %u %t "%r" %>s %O "%{Referer}i" "%{User-Agent}i""#,
    ),
];

/// Names Apache's configuration gives these formats; nginx has no presets by these names.
pub(crate) const ALIASES: [(&str, &str); 2] = [
    ("common", "apache_common"),
    ("vhost_combined", "apache_vhost_combined"),
];

/// A compiled Apache format and what it carries.
#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    pub(crate) plan: Plan,
    /// `%{BALANCER_WORKER_NAME}e`.
    pub(crate) upstream: bool,
    /// `%D` or `%T`.
    pub(crate) timing: bool,
}

/// One `%` directive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Directive<'f> {
    /// The directive letter (`s` for `%>s`), or `^ti`-like codes.
    code: &'f str,
    /// The `{…}` argument.
    arg: Option<&'f str>,
    /// `%>s`: the final value rather than the original.
    last: bool,
    /// The directive as written, for messages.
    text: &'f str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token<'f> {
    Lit(Vec<u8>),
    Dir(Directive<'f>),
}

/// Compiles an Apache `LogFormat` string.
pub(crate) fn compile(format: &str) -> Result<Compiled, FormatError> {
    let tokens = tokenize(unwrap_config(format))?;
    let dirs: Vec<Directive<'_>> = tokens
        .iter()
        .filter_map(|t| match t {
            Token::Dir(d) => Some(*d),
            Token::Lit(_) => None,
        })
        .collect();
    if !dirs.iter().any(|d| d.code == "s") {
        return Err(FormatError::NoApacheStatus);
    }
    let has_request = dirs.iter().any(|d| d.code == "r");
    let roles: Vec<Role> = dirs.iter().map(|d| role(d, has_request)).collect();
    let best = |slot: Slot| {
        roles
            .iter()
            .filter(|r| r.slot == slot)
            .map(|r| r.rank)
            .max()
    };
    let mut pieces = Vec::with_capacity(tokens.len() + 2);
    let mut roles = roles.iter();
    let mut tokens = tokens.into_iter().peekable();
    while let Some(tok) = tokens.next() {
        let d = match tok {
            Token::Lit(l) => {
                pieces.push(Piece::Lit(l));
                continue;
            }
            Token::Dir(d) => d,
        };
        let Some(r) = roles.next() else { break };
        let var = if r.slot != Slot::None && Some(r.rank) != best(r.slot) {
            Var::Ignore
        } else {
            r.var
        };
        let mut name = d.text.to_string();
        // `%U%q` is the path and its query string, one value.
        if d.code == "U" && matches!(tokens.peek(), Some(Token::Dir(q)) if q.code == "q") {
            if let Some(Token::Dir(q)) = tokens.next() {
                roles.next();
                name.push_str(q.text);
            }
        }
        let field = Piece::Field {
            var,
            name,
            fixed: r.fixed,
            list: false,
        };
        if d.code == "t" && d.arg.is_none() {
            // `%t` writes its own brackets.
            pieces.extend([Piece::Lit(b"[".to_vec()), field, Piece::Lit(b"]".to_vec())]);
        } else {
            pieces.push(field);
        }
    }
    let plan = Plan::build(pieces, End::Quoted).map_err(FormatError::AdjacentDirective)?;
    let env = |name: &str| {
        dirs.iter()
            .any(|d| d.code == "e" && d.arg.is_some_and(|a| a.eq_ignore_ascii_case(name)))
    };
    Ok(Compiled {
        plan,
        upstream: env("BALANCER_WORKER_NAME"),
        timing: dirs.iter().any(|d| d.code == "D" || d.code == "T"),
    })
}

/// A `LogFormat` copied from httpd.conf may keep its directive name, its quotes and its
/// nickname (`LogFormat "%h \"%r\" %>s" common`): only the format is kept. A plain format
/// is returned as it is.
fn unwrap_config(format: &str) -> &str {
    let trimmed = format.trim();
    let (keyword, rest) = match trimmed.get(..10) {
        Some(k) if k.eq_ignore_ascii_case("LogFormat ") => (true, trimmed[10..].trim_start()),
        _ => (false, trimmed),
    };
    let Some(inner) = rest.strip_prefix('"') else {
        return if keyword { rest } else { format };
    };
    let Some(close) = crate::plan::find_quote_end(inner.as_bytes()) else {
        return format;
    };
    let after = inner[close + 1..].trim();
    let nickname = !after.is_empty() && !after.contains(['%', '"', ' ']);
    let body = &inner[..close];
    if keyword || nickname || (after.is_empty() && body.contains("\\\"")) {
        body
    } else {
        format
    }
}

/// Splits a format into literals (with httpd.conf's `\"`, `\\`, `\n`, `\t` read) and
/// directives.
fn tokenize(format: &str) -> Result<Vec<Token<'_>>, FormatError> {
    let b = format.as_bytes();
    let mut tokens = Vec::new();
    let mut lit = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' if i + 1 < b.len() => {
                lit.push(match b[i + 1] {
                    b'n' => b'\n',
                    b't' => b'\t',
                    b'r' => b'\r',
                    c @ (b'"' | b'\\') => c,
                    _ => {
                        lit.push(b'\\');
                        i += 1;
                        continue;
                    }
                });
                i += 2;
            }
            b'%' => {
                let (dir, next) = directive(format, i)?;
                if dir.code == "%" {
                    lit.push(b'%');
                } else {
                    if !lit.is_empty() {
                        tokens.push(Token::Lit(std::mem::take(&mut lit)));
                    }
                    tokens.push(Token::Dir(dir));
                }
                i = next;
            }
            c => {
                lit.push(c);
                i += 1;
            }
        }
    }
    if !lit.is_empty() {
        tokens.push(Token::Lit(lit));
    }
    Ok(tokens)
}

/// Directive letters mod_log_config, mod_logio and mod_ssl register.
const CODES: &str = "aAbBcCDefhHiIklLmnoOpPqrRsStTuUvVxX%";

/// Reads the directive at `at` (a `%`): modifiers, an optional `{arg}`, the letter.
fn directive(format: &str, at: usize) -> Result<(Directive<'_>, usize), FormatError> {
    let b = format.as_bytes();
    let mut i = at + 1;
    let mut last = false;
    let mut arg = None;
    loop {
        match b.get(i) {
            Some(b'!' | b',' | b'0'..=b'9') => i += 1,
            Some(b'<') => (last, i) = (false, i + 1),
            Some(b'>') => (last, i) = (true, i + 1),
            Some(b'{') if arg.is_none() => {
                let close = memchr(b'}', &b[i + 1..]).ok_or(FormatError::BadDirective(at))?;
                arg = Some(&format[i + 1..i + 1 + close]);
                i += close + 2;
            }
            Some(b'^') => {
                let code = b.get(i + 1..i + 3).ok_or(FormatError::BadDirective(at))?;
                if !code.iter().all(u8::is_ascii_alphabetic) {
                    return Err(FormatError::BadDirective(at));
                }
                return Ok((make(format, at, i, i + 3, arg, last), i + 3));
            }
            Some(&c) if c.is_ascii() && CODES.as_bytes().contains(&c) => {
                return Ok((make(format, at, i, i + 1, arg, last), i + 1));
            }
            Some(&c) if c.is_ascii_alphabetic() => {
                return Err(FormatError::UnknownDirective(format[at..=i].to_string()))
            }
            _ => return Err(FormatError::BadDirective(at)),
        }
    }
}

/// The directive from `%` at `at` to its ASCII code at `code..end`.
fn make<'f>(
    format: &'f str,
    at: usize,
    code: usize,
    end: usize,
    arg: Option<&'f str>,
    last: bool,
) -> Directive<'f> {
    Directive {
        code: &format[code..end],
        arg,
        last,
        text: &format[at..end],
    }
}

/// Record fields several directives can fill: the most precise one present wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    None,
    Time,
    Status,
    Bytes,
    Duration,
    Host,
    Client,
    RequestId,
}

/// What one directive fills, how precisely, and its width when fixed.
#[derive(Debug, Clone, Copy)]
struct Role {
    var: Var,
    slot: Slot,
    rank: u8,
    fixed: Option<usize>,
}

fn role(d: &Directive<'_>, has_request: bool) -> Role {
    let of = |var, slot, rank| Role {
        var,
        slot,
        rank,
        fixed: None,
    };
    let plain = |var| of(var, Slot::None, 0);
    let arg = d.arg.unwrap_or("");
    let is = |name: &str| arg.eq_ignore_ascii_case(name);
    match (d.code, d.arg.is_some()) {
        ("t", _) => time_role(d.arg),
        ("s", _) => of(Var::Status, Slot::Status, if d.last { 2 } else { 1 }),
        ("r", _) => plain(Var::Request(REQ_ALL)),
        ("m", _) if !has_request => plain(Var::Method),
        ("U", _) if !has_request => plain(Var::Path),
        ("H", _) if !has_request => plain(Var::Protocol),
        ("b", _) => of(Var::BytesClf, Slot::Bytes, 2),
        ("B", _) => of(Var::BytesSent, Slot::Bytes, 2),
        ("O", _) => of(Var::BytesSent, Slot::Bytes, 1),
        ("D", _) => of(Var::Duration(TimeUnit::Micros), Slot::Duration, 4),
        ("T", _) if is("us") => of(Var::Duration(TimeUnit::Micros), Slot::Duration, 3),
        ("T", _) if is("ms") => of(Var::Duration(TimeUnit::Millis), Slot::Duration, 2),
        ("T", _) if is("s") || d.arg.is_none() => {
            of(Var::Duration(TimeUnit::Seconds), Slot::Duration, 1)
        }
        ("V", false) => of(Var::Host, Slot::Host, 3),
        ("v", false) => of(Var::Host, Slot::Host, 1),
        ("a", false) => of(Var::RemoteAddr, Slot::Client, 3),
        ("h", false) => of(Var::RemoteAddr, Slot::Client, 2),
        ("a", true) if is("c") => of(Var::RemoteAddr, Slot::Client, 1),
        ("L", _) => of(Var::RequestId, Slot::RequestId, 1),
        ("i", true) if is("Host") => of(Var::Host, Slot::Host, 2),
        ("i", true) if is("Referer") => plain(Var::Referer),
        ("i", true) if is("User-Agent") => plain(Var::UserAgent),
        ("i", true) if is("X-Forwarded-For") => plain(Var::ForwardedFor),
        ("i", true) if is("X-Request-ID") || is("Request-ID") || is("X-Correlation-ID") => {
            of(Var::RequestId, Slot::RequestId, 3)
        }
        ("e", true) if is("UNIQUE_ID") => of(Var::RequestId, Slot::RequestId, 2),
        ("e", true) if is("BALANCER_WORKER_NAME") => plain(Var::UpstreamWorker),
        ("e", true) if is("BALANCER_NAME") => plain(Var::UpstreamPool),
        _ => plain(Var::Ignore),
    }
}

/// `%t` and `%{format}t`.
fn time_role(arg: Option<&str>) -> Role {
    let of = |var, rank, fixed| Role {
        var,
        slot: Slot::Time,
        rank,
        fixed,
    };
    let Some(arg) = arg else {
        return of(Var::TimeLocal, 3, Some(26));
    };
    let arg = arg
        .strip_prefix("begin:")
        .or_else(|| arg.strip_prefix("end:"))
        .unwrap_or(arg);
    let ignored = |fixed| Role {
        var: Var::Ignore,
        slot: Slot::None,
        rank: 0,
        fixed,
    };
    match arg {
        "sec" | "%s" => of(Var::Epoch(Some(TimeUnit::Seconds)), 1, None),
        "msec" => of(Var::Epoch(Some(TimeUnit::Millis)), 1, None),
        "usec" => of(Var::Epoch(Some(TimeUnit::Micros)), 1, None),
        "msec_frac" => ignored(Some(3)),
        "usec_frac" => ignored(Some(6)),
        "%d/%b/%Y:%H:%M:%S %z" => of(Var::TimeLocal, 2, Some(26)),
        "%Y-%m-%dT%H:%M:%S%z" | "%FT%T%z" => of(Var::TimeRfc3339, 2, Some(24)),
        other => ignored(strftime_width(other)),
    }
}

/// The width of a `strftime` format's output in the C locale, when it is fixed.
fn strftime_width(format: &str) -> Option<usize> {
    let b = format.as_bytes();
    let mut width = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'%' {
            width += 1;
            i += 1;
            continue;
        }
        width += match b.get(i + 1)? {
            b'Y' => 4,
            b'm' | b'd' | b'e' | b'H' | b'I' | b'M' | b'S' | b'y' | b'C' | b'p' => 2,
            b'b' | b'h' | b'a' | b'j' => 3,
            b'z' => 5,
            b'T' | b'D' => 8,
            b'F' => 10,
            b'R' => 5,
            b'n' | b't' | b'%' => 1,
            _ => return None,
        };
        i += 2;
    }
    Some(width)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dirs(format: &str) -> Vec<(String, Option<String>, bool)> {
        tokenize(format)
            .unwrap()
            .into_iter()
            .filter_map(|t| match t {
                Token::Dir(d) => Some((d.code.to_string(), d.arg.map(str::to_string), d.last)),
                Token::Lit(_) => None,
            })
            .collect()
    }

    #[test]
    fn directives_with_modifiers_and_arguments() {
        let d = dirs(r#"%>s %<s %400,501{User-agent}i %!200a %{c}a %^ti %{X}^to %%"#);
        let want = [
            ("s", None, true),
            ("s", None, false),
            ("i", Some("User-agent"), false),
            ("a", None, false),
            ("a", Some("c"), false),
            ("^ti", None, false),
            ("^to", Some("X"), false),
        ];
        assert_eq!(d.len(), want.len());
        for (got, (code, arg, last)) in d.iter().zip(want) {
            assert_eq!((got.0.as_str(), got.1.as_deref(), got.2), (code, arg, last));
        }
        let t = tokenize("100%% \\\"%r\\\" a\\b").unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(t[0], Token::Lit(b"100% \"".to_vec()));
        assert_eq!(t[2], Token::Lit(b"\" a\\b".to_vec()));
    }

    #[test]
    fn bad_directives_are_refused() {
        assert!(matches!(tokenize("%"), Err(FormatError::BadDirective(0))));
        assert!(matches!(
            tokenize("x %{a"),
            Err(FormatError::BadDirective(2))
        ));
        assert!(matches!(tokenize("%^t"), Err(FormatError::BadDirective(0))));
        assert!(matches!(tokenize("%-"), Err(FormatError::BadDirective(0))));
        assert!(matches!(tokenize("%é"), Err(FormatError::BadDirective(0))));
        assert!(matches!(tokenize("%>Z"), Err(FormatError::UnknownDirective(d)) if d == "%>Z"));
    }

    #[test]
    fn the_most_precise_directive_fills_a_field() {
        let vars = |f: &str| -> Vec<Var> {
            let c = compile(f).unwrap();
            c.plan.fields.iter().map(|f| f.var).collect()
        };
        use Var::*;
        assert_eq!(vars("%s %>s"), [Ignore, Status]);
        assert_eq!(vars("%<s"), [Status]);
        assert_eq!(
            vars("%T %{ms}T %D %>s"),
            [Ignore, Ignore, Duration(TimeUnit::Micros), Status]
        );
        assert_eq!(vars("%v %{host}i %>s"), [Ignore, Host, Status]);
        assert_eq!(vars("%h %a %>s"), [Ignore, RemoteAddr, Status]);
        assert_eq!(vars("%L %{X-Request-Id}i %>s"), [Ignore, RequestId, Status]);
        assert_eq!(vars("%O %b %>s"), [Ignore, BytesClf, Status]);
        assert_eq!(
            vars("%m %U %H \"%r\" %>s"),
            [Ignore, Ignore, Ignore, Request(REQ_ALL), Status]
        );
        assert_eq!(vars("%m %U%q %H %>s"), [Method, Path, Protocol, Status]);
        assert_eq!(vars("%U?%q %>s"), [Path, Ignore, Status]);
    }

    #[test]
    fn time_directives() {
        let ends = |f: &str| -> Vec<(Var, End)> {
            let c = compile(f).unwrap();
            c.plan.fields.iter().map(|f| (f.var, f.end)).collect()
        };
        assert_eq!(ends("%t %>s")[0], (Var::TimeLocal, End::Byte(b']')));
        assert_eq!(
            ends("%{%d/%b/%Y:%H:%M:%S %z}t %>s")[0],
            (Var::TimeLocal, End::Fixed(26))
        );
        assert_eq!(
            ends("%{end:msec}t %>s")[0],
            (Var::Epoch(Some(TimeUnit::Millis)), End::Literal)
        );
        assert_eq!(
            ends("%{%Y-%m-%d %H:%M:%S}t %>s")[0],
            (Var::Ignore, End::Fixed(19))
        );
        assert_eq!(ends("%{%A %B}t %>s")[0], (Var::Ignore, End::Literal));
        assert_eq!(strftime_width("%FT%T%z"), Some(24));
        assert_eq!(strftime_width("%"), None);
    }

    #[test]
    fn formats_from_httpd_conf_are_unwrapped() {
        let f = r#"LogFormat "%h %l %u %t \"%r\" %>s %b" common"#;
        assert_eq!(unwrap_config(f), r#"%h %l %u %t \"%r\" %>s %b"#);
        let f = r#""%h \"%r\" %>s""#;
        assert_eq!(unwrap_config(f), r#"%h \"%r\" %>s"#);
        assert_eq!(unwrap_config(r#""%r" %>s"#), r#""%r" %>s"#);
        assert_eq!(unwrap_config(r#""%r""#), r#""%r""#);
        assert_eq!(unwrap_config("LogFormat %h %>s"), "%h %>s");
        let same = |f: &str| compile(f).unwrap().plan.fields.len();
        assert_eq!(
            same(PRESETS[0].1),
            same(r#"LogFormat "%h %l %u %t \"%r\" %>s %b" common"#)
        );
    }
}
