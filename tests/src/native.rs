//! The core's `Transport` and `Runtime` over plain native parts: ureq (blocking HTTP/1.1), the system clock,
//! `thread::sleep`. Blocking inside the futures is fine here: tests drive them with `pollster`, one at a time.

use std::cell::Cell;
use std::time::{Duration, SystemTime};

use tr_core::transport::{HttpRequest, HttpResponse, Runtime, Transport, TransportError, TransportErrorKind};

/// Statuses are answers, not errors: tr-core classifies them. Cloning shares the agent (its connection pool).
#[derive(Clone)]
pub struct UreqTransport {
    agent: ureq::Agent,
}

impl UreqTransport {
    /// Each request may take at most `timeout`, whole.
    pub fn with_timeout(timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(timeout)).build();
        Self { agent: config.into() }
    }
}

impl Default for UreqTransport {
    fn default() -> Self {
        Self::with_timeout(Duration::from_secs(30))
    }
}

impl Transport for UreqTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let response = self.agent.run(request).map_err(|e| {
            let kind = match e {
                ureq::Error::Timeout(_) => TransportErrorKind::Timeout,
                ureq::Error::ConnectionFailed | ureq::Error::HostNotFound => TransportErrorKind::Connect,
                _ => TransportErrorKind::Io,
            };
            TransportError::new(kind, e.to_string())
        })?;
        let (parts, mut body) = response.into_parts();
        let bytes = body
            .read_to_vec()
            .map_err(|e| TransportError::new(TransportErrorKind::Io, e.to_string()))?;
        Ok(HttpResponse::from_parts(parts, bytes))
    }
}

/// System clock, a xorshift generator seeded from it, and real sleeps (recorded, so tests can see backoff).
pub struct SystemRuntime {
    state: Cell<u64>,
    pub slept: Cell<Duration>,
}

impl Default for SystemRuntime {
    fn default() -> Self {
        let seed = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos() as u64;
        Self { state: Cell::new(seed | 1), slept: Cell::new(Duration::ZERO) }
    }
}

impl Runtime for SystemRuntime {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }

    fn random_u64(&self) -> u64 {
        let mut x = self.state.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state.set(x);
        x
    }

    async fn sleep(&self, duration: Duration) {
        self.slept.set(self.slept.get() + duration);
        std::thread::sleep(duration);
    }
}
