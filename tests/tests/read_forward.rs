//! The read lane's forward to the read-tickets queue (moto, SigV4 verified) when it fails after the reading was
//! stored: the redelivered message makes no second reading, and the ticket still reaches the router.

use pollster::block_on;
use tr_core::lane_error::LaneError;
use tr_core::reader::RulesSheet;
use tr_core::reader::lane::{ReadLane, ReadOutcome, Reader};
use tr_core::store::{Intake, IntakeOutcome, MemoryKv, Store, StoreConfig};
use tr_core::{Limits, Source, SqsClient, SqsConfig, ThreadIds, TicketDraft, wire};
use tr_tests::native::{SystemRuntime, UreqTransport};
use tr_tests::services::{Moto, sqs_tool, unique_queue};

#[test]
fn a_ticket_read_but_not_forwarded_is_forwarded_on_redelivery_without_a_second_reading() {
    let moto = Moto::from_env();
    let read_queue = sqs_tool(&["create", &unique_queue("read-forward")]);
    let kv = MemoryKv::new();
    let store = Store::new(&kv, StoreConfig::default());
    let draft = TicketDraft {
        source: Source::Form,
        customer_email: Some("ana@example.com".into()),
        customer_name: None,
        subject: "Refund".into(),
        body: "Please refund the second charge on my card.".into(),
        page_url: None,
        thread: ThreadIds::default(),
        transcript_id: None,
        idempotency_key: "nonce-read-forward".into(),
    };
    let ticket = draft.into_ticket(std::time::SystemTime::now(), 11, &Limits::default()).unwrap();
    let IntakeOutcome::Created { ticket, .. } = block_on(store.intake(Intake::new(ticket))).unwrap() else { panic!() };
    let sheet = RulesSheet::parse(&std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../rules/rules.toml")).unwrap(), "rules.toml").unwrap();
    let sqs_at = |endpoint: &str| {
        let config = SqsConfig::new(&moto.region, moto.credentials.clone()).with_endpoint(endpoint);
        SqsClient::new(config, UreqTransport::default(), SystemRuntime::default())
    };
    let reader = Reader::Offline;
    let body = wire::encode(&ticket);

    // The queue is unreachable: the reading is stored, the message must come back.
    let down = sqs_at("http://127.0.0.1:9");
    let lane = ReadLane { reader: &reader, sheet: &sheet, store: &store, sqs: &down, read_queue_url: Some(&read_queue), now_ms: 0 };
    assert!(matches!(block_on(lane.handle_message(&body)), Err(LaneError::Retry(_))));
    let first = block_on(store.reading_of(&ticket.id)).unwrap().expect("the reading was stored");

    // Redelivered with the queue back: no new reading, and the forward happens.
    let up = sqs_at(&moto.endpoint);
    let lane = ReadLane { sqs: &up, ..lane };
    assert_eq!(block_on(lane.handle_message(&body)).unwrap(), ReadOutcome::AlreadyRead { ticket_id: ticket.id.clone() });
    let got: Vec<serde_json::Value> = serde_json::from_str(&sqs_tool(&["receive", &read_queue, "2", "5"])).unwrap();
    assert_eq!(got.len(), 1, "{got:?}");
    let forwarded = wire::decode(got[0]["body"].as_str().unwrap()).unwrap();
    assert_eq!((forwarded.id.as_str(), forwarded.reading.as_ref()), (ticket.id.as_str(), Some(&first.reading)));
}
