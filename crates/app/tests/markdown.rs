//! The Markdown report: log text cannot add links, markup, headings or table cells to the
//! ticket it is pasted into, and raw lines sit in fences they cannot close.

mod common;

use std::path::Path;

use clap::Parser;
use common::*;
use faultline::analyze::analyze_args;
use faultline::cli::{Cli, Command};
use faultline::report::Report;

const PATH: &str = "/md|x`y``z<img src=x>/[click](https://evil.example)";
const HOST: &str = "**bold**_it_@ops#1.example";
const UPSTREAM: &str = "10.0.0.1:8080|<img/src=x>";
const UA: &str = "````` ``` <img src=x> | a|b [x](javascript:alert(1))";
const INJECT: &str = "ok\n\n# injected heading\n- [x] injected | cell |\n```\n<img src=x> [l](https://evil.example) www.evil.example @here #12 $x$ *a* **b** _c_";

fn report_for(path: &Path) -> Report {
    let cli = Cli::parse_from(["faultline", "analyze", path.to_str().unwrap()]);
    let Command::Analyze(args) = cli.command else {
        panic!("not analyze");
    };
    analyze_args(&args).unwrap_or_else(|f| panic!("{}", f.message))
}

fn hostile_report() -> (tempfile::TempDir, Report) {
    let dir = tempfile::tempdir().unwrap();
    let mut reqs = steady(T0, T0 + 300, 2, &[(HOST, PATH, UPSTREAM)]);
    for t in T0 + 200..T0 + 230 {
        reqs.push(
            Req::ok(t, HOST, PATH, UPSTREAM)
                .status(502, "502")
                .took("0.000"),
        );
    }
    let text = log(reqs)
        .join("\n")
        .replace("\"test/1.0\"", &format!("\"{UA}\""))
        + "\nnot | a `log` line <img src=x>\n";
    let path = dir.path().join("a|b`c<img src=x>.log");
    std::fs::write(&path, text).unwrap();
    let mut r = report_for(&path);
    assert!(!r.incidents.is_empty(), "the burst should be an incident");
    assert_eq!(r.top.routes[0].route, PATH);

    r.assumptions.push(INJECT.into());
    r.inputs[0].error = Some(INJECT.into());
    r.inputs[0].malformed_samples[0].reason = INJECT.into();
    for inc in &mut r.incidents {
        let d = &mut inc.diagnosis;
        d.reasons.push(INJECT.into());
        d.remediation.push(INJECT.into());
        for e in &mut d.evidence {
            e.text = INJECT.into();
        }
    }
    r.top.methods[0].name = INJECT.into();
    (dir, r)
}

/// `line` with escapes and code spans removed, or None when a backtick run is unmatched.
fn strip_inline(line: &str) -> Option<String> {
    let chars: Vec<char> = line.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' && chars.get(i + 1).is_some_and(|n| n.is_ascii_punctuation()) {
            out.push('E');
            i += 2;
        } else if c == '`' {
            let n = chars[i..].iter().take_while(|c| **c == '`').count();
            let mut j = i + n;
            let close = loop {
                if j >= chars.len() {
                    break None;
                }
                if chars[j] == '`' {
                    let m = chars[j..].iter().take_while(|c| **c == '`').count();
                    if m == n {
                        break Some(j + m);
                    }
                    j += m;
                } else {
                    j += 1;
                }
            };
            out.push('C');
            i = close?;
        } else {
            out.push(c);
            i += 1;
        }
    }
    Some(out)
}

/// Cell separators GFM sees: pipes not escaped by a backslash, code spans or not.
fn pipes(line: &str) -> usize {
    let mut n = 0;
    let mut escaped = false;
    for c in line.chars() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '|' {
            n += 1;
        }
    }
    n
}

const HEADINGS: &[&str] = &[
    "# faultline report: ",
    "## Requests",
    "## Incidents (",
    "### ",
    "## Findings (",
    "## Top routes by 5xx",
    "## Top upstreams by 5xx",
    "## Hosts",
    "## Methods",
    "## Inputs",
];

/// Everything the Markdown must be, whatever its report held. Returns the fenced blocks.
fn check_markdown(md: &str) -> Vec<String> {
    assert!(md.starts_with("# faultline report: "));
    let mut blocks = Vec::new();
    let mut fence: Option<(String, String)> = None;
    let mut table: Option<usize> = None;
    for line in md.lines() {
        if let Some((f, body)) = &mut fence {
            if line == f {
                blocks.push(std::mem::take(body));
                fence = None;
            } else {
                assert!(
                    !line.trim_start().starts_with(f.as_str()),
                    "a line could close the fence: {line:?}"
                );
                body.push_str(line);
                body.push('\n');
            }
            continue;
        }
        if let Some(f) = line.strip_suffix("text") {
            if f.len() >= 3 && f.chars().all(|c| c == '`') {
                fence = Some((f.to_string(), String::new()));
                continue;
            }
        }
        // Tables keep their shape: every row has the header's number of cells.
        if line.starts_with('|') {
            let n = pipes(line);
            match table {
                None => table = Some(n),
                Some(m) => assert_eq!(n, m, "a row with other cells: {line:?}"),
            }
        } else {
            table = None;
        }
        if line.starts_with('#') {
            assert!(
                HEADINGS.iter().any(|h| line.starts_with(h)),
                "a heading from the log: {line:?}"
            );
        }
        let plain = strip_inline(line).unwrap_or_else(|| panic!("an open code span: {line:?}"));
        let plain = plain.strip_prefix("- [ ] ").unwrap_or(&plain);
        for bad in ["<", "[", "]", "://", "www.", "@", "$", "~", "`"] {
            assert!(!plain.contains(bad), "{bad:?} outside code in {line:?}");
        }
        // The renderer's own bold labels come in pairs; a lone `*` came from a log.
        assert!(
            !plain.replace("**", "").contains('*'),
            "emphasis from the log: {line:?}"
        );
    }
    assert!(fence.is_none(), "a fence left open");
    blocks
}

#[test]
fn log_text_stays_text() {
    let (_dir, report) = hostile_report();
    let md = faultline::markdown::render(&report);
    let blocks = check_markdown(&md);

    // Raw lines are whole inside their fences.
    assert!(!blocks.is_empty());
    assert!(blocks.iter().all(|b| b.contains(UA) && b.contains(PATH)));
    assert!(
        md.contains("\n``````text\n"),
        "the fence outlasts five backticks"
    );
    // Names in code spans, with the pipe escaped only inside tables.
    assert!(md.contains("| ```/md\\|x`y``z<img src=x>/[click](https://evil.example)``` |"));
    assert!(md.contains("- **Routes:** ```/md|x`y``z<img src=x>/[click](https://evil.example)```"));
    assert!(md.contains("`10.0.0.1:8080|<img/src=x>`"));
    // Sentences escaped: the injected text is one line, its syntax literal.
    assert!(md.contains(
        "- ok  \\# injected heading - \\[x\\] injected \\| cell \\| \\`\\`\\` \\<img src=x\\> \
         `[l](https://evil.example)` `www.evil.example` `@here` `#12` `$x$` \\*a\\* \\*\\*b\\*\\* \\_c\\_"
    ));
    let steps: usize = report
        .incidents
        .iter()
        .map(|i| i.diagnosis.remediation.len())
        .sum();
    assert_eq!(md.matches("\n- [ ] ").count(), steps);
}

#[test]
fn markdown_report() {
    const API: &str = "api.example.com";
    let dir = tempfile::tempdir().unwrap();
    let mut reqs = steady(
        T0,
        T0 + 300,
        2,
        &[
            (API, "/api/orders/17", "10.0.0.1:8080"),
            (API, "/api/users/9", "10.0.0.2:8080"),
        ],
    );
    for t in T0 + 200..T0 + 230 {
        reqs.push(
            Req::ok(t, API, "/api/orders/17", "10.0.0.1:8080")
                .status(502, "502")
                .took("0.000"),
        );
    }
    for t in T0 + 240..T0 + 260 {
        reqs.push(
            Req::ok(t, API, "/api/users/9", "10.0.0.2:8080")
                .status(504, "504")
                .took("2.002"),
        );
    }
    // The path a ticket must survive: a pipe, backticks and markup.
    reqs.push(
        Req::ok(T0 + 250, API, "/a|b`c``<img src=x>", "10.0.0.2:8080")
            .status(504, "504")
            .took("2.002"),
    );
    let path = dir.path().join("access.log");
    std::fs::write(&path, log(reqs).join("\n") + "\n").unwrap();
    let mut report = report_for(&path);
    report.generated_at = "2026-01-01T00:00:00Z".into();
    let full = path.to_str().unwrap().to_string();
    let md = faultline::markdown::render(&report).replace(&full, "access.log");
    check_markdown(&md);
    assert!(md.contains("| ```/a\\|b`c``<img src=x>``` |"));
    insta::assert_snapshot!(md);
}
