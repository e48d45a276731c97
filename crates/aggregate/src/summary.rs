use rustc_hash::FxHashMap;

use crate::LatencySketch;

/// Requests, 5xx and latency of one key (route, host, upstream or method).
#[derive(Debug, Clone, Default)]
pub struct KeyStats {
    pub requests: u64,
    pub errors_5xx: u64,
    /// The 5xx by status code, ascending; their sum is `errors_5xx` (less for figures
    /// stored before codes were kept per key).
    pub codes_5xx: Codes,
    pub latency: LatencySketch,
}

impl KeyStats {
    pub fn merge(&mut self, other: &KeyStats) {
        self.requests += other.requests;
        self.errors_5xx += other.errors_5xx;
        self.codes_5xx.merge(&other.codes_5xx);
        self.latency.merge(&other.latency);
    }
}

/// Counts by status code, kept sorted; empty (and unallocated) until the first one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Codes(Vec<(u16, u64)>);

impl Codes {
    pub fn add(&mut self, code: u16, n: u64) {
        match self.0.binary_search_by_key(&code, |&(c, _)| c) {
            Ok(i) => self.0[i].1 += n,
            Err(i) => self.0.insert(i, (code, n)),
        }
    }

    pub fn merge(&mut self, other: &Codes) {
        for &(c, n) in &other.0 {
            self.add(c, n);
        }
    }

    /// (code, count), ascending by code.
    pub fn iter(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        self.0.iter().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<(u16, u64)> for Codes {
    fn from_iter<I: IntoIterator<Item = (u16, u64)>>(iter: I) -> Codes {
        let mut c = Codes::default();
        for (code, n) in iter {
            c.add(code, n);
        }
        c
    }
}

/// The figures of every key of one kind (routes, hosts, upstreams or methods).
pub type KeyMap = FxHashMap<Box<[u8]>, KeyStats>;

/// Adds `theirs` to `mine`. Keys new to `mine` are moved, not copied into a fresh entry and
/// then freed: the first of a run's summaries is taken over whole.
fn merge_keys(mine: &mut KeyMap, theirs: KeyMap) {
    if mine.is_empty() {
        *mine = theirs;
        return;
    }
    for (k, v) in theirs {
        match mine.entry(k) {
            std::collections::hash_map::Entry::Occupied(mut e) => e.get_mut().merge(&v),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(v);
            }
        }
    }
}

/// Order-free totals of a whole run: mergeable across workers and inputs.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Requests by status code (index = code; codes ≥ 999 land on 999).
    pub by_status: Vec<u64>,
    pub routes: FxHashMap<Box<[u8]>, KeyStats>,
    pub hosts: FxHashMap<Box<[u8]>, KeyStats>,
    pub upstreams: FxHashMap<Box<[u8]>, KeyStats>,
    pub methods: FxHashMap<Box<[u8]>, KeyStats>,
    /// Whether routes beyond the cap were folded into `other`.
    pub routes_folded: bool,
}

impl Summary {
    pub fn merge(&mut self, other: Summary) {
        if self.by_status.len() < other.by_status.len() {
            self.by_status.resize(other.by_status.len(), 0);
        }
        for (a, b) in self.by_status.iter_mut().zip(&other.by_status) {
            *a += b;
        }
        for (mine, theirs) in [
            (&mut self.routes, other.routes),
            (&mut self.hosts, other.hosts),
            (&mut self.upstreams, other.upstreams),
            (&mut self.methods, other.methods),
        ] {
            merge_keys(mine, theirs);
        }
        self.routes_folded |= other.routes_folded;
    }

    /// The key maps in the order route, host, upstream, method.
    pub fn key_maps_mut(&mut self) -> [&mut KeyMap; 4] {
        [
            &mut self.routes,
            &mut self.hosts,
            &mut self.upstreams,
            &mut self.methods,
        ]
    }

    pub fn requests(&self) -> u64 {
        self.by_status.iter().sum()
    }

    /// (status, count) for every status seen, ascending.
    pub fn statuses(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        self.by_status
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(s, &c)| (s as u16, c))
    }
}
