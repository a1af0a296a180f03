//! The email lane end to end, minus the trigger: S3 event → raw mail from S3 → ticket → store → ticket queue.
//!
//! Role: everything the email component does between decoding its SQS message and answering `delete` or
//! `leave`. Key decisions:
//! - The answer is per SQS message, so one failing object in a multi-record event leaves the whole message; the
//!   objects already done are idempotent (Message-ID or the raw bytes' hash), so the redelivery repeats nothing.
//! - A mail the full path cannot read (over the size cap, unparseable, no text) still becomes a ticket, flagged
//!   `unparseable`, from its headers ([`crate::email::salvage`]), with where the raw mail is kept. Only a mail
//!   with no usable sender, an auto-reply, or an object that is gone makes no ticket: logged with the reason and
//!   the message deleted (redelivering it could not change the answer; the raw mail stays in S3).
//! - Anything a dependency did (S3, the store, the queue) that may pass is [`LaneError::Retry`]: the message is
//!   left and comes back after its visibility timeout, then goes to the dead-letter queue after N receives.
//! - Behind SES (`email_sender_verification = ses`, the default) a mail whose sender SES's SPF/DKIM/DMARC
//!   verdicts do not vouch for is flagged `unverified-sender`: a ticket of its own, never a reply or duplicate
//!   appended to a customer's ticket. `off` is for a bucket nothing writes verdicts into (the local mail drop).
//! - An event that is not an S3 notification, or credentials S3/SQS refuse, are [`LaneError::Permanent`]: also
//!   left (so the dead-letter queue keeps it for a person), but logged as an error rather than weather.

use crate::email::salvage::{HEADER_BYTES, salvage};
use crate::email::sender_trust::{self, SenderVerification};
use crate::email::{BodySource, DEFAULT_MAX_BYTES, EmailError, email_to_draft, idempotency_key};
use crate::guest_failure::GuestFailure;
use crate::normalise::{Limits, TicketDraft};
use crate::s3_client::{S3Client, S3Config, S3Error};
use crate::vars::{VarError, Vars};
use crate::wiring::{Wiring, intake_queues};
use crate::s3_event::{S3Event, S3Object, parse_s3_event};
use crate::store::keep::{Kept, keep};
use crate::sqs_client::SqsClient;
use crate::store::{Intake, Kv, Store};
use crate::ticket::{Source, ThreadIds, Ticket, TicketFlag};
use crate::transport::{Runtime, Transport};

/// Where the lane sends what it makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailLaneConfig {
    /// New tickets go here (once each).
    pub ticket_queue_url: String,
    /// Optional: appends (a reply or duplicate added to an existing ticket) go here instead of the ticket queue.
    pub append_queue_url: Option<String>,
    pub limits: Limits,
    /// `email_sender_verification`: whether SES's verdicts must vouch for a sender before its mail joins an
    /// existing ticket ([`crate::email::sender_trust`]).
    pub sender_verification: SenderVerification,
}

/// What became of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailOutcome {
    Created { ticket_id: String },
    /// A ticket flagged `unparseable`, made from the headers of a mail that could not be read whole.
    Unparseable { ticket_id: String },
    Appended { ticket_id: String },
    Repeat { ticket_id: String },
    /// An automatic message (auto-reply, bounce, list mail): no ticket, by design.
    Suppressed { reason: String },
    /// This mail can never become a ticket; the reason says why.
    Refused { reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaneVerdict {
    /// `s3:TestEvent`: nothing to do.
    TestEvent,
    Done(Vec<(S3Object, MailOutcome)>),
}

impl std::fmt::Display for MailOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MailOutcome::Created { ticket_id } => write!(f, "created {ticket_id}"),
            MailOutcome::Unparseable { ticket_id } => write!(f, "created {ticket_id}, flagged unparseable"),
            MailOutcome::Appended { ticket_id } => write!(f, "appended to {ticket_id}"),
            MailOutcome::Repeat { ticket_id } => write!(f, "repeat of {ticket_id}"),
            MailOutcome::Suppressed { reason } => write!(f, "suppressed ({reason})"),
            MailOutcome::Refused { reason } => write!(f, "refused ({reason})"),
        }
    }
}

pub use crate::lane_error::LaneError;

/// The lane with its clients, built from the variables: what the component holds for one message.
pub struct EmailWorker<T, R, K> {
    s3: S3Client<T, R>,
    sqs: SqsClient<T, R>,
    store: Store<K>,
    runtime: R,
    config: EmailLaneConfig,
}

impl<T: Transport + Clone, R: Runtime + Clone, K: Kv> EmailWorker<T, R, K> {
    /// The shared wiring plus `s3_endpoint`, `s3_path_style`, `max_mail_bytes` (default 40 MiB, SES's own
    /// limit) and `email_sender_verification` (`ses`, the default, or `off`).
    pub async fn from_vars(vars: &impl Vars, mut wiring: Wiring<T, R, K>) -> Result<Self, GuestFailure> {
        let credentials = wiring.credentials.clone()?;
        let max_bytes = match vars.optional("max_mail_bytes").await {
            Some(v) => v.parse::<u64>().map_err(|e| VarError::Invalid { name: "max_mail_bytes".into(), why: e.to_string() })?,
            None => DEFAULT_MAX_BYTES as u64,
        };
        let mut s3 = S3Config::new(wiring.region.clone(), credentials, max_bytes);
        s3.endpoint = vars.optional("s3_endpoint").await;
        s3.path_style = vars.optional("s3_path_style").await.is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let sender_verification = match vars.optional("email_sender_verification").await {
            Some(v) => SenderVerification::parse(&v)
                .map_err(|why| VarError::Invalid { name: "email_sender_verification".into(), why })?,
            None => SenderVerification::Ses,
        };
        let queues = intake_queues(vars).await;
        let config = EmailLaneConfig {
            ticket_queue_url: queues.ticket_queue_url?,
            append_queue_url: queues.append_queue_url,
            limits: Limits::default(),
            sender_verification,
        };
        Ok(Self {
            s3: S3Client::new(s3, wiring.transport.clone(), wiring.runtime.clone()),
            sqs: wiring.sqs()?,
            store: wiring.store()?,
            runtime: wiring.runtime.clone(),
            config,
        })
    }

    /// One SQS message: the lane, then one log line per object (bucket, key, outcome, ticket id); never a body,
    /// an address or a secret.
    pub async fn handle_message(&self, message_id: &str, body: &str) -> Result<(), GuestFailure> {
        let lane = EmailLane { s3: &self.s3, sqs: &self.sqs, store: &self.store, runtime: &self.runtime, config: &self.config };
        match lane.handle_message(body).await? {
            LaneVerdict::TestEvent => self.runtime.log(&format!("[email] message {message_id}: s3:TestEvent, nothing to do")),
            LaneVerdict::Done(objects) => {
                for (object, outcome) in objects {
                    self.runtime.log(&format!("[email] s3://{}/{} -> {outcome}", object.bucket, object.key));
                }
            }
        }
        Ok(())
    }
}

/// The clients and store the lane works with; the component builds them from its variables.
pub struct EmailLane<'a, T, R, K> {
    pub s3: &'a S3Client<T, R>,
    pub sqs: &'a SqsClient<T, R>,
    pub store: &'a Store<K>,
    pub runtime: &'a R,
    pub config: &'a EmailLaneConfig,
}

impl<T: Transport, R: Runtime, K: Kv> EmailLane<'_, T, R, K> {
    /// One SQS message body (an S3 event notification) → what became of each object in it.
    pub async fn handle_message(&self, body: &str) -> Result<LaneVerdict, LaneError> {
        let objects = match parse_s3_event(body).map_err(|e| LaneError::Permanent(e.to_string()))? {
            S3Event::Test => return Ok(LaneVerdict::TestEvent),
            S3Event::Objects(objects) => objects,
        };
        let mut done = Vec::with_capacity(objects.len());
        for object in objects {
            let outcome = self.handle_object(&object).await?;
            done.push((object, outcome));
        }
        Ok(LaneVerdict::Done(done))
    }

    async fn handle_object(&self, object: &S3Object) -> Result<MailOutcome, LaneError> {
        let limit = self.s3.config().max_object_bytes;
        let declared_too_large = object.size.is_some_and(|s| s > limit);
        let fetched = if declared_too_large {
            Err(S3Error::TooLarge { bytes: object.size.unwrap_or_default(), limit })
        } else {
            self.s3.get_object(&object.bucket, &object.key).await
        };
        let raw = match fetched {
            Ok(raw) => raw,
            // Too large to read whole: its headers still name the customer.
            Err(S3Error::TooLarge { bytes, limit }) => {
                let head = match self.s3.get_object_prefix(&object.bucket, &object.key, HEADER_BYTES as u64).await {
                    Ok(head) => head,
                    Err(e) => return s3_failure(e),
                };
                let why = format!("it is {bytes} bytes, over the {limit}-byte limit");
                return self.salvaged(&head, &why, object).await;
            }
            Err(e) => return s3_failure(e),
        };
        let mail = match email_to_draft(&raw, limit as usize) {
            Ok(mail) => mail,
            Err(EmailError::Suppressed(reason)) => return Ok(MailOutcome::Suppressed { reason: reason.to_string() }),
            Err(e @ EmailError::NoSender(_)) => return Ok(MailOutcome::Refused { reason: e.to_string() }),
            Err(e) => return self.salvaged(&raw, &e.to_string(), object).await,
        };
        let mut draft = mail.draft;
        if mail.body_source != BodySource::Attachments && !mail.attachments.is_empty() {
            draft.body.push_str("\n\n");
            draft.body.push_str(&attachment_list(&mail.attachments));
        }
        let mut ticket = match draft.into_ticket(self.runtime.now(), self.runtime.random_u128(), &self.config.limits) {
            Ok(ticket) => ticket,
            Err(e) => return self.salvaged(&raw, &format!("ticket field refused: {e}"), object).await,
        };
        if mail.strip.may_have_cut_reply {
            ticket.flags.push(TicketFlag::ReplyMayBeCut);
        }
        self.judge_sender(&raw, &mut ticket, object);
        let mut intake = Intake::new(ticket).with_raw_body(&mail.raw_body);
        intake.participants = mail.participants;
        self.keep(intake).await
    }

    /// A mail that cannot become a normal ticket still becomes one, flagged `unparseable`, from its headers —
    /// unless it names no usable sender (nobody to answer: refused, logged).
    async fn salvaged(&self, raw: &[u8], why: &str, object: &S3Object) -> Result<MailOutcome, LaneError> {
        let Some(found) = salvage(raw) else {
            return Ok(MailOutcome::Refused { reason: format!("{why}; no usable sender in its headers") });
        };
        let location = format!("s3://{}/{}", object.bucket, object.key);
        let draft = TicketDraft {
            source: Source::Email,
            customer_email: Some(found.address),
            customer_name: found.name,
            subject: found.subject.unwrap_or_default(),
            body: format!("This email could not be read ({why}). The raw message is kept at {location}."),
            page_url: None,
            thread: ThreadIds { message_id: found.message_id.clone(), in_reply_to: None, references: Vec::new() },
            transcript_id: None,
            // As on the normal path, so a salvaged mail and its normal reading agree; an over-long Message-ID
            // must not make the mail unkeepable.
            idempotency_key: idempotency_key(found.message_id.as_deref(), raw),
        };
        let mut ticket = match draft.into_ticket(self.runtime.now(), self.runtime.random_u128(), &self.config.limits) {
            Ok(ticket) => ticket,
            Err(e) => return Ok(MailOutcome::Refused { reason: format!("{why}; salvaged fields refused: {e}") }),
        };
        ticket.flags.push(TicketFlag::Unparseable);
        self.judge_sender(raw, &mut ticket, object);
        match self.keep(Intake::new(ticket)).await? {
            MailOutcome::Created { ticket_id } => Ok(MailOutcome::Unparseable { ticket_id }),
            other => Ok(other),
        }
    }

    /// Behind SES, a sender its verdicts do not vouch for flags the ticket `unverified-sender`: the store then
    /// keeps it as a ticket of its own, never appended to another. Logged without the address.
    fn judge_sender(&self, raw: &[u8], ticket: &mut Ticket, object: &S3Object) {
        if self.config.sender_verification == SenderVerification::Off {
            return;
        }
        let check = sender_trust::judge(raw, ticket.customer.email.as_deref().unwrap_or(""));
        if !check.is_verified() {
            self.runtime.log(&format!("[email] s3://{}/{}: sender {check}", object.bucket, object.key));
            ticket.flags.push(TicketFlag::UnverifiedSender);
        }
    }

    /// Store, then queue what is new (once), or announce what was appended.
    async fn keep(&self, intake: Intake) -> Result<MailOutcome, LaneError> {
        let config = self.config;
        Ok(match keep(self.store, self.sqs, &config.ticket_queue_url, config.append_queue_url.as_deref(), intake).await? {
            Kept::Created { ticket_id } => MailOutcome::Created { ticket_id },
            Kept::Appended { ticket_id } => MailOutcome::Appended { ticket_id },
            Kept::Repeat { ticket_id } => MailOutcome::Repeat { ticket_id },
        })
    }
}

/// A missing object is done (refused: S3 is strongly consistent, so it was deleted); the rest is weather or
/// configuration.
fn s3_failure(e: S3Error) -> Result<MailOutcome, LaneError> {
    match e {
        S3Error::NotFound { .. } => Ok(MailOutcome::Refused { reason: e.to_string() }),
        e => Err(LaneError::classify(e.is_retryable(), "S3", e)),
    }
}

/// Listed, never inlined: "Attachments: invoice.pdf (application/pdf, 12,345 bytes)".
fn attachment_list(attachments: &[crate::email::Attachment]) -> String {
    let items: Vec<String> = attachments
        .iter()
        .map(|a| format!("{} ({}, {} bytes)", a.name.as_deref().unwrap_or("unnamed"), a.content_type, a.size))
        .collect();
    format!("Attachments: {}", items.join("; "))
}
