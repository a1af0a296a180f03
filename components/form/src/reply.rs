//! One response type for every route: JSON for programs, a small HTML page for a plain form post, the script.
//!
//! Key decision: an error is rendered from the same [`ApiError`] either way, so the status and the message a
//! person reads are the same whether the page used JavaScript or not.

use tr_core::form::html_page;
use tr_core::http_answer::ApiError;

pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    pub headers: Vec<(&'static str, String)>,
}

/// Which kind of client is asking: a browser navigating (a plain form post) reads HTML, anything else JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Page,
    Program,
}

impl Audience {
    /// A plain form post's `Accept` names `text/html`; the embed asks for `application/json`.
    pub fn from_accept(accept: Option<&str>) -> Self {
        match accept {
            Some(a) if a.to_ascii_lowercase().contains("text/html") => Audience::Page,
            _ => Audience::Program,
        }
    }
}

impl Reply {
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self { status, content_type: "application/json", body: body.to_string(), headers: Vec::new() }
    }

    pub fn html(status: u16, body: String) -> Self {
        Self { status, content_type: "text/html; charset=utf-8", body, headers: Vec::new() }
    }

    pub fn error(e: &ApiError, audience: Audience, back: Option<&str>) -> Self {
        let mut reply = match audience {
            Audience::Program => Self { status: e.status, content_type: "application/json", body: e.body(), headers: Vec::new() },
            Audience::Page => {
                let message = match &e.field {
                    Some(field) if !e.message.starts_with(field.as_str()) => format!("{field}: {}", e.message),
                    _ => e.message.clone(),
                };
                Self::html(e.status, html_page::page("Your message was not sent", &message, back))
            }
        };
        if let Some(seconds) = e.retry_after {
            reply.headers.push(("retry-after", seconds.to_string()));
        }
        reply
    }

    pub fn with_headers(mut self, headers: Vec<(&'static str, String)>) -> Self {
        self.headers.extend(headers);
        self
    }
}
