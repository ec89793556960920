//! The error type of request handlers and its JSON response.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// An error that a handler returns, sent as `{"error": "..."}` with its status code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid parameter `{name}` value `{value}`: {reason}")]
    InvalidParameter {
        name: &'static str,
        value: String,
        reason: String,
    },

    #[error("unknown parameter `{name}`")]
    UnknownParameter { name: String },

    #[error("{what} `{id}` not found")]
    NotFound { what: &'static str, id: String },

    #[error("missing or invalid bearer token in the `Authorization` header")]
    Unauthorized,

    /// A failure of the store or the runtime. The cause is logged and the client gets a
    /// generic message, because it may name files on the server.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn invalid(name: &'static str, value: &str, reason: impl Into<String>) -> Self {
        ApiError::InvalidParameter {
            name,
            value: value.to_owned(),
            reason: reason.into(),
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
        if let ApiError::Internal(cause) = &self {
            tracing::error!(error = format!("{cause:#}"), "request failed");
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
