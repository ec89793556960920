//! The record podmortem keeps for every container exit, and its parts.
//!
//! One [`Termination`] describes one container *instance*: pod uid, container name and restart
//! number. Its JSON form (snake_case field names) is part of the public interface: `-o json`,
//! the HTTP API and webhooks all emit it, so renaming a field is a breaking change.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One container instance that exited, with podmortem's diagnosis of why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Termination {
    /// Stable id derived from pod uid, container name and restart number, see [`termination_id`].
    pub id: String,
    /// Cluster name, from the kube context or `--cluster`.
    pub cluster: Option<String>,
    pub namespace: String,
    pub pod: String,
    pub pod_uid: String,
    pub node: Option<String>,
    /// Controlling owner reference of the pod, if any.
    pub owner: Option<Owner>,
    /// The workload a person manages: the Deployment of a ReplicaSet owner or the CronJob of a
    /// Job owner when their names show it, else the owner. Records stored before this field
    /// existed read it as `None`.
    #[serde(default)]
    pub workload: Option<Owner>,
    pub container: String,
    pub container_kind: ContainerKind,
    pub image: Option<String>,
    /// Runtime container id as reported (`containerd://…`); empty ids are stored as `None`.
    pub container_id: Option<String>,
    /// The dead instance's restart number: the `N` of its `N.log` file.
    pub restart_count: u32,
    /// Exit code as reported; `None` when no exit was observed (pod-level ends, node-only
    /// instances). Windows NTSTATUS codes can exceed `i32`, so this is `i64`.
    pub exit_code: Option<i64>,
    /// Signal name (`SIGKILL`) when the runtime reports one or the exit code is 128+n.
    pub signal: Option<String>,
    /// `terminated.reason` as reported (`OOMKilled`, `Error`, `Completed`, …).
    pub reason: Option<String>,
    /// `terminated.message` as reported. Untrusted text.
    pub message: Option<String>,
    /// Start of the instance; `None` when unknown or reported as the zero time (1970-01-01).
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub cause: Cause,
    /// The last lines of the instance's output, oldest first. Untrusted text.
    pub log_tail: Vec<LogLine>,
    /// True when `log_tail` holds only the end of a longer output.
    pub log_truncated: bool,
    pub log_source: Option<LogSource>,
    /// Time of the first and last log line seen for this instance, from the node's log files.
    pub log_first_at: Option<Timestamp>,
    pub log_last_at: Option<Timestamp>,
    /// Path of the termination-message file on the node that was matched to this instance.
    pub termination_message_file: Option<String>,
    /// Events related to this exit, oldest first.
    pub events: Vec<EventRecord>,
    /// Pod-level `status.reason` and `status.message` (`Evicted`, `DeadlineExceeded`, …).
    pub pod_reason: Option<String>,
    pub pod_message: Option<String>,
    pub source: Source,
    pub observed_at: Timestamp,
    /// Number of restarts that happened while podmortem was not watching, known only by count.
    pub missed_before: u32,
}

impl Termination {
    /// Returns the kind and name of the workload this record counts under: its workload, else
    /// its owner, else the pod itself with kind `Pod`.
    pub fn counted_workload(&self) -> (&str, &str) {
        match self.workload.as_ref().or(self.owner.as_ref()) {
            Some(owner) if !owner.name.is_empty() => (&owner.kind, &owner.name),
            _ => ("Pod", &self.pod),
        }
    }

    /// Returns an undiagnosed record of one instance with only its identity filled in: the pod,
    /// the container and its restart number, and where and when it was observed.
    pub fn new(instance: InstanceKey<'_>, source: Source, observed_at: Timestamp) -> Self {
        Termination {
            id: termination_id(instance.pod_uid, instance.container, instance.restart_count),
            cluster: None,
            namespace: instance.namespace.to_owned(),
            pod: instance.pod.to_owned(),
            pod_uid: instance.pod_uid.to_owned(),
            node: None,
            owner: None,
            workload: None,
            container: instance.container.to_owned(),
            container_kind: instance.container_kind,
            image: None,
            container_id: None,
            restart_count: instance.restart_count,
            exit_code: None,
            signal: None,
            reason: None,
            message: None,
            started_at: None,
            finished_at: None,
            cause: Cause::undiagnosed(),
            log_tail: Vec::new(),
            log_truncated: false,
            log_source: None,
            log_first_at: None,
            log_last_at: None,
            termination_message_file: None,
            events: Vec::new(),
            pod_reason: None,
            pod_message: None,
            source,
            observed_at,
            missed_before: 0,
        }
    }

    /// Returns when the exit happened as far as the record shows: the finish time, else the
    /// last log line, else the latest related event (kubelet's placeholders for an evicted
    /// container have no times), else when podmortem observed it. Tables sort by it and the
    /// store's time filters compare against it.
    pub fn occurred_at(&self) -> Timestamp {
        let latest_event = self
            .events
            .iter()
            .filter_map(|event| event.last_seen.or(event.first_seen))
            .max();
        self.finished_at
            .or(self.log_last_at)
            .or(latest_event)
            .unwrap_or(self.observed_at)
    }
}

/// Identity of one container instance.
#[derive(Debug, Clone, Copy)]
pub struct InstanceKey<'a> {
    pub namespace: &'a str,
    pub pod: &'a str,
    pub pod_uid: &'a str,
    pub container: &'a str,
    pub container_kind: ContainerKind,
    pub restart_count: u32,
}

/// The controlling owner of a pod (`metadata.ownerReferences[]` with `controller: true`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Owner {
    pub kind: String,
    pub name: String,
}

/// Section of the pod spec that declares a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContainerKind {
    Regular,
    Init,
    /// An init container with `restartPolicy: Always` (a native sidecar).
    Sidecar,
    Ephemeral,
}

impl ContainerKind {
    /// Returns the snake_case name used in JSON, the store and metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            ContainerKind::Regular => "regular",
            ContainerKind::Init => "init",
            ContainerKind::Sidecar => "sidecar",
            ContainerKind::Ephemeral => "ephemeral",
        }
    }
}

/// Origin of a record's `log_tail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LogSource {
    /// `pods/log?previous=true`.
    ApiPrevious,
    /// `pods/log` of the current instance, including `logs.txt` of a cluster-info dump.
    ApiCurrent,
    /// The instance's `N.log` files on the node.
    NodeFile,
    /// `terminated.message`, when no log was available.
    TerminationMessage,
}

/// Kind of reader that produced a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// The live cluster API.
    Api,
    /// A node's kubelet folders.
    Node,
    /// Objects saved to files (`kubectl get -o json`, `cluster-info dump`).
    Dump,
}

/// podmortem's diagnosis of one exit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Cause {
    pub kind: CauseKind,
    /// One sentence for a person.
    pub summary: String,
    /// The facts the diagnosis used, each one checkable by a person.
    pub evidence: Vec<String>,
    /// The log line that best explains the exit, when there is one.
    pub key_line: Option<String>,
    /// True for exits that are part of normal operation (a finished Job, a rollout).
    pub expected: bool,
}

impl Cause {
    /// Returns the cause of a record that has not been diagnosed yet.
    pub fn undiagnosed() -> Self {
        Cause {
            kind: CauseKind::Unknown,
            summary: String::new(),
            evidence: Vec::new(),
            key_line: None,
            expected: false,
        }
    }
}

/// The kinds of cause podmortem can diagnose. The snake_case names are part of the JSON form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CauseKind {
    OomKilled,
    LivenessProbe,
    StartupProbe,
    Evicted,
    Preempted,
    NodeShutdown,
    NodeLost,
    DeadlineExceeded,
    Stopped,
    KilledAfterGracePeriod,
    Crashed,
    Killed,
    AppError,
    NotExecutable,
    CommandNotFound,
    StartFailed,
    StatusUnknown,
    Completed,
    CompletedButRestarted,
    Unknown,
}

impl CauseKind {
    /// Every kind, in declaration order.
    pub const ALL: [CauseKind; 20] = [
        CauseKind::OomKilled,
        CauseKind::LivenessProbe,
        CauseKind::StartupProbe,
        CauseKind::Evicted,
        CauseKind::Preempted,
        CauseKind::NodeShutdown,
        CauseKind::NodeLost,
        CauseKind::DeadlineExceeded,
        CauseKind::Stopped,
        CauseKind::KilledAfterGracePeriod,
        CauseKind::Crashed,
        CauseKind::Killed,
        CauseKind::AppError,
        CauseKind::NotExecutable,
        CauseKind::CommandNotFound,
        CauseKind::StartFailed,
        CauseKind::StatusUnknown,
        CauseKind::Completed,
        CauseKind::CompletedButRestarted,
        CauseKind::Unknown,
    ];

    /// Returns the snake_case name used in JSON, the store and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            CauseKind::OomKilled => "oom_killed",
            CauseKind::LivenessProbe => "liveness_probe",
            CauseKind::StartupProbe => "startup_probe",
            CauseKind::Evicted => "evicted",
            CauseKind::Preempted => "preempted",
            CauseKind::NodeShutdown => "node_shutdown",
            CauseKind::NodeLost => "node_lost",
            CauseKind::DeadlineExceeded => "deadline_exceeded",
            CauseKind::Stopped => "stopped",
            CauseKind::KilledAfterGracePeriod => "killed_after_grace_period",
            CauseKind::Crashed => "crashed",
            CauseKind::Killed => "killed",
            CauseKind::AppError => "app_error",
            CauseKind::NotExecutable => "not_executable",
            CauseKind::CommandNotFound => "command_not_found",
            CauseKind::StartFailed => "start_failed",
            CauseKind::StatusUnknown => "status_unknown",
            CauseKind::Completed => "completed",
            CauseKind::CompletedButRestarted => "completed_but_restarted",
            CauseKind::Unknown => "unknown",
        }
    }

    /// Parses a snake_case name as written by [`CauseKind::as_str`].
    pub fn parse(name: &str) -> Option<CauseKind> {
        CauseKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
    }
}

impl std::fmt::Display for CauseKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The output stream a log line was written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One logical line of container output, with partial records already joined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LogLine {
    /// Time the runtime stamped on the line (on its first record when it was split).
    pub time: Option<Timestamp>,
    pub stream: Stream,
    /// The line's text, decoded lossily: invalid UTF-8 becomes U+FFFD.
    pub text: String,
    /// True when the line ended without its final record, so it may be incomplete.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub partial: bool,
}

/// An event related to an exit, reduced to what a person needs to read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventRecord {
    /// `Normal` or `Warning`.
    #[serde(rename = "type")]
    pub event_type: String,
    pub reason: String,
    pub message: String,
    /// Number of occurrences: core/v1 `count`, `series.count` or `deprecatedCount`; at least 1.
    pub count: u32,
    pub first_seen: Option<Timestamp>,
    pub last_seen: Option<Timestamp>,
    /// The object the event is about (`involvedObject` in core/v1, `regarding` in
    /// events.k8s.io/v1).
    pub object: ObjectRef,
    /// The container the event names, from `fieldPath` or from the message text.
    pub container: Option<String>,
    /// Reporting component (`kubelet`, `default-scheduler`, `job-controller`, …).
    pub reporter: Option<String>,
    /// Node that reported the event, when the source names one.
    pub host: Option<String>,
    /// True when the event was matched to the exit by node and time, not by object.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inferred: bool,
}

/// A reference to a Kubernetes object, as events carry it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ObjectRef {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub uid: Option<String>,
    pub field_path: Option<String>,
}

/// Returns the stable record id of one container instance: the first 16 bytes of
/// SHA-256 over `pod_uid`, `container` and `restart_count`, in hex.
///
/// Pods read from files without a uid use `namespace/pod` in place of the uid, so the id
/// stays stable across repeated reads of the same files.
pub fn termination_id(pod_uid: &str, container: &str, restart_count: u32) -> String {
    let mut hasher = Sha256::new();
    hasher.update(pod_uid.as_bytes());
    hasher.update([0]);
    hasher.update(container.as_bytes());
    hasher.update([0]);
    hasher.update(restart_count.to_string().as_bytes());
    let digest = hasher.finalize();
    digest[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cause_kind_names_round_trip() {
        for kind in CauseKind::ALL {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(CauseKind::parse(kind.as_str()), Some(kind));
        }
    }

    #[test]
    fn container_kind_names_match_json() {
        let kinds = [
            ContainerKind::Regular,
            ContainerKind::Init,
            ContainerKind::Sidecar,
            ContainerKind::Ephemeral,
        ];
        for kind in kinds {
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
    }

    #[test]
    fn termination_id_depends_on_every_part() {
        let base = termination_id("uid-1", "app", 2);
        assert_eq!(base.len(), 32);
        assert_eq!(base, termination_id("uid-1", "app", 2));
        assert_ne!(base, termination_id("uid-2", "app", 2));
        assert_ne!(base, termination_id("uid-1", "web", 2));
        assert_ne!(base, termination_id("uid-1", "app", 3));
        assert_ne!(termination_id("a", "b1", 0), termination_id("a", "b", 10));
    }
}
