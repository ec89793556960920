//! Lists over HTTP: pagination, `resourceVersion` semantics, expiry and selectors, fed with
//! the real pods and events of the root package's cases.

mod common;

use common::{get_json, pod, server_with_cases};
use podmortem_test_apiserver::TestApiServer;
use serde_json::{Value, json};

fn item_names(list: &Value) -> Vec<String> {
    list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| {
            let namespace = item["metadata"]["namespace"].as_str().unwrap_or_default();
            let name = item["metadata"]["name"].as_str().unwrap_or_default();
            format!("{namespace}/{name}")
        })
        .collect()
}

#[tokio::test]
async fn list_returns_every_case_pod() {
    let (server, names) = server_with_cases().await;

    let (status, list) = get_json(&server, "/api/v1/pods").await;

    assert_eq!(status, 200);
    assert_eq!(list["kind"], "PodList");
    assert_eq!(list["apiVersion"], "v1");
    assert_eq!(item_names(&list), names);
    assert_eq!(
        list["metadata"]["resourceVersion"],
        server.resource_version().to_string()
    );
    assert!(list["metadata"].get("continue").is_none());
    assert!(
        list["items"][0].get("kind").is_none(),
        "list items carry no kind"
    );
}

#[tokio::test]
async fn pages_follow_continue_tokens() {
    let (server, names) = server_with_cases().await;
    let mut seen = Vec::new();
    let mut path = "/api/v1/namespaces/shop/pods?limit=3".to_owned();
    let mut first_version = None;

    loop {
        let (status, page) = get_json(&server, &path).await;
        assert_eq!(status, 200);
        assert!(page["items"].as_array().unwrap().len() <= 3);
        let version = page["metadata"]["resourceVersion"].clone();
        assert_eq!(
            first_version.get_or_insert(version.clone()),
            &version,
            "pages share one version"
        );
        seen.extend(item_names(&page));
        server
            .create_pod(&pod("shop", &format!("late-{}", seen.len()), json!({})))
            .unwrap();
        match page["metadata"]["continue"].as_str() {
            Some(token) => {
                let remaining = page["metadata"]["remainingItemCount"].as_u64().unwrap();
                let expected = names.iter().filter(|n| n.starts_with("shop/")).count() - seen.len();
                assert_eq!(remaining as usize, expected);
                path = format!("/api/v1/namespaces/shop/pods?limit=3&continue={token}");
            }
            None => break,
        }
    }

    let shop: Vec<_> = names
        .into_iter()
        .filter(|n| n.starts_with("shop/"))
        .collect();
    assert_eq!(seen, shop, "pages read at the first page's version");
}

#[tokio::test]
async fn expired_continue_token_gets_410() {
    let (server, _) = server_with_cases().await;
    let (_, first) = get_json(&server, "/api/v1/pods?limit=2").await;
    let token = first["metadata"]["continue"].as_str().unwrap().to_owned();
    server
        .create_pod(&pod("shop", "zz-after-first-page", json!({})))
        .unwrap();
    server.compact();

    let (status, body) = get_json(&server, &format!("/api/v1/pods?limit=2&continue={token}")).await;

    assert_eq!(status, 410);
    assert_eq!(body["kind"], "Status");
    assert_eq!(body["reason"], "Expired");
    assert_eq!(body["code"], 410);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("The provided continue parameter is too old")
    );
    let fresh = body["metadata"]["continue"]
        .as_str()
        .expect("a fresh continue token");
    let (status, rest) = get_json(&server, &format!("/api/v1/pods?continue={fresh}")).await;
    assert_eq!(status, 200);
    let rest_names = item_names(&rest);
    let first_names = item_names(&first);
    assert!(
        rest_names.iter().all(|name| name > &first_names[1]),
        "goes on after the last key"
    );
    assert!(
        rest_names.contains(&"shop/zz-after-first-page".to_owned()),
        "reads the current state"
    );
}

#[tokio::test]
async fn exact_version_shows_past_state() {
    let server = TestApiServer::start().await.unwrap();
    server.create_pod(&pod("a", "first", json!({}))).unwrap();
    let before = server.resource_version();
    server.create_pod(&pod("a", "second", json!({}))).unwrap();
    server.delete_pod("a", "first").unwrap();

    let exact = format!("/api/v1/pods?resourceVersion={before}&resourceVersionMatch=Exact");
    let (status, past) = get_json(&server, &exact).await;
    assert_eq!(status, 200);
    assert_eq!(item_names(&past), vec!["a/first"]);
    assert_eq!(past["metadata"]["resourceVersion"], before.to_string());

    let not_older =
        format!("/api/v1/pods?resourceVersion={before}&resourceVersionMatch=NotOlderThan");
    let (_, current) = get_json(&server, &not_older).await;
    assert_eq!(item_names(&current), vec!["a/second"]);
    let (_, any) = get_json(&server, "/api/v1/pods?resourceVersion=0").await;
    assert_eq!(item_names(&any), vec!["a/second"]);
    let any_not_older = "/api/v1/pods?resourceVersion=0&resourceVersionMatch=NotOlderThan";
    let (status, any_match) = get_json(&server, any_not_older).await;
    assert_eq!(status, 200);
    assert_eq!(item_names(&any_match), vec!["a/second"]);

    server.compact();
    let (status, expired) = get_json(&server, &exact).await;
    assert_eq!(status, 410);
    assert_eq!(expired["reason"], "Expired");
}

#[tokio::test]
async fn future_version_times_out() {
    let server = TestApiServer::start().await.unwrap();
    let future = server.resource_version() + 100;

    let (status, body) = get_json(&server, &format!("/api/v1/pods?resourceVersion={future}")).await;

    assert_eq!(status, 504);
    assert_eq!(body["reason"], "Timeout");
    assert_eq!(
        body["details"]["causes"][0]["reason"],
        "ResourceVersionTooLarge"
    );
}

#[tokio::test]
async fn invalid_list_options_get_422() {
    let server = TestApiServer::start().await.unwrap();
    let cases = [
        "/api/v1/pods?resourceVersionMatch=Exact",
        "/api/v1/pods?resourceVersionMatch=Exact&resourceVersion=0",
        "/api/v1/pods?sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true",
        "/api/v1/pods?watch=true&resourceVersionMatch=NotOlderThan&resourceVersion=5",
    ];

    for path in cases {
        let (status, body) = get_json(&server, path).await;
        assert_eq!(status, 422, "`{path}`");
        assert_eq!(body["reason"], "Invalid", "`{path}`");
    }
}

#[tokio::test]
async fn label_selector_filters_pods() {
    let server = TestApiServer::start().await.unwrap();
    server
        .create_pod(&pod("a", "web-1", json!({"app": "web", "tier": "front"})))
        .unwrap();
    server
        .create_pod(&pod("a", "web-2", json!({"app": "web"})))
        .unwrap();
    server
        .create_pod(&pod("b", "db-1", json!({"app": "db"})))
        .unwrap();
    let cases = [
        ("app%3Dweb", vec!["a/web-1", "a/web-2"]),
        ("app%21%3Dweb", vec!["b/db-1"]),
        ("tier", vec!["a/web-1"]),
        ("%21tier", vec!["a/web-2", "b/db-1"]),
        (
            "app+in+%28db%2Cweb%29%2Ctier+notin+%28front%29",
            vec!["a/web-2", "b/db-1"],
        ),
    ];

    for (selector, expected) in cases {
        let (status, list) =
            get_json(&server, &format!("/api/v1/pods?labelSelector={selector}")).await;
        assert_eq!(status, 200, "selector `{selector}`");
        assert_eq!(item_names(&list), expected, "selector `{selector}`");
    }
}

#[tokio::test]
async fn field_selector_filters_case_objects() {
    let (server, _) = server_with_cases().await;

    let (_, on_node_2) =
        get_json(&server, "/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-2").await;
    assert_eq!(item_names(&on_node_2), vec!["shop/web-66b6c48dd5-bchnh"]);

    let (_, named) = get_json(
        &server,
        "/api/v1/namespaces/shop/pods?fieldSelector=metadata.name%3Ddb-0",
    )
    .await;
    assert_eq!(item_names(&named), vec!["shop/db-0"]);

    let (_, running) = get_json(&server, "/api/v1/pods?fieldSelector=status.phase%3DRunning").await;
    for item in running["items"].as_array().unwrap() {
        assert_eq!(item["status"]["phase"], "Running");
    }

    let query = "/api/v1/namespaces/shop/events?fieldSelector=involvedObject.name%3Dnightly-report,involvedObject.kind%3DJob";
    let (status, events) = get_json(&server, query).await;
    assert_eq!(status, 200);
    assert_eq!(events["kind"], "EventList");
    assert!(!events["items"].as_array().unwrap().is_empty());
    for item in events["items"].as_array().unwrap() {
        assert_eq!(item["involvedObject"]["name"], "nightly-report");
    }
}

#[tokio::test]
async fn unsupported_field_gets_400() {
    let server = TestApiServer::start().await.unwrap();

    let (status, body) = get_json(&server, "/api/v1/pods?fieldSelector=spec.image%3Dx").await;

    assert_eq!(status, 400);
    assert_eq!(body["reason"], "BadRequest");
    assert_eq!(body["message"], "field label not supported: spec.image");
}

#[tokio::test]
async fn get_unknown_pod_gets_404() {
    let (server, _) = server_with_cases().await;

    let (status, body) = get_json(&server, "/api/v1/namespaces/shop/pods/missing").await;
    assert_eq!(status, 404);
    assert_eq!(body["message"], "pods \"missing\" not found");
    assert_eq!(body["details"]["kind"], "pods");

    let (status, found) = get_json(&server, "/api/v1/namespaces/shop/pods/db-0").await;
    assert_eq!(status, 200);
    assert_eq!(found["kind"], "Pod");
}
