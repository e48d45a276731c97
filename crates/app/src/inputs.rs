//! Turning command-line arguments into opened, sniffed inputs.

use std::io::Read;
use std::path::PathBuf;

use faultline_formats::{detect, AccessParser, Detection, Kind, Record, TimeCache};
use faultline_ingest::{open_path, ChunkReader, Compression};

/// Bytes read from the start of an input to tell what it is.
const SNIFF_BYTES: usize = 64 * 1024;
/// Lines of that start the detection looks at.
const SNIFF_LINES: usize = 64;
/// Bytes read at most to find them.
const SNIFF_MAX: usize = 1024 * 1024;

fn usable_lines(head: &[u8]) -> usize {
    head.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty() && l.len() <= crate::pipeline::MAX_LINE)
        .count()
}

/// One input named on the command line.
#[derive(Debug, Clone)]
pub struct Spec {
    /// As shown in reports: the path as given, or `-`.
    pub display: String,
    /// `None` for stdin.
    pub path: Option<PathBuf>,
}

/// Expands globs (an argument that names no file but matches some) and keeps the order.
pub fn expand(args: &[String]) -> Vec<Spec> {
    let mut out = Vec::new();
    for a in args {
        if a == "-" {
            out.push(Spec {
                display: "-".into(),
                path: None,
            });
            continue;
        }
        let literal = PathBuf::from(a);
        let is_glob = a.contains(['*', '?', '[']);
        if is_glob && !literal.exists() {
            if let Ok(paths) = glob::glob(a) {
                let mut found: Vec<PathBuf> = paths
                    .filter_map(Result::ok)
                    .filter(|p| p.is_file())
                    .collect();
                found.sort();
                if !found.is_empty() {
                    out.extend(found.into_iter().map(|p| Spec {
                        display: p.display().to_string(),
                        path: Some(p),
                    }));
                    continue;
                }
            }
        }
        out.push(Spec {
            display: a.clone(),
            path: Some(literal),
        });
    }
    out
}

/// An input opened and sniffed: what it is, and its first bytes (already read).
#[derive(Debug)]
pub struct Opened {
    pub spec: Spec,
    pub reader: ChunkReader,
    pub head: Vec<u8>,
    pub detection: Detection,
    pub compression: Compression,
    /// Event time of the first parsed access line, to order rotated files.
    pub first_secs: Option<i64>,
    pub size: Option<u64>,
}

/// An input that could not be used, and why.
#[derive(Debug)]
pub struct Failed {
    pub error: String,
}

pub fn open(spec: Spec, user: &[AccessParser]) -> Result<Opened, Failed> {
    let fail = |_: &Spec, e: String| Failed { error: e };
    let (source, size): (Box<dyn Read + Send>, Option<u64>) = match &spec.path {
        None => (Box::new(std::io::stdin()), None),
        Some(p) => match open_path(p) {
            Ok(f) => {
                let size = f.metadata().ok().map(|m| m.len());
                (Box::new(f), size)
            }
            Err(e) => return Err(fail(&spec, io_message(&e))),
        },
    };
    let (mut reader, compression) =
        ChunkReader::new(source, SNIFF_BYTES).map_err(|e| fail(&spec, io_message(&e)))?;
    let mut head = Vec::new();
    reader
        .next_chunk(&mut head)
        .map_err(|e| fail(&spec, io_message(&e)))?;
    // A huge first line (or a burst of junk) must not hide the lines that follow it.
    let mut more = Vec::new();
    while usable_lines(&head) < SNIFF_LINES && head.len() < SNIFF_MAX {
        match reader.next_chunk(&mut more) {
            Ok(true) => head.extend_from_slice(&more),
            Ok(false) => break,
            Err(e) => return Err(fail(&spec, io_message(&e))),
        }
    }
    if looks_binary(&head) {
        return Err(fail(&spec, "binary data, not a text log".into()));
    }
    let lines: Vec<&[u8]> = head
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty() && l.len() <= crate::pipeline::MAX_LINE)
        .take(SNIFF_LINES)
        .collect();
    let detection = detect(&lines, user);
    let first_secs = detection
        .access
        .as_ref()
        .and_then(|p| first_time(p, &lines));
    Ok(Opened {
        spec,
        reader,
        head,
        detection,
        compression,
        first_secs,
        size,
    })
}

fn first_time(parser: &AccessParser, lines: &[&[u8]]) -> Option<i64> {
    let mut cache = TimeCache::default();
    lines.iter().find_map(|l| {
        let mut rec = Record::default();
        parser.parse(trim_eol(l), &mut rec, &mut cache).ok()?;
        rec.time.map(|t| t.secs)
    })
}

pub fn trim_eol(l: &[u8]) -> &[u8] {
    l.strip_suffix(b"\r").unwrap_or(l)
}

/// More than 10 % NULs or control bytes in the first bytes: not a text log.
fn looks_binary(head: &[u8]) -> bool {
    if head.is_empty() {
        return false;
    }
    let bad = head
        .iter()
        .filter(|&&b| b == 0 || (b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x1b)))
        .count();
    bad * 10 > head.len()
}

pub fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Whether the detection makes this an input the engine can use.
pub fn is_access(o: &Opened) -> bool {
    o.detection.kind == Kind::Access && o.detection.access.is_some()
}
