//! Realistic records for the `podmortem serve` load benchmark, from a fixed-seed generator.
//!
//! The mix is an assumption modelled on busy clusters, not a measurement. It has 40 namespaces
//! of uneven size with eight workloads each: Deployments through their ReplicaSets,
//! StatefulSets, DaemonSets, Jobs and a few pods without an owner. Causes are weighted toward
//! application errors, OOM kills and probe failures, and each record has 20 log lines.

use jiff::{SignedDuration, Timestamp};
use podmortem::model::{
    Cause, CauseKind, ContainerKind, EventRecord, InstanceKey, LogLine, LogSource, ObjectRef,
    Owner, Source, Stream, Termination,
};

const NAMESPACES: [&str; 40] = [
    "shop",
    "payments",
    "search",
    "checkout",
    "catalog",
    "auth",
    "billing",
    "inventory",
    "shipping",
    "recommendations",
    "notifications",
    "analytics",
    "reporting",
    "ml-serving",
    "ml-training",
    "data-ingest",
    "etl",
    "kafka",
    "postgres",
    "redis",
    "elastic",
    "monitoring",
    "logging",
    "ingress-nginx",
    "cert-manager",
    "kube-system",
    "istio-system",
    "argocd",
    "ci-runners",
    "batch",
    "media",
    "chat",
    "gateway",
    "identity",
    "pricing",
    "fraud",
    "ads",
    "mobile-api",
    "partner-api",
    "sandbox",
];

const APPS: [&str; 8] = [
    "api",
    "worker",
    "web",
    "scheduler",
    "consumer",
    "cache",
    "db",
    "exporter",
];

/// Causes of exits of long-running workloads with their weights in parts per hundred.
const SERVICE_CAUSES: [(CauseKind, u64); 10] = [
    (CauseKind::AppError, 30),
    (CauseKind::OomKilled, 20),
    (CauseKind::LivenessProbe, 15),
    (CauseKind::Crashed, 8),
    (CauseKind::Evicted, 7),
    (CauseKind::Killed, 5),
    (CauseKind::StartupProbe, 5),
    (CauseKind::CompletedButRestarted, 3),
    (CauseKind::NodeLost, 2),
    (CauseKind::Unknown, 5),
];

/// Causes of exits of Job pods with their weights in parts per hundred.
const JOB_CAUSES: [(CauseKind, u64); 3] = [
    (CauseKind::Completed, 70),
    (CauseKind::AppError, 20),
    (CauseKind::OomKilled, 10),
];

/// Span of time the records cover, ending at the newest record.
pub const SPAN: SignedDuration = SignedDuration::from_hours(30 * 24);

/// The namespace and cause of the filtered list in the benchmark: a common pair.
pub const FILTER_NAMESPACE: &str = "shop";
pub const FILTER_CAUSE: &str = "oom_killed";

/// SplitMix64, a small fixed-seed generator, so every build makes the same records.
fn mix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Returns the `n`th of `total` records, whose times end at `newest`.
pub fn record(n: u64, total: u64, newest: Timestamp) -> Termination {
    let draw = |salt: u64| mix(n.wrapping_mul(16).wrapping_add(salt));
    // Squaring a uniform draw gives the first few namespaces most of the records.
    let uniform = (draw(1) % 10_000) as f64 / 10_000.0;
    let namespace = NAMESPACES[(uniform * uniform * NAMESPACES.len() as f64) as usize];
    let app_index = (draw(2) % APPS.len() as u64) as usize;
    let app = APPS[app_index];
    let hash = format!(
        "{:x}",
        mix(app_index as u64 ^ namespace.len() as u64) % 0xff_ffff_ffff
    );
    let suffix = format!("{:05x}", draw(3) % 0xf_ffff);

    // Workload kind by app: databases are StatefulSets, exporters DaemonSets, schedulers
    // start Jobs, and one pod in twenty has no owner at all.
    let (owner, pod) = match (app, draw(4) % 20) {
        (_, 0) => (None, format!("{app}-debug-{suffix}")),
        ("db" | "cache", _) => (
            Some(owner("StatefulSet", app)),
            format!("{app}-{}", draw(5) % 3),
        ),
        ("exporter", _) => (
            Some(owner("DaemonSet", &format!("node-{app}"))),
            format!("node-{app}-{suffix}"),
        ),
        ("scheduler", _) => {
            let job = format!("{app}-{}", 28_000_000 + draw(5) % 100_000);
            (Some(owner("Job", &job)), format!("{job}-{suffix}"))
        }
        _ => {
            let replica_set = format!("{app}-{hash}");
            (
                Some(owner("ReplicaSet", &replica_set)),
                format!("{replica_set}-{suffix}"),
            )
        }
    };
    let is_job = owner.as_ref().is_some_and(|owner| owner.kind == "Job");
    let cause = weighted(
        if is_job {
            &JOB_CAUSES[..]
        } else {
            &SERVICE_CAUSES[..]
        },
        draw(6),
    );
    let (container, container_kind) = match draw(7) % 50 {
        0..=2 => ("migrate", ContainerKind::Init),
        3 | 4 => ("istio-proxy", ContainerKind::Sidecar),
        _ => (app, ContainerKind::Regular),
    };

    // Whole seconds, as Kubernetes reports finish times, so neighbours often share a second.
    let step = SPAN.as_secs() as f64 / total.max(1) as f64;
    let before = ((total - 1 - n) as f64 * step) as i64;
    let finished = newest - SignedDuration::from_secs(before);
    let pod_uid = format!("{:032x}", draw(8));
    let restart_count = (draw(9) % 40) as u32;

    let key = InstanceKey {
        namespace,
        pod: &pod,
        pod_uid: &pod_uid,
        container,
        container_kind,
        restart_count,
    };
    let mut record = Termination::new(key, Source::Api, finished + SignedDuration::from_secs(2));
    record.cluster = Some("prod-eu-1".into());
    record.node = Some(format!(
        "ip-10-0-{}-{}.eu-west-1.compute.internal",
        draw(10) % 8,
        draw(11) % 250
    ));
    record.owner = owner;
    record.image = Some(format!(
        "registry.example/{namespace}/{app}:1.{}.{}",
        draw(12) % 40,
        draw(13) % 10
    ));
    record.container_id = Some(format!(
        "containerd://{:064x}",
        u128::from(draw(14)) << 64 | u128::from(draw(15))
    ));
    record.exit_code = Some(exit_code(cause));
    record.signal = (record.exit_code == Some(137)).then(|| "SIGKILL".to_owned());
    record.reason = Some(reason(cause).to_owned());
    record.started_at = Some(finished - SignedDuration::from_mins((draw(16) % 600) as i64 + 1));
    record.finished_at = Some(finished);
    record.cause = Cause {
        kind: cause,
        summary: format!(
            "{} ({namespace}/{pod}, restart {restart_count})",
            summary(cause)
        ),
        evidence: vec![
            format!("reason {}", reason(cause)),
            format!("exit code {}", exit_code(cause)),
        ],
        key_line: Some(key_line(cause).to_owned()),
        expected: cause == CauseKind::Completed,
    };
    record.log_tail = log_tail(n, cause, finished);
    record.log_truncated = true;
    record.log_source = Some(LogSource::ApiPrevious);
    record.log_first_at = record.started_at;
    record.log_last_at = record.log_tail.last().and_then(|line| line.time);
    record.events = events(namespace, &pod, container, cause, finished);
    record
}

fn owner(kind: &str, name: &str) -> Owner {
    Owner {
        kind: kind.to_owned(),
        name: name.to_owned(),
    }
}

fn weighted(choices: &[(CauseKind, u64)], draw: u64) -> CauseKind {
    let total: u64 = choices.iter().map(|(_, weight)| weight).sum();
    let mut point = draw % total;
    for (kind, weight) in choices {
        if point < *weight {
            return *kind;
        }
        point -= weight;
    }
    choices[0].0
}

fn exit_code(cause: CauseKind) -> i64 {
    match cause {
        CauseKind::OomKilled | CauseKind::LivenessProbe | CauseKind::StartupProbe => 137,
        CauseKind::Killed | CauseKind::Evicted | CauseKind::NodeLost => 143,
        CauseKind::Crashed => 139,
        CauseKind::Completed | CauseKind::CompletedButRestarted => 0,
        _ => 1,
    }
}

fn reason(cause: CauseKind) -> &'static str {
    match cause {
        CauseKind::OomKilled => "OOMKilled",
        CauseKind::Completed | CauseKind::CompletedButRestarted => "Completed",
        CauseKind::Evicted => "Evicted",
        _ => "Error",
    }
}

fn summary(cause: CauseKind) -> &'static str {
    match cause {
        CauseKind::OomKilled => "Killed by the kernel for exceeding its memory limit of 2Gi",
        CauseKind::LivenessProbe => "Restarted after failing its liveness probe 3 times",
        CauseKind::StartupProbe => "Restarted after failing its startup probe",
        CauseKind::Crashed => "Crashed with a segmentation fault",
        CauseKind::Evicted => "Evicted because the node was low on memory",
        CauseKind::Completed => "Finished successfully",
        _ => "Exited with an error",
    }
}

fn key_line(cause: CauseKind) -> &'static str {
    match cause {
        CauseKind::OomKilled => "java.lang.OutOfMemoryError: Java heap space",
        CauseKind::LivenessProbe => "WARN request queue full, rejecting /healthz",
        CauseKind::Crashed => "fatal error: unexpected signal during runtime execution",
        CauseKind::Completed => "INFO job finished, 12840 rows written",
        _ => "ERROR dial tcp 10.0.12.7:5432: connect: connection refused",
    }
}

/// Returns 20 log lines ending one second before the exit, the last one the key line.
fn log_tail(n: u64, cause: CauseKind, finished: Timestamp) -> Vec<LogLine> {
    (0..20)
        .map(|i| {
            let text = if i == 19 {
                key_line(cause).to_owned()
            } else {
                format!(
                    "{{\"level\":\"info\",\"msg\":\"handled request\",\"route\":\"/v1/orders/{}\",\
                     \"status\":200,\"duration_ms\":{},\"request_id\":\"{:016x}\"}}",
                    mix(n ^ i) % 100_000,
                    mix(n + i) % 900,
                    mix(n.wrapping_mul(31) + i),
                )
            };
            LogLine {
                time: Some(finished - SignedDuration::from_millis((20 - i as i64) * 350)),
                stream: if i == 19 {
                    Stream::Stderr
                } else {
                    Stream::Stdout
                },
                text,
                partial: false,
            }
        })
        .collect()
}

fn events(
    namespace: &str,
    pod: &str,
    container: &str,
    cause: CauseKind,
    finished: Timestamp,
) -> Vec<EventRecord> {
    let event = |reason: &str, message: String| EventRecord {
        event_type: "Warning".into(),
        reason: reason.into(),
        message,
        count: 1,
        first_seen: Some(finished - SignedDuration::from_secs(30)),
        last_seen: Some(finished),
        object: ObjectRef {
            kind: "Pod".into(),
            namespace: Some(namespace.into()),
            name: pod.into(),
            uid: None,
            field_path: Some(format!("spec.containers{{{container}}}")),
        },
        container: Some(container.into()),
        reporter: Some("kubelet".into()),
        host: None,
        inferred: false,
    };
    match cause {
        CauseKind::Completed => Vec::new(),
        CauseKind::LivenessProbe => vec![
            event(
                "Unhealthy",
                "Liveness probe failed: HTTP probe failed with statuscode: 503".into(),
            ),
            event(
                "Killing",
                format!("Container {container} failed liveness probe, will be restarted"),
            ),
        ],
        _ => vec![event(
            "BackOff",
            format!("Back-off restarting failed container {container}"),
        )],
    }
}
