//! Records for the web page tests, built on `store_fixtures`: a realistic cluster whose
//! exits fall in the last day, and hostile records whose text tries to run as markup.

#![allow(
    dead_code,
    reason = "each test binary uses a different subset of these records"
)]

use jiff::{SignedDuration, Timestamp};
use podmortem::model::{
    Cause, CauseKind, EventRecord, LogLine, LogSource, ObjectRef, Owner, Stream, Termination,
};

use crate::store_fixtures::bare;

/// Markup that sets `window.__pwned` if the page ever parses it as HTML.
pub const SCRIPT_TAG: &str = "<script>window.__pwned=1</script>";
pub const IMG_TAG: &str = "<img src=x onerror=\"window.__pwned=1\">";
/// Namespace of the hostile records.
pub const HOSTILE_NAMESPACE: &str = "hostile";
/// Kubernetes' limits: a pod name is a DNS subdomain (253 characters), a container name a
/// DNS label (63 characters).
pub const POD_NAME_LIMIT: usize = 253;
pub const CONTAINER_NAME_LIMIT: usize = 63;
/// Length of the longest hostile log line: 1 MiB.
pub const LONG_LINE_BYTES: usize = 1 << 20;

fn ago(now: Timestamp, minutes: i64) -> Timestamp {
    now - SignedDuration::from_mins(minutes)
}

fn log(time: Timestamp, stream: Stream, text: &str) -> LogLine {
    LogLine {
        time: Some(time),
        stream,
        text: text.to_owned(),
        partial: false,
    }
}

fn event(record: &Termination, kind: &str, reason: &str, message: &str) -> EventRecord {
    let finished = record.finished_at;
    EventRecord {
        event_type: kind.into(),
        reason: reason.into(),
        message: message.into(),
        count: 1,
        first_seen: finished.map(|time| time - SignedDuration::from_secs(20)),
        last_seen: finished,
        object: ObjectRef {
            kind: "Pod".into(),
            namespace: Some(record.namespace.clone()),
            name: record.pod.clone(),
            uid: Some(record.pod_uid.clone()),
            field_path: Some(format!("spec.containers{{{}}}", record.container)),
        },
        container: Some(record.container.clone()),
        reporter: Some("kubelet".into()),
        host: record.node.clone(),
        inferred: false,
    }
}

/// Parts of one exit of the realistic cluster.
struct Exit<'a> {
    namespace: &'a str,
    pod: &'a str,
    owner: Option<(&'a str, &'a str)>,
    container: &'a str,
    node: &'a str,
    image: &'a str,
}

impl Exit<'_> {
    /// Returns the record of restart `restart`, which ran for `ran` minutes and exited
    /// `minutes_ago` minutes before `now`.
    fn record(&self, now: Timestamp, restart: u32, minutes_ago: i64, ran: i64) -> Termination {
        let mut record = bare(self.namespace, self.pod, self.container, restart);
        record.node = Some(self.node.into());
        record.image = Some(self.image.into());
        record.owner = self.owner.map(|(kind, name)| Owner {
            kind: kind.into(),
            name: name.into(),
        });
        // The Deployment controller labels pods with the hash that ends their ReplicaSet's name.
        record.workload = record.owner.as_ref().map(|owner| {
            let template_hash = owner.name.rsplit_once('-').map(|(_, hash)| hash);
            podmortem::detect::workload_of(owner, template_hash)
        });
        record.finished_at = Some(ago(now, minutes_ago));
        record.started_at = Some(ago(now, minutes_ago + ran));
        record.observed_at = ago(now, minutes_ago) + SignedDuration::from_secs(3);
        record.cluster = Some("prod-eu".into());
        record
    }
}

fn oom_kill(mut record: Termination) -> Termination {
    let finished = record.finished_at.unwrap();
    record.exit_code = Some(137);
    record.signal = Some("SIGKILL".into());
    record.reason = Some("OOMKilled".into());
    let key = "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory";
    record.cause = Cause {
        kind: CauseKind::OomKilled,
        summary: "Killed by the kernel for exceeding its memory limit of 512Mi".into(),
        evidence: vec!["reason OOMKilled".into(), "memory limit 512Mi".into()],
        key_line: Some(key.into()),
        expected: false,
    };
    record.log_tail = vec![
        log(
            finished - SignedDuration::from_secs(4),
            Stream::Stdout,
            "GET /orders 200 41ms",
        ),
        log(
            finished - SignedDuration::from_secs(2),
            Stream::Stderr,
            "<--- Last few GCs --->",
        ),
        log(finished - SignedDuration::from_secs(1), Stream::Stderr, key),
    ];
    record.log_source = Some(LogSource::ApiPrevious);
    record.events = vec![event(
        &record,
        "Warning",
        "BackOff",
        "Back-off restarting failed container",
    )];
    record
}

fn app_error(mut record: Termination) -> Termination {
    let finished = record.finished_at.unwrap();
    record.exit_code = Some(1);
    record.reason = Some("Error".into());
    let key = "Error: connect ECONNREFUSED 10.0.3.14:5432";
    record.cause = Cause {
        kind: CauseKind::AppError,
        summary: "Exited with code 1 after a database connection error".into(),
        evidence: vec!["exit code 1".into(), "reason Error".into()],
        key_line: Some(key.into()),
        expected: false,
    };
    record.log_tail = vec![
        log(
            finished - SignedDuration::from_secs(3),
            Stream::Stdout,
            "ledger starting, version 3.2.0",
        ),
        log(finished - SignedDuration::from_secs(1), Stream::Stderr, key),
    ];
    record.log_source = Some(LogSource::ApiPrevious);
    record.events = vec![event(
        &record,
        "Warning",
        "BackOff",
        "Back-off restarting failed container ledger in pod ledger-5b8c9d7f6-m4n7p",
    )];
    record
}

fn liveness_kill(mut record: Termination) -> Termination {
    record.exit_code = Some(137);
    record.signal = Some("SIGKILL".into());
    record.reason = Some("Error".into());
    record.cause = Cause {
        kind: CauseKind::LivenessProbe,
        summary: "Restarted by kubelet after 3 failed liveness probes".into(),
        evidence: vec!["event Unhealthy x3: Liveness probe failed".into()],
        key_line: None,
        expected: false,
    };
    record.events = vec![
        event(
            &record,
            "Warning",
            "Unhealthy",
            "Liveness probe failed: Get \"http://10.0.1.7:8080/healthz\": context deadline exceeded",
        ),
        event(
            &record,
            "Normal",
            "Killing",
            "Container frontend failed liveness probe, will be restarted",
        ),
    ];
    record
}

fn segfault(mut record: Termination) -> Termination {
    record.exit_code = Some(139);
    record.signal = Some("SIGSEGV".into());
    record.reason = Some("Error".into());
    record.cause = Cause {
        kind: CauseKind::Crashed,
        summary: "Crashed with a segmentation fault (SIGSEGV)".into(),
        evidence: vec!["exit code 139 = 128 + 11 (SIGSEGV)".into()],
        key_line: Some("Segmentation fault (core dumped)".into()),
        expected: false,
    };
    let finished = record.finished_at.unwrap();
    record.log_tail = vec![
        log(
            finished - SignedDuration::from_secs(1),
            Stream::Stdout,
            "rendering tile 4411",
        ),
        log(finished, Stream::Stderr, "Segmentation fault (core dumped)"),
    ];
    record.log_source = Some(LogSource::NodeFile);
    record
}

fn evicted(mut record: Termination) -> Termination {
    record.reason = Some("Evicted".into());
    record.pod_reason = Some("Evicted".into());
    record.pod_message = Some("The node was low on resource: ephemeral-storage.".into());
    record.cause = Cause {
        kind: CauseKind::Evicted,
        summary: "Evicted by kubelet: the node was low on ephemeral storage".into(),
        evidence: vec!["pod status reason Evicted".into()],
        key_line: None,
        expected: false,
    };
    record
}

fn completed(mut record: Termination) -> Termination {
    record.exit_code = Some(0);
    record.reason = Some("Completed".into());
    record.cause = Cause {
        kind: CauseKind::Completed,
        summary: "Completed successfully".into(),
        evidence: vec!["exit code 0".into()],
        key_line: None,
        expected: true,
    };
    record
}

/// Pod of the crash loop in [`realistic_cluster`], with [`CRASH_LOOP_EXITS`] exits.
pub const CRASH_LOOP_NAMESPACE: &str = "payments";
pub const CRASH_LOOP_POD: &str = "ledger-5b8c9d7f6-m4n7p";
pub const CRASH_LOOP_EXITS: u32 = 12;
/// Number of OOM kills in [`realistic_cluster`].
pub const OOM_KILLS: usize = 8;

/// Returns the exits of a small production cluster over the 24 hours before `now`: an OOM
/// kill loop, a crash loop on a database error, liveness kills, segfaults of a StatefulSet,
/// an eviction, and one finished Job (an expected exit).
pub fn realistic_cluster(now: Timestamp) -> Vec<Termination> {
    let mut records = Vec::new();

    let api = Exit {
        namespace: "shop",
        pod: "api-7d9f8c6b5d-x2k4q",
        owner: Some(("ReplicaSet", "api-7d9f8c6b5d")),
        container: "api",
        node: "node-a",
        image: "registry.example/shop/api:1.4.2",
    };
    for restart in 0..6u32 {
        let minutes_ago = 1300 - i64::from(restart) * 230;
        records.push(oom_kill(api.record(now, restart, minutes_ago, 200)));
    }
    let cart = Exit {
        namespace: "shop",
        pod: "cart-6f7b9d8c4-z9x8w",
        owner: Some(("ReplicaSet", "cart-6f7b9d8c4")),
        container: "cart",
        node: "node-b",
        image: "registry.example/shop/cart:2.0.1",
    };
    for restart in 0..2u32 {
        let minutes_ago = 500 - i64::from(restart) * 180;
        records.push(oom_kill(cart.record(now, restart, minutes_ago, 170)));
    }

    let ledger = Exit {
        namespace: CRASH_LOOP_NAMESPACE,
        pod: CRASH_LOOP_POD,
        owner: Some(("ReplicaSet", "ledger-5b8c9d7f6")),
        container: "ledger",
        node: "node-c",
        image: "registry.example/payments/ledger:3.2.0",
    };
    // The gaps between exits grow and then level off, as under CrashLoopBackOff.
    let mut minutes_ago = 170;
    for restart in 0..CRASH_LOOP_EXITS {
        records.push(app_error(ledger.record(now, restart, minutes_ago, 1)));
        minutes_ago -= (1 << restart.min(3)).min(5) + 8;
    }

    let frontend = Exit {
        namespace: "web",
        pod: "frontend-6c9d8b7f5-qk2lm",
        owner: Some(("ReplicaSet", "frontend-6c9d8b7f5")),
        container: "frontend",
        node: "node-a",
        image: "registry.example/web/frontend:5.11.0",
    };
    for (restart, minutes_ago) in [(0u32, 900), (1, 610), (2, 340), (3, 95)] {
        records.push(liveness_kill(frontend.record(
            now,
            restart,
            minutes_ago,
            250,
        )));
    }

    let render = Exit {
        namespace: "batch",
        pod: "render-0",
        owner: Some(("StatefulSet", "render")),
        container: "render",
        node: "node-b",
        image: "registry.example/batch/render:0.9.4",
    };
    for (restart, minutes_ago) in [(4u32, 720), (5, 260)] {
        records.push(segfault(render.record(now, restart, minutes_ago, 400)));
    }

    let exporter = Exit {
        namespace: "monitoring",
        pod: "node-exporter-x7k2p",
        owner: Some(("DaemonSet", "node-exporter")),
        container: "node-exporter",
        node: "node-c",
        image: "quay.io/prometheus/node-exporter:v1.8.2",
    };
    records.push(evicted(exporter.record(now, 0, 430, 3000)));

    let report = Exit {
        namespace: "batch",
        pod: "report-28461330-7xk2p",
        owner: Some(("Job", "report-28461330")),
        container: "report",
        node: "node-a",
        image: "registry.example/batch/report:1.0.0",
    };
    records.push(completed(report.record(now, 0, 60, 4)));
    records
}

/// Returns a hostile record whose names, messages, evidence, events and log lines carry
/// markup, quotes and control bytes, with a 1 MiB log line and a partial line.
pub fn hostile(now: Timestamp) -> Termination {
    let pod = format!("{IMG_TAG}'\"pod");
    let mut record = bare(HOSTILE_NAMESPACE, &pod, SCRIPT_TAG, 0);
    record.finished_at = Some(ago(now, 30));
    record.started_at = Some(ago(now, 45));
    record.observed_at = ago(now, 29);

    record.node = Some(format!("node-{IMG_TAG}"));
    record.image = Some(format!("registry.example/{SCRIPT_TAG}:1"));
    record.owner = Some(Owner {
        kind: "ReplicaSet".into(),
        name: format!("rs-{SCRIPT_TAG}"),
    });
    record.exit_code = Some(2);
    record.reason = Some(format!("Error{IMG_TAG}"));
    record.message = Some(format!(
        "panic: {SCRIPT_TAG}\u{7}\u{1b}[31m red\r\n\"quoted\" 'single' {IMG_TAG}"
    ));
    record.cause = Cause {
        kind: CauseKind::AppError,
        summary: format!("Exited with code 2: {IMG_TAG}"),
        evidence: vec![
            format!("evidence {SCRIPT_TAG}"),
            format!("evidence {IMG_TAG}"),
        ],
        key_line: Some(format!("fatal {SCRIPT_TAG}")),
        expected: false,
    };

    let finished = record.finished_at.unwrap();
    let mut partial = log(
        finished - SignedDuration::from_secs(2),
        Stream::Stdout,
        "partial line without its end",
    );
    partial.partial = true;
    record.log_tail = vec![
        log(
            finished - SignedDuration::from_secs(5),
            Stream::Stdout,
            &format!("stdout {IMG_TAG} \u{0}\u{8}\u{1b}[0m"),
        ),
        log(
            finished - SignedDuration::from_secs(4),
            Stream::Stdout,
            &"x".repeat(LONG_LINE_BYTES),
        ),
        partial,
        log(
            finished - SignedDuration::from_secs(1),
            Stream::Stderr,
            &format!("level=error msg=\"fatal {SCRIPT_TAG}\" after retry"),
        ),
    ];
    record.log_source = Some(LogSource::ApiPrevious);

    record.events = vec![event(
        &record,
        "Warning",
        SCRIPT_TAG,
        &format!("event {IMG_TAG} \"quoted\""),
    )];
    record
}

/// Returns a record whose pod and container names are at Kubernetes' length limits.
pub fn longest_names(now: Timestamp) -> Termination {
    let pod: String = (0..POD_NAME_LIMIT)
        .map(|i| if i % 10 == 9 { '-' } else { 'p' })
        .collect();
    let container = "c".repeat(CONTAINER_NAME_LIMIT);
    let mut record = bare("limits", &pod, &container, 3);
    record.finished_at = Some(ago(now, 90));
    record.exit_code = Some(139);
    record.signal = Some("SIGSEGV".into());
    record.cause = Cause {
        kind: CauseKind::Crashed,
        summary: "Crashed with a segmentation fault (SIGSEGV)".into(),
        evidence: vec!["exit code 139 = 128 + 11 (SIGSEGV)".into()],
        key_line: None,
        expected: false,
    };
    record
}

/// Returns a record whose key line the diagnosis cut to 1024 bytes and ended with `…`, as it
/// does for log lines longer than that.
pub fn cut_key_line(now: Timestamp) -> Termination {
    let mut record = bare("shop", "checkout-7c9d8f6b5-r2t4v", "checkout", 0);
    let finished = ago(now, 75);
    record.finished_at = Some(finished);
    record.exit_code = Some(1);
    let text = format!("java.lang.IllegalStateException: {}", "state ".repeat(500));
    record.cause = Cause {
        kind: CauseKind::AppError,
        summary: "Exited with code 1".into(),
        evidence: vec!["exit code 1".into()],
        key_line: Some(format!("{}…", &text[..1024])),
        expected: false,
    };
    record.log_tail = vec![
        log(
            finished - SignedDuration::from_secs(2),
            Stream::Stdout,
            "checkout ready",
        ),
        log(finished, Stream::Stderr, &text),
    ];
    record
}

/// Namespace of [`paged_exits`].
pub const PAGING_NAMESPACE: &str = "paging";

/// Returns `count` application errors of different pods in one namespace, a minute apart,
/// so that their list needs more than one page.
pub fn paged_exits(now: Timestamp, count: u32) -> Vec<Termination> {
    (0..count)
        .map(|index| {
            let pod = format!("worker-{index:03}");
            let mut record = bare(PAGING_NAMESPACE, &pod, "worker", 0);
            record.finished_at = Some(ago(now, 200 + i64::from(index)));
            record.exit_code = Some(1);
            record.cause = Cause {
                kind: CauseKind::AppError,
                summary: "Exited with code 1".into(),
                evidence: vec!["exit code 1".into()],
                key_line: None,
                expected: false,
            };
            record
        })
        .collect()
}

/// Length of each unbroken string of [`long_strings`].
pub const UNBROKEN_CHARS: usize = 20_000;
/// Namespace of [`long_strings`].
pub const LONG_STRINGS_NAMESPACE: &str = "long-strings";

/// Returns a record whose every text field is one unbroken string of [`UNBROKEN_CHARS`]
/// characters (a run of `A`s, or base64 and JSON without spaces), which a browser can break
/// only where the style sheet allows it.
pub fn long_strings(now: Timestamp) -> Termination {
    let run = "A".repeat(UNBROKEN_CHARS);
    let base64 = "QUJD".repeat(UNBROKEN_CHARS / 4);
    let json = format!(
        "{{\"data\":\"{}\"}}",
        "x".repeat(UNBROKEN_CHARS - "{\"data\":\"\"}".len())
    );

    let pod = format!("pod-{run}");
    let container = format!("container-{run}");
    let mut record = bare(LONG_STRINGS_NAMESPACE, &pod, &container, 1);
    record.finished_at = Some(ago(now, 20));
    record.started_at = Some(ago(now, 25));
    record.observed_at = ago(now, 19);

    record.node = Some(format!("node-{run}"));
    record.image = Some(format!("registry.example/{run}:1"));
    record.container_id = Some(format!("containerd://{run}"));
    record.owner = Some(Owner {
        kind: "ReplicaSet".into(),
        name: format!("rs-{run}"),
    });
    record.workload = Some(Owner {
        kind: "Deployment".into(),
        name: format!("deploy-{run}"),
    });

    record.exit_code = Some(1);
    record.reason = Some(run.clone());
    record.message = Some(json.clone());
    record.pod_reason = Some(run.clone());
    record.pod_message = Some(base64.clone());
    record.cause = Cause {
        kind: CauseKind::AppError,
        summary: run.clone(),
        evidence: vec![base64.clone(), json.clone()],
        key_line: Some(format!("missing {run}")),
        expected: false,
    };

    let finished = record.finished_at.unwrap();
    record.log_tail = vec![
        log(
            finished - SignedDuration::from_secs(2),
            Stream::Stdout,
            &json,
        ),
        log(finished, Stream::Stderr, &base64),
    ];
    record.log_source = Some(LogSource::ApiPrevious);

    let mut long_event = event(&record, "Warning", &run, &base64);
    long_event.reporter = Some(run.clone());
    record.events = vec![long_event];
    record
}

/// Returns one application error `days` days before `now`, in its own namespace and pod,
/// for the overview windows longer than a week.
pub fn old_exit(now: Timestamp, days: i64) -> Termination {
    let mut record = bare("archive", &format!("report-{days}d"), "report", 0);
    record.finished_at = Some(ago(now, days * 24 * 60));
    record.observed_at = ago(now, days * 24 * 60) + SignedDuration::from_secs(3);
    record.exit_code = Some(1);
    record.cause = Cause {
        kind: CauseKind::AppError,
        summary: "Exited with code 1".into(),
        evidence: vec!["exit code 1".into()],
        key_line: None,
        expected: false,
    };
    record
}
