//! Time from a status change served by the test API server to its record committed in the
//! store, one change at a time.
//!
//! The watcher runs in-process against the test server on loopback and writes to a SQLite
//! file in a temporary folder. The clock starts before the test server applies the change and
//! stops when the writer thread logs the committed record (the `podmortem::exit` log line,
//! emitted after the transaction commits). Two kinds of change:
//!
//! - `eviction`: a pod-level end whose containers never exited, so no log is fetched;
//! - `restart`: a container restart, which includes one `pods/log` request on loopback.
//!
//! Run with `cargo bench --bench watch_latency`.

mod watch_support;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use podmortem::cluster::{self, Shutdown, WatchOptions};
use podmortem::store::SqliteStore;
use podmortem_test_apiserver::{Exit, TestApiServer};
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

const SAMPLES: usize = 300;
const NAMESPACE: &str = "shop";

/// Sends the pod name of every `podmortem::exit` log line, with the time it was logged.
struct CommitTimes(mpsc::Sender<(String, Instant)>);

impl<S: tracing::Subscriber> Layer<S> for CommitTimes {
    fn on_event(&self, event: &tracing::Event<'_>, _context: Context<'_, S>) {
        if event.metadata().target() != "podmortem::exit" {
            return;
        }
        let mut pod = PodField(None);
        event.record(&mut pod);
        if let Some(name) = pod.0 {
            let _ = self.0.send((name, Instant::now()));
        }
    }
}

struct PodField(Option<String>);

impl Visit for PodField {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "pod" {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

fn main() {
    let (sender, commits) = mpsc::channel();
    tracing_subscriber::registry()
        .with(CommitTimes(sender))
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run(commits));
}

async fn run(commits: mpsc::Receiver<(String, Instant)>) {
    let server = TestApiServer::start().await.expect("the test server");
    for index in 0..SAMPLES * 2 {
        let mut value = watch_support::realistic_pod(index, 0);
        value["metadata"]["name"] = format!("bench-{index}").into();
        value["metadata"]["uid"] = serde_json::Value::Null;
        let pod: Pod = serde_json::from_value(value).expect("a pod");
        server.create_pod(&pod).expect("create a pod");
    }
    let folder = tempfile::tempdir().expect("a temporary folder");
    let store = SqliteStore::open(&folder.path().join("bench.db")).expect("a store");
    let url = server.url().parse().expect("a URL");
    let client = kube::Client::try_from(kube::Config::new(url)).expect("a client");
    let shutdown = Shutdown::new();
    let task = tokio::spawn(cluster::run(
        client,
        WatchOptions::default(),
        store,
        shutdown.clone(),
    ));
    while server.open_watches() < 2 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let evictions = measure(&commits, 0..SAMPLES, |name| {
        server
            .update_pod_status(NAMESPACE, name, |status| {
                status.phase = Some("Failed".to_owned());
                status.reason = Some("Evicted".to_owned());
                status.message = Some("The node was low on resource: memory.".to_owned());
            })
            .map(drop)
    })
    .await;
    report("eviction (no log fetch)", evictions);

    let exit = Exit {
        exit_code: 1,
        reason: "Error".to_owned(),
        message: None,
    };
    let restarts = measure(&commits, SAMPLES..SAMPLES * 2, |name| {
        server
            .kubelet_restart(NAMESPACE, name, "app", &exit)
            .map(drop)
    })
    .await;
    report("restart (with a loopback log fetch)", restarts);

    shutdown.trigger();
    let _ = task.await;
}

/// Applies `change` to each pod in turn and returns the time until its record was committed.
async fn measure(
    commits: &mpsc::Receiver<(String, Instant)>,
    pods: std::ops::Range<usize>,
    change: impl Fn(&str) -> Result<(), podmortem_test_apiserver::Error>,
) -> Vec<Duration> {
    let mut latencies = Vec::with_capacity(pods.len());
    for index in pods {
        let name = format!("bench-{index}");
        let start = Instant::now();
        change(&name).expect("change the pod");
        loop {
            match commits.recv_timeout(Duration::from_secs(10)) {
                Ok((pod, at)) if pod == name => {
                    latencies.push(at - start);
                    break;
                }
                Ok(_) => continue,
                Err(_) => panic!("no record of `{name}` within 10 s"),
            }
        }
    }
    latencies
}

fn report(label: &str, mut latencies: Vec<Duration>) {
    latencies.sort();
    let at = |quantile: f64| {
        let index = ((latencies.len() as f64 - 1.0) * quantile).round() as usize;
        latencies.get(index).copied().unwrap_or_default()
    };
    println!(
        "{label}: {} samples, p50 {:?}, p90 {:?}, p99 {:?}, max {:?}",
        latencies.len(),
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0)
    );
}
