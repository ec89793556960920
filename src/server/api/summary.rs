//! The body of `GET /api/v1/summary`, built from the store's counts by namespace, cause, time
//! bucket and workload.

use std::collections::{BTreeMap, HashMap};

use jiff::Timestamp;
use serde::Serialize;

use crate::store::SummaryCount;

/// Maximum number of entries in `top_workloads`.
pub const TOP_WORKLOADS: usize = 10;

/// Seconds in one hour, the bucket of `by_hour`.
const HOUR_SECONDS: i64 = 3600;

/// Counts of the records in a window.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Summary {
    pub since: Timestamp,
    pub until: Option<Timestamp>,
    pub total: u64,
    pub by_cause: BTreeMap<String, u64>,
    pub by_namespace: BTreeMap<String, u64>,
    /// Counts by the start of each UTC hour, RFC 3339.
    pub by_hour: BTreeMap<String, u64>,
    /// Counts by the start of each UTC hour, then by cause.
    pub by_hour_and_cause: BTreeMap<String, BTreeMap<String, u64>>,
    /// Length of the buckets of `by_bucket_and_cause`, in seconds: the `bucket` parameter.
    pub bucket_seconds: u32,
    /// Counts by the start of each bucket (RFC 3339, UTC), then by cause.
    pub by_bucket_and_cause: BTreeMap<String, BTreeMap<String, u64>>,
    /// The workloads with the highest counts, highest first, and on equal counts the one with
    /// the latest record first.
    pub top_workloads: Vec<WorkloadCount>,
}

/// The records of one workload, as [`Termination::counted_workload`] names it: the
/// Deployment or CronJob above the pod's owner when the record names it, else the owner, else
/// the pod itself with kind `Pod`.
///
/// [`Termination::counted_workload`]: crate::model::Termination::counted_workload
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WorkloadCount {
    pub namespace: String,
    pub kind: String,
    pub name: String,
    pub count: u64,
    pub last_at: Timestamp,
    pub by_cause: BTreeMap<String, u64>,
}

/// Sums `counts` into the summary of the window from `since` to `until`.
/// `counts` come in buckets of `count_seconds`, which divides an hour; `bucket_seconds` is a
/// whole multiple of it.
pub fn summarize(
    since: Timestamp,
    until: Option<Timestamp>,
    count_seconds: u32,
    bucket_seconds: u32,
    counts: Vec<SummaryCount>,
) -> Summary {
    let mut total = 0;
    let mut by_cause = BTreeMap::new();
    let mut by_namespace = BTreeMap::new();
    let mut by_hour_and_cause: BTreeMap<i64, BTreeMap<String, u64>> = BTreeMap::new();
    let mut by_bucket_and_cause: BTreeMap<i64, BTreeMap<String, u64>> = BTreeMap::new();
    let floor = |second: i64, width: u32| {
        let width = i64::from(width.max(1));
        second.div_euclid(width) * width
    };
    debug_assert!(bucket_seconds.is_multiple_of(count_seconds.max(1)));
    let mut workloads: HashMap<(String, String, String), WorkloadCount> = HashMap::new();

    for row in counts {
        total += row.count;
        *by_cause.entry(row.cause.clone()).or_default() += row.count;
        *by_namespace.entry(row.namespace.clone()).or_default() += row.count;
        *by_hour_and_cause
            .entry(floor(row.bucket_start_second, HOUR_SECONDS as u32))
            .or_default()
            .entry(row.cause.clone())
            .or_default() += row.count;
        *by_bucket_and_cause
            .entry(floor(row.bucket_start_second, bucket_seconds))
            .or_default()
            .entry(row.cause.clone())
            .or_default() += row.count;

        let last_at = Timestamp::from_microsecond(row.last_sort_at).unwrap_or(Timestamp::MIN);
        let key = (row.namespace, row.workload_kind, row.workload_name);
        let workload = workloads
            .entry(key)
            .or_insert_with_key(|(namespace, kind, name)| WorkloadCount {
                namespace: namespace.clone(),
                kind: kind.clone(),
                name: name.clone(),
                count: 0,
                last_at,
                by_cause: BTreeMap::new(),
            });
        workload.count += row.count;
        workload.last_at = workload.last_at.max(last_at);
        *workload.by_cause.entry(row.cause).or_default() += row.count;
    }

    let mut by_hour = BTreeMap::new();
    let mut by_hour_and_cause_text = BTreeMap::new();
    for (second, causes) in by_hour_and_cause {
        let hour = time_text(second);
        by_hour.insert(hour.clone(), causes.values().sum());
        by_hour_and_cause_text.insert(hour, causes);
    }

    let by_bucket_and_cause = by_bucket_and_cause
        .into_iter()
        .map(|(second, causes)| (time_text(second), causes))
        .collect();

    Summary {
        since,
        until,
        total,
        by_cause,
        by_namespace,
        by_hour,
        by_hour_and_cause: by_hour_and_cause_text,
        bucket_seconds,
        by_bucket_and_cause,
        top_workloads: top_workloads(workloads.into_values().collect()),
    }
}

/// Keeps the [`TOP_WORKLOADS`] workloads with the highest count. Ties go to the most recent
/// record, then to namespace, kind and name, so equal counts always list in the same order.
fn top_workloads(mut workloads: Vec<WorkloadCount>) -> Vec<WorkloadCount> {
    workloads.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then(b.last_at.cmp(&a.last_at))
            .then_with(|| (&a.namespace, &a.kind, &a.name).cmp(&(&b.namespace, &b.kind, &b.name)))
    });
    workloads.truncate(TOP_WORKLOADS);
    workloads
}

/// Formats a time in seconds since the Unix epoch as RFC 3339 in UTC.
fn time_text(second: i64) -> String {
    Timestamp::from_second(second)
        .map(|time| time.to_string())
        .unwrap_or_default()
}
