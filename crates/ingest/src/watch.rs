//! Following a set of inputs named by paths and globs: a [`Tailer`] per file, with files that
//! start matching a glob while running picked up from their first line.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::tail::{Checkpoint, TailEvent, Tailer};

/// Where a file found at start-up is read from when no checkpoint names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// From its first line (history first, then live).
    Beginning,
    /// From its end (only what is written from now on).
    End,
}

/// What one poll of a [`Watcher`] found, per file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchEvent {
    /// The pattern (path or glob) the file matched, as configured.
    pub input: usize,
    pub path: PathBuf,
    pub event: TailEvent,
}

/// Follows every file the configured patterns name.
#[derive(Debug)]
pub struct Watcher {
    patterns: Vec<String>,
    tailers: BTreeMap<PathBuf, (usize, Tailer)>,
    flush_ms: u64,
    first: bool,
    start_at: StartAt,
    resume: Vec<Checkpoint>,
}

fn is_glob(p: &str) -> bool {
    p.contains(['*', '?', '['])
}

impl Watcher {
    /// `patterns`: paths or globs; `resume`: checkpoints from an earlier run (each resumes
    /// its path if it still names the same file).
    pub fn new(
        patterns: Vec<String>,
        resume: Vec<Checkpoint>,
        start_at: StartAt,
        flush_ms: u64,
    ) -> Watcher {
        Watcher {
            patterns,
            tailers: BTreeMap::new(),
            flush_ms,
            first: true,
            start_at,
            resume,
        }
    }

    /// The files followed now.
    pub fn paths(&self) -> impl Iterator<Item = &PathBuf> {
        self.tailers.keys()
    }

    /// Where reading of every file stands.
    pub fn checkpoints(&self) -> Vec<Checkpoint> {
        self.tailers
            .values()
            .filter_map(|(_, t)| t.checkpoint())
            .collect()
    }

    /// Expands the patterns (new matches get a tailer), then polls every file.
    pub fn poll(&mut self, now_ms: u64, out: &mut Vec<WatchEvent>) {
        let first = std::mem::replace(&mut self.first, false);
        for (input, pattern) in self.patterns.iter().enumerate() {
            let paths: Vec<PathBuf> = if is_glob(pattern) {
                glob::glob(pattern)
                    .map(|it| it.filter_map(Result::ok).filter(|p| p.is_file()).collect())
                    .unwrap_or_default()
            } else {
                vec![PathBuf::from(pattern)]
            };
            for path in paths {
                if self.tailers.contains_key(&path) {
                    continue;
                }
                let resume = match self.resume.iter().position(|c| c.path == path) {
                    Some(i) => Some(self.resume.swap_remove(i)),
                    None => None,
                };
                let skip_history = first && resume.is_none() && self.start_at == StartAt::End;
                let mut tailer = Tailer::new(path.clone(), resume, self.flush_ms);
                if skip_history {
                    tailer.skip_to_end();
                }
                self.tailers.insert(path, (input, tailer));
            }
        }
        let mut events = Vec::new();
        for (path, (input, tailer)) in &mut self.tailers {
            tailer.poll(now_ms, &mut events);
            out.extend(events.drain(..).map(|event| WatchEvent {
                input: *input,
                path: path.clone(),
                event,
            }));
        }
    }
}
