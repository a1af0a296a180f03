//! The read component: a `spin:sqs@3.0.0` guest on the ticket queue.
//!
//! Thin by design: load the rules sheet (mounted at `/rules/rules.toml` by spin.toml `files`), build the reader
//! from variables, hand the message to [`tr_core::reader::read_lane`], answer `delete` / `leave` / error. One log
//! line per ticket: id, tags, who read it, calls and tokens — never the ticket's text. The model only reads:
//! nothing here can send a reply.
//!
//! Variables: `reader` (`bedrock` | `anthropic` | `openai` | `offline`), `model_id`, `bedrock_endpoint`,
//! `anthropic_endpoint`, `anthropic_api_key`, `openai_endpoint`, `openai_api_key`, `openai_model`,
//! `offline_fallback`, `read_queue_url`, `aws_region`, `aws_access_key_id`, `aws_secret_access_key`,
//! `aws_session_token`, `sqs_endpoint`.

spin_sdk::wit_bindgen::generate!({
    world: "spin:sqs/spin-sqs@3.0.0",
    path: "../../wit",
    runtime_path: "spin_sdk::wit_bindgen::rt",
});

use tr_core::reader::RulesSheet;
use tr_core::reader::model_client::{DEFAULT_BEDROCK_MODEL, ModelClient, Provider};
use tr_core::reader::prompt::PromptConfig;
use tr_core::reader::read_lane::{ReadLane, ReadOutcome, Reader};
use tr_core::store::{Store, StoreConfig};
use tr_core::{Secret, SqsClient, SqsConfig};
use tr_spin_glue::{
    GuestFailure, SpinKv, SpinRuntime, SpinTransport, VarError, Verdict, aws_credentials, optional, required, verdict,
};

/// Where spin.toml mounts the rules sheet.
const RULES_PATH: &str = "/rules/rules.toml";

struct ReadComponent;

impl Guest for ReadComponent {
    async fn handle_queue_message(message: Message) -> Result<MessageAction, Error> {
        let id = message.id.unwrap_or_default();
        let Some(body) = message.body else {
            return Err(Error::Other(format!("message {id} has no body; a ticket was expected")));
        };
        let result = run(&body).await.map(|outcome| match outcome {
            ReadOutcome::AlreadyRead { ticket_id } => println!("[read] ticket {ticket_id}: already read, no model call"),
            ReadOutcome::Read { ticket_id, reading, by, calls, usage, stored, error, .. } => {
                let urgency = format!("{:?}", reading.urgency).to_lowercase();
                let tone = format!("{:?}", reading.tone).to_lowercase();
                let flagged = error.map(|e| format!(", flagged read-error ({e})")).unwrap_or_default();
                let unstored = if stored { "" } else { ", not in this store" };
                println!(
                    "[read] ticket {ticket_id} -> {}/{urgency}/{tone} by {by:?} in {calls} call(s), {}+{} tokens{flagged}{unstored}",
                    reading.topic, usage.input_tokens, usage.output_tokens
                );
            }
        });
        match verdict("read", &id, result) {
            Verdict::Delete => Ok(MessageAction::Delete),
            Verdict::Leave => Ok(MessageAction::Leave),
            Verdict::Error(e) => Err(Error::Other(e)),
        }
    }
}

async fn run(body: &str) -> Result<ReadOutcome, GuestFailure> {
    let source = std::fs::read_to_string(RULES_PATH).map_err(|e| GuestFailure::Other(format!("rules sheet {RULES_PATH}: {e}")))?;
    let sheet = RulesSheet::parse(&source, RULES_PATH).map_err(|e| GuestFailure::Other(format!("rules sheet: {e}")))?;
    let region = optional("aws_region").await.unwrap_or_else(|| "us-east-1".to_owned());
    let reader = reader(&region).await?;

    let credentials = aws_credentials().await?;
    let mut sqs = SqsConfig::new(region, credentials);
    sqs.endpoint = optional("sqs_endpoint").await;
    let sqs = SqsClient::new(sqs, SpinTransport, SpinRuntime);
    let store = Store::new(SpinKv::open("default").await?, StoreConfig::default());
    let read_queue_url = optional("read_queue_url").await;
    let lane = ReadLane { reader: &reader, sheet: &sheet, store: &store, sqs: &sqs, read_queue_url: read_queue_url.as_deref() };
    Ok(lane.handle_message(body).await?)
}

async fn reader(region: &str) -> Result<Reader<SpinTransport, SpinRuntime>, GuestFailure> {
    let which = optional("reader").await.unwrap_or_else(|| "bedrock".to_owned());
    let provider = match which.as_str() {
        "offline" => return Ok(Reader::Offline),
        "bedrock" => Provider::Bedrock {
            region: region.to_owned(),
            endpoint: optional("bedrock_endpoint").await,
            model_id: optional("model_id").await.unwrap_or_else(|| DEFAULT_BEDROCK_MODEL.to_owned()),
            credentials: aws_credentials().await?,
        },
        "anthropic" => Provider::Anthropic {
            endpoint: optional("anthropic_endpoint").await.unwrap_or_else(|| "https://api.anthropic.com".to_owned()),
            api_key: Secret::new(required("anthropic_api_key").await?),
            model: optional("model_id").await.unwrap_or_else(|| "claude-haiku-4-5".to_owned()),
        },
        "openai" => Provider::OpenAi {
            endpoint: required("openai_endpoint").await?,
            api_key: optional("openai_api_key").await.map(Secret::new),
            model: required("openai_model").await?,
        },
        other => {
            return Err(GuestFailure::Config(VarError::Invalid {
                name: "reader".into(),
                why: format!("`{other}` is not bedrock, anthropic, openai or offline"),
            }));
        }
    };
    let client = ModelClient::new(provider, PromptConfig::default(), SpinTransport, SpinRuntime);
    let offline_fallback = optional("offline_fallback").await.is_some_and(|v| v.eq_ignore_ascii_case("true"));
    Ok(Reader::Model { client, offline_fallback })
}

export!(ReadComponent);
