//! `ListOptions` and the list handler, with the `resourceVersion` semantics of the Kubernetes
//! API concepts documentation ("Resource versions" and "Retrieving large results sets in
//! chunks"):
//!
//! - No `resourceVersion` reads the most recent state, and `"0"` reads any state (this server
//!   always has the most recent one).
//! - `N` with `resourceVersionMatch` unset or `NotOlderThan` reads a state at least as new as
//!   `N`. With `Exact` it reads the state at exactly `N`, or fails with 410 Gone when `N` is
//!   before the last compaction. A version newer than the server's is a 504 timeout at once,
//!   where kube-apiserver first waits about 3 s for its cache to catch up.
//! - `limit` cuts a page, and `continue` is an opaque token that reads the next page at the
//!   first page's version. A token from before the last compaction gets 410 `Expired` with a
//!   fresh token that goes on at the current version. Items are ordered by their storage key
//!   `namespace/name`, as etcd returns them.
//! - Items in a list carry no `kind` or `apiVersion`, as kube-apiserver serves them.

use axum::http::header;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::params::Params;
use crate::selector::{FieldSelector, LabelSelector};
use crate::server::Shared;
use crate::status::ApiError;
use crate::store::{Expired, Resource, Snapshot};

/// `resourceVersionMatch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionMatch {
    /// `NotOlderThan`.
    NotOlderThan,
    /// `Exact`.
    Exact,
}

/// The `resourceVersion` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// Absent or empty: the most recent state.
    Unset,
    /// `"0"`: any state.
    Any,
    /// A specific version.
    At(u64),
}

/// The options of a list or watch request, validated as `ValidateListOptions` in apimachinery
/// does.
#[derive(Debug, Clone)]
pub struct ListOptions {
    /// `labelSelector`.
    pub labels: LabelSelector,
    /// `fieldSelector`.
    pub fields: FieldSelector,
    /// `resourceVersion`.
    pub version: Version,
    /// `resourceVersionMatch`.
    pub version_match: Option<VersionMatch>,
    /// `limit`, when positive.
    pub limit: Option<usize>,
    /// `continue`.
    pub continue_token: Option<String>,
    /// `allowWatchBookmarks`.
    pub allow_bookmarks: bool,
    /// `sendInitialEvents`.
    pub send_initial_events: Option<bool>,
    /// `timeoutSeconds`.
    pub timeout_seconds: Option<u64>,
}

impl ListOptions {
    /// Parses and validates the options of a list (`watch` false) or watch request.
    pub fn parse(params: &Params, resource: Resource, watch: bool) -> Result<Self, ApiError> {
        let labels = LabelSelector::parse(params.get("labelSelector").unwrap_or_default())
            .map_err(|error| ApiError::bad_request(error.to_string()))?;
        let fields =
            FieldSelector::parse(params.get("fieldSelector").unwrap_or_default(), resource)
                .map_err(|error| ApiError::bad_request(error.to_string()))?;
        let version = match params.non_empty("resourceVersion") {
            None => Version::Unset,
            Some("0") => Version::Any,
            Some(text) => Version::At(text.parse().map_err(|_| {
                ApiError::bad_request(format!(
                    "invalid resource version `{text}`: expected a decimal number"
                ))
            })?),
        };
        let version_match = parse_version_match(params)?;
        let limit = params
            .number::<i64>("limit")?
            .filter(|limit| *limit > 0)
            .map(|limit| usize::try_from(limit).unwrap_or(usize::MAX));

        let options = ListOptions {
            labels,
            fields,
            version,
            version_match,
            limit,
            continue_token: params.non_empty("continue").map(str::to_owned),
            allow_bookmarks: params.flag("allowWatchBookmarks")?.unwrap_or(false),
            send_initial_events: params.flag("sendInitialEvents")?,
            timeout_seconds: params.number("timeoutSeconds")?,
        };
        options.validate(watch)?;
        Ok(options)
    }

    /// Checks the combinations that apimachinery's `validateListOptions` and
    /// `validateWatchOptions` reject.
    fn validate(&self, watch: bool) -> Result<(), ApiError> {
        let causes = if watch {
            self.watch_violations()
        } else {
            self.list_violations()
        };
        if causes.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid("meta.k8s.io", "ListOptions", "", &causes))
        }
    }

    fn list_violations(&self) -> Vec<(&'static str, String)> {
        let mut causes = Vec::new();
        if self.version_match.is_some() {
            if self.version == Version::Unset {
                causes.push(forbidden(
                    "resourceVersionMatch is forbidden unless resourceVersion is provided",
                ));
            }
            if self.continue_token.is_some() {
                causes.push(forbidden(
                    "resourceVersionMatch is forbidden when continue is provided",
                ));
            }
            if self.version_match == Some(VersionMatch::Exact) && self.version == Version::Any {
                causes.push(forbidden(
                    "resourceVersionMatch \"exact\" is forbidden for resourceVersion \"0\"",
                ));
            }
        }
        if self.send_initial_events.is_some() {
            causes.push((
                "sendInitialEvents",
                "Forbidden: sendInitialEvents is forbidden for list".into(),
            ));
        }
        causes
    }

    fn watch_violations(&self) -> Vec<(&'static str, String)> {
        let mut causes = Vec::new();
        let not_older_than = self.version_match == Some(VersionMatch::NotOlderThan);
        if self.send_initial_events.is_some() && !not_older_than {
            causes.push(forbidden(
                "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            ));
        }
        if self.version_match.is_some() {
            if self.send_initial_events.is_none() {
                causes.push(forbidden("resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided"));
            }
            if !not_older_than {
                let message = "Unsupported value: \"Exact\": supported values: \"NotOlderThan\"";
                causes.push(("resourceVersionMatch", message.into()));
            }
            if self.continue_token.is_some() {
                causes.push(forbidden(
                    "resourceVersionMatch is forbidden when continue is provided",
                ));
            }
        }
        causes
    }
}

/// Returns a `Forbidden` cause on `resourceVersionMatch`.
fn forbidden(detail: &str) -> (&'static str, String) {
    ("resourceVersionMatch", format!("Forbidden: {detail}"))
}

fn parse_version_match(params: &Params) -> Result<Option<VersionMatch>, ApiError> {
    match params.non_empty("resourceVersionMatch") {
        None => Ok(None),
        Some("NotOlderThan") => Ok(Some(VersionMatch::NotOlderThan)),
        Some("Exact") => Ok(Some(VersionMatch::Exact)),
        Some(other) => Err(ApiError::invalid(
            "meta.k8s.io",
            "ListOptions",
            "",
            &[(
                "resourceVersionMatch",
                format!(
                    "Unsupported value: \"{other}\": supported values: \"Exact\", \"NotOlderThan\", \"\""
                ),
            )],
        )),
    }
}

/// The decoded form of a continue token: the version of the first page and the storage key
/// after which the next page starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ContinueToken {
    /// Token format, as kube-apiserver writes it.
    v: String,
    /// The version the pages are read at.
    rv: u64,
    /// The storage key the next page starts at; the last key returned and a NUL byte.
    start: String,
}

fn encode_token(resource_version: u64, last_key: &str) -> String {
    let token = ContinueToken {
        v: "meta.k8s.io/v1".into(),
        rv: resource_version,
        start: format!("{last_key}\u{0}"),
    };
    STANDARD.encode(serde_json::to_vec(&token).unwrap_or_default())
}

fn decode_token(text: &str) -> Result<ContinueToken, ApiError> {
    let invalid = || {
        ApiError::bad_request(format!(
            "continue key is not valid: `{text}` is not a token this server issued"
        ))
    };
    let bytes = STANDARD.decode(text).map_err(|_| invalid())?;
    let token: ContinueToken = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if token.v != "meta.k8s.io/v1" {
        return Err(invalid());
    }
    Ok(token)
}

/// Returns the storage key of an object, `namespace/name`.
pub fn storage_key(object: &Value) -> String {
    let namespace = object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    format!("{namespace}/{name}")
}

/// Serves a list request.
pub fn list(
    shared: &Shared,
    resource: Resource,
    namespace: Option<&str>,
    params: &Params,
) -> Result<Response, ApiError> {
    let options = ListOptions::parse(params, resource, false)?;
    let (snapshot, start) = read_snapshot(shared, resource, namespace, &options)?;

    let mut matching: Vec<(String, &Value)> = snapshot
        .objects
        .iter()
        .map(|object| (storage_key(object), object.as_ref()))
        .filter(|(key, _)| start.as_deref().is_none_or(|start| key.as_str() >= start))
        .filter(|(_, object)| {
            options.labels.matches(object) && options.fields.matches(resource, object)
        })
        .collect();
    matching.sort_by(|a, b| a.0.cmp(&b.0));

    let total = matching.len();
    let page_size = options.limit.unwrap_or(total).min(total);
    let mut metadata = json!({"resourceVersion": snapshot.resource_version.to_string()});
    if page_size < total {
        let last_key = matching
            .get(page_size.saturating_sub(1))
            .map(|(key, _)| key.clone())
            .unwrap_or_default();
        metadata["continue"] = json!(encode_token(snapshot.resource_version, &last_key));
        if options.labels.is_empty() && options.fields.is_empty() {
            metadata["remainingItemCount"] = json!(total - page_size);
        }
    }

    let items: Vec<Value> = matching
        .into_iter()
        .take(page_size)
        .map(|(_, object)| list_item(object))
        .collect();
    let body = json!({
        "kind": resource.list_kind(),
        "apiVersion": "v1",
        "metadata": metadata,
        "items": items,
    });
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response())
}

/// Reads the snapshot a list serves, and the key its page starts at.
fn read_snapshot(
    shared: &Shared,
    resource: Resource,
    namespace: Option<&str>,
    options: &ListOptions,
) -> Result<(Snapshot, Option<String>), ApiError> {
    let store = shared.store();
    let current = store.resource_version();

    if let Some(text) = &options.continue_token {
        if let Version::At(_) = options.version {
            return Err(ApiError::bad_request(
                "specifying resource version is not allowed when using continue",
            ));
        }
        let token = decode_token(text)?;
        return match store.snapshot(resource, namespace, Some(token.rv)) {
            Ok(snapshot) => Ok((snapshot, Some(token.start))),
            Err(Expired { .. }) => {
                let restart_key = token.start.trim_end_matches('\u{0}').to_owned();
                Err(ApiError::continue_expired(encode_token(
                    current,
                    &restart_key,
                )))
            }
        };
    }

    let at = match (options.version, options.version_match) {
        (Version::At(requested), _) if requested > current => {
            return Err(ApiError::too_large_resource_version(requested, current));
        }
        (Version::At(requested), Some(VersionMatch::Exact)) => Some(requested),
        _ => None,
    };
    let snapshot = store.snapshot(resource, namespace, at).map_err(|expired| {
        ApiError::too_old_resource_version(expired.requested, expired.compacted)
    })?;
    Ok((snapshot, None))
}

/// Returns an object as a list item: without `kind` and `apiVersion`.
fn list_item(object: &Value) -> Value {
    let mut item = object.clone();
    if let Value::Object(map) = &mut item {
        map.remove("kind");
        map.remove("apiVersion");
    }
    item
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_token_round_trips() {
        let token = encode_token(1234, "a/x");

        let decoded = decode_token(&token).unwrap();
        assert_eq!(decoded.rv, 1234);
        assert_eq!(decoded.start, "a/x\u{0}");
        assert!(decode_token("bm90IGEgdG9rZW4=").is_err());
    }

    #[test]
    fn options_reject_forbidden_combinations() {
        let cases = [
            ("resourceVersionMatch=Exact", false),
            ("resourceVersionMatch=Exact&resourceVersion=0", false),
            ("resourceVersionMatch=Sometimes&resourceVersion=5", false),
            ("sendInitialEvents=true", false),
            ("sendInitialEvents=true&allowWatchBookmarks=true", true),
            ("sendInitialEvents=false", true),
            (
                "sendInitialEvents=true&resourceVersionMatch=Exact&resourceVersion=5",
                true,
            ),
            ("resourceVersionMatch=NotOlderThan&resourceVersion=5", true),
        ];

        for (query, watch) in cases {
            let params = Params::parse(Some(query));
            let error = ListOptions::parse(&params, Resource::Pods, watch).unwrap_err();
            assert_eq!(error.code(), 422, "query `{query}`");
        }
    }

    #[test]
    fn options_accept_streaming_list() {
        let query = "watch=true&allowWatchBookmarks=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&resourceVersion=0";
        let params = Params::parse(Some(query));

        let options = ListOptions::parse(&params, Resource::Pods, true).unwrap();
        assert_eq!(options.send_initial_events, Some(true));
        assert_eq!(options.version, Version::Any);
    }
}
