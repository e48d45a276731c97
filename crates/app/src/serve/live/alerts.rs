//! The alerting step of a commit: the facts of the tick, as rules see them, from what the
//! commit is about to store.

use faultline_aggregate::Summary;
use faultline_alert::rule::{DegradedFact, IncidentFact};
use faultline_alert::Ms;

use super::Live;
use crate::serve::alerting::{degraded_fact, incident_fact, InputNow};
use crate::serve::telemetry::{SelfEvent, Telemetry};

impl Live {
    /// Shares the counters `/metrics` shows.
    pub fn set_counters(
        &mut self,
        counters: std::sync::Arc<std::sync::Mutex<crate::serve::metrics::Counters>>,
    ) {
        self.counters = counters;
    }

    /// Counts a committed tick for `/metrics`: its rollups and the open incidents by cause.
    pub(super) fn count(&self, buckets: &[(i64, Summary)]) {
        let mut open = std::collections::BTreeMap::new();
        for (_, body) in self.stored.values() {
            let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
            if v["state"] == "open" {
                let cause = v["diagnosis"]["cause"].as_str().unwrap_or("unknown");
                *open.entry(cause.to_string()).or_default() += 1;
            }
        }
        let mut c = self.counters.lock().expect("not poisoned");
        c.add(buckets);
        c.open_incidents = open;
    }

    /// The maintenance window a scope was in at `start` (event seconds), if any.
    pub(super) fn window_at(&self, scope: &crate::report::Scope, start: i64) -> Option<String> {
        let mut labels = faultline_alert::Labels::new();
        for (k, v) in [
            ("host", &scope.hosts),
            ("route", &scope.routes),
            ("upstream", &scope.upstreams),
        ] {
            if let Some(first) = v.first() {
                labels.insert(k.into(), first.clone());
            }
        }
        self.plan
            .alerting
            .windows
            .iter()
            .find(|w| w.mutes(&labels, start * 1000))
            .map(|w| w.name.clone())
    }

    /// Pending and firing alerts now.
    pub fn active_alerts(&self) -> Vec<faultline_alert::alert::Alert> {
        self.alerting.active().cloned().collect()
    }

    /// Deletes alert history older than `alerting.history`.
    pub fn retain_alerts(&mut self, wall: Ms) -> Result<u64, faultline_store::StoreError> {
        self.alert_db.retain(wall - self.plan.alerting.history_ms)
    }

    /// Evaluates the rules at wall time `wall`; what changed waits in
    /// [`crate::serve::alerting::Alerting::pending`] for the commit.
    pub(super) fn alert_tick(
        &mut self,
        buckets: &[(i64, Summary)],
        now_ms: u64,
        wall: Ms,
        tel: &dyn Telemetry,
    ) {
        self.alerting.add_rollups(buckets);
        let oldest = wall / 1000 - self.plan.alerting.max_age_ms / 1000;
        let mut incidents: Vec<IncidentFact> = Vec::new();
        for (serial, (id, body)) in &self.stored {
            // The first id an incident had names its alert for its whole life.
            let key = self
                .alert_keys
                .entry(*serial)
                .or_insert_with(|| id.clone())
                .clone();
            incidents.extend(incident_fact(key, body, oldest));
        }
        self.alert_keys.retain(|s, _| self.stored.contains_key(s));
        incidents.sort_by(|a, b| a.key.cmp(&b.key));
        let mut degraded: Vec<DegradedFact> = self
            .stored_findings
            .values()
            .filter_map(|b| degraded_fact(b))
            .collect();
        degraded.sort_by(|a, b| a.upstream.cmp(&b.upstream));
        let inputs: Vec<InputNow> = self
            .files
            .values()
            .map(|f| InputNow {
                path: self.names[f.input as usize].clone(),
                last_line_at: (f.delivered_ms > 0)
                    .then(|| wall - now_ms.saturating_sub(f.delivered_ms) as Ms),
                since: self.started_wall,
                lines: f.lines,
                malformed: f.malformed,
            })
            .collect();
        let silences = match self.alert_db.live_silences(wall) {
            Ok(s) => s,
            Err(e) => {
                tel.emit(&SelfEvent::Notice(format!("alerting: silences: {e}")));
                Vec::new()
            }
        };
        self.alerting.tick(
            &self.plan.alerting,
            &incidents,
            &degraded,
            &inputs,
            &silences,
            wall,
        );
    }
}
