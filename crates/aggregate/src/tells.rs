use faultline_model::{
    FLAG_BLIND, FLAG_FAILED_OVER, FLAG_NAMED_ONLY, FLAG_NO_UPSTREAM, FLAG_POOL_ADDR,
};

use crate::{ErrEvent, LatencySketch};

/// An attempt (or a request without upstream) at or under this many µs failed "at once":
/// the connection was refused or the proxy answered by itself.
pub const FAST_US: u64 = 2_000;

/// A duration that was not logged.
const NONE: u64 = u64::MAX;

/// Durations kept exactly per status.
pub const EXACT_DURATIONS: usize = 512;

/// Where a tell was seen: its event time, input index and 1-based line. Ordered by time
/// first, so "the first line" of something spanning rotated files is the earliest one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineRef {
    pub sec: i64,
    pub input: u32,
    pub line: u64,
}

/// What the access log says about the 5xx responses of one status code.
#[derive(Debug, Clone, Default)]
pub struct StatusTells {
    pub count: u64,
    /// Answered without any upstream attempt.
    pub no_upstream: u64,
    /// The last upstream "address" was a pool name (no live server left).
    pub pool_addr: u64,
    /// The last attempt's status equals the client's: the upstream hop produced it.
    pub from_upstream: u64,
    /// The failing attempt (or the whole request) took under [`FAST_US`].
    pub fast: u64,
    /// Several attempts, every one a 5xx.
    pub all_attempts_failed: u64,
    /// Lines with a duration, and their durations (request time, else upstream time).
    pub durations: LatencySketch,
    /// The first [`EXACT_DURATIONS`] durations, exactly (a timer's length is read from them).
    pub exact: Vec<u64>,
    /// Connect time equal to the whole attempt (the connection never opened).
    pub connect_bound: u64,
    /// Lines from a format without upstream fields.
    pub blind: u64,
    /// Lines naming the upstream server without its status (Apache's balancer worker).
    pub named_only: u64,
    pub first: Option<LineRef>,
}

/// The access-log tells of a set of 5xx (and failed-over) events: one entry per status.
#[derive(Debug, Clone, Default)]
pub struct Tells {
    pub by_status: Vec<(u16, StatusTells)>,
    /// Lines where an attempt failed but a retry answered the client.
    pub failed_over: u64,
    pub first_failed_over: Option<LineRef>,
}

impl Tells {
    pub fn add(&mut self, ev: &ErrEvent, at: LineRef) {
        if ev.flags & FLAG_FAILED_OVER != 0 {
            self.failed_over += 1;
            self.first_failed_over = Some(self.first_failed_over.map_or(at, |f| f.min(at)));
            return;
        }
        let t = self.status_mut(ev.status);
        t.count += 1;
        t.no_upstream += (ev.flags & FLAG_NO_UPSTREAM != 0) as u64;
        t.pool_addr += (ev.flags & FLAG_POOL_ADDR != 0) as u64;
        t.blind += (ev.flags & FLAG_BLIND != 0) as u64;
        t.named_only += (ev.flags & FLAG_NAMED_ONLY != 0) as u64;
        t.from_upstream += (ev.up_status == ev.status) as u64;
        let attempt_us = if ev.up_us != NONE {
            ev.up_us
        } else {
            ev.req_us
        };
        t.fast += (attempt_us <= FAST_US) as u64;
        t.all_attempts_failed += (ev.attempts >= 2 && ev.up_status >= 500) as u64;
        if ev.connect_us != NONE
            && ev.up_us != NONE
            && ev.connect_us.saturating_add(1_000) >= ev.up_us
        {
            t.connect_bound += 1;
        }
        let dur = if ev.req_us != NONE {
            ev.req_us
        } else {
            ev.up_us
        };
        if dur != NONE {
            t.durations.add(dur);
            if t.exact.len() < EXACT_DURATIONS {
                t.exact.push(dur);
            }
        }
        t.first = Some(t.first.map_or(at, |f| f.min(at)));
    }

    fn status_mut(&mut self, status: u16) -> &mut StatusTells {
        let i = match self.by_status.iter().position(|(s, _)| *s == status) {
            Some(i) => i,
            None => {
                self.by_status.push((status, StatusTells::default()));
                self.by_status.sort_by_key(|(s, _)| *s);
                self.by_status
                    .iter()
                    .position(|(s, _)| *s == status)
                    .expect("inserted")
            }
        };
        &mut self.by_status[i].1
    }

    pub fn merge(&mut self, other: &Tells) {
        for (status, o) in &other.by_status {
            let t = self.status_mut(*status);
            t.count += o.count;
            t.no_upstream += o.no_upstream;
            t.pool_addr += o.pool_addr;
            t.from_upstream += o.from_upstream;
            t.fast += o.fast;
            t.all_attempts_failed += o.all_attempts_failed;
            t.connect_bound += o.connect_bound;
            t.blind += o.blind;
            t.named_only += o.named_only;
            t.durations.merge(&o.durations);
            let room = EXACT_DURATIONS.saturating_sub(t.exact.len());
            t.exact.extend(o.exact.iter().take(room));
            t.first = match (t.first, o.first) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        self.failed_over += other.failed_over;
        self.first_failed_over = match (self.first_failed_over, other.first_failed_over) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }

    /// All 5xx responses.
    pub fn errors(&self) -> u64 {
        self.by_status.iter().map(|(_, t)| t.count).sum()
    }

    pub fn status(&self, status: u16) -> Option<&StatusTells> {
        self.by_status
            .iter()
            .find(|(s, _)| *s == status)
            .map(|(_, t)| t)
    }
}
