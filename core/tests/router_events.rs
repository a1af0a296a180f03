//! The router contract, on real events: tickets and appends kept by the lanes' last step ([`keep`]) and the
//! router's status commands go through the read lane (offline reader, in-memory store, a recording fake SQS),
//! and every event it puts on the read queue must validate against `docs/router-events.schema.json` — a strict
//! copy of it, so a field the schema does not document fails too. Each event carries a stable `event_id`, the
//! same on every re-send and the FIFO deduplication id; a status command is applied, acknowledged, idempotent,
//! and refused for good when its ticket is unknown.

mod common;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, SystemTime};

use common::*;
use serde_json::{Value, json};
use tr_core::lane_error::LaneError;
use tr_core::reader::RulesSheet;
use tr_core::reader::lane::{READ_CLAIM_LEASE, ReadLane, ReadOutcome, Reader};
use tr_core::store::keep::{Kept, keep};
use tr_core::store::{Intake, MemoryKv, StatusCommand, StatusOutcome, Store, StoreConfig, TicketStatus};
use tr_core::transport::{HttpRequest, HttpResponse, Runtime, Transport, TransportError};
use tr_core::{Credentials, SqsClient, SqsConfig, TicketFlag, wire};

const TICKETS: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/tr-tickets";
/// FIFO, so the client sends the deduplication id and the group.
const READ: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/tr-read-tickets.fifo";

const EXPORT: &str = "Since this morning the CSV export of the Projects report fails with \"Export failed, try again \
    later\". It worked fine last week. We need the export for our monthly client billing.";

/// One SendMessage as SQS received it.
#[derive(Debug, Clone)]
struct Sent {
    queue: String,
    body: String,
    dedup: Option<String>,
    group: Option<String>,
    attributes: BTreeMap<String, String>,
}

/// Answers every SendMessage with success and keeps it.
#[derive(Default)]
struct RecordingQueue {
    sent: RefCell<Vec<Sent>>,
}

impl Transport for RecordingQueue {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        assert_eq!(request.headers()["x-amz-target"], "AmazonSQS.SendMessage");
        let call: Value = serde_json::from_slice(request.body()).unwrap();
        let text = |k: &str| call[k].as_str().map(str::to_owned);
        let attributes = call["MessageAttributes"]
            .as_object()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v["StringValue"].as_str().unwrap().to_owned())).collect())
            .unwrap_or_default();
        self.sent.borrow_mut().push(Sent {
            queue: text("QueueUrl").unwrap(),
            body: text("MessageBody").unwrap(),
            dedup: text("MessageDeduplicationId"),
            group: text("MessageGroupId"),
            attributes,
        });
        let id = self.sent.borrow().len();
        Ok(http::Response::builder().status(200).body(format!(r#"{{"MessageId":"m-{id}"}}"#).into_bytes()).unwrap())
    }
}

impl RecordingQueue {
    fn on(&self, queue: &str) -> Vec<Sent> {
        self.sent.borrow().iter().filter(|s| s.queue == queue).cloned().collect()
    }
}

struct Now;
impl Runtime for Now {
    fn now(&self) -> SystemTime {
        at_minutes(0)
    }
    fn random_u64(&self) -> u64 {
        7
    }
    async fn sleep(&self, _: Duration) {}
}

struct World {
    queue: RecordingQueue,
    store: Store<MemoryKv>,
    sheet: RulesSheet,
    lane: Lane,
}

impl World {
    fn new() -> Self {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../rules/rules.toml");
        let sheet = RulesSheet::parse(&std::fs::read_to_string(path).unwrap(), "rules/rules.toml").unwrap();
        Self { queue: RecordingQueue::default(), store: Store::new(MemoryKv::new(), StoreConfig::default()), sheet, lane: Lane::default() }
    }

    fn sqs(&self) -> SqsClient<&RecordingQueue, Now> {
        SqsClient::new(SqsConfig::new("eu-west-1", Credentials::new("AKIDEXAMPLE", "secret")), &self.queue, Now)
    }

    /// An intake through the lanes' last step: the ticket or its append event onto the ticket queue.
    fn keep(&self, intake: Intake) -> Kept {
        pollster::block_on(keep(&self.store, &self.sqs(), TICKETS, None, intake)).unwrap()
    }

    /// One ticket-queue message through the read lane (offline reader), forwarding to the FIFO read queue.
    fn read(&self, body: &str) -> Result<ReadOutcome, LaneError> {
        let sqs = self.sqs();
        let reader = Reader::Offline;
        let lane = ReadLane { reader: &reader, sheet: &self.sheet, store: &self.store, sqs: &sqs, read_queue_url: Some(READ), now_ms: 0 };
        pollster::block_on(lane.handle_message(body))
    }

    /// The ticket queue's newest message.
    fn last_on_tickets(&self) -> String {
        self.queue.on(TICKETS).last().expect("something was queued").body.clone()
    }
}

fn schema() -> Value {
    let path = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/router-events.schema.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The published schema lets a consumer ignore fields added later; this copy refuses any field it does not
/// name, so an event field the schema forgot fails the test.
fn strict(mut schema: Value) -> Value {
    fn walk(node: &mut Value) {
        match node {
            Value::Object(map) => {
                if map.contains_key("properties") {
                    map.insert("unevaluatedProperties".into(), Value::Bool(false));
                }
                map.values_mut().for_each(walk);
            }
            Value::Array(items) => items.iter_mut().for_each(walk),
            _ => {}
        }
    }
    walk(&mut schema);
    schema
}

fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::options().should_validate_formats(true).build(schema).expect("the schema is valid draft 2020-12")
}

fn errors(validator: &jsonschema::Validator, event: &Value) -> Vec<String> {
    validator.iter_errors(event).map(|e| format!("{e} at {}", e.instance_path)).collect()
}

/// The story of one ticket, as real messages: Ana's email (read), her reply (appended), the router solves it,
/// Ana replies again (reopens it), her form post on the same problem (a duplicate), and two more tickets of
/// other shapes (a masked form post, an anonymous chat). Returns the ticket-queue messages in order.
fn story(w: &World) -> Vec<String> {
    let ana = "ana@acme.example";
    let mut on_tickets = Vec::new();
    let Kept::Created { ticket_id } = w.keep(w.lane.intake(email(ana, "CSV export fails", EXPORT, "m1@acme"), 0)) else { panic!() };
    on_tickets.push(w.last_on_tickets());
    let reply1 = reply(email(ana, "Re: CSV export fails", "Still failing this morning.", "m2@acme"), Some("m1@acme"), &["m1@acme"]);
    assert!(matches!(w.keep(w.lane.intake(reply1, 5)), Kept::Appended { .. }));
    let append = w.last_on_tickets();
    on_tickets.push(append.clone());

    // The append arrives before its ticket: held (retried later), nothing reaches the router yet.
    assert!(matches!(w.read(&append), Err(LaneError::Retry(_))));
    assert!(w.queue.on(READ).is_empty());
    assert!(matches!(w.read(&on_tickets[0]).unwrap(), ReadOutcome::Read { .. }));
    assert!(matches!(w.read(&append).unwrap(), ReadOutcome::AppendForwarded { .. }));

    // The router solves it: the command on the ticket queue, applied and acknowledged.
    let solve = StatusCommand::new(&ticket_id, TicketStatus::Solved, "01KBSOLVE0000000000000000A", at_minutes(10)).unwrap();
    on_tickets.push(solve.encode());
    let ReadOutcome::StatusAcknowledged(ack) = w.read(&solve.encode()).unwrap() else { panic!("acknowledged") };
    assert_eq!((ack.outcome, ack.status), (StatusOutcome::Applied, TicketStatus::Solved));

    // Ana answers a day later: the ticket reopens, and the forwarded append says so.
    let reply2 = reply(email(ana, "Re: CSV export fails", "No, it is not fixed.", "m3@acme"), Some("m1@acme"), &["m1@acme"]);
    assert!(matches!(w.keep(w.lane.intake(reply2, 10 + 24 * 60)), Kept::Appended { .. }));
    on_tickets.push(w.last_on_tickets());
    w.read(on_tickets.last().unwrap()).unwrap();
    // Her form post on the same problem: a duplicate, merged into the open ticket.
    assert!(matches!(w.keep(w.lane.intake(form(ana, "CSV export fails", EXPORT, "nonce-1"), 10 + 24 * 60 + 5)), Kept::Appended { .. }));
    on_tickets.push(w.last_on_tickets());
    w.read(on_tickets.last().unwrap()).unwrap();

    // Other shapes: a form post with a card number (masked), an anonymous chat.
    let card = form("bo@other.example", "Refund", "Please refund card 4111 1111 1111 1111, charged twice.", "nonce-2");
    assert!(matches!(w.keep(w.lane.intake(card, 30)), Kept::Created { .. }));
    on_tickets.push(w.last_on_tickets());
    w.read(on_tickets.last().unwrap()).unwrap();
    assert!(matches!(w.keep(w.lane.intake(chat(None, "[10:02] Visitor: how do I change my plan?", "conv-9"), 40)), Kept::Created { .. }));
    on_tickets.push(w.last_on_tickets());
    w.read(on_tickets.last().unwrap()).unwrap();
    on_tickets
}

#[test]
fn every_event_the_read_lane_sends_validates_against_the_schema() {
    let w = World::new();
    story(&w);
    let v = validator(&strict(schema()));
    let sent = w.queue.on(READ);
    let kinds: Vec<String> = sent.iter().map(|s| serde_json::from_str::<Value>(&s.body).unwrap()["event"].as_str().unwrap().to_owned()).collect();
    assert_eq!(kinds, ["ticket", "append", "status-ack", "append", "append", "ticket", "ticket"]);
    for s in &sent {
        let event: Value = serde_json::from_str(&s.body).unwrap();
        let errs = errors(&v, &event);
        assert!(errs.is_empty(), "{} refused: {errs:?}\n{event:#}", event["event"]);
    }
    // What the story was meant to cover is in what was validated.
    let all: Vec<Value> = sent.iter().map(|s| serde_json::from_str(&s.body).unwrap()).collect();
    assert_eq!(all[3]["append"]["merge"]["reopened"], true);
    assert_eq!(all[4]["append"]["merge"]["reason"], "duplicate");
    assert_eq!(all[5]["ticket"]["masked"][0]["kind"], "card");
    assert!(all[6]["ticket"]["customer"]["email"].is_null());
    assert_eq!(all[2]["status_ack"]["outcome"], "applied");
}

#[test]
fn each_event_has_a_stable_id_that_is_also_its_fifo_deduplication_id() {
    let w = World::new();
    let on_tickets = story(&w);
    let first = w.queue.on(READ);
    let ids: Vec<String> = first.iter().map(|s| serde_json::from_str::<Value>(&s.body).unwrap()["event_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), ids.len(), "different events never share an id: {ids:?}");
    for (s, id) in first.iter().zip(&ids) {
        let event: Value = serde_json::from_str(&s.body).unwrap();
        let (kind, ticket_id) = match event["event"].as_str().unwrap() {
            "ticket" => (format!("ticket-{}", event["ticket"]["id"].as_str().unwrap()), event["ticket"]["id"].clone()),
            "append" => (format!("append-{}", event["append"]["message"]["id"].as_str().unwrap()), event["append"]["ticket_id"].clone()),
            "status-ack" => {
                let ack = &event["status_ack"];
                (format!("status-{}-{}", ack["ticket_id"].as_str().unwrap(), ack["command_id"].as_str().unwrap()), ack["ticket_id"].clone())
            }
            other => panic!("unexpected event {other}"),
        };
        assert_eq!(id, &kind);
        assert_eq!(s.dedup.as_deref(), Some(id.as_str()), "the FIFO deduplication id is the event id");
        assert_eq!(s.group.as_deref(), ticket_id.as_str(), "one ticket's events share a FIFO group");
        assert_eq!(s.attributes["event"], event["event"].as_str().unwrap());
        assert_eq!(s.attributes["ticket-id"], ticket_id.as_str().unwrap());
    }

    // Every ticket-queue message delivered again (a redelivery, a dead-letter replay): the same events, by id,
    // and the same bodies for the tickets and appends; no model call for a ticket already read.
    for body in &on_tickets {
        let outcome = w.read(body).unwrap();
        assert!(!matches!(outcome, ReadOutcome::Read { .. }), "{outcome:?}");
    }
    let again = &w.queue.on(READ)[first.len()..];
    let again_ids: Vec<String> = again.iter().map(|s| serde_json::from_str::<Value>(&s.body).unwrap()["event_id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(again_ids.iter().collect::<BTreeSet<_>>(), ids.iter().collect::<BTreeSet<_>>());
    for s in again.iter().filter(|s| !s.body.contains("\"status-ack\"")) {
        assert!(first.iter().any(|f| f.body == s.body), "a re-sent ticket or append is the same event: {}", s.body);
    }
    // The command, re-delivered after Ana's reply reopened the ticket, is acknowledged under its id as superseded.
    let ack: Value = serde_json::from_str(&again.iter().find(|s| s.body.contains("\"status-ack\"")).unwrap().body).unwrap();
    assert_eq!((ack["status_ack"]["outcome"].as_str(), ack["status_ack"]["status"].as_str()), (Some("superseded"), Some("open")));
}

#[test]
fn a_reader_of_the_older_ticket_envelope_still_reads_the_read_ticket() {
    let w = World::new();
    story(&w);
    let first = &w.queue.on(READ)[0];
    let ticket = wire::decode(&first.body).expect("additive fields only");
    let event: Value = serde_json::from_str(&first.body).unwrap();
    assert_eq!(serde_json::to_value(&ticket).unwrap(), event["ticket"]);
    assert!(ticket.reading.is_some());
}

#[test]
fn a_status_command_is_applied_once_and_acknowledged_every_time() {
    let w = World::new();
    let Kept::Created { ticket_id } = w.keep(w.lane.intake(form("ana@acme.example", "CSV export fails", EXPORT, "nonce-1"), 0)) else { panic!() };
    w.read(&w.last_on_tickets()).unwrap();
    let close = StatusCommand::new(&ticket_id, TicketStatus::Closed, "c-1", at_minutes(10)).unwrap().encode();

    w.store.kv().reset_counts();
    let ReadOutcome::StatusAcknowledged(first) = w.read(&close).unwrap() else { panic!() };
    let writes = |c: tr_core::store::OpCounts| c.set + c.swap + c.delete;
    assert_eq!(writes(w.store.kv().counts()), 1);
    w.store.kv().reset_counts();
    let ReadOutcome::StatusAcknowledged(second) = w.read(&close).unwrap() else { panic!() };
    assert_eq!(writes(w.store.kv().counts()), 0, "the same command again writes nothing");
    assert_eq!((first.outcome, &first), (StatusOutcome::Applied, &second));
    let acks: Vec<Sent> = w.queue.on(READ).into_iter().filter(|s| s.attributes["event"] == "status-ack").collect();
    assert_eq!(acks.len(), 2, "acknowledged both times");
    assert_eq!((acks[0].body.as_str(), acks[0].dedup.as_deref()), (acks[1].body.as_str(), acks[1].dedup.as_deref()));
    assert_eq!(acks[0].dedup.as_deref(), Some(format!("status-{ticket_id}-c-1").as_str()));

    // Closed: the same customer's same words make a new ticket, which the read lane reads (one model call).
    assert!(matches!(w.keep(w.lane.intake(form("ana@acme.example", "CSV export fails", EXPORT, "nonce-2"), 20)), Kept::Created { .. }));
    assert!(matches!(w.read(&w.last_on_tickets()).unwrap(), ReadOutcome::Read { .. }));
}

#[test]
fn a_command_for_an_unknown_ticket_fails_for_good_and_sends_nothing() {
    let w = World::new();
    let unknown = StatusCommand::new("01KB0Y3J5V6N2Q8R9S0T1V2W3X", TicketStatus::Solved, "c-1", at_minutes(1)).unwrap();
    let outcome = w.read(&unknown.encode());
    assert!(matches!(&outcome, Err(LaneError::Permanent(why)) if why.contains("no ticket 01KB0Y3J5V6N2Q8R9S0T1V2W3X")), "{outcome:?}");
    // Malformed commands are refused the same way, before the store is asked.
    let bad_id = unknown.encode().replace("\"c-1\"", "\"c 1\"");
    assert!(matches!(w.read(&bad_id), Err(LaneError::Permanent(_))));
    let bad_time = unknown.encode().replace(&unknown.at, "yesterday");
    assert!(matches!(w.read(&bad_time), Err(LaneError::Permanent(_))));
    assert!(w.queue.on(READ).is_empty());
    assert!(w.store.kv().snapshot().is_empty());
}

#[test]
fn the_schema_refuses_events_without_an_id_or_of_another_version_or_shape() {
    let w = World::new();
    story(&w);
    let v = validator(&schema());
    let events: Vec<Value> = w.queue.on(READ).iter().map(|s| serde_json::from_str(&s.body).unwrap()).collect();
    let of = |kind: &str| events.iter().find(|e| e["event"] == kind).unwrap().clone();
    let edited = |mut e: Value, edit: &dyn Fn(&mut Value)| {
        edit(&mut e);
        e
    };
    for kind in ["ticket", "append", "status-ack"] {
        let event = of(kind);
        assert!(errors(&v, &event).is_empty(), "{kind}: the real event is valid");
        for (why, bad) in [
            ("no event_id", edited(event.clone(), &|e| drop(e.as_object_mut().unwrap().remove("event_id")))),
            ("version 2", edited(event.clone(), &|e| e["v"] = json!(2))),
            ("no version", edited(event.clone(), &|e| drop(e.as_object_mut().unwrap().remove("v")))),
            ("another kind's id", edited(event.clone(), &|e| e["event_id"] = json!(format!("other-{}", &e["event_id"].as_str().unwrap()[7..])))),
            ("unknown event", edited(event.clone(), &|e| e["event"] = json!("close"))),
        ] {
            assert!(!errors(&v, &bad).is_empty(), "{kind} with {why} must be refused: {bad}");
        }
    }
    let unread = edited(of("ticket"), &|e| e["ticket"]["reading"] = Value::Null);
    assert!(!errors(&v, &unread).is_empty(), "a ticket reaches the router read");
    let maybe = edited(of("status-ack"), &|e| e["status_ack"]["outcome"] = json!("maybe"));
    assert!(!errors(&v, &maybe).is_empty());
    let reopened_false = edited(of("append"), &|e| e["append"]["merge"]["reopened"] = json!(false));
    assert!(!errors(&v, &reopened_false).is_empty(), "reopened is absent unless true");
    // The published schema tolerates fields added later; the strict copy the tests use does not.
    let added = edited(of("append"), &|e| e["append"]["message"]["new_field"] = json!(1));
    assert!(errors(&v, &added).is_empty());
    assert!(!errors(&validator(&strict(schema())), &added).is_empty());
}

#[test]
fn the_status_command_the_router_sends_is_in_the_schema_too() {
    let mut command_schema = schema();
    command_schema["oneOf"] = json!([{ "$ref": "#/$defs/status_command" }]);
    let v = validator(&strict(command_schema));
    let command = StatusCommand::new("01KB0Y3J5V6N2Q8R9S0T1V2W3X", TicketStatus::Closed, "01J9ZC6ZQ8X1V2W3X4Y5Z6A7B8", at_minutes(3)).unwrap();
    let encoded: Value = serde_json::from_str(&command.encode()).unwrap();
    assert!(errors(&v, &encoded).is_empty(), "{encoded}");
    for bad in [
        json!({"v": 1, "event": "status", "status": {"ticket_id": "01KB0Y3J5V6N2Q8R9S0T1V2W3X", "status": "pending", "command_id": "c", "at": "2026-11-27T10:00:00Z"}}),
        json!({"v": 1, "event": "status", "status": {"ticket_id": "01KB0Y3J5V6N2Q8R9S0T1V2W3X", "status": "closed", "at": "2026-11-27T10:00:00Z"}}),
        json!({"v": 1, "event": "status", "status": {"ticket_id": "01KB0Y3J5V6N2Q8R9S0T1V2W3X", "status": "closed", "command_id": "c", "at": "yesterday"}}),
    ] {
        assert!(!errors(&v, &bad).is_empty(), "{bad}");
    }
}

#[test]
fn the_schemas_lists_match_the_code() {
    let schema = schema();
    let names = |values: Vec<Value>| values.into_iter().map(|v| v.as_str().unwrap().to_owned()).collect::<Vec<_>>();
    let flags: Vec<Value> = TicketFlag::ALL.iter().map(|f| serde_json::to_value(f).unwrap()).collect();
    assert_eq!(names(schema["$defs"]["flag"]["enum"].as_array().unwrap().clone()), names(flags));
    let statuses: Vec<Value> =
        [TicketStatus::Open, TicketStatus::Solved, TicketStatus::Closed].iter().map(|s| serde_json::to_value(s).unwrap()).collect();
    assert_eq!(names(schema["$defs"]["status"]["enum"].as_array().unwrap().clone()), names(statuses));
    let outcomes: Vec<Value> = [StatusOutcome::Applied, StatusOutcome::Unchanged, StatusOutcome::Superseded]
        .iter()
        .map(|s| serde_json::to_value(s).unwrap())
        .collect();
    let ack = &schema["$defs"]["status_ack_event"]["properties"]["status_ack"]["properties"];
    assert_eq!(names(ack["outcome"]["enum"].as_array().unwrap().clone()), names(outcomes));
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
}

/// Two deliveries of one ticket at once (SQS delivers at least once; a lane may send a ticket twice): the one that
/// finds the other's claim on the reading waits (retry, nothing sent), then finds the reading and only forwards it.
/// A claim older than the lease (its reader died) no longer holds anyone off.
#[test]
fn a_delivery_finding_another_reading_the_ticket_waits_and_then_reads_nothing_again() {
    let w = World::new();
    let Kept::Created { ticket_id } = w.keep(w.lane.intake(email("ana@acme.example", "CSV export fails", EXPORT, "m1@acme"), 0)) else {
        panic!()
    };
    let body = w.last_on_tickets();
    // The other delivery holds the claim (it is reading, at the same instant).
    assert!(pollster::block_on(w.store.claim_reading(&ticket_id, 0, READ_CLAIM_LEASE)).unwrap());
    let waiting = w.read(&body);
    assert!(matches!(&waiting, Err(LaneError::Retry(why)) if why.contains("being read")), "{waiting:?}");
    assert!(w.queue.on(READ).is_empty(), "nothing forwarded while the other delivery reads");
    assert!(pollster::block_on(w.store.reading_of(&ticket_id)).unwrap().is_none());
    // A claim past the lease is taken over.
    let lease_ms = READ_CLAIM_LEASE.as_millis() as i64;
    assert!(!pollster::block_on(w.store.claim_reading(&ticket_id, lease_ms - 1, READ_CLAIM_LEASE)).unwrap());
    assert!(pollster::block_on(w.store.claim_reading(&ticket_id, lease_ms, READ_CLAIM_LEASE)).unwrap());
    // Released (the reader failed): the next delivery reads at once, and a later one forwards without reading.
    pollster::block_on(w.store.release_reading(&ticket_id)).unwrap();
    assert!(matches!(w.read(&body).unwrap(), ReadOutcome::Read { .. }));
    assert!(matches!(w.read(&body).unwrap(), ReadOutcome::AlreadyRead { .. }));
    assert_eq!(w.queue.on(READ).len(), 2, "the ticket, then the same ticket again for the redelivery");
}
