//! The alerting tables as delivery relies on them: a notification enqueued by a tick is due
//! until an attempt delivers or fails it, retries wait for their time, every attempt is
//! kept, silences are listed and expired, and an older store gains the tables.

use std::path::PathBuf;

use faultline_alert::alert::{Alert, Details, State};
use faultline_alert::delivery::{Attempt, Outbox, Outcome};
use faultline_alert::dispatch::{Muted, Notification};
use faultline_alert::matcher::Matcher;
use faultline_alert::silence::Silence;
use faultline_alert::Labels;
use faultline_store::{AlertCommit, AlertDb, Commit, Store, Tier};

fn reopen(path: &std::path::Path) -> Store {
    Store::open(
        path,
        vec![Tier {
            res_secs: 10,
            keep_secs: 86_400,
        }],
    )
    .unwrap()
}

fn open() -> (tempfile::TempDir, PathBuf, Store) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("faultline.db");
    let store = reopen(&path);
    (dir, path, store)
}

fn alert() -> Alert {
    let mut labels = Labels::new();
    labels.insert("alertname".into(), "incident".into());
    let mut a = Alert::new("incident", labels, Details::default(), 1_000);
    a.state = State::Firing;
    a.fired_at = Some(1_000);
    a
}

fn notification(id: &str, at: i64) -> Notification {
    Notification {
        id: id.into(),
        receiver: "hook".into(),
        group_key: "0:{}".into(),
        group_labels: Labels::new(),
        status: State::Firing,
        alerts: vec![alert()],
        created_at: at,
    }
}

fn attempt(id: &str, n: u32, at: i64, outcome: Outcome, next_at: Option<i64>) -> Attempt {
    Attempt {
        notification: id.into(),
        receiver: "hook".into(),
        attempt: n,
        at,
        outcome,
        error: (outcome != Outcome::Delivered).then(|| "HTTP 503: down".into()),
        next_at,
    }
}

fn enqueue(store: &mut Store, ns: &[Notification], state: &str) {
    let alerts = [alert()];
    store
        .commit(&Commit {
            alerts: AlertCommit {
                state: Some(state),
                alerts: &alerts,
                muted: &[],
                notifications: ns,
            },
            ..Commit::default()
        })
        .unwrap();
}

#[test]
fn a_notification_is_due_until_delivered_and_retries_wait_for_their_time() {
    let (_d, path, mut store) = open();
    enqueue(&mut store, &[notification("ntf-1", 1_000)], "{}");
    let mut db = AlertDb::open(&path).unwrap();
    let due = db.due(1_000, 10).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].notification, notification("ntf-1", 1_000));
    db.record(&attempt("ntf-1", 1, 1_000, Outcome::Retry, Some(3_000)))
        .unwrap();
    assert!(db.due(2_999, 10).unwrap().is_empty());
    let again = db.due(3_000, 10).unwrap();
    assert_eq!(again[0].attempts, 1);
    db.record(&attempt("ntf-1", 2, 3_000, Outcome::Delivered, None))
        .unwrap();
    assert!(db.due(i64::MAX, 10).unwrap().is_empty());
    let history = db.notifications(0, 10).unwrap();
    assert_eq!(history[0].delivery, "delivered");
    assert_eq!(history[0].tries.len(), 2);
    assert_eq!(history[0].tries[0].outcome, Outcome::Retry);
    assert_eq!(history[0].done_at, Some(3_000));
}

#[test]
fn a_failed_notification_leaves_the_queue_with_its_error() {
    let (_d, path, mut store) = open();
    enqueue(&mut store, &[notification("ntf-2", 1_000)], "{}");
    let mut db = AlertDb::open(&path).unwrap();
    db.record(&attempt("ntf-2", 1, 1_000, Outcome::Failed, None))
        .unwrap();
    assert!(db.due(i64::MAX, 10).unwrap().is_empty());
    let h = db.notifications(0, 10).unwrap();
    assert_eq!(h[0].delivery, "failed");
    assert_eq!(h[0].last_error.as_deref(), Some("HTTP 503: down"));
}

#[test]
fn enqueuing_the_same_notification_twice_keeps_one() {
    let (_d, path, mut store) = open();
    enqueue(&mut store, &[notification("ntf-3", 1_000)], "{}");
    enqueue(&mut store, &[notification("ntf-3", 1_000)], "{}");
    assert_eq!(
        AlertDb::open(&path).unwrap().due(1_000, 10).unwrap().len(),
        1
    );
}

#[test]
fn the_alerting_state_and_history_survive_a_reopen() {
    let (_d, path, mut store) = open();
    enqueue(&mut store, &[], r#"{"groups":{}}"#);
    store
        .commit(&Commit {
            alerts: AlertCommit {
                muted: &[(alert().id, Some(Muted::Silence("sil-1".into())))],
                ..AlertCommit::default()
            },
            ..Commit::default()
        })
        .unwrap();
    drop(store);
    let store = reopen(&path);
    assert_eq!(
        store.alert_state().unwrap().as_deref(),
        Some(r#"{"groups":{}}"#)
    );
    let alerts = AlertDb::open(&path).unwrap().alerts(0, 10).unwrap();
    assert_eq!(alerts[0]["state"], "firing");
    assert_eq!(alerts[0]["muted"]["by"], "silence");
}

#[test]
fn an_alert_muted_then_notified_is_no_longer_shown_as_muted() {
    let (_d, path, mut store) = open();
    enqueue(&mut store, &[], "{}");
    let id = alert().id;
    let mute = |store: &mut Store, muted: &[(String, Option<Muted>)]| {
        let alerts = AlertCommit {
            muted,
            ..AlertCommit::default()
        };
        store
            .commit(&Commit {
                alerts,
                ..Commit::default()
            })
            .unwrap();
    };
    let shown = |path: &std::path::Path| AlertDb::open(path).unwrap().alerts(0, 10).unwrap();
    mute(
        &mut store,
        &[(id.clone(), Some(Muted::Silence("sil-1".into())))],
    );
    assert_eq!(shown(&path)[0]["muted"]["what"], "sil-1");
    // The silence expired and a notification took the alert.
    mute(&mut store, &[(id.clone(), None)]);
    assert!(
        shown(&path)[0].get("muted").is_none(),
        "{}",
        shown(&path)[0]
    );
    // Within one tick the last word stands.
    mute(
        &mut store,
        &[
            (id.clone(), None),
            (id.clone(), Some(Muted::Inhibited("f00".into()))),
        ],
    );
    assert_eq!(shown(&path)[0]["muted"]["by"], "inhibited");
}

#[test]
fn silences_are_listed_and_expired() {
    let (_d, path, _store) = open();
    let mut db = AlertDb::open(&path).unwrap();
    let s = Silence {
        id: "sil-1".into(),
        matchers: vec![Matcher::parse(r#"host="shop.example""#).unwrap()],
        starts_at: 0,
        ends_at: 10_000,
        created_by: "ops".into(),
        comment: "deploy".into(),
        created_at: 0,
    };
    db.add_silence(&s).unwrap();
    assert_eq!(db.live_silences(5_000).unwrap(), vec![s.clone()]);
    let ended = db.expire_silence("sil-1", 6_000).unwrap().unwrap();
    assert_eq!(ended.ends_at, 6_000);
    assert!(db.live_silences(6_000).unwrap().is_empty());
    assert_eq!(db.silences().unwrap().len(), 1, "kept for the history");
    assert!(db.expire_silence("sil-9", 6_000).unwrap().is_none());
}

#[test]
fn a_version_1_store_gains_the_alerting_tables() {
    let (_d, path, store) = open();
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(
        "DROP TABLE alert_state; DROP TABLE alert; DROP TABLE notification;
         DROP TABLE attempt; DROP TABLE silence; DROP TABLE rollup_key_code;
         PRAGMA user_version = 1;",
    )
    .unwrap();
    drop(conn);
    let mut store = reopen(&path);
    enqueue(&mut store, &[notification("ntf-4", 1)], "{}");
    assert_eq!(AlertDb::open(&path).unwrap().due(1, 10).unwrap().len(), 1);
}

#[test]
fn a_groups_notifications_are_due_in_the_order_they_were_made() {
    let (_d, path, mut store) = open();
    let firing = notification("ntf-a", 1_000);
    enqueue(&mut store, std::slice::from_ref(&firing), "{}");
    let mut db = AlertDb::open(&path).unwrap();
    db.record(&attempt("ntf-a", 1, 1_000, Outcome::Retry, Some(5_000)))
        .unwrap();
    let resolved = Notification {
        status: State::Resolved,
        ..notification("ntf-b", 2_000)
    };
    let other_group = Notification {
        group_key: "0:{host=\"b\"}".into(),
        ..notification("ntf-c", 2_000)
    };
    enqueue(&mut store, &[resolved, other_group], "{}");
    let ids = |db: &mut AlertDb, now| -> Vec<String> {
        db.due(now, 10)
            .unwrap()
            .into_iter()
            .map(|q| q.notification.id)
            .collect()
    };
    // The resolved one waits behind the firing one of its group; another group does not.
    assert_eq!(ids(&mut db, 3_000), ["ntf-c"]);
    assert_eq!(ids(&mut db, 5_000), ["ntf-c", "ntf-a"]);
    db.record(&attempt("ntf-a", 2, 5_000, Outcome::Delivered, None))
        .unwrap();
    assert_eq!(ids(&mut db, 5_000), ["ntf-b", "ntf-c"]);
    // A notification that failed for good does not hold its group back.
    db.record(&attempt("ntf-b", 1, 5_000, Outcome::Failed, None))
        .unwrap();
    enqueue(&mut store, &[notification("ntf-d", 6_000)], "{}");
    assert_eq!(ids(&mut db, 6_000), ["ntf-c", "ntf-d"]);
}
