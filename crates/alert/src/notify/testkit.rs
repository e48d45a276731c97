//! Test peers on loopback: an HTTP server that records what it was sent and answers from a
//! script, and the notification every notifier test sends.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use super::Context;
use crate::alert::{Alert, Details, EvidenceLine, State};
use crate::dispatch::Notification;
use crate::{Labels, Ms};

/// One request as the server read it.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One scripted answer.
#[derive(Debug, Clone)]
pub(crate) struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: vec![],
            body: String::new(),
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.into(), value.into()));
        self
    }

    pub fn body(mut self, body: &str) -> Reply {
        self.body = body.into();
        self
    }
}

/// A server on 127.0.0.1 answering one connection per reply, in order.
#[derive(Debug)]
pub(crate) struct Server {
    port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

pub(crate) fn serve(replies: Vec<Reply>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&requests);
    thread::spawn(move || {
        for reply in replies {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let _ = answer(stream, &reply, &seen);
        }
    });
    Server { port, requests }
}

fn answer(stream: TcpStream, reply: &Reply, seen: &Mutex<Vec<Request>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let req = read_request(&mut reader)?;
    seen.lock().unwrap().push(req);
    let mut out = stream;
    let mut head = format!(
        "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        reply.status,
        reply.body.len()
    );
    for (k, v) in &reply.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    out.write_all(format!("{head}\r\n{}", reply.body).as_bytes())?;
    out.flush()
}

fn read_request(reader: &mut impl BufRead) -> std::io::Result<Request> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut headers = Vec::new();
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let Some((k, v)) = line.trim_end().split_once(':') else {
            break;
        };
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body)?;
    Ok(Request {
        method,
        path,
        headers,
        body,
    })
}

/// A port nothing listens on (bound, then released).
pub(crate) fn unused_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

pub(crate) fn at(rfc3339: &str) -> Ms {
    rfc3339.parse::<jiff::Timestamp>().unwrap().as_millisecond()
}

pub(crate) fn context() -> Context {
    Context {
        now: at("2026-11-25T10:06:00Z"),
        external_url: "http://faultline.example:9790".into(),
    }
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// One firing alert with a full diagnosis behind incident 7, and one resolved.
pub(crate) fn notification() -> Notification {
    let start = at("2026-11-25T10:00:00Z");
    let details = Details {
        summary: "upstream refused connections for /api".into(),
        cause: Some("upstream_down".into()),
        category: Some("network".into()),
        confidence: Some(0.9166),
        reasons: vec!["96% of the 5xx are 502".into(), "connect() refused".into()],
        evidence: vec![EvidenceLine {
            source: "nginx/error.log".into(),
            line: 12,
            text: "connect() failed (111: Connection refused) while connecting to upstream".into(),
            signature: None,
        }],
        remediation: vec!["check that the upstream is running".into()],
        incident: Some("7".into()),
        value: None,
    };
    let mut firing = Alert::new(
        "incident",
        labels(&[("alertname", "incident"), ("host", "shop.example")]),
        details,
        start,
    );
    firing.state = State::Firing;
    firing.fired_at = Some(start);
    let mut resolved = Alert::new(
        "incident",
        labels(&[
            ("alertname", "incident"),
            ("host", "shop.example"),
            ("route", "/cart"),
        ]),
        Details {
            summary: "upstream refused connections for /cart".into(),
            cause: Some("upstream_down".into()),
            ..Details::default()
        },
        start,
    );
    resolved.state = State::Resolved;
    resolved.fired_at = Some(start);
    resolved.resolved_at = Some(at("2026-11-25T10:05:00Z"));
    Notification {
        id: "ntf-00000000000000a1".into(),
        receiver: "ops".into(),
        group_key: r#"0:{alertname="incident"}"#.into(),
        group_labels: labels(&[("alertname", "incident")]),
        status: State::Firing,
        alerts: vec![firing, resolved],
        created_at: at("2026-11-25T10:06:00Z"),
    }
}
