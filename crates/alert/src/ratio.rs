//! 5xx ratios per scope over a sliding window, from the rollup intervals `serve` commits.
//! Intervals are kept by their event-time start; a window covers the intervals that end
//! after its start, so the newest (still filling) interval is not judged before it is cut.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Ms;

/// What a ratio is computed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    All,
    Host,
    Route,
    Upstream,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::All => "all",
            Scope::Host => "host",
            Scope::Route => "route",
            Scope::Upstream => "upstream",
        }
    }

    /// The label that carries the scope's value (`None` for all traffic).
    pub fn label(self) -> Option<&'static str> {
        match self {
            Scope::All => None,
            s => Some(s.as_str()),
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Some(match s {
            "all" => Scope::All,
            "host" => Scope::Host,
            "route" => Scope::Route,
            "upstream" => Scope::Upstream,
            _ => return None,
        })
    }
}

/// Requests, 5xx and the 5xx by code of one key in one interval.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub requests: u64,
    pub errors: u64,
    /// (code, count), ascending by code.
    pub codes: Vec<(u16, u64)>,
}

impl Tally {
    /// A tally whose 5xx are exactly those of `codes` ((code, count), ascending).
    pub fn from_codes(requests: u64, codes: Vec<(u16, u64)>) -> Tally {
        Tally {
            requests,
            errors: codes.iter().map(|(_, n)| n).sum(),
            codes,
        }
    }

    fn add(&mut self, other: &Tally) {
        self.requests += other.requests;
        self.errors += other.errors;
        for &(code, n) in &other.codes {
            match self.codes.binary_search_by_key(&code, |&(c, _)| c) {
                Ok(i) => self.codes[i].1 += n,
                Err(i) => self.codes.insert(i, (code, n)),
            }
        }
    }

    /// The 5xx among `codes`; every 5xx when `codes` is empty.
    pub fn errors_of(&self, codes: &[u16]) -> u64 {
        if codes.is_empty() {
            return self.errors;
        }
        self.codes
            .iter()
            .filter(|(c, _)| codes.contains(c))
            .map(|(_, n)| n)
            .sum()
    }
}

/// The tallies per scope and key of one interval.
type Counts = BTreeMap<(Scope, String), Tally>;

/// Requests and 5xx (in total and by code) per scope and key, per interval.
#[derive(Debug, Clone, Default)]
pub struct Ratios {
    width_ms: Ms,
    intervals: BTreeMap<Ms, Counts>,
}

impl Ratios {
    pub fn new(width_ms: Ms) -> Ratios {
        Ratios {
            width_ms,
            intervals: BTreeMap::new(),
        }
    }

    /// Adds the counts of one key in the interval starting at `start`.
    pub fn add(&mut self, start: Ms, scope: Scope, key: &str, tally: &Tally) {
        self.intervals
            .entry(start)
            .or_default()
            .entry((scope, key.to_string()))
            .or_default()
            .add(tally);
    }

    /// Forgets intervals that ended before `before`.
    pub fn prune(&mut self, before: Ms) {
        let cut = before - self.width_ms;
        self.intervals = self.intervals.split_off(&cut);
    }

    /// (key, requests, 5xx) for every key of `by` in the intervals ending after `from`,
    /// counting only the 5xx of `codes` (all of them when it is empty).
    pub fn window(&self, by: Scope, from: Ms, codes: &[u16]) -> Vec<(String, u64, u64)> {
        let mut sums: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        for (_, keys) in self.intervals.range(from - self.width_ms + 1..) {
            for ((scope, key), t) in keys {
                if *scope == by {
                    let s = sums.entry(key).or_default();
                    s.0 += t.requests;
                    s.1 += t.errors_of(codes);
                }
            }
        }
        sums.into_iter()
            .map(|(k, (r, e))| (k.to_string(), r, e))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tally(requests: u64, codes: &[(u16, u64)]) -> Tally {
        Tally::from_codes(requests, codes.to_vec())
    }

    #[test]
    fn a_window_sums_the_intervals_that_end_inside_it() {
        let mut r = Ratios::new(10_000);
        r.add(0, Scope::Route, "/a", &tally(100, &[(500, 1)]));
        r.add(10_000, Scope::Route, "/a", &tally(100, &[(502, 20)]));
        r.add(
            10_000,
            Scope::Host,
            "h",
            &tally(200, &[(500, 1), (502, 20)]),
        );
        r.add(20_000, Scope::Route, "/a", &tally(100, &[(502, 30)]));
        assert_eq!(
            r.window(Scope::Route, 15_000, &[]),
            vec![("/a".into(), 200, 50)]
        );
        assert_eq!(r.window(Scope::Route, 0, &[]), vec![("/a".into(), 300, 51)]);
        assert_eq!(r.window(Scope::Host, 0, &[]), vec![("h".into(), 200, 21)]);
        r.prune(20_000);
        assert_eq!(r.window(Scope::Route, 0, &[]), vec![("/a".into(), 200, 50)]);
    }

    #[test]
    fn codes_count_only_their_own_5xx() {
        let mut r = Ratios::new(10_000);
        r.add(0, Scope::Upstream, "u", &tally(100, &[(500, 7), (502, 3)]));
        r.add(0, Scope::Upstream, "u", &tally(100, &[(502, 2), (504, 1)]));
        assert_eq!(
            r.window(Scope::Upstream, 0, &[502]),
            vec![("u".into(), 200, 5)]
        );
        assert_eq!(
            r.window(Scope::Upstream, 0, &[502, 504]),
            vec![("u".into(), 200, 6)]
        );
        assert_eq!(
            r.window(Scope::Upstream, 0, &[503]),
            vec![("u".into(), 200, 0)]
        );
        assert_eq!(
            r.window(Scope::Upstream, 0, &[]),
            vec![("u".into(), 200, 13)]
        );
    }
}
