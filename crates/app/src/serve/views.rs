//! The API's views over stored data beyond the report: time series, top keys, inputs.

use std::collections::BTreeMap;

use faultline_aggregate::{KeyMap, KeyStats, Summary, Timeline};
use faultline_serve::{AppError, IncidentFilter, Range, Scope};
use faultline_store::{KeyKind, KeyPoint, Reader, StatusCount};
use rustc_hash::FxHashMap;
use serde_json::{json, Value};

use crate::serve::api::internal;

use crate::report::{clean_text, Totals};
use crate::serve::telemetry::Figures;

/// The stored span when a range end is open.
pub fn bounds(reader: &Reader, range: Range) -> Result<(i64, i64), AppError> {
    let span = reader.span().map_err(internal)?;
    let from = range.from.or(span.map(|s| s.0)).unwrap_or(0);
    let to = range.to.or(span.map(|s| s.1 + 1)).unwrap_or(0);
    Ok((from, to))
}

/// The most points a series answers with: a coarser step is chosen beyond it.
const MAX_POINTS: i64 = 2000;

pub fn series(
    reader: &Reader,
    range: Range,
    step: Option<i64>,
    scope: &Scope,
) -> Result<Value, AppError> {
    let (from, to) = bounds(reader, range)?;
    let res = reader.tier_for(from).map_err(internal)?.res_secs;
    let span = (to - from).max(1);
    let want = step.unwrap_or(res).max(res);
    // A whole multiple of the stored resolution, and not more points than a chart can use.
    let mut step = (want + res - 1) / res * res;
    while span / step > MAX_POINTS {
        step *= 2;
    }
    let start = from.div_euclid(step) * step;
    let mut points: BTreeMap<i64, (u64, u64, BTreeMap<String, u64>)> = BTreeMap::new();
    let mut t = start;
    while t < to {
        points.insert(t, Default::default());
        t += step;
    }
    let slot = |b: i64| b.div_euclid(step) * step;
    match scope_key(scope) {
        None => {
            let (_, rows) = reader.timeline(from, to).map_err(internal)?;
            for (bucket, status, n) in rows {
                let p = points.entry(slot(bucket)).or_default();
                p.0 += n;
                if (500..600).contains(&status) {
                    p.1 += n;
                    *p.2.entry(format!("{status:03}")).or_default() += n;
                }
            }
        }
        Some((kind, name)) => {
            let (_, rows) = reader
                .key_timeline(from, to, kind, name)
                .map_err(internal)?;
            for kp in rows {
                let p = points.entry(slot(kp.bucket)).or_default();
                p.0 += kp.requests;
                p.1 += kp.errors_5xx;
                for (code, n) in kp.codes_5xx.iter() {
                    *p.2.entry(format!("{code:03}")).or_default() += n;
                }
            }
        }
    }
    let list: Vec<Value> = points
        .into_iter()
        .map(|(t, (requests, errors, by_code))| {
            json!({"t": t, "requests": requests, "errors_5xx": errors, "by_code": by_code})
        })
        .collect();
    Ok(json!({"step": step, "from": from, "to": to, "points": list}))
}

fn rows(map: &FxHashMap<Box<[u8]>, KeyStats>, limit: usize) -> Vec<Value> {
    let mut v: Vec<(&Box<[u8]>, &KeyStats)> = map.iter().collect();
    // The failing first, then the busiest; names break ties so the order is stable.
    v.sort_by(|a, b| {
        b.1.errors_5xx
            .cmp(&a.1.errors_5xx)
            .then(b.1.requests.cmp(&a.1.requests))
            .then(a.0.cmp(b.0))
    });
    v.into_iter()
        .take(limit)
        .map(|(k, s)| {
            json!({
                "name": clean_text(k),
                "requests": s.requests,
                "errors_5xx": s.errors_5xx,
                "by_code": s.codes_5xx.iter().map(|(c, n)| (format!("{c:03}"), n))
                    .collect::<BTreeMap<_, _>>(),
                "p50_ms": s.latency.quantile_ms(0.5),
                "p99_ms": s.latency.quantile_ms(0.99),
            })
        })
        .collect()
}

/// The top keys of a kind; with a scope (of the same kind: the edge checks it), its row.
pub fn top(
    reader: &Reader,
    range: Range,
    by: &str,
    limit: usize,
    scope: &Scope,
) -> Result<Value, AppError> {
    let (from, to) = bounds(reader, range)?;
    let mut s: Summary = reader.summary(from, to).map_err(internal)?;
    if let Some((kind, name)) = scope_key(scope) {
        s = narrow(s, kind, name).0;
    }
    let map = match by {
        "host" => &s.hosts,
        "upstream" => &s.upstreams,
        "method" => &s.methods,
        _ => &s.routes,
    };
    Ok(json!({"by": by, "from": from, "to": to, "items": rows(map, limit)}))
}

/// The stored key a scope narrows to.
pub fn scope_key(scope: &Scope) -> Option<(KeyKind, &str)> {
    match scope {
        Scope::All => None,
        Scope::Host(h) => Some((KeyKind::Host, h)),
        Scope::Route(r) => Some((KeyKind::Route, r)),
        Scope::Upstream(u) => Some((KeyKind::Upstream, u)),
    }
}

/// The incidents and findings of a scope: those whose scope names its key.
pub fn scope_filter(scope: &Scope) -> IncidentFilter {
    let mut f = IncidentFilter::default();
    match scope {
        Scope::All => {}
        Scope::Host(h) => f.host = Some(h.clone()),
        Scope::Route(r) => f.route = Some(r.clone()),
        Scope::Upstream(u) => f.upstream = Some(u.clone()),
    }
    f
}

/// What a scoped report says of itself, among its `assumptions`.
pub fn scope_assumption(scope: &Scope) -> Option<String> {
    let (kind, name) = (scope.kind()?, scope.name()?);
    Some(format!(
        "narrowed to {kind} {name:?}: totals count its requests and its 5xx by status code \
         (the rollups keep no other status per {kind}), top lists only that {kind}, incidents \
         and findings are those whose scope names it; error groups are not narrowed (they \
         name no host, route or upstream)"
    ))
}

/// Requests and 5xx by code per bucket of all traffic, as the report's timeline.
pub fn status_timeline(res: i64, rows: &[StatusCount]) -> Timeline {
    let mut timeline = Timeline::new(res, 1440);
    for &(bucket, status, n) in rows {
        let is_5xx = (500..600).contains(&status);
        timeline.add_requests(bucket, n, if is_5xx { n } else { 0 });
        if is_5xx {
            timeline.add_codes(bucket, status, n);
        }
    }
    timeline
}

/// The same of one key.
pub fn key_timeline(res: i64, rows: &[KeyPoint]) -> Timeline {
    let mut timeline = Timeline::new(res, 1440);
    for p in rows {
        timeline.add_requests(p.bucket, p.requests, p.errors_5xx);
        for (code, n) in p.codes_5xx.iter() {
            timeline.add_codes(p.bucket, code, n);
        }
    }
    timeline
}

fn map_of(s: &mut Summary, kind: KeyKind) -> &mut KeyMap {
    match kind {
        KeyKind::Route => &mut s.routes,
        KeyKind::Host => &mut s.hosts,
        KeyKind::Upstream => &mut s.upstreams,
        KeyKind::Method => &mut s.methods,
    }
}

/// A summary of one key and its totals: its own row, every other table empty (the rollups
/// do not cross host, route and upstream), and its requests with its 5xx by code (no other
/// status is kept per key).
pub fn narrow(mut all: Summary, kind: KeyKind, name: &str) -> (Summary, Totals) {
    let stats: KeyStats = map_of(&mut all, kind)
        .remove(name.as_bytes())
        .unwrap_or_default();
    let by_status: BTreeMap<String, u64> = stats
        .codes_5xx
        .iter()
        .map(|(c, n)| (format!("{c:03}"), n))
        .collect();
    let by_class: BTreeMap<String, u64> = (stats.errors_5xx > 0)
        .then(|| ("5xx".to_string(), stats.errors_5xx))
        .into_iter()
        .collect();
    let totals = Totals {
        requests: stats.requests,
        by_status,
        by_class,
        server_error_rate: crate::report::error_rate(stats.errors_5xx, stats.requests),
    };
    let mut one = Summary::default();
    if stats.requests > 0 {
        map_of(&mut one, kind).insert(name.as_bytes().into(), stats);
    }
    (one, totals)
}

/// The stored inputs with the lag the daemon measured.
pub fn inputs(reader: &Reader, figures: &Figures) -> Result<Value, AppError> {
    let list: Vec<Value> = reader
        .inputs()
        .map_err(internal)?
        .iter()
        .map(|r| {
            let mut v: Value = serde_json::from_str(&r.body).unwrap_or(Value::Null);
            if let Some(o) = v.as_object_mut() {
                o.remove("next_line");
                o.remove("malformed_samples");
                let lag = figures.files.get(&r.path).map_or(0, |f| f.lag_bytes);
                o.insert("lag_bytes".into(), lag.into());
            }
            v
        })
        .collect();
    Ok(json!({ "inputs": list }))
}
