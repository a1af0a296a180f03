//! What an embedded endpoint is started with: where its state lives, where it listens, the one local key it
//! accepts, and the account/region it pretends to be.
//!
//! Key decision: exactly one access key is accepted. The endpoint is a local stand-in, not IAM; one key is enough
//! to make every request prove it was signed by someone holding the secret, which is what the tests need.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// The access key the endpoint accepts. `Debug` never shows the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct LocalCredentials {
    pub access_key_id: String,
    secret_access_key: String,
}

impl LocalCredentials {
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
        }
    }

    /// Only the SigV4 verifier needs the secret.
    pub(crate) fn secret(&self) -> &str {
        &self.secret_access_key
    }
}

impl fmt::Debug for LocalCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"**redacted**")
            .finish()
    }
}

#[derive(Clone, Debug)]
pub struct Config {
    /// Directory holding `embedded-aws.sqlite3` (created if missing).
    pub dir: PathBuf,
    /// Where to listen; port 0 picks a free one (see [`crate::EmbeddedAws::endpoint`]).
    pub bind: SocketAddr,
    pub credentials: LocalCredentials,
    /// Twelve digits; appears in queue URLs and ARNs.
    pub account: String,
    pub region: String,
    /// Per-client bounds on the HTTP side; [`Limits::default`] unless changed.
    pub limits: Limits,
}

/// How much any one client may hold: bytes, time, connections. Each field is a knob with the default shown; the
/// `tr-embedded-aws serve` binary exposes them as flags.
///
/// Key decision: refuse early and cheaply. Credentials are checked from the headers and a declared length against
/// `max_body_bytes` *before* a body byte is read, so a stranger's 64 MiB PUT costs a header parse, not 64 MiB.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body (S3 object or SQS call), 64 MiB. Larger declared lengths get a 413 before reading;
    /// chunked bodies are cut when they cross it. (`--max-body BYTES`)
    pub max_body_bytes: usize,
    /// Time for a client to send a request's headers, 30 s; hyper also runs this clock while a kept-alive
    /// connection waits for its next request. (`--header-timeout SECS`)
    pub header_read_timeout: Duration,
    /// A kept-alive connection with no request in flight is closed after this, 20 s. Effectively at most
    /// `header_read_timeout` (see above). (`--idle-timeout SECS`)
    pub idle_timeout: Duration,
    /// Connections served at once, 512 (at least 1). (`--max-connections N`)
    pub max_connections: usize,
    /// Beyond `max_connections`, this many more are accepted only to be answered 503 (which SDKs retry with
    /// back-off), 64; past both, the endpoint stops accepting and lets the kernel's backlog hold the rest.
    /// (`--overflow-connections N`)
    pub overflow_connections: usize,
    /// After an early refusal (403/400/413/503), up to this much unread body is read and discarded so the client
    /// sees the answer instead of a reset, 1 MiB; larger bodies are answered and the connection closed.
    /// (`--drain-bytes BYTES`)
    pub drain_bytes: u64,
    /// ... and for at most this long, 1 s. (`--drain-time SECS`)
    pub drain_time: Duration,
    /// Failing accepts (EMFILE, ENFILE, ENOBUFS...) are retried after a delay that doubles from 5 ms up to this,
    /// 1 s, with one log line per burst. (`--accept-backoff-max SECS`)
    pub accept_backoff_max: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 64 * 1024 * 1024,
            header_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(20),
            max_connections: 512,
            overflow_connections: 64,
            drain_bytes: 1024 * 1024,
            drain_time: Duration::from_secs(1),
            accept_backoff_max: Duration::from_secs(1),
        }
    }
}

impl Config {
    /// Account `000000000000`, region `us-east-1`, loopback on a free port.
    pub fn new(dir: impl Into<PathBuf>, credentials: LocalCredentials) -> Self {
        Self {
            dir: dir.into(),
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
            credentials,
            account: "000000000000".into(),
            region: "us-east-1".into(),
            limits: Limits::default(),
        }
    }

    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    pub fn with_bind(mut self, bind: SocketAddr) -> Self {
        self.bind = bind;
        self
    }

    pub fn with_account(mut self, account: impl Into<String>) -> Self {
        self.account = account.into();
        self
    }

    pub fn with_region(mut self, region: impl Into<String>) -> Self {
        self.region = region.into();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_the_secret() {
        let c = LocalCredentials::new("AKIDLOCAL", "very-secret-value");
        let shown = format!("{c:?} {:?}", Config::new("/tmp/x", c.clone()));
        assert!(shown.contains("AKIDLOCAL"));
        assert!(!shown.contains("very-secret-value"), "{shown}");
    }
}
