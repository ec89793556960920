//! Pod status updates the watcher handles per second on one core.
//!
//! Each iteration decodes one realistic pod (about 7 KB of JSON, as the watch stream delivers
//! it) and hands it to the pod tracker, with:
//!
//! - `unchanged`: a status update that contains no new exit (readiness, conditions), the common
//!   case;
//! - `new_exit`: an update with a new restart, followed by building and diagnosing its
//!   record, the work done per exit apart from the log fetch and the store write.
//!
//! Run with `cargo bench --bench watch_throughput`; updates per second are 1 / time.

mod watch_support;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::watcher;
use podmortem::cluster::fingerprint::Baseline;
use podmortem::cluster::logs::LogOutcome;
use podmortem::cluster::pods::PodTracker;
use podmortem::cluster::record::{attach_log, build_record};
use podmortem::model::LogSource;
use serde_json::json;

fn crashed_pod(restart_count: u32) -> Vec<u8> {
    let mut pod = watch_support::realistic_pod(1, restart_count);
    let status = &mut pod["status"]["containerStatuses"][0];
    status["lastState"] = json!({"terminated": {
        "exitCode": 1, "reason": "Error",
        "containerID": format!("containerd://{:064x}", restart_count),
        "startedAt": "2026-01-01T00:00:04Z", "finishedAt": "2026-01-01T00:10:00Z"
    }});
    serde_json::to_vec(&pod).expect("a pod")
}

fn bench_updates(c: &mut Criterion) {
    let mut group = c.benchmark_group("pod_updates");
    group.throughput(Throughput::Elements(1));
    let now = Timestamp::now();

    let unchanged = serde_json::to_vec(&watch_support::realistic_pod(1, 0)).expect("a pod");
    let mut tracker = PodTracker::new(Baseline::default());
    group.bench_function("unchanged", |bench| {
        bench.iter(|| {
            let pod: Pod = serde_json::from_slice(&unchanged).expect("a pod");
            tracker.handle(watcher::Event::Apply(pod), now)
        });
    });

    // Each iteration's pod has the next restart number, so every update contains a new exit.
    let updates: Vec<Vec<u8>> = (1..=2_000).map(crashed_pod).collect();
    let mut tracker = PodTracker::new(Baseline::default());
    let mut next = 0usize;
    group.bench_function("new_exit", |bench| {
        bench.iter(|| {
            let bytes = &updates[next % updates.len()];
            next += 1;
            if next.is_multiple_of(updates.len()) {
                tracker = PodTracker::new(Baseline::default());
            }
            let pod: Pod = serde_json::from_slice(bytes).expect("a pod");
            let found = tracker.handle(watcher::Event::Apply(pod), now)?;
            let exit = found.exits.first()?;
            let mut record = build_record(&found.pod, exit, Vec::new(), None, now);
            let outcome = LogOutcome::Gone("benchmark".to_owned());
            attach_log(&mut record, &found.pod, outcome, LogSource::ApiPrevious);
            Some(record)
        });
    });
    group.finish();
}

criterion_group!(benches, bench_updates);
criterion_main!(benches);
