//! The web page: one HTML shell for every page route, and the scripts and style sheet it
//! loads, all embedded in the binary from `web/`.
//!
//! The shell and the assets contain no cluster data, so they are served without the bearer
//! token. The script fetches everything else from `/api/v1`, which keeps requiring it.
//! Responses carry a strong `ETag` and `Cache-Control: no-cache`, so browsers revalidate on
//! every load and get `304 Not Modified` until the binary changes.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};

use super::AppState;
use super::error::ApiError;

/// Content Security Policy of every response. Scripts, styles and fetches may come only from
/// this origin, so text from the cluster that ends up in the page as markup cannot run.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// Paths of the page routes. Each returns the same HTML shell, and the script renders the
/// view that the browser's location names.
pub const PAGE_ROUTES: [&str; 4] = [
    "/",
    "/terminations",
    "/terminations/{id}",
    "/pods/{namespace}/{pod}",
];

const CACHE_POLICY: &str = "no-cache";

/// One embedded file with its media type.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const JAVASCRIPT: &str = "text/javascript; charset=utf-8";

const SHELL: Asset = Asset {
    name: "index.html",
    content_type: "text/html; charset=utf-8",
    body: include_bytes!("../../web/index.html"),
};

/// Returns the embedded file `web/<name>` with its media type.
macro_rules! asset {
    ($name:literal, $content_type:expr) => {
        Asset {
            name: $name,
            content_type: $content_type,
            body: include_bytes!(concat!("../../web/", $name)),
        }
    };
}

/// Files served under `/assets/`.
const ASSETS: [Asset; 10] = [
    asset!("style.css", "text/css; charset=utf-8"),
    asset!("favicon.svg", "image/svg+xml"),
    asset!("app.js", JAVASCRIPT),
    asset!("api.js", JAVASCRIPT),
    asset!("dom.js", JAVASCRIPT),
    asset!("causes.js", JAVASCRIPT),
    asset!("overview.js", JAVASCRIPT),
    asset!("list.js", JAVASCRIPT),
    asset!("detail.js", JAVASCRIPT),
    asset!("pod.js", JAVASCRIPT),
];

/// Strong entity tags of the shell and every asset, computed once from their content.
static ETAGS: LazyLock<Vec<(&'static str, HeaderValue)>> = LazyLock::new(|| {
    std::iter::once(&SHELL)
        .chain(ASSETS.iter())
        .map(|asset| (asset.name, entity_tag(asset.body)))
        .collect()
});

/// Returns the routes of the page and its assets, none of which needs the token.
pub fn routes() -> Router<AppState> {
    let mut router = Router::new();
    for path in PAGE_ROUTES {
        router = router.route(path, get(shell));
        if path != "/" {
            router = router.route(&format!("{path}/"), get(without_trailing_slash));
        }
    }
    router.route("/assets/{name}", get(asset))
}

/// Redirects a page path that ends in `/` to the same path without it (308, so the method
/// stays), keeping the query.
async fn without_trailing_slash(uri: axum::http::Uri) -> Response {
    let path = uri.path().trim_end_matches('/');
    let target = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_owned(),
    };
    axum::response::Redirect::permanent(&target).into_response()
}

async fn shell(request_headers: HeaderMap) -> Response {
    respond(&SHELL, &request_headers)
}

async fn asset(Path(name): Path<String>, request_headers: HeaderMap) -> Response {
    match ASSETS.iter().find(|asset| asset.name == name) {
        Some(asset) => respond(asset, &request_headers),
        None => ApiError::NotFound {
            what: "asset",
            id: name,
        }
        .into_response(),
    }
}

/// Sends `asset`, or `304 Not Modified` when `If-None-Match` names its current tag.
fn respond(asset: &Asset, request_headers: &HeaderMap) -> Response {
    let etag = ETAGS
        .iter()
        .find(|(name, _)| *name == asset.name)
        .map(|(_, tag)| tag.clone())
        .unwrap_or_else(|| entity_tag(asset.body));
    let cache_headers = [
        (header::ETAG, etag.clone()),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static(CACHE_POLICY),
        ),
    ];

    if matches_etag(request_headers, &etag) {
        return (StatusCode::NOT_MODIFIED, cache_headers).into_response();
    }
    let content_type = [(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    )];
    (cache_headers, content_type, asset.body).into_response()
}

/// Checks `If-None-Match` (RFC 9110, section 13.1.2): a list of tags, or `*`.
fn matches_etag(request_headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let Some(tags) = request_headers
        .get(header::IF_NONE_MATCH)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let etag = etag.to_str().unwrap_or_default();
    tags.split(',').map(str::trim).any(|tag| {
        let tag = tag.strip_prefix("W/").unwrap_or(tag);
        tag == "*" || tag == etag
    })
}

/// Returns a quoted tag of the first 8 bytes of the SHA-256 of `body`, in hex.
fn entity_tag(body: &[u8]) -> HeaderValue {
    let digest = Sha256::digest(body);
    let hex: String = digest[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    HeaderValue::from_str(&format!("\"{hex}\"")).expect("hex digits form a valid header value")
}
