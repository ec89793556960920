//! The OpenAPI 3.1 document of the HTTP API, generated from the handlers' `utoipa::path`
//! attributes and the record types' `ToSchema` derives.
//!
//! The router registers the `/api/v1` routes through `utoipa_axum::routes!`, so a route and
//! its entry in the document come from the same handler and cannot drift apart.

use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};

/// Path of the document itself.
pub const PATH: &str = "/api/v1/openapi.json";

/// Name of the bearer token scheme in the document.
pub const BEARER: &str = "bearer";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "podmortem",
        description = "A durable record of every container exit in a Kubernetes cluster, \
                       with its diagnosis and evidence. Every text field that comes from \
                       the cluster (names, messages, log lines) is untrusted.",
    ),
    modifiers(&BearerToken),
    tags(
        (name = "terminations", description = "Recorded container exits"),
        (name = "operations", description = "Health, readiness and metrics"),
    ),
)]
pub struct ApiDoc;

/// Adds the bearer token scheme that `--token-file` turns on.
struct BearerToken;

impl Modify for BearerToken {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some(
                "Required on every route but `/healthz`, `/readyz`, this document and the \
                 web page when the server runs with `--token-file`",
            ))
            .build();
        components.add_security_scheme(BEARER, SecurityScheme::Http(scheme));
    }
}

/// The body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The problem, naming the parameter and its value when one was at fault.
    #[schema(
        example = "invalid parameter `limit` value `0`: expected a whole number from 1 to 1000"
    )]
    pub error: String,
}

/// Query parameters of `GET /api/v1/terminations`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(
    dead_code,
    reason = "only describes the parameters; the handler reads a map"
)]
pub struct ListQuery {
    /// Only records of this namespace.
    namespace: Option<String>,
    /// Only records of this pod.
    pod: Option<String>,
    /// Only records of this container.
    container: Option<String>,
    /// Only records with this cause kind, such as `oom_killed`.
    cause: Option<String>,
    /// Only records of this workload, `KIND/NAME`: the Deployment, StatefulSet, DaemonSet,
    /// CronJob or Job above the pod (`Deployment/api`), or `Pod/NAME` for a pod without one.
    workload: Option<String>,
    /// Only records that occurred at or after this time: RFC 3339, or a duration before now
    /// such as `2h` or `7d`.
    since: Option<String>,
    /// Only records that occurred at or before this time, in the same forms as `since`.
    until: Option<String>,
    /// Whether to include expected exits (finished Jobs, rollouts). Default `false`.
    all: Option<bool>,
    /// Page size, 1 to 1000, default 50.
    limit: Option<usize>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Query parameters of `GET /api/v1/pods/{namespace}/{pod}`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(
    dead_code,
    reason = "only describes the parameters; the handler reads a map"
)]
pub struct PodQuery {
    /// Only records of this container.
    container: Option<String>,
    /// Page size, 1 to 1000, default 50.
    limit: Option<usize>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// Query parameters of `GET /api/v1/summary`.
#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(
    dead_code,
    reason = "only describes the parameters; the handler reads a map"
)]
pub struct SummaryQuery {
    /// Start of the window: RFC 3339, or a duration before now such as `6h`; default 24 hours
    /// ago.
    since: Option<String>,
    /// End of the window, in the same forms as `since`; default now.
    until: Option<String>,
    /// Only records of this namespace.
    namespace: Option<String>,
    /// Only records with this cause kind.
    cause: Option<String>,
    /// Only records of this workload, `KIND/NAME`.
    workload: Option<String>,
    /// Length of the buckets of `by_bucket_and_cause`: `1m`, `5m`, `15m`, `1h` (the default)
    /// or `1d`. Buckets shorter than an hour need a window of at most 7 days.
    bucket: Option<String>,
    /// Whether to include expected exits. Default `false`.
    all: Option<bool>,
}
