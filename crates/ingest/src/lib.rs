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

pub use chunk::{open_path, ChunkReader, Compression};
pub use tail::{Checkpoint, FileId, TailEvent, Tailer};
pub use watch::{StartAt, WatchEvent, Watcher};
