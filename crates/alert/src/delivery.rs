//! The retry and record stages: notifications wait in a durable outbox (the store implements
//! [`Outbox`]); [`Couriers`] send those that are due, one thread per receiver, and every
//! attempt is recorded. A
//! failure the notifier calls retryable is tried again after a jittered exponential backoff
//! (or the receiver's `Retry-After`, if longer) until `give_up_ms` after the notification was
//! made; others fail at once and are reported.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

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

/// The clock of the delivery stage (ms since the epoch); injected so tests control it.
pub type Clock = Arc<dyn Fn() -> Ms + Send + Sync>;

/// What the couriers need besides the notifiers.
#[derive(Clone)]
pub struct Setup {
    pub policy: Policy,
    /// Base of the links in notifications.
    pub external_url: String,
    pub clock: Clock,
    /// Called after each attempt ends, from the courier's thread (to wake the caller for
    /// [`Couriers::collect`]).
    pub on_done: Arc<dyn Fn() + Send + Sync>,
}

impl std::fmt::Debug for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Setup")
            .field("policy", &self.policy)
            .field("external_url", &self.external_url)
            .finish_non_exhaustive()
    }
}

/// One sending thread per receiver, so a receiver that is slow or down delays only its own
/// notifications. The caller owns the outbox: [`Couriers::dispatch`] hands what is due to
/// the receivers' threads, [`Couriers::collect`] records the attempts they finished. A
/// notification being sent is not handed out again; a group's next one waits in the outbox
/// until it is recorded (the outbox gives only the oldest of a group).
pub struct Couriers {
    lanes: BTreeMap<String, mpsc::Sender<Queued>>,
    done: mpsc::Receiver<Attempt>,
    in_flight: HashSet<String>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    setup: Setup,
}

impl std::fmt::Debug for Couriers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Couriers")
            .field("receivers", &self.lanes.keys().collect::<Vec<_>>())
            .field("in_flight", &self.in_flight.len())
            .finish()
    }
}

impl Couriers {
    /// Starts a thread for each receiver.
    pub fn start(notifiers: BTreeMap<String, Arc<dyn Notifier>>, setup: Setup) -> Couriers {
        let (done_tx, done) = mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let mut lanes = BTreeMap::new();
        let mut threads = Vec::new();
        for (name, notifier) in notifiers {
            let (tx, rx) = mpsc::channel::<Queued>();
            let (done_tx, stop, setup) = (done_tx.clone(), stop.clone(), setup.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("deliver {name}"))
                .spawn(move || {
                    for q in rx {
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                        let ctx = Context {
                            now: (setup.clock)(),
                            external_url: setup.external_url.clone(),
                        };
                        let result = notifier.send(&q.notification, &ctx);
                        let a = judge(&setup.policy, &q, result, (setup.clock)());
                        if done_tx.send(a).is_err() {
                            break;
                        }
                        (setup.on_done)();
                    }
                });
            // A receiver whose thread cannot start gets no lane: its notifications fail
            // with a reason instead of waiting for ever.
            if let Ok(handle) = spawned {
                lanes.insert(name, tx);
                threads.push(handle);
            }
        }
        Couriers {
            lanes,
            done,
            in_flight: HashSet::new(),
            stop,
            threads,
            setup,
        }
    }

    /// Hands the notifications due now to their receivers' threads (at most `limit` new
    /// ones). A notification for a receiver that is not configured fails at once; its
    /// attempt is recorded and returned.
    pub fn dispatch<O: Outbox>(
        &mut self,
        outbox: &mut O,
        limit: usize,
    ) -> Result<Vec<Attempt>, O::Error> {
        let now = (self.setup.clock)();
        let mut failed = Vec::new();
        let mut handed = 0;
        for q in outbox.due(now, limit + self.in_flight.len())? {
            if handed == limit {
                break;
            }
            if self.in_flight.contains(&q.notification.id) {
                continue;
            }
            let id = q.notification.id.clone();
            // A receiver without a lane gets the notification back, to fail it.
            let unsent = match self.lanes.get(&q.notification.receiver) {
                Some(tx) => tx.send(q).err().map(|e| e.0),
                None => Some(q),
            };
            let Some(q) = unsent else {
                self.in_flight.insert(id);
                handed += 1;
                continue;
            };
            let err = SendError::fatal(format!(
                "receiver {:?} is not configured",
                q.notification.receiver
            ));
            let a = judge(&self.setup.policy, &q, Err(err), now);
            outbox.record(&a)?;
            failed.push(a);
        }
        Ok(failed)
    }

    /// Records the attempts finished since the last call, waiting up to `wait` for the
    /// first one.
    pub fn collect<O: Outbox>(
        &mut self,
        outbox: &mut O,
        wait: Duration,
    ) -> Result<Vec<Attempt>, O::Error> {
        let mut out = Vec::new();
        let first = if wait.is_zero() {
            self.done.try_recv().ok()
        } else {
            self.done.recv_timeout(wait).ok()
        };
        let mut next = first;
        while let Some(a) = next {
            // Out of flight even if the record fails: the notification stays in the
            // outbox and is sent again, with the same id.
            self.in_flight.remove(&a.notification);
            outbox.record(&a)?;
            out.push(a);
            next = self.done.try_recv().ok();
        }
        Ok(out)
    }

    /// How many notifications are being sent.
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Lets each thread finish the send it is in, skips what waits behind it, and records
    /// the attempts that finished.
    pub fn finish<O: Outbox>(mut self, outbox: &mut O) -> Result<Vec<Attempt>, O::Error> {
        self.stop.store(true, Ordering::Relaxed);
        self.lanes.clear();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        self.collect(outbox, Duration::ZERO)
    }
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

    /// An outbox in memory: pending notifications by id, oldest first.
    #[derive(Default)]
    struct Memory {
        pending: Vec<Queued>,
        records: Vec<Attempt>,
    }

    impl Outbox for Memory {
        type Error = String;
        fn due(&mut self, now: Ms, limit: usize) -> Result<Vec<Queued>, String> {
            let mut seen = HashSet::new();
            Ok(self
                .pending
                .iter()
                .filter(|q| seen.insert(q.notification.group_key.clone()) && q.next_at <= now)
                .take(limit)
                .cloned()
                .collect())
        }
        fn record(&mut self, a: &Attempt) -> Result<(), String> {
            if a.outcome == Outcome::Retry {
                for q in &mut self.pending {
                    if q.notification.id == a.notification {
                        q.attempts = a.attempt;
                        q.next_at = a.next_at.unwrap_or(q.next_at);
                    }
                }
            } else {
                self.pending.retain(|q| q.notification.id != a.notification);
            }
            self.records.push(a.clone());
            Ok(())
        }
    }

    /// A receiver that answers only when the test lets it, and says when it was called.
    #[derive(Debug)]
    struct Gate {
        called: std::sync::Mutex<mpsc::Sender<String>>,
        open: std::sync::Mutex<mpsc::Receiver<()>>,
    }

    impl Notifier for Gate {
        fn send(&self, n: &Notification, _: &Context) -> Result<(), SendError> {
            let _ = self.called.lock().unwrap().send(n.id.clone());
            self.open
                .lock()
                .unwrap()
                .recv()
                .map_err(|_| SendError::fatal("closed".into()))
        }
    }

    #[derive(Debug)]
    struct Instant;

    impl Notifier for Instant {
        fn send(&self, _: &Notification, _: &Context) -> Result<(), SendError> {
            Ok(())
        }
    }

    fn to(receiver: &str, id: &str, group: &str) -> Queued {
        let mut q = queued(0);
        q.notification.id = id.into();
        q.notification.receiver = receiver.into();
        q.notification.group_key = group.into();
        q
    }

    #[test]
    fn a_receiver_that_hangs_delays_only_its_own_notifications() {
        let (called_tx, called) = mpsc::channel();
        let (open, open_rx) = mpsc::channel();
        let mut notifiers: BTreeMap<String, Arc<dyn Notifier>> = BTreeMap::new();
        notifiers.insert(
            "slow".into(),
            Arc::new(Gate {
                called: std::sync::Mutex::new(called_tx),
                open: std::sync::Mutex::new(open_rx),
            }),
        );
        notifiers.insert("fast".into(), Arc::new(Instant));
        let setup = Setup {
            policy: Policy::default(),
            external_url: String::new(),
            clock: Arc::new(|| 5_000),
            on_done: Arc::new(|| {}),
        };
        let mut couriers = Couriers::start(notifiers, setup);
        let mut outbox = Memory {
            pending: vec![
                to("slow", "ntf-s1", "slow:a"),
                to("slow", "ntf-s2", "slow:a"),
                to("fast", "ntf-f1", "fast:a"),
                to("gone", "ntf-g1", "gone:a"),
            ],
            ..Memory::default()
        };
        // The unknown receiver fails at once; the others are handed out.
        let failed = couriers.dispatch(&mut outbox, 10).unwrap();
        assert_eq!(failed.len(), 1);
        assert_eq!(
            (failed[0].notification.as_str(), failed[0].outcome),
            ("ntf-g1", Outcome::Failed)
        );
        assert_eq!(called.recv().unwrap(), "ntf-s1");
        // The fast receiver's page is recorded while the slow one still hangs.
        let done = couriers
            .collect(&mut outbox, Duration::from_secs(10))
            .unwrap();
        assert_eq!(done.len(), 1);
        assert_eq!(
            (done[0].notification.as_str(), done[0].outcome),
            ("ntf-f1", Outcome::Delivered)
        );
        // The one in flight is not handed out again, and its group's next one waits.
        assert!(couriers.dispatch(&mut outbox, 10).unwrap().is_empty());
        assert_eq!(couriers.in_flight(), 1);
        open.send(()).unwrap();
        let done = couriers
            .collect(&mut outbox, Duration::from_secs(10))
            .unwrap();
        assert_eq!(done[0].notification, "ntf-s1");
        couriers.dispatch(&mut outbox, 10).unwrap();
        assert_eq!(
            called.recv().unwrap(),
            "ntf-s2",
            "the group's next, in order"
        );
        open.send(()).unwrap();
        couriers
            .collect(&mut outbox, Duration::from_secs(10))
            .unwrap();
        assert!(outbox.pending.is_empty());
        assert!(couriers.finish(&mut outbox).unwrap().is_empty());
        let order: Vec<&str> = outbox
            .records
            .iter()
            .map(|a| a.notification.as_str())
            .collect();
        assert_eq!(order, ["ntf-g1", "ntf-f1", "ntf-s1", "ntf-s2"]);
    }

    #[test]
    fn a_retry_after_longer_than_the_backoff_is_waited_for() {
        use crate::notify::testkit::{self, Reply};
        use crate::notify::webhook::{Config, Webhook};
        use std::sync::atomic::AtomicI64;

        let server = testkit::serve(vec![
            Reply::status(429).header("Retry-After", "120"),
            Reply::status(200),
        ]);
        let hook = Webhook::new(&Config {
            url: server.url("/hook"),
            secret: None,
            timeout_ms: 2_000,
            headers: vec![],
        })
        .unwrap();
        let mut notifiers: BTreeMap<String, Arc<dyn Notifier>> = BTreeMap::new();
        notifiers.insert("hook".into(), Arc::new(hook));
        let now = Arc::new(AtomicI64::new(10_000));
        let clock = now.clone();
        let setup = Setup {
            policy: Policy::default(),
            external_url: String::new(),
            clock: Arc::new(move || clock.load(Ordering::SeqCst)),
            on_done: Arc::new(|| {}),
        };
        let mut couriers = Couriers::start(notifiers, setup);
        let mut outbox = Memory {
            pending: vec![to("hook", "ntf-1", "hook:a")],
            ..Memory::default()
        };
        let round = |couriers: &mut Couriers, outbox: &mut Memory| {
            couriers.dispatch(outbox, 10).unwrap();
            couriers.collect(outbox, Duration::from_secs(10)).unwrap()
        };
        let first = round(&mut couriers, &mut outbox);
        assert_eq!(first[0].outcome, Outcome::Retry);
        // A first retry would come after about a second; the receiver asked for 120.
        assert!(backoff(&Policy::default(), "ntf-1", 1, None) <= 1_250);
        assert_eq!(first[0].next_at, Some(10_000 + 120_000));
        now.store(10_000 + 119_999, Ordering::SeqCst);
        assert!(couriers.dispatch(&mut outbox, 10).unwrap().is_empty());
        assert_eq!(
            couriers.in_flight(),
            0,
            "not sent before the receiver's time"
        );
        now.store(10_000 + 120_000, Ordering::SeqCst);
        let second = round(&mut couriers, &mut outbox);
        assert_eq!(
            (second[0].attempt, second[0].outcome),
            (2, Outcome::Delivered)
        );
        assert_eq!(server.requests().len(), 2);
        assert!(couriers.finish(&mut outbox).unwrap().is_empty());
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
