//! Reading object files: every pod, list, event and job file of the real cases, their YAML
//! forms, mixed Lists, and the errors for inputs that are not Kubernetes objects.

mod common;

use common::case_path;
use podmortem::objects::{Bundle, Error, MAX_INPUT_BYTES, read_objects, read_objects_file};
use proptest::prelude::*;
use serde_json::{Value, json};

/// Case file, pods, events, jobs.
const CASE_COUNTS: &[(&str, usize, usize, usize)] = &[
    ("01-oomkilled-memory-limit.json", 1, 0, 0),
    ("02-exit137-liveness-kill.pod.json", 1, 0, 0),
    ("02-exit137-liveness-kill.events.json", 0, 4, 0),
    ("04-exit143-sigterm-rollout.pod.json", 1, 0, 0),
    ("04-exit143-sigterm-rollout.events.json", 0, 2, 0),
    ("05-exit139-segfault.json", 1, 0, 0),
    ("08-init-crashloop-termination-message.json", 1, 0, 0),
    ("09-exit127-command-not-found.json", 1, 0, 0),
    ("11-starterror-exit128.json", 1, 0, 0),
    ("13-job-backofflimit.job.json", 0, 0, 1),
    ("13-job-backofflimit.pods.json", 5, 0, 0),
    ("13-job-backofflimit.events.json", 0, 6, 0),
    ("15-evicted-memory-pressure.pod.json", 1, 0, 0),
    ("15-evicted-memory-pressure.events.json", 0, 4, 0),
    ("17-node-shutdown.json", 2, 0, 0),
    ("19-preempted.json", 2, 0, 0),
    ("20-native-sidecar.pods.json", 2, 0, 0),
    ("20-native-sidecar.events.json", 0, 3, 0),
    ("21-fallback-to-logs.json", 1, 0, 0),
    ("24-rotated-logs.pod.json", 1, 0, 0),
    ("26-event-series.corev1.json", 0, 2, 0),
    ("26-event-series.eventsv1.json", 0, 2, 0),
    ("28-termination-log-files.pod.json", 1, 0, 0),
    ("29-exit0-crashloop.json", 1, 0, 0),
];

fn read_case(name: &str) -> Bundle {
    read_objects_file(&case_path(name)).unwrap_or_else(|error| panic!("{name}: {error}"))
}

fn case_value(name: &str) -> Value {
    let text = std::fs::read_to_string(case_path(name)).expect("read a case file");
    serde_json::from_str(&text).expect("case files are JSON")
}

fn error_of(source: &str, bytes: &[u8]) -> String {
    match read_objects(source, bytes) {
        Ok(bundle) => panic!("`{source}` read without error: {bundle:?}"),
        Err(error) => error.to_string(),
    }
}

fn pod_names(bundle: &Bundle) -> Vec<String> {
    let name = |pod: &k8s_openapi::api::core::v1::Pod| pod.metadata.name.clone();
    bundle.pods.iter().filter_map(name).collect()
}

#[test]
fn case_files_load_with_counts() {
    for &(name, pods, events, jobs) in CASE_COUNTS {
        let bundle = read_case(name);
        assert_eq!(bundle.pods.len(), pods, "{name}: pods");
        assert_eq!(bundle.events.len(), events, "{name}: events");
        assert_eq!(bundle.jobs.len(), jobs, "{name}: jobs");
        assert!(bundle.warnings.is_empty(), "{name}: {:?}", bundle.warnings);
    }
}

#[test]
fn job_case_links_pods_events() {
    let mut bundle = read_case("13-job-backofflimit.job.json");
    bundle.extend(read_case("13-job-backofflimit.pods.json"));
    bundle.extend(read_case("13-job-backofflimit.events.json"));

    assert_eq!(bundle.jobs.len(), 1);
    assert_eq!(bundle.pods.len(), 5);
    assert_eq!(bundle.events.len(), 6);
    let job = &bundle.jobs[0];
    assert_eq!(job.metadata.name.as_deref(), Some("nightly-report"));
    let job_uid = job.metadata.uid.as_deref();
    for pod in &bundle.pods {
        let owners = pod.metadata.owner_references.as_deref().unwrap_or_default();
        assert!(
            owners
                .iter()
                .any(|owner| owner.kind == "Job" && Some(owner.uid.as_str()) == job_uid),
            "{:?} is not owned by the Job",
            pod.metadata.name
        );
    }
    let created = bundle
        .events
        .iter()
        .filter(|event| event.reason == "SuccessfulCreate");
    assert_eq!(created.count(), 5);
    let failed = bundle
        .events
        .iter()
        .find(|event| event.reason == "BackoffLimitExceeded");
    assert_eq!(failed.map(|event| event.object.kind.as_str()), Some("Job"));
}

#[test]
fn yaml_form_gives_same_bundle() {
    for &(name, ..) in CASE_COUNTS {
        let json = read_case(name);
        let yaml_text = serde_yaml_ng::to_string(&case_value(name)).expect("convert to YAML");
        let yaml = read_objects(&format!("{name}.yaml"), yaml_text.as_bytes())
            .unwrap_or_else(|error| panic!("{name} as YAML: {error}"));

        assert_eq!(yaml.pods, json.pods, "{name}: pods");
        assert_eq!(yaml.events, json.events, "{name}: events");
        assert_eq!(yaml.jobs, json.jobs, "{name}: jobs");
        assert_eq!(yaml.event_uids, json.event_uids, "{name}: event uids");
    }
}

#[test]
fn multi_document_yaml_reads_all() {
    let mut text = String::from("# saved with kubectl get -o yaml\n---\n");
    for name in [
        "13-job-backofflimit.job.json",
        "13-job-backofflimit.pods.json",
        "13-job-backofflimit.events.json",
        "26-event-series.eventsv1.json",
    ] {
        text.push_str(&serde_yaml_ng::to_string(&case_value(name)).expect("convert to YAML"));
        text.push_str("---\n");
    }

    let bundle = read_objects("all.yaml", text.as_bytes()).expect("read the documents");
    assert_eq!(bundle.jobs.len(), 1);
    assert_eq!(bundle.pods.len(), 5);
    assert_eq!(bundle.events.len(), 8);
    assert!(bundle.warnings.is_empty(), "{:?}", bundle.warnings);
}

#[test]
fn json_stream_reads_each_object() {
    let mut text = String::new();
    for name in ["01-oomkilled-memory-limit.json", "17-node-shutdown.json"] {
        text.push_str(&std::fs::read_to_string(case_path(name)).expect("read a case"));
        text.push('\n');
    }
    let bundle = read_objects("stream.json", text.as_bytes()).expect("read the stream");
    assert_eq!(bundle.pods.len(), 3);
}

/// Returns what `kubectl get pods,events,jobs,deployments -o json` writes: a `List` whose
/// items carry their own kinds.
fn mixed_list() -> Value {
    let pod = case_value("01-oomkilled-memory-limit.json");
    let job = case_value("13-job-backofflimit.job.json");
    let mut core_event = case_value("26-event-series.corev1.json")["items"][0].clone();
    core_event["apiVersion"] = json!("v1");
    let events_event = case_value("26-event-series.eventsv1.json")["items"][1].clone();
    let deployment = json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {}
    });
    json!({
        "apiVersion": "v1",
        "kind": "List",
        "metadata": {"resourceVersion": ""},
        "items": [pod, core_event, job, deployment, events_event]
    })
}

#[test]
fn mixed_list_skips_unknown_kinds() {
    let text = serde_json::to_string_pretty(&mixed_list()).expect("serialize");
    let bundle = read_objects("list.json", text.as_bytes()).expect("read the list");

    assert_eq!(bundle.pods.len(), 1);
    assert_eq!(bundle.jobs.len(), 1);
    assert_eq!(bundle.events.len(), 2);
    assert_eq!(bundle.warnings.len(), 1);
    insta::assert_snapshot!(bundle.warnings[0], @"`list.json` item 3 (`apps/v1` Deployment `shop/web`): unsupported kind; expected a Pod, PodList, List, EventList, Event, Job or JobList, got `apps/v1` Deployment");
}

#[test]
fn bad_item_warns_others_load() {
    let mut list = case_value("13-job-backofflimit.pods.json");
    list["items"][2]["spec"]["containers"] = json!("not a list");
    let text = serde_json::to_string_pretty(&list).expect("serialize");

    let bundle = read_objects("pods.json", text.as_bytes()).expect("the other pods load");
    assert_eq!(pod_names(&bundle).len(), 4);
    assert!(!pod_names(&bundle).contains(&"nightly-report-dbb1d".to_owned()));
    assert_eq!(bundle.warnings.len(), 1);
    insta::assert_snapshot!(bundle.warnings[0], @r#"`pods.json` item 2 (`v1` Pod `shop/nightly-report-dbb1d`) line 330 column 34: invalid Pod: invalid type: string "not a list", expected a sequence"#);
}

#[test]
fn bad_item_line_points_at_it() {
    let mut list = case_value("13-job-backofflimit.pods.json");
    list["items"][2]["spec"]["containers"] = json!("not a list");
    let text = serde_json::to_string_pretty(&list).expect("serialize");
    let bundle = read_objects("pods.json", text.as_bytes()).expect("the other pods load");

    let line = text
        .lines()
        .position(|line| line.contains("\"not a list\""))
        .map(|index| index + 1);
    let expected = format!("line {} ", line.expect("the bad value is in the text"));
    assert!(
        bundle.warnings[0].contains(&expected),
        "{}",
        bundle.warnings[0]
    );
}

#[test]
fn bad_yaml_item_names_its_line() {
    let mut list = case_value("13-job-backofflimit.pods.json");
    list["items"][1]["status"]["containerStatuses"][0]["restartCount"] = json!("many");
    let text = serde_yaml_ng::to_string(&list).expect("convert to YAML");
    let bundle = read_objects("pods.yaml", text.as_bytes()).expect("the other pods load");

    let line = text
        .lines()
        .position(|line| line.contains("restartCount: many"));
    let expected = format!("line {} ", line.expect("the bad value is in the text") + 1);
    assert_eq!(bundle.pods.len(), 4);
    assert!(bundle.warnings[0].contains("item 1 (`v1` Pod `shop/nightly-report-eeca9`)"));
    assert!(
        bundle.warnings[0].contains(&expected),
        "{}",
        bundle.warnings[0]
    );
}

#[test]
fn lone_unsupported_kind_is_error() {
    let text = br#"{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}"#;
    insta::assert_snapshot!(error_of("deploy.json", text), @"`deploy.json` (`apps/v1` Deployment `web`): unsupported kind; expected a Pod, PodList, List, EventList, Event, Job or JobList, got `apps/v1` Deployment");
}

#[test]
fn unreadable_inputs_name_the_problem() {
    let truncated = std::fs::read(case_path("01-oomkilled-memory-limit.json")).expect("read");
    let truncated = truncated.get(..400).expect("the case is longer");
    let cases: &[(&str, &[u8])] = &[
        ("empty", b""),
        ("blank", b"  \n\t\n"),
        ("comments", b"# nothing here\n---\n"),
        ("truncated", truncated),
        ("plain-yaml", b"name: web\nreplicas: 3\n"),
        ("scalar", b"hello world\n"),
        ("no-kind", br#"{"apiVersion": "v1", "metadata": {}}"#),
        ("binary", b"\x7fELF\x02\x01\x01\x00\x00\x00"),
        ("latin1", b"kind: Pod\nname: caf\xe9\n"),
        ("bad-yaml", b"kind: Pod\n  apiVersion: v1\n- x\n"),
        (
            "cut-yaml",
            b"apiVersion: v1\nkind: Pod\nmetadata:\n  name: \"web",
        ),
        (
            "not-array-items",
            br#"{"apiVersion": "v1", "kind": "PodList", "items": 3}"#,
        ),
    ];
    for (name, bytes) in cases {
        insta::assert_snapshot!(*name, error_of(name, bytes));
    }
}

#[test]
fn standard_input_named_in_errors() {
    let message = error_of("-", b"");
    assert!(
        message.starts_with("`standard input`: empty input"),
        "{message}"
    );
}

#[test]
fn error_kinds_are_distinct() {
    assert!(matches!(read_objects("a", b""), Err(Error::Empty { .. })));
    assert!(matches!(
        read_objects("a", b"\0"),
        Err(Error::Binary { .. })
    ));
    assert!(matches!(read_objects("a", b"{"), Err(Error::Syntax { .. })));
    assert!(matches!(
        read_objects("a", b"x: 1"),
        Err(Error::NotAnObject { .. })
    ));
}

#[test]
fn truncated_json_names_line() {
    let text = std::fs::read_to_string(case_path("17-node-shutdown.json")).expect("read");
    let cut = text.get(..text.len() / 2).expect("cut at an ASCII byte");
    let message = error_of("cut.json", cut.as_bytes());
    let lines = cut.lines().count();
    assert!(message.contains(&format!("line {lines} ")), "{message}");
    assert!(
        message.contains("invalid JSON: EOF while parsing"),
        "{message}"
    );
}

#[test]
fn byte_order_marks_are_accepted() {
    let text = std::fs::read_to_string(case_path("01-oomkilled-memory-limit.json")).expect("read");
    let mut utf8 = b"\xEF\xBB\xBF".to_vec();
    utf8.extend_from_slice(text.as_bytes());
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(text.encode_utf16().flat_map(u16::to_le_bytes));

    let from_utf8 = read_objects("bom.json", &utf8).expect("UTF-8 with a byte-order mark");
    let from_utf16 = read_objects("utf16.json", &utf16).expect("UTF-16LE with a byte-order mark");
    assert_eq!(from_utf8.pods.len(), 1);
    assert_eq!(from_utf16.pods, from_utf8.pods);
}

#[test]
fn oversized_file_is_rejected() {
    let folder = tempfile::tempdir().expect("create a temporary folder");
    let path = folder.path().join("huge.json");
    let file = std::fs::File::create(&path).expect("create the file");
    // A sparse file: its length is set without writing the bytes.
    file.set_len(MAX_INPUT_BYTES + 1).expect("set the length");

    let error = read_objects_file(&path).expect_err("the file is over the limit");
    assert!(matches!(error, Error::TooLarge { .. }), "{error}");
    assert!(
        error
            .to_string()
            .contains("exceeds the limit of 1073741824 bytes"),
        "{error}"
    );
}

#[test]
fn missing_file_names_path() {
    let error = read_objects_file(std::path::Path::new("/nonexistent/pods.json"))
        .expect_err("the file does not exist");
    assert!(
        error.to_string().contains("/nonexistent/pods.json"),
        "{error}"
    );
}

#[test]
fn control_bytes_round_trip() {
    let mut pod = case_value("05-exit139-segfault.json");
    let message = "segfault at 0 ip \u{0}\u{7}\u{1b}[31mred\u{1b}[0m \u{202e}reversed\r\n";
    pod["status"]["containerStatuses"][0]["lastState"]["terminated"]["message"] = json!(message);
    let text = serde_json::to_string(&pod).expect("serialize");

    let bundle = read_objects("pod.json", text.as_bytes()).expect("read the pod");
    let status = bundle.pods[0].status.as_ref().expect("status");
    let statuses = status
        .container_statuses
        .as_deref()
        .expect("container statuses");
    let last = statuses[0]
        .last_state
        .as_ref()
        .and_then(|state| state.terminated.as_ref());
    assert_eq!(
        last.and_then(|terminated| terminated.message.as_deref()),
        Some(message)
    );
}

proptest! {
    #[test]
    fn any_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = read_objects("fuzz", &bytes);
    }

    #[test]
    fn damaged_case_never_panics(cut in 0usize..4370, byte in any::<u8>(), at in 0usize..4370) {
        let mut bytes = std::fs::read(case_path("01-oomkilled-memory-limit.json")).unwrap();
        if let Some(slot) = bytes.get_mut(at) {
            *slot = byte;
        }
        bytes.truncate(cut);
        let _ = read_objects("fuzz.json", &bytes);
    }

    #[test]
    fn damaged_yaml_never_panics(cut in 0usize..6000, byte in any::<u8>(), at in 0usize..6000) {
        let value = case_value("13-job-backofflimit.job.json");
        let mut bytes = serde_yaml_ng::to_string(&value).unwrap().into_bytes();
        if let Some(slot) = bytes.get_mut(at) {
            *slot = byte;
        }
        bytes.truncate(cut);
        let _ = read_objects("fuzz.yaml", &bytes);
    }
}

#[test]
fn many_bad_items_are_summarised() {
    let bad_pod = json!({"metadata": {"name": "bad"}, "spec": {"containers": 7}});
    let good_pod = case_value("01-oomkilled-memory-limit.json");
    let mut items = vec![bad_pod; 250];
    items.push(good_pod);
    let list = json!({"apiVersion": "v1", "kind": "PodList", "items": items});
    let text = serde_json::to_string_pretty(&list).expect("serialize");

    let bundle = read_objects("pods.json", text.as_bytes()).expect("the good pod loads");
    assert_eq!(bundle.pods.len(), 1);
    assert_eq!(bundle.warnings.len(), 101);
    assert!(
        bundle.warnings[15].contains(" line "),
        "{}",
        bundle.warnings[15]
    );
    assert!(
        !bundle.warnings[16].contains(" line "),
        "{}",
        bundle.warnings[16]
    );
    assert_eq!(
        bundle.warnings[100],
        "`pods.json`: 150 more problems not listed"
    );
}

#[test]
fn folder_is_not_object_file() {
    let folder = tempfile::tempdir().expect("create a temporary folder");
    let error = read_objects_file(folder.path()).expect_err("a folder is not a file");
    assert!(matches!(error, Error::Folder { .. }), "{error}");
    assert!(error.to_string().contains("--output-directory"), "{error}");
}

#[test]
fn documents_before_a_cut_load() {
    let pod = std::fs::read_to_string(case_path("01-oomkilled-memory-limit.json")).expect("read");
    let cut = pod.get(..pod.len() / 2).expect("cut at an ASCII byte");
    let stream = format!("{pod}\n{cut}");
    let bundle = read_objects("stream.json", stream.as_bytes()).expect("the first pod loads");
    assert_eq!(bundle.pods.len(), 1);
    assert_eq!(bundle.warnings.len(), 1);
    assert!(
        bundle.warnings[0].contains("invalid JSON: EOF while parsing"),
        "{:?}",
        bundle.warnings
    );

    let yaml = serde_yaml_ng::to_string(&case_value("01-oomkilled-memory-limit.json")).unwrap();
    let stream = format!("{yaml}---\nkind: Pod\n  apiVersion: v1\n- broken\n");
    let bundle = read_objects("stream.yaml", stream.as_bytes()).expect("the first pod loads");
    assert_eq!(bundle.pods.len(), 1);
    assert_eq!(bundle.warnings.len(), 1);
    assert!(
        bundle.warnings[0].contains("invalid YAML"),
        "{:?}",
        bundle.warnings
    );
}

#[test]
fn stream_item_error_line_is_absolute() {
    let good = std::fs::read_to_string(case_path("01-oomkilled-memory-limit.json")).expect("read");
    let mut bad = case_value("05-exit139-segfault.json");
    bad["spec"]["containers"] = json!(7);
    let pretty = serde_json::to_string_pretty(&bad).expect("serialize");
    let compact = serde_json::to_string(&bad).expect("serialize");

    let stream = format!("{good}\n{pretty}\n");
    let bundle = read_objects("stream.json", stream.as_bytes()).expect("the good pod loads");
    let line = stream
        .lines()
        .position(|line| line.contains("\"containers\": 7"));
    let expected = format!(
        "document 2 (`v1` Pod `shop/operator-6c9b7d5f4-r8n2v`) line {} ",
        line.unwrap() + 1
    );
    assert!(
        bundle.warnings[0].contains(&expected),
        "{:?}",
        bundle.warnings
    );

    // The compact pod follows a space on the line where the good pod's text ends.
    let stream = format!("{good} {compact}");
    let bundle = read_objects("stream.json", stream.as_bytes()).expect("the good pod loads");
    let direct = serde_json::from_str::<k8s_openapi::api::core::v1::Pod>(&compact)
        .expect_err("the compact pod is invalid");
    let line = good.lines().count() + 1;
    let expected = format!("line {line} column {}:", direct.column() + 1);
    assert!(
        bundle.warnings[0].contains(&expected),
        "{:?}",
        bundle.warnings
    );
}

#[test]
fn array_and_nested_lists_load() {
    let pod = case_value("01-oomkilled-memory-limit.json");
    let pods = case_value("17-node-shutdown.json");
    let array = serde_json::to_string(&json!([pod, pods])).expect("serialize");
    let bundle = read_objects("array.json", array.as_bytes()).expect("read the array");
    assert_eq!(bundle.pods.len(), 3);

    let nested = json!({"apiVersion": "v1", "kind": "List", "items": [pods]});
    let bundle = read_objects("nested.json", nested.to_string().as_bytes()).expect("read");
    assert_eq!(bundle.pods.len(), 2);

    let mut deep = case_value("17-node-shutdown.json");
    for _ in 0..5 {
        deep = json!({"apiVersion": "v1", "kind": "List", "items": [deep]});
    }
    let error = read_objects("deep.json", deep.to_string().as_bytes()).expect_err("too deep");
    assert!(
        error.to_string().contains("lists nested more than 4 deep"),
        "{error}"
    );
}

#[test]
fn huge_bad_values_are_bounded() {
    let mut list = case_value("13-job-backofflimit.pods.json");
    list["items"][0]["spec"]["containers"] = json!("x".repeat(1 << 20));
    list["items"][0]["metadata"]["name"] = json!("n".repeat(1 << 20));
    let text = serde_json::to_string(&list).expect("serialize");

    let bundle = read_objects("pods.json", text.as_bytes()).expect("the other pods load");
    assert_eq!(bundle.pods.len(), 4);
    assert!(
        bundle.warnings[0].len() < 1024,
        "{} bytes",
        bundle.warnings[0].len()
    );
    assert!(bundle.warnings[0].contains("invalid Pod: invalid type: string"));
}
