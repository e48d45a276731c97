//! # faultline-store
//!
//! Embedded persistence for `faultline serve`: one SQLite file in WAL mode holding per-interval
//! rollups (downsampled into every configured [`Tier`] as they are written), tail
//! checkpoints, the inputs' health, incidents, findings and error groups.
//!
//! Its place in DESIGN §3: an effect at the edge, depending only on `faultline-aggregate`
//! (whose [`Summary`] it stores). DESIGN §7 is the contract it keeps: a [`Commit`] writes the
//! rollups computed from some lines *and* the checkpoints past those lines in one
//! transaction, so after a kill -9 nothing is lost and nothing is counted twice.
//!
//! Key types:
//! - [`Store`]: the one writer. [`Store::commit`] adds a tick's buckets into every tier and
//!   upserts rows, atomically; [`Store::retain`] drops what the tiers no longer keep;
//!   [`Store::resolve_open`] closes incidents left open by a previous run.
//! - [`Reader`]: a read-only connection for another thread (WAL lets it read while the
//!   writer commits): [`Reader::summary`] and [`Reader::timeline`] over a time range, picking
//!   the finest tier that still holds the whole range, and the stored rows.
//! - [`StoreError`]: every failure names the file and what was being done.
//!
//! Every commit writes into every tier, so downsampling needs no background job and
//! retention is one range delete per tier. Buckets are aligned per tier with
//! `second.div_euclid(res) * res`.
//!
//! The file, for whoever opens it with `sqlite3` (schema version in `PRAGMA user_version`,
//! application id "FLST"):
//! - `rollup_status(res, bucket, status, requests)` and
//!   `rollup_key(res, bucket, kind, name, requests, errors, latency)`, kind 0 route, 1 host,
//!   2 upstream, 3 method, latency an encoded [`faultline_aggregate::LatencySketch`] or NULL
//!   when empty; `rollup_folded(res, bucket)` marks buckets whose routes were folded.
//! - `tier(res, horizon)`: a range from `horizon` on is whole in that tier.
//! - `checkpoint`, `input`, `incident`, `finding`, `error_group`: one row per
//!   path / id / fingerprint, with the JSON `body` the API serves.
//! - `alert_state` (the evaluator and dispatcher as one JSON row), `alert` (history, one
//!   row per alert instance), `notification` (the outbox and its history: `delivery` is
//!   `pending`, `delivered` or `failed`), `attempt`, `silence`. See [`AlertDb`].
//!
//! ```
//! use faultline_aggregate::Summary;
//! use faultline_store::{Commit, FileCheckpoint, Store, Tier};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let tiers = vec![
//!     Tier { res_secs: 10, keep_secs: 86_400 },
//!     Tier { res_secs: 60, keep_secs: 30 * 86_400 },
//! ];
//! let mut store = Store::open(&dir.path().join("faultline.db"), tiers).unwrap();
//!
//! let mut tick = Summary::default();
//! tick.by_status = vec![0; 600];
//! tick.by_status[200] = 95;
//! tick.by_status[502] = 5;
//! let checkpoint = FileCheckpoint {
//!     path: "/var/log/nginx/access.log".into(),
//!     dev: 1,
//!     ino: 2,
//!     head: 3,
//!     head_len: 64,
//!     offset: 4096,
//! };
//! store
//!     .commit(&Commit {
//!         buckets: &[(1_700_000_005, tick)],
//!         checkpoints: std::slice::from_ref(&checkpoint),
//!         ..Commit::default()
//!     })
//!     .unwrap();
//!
//! let reader = store.reader().unwrap();
//! let sum = reader.summary(1_699_999_000, 1_700_001_000).unwrap();
//! assert_eq!(sum.by_status[502], 5);
//! assert_eq!(store.checkpoints().unwrap(), vec![checkpoint]);
//! ```

mod alerts;
mod error;
mod read;
mod schema;
mod write;

pub use alerts::{AlertCommit, AlertDb, NotificationRecord};
pub use error::StoreError;
pub use read::{KeyPoint, Reader, StatusCount};
pub use write::Store;

pub use faultline_aggregate::Summary;

/// The kinds of keys rollups are kept for (`rollup_key.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Route = 0,
    Host = 1,
    Upstream = 2,
    Method = 3,
}

/// One resolution of the rollups and how long it is kept, e.g. 10 s for a day and 60 s for
/// 30 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tier {
    /// Width of a bucket in seconds (> 0).
    pub res_secs: i64,
    /// How long buckets of this width are kept, in seconds (≥ `res_secs`).
    pub keep_secs: i64,
}

/// Where the tailer stopped in one file, stored with the rollups of the lines before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCheckpoint {
    pub path: String,
    pub dev: u64,
    pub ino: u64,
    /// Hash of the file's first `head_len` bytes: its identity across renames.
    pub head: u64,
    pub head_len: u32,
    pub offset: u64,
}

/// The health of one input as the report shows it. Values are cumulative: a commit
/// replaces the stored row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRow {
    pub path: String,
    pub kind: String,
    pub format: Option<String>,
    pub lines: u64,
    pub parsed: u64,
    pub malformed: u64,
    pub error: Option<String>,
    /// JSON of the report's input object.
    pub body: String,
}

/// An incident as stored: the columns queries filter on, and the contract's JSON object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredIncident {
    pub id: String,
    pub start: i64,
    pub end: i64,
    /// `"open"` or `"resolved"`; the body's `"state"` says the same.
    pub state: String,
    pub cause: String,
    /// A JSON object (checked on insert).
    pub body: String,
}

/// A detector's finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFinding {
    pub id: String,
    pub kind: String,
    pub start: i64,
    pub end: i64,
    /// A JSON value (checked on insert).
    pub body: String,
}

/// An application error group (exceptions with one fingerprint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredGroup {
    pub fingerprint: String,
    pub first: i64,
    pub last: i64,
    pub count: u64,
    /// A JSON value (checked on insert).
    pub body: String,
}

/// Everything one tick persists, written in one transaction by [`Store::commit`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Commit<'a> {
    /// (a second inside the bucket, the summary of the lines in it): added into the bucket
    /// that holds that second in every tier. Several entries may fall in one bucket.
    pub buckets: &'a [(i64, Summary)],
    /// Upserted by path.
    pub checkpoints: &'a [FileCheckpoint],
    /// Upserted by path (values are cumulative and replace the stored ones).
    pub inputs: &'a [InputRow],
    /// Upserted by id, after `removed_incidents` are deleted.
    pub incidents: &'a [StoredIncident],
    /// Deleted by id (an open incident whose id changed).
    pub removed_incidents: &'a [String],
    /// Upserted by id.
    pub findings: &'a [StoredFinding],
    /// Upserted by fingerprint (values replace the stored ones).
    pub groups: &'a [StoredGroup],
    /// Alert history, alerting state and new notifications (the outbox).
    pub alerts: AlertCommit<'a>,
}
