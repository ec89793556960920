//! The built `podmortem watch` binary against the test API server: connection through
//! `--kubeconfig`, one stderr line per exit, `list` on the same database while it runs, and a
//! clean stop on SIGTERM.

mod watch_support;

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use podmortem_test_apiserver::{KUBECONFIG_NAME, TestApiServer};
use watch_support::{DEADLINE, TempDb, exit, simple_pod, wait_for};

const NAMESPACE: &str = "shop";

fn spawn_watch(kubeconfig: &std::path::Path, db: &std::path::Path, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_podmortem"))
        .arg("watch")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .arg("--db")
        .arg(db)
        .args(extra)
        .env("RUST_LOG", "info")
        .env_remove("PODMORTEM_DB")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start podmortem watch")
}

async fn wait_for_watches(server: &TestApiServer) {
    let start = Instant::now();
    while server.open_watches() < 2 {
        assert!(
            start.elapsed() < DEADLINE,
            "podmortem watch opened no watches"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends SIGTERM and returns the exit status and everything written to stderr.
fn terminate(mut child: Child) -> (std::process::ExitStatus, String) {
    let killed = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status()
        .expect("run kill");
    assert!(killed.success());
    let status = child.wait().expect("wait for podmortem watch");
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        pipe.read_to_string(&mut stderr).expect("read stderr");
    }
    (status, stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_records_lists_and_stops() {
    let server = TestApiServer::start().await.unwrap();
    let db = TempDb::new();
    let kubeconfig = db.dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    server.create_pod(&simple_pod(NAMESPACE, "web")).unwrap();
    let child = spawn_watch(&kubeconfig, &db.path, &[]);
    wait_for_watches(&server).await;

    server
        .set_log(
            NAMESPACE,
            "web",
            "app",
            false,
            "error: listen tcp :8080: address in use\n",
        )
        .unwrap();
    server
        .kubelet_restart(NAMESPACE, "web", "app", &exit(1, "Error"))
        .unwrap();
    let records = wait_for(&db.path, "the exit", |records| !records.is_empty()).await;
    let listed = Command::new(env!("CARGO_BIN_EXE_podmortem"))
        .args(["list", "--db"])
        .arg(&db.path)
        .output()
        .expect("run podmortem list");
    let (status, stderr) = terminate(child);

    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.contains("web"), "{listed}");
    assert!(status.success(), "{status:?}: {stderr}");
    assert!(
        stderr.contains("shop/web app restart 0: app_error (exit 1)"),
        "{stderr}"
    );
    assert_eq!(records[0].cluster.as_deref(), Some(KUBECONFIG_NAME));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_log_format_has_exit_fields() {
    let server = TestApiServer::start().await.unwrap();
    let db = TempDb::new();
    let kubeconfig = db.dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    server.create_pod(&simple_pod(NAMESPACE, "api")).unwrap();
    let child = spawn_watch(
        &kubeconfig,
        &db.path,
        &["--log-format", "json", "--cluster", "prod-eu"],
    );
    wait_for_watches(&server).await;

    server
        .kubelet_restart(NAMESPACE, "api", "app", &exit(137, "OOMKilled"))
        .unwrap();
    let records = wait_for(&db.path, "the exit", |records| !records.is_empty()).await;
    let (status, stderr) = terminate(child);

    let exit_line = stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|line| line["target"] == "podmortem::exit");
    let fields = &exit_line.expect("a JSON line for the exit")["fields"];
    assert!(status.success(), "{status:?}: {stderr}");
    assert_eq!(fields["pod"], "api");
    assert_eq!(fields["cause"], "oom_killed");
    assert_eq!(fields["exit_code"], "137");
    assert_eq!(records[0].cluster.as_deref(), Some("prod-eu"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthorized_exits_non_zero() {
    let server = TestApiServer::start().await.unwrap();
    let db = TempDb::new();
    let kubeconfig = db.dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    server.fail_next(
        "/api/v1/events",
        1,
        podmortem_test_apiserver::Fault::Unauthorized,
    );

    let child = spawn_watch(&kubeconfig, &db.path, &[]);
    let output = child.wait_with_output().expect("wait for podmortem watch");

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("`list` on `events`"), "{stderr}");
    assert!(stderr.contains("401"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn context_flag_selects_cluster() {
    let server = TestApiServer::start().await.unwrap();
    let db = TempDb::new();
    let kubeconfig = db.dir.path().join("kubeconfig");
    // The current context points at a closed loopback port; only `--context` reaches the server.
    let text = format!(
        "apiVersion: v1
kind: Config
clusters:
- name: unreachable
  cluster:
    server: http://127.0.0.1:1
- name: staging-eu
  cluster:
    server: {url}
contexts:
- name: broken
  context: {{cluster: unreachable, user: tester}}
- name: staging
  context: {{cluster: staging-eu, user: tester}}
current-context: broken
users:
- name: tester
  user: {{token: test-token}}
",
        url = server.url()
    );
    std::fs::write(&kubeconfig, text).unwrap();
    server.create_pod(&simple_pod(NAMESPACE, "ctx")).unwrap();
    let child = spawn_watch(&kubeconfig, &db.path, &["--context", "staging"]);
    wait_for_watches(&server).await;

    server
        .kubelet_restart(NAMESPACE, "ctx", "app", &exit(1, "Error"))
        .unwrap();
    let records = wait_for(&db.path, "the exit", |records| !records.is_empty()).await;
    let (status, stderr) = terminate(child);

    assert!(status.success(), "{status:?}: {stderr}");
    assert_eq!(records[0].cluster.as_deref(), Some("staging-eu"));
}

/// Reads stderr on a thread until the server's `listening` line and returns the address in
/// it, with a receiver of every later stderr line.
fn listening_address(
    stderr: std::process::ChildStderr,
) -> (String, std::sync::mpsc::Receiver<String>) {
    let (lines, received) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stderr)) {
            let Ok(line) = line else { break };
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    loop {
        let line = received
            .recv_timeout(DEADLINE)
            .expect("podmortem watch printed no `listening` line");
        if let Some(start) = line.find("address=") {
            let rest = &line[start + "address=".len()..];
            let address = rest.split_whitespace().next().unwrap().to_owned();
            return (address, received);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_flag_serves_records_and_watch_health() {
    let server = TestApiServer::start().await.unwrap();
    let db = TempDb::new();
    let kubeconfig = db.dir.path().join("kubeconfig");
    server.write_kubeconfig(&kubeconfig).unwrap();
    server.create_pod(&simple_pod(NAMESPACE, "web")).unwrap();
    let mut child = spawn_watch(&kubeconfig, &db.path, &["--serve", "127.0.0.1:0"]);
    let (address, stderr) = listening_address(child.stderr.take().unwrap());
    wait_for_watches(&server).await;

    server
        .set_log(NAMESPACE, "web", "app", false, "panic: nil map\n")
        .unwrap();
    server
        .kubelet_restart(NAMESPACE, "web", "app", &exit(2, "Error"))
        .unwrap();
    wait_for(&db.path, "the exit", |records| !records.is_empty()).await;

    let client = reqwest::Client::new();
    let get = |path: &str| client.get(format!("http://{address}{path}")).send();
    let page: serde_json::Value = get("/api/v1/terminations")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ready = get("/readyz").await.unwrap().status();
    let metrics = get("/metrics").await.unwrap().text().await.unwrap();
    let (status, _) = terminate(child);
    let log: Vec<String> = stderr.iter().collect();
    let log = log.join("\n");

    assert!(status.success(), "{status:?}: {log}");
    assert_eq!(page["items"][0]["pod"], "web");
    assert_eq!(page["items"][0]["log_tail"][0]["text"], "panic: nil map");
    assert_eq!(ready, 200);
    for line in [
        "podmortem_watch_connected{resource=\"pods\"} 1",
        "podmortem_watch_lists_total{resource=\"pods\"} 1",
        "podmortem_watch_exits_found_total 1",
        "podmortem_log_fetches_total{outcome=\"fetched\"} 1",
        "podmortem_watch_records_committed_total 1",
        "podmortem_watch_records_pending 0",
    ] {
        assert!(
            metrics.lines().any(|text| text == line),
            "no `{line}` in\n{metrics}"
        );
    }
    assert!(
        metrics.contains("podmortem_terminations_total{namespace=\"shop\""),
        "{metrics}"
    );
}

#[test]
fn serve_flags_need_serve() {
    let db = TempDb::new();
    let token = db.dir.path().join("token");
    std::fs::write(&token, "secret\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_podmortem"))
        .args(["watch", "--token-file"])
        .arg(&token)
        .arg("--db")
        .arg(&db.path)
        .output()
        .unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("need `--serve`"), "{stderr}");
}

#[test]
fn serve_on_other_address_needs_token() {
    let db = TempDb::new();
    let output = Command::new(env!("CARGO_BIN_EXE_podmortem"))
        .args(["watch", "--serve", "0.0.0.0:0", "--db"])
        .arg(&db.path)
        .output()
        .unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("--token-file"), "{stderr}");
}
