//! Which lines a report covers: a time range, hosts, routes, statuses, and lines to leave out
//! (health checks, monitors) by path or user agent. Built once from validated options.

use regex::bytes::RegexSet;

/// A `*` wildcard pattern over bytes, matched case-insensitively (hosts, routes).
#[derive(Debug, Clone)]
pub struct Glob {
    parts: Vec<Vec<u8>>,
}

impl Glob {
    pub fn new(pattern: &str) -> Glob {
        Glob {
            parts: pattern
                .to_ascii_lowercase()
                .split('*')
                .map(|p| p.as_bytes().to_vec())
                .collect(),
        }
    }

    pub fn matches(&self, text: &[u8]) -> bool {
        let t = text.to_ascii_lowercase();
        let n = self.parts.len();
        if n == 1 {
            return t == self.parts[0];
        }
        let (first, last) = (&self.parts[0], &self.parts[n - 1]);
        if t.len() < first.len() + last.len() || !t.starts_with(first) || !t.ends_with(last) {
            return false;
        }
        let mut mid = &t[first.len()..t.len() - last.len()];
        for part in &self.parts[1..n - 1] {
            if part.is_empty() {
                continue;
            }
            match memchr::memmem::find(mid, part) {
                Some(at) => mid = &mid[at + part.len()..],
                None => return false,
            }
        }
        true
    }
}

/// A set of status codes: `5xx`, `502`, `500-504`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSet(Vec<(u16, u16)>);

impl StatusSet {
    /// Parses `5xx`, `502`, `500-504`; `None` when not one of those.
    pub fn parse_item(item: &str) -> Option<(u16, u16)> {
        let t = item.trim().to_ascii_lowercase();
        if let Some(d) = t.strip_suffix("xx") {
            let d: u16 = d.parse().ok().filter(|d| (1..=9).contains(d))?;
            return Some((d * 100, d * 100 + 99));
        }
        if let Some((a, b)) = t.split_once('-') {
            let (a, b): (u16, u16) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
            return (a <= b && b < 1000).then_some((a, b));
        }
        let s: u16 = t.parse().ok().filter(|s| *s < 1000)?;
        Some((s, s))
    }

    pub fn new(ranges: Vec<(u16, u16)>) -> StatusSet {
        StatusSet(ranges)
    }

    pub fn contains(&self, status: u16) -> bool {
        self.0.is_empty() || self.0.iter().any(|(a, b)| (*a..=*b).contains(&status))
    }
}

/// The validated filters. An empty filter keeps everything.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Keep lines at or after this UTC second.
    pub since: Option<i64>,
    /// Keep lines before this UTC second.
    pub until: Option<i64>,
    pub hosts: Vec<Glob>,
    pub routes: Vec<Glob>,
    /// Statuses the totals and tables cover (detection still sees every response).
    pub statuses: Option<StatusSet>,
    pub exclude_paths: Option<RegexSet>,
    pub exclude_user_agents: Option<RegexSet>,
}

impl Filter {
    /// Whether a per-line check is set (the hot path skips them otherwise).
    pub fn filters_lines(&self) -> bool {
        self.since.is_some()
            || self.until.is_some()
            || self.exclude_paths.is_some()
            || self.exclude_user_agents.is_some()
    }

    /// The per-line checks: time range and excluded paths and user agents.
    pub fn keeps_line(&self, sec: i64, path: &[u8], user_agent: &[u8]) -> bool {
        if self.since.is_some_and(|s| sec < s) || self.until.is_some_and(|u| sec >= u) {
            return false;
        }
        if self
            .exclude_paths
            .as_ref()
            .is_some_and(|r| r.is_match(path))
        {
            return false;
        }
        !self
            .exclude_user_agents
            .as_ref()
            .is_some_and(|r| r.is_match(user_agent))
    }

    /// The checks made once per distinct (host, route): hosts and routes.
    pub fn keeps_scope(&self, host: &[u8], route: &[u8]) -> bool {
        (self.hosts.is_empty() || self.hosts.iter().any(|g| g.matches(host)))
            && (self.routes.is_empty() || self.routes.iter().any(|g| g.matches(route)))
    }

    pub fn counts_status(&self, status: u16) -> bool {
        self.statuses.as_ref().is_none_or(|s| s.contains(status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(Glob::new("*.example.com").matches(b"API.example.com"));
        assert!(!Glob::new("*.example.com").matches(b"example.org"));
        assert!(Glob::new("/api/*").matches(b"/api/users/{id}"));
        assert!(!Glob::new("/api/*").matches(b"/shop"));
        assert!(Glob::new("/api/*/orders").matches(b"/api/users/{id}/orders"));
        assert!(Glob::new("api.example.com").matches(b"api.example.com"));
        assert!(!Glob::new("api.example.com").matches(b"api.example.com.evil"));
        assert!(Glob::new("*").matches(b"anything"));
    }

    #[test]
    fn status_sets() {
        assert_eq!(StatusSet::parse_item("5xx"), Some((500, 599)));
        assert_eq!(StatusSet::parse_item("500-504"), Some((500, 504)));
        assert_eq!(StatusSet::parse_item("502"), Some((502, 502)));
        assert_eq!(StatusSet::parse_item("5x"), None);
        assert_eq!(StatusSet::parse_item("504-500"), None);
        let s = StatusSet::new(vec![(500, 599), (429, 429)]);
        assert!(s.contains(429) && s.contains(503) && !s.contains(404));
    }

    #[test]
    fn excludes_and_time() {
        let f = Filter {
            since: Some(100),
            until: Some(200),
            exclude_paths: Some(RegexSet::new([r"^/healthz"]).unwrap()),
            exclude_user_agents: Some(RegexSet::new(["kube-probe"]).unwrap()),
            ..Filter::default()
        };
        assert!(f.keeps_line(150, b"/api", b"curl"));
        assert!(!f.keeps_line(99, b"/api", b"curl"));
        assert!(!f.keeps_line(200, b"/api", b"curl"));
        assert!(!f.keeps_line(150, b"/healthz?x", b"curl"));
        assert!(!f.keeps_line(150, b"/api", b"kube-probe/1.29"));
    }
}
