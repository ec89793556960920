//! The Kubernetes manifest in `deploy/`: every document decodes as its typed object, the
//! role grants exactly what the watcher needs, and the container's arguments, probes,
//! mounts and ports fit the program.

use clap::Parser as _;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, Service};
use k8s_openapi::api::rbac::v1::{ClusterRole, PolicyRule};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use podmortem::cli::{Cli, Command};
use serde::Deserialize as _;

const MANIFEST: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/kubernetes.yaml");

/// Returns every document of the manifest as JSON.
fn documents() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(MANIFEST).unwrap();
    serde_yaml_ng::Deserializer::from_str(&text)
        .map(|document| serde_json::Value::deserialize(document).unwrap())
        .collect()
}

fn only<T: serde::de::DeserializeOwned>(kind: &str) -> T {
    let mut found: Vec<serde_json::Value> = documents()
        .into_iter()
        .filter(|document| document["kind"] == kind)
        .collect();
    assert_eq!(found.len(), 1, "one {kind}");
    serde_json::from_value(found.remove(0)).unwrap()
}

fn container() -> Container {
    let deployment: Deployment = only("Deployment");
    let mut containers = deployment.spec.unwrap().template.spec.unwrap().containers;
    assert_eq!(containers.len(), 1);
    containers.remove(0)
}

#[test]
fn every_document_decodes() {
    let kinds: Vec<String> = documents()
        .iter()
        .map(|document| document["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        kinds,
        [
            "Namespace",
            "ServiceAccount",
            "ClusterRole",
            "ClusterRoleBinding",
            "PersistentVolumeClaim",
            "Deployment",
            "Service"
        ]
    );
    let _: Service = only("Service");
}

#[test]
fn role_grants_what_watch_reads() {
    let role: ClusterRole = only("ClusterRole");
    let mut granted: Vec<(String, String)> = role
        .rules
        .unwrap()
        .iter()
        .flat_map(|rule: &PolicyRule| {
            assert_eq!(rule.api_groups.as_deref(), Some(&[String::new()][..]));
            let resources = rule.resources.clone().unwrap();
            rule.verbs.iter().flat_map(move |verb| {
                resources
                    .iter()
                    .map(|resource| (resource.clone(), verb.clone()))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    granted.sort();

    let expected = [
        ("events", "get"),
        ("events", "list"),
        ("events", "watch"),
        ("pods", "get"),
        ("pods", "list"),
        ("pods", "watch"),
        ("pods/log", "get"),
    ]
    .map(|(resource, verb)| (resource.to_owned(), verb.to_owned()));
    assert_eq!(granted, expected);
}

#[test]
fn arguments_parse_as_watch_with_serve() {
    let container = container();
    let args = container.args.unwrap();
    let cli = Cli::try_parse_from(std::iter::once("podmortem".to_owned()).chain(args)).unwrap();

    let Command::Watch(watch) = cli.command else {
        panic!("the container does not run `watch`");
    };
    let mounts = container.volume_mounts.unwrap();
    let mounted = |path: &std::path::Path| {
        mounts
            .iter()
            .any(|mount| path.starts_with(&mount.mount_path))
    };
    let serve = watch.serve.expect("`--serve` is set");
    let token = watch.auth.token_file.expect("a token file");
    let db = watch.db.db.expect("a database path");
    assert!(!serve.ip().is_loopback(), "{serve}");
    assert!(mounted(&token), "{}", token.display());
    assert!(mounted(&db), "{}", db.display());
    let ports = container.ports.unwrap();
    assert_eq!(ports[0].container_port, i32::from(serve.port()));
}

#[test]
fn probes_use_health_routes() {
    let container = container();
    let path = |probe: Option<k8s_openapi::api::core::v1::Probe>| {
        let http = probe.unwrap().http_get.unwrap();
        assert_eq!(http.port, IntOrString::String("http".into()));
        http.path.unwrap()
    };

    assert_eq!(path(container.readiness_probe), "/readyz");
    assert_eq!(path(container.liveness_probe), "/healthz");
}

#[test]
fn root_filesystem_is_read_only() {
    let security = container().security_context.unwrap();

    assert_eq!(security.read_only_root_filesystem, Some(true));
    assert_eq!(security.allow_privilege_escalation, Some(false));
}
