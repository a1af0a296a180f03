//! An SQS client for what the lanes need: SendMessage and SendMessageBatch over the AWS JSON 1.0 protocol.
//!
//! Key decisions:
//! - Requests are `POST /` to the SQS endpoint with `X-Amz-Target: AmazonSQS.<Action>`, signed with
//!   [`crate::sigv4`] (service `sqs`), re-signed on every attempt.
//! - Retries are bounded ([`RetryPolicy`]): throttling, 5xx and network failures are retried with backoff and
//!   jitter; auth and validation errors are returned at once. After the last attempt the caller gets
//!   [`SqsError::RetriesExhausted`], which is retryable *for the sender*: an HTTP lane answers 503 + Retry-After,
//!   a queue-triggered component leaves the message. Nothing is dropped silently.
//! - Oversized or invalid messages are refused *before* sending ([`SqsError::MessageTooLarge`],
//!   [`SqsError::InvalidBody`]): never truncated here. Tickets are bounded by [`crate::normalise::Limits`] so a
//!   ticket always fits the 256 KiB default.
//! - FIFO queues (URL ends in `.fifo`): `MessageDeduplicationId` is the SHA-256 of the ticket's idempotency key
//!   (so a retried intake inside SQS's 5-minute window is dropped by SQS itself), and `MessageGroupId` is a hash of
//!   the customer, which keeps one customer's tickets in order while different customers run in parallel.
//! - The MD5 SQS returns for each body is not checked: the SigV4-signed TLS exchange already protects it.

use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::aws_error::{self, AwsError};
use crate::credentials::Credentials;
use crate::retry::{RetryPolicy, retrying};
use crate::sigv4::{self, SignOptions};
use crate::ticket::Ticket;
use crate::transport::{Runtime, Transport, TransportError};
use crate::wire;

/// SQS's default (and older queues' hard) per-message limit. Queues created with a larger
/// `MaximumMessageSize` (up to 1 MiB) can raise [`SqsConfig::max_message_bytes`].
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 256 * 1024;
/// SendMessageBatch takes at most this many entries.
pub const MAX_BATCH_ENTRIES: usize = 10;

#[derive(Debug, Clone)]
pub struct SqsConfig {
    pub region: String,
    /// `https://sqs.<region>.amazonaws.com` when `None`; set it for moto, the local host, or a VPC endpoint.
    pub endpoint: Option<String>,
    pub credentials: Credentials,
    pub retry: RetryPolicy,
    pub max_message_bytes: usize,
}

impl SqsConfig {
    pub fn new(region: impl Into<String>, credentials: Credentials) -> Self {
        Self {
            region: region.into(),
            endpoint: None,
            credentials,
            retry: RetryPolicy::default(),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        }
    }

    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    fn endpoint_url(&self) -> String {
        match &self.endpoint {
            Some(e) => e.trim_end_matches('/').to_owned(),
            None => format!("https://sqs.{}.amazonaws.com", self.region),
        }
    }
}

/// One message to send.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutgoingMessage {
    /// Batch entry id (unique within one batch; letters, digits, `-`, `_`, up to 80). Ignored by SendMessage.
    pub entry_id: String,
    pub body: String,
    /// String message attributes (name, value).
    pub attributes: Vec<(String, String)>,
    pub group_id: Option<String>,
    pub deduplication_id: Option<String>,
}

impl OutgoingMessage {
    /// The ticket in its wire format, with `ticket-id` and `source` attributes (so consumers can route without
    /// parsing) and the FIFO fields derived as the module doc says (used only on a FIFO queue).
    pub fn for_ticket(ticket: &Ticket) -> Self {
        let customer = ticket.customer.email.as_deref().unwrap_or(&ticket.idempotency_key);
        Self {
            entry_id: ticket.id.clone(),
            body: wire::encode(ticket),
            attributes: vec![
                ("ticket-id".into(), ticket.id.clone()),
                ("source".into(), ticket.source.as_str().into()),
            ],
            group_id: Some(hex::encode(&Sha256::digest(customer.as_bytes())[..16])),
            deduplication_id: Some(hex::encode(Sha256::digest(ticket.idempotency_key.as_bytes()))),
        }
    }

    /// Size as SQS counts it: body plus each attribute's name, type and value.
    pub fn size_bytes(&self) -> usize {
        self.body.len() + self.attributes.iter().map(|(n, v)| n.len() + "String".len() + v.len()).sum::<usize>()
    }
}

/// SQS's answer to one sent message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SentMessage {
    #[serde(rename = "MessageId")]
    pub message_id: String,
    #[serde(rename = "SequenceNumber", default)]
    pub sequence_number: Option<String>,
}

/// One batch entry SQS refused.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BatchFailure {
    #[serde(rename = "Id")]
    pub entry_id: String,
    #[serde(rename = "Code")]
    pub code: String,
    #[serde(rename = "Message", default)]
    pub message: Option<String>,
    /// True when the entry itself is wrong (permanent); false when SQS failed (retried here).
    #[serde(rename = "SenderFault", default)]
    pub sender_fault: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// (entry id, SQS's answer) for each entry accepted.
    pub sent: Vec<(String, SentMessage)>,
    /// Entries refused for good, or still failing after the last attempt.
    pub failed: Vec<BatchFailure>,
}

#[derive(Debug, thiserror::Error)]
pub enum SqsError {
    #[error("SQS refused the request: {0}")]
    Service(AwsError),
    #[error("could not reach SQS: {0}")]
    Transport(TransportError),
    #[error("message is {bytes} bytes; the queue accepts at most {limit}")]
    MessageTooLarge { bytes: usize, limit: usize },
    #[error("message body has a character SQS does not accept (U+{0:04X})")]
    InvalidBody(u32),
    #[error("a batch takes 1 to {MAX_BATCH_ENTRIES} entries with distinct ids; got {0}")]
    InvalidBatch(String),
    #[error("SQS answered in a shape this client does not understand: {0}")]
    UnexpectedResponse(String),
    #[error("could not sign the request: {0}")]
    Signing(String),
    #[error("gave up after {attempts} attempts; last error: {last}")]
    RetriesExhausted { attempts: u32, last: Box<SqsError> },
}

impl SqsError {
    /// Whether the *sender* should try again later (503 to an HTTP client, `leave` to a queue trigger).
    pub fn is_retryable(&self) -> bool {
        match self {
            SqsError::Service(e) => e.kind.is_retryable(),
            SqsError::Transport(e) => e.is_retryable(),
            SqsError::RetriesExhausted { .. } => true,
            _ => false,
        }
    }

    /// Whether SQS refused our credentials or signature.
    pub fn is_auth(&self) -> bool {
        matches!(self, SqsError::Service(e) if e.kind == aws_error::AwsErrorKind::Auth)
    }
}

pub struct SqsClient<T, R> {
    config: SqsConfig,
    transport: T,
    runtime: R,
}

impl<T: Transport, R: Runtime> SqsClient<T, R> {
    pub fn new(config: SqsConfig, transport: T, runtime: R) -> Self {
        Self { config, transport, runtime }
    }

    pub fn config(&self) -> &SqsConfig {
        &self.config
    }

    /// Sends a ticket in its wire format (FIFO fields used only when the queue is FIFO).
    pub async fn send_ticket(&self, queue_url: &str, ticket: &Ticket) -> Result<SentMessage, SqsError> {
        self.send_message(queue_url, &OutgoingMessage::for_ticket(ticket)).await
    }

    pub async fn send_message(&self, queue_url: &str, message: &OutgoingMessage) -> Result<SentMessage, SqsError> {
        self.check(message)?;
        let mut body = Map::new();
        body.insert("QueueUrl".into(), queue_url.into());
        encode_message(&mut body, message, is_fifo(queue_url));
        let answer = self.call("SendMessage", &Value::Object(body)).await?;
        serde_json::from_value(answer).map_err(|e| SqsError::UnexpectedResponse(e.to_string()))
    }

    /// Sends up to 10 messages. Entries SQS fails on its side (`SenderFault: false`) are sent again under the
    /// same retry policy; entries it refuses as wrong are reported in [`BatchOutcome::failed`] at once.
    pub async fn send_message_batch(
        &self,
        queue_url: &str,
        messages: &[OutgoingMessage],
    ) -> Result<BatchOutcome, SqsError> {
        if messages.is_empty() || messages.len() > MAX_BATCH_ENTRIES {
            return Err(SqsError::InvalidBatch(format!("{} entries", messages.len())));
        }
        let mut ids: Vec<&str> = messages.iter().map(|m| m.entry_id.as_str()).collect();
        ids.sort_unstable();
        if ids.windows(2).any(|w| w[0] == w[1]) || ids.iter().any(|id| !valid_entry_id(id)) {
            return Err(SqsError::InvalidBatch("duplicate or invalid entry ids".into()));
        }
        for m in messages {
            self.check(m)?;
        }
        let total: usize = messages.iter().map(OutgoingMessage::size_bytes).sum();
        if total > self.config.max_message_bytes {
            return Err(SqsError::MessageTooLarge { bytes: total, limit: self.config.max_message_bytes });
        }

        let fifo = is_fifo(queue_url);
        let mut pending: Vec<&OutgoingMessage> = messages.iter().collect();
        let mut outcome = BatchOutcome::default();
        let attempts = self.config.retry.max_attempts.max(1);
        for attempt in 1..=attempts {
            let entries: Vec<Value> = pending
                .iter()
                .map(|m| {
                    let mut entry = Map::new();
                    entry.insert("Id".into(), m.entry_id.clone().into());
                    encode_message(&mut entry, m, fifo);
                    Value::Object(entry)
                })
                .collect();
            let answer = self.call("SendMessageBatch", &json!({ "QueueUrl": queue_url, "Entries": entries })).await?;
            let parsed: BatchAnswer =
                serde_json::from_value(answer).map_err(|e| SqsError::UnexpectedResponse(e.to_string()))?;
            for s in parsed.successful {
                outcome.sent.push((s.id, SentMessage { message_id: s.message_id, sequence_number: s.sequence_number }));
            }
            let (retry, permanent): (Vec<_>, Vec<_>) =
                parsed.failed.into_iter().partition(|f| !f.sender_fault && attempt < attempts);
            outcome.failed.extend(permanent);
            if retry.is_empty() {
                break;
            }
            pending.retain(|m| retry.iter().any(|f| f.entry_id == m.entry_id));
            self.runtime.sleep(self.config.retry.delay_before_retry(attempt, self.runtime.random_u64())).await;
        }
        Ok(outcome)
    }

    fn check(&self, message: &OutgoingMessage) -> Result<(), SqsError> {
        if let Some(c) = message.body.chars().find(|c| !sqs_allows(*c)) {
            return Err(SqsError::InvalidBody(c as u32));
        }
        let bytes = message.size_bytes();
        if bytes > self.config.max_message_bytes {
            return Err(SqsError::MessageTooLarge { bytes, limit: self.config.max_message_bytes });
        }
        Ok(())
    }

    /// One JSON 1.0 action with retries; returns the parsed answer body.
    async fn call(&self, action: &str, body: &Value) -> Result<Value, SqsError> {
        let payload = serde_json::to_vec(body).expect("a serde_json Value always serialises");
        let answer = retrying(&self.config.retry, &self.runtime, SqsError::is_retryable, async || {
            let request = self.signed_request(action, payload.clone(), self.runtime.now())?;
            match self.transport.send(request).await {
                Ok(response) if response.status().is_success() => serde_json::from_slice(response.body())
                    .map_err(|e| SqsError::UnexpectedResponse(format!("{action}: {e}"))),
                Ok(response) => {
                    Err(SqsError::Service(aws_error::parse(response.status().as_u16(), response.headers(), response.body())))
                }
                Err(e) => Err(SqsError::Transport(e)),
            }
        })
        .await;
        answer.map_err(|gave_up| {
            gave_up.into_error(|attempts, last| SqsError::RetriesExhausted { attempts, last: Box::new(last) })
        })
    }

    fn signed_request(&self, action: &str, payload: Vec<u8>, now: SystemTime) -> Result<http::Request<Vec<u8>>, SqsError> {
        let mut request = http::Request::post(format!("{}/", self.config.endpoint_url()))
            .header("content-type", "application/x-amz-json-1.0")
            .header("x-amz-target", format!("AmazonSQS.{action}"))
            .body(payload)
            .map_err(|e| SqsError::Signing(format!("invalid endpoint: {e}")))?;
        sigv4::sign(&mut request, &self.config.credentials, &self.config.region, "sqs", now, SignOptions::STANDARD)
            .map_err(|e| SqsError::Signing(e.to_string()))?;
        Ok(request)
    }
}

#[derive(Deserialize)]
struct BatchAnswer {
    #[serde(rename = "Successful", default)]
    successful: Vec<BatchSent>,
    #[serde(rename = "Failed", default)]
    failed: Vec<BatchFailure>,
}

#[derive(Deserialize)]
struct BatchSent {
    #[serde(rename = "Id")]
    id: String,
    #[serde(rename = "MessageId")]
    message_id: String,
    #[serde(rename = "SequenceNumber", default)]
    sequence_number: Option<String>,
}

#[derive(Serialize)]
struct AttributeValue<'a> {
    #[serde(rename = "DataType")]
    data_type: &'static str,
    #[serde(rename = "StringValue")]
    string_value: &'a str,
}

fn encode_message(target: &mut Map<String, Value>, message: &OutgoingMessage, fifo: bool) {
    target.insert("MessageBody".into(), message.body.clone().into());
    if !message.attributes.is_empty() {
        let attributes: Map<String, Value> = message
            .attributes
            .iter()
            .map(|(name, value)| {
                let v = AttributeValue { data_type: "String", string_value: value };
                (name.clone(), serde_json::to_value(v).expect("plain struct"))
            })
            .collect();
        target.insert("MessageAttributes".into(), Value::Object(attributes));
    }
    if fifo {
        if let Some(group) = &message.group_id {
            target.insert("MessageGroupId".into(), group.clone().into());
        }
        if let Some(dedup) = &message.deduplication_id {
            target.insert("MessageDeduplicationId".into(), dedup.clone().into());
        }
    }
}

pub fn is_fifo(queue_url: &str) -> bool {
    queue_url.trim_end_matches('/').ends_with(".fifo")
}

fn valid_entry_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 80 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// SQS accepts #x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD | #x10000–#x10FFFF (surrogates cannot occur in Rust).
fn sqs_allows(c: char) -> bool {
    matches!(c as u32, 0x9 | 0xA | 0xD | 0x20..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF)
}
