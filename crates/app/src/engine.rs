//! The ordered stage: applies each parsed chunk, in input order, to the detector, the
//! timeline and the per-input counts.

use faultline_aggregate::{Cell, LineRef, SeriesKey, Timeline};
use faultline_detect::{Config, Degraded, Detector, Event, Incident};
use faultline_diagnose::AccessClassifier;
use faultline_model::{EventTime, FLAG_FAILED_OVER};
use rustc_hash::FxHashMap;

use crate::pipeline::{Done, Malformed, MALFORMED_SAMPLES};

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

/// The engine's state between chunks.
#[derive(Debug)]
pub struct Engine {
    pub detector: Detector<AccessClassifier>,
    pub timeline: Timeline,
    pub inputs: Vec<InputStats>,
    global: FxHashMap<SeriesKey, u32>,
    local: Vec<Vec<u32>>,
}

/// What the engine found once every input was read.
#[derive(Debug)]
pub struct Outcome {
    pub incidents: Vec<Incident>,
    pub degraded: Vec<Degraded>,
    pub timeline: Timeline,
    pub inputs: Vec<InputStats>,
}

impl Engine {
    pub fn new(cfg: Config, inputs: usize) -> Self {
        Engine {
            detector: Detector::new(cfg, AccessClassifier),
            timeline: Timeline::default(),
            inputs: vec![InputStats::default(); inputs],
            global: FxHashMap::default(),
            local: Vec::new(),
        }
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
        let mut cells: Vec<Cell> = Vec::new();
        for run in &out.runs {
            let (c1, e1) = (run.cells_end as usize, run.events_end as usize);
            cells.clear();
            for c in &out.cells[c0..c1] {
                cells.push(Cell {
                    series: map[c.series as usize],
                    ..*c
                });
                self.timeline
                    .add_requests(c.sec, c.requests as u64, c.errors as u64);
            }
            let mut events = Vec::with_capacity(e1 - e0);
            for (i, ev) in out.events[e0..e1].iter().enumerate() {
                let mut ev = *ev;
                ev.series = map[ev.series as usize];
                ev.line += base;
                if ev.flags & FLAG_FAILED_OVER == 0 {
                    self.timeline.add_code(ev.sec, ev.status);
                }
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
            self.detector.push_run(run.sec, &cells, events);
            (c0, e0) = (c1, e1);
        }
        buf
    }

    pub fn finish(self) -> Outcome {
        let (incidents, degraded) = self.detector.finish();
        Outcome {
            incidents,
            degraded,
            timeline: self.timeline,
            inputs: self.inputs,
        }
    }
}
