//! Narrowing a report: time range, hosts, routes, statuses, excluded health checks and
//! monitors, user route patterns; on the command line and in a config file.

mod common;

use clap::Parser;
use common::*;
use faultline::analyze::analyze_args;
use faultline::cli::{Cli, Command};
use faultline::report::Report;

const API: &str = "api.example.com";
const SHOP: &str = "shop.example.com";
const UP: &str = "10.0.0.1:8080";

fn fixture() -> tempfile::NamedTempFile {
    let mut reqs = steady(
        T0,
        T0 + 600,
        2,
        &[(API, "/api/orders/17", UP), (SHOP, "/shop/blue-widget", UP)],
    );
    for t in T0..T0 + 600 {
        let mut probe = Req::ok(t, API, "/healthz", UP);
        probe.path = "/healthz";
        reqs.push(probe);
    }
    for t in T0 + 300..T0 + 330 {
        reqs.push(
            Req::ok(t, API, "/api/orders/17", UP)
                .status(502, "502")
                .took("0.000"),
        );
    }
    let mut f = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut f, (log(reqs).join("\n") + "\n").as_bytes()).unwrap();
    f
}

fn report(file: &tempfile::NamedTempFile, extra: &[&str]) -> Result<Report, String> {
    let mut argv = vec!["faultline", "analyze"];
    argv.extend_from_slice(extra);
    argv.push(file.path().to_str().unwrap());
    let Command::Analyze(args) = Cli::parse_from(argv).command else {
        panic!("not analyze");
    };
    analyze_args(&args).map_err(|f| f.message)
}

#[test]
fn without_filters_everything_counts() {
    let f = fixture();
    let r = report(&f, &[]).unwrap();
    assert_eq!(r.totals.requests, 600 * 5 + 30);
    assert_eq!(r.inputs[0].filtered, 0);
    assert_eq!(r.incidents.len(), 1);
}

#[test]
fn a_time_range_keeps_only_its_lines() {
    let f = fixture();
    let r = report(
        &f,
        &[
            "--since",
            "2024-03-12T08:01:40Z",
            "--until",
            "2024-03-12 08:03:20",
        ],
    )
    .unwrap();
    assert_eq!(r.totals.requests, 100 * 5);
    assert_eq!(r.inputs[0].filtered, 500 * 5 + 30);
    assert!(r.incidents.is_empty());
    assert!(r
        .assumptions
        .iter()
        .any(|a| a.contains("at or after 2024-03-12T08:01:40+00:00")));
}

#[test]
fn hosts_and_routes_narrow_the_report() {
    let f = fixture();
    let r = report(&f, &["--host", "shop.*"]).unwrap();
    assert_eq!(r.totals.requests, 1200);
    assert!(r.incidents.is_empty());
    let r = report(&f, &["--route", "/api/*"]).unwrap();
    assert_eq!(r.totals.requests, 1230);
    assert_eq!(r.incidents.len(), 1);
}

#[test]
fn health_checks_and_monitors_can_be_left_out() {
    let f = fixture();
    let r = report(&f, &["--exclude-path", "^/healthz$"]).unwrap();
    assert_eq!(r.totals.requests, 600 * 4 + 30);
    let r = report(&f, &["--exclude-ua", "^test/"]).unwrap();
    assert_eq!(r.totals.requests, 0);
}

#[test]
fn a_status_filter_narrows_the_tables_but_not_detection() {
    let f = fixture();
    let r = report(&f, &["--status", "5xx"]).unwrap();
    assert_eq!(r.totals.requests, 30);
    assert_eq!(r.totals.by_status.keys().collect::<Vec<_>>(), vec!["502"]);
    assert_eq!(
        r.incidents.len(),
        1,
        "the incident is still measured against all traffic"
    );
    let all = report(&f, &[]).unwrap();
    assert_eq!(r.incidents[0].requests, all.incidents[0].requests);
    assert_eq!(r.incidents[0].id, all.incidents[0].id);
}

#[test]
fn user_route_patterns_win_over_automatic_templates() {
    let f = fixture();
    let r = report(&f, &["--route-pattern", "/shop/{slug}"]).unwrap();
    assert!(r.top.routes.iter().any(|x| x.route == "/shop/{slug}"));
    let r = report(&f, &[]).unwrap();
    assert!(r.top.routes.iter().any(|x| x.route == "/shop/blue-widget"));
}

#[test]
fn the_config_file_holds_the_same_settings() {
    let f = fixture();
    let mut cfg = tempfile::NamedTempFile::new().unwrap();
    let toml = r#"
[filters]
hosts = ["api.example.com"]
exclude_paths = ["^/healthz$"]

[routes]
patterns = ["/api/orders/{order}"]
"#;
    std::io::Write::write_all(&mut cfg, toml.as_bytes()).unwrap();
    let r = report(&f, &["--config", cfg.path().to_str().unwrap()]).unwrap();
    assert_eq!(r.totals.requests, 600 * 2 + 30);
    assert_eq!(r.incidents[0].scope.routes, vec!["/api/orders/{order}"]);
}

#[test]
fn config_errors_name_the_key_and_are_all_reported() {
    let f = fixture();
    let mut cfg = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(
        &mut cfg,
        b"[filters]\nexclude_paths = [\"(\", \"ok\", \"[z-a]\"]\nstatus = [\"5x\"]\n",
    )
    .unwrap();
    let err = report(&f, &["--config", cfg.path().to_str().unwrap()]).unwrap_err();
    assert!(err.contains("filters.exclude_paths[0]"), "{err}");
    assert!(err.contains("filters.exclude_paths[2]"), "{err}");
    assert!(err.contains("filters.status[0]"), "{err}");

    let mut cfg = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut cfg, b"[filters]\nhostz = [\"a\"]\n").unwrap();
    let err = report(&f, &["--config", cfg.path().to_str().unwrap()]).unwrap_err();
    assert!(err.contains("hostz") && err.contains("line 2"), "{err}");
}

#[test]
fn bad_times_and_patterns_are_clear_errors() {
    let f = fixture();
    assert!(report(&f, &["--since", "yesterday"])
        .unwrap_err()
        .contains("--since"));
    assert!(report(&f, &["--since", "1h", "--until", "2h"])
        .unwrap_err()
        .contains("before"));
    assert!(report(&f, &["--route-pattern", "shop"])
        .unwrap_err()
        .contains("must start with '/'"));
}
