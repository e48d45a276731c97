//! The `serve` part of the config file, validated once into a [`ServePlan`]. Every error
//! names the file, the line and the key path (`source[1].kind`), and all are reported at
//! once (`faultline check --config FILE` prints them).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use faultline_formats::{AccessParser, Kind};
use faultline_ingest::StartAt;
use faultline_store::Tier;
use serde::Deserialize;
use toml::Spanned;

use crate::cli::AnalyzeArgs;
use crate::config::{self, Plan};
use crate::serve::alerting::config::{self as alert_config, AlertPlan, RawTables, Report};
use crate::tz::Zone;

/// Defaults, as documented in `examples/faultline.toml`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9790";
pub const DEFAULT_STATE: &str = "faultline.db";
pub const DEFAULT_TICK_MS: u64 = 1000;
pub const DEFAULT_POLL_MS: u64 = 250;
pub const DEFAULT_LATENESS_SECS: i64 = 0;
pub const DEFAULT_FLUSH_MS: u64 = 2000;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawServe {
    pub listen: Option<Spanned<String>>,
    pub state: Option<Spanned<String>>,
    pub tick: Option<Spanned<String>>,
    pub poll: Option<Spanned<String>>,
    pub lateness: Option<Spanned<String>>,
    pub partial_line_flush: Option<Spanned<String>>,
    pub start_at: Option<Spanned<String>>,
    /// Tokens that may read the API (`{ env = … }` or `{ file = … }` each).
    pub read_tokens: Option<Spanned<Vec<alert_config::RawSecret>>>,
    /// A path prefix for the API and dashboard (`/faultline`), behind a reverse proxy.
    pub base_path: Option<Spanned<String>>,
    /// HTTPS: a PEM certificate chain and its key (relative to the config file).
    pub tls_cert: Option<Spanned<String>>,
    pub tls_key: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSource {
    pub paths: Spanned<Vec<String>>,
    pub kind: Option<Spanned<String>>,
    pub log_format: Option<Spanned<String>>,
    pub format: Option<Spanned<String>>,
    pub tz: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTier {
    pub resolution: Spanned<String>,
    pub keep: Spanned<String>,
}

/// One `[[source]]`: the paths and globs it follows and how to read them.
#[derive(Debug, Clone)]
pub struct SourcePlan {
    pub patterns: Vec<String>,
    /// `None`: detected from each file's first lines.
    pub kind: Option<Kind>,
    /// The access-log format, when given.
    pub parser: Option<Arc<AccessParser>>,
    pub zone: Option<Zone>,
}

/// Everything `serve` needs, valid.
#[derive(Debug)]
pub struct ServePlan {
    pub listen: SocketAddr,
    pub state: PathBuf,
    pub tick_ms: u64,
    pub poll_ms: u64,
    pub lateness_secs: i64,
    pub flush_ms: u64,
    pub start_at: StartAt,
    pub tiers: Vec<Tier>,
    pub sources: Vec<SourcePlan>,
    /// The shared options: global formats, filters, routes, signatures.
    pub analysis: Plan,
    pub alerting: AlertPlan,
    /// Tokens that may read the API; empty: reads are open.
    pub read_tokens: Vec<String>,
    /// `""` or `/prefix` without a trailing slash.
    pub base_path: String,
    /// HTTPS, when a certificate is configured.
    pub tls: Option<faultline_serve::Tls>,
    pub user_formats: Vec<AccessParser>,
}

impl ServePlan {
    /// The API's base URL at `addr` (the address bound, which may differ from `listen`).
    pub fn url(&self, addr: std::net::SocketAddr) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{addr}{}/", self.base_path)
    }
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, at: usize) -> usize {
    text[..at.min(text.len())].matches('\n').count() + 1
}

struct Errors<'a> {
    file: &'a Path,
    text: &'a str,
    list: Vec<String>,
}

impl Report for Errors<'_> {
    fn at_span(&mut self, span: std::ops::Range<usize>, key: &str, what: String) {
        let line = line_of(self.text, span.start);
        self.list
            .push(format!("{}:{line}: {key}: {what}", self.file.display()));
    }

    fn plain(&mut self, what: String) {
        self.list.push(format!("{}: {what}", self.file.display()));
    }
}

impl Errors<'_> {
    fn at<T>(&mut self, v: &Spanned<T>, key: &str, what: impl std::fmt::Display) {
        let line = line_of(self.text, v.span().start);
        self.list
            .push(format!("{}:{line}: {key}: {what}", self.file.display()));
    }
}

fn duration_ms(v: &Spanned<String>) -> Result<u64, String> {
    humantime::parse_duration(v.get_ref().trim())
        .map(|d| d.as_millis() as u64)
        .map_err(|e| {
            format!(
                "{:?} is not a duration (e.g. 500ms, 10s, 1m, 30d): {e}",
                v.get_ref()
            )
        })
}

/// Reads and validates the config for `serve`; `Err` holds every error found.
pub fn load(file: &Path) -> Result<ServePlan, Vec<String>> {
    let text =
        std::fs::read_to_string(file).map_err(|e| vec![format!("{}: {e}", file.display())])?;
    let raw: config::RawConfig = toml::from_str(&text).map_err(|e| {
        let line = e.span().map(|s| format!(":{}", line_of(&text, s.start)));
        vec![format!(
            "{}{}: {}",
            file.display(),
            line.unwrap_or_default(),
            e.message()
        )]
    })?;
    let mut errors = Errors {
        file,
        text: &text,
        list: Vec::new(),
    };
    let analysis = config::plan(&AnalyzeArgs::with_config(file.to_path_buf()), 0);
    let analysis = match analysis {
        Ok(p) => Some(p),
        Err(list) => {
            errors
                .list
                .extend(list.into_iter().map(|e| format!("{}: {e}", file.display())));
            None
        }
    };
    let user_formats = match &analysis {
        Some(p) => crate::analyze::user_formats(
            &p.log_formats,
            p.format.as_deref(),
            p.json_fields.as_deref(),
        )
        .map_err(|f| {
            errors
                .list
                .push(format!("{}: {}", file.display(), f.message))
        })
        .unwrap_or_default(),
        None => Vec::new(),
    };
    let s = &raw.serve;
    let mut ms = |v: &Option<Spanned<String>>, key: &str, default: u64, min: u64| match v {
        None => default,
        Some(v) => match duration_ms(v) {
            Ok(n) if n >= min => n,
            Ok(_) => {
                errors.at(v, key, format!("must be at least {min} ms"));
                default
            }
            Err(e) => {
                errors.at(v, key, e);
                default
            }
        },
    };
    let tick_ms = ms(&s.tick, "serve.tick", DEFAULT_TICK_MS, 10);
    let poll_ms = ms(&s.poll, "serve.poll", DEFAULT_POLL_MS, 10);
    let lateness_ms = ms(
        &s.lateness,
        "serve.lateness",
        DEFAULT_LATENESS_SECS as u64 * 1000,
        0,
    );
    let flush_ms = ms(
        &s.partial_line_flush,
        "serve.partial_line_flush",
        DEFAULT_FLUSH_MS,
        0,
    );
    let listen: SocketAddr = match &s.listen {
        None => DEFAULT_LISTEN.parse().expect("a valid default"),
        Some(v) => v.get_ref().parse().unwrap_or_else(|e| {
            errors.at(
                v,
                "serve.listen",
                format!("{:?}: {e} (e.g. 127.0.0.1:9790)", v.get_ref()),
            );
            DEFAULT_LISTEN.parse().expect("a valid default")
        }),
    };
    let state = match &s.state {
        None => PathBuf::from(DEFAULT_STATE),
        Some(v) if v.get_ref().trim().is_empty() => {
            errors.at(v, "serve.state", "an empty path");
            PathBuf::from(DEFAULT_STATE)
        }
        // Relative to the config file, so the daemon does not depend on its working directory.
        Some(v) => file.parent().unwrap_or(Path::new(".")).join(v.get_ref()),
    };
    let start_at = match s.start_at.as_ref().map(|v| (v, v.get_ref().as_str())) {
        None | Some((_, "end")) => StartAt::End,
        Some((_, "beginning")) => StartAt::Beginning,
        Some((v, other)) => {
            errors.at(
                v,
                "serve.start_at",
                format!("{other:?}: \"end\" or \"beginning\""),
            );
            StartAt::End
        }
    };
    let tiers = tiers(&raw.retention, &mut errors);
    let sources = sources(&raw.source, &mut errors);
    if raw.source.is_empty() {
        errors.list.push(format!(
            "{}: source: no [[source]] table: name the logs to follow, e.g. [[source]] paths = [\"/var/log/nginx/access.log\"]",
            file.display()
        ));
    }
    let alerting = alert_config::plan(
        &mut errors,
        &RawTables {
            alerting: raw.alerting.as_ref(),
            rules: &raw.rule,
            route: raw.route.as_ref(),
            receivers: &raw.receiver,
            inhibit: &raw.inhibit,
            maintenance: &raw.maintenance,
        },
        &listen.to_string(),
        &alert_config::base_dir(file),
    );
    let mut read_tokens = Vec::new();
    if let Some(list) = &s.read_tokens {
        for (i, t) in list.get_ref().iter().enumerate() {
            match alert_config::secret(t, &alert_config::base_dir(file)) {
                Ok(v) => read_tokens.push(v),
                Err(e) => errors.at(list, &format!("serve.read_tokens[{i}]"), e),
            }
        }
    }
    let base_path = match &s.base_path {
        None => String::new(),
        Some(v) => {
            let p = v.get_ref().trim_end_matches('/');
            let ok = p.is_empty()
                || (p.starts_with('/')
                    && p[1..].split('/').all(|seg| {
                        !seg.is_empty()
                            && seg
                                .chars()
                                .all(|c| c.is_ascii_alphanumeric() || "-_.~".contains(c))
                    }));
            if !ok {
                errors.at(
                    v,
                    "serve.base_path",
                    format!("{:?}: a path like /faultline", v.get_ref()),
                );
            }
            p.to_string()
        }
    };
    let tls = match (&s.tls_cert, &s.tls_key) {
        (None, None) => None,
        (Some(c), Some(k)) => {
            let base = alert_config::base_dir(file);
            match faultline_serve::Tls::from_pem_files(
                &base.join(c.get_ref()),
                &base.join(k.get_ref()),
            ) {
                Ok(t) => Some(t),
                Err(e) => {
                    errors.at(c, "serve.tls_cert", e);
                    None
                }
            }
        }
        (Some(v), None) | (None, Some(v)) => {
            errors.at(v, "serve.tls_cert", "give both tls_cert and tls_key");
            None
        }
    };
    match (errors.list.is_empty(), analysis) {
        (true, Some(analysis)) => Ok(ServePlan {
            listen,
            state,
            tick_ms,
            poll_ms,
            lateness_secs: (lateness_ms / 1000) as i64,
            flush_ms,
            start_at,
            tiers,
            sources,
            analysis,
            alerting,
            read_tokens,
            base_path,
            tls,
            user_formats,
        }),
        _ => Err(errors.list),
    }
}

fn tiers(raw: &[RawTier], errors: &mut Errors<'_>) -> Vec<Tier> {
    if raw.is_empty() {
        return vec![
            Tier {
                res_secs: 10,
                keep_secs: 86_400,
            },
            Tier {
                res_secs: 60,
                keep_secs: 30 * 86_400,
            },
        ];
    }
    let mut out: Vec<Tier> = Vec::new();
    for (i, t) in raw.iter().enumerate() {
        let res = duration_ms(&t.resolution).map(|ms| (ms / 1000) as i64);
        let keep = duration_ms(&t.keep).map(|ms| (ms / 1000) as i64);
        match (res, keep) {
            (Ok(r), Ok(k)) if r >= 1 && k >= r => {
                if let Some(prev) = out.last() {
                    if r <= prev.res_secs || r % prev.res_secs != 0 {
                        errors.at(
                            &t.resolution,
                            &format!("retention[{i}].resolution"),
                            format!("{r} s: each tier must be coarser than the one before and a multiple of it ({} s)", prev.res_secs),
                        );
                    }
                }
                out.push(Tier {
                    res_secs: r,
                    keep_secs: k,
                });
            }
            (Ok(_), Ok(_)) => errors.at(
                &t.keep,
                &format!("retention[{i}]"),
                "resolution must be at least 1s and keep at least the resolution",
            ),
            (Err(e), _) => errors.at(&t.resolution, &format!("retention[{i}].resolution"), e),
            (_, Err(e)) => errors.at(&t.keep, &format!("retention[{i}].keep"), e),
        }
    }
    out
}

fn sources(raw: &[RawSource], errors: &mut Errors<'_>) -> Vec<SourcePlan> {
    let mut out = Vec::new();
    for (i, src) in raw.iter().enumerate() {
        let key = |k: &str| format!("source[{i}].{k}");
        if src.paths.get_ref().is_empty() {
            errors.at(&src.paths, &key("paths"), "no path or glob");
        }
        for p in src.paths.get_ref() {
            if let Err(e) = glob::Pattern::new(p) {
                errors.at(&src.paths, &key("paths"), format!("{p:?}: {e}"));
            }
        }
        let kind = match src.kind.as_ref().map(|k| (k, k.get_ref().as_str())) {
            None => None,
            Some((_, "access")) => Some(Kind::Access),
            Some((_, "error")) => Some(Kind::Error),
            Some((_, "app")) => Some(Kind::App),
            Some((v, other)) => {
                errors.at(
                    v,
                    &key("kind"),
                    format!("{other:?}: \"access\", \"error\" or \"app\""),
                );
                None
            }
        };
        let parser = src.log_format.as_ref().and_then(|f| {
            let dialect = src.format.as_ref().map(|d| d.get_ref().as_str());
            match crate::analyze::user_formats(&[f.get_ref().clone()], dialect, None) {
                Ok(mut v) => v.pop().map(Arc::new),
                Err(e) => {
                    errors.at(f, &key("log_format"), e.message);
                    None
                }
            }
        });
        if parser.is_some() && kind.is_some_and(|k| k != Kind::Access) {
            if let Some(k) = &src.kind {
                errors.at(k, &key("kind"), "a log_format is for access logs");
            }
        }
        let zone = src
            .tz
            .as_ref()
            .and_then(|z| match Zone::parse(z.get_ref()) {
                Ok(zone) => Some(zone),
                Err(e) => {
                    errors.at(z, &key("tz"), format!("{e:#}"));
                    None
                }
            });
        out.push(SourcePlan {
            patterns: src.paths.get_ref().clone(),
            kind,
            parser,
            zone,
        });
    }
    out
}
