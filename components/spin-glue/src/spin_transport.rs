//! The core's HTTP transport over Spin's outbound HTTP (`wasi:http/client@0.3.0`, spin-sdk 7).
//!
//! Key decision: the host's refusal (`HttpRequestDenied`, a host not in `allowed_outbound_hosts`) is its own
//! kind, because retrying it cannot help; DNS, connection and timeout codes are weather and are retried.

use bytes::Bytes;
use http_body_util::Full;
use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::wasip3::http::types::ErrorCode;
use tr_core::transport::{HttpRequest, HttpResponse, TransportErrorKind};
use tr_core::{Transport, TransportError};

#[derive(Debug, Clone, Copy, Default)]
pub struct SpinTransport;

impl Transport for SpinTransport {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let (mut parts, body) = request.into_parts();
        // Without it the body goes out chunked, which not every AWS endpoint accepts. Not signed, so adding it
        // after signing is safe.
        if !body.is_empty() {
            parts.headers.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(body.len()));
        }
        let request = http::Request::from_parts(parts, Full::new(Bytes::from(body)));
        let response = spin_sdk::http::send(request).await.map_err(classify)?;
        let (parts, body) = response.into_parts();
        let body = body.bytes().await.map_err(classify)?;
        Ok(http::Response::from_parts(parts, body.to_vec()))
    }
}

fn classify(code: ErrorCode) -> TransportError {
    let kind = match &code {
        ErrorCode::HttpRequestDenied => TransportErrorKind::Denied,
        ErrorCode::DnsTimeout | ErrorCode::ConnectionTimeout | ErrorCode::ConnectionReadTimeout
        | ErrorCode::ConnectionWriteTimeout => TransportErrorKind::Timeout,
        ErrorCode::DnsError(_) | ErrorCode::DestinationNotFound | ErrorCode::DestinationUnavailable
        | ErrorCode::DestinationIpProhibited | ErrorCode::DestinationIpUnroutable | ErrorCode::ConnectionRefused
        | ErrorCode::TlsProtocolError | ErrorCode::TlsCertificateError | ErrorCode::TlsAlertReceived(_) => {
            TransportErrorKind::Connect
        }
        _ => TransportErrorKind::Io,
    };
    TransportError::new(kind, format!("{code:?}"))
}
