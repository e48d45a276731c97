//! Which kind and format the first lines of an input are.

use crate::{parse_nginx_error, AccessParser, Record, TimeCache};

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
    /// "nginx" for access and error logs, "text" for application logs.
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
/// `user` formats (from `--log-format`) are tried first, then the presets. The candidate that
/// parses the most sampled lines wins (ties: the one with more fields, then user formats
/// first). An access candidate is accepted if it parses at least half the non-empty sampled
/// lines; else the input is an nginx error log if at least half parse as one; else it is
/// [`Kind::App`] text. An empty sample is App text with `matched` 0.
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
    let presets = AccessParser::presets()
        .iter()
        .filter_map(|n| AccessParser::preset(n).ok());
    let mut best: Option<(usize, AccessParser)> = None;
    for candidate in user.iter().cloned().chain(presets) {
        let matched = count_access(&candidate, &sample);
        let better = best.as_ref().is_none_or(|(m, b)| {
            matched > *m || (matched == *m && candidate.field_count() > b.field_count())
        });
        if better {
            best = Some((matched, candidate));
        }
    }
    if let Some((matched, parser)) = best.filter(|(m, _)| at_least_half(*m, sampled)) {
        return Detection {
            kind: Kind::Access,
            format: parser.dialect().to_string(),
            access: Some(parser),
            matched,
            sampled,
        };
    }
    let errors = sample
        .iter()
        .filter(|l| parse_nginx_error(l).is_some())
        .count();
    if at_least_half(errors, sampled) {
        return Detection {
            kind: Kind::Error,
            format: "nginx".to_string(),
            access: None,
            matched: errors,
            sampled,
        };
    }
    text(sampled, sampled)
}

fn count_access(parser: &AccessParser, sample: &[&[u8]]) -> usize {
    let mut rec = Record::default();
    let mut cache = TimeCache::default();
    let mut matched = 0;
    for &line in sample {
        matched += usize::from(parser.parse(line, &mut rec, &mut cache).is_ok());
    }
    matched
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
