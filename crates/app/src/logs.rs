//! Error and application logs: read after the access logs, each event matched against the
//! signature catalog, grouped by fingerprint and offered to the correlator, which joins it to
//! the incidents and degraded-upstream findings it explains.

use std::sync::OnceLock;

use faultline_aggregate::{route_into, RoutePatterns};
use faultline_diagnose::correlate::{upstream_addr, Origin};
use faultline_diagnose::{Catalog, Correlator, EventFacts};
use faultline_formats::applog::{self, AppEvent, Level};
use faultline_formats::{parse_nginx_error_tail, ErrorLine};
use faultline_model::{format_rfc3339, join, EventTime};
use rustc_hash::FxHashMap;

use crate::report::{clean_text, ErrorGroupReport};

/// Bytes of an event's text kept for evidence and samples.
const MAX_TEXT: usize = 4096;
/// Physical lines joined into one error-log event (a stack trace FastCGI sent to nginx).
const MAX_CONTINUATION: u32 = 500;
/// Distinct error groups kept; later ones are counted in `overflow`.
const MAX_GROUPS: usize = 5000;

/// What the error and app inputs share while they are read.
#[derive(Debug)]
pub struct LogContext<'a> {
    pub catalog: &'a Catalog,
    pub patterns: &'a RoutePatterns,
    pub correlator: Correlator,
    pub groups: Groups,
    /// When set, every event offered is also kept here, to be offered again later to
    /// incidents that did not exist yet (`serve`).
    pub tap: Option<Vec<OwnedFacts>>,
}

/// An event as correlation reads it, owned.
#[derive(Debug, Clone)]
pub struct OwnedFacts {
    pub source: u32,
    pub line: u64,
    pub secs: i64,
    pub origin: Origin,
    pub signature: Option<usize>,
    pub group: u32,
    pub conn: u64,
    pub rids: Vec<u64>,
    pub upstream: Vec<u8>,
    pub upstream_always_named: bool,
    pub host: Vec<u8>,
    pub route: Vec<u8>,
    pub text: String,
}

impl OwnedFacts {
    fn of(f: &EventFacts<'_>) -> OwnedFacts {
        OwnedFacts {
            source: f.source,
            line: f.line,
            secs: f.secs,
            origin: f.origin,
            signature: f.signature,
            group: f.group,
            conn: f.conn,
            rids: f.rids.to_vec(),
            upstream: f.upstream.to_vec(),
            upstream_always_named: f.upstream_always_named,
            host: f.host.to_vec(),
            route: f.route.to_vec(),
            text: f.text.to_string(),
        }
    }

    pub fn facts(&self) -> EventFacts<'_> {
        EventFacts {
            source: self.source,
            line: self.line,
            secs: self.secs,
            origin: self.origin,
            signature: self.signature,
            group: self.group,
            conn: self.conn,
            rids: &self.rids,
            upstream: &self.upstream,
            upstream_always_named: self.upstream_always_named,
            host: &self.host,
            route: &self.route,
            text: &self.text,
        }
    }
}

impl LogContext<'_> {
    fn offer(&mut self, f: &EventFacts<'_>) {
        self.correlator.offer(f);
        if let Some(tap) = &mut self.tap {
            tap.push(OwnedFacts::of(f));
        }
    }

    fn wants_request_ids(&self) -> bool {
        self.tap.is_some() || self.correlator.wants_request_ids()
    }
}

/// Events grouped by fingerprint.
#[derive(Debug, Default)]
pub struct Groups {
    index: FxHashMap<u64, u32>,
    pub list: Vec<Group>,
    pub overflow: u64,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub fingerprint: u64,
    pub kind: &'static str,
    pub title: String,
    pub count: u64,
    pub first: EventTime,
    pub last: EventTime,
    pub sample: String,
    pub source: u32,
    pub line: u64,
    pub signature: Option<usize>,
}

impl Groups {
    /// The group of an event (created on first sight); `u32::MAX` when the table is full.
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        fingerprint: u64,
        kind: &'static str,
        title: impl FnOnce() -> String,
        sample: impl FnOnce() -> String,
        at: EventTime,
        source: u32,
        line: u64,
        signature: Option<usize>,
    ) -> u32 {
        if let Some(&i) = self.index.get(&fingerprint) {
            let g = &mut self.list[i as usize];
            g.count += 1;
            if at.secs < g.first.secs {
                g.first = at;
            }
            if at.secs > g.last.secs {
                g.last = at;
            }
            return i;
        }
        if self.list.len() >= MAX_GROUPS {
            self.overflow += 1;
            return u32::MAX;
        }
        let i = self.list.len() as u32;
        self.index.insert(fingerprint, i);
        self.list.push(Group {
            fingerprint,
            kind,
            title: title(),
            count: 1,
            first: at,
            last: at,
            sample: sample(),
            source,
            line,
            signature,
        });
        i
    }

    /// The report's `error_groups`, most frequent first. A group is `new` when its first
    /// event came after `settle` (the window's start plus a settling time): it appeared
    /// during the log rather than being there from the beginning.
    pub fn report(
        &self,
        catalog: &Catalog,
        sources: &[String],
        settle: i64,
    ) -> Vec<ErrorGroupReport> {
        let mut v: Vec<&Group> = self.list.iter().collect();
        v.sort_by(|a, b| b.count.cmp(&a.count).then(a.first.secs.cmp(&b.first.secs)));
        v.into_iter()
            .map(|g| g.report(catalog, sources, settle))
            .collect()
    }
}

impl Group {
    pub fn report(&self, catalog: &Catalog, sources: &[String], settle: i64) -> ErrorGroupReport {
        ErrorGroupReport {
            fingerprint: format!("{:016x}", self.fingerprint),
            kind: self.kind,
            title: self.title.clone(),
            count: self.count,
            first_seen: format_rfc3339(self.first.secs, self.first.offset),
            last_seen: format_rfc3339(self.last.secs, self.last.offset),
            sample: self.sample.clone(),
            source: sources
                .get(self.source as usize)
                .cloned()
                .unwrap_or_default(),
            line: self.line,
            signature: self.signature.map(|s| catalog.get(s).id.clone()),
            new: self.first.secs > settle,
        }
    }
}

/// One error-log event: a line, plus the physical lines a multi-line message continued on.
#[derive(Debug, Default)]
pub struct Pending {
    line: u64,
    at: Option<EventTime>,
    conn: u64,
    level_rank: u8,
    raw: Vec<u8>,
    message: Vec<u8>,
    upstream: Vec<u8>,
    host: Vec<u8>,
    path: Vec<u8>,
    /// Apache's message id (`AH01102`): kept in the fingerprint, which masks numbers.
    code: Vec<u8>,
    lines: u32,
}

/// nginx's and Apache's levels, least severe first.
fn level_rank(level: &[u8]) -> u8 {
    match level {
        b"debug" | b"trace1" | b"trace2" | b"trace3" | b"trace4" | b"trace5" | b"trace6"
        | b"trace7" | b"trace8" => 0,
        b"info" => 1,
        b"notice" => 2,
        b"warn" => 3,
        b"error" => 4,
        _ => 5,
    }
}

impl Pending {
    /// Starts an event from a parsed line.
    pub fn start(
        &mut self,
        line_no: u64,
        raw: &[u8],
        e: &ErrorLine<'_>,
        at: EventTime,
        apache: bool,
    ) {
        self.line = line_no;
        self.at = Some(at);
        self.conn = e.connection.unwrap_or(0);
        self.level_rank = level_rank(e.level);
        self.lines = 1;
        self.code.clear();
        self.code.extend_from_slice(e.code);
        self.raw.clear();
        push_capped(&mut self.raw, raw);
        self.message.clear();
        push_capped(&mut self.message, e.message);
        self.host.clear();
        self.upstream.clear();
        self.path.clear();
        if apache {
            if let Some(addr) = apache_upstream(e.message) {
                self.upstream.extend_from_slice(addr);
            }
        } else {
            self.set_context(e);
        }
    }

    /// The upstream, host and path an nginx line's context names.
    fn set_context(&mut self, e: &ErrorLine<'_>) {
        self.host.clear();
        self.host.extend_from_slice(e.host);
        self.upstream.clear();
        self.upstream.extend_from_slice(upstream_addr(e.upstream));
        // `GET /path?q HTTP/1.1` → `/path`
        self.path.clear();
        let mut parts = e.request.split(|&b| b == b' ');
        let _method = parts.next();
        if let Some(target) = parts.next() {
            let end = target
                .iter()
                .position(|&b| b == b'?')
                .unwrap_or(target.len());
            self.path.extend_from_slice(&target[..end]);
        }
    }

    /// Adds a physical line that continues the message; false when it cannot (no event, or
    /// too many lines already).
    pub fn continue_with(&mut self, raw: &[u8], apache: bool) -> bool {
        if self.at.is_none() || self.lines >= MAX_CONTINUATION {
            return false;
        }
        // nginx appends the request's context after the message's last line.
        if !apache && self.upstream.is_empty() && self.host.is_empty() {
            if let Some(tail) = parse_nginx_error_tail(raw) {
                self.set_context(&tail);
            }
        }
        self.lines += 1;
        push_capped(&mut self.raw, b"\n");
        push_capped(&mut self.raw, raw);
        push_capped(&mut self.message, b"\n");
        push_capped(&mut self.message, raw);
        true
    }

    /// Matches, groups and offers the event; clears it.
    pub fn flush(&mut self, source: u32, apache: bool, ctx: &mut LogContext<'_>) {
        let Some(at) = self.at.take() else { return };
        let sig = ctx.catalog.best_line_match(&self.raw);
        if sig.is_none() && self.level_rank < 3 {
            return;
        }
        let (mut fingerprint, mut title) = fingerprint(&self.message, apache);
        if !self.code.is_empty() {
            let code = String::from_utf8_lossy(&self.code);
            fingerprint ^= join::id_key(&self.code);
            title = title.replacen("AH{n}", &code, 1);
        }
        let kind = if apache {
            "apache.error"
        } else {
            "nginx.error"
        };
        let message = &self.message;
        let raw = &self.raw;
        let group = ctx.groups.add(
            fingerprint,
            kind,
            || title,
            || clean_text(raw),
            at,
            source,
            self.line,
            sig,
        );
        let mut route = Vec::new();
        if !self.path.is_empty() {
            route_into(&self.path, ctx.patterns, &mut route);
        }
        let mut rids = Vec::new();
        if ctx.wants_request_ids() {
            join::for_each_id_token(raw, |k| rids.push(k));
        }
        let text = evidence_text(message);
        ctx.offer(&EventFacts {
            source,
            line: self.line,
            secs: at.secs,
            origin: Origin::ErrorLog,
            signature: sig,
            group,
            conn: self.conn,
            rids: &rids,
            upstream: &self.upstream,
            upstream_always_named: !apache,
            host: &self.host,
            route: &route,
            text: &text,
        });
    }
}

fn push_capped(buf: &mut Vec<u8>, more: &[u8]) {
    let room = MAX_TEXT.saturating_sub(buf.len());
    buf.extend_from_slice(&more[..more.len().min(room)]);
}

/// The message as evidence: one line, control characters made visible, at most 300 chars.
fn evidence_text(message: &[u8]) -> String {
    let first = message.split(|&b| b == b'\n').next().unwrap_or(b"");
    let mut t = clean_text(first);
    if t.chars().count() > 300 {
        t = t.chars().take(299).collect::<String>() + "…";
    }
    t
}

/// The `host:port` an Apache proxy message names (`… remote server 127.0.0.1:8080`,
/// `attempt to connect to 10.0.0.1:80 (10.0.0.1:80) failed`), not the client's.
fn apache_upstream(message: &[u8]) -> Option<&[u8]> {
    static RE: OnceLock<regex::bytes::Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::bytes::Regex::new(
            r"(?:^|[\s(])((?:\d{1,3}\.){3}\d{1,3}:\d{1,5}|\[[0-9A-Fa-f:.]+\]:\d{1,5}|[A-Za-z0-9.-]+:\d{2,5})(?:[\s),]|$)",
        )
        .expect("valid regex")
    });
    // The client's address is in `[client …]` / `[remote …]`: skip past it.
    let start = message
        .windows(8)
        .position(|w| w == b"[client " || w == b"[remote ")
        .and_then(|p| {
            message[p..]
                .iter()
                .position(|&b| b == b']')
                .map(|q| p + q + 1)
        })
        .unwrap_or(0);
    re.captures(&message[start..])
        .and_then(|c| c.get(1))
        .map(|m| m.as_bytes())
}

/// The fingerprint of an error-log message (the request context already cut off by the
/// parser; Apache's `[client …]` is masked with the other addresses).
fn fingerprint(message: &[u8], _apache: bool) -> (u64, String) {
    let fp = applog::fingerprint(&String::from_utf8_lossy(message), "log");
    (fp.hash, fp.title)
}

/// An application-log event: matched, grouped and offered to the correlator. Records below
/// warning level that match no signature are left out.
pub fn offer_app_event(ev: &AppEvent, at: EventTime, source: u32, ctx: &mut LogContext<'_>) {
    let sig = ctx.catalog.best_line_match(ev.text.as_bytes());
    let notable = ev.kind != "log" || ev.level.is_some_and(|l| l >= Level::Warn);
    if sig.is_none() && !notable {
        return;
    }
    let fp = applog::fingerprint(&ev.text, ev.kind);
    let group = ctx.groups.add(
        fp.hash,
        ev.kind,
        || fp.title,
        || clean_text(ev.text.as_bytes()),
        at,
        source,
        ev.line,
        sig,
    );
    let mut rids = Vec::new();
    if ctx.wants_request_ids() {
        join::for_each_id_token(ev.text.as_bytes(), |k| rids.push(k));
    }
    let text = evidence_text(app_headline(ev).as_bytes());
    let mut route = Vec::new();
    if let Some(path) = first_path(ev.text.lines().next().unwrap_or("")) {
        route_into(path.as_bytes(), ctx.patterns, &mut route);
    }
    ctx.offer(&EventFacts {
        source,
        line: ev.line,
        secs: at.secs,
        origin: Origin::AppLog,
        signature: sig,
        group,
        conn: 0,
        rids: &rids,
        upstream: b"",
        upstream_always_named: false,
        host: b"",
        route: &route,
        text: &text,
    });
}

/// The first URL path in a record line (`Exception on /api/orders/12 [GET]`, Django's
/// `Internal Server Error: /api/x`, Rails' `Started GET "/x"`), without its query.
fn first_path(line: &str) -> Option<&str> {
    line.split(|c: char| c.is_whitespace() || c == '"' || c == '\'')
        .find(|t| t.len() > 1 && t.starts_with('/') && !t.starts_with("//"))
        .map(|t| {
            let end = t.find(['?', '#', ',', ')', ']']).unwrap_or(t.len());
            &t[..end]
        })
        .filter(|t| t.len() > 1)
}

/// The line of an event worth quoting: for a trace, its exception line (the last line of a
/// Python traceback, the first of the others); for a record, the record.
fn app_headline(ev: &AppEvent) -> &str {
    let lines = || ev.text.lines().filter(|l| !l.trim().is_empty());
    match ev.kind {
        "python.traceback" => lines()
            .rfind(|l| !l.starts_with(' ') && !l.starts_with("Traceback"))
            .unwrap_or(&ev.text),
        _ => lines().next().unwrap_or(&ev.text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_in_application_records() {
        let line = "2026-11-25 02:28:56,242 +0000 ERROR [users-1] shopd.views: Exception on /api/users/2891/orders [GET] request_id=dec";
        assert_eq!(first_path(line), Some("/api/users/2891/orders"));
        assert_eq!(
            first_path("Started GET \"/cart?x=1\" for 1.2.3.4"),
            Some("/cart")
        );
        assert_eq!(first_path("ERROR worker died"), None);
    }

    #[test]
    fn apache_upstream_skips_the_client() {
        let m = b"(111)Connection refused: [client 198.51.100.7:0] AH00957: http: attempt to connect to 127.0.0.1:39361 (127.0.0.1:39361) failed";
        assert_eq!(apache_upstream(m), Some(&b"127.0.0.1:39361"[..]));
        let m = b"(70007)The timeout specified has expired: [client 198.51.100.27:0] AH01102: error reading status line from remote server 127.0.0.1:41795";
        assert_eq!(apache_upstream(m), Some(&b"127.0.0.1:41795"[..]));
    }

    #[test]
    fn repeats_share_a_fingerprint() {
        let a = fingerprint(
            b"connect() failed (111: Connection refused) while connecting to upstream",
            false,
        );
        let c = fingerprint(
            b"upstream timed out (110: Connection timed out) while reading response header from upstream",
            false,
        );
        assert_ne!(a.0, c.0);
        let x = fingerprint(b"[client 1.2.3.4:5] AH01102: error reading status line from remote server 127.0.0.1:4100", true);
        let y = fingerprint(b"[client 9.8.7.6:0] AH01102: error reading status line from remote server 127.0.0.1:4200", true);
        assert_eq!(x.0, y.0);
    }
}
