//! Container instances from pod status.
//!
//! A container status holds only `state` and `lastState`, and kubelet sets `restartCount` from
//! the *latest* runtime container of that name (`convertToAPIContainerStatuses` in
//! `pkg/kubelet/kubelet_pods.go`). The restart number of a dead instance therefore depends on
//! the state:
//!
//! - `running`, or `waiting` with an empty reason (created, not yet running): the latest
//!   container is the new instance, so the one in `lastState` is `restartCount - 1`.
//! - `terminated`: the latest container is the dead instance itself (`restartCount`), and the
//!   one in `lastState` is `restartCount - 1`.
//! - `waiting` with a reason from kubelet's back-off cache (`CrashLoopBackOff`,
//!   `RunContainerError`, `ErrImagePull`, ...): kubelet moved the dead latest container's
//!   terminated state into `lastState`, so that instance is `restartCount`.
//!
//! The restart number is the `N` of the instance's `N.log` file, which is how these records
//! meet the node's files. A pod that ended at pod level (evicted, preempted, node shutdown,
//! deadline) also yields a record for each container that has no terminated state, with no exit
//! code, so that the pod-level cause is recorded for it.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateTerminated, ContainerStatus, Pod, PodSpec, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::diagnose;
use crate::model::{ContainerKind, InstanceKey, Owner, Source, Termination};

/// Waiting reasons that kubelet sets without a dead latest container: the container is being
/// created, or its pod's init containers have not finished.
const WAITING_REASONS_WITHOUT_DEAD_CONTAINER: [&str; 3] =
    ["", "ContainerCreating", "PodInitializing"];

/// Reason kubelet writes into a synthetic terminated state, with exit code 137, when it could
/// not find the container (`pkg/kubelet/kubelet_pods.go`). The code is a placeholder, not an
/// observed SIGKILL, so no signal is derived from it.
const PLACEHOLDER_REASON: &str = "ContainerStatusUnknown";

/// Part of the pod status a record was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// `state.terminated`: the latest runtime container of that name.
    State,
    /// `lastState.terminated`.
    LastState,
    /// No terminated state: the pod ended at pod level while the container had not exited.
    PodLevel,
}

/// One dead container instance found in a pod's status.
#[derive(Debug, Clone)]
pub struct Instance {
    pub termination: Termination,
    pub slot: Slot,
}

/// Source and time of a pod object's observation.
#[derive(Debug, Clone, Copy)]
pub struct Observation {
    pub source: Source,
    pub observed_at: Timestamp,
}

/// Returns every dead container instance in the pod's status, as undiagnosed records observed
/// now from saved objects.
pub fn detect_pod(pod: &Pod) -> Vec<Termination> {
    let observation = Observation {
        source: Source::Dump,
        observed_at: Timestamp::now(),
    };
    detect_instances(pod, &observation)
        .into_iter()
        .map(|instance| instance.termination)
        .collect()
}

/// Returns every dead container instance in the pod's status, with the slot each was read from.
pub fn detect_instances(pod: &Pod, observation: &Observation) -> Vec<Instance> {
    let Some(status) = pod.status.as_ref() else {
        return Vec::new();
    };
    let spec = pod.spec.as_ref();
    let identity = PodIdentity::of(pod);

    let mut instances = Vec::new();
    let groups = [
        (status.init_container_statuses.as_deref(), false),
        (status.container_statuses.as_deref(), false),
        (status.ephemeral_container_statuses.as_deref(), true),
    ];
    for (statuses, ephemeral) in groups {
        for container_status in statuses.unwrap_or_default() {
            let kind = container_kind(spec, &container_status.name, ephemeral);
            let context = ContainerContext {
                identity: &identity,
                kind,
                status: container_status,
            };
            instances.extend(instances_of_container(&context, observation));
        }
    }

    if pod_ended_at_pod_level(status) {
        instances.extend(pod_level_instances(&identity, spec, status, observation));
    }
    instances
}

/// Returns a record of the pod's identity (namespace, name, uid, node, owner, pod-level
/// reason) for one instance of one container, with every instance-specific field empty.
pub fn blank_record(
    pod: &Pod,
    container: &str,
    restart_count: u32,
    observation: &Observation,
) -> Termination {
    let identity = PodIdentity::of(pod);
    let ephemeral = pod
        .spec
        .as_ref()
        .and_then(|spec| spec.ephemeral_containers.as_ref())
        .is_some_and(|containers| containers.iter().any(|spec| spec.name == container));
    let kind = container_kind(pod.spec.as_ref(), container, ephemeral);
    identity.record(container, kind, restart_count, observation)
}

/// Returns the kind of a container: `init` containers with `restartPolicy: Always` are
/// sidecars. A container whose spec is missing is taken as regular.
pub fn container_kind(spec: Option<&PodSpec>, name: &str, ephemeral: bool) -> ContainerKind {
    if ephemeral {
        return ContainerKind::Ephemeral;
    }
    let Some(spec) = spec else {
        return ContainerKind::Regular;
    };
    let init = spec
        .init_containers
        .iter()
        .flatten()
        .find(|container| container.name == name);
    match init {
        Some(container) if container.restart_policy.as_deref() == Some("Always") => {
            ContainerKind::Sidecar
        }
        Some(_) => ContainerKind::Init,
        None => ContainerKind::Regular,
    }
}

/// Returns true when the pod as a whole has ended for a pod-level reason, so that containers
/// without a terminated state still ended with it.
pub fn pod_ended_at_pod_level(status: &PodStatus) -> bool {
    let finished = matches!(status.phase.as_deref(), Some("Failed" | "Succeeded"));
    let has_reason = status
        .reason
        .as_deref()
        .is_some_and(|reason| !reason.is_empty());
    let disrupted = status
        .conditions
        .iter()
        .flatten()
        .any(|condition| condition.type_ == "DisruptionTarget" && condition.status == "True");
    finished && (has_reason || disrupted)
}

/// Returns the time, or `None` for a missing time and for the zero times runtimes report for
/// a process that never started (1970-01-01 or Go's 0001-01-01).
pub fn real_time(time: Option<&Time>) -> Option<Timestamp> {
    let time = time?.0;
    (time > Timestamp::UNIX_EPOCH).then_some(time)
}

/// Label that the Deployment controller puts on the pods of each of its ReplicaSets.
const POD_TEMPLATE_HASH: &str = "pod-template-hash";

/// Returns the workload above a pod's controlling `owner`.
///
/// The Deployment controller names each ReplicaSet `<deployment>-<hash>` and labels its pods
/// `pod-template-hash=<hash>`, so a ReplicaSet owner whose name ends in the pod's hash belongs
/// to that Deployment. The CronJob controller names each Job `<cronjob>-<scheduled time in
/// minutes since 1970>`.
pub fn workload_of(owner: &Owner, template_hash: Option<&str>) -> Owner {
    let parent = |kind: &str, name: &str| Owner {
        kind: kind.to_owned(),
        name: name.to_owned(),
    };
    match owner.kind.as_str() {
        "ReplicaSet" => {
            let deployment = template_hash
                .filter(|hash| !hash.is_empty())
                .and_then(|hash| owner.name.strip_suffix(hash))
                .and_then(|rest| rest.strip_suffix('-'))
                .filter(|name| !name.is_empty());
            match deployment {
                Some(name) => parent("Deployment", name),
                None => owner.clone(),
            }
        }
        "Job" => match owner.name.rsplit_once('-') {
            Some((name, minutes)) if !name.is_empty() && is_schedule_minute(minutes) => {
                parent("CronJob", name)
            }
            _ => owner.clone(),
        },
        _ => owner.clone(),
    }
}

/// Returns whether `text` is an eight-digit minute count (1989 to about 2160), as the CronJob
/// controller appends to the names of its Jobs.
///
/// NOTE: a Job created by hand with a name such as `backup-28500000` is taken as a CronJob's.
fn is_schedule_minute(text: &str) -> bool {
    text.len() == 8 && text.bytes().all(|byte| byte.is_ascii_digit()) && !text.starts_with('0')
}

/// Fields every record of one pod shares.
struct PodIdentity {
    namespace: String,
    pod: String,
    pod_uid: String,
    node: Option<String>,
    owner: Option<Owner>,
    workload: Option<Owner>,
    pod_reason: Option<String>,
    pod_message: Option<String>,
}

impl PodIdentity {
    fn of(pod: &Pod) -> Self {
        let metadata = &pod.metadata;
        let namespace = metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_owned());
        let name = metadata.name.clone().unwrap_or_default();
        let pod_uid = match metadata.uid.as_deref() {
            Some(uid) if !uid.is_empty() => uid.to_owned(),
            _ => format!("{namespace}/{name}"),
        };
        let owner = metadata
            .owner_references
            .iter()
            .flatten()
            .find(|owner| owner.controller == Some(true));
        let owner = owner.map(|owner| Owner {
            kind: owner.kind.clone(),
            name: owner.name.clone(),
        });
        let template_hash = metadata
            .labels
            .as_ref()
            .and_then(|labels| labels.get(POD_TEMPLATE_HASH));
        let workload = owner
            .as_ref()
            .map(|owner| workload_of(owner, template_hash.map(String::as_str)));
        let status = pod.status.as_ref();
        PodIdentity {
            namespace,
            pod: name,
            pod_uid,
            node: pod
                .spec
                .as_ref()
                .and_then(|spec| non_empty(spec.node_name.as_deref())),
            owner,
            workload,
            pod_reason: status.and_then(|status| non_empty(status.reason.as_deref())),
            pod_message: status.and_then(|status| non_empty(status.message.as_deref())),
        }
    }

    fn record(
        &self,
        container: &str,
        kind: ContainerKind,
        restart_count: u32,
        observation: &Observation,
    ) -> Termination {
        let key = InstanceKey {
            namespace: &self.namespace,
            pod: &self.pod,
            pod_uid: &self.pod_uid,
            container,
            container_kind: kind,
            restart_count,
        };
        let mut record = Termination::new(key, observation.source, observation.observed_at);
        record.node = self.node.clone();
        record.owner = self.owner.clone();
        record.workload = self.workload.clone();
        record.pod_reason = self.pod_reason.clone();
        record.pod_message = self.pod_message.clone();
        record
    }
}

struct ContainerContext<'a> {
    identity: &'a PodIdentity,
    kind: ContainerKind,
    status: &'a ContainerStatus,
}

fn instances_of_container(
    context: &ContainerContext<'_>,
    observation: &Observation,
) -> Vec<Instance> {
    let status = context.status;
    let restart_count = u32::try_from(status.restart_count).unwrap_or(0);
    let state = status.state.as_ref();
    let mut instances = Vec::new();

    let current = state.and_then(|state| state.terminated.as_ref());
    let last = status
        .last_state
        .as_ref()
        .and_then(|state| state.terminated.as_ref());
    let phantom = current.is_some_and(is_placeholder) && last.is_some_and(is_placeholder);

    if let Some(terminated) = current.filter(|_| !phantom) {
        let record = terminated_record(context, terminated, restart_count, observation);
        instances.push(Instance {
            termination: record,
            slot: Slot::State,
        });
    }

    if let Some(terminated) = last {
        let duplicate = current.is_some_and(|current| same_container(current, terminated));
        if !duplicate {
            let number = last_state_restart_number(state, restart_count);
            let record = terminated_record(context, terminated, number, observation);
            instances.push(Instance {
                termination: record,
                slot: Slot::LastState,
            });
        }
    }
    instances
}

/// Returns the restart number of the instance in `lastState`, following the table in the
/// module documentation. A status that contradicts itself (a dead earlier instance with
/// `restartCount` 0) gives 0, so the exit is kept rather than dropped.
fn last_state_restart_number(state: Option<&ContainerState>, restart_count: u32) -> u32 {
    let waiting_reason = state
        .and_then(|state| state.waiting.as_ref())
        .map(|waiting| waiting.reason.as_deref().unwrap_or(""));
    match waiting_reason {
        Some(reason) if !WAITING_REASONS_WITHOUT_DEAD_CONTAINER.contains(&reason) => restart_count,
        _ => restart_count.saturating_sub(1),
    }
}

/// Returns true for kubelet's `ContainerStatusUnknown` placeholder of a container it could not
/// find.
///
/// When a running container disappears (an eviction, a node that lost it), kubelet writes the
/// placeholder into `lastState` and, because the pod has no deletion timestamp, adds one to
/// `restartCount`. Once the pod is terminal it writes a second placeholder into `state`
/// (`convertToAPIContainerStatuses` in `pkg/kubelet/kubelet_pods.go`). Both describe the one
/// instance that was running, so detection drops the one in `state` and the instance keeps
/// the restart number it ran with.
fn is_placeholder(terminated: &ContainerStateTerminated) -> bool {
    terminated.reason.as_deref() == Some(PLACEHOLDER_REASON)
        && non_empty(terminated.container_id.as_deref()).is_none()
}

/// Returns true when both terminated states carry the same non-empty container id.
fn same_container(a: &ContainerStateTerminated, b: &ContainerStateTerminated) -> bool {
    match (
        non_empty(a.container_id.as_deref()),
        non_empty(b.container_id.as_deref()),
    ) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

fn terminated_record(
    context: &ContainerContext<'_>,
    terminated: &ContainerStateTerminated,
    restart_count: u32,
    observation: &Observation,
) -> Termination {
    let status = context.status;
    let mut record =
        context
            .identity
            .record(&status.name, context.kind, restart_count, observation);
    let exit_code = i64::from(terminated.exit_code);

    record.image = non_empty(Some(&status.image));
    record.container_id = non_empty(terminated.container_id.as_deref());
    record.exit_code = Some(exit_code);
    let placeholder = terminated.reason.as_deref() == Some(PLACEHOLDER_REASON);
    record.signal = match terminated.signal {
        _ if placeholder => None,
        Some(signal) if signal > 0 => diagnose::signal_name(i64::from(signal))
            .map(str::to_owned)
            .or_else(|| Some(format!("signal {signal}"))),
        _ => diagnose::signal_from_exit_code(exit_code).map(str::to_owned),
    };
    record.reason = non_empty(terminated.reason.as_deref());
    record.message = non_empty(terminated.message.as_deref());
    record.started_at = real_time(terminated.started_at.as_ref());
    record.finished_at = real_time(terminated.finished_at.as_ref());
    record
}

/// Returns a record for every container that was still alive (or never started) when its pod
/// ended at pod level.
fn pod_level_instances(
    identity: &PodIdentity,
    spec: Option<&PodSpec>,
    status: &PodStatus,
    observation: &Observation,
) -> Vec<Instance> {
    let Some(spec) = spec else {
        return Vec::new();
    };
    let statuses: Vec<&ContainerStatus> = status
        .container_statuses
        .iter()
        .chain(status.init_container_statuses.iter())
        .flatten()
        .collect();

    let sidecars = spec
        .init_containers
        .iter()
        .flatten()
        .filter(|container| container.restart_policy.as_deref() == Some("Always"));
    let candidates = spec.containers.iter().chain(sidecars);
    let mut instances = Vec::new();
    for container in candidates {
        let container_status = statuses.iter().find(|status| status.name == container.name);
        let Some(restart_count) = pod_level_restart_number(container_status.copied()) else {
            continue;
        };
        let kind = container_kind(Some(spec), &container.name, false);
        let mut record = identity.record(&container.name, kind, restart_count, observation);
        record.image = container_status
            .and_then(|status| non_empty(Some(&status.image)))
            .or_else(|| non_empty(container.image.as_deref()));
        instances.push(Instance {
            termination: record,
            slot: Slot::PodLevel,
        });
    }
    instances
}

/// Returns the restart number of the instance that was current when the pod ended, or `None`
/// when the container status already contains that instance's exit (a terminated state, or a
/// back-off wait whose dead instance is in `lastState`).
fn pod_level_restart_number(status: Option<&ContainerStatus>) -> Option<u32> {
    let Some(status) = status else {
        return Some(0);
    };
    let restart_count = u32::try_from(status.restart_count).unwrap_or(0);
    let state = status.state.as_ref();
    if state.is_some_and(|state| state.terminated.is_some()) {
        return None;
    }
    let waiting_reason = state
        .and_then(|state| state.waiting.as_ref())
        .map(|waiting| waiting.reason.as_deref().unwrap_or(""));
    let dead_latest = waiting_reason
        .is_some_and(|reason| !WAITING_REASONS_WITHOUT_DEAD_CONTAINER.contains(&reason));
    let has_last = status
        .last_state
        .as_ref()
        .is_some_and(|last| last.terminated.is_some());
    if dead_latest && has_last {
        return None;
    }
    Some(restart_count)
}

fn non_empty(value: Option<&str>) -> Option<String> {
    value.filter(|value| !value.is_empty()).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads the pods of one case file, a Pod or a PodList.
    fn case_pods(file: &str) -> Vec<Pod> {
        let path = format!("{}/tests/data/cases/{file}", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(&path).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        match value.get("items") {
            Some(items) => serde_json::from_value(items.clone()).unwrap(),
            None => vec![serde_json::from_value(value).unwrap()],
        }
    }

    /// One expected instance: pod, container, restart number, slot, exit code, signal.
    type Expected = (
        &'static str,
        &'static str,
        u32,
        Slot,
        Option<i64>,
        Option<&'static str>,
    );

    const CASES: &[(&str, &[Expected])] = &[
        (
            "01-oomkilled-memory-limit.json",
            &[(
                "api-7d9f8c6b5d-x2k4q",
                "api",
                2,
                Slot::LastState,
                Some(137),
                Some("SIGKILL"),
            )],
        ),
        (
            "02-exit137-liveness-kill.pod.json",
            &[(
                "web-5c7f9d8b44-qq8ld",
                "web",
                0,
                Slot::LastState,
                Some(137),
                Some("SIGKILL"),
            )],
        ),
        (
            "04-exit143-sigterm-rollout.pod.json",
            &[(
                "orders-64b5d7f9c8-7tq2w",
                "orders",
                0,
                Slot::State,
                Some(143),
                Some("SIGTERM"),
            )],
        ),
        (
            "05-exit139-segfault.json",
            &[
                (
                    "operator-6c9b7d5f4-r8n2v",
                    "operator",
                    2,
                    Slot::State,
                    Some(139),
                    Some("SIGSEGV"),
                ),
                (
                    "operator-6c9b7d5f4-r8n2v",
                    "operator",
                    1,
                    Slot::LastState,
                    Some(139),
                    Some("SIGSEGV"),
                ),
            ],
        ),
        (
            "08-init-crashloop-termination-message.json",
            &[(
                "cfg-app-5d8c7b6f9-h2k8s",
                "init",
                16,
                Slot::LastState,
                Some(1),
                None,
            )],
        ),
        (
            "09-exit127-command-not-found.json",
            &[("db-0", "db", 10, Slot::LastState, Some(127), None)],
        ),
        (
            "11-starterror-exit128.json",
            &[("connect-0", "connect", 4, Slot::LastState, Some(128), None)],
        ),
        (
            "15-evicted-memory-pressure.pod.json",
            &[
                (
                    "controller-77ffc657cf-4z7wb",
                    "controller",
                    1,
                    Slot::LastState,
                    Some(137),
                    None,
                ),
                (
                    "controller-77ffc657cf-4z7wb",
                    "proxy",
                    1,
                    Slot::LastState,
                    Some(137),
                    None,
                ),
            ],
        ),
        (
            "17-node-shutdown.json",
            &[
                (
                    "web-66b6c48dd5-bchnh",
                    "nginx",
                    0,
                    Slot::State,
                    Some(0),
                    None,
                ),
                (
                    "web-66b6c48dd5-2pw4q",
                    "nginx",
                    0,
                    Slot::LastState,
                    Some(255),
                    None,
                ),
            ],
        ),
        (
            "19-preempted.json",
            &[
                (
                    "batch-worker-0",
                    "worker",
                    0,
                    Slot::State,
                    Some(137),
                    Some("SIGKILL"),
                ),
                ("spark-exec-12", "executor", 0, Slot::PodLevel, None, None),
            ],
        ),
        (
            "20-native-sidecar.pods.json",
            &[
                (
                    "reservation-7d4b9c8f6-t5v2n",
                    "otel-collector",
                    5,
                    Slot::LastState,
                    Some(0),
                    None,
                ),
                (
                    "ci-job-1771-8kq2f",
                    "proxy",
                    0,
                    Slot::State,
                    Some(143),
                    Some("SIGTERM"),
                ),
                ("ci-job-1771-8kq2f", "task", 0, Slot::State, Some(0), None),
            ],
        ),
        (
            "21-fallback-to-logs.json",
            &[(
                "storage-controller-55c6c84c5f-c48nn",
                "plugin",
                3,
                Slot::LastState,
                Some(1),
                None,
            )],
        ),
        (
            "24-rotated-logs.pod.json",
            &[(
                "app-1-6d4cf56db6-abcde",
                "app",
                0,
                Slot::LastState,
                Some(255),
                None,
            )],
        ),
        (
            "28-termination-log-files.pod.json",
            &[
                (
                    "config-svc-6b7c8d9e0f-lmn34",
                    "wait-for-db",
                    0,
                    Slot::State,
                    Some(0),
                    None,
                ),
                (
                    "config-svc-6b7c8d9e0f-lmn34",
                    "app",
                    1,
                    Slot::LastState,
                    Some(137),
                    Some("SIGKILL"),
                ),
            ],
        ),
        (
            "29-exit0-crashloop.json",
            &[(
                "tools-6846f658db-w4qhj",
                "tools",
                6,
                Slot::LastState,
                Some(0),
                None,
            )],
        ),
    ];

    fn observation() -> Observation {
        Observation {
            source: Source::Dump,
            observed_at: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn case_pods_yield_expected_instances() {
        for (file, expected) in CASES {
            let pods = case_pods(file);
            let found: Vec<Instance> = pods
                .iter()
                .flat_map(|pod| detect_instances(pod, &observation()))
                .collect();
            let actual: Vec<String> = found
                .iter()
                .map(|instance| {
                    let record = &instance.termination;
                    let signal = record.signal.as_deref();
                    let fields = (
                        record.restart_count,
                        instance.slot,
                        record.exit_code,
                        signal,
                    );
                    format!("{}/{} {fields:?}", record.pod, record.container)
                })
                .collect();
            let wanted: Vec<String> = expected
                .iter()
                .map(|(pod, container, restart, slot, exit_code, signal)| {
                    format!("{pod}/{container} {:?}", (restart, slot, exit_code, signal))
                })
                .collect();
            assert_eq!(actual, wanted, "instances of `{file}`");
        }
    }

    #[test]
    fn never_started_container_has_no_start_time() {
        let pods = case_pods("11-starterror-exit128.json");
        let records = detect_pod(&pods[0]);
        assert_eq!(records[0].started_at, None);
        assert!(records[0].finished_at.is_some());
        assert_eq!(records[0].reason.as_deref(), Some("StartError"));
    }

    #[test]
    fn placeholder_status_has_no_times_or_container_id() {
        let pods = case_pods("15-evicted-memory-pressure.pod.json");
        for record in detect_pod(&pods[0]) {
            assert_eq!(record.started_at, None, "{}", record.container);
            assert_eq!(record.finished_at, None, "{}", record.container);
            assert_eq!(record.container_id, None, "{}", record.container);
            assert_eq!(record.pod_reason.as_deref(), Some("Evicted"));
        }
    }

    #[test]
    fn sidecar_and_init_kinds() {
        let pods = case_pods("20-native-sidecar.pods.json");
        let records: Vec<Termination> = pods.iter().flat_map(detect_pod).collect();
        let kind_of = |name: &str| {
            records
                .iter()
                .find(|record| record.container == name)
                .map(|record| record.container_kind)
        };
        assert_eq!(kind_of("otel-collector"), Some(ContainerKind::Sidecar));
        assert_eq!(kind_of("proxy"), Some(ContainerKind::Sidecar));
        assert_eq!(kind_of("task"), Some(ContainerKind::Regular));

        let pods = case_pods("28-termination-log-files.pod.json");
        let records = detect_pod(&pods[0]);
        assert_eq!(records[0].container_kind, ContainerKind::Init);
    }

    #[test]
    fn owner_and_node_come_from_the_pod() {
        let pods = case_pods("13-job-backofflimit.pods.json");
        let records: Vec<Termination> = pods.iter().flat_map(detect_pod).collect();
        assert_eq!(records.len(), 5);
        for record in &records {
            let owner = record.owner.as_ref().unwrap();
            assert_eq!(owner.kind, "Job");
            assert_eq!(owner.name, "nightly-report");
            assert_eq!(record.workload.as_ref(), Some(owner));
            assert_eq!(record.restart_count, 0);
            assert_eq!(record.exit_code, Some(1));
        }
    }

    #[test]
    fn workload_follows_owner_names() {
        let owner = |kind: &str, name: &str| Owner {
            kind: kind.to_owned(),
            name: name.to_owned(),
        };
        let cases = [
            (
                owner("ReplicaSet", "api-7d9f8c6b5d"),
                Some("7d9f8c6b5d"),
                owner("Deployment", "api"),
            ),
            (
                owner("ReplicaSet", "api-7d9f8c6b5d"),
                Some("5c8d7f9b6"),
                owner("ReplicaSet", "api-7d9f8c6b5d"),
            ),
            (
                owner("ReplicaSet", "api-7d9f8c6b5d"),
                None,
                owner("ReplicaSet", "api-7d9f8c6b5d"),
            ),
            (
                owner("ReplicaSet", "7d9f8c6b5d"),
                Some("7d9f8c6b5d"),
                owner("ReplicaSet", "7d9f8c6b5d"),
            ),
            (
                owner("Job", "report-28461330"),
                None,
                owner("CronJob", "report"),
            ),
            (
                owner("Job", "nightly-report"),
                None,
                owner("Job", "nightly-report"),
            ),
            (
                owner("Job", "report-2846"),
                None,
                owner("Job", "report-2846"),
            ),
            (
                owner("StatefulSet", "render"),
                Some("abc"),
                owner("StatefulSet", "render"),
            ),
        ];
        for (given, hash, expected) in cases {
            assert_eq!(
                workload_of(&given, hash),
                expected,
                "{given:?} with {hash:?}"
            );
        }
    }

    #[test]
    fn waiting_reason_sets_last_state_number() {
        let waiting = |reason: Option<&str>| ContainerState {
            waiting: Some(k8s_openapi::api::core::v1::ContainerStateWaiting {
                reason: reason.map(str::to_owned),
                message: None,
            }),
            ..ContainerState::default()
        };
        let running = ContainerState {
            running: Some(Default::default()),
            ..ContainerState::default()
        };
        assert_eq!(last_state_restart_number(Some(&running), 3), 2);
        assert_eq!(last_state_restart_number(Some(&waiting(None)), 3), 2);
        assert_eq!(
            last_state_restart_number(Some(&waiting(Some("PodInitializing"))), 3),
            2
        );
        assert_eq!(
            last_state_restart_number(Some(&waiting(Some("CrashLoopBackOff"))), 3),
            3
        );
        assert_eq!(
            last_state_restart_number(Some(&waiting(Some("CreateContainerConfigError"))), 3),
            3
        );
        assert_eq!(last_state_restart_number(Some(&running), 0), 0);
        assert_eq!(last_state_restart_number(None, 1), 0);
    }

    #[test]
    fn duplicate_last_state_is_dropped() {
        let mut pod = case_pods("05-exit139-segfault.json").remove(0);
        let status = pod
            .status
            .as_mut()
            .unwrap()
            .container_statuses
            .as_mut()
            .unwrap();
        let current = status[0].state.clone().unwrap();
        status[0].last_state = Some(current);
        let records = detect_pod(&pod);
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].restart_count, 2);
    }
}
