//! Error-log lines joined to incidents through `analyze`: by connection number, by window
//! and scope, never across scopes; signatures outweigh access-log tells.

mod common;

use std::path::Path;

use clap::Parser;
use common::*;
use faultline::analyze::analyze_args;
use faultline::cli::{Cli, Command};
use faultline::report::{IncidentReport, Report};
use faultline_model::civil_from_days;

/// nginx's `extended` format plus `$connection`.
const WITH_CONN: &str = "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" $request_time $upstream_response_time $upstream_addr $upstream_status \"$host\" $connection";

fn analyze(files: &[&Path], extra: &[&str]) -> Report {
    let mut argv = vec!["faultline", "analyze"];
    argv.extend(files.iter().map(|p| p.to_str().unwrap()));
    argv.extend_from_slice(extra);
    let Command::Analyze(args) = Cli::parse_from(argv).command else {
        panic!("not analyze");
    };
    analyze_args(&args).unwrap_or_else(|f| panic!("{}", f.message))
}

/// An nginx error-log line as `ngx_log_error_core` writes it.
fn error_line(t: i64, conn: u64, message: &str, path: &str, upstream: &str, host: &str) -> String {
    let (y, mo, d) = civil_from_days(t.div_euclid(86_400));
    let sod = t.rem_euclid(86_400);
    format!(
        "{y}/{mo:02}/{d:02} {:02}:{:02}:{:02} [error] 31#31: *{conn} {message}, client: 203.0.113.7, server: {host}, request: \"GET {path} HTTP/1.1\", upstream: \"http://{upstream}{path}\", host: \"{host}\"",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

const REFUSED: &str = "connect() failed (111: Connection refused) while connecting to upstream";
const TOO_BIG: &str = "upstream sent too big header while reading response header from upstream";

fn incident_on<'a>(r: &'a Report, upstream: &str) -> &'a IncidentReport {
    r.incidents
        .iter()
        .find(|i| i.scope.upstreams.iter().any(|u| u == upstream))
        .unwrap_or_else(|| panic!("no incident on {upstream}: {:#?}", r.incidents))
}

/// Two upstreams failing at the same time for different reasons; each error-log line names
/// the connection of its access line.
fn two_problems(dir: &Path, with_conn: bool) -> (std::path::PathBuf, std::path::PathBuf) {
    two_problems_logged_at(dir, with_conn, 0)
}

/// [`two_problems`] with the error log's clock `shift` seconds ahead of UTC (nginx writes
/// error-log times in local time, without an offset).
fn two_problems_logged_at(
    dir: &Path,
    with_conn: bool,
    shift: i64,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let a = "10.0.0.1:8080";
    let b = "10.0.0.2:8080";
    // Different hosts: problems of one host with the same access-log tells merge into one
    // incident before any error-log line is read.
    let mut reqs = steady(
        T0,
        T0 + 1200,
        2,
        &[
            ("api.example", "/api/orders", a),
            ("cart.example", "/api/cart", b),
        ],
    );
    let mut errors = Vec::new();
    for t in T0 + 900..T0 + 960 {
        reqs.push(
            Req::ok(t, "api.example", "/api/orders", a)
                .status(502, "502")
                .took("0.000"),
        );
        reqs.push(
            Req::ok(t, "cart.example", "/api/cart", b)
                .status(502, "502")
                .took("0.001"),
        );
    }
    reqs.sort_by_key(|r| r.t);
    let mut access = Vec::new();
    for (n, r) in reqs.iter().enumerate() {
        let conn = 1000 + n as u64;
        if r.status == 502 {
            let (msg, up) = if r.path == "/api/orders" {
                (REFUSED, a)
            } else {
                (TOO_BIG, b)
            };
            errors.push(error_line(r.t + shift, conn, msg, r.path, up, r.host));
        }
        access.push(if with_conn {
            format!("{} {conn}", r.line())
        } else {
            r.line()
        });
    }
    let ap = dir.join("access.log");
    let ep = dir.join("error.log");
    std::fs::write(&ap, access.join("\n") + "\n").unwrap();
    std::fs::write(&ep, errors.join("\n") + "\n").unwrap();
    (ap, ep)
}

#[test]
fn lines_join_by_connection_number_and_decide_the_cause() {
    let dir = tempfile::tempdir().unwrap();
    let (ap, ep) = two_problems(dir.path(), true);
    let r = analyze(&[&ap, &ep], &["--log-format", WITH_CONN]);
    assert_eq!(r.incidents.len(), 2, "{:#?}", r.incidents);

    let refused = incident_on(&r, "10.0.0.1:8080");
    assert_eq!(refused.diagnosis.cause, "upstream_down");
    let ev = &refused.diagnosis.evidence[0];
    assert_eq!(
        ev.signature.as_deref(),
        Some("nginx.upstream.connect_refused")
    );
    assert_eq!(ev.count, 60, "one error-log line per 502 of that upstream");
    assert!(ev.source.ends_with("error.log"));
    let lines: Vec<String> = std::fs::read_to_string(&ep)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    assert!(
        lines[ev.line as usize - 1].contains(REFUSED),
        "line {} is not the first refused line",
        ev.line
    );
    assert!(
        refused.diagnosis.reasons[0].contains("joined by connection number"),
        "{:?}",
        refused.diagnosis.reasons
    );

    // Fast 502s look like refused connections to the access log; the error log says the
    // upstream's header was too big for the proxy's buffer.
    let too_big = incident_on(&r, "10.0.0.2:8080");
    assert_eq!(
        too_big.diagnosis.cause, "upstream_protocol",
        "{:#?}",
        too_big.diagnosis
    );
    assert_eq!(
        too_big.diagnosis.evidence[0].signature.as_deref(),
        Some("nginx.upstream.too_big_header")
    );
    assert_eq!(too_big.diagnosis.evidence[0].count, 60);
    assert!(
        too_big
            .diagnosis
            .alternatives
            .iter()
            .any(|a| a.cause == "upstream_down"),
        "the access-log reading is the runner-up: {:?}",
        too_big.diagnosis.alternatives
    );
    assert!(
        too_big
            .diagnosis
            .remediation
            .iter()
            .any(|r| r.contains("proxy_buffer_size")),
        "{:?}",
        too_big.diagnosis.remediation
    );
}

#[test]
fn without_connection_numbers_lines_join_by_window_and_upstream() {
    let dir = tempfile::tempdir().unwrap();
    let (ap, ep) = two_problems(dir.path(), false);
    let r = analyze(&[&ap, &ep], &[]);
    let refused = incident_on(&r, "10.0.0.1:8080");
    let too_big = incident_on(&r, "10.0.0.2:8080");
    assert_eq!(refused.diagnosis.cause, "upstream_down");
    assert_eq!(too_big.diagnosis.cause, "upstream_protocol");
    // Each incident cites only the lines of its own upstream.
    for (inc, sig) in [
        (refused, "nginx.upstream.connect_refused"),
        (too_big, "nginx.upstream.too_big_header"),
    ] {
        let cited: Vec<_> = inc
            .diagnosis
            .evidence
            .iter()
            .filter_map(|e| e.signature.as_deref())
            .collect();
        assert_eq!(cited, vec![sig], "{:#?}", inc.diagnosis.evidence);
        assert!(
            inc.diagnosis.reasons[0].contains("window and scope"),
            "{:?}",
            inc.diagnosis.reasons
        );
    }
}

#[test]
fn tz_names_the_zone_of_error_log_times() {
    // The access log is in UTC, the error log's server clock two hours ahead: read in the
    // access log's offset its lines miss the incidents; read in --tz they join them.
    let dir = tempfile::tempdir().unwrap();
    let (ap, ep) = two_problems_logged_at(dir.path(), false, 7200);
    let cited = |r: &Report| -> Vec<String> {
        r.incidents
            .iter()
            .flat_map(|i| i.diagnosis.evidence.iter())
            .filter_map(|e| e.signature.clone())
            .collect()
    };
    assert!(cited(&analyze(&[&ap, &ep], &[])).is_empty());
    for zone in ["+0200", "Etc/GMT-2"] {
        let r = analyze(&[&ap, &ep], &["--tz", zone]);
        assert_eq!(
            incident_on(&r, "10.0.0.2:8080").diagnosis.cause,
            "upstream_protocol",
            "{zone}"
        );
        let mut sigs = cited(&r);
        sigs.sort();
        sigs.dedup();
        assert_eq!(
            sigs,
            [
                "nginx.upstream.connect_refused",
                "nginx.upstream.too_big_header"
            ],
            "{zone}"
        );
    }
}

#[test]
fn a_keyed_line_of_another_request_is_not_joined_by_time() {
    // The access log carries connection numbers; an error-log line whose connection ended
    // in a 200 (a retried attempt) is not evidence for the incident next to it.
    let dir = tempfile::tempdir().unwrap();
    let a = "10.0.0.1:8080";
    let mut reqs = steady(T0, T0 + 1200, 3, &[("api.example", "/api/orders", a)]);
    for t in T0 + 900..T0 + 960 {
        reqs.push(
            Req::ok(t, "api.example", "/api/orders", a)
                .status(504, "504")
                .took("2.000"),
        );
    }
    reqs.sort_by_key(|r| r.t);
    let mut access = Vec::new();
    let mut errors = Vec::new();
    for (n, r) in reqs.iter().enumerate() {
        let conn = 1 + n as u64;
        access.push(format!("{} {conn}", r.line()));
        if r.status == 504 {
            errors.push(error_line(r.t, conn, "upstream timed out (110: Connection timed out) while reading response header from upstream", r.path, a, r.host));
        } else if r.t >= T0 + 900 && r.t < T0 + 960 {
            // A line about a request that succeeded.
            errors.push(error_line(r.t, conn, TOO_BIG, r.path, a, r.host));
        }
    }
    let ap = dir.path().join("access.log");
    let ep = dir.path().join("error.log");
    std::fs::write(&ap, access.join("\n") + "\n").unwrap();
    std::fs::write(&ep, errors.join("\n") + "\n").unwrap();
    let r = analyze(&[&ap, &ep], &["--log-format", WITH_CONN]);
    assert_eq!(r.incidents.len(), 1);
    let d = &r.incidents[0].diagnosis;
    assert_eq!(d.cause, "upstream_timeout", "{d:#?}");
    assert!(
        d.evidence
            .iter()
            .all(|e| e.signature.as_deref() != Some("nginx.upstream.too_big_header")),
        "{:#?}",
        d.evidence
    );
    // Both kinds of line are still listed as error groups.
    assert_eq!(r.error_groups.len(), 2, "{:#?}", r.error_groups);
    assert!(r.error_groups.iter().all(|g| g.signature.is_some()));
}

#[test]
fn a_php_trace_over_several_lines_is_one_event() {
    let dir = tempfile::tempdir().unwrap();
    let up = "unix:/run/php/php8.2-fpm.sock";
    let mut reqs = steady(T0, T0 + 1200, 2, &[("shop.example", "/index.php", up)]);
    let mut errors = Vec::new();
    for t in T0 + 900..T0 + 940 {
        reqs.push(
            Req::ok(t, "shop.example", "/index.php", up)
                .status(500, "500")
                .took("0.050"),
        );
        let (y, mo, d) = civil_from_days(t.div_euclid(86_400));
        let sod = t.rem_euclid(86_400);
        errors.push(format!(
            "{y}/{mo:02}/{d:02} {:02}:{:02}:{:02} [error] 31#31: *{t} FastCGI sent in stderr: \"PHP message: PHP Fatal error:  Uncaught Error: Call to undefined function render_cart() in /var/www/html/cart.php:{}",
            sod / 3600, sod / 60 % 60, sod % 60, t % 7 + 10
        ));
        errors.push("Stack trace:".into());
        errors.push("#0 /var/www/html/index.php(12): include()".into());
        errors.push(format!("#1 {{main}}\" while reading response header from upstream, client: 203.0.113.7, server: shop.example, request: \"GET /index.php HTTP/1.1\", upstream: \"fastcgi://{up}:\", host: \"shop.example\""));
    }
    let ap = dir.path().join("access.log");
    let ep = dir.path().join("error.log");
    std::fs::write(&ap, log(reqs).join("\n") + "\n").unwrap();
    std::fs::write(&ep, errors.join("\n") + "\n").unwrap();
    let r = analyze(&[&ap, &ep], &[]);
    let err_input = r.inputs.iter().find(|i| i.kind == "error").unwrap();
    assert_eq!(
        err_input.malformed, 0,
        "continuation lines are part of their event"
    );
    assert_eq!(r.error_groups.len(), 1, "{:#?}", r.error_groups);
    let g = &r.error_groups[0];
    assert_eq!(g.count, 40);
    assert!(
        g.sample.contains("Stack trace:") && g.sample.contains("#1 {main}"),
        "{}",
        g.sample
    );
    assert_eq!(r.incidents.len(), 1);
    assert_eq!(r.incidents[0].diagnosis.cause, "app_error");
    assert!(
        r.incidents[0]
            .diagnosis
            .evidence
            .iter()
            .any(|e| e.signature.is_some() && e.count == 40),
        "{:#?}",
        r.incidents[0].diagnosis.evidence
    );
}

#[test]
fn failed_over_attempts_are_a_finding_with_their_error_lines_and_posts_an_incident() {
    // Server A refuses connections; nginx retries GETs on B (the client gets 200) but not
    // POSTs, which are not idempotent: those reach the client as 502.
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = ("10.0.0.1:8080", "10.0.0.2:8080");
    let pool = [
        ("api.example", "/api/items", a),
        ("api.example", "/api/items", b),
    ];
    let mut access = Vec::new();
    let mut errors = Vec::new();
    for t in T0..T0 + 1200 {
        let broken = (T0 + 900..T0 + 1000).contains(&t);
        for (host, path, up) in pool {
            let r = if broken && up == a {
                let mut r = Req::ok(t, host, path, a);
                r.up_addr = format!("{a}, {b}");
                r.up_status = "502, 200".into();
                r.up_time = "0.000, 0.020".into();
                errors.push(error_line(t, 0, REFUSED, path, a, host).replace("*0 ", ""));
                r
            } else {
                Req::ok(t, host, path, up)
            };
            access.push(r.line());
        }
        if broken && t % 2 == 0 {
            let r = Req::ok(t, "api.example", "/api/orders", a)
                .status(502, "502")
                .took("0.000");
            access.push(r.line().replace("\"GET ", "\"POST "));
            errors.push(
                error_line(t, 0, REFUSED, "/api/orders", a, "api.example").replace("*0 ", ""),
            );
        } else {
            access.push(
                Req::ok(t, "api.example", "/api/orders", b)
                    .line()
                    .replace("\"GET ", "\"POST "),
            );
        }
    }
    let ap = dir.path().join("access.log");
    let ep = dir.path().join("error.log");
    std::fs::write(&ap, access.join("\n") + "\n").unwrap();
    std::fs::write(&ep, errors.join("\n") + "\n").unwrap();
    let r = analyze(&[&ap, &ep], &[]);

    let f = r
        .findings
        .iter()
        .find(|f| f.kind == "degraded_upstream")
        .unwrap_or_else(|| panic!("no degraded_upstream finding: {:#?}", r.findings));
    assert_eq!(f.scope.upstreams, vec![a.to_string()]);
    let cited = f
        .evidence
        .iter()
        .find(|e| e.signature.as_deref() == Some("nginx.upstream.connect_refused"))
        .unwrap_or_else(|| panic!("no error-log evidence: {:#?}", f.evidence));
    assert!(cited.count >= 100, "{cited:?}");

    assert_eq!(r.incidents.len(), 1, "{:#?}", r.incidents);
    let inc = &r.incidents[0];
    assert_eq!(inc.scope.routes, vec!["/api/orders".to_string()]);
    assert_eq!(inc.diagnosis.cause, "upstream_down");
    assert_eq!(inc.errors, 50);
}

/// `2024-03-12 08:15:00,123 +0000` as Python logging writes it with `%z`.
fn py_time(t: i64) -> String {
    let (y, mo, d) = civil_from_days(t.div_euclid(86_400));
    let sod = t.rem_euclid(86_400);
    format!(
        "{y}-{mo:02}-{d:02} {:02}:{:02}:{:02},123 +0000",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

fn traceback(t: i64, path: &str, exc: &str) -> String {
    format!(
        "{} ERROR app: Exception on {path} [GET]\nTraceback (most recent call last):\n  File \"/srv/app/views.py\", line 41, in orders\n    rows = session.execute(query)\n  File \"/srv/app/db.py\", line 12, in execute\n    conn = pool.connect()\n{exc}",
        py_time(t)
    )
}

#[test]
fn application_tracebacks_name_the_dependency_that_failed() {
    // The app answers 500 because its database pool is exhausted; the access log can only
    // say "the application failed", its own log says why.
    let dir = tempfile::tempdir().unwrap();
    let up = "10.0.0.5:8000";
    let mut reqs = steady(T0, T0 + 1200, 3, &[("api.example", "/api/orders", up)]);
    let mut app = Vec::new();
    for t in T0..T0 + 1200 {
        if t % 120 == 0 {
            app.push(format!("{} INFO app: worker alive", py_time(t)));
        }
        if (T0 + 900..T0 + 960).contains(&t) {
            reqs.push(
                Req::ok(t, "api.example", "/api/orders", up)
                    .status(500, "500")
                    .took("0.300"),
            );
            app.push(traceback(t, "/api/orders", &format!(
                "sqlalchemy.exc.TimeoutError: QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 0.{:02} (Background on this error at: https://sqlalche.me/e/20/3o7r)",
                t % 90 + 10
            )));
        }
    }
    let ap = dir.path().join("access.log");
    let lp = dir.path().join("app.log");
    std::fs::write(&ap, log(reqs).join("\n") + "\n").unwrap();
    std::fs::write(&lp, app.join("\n") + "\n").unwrap();

    // Without the app log: the application failed.
    let r = analyze(&[&ap], &[]);
    assert_eq!(r.incidents[0].diagnosis.cause, "app_error");

    let r = analyze(&[&ap, &lp], &[]);
    assert_eq!(r.incidents.len(), 1);
    let d = &r.incidents[0].diagnosis;
    assert_eq!(d.cause, "dependency_failure", "{d:#?}");
    let ev = &d.evidence[0];
    assert_eq!(
        ev.signature.as_deref(),
        Some("sqlalchemy.queuepool_timeout")
    );
    assert_eq!(ev.count, 60);
    assert!(ev.source.ends_with("app.log"));
    assert!(
        ev.text
            .starts_with("sqlalchemy.exc.TimeoutError: QueuePool limit"),
        "{}",
        ev.text
    );
    let lines: Vec<&str> = app_text(&lp);
    assert!(lines[ev.line as usize - 1].contains("ERROR app: Exception on /api/orders"));
    assert!(
        d.reasons[0].contains("application-log events match sqlalchemy.queuepool_timeout"),
        "{:?}",
        d.reasons
    );
    assert!(
        d.alternatives.iter().any(|a| a.cause == "app_error"),
        "{:?}",
        d.alternatives
    );

    // The 60 tracebacks are one group: numbers in the message do not split it.
    let g: Vec<_> = r
        .error_groups
        .iter()
        .filter(|g| g.kind == "python.traceback")
        .collect();
    assert_eq!(g.len(), 1, "{:#?}", r.error_groups);
    assert_eq!(g[0].count, 60);
    assert!(g[0].new);
    assert!(g[0].sample.contains("Traceback (most recent call last):"));
    let app_input = r.inputs.iter().find(|i| i.kind == "app").unwrap();
    assert_eq!(app_input.malformed, 0);
}

fn app_text(p: &Path) -> Vec<&'static str> {
    let s: &'static str = Box::leak(std::fs::read_to_string(p).unwrap().into_boxed_str());
    s.lines().collect()
}

#[test]
fn a_worker_timeout_behind_a_premature_close_means_the_app_was_too_slow() {
    // gunicorn kills a worker after its 30 s timeout; nginx sees the connection close
    // before a response header and answers 502. Neither log alone says "slow".
    let dir = tempfile::tempdir().unwrap();
    let up = "10.0.0.7:8000";
    let mut reqs = steady(T0, T0 + 1200, 3, &[("api.example", "/api/report", up)]);
    let mut errors = Vec::new();
    let mut app = Vec::new();
    for t in T0 + 900..T0 + 960 {
        reqs.push(
            Req::ok(t, "api.example", "/api/report", up)
                .status(502, "502")
                .took("30.001"),
        );
        errors.push(error_line(t, 0, "upstream prematurely closed connection while reading response header from upstream", "/api/report", up, "api.example").replace("*0 ", ""));
        let (y, mo, d) = civil_from_days(t.div_euclid(86_400));
        let sod = t.rem_euclid(86_400);
        app.push(format!(
            "[{y}-{mo:02}-{d:02} {:02}:{:02}:{:02} +0000] [1] [CRITICAL] WORKER TIMEOUT (pid:{})",
            sod / 3600,
            sod / 60 % 60,
            sod % 60,
            100 + t % 50
        ));
    }
    let ap = dir.path().join("access.log");
    let ep = dir.path().join("error.log");
    let lp = dir.path().join("gunicorn.log");
    std::fs::write(&ap, log(reqs).join("\n") + "\n").unwrap();
    std::fs::write(&ep, errors.join("\n") + "\n").unwrap();
    std::fs::write(&lp, app.join("\n") + "\n").unwrap();

    let r = analyze(&[&ap, &ep], &[]);
    assert_eq!(r.incidents[0].diagnosis.cause, "upstream_reset");

    let r = analyze(&[&ap, &ep, &lp], &[]);
    let d = &r.incidents[0].diagnosis;
    assert_eq!(d.cause, "upstream_timeout", "{d:#?}");
    assert!(
        d.reasons[0].contains("gunicorn.worker_timeout") && d.reasons[0].contains("too slow"),
        "{:?}",
        d.reasons
    );
    let cited: Vec<&str> = d
        .evidence
        .iter()
        .filter_map(|e| e.signature.as_deref())
        .collect();
    assert!(cited.contains(&"gunicorn.worker_timeout"), "{cited:?}");
}
