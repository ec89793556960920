//! Records for the store, CLI and benchmark tests, modelled on real exits: an OOM kill, a
//! liveness-probe kill, a segfault, a finished Job and an application error.

#![allow(
    dead_code,
    reason = "each test binary uses a different subset of these records"
)]

use jiff::{SignedDuration, Timestamp};
use podmortem::model::{
    Cause, CauseKind, ContainerKind, EventRecord, InstanceKey, LogLine, LogSource, ObjectRef,
    Owner, Source, Stream, Termination,
};

pub fn time(text: &str) -> Timestamp {
    text.parse().expect("an RFC 3339 time")
}

pub fn line(time_text: &str, stream: Stream, text: &str) -> LogLine {
    LogLine {
        time: Some(time(time_text)),
        stream,
        text: text.to_owned(),
        partial: false,
    }
}

fn pod_event(namespace: &str, pod: &str, container: &str, reason: &str) -> EventRecord {
    EventRecord {
        event_type: "Warning".into(),
        reason: reason.into(),
        message: String::new(),
        count: 1,
        first_seen: None,
        last_seen: None,
        object: ObjectRef {
            kind: "Pod".into(),
            namespace: Some(namespace.into()),
            name: pod.into(),
            uid: Some("5f1c2a7e-0c59-4a39-9d1e-3a8c0f6e2b11".into()),
            field_path: Some(format!("spec.containers{{{container}}}")),
        },
        container: Some(container.into()),
        reporter: Some("kubelet".into()),
        host: Some("node-a".into()),
        inferred: false,
    }
}

/// Returns a record with the identity fields set and nothing else known.
pub fn bare(namespace: &str, pod: &str, container: &str, restart_count: u32) -> Termination {
    let pod_uid = format!("uid-{namespace}-{pod}");
    let key = InstanceKey {
        namespace,
        pod,
        pod_uid: &pod_uid,
        container,
        container_kind: ContainerKind::Regular,
        restart_count,
    };
    Termination::new(key, Source::Api, time("2024-02-07T16:00:00Z"))
}

/// Returns an OOM kill of a Node.js API server under a 4Gi limit, with every field set.
pub fn oom_killed() -> Termination {
    let mut record = bare("shop", "api-7d9f8c6b5d-x2k4q", "api", 2);
    record.cluster = Some("prod-eu".into());
    record.node = Some("node-a".into());
    record.owner = Some(Owner {
        kind: "ReplicaSet".into(),
        name: "api-7d9f8c6b5d".into(),
    });
    record.workload = Some(Owner {
        kind: "Deployment".into(),
        name: "api".into(),
    });
    record.image = Some("registry.example/shop/api:1.4.2".into());
    record.container_id = Some("containerd://4b1e0c9d2f".into());
    record.exit_code = Some(137);
    record.signal = Some("SIGKILL".into());
    record.reason = Some("OOMKilled".into());
    record.message = Some("heap out of memory".into());
    record.started_at = Some(time("2024-02-07T10:47:49Z"));
    record.finished_at = Some(time("2024-02-07T15:15:11Z"));
    record.cause = Cause {
        kind: CauseKind::OomKilled,
        summary: "Killed by the kernel for exceeding its memory limit of 4Gi".into(),
        evidence: vec!["reason OOMKilled".into(), "memory limit 4Gi".into()],
        key_line: Some(
            "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory"
                .into(),
        ),
        expected: false,
    };
    record.log_tail = vec![
        line(
            "2024-02-07T15:15:09.100Z",
            Stream::Stdout,
            "GET /orders 200 12ms",
        ),
        line(
            "2024-02-07T15:15:10.900Z",
            Stream::Stderr,
            "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory",
        ),
    ];
    record.log_truncated = true;
    record.log_source = Some(LogSource::ApiPrevious);
    record.log_first_at = Some(time("2024-02-07T10:47:50Z"));
    record.log_last_at = Some(time("2024-02-07T15:15:10.900Z"));
    record.termination_message_file =
        Some("/var/lib/kubelet/pods/uid/containers/api/1a2b3c4d".into());
    let mut event = pod_event("shop", "api-7d9f8c6b5d-x2k4q", "api", "BackOff");
    event.message = "Back-off restarting failed container api".into();
    event.count = 4;
    event.first_seen = Some(time("2024-02-07T14:37:11Z"));
    event.last_seen = Some(time("2024-02-07T15:15:12Z"));
    record.events = vec![event];
    record.pod_reason = Some("Terminated".into());
    record.pod_message = Some("node pressure".into());
    record.source = Source::Api;
    record.observed_at = time("2024-02-07T15:15:20Z");
    record.missed_before = 2;
    record
}

/// Returns a SIGKILL after three failed liveness probes.
pub fn liveness_kill() -> Termination {
    let mut record = bare("web", "web-5c8d7f9b6-qk2lm", "web", 0);
    record.node = Some("node-b".into());
    record.owner = Some(Owner {
        kind: "ReplicaSet".into(),
        name: "web-5c8d7f9b6".into(),
    });
    record.workload = Some(Owner {
        kind: "Deployment".into(),
        name: "web".into(),
    });
    record.exit_code = Some(137);
    record.signal = Some("SIGKILL".into());
    record.reason = Some("Error".into());
    record.started_at = Some(time("2024-02-07T13:20:04Z"));
    record.finished_at = Some(time("2024-02-07T13:59:09Z"));
    record.cause = Cause {
        kind: CauseKind::LivenessProbe,
        summary: "Restarted by kubelet after 3 failed liveness probes".into(),
        evidence: vec![
            "event Unhealthy x3: Liveness probe failed: context deadline exceeded".into(),
            "event Killing: Container web failed liveness probe, will be restarted".into(),
        ],
        key_line: None,
        expected: false,
    };
    let mut unhealthy = pod_event("web", "web-5c8d7f9b6-qk2lm", "web", "Unhealthy");
    unhealthy.message = "Liveness probe failed: Get \"http://10.0.0.7:8080/healthz\": context \
                         deadline exceeded"
        .into();
    unhealthy.count = 3;
    unhealthy.first_seen = Some(time("2024-02-07T13:21:09Z"));
    unhealthy.last_seen = Some(time("2024-02-07T13:58:59Z"));
    let mut killing = pod_event("web", "web-5c8d7f9b6-qk2lm", "web", "Killing");
    killing.event_type = "Normal".into();
    killing.message = "Container web failed liveness probe, will be restarted".into();
    killing.first_seen = Some(time("2024-02-07T13:58:59Z"));
    killing.last_seen = Some(time("2024-02-07T13:58:59Z"));
    record.events = vec![unhealthy, killing];
    record.observed_at = time("2024-02-07T13:59:15Z");
    record
}

/// Returns a segfault of a C++ worker, diagnosed from its log.
pub fn segfault() -> Termination {
    let mut record = bare("batch", "render-0", "render", 5);
    record.node = Some("node-a".into());
    record.owner = Some(Owner {
        kind: "StatefulSet".into(),
        name: "render".into(),
    });
    record.workload = Some(Owner {
        kind: "StatefulSet".into(),
        name: "render".into(),
    });
    record.exit_code = Some(139);
    record.signal = Some("SIGSEGV".into());
    record.reason = Some("Error".into());
    record.started_at = Some(time("2024-02-07T11:02:00Z"));
    record.finished_at = Some(time("2024-02-07T11:40:30Z"));
    record.cause = Cause {
        kind: CauseKind::Crashed,
        summary: "Crashed with a segmentation fault (SIGSEGV)".into(),
        evidence: vec!["exit code 139 = 128 + 11 (SIGSEGV)".into()],
        key_line: Some("Segmentation fault (core dumped)".into()),
        expected: false,
    };
    record.log_tail = vec![
        line(
            "2024-02-07T11:40:29Z",
            Stream::Stdout,
            "rendering tile 4411",
        ),
        line(
            "2024-02-07T11:40:30Z",
            Stream::Stderr,
            "Segmentation fault (core dumped)",
        ),
    ];
    record.log_source = Some(LogSource::NodeFile);
    record.source = Source::Node;
    record.observed_at = time("2024-02-07T11:41:00Z");
    record
}

/// Returns a Job pod that finished, which is an expected exit.
pub fn job_completed() -> Termination {
    let mut record = bare("batch", "report-28461330-7xk2p", "report", 0);
    record.owner = Some(Owner {
        kind: "Job".into(),
        name: "report-28461330".into(),
    });
    record.workload = Some(Owner {
        kind: "CronJob".into(),
        name: "report".into(),
    });
    record.exit_code = Some(0);
    record.reason = Some("Completed".into());
    record.started_at = Some(time("2024-02-07T12:00:03Z"));
    record.finished_at = Some(time("2024-02-07T12:04:41Z"));
    record.cause = Cause {
        kind: CauseKind::Completed,
        summary: "Completed successfully".into(),
        evidence: vec!["exit code 0".into(), "restartPolicy Never".into()],
        key_line: None,
        expected: true,
    };
    record.source = Source::Dump;
    record.observed_at = time("2024-02-07T12:05:00Z");
    record
}

/// Returns an application error with no finish time, so it sorts by `observed_at`.
pub fn app_error_without_finish() -> Termination {
    let mut record = bare("shop", "cart-6f7b9d8c4-z9x8w", "cart", 1);
    record.exit_code = Some(1);
    record.reason = Some("Error".into());
    record.cause = Cause {
        kind: CauseKind::AppError,
        summary: "Exited with code 1".into(),
        evidence: vec!["exit code 1".into()],
        key_line: Some("Error: connect ECONNREFUSED 10.0.0.9:5432".into()),
        expected: false,
    };
    record.observed_at = time("2024-02-07T14:00:00Z");
    record
}

/// Returns the five records above.
pub fn all() -> Vec<Termination> {
    vec![
        oom_killed(),
        liveness_kill(),
        segfault(),
        job_completed(),
        app_error_without_finish(),
    ]
}

const CAUSES: [CauseKind; 5] = [
    CauseKind::AppError,
    CauseKind::OomKilled,
    CauseKind::LivenessProbe,
    CauseKind::Crashed,
    CauseKind::Completed,
];

/// Returns record number `n` of a synthetic cluster with 50 namespaces, 200 pods in each,
/// and one exit every 3 seconds from 2024-01-01. The records look like the real ones above:
/// a cause with evidence, a 10-line log tail and two events, about 3 KiB of JSON each.
pub fn synthetic(n: u64) -> Termination {
    let namespace = format!("team-{:02}", n % 50);
    let pod = format!("svc-{:03}-7d9f8c6b5d-x2k4q", (n / 50) % 200);
    let restart = u32::try_from(n / 10_000).unwrap_or(u32::MAX);
    // A multiplicative hash spreads causes evenly over namespaces and pods, so a filter on
    // both matches about 1 record in 250 rather than all or none.
    let cause = CAUSES[(n.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 32) as usize % CAUSES.len()];
    let finished = time("2024-01-01T00:00:00Z") + SignedDuration::from_secs(3 * n as i64);

    let mut record = bare(&namespace, &pod, "app", restart);
    record.node = Some(format!("node-{}", n % 40));
    record.owner = Some(Owner {
        kind: "ReplicaSet".into(),
        name: "svc-7d9f8c6b5d".into(),
    });
    record.workload = Some(Owner {
        kind: "Deployment".into(),
        name: "svc".into(),
    });
    record.image = Some("registry.example/team/svc:2.31.0".into());
    record.container_id = Some(format!("containerd://{n:064x}"));
    record.exit_code = Some(if cause == CauseKind::Completed {
        0
    } else {
        137
    });
    record.reason = Some("Error".into());
    record.started_at = Some(finished - SignedDuration::from_mins(38));
    record.finished_at = Some(finished);
    record.cause = Cause {
        kind: cause,
        summary: format!("Synthetic exit {n} diagnosed as {cause}"),
        evidence: vec![
            "exit code 137 = 128 + 9 (SIGKILL)".into(),
            "reason Error".into(),
        ],
        key_line: Some("java.lang.OutOfMemoryError: Java heap space".into()),
        expected: cause == CauseKind::Completed,
    };
    record.log_tail = (0..10)
        .map(|i| LogLine {
            time: Some(finished - SignedDuration::from_secs(10 - i)),
            stream: if i % 3 == 0 {
                Stream::Stderr
            } else {
                Stream::Stdout
            },
            text: format!("2024-01-01 worker-{i} processed batch {n} in 41ms status=ok"),
            partial: false,
        })
        .collect();
    record.log_source = Some(LogSource::ApiPrevious);
    let mut event = pod_event(&namespace, &pod, "app", "BackOff");
    event.message = "Back-off restarting failed container app".into();
    event.count = 3;
    event.first_seen = Some(finished - SignedDuration::from_mins(5));
    event.last_seen = Some(finished);
    let mut killing = event.clone();
    killing.reason = "Killing".into();
    killing.message = "Container app failed liveness probe, will be restarted".into();
    record.events = vec![event, killing];
    record.observed_at = finished + SignedDuration::from_secs(2);
    record
}
