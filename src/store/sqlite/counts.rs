//! Counting queries and reads of the stored JSON text, for `podmortem serve`. The counts read
//! only the columns of the `termination_count` index, and nothing here decodes a record.

use rusqlite::types::Value;

use super::{SqliteStore, filter_sql_of, push_conditions};
use crate::store::{Error, Filter, InstanceMark, StoredRecord, SummaryCount, TerminationCount};

impl SqliteStore {
    /// Counts every stored record, expected exits included, by namespace, cause and
    /// container kind.
    pub fn count_terminations(&self) -> Result<Vec<TerminationCount>, Error> {
        let mut statement = self
            .connection
            .prepare_cached(
                "SELECT namespace, cause_kind, container_kind, COUNT(*) \
                 FROM termination INDEXED BY termination_count \
                 GROUP BY namespace, cause_kind, container_kind",
            )
            .map_err(self.error("prepare a count"))?;
        let rows = statement
            .query_map([], |row| {
                Ok(TerminationCount {
                    namespace: row.get(0)?,
                    cause: row.get(1)?,
                    container_kind: row.get(2)?,
                    count: count_at(row, 3)?,
                })
            })
            .map_err(self.error("count records"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.error("read a count"))
    }

    /// Counts the records that match `filter` (its limit aside) by namespace, cause, time
    /// bucket and workload, as [`Termination::counted_workload`] names it. The buckets are
    /// `bucket_seconds` long, counted from the Unix epoch.
    ///
    /// [`Termination::counted_workload`]: crate::model::Termination::counted_workload
    pub fn count_summary(
        &self,
        filter: &Filter,
        bucket_seconds: u32,
    ) -> Result<Vec<SummaryCount>, Error> {
        let bucket_micros = i64::from(bucket_seconds.max(1)) * 1_000_000;
        let bucket_seconds = bucket_micros / 1_000_000;
        // `sort_at / bucket` truncates toward zero, so a time before 1970 subtracts one more
        // bucket to land on the start of its own bucket.
        let mut sql = format!(
            "SELECT namespace, cause_kind, \
                 (sort_at / {bucket_micros} - (sort_at % {bucket_micros} < 0)) * {bucket_seconds}, \
                 workload_kind, workload_name, \
                 COUNT(*), MAX(sort_at) \
             FROM termination INDEXED BY termination_count"
        );
        let mut params: Vec<Value> = Vec::new();
        push_conditions(&mut sql, &mut params, filter);
        sql.push_str(" GROUP BY 1, 2, 3, 4, 5");

        let mut statement = self
            .connection
            .prepare_cached(&sql)
            .map_err(self.error("prepare a count"))?;
        let rows = statement
            .query_map(rusqlite::params_from_iter(params), |row| {
                Ok(SummaryCount {
                    namespace: row.get(0)?,
                    cause: row.get(1)?,
                    bucket_start_second: row.get(2)?,
                    workload_kind: row.get(3)?,
                    workload_name: row.get(4)?,
                    count: count_at(row, 5)?,
                    last_sort_at: row.get(6)?,
                })
            })
            .map_err(self.error("count records"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.error("read a count"))
    }

    /// Returns the instance identity of every record of `namespace`, or of every namespace.
    ///
    /// SQLite reads the few fields out of the stored JSON itself (`json_extract`), so this
    /// costs a fraction of decoding every record.
    pub fn instance_marks(&self, namespace: Option<&str>) -> Result<Vec<InstanceMark>, Error> {
        let mut sql = "SELECT json_extract(record, '$.pod_uid'), container, \
                       json_extract(record, '$.restart_count'), \
                       json_extract(record, '$.container_id'), finished_at \
                       FROM termination"
            .to_owned();
        let mut params: Vec<Value> = Vec::new();
        if let Some(namespace) = namespace {
            sql.push_str(" WHERE namespace = ?");
            params.push(Value::Text(namespace.to_owned()));
        }
        let mut statement = self
            .connection
            .prepare_cached(&sql)
            .map_err(self.error("prepare a query"))?;
        let rows = statement
            .query_map(rusqlite::params_from_iter(params), |row| {
                let finished_at: Option<i64> = row.get(4)?;
                Ok(InstanceMark {
                    pod_uid: row.get::<_, Option<String>>(0)?.unwrap_or_default(),
                    container: row.get(1)?,
                    restart_count: row.get::<_, Option<u32>>(2)?.unwrap_or_default(),
                    container_id: row.get(3)?,
                    finished_at: finished_at
                        .and_then(|micros| jiff::Timestamp::from_microsecond(micros).ok()),
                })
            })
            .map_err(self.error("query records"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.error("read a record"))
    }

    /// Returns the records that match `filter` as their stored JSON text, in the order of
    /// [`Store::query`](crate::store::Store::query).
    ///
    /// NOTE: the text is only checked to start with `{` and end with `}`, because a full JSON
    /// check took about 45% of the time of a page (`benches/serve_load.rs`). A row that is
    /// damaged inside its braces is sent as it is, where [`Store::get`] would fail.
    ///
    /// [`Store::get`]: crate::store::Store::get
    pub fn query_json(&self, filter: &Filter) -> Result<Vec<StoredRecord>, Error> {
        let (sql, params) = filter_sql_of("sort_at, id, record", filter);
        let mut statement = self
            .connection
            .prepare_cached(&sql)
            .map_err(self.error("prepare a query"))?;
        let mut rows = statement
            .query(rusqlite::params_from_iter(params))
            .map_err(self.error("query records"))?;

        let mut records = Vec::new();
        while let Some(row) = rows.next().map_err(self.error("read a record"))? {
            let sort_at: i64 = row.get(0).map_err(self.error("read a record"))?;
            let id: String = row.get(1).map_err(self.error("read a record"))?;
            let text: String = row.get(2).map_err(self.error("read a record"))?;
            if !(text.starts_with('{') && text.ends_with('}')) {
                return Err(Error::Decode {
                    path: self.path.clone(),
                    id,
                    source: serde::de::Error::custom("the stored text is not a JSON object"),
                });
            }
            records.push(StoredRecord {
                sort_at,
                id,
                json: text,
            });
        }
        Ok(records)
    }
}

/// Reads a `COUNT(*)` column, which SQLite returns as a non-negative 64-bit integer.
fn count_at(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<u64> {
    let count: i64 = row.get(index)?;
    Ok(u64::try_from(count).unwrap_or(0))
}
