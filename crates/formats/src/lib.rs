//! # faultline-formats
//!
//! Pure parsers that turn one log line of bytes into a reused [`Record`], plus detection of
//! what an input is. No I/O, no clock, no allocation per line: the ingest loop hands each line
//! to a parser compiled once, and the record borrows the line's bytes (DESIGN §4).
//!
//! In the crate graph (DESIGN §3) this crate is pure and depends only on `faultline-model`.
//!
//! Key types:
//! - [`AccessParser`]: an access-log format compiled once, from an nginx `log_format` string
//!   ([`AccessParser::nginx`]), an Apache `LogFormat` string ([`AccessParser::apache`]),
//!   either one told by its variables ([`AccessParser::guess`]), a [`JsonMapping`] for JSON
//!   lines ([`AccessParser::json`]), or a preset ([`AccessParser::preset`]: nginx's
//!   `combined`, `main`, `extended`, `upstream_time`, `upstreaminfo`; Apache's
//!   `apache_common`, `apache_combined`, `apache_vhost_combined`; `json`). The text dialects
//!   share one plan of literals and fields; JSON lines are walked once by a strict scanner
//!   that keeps borrowed slices of the mapped keys.
//! - [`TimeCache`]: one per worker; timestamps are parsed once per second, not per line.
//! - [`parse_nginx_error`] → [`ErrorLine`]: nginx error-log lines.
//! - [`detect`] → [`Detection`]: access log (and which format), error log, or plain text.
//! - [`unescape`]: nginx's (and Apache's) `\xHH` escapes decoded for display only.
//! - [`Joiner`] → [`AppEvent`], [`fingerprint`] → [`Fingerprint`]: application logs' lines
//!   joined into events (stack traces, panics, fatal errors) and grouped by failure
//!   ([`applog`]).
//!
//! A line that does not parse is a [`ParseError`] with a static reason, to be counted by the
//! caller; a format that cannot be compiled is a [`FormatError`].
//!
//! ```
//! use faultline_formats::{AccessParser, JsonMapping, Record, TimeCache};
//!
//! let parser = AccessParser::preset("extended").unwrap();
//! let line = br#"80.89.250.50 - - [12/Mar/2024:08:00:20 +0000] "GET /docs HTTP/2.0" 200 33896 "-" "curl/8.5.0" 0.049 0.021, 0.024 10.0.7.12:3000, 10.0.7.13:3000 502, 200 "www.example.com""#;
//! let (mut rec, mut cache) = (Record::default(), TimeCache::default());
//! parser.parse(line, &mut rec, &mut cache).unwrap();
//! assert_eq!(rec.status, 200);
//! assert_eq!(rec.path, b"/docs");
//! assert_eq!(rec.request_time_us, Some(49_000));
//! assert_eq!(rec.upstream_status, b"502, 200");
//! assert_eq!(rec.time.unwrap().secs, 1_710_230_420);
//!
//! let apache = AccessParser::apache(r#"%h %l %u %t "%r" %>s %b %D %{BALANCER_WORKER_NAME}e"#).unwrap();
//! let line = br#"203.0.113.7 - - [12/Mar/2024:08:00:00 +0000] "GET /a HTTP/1.1" 502 - 1534 http://127.0.0.1:8081"#;
//! apache.parse(line, &mut rec, &mut cache).unwrap();
//! assert_eq!((rec.status, rec.bytes_sent, rec.request_time_us), (502, Some(0), Some(1534)));
//! assert_eq!(rec.upstream_addr, b"http://127.0.0.1:8081");
//!
//! let json = AccessParser::json(&JsonMapping::parse_spec("status=resp.code,time=ts").unwrap()).unwrap();
//! let line = br#"{"ts":1710230400,"resp":{"code":504},"request":"GET /b HTTP/1.1"}"#;
//! json.parse(line, &mut rec, &mut cache).unwrap();
//! assert_eq!((rec.status, rec.path), (504, &b"/b"[..]));
//! ```

mod access;
mod apache;
mod apache_error;
pub mod applog;
mod bytes;
mod detect;
mod error_log;
mod escape;
mod json;
mod nginx;
mod plan;
mod time;

pub use access::AccessParser;
pub use apache_error::parse_apache_error;
pub use applog::{fingerprint, is_continuation_of_error_log, AppEvent, Fingerprint, Joiner, Level};
pub use detect::{detect, Detection, Kind};
pub use error_log::{parse_nginx_error, parse_nginx_error_tail, ErrorLine};
pub use escape::unescape;
pub use faultline_model::Record;
pub use json::{JsonField, JsonKey, JsonMapping};
pub use time::{TimeCache, TimeUnit};

/// Why one line did not parse. The reason is static so that counting bad lines costs nothing;
/// e.g. "bad timestamp", "missing status", "line does not match the format".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct ParseError {
    pub reason: &'static str,
}

/// Why a format could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    #[error("log_format has no $status variable")]
    NoStatus,
    #[error(
        "unknown preset {0:?} (known: combined, main, extended, upstream_time, upstreaminfo, \
         apache_common, apache_combined, apache_vhost_combined, json)"
    )]
    UnknownPreset(String),
    #[error("bad variable at byte {0}")]
    BadVariable(usize),
    #[error("${0} is followed directly by another variable, so its end cannot be found")]
    Adjacent(String),
    #[error("LogFormat has no %s or %>s directive")]
    NoApacheStatus,
    #[error("bad LogFormat directive at byte {0}")]
    BadDirective(usize),
    #[error("unknown LogFormat directive {0}")]
    UnknownDirective(String),
    #[error("{0} is followed directly by another directive, so its end cannot be found")]
    AdjacentDirective(String),
    #[error("JSON mapping {part:?}: {reason}")]
    BadMapping { part: String, reason: String },
    #[error(
        "cannot tell the dialect of {0:?}: it has neither nginx $variables nor Apache \
         %directives"
    )]
    UnknownDialect(String),
}
