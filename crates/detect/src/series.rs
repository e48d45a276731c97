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
#[derive(Debug)]
pub struct SeriesState {
    /// (second, requests, 5xx, kept out of the baseline) per second, 16 slots: a second
    /// joins the baseline when its slot is reused, i.e. only once it has left the window and
    /// was not part of a bad stretch.
    window: [(i64, u32, u32, bool); 16],
    minutes: [(i64, u64, u64); 16],
    pub first_sec: i64,
    pub last_sec: i64,
    /// Last second with a 5xx: a series without one in the window cannot be bad.
    pub last_error_sec: i64,
    /// Seconds before this one do not feed the baseline (just after an incident).
    pub quiet_until: i64,
    pub recent: VecDeque<Event>,
    pub incident: Option<usize>,
}

impl SeriesState {
    pub fn new(sec: i64) -> Self {
        SeriesState {
            window: [(i64::MIN, 0, 0, false); 16],
            minutes: [(i64::MIN, 0, 0); 16],
            first_sec: sec,
            last_sec: sec,
            last_error_sec: i64::MIN / 2,
            quiet_until: i64::MIN,
            recent: VecDeque::new(),
            incident: None,
        }
    }

    pub fn add_second(&mut self, sec: i64, requests: u32, errors: u32) {
        let slot = self.window[sec.rem_euclid(16) as usize];
        if slot.0 != sec {
            if slot.0 != i64::MIN && !slot.3 {
                self.add_baseline(slot.0, slot.1 as u64, slot.2 as u64);
            }
            self.window[sec.rem_euclid(16) as usize] = (sec, 0, 0, false);
        }
        let slot = &mut self.window[sec.rem_euclid(16) as usize];
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
        for slot in self.window.iter_mut().filter(|w| w.0 >= from && w.0 <= to) {
            slot.3 = true;
        }
    }

    pub fn add_baseline(&mut self, sec: i64, requests: u64, errors: u64) {
        let minute = sec.div_euclid(60);
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
