//! What the router receives on the read queue: three versioned events, each with a stable `event_id`. The
//! contract is `docs/router-events.schema.json` (`core/tests/router_events.rs` validates real events against it).
//!
//! - `ticket`: a new ticket with its reading — `{"v":1,"event":"ticket","event_id":"ticket-{ticket id}",
//!   "ticket":{…}}`, the ticket queue's envelope with two fields added, so a reader of `{"v":1,"ticket":{…}}`
//!   ([`crate::wire::decode`]) still reads it.
//! - `append`: a message added to a ticket (a reply, a merged duplicate), with the ticket's reading —
//!   `{"v":1,"event":"append","event_id":"append-{message id}","append":{…},"reading":{…},"flags":[…]}`.
//! - `status-ack`: the answer to the router's status command — `{"v":1,"event":"status-ack",
//!   "event_id":"status-{ticket id}-{command id}","status_ack":{…}}`.
//!
//! Key decisions:
//! - An event id is derived from what the event is about, never drawn at random, so every re-send of one event —
//!   a redelivered ticket-queue message, a forward retried after the reading was stored, a dead-letter replay —
//!   carries the same id, and two different events never share one (a ticket id, a message id and a ticket id
//!   with the router's command id name one thing each; the prefixes keep the kinds apart). The router keeps the
//!   ids it has handled and drops a repeat: SQS delivers at least once.
//! - The id is also the FIFO `MessageDeduplicationId` (at most 98 characters, inside SQS's 128), and on a FIFO
//!   queue the group is the ticket id: one ticket's events in order, different tickets in parallel. SQS
//!   de-duplicates for five minutes only; the router's own check is what holds beyond that.
//! - Each message also carries `event` and `ticket-id` attributes, so a consumer can route without parsing.

use serde::Serialize;

use crate::sqs_client::OutgoingMessage;
use crate::store::lifecycle::{STATUS_ACK_EVENT, StatusAck};
use crate::store::Append;
use crate::store::keep::APPEND_EVENT;
use crate::ticket::{Reading, Ticket, TicketFlag};
use crate::wire::WIRE_VERSION;

/// The `event` of a read ticket.
pub const TICKET_EVENT: &str = "ticket";

pub fn ticket_event_id(ticket_id: &str) -> String {
    format!("ticket-{ticket_id}")
}

pub fn append_event_id(message_id: &str) -> String {
    format!("append-{message_id}")
}

pub fn status_event_id(ticket_id: &str, command_id: &str) -> String {
    format!("status-{ticket_id}-{command_id}")
}

/// A read ticket (its reading on it) as the read stage forwards it.
pub fn ticket_message(ticket: &Ticket) -> OutgoingMessage {
    #[derive(Serialize)]
    struct Out<'a> {
        v: u32,
        event: &'static str,
        event_id: &'a str,
        ticket: &'a Ticket,
    }
    let event_id = ticket_event_id(&ticket.id);
    let body = encode(&Out { v: WIRE_VERSION, event: TICKET_EVENT, event_id: &event_id, ticket });
    let mut message = message(body, event_id, TICKET_EVENT, &ticket.id);
    message.attributes.push(("source".into(), ticket.source.as_str().into()));
    message
}

/// An append with the ticket's reading and flags, as the read stage forwards it.
pub fn append_message(append: &Append, reading: &Reading, flags: &[TicketFlag]) -> OutgoingMessage {
    let event_id = append_event_id(&append.message.id);
    message(encode_read_append(append, reading, flags), event_id, APPEND_EVENT, &append.ticket_id)
}

/// The append event's body on the read queue: the event with the ticket's reading and flags.
pub fn encode_read_append(append: &Append, reading: &Reading, flags: &[TicketFlag]) -> String {
    #[derive(Serialize)]
    struct Out<'a> {
        v: u32,
        event: &'static str,
        event_id: &'a str,
        append: &'a Append,
        reading: &'a Reading,
        flags: &'a [TicketFlag],
    }
    let event_id = append_event_id(&append.message.id);
    encode(&Out { v: WIRE_VERSION, event: APPEND_EVENT, event_id: &event_id, append, reading, flags })
}

/// The acknowledgement of a status command.
pub fn status_ack_message(ack: &StatusAck) -> OutgoingMessage {
    #[derive(Serialize)]
    struct Out<'a> {
        v: u32,
        event: &'static str,
        event_id: &'a str,
        status_ack: &'a StatusAck,
    }
    let event_id = status_event_id(&ack.ticket_id, &ack.command_id);
    let body = encode(&Out { v: WIRE_VERSION, event: STATUS_ACK_EVENT, event_id: &event_id, status_ack: ack });
    message(body, event_id, STATUS_ACK_EVENT, &ack.ticket_id)
}

fn message(body: String, event_id: String, event: &str, ticket_id: &str) -> OutgoingMessage {
    OutgoingMessage {
        entry_id: event.to_owned(),
        body,
        attributes: vec![("ticket-id".into(), ticket_id.to_owned()), ("event".into(), event.to_owned())],
        group_id: Some(ticket_id.to_owned()),
        deduplication_id: Some(event_id),
    }
}

fn encode(value: &impl Serialize) -> String {
    serde_json::to_string(value).expect("plain data serialises")
}
