//! Container status changes as kubelet makes them when a container dies, following
//! `convertToAPIContainerStatuses` in `pkg/kubelet/kubelet_pods.go` (Kubernetes 1.34):
//! `restartCount` comes from the latest runtime container of that name, and `lastState` contains
//! the instance before the one that `state` describes.
//!
//! - A restart (the new instance runs): `lastState.terminated` gets the dead instance with its
//!   container id and start and finish times, `restartCount` grows by one, and `state.running`
//!   describes the new instance with a new container id.
//! - A crash-loop wait (the dead instance is the latest): `state.waiting` is
//!   `CrashLoopBackOff`, `lastState.terminated` is the dead instance, and `restartCount` stays,
//!   because it is still the dead instance's number.
//! - The start after the back-off: the new instance runs, `restartCount` grows by one, and
//!   `lastState` keeps the dead instance.
//! - A final exit (the restart policy ends the container): `state.terminated` describes the
//!   dead instance with its container id, and `lastState` and `restartCount` stay.

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus, Pod,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// Kubelet's first crash-loop back-off; it doubles per restart up to the maximum.
const INITIAL_BACK_OFF_SECONDS: u64 = 10;

/// Kubelet's maximum crash-loop back-off (`MaxContainerBackOff`, 300 s).
const MAX_BACK_OFF_SECONDS: u64 = 300;

/// Errors of kubelet transitions.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The pod has no status for the container.
    #[error(
        "pod `{pod}` has no status for container `{container}`: set `status.containerStatuses` first"
    )]
    NoContainerStatus {
        /// The pod name.
        pod: String,
        /// The container name.
        container: String,
    },
    /// The transition needs another current state.
    #[error("container `{container}` of pod `{pod}` is not {expected}: its state is {actual}")]
    WrongState {
        /// The pod name.
        pod: String,
        /// The container name.
        container: String,
        /// The state the transition needs.
        expected: &'static str,
        /// The state the container is in.
        actual: &'static str,
    },
}

/// The end of a container instance: exit code, reason and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    /// The exit code.
    pub exit_code: i32,
    /// `terminated.reason`, such as `Error`, `OOMKilled` or `Completed`.
    pub reason: String,
    /// `terminated.message`, from the termination-message file.
    pub message: Option<String>,
}

/// Kills the running instance of `container` and starts the next one with `new_container_id`.
pub fn restart(
    pod: &mut Pod,
    container: &str,
    exit: &Exit,
    now: Timestamp,
    new_container_id: String,
) -> Result<(), Error> {
    let ready = !has_readiness_probe(pod, container);
    let status = running_status(pod, container)?;
    let dead = terminated_instance(status, exit, now);

    status.last_state = Some(ContainerState {
        terminated: Some(dead),
        ..ContainerState::default()
    });
    start_instance(status, now, new_container_id, ready);
    status.restart_count += 1;
    Ok(())
}

/// Ends the running instance of `container` and leaves it waiting in `CrashLoopBackOff`.
pub fn crash_loop_wait(
    pod: &mut Pod,
    container: &str,
    exit: &Exit,
    now: Timestamp,
) -> Result<(), Error> {
    let pod_label = pod_label(pod);
    let status = running_status(pod, container)?;
    let dead = terminated_instance(status, exit, now);

    let back_off = back_off_seconds(status.restart_count);
    let message =
        format!("back-off {back_off}s restarting failed container={container} pod={pod_label}");
    status.last_state = Some(ContainerState {
        terminated: Some(dead),
        ..ContainerState::default()
    });
    status.state = Some(ContainerState {
        waiting: Some(ContainerStateWaiting {
            reason: Some("CrashLoopBackOff".into()),
            message: Some(message),
        }),
        ..ContainerState::default()
    });
    status.container_id = None;
    status.ready = false;
    status.started = Some(false);
    Ok(())
}

/// Ends the running instance of `container` for good, as under `restartPolicy: Never` or after
/// a successful exit under `OnFailure`.
pub fn terminate(pod: &mut Pod, container: &str, exit: &Exit, now: Timestamp) -> Result<(), Error> {
    let status = running_status(pod, container)?;
    let dead = terminated_instance(status, exit, now);

    status.state = Some(ContainerState {
        terminated: Some(dead),
        ..ContainerState::default()
    });
    status.ready = false;
    status.started = Some(false);
    Ok(())
}

/// Starts the next instance of a container that waits in a back-off.
pub fn start_after_back_off(
    pod: &mut Pod,
    container: &str,
    now: Timestamp,
    new_container_id: String,
) -> Result<(), Error> {
    let ready = !has_readiness_probe(pod, container);
    let pod_name = pod_name(pod);
    let status = find_status(pod, container)?;
    let actual = state_name(status);
    if actual != "waiting" {
        return Err(Error::WrongState {
            pod: pod_name,
            container: container.to_owned(),
            expected: "waiting",
            actual,
        });
    }

    start_instance(status, now, new_container_id, ready);
    status.restart_count += 1;
    Ok(())
}

/// Returns kubelet's back-off before the restart after `restart_count` earlier restarts.
fn back_off_seconds(restart_count: i32) -> u64 {
    let doublings = u32::try_from(restart_count).unwrap_or(0).min(16);
    (INITIAL_BACK_OFF_SECONDS << doublings).min(MAX_BACK_OFF_SECONDS)
}

fn terminated_instance(
    status: &ContainerStatus,
    exit: &Exit,
    now: Timestamp,
) -> ContainerStateTerminated {
    let started_at = status
        .state
        .as_ref()
        .and_then(|state| state.running.as_ref())
        .and_then(|running| running.started_at.clone());
    ContainerStateTerminated {
        container_id: status.container_id.clone(),
        exit_code: exit.exit_code,
        finished_at: Some(Time(now)),
        message: exit.message.clone(),
        reason: Some(exit.reason.clone()),
        signal: None,
        started_at,
    }
}

fn start_instance(status: &mut ContainerStatus, now: Timestamp, container_id: String, ready: bool) {
    status.state = Some(ContainerState {
        running: Some(ContainerStateRunning {
            started_at: Some(Time(now)),
        }),
        ..ContainerState::default()
    });
    status.container_id = Some(container_id);
    status.ready = ready;
    status.started = Some(true);
}

fn running_status<'a>(pod: &'a mut Pod, container: &str) -> Result<&'a mut ContainerStatus, Error> {
    let pod_name = pod_name(pod);
    let status = find_status(pod, container)?;
    let actual = state_name(status);
    if actual == "running" {
        Ok(status)
    } else {
        Err(Error::WrongState {
            pod: pod_name,
            container: container.to_owned(),
            expected: "running",
            actual,
        })
    }
}

fn find_status<'a>(pod: &'a mut Pod, container: &str) -> Result<&'a mut ContainerStatus, Error> {
    let pod_name = pod_name(pod);
    let status = pod.status.as_mut().and_then(|status| {
        let regular = status.container_statuses.iter_mut().flatten();
        let init = status.init_container_statuses.iter_mut().flatten();
        regular.chain(init).find(|status| status.name == container)
    });
    status.ok_or(Error::NoContainerStatus {
        pod: pod_name,
        container: container.to_owned(),
    })
}

fn state_name(status: &ContainerStatus) -> &'static str {
    match status.state.as_ref() {
        Some(state) if state.running.is_some() => "running",
        Some(state) if state.terminated.is_some() => "terminated",
        Some(state) if state.waiting.is_some() => "waiting",
        _ => "unset",
    }
}

fn has_readiness_probe(pod: &Pod, container: &str) -> bool {
    let Some(spec) = pod.spec.as_ref() else {
        return false;
    };
    spec.containers
        .iter()
        .chain(spec.init_containers.iter().flatten())
        .any(|c| c.name == container && c.readiness_probe.is_some())
}

fn pod_name(pod: &Pod) -> String {
    pod.metadata.name.clone().unwrap_or_default()
}

/// Returns `name_namespace(uid)`, as kubelet names a pod in back-off messages.
fn pod_label(pod: &Pod) -> String {
    let metadata = &pod.metadata;
    format!(
        "{}_{}({})",
        metadata.name.as_deref().unwrap_or_default(),
        metadata.namespace.as_deref().unwrap_or_default(),
        metadata.uid.as_deref().unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn running_pod() -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": "x", "namespace": "a", "uid": "u-1"},
            "spec": {"containers": [{"name": "app"}]},
            "status": {"containerStatuses": [{
                "name": "app", "image": "i", "imageID": "", "ready": true, "restartCount": 2,
                "containerID": "containerd://old",
                "state": {"running": {"startedAt": "2024-05-01T10:00:00Z"}}
            }]}
        }))
        .unwrap()
    }

    fn exit() -> Exit {
        Exit {
            exit_code: 137,
            reason: "OOMKilled".into(),
            message: None,
        }
    }

    fn status(pod: &Pod) -> &ContainerStatus {
        &pod.status
            .as_ref()
            .unwrap()
            .container_statuses
            .as_ref()
            .unwrap()[0]
    }

    #[test]
    fn restart_moves_running_into_last_state() {
        let mut pod = running_pod();
        let now: Timestamp = "2024-05-01T10:05:00Z".parse().unwrap();
        restart(&mut pod, "app", &exit(), now, "containerd://new".into()).unwrap();

        let status = status(&pod);
        let dead = status
            .last_state
            .as_ref()
            .unwrap()
            .terminated
            .as_ref()
            .unwrap();
        assert_eq!(dead.container_id.as_deref(), Some("containerd://old"));
        assert_eq!(dead.exit_code, 137);
        assert_eq!(
            dead.started_at,
            Some(Time("2024-05-01T10:00:00Z".parse().unwrap()))
        );
        assert_eq!(dead.finished_at, Some(Time(now)));
        assert_eq!(status.restart_count, 3);
        assert_eq!(status.container_id.as_deref(), Some("containerd://new"));
        assert!(status.state.as_ref().unwrap().running.is_some());
    }

    #[test]
    fn crash_loop_keeps_restart_count() {
        let mut pod = running_pod();
        let now = Timestamp::now();
        crash_loop_wait(&mut pod, "app", &exit(), now).unwrap();

        let status = status(&pod);
        let waiting = status.state.as_ref().unwrap().waiting.as_ref().unwrap();
        assert_eq!(waiting.reason.as_deref(), Some("CrashLoopBackOff"));
        let message = waiting.message.as_deref().unwrap();
        assert_eq!(
            message,
            "back-off 40s restarting failed container=app pod=x_a(u-1)"
        );
        assert_eq!(status.restart_count, 2);
        let dead = status
            .last_state
            .as_ref()
            .unwrap()
            .terminated
            .as_ref()
            .unwrap();
        assert_eq!(dead.container_id.as_deref(), Some("containerd://old"));
    }

    #[test]
    fn back_off_start_counts_restart() {
        let mut pod = running_pod();
        let now = Timestamp::now();
        crash_loop_wait(&mut pod, "app", &exit(), now).unwrap();
        start_after_back_off(&mut pod, "app", now, "containerd://new".into()).unwrap();

        let status = status(&pod);
        assert_eq!(status.restart_count, 3);
        let dead = status
            .last_state
            .as_ref()
            .unwrap()
            .terminated
            .as_ref()
            .unwrap();
        assert_eq!(dead.container_id.as_deref(), Some("containerd://old"));
        let error = crash_loop_wait(&mut running_pod(), "db", &exit(), now).unwrap_err();
        assert!(matches!(error, Error::NoContainerStatus { .. }));
    }

    #[test]
    fn terminate_keeps_container_id() {
        let mut pod = running_pod();
        terminate(&mut pod, "app", &exit(), Timestamp::now()).unwrap();

        let status = status(&pod);
        let state = status.state.as_ref().unwrap().terminated.as_ref().unwrap();
        assert_eq!(state.container_id.as_deref(), Some("containerd://old"));
        assert_eq!(status.container_id.as_deref(), Some("containerd://old"));
        assert_eq!(status.restart_count, 2);
        assert!(status.last_state.is_none());
    }

    #[test]
    fn restart_rejects_waiting_container() {
        let mut pod = running_pod();
        let now = Timestamp::now();
        crash_loop_wait(&mut pod, "app", &exit(), now).unwrap();

        let error = restart(&mut pod, "app", &exit(), now, "containerd://new".into()).unwrap_err();
        assert!(matches!(
            error,
            Error::WrongState {
                actual: "waiting",
                ..
            }
        ));
    }
}
