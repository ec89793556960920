//! The watch handler: a chunked `application/json` response with one
//! `{"type": ..., "object": ...}` event per line, following the watch rules of the Kubernetes
//! API concepts documentation ("Efficient detection of changes", "Watch bookmarks",
//! "Streaming lists") and the watch cache's event conversion (`cacheWatcher` in
//! `k8s.io/apiserver/pkg/storage/cacher`):
//!
//! - no `resourceVersion` or `"0"`: ADDED for every current object, then later changes;
//!   `N`: exactly the changes after `N`; `N` before the last compaction: one ERROR event with
//!   a 410 `Expired` status, then the end of the stream.
//! - `sendInitialEvents=true`: ADDED for every current object, then a BOOKMARK annotated
//!   `k8s.io/initial-events-end: "true"`, then later changes. `sendInitialEvents=false` with no
//!   version starts at the current version without initial events.
//!   NOTE: kube-apiserver with the WatchList feature may turn a watch without a version (or
//!   with `"0"`) into such a streaming list; this server keeps the older behaviour above.
//! - With selectors, a change that makes an object match is sent as ADDED, and one that makes
//!   it stop matching as DELETED with the previous object and the change's version.
//! - With `allowWatchBookmarks=true`, BOOKMARK events (only `kind`, `apiVersion` and
//!   `metadata.resourceVersion`) come every bookmark interval and on request. Their version is
//!   the newest change this watch has processed, so every change up to it was sent.
//! - The stream ends after `timeoutSeconds` (1800 s when absent, the lower end of
//!   kube-apiserver's default `--min-request-timeout` range).

use std::io;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use crate::faults::{RequestInfo, Verb};
use crate::list::{ListOptions, Version};
use crate::params::Params;
use crate::server::Shared;
use crate::status::ApiError;
use crate::store::{Change, ChangeType, Resource, Subscription};

/// The watch duration when the request gives no `timeoutSeconds`.
const DEFAULT_TIMEOUT_SECONDS: u64 = 1800;

/// Events buffered between the watch task and the response body.
const EVENT_BUFFER: usize = 64;

/// The pause before an injected break, so the events sent before it reach the client.
const FLUSH_BEFORE_BREAK: Duration = Duration::from_millis(50);

/// The annotation that marks the end of the initial events of a streaming list.
pub const INITIAL_EVENTS_END_ANNOTATION: &str = "k8s.io/initial-events-end";

type Chunk = Result<Bytes, io::Error>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Initial {
    /// Changes only.
    Nothing,
    /// ADDED events for the current objects first.
    Added,
    /// ADDED events for the current objects, then the initial-events-end bookmark.
    AddedThenBookmark,
}

/// Serves a watch request.
pub fn watch(
    shared: Arc<Shared>,
    resource: Resource,
    namespace: Option<String>,
    params: &Params,
) -> Result<Response, ApiError> {
    let options = ListOptions::parse(params, resource, true)?;
    let path = collection_path(resource, namespace.as_deref());
    let drop_after = shared.faults().take_drop(RequestInfo {
        path: &path,
        verb: Some(Verb::Watch),
        resource: resource.plural(),
        namespace: namespace.as_deref(),
        name: None,
    });

    let subscribed = {
        let store = shared.store();
        let current = store.resource_version();
        let (after, initial) = match (options.send_initial_events, options.version) {
            (_, Version::At(requested)) if requested > current => {
                return Err(ApiError::too_large_resource_version(requested, current));
            }
            (Some(true), _) => (None, Initial::AddedThenBookmark),
            (Some(false), Version::At(requested)) | (None, Version::At(requested)) => {
                (Some(requested), Initial::Nothing)
            }
            (Some(false), _) => (Some(current), Initial::Nothing),
            (None, _) => (None, Initial::Added),
        };
        store
            .subscribe(resource, namespace.as_deref(), after)
            .map(|subscription| (subscription, initial))
    };

    let (sender, receiver) = mpsc::channel::<Chunk>(EVENT_BUFFER);
    match subscribed {
        Ok((subscription, initial)) => {
            let task = WatchTask {
                shared: shared.clone(),
                resource,
                namespace,
                options,
                sender,
                sent: 0,
                drop_after,
                last_version: 0,
            };
            tokio::spawn(task.run(subscription, initial));
        }
        Err(expired) => {
            tracing::debug!(
                requested = expired.requested,
                compacted = expired.compacted,
                "watch from a compacted version"
            );
            let status =
                ApiError::too_old_resource_version(expired.requested, expired.compacted).status();
            let line = event_line("ERROR", &status);
            tokio::spawn(async move { sender.send(Ok(line)).await });
        }
    }

    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    let response = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    );
    Ok(response.into_response())
}

fn collection_path(resource: Resource, namespace: Option<&str>) -> String {
    match namespace {
        Some(namespace) => format!("/api/v1/namespaces/{namespace}/{}", resource.plural()),
        None => format!("/api/v1/{}", resource.plural()),
    }
}

fn event_line(event_type: &str, object: &Value) -> Bytes {
    let mut line = json!({"type": event_type, "object": object}).to_string();
    line.push('\n');
    Bytes::from(line)
}

/// Counts a watch as open while it lives.
struct OpenWatch(Arc<Shared>);

impl OpenWatch {
    fn new(shared: Arc<Shared>) -> Self {
        shared.open_watches.fetch_add(1, Ordering::SeqCst);
        OpenWatch(shared)
    }
}

impl Drop for OpenWatch {
    fn drop(&mut self) {
        self.0.open_watches.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The end of a watch task's sending, when the client went away or a fault broke the
/// connection.
enum Stop {
    /// The client went away, or the fault broke the connection.
    Gone,
}

struct WatchTask {
    shared: Arc<Shared>,
    resource: Resource,
    namespace: Option<String>,
    options: ListOptions,
    sender: mpsc::Sender<Chunk>,
    sent: usize,
    drop_after: Option<usize>,
    last_version: u64,
}

impl WatchTask {
    async fn run(mut self, subscription: Subscription, initial: Initial) {
        let _open = OpenWatch::new(self.shared.clone());
        let Subscription {
            resource_version,
            objects,
            backlog,
            mut receiver,
        } = subscription;

        if self.drop_after == Some(0) {
            let _ = self.break_connection().await;
            return;
        }
        if self
            .send_initial(&objects, initial, resource_version)
            .await
            .is_err()
        {
            return;
        }
        for change in backlog {
            if self.process(&change).await.is_err() {
                return;
            }
        }
        self.last_version = self.last_version.max(resource_version);

        let _ = self.follow(&mut receiver).await;
    }

    async fn send_initial(
        &mut self,
        objects: &[Arc<Value>],
        initial: Initial,
        version: u64,
    ) -> Result<(), Stop> {
        if initial == Initial::Nothing {
            return Ok(());
        }
        for object in objects {
            if self.matches(object) {
                self.send("ADDED", object).await?;
            }
        }
        if initial == Initial::AddedThenBookmark {
            let bookmark = self.bookmark(version, true);
            self.send("BOOKMARK", &bookmark).await?;
        }
        Ok(())
    }

    /// Sends live changes, bookmarks and the end of the stream.
    async fn follow(
        &mut self,
        receiver: &mut broadcast::Receiver<Arc<Change>>,
    ) -> Result<(), Stop> {
        let timeout = Duration::from_secs(
            self.options
                .timeout_seconds
                .unwrap_or(DEFAULT_TIMEOUT_SECONDS),
        );
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let interval = self.shared.bookmark_interval;
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        let mut bookmark_requests = self.shared.bookmarks.subscribe();
        let mut close = self.shared.close_watches.subscribe();
        let bookmarks = self.options.allow_bookmarks;
        let sender = self.sender.clone();

        loop {
            tokio::select! {
                change = receiver.recv() => match change {
                    Ok(change) => self.process(&change).await?,
                    // A lagging watch ends, and its client watches again from its last version.
                    Err(broadcast::error::RecvError::Lagged(_) | broadcast::error::RecvError::Closed) => return Ok(()),
                },
                _ = ticker.tick(), if bookmarks => self.send_bookmark().await?,
                Ok(()) = bookmark_requests.recv(), if bookmarks => self.send_bookmark().await?,
                _ = close.changed() => return Ok(()),
                () = &mut deadline => return Ok(()),
                () = sender.closed() => return Err(Stop::Gone),
            }
        }
    }

    async fn process(&mut self, change: &Change) -> Result<(), Stop> {
        self.last_version = self.last_version.max(change.resource_version);
        if change.resource != self.resource
            || self
                .namespace
                .as_deref()
                .is_some_and(|ns| ns != change.namespace)
        {
            return Ok(());
        }

        let current_matches =
            change.change_type != ChangeType::Deleted && self.matches(&change.object);
        let previous_matches = change
            .previous
            .as_ref()
            .is_some_and(|previous| self.matches(previous));
        match (current_matches, previous_matches) {
            (true, false) => self.send("ADDED", &change.object).await,
            (true, true) => self.send("MODIFIED", &change.object).await,
            (false, true) if change.change_type == ChangeType::Deleted => {
                self.send("DELETED", &change.object).await
            }
            (false, true) => {
                let mut object = change.previous.as_deref().cloned().unwrap_or_default();
                if let Some(metadata) = object.get_mut("metadata") {
                    metadata["resourceVersion"] = json!(change.resource_version.to_string());
                }
                self.send("DELETED", &object).await
            }
            (false, false) => Ok(()),
        }
    }

    fn matches(&self, object: &Value) -> bool {
        self.options.labels.matches(object) && self.options.fields.matches(self.resource, object)
    }

    fn bookmark(&self, version: u64, initial_events_end: bool) -> Value {
        let mut metadata = json!({"resourceVersion": version.to_string()});
        if initial_events_end {
            metadata["annotations"] = json!({INITIAL_EVENTS_END_ANNOTATION: "true"});
        }
        json!({"kind": self.resource.kind(), "apiVersion": "v1", "metadata": metadata})
    }

    async fn send_bookmark(&mut self) -> Result<(), Stop> {
        let bookmark = self.bookmark(self.last_version, false);
        self.send("BOOKMARK", &bookmark).await
    }

    async fn send(&mut self, event_type: &str, object: &Value) -> Result<(), Stop> {
        if self.drop_after.is_some_and(|limit| self.sent >= limit) {
            return self.break_connection().await;
        }
        self.sender
            .send(Ok(event_line(event_type, object)))
            .await
            .map_err(|_| Stop::Gone)?;
        self.sent += 1;
        Ok(())
    }

    /// Ends the body with an error, so the server drops the connection without the final
    /// chunk.
    async fn break_connection(&mut self) -> Result<(), Stop> {
        // hyper closes the connection on a body error without flushing what it buffered, so
        // the events before the break get a moment to reach the socket first.
        // NOTE: 50 ms is enough on loopback; a slow machine could still lose the last events.
        tokio::time::sleep(FLUSH_BEFORE_BREAK).await;
        let error = io::Error::new(
            io::ErrorKind::ConnectionReset,
            "watch connection dropped by an injected fault",
        );
        let _ = self.sender.send(Err(error)).await;
        Err(Stop::Gone)
    }
}
