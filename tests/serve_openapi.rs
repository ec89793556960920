//! The OpenAPI document at `/api/v1/openapi.json` against the routes and records it describes.

mod serve_support;
mod store_fixtures;

use podmortem::server::api::LIST_PARAMETERS;
use serde_json::Value;
use serve_support::TestServer;
use store_fixtures::{all, oom_killed};

async fn document(server: &TestServer) -> Value {
    let response = server.get("/api/v1/openapi.json").await;
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/json");
    response.json().await.unwrap()
}

/// Replaces each `{name}` in a path template with a value of a stored record.
fn concrete(template: &str) -> String {
    let record = oom_killed();
    template
        .replace("{id}", &record.id)
        .replace("{namespace}", &record.namespace)
        .replace("{pod}", &record.pod)
}

#[tokio::test]
async fn document_is_openapi_3_1() {
    let server = TestServer::start(&all(), None).await;
    let doc = document(&server).await;

    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["info"]["title"], "podmortem");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

#[tokio::test]
async fn every_documented_path_is_served() {
    let server = TestServer::start(&all(), None).await;
    let doc = document(&server).await;
    let paths = doc["paths"].as_object().unwrap();

    for expected in [
        "/api/v1/terminations",
        "/api/v1/terminations/{id}",
        "/api/v1/pods/{namespace}/{pod}",
        "/api/v1/summary",
        "/metrics",
        "/healthz",
        "/readyz",
    ] {
        assert!(paths.contains_key(expected), "`{expected}` not documented");
    }
    for (template, operations) in paths {
        let documented: Vec<&String> = operations["get"]["responses"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        let status = server.get(&concrete(template)).await.status().as_u16();
        assert!(
            documented.contains(&&status.to_string()),
            "`{template}` answered {status}, documented {documented:?}"
        );
        assert_eq!(status, 200, "`{template}` answered {status}");
    }
}

#[tokio::test]
async fn list_parameters_match_the_handler() {
    let server = TestServer::start(&[], None).await;
    let doc = document(&server).await;
    let parameters = doc["paths"]["/api/v1/terminations"]["get"]["parameters"]
        .as_array()
        .unwrap();

    let mut documented: Vec<&str> = parameters
        .iter()
        .map(|parameter| parameter["name"].as_str().unwrap())
        .collect();
    let mut accepted = LIST_PARAMETERS.to_vec();
    documented.sort_unstable();
    accepted.sort_unstable();
    assert_eq!(documented, accepted);
}

#[tokio::test]
async fn record_schema_names_every_field() {
    let record = oom_killed();
    let server = TestServer::start(std::slice::from_ref(&record), None).await;
    let doc = document(&server).await;
    let (_, served) = server
        .json(&format!("/api/v1/terminations/{}", record.id))
        .await;

    let schemas = &doc["components"]["schemas"];
    let properties = schemas["Termination"]["properties"].as_object().unwrap();
    let mut documented: Vec<&String> = properties.keys().collect();
    let mut sent: Vec<&String> = served.as_object().unwrap().keys().collect();
    documented.sort_unstable();
    sent.sort_unstable();
    assert_eq!(documented, sent);

    let causes = schemas["CauseKind"]["enum"].as_array().unwrap();
    assert!(causes.contains(&served["cause"]["kind"]), "{causes:?}");
}

#[tokio::test]
async fn document_needs_no_token() {
    let server = TestServer::start(&[], Some("secret-token")).await;

    let doc = server.get("/api/v1/openapi.json").await;
    let list = server.get("/api/v1/terminations").await;

    assert_eq!(doc.status(), 200);
    assert_eq!(list.status(), 401);
}
