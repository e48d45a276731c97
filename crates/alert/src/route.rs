//! The routing tree, with Alertmanager's semantics: an alert enters at the root and goes
//! down depth-first into the first child whose matchers match; with `continue` a matching
//! child lets its later siblings be tried too. A node none of whose children match takes the
//! alert itself. Children inherit every setting they do not give.

use crate::matcher::{all_match, Matcher};
use crate::{Labels, Ms};

/// Alertmanager's defaults.
pub const GROUP_WAIT_MS: Ms = 30_000;
pub const GROUP_INTERVAL_MS: Ms = 5 * 60_000;
pub const REPEAT_INTERVAL_MS: Ms = 4 * 3_600_000;

/// One node as configured: `None` inherits from the parent.
#[derive(Debug, Clone, Default)]
pub struct RouteConfig {
    pub receiver: Option<String>,
    pub matchers: Vec<Matcher>,
    pub continue_: bool,
    /// `["..."]` groups by every label.
    pub group_by: Option<Vec<String>>,
    pub group_wait: Option<Ms>,
    pub group_interval: Option<Ms>,
    pub repeat_interval: Option<Ms>,
    pub routes: Vec<RouteConfig>,
}

/// How alerts are grouped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupBy {
    /// Every label: each alert is its own group.
    All,
    Labels(Vec<String>),
}

/// A node with every setting resolved.
#[derive(Debug, Clone)]
pub struct Route {
    /// Position in the tree (`0`, `0.1`, `0.1.0`…): part of the group key.
    pub path: String,
    pub receiver: String,
    pub matchers: Vec<Matcher>,
    pub continue_: bool,
    pub group_by: GroupBy,
    pub group_wait: Ms,
    pub group_interval: Ms,
    pub repeat_interval: Ms,
    pub routes: Vec<Route>,
}

impl Route {
    /// Resolves the tree; the root must name a receiver.
    pub fn build(root: &RouteConfig) -> Result<Route, String> {
        let receiver = root
            .receiver
            .clone()
            .ok_or("the root route needs a receiver")?;
        let base = Route {
            path: "0".into(),
            receiver,
            matchers: Vec::new(),
            continue_: false,
            group_by: GroupBy::Labels(vec!["alertname".into()]),
            group_wait: GROUP_WAIT_MS,
            group_interval: GROUP_INTERVAL_MS,
            repeat_interval: REPEAT_INTERVAL_MS,
            routes: Vec::new(),
        };
        Ok(Route::child(root, &base, "0".into()))
    }

    fn child(c: &RouteConfig, parent: &Route, path: String) -> Route {
        let group_by = match &c.group_by {
            Some(l) if l.iter().any(|x| x == "...") => GroupBy::All,
            Some(l) => GroupBy::Labels(l.clone()),
            None => parent.group_by.clone(),
        };
        let mut r = Route {
            path,
            receiver: c
                .receiver
                .clone()
                .unwrap_or_else(|| parent.receiver.clone()),
            matchers: c.matchers.clone(),
            continue_: c.continue_,
            group_by,
            group_wait: c.group_wait.unwrap_or(parent.group_wait),
            group_interval: c.group_interval.unwrap_or(parent.group_interval),
            repeat_interval: c.repeat_interval.unwrap_or(parent.repeat_interval),
            routes: Vec::new(),
        };
        r.routes = c
            .routes
            .iter()
            .enumerate()
            .map(|(i, sub)| Route::child(sub, &r, format!("{}.{i}", r.path)))
            .collect();
        r
    }

    /// The nodes that take an alert with these labels (the root always matches).
    pub fn matches(&self, labels: &Labels) -> Vec<&Route> {
        if !all_match(&self.matchers, labels) {
            return Vec::new();
        }
        let mut out = Vec::new();
        for r in &self.routes {
            let found = r.matches(labels);
            if found.is_empty() {
                continue;
            }
            out.extend(found);
            if !r.continue_ {
                break;
            }
        }
        if out.is_empty() {
            out.push(self);
        }
        out
    }

    /// The labels an alert is grouped by under this node.
    pub fn group_labels(&self, labels: &Labels) -> Labels {
        match &self.group_by {
            GroupBy::All => labels.clone(),
            GroupBy::Labels(names) => names
                .iter()
                .filter_map(|n| labels.get(n).map(|v| (n.clone(), v.clone())))
                .collect(),
        }
    }

    /// Every receiver named in the tree.
    pub fn receivers(&self) -> Vec<&str> {
        let mut out = vec![self.receiver.as_str()];
        for r in &self.routes {
            out.extend(r.receivers());
        }
        out
    }
}

/// The group key: the node's path and the group labels, as Alertmanager prints it.
pub fn group_key(route: &Route, group_labels: &Labels) -> String {
    let inner: Vec<String> = group_labels
        .iter()
        .map(|(k, v)| format!("{k}={v:?}"))
        .collect();
    format!("{}:{{{}}}", route.path, inner.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Matcher {
        Matcher::parse(s).unwrap()
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn tree() -> Route {
        Route::build(&RouteConfig {
            receiver: Some("default".into()),
            group_by: Some(vec!["alertname".into(), "host".into()]),
            group_wait: Some(10_000),
            routes: vec![
                RouteConfig {
                    receiver: Some("pager".into()),
                    matchers: vec![m(r#"severity="page""#)],
                    continue_: true,
                    routes: vec![RouteConfig {
                        receiver: Some("db-team".into()),
                        matchers: vec![m(r#"cause="dependency_failure""#)],
                        repeat_interval: Some(3_600_000),
                        ..RouteConfig::default()
                    }],
                    ..RouteConfig::default()
                },
                RouteConfig {
                    receiver: Some("chat".into()),
                    matchers: vec![m(r#"severity=~"page|warning""#)],
                    ..RouteConfig::default()
                },
                RouteConfig {
                    receiver: Some("never".into()),
                    matchers: vec![m(r#"severity="page""#)],
                    ..RouteConfig::default()
                },
            ],
            ..RouteConfig::default()
        })
        .unwrap()
    }

    fn receivers(r: &Route, l: &Labels) -> Vec<String> {
        r.matches(l).iter().map(|n| n.receiver.clone()).collect()
    }

    #[test]
    fn continue_lets_later_siblings_match_and_the_first_without_it_stops() {
        let t = tree();
        let page = labels(&[("severity", "page")]);
        assert_eq!(receivers(&t, &page), ["pager", "chat"]);
        let warn = labels(&[("severity", "warning")]);
        assert_eq!(receivers(&t, &warn), ["chat"]);
    }

    #[test]
    fn an_alert_no_child_takes_stays_at_the_parent() {
        let t = tree();
        assert_eq!(receivers(&t, &labels(&[("severity", "info")])), ["default"]);
    }

    #[test]
    fn children_inherit_what_they_do_not_set() {
        let t = tree();
        let l = labels(&[("severity", "page"), ("cause", "dependency_failure")]);
        let nodes = t.matches(&l);
        assert_eq!(nodes[0].receiver, "db-team");
        assert_eq!(nodes[0].path, "0.0.0");
        assert_eq!(nodes[0].group_wait, 10_000, "from the root");
        assert_eq!(nodes[0].repeat_interval, 3_600_000, "its own");
        assert_eq!(nodes[0].group_interval, GROUP_INTERVAL_MS, "the default");
        assert_eq!(
            nodes[0].group_by,
            GroupBy::Labels(vec!["alertname".into(), "host".into()])
        );
    }

    #[test]
    fn the_group_key_names_the_node_and_the_group_labels() {
        let t = tree();
        let l = labels(&[("alertname", "a"), ("host", "h"), ("route", "/x")]);
        let gl = t.group_labels(&l);
        assert_eq!(group_key(&t, &gl), r#"0:{alertname="a",host="h"}"#);
    }
}
