//! What the reason strings of container states, pods, Jobs and `DisruptionTarget` conditions
//! mean, and who sets them.
//!
//! The texts follow the kubelet (`pkg/kubelet/kuberuntime`, `pkg/kubelet/eviction`,
//! `pkg/kubelet/nodeshutdown`, `pkg/kubelet/preemption`), the Job controller and the
//! `DisruptionTarget` reasons of `k8s.io/api/core/v1` as of Kubernetes 1.34.

use serde::Serialize;

/// The meaning of one reason string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ReasonExplanation {
    /// The reason, spelled as Kubernetes writes it.
    pub reason: &'static str,
    /// Where the reason appears (`terminated.reason`, `status.reason`, ...).
    pub field: &'static str,
    /// The component that writes it.
    pub set_by: &'static str,
    /// What it means, in one or two sentences.
    pub meaning: &'static str,
}

const REASONS: &[ReasonExplanation] = &[
    ReasonExplanation {
        reason: "OOMKilled",
        field: "terminated.reason",
        set_by: "container runtime",
        meaning: "The kernel OOM killer ended a process of the container because the container's \
                  memory cgroup reached its limit. Exit code 137 alone does not mean this.",
    },
    ReasonExplanation {
        reason: "Error",
        field: "terminated.reason",
        set_by: "container runtime",
        meaning: "The process exited with a non-zero code. Every non-zero exit gets this \
                  reason, including a graceful exit on SIGTERM (143), so it does not by itself \
                  mean the application failed.",
    },
    ReasonExplanation {
        reason: "Completed",
        field: "terminated.reason",
        set_by: "container runtime",
        meaning: "The process exited with code 0. Under `restartPolicy: Always` the container \
                  is still restarted, and a loop of such exits ends in CrashLoopBackOff.",
    },
    ReasonExplanation {
        reason: "ContainerCannotRun",
        field: "terminated.reason",
        set_by: "Docker (dockershim)",
        meaning: "The runtime created the container but could not start its process, most \
                  often because the entrypoint is missing or not executable. The message has \
                  the runtime's error.",
    },
    ReasonExplanation {
        reason: "StartError",
        field: "terminated.reason",
        set_by: "containerd",
        meaning: "The runtime could not start the process (exit code 128). The message has the \
                  runtime's error, such as `exec: \"\": executable file not found in $PATH`; \
                  `startedAt` is the zero time because nothing ran.",
    },
    ReasonExplanation {
        reason: "ContainerStatusUnknown",
        field: "terminated.reason",
        set_by: "kubelet",
        meaning: "kubelet could not find the container when the pod was terminated or deleted \
                  and wrote a placeholder state with exit code 137. It is not an observed exit \
                  or SIGKILL.",
    },
    ReasonExplanation {
        reason: "Unknown",
        field: "terminated.reason",
        set_by: "kubelet",
        meaning: "The runtime lost the container's state, typically across a node reboot, and \
                  kubelet reports exit code 255. It is not an application error.",
    },
    ReasonExplanation {
        reason: "CrashLoopBackOff",
        field: "waiting.reason",
        set_by: "kubelet",
        meaning: "The container exited and kubelet waits before starting it again, doubling the \
                  delay up to five minutes. The cause is in `lastState.terminated`.",
    },
    ReasonExplanation {
        reason: "RunContainerError",
        field: "waiting.reason",
        set_by: "kubelet",
        meaning: "Starting the container failed and kubelet waits before the next attempt. The \
                  cause is in `lastState.terminated` or the events.",
    },
    ReasonExplanation {
        reason: "CreateContainerConfigError",
        field: "waiting.reason",
        set_by: "kubelet",
        meaning: "kubelet could not build the container's configuration, for example because a \
                  referenced Secret or ConfigMap key is missing. The process never ran.",
    },
    ReasonExplanation {
        reason: "CreateContainerError",
        field: "waiting.reason",
        set_by: "kubelet",
        meaning: "The runtime failed to create the container. The process never ran.",
    },
    ReasonExplanation {
        reason: "ImagePullBackOff",
        field: "waiting.reason",
        set_by: "kubelet",
        meaning: "Pulling the image failed and kubelet waits before retrying. The process never \
                  ran.",
    },
    ReasonExplanation {
        reason: "ErrImagePull",
        field: "waiting.reason",
        set_by: "kubelet",
        meaning: "Pulling the image failed. The process never ran.",
    },
    ReasonExplanation {
        reason: "PodInitializing",
        field: "waiting.reason",
        set_by: "kubelet",
        meaning: "The container waits for the pod's init containers to finish. It has not \
                  started, so it has no exit.",
    },
    ReasonExplanation {
        reason: "Evicted",
        field: "pod status.reason",
        set_by: "kubelet (node-pressure eviction) or the Eviction API",
        meaning: "The pod was stopped to reclaim a node resource (memory, disk, inodes, PIDs). \
                  The message names the resource, the threshold and the containers that used \
                  more than they requested.",
    },
    ReasonExplanation {
        reason: "Preempting",
        field: "pod status.reason",
        set_by: "kubelet",
        meaning: "kubelet stopped the pod to admit a critical pod (\"Preempted in order to admit \
                  critical pod\").",
    },
    ReasonExplanation {
        reason: "Terminated",
        field: "pod status.reason",
        set_by: "kubelet (graceful node shutdown)",
        meaning: "The pod was stopped because its node was shutting down (\"Pod was terminated \
                  in response to imminent node shutdown.\"). Kubernetes before 1.22 wrote \
                  `Shutdown`.",
    },
    ReasonExplanation {
        reason: "Shutdown",
        field: "pod status.reason",
        set_by: "kubelet (graceful node shutdown, before Kubernetes 1.22)",
        meaning: "The pod was stopped because its node was shutting down (\"Node is shutting, \
                  evicting pods\").",
    },
    ReasonExplanation {
        reason: "NodeLost",
        field: "pod status.reason",
        set_by: "node lifecycle controller",
        meaning: "The node stopped reporting, so the pod's containers were not observed to \
                  end.",
    },
    ReasonExplanation {
        reason: "DeadlineExceeded",
        field: "pod status.reason or Job condition reason",
        set_by: "kubelet (`activeDeadlineSeconds` of the pod) or the Job controller",
        meaning: "The pod or Job ran longer than its `activeDeadlineSeconds` and was stopped.",
    },
    ReasonExplanation {
        reason: "BackoffLimitExceeded",
        field: "Job condition reason",
        set_by: "Job controller",
        meaning: "The Job's pods failed more times than `backoffLimit` allows, so the Job \
                  failed. The pods' own exits say why each attempt failed.",
    },
    ReasonExplanation {
        reason: "PreemptionByScheduler",
        field: "DisruptionTarget condition reason",
        set_by: "kube-scheduler",
        meaning: "The scheduler preempted the pod to make room for a pod of higher priority. \
                  Kubernetes 1.26 wrote `PreemptionByKubeScheduler`.",
    },
    ReasonExplanation {
        reason: "PreemptionByKubeScheduler",
        field: "DisruptionTarget condition reason",
        set_by: "kube-scheduler (Kubernetes 1.26)",
        meaning: "The scheduler preempted the pod to make room for a pod of higher priority.",
    },
    ReasonExplanation {
        reason: "TerminationByKubelet",
        field: "DisruptionTarget condition reason",
        set_by: "kubelet",
        meaning: "kubelet stopped the pod: node-pressure eviction or graceful node shutdown. \
                  The condition's message says which.",
    },
    ReasonExplanation {
        reason: "EvictionByEvictionAPI",
        field: "DisruptionTarget condition reason",
        set_by: "kube-apiserver (Eviction API)",
        meaning: "The pod was evicted through the Eviction API, as `kubectl drain` and the \
                  cluster autoscaler do.",
    },
    ReasonExplanation {
        reason: "DeletionByTaintManager",
        field: "DisruptionTarget condition reason",
        set_by: "taint eviction controller",
        meaning: "The pod was deleted because its node got a `NoExecute` taint the pod does not \
                  tolerate, usually because the node became unreachable or not ready.",
    },
    ReasonExplanation {
        reason: "DeletionByPodGC",
        field: "DisruptionTarget condition reason",
        set_by: "pod garbage collector",
        meaning: "The pod was deleted because it was bound to a node that no longer exists or \
                  is out of service.",
    },
];

/// Explains a reason string; the lookup ignores ASCII case. Returns `None` for reasons
/// podmortem has no text for.
pub fn explain_reason(reason: &str) -> Option<ReasonExplanation> {
    let reason = reason.trim();
    REASONS
        .iter()
        .find(|known| known.reason.eq_ignore_ascii_case(reason))
        .copied()
}

/// Returns every reason [`explain_reason`] knows, in table order.
pub fn known_reasons() -> impl Iterator<Item = &'static str> {
    REASONS.iter().map(|known| known.reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_the_brief_names_are_known() {
        let names = [
            "OOMKilled",
            "Error",
            "Completed",
            "ContainerCannotRun",
            "StartError",
            "ContainerStatusUnknown",
            "Evicted",
            "DeadlineExceeded",
            "Preempting",
            "CrashLoopBackOff",
        ];
        for name in names {
            assert!(explain_reason(name).is_some(), "{name}");
        }
    }

    #[test]
    fn reason_lookup_ignores_case() {
        let explanation = explain_reason("oomkilled").unwrap();
        assert_eq!(explanation.reason, "OOMKilled");
    }

    #[test]
    fn unknown_reason_is_none() {
        assert_eq!(explain_reason("NoSuchReason"), None);
    }
}
