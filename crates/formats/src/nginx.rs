//! nginx `log_format`: compiled once into a plan of literals and variables, then applied to
//! each line with a few byte scans and no allocation.

use memchr::memchr;

use crate::plan::{End, Piece, Plan, Var, REQ_METHOD, REQ_PATH, REQ_PROTOCOL};
use crate::FormatError;

/// nginx's predefined `combined` format, the start of every preset.
macro_rules! combined {
    () => {
        r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#
    };
}

/// The predefined formats, by name, as nginx (or ingress-nginx) writes them.
pub(crate) const PRESETS: [(&str, &str); 5] = [
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

/// A compiled nginx format and what it carries.
#[derive(Debug, Clone)]
pub(crate) struct Compiled {
    pub(crate) plan: Plan,
    /// `$upstream_addr` or `$upstream_status`.
    pub(crate) upstream: bool,
    /// `$request_time` or `$upstream_response_time`.
    pub(crate) timing: bool,
}

/// A piece of a `log_format` string.
#[derive(Debug, Clone, Copy)]
enum Token<'f> {
    Lit(&'f [u8]),
    Var(&'f str),
}

/// Compiles an nginx `log_format` string (the part after the name, quotes already joined).
pub(crate) fn compile(format: &str) -> Result<Compiled, FormatError> {
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
    let pieces = tokens
        .iter()
        .map(|t| match *t {
            Token::Lit(l) => Piece::Lit(l.to_vec()),
            Token::Var(name) => Piece::Field {
                var: classify(name, &names),
                name: name.to_string(),
                fixed: (name == "time_local").then_some(26),
                list: name.starts_with("upstream_"),
            },
        })
        .collect();
    // nginx writes `"` inside values as `\x22`, so the first quote closes a quoted value.
    let plan = Plan::build(pieces, End::Byte(b'"')).map_err(FormatError::Adjacent)?;
    let has = |n: &str| names.contains(&n);
    Ok(Compiled {
        plan,
        upstream: has("upstream_addr") || has("upstream_status"),
        timing: has("request_time") || has("upstream_response_time"),
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AccessParser;

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
        let p = compile(PRESETS[2].1).unwrap().plan;
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
        let p = compile(r#""$request" [$status]"#).unwrap().plan;
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
}
