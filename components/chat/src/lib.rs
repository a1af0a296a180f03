//! The chat lane's component: a Spin HTTP component (spin-sdk 7) that takes a finished conversation and makes
//! it one ticket.
//!
//! Thin by design: guards (method, content type, size) → the sender's signature → decode (generic transcript or a
//! vendor's webhook) → [`tr_core::chat_lane`] → a JSON answer. Routes under the component's base (`/chat/...`):
//! `/` the generic transcript (`X-TR-Signature`), `/tawk` Tawk.to's `chat:transcript_created`
//! (`X-Tawk-Signature`), `/chatwoot` Chatwoot's `conversation_status_changed` (`X-Chatwoot-Signature`). Every
//! refusal is `{"error": {"code", "message", "field"}}` with its 4xx; a store or queue failure is 503 with
//! `Retry-After` (a replay of the same conversation then completes the same ticket).
//!
//! Variables: `chat_secret`, `tawk_webhook_secret`, `chatwoot_webhook_secret`, `chatwoot_api_token` (secrets),
//! `chatwoot_api_url`, `chatwoot_account_id`, `chat_resolved_policy` (`acknowledge` | `create`),
//! `ticket_queue_url`, `append_queue_url`, `aws_region`, `aws_access_key_id`, `aws_secret_access_key`,
//! `aws_session_token`, `sqs_endpoint`.

mod chatwoot_history;

use std::time::SystemTime;

use serde_json::json;
use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;
use tr_core::chat::adapters::{Adapted, AdapterError, chatwoot, tawk};
use tr_core::chat::{FoldConfig, FoldError, ResolvedPolicy, Transcript, decode, signature};
use tr_core::chat_lane::{ChatLane, ChatLaneConfig, ChatLaneError, ChatOutcome};
use tr_core::http_answer::{ApiError, check_content_type, check_method, check_size};
use tr_core::store::{Store, StoreConfig};
use tr_core::{Limits, Secret, SqsClient, SqsConfig};
use tr_spin_glue::{SpinKv, SpinRuntime, SpinTransport, aws_credentials, lane_failure, optional, read_body, required, store_unavailable};

/// A long chat is a few tens of KB; this leaves room without letting a client make us buffer megabytes.
const MAX_BODY: usize = 512 * 1024;
/// How long a sender should wait before retrying after a 503.
const RETRY_AFTER_SECONDS: u32 = 30;

#[http_service]
async fn handle(req: Request) -> anyhow::Result<impl IntoResponse> {
    let (status, body, retry_after) = match answer(req).await {
        Ok((status, body)) => (status, body.to_string(), None),
        Err(e) => {
            println!("[chat] refused {} {}: {}", e.status, e.code, e.message);
            (e.status, e.body(), e.retry_after)
        }
    };
    let mut response = http::Response::builder().status(status).header("content-type", "application/json");
    if let Some(seconds) = retry_after {
        response = response.header("retry-after", seconds.to_string());
    }
    Ok(response.body(body)?)
}

enum Sender {
    Generic,
    Tawk,
    Chatwoot,
}

async fn answer(req: Request) -> Result<(u16, serde_json::Value), ApiError> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let sender = match header("spin-path-info").as_deref().unwrap_or("").trim_end_matches('/') {
        "" => Sender::Generic,
        "/tawk" => Sender::Tawk,
        "/chatwoot" => Sender::Chatwoot,
        other => return Err(ApiError::new(404, "not_found", format!("no chat endpoint at `{other}`; use /, /tawk or /chatwoot"))),
    };
    check_method(req.method().as_str(), &["POST"])?;
    check_content_type(header("content-type").as_deref(), &["application/json"])?;
    if let Some(declared) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        check_size(declared, MAX_BODY)?;
    }
    let (signature_header, tawk_header, chatwoot_signature, chatwoot_timestamp) = (
        header(signature::SIGNATURE_HEADER),
        header(tawk::SIGNATURE_HEADER),
        header(chatwoot::SIGNATURE_HEADER),
        header(chatwoot::TIMESTAMP_HEADER),
    );
    let body = read_body(req.into_body(), MAX_BODY).await?;

    let now = SystemTime::now();
    let unauthorized = |e: signature::SignatureError| ApiError::unauthorized(e.to_string());
    let adapted = match sender {
        Sender::Generic => {
            signature::verify(signature_header.as_deref(), &body, &secret("chat_secret", optional("chat_secret").await)?, now).map_err(unauthorized)?;
            Adapted::Transcript(decode(&body).map_err(|e| ApiError::bad_request(e.message).at(e.path))?)
        }
        Sender::Tawk => {
            tawk::verify(tawk_header.as_deref(), &body, &secret("tawk_webhook_secret", optional("tawk_webhook_secret").await)?).map_err(unauthorized)?;
            tawk::to_transcript(&body).map_err(adapter_error)?
        }
        Sender::Chatwoot => {
            let secret = secret("chatwoot_webhook_secret", optional("chatwoot_webhook_secret").await)?;
            chatwoot::verify(chatwoot_signature.as_deref(), chatwoot_timestamp.as_deref(), &body, &secret, now)
                .map_err(unauthorized)?;
            let history = chatwoot_history::fetch(&body).await?;
            // An unreadable messages list is Chatwoot's answer, not the sender's mistake: the webhook's own
            // message still makes the transcript rather than a 400 that loses the conversation.
            let fetched = history.as_deref().map(|h| chatwoot::to_transcript(&body, Some(h)));
            match fetched {
                Some(Ok(adapted)) => adapted,
                Some(Err(e)) => {
                    println!("[chat] Chatwoot's messages list could not be read ({e}): the webhook's message only");
                    chatwoot::to_transcript(&body, None).map_err(adapter_error)?
                }
                None => chatwoot::to_transcript(&body, None).map_err(adapter_error)?,
            }
        }
    };
    let transcript = match adapted {
        Adapted::Transcript(t) => t,
        Adapted::Ignored { event } => return Ok((202, json!({"status": "ignored", "event": event}))),
    };
    keep(&transcript).await
}

async fn keep(transcript: &Transcript) -> Result<(u16, serde_json::Value), ApiError> {
    let resolved = match optional("chat_resolved_policy").await.as_deref() {
        None | Some("acknowledge") => ResolvedPolicy::Acknowledge,
        Some("create") => ResolvedPolicy::CreateTicket,
        Some(other) => return Err(not_configured(&format!("chat_resolved_policy `{other}` is not acknowledge or create"))),
    };
    let config = ChatLaneConfig {
        ticket_queue_url: required("ticket_queue_url").await.map_err(|e| not_configured(&e.to_string()))?,
        append_queue_url: optional("append_queue_url").await,
        limits: Limits::default(),
        fold: FoldConfig { resolved },
    };
    let region = optional("aws_region").await.unwrap_or_else(|| "us-east-1".to_owned());
    let mut sqs = SqsConfig::new(region, aws_credentials().await.map_err(|e| not_configured(&e.to_string()))?);
    sqs.endpoint = optional("sqs_endpoint").await;
    let sqs = SqsClient::new(sqs, SpinTransport, SpinRuntime);
    let kv = SpinKv::open("default").await.map_err(|e| store_unavailable("chat", &e, RETRY_AFTER_SECONDS))?;
    let store = Store::new(kv, StoreConfig::default());
    let lane = ChatLane { sqs: &sqs, store: &store, runtime: &SpinRuntime, config: &config };

    let outcome = lane.handle(transcript).await.map_err(|e| match e {
        ChatLaneError::Fold(FoldError::NoVisitorText) => ApiError::unprocessable(e.to_string()).at("$.messages"),
        ChatLaneError::Refused(n) => ApiError::unprocessable(n.to_string()).at(n.field()),
        ChatLaneError::Lane(e) => lane_failure("chat", e, RETRY_AFTER_SECONDS),
    })?;
    let conversation = &transcript.conversation_id;
    Ok(match outcome {
        ChatOutcome::Created { ticket_id } => {
            println!("[chat] conversation {conversation} -> created {ticket_id}");
            (201, json!({"status": "created", "ticket_id": ticket_id}))
        }
        ChatOutcome::Appended { ticket_id } => {
            println!("[chat] conversation {conversation} -> appended to {ticket_id}");
            (200, json!({"status": "appended", "ticket_id": ticket_id}))
        }
        ChatOutcome::Repeat { ticket_id } => {
            println!("[chat] conversation {conversation} -> repeat of {ticket_id}");
            (200, json!({"status": "repeat", "ticket_id": ticket_id}))
        }
        ChatOutcome::Resolved => {
            println!("[chat] conversation {conversation} -> resolved, acknowledged, nothing made");
            (202, json!({"status": "acknowledged", "reason": "resolved"}))
        }
    })
}

/// A secret the operator must set; without it the endpoint cannot tell a real sender from anyone.
fn secret(name: &str, value: Option<String>) -> Result<Secret, ApiError> {
    match value {
        Some(value) => Ok(Secret::new(value)),
        None => Err(not_configured(&format!("variable `{name}` is not set"))),
    }
}

/// The operator's mistake, not the client's: 500, saying what to set (never a value).
fn not_configured(why: &str) -> ApiError {
    ApiError::new(500, "not_configured", why.to_owned())
}

fn adapter_error(e: AdapterError) -> ApiError {
    match e {
        AdapterError::Decode(d) => ApiError::bad_request(d.message).at(d.path),
        AdapterError::Invalid { path, reason } => ApiError::unprocessable(reason).at(path),
    }
}
