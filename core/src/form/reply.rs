//! The form's answers for its two kinds of client: JSON for programs (the embed), a small HTML page for a plain
//! form post.
//!
//! Key decision: an error is rendered from the same [`ApiError`] either way, so the status and the message a
//! person reads are the same whether the page used JavaScript or not.

use crate::form::html_page;
use crate::http_answer::{ApiError, Reply};

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

/// `e` as its audience reads it; a page gets a link `back` to where it came from.
pub fn error_reply(e: &ApiError, audience: Audience, back: Option<&str>) -> Reply {
    match audience {
        Audience::Program => Reply::api_error(e),
        Audience::Page => {
            let message = match &e.field {
                Some(field) if !e.message.starts_with(field.as_str()) => format!("{field}: {}", e.message),
                _ => e.message.clone(),
            };
            Reply::html(e.status, html_page::page("Your message was not sent", &message, back)).with_retry_after(e.retry_after)
        }
    }
}
