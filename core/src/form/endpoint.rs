//! The form component's routes, as plain data in and out: a request's parts and body → a [`Reply`].
//!
//! Routes under the component's base (`/form/...`): `POST /` a submission (a plain HTML form's urlencoded post,
//! or the embed's JSON), `OPTIONS /` the CORS preflight, `GET /embed.js` the embed, `GET /check` whether the
//! asking page's origin may post (so the embed can explain a CORS refusal, which a browser hides from scripts).
//! Key decision: the origin is checked before anything else; a refused origin gets no CORS headers, every answer
//! to an allowed one does, so the embed can read the error and show it.

use bytes::Bytes;
use serde_json::json;

use crate::form::lane::{Accepted, FormSettings, Sent, accept};
use crate::form::origin::cors_headers;
use crate::form::reply::{Audience, error_reply};
use crate::form::html_page;
use crate::http_answer::{ApiError, CLIENT_ADDR_HEADER, PATH_INFO_HEADER, Reply, method_not_allowed};
use crate::store::Kv;
use crate::store::keep::Kept;
use crate::transport::{Runtime, Transport};
use crate::vars::Vars;
use crate::wiring::Wiring;

pub struct FormEndpoint<T, R, K> {
    pub settings: FormSettings,
    pub wiring: Wiring<T, R, K>,
    /// The embed script, served as is (the component ships it).
    pub embed_js: &'static str,
}

impl<T: Transport + Clone, R: Runtime + Clone, K: Kv> FormEndpoint<T, R, K> {
    pub async fn from_vars(vars: &impl Vars, wiring: Wiring<T, R, K>, embed_js: &'static str) -> Self {
        Self { settings: FormSettings::from_vars(vars).await, wiring, embed_js }
    }

    pub async fn serve<B>(self, parts: &http::request::Parts, body: B) -> Reply
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + std::fmt::Debug + Send + Sync + 'static,
    {
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let path = header(PATH_INFO_HEADER).unwrap_or_default();
        let method = parts.method.as_str();
        let audience = Audience::from_accept(header("accept").as_deref());
        let refuse = |allowed: &[&str]| {
            error_reply(&method_not_allowed(method, allowed), audience, None).with_headers(vec![("allow", allowed.join(", "))])
        };
        match (path.trim_end_matches('/'), method) {
            ("", "POST") => self.submit(parts, body, audience).await,
            ("", "OPTIONS") => self.preflight(header("origin").as_deref()),
            ("", _) => refuse(&["POST", "OPTIONS"]),
            ("/embed.js", "GET" | "HEAD") => Reply { status: 200, content_type: "text/javascript; charset=utf-8", body: self.embed_js.to_owned(), headers: Vec::new() }
                .with_headers(vec![("cache-control", "public, max-age=300".to_owned())]),
            ("/embed.js", _) => refuse(&["GET", "HEAD"]),
            ("/check", "GET") => self.check(header("origin").as_deref()),
            ("/check", _) => refuse(&["GET"]),
            (other, _) => {
                let e = ApiError::new(404, "not_found", format!("no form endpoint at `{other}`; post to the form's base path"));
                error_reply(&e, audience, None)
            }
        }
    }

    fn origin(&self, origin: Option<&str>) -> Result<String, ApiError> {
        self.settings.origins.clone().and_then(|o| o.check(origin))
    }

    fn preflight(&self, origin: Option<&str>) -> Reply {
        match self.origin(origin) {
            Ok(origin) => Reply { status: 204, content_type: "text/plain", body: String::new(), headers: Vec::new() }
                .with_headers(cors_headers(&origin, true)),
            Err(e) => {
                self.wiring.runtime.log(&format!("[form] preflight refused: {}", e.message));
                error_reply(&e, Audience::Program, None)
            }
        }
    }

    /// Readable from any origin on purpose: it only tells the asking page about itself.
    fn check(&self, origin: Option<&str>) -> Reply {
        let (allowed, message) = match self.origin(origin) {
            Ok(_) => (true, "this page may post to the form".to_owned()),
            Err(e) => (false, e.message),
        };
        Reply::json(200, json!({"allowed": allowed, "message": message}))
            .with_headers(vec![("access-control-allow-origin", "*".to_owned())])
    }

    async fn submit<B>(self, parts: &http::request::Parts, body: B, audience: Audience) -> Reply
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + std::fmt::Debug + Send + Sync + 'static,
    {
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let origin = self.origin(header("origin").as_deref());
        let forwarded: Vec<&str> = parts.headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
        let sent = Sent {
            peer: header(CLIENT_ADDR_HEADER),
            forwarded_for: (!forwarded.is_empty()).then(|| forwarded.join(",")),
            content_type: header("content-type"),
            declared: header("content-length").and_then(|v| v.parse().ok()),
            referer: header("referer"),
        };
        let runtime = self.wiring.runtime.clone();
        // A refused origin gets no CORS headers; every answer to an allowed one does.
        let (outcome, cors) = match origin {
            Ok(origin) => (accept(&self.settings, self.wiring, &sent, body).await, cors_headers(&origin, false)),
            Err(e) => (Err(e), Vec::new()),
        };
        let back = sent.referer.as_deref();
        let reply = match outcome {
            Ok(Accepted::Ticket { kept, page }) => received(&runtime, audience, Some(kept), page.as_deref().or(back)),
            Ok(Accepted::Bot(verdict)) => {
                runtime.log(&format!("[form] dropped from {}: {verdict:?} (answered 202, nothing made)", sent.peer.as_deref().unwrap_or("?")));
                received(&runtime, audience, None, back)
            }
            Err(e) => {
                runtime.log(&format!("[form] refused {} {}: {}", e.status, e.code, e.message));
                error_reply(&e, audience, back)
            }
        };
        reply.with_headers(cors)
    }
}

/// The same answer for a person and a bot: 202, "received".
fn received(runtime: &impl Runtime, audience: Audience, kept: Option<Kept>, back: Option<&str>) -> Reply {
    if let Some(kept) = &kept {
        let (what, id) = match kept {
            Kept::Created { ticket_id } => ("created", ticket_id),
            Kept::Appended { ticket_id } => ("appended to", ticket_id),
            Kept::Repeat { ticket_id } => ("repeat of", ticket_id),
        };
        runtime.log(&format!("[form] submission -> {what} {id}"));
    }
    match audience {
        Audience::Program => Reply::json(202, json!({"status": "received"})),
        Audience::Page => Reply::html(
            202,
            html_page::page("Thanks — your message was sent", "Our support team has it and will reply by email.", back),
        ),
    }
}
