//! Authentication, listen-address checks, metrics and request bounds of `podmortem serve`.

mod serve_support;
mod store_fixtures;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::Command;

use podmortem::model::ContainerKind;
use podmortem::server::{self, BODY_LIMIT_BYTES};
use serve_support::TestServer;
use store_fixtures::{all, oom_killed};

const TOKEN: &str = "s3cret-token";

#[tokio::test]
async fn token_required_for_api() {
    let server = TestServer::start(&all(), Some(TOKEN)).await;
    for path in ["/api/v1/terminations", "/api/v1/summary", "/metrics"] {
        let response = server.get(path).await;
        let challenge = response.headers().get("www-authenticate").cloned();
        assert_eq!(response.status().as_u16(), 401, "path `{path}`");
        assert_eq!(challenge.unwrap(), "Bearer", "path `{path}`");
    }
}

#[tokio::test]
async fn correct_token_is_accepted() {
    let server = TestServer::start(&all(), Some(TOKEN)).await;
    let response = server
        .client
        .get(server.url("/api/v1/terminations"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn bearer_scheme_is_case_insensitive() {
    let server = TestServer::start(&all(), Some(TOKEN)).await;
    for header in [
        "bearer s3cret-token",
        "BEARER s3cret-token",
        "Bearer  s3cret-token",
    ] {
        let response = server
            .client
            .get(server.url("/api/v1/terminations"))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "header `{header}`");
    }
}

#[tokio::test]
async fn wrong_token_is_rejected() {
    let server = TestServer::start(&all(), Some(TOKEN)).await;
    for header in [
        "Bearer wrong",
        "Bearer s3cret-token2",
        "Basic s3cret-token",
        TOKEN,
    ] {
        let response = server
            .client
            .get(server.url("/api/v1/terminations"))
            .header("authorization", header)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(status, 401, "header `{header}`");
        assert!(body["error"].as_str().unwrap().contains("bearer token"));
    }
}

#[tokio::test]
async fn probes_need_no_token() {
    let server = TestServer::start(&all(), Some(TOKEN)).await;
    assert_eq!(server.get("/healthz").await.status().as_u16(), 200);
    assert_eq!(server.get("/readyz").await.status().as_u16(), 200);
}

#[test]
fn non_loopback_requires_token_or_opt_out() {
    let any: SocketAddr = "0.0.0.0:8080".parse().unwrap();
    let loopback: SocketAddr = "127.0.0.1:8080".parse().unwrap();
    let loopback_v6: SocketAddr = "[::1]:8080".parse().unwrap();

    assert!(server::check_listen(any, None, false).is_err());
    assert!(server::check_listen(any, Some(TOKEN), false).is_ok());
    assert!(server::check_listen(any, None, true).is_ok());
    assert!(server::check_listen(loopback, None, false).is_ok());
    assert!(server::check_listen(loopback_v6, None, false).is_ok());
}

#[test]
fn cli_rejects_any_address_without_token() {
    let folder = tempfile::tempdir().unwrap();
    let db = folder.path().join("podmortem.db");
    podmortem::store::SqliteStore::open(&db).unwrap();

    let output = Command::new(env!("CARGO_BIN_EXE_podmortem"))
        .args(["serve", "--listen", "0.0.0.0:0", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("`0.0.0.0:0`"), "{stderr}");
    assert!(stderr.contains("--token-file"), "{stderr}");
}

#[test]
fn empty_token_file_is_rejected() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("token");
    fs_err::write(&path, "\n").unwrap();

    let error = server::read_token(&path).unwrap_err().to_string();
    assert!(error.contains("is empty"), "{error}");
}

#[test]
fn token_file_of_two_lines_is_rejected() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("token");
    fs_err::write(&path, "line1\nline2\n").unwrap();

    let error = server::read_token(&path).unwrap_err().to_string();
    assert!(error.contains("more than one word"), "{error}");
}

#[test]
fn token_file_is_trimmed() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("token");
    fs_err::write(&path, format!("{TOKEN}\n")).unwrap();

    assert_eq!(server::read_token(&path).unwrap(), TOKEN);
}

/// Parses OpenMetrics text into sample lines keyed by `name{labels}`, checking every line.
fn parse_samples(text: &str) -> HashMap<String, f64> {
    let mut samples = HashMap::new();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.last(), Some(&"# EOF"), "missing `# EOF`");
    for line in lines {
        if line.starts_with("# HELP ") || line.starts_with("# TYPE ") || line == "# EOF" {
            continue;
        }
        let (key, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("line `{line}`"));
        let name_end = key.find('{').unwrap_or(key.len());
        let name = &key[..name_end];
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "metric name in `{line}`"
        );
        assert!(
            key[name_end..].is_empty() || key.ends_with('}'),
            "labels in `{line}`"
        );
        samples.insert(key.to_owned(), value.parse().unwrap());
    }
    samples
}

async fn metrics(server: &TestServer) -> HashMap<String, f64> {
    let response = server.get("/metrics").await;
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    parse_samples(&response.text().await.unwrap())
}

#[tokio::test]
async fn metrics_count_stored_terminations() {
    let server = TestServer::start(&all(), None).await;
    let samples = metrics(&server).await;

    let key = |namespace: &str, cause: &str| {
        format!(
            "podmortem_terminations_total{{namespace=\"{namespace}\",cause=\"{cause}\",container_kind=\"regular\"}}"
        )
    };
    assert_eq!(samples.get(&key("shop", "oom_killed")), Some(&1.0));
    assert_eq!(samples.get(&key("shop", "app_error")), Some(&1.0));
    assert_eq!(samples.get(&key("batch", "completed")), Some(&1.0));
    assert_eq!(samples.get(&key("web", "liveness_probe")), Some(&1.0));
}

#[tokio::test]
async fn metrics_sum_each_label_set() {
    let mut records = Vec::new();
    for restart in 0..3 {
        let mut record = oom_killed();
        record.id = format!("api-{restart}");
        records.push(record);
    }
    let mut init = oom_killed();
    init.id = "init-0".into();
    init.container_kind = ContainerKind::Init;
    records.push(init);
    let server = TestServer::start(&records, None).await;
    let samples = metrics(&server).await;

    let key = |container_kind: &str| {
        format!(
            "podmortem_terminations_total{{namespace=\"shop\",cause=\"oom_killed\",container_kind=\"{container_kind}\"}}"
        )
    };
    assert_eq!(samples.get(&key("regular")), Some(&3.0));
    assert_eq!(samples.get(&key("init")), Some(&1.0));
}

#[tokio::test]
async fn metrics_count_http_requests() {
    let server = TestServer::start(&all(), None).await;
    server.get("/api/v1/terminations").await;
    server.get("/api/v1/terminations").await;
    server.get("/api/v1/terminations/unknown").await;
    let samples = metrics(&server).await;

    let list = "podmortem_http_requests_total{route=\"/api/v1/terminations\",status=\"200\"}";
    let one = "podmortem_http_requests_total{route=\"/api/v1/terminations/{id}\",status=\"404\"}";
    assert_eq!(samples.get(list), Some(&2.0));
    assert_eq!(samples.get(one), Some(&1.0));
}

#[tokio::test]
async fn metrics_observe_store_latency() {
    let server = TestServer::start(&all(), None).await;
    server.get("/api/v1/terminations").await;
    let samples = metrics(&server).await;

    let count = samples["podmortem_store_query_seconds_count"];
    assert!(count >= 1.0, "count {count}");
    assert!(samples.contains_key("podmortem_store_query_seconds_bucket{le=\"+Inf\"}"));
}

#[tokio::test]
async fn oversized_body_is_rejected() {
    let server = TestServer::start(&all(), None).await;
    let response = server
        .client
        .get(server.url("/api/v1/terminations"))
        .header("content-length", (BODY_LIMIT_BYTES + 1).to_string())
        .body(vec![b'x'; BODY_LIMIT_BYTES + 1])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let nosniff = response.headers().get("x-content-type-options").cloned();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(status, 413);
    assert_eq!(nosniff.unwrap(), "nosniff");
    assert!(
        body["error"].as_str().unwrap().contains("larger than"),
        "{body}"
    );
}

#[tokio::test]
async fn other_methods_get_json_errors() {
    let server = TestServer::start(&all(), None).await;
    for method in [
        reqwest::Method::POST,
        reqwest::Method::PUT,
        reqwest::Method::DELETE,
    ] {
        let response = server
            .client
            .request(method.clone(), server.url("/api/v1/terminations"))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(status, 405, "{method}");
        let message = body["error"].as_str().unwrap();
        assert!(message.contains(method.as_str()), "{message}");
        assert!(message.contains("GET"), "{message}");
    }
}

#[tokio::test]
async fn invalid_path_gets_json_error() {
    let server = TestServer::start(&all(), None).await;
    let response = server.get("/api/v1/terminations/%FF").await;

    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("UTF-8"), "{body}");
}

#[tokio::test]
async fn probes_keep_plain_text() {
    let server = TestServer::start(&all(), None).await;
    let response = server
        .client
        .post(server.url("/readyz"))
        .send()
        .await
        .unwrap();

    assert_eq!(response.status().as_u16(), 405);
    assert_ne!(
        response
            .headers()
            .get("content-type")
            .map(|value| value.to_str().unwrap()),
        Some("application/json")
    );
}

#[tokio::test]
async fn responses_set_nosniff_and_type() {
    let server = TestServer::start(&all(), None).await;
    for (path, expected_type) in [
        ("/api/v1/terminations", "application/json"),
        ("/api/v1/summary", "application/json"),
        ("/healthz", "text/plain; charset=utf-8"),
    ] {
        let response = server.get(path).await;
        let headers = response.headers();
        assert_eq!(
            headers["x-content-type-options"], "nosniff",
            "path `{path}`"
        );
        assert_eq!(headers["content-type"], expected_type, "path `{path}`");
    }
}
