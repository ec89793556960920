//! Measures the test server on loopback: object creation, one full list, a paginated list, and
//! a watch that replays every creation. Run with
//! `cargo run --release -p podmortem-test-apiserver --example throughput [PODS]`.

use std::time::Instant;

use k8s_openapi::api::core::v1::Pod;
use podmortem_test_apiserver::TestApiServer;
use serde_json::{Value, json};

const DEFAULT_PODS: usize = 5000;
const PAGE_SIZE: usize = 500;

fn pod(index: usize) -> Pod {
    let value = json!({
        "metadata": {"namespace": format!("ns-{}", index % 10), "name": format!("pod-{index:06}"), "labels": {"app": "bench"}},
        "spec": {"nodeName": "node-1", "containers": [{"name": "app", "image": "registry.example/app:1"}]},
        "status": {"phase": "Running"}
    });
    serde_json::from_value(value).unwrap_or_default()
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let pods: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(DEFAULT_PODS);
    let server = TestApiServer::start().await?;
    let start_version = server.resource_version();
    let http = reqwest::Client::new();

    let started = Instant::now();
    for index in 0..pods {
        server.create_pod(&pod(index))?;
    }
    report("create_pod", pods, started);

    let started = Instant::now();
    let body = http
        .get(format!("{}/api/v1/pods", server.url()))
        .send()
        .await?
        .bytes()
        .await?;
    let list: Value = serde_json::from_slice(&body)?;
    let items = list["items"].as_array().map_or(0, Vec::len);
    report("full list", items, started);

    let started = Instant::now();
    let mut listed = 0;
    let mut token: Option<String> = None;
    loop {
        let mut url = format!("{}/api/v1/pods?limit={PAGE_SIZE}", server.url());
        if let Some(token) = &token {
            url.push_str(&format!("&continue={token}"));
        }
        let body = http.get(url).send().await?.bytes().await?;
        let page: Value = serde_json::from_slice(&body)?;
        listed += page["items"].as_array().map_or(0, Vec::len);
        token = page["metadata"]["continue"].as_str().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    report("paginated list", listed, started);

    let started = Instant::now();
    let url = format!(
        "{}/api/v1/pods?watch=1&resourceVersion={start_version}",
        server.url()
    );
    let mut response = http.get(url).send().await?;
    let mut events = 0;
    while events < pods {
        let Some(chunk) = response.chunk().await? else {
            break;
        };
        events += chunk.iter().filter(|byte| **byte == b'\n').count();
    }
    report("watch replay", events, started);
    if events < pods {
        println!(
            "the watch ended early: the history keeps {} changes, so older versions are compacted",
            podmortem_test_apiserver::DEFAULT_HISTORY_LIMIT
        );
    }
    Ok(())
}

fn report(step: &str, objects: usize, started: Instant) {
    let seconds = started.elapsed().as_secs_f64();
    let rate = objects as f64 / seconds.max(f64::EPSILON);
    println!(
        "{step:>15}: {objects} objects in {:.1} ms ({rate:.0} objects/s)",
        seconds * 1000.0
    );
}
