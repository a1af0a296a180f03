//! What the HTTP lanes (form, chat) answer when a request is wrong or a dependency is down: one JSON error shape,
//! the right status, and the guards every endpoint runs first (body size, content type).
//!
//! Key decision: the body is always `{"error": {"code", "message", "field"}}` — `code` stable for programs,
//! `message` for people, `field` the JSON path or form field at fault (or null) — and a client's mistake is always
//! a 4xx, never a 500. A dependency failure after retries is 503 with `Retry-After`, so the sender retries; with
//! the same idempotency key that retry completes the same ticket.

use serde_json::json;

/// Spin's HTTP trigger passes the path below the component's route in this header.
pub const PATH_INFO_HEADER: &str = "spin-path-info";
/// Spin's HTTP trigger passes the connection's peer address in this header.
pub const CLIENT_ADDR_HEADER: &str = "spin-client-addr";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// Seconds, for 429 and 503.
    pub retry_after: Option<u32>,
}

impl ApiError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), field: None, retry_after: None }
    }

    pub fn at(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "bad_request", message)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(401, "unauthorized", message)
    }

    pub fn unprocessable(message: impl Into<String>) -> Self {
        Self::new(422, "unprocessable", message)
    }

    /// A dependency (store, queue) failed after its own retries: the sender should try again.
    pub fn retry_later(message: impl Into<String>, seconds: u32) -> Self {
        Self { retry_after: Some(seconds), ..Self::new(503, "unavailable", message) }
    }

    /// A dependency (store, queue) failed in a way that may pass: 503 with a fixed message. The detail can name
    /// queues, accounts or hosts, so it goes to the log, never to an anonymous client.
    pub fn unavailable(seconds: u32) -> Self {
        Self::retry_later("the service is briefly unavailable; nothing was kept; please try again", seconds)
    }

    /// A failure retrying cannot fix, not the client's doing: 500 with a fixed message (the detail is logged).
    pub fn internal() -> Self {
        Self::new(500, "internal", "the message could not be accepted because of a fault on our side; nothing was kept")
    }

    pub fn body(&self) -> String {
        json!({"error": {"code": self.code, "message": self.message, "field": self.field}}).to_string()
    }
}

/// What an HTTP lane answers, as plain data: the component turns it into its SDK's response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self { status, content_type: "application/json", body: body.to_string(), headers: Vec::new() }
    }

    pub fn html(status: u16, body: String) -> Self {
        Self { status, content_type: "text/html; charset=utf-8", body, headers: Vec::new() }
    }

    /// The JSON error body, with `Retry-After` when the error has one.
    pub fn api_error(e: &ApiError) -> Self {
        let reply = Self { status: e.status, content_type: "application/json", body: e.body(), headers: Vec::new() };
        reply.with_retry_after(e.retry_after)
    }

    pub fn with_retry_after(mut self, seconds: Option<u32>) -> Self {
        if let Some(seconds) = seconds {
            self.headers.push(("retry-after", seconds.to_string()));
        }
        self
    }

    pub fn with_headers(mut self, headers: Vec<(&'static str, String)>) -> Self {
        self.headers.extend(headers);
        self
    }

    /// The `http` response a component returns.
    pub fn into_response(self) -> Result<http::Response<String>, http::Error> {
        let mut response = http::Response::builder().status(self.status).header("content-type", self.content_type);
        for (name, value) in &self.headers {
            response = response.header(*name, value);
        }
        response.body(self.body)
    }
}

/// 405 unless the method is one the endpoint takes.
pub fn check_method(method: &str, allowed: &[&str]) -> Result<(), ApiError> {
    if allowed.iter().any(|m| m.eq_ignore_ascii_case(method)) {
        return Ok(());
    }
    Err(method_not_allowed(method, allowed))
}

/// The 405 for `method`, naming the ones the endpoint takes.
pub fn method_not_allowed(method: &str, allowed: &[&str]) -> ApiError {
    ApiError::new(405, "method_not_allowed", format!("{method} is not allowed here; use {}", allowed.join(" or ")))
}

/// 415 unless the media type (parameters such as `charset` ignored) is one of `allowed`.
pub fn check_content_type(header: Option<&str>, allowed: &[&str]) -> Result<(), ApiError> {
    let media = header.and_then(|h| h.split(';').next()).map(|m| m.trim().to_ascii_lowercase()).unwrap_or_default();
    if allowed.contains(&media.as_str()) {
        return Ok(());
    }
    let got = if media.is_empty() { "no content type".to_owned() } else { format!("`{media}`") };
    Err(ApiError::new(415, "unsupported_media_type", format!("{got}; send {}", allowed.join(" or "))))
}

/// 413 when the body (or its declared length) is over `limit` bytes.
pub fn check_size(bytes: usize, limit: usize) -> Result<(), ApiError> {
    if bytes <= limit {
        return Ok(());
    }
    Err(ApiError::new(413, "payload_too_large", format!("the body is {bytes} bytes; the limit is {limit}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_have_one_shape() {
        let e = ApiError::bad_request("expected a string").at("messages[2].text");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&e.body()).unwrap(),
            json!({"error": {"code": "bad_request", "message": "expected a string", "field": "messages[2].text"}})
        );
        assert_eq!(ApiError::retry_later("queue down", 30).retry_after, Some(30));
    }

    #[test]
    fn guards_refuse_with_the_right_status() {
        assert!(check_content_type(Some("application/json; charset=utf-8"), &["application/json"]).is_ok());
        assert_eq!(check_content_type(Some("text/plain"), &["application/json"]).unwrap_err().status, 415);
        assert_eq!(check_content_type(None, &["application/json"]).unwrap_err().message, "no content type; send application/json");
        assert_eq!(check_size(10, 9).unwrap_err().status, 413);
        assert!(check_size(9, 9).is_ok());
        assert_eq!(check_method("GET", &["POST"]).unwrap_err().status, 405);
        assert!(check_method("post", &["POST"]).is_ok());
    }
}
