//! Tawk.to: the `chat:transcript_created` webhook, which carries the whole chat once the visitor has left.
//!
//! Documented at <https://developer.tawk.to/webhooks>: events `chat:start`, `chat:end`,
//! `chat:transcript_created`, `ticket:create`; every request signed with `X-Tawk-Signature`, the hex
//! HMAC-SHA1 of the raw body keyed with the webhook's secret; retries for up to 12 hours with the same
//! `X-Hook-Event-Id`. Key decisions:
//! - Only `chat:transcript_created` makes a transcript. `chat:end` carries the visitor but not the messages, so
//!   it is ignored; subscribe the webhook to "New chat transcript".
//! - Tawk.to's signature has no timestamp, so it cannot expire; replays are harmless because the chat id is the
//!   idempotency key.
//! - Sender types: `v` visitor, `a` agent, `s` system (triggers and automated greetings) → bot. Tawk.to has no
//!   resolution flag, so every transcript is unresolved; it sends no page URL.
//! - Times: the chat starts at its first message (or the event time when it has none) and ends at the event time.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha1::Sha1;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{Adapted, AdapterError};
use crate::chat::signature::{SignatureError, hex_matches};
use crate::chat::transcript::{self, Message, Role, Transcript, Visitor};
use crate::credentials::Secret;

pub const SIGNATURE_HEADER: &str = "X-Tawk-Signature";
/// The event id, the same on every retry of one event.
pub const EVENT_ID_HEADER: &str = "X-Hook-Event-Id";

pub const TRANSCRIPT_EVENT: &str = "chat:transcript_created";

/// Checks `X-Tawk-Signature` against the raw body.
pub fn verify(header: Option<&str>, body: &[u8], secret: &Secret) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing(SIGNATURE_HEADER))?;
    if header.trim().is_empty() {
        return Err(SignatureError::Malformed("empty"));
    }
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.expose().as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    if hex_matches(&mac.finalize().into_bytes(), header) { Ok(()) } else { Err(SignatureError::Mismatch) }
}

#[derive(Deserialize)]
struct Event {
    event: String,
    time: String,
    #[serde(default)]
    chat: Option<Chat>,
}

#[derive(Deserialize)]
struct Chat {
    id: String,
    #[serde(default)]
    visitor: TawkVisitor,
    #[serde(default)]
    messages: Vec<TawkMessage>,
}

#[derive(Deserialize, Default)]
struct TawkVisitor {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

#[derive(Deserialize)]
struct TawkMessage {
    sender: Sender,
    #[serde(default)]
    msg: String,
    time: String,
}

#[derive(Deserialize)]
struct Sender {
    t: String,
    #[serde(default)]
    n: Option<String>,
}

/// A Tawk.to webhook body → a transcript, or [`Adapted::Ignored`] for the other events.
pub fn to_transcript(body: &[u8]) -> Result<Adapted, AdapterError> {
    let event: Event = transcript::decode_json(body)?;
    if event.event != TRANSCRIPT_EVENT {
        return Ok(Adapted::Ignored { event: event.event });
    }
    let ended_at = parse_time(&event.time, "$.time")?;
    let chat = event.chat.ok_or_else(|| invalid("$.chat", "missing from a chat:transcript_created event"))?;
    let mut messages = Vec::with_capacity(chat.messages.len());
    for (i, m) in chat.messages.into_iter().enumerate() {
        let role = match m.sender.t.as_str() {
            "v" => Role::Visitor,
            "a" => Role::Agent,
            "s" => Role::Bot,
            other => return Err(invalid(&format!("$.chat.messages[{i}].sender.t"), &format!("unknown sender {other:?}"))),
        };
        let time = parse_time(&m.time, &format!("$.chat.messages[{i}].time"))?;
        messages.push(Message { role, name: m.sender.n, text: m.msg, time });
    }
    let started_at = messages.iter().map(|m| m.time).min().unwrap_or(ended_at);
    Ok(Adapted::Transcript(Transcript {
        conversation_id: chat.id,
        subject: None,
        visitor: Visitor { name: chat.visitor.name, email: chat.visitor.email },
        page_url: None,
        started_at,
        ended_at,
        resolved: false,
        messages,
    }))
}

fn parse_time(raw: &str, path: &str) -> Result<OffsetDateTime, AdapterError> {
    OffsetDateTime::parse(raw, &Rfc3339).map_err(|e| invalid(path, &format!("{raw:?} is not an RFC 3339 time ({e})")))
}

fn invalid(path: &str, reason: &str) -> AdapterError {
    AdapterError::Invalid { path: path.to_owned(), reason: reason.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hex_hmac_sha1_of_the_body() {
        // python3 -c 'import hmac,hashlib;print(hmac.new(b"webhook secret key",b"{\"a\":1}",hashlib.sha1).hexdigest())'
        let secret = Secret::new("webhook secret key");
        let sig = "a87a6d985099879192306286d2a7efb854438423";
        assert_eq!(verify(Some(sig), br#"{"a":1}"#, &secret), Ok(()));
        assert_eq!(verify(Some(&sig.to_uppercase()), br#"{"a":1}"#, &secret), Ok(()));
        assert_eq!(verify(Some(sig), br#"{"a":2}"#, &secret), Err(SignatureError::Mismatch));
        assert_eq!(verify(None, b"", &secret), Err(SignatureError::Missing(SIGNATURE_HEADER)));
        assert_eq!(verify(Some(" "), b"", &secret), Err(SignatureError::Malformed("empty")));
    }

    #[test]
    fn other_events_are_ignored() {
        let start = br#"{"event":"chat:start","chatId":"x","time":"2026-11-26T10:00:00.000Z"}"#;
        assert_eq!(to_transcript(start).unwrap(), Adapted::Ignored { event: "chat:start".into() });
    }

    #[test]
    fn bad_values_name_their_path() {
        let body = br#"{"event":"chat:transcript_created","time":"2026-11-26T10:00:00.000Z",
            "chat":{"id":"c","visitor":{"name":"V"},"messages":[{"sender":{"t":"x"},"msg":"hi","time":"2026-11-26T10:00:00Z"}]}}"#;
        assert!(matches!(to_transcript(body), Err(AdapterError::Invalid { path, .. }) if path == "$.chat.messages[0].sender.t"));
        let no_time = br#"{"event":"chat:transcript_created"}"#;
        assert!(matches!(to_transcript(no_time), Err(AdapterError::Decode(e)) if e.path == "$"));
    }
}
