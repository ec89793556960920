//! A small W3C WebDriver client for headless Chromium, driven through chromedriver over
//! HTTP with `reqwest`.
//!
//! [`Browser::start`] runs `/usr/bin/chromedriver` on a free loopback port, waits until its
//! `/status` reports ready and opens a session with a fresh Chromium profile. Dropping the
//! [`Browser`] deletes the session (which quits Chromium) and kills chromedriver.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Key under which W3C WebDriver returns an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";
/// Maximum time to wait for chromedriver to report ready, and for elements to appear.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(30);
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// A WebDriver element reference.
#[derive(Debug, Clone)]
pub struct Element(String);

/// One chromedriver process with one open session.
pub struct Browser {
    client: reqwest::Client,
    driver_address: SocketAddr,
    session: String,
    driver: Child,
    profile: tempfile::TempDir,
}

/// Panics with the install hint unless Chromium and chromedriver are where Debian's
/// packages put them.
pub fn require_chromium() {
    require_programs(&[CHROMIUM, CHROMEDRIVER]);
}

/// Panics with the install hint unless every path in `programs` exists.
pub fn require_programs(programs: &[&str]) {
    let missing: Vec<&str> = programs
        .iter()
        .copied()
        .filter(|path| !Path::new(path).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "missing {}: install the Debian packages `chromium` and `chromium-driver` \
         (apt-get install chromium chromium-driver) to run the browser tests",
        missing.join(" and ")
    );
}

fn free_loopback_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().unwrap().port()
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session with a 1366×900 window.
    pub async fn start() -> Browser {
        require_chromium();
        let port = free_loopback_port();
        let driver_address = SocketAddr::from(([127, 0, 0, 1], port));
        let profile = tempfile::tempdir().expect("create a Chromium profile folder");
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("failed to start {CHROMEDRIVER}: {error}"));

        let mut browser = Browser {
            client: reqwest::Client::new(),
            driver_address,
            session: String::new(),
            driver,
            profile,
        };
        browser.wait_until_ready().await;
        browser.session = browser.new_session().await;
        browser
    }

    async fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + WAIT_TIMEOUT;
        let url = format!("http://{}/status", self.driver_address);
        loop {
            if let Some(status) = self.driver.try_wait().unwrap() {
                panic!("chromedriver exited before it was ready: {status}");
            }
            if let Ok(response) = self.client.get(&url).send().await
                && let Ok(body) = response.json::<Value>().await
                && body["value"]["ready"] == json!(true)
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver on {} was not ready after {WAIT_TIMEOUT:?}",
                self.driver_address
            );
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    async fn new_session(&self) -> String {
        let profile = format!("--user-data-dir={}", self.profile.path().display());
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": CHROMIUM,
                        "args": [
                            "--headless=new",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--disable-quic",
                            "--no-first-run",
                            "--disable-background-networking",
                            "--disable-component-update",
                            "--disable-sync",
                            "--window-size=1366,900",
                            profile,
                        ],
                    },
                    "goog:loggingPrefs": { "browser": "ALL" },
                },
            },
        });
        let url = format!("http://{}/session", self.driver_address);
        let response = self
            .client
            .post(url)
            .json(&capabilities)
            .send()
            .await
            .expect("send the new-session request to chromedriver");
        let body: Value = response.json().await.expect("a JSON new-session response");
        body["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver did not open a session: {body}"))
            .to_owned()
    }

    /// Sends one WebDriver command and returns its `value`. Panics on a WebDriver error.
    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!(
            "http://{}/session/{}{path}",
            self.driver_address, self.session
        );
        let mut request = self.client.request(method.clone(), url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|error| panic!("{method} {path} failed: {error}"));
        let status = response.status();
        let body: Value = response
            .json()
            .await
            .unwrap_or_else(|error| panic!("{method} {path} returned no JSON: {error}"));
        assert!(
            status.is_success(),
            "{method} {path} returned {status}: {}",
            body["value"]
        );
        body["value"].clone()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.command(reqwest::Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Value {
        self.command(reqwest::Method::GET, path, None).await
    }

    /// Opens `url` and waits for the document to load.
    pub async fn goto(&self, url: &str) {
        self.post("/url", json!({ "url": url })).await;
    }

    /// Makes `prefers-color-scheme` match `scheme` (`light` or `dark`), through the Chrome
    /// DevTools Protocol command that chromedriver forwards.
    pub async fn emulate_color_scheme(&self, scheme: &str) {
        let features = [json!({ "name": "prefers-color-scheme", "value": scheme })];
        self.post(
            "/goog/cdp/execute",
            json!({ "cmd": "Emulation.setEmulatedMedia", "params": { "features": features } }),
        )
        .await;
    }

    /// Resizes the browser window, in CSS pixels.
    pub async fn set_window_size(&self, width: u32, height: u32) {
        self.post("/window/rect", json!({ "width": width, "height": height }))
            .await;
    }

    pub async fn refresh(&self) {
        self.post("/refresh", json!({})).await;
    }

    pub async fn back(&self) {
        self.post("/back", json!({})).await;
    }

    pub async fn current_url(&self) -> String {
        self.get("/url")
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Returns every element that matches the CSS `selector`, in document order.
    pub async fn find_all(&self, selector: &str) -> Vec<Element> {
        let value = self
            .post(
                "/elements",
                json!({ "using": "css selector", "value": selector }),
            )
            .await;
        value
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| item[ELEMENT_KEY].as_str())
                    .map(|id| Element(id.to_owned()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits until at least one element matches `selector` and returns the first.
    pub async fn wait_for(&self, selector: &str) -> Element {
        let deadline = Instant::now() + WAIT_TIMEOUT;
        loop {
            if let Some(element) = self.find_all(selector).await.into_iter().next() {
                return element;
            }
            if Instant::now() >= deadline {
                let text = self.page_text().await;
                panic!(
                    "no element matches `{selector}` after {WAIT_TIMEOUT:?} on {}; page text: {}",
                    self.current_url().await,
                    text.chars().take(2000).collect::<String>()
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Waits until `script` (the body of a function) returns a truthy value, and returns it.
    pub async fn wait_until(&self, description: &str, script: &str) -> Value {
        let deadline = Instant::now() + WAIT_TIMEOUT;
        loop {
            let value = self.execute(script, json!([])).await;
            let truthy = !matches!(value, Value::Null | Value::Bool(false))
                && value != json!(0)
                && value != json!("");
            if truthy {
                return value;
            }
            if Instant::now() >= deadline {
                panic!(
                    "timed out after {WAIT_TIMEOUT:?} waiting for {description} on {}",
                    self.current_url().await
                );
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    pub async fn click(&self, element: &Element) {
        self.post(&format!("/element/{}/click", element.0), json!({}))
            .await;
    }

    pub async fn clear(&self, element: &Element) {
        self.post(&format!("/element/{}/clear", element.0), json!({}))
            .await;
    }

    /// Types `text` into `element`. WebDriver maps `\u{E007}` to Enter and `\u{E00C}` to Escape.
    pub async fn send_keys(&self, element: &Element, text: &str) {
        self.post(
            &format!("/element/{}/value", element.0),
            json!({ "text": text }),
        )
        .await;
    }

    /// Presses keys on whatever element has focus, through the actions API.
    pub async fn press_keys(&self, keys: &str) {
        let mut actions = Vec::new();
        for key in keys.chars() {
            actions.push(json!({ "type": "keyDown", "value": key.to_string() }));
            actions.push(json!({ "type": "keyUp", "value": key.to_string() }));
        }
        self.post(
            "/actions",
            json!({ "actions": [{ "type": "key", "id": "keyboard", "actions": actions }] }),
        )
        .await;
    }

    pub async fn text(&self, element: &Element) -> String {
        let value = self.get(&format!("/element/{}/text", element.0)).await;
        value.as_str().unwrap_or_default().to_owned()
    }

    pub async fn attribute(&self, element: &Element, name: &str) -> Option<String> {
        let value = self
            .get(&format!("/element/{}/attribute/{name}", element.0))
            .await;
        value.as_str().map(str::to_owned)
    }

    /// Runs `script` as the body of a function with `args` and returns its result.
    pub async fn execute(&self, script: &str, args: Value) -> Value {
        self.post("/execute/sync", json!({ "script": script, "args": args }))
            .await
    }

    /// Returns the text content of the document body.
    pub async fn page_text(&self) -> String {
        self.execute("return document.body.textContent;", json!([]))
            .await
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Saves a PNG of the viewport to `path`.
    pub async fn screenshot(&self, path: &Path) {
        use base64::Engine;
        let value = self.get("/screenshot").await;
        let encoded = value.as_str().expect("a base64 screenshot");
        let png = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .expect("valid base64 from chromedriver");
        fs_err::write(path, png).unwrap();
    }

    /// Returns the browser console entries logged since the last call: Chromium logs CSP
    /// violations, failed loads and uncaught errors there with level `SEVERE`.
    pub async fn console_log(&self) -> Vec<Value> {
        let value = self.post("/se/log", json!({ "type": "browser" })).await;
        value.as_array().cloned().unwrap_or_default()
    }

    pub fn profile(&self) -> PathBuf {
        self.profile.path().to_owned()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Drop cannot await, so the session is deleted with a blocking request. Deleting it
        // quits Chromium, which killing chromedriver alone would leave running.
        if !self.session.is_empty() {
            delete_session(self.driver_address, &self.session);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// Sends `DELETE /session/{id}` over a plain blocking connection and reads the reply.
fn delete_session(address: SocketAddr, session: &str) {
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_secs(5)) else {
        return;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
    let request = format!(
        "DELETE /session/{session} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\n\
         Connection: close\r\n\r\n"
    );
    if stream.write_all(request.as_bytes()).is_ok() {
        let mut reply = Vec::new();
        let _ = stream.read_to_end(&mut reply);
    }
}
