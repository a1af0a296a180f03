//! AWS error answers, parsed and classified.
//!
//! JSON-protocol services (SQS, Bedrock) answer `{"__type": "…#Code", "message": "…"}` (plus, for SQS, an
//! `x-amzn-query-error: Code;Sender` header); S3 and the query protocol answer XML `<Code>`/`<Message>`. Either
//! way the caller gets one [`AwsError`] whose [`AwsErrorKind`] says whether trying again can help.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsErrorKind {
    /// Slow down and retry (429, throttling codes).
    Throttled,
    /// The service failed (5xx, internal errors, timeouts): retry.
    Server,
    /// Credentials or signature refused: retrying with the same credentials cannot help.
    Auth,
    /// The request itself is wrong (validation, missing queue): permanent.
    Client,
}

impl AwsErrorKind {
    pub fn is_retryable(self) -> bool {
        matches!(self, AwsErrorKind::Throttled | AwsErrorKind::Server)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    pub kind: AwsErrorKind,
    pub status: u16,
    /// The short code (`ThrottlingException`, `SignatureDoesNotMatch`), namespace removed.
    pub code: String,
    pub message: String,
    pub request_id: Option<String>,
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {} {}: {}", self.status, self.code, self.message)?;
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

impl std::error::Error for AwsError {}

const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottled",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "SlowDown",
    "ModelNotReadyException",
];

const SERVER: &[&str] = &[
    "InternalError",
    "InternalFailure",
    "InternalServerException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
    "RequestTimeoutException",
    "ModelTimeoutException",
];

const AUTH: &[&str] = &[
    "SignatureDoesNotMatch",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "AccessDenied",
    "AccessDeniedException",
    "ExpiredToken",
    "ExpiredTokenException",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "InvalidAccessKeyId",
    "InvalidSecurityToken",
    "AuthFailure",
];

/// Parses an error answer. Never fails: an unreadable body still yields the status and a generic code.
pub fn parse(status: u16, headers: &http::HeaderMap, body: &[u8]) -> AwsError {
    let text = String::from_utf8_lossy(body);
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (mut code, message) = parse_json(&text).or_else(|| parse_xml(&text)).unwrap_or_default();
    if let Some(query_code) = header("x-amzn-query-error").and_then(|v| v.split(';').next().map(str::to_owned)) {
        // SQS's JSON `__type` is namespaced (`com.amazonaws.sqs#QueueDoesNotExist`); the query code is the one
        // its documentation lists (`AWS.SimpleQueueService.NonExistentQueue`). Prefer the body's when present.
        if code.is_empty() {
            code = query_code;
        }
    }
    if code.is_empty() {
        code = header("x-amzn-errortype").map(|c| short_code(&c)).unwrap_or_else(|| format!("Http{status}"));
    }
    let request_id = header("x-amzn-requestid").or_else(|| header("x-amz-request-id"));
    AwsError { kind: classify(status, &code), status, code, message: truncate(&message, 500), request_id }
}

fn classify(status: u16, code: &str) -> AwsErrorKind {
    if THROTTLING.contains(&code) || status == 429 {
        AwsErrorKind::Throttled
    } else if AUTH.contains(&code) || status == 401 || status == 403 {
        AwsErrorKind::Auth
    } else if SERVER.contains(&code) || status >= 500 || status == 408 {
        AwsErrorKind::Server
    } else {
        AwsErrorKind::Client
    }
}

/// `com.amazonaws.sqs#QueueDoesNotExist` and `QueueDoesNotExist:http://…` → `QueueDoesNotExist`.
fn short_code(raw: &str) -> String {
    let raw = raw.rsplit('#').next().unwrap_or(raw);
    raw.split(':').next().unwrap_or(raw).trim().to_owned()
}

fn parse_json(text: &str) -> Option<(String, String)> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let obj = value.as_object()?;
    let code = obj
        .get("__type")
        .or_else(|| obj.get("code"))
        .or_else(|| obj.get("Code"))
        .and_then(|v| v.as_str())
        .map(short_code)
        .unwrap_or_default();
    let message = obj
        .get("message")
        .or_else(|| obj.get("Message"))
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_owned();
    Some((code, message))
}

fn parse_xml(text: &str) -> Option<(String, String)> {
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&format!("</{name}>"))? + start;
        Some(text[start..end].trim().to_owned())
    };
    let code = tag("Code")?;
    Some((short_code(&code), tag("Message").unwrap_or_default()))
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> http::HeaderMap {
        pairs.iter().map(|(k, v)| (http::HeaderName::from_static(k), http::HeaderValue::from_static(v))).collect()
    }

    #[test]
    fn sqs_json_error() {
        let e = parse(
            400,
            &headers(&[("x-amzn-query-error", "AWS.SimpleQueueService.NonExistentQueue;Sender")]),
            br#"{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}"#,
        );
        assert_eq!(e.code, "QueueDoesNotExist");
        assert_eq!(e.kind, AwsErrorKind::Client);
        assert_eq!(e.message, "The specified queue does not exist.");
    }

    #[test]
    fn xml_signature_error_is_auth() {
        let body = b"<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match</Message></Error></ErrorResponse>";
        let e = parse(403, &http::HeaderMap::new(), body);
        assert_eq!((e.kind, e.code.as_str()), (AwsErrorKind::Auth, "SignatureDoesNotMatch"));
    }

    #[test]
    fn classification() {
        let empty = http::HeaderMap::new();
        assert_eq!(parse(400, &empty, br#"{"__type":"ThrottlingException"}"#).kind, AwsErrorKind::Throttled);
        assert_eq!(parse(429, &empty, b"").kind, AwsErrorKind::Throttled);
        assert_eq!(parse(503, &empty, b"<html>").kind, AwsErrorKind::Server);
        assert_eq!(parse(503, &empty, b"").code, "Http503");
        assert_eq!(parse(400, &empty, br#"{"__type":"ValidationException","message":"bad"}"#).kind, AwsErrorKind::Client);
        assert_eq!(parse(403, &empty, b"").kind, AwsErrorKind::Auth);
        assert!(AwsErrorKind::Server.is_retryable() && !AwsErrorKind::Auth.is_retryable());
    }
}
