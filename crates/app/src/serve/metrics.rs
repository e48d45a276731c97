//! `/metrics`: what `serve` counts, in the Prometheus text format (or OpenMetrics).
//!
//! Counters run since the process started, as Prometheus expects (a restart resets them and
//! `rate()` copes). Label values are bounded: the first [`MAX_KEYS`] routes, hosts and
//! upstreams keep their own label; later ones are counted under `other`, so a scan of random
//! URLs cannot blow up the series count, and a series once exposed keeps its label.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use faultline_aggregate::{Codes, KeyStats, LatencySketch, Summary};
use faultline_alert::alert::Alert;

use crate::serve::telemetry::Figures;

/// Distinct label values per dimension before the rest fold into `other`.
pub const MAX_KEYS: usize = 200;
/// Histogram bounds in seconds.
const BOUNDS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Debug, Default, Clone)]
struct Key {
    requests: u64,
    codes: Codes,
    latency: LatencySketch,
}

/// Counts since start, per dimension.
#[derive(Debug, Default)]
pub struct Counters {
    by_code: BTreeMap<u16, u64>,
    /// route, host, upstream.
    dims: [BTreeMap<String, Key>; 3],
    /// Open incidents by cause, as of the last commit.
    pub open_incidents: BTreeMap<String, u64>,
}

fn add(map: &mut BTreeMap<String, Key>, name: &[u8], s: &KeyStats) {
    let mut name = String::from_utf8_lossy(name).into_owned();
    if !map.contains_key(&name) && map.len() >= MAX_KEYS {
        name = "other".into();
    }
    let k = map.entry(name).or_default();
    k.requests += s.requests;
    k.codes.merge(&s.codes_5xx);
    k.latency.merge(&s.latency);
}

impl Counters {
    /// Adds a commit's rollups.
    pub fn add(&mut self, buckets: &[(i64, Summary)]) {
        for (_, s) in buckets {
            for (code, n) in s.statuses() {
                *self.by_code.entry(code).or_default() += n;
            }
            for (i, map) in [&s.routes, &s.hosts, &s.upstreams].into_iter().enumerate() {
                for (k, st) in map {
                    add(&mut self.dims[i], k, st);
                }
            }
        }
    }
}

/// Escapes a label value (backslash, quote, newline).
fn esc(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

struct Out {
    text: String,
    open: bool,
}

impl Out {
    /// `# HELP` and `# TYPE` of a family; OpenMetrics names counters without `_total`.
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let base = if self.open && kind == "counter" {
            name.trim_end_matches("_total")
        } else {
            name
        };
        let _ = writeln!(self.text, "# HELP {base} {help}");
        let _ = writeln!(self.text, "# TYPE {base} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.text.push_str(name);
        if !labels.is_empty() {
            let inner: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", esc(v)))
                .collect();
            let _ = write!(self.text, "{{{}}}", inner.join(","));
        }
        let _ = writeln!(self.text, " {value}");
    }
}

fn histogram(out: &mut Out, name: &str, label: &str, map: &BTreeMap<String, Key>) {
    out.family(
        name,
        "histogram",
        "Request duration ($request_time) of the responses, by route template.",
    );
    for (key, k) in map.iter().filter(|(_, k)| k.latency.count() > 0) {
        for b in BOUNDS {
            let le = format!("{b}");
            let n = k.latency.count_at_most(b * 1e6);
            out.sample(
                &format!("{name}_bucket"),
                &[(label, key), ("le", &le)],
                n as f64,
            );
        }
        let total = k.latency.count() as f64;
        out.sample(
            &format!("{name}_bucket"),
            &[(label, key), ("le", "+Inf")],
            total,
        );
        out.sample(
            &format!("{name}_sum"),
            &[(label, key)],
            k.latency.sum_us() / 1e6,
        );
        out.sample(&format!("{name}_count"), &[(label, key)], total);
    }
}

/// The exposition.
pub fn render(c: &Counters, figures: &Figures, active: &[Alert], openmetrics: bool) -> String {
    let mut out = Out {
        text: String::new(),
        open: openmetrics,
    };
    out.family(
        "faultline_http_requests_total",
        "counter",
        "Responses read from access logs, by status code.",
    );
    for (code, n) in &c.by_code {
        out.sample(
            "faultline_http_requests_total",
            &[("code", &code.to_string())],
            *n as f64,
        );
    }
    for (i, dim) in ["route", "host", "upstream"].into_iter().enumerate() {
        let name = format!("faultline_{dim}_requests_total");
        out.family(
            &name,
            "counter",
            &format!("Responses by {dim} (at most {MAX_KEYS} values, then \"other\")."),
        );
        for (k, v) in &c.dims[i] {
            out.sample(&name, &[(dim, k)], v.requests as f64);
        }
        let name = format!("faultline_{dim}_server_errors_total");
        out.family(
            &name,
            "counter",
            &format!("5xx responses by {dim} and status code."),
        );
        for (k, v) in &c.dims[i] {
            for (code, n) in v.codes.iter() {
                out.sample(&name, &[(dim, k), ("code", &code.to_string())], n as f64);
            }
        }
    }
    histogram(
        &mut out,
        "faultline_http_request_duration_seconds",
        "route",
        &c.dims[0],
    );
    out.family(
        "faultline_open_incidents",
        "gauge",
        "Incidents open now, by cause.",
    );
    for (cause, n) in &c.open_incidents {
        out.sample("faultline_open_incidents", &[("cause", cause)], *n as f64);
    }
    out.family("faultline_alerts", "gauge", "Alerts pending or firing now.");
    let mut alerts: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    for a in active {
        let l = |k: &str| a.labels.get(k).cloned().unwrap_or_default();
        *alerts
            .entry((a.state.as_str().to_string(), l("alertname"), l("severity")))
            .or_default() += 1;
    }
    for ((state, name, sev), n) in &alerts {
        out.sample(
            "faultline_alerts",
            &[("state", state), ("alertname", name), ("severity", sev)],
            *n as f64,
        );
    }
    self_metrics(&mut out, figures);
    if openmetrics {
        out.text.push_str("# EOF\n");
    }
    out.text
}

fn self_metrics(out: &mut Out, f: &Figures) {
    type Get = fn(&crate::serve::telemetry::FileFigures) -> u64;
    let per_file: [(&str, &str, &str, Get); 3] = [
        (
            "faultline_input_lines_read_total",
            "counter",
            "Lines read per input file.",
            |x| x.lines_read,
        ),
        (
            "faultline_input_parse_errors_total",
            "counter",
            "Lines that could not be parsed, per input file.",
            |x| x.parse_errors,
        ),
        (
            "faultline_input_lag_bytes",
            "gauge",
            "Bytes written to an input file and not read yet.",
            |x| x.lag_bytes,
        ),
    ];
    for (name, kind, help, get) in per_file {
        out.family(name, kind, help);
        for (path, x) in &f.files {
            out.sample(name, &[("input", path)], get(x) as f64);
        }
    }
    out.family("faultline_commits_total", "counter", "Store commits.");
    out.sample("faultline_commits_total", &[], f.commits as f64);
    out.family(
        "faultline_commit_failures_total",
        "counter",
        "Store commits that failed.",
    );
    out.sample(
        "faultline_commit_failures_total",
        &[],
        f.commit_failures as f64,
    );
    out.family(
        "faultline_last_commit_seconds",
        "gauge",
        "How long the last commit took.",
    );
    out.sample(
        "faultline_last_commit_seconds",
        &[],
        f.last_commit_ms / 1000.0,
    );
    out.family(
        "faultline_store_bytes",
        "gauge",
        "Size of the state file and its WAL.",
    );
    out.sample("faultline_store_bytes", &[], f.store_bytes as f64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_beyond_the_cap_fold_into_other_and_values_are_escaped() {
        let mut c = Counters::default();
        let mut s = Summary {
            by_status: vec![0; 600],
            ..Summary::default()
        };
        s.by_status[502] = 3;
        for i in 0..MAX_KEYS + 5 {
            s.routes.insert(
                format!("/r{i}\"x").into_bytes().into_boxed_slice(),
                KeyStats {
                    requests: 1,
                    errors_5xx: 1,
                    codes_5xx: [(if i % 2 == 0 { 502 } else { 504 }, 1)]
                        .into_iter()
                        .collect(),
                    latency: LatencySketch::default(),
                },
            );
        }
        c.add(&[(0, s)]);
        assert_eq!(c.dims[0].len(), MAX_KEYS + 1);
        assert_eq!(c.dims[0]["other"].requests, 5);
        let text = render(&c, &Figures::default(), &[], false);
        assert!(text.contains("faultline_http_requests_total{code=\"502\"} 3"));
        assert!(text.contains("route=\"/r1\\\"x\""), "quotes are escaped");
        // The five folded routes keep their codes.
        let other: f64 = text
            .lines()
            .filter(|l| l.starts_with("faultline_route_server_errors_total{route=\"other\",code="))
            .map(|l| l.rsplit(' ').next().unwrap().parse::<f64>().unwrap())
            .sum();
        assert_eq!(other, 5.0);
        assert!(
            text.contains("faultline_route_server_errors_total{route=\"/r1\\\"x\",code=\"504\"} 1")
        );
        let om = render(&c, &Figures::default(), &[], true);
        assert!(om.ends_with("# EOF\n"));
        assert!(om.contains("# TYPE faultline_http_requests counter"));
    }
}
