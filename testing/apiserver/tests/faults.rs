//! Faults over HTTP: the status bodies and headers of 401, 403, 429, 500 and 503, how many
//! requests they apply to, and watches that break mid-stream.

mod common;

use common::{Next, WatchReader, get_json, get_text, pod};
use podmortem_test_apiserver::{Fault, RequestFilter, TestApiServer, Verb};
use serde_json::json;

#[tokio::test]
async fn error_faults_return_status_bodies() {
    let cases = [
        (Fault::Unauthorized, 401, "Unauthorized"),
        (
            Fault::TooManyRequests {
                retry_after_seconds: 3,
            },
            429,
            "TooManyRequests",
        ),
        (Fault::InternalError, 500, "InternalError"),
        (Fault::ServiceUnavailable, 503, "ServiceUnavailable"),
    ];

    for (fault, code, reason) in cases {
        let server = TestApiServer::start().await.unwrap();
        server.fail_next("/api/v1/pods", 1, fault);

        let (status, body) = get_json(&server, "/api/v1/pods").await;

        assert_eq!(status, code, "{reason}");
        assert_eq!(body["kind"], "Status", "{reason}");
        assert_eq!(body["status"], "Failure", "{reason}");
        assert_eq!(body["reason"], reason);
        assert_eq!(body["code"], code, "{reason}");
    }
}

#[tokio::test]
async fn forbidden_names_user_and_scope() {
    let server = TestApiServer::start().await.unwrap();
    let fault = || Fault::Forbidden {
        user: "system:serviceaccount:podmortem:watcher".into(),
    };
    server.fail_next("/api/v1/pods", 1, fault());
    server.fail_next("/api/v1/namespaces/shop/pods/x/log", 1, fault());

    let (status, cluster) = get_json(&server, "/api/v1/pods").await;
    let (_, log) = get_json(&server, "/api/v1/namespaces/shop/pods/x/log").await;

    assert_eq!(status, 403);
    let expected = "pods is forbidden: User \"system:serviceaccount:podmortem:watcher\" cannot list resource \"pods\" in API group \"\" at the cluster scope";
    assert_eq!(cluster["message"], expected);
    let expected = "pods \"x\" is forbidden: User \"system:serviceaccount:podmortem:watcher\" cannot get resource \"pods/log\" in API group \"\" in the namespace \"shop\"";
    assert_eq!(log["message"], expected);
}

#[tokio::test]
async fn too_many_requests_sets_retry_after() {
    let server = TestApiServer::start().await.unwrap();
    server.fail_next(
        "/api/v1/events",
        1,
        Fault::TooManyRequests {
            retry_after_seconds: 7,
        },
    );

    let (status, headers, _) = get_text(&server, "/api/v1/events").await;

    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "7");
}

#[tokio::test]
async fn fault_ends_after_count() {
    let server = TestApiServer::start().await.unwrap();
    server.fail_next("/api/v1/pods", 2, Fault::ServiceUnavailable);

    let codes = [
        get_json(&server, "/api/v1/pods").await.0,
        get_json(&server, "/api/v1/events").await.0,
        get_json(&server, "/api/v1/pods").await.0,
        get_json(&server, "/api/v1/pods").await.0,
    ];

    assert_eq!(codes, [503, 200, 503, 200]);
}

#[tokio::test]
async fn verb_filter_spares_lists() {
    let server = TestApiServer::start().await.unwrap();
    server.fail_next(
        RequestFilter::path("/api/v1/pods").verb(Verb::Watch),
        1,
        Fault::Unauthorized,
    );

    let (list_status, _) = get_json(&server, "/api/v1/pods").await;
    let (watch_status, _) = get_json(&server, "/api/v1/pods?watch=true").await;

    assert_eq!(list_status, 200);
    assert_eq!(watch_status, 401);
}

#[tokio::test]
async fn drop_watch_breaks_connection() {
    let server = TestApiServer::start().await.unwrap();
    for name in ["a", "b", "c"] {
        server.create_pod(&pod("ns", name, json!({}))).unwrap();
    }
    server.fail_next("/api/v1/pods", 1, Fault::DropWatch { after_events: 2 });

    let mut watch = WatchReader::open(&server, "/api/v1/pods?watch=1").await;
    let first = watch.next_event().await;
    let second = watch.next_event().await;

    assert_eq!(first["type"], "ADDED");
    assert_eq!(second["type"], "ADDED");
    assert!(matches!(
        watch.next_within(common::WAIT).await,
        Next::Broken
    ));
    let mut again = WatchReader::open(&server, "/api/v1/pods?watch=1").await;
    for _ in 0..3 {
        assert_eq!(
            again.next_event().await["type"],
            "ADDED",
            "the fault applied once"
        );
    }
}

#[tokio::test]
async fn faulted_requests_are_recorded() {
    let server = TestApiServer::start().await.unwrap();
    server.fail_next("/api/v1/pods", 1, Fault::InternalError);

    get_json(&server, "/api/v1/pods?limit=5").await;

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].verb, Some(Verb::List));
    assert_eq!(requests[0].query_value("limit"), Some("5"));
}

#[tokio::test]
async fn dropped_server_refuses_connections() {
    let server = TestApiServer::start().await.unwrap();
    let url = server.url();
    let mut watch = WatchReader::open(&server, "/api/v1/pods?watch=1").await;

    drop(server);

    assert!(matches!(watch.next_within(common::WAIT).await, Next::End));
    let mut refused = false;
    for _ in 0..50 {
        if reqwest::get(format!("{url}/api/v1/pods")).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(refused, "the server still accepts requests at {url}");
}
