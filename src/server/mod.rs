//! `podmortem serve`: a read-only HTTP JSON API over the store, with Prometheus metrics and
//! a web page that reads the API.
//!
//! The server listens on loopback by default. On any other address it requires a
//! bearer token (or an explicit opt-out). With a token, the API and `/metrics` need
//! `Authorization: Bearer <token>` (RFC 6750), but `/healthz`, `/readyz` and the web page's
//! shell and assets do not, because they contain no cluster data. Store calls run on Tokio's
//! blocking pool, each on its own SQLite connection from a pool of up to
//! [`pool::READ_CONNECTIONS`], because a connection is not shared between threads.

pub mod api;
pub mod cache;
pub mod error;
pub mod metrics;
pub mod openapi;
pub mod pool;
pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::store::{Filter, SqliteStore, Store};
use cache::RefreshCache;
use error::ApiError;
use metrics::{Metrics, RequestLabels};
use pool::{READ_CONNECTIONS, ReadPool};

/// Largest request body accepted. Every route is a `GET` and no handler reads the body.
pub const BODY_LIMIT_BYTES: usize = 16 * 1024;
/// Maximum time to handle one request, after its headers are read.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Maximum time a client may take to send the request line and headers.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Maximum time open requests get to finish after a shutdown signal.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// Errors that stop the server from starting.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "listen address `{address}` is not a loopback address: pass `--token-file FILE` to \
         require a bearer token, or `--insecure-no-auth` to serve without one"
    )]
    TokenRequired { address: SocketAddr },

    #[error("token file `{path}` is empty: write the token on its first line")]
    EmptyToken { path: std::path::PathBuf },

    #[error(
        "token file `{path}` holds more than one word: keep only the token, on one line, \
         because a client sends it whole in one `Authorization` header"
    )]
    TokenNotOneWord { path: std::path::PathBuf },

    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Checks that a non-loopback `address` has a token unless `insecure_no_auth` is set.
pub fn check_listen(
    address: SocketAddr,
    token: Option<&str>,
    insecure_no_auth: bool,
) -> Result<(), Error> {
    if address.ip().is_loopback() || token.is_some() || insecure_no_auth {
        return Ok(());
    }
    Err(Error::TokenRequired { address })
}

/// Reads a bearer token: the file's content without surrounding whitespace.
pub fn read_token(path: &std::path::Path) -> Result<String, Error> {
    let token = fs_err::read_to_string(path)?.trim().to_owned();
    if token.is_empty() {
        return Err(Error::EmptyToken {
            path: path.to_owned(),
        });
    }
    if token
        .chars()
        .any(|char| char.is_whitespace() || char.is_control())
    {
        return Err(Error::TokenNotOneWord {
            path: path.to_owned(),
        });
    }
    Ok(token)
}

/// Maximum number of cached summary bodies, each for one set of query parameters.
const SUMMARY_CACHE_ENTRIES: usize = 64;

/// A part of the same process that the server reports on, such as `watch --serve`'s watch.
/// The server uses it only through this trait, so `server` does not depend on `cluster`.
pub trait Companion: Send + Sync {
    /// Adds the part's metrics to `/metrics`.
    fn register(&self, registry: &mut prometheus_client::registry::Registry);

    /// Returns why the part is not ready yet, or `None` when it is.
    fn not_ready(&self) -> Option<&'static str>;
}

/// Shared state of every handler: the store, the metrics and the optional token.
#[derive(Clone)]
pub struct AppState {
    store: Arc<ReadPool>,
    metrics: Arc<Metrics>,
    /// Summary bodies by their sorted query parameters.
    summaries: Arc<RefreshCache<Vec<(String, String)>, axum::body::Bytes>>,
    /// The encoded text of `podmortem_terminations_total`.
    termination_counts: Arc<RefreshCache<(), String>>,
    token: Option<Arc<str>>,
    /// The part that runs in the same process, if any; `/readyz` waits until it is ready.
    companion: Option<Arc<dyn Companion>>,
}

impl AppState {
    /// Creates the state with `store` as the first of the pool's read connections.
    pub fn new(store: SqliteStore, token: Option<String>) -> Self {
        AppState {
            store: Arc::new(ReadPool::new(store, READ_CONNECTIONS)),
            metrics: Arc::new(Metrics::new()),
            summaries: Arc::new(RefreshCache::new(SUMMARY_CACHE_ENTRIES)),
            termination_counts: Arc::new(RefreshCache::new(1)),
            token: token.map(Arc::from),
            companion: None,
        }
    }

    /// Serves the metrics of `companion` too, and reports ready only while it is ready.
    pub fn with_companion(mut self, companion: Arc<dyn Companion>) -> Self {
        self.metrics = Arc::new(Metrics::with_companion(&*companion));
        self.companion = Some(companion);
        self
    }

    /// Runs `query` on a pooled read connection on the blocking pool and records its time in
    /// the latency histogram. A connection whose query failed is closed, not reused, so the
    /// next request opens the file again.
    async fn with_store<T, F>(&self, query: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&SqliteStore) -> Result<T, crate::store::Error> + Send + 'static,
    {
        let permit = self.store.reserve().await;
        let pool = Arc::clone(&self.store);
        let metrics = Arc::clone(&self.metrics);
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let store = pool.take()?;
            let started = Instant::now();
            let result = query(&store);
            metrics
                .store_query_seconds
                .observe(started.elapsed().as_secs_f64());
            if result.is_ok() {
                pool.put_back(store);
            }
            result.map_err(ApiError::from)
        });
        task.await
            .map_err(|error| ApiError::Internal(anyhow::Error::new(error)))?
    }
}

/// Returns the routes that need the token and the routes that do not, with the OpenAPI
/// document of both.
fn documented_routes() -> (Router<AppState>, Router<AppState>, utoipa::openapi::OpenApi) {
    let (protected, protected_doc) = OpenApiRouter::new()
        .routes(routes!(api::list))
        .routes(routes!(api::get))
        .routes(routes!(api::pod_history))
        .routes(routes!(api::summary))
        .routes(routes!(metrics_text))
        .split_for_parts();
    let (open, open_doc) = OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(readyz))
        .split_for_parts();

    let mut doc = openapi::ApiDoc::openapi();
    doc.merge(protected_doc);
    doc.merge(open_doc);
    (protected, open, doc)
}

/// Returns the OpenAPI document of every route, as served at [`openapi::PATH`].
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    documented_routes().2
}

/// Builds the router with every route and the request bounds.
pub fn router(state: AppState) -> Router {
    let (protected, open, doc) = documented_routes();
    let document: Arc<str> = doc
        .to_pretty_json()
        .expect("the OpenAPI document encodes as JSON")
        .into();
    let protected =
        protected.route_layer(middleware::from_fn_with_state(state.clone(), require_token));

    Router::new()
        .merge(open)
        .route(
            openapi::PATH,
            get(move || {
                let document = Arc::clone(&document);
                async move {
                    (
                        [(header::CONTENT_TYPE, "application/json")],
                        document.to_string(),
                    )
                }
            }),
        )
        .merge(protected)
        .merge(web::routes())
        .fallback(not_found)
        // The layer added last runs first, so the headers and the JSON error bodies also cover
        // the responses of the timeout and the body limit.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT_BYTES))
        .layer(middleware::from_fn(json_errors))
        .layer(middleware::from_fn_with_state(state.clone(), count_request))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(web::CONTENT_SECURITY_POLICY),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        ))
        .with_state(state)
}

/// Serves `router` on `listener` over HTTP/1.1 until `shutdown` completes, then lets open
/// requests finish for up to `SHUTDOWN_GRACE`.
///
/// Connections are served by hyper directly, not `axum::serve`, because only hyper's builder
/// sets a header read timeout, which closes connections that send their headers too slowly.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state);
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);

    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        match accepted {
            Ok((stream, peer)) => serve_connection(stream, peer, app.clone(), &graceful),
            Err(error) => {
                // Running out of file descriptors fails every accept, so wait before retrying.
                tracing::warn!(%error, "failed to accept a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            grace_seconds = SHUTDOWN_GRACE.as_secs(),
            "open connections did not finish in time"
        );
    }
    Ok(())
}

fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    app: Router,
    graceful: &GracefulShutdown,
) {
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let connection = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(app));
    let connection = graceful.watch(connection);

    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%peer, %error, "connection ended with an error");
        }
    });
}

/// Handles `GET /healthz`: the process is up.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    summary = "Liveness",
    responses((status = 200, description = "The process answers", body = String, content_type = "text/plain")),
)]
async fn healthz() -> &'static str {
    "ok\n"
}

/// Handles `GET /readyz`: the store responds, and a watch in the same process has listed pods.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    summary = "Readiness",
    responses(
        (status = 200, description = "Ready to answer", body = String, content_type = "text/plain"),
        (status = 503, description = "The store is not reachable, or the watch has not listed \
                                       pods yet", body = String, content_type = "text/plain"),
    ),
)]
async fn readyz(State(state): State<AppState>) -> Response {
    if let Some(reason) = state
        .companion
        .as_ref()
        .and_then(|companion| companion.not_ready())
    {
        return (StatusCode::SERVICE_UNAVAILABLE, format!("{reason}\n")).into_response();
    }
    let probe = Filter {
        limit: Some(1),
        include_expected: true,
        ..Filter::default()
    };
    let pool = Arc::clone(&state.store);
    let ready = state.with_store(move |store| {
        pool.check_file()?;
        store.query(&probe)
    });
    match ready.await {
        Ok(_) => "ok\n".into_response(),
        Err(error) => {
            tracing::warn!(error = %error.log_text(), "store is not reachable");
            (StatusCode::SERVICE_UNAVAILABLE, "store not reachable\n").into_response()
        }
    }
}

/// Handles `GET /metrics`.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    summary = "Prometheus metrics",
    description = "OpenMetrics text: exits in the store by namespace, cause and container \
                   kind, HTTP requests, store latency, and the watch's health under \
                   `watch --serve`.",
    responses(
        (status = 200, description = "The metrics", body = String,
         content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8"),
        (status = 401, description = "Missing or wrong bearer token", body = openapi::ErrorBody),
    ),
    security((), ("bearer" = [])),
)]
async fn metrics_text(State(state): State<AppState>) -> Result<Response, ApiError> {
    let compute_state = state.clone();
    let terminations = state
        .termination_counts
        .get((), move || async move {
            let counts = compute_state
                .with_store(|store| store.count_terminations())
                .await?;
            metrics::encode_terminations(&counts).map_err(|error| ApiError::Internal(error.into()))
        })
        .await?;
    let text = state
        .metrics
        .encode(&terminations)
        .map_err(|error| ApiError::Internal(error.into()))?;

    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    Ok(([(header::CONTENT_TYPE, content_type)], text).into_response())
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound {
        what: "route",
        id: uri.path().to_owned(),
    }
}

/// Maximum size of a plain-text error body that [`json_errors`] quotes in its message.
const QUOTED_ERROR_BYTES: usize = 512;

/// Gives every error response a JSON `{"error": ...}` body, also those that axum and the
/// request bounds send with plain text or nothing (405, 408, 413, a path that is not valid
/// UTF-8). The probes keep their plain-text bodies.
async fn json_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let probe = matches!(request.uri().path(), "/healthz" | "/readyz");
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"));
    if probe || is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }

    let (mut parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, QUOTED_ERROR_BYTES).await {
        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().to_owned(),
        Err(_) => String::new(),
    };
    let message = match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            let allowed = parts
                .headers
                .get(header::ALLOW)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("GET");
            format!("method `{method}` is not allowed here: use {allowed}")
        }
        StatusCode::PAYLOAD_TOO_LARGE => {
            format!("request body is larger than {BODY_LIMIT_BYTES} bytes")
        }
        StatusCode::REQUEST_TIMEOUT => {
            format!("request took longer than {} s", REQUEST_TIMEOUT.as_secs())
        }
        _ if !text.is_empty() => text,
        _ => status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_lowercase(),
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let body = serde_json::json!({ "error": message }).to_string();
    Response::from_parts(parts, axum::body::Body::from(body))
}

/// Rejects requests without the configured bearer token.
async fn require_token(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let Some(token) = &state.token else {
        return next.run(request).await;
    };
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(bearer_credentials);

    match presented {
        Some(presented) if constant_time_eq(presented.as_bytes(), token.as_bytes()) => {
            next.run(request).await
        }
        _ => ApiError::Unauthorized.into_response(),
    }
}

/// Returns the credentials of an `Authorization: Bearer <token>` value. The scheme name is
/// case-insensitive (RFC 9110, section 11.1).
fn bearer_credentials(value: &str) -> Option<&str> {
    let (scheme, credentials) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| credentials.trim_start_matches(' '))
}

/// Compares two byte strings in time that depends only on their lengths.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

/// Counts each response by its route pattern and status code.
async fn count_request(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let response = next.run(request).await;

    let labels = RequestLabels {
        route,
        status: response.status().as_u16(),
    };
    state.metrics.http_requests.get_or_create(&labels).inc();
    response
}
