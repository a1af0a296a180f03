//! A W3C WebDriver session on Debian's `chromedriver` driving headless `chromium`: only the endpoints the
//! browser tests use (navigate, find, type, click, read, screenshot), each a plain JSON call over HTTP as the
//! specification defines them.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

/// The key the specification gives element references in JSON.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    driver: Child,
    base: String,
    agent: ureq::Agent,
}

impl Browser {
    /// Starts chromedriver on a free port and opens a headless Chromium session. Fails loudly when either is
    /// missing (`.ci/run` installs both with apt).
    pub fn start() -> Browser {
        for tool in ["chromium", "chromedriver"] {
            let found = Command::new("sh").args(["-c", &format!("command -v {tool}")]).output().unwrap().status.success();
            assert!(found, "{tool} is not installed: apt-get install chromium chromium-driver");
        }
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new("chromedriver").arg(format!("--port={port}")).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let agent: ureq::Agent =
            ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(Duration::from_secs(60))).build().into();
        let mut browser = Browser { driver, base: format!("http://127.0.0.1:{port}"), agent };
        let deadline = Instant::now() + Duration::from_secs(20);
        while browser.call("GET", "/status", None).get("ready") != Some(&Value::Bool(true)) {
            assert!(Instant::now() < deadline, "chromedriver did not get ready");
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1000,1400"]
        }}}});
        let session = browser.call("POST", "/session", Some(caps));
        let id = session["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {session}")).to_owned();
        browser.base = format!("{}/session/{id}", browser.base);
        browser
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let response = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, body) => self.agent.post(&url).header("content-type", "application/json").send(body.unwrap_or(json!({})).to_string()),
        };
        match response {
            Ok(mut r) => serde_json::from_str::<Value>(&r.body_mut().read_to_string().unwrap()).unwrap()["value"].clone(),
            Err(_) => Value::Null,
        }
    }

    pub fn goto(&self, url: &str) {
        let answer = self.call("POST", "/url", Some(json!({"url": url})));
        assert!(answer.is_null(), "navigating to {url}: {answer}");
    }

    /// The first element matching `css`, waiting up to `seconds` for it to appear.
    pub fn find(&self, css: &str, seconds: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(seconds);
        loop {
            let found = self.call("POST", "/element", Some(json!({"using": "css selector", "value": css})));
            if let Some(id) = found.get(ELEMENT).and_then(Value::as_str) {
                return id.to_owned();
            }
            assert!(Instant::now() < deadline, "no `{css}` within {seconds} s: {found}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn type_into(&self, css: &str, text: &str) {
        let id = self.find(css, 10);
        let answer = self.call("POST", &format!("/element/{id}/value"), Some(json!({"text": text})));
        assert!(answer.is_null(), "typing into {css}: {answer}");
    }

    pub fn click(&self, css: &str) {
        let id = self.find(css, 10);
        let answer = self.call("POST", &format!("/element/{id}/click"), Some(json!({})));
        assert!(answer.is_null(), "clicking {css}: {answer}");
    }

    pub fn text(&self, css: &str) -> String {
        let id = self.find(css, 10);
        self.call("GET", &format!("/element/{id}/text"), None).as_str().unwrap_or_default().to_owned()
    }

    /// Runs `script` in the page and returns its value.
    pub fn eval(&self, script: &str) -> Value {
        self.call("POST", "/execute/sync", Some(json!({"script": script, "args": []})))
    }

    pub fn screenshot(&self, path: &std::path::Path) {
        let png = self.call("GET", "/screenshot", None);
        let bytes = base64::engine::general_purpose::STANDARD.decode(png.as_str().expect("a screenshot")).unwrap();
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.call("DELETE", "", None);
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
