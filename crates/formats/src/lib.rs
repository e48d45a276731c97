//! # faultline-formats
//!
//! Pure parsers that turn one log line of bytes into a reused [`Record`], plus detection of
//! what an input is. No I/O, no clock, no allocation per line: the ingest loop hands each line
//! to a parser compiled once, and the record borrows the line's bytes (DESIGN §4).
//!
//! In the crate graph (DESIGN §3) this crate is pure and depends only on `faultline-model`.
//!
//! Key types:
//! - [`AccessParser`]: an access-log format compiled into a plan of literals and variables,
//!   from an nginx `log_format` string ([`AccessParser::nginx`]) or a preset
//!   ([`AccessParser::preset`]: `combined`, `main`, `extended`, `upstream_time`,
//!   `upstreaminfo`).
//! - [`TimeCache`]: one per worker; timestamps are parsed once per second, not per line.
//! - [`parse_nginx_error`] → [`ErrorLine`]: nginx error-log lines.
//! - [`detect`] → [`Detection`]: access log (and which format), error log, or plain text.
//! - [`unescape`]: nginx's `\xHH` escapes decoded for display only.
//!
//! A line that does not parse is a [`ParseError`] with a static reason, to be counted by the
//! caller; a format that cannot be compiled is a [`FormatError`].
//!
//! ```
//! use faultline_formats::{AccessParser, Record, TimeCache};
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
//! ```

mod bytes;
mod detect;
mod error_log;
mod escape;
mod nginx;
mod time;

pub use detect::{detect, Detection, Kind};
pub use error_log::{parse_nginx_error, ErrorLine};
pub use escape::unescape;
pub use faultline_model::Record;
pub use nginx::AccessParser;
pub use time::TimeCache;

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
    #[error("unknown preset {0:?} (known: combined, main, extended, upstream_time, upstreaminfo)")]
    UnknownPreset(String),
    #[error("bad variable at byte {0}")]
    BadVariable(usize),
    #[error("${0} is followed directly by another variable, so its end cannot be found")]
    Adjacent(String),
}
