use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use wide::u8x16;

/// How an input is compressed, told by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub(crate) fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }
}

/// Reads whole lines in chunks of at most `capacity` bytes.
pub struct ChunkReader {
    inner: Box<dyn Read + Send>,
    capacity: usize,
    carry: Vec<u8>,
    skipping: bool,
    eof: bool,
    bytes_read: u64,
}

impl std::fmt::Debug for ChunkReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkReader")
            .field("capacity", &self.capacity)
            .finish()
    }
}

/// Opens a file for [`ChunkReader::new`].
pub fn open_path(path: &Path) -> io::Result<File> {
    let f = File::open(path)?;
    if f.metadata()?.is_dir() {
        return Err(io::Error::other("is a directory"));
    }
    Ok(f)
}

impl ChunkReader {
    /// Wraps `source`, decompressing it when its first bytes say so.
    pub fn new<R: Read + Send + 'static>(
        source: R,
        capacity: usize,
    ) -> io::Result<(Self, Compression)> {
        let mut buffered = BufReader::with_capacity(256 * 1024, source);
        let head = buffered.fill_buf()?;
        let comp = Compression::sniff(head);
        let inner: Box<dyn Read + Send> = match comp {
            // The sniffed bytes, then the source itself: chunks are read straight into their
            // buffers instead of through a second copy in the `BufReader`.
            Compression::None => {
                let head = io::Cursor::new(buffered.buffer().to_vec());
                Box::new(head.chain(buffered.into_inner()))
            }
            Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(buffered)),
            Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(buffered)?),
        };
        let reader = ChunkReader {
            inner,
            capacity: capacity.max(2),
            carry: Vec::new(),
            skipping: false,
            eof: false,
            bytes_read: 0,
        };
        Ok((reader, comp))
    }

    /// Changes the size of the chunks that follow (e.g. small to sniff, large to parse).
    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity.max(2);
    }

    /// Uncompressed bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Fills `buf` (cleared first) with whole lines; the last chunk of the input may end
    /// without a newline. Returns `false` at the end of the input.
    pub fn next_chunk(&mut self, buf: &mut Vec<u8>) -> io::Result<bool> {
        buf.clear();
        buf.reserve(self.capacity);
        buf.append(&mut self.carry);
        loop {
            if self.eof {
                return Ok(!buf.is_empty());
            }
            let filled = buf.len();
            if filled < self.capacity {
                // read_to_end fills spare capacity without zeroing it first.
                let want = (self.capacity - filled) as u64;
                let n = read_retrying(&mut (&mut self.inner).take(want), buf)?;
                self.bytes_read += n as u64;
                if n == 0 {
                    self.eof = true;
                    continue;
                }
                if self.skipping {
                    match memchr::memchr(b'\n', &buf[filled..]) {
                        Some(i) => {
                            buf.drain(filled..=filled + i);
                            self.skipping = false;
                        }
                        None => {
                            buf.truncate(filled);
                            continue;
                        }
                    }
                }
                if buf.len() < self.capacity {
                    continue;
                }
            }
            match memchr::memrchr(b'\n', buf) {
                Some(i) => {
                    self.carry.extend_from_slice(&buf[i + 1..]);
                    buf.truncate(i + 1);
                }
                None => {
                    // One line longer than a whole chunk: deliver its start, drop the rest.
                    buf.push(b'\n');
                    self.skipping = true;
                }
            }
            return Ok(true);
        }
    }
}

/// The end of the line that starts at `from` in a chunk: the index of its `\n`, or the
/// chunk's length. Sixty-four bytes are checked per step (four SSE2 compares folded into
/// one test), inline: a line is a few hundred bytes, and a call into `memchr` per line
/// costs about as much as the search.
#[inline]
pub fn line_end(buf: &[u8], from: usize) -> usize {
    let nl = u8x16::splat(b'\n');
    let mut at = from;
    while let Some(block) = buf.get(at..).and_then(|b| b.first_chunk::<64>()) {
        let lanes: [u8x16; 4] = std::array::from_fn(|i| {
            let part = block[16 * i..].first_chunk::<16>().expect("16 bytes");
            u8x16::new(*part).cmp_eq(nl)
        });
        if (lanes[0] | lanes[1] | lanes[2] | lanes[3]).move_mask() != 0 {
            let bits = lanes
                .iter()
                .rev()
                .fold(0u64, |acc, l| (acc << 16) | u64::from(l.move_mask() as u16));
            return at + bits.trailing_zeros() as usize;
        }
        at += 64;
    }
    memchr::memchr(b'\n', buf.get(at..).unwrap_or_default()).map_or(buf.len(), |i| at + i)
}

fn read_retrying(r: &mut impl Read, buf: &mut Vec<u8>) -> io::Result<usize> {
    loop {
        match r.read_to_end(buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ends_are_found_at_every_place() {
        for len in 0..200 {
            for nl in 0..=len {
                let mut buf = vec![b'x'; len];
                if nl < len {
                    buf[nl] = b'\n';
                }
                for from in 0..=nl.min(len) {
                    assert_eq!(line_end(&buf, from), nl, "{len} {nl} {from}");
                }
            }
        }
        // Bytes one off a newline end nothing; a newline before `from` is not seen.
        let buf = [b'\t', b'\x0b', b'a', b'\n', b'b', b'\n'];
        assert_eq!(line_end(&buf, 0), 3);
        assert_eq!(line_end(&buf, 4), 5);
    }
    use std::io::{Cursor, Write};

    fn chunks(data: Vec<u8>, cap: usize) -> Vec<Vec<u8>> {
        let (mut r, _) = ChunkReader::new(Cursor::new(data), cap).unwrap();
        let mut out = Vec::new();
        let mut buf = Vec::new();
        while r.next_chunk(&mut buf).unwrap() {
            out.push(buf.clone());
        }
        out
    }

    #[test]
    fn every_capacity_yields_the_same_lines() {
        let data = b"alpha\nbeta\n\ngamma delta\nlast-without-newline".to_vec();
        for cap in 2..data.len() + 3 {
            let joined: Vec<u8> = chunks(data.clone(), cap).concat();
            let lines: Vec<&[u8]> = joined
                .split(|&b| b == b'\n')
                .filter(|l| !l.is_empty())
                .collect();
            if cap > 21 {
                assert_eq!(
                    lines,
                    vec![
                        &b"alpha"[..],
                        b"beta",
                        b"gamma delta",
                        b"last-without-newline"
                    ],
                    "cap {cap}"
                );
            }
            for c in chunks(data.clone(), cap) {
                assert!(c.len() <= cap + 1, "chunk over capacity at cap {cap}");
            }
        }
    }

    #[test]
    fn overlong_lines_are_cut_not_buffered() {
        let mut data = vec![b'x'; 10_000];
        data.extend_from_slice(b"\nshort\n");
        let got = chunks(data, 100);
        let lines: Vec<Vec<u8>> = got
            .concat()
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| l.to_vec())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].len(), 100);
        assert_eq!(lines[1], b"short");
    }

    #[test]
    fn gzip_members_and_zstd_frames_are_read_whole() {
        let mut gz = Vec::new();
        for part in [&b"a\nb\n"[..], b"c\n"] {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(part).unwrap();
            gz.extend(e.finish().unwrap());
        }
        let (mut r, comp) = ChunkReader::new(Cursor::new(gz), 1024).unwrap();
        assert_eq!(comp, Compression::Gzip);
        let mut buf = Vec::new();
        assert!(r.next_chunk(&mut buf).unwrap());
        assert_eq!(buf, b"a\nb\nc\n");

        let mut zs = zstd::encode_all(&b"x\n"[..], 1).unwrap();
        zs.extend(zstd::encode_all(&b"y\n"[..], 1).unwrap());
        let got = chunks(zs, 1024).concat();
        assert_eq!(got, b"x\ny\n");
    }
}
