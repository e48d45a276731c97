//! The analyze command's format options: `--format` names the dialect of `--log-format` (or
//! adds JSON lines), both tried before detection; a preset is named by `--log-format`; and
//! ingress-nginx's `upstreaminfo` lines are read with their retried attempts.

use clap::Parser;
use faultline::analyze::analyze_args;
use faultline::cli::{Cli, Command};
use faultline::report::Report;

const APACHE: &str = r#"%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i" %D "%{BALANCER_WORKER_NAME}e" "%{Host}i""#;

fn analyze(lines: &[&str], extra: &[&str]) -> Result<Report, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.log");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let mut argv = vec!["faultline", "analyze", path.to_str().unwrap()];
    argv.extend_from_slice(extra);
    let Command::Analyze(args) = Cli::parse_from(argv).command else {
        panic!("not analyze");
    };
    analyze_args(&args).map_err(|f| f.message)
}

/// (format, log format, parsed lines) of the only input.
fn read_as(r: &Report) -> (Option<&str>, Option<&str>, u64) {
    let i = &r.inputs[0];
    (i.format.as_deref(), i.log_format.as_deref(), i.parsed)
}

#[test]
fn format_names_the_dialect_of_the_log_format() {
    let lines = [
        r#"203.0.113.9 - - [12/Mar/2024:08:00:00 +0000] "GET /api/orders/17 HTTP/1.1" 200 512 "-" "curl/8.5.0" 21000 "http://10.0.0.1:8080" "api.example.com""#,
        r#"203.0.113.9 - - [12/Mar/2024:08:00:01 +0000] "GET /api/orders/18 HTTP/1.1" 502 157 "-" "curl/8.5.0" 1200 "http://10.0.0.1:8080" "api.example.com""#,
    ];
    let r = analyze(&lines, &["--format", "apache", "--log-format", APACHE]).unwrap();
    assert_eq!(read_as(&r), (Some("apache"), Some("custom"), 2));
    assert_eq!(r.totals.by_status.get("502"), Some(&1));
    // Read as nginx, the same string has no `$status`: a clear error, not a guess.
    let err = analyze(&lines, &["--format", "nginx", "--log-format", APACHE]).unwrap_err();
    assert!(err.contains("$status"), "{err}");
}

#[test]
fn format_json_reads_json_lines_and_detection_still_reads_the_rest() {
    let json = [
        r#"{"time_local":"12/Mar/2024:08:00:00 +0000","remote_addr":"203.0.113.9","request":"GET /a HTTP/1.1","status":"200","request_time":"0.010","host":"api.example.com"}"#,
        r#"{"time_local":"12/Mar/2024:08:00:01 +0000","remote_addr":"203.0.113.9","request":"GET /a HTTP/1.1","status":"503","request_time":"0.001","host":"api.example.com"}"#,
    ];
    let r = analyze(&json, &["--format", "json"]).unwrap();
    assert_eq!(read_as(&r).0, Some("json"));
    assert_eq!(read_as(&r).2, 2);
    assert_eq!(r.totals.by_status.get("503"), Some(&1));
    // The formats given are tried first, not alone: another input is still detected.
    let text = [r#"203.0.113.9 - - [12/Mar/2024:08:00:00 +0000] "GET /a HTTP/1.1" 200 5 "-" "c""#];
    let r = analyze(&text, &["--format", "json"]).unwrap();
    assert_eq!(read_as(&r), (Some("nginx"), Some("combined"), 1));
    // `--format json` names no dialect for a --log-format string.
    let err = analyze(&text, &["--format", "json", "--log-format", "$status"]).unwrap_err();
    assert!(err.contains("--format json"), "{err}");
}

#[test]
fn upstreaminfo_lines_keep_their_retried_attempts() {
    // ingress-nginx's default `log-format-upstream`: two attempts for the second request.
    let lines = [
        r#"10.244.0.1 - - [12/Mar/2024:08:00:00 +0000] "GET /api/orders/17 HTTP/1.1" 200 512 "-" "curl/8.5.0" 94 0.021 [shop-api-8080] [] 10.244.1.7:8080 512 0.020 200 5c2f1e7a9b3d4e6f8a0b1c2d3e4f5a6b"#,
        r#"10.244.0.1 - - [12/Mar/2024:08:00:01 +0000] "GET /api/orders/18 HTTP/1.1" 200 512 "-" "curl/8.5.0" 94 0.033 [shop-api-8080] [] 10.244.1.8:8080, 10.244.1.7:8080 0, 512 0.001, 0.030 502, 200 6d3f2e8b0c4e5f7a9b1c2d3e4f5a6b7c"#,
        r#"10.244.0.1 - - [12/Mar/2024:08:00:02 +0000] "GET /api/orders/19 HTTP/1.1" 503 190 "-" "curl/8.5.0" 94 0.000 [shop-api-8080] [] - - - - 7e4a3f9c1d5e6a8b0c2d3e4f5a6b7c8d"#,
    ];
    for extra in [&[][..], &["--log-format", "upstreaminfo"][..]] {
        let r = analyze(&lines, extra).unwrap();
        assert_eq!(
            read_as(&r),
            (Some("nginx"), Some("upstreaminfo"), 3),
            "{extra:?}"
        );
        // The retried request counts for the server that answered last.
        let ups: Vec<(&str, u64)> = r
            .top
            .upstreams
            .iter()
            .map(|u| (u.upstream.as_str(), u.requests))
            .collect();
        assert_eq!(ups, [("10.244.1.7:8080", 2)], "{extra:?}");
        assert_eq!(r.totals.by_status.get("503"), Some(&1));
    }
}

#[test]
fn latency_is_null_without_a_timing_field() {
    let combined = [
        r#"203.0.113.9 - - [12/Mar/2024:08:00:00 +0000] "GET /api/orders/17 HTTP/1.1" 200 512 "-" "curl/8.5.0""#,
        r#"203.0.113.9 - - [12/Mar/2024:08:00:01 +0000] "GET /api/orders/18 HTTP/1.1" 500 57 "-" "curl/8.5.0""#,
    ];
    let r = analyze(&combined, &[]).unwrap();
    assert_eq!(read_as(&r).1, Some("combined"));
    let route = &r.top.routes[0];
    assert_eq!(route.route, "/api/orders/{id}");
    assert_eq!(
        (route.p50_ms, route.p90_ms, route.p99_ms),
        (None, None, None)
    );
    // The same requests with `$request_time` have them.
    let timed: Vec<String> = combined
        .iter()
        .map(|l| format!("{l} 0.120 0.118 10.0.0.1:8080 200 \"api.example.com\""))
        .collect();
    let timed: Vec<&str> = timed.iter().map(String::as_str).collect();
    let r = analyze(&timed, &[]).unwrap();
    assert_eq!(read_as(&r).1, Some("extended"));
    let p50 = r.top.routes[0].p50_ms.expect("a p50 with timing");
    assert!((p50 - 120.0).abs() <= 120.0 * 0.03, "{p50}");
}
