//! Evidence rules: the tells of the access log that are not a message. One rule per file,
//! registered in [`RULES`]; each names the causes it supports and why.

use faultline_aggregate::{StatusTells, Tells};
use faultline_model::Cause;

mod blind;
mod fixed_duration;
mod named;
mod no_upstream;
mod refused;
mod relayed;
mod reset;

/// What a rule reads: the incident's (or a candidate series') tells and its volume.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub tells: &'a Tells,
    /// Requests of the scope over the same span.
    pub requests: u64,
}

impl Facts<'_> {
    pub fn errors(&self) -> u64 {
        self.tells.errors()
    }

    /// Share of all 5xx that `n` lines are.
    pub fn share(&self, n: u64) -> f64 {
        let e = self.errors();
        if e == 0 {
            0.0
        } else {
            n as f64 / e as f64
        }
    }
}

/// One access-log tell backing a cause.
#[derive(Debug, Clone)]
pub struct Tell {
    pub status: u16,
    pub count: u64,
    /// What the lines show, e.g. `upstream_status=502, upstream_response_time≈0.000 s`.
    pub text: String,
}

/// A rule's verdict: a cause, how strongly the evidence supports it (0..1), why.
#[derive(Debug, Clone)]
pub struct Support {
    pub cause: Cause,
    pub score: f64,
    pub reason: String,
    pub tell: Option<Tell>,
    /// A learned fact worth quoting in the summary (e.g. the proxy's timeout).
    pub detail: Option<String>,
}

pub type Rule = fn(&Facts<'_>) -> Vec<Support>;

/// Every evidence rule, in the order their reasons are listed.
pub const RULES: &[(&str, Rule)] = &[
    ("blind", blind::rule),
    ("refused", refused::rule),
    ("fixed_duration", fixed_duration::rule),
    ("relayed", relayed::rule),
    ("named", named::rule),
    ("no_upstream", no_upstream::rule),
    ("reset", reset::rule),
];

/// Share of the 5xx that come from a format without upstream fields.
pub fn blind_share(f: &Facts<'_>) -> f64 {
    f.share(f.tells.by_status.iter().map(|(_, t)| t.blind).sum())
}

/// Formats µs as seconds the way nginx logs them.
pub fn secs(us: f64) -> String {
    format!("{:.3} s", us / 1e6)
}

/// Tells with attempts known (not from a format without upstream fields).
pub fn sighted(t: &StatusTells) -> u64 {
    t.count - t.blind
}

/// The median duration of a status' lines and whether nearly all of them sit within ±5 %
/// of it, i.e. whether a fixed timer ended them: (p10, p50, p90) in µs.
pub fn fixed_duration(t: &StatusTells) -> Option<(f64, f64, f64)> {
    if t.exact.len() < 3 {
        return None;
    }
    let mut d = t.exact.clone();
    d.sort_unstable();
    let at = |q: f64| d[((d.len() - 1) as f64 * q).round() as usize] as f64;
    let (p10, p50, p90) = (at(0.10), at(0.50), at(0.90));
    let fixed = p50 >= 500_000.0 && p10 >= p50 * 0.95 && p90 <= p50 * 1.05;
    fixed.then_some((p10, p50, p90))
}
