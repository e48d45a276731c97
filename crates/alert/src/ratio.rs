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

/// (requests, 5xx) per scope and key of one interval.
type Counts = BTreeMap<(Scope, String), (u64, u64)>;

/// (requests, 5xx) per scope and key, per interval.
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
    pub fn add(&mut self, start: Ms, scope: Scope, key: &str, requests: u64, errors: u64) {
        let e = self
            .intervals
            .entry(start)
            .or_default()
            .entry((scope, key.to_string()))
            .or_default();
        e.0 += requests;
        e.1 += errors;
    }

    /// Forgets intervals that ended before `before`.
    pub fn prune(&mut self, before: Ms) {
        let cut = before - self.width_ms;
        self.intervals = self.intervals.split_off(&cut);
    }

    /// (key, requests, 5xx) for every key of `by` in the intervals ending after `from`.
    pub fn window(&self, by: Scope, from: Ms) -> Vec<(String, u64, u64)> {
        let mut sums: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
        for (_, keys) in self.intervals.range(from - self.width_ms + 1..) {
            for ((scope, key), (r, e)) in keys {
                if *scope == by {
                    let s = sums.entry(key).or_default();
                    s.0 += r;
                    s.1 += e;
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

    #[test]
    fn a_window_sums_the_intervals_that_end_inside_it() {
        let mut r = Ratios::new(10_000);
        r.add(0, Scope::Route, "/a", 100, 1);
        r.add(10_000, Scope::Route, "/a", 100, 20);
        r.add(10_000, Scope::Host, "h", 200, 21);
        r.add(20_000, Scope::Route, "/a", 100, 30);
        assert_eq!(r.window(Scope::Route, 15_000), vec![("/a".into(), 200, 50)]);
        assert_eq!(r.window(Scope::Route, 0), vec![("/a".into(), 300, 51)]);
        assert_eq!(r.window(Scope::Host, 0), vec![("h".into(), 200, 21)]);
        r.prune(20_000);
        assert_eq!(r.window(Scope::Route, 0), vec![("/a".into(), 200, 50)]);
    }
}
