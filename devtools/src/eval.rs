//! `tr-intake eval`'s native side: the reader's variables from the environment and flags, a blocking HTTP
//! transport for the model readers (tr-tests' native ureq transport, the one the integration tests use), and
//! the progress line. The figures themselves are tr-core's
//! ([`tr_core::reader::eval`]), tested there.
//!
//! Key decisions: the variables are the read component's own (`SPIN_VARIABLE_*`, then `--variable k=v`, then
//! `--reader`), so what is measured is what would be deployed; only the default differs — offline, because an
//! eval should cost nothing unless asked to. HTTP is ureq (blocking, rustls with the webpki roots): one request
//! at a time is what an eval makes, and tr-core's `Transport` futures are driven where they are awaited.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use tr_core::reader::eval::progress_bar;
use tr_core::transport::Runtime;
use tr_core::vars::MapVars;

/// `SPIN_VARIABLE_<NAME>` from `env` (lower-cased, as Spin does), then each `name=value` of `flags`, then
/// `reader`; `reader` is `offline` when nothing names one.
pub fn variables(env: impl IntoIterator<Item = (String, String)>, flags: &[String], reader: Option<&str>) -> anyhow::Result<MapVars> {
    let mut map: BTreeMap<String, String> = env
        .into_iter()
        .filter_map(|(k, v)| Some((k.strip_prefix("SPIN_VARIABLE_")?.to_lowercase(), v)))
        .collect();
    for flag in flags {
        let (k, v) = flag.split_once('=').with_context(|| format!("--variable {flag}: expected name=value"))?;
        map.insert(k.trim().to_lowercase(), v.to_owned());
    }
    if let Some(reader) = reader {
        map.insert("reader".into(), reader.to_owned());
    }
    map.entry("reader".into()).or_insert_with(|| "offline".into());
    Ok(MapVars(map))
}

/// A model call may take a while (a long ticket, a cold model): one request's whole budget.
pub const MODEL_TIMEOUT: Duration = Duration::from_secs(60);

/// The system clock; an eval never sleeps (the lane's retries are the message's, not the reader's).
#[derive(Clone)]
pub struct SystemRuntime;

impl Runtime for SystemRuntime {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn random_u64(&self) -> u64 {
        SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
    }

    async fn sleep(&self, duration: Duration) {
        std::thread::sleep(duration);
    }
}

/// Progress on stderr: a redrawn `[#####     ] 12/40` on a terminal; otherwise a plain line every ten seconds
/// (a CI log gets a few lines, not one per ticket) and one at the end.
pub struct Progress {
    set: String,
    tty: bool,
    last: Instant,
}

impl Progress {
    pub fn new(set: &str) -> Self {
        Self { set: set.to_owned(), tty: std::io::stderr().is_terminal(), last: Instant::now() }
    }

    pub fn update(&mut self, done: usize, total: usize) {
        let mut err = std::io::stderr();
        if self.tty {
            let _ = write!(err, "\r{}: {}", self.set, progress_bar(done, total, 30));
            if done == total {
                let _ = writeln!(err);
            }
        } else if done == total || self.last.elapsed() >= Duration::from_secs(10) {
            let _ = writeln!(err, "{}: {done}/{total} read", self.set);
            self.last = Instant::now();
        }
    }
}
