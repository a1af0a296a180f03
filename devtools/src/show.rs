//! `tickets ID`: one ticket as a person reads it — the ticket, then every message in arrival order with its lane,
//! time, how it joined, how far its sender can be trusted, and its text — or the same as JSON; and finding a
//! ticket by any of its messages' Message-IDs.
//!
//! Key decisions:
//! - **Ticket id or Message-ID, told apart by shape.** Ticket ids are ULIDs ([`keys::is_ticket_id`]: 26
//!   characters of Crockford base 32, taken in either case); a Message-ID is anything else, with or without its
//!   angle brackets. A ULID that names no ticket is tried as a Message-ID as well, so the one conceivable overlap (an
//!   MTA that mints ULIDs with no `@`) still finds its ticket.
//! - **A Message-ID is looked up where the email lane threads replies**: the thread index
//!   ([`keys::thread`], one read), which holds the message itself or a bare pointer naming its ticket. So the
//!   lookup finds exactly what a reply with that In-Reply-To would find, and never scans the store.
//! - **Verification is each message's own**, from its flags and lane, never the ticket's: a ticket carries its
//!   first message's flags, and a verified mail and a typed-in form address can share one ticket.
//! - The JSON form is the stored record with each listed message made whole (its text, raw body, how it
//!   joined, its verification), so what `--json` used to print is still there, under the same names.

use std::path::Path;

use anyhow::Context;
use serde::Serialize;
use serde_json::Value;
use tr_core::store::record::{self, MessageEntry, MessageRef};
use tr_core::store::{Kv, Link, Merge, MergeReason, Message, StoredTicket, TicketRecord, keys};
use tr_core::{Source, TicketFlag};

use crate::inspect::{self, wire_name};

/// A ticket found by [`find`], and the Message-ID that found it (`None`: found by its ticket id).
pub struct Found {
    pub ticket: StoredTicket,
    pub message_id: Option<String>,
}

/// The ticket `arg` names: a ticket id, or the Message-ID of any of its messages (see the module note).
pub fn find(manifest: &Path, arg: &str) -> anyhow::Result<Found> {
    let store = inspect::store(manifest)?;
    let load = |id: &str| pollster::block_on(store.load(id)).with_context(|| format!("reading ticket {id}"));
    let arg = arg.trim();
    // ULIDs are case-insensitive (Crockford base 32); the store spells them upper case.
    let as_id = arg.to_ascii_uppercase();
    let looks_like_id = keys::is_ticket_id(&as_id);
    if looks_like_id && let Some(ticket) = load(&as_id)? {
        return Ok(Found { ticket, message_id: None });
    }
    let message_id = message_id(arg);
    anyhow::ensure!(!message_id.is_empty(), "name a ticket id or a Message-ID");
    let key = keys::thread(&message_id);
    let Some(bytes) = pollster::block_on(store.kv().get(&key)).with_context(|| format!("reading {key}"))? else {
        let no_ticket = if looks_like_id { format!("no ticket {as_id}, and ") } else { String::new() };
        anyhow::bail!(
            "{no_ticket}no email with Message-ID <{message_id}> is stored (only email Message-IDs are indexed; \
             `tickets` lists every ticket)"
        );
    };
    let entry: MessageEntry = record::decode(&bytes).with_context(|| format!("reading {key}"))?;
    // The entry is written before its ticket's record: between the two (or after a failed intake, until its
    // retry) it names a ticket that is not there yet.
    let ticket = load(&entry.ticket_id)?.ok_or_else(|| {
        anyhow::anyhow!(
            "Message-ID <{message_id}> belongs to ticket {}, which is not stored (yet): its intake has not finished",
            entry.ticket_id
        )
    })?;
    Ok(Found { ticket, message_id: Some(message_id) })
}

/// A Message-ID as the store keys it: mail-parser strips the angle brackets, normalisation any whitespace.
fn message_id(arg: &str) -> String {
    let arg = arg.trim();
    let arg = arg.strip_prefix('<').and_then(|a| a.strip_suffix('>')).unwrap_or(arg);
    arg.chars().filter(|c| !c.is_whitespace()).collect()
}

/// How far a message's sender is what its address says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verification {
    /// An email not flagged `unverified-sender`: SES's verdicts vouched for the address — or the deployment
    /// does not ask SES (`email_sender_verification = off`, as `up` runs), and nothing was judged.
    Verified,
    /// An email SES's verdicts did not vouch for.
    UnverifiedSender,
    /// A form or chat address: the visitor typed it.
    Unverified,
    /// A chat visitor who gave no address.
    Anonymous,
}

impl Verification {
    fn of(source: Source, flags: &[TicketFlag], has_address: bool) -> Self {
        match source {
            Source::Email if flags.contains(&TicketFlag::UnverifiedSender) => Verification::UnverifiedSender,
            Source::Email => Verification::Verified,
            // By lane, not only by flag: a typed address is unverified whether or not an older record says so.
            _ if !has_address || flags.contains(&TicketFlag::Anonymous) => Verification::Anonymous,
            _ => Verification::Unverified,
        }
    }

    fn explain(self) -> &'static str {
        match self {
            Verification::Verified => {
                "verified (not flagged unverified-sender; with email_sender_verification = off nothing is judged)"
            }
            Verification::UnverifiedSender => "unverified-sender: SES's verdicts did not vouch for this address",
            Verification::Unverified => "unverified: an address the visitor typed",
            Verification::Anonymous => "anonymous: no address given",
        }
    }
}

/// One listed message with everything known about it.
struct Shown<'a> {
    listed: &'a MessageRef,
    /// `None` when the message's key holds nothing (an intake that never finished writing).
    message: Option<&'a Message>,
    /// `None` for the message that created the ticket.
    merge: Option<&'a Merge>,
    verification: Verification,
}

fn shown(ticket: &StoredTicket) -> Vec<Shown<'_>> {
    let record = &ticket.record;
    record
        .messages
        .iter()
        .map(|listed| {
            let message = ticket.messages.iter().find(|m| m.id == listed.id);
            let merge = record.merges.iter().find(|m| m.message == listed.id);
            let has_address = message.is_none_or(|m| m.customer.email.is_some());
            Shown { listed, message, merge, verification: Verification::of(listed.source, &listed.flags, has_address) }
        })
        .collect()
}

/// A stored value's JSON. The ticket's status, a link's reason and a merge's reopening are read by the names the
/// store writes, not matched on tr-core's types: a status or reason tr-core adds shows here by its own name
/// without a change, and records from before statuses (only `closed`) still read.
fn stored(value: impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or_default()
}

/// How a message joined its ticket, in words.
fn joined(merge: Option<&Merge>) -> String {
    let Some(m) = merge else { return "created the ticket".to_owned() };
    let how = match m.reason {
        MergeReason::Thread => format!("reply by thread ({})", m.detail),
        MergeReason::Duplicate => format!("duplicate merge, score {:.3}", m.score),
        MergeReason::SameKey => format!("same-key ({})", m.detail),
    };
    if stored(m)["reopened"] == true { format!("{how}, reopened the ticket") } else { how }
}

/// `open`, `solved`, `closed` as the record says, and since when and by which router command when it says so.
fn status(record: &TicketRecord) -> (String, Option<String>) {
    let r = stored(record);
    let legacy = if r["closed"] == true { "closed" } else { "open" };
    let status = r["status"].as_str().unwrap_or(legacy).to_owned();
    let set_by = r["status_command"].as_str().map(|command| match r["status_at"].as_str() {
        Some(at) => format!("{status} since {at}, by router command {command}"),
        None => format!("{status} by router command {command}"),
    });
    (status, set_by)
}

fn link_line(link: &Link) -> String {
    let reason = wire_name(link.reason);
    let what = match reason.as_str() {
        "possible-duplicate" => "alike but not merged (a person may merge them)",
        "unverified-sender" => "named or threaded onto it, but SES's verdicts did not vouch for the sender",
        "other-sender" => "named or threaded onto it, from someone not on that ticket",
        "closed" | "follow-up-of" => "a follow-up of that ticket, which was closed or solved",
        "full" => "continues that ticket, which is full",
        _ => "related",
    };
    format!("{reason} → {}: {what} ({})", link.ticket_id, link.via)
}

fn flag_list(flags: &[TicketFlag]) -> String {
    flags.iter().map(wire_name).collect::<Vec<_>>().join(", ")
}

fn person(email: Option<&str>, name: Option<&str>) -> String {
    match (email, name) {
        (Some(e), Some(n)) => format!("{n} <{e}>"),
        (Some(e), None) => e.to_owned(),
        (None, Some(n)) => format!("{n} (no address)"),
        (None, None) => "(anonymous)".to_owned(),
    }
}

/// The ticket for a person at a terminal: a header, then each message with its text indented below it.
pub fn render(found: &Found) -> String {
    use std::fmt::Write;
    let (record, t) = (&found.ticket.record, &found.ticket.record.ticket);
    let mut out = String::new();
    let count = record.messages.len();
    let plural = if count == 1 { "" } else { "s" };
    let (status, set_by) = status(record);
    let _ = writeln!(out, "ticket {} · {} · {status} · {count} message{plural}", t.id, wire_name(t.source));
    let mut field = |name: &str, value: &str| {
        let _ = writeln!(out, "  {name:<11} {value}");
    };
    if let Some(mid) = &found.message_id {
        field("found by", &format!("Message-ID <{mid}>"));
    }
    if let Some(set_by) = set_by {
        field("status", &set_by);
    }
    field("customer", &person(t.customer.email.as_deref(), t.customer.name.as_deref()));
    field("subject", &t.subject);
    field("received", &t.received_at);
    let reading = match &t.reading {
        Some(r) => format!("topic {} · urgency {} · tone {}", r.topic, wire_name(r.urgency), wire_name(r.tone)),
        None => "(not read yet)".to_owned(),
    };
    field("reading", &reading);
    if !t.flags.is_empty() {
        field("flags", &flag_list(&t.flags));
    }
    for (i, link) in record.links.iter().enumerate() {
        field(if i == 0 { "links" } else { "" }, &link_line(link));
    }

    for (n, s) in shown(&found.ticket).iter().enumerate() {
        let matched =
            found.message_id.is_some() && s.message.and_then(|m| m.thread.message_id.as_ref()) == found.message_id.as_ref();
        let _ = writeln!(
            out,
            "\n[{}/{count}] {} · {} · {}{}",
            n + 1,
            wire_name(s.listed.source),
            s.listed.received_at,
            joined(s.merge),
            if matched { "  ← this Message-ID" } else { "" },
        );
        let mut field = |name: &str, value: &str| {
            let _ = writeln!(out, "  {name:<11} {value}");
        };
        if let Some(m) = s.merge.filter(|m| m.reason == MergeReason::Duplicate) {
            field("why", &m.detail);
        }
        let Some(m) = s.message else {
            field("subject", &s.listed.subject);
            field("sender", s.verification.explain());
            field("text", &format!("(not stored under {}: its intake has not finished)", s.listed.key));
            continue;
        };
        field("from", &person(m.customer.email.as_deref(), m.customer.name.as_deref()));
        field("sender", s.verification.explain());
        field("subject", &m.subject);
        if let Some(id) = &m.thread.message_id {
            field("Message-ID", &format!("<{id}>"));
        }
        if let Some(id) = &m.thread.in_reply_to {
            field("In-Reply-To", &format!("<{id}>"));
        }
        if let Some(url) = &m.page_url {
            field("page", url);
        }
        if let Some(id) = &m.transcript_id {
            field("transcript", id);
        }
        // Flags the lines above do not already say.
        let flags: Vec<TicketFlag> = m
            .flags
            .iter()
            .copied()
            .filter(|f| !matches!(f, TicketFlag::Unverified | TicketFlag::UnverifiedSender | TicketFlag::Anonymous))
            .collect();
        if !flags.is_empty() {
            field("flags", &flag_list(&flags));
        }
        if !m.masked.is_empty() {
            let counts: Vec<String> = m.masked.iter().map(|c| format!("{} {}", c.count, wire_name(c.kind))).collect();
            field("masked", &format!("{} (replaced before storing; the values are not kept)", counts.join(", ")));
        }
        if m.body_truncated {
            field("text", &format!("cut at the length limit; {} characters kept", m.body.chars().count()));
        }
        match m.raw_body.as_deref() {
            Some(raw) if raw != m.body => {
                let cut = if m.raw_body_truncated { ", itself cut at the store's limit" } else { "" };
                let raw = format!("differs from the text: {} characters before quote and signature stripping{cut} (--json has it)", raw.chars().count());
                field("raw body", &raw);
            }
            _ if m.raw_body_truncated => field("raw body", "cut at the store's limit"),
            _ => {}
        }
        let _ = writeln!(out);
        for line in m.body.lines() {
            let _ = writeln!(out, "    {line}");
        }
    }
    out
}

/// The JSON form: the stored record, each listed message with its whole message (`message`: texts, customer,
/// thread ids), its merge record (`merge`, `null` for the first), how it joined and its verification.
pub fn json(found: &Found) -> anyhow::Result<Value> {
    #[derive(Serialize)]
    struct MessageJson<'a> {
        #[serde(flatten)]
        listed: &'a MessageRef,
        joined: Value,
        merge: Option<&'a Merge>,
        verification: Verification,
        message: Option<&'a Message>,
    }
    let messages: Vec<MessageJson> = shown(&found.ticket)
        .into_iter()
        .map(|s| MessageJson {
            listed: s.listed,
            joined: s.merge.map_or_else(|| Value::from("created"), |m| serde_json::to_value(m.reason).unwrap_or_default()),
            merge: s.merge,
            verification: s.verification,
            message: s.message,
        })
        .collect();
    let mut value = serde_json::to_value(&found.ticket.record)?;
    value["messages"] = serde_json::to_value(messages)?;
    if let Some(mid) = &found.message_id {
        value["found_by_message_id"] = Value::from(mid.as_str());
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_taken_as_the_store_keys_them() {
        assert_eq!(message_id("<a.b@x.example>"), "a.b@x.example");
        assert_eq!(message_id(" a.b@x.example "), "a.b@x.example");
        assert_eq!(message_id("<a b@x>"), "ab@x");
        assert_eq!(message_id("<>"), "");
    }

    /// What a record alone cannot show is said, not hidden: a message whose entry is missing, a cut text, a cut
    /// raw body, an anonymous visitor, a reading, a link for a person to judge.
    #[test]
    fn the_rare_cases_are_said() {
        let record: TicketRecord = serde_json::from_value(serde_json::json!({
            "v": 1,
            "ticket": {"id": "01B", "customer": {"email": null, "name": "Visitor"}, "subject": "Login", "body": "x",
                       "body_truncated": true, "source": "chat", "received_at": "2026-11-27T10:00:00.000Z",
                       "page_url": null, "thread": {"message_id": null, "in_reply_to": null, "references": []},
                       "transcript_id": "c-1", "idempotency_key": "chat:c-1", "merged_from": ["02"],
                       "reading": {"topic": "account", "urgency": "high", "tone": "confused"}, "flags": ["anonymous"]},
            "closed": true,
            "participants": [],
            "messages": [{"id": "01B", "key": "tr/m/chat/a", "source": "chat", "received_at": "2026-11-27T10:00:00.000Z",
                          "subject": "Login", "flags": ["anonymous"]},
                         {"id": "02", "key": "tr/m/email/b", "source": "email", "received_at": "2026-11-27T11:00:00.000Z",
                          "subject": "Re: Login"}],
            "merges": [{"message": "02", "reason": "same-key", "score": 1.0, "detail": "ticket reference"}],
            "links": [{"ticket_id": "01A", "reason": "possible-duplicate", "via": "similarity 0.330, shared words: login"}],
        }))
        .unwrap();
        let mut first: Message = serde_json::from_value(serde_json::json!({
            "id": "01B", "source": "chat", "received_at": "2026-11-27T10:00:00.000Z", "idempotency_key": "chat:c-1",
            "customer": {"email": null, "name": "Visitor"}, "subject": "Login", "body": "I cannot log in",
            "body_truncated": true, "raw_body": null, "raw_body_truncated": false, "page_url": null,
            "thread": {"message_id": null, "in_reply_to": null, "references": []}, "transcript_id": "c-1",
            "participants": [], "flags": ["anonymous"]}))
        .unwrap();
        let out = render(&Found { ticket: StoredTicket { record: record.clone(), messages: vec![first.clone()] }, message_id: None });
        assert!(out.starts_with("ticket 01B · chat · closed · 2 messages\n"), "{out}");
        assert!(out.contains("  reading     topic account · urgency high · tone confused\n"), "{out}");
        assert!(out.contains("  links       possible-duplicate → 01A: alike but not merged (a person may merge them) (similarity 0.330"), "{out}");
        assert!(out.contains("  from        Visitor (no address)\n  sender      anonymous: no address given\n"), "{out}");
        assert!(out.contains("  text        cut at the length limit; 15 characters kept\n") && out.contains("\n    I cannot log in\n"), "{out}");
        assert!(out.contains("[2/2] email · 2026-11-27T11:00:00.000Z · same-key (ticket reference)\n"), "{out}");
        assert!(out.contains("  text        (not stored under tr/m/email/b: its intake has not finished)\n"), "{out}");

        first.raw_body = Some("I cannot log in".into());
        first.raw_body_truncated = true;
        let out = render(&Found { ticket: StoredTicket { record, messages: vec![first] }, message_id: None });
        assert!(out.contains("  raw body    cut at the store's limit\n"), "{out}");
    }

    #[test]
    fn verification_is_the_messages_own() {
        assert_eq!(Verification::of(Source::Email, &[], true), Verification::Verified);
        assert_eq!(Verification::of(Source::Email, &[TicketFlag::UnverifiedSender], true), Verification::UnverifiedSender);
        assert_eq!(Verification::of(Source::Form, &[], true), Verification::Unverified);
        assert_eq!(Verification::of(Source::Chat, &[TicketFlag::Anonymous], false), Verification::Anonymous);
    }
}
