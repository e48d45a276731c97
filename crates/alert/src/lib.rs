//! # faultline-alert
//!
//! Who gets told, when, and what: rules turn the live pipeline's facts into alerts with a
//! lifecycle (pending → firing → resolved, with `for` and keep-firing hysteresis), and
//! delivery runs them through stages as Alertmanager does:
//!
//! mute (silences, maintenance windows, inhibition) → wait (`group_wait`,
//! `group_interval`) → dedup (the notification log, `repeat_interval`) → outbox → retry
//! (jittered backoff, `Retry-After`, non-retryable errors reported) → record.
//!
//! Its place in DESIGN §3: it depends on `faultline-model` only for shared vocabulary; it
//! defines [`delivery::Outbox`], which `faultline-store` implements, so a receiver outage or
//! a restart loses no notification. Everything but [`notify`] is pure: time is a parameter
//! (milliseconds since the epoch, [`Ms`]) and state is plain serialisable data.
//!
//! Key types:
//! - [`rule::Rule`] and [`rule::Evaluator`]: conditions → alerts.
//! - [`route::Route`]: the routing tree (matchers, `continue`, grouping and its timers).
//! - [`dispatch::Dispatcher`]: groups, the mute stage, the notification log →
//!   [`dispatch::Notification`]s with stable ids.
//! - [`silence::Silence`], [`window::Window`], [`inhibit::InhibitRule`]: what mutes.
//! - [`delivery`]: backoff, attempts, the [`delivery::Outbox`] trait.
//! - [`notify`]: one notifier per file (webhook, email, Alertmanager, exec).
//!
//! ```
//! use faultline_alert::dispatch::{Dispatcher, Mutes, ReceiverOpts};
//! use faultline_alert::route::{Route, RouteConfig};
//! use faultline_alert::rule::{Evaluator, Facts, IncidentFact, Rule, RuleKind};
//! use faultline_alert::alert::Details;
//!
//! let rule = Rule {
//!     name: "incident".into(),
//!     kind: RuleKind::Incident { causes: vec![], categories: vec![], scope: vec![], min_errors: 1 },
//!     for_ms: 0,
//!     keep_firing_ms: 60_000,
//!     severity: "page".into(),
//!     labels: Default::default(),
//! };
//! let route = Route::build(&RouteConfig {
//!     receiver: Some("ops".into()),
//!     group_wait: Some(0),
//!     ..RouteConfig::default()
//! })
//! .unwrap();
//! let incident = IncidentFact {
//!     key: "1".into(),
//!     errors: 40,
//!     details: Details { summary: "upstream refused".into(), ..Details::default() },
//!     ..IncidentFact::default()
//! };
//! let (mut rules, mut groups) = (Evaluator::default(), Dispatcher::default());
//! let now = 1_700_000_000_000;
//! let facts = Facts { incidents: std::slice::from_ref(&incident), ..Facts::default() };
//! for alert in rules.evaluate(&[rule], &facts, now) {
//!     groups.insert(&route, &alert, now);
//! }
//! let firing: Vec<_> = rules.firing().collect();
//! let out = groups.flush(now, &Mutes::default(), &firing, &|_| ReceiverOpts {
//!     send_resolved: true,
//!     resend_ms: None,
//! });
//! assert_eq!(out.notifications.len(), 1);
//! assert_eq!(out.notifications[0].receiver, "ops");
//! ```

pub mod alert;
pub mod delivery;
pub mod dispatch;
pub mod inhibit;
pub mod matcher;
pub mod notify;
pub mod ratio;
pub mod route;
pub mod rule;
pub mod silence;
pub mod window;

use std::collections::BTreeMap;

/// Milliseconds since the Unix epoch.
pub type Ms = i64;

/// Label names to values, ordered (fingerprints and group keys depend on the order).
pub type Labels = BTreeMap<String, String>;

/// A 64-bit FNV-1a hash (stable across versions and platforms).
pub fn hash64(bytes: &[u8]) -> u64 {
    faultline_model::join::fnv1a(bytes)
}

/// The fingerprint of a label set: 16 hex digits.
pub fn fingerprint(labels: &Labels) -> String {
    let mut text = String::new();
    for (k, v) in labels {
        text.push_str(k);
        text.push('\u{ff}');
        text.push_str(v);
        text.push('\u{ff}');
    }
    format!("{:016x}", hash64(text.as_bytes()))
}

/// A duration for people: `90s` → `1m30s`.
pub fn human_ms(ms: Ms) -> String {
    let s = ms / 1000;
    let (d, h, m, sec) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    let mut out = String::new();
    for (v, u) in [(d, "d"), (h, "h"), (m, "m"), (sec, "s")] {
        if v > 0 {
            out.push_str(&format!("{v}{u}"));
        }
    }
    if out.is_empty() {
        format!("{ms}ms")
    } else {
        out
    }
}
