//! Joins observations from pod objects, events, cluster-info dumps and node files into
//! diagnosed records.
//!
//! A container instance is identified by pod uid, container name and restart number. The
//! restart number is the `N` of the node's `N.log`, so one instance seen in a pod's status and
//! in a node's files becomes one record, with the exit code from the status and the log tail
//! from the file. Instances known only from node files (older restarts the API has forgotten) become
//! records of their own, with no exit code. Termination-message files are matched to
//! instances by time through [`kubelet::match_message_files`].

use std::collections::{BTreeMap, HashMap};

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;

use crate::detect::{self, Instance, Observation, Slot};
use crate::diagnose::{self, Context};
use crate::kubelet::{self, InstanceTimes, NodeInstance, NodeScan};
use crate::model::{
    ContainerKind, EventRecord, InstanceKey, LogLine, LogSource, Source, Stream, Termination,
    termination_id,
};
use crate::objects::{Bundle, DumpLog};

/// How far outside an instance's run time an event may lie and still be related to its exit.
const EVENT_SLACK: SignedDuration = SignedDuration::from_secs(120);

/// How long before an exit a node event (an `OOMKilling`, a reboot) may lie and still explain
/// it, when the instance's start time is unknown.
const NODE_EVENT_WINDOW: SignedDuration = SignedDuration::from_secs(600);

/// Reasons of node events that can explain a container's exit.
const NODE_EVENT_REASONS: [&str; 6] = [
    "OOMKilling",
    "SystemOOM",
    "NodeNotReady",
    "Rebooted",
    "NodeShutdown",
    "EvictionThresholdMet",
];

/// Choices that apply to every record of one run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Cluster name to stamp on each record.
    pub cluster: Option<String>,
    /// Maximum number of log lines kept per record.
    pub log_lines: usize,
    pub observed_at: Timestamp,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            cluster: None,
            log_lines: 200,
            observed_at: Timestamp::now(),
        }
    }
}

/// Builds the diagnosed records of every container instance found in the objects and node
/// scans, newest first.
pub fn assemble(bundle: &Bundle, scans: &[NodeScan], options: &Options) -> Vec<Termination> {
    let observation = Observation {
        source: Source::Dump,
        observed_at: options.observed_at,
    };
    let pods_by_uid: HashMap<String, &Pod> =
        bundle.pods.iter().map(|pod| (pod_key(pod), pod)).collect();

    let mut records: BTreeMap<String, Entry> = BTreeMap::new();
    for pod in &bundle.pods {
        for instance in detect::detect_instances(pod, &observation) {
            let id = instance.termination.id.clone();
            records.insert(
                id,
                Entry {
                    instance,
                    pod_key: Some(pod_key(pod)),
                },
            );
        }
    }

    for scan in scans {
        join_node_instances(&mut records, &pods_by_uid, scan, options);
        join_message_files(&mut records, &pods_by_uid, scan, options);
    }
    join_dump_logs(&mut records, &bundle.logs, options.log_lines);

    let mut output: Vec<Termination> = records
        .into_values()
        .map(|entry| {
            let pod = entry
                .pod_key
                .as_ref()
                .and_then(|key| pods_by_uid.get(key).copied());
            finish_record(entry.instance.termination, pod, bundle, options)
        })
        .collect();
    output.sort_by(|a, b| {
        b.occurred_at()
            .cmp(&a.occurred_at())
            .then_with(|| a.id.cmp(&b.id))
    });
    output
}

/// Returns one warning per container folder whose non-empty termination-message files were
/// matched to no record, because their content is then not shown anywhere. The usual reason
/// is a copy that reset the files' mtimes, which the matching needs.
pub fn unmatched_message_warnings(scans: &[NodeScan], records: &[Termination]) -> Vec<String> {
    let matched: std::collections::HashSet<&str> = records
        .iter()
        .filter_map(|record| record.termination_message_file.as_deref())
        .collect();
    let mut warnings = Vec::new();
    for group in scans.iter().flat_map(|scan| &scan.message_files) {
        let unmatched: Vec<&kubelet::MessageFile> = group
            .files
            .iter()
            .filter(|file| !file.content.iter().all(u8::is_ascii_whitespace))
            .filter(|file| !matched.contains(file.path.display().to_string().as_str()))
            .collect();
        let Some(first) = unmatched.first() else {
            continue;
        };
        let folder = first
            .path
            .parent()
            .unwrap_or(&first.path)
            .display()
            .to_string();
        warnings.push(format!(
            "`{folder}`: {} termination-message file(s) with content could not be matched to an \
             instance of container `{}`; their mtimes may have been reset by a copy (copy node \
             folders with `cp -a` or `tar` to keep them), or the pod object is missing",
            unmatched.len(),
            group.container
        ));
    }
    warnings
}

/// A record being built, with the key of its pod in the bundle.
struct Entry {
    instance: Instance,
    pod_key: Option<String>,
}

/// Returns the key under which detection filed the pod's records: its uid, or
/// `namespace/name` when the saved object has no uid.
fn pod_key(pod: &Pod) -> String {
    match pod.metadata.uid.as_deref() {
        Some(uid) if !uid.is_empty() => uid.to_owned(),
        _ => format!(
            "{}/{}",
            pod.metadata.namespace.as_deref().unwrap_or("default"),
            pod.metadata.name.as_deref().unwrap_or_default()
        ),
    }
}

/// Adds each node instance's log to the record of the same instance, and records the dead
/// instances of which only the node still has files.
fn join_node_instances(
    records: &mut BTreeMap<String, Entry>,
    pods: &HashMap<String, &Pod>,
    scan: &NodeScan,
    options: &Options,
) {
    let latest = latest_node_instances(&scan.instances);
    for node in &scan.instances {
        let id = termination_id(&node.pod_uid, &node.container, node.restart_count);
        if let Some(entry) = records.get_mut(&id) {
            attach_node_log(&mut entry.instance.termination, node);
            continue;
        }

        let pod = pods.get(&node.pod_uid).copied();
        let latest_on_node = latest.get(&(node.pod_uid.as_str(), node.container.as_str()));
        if !is_dead_instance(
            pod,
            &node.container,
            node.restart_count,
            latest_on_node.copied(),
        ) {
            continue;
        }
        let mut record = node_only_record(pod, node, &node.container, node.restart_count, options);
        attach_node_log(&mut record, node);
        let pod_key = pod.map(|_| node.pod_uid.clone());
        records.insert(
            id,
            Entry {
                instance: Instance {
                    termination: record,
                    slot: Slot::LastState,
                },
                pod_key,
            },
        );
    }
}

/// Returns the highest restart number seen on the node per pod uid and container.
fn latest_node_instances(instances: &[NodeInstance]) -> HashMap<(&str, &str), u32> {
    let mut latest: HashMap<(&str, &str), u32> = HashMap::new();
    for node in instances {
        let key = (node.pod_uid.as_str(), node.container.as_str());
        let number = latest.entry(key).or_insert(node.restart_count);
        *number = (*number).max(node.restart_count);
    }
    latest
}

/// Returns true when the instance has certainly ended: the pod's status shows a later
/// instance, or, without a pod object, the node has files of a later instance of the container.
///
/// NOTE: without a pod object the newest instance on the node is taken as possibly running
/// and is not recorded, although it may have exited as well.
fn is_dead_instance(
    pod: Option<&Pod>,
    container: &str,
    restart_count: u32,
    latest_on_node: Option<u32>,
) -> bool {
    let Some(pod) = pod else {
        return latest_on_node.is_some_and(|latest| restart_count < latest);
    };
    let status = pod.status.as_ref();
    let statuses = status.into_iter().flat_map(|status| {
        let regular = status.container_statuses.iter().flatten();
        let init = status.init_container_statuses.iter().flatten();
        let ephemeral = status.ephemeral_container_statuses.iter().flatten();
        regular.chain(init).chain(ephemeral)
    });
    let Some(container_status) = statuses.into_iter().find(|status| status.name == container)
    else {
        return latest_on_node.is_some_and(|latest| restart_count < latest);
    };
    let current = u32::try_from(container_status.restart_count).unwrap_or(0);
    let state = container_status.state.as_ref();
    let running = state.is_some_and(|state| state.running.is_some());
    let pod_finished = status
        .and_then(|status| status.phase.as_deref())
        .is_some_and(|phase| phase == "Failed" || phase == "Succeeded");
    if running && !pod_finished {
        restart_count < current
    } else {
        restart_count <= current
    }
}

/// Builds the record of an instance known only from node files.
fn node_only_record(
    pod: Option<&Pod>,
    node: &NodeInstance,
    container: &str,
    restart_count: u32,
    options: &Options,
) -> Termination {
    let observation = Observation {
        source: Source::Node,
        observed_at: options.observed_at,
    };
    let template = pod.map(|pod| detect::blank_record(pod, container, restart_count, &observation));
    let mut record = template.unwrap_or_else(|| {
        let key = InstanceKey {
            namespace: node.namespace.as_deref().unwrap_or_default(),
            pod: node.pod.as_deref().unwrap_or_default(),
            pod_uid: &node.pod_uid,
            container,
            container_kind: ContainerKind::Regular,
            restart_count,
        };
        Termination::new(key, Source::Node, options.observed_at)
    });
    record.id = termination_id(&record.pod_uid, container, restart_count);
    record.restart_count = restart_count;
    record.source = Source::Node;
    record
}

/// Copies the node's log of an instance into its record, unless the record already has a
/// longer tail from another source.
fn attach_node_log(record: &mut Termination, node: &NodeInstance) {
    if record.log_tail.len() < node.log_tail.len() || record.log_source.is_none() {
        record.log_tail = node.log_tail.clone();
        record.log_truncated = node.log_truncated;
        record.log_source = Some(LogSource::NodeFile);
    }
    record.log_first_at = record.log_first_at.or(node.first_log_at);
    record.log_last_at = record.log_last_at.or(node.last_log_at);
    if record.container_id.is_none() {
        record.container_id = node.container_id.clone();
    }
}

/// Matches termination-message files to instances by time, attaches each file to its
/// instance's record, and records dead instances whose file is all that is left of them.
fn join_message_files(
    records: &mut BTreeMap<String, Entry>,
    pods: &HashMap<String, &Pod>,
    scan: &NodeScan,
    options: &Options,
) {
    for group in &scan.message_files {
        let pod = pods.get(&group.pod_uid).copied();
        let latest = pod.and_then(|pod| current_restart_count(pod, &group.container));
        let known = instance_times(records, scan, &group.pod_uid, &group.container);
        let matches = kubelet::match_message_files(&group.files, latest, &known);

        for found in matches {
            let Some(file) = group.files.get(found.file_index) else {
                continue;
            };
            let id = termination_id(&group.pod_uid, &group.container, found.restart_count);
            let message = non_empty_text(&file.content);
            if let Some(entry) = records.get_mut(&id) {
                let record = &mut entry.instance.termination;
                record.termination_message_file = Some(file.path.display().to_string());
                if record.message.is_none() {
                    record.message = message;
                }
                continue;
            }

            let latest_on_node = latest.map(|latest| latest + 1);
            let dead = is_dead_instance(pod, &group.container, found.restart_count, latest_on_node);
            let Some(message) = message.filter(|_| dead) else {
                continue;
            };
            let node = NodeInstance {
                namespace: pod.and_then(|pod| pod.metadata.namespace.clone()),
                pod: pod.and_then(|pod| pod.metadata.name.clone()),
                pod_uid: group.pod_uid.clone(),
                container: group.container.clone(),
                restart_count: found.restart_count,
                container_id: None,
                log_files: Vec::new(),
                log_tail: Vec::new(),
                log_truncated: false,
                first_log_at: None,
                last_log_at: None,
            };
            let mut record =
                node_only_record(pod, &node, &group.container, found.restart_count, options);
            record.message = Some(message);
            record.termination_message_file = Some(file.path.display().to_string());
            let pod_key = pod.map(|_| group.pod_uid.clone());
            records.insert(
                id,
                Entry {
                    instance: Instance {
                        termination: record,
                        slot: Slot::LastState,
                    },
                    pod_key,
                },
            );
        }
    }
}

/// Returns the container's `restartCount` in the pod's status.
fn current_restart_count(pod: &Pod, container: &str) -> Option<u32> {
    let status = pod.status.as_ref()?;
    let regular = status.container_statuses.iter().flatten();
    let init = status.init_container_statuses.iter().flatten();
    let found = regular
        .chain(init)
        .find(|status| status.name == container)?;
    u32::try_from(found.restart_count).ok()
}

/// Returns what is known of the run times of each instance of one container, from the records
/// and from the node's log timestamps.
fn instance_times(
    records: &BTreeMap<String, Entry>,
    scan: &NodeScan,
    pod_uid: &str,
    container: &str,
) -> Vec<InstanceTimes> {
    let mut times: BTreeMap<u32, InstanceTimes> = BTreeMap::new();
    for entry in records.values() {
        let record = &entry.instance.termination;
        if record.pod_uid == pod_uid && record.container == container {
            times.insert(
                record.restart_count,
                InstanceTimes {
                    restart_count: record.restart_count,
                    started_at: record.started_at.or(record.log_first_at),
                    finished_at: record.finished_at.or(record.log_last_at),
                },
            );
        }
    }
    for node in scan
        .instances
        .iter()
        .filter(|node| node.pod_uid == pod_uid && node.container == container)
    {
        times.entry(node.restart_count).or_insert(InstanceTimes {
            restart_count: node.restart_count,
            started_at: node.first_log_at,
            finished_at: node.last_log_at,
        });
    }
    times.into_values().collect()
}

/// Adds a cluster-info dump's container log to the record of the container's latest instance,
/// which is the dead one only when the status reports `state.terminated`.
fn join_dump_logs(records: &mut BTreeMap<String, Entry>, logs: &[DumpLog], log_lines: usize) {
    for log in logs {
        let entry = records.values_mut().find(|entry| {
            let record = &entry.instance.termination;
            entry.instance.slot == Slot::State
                && record.namespace == log.namespace
                && record.pod == log.pod
                && record.container == log.container
        });
        let Some(entry) = entry else {
            continue;
        };
        let record = &mut entry.instance.termination;
        if !record.log_tail.is_empty() {
            continue;
        }
        let lines: Vec<&str> = log.text.lines().collect();
        let start = lines.len().saturating_sub(log_lines);
        record.log_tail = lines[start..].iter().map(|text| plain_line(text)).collect();
        record.log_truncated = start > 0 || log.truncated;
        record.log_source = Some(LogSource::ApiCurrent);
    }
}

fn plain_line(text: &str) -> LogLine {
    LogLine {
        time: None,
        stream: Stream::Stdout,
        text: text.to_owned(),
        partial: false,
    }
}

/// Adds events, the cluster name and the diagnosis to a joined record.
fn finish_record(
    mut record: Termination,
    pod: Option<&Pod>,
    bundle: &Bundle,
    options: &Options,
) -> Termination {
    record.cluster = options.cluster.clone().or(record.cluster);
    record.events = related_events(&record, &bundle.events);
    if record.log_tail.is_empty() {
        use_message_as_log(&mut record, pod);
    }

    let job = owning_job(&record, &bundle.jobs);
    let context = Context { pod, job };
    record.cause = diagnose::diagnose(&record, &context);
    record
}

/// Returns the Job that controls the record's pod, when the bundle contains it.
fn owning_job<'a>(record: &Termination, jobs: &'a [Job]) -> Option<&'a Job> {
    let owner = record.owner.as_ref().filter(|owner| owner.kind == "Job")?;
    jobs.iter().find(|job| {
        job.metadata.name.as_deref() == Some(owner.name.as_str())
            && job.metadata.namespace.as_deref().unwrap_or("default") == record.namespace
    })
}

/// Takes the termination message as the log tail when kubelet filled the message from the log
/// (`terminationMessagePolicy: FallbackToLogsOnError`) and no log is otherwise available.
fn use_message_as_log(record: &mut Termination, pod: Option<&Pod>) {
    let Some(message) = record.message.as_deref() else {
        return;
    };
    let policy = pod.and_then(|pod| container_message_policy(pod, &record.container));
    if policy != Some("FallbackToLogsOnError") || record.exit_code == Some(0) {
        return;
    }
    record.log_tail = message.lines().map(plain_line).collect();
    record.log_truncated = true;
    record.log_source = Some(LogSource::TerminationMessage);
}

fn container_message_policy<'a>(pod: &'a Pod, container: &str) -> Option<&'a str> {
    let spec = pod.spec.as_ref()?;
    let regular = spec.containers.iter();
    let init = spec.init_containers.iter().flatten();
    let found = regular.chain(init).find(|spec| spec.name == container)?;
    found.termination_message_policy.as_deref()
}

/// Returns the events about the record's pod (on its container or on the pod as a whole),
/// about its owning Job, and node events that may explain it, oldest first.
fn related_events(record: &Termination, events: &[EventRecord]) -> Vec<EventRecord> {
    let mut related: Vec<EventRecord> = events
        .iter()
        .filter_map(|event| {
            if is_about_pod(record, event) {
                let same_container = event
                    .container
                    .as_deref()
                    .is_none_or(|name| name == record.container);
                return (same_container && overlaps_run(record, event, EVENT_SLACK))
                    .then(|| event.clone());
            }
            if is_about_owner(record, event) {
                return Some(event.clone());
            }
            if is_node_event_near_exit(record, event) {
                let mut inferred = event.clone();
                inferred.inferred = true;
                return Some(inferred);
            }
            None
        })
        .collect();
    related.sort_by_key(|event| event.first_seen.or(event.last_seen));
    related
}

fn is_about_pod(record: &Termination, event: &EventRecord) -> bool {
    let object = &event.object;
    if object.kind != "Pod" {
        return false;
    }
    match object.uid.as_deref() {
        Some(uid) if !uid.is_empty() && !record.pod_uid.contains('/') => uid == record.pod_uid,
        _ => {
            object.name == record.pod
                && object.namespace.as_deref().unwrap_or("default") == record.namespace
        }
    }
}

fn is_about_owner(record: &Termination, event: &EventRecord) -> bool {
    let Some(owner) = record.owner.as_ref() else {
        return false;
    };
    let object = &event.object;
    object.kind == owner.kind
        && object.name == owner.name
        && object.namespace.as_deref().unwrap_or("default") == record.namespace
}

fn is_node_event_near_exit(record: &Termination, event: &EventRecord) -> bool {
    let (Some(node), Some(finished)) = (record.node.as_deref(), record.finished_at) else {
        return false;
    };
    let object = &event.object;
    let on_node =
        (object.kind == "Node" && object.name == node) || event.host.as_deref() == Some(node);
    if !on_node || !NODE_EVENT_REASONS.contains(&event.reason.as_str()) {
        return false;
    }
    let Some(seen) = event.last_seen.or(event.first_seen) else {
        return false;
    };
    let start = record.started_at.unwrap_or(finished - NODE_EVENT_WINDOW);
    seen >= start - EVENT_SLACK && seen <= finished + EVENT_SLACK
}

/// Returns true when the event was seen while the instance ran, give or take `slack`. Events
/// and records without times are kept, because nothing shows they are unrelated.
fn overlaps_run(record: &Termination, event: &EventRecord, slack: SignedDuration) -> bool {
    let first = event.first_seen.or(event.last_seen);
    let last = event.last_seen.or(event.first_seen);
    if let (Some(started), Some(last)) = (record.started_at, last)
        && last < started - slack
    {
        return false;
    }
    if let (Some(finished), Some(first)) = (record.finished_at, first)
        && first > finished + slack
    {
        return false;
    }
    true
}

fn non_empty_text(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    (!text.trim().is_empty()).then(|| text.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ObjectRef;

    fn case_pod(file: &str) -> Pod {
        let path = format!("{}/tests/data/cases/{file}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
    }

    fn line(text: &str) -> LogLine {
        LogLine {
            time: None,
            stream: Stream::Stderr,
            text: text.to_owned(),
            partial: false,
        }
    }

    fn node_instance(pod: &Pod, container: &str, restart_count: u32, text: &str) -> NodeInstance {
        NodeInstance {
            namespace: pod.metadata.namespace.clone(),
            pod: pod.metadata.name.clone(),
            pod_uid: pod.metadata.uid.clone().unwrap(),
            container: container.to_owned(),
            restart_count,
            container_id: None,
            log_files: Vec::new(),
            log_tail: vec![line(text)],
            log_truncated: false,
            first_log_at: None,
            last_log_at: None,
        }
    }

    fn event(
        kind: &str,
        name: &str,
        reason: &str,
        container: Option<&str>,
        seen: &str,
    ) -> EventRecord {
        let seen: Timestamp = seen.parse().unwrap();
        EventRecord {
            event_type: "Warning".to_owned(),
            reason: reason.to_owned(),
            message: format!("{reason} message"),
            count: 1,
            first_seen: Some(seen),
            last_seen: Some(seen),
            object: ObjectRef {
                kind: kind.to_owned(),
                namespace: Some("shop".to_owned()),
                name: name.to_owned(),
                uid: None,
                field_path: None,
            },
            container: container.map(str::to_owned),
            reporter: None,
            host: None,
            inferred: false,
        }
    }

    fn options() -> Options {
        Options {
            cluster: Some("test".to_owned()),
            log_lines: 200,
            observed_at: Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn node_log_joins_the_status_record() {
        let pod = case_pod("01-oomkilled-memory-limit.json");
        let scan = NodeScan {
            instances: vec![node_instance(&pod, "api", 2, "heap limit")],
            ..NodeScan::default()
        };
        let bundle = Bundle {
            pods: vec![pod],
            ..Bundle::default()
        };
        let records = assemble(&bundle, &[scan], &options());
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].exit_code, Some(137));
        assert_eq!(records[0].log_tail[0].text, "heap limit");
        assert_eq!(records[0].log_source, Some(LogSource::NodeFile));
        assert_eq!(records[0].cluster.as_deref(), Some("test"));
    }

    #[test]
    fn older_node_instances_become_records() {
        let pod = case_pod("01-oomkilled-memory-limit.json");
        let instances = (0..=3)
            .map(|number| node_instance(&pod, "api", number, &format!("run {number}")))
            .collect();
        let scan = NodeScan {
            instances,
            ..NodeScan::default()
        };
        let bundle = Bundle {
            pods: vec![pod],
            ..Bundle::default()
        };
        let records = assemble(&bundle, &[scan], &options());

        let numbers: Vec<u32> = records.iter().map(|record| record.restart_count).collect();
        assert_eq!(records.len(), 3, "instance 3 is running: {numbers:?}");
        for number in [0, 1] {
            let record = records
                .iter()
                .find(|record| record.restart_count == number)
                .unwrap();
            assert_eq!(record.exit_code, None);
            assert_eq!(record.source, Source::Node);
            assert_eq!(record.namespace, "shop");
            assert_eq!(record.node.as_deref(), Some("node-1"));
            assert_eq!(record.log_tail[0].text, format!("run {number}"));
        }
    }

    #[test]
    fn without_pod_newest_instance_is_skipped() {
        let pod = case_pod("01-oomkilled-memory-limit.json");
        let instances = (0..=2)
            .map(|number| node_instance(&pod, "api", number, "x"))
            .collect();
        let scan = NodeScan {
            instances,
            ..NodeScan::default()
        };
        let records = assemble(&Bundle::default(), &[scan], &options());
        let mut numbers: Vec<u32> = records.iter().map(|record| record.restart_count).collect();
        numbers.sort();
        assert_eq!(numbers, [0, 1]);
        assert_eq!(records[0].pod, "api-7d9f8c6b5d-x2k4q");
    }

    #[test]
    fn events_narrowed_to_container_and_time() {
        let pod = case_pod("01-oomkilled-memory-limit.json");
        let name = "api-7d9f8c6b5d-x2k4q";
        let events = vec![
            event("Pod", name, "Killing", Some("api"), "2024-02-07T15:15:00Z"),
            event(
                "Pod",
                name,
                "Pulled",
                Some("sidecar"),
                "2024-02-07T15:15:00Z",
            ),
            event("Pod", name, "BackOff", Some("api"), "2024-02-01T00:00:00Z"),
            event(
                "Pod",
                "other-pod",
                "Killing",
                Some("api"),
                "2024-02-07T15:15:00Z",
            ),
            event("Node", "node-1", "OOMKilling", None, "2024-02-07T15:15:10Z"),
            event("Node", "node-2", "OOMKilling", None, "2024-02-07T15:15:10Z"),
        ];
        let bundle = Bundle {
            pods: vec![pod],
            events,
            ..Bundle::default()
        };
        let records = assemble(&bundle, &[], &options());
        let reasons: Vec<(&str, bool)> = records[0]
            .events
            .iter()
            .map(|event| (event.reason.as_str(), event.inferred))
            .collect();
        assert_eq!(reasons, [("Killing", false), ("OOMKilling", true)]);
    }

    #[test]
    fn dump_log_joins_only_terminated_state() {
        let pod = case_pod("05-exit139-segfault.json");
        let log = DumpLog {
            namespace: "shop".to_owned(),
            pod: "operator-6c9b7d5f4-r8n2v".to_owned(),
            container: "operator".to_owned(),
            path: "logs.txt".into(),
            text: "one\ntwo\n".to_owned(),
            truncated: false,
            fetch_error: None,
        };
        let bundle = Bundle {
            pods: vec![pod],
            logs: vec![log],
            ..Bundle::default()
        };
        let records = assemble(&bundle, &[], &options());
        let current = records
            .iter()
            .find(|record| record.restart_count == 2)
            .unwrap();
        let previous = records
            .iter()
            .find(|record| record.restart_count == 1)
            .unwrap();
        assert_eq!(current.log_tail.len(), 2);
        assert_eq!(current.log_source, Some(LogSource::ApiCurrent));
        assert!(previous.log_tail.is_empty());
    }

    #[test]
    fn fallback_message_becomes_log_tail() {
        let pod = case_pod("21-fallback-to-logs.json");
        let bundle = Bundle {
            pods: vec![pod],
            ..Bundle::default()
        };
        let records = assemble(&bundle, &[], &options());
        assert_eq!(records[0].log_source, Some(LogSource::TerminationMessage));
        assert!(records[0].log_truncated);
        assert!(
            records[0]
                .log_tail
                .last()
                .unwrap()
                .text
                .contains("Giving up after 7 failed health checks")
        );
    }
}
