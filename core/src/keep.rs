//! The step every intake lane ends with: keep the ticket in the store, then queue what is new — once.
//!
//! Key decisions (the store's module note has the whole protocol):
//! - A created ticket is sent to the ticket queue, then confirmed with [`Store::mark_enqueued`]; until the
//!   confirmation a retry gets the same ticket back and sends it again (same id), never a second ticket.
//! - An append goes on the optional append queue for the router, never on the ticket queue (no second model
//!   call), then [`Store::mark_append_sent`].
//! - Store and queue failures that may pass are [`LaneError::Retry`]; the rest [`LaneError::Permanent`].

use crate::lane_error::LaneError;
use crate::sqs_client::{OutgoingMessage, SqsClient, SqsError};
use crate::store::{Intake, IntakeOutcome, Kv, Store, StoreError};
use crate::transport::{Runtime, Transport};

/// What became of a kept intake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kept {
    Created { ticket_id: String },
    Appended { ticket_id: String },
    Repeat { ticket_id: String },
}

/// Store `intake`, then send a new ticket to `ticket_queue_url` or announce an append on `append_queue_url`.
pub async fn keep<T: Transport, R: Runtime, K: Kv>(
    store: &Store<K>,
    sqs: &SqsClient<T, R>,
    ticket_queue_url: &str,
    append_queue_url: Option<&str>,
    intake: Intake,
) -> Result<Kept, LaneError> {
    match store.intake(intake).await.map_err(store_error)? {
        IntakeOutcome::Created { ticket, .. } => {
            sqs.send_ticket(ticket_queue_url, &ticket).await.map_err(sqs_error)?;
            store.mark_enqueued(&ticket).await.map_err(store_error)?;
            Ok(Kept::Created { ticket_id: ticket.id })
        }
        IntakeOutcome::Appended(append) => {
            if let Some(url) = append_queue_url {
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
                sqs.send_message(url, &event).await.map_err(sqs_error)?;
            }
            store.mark_append_sent(&append).await.map_err(store_error)?;
            Ok(Kept::Appended { ticket_id: append.ticket_id })
        }
        IntakeOutcome::Repeat { ticket_id } => Ok(Kept::Repeat { ticket_id }),
    }
}

pub fn store_error(e: StoreError) -> LaneError {
    LaneError::classify(e.is_retryable(), "store", e)
}

pub fn sqs_error(e: SqsError) -> LaneError {
    LaneError::classify(e.is_retryable(), "ticket queue", e)
}
