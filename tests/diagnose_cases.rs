//! Diagnosis of the real cases: pods, events, Jobs and logs as the API and kubelet wrote them.
//!
//! Records come from detection over the pod JSON, with the pod's events normalised by the
//! objects module and, when the case has one, the instance's log decoded by the kubelet
//! module.

mod common;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event, Pod};
use podmortem::detect::detect_pod;
use podmortem::diagnose::{Context, KeyLineKind, diagnose, find_key_line};
use podmortem::kubelet::decode_all;
use podmortem::model::{
    Cause, CauseKind, ContainerKind, EventRecord, LogLine, LogSource, Source, Stream, Termination,
};
use podmortem::objects::event_from_core_v1;

use common::case_path;

fn read(name: &str) -> Vec<u8> {
    std::fs::read(case_path(name)).unwrap()
}

fn load_pod(name: &str) -> Pod {
    serde_json::from_slice(&read(name)).unwrap()
}

fn load_pods(name: &str) -> Vec<Pod> {
    serde_json::from_slice::<k8s_openapi::List<Pod>>(&read(name))
        .unwrap()
        .items
}

fn load_job(name: &str) -> Job {
    serde_json::from_slice(&read(name)).unwrap()
}

/// Converts a core/v1 EventList into records with the objects module.
fn load_events(name: &str) -> Vec<EventRecord> {
    let list: k8s_openapi::List<Event> = serde_json::from_slice(&read(name)).unwrap();
    list.items.iter().map(event_from_core_v1).collect()
}

/// Returns the events about `pod`: on the pod itself, or naming it in their message.
fn events_for(pod: &Pod, events: &[EventRecord]) -> Vec<EventRecord> {
    let name = pod.metadata.name.clone().unwrap_or_default();
    events
        .iter()
        .filter(|event| {
            (event.object.kind == "Pod" && event.object.name == name)
                || event.message.contains(&format!("pod: {name}"))
        })
        .cloned()
        .collect()
}

/// Decodes a CRI or Docker log file with the kubelet module.
fn parse_log(bytes: &[u8]) -> Vec<LogLine> {
    decode_all(bytes, None).0
}

/// Detects the pod's dead instances and attaches the events about the pod.
fn records_of(pod: &Pod, events: &[EventRecord]) -> Vec<Termination> {
    let events = events_for(pod, events);
    let mut records = detect_pod(pod);
    for record in &mut records {
        record.events = events.clone();
    }
    records
}

fn find<'a>(records: &'a [Termination], container: &str, restart: u32) -> &'a Termination {
    records
        .iter()
        .find(|record| record.container == container && record.restart_count == restart)
        .unwrap_or_else(|| panic!("no record for {container} #{restart}"))
}

fn diagnose_with(record: &Termination, pod: &Pod, job: Option<&Job>) -> Cause {
    diagnose(
        record,
        &Context {
            pod: Some(pod),
            job,
        },
    )
}

fn assert_evidence(cause: &Cause, item: &str) {
    assert!(
        cause.evidence.iter().any(|found| found.contains(item)),
        "evidence has no item with `{item}`: {:#?}",
        cause.evidence
    );
}

fn assert_no_evidence(cause: &Cause, item: &str) {
    assert!(
        !cause.evidence.iter().any(|found| found.contains(item)),
        "evidence has an item with `{item}`: {:#?}",
        cause.evidence
    );
}

#[test]
fn oom_kill_with_memory_limit() {
    let pod = load_pod("01-oomkilled-memory-limit.json");
    let records = records_of(&pod, &[]);
    let record = find(&records, "api", 2);
    let cause = diagnose_with(record, &pod, None);

    assert_eq!(cause.kind, CauseKind::OomKilled);
    assert!(!cause.expected);
    assert_eq!(record.signal.as_deref(), Some("SIGKILL"));
    assert_evidence(&cause, "reason OOMKilled");
    assert_evidence(&cause, "exit code 137 = 128 + 9 (SIGKILL)");
    assert_evidence(&cause, "memory limit 4Gi");
    assert_evidence(&cause, "memory request 2Gi");
    assert_evidence(&cause, "QoS class Burstable");
    assert_evidence(&cause, "ran 4h27m22s");
    assert!(cause.summary.contains("4Gi"), "{}", cause.summary);
}

#[test]
fn liveness_kill_after_grace_period() {
    let pod = load_pod("02-exit137-liveness-kill.pod.json");
    let events = load_events("02-exit137-liveness-kill.events.json");
    let records = records_of(&pod, &events);
    let record = find(&records, "web", 0);
    let cause = diagnose_with(record, &pod, None);

    assert_eq!(cause.kind, CauseKind::LivenessProbe);
    assert!(!cause.expected);
    assert_eq!(record.signal.as_deref(), Some("SIGKILL"));
    assert_evidence(&cause, "event Unhealthy (x3): Liveness probe failed:");
    assert_evidence(&cause, "context deadline exceeded");
    assert_evidence(
        &cause,
        "event Killing at 13:58:59Z: Container web failed liveness probe, will be restarted",
    );
    assert_evidence(
        &cause,
        "finished 10s after the Killing event = terminationGracePeriodSeconds 10",
    );
    assert_no_evidence(&cause, "memory limit");
    assert!(
        cause.summary.contains("SIGKILLed after the grace period"),
        "{}",
        cause.summary
    );
}

#[test]
fn exit_137_without_events_is_killed() {
    let pod = load_pod("02-exit137-liveness-kill.pod.json");
    let records = records_of(&pod, &[]);
    let cause = diagnose_with(find(&records, "web", 0), &pod, None);

    assert_eq!(cause.kind, CauseKind::Killed);
    assert!(
        cause.summary.contains("cause is unknown"),
        "{}",
        cause.summary
    );
    assert!(
        cause.summary.contains("events may have expired"),
        "{}",
        cause.summary
    );
    assert_no_evidence(&cause, "memory limit");
}

#[test]
fn sigterm_during_rollout_is_stopped() {
    let pod = load_pod("04-exit143-sigterm-rollout.pod.json");
    let events = load_events("04-exit143-sigterm-rollout.events.json");
    let records = records_of(&pod, &events);
    let record = find(&records, "orders", 0);
    let cause = diagnose_with(record, &pod, None);

    assert_eq!(cause.kind, CauseKind::Stopped);
    assert!(cause.expected);
    assert_eq!(record.signal.as_deref(), Some("SIGTERM"));
    assert_evidence(&cause, "exit code 143 = 128 + 15 (SIGTERM)");
    assert_evidence(&cause, "Stopping container orders");
    assert_evidence(&cause, "Deleted pod: orders-64b5d7f9c8-7tq2w");
    assert_evidence(&cause, "pod deletion requested at");
    assert_evidence(
        &cause,
        "finished 4s after the stop request within terminationGracePeriodSeconds 30",
    );
    assert_eq!(cause.key_line, None);
}

#[test]
fn rollout_stop_without_phase() {
    let mut pod = load_pod("04-exit143-sigterm-rollout.pod.json");
    pod.status.as_mut().unwrap().phase = Some("Running".to_owned());
    let events = load_events("04-exit143-sigterm-rollout.events.json");
    let records = records_of(&pod, &events);
    let cause = diagnose_with(find(&records, "orders", 0), &pod, None);

    assert_eq!(cause.kind, CauseKind::Stopped);
    assert!(cause.expected);
}

#[test]
fn segfault_at_start_without_log() {
    let pod = load_pod("05-exit139-segfault.json");
    let mut records = records_of(&pod, &[]);
    assert_eq!(records.len(), 2);
    for record in &mut records {
        record.log_tail = parse_log(&read("05-exit139-segfault.previous.log"));
        record.log_source = Some(LogSource::ApiPrevious);
    }

    for record in &records {
        let cause = diagnose_with(record, &pod, None);
        assert_eq!(cause.kind, CauseKind::Crashed, "#{}", record.restart_count);
        assert!(!cause.expected);
        assert_eq!(record.signal.as_deref(), Some("SIGSEGV"));
        assert_evidence(&cause, "exit code 139 = 128 + 11 (SIGSEGV)");
        assert_evidence(&cause, "no log output");
        assert_eq!(cause.key_line, None);
        assert!(
            cause.summary.contains("segmentation fault"),
            "{}",
            cause.summary
        );
    }
}

#[test]
fn init_container_termination_message() {
    let pod = load_pod("08-init-crashloop-termination-message.json");
    let records = records_of(&pod, &[]);
    assert!(
        records.iter().all(|record| record.container == "init"),
        "the main container never ran, so it has no record"
    );
    let record = find(&records, "init", 16);
    let cause = diagnose_with(record, &pod, None);

    assert_eq!(cause.kind, CauseKind::AppError);
    assert!(!cause.expected);
    assert_eq!(record.container_kind, ContainerKind::Init);
    assert_eq!(record.signal, None);
    assert_evidence(&cause, "exit code 1");
    assert_evidence(
        &cause,
        "termination message: Failed to fetch /opt/app/conf/config.yml. statusCode=403",
    );
    assert_eq!(
        cause.key_line.as_deref(),
        Some("Failed to fetch /opt/app/conf/config.yml. statusCode=403")
    );
}

#[test]
fn exit_127_key_line_on_stderr() {
    let pod = load_pod("09-exit127-command-not-found.json");
    let mut records = records_of(&pod, &[]);
    let record = records
        .iter_mut()
        .find(|record| record.container == "db")
        .unwrap();
    record.log_tail = parse_log(&read("09-exit127-command-not-found.previous.log"));
    record.log_source = Some(LogSource::ApiPrevious);
    let cause = diagnose_with(record, &pod, None);

    assert_eq!(cause.kind, CauseKind::CommandNotFound);
    assert!(!cause.expected);
    assert_eq!(record.signal, None);
    assert_evidence(&cause, "exit code 127");
    assert_eq!(
        cause.key_line.as_deref(),
        Some("/entrypoint.sh: line 51: exec: : not found")
    );
    assert_no_evidence(&cause, "SIG");
}

#[test]
fn start_error_with_empty_command() {
    let pod = load_pod("11-starterror-exit128.json");
    let records = records_of(&pod, &[]);
    let record = find(&records, "connect", 4);
    let cause = diagnose_with(record, &pod, None);

    assert_eq!(cause.kind, CauseKind::StartFailed);
    assert!(!cause.expected);
    assert_eq!(record.signal, None);
    assert_eq!(record.started_at, None);
    assert!(
        cause.summary.contains("command is an empty string"),
        "{}",
        cause.summary
    );
    assert_evidence(&cause, "exit code 128");
    assert_evidence(&cause, "no start time: the process never ran");
    assert_no_evidence(&cause, "ran ");
    assert_no_evidence(&cause, "128 + ");
}

#[test]
fn start_error_variants_decoded() {
    let pod = load_pod("11-starterror-exit128.json");
    let records = records_of(&pod, &[]);
    let table = [
        (
            "failed to create containerd task: OCI runtime create failed: exec: \"/docker_entrypoint.sh\": permission denied: unknown",
            "not executable",
        ),
        (
            "failed to create containerd task: OCI runtime create failed: runc create failed: error during container init: mkdir /src: not a directory: unknown",
            "mount target",
        ),
        (
            "OCI runtime create failed: exec: \"/app/run\": stat /app/run: no such file or directory: unknown",
            "missing from the image",
        ),
    ];
    for (message, expected) in table {
        let mut record = find(&records, "connect", 4).clone();
        record.message = Some(message.to_owned());
        let cause = diagnose_with(&record, &pod, None);
        assert_eq!(cause.kind, CauseKind::StartFailed, "{message}");
        assert!(
            cause.summary.contains(expected),
            "{message}: {}",
            cause.summary
        );
    }
}

#[test]
fn job_backoff_limit_names_job() {
    let pods = load_pods("13-job-backofflimit.pods.json");
    let job = load_job("13-job-backofflimit.job.json");
    let events = load_events("13-job-backofflimit.events.json");
    assert_eq!(pods.len(), 5);

    for pod in &pods {
        let records = records_of(pod, &events);
        let record = find(&records, "report", 0);
        let cause = diagnose_with(record, pod, Some(&job));
        assert_eq!(cause.kind, CauseKind::AppError, "{}", record.pod);
        assert!(!cause.expected);
        assert_eq!(record.signal, None);
        assert_evidence(
            &cause,
            "Job nightly-report failed: BackoffLimitExceeded (Job has reached the specified backoff limit)",
        );
        assert_eq!(
            cause.summary,
            "Job nightly-report failed because its pods kept exiting with code 1"
        );
    }
}

#[test]
fn eviction_outranks_placeholder_137() {
    let pod = load_pod("15-evicted-memory-pressure.pod.json");
    let events = load_events("15-evicted-memory-pressure.events.json");
    let records = records_of(&pod, &events);
    assert_eq!(
        records.len(),
        2,
        "one instance per container was running at the eviction"
    );

    for record in &records {
        let cause = diagnose_with(record, &pod, None);
        let label = format!("{} #{}", record.container, record.restart_count);
        assert_eq!(cause.kind, CauseKind::Evicted, "{label}");
        assert!(!cause.expected, "{label}");
        assert_eq!(record.signal, None, "{label}");
        assert!(
            cause.summary.contains("low on memory"),
            "{label}: {}",
            cause.summary
        );
        assert_evidence(&cause, "pod reason Evicted");
        assert_evidence(&cause, "DisruptionTarget reason TerminationByKubelet");
        assert_evidence(&cause, "node was low on memory");
        assert_evidence(&cause, "eviction threshold 100Mi, available 87608Ki");
        assert_evidence(
            &cause,
            "container controller was using 48458972Ki of memory, request 15Gi",
        );
        assert_evidence(
            &cause,
            "exit code 137 is a placeholder written by kubelet, not an observed SIGKILL",
        );
        assert_evidence(&cause, "event ExceededGracePeriod");
        assert_no_evidence(&cause, "128 + 9");
        assert_no_evidence(&cause, "1970");
        assert_no_evidence(&cause, "ran ");
    }

    let proxy = diagnose_with(find(&records, "proxy", 1), &pod, None);
    assert_evidence(
        &proxy,
        "container proxy is not named in the eviction message",
    );
    let controller = diagnose_with(find(&records, "controller", 1), &pod, None);
    assert_no_evidence(&controller, "is not named");
}

#[test]
fn placeholder_without_pod_end() {
    let mut pod = load_pod("15-evicted-memory-pressure.pod.json");
    let status = pod.status.as_mut().unwrap();
    status.reason = None;
    status.message = None;
    status.conditions = None;
    let mut records = records_of(&pod, &[]);
    for record in &mut records {
        record.pod_reason = None;
        record.pod_message = None;
    }
    let cause = diagnose_with(find(&records, "controller", 1), &pod, None);

    assert_eq!(cause.kind, CauseKind::StatusUnknown);
    assert_evidence(
        &cause,
        "exit code 137 is a placeholder written by kubelet, not an observed SIGKILL",
    );
    assert_no_evidence(&cause, "SIGKILL)");
}

#[test]
fn node_shutdown_clean_exit() {
    let pods = load_pods("17-node-shutdown.json");
    let pod = &pods[0];
    let records = records_of(pod, &[]);
    let record = find(&records, "nginx", 0);
    let cause = diagnose_with(record, pod, None);

    assert_eq!(cause.kind, CauseKind::NodeShutdown);
    assert!(!cause.expected);
    assert_eq!(record.signal, None);
    assert_evidence(
        &cause,
        "pod reason Terminated: Pod was terminated in response to imminent node shutdown.",
    );
    assert_evidence(&cause, "DisruptionTarget reason TerminationByKubelet");
    assert!(
        cause.summary.contains("did not finish its work"),
        "{}",
        cause.summary
    );
}

#[test]
fn node_shutdown_restarted_after_reboot() {
    let pods = load_pods("17-node-shutdown.json");
    let pod = &pods[1];
    let records = records_of(pod, &[]);
    let record = find(&records, "nginx", 0);
    let cause = diagnose_with(record, pod, None);

    assert_eq!(cause.kind, CauseKind::NodeShutdown);
    assert!(!cause.expected);
    assert_eq!(record.signal, None);
    assert!(
        cause.summary.contains("state lost across node reboot"),
        "{}",
        cause.summary
    );
    assert!(
        cause.summary.contains("restarted after the node came back"),
        "{}",
        cause.summary
    );
    assert_evidence(&cause, "pod status is contradictory");
    assert_evidence(&cause, "exit code 255 with reason Unknown");
}

#[test]
fn older_shutdown_wording_accepted() {
    let pods = load_pods("17-node-shutdown.json");
    let mut pod = pods[0].clone();
    let status = pod.status.as_mut().unwrap();
    status.reason = Some("Shutdown".to_owned());
    status.message = Some("Node is shutting, evicting pods".to_owned());
    status.conditions = None;
    let records = records_of(&pod, &[]);
    let cause = diagnose_with(find(&records, "nginx", 0), &pod, None);

    assert_eq!(cause.kind, CauseKind::NodeShutdown);
}

#[test]
fn scheduler_preemption_outranks_exit() {
    let pods = load_pods("19-preempted.json");
    let pod = &pods[0];
    let records = records_of(pod, &[]);
    let record = find(&records, "worker", 0);
    let cause = diagnose_with(record, pod, None);

    assert_eq!(cause.kind, CauseKind::Preempted);
    assert!(!cause.expected);
    assert_eq!(record.signal.as_deref(), Some("SIGKILL"));
    assert!(
        cause.summary.contains("shop/batch-urgent"),
        "{}",
        cause.summary
    );
    assert_evidence(&cause, "DisruptionTarget reason PreemptionByKubeScheduler");
    assert_evidence(
        &cause,
        "finished 30s after the DisruptionTarget condition = terminationGracePeriodSeconds 30",
    );
    assert_no_evidence(&cause, "OOM");
}

#[test]
fn later_preemption_reason_accepted() {
    let pods = load_pods("19-preempted.json");
    let mut pod = pods[0].clone();
    let conditions = pod.status.as_mut().unwrap().conditions.as_mut().unwrap();
    conditions[0].reason = Some("PreemptionByScheduler".to_owned());
    let records = records_of(&pod, &[]);
    let cause = diagnose_with(find(&records, "worker", 0), &pod, None);

    assert_eq!(cause.kind, CauseKind::Preempted);
}

#[test]
fn kubelet_preemption_without_statuses() {
    let pods = load_pods("19-preempted.json");
    let pod = &pods[1];
    let records = records_of(pod, &[]);
    assert_eq!(records.len(), 1);
    let record = &records[0];
    let cause = diagnose_with(record, pod, None);

    assert_eq!(record.exit_code, None);
    assert_eq!(cause.kind, CauseKind::Preempted);
    assert!(!cause.expected);
    assert!(cause.summary.contains("critical pod"), "{}", cause.summary);
    assert!(
        cause.summary.contains("no container exit information"),
        "{}",
        cause.summary
    );
    assert_evidence(
        &cause,
        "pod reason Preempting: Preempted in order to admit critical pod",
    );
}

#[test]
fn sidecar_startup_probe_exit_zero() {
    let pods = load_pods("20-native-sidecar.pods.json");
    let events = load_events("20-native-sidecar.events.json");
    let pod = &pods[0];
    let records = records_of(pod, &events);
    assert!(
        records
            .iter()
            .all(|record| record.container == "otel-collector")
    );
    let record = find(&records, "otel-collector", 5);
    let cause = diagnose_with(record, pod, None);

    assert_eq!(record.container_kind, ContainerKind::Sidecar);
    assert_eq!(cause.kind, CauseKind::StartupProbe);
    assert!(!cause.expected);
    assert_eq!(record.signal, None);
    assert_evidence(
        &cause,
        "event Unhealthy (x36): Startup probe failed: cat: can't open '/tmp/otel-ready'",
    );
    assert_evidence(
        &cause,
        "event Killing (x6): Container otel-collector failed startup probe, will be restarted",
    );
    assert!(
        cause.summary.contains("exited 0 on SIGTERM"),
        "{}",
        cause.summary
    );
}

#[test]
fn sidecar_stopped_at_job_completion() {
    let pods = load_pods("20-native-sidecar.pods.json");
    let pod = &pods[1];
    let records = records_of(pod, &[]);
    let proxy = find(&records, "proxy", 0);
    let cause = diagnose_with(proxy, pod, None);

    assert_eq!(proxy.container_kind, ContainerKind::Sidecar);
    assert_eq!(cause.kind, CauseKind::Stopped);
    assert!(cause.expected);
    assert_eq!(proxy.signal.as_deref(), Some("SIGTERM"));
    assert_evidence(&cause, "sidecar stopped after the main containers finished");

    let task = diagnose_with(find(&records, "task", 0), pod, None);
    assert_eq!(task.kind, CauseKind::Completed);
    assert!(task.expected);
}

#[test]
fn fallback_message_from_log() {
    let pod = load_pod("21-fallback-to-logs.json");
    let records = records_of(&pod, &[]);
    let mut record = find(&records, "plugin", 3).clone();
    let cause = diagnose_with(&record, &pod, None);

    assert_eq!(cause.kind, CauseKind::AppError);
    assert!(!cause.expected);
    assert_eq!(record.signal, None);
    assert_eq!(record.message.as_ref().map(String::len), Some(2048));
    assert_evidence(
        &cause,
        "termination message taken from the log (FallbackToLogsOnError)",
    );
    assert_no_evidence(&cause, "ls)\" err=");
    let key_line = cause.key_line.clone().unwrap();
    assert!(
        key_line.contains("\"Giving up after 7 failed health checks\" exitCode=1"),
        "{key_line}"
    );
    assert!(!cause.summary.contains("ls)\" err="), "{}", cause.summary);

    record.log_tail = parse_log(&read("21-fallback-to-logs.previous.log"));
    record.log_source = Some(LogSource::ApiPrevious);
    let with_log = diagnose_with(&record, &pod, None);
    let key_line = with_log.key_line.unwrap();
    assert!(key_line.starts_with("E0924 10:15:08.899981"), "{key_line}");
    assert!(
        key_line.contains("Giving up after 7 failed health checks"),
        "{key_line}"
    );
}

#[test]
fn message_matches_log_tail() {
    let pod = load_pod("21-fallback-to-logs.json");
    let records = records_of(&pod, &[]);
    let record = find(&records, "plugin", 3);
    let lines = parse_log(&read("21-fallback-to-logs.previous.log"));
    let start = lines.len().saturating_sub(80);
    let decoded: String = lines[start..]
        .iter()
        .map(|line| format!("{}\n", line.text))
        .collect();
    let tail = &decoded.as_bytes()[decoded.len() - 2048..];

    assert_eq!(record.message.as_deref().map(str::as_bytes), Some(tail));
}

#[test]
fn klog_fatal_exit_255() {
    let pod = load_pod("24-rotated-logs.pod.json");
    let mut records = records_of(&pod, &[]);
    let record = records
        .iter_mut()
        .find(|record| record.container == "app")
        .unwrap();
    let folder = "24-rotated-logs/var/log/pods/shop_app-1-6d4cf56db6-abcde_47f1c77c-3904-55bd-bfa1-eceeeefb59e2/app/0.log";
    record.log_tail = parse_log(&read(folder));
    record.log_source = Some(LogSource::NodeFile);
    let cause = diagnose_with(record, &pod, None);

    assert_eq!(record.restart_count, 0);
    assert_eq!(cause.kind, CauseKind::AppError);
    assert!(!cause.expected);
    assert_eq!(record.signal, None);
    assert_evidence(&cause, "exit code 255 is not a signal");
    let key_line = cause.key_line.unwrap();
    assert!(key_line.starts_with("F0626 11:31:40"), "{key_line}");
    assert!(
        key_line.contains(
            "queue connection lost: dial tcp 10.96.0.50:5672: connect: connection refused"
        ),
        "{key_line}"
    );
}

#[test]
fn node_only_instance_quotes_message() {
    let pod = load_pod("28-termination-log-files.pod.json");
    let records = records_of(&pod, &[]);
    let mut record = find(&records, "app", 1).clone();
    let file = "28-termination-log-files/var/lib/kubelet/pods/fbf38fae-793a-5182-b399-85c3f69c8cd7/containers/app/3f9a1c07";
    record.restart_count = 0;
    record.exit_code = None;
    record.signal = None;
    record.reason = None;
    record.started_at = None;
    record.finished_at = None;
    record.container_id = None;
    record.message = Some(String::from_utf8(read(file)).unwrap());
    record.source = Source::Node;
    let cause = diagnose(&record, &Context::default());

    assert_eq!(cause.kind, CauseKind::Unknown);
    assert!(!cause.expected);
    assert!(
        cause
            .summary
            .contains("config validation failed: missing required key DB_HOST"),
        "{}",
        cause.summary
    );
    assert_eq!(
        cause.key_line.as_deref(),
        Some("config validation failed: missing required key DB_HOST")
    );
}

#[test]
fn oom_and_completed_init_of_node_case() {
    let pod = load_pod("28-termination-log-files.pod.json");
    let records = records_of(&pod, &[]);

    let app = diagnose_with(find(&records, "app", 1), &pod, None);
    assert_eq!(app.kind, CauseKind::OomKilled);
    assert_evidence(&app, "memory limit 256Mi");

    let init = diagnose_with(find(&records, "wait-for-db", 0), &pod, None);
    assert_eq!(init.kind, CauseKind::Completed);
    assert!(init.expected);
}

#[test]
fn exit_zero_under_always_restarts() {
    let pod = load_pod("29-exit0-crashloop.json");
    let records = records_of(&pod, &[]);
    let record = find(&records, "tools", 6);
    let cause = diagnose_with(record, &pod, None);

    assert_eq!(cause.kind, CauseKind::CompletedButRestarted);
    assert!(!cause.expected);
    assert_eq!(record.signal, None);
    assert_evidence(&cause, "restartPolicy Always");
    assert!(
        cause.summary.contains("meant to run forever"),
        "{}",
        cause.summary
    );
}

#[test]
fn go_panic_in_partial_cri_log() {
    let lines = parse_log(&read("22-cri-containerd-partial-lines.log"));
    let key_line = find_key_line(&lines).unwrap();

    assert_eq!(
        key_line.text,
        "panic: runtime error: invalid memory address or nil pointer dereference"
    );
    assert_eq!(key_line.kind, KeyLineKind::GoPanic);
    assert_eq!(lines[key_line.index].stream, Stream::Stderr);
}
