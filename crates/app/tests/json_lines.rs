//! JSON access logs through `analyze`: nginx `escape=json` lines found by themselves, and an
//! application's own layout read through a field mapping with nested keys and missing fields.

use clap::Parser;
use faultline::analyze::analyze_args;
use faultline::cli::{Cli, Command};
use faultline::report::Report;

fn write(text: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut f, text.as_bytes()).unwrap();
    f
}

fn report(extra: &[&str], file: &tempfile::NamedTempFile) -> Report {
    let mut argv = vec!["faultline", "analyze"];
    argv.extend_from_slice(extra);
    argv.push(file.path().to_str().unwrap());
    let Command::Analyze(args) = Cli::parse_from(argv).command else {
        panic!("not analyze");
    };
    analyze_args(&args).unwrap_or_else(|f| panic!("{}", f.message))
}

/// 10 minutes at 4 requests a second; from minute 5, one request a second fails (refused).
fn lines(render: impl Fn(i64, bool) -> String) -> String {
    let mut out = String::new();
    for s in 0..600 {
        for k in 0..4 {
            out.push_str(&render(s, (300..330).contains(&s) && k == 0));
            out.push('\n');
        }
    }
    out
}

#[test]
fn nginx_escape_json_lines_are_detected_and_diagnosed() {
    let f = write(&lines(|s, bad| {
        format!(
            r#"{{"time_iso8601":"2024-03-12T08:{:02}:{:02}+00:00","remote_addr":"203.0.113.7","request":"GET /api/orders/{} HTTP/1.1","status":"{}","request_time":"0.000","upstream_response_time":"0.000","upstream_addr":"10.0.0.1:80","upstream_status":"{}","host":"api.example.com","http_user_agent":"curl/8 \"x\""}}"#,
            s / 60,
            s % 60,
            s,
            if bad { 502 } else { 200 },
            if bad { 502 } else { 200 }
        )
    }));
    let r = report(&[], &f);
    assert_eq!(r.inputs[0].format.as_deref(), Some("json"));
    assert_eq!(r.totals.requests, 2400);
    assert_eq!(r.totals.by_status.get("502"), Some(&30));
    assert_eq!(r.incidents.len(), 1);
    assert_eq!(r.incidents[0].diagnosis.cause, "upstream_down");
    assert_eq!(r.incidents[0].scope.routes, vec!["/api/orders/{id}"]);
}

#[test]
fn an_application_layout_is_read_through_a_mapping_with_nested_keys() {
    let f = write(&lines(|s, bad| {
        // No upstream fields at all, and the host only on some lines.
        let host = if s % 2 == 0 {
            r#","host":"shop.example.com""#
        } else {
            ""
        };
        format!(
            r#"{{"ts":"2024-03-12T08:{:02}:{:02}Z","req":{{"method":"GET","path":"/cart/{}"{host}}},"resp":{{"code":{}}},"latency_ms":{}}}"#,
            s / 60,
            s % 60,
            s,
            if bad { 500 } else { 200 },
            if bad { 2 } else { 35 }
        )
    }));
    let spec = "time=ts,method=req.method,path=req.path,host=req.host,status=resp.code,request_time=latency_ms:ms";
    let r = report(&["--json-fields", spec], &f);
    assert_eq!(
        r.inputs[0].malformed, 0,
        "{:?}",
        r.inputs[0].malformed_samples
    );
    assert_eq!(r.totals.by_status.get("500"), Some(&30));
    assert_eq!(r.top.routes[0].route, "/cart/{id}");
    let p50 = r.top.routes[0].p50_ms.unwrap();
    assert!((p50 - 35.0).abs() <= 35.0 * 0.03, "{p50}");
    // Lines without a host are their own scope: the burst shows on both.
    assert_eq!(r.incidents.iter().map(|i| i.errors).sum::<u64>(), 30);
    assert!(
        r.incidents.iter().all(|i| i.diagnosis.cause == "unknown"),
        "no upstream fields: no guess"
    );
}

#[test]
fn a_bad_mapping_names_the_part_that_is_wrong() {
    let f = write("{}\n");
    let argv = [
        "faultline",
        "analyze",
        "--json-fields",
        "colour=x",
        f.path().to_str().unwrap(),
    ];
    let Command::Analyze(args) = Cli::parse_from(argv).command else {
        panic!("not analyze");
    };
    let err = analyze_args(&args).unwrap_err().message;
    assert!(err.contains("colour"), "{err}");
}
