//! Following a log file by path through appends, rotation and truncation, by polling.
//!
//! Polling is the base mechanism (it works on every filesystem, network mounts included, and
//! needs no change notification); a notification may only make the caller poll sooner. Each
//! poll compares what the path names now with the file being read:
//!
//! - **append**: the new bytes are read; whole lines are delivered, a partial last line is
//!   kept until its newline arrives or until it is older than the flush timeout;
//! - **rename rotation** (`logrotate` create mode) and **delete and recreate**: the path now
//!   names another file. A writer may go on adding to the old one until it reopens its log
//!   (nginx between logrotate's rename and its signal), so the old file is followed on,
//!   through the descriptor still open (even if it was renamed, compressed or deleted
//!   meanwhile), until no poll has seen it grow for the flush timeout — the time a writer is
//!   given to finish. Then it is read to its end, and the new one from its start. Until that
//!   switch the checkpoint names the old file, and the new file's lines wait. Each file the
//!   path names meanwhile is opened when a poll first sees it and held: one rotated away
//!   before the switch is read all the same, and waited on in turn;
//! - **truncation** (in place, or `copytruncate`): the file is shorter than what was read,
//!   or its first bytes changed. What was not read yet of the old content is read from the
//!   copy when a sibling holds it (found by its first bytes, plain or compressed); reading
//!   then restarts at 0. Lines written between the copy and the truncate are lost — the
//!   documented window of `copytruncate`;
//! - **inode reuse**: the same device and inode with other first bytes is another file.
//!
//! A file's identity is device + inode plus a hash of its first bytes ([`FileId`]), which is
//! what a [`Checkpoint`] stores with the offset. Resuming from a checkpoint whose file was
//! rotated meanwhile reads the rest of it first — found among the path's siblings
//! (`access.log.1`, `access.log-20240101.gz`) by inode, or by its first bytes once it was
//! copied or compressed — then the file the path names now from its beginning.
//!
//! A restart whose checkpoint names a file that was renamed reads that file's rest and moves
//! on to the path's file at once: the wait is not started again (with restarts coming
//! faster than the wait, it would never end).
//!
//! Not read: lines a writer adds to a renamed file after it was quiet for the flush timeout
//! and the tailer moved on (a writer that reopens later than that), or after a restart read
//! the file's rest; a file created and rotated away entirely between two polls, or while
//! stopped (the files held during a wait included), that is not the checkpoint's; what a
//! held file lost to a truncation before the switch to it; the rest of a file deleted while
//! stopped; a file that was empty when last looked at (its first bytes unknown) and then
//! copied or compressed away.
//!
//! Time comes in as an argument (milliseconds of any monotonic clock): no clock is read here.

use std::collections::VecDeque;
use std::fs::{File, Metadata};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use faultline_model::join::fnv1a as fnv;

use crate::chunk::{open_path, Compression};

/// Bytes hashed to tell one file from another that reuses its inode.
const HEAD_BYTES: usize = 256;
/// Bytes read per call to `read`.
const READ_BYTES: usize = 64 * 1024;
/// Bytes one poll reads from a file still being written: a backlog is read over several
/// polls, so what waits for the caller stays bounded whatever the file's size.
const POLL_BYTES: u64 = 4 << 20;
/// Longest partial line kept; a longer one is delivered as is (the parser counts it).
const MAX_PARTIAL: usize = 1 << 20;
/// Most files held open while a renamed one is waited on: a writer that never reopens keeps
/// its file growing through every rotation; past this many, the files rotated away are not
/// held (the path's file is still read when the tailer gets to it).
const MAX_NEXT: usize = 16;

/// What identifies a file across renames: device, inode, and its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
    /// FNV-1a of the first `head_len` bytes.
    pub head: u64,
    pub head_len: u32,
}

/// Where reading of a path stands: enough to resume after a restart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub path: PathBuf,
    pub id: FileId,
    /// Bytes of the file consumed (up to the end of the last line delivered).
    pub offset: u64,
}

/// What a poll found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TailEvent {
    /// Whole lines (each ending in `\n`, except a partial line flushed after the timeout or
    /// at the end of a rotated file), read from `offset` of the file `id`.
    Lines {
        id: FileId,
        offset: u64,
        bytes: Vec<u8>,
    },
    /// Reading moved on to the file the path names now; the old one was read to its end
    /// after it had not grown for the flush timeout (at once after a restart).
    Rotated { from: FileId, to: FileId },
    /// The file was truncated (or replaced in place); reading restarts at 0. What was not
    /// read yet of the old content came before this event, from its copy, if one was found;
    /// `at` is where reading of the old content stopped.
    Truncated { id: FileId, at: u64 },
    /// The path cannot be read now (missing, permission); polling goes on.
    Unreadable { error: String },
}

/// How far one file's content was read; kept apart from the file so that the rest of a
/// content can be read from its copy.
#[derive(Debug)]
struct Progress {
    id: FileId,
    /// Offset of the first byte not yet read.
    read_to: u64,
    /// Bytes read after the last newline, and when they started waiting.
    partial: Vec<u8>,
    partial_since: u64,
}

impl Progress {
    fn new(id: FileId, read_to: u64, now_ms: u64) -> Progress {
        Progress {
            id,
            read_to,
            partial: Vec::new(),
            partial_since: now_ms,
        }
    }

    /// The offset after the last line delivered.
    fn consumed(&self) -> u64 {
        self.read_to - self.partial.len() as u64
    }
}

#[derive(Debug)]
struct Open {
    file: File,
    at: Progress,
    /// Set while the path names another file: this one is followed on until it is quiet.
    moved: Option<Moved>,
}

impl Open {
    fn new(file: File, at: Progress) -> Open {
        Open {
            file,
            at,
            moved: None,
        }
    }
}

/// The path names another file than the one read, whose writer may not have reopened yet.
#[derive(Debug)]
struct Moved {
    /// The files the path named since, oldest first, each opened when a poll first saw it:
    /// read in turn from their start, even if rotated away meanwhile.
    next: VecDeque<Next>,
    /// When the file read was last seen growing (or the change seen, if later).
    quiet_since: u64,
}

#[derive(Debug)]
struct Next {
    file: File,
    /// Device and inode.
    key: (u64, u64),
}

impl Moved {
    /// Opens the file the path names (`key`, device and inode) unless it is held already or
    /// is the one read (`reading`), renamed back.
    fn hold(&mut self, path: &Path, key: (u64, u64), reading: (u64, u64)) -> io::Result<()> {
        let held = |k: (u64, u64)| k == reading || self.next.iter().any(|n| n.key == k);
        if self.next.len() >= MAX_NEXT || held(key) {
            return Ok(());
        }
        let file = open_path(path)?;
        let meta = file.metadata()?;
        // The path may have changed since `key` was read: the file opened is what counts.
        let key = (meta.dev(), meta.ino());
        if !held(key) {
            self.next.push_back(Next { file, key });
        }
        Ok(())
    }
}

/// Follows one path. See the module documentation.
#[derive(Debug)]
pub struct Tailer {
    path: PathBuf,
    cur: Option<Open>,
    resume: Option<Checkpoint>,
    flush_ms: u64,
    /// The last error reported, so that a lasting one is reported once.
    last_error: Option<String>,
    /// The first file opened is read from its end (see [`Tailer::skip_to_end`]).
    from_end: bool,
}

/// The identity of an open file, hashing up to `HEAD_BYTES` of its beginning.
fn identify(file: &mut File) -> io::Result<FileId> {
    let meta = file.metadata()?;
    let mut head = vec![0u8; HEAD_BYTES.min(meta.len() as usize)];
    file.seek(SeekFrom::Start(0))?;
    file.read_exact(&mut head)?;
    Ok(FileId {
        dev: meta.dev(),
        ino: meta.ino(),
        head: fnv(&head),
        head_len: head.len() as u32,
    })
}

/// Whether `file` still starts with the bytes `id` hashed.
fn same_head(file: &mut File, id: &FileId) -> io::Result<bool> {
    if id.head_len == 0 {
        return Ok(true);
    }
    let mut head = vec![0u8; id.head_len as usize];
    file.seek(SeekFrom::Start(0))?;
    match file.read_exact(&mut head) {
        Ok(()) => Ok(fnv(&head) == id.head),
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

impl Tailer {
    /// Follows `path` from its beginning, or from `resume` when it names the same file.
    /// `flush_ms`: how long a writer may take to finish: a partial last line waits that long
    /// for its newline, and a renamed file is followed until it has not grown for that long.
    pub fn new(path: impl Into<PathBuf>, resume: Option<Checkpoint>, flush_ms: u64) -> Tailer {
        Tailer {
            path: path.into(),
            cur: None,
            resume,
            flush_ms,
            last_error: None,
            from_end: false,
        }
    }

    /// Reads the file found first from its end, not its beginning (unless a checkpoint
    /// names it): only lines written from now on. Files that replace it are read whole.
    pub fn skip_to_end(&mut self) {
        self.from_end = true;
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where reading stands: the offset after the last line delivered. Before a file could
    /// be opened, the checkpoint this tailer resumes from — committing it again loses
    /// nothing and repeats nothing.
    pub fn checkpoint(&self) -> Option<Checkpoint> {
        match &self.cur {
            Some(o) => Some(Checkpoint {
                path: self.path.clone(),
                id: o.at.id,
                offset: o.at.consumed(),
            }),
            None => self.resume.clone(),
        }
    }

    /// Looks at the path once and reports what changed. `now_ms` is the caller's clock.
    pub fn poll(&mut self, now_ms: u64, out: &mut Vec<TailEvent>) {
        match self.step(now_ms, out) {
            Ok(()) => self.last_error = None,
            Err(e) => {
                let error = format!("{}: {e}", self.path.display());
                if self.last_error.as_ref() != Some(&error) {
                    out.push(TailEvent::Unreadable {
                        error: error.clone(),
                    });
                    self.last_error = Some(error);
                }
            }
        }
    }

    fn step(&mut self, now_ms: u64, out: &mut Vec<TailEvent>) -> io::Result<()> {
        let named = std::fs::metadata(&self.path);
        if self.cur.is_some() {
            return self.follow(named.ok().as_ref(), now_ms, out);
        }
        let named = named?;
        match self.resume.clone() {
            Some(cp) => self.resume_from(cp, &named, now_ms, out),
            None => self.open(now_ms, out),
        }
    }

    /// A poll with a file open: its new lines, then, if the path names another file and this
    /// one has been quiet for the flush timeout, the switch to the other.
    fn follow(
        &mut self,
        named: Option<&Metadata>,
        now_ms: u64,
        out: &mut Vec<TailEvent>,
    ) -> io::Result<()> {
        let Some(cur) = self.cur.as_mut() else {
            return Ok(());
        };
        if read_on(&self.path, cur, now_ms, self.flush_ms, out)? {
            if let Some(moved) = cur.moved.as_mut() {
                moved.quiet_since = now_ms;
            }
        }
        // Deleted (`named` is None): keep reading what is written until a file reappears.
        let Some(named) = named else {
            return Ok(());
        };
        let (key, reading) = ((named.dev(), named.ino()), (cur.at.id.dev, cur.at.id.ino));
        if key == reading {
            cur.moved = None;
            return Ok(());
        }
        let moved = cur.moved.get_or_insert_with(|| Moved {
            next: VecDeque::new(),
            quiet_since: now_ms,
        });
        moved.hold(&self.path, key, reading)?;
        if now_ms.saturating_sub(moved.quiet_since) < self.flush_ms {
            return Ok(());
        }
        self.move_on(now_ms, out)
    }

    /// The file read was quiet for the wait: the writer has reopened. It is read to its end
    /// (a partial last line is all there will be of it), then the first file held from its
    /// start; the others, rotated away too, are waited on in turn, from now.
    fn move_on(&mut self, now_ms: u64, out: &mut Vec<TailEvent>) -> io::Result<()> {
        let Some(cur) = self.cur.as_mut() else {
            return Ok(());
        };
        read_new(cur, now_ms, self.flush_ms, out, true)?;
        let from = cur.at.id;
        let Some(mut moved) = cur.moved.take() else {
            return Ok(());
        };
        let Some(next) = moved.next.pop_front() else {
            return Ok(());
        };
        self.cur = None;
        self.switch(from, next.file, now_ms, out)?;
        if let (Some(cur), false) = (self.cur.as_mut(), moved.next.is_empty()) {
            moved.quiet_since = now_ms;
            cur.moved = Some(moved);
        }
        Ok(())
    }

    /// The first poll after a restart: the rest of the checkpoint's content wherever it is
    /// now (the path, a rotated sibling, a copy or a compressed copy), then what the
    /// checkpoint's inode holds now if that is newer content, then the path's file.
    fn resume_from(
        &mut self,
        cp: Checkpoint,
        named: &Metadata,
        now_ms: u64,
        out: &mut Vec<TailEvent>,
    ) -> io::Result<()> {
        let at_path = named.dev() == cp.id.dev && named.ino() == cp.id.ino;
        let mut holder = if at_path {
            Some(open_path(&self.path)?)
        } else {
            find_inode(&self.path, &cp.id)
        };
        let unchanged = match holder.as_mut() {
            Some(f) => f.metadata()?.len() >= cp.offset && same_head(f, &cp.id)?,
            None => false,
        };
        // A checkpoint says where to go on: reading from the end does not apply.
        self.from_end = false;
        self.resume = None;
        match holder {
            Some(file) if unchanged => self.resume_in(file, &cp, at_path, now_ms, out),
            _ if at_path => {
                // Truncated (copytruncate) while stopped.
                let mut old = Progress::new(cp.id, cp.offset, now_ms);
                read_copy(&self.path, &mut old, now_ms, out);
                out.push(TailEvent::Truncated {
                    id: cp.id,
                    at: old.read_to,
                });
                self.open(now_ms, out)
            }
            holder => self.resume_rotated(holder, &cp, now_ms, out),
        }
    }

    /// The checkpoint's content is still in its file: at the path, followed on from the
    /// offset; renamed, read to its end before the path's file.
    fn resume_in(
        &mut self,
        mut file: File,
        cp: &Checkpoint,
        at_path: bool,
        now_ms: u64,
        out: &mut Vec<TailEvent>,
    ) -> io::Result<()> {
        let id = identify(&mut file)?;
        let mut open = Open::new(file, Progress::new(id, cp.offset, now_ms));
        read_new(&mut open, now_ms, self.flush_ms, out, !at_path)?;
        if at_path {
            self.cur = Some(open);
            return Ok(());
        }
        self.switch(id, open_path(&self.path)?, now_ms, out)
    }

    /// The checkpoint's inode is elsewhere and holds other content now, or is gone: the
    /// rest from a copy, then the inode's newer content if it was renamed (all of it new),
    /// then the path's file.
    fn resume_rotated(
        &mut self,
        holder: Option<File>,
        cp: &Checkpoint,
        now_ms: u64,
        out: &mut Vec<TailEvent>,
    ) -> io::Result<()> {
        let mut old = Progress::new(cp.id, cp.offset, now_ms);
        read_copy(&self.path, &mut old, now_ms, out);
        let Some(mut file) = holder else {
            return self.switch(cp.id, open_path(&self.path)?, now_ms, out);
        };
        let id = identify(&mut file)?;
        let mut open = Open::new(file, Progress::new(id, 0, now_ms));
        read_new(&mut open, now_ms, self.flush_ms, out, true)?;
        self.switch(id, open_path(&self.path)?, now_ms, out)
    }

    /// The file `from` was read to its end: reads `next` from its start.
    fn switch(
        &mut self,
        from: FileId,
        mut next: File,
        now_ms: u64,
        out: &mut Vec<TailEvent>,
    ) -> io::Result<()> {
        let id = identify(&mut next)?;
        let mut open = Open::new(next, Progress::new(id, 0, now_ms));
        out.push(TailEvent::Rotated {
            from,
            to: open.at.id,
        });
        read_new(&mut open, now_ms, self.flush_ms, out, false)?;
        self.cur = Some(open);
        Ok(())
    }

    fn open(&mut self, now_ms: u64, out: &mut Vec<TailEvent>) -> io::Result<()> {
        let mut open = self.open_file(now_ms)?;
        read_new(&mut open, now_ms, self.flush_ms, out, false)?;
        self.cur = Some(open);
        Ok(())
    }

    /// Opens the path from its start (from its end the first time, if asked).
    fn open_file(&mut self, now_ms: u64) -> io::Result<Open> {
        let mut file = open_path(&self.path)?;
        let id = identify(&mut file)?;
        let start = if std::mem::take(&mut self.from_end) {
            file.metadata()?.len()
        } else {
            0
        };
        Ok(Open::new(file, Progress::new(id, start, now_ms)))
    }
}

/// What follows a file's name in the names of its rotated siblings (`access.log.1`,
/// `access.log-20240101.gz`, `access.log_old`). The one rule shared by the tailer (where a
/// rotated file may be) and the watcher (which matches of a glob are not inputs of their own).
pub(crate) const ROTATION_SEPARATORS: [char; 3] = ['.', '-', '_'];

fn is_rotated_sibling(name: &str, candidate: &str) -> bool {
    candidate
        .strip_prefix(name)
        .is_some_and(|rest| rest.starts_with(ROTATION_SEPARATORS))
}

/// The regular files next to `path` that are its rotated siblings.
fn siblings(path: &Path) -> Vec<(PathBuf, Metadata)> {
    let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) else {
        return Vec::new();
    };
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| is_rotated_sibling(&name, &e.file_name().to_string_lossy()))
        .filter_map(|e| Some((e.path(), e.metadata().ok()?)))
        .filter(|(_, m)| m.is_file())
        .collect()
}

/// The sibling of `path` that is the file `id` by device and inode (renamed by rotation).
fn find_inode(path: &Path, id: &FileId) -> Option<File> {
    siblings(path)
        .into_iter()
        .find(|(_, m)| m.dev() == id.dev && m.ino() == id.ino)
        .and_then(|(p, _)| File::open(p).ok())
}

/// Delivers the rest of `at`'s content from a copy of it, if a sibling holds one. A copy
/// that cannot be read to its end (a damaged archive) gives what it can: the live file must
/// go on being followed rather than fail on the copy at every poll.
fn read_copy(path: &Path, at: &mut Progress, now_ms: u64, out: &mut Vec<TailEvent>) {
    if let Some(mut copy) = find_copy(path, &at.id, at.read_to) {
        let _ = consume(&mut copy, at, now_ms, 0, out, true);
    }
}

/// A sibling of `path` (plain, gzip or zstd) whose content starts with the bytes `id`
/// hashed and reaches `offset`, positioned there: copytruncate's copy, or a rotated file
/// compressed since. Another inode, so found by content; the newest such file wins (the
/// copy just made, rather than an older file that happens to start alike).
fn find_copy(path: &Path, id: &FileId, offset: u64) -> Option<Box<dyn Read>> {
    // Nothing was known of the content: a copy could not be told from any other file.
    if id.head_len == 0 {
        return None;
    }
    let mut found: Vec<(std::time::SystemTime, PathBuf)> = siblings(path)
        .into_iter()
        .filter(|(_, m)| m.dev() != id.dev || m.ino() != id.ino)
        .map(|(p, m)| (m.modified().unwrap_or(std::time::UNIX_EPOCH), p))
        .collect();
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    found
        .into_iter()
        .find_map(|(_, p)| open_at(&p, id, offset).ok().flatten())
}

/// `p` (decompressed if need be) positioned at `offset`, if it starts with the bytes `id`
/// hashed and is at least `offset` long.
fn open_at(p: &Path, id: &FileId, offset: u64) -> io::Result<Option<Box<dyn Read>>> {
    let mut buffered = BufReader::new(open_path(p)?);
    let mut content: Box<dyn Read> = match Compression::sniff(buffered.fill_buf()?) {
        Compression::None => {
            let mut file = buffered.into_inner();
            if file.metadata()?.len() < offset || !same_head(&mut file, id)? {
                return Ok(None);
            }
            file.seek(SeekFrom::Start(offset))?;
            return Ok(Some(Box::new(file)));
        }
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buffered)?),
    };
    let mut head = vec![0u8; id.head_len as usize];
    if content.read_exact(&mut head).is_err() || fnv(&head) != id.head {
        return Ok(None);
    }
    let skip = offset.saturating_sub(head.len() as u64);
    if io::copy(&mut (&mut content).take(skip), &mut io::sink())? < skip {
        return Ok(None);
    }
    let rest = head.split_off(offset.min(head.len() as u64) as usize);
    Ok(Some(Box::new(io::Cursor::new(rest).chain(content))))
}

/// A poll of the open file: truncation (the rest of the old content from its copy), then its
/// new bytes. Whether any came: a writer is still at it.
fn read_on(
    path: &Path,
    cur: &mut Open,
    now_ms: u64,
    flush_ms: u64,
    out: &mut Vec<TailEvent>,
) -> io::Result<bool> {
    // Truncated, or its beginning rewritten (inode reused)? Checked also when the path names
    // another file now: it may have been truncated before it was rotated.
    let size = cur.file.metadata()?.len();
    if size < cur.at.read_to || !same_head(&mut cur.file, &cur.at.id)? {
        // copytruncate: what was not read yet of the old content is in the copy.
        read_copy(path, &mut cur.at, now_ms, out);
        out.push(TailEvent::Truncated {
            id: cur.at.id,
            at: cur.at.read_to,
        });
        cur.at = Progress::new(identify(&mut cur.file)?, 0, now_ms);
    }
    let before = cur.at.read_to;
    read_new(cur, now_ms, flush_ms, out, false)?;
    // A file first seen short: its identity grows with it (up to HEAD_BYTES), so a later
    // truncation that rewrites past the old offset is still recognised.
    if (cur.at.id.head_len as usize) < HEAD_BYTES && cur.at.read_to > u64::from(cur.at.id.head_len)
    {
        cur.at.id = identify(&mut cur.file)?;
    }
    Ok(cur.at.read_to > before)
}

/// Reads the open file from `read_to` to its end; see [`consume`].
fn read_new(
    cur: &mut Open,
    now_ms: u64,
    flush_ms: u64,
    out: &mut Vec<TailEvent>,
    last: bool,
) -> io::Result<()> {
    cur.file.seek(SeekFrom::Start(cur.at.read_to))?;
    consume(&mut cur.file, &mut cur.at, now_ms, flush_ms, out, last)
}

/// Reads `src` to its end; delivers whole lines, keeps a partial one (flushed when older
/// than `flush_ms`, or at once when `last` says no more will be written).
fn consume(
    src: &mut dyn Read,
    at: &mut Progress,
    now_ms: u64,
    flush_ms: u64,
    out: &mut Vec<TailEvent>,
    last: bool,
) -> io::Result<()> {
    let mut buf = vec![0u8; READ_BYTES];
    let mut budget = if last { u64::MAX } else { POLL_BYTES };
    loop {
        if budget == 0 {
            // More to read at the next poll; a partial line there is not stale yet.
            return Ok(());
        }
        let n = match src.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        budget = budget.saturating_sub(n as u64);
        let start_offset = at.consumed();
        at.read_to += n as u64;
        let data = &buf[..n];
        match memchr::memrchr(b'\n', data) {
            Some(nl) => {
                let mut bytes = std::mem::take(&mut at.partial);
                bytes.extend_from_slice(&data[..=nl]);
                at.partial.extend_from_slice(&data[nl + 1..]);
                at.partial_since = now_ms;
                push_lines(out, at.id, start_offset, bytes);
            }
            None => {
                if at.partial.is_empty() {
                    at.partial_since = now_ms;
                }
                at.partial.extend_from_slice(data);
                if at.partial.len() >= MAX_PARTIAL {
                    let bytes = std::mem::take(&mut at.partial);
                    push_lines(out, at.id, start_offset, bytes);
                }
            }
        }
    }
    let stale = now_ms.saturating_sub(at.partial_since) >= flush_ms;
    if !at.partial.is_empty() && (last || stale) {
        let offset = at.consumed();
        let bytes = std::mem::take(&mut at.partial);
        push_lines(out, at.id, offset, bytes);
    }
    Ok(())
}

/// Appends to the previous `Lines` event of the same file when it ends where these begin.
fn push_lines(out: &mut Vec<TailEvent>, id: FileId, offset: u64, bytes: Vec<u8>) {
    if let Some(TailEvent::Lines {
        id: pid,
        offset: poff,
        bytes: pb,
    }) = out.last_mut()
    {
        if *pid == id && *poff + pb.len() as u64 == offset {
            pb.extend_from_slice(&bytes);
            return;
        }
    }
    out.push(TailEvent::Lines { id, offset, bytes });
}
