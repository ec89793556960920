//! The small per-pod state the watcher keeps instead of whole pods, and the decision which
//! exits in a pod's status are new.
//!
//! Detection itself is [`crate::detect::detect_instances`]; this module only compares its
//! instances with what was already recorded. Restart numbers only grow within one pod uid
//! (kubelet sets `restartCount` from the latest runtime container, see `src/detect.rs`), so
//! the highest recorded restart number per container is enough to tell new exits from old
//! ones. Restarts between the last recorded number and the lowest new one left no trace in
//! the status, so their count goes into `missed_before` of the new record.

use std::collections::HashMap;

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;

use crate::detect::{self, Instance, Observation, Slot};
use crate::model::Termination;
use crate::store::InstanceMark;

/// The last recorded exit of one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerMark {
    /// Highest restart number recorded for the container.
    pub restart_count: u32,
    /// Runtime container id of that instance, when reported.
    pub container_id: Option<Box<str>>,
    pub finished_at: Option<Timestamp>,
}

/// The watcher's state of one pod: the last recorded exit per container name.
///
/// A pod has a handful of containers, so a vector is smaller and faster than a map.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodFingerprint {
    containers: Vec<(Box<str>, ContainerMark)>,
}

impl PodFingerprint {
    /// Returns the mark of one container, if an exit of it was recorded.
    pub fn mark(&self, container: &str) -> Option<&ContainerMark> {
        self.containers
            .iter()
            .find(|(name, _)| &**name == container)
            .map(|(_, mark)| mark)
    }

    /// Records an exit, keeping the highest restart number per container.
    pub fn record(&mut self, record: &Termination) {
        let mark = ContainerMark {
            restart_count: record.restart_count,
            container_id: record.container_id.as_deref().map(Box::from),
            finished_at: record.finished_at,
        };
        self.keep(&record.container, mark);
    }

    /// Keeps `mark` for `container` when its restart number is the highest seen.
    fn keep(&mut self, container: &str, mark: ContainerMark) {
        let found = self
            .containers
            .iter_mut()
            .find(|(name, _)| **name == *container);
        match found {
            Some((_, known)) if known.restart_count >= mark.restart_count => {}
            Some((_, known)) => *known = mark,
            None => self.containers.push((Box::from(container), mark)),
        }
    }

    /// Returns the number of containers with a recorded exit.
    pub fn len(&self) -> usize {
        self.containers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.containers.is_empty()
    }
}

/// The `pods/log` request that serves an instance's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogRequest {
    /// `previous=true`: kubelet serves the container named in `lastState.terminated`.
    Previous,
    /// No `previous`: the state is `terminated`, so the latest container is the dead one.
    Current,
    /// No process of this instance is known (a pod-level end), so no log is requested.
    Skip,
}

/// A new exit found in a pod's status.
#[derive(Debug, Clone)]
pub struct NewExit {
    pub instance: Instance,
    /// Restarts of the same container between the last recorded exit and this one.
    pub missed_before: u32,
    pub log: LogRequest,
}

/// Returns the exits in the pod's status that the fingerprint has not recorded, lowest restart
/// number first per container, and updates the fingerprint to include them.
pub fn find_new_exits(
    pod: &Pod,
    fingerprint: &mut PodFingerprint,
    observation: &Observation,
) -> Vec<NewExit> {
    let mut instances: Vec<Instance> = detect::detect_instances(pod, observation)
        .into_iter()
        .filter(|instance| is_new(fingerprint, &instance.termination))
        .collect();
    instances.sort_by(|a, b| {
        let (a, b) = (&a.termination, &b.termination);
        (&a.container, a.restart_count).cmp(&(&b.container, b.restart_count))
    });

    let mut exits = Vec::with_capacity(instances.len());
    for instance in instances {
        let record = &instance.termination;
        let missed_before = missed_restarts(fingerprint.mark(&record.container), record);
        fingerprint.record(record);
        let log = log_request(instance.slot);
        exits.push(NewExit {
            instance,
            missed_before,
            log,
        });
    }
    exits
}

/// Returns true when the instance's restart number is above the container's last recorded
/// one, or when nothing of the container was recorded.
fn is_new(fingerprint: &PodFingerprint, record: &Termination) -> bool {
    fingerprint
        .mark(&record.container)
        .is_none_or(|mark| record.restart_count > mark.restart_count)
}

/// Returns how many restart numbers lie between the last recorded exit and this one. Without
/// a mark, every number below this one is missing, because numbering starts at 0.
fn missed_restarts(mark: Option<&ContainerMark>, record: &Termination) -> u32 {
    match mark {
        Some(mark) => record
            .restart_count
            .saturating_sub(mark.restart_count)
            .saturating_sub(1),
        None => record.restart_count,
    }
}

fn log_request(slot: Slot) -> LogRequest {
    match slot {
        Slot::LastState => LogRequest::Previous,
        Slot::State => LogRequest::Current,
        Slot::PodLevel => LogRequest::Skip,
    }
}

/// Fingerprints rebuilt from stored records, keyed by pod uid, so that a restarted watcher
/// neither records an exit again nor skips one.
#[derive(Debug, Default)]
pub struct Baseline {
    pods: HashMap<String, PodFingerprint>,
}

impl Baseline {
    /// Builds the baseline from stored records of any order.
    pub fn from_records<'a>(records: impl IntoIterator<Item = &'a Termination>) -> Self {
        let mut pods: HashMap<String, PodFingerprint> = HashMap::new();
        for record in records {
            pods.entry(record.pod_uid.clone())
                .or_default()
                .record(record);
        }
        Baseline { pods }
    }

    /// Builds the baseline from stored instance marks of any order.
    pub fn from_marks(marks: Vec<InstanceMark>) -> Self {
        let mut pods: HashMap<String, PodFingerprint> = HashMap::new();
        for mark in marks {
            let container_mark = ContainerMark {
                restart_count: mark.restart_count,
                container_id: mark.container_id.map(String::into_boxed_str),
                finished_at: mark.finished_at,
            };
            pods.entry(mark.pod_uid)
                .or_default()
                .keep(&mark.container, container_mark);
        }
        Baseline { pods }
    }

    /// Removes and returns the fingerprint of one pod, or an empty one.
    pub fn take(&mut self, pod_uid: &str) -> PodFingerprint {
        self.pods.remove(pod_uid).unwrap_or_default()
    }

    /// Returns the number of pods still in the baseline.
    pub fn len(&self) -> usize {
        self.pods.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pods.is_empty()
    }

    /// Drops every remaining fingerprint: after the first complete list, pods that were not
    /// listed no longer exist.
    pub fn clear(&mut self) {
        self.pods = HashMap::new();
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{
        ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
        ContainerStatus, PodStatus,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

    use super::*;
    use crate::model::Source;

    fn observation() -> Observation {
        Observation {
            source: Source::Api,
            observed_at: Timestamp::UNIX_EPOCH,
        }
    }

    fn terminated(id: &str, exit_code: i32) -> ContainerState {
        ContainerState {
            terminated: Some(ContainerStateTerminated {
                container_id: Some(format!("containerd://{id}")),
                exit_code,
                finished_at: Some(Time("2026-01-01T00:00:00Z".parse().unwrap())),
                reason: Some("Error".to_owned()),
                ..ContainerStateTerminated::default()
            }),
            ..ContainerState::default()
        }
    }

    fn running() -> ContainerState {
        ContainerState {
            running: Some(ContainerStateRunning::default()),
            ..ContainerState::default()
        }
    }

    fn back_off() -> ContainerState {
        ContainerState {
            waiting: Some(ContainerStateWaiting {
                reason: Some("CrashLoopBackOff".to_owned()),
                message: None,
            }),
            ..ContainerState::default()
        }
    }

    /// Builds a pod with one container `app` in the given state.
    fn pod(restart_count: i32, state: ContainerState, last: Option<ContainerState>) -> Pod {
        Pod {
            metadata: ObjectMeta {
                name: Some("web".to_owned()),
                namespace: Some("shop".to_owned()),
                uid: Some("uid-1".to_owned()),
                ..ObjectMeta::default()
            },
            spec: None,
            status: Some(PodStatus {
                phase: Some("Running".to_owned()),
                container_statuses: Some(vec![ContainerStatus {
                    name: "app".to_owned(),
                    restart_count,
                    state: Some(state),
                    last_state: last,
                    ..ContainerStatus::default()
                }]),
                ..PodStatus::default()
            }),
        }
    }

    fn restarts(exits: &[NewExit]) -> Vec<(u32, u32)> {
        exits
            .iter()
            .map(|exit| (exit.instance.termination.restart_count, exit.missed_before))
            .collect()
    }

    #[test]
    fn crash_loop_records_each_restart_once() {
        let mut fingerprint = PodFingerprint::default();
        let mut seen = Vec::new();
        for restart in 0..10 {
            let id = format!("c{restart}");
            let crashed = pod(restart, back_off(), Some(terminated(&id, 1)));
            let running = pod(restart + 1, running(), Some(terminated(&id, 1)));
            seen.extend(restarts(&find_new_exits(
                &crashed,
                &mut fingerprint,
                &observation(),
            )));
            seen.extend(restarts(&find_new_exits(
                &running,
                &mut fingerprint,
                &observation(),
            )));
        }
        let expected: Vec<(u32, u32)> = (0..10).map(|restart| (restart, 0)).collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn skipped_restarts_become_a_gap() {
        let mut fingerprint = PodFingerprint::default();
        let first = pod(3, running(), Some(terminated("c2", 1)));
        let later = pod(8, running(), Some(terminated("c7", 1)));

        let first_exits = find_new_exits(&first, &mut fingerprint, &observation());
        let later_exits = find_new_exits(&later, &mut fingerprint, &observation());

        assert_eq!(restarts(&first_exits), vec![(2, 2)]);
        assert_eq!(restarts(&later_exits), vec![(7, 4)]);
    }

    #[test]
    fn terminated_state_and_last_state_both_new() {
        let mut fingerprint = PodFingerprint::default();
        let ended = pod(2, terminated("c2", 143), Some(terminated("c1", 1)));

        let exits = find_new_exits(&ended, &mut fingerprint, &observation());

        assert_eq!(restarts(&exits), vec![(1, 1), (2, 0)]);
        assert_eq!(exits[0].log, LogRequest::Previous);
        assert_eq!(exits[1].log, LogRequest::Current);
    }

    #[test]
    fn same_status_twice_yields_nothing() {
        let mut fingerprint = PodFingerprint::default();
        let crashed = pod(1, back_off(), Some(terminated("c1", 1)));

        let first = find_new_exits(&crashed, &mut fingerprint, &observation());
        let second = find_new_exits(&crashed, &mut fingerprint, &observation());

        assert_eq!(first.len(), 1);
        assert!(second.is_empty());
    }

    #[test]
    fn baseline_from_store_skips_recorded_exits() {
        let crashed = pod(4, back_off(), Some(terminated("c4", 1)));
        let mut recorded = find_new_exits(&crashed, &mut PodFingerprint::default(), &observation())
            .remove(0)
            .instance
            .termination;
        recorded.restart_count = 4;
        let mut baseline = Baseline::from_records([&recorded]);

        let mut fingerprint = baseline.take("uid-1");
        let again = find_new_exits(&crashed, &mut fingerprint, &observation());
        let next = pod(6, back_off(), Some(terminated("c6", 1)));
        let after = find_new_exits(&next, &mut fingerprint, &observation());

        assert!(again.is_empty());
        assert_eq!(restarts(&after), vec![(6, 1)]);
        assert!(baseline.is_empty());
    }

    #[test]
    fn fingerprint_keeps_highest_restart() {
        let mut fingerprint = PodFingerprint::default();
        let high = pod(5, back_off(), Some(terminated("c5", 1)));
        let low = pod(2, back_off(), Some(terminated("c2", 1)));

        find_new_exits(&high, &mut fingerprint, &observation());
        let stale = find_new_exits(&low, &mut fingerprint, &observation());

        assert!(stale.is_empty());
        let mark = fingerprint.mark("app").unwrap();
        assert_eq!(mark.restart_count, 5);
        assert_eq!(mark.container_id.as_deref(), Some("containerd://c5"));
    }
}
