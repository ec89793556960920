//! `podmortem show` run as a built binary against a database filled through the library.

mod store_fixtures;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use podmortem::model::{Stream, Termination};
use podmortem::store::{SqliteStore, Store};
use store_fixtures::{line, time};

fn filled_db(records: &[Termination]) -> (tempfile::TempDir, PathBuf) {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("podmortem.db");
    SqliteStore::open(&path).unwrap().upsert(records).unwrap();
    (folder, path)
}

fn show(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_podmortem"))
        .arg("show")
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("PODMORTEM_DB")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// Three instances of the OOM-killed pod: two OOM kills and one of a sidecar stopped on
/// request (an expected exit).
fn api_history() -> Vec<Termination> {
    let latest = store_fixtures::oom_killed();

    let mut earlier = store_fixtures::oom_killed();
    earlier.restart_count = 1;
    earlier.id = "earlier-instance".into();
    earlier.started_at = Some(time("2024-02-07T08:01:00Z"));
    earlier.finished_at = Some(time("2024-02-07T10:47:48Z"));
    earlier.events.clear();
    earlier.missed_before = 0;
    earlier.log_tail = vec![line(
        "2024-02-07T10:47:47Z",
        Stream::Stdout,
        "GC pause 1200ms",
    )];
    earlier.log_truncated = false;

    let mut sidecar = store_fixtures::oom_killed();
    sidecar.id = "sidecar-instance".into();
    sidecar.container = "istio-proxy".into();
    sidecar.container_kind = podmortem::model::ContainerKind::Sidecar;
    sidecar.restart_count = 0;
    sidecar.exit_code = Some(0);
    sidecar.signal = None;
    sidecar.reason = Some("Completed".into());
    sidecar.message = None;
    sidecar.started_at = Some(time("2024-02-07T08:00:30Z"));
    sidecar.finished_at = Some(time("2024-02-07T09:00:00Z"));
    sidecar.cause = podmortem::model::Cause {
        kind: podmortem::model::CauseKind::Stopped,
        summary: "Stopped with its pod".into(),
        evidence: vec!["event Killing: Stopping container istio-proxy".into()],
        key_line: None,
        expected: true,
    };
    sidecar.log_tail.clear();
    sidecar.log_source = None;
    sidecar.events.clear();
    sidecar.missed_before = 0;

    vec![latest, earlier, sidecar, store_fixtures::liveness_kill()]
}

#[test]
fn details_of_every_instance() {
    let (_folder, db) = filled_db(&api_history());
    let output = show(&db, &["shop/api-7d9f8c6b5d-x2k4q"]);
    insta::assert_snapshot!(stdout(&output));
}

#[test]
fn details_of_liveness_kill_events() {
    let (_folder, db) = filled_db(&api_history());
    let output = show(&db, &["web/web-5c8d7f9b6-qk2lm"]);
    insta::assert_snapshot!(stdout(&output));
}

#[test]
fn container_option_selects_instances() {
    let (_folder, db) = filled_db(&api_history());

    let output = show(
        &db,
        &[
            "shop/api-7d9f8c6b5d-x2k4q",
            "-c",
            "istio-proxy",
            "-o",
            "json",
        ],
    );
    let records: Vec<Termination> = serde_json::from_str(&stdout(&output)).unwrap();

    assert_eq!(records.len(), 1);
    assert_eq!(records[0].container, "istio-proxy");
}

#[test]
fn json_lists_instances_newest_first() {
    let (_folder, db) = filled_db(&api_history());

    let output = show(&db, &["shop/api-7d9f8c6b5d-x2k4q", "-o", "json"]);
    let records: Vec<Termination> = serde_json::from_str(&stdout(&output)).unwrap();
    let ids: Vec<&str> = records.iter().map(|record| record.id.as_str()).collect();

    assert_eq!(
        ids,
        [
            api_history()[0].id.as_str(),
            "earlier-instance",
            "sidecar-instance"
        ]
    );
    assert_eq!(records[0], api_history()[0]);
}

#[test]
fn yaml_output_parses_back() {
    let (_folder, db) = filled_db(&api_history());

    let output = show(&db, &["web/web-5c8d7f9b6-qk2lm", "-o", "yaml"]);
    let records: Vec<Termination> = serde_yaml_ng::from_str(&stdout(&output)).unwrap();

    assert_eq!(records, [store_fixtures::liveness_kill()]);
}

#[test]
fn argument_without_slash_is_rejected() {
    let (_folder, db) = filled_db(&api_history());

    let output = show(&db, &["api-7d9f8c6b5d-x2k4q"]);
    let message = stderr(&output);

    assert!(!output.status.success());
    assert!(message.contains("NAMESPACE/POD"), "{message}");
    assert!(message.contains("podmortem list"), "{message}");
}

#[test]
fn unknown_pod_suggests_list() {
    let (_folder, db) = filled_db(&api_history());

    let output = show(&db, &["shop/nothing-here"]);
    let message = stderr(&output);

    assert!(!output.status.success());
    assert!(message.contains("`shop/nothing-here`"), "{message}");
    assert!(message.contains("podmortem list -n shop"), "{message}");
}

#[test]
fn unknown_container_lists_recorded_ones() {
    let (_folder, db) = filled_db(&api_history());

    let output = show(&db, &["shop/api-7d9f8c6b5d-x2k4q", "-c", "db"]);
    let message = stderr(&output);

    assert!(!output.status.success());
    assert!(message.contains("`api`, `istio-proxy`"), "{message}");
}

#[test]
fn missing_database_says_how_to_fill() {
    let folder = tempfile::tempdir().unwrap();
    let db = folder.path().join("none.db");

    let output = show(&db, &["shop/api"]);
    let message = stderr(&output);

    assert!(!output.status.success());
    assert!(message.contains("podmortem analyze --store"), "{message}");
    assert!(!db.exists());
}

#[test]
fn details_escape_and_bound_log_lines() {
    let mut record = store_fixtures::segfault();
    let long = "y".repeat(1024 * 1024);
    record.log_tail = vec![
        line(
            "2024-02-07T11:40:29Z",
            Stream::Stdout,
            "\u{1b}]0;title\u{7}\u{1b}[2J",
        ),
        line("2024-02-07T11:40:30Z", Stream::Stderr, &long),
    ];
    let (_folder, db) = filled_db(&[record]);

    let text = stdout(&show(&db, &["batch/render-0"]));

    assert!(!text.contains('\u{1b}'));
    assert!(!text.contains('\u{7}'));
    assert!(text.contains("\\u{1b}]0;title\\u{7}"), "{text}");
    assert!(text.len() < 16 * 1024, "output is {} bytes", text.len());
    assert!(text.contains("y…"));
}
