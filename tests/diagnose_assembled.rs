//! Diagnosis through the whole core: objects read from the case files, node folders scanned,
//! records assembled and diagnosed by `assemble`.

mod common;

use podmortem::assemble::{Options, assemble};
use podmortem::kubelet::{ScanOptions, scan_node_root};
use podmortem::model::{CauseKind, Termination};
use podmortem::objects::read_objects_file;

use common::{case_path, node_case};

/// Reads the case's objects and, when given, scans its node folder, then assembles the
/// diagnosed records.
fn assembled(objects: &[&str], node: Option<&str>) -> Vec<Termination> {
    let mut bundle = read_objects_file(&case_path(objects[0])).unwrap();
    for name in &objects[1..] {
        bundle.extend(read_objects_file(&case_path(name)).unwrap());
    }
    let root = node.map(node_case);
    let scans: Vec<_> = root
        .iter()
        .map(|root| scan_node_root(root.path(), &ScanOptions::default()).unwrap())
        .collect();
    assemble(&bundle, &scans, &Options::default())
}

fn find<'a>(records: &'a [Termination], container: &str, restart: u32) -> &'a Termination {
    records
        .iter()
        .find(|record| record.container == container && record.restart_count == restart)
        .unwrap_or_else(|| panic!("no record for {container} #{restart}: {records:#?}"))
}

#[test]
fn rotated_log_klog_fatal_key_line() {
    let records = assembled(&["24-rotated-logs.pod.json"], Some("24-rotated-logs"));
    let record = find(&records, "app", 0);

    assert_eq!(record.cause.kind, CauseKind::AppError);
    assert!(!record.cause.expected);
    assert_eq!(record.signal, None);
    let key_line = record.cause.key_line.as_deref().unwrap();
    assert!(key_line.starts_with("F0626 11:31:40"), "{key_line}");
    assert!(key_line.contains("queue connection lost"), "{key_line}");
}

#[test]
fn node_only_message_instance() {
    let records = assembled(
        &["28-termination-log-files.pod.json"],
        Some("28-termination-log-files"),
    );
    let first = find(&records, "app", 0);

    assert_eq!(first.exit_code, None);
    assert_eq!(first.cause.kind, CauseKind::Unknown);
    assert!(
        first
            .cause
            .summary
            .contains("config validation failed: missing required key DB_HOST"),
        "{}",
        first.cause.summary
    );

    let second = find(&records, "app", 1);
    assert_eq!(second.cause.kind, CauseKind::OomKilled);
    assert!(
        second
            .cause
            .evidence
            .iter()
            .any(|item| item == "memory limit 256Mi")
    );
}

#[test]
fn liveness_kill_through_assembly() {
    let records = assembled(
        &[
            "02-exit137-liveness-kill.pod.json",
            "02-exit137-liveness-kill.events.json",
        ],
        None,
    );
    let record = find(&records, "web", 0);

    assert_eq!(record.cause.kind, CauseKind::LivenessProbe);
    assert!(
        record.cause.evidence.iter().any(|item| item
            == "finished 10s after the Killing event = terminationGracePeriodSeconds 10"),
        "{:#?}",
        record.cause.evidence
    );
}

#[test]
fn job_failure_through_assembly() {
    let records = assembled(
        &[
            "13-job-backofflimit.pods.json",
            "13-job-backofflimit.job.json",
            "13-job-backofflimit.events.json",
        ],
        None,
    );
    assert_eq!(records.len(), 5);
    for record in &records {
        assert_eq!(record.cause.kind, CauseKind::AppError, "{}", record.pod);
        assert_eq!(
            record.cause.summary,
            "Job nightly-report failed because its pods kept exiting with code 1"
        );
    }
}

#[test]
fn fallback_message_through_assembly() {
    let records = assembled(&["21-fallback-to-logs.json"], None);
    let record = find(&records, "plugin", 3);

    assert_eq!(record.cause.kind, CauseKind::AppError);
    let key_line = record.cause.key_line.as_deref().unwrap();
    assert!(
        key_line.contains("Giving up after 7 failed health checks"),
        "{key_line}"
    );
    assert!(
        !record.cause.summary.contains("ls)\" err="),
        "{}",
        record.cause.summary
    );
}
