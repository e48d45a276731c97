//! Which kind and format the first lines of an input are.

use crate::{parse_apache_error, parse_nginx_error, AccessParser, Record, TimeCache};

/// The kind of log an input holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Access log: one request per line.
    Access,
    /// Proxy error log (nginx `error_log`).
    Error,
    /// Anything else: application output, read as text.
    App,
}

/// What the first lines of an input are.
#[derive(Debug, Clone)]
pub struct Detection {
    pub kind: Kind,
    /// The dialect of an access log ("nginx", "apache", "json"), "nginx" for error logs,
    /// "text" for application logs.
    pub format: String,
    /// The access-log parser that won, for [`Kind::Access`].
    pub access: Option<AccessParser>,
    /// Sampled lines the chosen kind and format read.
    pub matched: usize,
    /// Non-empty sampled lines.
    pub sampled: usize,
}

/// Guesses what `lines` (the first lines of an input) are.
///
/// `user` formats (from `--log-format`) are tried first, then the presets: nginx ones, Apache
/// ones, and the JSON one when a sampled line starts with `{`. The candidate that parses the
/// most sampled lines wins. On a tie, a candidate of the same dialect wins with more fields;
/// one of another dialect wins only if it fills more record fields over the sample (Apache's
/// `%b` reads `-` as 0 bytes where nginx's `$body_bytes_sent` reads nothing, so Apache
/// `combined` lines with a `-` are `apache_combined`); else the earlier candidate stays. So
/// lines that nginx `combined` and Apache `combined` read alike are reported as nginx
/// `combined`, and user formats win ties with presets of other dialects.
///
/// An access candidate is accepted if it parses at least half the non-empty sampled lines
/// (or, when it is a user format or parses a quarter of them, more lines than parse as an
/// error log);
/// else the input is an nginx error log if at least half parse as one; else it is
/// [`Kind::App`] text. An empty sample is App text with `matched` 0. A JSON winner's
/// [`AccessParser::has_upstream`], [`AccessParser::has_timing`] and
/// [`AccessParser::field_count`] are narrowed to the fields the sample holds.
pub fn detect(lines: &[&[u8]], user: &[AccessParser]) -> Detection {
    let sample: Vec<&[u8]> = lines
        .iter()
        .map(|l| trim_eol(l))
        .filter(|l| !l.is_empty())
        .collect();
    let sampled = sample.len();
    if sampled == 0 {
        return text(0, 0);
    }
    let json = sample
        .iter()
        .any(|l| l.trim_ascii_start().starts_with(b"{"));
    let presets = AccessParser::canonical_presets()
        .filter(|n| json || *n != "json")
        .filter_map(|n| AccessParser::preset(n).ok());
    let mut best: Option<(Score, AccessParser)> = None;
    let mut best_is_user = false;
    for (i, mut candidate) in user.iter().cloned().chain(presets).enumerate() {
        if let Some(bits) = candidate.json_fields(&sample) {
            candidate.fit_json(bits);
        }
        let score = score(&candidate, &sample);
        let better = best.as_ref().is_none_or(|(s, b)| {
            score.matched > s.matched
                || (score.matched == s.matched
                    && if candidate.dialect() == b.dialect() {
                        candidate.field_count() > b.field_count()
                    } else {
                        score.filled > s.filled
                    })
        });
        if better {
            best = Some((score, candidate));
            best_is_user = i < user.len();
        }
    }
    let errors = sample
        .iter()
        .filter(|l| parse_nginx_error(l).is_some())
        .count();
    // Half the sample decides; a format the user named, or a quarter of the sample with
    // more matches than error-log lines, is enough when junk leads the file.
    let accepted = best.filter(|(s, _)| {
        at_least_half(s.matched, sampled)
            || (s.matched > 0 && s.matched > errors && (best_is_user || s.matched * 4 >= sampled))
    });
    if let Some((score, parser)) = accepted {
        return Detection {
            kind: Kind::Access,
            format: parser.dialect().to_string(),
            access: Some(parser),
            matched: score.matched,
            sampled,
        };
    }
    if error_log_like(&sample, errors, parse_nginx_error) {
        return Detection {
            kind: Kind::Error,
            format: "nginx".to_string(),
            access: None,
            matched: errors,
            sampled,
        };
    }
    let apache_errors = sample
        .iter()
        .filter(|l| parse_apache_error(l).is_some())
        .count();
    if error_log_like(&sample, apache_errors, parse_apache_error) {
        return Detection {
            kind: Kind::Error,
            format: "apache".to_string(),
            access: None,
            matched: apache_errors,
            sampled,
        };
    }
    text(sampled, sampled)
}

/// Whether the sample reads as an error log: at least half its lines are error-log lines or
/// lines continuing one (a stack trace that FastCGI sent, written with its newlines), and
/// error-log lines are not a mere sprinkle (one in twenty at least).
fn error_log_like<'a, T>(
    sample: &[&'a [u8]],
    parsed: usize,
    parse: impl Fn(&'a [u8]) -> Option<T>,
) -> bool {
    if parsed == 0 || parsed * 20 < sample.len() {
        return false;
    }
    let first = sample.iter().position(|l| parse(l).is_some()).unwrap_or(0);
    // Lines before the first event cannot continue one.
    at_least_half(parsed + (sample.len() - first - parsed), sample.len())
}

/// How well a candidate reads the sample.
#[derive(Debug, Clone, Copy)]
struct Score {
    /// Lines parsed.
    matched: usize,
    /// Record fields filled, summed over the lines parsed.
    filled: usize,
}

fn score(parser: &AccessParser, sample: &[&[u8]]) -> Score {
    let mut rec = Record::default();
    let mut cache = TimeCache::default();
    let mut s = Score {
        matched: 0,
        filled: 0,
    };
    for &line in sample {
        if parser.parse(line, &mut rec, &mut cache).is_ok() {
            s.matched += 1;
            s.filled += filled(&rec);
        }
    }
    s
}

/// Number of fields of `rec` that hold something.
fn filled(rec: &Record<'_>) -> usize {
    let bytes = [
        rec.method,
        rec.path,
        rec.protocol,
        rec.host,
        rec.remote_addr,
        rec.user_agent,
        rec.referer,
        rec.forwarded_for,
        rec.request_id,
        rec.upstream_addr,
        rec.upstream_status,
        rec.upstream_response_time,
        rec.upstream_connect_time,
        rec.upstream_header_time,
    ];
    let options = [rec.connection, rec.bytes_sent, rec.request_time_us];
    bytes.iter().filter(|b| !b.is_empty()).count()
        + options.iter().filter(|o| o.is_some()).count()
        + usize::from(rec.time.is_some())
        + usize::from(rec.status != 0)
}

fn at_least_half(matched: usize, sampled: usize) -> bool {
    matched > 0 && matched * 2 >= sampled
}

fn text(matched: usize, sampled: usize) -> Detection {
    Detection {
        kind: Kind::App,
        format: "text".to_string(),
        access: None,
        matched,
        sampled,
    }
}

/// Callers strip line ends; a sample cut from a file may still carry them.
fn trim_eol(l: &[u8]) -> &[u8] {
    let l = l.strip_suffix(b"\n").unwrap_or(l);
    l.strip_suffix(b"\r").unwrap_or(l)
}
