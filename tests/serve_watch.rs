//! A server that runs beside a watch in one process: readiness waits for the first pod list,
//! and `/metrics` carries the watch's health.

use std::net::SocketAddr;
use std::sync::Arc;

use podmortem::cli::watch::WatchCompanion;
use podmortem::cluster::health::{FetchOutcome, Resource, WatchHealth};
use podmortem::server::{self, AppState};
use podmortem::store::SqliteStore;

struct Served {
    base: String,
    stop: tokio::sync::oneshot::Sender<()>,
    _folder: tempfile::TempDir,
}

/// Serves an empty store, with the health of a watch in the same process when given.
async fn serve_with(health: Option<Arc<WatchHealth>>) -> Served {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("podmortem.db");
    drop(SqliteStore::open(&path).unwrap());
    let mut state = AppState::new(SqliteStore::open_existing(&path).unwrap(), None);
    if let Some(health) = health {
        state = state.with_companion(Arc::new(WatchCompanion(health)));
    }
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server::serve(listener, state, async {
        let _ = stopped.await;
    }));
    Served {
        base,
        stop,
        _folder: folder,
    }
}

async fn get(base: &str, path: &str) -> (u16, String) {
    let response = reqwest::get(format!("{base}{path}")).await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn ready_only_after_first_pod_list() {
    let health = Arc::new(WatchHealth::new());
    let served = serve_with(Some(Arc::clone(&health))).await;

    let (before, body) = get(&served.base, "/readyz").await;
    health.received(Resource::Events);
    health.listed(Resource::Events);
    let (events_only, _) = get(&served.base, "/readyz").await;
    health.received(Resource::Pods);
    health.listed(Resource::Pods);
    let (after, _) = get(&served.base, "/readyz").await;
    let (alive, _) = get(&served.base, "/healthz").await;
    let _ = served.stop.send(());

    assert_eq!(before, 503);
    assert!(body.contains("pods not listed"), "{body}");
    assert_eq!(events_only, 503);
    assert_eq!(after, 200);
    assert_eq!(alive, 200);
}

#[tokio::test]
async fn metrics_carry_watch_health() {
    let health = Arc::new(WatchHealth::new());
    let served = serve_with(Some(Arc::clone(&health))).await;
    health.received(Resource::Pods);
    health.failed(Resource::Events);
    health.fetch_started();
    health.fetch_ended(FetchOutcome::Gone, std::time::Duration::from_millis(30));
    health.record_queued();

    let (status, text) = get(&served.base, "/metrics").await;
    let _ = served.stop.send(());

    assert_eq!(status, 200);
    for line in [
        "podmortem_watch_connected{resource=\"pods\"} 1",
        "podmortem_watch_connected{resource=\"events\"} 0",
        "podmortem_watch_errors_total{resource=\"events\"} 1",
        "podmortem_log_fetches_total{outcome=\"gone\"} 1",
        "podmortem_watch_records_pending 1",
    ] {
        assert!(
            text.lines().any(|got| got == line),
            "no `{line}` in\n{text}"
        );
    }
}

#[tokio::test]
async fn plain_server_has_no_watch_metrics() {
    let served = serve_with(None).await;

    let (ready, _) = get(&served.base, "/readyz").await;
    let (_, text) = get(&served.base, "/metrics").await;
    let _ = served.stop.send(());

    assert_eq!(ready, 200);
    assert!(!text.contains("podmortem_watch_"), "{text}");
}
