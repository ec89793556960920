//! Kills by kubelet: failed liveness and startup probes, and stops on request (pod deletion,
//! rollout, sidecars at pod completion), with the grace period each one allowed.
//!
//! kubelet (`pkg/kubelet/kuberuntime/kuberuntime_container.go`, `killContainer`) records a
//! `Killing` event before it sends SIGTERM: "Container web failed liveness probe, will be
//! restarted" for a probe kill and "Stopping container web" for a stop. It sends SIGKILL when
//! the grace period ends: the probe's `terminationGracePeriodSeconds` when set, else the
//! pod's. Failed probes are `Unhealthy` events ("Liveness probe failed: ...").

use jiff::{SignedDuration, Timestamp};

use super::evidence::{describe_event, grace_period_evidence, reached_grace_period, shifted};
use super::facts::{CLOCK_SLACK, Facts, ProbeKind, event_times};
use super::finding::Finding;
use crate::model::{CauseKind, ContainerKind, EventRecord};

/// How long after the last failed probe a container may still finish because of it, on top
/// of the grace period: kubelet waits one more probe period, 10s unless set.
const PROBE_TO_FINISH_SLACK: SignedDuration = SignedDuration::from_secs(30);

/// Diagnoses a kill after failed liveness or startup probes, whatever the exit code.
pub fn diagnose_probe_kill(facts: &Facts<'_>) -> Option<Finding> {
    let record = facts.record;
    let (probe, killing) = find_probe_killing(facts)?;
    let grace = facts.probe_grace_period(probe);
    let name = probe.name();

    let mut summary =
        format!("The kubelet restarted the container because its {name} probe failed");
    let mut finding = Finding::new(kind_of(probe), String::new());
    for event in unhealthy_events(facts, probe) {
        finding = finding.with(describe_event(event));
    }
    finding = finding.with(describe_event(killing));

    let kill_time = event_time_before(killing, record.finished_at);
    let timing = match (record.finished_at, kill_time, grace) {
        (Some(finished), Some(at), Some(grace)) => Some((
            reached_grace_period(finished, at, grace),
            grace_period_evidence(finished, at, "the Killing event", grace),
        )),
        _ => None,
    };
    match (record.exit_code, &timing) {
        (Some(137), Some((true, _))) => summary.push_str(
            "; the process did not exit on SIGTERM and was SIGKILLed after the grace period",
        ),
        (Some(137), _) => {
            summary.push_str("; the process was SIGKILLed after it did not exit on SIGTERM");
        }
        (Some(code @ (0 | 143)), _) => {
            summary.push_str(&format!("; the process exited {code} on SIGTERM"));
        }
        _ => {}
    }
    if let Some((_, item)) = timing {
        finding = finding.with(item);
    }
    finding.summary = summary;
    Some(finding)
}

/// Diagnoses a probable probe kill from `Unhealthy` events alone, for a clean or signal exit
/// whose `Killing` event is missing: enough failed probes (the probe's `failureThreshold`, 3
/// by default) ended within the grace period before the finish.
pub fn diagnose_probable_probe_kill(facts: &Facts<'_>) -> Option<Finding> {
    let record = facts.record;
    if !matches!(record.exit_code, Some(0 | 137 | 143)) {
        return None;
    }
    let finished = record.finished_at?;

    for probe in [ProbeKind::Liveness, ProbeKind::Startup] {
        let threshold = facts
            .probe(probe)
            .and_then(|probe| probe.failure_threshold)
            .unwrap_or(3);
        let grace = facts
            .probe_grace_period(probe)
            .unwrap_or(30)
            .clamp(0, 86_400);
        let earliest = shifted(
            finished,
            -(SignedDuration::from_secs(grace) + PROBE_TO_FINISH_SLACK),
        );
        let failed: Vec<&EventRecord> = unhealthy_events(facts, probe)
            .filter(|event| i64::from(event.count) >= i64::from(threshold))
            .filter(|event| {
                let (_, last) = event_times(event);
                last.is_some_and(|last| last >= earliest && last <= shifted(finished, CLOCK_SLACK))
            })
            .collect();
        if failed.is_empty() {
            continue;
        }

        let summary = format!(
            "Probably restarted by the kubelet after failed {} probes; no Killing event was \
             found (events may have expired)",
            probe.name()
        );
        let finding = Finding::new(kind_of(probe), summary)
            .with_all(failed.into_iter().map(describe_event))
            .with(format!(
                "at least {threshold} failed probes (failureThreshold) before the finish"
            ));
        return Some(finding);
    }
    None
}

fn kind_of(probe: ProbeKind) -> CauseKind {
    match probe {
        ProbeKind::Liveness => CauseKind::LivenessProbe,
        ProbeKind::Startup => CauseKind::StartupProbe,
    }
}

/// Finds the `Killing` event of a probe kill that matches the record's finish.
fn find_probe_killing<'a>(facts: &Facts<'a>) -> Option<(ProbeKind, &'a EventRecord)> {
    for event in facts
        .container_events()
        .filter(|event| event.reason == "Killing")
    {
        let probe = if event.message.contains("failed liveness probe") {
            ProbeKind::Liveness
        } else if event.message.contains("failed startup probe") {
            ProbeKind::Startup
        } else {
            continue;
        };
        let grace = facts.probe_grace_period(probe).unwrap_or(30);
        let after = SignedDuration::from_secs(grace.clamp(0, 86_400)) + PROBE_TO_FINISH_SLACK;
        if killing_matches_finish(facts, event, after) {
            return Some((probe, event));
        }
    }
    None
}

/// Returns true when the finish lies between the event's first time and its last time plus
/// `after`, and the event is not older than the instance.
fn killing_matches_finish(facts: &Facts<'_>, event: &EventRecord, after: SignedDuration) -> bool {
    if !facts.event_during_instance(event, CLOCK_SLACK) {
        return false;
    }
    let (Some(finished), (_, Some(last))) = (facts.record.finished_at, event_times(event)) else {
        return true;
    };
    finished <= shifted(last, after)
}

fn unhealthy_events<'a>(
    facts: &Facts<'a>,
    probe: ProbeKind,
) -> impl Iterator<Item = &'a EventRecord> + use<'a> {
    let prefix = match probe {
        ProbeKind::Liveness => "Liveness probe failed",
        ProbeKind::Startup => "Startup probe failed",
    };
    facts
        .container_events()
        .filter(move |event| event.reason == "Unhealthy" && event.message.starts_with(prefix))
        .collect::<Vec<_>>()
        .into_iter()
}

/// Returns the time of an event closest before `finished`: its last time when that is not
/// after the finish, else its first.
fn event_time_before(event: &EventRecord, finished: Option<Timestamp>) -> Option<Timestamp> {
    let (first, last) = event_times(event);
    match (finished, last) {
        (Some(finished), Some(last)) if last <= shifted(finished, CLOCK_SLACK) => Some(last),
        _ => first,
    }
}

/// A request to stop the container, with when it was made.
struct StopRequest {
    at: Option<Timestamp>,
    grace: Option<i64>,
    evidence: Vec<String>,
    /// Reason for the stop, for the summary.
    reason: String,
}

/// Diagnoses an exit on a stop request: pod deletion, a `Stopping container` event, a
/// controller's `SuccessfulDelete`, or a sidecar stopped after the main containers finished.
pub fn diagnose_stop_request(facts: &Facts<'_>) -> Option<Finding> {
    let record = facts.record;
    let request = find_stop_request(facts)?;
    if !exit_fits_stop(facts, &request) {
        return None;
    }

    let timing = match (record.finished_at, request.at, request.grace) {
        (Some(finished), Some(at), Some(grace)) => Some((
            reached_grace_period(finished, at, grace),
            grace_period_evidence(finished, at, "the stop request", grace),
        )),
        _ => None,
    };
    let sigkill = record.exit_code == Some(137) && request.grace != Some(0);
    let reached = timing.as_ref().is_none_or(|(reached, _)| *reached);

    let mut finding = if sigkill && reached {
        Finding::new(
            CauseKind::KilledAfterGracePeriod,
            format!(
                "Stopped on request ({}), but the process did not exit on SIGTERM and was \
                 SIGKILLed after the grace period",
                request.reason
            ),
        )
    } else {
        Finding::new(
            CauseKind::Stopped,
            format!("Stopped on request: {}", request.reason),
        )
        .expected()
    };
    finding = finding.with_all(request.evidence);
    if let Some((_, item)) = timing {
        finding = finding.with(item);
    }
    Some(finding)
}

/// Returns true when the exit can be the container's response to a stop request: a clean or
/// signal exit, or any other exit that finished after the request within its grace period.
/// Other exits get no clock slack before the request, so a crash just before a deletion stays
/// a crash.
fn exit_fits_stop(facts: &Facts<'_>, request: &StopRequest) -> bool {
    let code = facts.record.exit_code;
    if matches!(code, Some(0 | 129 | 130 | 137 | 143)) {
        return true;
    }
    let (Some(finished), Some(at)) = (facts.record.finished_at, request.at) else {
        return false;
    };
    let grace = SignedDuration::from_secs(request.grace.unwrap_or(30).clamp(0, 86_400));
    finished >= at && finished <= shifted(at, grace + CLOCK_SLACK)
}

fn find_stop_request(facts: &Facts<'_>) -> Option<StopRequest> {
    let mut request = StopRequest {
        at: None,
        grace: facts.grace_period(),
        evidence: Vec::new(),
        reason: String::new(),
    };

    if let Some(event) = stopping_event(facts) {
        request.at = event_time_before(event, facts.record.finished_at);
        request.evidence.push(describe_event(event));
        request.reason = "kubelet stopped the container".to_owned();
    }
    add_deletion(facts, &mut request);
    add_controller_delete(facts, &mut request);
    add_sidecar_stop(facts, &mut request);
    add_job_completion(facts, &mut request);

    (!request.evidence.is_empty()).then_some(request)
}

/// Finds a `Killing` "Stopping container" event that is not older than the instance.
fn stopping_event<'a>(facts: &Facts<'a>) -> Option<&'a EventRecord> {
    facts
        .container_events()
        .filter(|event| {
            event.reason == "Killing" && event.message.starts_with("Stopping container")
        })
        .find(|event| facts.event_during_instance(event, CLOCK_SLACK))
}

fn add_deletion(facts: &Facts<'_>, request: &mut StopRequest) {
    let Some((requested, grace)) = facts.deletion() else {
        return;
    };
    let before_deletion = facts
        .record
        .finished_at
        .is_some_and(|finished| finished < shifted(requested, -CLOCK_SLACK));
    if before_deletion {
        return;
    }

    request.at = request.at.or(Some(requested));
    request.grace = grace.or(request.grace);
    request
        .evidence
        .push(format!("pod deletion requested at {requested}"));
    if let Some(grace) = grace {
        request
            .evidence
            .push(format!("deletion grace period {grace}s"));
    }
    if request.reason.is_empty() {
        request.reason = "the pod was deleted".to_owned();
    }
}

/// Adds a `SuccessfulDelete` event of a controller that deleted this pod.
fn add_controller_delete(facts: &Facts<'_>, request: &mut StopRequest) {
    let deleted = format!("Deleted pod: {}", facts.record.pod);
    let Some(event) = facts
        .record
        .events
        .iter()
        .find(|event| event.reason == "SuccessfulDelete" && event.message.trim() == deleted)
    else {
        return;
    };
    let before_delete = match (facts.record.finished_at, event_times(event).1) {
        (Some(finished), Some(last)) => finished < shifted(last, -CLOCK_SLACK),
        _ => false,
    };
    if before_delete {
        return;
    }

    request.at = request.at.or(event_times(event).0);
    request.evidence.push(format!(
        "{} {} {}",
        event.object.kind,
        event.object.name,
        describe_event(event)
    ));
    request.reason = format!(
        "the pod was deleted by {} {} (rollout or scale-down)",
        event.object.kind, event.object.name
    );
}

/// Adds the stop kubelet makes of a sidecar once the pod's main containers have finished.
fn add_sidecar_stop(facts: &Facts<'_>, request: &mut StopRequest) {
    if facts.record.container_kind != ContainerKind::Sidecar {
        return;
    }
    let phase_done = matches!(facts.phase(), Some("Succeeded" | "Failed"));
    let main_finished = facts.main_containers_finished_at();
    let after_main = match (facts.record.finished_at, main_finished) {
        (Some(finished), Some(main)) => finished >= shifted(main, -CLOCK_SLACK),
        _ => phase_done,
    };
    if !after_main {
        return;
    }

    request.at = request.at.or(main_finished);
    let item = match main_finished {
        Some(main) => {
            format!("sidecar stopped after the main containers finished (last at {main})")
        }
        None => "sidecar stopped after the main containers finished".to_owned(),
    };
    request.evidence.push(item);
    if let Some(phase) = facts.phase() {
        request.evidence.push(format!("pod phase {phase}"));
    }
    request.reason = "kubelet stops sidecars after the main containers finish".to_owned();
}

/// Adds a Job that completed: what still ran in its pods was stopped. An exit 0 is left to
/// the completion rule, because it is the Job's own work ending.
fn add_job_completion(facts: &Facts<'_>, request: &mut StopRequest) {
    if matches!(facts.record.exit_code, Some(0) | None) {
        return;
    }
    let Some(condition) = facts.job_condition("Complete") else {
        return;
    };
    let name = facts.job_name().unwrap_or("of the pod");
    request.evidence.push(format!("Job {name} completed"));
    request.at = request
        .at
        .or(condition.last_transition_time.as_ref().map(|time| time.0));
    if request.reason.is_empty() {
        request.reason = format!("Job {name} completed");
    }
}
