//! Masking through every lane end to end, natively: an email (S3 event → S3 → store → queue), a form post and a
//! signed chat transcript each carry card numbers, an IBAN and secrets; the stored values (the whole in-memory
//! key-value snapshot), the queued ticket and the model request body the read stage sends for it (Bedrock, over
//! the recording transport) must hold none of them, and the ticket must say what was masked.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::Full;
use serde_json::{Value, json};
use tr_core::chat::lane::ChatEndpoint;
use tr_core::email::lane::EmailWorker;
use tr_core::form::endpoint::FormEndpoint;
use tr_core::reader::lane::ReadWorker;
use tr_core::store::MemoryKv;
use tr_core::transport::{HttpRequest, HttpResponse, Runtime, Transport, TransportError};
use tr_core::vars::MapVars;
use tr_core::{Secret, TicketFlag, Wiring};

const QUEUE: &str = "http://127.0.0.1:4566/000000000000/tr-tickets";
const ORIGIN: &str = "https://www.example.com";
/// 2026-11-26T10:10:00Z.
const NOW: u64 = 1_795_687_800;

/// The values every lane is sent, as typed, and what must never be seen again.
const CARD_SPACED: &str = "4111 1111 1111 1111";
const CARD_DASHED: &str = "5555-5555-5555-4444";
const IBAN: &str = "DE89 3704 0044 0532 0130 00";
const AWS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const PASSWORD: &str = "Tr0ub4dor&3x";
const GITHUB: &str = "ghp_R8mQv2XkL9pW4sT7yZ1aB3cD5eF6gH0jK2nM";
const LEAKS: [&str; 6] = [CARD_SPACED, CARD_DASHED, IBAN, AWS_KEY, PASSWORD, GITHUB];

fn customer_text() -> String {
    format!(
        "Please refund card {CARD_SPACED} (exp 12/27) and stop charging {CARD_DASHED}.\n\
         Pay it to {IBAN} instead.\nMy login is dana, password: {PASSWORD}\n\
         Our integration uses {AWS_KEY} and {GITHUB} if that matters.\nOrder 100234, call +1 415 555 0100."
    )
}

/// S3 answers the mail; Bedrock answers a reading and records the request body; SQS records the ticket queued.
#[derive(Clone, Default)]
struct World {
    mail: Rc<RefCell<Vec<u8>>>,
    queued: Rc<RefCell<Vec<String>>>,
    model_bodies: Rc<RefCell<Vec<String>>>,
    random: Rc<RefCell<u64>>,
}

impl Transport for World {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let ok = |body: Vec<u8>| Ok(http::Response::builder().status(200).body(body).unwrap());
        if request.method() == http::Method::GET {
            return ok(self.mail.borrow().clone());
        }
        if request.uri().to_string().contains("/model/") {
            self.model_bodies.borrow_mut().push(String::from_utf8(request.body().to_vec()).unwrap());
            let answer = json!({"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
                "content": [{"type": "text", "text": "{\"topic\":\"billing\",\"urgency\":\"medium\",\"tone\":\"calm\"}"}],
                "stop_reason": "end_turn", "usage": {"input_tokens": 700, "output_tokens": 18}});
            return ok(serde_json::to_vec(&answer).unwrap());
        }
        let body: Value = serde_json::from_slice(request.body()).unwrap();
        if let Some(message) = body["MessageBody"].as_str() {
            self.queued.borrow_mut().push(message.to_owned());
        }
        ok(br#"{"MessageId":"m-1"}"#.to_vec())
    }
}

impl Runtime for World {
    fn now(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(NOW)
    }
    fn random_u64(&self) -> u64 {
        *self.random.borrow_mut() += 1;
        *self.random.borrow()
    }
    async fn sleep(&self, _: Duration) {}
}

fn vars() -> MapVars {
    MapVars::from_pairs([
        ("aws_access_key_id", "AKIDEXAMPLE"),
        ("aws_secret_access_key", "secret"),
        ("sqs_endpoint", "http://127.0.0.1:4566"),
        ("ticket_queue_url", QUEUE),
        ("s3_endpoint", "http://127.0.0.1:9000"),
        ("s3_path_style", "true"),
        ("form_site_key", "site-key-1"),
        ("form_allowed_origins", ORIGIN),
        ("form_min_fill_seconds", "0"),
        ("chat_secret", "chat-secret-1"),
        ("reader", "bedrock"),
        ("bedrock_endpoint", "http://127.0.0.1:9100"),
    ])
}

fn http_parts(path_info: &str, headers: &[(&str, &str)]) -> http::request::Parts {
    let mut builder = http::Request::builder().method("POST").uri(format!("http://localhost/x{path_info}"));
    builder = builder.header("spin-path-info", path_info).header("spin-client-addr", "192.0.2.7:50000");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap().into_parts().0
}

/// Removes what a writer may put between digits, so `4111 1111…` is also looked for as `41111111…`.
fn compact(s: &str) -> String {
    s.chars().filter(|c| !matches!(c, ' ' | '-' | '\u{a0}')).collect()
}

/// Reads the queued ticket with the Bedrock reader, then checks every place the text went.
fn read_and_check(lane: &str, world: &World, kv: &MemoryKv) {
    assert_eq!(world.queued.borrow().len(), 1, "{lane}: one ticket queued");
    let queued = world.queued.borrow()[0].clone();
    let ticket = tr_core::wire::decode(&queued).unwrap();
    pollster::block_on(async {
        let vars = vars();
        let wiring = Wiring::from_vars(&vars, world.clone(), world.clone(), Ok(kv)).await;
        let sheet = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../rules/rules.toml")).unwrap();
        let worker = ReadWorker::from_vars(&vars, wiring, &sheet, "rules/rules.toml").await.unwrap();
        worker.handle_message(&queued).await.unwrap();
    });
    assert_eq!(world.model_bodies.borrow().len(), 1, "{lane}: one model call");

    let stored: Vec<String> = kv.snapshot().values().map(|v| String::from_utf8_lossy(v).into_owned()).collect();
    let places = [("store", stored.join("\n")), ("queue", queued), ("model request", world.model_bodies.borrow()[0].clone())];
    for (place, text) in &places {
        for leak in LEAKS {
            assert!(!compact(text).contains(&compact(leak)), "{lane}: {place} holds `{leak}`:\n{text}");
        }
    }
    let model = &places[2].1;
    for shown in ["[card ending 1111]", "[card ending 4444]", "[iban ending 3000]", "[secret removed]", "+1 415 555 0100", "100234"] {
        assert!(model.contains(shown), "{lane}: the model reads `{shown}`:\n{model}");
    }
    assert!(ticket.flags.contains(&TicketFlag::Masked), "{lane}: {:?}", ticket.flags);
    let masked = serde_json::to_value(&ticket.masked).unwrap();
    // The email's subject names a third card; the chat's subject is its first visitor line, which names one.
    let card_count = if lane == "form" { 2 } else { 3 };
    assert_eq!(
        masked,
        json!([{"kind": "card", "count": card_count}, {"kind": "iban", "count": 1}, {"kind": "secret", "count": 3}]),
        "{lane}"
    );
}

#[test]
fn email_lane_masks_subject_body_and_raw_body() {
    let (world, kv) = (World::default(), MemoryKv::new());
    let text = customer_text().replace('\n', "\r\n");
    // The quoted history holds one more card: the stripped body loses it, the raw body keeps it, masked.
    let mail = format!(
        "From: Dana Whitfield <dana@example.com>\r\nTo: support@tr-intake.test\r\nSubject: Refund to 4000 0566 5566 5556 please\r\n\
         Date: Thu, 26 Nov 2026 09:12:00 +0000\r\nMessage-ID: <mask-1@mail.example.com>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n\r\nOn Wed, 25 Nov 2026 at 17:00, Billing <billing@tr-intake.test> wrote:\r\n\
         > We could not charge 3782 822463 10005, please send another card.\r\n"
    );
    *world.mail.borrow_mut() = mail.into_bytes();
    let event = r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1",
        "eventTime":"2026-11-26T10:00:00.000Z","eventName":"ObjectCreated:Put",
        "s3":{"s3SchemaVersion":"1.0","bucket":{"name":"tr-raw-mail"},"object":{"key":"inbound/mask-1","size":2000}}}]}"#;
    pollster::block_on(async {
        let wiring = Wiring::from_vars(&vars(), world.clone(), world.clone(), Ok(&kv)).await;
        let worker = EmailWorker::from_vars(&vars(), wiring).await.unwrap();
        worker.handle_message("sqs-1", event).await.unwrap();
    });
    let stored: String = kv.snapshot().values().map(|v| String::from_utf8_lossy(v).into_owned()).collect();
    assert!(stored.contains("[card ending 0005]"), "the raw body is stored, masked: {stored}");
    assert!(!compact(&stored).contains("378282246310005"));
    assert!(!compact(&stored).contains("4000056655665556"));
    let queued = world.queued.borrow()[0].clone();
    assert!(queued.contains(r#""subject":"Refund to [card ending 5556] please""#), "{queued}");
    read_and_check("email", &world, &kv);
}

#[test]
fn form_lane_masks_before_store_and_queue() {
    let (world, kv) = (World::default(), MemoryKv::new());
    let post = json!({"email": "dana@example.com", "message": customer_text(), "nonce": "n-mask", "site_key": "site-key-1"});
    let parts = http_parts("", &[("origin", ORIGIN), ("content-type", "application/json")]);
    let reply = pollster::block_on(async {
        let wiring = Wiring::from_vars(&vars(), world.clone(), world.clone(), Ok(&kv)).await;
        FormEndpoint::from_vars(&vars(), wiring, "").await.serve(&parts, Full::new(Bytes::from(post.to_string()))).await
    });
    assert_eq!(reply.status, 202, "{}", reply.body);
    read_and_check("form", &world, &kv);
}

#[test]
fn chat_lane_masks_before_store_and_queue() {
    let (world, kv) = (World::default(), MemoryKv::new());
    let transcript = json!({
        "conversation_id": "conv-mask",
        "visitor": {"name": "Dana Whitfield", "email": "dana@example.com"},
        "started_at": "2026-11-26T10:01:12Z",
        "ended_at": "2026-11-26T10:09:40Z",
        "resolved": false,
        "messages": [
            {"role": "bot", "text": "Hi! How can I help you today?", "time": "2026-11-26T10:01:12Z"},
            {"role": "visitor", "text": customer_text(), "time": "2026-11-26T10:02:05Z"}
        ]
    })
    .to_string();
    let sig = tr_core::chat::signature::sign(&Secret::new("chat-secret-1"), NOW, transcript.as_bytes());
    let parts = http_parts("", &[("content-type", "application/json"), ("x-tr-signature", &sig)]);
    let reply = pollster::block_on(async {
        let wiring = Wiring::from_vars(&vars(), world.clone(), world.clone(), Ok(&kv)).await;
        ChatEndpoint::from_vars(&vars(), wiring).await.serve(&parts, Full::new(Bytes::from(transcript))).await
    });
    assert_eq!(reply.status, 201, "{}", reply.body);
    read_and_check("chat", &world, &kv);
}
