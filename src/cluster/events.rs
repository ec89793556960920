//! A bounded window of recent events per pod and per node, so that an exit can be stored with
//! the events that explain it before the API server's event TTL (`--event-ttl`, 1 hour by
//! default) deletes them.
//!
//! Events are watched with ADDED and MODIFIED alike, because the recorder repeats an event by
//! updating `count` (core/v1) or `series.count` (events.k8s.io/v1) of the same object. An
//! update replaces the stored copy with the same `metadata.uid`.

use std::collections::{HashMap, VecDeque};

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::Event;

use crate::model::EventRecord;
use crate::objects::event_from_core_v1;

/// Reasons of events about a node that can explain a container's exit on it.
pub const NODE_EVENT_REASONS: [&str; 6] = [
    "OOMKilling",
    "SystemOOM",
    "NodeNotReady",
    "Rebooted",
    "NodeShutdown",
    "EvictionThresholdMet",
];

/// Limits of the window.
#[derive(Debug, Clone, Copy)]
pub struct WindowLimits {
    /// Events kept per pod; the oldest go first.
    pub per_pod: usize,
    /// Events kept per node.
    pub per_node: usize,
    /// Events last seen longer ago than this are dropped by [`EventWindow::prune`].
    pub max_age: SignedDuration,
}

impl Default for WindowLimits {
    fn default() -> Self {
        WindowLimits {
            per_pod: 32,
            per_node: 64,
            max_age: SignedDuration::from_hours(1),
        }
    }
}

/// One stored event with its `metadata.uid`.
#[derive(Debug, Clone)]
struct Entry {
    uid: Option<String>,
    event: EventRecord,
}

/// Recent events, by pod (`namespace/name`) and by node name.
#[derive(Debug, Default)]
pub struct EventWindow {
    limits: WindowLimits,
    pods: HashMap<String, VecDeque<Entry>>,
    nodes: HashMap<String, VecDeque<Entry>>,
}

/// The window an event was filed in by [`EventWindow::insert`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// An event about this pod key.
    Pod(String),
    /// A node event that can explain exits on this node.
    Node(String),
    /// Neither: the event was not kept.
    Ignored,
}

impl EventWindow {
    pub fn new(limits: WindowLimits) -> Self {
        EventWindow {
            limits,
            ..EventWindow::default()
        }
    }

    /// Adds or updates one event and returns where it was filed.
    pub fn insert(&mut self, event: &Event) -> Inserted {
        let record = event_from_core_v1(event);
        let uid = event.metadata.uid.clone().filter(|uid| !uid.is_empty());
        let entry = Entry { uid, event: record };

        let object = &entry.event.object;
        if object.kind == "Pod" {
            let key = pod_key(object.namespace.as_deref(), &object.name);
            upsert(
                self.pods.entry(key.clone()).or_default(),
                entry,
                self.limits.per_pod,
            );
            return Inserted::Pod(key);
        }

        if !NODE_EVENT_REASONS.contains(&entry.event.reason.as_str()) {
            return Inserted::Ignored;
        }
        let node = match (object.kind.as_str(), entry.event.host.as_deref()) {
            ("Node", _) => object.name.clone(),
            (_, Some(host)) => host.to_owned(),
            _ => return Inserted::Ignored,
        };
        upsert(
            self.nodes.entry(node.clone()).or_default(),
            entry,
            self.limits.per_node,
        );
        Inserted::Node(node)
    }

    /// Returns the events about one pod and those about its node, oldest first as inserted.
    /// The join in [`crate::assemble`] picks the ones that relate to each exit.
    pub fn events_for(&self, pod_key: &str, node: Option<&str>) -> Vec<EventRecord> {
        let pod = self.pods.get(pod_key).into_iter().flatten();
        let node = node
            .and_then(|node| self.nodes.get(node))
            .into_iter()
            .flatten();
        pod.chain(node).map(|entry| entry.event.clone()).collect()
    }

    /// Drops events last seen before `now - max_age`, and windows left empty.
    pub fn prune(&mut self, now: Timestamp) {
        let oldest = now - self.limits.max_age;
        let keep = |entry: &Entry| {
            let seen = entry.event.last_seen.or(entry.event.first_seen);
            seen.is_none_or(|seen| seen >= oldest)
        };
        for window in self.pods.values_mut().chain(self.nodes.values_mut()) {
            window.retain(keep);
        }
        self.pods.retain(|_, window| !window.is_empty());
        self.nodes.retain(|_, window| !window.is_empty());
    }

    /// Returns the number of pods with events in the window.
    pub fn pod_count(&self) -> usize {
        self.pods.len()
    }
}

/// Returns the key of a pod's events: `namespace/name`. Events of an older pod with the same
/// name (a StatefulSet replica) share the key, and the join in [`crate::assemble`] tells them
/// apart by uid when the event carries one.
pub fn pod_key(namespace: Option<&str>, name: &str) -> String {
    format!("{}/{name}", namespace.unwrap_or("default"))
}

/// Replaces the entry with the same uid, or appends and drops the oldest beyond `limit`.
fn upsert(window: &mut VecDeque<Entry>, entry: Entry, limit: usize) {
    let same = window
        .iter_mut()
        .find(|known| known.uid.is_some() && known.uid == entry.uid);
    if let Some(known) = same {
        *known = entry;
        return;
    }
    window.push_back(entry);
    while window.len() > limit {
        window.pop_front();
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::ObjectReference;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};

    use super::*;

    fn event(uid: &str, kind: &str, name: &str, reason: &str, count: i32) -> Event {
        Event {
            metadata: ObjectMeta {
                uid: Some(uid.to_owned()),
                namespace: Some("shop".to_owned()),
                ..ObjectMeta::default()
            },
            involved_object: ObjectReference {
                kind: Some(kind.to_owned()),
                name: Some(name.to_owned()),
                namespace: Some("shop".to_owned()),
                uid: Some(format!("{name}-uid")),
                ..ObjectReference::default()
            },
            reason: Some(reason.to_owned()),
            message: Some("message".to_owned()),
            count: Some(count),
            last_timestamp: Some(Time("2026-01-01T00:00:00Z".parse().unwrap())),
            type_: Some("Warning".to_owned()),
            ..Event::default()
        }
    }

    #[test]
    fn modified_event_replaces_its_copy() {
        let mut window = EventWindow::new(WindowLimits::default());
        window.insert(&event("e1", "Pod", "web", "Unhealthy", 1));
        window.insert(&event("e1", "Pod", "web", "Unhealthy", 3));

        let events = window.events_for("shop/web", None);

        assert_eq!(events.len(), 1);
        assert_eq!(events[0].count, 3);
    }

    #[test]
    fn pod_window_drops_oldest_beyond_limit() {
        let limits = WindowLimits {
            per_pod: 2,
            ..WindowLimits::default()
        };
        let mut window = EventWindow::new(limits);
        for (uid, reason) in [("e1", "Pulled"), ("e2", "Unhealthy"), ("e3", "Killing")] {
            window.insert(&event(uid, "Pod", "web", reason, 1));
        }

        let reasons: Vec<String> = window
            .events_for("shop/web", None)
            .into_iter()
            .map(|event| event.reason)
            .collect();

        assert_eq!(reasons, ["Unhealthy", "Killing"]);
    }

    #[test]
    fn node_events_kept_only_for_known_reasons() {
        let mut window = EventWindow::new(WindowLimits::default());

        let oom = window.insert(&event("e1", "Node", "node-1", "OOMKilling", 1));
        let other = window.insert(&event("e2", "Node", "node-1", "Starting", 1));

        assert_eq!(oom, Inserted::Node("node-1".to_owned()));
        assert_eq!(other, Inserted::Ignored);
        assert_eq!(window.events_for("none", Some("node-1")).len(), 1);
    }

    #[test]
    fn prune_drops_expired_events() {
        let mut window = EventWindow::new(WindowLimits::default());
        window.insert(&event("e1", "Pod", "web", "Killing", 1));

        window.prune("2026-01-01T00:30:00Z".parse().unwrap());
        let kept = window.pod_count();
        window.prune("2026-01-01T02:00:00Z".parse().unwrap());

        assert_eq!(kept, 1);
        assert_eq!(window.pod_count(), 0);
    }
}
