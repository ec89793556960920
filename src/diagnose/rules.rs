//! The rules for exits that no pod-level end or kubelet kill explains: kubelet placeholders,
//! start failures, OOM kills, exit codes and signals, clean exits and unknown ones.

use jiff::SignedDuration;

use super::evidence::{describe_event, first_line, quote, shifted};
use super::exit_code::{
    describe_signal, explain_exit_code, is_crash_signal, ntstatus_from_exit_code,
};
use super::facts::{Facts, event_times};
use super::finding::Finding;
use super::key_line::{KeyLine, KeyLineKind};
use super::message::{MessageOrigin, TerminationMessage};
use super::pod_level::placeholder_evidence;
use super::signal::signal_from_exit_code;
use crate::model::{CauseKind, ContainerKind, EventRecord};

/// How far from the finish a node `OOMKilling` event may be and still be matched to it.
const OOM_EVENT_WINDOW: SignedDuration = SignedDuration::from_secs(10);

/// Recognises kubelet's `ContainerStatusUnknown` placeholder: kubelet could not find the
/// container when the pod was terminated or deleted and wrote exit code 137 itself.
pub fn diagnose_placeholder(facts: &Facts<'_>) -> Option<Finding> {
    let record = facts.record;
    if record.reason.as_deref() != Some("ContainerStatusUnknown") {
        return None;
    }

    let mut finding = Finding::new(
        CauseKind::StatusUnknown,
        "kubelet lost track of the container and wrote a placeholder status; the real exit was \
         not observed",
    )
    .with(placeholder_evidence(record.exit_code));
    finding.placeholder_exit_code = true;
    if let Some((requested, _)) = facts.deletion() {
        finding = finding.with(format!("pod deletion requested at {requested}"));
    }
    Some(finding)
}

/// Recognises a process the runtime never started: reason `StartError` or
/// `ContainerCannotRun`, exit code 128, or -1 with no start time.
pub fn diagnose_start_failure(facts: &Facts<'_>) -> Option<Finding> {
    let record = facts.record;
    let by_reason = matches!(
        record.reason.as_deref(),
        Some("StartError" | "ContainerCannotRun")
    );
    let by_code = record.exit_code == Some(128)
        || (record.exit_code == Some(-1) && record.started_at.is_none());
    if !by_reason && !by_code {
        return None;
    }

    let message = record.message.as_deref().unwrap_or_default();
    let cause = decode_start_error(message);
    let mut finding = Finding::new(
        CauseKind::StartFailed,
        format!("The runtime could not start the process: {cause}"),
    );
    if record.started_at.is_none() {
        finding = finding.with("no start time: the process never ran");
    }
    if !message.trim().is_empty() {
        finding = finding.with(format!("runtime error: {}", quote(message)));
    }
    Some(finding)
}

/// Decodes the runtime's start error into its usual cause.
fn decode_start_error(message: &str) -> String {
    if message.contains("exec: \"\": executable file not found") {
        return "the container command is an empty string".to_owned();
    }
    if let Some(name) = quoted_after(message, "exec: ")
        && message.contains("executable file not found in $PATH")
    {
        return format!("the entrypoint {name} is not in the image's $PATH");
    }
    if message.contains("permission denied") {
        return "the entrypoint is not executable (permission denied)".to_owned();
    }
    if message.contains("not a directory") {
        return "a mount target is a file in the image, not a directory".to_owned();
    }
    if message.contains("no such file or directory") {
        return "the entrypoint or its interpreter is missing from the image".to_owned();
    }
    if message.contains("exec format error") {
        return "the entrypoint is built for another CPU architecture or lacks a `#!` line"
            .to_owned();
    }
    match first_line(message) {
        Some(line) => format!("runtime error {line}"),
        None => "the runtime gave no error message".to_owned(),
    }
}

/// Returns the double-quoted word after `prefix`, such as `"/entrypoint.sh"` after `exec: `.
fn quoted_after<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let (_, rest) = text.split_once(prefix)?;
    let rest = rest.strip_prefix('"')?;
    let (word, _) = rest.split_once('"')?;
    (!word.is_empty()).then_some(word)
}

/// Diagnoses `reason: OOMKilled`, with the memory limit or its absence.
pub fn diagnose_oom_killed(facts: &Facts<'_>) -> Option<Finding> {
    if facts.record.reason.as_deref() != Some("OOMKilled") {
        return None;
    }
    let (limit, _) = facts.memory();
    let summary = match limit {
        Some(limit) => format!(
            "The kernel OOM killer ended the container because it reached its memory limit of \
             {limit}"
        ),
        None => "The kernel OOM killer ended the container; it has no memory limit, so the node \
                 ran out of memory"
            .to_owned(),
    };
    let mut finding = Finding::new(CauseKind::OomKilled, summary).with_all(memory_evidence(facts));
    if let Some(event) = node_oom_event(facts) {
        finding = finding.with(describe_event(event));
    }
    Some(finding)
}

/// Finds a node `OOMKilling` event within [`OOM_EVENT_WINDOW`] of the record's finish.
fn node_oom_event<'a>(facts: &Facts<'a>) -> Option<&'a EventRecord> {
    let finished = facts.record.finished_at?;
    facts
        .record
        .events
        .iter()
        .filter(|event| event.reason == "OOMKilling")
        .find(|event| near(event, finished))
}

fn memory_evidence(facts: &Facts<'_>) -> Vec<String> {
    let (limit, request) = facts.memory();
    let mut items = Vec::new();
    match limit {
        Some(limit) => items.push(format!("memory limit {limit}")),
        None if facts.has_container_spec() => {
            items.push("no memory limit: the node ran out of memory".to_owned());
        }
        None => {}
    }
    if let Some(request) = request {
        items.push(format!("memory request {request}"));
    }
    if let Some(qos) = facts.qos_class() {
        items.push(format!("QoS class {qos}"));
    }
    items
}

/// Diagnoses a probable OOM kill from a node `OOMKilling` event near the finish of an exit
/// 137 that the runtime did not mark `OOMKilled`.
pub fn diagnose_inferred_oom(facts: &Facts<'_>) -> Option<Finding> {
    let record = facts.record;
    if record.exit_code != Some(137) || record.reason.as_deref().is_some_and(|r| r != "Error") {
        return None;
    }
    let event = node_oom_event(facts)?;

    let finding = Finding::new(
        CauseKind::OomKilled,
        "Probably killed by the kernel OOM killer: the node reported an OOM kill at the time the \
         container ended with SIGKILL",
    )
    .with(describe_event(event))
    .with("inferred: the OOMKilling event was matched by node and time, not by container")
    .with_all(memory_evidence(facts));
    Some(finding)
}

fn near(event: &EventRecord, finished: jiff::Timestamp) -> bool {
    let (first, last) = event_times(event);
    let (Some(first), Some(last)) = (first, last) else {
        return false;
    };
    first <= shifted(finished, OOM_EVENT_WINDOW) && last >= shifted(finished, -OOM_EVENT_WINDOW)
}

/// Diagnoses a record with no exit code: an instance known only from its termination message
/// on the node, or one whose exit was not observed.
pub fn diagnose_no_exit(
    facts: &Facts<'_>,
    message: Option<&TerminationMessage<'_>>,
) -> Option<Finding> {
    if facts.record.exit_code.is_some() {
        return None;
    }
    let quoted = message
        .filter(|message| message.origin != MessageOrigin::KubeletReadError)
        .and_then(|message| first_line(message.whole_lines()));
    let summary = match quoted {
        Some(line) => format!("No exit code was observed; the termination message reads: {line}"),
        None => "No exit code or termination message was observed for this instance".to_owned(),
    };
    Some(Finding::new(CauseKind::Unknown, summary).with("no exit code observed"))
}

/// Diagnoses a Windows exit code, an NTSTATUS value, by its name.
pub fn diagnose_ntstatus(facts: &Facts<'_>) -> Option<Finding> {
    let code = facts.record.exit_code?;
    let status = ntstatus_from_exit_code(code)?;
    let explanation = explain_exit_code(code);
    let summary = format!("The Windows process ended with {}", explanation.meaning);
    let mut finding = Finding::new(explanation.kind, summary);
    if status.name.is_none() {
        finding = finding.with(format!(
            "{} is not an NTSTATUS value podmortem knows",
            status.hex()
        ));
    }
    Some(finding)
}

/// Diagnoses an exit by its code alone: 126, 127, signals, 0 and other codes.
pub fn diagnose_exit_code(facts: &Facts<'_>, key_line: Option<&KeyLine>) -> Option<Finding> {
    let code = facts.record.exit_code?;
    let finding = match code {
        0 => diagnose_clean_exit(facts),
        126 => Finding::new(
            CauseKind::NotExecutable,
            "The command was found but could not be executed (exit code 126): a permission or \
             file-format problem",
        ),
        127 => Finding::new(
            CauseKind::CommandNotFound,
            with_key_line(
                "The command was not found (exit code 127): the executable, interpreter or a \
                 command the entrypoint script runs is missing",
                key_line,
            ),
        ),
        _ => match signal_from_exit_code(code) {
            Some(signal) => diagnose_signal(signal),
            None => diagnose_app_error(facts, code, key_line),
        },
    };
    Some(finding)
}

fn diagnose_signal(signal: &str) -> Finding {
    if is_crash_signal(signal) {
        return Finding::new(
            CauseKind::Crashed,
            format!(
                "The process crashed with {signal}: {}",
                describe_signal(signal)
            ),
        );
    }
    match signal {
        "SIGKILL" => Finding::new(
            CauseKind::Killed,
            "SIGKILL from outside the process; the cause is unknown (events may have expired)",
        )
        .with("no OOMKilled reason, probe kill or stop request was recorded; exit code 137 alone does not mean OOM"),
        "SIGTERM" => Finding::new(
            CauseKind::Killed,
            "SIGTERM from something other than kubelet: no stop request, pod deletion or probe \
             kill was recorded",
        ),
        _ => Finding::new(
            CauseKind::Killed,
            format!("The process was killed by {signal}: {}", describe_signal(signal)),
        ),
    }
}

fn diagnose_clean_exit(facts: &Facts<'_>) -> Finding {
    let policy = facts.restart_policy().or_else(|| policy_from_owner(facts));
    let restarts =
        policy.as_deref() == Some("Always") && facts.record.container_kind != ContainerKind::Init;
    if restarts {
        let policy_item = match facts.record.container_kind {
            ContainerKind::Sidecar => {
                "sidecar (init container with restartPolicy Always)".to_owned()
            }
            _ => "restartPolicy Always".to_owned(),
        };
        return Finding::new(
            CauseKind::CompletedButRestarted,
            "The process exited successfully but is meant to run forever: the image's default \
             command may not be a long-running process",
        )
        .with(policy_item);
    }

    let mut finding =
        Finding::new(CauseKind::Completed, "The process completed successfully").expected();
    match (facts.record.container_kind, policy) {
        (ContainerKind::Init, _) => finding = finding.with("init container: it is meant to finish"),
        (_, Some(policy)) => finding = finding.with(format!("restartPolicy {policy}")),
        (_, None) => {}
    }
    if let Some(job) = facts.job_name() {
        finding = finding.with(format!("pod of Job {job}"));
    }
    finding
}

/// Returns the restart policy the owner kind implies when the pod is unknown: workload
/// controllers require `Always`.
fn policy_from_owner(facts: &Facts<'_>) -> Option<String> {
    let owner = facts.record.owner.as_ref()?;
    let always = matches!(
        owner.kind.as_str(),
        "ReplicaSet" | "StatefulSet" | "DaemonSet" | "ReplicationController" | "Deployment"
    );
    always.then(|| "Always".to_owned())
}

fn diagnose_app_error(facts: &Facts<'_>, code: i64, key_line: Option<&KeyLine>) -> Finding {
    if let Some(finding) = diagnose_job_failure(facts, code) {
        return finding;
    }

    let opening = match key_line.map(|line| line.kind) {
        Some(KeyLineKind::GoPanic) => {
            format!("The Go program panicked and exited with code {code}")
        }
        Some(KeyLineKind::KlogFatal) => {
            format!("The program logged a fatal error and exited with code {code}")
        }
        _ => format!("The process exited with code {code}"),
    };
    let mut finding = Finding::new(CauseKind::AppError, with_key_line(&opening, key_line));
    if code == 255 {
        finding = finding
            .with("exit code 255 is not a signal: klog fatal lines and exit(-1) end with 255");
    }
    if code == 2 && key_line.is_some_and(|line| line.kind == KeyLineKind::GoPanic) {
        finding = finding.with("a Go panic exits 2, even when its text names SIGSEGV");
    }
    finding
}

/// Diagnoses a failed exit in a pod of a Job that failed.
fn diagnose_job_failure(facts: &Facts<'_>, code: i64) -> Option<Finding> {
    let condition = facts.job_condition("Failed")?;
    let name = facts.job_name().unwrap_or("of the pod");
    let reason = condition.reason.as_deref().unwrap_or("Failed");
    let mut item = format!("Job {name} failed: {reason}");
    if let Some(message) = &condition.message {
        item.push_str(&format!(" ({})", quote(message)));
    }
    let summary = format!("Job {name} failed because its pods kept exiting with code {code}");
    Some(Finding::new(CauseKind::AppError, summary).with(item))
}

fn with_key_line(summary: &str, key_line: Option<&KeyLine>) -> String {
    match key_line {
        Some(line) => format!("{summary}: {}", quote(&line.text)),
        None => summary.to_owned(),
    }
}
