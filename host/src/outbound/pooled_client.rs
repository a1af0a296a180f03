//! Sending a guest's outbound request over a kept-open connection, as Spin's outbound HTTP does (its
//! `connection_pooling`, on by default): one client per application, idle connections kept 90 s per host.
//! wasmtime-wasi-http's `default_send_request` opens a new TCP (and TLS) connection for every request; the form
//! lane's one SQS send per post paid a connect, an accept and a teardown each time, and every SQS or Bedrock call
//! in production would pay a TLS handshake.
//!
//! The request's timeouts are kept: connect plus first byte bound the wait for the response head, between-bytes
//! the wait for each body frame. Connection failures reach the guest as connection error codes (so the lanes
//! retry them), as with a fresh connection.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use wasmtime_wasi_http::{Error as HttpError, RequestOptions, WasiBody};

/// wasmtime-wasi-http's default for each of a request's timeouts when the guest sets none.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);
/// How long an idle connection is kept for the next request to the same host.
const IDLE: Duration = Duration::from_secs(90);

pub struct PooledClient {
    client: Client<HttpsConnector<HttpConnector>, WasiBody>,
}

impl PooledClient {
    pub fn new() -> Arc<Self> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_nodelay(true);
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.into() };
        // The provider named, not the process default: this build links two (aws-lc-rs for the AWS SDK, ring for
        // wasmtime-wasi-http), and `ClientConfig::builder()` panics when it cannot choose.
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("aws-lc-rs supports TLS 1.2 and 1.3")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let https = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http().enable_http1().wrap_connector(http);
        let client = Client::builder(TokioExecutor::new()).pool_idle_timeout(IDLE).build(https);
        Arc::new(Self { client })
    }

    pub async fn send(&self, request: http::Request<WasiBody>, options: Option<RequestOptions>) -> Result<http::Response<WasiBody>, HttpError> {
        let connect = options.and_then(|o| o.connect_timeout).unwrap_or(DEFAULT_TIMEOUT);
        let first_byte = options.and_then(|o| o.first_byte_timeout).unwrap_or(DEFAULT_TIMEOUT);
        let between_bytes = options.and_then(|o| o.between_bytes_timeout).unwrap_or(DEFAULT_TIMEOUT).max(Duration::from_nanos(1));
        let response = match tokio::time::timeout(connect.saturating_add(first_byte), self.client.request(request)).await {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => return Err(error_of(e)),
            Err(_) => return Err(HttpError::ConnectionReadTimeout),
        };
        Ok(response.map(|incoming| {
            let mut timeout = tokio::time::interval(between_bytes);
            timeout.reset();
            TimedBody { incoming, timeout }.boxed_unsync()
        }))
    }
}

/// The client's error as wasmtime-wasi-http's: a failed connect keeps its I/O error (refused, unreachable,
/// DNS), which the guest sees as the matching connection code.
fn error_of(e: hyper_util::client::legacy::Error) -> HttpError {
    use std::error::Error as _;
    let mut source = e.source();
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            let io = std::io::Error::new(io.kind(), io.to_string());
            return if e.is_connect() { HttpError::Connect(io) } else { HttpError::ConnectionTerminated };
        }
        source = cause.source();
    }
    match e.source().and_then(|s| s.downcast_ref::<hyper::Error>()) {
        Some(h) if h.is_incomplete_message() || h.is_canceled() || h.is_closed() => HttpError::ConnectionTerminated,
        _ if e.is_connect() => HttpError::ConnectionRefused,
        _ => HttpError::HttpProtocolError,
    }
}

/// The response body, failing a frame that does not come within the between-bytes timeout.
struct TimedBody {
    incoming: hyper::body::Incoming,
    timeout: tokio::time::Interval,
}

impl http_body::Body for TimedBody {
    type Data = Bytes;
    type Error = HttpError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<http_body::Frame<Bytes>, HttpError>>> {
        match Pin::new(&mut self.incoming).poll_frame(cx) {
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(if e.is_timeout() { HttpError::HttpResponseTimeout } else { e.into() }))),
            Poll::Ready(Some(Ok(frame))) => {
                self.timeout.reset();
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Pending => {
                ready!(self.timeout.poll_tick(cx));
                Poll::Ready(Some(Err(HttpError::ConnectionReadTimeout)))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.incoming.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.incoming.size_hint()
    }
}
