//! The facts one diagnosis reads from the record, its pod and its Job, looked up once.
//!
//! Defaults follow the Pod API: `restartPolicy` is `Always` and
//! `terminationGracePeriodSeconds` is 30 when the spec leaves them out. A native sidecar is an
//! init container with `restartPolicy: Always`, so it restarts whatever the pod's policy.

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::batch::v1::{Job, JobCondition};
use k8s_openapi::api::core::v1::{
    Container, ContainerStatus, EphemeralContainer, Pod, PodCondition, Probe,
};

use super::Context;
use super::evidence::shifted;
use crate::model::{ContainerKind, EventRecord, Termination};

/// Grace period the API applies when a pod spec sets none.
pub const DEFAULT_GRACE_PERIOD_SECONDS: i64 = 30;

/// Clock skew allowed when an event's time is compared with the record's start or finish:
/// event times come from the API server and exit times from the node.
pub const CLOCK_SLACK: SignedDuration = SignedDuration::from_secs(5);

/// The record and the parts of its context the rules read.
pub struct Facts<'a> {
    pub record: &'a Termination,
    pub pod: Option<&'a Pod>,
    pub job: Option<&'a Job>,
    container: Option<ContainerSpec<'a>>,
}

/// The spec of the record's container, wherever the pod declares it.
#[derive(Clone, Copy)]
enum ContainerSpec<'a> {
    Regular(&'a Container),
    Ephemeral(&'a EphemeralContainer),
}

impl<'a> Facts<'a> {
    pub fn new(record: &'a Termination, context: &Context<'a>) -> Self {
        let container = context
            .pod
            .and_then(|pod| find_container_spec(pod, &record.container));
        Facts {
            record,
            pod: context.pod,
            job: context.job,
            container,
        }
    }

    fn regular_spec(&self) -> Option<&'a Container> {
        match self.container? {
            ContainerSpec::Regular(container) => Some(container),
            ContainerSpec::Ephemeral(_) => None,
        }
    }

    /// Returns the pod's `terminationGracePeriodSeconds`, or the default when the pod is
    /// known but sets none, or `None` without a pod.
    pub fn grace_period(&self) -> Option<i64> {
        let pod = self.pod?;
        let seconds = pod
            .spec
            .as_ref()
            .and_then(|spec| spec.termination_grace_period_seconds);
        Some(seconds.unwrap_or(DEFAULT_GRACE_PERIOD_SECONDS))
    }

    /// Returns the grace period of a probe kill: the probe's own
    /// `terminationGracePeriodSeconds` when set, else the pod's.
    pub fn probe_grace_period(&self, probe: ProbeKind) -> Option<i64> {
        let own = self
            .probe(probe)
            .and_then(|probe| probe.termination_grace_period_seconds);
        own.or_else(|| self.grace_period())
    }

    pub fn probe(&self, probe: ProbeKind) -> Option<&'a Probe> {
        let container = self.regular_spec()?;
        match probe {
            ProbeKind::Liveness => container.liveness_probe.as_ref(),
            ProbeKind::Startup => container.startup_probe.as_ref(),
        }
    }

    /// Returns the restart policy that applies to the record's container: `Always` for a
    /// sidecar, `Never` for an ephemeral container, else the pod's.
    pub fn restart_policy(&self) -> Option<String> {
        match self.record.container_kind {
            ContainerKind::Sidecar => return Some("Always".to_owned()),
            ContainerKind::Ephemeral => return Some("Never".to_owned()),
            ContainerKind::Regular | ContainerKind::Init => {}
        }
        let pod = self.pod?;
        let policy = pod
            .spec
            .as_ref()
            .and_then(|spec| spec.restart_policy.clone());
        Some(policy.unwrap_or_else(|| "Always".to_owned()))
    }

    pub fn termination_message_policy(&self) -> Option<&'a str> {
        match self.container? {
            ContainerSpec::Regular(container) => container.termination_message_policy.as_deref(),
            ContainerSpec::Ephemeral(container) => container.termination_message_policy.as_deref(),
        }
    }

    /// Returns the container's memory limit and request as written in the spec.
    pub fn memory(&self) -> (Option<&'a str>, Option<&'a str>) {
        let Some(resources) = self.regular_spec().and_then(|spec| spec.resources.as_ref()) else {
            return (None, None);
        };
        let get = |map: &'a Option<std::collections::BTreeMap<String, _>>| {
            map.as_ref().and_then(|map| map.get("memory")).map(
                |quantity: &'a k8s_openapi::apimachinery::pkg::api::resource::Quantity| {
                    quantity.0.as_str()
                },
            )
        };
        (get(&resources.limits), get(&resources.requests))
    }

    /// Returns true when the container spec is known, so an absent limit is a fact.
    pub fn has_container_spec(&self) -> bool {
        self.container.is_some()
    }

    pub fn qos_class(&self) -> Option<&'a str> {
        self.pod?.status.as_ref()?.qos_class.as_deref()
    }

    pub fn phase(&self) -> Option<&'a str> {
        self.pod?.status.as_ref()?.phase.as_deref()
    }

    /// Returns `status.reason` and `status.message` of the pod, from the pod object when
    /// known, else from the record.
    pub fn pod_reason(&self) -> (Option<&'a str>, Option<&'a str>) {
        let status = self.pod.and_then(|pod| pod.status.as_ref());
        let reason = status
            .and_then(|status| status.reason.as_deref())
            .or(self.record.pod_reason.as_deref());
        let message = status
            .and_then(|status| status.message.as_deref())
            .or(self.record.pod_message.as_deref());
        (reason, message)
    }

    /// Returns the pod condition of `type_` whose status is `True`.
    pub fn pod_condition(&self, type_: &str) -> Option<&'a PodCondition> {
        self.pod?
            .status
            .as_ref()?
            .conditions
            .as_ref()?
            .iter()
            .find(|condition| condition.type_ == type_ && condition.status == "True")
    }

    /// Returns the Job condition of `type_` whose status is `True`.
    pub fn job_condition(&self, type_: &str) -> Option<&'a JobCondition> {
        self.job?
            .status
            .as_ref()?
            .conditions
            .as_ref()?
            .iter()
            .find(|condition| condition.type_ == type_ && condition.status == "True")
    }

    pub fn job_name(&self) -> Option<&'a str> {
        if let Some(job) = self.job {
            return job.metadata.name.as_deref();
        }
        let owner = self.record.owner.as_ref()?;
        (owner.kind == "Job").then_some(owner.name.as_str())
    }

    /// Returns the time the pod's deletion was requested and the grace period it got:
    /// `deletionTimestamp` is the request time plus `deletionGracePeriodSeconds`.
    pub fn deletion(&self) -> Option<(Timestamp, Option<i64>)> {
        let pod = self.pod?;
        let deadline = pod.metadata.deletion_timestamp.as_ref()?.0;
        let grace = pod
            .metadata
            .deletion_grace_period_seconds
            .or_else(|| self.grace_period());
        let requested = grace
            .and_then(|seconds| {
                deadline
                    .checked_sub(SignedDuration::from_secs(seconds))
                    .ok()
            })
            .unwrap_or(deadline);
        Some((requested, grace))
    }

    /// Returns the status entry of the record's container.
    pub fn container_status(&self) -> Option<&'a ContainerStatus> {
        let status = self.pod?.status.as_ref()?;
        let lists = [
            status.container_statuses.as_ref(),
            status.init_container_statuses.as_ref(),
            status.ephemeral_container_statuses.as_ref(),
        ];
        lists
            .into_iter()
            .flatten()
            .flatten()
            .find(|entry| entry.name == self.record.container)
    }

    /// Returns true when the record is the container's latest instance: its `state` is
    /// terminated and matches the record, or the pod has no status to compare with.
    pub fn is_latest_instance(&self) -> bool {
        let Some(status) = self.container_status() else {
            return true;
        };
        let Some(terminated) = status
            .state
            .as_ref()
            .and_then(|state| state.terminated.as_ref())
        else {
            return false;
        };
        let same_id = terminated.container_id.is_some()
            && terminated.container_id == self.record.container_id;
        let same_finish =
            terminated.finished_at.as_ref().map(|time| time.0) == self.record.finished_at;
        same_id || same_finish
    }

    /// Returns the latest finish time of the pod's regular containers when all of them have
    /// terminated.
    pub fn main_containers_finished_at(&self) -> Option<Timestamp> {
        let statuses = self.pod?.status.as_ref()?.container_statuses.as_ref()?;
        let mut latest: Option<Timestamp> = None;
        for status in statuses {
            let terminated = status.state.as_ref()?.terminated.as_ref()?;
            let finished = terminated.finished_at.as_ref()?.0;
            latest = Some(latest.map_or(finished, |current| current.max(finished)));
        }
        latest
    }

    /// Events about the record's container, oldest first.
    pub fn container_events(&self) -> impl Iterator<Item = &'a EventRecord> + use<'a> {
        let container = self.record.container.as_str();
        self.record
            .events
            .iter()
            .filter(move |event| event_names_container(event, container))
    }

    /// Returns true when an event's time range touches the span in which the instance ran,
    /// widened by `after` past its finish. Unknown bounds do not exclude the event.
    pub fn event_during_instance(&self, event: &EventRecord, after: SignedDuration) -> bool {
        let (first, last) = event_times(event);
        let started_ok = match (self.record.started_at, last) {
            (Some(started), Some(last)) => last >= shifted(started, -CLOCK_SLACK),
            _ => true,
        };
        let finished_ok = match (self.record.finished_at, first) {
            (Some(finished), Some(first)) => first <= shifted(finished, after),
            _ => true,
        };
        started_ok && finished_ok
    }
}

/// Which probe restarted a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeKind {
    Liveness,
    Startup,
}

impl ProbeKind {
    pub fn name(self) -> &'static str {
        match self {
            ProbeKind::Liveness => "liveness",
            ProbeKind::Startup => "startup",
        }
    }
}

/// Returns the first and last time of an event, each falling back to the other.
pub fn event_times(event: &EventRecord) -> (Option<Timestamp>, Option<Timestamp>) {
    let first = event.first_seen.or(event.last_seen);
    let last = event.last_seen.or(event.first_seen);
    (first, last)
}

/// Returns true when an event is about `container`: by its `container` field, or by the
/// `fieldPath` of its object (`spec.containers{web}`).
pub fn event_names_container(event: &EventRecord, container: &str) -> bool {
    if let Some(named) = &event.container {
        return named == container;
    }
    event
        .object
        .field_path
        .as_deref()
        .and_then(|path| path.split_once('{'))
        .and_then(|(_, rest)| rest.strip_suffix('}'))
        .is_some_and(|named| named == container)
}

fn find_container_spec<'a>(pod: &'a Pod, name: &str) -> Option<ContainerSpec<'a>> {
    let spec = pod.spec.as_ref()?;
    let regular = spec.containers.iter();
    let init = spec.init_containers.iter().flatten();
    if let Some(container) = regular.chain(init).find(|container| container.name == name) {
        return Some(ContainerSpec::Regular(container));
    }
    spec.ephemeral_containers
        .iter()
        .flatten()
        .find(|container| container.name == name)
        .map(ContainerSpec::Ephemeral)
}
