//! `podmortem serve` over real HTTP on loopback, against a real SQLite file.

mod serve_support;
mod store_fixtures;

use std::collections::HashSet;

use jiff::{SignedDuration, Timestamp};
use podmortem::model::{CauseKind, LogLine, Stream, Termination};
use serve_support::{TestServer, pods};
use store_fixtures::{all, bare, oom_killed, time};

const OOM_POD: &str = "api-7d9f8c6b5d-x2k4q";
const CART_POD: &str = "cart-6f7b9d8c4-z9x8w";
const WEB_POD: &str = "web-5c8d7f9b6-qk2lm";
const RENDER_POD: &str = "render-0";
const REPORT_POD: &str = "report-28461330-7xk2p";

#[tokio::test]
async fn list_returns_newest_first() {
    let server = TestServer::start(&all(), None).await;
    let (status, page) = server.json("/api/v1/terminations").await;

    assert_eq!(status, 200);
    assert_eq!(pods(&page), [OOM_POD, CART_POD, WEB_POD, RENDER_POD]);
    assert!(page["next_cursor"].is_null());
}

#[tokio::test]
async fn list_items_match_record_json() {
    let record = oom_killed();
    let server = TestServer::start(std::slice::from_ref(&record), None).await;
    let (_, page) = server.json("/api/v1/terminations").await;

    let item: Termination = serde_json::from_value(page["items"][0].clone()).unwrap();
    assert_eq!(item, record);
    assert_eq!(page["items"][0], serde_json::to_value(&record).unwrap());
}

#[tokio::test]
async fn merged_items_match_fresh_encoding() {
    let richer = oom_killed();
    let mut first = richer.clone();
    first.log_tail.clear();
    first.events.clear();
    first.owner = None;
    let server = TestServer::start(&[first, richer.clone()], None).await;

    let (_, page) = server.json("/api/v1/terminations").await;
    // `get` decodes the stored record and encodes it again, so it is a fresh encoding.
    let (_, fresh) = server
        .json(&format!("/api/v1/terminations/{}", richer.id))
        .await;
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    assert_eq!(page["items"][0], fresh);
    assert_eq!(page["items"][0]["owner"]["name"], "api-7d9f8c6b5d");
}

#[tokio::test]
async fn list_filters_each_parameter() {
    let server = TestServer::start(&all(), None).await;
    let cases: [(&str, &[&str]); 11] = [
        ("namespace=shop", &[OOM_POD, CART_POD]),
        ("pod=render-0", &[RENDER_POD]),
        ("container=web", &[WEB_POD]),
        ("cause=oom_killed", &[OOM_POD]),
        ("since=2024-02-07T13:59:09Z", &[OOM_POD, CART_POD, WEB_POD]),
        ("until=2024-02-07T13:59:09Z", &[WEB_POD, RENDER_POD]),
        (
            "all=true",
            &[OOM_POD, CART_POD, WEB_POD, REPORT_POD, RENDER_POD],
        ),
        ("all=true&namespace=batch", &[REPORT_POD, RENDER_POD]),
        ("cause=completed", &[]),
        ("cause=completed&all=true", &[REPORT_POD]),
        ("namespace=shop&cause=app_error", &[CART_POD]),
    ];
    for (query, expected) in cases {
        let (status, page) = server.json(&format!("/api/v1/terminations?{query}")).await;
        assert_eq!(status, 200, "query `{query}`");
        assert_eq!(pods(&page), expected, "query `{query}`");
    }
}

#[tokio::test]
async fn since_accepts_duration_before_now() {
    let mut recent = bare("shop", "now-pod", "app", 0);
    recent.finished_at = Some(Timestamp::now() - SignedDuration::from_mins(5));
    let mut records = all();
    records.push(recent);
    let server = TestServer::start(&records, None).await;

    let (_, page) = server.json("/api/v1/terminations?since=1h").await;
    assert_eq!(pods(&page), ["now-pod"]);
}

/// Records in few distinct microseconds, so pages end inside groups of equal times.
fn tied_records(count: u32) -> Vec<Termination> {
    (0..count)
        .map(|n| {
            let mut record = bare("ns", &format!("pod-{n:03}"), "app", n);
            let second = i64::from(n % 7) * 60;
            record.finished_at =
                Some(time("2024-03-01T00:00:00Z") + SignedDuration::from_secs(second));
            record
        })
        .collect()
}

async fn collect_pages(server: &TestServer, query: &str) -> (Vec<String>, usize) {
    let mut ids = Vec::new();
    let mut pages = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/api/v1/terminations?{query}&cursor={cursor}"),
            None => format!("/api/v1/terminations?{query}"),
        };
        let (status, page) = server.json(&path).await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        for item in page["items"].as_array().unwrap() {
            ids.push(item["id"].as_str().unwrap().to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return (ids, pages),
        }
        assert!(pages < 1000, "pagination does not end");
    }
}

#[tokio::test]
async fn pages_have_no_duplicates_or_gaps() {
    let records = tied_records(230);
    let server = TestServer::start(&records, None).await;

    for limit in [1, 7, 17, 33, 50, 229, 230, 1000] {
        let (ids, pages) = collect_pages(&server, &format!("limit={limit}")).await;
        let unique: HashSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "duplicates with limit {limit}");
        assert_eq!(ids.len(), records.len(), "gaps with limit {limit}");
        assert_eq!(
            pages,
            records.len().div_ceil(limit).max(1),
            "pages with limit {limit}"
        );
    }
}

#[tokio::test]
async fn pages_follow_time_then_id() {
    let records = tied_records(40);
    let server = TestServer::start(&records, None).await;
    let (ids, _) = collect_pages(&server, "limit=6").await;

    let mut expected: Vec<(Timestamp, String)> = records
        .iter()
        .map(|record| (record.occurred_at(), record.id.clone()))
        .collect();
    expected.sort();
    expected.reverse();
    let expected: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();
    assert_eq!(ids, expected);
}

#[tokio::test]
async fn pages_keep_the_filter() {
    let mut records = tied_records(60);
    for record in records.iter_mut().step_by(3) {
        record.namespace = "other".into();
    }
    let server = TestServer::start(&records, None).await;

    let (ids, _) = collect_pages(&server, "namespace=ns&limit=4").await;
    assert_eq!(ids.len(), 40);
}

#[tokio::test]
async fn bad_parameters_name_parameter_and_value() {
    let server = TestServer::start(&all(), None).await;
    let cases = [
        ("limit=0", "`limit`", "`0`"),
        ("limit=1001", "`limit`", "`1001`"),
        ("limit=ten", "`limit`", "`ten`"),
        ("cause=sad", "`cause`", "`sad`"),
        ("since=yesterday", "`since`", "`yesterday`"),
        ("until=soon", "`until`", "`soon`"),
        ("all=maybe", "`all`", "`maybe`"),
        ("cursor=garbage", "`cursor`", "`garbage`"),
        ("colour=red", "`colour`", "unknown"),
    ];
    for (query, name, value) in cases {
        let (status, body) = server.json(&format!("/api/v1/terminations?{query}")).await;
        let message = body["error"].as_str().unwrap();
        assert_eq!(status, 400, "query `{query}`");
        assert!(message.contains(name), "query `{query}`: {message}");
        assert!(message.contains(value), "query `{query}`: {message}");
    }
}

#[tokio::test]
async fn get_returns_one_record() {
    let record = oom_killed();
    let server = TestServer::start(&all(), None).await;
    let (status, body) = server
        .json(&format!("/api/v1/terminations/{}", record.id))
        .await;

    assert_eq!(status, 200);
    assert_eq!(body, serde_json::to_value(&record).unwrap());
}

#[tokio::test]
async fn unknown_id_is_json_404() {
    let server = TestServer::start(&all(), None).await;
    let response = server.get("/api/v1/terminations/no-such-id").await;
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap();

    assert_eq!(status, 404);
    assert_eq!(content_type, "application/json");
    assert!(body["error"].as_str().unwrap().contains("`no-such-id`"));
}

#[tokio::test]
async fn unknown_route_is_json_404() {
    let server = TestServer::start(&all(), None).await;
    let (status, body) = server.json("/api/v2/nothing").await;

    assert_eq!(status, 404);
    assert!(body["error"].as_str().unwrap().contains("/api/v2/nothing"));
}

#[tokio::test]
async fn pod_history_includes_expected_exits() {
    let mut older = bare("batch", REPORT_POD, "report", 1);
    older.finished_at = Some(time("2024-02-07T12:30:00Z"));
    let mut records = all();
    records.push(older.clone());
    let server = TestServer::start(&records, None).await;

    let (status, page) = server
        .json(&format!("/api/v1/pods/batch/{REPORT_POD}"))
        .await;
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap())
        .collect();
    assert_eq!(status, 200);
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[0], older.id);
}

#[tokio::test]
async fn pod_history_filters_container() {
    let mut sidecar = bare("shop", OOM_POD, "proxy", 0);
    sidecar.finished_at = Some(time("2024-02-07T15:00:00Z"));
    let mut records = all();
    records.push(sidecar);
    let server = TestServer::start(&records, None).await;

    let (_, both) = server.json(&format!("/api/v1/pods/shop/{OOM_POD}")).await;
    let (_, proxy) = server
        .json(&format!("/api/v1/pods/shop/{OOM_POD}?container=proxy"))
        .await;
    assert_eq!(both["items"].as_array().unwrap().len(), 2);
    assert_eq!(proxy["items"].as_array().unwrap().len(), 1);
    assert_eq!(proxy["items"][0]["container"], "proxy");
}

#[tokio::test]
async fn summary_counts_by_cause_namespace_hour() {
    let server = TestServer::start(&all(), None).await;
    let (status, body) = server
        .json("/api/v1/summary?since=2024-02-07T00:00:00Z")
        .await;

    assert_eq!(status, 200);
    assert_eq!(body["total"], 4);
    assert_eq!(body["by_cause"]["oom_killed"], 1);
    assert_eq!(body["by_cause"]["crashed"], 1);
    assert!(body["by_cause"]["completed"].is_null());
    assert_eq!(body["by_namespace"]["shop"], 2);
    assert_eq!(body["by_namespace"]["batch"], 1);
    assert_eq!(body["by_hour"]["2024-02-07T15:00:00Z"], 1);
    assert_eq!(body["by_hour"]["2024-02-07T13:00:00Z"], 1);
    assert_eq!(body["by_hour"]["2024-02-07T14:00:00Z"], 1);
}

#[tokio::test]
async fn summary_counts_by_hour_and_cause() {
    let server = TestServer::start(&all(), None).await;
    let (status, body) = server
        .json("/api/v1/summary?since=2024-02-07T00:00:00Z")
        .await;
    let by_hour_and_cause = &body["by_hour_and_cause"];

    assert_eq!(status, 200);
    assert_eq!(body["since"], "2024-02-07T00:00:00Z");
    assert!(body["until"].is_null());
    assert_eq!(by_hour_and_cause["2024-02-07T15:00:00Z"]["oom_killed"], 1);
    assert_eq!(by_hour_and_cause["2024-02-07T14:00:00Z"]["app_error"], 1);
    assert_eq!(
        by_hour_and_cause["2024-02-07T13:00:00Z"]["liveness_probe"],
        1
    );
    assert_eq!(by_hour_and_cause["2024-02-07T11:00:00Z"]["crashed"], 1);
    assert_eq!(by_hour_and_cause.as_object().unwrap().len(), 4);
    assert_eq!(body["by_hour"]["2024-02-07T11:00:00Z"], 1);
}

#[tokio::test]
async fn summary_counts_by_bucket() {
    let server = TestServer::start(&all(), None).await;
    let window = "since=2024-02-07T00:00:00Z&until=2024-02-08T00:00:00Z";
    let (status, quarter) = server
        .json(&format!("/api/v1/summary?{window}&bucket=15m"))
        .await;
    let (_, daily) = server
        .json(&format!("/api/v1/summary?{window}&bucket=1d"))
        .await;
    let (_, default) = server.json(&format!("/api/v1/summary?{window}")).await;

    let buckets = &quarter["by_bucket_and_cause"];
    assert_eq!(status, 200);
    assert_eq!(quarter["bucket_seconds"], 900);
    assert_eq!(buckets["2024-02-07T15:15:00Z"]["oom_killed"], 1);
    assert_eq!(buckets["2024-02-07T13:45:00Z"]["liveness_probe"], 1);
    assert_eq!(buckets["2024-02-07T11:30:00Z"]["crashed"], 1);
    assert_eq!(quarter["by_hour"]["2024-02-07T11:00:00Z"], 1);
    assert_eq!(daily["bucket_seconds"], 86_400);
    let day = daily["by_bucket_and_cause"]["2024-02-07T00:00:00Z"]
        .as_object()
        .unwrap();
    assert_eq!(
        day.values()
            .map(|count| count.as_u64().unwrap())
            .sum::<u64>(),
        4
    );
    assert_eq!(daily["by_hour"], default["by_hour"]);
    assert_eq!(default["bucket_seconds"], 3600);
    assert_eq!(default["by_bucket_and_cause"], default["by_hour_and_cause"]);
}

#[tokio::test]
async fn summary_rejects_bad_buckets() {
    let server = TestServer::start(&all(), None).await;
    let cases = [
        ("bucket=2m&since=1h", "expected one of 1m, 5m, 15m, 1h, 1d"),
        ("bucket=1m&since=2024-02-07T00:00:00Z", "at most 7 days"),
    ];
    for (query, reason) in cases {
        let (status, body) = server.json(&format!("/api/v1/summary?{query}")).await;
        let message = body["error"].as_str().unwrap();
        assert_eq!(status, 400, "{query}");
        assert!(message.contains("`bucket`"), "{message}");
        assert!(message.contains(reason), "{message}");
    }
}

#[tokio::test]
async fn summary_groups_by_workload() {
    let mut records = all();
    for (n, pod) in ["api-7d9f8c6b5d-a1b2c", "api-7d9f8c6b5d-d3e4f"]
        .into_iter()
        .enumerate()
    {
        let mut record = oom_killed();
        record.id = format!("extra-{n}");
        record.pod = pod.to_owned();
        record.finished_at = Some(time("2024-02-07T15:30:00Z"));
        record.log_last_at = None;
        record.events.clear();
        records.push(record);
    }
    let server = TestServer::start(&records, None).await;

    let (status, body) = server
        .json("/api/v1/summary?since=2024-02-07T00:00:00Z")
        .await;
    let top = body["top_workloads"].as_array().unwrap();
    assert_eq!(status, 200);
    assert_eq!(top.len(), 4);
    assert_eq!(
        top[0],
        serde_json::json!({
            "namespace": "shop",
            "kind": "Deployment",
            "name": "api",
            "count": 3,
            "last_at": "2024-02-07T15:30:00Z",
            "by_cause": {"oom_killed": 3},
        })
    );
    let cart = top
        .iter()
        .find(|workload| workload["kind"] == "Pod")
        .expect("the record without an owner is counted as its pod");
    assert_eq!(cart["name"], CART_POD);
    assert_eq!(cart["namespace"], "shop");
    assert_eq!(cart["count"], 1);
    assert_eq!(cart["by_cause"], serde_json::json!({"app_error": 1}));
}

#[tokio::test]
async fn list_filters_by_workload() {
    let server = TestServer::start(&all(), None).await;
    let cases: [(&str, &[&str]); 5] = [
        ("workload=Deployment/api", &[OOM_POD]),
        ("workload=Deployment/web&namespace=web", &[WEB_POD]),
        ("workload=StatefulSet/render", &[RENDER_POD]),
        ("workload=Pod/cart-6f7b9d8c4-z9x8w", &[CART_POD]),
        ("workload=CronJob/report&all=true", &[REPORT_POD]),
    ];
    for (query, expected) in cases {
        let (status, page) = server.json(&format!("/api/v1/terminations?{query}")).await;
        assert_eq!(status, 200, "{query}");
        assert_eq!(pods(&page), expected, "{query}");
    }
}

#[tokio::test]
async fn invalid_workload_names_the_parameter() {
    let server = TestServer::start(&all(), None).await;
    for value in ["Deployment", "/api", "Deployment/", "a/b/c"] {
        let (status, body) = server
            .json(&format!("/api/v1/terminations?workload={value}"))
            .await;
        let message = body["error"].as_str().unwrap();
        assert_eq!(status, 400, "{value}");
        assert!(message.contains("`workload`"), "{message}");
        assert!(message.contains("KIND/NAME"), "{message}");
    }
}

#[tokio::test]
async fn summary_keeps_ten_top_workloads() {
    let records: Vec<Termination> = (0..12)
        .flat_map(|n| {
            // Pod `pod-{n}` has `n % 3 + 1` records, so counts tie in groups of four.
            (0..=(n % 3)).map(move |restart| {
                let mut record = bare("ns", &format!("pod-{n:02}"), "app", restart);
                record.finished_at =
                    Some(time("2024-03-01T00:00:00Z") + SignedDuration::from_mins(i64::from(n)));
                record
            })
        })
        .collect();
    let server = TestServer::start(&records, None).await;

    let (_, body) = server
        .json("/api/v1/summary?since=2024-03-01T00:00:00Z")
        .await;
    let names: Vec<&str> = body["top_workloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|workload| workload["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "pod-11", "pod-08", "pod-05", "pod-02", "pod-10", "pod-07", "pod-04", "pod-01",
            "pod-09", "pod-06"
        ]
    );
    assert_eq!(body["top_workloads"][0]["kind"], "Pod");
    assert_eq!(body["top_workloads"][0]["count"], 3);
    assert_eq!(body["total"], 24);
}

#[tokio::test]
async fn summary_applies_each_filter() {
    let server = TestServer::start(&all(), None).await;
    let since = "since=2024-02-07T00:00:00Z";
    let cases = [
        ("namespace=shop", 2),
        ("namespace=batch", 1),
        ("namespace=none", 0),
        ("cause=oom_killed", 1),
        ("cause=completed", 0),
        ("cause=completed&all=true", 1),
        ("until=2024-02-07T14:30:00Z", 3),
        ("until=2024-02-07T14:30:00Z&namespace=shop", 1),
        ("all=true", 5),
        ("all=true&namespace=batch", 2),
    ];
    for (query, total) in cases {
        let (status, body) = server
            .json(&format!("/api/v1/summary?{since}&{query}"))
            .await;
        assert_eq!(status, 200, "query `{query}`: {body}");
        assert_eq!(body["total"], total, "query `{query}`");
    }

    let (_, body) = server
        .json(&format!(
            "/api/v1/summary?{since}&until=2024-02-07T14:30:00Z"
        ))
        .await;
    assert_eq!(body["until"], "2024-02-07T14:30:00Z");
    assert!(body["by_cause"]["oom_killed"].is_null());
}

#[tokio::test]
async fn summary_rejects_bad_parameters() {
    let server = TestServer::start(&all(), None).await;
    let cases = [
        ("cause=sad", "`cause`"),
        ("until=soon", "`until`"),
        ("all=maybe", "`all`"),
        ("pod=api", "`pod`"),
        ("limit=5", "`limit`"),
    ];
    for (query, name) in cases {
        let (status, body) = server.json(&format!("/api/v1/summary?{query}")).await;
        assert_eq!(status, 400, "query `{query}`");
        assert!(
            body["error"].as_str().unwrap().contains(name),
            "query `{query}`: {body}"
        );
    }
}

#[tokio::test]
async fn summary_defaults_to_last_day() {
    let mut recent = bare("shop", "now-pod", "app", 0);
    recent.finished_at = Some(Timestamp::now() - SignedDuration::from_hours(2));
    let mut records = all();
    records.push(recent);
    let server = TestServer::start(&records, None).await;

    let (_, body) = server.json("/api/v1/summary").await;
    let (_, everything) = server
        .json("/api/v1/summary?since=2000-01-01T00:00:00Z&all=true")
        .await;
    assert_eq!(body["total"], 1);
    assert_eq!(everything["total"], 6);
}

#[tokio::test]
async fn hostile_content_round_trips_exactly() {
    let mut record = oom_killed();
    record.message = Some("<script>alert(\"x\")</script>\u{0}\u{1b}[31m'\"\\\r\n\u{7f}".into());
    record.log_tail.push(LogLine {
        time: None,
        stream: Stream::Stdout,
        text: "A".repeat(1024 * 1024),
        partial: false,
    });
    let server = TestServer::start(std::slice::from_ref(&record), None).await;

    let response = server
        .get(&format!("/api/v1/terminations/{}", record.id))
        .await;
    let nosniff = response.headers()["x-content-type-options"].clone();
    let text = response.text().await.unwrap();
    let back: Termination = serde_json::from_str(&text).unwrap();
    assert_eq!(nosniff, "nosniff");
    assert_eq!(back, record);
    assert!(!text.contains("<script>\u{0}"));
}

#[tokio::test]
async fn since_after_until_is_rejected() {
    let server = TestServer::start(&all(), None).await;
    let (status, body) = server
        .json("/api/v1/terminations?since=2024-02-08T00:00:00Z&until=2024-02-07T00:00:00Z")
        .await;

    let message = body["error"].as_str().unwrap();
    assert_eq!(status, 400);
    assert!(message.contains("`until`"), "{message}");
    assert!(message.contains("before `since`"), "{message}");
}

#[tokio::test]
async fn long_values_are_cut_in_errors() {
    let server = TestServer::start(&all(), None).await;
    let id = "x".repeat(60_000);
    let (status, body) = server.json(&format!("/api/v1/terminations/{id}")).await;

    let message = body["error"].as_str().unwrap();
    assert_eq!(status, 404);
    assert!(message.len() < 400, "{} bytes", message.len());
    assert!(message.contains('…'), "{message}");
}

#[tokio::test]
async fn names_at_kubernetes_length_limits() {
    let namespace = "n".repeat(63);
    let pod = "p".repeat(253);
    let container = "c".repeat(63);
    let mut record = bare(&namespace, &pod, &container, 0);
    record.finished_at = Some(time("2024-02-07T10:00:00Z"));
    record.cause.kind = CauseKind::AppError;
    let server = TestServer::start(std::slice::from_ref(&record), None).await;

    let (_, history) = server
        .json(&format!("/api/v1/pods/{namespace}/{pod}"))
        .await;
    let (_, listed) = server
        .json(&format!(
            "/api/v1/terminations?namespace={namespace}&pod={pod}&container={container}"
        ))
        .await;
    assert_eq!(history["items"][0]["pod"], pod.as_str());
    assert_eq!(listed["items"][0]["namespace"], namespace.as_str());
}

#[tokio::test]
async fn health_and_ready_return_ok() {
    let server = TestServer::start(&all(), None).await;
    let health = server.get("/healthz").await;
    let ready = server.get("/readyz").await;

    assert_eq!(health.status().as_u16(), 200);
    assert_eq!(ready.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_requests_all_succeed() {
    let server = TestServer::start(&tied_records(200), None).await;
    let paths = [
        "/api/v1/terminations?limit=7",
        "/api/v1/summary?since=2024-01-01T00:00:00Z",
        "/metrics",
        "/readyz",
    ];
    let requests = (0..32).map(|n| server.get(paths[n % paths.len()]));
    let responses = futures::future::join_all(requests).await;

    for (n, response) in responses.iter().enumerate() {
        assert_eq!(
            response.status().as_u16(),
            200,
            "{}",
            paths[n % paths.len()]
        );
    }
}

#[tokio::test]
async fn ready_fails_on_replaced_database() {
    let server = TestServer::start(&all(), None).await;
    let path = server.db_path();
    let replacement = path.with_extension("new");
    std::fs::write(&replacement, "not a database").unwrap();
    std::fs::rename(&replacement, &path).unwrap();

    let ready = server.get("/readyz").await;
    let health = server.get("/healthz").await;
    assert_eq!(ready.status().as_u16(), 503);
    assert_eq!(ready.text().await.unwrap(), "store not reachable\n");
    assert_eq!(health.status().as_u16(), 200);
}

#[tokio::test]
async fn ready_fails_on_removed_database() {
    let server = TestServer::start(&all(), None).await;
    let (status, _) = server.json("/api/v1/summary").await;
    assert_eq!(status, 200);
    let path = server.db_path();
    for suffix in ["", "-wal", "-shm"] {
        let file = format!("{}{suffix}", path.display());
        if std::path::Path::new(&file).exists() {
            std::fs::remove_file(&file).unwrap();
        }
    }

    let ready = server.get("/readyz").await;
    let health = server.get("/healthz").await;
    assert_eq!(ready.status().as_u16(), 503);
    assert_eq!(health.status().as_u16(), 200);
}

#[tokio::test]
async fn graceful_stop_returns_ok() {
    let server = TestServer::start(&all(), None).await;
    let (status, _) = server.json("/api/v1/terminations").await;

    assert_eq!(status, 200);
    assert!(server.stop().await.is_ok());
}

#[tokio::test]
async fn pod_history_pages_with_cursor() {
    let records: Vec<Termination> = (0..12)
        .map(|n| {
            let mut record = bare("ns", "busy-pod", "app", n);
            record.finished_at =
                Some(time("2024-03-01T00:00:00Z") + SignedDuration::from_secs(i64::from(n % 3)));
            record
        })
        .collect();
    let server = TestServer::start(&records, None).await;

    let (_, first) = server.json("/api/v1/pods/ns/busy-pod?limit=5").await;
    let cursor = first["next_cursor"].as_str().unwrap().to_owned();
    let (_, second) = server
        .json(&format!(
            "/api/v1/pods/ns/busy-pod?limit=10&cursor={cursor}"
        ))
        .await;
    let first_ids: HashSet<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap())
        .collect();
    let second_ids: HashSet<&str> = second["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap())
        .collect();
    assert_eq!(first_ids.len(), 5);
    assert_eq!(second_ids.len(), 7);
    assert!(first_ids.is_disjoint(&second_ids));
    assert!(second["next_cursor"].is_null());
}

#[tokio::test]
async fn store_failure_is_generic_500() {
    let record = oom_killed();
    let server = TestServer::start(std::slice::from_ref(&record), None).await;
    let connection = rusqlite::Connection::open(server.db_path()).unwrap();
    connection
        .execute("UPDATE termination SET record = 'not json'", [])
        .unwrap();

    let (status, body) = server
        .json(&format!("/api/v1/terminations/{}", record.id))
        .await;
    assert_eq!(status, 500);
    assert_eq!(body["error"], "internal error");
}

#[tokio::test]
async fn pages_keep_the_time_window() {
    let records = tied_records(70);
    let server = TestServer::start(&records, None).await;
    let since = time("2024-03-01T00:01:00Z");
    let until = time("2024-03-01T00:04:00Z");

    let query = format!("since={since}&until={until}&limit=4");
    let (ids, _) = collect_pages(&server, &query).await;
    let expected = records
        .iter()
        .filter(|record| (since..=until).contains(&record.occurred_at()))
        .count();
    assert_eq!(ids.len(), expected);
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), expected);
}
