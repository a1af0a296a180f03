//! The web form lane's component: a Spin HTTP component (spin-sdk 7) behind the "Contact support" form that
//! marketing pages on other origins embed, and the server of that embed's script.
//!
//! Routes under the component's base (`/form/...`): `POST /` a submission (a plain HTML form's urlencoded post,
//! or the embed's JSON), `OPTIONS /` the CORS preflight, `GET /embed.js` the embed, `GET /check` whether the
//! asking page's origin may post (so the embed can explain a CORS refusal, which a browser hides from scripts).
//! Thin by design: guards → [`tr_core::form`] → [`tr_core::form_lane`] → an answer; the order of the guards is in
//! `submit.rs`.
//!
//! Variables: `form_site_key` (secret), `form_allowed_origins`, `form_min_fill_seconds`, `form_rate_limit`,
//! `ticket_queue_url`, `append_queue_url`, `aws_region`, `aws_access_key_id`, `aws_secret_access_key`,
//! `aws_session_token`, `sqs_endpoint`.

mod reply;
mod submit;

use serde_json::json;
use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;
use tr_core::form::AllowedOrigins;
use tr_core::http_answer::{ApiError, method_not_allowed};
use tr_spin_glue::optional;

use reply::{Audience, Reply};

/// The embed, served as is: no build step, no dependencies.
const EMBED_JS: &str = include_str!("../assets/embed.js");

#[http_service]
async fn handle(req: Request) -> anyhow::Result<impl IntoResponse> {
    let reply = route(req).await;
    let mut response = http::Response::builder().status(reply.status).header("content-type", reply.content_type);
    for (name, value) in &reply.headers {
        response = response.header(*name, value);
    }
    Ok(response.body(reply.body)?)
}

async fn route(req: Request) -> Reply {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let path = header("spin-path-info").unwrap_or_default();
    let method = req.method().as_str().to_owned();
    let audience = Audience::from_accept(header("accept").as_deref());
    let refuse = |allowed: &[&str]| {
        Reply::error(&method_not_allowed(&method, allowed), audience, None).with_headers(vec![("allow", allowed.join(", "))])
    };
    match (path.trim_end_matches('/'), method.as_str()) {
        ("", "POST") => submit::submit(req, audience).await,
        ("", "OPTIONS") => preflight(header("origin").as_deref()).await,
        ("", _) => refuse(&["POST", "OPTIONS"]),
        ("/embed.js", "GET" | "HEAD") => embed(),
        ("/embed.js", _) => refuse(&["GET", "HEAD"]),
        ("/check", "GET") => check(header("origin").as_deref()).await,
        ("/check", _) => refuse(&["GET"]),
        (other, _) => {
            let e = ApiError::new(404, "not_found", format!("no form endpoint at `{other}`; post to the form's base path"));
            Reply::error(&e, audience, None)
        }
    }
}

fn embed() -> Reply {
    Reply { status: 200, content_type: "text/javascript; charset=utf-8", body: EMBED_JS.to_owned(), headers: Vec::new() }
        .with_headers(vec![("cache-control", "public, max-age=300".to_owned())])
}

async fn origins() -> Result<AllowedOrigins, ApiError> {
    AllowedOrigins::parse(&optional("form_allowed_origins").await.unwrap_or_default())
        .map_err(|why| ApiError::new(500, "not_configured", format!("form_allowed_origins: {why}")))
}

async fn preflight(origin: Option<&str>) -> Reply {
    match origins().await.and_then(|o| o.check(origin)) {
        Ok(origin) => Reply { status: 204, content_type: "text/plain", body: String::new(), headers: Vec::new() }
            .with_headers(tr_core::form::origin::cors_headers(&origin, true)),
        Err(e) => {
            println!("[form] preflight refused: {}", e.message);
            Reply::error(&e, Audience::Program, None)
        }
    }
}

/// Readable from any origin on purpose: it only tells the asking page about itself.
async fn check(origin: Option<&str>) -> Reply {
    let (allowed, message) = match origins().await.and_then(|o| o.check(origin)) {
        Ok(_) => (true, "this page may post to the form".to_owned()),
        Err(e) => (false, e.message),
    };
    Reply::json(200, json!({"allowed": allowed, "message": message}))
        .with_headers(vec![("access-control-allow-origin", "*".to_owned())])
}
