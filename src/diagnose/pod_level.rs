//! Pod-level ends: eviction, preemption, node shutdown, lost nodes and deadlines. They
//! outrank the container's own exit code, because the container only ended as a consequence.
//!
//! Sources of the reasons:
//!
//! - the `DisruptionTarget` condition reasons of `k8s.io/api/core/v1`: `PreemptionByScheduler`
//!   (written `PreemptionByKubeScheduler` in Kubernetes 1.26), `TerminationByKubelet`,
//!   `EvictionByEvictionAPI`, `DeletionByTaintManager` and `DeletionByPodGC`;
//! - kubelet's pod `status.reason` values: `Evicted` (`pkg/kubelet/eviction`), `Preempting`
//!   (`pkg/kubelet/preemption`, "Preempted in order to admit critical pod"), `Terminated`
//!   (`pkg/kubelet/nodeshutdown`, "Pod was terminated in response to imminent node
//!   shutdown.") and `DeadlineExceeded` (`activeDeadlineSeconds`);
//! - `Shutdown` with "Node is shutting, evicting pods", the node-shutdown wording before
//!   Kubernetes 1.22;
//! - `NodeLost` from the node lifecycle controller;
//! - the Job condition `Failed` with reason `DeadlineExceeded`.

use jiff::{SignedDuration, Timestamp};

use super::eviction::parse_eviction_message;
use super::evidence::{
    describe_event, grace_period_evidence, quote, reached_grace_period, shifted,
};
use super::facts::{Facts, event_times};
use super::finding::Finding;
use crate::model::CauseKind;

/// How long before a pod-level end an exit may finish and still belong to it: kubelet and the
/// controllers write the condition when they act, and clocks differ between components.
pub const POD_END_SLACK: SignedDuration = SignedDuration::from_secs(60);

/// A pod-level end, from the pod's condition, its status or its Job.
#[derive(Debug, Clone)]
struct PodEnd {
    kind: CauseKind,
    /// Start of the end, when a source records it.
    at: Option<Timestamp>,
    /// Source of `at`, named in the evidence ("the DisruptionTarget condition").
    at_source: String,
    evidence: Vec<String>,
    /// The message that explains the end, for the summary and for eviction parsing.
    message: Option<String>,
    /// The `DisruptionTarget` or `status.reason` value the kind came from.
    reason: String,
}

/// Diagnoses an exit that belongs to a pod-level end, or returns `None`.
pub fn diagnose_pod_level(facts: &Facts<'_>) -> Option<Finding> {
    let end = find_pod_end(facts)?;

    if restarted_after_shutdown(facts, &end) {
        return Some(restarted_after_node_shutdown(facts, end));
    }
    if !belongs_to_end(facts, &end) {
        return None;
    }
    Some(build_finding(facts, end))
}

fn find_pod_end(facts: &Facts<'_>) -> Option<PodEnd> {
    let condition = disruption_target(facts, status_message(facts));
    let status = status_reason_end(facts);
    let job = job_deadline(facts);

    let mut end = match (status, condition) {
        (Some(mut status), Some(condition)) => {
            status.at = condition.at;
            status.at_source = condition.at_source;
            let mut evidence = condition.evidence;
            evidence.append(&mut status.evidence);
            status.evidence = evidence;
            status.message = status.message.or(condition.message);
            status
        }
        (Some(status), None) => status,
        (None, Some(condition)) => condition,
        (None, None) => job?,
    };
    if end.at.is_none()
        && let Some((at, reason)) = end_event_time(facts, end.kind)
    {
        end.at = Some(at);
        end.at_source = format!("the {reason} event");
    }
    Some(end)
}

fn status_message<'a>(facts: &Facts<'a>) -> Option<&'a str> {
    facts.pod_reason().1
}

/// Reads the `DisruptionTarget` condition. Its evidence leaves out a message equal to
/// `duplicate`, the pod's status message, which has its own item.
fn disruption_target(facts: &Facts<'_>, duplicate: Option<&str>) -> Option<PodEnd> {
    let condition = facts.pod_condition("DisruptionTarget")?;
    let reason = condition.reason.clone().unwrap_or_default();
    let message = condition.message.clone();
    let text = message.as_deref().unwrap_or_default();
    let (pod_reason, pod_message) = facts.pod_reason();

    let kind = match reason.as_str() {
        "PreemptionByScheduler" | "PreemptionByKubeScheduler" => CauseKind::Preempted,
        "TerminationByKubelet"
            if is_shutdown(pod_reason, pod_message) || is_shutdown(None, Some(text)) =>
        {
            CauseKind::NodeShutdown
        }
        "TerminationByKubelet" if text.contains("Preempted in order to admit critical pod") => {
            CauseKind::Preempted
        }
        "TerminationByKubelet" | "EvictionByEvictionAPI" => CauseKind::Evicted,
        "DeletionByTaintManager" | "DeletionByPodGC" => CauseKind::NodeLost,
        _ => return None,
    };

    let at = condition.last_transition_time.as_ref().map(|time| time.0);
    let mut item = format!("pod condition DisruptionTarget reason {reason}");
    if let Some(at) = at {
        item.push_str(&format!(" at {at}"));
    }
    if !text.is_empty() && Some(text) != duplicate {
        item.push_str(&format!(": {}", quote(text)));
    }
    Some(PodEnd {
        kind,
        at,
        at_source: "the DisruptionTarget condition".to_owned(),
        evidence: vec![item],
        message,
        reason,
    })
}

/// Reads the pod's `status.reason`.
fn status_reason_end(facts: &Facts<'_>) -> Option<PodEnd> {
    let (reason, message) = facts.pod_reason();
    let reason = reason?;
    let kind = match reason {
        "Evicted" => CauseKind::Evicted,
        "Preempting" => CauseKind::Preempted,
        "Terminated" | "Shutdown" => CauseKind::NodeShutdown,
        "NodeLost" => CauseKind::NodeLost,
        "DeadlineExceeded" => CauseKind::DeadlineExceeded,
        _ => return None,
    };

    let mut item = format!("pod reason {reason}");
    if let Some(message) = message.filter(|message| !message.trim().is_empty()) {
        item.push_str(&format!(": {}", quote(message)));
    }
    Some(PodEnd {
        kind,
        at: None,
        at_source: String::new(),
        evidence: vec![item],
        message: message.map(str::to_owned),
        reason: reason.to_owned(),
    })
}

/// Reads a Job that failed because it ran past its `activeDeadlineSeconds`.
fn job_deadline(facts: &Facts<'_>) -> Option<PodEnd> {
    let condition = facts.job_condition("Failed")?;
    if condition.reason.as_deref() != Some("DeadlineExceeded") {
        return None;
    }
    let name = facts.job_name().unwrap_or("of the pod");
    let message = condition.message.clone();
    let mut item = format!("Job {name} failed: DeadlineExceeded");
    if let Some(message) = &message {
        item.push_str(&format!(" ({})", quote(message)));
    }
    Some(PodEnd {
        kind: CauseKind::DeadlineExceeded,
        at: condition.last_transition_time.as_ref().map(|time| time.0),
        at_source: "the Job's Failed condition".to_owned(),
        evidence: vec![item],
        message,
        reason: "DeadlineExceeded".to_owned(),
    })
}

/// Returns true for the node-shutdown reasons and messages of kubelet.
fn is_shutdown(reason: Option<&str>, message: Option<&str>) -> bool {
    let reason_says = matches!(reason, Some("Terminated" | "Shutdown"));
    let message_says = message.is_some_and(|message| {
        message.contains("imminent node shutdown") || message.contains("Node is shutting")
    });
    reason_says || message_says
}

/// Returns the first time of a pod-level event of the end's kind, for ends whose source
/// carries no time.
fn end_event_time<'a>(facts: &Facts<'a>, kind: CauseKind) -> Option<(Timestamp, &'a str)> {
    let reasons: &[&str] = match kind {
        CauseKind::Evicted => &["Evicted"],
        CauseKind::Preempted => &["Preempted", "Preempting"],
        CauseKind::NodeShutdown => &["Shutdown", "NodeShutdown", "Terminated"],
        CauseKind::DeadlineExceeded => &["DeadlineExceeded"],
        _ => &[],
    };
    facts
        .record
        .events
        .iter()
        .filter(|event| reasons.contains(&event.reason.as_str()))
        .find_map(|event| Some((event_times(event).0?, event.reason.as_str())))
}

/// Returns true when the exit is part of the pod-level end: its finish is unknown, or at or
/// after the end's start minus [`POD_END_SLACK`]. An end with no time applies to the
/// container's latest instance only.
fn belongs_to_end(facts: &Facts<'_>, end: &PodEnd) -> bool {
    let Some(finished) = facts.record.finished_at else {
        return true;
    };
    match end.at {
        Some(at) => finished >= shifted(at, -POD_END_SLACK),
        None => facts.is_latest_instance(),
    }
}

/// Recognises a pod whose node shut down and came back: kubelet left the shutdown reason in
/// place, but the pod is `Running` and the container restarted after the runtime lost its
/// old state (exit 255, reason `Unknown`).
fn restarted_after_shutdown(facts: &Facts<'_>, end: &PodEnd) -> bool {
    let record = facts.record;
    end.kind == CauseKind::NodeShutdown
        && facts.phase() == Some("Running")
        && (record.reason.as_deref() == Some("Unknown") || record.exit_code == Some(255))
}

fn restarted_after_node_shutdown(facts: &Facts<'_>, end: PodEnd) -> Finding {
    let record = facts.record;
    let mut finding = Finding::new(
        CauseKind::NodeShutdown,
        "The node shut down: state lost across node reboot; container restarted after the node \
         came back",
    )
    .with_all(end.evidence)
    .with(format!(
        "pod status is contradictory: reason {} but phase Running",
        end.reason
    ));
    if record.exit_code == Some(255) || record.reason.as_deref() == Some("Unknown") {
        finding = finding.with(
            "exit code 255 with reason Unknown: the runtime lost the container across the \
             reboot, so this is not an application error",
        );
    }
    finding
}

fn build_finding(facts: &Facts<'_>, end: PodEnd) -> Finding {
    let summary = summarize(facts, &end);
    let mut finding = Finding::new(end.kind, summary).with_all(end.evidence.clone());

    if end.kind == CauseKind::Evicted {
        finding = add_eviction_details(facts, &end, finding);
    }
    finding = add_exit_details(facts, &end, finding);

    for event in facts
        .record
        .events
        .iter()
        .filter(|event| event.reason == "ExceededGracePeriod")
    {
        finding = finding.with(describe_event(event));
    }
    finding
}

fn summarize(facts: &Facts<'_>, end: &PodEnd) -> String {
    let message = end.message.as_deref().unwrap_or_default();
    let mut summary = match end.kind {
        CauseKind::Preempted if end.reason == "Preempting" || message.contains("critical pod") => {
            "The kubelet preempted the pod to admit a critical pod".to_owned()
        }
        CauseKind::Preempted => match message.rsplit_once("higher priority pod: ") {
            Some((_, pod)) => format!(
                "The scheduler preempted the pod to make room for higher-priority pod {}",
                quote(pod)
            ),
            None => {
                "The scheduler preempted the pod to make room for a higher-priority pod".to_owned()
            }
        },
        CauseKind::Evicted if end.reason == "EvictionByEvictionAPI" => {
            "The pod was evicted through the Eviction API (for example by a node drain)".to_owned()
        }
        CauseKind::Evicted => eviction_summary(message),
        CauseKind::NodeShutdown => {
            "The kubelet terminated the pod because the node was shutting down".to_owned()
        }
        CauseKind::NodeLost => {
            "The pod was deleted because its node was lost or unreachable".to_owned()
        }
        CauseKind::DeadlineExceeded if facts.pod_reason().0 == Some("DeadlineExceeded") => {
            "The pod was stopped because it ran past its activeDeadlineSeconds".to_owned()
        }
        CauseKind::DeadlineExceeded => match facts.job_name() {
            Some(job) => format!(
                "Job {job} ran past its activeDeadlineSeconds, so the Job controller stopped its \
                 pods"
            ),
            None => "The Job ran past its activeDeadlineSeconds, so the Job controller stopped \
                     its pods"
                .to_owned(),
        },
        _ => "The pod was ended at pod level".to_owned(),
    };

    if facts.record.exit_code.is_none() {
        summary.push_str("; no container exit information");
    } else if facts.record.exit_code == Some(0) && end.kind != CauseKind::DeadlineExceeded {
        summary.push_str("; the container exited 0, but the pod did not finish its work");
    }
    summary
}

fn eviction_summary(message: &str) -> String {
    let Some(parsed) = parse_eviction_message(message) else {
        return "The kubelet evicted the pod".to_owned();
    };
    if parsed.resource.is_none() && !parsed.storage_limits.is_empty() {
        return "The kubelet evicted the pod because it exceeded an ephemeral storage limit"
            .to_owned();
    }
    let resource = parsed
        .resource
        .clone()
        .or(parsed.node_condition.clone())
        .unwrap_or_else(|| "a resource".to_owned());
    format!("The kubelet evicted the pod because the node was low on {resource}")
}

/// Adds the parsed eviction message, and whether this container was one it named.
fn add_eviction_details(facts: &Facts<'_>, end: &PodEnd, mut finding: Finding) -> Finding {
    let Some(parsed) = end.message.as_deref().and_then(parse_eviction_message) else {
        return finding;
    };
    finding = finding.with_all(parsed.evidence());

    let container = &facts.record.container;
    let others_named = !parsed.containers.is_empty() || !parsed.storage_limits.is_empty();
    if others_named && !parsed.names_container(container) {
        finding = finding.with(format!(
            "container {container} is not named in the eviction message, so it was not the \
             one over its request"
        ));
    }
    finding
}

/// Adds the facts of the container's own exit within the pod-level end.
fn add_exit_details(facts: &Facts<'_>, end: &PodEnd, mut finding: Finding) -> Finding {
    let record = facts.record;
    if record.reason.as_deref() == Some("ContainerStatusUnknown") {
        finding.placeholder_exit_code = true;
        return finding.with(placeholder_evidence(record.exit_code));
    }

    match record.exit_code {
        Some(0) => finding.with("exit code 0: the process exited cleanly on SIGTERM"),
        Some(137) => {
            let timing = match (record.finished_at, end.at, facts.grace_period()) {
                (Some(finished), Some(at), Some(grace))
                    if reached_grace_period(finished, at, grace) =>
                {
                    Some(grace_period_evidence(finished, at, &end.at_source, grace))
                }
                _ => None,
            };
            match timing {
                Some(timing) => finding.with(timing).with(
                    "the process did not exit on SIGTERM and was SIGKILLed after the grace period",
                ),
                None => finding,
            }
        }
        _ => finding,
    }
}

/// Returns the evidence item for kubelet's placeholder exit code.
pub fn placeholder_evidence(exit_code: Option<i64>) -> String {
    match exit_code {
        Some(code) => {
            format!("exit code {code} is a placeholder written by kubelet, not an observed SIGKILL")
        }
        None => "no exit code: kubelet wrote a placeholder status".to_owned(),
    }
}
