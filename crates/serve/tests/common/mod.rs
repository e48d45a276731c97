//! The fake backend the API tests run the router over, and small request helpers.
#![allow(dead_code)] // each test file uses some of them

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use faultline_serve::{router, AppError, Backend, IncidentFilter, Range, Scope, Tokens};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

#[derive(Default)]
pub struct Fake {
    pub ranges: Mutex<Vec<Range>>,
    pub not_ready: Option<String>,
    pub token: Option<String>,
    pub read: Vec<String>,
    pub silences: Mutex<Vec<Value>>,
    pub scopes: Mutex<Vec<(Option<i64>, Scope)>>,
    /// The scopes `report` and `top` were asked for.
    pub narrowed: Mutex<Vec<(&'static str, Scope)>>,
}

/// Three incidents: `inc-0` open with 502s on host a, route /api/x, upstream 10.0.0.1:80;
/// `inc-1` resolved with 503s on host a, route /api/y, upstream 10.0.0.2:80; `inc-2`
/// resolved with 503s on host b, route /api/x, no upstream.
pub fn incidents() -> Vec<Value> {
    let scopes = [
        ("a", "/api/x", Some("10.0.0.1:80")),
        ("a", "/api/y", Some("10.0.0.2:80")),
        ("b", "/api/x", None),
    ];
    scopes
        .iter()
        .enumerate()
        .map(|(i, (host, route, upstream))| {
            json!({"id": format!("inc-{i}"), "state": if i == 0 { "open" } else { "resolved" },
                   "status": if i == 0 { json!({"502": 3}) } else { json!({"503": 1}) },
                   "diagnosis": {"cause": "upstream_down"},
                   "scope": {"hosts": [host], "routes": [route], "upstreams": upstream.iter().collect::<Vec<_>>()}})
        })
        .collect()
}

impl Backend for Fake {
    fn report(&self, range: Range, scope: &Scope) -> Result<Value, AppError> {
        self.ranges.lock().unwrap().push(range);
        self.narrowed
            .lock()
            .unwrap()
            .push(("report", scope.clone()));
        Ok(json!({"version": 1, "incidents": []}))
    }
    fn incidents(
        &self,
        range: Range,
        limit: usize,
        filter: &IncidentFilter,
    ) -> Result<Vec<Value>, AppError> {
        self.ranges.lock().unwrap().push(range);
        Ok(incidents()
            .into_iter()
            .filter(|v| filter.keeps(v))
            .take(limit)
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
    fn tokens(&self) -> Tokens {
        Tokens {
            read: self.read.clone(),
            admin: self.token.clone(),
        }
    }
    fn series(&self, _: Range, step: Option<i64>, scope: &Scope) -> Result<Value, AppError> {
        self.scopes.lock().unwrap().push((step, scope.clone()));
        Ok(json!({"step": step.unwrap_or(10), "points": []}))
    }
    fn top(&self, _: Range, by: &str, limit: usize, scope: &Scope) -> Result<Value, AppError> {
        self.narrowed.lock().unwrap().push(("top", scope.clone()));
        Ok(json!({"by": by, "items": [], "limit": limit}))
    }
    fn error_groups(&self, _: Range) -> Result<Value, AppError> {
        Ok(json!({"error_groups": []}))
    }
    fn inputs(&self) -> Result<Value, AppError> {
        Ok(json!({"inputs": []}))
    }
    fn update(&self) -> Value {
        json!({"commits": 1})
    }
    fn metrics(&self, openmetrics: bool) -> Result<String, AppError> {
        Ok(if openmetrics {
            "# TYPE up gauge\nup 1\n# EOF\n".into()
        } else {
            "up 1\n".into()
        })
    }
}

pub async fn send(state: Arc<Fake>, req: Request<Body>) -> (StatusCode, Value) {
    let res = router(state).oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap())
}

pub fn post_silence(token: Option<&str>, body: &str) -> Request<Body> {
    let mut r = Request::post("/api/v1/silences").header("content-type", "application/json");
    if let Some(t) = token {
        r = r.header("authorization", format!("Bearer {t}"));
    }
    r.body(Body::from(body.to_string())).unwrap()
}

pub async fn get(state: Arc<Fake>, uri: &str) -> (StatusCode, Value) {
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

pub async fn send_raw(
    app: axum::Router,
    req: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let res = app.oneshot(req).await.unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    let streaming = headers
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    if streaming {
        // A live stream does not end: its first event is enough.
        let mut body = res.into_body();
        let frame = body.frame().await.unwrap().unwrap();
        return (status, headers, frame.into_data().unwrap().to_vec());
    }
    let bytes = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, headers, bytes)
}

pub fn req(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}
