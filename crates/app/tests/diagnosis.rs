//! What the access log alone tells about an incident: each tell gives its cause, its
//! reasons and its evidence, and without a tell the answer is `unknown`.

mod common;

use common::*;
use faultline::report::incident_report;

const HOST: &str = "shop.example.com";
const UP: &str = "10.0.8.11:3000";

fn base() -> Vec<Req> {
    steady(T0, T0 + 300, 3, &[(HOST, "/", UP), (HOST, "/cart", UP)])
}

#[test]
fn refused_connections_fail_in_zero_ms() {
    let mut reqs = base();
    for t in T0 + 100..T0 + 130 {
        reqs.push(Req::ok(t, HOST, "/", UP).status(502, "502").took("0.000"));
    }
    let got = incidents(&log(reqs), 500);
    let d = &got[0].diagnosis;
    assert_eq!(d.cause, "upstream_down");
    assert_eq!(d.category, "application");
    assert!(d.confidence >= 0.8);
    assert!(
        d.reasons[0].contains("refused, not timed out"),
        "{:?}",
        d.reasons
    );
    let ev = &d.evidence[0];
    assert_eq!(ev.source, "access.log");
    assert_eq!(ev.count, 30);
    assert!(ev.sample.as_deref().unwrap().contains("\" 502 "));
    assert!(d.remediation.iter().any(|r| r.contains(UP)));
}

#[test]
fn no_live_upstreams_names_the_pool() {
    let mut reqs = base();
    for t in T0 + 100..T0 + 130 {
        let mut r = Req::ok(t, HOST, "/", "shop_backend")
            .status(502, "502")
            .took("0.000");
        r.up_time = "0.000".into();
        reqs.push(r);
    }
    let got = incidents(&log(reqs), 500);
    assert_eq!(got[0].diagnosis.cause, "upstream_down");
    assert!(got[0]
        .diagnosis
        .reasons
        .iter()
        .any(|r| r.contains("no live upstreams")));
}

#[test]
fn a_504_at_a_fixed_duration_is_the_proxy_timeout_learned_from_the_data() {
    let mut reqs = base();
    for t in T0 + 100..T0 + 130 {
        reqs.push(
            Req::ok(t, HOST, "/cart", UP)
                .status(504, "504")
                .took(if t % 2 == 0 { "2.001" } else { "2.003" }),
        );
    }
    let got = incidents(&log(reqs), 500);
    let d = &got[0].diagnosis;
    assert_eq!(d.cause, "upstream_timeout");
    assert!(d.summary.contains("2s"), "{}", d.summary);
    assert!(d.reasons[0].contains("2.00"), "{:?}", d.reasons);
}

#[test]
fn a_502_at_the_app_servers_timeout_is_a_killed_worker() {
    let mut reqs = base();
    for t in T0 + 100..T0 + 160 {
        reqs.push(
            Req::ok(t, HOST, "/cart", UP)
                .status(502, "502")
                .took("30.002"),
        );
    }
    let got = incidents(&log(reqs), 500);
    let d = &got[0].diagnosis;
    assert_eq!(d.cause, "upstream_timeout");
    assert!(
        d.reasons.iter().any(|r| r.contains("app server")),
        "{:?}",
        d.reasons
    );
}

#[test]
fn application_500s_are_produced_by_the_upstream() {
    let mut reqs = base();
    for t in T0 + 100..T0 + 130 {
        reqs.push(
            Req::ok(t, HOST, "/cart", UP)
                .status(500, "500")
                .took("0.012"),
        );
    }
    let got = incidents(&log(reqs), 500);
    assert_eq!(got[0].diagnosis.cause, "app_error");
    assert!(got[0].diagnosis.reasons[0].contains("upstream_status 500"));
}

#[test]
fn proxy_made_503s_among_served_traffic_are_rate_limiting() {
    let mut reqs = base();
    for t in T0 + 100..T0 + 130 {
        reqs.push(
            Req::ok(t, HOST, "/", UP)
                .status(503, "-")
                .no_upstream()
                .took("0.000"),
        );
    }
    let got = incidents(&log(reqs), 500);
    assert_eq!(causes(&got), vec!["rate_limited"]);
}

#[test]
fn proxy_made_503s_for_nearly_everything_look_like_maintenance() {
    let mut reqs = steady(T0, T0 + 100, 3, &[(HOST, "/", UP)]);
    for t in T0 + 100..T0 + 160 {
        for _ in 0..3 {
            reqs.push(
                Req::ok(t, HOST, "/", UP)
                    .status(503, "-")
                    .no_upstream()
                    .took("0.000"),
            );
        }
    }
    let got = incidents(&log(reqs), 500);
    let d = &got[0].diagnosis;
    assert_eq!(d.cause, "maintenance");
    assert!(d.confidence <= 0.7);
}

#[test]
fn maintenance_followed_by_healthy_traffic_is_still_maintenance() {
    // The healthy requests that close the incident after the switch is turned off are not
    // part of the 503s' span: the share is taken up to the last 503.
    let mut reqs = steady(T0, T0 + 100, 2, &[(HOST, "/", UP)]);
    for t in T0 + 100..T0 + 130 {
        for _ in 0..2 {
            reqs.push(
                Req::ok(t, HOST, "/", UP)
                    .status(503, "-")
                    .no_upstream()
                    .took("0.000"),
            );
        }
    }
    reqs.extend(steady(T0 + 130, T0 + 300, 2, &[(HOST, "/", UP)]));
    let got = incidents(&log(reqs), 500);
    assert_eq!(causes(&got), vec!["maintenance"]);
}

#[test]
fn proxy_made_500s_are_a_proxy_error() {
    let mut reqs = base();
    for t in T0 + 100..T0 + 130 {
        reqs.push(
            Req::ok(t, HOST, "/cart", UP)
                .status(500, "-")
                .no_upstream()
                .took("0.000"),
        );
    }
    let got = incidents(&log(reqs), 500);
    assert_eq!(causes(&got), vec!["proxy_error"]);
}

#[test]
fn retries_that_failed_over_are_a_degraded_upstream_finding_not_an_incident() {
    let mut reqs = base();
    for t in T0 + 100..T0 + 130 {
        let mut r = Req::ok(t, HOST, "/cart", "10.0.8.12:3000, 10.0.8.11:3000");
        r.up_status = "502, 200".into();
        r.up_time = "0.000, 0.020".into();
        reqs.push(r);
    }
    let outcome = run(&log(reqs), 500, "extended");
    assert!(outcome.incidents.is_empty());
    assert_eq!(outcome.degraded.len(), 1);
    let d = &outcome.degraded[0];
    assert_eq!(&*d.upstream, b"10.0.8.12:3000");
    assert_eq!(d.count, 30);
}

#[test]
fn without_upstream_fields_the_cause_is_unknown_with_the_fields_to_add() {
    let mut lines: Vec<String> = Vec::new();
    let mut reqs = base();
    for t in T0 + 100..T0 + 130 {
        reqs.push(
            Req::ok(t, HOST, "/cart", UP)
                .status(502, "502")
                .took("0.000"),
        );
    }
    reqs.sort_by_key(|r| r.t);
    for r in &reqs {
        // Cut the line down to nginx's predefined `combined` format.
        let l = r.line();
        let end = l
            .find("\" ")
            .map(|i| l[i + 2..].find("\" \"").unwrap() + i + 2)
            .unwrap();
        let ua_end = l[end + 3..].find('"').unwrap() + end + 3;
        lines.push(l[..=ua_end].to_string());
    }
    let outcome = run(&lines, 500, "combined");
    let rep = incident_report(&outcome.incidents[0], 0.1, &["access.log".into()], None);
    assert_eq!(rep.diagnosis.cause, "unknown");
    assert!(
        rep.diagnosis
            .reasons
            .iter()
            .any(|r| r.contains("$upstream_status")),
        "{:?}",
        rep.diagnosis.reasons
    );
}

#[test]
fn apache_style_503s_that_name_their_member_and_fail_at_once_are_refusals() {
    let mut reqs = base();
    for t in T0 + 100..T0 + 130 {
        reqs.push(
            Req::ok(t, HOST, "/", "http://127.0.0.1:8081")
                .status(503, "-")
                .took("0.000"),
        );
    }
    let got = incidents(&log(reqs), 500);
    assert_eq!(causes(&got), vec!["upstream_down"], "{got:#?}");
    assert!(got[0].diagnosis.reasons[0].contains("name their backend member"));
}

#[test]
fn apache_style_500s_that_reached_their_member_are_application_errors() {
    let mut reqs = base();
    for t in T0 + 100..T0 + 130 {
        reqs.push(
            Req::ok(t, HOST, "/cart", "http://127.0.0.1:8081")
                .status(500, "-")
                .took("0.030"),
        );
    }
    let got = incidents(&log(reqs), 500);
    assert_eq!(causes(&got), vec!["app_error"]);
}

#[test]
fn a_503_majority_with_a_few_500s_is_overload_not_an_application_error() {
    let mut reqs = base();
    for t in T0 + 100..T0 + 120 {
        for _ in 0..2 {
            reqs.push(
                Req::ok(t, HOST, "/cart", UP)
                    .status(503, "503")
                    .took("0.010"),
            );
        }
        if t % 4 == 0 {
            reqs.push(
                Req::ok(t, HOST, "/cart", UP)
                    .status(500, "500")
                    .took("0.010"),
            );
        }
    }
    let got = incidents(&log(reqs), 500);
    assert_eq!(causes(&got), vec!["overload"], "{got:#?}");
}

#[test]
fn without_upstream_fields_a_504_is_not_guessed() {
    let mut reqs = base();
    for t in T0 + 100..T0 + 130 {
        reqs.push(
            Req::ok(t, HOST, "/cart", UP)
                .status(504, "504")
                .took("60.000"),
        );
    }
    reqs.sort_by_key(|r| r.t);
    let lines: Vec<String> = reqs.iter().map(|r| combined(&r.line())).collect();
    let outcome = run(&lines, 500, "combined");
    let rep = incident_report(&outcome.incidents[0], 0.1, &["access.log".into()], None);
    assert_eq!(rep.diagnosis.cause, "unknown");
    assert_eq!(rep.diagnosis.evidence[0].text, "status=504");
}

/// Cuts an `extended` line down to nginx's predefined `combined` format.
fn combined(l: &str) -> String {
    let end = l
        .find("\" ")
        .map(|i| l[i + 2..].find("\" \"").unwrap() + i + 2)
        .unwrap();
    let ua_end = l[end + 3..].find('"').unwrap() + end + 3;
    l[..=ua_end].to_string()
}
