//! The API as a client sees it, through `router(state)` with `oneshot` (no socket), and once
//! over a real socket.

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use faultline_serve::{router, AppError, Backend, Range, Server};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

#[derive(Default)]
struct Fake {
    ranges: Mutex<Vec<Range>>,
    not_ready: Option<String>,
    token: Option<String>,
    silences: Mutex<Vec<Value>>,
}

impl Backend for Fake {
    fn report(&self, range: Range) -> Result<Value, AppError> {
        self.ranges.lock().unwrap().push(range);
        Ok(json!({"version": 1, "incidents": []}))
    }
    fn incidents(&self, range: Range, limit: usize) -> Result<Vec<Value>, AppError> {
        self.ranges.lock().unwrap().push(range);
        Ok((0..limit.min(3))
            .map(|i| json!({"id": format!("inc-{i}")}))
            .collect())
    }
    fn incident(&self, id: &str) -> Result<Option<Value>, AppError> {
        Ok((id == "inc-1").then(|| json!({"id": id})))
    }
    fn status(&self) -> Result<Value, AppError> {
        Ok(json!({"commits": 1}))
    }
    fn ready(&self) -> Result<(), String> {
        match &self.not_ready {
            Some(why) => Err(why.clone()),
            None => Ok(()),
        }
    }
    fn alerts(&self, since: Option<i64>, limit: usize) -> Result<Value, AppError> {
        Ok(json!({"active": [], "alerts": [], "since": since, "limit": limit}))
    }
    fn notifications(&self, _: Option<i64>, _: usize) -> Result<Value, AppError> {
        Ok(json!({"notifications": []}))
    }
    fn silences(&self) -> Result<Value, AppError> {
        Ok(json!({"silences": *self.silences.lock().unwrap()}))
    }
    fn add_silence(&self, body: Value) -> Result<Value, AppError> {
        if body["matchers"].as_array().is_none_or(|m| m.is_empty()) {
            return Err(AppError::BadRequest("matchers: at least one".into()));
        }
        let mut s = body;
        s["id"] = "sil-1".into();
        self.silences.lock().unwrap().push(s.clone());
        Ok(s)
    }
    fn expire_silence(&self, id: &str) -> Result<Value, AppError> {
        let list = self.silences.lock().unwrap();
        list.iter()
            .find(|s| s["id"] == id)
            .cloned()
            .ok_or_else(|| AppError::NotFound(format!("no silence {id:?}")))
    }
    fn admin_token(&self) -> Option<String> {
        self.token.clone()
    }
}

async fn send(state: Arc<Fake>, req: Request<Body>) -> (StatusCode, Value) {
    let res = router(state).oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

fn post_silence(token: Option<&str>, body: &str) -> Request<Body> {
    let mut r = Request::post("/api/v1/silences").header("content-type", "application/json");
    if let Some(t) = token {
        r = r.header("authorization", format!("Bearer {t}"));
    }
    r.body(Body::from(body.to_string())).unwrap()
}

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

async fn get(state: Arc<Fake>, uri: &str) -> (StatusCode, Value) {
    let app = router(state);
    let res = app
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).expect("every answer is JSON"),
    )
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
