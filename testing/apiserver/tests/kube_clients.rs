//! Compatibility with the real clients: kube-rs lists, `kube_runtime::watcher` with the
//! default and the streaming-list configuration across a compaction, pod logs through
//! `Api::logs`, and the generated kubeconfig.

mod common;

use std::pin::pin;

use common::{WAIT, case_path, pod, server_with_cases};
use futures_util::{Stream, StreamExt};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::api::{Api, ListParams, LogParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher;
use kube::{Client, Config};
use podmortem_test_apiserver::{Fault, TestApiServer, Verb};
use serde_json::json;

async fn client(server: &TestApiServer) -> Client {
    let kubeconfig = Kubeconfig::from_yaml(&server.kubeconfig_yaml()).expect("a valid kubeconfig");
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .expect("a usable kubeconfig");
    Client::try_from(config).expect("a client")
}

/// Returns the next watcher event; panics if the stream ends or stays silent.
async fn next<S>(stream: &mut S) -> Result<watcher::Event<Pod>, watcher::Error>
where
    S: Stream<Item = Result<watcher::Event<Pod>, watcher::Error>> + Unpin,
{
    match tokio::time::timeout(WAIT, stream.next()).await {
        Ok(Some(event)) => event,
        Ok(None) => panic!("the watcher stream ended"),
        Err(_) => panic!("the watcher sent nothing for {WAIT:?}"),
    }
}

fn name(pod: &Pod) -> String {
    pod.metadata.name.clone().unwrap_or_default()
}

/// Reads one initial listing: `Init`, the objects, `InitDone`; returns the object names.
async fn initial_names<S>(stream: &mut S) -> Vec<String>
where
    S: Stream<Item = Result<watcher::Event<Pod>, watcher::Error>> + Unpin,
{
    assert!(
        matches!(next(stream).await, Ok(watcher::Event::Init)),
        "listing starts with Init"
    );
    let mut names = Vec::new();
    loop {
        match next(stream).await {
            Ok(watcher::Event::InitApply(pod)) => names.push(name(&pod)),
            Ok(watcher::Event::InitDone) => break,
            other => panic!("unexpected event during the listing: {other:?}"),
        }
    }
    names.sort();
    names
}

/// Drives a watcher through a listing, a live change, a compaction that expires its version,
/// the relist, and a change after it.
async fn watcher_survives_compaction(config: watcher::Config, streaming: bool) {
    let server = TestApiServer::start().await.unwrap();
    server
        .create_pod(&pod("a", "watched-1", json!({"app": "watched"})))
        .unwrap();
    server
        .create_pod(&pod("a", "ignored", json!({"app": "other"})))
        .unwrap();
    let api: Api<Pod> = Api::all(client(&server).await);
    let mut stream = pin!(watcher(api, config.labels("app=watched")));

    assert_eq!(initial_names(&mut stream).await, vec!["watched-1"]);
    server
        .create_pod(&pod("a", "watched-2", json!({"app": "watched"})))
        .unwrap();
    match next(&mut stream).await {
        Ok(watcher::Event::Apply(pod)) => assert_eq!(name(&pod), "watched-2"),
        other => panic!("expected Apply, got {other:?}"),
    }

    // A change the watcher does not see moves the store past the watcher's version, and the
    // compaction then expires that version.
    server
        .create_pod(&pod("a", "ignored-2", json!({"app": "other"})))
        .unwrap();
    server.compact();
    server.drop_watches();

    match next(&mut stream).await {
        Err(watcher::Error::WatchError(status)) => {
            assert_eq!(status.code, 410);
            assert_eq!(status.reason, "Expired");
        }
        other => panic!("expected the 410 watch error, got {other:?}"),
    }
    assert_eq!(
        initial_names(&mut stream).await,
        vec!["watched-1", "watched-2"]
    );
    server
        .create_pod(&pod("a", "watched-3", json!({"app": "watched"})))
        .unwrap();
    match next(&mut stream).await {
        Ok(watcher::Event::Apply(pod)) => assert_eq!(name(&pod), "watched-3"),
        other => panic!("expected Apply after the relist, got {other:?}"),
    }

    let requests = server.requests();
    let initial: Vec<_> = requests
        .iter()
        .filter(|r| r.query_value("resourceVersion") == Some("0") || r.verb == Some(Verb::List))
        .collect();
    assert_eq!(
        initial.len(),
        2,
        "one listing before and one after the compaction"
    );
    for request in initial {
        let streamed = request.query_value("sendInitialEvents") == Some("true");
        assert_eq!(streamed, streaming, "request {request:?}");
    }
}

#[tokio::test]
async fn default_watcher_relists_after_compaction() {
    watcher_survives_compaction(watcher::Config::default(), false).await;
}

#[tokio::test]
async fn streaming_watcher_relists_after_compaction() {
    watcher_survives_compaction(watcher::Config::default().streaming_lists(), true).await;
}

#[tokio::test]
async fn paged_watcher_lists_case_pods() {
    let (server, names) = server_with_cases().await;
    let api: Api<Pod> = Api::all(client(&server).await);

    let mut stream = pin!(watcher(api, watcher::Config::default().page_size(4)));
    let mut listed: Vec<String> = Vec::new();
    assert!(matches!(next(&mut stream).await, Ok(watcher::Event::Init)));
    loop {
        match next(&mut stream).await {
            Ok(watcher::Event::InitApply(pod)) => {
                listed.push(format!(
                    "{}/{}",
                    pod.metadata.namespace.clone().unwrap_or_default(),
                    name(&pod)
                ));
            }
            Ok(watcher::Event::InitDone) => break,
            other => panic!("unexpected event during the listing: {other:?}"),
        }
    }

    listed.sort();
    assert_eq!(listed, names);
    let pages = server
        .requests()
        .iter()
        .filter(|r| r.query_value("limit") == Some("4"))
        .count();
    assert_eq!(pages, names.len().div_ceil(4));
}

#[tokio::test]
async fn api_list_reads_case_objects() {
    let (server, names) = server_with_cases().await;
    let client = client(&server).await;

    let pods = Api::<Pod>::all(client.clone())
        .list(&ListParams::default())
        .await
        .unwrap();
    let mut listed: Vec<String> = pods
        .items
        .iter()
        .map(|pod| {
            format!(
                "{}/{}",
                pod.metadata.namespace.clone().unwrap_or_default(),
                name(pod)
            )
        })
        .collect();
    listed.sort();
    assert_eq!(listed, names);
    assert_eq!(
        pods.metadata.resource_version,
        Some(server.resource_version().to_string())
    );

    let on_node_2 = ListParams::default().fields("spec.nodeName=node-2");
    let selected = Api::<Pod>::namespaced(client.clone(), "shop")
        .list(&on_node_2)
        .await
        .unwrap();
    assert_eq!(selected.items.len(), 1);
    let events = Api::<Event>::namespaced(client, "shop")
        .list(&ListParams::default().limit(3))
        .await
        .unwrap();
    assert_eq!(events.items.len(), 3);
    assert!(events.metadata.continue_.is_some());
}

#[tokio::test]
async fn api_logs_sends_log_params() {
    let server = TestApiServer::start().await.unwrap();
    server
        .load_pods(&case_path("09-exit127-command-not-found.json"))
        .unwrap();
    let log = fs_err::read(case_path("09-exit127-command-not-found.previous.log")).unwrap();
    server
        .set_cri_log("shop", "db-0", "db", true, &log)
        .unwrap();
    let api: Api<Pod> = Api::namespaced(client(&server).await, "shop");
    let params = LogParams {
        container: Some("db".into()),
        previous: true,
        tail_lines: Some(2),
        limit_bytes: Some(4096),
        timestamps: true,
        ..LogParams::default()
    };

    let text = api.logs("db-0", &params).await.unwrap();

    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].starts_with("2016-12-15T09:33:10."),
        "timestamped: {}",
        lines[0]
    );
    let request = server
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/log"))
        .unwrap();
    assert_eq!(request.query_value("previous"), Some("true"));
    assert_eq!(request.query_value("tailLines"), Some("2"));
    assert_eq!(request.query_value("limitBytes"), Some("4096"));
    assert_eq!(request.query_value("timestamps"), Some("true"));
}

#[tokio::test]
async fn api_errors_decode_as_status() {
    let server = TestApiServer::start().await.unwrap();
    let api: Api<Pod> = Api::namespaced(client(&server).await, "shop");
    server.fail_next(
        "/api/v1/namespaces/shop/pods",
        1,
        Fault::Forbidden {
            user: "watcher".into(),
        },
    );

    let forbidden = api.list(&ListParams::default()).await.unwrap_err();
    let missing = api.get("missing").await.unwrap_err();

    let kube::Error::Api(status) = forbidden else {
        panic!("expected an API error, got {forbidden:?}");
    };
    assert!(status.is_forbidden());
    assert!(
        status
            .message
            .contains("cannot list resource \"pods\" in API group \"\" in the namespace \"shop\"")
    );
    let kube::Error::Api(status) = missing else {
        panic!("expected an API error, got {missing:?}");
    };
    assert_eq!(status.code, 404);
}

#[tokio::test]
async fn kubeconfig_file_reaches_server() {
    let server = TestApiServer::start().await.unwrap();
    server.create_pod(&pod("default", "x", json!({}))).unwrap();
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("kubeconfig");
    server.write_kubeconfig(&path).unwrap();

    let kubeconfig = Kubeconfig::read_from(&path).unwrap();
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap();
    assert_eq!(config.default_namespace, "default");
    let client = Client::try_from(config).unwrap();
    let pods = Api::<Pod>::default_namespaced(client)
        .list(&ListParams::default())
        .await
        .unwrap();
    assert_eq!(pods.items.len(), 1);
}

#[tokio::test]
async fn event_watcher_sees_count_updates() {
    let (server, _) = server_with_cases().await;
    let api: Api<Event> = Api::namespaced(client(&server).await, "shop");
    let config =
        watcher::Config::default().fields("involvedObject.name=db-0,involvedObject.kind=Pod");
    server
        .create_event(&common::event("shop", "db-0.1", "db-0", "BackOff"))
        .unwrap();
    server
        .create_event(&common::event("shop", "other.1", "other", "BackOff"))
        .unwrap();
    let mut stream = pin!(watcher(api, config));

    assert!(matches!(
        stream.next().await,
        Some(Ok(watcher::Event::Init))
    ));
    let mut listed = Vec::new();
    loop {
        match tokio::time::timeout(WAIT, stream.next())
            .await
            .expect("a listing event")
        {
            Some(Ok(watcher::Event::InitApply(event))) => {
                listed.push(event.metadata.name.unwrap_or_default())
            }
            Some(Ok(watcher::Event::InitDone)) => break,
            other => panic!("unexpected event during the listing: {other:?}"),
        }
    }
    assert_eq!(listed, vec!["db-0.1"]);

    let mut repeated = common::event("shop", "db-0.1", "db-0", "BackOff");
    repeated.count = Some(5);
    server.update_event(&repeated).unwrap();
    match tokio::time::timeout(WAIT, stream.next())
        .await
        .expect("an update")
    {
        Some(Ok(watcher::Event::Apply(event))) => assert_eq!(event.count, Some(5)),
        other => panic!("expected Apply, got {other:?}"),
    }
}
