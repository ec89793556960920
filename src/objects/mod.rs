//! Kubernetes objects from files: JSON and YAML, Lists, and `kubectl cluster-info dump`
//! folders.
//!
//! The readers turn what a user copied off a cluster (`kubectl get pods -o json`, `kubectl get
//! events -o yaml`, a cluster-info dump folder) into a [`Bundle`] of k8s-openapi objects
//! (feature `v1_34`) and normalised [`EventRecord`]s. They assume nothing about file names
//! inside a single file: the format comes from the content and the kind from `apiVersion`
//! and `kind`. They are written not to panic on any input (`read_objects` is fuzzed with
//! proptest, dump logs included) and bound what they accept: [`MAX_INPUT_BYTES`] per source,
//! [`MAX_MESSAGE_BYTES`] per event message and [`MAX_LOG_BYTES`] per dumped container log.

mod dump;
mod error;
mod events;
mod read;

use std::collections::HashMap;
use std::path::PathBuf;

use jiff::Timestamp;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::model::EventRecord;

pub use dump::{DumpRead, MAX_LOG_BYTES, is_cluster_dump, read_cluster_dump};
pub use error::{Error, Format, Place};
pub use events::{
    MAX_MESSAGE_BYTES, container_from_field_path, container_from_message, event_from_core_v1,
    event_from_events_v1,
};
pub use read::{MAX_INPUT_BYTES, read_objects, read_objects_file};

/// Objects read from one or more inputs.
#[derive(Debug, Clone, Default)]
pub struct Bundle {
    pub pods: Vec<Pod>,
    /// Events from core/v1 and events.k8s.io/v1 lists, normalised to one form.
    pub events: Vec<EventRecord>,
    pub jobs: Vec<Job>,
    /// Container logs from `<namespace>/<pod>/logs.txt` of a cluster-info dump.
    pub logs: Vec<DumpLog>,
    /// `metadata.uid` of each event, at the same index as in `events`; `None` when the event
    /// had none or was added without it. [`Bundle::extend`] uses it to merge the copies of one
    /// event read through both event APIs.
    pub event_uids: Vec<Option<String>>,
    /// Problems that did not stop the reading (an item that failed to parse, a kind that
    /// podmortem does not read), one sentence each, naming the source and the item.
    pub warnings: Vec<String>,
}

/// The log of one container as `kubectl cluster-info dump` saved it (the current instance).
#[derive(Debug, Clone)]
pub struct DumpLog {
    pub namespace: String,
    pub pod: String,
    pub container: String,
    pub path: PathBuf,
    /// The log text, decoded lossily (invalid UTF-8 becomes U+FFFD). Untrusted text.
    pub text: String,
    /// True when `text` contains only the last [`MAX_LOG_BYTES`] of a longer log, or when the
    /// section had no END marker so the file may have been cut short.
    pub truncated: bool,
    /// The message kubectl wrote in place of the log when fetching it failed (`Request log
    /// error: ...`); `text` is empty then.
    pub fetch_error: Option<String>,
}

impl Bundle {
    /// True when the bundle has no pods, events, Jobs or logs. Warnings do not count.
    pub fn is_empty(&self) -> bool {
        self.pods.is_empty()
            && self.events.is_empty()
            && self.jobs.is_empty()
            && self.logs.is_empty()
    }

    /// Adds an event with its `metadata.uid`, keeping `event_uids` in step with `events`.
    pub fn push_event(&mut self, event: EventRecord, uid: Option<String>) {
        self.event_uids.resize(self.events.len(), None);
        self.events.push(event);
        self.event_uids.push(uid.filter(|uid| !uid.is_empty()));
    }

    /// Merges `other` into `self`. Pods and Jobs are the same object when their uids match
    /// (`namespace/name` when a uid is missing), and the copy with the higher
    /// `resourceVersion` wins. Events are the same when their uids match, or when one lacks a
    /// uid and object, reason and first-seen time match. The copy with more occurrences (then
    /// the later last-seen time) wins. Logs are the same per namespace, pod and container, and the copy
    /// from `other` wins. Warnings are appended.
    pub fn extend(&mut self, other: Bundle) {
        merge_objects(&mut self.pods, other.pods, |pod| &pod.metadata);
        merge_objects(&mut self.jobs, other.jobs, |job| &job.metadata);
        self.merge_events(other.events, other.event_uids);
        self.merge_logs(other.logs);
        self.warnings.extend(other.warnings);
    }

    fn merge_events(&mut self, events: Vec<EventRecord>, uids: Vec<Option<String>>) {
        self.event_uids.resize(self.events.len(), None);
        let mut by_uid = HashMap::new();
        let mut by_key = HashMap::new();
        for (index, event) in self.events.iter().enumerate() {
            if let Some(Some(uid)) = self.event_uids.get(index) {
                by_uid.insert(uid.clone(), index);
            }
            by_key.insert(EventKey::of(event), index);
        }

        let mut uids = uids.into_iter();
        for event in events {
            let uid = uids.next().flatten();
            let key = EventKey::of(&event);
            let by_uid_match = uid.as_ref().and_then(|uid| by_uid.get(uid));
            // Two events with different uids stay apart even when their keys match: a
            // liveness and a readiness failure can share object, reason and second.
            let key_match = by_key.get(&key).filter(|index| {
                let known_uid = self.event_uids.get(**index).cloned().flatten();
                uid.is_none() || known_uid.is_none()
            });
            let found = by_uid_match.or(key_match);
            match found.copied() {
                Some(index) => self.replace_event(index, event, uid),
                None => {
                    let index = self.events.len();
                    if let Some(uid) = &uid {
                        by_uid.insert(uid.clone(), index);
                    }
                    by_key.insert(key, index);
                    self.push_event(event, uid);
                }
            }
        }
    }

    /// Keeps the more complete of two copies of one event at `index`.
    fn replace_event(&mut self, index: usize, event: EventRecord, uid: Option<String>) {
        let Some(current) = self.events.get_mut(index) else {
            return;
        };
        let newer = (event.count, event.last_seen) >= (current.count, current.last_seen);
        if newer {
            *current = event;
        }
        if let (Some(slot), Some(uid)) = (self.event_uids.get_mut(index), uid) {
            slot.get_or_insert(uid);
        }
    }

    fn merge_logs(&mut self, logs: Vec<DumpLog>) {
        let key = |log: &DumpLog| {
            (
                log.namespace.clone(),
                log.pod.clone(),
                log.container.clone(),
            )
        };
        let mut index: HashMap<_, usize> = HashMap::new();
        for (position, log) in self.logs.iter().enumerate() {
            index.insert(key(log), position);
        }

        for log in logs {
            let known = index
                .get(&key(&log))
                .and_then(|position| self.logs.get_mut(*position));
            match known {
                Some(known) => *known = log,
                None => {
                    index.insert(key(&log), self.logs.len());
                    self.logs.push(log);
                }
            }
        }
    }
}

/// Identity of an event without a uid: its object, reason and first-seen time.
#[derive(Debug, PartialEq, Eq, Hash)]
struct EventKey {
    object: (
        String,
        Option<String>,
        String,
        Option<String>,
        Option<String>,
    ),
    reason: String,
    first_seen: Option<Timestamp>,
}

impl EventKey {
    fn of(event: &EventRecord) -> EventKey {
        let object = &event.object;
        EventKey {
            object: (
                object.kind.clone(),
                object.namespace.clone(),
                object.name.clone(),
                object.uid.clone(),
                object.field_path.clone(),
            ),
            reason: event.reason.clone(),
            first_seen: event.first_seen,
        }
    }
}

/// Merges objects with metadata: same uid (else same `namespace/name`) is the same object,
/// and the higher `resourceVersion` wins. Resource versions are opaque strings in the API;
/// when either is not a number, the copy from `incoming` wins.
fn merge_objects<T>(known: &mut Vec<T>, incoming: Vec<T>, metadata: fn(&T) -> &ObjectMeta) {
    let mut index: HashMap<String, usize> = HashMap::new();
    for (position, object) in known.iter().enumerate() {
        index.insert(identity(metadata(object)), position);
    }

    for object in incoming {
        let key = identity(metadata(&object));
        let Some(&position) = index.get(&key) else {
            index.insert(key, known.len());
            known.push(object);
            continue;
        };
        let Some(current) = known.get_mut(position) else {
            continue;
        };
        if !is_older(metadata(&object), metadata(current)) {
            *current = object;
        }
    }
}

fn identity(metadata: &ObjectMeta) -> String {
    match metadata.uid.as_deref() {
        Some(uid) if !uid.is_empty() => format!("uid:{uid}"),
        _ => format!(
            "name:{}/{}",
            metadata.namespace.as_deref().unwrap_or_default(),
            metadata.name.as_deref().unwrap_or_default()
        ),
    }
}

/// True when `candidate` has a numerically lower `resourceVersion` than `current`.
fn is_older(candidate: &ObjectMeta, current: &ObjectMeta) -> bool {
    let version = |metadata: &ObjectMeta| metadata.resource_version.as_deref()?.parse::<u64>().ok();
    match (version(candidate), version(current)) {
        (Some(candidate), Some(current)) => candidate < current,
        _ => false,
    }
}
