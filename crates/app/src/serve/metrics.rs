//! `/metrics`: what `serve` counts, in the Prometheus text format (or OpenMetrics).
//!
//! Counters run since the process started, as Prometheus expects (a restart resets them and
//! `rate()` copes). Label values are bounded: the first [`MAX_KEYS`] routes, hosts and
//! upstreams keep their own label; later ones are counted under `other`, so a scan of random
//! URLs cannot blow up the series count, and a series once exposed keeps its label.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use faultline_aggregate::{Codes, KeyStats, LatencySketch, Summary};
use faultline_alert::alert::{Alert, State};
use faultline_model::Cause;

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

/// The labels a configured rule's alerts carry: (`alertname`, `severity`).
pub type RuleLabels = (String, String);

/// The exposition. `rules` are the configured alert rules, shown at 0 while none of their
/// alerts is pending or firing.
pub fn render(
    c: &Counters,
    figures: &Figures,
    active: &[Alert],
    rules: &[RuleLabels],
    openmetrics: bool,
) -> String {
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
    open_incidents(&mut out, &c.open_incidents);
    alerts(&mut out, active, rules);
    self_metrics(&mut out, figures);
    if openmetrics {
        out.text.push_str("# EOF\n");
    }
    out.text
}

/// Open incidents by cause: every cause of the contract, at 0 when none is open, so a
/// series does not vanish when its incidents resolve (and `== 0` can be alerted on).
fn open_incidents(out: &mut Out, open: &BTreeMap<String, u64>) {
    out.family(
        "faultline_open_incidents",
        "gauge",
        "Incidents open now, by cause.",
    );
    let mut by_cause: BTreeMap<&str, u64> = Cause::ALL.iter().map(|c| (c.id(), 0)).collect();
    for (cause, n) in open {
        *by_cause.entry(cause).or_default() += n;
    }
    for (cause, n) in by_cause {
        out.sample("faultline_open_incidents", &[("cause", cause)], n as f64);
    }
}

/// Pending and firing alerts by rule: every configured rule in both states, at 0 when it
/// has no such alert.
fn alerts(out: &mut Out, active: &[Alert], rules: &[RuleLabels]) {
    out.family("faultline_alerts", "gauge", "Alerts pending or firing now.");
    let mut counts: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    for (name, severity) in rules {
        for state in [State::Pending, State::Firing] {
            let key = (state.as_str().to_string(), name.clone(), severity.clone());
            counts.insert(key, 0);
        }
    }
    for a in active {
        let l = |k: &str| a.labels.get(k).cloned().unwrap_or_default();
        *counts
            .entry((a.state.as_str().to_string(), l("alertname"), l("severity")))
            .or_default() += 1;
    }
    for ((state, name, sev), n) in &counts {
        out.sample(
            "faultline_alerts",
            &[("state", state), ("alertname", name), ("severity", sev)],
            *n as f64,
        );
    }
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
        let text = render(&c, &Figures::default(), &[], &[], false);
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
        let om = render(&c, &Figures::default(), &[], &[], true);
        assert!(om.ends_with("# EOF\n"));
        assert!(om.contains("# TYPE faultline_http_requests counter"));
    }

    #[test]
    fn every_cause_and_every_configured_rule_is_shown_at_zero_rather_than_missing() {
        let mut c = Counters::default();
        c.open_incidents.insert("upstream_down".into(), 2);
        let rules = [("incident".to_string(), "page".to_string())];
        let text = render(&c, &Figures::default(), &[], &rules, false);
        for cause in Cause::ALL {
            let want = if cause == Cause::UpstreamDown { 2 } else { 0 };
            let line = format!(
                "faultline_open_incidents{{cause=\"{}\"}} {want}\n",
                cause.id()
            );
            assert!(text.contains(&line), "{line}");
        }
        for state in ["pending", "firing"] {
            let line = format!(
                "faultline_alerts{{state=\"{state}\",alertname=\"incident\",severity=\"page\"}} 0\n"
            );
            assert!(text.contains(&line), "{line}");
        }
    }
}
