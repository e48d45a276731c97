//! The config file (`--config FILE`, TOML) and the options of `analyze`, validated once into a
//! plan (DESIGN §9: raw structs mirror the file; every error is reported with its key).
//!
//! ```toml
//! [input]
//! log_format = ['$remote_addr - $remote_user [$time_local] "$request" $status …']
//! json_fields = "status=resp.code,time=ts,path=req.path,request_time=latency_ms:ms"
//! tz = "Europe/Berlin"
//!
//! [filters]
//! since = "2024-03-12T08:00:00Z"      # or "2h" (before now), "2024-03-12 08:00"
//! until = "2024-03-12T10:00:00Z"
//! hosts = ["api.example.com", "*.shop.example.com"]
//! routes = ["/api/*"]
//! status = ["5xx", "429"]              # the totals and tables; incidents see every response
//! exclude_paths = ["^/healthz$", "^/metrics"]
//! exclude_user_agents = ["kube-probe", "ELB-HealthChecker"]
//!
//! [routes]
//! patterns = ["/shop/{slug}", "/static/**"]
//!
//! [[signature]]                        # added to the catalog, or overriding an entry by id
//! id = "acme.payments_down"
//! pattern = 'payment gateway unavailable'
//! cause = "dependency_failure"
//! codes = [500]
//! priority = 20
//! ```

use std::path::Path;

use anyhow::Result;
use faultline_aggregate::{Filter, Glob, Options, RoutePatterns, StatusSet};
use regex::bytes::RegexSet;
use serde::Deserialize;

use crate::cli::AnalyzeArgs;
use crate::tz::Zone;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub input: RawInput,
    #[serde(default)]
    pub filters: RawFilters,
    #[serde(default)]
    pub routes: RawRoutes,
    /// Signatures added to the built-in catalog, or overriding entries of it by `id`.
    #[serde(default)]
    pub signature: Vec<faultline_diagnose::RawSignature>,
    /// `serve`: the daemon's settings.
    #[serde(default)]
    pub serve: crate::serve::config::RawServe,
    /// `serve`: the files to follow.
    #[serde(default)]
    pub source: Vec<crate::serve::config::RawSource>,
    /// `serve`: how long rollups are kept at each resolution.
    #[serde(default)]
    pub retention: Vec<crate::serve::config::RawTier>,
    /// `serve`: alerting settings, rules, routing, receivers and mutes.
    pub alerting: Option<crate::serve::alerting::config::RawAlerting>,
    #[serde(default)]
    pub rule: Vec<crate::serve::alerting::config::RawRule>,
    pub route: Option<toml::Spanned<crate::serve::alerting::config::RawRoute>>,
    #[serde(default)]
    pub receiver: Vec<crate::serve::alerting::config::RawReceiver>,
    #[serde(default)]
    pub inhibit: Vec<crate::serve::alerting::config::RawInhibit>,
    #[serde(default)]
    pub maintenance: Vec<crate::serve::alerting::config::RawMaintenance>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInput {
    #[serde(default)]
    pub log_format: Vec<String>,
    pub format: Option<String>,
    pub tz: Option<String>,
    /// Which JSON key fills which field: `status=resp.code,time=ts,request_time=latency:ms`.
    pub json_fields: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFilters {
    pub since: Option<String>,
    pub until: Option<String>,
    #[serde(default)]
    pub hosts: Vec<String>,
    #[serde(default)]
    pub routes: Vec<String>,
    #[serde(default)]
    pub status: Vec<String>,
    #[serde(default)]
    pub exclude_paths: Vec<String>,
    #[serde(default)]
    pub exclude_user_agents: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoutes {
    #[serde(default)]
    pub patterns: Vec<String>,
}

/// Reads and parses a config file; the error names the file, line and key.
pub fn load(path: &Path) -> Result<RawConfig, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// The validated options of one `analyze` run.
#[derive(Debug)]
pub struct Plan {
    pub log_formats: Vec<String>,
    pub format: Option<String>,
    pub json_fields: Option<String>,
    pub zone: Option<Zone>,
    pub options: Options,
    /// What the filters do, for the report's assumptions.
    pub notes: Vec<String>,
    /// The user's `[[signature]]` entries (checked); the catalog is compiled only when an
    /// error or application log is read ([`Plan::catalog`]).
    pub signatures: Vec<faultline_diagnose::RawSignature>,
}

impl Plan {
    /// The signature catalog with the user's entries (checked when the plan was made).
    pub fn catalog(&self) -> faultline_diagnose::Catalog {
        faultline_diagnose::Catalog::with_overrides(self.signatures.clone())
            .unwrap_or_else(|_| faultline_diagnose::Catalog::builtin())
    }
}

/// Merges the config file (if any) with the command line (lists add up; a scalar on the
/// command line wins) and validates everything, collecting every error with its key.
pub fn plan(args: &AnalyzeArgs, now_secs: i64) -> Result<Plan, Vec<String>> {
    let raw = match &args.config {
        Some(p) => load(p).map_err(|e| vec![e])?,
        None => RawConfig::default(),
    };
    let mut errors = Vec::new();
    let mut notes = Vec::new();
    let cat = |a: &[String], b: &[String]| -> Vec<(String, String)> {
        a.iter()
            .map(|v| ("command line".to_string(), v.clone()))
            .chain(b.iter().map(|v| ("config".into(), v.clone())))
            .collect()
    };

    let zone_text = args.tz.clone().or(raw.input.tz.clone());
    let zone = match zone_text.as_deref().map(Zone::parse) {
        Some(Ok(z)) => Some(z),
        Some(Err(e)) => {
            errors.push(format!("input.tz / --tz: {e:#}"));
            None
        }
        None => None,
    };

    let mut filter = Filter::default();
    let since = args.since.clone().or(raw.filters.since.clone());
    let until = args.until.clone().or(raw.filters.until.clone());
    for (key, text, slot) in [
        ("since", since, &mut filter.since),
        ("until", until, &mut filter.until),
    ] {
        if let Some(t) = text {
            match crate::when::parse(&t, now_secs, zone.as_ref()) {
                Ok(secs) => {
                    *slot = Some(secs);
                    notes.push(format!(
                        "only lines {} {}",
                        if key == "since" {
                            "at or after"
                        } else {
                            "before"
                        },
                        faultline_model::format_rfc3339(secs, 0)
                    ));
                }
                Err(e) => errors.push(format!("filters.{key} / --{key} {t:?}: {e}")),
            }
        }
    }
    if let (Some(s), Some(u)) = (filter.since, filter.until) {
        if s >= u {
            errors.push("filters.since must be before filters.until".into());
        }
    }
    filter.hosts = cat(&args.host, &raw.filters.hosts)
        .iter()
        .map(|(_, h)| Glob::new(h))
        .collect();
    filter.routes = cat(&args.route, &raw.filters.routes)
        .iter()
        .map(|(_, r)| Glob::new(r))
        .collect();
    let mut ranges = Vec::new();
    for (i, (from, item)) in cat(&args.status, &raw.filters.status).iter().enumerate() {
        for part in item.split(',').filter(|p| !p.trim().is_empty()) {
            match StatusSet::parse_item(part) {
                Some(r) => ranges.push(r),
                None => errors.push(format!(
                    "filters.status[{i}] ({from}) {part:?}: expected a code (502), a class (5xx) or a range (500-504)"
                )),
            }
        }
    }
    if !ranges.is_empty() {
        notes.push("the totals and tables count only the statuses asked for; incidents are found over every response".into());
        filter.statuses = Some(StatusSet::new(ranges));
    }
    filter.exclude_paths = regex_set(
        "filters.exclude_paths",
        &cat(&args.exclude_path, &raw.filters.exclude_paths),
        &mut errors,
    );
    filter.exclude_user_agents = regex_set(
        "filters.exclude_user_agents",
        &cat(&args.exclude_ua, &raw.filters.exclude_user_agents),
        &mut errors,
    );
    if !filter.hosts.is_empty() || !filter.routes.is_empty() {
        notes.push(
            "only the hosts and routes asked for are counted and searched for incidents".into(),
        );
    }
    if filter.exclude_paths.is_some() || filter.exclude_user_agents.is_some() {
        notes.push("lines whose path or user agent matches an exclude pattern are left out".into());
    }

    let patterns: Vec<String> = cat(&args.route_pattern, &raw.routes.patterns)
        .into_iter()
        .map(|(_, p)| p)
        .collect();
    let patterns = RoutePatterns::new(&patterns).unwrap_or_else(|e| {
        errors.push(format!("routes.patterns / --route-pattern: {e}"));
        RoutePatterns::default()
    });

    let mut log_formats = args.log_format.clone();
    log_formats.extend(raw.input.log_format.iter().cloned());
    let format = args
        .format
        .map(|f| f.name().to_string())
        .or(raw.input.format.clone());

    if let Err(es) = faultline_diagnose::Catalog::validate_user(&raw.signature) {
        errors.extend(es.into_iter().map(|e| format!("[[signature]] {e}")));
    }

    if errors.is_empty() {
        Ok(Plan {
            signatures: raw.signature,
            log_formats,
            format,
            json_fields: args.json_fields.clone().or(raw.input.json_fields.clone()),
            zone,
            options: Options { filter, patterns },
            notes,
        })
    } else {
        Err(errors)
    }
}

fn regex_set(key: &str, items: &[(String, String)], errors: &mut Vec<String>) -> Option<RegexSet> {
    if items.is_empty() {
        return None;
    }
    let mut ok = true;
    for (i, (from, r)) in items.iter().enumerate() {
        if let Err(e) = regex::bytes::Regex::new(r) {
            errors.push(format!("{key}[{i}] ({from}) {r:?}: {e}"));
            ok = false;
        }
    }
    if !ok {
        return None;
    }
    RegexSet::new(items.iter().map(|(_, r)| r))
        .map_err(|e| errors.push(format!("{key}: {e}")))
        .ok()
}
