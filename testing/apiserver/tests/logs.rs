//! Pod logs over HTTP: instance selection by kubelet's rules, the log options, and the errors
//! kube-apiserver and kubelet return.

mod common;

use common::{case_path, get_json, get_text, pod};
use podmortem_test_apiserver::{Exit, TestApiServer};
use serde_json::json;

const PLUGIN_LOG: &str =
    "/api/v1/namespaces/kube-system/pods/storage-controller-55c6c84c5f-c48nn/log";

/// Returns a server holding the crash-looping pod whose previous CRI log is in the cases.
async fn crash_looping_plugin() -> TestApiServer {
    let server = TestApiServer::start().await.unwrap();
    server
        .load_pods(&case_path("21-fallback-to-logs.json"))
        .unwrap();
    let log = fs_err::read(case_path("21-fallback-to-logs.previous.log")).unwrap();
    server
        .set_cri_log(
            "kube-system",
            "storage-controller-55c6c84c5f-c48nn",
            "plugin",
            true,
            &log,
        )
        .unwrap();
    server
}

#[tokio::test]
async fn previous_log_serves_cri_content() {
    let server = crash_looping_plugin().await;

    let (status, headers, body) = get_text(
        &server,
        &format!("{PLUGIN_LOG}?container=plugin&previous=true"),
    )
    .await;

    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/plain");
    let lines: Vec<_> = body.lines().collect();
    assert_eq!(lines.len(), 10);
    assert!(
        lines[0].starts_with("I0924 10:15:00.100012"),
        "CRI prefix removed: {}",
        lines[0]
    );
    assert!(lines[9].ends_with("exitCode=1"));
}

#[tokio::test]
async fn waiting_container_serves_dead_instance() {
    let server = crash_looping_plugin().await;

    let (_, _, previous) = get_text(&server, &format!("{PLUGIN_LOG}?previous=true")).await;
    let (status, _, current) = get_text(&server, PLUGIN_LOG).await;

    assert_eq!(status, 200);
    assert_eq!(
        current, previous,
        "CrashLoopBackOff reads lastState's instance"
    );
}

#[tokio::test]
async fn tail_limit_and_timestamps_apply() {
    let server = crash_looping_plugin().await;

    let (_, _, tail) = get_text(&server, &format!("{PLUGIN_LOG}?previous=true&tailLines=2")).await;
    assert_eq!(tail.lines().count(), 2);
    assert!(tail.ends_with("exitCode=1\n"));

    let (_, _, limited) = get_text(
        &server,
        &format!("{PLUGIN_LOG}?previous=true&limitBytes=10"),
    )
    .await;
    assert_eq!(limited, "I0924 10:1");

    let (_, _, stamped) = get_text(
        &server,
        &format!("{PLUGIN_LOG}?previous=true&timestamps=true&tailLines=1"),
    )
    .await;
    assert!(
        stamped.starts_with("2025-09-24T10:15:08.900000000Z E0924"),
        "got {stamped}"
    );

    let (_, _, since) = get_text(
        &server,
        &format!("{PLUGIN_LOG}?previous=true&sinceTime=2025-09-24T10:15:07Z"),
    )
    .await;
    assert_eq!(since.lines().count(), 2);
}

#[tokio::test]
async fn since_seconds_skips_old_lines() {
    let server = TestApiServer::start().await.unwrap();
    server.create_pod(&pod("a", "x", json!({}))).unwrap();
    let old = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(600);
    let recent = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(5);
    let cri = format!("{old} stdout F old line\n{recent} stdout F recent line\n");
    server
        .set_cri_log("a", "x", "app", false, cri.as_bytes())
        .unwrap();

    let (status, _, body) =
        get_text(&server, "/api/v1/namespaces/a/pods/x/log?sinceSeconds=60").await;

    assert_eq!(status, 200);
    assert_eq!(body, "recent line\n");
}

#[tokio::test]
async fn missing_previous_gets_400() {
    let server = TestApiServer::start().await.unwrap();
    server.create_pod(&pod("a", "x", json!({}))).unwrap();

    let (status, body) = get_json(
        &server,
        "/api/v1/namespaces/a/pods/x/log?container=app&previous=true",
    )
    .await;

    assert_eq!(status, 400);
    assert_eq!(body["kind"], "Status");
    assert_eq!(body["reason"], "BadRequest");
    assert_eq!(
        body["message"],
        "previous terminated container \"app\" in pod \"x\" not found"
    );
}

#[tokio::test]
async fn log_request_errors_match_server() {
    let server = TestApiServer::start().await.unwrap();
    server
        .load_pods(&case_path("15-evicted-memory-pressure.pod.json"))
        .unwrap();
    let pod = "/api/v1/namespaces/shop/pods/controller-77ffc657cf-4z7wb/log";

    let (status, unknown) = get_json(&server, "/api/v1/namespaces/shop/pods/missing/log").await;
    assert_eq!(status, 404);
    assert_eq!(unknown["message"], "pods \"missing\" not found");

    let (status, unnamed) = get_json(&server, pod).await;
    assert_eq!(status, 400);
    let message = unnamed["message"].as_str().unwrap();
    assert!(message.starts_with("a container name must be specified for pod controller-77ffc657cf-4z7wb, choose one of: [controller proxy]"), "{message}");

    let (status, invalid) = get_json(&server, &format!("{pod}?container=db")).await;
    assert_eq!(status, 400);
    assert_eq!(
        invalid["message"],
        "container db is not valid for pod controller-77ffc657cf-4z7wb"
    );

    let (status, negative) =
        get_json(&server, &format!("{pod}?container=proxy&tailLines=-1")).await;
    assert_eq!(status, 422);
    assert_eq!(negative["reason"], "Invalid");
}

#[tokio::test]
async fn restart_turns_log_into_previous() {
    let server = TestApiServer::start().await.unwrap();
    server.create_pod(&pod("a", "x", json!({}))).unwrap();
    server
        .set_log("a", "x", "app", false, "first instance\n")
        .unwrap();
    let exit = Exit {
        exit_code: 137,
        reason: "OOMKilled".into(),
        message: None,
    };

    let restarted = server.kubelet_restart("a", "x", "app", &exit).unwrap();
    server
        .set_log("a", "x", "app", false, "second instance\n")
        .unwrap();

    let status = &restarted.status.unwrap().container_statuses.unwrap()[0];
    assert_eq!(status.restart_count, 1);
    let (_, _, previous) = get_text(&server, "/api/v1/namespaces/a/pods/x/log?previous=true").await;
    assert_eq!(previous, "first instance\n");
    let (_, _, current) = get_text(&server, "/api/v1/namespaces/a/pods/x/log").await;
    assert_eq!(current, "second instance\n");
}

#[tokio::test]
async fn crash_loop_wait_keeps_dead_log() {
    let server = TestApiServer::start().await.unwrap();
    server.create_pod(&pod("a", "x", json!({}))).unwrap();
    server
        .set_log("a", "x", "app", false, "dying words\n")
        .unwrap();
    let exit = Exit {
        exit_code: 1,
        reason: "Error".into(),
        message: Some("boom".into()),
    };

    let waiting = server
        .kubelet_crash_loop_wait("a", "x", "app", &exit)
        .unwrap();

    let status = &waiting.status.unwrap().container_statuses.unwrap()[0];
    assert_eq!(status.restart_count, 0);
    let state = status.state.as_ref().unwrap().waiting.as_ref().unwrap();
    assert_eq!(state.reason.as_deref(), Some("CrashLoopBackOff"));
    let (_, _, previous) = get_text(&server, "/api/v1/namespaces/a/pods/x/log?previous=true").await;
    assert_eq!(previous, "dying words\n");
    let started = server
        .kubelet_start_after_back_off("a", "x", "app")
        .unwrap();
    assert_eq!(
        started.status.unwrap().container_statuses.unwrap()[0].restart_count,
        1
    );
    let (_, _, fresh) = get_text(&server, "/api/v1/namespaces/a/pods/x/log").await;
    assert_eq!(fresh, "", "the new instance has written nothing yet");
}

#[tokio::test]
async fn requests_record_log_options() {
    let server = crash_looping_plugin().await;

    get_text(
        &server,
        &format!("{PLUGIN_LOG}?container=plugin&previous=true&tailLines=200"),
    )
    .await;

    let requests = server.requests();
    let log = requests
        .iter()
        .find(|r| r.path == PLUGIN_LOG)
        .expect("the log request");
    assert_eq!(log.method, "GET");
    assert_eq!(log.query_value("previous"), Some("true"));
    assert_eq!(log.query_value("tailLines"), Some("200"));
    assert_eq!(log.query_value("container"), Some("plugin"));
}

#[tokio::test]
async fn terminated_container_keeps_current_log() {
    let server = TestApiServer::start().await.unwrap();
    server.create_pod(&pod("a", "job", json!({}))).unwrap();
    server.set_log("a", "job", "app", false, "done\n").unwrap();
    let exit = Exit {
        exit_code: 0,
        reason: "Completed".into(),
        message: None,
    };

    let ended = server.kubelet_terminate("a", "job", "app", &exit).unwrap();

    let status = &ended.status.unwrap().container_statuses.unwrap()[0];
    let terminated = status.state.as_ref().unwrap().terminated.as_ref().unwrap();
    assert_eq!(terminated.exit_code, 0);
    assert_eq!(status.restart_count, 0);
    let (_, _, current) = get_text(&server, "/api/v1/namespaces/a/pods/job/log").await;
    assert_eq!(current, "done\n");
    let (status, _) = get_json(&server, "/api/v1/namespaces/a/pods/job/log?previous=true").await;
    assert_eq!(status, 400);
}
