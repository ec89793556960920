//! A local HTTP server that speaks the Kubernetes API's JSON and watch protocol for Pods and
//! core/v1 Events, for testing clients such as kube-rs watchers without a cluster.
//!
//! The server listens on `127.0.0.1` on an ephemeral port over plain HTTP and serves:
//!
//! - `GET /api/v1/{pods,events}` and `GET /api/v1/namespaces/{ns}/{pods,events}`: lists with
//!   selectors, pagination and `resourceVersion` semantics ([`list`] module docs), or watches
//!   with `watch=true` ([`watch`] module docs);
//! - `GET /api/v1/namespaces/{ns}/{pods,events}/{name}`: one object;
//! - `GET /api/v1/namespaces/{ns}/pods/{name}/log`: container logs by kubelet's rules
//!   ([`logs`] module docs);
//! - `GET /version`.
//!
//! Tests drive it through [`TestApiServer`]. They create and change objects, and each change
//! gets the next `resourceVersion` and reaches open watches. They set logs per container
//! instance, change container statuses the way kubelet does, compact the history, arm faults,
//! close watches, and read back the requests the server received. The server accepts any
//! credential and checks no permission, because faults stand in for rejections.
//!
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use podmortem_test_apiserver::{Exit, Fault, TestApiServer};
//!
//! let server = TestApiServer::start().await?;
//! server.load_pods(std::path::Path::new("tests/data/cases/01-oomkilled-memory-limit.json"))?;
//! server.set_log("shop", "api-7d9f8c6b5d-x2k4q", "api", false, "listening on :8080\n")?;
//! let exit = Exit { exit_code: 137, reason: "OOMKilled".into(), message: None };
//! server.kubelet_restart("shop", "api-7d9f8c6b5d-x2k4q", "api", &exit)?;
//! server.fail_next("/api/v1/namespaces/shop/pods", 1, Fault::ServiceUnavailable);
//! // Point a client at `server.url()`, or at a kubeconfig from `server.write_kubeconfig(..)`.
//! # Ok(())
//! # }
//! ```
//!
//! Facts about the API come from the Kubernetes API concepts documentation and from
//! kube-apiserver and kubelet sources (1.34), named in each module.

mod faults;
mod ids;
mod kubelet;
pub mod list;
pub mod logs;
mod logs_route;
mod params;
mod selector;
mod server;
mod status;
mod store;
pub mod watch;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::Metadata;
use k8s_openapi::api::core::v1::{Event, Pod, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::oneshot;

pub use crate::faults::{Fault, RequestFilter, Verb};
pub use crate::kubelet::Exit;
pub use crate::server::RecordedRequest;
pub use crate::store::Resource;
pub use crate::watch::INITIAL_EVENTS_END_ANNOTATION;

use crate::server::Shared;

/// The number of changes kept for watches unless [`Builder::history_limit`] sets another.
/// Older changes are compacted, as etcd and the watch cache drop them.
pub const DEFAULT_HISTORY_LIMIT: usize = 10_000;

/// The time between periodic bookmarks unless [`Builder::bookmark_interval`] sets another.
/// kube-apiserver sends them about once a minute.
pub const DEFAULT_BOOKMARK_INTERVAL: Duration = Duration::from_secs(60);

/// The name of the cluster, context and user in the generated kubeconfig.
pub const KUBECONFIG_NAME: &str = "podmortem-test";

/// Errors of the control calls.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The listener could not be bound.
    #[error("failed to bind the test API server to `127.0.0.1:0`")]
    Bind(#[source] std::io::Error),
    /// A store mutation was rejected.
    #[error(transparent)]
    Store(#[from] store::Error),
    /// A kubelet transition could not be applied.
    #[error(transparent)]
    Kubelet(#[from] kubelet::Error),
    /// An object could not be converted between its type and JSON.
    #[error("{kind} `{name}` does not convert to or from JSON")]
    Json {
        /// The object kind.
        kind: &'static str,
        /// The object's `namespace/name`.
        name: String,
        /// The conversion error.
        #[source]
        source: serde_json::Error,
    },
    /// A file could not be read or written.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A test data file contains neither the object nor a list of them.
    #[error("`{path}` is not a {kind} or a list of them")]
    NotObjects {
        /// The file.
        path: PathBuf,
        /// The expected kind.
        kind: &'static str,
    },
    /// A CRI log could not be parsed.
    #[error("log of container `{container}` in pod `{namespace}/{pod}` is not a CRI log")]
    CriLog {
        /// The namespace.
        namespace: String,
        /// The pod.
        pod: String,
        /// The container.
        container: String,
        /// The parse error.
        #[source]
        source: logs::CriError,
    },
    /// The container has no instance whose log could be set.
    #[error("container `{container}` in pod `{namespace}/{pod}` has no such instance: {reason}")]
    NoInstance {
        /// The namespace.
        namespace: String,
        /// The pod.
        pod: String,
        /// The container.
        container: String,
        /// Kubelet's message.
        reason: String,
    },
}

/// Settings of a server before it starts.
#[derive(Debug, Clone)]
pub struct Builder {
    history_limit: usize,
    bookmark_interval: Duration,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            history_limit: DEFAULT_HISTORY_LIMIT,
            bookmark_interval: DEFAULT_BOOKMARK_INTERVAL,
        }
    }
}

impl Builder {
    /// Sets how many changes the history keeps before the oldest are compacted.
    pub fn history_limit(mut self, changes: usize) -> Self {
        self.history_limit = changes;
        self
    }

    /// Sets the time between periodic bookmarks on watches that allow them.
    pub fn bookmark_interval(mut self, interval: Duration) -> Self {
        self.bookmark_interval = interval;
        self
    }

    /// Binds `127.0.0.1` on an ephemeral port and serves on the current Tokio runtime.
    pub async fn start(self) -> Result<TestApiServer, Error> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(Error::Bind)?;
        let address = listener.local_addr().map_err(Error::Bind)?;
        let shared = Arc::new(Shared::new(self.history_limit, self.bookmark_interval));

        let router = server::router(shared.clone());
        let (shutdown, stopped) = oneshot::channel::<()>();
        let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
            // An error means the handle is gone, which also stops the server.
            let _ = stopped.await;
        });
        tokio::spawn(async move {
            if let Err(error) = serve.await {
                tracing::error!(%error, %address, "test API server failed");
            }
            tracing::debug!(%address, "test API server stopped");
        });
        tracing::debug!(%address, "test API server started");
        Ok(TestApiServer {
            address,
            shared,
            shutdown: Some(shutdown),
        })
    }
}

/// A running server. Dropping it ends the open watches, stops accepting connections and
/// closes each open connection after its current request.
pub struct TestApiServer {
    address: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for TestApiServer {
    fn drop(&mut self) {
        self.drop_watches();
        if let Some(shutdown) = self.shutdown.take() {
            // An error only means that the server has stopped already.
            let _ = shutdown.send(());
        }
    }
}

impl TestApiServer {
    /// Starts a server with the default settings.
    pub async fn start() -> Result<TestApiServer, Error> {
        Builder::default().start().await
    }

    /// Returns the settings of a server to start.
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// Returns the base URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Returns a kubeconfig with one cluster, user and current context named
    /// [`KUBECONFIG_NAME`] that points at the server, with namespace `default`.
    pub fn kubeconfig_yaml(&self) -> String {
        format!(
            "apiVersion: v1
kind: Config
clusters:
- name: {KUBECONFIG_NAME}
  cluster:
    server: {url}
contexts:
- name: {KUBECONFIG_NAME}
  context:
    cluster: {KUBECONFIG_NAME}
    user: {KUBECONFIG_NAME}
    namespace: default
current-context: {KUBECONFIG_NAME}
users:
- name: {KUBECONFIG_NAME}
  user:
    token: {KUBECONFIG_NAME}-token
",
            url = self.url()
        )
    }

    /// Writes [`Self::kubeconfig_yaml`] to `path`.
    pub fn write_kubeconfig(&self, path: &Path) -> Result<(), Error> {
        fs_err::write(path, self.kubeconfig_yaml())?;
        Ok(())
    }

    /// Returns the latest `resourceVersion`.
    pub fn resource_version(&self) -> u64 {
        self.shared.store().resource_version()
    }

    /// Creates a pod; returns it as stored, with `uid`, `resourceVersion` and
    /// `creationTimestamp`.
    pub fn create_pod(&self, pod: &Pod) -> Result<Pod, Error> {
        self.create(Resource::Pods, pod)
    }

    /// Replaces a pod.
    pub fn update_pod(&self, pod: &Pod) -> Result<Pod, Error> {
        self.update(Resource::Pods, pod)
    }

    /// Changes the status of a stored pod with `change`, as a status update does.
    pub fn update_pod_status(
        &self,
        namespace: &str,
        name: &str,
        change: impl FnOnce(&mut PodStatus),
    ) -> Result<Pod, Error> {
        self.modify_pod(namespace, name, |pod| {
            change(pod.status.get_or_insert_with(PodStatus::default));
            Ok(())
        })
    }

    /// Deletes a pod at once; returns its last state.
    pub fn delete_pod(&self, namespace: &str, name: &str) -> Result<Pod, Error> {
        let deleted = self
            .shared
            .store()
            .delete(Resource::Pods, namespace, name)?;
        from_json(Resource::Pods, &deleted)
    }

    /// Returns a stored pod.
    pub fn pod(&self, namespace: &str, name: &str) -> Option<Pod> {
        let stored = self.shared.store().get(Resource::Pods, namespace, name)?;
        from_json(Resource::Pods, &stored).ok()
    }

    /// Creates an event.
    pub fn create_event(&self, event: &Event) -> Result<Event, Error> {
        self.create(Resource::Events, event)
    }

    /// Replaces an event, as kubelet's event recorder does when it raises `count`.
    pub fn update_event(&self, event: &Event) -> Result<Event, Error> {
        self.update(Resource::Events, event)
    }

    /// Deletes an event, as the API server does when its TTL ends.
    pub fn delete_event(&self, namespace: &str, name: &str) -> Result<Event, Error> {
        let deleted = self
            .shared
            .store()
            .delete(Resource::Events, namespace, name)?;
        from_json(Resource::Events, &deleted)
    }

    /// Creates every pod in a JSON file holding a Pod or a PodList; returns them as stored.
    pub fn load_pods(&self, path: &Path) -> Result<Vec<Pod>, Error> {
        read_objects(path, Resource::Pods)?
            .iter()
            .map(|pod| self.create_pod(pod))
            .collect()
    }

    /// Creates every event in a JSON file holding an Event or an EventList.
    pub fn load_events(&self, path: &Path) -> Result<Vec<Event>, Error> {
        read_objects(path, Resource::Events)?
            .iter()
            .map(|event| self.create_event(event))
            .collect()
    }

    /// Sets the log of one container instance from plain text, each line stamped with the
    /// current time. `previous` picks the instance in `lastState.terminated`; otherwise the
    /// instance kubelet would read for a log request without `previous`.
    pub fn set_log(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        previous: bool,
        text: &str,
    ) -> Result<(), Error> {
        let records = logs::records_from_text(text, ids::now());
        self.store_log(namespace, pod, container, previous, records)
    }

    /// Sets the log of one container instance from the bytes of a CRI log file, keeping each
    /// record's time and partial-line tag.
    pub fn set_cri_log(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        previous: bool,
        content: &[u8],
    ) -> Result<(), Error> {
        let records = logs::records_from_cri(content).map_err(|source| Error::CriLog {
            namespace: namespace.to_owned(),
            pod: pod.to_owned(),
            container: container.to_owned(),
            source,
        })?;
        self.store_log(namespace, pod, container, previous, records)
    }

    /// Forgets the whole history, so every earlier version is expired.
    pub fn compact(&self) {
        let mut store = self.shared.store();
        let latest = store.resource_version();
        store.compact_to(latest);
    }

    /// Forgets the changes at or before `resource_version`.
    pub fn compact_to(&self, resource_version: u64) {
        self.shared.store().compact_to(resource_version);
    }

    /// Arms `fault` for the next `count` requests that match `filter`.
    pub fn fail_next(&self, filter: impl Into<RequestFilter>, count: usize, fault: Fault) {
        self.shared.faults().arm(filter.into(), count, fault);
    }

    /// Ends every open watch cleanly, as an API server restart does.
    pub fn drop_watches(&self) {
        self.shared
            .close_watches
            .send_modify(|generation| *generation += 1);
    }

    /// Sends a bookmark now on every open watch that allows them.
    pub fn send_bookmarks(&self) {
        // An error only means that no watch is open.
        let _ = self.shared.bookmarks.send(());
    }

    /// Returns the number of open watch streams.
    pub fn open_watches(&self) -> usize {
        self.shared.open_watch_count()
    }

    /// Returns every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests().clone()
    }

    /// Forgets the requests received so far.
    pub fn clear_requests(&self) {
        self.shared.requests().clear();
    }

    /// Kills the running instance of `container` with `exit` and starts the next one, as
    /// kubelet reports a restart: the dead instance moves into `lastState.terminated` and
    /// `restartCount` grows by one. The log of the dead instance becomes the previous log, and
    /// the new instance starts with an empty log.
    pub fn kubelet_restart(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        exit: &Exit,
    ) -> Result<Pod, Error> {
        let new_id = self.new_container_id(namespace, pod, container);
        let updated = self.modify_pod(namespace, pod, |stored| {
            kubelet::restart(stored, container, exit, ids::now(), new_id).map_err(Error::from)
        })?;
        self.forget_unreachable_logs(namespace, &updated);
        Ok(updated)
    }

    /// Ends the running instance of `container` with `exit` and leaves it waiting in
    /// `CrashLoopBackOff`, with the dead instance in `lastState` and `restartCount` unchanged.
    pub fn kubelet_crash_loop_wait(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        exit: &Exit,
    ) -> Result<Pod, Error> {
        let updated = self.modify_pod(namespace, pod, |stored| {
            kubelet::crash_loop_wait(stored, container, exit, ids::now()).map_err(Error::from)
        })?;
        self.forget_unreachable_logs(namespace, &updated);
        Ok(updated)
    }

    /// Ends the running instance of `container` with `exit` for good, as kubelet reports a
    /// container that its restart policy does not restart: `state.terminated` with the
    /// instance's container id, so its log stays the current log.
    pub fn kubelet_terminate(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        exit: &Exit,
    ) -> Result<Pod, Error> {
        self.modify_pod(namespace, pod, |stored| {
            kubelet::terminate(stored, container, exit, ids::now()).map_err(Error::from)
        })
    }

    /// Starts a graceful deletion, as `kubectl delete pod` does: sets
    /// `metadata.deletionTimestamp` to now plus the grace period and
    /// `metadata.deletionGracePeriodSeconds`, which watches see as MODIFIED. The pod stays
    /// until [`Self::delete_pod`] removes it, as kubelet does once the containers stopped.
    pub fn begin_pod_deletion(
        &self,
        namespace: &str,
        pod: &str,
        grace_period_seconds: i64,
    ) -> Result<Pod, Error> {
        let deadline = ids::now()
            .checked_add(jiff::SignedDuration::from_secs(grace_period_seconds.max(0)))
            .unwrap_or_else(|_| ids::now());
        self.modify_pod(namespace, pod, |stored| {
            stored.metadata.deletion_timestamp = Some(
                k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(deadline),
            );
            stored.metadata.deletion_grace_period_seconds = Some(grace_period_seconds.max(0));
            Ok(())
        })
    }

    /// Starts the next instance of a container that waits in `CrashLoopBackOff`.
    pub fn kubelet_start_after_back_off(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
    ) -> Result<Pod, Error> {
        let new_id = self.new_container_id(namespace, pod, container);
        self.modify_pod(namespace, pod, |stored| {
            kubelet::start_after_back_off(stored, container, ids::now(), new_id)
                .map_err(Error::from)
        })
    }

    fn create<T: Serialize + DeserializeOwned + Metadata<Ty = ObjectMeta>>(
        &self,
        resource: Resource,
        object: &T,
    ) -> Result<T, Error> {
        let value = to_json(resource, object)?;
        let stored = self.shared.store().create(resource, value)?;
        from_json(resource, &stored)
    }

    fn update<T: Serialize + DeserializeOwned + Metadata<Ty = ObjectMeta>>(
        &self,
        resource: Resource,
        object: &T,
    ) -> Result<T, Error> {
        let value = to_json(resource, object)?;
        let stored = self.shared.store().update(resource, value)?;
        from_json(resource, &stored)
    }

    /// Reads, changes and stores a pod under one lock, so no other change slips in between.
    fn modify_pod(
        &self,
        namespace: &str,
        name: &str,
        change: impl FnOnce(&mut Pod) -> Result<(), Error>,
    ) -> Result<Pod, Error> {
        let mut store = self.shared.store();
        let stored =
            store
                .get(Resource::Pods, namespace, name)
                .ok_or_else(|| store::Error::NotFound {
                    resource: "pods",
                    namespace: namespace.to_owned(),
                    name: name.to_owned(),
                })?;
        let mut pod: Pod = from_json(Resource::Pods, &stored)?;

        change(&mut pod)?;

        let updated = store.update(Resource::Pods, to_json(Resource::Pods, &pod)?)?;
        from_json(Resource::Pods, &updated)
    }

    /// Returns a new container id with the runtime prefix of the container's current id.
    fn new_container_id(&self, namespace: &str, pod: &str, container: &str) -> String {
        let runtime = self
            .pod(namespace, pod)
            .and_then(|pod| {
                logs::container_status(&pod, container).and_then(|s| s.container_id.clone())
            })
            .and_then(|id| id.split_once("://").map(|(runtime, _)| runtime.to_owned()))
            .unwrap_or_else(|| "containerd".to_owned());
        self.shared.store().ids().container_id(&runtime)
    }

    fn store_log(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        previous: bool,
        records: Vec<logs::LogRecord>,
    ) -> Result<(), Error> {
        let no_instance = |reason: String| Error::NoInstance {
            namespace: namespace.to_owned(),
            pod: pod.to_owned(),
            container: container.to_owned(),
            reason,
        };
        let stored = self
            .pod(namespace, pod)
            .ok_or_else(|| no_instance("the pod does not exist".into()))?;
        let container_id =
            logs::instance_container_id(&stored, pod, container, previous).map_err(no_instance)?;

        let key = (namespace.to_owned(), pod.to_owned(), container_id);
        self.shared.logs().insert(key, records);
        Ok(())
    }

    /// Drops the logs of instances that neither `state` nor `lastState` names any more, as
    /// kubelet's garbage collection removes dead containers beyond the last one.
    fn forget_unreachable_logs(&self, namespace: &str, pod: &Pod) {
        let name = pod.metadata.name.clone().unwrap_or_default();
        let mut reachable: Vec<String> = Vec::new();
        let statuses = pod.status.iter().flat_map(|status| {
            let regular = status.container_statuses.iter().flatten();
            let init = status.init_container_statuses.iter().flatten();
            regular.chain(init)
        });
        for status in statuses {
            reachable.extend(status.container_id.clone());
            let terminated = |state: Option<&k8s_openapi::api::core::v1::ContainerState>| {
                state
                    .and_then(|s| s.terminated.as_ref())
                    .and_then(|t| t.container_id.clone())
            };
            reachable.extend(terminated(status.state.as_ref()));
            reachable.extend(terminated(status.last_state.as_ref()));
        }
        self.shared.logs().retain(|(ns, pod_name, id), _| {
            ns != namespace || *pod_name != name || reachable.contains(id)
        });
    }
}

fn to_json<T: Serialize + Metadata<Ty = ObjectMeta>>(
    resource: Resource,
    object: &T,
) -> Result<Value, Error> {
    serde_json::to_value(object).map_err(|source| {
        let metadata = object.metadata();
        let namespace = metadata.namespace.as_deref().unwrap_or_default();
        let name = metadata.name.as_deref().unwrap_or_default();
        Error::Json {
            kind: resource.kind(),
            name: format!("{namespace}/{name}"),
            source,
        }
    })
}

fn from_json<T: DeserializeOwned>(resource: Resource, value: &Value) -> Result<T, Error> {
    serde_json::from_value(value.clone()).map_err(|source| Error::Json {
        kind: resource.kind(),
        name: list::storage_key(value),
        source,
    })
}

/// Reads a JSON file holding one object of `resource` or a list (`items`) of them.
fn read_objects<T: DeserializeOwned>(path: &Path, resource: Resource) -> Result<Vec<T>, Error> {
    let text = fs_err::read_to_string(path)?;
    let value: Value = serde_json::from_str(&text).map_err(|source| Error::Json {
        kind: resource.kind(),
        name: path.display().to_string(),
        source,
    })?;

    let not_objects = || Error::NotObjects {
        path: path.to_owned(),
        kind: resource.kind(),
    };
    let values = match value.get("items") {
        Some(Value::Array(items)) => items.clone(),
        Some(_) => return Err(not_objects()),
        None if value.get("kind").and_then(Value::as_str) == Some(resource.kind()) => vec![value],
        None => return Err(not_objects()),
    };
    values
        .iter()
        .map(|item| from_json(resource, item))
        .collect()
}
