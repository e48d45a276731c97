//! Following a log file by path through appends, rotation and truncation, by polling.
//!
//! Polling is the base mechanism (it works on every filesystem, network mounts included);
//! a change notification may only make the caller poll sooner. Each poll compares what the
//! path names now with the file being read:
//!
//! - **append**: the new bytes are read; whole lines are delivered, a partial last line is
//!   kept until its newline arrives or until it is older than the flush timeout;
//! - **rename rotation** (`logrotate` create mode) and **delete and recreate**: the path now
//!   names another file; the old one is read to its end through the descriptor still open
//!   (even if it was renamed, compressed or deleted meanwhile), then the new one from its
//!   start;
//! - **truncation** (in place, or `copytruncate`): the file is shorter than what was read,
//!   or its first bytes changed; reading restarts at 0. Lines written between the copy and
//!   the truncate are lost — the documented window of `copytruncate`;
//! - **inode reuse**: the same device and inode with other first bytes is another file.
//!
//! A file's identity is device + inode plus a hash of its first bytes ([`FileId`]), which is
//! what a [`Checkpoint`] stores with the offset. Resuming from a checkpoint whose file was
//! rotated meanwhile reads the rest of it first (found by identity among the path's
//! siblings, `access.log.1`), then the file the path names now from its beginning; a
//! checkpoint whose file is gone (or compressed) starts the current file from the beginning.
//!
//! Time comes in as an argument (milliseconds of any monotonic clock): no clock is read here.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use faultline_model::join::fnv1a as fnv;

/// Bytes hashed to tell one file from another that reuses its inode.
const HEAD_BYTES: usize = 256;
/// Bytes read per call to `read`.
const READ_BYTES: usize = 64 * 1024;
/// Longest partial line kept; a longer one is delivered as is (the parser counts it).
const MAX_PARTIAL: usize = 1 << 20;

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
    /// The path names another file now; the old one was read to its end.
    Rotated { from: FileId, to: FileId },
    /// The file was truncated (or replaced in place); reading restarts at 0.
    Truncated { id: FileId, at: u64 },
    /// The path cannot be read now (missing, permission); polling goes on.
    Unreadable { error: String },
}

#[derive(Debug)]
struct Open {
    file: File,
    id: FileId,
    /// Offset of the first byte not yet read.
    read_to: u64,
    /// Bytes read after the last newline, and when they started waiting.
    partial: Vec<u8>,
    partial_since: u64,
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
    /// `flush_ms`: how long a partial last line waits for its newline.
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

    /// Where reading stands: the offset after the last line delivered.
    pub fn checkpoint(&self) -> Option<Checkpoint> {
        self.cur.as_ref().map(|o| Checkpoint {
            path: self.path.clone(),
            id: o.id,
            offset: o.read_to - o.partial.len() as u64,
        })
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
        if let Some(cur) = self.cur.as_mut() {
            let replaced = match &named {
                Ok(m) => m.dev() != cur.id.dev || m.ino() != cur.id.ino,
                // Deleted: keep reading what was written until it reappears.
                Err(_) => false,
            };
            // Same file: truncated, or its beginning rewritten (inode reused)?
            let size = cur.file.metadata()?.len();
            // (Checked also when the path names another file now: the file may have been
            // truncated before it was rotated away.)
            if size < cur.read_to || !same_head(&mut cur.file, &cur.id)? {
                out.push(TailEvent::Truncated {
                    id: cur.id,
                    at: cur.read_to,
                });
                cur.partial.clear();
                cur.read_to = 0;
                cur.id = identify(&mut cur.file)?;
            }
            read_new(cur, now_ms, self.flush_ms, out, replaced)?;
            // A file first seen short: its identity grows with it (up to HEAD_BYTES), so a
            // later truncation that rewrites past the old offset is still recognised.
            if (cur.id.head_len as usize) < HEAD_BYTES && cur.read_to > u64::from(cur.id.head_len) {
                cur.id = identify(&mut cur.file)?;
            }
            if !replaced {
                return Ok(());
            }
            let from = cur.id;
            self.cur = None;
            return self.switch(from, now_ms, out);
        }
        let named = named?;
        // Resuming, and the path names another file now: it was rotated while we were not
        // running. Read the rest of the checkpoint's file first, found by its identity among
        // its siblings (`access.log.1`), if it is still there uncompressed.
        if let Some(cp) = self.resume.as_ref() {
            if named.dev() != cp.id.dev || named.ino() != cp.id.ino {
                if let Some(mut old) = find_rotated(&self.path, cp) {
                    read_new(&mut old, now_ms, self.flush_ms, out, true)?;
                    self.resume = None;
                    return self.switch(old.id, now_ms, out);
                }
            }
        }
        self.open(now_ms, out)
    }

    /// The file `from` was read to its end: opens what the path names now, from its start.
    fn switch(&mut self, from: FileId, now_ms: u64, out: &mut Vec<TailEvent>) -> io::Result<()> {
        let mut open = self.open_file(now_ms)?;
        out.push(TailEvent::Rotated { from, to: open.id });
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

    /// Opens the path, at the checkpoint's offset when the checkpoint names this file.
    fn open_file(&mut self, now_ms: u64) -> io::Result<Open> {
        let mut file = File::open(&self.path)?;
        if file.metadata()?.is_dir() {
            return Err(io::Error::other("is a directory"));
        }
        let id = identify(&mut file)?;
        let mut start = 0;
        if std::mem::take(&mut self.from_end) {
            start = file.metadata()?.len();
        }
        if let Some(cp) = self.resume.take() {
            let size = file.metadata()?.len();
            let same = cp.id.dev == id.dev
                && cp.id.ino == id.ino
                && cp.offset <= size
                && same_head(&mut file, &cp.id)?;
            if same {
                start = cp.offset;
            }
        }
        Ok(Open {
            file,
            id,
            read_to: start,
            partial: Vec::new(),
            partial_since: now_ms,
        })
    }
}

/// The file a checkpoint names, looked for by device, inode and first bytes among the
/// siblings of `path` whose names start with its name (`access.log.1`, `access.log-2024…`).
fn find_rotated(path: &Path, cp: &Checkpoint) -> Option<Open> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty())?;
    let name = path.file_name()?.to_string_lossy().into_owned();
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(&name) {
            continue;
        }
        let Ok(meta) = entry.metadata() else { continue };
        if meta.dev() != cp.id.dev || meta.ino() != cp.id.ino {
            continue;
        }
        let Ok(mut file) = File::open(entry.path()) else {
            continue;
        };
        // The same inode under a rotated name: the file. Shorter than the checkpoint or
        // with other first bytes, it was truncated (copytruncate) before it was rotated:
        // everything in it is new.
        let unchanged = meta.len() >= cp.offset && same_head(&mut file, &cp.id).unwrap_or(false);
        let id = if unchanged {
            cp.id
        } else {
            identify(&mut file).ok()?
        };
        return Some(Open {
            file,
            id,
            read_to: if unchanged { cp.offset } else { 0 },
            partial: Vec::new(),
            partial_since: 0,
        });
    }
    None
}

/// Reads from `read_to` to the end; delivers whole lines, keeps a partial one (flushed when
/// older than `flush_ms`, or at once when `last` says no more will be written).
fn read_new(
    cur: &mut Open,
    now_ms: u64,
    flush_ms: u64,
    out: &mut Vec<TailEvent>,
    last: bool,
) -> io::Result<()> {
    cur.file.seek(SeekFrom::Start(cur.read_to))?;
    let mut buf = vec![0u8; READ_BYTES];
    loop {
        let n = cur.file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        let start_offset = cur.read_to - cur.partial.len() as u64;
        cur.read_to += n as u64;
        let data = &buf[..n];
        match memchr::memrchr(b'\n', data) {
            Some(nl) => {
                let mut bytes = std::mem::take(&mut cur.partial);
                bytes.extend_from_slice(&data[..=nl]);
                cur.partial.extend_from_slice(&data[nl + 1..]);
                cur.partial_since = now_ms;
                push_lines(out, cur.id, start_offset, bytes);
            }
            None => {
                if cur.partial.is_empty() {
                    cur.partial_since = now_ms;
                }
                cur.partial.extend_from_slice(data);
                if cur.partial.len() >= MAX_PARTIAL {
                    let bytes = std::mem::take(&mut cur.partial);
                    push_lines(out, cur.id, start_offset, bytes);
                }
            }
        }
    }
    let stale = now_ms.saturating_sub(cur.partial_since) >= flush_ms;
    if !cur.partial.is_empty() && (last || stale) {
        let offset = cur.read_to - cur.partial.len() as u64;
        let bytes = std::mem::take(&mut cur.partial);
        push_lines(out, cur.id, offset, bytes);
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
