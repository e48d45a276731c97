//! The HTTP edge of `faultline serve` (DESIGN §3): [`router`] builds the routes over a
//! [`Backend`] that answers from the store, and [`Server`] runs them on a listener in a
//! thread of its own, so the engine loop stays synchronous.
//!
//! | route | answer |
//! |---|---|
//! | `GET /api/v1/report?from=&to=&host=\|route=\|upstream=` | the report contract's document over stored data, of everything or of one key |
//! | `GET /api/v1/incidents?from=&to=&limit=` | `{"incidents": [...]}`, newest first |
//! | `GET /api/v1/incidents/{id}` | one incident, the contract's shape |
//! | `GET /api/v1/status` | the daemon's own figures (lines read, parse errors, lag, store size) |
//! | `GET /api/v1/incidents?state=&code=&cause=&host=&route=&upstream=` | the same, filtered |
//! | `GET /api/v1/series?from=&to=&step=&host=\|route=\|upstream=` | requests and 5xx (by code) per step |
//! | `GET /api/v1/top?from=&to=&by=route\|host\|upstream\|method&limit=&host=\|route=\|upstream=` | the keys with the most 5xx |
//! | `GET /api/v1/error-groups?from=&to=` | application and error-log event groups |
//! | `GET /api/v1/inputs` | followed files, their counts, parse errors and lag |
//! | `GET /api/v1/events` | server-sent `update` events when something changed |
//! | `GET /metrics` | Prometheus text format (OpenMetrics when asked) |
//! | `GET /`, `GET /assets/{file}` | the dashboard (embedded; strict Content-Security-Policy) |
//! | `GET /api/v1/alerts?since=&limit=` | `{"active": [...], "alerts": [...]}`: alerts now, and the history (muted ones say why) |
//! | `GET /api/v1/notifications?since=&limit=` | `{"notifications": [...]}`: what was sent to whom, every attempt |
//! | `GET /api/v1/silences` | `{"silences": [...]}` with their state |
//! | `POST /api/v1/silences` | adds a silence (admin token) |
//! | `DELETE /api/v1/silences/{id}` | expires a silence now (admin token) |
//! | `GET /healthz` | 200 while the process runs |
//! | `GET /readyz` | 200 when inputs are open and the store is writable, else 503 with why |
//!
//! Every error has one shape: `{"error": {"status": 400, "message": "…"}}`, a wrong method
//! (405, with `Allow`), a query that does not parse and an unknown dashboard file included.
//! Times in queries are RFC 3339 (`2024-03-12T08:00:00Z`) or Unix seconds. The stored
//! rollups count host, route and upstream each on its own: report, series and top narrow to
//! one of them at a time (a 400 names a combination); incidents take any combination. The
//! routes are described in `docs/openapi.json` (a test keeps the two in step). With read
//! tokens configured, every data route needs `Authorization: Bearer` with one of them (or
//! the admin token), whatever the method (`HEAD` included). Writes need `Authorization:
//! Bearer TOKEN` with the admin token of the config: 401 without it or with a wrong one, 403
//! when the config sets none.
//!
//! ```no_run
//! # use std::sync::Arc;
//! # fn demo(backend: Arc<dyn faultline_serve::Backend>) -> std::io::Result<()> {
//! let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
//! let server = faultline_serve::Server::start(listener, backend)?;
//! println!("listening on {}", server.addr());
//! server.stop();
//! # Ok(()) }
//! ```

mod assets;
mod auth;
mod data;
mod extract;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;

pub use assets::CSP;
pub use data::{IncidentFilter, Scope};
pub use tls::Tls;

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use extract::{Path, Query};

/// A time range `[from, to)` in UTC seconds; an open end means "all stored".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Range {
    pub from: Option<i64>,
    pub to: Option<i64>,
}

/// What the routes ask of the daemon. Calls may block (they read the store): they run on
/// the runtime's blocking pool.
pub trait Backend: Send + Sync + 'static {
    /// The report document over `range`, of everything or of one key (see [`Scope`]).
    fn report(&self, range: Range, scope: &Scope) -> Result<Value, AppError>;
    /// Incidents overlapping `range` that pass `filter`, newest first, at most `limit`.
    fn incidents(
        &self,
        range: Range,
        limit: usize,
        filter: &IncidentFilter,
    ) -> Result<Vec<Value>, AppError>;
    /// One incident by id.
    fn incident(&self, id: &str) -> Result<Option<Value>, AppError>;
    /// `Err(why)` while the daemon cannot do its job (no input open, store not writable).
    fn ready(&self) -> Result<(), String>;
    /// The daemon's own figures: lines read, parse errors, lag per file, store size.
    fn status(&self) -> Result<Value, AppError>;
    /// Active alerts and the history since `since` (Unix seconds), newest first.
    fn alerts(&self, since: Option<i64>, limit: usize) -> Result<Value, AppError>;
    /// Notifications since `since`, newest first, with their attempts.
    fn notifications(&self, since: Option<i64>, limit: usize) -> Result<Value, AppError>;
    fn silences(&self) -> Result<Value, AppError>;
    /// Adds the silence described by `body`; returns it with its id.
    fn add_silence(&self, body: Value) -> Result<Value, AppError>;
    /// Expires a silence now; returns it.
    fn expire_silence(&self, id: &str) -> Result<Value, AppError>;
    /// The tokens reads and writes need.
    fn tokens(&self) -> Tokens;
    /// Requests and 5xx per bucket of `step` seconds (default: the stored resolution), of
    /// everything or of one scope: `{"step", "points": [{"t", "requests", "errors_5xx",
    /// "by_code"}]}`.
    fn series(&self, range: Range, step: Option<i64>, scope: &Scope) -> Result<Value, AppError>;
    /// The busiest keys of a kind (`route`, `host`, `upstream`, `method`) with their 5xx;
    /// with a scope, `by` is the scope's own kind and the answer is that key's row.
    fn top(&self, range: Range, by: &str, limit: usize, scope: &Scope) -> Result<Value, AppError>;
    /// Application and error-log event groups seen in `range`.
    fn error_groups(&self, range: Range) -> Result<Value, AppError>;
    /// The followed files and their health.
    fn inputs(&self) -> Result<Value, AppError>;
    /// A small summary that changes when there is something new to show (for `events`).
    fn update(&self) -> Value;
    /// The Prometheus exposition (OpenMetrics when `openmetrics`).
    fn metrics(&self, openmetrics: bool) -> Result<String, AppError>;
}

/// Who may read and who may write. No read tokens: reads are open (the API listens on
/// loopback by default). No admin token: writes are refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tokens {
    pub read: Vec<String>,
    pub admin: Option<String>,
}

/// The one error type of the API.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

impl AppError {
    fn status(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = json!({"error": {"status": status.as_u16(), "message": self.to_string()}});
        let mut r = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        r
    }
}

pub(crate) type Shared = Arc<dyn Backend>;

/// The routes of the API and the dashboard over `state`, at the root.
pub fn router(state: Shared) -> Router {
    router_at(state, "")
}

/// The same under a path prefix (`/faultline`), for a reverse proxy that keeps the prefix;
/// the bare prefix redirects to the dashboard at `prefix/`.
pub fn router_at(state: Shared, prefix: &str) -> Router {
    let prefix = prefix.trim_end_matches('/');
    let at = |path: &str| format!("{prefix}{path}");
    let reads = Router::new()
        .route(&at("/api/v1/report"), get(report))
        .route(&at("/api/v1/incidents"), get(incidents))
        .route(&at("/api/v1/incidents/{id}"), get(incident))
        .route(&at("/api/v1/status"), get(status))
        .route(&at("/api/v1/series"), get(data::series))
        .route(&at("/api/v1/top"), get(data::top))
        .route(&at("/api/v1/error-groups"), get(data::error_groups))
        .route(&at("/api/v1/inputs"), get(data::inputs))
        .route(&at("/api/v1/events"), get(data::events))
        .route(&at("/api/v1/alerts"), get(alerts))
        .route(&at("/api/v1/notifications"), get(notifications))
        .route(&at("/api/v1/silences"), get(silences).post(add_silence))
        .route(&at("/api/v1/silences/{id}"), delete(expire_silence))
        .route(&at("/metrics"), get(data::metrics))
        // Before the auth layer, so that a wrong method is authenticated too.
        .method_not_allowed_fallback(method_not_allowed)
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::reads,
        ));
    let mut app = Router::new()
        .route(&at("/healthz"), get(healthz))
        .route(&at("/readyz"), get(readyz))
        .route(&at("/"), get(|| async { assets::file("index.html") }))
        .route(
            &at("/assets/{file}"),
            get(|Path(f): Path<String>| async move { assets::file(&f) }),
        );
    if !prefix.is_empty() {
        // The page's relative URLs need the trailing slash.
        let to = format!("{prefix}/");
        app = app.route(
            prefix,
            get(move || async move { axum::response::Redirect::permanent(&to) }),
        );
    }
    app.merge(reads)
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .with_state(state)
}

#[derive(Debug, Deserialize)]
struct RangeQuery {
    from: Option<String>,
    to: Option<String>,
    limit: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ReportQuery {
    from: Option<String>,
    to: Option<String>,
    host: Option<String>,
    route: Option<String>,
    upstream: Option<String>,
}

/// Incidents listed when no `limit` is given, and the most one call returns.
const DEFAULT_LIMIT: usize = 100;
const MAX_LIMIT: usize = 10_000;

pub(crate) fn parse_time(key: &str, v: &str) -> Result<i64, AppError> {
    if let Ok(secs) = v.parse::<i64>() {
        return Ok(secs);
    }
    v.parse::<jiff::Timestamp>()
        .map(|t| t.as_second())
        .map_err(|e| {
            AppError::BadRequest(format!(
                "{key}={v:?}: not an RFC 3339 time (2024-03-12T08:00:00Z) nor Unix seconds: {e}"
            ))
        })
}

impl RangeQuery {
    fn range(&self) -> Result<Range, AppError> {
        data::range(&self.from, &self.to)
    }

    fn limit(&self) -> Result<usize, AppError> {
        match self.limit.as_deref() {
            None => Ok(DEFAULT_LIMIT),
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
                _ => Err(AppError::BadRequest(format!(
                    "limit={v:?}: a number from 1 to {MAX_LIMIT}"
                ))),
            },
        }
    }
}

/// Runs a blocking backend call off the async workers.
pub(crate) async fn blocking<T: Send + 'static>(
    state: Shared,
    f: impl FnOnce(&dyn Backend) -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(move || f(&*state))
        .await
        .map_err(|e| AppError::Internal(format!("request handler failed: {e}")))?
}

async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn readyz(State(state): State<Shared>) -> Result<Json<Value>, AppError> {
    blocking(state, |b| b.ready().map_err(AppError::Unavailable)).await?;
    Ok(Json(json!({"status": "ready"})))
}

async fn report(
    State(state): State<Shared>,
    Query(q): Query<ReportQuery>,
) -> Result<Json<Value>, AppError> {
    let range = data::range(&q.from, &q.to)?;
    let scope = Scope::of(q.host, q.route, q.upstream)?;
    Ok(Json(
        blocking(state, move |b| b.report(range, &scope)).await?,
    ))
}

async fn incidents(
    State(state): State<Shared>,
    Query(q): Query<RangeQuery>,
    Query(filter): Query<IncidentFilter>,
) -> Result<Json<Value>, AppError> {
    let (range, limit) = (q.range()?, q.limit()?);
    if let Some(st) = filter.state.as_deref() {
        if st != "open" && st != "resolved" {
            return Err(AppError::BadRequest(format!(
                "state={st:?}: open or resolved"
            )));
        }
    }
    let list = blocking(state, move |b| b.incidents(range, limit, &filter)).await?;
    Ok(Json(json!({ "incidents": list })))
}

async fn incident(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    let shown = id.chars().take(80).collect::<String>();
    let found = blocking(state, move |b| b.incident(&id)).await?;
    found
        .map(Json)
        .ok_or_else(|| AppError::NotFound(format!("no incident {shown:?}")))
}

async fn status(State(state): State<Shared>) -> Result<Json<Value>, AppError> {
    Ok(Json(blocking(state, |b| b.status()).await?))
}

/// A known path asked with a method it does not answer (axum adds the `Allow` header).
async fn method_not_allowed(method: Method, uri: Uri) -> AppError {
    let path = uri.path().chars().take(200).collect::<String>();
    AppError::MethodNotAllowed(format!(
        "{method} is not allowed on {path}: see the Allow header"
    ))
}

async fn not_found() -> AppError {
    AppError::NotFound(
        "no such route; see /api/v1/report, /api/v1/incidents, /api/v1/alerts, /api/v1/silences"
            .into(),
    )
}

#[derive(Debug, Deserialize)]
struct SinceQuery {
    since: Option<String>,
    limit: Option<String>,
}

impl SinceQuery {
    fn parts(&self) -> Result<(Option<i64>, usize), AppError> {
        let since = self
            .since
            .as_deref()
            .map(|v| parse_time("since", v))
            .transpose()?;
        let limit = RangeQuery {
            from: None,
            to: None,
            limit: self.limit.clone(),
        }
        .limit()?;
        Ok((since, limit))
    }
}

async fn alerts(
    State(state): State<Shared>,
    Query(q): Query<SinceQuery>,
) -> Result<Json<Value>, AppError> {
    let (since, limit) = q.parts()?;
    Ok(Json(
        blocking(state, move |b| b.alerts(since, limit)).await?,
    ))
}

async fn notifications(
    State(state): State<Shared>,
    Query(q): Query<SinceQuery>,
) -> Result<Json<Value>, AppError> {
    let (since, limit) = q.parts()?;
    Ok(Json(
        blocking(state, move |b| b.notifications(since, limit)).await?,
    ))
}

async fn silences(State(state): State<Shared>) -> Result<Json<Value>, AppError> {
    Ok(Json(blocking(state, |b| b.silences()).await?))
}

async fn add_silence(
    State(state): State<Shared>,
    headers: HeaderMap,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Result<(StatusCode, Json<Value>), AppError> {
    auth::writes(&state, &headers)?;
    let Json(body) = body.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let made = blocking(state, move |b| b.add_silence(body)).await?;
    Ok((StatusCode::CREATED, Json(made)))
}

async fn expire_silence(
    State(state): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, AppError> {
    auth::writes(&state, &headers)?;
    Ok(Json(blocking(state, move |b| b.expire_silence(&id)).await?))
}

/// The API running on its own thread.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    /// The same socket, kept to serve on again after a stop ([`Server::restart`]).
    spare: std::net::TcpListener,
    stop: Stop,
    thread: std::thread::JoinHandle<std::io::Result<()>>,
}

#[derive(Debug)]
enum Stop {
    Plain(tokio::sync::oneshot::Sender<()>),
    Tls(axum_server::Handle),
}

/// How long requests in flight may take to finish when the server stops.
const GRACE: std::time::Duration = std::time::Duration::from_secs(5);

impl Server {
    /// Serves [`router`] over `backend` on `listener` until [`Server::stop`].
    pub fn start(listener: std::net::TcpListener, backend: Shared) -> std::io::Result<Server> {
        Server::start_with(listener, backend, "", None)
    }

    /// The same under a path prefix (see [`router_at`]), over HTTPS when `tls` is given.
    pub fn start_with(
        listener: std::net::TcpListener,
        backend: Shared,
        prefix: &str,
        tls: Option<&Tls>,
    ) -> std::io::Result<Server> {
        let app = router_at(backend, prefix);
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let spare = listener.try_clone()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .max_blocking_threads(4)
            .build()?;
        if let Some(tls) = tls {
            let handle = axum_server::Handle::new();
            let config = axum_server::tls_rustls::RustlsConfig::from_config(tls.0.clone());
            let serving = axum_server::from_tcp_rustls(listener, config).handle(handle.clone());
            let thread = std::thread::Builder::new()
                .name("https".into())
                .spawn(move || runtime.block_on(serving.serve(app.into_make_service())))?;
            return Ok(Server {
                addr,
                spare,
                stop: Stop::Tls(handle),
                thread,
            });
        }
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("http".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener)?;
                    axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = stopped.await;
                        })
                        .await
                })
            })?;
        Ok(Server {
            addr,
            spare,
            stop: Stop::Plain(stop),
            thread,
        })
    }

    /// The address bound (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets requests in flight finish, and joins the thread.
    pub fn stop(self) {
        self.halt();
    }

    /// Serves again on the same socket with new settings (a reloaded config): connections
    /// waiting to be accepted are kept, and the address is never free for another process.
    pub fn restart(
        self,
        backend: Shared,
        prefix: &str,
        tls: Option<&Tls>,
    ) -> std::io::Result<Server> {
        let spare = self.spare.try_clone()?;
        self.halt();
        Server::start_with(spare, backend, prefix, tls)
    }

    fn halt(self) {
        match self.stop {
            Stop::Plain(tx) => {
                let _ = tx.send(());
            }
            Stop::Tls(handle) => handle.graceful_shutdown(Some(GRACE)),
        }
        let _ = self.thread.join();
    }
}
