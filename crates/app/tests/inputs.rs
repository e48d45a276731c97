//! Several inputs read as one history: logs that cover the same period (one per vhost, one
//! per server) are merged in time, and a line whose clock jumped does not derail the rest.

mod common;

use clap::Parser;
use common::*;
use faultline::analyze::analyze_args;
use faultline::cli::{Cli, Command};
use faultline::report::Report;

const API: &str = "api.example.com";
const SHOP: &str = "shop.example.com";

fn write(lines: &[String]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    std::io::Write::write_all(&mut f, (lines.join("\n") + "\n").as_bytes()).unwrap();
    f
}

fn report(files: &[&tempfile::NamedTempFile]) -> Report {
    let mut argv = vec!["faultline".to_string(), "analyze".into()];
    argv.extend(files.iter().map(|f| f.path().to_str().unwrap().to_string()));
    let Command::Analyze(args) = Cli::parse_from(argv).command else {
        panic!("not analyze");
    };
    analyze_args(&args).unwrap_or_else(|f| panic!("{}", f.message))
}

/// Two vhosts with one incident each, at different times.
fn two_vhosts() -> (Vec<Req>, Vec<Req>) {
    let mut api = steady(T0, T0 + 900, 3, &[(API, "/api/orders/1", "10.0.0.1:80")]);
    for t in T0 + 200..T0 + 240 {
        api.push(
            Req::ok(t, API, "/api/orders/1", "10.0.0.1:80")
                .status(502, "502")
                .took("0.000"),
        );
    }
    let mut shop = steady(T0, T0 + 900, 3, &[(SHOP, "/cart", "10.0.0.2:80")]);
    for t in T0 + 600..T0 + 640 {
        shop.push(
            Req::ok(t, SHOP, "/cart", "10.0.0.2:80")
                .status(500, "500")
                .took("0.020"),
        );
    }
    (api, shop)
}

fn essentials(r: &Report) -> Vec<(String, String, String, u64, &'static str)> {
    r.incidents
        .iter()
        .map(|i| {
            (
                i.id.clone(),
                i.start.clone(),
                i.end.clone(),
                i.errors,
                i.diagnosis.cause,
            )
        })
        .collect()
}

#[test]
fn logs_of_two_vhosts_over_the_same_hours_are_merged_in_time() {
    let (api, shop) = two_vhosts();
    let both: Vec<Req> = api.iter().chain(shop.iter()).cloned().collect();
    let whole = report(&[&write(&log(both))]);
    assert_eq!(whole.incidents.len(), 2);
    let (a, s) = (write(&log(api)), write(&log(shop)));
    for order in [[&a, &s], [&s, &a]] {
        let split = report(&order);
        assert_eq!(essentials(&split), essentials(&whole));
        assert_eq!(split.totals.requests, whole.totals.requests);
        assert_eq!(split.window.start, whole.window.start);
    }
}

#[test]
fn two_servers_behind_a_balancer_lose_no_errors() {
    let (api, _) = two_vhosts();
    let lines = log(api);
    let odd: Vec<String> = lines.iter().step_by(2).cloned().collect();
    let even: Vec<String> = lines.iter().skip(1).step_by(2).cloned().collect();
    let whole = report(&[&write(&lines)]);
    let split = report(&[&write(&odd), &write(&even)]);
    assert_eq!(essentials(&split), essentials(&whole));
}

#[test]
fn one_line_from_the_far_future_is_left_out_of_detection_and_the_window() {
    let (api, _) = two_vhosts();
    let mut lines = log(api);
    let mut future = Req::ok(T0 + 10, API, "/api/orders/1", "10.0.0.1:80");
    future.t = 4_102_444_800; // 2100-01-01
    lines.insert(100, future.line());
    let clean = report(&[&write(&log(two_vhosts().0))]);
    let r = report(&[&write(&lines)]);
    assert_eq!(essentials(&r), essentials(&clean));
    assert_eq!(r.window.end, clean.window.end);
    assert_eq!(r.totals.requests, clean.totals.requests + 1);
    assert!(
        r.assumptions
            .iter()
            .any(|a| a.contains("more than an hour ahead")),
        "{:?}",
        r.assumptions
    );
    assert!(r.timeline.buckets.len() < 30);
}

#[test]
fn a_real_gap_in_the_log_is_not_mistaken_for_a_clock_jump() {
    let (api, _) = two_vhosts();
    let mut later = api.clone();
    for r in &mut later {
        r.t += 86_400;
    }
    let r = report(&[&write(&log(api.into_iter().chain(later).collect()))]);
    assert_eq!(
        r.incidents.len(),
        2,
        "the same outage on both days: {:?}",
        essentials(&r)
    );
    assert!(r.assumptions.iter().all(|a| !a.contains("ahead")));
}

#[test]
fn times_keep_the_offset_their_lines_were_written_with() {
    // A summer-time change at T0 + 300: lines before are +01:00, after +02:00.
    let (mut api, _) = two_vhosts();
    for r in &mut api {
        r.offset = if r.t < T0 + 300 { 3600 } else { 7200 };
    }
    for t in T0 + 600..T0 + 640 {
        let mut r = Req::ok(t, API, "/api/orders/1", "10.0.0.1:80")
            .status(502, "502")
            .took("0.000");
        r.offset = 7200;
        api.push(r);
    }
    let access = write(&log(api));
    // The error log has no offset: 08:11:40 local at +02:00 is 06:11:40 UTC.
    let error = write(&["2024/03/12 10:11:40 [error] 7#7: *9 connect() failed (111: Connection refused) while connecting to upstream, client: 203.0.113.7, server: api.example.com, request: \"GET /api/orders/1 HTTP/1.1\", upstream: \"http://10.0.0.1:80/api/orders/1\", host: \"api.example.com\"".to_string()]);
    let r = report(&[&access, &error]);
    let starts: Vec<&str> = r.incidents.iter().map(|i| i.start.as_str()).collect();
    assert_eq!(
        starts,
        vec!["2024-03-12T09:03:20+01:00", "2024-03-12T10:10:00+02:00"]
    );
    assert!(
        r.assumptions.iter().any(|a| a.contains("read as +02:00")),
        "{:?}",
        r.assumptions
    );
    assert_eq!(r.window.start.as_deref(), Some("2024-03-12T09:00:00+01:00"));
}
