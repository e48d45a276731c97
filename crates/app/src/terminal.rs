//! The terminal report: what happened, when, why, and what to do, readable at 3 a.m.
//! Colour only when asked for (a tty without `NO_COLOR`); log text is already cleaned of
//! control characters by the report builder, so nothing from a log can drive the terminal.

use std::fmt::Write;

use crate::report::{IncidentReport, Report};

struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    fn red(&self, s: &str) -> String {
        self.paint("31;1", s)
    }
    fn yellow(&self, s: &str) -> String {
        self.paint("33", s)
    }
    fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
}

/// 1234567 → "1,234,567".
pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Unicode block sparkline of `values`, squeezed into at most `width` cells.
pub fn sparkline(values: &[u64], width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    if values.is_empty() {
        return String::new();
    }
    let per = values.len().div_ceil(width.max(1));
    let cells: Vec<u64> = values.chunks(per).map(|c| c.iter().sum()).collect();
    let max = cells.iter().copied().max().unwrap_or(0);
    cells
        .iter()
        .map(|&v| match ((v.max(1) - 1) * 8).checked_div(max) {
            _ if v == 0 => ' ',
            Some(i) => BARS[(i as usize).min(7)],
            None => BARS[0],
        })
        .collect()
}

fn ms(v: Option<f64>) -> String {
    match v {
        None => "-".into(),
        Some(x) if x >= 10_000.0 => format!("{:.1}s", x / 1000.0),
        Some(x) if x >= 1_000.0 => format!("{:.2}s", x / 1000.0),
        Some(x) if x >= 100.0 => format!("{x:.0}ms"),
        Some(x) => format!("{x:.1}ms"),
    }
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

fn short_time(rfc: &str) -> &str {
    rfc.get(11..19).unwrap_or(rfc)
}

pub fn render(r: &Report, color: bool) -> String {
    let st = Style { on: color };
    let mut o = String::new();
    header(&mut o, r, &st);
    inputs(&mut o, r, &st);
    status(&mut o, r, &st);
    timeline(&mut o, r, &st);
    incidents(&mut o, r, &st);
    findings(&mut o, r, &st);
    error_groups(&mut o, r, &st);
    tops(&mut o, r, &st);
    o
}

fn header(o: &mut String, r: &Report, st: &Style) {
    let window = match (&r.window.start, &r.window.end) {
        (Some(a), Some(b)) => format!("{a} → {b}"),
        _ => "no timestamps".into(),
    };
    let _ = writeln!(o, "{} {}", st.bold("faultline report"), st.dim(&window));
    for a in &r.assumptions {
        let _ = writeln!(o, "  {} {a}", st.dim("assumed:"));
    }
}

fn inputs(o: &mut String, r: &Report, st: &Style) {
    let _ = writeln!(o, "\n{}", st.bold("Inputs"));
    for i in &r.inputs {
        let fmt = match (&i.format, &i.log_format) {
            (Some(f), Some(l)) => format!("{f}/{l}"),
            (Some(f), None) => f.clone(),
            _ => "-".into(),
        };
        let mut line = format!(
            "  {:<40} {:<7} {:<16} {:>12} lines",
            clip(&i.path, 40),
            i.kind,
            fmt,
            thousands(i.lines)
        );
        if i.malformed > 0 {
            line.push_str(&format!(", {} malformed", thousands(i.malformed)));
        }
        let _ = writeln!(o, "{line}");
        if let Some(e) = &i.error {
            let _ = writeln!(o, "    {} {e}", st.red("error:"));
        }
        for m in i.malformed_samples.iter().take(3) {
            let _ = writeln!(
                o,
                "    {} line {}: {} {}",
                st.dim("malformed"),
                m.line,
                m.reason,
                st.dim(&clip(&m.text, 80))
            );
        }
    }
}

fn status(o: &mut String, r: &Report, st: &Style) {
    let t = &r.totals;
    let _ = writeln!(
        o,
        "\n{} {} requests, {} 5xx ({:.2} %)",
        st.bold("Requests"),
        thousands(t.requests),
        thousands(t.by_class.get("5xx").copied().unwrap_or(0)),
        t.server_error_rate * 100.0
    );
    let classes: Vec<String> = t
        .by_class
        .iter()
        .map(|(k, v)| format!("{k} {}", thousands(*v)))
        .collect();
    let _ = writeln!(o, "  {}", classes.join("   "));
    let fives: Vec<String> = t
        .by_status
        .iter()
        .filter(|(k, _)| k.starts_with('5'))
        .map(|(k, v)| format!("{} {}", st.red(k), thousands(*v)))
        .collect();
    if !fives.is_empty() {
        let _ = writeln!(o, "  {}", fives.join("   "));
    }
}

fn timeline(o: &mut String, r: &Report, st: &Style) {
    let b = &r.timeline.buckets;
    if b.is_empty() {
        return;
    }
    let errs: Vec<u64> = b.iter().map(|x| x.errors_5xx).collect();
    let max = errs.iter().max().copied().unwrap_or(0);
    let per = format!("({} s per bucket, peak {max})", r.timeline.bucket_secs);
    let _ = writeln!(o, "\n{} {}", st.bold("5xx over time"), st.dim(&per));
    let line = sparkline(&errs, 72);
    let width = line.chars().count();
    let _ = writeln!(o, "  {}", st.red(&line));
    let (a, z) = (&b[0].start, &b[b.len() - 1].start);
    // Dates only when the log spans more than one day.
    let label = |t: &str| {
        if a.get(..10) == z.get(..10) {
            short_time(t).to_string()
        } else {
            t.get(5..16).unwrap_or(t).replace('T', " ")
        }
    };
    let (first, last) = (label(a), label(z));
    if width > first.len() + last.len() {
        let _ = writeln!(o, "  {first}{last:>pad$}", pad = width - first.len());
    } else {
        let _ = writeln!(o, "  {first} → {last}");
    }
}

fn incidents(o: &mut String, r: &Report, st: &Style) {
    let _ = writeln!(o, "\n{} ({})", st.bold("Incidents"), r.incidents.len());
    if r.incidents.is_empty() {
        let _ = writeln!(
            o,
            "  none: no scope's 5xx rose clearly above its normal level"
        );
    }
    for inc in &r.incidents {
        incident(o, inc, st);
    }
}

fn incident(o: &mut String, inc: &IncidentReport, st: &Style) {
    let d = &inc.diagnosis;
    let codes: Vec<String> = inc
        .status
        .iter()
        .map(|(k, v)| format!("{k}×{}", thousands(*v)))
        .collect();
    let state = if inc.state == "open" {
        st.yellow("open")
    } else {
        st.dim("resolved")
    };
    let _ = writeln!(
        o,
        "\n  {} {}  {} → {}  {}  {} of {} requests  [{}]",
        st.red("●"),
        st.bold(&inc.id),
        inc.start,
        short_time(&inc.end),
        codes.join(" "),
        thousands(inc.errors),
        thousands(inc.requests),
        state
    );
    let scope = [&inc.scope.hosts, &inc.scope.routes, &inc.scope.upstreams]
        .iter()
        .map(|v| clip(&v.join(", "), 60))
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("  ");
    let _ = writeln!(o, "    {} {scope}", st.dim("scope:"));
    let _ = writeln!(
        o,
        "    {} {} ({}, confidence {:.2}): {}",
        st.dim("cause:"),
        st.bold(d.cause),
        d.category,
        d.confidence,
        d.summary
    );
    for reason in &d.reasons {
        let _ = writeln!(o, "    {} {reason}", st.dim("why:"));
    }
    for e in &d.evidence {
        let _ = writeln!(
            o,
            "    {} {}:{} ×{} {}",
            st.dim("evidence:"),
            e.source,
            e.line,
            thousands(e.count),
            e.text
        );
        if let Some(s) = &e.sample {
            let _ = writeln!(o, "      {}", st.dim(&clip(s, 160)));
        }
    }
    for step in &d.remediation {
        let _ = writeln!(o, "    {} {step}", st.dim("do:"));
    }
    if !d.alternatives.is_empty() {
        let alts: Vec<String> = d
            .alternatives
            .iter()
            .map(|a| format!("{} {:.2}", a.cause, a.confidence))
            .collect();
        let _ = writeln!(o, "    {} {}", st.dim("also possible:"), alts.join(", "));
    }
}

fn findings(o: &mut String, r: &Report, st: &Style) {
    if r.findings.is_empty() {
        return;
    }
    let _ = writeln!(o, "\n{} ({})", st.bold("Findings"), r.findings.len());
    for f in &r.findings {
        let when = match (&f.start, &f.end) {
            (Some(a), Some(b)) => format!("{a} → {}", short_time(b)),
            _ => String::new(),
        };
        let _ = writeln!(o, "  {} {} {}", st.yellow(f.kind), st.dim(&when), f.summary);
    }
}

/// Error-group rows shown; the JSON report has them all.
const GROUP_ROWS: usize = 10;

fn error_groups(o: &mut String, r: &Report, st: &Style) {
    if r.error_groups.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "\n{} ({})",
        st.bold("Error groups"),
        r.error_groups.len()
    );
    for g in r.error_groups.iter().take(GROUP_ROWS) {
        let sig = g
            .signature
            .as_deref()
            .map_or(String::new(), |s| format!(" [{s}]"));
        let new = if g.new { " new" } else { "" };
        let _ = writeln!(
            o,
            "  {:>7}  {}  {}{}{}",
            format!("×{}", thousands(g.count)),
            st.dim(&format!(
                "{} {} → {}",
                g.kind,
                short_time(&g.first_seen),
                short_time(&g.last_seen)
            )),
            clip(&g.title, 140),
            st.dim(&sig),
            st.yellow(new)
        );
    }
    if r.error_groups.len() > GROUP_ROWS {
        let _ = writeln!(
            o,
            "  {}",
            st.dim(&format!(
                "… {} more in the JSON report",
                r.error_groups.len() - GROUP_ROWS
            ))
        );
    }
}

fn tops(o: &mut String, r: &Report, st: &Style) {
    let _ = writeln!(o, "\n{}", st.bold("Top routes by 5xx"));
    let _ = writeln!(
        o,
        "  {:<48} {:>10} {:>8} {:>9} {:>9} {:>9}",
        "route", "requests", "5xx", "p50", "p90", "p99"
    );
    for row in r.top.routes.iter().take(10) {
        let _ = writeln!(
            o,
            "  {:<48} {:>10} {:>8} {:>9} {:>9} {:>9}",
            clip(&row.route, 48),
            thousands(row.requests),
            thousands(row.errors_5xx),
            ms(row.p50_ms),
            ms(row.p90_ms),
            ms(row.p99_ms)
        );
    }
    if !r.top.upstreams.is_empty() {
        let _ = writeln!(o, "\n{}", st.bold("Top upstreams by 5xx"));
        let _ = writeln!(
            o,
            "  {:<48} {:>10} {:>8} {:>9} {:>9} {:>9}",
            "upstream", "requests", "5xx", "p50", "p90", "p99"
        );
        for row in r.top.upstreams.iter().take(10) {
            let _ = writeln!(
                o,
                "  {:<48} {:>10} {:>8} {:>9} {:>9} {:>9}",
                clip(&row.upstream, 48),
                thousands(row.requests),
                thousands(row.errors_5xx),
                ms(row.p50_ms),
                ms(row.p90_ms),
                ms(row.p99_ms)
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_sparklines() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(sparkline(&[0, 1, 8], 10), " ▁█");
        assert_eq!(sparkline(&[1, 1, 1, 1], 2).chars().count(), 2);
    }
}
