//! The web page routes of `podmortem serve` over real HTTP: the shell, its assets, their
//! headers and caching, and which routes need the token.

mod serve_support;
mod store_fixtures;

use podmortem::server::web::{CONTENT_SECURITY_POLICY, PAGE_ROUTES};
use serve_support::TestServer;
use store_fixtures::all;

const TOKEN: &str = "s3cret-token";

/// Concrete paths for each pattern of `PAGE_ROUTES`, including encoded parts and malformed
/// percent-encodings, for which the script shows its "Page not found" view.
const PAGE_PATHS: [&str; 8] = [
    "/",
    "/terminations",
    "/terminations?namespace=shop&cause=oom_killed&all=true",
    "/terminations/0123456789abcdef0123456789abcdef",
    "/pods/shop/api-7d9f8c6b5d-x2k4q",
    "/pods/hostile/%3Cscript%3Ewindow.__pwned%3D1%3C%2Fscript%3E",
    "/terminations/%ZZ",
    "/pods/%E0%A4%A/x",
];

const ASSETS: [(&str, &str); 10] = [
    ("/assets/app.js", "text/javascript; charset=utf-8"),
    ("/assets/api.js", "text/javascript; charset=utf-8"),
    ("/assets/dom.js", "text/javascript; charset=utf-8"),
    ("/assets/causes.js", "text/javascript; charset=utf-8"),
    ("/assets/overview.js", "text/javascript; charset=utf-8"),
    ("/assets/list.js", "text/javascript; charset=utf-8"),
    ("/assets/detail.js", "text/javascript; charset=utf-8"),
    ("/assets/pod.js", "text/javascript; charset=utf-8"),
    ("/assets/style.css", "text/css; charset=utf-8"),
    ("/assets/favicon.svg", "image/svg+xml"),
];

#[test]
fn page_paths_cover_every_route() {
    assert_eq!(PAGE_ROUTES.len(), 4);
    for route in PAGE_ROUTES {
        let prefix = route.split('{').next().unwrap();
        assert!(
            PAGE_PATHS.iter().any(|path| path.starts_with(prefix)),
            "route `{route}`"
        );
    }
}

#[tokio::test]
async fn page_routes_return_shell_with_csp() {
    let server = TestServer::start(&all(), None).await;
    let (_, shell) = body_of(&server, "/").await;
    for path in PAGE_PATHS {
        let response = server.get(path).await;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap();

        assert_eq!(status, 200, "path `{path}`");
        assert_eq!(
            headers["content-type"], "text/html; charset=utf-8",
            "path `{path}`"
        );
        assert_eq!(
            headers["content-security-policy"], CONTENT_SECURITY_POLICY,
            "path `{path}`"
        );
        assert_eq!(
            headers["x-content-type-options"], "nosniff",
            "path `{path}`"
        );
        assert_eq!(body, shell, "path `{path}`");
    }
}

#[test]
fn csp_has_required_directives() {
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(
            CONTENT_SECURITY_POLICY
                .split("; ")
                .any(|part| part == directive),
            "directive `{directive}`"
        );
    }
    assert!(!CONTENT_SECURITY_POLICY.contains("unsafe"));
}

#[tokio::test]
async fn shell_has_no_inline_script_or_style() {
    let server = TestServer::start(&all(), None).await;
    let (_, shell) = body_of(&server, "/").await;

    assert!(shell.contains(r#"<script type="module" src="/assets/app.js"></script>"#));
    assert_eq!(shell.matches("<script").count(), 1, "{shell}");
    assert!(!shell.contains("style="), "{shell}");
    assert!(!shell.contains("<style"), "{shell}");
    let handlers: Vec<&str> = shell
        .split_whitespace()
        .filter(|word| word.starts_with("on") && word.contains('='))
        .collect();
    assert!(handlers.is_empty(), "event handler attributes {handlers:?}");
    assert!(shell.contains("<main id=\"main\""), "{shell}");
}

#[tokio::test]
async fn assets_have_their_content_types() {
    let server = TestServer::start(&all(), None).await;
    for (path, content_type) in ASSETS {
        let response = server.get(path).await;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await.unwrap();

        assert_eq!(status, 200, "path `{path}`");
        assert_eq!(headers["content-type"], content_type, "path `{path}`");
        assert_eq!(headers["cache-control"], "no-cache", "path `{path}`");
        assert!(headers.contains_key("etag"), "path `{path}`");
        assert_eq!(
            headers["content-security-policy"], CONTENT_SECURITY_POLICY,
            "path `{path}`"
        );
        assert!(!body.is_empty(), "path `{path}`");
    }
}

#[tokio::test]
async fn scripts_import_only_served_assets() {
    let server = TestServer::start(&all(), None).await;
    let served: Vec<&str> = ASSETS.iter().map(|(path, _)| *path).collect();
    for (path, content_type) in ASSETS {
        if !content_type.starts_with("text/javascript") {
            continue;
        }
        let (_, script) = body_of(&server, path).await;
        for line in script.lines().filter(|line| line.contains(" from \"./")) {
            let module = line.split("from \"./").nth(1).unwrap();
            let module = module.split('"').next().unwrap();
            let asset = format!("/assets/{module}");
            assert!(
                served.contains(&asset.as_str()),
                "`{path}` imports `{asset}`"
            );
        }
        assert!(!script.contains("innerHTML"), "`{path}` uses innerHTML");
        assert!(
            !script.contains("insertAdjacentHTML"),
            "`{path}` uses insertAdjacentHTML"
        );
        assert!(!script.contains("eval("), "`{path}` uses eval");
    }
}

#[tokio::test]
async fn matching_etag_returns_not_modified() {
    let server = TestServer::start(&all(), None).await;
    for path in ["/", "/assets/app.js", "/assets/style.css"] {
        let first = server.get(path).await;
        let etag = first.headers()["etag"].to_str().unwrap().to_owned();
        assert!(
            etag.starts_with('"') && etag.ends_with('"'),
            "etag `{etag}`"
        );

        let again = server
            .client
            .get(server.url(path))
            .header("if-none-match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status().as_u16(), 304, "path `{path}`");
        assert_eq!(again.headers()["etag"], etag.as_str(), "path `{path}`");

        let stale = server
            .client
            .get(server.url(path))
            .header("if-none-match", "\"0000000000000000\"")
            .send()
            .await
            .unwrap();
        assert_eq!(stale.status().as_u16(), 200, "path `{path}`");
    }
}

#[tokio::test]
async fn unknown_asset_is_json_404() {
    let server = TestServer::start(&all(), None).await;
    let (status, body) = server.json("/assets/missing.js").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"], "asset `missing.js` not found");
}

#[tokio::test]
async fn unknown_api_path_stays_json_404() {
    let server = TestServer::start(&all(), None).await;
    for path in ["/api/v1/unknown", "/api/v2/terminations", "/api/", "/api"] {
        let response = server.get(path).await;
        let status = response.status().as_u16();
        let content_type = response.headers()["content-type"].clone();
        let body: serde_json::Value = response.json().await.unwrap();

        assert_eq!(status, 404, "path `{path}`");
        assert_eq!(content_type, "application/json", "path `{path}`");
        assert_eq!(body["error"], format!("route `{path}` not found"));
    }
}

#[tokio::test]
async fn trailing_slash_redirects_to_page() {
    let server = TestServer::start(&all(), None).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let cases = [
        ("/terminations/", "/terminations"),
        (
            "/terminations/?cause=oom_killed",
            "/terminations?cause=oom_killed",
        ),
        ("/terminations/abc/", "/terminations/abc"),
        ("/pods/shop/api-0/", "/pods/shop/api-0"),
    ];
    for (path, target) in cases {
        let response = client.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 308, "path `{path}`");
        assert_eq!(response.headers()["location"], target, "path `{path}`");
    }

    let (status, _) = server.json("/api/v1/terminations/").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn api_responses_carry_csp() {
    let server = TestServer::start(&all(), None).await;
    let response = server.get("/api/v1/terminations").await;
    assert_eq!(
        response.headers()["content-security-policy"],
        CONTENT_SECURITY_POLICY
    );
    assert_eq!(response.headers()["referrer-policy"], "no-referrer");
}

#[tokio::test]
async fn page_and_assets_need_no_token() {
    let server = TestServer::start(&all(), Some(TOKEN)).await;
    let paths = PAGE_PATHS
        .iter()
        .copied()
        .chain(ASSETS.iter().map(|(path, _)| *path));
    for path in paths {
        assert_eq!(
            server.get(path).await.status().as_u16(),
            200,
            "path `{path}`"
        );
    }
}

#[tokio::test]
async fn api_still_needs_token_with_page() {
    let server = TestServer::start(&all(), Some(TOKEN)).await;
    for path in [
        "/api/v1/terminations",
        "/api/v1/summary",
        "/api/v1/pods/shop/api-7d9f8c6b5d-x2k4q",
        "/metrics",
    ] {
        let (status, body) = server.json(path).await;
        assert_eq!(status, 401, "path `{path}`");
        assert!(
            body["error"].as_str().unwrap().contains("bearer token"),
            "path `{path}`"
        );
    }
}

async fn body_of(server: &TestServer, path: &str) -> (u16, String) {
    let response = server.get(path).await;
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}
