//! The edge's rules as a client meets them through `router(state)` with `oneshot`: every
//! method of a data route is authenticated.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{send_raw, Fake};
use faultline_serve::{router, router_at};
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
