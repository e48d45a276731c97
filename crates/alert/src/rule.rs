//! Rules and the alert lifecycle. A rule turns the facts of a tick (open incidents, 5xx
//! ratios per scope, degraded upstreams, inputs) into conditions; the [`Evaluator`] turns
//! conditions over time into alerts: pending while true for less than `for`, firing, and
//! resolved once false for `keep_firing_for` (hysteresis against flapping).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::alert::{Alert, Details, State};
use crate::matcher::{all_match, Matcher};
use crate::ratio::{Ratios, Scope};
use crate::{Labels, Ms};

/// What a rule watches.
#[derive(Debug, Clone)]
pub enum RuleKind {
    /// An open incident matching the filters (empty lists match everything). `scope`
    /// matchers see the incident's `host`, `route` and `upstream` labels.
    Incident {
        causes: Vec<String>,
        categories: Vec<String>,
        scope: Vec<Matcher>,
        min_errors: u64,
    },
    /// The 5xx ratio of each scope over `window_ms`, once it has `min_requests`; with
    /// `codes`, only those 5xx count (`[502]`: the share of bad-gateway answers).
    Ratio {
        by: Scope,
        threshold: f64,
        min_requests: u64,
        window_ms: Ms,
        scope: Vec<Matcher>,
        codes: Vec<u16>,
    },
    /// An upstream whose attempts fail while retries hide it from clients.
    DegradedUpstream { scope: Vec<Matcher> },
    /// An input with no new line for `after_ms`.
    InputSilent { after_ms: Ms, inputs: Vec<Matcher> },
    /// An input whose malformed share over `window_ms` reached `threshold`.
    ParseHealth {
        threshold: f64,
        min_lines: u64,
        window_ms: Ms,
        inputs: Vec<Matcher>,
    },
}

impl RuleKind {
    pub fn name(&self) -> &'static str {
        match self {
            RuleKind::Incident { .. } => "incident",
            RuleKind::Ratio { .. } => "ratio",
            RuleKind::DegradedUpstream { .. } => "degraded_upstream",
            RuleKind::InputSilent { .. } => "input_silent",
            RuleKind::ParseHealth { .. } => "parse_health",
        }
    }
}

/// A valid rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub name: String,
    pub kind: RuleKind,
    pub for_ms: Ms,
    pub keep_firing_ms: Ms,
    pub severity: String,
    pub labels: Labels,
}

/// An open incident as rules see it.
#[derive(Debug, Clone, Default)]
pub struct IncidentFact {
    /// Stable for the incident's life (its id changes as cause and scope settle).
    pub key: String,
    pub errors: u64,
    pub hosts: Vec<String>,
    pub routes: Vec<String>,
    pub upstreams: Vec<String>,
    pub details: Details,
}

/// A degraded upstream as rules see it.
#[derive(Debug, Clone, Default)]
pub struct DegradedFact {
    pub upstream: String,
    pub hosts: Vec<String>,
    pub details: Details,
}

/// An input as rules see it.
#[derive(Debug, Clone, Default)]
pub struct InputFact {
    pub path: String,
    /// When its last line was read (`None`: none yet since start).
    pub last_line_at: Option<Ms>,
    /// When it started being followed.
    pub since: Ms,
    /// (lines, malformed) per second of wall time, oldest first.
    pub recent: Vec<(Ms, u64, u64)>,
}

/// Everything rules look at in one evaluation.
#[derive(Debug, Default)]
pub struct Facts<'a> {
    pub incidents: &'a [IncidentFact],
    pub ratios: Option<&'a Ratios>,
    pub degraded: &'a [DegradedFact],
    pub inputs: &'a [InputFact],
}

/// A rule found true for one key.
#[derive(Debug, Clone)]
pub struct Condition {
    pub key: String,
    pub labels: Labels,
    pub details: Details,
}

fn put(labels: &mut Labels, k: &str, v: Option<&String>) {
    if let Some(v) = v {
        labels.insert(k.to_string(), v.clone());
    }
}

fn base_labels(rule: &Rule) -> Labels {
    let mut l = rule.labels.clone();
    l.insert("alertname".into(), rule.name.clone());
    l.insert("severity".into(), rule.severity.clone());
    l.insert("rule".into(), rule.kind.name().into());
    l
}

fn incident_conditions(rule: &Rule, facts: &Facts<'_>) -> Vec<Condition> {
    let RuleKind::Incident {
        causes,
        categories,
        scope,
        min_errors,
    } = &rule.kind
    else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for inc in facts.incidents {
        let cause = inc.details.cause.clone().unwrap_or_default();
        let category = inc.details.category.clone().unwrap_or_default();
        let mut labels = base_labels(rule);
        labels.insert("cause".into(), cause.clone());
        labels.insert("category".into(), category.clone());
        put(&mut labels, "host", inc.hosts.first());
        put(&mut labels, "route", inc.routes.first());
        put(&mut labels, "upstream", inc.upstreams.first());
        let wanted = (causes.is_empty() || causes.contains(&cause))
            && (categories.is_empty() || categories.contains(&category))
            && inc.errors >= *min_errors
            && all_match(scope, &labels);
        if wanted {
            out.push(Condition {
                key: inc.key.clone(),
                labels,
                details: inc.details.clone(),
            });
        }
    }
    out
}

fn ratio_conditions(rule: &Rule, facts: &Facts<'_>, now: Ms) -> Vec<Condition> {
    let (
        RuleKind::Ratio {
            by,
            threshold,
            min_requests,
            window_ms,
            scope,
            codes,
        },
        Some(ratios),
    ) = (&rule.kind, facts.ratios)
    else {
        return Vec::new();
    };
    let what = if codes.is_empty() {
        "5xx".to_string()
    } else {
        codes
            .iter()
            .map(u16::to_string)
            .collect::<Vec<_>>()
            .join("/")
    };
    let mut out = Vec::new();
    for (key, requests, errors) in ratios.window(*by, now - window_ms, codes) {
        if requests < *min_requests || requests == 0 {
            continue;
        }
        let ratio = errors as f64 / requests as f64;
        let mut labels = base_labels(rule);
        if let Some(name) = by.label() {
            labels.insert(name.into(), key.clone());
        }
        if ratio < *threshold || !all_match(scope, &labels) {
            continue;
        }
        let where_ = by
            .label()
            .map_or("all traffic".to_string(), |l| format!("{l} {key}"));
        out.push(Condition {
            key: format!("{}:{key}", by.as_str()),
            labels,
            details: Details {
                summary: format!(
                    "{what} ratio {:.1} % on {where_} over the last {} ({errors} of {requests} requests; threshold {:.1} %)",
                    ratio * 100.0,
                    crate::human_ms(*window_ms),
                    threshold * 100.0
                ),
                value: Some(ratio),
                ..Details::default()
            },
        });
    }
    out
}

fn degraded_conditions(rule: &Rule, facts: &Facts<'_>) -> Vec<Condition> {
    let RuleKind::DegradedUpstream { scope } = &rule.kind else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for d in facts.degraded {
        let mut labels = base_labels(rule);
        labels.insert("upstream".into(), d.upstream.clone());
        put(&mut labels, "host", d.hosts.first());
        if all_match(scope, &labels) {
            out.push(Condition {
                key: d.upstream.clone(),
                labels,
                details: d.details.clone(),
            });
        }
    }
    out
}

fn input_conditions(rule: &Rule, facts: &Facts<'_>, now: Ms) -> Vec<Condition> {
    let mut out = Vec::new();
    for input in facts.inputs {
        let mut labels = base_labels(rule);
        labels.insert("input".into(), input.path.clone());
        let details = match &rule.kind {
            RuleKind::InputSilent { after_ms, inputs } => {
                let last = input.last_line_at.unwrap_or(input.since);
                let silent = now - last;
                if silent < *after_ms || !all_match(inputs, &labels) {
                    continue;
                }
                Details {
                    summary: format!(
                        "no new line in {} for {} (limit {})",
                        input.path,
                        crate::human_ms(silent),
                        crate::human_ms(*after_ms)
                    ),
                    value: Some(silent as f64 / 1000.0),
                    ..Details::default()
                }
            }
            RuleKind::ParseHealth {
                threshold,
                min_lines,
                window_ms,
                inputs,
            } => {
                let (lines, bad) = input
                    .recent
                    .iter()
                    .filter(|(at, _, _)| *at > now - window_ms)
                    .fold((0, 0), |(l, b), (_, nl, nb)| (l + nl, b + nb));
                let share = if lines == 0 {
                    0.0
                } else {
                    bad as f64 / lines as f64
                };
                if lines < *min_lines || share < *threshold || !all_match(inputs, &labels) {
                    continue;
                }
                Details {
                    summary: format!(
                        "{bad} of {lines} lines of {} over the last {} could not be parsed ({:.1} %): has the log format changed?",
                        input.path,
                        crate::human_ms(*window_ms),
                        share * 100.0
                    ),
                    value: Some(share),
                    ..Details::default()
                }
            }
            _ => return Vec::new(),
        };
        out.push(Condition {
            key: input.path.clone(),
            labels,
            details,
        });
    }
    out
}

impl Rule {
    /// The keys for which the rule is true now.
    pub fn conditions(&self, facts: &Facts<'_>, now: Ms) -> Vec<Condition> {
        match self.kind {
            RuleKind::Incident { .. } => incident_conditions(self, facts),
            RuleKind::Ratio { .. } => ratio_conditions(self, facts, now),
            RuleKind::DegradedUpstream { .. } => degraded_conditions(self, facts),
            RuleKind::InputSilent { .. } | RuleKind::ParseHealth { .. } => {
                input_conditions(self, facts, now)
            }
        }
    }
}

/// The alerts of every rule, by (rule, key). Serialisable, so a restart resumes it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Evaluator {
    alerts: BTreeMap<String, Alert>,
}

fn slot(rule: &str, key: &str) -> String {
    format!("{rule}\u{1f}{key}")
}

impl Evaluator {
    /// Evaluates every rule; returns the alerts whose state changed (new pending, fired,
    /// resolved), for the history. Resolved alerts leave the evaluator.
    pub fn evaluate(&mut self, rules: &[Rule], facts: &Facts<'_>, now: Ms) -> Vec<Alert> {
        let mut changed = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for rule in rules {
            for c in rule.conditions(facts, now) {
                let k = slot(&rule.name, &c.key);
                seen.insert(k.clone());
                let a = self.alerts.entry(k).or_insert_with(|| {
                    Alert::new(&rule.name, c.labels.clone(), c.details.clone(), now)
                });
                let fresh = a.last_true == now && a.active_since == now;
                a.last_true = now;
                a.labels = c.labels;
                a.details = c.details;
                if a.state == State::Pending && now - a.active_since >= rule.for_ms {
                    a.state = State::Firing;
                    a.fired_at = Some(now);
                    changed.push(a.clone());
                } else if fresh {
                    changed.push(a.clone());
                }
            }
        }
        let keep: BTreeMap<&str, Ms> = rules
            .iter()
            .map(|r| (r.name.as_str(), r.keep_firing_ms))
            .collect();
        let mut gone = Vec::new();
        for (k, a) in &mut self.alerts {
            if seen.contains(k) {
                continue;
            }
            match (a.state, keep.get(a.rule.as_str())) {
                // A rule removed by a reload: its alerts resolve now.
                (State::Firing, None) => {}
                (State::Firing, Some(&keep)) if now - a.last_true < keep => continue,
                _ => {}
            }
            if a.state == State::Firing {
                a.state = State::Resolved;
                a.resolved_at = Some(now);
            } else {
                // Pending that went false: it never fired and leaves no trace to notify.
                a.state = State::Resolved;
                a.resolved_at = Some(now);
                a.fired_at = None;
            }
            changed.push(a.clone());
            gone.push(k.clone());
        }
        for k in gone {
            self.alerts.remove(&k);
        }
        changed
    }

    /// Pending and firing alerts.
    pub fn active(&self) -> impl Iterator<Item = &Alert> {
        self.alerts.values()
    }

    pub fn firing(&self) -> impl Iterator<Item = &Alert> {
        self.alerts.values().filter(|a| a.state == State::Firing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ratio::Tally;

    fn incident_rule(for_ms: Ms, keep: Ms) -> Rule {
        Rule {
            name: "incident".into(),
            kind: RuleKind::Incident {
                causes: vec![],
                categories: vec![],
                scope: vec![],
                min_errors: 5,
            },
            for_ms,
            keep_firing_ms: keep,
            severity: "page".into(),
            labels: Labels::new(),
        }
    }

    fn inc(errors: u64) -> IncidentFact {
        IncidentFact {
            key: "k1".into(),
            errors,
            hosts: vec!["shop.example".into()],
            routes: vec!["/api/items/{id}".into()],
            upstreams: vec!["10.0.0.1:80".into()],
            details: Details {
                summary: "refused".into(),
                cause: Some("upstream_down".into()),
                category: Some("application".into()),
                ..Details::default()
            },
        }
    }

    fn run(ev: &mut Evaluator, rules: &[Rule], incs: &[IncidentFact], now: Ms) -> Vec<State> {
        let facts = Facts {
            incidents: incs,
            ..Facts::default()
        };
        ev.evaluate(rules, &facts, now)
            .into_iter()
            .map(|a| a.state)
            .collect()
    }

    #[test]
    fn an_alert_is_pending_until_for_then_fires_and_resolves_after_keep_firing() {
        let rules = [incident_rule(30_000, 60_000)];
        let mut ev = Evaluator::default();
        assert_eq!(run(&mut ev, &rules, &[inc(10)], 0), vec![State::Pending]);
        assert_eq!(run(&mut ev, &rules, &[inc(10)], 29_999), vec![]);
        assert_eq!(
            run(&mut ev, &rules, &[inc(10)], 30_000),
            vec![State::Firing]
        );
        // False for less than keep_firing: still firing, nothing changes.
        assert_eq!(run(&mut ev, &rules, &[], 89_999), vec![]);
        assert_eq!(ev.firing().count(), 1);
        assert_eq!(run(&mut ev, &rules, &[], 90_000), vec![State::Resolved]);
        assert_eq!(ev.active().count(), 0);
    }

    #[test]
    fn true_again_within_keep_firing_is_the_same_alert() {
        let rules = [incident_rule(0, 60_000)];
        let mut ev = Evaluator::default();
        assert_eq!(run(&mut ev, &rules, &[inc(10)], 0), vec![State::Firing]);
        let id = ev.firing().next().unwrap().id.clone();
        run(&mut ev, &rules, &[], 30_000);
        assert_eq!(run(&mut ev, &rules, &[inc(10)], 50_000), vec![]);
        assert_eq!(ev.firing().next().unwrap().id, id);
    }

    #[test]
    fn a_pending_alert_that_goes_false_resolves_without_having_fired() {
        let rules = [incident_rule(60_000, 0)];
        let mut ev = Evaluator::default();
        run(&mut ev, &rules, &[inc(10)], 0);
        let gone = ev.evaluate(&rules, &Facts::default(), 1000);
        assert_eq!(gone.len(), 1);
        assert_eq!(gone[0].fired_at, None);
    }

    #[test]
    fn filters_keep_small_or_other_incidents_out() {
        let mut rule = incident_rule(0, 0);
        assert!(run(&mut Evaluator::default(), &[rule.clone()], &[inc(4)], 0).is_empty());
        rule.kind = RuleKind::Incident {
            causes: vec!["tls_failure".into()],
            categories: vec![],
            scope: vec![],
            min_errors: 0,
        };
        assert!(run(&mut Evaluator::default(), &[rule.clone()], &[inc(10)], 0).is_empty());
        rule.kind = RuleKind::Incident {
            causes: vec![],
            categories: vec!["application".into()],
            scope: vec![Matcher::parse(r#"route=~"/api/.*""#).unwrap()],
            min_errors: 0,
        };
        let a = Evaluator::default().evaluate(
            &[rule],
            &Facts {
                incidents: &[inc(10)],
                ..Facts::default()
            },
            0,
        );
        assert_eq!(a[0].labels["cause"], "upstream_down");
        assert_eq!(a[0].labels["route"], "/api/items/{id}");
        assert_eq!(a[0].labels["alertname"], "incident");
        assert_eq!(a[0].labels["severity"], "page");
    }

    #[test]
    fn an_input_silent_for_longer_than_the_limit_alerts() {
        let rule = Rule {
            name: "silent".into(),
            kind: RuleKind::InputSilent {
                after_ms: 300_000,
                inputs: vec![],
            },
            for_ms: 0,
            keep_firing_ms: 0,
            severity: "warning".into(),
            labels: Labels::new(),
        };
        let input = InputFact {
            path: "/var/log/nginx/access.log".into(),
            last_line_at: Some(1_000),
            since: 0,
            recent: vec![],
        };
        let facts = Facts {
            inputs: std::slice::from_ref(&input),
            ..Facts::default()
        };
        assert!(rule.conditions(&facts, 300_999).is_empty());
        let c = rule.conditions(&facts, 301_000);
        assert_eq!(c[0].labels["input"], "/var/log/nginx/access.log");
        assert!(
            c[0].details.summary.contains("5m"),
            "{}",
            c[0].details.summary
        );
    }

    #[test]
    fn a_degraded_upstream_alerts_per_upstream_within_its_scope() {
        let rule = Rule {
            name: "degraded".into(),
            kind: RuleKind::DegradedUpstream {
                scope: vec![Matcher::parse(r#"upstream=~"10[.]0[.].*""#).unwrap()],
            },
            for_ms: 0,
            keep_firing_ms: 0,
            severity: "warning".into(),
            labels: Labels::new(),
        };
        let fact = |u: &str| DegradedFact {
            upstream: u.into(),
            hosts: vec!["shop.example".into()],
            details: Details {
                summary: "attempts failed, retries hid them".into(),
                ..Details::default()
            },
        };
        let facts = [fact("10.0.0.1:80"), fact("192.168.1.1:80")];
        let c = rule.conditions(
            &Facts {
                degraded: &facts,
                ..Facts::default()
            },
            0,
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].labels["upstream"], "10.0.0.1:80");
        assert_eq!(c[0].labels["host"], "shop.example");
    }

    fn ratio_rule(codes: Vec<u16>) -> Rule {
        Rule {
            name: "ratio".into(),
            kind: RuleKind::Ratio {
                by: Scope::Route,
                threshold: 0.05,
                min_requests: 100,
                window_ms: 60_000,
                scope: vec![],
                codes,
            },
            for_ms: 0,
            keep_firing_ms: 0,
            severity: "warning".into(),
            labels: Labels::new(),
        }
    }

    fn tally(requests: u64, codes: &[(u16, u64)]) -> Tally {
        Tally::from_codes(requests, codes.to_vec())
    }

    #[test]
    fn a_ratio_of_some_codes_counts_only_those() {
        let mut r = Ratios::new(10_000);
        // /a fails with 500s (an application bug), /b with 502s (a gateway problem).
        r.add(0, Scope::Route, "/a", &tally(200, &[(500, 30), (502, 2)]));
        r.add(0, Scope::Route, "/b", &tally(200, &[(500, 2), (502, 30)]));
        let facts = Facts {
            ratios: Some(&r),
            ..Facts::default()
        };
        let c = ratio_rule(vec![502]).conditions(&facts, 30_000);
        assert_eq!(c.len(), 1, "only /b has 5 % of 502s");
        assert_eq!(c[0].labels["route"], "/b");
        assert_eq!(c[0].details.value, Some(0.15));
        assert!(
            c[0].details
                .summary
                .starts_with("502 ratio 15.0 % on route /b"),
            "{}",
            c[0].details.summary
        );
        let both = ratio_rule(vec![500, 502]).conditions(&facts, 30_000);
        assert_eq!(both.len(), 2);
        assert!(both[0].details.summary.starts_with("500/502 ratio"));
    }

    #[test]
    fn a_ratio_alerts_per_scope_above_threshold_with_enough_requests() {
        let rule = ratio_rule(vec![]);
        let mut r = Ratios::new(10_000);
        r.add(0, Scope::Route, "/a", &tally(200, &[(502, 20)]));
        r.add(0, Scope::Route, "/b", &tally(50, &[(502, 40)]));
        r.add(0, Scope::Route, "/c", &tally(400, &[(502, 4)]));
        let facts = Facts {
            ratios: Some(&r),
            ..Facts::default()
        };
        let c = rule.conditions(&facts, 30_000);
        assert_eq!(c.len(), 1, "/b has too few requests, /c too low a ratio");
        assert_eq!(c[0].labels["route"], "/a");
        assert_eq!(c[0].details.value, Some(0.1));
        assert!(
            rule.conditions(&facts, 80_000).is_empty(),
            "the window moved on"
        );
    }

    #[test]
    fn parse_health_needs_volume_and_share() {
        let rule = Rule {
            name: "parse".into(),
            kind: RuleKind::ParseHealth {
                threshold: 0.1,
                min_lines: 100,
                window_ms: 60_000,
                inputs: vec![],
            },
            for_ms: 0,
            keep_firing_ms: 0,
            severity: "warning".into(),
            labels: Labels::new(),
        };
        let mut input = InputFact {
            path: "a.log".into(),
            recent: vec![(10_000, 50, 40)],
            ..InputFact::default()
        };
        let check = |i: &InputFact| {
            rule.conditions(
                &Facts {
                    inputs: std::slice::from_ref(i),
                    ..Facts::default()
                },
                30_000,
            )
            .len()
        };
        assert_eq!(check(&input), 0, "50 lines are below the volume floor");
        input.recent.push((20_000, 100, 0));
        assert_eq!(check(&input), 1, "40 of 150");
        input.recent[0].0 = -40_000;
        assert_eq!(check(&input), 0, "the bad second left the window");
    }
}
