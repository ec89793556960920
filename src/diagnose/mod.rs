//! Diagnosis of container exits: why one container instance ended, with evidence a person can
//! check.
//!
//! [`diagnose`] applies rules in order of precedence, and the first that matches decides the
//! kind:
//!
//! 1. pod-level ends (eviction, preemption, node shutdown, lost node, deadline), because the
//!    container only ended as their consequence;
//! 2. kubelet's `ContainerStatusUnknown` placeholder, which is not an observed exit;
//! 3. start failures, where no process ran;
//! 4. `reason: OOMKilled`;
//! 5. liveness and startup probe kills, whatever the exit code;
//! 6. stops on request (deletion, rollout, sidecars at pod completion);
//! 7. an OOM kill inferred from a node `OOMKilling` event;
//! 8. a probe kill inferred from `Unhealthy` events whose `Killing` event is missing;
//! 9. records with no exit code;
//! 10. Windows NTSTATUS codes;
//! 11. the exit code alone: 126, 127, signals, 0 and other codes.
//!
//! Exit code 137 alone never means OOM: rules 4 and 7 need the runtime's reason or a node
//! event. Every rule only reads the record and its [`Context`]; nothing here does I/O.

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;

use crate::model::{Cause, CauseKind, LogSource, Termination};

mod eviction;
mod evidence;
mod exit_code;
mod facts;
mod finding;
mod key_line;
mod message;
mod pod_level;
mod probe;
mod reason;
mod rules;
mod signal;

pub use eviction::{ContainerUsage, EvictionMessage, parse_eviction_message};
pub use exit_code::{
    ExitCodeExplanation, NtStatus, SignalExit, describe_signal, exit_code_evidence,
    explain_exit_code, is_crash_signal, ntstatus_from_exit_code, parse_exit_code,
};
pub use key_line::{
    KeyLine, KeyLineKind, MAX_KEY_LINE_BYTES, bound_text, find_key_line, find_key_line_in_text,
};
pub use reason::{ReasonExplanation, explain_reason, known_reasons};
pub use signal::{MAX_SIGNAL, signal_from_exit_code, signal_name, signal_number};

use evidence::human_duration;
use facts::Facts;
use finding::Finding;
use message::TerminationMessage;

/// Objects the rules may consult besides the record itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'a> {
    /// The pod the instance ran in, when its object is known.
    pub pod: Option<&'a Pod>,
    /// The Job that controls the pod, when known.
    pub job: Option<&'a Job>,
}

/// Diagnoses why one container instance ended.
pub fn diagnose(record: &Termination, context: &Context<'_>) -> Cause {
    let facts = Facts::new(record, context);
    let message = TerminationMessage::of(&facts);
    let key_line = find_record_key_line(record, message.as_ref());

    let finding = find_cause(&facts, message.as_ref(), key_line.as_ref());

    let mut evidence = shared_evidence(&facts, &finding);
    evidence.extend(finding.evidence);
    if let Some(message) = &message {
        evidence.extend(message.evidence());
    }
    evidence.extend(log_evidence(record));

    let key_line = key_line
        .filter(|_| shows_key_line(finding.kind))
        .map(|line| line.text);
    Cause {
        kind: finding.kind,
        summary: finding.summary,
        evidence,
        key_line,
        expected: finding.expected,
    }
}

fn find_cause(
    facts: &Facts<'_>,
    message: Option<&TerminationMessage<'_>>,
    key_line: Option<&KeyLine>,
) -> Finding {
    pod_level::diagnose_pod_level(facts)
        .or_else(|| rules::diagnose_placeholder(facts))
        .or_else(|| rules::diagnose_start_failure(facts))
        .or_else(|| rules::diagnose_oom_killed(facts))
        .or_else(|| probe::diagnose_probe_kill(facts))
        .or_else(|| probe::diagnose_stop_request(facts))
        .or_else(|| rules::diagnose_inferred_oom(facts))
        .or_else(|| probe::diagnose_probable_probe_kill(facts))
        .or_else(|| rules::diagnose_no_exit(facts, message))
        .or_else(|| rules::diagnose_ntstatus(facts))
        .or_else(|| rules::diagnose_exit_code(facts, key_line))
        .unwrap_or_else(|| Finding::new(CauseKind::Unknown, "No rule explains this exit"))
}

/// Returns the key line from the log tail, else from the termination message. A message
/// without a recognised line is its own key line when the program wrote it.
fn find_record_key_line(
    record: &Termination,
    message: Option<&TerminationMessage<'_>>,
) -> Option<KeyLine> {
    if !record.log_tail.is_empty() {
        return find_log_key_line(record, message);
    }
    let message = message?;
    let text = message.whole_lines();
    if let Some(line) = find_key_line_in_text(text) {
        return Some(line);
    }
    if message.origin != message::MessageOrigin::Program {
        return None;
    }
    let line = text.lines().map(str::trim).find(|line| !line.is_empty())?;
    Some(KeyLine {
        index: 0,
        text: bound_text(line, MAX_KEY_LINE_BYTES),
        kind: KeyLineKind::ErrorLevel,
    })
}

/// Searches the log tail, skipping its first line when the tail is a cut termination message.
fn find_log_key_line(
    record: &Termination,
    message: Option<&TerminationMessage<'_>>,
) -> Option<KeyLine> {
    let cut =
        message.is_some_and(|message| message.origin == message::MessageOrigin::Log { cut: true });
    let skip = usize::from(cut && record.log_source == Some(LogSource::TerminationMessage));
    let lines = record.log_tail.get(skip..)?;
    let mut line = find_key_line(lines)?;
    line.index += skip;
    Some(line)
}

/// Returns true for the kinds where a log line can explain the exit. Pod-level ends, stops,
/// placeholders, start failures and clean exits are explained by other facts.
fn shows_key_line(kind: CauseKind) -> bool {
    !matches!(
        kind,
        CauseKind::Evicted
            | CauseKind::Preempted
            | CauseKind::NodeShutdown
            | CauseKind::NodeLost
            | CauseKind::DeadlineExceeded
            | CauseKind::Stopped
            | CauseKind::KilledAfterGracePeriod
            | CauseKind::StatusUnknown
            | CauseKind::StartFailed
            | CauseKind::Completed
            | CauseKind::CompletedButRestarted
    )
}

/// Returns the facts every diagnosis starts with: reason, exit code and how long it ran.
fn shared_evidence(facts: &Facts<'_>, finding: &Finding) -> Vec<String> {
    let record = facts.record;
    let mut items = Vec::new();
    if let Some(reason) = &record.reason {
        items.push(format!("reason {reason}"));
    }
    if let Some(code) = record.exit_code.filter(|_| !finding.placeholder_exit_code) {
        items.push(exit_code_evidence(code));
    }
    if let Some(signal) = &record.signal {
        let derived = record.exit_code.and_then(signal_from_exit_code);
        if derived != Some(signal.as_str()) && !finding.placeholder_exit_code {
            items.push(format!("signal {signal} reported by the runtime"));
        }
    }
    if let Some(item) = run_time_evidence(record, finding.kind) {
        items.push(item);
    }
    items
}

/// Describes how long the instance ran, when both ends are known and a process ran.
fn run_time_evidence(record: &Termination, kind: CauseKind) -> Option<String> {
    if matches!(kind, CauseKind::StartFailed | CauseKind::StatusUnknown) {
        return None;
    }
    let (started, finished) = (record.started_at?, record.finished_at?);
    let ran = finished.duration_since(started);
    if ran < jiff::SignedDuration::from_secs(1) && !ran.is_negative() {
        return Some(format!("ran under 1s (started and finished at {finished})"));
    }
    if ran.is_negative() {
        return Some(format!(
            "finish {finished} is before start {started}: the times are inconsistent"
        ));
    }
    Some(format!(
        "ran {} ({started} to {finished})",
        human_duration(ran)
    ))
}

/// Says when the log was read and held nothing, so the absence of a key line is a fact.
fn log_evidence(record: &Termination) -> Option<String> {
    (record.log_source.is_some() && record.log_tail.is_empty()).then(|| "no log output".to_owned())
}
