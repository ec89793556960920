//! The error type of request handlers and its JSON response.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An error that a handler returns, sent as `{"error": "..."}` with its status code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid parameter `{name}` value `{}`: {reason}", shorten(.value))]
    InvalidParameter {
        name: &'static str,
        value: String,
        reason: String,
    },

    #[error("unknown parameter `{name}`")]
    UnknownParameter { name: String },

    #[error("{what} `{}` not found", shorten(.id))]
    NotFound { what: &'static str, id: String },

    #[error("missing or invalid bearer token in the `Authorization` header")]
    Unauthorized,

    /// A failure of the store or the runtime. The cause is logged and the client gets a
    /// generic message, because it may name files on the server.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// Maximum length, in characters, of a client-sent value that an error message quotes whole.
const QUOTED_VALUE_CHARS: usize = 200;

/// Returns `value`, cut to [`QUOTED_VALUE_CHARS`] characters with `…` appended when longer, so
/// a huge parameter is not echoed back whole.
fn shorten(value: &str) -> String {
    match value.char_indices().nth(QUOTED_VALUE_CHARS) {
        Some((end, _)) => format!("{}…", &value[..end]),
        None => value.to_owned(),
    }
}

impl ApiError {
    pub fn invalid(name: &'static str, value: &str, reason: impl Into<String>) -> Self {
        ApiError::InvalidParameter {
            name,
            value: value.to_owned(),
            reason: reason.into(),
        }
    }

    /// Returns the message for the server's log: for an internal error the whole chain of
    /// causes, which is never sent to the client.
    pub fn log_text(&self) -> String {
        match self {
            ApiError::Internal(cause) => format!("{cause:#}"),
            other => other.to_string(),
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidParameter { .. } | ApiError::UnknownParameter { .. } => {
                StatusCode::BAD_REQUEST
            }
            ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<crate::store::Error> for ApiError {
    fn from(error: crate::store::Error) -> Self {
        ApiError::Internal(error.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if matches!(self, ApiError::Internal(_)) {
            tracing::error!(error = %self.log_text(), "request failed");
        }
        let body = serde_json::json!({ "error": self.to_string() });
        let mut response = (self.status(), Json(body)).into_response();
        if matches!(self, ApiError::Unauthorized) {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}
