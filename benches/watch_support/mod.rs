//! Inputs and measurements shared by the watcher's benchmarks: pods of realistic size and the
//! resident memory of a process.

#![allow(
    dead_code,
    reason = "each benchmark binary uses a different subset of these helpers"
)]

use serde_json::{Value, json};

/// Returns a pod as a Deployment's ReplicaSet creates it, with `managedFields` from the
/// controller and kubelet, two containers and a full status: about 7 KB of JSON.
pub fn realistic_pod(index: usize, restart_count: u32) -> Value {
    let name = format!("checkout-7d9f8c6b5d-{index:05}");
    let uid = format!("5f0c1d2e-{:04x}-4a5b-8c9d-{index:012x}", index % 65536);
    let env: Vec<Value> = (0..30)
        .map(|n| json!({"name": format!("SETTING_{n}"), "value": format!("value-{n}-{index}")}))
        .collect();
    let fields_spec = json!({"f:containers": {"k:{\"name\":\"app\"}": {
        ".": {}, "f:env": {}, "f:image": {}, "f:imagePullPolicy": {}, "f:name": {},
        "f:ports": {}, "f:resources": {"f:limits": {"f:memory": {}}, "f:requests": {"f:cpu": {}}},
        "f:livenessProbe": {"f:httpGet": {"f:path": {}, "f:port": {}}, "f:periodSeconds": {}},
        "f:terminationMessagePath": {}, "f:terminationMessagePolicy": {}, "f:volumeMounts": {}
    }, "k:{\"name\":\"proxy\"}": {".": {}, "f:image": {}, "f:name": {}, "f:ports": {}}},
    "f:dnsPolicy": {}, "f:enableServiceLinks": {}, "f:restartPolicy": {}, "f:schedulerName": {},
    "f:securityContext": {}, "f:terminationGracePeriodSeconds": {}, "f:volumes": {}});
    let fields_status = json!({"f:conditions": {
        "k:{\"type\":\"ContainersReady\"}": {".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {}},
        "k:{\"type\":\"Initialized\"}": {".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {}},
        "k:{\"type\":\"PodReadyToStartContainers\"}": {".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {}},
        "k:{\"type\":\"Ready\"}": {".": {}, "f:lastProbeTime": {}, "f:lastTransitionTime": {}, "f:status": {}, "f:type": {}}
    }, "f:containerStatuses": {}, "f:hostIP": {}, "f:hostIPs": {}, "f:phase": {}, "f:podIP": {},
    "f:podIPs": {".": {}, "k:{\"ip\":\"10.244.1.17\"}": {".": {}, "f:ip": {}}}, "f:startTime": {}});
    let condition = |kind: &str| {
        json!({"type": kind, "status": "True", "lastProbeTime": null,
               "lastTransitionTime": "2026-01-01T00:00:05Z"})
    };
    let container_status = |name: &str, restarts: u32| {
        json!({
            "name": name, "image": format!("registry.example/shop/{name}:1.42.0"),
            "imageID": format!("registry.example/shop/{name}@sha256:{}", "ab".repeat(32)),
            "containerID": format!("containerd://{:064x}", index * 2 + usize::from(name == "proxy")),
            "ready": true, "started": true, "restartCount": restarts,
            "state": {"running": {"startedAt": "2026-01-01T00:00:04Z"}},
            "volumeMounts": [{"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true, "recursiveReadOnly": "Disabled"}]
        })
    };
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "generateName": "checkout-7d9f8c6b5d-",
            "namespace": "shop",
            "uid": uid,
            "resourceVersion": format!("{}", 100_000 + index),
            "creationTimestamp": "2026-01-01T00:00:00Z",
            "labels": {"app": "checkout", "pod-template-hash": "7d9f8c6b5d", "tier": "backend",
                       "app.kubernetes.io/version": "1.42.0", "team": "payments"},
            "annotations": {"kubectl.kubernetes.io/restartedAt": "2026-01-01T00:00:00Z",
                            "prometheus.io/scrape": "true", "prometheus.io/port": "9090"},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                 "name": "checkout-7d9f8c6b5d", "uid": "0d4b8f2a-1c3e-4f5a-9b7d-6e8c0a2b4d6f",
                                 "controller": true, "blockOwnerDeletion": true}],
            "managedFields": [
                {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1",
                 "time": "2026-01-01T00:00:00Z", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:metadata": {"f:generateName": {}, "f:labels": {}, "f:ownerReferences": {}},
                              "f:spec": fields_spec}},
                {"manager": "kubelet", "operation": "Update", "apiVersion": "v1",
                 "time": "2026-01-01T00:00:05Z", "fieldsType": "FieldsV1",
                 "fieldsV1": {"f:status": fields_status}, "subresource": "status"}
            ]
        },
        "spec": {
            "nodeName": format!("node-{}", index % 50),
            "serviceAccountName": "checkout",
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "containers": [
                {"name": "app", "image": "registry.example/shop/app:1.42.0", "env": env,
                 "ports": [{"containerPort": 8080, "protocol": "TCP"}],
                 "resources": {"limits": {"memory": "512Mi"}, "requests": {"cpu": "250m", "memory": "256Mi"}},
                 "livenessProbe": {"httpGet": {"path": "/healthz", "port": 8080, "scheme": "HTTP"},
                                   "periodSeconds": 10, "failureThreshold": 3, "timeoutSeconds": 1},
                 "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File",
                 "volumeMounts": [{"name": "kube-api-access", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}]},
                {"name": "proxy", "image": "registry.example/shop/proxy:1.42.0",
                 "ports": [{"containerPort": 15001, "protocol": "TCP"}],
                 "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"}
            ],
            "volumes": [{"name": "kube-api-access", "projected": {"defaultMode": 420, "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
            ]}}],
            "tolerations": [
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            ]
        },
        "status": {
            "phase": "Running",
            "conditions": [condition("PodReadyToStartContainers"), condition("Initialized"),
                           condition("Ready"), condition("ContainersReady"), condition("PodScheduled")],
            "hostIP": "10.0.0.12", "hostIPs": [{"ip": "10.0.0.12"}],
            "podIP": "10.244.1.17", "podIPs": [{"ip": "10.244.1.17"}],
            "startTime": "2026-01-01T00:00:01Z",
            "qosClass": "Burstable",
            "containerStatuses": [container_status("app", restart_count), container_status("proxy", 0)]
        }
    })
}

/// Returns the resident set size of this process in bytes, from `/proc/self/statm`, or 0
/// where that file is missing. The page size is taken as 4096 bytes.
pub fn resident_bytes() -> u64 {
    let Ok(statm) = std::fs::read_to_string("/proc/self/statm") else {
        return 0;
    };
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .unwrap_or(0);
    pages * 4096
}
