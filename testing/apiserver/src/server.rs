//! The HTTP side: shared state, routes, and the layer that records each request and returns
//! an armed fault's response before any handler runs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tokio::sync::{broadcast, watch};

use crate::faults::{Faults, RequestInfo, Verb};
use crate::logs::LogRecord;
use crate::params::Params;
use crate::status::ApiError;
use crate::store::{Resource, Store};
use crate::{list, logs_route, watch as watch_route};

/// One request the server received, for assertions in tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// The HTTP method.
    pub method: String,
    /// The URL path.
    pub path: String,
    /// The decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    /// The verb, when the path names a served resource.
    pub verb: Option<Verb>,
}

impl RecordedRequest {
    /// Returns the first value of a query parameter.
    pub fn query_value(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// Logs keyed by namespace, pod name and container id.
pub type LogKey = (String, String, String);

/// State shared by the handlers and the test's handle.
pub struct Shared {
    /// The objects and their history.
    pub store: Mutex<Store>,
    /// Container logs by instance.
    pub logs: Mutex<HashMap<LogKey, Vec<LogRecord>>>,
    /// Armed faults.
    pub faults: Mutex<Faults>,
    /// Every request received, in order.
    pub requests: Mutex<Vec<RecordedRequest>>,
    /// Bumped to close every open watch.
    pub close_watches: watch::Sender<u64>,
    /// Sends a bookmark on every open watch that allows them.
    pub bookmarks: broadcast::Sender<()>,
    /// Watches whose stream is still open.
    pub open_watches: AtomicUsize,
    /// Time between periodic bookmarks.
    pub bookmark_interval: Duration,
}

impl Shared {
    /// Creates the state for a new server.
    pub fn new(history_limit: usize, bookmark_interval: Duration) -> Self {
        let (close_watches, _) = watch::channel(0);
        let (bookmarks, _) = broadcast::channel(16);
        Shared {
            store: Mutex::new(Store::new(history_limit)),
            logs: Mutex::new(HashMap::new()),
            faults: Mutex::new(Faults::default()),
            requests: Mutex::new(Vec::new()),
            close_watches,
            bookmarks,
            open_watches: AtomicUsize::new(0),
            bookmark_interval,
        }
    }

    /// Locks the store. A poisoned lock is taken over, because every mutation leaves the store
    /// consistent before it can panic.
    pub fn store(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Locks the logs.
    pub fn logs(&self) -> MutexGuard<'_, HashMap<LogKey, Vec<LogRecord>>> {
        self.logs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Locks the faults.
    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Locks the request log.
    pub fn requests(&self) -> MutexGuard<'_, Vec<RecordedRequest>> {
        self.requests
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Returns the number of open watches.
    pub fn open_watch_count(&self) -> usize {
        self.open_watches.load(Ordering::SeqCst)
    }
}

/// Builds the router with every served path.
pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/version", get(version))
        .route("/api/v1/{resource}", get(list_all))
        .route(
            "/api/v1/namespaces/{namespace}/{resource}",
            get(list_namespaced),
        )
        .route(
            "/api/v1/namespaces/{namespace}/{resource}/{name}",
            get(get_object),
        )
        .route(
            "/api/v1/namespaces/{namespace}/pods/{name}/log",
            get(logs_route::pod_log),
        )
        .fallback(fallback)
        .layer(middleware::from_fn_with_state(
            shared.clone(),
            record_and_fault,
        ))
        .with_state(shared)
}

async fn version() -> Response {
    let body = json!({
        "major": "1",
        "minor": "34",
        "gitVersion": "v1.34.0",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-08-27T00:00:00Z",
        "goVersion": "go1.24.6",
        "compiler": "gc",
        "platform": "linux/amd64"
    });
    (
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn list_all(
    State(shared): State<Arc<Shared>>,
    Path(resource): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    collection(shared, &resource, None, query).await
}

async fn list_namespaced(
    State(shared): State<Arc<Shared>>,
    Path((namespace, resource)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    collection(shared, &resource, Some(namespace), query).await
}

async fn collection(
    shared: Arc<Shared>,
    resource: &str,
    namespace: Option<String>,
    query: Option<String>,
) -> Response {
    let Some(resource) = parse_resource(resource) else {
        return ApiError::unknown_path().into_response();
    };
    let params = Params::parse(query.as_deref());
    let watching = match params.flag("watch") {
        Ok(flag) => flag.unwrap_or(false),
        Err(error) => return error.into_response(),
    };
    let result = if watching {
        watch_route::watch(shared, resource, namespace, &params)
    } else {
        list::list(&shared, resource, namespace.as_deref(), &params)
    };
    result.unwrap_or_else(IntoResponse::into_response)
}

async fn get_object(
    State(shared): State<Arc<Shared>>,
    Path((namespace, resource, name)): Path<(String, String, String)>,
) -> Response {
    let Some(resource) = parse_resource(&resource) else {
        return ApiError::unknown_path().into_response();
    };
    let object = shared.store().get(resource, &namespace, &name);
    match object {
        Some(object) => (
            [(header::CONTENT_TYPE, "application/json")],
            object.to_string(),
        )
            .into_response(),
        None => ApiError::not_found(resource.plural(), &name).into_response(),
    }
}

async fn fallback() -> Response {
    ApiError::unknown_path().into_response()
}

fn parse_resource(name: &str) -> Option<Resource> {
    match name {
        "pods" => Some(Resource::Pods),
        "events" => Some(Resource::Events),
        _ => None,
    }
}

/// Records the request, then returns an armed fault's response, or 405 for methods other
/// than GET, or passes the request on.
async fn record_and_fault(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path().to_owned();
    let params = Params::parse(request.uri().query());
    let classified = classify(&path, &params);
    shared.requests().push(RecordedRequest {
        method: request.method().to_string(),
        path: path.clone(),
        query: params.pairs().to_vec(),
        verb: classified.as_ref().map(|c| c.verb),
    });

    if request.method() != Method::GET {
        return ApiError::method_not_supported(request.method().as_str()).into_response();
    }
    let info = RequestInfo {
        path: &path,
        verb: classified.as_ref().map(|c| c.verb),
        resource: classified.as_ref().map_or("", |c| c.resource.as_str()),
        namespace: classified.as_ref().and_then(|c| c.namespace.as_deref()),
        name: classified.as_ref().and_then(|c| c.name.as_deref()),
    };
    let fault = shared.faults().take_error(info);
    match fault {
        Some(error) => error.into_response(),
        None => next.run(request).await,
    }
}

/// The verb, resource, namespace and name of a request path, as kube-apiserver's
/// request-info resolver reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    /// The verb.
    pub verb: Verb,
    /// The resource, with its subresource (`pods/log`).
    pub resource: String,
    /// The namespace.
    pub namespace: Option<String>,
    /// The object name.
    pub name: Option<String>,
}

/// Reads the verb, resource, namespace and name of an `/api/v1/...` path.
pub fn classify(path: &str, params: &Params) -> Option<Classified> {
    let rest = path.strip_prefix("/api/v1/")?;
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let watching = params.flag("watch").ok().flatten().unwrap_or(false);
    let collection_verb = if watching { Verb::Watch } else { Verb::List };
    let owned = |s: &&str| (*s).to_owned();

    let (verb, resource, namespace, name) = match segments.as_slice() {
        [resource] => (collection_verb, (*resource).to_owned(), None, None),
        ["namespaces", namespace, resource] => (
            collection_verb,
            (*resource).to_owned(),
            Some(owned(namespace)),
            None,
        ),
        ["namespaces", namespace, resource, name] => (
            Verb::Get,
            (*resource).to_owned(),
            Some(owned(namespace)),
            Some(owned(name)),
        ),
        ["namespaces", namespace, resource, name, sub] => (
            Verb::Get,
            format!("{resource}/{sub}"),
            Some(owned(namespace)),
            Some(owned(name)),
        ),
        _ => return None,
    };
    Some(Classified {
        verb,
        resource,
        namespace,
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classify_reads_verbs() {
        let none = Params::default();
        let watching = Params::parse(Some("watch=1"));

        let list = classify("/api/v1/pods", &none).unwrap();
        assert_eq!((list.verb, list.resource.as_str()), (Verb::List, "pods"));
        let watch = classify("/api/v1/namespaces/a/events", &watching).unwrap();
        assert_eq!(
            (watch.verb, watch.namespace.as_deref()),
            (Verb::Watch, Some("a"))
        );
        let log = classify("/api/v1/namespaces/a/pods/x/log", &none).unwrap();
        assert_eq!((log.verb, log.resource.as_str()), (Verb::Get, "pods/log"));
        assert!(classify("/apis/apps/v1/deployments", &none).is_none());
    }
}
