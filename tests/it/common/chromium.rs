//! A headless Chromium driven over the DevTools protocol, for tests of what a browser shows
//! (the master's web UI; any HTML file). Debian's `chromium` (`.ci/chromium-setup.sh`). Without
//! it a test prints `SKIPPED: …` and passes, unless MMRUN_REQUIRE_CHROMIUM=1 (set in CI) makes
//! that a failure.
//!
//! ```ignore
//! let Some(mut browser) = Chromium::launch_or_skip("my test").await else { return };
//! browser.open("file:///tmp/report.html").await;
//! browser.wait_for_text("h1", "Report", Duration::from_secs(5)).await;
//! let rows = browser.eval("document.querySelectorAll('tr').length").await;
//! browser.screenshot(&artifact_path("report.png")).await;
//! ```
//!
//! Chromium runs in its own process group with its own profile directory; dropping the
//! [`Chromium`] kills the whole group, reaps it and removes the directory, pass or fail.

use base64::Engine;
use futures::{SinkExt, StreamExt};
use mmrun::wait::WaitFor;
use serde_json::{Value, json};
use std::io::BufRead;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long one DevTools command may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// How long Chromium may take to start and print its DevTools address.
const START_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Chromium {
    child: Child,
    /// Chromium's profile; removed after the process group is gone.
    profile: Option<tempfile::TempDir>,
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// The page's flattened session: every page command carries it.
    session: String,
    next_id: u64,
}

/// `target/mmrun-artifacts/ui-screenshots/<name>`, its directory created.
pub fn artifact_path(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("mmrun-artifacts").join("ui-screenshots");
    std::fs::create_dir_all(&dir).expect("the screenshots directory");
    dir.join(name)
}

/// The Chromium binary on PATH, if any.
fn chromium_binary() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|candidate| candidate.is_file())
}

impl Chromium {
    /// A fresh headless Chromium with one blank page, or `None` after printing why `test`
    /// skips (a panic under MMRUN_REQUIRE_CHROMIUM=1).
    pub async fn launch_or_skip(test: &str) -> Option<Chromium> {
        match chromium_binary() {
            Some(binary) => Some(Chromium::launch(&binary).await),
            None if std::env::var("MMRUN_REQUIRE_CHROMIUM").is_ok_and(|v| v == "1") => {
                panic!("MMRUN_REQUIRE_CHROMIUM=1 but no chromium on PATH (.ci/chromium-setup.sh)")
            }
            None => {
                eprintln!(
                    "SKIPPED: {test}: no chromium on PATH (.ci/chromium-setup.sh installs it)"
                );
                None
            }
        }
    }

    async fn launch(binary: &Path) -> Chromium {
        let profile = tempfile::tempdir().expect("a profile directory");
        let mut child = Command::new(binary)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--remote-debugging-port=0",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-gpu",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-dev-shm-usage",
                // Pages under test are on this host: never through a proxy from the environment.
                "--no-proxy-server",
                "--window-size=1280,900",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            // Its own group, so dropping kills the renderers and helpers too.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads stderr to the end (Chromium must never block on a full pipe), handing over the
        // DevTools address and keeping the first lines for an error message.
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let started = Instant::now();
        let mut said = Vec::new();
        let ws_url = loop {
            let left = START_TIMEOUT.saturating_sub(started.elapsed());
            match rx.recv_timeout(left) {
                Ok(line) => match line.split_once("DevTools listening on ") {
                    Some((_, url)) => break url.trim().to_string(),
                    None => said.push(line),
                },
                Err(_) => {
                    kill_group(&mut child);
                    panic!(
                        "chromium printed no DevTools address within {START_TIMEOUT:?}; it said:\n{}",
                        said.join("\n")
                    );
                }
            }
        };
        let (socket, _) = tokio_tungstenite::connect_async(&ws_url)
            .await
            .unwrap_or_else(|e| panic!("cannot connect to chromium's DevTools at {ws_url}: {e}"));
        let mut browser = Chromium {
            child,
            profile: Some(profile),
            socket,
            session: String::new(),
            next_id: 0,
        };
        let target = browser
            .send(None, "Target.createTarget", json!({"url": "about:blank"}))
            .await;
        let target_id = target["targetId"].as_str().unwrap().to_string();
        let attached = browser
            .send(
                None,
                "Target.attachToTarget",
                json!({"targetId": target_id, "flatten": true}),
            )
            .await;
        browser.session = attached["sessionId"].as_str().unwrap().to_string();
        browser.call("Page.enable", json!({})).await;
        browser.call("Performance.enable", json!({})).await;
        browser
    }

    /// Sends one command (to the page's session, or the browser's with `None`) and returns its
    /// result; events and other answers read meanwhile are dropped.
    async fn send(&mut self, session: Option<String>, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        self.socket
            .send(Message::text(message.to_string()))
            .await
            .unwrap_or_else(|e| panic!("DevTools {method}: {e}"));
        let answer = tokio::time::timeout(CALL_TIMEOUT, async {
            while let Some(frame) = self.socket.next().await {
                let frame = frame.unwrap_or_else(|e| panic!("DevTools {method}: {e}"));
                let Message::Text(text) = frame else { continue };
                let value: Value = serde_json::from_str(&text).unwrap();
                if value["id"] == json!(id) {
                    return value;
                }
            }
            panic!("DevTools closed during {method}")
        })
        .await
        .unwrap_or_else(|_| panic!("DevTools {method}: no answer within {CALL_TIMEOUT:?}"));
        if let Some(error) = answer.get("error") {
            panic!("DevTools {method} failed: {error}");
        }
        answer["result"].clone()
    }

    /// A DevTools command to the page, e.g. `call("Page.reload", json!({}))`.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        let session = self.session.clone();
        self.send(Some(session), method, params).await
    }

    /// Navigates to `url` (`http://…` or `file:///…`) and waits for its document to load.
    pub async fn open(&mut self, url: &str) {
        let answer = self.call("Page.navigate", json!({"url": url})).await;
        if let Some(error) = answer.get("errorText") {
            panic!("cannot open {url}: {error}");
        }
        self.wait_for(
            "document.readyState === 'complete'",
            Duration::from_secs(20),
        )
        .await
        .unwrap_or_else(|e| panic!("{url} did not load: {e}"));
    }

    /// The value of a JavaScript expression in the page (promises awaited). Panics on an
    /// exception, naming it.
    pub async fn eval(&mut self, js: &str) -> Value {
        let answer = self
            .call(
                "Runtime.evaluate",
                json!({"expression": js, "returnByValue": true, "awaitPromise": true}),
            )
            .await;
        if let Some(exception) = answer.get("exceptionDetails") {
            panic!("{js} threw: {exception}");
        }
        answer["result"]["value"].clone()
    }

    /// Waits until the expression is truthy; returns how long that took, or an error saying
    /// it was not within `timeout`.
    pub async fn wait_for(&mut self, js: &str, timeout: Duration) -> Result<Duration, String> {
        let started = Instant::now();
        let expression = format!("!!({js})");
        // One page, one eval at a time: each look borrows the browser in turn.
        let browser = tokio::sync::Mutex::new(self);
        let browser = &browser;
        WaitFor::new(format!("`{js}`"), timeout)
            .every(Duration::from_millis(25))
            .until(|| {
                let expression = expression.clone();
                async move { browser.lock().await.eval(&expression).await == json!(true) }
            })
            .await
            .map(|()| started.elapsed())
            .map_err(|_| format!("`{js}` still false after {timeout:?}"))
    }

    /// Waits until the element `selector` (the first match) shows `text` in its rendered text;
    /// returns how long that took. Panics after `timeout`, with what the element showed.
    pub async fn wait_for_text(
        &mut self,
        selector: &str,
        text: &str,
        timeout: Duration,
    ) -> Duration {
        let shown = format!(
            "(document.querySelector({}) || {{}}).innerText || ''",
            json!(selector)
        );
        let check = format!("({shown}).includes({})", json!(text));
        match self.wait_for(&check, timeout).await {
            Ok(took) => took,
            Err(_) => {
                let last = self.eval(&shown).await;
                let whole = self.eval("document.body.innerText").await;
                panic!(
                    "{selector} did not show {text:?} within {timeout:?}; it showed {last}; the page: {whole}"
                )
            }
        }
    }

    /// Clicks the first element matching `selector`.
    pub async fn click(&mut self, selector: &str) {
        let clicked = self
            .eval(&format!(
                "(() => {{ const e = document.querySelector({}); if (!e) return false; e.click(); return true; }})()",
                json!(selector)
            ))
            .await;
        assert_eq!(clicked, json!(true), "nothing matches {selector} to click");
    }

    /// Saves a PNG of the page's viewport at `path`.
    pub async fn screenshot(&mut self, path: &Path) {
        let shot = self
            .call("Page.captureScreenshot", json!({"format": "png"}))
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        std::fs::write(path, png)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }

    /// `Performance.getMetrics` as `{name: value}`.
    pub async fn metrics(&mut self) -> serde_json::Map<String, Value> {
        let answer = self.call("Performance.getMetrics", json!({})).await;
        answer["metrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| (m["name"].as_str().unwrap().to_string(), m["value"].clone()))
            .collect()
    }
}

/// SIGKILL to Chromium's whole process group, then reaps its leader.
fn kill_group(child: &mut Child) {
    // SAFETY: kill(2) has no memory effects; the group id is the child's pid (process_group(0)).
    unsafe {
        libc::kill(-(child.id() as i32), libc::SIGKILL);
    }
    let _ = child.wait();
}

impl Drop for Chromium {
    fn drop(&mut self) {
        kill_group(&mut self.child);
        // Its helpers may outlive the leader for a moment; a profile still being written to
        // is removed on a second try.
        if let Some(profile) = self.profile.take() {
            let path = profile.path().to_path_buf();
            if profile.close().is_err() {
                let _ = WaitFor::new("the profile to be removed", Duration::from_secs(2))
                    .every(Duration::from_millis(50))
                    .blocking_until(|| match std::fs::remove_dir_all(&path) {
                        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                        _ => Ok(()),
                    });
            }
        }
    }
}
