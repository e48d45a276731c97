//! The edge's rules as a client meets them through `router(state)` with `oneshot`: every
//! method of a data route is authenticated, every error has the one JSON shape, incidents
//! filter by host, route and upstream, and report, series and top narrow to one of them.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{get, req, send_raw, Fake};
use faultline_serve::{router, router_at, Scope};
use serde_json::Value;

/// Every data route of the router, as a client asks for it.
const DATA_ROUTES: [&str; 14] = [
    "/api/v1/report",
    "/api/v1/incidents",
    "/api/v1/incidents/inc-1",
    "/api/v1/status",
    "/api/v1/series",
    "/api/v1/top",
    "/api/v1/error-groups",
    "/api/v1/inputs",
    "/api/v1/events",
    "/api/v1/alerts",
    "/api/v1/notifications",
    "/api/v1/silences",
    "/metrics",
    "/api/v1/report?from=2024-03-12T08:00:00Z",
];

fn with_read_token() -> Arc<Fake> {
    Arc::new(Fake {
        read: vec!["r3ad".into()],
        token: Some("adm1n".into()),
        ..Fake::default()
    })
}

fn head(uri: &str, token: Option<&str>) -> Request<Body> {
    let mut r = Request::head(uri);
    if let Some(t) = token {
        r = r.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    r.body(Body::empty()).unwrap()
}

/// The body of an error answer, checked to be the API's one shape.
fn error_of(status: StatusCode, body: &[u8]) -> Value {
    let v: Value = serde_json::from_slice(body).unwrap_or_else(|e| {
        panic!(
            "{status}: the body is not JSON ({e}): {:?}",
            String::from_utf8_lossy(body)
        )
    });
    assert_eq!(v["error"]["status"], status.as_u16(), "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{v}"
    );
    v
}

#[tokio::test]
async fn regression_head_requests_reached_data_routes_without_a_read_token() {
    for uri in DATA_ROUTES {
        let (st, h, body) = send_raw(router(with_read_token()), head(uri, None)).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "HEAD {uri} without a token");
        assert_eq!(h[header::WWW_AUTHENTICATE], "Bearer", "HEAD {uri}");
        assert!(body.is_empty(), "HEAD {uri} answered with a body");
        let (st, _, _) = send_raw(router(with_read_token()), head(uri, Some("wrong"))).await;
        assert_eq!(
            st,
            StatusCode::UNAUTHORIZED,
            "HEAD {uri} with a wrong token"
        );
        if uri.ends_with("/events") {
            continue; // a live stream: its GET is checked elsewhere
        }
        let (st, _, _) = send_raw(router(with_read_token()), head(uri, Some("r3ad"))).await;
        assert_eq!(st, StatusCode::OK, "HEAD {uri} with a read token");
    }
    // Under a prefix too, and the open routes stay open.
    let app = || router_at(with_read_token(), "/faultline");
    let (st, _, _) = send_raw(app(), head("/faultline/api/v1/report", None)).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    for open in [
        "/faultline/healthz",
        "/faultline/",
        "/faultline/assets/app.js",
    ] {
        assert_eq!(
            send_raw(app(), head(open, None)).await.0,
            StatusCode::OK,
            "{open}"
        );
    }
}

#[tokio::test]
async fn every_method_of_a_data_route_needs_the_token_first() {
    for method in [Method::PUT, Method::PATCH, Method::DELETE, Method::OPTIONS] {
        let r = Request::builder()
            .method(method.clone())
            .uri("/api/v1/report")
            .body(Body::empty())
            .unwrap();
        let (st, _, body) = send_raw(router(with_read_token()), r).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{method} without a token");
        error_of(st, &body);
    }
}

#[tokio::test]
async fn a_wrong_method_on_a_known_path_is_a_json_405_with_allow() {
    let cases = [
        (Method::POST, "/api/v1/report", "GET,HEAD"),
        (Method::DELETE, "/api/v1/incidents", "GET,HEAD"),
        (Method::PUT, "/api/v1/silences", "GET,HEAD,POST"),
        (Method::GET, "/api/v1/silences/sil-1", "DELETE"),
        (Method::POST, "/metrics", "GET,HEAD"),
        (Method::POST, "/healthz", "GET,HEAD"),
        (Method::DELETE, "/", "GET,HEAD"),
        (Method::POST, "/assets/app.js", "GET,HEAD"),
    ];
    for (method, uri, allow) in cases {
        let r = Request::builder()
            .method(method.clone())
            .uri(uri)
            .body(Body::empty())
            .unwrap();
        let (st, h, body) = send_raw(router(Arc::new(Fake::default())), r).await;
        assert_eq!(st, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
        assert_eq!(h[header::ALLOW], allow, "{method} {uri}");
        assert!(
            h[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{method} {uri}"
        );
        let e = error_of(st, &body);
        let msg = e["error"]["message"].as_str().unwrap();
        assert!(msg.contains(method.as_str()) && msg.contains(uri), "{msg}");
    }
    // With a token, a wrong method is still a 405.
    let r = Request::post("/api/v1/report")
        .header(header::AUTHORIZATION, "Bearer r3ad")
        .body(Body::empty())
        .unwrap();
    let (st, _, body) = send_raw(router(with_read_token()), r).await;
    assert_eq!(st, StatusCode::METHOD_NOT_ALLOWED);
    error_of(st, &body);
}

#[tokio::test]
async fn a_query_string_that_does_not_parse_is_a_json_400() {
    for uri in [
        "/api/v1/report?from=1&from=2",
        "/api/v1/incidents?limit=1&limit=2",
        "/api/v1/incidents?state=open&state=resolved",
        "/api/v1/series?step=10&step=20",
        "/api/v1/top?by=route&by=host",
        "/api/v1/error-groups?to=5&to=6",
        "/api/v1/alerts?since=1&since=2",
        "/api/v1/notifications?limit=1&limit=1",
        "/metrics?format=openmetrics&format=openmetrics",
    ] {
        let (st, h, body) = send_raw(router(Arc::new(Fake::default())), req(uri)).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{uri}");
        assert!(
            h[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("application/json"),
            "{uri}"
        );
        let e = error_of(st, &body);
        assert!(
            e["error"]["message"]
                .as_str()
                .unwrap()
                .contains("duplicate"),
            "{uri}: {e}"
        );
    }
}

#[tokio::test]
async fn a_path_segment_that_is_not_utf8_is_a_json_400() {
    let (st, _, body) = send_raw(
        router(Arc::new(Fake::default())),
        req("/api/v1/incidents/%FF%FE"),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    error_of(st, &body);
}

#[tokio::test]
async fn an_unknown_dashboard_file_is_a_json_404() {
    for uri in [
        "/assets/nothing.js",
        "/assets/..%2Flib.rs",
        "/assets/%3Cscript%3E",
    ] {
        let (st, h, body) = send_raw(router(Arc::new(Fake::default())), req(uri)).await;
        assert_eq!(st, StatusCode::NOT_FOUND, "{uri}");
        assert!(h[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("application/json"));
        error_of(st, &body);
    }
    let (st, _, body) = send_raw(
        router_at(Arc::new(Fake::default()), "/faultline"),
        req("/faultline/assets/nothing.css"),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    error_of(st, &body);
}

async fn ids(fake: Arc<Fake>, uri: &str) -> Vec<String> {
    let (st, body) = get(fake, uri).await;
    assert_eq!(st, StatusCode::OK, "{uri}: {body}");
    body["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn incidents_filter_by_host_route_and_upstream_alone_and_together() {
    let fake = Arc::new(Fake::default());
    let cases: [(&str, &[&str]); 8] = [
        ("host=a", &["inc-0", "inc-1"]),
        ("host=b", &["inc-2"]),
        ("route=%2Fapi%2Fx", &["inc-0", "inc-2"]),
        ("route=/api/y", &["inc-1"]),
        ("upstream=10.0.0.2%3A80", &["inc-1"]),
        ("host=a&route=/api/x", &["inc-0"]),
        ("host=b&upstream=10.0.0.1:80", &[]),
        ("host=c", &[]),
    ];
    for (q, want) in cases {
        let got = ids(fake.clone(), &format!("/api/v1/incidents?{q}")).await;
        assert_eq!(got, want, "{q}");
    }
    // A value is matched whole, not as a prefix.
    assert!(ids(fake, "/api/v1/incidents?route=/api").await.is_empty());
}

#[tokio::test]
async fn report_series_and_top_narrow_to_one_host_route_or_upstream() {
    let fake = Arc::new(Fake::default());
    for (uri, want) in [
        ("/api/v1/report?host=a", ("report", Scope::Host("a".into()))),
        (
            "/api/v1/report?route=%2Fapi%2Fx&from=10",
            ("report", Scope::Route("/api/x".into())),
        ),
        ("/api/v1/report?upstream=", ("report", Scope::All)),
        (
            "/api/v1/top?by=upstream&upstream=10.0.0.1:80",
            ("top", Scope::Upstream("10.0.0.1:80".into())),
        ),
        ("/api/v1/top?by=host", ("top", Scope::All)),
    ] {
        let (st, body) = get(fake.clone(), uri).await;
        assert_eq!(st, StatusCode::OK, "{uri}: {body}");
        assert_eq!(fake.narrowed.lock().unwrap().pop().unwrap(), want, "{uri}");
    }
    let (st, _) = get(fake.clone(), "/api/v1/series?upstream=10.0.0.1:80").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        fake.scopes.lock().unwrap().pop().unwrap().1,
        Scope::Upstream("10.0.0.1:80".into())
    );
}

#[tokio::test]
async fn a_combination_the_rollups_cannot_answer_is_a_400_naming_it() {
    let cases = [
        (
            "/api/v1/report?host=a&route=/x",
            "host= and route= together",
        ),
        (
            "/api/v1/series?route=/x&upstream=u",
            "route= and upstream= together",
        ),
        (
            "/api/v1/top?by=host&host=a&route=/x&upstream=u",
            "host= and route= and upstream= together",
        ),
        (
            "/api/v1/top?by=upstream&route=/x",
            "by=upstream with route=",
        ),
        ("/api/v1/top?route=/x&by=method", "by=method with route="),
        ("/api/v1/top?host=a", "by=route with host="),
    ];
    for (uri, says) in cases {
        let (st, body) = get(Arc::new(Fake::default()), uri).await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{uri}");
        let msg = body["error"]["message"].as_str().unwrap();
        assert!(msg.contains(says), "{uri}: {msg}");
    }
}
