//! `faultline analyze`: read logs once, report.

use std::io::{IsTerminal, Write};
use std::sync::Arc;

use anyhow::{Context, Result};
use faultline_aggregate::Limits;
use faultline_detect::Config;
use faultline_diagnose::{Correlator, LogEvidence};
use faultline_formats::{AccessParser, JsonMapping, Kind};

use crate::logread::{Clock, LogReader};
use crate::logs::{Groups, LogContext};

/// Seconds an error- or app-log event may lie outside an incident's first and last 5xx line
/// and still be joined to it by time: proxies log the error when it happens and the access
/// line when the response ends (Apache stamps it with the time the request arrived).
const JOIN_TOLERANCE_SECS: i64 = 5;
/// An error group first seen later than this after the window's start is `new`.
const NEW_GROUP_SETTLE_SECS: i64 = 60;
use faultline_model::{format_rfc3339, EventTime};

use crate::cli::{AnalyzeArgs, FailOn, Output};
use crate::config::{self, Plan};
use crate::engine::{Engine, InputStats};
use crate::inputs::{self, Opened};
use crate::pipeline::{self, Feed};
use crate::report::{self, InputReport, MalformedSample, Report, Window};
use crate::terminal;
use crate::tz::{format_offset, Zone};

/// Exit statuses of the contract.
pub const EXIT_INCIDENT: u8 = 1;
pub const EXIT_UNUSABLE: u8 = 2;

/// A failure that ends the run with a message and a status.
#[derive(Debug)]
pub struct Fatal {
    pub message: String,
    pub status: u8,
}

/// Compiles the `--log-format` strings: presets by name, else a format of `dialect` (nginx
/// `log_format`, Apache `LogFormat`), inferred from the string when no dialect is given;
/// plus a JSON parser when a JSON field mapping was given.
pub fn user_formats(
    formats: &[String],
    dialect: Option<&str>,
    json_fields: Option<&str>,
) -> Result<Vec<AccessParser>, Fatal> {
    let fatal = |what: String| Fatal {
        message: what,
        status: EXIT_UNUSABLE,
    };
    let mut out = Vec::new();
    for s in formats {
        let t = s.trim();
        let parsed = if AccessParser::presets().contains(&t) {
            AccessParser::preset(t)
        } else {
            match dialect {
                None => AccessParser::guess(t),
                Some("nginx") => AccessParser::nginx(t),
                Some("apache") => AccessParser::apache(t),
                Some(other) => {
                    return Err(fatal(format!(
                        "--format {other}: --log-format strings are nginx or apache formats (JSON lines take --json-fields)"
                    )))
                }
            }
        };
        out.push(parsed.map_err(|e| fatal(format!("--log-format {s:?}: {e}")))?);
    }
    if json_fields.is_some() || dialect == Some("json") {
        let mapping = match json_fields {
            Some(spec) => {
                JsonMapping::parse_spec(spec).map_err(|e| fatal(format!("--json-fields: {e}")))?
            }
            None => JsonMapping::default(),
        };
        out.push(AccessParser::json(&mapping).map_err(|e| fatal(format!("--json-fields: {e}")))?);
    }
    Ok(out)
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Validates the options (config file and command line) and analyses the inputs.
pub fn analyze_args(args: &AnalyzeArgs) -> Result<Report, Fatal> {
    let plan = config::plan(args, now_secs()).map_err(|errors| Fatal {
        message: format!("invalid options:\n  {}", errors.join("\n  ")),
        status: EXIT_UNUSABLE,
    })?;
    let user = user_formats(
        &plan.log_formats,
        plan.format.as_deref(),
        plan.json_fields.as_deref(),
    )?;
    analyze(args, &plan, &user)
}

pub fn run(args: &AnalyzeArgs) -> Result<u8, Fatal> {
    let report = analyze_args(args)?;
    let rendered = match args.output {
        Output::Json => {
            serde_json::to_string_pretty(&report).expect("the report serialises") + "\n"
        }
        Output::Html => crate::html::render(&report),
        Output::Markdown => crate::markdown::render(&report),
        Output::Terminal => {
            let color = args.out.is_none()
                && std::io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
            terminal::render(&report, color)
        }
    };
    write_out(args, &rendered).map_err(|e| Fatal {
        message: format!("{e:#}"),
        status: EXIT_UNUSABLE,
    })?;
    let failed = args.fail_on == Some(FailOn::Incident) && !report.incidents.is_empty();
    Ok(if failed { EXIT_INCIDENT } else { 0 })
}

fn write_out(args: &AnalyzeArgs, text: &str) -> Result<()> {
    match &args.out {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
        }
        None => {
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => other.context("cannot write to stdout"),
            }
        }
    }
}

enum Slot {
    Opened(Box<Opened>),
    Failed(String),
}

pub fn analyze(args: &AnalyzeArgs, plan: &Plan, user: &[AccessParser]) -> Result<Report, Fatal> {
    let zone = plan.zone.as_ref();
    let options = Arc::new(plan.options.clone());
    let specs = inputs::expand(&args.files);
    let stdin_uses = specs.iter().filter(|s| s.path.is_none()).count();
    if stdin_uses > 1 {
        return Err(Fatal {
            message: "`-` (stdin) can be named only once".into(),
            status: EXIT_UNUSABLE,
        });
    }
    if let Some(out) = &args.out {
        let out_real = std::fs::canonicalize(out).ok();
        if specs.iter().any(|s| {
            s.path.as_ref().and_then(|p| std::fs::canonicalize(p).ok()) == out_real
                && out_real.is_some()
        }) {
            return Err(Fatal {
                message: format!(
                    "-o {}: that is one of the inputs; refusing to overwrite it",
                    out.display()
                ),
                status: EXIT_UNUSABLE,
            });
        }
    }
    // Names as shown in reports: a file name can hold control characters too.
    let sources: Vec<String> = specs
        .iter()
        .map(|s| report::clean_text(s.display.as_bytes()))
        .collect();
    let mut slots: Vec<Slot> = specs
        .into_iter()
        .map(|spec| match inputs::open(spec, user) {
            Ok(o) => Slot::Opened(Box::new(o)),
            Err(f) => Slot::Failed(f.error),
        })
        .collect();

    let mut access: Vec<usize> = slots
        .iter()
        .enumerate()
        .filter(|(_, s)| matches!(s, Slot::Opened(o) if inputs::is_access(o)))
        .map(|(i, _)| i)
        .collect();
    if access.is_empty() {
        return Err(no_usable_input(&slots, &sources));
    }
    access.sort_by_key(|&i| match &slots[i] {
        Slot::Opened(o) => (o.first_secs.is_none(), o.first_secs.unwrap_or(0), i),
        Slot::Failed(_) => (true, 0, i),
    });

    // Each access log promises nothing older than its first line; other inputs promise nothing.
    let floors: Vec<i64> = slots
        .iter()
        .enumerate()
        .map(|(i, slot)| match slot {
            Slot::Opened(o) if access.contains(&i) => o.first_secs.unwrap_or(i64::MIN),
            _ => i64::MAX,
        })
        .collect();
    let mut engine = Engine::new(Config::default(), floors);
    let mut feeds = Vec::new();
    let mut total_bytes = 0u64;
    let mut all_plain = true;
    for &i in &access {
        let Slot::Opened(o) = std::mem::replace(&mut slots[i], Slot::Failed(String::new())) else {
            continue;
        };
        let o = *o;
        all_plain &= o.compression == faultline_ingest::Compression::None && o.size.is_some();
        total_bytes += o.size.unwrap_or(0);
        let parser = Arc::new(
            o.detection
                .access
                .clone()
                .expect("access inputs have a parser"),
        );
        feeds.push((
            i,
            Feed {
                input: i as u32,
                reader: o.reader,
                head: o.head,
                parser,
            },
            o.detection,
        ));
    }
    let detections: Vec<(usize, faultline_formats::Detection)> =
        feeds.iter().map(|(i, _, d)| (*i, d.clone())).collect();
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let progress = progress_bar(args, all_plain.then_some(total_bytes));
    let callback = progress
        .clone()
        .map(|pb| Box::new(move |n: u64| pb.set_position(n)) as pipeline::Progress);
    let summary = pipeline::run(
        feeds.into_iter().map(|(_, f, _)| f).collect(),
        threads,
        Limits::default(),
        options,
        &mut engine,
        callback,
    );
    if let Some(pb) = progress {
        if let Some(len) = pb.length() {
            pb.set_position(len);
        }
        pb.finish_and_clear();
    }
    let outcome = engine.finish();
    let mut stats = outcome.inputs;

    let access_offset = access
        .iter()
        .find_map(|&i| stats[i].first.map(|t| t.offset))
        .unwrap_or(0);
    let mut assumptions = plan.notes.clone();
    let mut input_reports = Vec::with_capacity(slots.len());
    // Syslog-style app logs write no year: take the access log's.
    let year = outcome.window.map(|w| {
        faultline_model::civil_from_days((w.0.secs + w.0.offset as i64).div_euclid(86_400)).0 as i32
    });
    // The catalog is compiled only when there is an error or application log to match.
    let catalog = if slots.iter().any(|s| matches!(s, Slot::Opened(_))) {
        plan.catalog()
    } else {
        faultline_diagnose::Catalog::empty()
    };
    let mut ctx = LogContext {
        catalog: &catalog,
        patterns: &plan.options.patterns,
        correlator: Correlator::new(&outcome.incidents, &outcome.degraded, JOIN_TOLERANCE_SECS),
        groups: Groups::default(),
        tap: None,
    };
    for (i, slot) in slots.into_iter().enumerate() {
        let det = detections.iter().find(|(j, _)| *j == i).map(|(_, d)| d);
        let rep = match (slot, det) {
            (_, Some(d)) => access_report(&sources[i], d, &stats[i]),
            (Slot::Opened(o), None) => {
                let o = *o;
                let (rep, assumption) = other_report(
                    o,
                    i as u32,
                    year,
                    zone,
                    &outcome.offsets,
                    &mut stats[i],
                    &mut ctx,
                );
                if let Some(a) = assumption {
                    if !assumptions.contains(&a) {
                        assumptions.push(a);
                    }
                }
                rep
            }
            (Slot::Failed(e), None) => failed_report(&sources[i], e),
        };
        input_reports.push(rep);
    }
    if summary.routes_folded {
        assumptions.push(format!(
            "more than {} distinct routes: the rest are counted under the route \"other\"",
            Limits::default().routes
        ));
    }

    // The window: accepted access-log times, widened by error-log times.
    let mut first = outcome.window.map(|w| w.0);
    let mut last = outcome.window.map(|w| w.1);
    for (i, st) in stats.iter().enumerate() {
        if access.contains(&i) {
            continue;
        }
        if let Some(f) = st.first.filter(|f| first.is_none_or(|x| f.secs < x.secs)) {
            first = Some(f);
        }
        if let Some(l) = st.last.filter(|l| last.is_none_or(|x| l.secs > x.secs)) {
            last = Some(l);
        }
    }
    if outcome.outliers.requests > 0 {
        assumptions.push(format!(
            "{} requests carry times more than an hour ahead of the lines around them{}: they are counted in the totals but left out of the timeline, the window and incident detection",
            outcome.outliers.requests,
            outcome.outliers.first.map_or(String::new(), |f| format!(" (first at {}:{})", sources[f.input as usize], f.line))
        ));
    }
    let share = Config::default().scope_share;
    let LogContext {
        correlator, groups, ..
    } = ctx;
    let has_logs = !groups.list.is_empty();
    let mut findings: Vec<report::Finding> = outcome
        .degraded
        .iter()
        .zip(&correlator.degraded_evidence)
        .map(|(d, j)| {
            report::degraded_finding(
                d,
                access_offset,
                &sources,
                has_logs.then_some((&catalog, j)),
            )
        })
        .collect();
    // New: first seen after the window's first minute (its first tenth, for short logs).
    let settle = match (first, last) {
        (Some(f), Some(l)) => f.secs + NEW_GROUP_SETTLE_SECS.min((l.secs - f.secs) / 10),
        _ => i64::MIN,
    };
    let error_groups = groups.report(&catalog, &sources, settle);
    // Groups cited by an incident are told there; the others may be news of their own.
    let cited: Vec<String> = correlator
        .incident_evidence
        .iter()
        .chain(&correlator.degraded_evidence)
        .flat_map(|j| j.groups.iter())
        .filter_map(|g| groups.list.get(g.group as usize))
        .map(|g| format!("{:016x}", g.fingerprint))
        .collect();
    findings.extend(report::new_group_findings(&error_groups, &cited));
    findings.extend(parse_health(&input_reports, &stats));
    Ok(Report {
        version: 1,
        generated_at: now_rfc3339(),
        window: Window {
            start: first.map(rfc),
            end: last.map(rfc),
        },
        assumptions,
        inputs: input_reports,
        totals: report::totals(&summary),
        incidents: outcome
            .incidents
            .iter()
            .zip(&correlator.incident_evidence)
            .map(|(inc, joined)| {
                let logs = LogEvidence {
                    catalog: &catalog,
                    joined,
                };
                report::incident_report(inc, share, &sources, Some(logs))
            })
            .collect(),
        findings,
        error_groups,
        top: report::top(&summary),
        timeline: report::timeline_report(&outcome.timeline, access_offset),
    })
}

fn rfc(t: EventTime) -> String {
    t.rfc3339()
}

fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    format_rfc3339(secs, 0).replace("+00:00", "Z")
}

fn progress_bar(args: &AnalyzeArgs, total: Option<u64>) -> Option<indicatif::ProgressBar> {
    if args.no_progress || !std::io::stderr().is_terminal() {
        return None;
    }
    let pb = match total {
        Some(t) if t > 64 * 1024 * 1024 => indicatif::ProgressBar::new(t),
        Some(_) => return None,
        None => indicatif::ProgressBar::new_spinner(),
    };
    let style = if total.is_some() {
        "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
    } else {
        "{spinner} {bytes} read, {bytes_per_sec}"
    };
    pb.set_style(indicatif::ProgressStyle::with_template(style).expect("valid template"));
    pb.set_draw_target(indicatif::ProgressDrawTarget::stderr_with_hz(4));
    Some(pb)
}

pub fn samples_of(st: &InputStats) -> Vec<MalformedSample> {
    st.samples
        .iter()
        .map(|m| MalformedSample {
            line: m.line,
            reason: m.reason.to_string(),
            text: report::clean_text(&m.text),
        })
        .collect()
}

fn access_report(path: &str, d: &faultline_formats::Detection, st: &InputStats) -> InputReport {
    InputReport {
        path: path.to_string(),
        kind: "access",
        format: Some(d.format.clone()),
        log_format: d.access.as_ref().map(|p| p.name().to_string()),
        lines: st.lines,
        parsed: st.parsed,
        filtered: st.filtered,
        malformed: st.malformed,
        malformed_samples: samples_of(st),
        error: st.error.clone(),
    }
}

fn failed_report(path: &str, error: String) -> InputReport {
    InputReport {
        path: path.to_string(),
        kind: "unknown",
        format: None,
        log_format: None,
        lines: 0,
        parsed: 0,
        filtered: 0,
        malformed: 0,
        malformed_samples: Vec::new(),
        error: Some(error),
    }
}

/// Error and application logs: every event matched, grouped and joined to the incidents
/// (see [`crate::logs`]); error-log times widen the window.
#[allow(clippy::too_many_arguments)]
fn other_report(
    mut o: Opened,
    source: u32,
    year: Option<i32>,
    zone: Option<&Zone>,
    offsets: &[(i64, i32)],
    st: &mut InputStats,
    ctx: &mut LogContext<'_>,
) -> (InputReport, Option<String>) {
    let is_error = o.detection.kind == Kind::Error;
    let apache = o.detection.format == "apache";
    let mut buf = std::mem::take(&mut o.head);
    o.reader.set_capacity(pipeline::CHUNK_BYTES);
    let mut reader = LogReader::new(is_error, apache, year);
    let clock = Clock { zone, offsets };
    loop {
        for raw in buf.split(|&b| b == b'\n') {
            reader.line(inputs::trim_eol(raw), source, clock, st, ctx);
        }
        match o.reader.next_chunk(&mut buf) {
            Ok(true) => {
                // A chunk ends with a newline; the split above yields one empty tail per chunk.
                st.physical -= 1;
            }
            Ok(false) => break,
            Err(e) => {
                st.error = Some(format!("read error: {e}"));
                break;
            }
        }
    }
    reader.finish(source, clock, st, ctx);
    let used: Vec<String> = reader.used.iter().copied().map(format_offset).collect();
    let assumption = (is_error && !used.is_empty()).then(|| match zone {
        Some(z) => format!(
            "{} has no time zone: read in {} (--tz)",
            o.spec.display,
            z.describe()
        ),
        None => format!(
            "{} has no time zone: read as {}, the offset of the access-log lines nearest in time",
            o.spec.display,
            used.join(" and ")
        ),
    });
    let rep = InputReport {
        path: o.spec.display.clone(),
        kind: if is_error { "error" } else { "app" },
        format: Some(o.detection.format.clone()),
        log_format: None,
        lines: st.lines,
        parsed: st.parsed,
        filtered: st.filtered,
        malformed: st.malformed,
        malformed_samples: samples_of(st),
        error: st.error.clone(),
    };
    (rep, assumption)
}

/// An input whose lines did not parse in notable numbers.
fn parse_health(inputs: &[InputReport], stats: &[InputStats]) -> Vec<report::Finding> {
    inputs
        .iter()
        .zip(stats)
        .filter(|(r, _)| r.kind == "access" && r.lines > 0 && r.malformed * 100 >= r.lines)
        .map(|(r, st)| {
            let first = st.samples.first();
            report::Finding {
                kind: "parse_health",
                start: st.first.map(rfc),
                end: st.last.map(rfc),
                scope: report::Scope {
                    hosts: vec![],
                    routes: vec![],
                    upstreams: vec![],
                },
                summary: format!(
                    "{}: {:.1} % of lines did not parse as the {} format{}",
                    r.path,
                    r.malformed as f64 * 100.0 / r.lines as f64,
                    r.log_format.as_deref().unwrap_or("detected"),
                    first.map_or(String::new(), |m| format!(
                        " (first at line {}: {})",
                        m.line, m.reason
                    ))
                ),
                evidence: Vec::new(),
            }
        })
        .collect()
}

fn no_usable_input(slots: &[Slot], sources: &[String]) -> Fatal {
    let mut msg = String::from("no input could be used as an access log:\n");
    for (slot, src) in slots.iter().zip(sources) {
        let what = match slot {
            Slot::Failed(e) => e.clone(),
            Slot::Opened(o) => match o.detection.kind {
                Kind::Error => format!(
                    "an {} error log (it needs an access log beside it)",
                    if o.detection.format == "apache" {
                        "Apache"
                    } else {
                        "nginx"
                    }
                ),
                _ if o.detection.sampled == 0 => "empty".into(),
                _ => format!(
                    "none of its first {} lines is in a known access-log format",
                    o.detection.sampled
                ),
            },
        };
        msg.push_str(&format!("  {src}: {what}\n"));
    }
    msg.push_str(
        "pass the nginx log_format of your access log with --log-format '<the format string>' \
         (or a preset: --log-format combined|main|extended|upstream_time|upstreaminfo) and, \
         for another dialect, --format",
    );
    Fatal {
        message: msg,
        status: EXIT_UNUSABLE,
    }
}
