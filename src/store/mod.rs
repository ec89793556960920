//! The store of records: one interface, an embedded SQLite engine.
//!
//! Writes are idempotent on [`Termination::id`]: upserting a record that is already stored
//! merges the two with [`crate::merge::merge_into`], so replaying the same input changes
//! nothing and a richer observation only adds facts.

mod sqlite;

use std::path::PathBuf;

use jiff::Timestamp;

use crate::model::{CauseKind, Owner, Termination};

pub use sqlite::{SCHEMA_VERSION, SqliteStore};

/// Conditions on the records a query returns. Every `None` matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    pub namespace: Option<String>,
    pub pod: Option<String>,
    pub container: Option<String>,
    pub cause: Option<CauseKind>,
    /// Only records of this workload, as [`Termination::counted_workload`] names it.
    ///
    /// [`Termination::counted_workload`]: crate::model::Termination::counted_workload
    pub workload: Option<Owner>,
    /// Only records whose [`Termination::occurred_at`](crate::model::Termination::occurred_at)
    /// is at or after this time.
    pub since: Option<Timestamp>,
    pub until: Option<Timestamp>,
    /// Include exits whose cause is `expected`.
    pub include_expected: bool,
    pub limit: Option<usize>,
}

/// The identity of one stored instance, enough for a watcher to tell new exits from recorded
/// ones without decoding whole records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceMark {
    pub pod_uid: String,
    pub container: String,
    pub restart_count: u32,
    pub container_id: Option<String>,
    pub finished_at: Option<Timestamp>,
}

/// Counts of what one [`Store::upsert`] did with its records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UpsertSummary {
    /// Records whose id was not stored before.
    pub inserted: usize,
    /// Stored records that the merge changed.
    pub updated: usize,
    /// Stored records that the merge left as they were.
    pub unchanged: usize,
}

/// The number of stored records with one namespace, cause and container kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminationCount {
    pub namespace: String,
    /// A [`CauseKind::as_str`] name.
    pub cause: String,
    /// A [`ContainerKind::as_str`](crate::model::ContainerKind::as_str) name.
    pub container_kind: String,
    pub count: u64,
}

/// The number of records with one namespace, cause, time bucket and workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SummaryCount {
    pub namespace: String,
    /// A [`CauseKind::as_str`] name.
    pub cause: String,
    /// Start of the time bucket of [`Termination::occurred_at`], in seconds since the Unix
    /// epoch.
    pub bucket_start_second: i64,
    /// The kind of [`Termination::counted_workload`](crate::model::Termination::counted_workload).
    pub workload_kind: String,
    /// The name of [`Termination::counted_workload`](crate::model::Termination::counted_workload).
    pub workload_name: String,
    pub count: u64,
    /// The latest [`Termination::occurred_at`] of these records, in microseconds since the
    /// Unix epoch.
    pub last_sort_at: i64,
}

/// One record as its stored JSON text, with the sort key and id read from their columns.
#[derive(Debug)]
pub struct StoredRecord {
    /// Microsecond of [`Termination::occurred_at`] since the Unix epoch.
    pub sort_at: i64,
    pub id: String,
    /// The JSON object as `serde_json::to_string` wrote it.
    pub json: String,
}

/// A durable collection of records, keyed by record id.
pub trait Store {
    /// Inserts new records and merges the others into the stored ones, all or nothing.
    fn upsert(&mut self, records: &[Termination]) -> Result<UpsertSummary, Error>;

    /// Returns the records that match `filter`, newest first by `finished_at`, falling back
    /// to `observed_at` when the finish time is unknown.
    fn query(&self, filter: &Filter) -> Result<Vec<Termination>, Error>;

    /// Returns the record with this id, if stored.
    fn get(&self, id: &str) -> Result<Option<Termination>, Error>;

    /// Returns every record of one pod (of one of its containers when `container` is given),
    /// expected exits included, newest first.
    fn pod_history(
        &self,
        namespace: &str,
        pod: &str,
        container: Option<&str>,
    ) -> Result<Vec<Termination>, Error>;
}

/// Errors of the store. Those about a database file name it first.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no database path: set `PODMORTEM_DB`, `XDG_DATA_HOME` or `HOME`, or pass `--db PATH`")]
    NoDefaultPath,

    #[error(
        "`{path}` does not exist: run `podmortem analyze --store` or `podmortem watch` first, \
         or pass the right file with `--db`"
    )]
    Missing { path: PathBuf },

    #[error(
        "database `{path}` is an empty file: store records into it first with `podmortem \
         analyze --store` or `podmortem watch`, or pass the right file with `--db`"
    )]
    EmptyFile { path: PathBuf },

    #[error(
        "`{path}` is not a SQLite database, or it is corrupt: move it away, or choose another \
         file with `--db` or `PODMORTEM_DB`"
    )]
    NotADatabase {
        path: PathBuf,
        #[source]
        source: SqliteError,
    },

    #[error(
        "`{path}` is a SQLite database of another program (it has tables but no podmortem \
         schema version): choose another file with `--db` or `PODMORTEM_DB`"
    )]
    ForeignDatabase { path: PathBuf },

    #[error(
        "`{path}` has schema version {found}, newer than version {supported} that this \
         podmortem reads: upgrade podmortem"
    )]
    NewerSchema {
        path: PathBuf,
        found: u32,
        supported: u32,
    },

    #[error("`{path}`: failed to {action}")]
    Sqlite {
        path: PathBuf,
        action: &'static str,
        #[source]
        source: SqliteError,
    },

    #[error("`{path}`: stored record `{id}` is not valid JSON of a record")]
    Decode {
        path: PathBuf,
        id: String,
        #[source]
        source: serde_json::Error,
    },

    #[error("record `{id}`: failed to encode as JSON")]
    Encode {
        id: String,
        #[source]
        source: serde_json::Error,
    },

    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// An error from SQLite, printed once. `rusqlite` errors report their SQLite code as a
/// source that repeats the message, so this wrapper hides it.
#[derive(Debug)]
pub struct SqliteError(pub rusqlite::Error);

impl std::fmt::Display for SqliteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SqliteError {}

/// Returns where the database lives when no `--db` is given: `$PODMORTEM_DB`, else
/// `$XDG_DATA_HOME/podmortem/podmortem.db`, else `$HOME/.local/share/podmortem/podmortem.db`.
/// Empty variables count as unset, as the XDG Base Directory Specification requires for
/// `XDG_DATA_HOME`.
pub fn default_db_path() -> Result<PathBuf, Error> {
    db_path_from(|name| std::env::var_os(name))
}

fn db_path_from(var: impl Fn(&str) -> Option<std::ffi::OsString>) -> Result<PathBuf, Error> {
    let set = |name: &str| var(name).filter(|value| !value.is_empty());

    if let Some(path) = set("PODMORTEM_DB") {
        return Ok(PathBuf::from(path));
    }
    if let Some(data_home) = set("XDG_DATA_HOME") {
        return Ok(PathBuf::from(data_home).join("podmortem/podmortem.db"));
    }
    if let Some(home) = set("HOME") {
        return Ok(PathBuf::from(home).join(".local/share/podmortem/podmortem.db"));
    }
    Err(Error::NoDefaultPath)
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;
    use std::path::Path;

    use super::*;

    fn path_with(vars: &[(&str, &str)]) -> Result<PathBuf, Error> {
        db_path_from(|name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| OsString::from(value))
        })
    }

    #[test]
    fn db_path_prefers_podmortem_db() {
        let path = path_with(&[("PODMORTEM_DB", "/x/a.db"), ("HOME", "/home/u")]).unwrap();
        assert_eq!(path, Path::new("/x/a.db"));
    }

    #[test]
    fn db_path_uses_xdg_data_home() {
        let path = path_with(&[("XDG_DATA_HOME", "/d"), ("HOME", "/home/u")]).unwrap();
        assert_eq!(path, Path::new("/d/podmortem/podmortem.db"));
    }

    #[test]
    fn db_path_falls_back_to_home() {
        let path = path_with(&[("XDG_DATA_HOME", ""), ("HOME", "/home/u")]).unwrap();
        assert_eq!(
            path,
            Path::new("/home/u/.local/share/podmortem/podmortem.db")
        );
    }

    #[test]
    fn db_path_without_any_variable_fails() {
        let error = path_with(&[]).unwrap_err();
        assert!(matches!(error, Error::NoDefaultPath));
    }
}
