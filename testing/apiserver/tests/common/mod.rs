//! Helpers shared by the server's integration tests: the real cases of the root package,
//! small objects, and a reader for watch streams.

#![allow(
    dead_code,
    reason = "each test binary uses a different subset of these helpers"
)]

use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Event, Pod};
use podmortem_test_apiserver::TestApiServer;
use serde_json::{Value, json};

/// How long a test waits for an expected event before it fails.
pub const WAIT: Duration = Duration::from_secs(5);

/// Returns the path of a file of the real cases in the root package.
pub fn case_path(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/cases")
        .join(name);
    assert!(path.exists(), "missing test data `{}`", path.display());
    path
}

/// The case files that hold a Pod or a PodList.
pub const POD_CASES: &[&str] = &[
    "01-oomkilled-memory-limit.json",
    "02-exit137-liveness-kill.pod.json",
    "04-exit143-sigterm-rollout.pod.json",
    "05-exit139-segfault.json",
    "08-init-crashloop-termination-message.json",
    "09-exit127-command-not-found.json",
    "11-starterror-exit128.json",
    "13-job-backofflimit.pods.json",
    "15-evicted-memory-pressure.pod.json",
    "17-node-shutdown.json",
    "19-preempted.json",
    "20-native-sidecar.pods.json",
    "21-fallback-to-logs.json",
    "24-rotated-logs.pod.json",
    "28-termination-log-files.pod.json",
    "29-exit0-crashloop.json",
];

/// The case files that hold a core/v1 EventList.
pub const EVENT_CASES: &[&str] = &[
    "02-exit137-liveness-kill.events.json",
    "04-exit143-sigterm-rollout.events.json",
    "13-job-backofflimit.events.json",
    "15-evicted-memory-pressure.events.json",
    "20-native-sidecar.events.json",
    "26-event-series.corev1.json",
];

/// Starts a server holding every pod and event of the real cases; returns it with the
/// `namespace/name` of each pod.
pub async fn server_with_cases() -> (TestApiServer, Vec<String>) {
    let server = TestApiServer::start().await.expect("start the server");
    let mut names = Vec::new();
    for file in POD_CASES {
        for pod in server.load_pods(&case_path(file)).expect("load case pods") {
            let namespace = pod.metadata.namespace.unwrap_or_default();
            names.push(format!(
                "{namespace}/{}",
                pod.metadata.name.unwrap_or_default()
            ));
        }
    }
    for file in EVENT_CASES {
        server
            .load_events(&case_path(file))
            .expect("load case events");
    }
    names.sort();
    (server, names)
}

/// Returns a pod with one running container `app` on `node-1`.
pub fn pod(namespace: &str, name: &str, labels: Value) -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"namespace": namespace, "name": name, "labels": labels},
        "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "registry.example/app:1"}]},
        "status": {
            "phase": "Running",
            "containerStatuses": [{
                "name": "app", "image": "registry.example/app:1", "imageID": "", "ready": true,
                "restartCount": 0, "containerID": "containerd://1111111111111111111111111111111111111111111111111111111111111111",
                "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}}
            }]
        }
    }))
    .expect("a valid pod")
}

/// Returns an event about pod `pod`.
pub fn event(namespace: &str, name: &str, pod: &str, reason: &str) -> Event {
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"namespace": namespace, "name": name},
        "involvedObject": {"kind": "Pod", "namespace": namespace, "name": pod},
        "reason": reason,
        "type": "Warning",
        "message": "test event"
    }))
    .expect("a valid event")
}

/// Sends a GET request to the server; returns the status code and the body as JSON.
pub async fn get_json(server: &TestApiServer, path_and_query: &str) -> (u16, Value) {
    let response = reqwest::get(format!("{}{path_and_query}", server.url()))
        .await
        .expect("send the request");
    let status = response.status().as_u16();
    let body = response.text().await.expect("read the body");
    let value = serde_json::from_str(&body).unwrap_or_else(|_| panic!("body is not JSON: {body}"));
    (status, value)
}

/// Sends a GET request to the server; returns the status code, headers and the body as text.
pub async fn get_text(
    server: &TestApiServer,
    path_and_query: &str,
) -> (u16, reqwest::header::HeaderMap, String) {
    let response = reqwest::get(format!("{}{path_and_query}", server.url()))
        .await
        .expect("send the request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await.expect("read the body");
    (status, headers, body)
}

/// Waits at most [`WAIT`] until `condition` is true, and returns whether it became true.
pub async fn eventually(condition: impl Fn() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::time::Instant::now() < deadline {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    condition()
}

/// What reading the next watch event gave.
#[derive(Debug)]
pub enum Next {
    /// An event.
    Event(Value),
    /// The stream ended cleanly.
    End,
    /// The connection broke.
    Broken,
    /// Nothing came within [`WAIT`].
    Silent,
}

/// Reads one JSON event per line from a watch response.
pub struct WatchReader {
    response: reqwest::Response,
    buffer: Vec<u8>,
}

impl WatchReader {
    /// Opens a watch; panics unless the server returns 200.
    pub async fn open(server: &TestApiServer, path_and_query: &str) -> Self {
        let response = reqwest::get(format!("{}{path_and_query}", server.url()))
            .await
            .expect("send the watch request");
        assert_eq!(
            response.status().as_u16(),
            200,
            "watch `{path_and_query}` status"
        );
        WatchReader {
            response,
            buffer: Vec::new(),
        }
    }

    /// Reads the next event, waiting at most `wait`.
    pub async fn next_within(&mut self, wait: Duration) -> Next {
        loop {
            if let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buffer.drain(..=end).collect();
                let event = serde_json::from_slice(&line).expect("a watch line is JSON");
                return Next::Event(event);
            }
            match tokio::time::timeout(wait, self.response.chunk()).await {
                Err(_) => return Next::Silent,
                Ok(Err(_)) => return Next::Broken,
                Ok(Ok(None)) => return Next::End,
                Ok(Ok(Some(chunk))) => self.buffer.extend_from_slice(&chunk),
            }
        }
    }

    /// Reads the next event; panics if none comes.
    pub async fn next_event(&mut self) -> Value {
        match self.next_within(WAIT).await {
            Next::Event(event) => event,
            other => panic!("expected a watch event, got {other:?}"),
        }
    }
}

/// Returns `type` and `metadata.name` of a watch event.
pub fn type_and_name(event: &Value) -> (String, String) {
    let kind = event["type"].as_str().unwrap_or_default().to_owned();
    let name = event["object"]["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (kind, name)
}

/// Returns `metadata.resourceVersion` of a watch event's object as a number.
pub fn event_version(event: &Value) -> u64 {
    event["object"]["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .expect("a numeric resourceVersion")
}
