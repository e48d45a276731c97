//! Helpers shared by the tailing tests: write like a logger, poll like the daemon.

// Each test file uses a part of these.
#![allow(dead_code)]

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use faultline_ingest::{TailEvent, Tailer};

pub const FLUSH_MS: u64 = 1000;

/// Appends like a logger does: open in append mode, write, close.
pub fn append(path: &Path, text: &str) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// Truncates in place, as `copytruncate` does after its copy.
pub fn truncate(path: &Path) {
    OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .unwrap();
}

/// Polls once and returns the text of the lines delivered and the other events.
pub fn poll(t: &mut Tailer, now: u64) -> (String, Vec<TailEvent>) {
    let mut out = Vec::new();
    t.poll(now, &mut out);
    let mut text = String::new();
    let mut other = Vec::new();
    for e in out {
        match e {
            TailEvent::Lines { bytes, .. } => text.push_str(&String::from_utf8(bytes).unwrap()),
            e => other.push(e),
        }
    }
    (text, other)
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}
