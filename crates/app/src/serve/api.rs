//! The API's answers, read from the store on a connection of their own: the report
//! contract's document over any stored range, incidents, readiness and self-figures.

use std::sync::{Arc, Mutex};

use faultline_alert::alert::Alert;
use faultline_serve::{AppError, Backend, IncidentFilter, Range, Scope, Tokens};
use faultline_store::{AlertDb, Reader, StoreError};
use serde_json::{json, Value};

use crate::report::{self, Report, Window};
use crate::serve::alerting::api as alert_api;
use crate::serve::metrics::{Counters, RuleLabels};
use crate::serve::telemetry::Sink;
use crate::serve::views;

/// Shared between the engine loop and the HTTP thread.
#[derive(Debug)]
pub struct Api {
    pub reader: Mutex<Reader>,
    pub sink: Arc<Sink>,
    pub followed: Arc<Mutex<(usize, usize)>>,
    /// Alert history, silences and notifications, on a connection of their own.
    pub alert_db: Mutex<AlertDb>,
    /// Pending and firing alerts, as of the last tick.
    pub active: Arc<Mutex<Vec<Alert>>>,
    pub tokens: Arc<Mutex<Tokens>>,
    /// What `/metrics` counts (updated by every commit).
    pub counters: Arc<Mutex<Counters>>,
    /// The configured alert rules, which `/metrics` shows at 0 while they are quiet.
    pub rules: Mutex<Vec<RuleLabels>>,
}

/// A failure the client cannot mend (the store), as the API's 500.
pub(crate) fn internal(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(e.to_string())
}

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or(Value::Null)
}

fn rfc(secs: i64) -> String {
    faultline_model::format_rfc3339(secs, 0)
}

impl Api {
    fn report_value(&self, range: Range, scope: &Scope) -> Result<Value, StoreError> {
        let reader = self.reader.lock().expect("not poisoned");
        let span = reader.span()?;
        let from = range.from.or(span.map(|s| s.0)).unwrap_or(0);
        let to = range.to.or(span.map(|s| s.1 + 1)).unwrap_or(0);
        let summary = reader.summary(from, to)?;
        let (res, timeline, summary, totals) = match views::scope_key(scope) {
            None => {
                let (res, rows) = reader.timeline(from, to)?;
                let totals = report::totals(&summary);
                (res, views::status_timeline(res, &rows), summary, totals)
            }
            Some((kind, name)) => {
                let (res, rows) = reader.key_timeline(from, to, kind, name)?;
                let (summary, totals) = views::narrow(summary, kind, name);
                (res, views::key_timeline(res, &rows), summary, totals)
            }
        };
        let inputs: Vec<Value> = reader
            .inputs()?
            .iter()
            .map(|r| {
                let mut v = parse(&r.body);
                if let Some(o) = v.as_object_mut() {
                    o.remove("next_line");
                }
                v
            })
            .collect();
        let in_scope = views::scope_filter(scope);
        let incidents: Vec<Value> = {
            let mut v = reader.incidents(from, to, 10_000)?;
            v.sort_by(|a, b| (a.start, &a.id).cmp(&(b.start, &b.id)));
            v.iter()
                .map(|i| parse(&i.body))
                .filter(|i| in_scope.keeps(i))
                .collect()
        };
        let findings: Vec<Value> = reader
            .findings(from, to)?
            .iter()
            .map(|f| parse(&f.body))
            .filter(|f| in_scope.keeps(f))
            .collect();
        let groups: Vec<Value> = reader
            .groups(from, to)?
            .iter()
            .map(|g| parse(&g.body))
            .collect();
        let mut assumptions = vec![format!(
            "served from stored rollups at {res} s resolution: the window is aligned to it"
        )];
        assumptions.extend(views::scope_assumption(scope));
        let doc = Report {
            version: 1,
            generated_at: rfc(jiff::Timestamp::now().as_second()),
            window: Window {
                start: span.map(|_| rfc(from)),
                end: span.map(|_| rfc(to)),
            },
            assumptions,
            inputs: Vec::new(),
            totals,
            incidents: Vec::new(),
            findings: Vec::new(),
            error_groups: Vec::new(),
            top: report::top(&summary),
            timeline: report::timeline_report(&timeline, 0),
        };
        let mut v = serde_json::to_value(&doc).expect("serialises");
        v["inputs"] = inputs.into();
        v["incidents"] = incidents.into();
        v["findings"] = findings.into();
        v["error_groups"] = groups.into();
        if let (Some(kind), Some(name)) = (scope.kind(), scope.name()) {
            let mut one = serde_json::Map::new();
            one.insert(kind.into(), name.into());
            v["scope"] = one.into();
        }
        Ok(v)
    }
}

impl Backend for Api {
    fn report(&self, range: Range, scope: &Scope) -> Result<Value, AppError> {
        self.report_value(range, scope).map_err(internal)
    }

    fn incidents(
        &self,
        range: Range,
        limit: usize,
        filter: &IncidentFilter,
    ) -> Result<Vec<Value>, AppError> {
        let reader = self.reader.lock().expect("not poisoned");
        let (from, to) = (range.from.unwrap_or(i64::MIN), range.to.unwrap_or(i64::MAX));
        if *filter == IncidentFilter::default() {
            let list = reader.incidents(from, to, limit).map_err(internal)?;
            return Ok(list.iter().map(|i| parse(&i.body)).collect());
        }
        // Filters look inside the bodies: read every incident of the range, keep `limit`.
        let list = reader.incidents(from, to, usize::MAX).map_err(internal)?;
        Ok(list
            .iter()
            .map(|i| parse(&i.body))
            .filter(|v| filter.keeps(v))
            .take(limit)
            .collect())
    }

    fn incident(&self, id: &str) -> Result<Option<Value>, AppError> {
        let reader = self.reader.lock().expect("not poisoned");
        Ok(reader
            .incident(id)
            .map_err(internal)?
            .map(|i| parse(&i.body)))
    }

    fn ready(&self) -> Result<(), String> {
        let figures = self.sink.figures();
        if let Some(e) = figures.last_commit_error {
            return Err(format!("the store is not writable: {e}"));
        }
        let (open, followed) = *self.followed.lock().expect("not poisoned");
        if open == 0 {
            return Err(if followed == 0 {
                "no input file matched yet".into()
            } else {
                "no input file is readable".into()
            });
        }
        if figures.commits == 0 {
            return Err("the first commit has not happened yet".into());
        }
        Ok(())
    }

    fn status(&self) -> Result<Value, AppError> {
        Ok(json!(self.sink.figures()))
    }

    fn alerts(&self, since: Option<i64>, limit: usize) -> Result<Value, AppError> {
        let active = self.active.lock().expect("not poisoned").clone();
        let db = self.alert_db.lock().expect("not poisoned");
        alert_api::alerts(&db, &active, since, limit)
    }

    fn notifications(&self, since: Option<i64>, limit: usize) -> Result<Value, AppError> {
        alert_api::notifications(&self.alert_db.lock().expect("not poisoned"), since, limit)
    }

    fn silences(&self) -> Result<Value, AppError> {
        alert_api::silences(&self.alert_db.lock().expect("not poisoned"))
    }

    fn add_silence(&self, body: Value) -> Result<Value, AppError> {
        alert_api::add_silence(&mut self.alert_db.lock().expect("not poisoned"), &body)
    }

    fn expire_silence(&self, id: &str) -> Result<Value, AppError> {
        alert_api::expire_silence(&mut self.alert_db.lock().expect("not poisoned"), id)
    }

    fn tokens(&self) -> Tokens {
        self.tokens.lock().expect("not poisoned").clone()
    }

    fn series(&self, range: Range, step: Option<i64>, scope: &Scope) -> Result<Value, AppError> {
        views::series(
            &self.reader.lock().expect("not poisoned"),
            range,
            step,
            scope,
        )
    }

    fn top(&self, range: Range, by: &str, limit: usize, scope: &Scope) -> Result<Value, AppError> {
        let reader = self.reader.lock().expect("not poisoned");
        views::top(&reader, range, by, limit, scope)
    }

    fn error_groups(&self, range: Range) -> Result<Value, AppError> {
        let reader = self.reader.lock().expect("not poisoned");
        let (from, to) = views::bounds(&reader, range)?;
        let list: Vec<Value> = reader
            .groups(from, to)
            .map_err(internal)?
            .iter()
            .map(|g| parse(&g.body))
            .collect();
        Ok(json!({ "error_groups": list }))
    }

    fn inputs(&self) -> Result<Value, AppError> {
        views::inputs(
            &self.reader.lock().expect("not poisoned"),
            &self.sink.figures(),
        )
    }

    fn update(&self) -> Value {
        let f = self.sink.figures();
        let open: u64 = self
            .counters
            .lock()
            .expect("not poisoned")
            .open_incidents
            .values()
            .sum();
        let active = self.active.lock().expect("not poisoned");
        let firing = active
            .iter()
            .filter(|a| a.state == faultline_alert::alert::State::Firing)
            .count();
        // What a page shows changes with new lines, incidents or alerts, not with every
        // (possibly idle) commit.
        let lines: u64 = f.files.values().map(|x| x.lines_read).sum();
        json!({"lines": lines, "open_incidents": open, "firing_alerts": firing})
    }

    fn metrics(&self, openmetrics: bool) -> Result<String, AppError> {
        let active = self.active.lock().expect("not poisoned").clone();
        let rules = self.rules.lock().expect("not poisoned").clone();
        let counters = self.counters.lock().expect("not poisoned");
        Ok(crate::serve::metrics::render(
            &counters,
            &self.sink.figures(),
            &active,
            &rules,
            openmetrics,
        ))
    }
}
