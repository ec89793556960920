//! Merging a new observation of a container instance into the record already known for it.
//!
//! The same instance (same [`Termination::id`]) is seen many times: by the API watcher while
//! the pod still exists, by the node scanner from its `N.log` files, and again whenever the same
//! input is analysed twice. [`merge_into`] combines those observations so that the stored record
//! only ever gains facts. The rules:
//!
//! - An empty value (`None`, an empty string, an empty list) never replaces a non-empty one.
//! - Facts fixed when the instance ended (node, image, container id, times) keep the first
//!   non-empty value seen, because a later observation cannot know them better.
//! - The exit itself (`exit_code`, `signal`, `reason`, `message`, `pod_reason`, `pod_message`)
//!   travels with the cause: whichever observation supplies the cause also supplies these
//!   values, and the other observation only fills the gaps. This keeps a diagnosis next to
//!   the facts it was made from.
//! - The cause is replaced only by one diagnosed with more evidence, see [`cause_strength`].
//! - The log tail is replaced only by a better-sourced or longer one, see
//!   [`log_source_rank`].
//! - Events are unioned. Two events are the same when reason, object and `first_seen` match,
//!   and the merged event keeps the higher count (with the message that came with it) and the
//!   later `last_seen`.
//! - `observed_at` keeps the earliest time, `missed_before` the maximum.
//!
//! Merging is idempotent: merging the same observation a second time changes nothing.

use crate::model::{
    Cause, CauseKind, ContainerKind, EventRecord, LogLine, LogSource, ObjectRef, Owner, Termination,
};

/// Merges `newer`, a later observation of the same instance, into `known`.
///
/// The caller checks that both records have the same id; this function does not compare them.
pub fn merge_into(known: &mut Termination, newer: &Termination) {
    merge_identity(known, newer);
    merge_exit(known, newer);
    merge_log(known, newer);
    merge_events(&mut known.events, &newer.events);

    known.log_first_at = min_option(known.log_first_at, newer.log_first_at);
    known.log_last_at = max_option(known.log_last_at, newer.log_last_at);

    known.observed_at = known.observed_at.min(newer.observed_at);
    known.missed_before = known.missed_before.max(newer.missed_before);
}

/// Fills the fields that describe where and what the instance was.
fn merge_identity(known: &mut Termination, newer: &Termination) {
    fill_string(&mut known.namespace, &newer.namespace);
    fill_string(&mut known.pod, &newer.pod);
    fill_string(&mut known.pod_uid, &newer.pod_uid);
    fill_string(&mut known.container, &newer.container);

    fill_text(&mut known.cluster, &newer.cluster);
    fill_text(&mut known.node, &newer.node);
    fill_text(&mut known.image, &newer.image);
    fill_text(&mut known.container_id, &newer.container_id);
    fill_text(
        &mut known.termination_message_file,
        &newer.termination_message_file,
    );
    if known.owner.as_ref().is_none_or(owner_is_empty) && newer.owner.is_some() {
        known.owner.clone_from(&newer.owner);
    }

    // Readers that cannot see the pod spec (the node scanner) report `Regular`, so any other
    // kind comes from a reader that has the spec.
    if known.container_kind == ContainerKind::Regular {
        known.container_kind = newer.container_kind;
    }

    fill_option(&mut known.started_at, newer.started_at);
    fill_option(&mut known.finished_at, newer.finished_at);
}

/// Takes the cause, and the exit facts that go with it, from the observation with the
/// stronger diagnosis. The other observation only fills the exit facts left empty.
fn merge_exit(known: &mut Termination, newer: &Termination) {
    if cause_strength(&newer.cause) > cause_strength(&known.cause) {
        known.cause.clone_from(&newer.cause);
        known.exit_code = newer.exit_code.or(known.exit_code);
        prefer_text(&mut known.signal, &newer.signal);
        prefer_text(&mut known.reason, &newer.reason);
        prefer_text(&mut known.message, &newer.message);
        prefer_text(&mut known.pod_reason, &newer.pod_reason);
        prefer_text(&mut known.pod_message, &newer.pod_message);
        return;
    }

    fill_option(&mut known.exit_code, newer.exit_code);
    fill_text(&mut known.signal, &newer.signal);
    fill_text(&mut known.reason, &newer.reason);
    fill_text(&mut known.message, &newer.message);
    fill_text(&mut known.pod_reason, &newer.pod_reason);
    fill_text(&mut known.pod_message, &newer.pod_message);
    fill_cause(&mut known.cause, &newer.cause);
}

/// Fills the parts of an equally strong cause that the known one lacks, without touching
/// its kind or summary.
fn fill_cause(known: &mut Cause, newer: &Cause) {
    if known.kind != newer.kind {
        return;
    }
    if known.summary.is_empty() {
        known.summary.clone_from(&newer.summary);
    }
    fill_text(&mut known.key_line, &newer.key_line);
}

/// Returns how strongly a cause is supported, for comparing two diagnoses of one instance.
///
/// "More evidence" is ordered by, in turn:
/// 1. whether the record was diagnosed at all (an undiagnosed cause has kind `unknown`, no
///    summary and no evidence);
/// 2. whether the kind names a cause, because `unknown` and the `status_unknown` placeholder
///    mean only that no rule matched;
/// 3. the number of evidence items;
/// 4. whether a key log line was found.
///
/// Ties keep the known cause, which makes re-analysing the same input a no-op.
pub fn cause_strength(cause: &Cause) -> (bool, bool, usize, bool) {
    let diagnosed =
        cause.kind != CauseKind::Unknown || !cause.summary.is_empty() || !cause.evidence.is_empty();
    let names_cause = !matches!(cause.kind, CauseKind::Unknown | CauseKind::StatusUnknown);
    (
        diagnosed,
        names_cause,
        cause.evidence.len(),
        cause
            .key_line
            .as_deref()
            .is_some_and(|line| !line.is_empty()),
    )
}

/// Returns the rank of a log source: a higher rank is a better copy of the instance's output.
///
/// The node's `N.log` files rank highest because they are read whole, rotations included.
/// `pods/log?previous=true` serves the same file but cut by `tailLines` and `limitBytes`.
/// `pods/log` of the current instance is the dead instance's output only while no new
/// instance has started. `terminated.message` is at most 4096 bytes chosen by the
/// application, or the last 80 lines or 2048 bytes of the log under
/// `FallbackToLogsOnError`.
pub fn log_source_rank(source: Option<LogSource>) -> u8 {
    match source {
        None => 0,
        Some(LogSource::TerminationMessage) => 1,
        Some(LogSource::ApiCurrent) => 2,
        Some(LogSource::ApiPrevious) => 3,
        Some(LogSource::NodeFile) => 4,
    }
}

/// Replaces the log tail when the newer one comes from a better source, or from the same
/// source and is longer (more lines, then more bytes).
fn merge_log(known: &mut Termination, newer: &Termination) {
    if newer.log_tail.is_empty() {
        fill_option(&mut known.log_source, newer.log_source);
        return;
    }

    let known_key = log_key(known.log_source, &known.log_tail);
    let newer_key = log_key(newer.log_source, &newer.log_tail);
    if known.log_tail.is_empty() || newer_key > known_key {
        known.log_tail.clone_from(&newer.log_tail);
        known.log_truncated = newer.log_truncated;
        known.log_source = newer.log_source;
    }
}

fn log_key(source: Option<LogSource>, tail: &[LogLine]) -> (u8, usize, usize) {
    let bytes = tail.iter().map(|line| line.text.len()).sum();
    (log_source_rank(source), tail.len(), bytes)
}

/// Adds the newer events to the known ones, merging duplicates, and keeps them oldest first.
fn merge_events(known: &mut Vec<EventRecord>, newer: &[EventRecord]) {
    for event in newer {
        match known.iter_mut().find(|seen| same_event(seen, event)) {
            Some(seen) => merge_event(seen, event),
            None => known.push(event.clone()),
        }
    }

    // A stable sort, so events with equal times keep the order they were first seen in.
    known.sort_by_key(|event| event.first_seen.or(event.last_seen));
}

/// Returns true when two events describe the same occurrence series. The object's uid is
/// left out because some sources (events.k8s.io without `regarding.uid`, dumps) omit it.
fn same_event(a: &EventRecord, b: &EventRecord) -> bool {
    a.reason == b.reason && a.first_seen == b.first_seen && same_object(&a.object, &b.object)
}

fn same_object(a: &ObjectRef, b: &ObjectRef) -> bool {
    a.kind == b.kind
        && a.namespace == b.namespace
        && a.name == b.name
        && a.field_path == b.field_path
}

fn merge_event(seen: &mut EventRecord, event: &EventRecord) {
    if event.count > seen.count {
        seen.count = event.count;
        seen.message.clone_from(&event.message);
    }
    if seen.message.is_empty() {
        seen.message.clone_from(&event.message);
    }
    seen.last_seen = max_option(seen.last_seen, event.last_seen);
    fill_text(&mut seen.container, &event.container);
    fill_text(&mut seen.reporter, &event.reporter);
    fill_text(&mut seen.host, &event.host);
    fill_text(&mut seen.object.uid, &event.object.uid);

    // An event matched by its object is firmer than one matched by node and time.
    seen.inferred = seen.inferred && event.inferred;
}

fn owner_is_empty(owner: &Owner) -> bool {
    owner.kind.is_empty() && owner.name.is_empty()
}

fn fill_string(known: &mut String, newer: &str) {
    if known.is_empty() {
        newer.clone_into(known);
    }
}

/// Replaces an optional text with a newer value unless the newer one is missing or empty.
fn prefer_text(known: &mut Option<String>, newer: &Option<String>) {
    if newer.as_deref().is_some_and(|text| !text.is_empty()) {
        known.clone_from(newer);
    }
}

/// Fills an optional text that is missing or empty with a non-empty newer value.
fn fill_text(known: &mut Option<String>, newer: &Option<String>) {
    let known_empty = known.as_deref().is_none_or(str::is_empty);
    let newer_empty = newer.as_deref().is_none_or(str::is_empty);
    if known_empty && !newer_empty {
        known.clone_from(newer);
    }
}

fn fill_option<T>(known: &mut Option<T>, newer: Option<T>) {
    if known.is_none() {
        *known = newer;
    }
}

fn min_option<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_option<T: Ord>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use jiff::Timestamp;
    use proptest::prelude::*;

    use super::*;
    use crate::model::{InstanceKey, Source, Stream};

    fn time(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn bare_record() -> Termination {
        let key = InstanceKey {
            namespace: "shop",
            pod: "api-7d9f8c6b5d-x2k4q",
            pod_uid: "uid-1",
            container: "api",
            container_kind: ContainerKind::Regular,
            restart_count: 2,
        };
        let mut record = Termination::new(key, Source::Node, time("2024-02-07T15:20:00Z"));
        record.id = "id-1".into();
        record
    }

    fn line(text: &str) -> LogLine {
        LogLine {
            time: None,
            stream: Stream::Stderr,
            text: text.into(),
            partial: false,
        }
    }

    fn event(reason: &str, count: u32, last_seen: &str) -> EventRecord {
        EventRecord {
            event_type: "Warning".into(),
            reason: reason.into(),
            message: format!("{reason} x{count}"),
            count,
            first_seen: Some(time("2024-02-07T13:58:39Z")),
            last_seen: Some(time(last_seen)),
            object: ObjectRef {
                kind: "Pod".into(),
                namespace: Some("shop".into()),
                name: "api-7d9f8c6b5d-x2k4q".into(),
                uid: None,
                field_path: Some("spec.containers{api}".into()),
            },
            container: Some("api".into()),
            reporter: Some("kubelet".into()),
            host: None,
            inferred: false,
        }
    }

    fn oom_cause() -> Cause {
        Cause {
            kind: CauseKind::OomKilled,
            summary: "killed by the kernel for exceeding its memory limit".into(),
            evidence: vec!["reason OOMKilled".into(), "memory limit 4Gi".into()],
            key_line: None,
            expected: false,
        }
    }

    #[test]
    fn empty_values_never_replace_known_ones() {
        let mut known = bare_record();
        known.node = Some("node-a".into());
        known.exit_code = Some(137);
        known.reason = Some("OOMKilled".into());
        let mut newer = bare_record();
        newer.node = Some(String::new());

        merge_into(&mut known, &newer);

        assert_eq!(known.node.as_deref(), Some("node-a"));
        assert_eq!(known.exit_code, Some(137));
        assert_eq!(known.reason.as_deref(), Some("OOMKilled"));
    }

    #[test]
    fn richer_observation_fills_gaps() {
        let mut known = bare_record();
        let mut newer = bare_record();
        newer.node = Some("node-a".into());
        newer.image = Some("registry.example/api:1.4".into());
        newer.finished_at = Some(time("2024-02-07T15:15:11Z"));
        newer.container_kind = ContainerKind::Sidecar;

        merge_into(&mut known, &newer);

        assert_eq!(known.node.as_deref(), Some("node-a"));
        assert_eq!(known.image.as_deref(), Some("registry.example/api:1.4"));
        assert_eq!(known.finished_at, Some(time("2024-02-07T15:15:11Z")));
        assert_eq!(known.container_kind, ContainerKind::Sidecar);
    }

    #[test]
    fn stronger_cause_brings_its_exit_facts() {
        let mut known = bare_record();
        known.exit_code = Some(137);
        known.reason = Some("ContainerStatusUnknown".into());
        known.cause.kind = CauseKind::StatusUnknown;
        known.cause.evidence = vec!["reason ContainerStatusUnknown".into()];
        let mut newer = bare_record();
        newer.exit_code = Some(137);
        newer.reason = Some("OOMKilled".into());
        newer.cause = oom_cause();

        merge_into(&mut known, &newer);

        assert_eq!(known.cause.kind, CauseKind::OomKilled);
        assert_eq!(known.reason.as_deref(), Some("OOMKilled"));
    }

    #[test]
    fn placeholder_cause_never_replaces_diagnosis() {
        let mut known = bare_record();
        known.reason = Some("OOMKilled".into());
        known.cause = oom_cause();
        let mut newer = bare_record();
        newer.reason = Some("ContainerStatusUnknown".into());
        newer.cause.kind = CauseKind::StatusUnknown;
        newer.cause.evidence = vec!["a".into(), "b".into(), "c".into()];

        merge_into(&mut known, &newer);

        assert_eq!(known.cause, oom_cause());
        assert_eq!(known.reason.as_deref(), Some("OOMKilled"));
    }

    #[test]
    fn equal_cause_keeps_known_one() {
        let mut known = bare_record();
        known.cause = oom_cause();
        let mut newer = bare_record();
        newer.cause = oom_cause();
        newer.cause.summary = "a different wording".into();

        merge_into(&mut known, &newer);

        assert_eq!(known.cause.summary, oom_cause().summary);
    }

    #[test]
    fn node_file_tail_replaces_termination_message() {
        let mut known = bare_record();
        known.log_tail = vec![line("a"), line("b"), line("c")];
        known.log_source = Some(LogSource::TerminationMessage);
        let mut newer = bare_record();
        newer.log_tail = vec![line("panic: boom")];
        newer.log_source = Some(LogSource::NodeFile);
        newer.log_truncated = true;

        merge_into(&mut known, &newer);

        assert_eq!(known.log_tail, vec![line("panic: boom")]);
        assert_eq!(known.log_source, Some(LogSource::NodeFile));
        assert!(known.log_truncated);
    }

    #[test]
    fn worse_source_tail_is_ignored() {
        let mut known = bare_record();
        known.log_tail = vec![line("panic: boom")];
        known.log_source = Some(LogSource::ApiPrevious);
        let mut newer = bare_record();
        newer.log_tail = vec![line("a"), line("b"), line("c")];
        newer.log_source = Some(LogSource::TerminationMessage);

        merge_into(&mut known, &newer);

        assert_eq!(known.log_tail, vec![line("panic: boom")]);
        assert_eq!(known.log_source, Some(LogSource::ApiPrevious));
    }

    #[test]
    fn longer_tail_same_source_wins() {
        let mut known = bare_record();
        known.log_tail = vec![line("b")];
        known.log_source = Some(LogSource::ApiPrevious);
        let mut newer = bare_record();
        newer.log_tail = vec![line("a"), line("b")];
        newer.log_source = Some(LogSource::ApiPrevious);

        merge_into(&mut known, &newer);

        assert_eq!(known.log_tail.len(), 2);
    }

    #[test]
    fn duplicate_events_keep_higher_count() {
        let mut known = bare_record();
        known.events = vec![event("Unhealthy", 2, "2024-02-07T13:58:49Z")];
        let mut newer = bare_record();
        newer.events = vec![
            event("Unhealthy", 3, "2024-02-07T13:58:59Z"),
            event("Killing", 1, "2024-02-07T13:58:59Z"),
        ];

        merge_into(&mut known, &newer);

        assert_eq!(known.events.len(), 2);
        assert_eq!(known.events[0].count, 3);
        assert_eq!(
            known.events[0].last_seen,
            Some(time("2024-02-07T13:58:59Z"))
        );
        assert_eq!(known.events[1].reason, "Killing");
    }

    #[test]
    fn observed_at_keeps_first_time() {
        let mut known = bare_record();
        known.missed_before = 1;
        let mut newer = bare_record();
        newer.observed_at = time("2024-02-08T00:00:00Z");
        newer.missed_before = 4;

        merge_into(&mut known, &newer);

        assert_eq!(known.observed_at, time("2024-02-07T15:20:00Z"));
        assert_eq!(known.missed_before, 4);
    }

    fn text() -> impl Strategy<Value = Option<String>> {
        prop::option::of(prop::sample::select(vec!["", "a", "node-b", "OOMKilled"]))
            .prop_map(|value| value.map(String::from))
    }

    fn timestamp() -> impl Strategy<Value = Option<Timestamp>> {
        prop::option::of(0i64..4).prop_map(|offset| {
            offset
                .map(|hours| time("2024-02-07T10:00:00Z") + jiff::SignedDuration::from_hours(hours))
        })
    }

    fn cause() -> impl Strategy<Value = Cause> {
        (
            prop::sample::select(vec![
                CauseKind::Unknown,
                CauseKind::StatusUnknown,
                CauseKind::OomKilled,
                CauseKind::LivenessProbe,
            ]),
            prop::sample::select(vec!["", "one sentence"]),
            0usize..3,
            text(),
            any::<bool>(),
        )
            .prop_map(|(kind, summary, evidence, key_line, expected)| Cause {
                kind,
                summary: summary.into(),
                evidence: (0..evidence).map(|n| format!("fact {n}")).collect(),
                key_line,
                expected,
            })
    }

    fn log() -> impl Strategy<Value = (Vec<LogLine>, bool, Option<LogSource>)> {
        (
            prop::collection::vec(prop::sample::select(vec!["x", "panic: y"]), 0..3),
            any::<bool>(),
            prop::option::of(prop::sample::select(vec![
                LogSource::ApiPrevious,
                LogSource::ApiCurrent,
                LogSource::NodeFile,
                LogSource::TerminationMessage,
            ])),
        )
            .prop_map(|(lines, truncated, source)| {
                (lines.into_iter().map(line).collect(), truncated, source)
            })
    }

    fn events() -> impl Strategy<Value = Vec<EventRecord>> {
        prop::collection::vec(
            (
                prop::sample::select(vec!["Unhealthy", "Killing", "BackOff"]),
                1u32..4,
                prop::sample::select(vec!["2024-02-07T13:58:59Z", "2024-02-07T14:10:00Z"]),
            )
                .prop_map(|(reason, count, last)| event(reason, count, last)),
            0..3,
        )
    }

    fn record() -> impl Strategy<Value = Termination> {
        (
            (text(), text(), text(), text(), text(), text()),
            (text(), text(), text(), text()),
            (
                prop::option::of(100i64..140),
                timestamp(),
                timestamp(),
                timestamp(),
            ),
            (cause(), log(), events(), 0u32..3, 0i64..3),
        )
            .prop_map(|(texts, exit_texts, numbers, rest)| {
                let (cluster, node, image, container_id, message_file, signal) = texts;
                let (reason, message, pod_reason, pod_message) = exit_texts;
                let (exit_code, started_at, finished_at, log_first_at) = numbers;
                let (cause, (log_tail, log_truncated, log_source), events, missed, hours) = rest;
                Termination {
                    cluster,
                    node,
                    image,
                    container_id,
                    termination_message_file: message_file,
                    signal,
                    reason,
                    message,
                    pod_reason,
                    pod_message,
                    exit_code,
                    started_at,
                    finished_at,
                    log_first_at,
                    log_last_at: log_first_at,
                    cause,
                    log_tail,
                    log_truncated,
                    log_source,
                    events,
                    missed_before: missed,
                    observed_at: time("2024-02-07T15:00:00Z")
                        + jiff::SignedDuration::from_hours(hours),
                    ..bare_record()
                }
            })
    }

    fn non_empty_texts(record: &Termination) -> Vec<(&'static str, bool)> {
        let present =
            |value: &Option<String>| value.as_deref().is_some_and(|text| !text.is_empty());
        vec![
            ("cluster", present(&record.cluster)),
            ("node", present(&record.node)),
            ("image", present(&record.image)),
            ("container_id", present(&record.container_id)),
            (
                "termination_message_file",
                present(&record.termination_message_file),
            ),
            ("signal", present(&record.signal)),
            ("reason", present(&record.reason)),
            ("message", present(&record.message)),
            ("pod_reason", present(&record.pod_reason)),
            ("pod_message", present(&record.pod_message)),
            ("exit_code", record.exit_code.is_some()),
            ("started_at", record.started_at.is_some()),
            ("finished_at", record.finished_at.is_some()),
            ("log_first_at", record.log_first_at.is_some()),
            ("log_tail", !record.log_tail.is_empty()),
            ("events", !record.events.is_empty()),
            // The cause is replaced as a whole by a stronger one, so only the fact that
            // some diagnosis exists must survive.
            ("cause", cause_strength(&record.cause).0),
        ]
    }

    proptest! {
        #[test]
        fn merging_twice_changes_nothing(known in record(), newer in record()) {
            let mut once = known.clone();
            merge_into(&mut once, &newer);
            let mut twice = once.clone();
            merge_into(&mut twice, &newer);

            prop_assert_eq!(twice, once);
        }

        #[test]
        fn merging_never_loses_non_empty_field(known in record(), newer in record()) {
            let mut merged = known.clone();
            merge_into(&mut merged, &newer);

            let before = non_empty_texts(&known);
            let added = non_empty_texts(&newer);
            let after = non_empty_texts(&merged);
            for ((name, had), ((_, got), (_, now))) in before.iter().zip(added.iter().zip(&after)) {
                prop_assert!(!(*had || *got) || *now, "field `{}` was lost", name);
            }
        }

        #[test]
        fn merging_record_into_itself_is_noop(mut known in record()) {
            // Generated event lists may repeat an event, and merging folds each repeat into its
            // first copy, so the record starts from a list without repeats.
            let mut events = Vec::new();
            merge_events(&mut events, &known.events);
            known.events = events;

            let mut merged = known.clone();
            merge_into(&mut merged, &known);

            prop_assert_eq!(merged, known);
        }
    }
}
