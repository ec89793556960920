//! `podmortem log` run as a process, with snapshots of its output.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn podmortem_log(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_podmortem"))
        .arg("log")
        .args(args)
        .output()
        .expect("run podmortem")
}

fn case(name: &str) -> String {
    common::case_path(name).display().to_string()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// Replaces a temporary folder in output by `[TEMP]`, so snapshots do not depend on it.
fn without_temp(text: &str, temp: &Path) -> String {
    text.replace(&temp.display().to_string(), "[TEMP]")
}

#[test]
fn tail_with_timestamps() {
    let output = podmortem_log(&[
        "--tail",
        "6",
        "--timestamps",
        &case("22-cri-containerd-partial-lines.log"),
    ]);

    assert!(output.status.success());
    insta::assert_snapshot!(stdout(&output));
}

#[test]
fn json_output_of_lines() {
    let output = podmortem_log(&[
        "-o",
        "json",
        &case("09-exit127-command-not-found.previous.log"),
    ]);
    let parsed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();

    assert!(output.status.success());
    assert_eq!(parsed.as_array().map(Vec::len), Some(4));
    insta::assert_snapshot!(stdout(&output));
}

#[test]
fn stream_filter_keeps_stderr() {
    let output = podmortem_log(&[
        "--stream",
        "stderr",
        &case("09-exit127-command-not-found.previous.log"),
    ]);

    assert!(output.status.success());
    assert_eq!(
        stdout(&output),
        "/entrypoint.sh: line 51: exec: : not found\n"
    );
}

#[test]
fn empty_log_prints_nothing() {
    let output = podmortem_log(&["-o", "json", &case("05-exit139-segfault.previous.log")]);

    assert!(output.status.success());
    assert_eq!(stdout(&output), "[]\n");
}

fn app_dir(root: &Path) -> PathBuf {
    root.join("var/log/pods/shop_app-1-6d4cf56db6-abcde_47f1c77c-3904-55bd-bfa1-eceeeefb59e2/app")
}

#[test]
fn folder_prints_each_instance() {
    let root = common::node_case("24-rotated-logs");
    let dir = app_dir(root.path());
    let output = podmortem_log(&["--tail", "2", dir.to_str().unwrap()]);

    assert!(output.status.success());
    insta::assert_snapshot!(without_temp(&stdout(&output), root.path()));
}

#[test]
fn rotated_paths_in_any_order() {
    let root = common::node_case("24-rotated-logs");
    let dir = app_dir(root.path());
    let paths: Vec<String> = ["0.log", "0.log.20250626-113023", "0.log.20250626-101500.gz"]
        .iter()
        .map(|name| dir.join(name).display().to_string())
        .collect();
    let args: Vec<&str> = paths.iter().map(String::as_str).collect();
    let output = podmortem_log(&args);
    let text = stdout(&output);

    assert!(output.status.success());
    assert!(
        text.lines()
            .next()
            .is_some_and(|line| line.starts_with("I0626 10:")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|line| line.len() > 18000 && !line.contains('\u{fffd}'))
    );
    assert!(
        text.lines()
            .last()
            .is_some_and(|line| line.starts_with("F0626 11:31:40"))
    );
}

#[test]
fn missing_path_fails_but_prints_rest() {
    let temp = tempfile::tempdir().unwrap();
    let missing = temp.path().join("absent.log");
    let output = podmortem_log(&[
        missing.to_str().unwrap(),
        &case("09-exit127-command-not-found.previous.log"),
    ]);
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output).lines().count(), 4);
    insta::assert_snapshot!(without_temp(&stderr, temp.path()));
}

#[test]
fn control_characters_are_escaped() {
    let temp = tempfile::tempdir().unwrap();
    let path = temp.path().join("0.log");
    std::fs::write(
        &path,
        b"2024-03-01T10:00:00Z stdout F \x1b[31mred\x07 \xff\n",
    )
    .unwrap();
    let output = podmortem_log(&[path.to_str().unwrap()]);

    assert!(output.status.success());
    assert_eq!(stdout(&output), "\\x1b[31mred\\x07 \u{fffd}\n");
}

#[test]
fn not_a_log_is_an_error() {
    let temp = tempfile::tempdir().unwrap();
    let path = temp.path().join("notes.txt");
    std::fs::write(&path, b"just some text\n").unwrap();
    let output = podmortem_log(&[path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert_eq!(output.status.code(), Some(1));
    insta::assert_snapshot!(without_temp(&stderr, temp.path()));
}

#[test]
fn truncated_docker_line_warns() {
    let temp = tempfile::tempdir().unwrap();
    let path = temp.path().join("0.log");
    let bytes = concat!(
        r#"{"log":"done\n","stream":"stdout","time":"2024-03-01T10:00:00Z"}"#,
        "\n",
        r#"{"log":"cu"#
    );
    std::fs::write(&path, bytes).unwrap();
    let output = podmortem_log(&[path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert!(output.status.success());
    assert_eq!(stdout(&output), "done\n");
    insta::assert_snapshot!(without_temp(&stderr, temp.path()));
}

#[test]
fn damaged_gzip_fails_but_prints_rest() {
    use std::io::Write;
    let temp = tempfile::tempdir().unwrap();
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for index in 0..20_000 {
        writeln!(
            encoder,
            "2024-03-01T09:00:00Z stdout F old {index} {:x}",
            index * 7919
        )
        .unwrap();
    }
    let mut gzip = encoder.finish().unwrap();
    gzip.truncate(gzip.len() / 2);
    std::fs::write(temp.path().join("0.log.20250101-000000.gz"), gzip).unwrap();
    std::fs::write(
        temp.path().join("0.log"),
        b"2024-03-01T10:00:00Z stdout F newest\n",
    )
    .unwrap();

    let output = podmortem_log(&[temp.path().to_str().unwrap()]);
    let text = stdout(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);

    assert_eq!(output.status.code(), Some(1));
    assert!(
        text.starts_with("old 0 0\n"),
        "{}",
        &text[..text.len().min(200)]
    );
    assert!(text.ends_with("newest\n"));
    assert!(stderr.contains("invalid gzip data"), "{stderr}");
}

#[test]
fn closed_pipe_is_success() {
    use std::io::Read;
    let temp = tempfile::tempdir().unwrap();
    let path = temp.path().join("0.log");
    let line = "2024-03-01T10:00:00Z stdout F a line long enough to fill the pipe quickly\n";
    std::fs::write(&path, line.repeat(200_000)).unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_podmortem"))
        .arg("log")
        .arg(&path)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 64];
    child.stdout.take().unwrap().read_exact(&mut first).unwrap();
    let output = child.wait_with_output().unwrap();

    assert!(first.starts_with(b"a line long enough"));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.stderr.is_empty());
}
