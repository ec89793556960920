//! End-to-end tests over the real cases: `podmortem analyze -o json` on each case's pods,
//! events, jobs, logs and node folders must report the instance, exit code, signal and cause
//! the case describes.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use common::{case_path, node_case};

/// Runs `podmortem analyze -o json` on the inputs and returns the parsed records.
fn analyze(inputs: &[PathBuf]) -> Vec<Value> {
    let output = Command::new(env!("CARGO_BIN_EXE_podmortem"))
        .arg("analyze")
        .args(inputs)
        .args(["-o", "json"])
        .output()
        .expect("run podmortem");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "analyze {inputs:?} failed: {stderr}"
    );
    let records: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("analyze {inputs:?} printed invalid JSON: {error}"));
    records.as_array().expect("a JSON array").clone()
}

fn cases(names: &[&str]) -> Vec<PathBuf> {
    names.iter().map(|name| case_path(name)).collect()
}

/// Returns the one record of this pod, container and restart number.
fn record<'a>(records: &'a [Value], pod: &str, container: &str, restart: u64) -> &'a Value {
    let found: Vec<&Value> = records
        .iter()
        .filter(|record| {
            record["pod"] == pod
                && record["container"] == container
                && record["restart_count"] == restart
        })
        .collect();
    assert_eq!(
        found.len(),
        1,
        "records of {pod}/{container} #{restart} in {records:#?}"
    );
    found[0]
}

fn kind(record: &Value) -> &str {
    record["cause"]["kind"].as_str().unwrap_or_default()
}

fn expected(record: &Value) -> bool {
    record["cause"]["expected"]
        .as_bool()
        .expect("cause.expected is a boolean")
}

/// Returns the evidence items joined into one text, for checks that a fact is named.
fn evidence(record: &Value) -> String {
    let items = record["cause"]["evidence"]
        .as_array()
        .expect("cause.evidence is an array");
    items
        .iter()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join("\n")
}

fn key_line(record: &Value) -> Option<&str> {
    record["cause"]["key_line"].as_str()
}

/// Lays out a case's `.previous.log` as `<N>.log` of the pod's folder under `var/log/pods`
/// in a new node root, the way kubelet names it.
fn node_with_log(
    log: &str,
    namespace: &str,
    pod: &str,
    uid: &str,
    container: &str,
    restart: u32,
) -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("create a temporary folder");
    let folder = root
        .path()
        .join(format!("var/log/pods/{namespace}_{pod}_{uid}/{container}"));
    std::fs::create_dir_all(&folder).expect("create the pod log folder");
    std::fs::copy(case_path(log), folder.join(format!("{restart}.log"))).expect("copy the log");
    root
}

fn pod_uid(file: &str, pod: &str) -> String {
    let value: Value = serde_json::from_slice(&std::fs::read(case_path(file)).unwrap()).unwrap();
    let pods = match value.get("items") {
        Some(items) => items.as_array().unwrap().clone(),
        None => vec![value],
    };
    let found = pods
        .iter()
        .find(|item| item["metadata"]["name"] == pod)
        .expect("pod in case file");
    found["metadata"]["uid"].as_str().unwrap().to_owned()
}

fn with_root(mut inputs: Vec<PathBuf>, root: &Path) -> Vec<PathBuf> {
    inputs.push(root.to_path_buf());
    inputs
}

#[test]
fn oom_kill_with_memory_limit() {
    let records = analyze(&cases(&["01-oomkilled-memory-limit.json"]));
    let api = record(&records, "api-7d9f8c6b5d-x2k4q", "api", 2);
    assert_eq!(api["exit_code"], 137);
    assert_eq!(api["signal"], "SIGKILL");
    assert_eq!(api["reason"], "OOMKilled");
    assert_eq!(kind(api), "oom_killed");
    assert!(
        evidence(api).contains("4Gi"),
        "memory limit named: {}",
        evidence(api)
    );
    assert!(!expected(api));
    assert_eq!(api["started_at"], "2024-02-07T10:47:49Z");
    assert_eq!(api["finished_at"], "2024-02-07T15:15:11Z");
    assert!(api["pod_reason"].is_null());
}

#[test]
fn liveness_kill_is_not_oom() {
    let inputs = cases(&[
        "02-exit137-liveness-kill.pod.json",
        "02-exit137-liveness-kill.events.json",
    ]);
    let records = analyze(&inputs);
    let web = record(&records, "web-5c7f9d8b44-qq8ld", "web", 0);
    assert_eq!(web["exit_code"], 137);
    assert_eq!(web["signal"], "SIGKILL");
    assert_eq!(kind(web), "liveness_probe");
    let evidence = evidence(web);
    assert!(evidence.contains("Liveness probe failed"), "{evidence}");
    assert!(
        evidence.contains("failed liveness probe, will be restarted"),
        "{evidence}"
    );
    assert!(evidence.contains("10s"), "grace period named: {evidence}");
    assert!(
        !evidence.contains("512Mi"),
        "memory limit must not be blamed: {evidence}"
    );
    assert!(
        web["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|event| event["reason"] == "Unhealthy" && event["count"] == 3)
    );
}

#[test]
fn exit_137_without_events_is_not_oom() {
    let records = analyze(&cases(&["02-exit137-liveness-kill.pod.json"]));
    let web = record(&records, "web-5c7f9d8b44-qq8ld", "web", 0);
    assert_eq!(kind(web), "killed");
    assert_ne!(kind(web), "oom_killed");
}

#[test]
fn sigterm_during_rollout_is_stopped() {
    let inputs = cases(&[
        "04-exit143-sigterm-rollout.pod.json",
        "04-exit143-sigterm-rollout.events.json",
    ]);
    let records = analyze(&inputs);
    let orders = record(&records, "orders-64b5d7f9c8-7tq2w", "orders", 0);
    assert_eq!(orders["exit_code"], 143);
    assert_eq!(orders["signal"], "SIGTERM");
    assert_eq!(kind(orders), "stopped");
    assert!(expected(orders));
    assert!(
        evidence(orders).contains("Stopping container orders"),
        "{}",
        evidence(orders)
    );
}

#[test]
fn segfault_at_startup_with_empty_log() {
    let uid = pod_uid("05-exit139-segfault.json", "operator-6c9b7d5f4-r8n2v");
    let root = node_with_log(
        "05-exit139-segfault.previous.log",
        "shop",
        "operator-6c9b7d5f4-r8n2v",
        &uid,
        "operator",
        2,
    );
    let records = analyze(&with_root(
        cases(&["05-exit139-segfault.json"]),
        root.path(),
    ));
    for restart in [1, 2] {
        let operator = record(&records, "operator-6c9b7d5f4-r8n2v", "operator", restart);
        assert_eq!(operator["exit_code"], 139);
        assert_eq!(operator["signal"], "SIGSEGV");
        assert_eq!(kind(operator), "crashed");
        assert_eq!(key_line(operator), None);
    }
    let latest = record(&records, "operator-6c9b7d5f4-r8n2v", "operator", 2);
    let text = format!("{} {}", latest["cause"]["summary"], evidence(latest));
    assert!(text.contains("no log output"), "{text}");
}

#[test]
fn init_container_crash_loop_with_message() {
    let records = analyze(&cases(&["08-init-crashloop-termination-message.json"]));
    assert_eq!(
        records.len(),
        1,
        "the main container never ran: {records:#?}"
    );
    let init = record(&records, "cfg-app-5d8c7b6f9-h2k8s", "init", 16);
    assert_eq!(init["container_kind"], "init");
    assert_eq!(init["exit_code"], 1);
    assert!(init["signal"].is_null());
    assert_eq!(kind(init), "app_error");
    assert_eq!(
        init["message"],
        "Failed to fetch /opt/app/conf/config.yml. statusCode=403"
    );
}

#[test]
fn exit_127_key_line_is_the_stderr_error() {
    let uid = pod_uid("09-exit127-command-not-found.json", "db-0");
    let root = node_with_log(
        "09-exit127-command-not-found.previous.log",
        "shop",
        "db-0",
        &uid,
        "db",
        10,
    );
    let records = analyze(&with_root(
        cases(&["09-exit127-command-not-found.json"]),
        root.path(),
    ));
    let db = record(&records, "db-0", "db", 10);
    assert_eq!(db["exit_code"], 127);
    assert!(db["signal"].is_null());
    assert_eq!(kind(db), "command_not_found");
    assert_eq!(
        key_line(db),
        Some("/entrypoint.sh: line 51: exec: : not found")
    );
    assert_eq!(db["log_source"], "node_file");
    assert_eq!(db["log_tail"].as_array().unwrap().len(), 4);
}

#[test]
fn start_error_has_no_signal_or_uptime() {
    let records = analyze(&cases(&["11-starterror-exit128.json"]));
    let connect = record(&records, "connect-0", "connect", 4);
    assert_eq!(connect["exit_code"], 128);
    assert!(connect["signal"].is_null());
    assert!(connect["started_at"].is_null());
    assert_eq!(kind(connect), "start_failed");
    assert!(
        connect["message"]
            .as_str()
            .unwrap()
            .contains("executable file not found in $PATH")
    );
}

#[test]
fn job_pods_linked_to_failed_job() {
    let inputs = cases(&[
        "13-job-backofflimit.job.json",
        "13-job-backofflimit.pods.json",
        "13-job-backofflimit.events.json",
    ]);
    let records = analyze(&inputs);
    assert_eq!(records.len(), 5);
    for job_pod in &records {
        assert_eq!(job_pod["container"], "report");
        assert_eq!(job_pod["restart_count"], 0);
        assert_eq!(job_pod["exit_code"], 1);
        assert_eq!(kind(job_pod), "app_error");
        assert_eq!(job_pod["owner"]["kind"], "Job");
        assert_eq!(job_pod["owner"]["name"], "nightly-report");
        assert!(
            evidence(job_pod).contains("BackoffLimitExceeded"),
            "{}",
            evidence(job_pod)
        );
    }
}

#[test]
fn eviction_placeholder_137_is_not_oom() {
    let inputs = cases(&[
        "15-evicted-memory-pressure.pod.json",
        "15-evicted-memory-pressure.events.json",
    ]);
    let records = analyze(&inputs);
    // kubelet wrote two placeholders for the one instance that was running at the eviction and
    // counted a restart for it, so each container has one record, with the number it ran as.
    assert_eq!(records.len(), 2, "{records:#?}");
    for container in &records {
        assert_eq!(kind(container), "evicted", "{container:#?}");
        assert_eq!(container["exit_code"], 137);
        assert!(
            container["signal"].is_null(),
            "placeholder 137 is no observed SIGKILL"
        );
        assert!(container["started_at"].is_null());
        assert!(container["finished_at"].is_null());
        assert_eq!(container["pod_reason"], "Evicted");
    }
    let controller = record(&records, "controller-77ffc657cf-4z7wb", "controller", 1);
    assert!(
        evidence(controller).contains("48458972Ki"),
        "{}",
        evidence(controller)
    );
    assert!(
        evidence(controller).contains("15Gi"),
        "{}",
        evidence(controller)
    );
}

#[test]
fn node_shutdown_outranks_clean_exit() {
    let records = analyze(&cases(&["17-node-shutdown.json"]));
    let stopped = record(&records, "web-66b6c48dd5-bchnh", "nginx", 0);
    assert_eq!(stopped["exit_code"], 0);
    assert_eq!(kind(stopped), "node_shutdown");
    let rebooted = record(&records, "web-66b6c48dd5-2pw4q", "nginx", 0);
    assert_eq!(rebooted["exit_code"], 255);
    assert!(rebooted["signal"].is_null());
    assert_eq!(kind(rebooted), "node_shutdown");
    assert!(
        evidence(rebooted).contains("contradict"),
        "{}",
        evidence(rebooted)
    );
}

#[test]
fn preemption_by_scheduler_and_kubelet() {
    let records = analyze(&cases(&["19-preempted.json"]));
    let worker = record(&records, "batch-worker-0", "worker", 0);
    assert_eq!(worker["exit_code"], 137);
    assert_eq!(kind(worker), "preempted");
    let executor = record(&records, "spark-exec-12", "executor", 0);
    assert!(executor["exit_code"].is_null());
    assert_eq!(kind(executor), "preempted");
    assert_eq!(executor["pod_reason"], "Preempting");
}

#[test]
fn native_sidecar_probe_and_shutdown() {
    let inputs = cases(&[
        "20-native-sidecar.pods.json",
        "20-native-sidecar.events.json",
    ]);
    let records = analyze(&inputs);
    let collector = record(&records, "reservation-7d4b9c8f6-t5v2n", "otel-collector", 5);
    assert_eq!(collector["container_kind"], "sidecar");
    assert_eq!(collector["exit_code"], 0);
    assert_eq!(kind(collector), "startup_probe");
    assert!(!expected(collector));
    assert!(
        !records
            .iter()
            .any(|record| record["container"] == "reservation")
    );

    let proxy = record(&records, "ci-job-1771-8kq2f", "proxy", 0);
    assert_eq!(proxy["exit_code"], 143);
    assert_eq!(kind(proxy), "stopped");
    assert!(expected(proxy));
    let task = record(&records, "ci-job-1771-8kq2f", "task", 0);
    assert_eq!(kind(task), "completed");
    assert!(expected(task));
}

#[test]
fn fallback_to_logs_key_line() {
    let pod = "storage-controller-55c6c84c5f-c48nn";
    let uid = pod_uid("21-fallback-to-logs.json", pod);
    let root = node_with_log(
        "21-fallback-to-logs.previous.log",
        "kube-system",
        pod,
        &uid,
        "plugin",
        3,
    );
    for inputs in [
        cases(&["21-fallback-to-logs.json"]),
        with_root(cases(&["21-fallback-to-logs.json"]), root.path()),
    ] {
        let records = analyze(&inputs);
        let plugin = record(&records, pod, "plugin", 3);
        assert_eq!(plugin["exit_code"], 1);
        assert_eq!(kind(plugin), "app_error");
        let line = key_line(plugin).unwrap_or_default();
        assert!(
            line.contains("\"Giving up after 7 failed health checks\" exitCode=1"),
            "key line {line:?}"
        );
    }
}

#[test]
fn rotated_logs_joined_with_pod() {
    let root = node_case("24-rotated-logs");
    let records = analyze(&with_root(
        cases(&["24-rotated-logs.pod.json"]),
        root.path(),
    ));
    let app = record(&records, "app-1-6d4cf56db6-abcde", "app", 0);
    assert_eq!(app["exit_code"], 255);
    assert!(app["signal"].is_null());
    assert_eq!(kind(app), "app_error");
    assert_eq!(app["log_source"], "node_file");
    let line = key_line(app).unwrap_or_default();
    assert!(line.starts_with("F0626 11:31:40"), "key line {line:?}");
    assert!(
        line.contains(
            "queue connection lost: dial tcp 10.96.0.50:5672: connect: connection refused"
        )
    );
    assert!(
        !records.iter().any(|record| record["restart_count"] == 1),
        "instance 1 is running"
    );
}

#[test]
fn termination_file_outlives_the_api() {
    let root = node_case("28-termination-log-files");
    let records = analyze(&with_root(
        cases(&["28-termination-log-files.pod.json"]),
        root.path(),
    ));
    let pod = "config-svc-6b7c8d9e0f-lmn34";

    let first = record(&records, pod, "app", 0);
    assert!(first["exit_code"].is_null());
    let message = first["message"].as_str().map(str::trim_end);
    assert_eq!(
        message,
        Some("config validation failed: missing required key DB_HOST")
    );
    assert_eq!(first["source"], "node");
    assert!(
        first["termination_message_file"]
            .as_str()
            .unwrap()
            .ends_with("/3f9a1c07")
    );

    let second = record(&records, pod, "app", 1);
    assert_eq!(second["exit_code"], 137);
    assert_eq!(kind(second), "oom_killed");
    assert!(evidence(second).contains("256Mi"), "{}", evidence(second));
    assert!(second["message"].is_null());

    let init = record(&records, pod, "wait-for-db", 0);
    assert_eq!(kind(init), "completed");
    assert!(expected(init));
    assert!(
        !records
            .iter()
            .any(|record| record["container"] == "app" && record["restart_count"] == 2)
    );
}

#[test]
fn exit_zero_under_restart_always() {
    let records = analyze(&cases(&["29-exit0-crashloop.json"]));
    let tools = record(&records, "tools-6846f658db-w4qhj", "tools", 6);
    assert_eq!(tools["exit_code"], 0);
    assert_eq!(tools["reason"], "Completed");
    assert_eq!(kind(tools), "completed_but_restarted");
    assert!(!expected(tools));
}

#[test]
fn json_fields_match_the_data_model() {
    let records = analyze(&cases(&["01-oomkilled-memory-limit.json"]));
    let fields: Vec<&str> = records[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for field in [
        "id",
        "cluster",
        "namespace",
        "pod",
        "pod_uid",
        "node",
        "owner",
        "container",
        "container_kind",
        "image",
        "container_id",
        "restart_count",
        "exit_code",
        "signal",
        "reason",
        "message",
        "started_at",
        "finished_at",
        "cause",
        "log_tail",
        "log_truncated",
        "log_source",
        "events",
        "pod_reason",
        "pod_message",
        "source",
        "observed_at",
        "missed_before",
    ] {
        assert!(
            fields.contains(&field),
            "field `{field}` missing from {fields:?}"
        );
    }
    let cause: Vec<&str> = records[0]["cause"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for field in ["kind", "summary", "evidence", "key_line", "expected"] {
        assert!(
            cause.contains(&field),
            "cause field `{field}` missing from {cause:?}"
        );
    }
}
