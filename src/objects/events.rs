//! Events of both APIs normalised into [`EventRecord`].
//!
//! core/v1 events written by the old recorder carry `count`, `firstTimestamp` and
//! `lastTimestamp`. Events written through events.k8s.io/v1 (the scheduler, newer controllers)
//! leave those null and carry `eventTime` and, once repeated, `series.count` and
//! `series.lastObservedTime`. The API server serves each event through both APIs: in
//! events.k8s.io/v1 the old fields are `deprecatedCount`, `deprecatedFirstTimestamp`,
//! `deprecatedLastTimestamp` and `deprecatedSource`, `note` is the message and `regarding` the
//! object. Both forms are read here, so a repeated event never shows as a single occurrence.
//!
//! The container comes from the object's `fieldPath` (`spec.containers{app}`, as kubelet's
//! `GenerateContainerRef` writes it) or, when there is none, from the message text of
//! kubelet's container events (`kuberuntime_container.go`, `kuberuntime_manager.go` and
//! `lifecycle/handlers.go` in kubelet).

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{Event as CoreEvent, EventSource, ObjectReference};
use k8s_openapi::api::events::v1::Event as EventsEvent;

use crate::model::{EventRecord, ObjectRef};

/// Maximum length of a stored event message, in bytes. Messages are untrusted text, so longer
/// ones are cut at a character boundary and end in `…`.
pub const MAX_MESSAGE_BYTES: usize = 4096;

/// Normalises a core/v1 event.
pub fn event_from_core_v1(event: &CoreEvent) -> EventRecord {
    let series = event.series.as_ref();
    let event_time = event.event_time.as_ref().map(|time| time.0);
    let series_last = series.and_then(|series| series.last_observed_time.as_ref());
    let times = Times {
        first: event.first_timestamp.as_ref().map(|time| time.0),
        last: event.last_timestamp.as_ref().map(|time| time.0),
        series_last: series_last.map(|time| time.0),
        event_time,
        created: event
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|time| time.0),
    };
    let count = occurrences(&[event.count, series.and_then(|series| series.count)]);

    let source = event.source.as_ref();
    let reporter = reporter(source, event.reporting_component.as_deref());
    let host = host(
        source,
        reporter.as_deref(),
        event.reporting_instance.as_deref(),
    );

    build_record(Parts {
        event_type: event.type_.as_deref(),
        reason: event.reason.as_deref(),
        message: event.message.as_deref(),
        count,
        times,
        object: Some(&event.involved_object),
        reporter,
        host,
    })
}

/// Normalises an events.k8s.io/v1 event.
pub fn event_from_events_v1(event: &EventsEvent) -> EventRecord {
    let series = event.series.as_ref();
    let times = Times {
        first: event.deprecated_first_timestamp.as_ref().map(|time| time.0),
        last: event.deprecated_last_timestamp.as_ref().map(|time| time.0),
        series_last: series.map(|series| series.last_observed_time.0),
        event_time: event.event_time.as_ref().map(|time| time.0),
        created: event
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|time| time.0),
    };
    let count = occurrences(&[event.deprecated_count, series.map(|series| series.count)]);

    let source = event.deprecated_source.as_ref();
    let reporter = reporter(source, event.reporting_controller.as_deref());
    let host = host(
        source,
        reporter.as_deref(),
        event.reporting_instance.as_deref(),
    );

    build_record(Parts {
        event_type: event.type_.as_deref(),
        reason: event.reason.as_deref(),
        message: event.note.as_deref(),
        count,
        times,
        object: event.regarding.as_ref(),
        reporter,
        host,
    })
}

/// The timestamps an event may carry, in either API.
struct Times {
    /// `firstTimestamp` or `deprecatedFirstTimestamp`.
    first: Option<Timestamp>,
    /// `lastTimestamp` or `deprecatedLastTimestamp`.
    last: Option<Timestamp>,
    series_last: Option<Timestamp>,
    event_time: Option<Timestamp>,
    created: Option<Timestamp>,
}

impl Times {
    /// First seen: the legacy first timestamp, else `eventTime`, else the object's creation.
    fn first_seen(&self) -> Option<Timestamp> {
        [self.first, self.event_time, self.created]
            .into_iter()
            .find_map(known)
    }

    /// Last seen: the later of the legacy last timestamp and `series.lastObservedTime`, else
    /// `eventTime`, else the first seen time.
    fn last_seen(&self) -> Option<Timestamp> {
        let latest = [self.last, self.series_last]
            .into_iter()
            .filter_map(known)
            .max();
        latest
            .or_else(|| known(self.event_time))
            .or_else(|| self.first_seen())
    }
}

/// Drops the zero times (the Unix epoch and earlier) that some writers send for "unset".
fn known(time: Option<Timestamp>) -> Option<Timestamp> {
    time.filter(|time| *time > Timestamp::UNIX_EPOCH)
}

/// Returns the number of occurrences: the largest positive count among the legacy count and
/// `series.count`, and 1 when neither is set, because a stored event happened at least once.
fn occurrences(counts: &[Option<i32>]) -> u32 {
    counts
        .iter()
        .filter_map(|count| u32::try_from((*count)?).ok())
        .filter(|count| *count > 0)
        .max()
        .unwrap_or(1)
}

/// Returns the reporting component: `source.component`, else `reportingComponent` (core/v1) or
/// `reportingController` (events.k8s.io/v1).
fn reporter(source: Option<&EventSource>, reporting: Option<&str>) -> Option<String> {
    let component = source.and_then(|source| source.component.as_deref());
    non_empty(component).or_else(|| non_empty(reporting))
}

/// Returns the reporting node: `source.host`, else `reportingInstance` when kubelet reported the
/// event, because kubelet sets its instance to the node name. Other components name a
/// process there (`default-scheduler-control-plane-1`), not a node.
fn host(
    source: Option<&EventSource>,
    reporter: Option<&str>,
    reporting_instance: Option<&str>,
) -> Option<String> {
    let source_host = non_empty(source.and_then(|source| source.host.as_deref()));
    match reporter {
        Some("kubelet") => source_host.or_else(|| non_empty(reporting_instance)),
        _ => source_host,
    }
}

fn non_empty(text: Option<&str>) -> Option<String> {
    text.filter(|text| !text.is_empty()).map(str::to_owned)
}

/// The fields of an event after the API-specific names have been resolved.
struct Parts<'e> {
    event_type: Option<&'e str>,
    reason: Option<&'e str>,
    message: Option<&'e str>,
    count: u32,
    times: Times,
    object: Option<&'e ObjectReference>,
    reporter: Option<String>,
    host: Option<String>,
}

fn build_record(parts: Parts) -> EventRecord {
    let object = parts.object.map(object_ref).unwrap_or_default();
    let message = bound_message(parts.message.unwrap_or_default());
    let container = container_of(&object, &message);

    EventRecord {
        event_type: parts.event_type.unwrap_or_default().to_owned(),
        reason: parts.reason.unwrap_or_default().to_owned(),
        count: parts.count,
        first_seen: parts.times.first_seen(),
        last_seen: parts.times.last_seen(),
        message,
        object,
        container,
        reporter: parts.reporter,
        host: parts.host,
        inferred: false,
    }
}

fn object_ref(reference: &ObjectReference) -> ObjectRef {
    ObjectRef {
        kind: reference.kind.clone().unwrap_or_default(),
        namespace: non_empty(reference.namespace.as_deref()),
        name: reference.name.clone().unwrap_or_default(),
        uid: non_empty(reference.uid.as_deref()),
        field_path: non_empty(reference.field_path.as_deref()),
    }
}

/// Returns the container of an event about a pod, from the field path, else the message.
fn container_of(object: &ObjectRef, message: &str) -> Option<String> {
    if let Some(field_path) = &object.field_path {
        return container_from_field_path(field_path).map(str::to_owned);
    }
    if !object.kind.is_empty() && object.kind != "Pod" {
        return None;
    }
    container_from_message(message).map(str::to_owned)
}

/// Cuts `message` to [`MAX_MESSAGE_BYTES`] at a character boundary. The text is kept as
/// it is otherwise, control characters included.
fn bound_message(message: &str) -> String {
    if message.len() <= MAX_MESSAGE_BYTES {
        return message.to_owned();
    }
    let end = message.floor_char_boundary(MAX_MESSAGE_BYTES - '…'.len_utf8());
    let mut cut = message.get(..end).unwrap_or_default().to_owned();
    cut.push('…');
    cut
}

/// Returns the container name in a field path that kubelet writes for a container event:
/// `spec.containers{app}`, `spec.initContainers{init}` or `spec.ephemeralContainers{debug}`,
/// with or without a leading `.` (older kubelets wrote `.spec.containers{app}`). Index forms
/// (`spec.containers[2]`, for a container without a name) and kubelet's `implicitly required
/// container POD` (the pod's sandbox, not a spec container) return `None`.
pub fn container_from_field_path(field_path: &str) -> Option<&str> {
    let path = field_path.strip_prefix('.').unwrap_or(field_path);
    [
        "spec.containers",
        "spec.initContainers",
        "spec.ephemeralContainers",
    ]
    .into_iter()
    .find_map(|prefix| {
        path.strip_prefix(prefix)?
            .strip_prefix('{')?
            .strip_suffix('}')
    })
    .filter(|name| !name.is_empty() && !name.contains(['{', '}']))
}

/// Returns the container named by the message of one of kubelet's container events, or
/// `None` for any other text. The names must be valid container names (RFC 1123 labels), so
/// "Container image "x" already present on machine" names no container.
///
/// The formats, from kubelet's sources:
/// - `Back-off restarting failed container {name} in pod {pod}` (BackOff)
/// - `Container {name} failed liveness probe`, `... failed startup probe`, `Container {name}
///   definition changed`, each optionally followed by `, will be restarted` (Killing)
/// - `Stopping container {name}` (Killing)
/// - `Created container {name}` (older kubelets) and `Created container: {name}`
/// - `Started container {name}`
/// - `... lifecycle hook ({handler}) for Container "{name}" in Pod "{pod}" failed ...`
///   (FailedPostStartHook, FailedPreStopHook)
pub fn container_from_message(message: &str) -> Option<&str> {
    let message = message.trim();
    let name = back_off_container(message)
        .or_else(|| kill_reason_container(message))
        .or_else(|| prefixed_container(message))
        .or_else(|| hook_container(message))?;
    is_container_name(name).then_some(name)
}

fn back_off_container(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("Back-off restarting failed container ")?;
    let (name, _pod) = rest.split_once(" in pod ")?;
    Some(name)
}

fn kill_reason_container(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("Container ")?;
    let message = rest.strip_suffix(", will be restarted").unwrap_or(rest);
    [
        " failed liveness probe",
        " failed startup probe",
        " definition changed",
    ]
    .into_iter()
    .find_map(|suffix| message.strip_suffix(suffix))
}

fn prefixed_container(message: &str) -> Option<&str> {
    [
        "Stopping container ",
        "Created container: ",
        "Created container ",
        "Started container ",
    ]
    .into_iter()
    .find_map(|prefix| message.strip_prefix(prefix))
}

fn hook_container(message: &str) -> Option<&str> {
    let (_, rest) = message.split_once(" lifecycle hook (")?;
    let (_, rest) = rest.split_once(") for Container \"")?;
    let (name, _) = rest.split_once('"')?;
    Some(name)
}

/// True for an RFC 1123 label: 1 to 63 lowercase letters, digits and `-`, starting and
/// ending with a letter or digit. Kubernetes validates container names this way.
fn is_container_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let allowed = |byte: &u8| byte.is_ascii_lowercase() || byte.is_ascii_digit() || *byte == b'-';
    let alphanumeric = |byte: Option<&u8>| byte.is_some_and(|byte| *byte != b'-');
    (1..=63).contains(&bytes.len())
        && bytes.iter().all(allowed)
        && alphanumeric(bytes.first())
        && alphanumeric(bytes.last())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_path_forms() {
        let cases = [
            ("spec.containers{app}", Some("app")),
            ("spec.initContainers{init-db}", Some("init-db")),
            ("spec.ephemeralContainers{debugger}", Some("debugger")),
            (".spec.containers{by-name}", Some("by-name")),
            ("spec.containers[2]", None),
            ("spec.containers{}", None),
            ("implicitly required container POD", None),
            ("spec.volumes{data}", None),
            ("", None),
        ];
        for (field_path, expected) in cases {
            assert_eq!(
                container_from_field_path(field_path),
                expected,
                "{field_path}"
            );
        }
    }

    #[test]
    fn kubelet_message_forms() {
        let cases = [
            (
                "Back-off restarting failed container app in pod app-1_shop(f9fe8757)",
                Some("app"),
            ),
            (
                "Container web failed liveness probe, will be restarted",
                Some("web"),
            ),
            (
                "Container otel failed startup probe, will be restarted",
                Some("otel"),
            ),
            ("Container web failed liveness probe", Some("web")),
            (
                "Container nginx definition changed, will be restarted",
                Some("nginx"),
            ),
            ("Stopping container orders", Some("orders")),
            ("Started container web", Some("web")),
            ("Created container web", Some("web")),
            ("Created container: web", Some("web")),
            (
                "Exec lifecycle hook ([/bin/sh -c exit 1]) for Container \"app\" in Pod \
                 \"web_shop(1)\" failed - error: command exited with 1, message: \"\"",
                Some("app"),
            ),
            (
                "Container image \"registry.example/web:2.4.1\" already present on machine",
                None,
            ),
            ("Pulling image \"nginx\"", None),
            (
                "Liveness probe failed: HTTP probe failed with statuscode: 500",
                None,
            ),
            ("Stopping container Not_A_Name", None),
            ("Started container ", None),
            ("Created pod: nightly-report-38d66", None),
        ];
        for (message, expected) in cases {
            assert_eq!(container_from_message(message), expected, "{message}");
        }
    }

    #[test]
    fn occurrences_prefer_largest_count() {
        assert_eq!(occurrences(&[None, Some(12)]), 12);
        assert_eq!(occurrences(&[Some(157), None]), 157);
        assert_eq!(occurrences(&[Some(1), Some(12)]), 12);
        assert_eq!(occurrences(&[None, None]), 1);
        assert_eq!(occurrences(&[Some(0), Some(-3)]), 1);
    }

    #[test]
    fn long_message_cut_at_boundary() {
        let message = "é".repeat(MAX_MESSAGE_BYTES);
        let bounded = bound_message(&message);
        assert!(bounded.len() <= MAX_MESSAGE_BYTES);
        assert!(bounded.ends_with('…'));
        assert_eq!(bound_message("short\u{7}"), "short\u{7}");
    }
}
