//! The per-worker aggregate: everything one parsing thread learns from its lines, in memory
//! bounded by caps on routes, hosts, upstreams and series.

use faultline_model::{
    upstream, Record, FLAG_BLIND, FLAG_FAILED_OVER, FLAG_NAMED_ONLY, FLAG_NO_UPSTREAM,
    FLAG_POOL_ADDR,
};
use std::hash::{BuildHasher, Hasher};

use rustc_hash::{FxHashMap, FxHashSet};

use crate::keycache::{self, KeyCache};
use crate::{route, Filter, Interner, KeyStats, RoutePatterns, Summary};

/// Caps that bound a shard's memory.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub routes: usize,
    pub hosts: usize,
    pub upstreams: usize,
    pub series: usize,
    /// Bytes of a line kept as an evidence sample.
    pub sample_bytes: usize,
    /// Samples kept per chunk.
    pub samples_per_chunk: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            routes: 50_000,
            hosts: 2_000,
            upstreams: 5_000,
            series: 50_000,
            sample_bytes: 1024,
            samples_per_chunk: 64,
        }
    }
}

/// The strings of a detection series: upstream server (else pool, else empty), host, route.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SeriesKey {
    pub host: Box<[u8]>,
    pub route: Box<[u8]>,
    pub upstream: Box<[u8]>,
}

/// Requests and 5xx of one series in one second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cell {
    pub sec: i64,
    pub series: u32,
    pub requests: u32,
    pub errors: u32,
}

/// A 5xx line, or a line whose first upstream attempt failed before a retry succeeded
/// (`FLAG_FAILED_OVER`), reduced to what detection and diagnosis read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrEvent {
    pub sec: i64,
    pub series: u32,
    /// 1-based line number, relative to the chunk until the engine rebases it.
    pub line: u64,
    pub status: u16,
    /// Status of the attempt the event is about (0 when there was none).
    pub up_status: u16,
    pub attempts: u8,
    pub flags: u8,
    /// UTC offset the line was written with, in seconds.
    pub offset: i32,
    /// `$request_time` in µs, `u64::MAX` when not logged.
    pub req_us: u64,
    /// The attempt's `$upstream_response_time` in µs, `u64::MAX` when not logged.
    pub up_us: u64,
    /// The attempt's `$upstream_connect_time` in µs, `u64::MAX` when not logged.
    pub connect_us: u64,
    /// `$connection` (nginx's `*N` in the error log), 0 when not logged.
    pub conn: u64,
    /// [`faultline_model::join::id_key`] of `$request_id`, 0 when not logged.
    pub rid: u64,
}

/// A run of consecutive lines with the same second: its cells are `cells[prev.cells_end..
/// cells_end]` and its events `events[prev.events_end..events_end]`. Detection advances its
/// watermark only between runs, so a log fed whole or line by line gives the same result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    pub sec: i64,
    /// The UTC offset of the run's first line.
    pub offset: i32,
    pub cells_end: u32,
    pub events_end: u32,
}

/// What one chunk of lines produced for the ordered, single-threaded detection stage.
#[derive(Debug, Default)]
pub struct ChunkOut {
    /// Series first seen in this chunk; local ids continue from the previous chunk's.
    pub new_series: Vec<SeriesKey>,
    pub runs: Vec<Run>,
    pub cells: Vec<Cell>,
    pub events: Vec<ErrEvent>,
    /// The raw line of the first event per (series, status) in the chunk, by event index.
    pub samples: Vec<(u32, Box<[u8]>)>,
}

/// Per-worker aggregate. Feed it records with [`Shard::observe`]; take the ordered part with
/// [`Shard::take_chunk`] after each chunk; turn the rest into a [`Summary`] at the end.
#[derive(Debug)]
pub struct Shard {
    limits: Limits,
    by_status: Box<[u64; 1000]>,
    routes: Interner,
    route_stats: Vec<KeyStats>,
    hosts: Interner,
    host_stats: Vec<KeyStats>,
    upstreams: Interner,
    upstream_stats: Vec<KeyStats>,
    methods: Interner,
    method_stats: Vec<KeyStats>,
    series: FxHashMap<(u32, u32, u32), u32>,
    series_overflow: Option<u32>,
    tmpl: Vec<u8>,
    out: ChunkOut,
    cur_sec: i64,
    run_gen: u32,
    sampled: FxHashSet<(u32, u16)>,
    has_upstream: bool,
    hasher: foldhash::fast::RandomState,
    keys: KeyCache,
    options: std::sync::Arc<Options>,
}

const NONE_US: u64 = u64::MAX;

/// Keys the key cache holds before it starts afresh (it only caches the interners).
const FAST_CAP: usize = 200_000;

/// What a shard is told once: the filter and the user's route patterns.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub filter: Filter,
    pub patterns: RoutePatterns,
}

fn us32(v: Option<u64>) -> u64 {
    v.map_or(NONE_US, |v| v.min(NONE_US - 1))
}

fn status_of(v: &[u8]) -> u16 {
    if v.len() == 3 && v.iter().all(u8::is_ascii_digit) {
        v.iter().fold(0u16, |a, &b| a * 10 + (b - b'0') as u16)
    } else {
        0
    }
}

/// The last value of an upstream list, without iterating when there is only one.
impl Shard {
    pub fn new(limits: Limits) -> Self {
        Shard::with_options(limits, std::sync::Arc::default())
    }

    pub fn with_options(limits: Limits, options: std::sync::Arc<Options>) -> Self {
        Shard {
            options,
            limits,
            by_status: Box::new([0; 1000]),
            routes: Interner::new(limits.routes),
            route_stats: Vec::new(),
            hosts: Interner::new(limits.hosts),
            host_stats: Vec::new(),
            upstreams: Interner::new(limits.upstreams),
            upstream_stats: Vec::new(),
            methods: preset_methods(),
            method_stats: Vec::new(),
            series: FxHashMap::default(),
            series_overflow: None,
            tmpl: Vec::with_capacity(256),
            out: ChunkOut::default(),
            cur_sec: i64::MIN,
            run_gen: 0,
            sampled: FxHashSet::default(),
            has_upstream: true,
            hasher: foldhash::fast::RandomState::default(),
            keys: KeyCache::new(FAST_CAP),
        }
    }

    /// Tells the shard whether the format of the lines that follow logs upstream fields; an
    /// empty `$upstream_addr` only means "no attempt" when it does.
    pub fn set_has_upstream(&mut self, has_upstream: bool) {
        self.has_upstream = has_upstream;
    }

    /// Counts one parsed record unless the filter leaves it out (then returns `false`).
    /// `line` is its 1-based number within the current chunk and `raw` its bytes (kept only
    /// as a bounded sample for the first errors).
    pub fn observe(&mut self, rec: &Record<'_>, sec: i64, line: u64, raw: &[u8]) -> bool {
        let filter = &self.options.filter;
        if filter.filters_lines() && !filter.keeps_line(sec, rec.path, rec.user_agent) {
            return false;
        }
        let addr = upstream::last(rec.upstream_addr);
        let at = self.ids(rec.host, rec.path, addr);
        let ids = self.keys.slot(at);
        if !ids.keep() {
            return false;
        }
        let (route, host, up, series) = (ids.route, ids.host, ids.up, ids.series());
        let status = rec.status;
        let is_5xx = (500..600).contains(&status);
        self.count_cell(sec, rec.time.map_or(0, |t| t.offset), at, is_5xx);
        let run = self.out.runs.last_mut().expect("a run is open");
        run.events_end = self.out.events.len() as u32;
        if is_5xx {
            let ev = self.event_for(rec, sec, series, line, addr);
            self.push_event(ev, raw);
        } else if rec.upstream_status.contains(&b',') {
            self.failover_event(rec, sec, host, route, line, raw);
        }
        if !self.options.filter.counts_status(status) {
            return true;
        }
        self.by_status[(status as usize).min(999)] += 1;
        let dur = rec.request_time_us;
        bump(&mut self.route_stats, route, status, dur);
        bump(&mut self.host_stats, host, status, None);
        let method = match rec.method {
            b"GET" => 0,
            b"POST" => 1,
            _ => self.methods.intern(rec.method),
        };
        bump(&mut self.method_stats, method, status, None);
        if !addr.is_empty() {
            let up_dur = parse_last_us(rec.upstream_response_time).or(dur);
            bump(&mut self.upstream_stats, up, status, up_dur);
        }
        true
    }

    /// The slot of a line's route, host, upstream and series in the key cache. A seeded 64-bit
    /// hash of the three strings finds them in one lookup; only a key not seen before is
    /// interned.
    fn ids(&mut self, host: &[u8], path: &[u8], addr: &[u8]) -> usize {
        route::route_into(path, &self.options.patterns, &mut self.tmpl);
        let mut h = self.hasher.build_hasher();
        h.write_usize(host.len());
        h.write(host);
        h.write_usize(addr.len());
        h.write(addr);
        h.write(&self.tmpl);
        let key = h.finish();
        if let Some(at) = self.keys.find(key) {
            return at;
        }
        let keep = self.options.filter.keeps_scope(host, &self.tmpl);
        let route = self.routes.intern(&self.tmpl);
        let host = self.hosts.intern(host);
        let up = self.upstreams.intern(addr);
        let series = self.series_id(host, route, up);
        self.keys
            .insert(key, keycache::Slot::new(route, host, up, series, keep))
    }

    /// Starts a run generation; slots of earlier ones no longer name a cell. Generation 0 is
    /// never current, and when the count wraps around every slot forgets its cell.
    fn next_run_gen(&mut self) {
        self.run_gen = self.run_gen.wrapping_add(1);
        if self.run_gen == 0 {
            self.keys.forget_cells();
            self.run_gen = 1;
        }
    }

    fn series_id(&mut self, host: u32, route: u32, up: u32) -> u32 {
        if let Some(&id) = self.series.get(&(host, route, up)) {
            return id;
        }
        if self.series.len() >= self.limits.series {
            if let Some(id) = self.series_overflow {
                return id;
            }
        }
        let id = (self.series.len() + self.series_overflow.is_some() as usize) as u32;
        let key = SeriesKey {
            host: self.hosts.name(host).into(),
            route: self.routes.name(route).into(),
            upstream: self.upstreams.name(up).into(),
        };
        self.out.new_series.push(key);
        if self.series.len() >= self.limits.series {
            let k = self.out.new_series.last_mut().expect("just pushed");
            k.route = crate::interner::OTHER.into();
            k.host = crate::interner::OTHER.into();
            k.upstream = crate::interner::OTHER.into();
            self.series_overflow = Some(id);
        } else {
            self.series.insert((host, route, up), id);
        }
        id
    }

    /// Counts a line in the cell of its key's series in the current run. The cell is found
    /// through the key's slot; a series reached by two keys (only when caps fold keys into
    /// `other`, or after the cache starts afresh) may get two cells in a run, which detection
    /// adds up as it does cells of one second split across chunks.
    fn count_cell(&mut self, sec: i64, offset: i32, at: usize, is_5xx: bool) {
        if sec != self.cur_sec {
            self.cur_sec = sec;
            self.next_run_gen();
            self.out.runs.push(Run {
                sec,
                offset,
                cells_end: 0,
                events_end: 0,
            });
        }
        let run_gen = self.run_gen;
        let slot = self.keys.slot_mut(at);
        let idx = if slot.run == run_gen {
            slot.cell
        } else {
            let idx = self.out.cells.len() as u32;
            slot.run = run_gen;
            slot.cell = idx;
            let series = slot.series();
            self.out.cells.push(Cell {
                sec,
                series,
                requests: 0,
                errors: 0,
            });
            idx
        };
        let cell = &mut self.out.cells[idx as usize];
        cell.requests += 1;
        cell.errors += is_5xx as u32;
        let run = self.out.runs.last_mut().expect("a run is open");
        run.cells_end = self.out.cells.len() as u32;
    }

    fn event_for(
        &self,
        rec: &Record<'_>,
        sec: i64,
        series: u32,
        line: u64,
        addr: &[u8],
    ) -> ErrEvent {
        let attempts = upstream::count(rec.upstream_status).min(255) as u8;
        let mut flags = 0;
        if !self.has_upstream {
            flags |= FLAG_BLIND;
        } else if addr.is_empty() {
            flags |= FLAG_NO_UPSTREAM;
        } else if !upstream::is_server_addr(addr) {
            flags |= FLAG_POOL_ADDR;
        }
        if !addr.is_empty() && rec.upstream_status.is_empty() {
            flags |= FLAG_NAMED_ONLY;
        }
        ErrEvent {
            sec,
            series,
            line,
            status: rec.status,
            offset: rec.time.map_or(0, |t| t.offset),
            up_status: status_of(upstream::last(rec.upstream_status)),
            attempts,
            flags,
            req_us: us32(rec.request_time_us),
            up_us: us32(parse_last_us(rec.upstream_response_time)),
            connect_us: us32(parse_last_us(rec.upstream_connect_time)),
            conn: rec.connection.unwrap_or(0),
            rid: request_key(rec.request_id),
        }
    }

    /// `502, 200`: the response was fine but an attempt failed; the event belongs to the
    /// series of the server that failed.
    fn failover_event(
        &mut self,
        rec: &Record<'_>,
        sec: i64,
        host: u32,
        route: u32,
        line: u64,
        raw: &[u8],
    ) {
        let statuses = upstream::values(rec.upstream_status);
        let Some((i, failed)) = statuses
            .map(status_of)
            .enumerate()
            .find(|(_, s)| (500..600).contains(s))
        else {
            return;
        };
        let addr = upstream::values(rec.upstream_addr).nth(i).unwrap_or(b"");
        let up = self.upstreams.intern(addr);
        let series = self.series_id(host, route, up);
        let ev = ErrEvent {
            sec,
            series,
            line,
            status: rec.status,
            offset: rec.time.map_or(0, |t| t.offset),
            up_status: failed,
            attempts: upstream::count(rec.upstream_status).min(255) as u8,
            flags: FLAG_FAILED_OVER,
            req_us: us32(rec.request_time_us),
            up_us: us32(
                upstream::values(rec.upstream_response_time)
                    .nth(i)
                    .and_then(upstream::parse_secs_us),
            ),
            connect_us: NONE_US,
            conn: rec.connection.unwrap_or(0),
            rid: request_key(rec.request_id),
        };
        self.push_event(ev, raw);
    }

    fn push_event(&mut self, ev: ErrEvent, raw: &[u8]) {
        let idx = self.out.events.len() as u32;
        let key = (ev.series, ev.status);
        if self.out.samples.len() < self.limits.samples_per_chunk && self.sampled.insert(key) {
            let keep = raw.len().min(self.limits.sample_bytes);
            self.out.samples.push((idx, raw[..keep].into()));
        }
        self.out.events.push(ev);
        if let Some(run) = self.out.runs.last_mut() {
            run.events_end = self.out.events.len() as u32;
        }
    }

    /// Hands over what the chunk produced for the ordered stage and starts the next chunk.
    pub fn take_chunk(&mut self) -> ChunkOut {
        self.cur_sec = i64::MIN;
        self.next_run_gen();
        self.sampled.clear();
        // The next chunk is sized like this one, so its vectors are not grown step by step.
        let next = ChunkOut {
            new_series: Vec::new(),
            runs: Vec::with_capacity(self.out.runs.len()),
            cells: Vec::with_capacity(self.out.cells.len()),
            events: Vec::with_capacity(self.out.events.len()),
            samples: Vec::new(),
        };
        std::mem::replace(&mut self.out, next)
    }

    /// The order-free totals of everything observed, keyed by name.
    /// The order-free totals so far, leaving the shard empty of them but keeping its names
    /// and series (a live reader takes one per rollup interval).
    pub fn take_summary(&mut self) -> Summary {
        let mut s = Summary {
            by_status: self.by_status.to_vec(),
            ..Summary::default()
        };
        self.by_status.fill(0);
        // Taken entry by entry: the tables keep their size, so cutting many intervals does
        // not allocate (and fault in) them afresh each time.
        drain(&mut s.routes, &self.routes, &mut self.route_stats);
        drain(&mut s.hosts, &self.hosts, &mut self.host_stats);
        drain(&mut s.upstreams, &self.upstreams, &mut self.upstream_stats);
        drain(&mut s.methods, &self.methods, &mut self.method_stats);
        s.routes_folded = self.routes.overflowed();
        s
    }

    pub fn into_summary(self) -> Summary {
        let mut s = Summary {
            by_status: self.by_status.to_vec(),
            ..Summary::default()
        };
        fill(&mut s.routes, &self.routes, self.route_stats);
        fill(&mut s.hosts, &self.hosts, self.host_stats);
        fill(&mut s.upstreams, &self.upstreams, self.upstream_stats);
        fill(&mut s.methods, &self.methods, self.method_stats);
        s.routes_folded = self.routes.overflowed();
        s
    }
}

/// The method interner, with the two commonest methods at fixed ids 0 and 1.
fn preset_methods() -> Interner {
    let mut m = Interner::new(32);
    m.intern(b"GET");
    m.intern(b"POST");
    m
}

fn parse_last_us(list: &[u8]) -> Option<u64> {
    upstream::parse_secs_us(upstream::last(list))
}

fn bump(stats: &mut Vec<KeyStats>, id: u32, status: u16, dur: Option<u64>) {
    let id = id as usize;
    if id >= stats.len() {
        stats.resize_with(id + 1, KeyStats::default);
    }
    let s = &mut stats[id];
    s.requests += 1;
    if (500..600).contains(&status) {
        s.errors_5xx += 1;
        s.codes_5xx.add(status, 1);
    }
    if let Some(us) = dur {
        s.latency.add(us);
    }
}

fn drain(map: &mut FxHashMap<Box<[u8]>, KeyStats>, names: &Interner, stats: &mut [KeyStats]) {
    for (id, st) in stats.iter_mut().enumerate() {
        if st.requests > 0 {
            map.insert(names.name(id as u32).into(), std::mem::take(st));
        }
    }
}

fn fill(map: &mut FxHashMap<Box<[u8]>, KeyStats>, names: &Interner, stats: Vec<KeyStats>) {
    map.reserve(stats.len());
    for (id, st) in stats.into_iter().enumerate() {
        if st.requests > 0 {
            // Ids are distinct, and so are their names (but `other`, which is one id too).
            match map.entry(names.name(id as u32).into()) {
                std::collections::hash_map::Entry::Occupied(mut e) => e.get_mut().merge(&st),
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(st);
                }
            }
        }
    }
}

/// The join key of a logged request id (0 when there is none).
fn request_key(id: &[u8]) -> u64 {
    if id.is_empty() || id == b"-" {
        0
    } else {
        faultline_model::join::id_key(id)
    }
}
