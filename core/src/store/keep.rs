//! The step every intake lane ends with: keep the ticket in the store, then queue what is new — once.
//!
//! Key decisions (the store's module note has the whole protocol):
//! - A created ticket is sent to the ticket queue, then confirmed with [`Store::mark_enqueued`]; until the
//!   confirmation a retry gets the same ticket back and sends it again (same id), never a second ticket.
//! - An append (a reply, a merged duplicate) travels as a typed, versioned event — `{"v":1,"event":"append",
//!   "append":{…}}` — on the ticket queue by default, so a customer's next message reaches the router with no
//!   extra queue or variable; the read stage forwards it with the ticket's existing reading (no second model
//!   call). `append_queue_url`, when set, sends appends there instead. Then [`Store::mark_append_sent`].
//! - [`decode_event`] reads every kind of event off the ticket queue: a new ticket keeps its v1 envelope
//!   (`{"v":1,"ticket":{…}}`), so readers and queued messages from before appends travelled here still work; an
//!   append; the router's status command (`{"v":1,"event":"status","status":{…}}`, [`StatusCommand`]), checked
//!   here so a malformed one is refused, not applied.
//! - An append event carries its `event_id` (`append-{message id}`, [`crate::router_events`]) wherever it goes,
//!   so a consumer of `append_queue_url` de-duplicates it as the router does on the read queue.
//! - Store and queue failures that may pass are [`LaneError::Retry`]; a key the lane drew for one message found
//!   naming another ([`StoreError::KeyReused`]) is [`LaneError::Conflict`]; the rest [`LaneError::Permanent`].

use crate::lane_error::LaneError;
use crate::router_events::append_event_id;
use crate::sqs_client::{OutgoingMessage, SqsClient, SqsError};
use crate::store::lifecycle::{STATUS_EVENT, StatusCommand};
use crate::store::{Append, Intake, IntakeOutcome, Kv, Store, StoreError};
use crate::ticket::Ticket;
use crate::transport::{Runtime, Transport};
use crate::wire::{self, WIRE_VERSION, WireError};

/// The `event` of an append on a queue.
pub const APPEND_EVENT: &str = "append";

/// What travels on the ticket queue.
#[derive(Debug, Clone, PartialEq)]
pub enum QueueEvent {
    /// A new ticket: read it (one model call).
    Ticket(Ticket),
    /// A message added to a ticket already in flight: forward it with the ticket's reading.
    Append(Append),
    /// The router's status command (checked): apply it, acknowledge it.
    Status(StatusCommand),
}

/// What became of a kept intake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kept {
    Created { ticket_id: String },
    Appended { ticket_id: String },
    Repeat { ticket_id: String },
}

/// Store `intake`, then send a new ticket to `ticket_queue_url`, or an append event to `append_queue_url` when
/// set, else to `ticket_queue_url`.
pub async fn keep<T: Transport, R: Runtime, K: Kv>(
    store: &Store<K>,
    sqs: &SqsClient<T, R>,
    ticket_queue_url: &str,
    append_queue_url: Option<&str>,
    intake: Intake,
) -> Result<Kept, LaneError> {
    match store.intake(intake).await.map_err(store_error)? {
        IntakeOutcome::Created { ticket, .. } => {
            sqs.send_ticket(ticket_queue_url, &ticket).await.map_err(sqs_error)?;
            store.mark_enqueued(&ticket).await.map_err(store_error)?;
            Ok(Kept::Created { ticket_id: ticket.id })
        }
        IntakeOutcome::Appended(append) => {
            let url = append_queue_url.unwrap_or(ticket_queue_url);
            // Room for the attributes below; the rest of the queue's limit is the body's.
            let room = sqs.config().max_message_bytes.saturating_sub(1_024);
            let event = OutgoingMessage {
                entry_id: "append".into(),
                body: encode_append_event(&append, room),
                attributes: vec![
                    ("ticket-id".into(), append.ticket_id.clone()),
                    ("event".into(), APPEND_EVENT.into()),
                ],
                group_id: Some(append.ticket_id.clone()),
                // One event per message: a FIFO queue drops a re-send of the same append, never another one.
                deduplication_id: Some(append_event_id(&append.message.id)),
            };
            sqs.send_message(url, &event).await.map_err(sqs_error)?;
            store.mark_append_sent(&append).await.map_err(store_error)?;
            Ok(Kept::Appended { ticket_id: append.ticket_id })
        }
        IntakeOutcome::Repeat { ticket_id } => Ok(Kept::Repeat { ticket_id }),
    }
}

/// The append event as JSON, within `limit` bytes. The message is whole in the store; the event only has to
/// announce it, so an email whose raw and stripped bodies would pass the queue's limit (non-ASCII text of the
/// longest kept length does) loses its raw body in the event first, then the end of its body — each marked
/// truncated — rather than failing the send for good after the append was stored.
pub fn append_event_body(append: &Append, limit: usize) -> String {
    let encode = |a: &Append| serde_json::to_string(a).expect("plain data serialises");
    let full = encode(append);
    if full.len() <= limit {
        return full;
    }
    let mut slim = append.clone();
    if slim.message.raw_body.take().is_some() {
        slim.message.raw_body_truncated = true;
    }
    let mut text = encode(&slim);
    while text.len() > limit && !slim.message.body.is_empty() {
        // Escaping makes a body's JSON longer than its text by a varying factor: cut in proportion, with a margin.
        let body_json = serde_json::to_string(&slim.message.body).expect("a string serialises").len();
        let room = limit.saturating_sub(text.len() - body_json);
        let keep = (slim.message.body.len() as u128 * room as u128 / body_json.max(1) as u128) as usize;
        let mut cut = keep.saturating_sub(16).min(slim.message.body.len() - 1);
        while !slim.message.body.is_char_boundary(cut) {
            cut -= 1;
        }
        slim.message.body.truncate(cut);
        slim.message.body_truncated = true;
        text = encode(&slim);
    }
    text
}

/// `{"v":1,"event":"append","event_id":"append-{message id}","append":{…}}`, within `limit` bytes (the append
/// cut as [`append_event_body`] does).
pub fn encode_append_event(append: &Append, limit: usize) -> String {
    // The envelope's own bytes: the fixed keys and an event id of a 26-character message id.
    const ENVELOPE: usize = 128;
    format!(
        r#"{{"v":{WIRE_VERSION},"event":"{APPEND_EVENT}","event_id":{},"append":{}}}"#,
        serde_json::Value::from(append_event_id(&append.message.id)),
        append_event_body(append, limit.saturating_sub(ENVELOPE))
    )
}

/// One message off the ticket queue: a new ticket (`{"v":1,"ticket":…}`), an append event, or a status command.
pub fn decode_event(json: &str) -> Result<QueueEvent, WireError> {
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| WireError::Malformed(e.to_string()))?;
    let body = |name: &str| -> Result<serde_json::Value, WireError> {
        match value.get("v").and_then(|v| v.as_u64()) {
            Some(n) if n == u64::from(WIRE_VERSION) => {}
            Some(n) => return Err(WireError::UnknownVersion { found: n }),
            None => return Err(WireError::MissingVersion),
        }
        value.get(name).cloned().ok_or_else(|| WireError::Malformed(format!("the {name} event has no \"{name}\"")))
    };
    let malformed = |e: serde_json::Error| WireError::Malformed(e.to_string());
    match value.get("event").and_then(|e| e.as_str()) {
        Some(APPEND_EVENT) => Ok(QueueEvent::Append(serde_json::from_value(body(APPEND_EVENT)?).map_err(malformed)?)),
        Some(STATUS_EVENT) => {
            let command: StatusCommand = serde_json::from_value(body(STATUS_EVENT)?).map_err(malformed)?;
            Ok(QueueEvent::Status(command.checked().map_err(|e| WireError::Malformed(e.to_string()))?))
        }
        Some(other) if other != "ticket" => Err(WireError::Malformed(format!("unknown event `{other}`"))),
        _ => Ok(QueueEvent::Ticket(wire::decode(json)?)),
    }
}

pub fn store_error(e: StoreError) -> LaneError {
    match e {
        StoreError::KeyReused => LaneError::Conflict(e.to_string()),
        e => LaneError::classify(e.is_retryable(), "store", e),
    }
}

pub fn sqs_error(e: SqsError) -> LaneError {
    LaneError::classify(e.is_retryable(), "ticket queue", e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MergeReason;
    use crate::store::record::{Merge, Message};

    fn append(body: String, raw: String) -> Append {
        let message: Message = serde_json::from_value(serde_json::json!({
            "id": "01KB0Y3J5V6N2Q8R9S0T1V2W3X", "source": "email", "received_at": "2026-11-27T10:00:00.000Z",
            "idempotency_key": "m2@x", "customer": {"email": "ana@x.example", "name": null}, "subject": "Re: export",
            "body": body, "body_truncated": false, "raw_body": raw, "raw_body_truncated": false, "page_url": null,
            "thread": {"message_id": "m2@x", "in_reply_to": "m1@x", "references": []}, "transcript_id": null,
            "participants": [], "flags": []
        }))
        .unwrap();
        let merge = Merge { message: message.id.clone(), reason: MergeReason::Thread, score: 1.0, detail: "In-Reply-To <m1@x>".into(), reopened: false };
        Append { ticket_id: "01KB0Y3J5V6N2Q8R9S0T1V2W3Y".into(), message, merge }
    }

    #[test]
    fn an_append_too_large_for_the_queue_loses_its_raw_body_then_the_end_of_its_body() {
        let limit = 255 * 1024;
        let small = append("Thanks, that fixed it.".into(), "Thanks, that fixed it.\n> old".into());
        assert_eq!(append_event_body(&small, limit), serde_json::to_string(&small).unwrap());

        // The longest body and raw body kept, in a script of three-byte characters: over 256 KiB as JSON.
        let big = append("需".repeat(32_000), "需".repeat(64_000));
        let text = append_event_body(&big, limit);
        assert!(text.len() <= limit, "{}", text.len());
        let back: Append = serde_json::from_str(&text).unwrap();
        assert_eq!((back.message.raw_body, back.message.raw_body_truncated), (None, true));
        assert!(!back.message.body_truncated, "the raw body alone was enough");

        let huge = append("需\u{1}".repeat(60_000), String::new());
        let back: Append = serde_json::from_str(&append_event_body(&huge, limit)).unwrap();
        assert!(back.message.body_truncated && !back.message.body.is_empty());
    }

    #[test]
    fn both_kinds_of_event_decode_off_one_queue() {
        let small = append("Thanks, that fixed it.".into(), String::new());
        let event = encode_append_event(&small, 255 * 1024);
        assert_eq!(decode_event(&event).unwrap(), QueueEvent::Append(small.clone()));
        let big = append("需".repeat(32_000), "需".repeat(64_000));
        let event = encode_append_event(&big, 255 * 1024);
        assert!(event.len() <= 255 * 1024);
        assert!(matches!(decode_event(&event).unwrap(), QueueEvent::Append(_)));
        let ticket = small.message.to_ticket();
        assert_eq!(decode_event(&wire::encode(&ticket)).unwrap(), QueueEvent::Ticket(ticket));
        assert!(matches!(decode_event(r#"{"v":2,"event":"append","append":{}}"#), Err(WireError::UnknownVersion { found: 2 })));
        assert!(decode_event(r#"{"v":1,"event":"close"}"#).is_err());
        // The read queue's acknowledgement is no command: pointed at the ticket queue, it is refused.
        assert!(decode_event(r#"{"v":1,"event":"status-ack","status_ack":{}}"#).is_err());
    }

    #[test]
    fn an_append_event_names_its_event_id() {
        let small = append("Thanks, that fixed it.".into(), String::new());
        let event: serde_json::Value = serde_json::from_str(&encode_append_event(&small, 255 * 1024)).unwrap();
        assert_eq!(event["event_id"], format!("append-{}", small.message.id));
    }

    #[test]
    fn a_status_command_decodes_checked() {
        use crate::store::lifecycle::TicketStatus;
        let command = StatusCommand {
            ticket_id: "01KB0Y3J5V6N2Q8R9S0T1V2W3Y".into(),
            status: TicketStatus::Solved,
            command_id: "c-1".into(),
            at: "2026-11-27T10:00:00Z".into(),
        };
        let QueueEvent::Status(back) = decode_event(&command.encode()).unwrap() else { panic!("a status command") };
        assert_eq!((back.status, back.at.as_str()), (TicketStatus::Solved, "2026-11-27T10:00:00.000Z"));
        let bad = StatusCommand { command_id: "no spaces".into(), ..command.clone() };
        assert!(matches!(decode_event(&bad.encode()), Err(WireError::Malformed(_))));
        let unknown = command.encode().replace("\"solved\"", "\"pending\"");
        assert!(matches!(decode_event(&unknown), Err(WireError::Malformed(_))));
        let future = command.encode().replace("\"v\":1", "\"v\":2");
        assert!(matches!(decode_event(&future), Err(WireError::UnknownVersion { found: 2 })));
        assert!(matches!(decode_event(r#"{"v":1,"event":"status"}"#), Err(WireError::Malformed(_))));
    }
}
