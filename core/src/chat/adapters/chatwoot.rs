//! Chatwoot: the `conversation_status_changed` webhook, plus the conversation's messages fetched from its API.
//!
//! Payload shapes: <https://www.chatwoot.com/docs/product/others/webhook-events> (source
//! `chatwoot/docs`, `docs/product/others/webhook-events.md`). Key decisions:
//! - **The webhook does not carry the transcript.** Chatwoot fills a conversation event's `messages` with the
//!   last message only (`Conversations::EventDataPresenter#push_messages` in `chatwoot/chatwoot`). The component
//!   must fetch the list, `GET /api/v1/accounts/{account_id}/conversations/{id}/messages` with an
//!   `api_access_token`, and pass that response body as `history`; without it the transcript has only the
//!   payload's one message.
//! - Status `open` after a bot (a hand-off: the bot could not answer) and `resolved` make a transcript, the
//!   latter with `resolved: true`; `pending` and `snoozed`, and every other event, are ignored.
//! - `message_type` 0 incoming → visitor, 1 outgoing → agent (bot when its sender is an `agent_bot` or
//!   Captain assistant), 3 template → bot, 2 activity → dropped. Private notes are dropped: the customer never
//!   saw them.
//! - Signature (newer Chatwoot releases, when the webhook has a secret): `X-Chatwoot-Signature: sha256=<hex>`,
//!   HMAC-SHA256 over `"{X-Chatwoot-Timestamp}." + body`; the timestamp gets the same 5-minute window as ours.
//! - The conversation id is `{account id}/{display id}` when the account is known (display ids repeat across
//!   accounts), else the display id; the page URL is `additional_attributes.referer`.
//! - The fetch ([`fetch_history`]) runs only when an API token is set (`chatwoot_api_token`, with
//!   `chatwoot_api_url`, the instance's origin, also in the component's `allowed_outbound_hosts`); without it the
//!   transcript is the webhook's one message. A network failure or 5xx is [`FetchError::Unavailable`] (the
//!   sender should retry; nothing is kept half); a refused token or a bad setting is the operator's to fix
//!   ([`FetchError::NotConfigured`]); a 404 (the conversation was deleted meanwhile) falls back to the webhook's
//!   message.

use std::time::SystemTime;

use serde::Deserialize;
use time::OffsetDateTime;

use super::{Adapted, AdapterError};
use crate::chat::signature::{SignatureError, check_window, hex_matches, hmac_sha256};
use crate::chat::transcript::{self, Message, Role, Transcript, Visitor};
use crate::credentials::Secret;
use crate::transport::{Runtime, Transport};

pub const SIGNATURE_HEADER: &str = "X-Chatwoot-Signature";
pub const TIMESTAMP_HEADER: &str = "X-Chatwoot-Timestamp";

pub const STATUS_EVENT: &str = "conversation_status_changed";

/// Checks `X-Chatwoot-Signature` (`sha256=<hex>`) over `"{timestamp}." + body`, and the timestamp's age.
pub fn verify(
    signature: Option<&str>,
    timestamp: Option<&str>,
    body: &[u8],
    secret: &Secret,
    now: SystemTime,
) -> Result<(), SignatureError> {
    let signature = signature.ok_or(SignatureError::Missing(SIGNATURE_HEADER))?;
    let timestamp = timestamp.ok_or(SignatureError::Missing(TIMESTAMP_HEADER))?.trim();
    let hex = signature.trim().strip_prefix("sha256=").ok_or(SignatureError::Malformed("expected sha256=<hex>"))?;
    let seconds = timestamp.parse::<u64>().map_err(|_| SignatureError::Malformed("timestamp is not unix seconds"))?;
    check_window(seconds, now)?;
    let expected = hmac_sha256(secret, &[timestamp.as_bytes(), b".", body]);
    if hex_matches(&expected, hex) { Ok(()) } else { Err(SignatureError::Mismatch) }
}

#[derive(Deserialize)]
struct Event {
    event: String,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    account: Option<Account>,
    #[serde(default)]
    additional_attributes: Attributes,
    #[serde(default)]
    meta: Meta,
    #[serde(default)]
    messages: Vec<ChatwootMessage>,
    #[serde(default)]
    created_at: Option<i64>,
    #[serde(default)]
    timestamp: Option<i64>,
}

#[derive(Deserialize)]
struct Account {
    id: u64,
}

#[derive(Deserialize, Default)]
struct Attributes {
    #[serde(default)]
    referer: Option<String>,
}

#[derive(Deserialize, Default)]
struct Meta {
    #[serde(default)]
    sender: Option<Contact>,
}

#[derive(Deserialize)]
struct Contact {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

#[derive(Deserialize)]
struct History {
    payload: Vec<ChatwootMessage>,
}

#[derive(Deserialize)]
struct ChatwootMessage {
    id: u64,
    #[serde(default)]
    content: Option<String>,
    message_type: u8,
    created_at: i64,
    #[serde(default)]
    private: bool,
    #[serde(default)]
    sender_type: Option<String>,
    #[serde(default)]
    sender: Option<MessageSender>,
}

#[derive(Deserialize)]
struct MessageSender {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

/// Where a webhook's conversation's messages are, relative to the Chatwoot API's origin:
/// `/api/v1/accounts/{account}/conversations/{id}/messages`. `None` for an event [`to_transcript`] ignores, or
/// when neither the event nor `default_account` names the account.
pub fn history_path(body: &[u8], default_account: Option<u64>) -> Result<Option<String>, AdapterError> {
    let event: Event = transcript::decode_json(body)?;
    if event.event != STATUS_EVENT || !matches!(event.status.as_deref(), Some("open" | "resolved")) {
        return Ok(None);
    }
    let id = event.id.ok_or_else(|| invalid("$.id", "missing"))?;
    let Some(account) = event.account.map(|a| a.id).or(default_account) else { return Ok(None) };
    Ok(Some(format!("/api/v1/accounts/{account}/conversations/{id}/messages")))
}

/// Where and how to read a Chatwoot instance's API (`chatwoot_api_url`, `chatwoot_api_token`,
/// `chatwoot_account_id`).
#[derive(Debug, Clone, Default)]
pub struct ChatwootApi {
    pub url: Option<String>,
    pub token: Option<Secret>,
    /// For webhooks that do not name their account.
    pub account_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// Chatwoot could not be reached or answered 5xx: worth retrying.
    #[error("Chatwoot messages not fetched: {0}")]
    Unavailable(String),
    /// A setting is missing or wrong, or Chatwoot refused the token.
    #[error("{0}")]
    NotConfigured(String),
    #[error(transparent)]
    Adapter(#[from] AdapterError),
}

/// The messages list (the API's JSON body) for a webhook, or `None` when there is none to fetch.
pub async fn fetch_history(
    transport: &impl Transport,
    runtime: &impl Runtime,
    api: &ChatwootApi,
    body: &[u8],
) -> Result<Option<Vec<u8>>, FetchError> {
    let Some(token) = api.token.as_ref().filter(|t| !t.expose().trim().is_empty()) else {
        runtime.log("[chat] chatwoot_api_token is not set: the transcript is the webhook's last message only");
        return Ok(None);
    };
    let default_account = match api.account_id.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        Some(a) => Some(a.parse::<u64>().map_err(|_| FetchError::NotConfigured("chatwoot_account_id is not a number".into()))?),
        None => None,
    };
    let Some(path) = history_path(body, default_account)? else { return Ok(None) };
    let origin = api.url.as_deref().ok_or_else(|| FetchError::NotConfigured("chatwoot_api_url is not set".into()))?;
    let url = format!("{}{path}", origin.trim_end_matches('/'));
    let request = http::Request::get(&url)
        .header("api_access_token", token.expose().trim())
        .header("accept", "application/json")
        .body(Vec::new())
        .map_err(|_| FetchError::NotConfigured("chatwoot_api_url is not a URL".into()))?;
    let response = transport.send(request).await.map_err(|e| FetchError::Unavailable(e.to_string()))?;
    match response.status().as_u16() {
        200 => Ok(Some(response.into_body())),
        401 | 403 => Err(FetchError::NotConfigured("Chatwoot refused chatwoot_api_token for this conversation's messages".into())),
        404 => {
            runtime.log(&format!("[chat] Chatwoot has no messages at {path} (deleted?): the webhook's message only"));
            Ok(None)
        }
        status => Err(FetchError::Unavailable(format!("HTTP {status} from {path}"))),
    }
}

/// A Chatwoot webhook body (and, for a transcript, the fetched messages list) → a transcript, or
/// [`Adapted::Ignored`].
pub fn to_transcript(body: &[u8], history: Option<&[u8]>) -> Result<Adapted, AdapterError> {
    let event: Event = transcript::decode_json(body)?;
    if event.event != STATUS_EVENT {
        return Ok(Adapted::Ignored { event: event.event });
    }
    let resolved = match event.status.as_deref() {
        Some("open") => false,
        Some("resolved") => true,
        other => return Ok(Adapted::Ignored { event: format!("{STATUS_EVENT}:{}", other.unwrap_or("none")) }),
    };
    let id = event.id.ok_or_else(|| invalid("$.id", "missing"))?;
    // The payload's last message is usually in the fetched list too: the fetched copy goes first so the stable
    // sort and dedup keep it (it names its sender).
    let mut all = match history {
        Some(history) => transcript::decode_json::<History>(history)?.payload,
        None => Vec::new(),
    };
    all.extend(event.messages);
    all.sort_by_key(|m| (m.created_at, m.id));
    all.dedup_by_key(|m| m.id);

    let mut messages = Vec::with_capacity(all.len());
    for m in all {
        let Some(role) = role(&m) else { continue };
        let time = unix(m.created_at, "$.messages[].created_at")?;
        let name = m.sender.and_then(|s| s.name);
        messages.push(Message { role, name, text: m.content.unwrap_or_default(), time });
    }
    let ended_at = unix(event.timestamp.ok_or_else(|| invalid("$.timestamp", "missing"))?, "$.timestamp")?;
    let started_at = match event.created_at {
        Some(at) => unix(at, "$.created_at")?,
        None => messages.iter().map(|m| m.time).min().unwrap_or(ended_at),
    };
    let contact = event.meta.sender.unwrap_or(Contact { name: None, email: None });
    Ok(Adapted::Transcript(Transcript {
        conversation_id: match event.account {
            Some(account) => format!("{}/{id}", account.id),
            None => id.to_string(),
        },
        subject: None,
        visitor: Visitor { name: contact.name, email: contact.email },
        page_url: event.additional_attributes.referer.filter(|r| r.starts_with("http")),
        started_at,
        ended_at,
        resolved,
        messages,
    }))
}

fn role(m: &ChatwootMessage) -> Option<Role> {
    if m.private {
        return None;
    }
    let sender_kind = m.sender.as_ref().and_then(|s| s.kind.as_deref()).or(m.sender_type.as_deref());
    let bot = matches!(sender_kind, Some("agent_bot" | "AgentBot" | "captain_assistant" | "Captain::Assistant"));
    match m.message_type {
        0 => Some(Role::Visitor),
        1 if bot => Some(Role::Bot),
        1 => Some(Role::Agent),
        3 => Some(Role::Bot),
        _ => None,
    }
}

fn unix(seconds: i64, path: &str) -> Result<OffsetDateTime, AdapterError> {
    OffsetDateTime::from_unix_timestamp(seconds).map_err(|e| invalid(path, &e.to_string()))
}

fn invalid(path: &str, reason: &str) -> AdapterError {
    AdapterError::Invalid { path: path.to_owned(), reason: reason.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const T: u64 = 1_795_683_600;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn signature_covers_timestamp_and_body() {
        // python3 -c 'import hmac,hashlib;print(hmac.new(b"cw",b"1795683600.{}",hashlib.sha256).hexdigest())'
        let secret = Secret::new("cw");
        let sig = format!("sha256={}", hex::encode(hmac_sha256(&secret, &[b"1795683600.{}"])));
        let ts = Some("1795683600");
        assert_eq!(verify(Some(&sig), ts, b"{}", &secret, at(T)), Ok(()));
        assert_eq!(verify(Some(&sig), Some("1795683601"), b"{}", &secret, at(T)), Err(SignatureError::Mismatch));
        assert_eq!(verify(Some(&sig), ts, b"{}", &secret, at(T + 301)), Err(SignatureError::Expired { age_secs: 301 }));
        assert_eq!(verify(Some(&sig), None, b"{}", &secret, at(T)), Err(SignatureError::Missing(TIMESTAMP_HEADER)));
        assert_eq!(verify(None, ts, b"{}", &secret, at(T)), Err(SignatureError::Missing(SIGNATURE_HEADER)));
        let bare = sig.trim_start_matches("sha256=");
        assert!(matches!(verify(Some(bare), ts, b"{}", &secret, at(T)), Err(SignatureError::Malformed(_))));
    }

    #[test]
    fn statuses_other_than_open_and_resolved_are_ignored() {
        let body = br#"{"event":"conversation_status_changed","status":"snoozed","id":1,"timestamp":1}"#;
        assert_eq!(
            to_transcript(body, None).unwrap(),
            Adapted::Ignored { event: "conversation_status_changed:snoozed".into() }
        );
        let created = br#"{"event":"message_created","id":1}"#;
        assert_eq!(to_transcript(created, None).unwrap(), Adapted::Ignored { event: "message_created".into() });
    }

    #[test]
    fn roles_follow_message_type_and_sender() {
        let m = |t: u8, kind: Option<&str>, private: bool| ChatwootMessage {
            id: 1,
            content: None,
            message_type: t,
            created_at: 0,
            private,
            sender_type: None,
            sender: kind.map(|k| MessageSender { name: None, kind: Some(k.into()) }),
        };
        assert_eq!(role(&m(0, Some("contact"), false)), Some(Role::Visitor));
        assert_eq!(role(&m(1, Some("user"), false)), Some(Role::Agent));
        assert_eq!(role(&m(1, Some("agent_bot"), false)), Some(Role::Bot));
        assert_eq!(role(&m(3, None, false)), Some(Role::Bot));
        assert_eq!(role(&m(2, None, false)), None);
        assert_eq!(role(&m(1, Some("user"), true)), None);
    }
}
