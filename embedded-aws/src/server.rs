//! The HTTP side: accept connections, read each request whole, verify its SigV4 signature, and route it to SQS
//! (`X-Amz-Target: AmazonSQS.*`) or S3 (everything else, path-style) on the same port.
//!
//! Key decision: authentication failures are answered in the protocol the request spoke (SQS JSON `__type` or S3
//! XML `<Error>`), with the codes AWS uses, because SDKs map errors by those codes.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::app::App;
use crate::error::{ApiError, ApiErrorKind};
use crate::sigv4_verify::{self, AuthFailure};
use crate::{s3, sqs};

/// Larger bodies are refused before they are read (S3 single PUTs are meant for e-mails here).
const MAX_BODY: usize = 64 * 1024 * 1024;

pub async fn serve(listener: TcpListener, app: Arc<App>, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let app = app.clone();
                let mut conn_shutdown = shutdown.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(app.clone(), req));
                    let conn = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
                    tokio::pin!(conn);
                    tokio::select! {
                        _ = conn.as_mut() => {}
                        _ = conn_shutdown.changed() => conn.as_mut().graceful_shutdown(),
                    }
                });
            }
            _ = shutdown.changed() => return,
        }
    }
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

async fn handle(
    app: Arc<App>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let sqs_action = parts
        .headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.strip_prefix("AmazonSQS."))
        .map(str::to_owned);
    let head = parts.method == http::Method::HEAD;
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            let e = ApiError::s3(
                413,
                "EntityTooLarge",
                "Your proposed upload exceeds the maximum allowed size",
            );
            return Ok(if sqs_action.is_some() {
                sqs_error(&e)
            } else {
                s3_error(&e, head)
            });
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
    if let Some(action) = sqs_action {
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
