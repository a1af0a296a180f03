//! The email lane end to end, minus the trigger: S3 event → raw mail from S3 → ticket → store → ticket queue.
//!
//! Role: everything the email component does between decoding its SQS message and answering `delete` or
//! `leave`. Key decisions:
//! - The answer is per SQS message, so one failing object in a multi-record event leaves the whole message; the
//!   objects already done are idempotent (Message-ID or the raw bytes' hash), so the redelivery repeats nothing.
//! - A mail that can never become a ticket (over the size cap, unparseable, no sender, an auto-reply, an object
//!   that is gone) is *done*: it is logged with the reason and the message deleted. The raw mail stays in S3, so
//!   nothing is lost, and redelivering it could not change the answer.
//! - Anything a dependency did (S3, the store, the queue) that may pass is [`LaneError::Retry`]: the message is
//!   left and comes back after its visibility timeout, then goes to the dead-letter queue after N receives.
//! - An event that is not an S3 notification, or credentials S3/SQS refuse, are [`LaneError::Permanent`]: also
//!   left (so the dead-letter queue keeps it for a person), but logged as an error rather than weather.

use crate::email::{BodySource, EmailError, email_to_draft};
use crate::normalise::Limits;
use crate::s3_client::{S3Client, S3Error};
use crate::s3_event::{S3Event, S3Object, parse_s3_event};
use crate::sqs_client::{OutgoingMessage, SqsClient, SqsError};
use crate::store::{Intake, IntakeOutcome, Kv, Store, StoreError};
use crate::transport::{Runtime, Transport};

/// Where the lane sends what it makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailLaneConfig {
    /// New tickets go here (once each).
    pub ticket_queue_url: String,
    /// Optional: an append (a reply or duplicate added to an existing ticket) is announced here for the router.
    pub append_queue_url: Option<String>,
    pub limits: Limits,
}

/// What became of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailOutcome {
    Created { ticket_id: String },
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

#[derive(Debug, thiserror::Error)]
pub enum LaneError {
    #[error("try again later: {0}")]
    Retry(String),
    #[error("cannot be handled as sent: {0}")]
    Permanent(String),
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
        if let Some(size) = object.size.filter(|s| *s > limit) {
            return Ok(MailOutcome::Refused { reason: format!("object is {size} bytes; the limit is {limit}") });
        }
        let raw = match self.s3.get_object(&object.bucket, &object.key).await {
            Ok(raw) => raw,
            Err(e @ (S3Error::NotFound { .. } | S3Error::TooLarge { .. })) => {
                return Ok(MailOutcome::Refused { reason: e.to_string() });
            }
            Err(e) if e.is_retryable() => return Err(LaneError::Retry(format!("S3: {e}"))),
            Err(e) => return Err(LaneError::Permanent(format!("S3: {e}"))),
        };
        let mail = match email_to_draft(&raw, limit as usize) {
            Ok(mail) => mail,
            Err(EmailError::Suppressed(reason)) => return Ok(MailOutcome::Suppressed { reason: reason.to_string() }),
            Err(e) => return Ok(MailOutcome::Refused { reason: e.to_string() }),
        };
        let mut draft = mail.draft;
        if mail.body_source != BodySource::Attachments && !mail.attachments.is_empty() {
            draft.body.push_str("\n\n");
            draft.body.push_str(&attachment_list(&mail.attachments));
        }
        let random = (u128::from(self.runtime.random_u64()) << 64) | u128::from(self.runtime.random_u64());
        let ticket = match draft.into_ticket(self.runtime.now(), random, &self.config.limits) {
            Ok(ticket) => ticket,
            Err(e) => return Ok(MailOutcome::Refused { reason: format!("ticket field refused: {e}") }),
        };
        let intake = Intake::new(ticket).with_raw_body(mail.raw_body);
        match self.store.intake(intake).await.map_err(store_error)? {
            IntakeOutcome::Created { ticket, .. } => {
                self.sqs.send_ticket(&self.config.ticket_queue_url, &ticket).await.map_err(sqs_error)?;
                self.store.mark_enqueued(&ticket).await.map_err(store_error)?;
                Ok(MailOutcome::Created { ticket_id: ticket.id })
            }
            IntakeOutcome::Appended(append) => {
                if let Some(url) = &self.config.append_queue_url {
                    let event = OutgoingMessage {
                        entry_id: "append".into(),
                        body: serde_json::to_string(&append).expect("plain data serialises"),
                        attributes: vec![
                            ("ticket-id".into(), append.ticket_id.clone()),
                            ("event".into(), "append".into()),
                        ],
                        group_id: Some(append.ticket_id.clone()),
                        deduplication_id: None,
                    };
                    self.sqs.send_message(url, &event).await.map_err(sqs_error)?;
                }
                self.store.mark_append_sent(&append).await.map_err(store_error)?;
                Ok(MailOutcome::Appended { ticket_id: append.ticket_id })
            }
            IntakeOutcome::Repeat { ticket_id } => Ok(MailOutcome::Repeat { ticket_id }),
        }
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

fn store_error(e: StoreError) -> LaneError {
    if e.is_retryable() { LaneError::Retry(format!("store: {e}")) } else { LaneError::Permanent(format!("store: {e}")) }
}

fn sqs_error(e: SqsError) -> LaneError {
    if e.is_retryable() {
        LaneError::Retry(format!("ticket queue: {e}"))
    } else {
        LaneError::Permanent(format!("ticket queue: {e}"))
    }
}
