//! Watches over HTTP: event order from a version, initial state, streaming lists, bookmarks,
//! 410 after compaction, selectors and timeouts.

mod common;

use std::time::Duration;

use common::{Next, WatchReader, event_version, pod, server_with_cases, type_and_name};
use podmortem_test_apiserver::{INITIAL_EVENTS_END_ANNOTATION, TestApiServer};
use serde_json::json;

fn pair(kind: &str, name: &str) -> (String, String) {
    (kind.to_owned(), name.to_owned())
}

#[tokio::test]
async fn watch_from_version_sees_later_changes() {
    let server = TestApiServer::start().await.unwrap();
    server.create_pod(&pod("a", "before", json!({}))).unwrap();
    let start = server.resource_version();
    server.create_pod(&pod("a", "x", json!({}))).unwrap();
    let mut changed = pod("a", "before", json!({"changed": "yes"}));
    changed.metadata.resource_version = None;
    server.update_pod(&changed).unwrap();
    server.delete_pod("a", "x").unwrap();
    let deleted_at = server.resource_version();

    let mut watch = WatchReader::open(
        &server,
        &format!("/api/v1/pods?watch=1&resourceVersion={start}"),
    )
    .await;
    let events = [
        watch.next_event().await,
        watch.next_event().await,
        watch.next_event().await,
    ];

    let kinds: Vec<_> = events.iter().map(type_and_name).collect();
    assert_eq!(
        kinds,
        vec![
            pair("ADDED", "x"),
            pair("MODIFIED", "before"),
            pair("DELETED", "x")
        ]
    );
    let versions: Vec<_> = events.iter().map(event_version).collect();
    assert_eq!(versions, vec![start + 1, start + 2, start + 3]);
    assert_eq!(
        versions[2], deleted_at,
        "DELETED carries the deletion's version"
    );
    assert_eq!(
        events[0]["object"]["kind"], "Pod",
        "watch objects carry their kind"
    );

    server.create_pod(&pod("a", "live", json!({}))).unwrap();
    assert_eq!(
        type_and_name(&watch.next_event().await),
        pair("ADDED", "live")
    );
}

#[tokio::test]
async fn watch_without_version_starts_with_state() {
    let (server, names) = server_with_cases().await;

    let mut watch = WatchReader::open(&server, "/api/v1/pods?watch=true").await;
    let mut seen = Vec::new();
    for _ in 0..names.len() {
        let event = watch.next_event().await;
        assert_eq!(event["type"], "ADDED");
        let object = &event["object"]["metadata"];
        seen.push(format!(
            "{}/{}",
            object["namespace"].as_str().unwrap(),
            object["name"].as_str().unwrap()
        ));
    }
    seen.sort();
    assert_eq!(seen, names);

    server.delete_pod("shop", "db-0").unwrap();
    assert_eq!(
        type_and_name(&watch.next_event().await),
        pair("DELETED", "db-0")
    );
}

#[tokio::test]
async fn streaming_list_ends_with_bookmark() {
    let (server, names) = server_with_cases().await;
    let query = "/api/v1/pods?watch=true&allowWatchBookmarks=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&resourceVersion=0";

    let mut watch = WatchReader::open(&server, query).await;
    for _ in 0..names.len() {
        assert_eq!(watch.next_event().await["type"], "ADDED");
    }
    let bookmark = watch.next_event().await;

    assert_eq!(bookmark["type"], "BOOKMARK");
    let metadata = &bookmark["object"]["metadata"];
    assert_eq!(
        metadata["annotations"][INITIAL_EVENTS_END_ANNOTATION],
        "true"
    );
    assert_eq!(
        metadata["resourceVersion"],
        server.resource_version().to_string()
    );
    server.create_pod(&pod("a", "after", json!({}))).unwrap();
    assert_eq!(
        type_and_name(&watch.next_event().await),
        pair("ADDED", "after")
    );
}

#[tokio::test]
async fn bookmark_carries_only_version() {
    let server = TestApiServer::start().await.unwrap();
    server.create_pod(&pod("a", "x", json!({}))).unwrap();
    let start = server.resource_version();
    let mut watch = WatchReader::open(
        &server,
        &format!("/api/v1/pods?watch=1&allowWatchBookmarks=true&resourceVersion={start}"),
    )
    .await;
    let mut plain = WatchReader::open(
        &server,
        &format!("/api/v1/pods?watch=1&resourceVersion={start}"),
    )
    .await;
    server.create_pod(&pod("b", "other", json!({}))).unwrap();
    assert_eq!(
        type_and_name(&watch.next_event().await),
        pair("ADDED", "other")
    );
    assert_eq!(
        type_and_name(&plain.next_event().await),
        pair("ADDED", "other")
    );

    server.send_bookmarks();
    let bookmark = watch.next_event().await;

    assert_eq!(bookmark["type"], "BOOKMARK");
    let expected = json!({"kind": "Pod", "apiVersion": "v1", "metadata": {"resourceVersion": (start + 1).to_string()}});
    assert_eq!(bookmark["object"], expected);
    server.create_pod(&pod("b", "next", json!({}))).unwrap();
    let next = plain.next_event().await;
    assert_eq!(
        type_and_name(&next),
        pair("ADDED", "next"),
        "no bookmark without allowWatchBookmarks"
    );
}

#[tokio::test]
async fn bookmarks_come_every_interval() {
    let server = TestApiServer::builder()
        .bookmark_interval(Duration::from_millis(100))
        .start()
        .await
        .unwrap();
    let start = server.resource_version();

    let mut watch = WatchReader::open(
        &server,
        &format!("/api/v1/events?watch=1&allowWatchBookmarks=true&resourceVersion={start}"),
    )
    .await;
    let first = watch.next_event().await;
    let second = watch.next_event().await;

    assert_eq!(first["type"], "BOOKMARK");
    assert_eq!(second["type"], "BOOKMARK");
    assert_eq!(first["object"]["kind"], "Event");
}

#[tokio::test]
async fn compacted_version_gets_410_event() {
    let server = TestApiServer::start().await.unwrap();
    let old = server.resource_version();
    server.create_pod(&pod("a", "x", json!({}))).unwrap();
    server.compact();

    let mut watch = WatchReader::open(
        &server,
        &format!("/api/v1/pods?watch=1&resourceVersion={old}"),
    )
    .await;
    let error = watch.next_event().await;

    assert_eq!(error["type"], "ERROR");
    assert_eq!(error["object"]["kind"], "Status");
    assert_eq!(error["object"]["code"], 410);
    assert_eq!(error["object"]["reason"], "Expired");
    assert!(matches!(watch.next_within(common::WAIT).await, Next::End));
    let current = server.resource_version();
    let mut fresh = WatchReader::open(
        &server,
        &format!("/api/v1/pods?watch=1&resourceVersion={current}"),
    )
    .await;
    assert!(matches!(
        fresh.next_within(Duration::from_millis(200)).await,
        Next::Silent
    ));
}

#[tokio::test]
async fn selector_change_sends_deleted() {
    let server = TestApiServer::start().await.unwrap();
    server
        .create_pod(&pod("a", "x", json!({"app": "web"})))
        .unwrap();
    let start = server.resource_version();
    let mut watch = WatchReader::open(
        &server,
        &format!("/api/v1/pods?watch=1&labelSelector=app%3Dweb&resourceVersion={start}"),
    )
    .await;

    server
        .update_pod(&pod("a", "x", json!({"app": "db"})))
        .unwrap();
    let left = watch.next_event().await;
    server
        .update_pod(&pod("a", "x", json!({"app": "web"})))
        .unwrap();
    let back = watch.next_event().await;

    assert_eq!(type_and_name(&left), pair("DELETED", "x"));
    assert_eq!(
        left["object"]["metadata"]["labels"]["app"], "web",
        "DELETED shows the previous object"
    );
    assert_eq!(event_version(&left), start + 1, "with the change's version");
    assert_eq!(type_and_name(&back), pair("ADDED", "x"));
}

#[tokio::test]
async fn namespace_and_field_selector_filter_watch() {
    let server = TestApiServer::start().await.unwrap();
    let start = server.resource_version();
    let path = format!(
        "/api/v1/namespaces/a/pods?watch=1&fieldSelector=metadata.name%21%3Dskip&resourceVersion={start}"
    );
    let mut watch = WatchReader::open(&server, &path).await;

    server
        .create_pod(&pod("b", "other-namespace", json!({})))
        .unwrap();
    server.create_pod(&pod("a", "skip", json!({}))).unwrap();
    server.create_pod(&pod("a", "kept", json!({}))).unwrap();

    assert_eq!(
        type_and_name(&watch.next_event().await),
        pair("ADDED", "kept")
    );
}

#[tokio::test]
async fn timeout_seconds_ends_watch() {
    let server = TestApiServer::start().await.unwrap();

    let mut watch = WatchReader::open(&server, "/api/v1/pods?watch=1&timeoutSeconds=1").await;

    assert!(matches!(
        watch.next_within(Duration::from_secs(3)).await,
        Next::End
    ));
    assert_eq!(server.open_watches(), 0);
}

#[tokio::test]
async fn drop_watches_ends_streams_cleanly() {
    let server = TestApiServer::start().await.unwrap();
    let mut first = WatchReader::open(&server, "/api/v1/pods?watch=1").await;
    let mut second = WatchReader::open(&server, "/api/v1/events?watch=1").await;
    assert!(
        common::eventually(|| server.open_watches() == 2).await,
        "both watches open"
    );

    server.drop_watches();

    assert!(matches!(first.next_within(common::WAIT).await, Next::End));
    assert!(matches!(second.next_within(common::WAIT).await, Next::End));
}

#[tokio::test]
async fn future_version_watch_times_out() {
    let server = TestApiServer::start().await.unwrap();
    let future = server.resource_version() + 10;

    let (status, body) = common::get_json(
        &server,
        &format!("/api/v1/pods?watch=1&resourceVersion={future}"),
    )
    .await;

    assert_eq!(status, 504);
    assert_eq!(body["reason"], "Timeout");
}

#[tokio::test]
async fn graceful_deletion_sends_modified_then_deleted() {
    let server = TestApiServer::start().await.unwrap();
    server.create_pod(&pod("a", "x", json!({}))).unwrap();
    let start = server.resource_version();
    let mut watch = WatchReader::open(
        &server,
        &format!("/api/v1/pods?watch=1&resourceVersion={start}"),
    )
    .await;

    server.begin_pod_deletion("a", "x", 30).unwrap();
    server.delete_pod("a", "x").unwrap();
    let terminating = watch.next_event().await;
    let deleted = watch.next_event().await;

    assert_eq!(type_and_name(&terminating), pair("MODIFIED", "x"));
    let metadata = &terminating["object"]["metadata"];
    assert_eq!(metadata["deletionGracePeriodSeconds"], 30);
    assert!(metadata["deletionTimestamp"].is_string());
    assert_eq!(type_and_name(&deleted), pair("DELETED", "x"));
    assert_eq!(
        deleted["object"]["metadata"]["deletionGracePeriodSeconds"],
        30
    );
}
