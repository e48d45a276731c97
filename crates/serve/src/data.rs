//! The data routes beyond the report: incidents with filters, time series, top keys, error
//! groups, inputs, live updates (server-sent events) and the Prometheus exposition.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

use crate::extract::Query;
use crate::{blocking, parse_time, AppError, Range, Shared};

/// Which incidents to list; every field given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct IncidentFilter {
    /// `open` or `resolved`.
    pub state: Option<String>,
    /// An HTTP status among the incident's errors (`502`).
    pub code: Option<String>,
    pub cause: Option<String>,
    pub host: Option<String>,
    pub route: Option<String>,
    pub upstream: Option<String>,
}

impl IncidentFilter {
    /// Whether an incident (the contract's object) passes.
    pub fn keeps(&self, inc: &Value) -> bool {
        let has = |list: &str, want: &Option<String>| {
            want.as_ref().is_none_or(|w| {
                inc["scope"][list]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|v| v.as_str() == Some(w.as_str())))
            })
        };
        self.state
            .as_ref()
            .is_none_or(|s| inc["state"] == s.as_str())
            && self
                .cause
                .as_ref()
                .is_none_or(|c| inc["diagnosis"]["cause"] == c.as_str())
            && self.code.as_ref().is_none_or(|c| {
                inc["status"].as_object().is_some_and(|m| {
                    m.keys()
                        .any(|k| k.trim_start_matches('0') == c.trim_start_matches('0'))
                })
            })
            && has("hosts", &self.host)
            && has("routes", &self.route)
            && has("upstreams", &self.upstream)
    }
}

/// One key to narrow a report, a time series or the top keys to. The stored rollups count
/// host, route and upstream each on its own, so there is no scope of two keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Host(String),
    Route(String),
    Upstream(String),
}

impl Scope {
    /// The scope of a query's `host`, `route` and `upstream` (an empty one is not given);
    /// more than one is a 400 that names them.
    pub(crate) fn of(
        host: Option<String>,
        route: Option<String>,
        upstream: Option<String>,
    ) -> Result<Scope, AppError> {
        let given = |v: Option<String>| v.filter(|v| !v.is_empty());
        match (given(host), given(route), given(upstream)) {
            (None, None, None) => Ok(Scope::All),
            (Some(h), None, None) => Ok(Scope::Host(h)),
            (None, Some(r), None) => Ok(Scope::Route(r)),
            (None, None, Some(u)) => Ok(Scope::Upstream(u)),
            (h, r, u) => {
                let names: Vec<&str> = [("host=", h), ("route=", r), ("upstream=", u)]
                    .into_iter()
                    .filter_map(|(k, v)| v.map(|_| k))
                    .collect();
                Err(AppError::BadRequest(format!(
                    "{} together: the stored rollups count host, route and upstream each on \
                     its own, so report, series and top narrow to one of them (incidents take \
                     any combination)",
                    names.join(" and ")
                )))
            }
        }
    }

    /// `host`, `route` or `upstream`; `None` for everything.
    pub fn kind(&self) -> Option<&'static str> {
        match self {
            Scope::All => None,
            Scope::Host(_) => Some("host"),
            Scope::Route(_) => Some("route"),
            Scope::Upstream(_) => Some("upstream"),
        }
    }

    /// The key's name; `None` for everything.
    pub fn name(&self) -> Option<&str> {
        match self {
            Scope::All => None,
            Scope::Host(n) | Scope::Route(n) | Scope::Upstream(n) => Some(n),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct SeriesQuery {
    from: Option<String>,
    to: Option<String>,
    step: Option<String>,
    host: Option<String>,
    route: Option<String>,
    upstream: Option<String>,
}

/// `from` and `to` of a query, checked: times that parse, `from` before `to`.
pub(crate) fn range(from: &Option<String>, to: &Option<String>) -> Result<Range, AppError> {
    let from = from.as_deref().map(|v| parse_time("from", v)).transpose()?;
    let to = to.as_deref().map(|v| parse_time("to", v)).transpose()?;
    if let (Some(f), Some(t)) = (from, to) {
        if f >= t {
            return Err(AppError::BadRequest(format!(
                "from ({f}) must be before to ({t})"
            )));
        }
    }
    Ok(Range { from, to })
}

pub(crate) async fn series(
    State(state): State<Shared>,
    Query(q): Query<SeriesQuery>,
) -> Result<Json<Value>, AppError> {
    let range = range(&q.from, &q.to)?;
    let step = match q.step.as_deref() {
        None => None,
        Some(s) => match s.parse::<i64>() {
            Ok(n) if (1..=86_400 * 31).contains(&n) => Some(n),
            _ => {
                return Err(AppError::BadRequest(format!(
                    "step={s:?}: seconds from 1 to 2678400"
                )))
            }
        },
    };
    let scope = Scope::of(q.host, q.route, q.upstream)?;
    Ok(Json(
        blocking(state, move |b| b.series(range, step, &scope)).await?,
    ))
}

#[derive(Debug, Deserialize)]
pub(crate) struct TopQuery {
    from: Option<String>,
    to: Option<String>,
    by: Option<String>,
    limit: Option<String>,
    host: Option<String>,
    route: Option<String>,
    upstream: Option<String>,
}

pub(crate) async fn top(
    State(state): State<Shared>,
    Query(q): Query<TopQuery>,
) -> Result<Json<Value>, AppError> {
    let range = range(&q.from, &q.to)?;
    let by = q.by.unwrap_or_else(|| "route".into());
    if !matches!(by.as_str(), "route" | "host" | "upstream" | "method") {
        return Err(AppError::BadRequest(format!(
            "by={by:?}: route, host, upstream or method"
        )));
    }
    let scope = Scope::of(q.host, q.route, q.upstream)?;
    if let Some(kind) = scope.kind().filter(|k| *k != by) {
        return Err(AppError::BadRequest(format!(
            "by={by} with {kind}=: the stored rollups do not break one {kind} down by {by}; \
             with {kind}= only by={kind} is answered (its own row)"
        )));
    }
    let limit = match q.limit.as_deref() {
        None => 10,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=1000).contains(n))
            .ok_or_else(|| AppError::BadRequest(format!("limit={v:?}: a number from 1 to 1000")))?,
    };
    Ok(Json(
        blocking(state, move |b| b.top(range, &by, limit, &scope)).await?,
    ))
}

#[derive(Debug, Deserialize)]
pub(crate) struct FromTo {
    from: Option<String>,
    to: Option<String>,
}

pub(crate) async fn error_groups(
    State(state): State<Shared>,
    Query(q): Query<FromTo>,
) -> Result<Json<Value>, AppError> {
    let range = range(&q.from, &q.to)?;
    Ok(Json(blocking(state, move |b| b.error_groups(range)).await?))
}

pub(crate) async fn inputs(State(state): State<Shared>) -> Result<Json<Value>, AppError> {
    Ok(Json(blocking(state, |b| b.inputs()).await?))
}

/// How often the live stream looks for a change.
const EVENT_POLL: Duration = Duration::from_millis(500);

/// `GET /api/v1/events`: an `update` event (the daemon's summary: lines read, open incidents,
/// firing alerts) whenever it changes, so a page refreshes without polling.
pub(crate) async fn events(
    State(state): State<Shared>,
) -> Sse<impl futures_core::Stream<Item = Result<Event, Infallible>>> {
    let stream = async_stream(state);
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

fn async_stream(state: Shared) -> impl futures_core::Stream<Item = Result<Event, Infallible>> {
    futures_util::stream::unfold((state, Value::Null), |(state, last)| async move {
        loop {
            let now = {
                let s = state.clone();
                tokio::task::spawn_blocking(move || s.update())
                    .await
                    .unwrap_or(Value::Null)
            };
            if now != last && !now.is_null() {
                let ev = Event::default().event("update").data(now.to_string());
                return Some((Ok(ev), (state, now)));
            }
            tokio::time::sleep(EVENT_POLL).await;
        }
    })
}

#[derive(Debug, Deserialize)]
pub(crate) struct MetricsQuery {
    format: Option<String>,
}

/// `GET /metrics`: the Prometheus text format, or OpenMetrics when the scraper asks for it
/// (`Accept: application/openmetrics-text`) or `?format=openmetrics`.
pub(crate) async fn metrics(
    State(state): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<MetricsQuery>,
) -> Result<Response, AppError> {
    let open = q.format.as_deref() == Some("openmetrics")
        || headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("application/openmetrics-text"));
    let body = blocking(state, move |b| b.metrics(open)).await?;
    let kind = if open {
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    } else {
        "text/plain; version=0.0.4; charset=utf-8"
    };
    let mut r = body.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    Ok(r)
}
