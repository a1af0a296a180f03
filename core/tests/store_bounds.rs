//! Bounded by construction: the worst input for size — every field at its longest, in four-byte characters,
//! the most references, the most participants, a customer's many long posts, a thread replied to until its
//! record is full — and every stored value and every queue message (as the lanes send them, and as the read
//! stage forwards them) stays under its backend's limit: a key-value item under DynamoDB's 400 KB (the
//! customer index under 64 KiB, a record under 256 KiB), an SQS message under 256 KiB. Nothing is refused or
//! lost for size: what does not fit is cut and flagged (the raw mail stays whole in the bucket), and a full
//! ticket's next message starts a ticket that links back.

use std::cell::{Cell, RefCell};
use std::time::{Duration, SystemTime};

use serde_json::Value;
use tr_core::router_events::{self, encode_read_append};
use tr_core::store::lifecycle::MAX_COMMAND_ID;
use tr_core::store::keep::{QueueEvent, decode_event, keep};
use tr_core::store::record::{CUSTOMER_INDEX_BYTES, LinkReason, RECORD_BYTES, TicketRecord};
use tr_core::store::{Intake, MemoryKv, StatusCommand, StatusOutcome, Store, StoreConfig, TicketStatus};
use tr_core::transport::{HttpRequest, HttpResponse, Runtime, Transport, TransportError};
use tr_core::{Credentials, Limits, Reading, Source, SqsClient, SqsConfig, ThreadIds, TicketDraft, TicketFlag, Tone, Urgency};

const QUEUE: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/tr-tickets";
/// SQS's limit (body and attributes), and DynamoDB's item limit (key and value).
const SQS_LIMIT: usize = 256 * 1024;
const DYNAMODB_ITEM: usize = 400 * 1024;
/// Replies to the worst mail: enough to fill its record (about 5 KB each: a subject and a Message-ID of
/// four-byte characters).
const REPLIES: usize = 60;
/// A four-byte character.
const X: &str = "𝒳";

#[derive(Default)]
struct RecordingQueue {
    bodies: RefCell<Vec<String>>,
}

impl Transport for RecordingQueue {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let body: Value = serde_json::from_slice(request.body()).unwrap();
        self.bodies.borrow_mut().push(body["MessageBody"].as_str().unwrap().to_owned());
        Ok(http::Response::builder().status(200).body(br#"{"MessageId":"m-1"}"#.to_vec()).unwrap())
    }
}

struct Clock {
    now: Cell<SystemTime>,
    random: Cell<u64>,
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
}

impl World {
    fn new() -> Self {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_687_800);
        Self {
            queue: RecordingQueue::default(),
            clock: Clock { now: Cell::new(start), random: Cell::new(1) },
            store: Store::new(MemoryKv::new(), StoreConfig::default()),
        }
    }

    /// One intake through `keep`, as a lane runs it; a minute later than the last.
    fn keep(&self, draft: TicketDraft, raw_body: Option<&str>, participants: &[String]) {
        self.clock.now.set(self.clock.now.get() + Duration::from_secs(60));
        let ticket = draft.into_ticket(self.clock.now(), u128::from(self.clock.random_u64()), &Limits::default()).unwrap();
        let mut intake = Intake::new(ticket);
        if let Some(raw) = raw_body {
            intake = intake.with_raw_body(raw);
        }
        intake.participants = participants.to_vec();
        let sqs = SqsClient::new(SqsConfig::new("eu-west-1", Credentials::new("AKIDEXAMPLE", "secret")), &self.queue, &self.clock);
        pollster::block_on(keep(&self.store, &sqs, QUEUE, None, intake)).expect("kept: nothing is refused for size");
    }

    /// Every stored value under its limit; the largest of each kind, for the report.
    fn check_store(&self, largest: &mut [usize; 3]) {
        for (key, value) in self.store.kv().snapshot() {
            assert!(key.len() + value.len() <= DYNAMODB_ITEM, "{key}: {} bytes", value.len());
            let (slot, limit) = match &key[..5] {
                "tr/c/" => (0, CUSTOMER_INDEX_BYTES),
                "tr/t/" => (1, RECORD_BYTES),
                _ => (2, DYNAMODB_ITEM),
            };
            assert!(value.len() <= limit, "{key}: {} bytes over {limit}", value.len());
            largest[slot] = largest[slot].max(value.len());
        }
    }
}

fn long_id(n: usize) -> String {
    format!("{n}{}@{X}.example", X.repeat(980))
}

fn worst_email(from: &str, message_id: String, in_reply_to: Option<String>, n: usize) -> TicketDraft {
    // Identifiers (words with digits are never shortened to five letters), in four-byte characters.
    let body: String = (0..2_000).map(|i| format!("{n}{i}{} ", X.repeat(20))).collect();
    TicketDraft {
        source: Source::Email,
        customer_email: Some(from.into()),
        customer_name: Some(X.repeat(400)),
        subject: format!("{n}{}", X.repeat(400)),
        body,
        page_url: None,
        transcript_id: None,
        // As the email lane keys it: the Message-ID, or a digest when it is too long to be a key.
        idempotency_key: tr_core::email::idempotency_key(Some(&message_id), message_id.as_bytes()),
        thread: ThreadIds { message_id: Some(message_id), in_reply_to, references: (0..80).map(long_id).collect() },
    }
}

fn participants() -> Vec<String> {
    (0..60).map(|i| format!("p{i:0>63}@{}.{}.{}.com", "b".repeat(60), "c".repeat(60), "d".repeat(60))).collect()
}

#[test]
fn the_worst_input_keeps_every_item_and_message_under_its_limit() {
    let w = World::new();
    let mut largest = [0usize; 3];
    let raw: String = format!("{}\n> {}", X.repeat(40_000), X.repeat(60_000));

    // A mail with every field at its longest, then the same customer's replies until the ticket is full.
    let root = long_id(1_000);
    w.keep(worst_email("ana@acme.example", root.clone(), None, 0), Some(&raw), &participants());
    w.check_store(&mut largest);
    for n in 1..=REPLIES {
        w.keep(worst_email("ana@acme.example", long_id(2_000 + n), Some(root.clone()), n), Some(&raw), &participants());
        w.check_store(&mut largest);
    }

    // Another customer's many long posts (each its own problem: distinct identifiers), by form.
    for n in 0..24 {
        let body: String = (0..2_000).map(|i| format!("{}{n}x{i}y ", X.repeat(12))).collect();
        let draft = TicketDraft {
            source: Source::Form,
            customer_email: Some("bo@other.example".into()),
            customer_name: Some(X.repeat(400)),
            subject: format!("{n}{}", X.repeat(400)),
            body,
            page_url: Some(format!("https://www.example.com/{}", "p".repeat(2_000))),
            thread: ThreadIds::default(),
            transcript_id: None,
            idempotency_key: format!("form:{n}{}", X.repeat(400)),
        };
        w.keep(draft, None, &[]);
        w.check_store(&mut largest);
    }

    // The record filled up: later replies started tickets that link back, none was refused or lost.
    let snapshot = w.store.kv().snapshot();
    let records: Vec<TicketRecord> =
        snapshot.iter().filter(|(k, _)| k.starts_with("tr/t/")).map(|(_, v)| serde_json::from_slice(v).unwrap()).collect();
    let full = records.iter().filter(|r| r.links.iter().any(|l| l.reason == LinkReason::Full)).count();
    assert!(full > 0, "the replies filled the first ticket's record");
    let listed: usize = records.iter().map(|r| r.messages.len()).sum();
    assert_eq!(listed, 1 + REPLIES + 24, "every message is on a ticket");
    let messages = snapshot.keys().filter(|k| k.starts_with("tr/m/")).count();
    assert!(messages > REPLIES + 24, "every message is stored: {messages}");

    // Every queue message, as sent and as the read stage forwards it (with a reading and every flag).
    let reading = Reading { topic: "billing".into(), urgency: Urgency::High, tone: Tone::Angry };
    let (mut tickets, mut appends, mut largest_sent) = (0, 0, 0);
    for body in w.queue.bodies.borrow().iter() {
        assert!(body.len() <= SQS_LIMIT, "sent {} bytes", body.len());
        largest_sent = largest_sent.max(body.len());
        let forwarded = match decode_event(body).unwrap() {
            QueueEvent::Ticket(mut t) => {
                tickets += 1;
                t.reading = Some(reading.clone());
                t.flags = TicketFlag::ALL.to_vec();
                router_events::ticket_message(&t).body
            }
            QueueEvent::Append(a) => {
                appends += 1;
                encode_read_append(&a, &reading, &TicketFlag::ALL)
            }
            QueueEvent::Status(_) => unreachable!("the lanes send no status command"),
        };
        assert!(forwarded.len() <= SQS_LIMIT, "forwarded {} bytes", forwarded.len());
        largest_sent = largest_sent.max(forwarded.len());
    }
    assert_eq!(tickets + appends, 1 + REPLIES + 24);

    // The router closes the full ticket with the longest command id: the record still fits.
    let full_record = records.iter().find(|r| r.is_full()).expect("a full record");
    let command_id = "c".repeat(MAX_COMMAND_ID);
    let close = StatusCommand::new(&full_record.ticket.id, TicketStatus::Closed, &command_id, SystemTime::UNIX_EPOCH + Duration::from_secs(4_000_000_000)).unwrap();
    let ack = pollster::block_on(w.store.set_status(&close)).unwrap().expect("the ticket exists");
    assert_eq!(ack.outcome, StatusOutcome::Applied);
    let stored = w.store.kv().snapshot()[&format!("tr/t/{}", full_record.ticket.id)].clone();
    assert!(stored.len() <= RECORD_BYTES, "record after a status change: {} bytes", stored.len());
    assert!(router_events::status_ack_message(&ack).size_bytes() <= SQS_LIMIT);
    assert!(appends > 0 && tickets > 1);
    let first: Value = serde_json::from_str(&w.queue.bodies.borrow()[0]).unwrap();
    let flags = first["ticket"]["flags"].as_array().unwrap();
    assert!(flags.contains(&Value::from("references-cut")), "{flags:?}");
    assert_eq!(first["ticket"]["body_truncated"], true);
    println!(
        "worst input: {} intakes ({tickets} tickets, {appends} appends, {full} full-linked); largest customer index {} B, \
         record {} B, other item {} B, queue message {} B",
        tickets + appends,
        largest[0],
        largest[1],
        largest[2],
        largest_sent
    );
}
