//! Helpers of the watcher's integration tests: a test API server on loopback, the watcher
//! running in-process on a temporary store, and polling of the store with a deadline.

#![allow(
    dead_code,
    reason = "each test binary uses a different subset of these helpers"
)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Event, Pod};
use kube::Client;
use podmortem::cluster::{self, Shutdown, WatchOptions, WatchSummary};
use podmortem::model::Termination;
use podmortem::store::{Filter, SqliteStore, Store};
use podmortem_test_apiserver::{Exit, TestApiServer};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// How long a test waits for the store to reach the expected state.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Returns a client of the test server.
pub fn client(server: &TestApiServer) -> Client {
    let url = server.url().parse().expect("a valid server URL");
    Client::try_from(kube::Config::new(url)).expect("a client")
}

/// A watcher running in-process against a test server.
pub struct Watcher {
    pub shutdown: Shutdown,
    pub task: JoinHandle<Result<WatchSummary, cluster::Error>>,
}

impl Watcher {
    /// Starts the watcher on the store at `db`.
    pub fn start(server: &TestApiServer, db: &Path, options: WatchOptions) -> Watcher {
        init_logging();
        let store = SqliteStore::open(db).expect("open the store");
        let shutdown = Shutdown::new();
        let task = tokio::spawn(cluster::run(
            client(server),
            options,
            store,
            shutdown.clone(),
        ));
        Watcher { shutdown, task }
    }

    /// Starts the watcher and waits until its pod and event watches are open, so that every
    /// later change reaches it through a watch.
    pub async fn start_watching(
        server: &TestApiServer,
        db: &Path,
        options: WatchOptions,
    ) -> Watcher {
        let watches_before = server.open_watches();
        let watcher = Watcher::start(server, db, options);
        let start = Instant::now();
        while server.open_watches() < watches_before + 2 {
            assert!(start.elapsed() < DEADLINE, "the watcher opened no watches");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        watcher
    }

    /// Stops the watcher and returns its summary.
    pub async fn stop(self) -> WatchSummary {
        self.shutdown.trigger();
        self.task
            .await
            .expect("the watcher task ends")
            .expect("the watcher ends without error")
    }
}

/// Shows the watcher's logs in the output of failed tests, filtered by `RUST_LOG`.
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let result = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_test_writer()
        .try_init();
    // Another test of the same binary has set it already.
    drop(result);
}

/// A temporary folder with the database path inside it.
pub struct TempDb {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl TempDb {
    pub fn new() -> TempDb {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("podmortem.db");
        TempDb { dir, path }
    }
}

/// Returns every stored record, expected exits included.
pub fn stored(db: &Path) -> Vec<Termination> {
    let Ok(store) = SqliteStore::open_existing(db) else {
        return Vec::new();
    };
    let filter = Filter {
        include_expected: true,
        ..Filter::default()
    };
    store.query(&filter).expect("query the store")
}

/// Polls the store until `done` holds for its records, and returns them; panics with the
/// records last seen when the deadline passes.
pub async fn wait_for(
    db: &Path,
    what: &str,
    done: impl Fn(&[Termination]) -> bool,
) -> Vec<Termination> {
    let start = Instant::now();
    loop {
        let records = stored(db);
        if done(&records) {
            return records;
        }
        if start.elapsed() > DEADLINE {
            let seen: Vec<String> = records
                .iter()
                .map(|record| {
                    format!(
                        "{}/{} restart {} {} missed {}",
                        record.pod,
                        record.container,
                        record.restart_count,
                        record.cause.kind,
                        record.missed_before
                    )
                })
                .collect();
            panic!("timed out waiting for {what}; stored: {seen:#?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Returns the records of one pod and container, lowest restart number first.
pub fn instances<'a>(
    records: &'a [Termination],
    pod: &str,
    container: &str,
) -> Vec<&'a Termination> {
    let mut found: Vec<&Termination> = records
        .iter()
        .filter(|record| record.pod == pod && record.container == container)
        .collect();
    found.sort_by_key(|record| record.restart_count);
    found
}

/// Returns a running pod on `node-1` from a JSON spec of its containers, init containers
/// and their statuses; every container starts running with restart count 0.
pub fn pod(namespace: &str, name: &str, spec: Value) -> Pod {
    let running = |container: &Value, index: usize| {
        let name = container["name"].as_str().unwrap_or_default().to_owned();
        json!({
            "name": name,
            "image": "registry.example/app:1",
            "imageID": "",
            "ready": true,
            "restartCount": 0,
            "containerID": format!("containerd://{name}{index:0>60}"),
            "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}
        })
    };
    let containers: Vec<Value> = spec["containers"].as_array().cloned().unwrap_or_default();
    let init: Vec<Value> = spec["initContainers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let statuses: Vec<Value> = containers
        .iter()
        .enumerate()
        .map(|(index, container)| running(container, index))
        .collect();
    let init_statuses: Vec<Value> = init
        .iter()
        .enumerate()
        .map(|(index, container)| running(container, index + 50))
        .collect();

    let mut spec = spec;
    spec["nodeName"] = json!("node-1");
    let mut status = json!({
        "phase": "Running",
        "containerStatuses": statuses,
    });
    if !init_statuses.is_empty() {
        status["initContainerStatuses"] = json!(init_statuses);
    }
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"namespace": namespace, "name": name, "labels": {"app": name}},
        "spec": spec,
        "status": status,
    }))
    .expect("a valid pod")
}

/// Returns a pod with one container `app`.
pub fn simple_pod(namespace: &str, name: &str) -> Pod {
    pod(
        namespace,
        name,
        json!({"containers": [{"name": "app", "image": "registry.example/app:1"}]}),
    )
}

/// Returns an exit with the given code and reason.
pub fn exit(exit_code: i32, reason: &str) -> Exit {
    Exit {
        exit_code,
        reason: reason.to_owned(),
        message: None,
    }
}

/// Returns a kubelet event about container `container` of pod `pod`, seen now.
pub fn container_event(
    namespace: &str,
    name: &str,
    pod: &Pod,
    container: &str,
    reason: &str,
    message: &str,
) -> Event {
    let now = jiff::Timestamp::now().to_string();
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"namespace": namespace, "name": name},
        "involvedObject": {
            "kind": "Pod",
            "namespace": namespace,
            "name": pod.metadata.name,
            "uid": pod.metadata.uid,
            "fieldPath": format!("spec.containers{{{container}}}"),
        },
        "reason": reason,
        "type": if reason == "Killing" { "Normal" } else { "Warning" },
        "message": message,
        "count": 1,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "source": {"component": "kubelet", "host": "node-1"},
    }))
    .expect("a valid event")
}
