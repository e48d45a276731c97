//! The delivery thread: hands what the outbox holds to one sending thread per receiver
//! ([`Couriers`]) and records every attempt, on a connection of its own, so a receiver
//! that is slow or down delays only its own notifications. The main loop wakes it after a
//! commit that enqueued notifications, and a courier after each attempt; otherwise it looks
//! for due retries twice a second.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver as Rx, RecvTimeoutError, Sender};
use faultline_alert::delivery::{Attempt, Couriers, Outcome, Policy, Setup};
use faultline_alert::notify::{self, Notifier, Receiver};
use faultline_alert::Ms;
use faultline_store::{AlertDb, StoreError};

use crate::serve::telemetry::{SelfEvent, Sink, Telemetry};

/// How often due retries are looked for when nothing wakes the thread.
const IDLE_MS: u64 = 500;
/// Notifications handed out per round.
const PER_ROUND: usize = 32;

enum Msg {
    Wake,
    Receivers(Vec<Receiver>, String),
    Stop,
}

/// The running delivery thread.
#[derive(Debug)]
pub struct Delivery {
    tx: Sender<Msg>,
    handle: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Msg {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Msg::Wake => "Wake",
            Msg::Receivers(..) => "Receivers",
            Msg::Stop => "Stop",
        })
    }
}

/// The wall clock in ms since the epoch.
pub fn wall_ms() -> Ms {
    jiff::Timestamp::now().as_millisecond()
}

fn notifiers(receivers: &[Receiver], sink: &Sink) -> BTreeMap<String, Arc<dyn Notifier>> {
    let mut out = BTreeMap::new();
    for r in receivers {
        match notify::build(r) {
            Ok(n) => {
                out.insert(r.name.clone(), n);
            }
            Err(e) => sink.emit(&SelfEvent::Notice(format!("alerting: {e}"))),
        }
    }
    out
}

impl Delivery {
    /// Starts delivering from the store at `path`.
    pub fn start(
        path: &Path,
        receivers: &[Receiver],
        external_url: String,
        sink: Arc<Sink>,
    ) -> Result<Delivery, String> {
        let mut db = AlertDb::open(path).map_err(|e| e.to_string())?;
        let (tx, rx) = crossbeam_channel::unbounded();
        let wake = tx.clone();
        let start = move |receivers: &[Receiver], url: String, sink: &Sink| {
            let wake = wake.clone();
            let setup = Setup {
                policy: Policy::default(),
                external_url: url,
                clock: Arc::new(wall_ms),
                on_done: Arc::new(move || {
                    let _ = wake.send(Msg::Wake);
                }),
            };
            Couriers::start(notifiers(receivers, sink), setup)
        };
        let mut couriers = start(receivers, external_url, &sink);
        let handle = std::thread::Builder::new()
            .name("delivery".into())
            .spawn(move || {
                while let Some(next) = wait(&rx) {
                    if let Some((r, u)) = next {
                        report(couriers.finish(&mut db), &sink);
                        couriers = start(&r, u, &sink);
                    }
                    report(couriers.collect(&mut db, Duration::ZERO), &sink);
                    report(couriers.dispatch(&mut db, PER_ROUND), &sink);
                }
                report(couriers.finish(&mut db), &sink);
            })
            .map_err(|e| e.to_string())?;
        Ok(Delivery {
            tx,
            handle: Some(handle),
        })
    }

    /// Notifications were enqueued: send them now.
    pub fn wake(&self) {
        let _ = self.tx.send(Msg::Wake);
    }

    /// New receivers from a reloaded config.
    pub fn set_receivers(&self, receivers: Vec<Receiver>, external_url: String) {
        let _ = self.tx.send(Msg::Receivers(receivers, external_url));
    }

    /// Finishes the sends in progress and stops.
    pub fn stop(mut self) {
        let _ = self.tx.send(Msg::Stop);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// `None`: stop. `Some(Some(..))`: new receivers. `Some(None)`: time to look at the outbox
/// and at the attempts that ended.
fn wait(rx: &Rx<Msg>) -> Option<Option<(Vec<Receiver>, String)>> {
    match rx.recv_timeout(Duration::from_millis(IDLE_MS)) {
        Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => None,
        Ok(Msg::Receivers(r, u)) => Some(Some((r, u))),
        Ok(Msg::Wake) | Err(RecvTimeoutError::Timeout) => Some(None),
    }
}

/// Reports the attempts that did not deliver, and errors of the outbox.
fn report(attempts: Result<Vec<Attempt>, StoreError>, sink: &Sink) {
    match attempts {
        Ok(attempts) => {
            for a in attempts {
                let what = match a.outcome {
                    Outcome::Delivered => continue,
                    Outcome::Retry => "will retry",
                    Outcome::Failed => "failed",
                };
                sink.emit(&SelfEvent::Notice(format!(
                    "notification {} to {}: {what}: {}",
                    a.notification,
                    a.receiver,
                    a.error.unwrap_or_default()
                )));
            }
        }
        Err(e) => sink.emit(&SelfEvent::Notice(format!("delivery: {e}"))),
    }
}
