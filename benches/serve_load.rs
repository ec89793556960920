//! Load benchmark of `podmortem serve` over a store of a million realistic records.
//!
//! Run with `cargo bench --bench serve_load`. The first run builds the database under
//! `target/serve-load/` and prints how long the build took. Later runs reuse it while the
//! record count and schema version match. The server runs in its own thread on a Tokio
//! current-thread runtime, pinned with `taskset` to CPU 0 together with the blocking threads
//! it starts. `wrk` runs pinned to CPU 1 with a fixed number of keep-alive connections for a
//! fixed time per route, and the bench prints requests per second, p50 and p99 for each.
//!
//! `wrk` is the Debian and Ubuntu package `wrk` (`apt-get install wrk`). Without `--bench`
//! (as under `cargo test --benches`) the bench uses 10,000 records and 2 s per route.
//! `PODMORTEM_BENCH_RECORDS`, `PODMORTEM_BENCH_SECONDS` and `PODMORTEM_BENCH_CONNECTIONS`
//! override the record count, the seconds per route and the connection count.
//! `PODMORTEM_BENCH_ROUTE=/metrics` measures only the routes that start with it, and
//! `PODMORTEM_BENCH_VERBOSE=1` prints the whole output of each `wrk` run.

mod serve_load_support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use jiff::Timestamp;
use podmortem::server::{self, AppState};
use podmortem::store::{SCHEMA_VERSION, SqliteStore, Store};
use serve_load_support::{FILTER_CAUSE, FILTER_NAMESPACE};

/// Records per `upsert` call: large, so one commit is spread over many records.
const BATCH: u64 = 20_000;
/// CPU of the server thread and of the blocking threads it starts.
const SERVER_CPU: u32 = 0;
/// CPU of the load generator.
const CLIENT_CPU: u32 = 1;
/// Seconds of load before each measurement, so caches are warm.
const WARM_UP_SECONDS: u64 = 2;

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let records =
        env_number("PODMORTEM_BENCH_RECORDS").unwrap_or(if full { 1_000_000 } else { 10_000 });
    let seconds = env_number("PODMORTEM_BENCH_SECONDS").unwrap_or(if full { 10 } else { 2 });
    let connections = env_number("PODMORTEM_BENCH_CONNECTIONS").unwrap_or(16);

    if Command::new("wrk").arg("--version").output().is_err() {
        eprintln!("`wrk` not found: install it with `apt-get install wrk` (package `wrk`)");
        std::process::exit(2);
    }
    print_machine();

    let database = database(records);
    let (address, stop, thread) = start_server(database);
    let base = format!("http://{address}");

    let routes = [
        "/api/v1/terminations?limit=50".to_owned(),
        format!("/api/v1/terminations?limit=50&namespace={FILTER_NAMESPACE}&cause={FILTER_CAUSE}"),
        "/api/v1/summary".to_owned(),
        "/metrics".to_owned(),
    ];
    let summary = fetch(address, "/api/v1/summary", false);
    let total = summary
        .split("\"total\":")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .unwrap_or("unknown");
    println!("`/api/v1/summary` covers {total} records (the last 24 hours, expected exits aside)");
    println!();
    println!("| route | requests/s | p50 | p99 | load average (1 min) after |");
    println!("| --- | --- | --- | --- | --- |");
    let only = std::env::var("PODMORTEM_BENCH_ROUTE").ok();
    for route in routes.iter().filter(|route| {
        only.as_ref()
            .is_none_or(|only| route.starts_with(only.as_str()))
    }) {
        let url = format!("{base}{route}");
        check_ok(address, route);
        run_wrk(&url, connections, WARM_UP_SECONDS);
        let result = run_wrk(&url, connections, seconds);
        println!(
            "| `{route}` | {:.0} | {} | {} | {} |",
            result.requests_per_second,
            result.p50,
            result.p99,
            load_average()
        );
        if result.errors > 0 {
            println!(
                "|  | {} responses were not 2xx or failed |  |  |  |",
                result.errors
            );
        }
    }

    let _ = stop.send(());
    thread.join().expect("server thread").expect("server");
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
}

fn print_machine() {
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let model = Command::new("lscpu")
        .output()
        .ok()
        .and_then(|output| {
            String::from_utf8_lossy(&output.stdout)
                .lines()
                .find_map(|line| {
                    line.strip_prefix("Model name:")
                        .map(|name| name.trim().to_owned())
                })
        })
        .unwrap_or_else(|| "unknown".to_owned());
    println!(
        "machine: {cpus} CPUs, {model}, load average {}",
        load_average()
    );
}

/// Returns the 1-, 5- and 15-minute load averages from `/proc/loadavg`.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_else(|_| "unknown".to_owned())
}

/// Returns the path of a database of `records` records, built if no complete one exists.
fn database(records: u64) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target"),
        PathBuf::from,
    );
    let folder = target.join("serve-load");
    let path = folder.join(format!("records-{records}-schema-{SCHEMA_VERSION}.db"));
    if path.exists() {
        println!("reusing {}", path.display());
        return path;
    }

    // Built under another name and renamed when complete, so an interrupted build is redone.
    let partial = path.with_extension("partial");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", partial.display()));
    }
    let newest = Timestamp::now();
    let started = Instant::now();
    let mut store = SqliteStore::open(&partial).expect("create the benchmark database");
    let mut start = 0;
    while start < records {
        let end = (start + BATCH).min(records);
        let batch: Vec<_> = (start..end)
            .map(|n| serve_load_support::record(n, records, newest))
            .collect();
        store.upsert(&batch).expect("insert a batch");
        start = end;
    }
    drop(store);
    std::fs::rename(&partial, &path).expect("rename the finished database");

    let size = std::fs::metadata(&path).map_or(0, |metadata| metadata.len());
    println!(
        "built {records} records in {:.0} s ({:.0} records/s, generation included), {} MiB at {}",
        started.elapsed().as_secs_f64(),
        records as f64 / started.elapsed().as_secs_f64(),
        size / (1024 * 1024),
        path.display()
    );
    path
}

/// Starts the server on `127.0.0.1` in its own thread and returns its address, the sender
/// that stops it and the thread.
fn start_server(
    database: PathBuf,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    std::thread::JoinHandle<std::io::Result<()>>,
) {
    let (address_sender, address_receiver) = std::sync::mpsc::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        println!("server thread: {}", pin_current_thread(SERVER_CPU));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async move {
            let store = SqliteStore::open_existing(&database).expect("open the database");
            let listener =
                tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
            address_sender
                .send(listener.local_addr()?)
                .expect("send the address");
            server::serve(listener, AppState::new(store, None), async {
                let _ = stopped.await;
            })
            .await
        })
    });
    let address = address_receiver.recv().expect("the server starts");
    (address, stop, thread)
}

/// Pins the calling thread to `cpu` with `taskset -p`, which accepts a thread id. Threads
/// that this thread starts later inherit the mask. Returns what was done, for the output.
fn pin_current_thread(cpu: u32) -> String {
    let thread_id = std::fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|link| {
            link.file_name()
                .map(|name| name.to_string_lossy().into_owned())
        });
    let Some(thread_id) = thread_id else {
        return "not pinned: `/proc/thread-self` is missing".to_owned();
    };
    match Command::new("taskset")
        .args(["-p", "-c", &cpu.to_string(), &thread_id])
        .output()
    {
        Ok(output) if output.status.success() => format!("pinned to CPU {cpu} with taskset"),
        Ok(output) => format!(
            "not pinned: taskset failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ),
        Err(error) => format!("not pinned: taskset failed to start: {error}"),
    }
}

/// Fails the bench unless one request to `route` returns 200. The request waits as long as
/// the server takes, so a first count that fills a cache is done before the measurement.
fn check_ok(address: SocketAddr, route: &str) {
    let started = Instant::now();
    let response = fetch(address, route, true);
    assert!(
        response.starts_with("HTTP/1.1 200"),
        "`{route}` returned an error status:\n{response}"
    );
    println!(
        "first request to `{route}`: {:.0} ms",
        started.elapsed().as_secs_f64() * 1000.0
    );
}

struct WrkResult {
    requests_per_second: f64,
    p50: String,
    p99: String,
    errors: u64,
}

/// Runs `wrk` on CPU [`CLIENT_CPU`] (through `taskset` when it exists) and parses its output.
fn run_wrk(url: &str, connections: u64, seconds: u64) -> WrkResult {
    let wrk_args = [
        "-t2".to_owned(),
        format!("-c{connections}"),
        format!("-d{seconds}s"),
        "--latency".to_owned(),
        url.to_owned(),
    ];
    let mut command = if Command::new("taskset").arg("--version").output().is_ok() {
        let mut command = Command::new("taskset");
        command.args(["-c", &CLIENT_CPU.to_string(), "wrk"]);
        command
    } else {
        Command::new("wrk")
    };
    let output = command.args(&wrk_args).output().expect("start wrk");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    if std::env::var_os("PODMORTEM_BENCH_VERBOSE").is_some() {
        println!("{text}");
    }

    let field = |prefix: &str| {
        text.lines()
            .map(str::trim)
            .find_map(|line| line.strip_prefix(prefix).map(|rest| rest.trim().to_owned()))
    };
    let count = |prefix: &str| {
        field(prefix)
            .and_then(|value| value.parse::<u64>().ok())
            .unwrap_or(0)
    };
    let socket_errors: u64 = field("Socket errors:")
        .map(|line| {
            line.split(',')
                .filter_map(|part| part.split_whitespace().last()?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    WrkResult {
        requests_per_second: field("Requests/sec:")
            .and_then(|value| value.parse().ok())
            .unwrap_or_else(|| panic!("no `Requests/sec` in the wrk output:\n{text}")),
        p50: field("50%").unwrap_or_default(),
        p99: field("99%").unwrap_or_default(),
        errors: count("Non-2xx or 3xx responses:") + socket_errors,
    }
}

/// Returns the response to one `GET` of `path` over a connection of its own, with its status
/// line and headers when `whole` is set and only its body otherwise.
fn fetch(address: SocketAddr, path: &str, whole: bool) -> String {
    use std::io::{Read, Write};

    let mut stream = std::net::TcpStream::connect(address).expect("connect to the server");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .expect("send the request");
    let mut response = String::new();
    stream
        .read_to_string(&mut response)
        .expect("read the response");
    if whole {
        return response;
    }
    response
        .split_once("\r\n\r\n")
        .map_or(response.clone(), |(_, body)| body.to_owned())
}
