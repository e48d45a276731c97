//! Joining error- and application-log events to the incidents and degraded-upstream findings
//! of the access log (DESIGN §5), one event at a time: nothing is stored per event, only
//! per incident and per evidence group, so memory does not grow with the logs.
//!
//! An event joins, strongest first:
//! 1. by nginx's connection number: the error log's `*N` is `$connection` of a 5xx line;
//! 2. by request id: a token of the event is the `$request_id` of a 5xx line;
//! 3. by scope: its time is inside the incident's window (± a tolerance) and the upstream,
//!    host and route it names agree with the incident's members;
//! 4. by time alone, when the event names nothing to compare (most application logs).
//!
//! When the access log carries connection numbers, an error-log event with a `*N` that
//! belongs to no 5xx line is about some other request (a retried attempt, a client that went
//! away) and joins no incident by time.

use rustc_hash::FxHashMap;

use faultline_detect::{Degraded, Incident};

use crate::catalog::Catalog;

/// How an event was joined to an incident, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Via {
    Connection,
    RequestId,
    Scope,
    Time,
}

impl Via {
    pub fn describe(self) -> &'static str {
        match self {
            Via::Connection => "joined by connection number",
            Via::RequestId => "joined by request id",
            Via::Scope => "in the incident's window and scope",
            Via::Time => "in the incident's window",
        }
    }
}

/// Which kind of log an event comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A proxy's error log (nginx, Apache).
    ErrorLog,
    /// An application, app-server or system log.
    AppLog,
}

/// One error-log line or application event, as correlation reads it.
#[derive(Debug, Clone, Copy)]
pub struct EventFacts<'a> {
    pub source: u32,
    /// 1-based line number of the event's first line.
    pub line: u64,
    /// Event time, UTC seconds.
    pub secs: i64,
    pub origin: Origin,
    /// The catalog entry the event matched.
    pub signature: Option<usize>,
    /// The event's error group (fingerprint index).
    pub group: u32,
    /// nginx's `*N`, 0 when absent.
    pub conn: u64,
    /// Request-id keys of the event's tokens.
    pub rids: &'a [u64],
    /// `host:port` of the upstream the event names (empty when none).
    pub upstream: &'a [u8],
    /// The log names the upstream of every line about one (nginx does), so an empty
    /// `upstream` means the proxy answered on its own.
    pub upstream_always_named: bool,
    pub host: &'a [u8],
    /// The route template of the request the event names (empty when none).
    pub route: &'a [u8],
    /// The text shown as evidence (the message, without the log's prefix).
    pub text: &'a str,
}

/// A set of events of one kind found in one incident or finding.
#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceGroup {
    pub signature: Option<usize>,
    pub group: u32,
    pub origin: Origin,
    /// The strongest way any of its events was joined.
    pub via: Via,
    pub source: u32,
    pub line: u64,
    pub secs: i64,
    pub count: u64,
    pub text: String,
}

/// Everything joined to one incident or finding.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Joined {
    pub groups: Vec<EvidenceGroup>,
}

/// Events kept per incident: distinct (signature, group, via) kinds beyond this are counted
/// into the group they share a signature with, or dropped when they match none.
const MAX_GROUPS: usize = 64;

impl Joined {
    fn add(&mut self, f: &EventFacts<'_>, via: Via) {
        if let Some(g) = self
            .groups
            .iter_mut()
            .find(|g| g.group == f.group && g.signature == f.signature && g.origin == f.origin)
        {
            g.count += 1;
            if via < g.via {
                g.via = via;
            }
            if f.secs < g.secs || (f.secs == g.secs && f.source == g.source && f.line < g.line) {
                g.secs = f.secs;
                g.source = f.source;
                g.line = f.line;
                g.text = f.text.to_string();
            }
            return;
        }
        if self.groups.len() >= MAX_GROUPS {
            if let Some(g) = self
                .groups
                .iter_mut()
                .find(|g| g.signature.is_some() && g.signature == f.signature)
            {
                g.count += 1;
            }
            return;
        }
        self.groups.push(EvidenceGroup {
            signature: f.signature,
            group: f.group,
            origin: f.origin,
            via,
            source: f.source,
            line: f.line,
            secs: f.secs,
            count: 1,
            text: f.text.to_string(),
        });
    }

    /// Lines matching a signature, by signature, with the strongest join (most lines first).
    pub fn by_signature(&self) -> Vec<(usize, u64, Via)> {
        let mut out: Vec<(usize, u64, Via)> = Vec::new();
        for g in &self.groups {
            let Some(s) = g.signature else { continue };
            match out.iter_mut().find(|x| x.0 == s) {
                Some(x) => {
                    x.1 += g.count;
                    x.2 = x.2.min(g.via);
                }
                None => out.push((s, g.count, g.via)),
            }
        }
        out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        out
    }
}

/// The scope of an incident, for comparing with what an event names.
#[derive(Debug, Clone)]
struct Target {
    start: i64,
    end: i64,
    upstreams: Vec<Vec<u8>>,
    hosts: Vec<Vec<u8>>,
    routes: Vec<Vec<u8>>,
    /// Some member's 5xx had no upstream attempt (the proxy answered itself).
    local: bool,
}

/// How far from a keyed line's incident an event may be: connection numbers restart with the
/// proxy, so a key alone is not enough.
const KEY_SLACK_SECS: i64 = 600;

/// Joins events to incidents and degraded-upstream findings.
#[derive(Debug)]
pub struct Correlator {
    tolerance: i64,
    incidents: Vec<Target>,
    degraded: Vec<Target>,
    by_conn: FxHashMap<u64, Vec<(bool, u32)>>,
    by_rid: FxHashMap<u64, Vec<(bool, u32)>>,
    keyed_conns: bool,
    pub incident_evidence: Vec<Joined>,
    pub degraded_evidence: Vec<Joined>,
}

/// `host:port` of an nginx `upstream: "http://10.0.0.1:8080/path"` value, or of a bare address.
pub fn upstream_addr(v: &[u8]) -> &[u8] {
    let v = match v.windows(3).position(|w| w == b"://") {
        Some(p) => &v[p + 3..],
        None => v,
    };
    if let Some(rest) = v.strip_prefix(b"unix:") {
        // `unix:/run/php/fpm.sock:` — the socket path, without the trailing colon.
        let end = rest.iter().position(|&b| b == b':').unwrap_or(rest.len());
        return &v[..5 + end];
    }
    let end = v.iter().position(|&b| b == b'/').unwrap_or(v.len());
    &v[..end]
}

fn member_upstream(u: &[u8]) -> Vec<u8> {
    upstream_addr(u).to_vec()
}

impl Correlator {
    /// `tolerance`: seconds an event may lie before an incident's first or after its last
    /// 5xx line (proxies log an error when it happens and the access line when the response
    /// ends; Apache stamps access lines with the time the request arrived).
    pub fn new<'a>(
        incidents: impl IntoIterator<Item = &'a Incident>,
        degraded: &[Degraded],
        tolerance: i64,
    ) -> Correlator {
        let mut by_conn: FxHashMap<u64, Vec<(bool, u32)>> = FxHashMap::default();
        let mut by_rid: FxHashMap<u64, Vec<(bool, u32)>> = FxHashMap::default();
        let mut keyed_conns = false;
        let mut targets = Vec::new();
        for (i, inc) in incidents.into_iter().enumerate() {
            for &c in &inc.joins.conns {
                by_conn.entry(c).or_default().push((true, i as u32));
                keyed_conns = true;
            }
            for &r in &inc.joins.rids {
                by_rid.entry(r).or_default().push((true, i as u32));
            }
            let mut t = Target {
                start: inc.start,
                end: inc.end,
                upstreams: Vec::new(),
                hosts: Vec::new(),
                routes: Vec::new(),
                local: false,
            };
            for m in &inc.members {
                t.local |= m.key.upstream.is_empty();
                push_unique(&mut t.upstreams, member_upstream(&m.key.upstream));
                push_unique(&mut t.hosts, m.key.host.to_vec());
                push_unique(&mut t.routes, m.key.route.to_vec());
            }
            targets.push(t);
        }
        let mut dtargets = Vec::with_capacity(degraded.len());
        for (i, d) in degraded.iter().enumerate() {
            for &c in &d.joins.conns {
                by_conn.entry(c).or_default().push((false, i as u32));
                keyed_conns = true;
            }
            for &r in &d.joins.rids {
                by_rid.entry(r).or_default().push((false, i as u32));
            }
            dtargets.push(Target {
                start: d.start,
                end: d.end,
                upstreams: vec![member_upstream(&d.upstream)],
                hosts: d.hosts.iter().map(|h| h.to_vec()).collect(),
                routes: d.routes.iter().map(|r| r.to_vec()).collect(),
                local: false,
            });
        }
        Correlator {
            tolerance,
            incident_evidence: vec![Joined::default(); targets.len()],
            degraded_evidence: vec![Joined::default(); dtargets.len()],
            incidents: targets,
            degraded: dtargets,
            by_conn,
            by_rid,
            keyed_conns,
        }
    }

    /// Whether any request-id key is known (callers may skip tokenising events otherwise).
    pub fn wants_request_ids(&self) -> bool {
        !self.by_rid.is_empty()
    }

    /// Offers one event; it is added to every incident and finding it joins.
    pub fn offer(&mut self, f: &EventFacts<'_>) {
        let near = |t: &Target, slack: i64| f.secs >= t.start - slack && f.secs <= t.end + slack;
        // Keys are unique only within one run of the proxy: they must also be near in time.
        let mut hits: Vec<(bool, u32, Via)> = Vec::new();
        if f.conn != 0 && f.origin == Origin::ErrorLog {
            if let Some(list) = self.by_conn.get(&f.conn) {
                hits.extend(
                    list.iter()
                        .filter(|&&(is_inc, i)| near(self.target(is_inc, i), KEY_SLACK_SECS))
                        .map(|&(is_inc, i)| (is_inc, i, Via::Connection)),
                );
            }
        }
        if hits.is_empty() {
            for r in f.rids {
                if let Some(list) = self.by_rid.get(r) {
                    hits.extend(
                        list.iter()
                            .filter(|&&(is_inc, i)| near(self.target(is_inc, i), KEY_SLACK_SECS))
                            .map(|&(is_inc, i)| (is_inc, i, Via::RequestId)),
                    );
                }
                if !hits.is_empty() {
                    break;
                }
            }
        }
        let keyed = !hits.is_empty();
        for (is_inc, i, via) in hits {
            self.joined(is_inc, i).add(f, via);
        }
        if keyed || (f.conn != 0 && self.keyed_conns && f.origin == Origin::ErrorLog) {
            return;
        }
        let tol = self.tolerance;
        for i in 0..self.incidents.len() {
            let t = &self.incidents[i];
            if !near(t, tol) {
                continue;
            }
            if let Some(via) = scope_join(t, f) {
                self.incident_evidence[i].add(f, via);
            }
        }
        for i in 0..self.degraded.len() {
            let t = &self.degraded[i];
            // A finding is about one upstream: the event must name it.
            if !near(t, tol) || f.upstream.is_empty() {
                continue;
            }
            if scope_join(t, f) == Some(Via::Scope) {
                self.degraded_evidence[i].add(f, Via::Scope);
            }
        }
    }

    fn target(&self, is_inc: bool, i: u32) -> &Target {
        if is_inc {
            &self.incidents[i as usize]
        } else {
            &self.degraded[i as usize]
        }
    }

    fn joined(&mut self, is_inc: bool, i: u32) -> &mut Joined {
        if is_inc {
            &mut self.incident_evidence[i as usize]
        } else {
            &mut self.degraded_evidence[i as usize]
        }
    }
}

/// `Scope` when everything the event names agrees with the target (and it names something),
/// `Time` when it names nothing comparable, `None` when something disagrees.
fn scope_join(t: &Target, f: &EventFacts<'_>) -> Option<Via> {
    // A proxy names the upstream of every line about one: a line that names none is about
    // the proxy's own work (a request limit, a file, a client) and explains only 5xx the
    // proxy answered itself.
    if f.upstream_always_named && f.upstream.is_empty() && !t.local {
        return None;
    }
    let mut compared = false;
    for (have, want) in [
        (f.upstream, &t.upstreams),
        (f.host, &t.hosts),
        (f.route, &t.routes),
    ] {
        if have.is_empty() || want.iter().all(|w| w.is_empty()) {
            continue;
        }
        if !want.iter().any(|w| w.eq_ignore_ascii_case(have)) {
            // What an application names (a path in its message) may be no route at all
            // (a file): it strengthens a join when it agrees, and does not veto one.
            if f.origin == Origin::AppLog {
                continue;
            }
            return None;
        }
        compared = true;
    }
    Some(if compared { Via::Scope } else { Via::Time })
}

fn push_unique(v: &mut Vec<Vec<u8>>, x: Vec<u8>) {
    if !x.is_empty() && !v.contains(&x) {
        v.push(x);
    }
}

/// How strongly a signature's lines support its cause for an incident, 0..1.
///
/// Signatures outweigh access-log tells (which score up to about 0.9), and those outweigh
/// timing alone: a signature joined by key or scope starts at 0.9. A signature whose status
/// codes the incident does not show counts for less, and so does one joined by time alone.
pub fn signature_score(catalog: &Catalog, sig: usize, lines: u64, via: Via, inc: &Incident) -> f64 {
    let s = catalog.get(sig);
    let share = (lines as f64 / inc.errors.max(1) as f64).min(1.0);
    let base = match via {
        Via::Connection | Via::RequestId => 0.93,
        Via::Scope => 0.91,
        Via::Time => 0.6,
    };
    let mut score = base + 0.06 * share;
    let codes_fit = s.codes.is_empty() || s.codes.iter().any(|c| inc.status.contains_key(c));
    if !codes_fit {
        score *= 0.5;
    } else if s.codes.is_empty() {
        score *= 0.8;
    }
    // A handful of lines against a large incident says little.
    if lines < 3 && inc.errors >= 20 {
        score *= 0.85;
    }
    score
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_addresses_are_read_from_every_shape() {
        assert_eq!(
            upstream_addr(b"http://10.0.0.1:8080/api/x?y=1"),
            b"10.0.0.1:8080"
        );
        assert_eq!(
            upstream_addr(b"fastcgi://unix:/run/php/fpm.sock:"),
            b"unix:/run/php/fpm.sock"
        );
        assert_eq!(upstream_addr(b"10.0.0.1:8080"), b"10.0.0.1:8080");
        assert_eq!(upstream_addr(b"http://shop_web/shop/"), b"shop_web");
        assert_eq!(upstream_addr(b""), b"");
    }

    fn target() -> Target {
        Target {
            start: 100,
            end: 200,
            upstreams: vec![b"10.0.0.1:8080".to_vec()],
            hosts: vec![b"api.example".to_vec()],
            routes: vec![b"/api/orders".to_vec()],
            local: false,
        }
    }

    fn facts<'a>(
        upstream: &'a [u8],
        host: &'a [u8],
        route: &'a [u8],
        named: bool,
    ) -> EventFacts<'a> {
        EventFacts {
            source: 1,
            line: 1,
            secs: 150,
            origin: Origin::ErrorLog,
            signature: None,
            group: 0,
            conn: 0,
            rids: &[],
            upstream,
            upstream_always_named: named,
            host,
            route,
            text: "",
        }
    }

    #[test]
    fn scope_joins_only_what_agrees() {
        let t = target();
        assert_eq!(
            scope_join(
                &t,
                &facts(b"10.0.0.1:8080", b"api.example", b"/api/orders", true)
            ),
            Some(Via::Scope)
        );
        assert_eq!(
            scope_join(
                &t,
                &facts(b"10.0.0.2:8080", b"api.example", b"/api/orders", true)
            ),
            None
        );
        assert_eq!(
            scope_join(
                &t,
                &facts(b"10.0.0.1:8080", b"API.example", b"/api/cart", true)
            ),
            None
        );
        // A proxy line naming no upstream is about the proxy's own work.
        assert_eq!(
            scope_join(&t, &facts(b"", b"api.example", b"/api/orders", true)),
            None
        );
        // An application event names nothing comparable: time alone.
        assert_eq!(
            scope_join(&t, &facts(b"", b"", b"", false)),
            Some(Via::Time)
        );
        // One that names the incident's route is joined by scope; another path does not
        // keep it out.
        let app = |route: &'static [u8]| EventFacts {
            origin: Origin::AppLog,
            ..facts(b"", b"", route, false)
        };
        assert_eq!(scope_join(&t, &app(b"/api/orders")), Some(Via::Scope));
        assert_eq!(scope_join(&t, &app(b"/srv/app/views.py")), Some(Via::Time));
        let local = Target {
            local: true,
            ..target()
        };
        assert_eq!(
            scope_join(&local, &facts(b"", b"api.example", b"", true)),
            Some(Via::Scope)
        );
    }
}
