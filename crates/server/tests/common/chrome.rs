//! Headless Chromium through chromedriver for the browser tests (skipped when
//! `PRINTFARM_SKIP_BROWSER_TESTS` is set), and the steps they share.

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A chromedriver started for one test, on a free loopback port; stopped when dropped.
pub struct Driver {
    child: Child,
    /// chromedriver's URL.
    pub url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn driver() -> Option<Driver> {
    if std::env::var_os("PRINTFARM_SKIP_BROWSER_TESTS").is_some() {
        eprintln!("PRINTFARM_SKIP_BROWSER_TESTS is set: browser test skipped");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = Command::new("chromedriver")
        .arg(format!("--port={port}"))
        .arg("--allowed-ips=127.0.0.1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect(
            "chromedriver runs (apt-get install chromium chromium-driver; \
             PRINTFARM_SKIP_BROWSER_TESTS=1 skips the browser tests)",
        );
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "chromedriver did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Some(driver)
}

pub async fn chromium(driver: &Driver) -> Client {
    let mut options = json!({
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,1000", "--lang=en-GB"],
    });
    if std::path::Path::new("/usr/bin/chromium").exists() {
        options["binary"] = json!("/usr/bin/chromium");
    }
    let mut capabilities = serde_json::Map::new();
    capabilities.insert("goog:chromeOptions".into(), options);
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a Chromium session")
}

/// Saves a screenshot as `target/screenshots/<name>.png`.
pub async fn screenshot(client: &Client, name: &str) {
    let dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot folder");
    let png = client.screenshot().await.expect("screenshot");
    std::fs::write(dir.join(format!("{name}.png")), png).expect("screenshot written");
}

/// Runs `script` (which returns a value) until `ready` accepts it, for up to 15 s.
pub async fn until(
    client: &Client,
    what: &str,
    script: &str,
    ready: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let value = client.execute(script, vec![]).await.expect("script runs");
        if ready(&value) {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}; last: {value}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Clicks the element `css`.
pub async fn click(client: &Client, css: &str) {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|err| panic!("{css} is on the page: {err}"))
        .click()
        .await
        .unwrap_or_else(|err| panic!("{css} can be clicked: {err}"));
}

pub fn text_of(css: &str) -> String {
    format!("const e = document.querySelector({css:?}); return e ? e.textContent.trim() : null;")
}

pub async fn fill(client: &Client, id: &str, text: &str) {
    let input = client.find(Locator::Id(id)).await.expect("the field");
    input.clear().await.expect("cleared");
    input.send_keys(text).await.expect("typed");
}

/// A Chrome DevTools Protocol command sent through chromedriver (`goog/cdp/execute`), for
/// what WebDriver does not measure (the main thread's task time).
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(json!({ "cmd": self.cmd, "params": self.params }).to_string()),
        )
    }
}

/// Runs a DevTools command (`Performance.getMetrics` …) and returns its result.
pub async fn cdp(client: &Client, cmd: &'static str, params: Value) -> Value {
    client
        .issue_cmd(Cdp { cmd, params })
        .await
        .unwrap_or_else(|err| panic!("{cmd}: {err}"))
}

/// The page's main-thread time so far, in seconds, from DevTools' metrics (needs
/// `Performance.enable` first): all tasks (`TaskDuration`), then script, style and layout.
pub async fn main_thread_seconds(client: &Client) -> MainThread {
    let metrics = cdp(client, "Performance.getMetrics", json!({})).await;
    let value = |name: &str| {
        metrics["metrics"]
            .as_array()
            .and_then(|all| all.iter().find(|m| m["name"] == name))
            .and_then(|m| m["value"].as_f64())
            .unwrap_or_else(|| panic!("{name} among the metrics: {metrics}"))
    };
    MainThread {
        tasks: value("TaskDuration"),
        cpu: value("ThreadTime"),
        script: value("ScriptDuration"),
        style: value("RecalcStyleDuration"),
        layout: value("LayoutDuration"),
        layouts: value("LayoutCount"),
    }
}

/// Main-thread seconds by kind of work.
#[derive(Debug, Clone, Copy)]
pub struct MainThread {
    /// Every task, wall time.
    pub tasks: f64,
    /// The main thread's CPU time (on a loaded machine, less than the tasks' wall time).
    pub cpu: f64,
    /// Running JavaScript.
    pub script: f64,
    /// Recalculating styles.
    pub style: f64,
    /// Layout.
    pub layout: f64,
    /// How many layouts.
    pub layouts: f64,
}

impl std::ops::Sub for MainThread {
    type Output = MainThread;

    fn sub(self, before: MainThread) -> MainThread {
        MainThread {
            tasks: self.tasks - before.tasks,
            cpu: self.cpu - before.cpu,
            layouts: self.layouts - before.layouts,
            script: self.script - before.script,
            style: self.style - before.style,
            layout: self.layout - before.layout,
        }
    }
}
