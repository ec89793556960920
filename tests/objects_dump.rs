//! `kubectl cluster-info dump --output-directory` folders, built in a temporary folder from
//! the real cases in the layout kubectl writes.

mod common;

use std::path::Path;

use common::case_path;
use podmortem::objects::{Error, is_cluster_dump, read_cluster_dump};
use proptest::prelude::*;

fn copy_case(name: &str, target: &Path) {
    std::fs::create_dir_all(target.parent().expect("a parent folder")).expect("create folder");
    std::fs::copy(case_path(name), target).expect("copy a case file");
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("a parent folder")).expect("create folder");
    std::fs::write(path, text).expect("write a file");
}

fn section(container: &str, pod: &str, body: &str) -> String {
    format!(
        "==== START logs for container {container} of pod shop/{pod} ====\n{body}\
         ==== END logs for container {container} of pod shop/{pod} ====\n"
    )
}

/// Builds a dump with the native-sidecar case's pods and events in `shop`, the Job case's in
/// `batch`, and one logs.txt with an init container and a container.
fn dump_folder() -> tempfile::TempDir {
    let root = tempfile::tempdir().expect("create a temporary folder");
    let dir = root.path();
    write(
        &dir.join("nodes.json"),
        r#"{"kind": "NodeList", "apiVersion": "v1", "items": []}"#,
    );
    copy_case("20-native-sidecar.pods.json", &dir.join("shop/pods.json"));
    copy_case(
        "20-native-sidecar.events.json",
        &dir.join("shop/events.json"),
    );
    copy_case(
        "13-job-backofflimit.pods.json",
        &dir.join("batch/pods.json"),
    );
    copy_case(
        "13-job-backofflimit.events.json",
        &dir.join("batch/events.json"),
    );
    write(
        &dir.join("shop/deployments.json"),
        r#"{"kind": "DeploymentList", "apiVersion": "apps/v1", "items": []}"#,
    );

    let pod = "reservation-7d4b9c8f6-t5v2n";
    let logs = section("otel-collector", pod, "collector starting\nready\n")
        + &section(
            "reservation",
            pod,
            "panic: runtime error: index out of range [3]\n",
        );
    write(&dir.join(format!("shop/{pod}/logs.txt")), &logs);
    root
}

#[test]
fn dump_folder_is_recognised() {
    let dump = dump_folder();
    assert!(is_cluster_dump(dump.path()));
    assert!(!is_cluster_dump(&case_path("24-rotated-logs")));
    assert!(!is_cluster_dump(&case_path(
        "01-oomkilled-memory-limit.json"
    )));
    assert!(!is_cluster_dump(Path::new("/nonexistent/dump")));
}

#[test]
fn dump_without_nodes_recognised_by_pods() {
    let root = tempfile::tempdir().expect("create a temporary folder");
    copy_case("19-preempted.json", &root.path().join("default/pods.json"));
    assert!(is_cluster_dump(root.path()));
}

#[test]
fn dump_reads_pods_events_logs() {
    let dump = dump_folder();
    let read = read_cluster_dump(dump.path()).expect("read the dump");

    assert!(read.errors.is_empty(), "{:?}", read.errors);
    assert_eq!(read.bundle.pods.len(), 7);
    assert_eq!(read.bundle.events.len(), 9);
    assert_eq!(read.bundle.logs.len(), 2);
    assert!(
        read.bundle.warnings.is_empty(),
        "{:?}",
        read.bundle.warnings
    );
}

#[test]
fn dump_logs_split_per_container() {
    let dump = dump_folder();
    let read = read_cluster_dump(dump.path()).expect("read the dump");
    let logs = &read.bundle.logs;

    assert_eq!(logs[0].container, "otel-collector");
    assert_eq!(logs[0].text, "collector starting\nready\n");
    assert_eq!(logs[1].container, "reservation");
    assert_eq!(
        logs[1].text,
        "panic: runtime error: index out of range [3]\n"
    );
    for log in logs {
        assert_eq!(log.namespace, "shop");
        assert_eq!(log.pod, "reservation-7d4b9c8f6-t5v2n");
        assert!(
            log.path
                .ends_with("shop/reservation-7d4b9c8f6-t5v2n/logs.txt")
        );
        assert!(!log.truncated);
        assert_eq!(log.fetch_error, None);
    }
}

#[test]
fn bad_file_reported_rest_read() {
    let dump = dump_folder();
    write(
        &dump.path().join("kube-system/pods.json"),
        "{\"kind\": \"PodList\", \"items\": [",
    );
    let read = read_cluster_dump(dump.path()).expect("read the dump");

    assert_eq!(read.errors.len(), 1);
    let message = read.errors[0].to_string();
    assert!(message.contains("kube-system/pods.json"), "{message}");
    assert!(message.contains("invalid JSON"), "{message}");
    assert_eq!(read.bundle.pods.len(), 7);
    assert_eq!(read.bundle.logs.len(), 2);
}

#[test]
fn unfetched_log_keeps_kubectl_error() {
    let dump = dump_folder();
    let body = "Request log error: container \"web\" in pod \"web-1\" is waiting to start\n";
    write(
        &dump.path().join("shop/web-1/logs.txt"),
        &section("web", "web-1", body),
    );
    let read = read_cluster_dump(dump.path()).expect("read the dump");

    let log = read
        .bundle
        .logs
        .iter()
        .find(|log| log.pod == "web-1")
        .expect("the web-1 log");
    assert_eq!(log.text, "");
    assert_eq!(log.fetch_error.as_deref(), body.strip_suffix('\n'));
}

#[test]
fn cut_log_file_keeps_text() {
    let dump = dump_folder();
    let text = "==== START logs for container web of pod shop/web-1 ====\nlast words\n";
    write(&dump.path().join("shop/web-1/logs.txt"), text);
    let read = read_cluster_dump(dump.path()).expect("read the dump");

    assert!(matches!(
        read.errors.as_slice(),
        [Error::UnterminatedLog { .. }]
    ));
    insta::assert_snapshot!(
        read.errors[0].to_string().replace(&dump.path().display().to_string(), "[DUMP]"),
        @"`[DUMP]/shop/web-1/logs.txt` line 1: the logs of container `web` have no END marker; the file may be truncated, so the text up to its end was kept"
    );
    let log = read
        .bundle
        .logs
        .iter()
        .find(|log| log.pod == "web-1")
        .expect("the web-1 log");
    assert_eq!(log.text, "last words\n");
    assert!(log.truncated);
}

#[test]
fn yaml_dump_files_are_read() {
    let root = tempfile::tempdir().expect("create a temporary folder");
    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(case_path("17-node-shutdown.json")).unwrap())
            .unwrap();
    write(
        &root.path().join("nodes.yaml"),
        "kind: NodeList\napiVersion: v1\nitems: []\n",
    );
    write(
        &root.path().join("ops/pods.yaml"),
        &serde_yaml_ng::to_string(&value).unwrap(),
    );

    let read = read_cluster_dump(root.path()).expect("read the dump");
    assert_eq!(read.bundle.pods.len(), 2);
}

#[test]
fn plain_folder_is_not_dump() {
    let root = tempfile::tempdir().expect("create a temporary folder");
    write(&root.path().join("notes/readme.txt"), "nothing here\n");
    let error = read_cluster_dump(root.path()).expect_err("not a dump");
    assert!(matches!(error, Error::NotClusterDump { .. }));
    assert!(error.to_string().contains("--output-directory"), "{error}");
}

#[test]
fn stdout_dump_reads_objects_and_logs() {
    let read_case = |name| std::fs::read_to_string(case_path(name)).expect("read a case");
    let mut text =
        String::from("{\"kind\": \"NodeList\", \"apiVersion\": \"v1\", \"items\": []}\n");
    text.push_str(&read_case("20-native-sidecar.events.json"));
    text.push_str(&read_case("20-native-sidecar.pods.json"));
    text.push_str(&section("task", "ci-job-1771-8kq2f", "step 1 done\n"));
    text.push_str(&section(
        "proxy",
        "ci-job-1771-8kq2f",
        "no trailing newline",
    ));

    let bundle = podmortem::objects::read_objects("dump.txt", text.as_bytes())
        .expect("read the standard output of cluster-info dump");
    assert_eq!(bundle.pods.len(), 2);
    assert_eq!(bundle.events.len(), 3);
    assert_eq!(bundle.logs.len(), 2);
    assert_eq!(bundle.logs[1].text, "no trailing newline");
    assert_eq!(
        bundle.warnings.len(),
        1,
        "the NodeList is skipped: {:?}",
        bundle.warnings
    );
    assert!(
        bundle.warnings[0].contains("got `v1` NodeList"),
        "{:?}",
        bundle.warnings
    );
}

fn log_fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("==== START logs for container app of pod shop/web ====\n".to_owned()),
        Just("==== END logs for container app of pod shop/web ====".to_owned()),
        Just("==== START logs for container ".to_owned()),
        Just(" of pod ".to_owned()),
        Just("Request log error: ".to_owned()),
        Just("\n".to_owned()),
        any::<String>(),
    ]
}

proptest! {
    #[test]
    fn any_log_sections_never_panic(fragments in proptest::collection::vec(log_fragment(), 0..24)) {
        let text = "==== START logs for container ".to_owned() + &fragments.concat();
        let _ = podmortem::objects::read_objects("dump.txt", text.as_bytes());
    }
}

#[test]
fn reread_dump_replaces_logs() {
    let dump = dump_folder();
    let first = read_cluster_dump(dump.path()).expect("read the dump");
    let pod = "reservation-7d4b9c8f6-t5v2n";
    let logs = section("otel-collector", pod, "restarted\n")
        + &section("reservation", pod, "serving again\n");
    write(&dump.path().join(format!("shop/{pod}/logs.txt")), &logs);
    let second = read_cluster_dump(dump.path()).expect("read the dump again");

    let mut bundle = first.bundle;
    bundle.extend(second.bundle);
    assert_eq!(bundle.logs.len(), 2);
    assert_eq!(bundle.logs[0].text, "restarted\n");
    assert_eq!(bundle.logs[1].text, "serving again\n");
    assert_eq!(bundle.pods.len(), 7);
    assert_eq!(bundle.events.len(), 9);
}
