//! `podmortem list` run as a built binary against a database filled through the library.

mod store_fixtures;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use podmortem::model::{CauseKind, Termination};
use podmortem::store::{SqliteStore, Store};

fn filled_db(records: &[Termination]) -> (tempfile::TempDir, PathBuf) {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("podmortem.db");
    SqliteStore::open(&path).unwrap().upsert(records).unwrap();
    (folder, path)
}

fn list(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_podmortem"))
        .arg("list")
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("PODMORTEM_DB")
        .output()
        .unwrap()
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

fn pods_of(json: &str) -> Vec<String> {
    let records: Vec<Termination> = serde_json::from_str(json).unwrap();
    records.into_iter().map(|record| record.pod).collect()
}

#[test]
fn table_lists_unexpected_exits() {
    let (_folder, db) = filled_db(&store_fixtures::all());
    let output = list(&db, &[]);
    insta::assert_snapshot!(stdout(&output));
}

#[test]
fn wide_table_adds_columns() {
    let (_folder, db) = filled_db(&store_fixtures::all());
    let output = list(&db, &["-o", "wide", "--all"]);
    insta::assert_snapshot!(stdout(&output));
}

#[test]
fn json_output_parses_back() {
    let records = store_fixtures::all();
    let (_folder, db) = filled_db(&records);

    let output = list(&db, &["-o", "json", "--all"]);
    let parsed: Vec<Termination> = serde_json::from_str(&stdout(&output)).unwrap();

    assert_eq!(parsed.len(), records.len());
    for record in &records {
        assert!(
            parsed.contains(record),
            "missing or changed: {}",
            record.pod
        );
    }
}

#[test]
fn yaml_output_parses_back() {
    let (_folder, db) = filled_db(&[store_fixtures::oom_killed()]);

    let output = list(&db, &["-o", "yaml"]);
    let parsed: Vec<Termination> = serde_yaml_ng::from_str(&stdout(&output)).unwrap();

    assert_eq!(parsed, [store_fixtures::oom_killed()]);
}

#[test]
fn filters_reach_the_store() {
    let (_folder, db) = filled_db(&store_fixtures::all());
    let cases: [(&[&str], &[&str]); 8] = [
        (
            &["-n", "shop"],
            &["api-7d9f8c6b5d-x2k4q", "cart-6f7b9d8c4-z9x8w"],
        ),
        (
            &["-A"],
            &[
                "api-7d9f8c6b5d-x2k4q",
                "cart-6f7b9d8c4-z9x8w",
                "web-5c8d7f9b6-qk2lm",
                "render-0",
            ],
        ),
        (&["--pod", "render-0"], &["render-0"]),
        (&["--container", "web"], &["web-5c8d7f9b6-qk2lm"]),
        (&["--cause", "liveness_probe"], &["web-5c8d7f9b6-qk2lm"]),
        (
            &["--since", "2024-02-07T14:00:00Z"],
            &["api-7d9f8c6b5d-x2k4q", "cart-6f7b9d8c4-z9x8w"],
        ),
        (&["--until", "2024-02-07T12:00:00Z"], &["render-0"]),
        (
            &["--all", "-n", "batch"],
            &["report-28461330-7xk2p", "render-0"],
        ),
    ];

    for (args, expected) in cases {
        let mut all_args = args.to_vec();
        all_args.extend(["-o", "json"]);
        let output = list(&db, &all_args);
        assert_eq!(pods_of(&stdout(&output)), expected, "args: {args:?}");
    }
}

#[test]
fn since_duration_counts_back_from_now() {
    let mut recent = store_fixtures::segfault();
    recent.finished_at = Some(jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1));
    let (_folder, db) = filled_db(&[recent, store_fixtures::oom_killed()]);

    let output = list(&db, &["--since", "2h", "-o", "json"]);

    assert_eq!(pods_of(&stdout(&output)), ["render-0"]);
}

#[test]
fn limit_notes_more_on_stderr() {
    let (_folder, db) = filled_db(&store_fixtures::all());

    let limited = list(&db, &["--limit", "2"]);
    let exact = list(&db, &["--limit", "4"]);

    assert_eq!(stdout(&limited).lines().count(), 3, "header and two rows");
    assert!(
        stderr(&limited).contains("newest 2 exits"),
        "{}",
        stderr(&limited)
    );
    assert_eq!(stdout(&exact).lines().count(), 5);
    assert!(stderr(&exact).is_empty(), "{}", stderr(&exact));
}

#[test]
fn empty_result_table_and_json() {
    let (_folder, db) = filled_db(&store_fixtures::all());

    let table = list(&db, &["-n", "nowhere"]);
    let json = list(&db, &["-n", "nowhere", "-o", "json"]);

    assert_eq!(stdout(&table), "");
    assert_eq!(stderr(&table).trim(), "No exits found.");
    assert_eq!(stdout(&json).trim(), "[]");
}

#[test]
fn unknown_cause_lists_valid_kinds() {
    let (_folder, db) = filled_db(&[]);

    let output = list(&db, &["--cause", "oom"]);
    let message = stderr(&output);

    assert!(!output.status.success());
    assert!(message.contains("oom"), "{message}");
    for kind in CauseKind::ALL {
        assert!(
            message.contains(kind.as_str()),
            "{kind} missing from: {message}"
        );
    }
}

#[test]
fn invalid_since_names_accepted_forms() {
    let (_folder, db) = filled_db(&[]);

    let output = list(&db, &["--since", "yesterday"]);
    let message = stderr(&output);

    assert!(!output.status.success());
    assert!(message.contains("`24h`"), "{message}");
    assert!(message.contains("RFC 3339"), "{message}");
}

#[test]
fn namespace_conflicts_with_all_namespaces() {
    let (_folder, db) = filled_db(&[]);
    let output = list(&db, &["-n", "shop", "-A"]);
    assert!(!output.status.success());
}

#[test]
fn missing_database_is_not_created() {
    let folder = tempfile::tempdir().unwrap();
    let db = folder.path().join("none.db");

    let output = list(&db, &[]);
    let message = stderr(&output);

    assert!(!output.status.success());
    assert!(message.contains("podmortem analyze --store"), "{message}");
    assert!(message.contains(&db.display().to_string()), "{message}");
    assert!(!db.exists());
}

#[test]
fn corrupt_database_is_an_error() {
    let folder = tempfile::tempdir().unwrap();
    let db = folder.path().join("broken.db");
    std::fs::write(&db, "not a database\n".repeat(100)).unwrap();

    let output = list(&db, &[]);
    let message = stderr(&output);

    assert!(!output.status.success());
    assert!(message.contains("is not a SQLite database"), "{message}");
}

#[test]
fn table_escapes_untrusted_text() {
    let mut record = store_fixtures::segfault();
    record.pod = "evil\u{1b}[2J\npod".into();
    record.cause.summary = "line one\nline two\u{202e}".into();
    let (_folder, db) = filled_db(&[record]);

    let output = list(&db, &["-o", "wide"]);
    let text = stdout(&output);

    assert!(!text.contains('\u{1b}'));
    assert!(!text.contains('\u{202e}'));
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains("evil\\u{1b}[2J\\npod"), "{text}");
}

#[test]
fn long_summary_is_cut_in_table() {
    let mut record = store_fixtures::segfault();
    record.cause.summary = "word ".repeat(100);
    let (_folder, db) = filled_db(&[record]);

    let table = stdout(&list(&db, &[]));
    let wide = stdout(&list(&db, &["-o", "wide"]));

    assert!(table.trim_end().ends_with('…'), "{table}");
    assert!(table.lines().all(|line| line.chars().count() < 200));
    assert!(wide.contains(&"word ".repeat(99)));
}

#[test]
fn overlong_names_are_cut() {
    let mut record = store_fixtures::segfault();
    record.pod = "p".repeat(10_000);
    let (_folder, db) = filled_db(&[record]);

    let table = stdout(&list(&db, &[]));
    let row = table.lines().nth(1).unwrap();

    assert!(row.contains(&format!("{}…", "p".repeat(252))), "{row}");
    assert!(!row.contains(&"p".repeat(253)));
}

#[test]
fn database_path_from_environment() {
    let (_folder, db) = filled_db(&store_fixtures::all());

    let output = Command::new(env!("CARGO_BIN_EXE_podmortem"))
        .args(["list", "-o", "json"])
        .env("PODMORTEM_DB", &db)
        .output()
        .unwrap();

    assert_eq!(pods_of(&stdout(&output)).len(), 4);
}

#[test]
fn database_path_from_xdg_data_home() {
    let folder = tempfile::tempdir().unwrap();
    let db = folder.path().join("podmortem/podmortem.db");
    SqliteStore::open(&db)
        .unwrap()
        .upsert(&store_fixtures::all())
        .unwrap();

    let output = Command::new(env!("CARGO_BIN_EXE_podmortem"))
        .args(["list", "-o", "json"])
        .env_remove("PODMORTEM_DB")
        .env("XDG_DATA_HOME", folder.path())
        .output()
        .unwrap();

    assert_eq!(pods_of(&stdout(&output)).len(), 4);
}

#[test]
fn workload_flag_filters_by_workload() {
    let (_folder, db) = filled_db(&store_fixtures::all());

    let deployment = list(&db, &["--workload", "Deployment/api", "-o", "json"]);
    let cron_job = list(
        &db,
        &["--workload", "CronJob/report", "--all", "-o", "json"],
    );

    assert_eq!(pods_of(&stdout(&deployment)), ["api-7d9f8c6b5d-x2k4q"]);
    assert_eq!(pods_of(&stdout(&cron_job)), ["report-28461330-7xk2p"]);
}

#[test]
fn workload_without_kind_is_rejected() {
    let (_folder, db) = filled_db(&store_fixtures::all());

    let output = list(&db, &["--workload", "api"]);

    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("KIND/NAME"), "{}", stderr(&output));
}

#[test]
fn empty_database_file_is_rejected() {
    let folder = tempfile::tempdir().unwrap();
    let db = folder.path().join("empty.db");
    std::fs::write(&db, "").unwrap();

    let output = list(&db, &[]);

    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("is an empty file"),
        "{}",
        stderr(&output)
    );
    assert_eq!(std::fs::metadata(&db).unwrap().len(), 0);
}

/// Runs the binary as user `nobody` when this test runs as root, so file permissions apply.
fn as_unprivileged(binary: &Path, args: &[&std::ffi::OsStr]) -> Output {
    let uid = Command::new("id").arg("-u").output().unwrap();
    let mut command = if String::from_utf8_lossy(&uid.stdout).trim() == "0" {
        let mut command = Command::new("setpriv");
        command.args(["--reuid=65534", "--regid=65534", "--clear-groups"]);
        command.arg(binary);
        command
    } else {
        Command::new(binary)
    };
    command
        .args(args)
        .env_remove("PODMORTEM_DB")
        .output()
        .unwrap()
}

#[test]
fn read_only_database_is_listed() {
    use std::os::unix::fs::PermissionsExt;

    let records = store_fixtures::all();
    let (folder, db) = filled_db(&records);
    // The binary is copied next to the database, because the build folder may not be
    // reachable for an unprivileged user.
    let binary = folder.path().join("podmortem");
    std::fs::copy(env!("CARGO_BIN_EXE_podmortem"), &binary).unwrap();
    let mode = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    mode(&binary, 0o755);
    mode(&db, 0o444);
    mode(folder.path(), 0o555);

    let output = as_unprivileged(
        &binary,
        &[
            "list".as_ref(),
            "--all".as_ref(),
            "-o".as_ref(),
            "json".as_ref(),
            "--db".as_ref(),
            db.as_os_str(),
        ],
    );
    let entries: Vec<String> = std::fs::read_dir(folder.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    mode(folder.path(), 0o755);

    assert_eq!(pods_of(&stdout(&output)).len(), records.len());
    assert!(
        stderr(&output).contains("immutable snapshot"),
        "{}",
        stderr(&output)
    );
    assert!(
        entries
            .iter()
            .all(|name| !name.ends_with("-wal") && !name.ends_with("-shm")),
        "{entries:?}"
    );
}
