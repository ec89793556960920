//! The watcher across restarts, relists, API faults and bursts: no exit is lost and none is
//! stored twice.

mod watch_support;

use std::collections::HashSet;
use std::time::Instant;

use podmortem::cluster::{self, Shutdown, WatchOptions};
use podmortem::model::LogSource;
use podmortem::store::SqliteStore;
use podmortem_test_apiserver::{Fault, RequestFilter, TestApiServer, Verb};
use watch_support::{TempDb, Watcher, client, exit, instances, simple_pod, wait_for};

const NAMESPACE: &str = "shop";

/// Restarts the container `app` of `pod` once, with a log naming the restart number.
fn crash(server: &TestApiServer, pod: &str, restart: u32) {
    let text = format!("instance {restart}\nerror: crash {restart}\n");
    server.set_log(NAMESPACE, pod, "app", false, &text).unwrap();
    server
        .kubelet_restart(NAMESPACE, pod, "app", &exit(1, "Error"))
        .unwrap();
}

async fn wait_for_restart(db: &TempDb, pod: &str, restart: u32) {
    wait_for(&db.path, &format!("{pod} restart {restart}"), |records| {
        instances(records, pod, "app")
            .iter()
            .any(|record| record.restart_count == restart)
    })
    .await;
}

#[tokio::test]
async fn restart_of_watcher_records_gap_once() {
    let server = TestApiServer::start().await.unwrap();
    let db = TempDb::new();
    server.create_pod(&simple_pod(NAMESPACE, "loop")).unwrap();

    let first = Watcher::start_watching(&server, &db.path, WatchOptions::default()).await;
    for restart in 0..3 {
        crash(&server, "loop", restart);
        wait_for_restart(&db, "loop", restart).await;
    }
    first.stop().await;

    for restart in 3..7 {
        crash(&server, "loop", restart);
    }
    let second = Watcher::start_watching(&server, &db.path, WatchOptions::default()).await;
    wait_for_restart(&db, "loop", 6).await;
    crash(&server, "loop", 7);
    wait_for_restart(&db, "loop", 7).await;
    let summary = second.stop().await;

    let records = watch_support::stored(&db.path);
    let found = instances(&records, "loop", "app");
    let numbers: Vec<(u32, u32)> = found
        .iter()
        .map(|record| (record.restart_count, record.missed_before))
        .collect();
    assert_eq!(numbers, [(0, 0), (1, 0), (2, 0), (6, 3), (7, 0)]);
    assert_eq!(
        summary.exits_found, 2,
        "the second watcher found only new exits"
    );
    let last = found[3].log_tail.last().map(|line| line.text.as_str());
    assert_eq!(last, Some("error: crash 6"));
}

#[tokio::test]
async fn relist_after_gone_finds_missed_exit() {
    let server = TestApiServer::start().await.unwrap();
    let db = TempDb::new();
    server.create_pod(&simple_pod(NAMESPACE, "loop")).unwrap();
    let watcher = Watcher::start_watching(&server, &db.path, WatchOptions::default()).await;

    // The pod watch breaks and cannot be resumed for a while; meanwhile two restarts happen
    // and the history is compacted, so the resumed watch gets 410 Gone and relists.
    let pod_watches = RequestFilter::path("/api/v1/pods").verb(Verb::Watch);
    server.fail_next(pod_watches, 1, Fault::ServiceUnavailable);
    server.clear_requests();
    server.drop_watches();
    let dropped = Instant::now();
    let pod_watch_failed = || {
        server
            .requests()
            .iter()
            .any(|request| request.path == "/api/v1/pods" && request.verb == Some(Verb::Watch))
    };
    while !pod_watch_failed() {
        assert!(
            dropped.elapsed() < watch_support::DEADLINE,
            "the pod watch was not retried"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    crash(&server, "loop", 0);
    crash(&server, "loop", 1);
    server.compact();

    wait_for_restart(&db, "loop", 1).await;
    let summary = watcher.stop().await;

    let records = watch_support::stored(&db.path);
    let found = instances(&records, "loop", "app");
    let numbers: Vec<(u32, u32)> = found
        .iter()
        .map(|record| (record.restart_count, record.missed_before))
        .collect();
    let pod_lists = server
        .requests()
        .iter()
        .filter(|request| request.path == "/api/v1/pods" && request.verb == Some(Verb::List))
        .count();
    assert_eq!(numbers, [(1, 1)]);
    assert_eq!(pod_lists, 1, "one relist after the 410");
    assert_eq!(summary.lists_completed, 2);
}

#[tokio::test]
async fn log_fetch_retries_throttling_and_errors() {
    let server = TestApiServer::start().await.unwrap();
    let db = TempDb::new();
    server.create_pod(&simple_pod(NAMESPACE, "flaky")).unwrap();
    let watcher = Watcher::start_watching(&server, &db.path, WatchOptions::default()).await;
    let logs = RequestFilter::path("/api/v1/namespaces/shop/pods/flaky/log");
    server.fail_next(
        logs.clone(),
        1,
        Fault::TooManyRequests {
            retry_after_seconds: 1,
        },
    );
    server.fail_next(logs, 1, Fault::InternalError);

    crash(&server, "flaky", 0);

    wait_for_restart(&db, "flaky", 0).await;
    watcher.stop().await;
    let records = watch_support::stored(&db.path);
    let record = &records[0];
    let log_requests = server
        .requests()
        .iter()
        .filter(|request| request.path.ends_with("/flaky/log"))
        .count();
    assert_eq!(record.log_source, Some(LogSource::ApiPrevious));
    assert_eq!(
        record.log_tail.last().map(|line| line.text.as_str()),
        Some("error: crash 0")
    );
    assert_eq!(log_requests, 3);
}

#[tokio::test]
async fn forbidden_list_names_the_permission() {
    let server = TestApiServer::start().await.unwrap();
    let db = TempDb::new();
    let pods = RequestFilter::path("/api/v1/pods").verb(Verb::List);
    server.fail_next(
        pods,
        1,
        Fault::Forbidden {
            user: "system:serviceaccount:podmortem:watcher".to_owned(),
        },
    );

    let store = SqliteStore::open(&db.path).unwrap();
    let result = cluster::run(
        client(&server),
        WatchOptions::default(),
        store,
        Shutdown::new(),
    )
    .await;

    let error = result.unwrap_err();
    let message = error.to_string();
    assert!(
        matches!(
            error,
            cluster::Error::Forbidden {
                verb: "list",
                resource: "pods",
                code: 403,
                ..
            }
        ),
        "{message}"
    );
    assert!(message.contains("`pods/log`"), "{message}");
}

#[tokio::test]
async fn burst_of_thousand_crashes_recorded_once() {
    const PODS: usize = 1000;
    let server = TestApiServer::start().await.unwrap();
    let db = TempDb::new();
    for index in 0..PODS {
        let name = format!("burst-{index}");
        server.create_pod(&simple_pod(NAMESPACE, &name)).unwrap();
    }
    let options = WatchOptions {
        max_log_fetches: 16,
        ..WatchOptions::default()
    };
    let watcher = Watcher::start_watching(&server, &db.path, options).await;

    let start = Instant::now();
    for index in 0..PODS {
        crash(&server, &format!("burst-{index}"), 0);
    }
    let crashed_in = start.elapsed();
    let records = wait_for(&db.path, "1000 records", |records| records.len() >= PODS).await;
    let summary = watcher.stop().await;

    let ids: HashSet<&str> = records.iter().map(|record| record.id.as_str()).collect();
    let with_log = records
        .iter()
        .filter(|record| !record.log_tail.is_empty())
        .count();
    assert!(crashed_in.as_secs() < 10, "crashes took {crashed_in:?}");
    assert_eq!(records.len(), PODS);
    assert_eq!(ids.len(), PODS);
    assert_eq!(summary.exits_found, PODS);
    assert_eq!(with_log, PODS);
}

#[tokio::test]
async fn forbidden_log_fetch_ends_the_watch() {
    let server = TestApiServer::start().await.unwrap();
    let db = TempDb::new();
    server.create_pod(&simple_pod(NAMESPACE, "secret")).unwrap();
    let watcher = Watcher::start_watching(&server, &db.path, WatchOptions::default()).await;
    let logs = RequestFilter::path("/api/v1/namespaces/shop/pods/secret/log");
    server.fail_next(
        logs,
        1,
        Fault::Forbidden {
            user: "system:serviceaccount:podmortem:watcher".to_owned(),
        },
    );

    crash(&server, "secret", 0);
    let result = watcher.task.await.expect("the watcher task ends");

    let error = result.unwrap_err();
    assert!(
        matches!(
            error,
            cluster::Error::Forbidden {
                verb: "get",
                resource: "pods/log",
                code: 403,
                ..
            }
        ),
        "{error}"
    );
    let records = watch_support::stored(&db.path);
    assert_eq!(records.len(), 1, "the exit is stored without its log");
}

/// Longer than the store's SQLite busy timeout (10 s), so that writes fail and are retried.
const LOCK_HOLD: std::time::Duration = std::time::Duration::from_secs(12);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_store_delays_but_keeps_exits() {
    let server = TestApiServer::start().await.unwrap();
    let db = TempDb::new();
    server
        .create_pod(&simple_pod(NAMESPACE, "patient"))
        .unwrap();
    let watcher = Watcher::start_watching(&server, &db.path, WatchOptions::default()).await;
    let lock = rusqlite::Connection::open(&db.path).unwrap();
    lock.execute_batch("BEGIN EXCLUSIVE").unwrap();

    crash(&server, "patient", 0);
    crash(&server, "patient", 1);
    tokio::time::sleep(LOCK_HOLD).await;
    lock.execute_batch("COMMIT").unwrap();

    wait_for_restart(&db, "patient", 1).await;
    let summary = watcher.stop().await;
    let records = watch_support::stored(&db.path);
    assert!(summary.store_retries >= 1, "{summary:?}");
    assert_eq!(instances(&records, "patient", "app").len(), 2);
}
