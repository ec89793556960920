//! Memory the pod watcher keeps per pod after the initial list.
//!
//! Each size runs in a fresh child process, which deserializes realistic pods (about 7 KB of
//! JSON each, with `managedFields`) one at a time, hands each to the pod tracker as the
//! watcher's list does and drops it. The growth of the resident set over the list, divided by
//! the number of pods, is the memory kept per pod, allocator overhead included. The kube
//! watcher itself keeps only the last `resourceVersion`, so the tracker is what grows.
//!
//! A second measurement runs the built `podmortem watch` binary against the test API server
//! on loopback, serving 0, 10,000 and 30,000 such pods, and reads the binary's resident set
//! (`VmRSS`) once its watches are open. Over 0 pods, the growth includes what the allocator
//! keeps from decoding list pages of 500 pods, a cost that does not grow with the number of
//! pods; the growth from 10,000 to 30,000 pods is the memory kept per pod.
//!
//! Run with `cargo bench --bench watch_memory`.

mod watch_support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::watcher;
use podmortem::cluster::fingerprint::Baseline;
use podmortem::cluster::pods::PodTracker;

const SIZES: [usize; 2] = [10_000, 100_000];

/// Pods served to the binary in the second measurement. The difference between the two sizes
/// gives the memory per pod without the fixed cost of decoding list pages.
const BINARY_SIZES: [usize; 2] = [10_000, 30_000];

fn main() {
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("--child") {
        let pods = args
            .next()
            .and_then(|count| count.parse().ok())
            .unwrap_or(0);
        measure(pods);
        return;
    }

    let exe = std::env::current_exe().expect("the benchmark's own path");
    for pods in SIZES {
        let status = Command::new(&exe)
            .arg("--child")
            .arg(pods.to_string())
            .status()
            .expect("run the measurement");
        assert!(status.success(), "measurement of {pods} pods failed");
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let empty = runtime.block_on(binary_resident_bytes(0));
    println!(
        "podmortem watch binary: VmRSS {} KiB with 0 pods",
        empty / 1024
    );
    let [small, large] = BINARY_SIZES;
    let small_bytes = runtime.block_on(binary_resident_bytes(small));
    let large_bytes = runtime.block_on(binary_resident_bytes(large));
    for (pods, bytes) in [(small, small_bytes), (large, large_bytes)] {
        println!(
            "podmortem watch binary: VmRSS {} KiB with {pods} pods, {} bytes per pod over 0 pods",
            bytes / 1024,
            bytes.saturating_sub(empty) / pods as u64
        );
    }
    println!(
        "podmortem watch binary: {} bytes per pod from {small} to {large} pods",
        large_bytes.saturating_sub(small_bytes) / (large - small) as u64
    );
}

/// Serves `pods` realistic pods, runs `podmortem watch` until its watches are open and the
/// list has settled, and returns the binary's `VmRSS` in bytes.
async fn binary_resident_bytes(pods: usize) -> u64 {
    let server = podmortem_test_apiserver::TestApiServer::start()
        .await
        .expect("the test server");
    for index in 0..pods {
        let pod: Pod =
            serde_json::from_value(watch_support::realistic_pod(index, 0)).expect("a pod");
        server.create_pod(&pod).expect("create a pod");
    }
    let folder = tempfile::tempdir().expect("a temporary folder");
    let kubeconfig = folder.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).expect("a kubeconfig");

    let mut child = Command::new(env!("CARGO_BIN_EXE_podmortem"))
        .arg("watch")
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .arg("--db")
        .arg(folder.path().join("bench.db"))
        .stderr(Stdio::null())
        .spawn()
        .expect("start podmortem watch");
    let start = Instant::now();
    while server.open_watches() < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no watches opened"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The pod watch opens right after the list is handled; one more second lets the
    // allocator settle.
    tokio::time::sleep(Duration::from_secs(1)).await;

    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        .expect("the child's /proc status");
    let _ = child.kill();
    let _ = child.wait();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kib| kib * 1024)
}

fn measure(pods: usize) {
    let sample = serde_json::to_vec(&watch_support::realistic_pod(0, 0)).expect("a pod");
    let mut tracker = PodTracker::new(Baseline::default());
    let now = Timestamp::now();

    // One pod decoded and dropped before the baseline, so the allocator has its pools.
    let warm: Pod = serde_json::from_slice(&sample).expect("a pod");
    drop(warm);
    let before = watch_support::resident_bytes();

    tracker.handle(watcher::Event::Init, now);
    for index in 0..pods {
        let bytes = serde_json::to_vec(&watch_support::realistic_pod(index, 0)).expect("a pod");
        let pod: Pod = serde_json::from_slice(&bytes).expect("a pod");
        tracker.handle(watcher::Event::InitApply(pod), now);
    }
    tracker.handle(watcher::Event::InitDone, now);

    let after = watch_support::resident_bytes();
    let kept = after.saturating_sub(before);
    println!(
        "pods {pods}: pod JSON {} bytes each, resident growth {} KiB, {} bytes kept per pod \
         (tracked pods: {})",
        sample.len(),
        kept / 1024,
        kept / pods.max(1) as u64,
        tracker.len()
    );
}
