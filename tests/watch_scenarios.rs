//! The watcher against the test API server, with pods driven the way kubelet changes them:
//! each scenario asserts on the records stored afterwards.

mod watch_support;

use k8s_openapi::api::core::v1::{ContainerState, ContainerStateTerminated, PodStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use podmortem::cluster::WatchOptions;
use podmortem::model::{CauseKind, ContainerKind, LogSource};
use podmortem_test_apiserver::TestApiServer;
use serde_json::json;
use watch_support::{TempDb, Watcher, container_event, exit, instances, pod, simple_pod, wait_for};

const NAMESPACE: &str = "shop";

async fn start() -> (TestApiServer, TempDb, Watcher) {
    let server = TestApiServer::start().await.expect("start the test server");
    let db = TempDb::new();
    let watcher = Watcher::start_watching(&server, &db.path, WatchOptions::default()).await;
    (server, db, watcher)
}

#[tokio::test]
async fn crash_loop_keeps_each_instance_log() {
    let (server, db, watcher) = start().await;
    server.create_pod(&simple_pod(NAMESPACE, "loop")).unwrap();

    for restart in 0..10u32 {
        let text = format!("instance {restart} starting\npanic: failure number {restart}\n");
        server
            .set_log(NAMESPACE, "loop", "app", false, &text)
            .unwrap();
        server
            .kubelet_restart(NAMESPACE, "loop", "app", &exit(2, "Error"))
            .unwrap();
        wait_for(&db.path, &format!("restart {restart}"), |records| {
            instances(records, "loop", "app")
                .iter()
                .any(|record| record.restart_count == restart && !record.log_tail.is_empty())
        })
        .await;
    }

    let records = wait_for(&db.path, "10 records", |records| records.len() == 10).await;
    let found = instances(&records, "loop", "app");
    for (restart, record) in found.iter().enumerate() {
        let expected = format!("panic: failure number {restart}");
        assert_eq!(record.restart_count as usize, restart);
        assert_eq!(record.exit_code, Some(2));
        assert_eq!(record.missed_before, 0, "restart {restart}");
        assert_eq!(record.log_source, Some(LogSource::ApiPrevious));
        let texts: Vec<&str> = record
            .log_tail
            .iter()
            .map(|line| line.text.as_str())
            .collect();
        assert_eq!(texts.last(), Some(&expected.as_str()), "restart {restart}");
        assert_eq!(record.cause.key_line.as_deref(), Some(expected.as_str()));
        assert!(record.log_tail[0].time.is_some(), "restart {restart}");
    }
    watcher.stop().await;
}

#[tokio::test]
async fn oom_kill_with_memory_limit() {
    let (server, db, watcher) = start().await;
    let spec = json!({"containers": [{
        "name": "app",
        "image": "registry.example/app:1",
        "resources": {"limits": {"memory": "256Mi"}},
    }]});
    server.create_pod(&pod(NAMESPACE, "hungry", spec)).unwrap();

    server
        .kubelet_restart(NAMESPACE, "hungry", "app", &exit(137, "OOMKilled"))
        .unwrap();

    let records = wait_for(&db.path, "the OOM kill", |records| !records.is_empty()).await;
    let record = &records[0];
    assert_eq!(record.cause.kind, CauseKind::OomKilled);
    assert_eq!(record.exit_code, Some(137));
    assert_eq!(record.restart_count, 0);
    let evidence = record.cause.evidence.join("\n");
    assert!(evidence.contains("256Mi"), "{evidence}");
    watcher.stop().await;
}

#[tokio::test]
async fn liveness_kill_stored_with_events() {
    let (server, db, watcher) = start().await;
    let spec = json!({"containers": [{
        "name": "web",
        "image": "registry.example/web:1",
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080}},
    }]});
    let created = server.create_pod(&pod(NAMESPACE, "web", spec)).unwrap();

    let unhealthy = container_event(
        NAMESPACE,
        "web.unhealthy",
        &created,
        "web",
        "Unhealthy",
        "Liveness probe failed: HTTP probe failed with statuscode: 500",
    );
    let killing = container_event(
        NAMESPACE,
        "web.killing",
        &created,
        "web",
        "Killing",
        "Container web failed liveness probe, will be restarted",
    );
    server.create_event(&unhealthy).unwrap();
    server.create_event(&killing).unwrap();
    server
        .kubelet_restart(NAMESPACE, "web", "web", &exit(137, "Error"))
        .unwrap();

    let records = wait_for(&db.path, "the liveness kill", |records| !records.is_empty()).await;
    let record = &records[0];
    let reasons: Vec<&str> = record
        .events
        .iter()
        .map(|event| event.reason.as_str())
        .collect();
    assert_eq!(record.cause.kind, CauseKind::LivenessProbe);
    assert!(reasons.contains(&"Unhealthy"), "{reasons:?}");
    assert!(reasons.contains(&"Killing"), "{reasons:?}");
    watcher.stop().await;
}

#[tokio::test]
async fn failing_init_container_recorded() {
    let (server, db, watcher) = start().await;
    let spec = json!({
        "initContainers": [{"name": "migrate", "image": "registry.example/migrate:1"}],
        "containers": [{"name": "app", "image": "registry.example/app:1"}],
    });
    server.create_pod(&pod(NAMESPACE, "init", spec)).unwrap();
    server
        .set_log(
            NAMESPACE,
            "init",
            "migrate",
            false,
            "error: relation \"users\" does not exist\n",
        )
        .unwrap();

    server
        .kubelet_crash_loop_wait(NAMESPACE, "init", "migrate", &exit(1, "Error"))
        .unwrap();

    let records = wait_for(&db.path, "the init exit", |records| !records.is_empty()).await;
    let record = &records[0];
    assert_eq!(record.container, "migrate");
    assert_eq!(record.container_kind, ContainerKind::Init);
    assert_eq!(record.cause.kind, CauseKind::AppError);
    assert_eq!(record.exit_code, Some(1));
    let last = record.log_tail.last().map(|line| line.text.as_str());
    assert_eq!(last, Some("error: relation \"users\" does not exist"));
    watcher.stop().await;
}

#[tokio::test]
async fn crashing_sidecar_recorded_as_sidecar() {
    let (server, db, watcher) = start().await;
    let spec = json!({
        "initContainers": [{
            "name": "proxy",
            "image": "registry.example/proxy:1",
            "restartPolicy": "Always",
        }],
        "containers": [{"name": "app", "image": "registry.example/app:1"}],
    });
    server.create_pod(&pod(NAMESPACE, "meshed", spec)).unwrap();

    server
        .kubelet_restart(NAMESPACE, "meshed", "proxy", &exit(139, "Error"))
        .unwrap();

    let records = wait_for(&db.path, "the sidecar crash", |records| !records.is_empty()).await;
    let record = &records[0];
    assert_eq!(record.container, "proxy");
    assert_eq!(record.container_kind, ContainerKind::Sidecar);
    assert_eq!(record.cause.kind, CauseKind::Crashed);
    assert_eq!(record.signal.as_deref(), Some("SIGSEGV"));
    watcher.stop().await;
}

/// Sets the pod's status as kubelet's eviction manager leaves it.
fn evict(status: &mut PodStatus) {
    status.phase = Some("Failed".to_owned());
    status.reason = Some("Evicted".to_owned());
    status.message = Some(
        "The node was low on resource: memory. Threshold quantity: 100Mi, available: 90Mi."
            .to_owned(),
    );
    for container in status.container_statuses.iter_mut().flatten() {
        let started = container
            .state
            .as_ref()
            .and_then(|state| state.running.as_ref())
            .and_then(|running| running.started_at.clone());
        container.state = Some(ContainerState {
            terminated: Some(ContainerStateTerminated {
                exit_code: 137,
                reason: Some("Error".to_owned()),
                container_id: container.container_id.clone(),
                started_at: started,
                finished_at: Some(Time(jiff::Timestamp::now())),
                ..ContainerStateTerminated::default()
            }),
            ..ContainerState::default()
        });
        container.ready = false;
    }
}

#[tokio::test]
async fn eviction_outranks_exit_code() {
    let (server, db, watcher) = start().await;
    server
        .create_pod(&simple_pod(NAMESPACE, "evicted"))
        .unwrap();

    server
        .update_pod_status(NAMESPACE, "evicted", evict)
        .unwrap();

    let records = wait_for(&db.path, "the eviction", |records| !records.is_empty()).await;
    let record = &records[0];
    assert_eq!(record.cause.kind, CauseKind::Evicted);
    assert_eq!(record.pod_reason.as_deref(), Some("Evicted"));
    assert_eq!(record.exit_code, Some(137));
    assert_eq!(record.log_source, Some(LogSource::ApiCurrent));
    watcher.stop().await;
}

#[tokio::test]
async fn deleted_pod_final_status_recorded() {
    let (server, db, watcher) = start().await;
    let old = server
        .create_pod(&simple_pod(NAMESPACE, "old-replica"))
        .unwrap();

    // A rollout deletes the old replica: the API server sets `deletionTimestamp`, kubelet
    // stops the container with SIGTERM and reports its exit, and the pod is removed.
    let mut ending = old.clone();
    ending.metadata.deletion_timestamp = Some(Time(jiff::Timestamp::now()));
    ending.metadata.deletion_grace_period_seconds = Some(30);
    server.update_pod(&ending).unwrap();
    server
        .update_pod_status(NAMESPACE, "old-replica", |status| {
            for container in status.container_statuses.iter_mut().flatten() {
                container.state = Some(ContainerState {
                    terminated: Some(ContainerStateTerminated {
                        exit_code: 143,
                        reason: Some("Error".to_owned()),
                        container_id: container.container_id.clone(),
                        finished_at: Some(Time(jiff::Timestamp::now())),
                        ..ContainerStateTerminated::default()
                    }),
                    ..ContainerState::default()
                });
            }
        })
        .unwrap();
    server.delete_pod(NAMESPACE, "old-replica").unwrap();

    let records = wait_for(&db.path, "the stop", |records| !records.is_empty()).await;
    let record = &records[0];
    assert_eq!(record.pod, "old-replica");
    assert_eq!(record.exit_code, Some(143));
    assert_eq!(record.cause.kind, CauseKind::Stopped);
    assert!(record.cause.expected);
    watcher.stop().await;
}

#[tokio::test]
async fn gone_log_keeps_termination_message() {
    let (server, db, watcher) = start().await;
    server.create_pod(&simple_pod(NAMESPACE, "lost")).unwrap();

    // kubelet lost the dead container: `lastState` has no container id, so `previous=true`
    // gets 400, as after a node restart.
    server
        .update_pod_status(NAMESPACE, "lost", |status| {
            for container in status.container_statuses.iter_mut().flatten() {
                container.restart_count = 1;
                container.last_state = Some(ContainerState {
                    terminated: Some(ContainerStateTerminated {
                        exit_code: 1,
                        reason: Some("Error".to_owned()),
                        message: Some("fatal: config file /etc/app.yaml missing".to_owned()),
                        finished_at: Some(Time(jiff::Timestamp::now())),
                        ..ContainerStateTerminated::default()
                    }),
                    ..ContainerState::default()
                });
            }
        })
        .unwrap();

    let records = wait_for(&db.path, "the exit", |records| !records.is_empty()).await;
    let record = &records[0];
    assert_eq!(record.log_source, None);
    assert!(record.log_tail.is_empty());
    assert_eq!(
        record.message.as_deref(),
        Some("fatal: config file /etc/app.yaml missing")
    );
    let evidence = record.cause.evidence.join("\n");
    assert!(evidence.contains("log no longer available"), "{evidence}");
    watcher.stop().await;
}

#[tokio::test]
async fn node_oom_event_explains_kill() {
    let (server, db, watcher) = start().await;
    server.create_pod(&simple_pod(NAMESPACE, "worker")).unwrap();
    let now = jiff::Timestamp::now().to_string();
    let node_event = serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"namespace": "default", "name": "node-1.oom"},
        "involvedObject": {"kind": "Node", "name": "node-1", "uid": "node-1"},
        "reason": "OOMKilling",
        "type": "Warning",
        "message": "Memory cgroup out of memory: Killed process 4242 (app) total-vm:2097152kB",
        "count": 1,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "source": {"component": "kernel-monitor", "host": "node-1"},
    }))
    .unwrap();
    server.create_event(&node_event).unwrap();

    server
        .kubelet_restart(NAMESPACE, "worker", "app", &exit(137, "Error"))
        .unwrap();

    let records = wait_for(&db.path, "the kill", |records| !records.is_empty()).await;
    let record = &records[0];
    let node_events: Vec<&str> = record
        .events
        .iter()
        .filter(|event| event.inferred)
        .map(|event| event.reason.as_str())
        .collect();
    assert_eq!(node_events, ["OOMKilling"]);
    assert_eq!(record.cause.kind, CauseKind::OomKilled);
    watcher.stop().await;
}

#[tokio::test]
async fn late_events_reach_stored_exit() {
    let (server, db, watcher) = start().await;
    let created = server.create_pod(&simple_pod(NAMESPACE, "slow")).unwrap();
    server
        .kubelet_restart(NAMESPACE, "slow", "app", &exit(137, "Error"))
        .unwrap();
    let first = wait_for(&db.path, "the kill", |records| !records.is_empty()).await;

    // The events of the probe kill arrive only after the record was written.
    let unhealthy = container_event(
        NAMESPACE,
        "slow.unhealthy",
        &created,
        "app",
        "Unhealthy",
        "Liveness probe failed: Get \"http://10.0.0.7:8080/healthz\": context deadline exceeded",
    );
    let killing = container_event(
        NAMESPACE,
        "slow.killing",
        &created,
        "app",
        "Killing",
        "Container app failed liveness probe, will be restarted",
    );
    server.create_event(&unhealthy).unwrap();
    server.create_event(&killing).unwrap();

    let records = wait_for(&db.path, "the late events", |records| {
        records
            .first()
            .is_some_and(|record| record.cause.kind == CauseKind::LivenessProbe)
    })
    .await;
    let record = &records[0];
    let reasons: Vec<&str> = record
        .events
        .iter()
        .map(|event| event.reason.as_str())
        .collect();
    assert_eq!(first[0].cause.kind, CauseKind::Killed);
    assert_eq!(records.len(), 1);
    assert!(reasons.contains(&"Killing"), "{reasons:?}");
    assert!(reasons.contains(&"Unhealthy"), "{reasons:?}");
    watcher.stop().await;
}

#[tokio::test]
async fn namespace_and_selector_limit_pods() {
    let server = TestApiServer::start().await.unwrap();
    let db = TempDb::new();
    let options = WatchOptions {
        namespace: Some(NAMESPACE.to_owned()),
        label_selector: Some("app=watched".to_owned()),
        ..WatchOptions::default()
    };
    let watcher = Watcher::start_watching(&server, &db.path, options).await;
    server.create_pod(&simple_pod("other", "watched")).unwrap();
    server
        .create_pod(&simple_pod(NAMESPACE, "ignored"))
        .unwrap();
    server
        .create_pod(&simple_pod(NAMESPACE, "watched"))
        .unwrap();

    server
        .kubelet_restart("other", "watched", "app", &exit(1, "Error"))
        .unwrap();
    server
        .kubelet_restart(NAMESPACE, "ignored", "app", &exit(1, "Error"))
        .unwrap();
    server
        .kubelet_restart(NAMESPACE, "watched", "app", &exit(1, "Error"))
        .unwrap();
    wait_for(&db.path, "the watched pod", |records| !records.is_empty()).await;
    watcher.stop().await;

    let records = watch_support::stored(&db.path);
    let pods: Vec<String> = records
        .iter()
        .map(|record| format!("{}/{}", record.namespace, record.pod))
        .collect();
    assert_eq!(pods, ["shop/watched"]);
}
