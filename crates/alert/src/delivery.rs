//! The retry and record stages: notifications wait in a durable outbox (the store implements
//! [`Outbox`]); [`deliver_due`] sends those that are due, and records every attempt. A
//! failure the notifier calls retryable is tried again after a jittered exponential backoff
//! (or the receiver's `Retry-After`, if longer) until `give_up_ms` after the notification was
//! made; others fail at once and are reported.

use serde::{Deserialize, Serialize};

use crate::dispatch::Notification;
use crate::notify::{Context, Notifier, SendError};
use crate::Ms;

/// Backoff settings.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub first_ms: Ms,
    pub max_ms: Ms,
    pub give_up_ms: Ms,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            first_ms: 1_000,
            max_ms: 5 * 60_000,
            give_up_ms: 24 * 3_600_000,
        }
    }
}

/// The delay before attempt `attempts + 1`: doubling from `first_ms` up to `max_ms`, each
/// spread by ±25 % (derived from the id, so it is the same after a restart and different
/// for notifications that failed together), and never before `Retry-After`.
pub fn backoff(policy: &Policy, id: &str, attempts: u32, retry_after: Option<Ms>) -> Ms {
    let exp = policy
        .first_ms
        .saturating_mul(1i64 << attempts.saturating_sub(1).min(30))
        .min(policy.max_ms);
    let h = crate::hash64(format!("{id}#{attempts}").as_bytes());
    let spread = (h % 501) as i64 - 250; // per mille, -250..=250
    let jittered = exp + exp * spread / 1000;
    jittered.max(retry_after.unwrap_or(0)).max(1)
}

/// A notification waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Queued {
    pub notification: Notification,
    pub attempts: u32,
    pub next_at: Ms,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Delivered,
    /// Will be tried again at `next_at`.
    Retry,
    /// Not retryable, or retried for too long.
    Failed,
}

/// One attempt, as the history keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub notification: String,
    pub receiver: String,
    pub attempt: u32,
    pub at: Ms,
    pub outcome: Outcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_at: Option<Ms>,
}

/// Where notifications wait; implemented by the store.
pub trait Outbox {
    type Error: std::fmt::Display;
    /// Undelivered notifications due at `now`, oldest first, at most `limit`. Only the
    /// oldest undelivered notification of a receiver's group is ever due: a group's
    /// notifications are sent in the order they were made.
    fn due(&mut self, now: Ms, limit: usize) -> Result<Vec<Queued>, Self::Error>;
    /// Records an attempt; `Delivered` and `Failed` take the notification out of the queue,
    /// `Retry` moves it to `next_at`.
    fn record(&mut self, attempt: &Attempt) -> Result<(), Self::Error>;
}

/// Judges one send.
pub fn judge(policy: &Policy, q: &Queued, result: Result<(), SendError>, now: Ms) -> Attempt {
    let n = &q.notification;
    let attempt = q.attempts + 1;
    let (outcome, error, next_at) = match result {
        Ok(()) => (Outcome::Delivered, None, None),
        Err(e) if !e.retryable => (Outcome::Failed, Some(e.message), None),
        Err(e) => {
            let next = now + backoff(policy, &n.id, attempt, e.retry_after);
            if next - n.created_at > policy.give_up_ms {
                let msg = format!("{} (gave up after {attempt} attempts)", e.message);
                (Outcome::Failed, Some(msg), None)
            } else {
                (Outcome::Retry, Some(e.message), Some(next))
            }
        }
    };
    Attempt {
        notification: n.id.clone(),
        receiver: n.receiver.clone(),
        attempt,
        at: now,
        outcome,
        error,
        next_at,
    }
}

/// Sends what is due and records each attempt. A notification for a receiver that no
/// longer exists fails.
pub fn deliver_due<O: Outbox>(
    outbox: &mut O,
    notifier: &dyn Fn(&str) -> Option<std::sync::Arc<dyn Notifier>>,
    policy: &Policy,
    ctx: &Context,
    limit: usize,
) -> Result<Vec<Attempt>, O::Error> {
    let mut done = Vec::new();
    for q in outbox.due(ctx.now, limit)? {
        let result = match notifier(&q.notification.receiver) {
            Some(n) => n.send(&q.notification, ctx),
            None => Err(SendError::fatal(format!(
                "receiver {:?} is not configured",
                q.notification.receiver
            ))),
        };
        let a = judge(policy, &q, result, ctx.now);
        outbox.record(&a)?;
        done.push(a);
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::State;
    use crate::Labels;

    fn queued(attempts: u32) -> Queued {
        Queued {
            notification: Notification {
                id: "ntf-1".into(),
                receiver: "hook".into(),
                group_key: "0:{}".into(),
                group_labels: Labels::new(),
                status: State::Firing,
                alerts: vec![],
                created_at: 0,
            },
            attempts,
            next_at: 0,
        }
    }

    #[test]
    fn backoff_doubles_with_jitter_and_respects_retry_after() {
        let p = Policy::default();
        for attempt in 1..=12 {
            let d = backoff(&p, "ntf-1", attempt, None);
            let exp = (1000i64 << (attempt - 1)).min(p.max_ms);
            assert!(
                d >= exp * 3 / 4 && d <= exp * 5 / 4,
                "attempt {attempt}: {d}"
            );
        }
        assert_ne!(backoff(&p, "ntf-1", 3, None), backoff(&p, "ntf-2", 3, None));
        assert_eq!(backoff(&p, "ntf-1", 3, None), backoff(&p, "ntf-1", 3, None));
        assert_eq!(backoff(&p, "ntf-1", 1, Some(120_000)), 120_000);
    }

    #[test]
    fn only_retryable_errors_are_retried_and_not_forever() {
        let p = Policy::default();
        let ok = judge(&p, &queued(0), Ok(()), 10);
        assert_eq!((ok.outcome, ok.attempt), (Outcome::Delivered, 1));
        let bad = judge(&p, &queued(0), Err(SendError::fatal("HTTP 400".into())), 10);
        assert_eq!(bad.outcome, Outcome::Failed);
        let again = judge(
            &p,
            &queued(2),
            Err(SendError::retry("HTTP 503".into(), None)),
            10,
        );
        assert_eq!(again.outcome, Outcome::Retry);
        assert!(again.next_at.unwrap() >= 10 + 3_000);
        let late = p.give_up_ms;
        let over = judge(
            &p,
            &queued(9),
            Err(SendError::retry("down".into(), None)),
            late,
        );
        assert_eq!(over.outcome, Outcome::Failed);
        assert!(over.error.unwrap().contains("gave up"));
    }
}
