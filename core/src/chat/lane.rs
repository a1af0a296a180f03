//! The chat lane end to end, minus the trigger: request → the sender's signature → transcript → ticket → store →
//! ticket queue → a JSON answer.
//!
//! Role: everything the chat component does ([`ChatEndpoint`]: guards, the vendor dispatch, Chatwoot's fetch)
//! and the lane itself ([`ChatLane`]). Routes under the component's base (`/chat/...`): `/` the generic
//! transcript (`X-TR-Signature`), `/tawk` Tawk.to's `chat:transcript_created` (`X-Tawk-Signature`), `/chatwoot`
//! Chatwoot's `conversation_status_changed` (`X-Chatwoot-Signature`). Every refusal is
//! `{"error": {"code", "message", "field"}}` with its 4xx; a store or queue failure is 503 with `Retry-After`
//! (a replay of the same conversation then completes the same ticket). Key decisions:
//! - The idempotency key is `chat:` + the conversation id, so the same transcript posted twice (a retry, a
//!   replay, a tool that sends on every status change) is the same ticket: [`ChatOutcome::Repeat`] once it was
//!   queued, nothing queued twice.
//! - A visitor without an email gets a ticket flagged [`TicketFlag::Anonymous`]; the store never merges such a
//!   ticket by identity. A visitor with one is matched like any customer, so a form they send about the same
//!   problem merges into the chat's ticket; the address is only what they typed, so the ticket (and the message
//!   on any ticket it joins) is flagged [`TicketFlag::Unverified`].
//! - Errors are typed for the HTTP answer: [`ChatLaneError::Fold`] (no visitor text: 422),
//!   [`ChatLaneError::Refused`] (a field normalisation refuses, naming it: 422), [`ChatLaneError::Lane`]
//!   (store or queue: `Retry` → 503 + Retry-After, `Permanent` → 500).

use bytes::Bytes;
use serde_json::json;

use crate::chat::adapters::chatwoot::{ChatwootApi, FetchError, fetch_history};
use crate::chat::adapters::{Adapted, AdapterError, chatwoot, tawk};
use crate::chat::fold::{FoldConfig, FoldError, Folded, ResolvedPolicy, fold};
use crate::chat::transcript::{Transcript, decode};
use crate::chat::signature;
use crate::credentials::Secret;
use crate::dependency_answer::{lane_failure, not_configured, store_unavailable};
use crate::http_answer::{ApiError, PATH_INFO_HEADER, Reply, check_content_type, check_method, check_size};
use crate::lane_error::LaneError;
use crate::normalise::{Limits, NormaliseError, normalise_email};
use crate::request_body::read_body;
use crate::sqs_client::SqsClient;
use crate::store::keep::{Kept, keep};
use crate::store::{Intake, Kv, Store};
use crate::ticket::TicketFlag;
use crate::transport::{Runtime, Transport};
use crate::vars::Vars;
use crate::wiring::{IntakeQueues, Wiring, intake_queues};

/// A long chat is a few tens of KB; this leaves room without letting a client make us buffer megabytes.
pub const MAX_BODY: usize = 512 * 1024;
/// How long a sender should wait before retrying after a 503.
pub const RETRY_AFTER_SECONDS: u32 = 30;

/// Where the lane sends what it makes, and how it folds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatLaneConfig {
    /// New tickets go here (once each).
    pub ticket_queue_url: String,
    /// Optional: appends (a chat added to an open ticket of the same customer) go here instead of the ticket queue.
    pub append_queue_url: Option<String>,
    pub limits: Limits,
    pub fold: FoldConfig,
}

/// What became of one transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatOutcome {
    Created { ticket_id: String },
    /// Merged into an open ticket of the same (identified) visitor.
    Appended { ticket_id: String },
    /// This conversation was already kept and queued: nothing changed.
    Repeat { ticket_id: String },
    /// A resolved chat under the default policy: acknowledged, nothing made.
    Resolved,
}

impl ChatOutcome {
    pub fn ticket_id(&self) -> Option<&str> {
        match self {
            ChatOutcome::Created { ticket_id }
            | ChatOutcome::Appended { ticket_id }
            | ChatOutcome::Repeat { ticket_id } => Some(ticket_id),
            ChatOutcome::Resolved => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChatLaneError {
    #[error(transparent)]
    Fold(#[from] FoldError),
    /// A field the normaliser refuses (an invalid visitor email, a non-http page URL, …); `field()` names it.
    #[error("ticket field refused: {0}")]
    Refused(#[from] NormaliseError),
    #[error(transparent)]
    Lane(#[from] LaneError),
}

/// The clients and store the lane works with; the component builds them from its variables.
pub struct ChatLane<'a, T, R, K> {
    pub sqs: &'a SqsClient<T, R>,
    pub store: &'a Store<K>,
    pub runtime: &'a R,
    pub config: &'a ChatLaneConfig,
}

impl<T: Transport, R: Runtime, K: Kv> ChatLane<'_, T, R, K> {
    pub async fn handle(&self, transcript: &Transcript) -> Result<ChatOutcome, ChatLaneError> {
        let mut draft = match fold(transcript, &self.config.fold)? {
            Folded::Draft(draft) => *draft,
            Folded::Resolved => return Ok(ChatOutcome::Resolved),
        };
        // A visitor who mistyped their address still had the conversation: keep it, as an anonymous visitor's,
        // with what they typed in the body for the agent. (The form refuses such an address instead: there the
        // person is still on the page to correct it.)
        if let Some(typed) = draft.customer_email.take() {
            match normalise_email(&typed) {
                Ok(_) => draft.customer_email = Some(typed),
                Err(e) => draft.body.push_str(&format!("\n\n(The visitor gave the address \"{}\", which is not usable: {e}.)", typed.trim())),
            }
        }
        let mut ticket = draft.into_ticket(self.runtime.now(), self.runtime.random_u128(), &self.config.limits)?;
        // No address: anonymous. An address the visitor typed: nobody checked it is theirs.
        ticket.flags.push(if ticket.customer.email.is_none() { TicketFlag::Anonymous } else { TicketFlag::Unverified });
        let config = self.config;
        let kept =
            keep(self.store, self.sqs, &config.ticket_queue_url, config.append_queue_url.as_deref(), Intake::new(ticket))
                .await?;
        Ok(match kept {
            Kept::Created { ticket_id } => ChatOutcome::Created { ticket_id },
            Kept::Appended { ticket_id } => ChatOutcome::Appended { ticket_id },
            Kept::Repeat { ticket_id } => ChatOutcome::Repeat { ticket_id },
        })
    }
}

/// The chat component's own variables, read once per request; each error waits for the step that needs it.
pub struct ChatSettings {
    /// `chat_secret`: the generic transcript's HMAC key.
    pub chat_secret: Option<Secret>,
    pub tawk_webhook_secret: Option<Secret>,
    pub chatwoot_webhook_secret: Option<Secret>,
    /// `chatwoot_api_url`, `chatwoot_api_token`, `chatwoot_account_id`.
    pub chatwoot: ChatwootApi,
    /// `chat_resolved_policy`: `acknowledge` (default) or `create`.
    pub resolved: Result<ResolvedPolicy, ApiError>,
    pub queues: IntakeQueues,
}

impl ChatSettings {
    pub async fn from_vars(vars: &impl Vars) -> Self {
        let resolved = match vars.optional("chat_resolved_policy").await.as_deref() {
            None | Some("acknowledge") => Ok(ResolvedPolicy::Acknowledge),
            Some("create") => Ok(ResolvedPolicy::CreateTicket),
            Some(other) => Err(not_configured(format!("chat_resolved_policy `{other}` is not acknowledge or create"))),
        };
        // Each name a literal: tests/tests/spin_manifest.rs checks spin.toml against the names read here.
        Self {
            chat_secret: vars.optional("chat_secret").await.map(Secret::new),
            tawk_webhook_secret: vars.optional("tawk_webhook_secret").await.map(Secret::new),
            chatwoot_webhook_secret: vars.optional("chatwoot_webhook_secret").await.map(Secret::new),
            chatwoot: ChatwootApi {
                url: vars.optional("chatwoot_api_url").await,
                token: vars.optional("chatwoot_api_token").await.map(Secret::new),
                account_id: vars.optional("chatwoot_account_id").await,
            },
            resolved,
            queues: intake_queues(vars).await,
        }
    }
}

/// Who posted: the route names the sender, and so its signature scheme and payload.
enum Sender {
    Generic,
    Tawk,
    Chatwoot,
}

pub struct ChatEndpoint<T, R, K> {
    pub settings: ChatSettings,
    pub wiring: Wiring<T, R, K>,
}

impl<T: Transport + Clone, R: Runtime + Clone, K: Kv> ChatEndpoint<T, R, K> {
    pub async fn from_vars(vars: &impl Vars, wiring: Wiring<T, R, K>) -> Self {
        Self { settings: ChatSettings::from_vars(vars).await, wiring }
    }

    pub async fn serve<B>(self, parts: &http::request::Parts, body: B) -> Reply
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + std::fmt::Debug + Send + Sync + 'static,
    {
        let runtime = self.wiring.runtime.clone();
        match self.answer(parts, body).await {
            Ok((status, body)) => Reply::json(status, body),
            Err(e) => {
                runtime.log(&format!("[chat] refused {} {}: {}", e.status, e.code, e.message));
                Reply::api_error(&e)
            }
        }
    }

    /// Guards (route, method, content type, size) → the sender's signature → its payload as a transcript.
    async fn answer<B>(self, parts: &http::request::Parts, body: B) -> Result<(u16, serde_json::Value), ApiError>
    where
        B: http_body::Body<Data = Bytes>,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + std::fmt::Debug + Send + Sync + 'static,
    {
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let sender = match header(PATH_INFO_HEADER).as_deref().unwrap_or("").trim_end_matches('/') {
            "" => Sender::Generic,
            "/tawk" => Sender::Tawk,
            "/chatwoot" => Sender::Chatwoot,
            other => return Err(ApiError::new(404, "not_found", format!("no chat endpoint at `{other}`; use /, /tawk or /chatwoot"))),
        };
        check_method(parts.method.as_str(), &["POST"])?;
        check_content_type(header("content-type").as_deref(), &["application/json"])?;
        if let Some(declared) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
            check_size(declared, MAX_BODY)?;
        }
        let body = read_body(body, MAX_BODY).await?;

        let (settings, runtime) = (&self.settings, &self.wiring.runtime);
        let now = runtime.now();
        let unauthorized = |e: signature::SignatureError| ApiError::unauthorized(e.to_string());
        let adapted = match sender {
            Sender::Generic => {
                let secret = configured("chat_secret", &settings.chat_secret)?;
                signature::verify(header(signature::SIGNATURE_HEADER).as_deref(), &body, secret, now).map_err(unauthorized)?;
                Adapted::Transcript(decode(&body).map_err(|e| ApiError::bad_request(e.message).at(e.path))?)
            }
            Sender::Tawk => {
                let secret = configured("tawk_webhook_secret", &settings.tawk_webhook_secret)?;
                tawk::verify(header(tawk::SIGNATURE_HEADER).as_deref(), &body, secret).map_err(unauthorized)?;
                tawk::to_transcript(&body).map_err(adapter_error)?
            }
            Sender::Chatwoot => {
                let secret = configured("chatwoot_webhook_secret", &settings.chatwoot_webhook_secret)?;
                let (signed, at) = (header(chatwoot::SIGNATURE_HEADER), header(chatwoot::TIMESTAMP_HEADER));
                chatwoot::verify(signed.as_deref(), at.as_deref(), &body, secret, now).map_err(unauthorized)?;
                let history = fetch_history(&self.wiring.transport, runtime, &settings.chatwoot, &body).await.map_err(|e| match e {
                    FetchError::Unavailable(why) => {
                        runtime.log(&format!("[chat] Chatwoot messages not fetched, answered 503: {why}"));
                        ApiError::unavailable(RETRY_AFTER_SECONDS)
                    }
                    FetchError::NotConfigured(why) => not_configured(why),
                    FetchError::Adapter(e) => adapter_error(e),
                })?;
                // An unreadable messages list is Chatwoot's answer, not the sender's mistake: the webhook's own
                // message still makes the transcript rather than a 400 that loses the conversation.
                match history.as_deref().map(|h| chatwoot::to_transcript(&body, Some(h))) {
                    Some(Ok(adapted)) => adapted,
                    Some(Err(e)) => {
                        runtime.log(&format!("[chat] Chatwoot's messages list could not be read ({e}): the webhook's message only"));
                        chatwoot::to_transcript(&body, None).map_err(adapter_error)?
                    }
                    None => chatwoot::to_transcript(&body, None).map_err(adapter_error)?,
                }
            }
        };
        match adapted {
            Adapted::Transcript(transcript) => self.keep(&transcript).await,
            Adapted::Ignored { event } => Ok((202, json!({"status": "ignored", "event": event}))),
        }
    }

    async fn keep(self, transcript: &Transcript) -> Result<(u16, serde_json::Value), ApiError> {
        let mut wiring = self.wiring;
        let config = ChatLaneConfig {
            fold: FoldConfig { resolved: self.settings.resolved? },
            ticket_queue_url: self.settings.queues.ticket_queue_url.clone()?,
            append_queue_url: self.settings.queues.append_queue_url.clone(),
            limits: Limits::default(),
        };
        let sqs = wiring.sqs()?;
        let runtime = wiring.runtime.clone();
        let store = wiring.store().map_err(|e| store_unavailable(&runtime, "chat", &e, RETRY_AFTER_SECONDS))?;
        let lane = ChatLane { sqs: &sqs, store: &store, runtime: &runtime, config: &config };
        let outcome = lane.handle(transcript).await.map_err(|e| match e {
            ChatLaneError::Fold(FoldError::NoVisitorText) => ApiError::unprocessable(e.to_string()).at("$.messages"),
            ChatLaneError::Refused(n) => ApiError::unprocessable(n.to_string()).at(n.field()),
            ChatLaneError::Lane(e) => lane_failure(&runtime, "chat", e, RETRY_AFTER_SECONDS),
        })?;
        let conversation = &transcript.conversation_id;
        let (status, body, what) = match &outcome {
            ChatOutcome::Created { ticket_id } => (201, json!({"status": "created", "ticket_id": ticket_id}), format!("created {ticket_id}")),
            ChatOutcome::Appended { ticket_id } => (200, json!({"status": "appended", "ticket_id": ticket_id}), format!("appended to {ticket_id}")),
            ChatOutcome::Repeat { ticket_id } => (200, json!({"status": "repeat", "ticket_id": ticket_id}), format!("repeat of {ticket_id}")),
            ChatOutcome::Resolved => (202, json!({"status": "acknowledged", "reason": "resolved"}), "resolved, acknowledged, nothing made".into()),
        };
        runtime.log(&format!("[chat] conversation {conversation} -> {what}"));
        Ok((status, body))
    }
}

/// A secret the operator must set; without it the endpoint cannot tell a real sender from anyone.
fn configured<'a>(name: &str, value: &'a Option<Secret>) -> Result<&'a Secret, ApiError> {
    value.as_ref().ok_or_else(|| not_configured(format!("variable `{name}` is not set")))
}

fn adapter_error(e: AdapterError) -> ApiError {
    match e {
        AdapterError::Decode(d) => ApiError::bad_request(d.message).at(d.path),
        AdapterError::Invalid { path, reason } => ApiError::unprocessable(reason).at(path),
    }
}
