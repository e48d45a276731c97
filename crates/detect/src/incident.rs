use std::collections::BTreeMap;

use faultline_aggregate::{LineRef, SeriesKey, Tells};
use faultline_model::Cause;
use rustc_hash::FxHashSet;

/// One member series of an incident.
#[derive(Debug, Clone)]
pub struct Member {
    pub series: u32,
    pub key: SeriesKey,
    pub requests: u64,
    pub errors: u64,
}

/// A raw line kept as evidence.
#[derive(Debug, Clone)]
pub struct Sample {
    pub status: u16,
    pub at: LineRef,
    pub text: Box<[u8]>,
}

/// A period in which some series' 5xx rose clearly above what they normally return.
#[derive(Debug, Clone)]
pub struct Incident {
    /// Event time (UTC seconds) of the first and last 5xx line.
    pub start: i64,
    pub end: i64,
    /// The UTC offsets the first and last 5xx lines were written with.
    pub start_offset: i32,
    pub end_offset: i32,
    /// Still open at the end of the input (it may grow).
    pub open: bool,
    pub requests: u64,
    /// Requests of every series sharing a host and route with a member, whichever upstream
    /// (or none) answered them: the traffic the incident's 5xx are a share of.
    pub context_requests: u64,
    /// `context_requests` as it stood at the incident's last 5xx line: the traffic of its
    /// span, without the healthy tail that closed it.
    pub context_until_end: u64,
    pub errors: u64,
    pub status: BTreeMap<u16, u64>,
    pub members: Vec<Member>,
    pub tells: Tells,
    /// The cause the access log pointed to when the incident opened (used for merging).
    pub cause_hint: Cause,
    pub samples: Vec<Sample>,
    /// Connection numbers and request ids of its 5xx lines, to join other logs' lines.
    pub joins: JoinKeys,
    /// Stable handle of this incident for the life of its detector (its index may change
    /// once closed incidents are taken out).
    pub serial: u64,
    pub(crate) last_bad: i64,
    pub(crate) last_activity: i64,
    pub(crate) ok_since_bad: u64,
}

const MAX_SAMPLES: usize = 8;

/// How many keys of each kind an incident keeps (its first ones).
const MAX_JOIN_KEYS: usize = 100_000;

/// The join keys of a set of access-log lines: `$connection` numbers and request-id keys.
#[derive(Debug, Clone, Default)]
pub struct JoinKeys {
    pub conns: FxHashSet<u64>,
    pub rids: FxHashSet<u64>,
}

impl JoinKeys {
    pub fn add(&mut self, conn: u64, rid: u64) {
        if conn != 0 && self.conns.len() < MAX_JOIN_KEYS {
            self.conns.insert(conn);
        }
        if rid != 0 && self.rids.len() < MAX_JOIN_KEYS {
            self.rids.insert(rid);
        }
    }

    pub fn merge(&mut self, other: JoinKeys) {
        for c in other.conns {
            self.add(c, 0);
        }
        for r in other.rids {
            self.add(0, r);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.conns.is_empty() && self.rids.is_empty()
    }
}

impl Incident {
    pub(crate) fn new(sec: i64, cause_hint: Cause) -> Self {
        Incident {
            start: i64::MAX,
            end: i64::MIN,
            start_offset: 0,
            end_offset: 0,
            open: true,
            requests: 0,
            context_requests: 0,
            context_until_end: 0,
            errors: 0,
            status: BTreeMap::new(),
            members: Vec::new(),
            tells: Tells::default(),
            cause_hint,
            samples: Vec::new(),
            joins: JoinKeys::default(),
            serial: 0,
            last_bad: sec,
            last_activity: sec,
            ok_since_bad: 0,
        }
    }

    pub(crate) fn add_sample(&mut self, status: u16, at: LineRef, text: &[u8]) {
        // The earliest line per status, whatever order the lines were read in (chunks of
        // another size, merged members).
        if let Some(s) = self.samples.iter_mut().find(|s| s.status == status) {
            if (at.input, at.line) < (s.at.input, s.at.line) {
                s.at = at;
                s.text = text.into();
            }
            return;
        }
        if self.samples.len() < MAX_SAMPLES {
            self.samples.push(Sample {
                status,
                at,
                text: text.into(),
            });
        }
    }

    /// Takes in everything of another incident of the same cause and scope.
    pub(crate) fn absorb(&mut self, other: Incident) {
        if other.start < self.start {
            self.start = other.start;
            self.start_offset = other.start_offset;
        }
        if other.end > self.end {
            self.end = other.end;
            self.end_offset = other.end_offset;
        }
        self.requests += other.requests;
        self.context_requests += other.context_requests;
        self.context_until_end += other.context_until_end;
        self.errors += other.errors;
        for (s, c) in other.status {
            *self.status.entry(s).or_default() += c;
        }
        self.tells.merge(&other.tells);
        for m in other.members {
            match self.members.iter_mut().find(|x| x.series == m.series) {
                Some(x) => {
                    x.requests += m.requests;
                    x.errors += m.errors;
                }
                None => self.members.push(m),
            }
        }
        for s in other.samples {
            self.add_sample(s.status, s.at, &s.text);
        }
        self.joins.merge(other.joins);
        self.last_bad = self.last_bad.max(other.last_bad);
        self.last_activity = self.last_activity.max(other.last_activity);
        self.ok_since_bad = self.ok_since_bad.min(other.ok_since_bad);
    }

    /// Members carrying at least `share` of the incident's 5xx (all members if none does).
    pub fn scope_members(&self, share: f64) -> Vec<&Member> {
        let floor = (self.errors as f64 * share).ceil() as u64;
        let mut m: Vec<&Member> = self
            .members
            .iter()
            .filter(|m| m.errors >= floor.max(1))
            .collect();
        if m.is_empty() {
            m = self.members.iter().collect();
        }
        m
    }
}

/// Attempts that failed on one upstream server but were retried on another.
#[derive(Debug, Clone)]
pub struct Degraded {
    pub upstream: Box<[u8]>,
    pub start: i64,
    pub end: i64,
    pub count: u64,
    pub hosts: Vec<Box<[u8]>>,
    pub routes: Vec<Box<[u8]>>,
    pub first: LineRef,
    pub failed_status: BTreeMap<u16, u64>,
    pub sample: Option<Box<[u8]>>,
    /// Connection numbers and request ids of its failed-over lines.
    pub joins: JoinKeys,
}
