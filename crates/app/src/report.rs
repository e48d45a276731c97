//! The report document of the contract (`contract/report.md`, version 1), built from the
//! engine's outcome. The same structs serialise to JSON and feed the terminal renderer.

use std::collections::BTreeMap;

use faultline_aggregate::{KeyStats, Summary, Timeline};
use faultline_detect::{Degraded, Incident};
use faultline_diagnose::{diagnose, Catalog, Diagnosis, Joined, LogEvidence, Names};
use faultline_model::{format_rfc3339, StatusClass};
use serde::Serialize;

/// Rows kept in `top.routes` and `top.upstreams`.
pub const TOP_ROWS: usize = 20;

/// Error- and application-log events grouped by fingerprint.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorGroupReport {
    pub fingerprint: String,
    pub kind: &'static str,
    /// The fingerprint's text: the message with numbers, ids and addresses masked.
    pub title: String,
    pub count: u64,
    pub first_seen: String,
    pub last_seen: String,
    pub sample: String,
    pub source: String,
    pub line: u64,
    /// The catalog entry the events match.
    pub signature: Option<String>,
    /// First seen after the log's first minutes: it appeared during the window.
    pub new: bool,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub version: u32,
    pub generated_at: String,
    pub window: Window,
    pub assumptions: Vec<String>,
    pub inputs: Vec<InputReport>,
    pub totals: Totals,
    pub incidents: Vec<IncidentReport>,
    pub findings: Vec<Finding>,
    pub error_groups: Vec<ErrorGroupReport>,
    pub top: Top,
    pub timeline: TimelineReport,
}

#[derive(Debug, Serialize)]
pub struct Window {
    pub start: Option<String>,
    pub end: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct MalformedSample {
    pub line: u64,
    pub reason: String,
    pub text: String,
}

#[derive(Debug, Serialize)]
pub struct InputReport {
    pub path: String,
    pub kind: &'static str,
    pub format: Option<String>,
    /// The preset or `custom` log format that matched (access logs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<String>,
    pub lines: u64,
    pub parsed: u64,
    /// Parsed lines the filters left out (an addition to the contract's fields).
    pub filtered: u64,
    pub malformed: u64,
    pub malformed_samples: Vec<MalformedSample>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Totals {
    pub requests: u64,
    pub by_status: BTreeMap<String, u64>,
    pub by_class: BTreeMap<String, u64>,
    pub server_error_rate: f64,
}

#[derive(Debug, Serialize)]
pub struct Scope {
    pub hosts: Vec<String>,
    pub routes: Vec<String>,
    pub upstreams: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct EvidenceReport {
    pub source: String,
    pub line: u64,
    pub count: u64,
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// The first matching raw line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Alternative {
    pub cause: &'static str,
    pub confidence: f64,
}

#[derive(Debug, Serialize)]
pub struct DiagnosisReport {
    pub cause: &'static str,
    pub category: &'static str,
    pub confidence: f64,
    pub summary: String,
    pub reasons: Vec<String>,
    pub evidence: Vec<EvidenceReport>,
    pub remediation: Vec<String>,
    pub alternatives: Vec<Alternative>,
}

#[derive(Debug, Serialize)]
pub struct IncidentReport {
    pub id: String,
    pub state: &'static str,
    pub start: String,
    pub end: String,
    pub requests: u64,
    pub errors: u64,
    pub status: BTreeMap<String, u64>,
    pub scope: Scope,
    pub diagnosis: DiagnosisReport,
}

#[derive(Debug, Serialize)]
pub struct Finding {
    pub kind: &'static str,
    pub start: Option<String>,
    pub end: Option<String>,
    pub scope: Scope,
    pub summary: String,
    pub evidence: Vec<EvidenceReport>,
}

#[derive(Debug, Serialize)]
pub struct RouteRow {
    pub route: String,
    pub requests: u64,
    pub errors_5xx: u64,
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct UpstreamRow {
    pub upstream: String,
    pub requests: u64,
    pub errors_5xx: u64,
    pub p50_ms: Option<f64>,
    pub p90_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct CountRow {
    pub name: String,
    pub requests: u64,
    pub errors_5xx: u64,
}

#[derive(Debug, Serialize)]
pub struct Top {
    pub routes: Vec<RouteRow>,
    pub upstreams: Vec<UpstreamRow>,
    pub hosts: Vec<CountRow>,
    pub methods: Vec<CountRow>,
}

/// Requests and 5xx over time (an addition to the contract's fields).
#[derive(Debug, Serialize)]
pub struct TimelineReport {
    pub bucket_secs: i64,
    pub buckets: Vec<TimelineBucket>,
}

#[derive(Debug, Serialize)]
pub struct TimelineBucket {
    pub start: String,
    pub requests: u64,
    pub errors_5xx: u64,
    pub by_code: BTreeMap<String, u64>,
}

/// Text from a log, made safe for JSON consumers and terminals alike: valid UTF-8 with
/// control characters written as `\xHH`.
pub fn clean_text(raw: &[u8]) -> String {
    let lossy = String::from_utf8_lossy(raw);
    let mut s = String::with_capacity(lossy.len());
    for ch in lossy.chars() {
        if ch.is_control() {
            s.push_str(&format!("\\x{:02X}", ch as u32 & 0xff));
        } else {
            s.push(ch);
        }
    }
    s
}

fn text(raw: &[u8]) -> String {
    clean_text(raw)
}

pub fn totals(summary: &Summary) -> Totals {
    let mut by_status = BTreeMap::new();
    let mut by_class: BTreeMap<String, u64> = BTreeMap::new();
    for (status, count) in summary.statuses() {
        by_status.insert(format!("{status:03}"), count);
        let class = StatusClass::of(status).map_or("other", |c| c.label());
        *by_class.entry(class.to_string()).or_default() += count;
    }
    let requests = summary.requests();
    let errors = by_class.get("5xx").copied().unwrap_or(0);
    Totals {
        requests,
        by_status,
        by_class,
        server_error_rate: error_rate(errors, requests),
    }
}

/// The share of `requests` that were 5xx, rounded to six decimals as the contract shows it.
pub fn error_rate(errors: u64, requests: u64) -> f64 {
    if requests == 0 {
        return 0.0;
    }
    (errors as f64 / requests as f64 * 1e6).round() / 1e6
}

fn sorted_rows(map: &rustc_hash::FxHashMap<Box<[u8]>, KeyStats>) -> Vec<(&[u8], &KeyStats)> {
    let mut rows: Vec<(&[u8], &KeyStats)> = map.iter().map(|(k, v)| (&**k, v)).collect();
    rows.sort_by(|a, b| {
        b.1.errors_5xx
            .cmp(&a.1.errors_5xx)
            .then(b.1.requests.cmp(&a.1.requests))
            .then(a.0.cmp(b.0))
    });
    rows
}

/// The top keys of a table with their latency percentiles, built by `row`.
fn latency_rows<R>(
    map: &rustc_hash::FxHashMap<Box<[u8]>, KeyStats>,
    row: impl Fn(String, u64, u64, [Option<f64>; 3]) -> R,
) -> Vec<R> {
    sorted_rows(map)
        .into_iter()
        .filter(|(k, _)| !k.is_empty())
        .take(TOP_ROWS)
        .map(|(k, s)| {
            let q = |p| s.latency.quantile_ms(p);
            row(text(k), s.requests, s.errors_5xx, [q(0.5), q(0.9), q(0.99)])
        })
        .collect()
}

pub fn top(summary: &Summary) -> Top {
    let routes = latency_rows(
        &summary.routes,
        |route, requests, errors_5xx, [p50_ms, p90_ms, p99_ms]| RouteRow {
            route,
            requests,
            errors_5xx,
            p50_ms,
            p90_ms,
            p99_ms,
        },
    );
    let upstreams = latency_rows(
        &summary.upstreams,
        |upstream, requests, errors_5xx, [p50_ms, p90_ms, p99_ms]| UpstreamRow {
            upstream,
            requests,
            errors_5xx,
            p50_ms,
            p90_ms,
            p99_ms,
        },
    );
    let counts = |m| {
        sorted_rows(m)
            .into_iter()
            .take(TOP_ROWS)
            .map(|(k, s)| CountRow {
                name: text(k),
                requests: s.requests,
                errors_5xx: s.errors_5xx,
            })
            .collect()
    };
    Top {
        routes,
        upstreams,
        hosts: counts(&summary.hosts),
        methods: counts(&summary.methods),
    }
}

fn fnv1a(data: &str) -> u32 {
    data.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ b as u32).wrapping_mul(0x0100_0193)
    })
}

/// `inc-` + UTC start + 8 hex digits of a hash of cause and scope.
pub fn incident_id(start: i64, cause: &str, scope: &Scope) -> String {
    let utc = format_rfc3339(start, 0);
    let compact: String = utc[..19]
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect();
    let key = format!(
        "{cause}|{}|{}|{}",
        scope.hosts.join(","),
        scope.routes.join(","),
        scope.upstreams.join(",")
    );
    format!("inc-{compact}-{:08x}", fnv1a(&key))
}

fn dedup_sorted(v: impl Iterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = v.filter(|s| !s.is_empty()).collect();
    out.sort();
    out.dedup();
    out
}

pub fn scope_of(inc: &Incident, share: f64) -> Scope {
    let members = inc.scope_members(share);
    Scope {
        hosts: dedup_sorted(members.iter().map(|m| text(&m.key.host))),
        routes: dedup_sorted(members.iter().map(|m| text(&m.key.route))),
        upstreams: dedup_sorted(members.iter().map(|m| text(&m.key.upstream))),
    }
}

pub fn evidence_of(d: &Diagnosis, sources: &[String]) -> Vec<EvidenceReport> {
    d.evidence
        .iter()
        .map(|e| EvidenceReport {
            source: sources
                .get(e.at.input as usize)
                .cloned()
                .unwrap_or_default(),
            line: e.at.line,
            count: e.count,
            text: e.text.clone(),
            signature: e.signature.clone(),
            sample: e.sample.as_deref().map(text),
        })
        .collect()
}

pub fn incident_report(
    inc: &Incident,
    share: f64,
    sources: &[String],
    logs: Option<LogEvidence<'_>>,
) -> IncidentReport {
    let scope = scope_of(inc, share);
    let names = Names {
        upstreams: scope.upstreams.join(", "),
        hosts: scope.hosts.join(", "),
        routes: scope.routes.join(", "),
        detail: None,
    };
    let d = diagnose(inc, names, logs);
    let id = incident_id(inc.start, d.cause.id(), &scope);
    IncidentReport {
        id,
        state: if inc.open { "open" } else { "resolved" },
        start: format_rfc3339(inc.start, inc.start_offset),
        end: format_rfc3339(inc.end, inc.end_offset),
        // The scope's requests over the incident, whichever upstream answered them.
        requests: inc.context_requests.max(inc.requests),
        errors: inc.errors,
        status: inc
            .status
            .iter()
            .map(|(s, c)| (format!("{s:03}"), *c))
            .collect(),
        scope,
        diagnosis: DiagnosisReport {
            cause: d.cause.id(),
            category: d.cause.category().id(),
            confidence: d.confidence,
            summary: d.summary.clone(),
            reasons: d.reasons.clone(),
            evidence: evidence_of(&d, sources),
            remediation: d.remediation.clone(),
            alternatives: d
                .alternatives
                .iter()
                .map(|(c, x)| Alternative {
                    cause: c.id(),
                    confidence: *x,
                })
                .collect(),
        },
    }
}

pub fn degraded_finding(
    d: &Degraded,
    offset: i32,
    sources: &[String],
    logs: Option<(&Catalog, &Joined)>,
) -> Finding {
    let up = text(&d.upstream);
    let statuses: Vec<String> = d
        .failed_status
        .iter()
        .map(|(s, c)| format!("{c}× {s:03}"))
        .collect();
    Finding {
        kind: "degraded_upstream",
        start: Some(format_rfc3339(d.start, offset)),
        end: Some(format_rfc3339(d.end, offset)),
        scope: Scope {
            hosts: dedup_sorted(d.hosts.iter().map(|h| text(h))),
            routes: dedup_sorted(d.routes.iter().map(|r| text(r))),
            upstreams: vec![up.clone()],
        },
        summary: format!(
            "{} requests failed on {up} ({}) and were retried on another server: clients did not see it, but the server is failing",
            d.count,
            statuses.join(", ")
        ),
        evidence: {
            let mut ev = vec![EvidenceReport {
                source: sources.get(d.first.input as usize).cloned().unwrap_or_default(),
                line: d.first.line,
                count: d.count,
                text: "upstream_status lists a failed attempt before the answer (e.g. 502, 200)"
                    .into(),
                signature: None,
                sample: d.sample.as_deref().map(text),
            }];
            if let Some((catalog, joined)) = logs {
                for (sig, n, _) in joined.by_signature().into_iter().take(3) {
                    if let Some(g) = joined.groups.iter().find(|g| g.signature == Some(sig)) {
                        ev.push(EvidenceReport {
                            source: sources.get(g.source as usize).cloned().unwrap_or_default(),
                            line: g.line,
                            count: n,
                            text: g.text.clone(),
                            signature: Some(catalog.get(sig).id.clone()),
                            sample: None,
                        });
                    }
                }
            }
            ev
        },
    }
}

pub fn timeline_report(t: &Timeline, offset: i32) -> TimelineReport {
    const CODES: [&str; 5] = ["500", "502", "503", "504", "5xx_other"];
    TimelineReport {
        bucket_secs: t.width_secs(),
        buckets: t
            .buckets()
            .map(|(start, b)| TimelineBucket {
                start: format_rfc3339(start, offset),
                requests: b.requests,
                errors_5xx: b.errors_5xx,
                by_code: CODES
                    .iter()
                    .zip(b.by_code)
                    .filter(|(_, c)| *c > 0)
                    .map(|(k, c)| (k.to_string(), c))
                    .collect(),
            })
            .collect(),
    }
}

/// Error groups that appeared during the window (not there from its start), with at least
/// this many events, become `new_error_group` findings.
const NEW_GROUP_MIN_EVENTS: u64 = 3;
const NEW_GROUP_FINDINGS: usize = 20;

pub fn new_group_findings(groups: &[ErrorGroupReport], cited: &[String]) -> Vec<Finding> {
    let mut v: Vec<&ErrorGroupReport> = groups
        .iter()
        .filter(|g| g.new && g.count >= NEW_GROUP_MIN_EVENTS && !cited.contains(&g.fingerprint))
        .collect();
    v.sort_by(|a, b| a.first_seen.cmp(&b.first_seen));
    v.into_iter()
        .take(NEW_GROUP_FINDINGS)
        .map(|g| Finding {
            kind: "new_error_group",
            start: Some(g.first_seen.clone()),
            end: Some(g.last_seen.clone()),
            scope: Scope {
                hosts: vec![],
                routes: vec![],
                upstreams: vec![],
            },
            summary: format!(
                "a new kind of {} event appeared: {} ({} times)",
                g.kind, g.title, g.count
            ),
            evidence: vec![EvidenceReport {
                source: g.source.clone(),
                line: g.line,
                count: g.count,
                text: g.title.clone(),
                signature: g.signature.clone(),
                sample: Some(g.sample.clone()),
            }],
        })
        .collect()
}

/// An incident that began inside a declared maintenance window: its 503s were planned.
/// With 503s among its errors the cause becomes `maintenance` (the former cause stays as
/// an alternative); otherwise the window is only named in the reasons. The id follows the
/// cause, as everywhere.
pub fn planned(rep: &mut IncidentReport, window: &str, start: i64) {
    let d = &mut rep.diagnosis;
    let has_503 = rep.status.contains_key("503");
    if !has_503 || d.cause == "maintenance" {
        d.reasons
            .push(format!("it began inside the maintenance window {window:?}"));
        return;
    }
    let share = rep.status.get("503").copied().unwrap_or(0) as f64 / rep.errors.max(1) as f64;
    d.alternatives.insert(
        0,
        Alternative {
            cause: d.cause,
            confidence: d.confidence,
        },
    );
    d.alternatives.truncate(3);
    d.cause = "maintenance";
    d.category = "maintenance";
    d.confidence = (0.6 + 0.35 * share).min(0.95);
    d.summary = format!("503s inside the maintenance window {window:?}: planned, not a failure");
    d.reasons.insert(
        0,
        format!(
            "it began inside the maintenance window {window:?} declared in the config, and {:.0} % of its errors are 503s",
            share * 100.0
        ),
    );
    d.remediation = vec![
        "nothing to do if the work is on schedule; if it should be over, check that the service was brought back".into(),
    ];
    rep.id = incident_id(start, d.cause, &rep.scope);
}
