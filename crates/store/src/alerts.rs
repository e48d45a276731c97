//! Alerting state: the evaluator and dispatcher state (one JSON row, written with the tick
//! that changed it), the alert history, silences, and the notifications with their
//! attempts, which double as the durable outbox.
//!
//! The main loop writes alert history, the alerting state and new notifications inside its
//! tick's [`crate::Commit`]: a notification is either enqueued together with the
//! notification-log entry that says it was decided, or neither is, so a crash can neither
//! lose a page nor decide it twice. Delivery and the API use an [`AlertDb`] of their own
//! (another connection to the same file): attempts and silences are short transactions
//! that WAL lets run beside the tick.

use std::path::{Path, PathBuf};

use faultline_alert::alert::Alert;
use faultline_alert::delivery::{Attempt, Outbox, Outcome, Queued};
use faultline_alert::dispatch::{Muted, Notification};
use faultline_alert::silence::Silence;
use faultline_alert::Ms;
use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::error::{Context, StoreError};
use crate::schema;

pub(crate) const ALERT_SCHEMA: &str = "
CREATE TABLE alert_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    body TEXT NOT NULL CHECK (json_valid(body))
) STRICT;
CREATE TABLE alert (
    id TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    rule TEXT NOT NULL,
    state TEXT NOT NULL,
    active_since INTEGER NOT NULL,
    fired_at INTEGER,
    resolved_at INTEGER,
    muted TEXT CHECK (muted IS NULL OR json_valid(muted)),
    body TEXT NOT NULL CHECK (json_valid(body))
) STRICT;
CREATE INDEX alert_since ON alert (active_since);
CREATE TABLE notification (
    id TEXT PRIMARY KEY,
    receiver TEXT NOT NULL,
    group_key TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    delivery TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_at INTEGER,
    done_at INTEGER,
    last_error TEXT,
    body TEXT NOT NULL CHECK (json_valid(body))
) STRICT;
CREATE INDEX notification_due ON notification (delivery, next_at);
CREATE INDEX notification_created ON notification (created_at);
CREATE TABLE attempt (
    notification TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    at INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    error TEXT,
    next_at INTEGER,
    PRIMARY KEY (notification, attempt)
) STRICT;
CREATE TABLE silence (
    id TEXT PRIMARY KEY,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    body TEXT NOT NULL CHECK (json_valid(body))
) STRICT;
";

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("alert types serialise")
}

/// The alerting part of a tick.
#[derive(Debug, Clone, Copy, Default)]
pub struct AlertCommit<'a> {
    /// The evaluator and dispatcher, replacing the stored state.
    pub state: Option<&'a str>,
    /// Alerts whose state changed: upserted by id.
    pub alerts: &'a [Alert],
    /// (alert id, why) for alerts a flush left out, and (alert id, `None`) for alerts it
    /// notified: no longer muted. Applied in order, so the last word of the tick stands.
    pub muted: &'a [(String, Option<Muted>)],
    /// New notifications: enqueued, due at once.
    pub notifications: &'a [Notification],
}

pub(crate) fn write(tx: &Transaction<'_>, c: &AlertCommit<'_>) -> rusqlite::Result<()> {
    if let Some(state) = c.state {
        tx.execute(
            "INSERT INTO alert_state (id, body) VALUES (1, ?1)
             ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            [state],
        )?;
    }
    let mut up = tx.prepare_cached(
        "INSERT INTO alert (id, fingerprint, rule, state, active_since, fired_at, resolved_at, body)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (id) DO UPDATE SET state = excluded.state, fired_at = excluded.fired_at,
             resolved_at = excluded.resolved_at, body = excluded.body",
    )?;
    for a in c.alerts {
        up.execute(params![
            a.id,
            a.fingerprint,
            a.rule,
            a.state.as_str(),
            a.active_since,
            a.fired_at,
            a.resolved_at,
            json(a)
        ])?;
    }
    let mut mute = tx.prepare_cached("UPDATE alert SET muted = ?2 WHERE id = ?1")?;
    for (id, why) in c.muted {
        mute.execute(params![id, why.as_ref().map(json)])?;
    }
    let mut add = tx.prepare_cached(
        "INSERT OR IGNORE INTO notification
         (id, receiver, group_key, status, created_at, delivery, attempts, next_at, body)
         VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, ?5, ?6)",
    )?;
    for n in c.notifications {
        add.execute(params![
            n.id,
            n.receiver,
            n.group_key,
            n.status.as_str(),
            n.created_at,
            json(n)
        ])?;
    }
    Ok(())
}

pub(crate) fn load_state(conn: &Connection) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT body FROM alert_state WHERE id = 1", [], |r| {
        r.get(0)
    })
    .optional()
}

/// A second connection for delivery and the API: the outbox, silences and the history.
#[derive(Debug)]
pub struct AlertDb {
    conn: Connection,
    path: PathBuf,
}

/// A notification with how its delivery went.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NotificationRecord {
    pub notification: serde_json::Value,
    pub delivery: String,
    pub attempts: u32,
    pub next_at: Option<Ms>,
    pub done_at: Option<Ms>,
    pub last_error: Option<String>,
    pub tries: Vec<Attempt>,
}

impl AlertDb {
    /// Opens an existing store (the daemon's [`crate::Store`] creates it).
    pub fn open(path: &Path) -> Result<AlertDb, StoreError> {
        let conn = schema::open_side(path)?;
        Ok(AlertDb {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Every silence (active, pending and expired), newest first.
    pub fn silences(&self) -> Result<Vec<Silence>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT body FROM silence ORDER BY created_at DESC, id")
            .ctx(&self.path, "read silences")?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .ctx(&self.path, "read silences")?;
        let mut out = Vec::new();
        for body in rows {
            let body = body.ctx(&self.path, "read silences")?;
            out.push(
                serde_json::from_str(&body).map_err(|_| StoreError::Corrupt {
                    path: self.path.clone(),
                    what: "silence",
                })?,
            );
        }
        Ok(out)
    }

    /// Silences that are active or will be at some time after `now`.
    pub fn live_silences(&self, now: Ms) -> Result<Vec<Silence>, StoreError> {
        Ok(self
            .silences()?
            .into_iter()
            .filter(|s| s.ends_at > now)
            .collect())
    }

    pub fn add_silence(&mut self, s: &Silence) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO silence (id, starts_at, ends_at, created_at, body)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![s.id, s.starts_at, s.ends_at, s.created_at, json(s)],
            )
            .ctx(&self.path, "add a silence")?;
        Ok(())
    }

    /// Ends a silence at `now`. `Ok(None)`: no such silence; an expired one is returned
    /// unchanged.
    pub fn expire_silence(&mut self, id: &str, now: Ms) -> Result<Option<Silence>, StoreError> {
        let Some(mut s) = self.silences()?.into_iter().find(|s| s.id == id) else {
            return Ok(None);
        };
        if s.ends_at <= now {
            return Ok(Some(s));
        }
        s.ends_at = now;
        s.starts_at = s.starts_at.min(now);
        self.conn
            .execute(
                "UPDATE silence SET starts_at = ?2, ends_at = ?3, body = ?4 WHERE id = ?1",
                params![s.id, s.starts_at, s.ends_at, json(&s)],
            )
            .ctx(&self.path, "expire a silence")?;
        Ok(Some(s))
    }

    /// Alerts that were active at some point after `since`, newest first, each with why
    /// it was muted (if it was).
    pub fn alerts(&self, since: Ms, limit: usize) -> Result<Vec<serde_json::Value>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT body, muted FROM alert
                 WHERE coalesce(resolved_at, 9223372036854775807) >= ?1
                 ORDER BY active_since DESC, id LIMIT ?2",
            )
            .ctx(&self.path, "read alerts")?;
        let rows = stmt
            .query_map(params![since, limit as i64], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
            })
            .ctx(&self.path, "read alerts")?;
        let mut out = Vec::new();
        for row in rows {
            let (body, muted) = row.ctx(&self.path, "read alerts")?;
            let mut v: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            if let Some(m) = muted.and_then(|m| serde_json::from_str(&m).ok()) {
                v["muted"] = m;
            }
            out.push(v);
        }
        Ok(out)
    }

    /// Notifications made after `since`, newest first, with every attempt.
    pub fn notifications(
        &self,
        since: Ms,
        limit: usize,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, body, delivery, attempts, next_at, done_at, last_error
                 FROM notification WHERE created_at >= ?1
                 ORDER BY created_at DESC, id LIMIT ?2",
            )
            .ctx(&self.path, "read notifications")?;
        let rows = stmt
            .query_map(params![since, limit as i64], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, u32>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                    r.get::<_, Option<i64>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                ))
            })
            .ctx(&self.path, "read notifications")?;
        let mut out = Vec::new();
        for row in rows {
            let (id, body, delivery, attempts, next_at, done_at, last_error) =
                row.ctx(&self.path, "read notifications")?;
            out.push(NotificationRecord {
                notification: serde_json::from_str(&body).unwrap_or_default(),
                delivery,
                attempts,
                next_at,
                done_at,
                last_error,
                tries: self.attempts(&id)?,
            });
        }
        Ok(out)
    }

    fn attempts(&self, id: &str) -> Result<Vec<Attempt>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT a.attempt, a.at, a.outcome, a.error, a.next_at, n.receiver
                 FROM attempt a JOIN notification n ON n.id = a.notification
                 WHERE a.notification = ?1 ORDER BY a.attempt",
            )
            .ctx(&self.path, "read attempts")?;
        let rows = stmt
            .query_map([id], |r| {
                let outcome: String = r.get(2)?;
                Ok(Attempt {
                    notification: id.to_string(),
                    attempt: r.get(0)?,
                    at: r.get(1)?,
                    outcome: match outcome.as_str() {
                        "delivered" => Outcome::Delivered,
                        "retry" => Outcome::Retry,
                        _ => Outcome::Failed,
                    },
                    error: r.get(3)?,
                    next_at: r.get(4)?,
                    receiver: r.get(5)?,
                })
            })
            .ctx(&self.path, "read attempts")?;
        rows.collect::<Result<_, _>>()
            .ctx(&self.path, "read attempts")
    }

    /// Deletes history older than `before`: alerts resolved, notifications done and
    /// silences expired before it.
    pub fn retain(&mut self, before: Ms) -> Result<u64, StoreError> {
        let tx = self.conn.transaction().ctx(&self.path, "alert retention")?;
        let mut n = 0;
        for sql in [
            "DELETE FROM alert WHERE resolved_at < ?1",
            "DELETE FROM attempt WHERE notification IN
                 (SELECT id FROM notification WHERE done_at < ?1)",
            "DELETE FROM notification WHERE done_at < ?1",
            "DELETE FROM silence WHERE ends_at < ?1",
        ] {
            n += tx
                .execute(sql, [before])
                .ctx(&self.path, "alert retention")? as u64;
        }
        tx.commit().ctx(&self.path, "alert retention")?;
        Ok(n)
    }
}

impl Outbox for AlertDb {
    type Error = StoreError;

    fn due(&mut self, now: Ms, limit: usize) -> Result<Vec<Queued>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                // A group's notifications reach its receiver in the order they were made:
                // a "resolved" waits behind the "firing" still being retried before it.
                "SELECT n.body, n.attempts, n.next_at FROM notification n
                 WHERE n.delivery = 'pending' AND n.next_at <= ?1
                   AND NOT EXISTS (
                     SELECT 1 FROM notification o
                     WHERE o.delivery = 'pending' AND o.receiver = n.receiver
                       AND o.group_key = n.group_key
                       AND (o.created_at, o.id) < (n.created_at, n.id))
                 ORDER BY n.next_at, n.created_at, n.id LIMIT ?2",
            )
            .ctx(&self.path, "read the outbox")?;
        let rows = stmt
            .query_map(params![now, limit as i64], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, u32>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .ctx(&self.path, "read the outbox")?;
        let mut out = Vec::new();
        for row in rows {
            let (body, attempts, next_at) = row.ctx(&self.path, "read the outbox")?;
            let notification = serde_json::from_str(&body).map_err(|_| StoreError::Corrupt {
                path: self.path.clone(),
                what: "notification",
            })?;
            out.push(Queued {
                notification,
                attempts,
                next_at,
            });
        }
        Ok(out)
    }

    fn record(&mut self, a: &Attempt) -> Result<(), StoreError> {
        let (delivery, done) = match a.outcome {
            Outcome::Delivered => ("delivered", Some(a.at)),
            Outcome::Retry => ("pending", None),
            Outcome::Failed => ("failed", Some(a.at)),
        };
        let outcome = match a.outcome {
            Outcome::Delivered => "delivered",
            Outcome::Retry => "retry",
            Outcome::Failed => "failed",
        };
        let tx = self
            .conn
            .transaction()
            .ctx(&self.path, "record an attempt")?;
        tx.execute(
            "INSERT OR REPLACE INTO attempt (notification, attempt, at, outcome, error, next_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![a.notification, a.attempt, a.at, outcome, a.error, a.next_at],
        )
        .ctx(&self.path, "record an attempt")?;
        tx.execute(
            "UPDATE notification SET delivery = ?2, attempts = ?3, next_at = ?4, done_at = ?5,
                 last_error = ?6 WHERE id = ?1",
            params![
                a.notification,
                delivery,
                a.attempt,
                a.next_at,
                done,
                a.error
            ],
        )
        .ctx(&self.path, "record an attempt")?;
        tx.commit().ctx(&self.path, "record an attempt")
    }
}
