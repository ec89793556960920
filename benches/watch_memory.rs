//! Memory the pod watcher keeps per pod after the initial list.
//!
//! Each size runs in a fresh child process, which deserializes realistic pods (about 7 KB of
//! JSON each, with `managedFields`) one at a time, hands each to the pod tracker as the
//! watcher's list does and drops it. The growth of the resident set over the list, divided by
//! the number of pods, is the memory kept per pod, allocator overhead included. The kube
//! watcher itself keeps only the last `resourceVersion`, so the tracker is what grows.
//!
//! Run with `cargo bench --bench watch_memory`.

mod watch_support;

use std::process::Command;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::watcher;
use podmortem::cluster::fingerprint::Baseline;
use podmortem::cluster::pods::PodTracker;

const SIZES: [usize; 2] = [10_000, 100_000];

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
