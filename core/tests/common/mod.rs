//! Shared by the store tests: a pinned clock, drafts for each lane, and a store over the counting memory KV.
#![allow(dead_code)]

use std::cell::Cell;
use std::time::{Duration, SystemTime};

use tr_core::store::{Intake, IntakeOutcome, MemoryKv, StatusCommand, Store, StoreConfig, TicketStatus};
use tr_core::{Limits, Source, ThreadIds, Ticket, TicketDraft};

/// 2026-11-26T09:00:00Z.
pub const T0_MS: u64 = 1_795_683_600_000;

pub fn at_minutes(minutes: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_millis(T0_MS + minutes * 60_000)
}

pub fn hours(h: u64) -> u64 {
    h * 60
}

/// Turns drafts into tickets the way a lane does, with a fresh random per call (as a retry would get).
#[derive(Default)]
pub struct Lane {
    random: Cell<u128>,
}

impl Lane {
    pub fn ticket(&self, draft: TicketDraft, minutes: u64) -> Ticket {
        self.random.set(self.random.get() + 7919);
        draft.into_ticket(at_minutes(minutes), self.random.get(), &Limits::default()).expect("valid draft")
    }

    pub fn intake(&self, draft: TicketDraft, minutes: u64) -> Intake {
        Intake::new(self.ticket(draft, minutes))
    }
}

pub fn form(email: &str, subject: &str, body: &str, nonce: &str) -> TicketDraft {
    TicketDraft {
        source: Source::Form,
        customer_email: Some(email.into()),
        customer_name: None,
        subject: subject.into(),
        body: body.into(),
        page_url: Some("https://app.example.com/billing".into()),
        thread: ThreadIds::default(),
        transcript_id: None,
        idempotency_key: nonce.into(),
    }
}

pub fn chat(email: Option<&str>, body: &str, transcript: &str) -> TicketDraft {
    TicketDraft {
        source: Source::Chat,
        customer_email: email.map(Into::into),
        customer_name: None,
        subject: String::new(),
        body: body.into(),
        page_url: None,
        thread: ThreadIds::default(),
        transcript_id: Some(transcript.into()),
        idempotency_key: transcript.into(),
    }
}

/// An email whose idempotency key is its Message-ID, as the email lane does.
pub fn email(from: &str, subject: &str, body: &str, message_id: &str) -> TicketDraft {
    TicketDraft {
        source: Source::Email,
        customer_email: Some(from.into()),
        customer_name: None,
        subject: subject.into(),
        body: body.into(),
        page_url: None,
        thread: ThreadIds { message_id: Some(message_id.into()), in_reply_to: None, references: Vec::new() },
        transcript_id: None,
        idempotency_key: message_id.into(),
    }
}

pub fn reply(mut draft: TicketDraft, in_reply_to: Option<&str>, references: &[&str]) -> TicketDraft {
    draft.thread.in_reply_to = in_reply_to.map(Into::into);
    draft.thread.references = references.iter().map(|r| (*r).into()).collect();
    draft
}

pub fn store() -> Store<MemoryKv> {
    Store::new(MemoryKv::new(), StoreConfig::default())
}

pub fn run(store: &Store<MemoryKv>, intake: Intake) -> IntakeOutcome {
    pollster::block_on(store.intake(intake)).expect("intake succeeds")
}

/// Number of ticket records in the store (a scan: tests only).
pub fn ticket_count(store: &Store<MemoryKv>) -> usize {
    store.kv().snapshot().keys().filter(|k| k.starts_with("tr/t/")).count()
}

pub fn created(outcome: &IntakeOutcome) -> &Ticket {
    match outcome {
        IntakeOutcome::Created { ticket, .. } => ticket,
        other => panic!("expected Created, got {other:?}"),
    }
}

/// The router's command for `ticket_id`, decided `minutes` after T0.
pub fn status(ticket_id: &str, status: TicketStatus, command_id: &str, minutes: u64) -> StatusCommand {
    StatusCommand::new(ticket_id, status, command_id, at_minutes(minutes)).expect("a valid command")
}
