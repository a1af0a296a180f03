//! The read path against ministack's Bedrock runtime, an independent emulator that answers InvokeModel in the
//! real Anthropic Messages response shape. Its model ignores `output_config` (ministack 1.5 reads only the
//! messages) and answers a canned prose `text` block, i.e. what a response outside the JSON schema looks like.
//! What must hold: our client reaches it and parses that shape (usage counted), and prose is never taken as a
//! reading — one retry, then `unsure` with the `read-error` flag on the stored ticket.

use pollster::block_on;
use tr_core::reader::answer::AnswerError;
use tr_core::reader::model_client::{DEFAULT_BEDROCK_MODEL, ModelClient, Provider};
use tr_core::reader::prompt::PromptConfig;
use tr_core::reader::lane::{ReadBy, ReadLane, ReadOutcome, Reader};
use tr_core::reader::{RulesSheet, UNSURE};
use tr_core::store::{Intake, IntakeOutcome, MemoryKv, Store, StoreConfig};
use tr_core::{Credentials, Limits, Source, SqsClient, SqsConfig, ThreadIds, TicketDraft, TicketFlag, wire};
use tr_tests::native::{SystemRuntime, UreqTransport};
use tr_tests::services::ministack_endpoint;

fn sheet() -> RulesSheet {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../rules/rules.toml");
    RulesSheet::parse(&std::fs::read_to_string(path).unwrap(), "rules/rules.toml").unwrap()
}

fn client() -> ModelClient<UreqTransport, SystemRuntime> {
    let provider = Provider::Bedrock {
        region: "us-east-1".into(),
        endpoint: Some(ministack_endpoint()),
        model_id: DEFAULT_BEDROCK_MODEL.into(),
        credentials: Credentials::new("test", "test"),
    };
    ModelClient::new(provider, PromptConfig::default(), UreqTransport::default(), SystemRuntime::default())
}

fn ticket() -> tr_core::Ticket {
    let draft = TicketDraft {
        source: Source::Form,
        customer_email: Some("ana@example.com".into()),
        customer_name: Some("Ana".into()),
        subject: "Refund".into(),
        body: "Please refund the second charge on my card.".into(),
        page_url: None,
        thread: ThreadIds::default(),
        transcript_id: None,
        idempotency_key: "nonce-ministack-1".into(),
    };
    draft.into_ticket(std::time::SystemTime::now(), 7, &Limits::default()).unwrap()
}

#[test]
fn ministack_answers_in_the_real_shape_and_a_prose_reply_is_not_a_reading() {
    let call = block_on(client().read(&sheet(), &ticket())).expect("ministack answered");
    assert!(call.usage.output_tokens > 0, "usage parsed from the response: {:?}", call.usage);
    assert_eq!(call.answer, Err(AnswerError::NoAnswer), "prose, not the schema's JSON object, is not a reading");
}

#[test]
fn two_unusable_answers_make_an_unsure_reading_flagged_read_error_on_the_stored_ticket() {
    let kv = MemoryKv::new();
    let store = Store::new(&kv, StoreConfig::default());
    let IntakeOutcome::Created { ticket, .. } = block_on(store.intake(Intake::new(ticket()))).unwrap() else {
        panic!("a new ticket")
    };
    let reader = Reader::Model { client: client(), offline_fallback: false };
    let sqs = SqsClient::new(
        SqsConfig::new("us-east-1", Credentials::new("unused", "unused")).with_endpoint("http://127.0.0.1:9"),
        UreqTransport::default(),
        SystemRuntime::default(),
    );
    let sheet = sheet();
    let lane = ReadLane { reader: &reader, sheet: &sheet, store: &store, sqs: &sqs, read_queue_url: None, now_ms: 0 };
    let outcome = block_on(lane.handle_message(&wire::encode(&ticket))).unwrap();
    let ReadOutcome::Read { reading, flags, by, calls, stored, error, .. } = outcome else { panic!("read expected") };
    assert_eq!((reading.topic.as_str(), by, calls, stored), (UNSURE, ReadBy::Model, 2, true));
    assert_eq!(flags, [TicketFlag::ReadError]);
    assert!(error.unwrap().contains("invalid answer twice"));
    let record = block_on(store.load(&ticket.id)).unwrap().unwrap().record;
    assert_eq!(record.ticket.reading.unwrap().topic, UNSURE);
    assert_eq!(record.ticket.flags, [TicketFlag::ReadError]);

    // Redelivered: no third call.
    assert_eq!(block_on(lane.handle_message(&wire::encode(&ticket))).unwrap(), ReadOutcome::AlreadyRead { ticket_id: ticket.id });
}
