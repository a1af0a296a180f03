//! One model call: Bedrock InvokeModel (SigV4, service `bedrock`), the Anthropic Messages API, or any
//! OpenAI-compatible chat endpoint (Ollama, vLLM, llama.cpp server) — the same prompt in each dialect.
//!
//! Key decisions: exactly one HTTP request per [`ModelClient::read`] — no hidden retries, because a retry is a
//! billed call and the read lane decides about them (throttling and 5xx → the message is left and comes back
//! after its visibility timeout; an invalid answer → one more call). Errors are classified like every AWS error
//! ([`crate::aws_error`]), by code and else by status, for all three providers.

use std::time::SystemTime;

use super::answer::{AnswerError, Usage, parse_messages_response, parse_openai_response};
use super::prompt::{Dialect, PromptConfig, messages_body, openai_body};
use super::rules_sheet::RulesSheet;
use crate::aws_error::{self, AwsError, AwsErrorKind};
use crate::credentials::{Credentials, Secret};
use crate::sigv4::{self, SignOptions};
use crate::ticket::{Reading, Ticket};
use crate::transport::{HttpRequest, Runtime, Transport, TransportError};

/// Claude Haiku 4.5 on Bedrock. Cross-region inference profiles prefix it (`us.`, `eu.`, `global.`).
pub const DEFAULT_BEDROCK_MODEL: &str = "anthropic.claude-haiku-4-5-20251001-v1:0";

#[derive(Debug, Clone)]
pub enum Provider {
    Bedrock {
        region: String,
        /// `https://bedrock-runtime.<region>.amazonaws.com` when `None`.
        endpoint: Option<String>,
        model_id: String,
        credentials: Credentials,
    },
    Anthropic {
        /// `https://api.anthropic.com` unless a proxy is used.
        endpoint: String,
        api_key: Secret,
        model: String,
    },
    OpenAi {
        /// The server's origin, e.g. `http://127.0.0.1:11434` for Ollama (requests go to `/v1/chat/completions`).
        endpoint: String,
        api_key: Option<Secret>,
        model: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("the model service refused the call: {0}")]
    Service(AwsError),
    #[error("could not reach the model service: {0}")]
    Transport(TransportError),
    #[error("could not build the request: {0}")]
    Request(String),
}

impl ModelError {
    /// Throttling, not ready, 5xx, timeouts, no connection: try again later (the trigger leaves the message).
    pub fn is_retryable(&self) -> bool {
        match self {
            ModelError::Service(e) => e.kind.is_retryable(),
            ModelError::Transport(e) => e.is_retryable(),
            ModelError::Request(_) => false,
        }
    }

    /// The service said *this ticket's* request is wrong (400 validation, 413 too large): retrying the same request
    /// cannot help, and the ticket is read as `unsure`. A refusal that names the setup instead — a wrong model id,
    /// a model that needs an inference profile, no credit, no access, a 404 — is not the ticket's: it would mark
    /// every ticket `unsure` until someone noticed, so it fails the message instead (dead-lettered, and
    /// replayable once the setup is fixed).
    pub fn is_validation(&self) -> bool {
        let ModelError::Service(e) = self else { return false };
        let message = e.message.to_lowercase();
        e.kind == AwsErrorKind::Client
            && matches!(e.status, 400 | 413)
            && !SETUP_PROBLEMS.iter().any(|p| message.contains(p))
    }
}

/// Words of a 400 that is about the deployment, not the ticket (Bedrock's and Anthropic's wording).
const SETUP_PROBLEMS: &[&str] = &[
    "model identifier",
    "model id",
    "inference profile",
    "on-demand throughput",
    "credit balance",
    "billing",
    "access",
    "not authorized",
    "subscription",
    "api key",
];

/// What one call gave: a reading or why the answer was unusable, and the tokens it cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub answer: Result<Reading, AnswerError>,
    pub usage: Usage,
}

pub struct ModelClient<T, R> {
    provider: Provider,
    prompt: PromptConfig,
    transport: T,
    runtime: R,
}

impl<T: Transport, R: Runtime> ModelClient<T, R> {
    pub fn new(provider: Provider, prompt: PromptConfig, transport: T, runtime: R) -> Self {
        Self { provider, prompt, transport, runtime }
    }

    /// One call, one answer.
    pub async fn read(&self, sheet: &RulesSheet, ticket: &Ticket) -> Result<Call, ModelError> {
        let request = self.request(sheet, ticket, self.runtime.now())?;
        let response = self.transport.send(request).await.map_err(ModelError::Transport)?;
        if !response.status().is_success() {
            return Err(ModelError::Service(aws_error::parse(response.status().as_u16(), response.headers(), response.body())));
        }
        let (answer, usage) = match self.provider {
            Provider::OpenAi { .. } => parse_openai_response(response.body(), sheet),
            _ => parse_messages_response(response.body(), sheet),
        };
        Ok(Call { answer, usage })
    }

    /// The exact request [`Self::read`] sends at `now` (signed, for Bedrock).
    pub fn request(&self, sheet: &RulesSheet, ticket: &Ticket, now: SystemTime) -> Result<HttpRequest, ModelError> {
        let build = |e: http::Error| ModelError::Request(e.to_string());
        match &self.provider {
            Provider::Bedrock { region, endpoint, model_id, credentials } => {
                let base = endpoint.clone().unwrap_or_else(|| format!("https://bedrock-runtime.{region}.amazonaws.com"));
                let url = format!("{}/model/{}/invoke", base.trim_end_matches('/'), encode_model_id(model_id));
                let body = messages_body(sheet, ticket, &self.prompt, Dialect::Bedrock, model_id);
                let mut request = http::Request::post(url)
                    .header("content-type", "application/json")
                    .header("accept", "application/json")
                    .body(serde_json::to_vec(&body).expect("JSON value serialises"))
                    .map_err(build)?;
                sigv4::sign(&mut request, credentials, region, "bedrock", now, SignOptions::STANDARD)
                    .map_err(|e| ModelError::Request(e.to_string()))?;
                Ok(request)
            }
            Provider::Anthropic { endpoint, api_key, model } => {
                let body = messages_body(sheet, ticket, &self.prompt, Dialect::Anthropic, model);
                http::Request::post(format!("{}/v1/messages", endpoint.trim_end_matches('/')))
                    .header("content-type", "application/json")
                    .header("anthropic-version", "2023-06-01")
                    .header("x-api-key", api_key.expose())
                    .body(serde_json::to_vec(&body).expect("JSON value serialises"))
                    .map_err(build)
            }
            Provider::OpenAi { endpoint, api_key, model } => {
                let body = openai_body(sheet, ticket, &self.prompt, model);
                let mut request = http::Request::post(format!("{}/v1/chat/completions", endpoint.trim_end_matches('/')))
                    .header("content-type", "application/json");
                if let Some(key) = api_key {
                    request = request.header("authorization", format!("Bearer {}", key.expose()));
                }
                request.body(serde_json::to_vec(&body).expect("JSON value serialises")).map_err(build)
            }
        }
    }
}

/// Model ids and inference-profile ARNs carry `:` and `/`; in the path they are one segment.
fn encode_model_id(id: &str) -> String {
    percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC)
        .to_string()
        .replace("%2E", ".")
        .replace("%2D", "-")
        .replace("%5F", "_")
}
