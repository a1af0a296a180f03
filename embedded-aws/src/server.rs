//! One request: refuse it early if its headers already say no, else read its body (bounded), verify its SigV4
//! signature, and route it to SQS (`X-Amz-Target: AmazonSQS.*`) or S3 (everything else, path-style).
//!
//! Key decisions:
//! - Authentication failures are answered in the protocol the request spoke (SQS JSON `__type` or S3 XML
//!   `<Error>`), with the codes AWS uses, because SDKs map errors by those codes.
//! - **Refuse before reading.** Missing or malformed credentials, an unknown key, a skewed date and a declared
//!   length over the limit are all visible in the headers, so they are answered before any body byte is read.
//! - **Drain, then answer.** An early refusal reads and discards a bounded amount of the unread body first
//!   (`drain_bytes` / `drain_time`), so a client still writing sees the status instead of a reset (EPIPE); a larger
//!   or slower body is not waited for: the answer goes out with `Connection: close`. A client that asked
//!   `Expect: 100-continue` is never told to continue, so it never sends the body.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::request::Parts;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Incoming};

use crate::app::App;
use crate::error::{ApiError, ApiErrorKind};
use crate::sigv4_verify::{self, AuthFailure};
use crate::{s3, sqs};

/// How the connection was admitted: served normally, or past the cap and answered 503.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    Served,
    Overloaded,
}

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn sqs_error(e: &ApiError) -> Response<Full<Bytes>> {
    if let ApiErrorKind::Storage(detail) = &e.kind {
        eprintln!("[embedded-aws] storage failure: {detail}");
    }
    let body = serde_json::json!({"__type": e.sqs_type, "message": e.message}).to_string();
    let mut response = Response::builder()
        .status(e.status)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amzn-requestid", request_id());
    if let Some(code) = query_error_code(e) {
        let fault = if e.status >= 500 {
            "Receiver"
        } else {
            "Sender"
        };
        response = response.header("x-amzn-query-error", format!("{code};{fault}"));
    }
    response
        .body(Full::new(Bytes::from(body)))
        .expect("static response parts")
}

/// SQS's JSON protocol is "query compatible": next to `__type` it sends the old query-protocol error code in
/// `x-amzn-query-error`, and the SDK matches modelled errors (e.g. `is_queue_does_not_exist()`) on that code.
fn query_error_code(e: &ApiError) -> Option<String> {
    if !e.sqs_type.starts_with("com.amazonaws.sqs#") {
        return None; // coral (authentication, serialization) errors carry no query code
    }
    Some(match e.code {
        "QueueDoesNotExist" => "AWS.SimpleQueueService.NonExistentQueue".to_owned(),
        "QueueNameExists" => "QueueAlreadyExists".to_owned(),
        "BatchEntryIdsNotDistinct"
        | "EmptyBatchRequest"
        | "TooManyEntriesInBatchRequest"
        | "InvalidBatchEntryId"
        | "BatchRequestTooLong"
        | "PurgeQueueInProgress"
        | "UnsupportedOperation"
        | "QueueDeletedRecently" => {
            format!("AWS.SimpleQueueService.{}", e.code)
        }
        other => other.to_owned(),
    })
}

fn s3_error(e: &ApiError, head: bool) -> Response<Full<Bytes>> {
    if let ApiErrorKind::Storage(detail) = &e.kind {
        eprintln!("[embedded-aws] storage failure: {detail}");
    }
    let id = request_id();
    let body = if head {
        Bytes::new() // HEAD answers carry no body; the SDK maps the status code
    } else {
        Bytes::from(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message><RequestId>{id}</RequestId></Error>",
            e.code,
            e.message.replace('&', "&amp;").replace('<', "&lt;")
        ))
    };
    Response::builder()
        .status(e.status)
        .header("content-type", "application/xml")
        .header("x-amz-request-id", id)
        .body(Full::new(body))
        .expect("static response parts")
}

fn sqs_auth_error(f: &AuthFailure) -> ApiError {
    let coral =
        |status, code, sqs_type, message: &str| ApiError::sqs(status, code, sqs_type, message);
    match f {
        AuthFailure::Missing => coral(
            403,
            "MissingAuthenticationTokenException",
            "com.amazon.coral.service#MissingAuthenticationTokenException",
            "Request is missing Authentication Token",
        ),
        AuthFailure::Malformed(m) => coral(
            400,
            "IncompleteSignatureException",
            "com.amazon.coral.service#IncompleteSignatureException",
            m,
        ),
        AuthFailure::UnknownKey => coral(
            403,
            "UnrecognizedClientException",
            "com.amazon.coral.service#UnrecognizedClientException",
            "The security token included in the request is invalid.",
        ),
        AuthFailure::SignatureMismatch | AuthFailure::PayloadHashMismatch => coral(
            403,
            "InvalidSignatureException",
            "com.amazon.coral.service#InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret \
             Access Key and signing method. Consult the service documentation for details.",
        ),
        AuthFailure::BadTime(m) => coral(
            403,
            "InvalidSignatureException",
            "com.amazon.coral.service#InvalidSignatureException",
            m,
        ),
    }
}

fn s3_auth_error(f: &AuthFailure) -> ApiError {
    match f {
        AuthFailure::Missing => ApiError::s3(403, "AccessDenied", "Access Denied"),
        AuthFailure::Malformed(m) => ApiError::s3(400, "AuthorizationHeaderMalformed", m.clone()),
        AuthFailure::UnknownKey => ApiError::s3(
            403,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
        ),
        AuthFailure::SignatureMismatch => ApiError::s3(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        ),
        AuthFailure::BadTime(m) => ApiError::s3(403, "RequestTimeTooSkewed", m.clone()),
        AuthFailure::PayloadHashMismatch => ApiError::s3(
            400,
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        ),
    }
}

/// Which protocol a request speaks, decided from its headers: errors are rendered in it.
enum Protocol {
    Sqs(String),
    S3 { head: bool },
}

impl Protocol {
    fn of(parts: &Parts) -> Protocol {
        match parts
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .and_then(|t| t.strip_prefix("AmazonSQS."))
        {
            Some(action) => Protocol::Sqs(action.to_owned()),
            None => Protocol::S3 {
                head: parts.method == http::Method::HEAD,
            },
        }
    }

    fn error(&self, e: &ApiError) -> Response<Full<Bytes>> {
        match self {
            Protocol::Sqs(_) => sqs_error(e),
            Protocol::S3 { head } => s3_error(e, *head),
        }
    }
}

fn too_large() -> ApiError {
    ApiError::s3(
        413,
        "EntityTooLarge",
        "Your proposed upload exceeds the maximum allowed size",
    )
}

fn overloaded(protocol: &Protocol) -> ApiError {
    match protocol {
        Protocol::Sqs(_) => ApiError::sqs(
            503,
            "ServiceUnavailable",
            "com.amazonaws.sqs#ServiceUnavailable",
            "The endpoint is at its connection limit; retry later.",
        ),
        Protocol::S3 { .. } => ApiError::s3(503, "SlowDown", "Please reduce your request rate."),
    }
}

/// Why a body could not be read whole.
#[derive(Debug)]
enum BodyError {
    TooLarge,
    Read(hyper::Error),
}

/// Reads the body up to `max` bytes; past that it stops (the rest stays unread).
async fn read_body(body: &mut Incoming, max: usize) -> Result<Bytes, BodyError> {
    let mut out = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.map_err(BodyError::Read)?.into_data() {
            if out.len() + data.len() > max {
                return Err(BodyError::TooLarge);
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out.freeze())
}

/// Reads and discards what is left of `body` within the drain budget; says whether it all arrived (then the
/// connection can be kept).
async fn drain(body: &mut Incoming, headers: &http::HeaderMap, app: &App) -> bool {
    let limits = &app.config.limits;
    let expects_continue = headers
        .get(http::header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    if body.is_end_stream() {
        return true;
    }
    if expects_continue || body.size_hint().lower() > limits.drain_bytes {
        return false; // not asked for, or too much to be worth reading: answer and close
    }
    let discard = async {
        let mut seen = 0u64;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { return false };
            if let Some(data) = frame.data_ref() {
                seen += data.len() as u64;
                if seen > limits.drain_bytes {
                    return false;
                }
            }
        }
        true
    };
    tokio::time::timeout(limits.drain_time, discard)
        .await
        .unwrap_or(false)
}

/// An answer given before (or instead of) reading the body: drain what is cheap to drain, else close.
async fn refuse(
    app: &App,
    parts: &Parts,
    body: &mut Incoming,
    response: Response<Full<Bytes>>,
) -> Response<Full<Bytes>> {
    let mut response = response;
    if !drain(body, &parts.headers, app).await {
        response.headers_mut().insert(
            http::header::CONNECTION,
            http::HeaderValue::from_static("close"),
        );
    }
    response
}

pub async fn handle(
    app: Arc<App>,
    req: Request<Incoming>,
    admission: Admission,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, mut body) = req.into_parts();
    let protocol = Protocol::of(&parts);
    if admission == Admission::Overloaded {
        let answer = protocol.error(&overloaded(&protocol));
        return Ok(refuse(&app, &parts, &mut body, answer).await);
    }
    let early = sigv4_verify::precheck(
        &parts.headers,
        &app.config.credentials,
        time::OffsetDateTime::now_utc(),
    );
    if let Err(f) = early {
        let answer = match &protocol {
            Protocol::Sqs(_) => sqs_error(&sqs_auth_error(&f)),
            Protocol::S3 { head } => s3_error(&s3_auth_error(&f), *head),
        };
        return Ok(refuse(&app, &parts, &mut body, answer).await);
    }
    let max = app.config.limits.max_body_bytes;
    if body.size_hint().lower() > max as u64 {
        let answer = protocol.error(&too_large());
        return Ok(refuse(&app, &parts, &mut body, answer).await);
    }
    let body = match read_body(&mut body, max).await {
        Ok(bytes) => bytes,
        Err(BodyError::TooLarge) => {
            let answer = protocol.error(&too_large());
            return Ok(refuse(&app, &parts, &mut body, answer).await);
        }
        Err(BodyError::Read(e)) => {
            // The client went away or broke framing mid-body; hyper closes the connection after this answer.
            let e = ApiError::s3(
                400,
                "IncompleteBody",
                format!("could not read the request body: {e}"),
            );
            return Ok(protocol.error(&e));
        }
    };
    let verified = sigv4_verify::verify(
        parts.method.as_str(),
        &parts.uri,
        &parts.headers,
        &body,
        &app.config.credentials,
        time::OffsetDateTime::now_utc(),
    );
    let head = match protocol {
        Protocol::S3 { head } => head,
        Protocol::Sqs(action) => {
            let verified = match verified {
                Ok(v) => v,
                Err(f) => return Ok(sqs_error(&sqs_auth_error(&f))),
            };
            return Ok(
                match sqs::api::handle(&app, &action, &body, &verified.access_key_id).await {
                    Ok(value) => Response::builder()
                        .status(StatusCode::OK)
                        .header("content-type", "application/x-amz-json-1.0")
                        .header("x-amzn-requestid", request_id())
                        .body(Full::new(Bytes::from(value.to_string())))
                        .expect("static response parts"),
                    Err(e) => sqs_error(&e),
                },
            );
        }
    };
    let verified = match verified {
        Ok(v) => v,
        Err(f) => return Ok(s3_error(&s3_auth_error(&f), head)),
    };
    Ok(
        match s3::api::handle(
            &app,
            &parts.method,
            &parts.uri,
            &parts.headers,
            body,
            &verified.access_key_id,
        )
        .await
        {
            Ok(mut response) => {
                response.headers_mut().insert(
                    "x-amz-request-id",
                    request_id().parse().expect("uuid is a header value"),
                );
                response
            }
            Err(e) => s3_error(&e, head),
        },
    )
}
