//! # faultline-ingest
//!
//! Bytes in. Opens files and stdin, decompresses gzip (every member, as rotated and
//! concatenated logs have several) and zstd (every frame) by their magic bytes, whatever the
//! file is called, and cuts the stream into chunks of whole lines for the parsing threads.
//!
//! Memory is bounded: a chunk never grows past its capacity. A line longer than the chunk
//! is cut off: its beginning is delivered (so it is counted, as malformed) and the rest is
//! skipped up to the next newline.
//!
//! [`Tailer`] follows a file by path through appends, rotation (rename or delete and
//! recreate), truncation and `copytruncate`, by polling, with checkpoints to resume from;
//! [`Watcher`] follows every file a set of paths and globs names, picking up new matches.
//!
//! What tailing guarantees (each a named scenario in `tests/`, all of them together a
//! random walk with crashes in `tests/model.rs`):
//!
//! - **Polling is the base mechanism.** Each poll reads past the offset; no change
//!   notification is used or needed (network and FUSE mounts have none). A notification may
//!   only make the caller poll sooner.
//! - **Identity** is device + inode plus a hash of the first bytes (up to 256) of a file:
//!   two files with the same first line are two files; an inode reused is another file.
//! - **Exactly once across restarts**, when the caller commits the [`Checkpoint`]s with
//!   what it computed from the lines delivered so far, in one transaction: restarted from
//!   the last commit, every line is delivered again from there, none before it. The rest of
//!   the checkpoint's file is found even if it was rotated, copied or compressed meanwhile.
//! - **Late writes to a renamed file are read:** after a rename (or delete and recreate)
//!   the old file is followed on until no poll has seen it grow for the flush timeout
//!   (`flush_ms`, the time a writer is given to finish, also what a partial last line
//!   waits), so nginx's lines between logrotate's rename and its reopen are read. The new
//!   file's lines wait until then, and the checkpoint names the old file until then. Files
//!   the path names meanwhile are held open and read in turn, even if rotated away.
//! - **copytruncate's window:** lines written between the copy and the truncate are lost
//!   (nobody can read them); what was not read before the copy is read from the copy.
//! - **Not read:** lines a writer adds to a renamed file after it was quiet for the flush
//!   timeout and the tailer moved on, or after a restart read its rest (a restart does not
//!   wait again); a file created and rotated away between two polls, or between the
//!   committed checkpoint and a restart, other than the checkpoint's own; the rest of a file
//!   deleted before it was read.
//! - A glob does not follow rotated siblings of a file it follows, nor archives
//!   ([`Watcher`]'s module has the rule): `*.log*` reads each line once.
//!
//! Depends only on `faultline-model` (DESIGN §3); effects live here, not in the engines.
//!
//! ```
//! use faultline_ingest::{ChunkReader, Compression};
//! let data = b"one\ntwo\nthree".to_vec();
//! let (mut r, comp) = ChunkReader::new(std::io::Cursor::new(data), 8).unwrap();
//! assert_eq!(comp, Compression::None);
//! let mut buf = Vec::new();
//! let mut lines = 0;
//! while r.next_chunk(&mut buf).unwrap() {
//!     lines += buf.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count();
//! }
//! assert_eq!(lines, 3);
//! ```

mod chunk;
mod tail;
mod watch;

pub use chunk::{line_end, open_path, ChunkReader, Compression};
pub use tail::{Checkpoint, FileId, TailEvent, Tailer};
pub use watch::{StartAt, WatchEvent, Watcher};
