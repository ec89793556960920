//! The JSON handlers of `/api/v1` and their query parameters.
//!
//! Records are sent in exactly the JSON form of [`Termination`]: pages copy the JSON text the
//! store wrote with `serde_json::to_string` without decoding it. Pages are ordered newest
//! first by the store's sort key, the microsecond of [`Termination::occurred_at`], and then
//! by id, so a cursor (that key of the last record sent) resumes without duplicates or gaps.

mod summary;

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};

use super::AppState;
use super::error::ApiError;
use super::openapi::{ErrorBody, ListQuery, PodQuery, SummaryQuery};
use crate::cli::common::{parse_time_bound, parse_workload};
use crate::model::{CauseKind, Termination};
use crate::store::{Filter, SqliteStore, Store, StoredRecord};
pub use summary::{Summary, WorkloadCount};

/// Page size when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 50;
/// Largest accepted `limit`.
pub const MAX_LIMIT: usize = 1000;

/// Query parameters that `GET /api/v1/terminations` accepts.
pub const LIST_PARAMETERS: [&str; 10] = [
    "namespace",
    "pod",
    "container",
    "cause",
    "workload",
    "since",
    "until",
    "all",
    "limit",
    "cursor",
];

/// One page of records, newest first, each in its stored JSON form.
#[derive(Debug, utoipa::ToSchema)]
pub struct Page {
    #[schema(value_type = Vec<Termination>)]
    pub items: Vec<String>,
    /// Pass as `cursor` to read the next, older page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl Page {
    /// Writes the page as the JSON object `{"items": [...], "next_cursor": ...}`, copying
    /// each item's text unchanged.
    fn into_response(self) -> Response {
        let items_len: usize = self.items.iter().map(|item| item.len() + 1).sum();
        let mut body = String::with_capacity(items_len + 64);
        body.push_str("{\"items\":[");
        for (n, item) in self.items.iter().enumerate() {
            if n > 0 {
                body.push(',');
            }
            body.push_str(item);
        }
        body.push_str("],\"next_cursor\":");
        let cursor = serde_json::Value::from(self.next_cursor);
        body.push_str(&cursor.to_string());
        body.push('}');
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    }
}

/// Position after the last record of a page: its sort microsecond and id.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cursor {
    micros: i64,
    id: String,
}

impl Cursor {
    fn of(record: &StoredRecord) -> Self {
        Cursor {
            micros: record.sort_at,
            id: record.id.clone(),
        }
    }

    fn encode(&self) -> String {
        format!("{}.{}", self.micros, self.id)
    }

    fn decode(text: &str) -> Result<Self, ApiError> {
        let invalid = || ApiError::invalid("cursor", text, "use `next_cursor` of the last page");
        let (micros, id) = text.split_once('.').ok_or_else(invalid)?;
        let micros = micros.parse().map_err(|_| invalid())?;
        if id.is_empty() {
            return Err(invalid());
        }
        Ok(Cursor {
            micros,
            id: id.to_owned(),
        })
    }
}

/// Handles `GET /api/v1/terminations`.
#[utoipa::path(
    get,
    path = "/api/v1/terminations",
    tag = "terminations",
    summary = "List recorded exits, newest first",
    description = "Unexpected exits only, unless `all=true`. Pages follow `next_cursor`.",
    params(ListQuery),
    responses(
        (status = 200, description = "One page of records", body = Page),
        (status = 400, description = "An invalid or unknown parameter", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
    ),
    security((), ("bearer" = [])),
)]
pub async fn list(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    reject_unknown(&params, &LIST_PARAMETERS)?;
    let filter = parse_filter(&params, Timestamp::now())?;
    serve_page(&state, &params, filter).await
}

/// Reads the page of `filter` that the `limit` and `cursor` parameters name.
async fn serve_page(
    state: &AppState,
    params: &HashMap<String, String>,
    filter: Filter,
) -> Result<Response, ApiError> {
    let limit = parse_limit(params.get("limit"))?;
    let cursor = params
        .get("cursor")
        .map(|text| Cursor::decode(text))
        .transpose()?;

    let page = state
        .with_store(move |store| read_page(store, &filter, cursor.as_ref(), limit))
        .await?;
    Ok(page.into_response())
}

/// Handles `GET /api/v1/terminations/{id}`.
#[utoipa::path(
    get,
    path = "/api/v1/terminations/{id}",
    tag = "terminations",
    summary = "Read one record",
    params(("id" = String, Path, description = "The record's `id`")),
    responses(
        (status = 200, description = "The record", body = Termination),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
        (status = 404, description = "No record has this id", body = ErrorBody),
    ),
    security((), ("bearer" = [])),
)]
pub async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<Termination>, ApiError> {
    let lookup = id.clone();
    let record = state.with_store(move |store| store.get(&lookup)).await?;
    record.map(Json).ok_or(ApiError::NotFound {
        what: "termination",
        id,
    })
}

/// Handles `GET /api/v1/pods/{namespace}/{pod}`: the records of one pod, expected exits
/// included, newest first, in pages like the list.
#[utoipa::path(
    get,
    path = "/api/v1/pods/{namespace}/{pod}",
    tag = "terminations",
    summary = "List the records of one pod",
    description = "Every instance of the pod's containers, expected exits included, newest \
                   first.",
    params(
        ("namespace" = String, Path, description = "The pod's namespace"),
        ("pod" = String, Path, description = "The pod's name"),
        PodQuery,
    ),
    responses(
        (status = 200, description = "One page of the pod's records", body = Page),
        (status = 400, description = "An invalid or unknown parameter", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
    ),
    security((), ("bearer" = [])),
)]
pub async fn pod_history(
    State(state): State<AppState>,
    Path((namespace, pod)): Path<(String, String)>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    reject_unknown(&params, &["container", "limit", "cursor"])?;
    let filter = Filter {
        namespace: Some(namespace),
        pod: Some(pod),
        container: params.get("container").cloned(),
        include_expected: true,
        ..Filter::default()
    };
    serve_page(&state, &params, filter).await
}

/// Handles `GET /api/v1/summary`: counts over the window from `since` (24 hours ago by
/// default) to `until`, optionally of one namespace, cause or workload. Bodies are cached by
/// their parameters for a few seconds, see [`super::cache`].
#[utoipa::path(
    get,
    path = "/api/v1/summary",
    tag = "terminations",
    summary = "Count records by cause, namespace, hour and workload",
    params(SummaryQuery),
    responses(
        (status = 200, description = "The counts", body = Summary),
        (status = 400, description = "An invalid or unknown parameter", body = ErrorBody),
        (status = 401, description = "Missing or wrong bearer token", body = ErrorBody),
    ),
    security((), ("bearer" = [])),
)]
pub async fn summary(
    State(state): State<AppState>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    reject_unknown(
        &params,
        &[
            "since",
            "until",
            "namespace",
            "cause",
            "workload",
            "all",
            "bucket",
        ],
    )?;
    let (_, since, until) = summary_filter(&params, Timestamp::now())?;
    parse_bucket(&params, since, until)?;

    let mut key: Vec<(String, String)> = params.clone().into_iter().collect();
    key.sort();
    let compute_state = state.clone();
    let body = state
        .summaries
        .get(key, move || async move {
            // A relative `since` (and the default) is resolved again at each computation.
            let (filter, since, until) = summary_filter(&params, Timestamp::now())?;
            let bucket = parse_bucket(&params, since, until)?;
            // Count in buckets no longer than an hour, so that `by_hour` can be summed too.
            let count_seconds = bucket.min(HOUR_SECONDS);
            let counts = compute_state
                .with_store(move |store| store.count_summary(&filter, count_seconds))
                .await?;
            let summary = summary::summarize(since, until, count_seconds, bucket, counts);
            let json =
                serde_json::to_vec(&summary).map_err(|error| ApiError::Internal(error.into()))?;
            Ok(Bytes::from(json))
        })
        .await?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        Bytes::clone(&body),
    )
        .into_response())
}

/// Seconds in one hour, the default bucket of the summary.
const HOUR_SECONDS: u32 = 3600;

/// The summary's `bucket` values and their lengths in seconds.
const BUCKETS: [(&str, u32); 5] = [
    ("1m", 60),
    ("5m", 300),
    ("15m", 900),
    ("1h", HOUR_SECONDS),
    ("1d", 24 * HOUR_SECONDS),
];

/// Maximum window that a bucket shorter than an hour may cover, so that a count of minutes
/// over years cannot return a row per record.
const MAX_FINE_WINDOW: SignedDuration = SignedDuration::from_hours(7 * 24);

/// Reads the summary's `bucket` parameter, one hour when absent.
fn parse_bucket(
    params: &HashMap<String, String>,
    since: Timestamp,
    until: Option<Timestamp>,
) -> Result<u32, ApiError> {
    let Some(text) = params.get("bucket") else {
        return Ok(HOUR_SECONDS);
    };
    let names: Vec<&str> = BUCKETS.iter().map(|(name, _)| *name).collect();
    let seconds = BUCKETS
        .iter()
        .find(|(name, _)| name == text)
        .map(|(_, seconds)| *seconds)
        .ok_or_else(|| {
            ApiError::invalid(
                "bucket",
                text,
                format!("expected one of {}", names.join(", ")),
            )
        })?;
    let window = until.unwrap_or_else(Timestamp::now).duration_since(since);
    if seconds < HOUR_SECONDS && window > MAX_FINE_WINDOW {
        return Err(ApiError::invalid(
            "bucket",
            text,
            "buckets shorter than `1h` need a window of at most 7 days: raise `since` or use `1h`",
        ));
    }
    Ok(seconds)
}

/// Returns the filter of a summary request, with its `since` and `until`.
fn summary_filter(
    params: &HashMap<String, String>,
    now: Timestamp,
) -> Result<(Filter, Timestamp, Option<Timestamp>), ApiError> {
    let mut filter = parse_filter(params, now)?;
    let since = *filter
        .since
        .get_or_insert(now - SignedDuration::from_hours(24));
    let until = filter.until;
    Ok((filter, since, until))
}

/// Reads one page of at most `limit` records after `cursor`.
///
/// The store orders records of the same microsecond by insertion, not by id, and its
/// `limit` may cut such a group in two. So this reads each group at the page's edges whole
/// with a query on that one microsecond, and sorts by (microsecond, id) itself.
fn read_page(
    store: &SqliteStore,
    filter: &Filter,
    cursor: Option<&Cursor>,
    limit: usize,
) -> Result<Page, crate::store::Error> {
    let mut records = Vec::new();
    let mut rest = filter.clone();

    if let Some(cursor) = cursor {
        let mut group = read_group(store, filter, cursor.micros)?;
        group.retain(|record| record.id < cursor.id);
        records.extend(group);
        rest.until = Some(min_time(filter.until, cursor.micros.saturating_sub(1)));
    }

    if records.len() <= limit {
        let requested = limit + 1 - records.len();
        rest.limit = Some(requested);
        let mut older = store.query_json(&rest)?;
        if older.len() == requested
            && let Some(edge) = older.last().map(|record| record.sort_at)
        {
            older.retain(|record| record.sort_at != edge);
            older.extend(read_group(store, &rest, edge)?);
        }
        records.extend(older);
    }

    sort_newest_first(&mut records);
    let next_cursor = (records.len() > limit)
        .then(|| records.get(limit.saturating_sub(1)).map(Cursor::of))
        .flatten()
        .map(|cursor| cursor.encode());
    records.truncate(limit);
    Ok(Page {
        items: records.into_iter().map(|record| record.json).collect(),
        next_cursor,
    })
}

/// Reads every record of `filter` whose sort key is this microsecond.
fn read_group(
    store: &SqliteStore,
    filter: &Filter,
    micros: i64,
) -> Result<Vec<StoredRecord>, crate::store::Error> {
    let Ok(time) = Timestamp::from_microsecond(micros) else {
        return Ok(Vec::new());
    };
    let mut group = filter.clone();
    group.limit = None;
    group.since = Some(filter.since.map_or(time, |since| since.max(time)));
    group.until = Some(min_time(filter.until, micros));
    if group.since > group.until {
        return Ok(Vec::new());
    }
    store.query_json(&group)
}

fn min_time(until: Option<Timestamp>, micros: i64) -> Timestamp {
    let bound = Timestamp::from_microsecond(micros).unwrap_or(Timestamp::MIN);
    until.map_or(bound, |until| until.min(bound))
}

fn sort_newest_first(records: &mut [StoredRecord]) {
    records.sort_by(|a, b| (b.sort_at, &b.id).cmp(&(a.sort_at, &a.id)));
}

fn reject_unknown(params: &HashMap<String, String>, known: &[&str]) -> Result<(), ApiError> {
    match params.keys().find(|name| !known.contains(&name.as_str())) {
        Some(name) => Err(ApiError::UnknownParameter { name: name.clone() }),
        None => Ok(()),
    }
}

fn parse_filter(params: &HashMap<String, String>, now: Timestamp) -> Result<Filter, ApiError> {
    let text = |name: &str| params.get(name).cloned();
    let cause = params
        .get("cause")
        .map(|value| {
            CauseKind::parse(value).ok_or_else(|| {
                let names: Vec<&str> = CauseKind::ALL.iter().map(|kind| kind.as_str()).collect();
                ApiError::invalid(
                    "cause",
                    value,
                    format!("expected one of {}", names.join(", ")),
                )
            })
        })
        .transpose()?;
    let workload = params
        .get("workload")
        .map(|value| {
            parse_workload(value).map_err(|reason| ApiError::invalid("workload", value, reason))
        })
        .transpose()?;
    let since = params
        .get("since")
        .map(|value| parse_time(value, "since", now))
        .transpose()?;
    let until = params
        .get("until")
        .map(|value| parse_time(value, "until", now))
        .transpose()?;

    if let (Some(since), Some(until)) = (since, until)
        && since > until
    {
        let value = params.get("until").map_or("", String::as_str);
        return Err(ApiError::invalid(
            "until",
            value,
            format!("it is before `since` ({since}): swap the two"),
        ));
    }

    Ok(Filter {
        namespace: text("namespace"),
        pod: text("pod"),
        container: text("container"),
        cause,
        workload,
        since,
        until,
        include_expected: parse_bool(params.get("all"), "all")?,
        limit: None,
    })
}

fn parse_time(value: &str, name: &'static str, now: Timestamp) -> Result<Timestamp, ApiError> {
    parse_time_bound(value)
        .and_then(|bound| bound.resolve(now))
        .map_err(|error| ApiError::invalid(name, value, error.to_string()))
}

fn parse_bool(value: Option<&String>, name: &'static str) -> Result<bool, ApiError> {
    match value.map(String::as_str) {
        None | Some("false") => Ok(false),
        Some("true") | Some("") => Ok(true),
        Some(other) => Err(ApiError::invalid(name, other, "expected `true` or `false`")),
    }
}

fn parse_limit(value: Option<&String>) -> Result<usize, ApiError> {
    let Some(text) = value else {
        return Ok(DEFAULT_LIMIT);
    };
    match text.parse::<usize>() {
        Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => Ok(limit),
        _ => Err(ApiError::invalid(
            "limit",
            text,
            format!("expected a whole number from 1 to {MAX_LIMIT}"),
        )),
    }
}
