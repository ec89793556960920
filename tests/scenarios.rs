//! End-to-end tests over realistic inputs built in the test: exits and input forms that the
//! real cases do not cover, run through `podmortem analyze -o json`.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

fn analyze_paths(paths: &[&Path]) -> (Vec<Value>, String, bool) {
    let output = Command::new(env!("CARGO_BIN_EXE_podmortem"))
        .arg("analyze")
        .args(paths)
        .args(["-o", "json"])
        .output()
        .expect("run podmortem");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let records: Vec<Value> = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("invalid JSON ({error}); stderr: {stderr}"));
    (records, stderr, output.status.success())
}

/// Writes the objects as one JSON file in a new temporary folder and analyses it.
fn analyze_objects(objects: &Value) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("objects.json");
    std::fs::write(&path, serde_json::to_vec_pretty(objects).unwrap()).unwrap();
    let (records, stderr, success) = analyze_paths(&[&path]);
    assert!(success, "analyze failed: {stderr}");
    records
}

fn list(items: Vec<Value>) -> Value {
    json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items})
}

/// Builds a pod of a Deployment with one container `app` whose status is `container_status`.
fn pod(name: &str, spec_extra: Value, container_status: Value) -> Value {
    let mut spec = json!({
        "nodeName": "node-7",
        "restartPolicy": "Always",
        "terminationGracePeriodSeconds": 30,
        "containers": [{
            "name": "app",
            "image": "registry.example/app:1.0",
            "resources": {"limits": {"memory": "512Mi"}, "requests": {"memory": "256Mi"}},
            "terminationMessagePath": "/dev/termination-log",
            "terminationMessagePolicy": "File"
        }]
    });
    merge(&mut spec, spec_extra);
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "web",
            "uid": format!("00000000-0000-4000-8000-{:012}", name.len()),
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "app-5d4f8b7c9", "uid": "11111111-0000-4000-8000-000000000001", "controller": true}]
        },
        "spec": spec,
        "status": {"phase": "Running", "containerStatuses": [container_status]}
    })
}

fn merge(target: &mut Value, extra: Value) {
    if let (Some(target), Value::Object(extra)) = (target.as_object_mut(), extra) {
        for (key, value) in extra {
            target.insert(key, value);
        }
    }
}

/// Builds a container status with a running new instance and the dead one in `lastState`.
fn restarted(restart_count: u32, exit_code: i64, reason: &str, message: Option<&str>) -> Value {
    let mut terminated = json!({
        "exitCode": exit_code,
        "reason": reason,
        "startedAt": "2025-03-01T10:00:00Z",
        "finishedAt": "2025-03-01T10:05:00Z",
        "containerID": "containerd://aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
    });
    if let Some(message) = message {
        terminated["message"] = json!(message);
    }
    json!({
        "name": "app",
        "image": "registry.example/app:1.0",
        "imageID": "registry.example/app@sha256:0000",
        "ready": true,
        "started": true,
        "restartCount": restart_count,
        "containerID": "containerd://bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
        "state": {"running": {"startedAt": "2025-03-01T10:05:01Z"}},
        "lastState": {"terminated": terminated}
    })
}

fn event(pod: &Value, reason: &str, message: &str, at: &str, count: u32) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": format!("{}.{reason}", pod["metadata"]["name"].as_str().unwrap()), "namespace": "web"},
        "involvedObject": {
            "kind": "Pod", "namespace": "web",
            "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"],
            "fieldPath": "spec.containers{app}"
        },
        "reason": reason,
        "message": message,
        "type": if reason == "Killing" { "Normal" } else { "Warning" },
        "count": count,
        "firstTimestamp": at,
        "lastTimestamp": at,
        "source": {"component": "kubelet", "host": "node-7"}
    })
}

fn only(records: &[Value]) -> &Value {
    assert_eq!(records.len(), 1, "expected one record: {records:#?}");
    &records[0]
}

fn kind(record: &Value) -> &str {
    record["cause"]["kind"].as_str().unwrap()
}

fn evidence(record: &Value) -> String {
    let items = record["cause"]["evidence"].as_array().unwrap();
    items
        .iter()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn liveness_kill_with_graceful_exit() {
    let pod = pod("liveness-143", json!({}), restarted(4, 143, "Error", None));
    let events = vec![
        event(
            &pod,
            "Unhealthy",
            "Liveness probe failed: HTTP probe failed with statuscode: 500",
            "2025-03-01T10:04:30Z",
            3,
        ),
        event(
            &pod,
            "Killing",
            "Container app failed liveness probe, will be restarted",
            "2025-03-01T10:04:50Z",
            1,
        ),
    ];
    let mut items = vec![pod];
    items.extend(events);
    let records = analyze_objects(&list(items));
    let record = only(&records);
    assert_eq!(record["restart_count"], 3);
    assert_eq!(record["signal"], "SIGTERM");
    assert_eq!(kind(record), "liveness_probe");
}

#[test]
fn deleted_pod_killed_after_grace_period() {
    let mut pod = pod(
        "slow-stop",
        json!({"terminationGracePeriodSeconds": 30}),
        json!({
            "name": "app", "image": "registry.example/app:1.0", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": 137, "reason": "Error", "startedAt": "2025-03-01T09:00:00Z",
                "finishedAt": "2025-03-01T10:00:30Z", "containerID": "containerd://cccc"}}
        }),
    );
    pod["metadata"]["deletionTimestamp"] = json!("2025-03-01T10:00:30Z");
    pod["metadata"]["deletionGracePeriodSeconds"] = json!(30);
    let stop = event(
        &pod,
        "Killing",
        "Stopping container app",
        "2025-03-01T10:00:00Z",
        1,
    );
    let records = analyze_objects(&list(vec![pod, stop]));
    let record = only(&records);
    assert_eq!(kind(record), "killed_after_grace_period");
    assert_eq!(record["cause"]["expected"], false);
}

#[test]
fn placeholder_without_pod_reason_is_status_unknown() {
    let status = json!({
        "name": "app", "image": "registry.example/app:1.0", "imageID": "", "ready": false, "restartCount": 1,
        "state": {"running": {"startedAt": "2025-03-01T10:05:01Z"}},
        "lastState": {"terminated": {"exitCode": 137, "reason": "ContainerStatusUnknown",
            "message": "The container could not be located when the pod was deleted.  The container used to be Running",
            "startedAt": null, "finishedAt": null}}
    });
    let records = analyze_objects(&pod("lost", json!({}), status));
    let record = only(&records);
    assert_eq!(kind(record), "status_unknown");
    assert!(record["signal"].is_null());
    assert_ne!(kind(record), "oom_killed");
}

#[test]
fn active_deadline_exceeded_pod() {
    let mut pod = pod(
        "deadline",
        json!({"restartPolicy": "Never", "activeDeadlineSeconds": 60}),
        json!({
            "name": "app", "image": "registry.example/app:1.0", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": 137, "reason": "Error", "startedAt": "2025-03-01T10:00:00Z",
                "finishedAt": "2025-03-01T10:01:00Z", "containerID": "containerd://dddd"}}
        }),
    );
    pod["status"]["phase"] = json!("Failed");
    pod["status"]["reason"] = json!("DeadlineExceeded");
    pod["status"]["message"] =
        json!("Pod was active on the node longer than the specified deadline");
    let records = analyze_objects(&pod);
    assert_eq!(kind(only(&records)), "deadline_exceeded");
}

#[test]
fn node_oom_event_marks_probable_oom() {
    let pod = pod("node-oom", json!({}), restarted(1, 137, "Error", None));
    let node_event = json!({
        "apiVersion": "v1", "kind": "Event",
        "metadata": {"name": "node-7.oom", "namespace": "default"},
        "involvedObject": {"kind": "Node", "name": "node-7", "uid": "node-7"},
        "reason": "OOMKilling",
        "message": "Memory cgroup out of memory: Killed process 4242 (java) total-vm:8000000kB, anon-rss:520000kB",
        "type": "Warning", "count": 1,
        "firstTimestamp": "2025-03-01T10:04:59Z", "lastTimestamp": "2025-03-01T10:04:59Z",
        "source": {"component": "kernel-monitor", "host": "node-7"}
    });
    let records = analyze_objects(&list(vec![pod, node_event]));
    let record = only(&records);
    assert_eq!(kind(record), "oom_killed");
    assert!(
        record["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|event| event["inferred"] == true)
    );
    assert!(
        evidence(record).contains("OOMKilling"),
        "{}",
        evidence(record)
    );
}

#[test]
fn windows_access_violation_is_decoded() {
    let mut pod = pod(
        "windows",
        json!({"nodeSelector": {"kubernetes.io/os": "windows"}}),
        restarted(2, -1073741819, "Error", None),
    );
    pod["spec"]["os"] = json!({"name": "windows"});
    let records = analyze_objects(&pod);
    let record = only(&records);
    assert!(record["signal"].is_null());
    assert_eq!(kind(record), "crashed");
    let text = format!("{} {}", record["cause"]["summary"], evidence(record));
    assert!(
        text.contains("ACCESS_VIOLATION") || text.contains("access violation"),
        "{text}"
    );
}

/// Tools that print NTSTATUS codes unsigned write 0xC0000005 as 3221225477. That does not fit
/// the API's int32 `exitCode`, so it is read as the API would serve it.
#[test]
fn unsigned_ntstatus_exit_code_is_read() {
    let records = analyze_objects(&pod(
        "windows-unsigned",
        json!({}),
        restarted(1, 3221225477, "Error", None),
    ));
    let record = only(&records);
    assert_eq!(record["exit_code"], -1073741819);
    assert_eq!(kind(record), "crashed");
}

#[test]
fn container_cannot_run_is_start_failure() {
    let status = restarted(
        1,
        128,
        "ContainerCannotRun",
        Some("OCI runtime create failed: exec: \"/app/run.sh\": permission denied"),
    );
    let records = analyze_objects(&pod("cannot-run", json!({}), status));
    assert_eq!(kind(only(&records)), "start_failed");
}

#[test]
fn exit_126_is_not_executable() {
    let records = analyze_objects(&pod("noexec", json!({}), restarted(1, 126, "Error", None)));
    assert_eq!(kind(only(&records)), "not_executable");
}

#[test]
fn sigabrt_is_a_crash() {
    let records = analyze_objects(&pod("abort", json!({}), restarted(1, 134, "Error", None)));
    let record = only(&records);
    assert_eq!(record["signal"], "SIGABRT");
    assert_eq!(kind(record), "crashed");
}

#[test]
fn yaml_list_reads_like_json() {
    let pod = pod(
        "yaml-pod",
        json!({}),
        restarted(1, 1, "Error", Some("boom")),
    );
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("pods.yaml");
    std::fs::write(
        &yaml,
        serde_yaml_ng::to_string(&list(vec![pod.clone()])).unwrap(),
    )
    .unwrap();
    let json_file = dir.path().join("pods.json");
    std::fs::write(&json_file, serde_json::to_vec(&pod).unwrap()).unwrap();
    let (from_yaml, stderr, success) = analyze_paths(&[&yaml]);
    assert!(success, "{stderr}");
    let (from_json, _, _) = analyze_paths(&[&json_file]);
    assert_eq!(from_yaml.len(), 1);
    assert_eq!(from_yaml[0]["id"], from_json[0]["id"]);
    assert_eq!(from_yaml[0]["cause"], from_json[0]["cause"]);
}

#[test]
fn events_api_v1_events_are_joined() {
    let pod = pod("events-v1", json!({}), restarted(2, 137, "Error", None));
    let killing = json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "events-v1.killing", "namespace": "web"},
        "regarding": {"kind": "Pod", "namespace": "web", "name": "events-v1", "uid": pod["metadata"]["uid"], "fieldPath": "spec.containers{app}"},
        "reason": "Killing", "note": "Container app failed liveness probe, will be restarted",
        "type": "Normal", "eventTime": null, "reportingController": "kubelet", "reportingInstance": "node-7",
        "deprecatedCount": 1, "deprecatedFirstTimestamp": "2025-03-01T10:04:30Z", "deprecatedLastTimestamp": "2025-03-01T10:04:30Z"
    });
    let records = analyze_objects(&list(vec![pod, killing]));
    assert_eq!(kind(only(&records)), "liveness_probe");
}

/// A Docker-based node writes JSON lines, and an older kubelet names the files
/// `/var/log/pods/<pod-uid>/<container>_<N>.log`.
#[test]
fn docker_json_logs_in_old_layout() {
    let pod = pod("docker-node", json!({}), restarted(1, 2, "Error", None));
    let uid = pod["metadata"]["uid"].as_str().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("var/log/pods").join(&uid);
    std::fs::create_dir_all(&folder).unwrap();
    let lines = [
        r#"{"log":"starting worker\n","stream":"stdout","time":"2025-03-01T10:00:00.000000001Z"}"#,
        r#"{"log":"panic: runtime error: index out of range [3] with length 3\n","stream":"stderr","time":"2025-03-01T10:04:59.100000000Z"}"#,
        r#"{"log":"\n","stream":"stderr","time":"2025-03-01T10:04:59.100000100Z"}"#,
        r#"{"log":"goroutine 1 [running]:\n","stream":"stderr","time":"2025-03-01T10:04:59.100000200Z"}"#,
        r#"{"log":"main.main()\n","stream":"stderr","time":"2025-03-01T10:04:59.100000300Z"}"#,
    ];
    std::fs::write(folder.join("app_0.log"), lines.join("\n") + "\n").unwrap();
    let objects = dir.path().join("pod.json");
    std::fs::write(&objects, serde_json::to_vec(&pod).unwrap()).unwrap();

    let (records, stderr, success) = analyze_paths(&[&objects, dir.path()]);
    assert!(success, "{stderr}");
    let record = only(&records);
    assert_eq!(record["log_source"], "node_file");
    assert_eq!(
        record["cause"]["key_line"],
        "panic: runtime error: index out of range [3] with length 3"
    );
    assert_eq!(kind(record), "app_error");
}

#[test]
fn java_caused_by_is_key_line() {
    let pod = pod("java", json!({}), restarted(1, 1, "Error", None));
    let uid = pod["metadata"]["uid"].as_str().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join(format!("var/log/pods/web_java_{uid}/app"));
    std::fs::create_dir_all(&folder).unwrap();
    let text = [
        "Exception in thread \"main\" java.lang.IllegalStateException: Failed to start application",
        "\tat com.example.App.main(App.java:12)",
        "Caused by: org.postgresql.util.PSQLException: Connection to db:5432 refused.",
        "\tat org.postgresql.Driver.connect(Driver.java:285)",
        "Caused by: java.net.ConnectException: Connection refused",
        "\tat java.base/sun.nio.ch.Net.connect0(Native Method)",
        "\t... 12 more",
    ];
    let log: String = text
        .iter()
        .enumerate()
        .map(|(index, line)| format!("2025-03-01T10:04:59.{index:09}Z stderr F {line}\n"))
        .collect();
    std::fs::write(folder.join("0.log"), log).unwrap();
    let objects = dir.path().join("pod.json");
    std::fs::write(&objects, serde_json::to_vec(&pod).unwrap()).unwrap();

    let (records, stderr, success) = analyze_paths(&[&objects, dir.path()]);
    assert!(success, "{stderr}");
    assert_eq!(
        only(&records)["cause"]["key_line"],
        "Caused by: java.net.ConnectException: Connection refused"
    );
}

#[test]
fn cluster_info_dump_folder() {
    let dir = tempfile::tempdir().unwrap();
    let pod = pod(
        "dumped",
        json!({}),
        json!({
            "name": "app", "image": "registry.example/app:1.0", "imageID": "", "ready": false, "restartCount": 3,
            "state": {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": "2025-03-01T10:00:00Z",
                "finishedAt": "2025-03-01T10:00:02Z", "containerID": "containerd://eeee"}},
            "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "startedAt": "2025-03-01T09:59:00Z",
                "finishedAt": "2025-03-01T09:59:02Z", "containerID": "containerd://ffff"}}
        }),
    );
    std::fs::write(
        dir.path().join("nodes.json"),
        r#"{"kind":"NodeList","apiVersion":"v1","metadata":{},"items":[]}"#,
    )
    .unwrap();
    let namespace = dir.path().join("web");
    std::fs::create_dir_all(namespace.join("dumped")).unwrap();
    let pods = json!({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": [pod]});
    std::fs::write(
        namespace.join("pods.json"),
        serde_json::to_vec(&pods).unwrap(),
    )
    .unwrap();
    std::fs::write(
        namespace.join("events.json"),
        r#"{"kind":"EventList","apiVersion":"v1","metadata":{},"items":[]}"#,
    )
    .unwrap();
    let logs = "==== START logs for container app of pod web/dumped ====\nloading config\nError: config file /etc/app.yaml not found\n==== END logs for container app of pod web/dumped ====\n";
    std::fs::write(namespace.join("dumped/logs.txt"), logs).unwrap();

    let (records, stderr, success) = analyze_paths(&[dir.path()]);
    assert!(success, "{stderr}");
    assert_eq!(records.len(), 2);
    let latest = records
        .iter()
        .find(|record| record["restart_count"] == 3)
        .unwrap();
    assert_eq!(latest["log_source"], "api_current");
    assert_eq!(
        latest["cause"]["key_line"],
        "Error: config file /etc/app.yaml not found"
    );
    let previous = records
        .iter()
        .find(|record| record["restart_count"] == 2)
        .unwrap();
    assert!(previous["log_tail"].as_array().unwrap().is_empty());
}

#[test]
fn hostile_text_is_kept_as_data() {
    let message = "<script>alert(1)</script>\u{1b}[31m\u{0}end";
    let records = analyze_objects(&pod(
        "hostile",
        json!({}),
        restarted(1, 1, "Error", Some(message)),
    ));
    assert_eq!(only(&records)["message"], message);
}
