//! Alertmanager: hands alerts to an existing Alertmanager through its API
//! (`POST /api/v2/alerts`), so its routing, silences and receivers take over from here.
//!
//! As Prometheus does for an HA cluster, every node gets every alert (the nodes gossip and
//! deduplicate among themselves), and a firing alert's `endsAt` is four resend intervals
//! ahead: if faultline stops renewing it, Alertmanager resolves it on its own.

use std::fmt;

use serde::Serialize;

use super::{annotations, generator_url, http, rfc3339, Context, Notifier, SendError};
use crate::alert::{Alert, State};
use crate::dispatch::Notification;
use crate::{Labels, Ms};

/// How often firing alerts are re-sent unless configured (Prometheus' `resend_delay`).
pub const DEFAULT_RESEND_MS: Ms = 60_000;

/// An Alertmanager receiver's plan.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    /// The base URL of every node of the cluster (`http://am-0:9093`).
    pub urls: Vec<String>,
    pub resend_ms: Ms,
    pub timeout_ms: Ms,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            urls: vec![],
            resend_ms: DEFAULT_RESEND_MS,
            timeout_ms: 10_000,
        }
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let urls: Vec<String> = self.urls.iter().map(|u| http::redact_url(u)).collect();
        f.debug_struct("Config")
            .field("urls", &urls)
            .field("resend_ms", &self.resend_ms)
            .field("timeout_ms", &self.timeout_ms)
            .finish()
    }
}

/// The Alertmanager notifier.
pub struct Alertmanager {
    endpoints: Vec<String>,
    resend_ms: Ms,
    agent: ureq::Agent,
}

impl fmt::Debug for Alertmanager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nodes: Vec<String> = self.endpoints.iter().map(|u| http::redact_url(u)).collect();
        f.debug_struct("Alertmanager")
            .field("nodes", &nodes)
            .field("resend_ms", &self.resend_ms)
            .finish()
    }
}

impl Alertmanager {
    pub fn new(c: &Config) -> Result<Alertmanager, String> {
        if c.urls.is_empty() {
            return Err("no Alertmanager URL".to_string());
        }
        if c.resend_ms <= 0 {
            return Err("resend interval must be positive".to_string());
        }
        let mut endpoints = Vec::new();
        for url in &c.urls {
            http::check_url(url)?;
            endpoints.push(format!("{}/api/v2/alerts", url.trim_end_matches('/')));
        }
        Ok(Alertmanager {
            endpoints,
            resend_ms: c.resend_ms,
            agent: http::agent(c.timeout_ms),
        })
    }
}

/// One alert as Alertmanager's API takes it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Postable<'a> {
    labels: &'a Labels,
    annotations: std::collections::BTreeMap<String, String>,
    starts_at: String,
    ends_at: String,
    #[serde(rename = "generatorURL")]
    generator_url: String,
}

impl Alertmanager {
    fn postable<'a>(&self, a: &'a Alert, ctx: &Context) -> Postable<'a> {
        let ends_at = match a.state {
            State::Resolved => a.resolved_at.unwrap_or(ctx.now),
            State::Pending | State::Firing => ctx.now + 4 * self.resend_ms,
        };
        Postable {
            labels: &a.labels,
            annotations: annotations(a, ctx),
            starts_at: rfc3339(a.starts_at()),
            ends_at: rfc3339(ends_at),
            generator_url: generator_url(a, ctx),
        }
    }

    /// Posts to every node at once, so a node that hangs costs one timeout, not one each.
    fn post_all(&self, body: &[u8], now: Ms) -> Vec<Result<(), SendError>> {
        std::thread::scope(|s| {
            let posts: Vec<_> = self
                .endpoints
                .iter()
                .map(|url| s.spawn(move || http::post_json(&self.agent, url, &[], body, now)))
                .collect();
            posts
                .into_iter()
                .map(|p| {
                    p.join()
                        .unwrap_or_else(|_| Err(SendError::retry("post panicked".into(), None)))
                })
                .collect()
        })
    }
}

impl Notifier for Alertmanager {
    fn send(&self, n: &Notification, ctx: &Context) -> Result<(), SendError> {
        let alerts: Vec<Postable<'_>> = n.alerts.iter().map(|a| self.postable(a, ctx)).collect();
        let body = serde_json::to_vec(&alerts)
            .map_err(|e| SendError::fatal(format!("encoding the alerts: {e}")))?;
        let results = self.post_all(&body, ctx.now);
        if results.iter().any(Result::is_ok) {
            return Ok(());
        }
        let failures: Vec<(&String, SendError)> = self
            .endpoints
            .iter()
            .zip(results)
            .filter_map(|(url, r)| r.err().map(|e| (url, e)))
            .collect();
        Err(all_failed(&failures))
    }
}

/// Every node refused: retry if any of them might accept later, as soon as the earliest
/// `Retry-After` allows.
fn all_failed(failures: &[(&String, SendError)]) -> SendError {
    let message = failures
        .iter()
        .map(|(url, e)| format!("{}: {}", http::redact_url(url), e.message))
        .collect::<Vec<_>>()
        .join("; ");
    let retryable: Vec<&SendError> = failures
        .iter()
        .map(|(_, e)| e)
        .filter(|e| e.retryable)
        .collect();
    if retryable.is_empty() {
        return SendError::fatal(message);
    }
    let retry_after = retryable.iter().filter_map(|e| e.retry_after).min();
    SendError::retry(message, retry_after)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::testkit::{self, at, notification, unused_port, Reply};
    use serde_json::Value;

    fn am(urls: Vec<String>) -> Alertmanager {
        Alertmanager::new(&Config {
            urls,
            resend_ms: 30_000,
            timeout_ms: 2_000,
        })
        .unwrap()
    }

    #[test]
    fn every_node_gets_the_alerts_and_one_acceptance_is_enough() {
        let up = testkit::serve(vec![Reply::status(200)]);
        let down = testkit::serve(vec![Reply::status(500)]);
        let (n, ctx) = (notification(), testkit::context());
        am(vec![up.url("/"), down.url("")]).send(&n, &ctx).unwrap();
        for server in [&up, &down] {
            let req = &server.requests()[0];
            assert_eq!(
                (req.method.as_str(), req.path.as_str()),
                ("POST", "/api/v2/alerts")
            );
        }
        let v: Value = serde_json::from_slice(&up.requests()[0].body).unwrap();
        let firing = &v[0];
        assert_eq!(firing["labels"]["alertname"], "incident");
        assert_eq!(firing["annotations"]["cause"], "upstream_down");
        assert_eq!(firing["startsAt"], "2026-11-25T10:00:00Z");
        assert_eq!(firing["endsAt"], rfc3339(ctx.now + 4 * 30_000));
        assert_eq!(firing["endsAt"], "2026-11-25T10:08:00Z");
        assert_eq!(
            firing["generatorURL"],
            "http://faultline.example:9790/api/v1/incidents/7"
        );
        assert_eq!(v[1]["endsAt"], rfc3339(at("2026-11-25T10:05:00Z")));
        assert_eq!(v.as_array().unwrap().len(), 2);
    }

    #[test]
    fn when_every_node_fails_each_failure_is_listed() {
        let bad = testkit::serve(vec![Reply::status(400).body("invalid alert")]);
        let refused = format!("http://127.0.0.1:{}", unused_port());
        let err = am(vec![bad.url(""), refused.clone()])
            .send(&notification(), &testkit::context())
            .unwrap_err();
        assert!(err.retryable, "the refused node may come back: {err}");
        assert!(err.message.contains("invalid alert"), "{err}");
        assert!(err.message.contains(&refused), "{err}");
        let only_bad = testkit::serve(vec![Reply::status(400)]);
        let err = am(vec![only_bad.url("")])
            .send(&notification(), &testkit::context())
            .unwrap_err();
        assert!(!err.retryable, "{err}");
    }

    #[test]
    fn a_cluster_needs_at_least_one_valid_url() {
        assert!(Alertmanager::new(&Config::default()).is_err());
        let c = Config {
            urls: vec!["am:9093".into()],
            ..Config::default()
        };
        assert!(Alertmanager::new(&c).is_err());
    }
}
