//! One test per diagnosis rule, on records and pods built for the rule, plus a property test
//! that no input makes `diagnose` panic.

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use podmortem::diagnose::{Context, diagnose};
use podmortem::model::{
    Cause, CauseKind, ContainerKind, EventRecord, LogLine, LogSource, ObjectRef, Owner, Source,
    Stream, Termination,
};
use proptest::prelude::*;
use serde_json::json;

fn time(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// Returns a record of container `app` that ran from 10:00:00Z to 10:05:00Z.
fn record(exit_code: Option<i64>, reason: Option<&str>) -> Termination {
    Termination {
        id: "id".to_owned(),
        cluster: None,
        namespace: "shop".to_owned(),
        pod: "app-1".to_owned(),
        pod_uid: "uid-1".to_owned(),
        node: Some("node-1".to_owned()),
        owner: None,
        workload: None,
        container: "app".to_owned(),
        container_kind: ContainerKind::Regular,
        image: None,
        container_id: Some("containerd://abc".to_owned()),
        restart_count: 0,
        exit_code,
        signal: None,
        reason: reason.map(str::to_owned),
        message: None,
        started_at: Some(time("2024-01-01T10:00:00Z")),
        finished_at: Some(time("2024-01-01T10:05:00Z")),
        cause: Cause::undiagnosed(),
        log_tail: Vec::new(),
        log_truncated: false,
        log_source: None,
        log_first_at: None,
        log_last_at: None,
        termination_message_file: None,
        events: Vec::new(),
        pod_reason: None,
        pod_message: None,
        source: Source::Api,
        observed_at: time("2024-01-01T11:00:00Z"),
        missed_before: 0,
    }
}

fn event(reason: &str, message: &str, count: u32, first: &str, last: &str) -> EventRecord {
    EventRecord {
        event_type: "Warning".to_owned(),
        reason: reason.to_owned(),
        message: message.to_owned(),
        count,
        first_seen: Some(time(first)),
        last_seen: Some(time(last)),
        object: ObjectRef {
            kind: "Pod".to_owned(),
            namespace: Some("shop".to_owned()),
            name: "app-1".to_owned(),
            uid: None,
            field_path: Some("spec.containers{app}".to_owned()),
        },
        container: Some("app".to_owned()),
        reporter: Some("kubelet".to_owned()),
        host: None,
        inferred: false,
    }
}

/// Returns a pod with container `app`, with the fields of `spec`, `status` and `metadata`
/// set over the defaults.
fn pod(spec: serde_json::Value, status: serde_json::Value, metadata: serde_json::Value) -> Pod {
    let mut value = json!({
        "metadata": {"name": "app-1", "namespace": "shop", "uid": "uid-1"},
        "spec": {"containers": [{"name": "app", "image": "app:1"}]},
        "status": {"phase": "Running"},
    });
    for (section, extra) in [("spec", spec), ("status", status), ("metadata", metadata)] {
        if let serde_json::Value::Object(fields) = extra {
            for (key, field) in fields {
                value[section][key] = field;
            }
        }
    }
    serde_json::from_value(value).unwrap()
}

fn plain_pod() -> Pod {
    pod(json!({}), json!({}), json!({}))
}

fn run(record: &Termination, pod: Option<&Pod>) -> Cause {
    diagnose(record, &Context { pod, job: None })
}

fn has(cause: &Cause, item: &str) -> bool {
    cause.evidence.iter().any(|found| found.contains(item))
}

fn stderr(text: &str) -> LogLine {
    LogLine {
        time: None,
        stream: Stream::Stderr,
        text: text.to_owned(),
        partial: false,
    }
}

#[test]
fn oom_kill_without_memory_limit() {
    let cause = run(&record(Some(137), Some("OOMKilled")), Some(&plain_pod()));

    assert_eq!(cause.kind, CauseKind::OomKilled);
    assert!(
        has(&cause, "no memory limit: the node ran out of memory"),
        "{:?}",
        cause.evidence
    );
}

#[test]
fn node_oom_event_infers_oom() {
    let mut record = record(Some(137), Some("Error"));
    let mut oom = event(
        "OOMKilling",
        "Memory cgroup out of memory: Killed process 4242 (java)",
        1,
        "2024-01-01T10:05:01Z",
        "2024-01-01T10:05:01Z",
    );
    oom.inferred = true;
    oom.container = None;
    record.events.push(oom);
    let cause = run(&record, Some(&plain_pod()));

    assert_eq!(cause.kind, CauseKind::OomKilled);
    assert!(cause.summary.starts_with("Probably"), "{}", cause.summary);
    assert!(has(&cause, "inferred"), "{:?}", cause.evidence);
}

#[test]
fn distant_node_oom_event_ignored() {
    let mut record = record(Some(137), Some("Error"));
    let mut oom = event(
        "OOMKilling",
        "Killed process 1",
        1,
        "2024-01-01T09:00:00Z",
        "2024-01-01T09:00:00Z",
    );
    oom.inferred = true;
    record.events.push(oom);
    let cause = run(&record, Some(&plain_pod()));

    assert_eq!(cause.kind, CauseKind::Killed);
}

#[test]
fn exit_137_alone_is_not_oom() {
    let cause = run(&record(Some(137), Some("Error")), None);

    assert_eq!(cause.kind, CauseKind::Killed);
    assert!(!cause.summary.contains("OOM"), "{}", cause.summary);
}

#[test]
fn liveness_kill_with_graceful_exit() {
    let mut record = record(Some(143), Some("Error"));
    record.events = vec![
        event(
            "Unhealthy",
            "Liveness probe failed: HTTP probe failed with statuscode: 500",
            3,
            "2024-01-01T10:04:30Z",
            "2024-01-01T10:04:50Z",
        ),
        event(
            "Killing",
            "Container app failed liveness probe, will be restarted",
            1,
            "2024-01-01T10:04:50Z",
            "2024-01-01T10:04:50Z",
        ),
    ];
    let cause = run(&record, Some(&plain_pod()));

    assert_eq!(cause.kind, CauseKind::LivenessProbe);
    assert!(
        cause.summary.contains("exited 143 on SIGTERM"),
        "{}",
        cause.summary
    );
    assert!(
        has(
            &cause,
            "finished 10s after the Killing event within terminationGracePeriodSeconds 30"
        ),
        "{:?}",
        cause.evidence
    );
    assert!(
        has(&cause, "event Unhealthy (x3): Liveness probe failed"),
        "{:?}",
        cause.evidence
    );
}

#[test]
fn unhealthy_events_alone_probable_probe() {
    let mut record = record(Some(137), Some("Error"));
    record.events = vec![event(
        "Unhealthy",
        "Liveness probe failed: Get \"http://10.0.0.5:8080/healthz\": context deadline exceeded",
        3,
        "2024-01-01T10:04:10Z",
        "2024-01-01T10:04:30Z",
    )];
    let cause = run(&record, Some(&plain_pod()));

    assert_eq!(cause.kind, CauseKind::LivenessProbe);
    assert!(cause.summary.starts_with("Probably"), "{}", cause.summary);
    assert!(
        has(&cause, "event Unhealthy (x3): Liveness probe failed"),
        "{:?}",
        cause.evidence
    );
}

#[test]
fn few_unhealthy_events_not_probe() {
    let mut record = record(Some(137), Some("Error"));
    record.events = vec![event(
        "Unhealthy",
        "Liveness probe failed: connection refused",
        1,
        "2024-01-01T10:04:30Z",
        "2024-01-01T10:04:30Z",
    )];
    let cause = run(&record, Some(&plain_pod()));

    assert_eq!(cause.kind, CauseKind::Killed);
}

#[test]
fn probe_grace_period_overrides_pod() {
    let mut record = record(Some(137), Some("Error"));
    record.events = vec![event(
        "Killing",
        "Container app failed liveness probe, will be restarted",
        1,
        "2024-01-01T10:04:55Z",
        "2024-01-01T10:04:55Z",
    )];
    let pod = pod(
        json!({
            "terminationGracePeriodSeconds": 60,
            "containers": [{"name": "app", "livenessProbe": {
                "httpGet": {"path": "/healthz", "port": 8080},
                "terminationGracePeriodSeconds": 5
            }}]
        }),
        json!({}),
        json!({}),
    );
    let cause = run(&record, Some(&pod));

    assert_eq!(cause.kind, CauseKind::LivenessProbe);
    assert!(
        has(
            &cause,
            "finished 5s after the Killing event = terminationGracePeriodSeconds 5"
        ),
        "{:?}",
        cause.evidence
    );
}

#[test]
fn killing_before_instance_start_ignored() {
    let mut record = record(Some(1), Some("Error"));
    record.events = vec![event(
        "Killing",
        "Container app failed liveness probe, will be restarted",
        1,
        "2024-01-01T09:00:00Z",
        "2024-01-01T09:00:00Z",
    )];
    let cause = run(&record, Some(&plain_pod()));

    assert_eq!(cause.kind, CauseKind::AppError);
}

#[test]
fn stop_request_sigkill_after_grace() {
    let mut record = record(Some(137), Some("Error"));
    record.events = vec![event(
        "Killing",
        "Stopping container app",
        1,
        "2024-01-01T10:04:30Z",
        "2024-01-01T10:04:30Z",
    )];
    let cause = run(&record, Some(&plain_pod()));

    assert_eq!(cause.kind, CauseKind::KilledAfterGracePeriod);
    assert!(!cause.expected);
    assert!(
        has(
            &cause,
            "finished 30s after the stop request = terminationGracePeriodSeconds 30"
        ),
        "{:?}",
        cause.evidence
    );
}

#[test]
fn deletion_without_events_is_stopped() {
    let pod = pod(
        json!({}),
        json!({"phase": "Running"}),
        json!({"deletionTimestamp": "2024-01-01T10:05:28Z", "deletionGracePeriodSeconds": 30}),
    );
    let cause = run(&record(Some(143), Some("Error")), Some(&pod));

    assert_eq!(cause.kind, CauseKind::Stopped);
    assert!(cause.expected);
    assert!(
        has(&cause, "pod deletion requested at 2024-01-01T10:04:58Z"),
        "{:?}",
        cause.evidence
    );
}

#[test]
fn app_exit_after_stop_is_stopped() {
    let mut record = record(Some(1), Some("Error"));
    record.events = vec![event(
        "Killing",
        "Stopping container app",
        1,
        "2024-01-01T10:04:58Z",
        "2024-01-01T10:04:58Z",
    )];
    let cause = run(&record, Some(&plain_pod()));

    assert_eq!(cause.kind, CauseKind::Stopped);
    assert!(
        has(
            &cause,
            "finished 2s after the stop request within terminationGracePeriodSeconds 30"
        ),
        "{:?}",
        cause.evidence
    );
}

#[test]
fn crash_just_before_stop_is_crash() {
    let mut record = record(Some(1), Some("Error"));
    record.events = vec![event(
        "Killing",
        "Stopping container app",
        1,
        "2024-01-01T10:05:03Z",
        "2024-01-01T10:05:03Z",
    )];
    let cause = run(&record, Some(&plain_pod()));

    assert_eq!(cause.kind, CauseKind::AppError);
}

#[test]
fn deletion_after_exit_does_not_apply() {
    let pod = pod(
        json!({}),
        json!({}),
        json!({"deletionTimestamp": "2024-01-01T12:00:30Z", "deletionGracePeriodSeconds": 30}),
    );
    let cause = run(&record(Some(143), Some("Error")), Some(&pod));

    assert_eq!(cause.kind, CauseKind::Killed);
    assert!(
        cause
            .summary
            .contains("SIGTERM from something other than kubelet"),
        "{}",
        cause.summary
    );
}

#[test]
fn go_panic_exit_2_is_app_error() {
    let mut record = record(Some(2), Some("Error"));
    record.log_tail = vec![
        stderr("panic: runtime error: invalid memory address or nil pointer dereference"),
        stderr("[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a5b2c]"),
        stderr("goroutine 1 [running]:"),
    ];
    record.log_source = Some(LogSource::NodeFile);
    let cause = run(&record, None);

    assert_eq!(cause.kind, CauseKind::AppError);
    assert_eq!(
        cause.key_line.as_deref(),
        Some("panic: runtime error: invalid memory address or nil pointer dereference")
    );
    assert!(has(&cause, "a Go panic exits 2"), "{:?}", cause.evidence);
}

#[test]
fn exit_code_kinds_table() {
    let table = [
        (134, CauseKind::Crashed),
        (135, CauseKind::Crashed),
        (132, CauseKind::Crashed),
        (136, CauseKind::Crashed),
        (139, CauseKind::Crashed),
        (130, CauseKind::Killed),
        (137, CauseKind::Killed),
        (143, CauseKind::Killed),
        (126, CauseKind::NotExecutable),
        (127, CauseKind::CommandNotFound),
        (128, CauseKind::StartFailed),
        (1, CauseKind::AppError),
        (255, CauseKind::AppError),
        (200, CauseKind::AppError),
        (3_221_225_477, CauseKind::Crashed),
        (-1_073_741_819, CauseKind::Crashed),
        (0xC000_0135, CauseKind::StartFailed),
        (0xC000_0142, CauseKind::StartFailed),
        (0xC000_013A, CauseKind::Killed),
        (0xC000_0409, CauseKind::Crashed),
    ];
    for (code, kind) in table {
        let cause = run(&record(Some(code), Some("Error")), Some(&plain_pod()));
        assert_eq!(cause.kind, kind, "exit code {code}");
    }
}

#[test]
fn ntstatus_named_in_summary() {
    let cause = run(&record(Some(-1_073_741_819), Some("Error")), None);

    assert!(
        cause.summary.contains("STATUS_ACCESS_VIOLATION"),
        "{}",
        cause.summary
    );
    assert!(
        has(&cause, "exit code -1073741819 = 0xC0000005"),
        "{:?}",
        cause.evidence
    );
    assert!(!has(&cause, "SIG"), "{:?}", cause.evidence);
}

#[test]
fn never_started_minus_one() {
    let mut record = record(Some(-1), None);
    record.started_at = None;
    let cause = run(&record, None);

    assert_eq!(cause.kind, CauseKind::StartFailed);
    assert!(!has(&cause, "ran "), "{:?}", cause.evidence);
}

#[test]
fn clean_exit_by_restart_policy() {
    let always = run(&record(Some(0), Some("Completed")), Some(&plain_pod()));
    assert_eq!(always.kind, CauseKind::CompletedButRestarted);
    assert!(!always.expected);

    let never = pod(json!({"restartPolicy": "Never"}), json!({}), json!({}));
    let completed = run(&record(Some(0), Some("Completed")), Some(&never));
    assert_eq!(completed.kind, CauseKind::Completed);
    assert!(completed.expected);

    let on_failure = pod(json!({"restartPolicy": "OnFailure"}), json!({}), json!({}));
    let completed = run(&record(Some(0), Some("Completed")), Some(&on_failure));
    assert_eq!(completed.kind, CauseKind::Completed);
}

#[test]
fn init_container_completion_expected() {
    let mut record = record(Some(0), Some("Completed"));
    record.container_kind = ContainerKind::Init;
    let pod = pod(
        json!({"initContainers": [{"name": "app"}], "containers": [{"name": "main"}]}),
        json!({}),
        json!({}),
    );
    let cause = run(&record, Some(&pod));

    assert_eq!(cause.kind, CauseKind::Completed);
    assert!(cause.expected);
}

#[test]
fn clean_exit_policy_from_owner() {
    let mut record = record(Some(0), Some("Completed"));
    record.owner = Some(Owner {
        kind: "ReplicaSet".to_owned(),
        name: "app-5d".to_owned(),
    });
    assert_eq!(run(&record, None).kind, CauseKind::CompletedButRestarted);

    record.owner = Some(Owner {
        kind: "Job".to_owned(),
        name: "nightly".to_owned(),
    });
    assert_eq!(run(&record, None).kind, CauseKind::Completed);
}

#[test]
fn kubelet_log_read_error_message() {
    let mut record = record(Some(1), Some("Error"));
    record.message = Some(
        "Error on reading termination message from logs: failed to open log file \"/var/log/pods/x/app/0.log\": no such file or directory"
            .to_owned(),
    );
    let pod = pod(
        json!({"containers": [{"name": "app", "terminationMessagePolicy": "FallbackToLogsOnError"}]}),
        json!({}),
        json!({}),
    );
    let cause = run(&record, Some(&pod));

    assert_eq!(cause.kind, CauseKind::AppError);
    assert!(
        has(
            &cause,
            "kubelet could not read the log for the termination message"
        ),
        "{:?}",
        cause.evidence
    );
    assert!(
        !cause
            .evidence
            .iter()
            .any(|item| item.starts_with("termination message: ")),
        "{:?}",
        cause.evidence
    );
    assert_eq!(cause.key_line, None);
}

#[test]
fn disruption_target_reasons_table() {
    let table = [
        (
            "EvictionByEvictionAPI",
            "Eviction API: evicting",
            CauseKind::Evicted,
        ),
        (
            "DeletionByTaintManager",
            "Taint manager: deleting due to NoExecute taint",
            CauseKind::NodeLost,
        ),
        (
            "DeletionByPodGC",
            "PodGC: node no longer exists",
            CauseKind::NodeLost,
        ),
        (
            "PreemptionByScheduler",
            "Scheduler: preempting to accommodate a higher priority pod: shop/urgent",
            CauseKind::Preempted,
        ),
        (
            "TerminationByKubelet",
            "Preempted in order to admit critical pod",
            CauseKind::Preempted,
        ),
    ];
    for (reason, message, kind) in table {
        let pod = pod(
            json!({}),
            json!({"phase": "Failed", "conditions": [{
                "type": "DisruptionTarget", "status": "True", "reason": reason,
                "message": message, "lastTransitionTime": "2024-01-01T10:04:30Z"
            }]}),
            json!({}),
        );
        let cause = run(&record(Some(143), Some("Error")), Some(&pod));
        assert_eq!(cause.kind, kind, "{reason}");
        assert!(
            has(&cause, &format!("DisruptionTarget reason {reason}")),
            "{reason}: {:?}",
            cause.evidence
        );
    }
}

#[test]
fn pod_end_skips_earlier_restart() {
    let pod = pod(
        json!({}),
        json!({"phase": "Failed", "reason": "Evicted", "conditions": [{
            "type": "DisruptionTarget", "status": "True", "reason": "TerminationByKubelet",
            "message": "The node was low on resource: memory. ",
            "lastTransitionTime": "2024-01-01T14:00:00Z"
        }]}),
        json!({}),
    );
    let cause = run(&record(Some(1), Some("Error")), Some(&pod));

    assert_eq!(cause.kind, CauseKind::AppError);
}

#[test]
fn pod_deadline_exceeded() {
    let pod = pod(
        json!({"activeDeadlineSeconds": 300}),
        json!({"phase": "Failed", "reason": "DeadlineExceeded", "message": "Pod was active on the node longer than the specified deadline"}),
        json!({}),
    );
    let mut record = record(Some(137), Some("Error"));
    record.finished_at = None;
    let cause = run(&record, Some(&pod));

    assert_eq!(cause.kind, CauseKind::DeadlineExceeded);
    assert!(
        has(&cause, "pod reason DeadlineExceeded"),
        "{:?}",
        cause.evidence
    );
}

#[test]
fn job_deadline_exceeded() {
    let job: Job = serde_json::from_value(json!({
        "metadata": {"name": "nightly"},
        "status": {"conditions": [{
            "type": "Failed", "status": "True", "reason": "DeadlineExceeded",
            "message": "Job was active longer than specified deadline",
            "lastTransitionTime": "2024-01-01T10:04:40Z"
        }]}
    }))
    .unwrap();
    let record = record(Some(143), Some("Error"));
    let cause = diagnose(
        &record,
        &Context {
            pod: Some(&plain_pod()),
            job: Some(&job),
        },
    );

    assert_eq!(cause.kind, CauseKind::DeadlineExceeded);
    assert!(
        cause.summary.starts_with("Job nightly ran past"),
        "{}",
        cause.summary
    );
    assert!(
        has(
            &cause,
            "Job nightly failed: DeadlineExceeded (Job was active longer than specified deadline)"
        ),
        "{:?}",
        cause.evidence
    );
}

#[test]
fn older_eviction_messages_parsed() {
    let table = [
        (
            "The node was low on resource: memory. Container app was using 9402820Ki, which exceeds its request of 7G. ",
            "container app was using 9402820Ki, request 7G",
        ),
        (
            "Pod The node was low on resource: [MemoryPressure].",
            "node condition MemoryPressure",
        ),
        (
            "The node was low on resource: ephemeral-storage. Threshold quantity: 10Gi, available: 9Gi. Container app was using 20Gi, request is 0, has larger consumption of ephemeral-storage. ",
            "container app was using 20Gi of ephemeral-storage, request 0",
        ),
    ];
    for (message, item) in table {
        let mut record = record(Some(137), Some("Error"));
        record.pod_reason = Some("Evicted".to_owned());
        record.pod_message = Some(message.to_owned());
        record.finished_at = None;
        let cause = run(&record, None);
        assert_eq!(cause.kind, CauseKind::Evicted, "{message}");
        assert!(has(&cause, item), "{message}: {:?}", cause.evidence);
    }
}

#[test]
fn storage_limit_eviction_summary() {
    let mut record = record(Some(137), Some("Error"));
    record.pod_reason = Some("Evicted".to_owned());
    record.pod_message = Some(
        "Pod ephemeral local storage usage exceeds the total limit of containers 1Gi. ".to_owned(),
    );
    let cause = run(&record, None);

    assert_eq!(cause.kind, CauseKind::Evicted);
    assert!(
        cause
            .summary
            .contains("exceeded an ephemeral storage limit"),
        "{}",
        cause.summary
    );
    assert!(
        has(
            &cause,
            "pod ephemeral storage exceeded the containers' total limit 1Gi"
        ),
        "{:?}",
        cause.evidence
    );
}

#[test]
fn eviction_api_drain_summary() {
    let pod = pod(
        json!({}),
        json!({"conditions": [{
            "type": "DisruptionTarget", "status": "True", "reason": "EvictionByEvictionAPI",
            "message": "Eviction API: evicting", "lastTransitionTime": "2024-01-01T10:04:58Z"
        }]}),
        json!({"deletionTimestamp": "2024-01-01T10:05:28Z"}),
    );
    let cause = run(&record(Some(0), Some("Completed")), Some(&pod));

    assert_eq!(cause.kind, CauseKind::Evicted);
    assert!(cause.summary.contains("Eviction API"), "{}", cause.summary);
}

#[test]
fn sidecar_exit_zero_restarts() {
    let mut record = record(Some(0), Some("Completed"));
    record.container_kind = ContainerKind::Sidecar;
    let pod = pod(
        json!({"restartPolicy": "Never", "initContainers": [{"name": "app", "restartPolicy": "Always"}], "containers": [{"name": "main"}]}),
        json!({"phase": "Running", "containerStatuses": [{"name": "main", "ready": true, "restartCount": 0, "image": "main", "imageID": "", "state": {"running": {"startedAt": "2024-01-01T10:00:00Z"}}}]}),
        json!({}),
    );
    let cause = run(&record, Some(&pod));

    assert_eq!(cause.kind, CauseKind::CompletedButRestarted);
}

#[test]
fn fallback_message_without_log() {
    let mut record = record(Some(1), Some("Error"));
    let mut message = String::from("tial line cut by kubelet ERROR not the cause\n");
    while message.len() < 2000 {
        message.push_str("I0101 10:04:59.000000       1 main.go:10] retrying\n");
    }
    message.push_str("F0101 10:05:00.000000       1 main.go:20] cannot start: config missing\n");
    record.message = Some(message);
    let pod = pod(
        json!({"containers": [{"name": "app", "terminationMessagePolicy": "FallbackToLogsOnError"}]}),
        json!({}),
        json!({}),
    );
    let cause = run(&record, Some(&pod));

    assert!(has(
        &cause,
        "termination message taken from the log (FallbackToLogsOnError)"
    ));
    assert!(!cause.summary.contains("tial line"), "{}", cause.summary);
    assert_eq!(
        cause.key_line.as_deref(),
        Some("F0101 10:05:00.000000       1 main.go:20] cannot start: config missing")
    );
}

#[test]
fn runtime_signal_differs_from_code() {
    let mut record = record(Some(1), Some("Error"));
    record.signal = Some("SIGABRT".to_owned());
    let cause = run(&record, None);

    assert!(
        has(&cause, "signal SIGABRT reported by the runtime"),
        "{:?}",
        cause.evidence
    );
}

fn timestamp_strategy() -> impl Strategy<Value = Option<Timestamp>> {
    prop_oneof![
        Just(None),
        Just(Some(Timestamp::MIN)),
        Just(Some(Timestamp::MAX)),
        (0i64..4_000_000_000).prop_map(|seconds| Timestamp::from_second(seconds).ok()),
    ]
}

proptest! {
    #[test]
    fn diagnose_never_panics(
        code in prop_oneof![Just(None), any::<i64>().prop_map(Some)],
        reason in prop_oneof![Just(None), Just(Some("OOMKilled")), Just(Some("Error")), Just(Some("ContainerStatusUnknown")), Just(Some("StartError"))],
        message in prop_oneof![Just(None), ".{0,3000}".prop_map(Some)],
        started in timestamp_strategy(),
        finished in timestamp_strategy(),
        event_time in timestamp_strategy(),
        grace in any::<i64>(),
        log in proptest::collection::vec(".{0,200}", 0..20),
    ) {
        let mut record = record(code, reason);
        record.message = message;
        record.started_at = started;
        record.finished_at = finished;
        let mut killing = event("Killing", "Container app failed liveness probe, will be restarted", 1, "2024-01-01T10:04:00Z", "2024-01-01T10:04:00Z");
        killing.first_seen = event_time;
        killing.last_seen = event_time;
        record.events.push(killing);
        record.log_tail = log.iter().map(|text| stderr(text)).collect();
        let pod = pod(
            json!({"terminationGracePeriodSeconds": grace, "containers": [{"name": "app", "terminationMessagePolicy": "FallbackToLogsOnError"}]}),
            json!({"conditions": [{"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler", "lastTransitionTime": "2024-01-01T10:04:30Z"}]}),
            json!({"deletionTimestamp": "2024-01-01T10:05:28Z", "deletionGracePeriodSeconds": grace}),
        );

        let cause = run(&record, Some(&pod));
        prop_assert!(!cause.summary.is_empty());
        let plain = run(&record, None);
        prop_assert!(!plain.summary.is_empty());
    }
}
