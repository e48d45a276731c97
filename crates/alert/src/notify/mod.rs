//! Notifiers: one per file, registered in [`build`]'s table. Each turns a [`Notification`]
//! into a message for one kind of receiver and says, when it fails, whether trying again
//! could help ([`SendError::retryable`]) and how long the receiver asked us to wait.
//!
//! Every message carries, per alert, the cause, reasons, top evidence lines, remediation
//! and a link to the incident under the configured external URL ([`annotations`]).
//!
//! Configs are plans: the app has validated them and resolved secrets from the environment
//! or files into plain strings. Their `Debug` output, like every error a notifier returns,
//! never shows a secret (passwords, signing keys, header values, webhook URL paths).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::alert::{Alert, Details};
use crate::dispatch::{Notification, ReceiverOpts};
use crate::Ms;

pub mod alertmanager;
pub mod email;
pub mod exec;
mod http;
#[cfg(test)]
pub(crate) mod testkit;
pub mod webhook;

/// A receiver as routes name it, with the plan of its notifier.
#[derive(Debug, Clone)]
pub struct Receiver {
    pub name: String,
    pub send_resolved: bool,
    pub kind: ReceiverKind,
}

/// One variant per notifier.
#[derive(Debug, Clone)]
pub enum ReceiverKind {
    Webhook(webhook::Config),
    Email(email::Config),
    Alertmanager(alertmanager::Config),
    Exec(exec::Config),
}

impl Receiver {
    /// What the dedup stage needs to know of this receiver.
    pub fn opts(&self) -> ReceiverOpts {
        let resend_ms = match &self.kind {
            // Alertmanager drops an alert at its endsAt unless we renew it.
            ReceiverKind::Alertmanager(c) => Some(c.resend_ms),
            _ => None,
        };
        ReceiverOpts {
            send_resolved: self.send_resolved,
            resend_ms,
        }
    }
}

/// The table of notifiers: a receiver's plan → the notifier that sends to it.
pub fn build(r: &Receiver) -> Result<Arc<dyn Notifier>, String> {
    let built: Result<Shared, String> = match &r.kind {
        ReceiverKind::Webhook(c) => webhook::Webhook::new(c).map(|n| Arc::new(n) as Shared),
        ReceiverKind::Email(c) => email::Email::new(c).map(|n| Arc::new(n) as Shared),
        ReceiverKind::Alertmanager(c) => {
            alertmanager::Alertmanager::new(c).map(|n| Arc::new(n) as Shared)
        }
        ReceiverKind::Exec(c) => exec::Exec::new(c).map(|n| Arc::new(n) as Shared),
    };
    built.map_err(|e| format!("receiver {:?}: {e}", r.name))
}

/// How many evidence lines a message shows, and how much of each.
pub const EVIDENCE_LINES: usize = 3;
pub const EVIDENCE_CHARS: usize = 300;

/// The first evidence lines as `source:line: text`. The text is log content, so anyone who
/// can write to a log can write here: it is capped and loses its control characters (which
/// could rewrite a terminal or forge a line break in a mail).
pub fn evidence_lines(d: &Details) -> Vec<String> {
    d.evidence
        .iter()
        .take(EVIDENCE_LINES)
        .map(|e| {
            format!(
                "{}:{}: {}",
                clean(&e.source, 200),
                e.line,
                clean(&e.text, EVIDENCE_CHARS)
            )
        })
        .collect()
}

/// At most `max` characters, control characters as spaces, `…` where it was cut.
fn clean(text: &str, max: usize) -> String {
    let mut out: String = text
        .chars()
        .take(max)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(max).is_some() {
        out.pop();
        out.push('…');
    }
    out
}

/// An alert's diagnosis as Alertmanager-style annotations (name → text), shared by every
/// notifier so receivers see the same words whichever way they are told.
pub fn annotations(alert: &Alert, ctx: &Context) -> BTreeMap<String, String> {
    let d = &alert.details;
    let joined = |lines: &[String]| (!lines.is_empty()).then(|| lines.join("\n"));
    let mut out = BTreeMap::new();
    out.insert("summary".to_string(), d.summary.clone());
    let optional = [
        ("cause", d.cause.clone()),
        ("category", d.category.clone()),
        ("confidence", d.confidence.map(|c| format!("{c:.2}"))),
        ("reasons", joined(&d.reasons)),
        ("evidence", joined(&evidence_lines(d))),
        ("remediation", joined(&d.remediation)),
        ("incident", d.incident.clone()),
        (
            "incident_url",
            d.incident.as_deref().map(|i| ctx.incident_url(i)),
        ),
        ("value", d.value.map(|v| v.to_string())),
    ];
    for (name, value) in optional {
        if let Some(v) = value {
            out.insert(name.to_string(), v);
        }
    }
    out
}

/// A time as RFC 3339 in UTC, as Alertmanager writes `startsAt` and `endsAt`.
pub fn rfc3339(ms: Ms) -> String {
    jiff::Timestamp::from_millisecond(ms)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| "0001-01-01T00:00:00Z".to_string())
}

/// The link for an alert: its incident's page, or faultline itself.
pub fn generator_url(alert: &Alert, ctx: &Context) -> String {
    match &alert.details.incident {
        Some(id) => ctx.incident_url(id),
        None => ctx.external_url.clone(),
    }
}

/// What a notifier needs besides the notification.
#[derive(Debug, Clone)]
pub struct Context {
    /// The clock now (ms since the epoch): signing timestamps, `endsAt`.
    pub now: Ms,
    /// Base of links to incidents and alerts (`http://faultline.example:9790`).
    pub external_url: String,
}

impl Context {
    /// The link to an incident's page in the API.
    pub fn incident_url(&self, id: &str) -> String {
        format!(
            "{}/api/v1/incidents/{id}",
            self.external_url.trim_end_matches('/')
        )
    }
}

/// A failed send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendError {
    pub retryable: bool,
    pub retry_after: Option<Ms>,
    pub message: String,
}

impl SendError {
    pub fn retry(message: String, retry_after: Option<Ms>) -> SendError {
        SendError {
            retryable: true,
            retry_after,
            message,
        }
    }

    pub fn fatal(message: String) -> SendError {
        SendError {
            retryable: false,
            retry_after: None,
            message,
        }
    }

    /// HTTP status rules: 429 and 5xx are retried, other 4xx are not.
    pub fn http(status: u16, body: &str, retry_after: Option<Ms>) -> SendError {
        let mut snippet: String = body.chars().take(200).collect();
        snippet.retain(|c| !c.is_control() || c == ' ');
        let message = format!("HTTP {status}: {snippet}");
        if status == 429 || status >= 500 {
            SendError::retry(message, retry_after)
        } else {
            SendError::fatal(message)
        }
    }
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Sends notifications to one receiver.
pub trait Notifier: Send + Sync + fmt::Debug {
    fn send(&self, n: &Notification, ctx: &Context) -> Result<(), SendError>;
}

/// Reads `Retry-After`: seconds, or an HTTP date.
pub fn parse_retry_after(value: &str, now: Ms) -> Option<Ms> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<i64>() {
        return Some(secs.max(0) * 1000);
    }
    let at = jiff::fmt::rfc2822::parse(v)
        .ok()?
        .timestamp()
        .as_millisecond();
    Some((at - now).max(0))
}

/// Shared for tests and builders.
pub type Shared = Arc<dyn Notifier>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::EvidenceLine;

    #[test]
    fn annotations_carry_the_diagnosis_with_capped_evidence() {
        let ctx = testkit::context();
        let mut n = testkit::notification();
        let d = &mut n.alerts[0].details;
        d.value = Some(0.25);
        d.evidence = (1..=5)
            .map(|i| EvidenceLine {
                source: "access.log".into(),
                line: i,
                text: "x".repeat(1000),
                signature: None,
            })
            .collect();
        let a = annotations(&n.alerts[0], &ctx);
        assert_eq!(a["summary"], "upstream refused connections for /api");
        assert_eq!(a["cause"], "upstream_down");
        assert_eq!(a["category"], "network");
        assert_eq!(a["confidence"], "0.92");
        assert_eq!(a["reasons"], "96% of the 5xx are 502\nconnect() refused");
        assert_eq!(a["remediation"], "check that the upstream is running");
        assert_eq!(a["incident"], "7");
        assert_eq!(
            a["incident_url"],
            "http://faultline.example:9790/api/v1/incidents/7"
        );
        assert_eq!(a["value"], "0.25");
        let evidence: Vec<&str> = a["evidence"].lines().collect();
        assert_eq!(evidence.len(), EVIDENCE_LINES);
        assert!(evidence[2].starts_with("access.log:3: xxx"));
        let text = evidence[0].split_once(": ").unwrap().1;
        assert_eq!(text.chars().count(), EVIDENCE_CHARS);
        let bare = annotations(&n.alerts[1], &ctx);
        let names: Vec<&str> = bare.keys().map(String::as_str).collect();
        assert_eq!(names, ["cause", "summary"]);
    }

    #[test]
    fn the_table_builds_every_kind_and_reports_bad_plans_by_receiver() {
        let hook = Receiver {
            name: "hook".into(),
            send_resolved: true,
            kind: ReceiverKind::Webhook(webhook::Config {
                url: "https://hooks.example/T0/s3cret".into(),
                secret: Some("whsec_c2VjcmV0LWtleQ==".into()),
                timeout_ms: 1000,
                headers: vec![],
            }),
        };
        assert!(build(&hook).is_ok());
        let shown = format!("{hook:?} {:?}", build(&hook).unwrap());
        assert!(
            !shown.contains("s3cret") && !shown.contains("c2VjcmV0"),
            "{shown}"
        );
        assert_eq!(hook.opts().resend_ms, None);
        let am = Receiver {
            name: "am".into(),
            send_resolved: false,
            kind: ReceiverKind::Alertmanager(alertmanager::Config {
                urls: vec!["http://am.example:9093".into()],
                ..alertmanager::Config::default()
            }),
        };
        assert!(build(&am).is_ok());
        let o = am.opts();
        assert_eq!((o.send_resolved, o.resend_ms), (false, Some(60_000)));
        let mail = Receiver {
            name: "mail".into(),
            send_resolved: true,
            kind: ReceiverKind::Email(email::Config {
                smarthost: "smtp.example:587".into(),
                from: "faultline@example.org".into(),
                to: vec!["ops@example.org".into()],
                starttls: email::StartTls::Required,
                username: Some("faultline".into()),
                password: Some("hunter2".into()),
                ca_file: None,
                hello: None,
                timeout_ms: 1000,
            }),
        };
        let shown = format!("{mail:?} {:?}", build(&mail).unwrap());
        assert!(!shown.contains("hunter2"), "{shown}");
        let exec = Receiver {
            name: "script".into(),
            send_resolved: true,
            kind: ReceiverKind::Exec(exec::Config {
                command: vec![],
                timeout_ms: 1000,
            }),
        };
        let err = build(&exec).unwrap_err();
        assert!(err.starts_with("receiver \"script\""), "{err}");
    }

    #[test]
    fn retry_after_is_read_as_seconds_or_a_date() {
        assert_eq!(parse_retry_after("120", 0), Some(120_000));
        let now = "2026-11-25T10:00:00Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_millisecond();
        assert_eq!(
            parse_retry_after("Wed, 25 Nov 2026 10:00:30 GMT", now),
            Some(30_000)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn http_statuses_say_whether_to_retry() {
        assert!(SendError::http(503, "", None).retryable);
        assert!(SendError::http(429, "", Some(5000)).retryable);
        assert!(!SendError::http(400, "bad payload", None).retryable);
        assert!(!SendError::http(401, "", None).retryable);
    }
}
