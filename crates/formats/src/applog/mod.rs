//! Application logs: physical lines joined into events, and a fingerprint per event that
//! groups repeats of the same failure.
//!
//! An application writes one record per line until something goes wrong, and then a stack
//! trace, a panic or a fatal error spreads over many lines. [`Joiner`] turns the lines back
//! into events ([`AppEvent`]): a line that opens with a record prefix it knows (a timestamp,
//! a level, a JSON object) or with a runtime's opener (`Traceback (most recent call last):`,
//! `panic: `, `Exception in thread "…"`, `PHP Fatal error: `, Node's `/app/x.js:12`) starts
//! an event; indented lines, frames, `Caused by: `, chained-traceback separators and the
//! like continue it. Each decision is made from the first bytes of the line and the shape
//! of the event so far (what the runtime is and where in its trace the event is), so the
//! joiner reads a line once and keeps no more than one capped event.
//!
//! [`fingerprint`] reduces an event's text to a stable [`Fingerprint`]: for a stack trace the
//! exception types, the frames' files and functions without line numbers, and the masked
//! message of the exception it is titled after; for a single record, the masked message
//! without its timestamp and pid. Masking replaces numbers, UUIDs, hex ids, IP addresses and
//! ports, e-mail addresses, timestamps, long quoted text and temporary paths with
//! placeholders (`{n}`, `{uuid}`, `{hex}`, `{ip}`, `{email}`, `{ts}`, `{s}`, `{tmp}`), so
//! repeats group together and different failures do not.
//!
//! Shapes joined ([`AppEvent::kind`]):
//!
//! | kind | what |
//! |---|---|
//! | `log` | one record, with its unprefixed continuation lines |
//! | `python.traceback` | `Traceback (most recent call last):`, chained with `During handling …` / `The above exception …` |
//! | `java.exception` | `x.y.Exception: msg`, `\tat …`, `Caused by: …`, `\t... N more`, `Suppressed: …` |
//! | `go.panic` | `panic: …` / `fatal error: …` / `SIGQUIT: quit`, goroutines, `exit status 2`, and `http: panic serving …` |
//! | `go.goroutines` | a goroutine dump that no panic introduced |
//! | `node.error` | `Error: msg` with `    at …` frames, uncaught errors with their source line, unhandled rejections, `Node.js vN` |
//! | `ruby.exception` | Ruby logger and Rails traces (`X::Error (msg):`, `app/x.rb:12:in 'show'`), uncaught Ruby errors |
//! | `php.fatal` | `PHP Fatal error:  Uncaught …`, `Stack trace:`, `#0 …`, `  thrown in …`, also inside PHP-FPM's `said into stderr` lines |
//!
//! Record prefixes read: ISO 8601 / RFC 3339 (with `T` or a space, `.` or `,` fractions,
//! `Z`, `±HH:MM`, `±HHMM`, ` +0000`), Go's `2026/05/14 10:21:33`, Python logging, gunicorn
//! `[… +0000] [pid] [LEVEL]`, Ruby's `E, [… #pid] ERROR -- :`, PHP and PHP-FPM's
//! `[14-May-2026 10:21:33 UTC]`, uWSGI (`[pid: …]` and asctime), syslog (`May 14 10:21:33 host
//! prog[pid]:`, with or without `<PRI>`), klog (`E0514 10:21:33.123456`), kernel
//! (`[12345.678901]`), `LEVEL:` (Python's default format, uvicorn), logfmt and JSON lines.
//! Syslog and klog timestamps have no year: [`Joiner::with_year`] supplies one, and without
//! it their events have no time.
//!
//! Lines that a collector prefixes one by one (syslog, PHP-FPM's `child N said into
//! stderr: "…"`, `docker logs --timestamps`) still join when the prefixed text continues the
//! event and comes from the same source.
//!
//! nginx writes a FastCGI backend's stderr into its error log with the newlines raw, so a
//! PHP stack trace spreads over physical lines that have no nginx prefix
//! ([`is_continuation_of_error_log`]); joined back with `\n`, the whole error-log message can
//! be given to [`fingerprint`], which fingerprints the PHP part.
//!
//! ```
//! use faultline_formats::applog::{fingerprint, Joiner, Level};
//!
//! let log = "\
//! 2026-05-14 10:21:33,123 ERROR [app.orders] Exception on /api/orders/12 [GET]
//! Traceback (most recent call last):
//!   File \"/app/orders.py\", line 8, in show
//!     return db.load(order_id)
//! KeyError: 'customer_id'
//! 2026-05-14 10:21:34,001 INFO [app] ok";
//! let mut joiner = Joiner::new();
//! let mut events = Vec::new();
//! for (i, line) in log.lines().enumerate() {
//!     events.extend(joiner.push(i as u64 + 1, line.as_bytes()));
//! }
//! events.extend(joiner.finish());
//! assert_eq!(events.len(), 2);
//! assert_eq!((events[0].kind, events[0].lines), ("python.traceback", 5));
//! assert_eq!(events[0].level, Some(Level::Error));
//! assert_eq!(events[0].time.unwrap().1, None);
//! let fp = fingerprint(&events[0].text, events[0].kind);
//! assert_eq!(fp.title, "KeyError: 'customer_id'");
//! ```

mod fingerprint;
mod head;
mod joiner;
mod json;
mod mask;
mod shape;
mod stamp;

pub use fingerprint::{fingerprint, Fingerprint};
pub use joiner::Joiner;

/// One event of an application log: a record and the lines that continue it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppEvent {
    /// The 1-based number of the event's first physical line, as given to [`Joiner::push`].
    pub line: u64,
    /// Physical lines in the event, including those the caps left out of [`AppEvent::text`]
    /// (blank lines between events belong to none).
    pub lines: u32,
    /// The first line's timestamp: local seconds read as if UTC, and the offset east of UTC
    /// in seconds when the text has one (`Z` and `UTC` are `Some(0)`; epoch numbers too).
    pub time: Option<(i64, Option<i32>)>,
    /// The level the first line names, or the one the shape implies (an uncaught exception
    /// is an error, a Go panic and a PHP fatal error are fatal).
    pub level: Option<Level>,
    /// The shape: `log`, `python.traceback`, `java.exception`, `go.panic`, `go.goroutines`,
    /// `node.error`, `ruby.exception`, `php.fatal` (see the module table).
    pub kind: &'static str,
    /// The event's lines joined by `\n`, lossily decoded as UTF-8. It keeps at most about
    /// 16 KiB and 480 lines from the start, then the last 20 lines (each cut at 256 bytes);
    /// a line `[… N lines cut …]` stands for those left out between, and a line cut short
    /// ends with `[…]`.
    pub text: String,
}

/// A record's severity, in increasing order; syslog's `alert` and `emerg` and the words
/// `panic` and `fatal` are all [`Level::Fatal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Notice,
    Warn,
    Error,
    Critical,
    Fatal,
}

impl Level {
    /// `trace`, `debug`, `info`, `notice`, `warn`, `error`, `critical`, `fatal`.
    pub fn name(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Notice => "notice",
            Level::Warn => "warn",
            Level::Error => "error",
            Level::Critical => "critical",
            Level::Fatal => "fatal",
        }
    }

    /// A level word in any case: `ERROR`, `warning`, `Crit`, `SEVERE` (java.util.logging)…
    pub(crate) fn from_word(word: &[u8]) -> Option<Level> {
        if word.is_empty() || word.len() > 11 {
            return None;
        }
        let mut low = [0u8; 11];
        for (d, s) in low.iter_mut().zip(word) {
            *d = s.to_ascii_lowercase();
        }
        Some(match &low[..word.len()] {
            b"trace" | b"finest" | b"finer" => Level::Trace,
            b"debug" | b"fine" | b"dbug" => Level::Debug,
            b"info" | b"information" => Level::Info,
            b"notice" => Level::Notice,
            b"warn" | b"warning" => Level::Warn,
            b"error" | b"err" | b"severe" | b"eror" => Level::Error,
            b"crit" | b"critical" => Level::Critical,
            b"fatal" | b"alert" | b"emerg" | b"emergency" | b"panic" | b"dpanic" => Level::Fatal,
            _ => return None,
        })
    }
}

/// Whether a physical line of an nginx error log continues the previous line rather than
/// starting an entry: it does not open with nginx's `YYYY/MM/DD HH:MM:SS [` prefix.
///
/// nginx copies a FastCGI backend's stderr (`FastCGI sent in stderr: "PHP message: …"`) into
/// the error log without escaping its newlines, so a PHP stack trace arrives as the entry's
/// first line followed by lines such as `Stack trace:`, `#0 /var/www/…` and finally
/// `  thrown in … on line 12" while reading response header from upstream, client: …`.
/// Append each line for which this is true to the previous one with a `\n` before parsing
/// the entry, and pass the joined text to [`fingerprint`].
pub fn is_continuation_of_error_log(line: &[u8]) -> bool {
    !nginx_prefix(line)
}

/// `2024/03/12 08:13:25 [`.
fn nginx_prefix(b: &[u8]) -> bool {
    let digits = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18];
    b.len() >= 21
        && digits.iter().all(|&i| b[i].is_ascii_digit())
        && b[4] == b'/'
        && b[7] == b'/'
        && b[10] == b' '
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b' '
        && b[20] == b'['
}
