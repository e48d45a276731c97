//! The alerting part of the config file (`[alerting]`, `[[rule]]`, `[route]`,
//! `[[receiver]]`, `[[inhibit]]`, `[[maintenance]]`), validated once into an
//! [`AlertPlan`]. Every error names the line and key path; secrets are read from the
//! environment or a file here and never printed.

mod receiver;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use faultline_alert::inhibit::InhibitRule;
use faultline_alert::matcher::Matcher;
use faultline_alert::notify::Receiver;
use faultline_alert::ratio::Scope;
use faultline_alert::route::{Route, RouteConfig};
use faultline_alert::rule::{Rule, RuleKind};
use faultline_alert::window::{Schedule, Window};
use faultline_alert::{Labels, Ms};
use serde::Deserialize;
use toml::Spanned;

pub use receiver::RawReceiver;

/// Incidents that ended longer ago than this (a backlog read at start) do not page.
pub const DEFAULT_MAX_AGE_MS: Ms = 10 * 60_000;
pub const DEFAULT_HISTORY_MS: Ms = 30 * 86_400_000;
const DEFAULT_TIMEOUT_MS: Ms = 10_000;

/// A secret: from an environment variable or a file, never written in the config.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSecret {
    pub env: Option<String>,
    pub file: Option<String>,
}

/// A value written in the file, or read like a secret (`{ env = … }`, `{ file = … }`):
/// webhook URLs and header values, which often carry a token.
#[derive(Deserialize)]
#[serde(untagged)]
pub enum RawValue {
    Plain(String),
    Secret(RawSecret),
}

impl std::fmt::Debug for RawValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RawValue::Plain(_) => f.write_str("Plain(<redacted>)"),
            RawValue::Secret(s) => s.fmt(f),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAlerting {
    pub external_url: Option<Spanned<String>>,
    pub admin_token: Option<Spanned<RawSecret>>,
    pub max_age: Option<Spanned<String>>,
    pub history: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRule {
    pub name: Spanned<String>,
    pub on: Spanned<String>,
    #[serde(default)]
    pub causes: Vec<String>,
    #[serde(default)]
    pub categories: Vec<String>,
    pub scope: Option<Spanned<Vec<String>>>,
    pub min_errors: Option<u64>,
    pub by: Option<Spanned<String>>,
    pub threshold: Option<Spanned<f64>>,
    pub min_requests: Option<u64>,
    pub codes: Option<Spanned<Vec<i64>>>,
    pub min_lines: Option<u64>,
    pub window: Option<Spanned<String>>,
    pub after: Option<Spanned<String>>,
    pub inputs: Option<Spanned<Vec<String>>>,
    #[serde(rename = "for")]
    pub for_: Option<Spanned<String>>,
    pub keep_firing_for: Option<Spanned<String>>,
    pub severity: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    pub receiver: Option<Spanned<String>>,
    pub matchers: Option<Spanned<Vec<String>>>,
    #[serde(default, rename = "continue")]
    pub continue_: bool,
    pub group_by: Option<Vec<String>>,
    pub group_wait: Option<Spanned<String>>,
    pub group_interval: Option<Spanned<String>>,
    pub repeat_interval: Option<Spanned<String>>,
    #[serde(default)]
    pub routes: Vec<RawRoute>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInhibit {
    pub source: Spanned<Vec<String>>,
    pub target: Spanned<Vec<String>>,
    #[serde(default)]
    pub equal: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMaintenance {
    pub name: Spanned<String>,
    pub matchers: Option<Spanned<Vec<String>>>,
    pub tz: Option<Spanned<String>>,
    pub days: Option<Spanned<Vec<String>>>,
    pub start: Option<Spanned<String>>,
    pub duration: Option<Spanned<String>>,
    pub from: Option<Spanned<String>>,
    pub to: Option<Spanned<String>>,
}

/// Everything alerting needs, valid. Its `Debug` shows no secret.
pub struct AlertPlan {
    pub rules: Vec<Rule>,
    /// `None` without receivers: alerts are evaluated and kept, nobody is told.
    pub route: Option<Route>,
    pub receivers: Vec<Receiver>,
    pub inhibit: Vec<InhibitRule>,
    pub windows: Vec<Window>,
    /// Base of links in notifications.
    pub external_url: String,
    pub admin_token: Option<String>,
    pub max_age_ms: Ms,
    pub history_ms: Ms,
}

impl std::fmt::Debug for AlertPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The receivers' plans redact their own secrets.
        f.debug_struct("AlertPlan")
            .field("rules", &self.rules)
            .field("route", &self.route)
            .field("receivers", &self.receivers)
            .field("inhibit", &self.inhibit)
            .field("windows", &self.windows)
            .field("external_url", &self.external_url)
            .field(
                "admin_token",
                &self.admin_token.as_ref().map(|_| "<redacted>"),
            )
            .field("max_age_ms", &self.max_age_ms)
            .field("history_ms", &self.history_ms)
            .finish()
    }
}

/// Collects errors as `file:line: key: message`.
pub trait Report {
    fn at_span(&mut self, span: std::ops::Range<usize>, key: &str, what: String);
    fn plain(&mut self, what: String);
}

fn dur<R: Report>(errs: &mut R, v: &Option<Spanned<String>>, key: &str, default: Ms) -> Ms {
    let Some(v) = v else { return default };
    match humantime::parse_duration(v.get_ref().trim()) {
        Ok(d) => d.as_millis() as Ms,
        Err(e) => {
            errs.at_span(
                v.span(),
                key,
                format!(
                    "{:?} is not a duration (e.g. 0s, 30s, 5m, 4h): {e}",
                    v.get_ref()
                ),
            );
            default
        }
    }
}

fn list(v: &Option<Spanned<Vec<String>>>) -> &[String] {
    v.as_ref().map_or(&[], |v| v.get_ref().as_slice())
}

fn span_of(v: &Option<Spanned<Vec<String>>>, or: std::ops::Range<usize>) -> std::ops::Range<usize> {
    v.as_ref().map_or(or, |v| v.span())
}

/// A duration that may be absent (`None`: inherited).
fn opt_dur<R: Report>(errs: &mut R, v: &Option<Spanned<String>>, key: &str) -> Option<Ms> {
    v.as_ref().map(|_| dur(errs, v, key, 0))
}

fn matchers<R: Report>(errs: &mut R, v: &Option<Spanned<Vec<String>>>, key: &str) -> Vec<Matcher> {
    let Some(v) = v else { return Vec::new() };
    let mut out = Vec::new();
    for text in v.get_ref() {
        match Matcher::parse(text) {
            Ok(m) => out.push(m),
            Err(e) => errs.at_span(v.span(), key, e.to_string()),
        }
    }
    out
}

/// A value as written, or read like a secret.
pub fn value(raw: &RawValue, base: &Path) -> Result<String, String> {
    match raw {
        RawValue::Plain(v) => Ok(v.clone()),
        RawValue::Secret(s) => secret(s, base),
    }
}

/// Reads a secret; the error names the variable or file, never the value.
pub fn secret(raw: &RawSecret, base: &Path) -> Result<String, String> {
    match (&raw.env, &raw.file) {
        (Some(var), None) => match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(v),
            _ => Err(format!("environment variable {var} is not set")),
        },
        (None, Some(f)) => {
            let path = base.join(f);
            std::fs::read_to_string(&path)
                .map(|s| s.trim_end_matches(['\n', '\r']).to_string())
                .map_err(|e| format!("{}: {e}", path.display()))
        }
        _ => Err("give exactly one of env = \"VAR\" or file = \"PATH\"".into()),
    }
}

/// The 5xx codes a ratio rule counts (empty: all of them), sorted.
fn codes<R: Report>(errs: &mut R, r: &RawRule, key: &str) -> Vec<u16> {
    let Some(v) = &r.codes else {
        return Vec::new();
    };
    if r.on.get_ref() != "ratio" {
        errs.at_span(v.span(), key, "only ratio rules take codes".into());
        return Vec::new();
    }
    if v.get_ref().is_empty() {
        let what = "an empty list: leave codes out to count every 5xx";
        errs.at_span(v.span(), key, what.into());
    }
    let mut out = Vec::new();
    for &c in v.get_ref() {
        match u16::try_from(c) {
            Ok(c) if (500..600).contains(&c) => out.push(c),
            _ => errs.at_span(
                v.span(),
                key,
                format!("{c} is not a 5xx status: a ratio counts 5xx answers (500 to 599)"),
            ),
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

fn rule<R: Report>(errs: &mut R, r: &RawRule, i: usize) -> Option<Rule> {
    let key = |k: &str| format!("rule[{i}].{k}");
    let codes = codes(errs, r, &key("codes"));
    let kind = match r.on.get_ref().as_str() {
        "incident" => RuleKind::Incident {
            causes: r.causes.clone(),
            categories: r.categories.clone(),
            scope: matchers(errs, &r.scope, &key("scope")),
            min_errors: r.min_errors.unwrap_or(1),
        },
        "ratio" => {
            let by = match r.by.as_ref() {
                None => Scope::All,
                Some(b) => Scope::parse(b.get_ref()).unwrap_or_else(|| {
                    errs.at_span(
                        b.span(),
                        &key("by"),
                        format!("{:?}: all, host, route or upstream", b.get_ref()),
                    );
                    Scope::All
                }),
            };
            let threshold = match &r.threshold {
                Some(t) if (0.0..=1.0).contains(t.get_ref()) => *t.get_ref(),
                Some(t) => {
                    errs.at_span(
                        t.span(),
                        &key("threshold"),
                        "a share between 0 and 1, e.g. 0.05".into(),
                    );
                    1.0
                }
                None => {
                    errs.at_span(
                        r.on.span(),
                        &key("threshold"),
                        "a ratio rule needs a threshold (e.g. 0.05)".into(),
                    );
                    1.0
                }
            };
            RuleKind::Ratio {
                by,
                threshold,
                min_requests: r.min_requests.unwrap_or(100),
                window_ms: dur(errs, &r.window, &key("window"), 5 * 60_000),
                scope: matchers(errs, &r.scope, &key("scope")),
                codes,
            }
        }
        "degraded_upstream" => RuleKind::DegradedUpstream {
            scope: matchers(errs, &r.scope, &key("scope")),
        },
        "input_silent" => RuleKind::InputSilent {
            after_ms: dur(errs, &r.after, &key("after"), 5 * 60_000),
            inputs: matchers(errs, &r.inputs, &key("inputs")),
        },
        "parse_health" => RuleKind::ParseHealth {
            threshold: r.threshold.as_ref().map_or(0.1, |t| *t.get_ref()),
            min_lines: r.min_lines.unwrap_or(100),
            window_ms: dur(errs, &r.window, &key("window"), 5 * 60_000),
            inputs: matchers(errs, &r.inputs, &key("inputs")),
        },
        other => {
            errs.at_span(
                r.on.span(),
                &key("on"),
                format!(
                    "{other:?}: incident, ratio, degraded_upstream, input_silent or parse_health"
                ),
            );
            return None;
        }
    };
    let default_severity = if matches!(kind, RuleKind::Incident { .. }) {
        "page"
    } else {
        "warning"
    };
    Some(Rule {
        name: r.name.get_ref().clone(),
        for_ms: dur(errs, &r.for_, &key("for"), 0),
        keep_firing_ms: dur(errs, &r.keep_firing_for, &key("keep_firing_for"), 0),
        severity: r
            .severity
            .clone()
            .unwrap_or_else(|| default_severity.into()),
        labels: r.labels.clone().into_iter().collect::<Labels>(),
        kind,
    })
}

/// The rule used when the config names none: every incident pages.
pub(super) fn default_rules() -> Vec<Rule> {
    vec![Rule {
        name: "incident".into(),
        kind: RuleKind::Incident {
            causes: vec![],
            categories: vec![],
            scope: vec![],
            min_errors: 1,
        },
        for_ms: 0,
        keep_firing_ms: 0,
        severity: "page".into(),
        labels: Labels::new(),
    }]
}

fn route<R: Report>(errs: &mut R, r: &RawRoute, path: &str) -> RouteConfig {
    let key = |k: &str| format!("{path}.{k}");
    RouteConfig {
        receiver: r.receiver.as_ref().map(|v| v.get_ref().clone()),
        matchers: matchers(errs, &r.matchers, &key("matchers")),
        continue_: r.continue_,
        group_by: r.group_by.clone(),
        group_wait: opt_dur(errs, &r.group_wait, &key("group_wait")),
        group_interval: opt_dur(errs, &r.group_interval, &key("group_interval")),
        repeat_interval: opt_dur(errs, &r.repeat_interval, &key("repeat_interval")),
        routes: r
            .routes
            .iter()
            .enumerate()
            .map(|(i, c)| route(errs, c, &format!("{path}.routes[{i}]")))
            .collect(),
    }
}

fn weekday(s: &str) -> Option<jiff::civil::Weekday> {
    use jiff::civil::Weekday::*;
    Some(match s.to_ascii_lowercase().get(..3)? {
        "mon" => Monday,
        "tue" => Tuesday,
        "wed" => Wednesday,
        "thu" => Thursday,
        "fri" => Friday,
        "sat" => Saturday,
        "sun" => Sunday,
        _ => return None,
    })
}

fn maintenance<R: Report>(errs: &mut R, m: &RawMaintenance, i: usize) -> Option<Window> {
    let key = |k: &str| format!("maintenance[{i}].{k}");
    let matchers = matchers(errs, &m.matchers, &key("matchers"));
    let ts =
        |errs: &mut R, v: &Spanned<String>, k: &str| match v.get_ref().parse::<jiff::Timestamp>() {
            Ok(t) => Some(t.as_millisecond()),
            Err(e) => {
                errs.at_span(
                    v.span(),
                    &key(k),
                    format!("{:?}: not an RFC 3339 time: {e}", v.get_ref()),
                );
                None
            }
        };
    let schedule = match (&m.from, &m.to, &m.start) {
        (Some(f), Some(t), None) => Schedule::Once {
            from: ts(errs, f, "from")?,
            to: ts(errs, t, "to")?,
        },
        (None, None, Some(start)) => {
            let Ok(start_t) = start.get_ref().parse::<jiff::civil::Time>() else {
                errs.at_span(
                    start.span(),
                    &key("start"),
                    format!("{:?}: a local time like 23:30", start.get_ref()),
                );
                return None;
            };
            let tz = match &m.tz {
                None => jiff::tz::TimeZone::UTC,
                Some(z) => match jiff::tz::TimeZone::get(z.get_ref()) {
                    Ok(tz) => tz,
                    Err(e) => {
                        errs.at_span(z.span(), &key("tz"), format!("{:?}: {e}", z.get_ref()));
                        return None;
                    }
                },
            };
            let mut days = Vec::new();
            for d in list(&m.days) {
                match weekday(d) {
                    Some(w) => days.push(w),
                    None => errs.at_span(
                        span_of(&m.days, m.name.span()),
                        &key("days"),
                        format!("{d:?}: mon, tue, wed, thu, fri, sat or sun"),
                    ),
                }
            }
            let Some(duration) = &m.duration else {
                errs.at_span(
                    start.span(),
                    &key("duration"),
                    "a recurring window needs a duration".into(),
                );
                return None;
            };
            let duration_ms = dur(errs, &m.duration, &key("duration"), 0);
            if !(1..=7 * 86_400_000).contains(&duration_ms) {
                errs.at_span(
                    duration.span(),
                    &key("duration"),
                    "between 1s and 7d".into(),
                );
            }
            Schedule::Weekly {
                tz,
                days,
                start: start_t,
                duration_ms,
            }
        }
        _ => {
            errs.at_span(
                m.name.span(),
                &format!("maintenance[{i}]"),
                "give either from and to (once) or start and duration (recurring, with optional days and tz)".into(),
            );
            return None;
        }
    };
    Some(Window {
        name: m.name.get_ref().clone(),
        matchers,
        schedule,
    })
}

/// The raw tables alerting reads from the config file.
#[derive(Debug, Default)]
pub struct RawTables<'a> {
    pub alerting: Option<&'a RawAlerting>,
    pub rules: &'a [RawRule],
    pub route: Option<&'a Spanned<RawRoute>>,
    pub receivers: &'a [RawReceiver],
    pub inhibit: &'a [RawInhibit],
    pub maintenance: &'a [RawMaintenance],
}

/// Validates the alerting tables. `listen` gives the default external URL; `base` is the
/// config file's folder (secret and CA files are relative to it).
pub fn plan<R: Report>(errs: &mut R, raw: &RawTables<'_>, listen: &str, base: &Path) -> AlertPlan {
    let a = raw.alerting;
    let mut rules: Vec<Rule> = raw
        .rules
        .iter()
        .enumerate()
        .filter_map(|(i, r)| rule(errs, r, i))
        .collect();
    let mut names = std::collections::BTreeSet::new();
    for (i, r) in raw.rules.iter().enumerate() {
        if !names.insert(r.name.get_ref().clone()) {
            errs.at_span(
                r.name.span(),
                &format!("rule[{i}].name"),
                format!("{:?} is used twice", r.name.get_ref()),
            );
        }
    }
    if raw.rules.is_empty() {
        rules = default_rules();
    }
    let receivers: Vec<Receiver> = raw
        .receivers
        .iter()
        .enumerate()
        .filter_map(|(i, r)| receiver::receiver(errs, r, i, base))
        .collect();
    let route = route_plan(errs, raw, &receivers);
    let inhibit = raw
        .inhibit
        .iter()
        .enumerate()
        .map(|(i, r)| InhibitRule {
            source: matchers(
                errs,
                &Some(r.source.clone()),
                &format!("inhibit[{i}].source"),
            ),
            target: matchers(
                errs,
                &Some(r.target.clone()),
                &format!("inhibit[{i}].target"),
            ),
            equal: r.equal.clone(),
        })
        .collect();
    let windows = raw
        .maintenance
        .iter()
        .enumerate()
        .filter_map(|(i, m)| maintenance(errs, m, i))
        .collect();
    let external_url = a.and_then(|a| a.external_url.as_ref()).map_or_else(
        || format!("http://{listen}"),
        |u| u.get_ref().trim_end_matches('/').to_string(),
    );
    let admin_token = a.and_then(|a| a.admin_token.as_ref()).and_then(|t| {
        secret(t.get_ref(), base)
            .map_err(|e| errs.at_span(t.span(), "alerting.admin_token", e))
            .ok()
    });
    AlertPlan {
        rules,
        route,
        receivers,
        inhibit,
        windows,
        external_url,
        admin_token,
        max_age_ms: dur(
            errs,
            &a.and_then(|a| a.max_age.clone()),
            "alerting.max_age",
            DEFAULT_MAX_AGE_MS,
        ),
        history_ms: dur(
            errs,
            &a.and_then(|a| a.history.clone()),
            "alerting.history",
            DEFAULT_HISTORY_MS,
        ),
    }
}

fn route_plan<R: Report>(
    errs: &mut R,
    raw: &RawTables<'_>,
    receivers: &[Receiver],
) -> Option<Route> {
    let mut seen = std::collections::BTreeSet::new();
    for (i, r) in raw.receivers.iter().enumerate() {
        if !seen.insert(r.name.get_ref().as_str()) {
            errs.at_span(
                r.name.span(),
                &format!("receiver[{i}].name"),
                format!("{:?} is used twice", r.name.get_ref()),
            );
        }
    }
    let cfg = match raw.route {
        Some(r) => route(errs, r.get_ref(), "route"),
        // One receiver and no tree: everything goes to it.
        None if receivers.len() == 1 => RouteConfig {
            receiver: Some(receivers[0].name.clone()),
            ..RouteConfig::default()
        },
        None if receivers.is_empty() => return None,
        None => {
            errs.plain("route: several receivers need a [route] naming which gets what".into());
            return None;
        }
    };
    let built = match Route::build(&cfg) {
        Ok(r) => r,
        Err(e) => {
            let span = raw.route.map(|r| r.span()).unwrap_or(0..0);
            errs.at_span(span, "route.receiver", e);
            return None;
        }
    };
    for name in built.receivers() {
        if !receivers.iter().any(|r| r.name == name) {
            let span = raw.route.map(|r| r.span()).unwrap_or(0..0);
            errs.at_span(
                span,
                "route",
                format!("receiver {name:?} is not defined by any [[receiver]]"),
            );
        }
    }
    Some(built)
}

/// Where relative secret and CA files are found.
pub fn base_dir(config: &Path) -> PathBuf {
    config.parent().unwrap_or(Path::new(".")).to_path_buf()
}
