//! The reports a user reads, pinned as snapshots: the terminal report and the JSON document
//! of a small log with one incident of each access-log cause family.

mod common;

use clap::Parser;
use common::*;
use faultline::analyze::analyze_args;
use faultline::cli::{Cli, Command};

const API: &str = "api.example.com";
const UP: &str = "10.0.0.1:8080";

fn fixture() -> tempfile::NamedTempFile {
    let mut reqs = steady(
        T0,
        T0 + 400,
        2,
        &[
            (API, "/api/orders/17", UP),
            (API, "/api/users/9", "10.0.0.2:8080"),
        ],
    );
    for t in T0 + 200..T0 + 230 {
        reqs.push(
            Req::ok(t, API, "/api/orders/17", UP)
                .status(502, "502")
                .took("0.000"),
        );
    }
    for t in T0 + 300..T0 + 330 {
        reqs.push(
            Req::ok(t, API, "/api/users/9", "10.0.0.2:8080")
                .status(504, "504")
                .took("2.002"),
        );
    }
    // A line with terminal control codes in its URL must come out escaped.
    let mut evil = Req::ok(T0 + 301, API, "/api/users/9", "10.0.0.2:8080")
        .status(504, "504")
        .took("2.002");
    evil.path = "/api/users/9\x1b[31mred";
    reqs.push(evil);
    let mut f = tempfile::NamedTempFile::new().unwrap();
    let mut text = log(reqs).join("\n");
    text.push_str("\nthis line is not an access-log line\n");
    std::io::Write::write_all(&mut f, text.as_bytes()).unwrap();
    f
}

fn report_for(path: &str) -> faultline::report::Report {
    let cli = Cli::parse_from(["faultline", "analyze", path]);
    let Command::Analyze(args) = cli.command else {
        panic!("not analyze");
    };
    analyze_args(&args).unwrap_or_else(|f| panic!("{}", f.message))
}

#[test]
fn terminal_report() {
    let f = fixture();
    let mut report = report_for(f.path().to_str().unwrap());
    report.inputs[0].path = "access.log".into();
    for inc in &mut report.incidents {
        for e in &mut inc.diagnosis.evidence {
            e.source = "access.log".into();
        }
    }
    let text = faultline::terminal::render(&report, false);
    assert!(!text.contains('\x1b'), "control codes reached the terminal");
    insta::assert_snapshot!(text);
}

#[test]
fn json_report() {
    let f = fixture();
    let mut report = report_for(f.path().to_str().unwrap());
    report.generated_at = "2026-01-01T00:00:00Z".into();
    let mut value = serde_json::to_value(&report).unwrap();
    let path = f.path().to_str().unwrap().to_string();
    let text = serde_json::to_string_pretty(&value)
        .unwrap()
        .replace(&path, "access.log");
    value = serde_json::from_str(&text).unwrap();
    assert_eq!(value["inputs"][0]["malformed"], 1);
    insta::assert_json_snapshot!(value, { ".timeline" => "[timeline]" });
}
