//! The API's views over stored data beyond the report: time series, top keys, inputs.

use std::collections::BTreeMap;

use faultline_aggregate::{KeyStats, Summary};
use faultline_serve::{AppError, Range, Scope};
use faultline_store::{KeyKind, Reader};
use rustc_hash::FxHashMap;
use serde_json::{json, Value};

use crate::serve::api::internal;

use crate::report::clean_text;
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
    let key = match scope {
        Scope::All => None,
        Scope::Host(h) => Some((KeyKind::Host, h)),
        Scope::Route(r) => Some((KeyKind::Route, r)),
        Scope::Upstream(u) => Some((KeyKind::Upstream, u)),
    };
    match key {
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

pub fn top(reader: &Reader, range: Range, by: &str, limit: usize) -> Result<Value, AppError> {
    let (from, to) = bounds(reader, range)?;
    let s: Summary = reader.summary(from, to).map_err(internal)?;
    let map = match by {
        "host" => &s.hosts,
        "upstream" => &s.upstreams,
        "method" => &s.methods,
        _ => &s.routes,
    };
    Ok(json!({"by": by, "from": from, "to": to, "items": rows(map, limit)}))
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
