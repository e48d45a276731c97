//! The HTML report: one self-contained page for a post-mortem, with the incidents, their
//! diagnosis and evidence, and inline SVG charts of the timeline.
//!
//! Safety rules, kept by construction:
//! - every string of the report goes through [`escape`] before it reaches the page, in text
//!   and in attributes alike (the report's strings come from logs: paths, hosts, upstreams,
//!   samples, and the sentences built around them);
//! - attribute values are numbers or constants written here, never report text; no report
//!   text is ever placed inside `<style>`, a URL or an event attribute; there is no script;
//! - the page loads nothing: its Content-Security-Policy is `default-src 'none'`, styles are
//!   allowed only by the hash of the one inline stylesheet, and images only as `data:`.

use std::fmt::Write;

use crate::report::{
    EvidenceReport, Finding, IncidentReport, Report, Scope, TimelineBucket, TimelineReport,
};
use crate::terminal::thousands;
use faultline_model::format_rfc3339;

/// Escapes text for HTML: safe in element content and in quoted attribute values (single or
/// double), inside inline SVG too. Control characters are written as `\xHH` and invisible
/// formatting characters (bidirectional overrides, zero-width spaces) as `\u{…}`, so what a
/// log line says cannot be hidden or reordered on the page.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(ch),
            c if c.is_control() => {
                let _ = write!(out, "\\x{:02X}", c as u32);
            }
            c if is_invisible(c) => {
                let _ = write!(out, "\\u{{{:04X}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// Characters that change how text around them is shown without being seen themselves.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}')
}

/// A latency in milliseconds, or "–" when the log carries no timing.
pub(crate) fn latency(v: Option<f64>) -> String {
    match v {
        None => "–".into(),
        Some(x) if x >= 10_000.0 => format!("{:.1} s", x / 1000.0),
        Some(x) if x >= 1_000.0 => format!("{:.2} s", x / 1000.0),
        Some(x) if x >= 100.0 => format!("{x:.0} ms"),
        Some(x) => format!("{x:.1} ms"),
    }
}

/// `part` of `whole` as a percentage with `digits` decimals ("–" for nothing of nothing).
pub(crate) fn percent(part: u64, whole: u64, digits: usize) -> String {
    if whole == 0 {
        return "–".into();
    }
    format!("{:.digits$} %", part as f64 * 100.0 / whole as f64)
}

/// Seconds since the epoch of an RFC 3339 time.
pub(crate) fn epoch(rfc: &str) -> Option<i64> {
    rfc.parse::<jiff::Timestamp>().ok().map(|t| t.as_second())
}

/// "2024-03-12T08:03:20+00:00 → 08:03:49" (the end's date and offset only when they differ).
pub(crate) fn period(start: &str, end: &str) -> String {
    match (
        start.get(..10),
        end.get(..10),
        end.get(11..19),
        start.get(19..),
        end.get(19..),
    ) {
        (Some(a), Some(b), Some(t), Some(za), Some(zb)) if a == b && za == zb => {
            format!("{start} → {t}")
        }
        _ => format!("{start} → {end}"),
    }
}

/// "29 s", "4 min 10 s", "2 h 5 min".
pub(crate) fn duration(start: &str, end: &str) -> Option<String> {
    let secs = epoch(end)? - epoch(start)?;
    if secs < 0 {
        return None;
    }
    Some(match secs {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{} h {} min", s / 3600, s % 3600 / 60),
    })
}

/// The one stylesheet. ASCII only: its SHA-256 is what the policy allows.
const CSS: &str = "
:root{--fg:#1f2328;--muted:#59636e;--bg:#ffffff;--panel:#f6f8fa;--line:#d1d9e0;
--accent:#0550ae;--bad:#c62828;--warn:#9a6700;--req:#4c78a8;--c500:#7b3fa0;--c502:#d62728;
--c503:#e8710a;--c504:#b8860b;--cother:#8c8c8c;--inc:#d62728;--p50:#9ecae1;--p90:#4292c6;
--p99:#08519c;color-scheme:light dark}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#9198a1;--bg:#0d1117;
--panel:#161b22;--line:#3d444d;--accent:#79c0ff;--bad:#ff7b72;--warn:#d29922;--req:#6e9fd4;
--c500:#c28ee0;--c502:#ff6b6b;--c503:#ffa657;--c504:#e3c55b;--cother:#a0a0a0;--inc:#ff6b6b;
--p50:#3a6f99;--p90:#5fa0d6;--p99:#a5d0f5}}
@media print{:root{--fg:#000000;--muted:#444444;--bg:#ffffff;--panel:#ffffff;--line:#999999;
--accent:#000000;--req:#4c78a8;--c500:#7b3fa0;--c502:#d62728;--c503:#e8710a;--c504:#b8860b;
--cother:#8c8c8c;--inc:#d62728;--p50:#9ecae1;--p90:#4292c6;--p99:#08519c;color-scheme:light}
body{max-width:none;margin:0}section.incident,figure,tr{break-inside:avoid}
h2,h3{break-after:avoid}}
body{font:14px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--fg);
background:var(--bg);max-width:1100px;margin:0 auto;padding:0 16px 32px}
h1{font-size:22px;margin:20px 0 4px}h2{font-size:18px;margin:28px 0 8px;
border-bottom:1px solid var(--line);padding-bottom:4px}h3{font-size:16px;margin:18px 0 6px}
h4{font-size:14px;margin:12px 0 4px}
a{color:var(--accent)}
p.meta,.muted,figcaption{color:var(--muted)}
p.verdict{font-size:16px;margin:8px 0}
code,pre{font:12px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
code{overflow-wrap:anywhere}
pre{background:var(--panel);border:1px solid var(--line);border-radius:4px;padding:6px 8px;
margin:4px 0 8px;white-space:pre-wrap;overflow-wrap:anywhere}
table{border-collapse:collapse;margin:6px 0 12px}
th,td{border:1px solid var(--line);padding:3px 8px;text-align:left;vertical-align:top}
th{background:var(--panel);font-weight:600}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.side{display:inline-table;margin-right:24px}
table.facts th{width:110px}
.state-open{color:var(--warn);font-weight:600}.state-resolved{color:var(--muted)}
.bad{color:var(--bad);font-weight:600}
section.incident{border:1px solid var(--line);border-left:4px solid var(--bad);
border-radius:4px;padding:4px 14px 8px;margin:14px 0}
ul.evidence{padding-left:20px}
figure{margin:8px 0 16px}
svg.chart{width:100%;height:auto;max-width:960px;display:block}
td svg{display:block}
caption{text-align:left;font-weight:600;padding:2px 0}
svg text{fill:var(--muted);font:11px system-ui,sans-serif}
svg .axis{stroke:var(--line)}
svg .grid{stroke:var(--line);stroke-dasharray:2 3}
svg .req{fill:var(--req)}svg .c500{fill:var(--c500)}svg .c502{fill:var(--c502)}
svg .c503{fill:var(--c503)}svg .c504{fill:var(--c504)}svg .cother{fill:var(--cother)}
svg .inc,svg .inc-band{fill:var(--inc)}svg text.inc-label{fill:var(--inc);font-weight:600}
svg .p50{fill:var(--p50)}svg .p90{fill:var(--p90)}svg .p99{fill:var(--p99)}
";

/// The page's Content-Security-Policy: nothing may load, only the stylesheet above applies.
pub fn content_security_policy() -> String {
    format!(
        "default-src 'none'; style-src 'sha256-{}'; img-src data:",
        base64(&sha256(CSS.as_bytes()))
    )
}

/// Renders the report as one self-contained HTML page.
pub fn render(r: &Report) -> String {
    let mut o = String::with_capacity(64 * 1024);
    head(&mut o, r);
    o.push_str("<body>\n");
    header(&mut o, r);
    o.push_str("<main>\n");
    inputs(&mut o, r);
    totals(&mut o, r);
    charts(&mut o, r);
    incidents(&mut o, r);
    findings(&mut o, r);
    error_groups(&mut o, r);
    tops(&mut o, r);
    o.push_str("</main>\n<footer>\n<p class=\"muted\">faultline report, contract version ");
    let _ = write!(o, "{}", r.version);
    o.push_str(". Times as the logs wrote them.</p>\n</footer>\n</body>\n</html>\n");
    o
}

fn window_text(r: &Report) -> String {
    match (&r.window.start, &r.window.end) {
        (Some(a), Some(b)) => period(a, b),
        _ => "no timestamps".into(),
    }
}

fn head(o: &mut String, r: &Report) {
    o.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(
        o,
        "<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">",
        content_security_policy()
    );
    o.push_str(
        "<meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"color-scheme\" content=\"light dark\">\n",
    );
    let _ = writeln!(
        o,
        "<title>faultline report: {}</title>",
        escape(&window_text(r))
    );
    let _ = writeln!(o, "<style>{CSS}</style>\n</head>");
}

fn header(o: &mut String, r: &Report) {
    let t = &r.totals;
    let errors = t.by_class.get("5xx").copied().unwrap_or(0);
    o.push_str("<header>\n<h1>faultline report</h1>\n");
    let _ = writeln!(
        o,
        "<p class=\"meta\">Window {} · generated {}</p>",
        escape(&window_text(r)),
        escape(&r.generated_at)
    );
    let n = r.incidents.len();
    let _ = writeln!(
        o,
        "<p class=\"verdict\"><strong>{n} incident{}</strong> · {} of {} requests were 5xx ({:.2} %)</p>",
        if n == 1 { "" } else { "s" },
        thousands(errors),
        thousands(t.requests),
        t.server_error_rate * 100.0
    );
    if !r.assumptions.is_empty() {
        o.push_str("<p>Assumed:</p>\n<ul>\n");
        for a in &r.assumptions {
            let _ = writeln!(o, "<li>{}</li>", escape(a));
        }
        o.push_str("</ul>\n");
    }
    if n > 0 {
        o.push_str(
            "<table>\n<thead><tr><th>#</th><th>incident</th><th>when</th><th>5xx</th>\
             <th>cause</th><th class=\"n\">confidence</th><th>state</th></tr></thead>\n<tbody>\n",
        );
        for (i, inc) in r.incidents.iter().enumerate() {
            let _ = writeln!(
                o,
                "<tr><td><a href=\"#incident-{k}\">{k}</a></td><td><code>{}</code></td><td>{}</td>\
                 <td>{}</td><td>{}</td><td class=\"n\">{:.2}</td><td class=\"state-{}\">{}</td></tr>",
                escape(&inc.id),
                escape(&period(&inc.start, &inc.end)),
                escape(&codes(inc)),
                escape(inc.diagnosis.cause),
                inc.diagnosis.confidence,
                state_class(inc.state),
                escape(inc.state),
                k = i + 1,
            );
        }
        o.push_str("</tbody>\n</table>\n");
    }
    o.push_str("</header>\n");
}

fn state_class(state: &str) -> &'static str {
    if state == "open" {
        "open"
    } else {
        "resolved"
    }
}

fn codes(inc: &IncidentReport) -> String {
    inc.status
        .iter()
        .map(|(k, v)| format!("{k} ×{}", thousands(*v)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn opt(s: &Option<String>) -> String {
    s.as_deref().map_or_else(|| "–".into(), escape)
}

fn inputs(o: &mut String, r: &Report) {
    o.push_str("<section id=\"inputs\">\n<h2>Inputs</h2>\n");
    if r.inputs.is_empty() {
        o.push_str("<p>No inputs.</p>\n</section>\n");
        return;
    }
    let filtered = r.inputs.iter().any(|i| i.filtered > 0);
    o.push_str(
        "<table>\n<thead><tr><th>path</th><th>kind</th><th>format</th><th class=\"n\">lines</th>\
         <th class=\"n\">parsed</th>",
    );
    if filtered {
        o.push_str("<th class=\"n\">filtered</th>");
    }
    o.push_str("<th class=\"n\">malformed</th><th>error</th></tr></thead>\n<tbody>\n");
    for i in &r.inputs {
        let format = match (&i.format, &i.log_format) {
            (Some(f), Some(l)) => format!("{} / {}", escape(f), escape(l)),
            (f, _) => opt(f),
        };
        let _ = write!(
            o,
            "<tr><td><code>{}</code></td><td>{}</td><td>{format}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td>",
            escape(&i.path),
            escape(i.kind),
            thousands(i.lines),
            thousands(i.parsed),
        );
        if filtered {
            let _ = write!(o, "<td class=\"n\">{}</td>", thousands(i.filtered));
        }
        let _ = writeln!(
            o,
            "<td class=\"n\">{}</td><td>{}</td></tr>",
            thousands(i.malformed),
            i.error.as_deref().map_or_else(String::new, |e| format!(
                "<span class=\"bad\">{}</span>",
                escape(e)
            ))
        );
    }
    o.push_str("</tbody>\n</table>\n");
    for i in r.inputs.iter().filter(|i| !i.malformed_samples.is_empty()) {
        let _ = writeln!(
            o,
            "<h3>Malformed lines of <code>{}</code></h3>\n<table>\n<thead><tr><th class=\"n\">line</th>\
             <th>reason</th><th>text</th></tr></thead>\n<tbody>",
            escape(&i.path)
        );
        for m in &i.malformed_samples {
            let _ = writeln!(
                o,
                "<tr><td class=\"n\">{}</td><td>{}</td><td><code>{}</code></td></tr>",
                m.line,
                escape(&m.reason),
                escape(&m.text)
            );
        }
        o.push_str("</tbody>\n</table>\n");
    }
    o.push_str("</section>\n");
}

fn totals(o: &mut String, r: &Report) {
    let t = &r.totals;
    let errors = t.by_class.get("5xx").copied().unwrap_or(0);
    o.push_str("<section id=\"totals\">\n<h2>Requests</h2>\n");
    let _ = writeln!(
        o,
        "<p>{} requests, <span class=\"bad\">{} 5xx</span>: a 5xx rate of {:.2} %.</p>",
        thousands(t.requests),
        thousands(errors),
        t.server_error_rate * 100.0
    );
    o.push_str(
        "<table class=\"side\">\n<thead><tr><th>class</th><th class=\"n\">requests</th>\
         <th class=\"n\">share</th></tr></thead>\n<tbody>\n",
    );
    for (class, n) in &t.by_class {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(class),
            thousands(*n),
            percent(*n, t.requests, 2)
        );
    }
    o.push_str("</tbody>\n</table>\n");
    let fives: Vec<(&String, &u64)> = t
        .by_status
        .iter()
        .filter(|(k, _)| k.starts_with('5'))
        .collect();
    if !fives.is_empty() {
        o.push_str(
            "<table class=\"side\">\n<thead><tr><th>5xx code</th><th class=\"n\">responses</th>\
             <th class=\"n\">share of 5xx</th></tr></thead>\n<tbody>\n",
        );
        for (code, n) in fives {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                escape(code),
                thousands(*n),
                percent(*n, errors, 1)
            );
        }
        o.push_str("</tbody>\n</table>\n");
    }
    o.push_str("</section>\n");
}

// ---------------------------------------------------------------------------------------
// Charts

/// The five series of the 5xx chart: key in `by_code`, CSS class, fallback colour, label.
const SERIES: [(&str, &str, &str, &str); 5] = [
    ("500", "c500", "#7b3fa0", "500"),
    ("502", "c502", "#d62728", "502"),
    ("503", "c503", "#e8710a", "503"),
    ("504", "c504", "#b8860b", "504"),
    ("5xx_other", "cother", "#8c8c8c", "other 5xx"),
];

/// At most this many bars per chart: adjacent buckets are summed beyond it.
const MAX_COLUMNS: usize = 240;

const CHART_W: f64 = 960.0;
const CHART_H: f64 = 210.0;
const LEFT: f64 = 60.0;
const RIGHT: f64 = 40.0;
const TOP: f64 = 36.0;
const BOTTOM: f64 = 26.0;

/// Adjacent timeline buckets summed into one bar.
struct Column<'a> {
    start: &'a str,
    requests: u64,
    errors: u64,
    codes: [u64; 5],
}

fn series_index(key: &str) -> usize {
    SERIES.iter().position(|s| s.0 == key).unwrap_or(4)
}

fn columns(buckets: &[TimelineBucket]) -> (Vec<Column<'_>>, usize) {
    let per = buckets.len().div_ceil(MAX_COLUMNS).max(1);
    let cols = buckets
        .chunks(per)
        .map(|chunk| {
            let mut c = Column {
                start: &chunk[0].start,
                requests: 0,
                errors: 0,
                codes: [0; 5],
            };
            for b in chunk {
                c.requests += b.requests;
                c.errors += b.errors_5xx;
                for (k, n) in &b.by_code {
                    c.codes[series_index(k)] += n;
                }
            }
            c
        })
        .collect();
    (cols, per)
}

/// A round top for the y axis and its tick step: 1, 2 or 5 times a power of ten.
fn y_scale(max: u64) -> (u64, u64) {
    let raw = max.div_ceil(4).max(1);
    let mut mag = 1u64;
    while mag.saturating_mul(10) <= raw {
        mag *= 10;
    }
    let step = [1, 2, 5, 10]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10 * mag);
    (step * max.div_ceil(step).max(1), step)
}

/// Round intervals between the ticks of the time axis, in seconds.
const TICK_STEPS: [i64; 16] = [
    1, 5, 10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400,
];

/// The offset in seconds of an RFC 3339 time ("Z", "+02:00").
fn offset_of(rfc: &str) -> Option<i32> {
    let tail = rfc.get(19..)?;
    let tail = tail.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    if tail == "Z" {
        return Some(0);
    }
    let sign = match tail.get(..1)? {
        "+" => 1,
        "-" => -1,
        _ => return None,
    };
    let h: i32 = tail.get(1..3)?.parse().ok()?;
    let m: i32 = tail.get(4..6)?.parse().ok()?;
    Some(sign * (h * 3600 + m * 60))
}

/// Label of a bar's start on the x axis: the time of day, with the date when the timeline
/// spans several days, and the seconds when bars are shorter than a minute.
fn tick_label(start: &str, days: bool, seconds: bool) -> String {
    let time = if seconds {
        start.get(11..19)
    } else {
        start.get(11..16)
    };
    match (days, start.get(5..10), time) {
        (true, Some(d), Some(t)) => format!("{d} {t}"),
        (false, _, Some(t)) => t.to_string(),
        _ => start.to_string(),
    }
}

struct Frame {
    cols: usize,
    top: u64,
}

impl Frame {
    fn col_w(&self) -> f64 {
        (CHART_W - LEFT - RIGHT) / self.cols as f64
    }
    fn x(&self, col: usize) -> f64 {
        LEFT + col as f64 * self.col_w()
    }
    fn y(&self, v: u64) -> f64 {
        let plot_h = CHART_H - TOP - BOTTOM;
        TOP + plot_h - plot_h * v as f64 / self.top as f64
    }
    fn bar(&self, col: usize) -> (f64, f64) {
        let w = self.col_w();
        let gap = if w >= 4.0 { w * 0.15 } else { 0.0 };
        (self.x(col) + gap / 2.0, w - gap)
    }
}

fn charts(o: &mut String, r: &Report) {
    let t = &r.timeline;
    if t.buckets.is_empty() {
        return;
    }
    let (cols, per) = columns(&t.buckets);
    let secs = t.bucket_secs.max(1) * per as i64;
    let shades = incident_spans(r, t, secs, cols.len());
    let chart = Timeline { cols, shades, secs };
    let offset = t.buckets[0].start.get(19..).unwrap_or("");
    let caption = format!(
        "{} per bar, times at {}{}",
        bar_width_text(secs),
        if offset.is_empty() {
            "the log's offset"
        } else {
            offset
        },
        if chart.shades.is_empty() {
            ""
        } else {
            "; red bands: the incidents, numbered as below"
        }
    );
    o.push_str("<section id=\"timeline\">\n<h2>Over time</h2>\n<figure>\n");
    let req_max = chart.cols.iter().map(|c| c.requests).max().unwrap_or(0);
    chart.draw(o, "Requests", req_max, false, &|o, f, i, c| {
        if c.requests == 0 {
            return;
        }
        let (x, w) = f.bar(i);
        let y = f.y(c.requests);
        let _ = writeln!(
            o,
            "<rect class=\"req\" fill=\"#4c78a8\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.2}\" height=\"{:.1}\">\
             <title>{}: {} requests, {} 5xx</title></rect>",
            f.y(0) - y,
            escape(c.start),
            thousands(c.requests),
            thousands(c.errors)
        );
    });
    let _ = writeln!(
        o,
        "<figcaption>Requests: {}.</figcaption>\n</figure>\n<figure>",
        escape(&caption)
    );
    let err_max = chart.cols.iter().map(|c| c.errors).max().unwrap_or(0);
    chart.draw(o, "5xx by status code", err_max, true, &|o, f, i, c| {
        if c.errors == 0 {
            return;
        }
        let (x, w) = f.bar(i);
        let parts: Vec<String> = SERIES
            .iter()
            .zip(c.codes)
            .filter(|(_, n)| *n > 0)
            .map(|(s, n)| format!("{} ×{}", s.3, thousands(n)))
            .collect();
        let _ = writeln!(
            o,
            "<g><title>{}: {} 5xx ({})</title>",
            escape(c.start),
            thousands(c.errors),
            escape(&parts.join(", "))
        );
        let mut below = 0;
        for (s, n) in SERIES.iter().zip(c.codes) {
            if n == 0 {
                continue;
            }
            let (y0, y1) = (f.y(below), f.y(below + n));
            let _ = writeln!(
                o,
                "<rect class=\"{}\" fill=\"{}\" x=\"{x:.1}\" y=\"{y1:.1}\" width=\"{w:.2}\" height=\"{:.1}\"/>",
                s.1,
                s.2,
                y0 - y1
            );
            below += n;
        }
        o.push_str("</g>\n");
    });
    let _ = writeln!(
        o,
        "<figcaption>5xx responses by status code, stacked: {}.</figcaption>\n</figure>\n</section>",
        escape(&caption)
    );
}

fn bar_width_text(secs: i64) -> String {
    match secs {
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// Where each incident lies on the time axis, in bars from the first (fractions included:
/// an incident is shaded from its first to the end of its last 5xx second), with its number.
fn incident_spans(r: &Report, t: &TimelineReport, secs: i64, cols: usize) -> Vec<Shade> {
    let Some(t0) = t.buckets.first().and_then(|b| epoch(&b.start)) else {
        return Vec::new();
    };
    let at = |rfc: &str| epoch(rfc).map(|x| (x - t0) as f64 / secs.max(1) as f64);
    r.incidents
        .iter()
        .enumerate()
        .filter_map(|(k, inc)| {
            let from = at(&inc.start)?.max(0.0);
            let to = (at(&inc.end)? + 1.0 / secs.max(1) as f64).min(cols as f64);
            (from < to).then(|| Shade {
                from,
                to,
                number: k + 1,
                title: format!(
                    "incident {}: {}, {}",
                    k + 1,
                    inc.id,
                    period(&inc.start, &inc.end)
                ),
            })
        })
        .collect()
}

/// An incident's window on the time axis, in bars.
struct Shade {
    from: f64,
    to: f64,
    number: usize,
    title: String,
}

/// What the two timeline charts share: their bars, incident windows and bar width.
struct Timeline<'a> {
    cols: Vec<Column<'a>>,
    shades: Vec<Shade>,
    secs: i64,
}

type Bars<'b> = dyn Fn(&mut String, &Frame, usize, &Column<'_>) + 'b;

impl Timeline<'_> {
    /// Ticks of the time axis, as (position in bars, label): round times of day in the
    /// log's offset when the bars' times can be read, else the start of every few bars.
    fn ticks(&self) -> Vec<(f64, String)> {
        let cols = &self.cols;
        let (Some(first), Some(last)) = (cols.first(), cols.last()) else {
            return Vec::new();
        };
        let days = first.start.get(..10) != last.start.get(..10);
        let span = self.secs * cols.len() as i64;
        let (Some(t0), Some(offset)) = (epoch(first.start), offset_of(first.start)) else {
            let seconds = self.secs < 60;
            let every = cols.len().div_ceil(8).max(1);
            return (0..cols.len())
                .step_by(every)
                .map(|i| (i as f64, tick_label(cols[i].start, days, seconds)))
                .collect();
        };
        let step = TICK_STEPS
            .iter()
            .copied()
            .find(|s| *s >= self.secs && span / s <= 8)
            .unwrap_or_else(|| (span.max(0) as u64).div_ceil(8 * 86_400) as i64 * 86_400);
        let seconds = step < 60;
        let local0 = t0 + offset as i64;
        let mut t = (local0 + step - 1).div_euclid(step) * step;
        let mut out = Vec::new();
        while t <= local0 + span {
            let rfc = format_rfc3339(t - offset as i64, offset);
            let label = if step >= 86_400 {
                rfc.get(5..10).unwrap_or(&rfc).to_string()
            } else {
                // The date on the first tick and at each midnight, when there are several.
                let date = days && (out.is_empty() || t.rem_euclid(86_400) == 0);
                tick_label(&rfc, date, seconds)
            };
            out.push(((t - local0) as f64 / self.secs as f64, label));
            t += step;
        }
        out
    }

    fn draw(&self, o: &mut String, title: &str, max: u64, with_legend: bool, bars: &Bars<'_>) {
        let cols = &self.cols;
        let (top, step) = y_scale(max);
        let f = Frame {
            cols: cols.len(),
            top,
        };
        let _ = writeln!(
            o,
            "<svg class=\"chart\" viewBox=\"0 0 {CHART_W} {CHART_H}\" width=\"{CHART_W}\" height=\"{CHART_H}\" role=\"img\">\n\
             <title>{}</title>",
            escape(title)
        );
        // Incident windows: shaded behind the bars, and marked by a band above them.
        for shade in &self.shades {
            // At least 3 units wide, so a short incident on a long timeline stays visible.
            let w = ((shade.to - shade.from) * f.col_w()).max(3.0);
            let x = (LEFT + shade.from * f.col_w()).min(CHART_W - RIGHT - w);
            let _ = writeln!(
                o,
                "<g><title>{}</title>\
                 <rect class=\"inc\" fill=\"#d62728\" fill-opacity=\"0.12\" x=\"{x:.1}\" y=\"{TOP}\" width=\"{w:.2}\" height=\"{:.1}\"/>\
                 <rect class=\"inc-band\" fill=\"#d62728\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.2}\" height=\"4\"/>\
                 <text class=\"inc-label\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text></g>",
                escape(&shade.title),
                f.y(0) - TOP,
                TOP - 7.0,
                x + w / 2.0,
                TOP - 10.0,
                shade.number
            );
        }
        // Y axis: grid lines and counts.
        let mut v = 0;
        while v <= top {
            let y = f.y(v);
            let _ = writeln!(
                o,
                "<line class=\"{}\" stroke=\"#d1d9e0\" x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
                if v == 0 { "axis" } else { "grid" },
                CHART_W - RIGHT,
                LEFT - 6.0,
                y + 4.0,
                thousands(v)
            );
            v += step;
        }
        for (i, c) in cols.iter().enumerate() {
            bars(o, &f, i, c);
        }
        // X axis: round times, about eight of them.
        for (at, label) in self.ticks() {
            let x = LEFT + at * f.col_w();
            let _ = writeln!(
                o,
                "<line class=\"axis\" stroke=\"#d1d9e0\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>\
                 <text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
                f.y(0),
                f.y(0) + 4.0,
                f.y(0) + 16.0,
                escape(&label)
            );
        }
        if with_legend {
            legend(o);
        }
        o.push_str("</svg>\n");
    }
}

fn legend(o: &mut String) {
    let mut x = LEFT;
    for (_, class, colour, label) in SERIES {
        let _ = writeln!(
            o,
            "<rect class=\"{class}\" fill=\"{colour}\" x=\"{x:.1}\" y=\"3\" width=\"10\" height=\"10\"/>\
             <text x=\"{:.1}\" y=\"12\">{}</text>",
            x + 14.0,
            escape(label)
        );
        x += 24.0 + 7.0 * label.len() as f64;
    }
}

// ---------------------------------------------------------------------------------------
// Incidents, findings, error groups

fn incidents(o: &mut String, r: &Report) {
    let _ = writeln!(
        o,
        "<section id=\"incidents\">\n<h2>Incidents ({})</h2>",
        r.incidents.len()
    );
    if r.incidents.is_empty() {
        o.push_str("<p>None: no scope's 5xx rose clearly above its normal level.</p>\n");
    }
    for (i, inc) in r.incidents.iter().enumerate() {
        incident(o, i + 1, inc);
    }
    o.push_str("</section>\n");
}

fn names(v: &[String]) -> String {
    if v.is_empty() {
        return "–".into();
    }
    v.iter()
        .map(|s| format!("<code>{}</code>", escape(s)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn scope_rows(o: &mut String, s: &Scope) {
    for (label, v) in [
        ("Hosts", &s.hosts),
        ("Routes", &s.routes),
        ("Upstreams", &s.upstreams),
    ] {
        if !v.is_empty() {
            let _ = writeln!(
                o,
                "<tr><th scope=\"row\">{label}</th><td>{}</td></tr>",
                names(v)
            );
        }
    }
}

fn incident(o: &mut String, k: usize, inc: &IncidentReport) {
    let d = &inc.diagnosis;
    let _ = writeln!(
        o,
        "<section class=\"incident\" id=\"incident-{k}\">\n<h3>{k}. <code>{}</code> \
         <span class=\"state-{}\">{}</span></h3>\n<table class=\"facts\">",
        escape(&inc.id),
        state_class(inc.state),
        escape(inc.state)
    );
    let took = duration(&inc.start, &inc.end)
        .map(|d| format!(" ({d})"))
        .unwrap_or_default();
    let _ = writeln!(
        o,
        "<tr><th scope=\"row\">When</th><td>{}{}</td></tr>",
        escape(&period(&inc.start, &inc.end)),
        escape(&took)
    );
    let _ = writeln!(
        o,
        "<tr><th scope=\"row\">5xx</th><td><span class=\"bad\">{}</span>: {} of {} requests ({})</td></tr>",
        escape(&codes(inc)),
        thousands(inc.errors),
        thousands(inc.requests),
        percent(inc.errors, inc.requests, 1)
    );
    scope_rows(o, &inc.scope);
    let _ = writeln!(
        o,
        "<tr><th scope=\"row\">Cause</th><td><strong>{}</strong> ({}, confidence {:.2})</td></tr>\n</table>",
        escape(d.cause),
        escape(d.category),
        d.confidence
    );
    let _ = writeln!(o, "<p>{}</p>", escape(&d.summary));
    if !d.reasons.is_empty() {
        o.push_str("<h4>Why</h4>\n<ul>\n");
        for reason in &d.reasons {
            let _ = writeln!(o, "<li>{}</li>", escape(reason));
        }
        o.push_str("</ul>\n");
    }
    evidence(o, &d.evidence);
    if !d.remediation.is_empty() {
        o.push_str("<h4>What to do</h4>\n<ol>\n");
        for step in &d.remediation {
            let _ = writeln!(o, "<li>{}</li>", escape(step));
        }
        o.push_str("</ol>\n");
    }
    if !d.alternatives.is_empty() {
        let alts: Vec<String> = d
            .alternatives
            .iter()
            .map(|a| format!("<strong>{}</strong> ({:.2})", escape(a.cause), a.confidence))
            .collect();
        let _ = writeln!(
            o,
            "<p class=\"muted\">Also possible: {}</p>",
            alts.join(", ")
        );
    }
    o.push_str("</section>\n");
}

fn evidence(o: &mut String, ev: &[EvidenceReport]) {
    if ev.is_empty() {
        return;
    }
    o.push_str("<h4>Evidence</h4>\n<ul class=\"evidence\">\n");
    for e in ev {
        let _ = write!(
            o,
            "<li><code>{}:{}</code> ×{} {}",
            escape(&e.source),
            e.line,
            thousands(e.count),
            escape(&e.text)
        );
        if let Some(sig) = &e.signature {
            let _ = write!(o, " <span class=\"muted\">[{}]</span>", escape(sig));
        }
        if let Some(sample) = &e.sample {
            let _ = write!(o, "\n<pre>{}</pre>", escape(sample));
        }
        o.push_str("</li>\n");
    }
    o.push_str("</ul>\n");
}

fn findings(o: &mut String, r: &Report) {
    if r.findings.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "<section id=\"findings\">\n<h2>Findings ({})</h2>",
        r.findings.len()
    );
    for f in &r.findings {
        finding(o, f);
    }
    o.push_str("</section>\n");
}

fn finding(o: &mut String, f: &Finding) {
    let _ = writeln!(o, "<h3>{}</h3>\n<table class=\"facts\">", escape(f.kind));
    if let (Some(a), Some(b)) = (&f.start, &f.end) {
        let _ = writeln!(
            o,
            "<tr><th scope=\"row\">When</th><td>{}</td></tr>",
            escape(&period(a, b))
        );
    }
    scope_rows(o, &f.scope);
    o.push_str("</table>\n");
    let _ = writeln!(o, "<p>{}</p>", escape(&f.summary));
    evidence(o, &f.evidence);
}

fn error_groups(o: &mut String, r: &Report) {
    if r.error_groups.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "<section id=\"error-groups\">\n<h2>Error groups ({})</h2>\n<table>\n<thead><tr>\
         <th>group</th><th class=\"n\">count</th><th>seen</th><th>first at</th><th>sample</th>\
         </tr></thead>\n<tbody>",
        r.error_groups.len()
    );
    for g in &r.error_groups {
        let sig = g.signature.as_deref().map_or(String::new(), |s| {
            format!("<br>signature <code>{}</code>", escape(s))
        });
        let new = if g.new {
            " <span class=\"badge\">new</span>"
        } else {
            ""
        };
        let _ = writeln!(
            o,
            "<tr><td>{}{new}<br><span class=\"muted\">{} <code>{}</code></span>{sig}</td><td class=\"n\">{}</td>\
             <td>{}</td><td><code>{}:{}</code></td><td><pre>{}</pre></td></tr>",
            escape(&g.title),
            escape(g.kind),
            escape(&g.fingerprint),
            g.count,
            escape(&period(&g.first_seen, &g.last_seen)),
            escape(&g.source),
            g.line,
            escape(&g.sample)
        );
    }
    o.push_str("</tbody>\n</table>\n</section>\n");
}

// ---------------------------------------------------------------------------------------
// Top tables

/// One row of a latency table.
struct Row<'a> {
    name: &'a str,
    requests: u64,
    errors: u64,
    p: [Option<f64>; 3],
}

fn tops(o: &mut String, r: &Report) {
    o.push_str("<section id=\"top\">\n<h2>Routes and upstreams</h2>\n");
    let routes: Vec<Row<'_>> = r
        .top
        .routes
        .iter()
        .map(|x| Row {
            name: &x.route,
            requests: x.requests,
            errors: x.errors_5xx,
            p: [x.p50_ms, x.p90_ms, x.p99_ms],
        })
        .collect();
    latency_table(o, "Top routes by 5xx", "route", &routes);
    let upstreams: Vec<Row<'_>> = r
        .top
        .upstreams
        .iter()
        .map(|x| Row {
            name: &x.upstream,
            requests: x.requests,
            errors: x.errors_5xx,
            p: [x.p50_ms, x.p90_ms, x.p99_ms],
        })
        .collect();
    latency_table(o, "Top upstreams by 5xx", "upstream", &upstreams);
    for (title, what, rows) in [
        ("Hosts", "host", &r.top.hosts),
        ("Methods", "method", &r.top.methods),
    ] {
        if rows.is_empty() {
            continue;
        }
        let _ = writeln!(
            o,
            "<table class=\"side\">\n<caption>{title}</caption>\n<thead><tr><th>{what}</th>\
             <th class=\"n\">requests</th><th class=\"n\">5xx</th><th class=\"n\">5xx rate</th>\
             </tr></thead>\n<tbody>"
        );
        for row in rows {
            let _ = writeln!(
                o,
                "<tr><td><code>{}</code></td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
                 <td class=\"n\">{}</td></tr>",
                escape(&row.name),
                thousands(row.requests),
                thousands(row.errors_5xx),
                percent(row.errors_5xx, row.requests, 1)
            );
        }
        o.push_str("</tbody>\n</table>\n");
    }
    o.push_str("</section>\n");
}

const BAR_W: f64 = 160.0;

fn latency_table(o: &mut String, title: &str, what: &str, rows: &[Row<'_>]) {
    if rows.is_empty() {
        return;
    }
    let scale = rows
        .iter()
        .flat_map(|r| r.p.iter().flatten().copied())
        .fold(0.0f64, f64::max);
    let _ = write!(
        o,
        "<h3>{title}</h3>\n<table>\n<thead><tr><th>{what}</th><th class=\"n\">requests</th>\
         <th class=\"n\">5xx</th><th class=\"n\">5xx rate</th><th class=\"n\">p50</th>\
         <th class=\"n\">p90</th><th class=\"n\">p99</th>"
    );
    if scale > 0.0 {
        let _ = write!(
            o,
            "<th>p50 / p90 / p99 (log scale to {})</th>",
            escape(&latency(Some(scale)))
        );
    }
    o.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        let _ = write!(
            o,
            "<tr><td><code>{}</code></td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>",
            escape(row.name),
            thousands(row.requests),
            thousands(row.errors),
            percent(row.errors, row.requests, 1),
            escape(&latency(row.p[0])),
            escape(&latency(row.p[1])),
            escape(&latency(row.p[2])),
        );
        if scale > 0.0 {
            o.push_str("<td>");
            latency_bars(o, &row.p, scale);
            o.push_str("</td>");
        }
        o.push_str("</tr>\n");
    }
    o.push_str("</tbody>\n</table>\n");
}

fn latency_bars(o: &mut String, p: &[Option<f64>; 3], scale: f64) {
    let _ = write!(
        o,
        "<svg viewBox=\"0 0 {BAR_W} 22\" width=\"{BAR_W}\" height=\"22\" role=\"img\"><title>p50 {}, p90 {}, p99 {}</title>",
        escape(&latency(p[0])),
        escape(&latency(p[1])),
        escape(&latency(p[2]))
    );
    for (i, (v, (class, colour))) in p
        .iter()
        .zip([("p50", "#9ecae1"), ("p90", "#4292c6"), ("p99", "#08519c")])
        .enumerate()
    {
        if let Some(v) = v {
            let w = (v.max(0.0).ln_1p() / scale.ln_1p() * BAR_W).clamp(1.0, BAR_W);
            let _ = write!(
                o,
                "<rect class=\"{class}\" fill=\"{colour}\" x=\"0\" y=\"{}\" width=\"{w:.1}\" height=\"6\"/>",
                1 + i * 7
            );
        }
    }
    o.push_str("</svg>");
}

// ---------------------------------------------------------------------------------------
// SHA-256 (FIPS 180-4) and base64, for the stylesheet's hash in the policy.

#[rustfmt::skip]
const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

fn sha256(data: &[u8]) -> [u8; 32] {
    let mut h: [u32; 8] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab,
        0x5be0cd19,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64).wrapping_mul(8)).to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let [a, b, c, d, e, f, g, hh] = v;
            let s1 = e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            v = [t1.wrapping_add(t2), a, b, c, d.wrapping_add(t1), e, f, g];
        }
        for (x, y) in h.iter_mut().zip(v) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(h) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (*b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn sha256_matches_the_standard_vectors() {
        assert_eq!(
            hex(&sha256(b"")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex(&sha256(b"abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(
            hex(&sha256(
                b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
            )),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        assert_eq!(
            hex(&sha256(&[b'a'; 200])),
            "c2a908d98f5df987ade41b5fce213067efbcc21ef2240212a41e54b5e7c28ae5"
        );
        let bytes: Vec<u8> = (0..=255u8).cycle().take(768).collect();
        assert_eq!(
            hex(&sha256(&bytes)),
            "f3a25aa93aa2fbba28d79260535bbd6a5eb0fc1c24a8b0f04e12b484c1dfe363"
        );
    }

    #[test]
    fn base64_pads() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(base64(&[0xff, 0xfe, 0xfd]), "//79");
    }

    #[test]
    fn escaping() {
        assert_eq!(
            escape(r#"<a href="x" onclick='y'>&amp;</a>"#),
            "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;"
        );
        assert_eq!(escape("a\u{202E}b\u{200B}c"), "a\\u{202E}b\\u{200B}c");
        assert_eq!(escape("a\u{7}b\r"), "a\\x07b\\x0D");
        assert_eq!(escape("tab\tline\nok é ✓"), "tab\tline\nok é ✓");
    }

    #[test]
    fn the_stylesheet_is_ascii_and_inert() {
        assert!(CSS.is_ascii());
        assert!(!CSS.contains('<') && !CSS.contains("url(") && !CSS.contains("@import"));
    }

    #[test]
    fn axis_scales_are_round() {
        assert_eq!(y_scale(0), (1, 1));
        assert_eq!(y_scale(3), (3, 1));
        assert_eq!(y_scale(31), (40, 10));
        assert_eq!(y_scale(138), (150, 50));
        assert_eq!(y_scale(1234), (1500, 500));
    }

    #[test]
    fn time_axis_ticks_are_round() {
        assert_eq!(offset_of("2024-03-12T08:00:00+00:00"), Some(0));
        assert_eq!(offset_of("2024-03-12T08:00:00-05:30"), Some(-19_800));
        assert_eq!(offset_of("2024-03-12T08:00:00.5Z"), Some(0));
        assert_eq!(offset_of("08:00"), None);
        let starts: Vec<String> = (0..90)
            .map(|i| format_rfc3339(1_710_201_600 + 3600 * 18 + 600 * i, 7200))
            .collect();
        let cols = starts
            .iter()
            .map(|s| Column {
                start: s,
                requests: 0,
                errors: 0,
                codes: [0; 5],
            })
            .collect();
        let t = Timeline {
            cols,
            shades: Vec::new(),
            secs: 600,
        };
        let ticks = t.ticks();
        let labels: Vec<&str> = ticks.iter().map(|(_, l)| l.as_str()).collect();
        // 15 hours from 20:00 at +02:00, in 10-minute bars: a tick every 2 hours.
        assert_eq!(
            labels,
            [
                "03-12 20:00",
                "22:00",
                "03-13 00:00",
                "02:00",
                "04:00",
                "06:00",
                "08:00",
                "10:00"
            ]
        );
        assert_eq!(ticks[0].0, 0.0);
        assert_eq!(ticks[1].0, 12.0);

        // Never finer than a bar: four one-minute bars get a tick a minute.
        let starts: Vec<String> = (0..4)
            .map(|i| format_rfc3339(1_710_201_600 + 60 * i, 0))
            .collect();
        let t = Timeline {
            cols: starts
                .iter()
                .map(|s| Column {
                    start: s,
                    requests: 0,
                    errors: 0,
                    codes: [0; 5],
                })
                .collect(),
            shades: Vec::new(),
            secs: 60,
        };
        let labels: Vec<String> = t.ticks().into_iter().map(|(_, l)| l).collect();
        assert_eq!(labels, ["00:00", "00:01", "00:02", "00:03", "00:04"]);
    }

    #[test]
    fn periods_and_durations() {
        assert_eq!(
            period("2024-03-12T08:03:20+00:00", "2024-03-12T08:03:49+00:00"),
            "2024-03-12T08:03:20+00:00 → 08:03:49"
        );
        assert_eq!(
            period("2024-03-12T23:59:00+00:00", "2024-03-13T00:01:00+00:00"),
            "2024-03-12T23:59:00+00:00 → 2024-03-13T00:01:00+00:00"
        );
        assert_eq!(
            duration("2024-03-12T08:03:20+00:00", "2024-03-12T08:07:30+00:00").as_deref(),
            Some("4 min 10 s")
        );
        assert_eq!(duration("nonsense", "2024-03-12T08:07:30+00:00"), None);
    }
}
