//! The in-memory object store: Pods and core/v1 Events keyed by namespace and name, one global
//! `resourceVersion` counter, and a bounded history of changes that watches replay.
//!
//! It follows the storage rules that the Kubernetes API concepts documentation gives for etcd
//! and the watch cache: every change gets the next `resourceVersion`, stamped into
//! `metadata.resourceVersion`; the object of a DELETED change is the last stored state carrying
//! the deletion's `resourceVersion`; and a compaction drops every change at or before a
//! version, so reading or watching from an older version fails with 410 Gone. Objects are kept
//! as JSON values, so any field a test sets is served back unchanged.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use serde_json::{Map, Value};
use tokio::sync::broadcast;

use crate::ids::{IdGenerator, format_time_seconds, now};

/// The first `resourceVersion` a new store hands out, so that no object ever carries `0`, which
/// means "any version" in requests.
const FIRST_RESOURCE_VERSION: u64 = 1000;

/// Capacity of the channel that carries changes to open watches. A watch that falls further
/// behind is closed and its client starts a new watch from its last version.
const CHANGE_CHANNEL_CAPACITY: usize = 4096;

/// A resource type that the server stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Resource {
    /// core/v1 `pods`.
    Pods,
    /// core/v1 `events`.
    Events,
}

impl Resource {
    /// Returns the plural resource name used in URLs and error messages.
    pub fn plural(self) -> &'static str {
        match self {
            Resource::Pods => "pods",
            Resource::Events => "events",
        }
    }

    /// Returns the object kind.
    pub fn kind(self) -> &'static str {
        match self {
            Resource::Pods => "Pod",
            Resource::Events => "Event",
        }
    }

    /// Returns the kind of a list of these objects.
    pub fn list_kind(self) -> &'static str {
        match self {
            Resource::Pods => "PodList",
            Resource::Events => "EventList",
        }
    }
}

/// The type of a stored change, as watch events name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeType {
    /// The object was created.
    Added,
    /// The object was replaced.
    Modified,
    /// The object was deleted.
    Deleted,
}

impl ChangeType {
    /// Returns the watch event type.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Added => "ADDED",
            ChangeType::Modified => "MODIFIED",
            ChangeType::Deleted => "DELETED",
        }
    }
}

/// One change of one object, kept in the history for watches.
#[derive(Clone, Debug)]
pub struct Change {
    /// The resource type of the object.
    pub resource: Resource,
    /// The kind of change.
    pub change_type: ChangeType,
    /// The `resourceVersion` of the change.
    pub resource_version: u64,
    /// The namespace of the object.
    pub namespace: String,
    /// The object after the change; for a deletion, its last state with the deletion's version.
    pub object: Arc<Value>,
    /// The object before the change, absent for a creation.
    pub previous: Option<Arc<Value>>,
}

/// Errors of store mutations.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The object has neither `metadata.name` nor `metadata.generateName`.
    #[error("{kind} has no `metadata.name`: set it, or `metadata.generateName`")]
    MissingName {
        /// The object kind.
        kind: &'static str,
    },
    /// An object with that namespace and name exists already.
    #[error("{resource} `{namespace}/{name}` already exists: update it instead")]
    AlreadyExists {
        /// The plural resource name.
        resource: &'static str,
        /// The namespace.
        namespace: String,
        /// The name.
        name: String,
    },
    /// No object with that namespace and name exists.
    #[error("{resource} `{namespace}/{name}` not found: create it first")]
    NotFound {
        /// The plural resource name.
        resource: &'static str,
        /// The namespace.
        namespace: String,
        /// The name.
        name: String,
    },
    /// The object is not a JSON object.
    #[error("{kind} is not a JSON object")]
    NotAnObject {
        /// The object kind.
        kind: &'static str,
    },
}

/// The requested `resourceVersion` lies before the last compaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Expired {
    /// The version that was requested.
    pub requested: u64,
    /// The last compacted version: the oldest version that can still be read.
    pub compacted: u64,
}

/// The objects of one resource type within one namespace or all, at one version.
pub struct Snapshot {
    /// The version the objects are read at.
    pub resource_version: u64,
    /// The objects, ordered by namespace and name.
    pub objects: Vec<Arc<Value>>,
}

/// The start of a new watch: the state or the stored changes it needs before its live
/// changes.
pub struct Subscription {
    /// The store's version when the watch subscribed.
    pub resource_version: u64,
    /// Current objects, for watches that start with the current state.
    pub objects: Vec<Arc<Value>>,
    /// Stored changes after the requested version, oldest first.
    pub backlog: Vec<Arc<Change>>,
    /// Later changes, in order.
    pub receiver: broadcast::Receiver<Arc<Change>>,
}

type Key = (Resource, String, String);

/// An object split into its `metadata` and its other fields.
type Parts = (Map<String, Value>, Map<String, Value>);

/// The store itself; the server keeps it behind a mutex.
pub struct Store {
    resource_version: u64,
    compacted: u64,
    history_limit: usize,
    objects: BTreeMap<Key, Arc<Value>>,
    history: VecDeque<Arc<Change>>,
    changes: broadcast::Sender<Arc<Change>>,
    ids: IdGenerator,
}

impl Store {
    /// Creates an empty store that keeps at most `history_limit` changes.
    pub fn new(history_limit: usize) -> Self {
        let (changes, _) = broadcast::channel(CHANGE_CHANNEL_CAPACITY);
        Store {
            resource_version: FIRST_RESOURCE_VERSION,
            compacted: FIRST_RESOURCE_VERSION,
            history_limit: history_limit.max(1),
            objects: BTreeMap::new(),
            history: VecDeque::new(),
            changes,
            ids: IdGenerator::default(),
        }
    }

    /// Returns the latest `resourceVersion`.
    pub fn resource_version(&self) -> u64 {
        self.resource_version
    }

    /// Returns the last compacted version.
    pub fn compacted(&self) -> u64 {
        self.compacted
    }

    /// Returns the generator of uids and container ids.
    pub fn ids(&mut self) -> &mut IdGenerator {
        &mut self.ids
    }

    /// Returns one stored object.
    pub fn get(&self, resource: Resource, namespace: &str, name: &str) -> Option<Arc<Value>> {
        let key = (resource, namespace.to_owned(), name.to_owned());
        self.objects.get(&key).cloned()
    }

    /// Stores a new object. Fills in `metadata.namespace` (`default`), `metadata.name` from
    /// `generateName`, `metadata.uid` and `metadata.creationTimestamp` where absent, and stamps
    /// the next `resourceVersion`.
    pub fn create(&mut self, resource: Resource, object: Value) -> Result<Arc<Value>, Error> {
        let (object, mut metadata) = split_metadata(resource, object)?;
        let namespace = text_or(&metadata, "namespace", "default");
        let name = match metadata.get("name").and_then(Value::as_str) {
            Some(name) if !name.is_empty() => name.to_owned(),
            _ => self.generated_name(resource, &metadata)?,
        };

        let key = (resource, namespace.clone(), name.clone());
        if self.objects.contains_key(&key) {
            return Err(Error::AlreadyExists {
                resource: resource.plural(),
                namespace,
                name,
            });
        }

        metadata.insert("namespace".into(), Value::from(namespace));
        metadata.insert("name".into(), Value::from(name));
        if text_or(&metadata, "uid", "").is_empty() {
            metadata.insert("uid".into(), Value::from(self.ids.uid()));
        }
        if text_or(&metadata, "creationTimestamp", "").is_empty() {
            let created = format_time_seconds(now());
            metadata.insert("creationTimestamp".into(), Value::from(created));
        }

        Ok(self.commit(key, ChangeType::Added, (object, metadata), None))
    }

    /// Replaces a stored object. The stored `uid` and `creationTimestamp` are kept when the new
    /// object leaves them out. The `resourceVersion` of the new object is ignored, so a test
    /// never gets a conflict.
    pub fn update(&mut self, resource: Resource, object: Value) -> Result<Arc<Value>, Error> {
        let (object, mut metadata) = split_metadata(resource, object)?;
        let namespace = text_or(&metadata, "namespace", "default");
        let name = text_or(&metadata, "name", "");
        let key = (resource, namespace.clone(), name.clone());
        let Some(previous) = self.objects.get(&key).cloned() else {
            return Err(Error::NotFound {
                resource: resource.plural(),
                namespace,
                name,
            });
        };

        metadata.insert("namespace".into(), Value::from(namespace));
        for field in ["uid", "creationTimestamp"] {
            let stored = previous.pointer(&format!("/metadata/{field}"));
            if text_or(&metadata, field, "").is_empty()
                && let Some(stored) = stored
            {
                metadata.insert(field.into(), stored.clone());
            }
        }

        Ok(self.commit(
            key,
            ChangeType::Modified,
            (object, metadata),
            Some(previous),
        ))
    }

    /// Deletes a stored object at once, as a deletion with grace period 0 does.
    pub fn delete(
        &mut self,
        resource: Resource,
        namespace: &str,
        name: &str,
    ) -> Result<Arc<Value>, Error> {
        let key = (resource, namespace.to_owned(), name.to_owned());
        let Some(previous) = self.objects.get(&key).cloned() else {
            return Err(Error::NotFound {
                resource: resource.plural(),
                namespace: namespace.to_owned(),
                name: name.to_owned(),
            });
        };

        let parts = split_metadata(resource, previous.as_ref().clone())?;
        Ok(self.commit(key, ChangeType::Deleted, parts, Some(previous)))
    }

    /// Drops every change at or before `resource_version` (at most the latest version), so
    /// reads and watches from an older version fail with 410 Gone.
    pub fn compact_to(&mut self, resource_version: u64) {
        let target = resource_version.min(self.resource_version);
        if target <= self.compacted {
            return;
        }

        while self
            .history
            .front()
            .is_some_and(|change| change.resource_version <= target)
        {
            self.history.pop_front();
        }
        self.compacted = target;
    }

    /// Returns the objects of `resource` in `namespace` (or all) at `at`, or now.
    pub fn snapshot(
        &self,
        resource: Resource,
        namespace: Option<&str>,
        at: Option<u64>,
    ) -> Result<Snapshot, Expired> {
        let at = at.unwrap_or(self.resource_version);
        if at < self.compacted {
            return Err(Expired {
                requested: at,
                compacted: self.compacted,
            });
        }

        let mut objects: BTreeMap<(String, String), Arc<Value>> = self
            .objects
            .iter()
            .filter(|((kind, ..), _)| *kind == resource)
            .map(|((_, namespace, name), object)| {
                ((namespace.clone(), name.clone()), object.clone())
            })
            .collect();
        for change in self.history.iter().rev() {
            if change.resource_version <= at {
                break;
            }
            if change.resource != resource {
                continue;
            }
            undo(&mut objects, change);
        }

        let objects = objects
            .into_iter()
            .filter(|((object_namespace, _), _)| namespace.is_none_or(|ns| ns == object_namespace))
            .map(|(_, object)| object)
            .collect();
        Ok(Snapshot {
            resource_version: at,
            objects,
        })
    }

    /// Subscribes a watch of `resource` to the changes after `after`, or, with `None`, to the
    /// changes after now together with the current objects.
    pub fn subscribe(
        &self,
        resource: Resource,
        namespace: Option<&str>,
        after: Option<u64>,
    ) -> Result<Subscription, Expired> {
        let receiver = self.changes.subscribe();
        let mut subscription = Subscription {
            resource_version: self.resource_version,
            objects: Vec::new(),
            backlog: Vec::new(),
            receiver,
        };

        match after {
            None => {
                subscription.objects = self.snapshot(resource, namespace, None)?.objects;
            }
            Some(after) if after < self.compacted => {
                return Err(Expired {
                    requested: after,
                    compacted: self.compacted,
                });
            }
            Some(after) => {
                subscription.backlog = self
                    .history
                    .iter()
                    .filter(|change| change.resource_version > after && change.resource == resource)
                    .cloned()
                    .collect();
            }
        }
        Ok(subscription)
    }

    fn generated_name(
        &mut self,
        resource: Resource,
        metadata: &Map<String, Value>,
    ) -> Result<String, Error> {
        match metadata.get("generateName").and_then(Value::as_str) {
            Some(prefix) if !prefix.is_empty() => Ok(format!("{prefix}{}", self.ids.suffix())),
            _ => Err(Error::MissingName {
                kind: resource.kind(),
            }),
        }
    }

    fn commit(
        &mut self,
        key: Key,
        change_type: ChangeType,
        (mut object, mut metadata): Parts,
        previous: Option<Arc<Value>>,
    ) -> Arc<Value> {
        self.resource_version += 1;
        let resource_version = self.resource_version;
        let resource = key.0;

        object.insert("apiVersion".into(), Value::from("v1"));
        object.insert("kind".into(), Value::from(resource.kind()));
        metadata.insert(
            "resourceVersion".into(),
            Value::from(resource_version.to_string()),
        );
        object.insert("metadata".into(), Value::Object(metadata));
        let object = Arc::new(Value::Object(object));

        let namespace = key.1.clone();
        if change_type == ChangeType::Deleted {
            self.objects.remove(&key);
        } else {
            self.objects.insert(key, object.clone());
        }

        let change = Arc::new(Change {
            resource,
            change_type,
            resource_version,
            namespace,
            object: object.clone(),
            previous,
        });
        self.remember(change);
        object
    }

    fn remember(&mut self, change: Arc<Change>) {
        self.history.push_back(change.clone());
        while self.history.len() > self.history_limit {
            if let Some(dropped) = self.history.pop_front() {
                self.compacted = self.compacted.max(dropped.resource_version);
            }
        }

        // An error only means that no watch is open.
        let _ = self.changes.send(change);
    }
}

/// Reverts one change in a map of objects keyed by namespace and name.
fn undo(objects: &mut BTreeMap<(String, String), Arc<Value>>, change: &Change) {
    let name = change
        .object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let key = (change.namespace.clone(), name);
    match &change.previous {
        Some(previous) => {
            objects.insert(key, previous.clone());
        }
        None => {
            objects.remove(&key);
        }
    }
}

/// Splits an object into its other fields and its `metadata`, which is empty where it is
/// absent or not an object.
fn split_metadata(resource: Resource, object: Value) -> Result<Parts, Error> {
    let Value::Object(mut object) = object else {
        return Err(Error::NotAnObject {
            kind: resource.kind(),
        });
    };
    let metadata = match object.remove("metadata") {
        Some(Value::Object(metadata)) => metadata,
        _ => Map::new(),
    };
    Ok((object, metadata))
}

fn text_or(map: &Map<String, Value>, field: &str, default: &str) -> String {
    match map.get(field).and_then(Value::as_str) {
        Some(text) if !text.is_empty() => text.to_owned(),
        _ => default.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(namespace: &str, name: &str) -> Value {
        json!({"metadata": {"namespace": namespace, "name": name}})
    }

    #[test]
    fn create_stamps_version_and_uid() {
        let mut store = Store::new(100);
        let created = store.create(Resource::Pods, pod("a", "x")).unwrap();

        let version = created.pointer("/metadata/resourceVersion").unwrap();
        assert_eq!(version, &json!((FIRST_RESOURCE_VERSION + 1).to_string()));
        let uid = created.pointer("/metadata/uid").unwrap().as_str().unwrap();
        assert_eq!(uid.len(), 36);
        assert!(created.pointer("/metadata/creationTimestamp").is_some());
        assert_eq!(created["kind"], json!("Pod"));
    }

    #[test]
    fn snapshot_at_past_version_undoes_changes() {
        let mut store = Store::new(100);
        store.create(Resource::Pods, pod("a", "x")).unwrap();
        let at = store.resource_version();
        store.create(Resource::Pods, pod("a", "y")).unwrap();
        store.delete(Resource::Pods, "a", "x").unwrap();

        let past = store.snapshot(Resource::Pods, None, Some(at)).unwrap();
        let names: Vec<_> = past
            .objects
            .iter()
            .map(|o| o["metadata"]["name"].clone())
            .collect();
        assert_eq!(names, vec![json!("x")]);
        let now = store.snapshot(Resource::Pods, None, None).unwrap();
        assert_eq!(now.objects.len(), 1);
        assert_eq!(now.objects[0]["metadata"]["name"], json!("y"));
    }

    #[test]
    fn history_limit_advances_compaction() {
        let mut store = Store::new(2);
        for name in ["a", "b", "c"] {
            store.create(Resource::Pods, pod("ns", name)).unwrap();
        }

        assert_eq!(store.compacted(), FIRST_RESOURCE_VERSION + 1);
        let expired = store.subscribe(Resource::Pods, None, Some(FIRST_RESOURCE_VERSION));
        assert!(expired.is_err());
        let kept = store.subscribe(Resource::Pods, None, Some(FIRST_RESOURCE_VERSION + 1));
        assert_eq!(kept.unwrap().backlog.len(), 2);
    }

    #[test]
    fn delete_carries_deletion_version() {
        let mut store = Store::new(100);
        store.create(Resource::Pods, pod("a", "x")).unwrap();
        let deleted = store.delete(Resource::Pods, "a", "x").unwrap();

        let version = store.resource_version().to_string();
        assert_eq!(deleted["metadata"]["resourceVersion"], json!(version));
        assert!(store.get(Resource::Pods, "a", "x").is_none());
    }
}
