use std::collections::VecDeque;

use faultline_aggregate::{ErrEvent, LineRef};

/// Recent events kept per series to seed a new incident with what led to its first bad second.
const RECENT_CAP: usize = 256;

/// A 5xx event as the detector keeps it: rebased line, and a sample of the raw line when the
/// shard kept one.
#[derive(Debug, Clone)]
pub struct Event {
    pub ev: ErrEvent,
    pub at: LineRef,
    pub sample: Option<Box<[u8]>>,
}

/// Per-series state: the trailing window at one-second resolution, the trailing baseline at
/// one-minute resolution, and the recent 5xx events.
///
/// Laid out for the line-by-line path, which touches every series: what each cell reads
/// (whether the series exists, its incident, its last seconds) fills the first 64 bytes, what
/// a second leaving the window writes the next 64, and a cell touches one slot of the window
/// besides. The ring of minutes is written once per minute of seconds leaving the window.
#[derive(Debug)]
#[repr(C, align(128))]
pub struct SeriesState {
    pub recent: VecDeque<Event>,
    pub incident: Option<usize>,
    pub last_sec: i64,
    /// Last second with a 5xx: a series without one in the window cannot be bad.
    pub last_error_sec: i64,
    pub first_sec: i64,
    /// Seconds before this one do not feed the baseline (just after an incident).
    pub quiet_until: i64,
    /// The minute the seconds leaving the window are added to, until another one comes:
    /// (minute, requests, 5xx).
    filling: (i64, u64, u64),
    /// Bit `i`: the second in window slot `i` was part of a bad stretch and does not join
    /// the baseline when it leaves.
    excluded: u16,
    /// (second, requests, 5xx) per second, 16 slots: a second joins the baseline when its
    /// slot is reused, i.e. only once it has left the window.
    window: [(i64, u32, u32); 16],
    minutes: [(i64, u64, u64); 16],
}

impl SeriesState {
    pub fn new(sec: i64) -> Self {
        SeriesState {
            window: [(i64::MIN, 0, 0); 16],
            excluded: 0,
            minutes: [(i64::MIN, 0, 0); 16],
            filling: (i64::MIN, 0, 0),
            first_sec: sec,
            last_sec: sec,
            last_error_sec: i64::MIN / 2,
            quiet_until: i64::MIN,
            recent: VecDeque::new(),
            incident: None,
        }
    }

    pub fn add_second(&mut self, sec: i64, requests: u32, errors: u32) {
        let i = sec.rem_euclid(16) as usize;
        let slot = self.window[i];
        if slot.0 != sec {
            if slot.0 != i64::MIN && self.excluded & (1 << i) == 0 {
                self.add_baseline(slot.0, slot.1 as u64, slot.2 as u64);
            }
            self.window[i] = (sec, 0, 0);
            self.excluded &= !(1 << i);
        }
        let slot = &mut self.window[i];
        slot.1 += requests;
        slot.2 += errors;
        self.last_sec = self.last_sec.max(sec);
        if errors > 0 {
            self.last_error_sec = self.last_error_sec.max(sec);
        }
    }

    /// Requests and 5xx in the `len` seconds ending at `sec`.
    pub fn window(&self, sec: i64, len: i64) -> (u64, u64) {
        self.between(sec - len + 1, sec)
    }

    /// Requests and 5xx of the seconds `from..=to` still in the window.
    pub fn between(&self, from: i64, to: i64) -> (u64, u64) {
        self.window
            .iter()
            .filter(|w| w.0 >= from && w.0 <= to)
            .fold((0, 0), |(r, e), w| (r + w.1 as u64, e + w.2 as u64))
    }

    /// Keeps the seconds `from..=to` out of the baseline.
    pub fn exclude(&mut self, from: i64, to: i64) {
        for (i, w) in self.window.iter().enumerate() {
            if w.0 >= from && w.0 <= to {
                self.excluded |= 1 << i;
            }
        }
    }

    pub fn add_baseline(&mut self, sec: i64, requests: u64, errors: u64) {
        let minute = sec.div_euclid(60);
        if self.filling.0 != minute {
            self.flush_minute();
            self.filling = (minute, 0, 0);
        }
        self.filling.1 += requests;
        self.filling.2 += errors;
    }

    /// Moves the minute being filled into the ring.
    fn flush_minute(&mut self) {
        let (minute, requests, errors) = self.filling;
        if minute == i64::MIN {
            return;
        }
        let slot = &mut self.minutes[minute.rem_euclid(16) as usize];
        if slot.0 != minute {
            *slot = (minute, 0, 0);
        }
        slot.1 += requests;
        slot.2 += errors;
    }

    /// Requests and 5xx of the baseline over the `len` seconds before `sec`.
    pub fn baseline(&self, sec: i64, len: i64) -> (u64, u64) {
        let now = sec.div_euclid(60);
        let oldest = now - len / 60;
        self.minutes
            .iter()
            .chain(std::iter::once(&self.filling))
            .filter(|(m, _, _)| *m > oldest && *m <= now)
            .fold((0, 0), |(r, e), (_, mr, me)| (r + mr, e + me))
    }

    pub fn remember(&mut self, event: Event, sec: i64, window: i64) {
        while self
            .recent
            .front()
            .is_some_and(|e| e.ev.sec <= sec - window)
        {
            self.recent.pop_front();
        }
        if self.recent.len() >= RECENT_CAP {
            self.recent.pop_front();
        }
        self.recent.push_back(event);
    }
}
