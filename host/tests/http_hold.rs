//! The HTTP trigger holds under bad clients: slow headers and idle connections are cut, the connection cap holds
//! (503 for a few past it, the rest wait in the backlog) and service resumes once load drops, failing accepts at
//! the open-file limit log a bounded number of lines, a guest allocating without bound traps with a clear error
//! while the host keeps serving, and a 413 given before the body was read reaches a client still writing.
//!
//! Each test runs the host in a child process (this test binary re-run as `child_host`, with limits from the
//! environment and, for the open-file test, a lowered `ulimit -n`), so its log can be read and its fd limit
//! lowered without touching the test runner's.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tr_host::app::{App, Options};
use tr_host::http_trigger::ConnectionLimits;

const CHILD: &str = "TR_HOST_HOLD_CHILD";

fn env_ms(name: &str, default: u64) -> Duration {
    Duration::from_millis(std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default))
}

fn env_n(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The host as `tr-intake up` runs it, on the probe guest; only does anything when re-run by [`Host::start`].
#[test]
fn child_host() {
    let Ok(dir) = std::env::var(CHILD) else { return };
    let defaults = ConnectionLimits::default();
    let options = Options {
        manifest: PathBuf::from(dir).join("spin.toml"),
        variables: vec![],
        variable_defaults: Default::default(),
        queue_urls: Default::default(),
        http_timeout: Duration::from_secs(30),
        sqs_cpu_limit: Duration::from_secs(30),
        guest_memory: env_n("HOLD_MEMORY_MIB", 512) * 1024 * 1024,
        connection_limits: ConnectionLimits {
            header_read_timeout: env_ms("HOLD_HEADER_MS", 10_000),
            idle_timeout: env_ms("HOLD_IDLE_MS", 60_000),
            max_connections: env_n("HOLD_MAX", defaults.max_connections),
            overflow_connections: env_n("HOLD_OVERFLOW", defaults.overflow_connections),
            ..defaults
        },
        instance_reuse: Default::default(),
    };
    let app = App::load(&options).expect("probe app loads");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("PORT {}", listener.local_addr().unwrap().port());
        app.http.serve(listener).await.unwrap();
    });
}

struct Host {
    child: Child,
    port: u16,
    log: Arc<Mutex<Vec<String>>>,
}

impl Host {
    /// Starts the child host with these environment settings, under `ulimit -n` if given.
    fn start(env: &[(&str, &str)], nofile: Option<u32>) -> Host {
        let wasm = PathBuf::from(std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| {
            let exe = std::env::current_exe().unwrap();
            exe.ancestors().nth(3).unwrap().display().to_string()
        }))
        .join("wasm32-wasip2/release/http_probe.wasm");
        assert!(wasm.is_file(), "{} is missing: cargo build --target wasm32-wasip2 --release -p http-probe", wasm.display());
        let dir = std::env::temp_dir().join(format!("tr-host-hold-{}-{}", std::process::id(), rand_suffix()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("spin.toml"),
            format!(
                "spin_manifest_version = 2\n[application]\nname = \"hold\"\n[[trigger.http]]\nroute = \"/probe/...\"\n\
                 component = \"probe\"\n[component.probe]\nsource = \"{}\"\n",
                wasm.display()
            ),
        )
        .unwrap();
        let exe = std::env::current_exe().unwrap();
        let run = format!("exec '{}' --exact child_host --nocapture --test-threads 1", exe.display());
        let script = match nofile {
            Some(n) => format!("ulimit -n {n} && {run}"),
            None => run,
        };
        let mut command = Command::new("sh");
        command.args(["-c", &script]).env(CHILD, &dir).stdout(Stdio::piped()).stderr(Stdio::piped());
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command.spawn().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (port_tx, port_rx) = std::sync::mpsc::channel();
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();
        for (stream, port_tx) in [(Box::new(stdout) as Box<dyn Read + Send>, Some(port_tx)), (Box::new(stderr), None)] {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    // The test harness may print `test child_host ... ` on the same line.
                    if let (Some((_, port)), Some(tx)) = (line.split_once("PORT "), &port_tx) {
                        let _ = tx.send(port.trim().parse::<u16>().unwrap());
                    }
                    log.lock().unwrap().push(line);
                }
            });
        }
        let port = port_rx.recv_timeout(Duration::from_secs(60)).expect("the child host printed its port");
        Host { child, port, log }
    }

    fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    fn connect(&self) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        s
    }

    /// One request on a fresh connection; the status line's code.
    fn status(&self, method: &str, path: &str) -> u16 {
        let mut s = self.connect();
        write!(s, "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n").unwrap();
        read_status(&mut s).expect("an answer")
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

/// The status code of the response on `s`, or None when it was closed (or timed out) without one.
fn read_status(s: &mut TcpStream) -> Option<u16> {
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

/// Reads until the peer closes; how long that took (None: still open after `within`).
fn closed_within(s: &mut TcpStream, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    s.set_read_timeout(Some(within)).unwrap();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Some(started.elapsed()),
            Err(_) => return None,
        }
    }
}

#[test]
fn slow_headers_are_cut() {
    let host = Host::start(&[("HOLD_HEADER_MS", "500")], None);
    let mut slow = host.connect();
    slow.write_all(b"GET /probe/hello HTTP/1.1\r\nHost: x\r\n").unwrap(); // and never the blank line
    let cut = closed_within(&mut slow, Duration::from_secs(5)).expect("slow headers were cut");
    assert!(cut < Duration::from_secs(3), "cut after {cut:?}");
    assert_eq!(host.status("GET", "/probe/hello"), 200, "the host still serves");
}

#[test]
fn idle_keep_alive_connections_are_closed() {
    let host = Host::start(&[("HOLD_IDLE_MS", "700")], None); // the header-read timeout stays at its 10 s
    let mut idle = host.connect();
    idle.write_all(b"GET /probe/hello HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    assert_eq!(read_status(&mut idle), Some(200));
    let cut = closed_within(&mut idle, Duration::from_secs(5)).expect("the idle keep-alive connection was closed");
    assert!(cut < Duration::from_secs(3), "closed after {cut:?}");
    assert_eq!(host.status("GET", "/probe/hello"), 200, "the host still serves");
}

#[test]
fn the_connection_cap_holds_and_service_resumes_when_load_drops() {
    const MAX: usize = 20;
    const OVERFLOW: usize = 5;
    let host = Host::start(&[("HOLD_MAX", "20"), ("HOLD_OVERFLOW", "5")], None);
    // N + 100 clients, each sending a whole request and keeping its connection.
    let clients: Vec<_> = (0..MAX + 100)
        .map(|_| {
            let mut s = host.connect();
            s.write_all(b"GET /probe/hello HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            s
        })
        .collect();
    let answers: Vec<Option<u16>> = std::thread::scope(|scope| {
        let readers: Vec<_> = clients
            .iter()
            .map(|s| {
                scope.spawn(move || {
                    let mut s = s.try_clone().unwrap();
                    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
                    read_status(&mut s)
                })
            })
            .collect();
        readers.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let ok = answers.iter().filter(|a| **a == Some(200)).count();
    let busy = answers.iter().filter(|a| **a == Some(503)).count();
    let waiting = answers.iter().filter(|a| a.is_none()).count();
    eprintln!("{} clients: {ok} served, {busy} answered 503, {waiting} waiting in the backlog", answers.len());
    assert_eq!(ok, MAX, "served connections are capped");
    // Overflow slots are reused as each 503 closes, so more than OVERFLOW clients may be told 503 in turn.
    assert!(busy >= OVERFLOW, "{busy} overflow answers");
    assert_eq!(ok + busy + waiting, MAX + 100);
    drop(clients);
    // The host learns that the served clients left only when it reads their FIN, so a request sent at once may
    // still meet a full house and get its 503: like any client told 503, this one retries, and must be served
    // within a couple of seconds.
    let started = Instant::now();
    let mut refused = 0;
    loop {
        match host.status("GET", "/probe/hello") {
            200 => break,
            503 if started.elapsed() < Duration::from_secs(3) => {
                refused += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            other => panic!("not served again once load dropped: {other} after {:?}", started.elapsed()),
        }
    }
    eprintln!("served {:?} after the load dropped ({refused} retries told 503 first)", started.elapsed());
}

#[test]
fn failing_accepts_back_off_and_log_a_bounded_number_of_lines() {
    let host = Host::start(&[], Some(64));
    let started = Instant::now();
    // More connections than the child has file descriptors: its accepts fail with EMFILE while they are held.
    let held: Vec<_> = (0..200).filter_map(|_| TcpStream::connect(("127.0.0.1", host.port)).ok()).collect();
    std::thread::sleep(Duration::from_secs(3));
    drop(held);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(host.status("GET", "/probe/hello"), 200, "the host recovered");
    let lines: Vec<String> = host.log().into_iter().filter(|l| l.contains("accept")).collect();
    eprintln!("{} accept lines in {:?}: {lines:#?}", lines.len(), started.elapsed());
    assert!(lines.iter().any(|l| l.contains("accept failing")), "the accepts did fail: {:#?}", host.log());
    assert!(lines.len() <= 6, "one line per burst start and end, got {}", lines.len());
}

#[test]
fn a_guest_allocating_without_bound_traps_and_the_host_keeps_serving() {
    let host = Host::start(&[("HOLD_MEMORY_MIB", "64")], None);
    assert_eq!(host.status("GET", "/probe/alloc"), 500);
    assert_eq!(host.status("GET", "/probe/hello"), 200, "the host keeps serving");
    let deadline = Instant::now() + Duration::from_secs(5);
    // The trap's entry runs over several lines (the wasm backtrace comes first), so the log is read whole.
    let entry = loop {
        let log = host.log().join("\n");
        if let Some(at) = log.find("/probe/alloc -> 500") {
            break log[at..].to_owned();
        }
        assert!(Instant::now() < deadline, "no log line for the trap: {log}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(entry.contains("the guest ran out of memory") && entry.contains("over its limit of 64 MiB"), "{entry}");
}

#[test]
fn a_413_before_the_body_is_read_reaches_a_client_still_writing() {
    let host = Host::start(&[], None);
    for _ in 0..5 {
        let mut s = host.connect();
        let body = vec![b'x'; 900 * 1024];
        write!(s, "POST /probe/refuse HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", body.len()).unwrap();
        std::thread::sleep(Duration::from_millis(200)); // the guest answers before the body is sent
        for chunk in body.chunks(16 * 1024) {
            s.write_all(chunk).expect("the body is written without EPIPE or reset");
        }
        assert_eq!(read_status(&mut s), Some(413));
    }
}
