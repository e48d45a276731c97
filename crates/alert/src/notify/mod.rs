//! Notifiers: one per file, registered in [`build`]'s table. Each turns a [`Notification`]
//! into a message for one kind of receiver and says, when it fails, whether trying again
//! could help ([`SendError::retryable`]) and how long the receiver asked us to wait.
//!
//! Every message carries, per alert, the cause, reasons, top evidence lines, remediation
//! and a link to the incident under the configured external URL.

use std::fmt;
use std::sync::Arc;

use crate::dispatch::Notification;
use crate::Ms;

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
