//! The web page in headless Chromium, driven through chromedriver, against a real
//! `podmortem serve` router and SQLite file on loopback.
//!
//! Needs Debian's `chromium` and `chromium-driver` packages, and fails with that hint when
//! they are missing. Screenshots of each page are saved under `CARGO_TARGET_TMPDIR`.

mod browser_support;
mod serve_support;
mod store_fixtures;
mod web_fixtures;

use std::path::PathBuf;
use std::time::Instant;

use browser_support::Browser;
use jiff::Timestamp;
use podmortem::model::{Termination, termination_id};
use serde_json::{Value, json};
use serve_support::TestServer;
use web_fixtures::{
    CRASH_LOOP_EXITS, CRASH_LOOP_NAMESPACE, CRASH_LOOP_POD, HOSTILE_NAMESPACE, IMG_TAG,
    LONG_LINE_BYTES, LONG_STRINGS_NAMESPACE, OOM_KILLS, PAGING_NAMESPACE, SCRIPT_TAG, cut_key_line,
    hostile, long_strings, longest_names, old_exit, paged_exits, realistic_cluster,
};

const TOKEN: &str = "browser-test-token";
const ENTER: &str = "\u{E007}";
const ESCAPE: &str = "\u{E00C}";
/// Records in the paging namespace: one full page of 50 and a second page of 10.
const PAGED_EXITS: u32 = 60;
const PAGE_SIZE: usize = 50;

/// Records page errors and CSP violations from now on in `window.__testErrors`. A page
/// load clears it, so the tests install it again after each `goto`.
const ERROR_HOOKS: &str = r#"
if (!window.__testErrors) {
  window.__testErrors = [];
  document.addEventListener("securitypolicyviolation", (event) => {
    window.__testErrors.push(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI}`);
  });
  window.addEventListener("error", (event) => {
    window.__testErrors.push(`error: ${event.message}`);
  });
  window.addEventListener("unhandledrejection", (event) => {
    window.__testErrors.push(`unhandled rejection: ${event.reason}`);
  });
}
return true;
"#;

fn screenshot_folder() -> PathBuf {
    let folder = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("web-screenshots");
    fs_err::create_dir_all(&folder).unwrap();
    folder
}

fn store(now: Timestamp) -> Vec<Termination> {
    let mut records = realistic_cluster(now);
    records.push(hostile(now));
    records.push(longest_names(now));
    records.push(cut_key_line(now));
    records.extend(paged_exits(now, PAGED_EXITS));
    records
}

fn record_id(record: &Termination) -> String {
    termination_id(&record.pod_uid, &record.container, record.restart_count)
}

async fn open(browser: &Browser, url: &str) {
    browser.goto(url).await;
    browser.execute(ERROR_HOOKS, json!([])).await;
}

/// Checks that no markup from the records ran and that the page logged no error or CSP
/// violation, in the hooks or in Chromium's console.
async fn assert_clean(browser: &Browser, step: &str) {
    let pwned = browser
        .execute("return typeof window.__pwned;", json!([]))
        .await;
    assert_eq!(
        pwned, "undefined",
        "window.__pwned was set at step `{step}`"
    );

    let errors = browser
        .execute("return window.__testErrors || [];", json!([]))
        .await;
    assert_eq!(errors, json!([]), "page errors at step `{step}`");

    let severe: Vec<Value> = browser
        .console_log()
        .await
        .into_iter()
        .filter(|entry| entry["level"] == "SEVERE")
        .collect();
    assert!(
        severe.is_empty(),
        "console errors at step `{step}`: {severe:?}"
    );
}

async fn row_ids(browser: &Browser) -> Vec<String> {
    let value = browser
        .execute(
            "return [...document.querySelectorAll('tr.row-link')].map((row) => row.dataset.id);",
            json!([]),
        )
        .await;
    serde_json::from_value(value).unwrap()
}

async fn row_causes(browser: &Browser) -> Vec<String> {
    let value = browser
        .execute(
            "return [...document.querySelectorAll('tr.row-link')].map((row) => row.dataset.cause);",
            json!([]),
        )
        .await;
    serde_json::from_value(value).unwrap()
}

async fn location(browser: &Browser) -> (String, String) {
    let value = browser
        .execute("return [location.pathname, location.search];", json!([]))
        .await;
    (
        value[0].as_str().unwrap().to_owned(),
        value[1].as_str().unwrap().to_owned(),
    )
}

/// Returns the text of every element that matches `selector`, in document order.
async fn texts(browser: &Browser, selector: &str) -> Vec<String> {
    let value = browser
        .execute(
            "return [...document.querySelectorAll(arguments[0])].map((e) => e.textContent);",
            json!([selector]),
        )
        .await;
    serde_json::from_value(value).unwrap()
}

/// Returns how many CSS pixels the document is wider than the viewport.
async fn horizontal_overflow(browser: &Browser) -> i64 {
    let value = browser
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            json!([]),
        )
        .await;
    value.as_i64().unwrap()
}

/// Returns the x positions of the timeline's tick labels, left to right.
async fn timeline_tick_positions(browser: &Browser) -> Vec<f64> {
    let value = browser
        .execute(
            "return [...document.querySelectorAll('svg.timeline text.x-tick')].map((t) => Number(t.getAttribute('x')));",
            json!([]),
        )
        .await;
    serde_json::from_value(value).unwrap()
}

/// Checks that the timeline has at least two tick labels, all different, at equal distances.
async fn assert_even_distinct_ticks(browser: &Browser, step: &str) {
    let labels = texts(browser, "svg.timeline text.x-tick").await;
    assert!(
        labels.len() >= 2,
        "tick labels at step `{step}`: {labels:?}"
    );
    let mut distinct = labels.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        labels.len(),
        "repeated tick labels at step `{step}`: {labels:?}"
    );
    let positions = timeline_tick_positions(browser).await;
    let gaps: Vec<f64> = positions.windows(2).map(|pair| pair[1] - pair[0]).collect();
    for gap in &gaps {
        assert!(
            (gap - gaps[0]).abs() < 0.01,
            "uneven tick gaps at step `{step}`: {gaps:?}"
        );
    }
}

/// Returns the chart's bar totals, read from each bar's `<title>` ("…: 3 exits (…)").
async fn bar_totals(browser: &Browser) -> Vec<u64> {
    let titles = texts(browser, "svg.chart g.bar > title").await;
    titles
        .iter()
        .map(|title| {
            let count = title
                .split(": ")
                .nth(1)
                .and_then(|rest| rest.split(' ').next())
                .unwrap_or_else(|| panic!("bar title without a count: {title}"));
            count.parse().unwrap()
        })
        .collect()
}

async fn save(browser: &Browser, name: &str) {
    let path = screenshot_folder().join(name);
    browser.screenshot(&path).await;
    println!("screenshot {}", path.display());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_render_and_escape_records() {
    let started = Instant::now();
    let now = Timestamp::now();
    let records = store(now);
    let hostile_record = hostile(now);
    let hostile_id = record_id(&hostile_record);
    let server = TestServer::start(&records, None).await;
    let browser = Browser::start().await;
    println!("screenshots go to {}", screenshot_folder().display());

    // Overview: the chart, its legend and the top workloads.
    open(&browser, &server.url("/")).await;
    browser.wait_for("svg.chart rect.segment").await;
    let segments = browser.find_all("svg.chart rect.segment").await;
    assert!(!segments.is_empty(), "chart has no segments");
    let legend = browser.find_all("ul.legend li").await;
    assert!(legend.len() >= 5, "legend has {} causes", legend.len());
    let first_workload = browser.wait_for("table.workloads tbody tr").await;
    let first_workload_text = browser.text(&first_workload).await;
    assert!(
        first_workload_text.contains("Deployment/ledger"),
        "{first_workload_text}"
    );
    assert!(
        first_workload_text.contains(&CRASH_LOOP_EXITS.to_string()),
        "{first_workload_text}"
    );
    save(&browser, "overview.png").await;
    assert_clean(&browser, "overview").await;

    // The window picker keeps the window in the URL.
    let week = browser.wait_for("a[data-window='7d']").await;
    browser.click(&week).await;
    browser
        .wait_until(
            "the 7d window",
            "return location.search === '?window=7d' \
             && document.querySelector(\"a[data-window='7d']\")?.getAttribute('aria-current') === 'true' \
             && document.querySelector('svg.chart') !== null;",
        )
        .await;
    assert_clean(&browser, "overview 7d").await;

    // A top workload links to the list of its exits.
    let workload_link = browser.wait_for("table.workloads tbody tr a").await;
    browser.click(&workload_link).await;
    browser
        .wait_until(
            "the workload list",
            "return location.pathname === '/terminations' && document.querySelector('tr.row-link') !== null;",
        )
        .await;
    let pods = browser
        .execute(
            "return [...document.querySelectorAll('tr.row-link td:nth-child(3)')].map((cell) => cell.textContent);",
            json!([]),
        )
        .await;
    let pods: Vec<String> = serde_json::from_value(pods).unwrap();
    assert_eq!(pods.len(), CRASH_LOOP_EXITS as usize, "{pods:?}");
    assert!(pods.iter().all(|pod| pod == CRASH_LOOP_POD), "{pods:?}");
    assert_clean(&browser, "workload list").await;

    // The list, filtered by cause through the form.
    open(&browser, &server.url("/terminations")).await;
    browser.wait_for("tr.row-link").await;
    let unfiltered = row_ids(&browser).await;
    let option = browser
        .wait_for("#filter-cause option[value='oom_killed']")
        .await;
    browser.click(&option).await;
    let apply = browser.wait_for("#apply-filters").await;
    browser.click(&apply).await;
    browser
        .wait_until(
            "the cause filter in the URL",
            "return location.search.includes('cause=oom_killed') \
             && [...document.querySelectorAll('tr.row-link')].length > 0;",
        )
        .await;
    let (pathname, search) = location(&browser).await;
    assert_eq!(pathname, "/terminations");
    assert_eq!(search, "?cause=oom_killed");
    let causes = row_causes(&browser).await;
    assert_eq!(causes.len(), OOM_KILLS, "{causes:?}");
    assert!(
        causes.iter().all(|cause| cause == "oom_killed"),
        "{causes:?}"
    );
    assert!(unfiltered.len() > causes.len());
    let filtered_ids = row_ids(&browser).await;
    let filtered_url = browser.current_url().await;
    save(&browser, "list.png").await;
    assert_clean(&browser, "cause filter").await;

    // Tab alone reaches the filters, the Apply button and the rows, each with a focus ring.
    browser
        .execute(
            "document.activeElement.blur(); window.scrollTo(0, 0);",
            json!([]),
        )
        .await;
    let mut reached = Vec::new();
    for _ in 0..40 {
        browser.press_keys("\u{E004}").await;
        let focused = browser
            .execute(
                "const e = document.activeElement; \
                 return [e.id || e.tagName.toLowerCase() + '.' + e.className, \
                 getComputedStyle(e).outlineStyle];",
                json!([]),
            )
            .await;
        let name = focused[0].as_str().unwrap().to_owned();
        assert_eq!(focused[1], "solid", "focus ring of `{name}`");
        let done = name.starts_with("tr.");
        reached.push(name);
        if done {
            break;
        }
    }
    for expected in [
        "filter-namespace",
        "filter-cause",
        "filter-all",
        "apply-filters",
    ] {
        assert!(
            reached.iter().any(|name| name == expected),
            "Tab never reached `{expected}`: {reached:?}"
        );
    }
    assert!(
        reached.last().unwrap().starts_with("tr.row-link"),
        "Tab never reached a row: {reached:?}"
    );

    // `/` focuses the first filter.
    browser
        .execute("document.activeElement.blur();", json!([]))
        .await;
    browser.press_keys("/").await;
    let focused = browser
        .execute("return document.activeElement.id;", json!([]))
        .await;
    assert_eq!(focused, "filter-namespace");

    // Enter opens the focused row, and Escape goes back to the filtered list.
    browser
        .execute("document.querySelector('tr.row-link').focus();", json!([]))
        .await;
    browser.press_keys(ENTER).await;
    browser.wait_for("h1.record-title").await;
    let (pathname, _) = location(&browser).await;
    assert_eq!(pathname, format!("/terminations/{}", filtered_ids[0]));
    browser.press_keys(ESCAPE).await;
    browser
        .wait_until(
            "the list after Escape",
            "return location.pathname === '/terminations' && document.querySelector('tr.row-link') !== null;",
        )
        .await;
    assert_eq!(browser.current_url().await, filtered_url);
    assert_eq!(row_ids(&browser).await, filtered_ids);

    // A copied filtered URL opens the same rows, and back returns to them after a click.
    open(&browser, &filtered_url).await;
    browser.wait_for("tr.row-link").await;
    assert_eq!(row_ids(&browser).await, filtered_ids);
    let summary_cell = browser.wait_for("tr.row-link td.summary").await;
    browser.click(&summary_cell).await;
    browser.wait_for("h1.record-title").await;
    browser.back().await;
    browser
        .wait_until(
            "the list after back",
            "return location.pathname === '/terminations' && document.querySelector('tr.row-link') !== null;",
        )
        .await;
    assert_eq!(row_ids(&browser).await, filtered_ids);
    assert_clean(&browser, "copied URL").await;

    // The Older button pages with the cursor, and back returns to the newest page.
    open(
        &browser,
        &server.url(&format!("/terminations?namespace={PAGING_NAMESPACE}")),
    )
    .await;
    browser.wait_for("tr.row-link").await;
    let newest = row_ids(&browser).await;
    assert_eq!(newest.len(), PAGE_SIZE);
    let older = browser.wait_for("#older").await;
    browser.click(&older).await;
    browser
        .wait_until(
            "the older page",
            "return location.search.includes('cursor=') && document.querySelector('#older') === null \
             && document.querySelector('tr.row-link') !== null;",
        )
        .await;
    let second = row_ids(&browser).await;
    assert_eq!(second.len(), PAGED_EXITS as usize - PAGE_SIZE);
    assert!(
        second.iter().all(|id| !newest.contains(id)),
        "pages overlap"
    );
    browser.back().await;
    browser
        .wait_until(
            "the newest page after back",
            "return !location.search.includes('cursor=') && document.querySelector('#older') !== null;",
        )
        .await;
    assert_eq!(row_ids(&browser).await, newest);
    assert_clean(&browser, "paging").await;

    // The hostile record: its markup shows as text and its log lines are marked.
    open(
        &browser,
        &server.url(&format!("/terminations/{hostile_id}")),
    )
    .await;
    browser.wait_for("li.log-line").await;
    let key_lines = browser.find_all("li.log-line.key-line").await;
    assert_eq!(key_lines.len(), 1);
    let key_line_text = browser.text(&key_lines[0]).await;
    assert!(
        key_line_text.contains(&format!("fatal {SCRIPT_TAG}")),
        "{key_line_text}"
    );
    assert!(key_line_text.contains("key line"), "{key_line_text}");
    let key_is_stderr = browser
        .execute(
            "return document.querySelector('li.log-line.key-line').classList.contains('stderr');",
            json!([]),
        )
        .await;
    assert_eq!(key_is_stderr, true);
    let marker = browser.wait_for("li.log-line.stderr .stream-marker").await;
    assert_eq!(browser.text(&marker).await, "ERR");
    let stdout_markers = browser
        .execute(
            "return [...document.querySelectorAll('li.log-line.stdout .stream-marker')].map((m) => m.textContent);",
            json!([]),
        )
        .await;
    assert_eq!(stdout_markers, json!(["out", "out", "out"]));
    let partial = browser.wait_for("li.log-line.partial .partial-label").await;
    assert_eq!(browser.text(&partial).await, "(partial line)");
    let long_line = browser.wait_for("button.show-line").await;
    let long_line_label = browser.text(&long_line).await;
    assert!(
        long_line_label.contains(&LONG_LINE_BYTES.to_string().replace("1048576", "1,048,576")),
        "{long_line_label}"
    );

    let text = browser.page_text().await;
    for expected in [
        format!("{HOSTILE_NAMESPACE}/{IMG_TAG}'\"pod"),
        format!("container {SCRIPT_TAG}"),
        format!("Exited with code 2: {IMG_TAG}"),
        format!("evidence {SCRIPT_TAG}"),
        format!("event {IMG_TAG} \"quoted\""),
        format!("stdout {IMG_TAG}"),
        // Control characters show as their Unicode control pictures: BEL and ESC.
        format!("panic: {SCRIPT_TAG}\u{2407}\u{241b}[31m red"),
        format!("stdout {IMG_TAG} \u{2400}\u{2408}\u{241b}[0m"),
    ] {
        assert!(text.contains(&expected), "page text lacks `{expected}`");
    }
    let counts = browser
        .execute(
            "return [document.querySelectorAll('img').length, document.scripts.length, \
             document.querySelectorAll('[onerror]').length];",
            json!([]),
        )
        .await;
    assert_eq!(counts, json!([0, 1, 0]), "img, script and onerror elements");
    save(&browser, "detail.png").await;
    browser
        .execute(
            "document.querySelector('ol.log').scrollIntoView();",
            json!([]),
        )
        .await;
    save(&browser, "detail-log.png").await;
    assert_clean(&browser, "hostile record").await;

    // The whole 1 MiB line appears on request.
    browser.click(&long_line).await;
    let longest = browser
        .execute(
            "return Math.max(...[...document.querySelectorAll('.log-text')].map((t) => t.textContent.length));",
            json!([]),
        )
        .await;
    assert_eq!(longest, json!(LONG_LINE_BYTES));

    // A key line that the diagnosis cut still marks its whole log line.
    let cut = cut_key_line(now);
    open(
        &browser,
        &server.url(&format!("/terminations/{}", record_id(&cut))),
    )
    .await;
    browser.wait_for("li.log-line").await;
    let key_lines = browser.find_all("li.log-line.key-line").await;
    assert_eq!(key_lines.len(), 1);
    let key_line_text = browser.text(&key_lines[0]).await;
    assert!(
        key_line_text.contains("java.lang.IllegalStateException"),
        "{key_line_text}"
    );
    assert_clean(&browser, "cut key line").await;
    open(
        &browser,
        &server.url(&format!("/terminations/{hostile_id}")),
    )
    .await;

    // The hostile pod's history, reached through its encoded link.
    let history = browser.wait_for("p.links a").await;
    browser.click(&history).await;
    browser.wait_for("svg.timeline a.instance").await;
    let instances = browser.find_all("svg.timeline a.instance").await;
    assert_eq!(instances.len(), 1);
    let heading = browser.wait_for("h1").await;
    let heading_text = browser.text(&heading).await;
    assert!(
        heading_text.contains(&format!("{IMG_TAG}'\"pod")),
        "{heading_text}"
    );
    // One exit spans no time, so the axis shows about a minute around it, in seconds.
    assert_even_distinct_ticks(&browser, "hostile pod").await;
    assert_clean(&browser, "hostile pod").await;

    // The crash loop's timeline: one mark and one lifetime bar per restart.
    open(
        &browser,
        &server.url(&format!("/pods/{CRASH_LOOP_NAMESPACE}/{CRASH_LOOP_POD}")),
    )
    .await;
    browser.wait_for("svg.timeline a.instance").await;
    let marks = browser.find_all("svg.timeline circle.mark").await;
    let bars = browser.find_all("svg.timeline rect.lifetime").await;
    assert_eq!(marks.len(), CRASH_LOOP_EXITS as usize);
    assert_eq!(bars.len(), CRASH_LOOP_EXITS as usize);
    let restarts = browser
        .execute(
            "return [...document.querySelectorAll('svg.timeline a.instance')].map((a) => Number(a.dataset.restart));",
            json!([]),
        )
        .await;
    let expected: Vec<u32> = (0..CRASH_LOOP_EXITS).collect();
    assert_eq!(restarts, json!(expected));
    assert_even_distinct_ticks(&browser, "crash loop pod").await;
    save(&browser, "pod.png").await;
    assert_clean(&browser, "crash loop pod").await;

    // An OOM loop with known start times: one lifetime bar per instance.
    open(&browser, &server.url("/pods/shop/api-7d9f8c6b5d-x2k4q")).await;
    browser.wait_for("svg.timeline a.instance").await;
    let bars = browser
        .find_all("svg.timeline rect.lifetime.cause-oom_killed")
        .await;
    assert_eq!(bars.len(), 6);
    save(&browser, "pod-oom.png").await;
    assert_clean(&browser, "OOM pod").await;

    // Names at Kubernetes' length limits fit the 1366-pixel window.
    open(&browser, &server.url("/terminations?namespace=limits")).await;
    browser.wait_for("tr.row-link").await;
    let longest = longest_names(now);
    let row_text = browser
        .execute(
            "return document.querySelector('tr.row-link').textContent;",
            json!([]),
        )
        .await;
    let row_text = row_text.as_str().unwrap();
    assert!(row_text.contains(&longest.pod), "pod name in the row");
    assert!(
        row_text.contains(&longest.container),
        "container name in the row"
    );
    let overflow = browser
        .execute(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
            json!([]),
        )
        .await;
    assert_eq!(overflow, json!(0), "horizontal overflow in pixels");
    save(&browser, "longest-names.png").await;
    assert_clean(&browser, "longest names").await;

    // Empty and error states.
    open(
        &browser,
        &server.url("/terminations?namespace=nothing-here&since=1h"),
    )
    .await;
    let empty = browser.wait_for("p.state.empty").await;
    assert_eq!(
        browser.text(&empty).await,
        "No exits match these filters in this window."
    );
    assert_clean(&browser, "empty list").await;
    open(&browser, &server.url("/terminations?since=yesterday")).await;
    let error = browser.wait_for("p.state.error").await;
    let error_text = browser.text(&error).await;
    assert!(
        error_text.contains("invalid parameter `since` value `yesterday`"),
        "{error_text}"
    );
    let errors = browser
        .execute("return window.__testErrors;", json!([]))
        .await;
    assert_eq!(errors, json!([]));

    // The rejected request is the only console error, and it is expected.
    let logged = browser.console_log().await;
    let severe: Vec<&Value> = logged
        .iter()
        .filter(|entry| entry["level"] == "SEVERE")
        .collect();
    assert_eq!(severe.len(), 1, "{severe:?}");
    let message = severe[0]["message"].as_str().unwrap();
    assert!(message.contains("status of 400"), "{message}");

    // The dark colour scheme applies when the system prefers it.
    browser.emulate_color_scheme("dark").await;
    open(&browser, &server.url("/")).await;
    browser.wait_for("svg.chart rect.segment").await;
    let background = browser
        .execute(
            "return getComputedStyle(document.body).backgroundColor;",
            json!([]),
        )
        .await;
    assert_eq!(background, "rgb(20, 21, 25)", "dark background");
    save(&browser, "overview-dark.png").await;
    assert_clean(&browser, "dark overview").await;

    drop(browser);
    println!("browser test took {:.1?}", started.elapsed());
}

#[test]
#[should_panic(expected = "install the Debian packages `chromium` and `chromium-driver`")]
fn missing_chromium_fails_with_hint() {
    browser_support::require_programs(&["/nonexistent/chromium", browser_support::CHROMEDRIVER]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_prompt_unlocks_api() {
    let now = Timestamp::now();
    let server = TestServer::start(&realistic_cluster(now), Some(TOKEN)).await;
    let browser = Browser::start().await;

    open(&browser, &server.url("/")).await;
    let input = browser.wait_for("#token-input").await;
    let text = browser.page_text().await;
    assert!(text.contains("Token required"), "{text}");
    // No token was entered yet, so there is nothing to show as an error.
    assert!(
        browser.find_all("p.state.error").await.is_empty(),
        "error box on the first visit: {text}"
    );
    save(&browser, "token.png").await;

    browser.send_keys(&input, &format!("wrong{ENTER}")).await;
    browser
        .wait_until(
            "the rejected-token prompt",
            "return document.body.textContent.includes('rejected the stored token');",
        )
        .await;
    let error = browser.wait_for("p.state.error").await;
    let error_text = browser.text(&error).await;
    assert!(
        error_text.contains("missing or invalid bearer token"),
        "the API's error message: {error_text}"
    );
    let stored = browser
        .execute(
            "return sessionStorage.getItem('podmortem.token');",
            json!([]),
        )
        .await;
    assert_eq!(stored, "wrong");

    let input = browser.wait_for("#token-input").await;
    browser.send_keys(&input, TOKEN).await;
    let submit = browser.wait_for(".token-form button[type='submit']").await;
    browser.click(&submit).await;
    browser.wait_for("svg.chart rect.segment").await;
    browser.wait_for("#forget-token").await;

    // The token lasts for the tab, so a reload needs no prompt.
    browser.refresh().await;
    browser.execute(ERROR_HOOKS, json!([])).await;
    browser.wait_for("svg.chart rect.segment").await;
    assert!(browser.find_all("#token-input").await.is_empty());
    let errors = browser
        .execute("return window.__testErrors;", json!([]))
        .await;
    assert_eq!(errors, json!([]));

    // Forgetting it brings the prompt back.
    let forget = browser.wait_for("#forget-token").await;
    browser.click(&forget).await;
    browser.wait_for("#token-input").await;
    let stored = browser
        .execute(
            "return sessionStorage.getItem('podmortem.token');",
            json!([]),
        )
        .await;
    assert_eq!(stored, Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_strings_stay_inside_cards() {
    let now = Timestamp::now();
    let mut records = realistic_cluster(now);
    let long = long_strings(now);
    records.push(long.clone());
    let server = TestServer::start(&records, None).await;
    let browser = Browser::start().await;

    let pages = [
        (
            "record",
            format!("/terminations/{}", record_id(&long)),
            "li.log-line",
        ),
        (
            "list",
            format!("/terminations?namespace={LONG_STRINGS_NAMESPACE}"),
            "tr.row-link",
        ),
        (
            "pod",
            format!("/pods/{LONG_STRINGS_NAMESPACE}/{}", long.pod),
            "svg.timeline a.instance",
        ),
        ("overview", "/".to_owned(), "table.workloads tbody tr"),
    ];
    // 800 pixels is below the 900-pixel breakpoint of the one-column layout.
    for width in [1366, 800] {
        browser.set_window_size(width, 900).await;
        for (name, path, ready) in &pages {
            open(&browser, &server.url(path)).await;
            browser.wait_for(ready).await;
            let step = format!("{name} at {width} pixels");
            assert_eq!(
                horizontal_overflow(&browser).await,
                0,
                "horizontal overflow in pixels at step `{step}`"
            );
            assert_clean(&browser, &step).await;
        }
    }
    open(
        &browser,
        &server.url(&format!("/terminations/{}", record_id(&long))),
    )
    .await;
    browser.wait_for("li.log-line").await;
    save(&browser, "long-strings.png").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overview_windows_reach_old_exits() {
    let now = Timestamp::now();
    let mut records = realistic_cluster(now);
    records.push(old_exit(now, 10));
    records.push(old_exit(now, 200));
    // An exit a few minutes ago, for the short windows' buckets of minutes.
    let mut recent = old_exit(now, 0);
    recent.pod = "report-recent".into();
    recent.id = "recent-exit".into();
    recent.finished_at = Some(now - jiff::SignedDuration::from_mins(7));
    records.push(recent);
    let server = TestServer::start(&records, None).await;
    let browser = Browser::start().await;

    // The short windows draw buckets of minutes: 60 of one minute, and 72 of five minutes.
    for (window, unit, bars) in [("1h", "minute", 60..=61), ("6h", "5 minutes", 72..=73)] {
        open(&browser, &server.url(&format!("/?window={window}"))).await;
        browser
            .wait_for(&format!("svg.chart[data-unit='{unit}'] rect.segment"))
            .await;
        let totals = bar_totals(&browser).await;
        assert!(
            bars.contains(&totals.len()),
            "{window}: {} bars",
            totals.len()
        );
        assert!(totals.iter().sum::<u64>() >= 1, "{window}: {totals:?}");
        let heading = texts(&browser, "#chart-heading").await;
        assert_eq!(heading, [format!("Exits per {unit}, last {window}")]);
        for label in texts(&browser, "svg.chart text.x-tick").await {
            assert!(
                label.len() == 5 && label.as_bytes()[2] == b':',
                "{window}: x label `{label}`"
            );
        }
    }

    // The default window's y axis counts whole exits.
    open(&browser, &server.url("/")).await;
    browser.wait_for("svg.chart rect.segment").await;
    let ticks = texts(&browser, "svg.chart text.y-tick").await;
    assert!(ticks.len() >= 2, "{ticks:?}");
    for tick in &ticks {
        assert!(tick.parse::<u64>().is_ok(), "y tick `{tick}` in {ticks:?}");
    }
    let last_day = bar_totals(&browser).await.iter().sum::<u64>();

    // 30 days: one bar per day, labelled by date, with the exit of 10 days ago.
    open(&browser, &server.url("/?window=30d")).await;
    browser
        .wait_for("svg.chart[data-unit='day'] rect.segment")
        .await;
    let days = bar_totals(&browser).await;
    assert!((30..=31).contains(&days.len()), "{} bars", days.len());
    assert_eq!(days.iter().sum::<u64>(), last_day + 1);
    let old_day = (now - jiff::SignedDuration::from_hours(240))
        .strftime("%Y-%m-%dT00:00:00Z")
        .to_string();
    let old_bar = browser
        .find_all(&format!(
            "svg.chart g.bar[data-start='{old_day}'] rect.segment"
        ))
        .await;
    assert_eq!(old_bar.len(), 1, "bar of {old_day}");
    for label in texts(&browser, "svg.chart text.x-tick").await {
        let date = label.as_bytes();
        assert!(
            label.len() == 5 && date[2] == b'-' && label.replace('-', "").parse::<u32>().is_ok(),
            "x label `{label}` is no MM-DD date"
        );
    }
    let heading = browser.wait_for("#chart-heading").await;
    assert_eq!(browser.text(&heading).await, "Exits per day, last 30d");
    assert_clean(&browser, "30d").await;

    // All time: at most about 100 bars of days or weeks, with the exit of 200 days ago.
    let all = browser.wait_for("a[data-window='all']").await;
    browser.click(&all).await;
    browser
        .wait_until(
            "the all-time window",
            "return location.search === '?window=all' \
             && document.querySelector(\"a[data-window='all']\")?.getAttribute('aria-current') === 'true' \
             && document.querySelector('svg.chart rect.segment') !== null;",
        )
        .await;
    let bars = bar_totals(&browser).await;
    assert!(bars.len() <= 100, "{} bars", bars.len());
    assert_eq!(bars.iter().sum::<u64>(), last_day + 2);
    let unit = browser
        .execute(
            "return document.querySelector('svg.chart').dataset.unit;",
            json!([]),
        )
        .await;
    assert_eq!(unit, "week", "200 days make more than 100 days");
    let lede = browser.wait_for("p.lede").await;
    let lede_text = browser.text(&lede).await;
    assert!(
        lede_text.starts_with(&format!("{} exits in all time", last_day + 2)),
        "{lede_text}"
    );
    save(&browser, "overview-all.png").await;
    assert_clean(&browser, "all time").await;

    // An unknown window shows a note that the default replaced it.
    open(&browser, &server.url("/?window=90d")).await;
    let notice = browser.wait_for("#window-notice").await;
    let notice_text = browser.text(&notice).await;
    assert!(notice_text.contains("90d"), "{notice_text}");
    assert!(notice_text.contains("default window, 24h"), "{notice_text}");
    let current = browser
        .execute(
            "return document.querySelector(\"a[data-window='24h']\").getAttribute('aria-current');",
            json!([]),
        )
        .await;
    assert_eq!(current, "true");
    assert_clean(&browser, "unknown window").await;

    // With one exit 10 days ago, the empty 24h window links to all time, and counts are
    // singular.
    let lone = TestServer::start(&[old_exit(now, 10)], None).await;
    open(&browser, &lone.url("/")).await;
    let empty = browser.wait_for("#chart-heading ~ p.state.empty").await;
    assert_eq!(
        browser.text(&empty).await,
        "No exits recorded in this window. Show all time."
    );
    let lede = browser.wait_for("p.lede").await;
    assert!(browser.text(&lede).await.starts_with("0 exits since"));
    let link = browser.wait_for("a[data-window-link='all']").await;
    browser.click(&link).await;
    browser.wait_for("svg.chart rect.segment").await;
    let lede = browser.wait_for("p.lede").await;
    let lede_text = browser.text(&lede).await;
    assert!(lede_text.starts_with("1 exit in all time,"), "{lede_text}");
    assert_eq!(texts(&browser, "svg.chart text.y-tick").await, ["0", "1"]);
    // All time starts at the oldest exit: its day and the 10 days after it.
    let days = bar_totals(&browser).await;
    assert_eq!(days.len(), 11, "{days:?}");
    assert_eq!(days[0], 1, "{days:?}");
    assert_eq!(days.iter().sum::<u64>(), 1, "{days:?}");
    let title = texts(&browser, "svg.chart g.bar > title").await;
    assert!(title[0].ends_with(": 1 exit (1 app error)"), "{title:?}");
    open(&browser, &lone.url("/?window=30d")).await;
    browser.wait_for("svg.chart rect.segment").await;
    let lede = browser.wait_for("p.lede").await;
    let lede_text = browser.text(&lede).await;
    assert!(lede_text.starts_with("1 exit since"), "{lede_text}");
    assert_clean(&browser, "one old exit").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_urls_keep_page_usable() {
    let now = Timestamp::now();
    let server = TestServer::start(&realistic_cluster(now), None).await;
    let browser = Browser::start().await;

    // Malformed percent-encodings name no record or pod.
    for path in ["/terminations/%ZZ", "/pods/%E0%A4%A/x", "/pods/ns/%"] {
        open(&browser, &server.url(path)).await;
        let heading = browser.wait_for("h1").await;
        browser
            .wait_until(
                "the view after loading",
                "return document.querySelector('main').getAttribute('aria-busy') === null;",
            )
            .await;
        assert_eq!(
            browser.text(&heading).await,
            "Page not found",
            "path `{path}`"
        );
    }

    // An invalid filter keeps the form with its values, so the user can correct it.
    open(
        &browser,
        &server.url("/terminations?cause=bogus&since=yesterday"),
    )
    .await;
    let error = browser.wait_for("p.state.error").await;
    let error_text = browser.text(&error).await;
    assert!(
        error_text.contains("invalid parameter `cause`"),
        "{error_text}"
    );
    browser.wait_for("form.filters #filter-since").await;
    let values = browser
        .execute(
            "return [document.querySelector('#filter-since').value, \
             document.querySelector('#filter-cause').value];",
            json!([]),
        )
        .await;
    assert_eq!(values, json!(["yesterday", "bogus"]));
    assert!(browser.find_all("#retry").await.is_empty());
    assert_eq!(
        browser
            .find_all("form.filters a[href='/terminations']")
            .await
            .len(),
        1,
        "Clear link"
    );
    save(&browser, "invalid-filter.png").await;
    let since = browser.wait_for("#filter-since").await;
    browser.clear(&since).await;
    browser.send_keys(&since, "24h").await;
    let any_cause = browser.wait_for("#filter-cause option[value='']").await;
    browser.click(&any_cause).await;
    let apply = browser.wait_for("#apply-filters").await;
    browser.click(&apply).await;
    browser
        .wait_until(
            "the corrected list",
            "return location.search === '?since=24h' && document.querySelector('tr.row-link') !== null;",
        )
        .await;
    assert!(browser.find_all("p.state.error").await.is_empty());

    // At 1280×720, names that fit their column stay on one line.
    browser.set_window_size(1280, 720).await;
    open(&browser, &server.url("/terminations")).await;
    browser.wait_for("tr.row-link").await;
    let wrapped = browser
        .execute(
            "const wrapped = []; \
             for (const cell of document.querySelectorAll('tr.row-link td.name')) { \
               const range = document.createRange(); \
               const text = [...cell.querySelectorAll('*'), cell].flatMap((e) => [...e.childNodes]) \
                 .find((node) => node.nodeType === Node.TEXT_NODE); \
               range.selectNodeContents(text); \
               if (range.getClientRects().length > 1) { wrapped.push(cell.textContent); } \
             } \
             return wrapped;",
            json!([]),
        )
        .await;
    assert_eq!(wrapped, json!([]), "names on more than one line");
    assert_eq!(horizontal_overflow(&browser).await, 0);
    save(&browser, "list-1280.png").await;
}

/// Refreshes `docs/overview.png` for the README from the realistic cluster. Run it with
/// `cargo nextest run --run-ignored only readme_overview_screenshot`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes docs/overview.png"]
async fn readme_overview_screenshot() {
    let now = Timestamp::now();
    let server = TestServer::start(&realistic_cluster(now), None).await;
    let browser = Browser::start().await;
    // Tall enough to show the top workloads below the chart.
    browser.set_window_size(1366, 1250).await;
    open(&browser, &server.url("/")).await;
    browser.wait_for("table.workloads tbody tr").await;
    browser.wait_for("svg.chart rect.segment").await;
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/overview.png");
    fs_err::create_dir_all(path.parent().unwrap()).unwrap();
    browser.screenshot(&path).await;
    assert_clean(&browser, "README overview").await;
    println!("screenshot {}", path.display());
}
