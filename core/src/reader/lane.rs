//! One ticket off the ticket queue → its reading on the stored ticket (and, optionally, on the read-tickets queue).
//!
//! Key decisions:
//! - An append event (a reply or merged duplicate, on the same queue) is forwarded with the ticket's reading and
//!   never read: the model reads a ticket once. It waits (retry) until its ticket has a reading. A re-read on a
//!   new message is not offered: the router already has the first reading and the new text, a reply is mostly
//!   "thanks" or an answer to an agent (its tone and topic say little about the ticket), and a second call per
//!   reply would make the cost per ticket unbounded; a team that wants one can read the append events itself.
//! - A ticket already read is not read again (a redelivered message makes no model call): the store is asked
//!   first. Its reading is forwarded again, though: the forward may be the step that failed.
//! - At most two calls: an invalid answer gets one retry, then the reading is `unsure` with the `read-error`
//!   flag — never an invented label. A 400 about the ticket (e.g. too long) is the same: flagged, done. A
//!   refusal about the setup (wrong model id, no inference profile, no credit, 404, auth) fails the message
//!   instead, so it is dead-lettered and replayed once fixed rather than every ticket read `unsure`.
//! - Throttling, not-ready, 5xx, timeouts: [`LaneError::Retry`] (the message comes back), unless an offline
//!   fallback is configured, which then reads the ticket at once (and says so in the outcome).
//! - The router's status command (solved, closed, open; [`crate::store::lifecycle`]) arrives on the same queue:
//!   applied to the ticket's record, then acknowledged on the read queue — no model call. A command for a ticket
//!   this store does not have is [`LaneError::Permanent`]: it cannot succeed later, so it goes to the
//!   dead-letter queue for a person rather than round the queue. The same command again is acknowledged again
//!   (the same `event_id`), changing nothing.
//! - What goes to the read queue is [`crate::router_events`]: every event with its stable `event_id`.

use super::answer::Usage;
use super::model_client::{DEFAULT_BEDROCK_MODEL, ModelClient, ModelError, Provider};
use super::offline::read_offline;
use super::prompt::PromptConfig;
use super::rules_sheet::{RulesSheet, UNSURE};
use crate::credentials::Secret;
use crate::guest_failure::GuestFailure;
use crate::lane_error::LaneError;
use crate::router_events;
use crate::sqs_client::{OutgoingMessage, SqsClient};
use crate::store::keep::{QueueEvent, decode_event, store_error};
use crate::store::{Append, Kv, StatusAck, StatusCommand, Store};
use crate::ticket::{Reading, Ticket, TicketFlag, Tone, Urgency};
use crate::transport::{Runtime, Transport};
use crate::vars::{VarError, Vars};
use crate::wiring::Wiring;

impl<T: Transport + Clone, R: Runtime + Clone> Reader<T, R> {
    /// `reader` (`bedrock` | `anthropic` | `openai` | `offline`), `model_id`, `bedrock_endpoint`,
    /// `anthropic_endpoint`, `anthropic_api_key`, `openai_endpoint`, `openai_api_key`, `openai_model`,
    /// `offline_fallback`; Bedrock signs with the wiring's region and credentials.
    pub async fn from_vars<K>(vars: &impl Vars, wiring: &Wiring<T, R, K>) -> Result<Self, GuestFailure> {
        let which = vars.optional("reader").await.unwrap_or_else(|| "bedrock".to_owned());
        let provider = match which.as_str() {
            "offline" => return Ok(Reader::Offline),
            "bedrock" => Provider::Bedrock {
                region: wiring.region.clone(),
                endpoint: vars.optional("bedrock_endpoint").await,
                model_id: vars.optional("model_id").await.unwrap_or_else(|| DEFAULT_BEDROCK_MODEL.to_owned()),
                credentials: wiring.credentials.clone()?,
            },
            "anthropic" => Provider::Anthropic {
                endpoint: vars.optional("anthropic_endpoint").await.unwrap_or_else(|| "https://api.anthropic.com".to_owned()),
                api_key: Secret::new(vars.required("anthropic_api_key").await?),
                model: vars.optional("model_id").await.unwrap_or_else(|| "claude-haiku-4-5".to_owned()),
            },
            "openai" => Provider::OpenAi {
                endpoint: vars.required("openai_endpoint").await?,
                api_key: vars.optional("openai_api_key").await.map(Secret::new),
                model: vars.required("openai_model").await?,
            },
            other => {
                return Err(GuestFailure::Config(VarError::Invalid {
                    name: "reader".into(),
                    why: format!("`{other}` is not bedrock, anthropic, openai or offline"),
                }));
            }
        };
        let client = ModelClient::new(provider, PromptConfig::default(), wiring.transport.clone(), wiring.runtime.clone());
        let offline_fallback = vars.optional("offline_fallback").await.is_some_and(|v| v.eq_ignore_ascii_case("true"));
        Ok(Reader::Model { client, offline_fallback })
    }
}

/// The read lane with its reader, rules sheet and clients, built from the variables: what the component holds
/// for one message.
pub struct ReadWorker<T, R, K> {
    reader: Reader<T, R>,
    sheet: RulesSheet,
    store: Store<K>,
    sqs: SqsClient<T, R>,
    read_queue_url: Option<String>,
    runtime: R,
}

impl<T: Transport + Clone, R: Runtime + Clone, K: Kv> ReadWorker<T, R, K> {
    /// The rules sheet's text (`sheet_source`, from `sheet_path`), the reader's variables and the shared wiring
    /// (`read_queue_url` optional).
    pub async fn from_vars(
        vars: &impl Vars,
        mut wiring: Wiring<T, R, K>,
        sheet_source: &str,
        sheet_path: &str,
    ) -> Result<Self, GuestFailure> {
        let sheet = RulesSheet::parse(sheet_source, sheet_path).map_err(|e| GuestFailure::Other(format!("rules sheet: {e}")))?;
        let reader = Reader::from_vars(vars, &wiring).await?;
        let sqs = wiring.sqs()?;
        let store = wiring.store()?;
        let read_queue_url = vars.optional("read_queue_url").await;
        Ok(Self { reader, sheet, store, sqs, read_queue_url, runtime: wiring.runtime.clone() })
    }

    /// One message; one log line per ticket: id, tags, who read it, calls and tokens — never the ticket's text.
    pub async fn handle_message(&self, body: &str) -> Result<ReadOutcome, GuestFailure> {
        let lane = ReadLane {
            reader: &self.reader,
            sheet: &self.sheet,
            store: &self.store,
            sqs: &self.sqs,
            read_queue_url: self.read_queue_url.as_deref(),
            now_ms: self.runtime.now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64),
        };
        let outcome = lane.handle_message(body).await?;
        self.runtime.log(&match &outcome {
            ReadOutcome::AlreadyRead { ticket_id } => format!("[read] ticket {ticket_id}: already read, no model call"),
            ReadOutcome::AppendForwarded { ticket_id, message_id } => {
                format!("[read] ticket {ticket_id}: message {message_id} appended, forwarded with its reading, no model call")
            }
            ReadOutcome::StatusAcknowledged(ack) => format!(
                "[read] ticket {}: status command {} ({}) {}, now {}, acknowledged, no model call",
                ack.ticket_id,
                ack.command_id,
                ack.requested.as_str(),
                ack.outcome.as_str(),
                ack.status.as_str()
            ),
            ReadOutcome::Read { ticket_id, reading, by, calls, usage, stored, error, .. } => {
                let urgency = format!("{:?}", reading.urgency).to_lowercase();
                let tone = format!("{:?}", reading.tone).to_lowercase();
                let flagged = error.as_ref().map(|e| format!(", flagged read-error ({e})")).unwrap_or_default();
                let unstored = if *stored { "" } else { ", not in this store" };
                format!(
                    "[read] ticket {ticket_id} -> {}/{urgency}/{tone} by {by:?} in {calls} call(s), {}+{} tokens{flagged}{unstored}",
                    reading.topic, usage.input_tokens, usage.output_tokens
                )
            }
        });
        Ok(outcome)
    }
}

/// Who reads.
pub enum Reader<T, R> {
    Model { client: ModelClient<T, R>, offline_fallback: bool },
    Offline,
}

/// How the reading was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadBy {
    Model,
    Offline,
    /// The model was unavailable and the offline fallback is configured.
    OfflineFallback,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadOutcome {
    Read {
        ticket_id: String,
        reading: Reading,
        flags: Vec<TicketFlag>,
        by: ReadBy,
        /// Model calls made (0, 1 or 2).
        calls: u32,
        usage: Usage,
        /// False when the ticket is not in this store (a lane writing elsewhere): the reading still goes on.
        stored: bool,
        /// Why the reading is `unsure` + `read-error`, when it is.
        error: Option<String>,
    },
    AlreadyRead { ticket_id: String },
    /// An append event (a reply or merged duplicate): passed on with the ticket's reading, no model call.
    AppendForwarded { ticket_id: String, message_id: String },
    /// The router's status command, applied (or found applied, or superseded) and acknowledged.
    StatusAcknowledged(StatusAck),
}

pub struct ReadLane<'a, T, R, K> {
    pub reader: &'a Reader<T, R>,
    pub sheet: &'a RulesSheet,
    pub store: &'a Store<K>,
    pub sqs: &'a SqsClient<T, R>,
    /// Where a read ticket is forwarded for the router, if anywhere.
    pub read_queue_url: Option<&'a str>,
    /// Now, in Unix milliseconds: when this delivery claims a ticket's reading.
    pub now_ms: i64,
}

/// How long a delivery's claim on reading a ticket holds another delivery off: longer than one reading takes
/// (a model call with its retries), short enough that a reader that died is replaced soon.
pub const READ_CLAIM_LEASE: std::time::Duration = std::time::Duration::from_secs(30);

impl<T: Transport, R: Runtime, K: Kv> ReadLane<'_, T, R, K> {
    pub async fn handle_message(&self, body: &str) -> Result<ReadOutcome, LaneError> {
        let ticket = match decode_event(body).map_err(|e| LaneError::Permanent(format!("not a ticket: {e}")))? {
            QueueEvent::Ticket(ticket) => ticket,
            QueueEvent::Append(append) => return self.forward_append(append).await,
            QueueEvent::Status(command) => return self.apply_status(command).await,
        };
        if let Some(stored) = self.store.reading_of(&ticket.id).await.map_err(store_error)? {
            // Read before, but the forward may be what failed: send it again (the router may see a ticket twice,
            // as with any SQS delivery; never not at all).
            self.forward(ticket.clone(), &stored.reading, &stored.flags).await?;
            return Ok(ReadOutcome::AlreadyRead { ticket_id: ticket.id });
        }

        // Another delivery of the same ticket may be reading it right now: one model call, not two.
        if !self.store.claim_reading(&ticket.id, self.now_ms, READ_CLAIM_LEASE).await.map_err(store_error)? {
            return Err(LaneError::Retry(format!("ticket {} is being read by another delivery; this one comes back", ticket.id)));
        }
        let Read { reading, by, calls, usage, error } = match self.reader.read(self.sheet, &ticket).await {
            Ok(read) => read,
            Err(e) => {
                // Best effort: a claim left behind holds the next delivery off for the lease at most.
                let _ = self.store.release_reading(&ticket.id).await;
                return Err(model_error(e));
            }
        };
        let flags: Vec<TicketFlag> = error.iter().map(|_| TicketFlag::ReadError).collect();
        let stored = self.store.record_reading(&ticket.id, &reading, &flags).await.map_err(store_error)?;
        let ticket_id = ticket.id.clone();
        self.forward(ticket, &reading, &flags).await?;
        Ok(ReadOutcome::Read { ticket_id, reading, flags, by, calls, usage, stored, error })
    }

    /// An append goes on with the reading its ticket already has. Before the ticket is read (the two travel
    /// apart; a queue need not keep order) the append waits for redelivery, so appends normally reach the router
    /// after their ticket — not always: the ticket's own forward may fail after its reading was stored, and is
    /// sent again only when its message comes back (the contract in `docs/deploy.md` says so).
    async fn forward_append(&self, append: Append) -> Result<ReadOutcome, LaneError> {
        let Some(stored) = self.store.reading_of(&append.ticket_id).await.map_err(store_error)? else {
            return Err(LaneError::Retry(format!("ticket {} is not read yet; its append waits", append.ticket_id)));
        };
        self.send(router_events::append_message(&append, &stored.reading, &stored.flags)).await?;
        Ok(ReadOutcome::AppendForwarded { ticket_id: append.ticket_id, message_id: append.message.id })
    }

    /// The router's command onto the record, then its acknowledgement. Applied first: if the acknowledgement
    /// fails, the redelivered command finds itself applied and is acknowledged then.
    async fn apply_status(&self, command: StatusCommand) -> Result<ReadOutcome, LaneError> {
        let Some(ack) = self.store.set_status(&command).await.map_err(store_error)? else {
            return Err(LaneError::Permanent(format!(
                "status command {}: there is no ticket {} in this store",
                command.command_id, command.ticket_id
            )));
        };
        self.send(router_events::status_ack_message(&ack)).await?;
        Ok(ReadOutcome::StatusAcknowledged(ack))
    }

    /// One event onto the read-tickets queue, when there is one.
    async fn send(&self, message: OutgoingMessage) -> Result<(), LaneError> {
        let Some(url) = self.read_queue_url else { return Ok(()) };
        self.sqs.send_message(url, &message).await.map_err(|e| LaneError::classify(e.is_retryable(), "read-tickets queue", e))?;
        Ok(())
    }

    /// The read ticket onto the read-tickets queue, when there is one.
    async fn forward(&self, mut ticket: Ticket, reading: &Reading, flags: &[TicketFlag]) -> Result<(), LaneError> {
        if self.read_queue_url.is_none() {
            return Ok(());
        }
        ticket.reading = Some(reading.clone());
        for flag in flags {
            if !ticket.flags.contains(flag) {
                ticket.flags.push(*flag);
            }
        }
        self.send(router_events::ticket_message(&ticket)).await
    }
}

/// One reading as the read lane makes it (also what `tr-intake eval` measures).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    pub reading: Reading,
    pub by: ReadBy,
    /// Model calls made (0, 1 or 2).
    pub calls: u32,
    pub usage: Usage,
    /// Why the reading is `unsure` + `read-error`, when it is.
    pub error: Option<String>,
}

impl<T: Transport, R: Runtime> Reader<T, R> {
    /// At most two calls (an invalid answer gets one retry); a refusal about the ticket → `unsure` with the
    /// error; a setup refusal or an outage → the error (or the offline fallback, when configured).
    pub async fn read(&self, sheet: &RulesSheet, ticket: &Ticket) -> Result<Read, ModelError> {
        let (client, offline_fallback) = match self {
            Reader::Offline => {
                let reading = read_offline(sheet, ticket);
                return Ok(Read { reading, by: ReadBy::Offline, calls: 0, usage: Usage::default(), error: None });
            }
            Reader::Model { client, offline_fallback } => (client, *offline_fallback),
        };
        let mut usage = Usage::default();
        let mut last_problem = String::new();
        for calls in 1..=2u32 {
            match client.read(sheet, ticket).await {
                Ok(answer) => {
                    usage.input_tokens += answer.usage.input_tokens;
                    usage.output_tokens += answer.usage.output_tokens;
                    match answer.answer {
                        Ok(reading) => return Ok(Read { reading, by: ReadBy::Model, calls, usage, error: None }),
                        Err(e) => last_problem = e.to_string(),
                    }
                }
                Err(e) if e.is_validation() => {
                    return Ok(Read { reading: unsure(), by: ReadBy::Model, calls, usage, error: Some(e.to_string()) });
                }
                Err(e) if e.is_retryable() && offline_fallback => {
                    let reading = read_offline(sheet, ticket);
                    return Ok(Read { reading, by: ReadBy::OfflineFallback, calls, usage, error: None });
                }
                Err(e) => return Err(e),
            }
        }
        let error = Some(format!("invalid answer twice; last: {last_problem}"));
        Ok(Read { reading: unsure(), by: ReadBy::Model, calls: 2, usage, error })
    }
}

fn unsure() -> Reading {
    Reading { topic: UNSURE.to_owned(), urgency: Urgency::Medium, tone: Tone::Calm }
}

fn model_error(e: ModelError) -> LaneError {
    LaneError::classify(e.is_retryable(), "model", e)
}
