//! The API as a client sees it, through `router(state)` with `oneshot` (no socket), and once
//! over a real socket.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{get, post_silence, req, send, send_raw, Fake};
use faultline_serve::{router, router_at, Range, Scope, Server};
use serde_json::{json, Value};

#[tokio::test]
async fn silences_are_written_only_with_the_admin_token() {
    let fake = Arc::new(Fake {
        token: Some("s3cret".into()),
        ..Fake::default()
    });
    let body = r#"{"matchers": ["host=\"a\""], "duration": "1h"}"#;
    let (st, err) = send(fake.clone(), post_silence(None, body)).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert_eq!(err["error"]["status"], 401);
    let (st, _) = send(fake.clone(), post_silence(Some("wrong"), body)).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    let (st, made) = send(fake.clone(), post_silence(Some("s3cret"), body)).await;
    assert_eq!(st, StatusCode::CREATED);
    assert_eq!(made["id"], "sil-1");
    let (st, bad) = send(fake.clone(), post_silence(Some("s3cret"), "{not json")).await;
    assert_eq!(st, StatusCode::BAD_REQUEST, "{bad}");
    let del = |t: &str| {
        Request::delete("/api/v1/silences/sil-1")
            .header("authorization", format!("Bearer {t}"))
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(
        send(fake.clone(), del("wrong")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(send(fake.clone(), del("s3cret")).await.0, StatusCode::OK);
    let (_, list) = get(fake, "/api/v1/silences").await;
    assert_eq!(list["silences"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn without_an_admin_token_writes_are_forbidden() {
    let (st, err) = send(
        Arc::new(Fake::default()),
        post_silence(Some("anything"), r#"{"matchers": ["a=\"b\""]}"#),
    )
    .await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert!(err["error"]["message"]
        .as_str()
        .unwrap()
        .contains("admin_token"));
}

#[tokio::test]
async fn alert_history_takes_since_and_limit() {
    let (st, body) = get(
        Arc::new(Fake::default()),
        "/api/v1/alerts?since=2024-03-12T08:00:00Z&limit=5",
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(body["since"], 1_710_230_400);
    assert_eq!(body["limit"], 5);
    let (st, _) = get(Arc::new(Fake::default()), "/api/v1/alerts?since=lastnight").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn report_takes_rfc3339_and_unix_times() {
    let fake = Arc::new(Fake::default());
    let (status, body) = get(
        fake.clone(),
        "/api/v1/report?from=2024-03-12T08:00:00Z&to=1710234000",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["version"], 1);
    assert_eq!(
        fake.ranges.lock().unwrap()[0],
        Range {
            from: Some(1_710_230_400),
            to: Some(1_710_234_000)
        }
    );
}

#[tokio::test]
async fn a_bad_time_is_a_400_naming_the_parameter() {
    let (status, body) = get(Arc::new(Fake::default()), "/api/v1/report?from=yesterday").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["status"], 400);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("from=\"yesterday\""));
    let (status, _) = get(Arc::new(Fake::default()), "/api/v1/report?from=20&to=10").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = get(Arc::new(Fake::default()), "/api/v1/incidents?limit=0").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn incidents_list_and_one_by_id() {
    let fake = Arc::new(Fake::default());
    let (status, body) = get(fake.clone(), "/api/v1/incidents?limit=2").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["incidents"].as_array().unwrap().len(), 2);
    let (status, body) = get(fake.clone(), "/api/v1/incidents/inc-1").await;
    assert_eq!(
        (status, body["id"].clone()),
        (StatusCode::OK, json!("inc-1"))
    );
    let (status, body) = get(fake, "/api/v1/incidents/inc-9").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body["error"]["message"].as_str().unwrap().contains("inc-9"));
}

#[tokio::test]
async fn readiness_says_why_it_is_not_ready() {
    let (status, _) = get(Arc::new(Fake::default()), "/readyz").await;
    assert_eq!(status, StatusCode::OK);
    let fake = Arc::new(Fake {
        not_ready: Some("no input is open".into()),
        ..Fake::default()
    });
    let (status, body) = get(fake.clone(), "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"]["message"], "no input is open");
    let (status, _) = get(fake, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn an_unknown_route_is_a_json_404() {
    let (status, body) = get(Arc::new(Fake::default()), "/api/v2/nothing").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["status"], 404);
}

#[test]
fn a_real_socket_serves_until_stopped() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let server = Server::start(listener, Arc::new(Fake::default())).unwrap();
    let mut conn = std::net::TcpStream::connect(server.addr()).unwrap();
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let addr = server.addr();
    server.stop();
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[tokio::test]
async fn events_stream_an_update_at_once() {
    let (st, h, first) = send_raw(router(Arc::new(Fake::default())), req("/api/v1/events")).await;
    assert_eq!(st, StatusCode::OK);
    assert!(h["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/event-stream"));
    let text = String::from_utf8(first).unwrap();
    assert!(
        text.contains("event: update") && text.contains("\"commits\":1"),
        "{text}"
    );
}

#[tokio::test]
async fn incidents_filter_by_state_and_cause() {
    let fake = Arc::new(Fake::default());
    let (_, body) = get(fake.clone(), "/api/v1/incidents?state=open").await;
    assert_eq!(body["incidents"].as_array().unwrap().len(), 1);
    let (_, body) = get(fake.clone(), "/api/v1/incidents?cause=tls_failure").await;
    assert_eq!(body["incidents"].as_array().unwrap().len(), 0);
    let (_, body) = get(fake.clone(), "/api/v1/incidents?code=502").await;
    assert_eq!(body["incidents"].as_array().unwrap().len(), 1);
    let (_, body) = get(fake.clone(), "/api/v1/incidents?code=504").await;
    assert_eq!(body["incidents"].as_array().unwrap().len(), 0);
    let (st, _) = get(fake, "/api/v1/incidents?state=closed").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn series_take_one_scope_and_a_step() {
    let fake = Arc::new(Fake::default());
    let (st, _) = get(fake.clone(), "/api/v1/series?route=/api/x&step=60").await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        fake.scopes.lock().unwrap()[0],
        (Some(60), Scope::Route("/api/x".into()))
    );
    let (st, _) = get(fake.clone(), "/api/v1/series?route=/a&host=b").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = get(fake.clone(), "/api/v1/series?step=0").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = get(fake, "/api/v1/top?by=cookie").await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn with_read_tokens_every_data_route_needs_one_but_health_does_not() {
    let fake = Arc::new(Fake {
        read: vec!["r3ad".into()],
        token: Some("adm1n".into()),
        ..Fake::default()
    });
    for uri in [
        "/api/v1/report",
        "/api/v1/incidents",
        "/api/v1/alerts",
        "/metrics",
        "/api/v1/series",
    ] {
        let (st, _, _) = send_raw(router(fake.clone()), req(uri)).await;
        assert_eq!(st, StatusCode::UNAUTHORIZED, "{uri}");
        for token in ["r3ad", "adm1n"] {
            let r = Request::get(uri)
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap();
            let (st, _, _) = send_raw(router(fake.clone()), r).await;
            assert_eq!(st, StatusCode::OK, "{uri} with {token}");
        }
    }
    let (st, _, _) = send_raw(router(fake.clone()), req("/healthz")).await;
    assert_eq!(st, StatusCode::OK);
    // A read token does not write.
    let r = Request::post("/api/v1/silences")
        .header("authorization", "Bearer r3ad")
        .header("content-type", "application/json")
        .body(Body::from(r#"{"matchers": ["a=\"b\""]}"#))
        .unwrap();
    assert_eq!(send_raw(router(fake), r).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_dashboard_is_served_with_a_strict_policy() {
    let (st, h, body) = send_raw(router(Arc::new(Fake::default())), req("/")).await;
    assert_eq!(st, StatusCode::OK);
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(String::from_utf8_lossy(&body).contains("assets/app.js"));
    let (st, h, _) = send_raw(router(Arc::new(Fake::default())), req("/assets/app.js")).await;
    assert_eq!(st, StatusCode::OK);
    assert!(h["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    let (st, _, _) = send_raw(router(Arc::new(Fake::default())), req("/assets/../lib.rs")).await;
    assert_eq!(st, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn under_a_prefix_everything_moves_and_the_bare_prefix_redirects() {
    let app = || router_at(Arc::new(Fake::default()), "/faultline");
    let (st, h, _) = send_raw(app(), req("/faultline")).await;
    assert_eq!(st, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(h["location"], "/faultline/");
    assert_eq!(send_raw(app(), req("/faultline/")).await.0, StatusCode::OK);
    assert_eq!(
        send_raw(app(), req("/faultline/api/v1/status")).await.0,
        StatusCode::OK
    );
    assert_eq!(
        send_raw(app(), req("/api/v1/status")).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn metrics_speak_openmetrics_when_asked() {
    let app = || router(Arc::new(Fake::default()));
    let (_, h, _) = send_raw(app(), req("/metrics")).await;
    assert!(h["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain; version=0.0.4"));
    let r = Request::get("/metrics")
        .header("accept", "application/openmetrics-text; version=1.0.0")
        .body(Body::empty())
        .unwrap();
    let (_, h, body) = send_raw(app(), r).await;
    assert!(h["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/openmetrics-text"));
    assert!(String::from_utf8_lossy(&body).ends_with("# EOF\n"));
}

/// (method, path) of every route `router_at` registers, read from its source.
fn implemented() -> std::collections::BTreeSet<(String, String)> {
    let src = include_str!("../src/lib.rs");
    let body = &src[src.find("pub fn router_at").unwrap()..];
    let body = &body[..body.find("\n}\n").unwrap()];
    let mut out = std::collections::BTreeSet::new();
    for part in body.split(".route(").skip(1) {
        let Some(start) = part.find("at(\"") else {
            continue;
        };
        let path = &part[start + 4..];
        let path = &path[..path.find('"').unwrap()];
        for m in ["get(", "post(", "delete("] {
            if part.contains(m) {
                out.insert((m.trim_end_matches('(').to_string(), path.to_string()));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_openapi_document_lists_every_route_and_each_answers_as_documented() {
    let doc: Value = serde_json::from_str(include_str!("../../../docs/openapi.json")).unwrap();
    let mut documented = std::collections::BTreeSet::new();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            documented.insert((method.clone(), path.clone()));
            let uri = path.replace("{id}", "inc-1").replace("{file}", "app.js");
            let mut r = Request::builder()
                .method(method.to_uppercase().as_str())
                .uri(&uri)
                .header("authorization", "Bearer adm1n");
            let body = if method == "post" {
                r = r.header("content-type", "application/json");
                Body::from(r#"{"matchers": ["a=\"b\""], "duration": "1h"}"#)
            } else {
                Body::empty()
            };
            let fake = Arc::new(Fake {
                token: Some("adm1n".into()),
                ..Fake::default()
            });
            if method == "delete" {
                fake.silences.lock().unwrap().push(json!({"id": "inc-1"}));
            }
            let (st, _, _) = send_raw(router(fake), r.body(body).unwrap()).await;
            let codes = op["responses"].as_object().unwrap();
            assert!(
                codes.contains_key(st.as_str()),
                "{method} {path} answered {st}, documented {:?}",
                codes.keys().collect::<Vec<_>>()
            );
        }
    }
    assert_eq!(
        documented,
        implemented(),
        "docs/openapi.json and router_at differ"
    );
}
