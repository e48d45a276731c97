//! The Markdown report, for pasting into an incident ticket (GitHub and GitLab flavours).
//!
//! Log text must stay text whatever it holds, so every string of the report goes through
//! one of three writers:
//! - [`code`] for names (routes, hosts, upstreams, paths, sources): an inline code span whose
//!   backtick fence is longer than any run of backticks inside;
//! - [`text`] for sentences (summaries, reasons, evidence): every character Markdown gives a
//!   meaning to is backslash-escaped, and a word that a renderer would turn into a link, a
//!   mention or a reference (`https://…`, `www.…`, `@name`, `#12`) is put in a code span;
//! - [`fenced`] for raw log lines: a fenced block whose fence is longer than any run of
//!   backticks in the line.
//!
//! Inside tables, `|` is escaped in all three (GFM splits cells before it reads code spans)
//! and line breaks never survive: a report row stays one table row.

use std::fmt::Write;

use crate::html::{duration, is_invisible, latency, percent, period};
use crate::report::{EvidenceReport, Finding, IncidentReport, Report, Scope};
use crate::terminal::thousands;

/// Where a piece of text goes: table cells need `|` escaped even inside code spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ctx {
    Inline,
    Table,
}

/// One line of text: line breaks become spaces, control characters `\xHH` and invisible
/// formatting characters `\u{…}`, so nothing can start a new block or hide text.
fn one_line(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\n' | '\r' | '\t' => out.push(' '),
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

fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

/// An inline code span holding `s` verbatim (as one line). Empty text gives "–".
pub fn code(s: &str, ctx: Ctx) -> String {
    let mut body = one_line(s);
    if body.is_empty() {
        return "–".into();
    }
    if ctx == Ctx::Table {
        body = body.replace('|', "\\|");
    }
    let fence = "`".repeat(longest_backtick_run(&body) + 1);
    // A span strips one space at each end when both are there, and a backtick at an end
    // would join the fence: pad with one space on each side in those cases.
    let pad = body.trim() != body || body.starts_with('`') || body.ends_with('`');
    if pad && !body.trim().is_empty() {
        format!("{fence} {body} {fence}")
    } else {
        format!("{fence}{body}{fence}")
    }
}

/// A word a renderer would link or resolve by itself, escaped or not.
fn linkish(word: &str) -> bool {
    let lower = word.to_ascii_lowercase();
    let reference = |c: char| {
        word.strip_prefix(c)
            .and_then(|rest| rest.chars().next())
            .is_some_and(|n| n.is_alphanumeric() || n == '_' || n == '-')
    };
    lower.contains("://")
        || lower.contains("www.")
        || word.contains('@')
        || ['#', '!', '&', '$', '%', '~', '^']
            .into_iter()
            .any(reference)
}

/// Inline text with everything Markdown would read as syntax made literal.
pub fn text(s: &str, ctx: Ctx) -> String {
    let line = one_line(s);
    let line = line.trim();
    let mut out = String::with_capacity(line.len() + 8);
    for (i, word) in line.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if linkish(word) {
            out.push_str(&code(word, ctx));
        } else {
            escape_word(word, i == 0, &mut out);
        }
    }
    out
}

fn escape_word(word: &str, first: bool, out: &mut String) {
    let chars: Vec<char> = word.chars().collect();
    // At the start of a block a word could open a list or a heading underline:
    // "-", "+", "=" and the "." or ")" of "12.".
    let digits = chars.iter().take_while(|c| c.is_ascii_digit()).count();
    for (i, &c) in chars.iter().enumerate() {
        let alnum = |j: Option<usize>| {
            j.and_then(|j| chars.get(j))
                .is_some_and(|c| c.is_alphanumeric())
        };
        let escape = match c {
            '\\' | '`' | '*' | '[' | ']' | '<' | '>' | '#' | '|' | '~' | '$' | '{' | '}' => true,
            // snake_case cannot open emphasis; an underscore at a word's edge can.
            '_' => !(alnum(i.checked_sub(1)) && alnum(Some(i + 1))),
            // only `&name;` and `&#…;` are entities
            '&' => {
                let name = chars[i + 1..]
                    .iter()
                    .take_while(|n| n.is_ascii_alphanumeric() || **n == '#')
                    .count();
                name > 0 && chars.get(i + 1 + name) == Some(&';')
            }
            '-' | '+' | '=' => first && i == 0,
            '.' | ')' => first && digits > 0 && i == digits,
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
}

/// A raw log line as a fenced code block (at the start of a line, outside any list).
pub fn fenced(s: &str) -> String {
    let mut body = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '\n' | '\t' => body.push(ch),
            c if c.is_control() => {
                let _ = write!(body, "\\x{:02X}", c as u32);
            }
            c if is_invisible(c) => {
                let _ = write!(body, "\\u{{{:04X}}}", c as u32);
            }
            c => body.push(c),
        }
    }
    let fence = "`".repeat(longest_backtick_run(&body).max(2) + 1);
    format!("{fence}text\n{body}\n{fence}\n")
}

/// Renders the report as Markdown for an incident ticket.
pub fn render(r: &Report) -> String {
    let mut o = String::with_capacity(16 * 1024);
    header(&mut o, r);
    totals(&mut o, r);
    incidents(&mut o, r);
    findings(&mut o, r);
    error_groups(&mut o, r);
    tops(&mut o, r);
    inputs(&mut o, r);
    o
}

fn error_groups(o: &mut String, r: &Report) {
    if r.error_groups.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "## Error groups ({})\n\n| count | kind | event | signature | seen | first at |\n\
         | ---: | --- | --- | --- | --- | --- |",
        r.error_groups.len()
    );
    for g in r.error_groups.iter().take(20) {
        let _ = writeln!(
            o,
            "| {} | {} | {}{} | {} | {} | {} |",
            g.count,
            code(g.kind, Ctx::Table),
            text(&g.title, Ctx::Table),
            if g.new { " **new**" } else { "" },
            g.signature
                .as_deref()
                .map_or(String::new(), |s| code(s, Ctx::Table)),
            text(&period(&g.first_seen, &g.last_seen), Ctx::Table),
            text(&format!("{}:{}", g.source, g.line), Ctx::Table)
        );
    }
    o.push('\n');
}

fn header(o: &mut String, r: &Report) {
    let n = r.incidents.len();
    let _ = writeln!(
        o,
        "# faultline report: {n} incident{}\n",
        if n == 1 { "" } else { "s" }
    );
    let window = match (&r.window.start, &r.window.end) {
        (Some(a), Some(b)) => text(&period(a, b), Ctx::Inline),
        _ => "no timestamps".into(),
    };
    let _ = writeln!(
        o,
        "**Window:** {window} · **generated** {}\n",
        text(&r.generated_at, Ctx::Inline)
    );
    if !r.assumptions.is_empty() {
        o.push_str("Assumed:\n\n");
        for a in &r.assumptions {
            let _ = writeln!(o, "- {}", text(a, Ctx::Inline));
        }
        o.push('\n');
    }
}

fn totals(o: &mut String, r: &Report) {
    let t = &r.totals;
    let errors = t.by_class.get("5xx").copied().unwrap_or(0);
    let _ = writeln!(
        o,
        "## Requests\n\n{} requests, **{} 5xx** ({:.2} %).\n",
        thousands(t.requests),
        thousands(errors),
        t.server_error_rate * 100.0
    );
    o.push_str("| class | requests | share |\n| --- | ---: | ---: |\n");
    for (class, n) in &t.by_class {
        let _ = writeln!(
            o,
            "| {} | {} | {} |",
            text(class, Ctx::Table),
            thousands(*n),
            percent(*n, t.requests, 2)
        );
    }
    o.push('\n');
    let fives: Vec<_> = t
        .by_status
        .iter()
        .filter(|(k, _)| k.starts_with('5'))
        .collect();
    if !fives.is_empty() {
        o.push_str("| 5xx code | responses | share of 5xx |\n| --- | ---: | ---: |\n");
        for (code, n) in fives {
            let _ = writeln!(
                o,
                "| {} | {} | {} |",
                text(code, Ctx::Table),
                thousands(*n),
                percent(*n, errors, 1)
            );
        }
        o.push('\n');
    }
}

fn codes(inc: &IncidentReport) -> String {
    inc.status
        .iter()
        .map(|(k, v)| format!("{k} ×{}", thousands(*v)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn incidents(o: &mut String, r: &Report) {
    let _ = writeln!(o, "## Incidents ({})\n", r.incidents.len());
    if r.incidents.is_empty() {
        o.push_str("None: no scope's 5xx rose clearly above its normal level.\n\n");
        return;
    }
    o.push_str(
        "| # | incident | when | 5xx | cause | confidence | state |\n\
         | ---: | --- | --- | --- | --- | ---: | --- |\n",
    );
    for (i, inc) in r.incidents.iter().enumerate() {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {:.2} | {} |",
            i + 1,
            code(&inc.id, Ctx::Table),
            text(&period(&inc.start, &inc.end), Ctx::Table),
            text(&codes(inc), Ctx::Table),
            code(inc.diagnosis.cause, Ctx::Table),
            inc.diagnosis.confidence,
            text(inc.state, Ctx::Table)
        );
    }
    o.push('\n');
    for (i, inc) in r.incidents.iter().enumerate() {
        incident(o, i + 1, inc);
    }
}

fn names(v: &[String]) -> String {
    v.iter()
        .map(|s| code(s, Ctx::Inline))
        .collect::<Vec<_>>()
        .join(", ")
}

fn scope_bullets(o: &mut String, s: &Scope) {
    for (label, v) in [
        ("Hosts", &s.hosts),
        ("Routes", &s.routes),
        ("Upstreams", &s.upstreams),
    ] {
        if !v.is_empty() {
            let _ = writeln!(o, "- **{label}:** {}", names(v));
        }
    }
}

fn incident(o: &mut String, k: usize, inc: &IncidentReport) {
    let d = &inc.diagnosis;
    let _ = writeln!(
        o,
        "### {k}. {} ({})\n",
        code(&inc.id, Ctx::Inline),
        text(inc.state, Ctx::Inline)
    );
    let took = duration(&inc.start, &inc.end)
        .map(|d| format!(" ({d})"))
        .unwrap_or_default();
    let _ = writeln!(
        o,
        "- **When:** {}",
        text(
            &format!("{}{took}", period(&inc.start, &inc.end)),
            Ctx::Inline
        )
    );
    let _ = writeln!(
        o,
        "- **5xx:** {}: {} of {} requests ({})",
        text(&codes(inc), Ctx::Inline),
        thousands(inc.errors),
        thousands(inc.requests),
        percent(inc.errors, inc.requests, 1)
    );
    scope_bullets(o, &inc.scope);
    let _ = writeln!(
        o,
        "- **Cause:** {} ({}, confidence {:.2})",
        code(d.cause, Ctx::Inline),
        text(d.category, Ctx::Inline),
        d.confidence
    );
    let _ = writeln!(o, "- **Summary:** {}\n", text(&d.summary, Ctx::Inline));
    if !d.reasons.is_empty() {
        o.push_str("**Why**\n\n");
        for reason in &d.reasons {
            let _ = writeln!(o, "- {}", text(reason, Ctx::Inline));
        }
        o.push('\n');
    }
    evidence(o, &d.evidence);
    if !d.remediation.is_empty() {
        o.push_str("**What to do**\n\n");
        for step in &d.remediation {
            let _ = writeln!(o, "- [ ] {}", text(step, Ctx::Inline));
        }
        o.push('\n');
    }
    if !d.alternatives.is_empty() {
        let alts: Vec<String> = d
            .alternatives
            .iter()
            .map(|a| format!("{} ({:.2})", code(a.cause, Ctx::Inline), a.confidence))
            .collect();
        let _ = writeln!(o, "Also possible: {}.\n", alts.join(", "));
    }
}

fn evidence(o: &mut String, ev: &[EvidenceReport]) {
    if ev.is_empty() {
        return;
    }
    o.push_str(
        "**Evidence**\n\n| where | count | what | signature |\n| --- | ---: | --- | --- |\n",
    );
    for e in ev {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} |",
            code(&format!("{}:{}", e.source, e.line), Ctx::Table),
            thousands(e.count),
            text(&e.text, Ctx::Table),
            e.signature
                .as_deref()
                .map_or_else(String::new, |s| code(s, Ctx::Table))
        );
    }
    o.push('\n');
    for e in ev {
        if let Some(sample) = &e.sample {
            let _ = writeln!(
                o,
                "First line at {}:\n\n{}",
                code(&format!("{}:{}", e.source, e.line), Ctx::Inline),
                fenced(sample)
            );
        }
    }
}

fn findings(o: &mut String, r: &Report) {
    if r.findings.is_empty() {
        return;
    }
    let _ = writeln!(o, "## Findings ({})\n", r.findings.len());
    for f in &r.findings {
        finding(o, f);
    }
}

fn finding(o: &mut String, f: &Finding) {
    let _ = writeln!(o, "### {}\n", code(f.kind, Ctx::Inline));
    if let (Some(a), Some(b)) = (&f.start, &f.end) {
        let _ = writeln!(o, "- **When:** {}", text(&period(a, b), Ctx::Inline));
    }
    scope_bullets(o, &f.scope);
    let _ = writeln!(o, "- **Summary:** {}\n", text(&f.summary, Ctx::Inline));
    evidence(o, &f.evidence);
}

fn latency_table(
    o: &mut String,
    title: &str,
    what: &str,
    rows: &[(&str, u64, u64, [Option<f64>; 3])],
) {
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "## {title}\n\n| {what} | requests | 5xx | 5xx rate | p50 | p90 | p99 |\n\
         | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    );
    for (name, requests, errors, p) in rows {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} |",
            code(name, Ctx::Table),
            thousands(*requests),
            thousands(*errors),
            percent(*errors, *requests, 1),
            latency(p[0]),
            latency(p[1]),
            latency(p[2])
        );
    }
    o.push('\n');
}

fn tops(o: &mut String, r: &Report) {
    let routes: Vec<_> = r
        .top
        .routes
        .iter()
        .map(|x| {
            (
                x.route.as_str(),
                x.requests,
                x.errors_5xx,
                [x.p50_ms, x.p90_ms, x.p99_ms],
            )
        })
        .collect();
    latency_table(o, "Top routes by 5xx", "route", &routes);
    let upstreams: Vec<_> = r
        .top
        .upstreams
        .iter()
        .map(|x| {
            (
                x.upstream.as_str(),
                x.requests,
                x.errors_5xx,
                [x.p50_ms, x.p90_ms, x.p99_ms],
            )
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
            "## {title}\n\n| {what} | requests | 5xx | 5xx rate |\n| --- | ---: | ---: | ---: |"
        );
        for row in rows {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} |",
                code(&row.name, Ctx::Table),
                thousands(row.requests),
                thousands(row.errors_5xx),
                percent(row.errors_5xx, row.requests, 1)
            );
        }
        o.push('\n');
    }
}

fn inputs(o: &mut String, r: &Report) {
    if r.inputs.is_empty() {
        return;
    }
    let filtered = r.inputs.iter().any(|i| i.filtered > 0);
    o.push_str("## Inputs\n\n| path | kind | format | lines | parsed |");
    if filtered {
        o.push_str(" filtered |");
    }
    o.push_str(" malformed | error |\n| --- | --- | --- | ---: | ---: |");
    if filtered {
        o.push_str(" ---: |");
    }
    o.push_str(" ---: | --- |\n");
    for i in &r.inputs {
        let format = match (&i.format, &i.log_format) {
            (Some(f), Some(l)) => format!("{f} / {l}"),
            (Some(f), None) => f.clone(),
            _ => String::new(),
        };
        let _ = write!(
            o,
            "| {} | {} | {} | {} | {} |",
            code(&i.path, Ctx::Table),
            text(i.kind, Ctx::Table),
            code(&format, Ctx::Table),
            thousands(i.lines),
            thousands(i.parsed),
        );
        if filtered {
            let _ = write!(o, " {} |", thousands(i.filtered));
        }
        let _ = writeln!(
            o,
            " {} | {} |",
            thousands(i.malformed),
            i.error
                .as_deref()
                .map_or_else(String::new, |e| text(e, Ctx::Table))
        );
    }
    o.push('\n');
    let malformed: Vec<_> = r
        .inputs
        .iter()
        .flat_map(|i| i.malformed_samples.iter().map(move |m| (i, m)))
        .collect();
    if !malformed.is_empty() {
        o.push_str("Malformed lines:\n\n| where | reason | text |\n| --- | --- | --- |\n");
        for (i, m) in malformed {
            let _ = writeln!(
                o,
                "| {} | {} | {} |",
                code(&format!("{}:{}", i.path, m.line), Ctx::Table),
                text(&m.reason, Ctx::Table),
                code(&m.text, Ctx::Table)
            );
        }
        o.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_outlast_backticks() {
        assert_eq!(code("a`b", Ctx::Inline), "``a`b``");
        assert_eq!(code("``x", Ctx::Inline), "``` ``x ```");
        assert_eq!(code(" x", Ctx::Inline), "`  x `");
        assert_eq!(code("a|b", Ctx::Table), "`a\\|b`");
        assert_eq!(code("a|b", Ctx::Inline), "`a|b`");
        assert_eq!(code("", Ctx::Inline), "–");
        assert_eq!(code("a\nb", Ctx::Inline), "`a b`");
    }

    #[test]
    fn text_is_inert() {
        assert_eq!(
            text(
                "[x](javascript:alert(1)) <img src=x> *a* _b_ snake_case",
                Ctx::Inline
            ),
            "\\[x\\](javascript:alert(1)) \\<img src=x\\> \\*a\\* \\_b\\_ snake_case"
        );
        assert_eq!(text("# title", Ctx::Inline), "\\# title");
        assert_eq!(text("- item", Ctx::Inline), "\\- item");
        assert_eq!(text("12. item", Ctx::Inline), "12\\. item");
        assert_eq!(text("a - b 12. c", Ctx::Inline), "a - b 12. c");
        assert_eq!(
            text("see https://evil.example/x and @ops #12", Ctx::Inline),
            "see `https://evil.example/x` and `@ops` `#12`"
        );
        assert_eq!(text("a|b", Ctx::Table), "a\\|b");
        assert_eq!(text("line\nbreak", Ctx::Inline), "line break");
        assert_eq!(text("AT&T &amp; co", Ctx::Inline), "AT&T `&amp;` co");
        assert_eq!(text("$x$ ~~y~~", Ctx::Inline), "`$x$` \\~\\~y\\~\\~");
    }

    #[test]
    fn fences_outlast_backticks() {
        assert_eq!(fenced("plain"), "```text\nplain\n```\n");
        assert_eq!(fenced("a ```` b"), "`````text\na ```` b\n`````\n");
    }
}
