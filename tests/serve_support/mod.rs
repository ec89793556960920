//! A `podmortem serve` router on an ephemeral loopback port, over a temporary SQLite file.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::net::SocketAddr;

use podmortem::model::Termination;
use podmortem::server::{self, AppState};
use podmortem::store::{SqliteStore, Store};
use tokio::sync::oneshot;

pub struct TestServer {
    pub base: String,
    pub client: reqwest::Client,
    folder: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl TestServer {
    /// Stores `records` in a new database and serves it on `127.0.0.1:0`.
    pub async fn start(records: &[Termination], token: Option<&str>) -> TestServer {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("podmortem.db");
        let mut store = SqliteStore::open(&path).unwrap();
        store.upsert(records).unwrap();
        drop(store);
        let store = SqliteStore::open_existing(&path).unwrap();

        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let state = AppState::new(store, token.map(str::to_owned));
        let task = tokio::spawn(server::serve(listener, state, async {
            let _ = stopped.await;
        }));

        TestServer {
            base: format!("http://{address}"),
            client: reqwest::Client::new(),
            folder,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn db_path(&self) -> std::path::PathBuf {
        self.folder.path().join("podmortem.db")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn json(&self, path: &str) -> (u16, serde_json::Value) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    /// Stops the server gracefully and waits for it to return.
    pub async fn stop(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => task.await.unwrap(),
            None => Ok(()),
        }
    }
}

/// Returns the `pod` of every item in a page.
pub fn pods(page: &serde_json::Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["pod"].as_str().unwrap().to_owned())
        .collect()
}
