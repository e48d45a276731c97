//! The default incident detector, as the report contract specifies it, fed real nginx lines.

mod common;

use common::*;

const API: &str = "api.example.com";
const SHOP: &str = "shop.example.com";
const UP1: &str = "10.0.0.1:8080";
const UP2: &str = "10.0.0.2:8080";

/// Ten minutes of healthy traffic on two hosts, before anything goes wrong.
fn background(to: i64) -> Vec<Req> {
    steady(
        T0,
        T0 + to,
        2,
        &[(API, "/api/orders/17", UP1), (SHOP, "/search", UP2)],
    )
}

fn refused(t: i64, host: &'static str, path: &'static str, up: &str) -> Req {
    Req::ok(t, host, path, up).status(502, "502").took("0.000")
}

#[test]
fn one_error_in_three_requests_is_no_incident() {
    let mut reqs = vec![
        Req::ok(T0 + 5, API, "/api/rare", UP1),
        Req::ok(T0 + 5, API, "/api/rare", UP1),
        refused(T0 + 5, API, "/api/rare", UP1),
    ];
    reqs.extend(background(60));
    assert!(incidents(&log(reqs), 1000).is_empty());
}

#[test]
fn a_steady_trickle_of_background_errors_is_no_incident() {
    let mut reqs = background(900);
    // One 500 every 30 s on a route that serves 4 requests a second: ≈ 0.8 %.
    for k in 0..30 {
        reqs.push(Req::ok(T0 + k * 30, API, "/api/orders/17", UP1).status(500, "500"));
    }
    assert!(incidents(&log(reqs), 1000).is_empty());
}

#[test]
fn two_concurrent_problems_with_different_causes_are_two_incidents() {
    let mut reqs = background(400);
    for t in T0 + 200..T0 + 240 {
        reqs.push(refused(t, API, "/api/orders/17", UP1));
        reqs.push(refused(t, API, "/api/orders/18", UP1));
        reqs.push(
            Req::ok(t, SHOP, "/search", UP2)
                .status(504, "504")
                .took("60.001"),
        );
    }
    let got = incidents(&log(reqs), 1000);
    let mut c = causes(&got);
    c.sort();
    assert_eq!(c, vec!["upstream_down", "upstream_timeout"], "{got:#?}");
    let down = got
        .iter()
        .find(|i| i.diagnosis.cause == "upstream_down")
        .unwrap();
    assert_eq!(down.scope.upstreams, vec![UP1]);
    assert_eq!(down.scope.routes, vec!["/api/orders/{id}"]);
    assert_eq!(down.status.get("502"), Some(&80));
    let slow = got
        .iter()
        .find(|i| i.diagnosis.cause == "upstream_timeout")
        .unwrap();
    assert_eq!(slow.scope.hosts, vec![SHOP]);
    assert!(
        slow.diagnosis.reasons.iter().any(|r| r.contains("60s")),
        "{:?}",
        slow.diagnosis.reasons
    );
}

#[test]
fn different_causes_on_one_host_stay_apart() {
    let mut reqs = steady(
        T0,
        T0 + 400,
        2,
        &[(API, "/api/orders/1", UP1), (API, "/api/users/1", UP2)],
    );
    for t in T0 + 200..T0 + 240 {
        reqs.push(refused(t, API, "/api/orders/1", UP1));
        reqs.push(
            Req::ok(t, API, "/api/users/1", UP2)
                .status(500, "500")
                .took("0.030"),
        );
    }
    let got = incidents(&log(reqs), 1000);
    let mut c = causes(&got);
    c.sort();
    assert_eq!(c, vec!["app_error", "upstream_down"]);
}

#[test]
fn a_crash_that_gives_502s_then_503s_is_one_incident() {
    let mut reqs = background(400);
    for t in T0 + 200..T0 + 220 {
        for _ in 0..2 {
            reqs.push(refused(t, API, "/api/orders/17", UP1));
        }
    }
    // The process is back but still starting: it answers 503 itself.
    for t in T0 + 220..T0 + 240 {
        for _ in 0..2 {
            reqs.push(
                Req::ok(t, API, "/api/orders/17", UP1)
                    .status(503, "503")
                    .took("0.004"),
            );
        }
    }
    let got = incidents(&log(reqs), 1000);
    assert_eq!(got.len(), 1, "{got:#?}");
    let inc = &got[0];
    assert_eq!(inc.status.get("502"), Some(&40));
    assert_eq!(inc.status.get("503"), Some(&40));
    assert_eq!(inc.diagnosis.cause, "upstream_down");
    assert_eq!(inc.state, "resolved");
    assert_eq!(inc.start, "2024-03-12T08:03:20+00:00");
    assert_eq!(inc.end, "2024-03-12T08:03:59+00:00");
}

#[test]
fn the_same_log_fed_whole_or_line_by_line_gives_the_same_incidents() {
    let mut reqs = background(500);
    for t in T0 + 200..T0 + 230 {
        reqs.push(refused(t, API, "/api/orders/17", UP1));
        reqs.push(
            Req::ok(t, SHOP, "/search", UP2)
                .status(504, "504")
                .took("60.001"),
        );
    }
    for t in T0 + 300..T0 + 330 {
        reqs.push(Req::ok(t, API, "/api/orders/17", UP1).status(500, "500"));
    }
    let lines = log(reqs);
    let whole = serde_json::to_value(incidents(&lines, lines.len())).unwrap();
    assert_eq!(whole.as_array().unwrap().len(), 3);
    for chunk in [1, 7, 100] {
        let cut = serde_json::to_value(incidents(&lines, chunk)).unwrap();
        assert_eq!(whole, cut, "chunks of {chunk} lines");
    }
}

#[test]
fn an_incident_still_failing_at_the_end_of_the_input_is_open() {
    let mut reqs = background(300);
    for t in T0 + 250..T0 + 300 {
        reqs.push(refused(t, API, "/api/orders/17", UP1));
    }
    let got = incidents(&log(reqs), 1000);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].state, "open");
}

#[test]
fn ids_name_the_utc_start_and_hash_cause_and_scope() {
    let mut reqs = background(400);
    for t in T0 + 200..T0 + 230 {
        reqs.push(refused(t, API, "/api/orders/17", UP1));
    }
    let lines = log(reqs);
    let a = incidents(&lines, 1000);
    let b = incidents(&lines, 3);
    assert_eq!(a[0].id, b[0].id);
    assert!(a[0].id.starts_with("inc-20240312T080320-"), "{}", a[0].id);
    assert_eq!(a[0].id.len(), "inc-20240312T080320-".len() + 8);
}

#[test]
fn a_route_quiet_for_longer_than_the_baseline_still_alarms_when_it_fails() {
    let mut reqs = background(1500);
    reqs.push(Req::ok(T0 + 5, API, "/api/reports/1", UP1));
    // Silent for 20 minutes, then half of its requests fail for two minutes.
    for t in T0 + 1205..T0 + 1325 {
        reqs.push(Req::ok(t, API, "/api/reports/1", UP1));
        reqs.push(refused(t, API, "/api/reports/1", UP1));
    }
    let got = incidents(&log(reqs), 1000);
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].scope.routes, vec!["/api/reports/{id}"]);
}

#[test]
fn a_long_partial_failure_stays_one_incident() {
    let mut reqs = background(2400);
    // 30 % of one route's requests fail for 20 minutes, at 3 requests a second.
    for t in T0 + 900..T0 + 2100 {
        for k in 0..3 {
            let r = Req::ok(t, API, "/api/products/9", UP1);
            reqs.push(if (t * 3 + k) % 10 < 3 {
                r.status(500, "500")
            } else {
                r
            });
        }
    }
    let got = incidents(&log(reqs), 1000);
    assert_eq!(
        got.len(),
        1,
        "{:#?}",
        got.iter()
            .map(|i| (&i.start, &i.end, i.errors))
            .collect::<Vec<_>>()
    );
}

#[test]
fn servers_retried_at_nginx_pace_are_a_degraded_upstream() {
    let mut reqs = background(600);
    // nginx tries a dead server max_fails=3 times per fail_timeout=10s, then retries elsewhere.
    for t in (T0 + 100..T0 + 340).step_by(10) {
        for k in 0..3 {
            let mut r = Req::ok(t + k, API, "/api/orders/17", "10.0.0.3:8080, 10.0.0.1:8080");
            r.up_status = "502, 200".into();
            r.up_time = "0.000, 0.020".into();
            reqs.push(r);
        }
    }
    let outcome = run(&log(reqs), 1000, "extended");
    assert!(outcome.incidents.is_empty());
    assert_eq!(outcome.degraded.len(), 1);
    assert_eq!(&*outcome.degraded[0].upstream, b"10.0.0.3:8080");
    assert_eq!(outcome.degraded[0].count, 72);
    assert_eq!(outcome.degraded[0].failed_status.get(&502), Some(&72));
}

#[test]
fn a_few_failovers_in_two_minutes_are_no_finding() {
    let mut reqs = background(600);
    // A restart: the server refuses a few attempts, retried elsewhere, then is back.
    for t in [T0 + 100, T0 + 101, T0 + 130, T0 + 190, T0 + 215] {
        let mut r = Req::ok(t, API, "/api/orders/17", "10.0.0.3:8080, 10.0.0.1:8080");
        r.up_status = "502, 200".into();
        r.up_time = "0.000, 0.020".into();
        reqs.push(r);
    }
    let outcome = run(&log(reqs), 1000, "extended");
    assert!(outcome.incidents.is_empty());
    assert!(outcome.degraded.is_empty(), "{:?}", outcome.degraded);
}

#[test]
fn a_new_problem_next_to_an_incident_waiting_to_close_is_a_new_incident() {
    // Two upstreams of one host fail one after the other with the same access-log shape
    // (fast 502s); the first incident has not closed yet (little traffic closes it slowly)
    // when the second starts 15 s after its last 5xx.
    let (a, b) = ("10.0.0.1:8080", "10.0.0.2:8080");
    let mut reqs = steady(T0, T0 + 600, 1, &[(API, "/api/a", a), (API, "/api/b", b)]);
    let failing = |r: &Req| {
        ((T0 + 300..T0 + 320).contains(&r.t) && r.path == "/api/a")
            || ((T0 + 335..T0 + 355).contains(&r.t) && r.path == "/api/b")
    };
    reqs.retain(|r| !failing(r));
    for t in T0 + 300..T0 + 320 {
        reqs.push(
            Req::ok(t, API, "/api/a", a)
                .status(502, "502")
                .took("0.000"),
        );
    }
    for t in T0 + 335..T0 + 355 {
        reqs.push(
            Req::ok(t, API, "/api/b", b)
                .status(502, "502")
                .took("0.000"),
        );
    }
    let outcome = run(&log(reqs), 1000, "extended");
    assert_eq!(outcome.incidents.len(), 2, "{:#?}", outcome.incidents);
    assert_eq!(outcome.incidents[0].errors, 20);
    assert_eq!(outcome.incidents[1].errors, 20);
}

#[test]
fn advancing_an_idle_watermark_in_steps_finds_what_reading_straight_on_finds() {
    let mut reqs = background(900);
    for t in T0 + 200..T0 + 230 {
        reqs.push(refused(t, API, "/api/orders/17", UP1));
    }
    // A gap with no line at all: the incident closes in it, live or not.
    for t in T0 + 400..T0 + 430 {
        reqs.push(Req::ok(t, API, "/api/orders/17", UP1).status(500, "500"));
    }
    reqs.retain(|r| !(T0 + 240..T0 + 380).contains(&r.t));
    for t in T0 + 700..T0 + 720 {
        reqs.push(refused(t, SHOP, "/search", UP2));
    }
    let lines = log(reqs);
    let straight = common::run(&lines, lines.len(), "extended");
    let stepped = common::run_live(&lines, 37);
    let key = |i: &faultline_detect::Incident| (i.start, i.end, i.errors, i.cause_hint, i.open);
    let want: Vec<_> = straight.incidents.iter().map(key).collect();
    let got: Vec<_> = stepped.iter().map(key).collect();
    assert_eq!(want.len(), 3);
    assert_eq!(want, got);
}
