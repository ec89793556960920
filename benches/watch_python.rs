//! The same watch workload through `podmortem watch` and through the Python `kubernetes`
//! client, side by side in one run.
//!
//! The test API server on loopback serves 10,000 realistic pods (about 7 KB of JSON each).
//! Each client lists them and opens a watch; then 1,000 of the pods restart once, the way
//! kubelet reports it. Measured per client: the time to list, the resident memory once the
//! list is handled, and the time from the first restart served to the last one handled. The
//! server produces the restarts at its own pace, so a client that keeps up finishes with it.
//!
//! `podmortem watch` does the whole job for each restart: detection, diagnosis, a log fetch
//! that finds no log, an SQLite commit. The Python script only notices that a `restartCount`
//! went up, so it is the lower bound of a Python watcher.
//!
//! Needs `pip install kubernetes==37.0.2`. Run with `cargo bench --bench watch_python`.

mod watch_support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use podmortem_test_apiserver::{Exit, TestApiServer};

const PODS: usize = 10_000;
const RESTARTS: usize = 1_000;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        let podmortem = measure_podmortem().await;
        println!("podmortem watch: {podmortem}");
        match measure_python().await {
            Some(python) => println!("python kubernetes watch: {python}"),
            None => println!("python kubernetes watch: skipped (`import kubernetes` failed)"),
        }
    });
}

/// Starts the test server with the pods and writes its kubeconfig into `folder`.
async fn serve_pods(folder: &Path) -> TestApiServer {
    let server = TestApiServer::start().await.expect("the test server");
    for index in 0..PODS {
        let pod: Pod =
            serde_json::from_value(watch_support::realistic_pod(index, 0)).expect("a pod");
        server.create_pod(&pod).expect("create a pod");
    }
    server
        .write_kubeconfig(&folder.join("kubeconfig"))
        .expect("a kubeconfig");
    server
}

fn restart_some(server: &TestApiServer) -> Instant {
    let exit = Exit {
        exit_code: 1,
        reason: "Error".to_owned(),
        message: None,
    };
    let started = Instant::now();
    for index in 0..RESTARTS {
        let name = format!("checkout-7d9f8c6b5d-{index:05}");
        server
            .kubelet_restart("shop", &name, "app", &exit)
            .expect("restart a container");
    }
    started
}

async fn measure_podmortem() -> String {
    let folder = tempfile::tempdir().expect("a temporary folder");
    let server = serve_pods(folder.path()).await;
    let db = folder.path().join("bench.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_podmortem"))
        .arg("watch")
        .arg("--kubeconfig")
        .arg(folder.path().join("kubeconfig"))
        .arg("--db")
        .arg(&db)
        .stderr(Stdio::null())
        .spawn()
        .expect("start podmortem watch");
    let spawned = Instant::now();
    wait_until(|| server.open_watches() >= 2, "podmortem's watches").await;
    let list_seconds = spawned.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let listed_kib = resident_kib(&child);

    let started = restart_some(&server);
    wait_until(|| stored_records(&db) >= RESTARTS, "podmortem's records").await;
    let elapsed = started.elapsed();
    let watched_kib = resident_kib(&child);
    stop(&mut child);
    format!(
        "listed {PODS} pods and opened its watches {list_seconds:.2} s after start, VmRSS \
         {listed_kib} KiB; {RESTARTS} restarts recorded in {:.2} s ({:.0}/s), VmRSS {watched_kib} \
         KiB after",
        elapsed.as_secs_f64(),
        RESTARTS as f64 / elapsed.as_secs_f64()
    )
}

async fn measure_python() -> Option<String> {
    let available = Command::new("python3")
        .args(["-c", "import kubernetes"])
        .status();
    if !available.is_ok_and(|status| status.success()) {
        return None;
    }
    let folder = tempfile::tempdir().expect("a temporary folder");
    let server = serve_pods(folder.path()).await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/python_watch.py");
    let mut child = Command::new("python3")
        .arg(script)
        .arg(folder.path().join("kubeconfig"))
        .arg(RESTARTS.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the Python watcher");
    let mut lines = BufReader::new(child.stdout.take().expect("its stdout")).lines();
    let listed = lines.next().and_then(Result::ok).unwrap_or_default();
    wait_until(|| server.open_watches() >= 1, "the Python watch").await;

    let started = restart_some(&server);
    let watched = tokio::task::spawn_blocking(move || lines.next().and_then(Result::ok))
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    let elapsed = started.elapsed();
    stop(&mut child);
    Some(format!(
        "{listed}; {watched}; {RESTARTS} restarts seen {:.2} s after the first was served ({:.0}/s)",
        elapsed.as_secs_f64(),
        RESTARTS as f64 / elapsed.as_secs_f64()
    ))
}

async fn wait_until(mut done: impl FnMut() -> bool, what: &str) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn stored_records(db: &Path) -> usize {
    let Ok(connection) = rusqlite::Connection::open(db) else {
        return 0;
    };
    connection
        .query_row("SELECT count(*) FROM termination", [], |row| {
            row.get::<_, i64>(0)
        })
        .map_or(0, |count| usize::try_from(count).unwrap_or(0))
}

fn resident_kib(child: &Child) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}
