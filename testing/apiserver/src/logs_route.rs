//! The `pods/{name}/log` handler: checks the pod, the container and the options as
//! kube-apiserver does (`LogLocation` and `ValidatePodLogOptions`), finds the container
//! instance by kubelet's rules, and renders its stored records.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::Pod;

use crate::ids::now;
use crate::logs::{LogOptions, instance_container_id, render, select_container};
use crate::params::Params;
use crate::server::Shared;
use crate::status::ApiError;
use crate::store::Resource;

/// Serves `GET /api/v1/namespaces/{namespace}/pods/{name}/log`.
pub async fn pod_log(
    State(shared): State<Arc<Shared>>,
    Path((namespace, name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    let params = Params::parse(query.as_deref());
    match read_log(&shared, &namespace, &name, &params) {
        Ok(body) => ([(header::CONTENT_TYPE, "text/plain")], body).into_response(),
        Err(error) => error.into_response(),
    }
}

fn read_log(
    shared: &Shared,
    namespace: &str,
    name: &str,
    params: &Params,
) -> Result<Vec<u8>, ApiError> {
    let stored = shared.store().get(Resource::Pods, namespace, name);
    let Some(stored) = stored else {
        return Err(ApiError::not_found("pods", name));
    };
    let pod: Pod = serde_json::from_value(stored.as_ref().clone()).map_err(|error| {
        ApiError::internal(&format!(
            "stored pod `{namespace}/{name}` does not decode: {error}"
        ))
    })?;

    let options = parse_options(params, name)?;
    let previous = params.flag("previous")?.unwrap_or(false);
    let container = select_container(&pod, name, params.non_empty("container"))?;
    let has_node = pod
        .spec
        .as_ref()
        .and_then(|spec| spec.node_name.as_deref())
        .is_some_and(|node| !node.is_empty());
    if !has_node {
        return Err(ApiError::bad_request(format!(
            "pod {name} does not have a host assigned"
        )));
    }

    let container_id =
        instance_container_id(&pod, name, &container, previous).map_err(ApiError::bad_request)?;
    let key = (namespace.to_owned(), name.to_owned(), container_id);
    let logs = shared.logs();
    let records = logs.get(&key).map(Vec::as_slice).unwrap_or_default();
    Ok(render(records, &options))
}

/// Parses and validates the log options; errors are 422, as `ValidatePodLogOptions` gives them.
fn parse_options(params: &Params, name: &str) -> Result<LogOptions, ApiError> {
    let tail_lines: Option<i64> = params.number("tailLines")?;
    let limit_bytes: Option<i64> = params.number("limitBytes")?;
    let since_seconds: Option<i64> = params.number("sinceSeconds")?;
    let since_time = params.non_empty("sinceTime");

    let mut causes: Vec<(&str, String)> = Vec::new();
    if tail_lines.is_some_and(|lines| lines < 0) {
        causes.push((
            "tailLines",
            "Invalid value: must be greater than or equal to 0".into(),
        ));
    }
    if limit_bytes.is_some_and(|bytes| bytes < 1) {
        causes.push(("limitBytes", "Invalid value: must be greater than 0".into()));
    }
    if since_seconds.is_some_and(|seconds| seconds < 1) {
        causes.push((
            "sinceSeconds",
            "Invalid value: must be greater than 0".into(),
        ));
    }
    if since_seconds.is_some() && since_time.is_some() {
        causes.push((
            "",
            "Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified".into(),
        ));
    }
    let parsed_time = match since_time.map(str::parse::<Timestamp>) {
        Some(Ok(time)) => Some(time),
        Some(Err(_)) => {
            causes.push((
                "sinceTime",
                "Invalid value: expected an RFC 3339 time".into(),
            ));
            None
        }
        None => None,
    };
    if !causes.is_empty() {
        return Err(ApiError::invalid("", "PodLogOptions", name, &causes));
    }

    let since = match since_seconds {
        Some(seconds) => now().checked_sub(SignedDuration::from_secs(seconds)).ok(),
        None => parsed_time,
    };
    Ok(LogOptions {
        tail_lines: tail_lines.and_then(|lines| u64::try_from(lines).ok()),
        limit_bytes: limit_bytes.and_then(|bytes| u64::try_from(bytes).ok()),
        timestamps: params.flag("timestamps")?.unwrap_or(false),
        since,
    })
}
