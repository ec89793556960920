//! The kubelet readers against real node files and logs.

mod common;

use std::path::{Path, PathBuf};

use podmortem::kubelet::{
    InstanceLog, InstanceTimes, NodeScan, ScanOptions, TailOptions, decode_all,
    fallback_to_logs_message, match_message_files, scan_node_root, tail,
};
use podmortem::model::{LogLine, Stream};

fn read_case(name: &str) -> Vec<u8> {
    std::fs::read(common::case_path(name)).unwrap()
}

fn decode_case(name: &str) -> Vec<LogLine> {
    let (lines, stats) = decode_all(&read_case(name), None);
    assert_eq!(stats.invalid_lines, 0, "{name}: {:?}", stats.first_invalid);
    lines
}

#[test]
fn partial_records_join_into_json() {
    let lines = decode_case("22-cri-containerd-partial-lines.log");
    let json = lines
        .iter()
        .find(|line| line.text.starts_with("{\"level\""))
        .unwrap();

    assert_eq!(json.text.len(), 16384 + 16384 + 9299);
    assert_eq!(json.stream, Stream::Stdout);
    assert!(serde_json::from_str::<serde_json::Value>(&json.text).is_ok());
}

#[test]
fn stderr_chain_skips_interleaved_stdout() {
    let lines = decode_case("22-cri-containerd-partial-lines.log");
    let error = lines
        .iter()
        .position(|line| line.text.starts_with("ERROR request failed"))
        .unwrap();
    let heartbeat = lines
        .iter()
        .position(|line| line.text == "heartbeat ok")
        .unwrap();

    assert_eq!(lines[error].stream, Stream::Stderr);
    assert_eq!(lines[error].text.len(), 16471);
    assert!(lines[error].text.ends_with("status=503"));
    assert_eq!(lines[heartbeat].stream, Stream::Stdout);
    assert!(heartbeat < error);
}

#[test]
fn blank_line_and_tab_are_kept() {
    let lines = decode_case("22-cri-containerd-partial-lines.log");

    assert!(
        lines
            .iter()
            .any(|line| line.stream == Stream::Stdout && line.text.is_empty())
    );
    assert!(lines.iter().any(|line| line.text == "\t/src/cart.go:42"));
}

#[test]
fn final_record_without_newline_is_partial() {
    let lines = decode_case("22-cri-containerd-partial-lines.log");
    let last = lines.last().unwrap();

    assert!(last.partial);
    assert!(last.text.starts_with("created by main.startWorkers"));
    assert_eq!(lines.iter().filter(|line| line.partial).count(), 1);
}

#[test]
fn tail_of_partial_lines_case_agrees() {
    let path = common::case_path("22-cri-containerd-partial-lines.log");
    let opened = InstanceLog::open(&[path]);
    assert!(opened.problems.is_empty());
    let forward = decode_case("22-cri-containerd-partial-lines.log");

    for block in [1, 100, 4096, 1 << 20] {
        let options = TailOptions {
            lines: 8,
            stream: None,
            block_bytes: block,
        };
        let read = tail(&opened.log, &options).unwrap();
        assert_eq!(read.lines, forward[forward.len() - 8..], "block {block}");
        assert!(read.truncated);
    }
}

fn scan_case(name: &str) -> (tempfile::TempDir, NodeScan) {
    let root = common::node_case(name);
    let scan = scan_node_root(root.path(), &ScanOptions::default()).unwrap();
    (root, scan)
}

fn file_names(paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .map(|path| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

#[test]
fn rotated_files_in_name_order() {
    let (_root, scan) = scan_case("24-rotated-logs");
    let instance = &scan.instances[0];

    assert_eq!(instance.restart_count, 0);
    assert_eq!(
        file_names(&instance.log_files),
        ["0.log.20250626-101500.gz", "0.log.20250626-113023", "0.log"]
    );
}

#[test]
fn both_instances_are_found() {
    let (_root, scan) = scan_case("24-rotated-logs");
    let counts: Vec<u32> = scan.instances.iter().map(|i| i.restart_count).collect();

    assert_eq!(counts, [0, 1]);
    for instance in &scan.instances {
        assert_eq!(instance.namespace.as_deref(), Some("shop"));
        assert_eq!(instance.pod.as_deref(), Some("app-1-6d4cf56db6-abcde"));
        assert_eq!(instance.pod_uid, "47f1c77c-3904-55bd-bfa1-eceeeefb59e2");
        assert_eq!(instance.container, "app");
    }
    assert!(scan.warnings.is_empty(), "{:?}", scan.warnings);
}

#[test]
fn chain_across_rotation_is_joined() {
    let (_root, scan) = scan_case("24-rotated-logs");
    let tail = &scan.instances[0].log_tail;
    let joined: Vec<&LogLine> = tail
        .iter()
        .filter(|line| line.text.len() == 18080)
        .collect();

    assert_eq!(joined.len(), 1);
    assert!(!joined[0].text.contains('\u{fffd}'));
    assert!(joined[0].text.contains('é'));
    assert_eq!(joined[0].stream, Stream::Stderr);
    assert_eq!(
        joined[0].time,
        "2025-06-26T11:30:22.315839225Z".parse().ok()
    );
}

#[test]
fn invalid_bytes_and_nul_kept_lossily() {
    let (_root, scan) = scan_case("24-rotated-logs");
    let tail = &scan.instances[0].log_tail;
    let raw = tail
        .iter()
        .find(|line| line.text.starts_with("raw payload: "))
        .unwrap();

    assert!(raw.text.contains('\u{fffd}'));
    assert!(raw.text.contains('\0'));
    assert!(raw.text.ends_with(" end"));
}

#[test]
fn klog_fatal_line_is_last() {
    let (_root, scan) = scan_case("24-rotated-logs");
    let instance = &scan.instances[0];
    let last = instance.log_tail.last().unwrap();

    assert!(last.text.starts_with("F0626 11:31:40"), "{}", last.text);
    assert!(last.text.contains("queue connection lost"));
    assert_eq!(
        instance
            .last_log_at
            .map(|t| t.to_string())
            .as_deref()
            .map(|t| &t[..19]),
        Some("2025-06-26T11:31:40")
    );
}

#[test]
fn first_timestamp_from_oldest_file() {
    let (_root, scan) = scan_case("24-rotated-logs");
    let instance = &scan.instances[0];
    let first = instance.first_log_at.unwrap();
    let first_line = instance.log_tail.first().unwrap().time.unwrap();

    assert!(first <= first_line);
    assert!(!instance.log_truncated);
}

#[test]
fn short_tail_reads_back_into_old_files() {
    let root = common::node_case("24-rotated-logs");
    let options = ScanOptions { tail_lines: 3 };
    let scan = scan_node_root(root.path(), &options).unwrap();
    let instance = &scan.instances[0];

    assert_eq!(instance.log_tail.len(), 3);
    assert!(instance.log_truncated);
}

fn app_files(scan: &NodeScan, container: &str) -> usize {
    scan.message_files
        .iter()
        .position(|c| c.container == container)
        .unwrap()
}

#[test]
fn message_files_match_three_starts() {
    let (_root, scan) = scan_case("28-termination-log-files");
    let app = &scan.message_files[app_files(&scan, "app")];
    let names = file_names(&app.files.iter().map(|f| f.path.clone()).collect::<Vec<_>>());
    let matches = match_message_files(&app.files, Some(2), &[]);

    assert_eq!(app.pod_uid, "fbf38fae-793a-5182-b399-85c3f69c8cd7");
    assert_eq!(names, ["3f9a1c07", "b81e44d2", "0c5d7e19"]);
    let by_instance: Vec<(u32, &str)> = matches
        .iter()
        .map(|m| (m.restart_count, names[m.file_index].as_str()))
        .collect();
    assert_eq!(
        by_instance,
        [(0, "3f9a1c07"), (1, "b81e44d2"), (2, "0c5d7e19")]
    );
}

#[test]
fn first_instance_message_survives() {
    let (_root, scan) = scan_case("28-termination-log-files");
    let app = &scan.message_files[app_files(&scan, "app")];
    let message = String::from_utf8_lossy(&app.files[0].content);

    assert!(message.starts_with("config validation failed: missing required key DB_HOST"));
    assert!(app.files[1].content.is_empty());
    assert!(app.files[2].content.is_empty());
}

#[test]
fn message_files_match_by_api_times() {
    let (_root, scan) = scan_case("28-termination-log-files");
    let app = &scan.message_files[app_files(&scan, "app")];
    let at = |text: &str| text.parse().ok();
    let known = [
        InstanceTimes {
            restart_count: 1,
            started_at: at("2024-05-02T08:00:21Z"),
            finished_at: at("2024-05-02T08:06:12Z"),
        },
        InstanceTimes {
            restart_count: 2,
            started_at: at("2024-05-02T08:06:40Z"),
            finished_at: None,
        },
    ];
    let matches = match_message_files(&app.files, None, &known);
    let found: Vec<(u32, usize)> = matches
        .iter()
        .map(|m| (m.restart_count, m.file_index))
        .collect();

    assert_eq!(found, [(1, 1), (2, 2)]);
}

#[test]
fn init_container_has_own_files() {
    let (_root, scan) = scan_case("28-termination-log-files");
    let init = &scan.message_files[app_files(&scan, "wait-for-db")];

    assert_eq!(init.files.len(), 1);
    assert!(init.files[0].content.is_empty());
    assert!(scan.instances.is_empty());
}

#[test]
fn fallback_message_equals_pod_status() {
    let pod: serde_json::Value =
        serde_json::from_slice(&read_case("21-fallback-to-logs.json")).unwrap();
    let expected = pod["status"]["containerStatuses"][0]["lastState"]["terminated"]["message"]
        .as_str()
        .unwrap();
    let message = fallback_to_logs_message(&read_case("21-fallback-to-logs.previous.log"));

    assert_eq!(message.len(), 2048);
    assert_eq!(String::from_utf8(message).unwrap(), expected);
}

#[test]
fn empty_previous_log_has_no_lines() {
    let lines = decode_case("05-exit139-segfault.previous.log");
    let opened = InstanceLog::open(&[common::case_path("05-exit139-segfault.previous.log")]);
    let read = tail(&opened.log, &TailOptions::new(200)).unwrap();

    assert!(lines.is_empty());
    assert!(opened.problems.is_empty());
    assert!(read.lines.is_empty());
    assert!(!read.truncated);
}

#[test]
fn command_not_found_log_lines() {
    let lines = decode_case("09-exit127-command-not-found.previous.log");
    let texts: Vec<&str> = lines.iter().map(|line| line.text.as_str()).collect();

    assert_eq!(texts.len(), 4);
    assert_eq!(texts[2], "/entrypoint.sh: line 51: exec: : not found");
    assert_eq!(lines[2].stream, Stream::Stderr);
    assert_eq!(texts[3], "New password: Retype new password: ");
}

#[test]
fn fallback_log_tail_agrees() {
    let path = common::case_path("21-fallback-to-logs.previous.log");
    let forward = decode_case("21-fallback-to-logs.previous.log");
    let opened = InstanceLog::open(&[path]);
    let read = tail(&opened.log, &TailOptions::new(200)).unwrap();

    assert_eq!(read.lines, forward);
    assert!(!read.truncated);
    assert!(
        forward
            .last()
            .unwrap()
            .text
            .contains("Giving up after 7 failed health checks")
    );
}

#[test]
fn pod_logs_dir_as_root() {
    let root = common::node_case("24-rotated-logs");
    let pods = root.path().join("var/log/pods");
    let scan = scan_node_root(&pods, &ScanOptions::default()).unwrap();

    assert_eq!(scan.instances.len(), 2);
}

#[test]
fn empty_root_is_an_error() {
    let root = tempfile::tempdir().unwrap();
    let error = scan_node_root(root.path(), &ScanOptions::default()).unwrap_err();
    assert!(error.to_string().contains("is not a node root"), "{error}");

    std::fs::create_dir_all(root.path().join("var/log/pods")).unwrap();
    let error = scan_node_root(root.path(), &ScanOptions::default()).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("contains no container log files"),
        "{error}"
    );
}

fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn container_links_fill_ids() {
    let root = tempfile::tempdir().unwrap();
    let id = "9c165994151aa98994d24fce79fb0f116e79d3118040ac4a6a674cf723110c46";
    let log = root.path().join("var/log/pods/shop_web-0_u1/app/1.log");
    write(&log, b"2024-03-01T10:00:00Z stdout F hello\n");
    let links = root.path().join("var/log/containers");
    std::fs::create_dir_all(&links).unwrap();
    std::os::unix::fs::symlink(
        "/var/log/pods/shop_web-0_u1/app/1.log",
        links.join(format!("web-0_shop_app-{id}.log")),
    )
    .unwrap();

    let scan = scan_node_root(root.path(), &ScanOptions::default()).unwrap();
    assert_eq!(scan.instances[0].container_id.as_deref(), Some(id));
    assert_eq!(scan.instances[0].log_tail[0].text, "hello");
}

#[test]
fn legacy_layout_is_read() {
    let root = tempfile::tempdir().unwrap();
    let log = root.path().join("var/log/pods/u2/app_4.log");
    write(&log, b"2024-03-01T10:00:00Z stderr F old layout\n");

    let scan = scan_node_root(root.path(), &ScanOptions::default()).unwrap();
    let instance = &scan.instances[0];
    assert_eq!(instance.pod_uid, "u2");
    assert_eq!(instance.namespace, None);
    assert_eq!(instance.container, "app");
    assert_eq!(instance.restart_count, 4);
}

#[test]
fn bad_files_become_warnings() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("var/log/pods/shop_web-0_u1/app");
    write(&dir.join("0.log.20250101-000000.gz"), b"not gzip at all");
    write(
        &dir.join("0.log.20250101-000001"),
        b"\x00\x01\x02 binary \xff\xfe\n",
    );
    write(
        &dir.join("0.log"),
        b"2024-03-01T10:00:00Z stdout F still read\n",
    );

    let scan = scan_node_root(root.path(), &ScanOptions::default()).unwrap();
    assert_eq!(scan.instances[0].log_tail.len(), 1);
    assert_eq!(scan.warnings.len(), 2, "{:?}", scan.warnings);
    assert!(scan.warnings[0].contains("0.log.20250101-000000.gz"));
    assert!(scan.warnings[1].contains("0.log.20250101-000001"));
}

#[test]
fn symlinked_log_file_is_not_followed() {
    let root = tempfile::tempdir().unwrap();
    let outside = root.path().join("outside.log");
    write(&outside, b"2024-03-01T10:00:00Z stdout F secret\n");
    let dir = root.path().join("var/log/pods/shop_web-0_u1/app");
    write(&dir.join("0.log"), b"2024-03-01T10:00:00Z stdout F real\n");
    std::os::unix::fs::symlink(&outside, dir.join("1.log")).unwrap();

    let scan = scan_node_root(root.path(), &ScanOptions::default()).unwrap();
    assert_eq!(scan.instances.len(), 1);
    assert_eq!(scan.instances[0].log_tail[0].text, "real");
    assert_eq!(scan.warnings.len(), 1);
    assert!(scan.warnings[0].contains("is a symbolic link"));
}

#[test]
fn docker_json_instance_is_read() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("var/log/pods/shop_web-0_u1/app");
    let lines = concat!(
        r#"{"log":"split ","stream":"stderr","time":"2024-03-01T10:00:00.1Z"}"#,
        "\n",
        r#"{"log":"ok\n","stream":"stdout","time":"2024-03-01T10:00:00.2Z"}"#,
        "\n",
        r#"{"log":"line\n","stream":"stderr","time":"2024-03-01T10:00:00.3Z"}"#,
        "\n",
        r#"{"log":"cut"#,
    );
    write(&dir.join("0.log"), lines.as_bytes());

    let scan = scan_node_root(root.path(), &ScanOptions::default()).unwrap();
    let texts: Vec<&str> = scan.instances[0]
        .log_tail
        .iter()
        .map(|l| l.text.as_str())
        .collect();
    assert_eq!(texts, ["ok", "split line"]);
    assert_eq!(scan.warnings.len(), 1, "{:?}", scan.warnings);
    assert!(scan.warnings[0].contains("skipped 1 line that did not parse"));
}

#[test]
fn crio_offsets_are_read() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("var/log/pods/shop_web-0_u1/app");
    write(
        &dir.join("0.log"),
        b"2025-06-25T23:00:18.315839225+00:00 stderr F I0625 crio\n",
    );

    let scan = scan_node_root(root.path(), &ScanOptions::default()).unwrap();
    let instance = &scan.instances[0];
    assert_eq!(instance.log_tail[0].text, "I0625 crio");
    assert_eq!(
        instance.first_log_at,
        "2025-06-25T23:00:18.315839225Z".parse().ok()
    );
    assert_eq!(instance.last_log_at, instance.first_log_at);
}

/// Returns a gzip stream of `lines` CRI records, cut short so only its head decompresses.
fn truncated_gzip(lines: usize) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for index in 0..lines {
        let line = format!(
            "2024-03-01T09:00:00Z stdout F old line {index} {:x}\n",
            index * 7919
        );
        encoder.write_all(line.as_bytes()).unwrap();
    }
    let mut bytes = encoder.finish().unwrap();
    bytes.truncate(bytes.len() * 3 / 4);
    bytes
}

#[test]
fn short_tail_leaves_old_gzip_unread() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("var/log/pods/shop_web-0_u1/app");
    write(
        &dir.join("0.log.20250101-000000.gz"),
        &truncated_gzip(20_000),
    );
    write(
        &dir.join("0.log"),
        b"2024-03-01T10:00:00Z stdout F new 1\n2024-03-01T10:00:01Z stdout F new 2\n",
    );

    let short = scan_node_root(root.path(), &ScanOptions { tail_lines: 1 }).unwrap();
    assert!(short.warnings.is_empty(), "{:?}", short.warnings);
    assert_eq!(short.instances[0].log_tail.len(), 1);
    assert_eq!(
        short.instances[0].first_log_at,
        "2024-03-01T09:00:00Z".parse().ok()
    );

    let long = scan_node_root(root.path(), &ScanOptions { tail_lines: 50 }).unwrap();
    assert_eq!(long.warnings.len(), 1, "{:?}", long.warnings);
    assert!(
        long.warnings[0].contains("invalid gzip data"),
        "{}",
        long.warnings[0]
    );
}
