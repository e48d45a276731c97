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
