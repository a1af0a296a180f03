//! What the core asks of its surroundings: an HTTP transport, a clock, sleep, randomness and a log line.
//!
//! Components pass Spin's outbound HTTP (`wasi:http/client`) and WASI clocks; native tests and the local host pass
//! a native client. Nothing in the core reads the system clock or an RNG itself, so every test can pin them.

use std::future::Future;
use std::time::{Duration, SystemTime};

pub type HttpRequest = http::Request<Vec<u8>>;
pub type HttpResponse = http::Response<Vec<u8>>;

/// Why a request got no HTTP answer at all. Always worth retrying: the request may not have arrived.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct TransportError {
    pub kind: TransportErrorKind,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportErrorKind {
    /// DNS, refused connection, TLS failure.
    Connect,
    /// No complete answer in time.
    Timeout,
    /// The connection broke mid-exchange, or anything else below HTTP.
    Io,
    /// The host refused to send the request (e.g. Spin's allowed_outbound_hosts).
    Denied,
}

impl TransportError {
    pub fn new(kind: TransportErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into() }
    }

    /// A denied host is configuration, not weather: retrying cannot help.
    pub fn is_retryable(&self) -> bool {
        self.kind != TransportErrorKind::Denied
    }
}

/// Sends one HTTP request with a fully buffered body and returns the fully buffered answer.
pub trait Transport {
    fn send(&self, request: HttpRequest) -> impl Future<Output = Result<HttpResponse, TransportError>>;
}

/// Time, sleep and randomness, injected.
pub trait Runtime {
    /// Wall-clock time (used for signing and received-at).
    fn now(&self) -> SystemTime;
    /// Uniformly random bits (ids, jitter). Need not be cryptographic.
    fn random_u64(&self) -> u64;
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()>;
    /// One line for the operator's log (a guest's stdout). Never a body, an address or a secret: callers pass
    /// ids, outcomes and reasons only. Silent unless the surroundings want it.
    fn log(&self, _line: &str) {}

    /// Two draws of [`Runtime::random_u64`]: the randomness a ticket id takes.
    fn random_u128(&self) -> u128 {
        (u128::from(self.random_u64()) << 64) | u128::from(self.random_u64())
    }
}

impl<T: Transport + ?Sized> Transport for &T {
    fn send(&self, request: HttpRequest) -> impl Future<Output = Result<HttpResponse, TransportError>> {
        (**self).send(request)
    }
}

impl<R: Runtime + ?Sized> Runtime for &R {
    fn now(&self) -> SystemTime {
        (**self).now()
    }
    fn random_u64(&self) -> u64 {
        (**self).random_u64()
    }
    fn sleep(&self, duration: Duration) -> impl Future<Output = ()> {
        (**self).sleep(duration)
    }
    fn log(&self, line: &str) {
        (**self).log(line)
    }
}
