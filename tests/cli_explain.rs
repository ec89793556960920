//! Snapshots of `podmortem explain` output and errors, run through the built binary.

use std::process::Command;

/// Runs `podmortem explain` with `args` and returns its exit status, stdout and stderr.
fn explain(args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_podmortem"))
        .arg("explain")
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run the podmortem binary");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn explain_ok(args: &[&str]) -> String {
    let (success, stdout, stderr) = explain(args);
    assert!(success, "`explain {}` failed: {stderr}", args.join(" "));
    assert_eq!(stderr, "", "`explain {}` wrote to stderr", args.join(" "));
    stdout
}

#[test]
fn sigkill_exit_code_text() {
    insta::assert_snapshot!(explain_ok(&["137"]));
}

#[test]
fn sigterm_exit_code_text() {
    insta::assert_snapshot!(explain_ok(&["143"]));
}

#[test]
fn shell_codes_126_and_127() {
    insta::assert_snapshot!("code_126", explain_ok(&["126"]));
    insta::assert_snapshot!("code_127", explain_ok(&["127"]));
}

#[test]
fn containerd_start_code_128() {
    insta::assert_snapshot!(explain_ok(&["128"]));
}

#[test]
fn fatal_exit_code_255() {
    insta::assert_snapshot!(explain_ok(&["255"]));
}

#[test]
fn negative_one_exit_code() {
    insta::assert_snapshot!(explain_ok(&["-1"]));
}

#[test]
fn ntstatus_forms_agree() {
    let decimal = explain_ok(&["3221225477"]);
    let negative = explain_ok(&["-1073741819"]);
    let hex = explain_ok(&["0xC0000005"]);
    assert_eq!(
        decimal.lines().skip(1).collect::<Vec<_>>(),
        hex.lines().skip(1).collect::<Vec<_>>()
    );
    assert_eq!(
        negative.lines().skip(1).collect::<Vec<_>>(),
        hex.lines().skip(1).collect::<Vec<_>>()
    );
    insta::assert_snapshot!(hex);
}

#[test]
fn signal_name_as_code() {
    let by_name = explain_ok(&["SIGSEGV"]);
    assert_eq!(by_name, explain_ok(&["139"]));
    insta::assert_snapshot!(by_name);
}

#[test]
fn reason_oom_killed_text() {
    insta::assert_snapshot!(explain_ok(&["--reason", "OOMKilled"]));
}

#[test]
fn code_and_reason_together() {
    insta::assert_snapshot!(explain_ok(&["137", "--reason", "ContainerStatusUnknown"]));
}

#[test]
fn exit_code_json_output() {
    let output = explain_ok(&["137", "-o", "json"]);
    let value: serde_json::Value = serde_json::from_str(&output).unwrap();
    assert_eq!(value["exit_code"]["signal"]["name"], "SIGKILL");
    assert_eq!(value["exit_code"]["kind"], "killed");
    insta::assert_snapshot!(output);
}

#[test]
fn ntstatus_json_uses_hex() {
    let output = explain_ok(&["3221226505", "-o", "json"]);
    let value: serde_json::Value = serde_json::from_str(&output).unwrap();
    assert_eq!(value["exit_code"]["ntstatus"]["value"], "0xC0000409");
    assert_eq!(
        value["exit_code"]["ntstatus"]["name"],
        "STATUS_STACK_BUFFER_OVERRUN"
    );
}

#[test]
fn reason_json_output() {
    insta::assert_snapshot!(explain_ok(&["--reason", "Evicted", "-o", "json"]));
}

#[test]
fn every_listed_reason_explains() {
    let names = [
        "OOMKilled",
        "Error",
        "Completed",
        "ContainerCannotRun",
        "StartError",
        "ContainerStatusUnknown",
        "Evicted",
        "DeadlineExceeded",
        "Preempting",
        "CrashLoopBackOff",
    ];
    for name in names {
        let output = explain_ok(&["--reason", name]);
        assert!(
            output.starts_with(&format!("reason {name}\n")),
            "{name}: {output}"
        );
    }
}

#[test]
fn invalid_code_is_an_error() {
    let (success, stdout, stderr) = explain(&["twelve"]);
    assert!(!success);
    assert_eq!(stdout, "");
    insta::assert_snapshot!(stderr);
}

#[test]
fn unknown_reason_is_an_error() {
    let (success, stdout, stderr) = explain(&["--reason", "NoSuchReason"]);
    assert!(!success);
    assert_eq!(stdout, "");
    assert!(
        stderr.starts_with("error: unknown reason `NoSuchReason`: known reasons are OOMKilled,"),
        "{stderr}"
    );
}

#[test]
fn missing_code_and_reason() {
    let (success, _, stderr) = explain(&[]);
    assert!(!success);
    assert!(stderr.contains("<CODE>"), "{stderr}");
}
