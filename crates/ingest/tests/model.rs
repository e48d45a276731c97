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
//! - written to a rotated file after the follower moved on to the new one: a writer that
//!   reopens its log later than the file's quiet time (a poll saw the rotation, then no
//!   growth for `FLUSH_MS`), or after a restart read the file's rest. Lines written to it
//!   while the follower waits on it are read;
//! - in a file the follower could no longer find: rotated away entirely between two looks,
//!   or between the committed checkpoint and a restart; held during a wait and truncated
//!   before the follower switched to it; deleted (with its copies) before it was read to its
//!   end; or copied or compressed away while its first bytes were unknown (it was empty
//!   when last looked at).
//!
//! Time moves on only at polls, by zero to one and a half `FLUSH_MS`, so that a wait on a
//! renamed file ends after one to several polls.
//!
//! Lines delivered and then forgotten in a crash are delivered again after the restart
//! unless one of these applies; none is ever committed twice.

mod common;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::Write;
use std::ops::Range;
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
#[derive(Clone, Debug)]
enum Pos {
    /// A file open: content index, lines read of it, and the wait once a poll saw that its
    /// inode is no longer the path's.
    Open {
        content: usize,
        read: usize,
        wait: Option<Wait>,
    },
    /// Started and not polled yet: the committed position it resumes from, if any.
    Resume(Option<(usize, usize)>),
}

/// A renamed file followed on until it has not grown for `FLUSH_MS`.
#[derive(Clone, Debug)]
struct Wait {
    quiet_since: u64,
    /// The contents the path held when a poll first saw their inode, oldest first: their
    /// inodes are read in turn, from the start of what each holds then.
    next: Vec<usize>,
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
    /// rotated. Read if the follower still reads its inode (`follows`: the one it is on or
    /// resumes from, and those it holds to read next), otherwise lost. `waiting`: the follower is
    /// on it and has seen that it was renamed (before waiting, it moved on at once).
    fn late_write(&mut self, n: u64, follows: &[usize], waiting: bool, stats: &mut Stats) {
        let Some((name, Sibling::Inode(inode))) = self.siblings.last().cloned() else {
            return;
        };
        let content = self.latest(inode);
        let (ids, text) = self.lines(n);
        append(&name, &text);
        if !follows.contains(&inode) {
            self.lose(
                &ids,
                "written to a rotated file after the follower moved on",
            );
        } else if waiting && follows.first() == Some(&inode) {
            stats.late_while_waiting += ids.len();
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

    fn lose_contents(&mut self, contents: Range<usize>, why: &'static str) {
        let passed: Vec<u64> = contents
            .flat_map(|k| self.contents[k].lines.clone())
            .collect();
        self.lose(&passed, why);
    }

    /// The follower on `content`, all of it read.
    fn at_end(&self, content: usize, wait: Option<Wait>) -> Pos {
        Pos::Open {
            content,
            read: self.contents[content].lines.len(),
            wait,
        }
    }

    /// What a poll from `pos` at `now` delivers, and where the follower stands after it:
    /// the rest of the position's content (through the descriptor held, the inode found
    /// again, or a copy found by first bytes), then what its inode holds now if that is
    /// newer content; then, after a restart, the path's file from its start; running, the
    /// same file again until it has not grown for `FLUSH_MS` since a poll saw the path name
    /// another, then, in turn, the inodes the path named meanwhile. Everything passed over is
    /// recorded as lost, with the reason.
    fn expect(&mut self, pos: Pos, now: u64, stats: &mut Stats) -> (Vec<u64>, Pos) {
        let (c, n, wait, live) = match pos {
            Pos::Open {
                content,
                read,
                wait,
            } => (content, read, wait, true),
            Pos::Resume(Some((c, n))) => (c, n, None, false),
            Pos::Resume(None) => {
                self.lose_contents(
                    0..self.current,
                    "no checkpoint committed before the restart",
                );
                let out = self.contents[self.current].lines.clone();
                return (out, self.at_end(self.current, None));
            }
        };
        let mut out = Vec::new();
        let inode = self.contents[c].inode;
        let latest = self.latest(inode);
        let rest = self.contents[c].lines[n..].to_vec();
        let reach = live || self.inode_findable(inode);
        let held = latest == c && reach;
        // A copy is recognised by its first bytes, known once something was read.
        let copied = if n > 0 { self.copy_of(c) } else { None };
        let mut grew = held && !rest.is_empty();
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
        if !reach {
            self.lose_contents(c + 1..self.current, ROTATED_AWAY);
            out.extend(self.contents[self.current].lines.iter().copied());
            return (out, self.at_end(self.current, None));
        }
        self.lose_contents(c + 1..latest, ROTATED_AWAY);
        if latest != c {
            grew = !self.contents[latest].lines.is_empty();
            out.extend(self.contents[latest].lines.iter().copied());
        }
        if self.contents[self.current].inode == inode {
            return (out, self.at_end(latest, None));
        }
        if !live {
            // A restart reads the rest and moves on at once.
            self.lose_contents(latest + 1..self.current, ROTATED_AWAY);
            out.extend(self.contents[self.current].lines.iter().copied());
            return (out, self.at_end(self.current, None));
        }
        let mut wait = wait.unwrap_or(Wait {
            quiet_since: now,
            next: Vec::new(),
        });
        if grew {
            wait.quiet_since = now;
        }
        self.hold(&mut wait, latest);
        if now - wait.quiet_since < FLUSH_MS {
            return (out, self.at_end(latest, Some(wait)));
        }
        let first = wait.next.remove(0);
        let next = self.latest(self.contents[first].inode);
        self.lose_contents(first..next, "truncated before the follower switched to it");
        out.extend(self.contents[next].lines.iter().copied());
        if wait.next.is_empty() {
            return (out, self.at_end(next, None));
        }
        stats.next_rotated_while_waiting += 1;
        wait.quiet_since = now;
        (out, self.at_end(next, Some(wait)))
    }

    /// A poll while waiting on `on`: the path's inode is held if it is new. What came
    /// between the last inode held (or `on`) and it was rotated away unseen.
    fn hold(&mut self, wait: &mut Wait, on: usize) {
        let inode = self.contents[self.current].inode;
        if wait.next.iter().any(|&k| self.contents[k].inode == inode) {
            return;
        }
        // The tailer holds 16 files at most; the walk never rotates that often in a wait.
        assert!(wait.next.len() < 16, "a wait longer than the walk allows");
        let last = wait
            .next
            .last()
            .map_or(on, |&k| self.latest(self.contents[k].inode));
        self.lose_contents(last + 1..self.current, ROTATED_AWAY);
        wait.next.push(self.current);
    }
}

const ROTATED_AWAY: &str = "its file was rotated away before it was looked at";

#[derive(Default)]
struct Stats {
    redelivered: usize,
    from_copies: usize,
    from_compressed: usize,
    lost: usize,
    /// Lines written to a renamed file while the follower waited on it.
    late_while_waiting: usize,
    /// Switches to a file held while waiting that was rotated away too (waited on in turn).
    next_rotated_while_waiting: usize,
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

    fn poll(&mut self, now: u64) -> Vec<u64> {
        let events: Vec<TailEvent> = match self {
            Follower::Tailer(t) => {
                let mut out = Vec::new();
                t.poll(now, &mut out);
                out
            }
            Follower::Watcher(w) => {
                let mut out = Vec::new();
                w.poll(now, &mut out);
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
    /// The clock given to polls.
    now: u64,
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
        let got = follower.poll(self.now);
        let (want, next) = disk.expect(pos.clone(), self.now, stats);
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
        *pos = next;
    }

    fn commit(&mut self) {
        let Some((follower, pos)) = self.running.as_ref() else {
            return;
        };
        for l in self.pending.drain(..) {
            *self.committed_lines.entry(l).or_default() += 1;
        }
        self.committed_cps = follower.checkpoints();
        self.committed_pos = match pos {
            Pos::Open { content, read, .. } => Some((*content, *read)),
            Pos::Resume(r) => *r,
        };
    }

    /// The inodes the follower will still read from: the one it is on (or, stopped,
    /// resumes from) first, then those it holds to read next; and whether it waits on the
    /// first.
    fn follows(&self, disk: &Disk) -> (Vec<usize>, bool) {
        let pos = match &self.running {
            Some((_, Pos::Open { content, wait, .. })) => {
                let next = wait.iter().flat_map(|w| &w.next);
                let inodes = std::iter::once(content).chain(next);
                let inodes = inodes.map(|&c| disk.contents[c].inode).collect();
                return (inodes, wait.is_some());
            }
            Some((_, Pos::Resume(r))) => r,
            None => &self.committed_pos,
        };
        let inodes = pos.map(|(c, _)| disk.contents[c].inode);
        (inodes.into_iter().collect(), false)
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
        now: 0,
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
                let (follows, waiting) = d.follows(&disk);
                disk.late_write(1 + arg % 2, &follows, waiting, stats);
                "late write to the rotated file"
            }
            36..=60 => {
                d.now += arg % 4 * FLUSH_MS / 2;
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
    // Quiesce: running again, everything read and committed. Quiet polls until no file is
    // waited on (one per file held, and one that may still read).
    d.restart(&disk);
    loop {
        d.now += FLUSH_MS;
        d.poll(&mut disk, stats, &log, seed);
        if matches!(d.running, Some((_, Pos::Open { wait: None, .. }))) {
            break;
        }
    }
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
    assert!(stats.late_while_waiting > 0 && stats.next_rotated_while_waiting > 0);
    assert!(stats.lost > 0);
}

#[test]
fn crash_and_restart_commit_every_line_once_a_watcher_on_a_glob_matching_rotated_files() {
    let mut stats = Stats::default();
    for seed in 1..=300 {
        run(seed, true, &mut stats);
    }
    assert!(stats.redelivered > 0 && stats.from_copies > 0 && stats.from_compressed > 0);
    assert!(stats.late_while_waiting > 0 && stats.next_rotated_while_waiting > 0);
}
