use std::collections::{BTreeMap, VecDeque};

use rustc_hash::FxHashMap;

use faultline_aggregate::{Cell, SeriesKey, Tells};
use faultline_model::{Cause, FLAG_FAILED_OVER};

use crate::series::{Event, SeriesState};
use crate::{wilson_upper, Config, Degraded, Incident, JoinKeys, Member};

/// Names the cause a set of access-log tells points to; used to keep incidents with different
/// causes apart. Implemented by the diagnosis engine.
pub trait Classify {
    /// `requests` is the scope's request count over the same span as `tells`.
    fn classify(&self, tells: &Tells, requests: u64) -> Cause;
}

/// A (host, route) pair.
type HostRoute = (Box<[u8]>, Box<[u8]>);

/// Failed-over attempts on one server within [`DEGRADED_WINDOW`] that open a degraded finding.
/// nginx stops trying a server after `max_fails` (1–3) failures per `fail_timeout` (10 s),
/// so a broken server shows a steady few failovers per 10 s, not a burst; on a quiet site
/// fewer. A healthy server has none, so a handful in two minutes is already a finding.
const DEGRADED_BURST: usize = 6;
const DEGRADED_WINDOW: i64 = 120;

#[derive(Debug, Default)]
struct Pending {
    cells: Vec<Cell>,
    events: Vec<Event>,
}

/// The default incident detector, driven by event time only. Feed it runs of one second with
/// [`Detector::push_run`] in input order; call [`Detector::finish`] at the end.
#[derive(Debug)]
pub struct Detector<C> {
    cfg: Config,
    classifier: C,
    keys: Vec<SeriesKey>,
    series: Vec<Option<SeriesState>>,
    /// Series sharing host and route form a group: the scope's whole traffic, whichever
    /// upstream (or none) answered it.
    group_of: Vec<u32>,
    groups: Vec<Vec<u32>>,
    group_ids: FxHashMap<HostRoute, u32>,
    /// Open incidents whose context (requests of the scope) each group feeds.
    group_ctx: Vec<Vec<usize>>,
    failovers: FxHashMap<Box<[u8]>, VecDeque<(i64, u16)>>,
    pending: BTreeMap<i64, Pending>,
    /// Last second processed (everything at or before it is final).
    processed: i64,
    max_seen: i64,
    incidents: Vec<Incident>,
    open: Vec<usize>,
    degraded: Vec<Degraded>,
    degraded_open: BTreeMap<Box<[u8]>, usize>,
    next_serial: u64,
}

impl<C: Classify> Detector<C> {
    pub fn new(cfg: Config, classifier: C) -> Self {
        Detector {
            cfg,
            classifier,
            keys: Vec::new(),
            series: Vec::new(),
            group_of: Vec::new(),
            groups: Vec::new(),
            group_ids: FxHashMap::default(),
            group_ctx: Vec::new(),
            failovers: FxHashMap::default(),
            pending: BTreeMap::new(),
            processed: i64::MIN,
            max_seen: i64::MIN,
            incidents: Vec::new(),
            open: Vec::new(),
            degraded: Vec::new(),
            degraded_open: BTreeMap::new(),
            next_serial: 1,
        }
    }

    /// Registers a global series id; ids must be registered in order 0, 1, 2…
    pub fn add_series(&mut self, key: SeriesKey) -> u32 {
        let id = self.keys.len() as u32;
        let next_group = self.groups.len() as u32;
        let g = *self
            .group_ids
            .entry((key.host.clone(), key.route.clone()))
            .or_insert(next_group);
        if g == next_group {
            self.groups.push(Vec::new());
            self.group_ctx.push(Vec::new());
        }
        self.groups[g as usize].push(id);
        self.group_of.push(g);
        self.keys.push(key);
        self.series.push(None);
        id
    }

    /// Requests of the series' whole group from `from` to `sec` (within the window).
    fn group_window(&self, series: u32, from: i64, sec: i64) -> u64 {
        let g = self.group_of[series as usize] as usize;
        let from = from.max(sec - self.cfg.window_secs + 1);
        self.groups[g]
            .iter()
            .filter_map(|&s| self.series[s as usize].as_ref())
            .map(|st| st.between(from, sec).0)
            .sum()
    }

    pub fn series_key(&self, id: u32) -> &SeriesKey {
        &self.keys[id as usize]
    }

    /// One run of lines of second `sec` (cells and events with global series ids). Seconds
    /// older than the watermark allows are processed first; late data joins the oldest second
    /// still open.
    pub fn push_run(&mut self, sec: i64, mut cells: Vec<Cell>, events: Vec<Event>) {
        if sec > self.max_seen {
            self.max_seen = sec;
            self.process_until(sec.saturating_sub(self.cfg.lateness_secs) - 1);
        }
        let at = if sec <= self.processed {
            self.processed + 1
        } else {
            sec
        };
        if at != sec {
            for c in &mut cells {
                c.sec = at;
            }
        }
        match self.pending.entry(at) {
            std::collections::btree_map::Entry::Vacant(v) => {
                v.insert(Pending { cells, events });
            }
            std::collections::btree_map::Entry::Occupied(mut o) => {
                let p = o.get_mut();
                p.cells.extend(cells);
                p.events.extend(events);
            }
        }
    }

    fn process_until(&mut self, until: i64) {
        while let Some(entry) = self.pending.first_entry() {
            if *entry.key() > until {
                break;
            }
            let (sec, p) = entry.remove_entry();
            self.process_second(sec, p);
        }
    }

    fn process_second(&mut self, sec: i64, p: Pending) {
        // Closing is judged at every second, with data or not: what closed in a gap stays
        // closed, however soon (in event time) the next line comes or is read.
        if !self.open.is_empty() && sec - 1 > self.processed {
            self.close_incidents(sec - 1);
        }
        self.processed = sec;
        for c in &p.cells {
            // The scope's traffic (every series sharing host and route with a member) is what
            // an incident's 5xx are a share of, and what closes it.
            for &i in &self.group_ctx[self.group_of[c.series as usize] as usize] {
                let inc = &mut self.incidents[i];
                inc.context_requests += c.requests as u64;
                inc.ok_since_bad += (c.requests - c.errors) as u64;
                inc.last_activity = sec;
            }
            let st = self.series[c.series as usize].get_or_insert_with(|| SeriesState::new(sec));
            st.add_second(sec, c.requests, c.errors);
            if let Some(i) = st.incident {
                let inc = &mut self.incidents[i];
                inc.requests += c.requests as u64;
                if let Some(m) = inc.members.iter_mut().find(|m| m.series == c.series) {
                    m.requests += c.requests as u64;
                }
            }
        }
        for e in p.events {
            self.take_event(sec, e);
        }
        for c in &p.cells {
            self.evaluate(sec, c);
        }
        if self.open.len() >= 2 {
            self.merge_open();
        }
        self.close_incidents(sec);
    }

    fn take_event(&mut self, sec: i64, e: Event) {
        if e.ev.flags & FLAG_FAILED_OVER != 0 {
            self.degraded_event(&e);
            return;
        }
        let window = self.cfg.window_secs;
        let st = self.series[e.ev.series as usize].get_or_insert_with(|| SeriesState::new(sec));
        match st.incident {
            Some(i) => add_to_incident(&mut self.incidents[i], &e),
            None => st.remember(e, sec, window),
        }
    }

    fn is_bad(&self, st: &SeriesState, sec: i64) -> bool {
        if sec - st.last_error_sec >= self.cfg.window_secs {
            return false;
        }
        let (req, err) = st.window(sec, self.cfg.window_secs);
        if err < self.cfg.min_errors || req == 0 {
            return false;
        }
        let ratio = err as f64 / req as f64;
        if ratio < self.cfg.min_ratio {
            return false;
        }
        let bound = if sec - st.first_sec >= self.cfg.baseline_secs {
            let (breq, berr) = st.baseline(sec - 1, self.cfg.baseline_secs);
            if breq == 0 {
                // Quiet for the whole baseline: nothing to compare with but the prior.
                self.cfg.prior_ratio
            } else {
                wilson_upper(berr, breq, self.cfg.wilson_z)
            }
        } else {
            self.cfg.prior_ratio
        };
        ratio > bound
    }

    fn evaluate(&mut self, sec: i64, c: &Cell) {
        let Some(st) = self.series[c.series as usize].as_ref() else {
            return;
        };
        let bad = self.is_bad(st, sec);
        let member_of = st.incident;
        let st = self.series[c.series as usize].as_mut().expect("seen");
        // Bad seconds, incidents, and the stretch just after one are not what the series
        // "normally returns".
        if bad || member_of.is_some() || sec < st.quiet_until {
            st.exclude(sec, sec);
        }
        match (bad, member_of) {
            (true, Some(i)) => {
                let inc = &mut self.incidents[i];
                inc.last_bad = sec;
                inc.ok_since_bad = 0;
            }
            (true, None) => self.open_episode(sec, c.series),
            _ => {}
        }
    }

    /// A series turned bad: seed its tells from the trailing window, then join an open
    /// incident with the same cause that shares a host or an upstream, or open a new one.
    fn open_episode(&mut self, sec: i64, series: u32) {
        let window = self.cfg.window_secs;
        let st = self.series[series as usize].as_mut().expect("seen");
        st.exclude(sec - window + 1, sec);
        let recent: Vec<Event> = st
            .recent
            .drain(..)
            .filter(|e| e.ev.sec > sec - window)
            .collect();
        let (requests, _) = st.window(sec, window);
        let mut tells = Tells::default();
        for e in &recent {
            tells.add(&e.ev, e.at);
        }
        // The scope's traffic since the first 5xx that led here, not before it.
        let first_error = recent.iter().map(|e| e.ev.sec).min().unwrap_or(sec);
        let context = self.group_window(series, first_error, sec);
        let cause = self.classifier.classify(&tells, context);
        let idx = match self.joinable(series, cause, first_error) {
            Some(i) => i,
            None => {
                let mut inc = Incident::new(sec, cause);
                inc.serial = self.next_serial;
                self.next_serial += 1;
                self.incidents.push(inc);
                self.open.push(self.incidents.len() - 1);
                self.incidents.len() - 1
            }
        };
        let key = self.keys[series as usize].clone();
        let inc = &mut self.incidents[idx];
        inc.members.push(Member {
            series,
            key,
            requests,
            errors: 0,
        });
        inc.requests += requests;
        inc.last_bad = sec;
        inc.ok_since_bad = 0;
        inc.last_activity = sec;
        for e in &recent {
            add_to_incident(inc, e);
        }
        self.series[series as usize]
            .as_mut()
            .expect("seen")
            .incident = Some(idx);
        let g = self.group_of[series as usize] as usize;
        if !self.group_ctx[g].contains(&idx) {
            self.group_ctx[g].push(idx);
            self.incidents[idx].context_requests += context;
        }
        let inc = &mut self.incidents[idx];
        inc.context_until_end = inc.context_requests;
    }

    /// An open incident sharing a host or an upstream with `series` whose cause, when it
    /// opened or now, is `cause`, and whose 5xx overlap in time with the series' (its last
    /// 5xx no more than a window before the series' first): an incident that is only waiting
    /// to close is over, and a new problem next to it is a new incident.
    fn joinable(&self, series: u32, cause: Cause, first_error: i64) -> Option<usize> {
        let key = &self.keys[series as usize];
        let window = self.cfg.window_secs;
        self.open.iter().copied().find(|&i| {
            let inc = &self.incidents[i];
            if inc.errors > 0 && inc.end < first_error - window {
                return false;
            }
            let shares = inc.members.iter().any(|m| {
                m.key.host == key.host
                    || (!key.upstream.is_empty() && m.key.upstream == key.upstream)
            });
            shares
                && (inc.cause_hint == cause
                    || self.classifier.classify(&inc.tells, inc.context_requests) == cause)
        })
    }

    /// Open incidents whose causes have converged on the same one and that share a host or
    /// an upstream become one (the earlier absorbs the later).
    fn merge_open(&mut self) {
        let causes: Vec<Cause> = self
            .open
            .iter()
            .map(|&i| {
                self.classifier
                    .classify(&self.incidents[i].tells, self.incidents[i].context_requests)
            })
            .collect();
        for a in 0..self.open.len() {
            for b in a + 1..self.open.len() {
                let (i, j) = (self.open[a], self.open[b]);
                if causes[a] == causes[b] && i != j && self.share_scope(i, j) && self.overlap(i, j)
                {
                    self.absorb(i, j);
                    self.open.remove(b);
                    return;
                }
            }
        }
    }

    /// Whether two incidents' 5xx spans overlap, allowing a window's gap.
    fn overlap(&self, i: usize, j: usize) -> bool {
        let (x, y) = (&self.incidents[i], &self.incidents[j]);
        let w = self.cfg.window_secs;
        x.errors == 0 || y.errors == 0 || (x.end >= y.start - w && y.end >= x.start - w)
    }

    fn share_scope(&self, i: usize, j: usize) -> bool {
        let (x, y) = (&self.incidents[i], &self.incidents[j]);
        x.members.iter().any(|m| {
            y.members.iter().any(|n| {
                m.key.host == n.key.host
                    || (!m.key.upstream.is_empty() && m.key.upstream == n.key.upstream)
            })
        })
    }

    fn absorb(&mut self, into: usize, from: usize) {
        let taken = std::mem::replace(&mut self.incidents[from], Incident::new(0, Cause::Unknown));
        self.incidents[from].open = false;
        for m in &taken.members {
            if let Some(st) = self.series[m.series as usize].as_mut() {
                st.incident = Some(into);
            }
            let g = self.group_of[m.series as usize] as usize;
            self.group_ctx[g].retain(|&x| x != from);
            if !self.group_ctx[g].contains(&into) {
                self.group_ctx[g].push(into);
            }
        }
        self.incidents[into].absorb(taken);
    }

    fn close_incidents(&mut self, sec: i64) {
        let cfg = self.cfg;
        let mut still_open = Vec::with_capacity(self.open.len());
        for &i in &self.open {
            let inc = &self.incidents[i];
            let quiet = sec - inc.last_bad >= cfg.close_quiet_secs
                && inc.ok_since_bad >= cfg.close_ok_responses;
            let idle = sec - inc.last_activity >= cfg.idle_close_secs;
            if quiet || idle {
                self.incidents[i].open = false;
                for m in &self.incidents[i].members {
                    if let Some(st) = self.series[m.series as usize].as_mut() {
                        st.incident = None;
                        st.quiet_until = sec + cfg.baseline_cooldown_secs;
                    }
                    let g = self.group_of[m.series as usize] as usize;
                    self.group_ctx[g].retain(|&x| x != i);
                }
            } else {
                still_open.push(i);
            }
        }
        self.open = still_open;
    }

    /// A failed-over attempt. A finding opens when an upstream server shows a burst of them
    /// (`DEGRADED_BURST` in the trailing window) and stays open while they keep coming.
    fn degraded_event(&mut self, e: &Event) {
        let key = &self.keys[e.ev.series as usize];
        let gap = self.cfg.degraded_gap_secs;
        let sec = e.ev.sec;
        let recent = self.failovers.entry(key.upstream.clone()).or_default();
        recent.push_back((sec, e.ev.up_status));
        while recent
            .front()
            .is_some_and(|&(s, _)| s <= sec - DEGRADED_WINDOW)
            || recent.len() > DEGRADED_BURST
        {
            recent.pop_front();
        }
        let open = self
            .degraded_open
            .get(&key.upstream)
            .copied()
            .filter(|&i| sec - self.degraded[i].end <= gap);
        let idx = match open {
            Some(i) => {
                let d = &mut self.degraded[i];
                d.count += 1;
                *d.failed_status.entry(e.ev.up_status).or_default() += 1;
                i
            }
            None if recent.len() >= DEGRADED_BURST => {
                let mut failed_status = BTreeMap::new();
                for (_, s) in recent.iter() {
                    *failed_status.entry(*s).or_default() += 1;
                }
                self.degraded.push(Degraded {
                    upstream: key.upstream.clone(),
                    start: recent.front().map_or(sec, |r| r.0),
                    end: sec,
                    count: recent.len() as u64,
                    hosts: Vec::new(),
                    routes: Vec::new(),
                    first: e.at,
                    failed_status,
                    sample: e.sample.clone(),
                    joins: JoinKeys::default(),
                });
                self.degraded_open
                    .insert(key.upstream.clone(), self.degraded.len() - 1);
                self.degraded.len() - 1
            }
            None => return,
        };
        let d = &mut self.degraded[idx];
        d.end = d.end.max(sec);
        d.joins.add(e.ev.conn, e.ev.rid);
        if !d.hosts.contains(&key.host) && d.hosts.len() < 16 {
            d.hosts.push(key.host.clone());
        }
        if !d.routes.contains(&key.route) && d.routes.len() < 16 {
            d.routes.push(key.route.clone());
        }
    }

    /// Declares that no line older than `watermark` will come (live input went idle):
    /// processes what is pending up to it and closes what is due by then. Closing is judged
    /// per second either way, so advancing in steps gives what reading straight on would.
    pub fn advance(&mut self, watermark: i64) {
        self.process_until(watermark);
        if watermark > self.processed {
            if !self.open.is_empty() {
                self.close_incidents(watermark);
            }
            self.processed = watermark;
        }
    }

    /// The last second processed (`i64::MIN` before any).
    pub fn processed(&self) -> i64 {
        self.processed
    }

    /// Incidents with at least one 5xx that have not been taken out yet, open or closed.
    pub fn current(&self) -> impl Iterator<Item = &Incident> {
        self.incidents.iter().filter(|i| i.errors > 0)
    }

    /// Degraded-upstream findings not taken out yet.
    pub fn current_degraded(&self) -> &[Degraded] {
        &self.degraded
    }

    /// Takes out the closed incidents (and those merged into others), keeping memory bounded
    /// on a log that never ends; returns the closed ones that hold 5xx.
    /// Closed incidents whose last 5xx is at or after `until` stay (their evidence from
    /// other logs may still come).
    pub fn take_closed(&mut self, until: i64) -> Vec<Incident> {
        let mut remap = vec![usize::MAX; self.incidents.len()];
        let mut kept = Vec::with_capacity(self.open.len());
        let mut closed = Vec::new();
        for (i, inc) in std::mem::take(&mut self.incidents).into_iter().enumerate() {
            if inc.open || (inc.errors > 0 && inc.end >= until) {
                remap[i] = kept.len();
                kept.push(inc);
            } else if inc.errors > 0 {
                closed.push(inc);
            }
        }
        self.incidents = kept;
        for i in &mut self.open {
            *i = remap[*i];
        }
        for ctx in &mut self.group_ctx {
            for i in ctx.iter_mut() {
                *i = remap[*i];
            }
        }
        for st in self.series.iter_mut().flatten() {
            st.incident = st.incident.map(|i| remap[i]);
        }
        closed
    }

    /// Takes out the degraded-upstream findings that can no longer grow (no failed-over
    /// attempt for longer than the gap that ends them), except those ending at or after
    /// `until`.
    pub fn take_ended_degraded(&mut self, until: i64) -> Vec<Degraded> {
        let gap = self.cfg.degraded_gap_secs;
        let now = self.processed;
        let (ended, kept): (Vec<Degraded>, Vec<Degraded>) = std::mem::take(&mut self.degraded)
            .into_iter()
            .partition(|d| now - d.end > gap && d.end < until);
        self.degraded = kept;
        self.degraded_open = self
            .degraded
            .iter()
            .enumerate()
            .map(|(i, d)| (d.upstream.clone(), i))
            .collect();
        ended
    }

    /// Processes everything still pending and returns the incidents (by start) and the
    /// degraded-upstream findings. Incidents not closed by then stay `open`.
    pub fn finish(mut self) -> (Vec<Incident>, Vec<Degraded>) {
        self.take_results()
    }

    /// What [`Detector::finish`] returns, leaving the detector with its per-series state only,
    /// for a caller that would rather not wait for it to be freed.
    pub fn take_results(&mut self) -> (Vec<Incident>, Vec<Degraded>) {
        self.process_until(i64::MAX);
        let mut incidents: Vec<Incident> = std::mem::take(&mut self.incidents)
            .into_iter()
            .filter(|i| i.errors > 0)
            .collect();
        incidents.sort_by_key(|i| (i.start, i.end));
        self.open.clear();
        (incidents, std::mem::take(&mut self.degraded))
    }
}

fn add_to_incident(inc: &mut Incident, e: &Event) {
    inc.errors += 1;
    if e.ev.sec < inc.start {
        inc.start = e.ev.sec;
        inc.start_offset = e.ev.offset;
    }
    if e.ev.sec >= inc.end {
        inc.end = e.ev.sec;
        inc.end_offset = e.ev.offset;
    }
    inc.last_activity = inc.last_activity.max(e.ev.sec);
    *inc.status.entry(e.ev.status).or_default() += 1;
    inc.tells.add(&e.ev, e.at);
    inc.joins.add(e.ev.conn, e.ev.rid);
    inc.context_until_end = inc.context_requests;
    if let Some(m) = inc.members.iter_mut().find(|m| m.series == e.ev.series) {
        m.errors += 1;
    }
    if let Some(text) = &e.sample {
        inc.add_sample(e.ev.status, e.at, text);
    }
}
