//! One submission, through the guards in order, into the form lane.
//!
//! The order is cheapest-and-most-telling first: origin (403), content type (415), declared then actual size
//! (413), the per-address rate limit (429, `Retry-After`), decoding (400), site key (401), the bot checks (a
//! normal-looking 202, nothing made), then the lane (422 naming the field; 503 with `Retry-After` when the store
//! or queue is down — a retry with the same nonce completes the same ticket). Every answer after the origin check
//! carries CORS headers, so the embed can read the error and show it.

use std::time::Duration;

use serde_json::json;
use spin_sdk::http::Request;
use tr_core::form::origin::cors_headers;
use tr_core::form::rate_limit::RateDecision;
use tr_core::form::{
    BotVerdict, Encoding, RateLimit, RateLimiter, TrustedProxies, bot_verdict, check_site_key, client_address, decode, html_page,
};
use tr_core::form_lane::{FormLane, FormLaneConfig, FormLaneError};
use tr_core::http_answer::{ApiError, check_size};
use tr_core::keep::Kept;
use tr_core::store::{Store, StoreConfig};
use tr_core::{Limits, Runtime, Secret, SqsClient, SqsConfig};
use tr_spin_glue::{SpinKv, SpinRuntime, SpinTransport, aws_credentials, lane_failure, optional, read_body, required, store_unavailable};

use crate::reply::{Audience, Reply};

/// A support message is a few KB; 64 KB leaves room for a long one and nothing for abuse.
const MAX_BODY: usize = 64 * 1024;
const RETRY_AFTER_SECONDS: u32 = 15;
const DEFAULT_MIN_FILL: Duration = Duration::from_secs(3);

pub async fn submit(req: Request, audience: Audience) -> Reply {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let origin = crate::origins().await.and_then(|o| o.check(header("origin").as_deref()));
    // Every X-Forwarded-For header, in order, as one list (a proxy may add its own header rather than append).
    let forwarded: Vec<&str> = req.headers().get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).collect();
    let sent = Sent {
        peer: header("spin-client-addr"),
        forwarded_for: (!forwarded.is_empty()).then(|| forwarded.join(",")),
        content_type: header("content-type"),
        declared: header("content-length").and_then(|v| v.parse().ok()),
        referer: header("referer"),
    };
    // A refused origin gets no CORS headers; every answer to an allowed one does.
    let (outcome, cors) = match origin {
        Ok(origin) => (accept(req, &sent).await, cors_headers(&origin, false)),
        Err(e) => (Err(e), Vec::new()),
    };
    let back = sent.referer.as_deref();
    let reply = match outcome {
        Ok(Accepted::Ticket { kept, page }) => received(audience, Some(kept), page.as_deref().or(back)),
        Ok(Accepted::Bot(verdict)) => {
            println!("[form] dropped from {}: {verdict:?} (answered 202, nothing made)", sent.peer.as_deref().unwrap_or("?"));
            received(audience, None, back)
        }
        Err(e) => {
            println!("[form] refused {} {}: {}", e.status, e.code, e.message);
            Reply::error(&e, audience, back)
        }
    };
    reply.with_headers(cors)
}

enum Accepted {
    Ticket { kept: Kept, page: Option<String> },
    Bot(BotVerdict),
}

/// What the request said about itself, read before its body is consumed.
struct Sent {
    /// Spin's `spin-client-addr`: the connection's peer.
    peer: Option<String>,
    forwarded_for: Option<String>,
    content_type: Option<String>,
    declared: Option<usize>,
    referer: Option<String>,
}

async fn accept(req: Request, sent: &Sent) -> Result<Accepted, ApiError> {
    let content_type = sent.content_type.as_deref();
    let encoding = Encoding::from_content_type(content_type).ok_or_else(|| {
        let got = content_type.map(|c| format!("`{c}`")).unwrap_or_else(|| "no content type".into());
        ApiError::new(415, "unsupported_media_type", format!("{got}; send application/x-www-form-urlencoded or application/json"))
    })?;
    if let Some(declared) = sent.declared {
        check_size(declared, MAX_BODY)?;
    }
    let kv = SpinKv::open("default").await.map_err(|e| store_unavailable("form", &e, RETRY_AFTER_SECONDS))?;
    rate_limit(&kv, sent).await?;

    let body = read_body(req.into_body(), MAX_BODY).await?;
    let mut form = decode(encoding, &body).map_err(|e| {
        let error = ApiError::bad_request(e.message);
        match e.field {
            Some(field) => error.at(field),
            None => error,
        }
    })?;
    // A plain HTML form knows nothing of its page; the browser's Referer (the page, or under the default policy
    // its origin) is the best there is.
    if form.page_url.is_none() && form.referrer.is_none() {
        form.page_url = sent.referer.clone();
    }
    let site_key = optional("form_site_key").await.ok_or_else(|| not_configured("variable `form_site_key` is not set"))?;
    check_site_key(form.site_key.as_deref(), &Secret::new(site_key))?;
    let min_fill = match optional("form_min_fill_seconds").await {
        Some(s) => Duration::from_secs(s.parse().map_err(|_| not_configured("form_min_fill_seconds is not a whole number"))?),
        None => DEFAULT_MIN_FILL,
    };
    match bot_verdict(&form, min_fill) {
        BotVerdict::Person => {}
        verdict => return Ok(Accepted::Bot(verdict)),
    }

    let config = FormLaneConfig {
        ticket_queue_url: required("ticket_queue_url").await.map_err(|e| not_configured(&e.to_string()))?,
        append_queue_url: optional("append_queue_url").await,
        limits: Limits::default(),
    };
    let region = optional("aws_region").await.unwrap_or_else(|| "us-east-1".to_owned());
    let mut sqs = SqsConfig::new(region, aws_credentials().await.map_err(|e| not_configured(&e.to_string()))?);
    sqs.endpoint = optional("sqs_endpoint").await;
    let sqs = SqsClient::new(sqs, SpinTransport, SpinRuntime);
    let store = Store::new(kv, StoreConfig::default());
    let lane = FormLane { sqs: &sqs, store: &store, runtime: &SpinRuntime, config: &config };
    let kept = lane.handle(&form).await.map_err(|e| match e {
        FormLaneError::Field { field, message } => ApiError::unprocessable(message).at(field),
        FormLaneError::Lane(e) => lane_failure("form", e, RETRY_AFTER_SECONDS),
    })?;
    Ok(Accepted::Ticket { kept, page: form.page_url.clone().or(form.referrer.clone()) })
}

/// 429 with `Retry-After` over the limit. A store that cannot count is not a reason to turn a customer away:
/// the post goes on (the store itself will answer 503 if it is really down).
async fn rate_limit(kv: &SpinKv, sent: &Sent) -> Result<(), ApiError> {
    let limit = match optional("form_rate_limit").await {
        Some(s) => RateLimit::parse(&s).map_err(|why| not_configured(&format!("form_rate_limit: {why}")))?,
        None => RateLimit::default(),
    };
    let trusted = match optional("form_trusted_proxies").await {
        Some(s) => TrustedProxies::parse(&s).map_err(|why| not_configured(&format!("form_trusted_proxies: {why}")))?,
        None => TrustedProxies::default(),
    };
    let Some(peer) = sent.peer.as_deref() else { return Ok(()) };
    let Some(client) = client_address(peer, sent.forwarded_for.as_deref(), &trusted) else { return Ok(()) };
    match (RateLimiter { kv, limit }).hit(client, SpinRuntime.now()).await {
        Ok(RateDecision::Allowed) => Ok(()),
        Ok(RateDecision::Limited { retry_after }) => Err(ApiError {
            retry_after: Some(retry_after),
            ..ApiError::new(429, "rate_limited", format!("too many messages from this address; try again in {retry_after} s"))
        }),
        Err(e) => {
            println!("[form] rate limit not counted ({e}); the post goes on");
            Ok(())
        }
    }
}

/// The same answer for a person and a bot: 202, "received".
fn received(audience: Audience, kept: Option<Kept>, back: Option<&str>) -> Reply {
    if let Some(kept) = &kept {
        let (what, id) = match kept {
            Kept::Created { ticket_id } => ("created", ticket_id),
            Kept::Appended { ticket_id } => ("appended to", ticket_id),
            Kept::Repeat { ticket_id } => ("repeat of", ticket_id),
        };
        println!("[form] submission -> {what} {id}");
    }
    match audience {
        Audience::Program => Reply::json(202, json!({"status": "received"})),
        Audience::Page => Reply::html(
            202,
            html_page::page("Thanks — your message was sent", "Our support team has it and will reply by email.", back),
        ),
    }
}

/// The operator's mistake, not the client's: 500, saying what to set (never a value).
fn not_configured(why: &str) -> ApiError {
    ApiError::new(500, "not_configured", why.to_owned())
}

