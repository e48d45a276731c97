//! The joiner: one open event and the state of its trace (which runtime, and where in the
//! trace the last line was), which is all it needs to tell whether the next line continues
//! the event. Blank lines are held back until the next line shows whether they were inside
//! the event (Python's chained tracebacks, Go's goroutines) or between two events.

use std::collections::VecDeque;

use super::head::{head, Format, Head};
use super::shape::{
    chain_separator, exc_header, frame_kind, go_text, node_text, node_version, php_text,
    rails_header, ruby_frame, ruby_text, ruby_uncaught, shape, strip_tags, Opener, Shape, GO,
    GOROUTINES, JAVA, LOG, NODE, PHP, PYTHON, RUBY,
};
use super::{AppEvent, Level};
use crate::bytes::has_prefix;

/// Text kept from an event's start.
const HEAD_BYTES: usize = 16 * 1024;
/// Lines kept from an event's start.
const HEAD_LINES: u32 = 480;
/// Lines kept from an event's end once the start is full.
const TAIL_LINES: usize = 20;
const TAIL_LINE_BYTES: usize = 256;
/// Longest source name compared between wrapped lines.
const SOURCE_MAX: usize = 64;

/// Where in its trace an event is, which decides what may come next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// A record; see [`Open::absorbs`] for what may follow it.
    Log,
    /// After an exception header, before its frames (its message may span lines).
    Exc,
    JavaFrames,
    /// After `Traceback (most recent call last):`: frames until the exception line.
    PyFrames,
    /// After a traceback's exception line.
    PyDone,
    /// After a chained-traceback separator, waiting for the next traceback.
    PyChain,
    Go,
    /// After Node's `file:line`, before the error's frames.
    NodeSource,
    NodeFrames,
    Ruby,
    Php,
    /// Complete (`Node.js v20…`, `exit status 2`, a JSON record): the next line starts anew.
    Closed,
}

/// How a line continues the open event: `strong` when its shape belongs to the trace, weak
/// when it is only text under a record (a collector-prefixed line needs a strong one).
#[derive(Debug, Clone, Copy)]
struct Follow {
    strong: bool,
    mode: Mode,
    kind: Option<&'static str>,
}

fn strong(mode: Mode) -> Option<Follow> {
    Some(Follow {
        strong: true,
        mode,
        kind: None,
    })
}

fn weak(mode: Mode) -> Option<Follow> {
    Some(Follow {
        strong: false,
        mode,
        kind: None,
    })
}

fn becomes(kind: &'static str, mode: Mode) -> Option<Follow> {
    Some(Follow {
        strong: true,
        mode,
        kind: Some(kind),
    })
}

/// Joins the physical lines of an application log into [`AppEvent`]s.
///
/// Feed every line in order (without its line terminator; a trailing `\r` is ignored) and
/// collect what [`Joiner::push`] returns, then call [`Joiner::finish`] at the end of the
/// input. Memory stays bounded whatever the input: one event's text, capped as
/// [`AppEvent::text`] describes.
#[derive(Debug, Default)]
pub struct Joiner {
    open: Option<Open>,
    /// Blank lines seen since the open event's last line.
    blanks: u32,
    year: Option<i32>,
}

#[derive(Debug)]
struct Open {
    ev: AppEvent,
    mode: Mode,
    /// The first line had a prefix, so unprefixed text after it is part of it.
    timed: bool,
    /// The source a collector named on the first line; wrapped lines must match it.
    source: Option<Vec<u8>>,
    /// Node: the error line after the source line and caret has been seen.
    header_seen: bool,
    kept: u32,
    head_full: bool,
    tail: VecDeque<String>,
    cut: u64,
}

impl Joiner {
    pub fn new() -> Joiner {
        Joiner::default()
    }

    /// A joiner that reads syslog (`May 14 10:21:33`) and klog (`E0514 10:21:33`)
    /// timestamps, which carry no year, in `year`; without it their events have no time.
    pub fn with_year(year: i32) -> Joiner {
        Joiner {
            year: Some(year),
            ..Joiner::default()
        }
    }

    /// Reads physical line number `line_no` (1-based); returns the previous event when this
    /// line starts a new one.
    pub fn push(&mut self, line_no: u64, line: &[u8]) -> Option<AppEvent> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let line = line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line);
        match head(line, self.year) {
            None => self.push_plain(line_no, line),
            Some(h) => self.push_prefixed(line_no, line, &h),
        }
    }

    /// A line without a record prefix: it continues the open event if its shape fits.
    fn push_plain(&mut self, line_no: u64, line: &[u8]) -> Option<AppEvent> {
        let body = strip_tags(line);
        let shape = shape(body);
        if shape == Shape::Blank {
            self.blank();
            return None;
        }
        match self.follow(shape, body) {
            Some(f) => self.join(line, f),
            None => self.start(line_no, line, None, shape, body),
        }
    }

    /// A record starts an event; a collector-prefixed line continues the open event when
    /// both come from the same source and the wrapped text belongs to the trace.
    fn push_prefixed(&mut self, line_no: u64, line: &[u8], h: &Head) -> Option<AppEvent> {
        let a = h.body.0.min(line.len());
        let body = strip_tags(&line[a..h.body.1.clamp(a, line.len())]);
        let shape = shape(body);
        let Some((s, e)) = h.wrap else {
            return self.start(line_no, line, Some(h), shape, body);
        };
        let same = self.open.as_ref().is_some_and(|o| {
            o.mode != Mode::Closed && o.source.as_deref() == Some(source(line, s, e))
        });
        if same && shape == Shape::Blank {
            self.blank();
            return None;
        }
        match self.follow(shape, body).filter(|f| same && f.strong) {
            Some(f) => self.join(line, f),
            None => self.start(line_no, line, Some(h), shape, body),
        }
    }

    /// Returns the last event, if any.
    pub fn finish(&mut self) -> Option<AppEvent> {
        self.blanks = 0;
        self.open.take().map(Open::close)
    }

    fn blank(&mut self) {
        if self.open.as_ref().is_some_and(|o| o.mode != Mode::Closed) {
            self.blanks = self.blanks.saturating_add(1);
        }
    }

    fn follow(&self, shape: Shape, body: &[u8]) -> Option<Follow> {
        self.open.as_ref()?.follow(shape, body, self.blanks)
    }

    fn join(&mut self, line: &[u8], f: Follow) -> Option<AppEvent> {
        let open = self.open.as_mut()?;
        for _ in 0..std::mem::take(&mut self.blanks) {
            open.add(b"");
        }
        open.add(line);
        // The error line Node prints after the source line, its caret and a blank line.
        if f.mode == Mode::NodeSource && !matches!(line.first(), Some(b' ' | b'\t')) {
            open.header_seen = true;
        }
        open.mode = f.mode;
        if let (Some(kind), LOG) = (f.kind, open.ev.kind) {
            open.ev.kind = kind;
        }
        None
    }

    fn start(
        &mut self,
        line_no: u64,
        line: &[u8],
        h: Option<&Head>,
        shape: Shape,
        body: &[u8],
    ) -> Option<AppEvent> {
        let prev = self.finish();
        let (mut kind, mut mode, implied) = initial(shape, body);
        let level = match shape {
            Shape::Opener(Opener::Php(..)) => implied,
            _ => h.and_then(|h| h.level).or(implied),
        };
        if let Some(h) = h {
            kind = h.kind.unwrap_or(kind);
            if h.format == Format::Json {
                mode = Mode::Closed;
            }
        }
        let mut open = Open {
            ev: AppEvent {
                line: line_no,
                lines: 0,
                time: h.and_then(|h| h.time),
                level,
                kind,
                text: String::new(),
            },
            mode,
            timed: h.is_some(),
            source: h
                .and_then(|h| h.wrap)
                .map(|(s, e)| source(line, s, e).to_vec()),
            header_seen: matches!(shape, Shape::Opener(Opener::NodeRejection)),
            kept: 0,
            head_full: false,
            tail: VecDeque::new(),
            cut: 0,
        };
        open.add(line);
        self.open = Some(open);
        prev
    }
}

fn source(line: &[u8], s: usize, e: usize) -> &[u8] {
    let e = e.min(line.len()).min(s + SOURCE_MAX);
    &line[s.min(e)..e]
}

/// The kind, mode and implied level of an event that starts with `body`.
fn initial(shape: Shape, body: &[u8]) -> (&'static str, Mode, Option<Level>) {
    let o = match shape {
        Shape::Opener(o) => o,
        Shape::Text if exc_header(body).is_some() => return (LOG, Mode::Exc, None),
        Shape::Text if ruby_uncaught(body) => return (RUBY, Mode::Ruby, Some(Level::Error)),
        Shape::Text if rails_header(body).is_some() => return (RUBY, Mode::Ruby, None),
        _ => return (LOG, Mode::Log, None),
    };
    match o {
        Opener::Traceback => (PYTHON, Mode::PyFrames, Some(Level::Error)),
        Opener::Panic => (GO, Mode::Go, Some(Level::Fatal)),
        Opener::Goroutine => (GOROUTINES, Mode::Go, None),
        Opener::JavaThread => (JAVA, Mode::Exc, Some(Level::Error)),
        Opener::Php(level, fatal) => (if fatal { PHP } else { LOG }, Mode::Php, Some(level)),
        Opener::NodeSource => (NODE, Mode::NodeSource, Some(Level::Error)),
        Opener::NodeWarning => (NODE, Mode::NodeFrames, Some(Level::Warn)),
        Opener::NodeRejection => (NODE, Mode::NodeSource, Some(Level::Error)),
    }
}

fn mode_of(kind: &'static str) -> Mode {
    match kind {
        JAVA => Mode::JavaFrames,
        NODE => Mode::NodeFrames,
        PYTHON => Mode::PyFrames,
        GO => Mode::Go,
        RUBY => Mode::Ruby,
        _ => Mode::Log,
    }
}

impl Open {
    /// Whether a trace may attach to this record: a record at warning level or above (or
    /// without a level) directly followed by its trace, as `logger.exception`, Django's
    /// `Internal Server Error: /x` and Go's `http: panic serving …` are.
    fn attachable(&self, blanks: u32) -> bool {
        self.mode == Mode::Log
            && blanks == 0
            && (self.timed || self.ev.lines == 1)
            && !matches!(self.ev.level, Some(l) if l <= Level::Notice)
    }

    /// Whether unprefixed text after this record is more of it: a timestamped record at
    /// warning level or above (a multi-line message, the exception it logs). Below that
    /// level, and without a level, an unprefixed line is more likely another program's
    /// output in the same stream (Django's `Internal Server Error: …` among gunicorn's
    /// records, uWSGI's own messages).
    fn absorbs(&self) -> bool {
        self.timed && matches!(self.ev.level, Some(l) if l >= Level::Warn)
    }

    fn follow(&self, shape: Shape, body: &[u8], blanks: u32) -> Option<Follow> {
        use Mode::*;
        match (self.mode, shape) {
            (Closed, _) | (_, Shape::Blank) => None,
            (PyChain, Shape::Opener(Opener::Traceback)) => strong(PyFrames),
            (Go, Shape::Opener(Opener::Panic | Opener::Goroutine)) => strong(Go),
            (Log, Shape::Opener(Opener::Traceback)) if self.attachable(blanks) => {
                becomes(PYTHON, PyFrames)
            }
            (Log, Shape::Opener(Opener::Goroutine)) if self.attachable(blanks) => becomes(GO, Go),
            (NodeSource, Shape::Opener(Opener::NodeRejection)) => strong(NodeSource),
            (_, Shape::Opener(_)) => None,
            (_, Shape::Indented) => self.indented(body, blanks),
            (_, Shape::Text) => self.text(body, blanks),
        }
    }

    fn indented(&self, body: &[u8], blanks: u32) -> Option<Follow> {
        use Mode::*;
        match self.mode {
            Log => match frame_kind(body) {
                Some(k) => becomes(k, mode_of(k)),
                None => weak(Log),
            },
            Exc => match frame_kind(body) {
                Some(k @ (JAVA | NODE)) => becomes(k, mode_of(k)),
                _ => strong(Exc),
            },
            PyDone if blanks == 0 => weak(PyDone),
            PyDone | PyChain | Closed => None,
            NodeSource if frame_kind(body) == Some(NODE) => strong(NodeFrames),
            mode => strong(mode),
        }
    }

    fn text(&self, body: &[u8], blanks: u32) -> Option<Follow> {
        use Mode::*;
        let quiet = blanks == 0;
        match self.mode {
            Log => self.record_text(body, blanks),
            Exc | JavaFrames if has_prefix(body, b"Caused by: ") => strong(Exc),
            Exc if quiet => weak(Exc),
            PyFrames if exc_header(body).is_some() => strong(PyDone),
            PyFrames => weak(PyDone),
            PyDone if quiet => weak(PyDone),
            PyDone if chain_separator(body) => strong(PyChain),
            Go if go_text(body) => strong(if has_prefix(body, b"exit status ") {
                Closed
            } else {
                Go
            }),
            NodeSource | NodeFrames if node_version(body) => strong(Closed),
            NodeSource | NodeFrames if node_text(body) => strong(self.mode),
            NodeSource if !self.header_seen => strong(NodeSource),
            NodeSource if quiet => weak(NodeSource),
            Ruby if ruby_text(body) && !ruby_uncaught(body) => strong(Ruby),
            Php if php_text(body) => strong(Php),
            _ => None,
        }
    }

    /// Unindented text after a record: the start of a trace, or more of the record when it
    /// was timestamped.
    fn record_text(&self, body: &[u8], blanks: u32) -> Option<Follow> {
        if ruby_uncaught(body) {
            return None;
        }
        let attach = self.attachable(blanks);
        let claim = attach || self.absorbs();
        if exc_header(body).is_some() {
            return claim.then_some(Follow {
                strong: attach,
                mode: Mode::Exc,
                kind: None,
            });
        }
        if claim && (ruby_frame(body).is_some() || rails_header(body).is_some()) {
            return becomes(RUBY, Mode::Ruby);
        }
        if claim && php_text(body) {
            return strong(Mode::Php);
        }
        if self.absorbs() {
            return weak(Mode::Log);
        }
        None
    }

    /// Appends a physical line, within the caps.
    fn add(&mut self, line: &[u8]) {
        self.ev.lines = self.ev.lines.saturating_add(1);
        if !self.head_full {
            if self.kept < HEAD_LINES && self.ev.text.len() < HEAD_BYTES {
                if self.kept > 0 {
                    self.ev.text.push('\n');
                }
                let room = HEAD_BYTES.saturating_sub(self.ev.text.len());
                push_capped(&mut self.ev.text, line, room);
                self.kept += 1;
                return;
            }
            self.head_full = true;
        }
        let mut s = if self.tail.len() == TAIL_LINES {
            self.cut += 1;
            self.tail.pop_front().unwrap_or_default()
        } else {
            String::new()
        };
        s.clear();
        push_capped(&mut s, line, TAIL_LINE_BYTES);
        self.tail.push_back(s);
    }

    fn close(mut self) -> AppEvent {
        if self.cut > 0 {
            self.ev
                .text
                .push_str(&format!("\n[… {} lines cut …]", self.cut));
        }
        for t in &self.tail {
            self.ev.text.push('\n');
            self.ev.text.push_str(t);
        }
        self.ev
    }
}

/// Appends `line` decoded as UTF-8 (lossily), cut to about `room` bytes with ` […]` when
/// longer.
fn push_capped(out: &mut String, line: &[u8], room: usize) {
    if line.len() <= room {
        out.push_str(&String::from_utf8_lossy(line));
        return;
    }
    let mut cut = room.saturating_sub(6);
    while cut > 0 && line[cut] & 0xc0 == 0x80 {
        cut -= 1;
    }
    out.push_str(&String::from_utf8_lossy(&line[..cut]));
    out.push_str(" […]");
}
