//! Error responses in the API's `Status` form (`kind: Status`, `status: Failure`, `reason`,
//! `code`, `details`), with the messages and reasons that kube-apiserver and kubelet return for
//! the same conditions (apimachinery's `k8s.io/apimachinery/pkg/api/errors` constructors).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// The message kube-apiserver returns with 410 when a continue token is older than the last
/// compaction.
const CONTINUE_EXPIRED_MESSAGE: &str = "The provided continue parameter is too old to display a \
     consistent list result. You can start a new list without the continue parameter, or use \
     the continue token in this response to retrieve the remainder of the results. Continuing \
     with the provided token results in an inconsistent list - objects that were created, \
     modified, or deleted between the time the first chunk was returned and now may show up \
     in the list.";

/// An API error, turned into an HTTP response with a `Status` body.
#[derive(Debug, Clone)]
pub struct ApiError {
    code: u16,
    reason: &'static str,
    message: String,
    details: Option<Value>,
    retry_after_seconds: Option<u32>,
    continue_token: Option<String>,
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
            retry_after_seconds: None,
            continue_token: None,
        }
    }

    fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// Returns the HTTP status code.
    pub fn code(&self) -> u16 {
        self.code
    }

    /// 404 for a named object that does not exist: `pods "x" not found`.
    pub fn not_found(resource: &str, name: &str) -> Self {
        ApiError::new(404, "NotFound", format!("{resource} \"{name}\" not found"))
            .with_details(json!({"name": name, "kind": resource}))
    }

    /// 404 for a path the server does not serve.
    pub fn unknown_path() -> Self {
        ApiError::new(404, "NotFound", "the server could not find the requested resource")
            .with_details(json!({"causes": [{"reason": "UnexpectedServerResponse", "message": "404 page not found"}]}))
    }

    /// 405 for a method other than GET.
    pub fn method_not_supported(method: &str) -> Self {
        let message =
            format!("the server does not allow this method on the requested resource: {method}");
        ApiError::new(405, "MethodNotAllowed", message)
    }

    /// 400 with a message.
    pub fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(400, "BadRequest", message)
    }

    /// 422 for invalid options of kind `kind` (`ListOptions`, `PodLogOptions`), with one cause
    /// per field.
    pub fn invalid(group: &str, kind: &str, name: &str, causes: &[(&str, String)]) -> Self {
        let reasons: Vec<String> = causes
            .iter()
            .map(|(field, message)| format!("{field}: {message}"))
            .collect();
        let qualified = if group.is_empty() {
            kind.to_owned()
        } else {
            format!("{kind}.{group}")
        };
        let message = format!("{qualified} \"{name}\" is invalid: {}", reasons.join(", "));
        let causes: Vec<Value> = causes
            .iter()
            .map(|(field, message)| json!({"reason": "FieldValueInvalid", "message": message, "field": field}))
            .collect();
        ApiError::new(422, "Invalid", message)
            .with_details(json!({"name": name, "group": group, "kind": kind, "causes": causes}))
    }

    /// 410 for a read or watch from a version before the last compaction.
    pub fn too_old_resource_version(requested: u64, compacted: u64) -> Self {
        let message = format!("too old resource version: {requested} ({compacted})");
        ApiError::new(410, "Expired", message)
    }

    /// 410 for a continue token from before the last compaction, carrying a token that goes
    /// on from the same key at the current version.
    pub fn continue_expired(fresh_token: String) -> Self {
        let mut error = ApiError::new(410, "Expired", CONTINUE_EXPIRED_MESSAGE);
        error.continue_token = Some(fresh_token);
        error
    }

    /// 504 for a version newer than any the server has seen.
    pub fn too_large_resource_version(requested: u64, current: u64) -> Self {
        let message =
            format!("Timeout: Too large resource version: {requested}, current: {current}");
        let mut error = ApiError::new(504, "Timeout", message).with_details(json!({
            "causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}],
            "retryAfterSeconds": 1
        }));
        error.retry_after_seconds = Some(1);
        error
    }

    /// 401 as returned for a missing or rejected credential.
    pub fn unauthorized() -> Self {
        ApiError::new(401, "Unauthorized", "Unauthorized")
    }

    /// 403 from RBAC: `pods is forbidden: User "x" cannot list resource "pods" in API group ""
    /// at the cluster scope`.
    pub fn forbidden(
        user: &str,
        verb: &str,
        resource: &str,
        namespace: Option<&str>,
        name: Option<&str>,
    ) -> Self {
        let base = resource.split('/').next().unwrap_or(resource);
        let subject = match name {
            Some(name) => format!("{base} \"{name}\""),
            None => base.to_owned(),
        };
        let scope = match namespace {
            Some(namespace) => format!("in the namespace \"{namespace}\""),
            None => "at the cluster scope".to_owned(),
        };
        let message = format!(
            "{subject} is forbidden: User \"{user}\" cannot {verb} resource \"{resource}\" in API group \"\" {scope}"
        );
        let mut details = json!({"kind": base});
        if let Some(name) = name {
            details["name"] = json!(name);
        }
        ApiError::new(403, "Forbidden", message).with_details(details)
    }

    /// 429 from API Priority and Fairness, with `Retry-After`.
    pub fn too_many_requests(retry_after_seconds: u32) -> Self {
        let mut error = ApiError::new(
            429,
            "TooManyRequests",
            "Too many requests, please try again later.",
        )
        .with_details(json!({"retryAfterSeconds": retry_after_seconds}));
        error.retry_after_seconds = Some(retry_after_seconds);
        error
    }

    /// 500 with a cause.
    pub fn internal(cause: &str) -> Self {
        ApiError::new(
            500,
            "InternalError",
            format!("Internal error occurred: {cause}"),
        )
        .with_details(json!({"causes": [{"message": cause}]}))
    }

    /// 503, as a server that is starting or overloaded returns it.
    pub fn service_unavailable() -> Self {
        ApiError::new(
            503,
            "ServiceUnavailable",
            "the server is currently unable to handle the request",
        )
    }

    /// Returns the `Status` object.
    pub fn status(&self) -> Value {
        let mut metadata = json!({});
        if let Some(token) = &self.continue_token {
            metadata["continue"] = json!(token);
        }
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": metadata,
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(details) = &self.details {
            status["details"] = details.clone();
        }
        status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.code >= 500 {
            tracing::warn!(code = self.code, reason = self.reason, message = %self.message, "API error response");
        } else {
            tracing::debug!(code = self.code, reason = self.reason, message = %self.message, "API error response");
        }

        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = self.status().to_string();
        let mut response =
            (code, [(header::CONTENT_TYPE, "application/json")], body).into_response();
        if let Some(seconds) = self.retry_after_seconds {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}
