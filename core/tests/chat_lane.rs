//! The chat lane through the in-memory store and a recording fake queue: replays are one ticket queued once,
//! resolved chats make nothing, anonymous visitors never merge, an identified visitor's form merges into the
//! chat's ticket, and the folded ticket is exactly as expected for a sample.

use std::cell::{Cell, RefCell};
use std::path::Path;
use std::time::{Duration, SystemTime};

use serde_json::Value;
use tr_core::chat::{FoldConfig, ResolvedPolicy, Transcript, decode};
use tr_core::chat::lane::{ChatLane, ChatLaneConfig, ChatLaneError, ChatOutcome};
use tr_core::store::keep::{Kept, keep};
use tr_core::store::{Intake, MemoryKv, Store, StoreConfig};
use tr_core::transport::{HttpRequest, HttpResponse, Runtime, Transport, TransportError};
use tr_core::{Credentials, Limits, Source, SqsClient, SqsConfig, ThreadIds, Ticket, TicketDraft, TicketFlag};

const QUEUE: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/tr-tickets";
const APPENDS: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/tr-read-tickets";

/// Answers every SQS call with success and records the SendMessage bodies.
#[derive(Default)]
struct RecordingQueue {
    sent: RefCell<Vec<(String, Value)>>,
}

impl Transport for RecordingQueue {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let action = request.headers()["x-amz-target"].to_str().unwrap().to_owned();
        assert_eq!(action, "AmazonSQS.SendMessage", "the lane sends one message at a time");
        let body: Value = serde_json::from_slice(request.body()).unwrap();
        let id = format!("m-{}", self.sent.borrow().len());
        self.sent.borrow_mut().push((body["QueueUrl"].as_str().unwrap().to_owned(), body));
        Ok(http::Response::builder().status(200).body(format!(r#"{{"MessageId":"{id}"}}"#).into_bytes()).unwrap())
    }
}

impl RecordingQueue {
    fn tickets(&self) -> Vec<Ticket> {
        self.sent
            .borrow()
            .iter()
            .filter(|(url, _)| url == QUEUE)
            .map(|(_, body)| {
                let wire: Value = serde_json::from_str(body["MessageBody"].as_str().unwrap()).unwrap();
                serde_json::from_value(wire["ticket"].clone()).unwrap()
            })
            .collect()
    }

    fn appends(&self) -> usize {
        self.sent.borrow().iter().filter(|(url, _)| url == APPENDS).count()
    }
}

/// A clock that stands still unless moved, and a counter for randomness (a retry gets different random bits).
struct Clock {
    now: Cell<SystemTime>,
    random: Cell<u64>,
}

impl Clock {
    fn new() -> Self {
        // 2026-11-26T10:10:00Z, just after the samples' chats.
        Self { now: Cell::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_687_800)), random: Cell::new(1) }
    }
}

impl Runtime for Clock {
    fn now(&self) -> SystemTime {
        self.now.get()
    }
    fn random_u64(&self) -> u64 {
        self.random.set(self.random.get() + 1);
        self.random.get()
    }
    async fn sleep(&self, _: Duration) {}
}

struct World {
    queue: RecordingQueue,
    clock: Clock,
    store: Store<MemoryKv>,
    config: ChatLaneConfig,
}

impl World {
    fn new() -> Self {
        Self {
            queue: RecordingQueue::default(),
            clock: Clock::new(),
            store: Store::new(MemoryKv::new(), StoreConfig::default()),
            config: ChatLaneConfig {
                ticket_queue_url: QUEUE.into(),
                append_queue_url: Some(APPENDS.into()),
                limits: Limits::default(),
                fold: FoldConfig::default(),
            },
        }
    }

    fn handle(&self, transcript: &Transcript) -> Result<ChatOutcome, ChatLaneError> {
        let sqs = SqsClient::new(SqsConfig::new("eu-west-1", Credentials::new("AKIDEXAMPLE", "secret")), &self.queue, &self.clock);
        let runtime = &self.clock;
        let lane = ChatLane { sqs: &sqs, store: &self.store, runtime: &runtime, config: &self.config };
        pollster::block_on(lane.handle(transcript))
    }

    /// A web-form submission through the same store and queue, as the form lane will send it.
    fn form(&self, email: &str, subject: &str, body: &str) -> Kept {
        let draft = TicketDraft {
            source: Source::Form,
            customer_email: Some(email.into()),
            customer_name: None,
            subject: subject.into(),
            body: body.into(),
            page_url: None,
            thread: ThreadIds::default(),
            transcript_id: None,
            idempotency_key: format!("form-{subject}"),
        };
        let ticket = draft.into_ticket(self.clock.now(), u128::from(self.clock.random_u64()), &Limits::default()).unwrap();
        let sqs = SqsClient::new(SqsConfig::new("eu-west-1", Credentials::new("AKIDEXAMPLE", "secret")), &self.queue, &self.clock);
        pollster::block_on(keep(&self.store, &sqs, QUEUE, Some(APPENDS), Intake::new(ticket))).unwrap()
    }
}

fn sample(name: &str) -> Transcript {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/chat")).join(name);
    decode(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn the_sample_folds_into_exactly_this_ticket() {
    let w = World::new();
    let ChatOutcome::Created { ticket_id } = w.handle(&sample("generic.json")).unwrap() else { panic!("created") };
    let tickets = w.queue.tickets();
    assert_eq!(tickets.len(), 1);
    let t = &tickets[0];
    assert_eq!(t.id, ticket_id);
    assert_eq!(t.source, Source::Chat);
    assert_eq!(t.customer.email.as_deref(), Some("dana.whitfield@example.com"));
    assert_eq!(t.customer.name.as_deref(), Some("Dana Whitfield"));
    assert_eq!(t.subject, "My card was charged twice for the November invoice INV-2291");
    assert_eq!(
        t.body,
        "Visitor (10:01): hi\n\
         Visitor (10:02): My card was charged twice for the November invoice INV-2291\n\
         Visitor (10:02): 1\n\
         Agent Maria (10:03): Sorry about that, Dana. Which card ends in which digits?\n  \
         You can see it under Billing > Cards.\n\
         Visitor (10:05): ends in 4242, both charges on 24 November\n\
         Agent Maria (10:07): Thanks, I'll pass this to billing to refund the duplicate."
    );
    assert_eq!(t.page_url.as_deref(), Some("https://app.example.com/billing/invoices?id=INV-2291"));
    assert_eq!(t.transcript_id.as_deref(), Some("conv-7f3a9c"));
    assert!(t.idempotency_key.starts_with("chat:conv-7f3a9c:"), "{}", t.idempotency_key);
    assert_eq!(t.received_at, "2026-11-26T10:10:00.000Z");
    assert_eq!(t.flags, [TicketFlag::Unverified], "identified visitor: the address is only what they typed");
}

#[test]
fn a_replayed_transcript_is_the_same_ticket_queued_once() {
    let w = World::new();
    let transcript = sample("generic.json");
    let ChatOutcome::Created { ticket_id } = w.handle(&transcript).unwrap() else { panic!("created") };
    w.clock.now.set(w.clock.now() + Duration::from_secs(90));
    assert_eq!(w.handle(&transcript).unwrap(), ChatOutcome::Repeat { ticket_id: ticket_id.clone() });
    assert_eq!(w.handle(&transcript).unwrap(), ChatOutcome::Repeat { ticket_id });
    assert_eq!(w.queue.tickets().len(), 1, "nothing queued twice");
    assert_eq!(w.queue.appends(), 0);
}

#[test]
fn a_longer_transcript_of_the_same_conversation_is_appended_not_dropped_as_a_repeat() {
    let w = World::new();
    let mut transcript = sample("generic.json");
    let ChatOutcome::Created { ticket_id } = w.handle(&transcript).unwrap() else { panic!("created") };
    // The conversation reopens; the tool sends the whole transcript again, with the new turns.
    let mut later = transcript.messages.last().unwrap().clone();
    later.role = tr_core::chat::Role::Visitor;
    later.text = "The refund has not arrived yet, it is still showing twice on my card statement.".into();
    later.time += time::Duration::minutes(30);
    transcript.messages.push(later);
    w.clock.now.set(w.clock.now() + Duration::from_secs(1_800));
    assert_eq!(w.handle(&transcript).unwrap(), ChatOutcome::Appended { ticket_id }, "the new turns are kept");
    assert_eq!(w.queue.tickets().len(), 1, "not a second ticket");
}

#[test]
fn a_retry_after_a_store_failure_gets_the_same_ticket() {
    let w = World::new();
    let transcript = sample("generic.json");
    // The store write fails after the message was stored: the lane must answer "retry", and the retry finish
    // the same job.
    w.store.kv().fail_in(3, tr_core::store::FaultMode::Unacknowledged);
    let err = w.handle(&transcript).unwrap_err();
    assert!(matches!(err, ChatLaneError::Lane(tr_core::lane_error::LaneError::Retry(_))), "{err:?}");
    let ChatOutcome::Created { ticket_id } = w.handle(&transcript).unwrap() else { panic!("created on retry") };
    assert_eq!(w.handle(&transcript).unwrap(), ChatOutcome::Repeat { ticket_id });
    assert_eq!(w.queue.tickets().len(), 1);
}

#[test]
fn resolved_chats_make_nothing_unless_configured() {
    let mut w = World::new();
    let mut transcript = sample("generic.json");
    transcript.resolved = true;
    assert_eq!(w.handle(&transcript).unwrap(), ChatOutcome::Resolved);
    assert!(w.queue.sent.borrow().is_empty());
    assert!(w.store.kv().is_empty(), "nothing stored either");
    w.config.fold.resolved = ResolvedPolicy::CreateTicket;
    assert!(matches!(w.handle(&transcript).unwrap(), ChatOutcome::Created { .. }));
}

#[test]
fn an_anonymous_visitor_is_flagged_and_never_merged_with_an_identified_one() {
    let w = World::new();
    let identified = sample("generic.json");
    let mut anonymous = identified.clone();
    anonymous.conversation_id = "conv-anon-twin".into();
    anonymous.visitor.email = None;
    let ChatOutcome::Created { ticket_id: first } = w.handle(&identified).unwrap() else { panic!("created") };
    let ChatOutcome::Created { ticket_id: second } = w.handle(&anonymous).unwrap() else {
        panic!("the same words from an anonymous visitor must not merge")
    };
    assert_ne!(first, second);
    let anon = sample("generic-anonymous.json");
    let ChatOutcome::Created { ticket_id: third } = w.handle(&anon).unwrap() else { panic!("created") };
    let tickets = w.queue.tickets();
    assert_eq!(tickets.len(), 3);
    assert_eq!(tickets[1].flags, vec![TicketFlag::Anonymous]);
    assert_eq!(tickets[2].id, third);
    assert_eq!(tickets[2].customer.email, None);
    assert_eq!(tickets[2].flags, vec![TicketFlag::Anonymous]);
    assert_eq!(
        tickets[2].body,
        "Visitor (11:20): Checkout keeps failing with error 502 when I pay by card\n\
         Bot (11:20): Have you tried another browser?\n\
         Visitor (11:22): yes, same error"
    );
}

#[test]
fn the_same_visitors_form_about_the_same_problem_merges_into_the_chat_ticket() {
    let w = World::new();
    let ChatOutcome::Created { ticket_id } = w.handle(&sample("generic.json")).unwrap() else { panic!("created") };
    let kept = w.form(
        "dana.whitfield@example.com",
        "Charged twice for invoice INV-2291",
        "My card ending 4242 was charged twice for the November invoice INV-2291. Please refund the duplicate charge.",
    );
    assert_eq!(kept, Kept::Appended { ticket_id });
    assert_eq!(w.queue.tickets().len(), 1, "the form is not a second ticket");
    assert_eq!(w.queue.appends(), 1, "the append is announced for the router");
}

#[test]
fn a_transcript_without_visitor_text_is_refused_typed() {
    let w = World::new();
    let mut empty = sample("generic.json");
    empty.messages.retain(|m| m.role != tr_core::chat::Role::Visitor);
    assert!(matches!(w.handle(&empty), Err(ChatLaneError::Fold(tr_core::chat::FoldError::NoVisitorText))));
    assert!(w.queue.sent.borrow().is_empty());
}

#[test]
fn a_mistyped_visitor_address_keeps_the_conversation_as_an_anonymous_visitors() {
    let w = World::new();
    let mut bad = sample("generic.json");
    bad.visitor.email = Some("ana@gmail".into());
    assert!(matches!(w.handle(&bad), Ok(ChatOutcome::Created { .. })), "the conversation is kept");
    let tickets = w.queue.tickets();
    let ticket = &tickets[0];
    assert_eq!(ticket.customer.email, None);
    assert!(ticket.flags.contains(&TicketFlag::Anonymous));
    assert!(ticket.body.contains("\"ana@gmail\", which is not usable"), "{}", ticket.body);
}
