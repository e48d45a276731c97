//! Grouping and the notification stages up to the outbox, as in Alertmanager's dispatcher:
//! firing and resolved alerts join a group per matching route node and group labels; a group
//! is flushed `group_wait` after it was created and then every `group_interval`. A flush
//! leaves out muted alerts (silence, maintenance window, inhibition) and asks the
//! notification log whether anything new must be said (new firing alerts, resolved ones the
//! receiver wants, or `repeat_interval` passed). What must be said becomes a
//! [`Notification`] with a stable id, for the durable outbox.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::alert::{Alert, State};
use crate::inhibit::InhibitRule;
use crate::route::{group_key, Route};
use crate::silence::Silence;
use crate::window::Window;
use crate::{Labels, Ms};

/// One message to one receiver about one group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notification {
    /// `ntf-` and 16 hex digits; the same on every retry (`webhook-id`, `dedup_key`).
    pub id: String,
    pub receiver: String,
    pub group_key: String,
    pub group_labels: Labels,
    /// Firing if any alert is.
    pub status: State,
    pub alerts: Vec<Alert>,
    pub created_at: Ms,
}

impl Notification {
    /// Labels every alert has with the same value.
    pub fn common_labels(&self) -> Labels {
        let mut it = self.alerts.iter();
        let Some(first) = it.next() else {
            return Labels::new();
        };
        let mut common = first.labels.clone();
        for a in it {
            common.retain(|k, v| a.labels.get(k) == Some(v));
        }
        common
    }

    pub fn firing(&self) -> impl Iterator<Item = &Alert> {
        self.alerts.iter().filter(|a| a.state == State::Firing)
    }
}

/// Why an alert was not notified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", content = "what", rename_all = "lowercase")]
pub enum Muted {
    Silence(String),
    Maintenance(String),
    Inhibited(String),
}

/// The mute stage's inputs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mutes<'a> {
    pub silences: &'a [Silence],
    pub windows: &'a [Window],
    pub inhibit: &'a [InhibitRule],
}

impl Mutes<'_> {
    /// Why `alert` is muted now, if it is; `firing` are the firing alerts that may inhibit.
    pub fn check(&self, alert: &Alert, firing: &[&Alert], now: Ms) -> Option<Muted> {
        if let Some(s) = self.silences.iter().find(|s| s.mutes(&alert.labels, now)) {
            return Some(Muted::Silence(s.id.clone()));
        }
        if let Some(w) = self.windows.iter().find(|w| w.mutes(&alert.labels, now)) {
            return Some(Muted::Maintenance(w.name.clone()));
        }
        self.inhibit
            .iter()
            .find_map(|r| r.inhibitor(alert, firing))
            .map(|src| Muted::Inhibited(src.fingerprint.clone()))
    }
}

/// What a receiver wants of the dedup stage.
#[derive(Debug, Clone, Copy)]
pub struct ReceiverOpts {
    pub send_resolved: bool,
    /// Re-send firing alerts at least this often (Alertmanager receivers, whose alerts
    /// expire at `endsAt` unless renewed).
    pub resend_ms: Option<Ms>,
}

/// The notification log: what was last said to a group's receiver.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    pub firing: BTreeSet<String>,
    pub resolved: BTreeSet<String>,
    pub at: Ms,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Group {
    receiver: String,
    labels: Labels,
    alerts: BTreeMap<String, Alert>,
    next_flush: Ms,
    group_interval: Ms,
    repeat_interval: Ms,
}

/// Groups and the notification log; serialisable, so a restart resumes both.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Dispatcher {
    groups: BTreeMap<String, Group>,
    log: BTreeMap<String, LogEntry>,
}

/// What a flush decided.
#[derive(Debug, Default)]
pub struct Flushed {
    pub notifications: Vec<Notification>,
    /// (alert id, why) for alerts left out of a notification.
    pub muted: Vec<(String, Muted)>,
}

/// Alertmanager's `needsUpdate`.
fn needs_update(
    entry: Option<&LogEntry>,
    firing: &BTreeSet<String>,
    resolved: &BTreeSet<String>,
    send_resolved: bool,
    repeat: Ms,
    now: Ms,
) -> bool {
    let Some(e) = entry else {
        return !firing.is_empty();
    };
    if !firing.is_subset(&e.firing) {
        return true;
    }
    if firing.is_empty() {
        return !e.firing.is_empty();
    }
    if send_resolved && !resolved.is_subset(&e.resolved) {
        return true;
    }
    now - e.at >= repeat
}

impl Dispatcher {
    /// Takes a firing alert, or a resolved one that had fired, into its groups.
    pub fn insert(&mut self, route: &Route, alert: &Alert, now: Ms) {
        if alert.fired_at.is_none() {
            return;
        }
        for node in route.matches(&alert.labels) {
            let labels = node.group_labels(&alert.labels);
            let key = group_key(node, &labels);
            if alert.state == State::Resolved && !self.groups.contains_key(&key) {
                // Resolved before its group existed here (e.g. after a reload moved it).
                if !self
                    .log
                    .get(&key)
                    .is_some_and(|e| e.firing.contains(&alert.fingerprint))
                {
                    continue;
                }
            }
            let g = self.groups.entry(key).or_insert_with(|| Group {
                receiver: node.receiver.clone(),
                labels,
                alerts: BTreeMap::new(),
                next_flush: now + node.group_wait,
                group_interval: node.group_interval,
                repeat_interval: node.repeat_interval,
            });
            g.alerts.insert(alert.fingerprint.clone(), alert.clone());
        }
    }

    /// When the next group is due (for the loop's sleep), if any.
    pub fn next_due(&self) -> Option<Ms> {
        self.groups.values().map(|g| g.next_flush).min()
    }

    /// Flushes the groups that are due.
    pub fn flush(
        &mut self,
        now: Ms,
        mutes: &Mutes<'_>,
        firing: &[&Alert],
        opts: &dyn Fn(&str) -> ReceiverOpts,
    ) -> Flushed {
        let mut out = Flushed::default();
        let due: Vec<String> = self
            .groups
            .iter()
            .filter(|(_, g)| g.next_flush <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for key in due {
            let g = self.groups.get_mut(&key).expect("listed above");
            let o = opts(&g.receiver);
            let cadence = o
                .resend_ms
                .map_or(g.group_interval, |r| r.min(g.group_interval));
            g.next_flush = now + cadence;
            let mut shown = Vec::new();
            for a in g.alerts.values() {
                match mutes.check(a, firing, now) {
                    Some(m) => out.muted.push((a.id.clone(), m)),
                    None => shown.push(a.clone()),
                }
            }
            let set = |s: State| -> BTreeSet<String> {
                shown
                    .iter()
                    .filter(|a| a.state == s)
                    .map(|a| a.fingerprint.clone())
                    .collect()
            };
            let (fire, res) = (set(State::Firing), set(State::Resolved));
            let repeat = o
                .resend_ms
                .map_or(g.repeat_interval, |r| r.min(g.repeat_interval));
            if needs_update(
                self.log.get(&key),
                &fire,
                &res,
                o.send_resolved,
                repeat,
                now,
            ) {
                if !o.send_resolved {
                    shown.retain(|a| a.state == State::Firing);
                }
                if !shown.is_empty() {
                    out.notifications.push(Notification {
                        id: format!(
                            "ntf-{:016x}",
                            crate::hash64(format!("{key}|{}|{now}", g.receiver).as_bytes())
                        ),
                        receiver: g.receiver.clone(),
                        group_key: key.clone(),
                        group_labels: g.labels.clone(),
                        status: if fire.is_empty() {
                            State::Resolved
                        } else {
                            State::Firing
                        },
                        alerts: shown,
                        created_at: now,
                    });
                }
                self.log.insert(
                    key.clone(),
                    LogEntry {
                        firing: fire,
                        resolved: res,
                        at: now,
                    },
                );
            }
            g.alerts.retain(|_, a| a.state != State::Resolved);
            if g.alerts.is_empty() {
                self.groups.remove(&key);
                // Nothing is firing: the log has said its last word for this group.
                if self.log.get(&key).is_some_and(|e| e.firing.is_empty()) {
                    self.log.remove(&key);
                }
            }
        }
        out
    }

    /// The notification log, by group key.
    pub fn log(&self) -> &BTreeMap<String, LogEntry> {
        &self.log
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::Details;
    use crate::matcher::Matcher;
    use crate::route::RouteConfig;

    const OPTS: ReceiverOpts = ReceiverOpts {
        send_resolved: true,
        resend_ms: None,
    };

    fn route() -> Route {
        Route::build(&RouteConfig {
            receiver: Some("ops".into()),
            group_by: Some(vec!["alertname".into()]),
            group_wait: Some(10_000),
            group_interval: Some(60_000),
            repeat_interval: Some(3_600_000),
            ..RouteConfig::default()
        })
        .unwrap()
    }

    fn firing(name: &str, host: &str, at: Ms) -> Alert {
        let labels: Labels = [("alertname", name), ("host", host)]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut a = Alert::new(name, labels, Details::default(), at);
        a.state = State::Firing;
        a.fired_at = Some(at);
        a
    }

    fn resolve(a: &Alert, at: Ms) -> Alert {
        let mut r = a.clone();
        r.state = State::Resolved;
        r.resolved_at = Some(at);
        r
    }

    fn flush(d: &mut Dispatcher, now: Ms, mutes: &Mutes<'_>) -> Vec<Notification> {
        d.flush(now, mutes, &[], &|_| OPTS).notifications
    }

    #[test]
    fn a_group_waits_then_sends_once_then_only_what_is_new() {
        let (r, m) = (route(), Mutes::default());
        let mut d = Dispatcher::default();
        let a = firing("5xx", "a", 0);
        d.insert(&r, &a, 0);
        assert!(flush(&mut d, 9_999, &m).is_empty(), "group_wait");
        let n = flush(&mut d, 10_000, &m);
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].alerts.len(), 1);
        assert_eq!(n[0].status, State::Firing);
        // A second alert of the group waits for the group_interval.
        let b = firing("5xx", "b", 20_000);
        d.insert(&r, &b, 20_000);
        assert!(flush(&mut d, 69_999, &m).is_empty());
        let n = flush(&mut d, 70_000, &m);
        assert_eq!(
            n[0].alerts.len(),
            2,
            "the notification shows the whole group"
        );
        // Nothing new: dedup holds until repeat_interval.
        assert!(flush(&mut d, 130_000, &m).is_empty());
        assert_eq!(flush(&mut d, 70_000 + 3_600_000, &m).len(), 1, "repeat");
    }

    #[test]
    fn resolved_alerts_are_said_once_and_then_leave_the_group() {
        let (r, m) = (route(), Mutes::default());
        let mut d = Dispatcher::default();
        let a = firing("5xx", "a", 0);
        d.insert(&r, &a, 0);
        flush(&mut d, 10_000, &m);
        d.insert(&r, &resolve(&a, 30_000), 30_000);
        let n = flush(&mut d, 70_000, &m);
        assert_eq!(n[0].status, State::Resolved);
        assert!(d.next_due().is_none(), "the group is gone");
        assert!(d.log().is_empty());
    }

    #[test]
    fn a_silenced_alert_is_left_out_and_reported() {
        let r = route();
        let s = Silence {
            id: "sil-1".into(),
            matchers: vec![Matcher::parse(r#"host="a""#).unwrap()],
            starts_at: 0,
            ends_at: 100_000,
            created_by: "me".into(),
            comment: "deploy".into(),
            created_at: 0,
        };
        let m = Mutes {
            silences: std::slice::from_ref(&s),
            ..Mutes::default()
        };
        let mut d = Dispatcher::default();
        d.insert(&r, &firing("5xx", "a", 0), 0);
        let f = d.flush(10_000, &m, &[], &|_| OPTS);
        assert!(f.notifications.is_empty());
        assert_eq!(f.muted[0].1, Muted::Silence("sil-1".into()));
        // After the silence ends, the alert is notified at the next flush.
        let n = flush(&mut d, 100_000, &m);
        assert_eq!(n.len(), 1);
    }

    #[test]
    fn without_send_resolved_the_end_is_logged_but_not_sent() {
        let (r, m) = (route(), Mutes::default());
        let mut d = Dispatcher::default();
        let a = firing("5xx", "a", 0);
        d.insert(&r, &a, 0);
        d.flush(10_000, &m, &[], &|_| ReceiverOpts {
            send_resolved: false,
            resend_ms: None,
        });
        d.insert(&r, &resolve(&a, 20_000), 20_000);
        let f = d.flush(70_000, &m, &[], &|_| ReceiverOpts {
            send_resolved: false,
            resend_ms: None,
        });
        assert!(f.notifications.is_empty());
        assert!(d.next_due().is_none());
    }

    #[test]
    fn alertmanager_receivers_are_re_sent_at_their_resend_interval() {
        let (r, m) = (route(), Mutes::default());
        let mut d = Dispatcher::default();
        d.insert(&r, &firing("5xx", "a", 0), 0);
        let am = |_: &str| ReceiverOpts {
            send_resolved: true,
            resend_ms: Some(30_000),
        };
        assert_eq!(d.flush(10_000, &m, &[], &am).notifications.len(), 1);
        assert!(d.flush(39_999, &m, &[], &am).notifications.is_empty());
        assert_eq!(d.flush(40_000, &m, &[], &am).notifications.len(), 1);
    }

    #[test]
    fn notification_ids_are_stable_for_the_same_group_and_time() {
        let (r, m) = (route(), Mutes::default());
        let mut one = Dispatcher::default();
        let mut two = Dispatcher::default();
        let a = firing("5xx", "a", 0);
        one.insert(&r, &a, 0);
        two.insert(&r, &a, 0);
        assert_eq!(
            flush(&mut one, 10_000, &m)[0].id,
            flush(&mut two, 10_000, &m)[0].id
        );
    }

    #[test]
    fn the_state_survives_a_round_trip_through_json() {
        let (r, m) = (route(), Mutes::default());
        let mut d = Dispatcher::default();
        d.insert(&r, &firing("5xx", "a", 0), 0);
        flush(&mut d, 10_000, &m);
        let mut back: Dispatcher =
            serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
        assert!(
            flush(&mut back, 70_000, &m).is_empty(),
            "no re-page after a restart"
        );
    }
}
