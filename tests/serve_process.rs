//! The `podmortem serve` process and its connections: signals and slow clients.

mod serve_support;
mod store_fixtures;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use podmortem::server::HEADER_READ_TIMEOUT;
use podmortem::store::{SqliteStore, Store};
use serve_support::TestServer;
use store_fixtures::all;

/// Reads stderr lines until the `listening` line and returns the address it names.
fn listening_address(stderr: &mut impl BufRead) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        assert!(
            stderr.read_line(&mut line).unwrap() > 0,
            "server exited early"
        );
        if let Some(start) = line.find("address=") {
            let rest = &line[start + "address=".len()..];
            return rest.split_whitespace().next().unwrap().to_owned();
        }
    }
}

#[test]
fn sigterm_stops_server_cleanly() {
    let folder = tempfile::tempdir().unwrap();
    let db = folder.path().join("podmortem.db");
    SqliteStore::open(&db).unwrap().upsert(&all()).unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_podmortem"))
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(&db)
        .env("NO_COLOR", "1")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let address = listening_address(&mut stderr);

    let mut stream = TcpStream::connect(&address).unwrap();
    write!(
        stream,
        "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = child.wait().unwrap();
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(exit.success(), "exit {exit:?}: {rest}");
    assert!(rest.contains("stopped"), "{rest}");
}

#[tokio::test]
async fn slow_headers_are_cut_off() {
    let server = TestServer::start(&all(), None).await;
    let address = server.base.trim_start_matches("http://").to_owned();

    let elapsed = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(HEADER_READ_TIMEOUT * 3))
            .unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            .unwrap();
        let started = Instant::now();
        let mut buffer = Vec::new();
        let read = stream.read_to_end(&mut buffer);
        (started.elapsed(), read.is_ok(), buffer)
    })
    .await
    .unwrap();

    let (took, closed, body) = elapsed;
    assert!(closed, "connection still open after {took:?}");
    assert!(
        took < HEADER_READ_TIMEOUT + Duration::from_secs(5),
        "took {took:?}"
    );
    assert!(!String::from_utf8_lossy(&body).contains("200 OK"));
}
