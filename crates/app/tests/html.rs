//! The HTML report: whatever a log holds stays text on the page, the page loads nothing and
//! allows nothing but its own stylesheet, its markup is balanced, and its charts are there.

mod common;

use std::path::Path;

use clap::Parser;
use common::*;
use faultline::analyze::analyze_args;
use faultline::cli::{Cli, Command};
use faultline::report::Report;

/// Markup and script an attacker might put in a URL, a header or a name.
const PAYLOADS: [&str; 8] = [
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "javascript:alert(1)",
    "</title><svg onload=alert(1)>",
    "'-alert(1)-'",
    "</style><style>body{background:url(https://evil.example/x.png)}</style>",
    "<a href=\"//evil.example/x.js\">x</a>",
    "&lt;b&gt;&#x3C;iframe src=data:text/html,x&gt;",
];

const ALL: &str = "<script>alert(1)</script>\"><img src=x onerror=alert(1)>javascript:alert(1)</title><svg onload=alert(1)>'-alert(1)-'</style><style>body{background:url(https://evil.example/x.png)}</style><a href=\"//evil.example/x.js\">x</a>&lt;b&gt;&#x3C;iframe src=data:text/html,x&gt;";

const PATH: &str =
    "/x/<script>alert(1)</script>?next=javascript:alert(1)&r=</title><svg onload=alert(1)>";
const HOST: &str = "</title><svg onload=alert(1)>'-alert(1)-'.example";
const UPSTREAM: &str = "<svg/onload=alert(1)>:80";
const UA: &str = "</style><script>alert(1)</script>\\x22><img src=x onerror=alert(1)> '-alert(1)-' https://evil.example/";
const FILE: &str = "\"><img src=x onerror=alert(1)>'-alert(1)-'.log";

fn write_log(dir: &Path) -> std::path::PathBuf {
    let mut reqs = steady(
        T0,
        T0 + 300,
        2,
        &[
            (HOST, PATH, UPSTREAM),
            ("api.example.com", "/api/ok", "10.0.0.2:8080"),
        ],
    );
    for t in T0 + 200..T0 + 230 {
        reqs.push(
            Req::ok(t, HOST, PATH, UPSTREAM)
                .status(502, "502")
                .took("0.000"),
        );
    }
    // Attempts that failed on the payload upstream and were retried: a finding.
    for t in T0 + 100..T0 + 120 {
        let mut r = Req::ok(t, HOST, PATH, "-");
        r.up_addr = format!("{UPSTREAM}, 10.0.0.2:8080");
        r.up_status = "502, 200".into();
        r.up_time = "0.001, 0.020".into();
        reqs.push(r);
    }
    let mut text = log(reqs)
        .join("\n")
        .replace("\"test/1.0\"", &format!("\"{UA}\""));
    text.push_str(
        "\n<script>alert(1)</script> is not a log line \"><img src=x onerror=alert(1)>\n",
    );
    let path = dir.join(FILE);
    std::fs::write(&path, text).unwrap();
    path
}

fn report_for(path: &Path) -> Report {
    let cli = Cli::parse_from(["faultline", "analyze", path.to_str().unwrap()]);
    let Command::Analyze(args) = cli.command else {
        panic!("not analyze");
    };
    analyze_args(&args).unwrap_or_else(|f| panic!("{}", f.message))
}

/// The report of the payload log, with every string the log could not reach replaced by
/// the payloads as well.
fn hostile_report() -> (tempfile::TempDir, Report) {
    let dir = tempfile::tempdir().unwrap();
    let path = write_log(dir.path());
    let mut r = report_for(&path);
    assert!(!r.incidents.is_empty(), "the burst should be an incident");
    assert!(
        r.findings.iter().any(|f| f.kind == "degraded_upstream"),
        "the retries should be a finding"
    );
    assert!(r.inputs[0].malformed > 0);

    r.generated_at = ALL.into();
    r.window.start = Some(ALL.into());
    r.assumptions.push(ALL.into());
    let input = &mut r.inputs[0];
    input.format = Some(ALL.into());
    input.log_format = Some(ALL.into());
    input.error = Some(ALL.into());
    input.malformed_samples[0].reason = ALL.into();
    r.totals.by_status.insert(format!("5{ALL}"), 1);
    r.totals.by_class.insert(ALL.into(), 1);
    for inc in &mut r.incidents {
        inc.id = ALL.into();
        inc.status.insert(ALL.into(), 1);
        let d = &mut inc.diagnosis;
        d.summary = ALL.into();
        d.reasons.push(ALL.into());
        d.remediation.push(ALL.into());
        for e in &mut d.evidence {
            e.text = ALL.into();
            e.signature = Some(ALL.into());
        }
    }
    for f in &mut r.findings {
        f.summary = ALL.into();
        f.end = Some(ALL.into());
        f.scope.routes.push(ALL.into());
    }
    r.top.methods[0].name = ALL.into();
    let last = r.timeline.buckets.last_mut().unwrap();
    last.start = ALL.into();
    last.by_code.insert(ALL.into(), 1);
    r.error_groups.push(faultline::report::ErrorGroupReport {
        fingerprint: ALL.into(),
        kind: "python.traceback",
        title: ALL.into(),
        count: 3,
        first_seen: ALL.into(),
        last_seen: ALL.into(),
        sample: ALL.into(),
        source: ALL.into(),
        line: 7,
        signature: Some(ALL.into()),
        new: true,
    });
    (dir, r)
}

// ---------------------------------------------------------------------------------------
// A small tokenizer for the markup the renderer writes: every attribute value double-quoted,
// text free of `<`, `<style>` the only raw-text element.

#[derive(Debug)]
struct Tag {
    name: String,
    close: bool,
    self_closing: bool,
    attrs: Vec<(String, String)>,
}

fn tokenize(html: &str) -> (Vec<Tag>, Vec<String>) {
    let mut tags = Vec::new();
    let mut texts = Vec::new();
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        texts.push(rest[..lt].to_string());
        rest = &rest[lt..];
        if let Some(after) = rest.strip_prefix("<!DOCTYPE html>") {
            rest = after;
            continue;
        }
        assert!(
            !rest.starts_with("<!"),
            "comment or declaration: {}",
            head(rest)
        );
        let close = rest.starts_with("</");
        let mut s = &rest[if close { 2 } else { 1 }..];
        let name_len = s
            .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
            .expect("a tag ends");
        let name = s[..name_len].to_string();
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric()),
            "bad tag name in {}",
            head(rest)
        );
        s = &s[name_len..];
        let mut attrs = Vec::new();
        let self_closing;
        loop {
            s = s.trim_start();
            if let Some(after) = s.strip_prefix("/>") {
                self_closing = true;
                s = after;
                break;
            }
            if let Some(after) = s.strip_prefix('>') {
                self_closing = false;
                s = after;
                break;
            }
            assert!(!close, "attributes on a closing tag: {}", head(rest));
            let end = s
                .find(|c: char| c == '=' || c.is_whitespace() || c == '>')
                .expect("an attribute ends");
            let key = s[..end].to_string();
            s = &s[end..];
            let value = if let Some(after) = s.strip_prefix("=\"") {
                let q = after.find('"').expect("a closing quote");
                let v = after[..q].to_string();
                s = &after[q + 1..];
                v
            } else {
                assert!(
                    !s.starts_with('='),
                    "unquoted attribute {key} in {}",
                    head(rest)
                );
                String::new()
            };
            attrs.push((key, value));
        }
        rest = s;
        if name == "style" && !close {
            let end = rest.find("</style>").expect("the stylesheet ends");
            texts.push(format!("<style>{}", &rest[..end]));
            rest = &rest[end..];
        }
        tags.push(Tag {
            name,
            close,
            self_closing,
            attrs,
        });
    }
    texts.push(rest.to_string());
    (tags, texts)
}

fn head(s: &str) -> &str {
    &s[..s.char_indices().nth(80).map_or(s.len(), |(i, _)| i)]
}

const ELEMENTS: &[&str] = &[
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "header",
    "main",
    "footer",
    "section",
    "h1",
    "h2",
    "h3",
    "h4",
    "p",
    "ul",
    "ol",
    "li",
    "table",
    "caption",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "code",
    "pre",
    "strong",
    "span",
    "br",
    "a",
    "figure",
    "figcaption",
    "svg",
    "g",
    "rect",
    "line",
    "text",
];

const ATTRIBUTES: &[&str] = &[
    "lang",
    "charset",
    "http-equiv",
    "content",
    "name",
    "class",
    "id",
    "href",
    "scope",
    "role",
    "viewBox",
    "width",
    "height",
    "x",
    "y",
    "x1",
    "x2",
    "y1",
    "y2",
    "fill",
    "fill-opacity",
    "stroke",
    "text-anchor",
];

const VOID: &[&str] = &["meta", "br"];

/// Everything a page must be, whatever its report held.
fn check_page(html: &str) {
    assert!(
        html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n")
    );
    let (tags, texts) = tokenize(html);

    // Only the elements and attributes the renderer writes; no handlers, no URLs.
    for t in &tags {
        assert!(ELEMENTS.contains(&t.name.as_str()), "element <{}>", t.name);
        for (k, v) in &t.attrs {
            assert!(
                ATTRIBUTES.contains(&k.as_str()),
                "attribute {k} on <{}>",
                t.name
            );
            let lower = v.to_ascii_lowercase();
            assert!(
                !lower.contains("javascript") && !lower.contains("//"),
                "{k}={v:?}"
            );
            if k == "href" {
                assert!(v.starts_with("#incident-"), "href={v:?}");
            }
            if k != "content" {
                assert!(!v.contains(':') && !v.contains('('), "{k}={v:?}");
            }
        }
    }

    // Exactly one policy, the strict one, before anything it governs.
    let policies: Vec<&Tag> = tags
        .iter()
        .filter(|t| {
            t.attrs.iter().any(|(k, v)| {
                k == "http-equiv" && v.eq_ignore_ascii_case("Content-Security-Policy")
            })
        })
        .collect();
    assert_eq!(policies.len(), 1);
    let policy = &policies[0]
        .attrs
        .iter()
        .find(|(k, _)| k == "content")
        .unwrap()
        .1;
    assert_eq!(*policy, faultline::html::content_security_policy());
    let hash = policy
        .strip_prefix("default-src 'none'; style-src 'sha256-")
        .and_then(|p| p.strip_suffix("'; img-src data:"))
        .unwrap_or_else(|| panic!("policy {policy:?}"));
    assert_eq!(hash.len(), 44);
    assert!(hash
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '='));
    let csp_at = html.find("Content-Security-Policy").unwrap();
    assert!(csp_at < html.find("<title>").unwrap() && csp_at < html.find("<style>").unwrap());
    assert_eq!(
        tags.iter().filter(|t| t.name == "style").count(),
        2,
        "one <style>"
    );
    assert_eq!(html.matches("</style>").count(), 1);
    let css = texts.iter().find(|t| t.starts_with("<style>")).unwrap();
    assert!(!css.contains("url(") && !css.contains("@import") && !css.contains("//"));

    // Balanced: every element closed, in order.
    let mut stack: Vec<&str> = Vec::new();
    for t in &tags {
        if t.close {
            assert_eq!(
                stack.pop(),
                Some(t.name.as_str()),
                "unbalanced </{}>",
                t.name
            );
        } else if t.self_closing {
            assert!(
                ["rect", "line"].contains(&t.name.as_str()),
                "<{} /> outside SVG",
                t.name
            );
        } else if !VOID.contains(&t.name.as_str()) {
            stack.push(&t.name);
        }
    }
    assert!(stack.is_empty(), "left open: {stack:?}");

    // Text: no markup characters, and every `&` starts one of the five escapes.
    for text in texts.iter().filter(|t| !t.starts_with("<style>")) {
        assert!(!text.contains('>'), "a bare > in {text:?}");
        for (i, _) in text.match_indices('&') {
            let entity = ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"]
                .iter()
                .any(|e| text[i..].starts_with(e));
            assert!(entity, "a bare & in {text:?}");
        }
    }
    for bad in [
        "<script",
        "<img",
        "<iframe",
        "<svg onload",
        "<svg/onload",
        "<b>",
        "<a href=\"/",
    ] {
        assert!(
            !html.to_ascii_lowercase().contains(bad),
            "{bad} reached the page"
        );
    }
}

#[test]
fn log_text_never_becomes_markup() {
    let (_dir, report) = hostile_report();
    let html = faultline::html::render(&report);
    check_page(&html);

    // The payloads are on the page, as text.
    for p in PAYLOADS {
        let escaped = faultline::html::escape(p);
        assert!(html.contains(&escaped), "{p:?} missing");
    }
    for shown in [PATH, HOST, UPSTREAM, FILE] {
        assert!(
            html.contains(&faultline::html::escape(shown)),
            "{shown:?} missing"
        );
    }
    assert!(html.contains(&faultline::html::escape(UA)));
    // The charts: two timelines with the incident marked, and latency bars.
    assert_eq!(html.matches("<svg class=\"chart\"").count(), 2);
    assert!(html.contains("<rect class=\"inc\""));
    assert!(html.contains("<rect class=\"c502\""));
    assert!(html.contains("<rect class=\"p99\""));
}

#[test]
fn escaping_covers_every_context() {
    use faultline::html::escape;
    assert_eq!(
        escape("<a href=\"x\" title='y'>&</a>"),
        "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;"
    );
    // Text that would hide or reorder what is around it is shown instead.
    assert_eq!(escape("ab\u{202E}cd\u{200B}"), "ab\\u{202E}cd\\u{200B}");
    assert_eq!(escape("\u{1b}[31m\r"), "\\x1B[31m\\x0D");
}

#[test]
fn a_quiet_log_is_a_valid_page() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("quiet.log");
    let reqs = steady(T0, T0 + 30, 1, &[("a.example", "/", "10.0.0.1:80")]);
    std::fs::write(&path, log(reqs).join("\n") + "\n").unwrap();
    let html = faultline::html::render(&report_for(&path));
    check_page(&html);
    assert!(html.contains("Incidents (0)"));
    assert!(!html.contains("class=\"inc\""));
}

fn small_fixture(dir: &Path) -> std::path::PathBuf {
    const API: &str = "api.example.com";
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
    let path = dir.join("access.log");
    std::fs::write(&path, log(reqs).join("\n") + "\n").unwrap();
    path
}

#[test]
fn html_report() {
    let dir = tempfile::tempdir().unwrap();
    let path = small_fixture(dir.path());
    let mut report = report_for(&path);
    report.generated_at = "2026-01-01T00:00:00Z".into();
    let full = path.to_str().unwrap().to_string();
    report.inputs[0].path = "access.log".into();
    let html = faultline::html::render(&report).replace(&full, "access.log");
    check_page(&html);
    insta::assert_snapshot!(html);
}

/// `--output html` writes the same page through the command line.
#[test]
fn the_command_writes_the_page() {
    let dir = tempfile::tempdir().unwrap();
    let path = small_fixture(dir.path());
    let out = dir.path().join("report.html");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_faultline"))
        .args(["analyze", "--no-progress", "--output", "html", "-o"])
        .arg(&out)
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    let html = std::fs::read_to_string(out).unwrap();
    check_page(&html);
    assert_eq!(html.matches("<section class=\"incident\"").count(), 2);
}
