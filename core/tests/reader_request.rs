//! The exact request the read component sends for a sample ticket, against a golden file that a person reviews
//! (`tests/fixtures/read/bedrock-request.txt`), plus the properties that must hold whatever the golden says: a
//! JSON-schema output format (`output_config.format`) with enum-only fields and no tools, temperature 0, a small
//! max_tokens, no request for a reply, a SigV4 signature for service `bedrock`. Set `UPDATE_GOLDEN=1` to rewrite
//! the file after a deliberate change.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use tr_core::reader::RulesSheet;
use tr_core::reader::model_client::{DEFAULT_BEDROCK_MODEL, ModelClient, Provider};
use tr_core::reader::prompt::PromptConfig;
use tr_core::transport::{HttpRequest, HttpResponse, Runtime, Transport, TransportError};
use tr_core::{Credentials, Customer, Source, ThreadIds, Ticket};

struct NoNetwork;
impl Transport for NoNetwork {
    async fn send(&self, _: HttpRequest) -> Result<HttpResponse, TransportError> {
        unreachable!("this test only builds the request")
    }
}
struct Fixed;
impl Runtime for Fixed {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_795_000_000)
    }
    fn random_u64(&self) -> u64 {
        4
    }
    async fn sleep(&self, _: Duration) {}
}

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

pub fn sample_ticket() -> Ticket {
    Ticket {
        id: "01KB0Y3J5V6N2Q8R9S0T1V2W3X".into(),
        customer: Customer { email: Some("dana.whitfield@example.com".into()), name: Some("Dana Whitfield".into()) },
        subject: "Invoice charged twice this month".into(),
        body: "Hi, my card was charged twice for the November invoice (INV-2291).\nCould you refund the duplicate charge?\n\nThanks,\nDana".into(),
        body_truncated: false,
        source: Source::Email,
        received_at: "2026-11-26T09:12:00.000Z".into(),
        page_url: None,
        thread: ThreadIds { message_id: Some("first-7f3a@mail.example.com".into()), in_reply_to: None, references: vec![] },
        transcript_id: None,
        idempotency_key: "first-7f3a@mail.example.com".into(),
        merged_from: vec![],
        reading: None,
        flags: vec![],
        masked: vec![],
    }
}

#[test]
fn the_bedrock_request_for_a_sample_ticket_matches_the_reviewed_golden_file() {
    let sheet_path = repo().join("rules/rules.toml");
    let sheet = RulesSheet::parse(&std::fs::read_to_string(&sheet_path).unwrap(), "rules/rules.toml").unwrap();
    let provider = Provider::Bedrock {
        region: "us-east-1".into(),
        endpoint: None,
        model_id: DEFAULT_BEDROCK_MODEL.into(),
        credentials: Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
    };
    let client = ModelClient::new(provider, PromptConfig::default(), NoNetwork, Fixed);
    let request = client.request(&sheet, &sample_ticket(), Fixed.now()).unwrap();

    // What must hold, whatever the golden file says.
    assert_eq!(request.method(), "POST");
    assert_eq!(
        request.uri().to_string(),
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-haiku-4-5-20251001-v1%3A0/invoke"
    );
    let auth = request.headers()["authorization"].to_str().unwrap();
    assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261118/us-east-1/bedrock/aws4_request"), "{auth}");
    let body: Value = serde_json::from_slice(request.body()).unwrap();
    assert_eq!(body["anthropic_version"], "bedrock-2023-05-31");
    assert_eq!(body["temperature"], 0);
    assert!(body["max_tokens"].as_u64().unwrap() <= 64);
    // No tools: forced tool use costs a ~313-token tool-use system prompt on every call (issue #9).
    assert!(body.get("tools").is_none() && body.get("tool_choice").is_none(), "the request must not use tools");
    assert_eq!(body["output_config"]["format"]["type"], "json_schema");
    let schema = &body["output_config"]["format"]["schema"];
    assert_eq!(schema["additionalProperties"], false, "Anthropic rejects any other value");
    assert_eq!(schema["required"], serde_json::json!(["topic", "urgency", "tone"]));
    let topics = schema["properties"]["topic"]["enum"].as_array().unwrap();
    assert_eq!(topics.len(), sheet.topics.len() + 1, "every sheet topic and `unsure`");
    assert_eq!(topics.last().unwrap(), "unsure");
    let system = body["system"].as_str().unwrap().to_lowercase();
    assert!(system.contains("you do not answer the customer"));
    // Intake masking is explained, so `[card ending 1234]` reads as a billing clue rather than odd text.
    for mask in ["[card ending 1234]", "[iban ending 1234]", "[secret removed]", "masked by us"] {
        assert!(system.contains(mask), "the prompt names the mask `{mask}`");
    }
    for asks_for_text in ["write a reply", "draft", "respond to the customer", "compose"] {
        assert!(!system.contains(asks_for_text), "the prompt must never ask for a reply: `{asks_for_text}`");
    }

    // The golden file: the whole request as a person reviews it.
    let mut rendered = format!("{} {}\n", request.method(), request.uri());
    let mut headers: Vec<_> = request.headers().iter().map(|(n, v)| format!("{n}: {}", v.to_str().unwrap())).collect();
    headers.sort();
    rendered.push_str(&headers.join("\n"));
    rendered.push_str("\n\n");
    rendered.push_str(&serde_json::to_string_pretty(&body).unwrap());
    rendered.push('\n');
    let golden = repo().join("tests/fixtures/read/bedrock-request.txt");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &rendered).unwrap();
    }
    let expected = std::fs::read_to_string(&golden)
        .unwrap_or_else(|_| panic!("{} is missing: run with UPDATE_GOLDEN=1 and review it", golden.display()));
    assert_eq!(rendered, expected, "the request changed: review it, then UPDATE_GOLDEN=1");
}
