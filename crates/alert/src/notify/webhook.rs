//! Webhook: POSTs the notification as JSON in Alertmanager's webhook shape (version 4), so
//! receivers written for Alertmanager work unchanged, plus faultline's own fields: the
//! notification `id` and, per alert, its `id` and the whole `diagnosis`.
//!
//! Requests follow the Standard Webhooks spec: `webhook-id` (the notification id, the same
//! on every retry, so a receiver can drop a duplicate), `webhook-timestamp` (Unix seconds)
//! and, with a secret, `webhook-signature`: `v1,` and the base64 HMAC-SHA256 of
//! `{id}.{timestamp}.{body}` under the secret's key.

use std::collections::BTreeMap;
use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use serde::Serialize;
use sha2::Sha256;

use super::{annotations, generator_url, http, rfc3339, Context, Notifier, SendError};
use crate::alert::{Alert, Details, State};
use crate::dispatch::Notification;
use crate::{Labels, Ms};

/// What Alertmanager sends as the `endsAt` of an alert still firing (Go's zero time).
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// A webhook receiver's plan.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    pub url: String,
    /// A Standard Webhooks secret: `whsec_` and a base64 key (or the base64 key alone).
    pub secret: Option<String>,
    pub timeout_ms: Ms,
    /// Extra headers (`Authorization`, …), sent as given.
    pub headers: Vec<(String, String)>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("url", &http::redact_url(&self.url))
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("timeout_ms", &self.timeout_ms)
            .field("headers", &redacted_headers(&self.headers))
            .finish()
    }
}

fn redacted_headers(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers
        .iter()
        .map(|(name, _)| (name.as_str(), "<redacted>"))
        .collect()
}

/// The webhook notifier.
pub struct Webhook {
    url: String,
    key: Option<Vec<u8>>,
    headers: Vec<(String, String)>,
    agent: ureq::Agent,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &http::redact_url(&self.url))
            .field("signed", &self.key.is_some())
            .field("headers", &redacted_headers(&self.headers))
            .finish()
    }
}

impl Webhook {
    pub fn new(c: &Config) -> Result<Webhook, String> {
        http::check_url(&c.url)?;
        http::check_headers(&c.headers)?;
        Ok(Webhook {
            url: c.url.clone(),
            key: c.secret.as_deref().map(decode_secret).transpose()?,
            headers: c.headers.clone(),
            agent: http::agent(c.timeout_ms),
        })
    }
}

impl Notifier for Webhook {
    fn send(&self, n: &Notification, ctx: &Context) -> Result<(), SendError> {
        let body = payload(n, ctx)?;
        let timestamp = ctx.now.div_euclid(1000);
        let mut headers = self.headers.clone();
        headers.push(("webhook-id".into(), n.id.clone()));
        headers.push(("webhook-timestamp".into(), timestamp.to_string()));
        if let Some(key) = &self.key {
            let signature = sign(key, &n.id, timestamp, &body);
            headers.push(("webhook-signature".into(), signature));
        }
        http::post_json(&self.agent, &self.url, &headers, &body, ctx.now)
    }
}

/// The signing key of a Standard Webhooks secret. The error never quotes the secret.
pub fn decode_secret(secret: &str) -> Result<Vec<u8>, String> {
    let encoded = secret.trim();
    let encoded = encoded.strip_prefix("whsec_").unwrap_or(encoded);
    match STANDARD.decode(encoded) {
        Ok(key) if !key.is_empty() => Ok(key),
        Ok(_) => Err("the webhook secret is empty".to_string()),
        Err(_) => Err("the webhook secret is not base64 (after its whsec_ prefix)".to_string()),
    }
}

/// The `webhook-signature` value for one message.
pub fn sign(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key");
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body);
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Payload<'a> {
    version: &'static str,
    group_key: &'a str,
    truncated_alerts: u32,
    status: &'static str,
    receiver: &'a str,
    group_labels: &'a Labels,
    common_labels: Labels,
    common_annotations: BTreeMap<String, String>,
    #[serde(rename = "externalURL")]
    external_url: &'a str,
    alerts: Vec<PayloadAlert<'a>>,
    /// The notification's id, the same on every retry (and in `webhook-id`).
    id: &'a str,
    /// The same id under the name incident tools use to drop a duplicate.
    #[serde(rename = "dedup_key")]
    dedup_key: &'a str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PayloadAlert<'a> {
    status: &'static str,
    labels: &'a Labels,
    annotations: BTreeMap<String, String>,
    starts_at: String,
    ends_at: String,
    #[serde(rename = "generatorURL")]
    generator_url: String,
    fingerprint: &'a str,
    id: &'a str,
    diagnosis: &'a Details,
}

/// The JSON document a webhook receives (and an exec command reads on its stdin).
pub fn payload(n: &Notification, ctx: &Context) -> Result<Vec<u8>, SendError> {
    let alerts: Vec<PayloadAlert<'_>> = n.alerts.iter().map(|a| payload_alert(a, ctx)).collect();
    let doc = Payload {
        version: "4",
        group_key: &n.group_key,
        truncated_alerts: 0,
        status: n.status.as_str(),
        receiver: &n.receiver,
        group_labels: &n.group_labels,
        common_labels: n.common_labels(),
        common_annotations: common(alerts.iter().map(|a| &a.annotations)),
        external_url: &ctx.external_url,
        alerts,
        id: &n.id,
        dedup_key: &n.id,
    };
    serde_json::to_vec(&doc).map_err(|e| SendError::fatal(format!("encoding the payload: {e}")))
}

fn payload_alert<'a>(a: &'a Alert, ctx: &Context) -> PayloadAlert<'a> {
    let ends_at = match a.state {
        State::Resolved => rfc3339(a.resolved_at.unwrap_or(ctx.now)),
        State::Pending | State::Firing => ZERO_TIME.to_string(),
    };
    PayloadAlert {
        status: a.state.as_str(),
        labels: &a.labels,
        annotations: annotations(a, ctx),
        starts_at: rfc3339(a.starts_at()),
        ends_at,
        generator_url: generator_url(a, ctx),
        fingerprint: &a.fingerprint,
        id: &a.id,
        diagnosis: &a.details,
    }
}

/// The entries every map has with the same value.
fn common<'a>(
    mut maps: impl Iterator<Item = &'a BTreeMap<String, String>>,
) -> BTreeMap<String, String> {
    let Some(first) = maps.next() else {
        return BTreeMap::new();
    };
    let mut out = first.clone();
    for m in maps {
        out.retain(|k, v| m.get(k) == Some(v));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::testkit::{self, notification, unused_port, Reply};
    use serde_json::Value;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn hook(url: &str, secret: Option<&str>) -> Webhook {
        Webhook::new(&Config {
            url: url.to_string(),
            secret: secret.map(str::to_string),
            timeout_ms: 2_000,
            headers: vec![("Authorization".into(), "Bearer t0ken".into())],
        })
        .unwrap()
    }

    #[test]
    fn a_receiver_gets_the_v4_payload_with_the_diagnosis() {
        let server = testkit::serve(vec![Reply::status(200)]);
        let (n, ctx) = (notification(), testkit::context());
        hook(&server.url("/hook"), None).send(&n, &ctx).unwrap();
        let req = server.requests().remove(0);
        assert_eq!((req.method.as_str(), req.path.as_str()), ("POST", "/hook"));
        assert_eq!(req.header("content-type"), Some("application/json"));
        assert_eq!(req.header("authorization"), Some("Bearer t0ken"));
        let v: Value = serde_json::from_slice(&req.body).unwrap();
        assert_eq!(v["version"], "4");
        assert_eq!(v["id"], n.id.as_str());
        assert_eq!(v["dedup_key"], n.id.as_str());
        assert_eq!(v["status"], "firing");
        assert_eq!(v["receiver"], "ops");
        assert_eq!(v["groupKey"], n.group_key.as_str());
        assert_eq!(v["truncatedAlerts"], 0);
        assert_eq!(v["externalURL"], "http://faultline.example:9790");
        assert_eq!(v["groupLabels"]["alertname"], "incident");
        assert_eq!(v["commonLabels"]["host"], "shop.example");
        assert_eq!(v["commonAnnotations"]["cause"], "upstream_down");
        let a = &v["alerts"][0];
        assert_eq!(a["status"], "firing");
        assert_eq!(a["startsAt"], "2026-11-25T10:00:00Z");
        assert_eq!(a["endsAt"], ZERO_TIME);
        assert_eq!(
            a["generatorURL"],
            "http://faultline.example:9790/api/v1/incidents/7"
        );
        assert_eq!(a["fingerprint"], n.alerts[0].fingerprint.as_str());
        assert_eq!(a["id"], n.alerts[0].id.as_str());
        assert_eq!(a["annotations"]["confidence"], "0.92");
        assert_eq!(a["diagnosis"]["cause"], "upstream_down");
        assert_eq!(a["diagnosis"]["evidence"][0]["line"], 12);
        let resolved = &v["alerts"][1];
        assert_eq!(resolved["status"], "resolved");
        assert_eq!(resolved["endsAt"], "2026-11-25T10:05:00Z");
        assert_eq!(resolved["generatorURL"], "http://faultline.example:9790");
    }

    #[test]
    fn requests_carry_standard_webhooks_headers_and_a_signature_that_verifies() {
        let server = testkit::serve(vec![Reply::status(204), Reply::status(204)]);
        let (n, ctx) = (notification(), testkit::context());
        let h = hook(&server.url("/"), Some(SECRET));
        h.send(&n, &ctx).unwrap();
        let later = Context {
            now: ctx.now + 30_000,
            ..ctx.clone()
        };
        h.send(&n, &later).unwrap();
        let reqs = server.requests();
        let key = STANDARD.decode(&SECRET[6..]).unwrap();
        for (req, now) in reqs.iter().zip([ctx.now, ctx.now + 30_000]) {
            assert_eq!(
                req.header("webhook-id"),
                Some(n.id.as_str()),
                "same id on a retry"
            );
            let ts = req.header("webhook-timestamp").unwrap();
            assert_eq!(ts, (now / 1000).to_string());
            // What a receiver does: recompute the HMAC over the raw body it received.
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap();
            mac.update(format!("{}.{ts}.", n.id).as_bytes());
            mac.update(&req.body);
            let expected = STANDARD.encode(mac.finalize().into_bytes());
            let sig = req.header("webhook-signature").unwrap();
            assert_eq!(sig.strip_prefix("v1,"), Some(expected.as_str()));
        }
    }

    #[test]
    fn signatures_match_the_spec_example() {
        let key = decode_secret(SECRET).unwrap();
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_secret_is_base64_with_or_without_its_prefix_and_never_shown() {
        assert_eq!(decode_secret(SECRET), decode_secret(&SECRET[6..]));
        let err = decode_secret("whsec_not*base64!").unwrap_err();
        assert!(!err.contains("not*base64"), "{err}");
        let c = Config {
            url: "https://hooks.example/services/T0/B0/XyZ".into(),
            secret: Some(SECRET.into()),
            timeout_ms: 1000,
            headers: vec![("Authorization".into(), "Bearer t0ken".into())],
        };
        let shown = format!("{c:?} {:?}", Webhook::new(&c).unwrap());
        for secret in [&SECRET[6..], "t0ken", "XyZ"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        let bad = Config {
            secret: Some("whsec_***".into()),
            ..c
        };
        assert!(Webhook::new(&bad).is_err());
    }

    #[test]
    fn failures_say_whether_a_retry_can_help() {
        let server = testkit::serve(vec![
            Reply::status(500),
            Reply::status(400).body("bad payload"),
            Reply::status(429).header("Retry-After", "7"),
        ]);
        let (n, ctx) = (notification(), testkit::context());
        let h = hook(&server.url("/"), None);
        let e500 = h.send(&n, &ctx).unwrap_err();
        assert!(e500.retryable, "{e500}");
        let e400 = h.send(&n, &ctx).unwrap_err();
        assert!(
            !e400.retryable && e400.message.contains("bad payload"),
            "{e400}"
        );
        let e429 = h.send(&n, &ctx).unwrap_err();
        assert!(e429.retryable);
        assert_eq!(e429.retry_after, Some(7_000));
    }

    #[test]
    fn a_receiver_that_is_down_is_retried() {
        let url = format!("http://127.0.0.1:{}/secret-path", unused_port());
        let err = hook(&url, None)
            .send(&notification(), &testkit::context())
            .unwrap_err();
        assert!(err.retryable, "{err}");
        assert!(!err.message.contains("secret-path"), "{err}");
    }

    #[test]
    fn a_redirect_is_not_followed() {
        let server = testkit::serve(vec![
            Reply::status(301).header("Location", "http://elsewhere/")
        ]);
        let err = hook(&server.url("/"), None)
            .send(&notification(), &testkit::context())
            .unwrap_err();
        assert!(!err.retryable && err.message.contains("301"), "{err}");
    }
}
