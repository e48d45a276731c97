//! Following a set of inputs named by paths and globs: a [`Tailer`] per file, with files that
//! start matching a glob while running picked up from their first line.
//!
//! A glob names live files. Two kinds of match are left out, because following them would
//! count lines twice or read binary as text:
//!
//! - a **rotated sibling** of a file followed or matched (`access.log.1`,
//!   `access.log-20240101` next to `access.log`): the tailer of `access.log` reads it to its
//!   end after it is rotated, so `*.log*` reads each line once, as `access.log` would;
//! - a **compressed** file (`.gz`, `.zst`, `.bz2`, `.xz`, `.lz4`, `.zip`, or gzip/zstd by its
//!   first bytes): a finished archive, for `analyze`; a tailer finds its content by itself
//!   when it holds lines not read yet.
//!
//! A path named without a glob is followed as named.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::chunk::Compression;
use crate::tail::{Checkpoint, TailEvent, Tailer, ROTATION_SEPARATORS};

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

const COMPRESSED: [&str; 6] = ["gz", "zst", "bz2", "xz", "lz4", "zip"];

/// Whether `path` is an archive by its name, or by its first bytes when it has some.
fn is_compressed(path: &Path) -> bool {
    let by_name = path
        .extension()
        .is_some_and(|e| COMPRESSED.iter().any(|c| e.eq_ignore_ascii_case(c)));
    let mut head = [0u8; 4];
    by_name
        || std::fs::File::open(path)
            .and_then(|mut f| f.read(&mut head))
            .is_ok_and(|n| Compression::sniff(&head[..n]) != Compression::None)
}

/// Whether `path` is a rotated sibling of one of `names`: its name cut before one of the
/// [`ROTATION_SEPARATORS`] names a file of the same folder (looked up, not compared with
/// every name: a folder may hold thousands of rotated files).
fn is_sibling_of(path: &Path, names: &BTreeSet<&Path>) -> bool {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return false;
    };
    name.match_indices(ROTATION_SEPARATORS)
        .any(|(i, _)| i > 0 && names.contains(dir.join(&name[..i]).as_path()))
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

    /// Where reading of every file stands, including the checkpoints resumed from whose
    /// files were not found yet (committing these must not forget them).
    pub fn checkpoints(&self) -> Vec<Checkpoint> {
        let mut all: Vec<Checkpoint> = self
            .tailers
            .values()
            .filter_map(|(_, t)| t.checkpoint())
            .collect();
        all.extend(self.resume.iter().cloned());
        all
    }

    /// Every path the patterns name now that has no tailer yet, with its pattern's index.
    fn new_matches(&self) -> Vec<(usize, PathBuf)> {
        let mut found = Vec::new();
        for (input, pattern) in self.patterns.iter().enumerate() {
            if !is_glob(pattern) {
                found.push((input, PathBuf::from(pattern), false));
                continue;
            }
            let paths = glob::glob(pattern).into_iter().flatten().flatten();
            found.extend(paths.filter(|p| p.is_file()).map(|p| (input, p, true)));
        }
        found.retain(|(_, p, _)| !self.tailers.contains_key(p));
        let names: BTreeSet<&Path> = (self.tailers.keys().map(PathBuf::as_path))
            .chain(found.iter().map(|(_, p, _)| p.as_path()))
            .collect();
        (found.iter())
            .filter(|(_, p, globbed)| !globbed || !(is_sibling_of(p, &names) || is_compressed(p)))
            .map(|(input, p, _)| (*input, p.clone()))
            .collect()
    }

    /// Expands the patterns (new matches get a tailer), then polls every file.
    pub fn poll(&mut self, now_ms: u64, out: &mut Vec<WatchEvent>) {
        let first = std::mem::replace(&mut self.first, false);
        for (input, path) in self.new_matches() {
            // A file two patterns match is followed once, for the first.
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
