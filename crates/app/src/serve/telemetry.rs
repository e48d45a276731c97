//! Self-telemetry (DESIGN §10.6): the daemon reports what it does as typed events; a sink
//! keeps the latest figures for `/api/v1/status` and `/readyz`, and prints notices.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

/// Something the daemon did or saw.
#[derive(Debug, Clone)]
pub enum SelfEvent {
    /// Lines read from a file (malformed ones included).
    LinesRead {
        path: String,
        lines: u64,
        malformed: u64,
    },
    /// Bytes of a file not read yet (its size minus the committed checkpoint).
    Lag { path: String, bytes: u64 },
    /// A tick's commit, and how long it took.
    Committed { millis: f64, buckets: usize },
    /// A commit that failed (nothing of it was written; the next tick tries again).
    CommitFailed(String),
    /// Size of the store's files.
    StoreSize { bytes: u64 },
    /// Something an operator should read (rotation, unreadable file, reload).
    Notice(String),
}

/// Where events go.
pub trait Telemetry {
    fn emit(&self, event: &SelfEvent);
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct FileFigures {
    pub lines_read: u64,
    pub parse_errors: u64,
    pub lag_bytes: u64,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Figures {
    pub files: BTreeMap<String, FileFigures>,
    pub commits: u64,
    pub commit_failures: u64,
    pub last_commit_ms: f64,
    pub last_commit_error: Option<String>,
    pub store_bytes: u64,
}

/// Keeps the latest figures; notices go to stderr with the time.
#[derive(Debug, Default)]
pub struct Sink {
    figures: Mutex<Figures>,
}

impl Sink {
    pub fn figures(&self) -> Figures {
        self.figures.lock().expect("not poisoned").clone()
    }
}

impl Telemetry for Sink {
    fn emit(&self, event: &SelfEvent) {
        let mut f = self.figures.lock().expect("not poisoned");
        match event {
            SelfEvent::LinesRead {
                path,
                lines,
                malformed,
            } => {
                let e = f.files.entry(path.clone()).or_default();
                e.lines_read += lines;
                e.parse_errors += malformed;
            }
            SelfEvent::Lag { path, bytes } => {
                f.files.entry(path.clone()).or_default().lag_bytes = *bytes;
            }
            SelfEvent::Committed { millis, .. } => {
                f.commits += 1;
                f.last_commit_ms = *millis;
                f.last_commit_error = None;
            }
            SelfEvent::CommitFailed(e) => {
                f.commit_failures += 1;
                f.last_commit_error = Some(e.clone());
                eprintln!("faultline: {} commit failed: {e}", jiff::Timestamp::now());
            }
            SelfEvent::StoreSize { bytes } => f.store_bytes = *bytes,
            SelfEvent::Notice(text) => {
                eprintln!("faultline: {} {text}", jiff::Timestamp::now());
            }
        }
    }
}
