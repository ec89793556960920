//! The SQLite engine of the store: one file, safe for one writer and many readers at once.
//!
//! Layout: one row per record in `termination`, with the full record as JSON in `record` and
//! copies of the filtered fields in their own indexed columns. Events stay inside the JSON
//! rather than in a child table, because nothing queries events apart from their record.
//! Every read of records needs the whole record anyway (counts read only the columns), and a
//! child table would add a join to every read and a delete-and-insert of the events to every
//! merge.
//!
//! Times are stored as microseconds since the Unix epoch, so filters and ordering compare
//! times at microsecond precision. Kubernetes reports container times in whole seconds and
//! event times in microseconds, so no real input is affected.
//!
//! The schema version is SQLite's `PRAGMA user_version`. [`MIGRATIONS`] lists the ordered
//! steps from an empty file to the current schema, and each step runs in its own transaction
//! together with the version bump. A file with a version above [`SCHEMA_VERSION`] was written
//! by a newer podmortem and is rejected rather than misread.
//!
//! The file runs in WAL mode, so readers (`podmortem list`) never block the writer
//! (`podmortem watch`) or the other way round, and with a busy timeout so that two writers
//! wait for each other instead of failing. `synchronous = NORMAL` in WAL mode keeps the file
//! consistent after a crash, but a power loss may drop the last committed transactions
//! (SQLite documentation, "PRAGMA synchronous").

mod counts;

use std::path::{Path, PathBuf};
use std::time::Duration;

use jiff::Timestamp;
use rusqlite::types::Value;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};

use super::{Error, Filter, SqliteError, Store, UpsertSummary};
use crate::merge::merge_into;
use crate::model::Termination;

/// The ordered schema migrations: step `n` (from 0) brings a file from version `n` to `n + 1`.
const MIGRATIONS: &[&str] = &[
    // Version 1: records with their filter columns. `sort_at` is `Termination::occurred_at`:
    // `finished_at`, or the best time the record has when the finish time is unknown. The rowid `seq` breaks ties in the order
    // and is the implicit last column of every index, so `ORDER BY sort_at, seq` needs no sort
    // when the filter fixes every column before `sort_at`. A filter on `container` alone has
    // no index of its own and scans in time order.
    "CREATE TABLE termination (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        namespace TEXT NOT NULL,
        pod TEXT NOT NULL,
        container TEXT NOT NULL,
        cause_kind TEXT NOT NULL,
        expected INTEGER NOT NULL,
        finished_at INTEGER,
        observed_at INTEGER NOT NULL,
        sort_at INTEGER NOT NULL,
        record TEXT NOT NULL
    );
    CREATE INDEX termination_sort_at ON termination (sort_at);
    CREATE INDEX termination_expected ON termination (expected, sort_at);
    CREATE INDEX termination_namespace ON termination (namespace, sort_at);
    CREATE INDEX termination_namespace_cause ON termination (namespace, cause_kind, sort_at);
    CREATE INDEX termination_namespace_pod ON termination (namespace, pod, container, sort_at);
    CREATE INDEX termination_pod ON termination (pod, container, sort_at);
    CREATE INDEX termination_cause ON termination (cause_kind, sort_at);",
    // Version 2: the columns that `podmortem serve` counts and filters by, copied from the
    // stored JSON of existing rows. `workload_kind` and `workload_name` hold
    // `Termination::counted_workload`; rows written before records had a `workload` use their
    // owner, or the pod with kind `Pod`. `termination_count` starts with `sort_at`, so a
    // count over a time window reads one range of this index, and it contains every counted
    // column, so counting never reads the table's rows with their JSON.
    "ALTER TABLE termination ADD COLUMN container_kind TEXT NOT NULL DEFAULT 'regular';
    ALTER TABLE termination ADD COLUMN workload_kind TEXT NOT NULL DEFAULT 'Pod';
    ALTER TABLE termination ADD COLUMN workload_name TEXT NOT NULL DEFAULT '';
    UPDATE termination SET
        container_kind = COALESCE(json_extract(record, '$.container_kind'), container_kind),
        workload_kind = CASE WHEN COALESCE(json_extract(record, '$.owner.name'), '') = ''
            THEN 'Pod' ELSE json_extract(record, '$.owner.kind') END,
        workload_name = CASE WHEN COALESCE(json_extract(record, '$.owner.name'), '') = ''
            THEN pod ELSE json_extract(record, '$.owner.name') END;
    CREATE INDEX termination_count ON termination
        (sort_at, expected, namespace, cause_kind, container_kind, workload_kind, workload_name,
         pod);
    CREATE INDEX termination_workload ON termination
        (workload_kind, workload_name, namespace, sort_at);",
    // Version 3: records stored before `Termination::workload` existed lack the key, where a
    // fresh encoding writes `"workload":null`. API pages send the stored text unchanged, so
    // the key is added here. `json_set` appends it after the last key rather than after
    // `owner`, which leaves the JSON value equal but not the bytes.
    "UPDATE termination SET record = json_set(record, '$.workload', NULL)
        WHERE json_type(record, '$.workload') IS NULL;",
];

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// How long a connection waits for another process's lock before failing with `database is
/// locked`. A batch of 10,000 records took between 1 and 3 s to commit on a loaded 2-core
/// machine (`benches/store.rs`).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Page size of new files. A record's JSON is a few KiB (most of it the log tail), so the
/// default 4 KiB pages would hold one record each and spill longer ones into overflow pages.
const PAGE_SIZE: i64 = 16 * 1024;

/// Page cache per connection, as SQLite's negative `cache_size` (KiB). The default of 2 MiB
/// cannot hold the id index of a million records (an estimated 50 MiB), so upserts of new
/// records into a large store would read index pages back from the OS on every insert.
const CACHE_SIZE_KIB: i64 = -64 * 1024;

const COLUMNS: &str = "id, namespace, pod, container, cause_kind, expected, finished_at, \
                       observed_at, sort_at, record, container_kind, workload_kind, workload_name";

/// A store in one SQLite file.
#[derive(Debug)]
pub struct SqliteStore {
    connection: Connection,
    path: PathBuf,
    /// True when the file was opened as an immutable snapshot, for lack of write access.
    immutable: bool,
}

impl SqliteStore {
    /// Opens the database at `path`, creating the file and its parent folders when missing,
    /// and migrates it to the current schema.
    pub fn open(path: &Path) -> Result<Self, Error> {
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            fs_err::create_dir_all(parent)?;
        }

        let connection = Connection::open(path).map_err(sqlite_error(path, "open the database"))?;
        Self::prepare(connection, path)
    }

    /// Opens an existing database at `path` and migrates it to the current schema. A missing
    /// file is [`Error::Missing`], so readers never leave an empty database behind.
    pub fn open_existing(path: &Path) -> Result<Self, Error> {
        if !fs_err::exists(path)? {
            return Err(Error::Missing {
                path: path.to_owned(),
            });
        }
        // An empty file is a valid empty SQLite database, and opening it would write a schema
        // into a file that no podmortem command created.
        if fs_err::metadata(path)?.len() == 0 {
            return Err(Error::EmptyFile {
                path: path.to_owned(),
            });
        }

        // Readers open the file read-write, because a WAL database needs its `-shm` and `-wal`
        // files next to it. Without write access the file is opened as immutable instead.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let opened = Connection::open_with_flags(path, flags)
            .map_err(sqlite_error(path, "open the database"))
            .and_then(|connection| Self::prepare(connection, path));
        match opened {
            Ok(store) => Ok(store),
            Err(error) => Self::open_immutable(path).ok_or(error),
        }
    }

    /// Opens `path` read-only as an immutable file (SQLite's `immutable=1` URI parameter),
    /// which needs no `-wal` or `-shm` file and no lock. Returns `None` when that fails too,
    /// or when the file needs a migration, which needs write access.
    ///
    /// NOTE: SQLite then assumes that nothing changes the file, so a database that another
    /// process is writing may read inconsistently. This is meant for copies and read-only
    /// volumes.
    fn open_immutable(path: &Path) -> Option<Self> {
        let uri = format!("file:{}?immutable=1", uri_path(path)?);
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let connection = Connection::open_with_flags(uri, flags).ok()?;
        let version = read_version(&connection, path).ok()?;
        (version == SCHEMA_VERSION).then(|| SqliteStore {
            connection,
            path: path.to_owned(),
            immutable: true,
        })
    }

    /// Returns whether the file was opened as an immutable snapshot because this process
    /// cannot write it. Changes that other processes make are then not seen.
    pub fn is_immutable(&self) -> bool {
        self.immutable
    }

    /// Returns the path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn prepare(connection: Connection, path: &Path) -> Result<Self, Error> {
        let mut store = SqliteStore {
            connection,
            path: path.to_owned(),
            immutable: false,
        };

        store
            .connection
            .busy_timeout(BUSY_TIMEOUT)
            .map_err(store.error("set the busy timeout"))?;
        // Takes effect only on a file without tables; SQLite ignores it afterwards.
        store
            .connection
            .pragma_update(None, "page_size", PAGE_SIZE)
            .map_err(store.error("set `page_size`"))?;
        store
            .connection
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get::<_, String>(0))
            .map_err(store.error(
                "switch to WAL mode (SQLite needs write access to the file and its folder even \
                 to read it, because of the `-wal` and `-shm` files beside it; check the \
                 permissions or copy the database to a writable folder)",
            ))?;
        store
            .connection
            .pragma_update(None, "synchronous", "NORMAL")
            .map_err(store.error("set `synchronous`"))?;
        store
            .connection
            .pragma_update(None, "cache_size", CACHE_SIZE_KIB)
            .map_err(store.error("set `cache_size`"))?;

        store.migrate()?;
        Ok(store)
    }

    /// Applies the migrations the file lacks. A file already at the current version needs
    /// no lock, so readers open it while a writer holds one. Otherwise the version is read
    /// again inside an immediate transaction, so two processes opening a new file at once
    /// migrate it only once.
    fn migrate(&mut self) -> Result<(), Error> {
        let version = read_version(&self.connection, &self.path)?;
        if version == SCHEMA_VERSION {
            return Ok(());
        }

        loop {
            let transaction = self
                .connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sqlite_error(&self.path, "start the migration"))?;
            let version = read_version(&transaction, &self.path)?;

            if version > SCHEMA_VERSION {
                return Err(Error::NewerSchema {
                    path: self.path.clone(),
                    found: version,
                    supported: SCHEMA_VERSION,
                });
            }
            if version == 0 && has_tables(&transaction, &self.path)? {
                return Err(Error::ForeignDatabase {
                    path: self.path.clone(),
                });
            }
            let Some(step) = MIGRATIONS.get(version as usize) else {
                return Ok(());
            };

            transaction
                .execute_batch(step)
                .map_err(sqlite_error(&self.path, "migrate the schema"))?;
            transaction
                .pragma_update(None, "user_version", version + 1)
                .map_err(sqlite_error(&self.path, "record the schema version"))?;
            transaction
                .commit()
                .map_err(sqlite_error(&self.path, "commit the migration"))?;
        }
    }

    fn error(&self, action: &'static str) -> impl FnOnce(rusqlite::Error) -> Error + use<> {
        sqlite_error(&self.path, action)
    }

    fn decode(&self, id: String, json: &str) -> Result<Termination, Error> {
        serde_json::from_str(json).map_err(|source| Error::Decode {
            path: self.path.clone(),
            id,
            source,
        })
    }

    fn query_records(&self, sql: &str, params: Vec<Value>) -> Result<Vec<Termination>, Error> {
        let mut statement = self
            .connection
            .prepare_cached(sql)
            .map_err(self.error("prepare a query"))?;
        let rows = statement
            .query_map(rusqlite::params_from_iter(params), |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })
            .map_err(self.error("query records"))?;

        let mut records = Vec::new();
        for row in rows {
            let (id, json) = row.map_err(self.error("read a record"))?;
            records.push(self.decode(id, &json)?);
        }
        Ok(records)
    }
}

impl Store for SqliteStore {
    fn upsert(&mut self, records: &[Termination]) -> Result<UpsertSummary, Error> {
        let path = self.path.clone();
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sqlite_error(&path, "start a write"))?;

        let summary = upsert_all(&transaction, &path, records)?;

        transaction
            .commit()
            .map_err(sqlite_error(&path, "commit the write"))?;
        Ok(summary)
    }

    fn query(&self, filter: &Filter) -> Result<Vec<Termination>, Error> {
        let (sql, params) = filter_sql(filter);
        self.query_records(&sql, params)
    }

    fn get(&self, id: &str) -> Result<Option<Termination>, Error> {
        let json: Option<String> = self
            .connection
            .prepare_cached("SELECT record FROM termination WHERE id = ?1")
            .and_then(|mut statement| statement.query_row([id], |row| row.get(0)).optional())
            .map_err(self.error("read a record"))?;

        json.map(|json| self.decode(id.to_owned(), &json))
            .transpose()
    }

    fn pod_history(
        &self,
        namespace: &str,
        pod: &str,
        container: Option<&str>,
    ) -> Result<Vec<Termination>, Error> {
        let filter = Filter {
            namespace: Some(namespace.to_owned()),
            pod: Some(pod.to_owned()),
            container: container.map(str::to_owned),
            include_expected: true,
            ..Filter::default()
        };
        self.query(&filter)
    }
}

/// Inserts or merges each record in turn, inside the caller's transaction. A record that
/// repeats an id earlier in the same batch merges into it like any stored record.
fn upsert_all(
    transaction: &rusqlite::Transaction<'_>,
    path: &Path,
    records: &[Termination],
) -> Result<UpsertSummary, Error> {
    let mut select = transaction
        .prepare_cached("SELECT record FROM termination WHERE id = ?1")
        .map_err(sqlite_error(path, "prepare a read"))?;
    let mut insert = transaction
        .prepare_cached(&format!(
            "INSERT INTO termination ({COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
        ))
        .map_err(sqlite_error(path, "prepare an insert"))?;
    let mut update = transaction
        .prepare_cached(
            "UPDATE termination SET namespace = ?2, pod = ?3, container = ?4, cause_kind = ?5, \
             expected = ?6, finished_at = ?7, observed_at = ?8, sort_at = ?9, record = ?10, \
             container_kind = ?11, workload_kind = ?12, workload_name = ?13 WHERE id = ?1",
        )
        .map_err(sqlite_error(path, "prepare an update"))?;

    let mut summary = UpsertSummary::default();
    for record in records {
        let stored: Option<String> = select
            .query_row([&record.id], |row| row.get(0))
            .optional()
            .map_err(sqlite_error(path, "read a stored record"))?;

        let Some(stored) = stored else {
            insert
                .execute(row_values(record)?)
                .map_err(sqlite_error(path, "insert a record"))?;
            summary.inserted += 1;
            continue;
        };

        let known: Termination = serde_json::from_str(&stored).map_err(|source| Error::Decode {
            path: path.to_owned(),
            id: record.id.clone(),
            source,
        })?;
        let mut merged = known.clone();
        merge_into(&mut merged, record);
        if merged == known {
            summary.unchanged += 1;
            continue;
        }

        update
            .execute(row_values(&merged)?)
            .map_err(sqlite_error(path, "update a record"))?;
        summary.updated += 1;
    }
    Ok(summary)
}

/// Returns the column values of a record, in the order of [`COLUMNS`].
fn row_values(record: &Termination) -> Result<[Value; 13], Error> {
    let json = serde_json::to_string(record).map_err(|source| Error::Encode {
        id: record.id.clone(),
        source,
    })?;
    let finished_at = record.finished_at.map(micros);
    let observed_at = micros(record.observed_at);
    let (workload_kind, workload_name) = record.counted_workload();

    Ok([
        Value::Text(record.id.clone()),
        Value::Text(record.namespace.clone()),
        Value::Text(record.pod.clone()),
        Value::Text(record.container.clone()),
        Value::Text(record.cause.kind.as_str().to_owned()),
        Value::Integer(i64::from(record.cause.expected)),
        finished_at.map_or(Value::Null, Value::Integer),
        Value::Integer(observed_at),
        Value::Integer(micros(record.occurred_at())),
        Value::Text(json),
        Value::Text(record.container_kind.as_str().to_owned()),
        Value::Text(workload_kind.to_owned()),
        Value::Text(workload_name.to_owned()),
    ])
}

/// Builds the `SELECT` for a filter, with its parameters in order.
fn filter_sql(filter: &Filter) -> (String, Vec<Value>) {
    filter_sql_of("id, record", filter)
}

/// Builds the `SELECT` of `columns` for a filter, newest first, with its parameters in order.
fn filter_sql_of(columns: &str, filter: &Filter) -> (String, Vec<Value>) {
    let mut sql = format!("SELECT {columns} FROM termination");
    sql.push_str(index_hint(filter));
    let mut params = Vec::new();
    push_conditions(&mut sql, &mut params, filter);

    // SQLite reads a negative LIMIT as no limit.
    let limit = filter
        .limit
        .map_or(-1, |limit| i64::try_from(limit).unwrap_or(i64::MAX));
    sql.push_str(" ORDER BY sort_at DESC, seq DESC LIMIT ?");
    params.push(Value::Integer(limit));
    (sql, params)
}

/// Appends the `WHERE` clause of a filter's conditions (all but its limit) to `sql`.
fn push_conditions(sql: &mut String, params: &mut Vec<Value>, filter: &Filter) {
    sql.push_str(" WHERE 1 = 1");
    let mut condition = |clause: &str, value: Value| {
        sql.push_str(" AND ");
        sql.push_str(clause);
        params.push(value);
    };

    if let Some(namespace) = &filter.namespace {
        condition("namespace = ?", Value::Text(namespace.clone()));
    }
    if let Some(pod) = &filter.pod {
        condition("pod = ?", Value::Text(pod.clone()));
    }
    if let Some(container) = &filter.container {
        condition("container = ?", Value::Text(container.clone()));
    }
    if let Some(cause) = filter.cause {
        condition("cause_kind = ?", Value::Text(cause.as_str().to_owned()));
    }
    if let Some(workload) = &filter.workload {
        condition("workload_kind = ?", Value::Text(workload.kind.clone()));
        condition("workload_name = ?", Value::Text(workload.name.clone()));
    }
    if let Some(since) = filter.since {
        condition("sort_at >= ?", Value::Integer(micros(since)));
    }
    if let Some(until) = filter.until {
        condition("sort_at <= ?", Value::Integer(micros(until)));
    }
    // `expected` has two values, so its index only helps the query with no narrower filter
    // (`podmortem list` as typed). Otherwise the unary `+` keeps SQLite's planner, which has
    // no statistics, from picking that index over a selective one.
    if !filter.include_expected {
        let narrowed = filter.namespace.is_some()
            || filter.pod.is_some()
            || filter.container.is_some()
            || filter.cause.is_some()
            || filter.workload.is_some();
        let clause = if narrowed {
            "+expected = ?"
        } else {
            "expected = ?"
        };
        condition(clause, Value::Integer(0));
    }
}

/// Returns the `INDEXED BY` clause for filters on a pod. Without statistics SQLite's planner
/// prefers the namespace index, because it returns rows already in time order, over the pod
/// index that returns a hundred rows to sort. On a million records that choice scanned the
/// whole namespace and took 390 ms in place of 3.5 ms (`benches/store.rs`, `pod_history`).
///
/// A workload filter uses the workload index for the same reason: the namespace index would
/// read every record of the namespace to find one workload's.
fn index_hint(filter: &Filter) -> &'static str {
    match (&filter.namespace, &filter.pod, &filter.workload) {
        (Some(_), Some(_), _) => " INDEXED BY termination_namespace_pod",
        (None, Some(_), _) => " INDEXED BY termination_pod",
        (_, None, Some(_)) => " INDEXED BY termination_workload",
        _ => "",
    }
}

/// Returns `path` as the path part of an SQLite file URI, with the characters that a URI
/// reserves percent-encoded, or `None` for a path that is not UTF-8.
fn uri_path(path: &Path) -> Option<String> {
    let absolute = std::path::absolute(path).ok()?;
    let text = absolute.to_str()?;
    let mut encoded = String::with_capacity(text.len());
    for char in text.chars() {
        match char {
            '%' | '?' | '#' => encoded.push_str(&format!("%{:02X}", u32::from(char))),
            _ => encoded.push(char),
        }
    }
    Some(encoded)
}

fn micros(time: Timestamp) -> i64 {
    time.as_microsecond()
}

fn read_version(connection: &Connection, path: &Path) -> Result<u32, Error> {
    let version: i64 = connection
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(sqlite_error(path, "read the schema version"))?;

    // `user_version` is a signed 32-bit field, so a negative value can only come from
    // another program and reads as newer than any podmortem schema.
    Ok(u32::try_from(version).unwrap_or(u32::MAX))
}

fn has_tables(connection: &Connection, path: &Path) -> Result<bool, Error> {
    connection
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%')",
            [],
            |row| row.get(0),
        )
        .map_err(sqlite_error(path, "read the schema"))
}

/// Returns a mapper from a SQLite error to [`Error`], turning "not a database" and
/// "malformed" into [`Error::NotADatabase`].
fn sqlite_error(
    path: &Path,
    action: &'static str,
) -> impl FnOnce(rusqlite::Error) -> Error + use<> {
    let path = path.to_owned();
    move |source| match source.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => Error::NotADatabase {
            path,
            source: SqliteError(source),
        },
        _ => Error::Sqlite {
            path,
            action,
            source: SqliteError(source),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::CauseKind;

    /// Returns SQLite's plan for the query of `filter`, one step per line.
    fn plan(filter: &Filter) -> String {
        let connection = Connection::open_in_memory().unwrap();
        for step in MIGRATIONS {
            connection.execute_batch(step).unwrap();
        }
        let (sql, params) = filter_sql(filter);
        let mut statement = connection
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap();
        let rows = statement
            .query_map(rusqlite::params_from_iter(params), |row| {
                row.get::<_, String>(3)
            })
            .unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join("\n")
    }

    /// Returns a record of an init container with an owner, and a record of another pod without
    /// an owner.
    fn owned_and_bare() -> (Termination, Termination) {
        use crate::model::{ContainerKind, InstanceKey, Owner, Source};

        let key = InstanceKey {
            namespace: "shop",
            pod: "api-0",
            pod_uid: "uid-0",
            container: "init-db",
            container_kind: ContainerKind::Init,
            restart_count: 0,
        };
        let mut owned = Termination::new(key, Source::Api, Timestamp::UNIX_EPOCH);
        owned.owner = Some(Owner {
            kind: "StatefulSet".into(),
            name: "api".into(),
        });
        let bare = Termination::new(
            InstanceKey {
                pod: "lonely",
                pod_uid: "uid-1",
                container_kind: ContainerKind::Regular,
                ..key
            },
            Source::Api,
            Timestamp::UNIX_EPOCH,
        );
        (owned, bare)
    }

    #[test]
    fn version_two_backfills_counted_columns() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("v1.db");
        let (owned, bare) = owned_and_bare();
        {
            let connection = Connection::open(&path).unwrap();
            connection.execute_batch(MIGRATIONS[0]).unwrap();
            connection.pragma_update(None, "user_version", 1).unwrap();
            for record in [&owned, &bare] {
                let values = row_values(record).unwrap();
                connection
                    .execute(
                        "INSERT INTO termination (id, namespace, pod, container, cause_kind, \
                         expected, finished_at, observed_at, sort_at, record) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                        rusqlite::params_from_iter(&values[..10]),
                    )
                    .unwrap();
            }
        }

        let store = SqliteStore::open(&path).unwrap();
        let mut statement = store
            .connection
            .prepare(
                "SELECT container_kind, workload_kind, workload_name FROM termination ORDER BY pod",
            )
            .unwrap();
        let rows: Vec<(String, String, String)> = statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(rows[0], ("init".into(), "StatefulSet".into(), "api".into()));
        assert_eq!(rows[1], ("regular".into(), "Pod".into(), "lonely".into()));
        assert_eq!(
            read_version(&store.connection, &path).unwrap(),
            SCHEMA_VERSION
        );
    }

    #[test]
    fn version_three_adds_missing_workload() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("v2.db");
        let (owned, _) = owned_and_bare();
        let mut values = row_values(&owned).unwrap();
        let Value::Text(json) = &values[9] else {
            panic!("column 10 is the record's JSON");
        };
        let without = json.replace("\"workload\":null,", "");
        assert_ne!(&without, json, "the fresh encoding writes `workload`");
        values[9] = Value::Text(without);
        {
            let connection = Connection::open(&path).unwrap();
            connection.execute_batch(MIGRATIONS[0]).unwrap();
            connection.execute_batch(MIGRATIONS[1]).unwrap();
            connection.pragma_update(None, "user_version", 2).unwrap();
            connection
                .execute(
                    &format!(
                        "INSERT INTO termination ({COLUMNS}) \
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
                    ),
                    rusqlite::params_from_iter(&values),
                )
                .unwrap();
        }

        let store = SqliteStore::open(&path).unwrap();
        let stored = store.query_json(&Filter::default()).unwrap();
        let stored: serde_json::Value = serde_json::from_str(&stored[0].json).unwrap();
        assert_eq!(stored, serde_json::to_value(&owned).unwrap());
        assert!(stored["workload"].is_null());
    }

    #[test]
    fn counts_read_only_the_count_index() {
        let connection = Connection::open_in_memory().unwrap();
        for step in MIGRATIONS {
            connection.execute_batch(step).unwrap();
        }
        let sql = "EXPLAIN QUERY PLAN SELECT namespace, cause_kind, container_kind, COUNT(*) \
                   FROM termination INDEXED BY termination_count \
                   GROUP BY namespace, cause_kind, container_kind";
        let plan: Vec<String> = connection
            .prepare(sql)
            .unwrap()
            .query_map([], |row| row.get(3))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let plan = plan.join("\n");
        assert!(plan.contains("COVERING INDEX termination_count"), "{plan}");
    }

    #[test]
    fn uri_path_encodes_reserved_characters() {
        let path = Path::new("/data/a?b#c%d é/podmortem.db");
        assert_eq!(
            uri_path(path).unwrap(),
            "/data/a%3Fb%23c%25d é/podmortem.db"
        );
    }

    #[test]
    fn filters_use_their_index() {
        let namespace = || Some("shop".to_owned());
        let cases = [
            (Filter::default(), "termination_expected"),
            (
                Filter {
                    include_expected: true,
                    ..Filter::default()
                },
                "termination_sort_at",
            ),
            (
                Filter {
                    namespace: namespace(),
                    ..Filter::default()
                },
                "termination_namespace ",
            ),
            (
                Filter {
                    namespace: namespace(),
                    cause: Some(CauseKind::OomKilled),
                    since: Some(Timestamp::UNIX_EPOCH),
                    ..Filter::default()
                },
                "termination_namespace_cause",
            ),
            (
                Filter {
                    namespace: namespace(),
                    pod: Some("api".into()),
                    ..Filter::default()
                },
                "termination_namespace_pod",
            ),
            (
                Filter {
                    namespace: namespace(),
                    workload: Some(crate::model::Owner {
                        kind: "Deployment".into(),
                        name: "api".into(),
                    }),
                    ..Filter::default()
                },
                "termination_workload",
            ),
            (
                Filter {
                    pod: Some("api".into()),
                    ..Filter::default()
                },
                "termination_pod",
            ),
            (
                Filter {
                    cause: Some(CauseKind::Crashed),
                    ..Filter::default()
                },
                "termination_cause",
            ),
        ];

        for (filter, index) in cases {
            let plan = plan(&filter);
            assert!(
                plan.contains(&format!("INDEX {index}")),
                "{filter:?}:\n{plan}"
            );
        }
    }
}
