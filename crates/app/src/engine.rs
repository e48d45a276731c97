//! The ordered stage. Chunks arrive in the order the reader sent them; their per-second runs
//! are queued per input and handed to the detector merged in event time, so access logs that
//! cover the same period (one per vhost, one per server) are read as one history. Each input
//! promises a *floor*: the earliest time its next chunk can hold; a run is released once no
//! other input can still deliver something older.
//!
//! A run far ahead of everything read so far (a clock jump on one line, a corrupt timestamp)
//! waits until later lines confirm the jump; if none do, its lines stay counted in the totals
//! but out of the timeline, the window and detection, and the report says so.

use std::collections::VecDeque;

use faultline_aggregate::{Cell, LineRef, SeriesKey, Timeline};
use faultline_detect::{Config, Degraded, Detector, Event, Incident};
use faultline_diagnose::AccessClassifier;
use faultline_model::{EventTime, FLAG_FAILED_OVER};
use rustc_hash::FxHashMap;

use crate::pipeline::{Done, Malformed, MALFORMED_SAMPLES};

/// A run this far ahead of the newest accepted one waits for confirmation.
pub const JUMP_SECS: i64 = 3600;
/// Runs that may wait for confirmation; beyond that the jump is taken as real.
const MAX_SUSPECTS: usize = 100_000;
/// Seconds from the new time that confirm a jump.
const CONFIRM_RUNS: usize = 3;

/// Counts of one input.
#[derive(Debug, Default, Clone)]
pub struct InputStats {
    pub physical: u64,
    pub lines: u64,
    pub parsed: u64,
    pub filtered: u64,
    pub malformed: u64,
    pub samples: Vec<Malformed>,
    pub first: Option<EventTime>,
    pub last: Option<EventTime>,
    pub error: Option<String>,
}

impl InputStats {
    pub fn widen(&mut self, first: Option<EventTime>, last: Option<EventTime>) {
        if let Some(f) = first {
            if self.first.is_none_or(|x| f.secs < x.secs) {
                self.first = Some(f);
            }
        }
        if let Some(l) = last {
            if self.last.is_none_or(|x| l.secs > x.secs) {
                self.last = Some(l);
            }
        }
    }
}

/// One second of one input, with global series ids and rebased lines.
#[derive(Debug)]
struct Queued {
    sec: i64,
    offset: i32,
    cells: Vec<Cell>,
    events: Vec<Event>,
}

/// Lines whose time ran far ahead of their neighbours.
#[derive(Debug, Default, Clone, Copy)]
pub struct Outliers {
    pub requests: u64,
    pub first: Option<LineRef>,
}

/// The engine's state between chunks.
#[derive(Debug)]
pub struct Engine {
    pub detector: Detector<AccessClassifier>,
    pub timeline: Timeline,
    pub inputs: Vec<InputStats>,
    global: FxHashMap<SeriesKey, u32>,
    local: Vec<Vec<u32>>,
    queues: Vec<VecDeque<Queued>>,
    /// Per input: no run older than this can still come (i64::MAX once it has ended).
    floors: Vec<i64>,
    /// Newest accepted second, and the window of accepted seconds (with their offsets).
    newest: Option<i64>,
    window: Option<(EventTime, EventTime)>,
    suspects: Vec<Queued>,
    outliers: Outliers,
    /// (second, offset) where the access logs' UTC offset changed (DST), in time order.
    offsets: Vec<(i64, i32)>,
}

/// What the engine found once every input was read.
#[derive(Debug)]
pub struct Outcome {
    pub incidents: Vec<Incident>,
    pub degraded: Vec<Degraded>,
    pub timeline: Timeline,
    pub inputs: Vec<InputStats>,
    /// First and last accepted event times.
    pub window: Option<(EventTime, EventTime)>,
    pub outliers: Outliers,
    /// Where the access logs' UTC offset changed: (second, offset), in time order.
    pub offsets: Vec<(i64, i32)>,
}

impl Engine {
    /// `floors[i]` is the first event time of access input `i` (i64::MAX for inputs that are
    /// not access logs or have ended, i64::MIN when unknown).
    pub fn new(cfg: Config, floors: Vec<i64>) -> Self {
        let n = floors.len();
        Engine {
            detector: Detector::new(cfg, AccessClassifier),
            timeline: Timeline::default(),
            inputs: vec![InputStats::default(); n],
            global: FxHashMap::default(),
            local: Vec::new(),
            queues: (0..n).map(|_| VecDeque::new()).collect(),
            floors,
            newest: None,
            window: None,
            suspects: Vec::new(),
            outliers: Outliers::default(),
            offsets: Vec::new(),
        }
    }

    /// Where the access logs' UTC offset changed: (second, offset), in time order.
    pub fn offsets(&self) -> &[(i64, i32)] {
        &self.offsets
    }

    /// Adds an input found while running (a file that started matching a glob); it
    /// blocks nothing until it delivers a chunk.
    pub fn add_input(&mut self) -> u32 {
        self.inputs.push(InputStats::default());
        self.queues.push(VecDeque::new());
        self.floors.push(i64::MAX);
        (self.inputs.len() - 1) as u32
    }

    /// Line numbers of `input` restart (the path names a new file after a rotation), or
    /// continue from where an earlier run stopped.
    pub fn set_line(&mut self, input: u32, physical: u64) {
        self.inputs[input as usize].physical = physical;
    }

    /// What `input` promises now: no run older than `floor` will come from it
    /// (`i64::MAX`: it is idle and blocks nothing).
    pub fn set_floor(&mut self, input: u32, floor: i64) {
        self.floors[input as usize] = floor;
        self.drain(false);
    }

    /// Live input went idle: nothing older than `watermark` will come. Queued runs are
    /// released and the detector processes and closes everything due by then.
    pub fn advance(&mut self, watermark: i64) {
        for f in &mut self.floors {
            *f = i64::MAX;
        }
        self.drain(false);
        self.detector.advance(watermark);
    }

    /// Takes out closed incidents and ended degraded findings that end before `until` (see
    /// [`Detector::take_closed`]); memory stays bounded on input that never ends.
    pub fn take_closed(&mut self, until: i64) -> (Vec<Incident>, Vec<Degraded>) {
        (
            self.detector.take_closed(until),
            self.detector.take_ended_degraded(until),
        )
    }

    pub fn read_error(&mut self, input: u32, error: String) {
        self.inputs[input as usize].error = Some(error);
    }

    /// Applies one chunk; returns its buffer for reuse.
    pub fn apply(&mut self, done: Done) -> Vec<u8> {
        let Done {
            input,
            worker,
            buf,
            out,
            stats,
            floor,
            ..
        } = done;
        let st = &mut self.inputs[input as usize];
        let base = st.physical;
        st.physical += stats.physical;
        st.lines += stats.lines;
        st.parsed += stats.parsed;
        st.filtered += stats.filtered;
        st.malformed += stats.malformed;
        for mut m in stats.samples {
            if st.samples.len() < MALFORMED_SAMPLES {
                m.line += base;
                st.samples.push(m);
            }
        }
        st.widen(stats.first, stats.last);

        if self.local.len() <= worker {
            self.local.resize_with(worker + 1, Vec::new);
        }
        for key in out.new_series {
            let detector = &mut self.detector;
            let id = *self
                .global
                .entry(key.clone())
                .or_insert_with(|| detector.add_series(key));
            self.local[worker].push(id);
        }
        let map = &self.local[worker];
        let mut samples = out.samples.into_iter().peekable();
        let (mut c0, mut e0) = (0usize, 0usize);
        for run in &out.runs {
            let (c1, e1) = (run.cells_end as usize, run.events_end as usize);
            let cells: Vec<Cell> = out.cells[c0..c1]
                .iter()
                .map(|c| Cell {
                    series: map[c.series as usize],
                    ..*c
                })
                .collect();
            let mut events = Vec::with_capacity(e1 - e0);
            for (i, ev) in out.events[e0..e1].iter().enumerate() {
                let mut ev = *ev;
                ev.series = map[ev.series as usize];
                ev.line += base;
                let idx = (e0 + i) as u32;
                let sample = match samples.peek() {
                    Some((j, _)) if *j == idx => samples.next().map(|(_, t)| t),
                    _ => None,
                };
                events.push(Event {
                    ev,
                    at: LineRef {
                        sec: ev.sec,
                        input,
                        line: ev.line,
                    },
                    sample,
                });
            }
            self.queues[input as usize].push_back(Queued {
                sec: run.sec,
                offset: run.offset,
                cells,
                events,
            });
            (c0, e0) = (c1, e1);
        }
        self.floors[input as usize] = floor;
        self.drain(false);
        buf
    }

    /// Releases queued runs in time order while no input can still send an older one
    /// (`all`: every input has ended).
    fn drain(&mut self, all: bool) {
        loop {
            let head = self
                .queues
                .iter()
                .enumerate()
                .filter_map(|(i, q)| q.front().map(|r| (r.sec, i)))
                .min();
            let Some((sec, i)) = head else { return };
            if !all {
                let blocked = self
                    .queues
                    .iter()
                    .zip(&self.floors)
                    .enumerate()
                    .any(|(j, (q, &floor))| j != i && q.is_empty() && floor < sec);
                if blocked {
                    return;
                }
            }
            let run = self.queues[i].pop_front().expect("a head was found");
            self.accept(run);
        }
    }

    /// Guards against a far jump ahead, then feeds the timeline and the detector.
    fn accept(&mut self, run: Queued) {
        let ahead = self.newest.is_some_and(|n| run.sec > n + JUMP_SECS);
        if !ahead {
            self.feed(run);
            return;
        }
        self.suspects.push(run);
        // Seconds that keep coming from the new time confirm the jump (a gap in the log).
        if self.suspects.len() >= CONFIRM_RUNS || self.suspects.len() >= MAX_SUSPECTS {
            let mut suspects = std::mem::take(&mut self.suspects);
            suspects.sort_by_key(|s| s.sec);
            for s in suspects {
                self.feed(s);
            }
        }
    }

    fn feed(&mut self, run: Queued) {
        if self.offsets.last().is_none_or(|&(_, o)| o != run.offset) {
            self.offsets.push((run.sec, run.offset));
        }
        self.newest = Some(self.newest.map_or(run.sec, |n| n.max(run.sec)));
        let t = EventTime {
            secs: run.sec,
            offset: run.offset,
        };
        self.window = Some(match self.window {
            None => (t, t),
            Some((a, z)) => (
                if t.secs < a.secs { t } else { a },
                if t.secs > z.secs { t } else { z },
            ),
        });
        // Cells of one second come together: the timeline is touched once per second.
        for same in run.cells.chunk_by(|a, b| a.sec == b.sec) {
            let (requests, errors) = same.iter().fold((0u64, 0u64), |(r, e), c| {
                (r + u64::from(c.requests), e + u64::from(c.errors))
            });
            self.timeline.add_requests(same[0].sec, requests, errors);
        }
        for e in &run.events {
            if e.ev.flags & FLAG_FAILED_OVER == 0 {
                self.timeline.add_code(e.ev.sec, e.ev.status);
            }
        }
        self.detector.push_run(run.sec, run.cells, run.events);
    }

    pub fn finish(mut self) -> Outcome {
        self.drain(true);
        for s in std::mem::take(&mut self.suspects) {
            self.outliers.requests += s.cells.iter().map(|c| c.requests as u64).sum::<u64>();
            let first = s.events.first().map(|e| e.at);
            self.outliers.first = self.outliers.first.or(first);
        }
        let (incidents, degraded) = self.detector.take_results();
        // Per-series state is a few allocations per series: freeing it would keep the
        // report waiting, so it is freed beside it.
        drop_aside((self.detector, self.global));
        Outcome {
            incidents,
            degraded,
            timeline: self.timeline,
            inputs: self.inputs,
            window: self.window,
            outliers: self.outliers,
            offsets: self.offsets,
        }
    }
}

/// Drops `value` on a thread of its own, so that whoever held it need not wait for its memory
/// to be freed (when no thread can be started, it is dropped here).
pub fn drop_aside<T: Send + 'static>(value: T) {
    // When no thread can be started, the closure is dropped here, and the value with it.
    let _ = std::thread::Builder::new()
        .name("drop".into())
        .spawn(move || drop(value));
}

/// The access logs' offset in force at the naive local time `local` (for lines without an
/// offset, such as nginx error logs): the offset of the access-log lines nearest in time.
pub fn offset_near(offsets: &[(i64, i32)], local: i64) -> i32 {
    let mut current = offsets.first().map_or(0, |&(_, o)| o);
    for &(sec, o) in offsets {
        if local - o as i64 >= sec {
            current = o;
        }
    }
    current
}
