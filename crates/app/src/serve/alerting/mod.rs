//! Alerting inside `serve`: each commit turns the open incidents, degraded upstreams, 5xx
//! ratios and input health into rule conditions, runs the alert lifecycle and the grouping,
//! mute and dedup stages, and hands the store the alert history, the new notifications and
//! the alerting state to write in the same transaction as the tick. A delivery thread
//! ([`delivery`]) sends what the outbox holds.

pub mod api;
pub mod cli;
pub mod config;
pub mod delivery;

use std::collections::{BTreeMap, VecDeque};

use faultline_aggregate::Summary;
use faultline_alert::alert::{Alert, Details, EvidenceLine};
use faultline_alert::dispatch::{Dispatcher, Muted, Mutes, Notification, ReceiverOpts};
use faultline_alert::ratio::{Ratios, Scope, Tally};
use faultline_alert::rule::{DegradedFact, Evaluator, Facts, IncidentFact, InputFact};
use faultline_alert::silence::Silence;
use faultline_alert::Ms;
use faultline_store::AlertCommit;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use config::AlertPlan;

/// Seconds of per-input line counts kept for parse-health rules.
const RECENT_KEEP_MS: Ms = 3_600_000;

/// What a restart resumes.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Saved {
    evaluator: Evaluator,
    dispatcher: Dispatcher,
}

/// Written with the next commit; kept until one succeeds.
#[derive(Debug, Default)]
struct Unsaved {
    alerts: Vec<Alert>,
    /// Why alerts were left out of a flush; `None` for alerts a notification took (no
    /// longer muted).
    muted: Vec<(String, Option<Muted>)>,
    notifications: Vec<Notification>,
    state: Option<String>,
}

/// One followed input, as the loop knows it.
#[derive(Debug, Clone)]
pub struct InputNow {
    pub path: String,
    /// The wall clock (ms) when a line last came, or when following began.
    pub last_line_at: Option<Ms>,
    pub since: Ms,
    pub lines: u64,
    pub malformed: u64,
}

/// Per input: the cumulative (lines, malformed) last seen, and what each tick added.
type Recent = (u64, u64, VecDeque<(Ms, u64, u64)>);

/// The alerting state of the daemon.
#[derive(Debug)]
pub struct Alerting {
    saved: Saved,
    ratios: Ratios,
    recent: BTreeMap<String, Recent>,
    unsaved: Unsaved,
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn text(v: &Value) -> Option<String> {
    v.as_str().map(String::from)
}

/// An alert's details from a diagnosis object of the report contract.
fn details(summary: String, d: &Value, incident: Option<String>) -> Details {
    Details {
        summary,
        cause: text(&d["cause"]),
        category: text(&d["category"]),
        confidence: d["confidence"].as_f64(),
        reasons: strings(&d["reasons"]),
        evidence: d["evidence"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|e| EvidenceLine {
                        source: e["source"].as_str().unwrap_or_default().into(),
                        line: e["line"].as_u64().unwrap_or(0),
                        text: e["text"].as_str().unwrap_or_default().into(),
                        signature: text(&e["signature"]),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        remediation: strings(&d["remediation"]),
        incident,
        value: None,
    }
}

/// An open incident's rule facts from its stored body (`None` when resolved or older than
/// `oldest` in event time: a backlog does not page).
pub fn incident_fact(key: String, body: &str, oldest_secs: i64) -> Option<IncidentFact> {
    let v: Value = serde_json::from_str(body).ok()?;
    if v["state"] != "open" {
        return None;
    }
    let end = v["end"].as_str()?.parse::<jiff::Timestamp>().ok()?;
    if end.as_second() < oldest_secs {
        return None;
    }
    let d = &v["diagnosis"];
    let summary = d["summary"].as_str().unwrap_or_default().to_string();
    Some(IncidentFact {
        key,
        errors: v["errors"].as_u64().unwrap_or(0),
        hosts: strings(&v["scope"]["hosts"]),
        routes: strings(&v["scope"]["routes"]),
        upstreams: strings(&v["scope"]["upstreams"]),
        details: details(summary, d, text(&v["id"])),
    })
}

/// A degraded-upstream finding's facts from its stored body.
pub fn degraded_fact(body: &str) -> Option<DegradedFact> {
    let v: Value = serde_json::from_str(body).ok()?;
    let upstream = strings(&v["scope"]["upstreams"]).into_iter().next()?;
    let summary = v["summary"].as_str().unwrap_or_default().to_string();
    Some(DegradedFact {
        upstream,
        hosts: strings(&v["scope"]["hosts"]),
        details: details(summary, &v, None),
    })
}

impl Alerting {
    /// Resumes from the stored state (if it reads); `width_ms` is the rollup interval.
    pub fn new(stored: Option<&str>, width_ms: Ms) -> Alerting {
        let saved = stored
            .and_then(|s| serde_json::from_str(s).ok())
            .unwrap_or_default();
        Alerting {
            saved,
            ratios: Ratios::new(width_ms),
            recent: BTreeMap::new(),
            unsaved: Unsaved::default(),
        }
    }

    /// Counts of a commit's rollup intervals, for ratio rules (with the 5xx by code the
    /// rollups keep, for rules restricted to some codes).
    pub fn add_rollups(&mut self, buckets: &[(i64, Summary)]) {
        for (sec, s) in buckets {
            let at = sec * 1000;
            let codes: Vec<(u16, u64)> = s
                .statuses()
                .filter(|(c, _)| (500..600).contains(c))
                .collect();
            let all = Tally::from_codes(s.requests(), codes);
            self.ratios.add(at, Scope::All, "", &all);
            for (scope, map) in [
                (Scope::Route, &s.routes),
                (Scope::Host, &s.hosts),
                (Scope::Upstream, &s.upstreams),
            ] {
                for (k, st) in map {
                    let tally = Tally {
                        requests: st.requests,
                        errors: st.errors_5xx,
                        codes: st.codes_5xx.iter().collect(),
                    };
                    self.ratios
                        .add(at, scope, &String::from_utf8_lossy(k), &tally);
                }
            }
        }
    }

    fn input_facts(&mut self, inputs: &[InputNow], now: Ms) -> Vec<InputFact> {
        let mut out = Vec::new();
        for i in inputs {
            let e = self.recent.entry(i.path.clone()).or_insert((
                i.lines,
                i.malformed,
                VecDeque::new(),
            ));
            let (dl, dm) = (i.lines.saturating_sub(e.0), i.malformed.saturating_sub(e.1));
            (e.0, e.1) = (i.lines, i.malformed);
            if dl > 0 {
                e.2.push_back((now, dl, dm));
            }
            while e
                .2
                .front()
                .is_some_and(|(at, _, _)| *at < now - RECENT_KEEP_MS)
            {
                e.2.pop_front();
            }
            out.push(InputFact {
                path: i.path.clone(),
                last_line_at: i.last_line_at,
                since: i.since,
                recent: e.2.iter().copied().collect(),
            });
        }
        out
    }

    /// One evaluation at wall time `now`: rules, lifecycle, grouping, mute and dedup.
    pub fn tick(
        &mut self,
        plan: &AlertPlan,
        incidents: &[IncidentFact],
        degraded: &[DegradedFact],
        inputs: &[InputNow],
        silences: &[Silence],
        now: Ms,
    ) {
        let input_facts = self.input_facts(inputs, now);
        let facts = Facts {
            incidents,
            ratios: Some(&self.ratios),
            degraded,
            inputs: &input_facts,
        };
        let changed = self.saved.evaluator.evaluate(&plan.rules, &facts, now);
        if let Some(route) = &plan.route {
            for a in &changed {
                self.saved.dispatcher.insert(route, a, now);
            }
            // A firing alert whose details changed is refreshed in its groups.
            for a in self.saved.evaluator.firing() {
                self.saved.dispatcher.insert(route, a, now);
            }
        }
        let firing: Vec<&Alert> = self.saved.evaluator.firing().collect();
        let mutes = Mutes {
            silences,
            windows: &plan.windows,
            inhibit: &plan.inhibit,
        };
        let receivers = &plan.receivers;
        let opts = |name: &str| {
            receivers.iter().find(|r| r.name == name).map_or(
                ReceiverOpts {
                    send_resolved: true,
                    resend_ms: None,
                },
                |r| r.opts(),
            )
        };
        let flushed = self.saved.dispatcher.flush(now, &mutes, &firing, &opts);
        let max_window = plan
            .rules
            .iter()
            .map(|r| match r.kind {
                faultline_alert::rule::RuleKind::Ratio { window_ms, .. } => window_ms,
                _ => 0,
            })
            .max()
            .unwrap_or(0);
        self.ratios.prune(now - max_window - 60_000);
        self.unsaved.alerts.extend(changed);
        let muted = flushed.muted.into_iter().map(|(id, why)| (id, Some(why)));
        self.unsaved.muted.extend(muted);
        // An alert muted at one flush and notified at a later one (its silence expired) is
        // no longer muted: the history must not keep saying it was kept quiet.
        let notified = flushed.notifications.iter().flat_map(|n| &n.alerts);
        self.unsaved
            .muted
            .extend(notified.map(|a| (a.id.clone(), None)));
        self.unsaved.notifications.extend(flushed.notifications);
        // Group timers move at every flush: the state is written with every tick (one row).
        self.unsaved.state = Some(serde_json::to_string(&self.saved).expect("serialises"));
    }

    /// What the next commit writes.
    pub fn pending(&self) -> AlertCommit<'_> {
        AlertCommit {
            state: self.unsaved.state.as_deref(),
            alerts: &self.unsaved.alerts,
            muted: &self.unsaved.muted,
            notifications: &self.unsaved.notifications,
        }
    }

    /// The commit succeeded; returns whether it enqueued notifications.
    pub fn saved(&mut self) -> bool {
        let sent = !self.unsaved.notifications.is_empty();
        self.unsaved = Unsaved::default();
        sent
    }

    /// Firing and pending alerts now.
    pub fn active(&self) -> impl Iterator<Item = &Alert> {
        self.saved.evaluator.active()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faultline_alert::matcher::Matcher;
    use faultline_alert::route::{Route, RouteConfig};

    fn plan() -> AlertPlan {
        let route = Route::build(&RouteConfig {
            receiver: Some("hook".into()),
            group_wait: Some(0),
            group_interval: Some(1_000),
            ..RouteConfig::default()
        });
        AlertPlan {
            rules: config::default_rules(),
            route: Some(route.unwrap()),
            receivers: vec![],
            inhibit: vec![],
            windows: vec![],
            external_url: "http://faultline.example".into(),
            admin_token: None,
            max_age_ms: config::DEFAULT_MAX_AGE_MS,
            history_ms: config::DEFAULT_HISTORY_MS,
        }
    }

    #[test]
    fn a_muted_alert_that_is_notified_later_is_no_longer_muted() {
        let plan = plan();
        let incident = [IncidentFact {
            key: "inc-1".into(),
            errors: 10,
            hosts: vec!["shop.example".into()],
            ..IncidentFact::default()
        }];
        let silence = [Silence {
            id: "sil-1".into(),
            matchers: vec![Matcher::parse(r#"host="shop.example""#).unwrap()],
            starts_at: 0,
            ends_at: 5_000,
            created_by: "ops".into(),
            comment: "deploy".into(),
            created_at: 0,
        }];
        let mut a = Alerting::new(None, 10_000);
        a.tick(&plan, &incident, &[], &[], &silence, 1_000);
        let id = a.active().next().unwrap().id.clone();
        let muted = Some(Muted::Silence("sil-1".into()));
        assert_eq!(a.pending().muted, [(id.clone(), muted)]);
        assert!(a.pending().notifications.is_empty());
        a.saved();
        // The silence ended: the next flush notifies the alert, which is muted no more.
        a.tick(&plan, &incident, &[], &[], &silence, 6_000);
        assert_eq!(a.pending().notifications.len(), 1);
        assert_eq!(a.pending().muted, [(id, None)]);
    }
}
