//! The two non-Bedrock providers, request and response, through a transport that records what it is sent and
//! answers in each API's documented shape: the Anthropic Messages API (`x-api-key`, `anthropic-version`, `model`
//! and `output_config.format` in the body, a `text` block holding the JSON object back) and an OpenAI-compatible
//! server (bearer key, a strict `json_schema` response format, `message.content` as the JSON string back).
//! Strictness is the same for both.

use std::cell::RefCell;
use std::time::{Duration, SystemTime};

use pollster::block_on;
use serde_json::{Value, json};
use tr_core::reader::RulesSheet;
use tr_core::reader::answer::AnswerError;
use tr_core::reader::model_client::{ModelClient, Provider};
use tr_core::reader::prompt::PromptConfig;
use tr_core::transport::{HttpRequest, HttpResponse, Runtime, Transport, TransportError};
use tr_core::{Customer, Reading, Secret, Source, ThreadIds, Ticket, Tone, Urgency};

struct Recorder {
    answer: Value,
    seen: RefCell<Vec<HttpRequest>>,
}
impl Transport for Recorder {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.seen.borrow_mut().push(request);
        Ok(http::Response::builder().status(200).body(serde_json::to_vec(&self.answer).unwrap()).unwrap())
    }
}
struct Now;
impl Runtime for Now {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
    fn random_u64(&self) -> u64 {
        1
    }
    async fn sleep(&self, _: Duration) {}
}

fn sheet() -> RulesSheet {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../rules/rules.toml");
    RulesSheet::parse(&std::fs::read_to_string(path).unwrap(), "rules/rules.toml").unwrap()
}

fn ticket() -> Ticket {
    Ticket {
        id: "01KB0Y3J5V6N2Q8R9S0T1V2W3X".into(),
        customer: Customer { email: Some("ana@example.com".into()), name: None },
        subject: "Locked out".into(),
        body: "The reset link expired and I cannot sign in.".into(),
        body_truncated: false,
        source: Source::Form,
        received_at: "2026-11-27T09:00:00.000Z".into(),
        page_url: None,
        thread: ThreadIds::default(),
        transcript_id: None,
        idempotency_key: "nonce-1".into(),
        merged_from: vec![],
        reading: None,
        flags: vec![],
        masked: vec![],
    }
}

fn expected() -> Reading {
    Reading { topic: "account-access".into(), urgency: Urgency::High, tone: Tone::Confused }
}

#[test]
fn anthropic_messages_api_request_and_answer() {
    let answer = json!({"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
        "content": [{"type": "text", "text": "{\"topic\":\"account-access\",\"urgency\":\"high\",\"tone\":\"confused\"}"}],
        "stop_reason": "end_turn", "usage": {"input_tokens": 512, "output_tokens": 18}});
    let transport = Recorder { answer, seen: RefCell::new(vec![]) };
    let provider = Provider::Anthropic {
        endpoint: "https://api.anthropic.com".into(),
        api_key: Secret::new("sk-ant-test"),
        model: "claude-haiku-4-5".into(),
    };
    let client = ModelClient::new(provider, PromptConfig::default(), &transport, Now);
    let call = block_on(client.read(&sheet(), &ticket())).unwrap();
    assert_eq!(call.answer, Ok(expected()));
    assert_eq!((call.usage.input_tokens, call.usage.output_tokens), (512, 18));

    let seen = transport.seen.borrow();
    let request = &seen[0];
    assert_eq!(request.uri(), "https://api.anthropic.com/v1/messages");
    assert_eq!(request.headers()["x-api-key"], "sk-ant-test");
    assert_eq!(request.headers()["anthropic-version"], "2023-06-01");
    let body: Value = serde_json::from_slice(request.body()).unwrap();
    assert_eq!(body["model"], "claude-haiku-4-5");
    assert!(body.get("anthropic_version").is_none(), "that field is Bedrock's");
    assert!(request.headers().get("anthropic-beta").is_none(), "structured outputs are GA: no beta header");
    assert!(body.get("tools").is_none() && body.get("tool_choice").is_none());
    assert_eq!(body["output_config"]["format"]["type"], "json_schema");
    assert_eq!(body["output_config"]["format"]["schema"]["properties"]["topic"]["enum"][1], "account-access");
}

#[test]
fn openai_compatible_request_and_answer() {
    let answer = json!({"id": "chatcmpl-1", "object": "chat.completion", "model": "llama3.2",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant",
            "content": "{\"topic\":\"account-access\",\"urgency\":\"high\",\"tone\":\"confused\"}"}}],
        "usage": {"prompt_tokens": 640, "completion_tokens": 28, "total_tokens": 668}});
    let transport = Recorder { answer, seen: RefCell::new(vec![]) };
    let provider = Provider::OpenAi {
        endpoint: "http://127.0.0.1:11434".into(),
        api_key: Some(Secret::new("local-key")),
        model: "llama3.2".into(),
    };
    let client = ModelClient::new(provider, PromptConfig::default(), &transport, Now);
    let call = block_on(client.read(&sheet(), &ticket())).unwrap();
    assert_eq!(call.answer, Ok(expected()));
    assert_eq!((call.usage.input_tokens, call.usage.output_tokens), (640, 28));

    let seen = transport.seen.borrow();
    assert_eq!(seen[0].uri(), "http://127.0.0.1:11434/v1/chat/completions");
    assert_eq!(seen[0].headers()["authorization"], "Bearer local-key");
    let body: Value = serde_json::from_slice(seen[0].body()).unwrap();
    assert!(body.get("tools").is_none() && body.get("tool_choice").is_none());
    assert_eq!(body["response_format"]["type"], "json_schema");
    assert_eq!(body["response_format"]["json_schema"]["strict"], true);
    assert_eq!(body["response_format"]["json_schema"]["schema"]["additionalProperties"], false);
    assert_eq!(body["messages"][0]["role"], "system");
}

#[test]
fn a_local_model_that_invents_a_topic_or_adds_a_field_is_refused() {
    for arguments in [
        r#"{"topic":"passwords","urgency":"high","tone":"confused"}"#,
        r#"{"topic":"account-access","urgency":"high","tone":"confused","reply":"Dear customer"}"#,
        r#"{"topic":"account-access","urgency":"urgent","tone":"confused"}"#,
    ] {
        let answer = json!({"choices": [{"message": {"role": "assistant", "content": arguments}}]});
        let transport = Recorder { answer, seen: RefCell::new(vec![]) };
        let provider = Provider::OpenAi { endpoint: "http://127.0.0.1:8080".into(), api_key: None, model: "m".into() };
        let client = ModelClient::new(provider, PromptConfig::default(), &transport, Now);
        let call = block_on(client.read(&sheet(), &ticket())).unwrap();
        assert!(matches!(call.answer, Err(AnswerError::Invalid(_))), "{arguments}: {:?}", call.answer);
        assert!(transport.seen.borrow()[0].headers().get("authorization").is_none(), "no key, no header");
    }
}

#[test]
fn an_anthropic_answer_that_is_not_the_schema_json_in_a_text_block_is_refused() {
    let text = |t: &str| json!([{"type": "text", "text": t}]);
    for (content, unusable_because) in [
        // No tools were offered, so a tool_use block is not an answer even when its input would be valid.
        (json!([{"type": "tool_use", "id": "t", "name": "record_reading",
                 "input": {"topic": "account-access", "urgency": "high", "tone": "confused"}}]), "no answer"),
        (text("This looks like an account-access question."), "no answer"),
        // What a `max_tokens` stop leaves: Anthropic documents that the schema is not guaranteed then.
        (text(r#"{"topic":"account-access","urg"#), "no answer"),
        (text(r#"{"topic":"passwords","urgency":"high","tone":"confused"}"#), "invalid"),
        // Enum casing is not guaranteed by the provider; the sheet's names are exact, so this is not repaired.
        (text(r#"{"topic":"Account-access","urgency":"high","tone":"confused"}"#), "invalid"),
    ] {
        let answer = json!({"type": "message", "role": "assistant", "content": content, "usage": {"input_tokens": 9, "output_tokens": 9}});
        let transport = Recorder { answer, seen: RefCell::new(vec![]) };
        let provider = Provider::Anthropic { endpoint: "https://api.anthropic.com".into(), api_key: Secret::new("k"), model: "m".into() };
        let client = ModelClient::new(provider, PromptConfig::default(), &transport, Now);
        let call = block_on(client.read(&sheet(), &ticket())).unwrap();
        match unusable_because {
            "no answer" => assert_eq!(call.answer, Err(AnswerError::NoAnswer), "{content}"),
            _ => assert!(matches!(call.answer, Err(AnswerError::Invalid(_))), "{content}: {:?}", call.answer),
        }
        assert_eq!(call.usage.output_tokens, 9, "usage is counted even for an unusable answer");
    }
}

/// Answers every call with one status, AWS error type and message.
struct Refusing(u16, &'static str, &'static str);
impl Transport for Refusing {
    async fn send(&self, _: HttpRequest) -> Result<HttpResponse, TransportError> {
        Ok(http::Response::builder()
            .status(self.0)
            .header("x-amzn-ErrorType", self.1)
            .body(format!(r#"{{"message":"{}"}}"#, self.2).into_bytes())
            .unwrap())
    }
}

fn bedrock() -> Provider {
    Provider::Bedrock { region: "us-east-1".into(), endpoint: None, model_id: "m".into(), credentials: tr_core::Credentials::new("a", "b") }
}

#[test]
fn a_model_that_is_down_leaves_the_message_unless_the_offline_fallback_is_on() {
    use tr_core::lane_error::LaneError;
    use tr_core::reader::lane::{ReadBy, ReadLane, ReadOutcome, Reader};
    use tr_core::store::{Intake, MemoryKv, Store, StoreConfig};
    use tr_core::{Credentials, SqsClient, SqsConfig, wire};

    let sheet = sheet();
    let kv = MemoryKv::new();
    let store = Store::new(&kv, StoreConfig::default());
    block_on(store.intake(Intake::new(ticket()))).unwrap();
    let unused = Refusing(500, "unused", "unused");
    let sqs = SqsClient::new(SqsConfig::new("us-east-1", Credentials::new("a", "b")), &unused, Now);
    let down = Refusing(503, "ServiceUnavailableException", "unavailable");
    let message = wire::encode(&ticket());

    let strict = Reader::Model { client: ModelClient::new(bedrock(), PromptConfig::default(), &down, Now), offline_fallback: false };
    let lane = ReadLane { reader: &strict, sheet: &sheet, store: &store, sqs: &sqs, read_queue_url: None, now_ms: 0 };
    assert!(matches!(block_on(lane.handle_message(&message)), Err(LaneError::Retry(_))));

    let lenient = Reader::Model { client: ModelClient::new(bedrock(), PromptConfig::default(), &down, Now), offline_fallback: true };
    let lane = ReadLane { reader: &lenient, sheet: &sheet, store: &store, sqs: &sqs, read_queue_url: None, now_ms: 0 };
    let ReadOutcome::Read { by, reading, .. } = block_on(lane.handle_message(&message)).unwrap() else { panic!("read") };
    assert_eq!(by, ReadBy::OfflineFallback);
    assert_eq!(reading.topic, "account-access", "the offline reader found the sheet's cue words");
}

#[test]
fn a_refusal_of_the_ticket_reads_unsure_but_a_refusal_of_the_setup_fails_the_message() {
    use tr_core::lane_error::LaneError;
    use tr_core::reader::lane::{ReadLane, ReadOutcome, Reader};
    use tr_core::store::{Intake, MemoryKv, Store, StoreConfig};
    use tr_core::{Credentials, SqsClient, SqsConfig, wire};

    let sheet = sheet();
    let unused = Refusing(500, "unused", "unused");
    let sqs = SqsClient::new(SqsConfig::new("us-east-1", Credentials::new("a", "b")), &unused, Now);
    let run = |answer: Refusing| {
        let kv = MemoryKv::new();
        let store = Store::new(&kv, StoreConfig::default());
        block_on(store.intake(Intake::new(ticket()))).unwrap();
        let reader = Reader::Model { client: ModelClient::new(bedrock(), PromptConfig::default(), &answer, Now), offline_fallback: false };
        let lane = ReadLane { reader: &reader, sheet: &sheet, store: &store, sqs: &sqs, read_queue_url: None, now_ms: 0 };
        block_on(lane.handle_message(&wire::encode(&ticket())))
    };

    let too_long = run(Refusing(400, "ValidationException", "Input is too long for requested model."));
    let Ok(ReadOutcome::Read { reading, error, calls, .. }) = too_long else { panic!("{too_long:?}") };
    assert_eq!((reading.topic.as_str(), calls), ("unsure", 1));
    assert!(error.unwrap().contains("too long"));

    for setup in [
        Refusing(400, "ValidationException", "Invocation of model ID anthropic.claude-haiku-4-5 with on-demand throughput isn't supported. Retry your request with the ID or ARN of an inference profile that contains this model."),
        Refusing(400, "ValidationException", "The provided model identifier is invalid."),
        Refusing(404, "ResourceNotFoundException", "Model not found"),
    ] {
        let what = setup.2;
        let outcome = run(setup);
        assert!(matches!(outcome, Err(LaneError::Permanent(_))), "{what}: {outcome:?}");
    }
}
