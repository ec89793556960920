//! Command-line tests of `podmortem analyze`: output formats on the shipped sample, bad input,
//! and writing to the store.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn podmortem(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_podmortem"));
    command
        .args(args)
        .env_remove("PODMORTEM_DB")
        .env("NO_COLOR", "1");
    let Some(input) = stdin else {
        return command.output().expect("run podmortem");
    };
    use std::io::Write;
    let mut child = command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start podmortem");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().expect("wait for podmortem")
}

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

/// Replaces the temporary folder in messages so snapshots are stable.
fn redact(output: &str, dir: &Path) -> String {
    output.replace(&dir.display().to_string(), "[TMP]")
}

#[test]
fn sample_table_output() {
    let cluster = examples().join("cluster");
    let output = podmortem(&["analyze", cluster.to_str().unwrap()], None);
    assert!(output.status.success(), "{}", text(&output.stderr));
    insta::assert_snapshot!("sample_table", text(&output.stdout));
}

#[test]
fn sample_wide_output() {
    let cluster = examples().join("cluster");
    let node = examples().join("node");
    let output = podmortem(
        &[
            "analyze",
            cluster.to_str().unwrap(),
            node.to_str().unwrap(),
            "-o",
            "wide",
        ],
        None,
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    insta::assert_snapshot!("sample_wide", text(&output.stdout));
}

#[test]
fn sample_yaml_matches_json() {
    let cluster = examples().join("cluster/pods.json");
    let json = podmortem(&["analyze", cluster.to_str().unwrap(), "-o", "json"], None);
    let yaml = podmortem(&["analyze", cluster.to_str().unwrap(), "-o", "yaml"], None);
    assert!(json.status.success());
    assert!(yaml.status.success());
    let from_json: Vec<Value> = serde_json::from_slice(&json.stdout).unwrap();
    let from_yaml: Vec<Value> = serde_yaml_ng::from_slice(&yaml.stdout).unwrap();
    assert_eq!(from_json.len(), from_yaml.len());
    for (a, b) in from_json.iter().zip(&from_yaml) {
        assert_eq!(a["id"], b["id"]);
        assert_eq!(a["cause"], b["cause"]);
    }
}

#[test]
fn standard_input_is_read() {
    let bytes = std::fs::read(common::case_path("29-exit0-crashloop.json")).unwrap();
    let output = podmortem(&["analyze", "-", "-o", "json"], Some(&bytes));
    assert!(output.status.success(), "{}", text(&output.stderr));
    let records: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["cause"]["kind"], "completed_but_restarted");
}

#[test]
fn namespace_filter_applies() {
    let cluster = examples().join("cluster/pods.json");
    let output = podmortem(
        &[
            "analyze",
            cluster.to_str().unwrap(),
            "-n",
            "kube-system",
            "-o",
            "json",
        ],
        None,
    );
    let records: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert!(!records.is_empty());
    assert!(
        records
            .iter()
            .all(|record| record["namespace"] == "kube-system")
    );
}

/// Each bad input is reported with its path, the good input next to it is still analysed, and
/// the exit status is non-zero.
#[test]
fn bad_inputs_reported_and_others_kept() {
    let dir = tempfile::tempdir().unwrap();
    let empty_folder = dir.path().join("empty-folder");
    std::fs::create_dir(&empty_folder).unwrap();
    let empty_node = dir.path().join("node");
    std::fs::create_dir_all(empty_node.join("var/log/pods")).unwrap();
    let bad = [
        (
            "truncated.json",
            write(
                dir.path(),
                "truncated.json",
                b"{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"metadata\": {",
            ),
        ),
        (
            "not-kubernetes.yaml",
            write(
                dir.path(),
                "not-kubernetes.yaml",
                b"foo: bar\nlist:\n  - 1\n",
            ),
        ),
        (
            "garbage.bin",
            write(
                dir.path(),
                "garbage.bin",
                b"\x00\x9f\xff\xfe\x01binary\x00\x00\xc3",
            ),
        ),
        ("empty.json", write(dir.path(), "empty.json", b"")),
        (
            "missing.json",
            dir.path().join("missing.json").display().to_string(),
        ),
        ("empty-folder", empty_folder.display().to_string()),
        ("node", empty_node.display().to_string()),
    ];
    let good = common::case_path("01-oomkilled-memory-limit.json");

    for (name, path) in &bad {
        let output = podmortem(
            &["analyze", path, good.to_str().unwrap(), "-o", "json"],
            None,
        );
        let stderr = text(&output.stderr);
        assert!(
            !output.status.success(),
            "{name}: exit status must be non-zero"
        );
        assert!(
            stderr.contains(name),
            "{name}: error must name the path: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        let records: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
            panic!(
                "{name}: stdout is not JSON ({error}): {}",
                text(&output.stdout)
            )
        });
        assert_eq!(records.len(), 1, "{name}: the good input is still analysed");
        insta::assert_snapshot!(format!("bad_input_{name}"), redact(&stderr, dir.path()));
    }
}

#[test]
fn no_input_is_an_error() {
    let output = podmortem(&["analyze"], None);
    assert!(!output.status.success());
    assert!(text(&output.stderr).contains("no input given"));
}

#[test]
fn store_twice_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("records.db");
    let cluster = examples().join("cluster");
    let node = examples().join("node");
    let args = [
        "analyze",
        cluster.to_str().unwrap(),
        node.to_str().unwrap(),
        "--store",
        "--db",
        db.to_str().unwrap(),
    ];

    let first = podmortem(&args, None);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(
        text(&first.stderr).contains("0 updated, 0 unchanged"),
        "{}",
        text(&first.stderr)
    );
    let second = podmortem(&args, None);
    assert!(second.status.success(), "{}", text(&second.stderr));
    assert!(
        text(&second.stderr).contains("0 new, 0 updated"),
        "{}",
        text(&second.stderr)
    );

    let listed = podmortem(
        &["list", "--all", "--db", db.to_str().unwrap(), "-o", "json"],
        None,
    );
    assert!(listed.status.success(), "{}", text(&listed.stderr));
    let records: Vec<Value> = serde_json::from_slice(&listed.stdout).unwrap();
    let analyzed = podmortem(
        &[
            "analyze",
            cluster.to_str().unwrap(),
            node.to_str().unwrap(),
            "-o",
            "json",
        ],
        None,
    );
    let expected: Vec<Value> = serde_json::from_slice(&analyzed.stdout).unwrap();
    assert_eq!(records.len(), expected.len());
}

/// An eviction's placeholder statuses have no finish time, so `list --since` must place them
/// by their events, not by when they were stored.
#[test]
fn evicted_records_filtered_by_event_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("records.db");
    let pod = common::case_path("15-evicted-memory-pressure.pod.json");
    let events = common::case_path("15-evicted-memory-pressure.events.json");
    let stored = podmortem(
        &[
            "analyze",
            pod.to_str().unwrap(),
            events.to_str().unwrap(),
            "--store",
            "--db",
            db.to_str().unwrap(),
            "-o",
            "json",
        ],
        None,
    );
    assert!(stored.status.success(), "{}", text(&stored.stderr));

    let list = |since: &str, until: &str| {
        let output = podmortem(
            &[
                "list",
                "--db",
                db.to_str().unwrap(),
                "--since",
                since,
                "--until",
                until,
                "-o",
                "json",
            ],
            None,
        );
        assert!(output.status.success(), "{}", text(&output.stderr));
        serde_json::from_slice::<Vec<Value>>(&output.stdout)
            .unwrap()
            .len()
    };
    assert_eq!(list("2026-03-27T00:00:00Z", "2026-03-28T00:00:00Z"), 2);
    assert_eq!(list("1h", "0s"), 0);
}

/// The shipped node folder has lost its mtimes in the clone, so instance 0's termination
/// message cannot be matched; analyze warns instead of dropping the message silently.
#[test]
fn unmatched_message_files_are_reported() {
    let pod = common::case_path("28-termination-log-files.pod.json");
    let node = examples().join("node");
    let output = podmortem(
        &[
            "analyze",
            pod.to_str().unwrap(),
            node.to_str().unwrap(),
            "-o",
            "json",
        ],
        None,
    );
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("could not be matched to an instance of container `app`"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("container `wait-for-db`"),
        "empty files need no warning: {stderr}"
    );
}
