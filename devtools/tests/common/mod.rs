//! Runs the real `tr-intake` binary on a manifest from `tests/fixtures/host/`, in a fresh folder, with the probe
//! guests that `scripts/test` builds. The host's stdout and stderr are collected so tests can assert its log lines.

#![allow(dead_code)] // each test file uses part of the harness

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// `<target>/` — derived from this test binary's own path (`<target>/debug/deps/<test>`), so it follows
/// `CARGO_TARGET_DIR` wherever it points.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors().nth(3).expect("<target>/debug/deps/<bin>").to_path_buf()
}

/// Where the probe guests are; fails loudly when they were not built.
pub fn wasm_dir() -> PathBuf {
    let dir = target_dir().join("wasm32-wasip2/release");
    for probe in ["http_probe.wasm", "sqs_probe.wasm"] {
        assert!(
            dir.join(probe).is_file(),
            "{} is missing: build the probes first with \
             `cargo build --target wasm32-wasip2 --release -p http-probe -p sqs-probe` (scripts/test does)",
            dir.join(probe).display()
        );
    }
    dir
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/host")
}

/// A fresh app folder holding `spin.toml` (from `template`, with `@WASM_DIR@` and the given substitutions
/// applied) and a copy of the fixture `assets/`.
pub fn app_dir(name: &str, template: &str, substitutions: &[(&str, &str)]) -> PathBuf {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    let dir = target_dir().join("tmp/host-tests").join(format!("{name}-{nanos}"));
    std::fs::create_dir_all(dir.join("assets")).unwrap();
    let mut manifest = std::fs::read_to_string(fixtures().join(template)).expect("fixture manifest");
    manifest = manifest.replace("@WASM_DIR@", &wasm_dir().display().to_string());
    for (from, to) in substitutions {
        manifest = manifest.replace(from, to);
    }
    std::fs::write(dir.join("spin.toml"), manifest).unwrap();
    for entry in std::fs::read_dir(fixtures().join("assets")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join("assets").join(entry.file_name())).unwrap();
    }
    dir
}

pub struct RunningHost {
    child: Child,
    pub base: String,
    pub dir: PathBuf,
    output: Arc<Mutex<String>>,
}

impl RunningHost {
    /// Everything the host printed so far.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Waits until the host has printed `needle` (its logs are the only view of what it did).
    pub fn wait_for_output(&self, needle: &str, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.output().contains(needle) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for RunningHost {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn host_command(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tr-intake"));
    cmd.arg("up").arg("-f").arg(dir.join("spin.toml"));
    if !args.contains(&"--listen") {
        cmd.args(["--listen", "127.0.0.1:0"]);
    }
    cmd.args(args);
    cmd.env_remove("RUST_BACKTRACE").env_remove("RUST_LIB_BACKTRACE");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// Starts the host and waits for it to say where it listens.
pub fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> RunningHost {
    spawn(host_command(dir, args, env), dir)
}

/// `start` with `cleared` removed from the inherited environment (a new machine's environment).
pub fn start_cleared(dir: &Path, args: &[&str], env: &[(&str, &str)], cleared: &[&str]) -> RunningHost {
    let mut cmd = host_command(dir, args, env);
    for name in cleared {
        cmd.env_remove(name);
    }
    spawn(cmd, dir)
}

fn spawn(mut cmd: Command, dir: &Path) -> RunningHost {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let output = Arc::new(Mutex::new(String::new()));
    for stream in [
        Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ] {
        let output = output.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines() {
                let Ok(line) = line else { break };
                let mut out = output.lock().unwrap();
                out.push_str(&line);
                out.push('\n');
            }
        });
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let text = output.lock().unwrap().clone();
        if let Some(rest) = text.split("listening on ").nth(1) {
            let base = rest.lines().next().unwrap().trim().to_owned();
            return RunningHost { child, base, dir: dir.to_owned(), output };
        }
        if let Some(status) = child.try_wait().unwrap() {
            std::thread::sleep(Duration::from_millis(200));
            panic!("host exited ({status}) before listening:\n{}", output.lock().unwrap());
        }
        assert!(Instant::now() < deadline, "host did not start within 120 s:\n{text}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub struct Reply {
    pub status: u16,
    pub body: String,
    pub headers: http::HeaderMap,
}

impl Reply {
    fn from(mut response: http::Response<ureq::Body>) -> Self {
        let body = response.body_mut().read_to_string().unwrap();
        Reply { status: response.status().as_u16(), body, headers: response.headers().clone() }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

pub fn get(url: &str) -> Reply {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    Reply::from(agent.get(url).call().unwrap_or_else(|e| panic!("GET {url}: {e}")))
}
pub mod pipeline;
pub mod webdriver;

/// POSTs `body` with `headers`; any status is an answer, not an error.
pub fn post(url: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let mut request = agent.post(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    Reply::from(request.send(body).unwrap_or_else(|e| panic!("POST {url}: {e}")))
}
