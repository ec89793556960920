//! The SQLite store on real database files in temporary folders.

mod store_fixtures;

use std::path::PathBuf;

use podmortem::model::{CauseKind, LogSource, Stream, Termination};
use podmortem::store::{
    Error, Filter, InstanceMark, SCHEMA_VERSION, SqliteStore, Store, UpsertSummary,
};
use store_fixtures::{all, line, time};

fn temp_db() -> (tempfile::TempDir, PathBuf) {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("podmortem.db");
    (folder, path)
}

fn filled_store() -> (tempfile::TempDir, SqliteStore) {
    let (folder, path) = temp_db();
    let mut store = SqliteStore::open(&path).unwrap();
    store.upsert(&all()).unwrap();
    (folder, store)
}

fn pods(records: &[Termination]) -> Vec<&str> {
    records.iter().map(|record| record.pod.as_str()).collect()
}

#[test]
fn full_record_round_trips() {
    let (_folder, path) = temp_db();
    let mut store = SqliteStore::open(&path).unwrap();
    let record = store_fixtures::oom_killed();

    store.upsert(std::slice::from_ref(&record)).unwrap();
    let stored = store.get(&record.id).unwrap();

    assert_eq!(stored, Some(record));
}

#[test]
fn every_fixture_field_is_set() {
    // The round trip above only proves something if the record sets every optional field.
    let json = serde_json::to_value(store_fixtures::oom_killed()).unwrap();
    let nulls: Vec<&String> = json
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, value)| value.is_null())
        .map(|(name, _)| name)
        .collect();
    assert!(nulls.is_empty(), "fields left null: {nulls:?}");
}

#[test]
fn get_unknown_id_returns_none() {
    let (_folder, store) = filled_store();
    assert_eq!(store.get("0123456789abcdef").unwrap(), None);
}

#[test]
fn same_records_twice_are_unchanged() {
    let (_folder, path) = temp_db();
    let mut store = SqliteStore::open(&path).unwrap();

    let first = store.upsert(&all()).unwrap();
    let second = store.upsert(&all()).unwrap();

    assert_eq!(
        first,
        UpsertSummary {
            inserted: 5,
            updated: 0,
            unchanged: 0
        }
    );
    assert_eq!(
        second,
        UpsertSummary {
            inserted: 0,
            updated: 0,
            unchanged: 5
        }
    );
    let stored = store
        .query(&Filter {
            include_expected: true,
            ..Filter::default()
        })
        .unwrap();
    assert_eq!(stored.len(), 5);
}

#[test]
fn richer_observation_updates_record() {
    let (_folder, path) = temp_db();
    let mut store = SqliteStore::open(&path).unwrap();
    let mut first = store_fixtures::segfault();
    first.log_tail = vec![line(
        "2024-02-07T11:40:30Z",
        Stream::Stderr,
        "Segmentation fault",
    )];
    first.log_source = Some(LogSource::TerminationMessage);
    first.node = None;
    first.events.clear();
    store.upsert(&[first]).unwrap();

    let mut richer = store_fixtures::segfault();
    richer.events = store_fixtures::liveness_kill().events;
    let summary = store.upsert(std::slice::from_ref(&richer)).unwrap();
    let stored = store.get(&richer.id).unwrap().unwrap();

    assert_eq!(
        summary,
        UpsertSummary {
            inserted: 0,
            updated: 1,
            unchanged: 0
        }
    );
    assert_eq!(stored.log_source, Some(LogSource::NodeFile));
    assert_eq!(stored.log_tail, richer.log_tail);
    assert_eq!(stored.node.as_deref(), Some("node-a"));
    assert_eq!(stored.events.len(), 2);
}

#[test]
fn repeated_id_in_one_batch_merges() {
    let (_folder, path) = temp_db();
    let mut store = SqliteStore::open(&path).unwrap();
    let mut bare = store_fixtures::liveness_kill();
    bare.events.clear();

    let summary = store
        .upsert(&[bare, store_fixtures::liveness_kill()])
        .unwrap();
    let stored = store
        .get(&store_fixtures::liveness_kill().id)
        .unwrap()
        .unwrap();

    assert_eq!(
        summary,
        UpsertSummary {
            inserted: 1,
            updated: 1,
            unchanged: 0
        }
    );
    assert_eq!(stored.events.len(), 2);
}

#[test]
fn each_filter_alone_and_combined() {
    let (_folder, store) = filled_store();
    let cases: Vec<(&str, Filter, Vec<&str>)> = vec![
        (
            "no filter",
            Filter::default(),
            vec![
                "api-7d9f8c6b5d-x2k4q",
                "cart-6f7b9d8c4-z9x8w",
                "web-5c8d7f9b6-qk2lm",
                "render-0",
            ],
        ),
        (
            "namespace",
            Filter {
                namespace: Some("shop".into()),
                ..Filter::default()
            },
            vec!["api-7d9f8c6b5d-x2k4q", "cart-6f7b9d8c4-z9x8w"],
        ),
        (
            "pod",
            Filter {
                pod: Some("render-0".into()),
                ..Filter::default()
            },
            vec!["render-0"],
        ),
        (
            "container",
            Filter {
                container: Some("web".into()),
                ..Filter::default()
            },
            vec!["web-5c8d7f9b6-qk2lm"],
        ),
        (
            "cause",
            Filter {
                cause: Some(CauseKind::Crashed),
                ..Filter::default()
            },
            vec!["render-0"],
        ),
        (
            "since, inclusive",
            Filter {
                since: Some(time("2024-02-07T13:59:09Z")),
                ..Filter::default()
            },
            vec![
                "api-7d9f8c6b5d-x2k4q",
                "cart-6f7b9d8c4-z9x8w",
                "web-5c8d7f9b6-qk2lm",
            ],
        ),
        (
            "until, inclusive",
            Filter {
                until: Some(time("2024-02-07T13:59:09Z")),
                ..Filter::default()
            },
            vec!["web-5c8d7f9b6-qk2lm", "render-0"],
        ),
        (
            "namespace and since and cause",
            Filter {
                namespace: Some("shop".into()),
                cause: Some(CauseKind::OomKilled),
                since: Some(time("2024-02-07T12:00:00Z")),
                ..Filter::default()
            },
            vec!["api-7d9f8c6b5d-x2k4q"],
        ),
        (
            "namespace and cause that do not meet",
            Filter {
                namespace: Some("web".into()),
                cause: Some(CauseKind::OomKilled),
                ..Filter::default()
            },
            vec![],
        ),
        (
            "since and until",
            Filter {
                since: Some(time("2024-02-07T11:00:00Z")),
                until: Some(time("2024-02-07T14:00:00Z")),
                ..Filter::default()
            },
            vec!["cart-6f7b9d8c4-z9x8w", "web-5c8d7f9b6-qk2lm", "render-0"],
        ),
        (
            "pod and container",
            Filter {
                pod: Some("web-5c8d7f9b6-qk2lm".into()),
                container: Some("sidecar".into()),
                ..Filter::default()
            },
            vec![],
        ),
    ];

    for (name, filter, expected) in cases {
        let records = store.query(&filter).unwrap();
        assert_eq!(pods(&records), expected, "filter: {name}");
    }
}

#[test]
fn expected_exits_hidden_by_default() {
    let (_folder, store) = filled_store();

    let hidden = store.query(&Filter::default()).unwrap();
    let shown = store
        .query(&Filter {
            include_expected: true,
            ..Filter::default()
        })
        .unwrap();

    assert!(!pods(&hidden).contains(&"report-28461330-7xk2p"));
    assert!(pods(&shown).contains(&"report-28461330-7xk2p"));
    assert_eq!(shown.len(), 5);
}

#[test]
fn limit_keeps_newest_records() {
    let (_folder, store) = filled_store();

    let records = store
        .query(&Filter {
            limit: Some(2),
            ..Filter::default()
        })
        .unwrap();
    let none = store
        .query(&Filter {
            limit: Some(0),
            ..Filter::default()
        })
        .unwrap();

    assert_eq!(
        pods(&records),
        ["api-7d9f8c6b5d-x2k4q", "cart-6f7b9d8c4-z9x8w"]
    );
    assert!(none.is_empty());
}

#[test]
fn order_falls_back_to_observed_at() {
    // The cart record has no finish time, so it sorts by its observed time. That is 14:00,
    // between the OOM kill (15:15) and the liveness kill (13:59).
    let (_folder, store) = filled_store();

    let records = store
        .query(&Filter {
            include_expected: true,
            ..Filter::default()
        })
        .unwrap();

    assert_eq!(
        pods(&records),
        [
            "api-7d9f8c6b5d-x2k4q",
            "cart-6f7b9d8c4-z9x8w",
            "web-5c8d7f9b6-qk2lm",
            "report-28461330-7xk2p",
            "render-0"
        ]
    );
}

#[test]
fn pod_history_includes_expected_exits() {
    let (_folder, path) = temp_db();
    let mut store = SqliteStore::open(&path).unwrap();
    let mut restarts = Vec::new();
    for restart in 0..3 {
        let mut record = store_fixtures::job_completed();
        record.restart_count = restart;
        record.id = format!("report-{restart}");
        record.finished_at =
            Some(time("2024-02-07T12:00:00Z") + jiff::SignedDuration::from_mins(restart.into()));
        restarts.push(record);
    }
    store.upsert(&restarts).unwrap();
    store.upsert(&all()).unwrap();

    let history = store
        .pod_history("batch", "report-28461330-7xk2p", None)
        .unwrap();
    let wrong_container = store
        .pod_history("batch", "report-28461330-7xk2p", Some("sidecar"))
        .unwrap();
    let wrong_namespace = store
        .pod_history("shop", "report-28461330-7xk2p", None)
        .unwrap();

    let numbers: Vec<u32> = history.iter().map(|record| record.restart_count).collect();
    assert_eq!(numbers, [0, 2, 1, 0]);
    assert!(wrong_container.is_empty());
    assert!(wrong_namespace.is_empty());
}

#[test]
fn reader_works_while_writer_holds_lock() {
    let (_folder, path) = temp_db();
    let mut store = SqliteStore::open(&path).unwrap();
    store.upsert(&[store_fixtures::segfault()]).unwrap();

    let writer = rusqlite::Connection::open(&path).unwrap();
    writer
        .execute_batch("BEGIN IMMEDIATE; DELETE FROM termination;")
        .unwrap();
    let reader = SqliteStore::open_existing(&path).unwrap();
    let seen = reader.query(&Filter::default()).unwrap();
    writer.execute_batch("COMMIT").unwrap();
    let after = reader.query(&Filter::default()).unwrap();

    assert_eq!(seen.len(), 1, "the reader sees the last committed state");
    assert!(after.is_empty(), "the reader sees the commit");
}

#[test]
fn second_writer_waits_for_lock() {
    let (_folder, path) = temp_db();
    let mut first = SqliteStore::open(&path).unwrap();
    let mut second = SqliteStore::open(&path).unwrap();

    let holder = rusqlite::Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        holder.execute_batch("COMMIT").unwrap();
    });
    let waited = second.upsert(&[store_fixtures::segfault()]);
    release.join().unwrap();
    first.upsert(&[store_fixtures::oom_killed()]).unwrap();

    assert_eq!(waited.unwrap().inserted, 1);
    assert_eq!(first.query(&Filter::default()).unwrap().len(), 2);
}

#[test]
fn database_uses_wal_mode() {
    let (_folder, path) = temp_db();
    drop(SqliteStore::open(&path).unwrap());

    let connection = rusqlite::Connection::open(&path).unwrap();
    let mode: String = connection
        .pragma_query_value(None, "journal_mode", |row| row.get(0))
        .unwrap();

    assert_eq!(mode, "wal");
}

#[test]
fn readers_reject_empty_file() {
    let (_folder, path) = temp_db();
    fs_err::write(&path, b"").unwrap();

    let error = SqliteStore::open_existing(&path).unwrap_err().to_string();

    assert!(error.contains("is an empty file"), "{error}");
    assert_eq!(fs_err::metadata(&path).unwrap().len(), 0);
}

#[test]
fn writers_migrate_empty_file() {
    let (_folder, path) = temp_db();
    fs_err::write(&path, b"").unwrap();

    let mut store = SqliteStore::open(&path).unwrap();
    store.upsert(&all()).unwrap();
    drop(store);

    let connection = rusqlite::Connection::open(&path).unwrap();
    let version: u32 = connection
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}

#[test]
fn reopening_keeps_records() {
    let (_folder, path) = temp_db();
    SqliteStore::open(&path).unwrap().upsert(&all()).unwrap();

    let store = SqliteStore::open(&path).unwrap();

    assert_eq!(store.query(&Filter::default()).unwrap().len(), 4);
}

#[test]
fn newer_schema_version_is_rejected() {
    let (_folder, path) = temp_db();
    drop(SqliteStore::open(&path).unwrap());
    let connection = rusqlite::Connection::open(&path).unwrap();
    connection
        .pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(connection);

    let error = SqliteStore::open(&path).unwrap_err();
    let message = error.to_string();

    assert!(matches!(error, Error::NewerSchema { .. }), "{error:?}");
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("upgrade podmortem"), "{message}");
}

#[test]
fn foreign_database_is_rejected() {
    let (_folder, path) = temp_db();
    let connection = rusqlite::Connection::open(&path).unwrap();
    connection
        .execute_batch("CREATE TABLE invoices (id INTEGER)")
        .unwrap();
    drop(connection);

    let error = SqliteStore::open(&path).unwrap_err();

    assert!(matches!(error, Error::ForeignDatabase { .. }), "{error:?}");
}

#[test]
fn corrupt_file_names_path_and_fix() {
    let (_folder, path) = temp_db();
    fs_err::write(&path, "this is a text file, not a database\n".repeat(200)).unwrap();

    let error = SqliteStore::open(&path).unwrap_err();
    let message = error.to_string();

    assert!(matches!(error, Error::NotADatabase { .. }), "{error:?}");
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("move it away"), "{message}");
}

#[test]
fn missing_file_is_not_created_by_readers() {
    let (_folder, path) = temp_db();

    let error = SqliteStore::open_existing(&path).unwrap_err();

    assert!(matches!(error, Error::Missing { .. }), "{error:?}");
    assert!(error.to_string().contains("podmortem analyze --store"));
    assert!(!path.exists());
}

#[test]
fn open_creates_parent_folders() {
    let folder = tempfile::tempdir().unwrap();
    let path = folder.path().join("a/b/podmortem.db");

    SqliteStore::open(&path).unwrap();

    assert!(path.is_file());
}

#[test]
fn untrusted_text_round_trips_unchanged() {
    let (_folder, path) = temp_db();
    let mut store = SqliteStore::open(&path).unwrap();
    let mut record = store_fixtures::segfault();
    let control = "\u{1b}[31mred\u{1b}[0m\r\n\0\u{7f}\u{202e}evil";
    let html = "<script>alert('x')</script>'; DROP TABLE termination; --";
    let long = "x".repeat(1024 * 1024);
    record.message = Some(control.into());
    record.cause.summary = html.into();
    record.log_tail = vec![
        line("2024-02-07T11:40:28Z", Stream::Stdout, control),
        line("2024-02-07T11:40:29Z", Stream::Stdout, html),
        line("2024-02-07T11:40:30Z", Stream::Stderr, &long),
    ];
    record.pod = format!("{html}\u{1b}");

    store.upsert(std::slice::from_ref(&record)).unwrap();
    let by_id = store.get(&record.id).unwrap();
    let by_pod = store
        .query(&Filter {
            pod: Some(record.pod.clone()),
            ..Filter::default()
        })
        .unwrap();

    assert_eq!(by_id.as_ref(), Some(&record));
    assert_eq!(by_pod, [record]);
}

#[test]
fn instance_marks_match_records() {
    let (_folder, path) = temp_db();
    let mut store = SqliteStore::open(&path).unwrap();
    let records = all();
    store.upsert(&records).unwrap();

    let mut marks = store.instance_marks(None).unwrap();
    let shop = store.instance_marks(Some("shop")).unwrap();

    let mut expected: Vec<InstanceMark> = records
        .iter()
        .map(|record| InstanceMark {
            pod_uid: record.pod_uid.clone(),
            container: record.container.clone(),
            restart_count: record.restart_count,
            container_id: record.container_id.clone(),
            finished_at: record.finished_at,
        })
        .collect();
    let key = |mark: &InstanceMark| (mark.pod_uid.clone(), mark.container.clone());
    marks.sort_by_key(key);
    expected.sort_by_key(key);
    assert_eq!(marks, expected);
    assert_eq!(shop.len(), 2);
    assert!(expected.iter().any(|mark| mark.container_id.is_some()));
    assert!(expected.iter().any(|mark| mark.finished_at.is_some()));
}
