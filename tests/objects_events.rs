//! Event normalisation: counts and times of repeated events through both event APIs, the
//! container from the field path or the message, and merging copies of one event.

mod common;

use common::case_path;
use jiff::Timestamp;
use k8s_openapi::api::core::v1::Event as CoreEvent;
use k8s_openapi::api::events::v1::Event as EventsEvent;
use podmortem::model::EventRecord;
use podmortem::objects::{
    Bundle, event_from_core_v1, event_from_events_v1, read_objects, read_objects_file,
};
use serde_json::{Value, json};

const SERIES_FILES: [&str; 2] = [
    "26-event-series.corev1.json",
    "26-event-series.eventsv1.json",
];

fn time(text: &str) -> Timestamp {
    text.parse().expect("an RFC 3339 time")
}

fn case_value(name: &str) -> Value {
    let text = std::fs::read_to_string(case_path(name)).expect("read a case file");
    serde_json::from_str(&text).expect("case files are JSON")
}

fn read_value(name: &str, value: &Value) -> Bundle {
    let text = serde_json::to_string(value).expect("serialize");
    read_objects(name, text.as_bytes()).unwrap_or_else(|error| panic!("{name}: {error}"))
}

fn event<'b>(bundle: &'b Bundle, reason: &str) -> &'b EventRecord {
    let found = bundle.events.iter().find(|event| event.reason == reason);
    found.unwrap_or_else(|| panic!("no {reason} event in {:?}", bundle.events))
}

/// Removes `fieldPath` from the object of every event in an EventList of either API.
fn without_field_paths(mut list: Value) -> Value {
    for item in list["items"].as_array_mut().expect("items") {
        for object in ["involvedObject", "regarding"] {
            if let Some(reference) = item.get_mut(object).and_then(Value::as_object_mut) {
                reference.remove("fieldPath");
            }
        }
    }
    list
}

#[test]
fn back_off_series_in_both_apis() {
    for name in SERIES_FILES {
        let bundle = read_objects_file(&case_path(name)).expect("read the events");
        let back_off = event(&bundle, "BackOff");

        assert_eq!(back_off.count, 157, "{name}");
        assert_eq!(
            back_off.first_seen,
            Some(time("2021-02-28T09:12:41Z")),
            "{name}"
        );
        assert_eq!(
            back_off.last_seen,
            Some(time("2021-02-28T09:50:16Z")),
            "{name}"
        );
        assert_eq!(back_off.container.as_deref(), Some("app"), "{name}");
        assert_eq!(back_off.object.name, "app-1-5bbd7fd785-p4s9r", "{name}");
        assert_eq!(back_off.object.kind, "Pod", "{name}");
        assert_eq!(back_off.event_type, "Warning", "{name}");
        assert_eq!(back_off.reporter.as_deref(), Some("kubelet"), "{name}");
        assert_eq!(back_off.host.as_deref(), Some("node-1"), "{name}");
        assert!(
            back_off
                .message
                .starts_with("Back-off restarting failed container app")
        );
    }
}

#[test]
fn failed_scheduling_uses_series() {
    for name in SERIES_FILES {
        let bundle = read_objects_file(&case_path(name)).expect("read the events");
        let scheduling = event(&bundle, "FailedScheduling");

        assert_eq!(scheduling.count, 12, "{name}");
        let first = scheduling.first_seen.expect("first seen");
        let last = scheduling.last_seen.expect("last seen");
        assert_eq!(first, time("2021-02-28T09:13:00.412003Z"), "{name}");
        assert_eq!(last, time("2021-02-28T09:49:58.102911Z"), "{name}");
        assert_eq!(first.subsec_microsecond(), 412_003, "{name}");
        assert_eq!(scheduling.container, None, "{name}");
        assert_eq!(
            scheduling.reporter.as_deref(),
            Some("default-scheduler"),
            "{name}"
        );
        assert_eq!(scheduling.host, None, "{name}: the scheduler names no node");
    }
}

#[test]
fn container_from_message_without_field_path() {
    for name in SERIES_FILES {
        let bundle = read_value(name, &without_field_paths(case_value(name)));
        let back_off = event(&bundle, "BackOff");

        assert_eq!(back_off.object.field_path, None, "{name}");
        assert_eq!(back_off.container.as_deref(), Some("app"), "{name}");
        assert_eq!(back_off.count, 157, "{name}");
    }
}

#[test]
fn case_events_name_their_containers() {
    let cases = [
        (
            "02-exit137-liveness-kill.events.json",
            "Killing",
            Some("web"),
        ),
        (
            "02-exit137-liveness-kill.events.json",
            "Unhealthy",
            Some("web"),
        ),
        (
            "02-exit137-liveness-kill.events.json",
            "Pulled",
            Some("web"),
        ),
        (
            "04-exit143-sigterm-rollout.events.json",
            "Killing",
            Some("orders"),
        ),
        (
            "04-exit143-sigterm-rollout.events.json",
            "SuccessfulDelete",
            None,
        ),
        (
            "13-job-backofflimit.events.json",
            "BackoffLimitExceeded",
            None,
        ),
        ("15-evicted-memory-pressure.events.json", "Evicted", None),
        (
            "20-native-sidecar.events.json",
            "BackOff",
            Some("otel-collector"),
        ),
        (
            "20-native-sidecar.events.json",
            "Killing",
            Some("otel-collector"),
        ),
    ];
    for (name, reason, container) in cases {
        let bundle = read_objects_file(&case_path(name)).expect("read the events");
        assert_eq!(
            event(&bundle, reason).container.as_deref(),
            container,
            "{name} {reason}"
        );
    }
}

#[test]
fn messages_name_containers_without_paths() {
    let cases = [
        (
            "02-exit137-liveness-kill.events.json",
            "Killing",
            Some("web"),
        ),
        (
            "02-exit137-liveness-kill.events.json",
            "Started",
            Some("web"),
        ),
        ("02-exit137-liveness-kill.events.json", "Unhealthy", None),
        ("02-exit137-liveness-kill.events.json", "Pulled", None),
        (
            "04-exit143-sigterm-rollout.events.json",
            "Killing",
            Some("orders"),
        ),
        (
            "20-native-sidecar.events.json",
            "Killing",
            Some("otel-collector"),
        ),
        (
            "20-native-sidecar.events.json",
            "BackOff",
            Some("otel-collector"),
        ),
    ];
    for (name, reason, container) in cases {
        let bundle = read_value(name, &without_field_paths(case_value(name)));
        assert_eq!(
            event(&bundle, reason).container.as_deref(),
            container,
            "{name} {reason}"
        );
    }
}

#[test]
fn legacy_event_without_series_counts_once() {
    let event: CoreEvent = serde_json::from_value(json!({
        "metadata": {"name": "web.1", "namespace": "shop"},
        "involvedObject": {"kind": "Pod", "namespace": "shop", "name": "web"},
        "reason": "Scheduled",
        "message": "Successfully assigned shop/web to node-2",
        "type": "Normal",
        "eventTime": "2024-05-01T10:00:00.000001Z",
        "reportingComponent": "default-scheduler",
        "reportingInstance": "default-scheduler-cp-1"
    }))
    .expect("a core/v1 event");

    let record = event_from_core_v1(&event);
    assert_eq!(record.count, 1);
    assert_eq!(record.first_seen, Some(time("2024-05-01T10:00:00.000001Z")));
    assert_eq!(record.last_seen, record.first_seen);
    assert_eq!(record.reporter.as_deref(), Some("default-scheduler"));
}

#[test]
fn both_timestamp_precisions_parse() {
    let event: EventsEvent = serde_json::from_value(json!({
        "metadata": {"name": "web.2", "namespace": "shop"},
        "eventTime": "2024-05-01T10:00:00.412003Z",
        "deprecatedFirstTimestamp": "2024-05-01T09:00:00Z",
        "deprecatedLastTimestamp": "2024-05-01T09:30:00Z",
        "deprecatedCount": 3,
        "reason": "Unhealthy",
        "note": "Readiness probe failed: connection refused",
        "type": "Warning",
        "regarding": {"kind": "Pod", "name": "web", "fieldPath": "spec.containers{web}"},
        "reportingController": "kubelet",
        "reportingInstance": "node-3"
    }))
    .expect("an events.k8s.io/v1 event");

    let record = event_from_events_v1(&event);
    assert_eq!(record.first_seen, Some(time("2024-05-01T09:00:00Z")));
    assert_eq!(record.last_seen, Some(time("2024-05-01T09:30:00Z")));
    assert_eq!(record.count, 3);
    assert_eq!(record.container.as_deref(), Some("web"));
    assert_eq!(
        record.host.as_deref(),
        Some("node-3"),
        "kubelet's instance is its node"
    );
}

#[test]
fn later_series_time_wins() {
    let mut list = case_value("26-event-series.corev1.json");
    list["items"][0]["series"] =
        json!({"count": 200, "lastObservedTime": "2021-02-28T10:05:00.000000Z"});
    let bundle = read_value("events.json", &list);
    let back_off = event(&bundle, "BackOff");

    assert_eq!(back_off.count, 200);
    assert_eq!(back_off.last_seen, Some(time("2021-02-28T10:05:00Z")));
    assert_eq!(back_off.first_seen, Some(time("2021-02-28T09:12:41Z")));
}

#[test]
fn both_apis_merge_into_one() {
    let [core, events] = SERIES_FILES.map(|name| read_objects_file(&case_path(name)).unwrap());
    let mut bundle = core.clone();
    bundle.extend(events);

    assert_eq!(bundle.events.len(), 2);
    assert_eq!(bundle.events, core.events);
}

#[test]
fn events_without_uids_merge_by_key() {
    let mut first = case_value("26-event-series.corev1.json");
    for item in first["items"].as_array_mut().expect("items") {
        item["metadata"]["uid"] = Value::Null;
    }
    let mut newer = first.clone();
    newer["items"][0]["count"] = json!(160);
    newer["items"][0]["lastTimestamp"] = json!("2021-02-28T09:55:00Z");

    let mut bundle = read_value("first.json", &first);
    bundle.extend(read_value("newer.json", &newer));
    assert_eq!(bundle.events.len(), 2);
    assert_eq!(event(&bundle, "BackOff").count, 160);

    bundle.extend(read_value("first.json", &first));
    assert_eq!(
        event(&bundle, "BackOff").count,
        160,
        "an older copy does not replace"
    );
}

#[test]
fn newest_pod_version_wins() {
    let pod = case_value("01-oomkilled-memory-limit.json");
    let mut newer = pod.clone();
    let version: u64 = pod["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|text| text.parse().ok())
        .expect("a numeric resourceVersion");
    newer["metadata"]["resourceVersion"] = json!((version + 1).to_string());
    newer["metadata"]["labels"] = json!({"seen": "later"});

    let mut bundle = read_value("newer.json", &newer);
    bundle.extend(read_value("older.json", &pod));
    assert_eq!(bundle.pods.len(), 1);
    assert_eq!(
        bundle.pods[0].metadata,
        read_value("n", &newer).pods[0].metadata
    );

    let mut reversed = read_value("older.json", &pod);
    reversed.extend(read_value("newer.json", &newer));
    assert_eq!(reversed.pods.len(), 1);
    assert_eq!(
        reversed.pods[0].metadata.resource_version,
        newer["metadata"]["resourceVersion"]
            .as_str()
            .map(str::to_owned)
    );
}

#[test]
fn control_bytes_in_messages_round_trip() {
    let mut list = case_value("02-exit137-liveness-kill.events.json");
    let message = "probe failed: \u{0}\u{8}\u{1b}[2J\u{7f} <script>alert(1)</script>\u{2028}\r\n";
    list["items"][0]["message"] = json!(message);
    let bundle = read_value("events.json", &list);
    let unhealthy = event(&bundle, "Unhealthy");
    assert_eq!(unhealthy.message, message);

    let json = serde_json::to_string(unhealthy).expect("serialize the record");
    let back: EventRecord = serde_json::from_str(&json).expect("deserialize the record");
    assert_eq!(&back, unhealthy);
}

#[test]
fn oversized_message_is_bounded() {
    let mut list = case_value("02-exit137-liveness-kill.events.json");
    list["items"][0]["message"] = json!("x".repeat(1 << 20));
    let bundle = read_value("events.json", &list);
    let unhealthy = event(&bundle, "Unhealthy");
    assert!(unhealthy.message.len() <= podmortem::objects::MAX_MESSAGE_BYTES);
    assert!(unhealthy.message.ends_with('…'));
}

#[test]
fn events_v1beta1_read_as_v1() {
    let mut list = case_value("26-event-series.eventsv1.json");
    list["apiVersion"] = json!("events.k8s.io/v1beta1");
    for item in list["items"].as_array_mut().expect("items") {
        item["apiVersion"] = json!("events.k8s.io/v1beta1");
    }
    let bundle = read_value("beta.json", &list);

    assert!(bundle.warnings.is_empty(), "{:?}", bundle.warnings);
    assert_eq!(event(&bundle, "BackOff").count, 157);
    assert_eq!(event(&bundle, "FailedScheduling").count, 12);
}

#[test]
fn distinct_uids_with_same_key_stay_apart() {
    let list = case_value("02-exit137-liveness-kill.events.json");
    let mut readiness = list.clone();
    let unhealthy = &mut readiness["items"][0];
    unhealthy["metadata"]["uid"] = json!("another-uid");
    unhealthy["message"] = json!("Readiness probe failed: connection refused");

    let mut bundle = read_value("liveness.json", &list);
    bundle.extend(read_value("readiness.json", &readiness));
    let unhealthy = bundle
        .events
        .iter()
        .filter(|event| event.reason == "Unhealthy");
    assert_eq!(unhealthy.count(), 2);
    assert_eq!(bundle.events.len(), 5);
}
