//! The pod watcher's states: a fingerprint per pod, and what each watcher event does to it.
//!
//! `kube_runtime::watcher` reports a (re)list as `Init`, one `InitApply` per listed pod and
//! `InitDone`, then `Apply` and `Delete` from the watch. A relist follows every 410 Gone and
//! every watch that could not be resumed, and the list shows each pod's current status, so
//! exits that happened meanwhile are still found: the one in `lastState` in full, the ones
//! before it as the gap counted in `missed_before`. Pods that were deleted while the watch was
//! down are missing from the relist, and their final status is lost.

use std::collections::{HashMap, HashSet};

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::watcher;

use crate::cluster::fingerprint::{Baseline, NewExit, PodFingerprint, find_new_exits};
use crate::detect::Observation;
use crate::model::Source;

/// The phase of the list-then-watch cycle.
#[derive(Debug)]
enum Phase {
    /// No list has started yet.
    Starting,
    /// A list is running, and the set contains the uids listed so far.
    Listing { listed: HashSet<String> },
    /// The list is complete and changes arrive from the watch.
    Watching,
}

/// New exits of one pod, with the pod object they were found in.
#[derive(Debug)]
pub struct PodExits {
    pub pod: Pod,
    pub exits: Vec<NewExit>,
    /// True when the pod was deleted and this was its final status.
    pub deleted: bool,
}

/// Fingerprints of every watched pod, keyed by pod uid.
#[derive(Debug)]
pub struct PodTracker {
    phase: Phase,
    pods: HashMap<String, PodFingerprint>,
    baseline: Baseline,
    lists_completed: u64,
}

impl PodTracker {
    /// Starts with fingerprints rebuilt from the store, taken over as pods are listed.
    pub fn new(baseline: Baseline) -> Self {
        PodTracker {
            phase: Phase::Starting,
            pods: HashMap::new(),
            baseline,
            lists_completed: 0,
        }
    }

    /// Applies one watcher event and returns the new exits it revealed, if any.
    pub fn handle(&mut self, event: watcher::Event<Pod>, now: Timestamp) -> Option<PodExits> {
        match event {
            watcher::Event::Init => {
                self.start_list();
                None
            }
            watcher::Event::InitApply(pod) => self.apply_listed(pod, now),
            watcher::Event::InitDone => {
                self.finish_list();
                None
            }
            watcher::Event::Apply(pod) => self.apply(pod, now, false),
            watcher::Event::Delete(pod) => self.delete(pod, now),
        }
    }

    /// Returns the number of pods tracked.
    pub fn len(&self) -> usize {
        self.pods.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pods.is_empty()
    }

    /// Returns the number of lists completed: 1 after the first list, more after relists.
    pub fn lists_completed(&self) -> u64 {
        self.lists_completed
    }

    fn start_list(&mut self) {
        if let Phase::Watching = self.phase {
            tracing::info!(pods = self.pods.len(), "relisting pods");
        }
        self.phase = Phase::Listing {
            listed: HashSet::new(),
        };
    }

    fn apply_listed(&mut self, pod: Pod, now: Timestamp) -> Option<PodExits> {
        if let Phase::Listing { listed } = &mut self.phase
            && let Some(uid) = pod.metadata.uid.as_deref()
        {
            listed.insert(uid.to_owned());
        }
        self.apply(pod, now, false)
    }

    /// Drops the pods that the completed list no longer contains: they were deleted while
    /// the watch was down.
    fn finish_list(&mut self) {
        let phase = std::mem::replace(&mut self.phase, Phase::Watching);
        let Phase::Listing { listed } = phase else {
            return;
        };

        let before = self.pods.len();
        self.pods.retain(|uid, _| listed.contains(uid));
        let vanished = before - self.pods.len();
        if vanished > 0 {
            tracing::warn!(
                pods = vanished,
                "pods deleted while the watch was down; exits in their final status are lost"
            );
        }

        if !self.baseline.is_empty() {
            tracing::info!(
                pods = self.baseline.len(),
                "stored pods no longer exist; their records stay in the store"
            );
            self.baseline.clear();
        }
        self.lists_completed += 1;
    }

    fn apply(&mut self, pod: Pod, now: Timestamp, deleted: bool) -> Option<PodExits> {
        let uid = pod.metadata.uid.clone().filter(|uid| !uid.is_empty())?;
        let fingerprint = match self.pods.get_mut(&uid) {
            Some(fingerprint) => fingerprint,
            None => {
                let taken = self.baseline.take(&uid);
                self.pods.entry(uid).or_insert(taken)
            }
        };

        let observation = Observation {
            source: Source::Api,
            observed_at: now,
        };
        let exits = find_new_exits(&pod, fingerprint, &observation);
        (!exits.is_empty()).then_some(PodExits {
            pod,
            exits,
            deleted,
        })
    }

    /// Records the exits in a deleted pod's final status and drops its fingerprint.
    fn delete(&mut self, pod: Pod, now: Timestamp) -> Option<PodExits> {
        let uid = pod.metadata.uid.clone();
        let found = self.apply(pod, now, true);
        if let Some(uid) = uid {
            self.pods.remove(&uid);
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::{
        ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStatus, PodStatus,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    use super::*;

    fn pod(uid: &str, restart_count: i32, last_exit: Option<i32>) -> Pod {
        let last_state = last_exit.map(|exit_code| ContainerState {
            terminated: Some(ContainerStateTerminated {
                exit_code,
                container_id: Some(format!("containerd://{uid}-{restart_count}")),
                ..ContainerStateTerminated::default()
            }),
            ..ContainerState::default()
        });
        Pod {
            metadata: ObjectMeta {
                name: Some(format!("pod-{uid}")),
                namespace: Some("default".to_owned()),
                uid: Some(uid.to_owned()),
                ..ObjectMeta::default()
            },
            spec: None,
            status: Some(PodStatus {
                container_statuses: Some(vec![ContainerStatus {
                    name: "app".to_owned(),
                    restart_count,
                    state: Some(ContainerState {
                        running: Some(ContainerStateRunning::default()),
                        ..ContainerState::default()
                    }),
                    last_state,
                    ..ContainerStatus::default()
                }]),
                ..PodStatus::default()
            }),
        }
    }

    fn now() -> Timestamp {
        Timestamp::UNIX_EPOCH
    }

    fn list(tracker: &mut PodTracker, pods: Vec<Pod>) -> usize {
        let mut found = 0;
        tracker.handle(watcher::Event::Init, now());
        for pod in pods {
            found += tracker
                .handle(watcher::Event::InitApply(pod), now())
                .map_or(0, |exits| exits.exits.len());
        }
        tracker.handle(watcher::Event::InitDone, now());
        found
    }

    #[test]
    fn relist_finds_exit_missed_meanwhile() {
        let mut tracker = PodTracker::new(Baseline::default());
        list(&mut tracker, vec![pod("a", 0, None)]);

        let found = list(&mut tracker, vec![pod("a", 1, Some(1))]);

        assert_eq!(found, 1);
        assert_eq!(tracker.lists_completed(), 2);
    }

    #[test]
    fn relist_drops_vanished_pods() {
        let mut tracker = PodTracker::new(Baseline::default());
        list(&mut tracker, vec![pod("a", 0, None), pod("b", 0, None)]);

        list(&mut tracker, vec![pod("a", 0, None)]);

        assert_eq!(tracker.len(), 1);
    }

    #[test]
    fn deleted_pod_final_exit_is_found() {
        let mut tracker = PodTracker::new(Baseline::default());
        list(&mut tracker, vec![pod("a", 0, None)]);

        let found = tracker.handle(watcher::Event::Delete(pod("a", 1, Some(143))), now());

        let found = found.unwrap();
        assert!(found.deleted);
        assert_eq!(found.exits.len(), 1);
        assert!(tracker.is_empty());
    }

    #[test]
    fn repeated_apply_reports_once() {
        let mut tracker = PodTracker::new(Baseline::default());
        list(&mut tracker, vec![]);

        let first = tracker.handle(watcher::Event::Apply(pod("a", 1, Some(1))), now());
        let second = tracker.handle(watcher::Event::Apply(pod("a", 1, Some(1))), now());

        assert!(first.is_some());
        assert!(second.is_none());
    }
}
