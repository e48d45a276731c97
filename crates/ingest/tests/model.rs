//! Random walks of a logger, logrotate, and a daemon that commits, crashes and restarts,
//! checked against a model of the disk and of what must be delivered.
//!
//! The daemon's store is modelled by `Commit`: the checkpoints and the lines delivered so
//! far are recorded together, as one transaction. `Crash` drops the follower and everything
//! delivered since the last commit; `Restart` starts a new one from the committed
//! checkpoints. Every poll must deliver exactly what the model says, in order. At the end,
//! every line written is committed exactly once, or the model names why it could not be
//! read:
//!
//! - written between copytruncate's copy and its truncate (the documented window);
//! - written to a rotated file after the follower moved on to the new one (a writer that
//!   reopens its log late, after a poll noticed the rotation);
//! - in a file the follower could no longer find: rotated away entirely between two looks,
//!   or between the committed checkpoint and a restart; deleted (with its copies) before it
//!   was read to its end; or copied or compressed away while its first bytes were unknown
//!   (it was empty when last looked at).
//!
//! Lines delivered and then forgotten in a crash are delivered again after the restart
//! unless one of these applies; none is ever committed twice.

mod common;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use common::{append, truncate, FLUSH_MS};
use faultline_ingest::{Checkpoint, StartAt, TailEvent, Tailer, WatchEvent, Watcher};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What one inode held between two truncations: the lines written to it, in order.
struct Content {
    inode: usize,
    lines: Vec<u64>,
}

/// A rotated sibling of the path (`access.log.3`, `access.log.3.gz`).
#[derive(Clone, Copy, PartialEq)]
enum Sibling {
    /// The path's file itself, renamed: whatever its inode holds.
    Inode(usize),
    /// A copy of one content (copytruncate's, or a compressed rotated file).
    Copy { content: usize, compressed: bool },
}

/// Where the follower stands, in model terms.
#[derive(Clone, Copy, Debug)]
enum Pos {
    /// A file open: content index and lines read of it.
    Open(usize, usize),
    /// Started and not polled yet: the committed position it resumes from, if any.
    Resume(Option<(usize, usize)>),
}

/// The disk, and which lines can no longer be read and why.
struct Disk {
    _dir: tempfile::TempDir,
    path: PathBuf,
    contents: Vec<Content>,
    current: usize,
    siblings: Vec<(PathBuf, Sibling)>,
    next_inode: usize,
    next_line: u64,
    next_name: usize,
    lost: BTreeMap<u64, &'static str>,
    /// Removed files kept open so that their inodes are not handed to new files: the model
    /// cannot predict inode reuse (which has its own named scenario).
    held: Vec<File>,
}

impl Disk {
    fn new() -> Disk {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        fs::write(&path, "").unwrap();
        Disk {
            _dir: dir,
            path,
            contents: vec![Content {
                inode: 0,
                lines: Vec::new(),
            }],
            current: 0,
            siblings: Vec::new(),
            next_inode: 1,
            next_line: 0,
            next_name: 1,
            lost: BTreeMap::new(),
            held: Vec::new(),
        }
    }

    fn lines(&mut self, n: u64) -> (Vec<u64>, String) {
        let ids: Vec<u64> = (self.next_line..self.next_line + n).collect();
        self.next_line += n;
        let text = ids.iter().map(|i| format!("line {i}\n")).collect();
        (ids, text)
    }

    fn write(&mut self, n: u64) {
        let (ids, text) = self.lines(n);
        append(&self.path, &text);
        self.contents[self.current].lines.extend(ids);
    }

    /// The writer reopens its log late (nginx on its signal): lines reach the file just
    /// rotated. Read if the follower is still on it (or resumes from it); otherwise lost.
    fn late_write(&mut self, n: u64, follower_at: Option<usize>) {
        let Some((name, Sibling::Inode(inode))) = self.siblings.last().cloned() else {
            return;
        };
        let content = self.latest(inode);
        let (ids, text) = self.lines(n);
        append(&name, &text);
        if follower_at != Some(content) {
            for &id in &ids {
                self.lost
                    .insert(id, "written to a rotated file after the follower moved on");
            }
        }
        self.contents[content].lines.extend(ids);
    }

    fn new_content(&mut self, inode: usize) {
        self.contents.push(Content {
            inode,
            lines: Vec::new(),
        });
        self.current = self.contents.len() - 1;
    }

    fn sibling_name(&mut self) -> PathBuf {
        self.next_name += 1;
        self.path
            .with_file_name(format!("access.log.{}", self.next_name))
    }

    /// logrotate's create mode: rename, then a new empty file.
    fn rotate(&mut self) {
        let name = self.sibling_name();
        fs::rename(&self.path, &name).unwrap();
        let inode = self.contents[self.current].inode;
        self.siblings.push((name, Sibling::Inode(inode)));
        fs::write(&self.path, "").unwrap();
        self.next_inode += 1;
        self.new_content(self.next_inode);
    }

    fn delete_and_recreate(&mut self) {
        self.held.push(File::open(&self.path).unwrap());
        fs::remove_file(&self.path).unwrap();
        fs::write(&self.path, "").unwrap();
        self.next_inode += 1;
        self.new_content(self.next_inode);
    }

    /// copytruncate: copy, `window` lines written in between, truncate (same inode).
    fn copytruncate(&mut self, window: u64) {
        let name = self.sibling_name();
        fs::copy(&self.path, &name).unwrap();
        let copy = Sibling::Copy {
            content: self.current,
            compressed: false,
        };
        self.siblings.push((name, copy));
        let (ids, text) = self.lines(window);
        append(&self.path, &text);
        for id in ids {
            self.lost
                .insert(id, "written between copytruncate's copy and truncate");
        }
        truncate(&self.path);
        self.new_content(self.contents[self.current].inode);
    }

    /// Compresses a plain sibling (gzip or zstd) and removes it, as logrotate's `compress`.
    fn compress(&mut self, pick: u64, zstd: bool) {
        let plain: Vec<usize> = (0..self.siblings.len())
            .filter(|&i| {
                !matches!(
                    self.siblings[i].1,
                    Sibling::Copy {
                        compressed: true,
                        ..
                    }
                )
            })
            .collect();
        let Some(&i) = plain.get(pick as usize % plain.len().max(1)) else {
            return;
        };
        let (name, what) = self.siblings[i].clone();
        let bytes = fs::read(&name).unwrap();
        let packed = if zstd {
            zstd::encode_all(&bytes[..], 1).unwrap()
        } else {
            common::gzip(&bytes)
        };
        let ext = if zstd { "zst" } else { "gz" };
        let packed_name = PathBuf::from(format!("{}.{ext}", name.display()));
        let mut f = File::create(&packed_name).unwrap();
        f.write_all(&packed).unwrap();
        let content = match what {
            Sibling::Inode(inode) => {
                self.held.push(File::open(&name).unwrap());
                self.latest(inode)
            }
            Sibling::Copy { content, .. } => content,
        };
        fs::remove_file(&name).unwrap();
        let compressed = Sibling::Copy {
            content,
            compressed: true,
        };
        self.siblings[i] = (packed_name, compressed);
    }

    /// Removes a sibling, as logrotate's `rotate N` drops the oldest.
    fn delete_sibling(&mut self, pick: u64) {
        if self.siblings.is_empty() {
            return;
        }
        let (name, what) = self.siblings.remove(pick as usize % self.siblings.len());
        if matches!(what, Sibling::Inode(_)) {
            self.held.push(File::open(&name).unwrap());
        }
        fs::remove_file(&name).unwrap();
    }

    /// The content an inode holds now.
    fn latest(&self, inode: usize) -> usize {
        (0..self.contents.len())
            .rev()
            .find(|&c| self.contents[c].inode == inode)
            .unwrap()
    }

    /// Whether a restarted follower finds the inode: named by the path, or renamed.
    fn inode_findable(&self, inode: usize) -> bool {
        self.contents[self.current].inode == inode
            || self.siblings.iter().any(|s| s.1 == Sibling::Inode(inode))
    }

    fn copy_of(&self, content: usize) -> Option<bool> {
        self.siblings.iter().find_map(|s| match s.1 {
            Sibling::Copy {
                content: c,
                compressed,
            } if c == content => Some(compressed),
            _ => None,
        })
    }

    fn lose(&mut self, lines: &[u64], why: &'static str) {
        for &l in lines {
            self.lost.entry(l).or_insert(why);
        }
    }

    /// What a poll from `pos` delivers: the rest of the position's content (through the
    /// descriptor held, the inode found again, or a copy found by first bytes), then what
    /// its inode holds now if that is newer content, then the path's file from its start.
    /// Everything passed over is recorded as lost, with the reason.
    fn expect(&mut self, pos: Pos, stats: &mut Stats) -> Vec<u64> {
        let (from, live) = match pos {
            Pos::Open(c, n) => (Some((c, n)), true),
            Pos::Resume(r) => (r, false),
        };
        let mut out = Vec::new();
        let Some((c, n)) = from else {
            let passed: Vec<u64> = (0..self.current)
                .flat_map(|k| self.contents[k].lines.clone())
                .collect();
            self.lose(&passed, "no checkpoint committed before the restart");
            return self.contents[self.current].lines.clone();
        };
        let inode = self.contents[c].inode;
        let latest = self.latest(inode);
        let rest = self.contents[c].lines[n..].to_vec();
        let held = latest == c && (live || self.inode_findable(inode));
        // A copy is recognised by its first bytes, known once something was read.
        let copied = if n > 0 { self.copy_of(c) } else { None };
        if held || copied.is_some() {
            if !held {
                stats.from_copies += rest.len();
                stats.from_compressed += rest.len() * usize::from(copied == Some(true));
            }
            out.extend(rest);
        } else if n == 0 {
            self.lose(
                &rest,
                "moved out of reach while its first bytes were unknown",
            );
        } else {
            self.lose(&rest, "deleted before it was read to its end");
        }
        for k in c + 1..=self.current {
            if k == latest && (live || self.inode_findable(inode)) || k == self.current {
                out.extend(self.contents[k].lines.iter().copied());
            } else {
                let passed = self.contents[k].lines.clone();
                self.lose(&passed, "its file was rotated away before it was looked at");
            }
        }
        out
    }
}

#[derive(Default)]
struct Stats {
    redelivered: usize,
    from_copies: usize,
    from_compressed: usize,
    lost: usize,
}

/// A Tailer on the path, or a Watcher on a glob that also matches every rotated sibling
/// (`access.log*`): both must deliver the same.
enum Follower {
    Tailer(Tailer),
    Watcher(Watcher),
}

impl Follower {
    fn start(watcher: bool, path: &Path, resume: Vec<Checkpoint>) -> Follower {
        if watcher {
            let glob = format!("{}*", path.display());
            Follower::Watcher(Watcher::new(
                vec![glob],
                resume,
                StartAt::Beginning,
                FLUSH_MS,
            ))
        } else {
            Follower::Tailer(Tailer::new(path, resume.into_iter().next(), FLUSH_MS))
        }
    }

    fn poll(&mut self) -> Vec<u64> {
        let events: Vec<TailEvent> = match self {
            Follower::Tailer(t) => {
                let mut out = Vec::new();
                t.poll(0, &mut out);
                out
            }
            Follower::Watcher(w) => {
                let mut out = Vec::new();
                w.poll(0, &mut out);
                out.into_iter().map(|e: WatchEvent| e.event).collect()
            }
        };
        let mut ids = Vec::new();
        for e in events {
            match e {
                TailEvent::Lines { bytes, .. } => ids.extend(
                    (String::from_utf8(bytes).unwrap().lines())
                        .map(|l| l.strip_prefix("line ").unwrap().parse::<u64>().unwrap()),
                ),
                TailEvent::Unreadable { error } => panic!("unexpected: {error}"),
                _ => {}
            }
        }
        ids
    }

    fn checkpoints(&self) -> Vec<Checkpoint> {
        match self {
            Follower::Tailer(t) => t.checkpoint().into_iter().collect(),
            Follower::Watcher(w) => w.checkpoints(),
        }
    }
}

/// The daemon: a follower while running, the store's last commit, what was delivered since.
struct Daemon {
    watcher: bool,
    running: Option<(Follower, Pos)>,
    committed_lines: BTreeMap<u64, usize>,
    committed_cps: Vec<Checkpoint>,
    committed_pos: Option<(usize, usize)>,
    pending: Vec<u64>,
    /// Delivered, then forgotten in a crash: due again after the restart.
    forgotten: Vec<u64>,
}

impl Daemon {
    fn poll(&mut self, disk: &mut Disk, stats: &mut Stats, log: &[String], seed: u64) {
        let Some((follower, pos)) = self.running.as_mut() else {
            return;
        };
        let got = follower.poll();
        let want = disk.expect(*pos, stats);
        assert_eq!(got, want, "seed {seed}, from {pos:?}, after {log:?}");
        for l in std::mem::take(&mut self.forgotten) {
            let again = got.contains(&l);
            assert!(
                again || disk.lost.contains_key(&l),
                "seed {seed}: {l} dropped"
            );
            stats.redelivered += usize::from(again);
        }
        self.pending.extend(got);
        *pos = Pos::Open(disk.current, disk.contents[disk.current].lines.len());
    }

    fn commit(&mut self) {
        let Some((follower, pos)) = self.running.as_ref() else {
            return;
        };
        for l in self.pending.drain(..) {
            *self.committed_lines.entry(l).or_default() += 1;
        }
        self.committed_cps = follower.checkpoints();
        self.committed_pos = match *pos {
            Pos::Open(c, n) => Some((c, n)),
            Pos::Resume(r) => r,
        };
    }

    /// The content the follower reads (or, stopped, resumes from).
    fn at(&self) -> Option<usize> {
        let pos = match &self.running {
            Some((_, Pos::Open(c, _))) => return Some(*c),
            Some((_, Pos::Resume(r))) => r,
            None => &self.committed_pos,
        };
        pos.map(|(c, _)| c)
    }

    fn crash(&mut self) {
        if self.running.take().is_some() {
            self.forgotten.append(&mut self.pending);
        }
    }

    fn restart(&mut self, disk: &Disk) {
        if self.running.is_none() {
            let follower = Follower::start(self.watcher, &disk.path, self.committed_cps.clone());
            self.running = Some((follower, Pos::Resume(self.committed_pos)));
        }
    }
}

fn run(seed: u64, watcher: bool, stats: &mut Stats) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut disk = Disk::new();
    let mut d = Daemon {
        watcher,
        running: Some((
            Follower::start(watcher, &disk.path, Vec::new()),
            Pos::Resume(None),
        )),
        committed_lines: BTreeMap::new(),
        committed_cps: Vec::new(),
        committed_pos: None,
        pending: Vec::new(),
        forgotten: Vec::new(),
    };
    let mut log: Vec<String> = Vec::new();
    for _ in 0..100 {
        let mut op = rng.below(100);
        let arg = rng.next();
        // While stopped, the daemon's own steps restart it: downtime is a few steps long,
        // long enough for rotations and writes to happen meanwhile.
        if d.running.is_none() && (36..=72).contains(&op) {
            op = 73;
        }
        let name = match op {
            0..=33 => {
                disk.write(1 + arg % 4);
                "write"
            }
            34..=35 => {
                disk.late_write(1 + arg % 2, d.at());
                "late write to the rotated file"
            }
            36..=60 => {
                d.poll(&mut disk, stats, &log, seed);
                "poll"
            }
            61..=68 => {
                d.commit();
                "commit"
            }
            69..=72 => {
                d.crash();
                "crash"
            }
            73..=78 => {
                d.restart(&disk);
                "restart"
            }
            79..=83 => {
                disk.rotate();
                "rotate"
            }
            84 => {
                disk.delete_and_recreate();
                "delete and recreate"
            }
            85..=88 => {
                disk.copytruncate(arg % 3);
                "copytruncate"
            }
            89..=95 => {
                disk.compress(arg >> 8, arg % 2 == 0);
                "compress a sibling"
            }
            _ => {
                disk.delete_sibling(arg >> 8);
                "delete a sibling"
            }
        };
        log.push(name.to_string());
    }
    // Quiesce: running again, everything read and committed.
    d.restart(&disk);
    d.poll(&mut disk, stats, &log, seed);
    d.commit();
    for line in 0..disk.next_line {
        match d.committed_lines.get(&line) {
            Some(1) => {}
            Some(n) => panic!("seed {seed}: line {line} committed {n} times"),
            None => {
                assert!(
                    disk.lost.contains_key(&line),
                    "seed {seed}: line {line} lost"
                );
                stats.lost += 1;
            }
        }
    }
}

#[test]
fn crash_and_restart_commit_every_line_once_a_tailer() {
    let mut stats = Stats::default();
    for seed in 1..=300 {
        run(seed, false, &mut stats);
    }
    // The walk reaches what it is for.
    assert!(stats.redelivered > 0 && stats.from_copies > 0 && stats.from_compressed > 0);
    assert!(stats.lost > 0);
}

#[test]
fn crash_and_restart_commit_every_line_once_a_watcher_on_a_glob_matching_rotated_files() {
    let mut stats = Stats::default();
    for seed in 1..=300 {
        run(seed, true, &mut stats);
    }
    assert!(stats.redelivered > 0 && stats.from_copies > 0 && stats.from_compressed > 0);
}
