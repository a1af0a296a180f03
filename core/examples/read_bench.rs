//! Read-stage figures for BENCHMARKS.md: estimated tokens per reading with the default rules sheet, the read
//! lane's own time per ticket (everything but the model call), and the offline reader's leave-one-out agreement
//! with the sheet's examples.
//!
//! Token method (no Claude tokenizer runs offline): input = ceil(characters / 3.5) over the system prompt, the
//! user turn and the JSON schema (`output_config.format`) exactly as sent. Anthropic documents that structured
//! outputs inject a format prompt ("your input token count is slightly higher") but publishes no size for it, so
//! it is not in the estimate; the table shows the headroom left for it under the 700-token goal instead. Output =
//! ceil(characters / 3.5) of the answer's JSON text (a plain text block, no tool_use framing). Check against
//! `usage` from a real call (the read component logs it per ticket).
//!
//! Run: `cargo run --release -p tr-core --example read_bench`

use std::time::{Duration, Instant, SystemTime};

use tr_core::reader::answer::parse_messages_response;
use tr_core::reader::offline::read_text;
use tr_core::reader::prompt::{PromptConfig, reading_schema, system_prompt, ticket_text};
use tr_core::reader::lane::{ReadLane, Reader};
use tr_core::reader::RulesSheet;
use tr_core::store::{Intake, IntakeOutcome, MemoryKv, Store, StoreConfig};
use tr_core::transport::{HttpRequest, HttpResponse, Runtime, Transport, TransportError};
use tr_core::{Credentials, Limits, Source, SqsClient, SqsConfig, ThreadIds, TicketDraft, wire};

/// The issue's goal for input tokens per reading.
const INPUT_GOAL: usize = 700;

fn tokens(chars: usize) -> usize {
    (chars as f64 / 3.5).ceil() as usize
}

struct NoNetwork;
impl Transport for NoNetwork {
    async fn send(&self, _: HttpRequest) -> Result<HttpResponse, TransportError> {
        unreachable!("the offline path makes no request")
    }
}
struct Clock;
impl Runtime for Clock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
    fn random_u64(&self) -> u64 {
        7
    }
    async fn sleep(&self, _: Duration) {}
}

fn main() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../rules/rules.toml");
    let sheet = RulesSheet::parse(&std::fs::read_to_string(path).unwrap(), "rules/rules.toml").unwrap();
    let config = PromptConfig::default();
    let draft = |n: usize, body: &str| TicketDraft {
        source: Source::Form,
        customer_email: Some(format!("c{n}@example.com")),
        customer_name: None,
        subject: "Help with my account".into(),
        body: body.into(),
        page_url: None,
        thread: ThreadIds::default(),
        transcript_id: None,
        idempotency_key: format!("bench-{n}"),
    };

    // Tokens.
    let system = system_prompt(&sheet, &config).chars().count();
    let schema = serde_json::to_string(&reading_schema(&sheet)).unwrap().chars().count();
    let answer = r#"{"topic":"account-access","urgency":"medium","tone":"confused"}"#.len();
    println!("| ticket | system chars | ticket chars | schema chars | input tokens (est.) | headroom under 700 | output tokens (est.) | $ per 1,000 |");
    println!("|---|---|---|---|---|---|---|---|");
    for (name, body) in [
        ("typical (the golden sample, 150 chars)", "Hi, my card was charged twice for the November invoice (INV-2291).\nCould you refund the duplicate charge?\n\nThanks,\nDana".to_owned()),
        ("at the cap (1,200 chars sent)", "word ".repeat(2_000)),
    ] {
        let ticket = draft(0, &body).into_ticket(SystemTime::now(), 1, &Limits::default()).unwrap();
        let user = ticket_text(&ticket, &config).chars().count();
        let input = tokens(system + user + schema);
        let headroom = INPUT_GOAL as i64 - input as i64;
        let output = tokens(answer);
        let dollars = (input as f64 * 1.0 + output as f64 * 5.0) / 1_000_000.0 * 1_000.0;
        println!("| {name} | {system} | {user} | {schema} | {input} | {headroom} | {output} | {dollars:.2} |");
    }

    // Own time per ticket: decode, redelivery check, offline reading (stands in for the call), store write,
    // parse of a model response — everything but the model's network round trip.
    let kv = MemoryKv::new();
    let store = Store::new(&kv, StoreConfig::default());
    let sqs = SqsClient::new(SqsConfig::new("us-east-1", Credentials::new("x", "y")), NoNetwork, Clock);
    let reader: Reader<NoNetwork, Clock> = Reader::Offline;
    let lane = ReadLane { reader: &reader, sheet: &sheet, store: &store, sqs: &sqs, read_queue_url: None, now_ms: 0 };
    let response = br#"{"content":[{"type":"text","text":"{\"topic\":\"billing\",\"urgency\":\"medium\",\"tone\":\"calm\"}"}],"usage":{"input_tokens":600,"output_tokens":18}}"#;
    let n = 2_000;
    let mut messages = Vec::with_capacity(n);
    for i in 0..n {
        let text = &sheet.examples[i % sheet.examples.len()].text;
        let ticket = draft(i, &format!("{text} (ticket {i})")).into_ticket(SystemTime::now(), i as u128, &Limits::default()).unwrap();
        let IntakeOutcome::Created { ticket, .. } = pollster::block_on(store.intake(Intake::new(ticket))).unwrap() else { panic!() };
        messages.push(wire::encode(&ticket));
    }
    let started = Instant::now();
    for m in &messages {
        pollster::block_on(lane.handle_message(m)).unwrap();
        let (answer, _) = parse_messages_response(response, &sheet);
        answer.unwrap();
    }
    let per = started.elapsed().as_secs_f64() * 1e6 / n as f64;
    println!("\nread lane own time per ticket (native, in-memory store, {n} tickets): {per:.1} µs");

    // Leave-one-out agreement of the offline reader with the sheet's examples.
    let (mut topic, mut urgency, mut tone, mut all) = (0, 0, 0, 0);
    for (i, e) in sheet.examples.iter().enumerate() {
        let r = read_text(&sheet, &e.text, Some(i));
        topic += usize::from(r.topic == e.topic);
        urgency += usize::from(r.urgency == e.urgency);
        tone += usize::from(r.tone == e.tone);
        all += usize::from(r.topic == e.topic && r.urgency == e.urgency && r.tone == e.tone);
    }
    let total = sheet.examples.len();
    assert!(total > 0, "the sheet has no examples");
    let pct = |k: usize| 100.0 * k as f64 / total as f64;
    println!("\noffline reader, leave-one-out over {total} examples:");
    println!("| field | agree | % |\n|---|---|---|");
    for (name, k) in [("topic", topic), ("urgency", urgency), ("tone", tone), ("all three", all)] {
        println!("| {name} | {k}/{total} | {:.0} |", pct(k));
    }
}
