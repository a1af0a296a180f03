//! The chat lane end to end, minus the trigger: transcript → ticket → store → ticket queue.
//!
//! Role: everything the chat component does between checking the signature and decoding the body, and
//! answering. Key decisions:
//! - The idempotency key is `chat:` + the conversation id, so the same transcript posted twice (a retry, a
//!   replay, a tool that sends on every status change) is the same ticket: [`ChatOutcome::Repeat`] once it was
//!   queued, nothing queued twice.
//! - A visitor without an email gets a ticket flagged [`TicketFlag::Anonymous`]; the store never merges such a
//!   ticket by identity. A visitor with one is matched like any customer, so a form they send about the same
//!   problem merges into the chat's ticket.
//! - Errors are typed for the HTTP answer: [`ChatLaneError::Fold`] (no visitor text: 422),
//!   [`ChatLaneError::Refused`] (a field normalisation refuses, naming it: 422), [`ChatLaneError::Lane`]
//!   (store or queue: `Retry` → 503 + Retry-After, `Permanent` → 500).

use crate::chat::fold::{FoldConfig, FoldError, Folded, fold};
use crate::chat::transcript::Transcript;
use crate::keep::{Kept, keep};
use crate::lane_error::LaneError;
use crate::normalise::{Limits, NormaliseError, normalise_email};
use crate::sqs_client::SqsClient;
use crate::store::{Intake, Kv, Store};
use crate::ticket::TicketFlag;
use crate::transport::{Runtime, Transport};

/// Where the lane sends what it makes, and how it folds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatLaneConfig {
    /// New tickets go here (once each).
    pub ticket_queue_url: String,
    /// Optional: an append (a chat added to an open ticket of the same customer) is announced here for the router.
    pub append_queue_url: Option<String>,
    pub limits: Limits,
    pub fold: FoldConfig,
}

/// What became of one transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatOutcome {
    Created { ticket_id: String },
    /// Merged into an open ticket of the same (identified) visitor.
    Appended { ticket_id: String },
    /// This conversation was already kept and queued: nothing changed.
    Repeat { ticket_id: String },
    /// A resolved chat under the default policy: acknowledged, nothing made.
    Resolved,
}

impl ChatOutcome {
    pub fn ticket_id(&self) -> Option<&str> {
        match self {
            ChatOutcome::Created { ticket_id }
            | ChatOutcome::Appended { ticket_id }
            | ChatOutcome::Repeat { ticket_id } => Some(ticket_id),
            ChatOutcome::Resolved => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ChatLaneError {
    #[error(transparent)]
    Fold(#[from] FoldError),
    /// A field the normaliser refuses (an invalid visitor email, a non-http page URL, …); `field()` names it.
    #[error("ticket field refused: {0}")]
    Refused(#[from] NormaliseError),
    #[error(transparent)]
    Lane(#[from] LaneError),
}

/// The clients and store the lane works with; the component builds them from its variables.
pub struct ChatLane<'a, T, R, K> {
    pub sqs: &'a SqsClient<T, R>,
    pub store: &'a Store<K>,
    pub runtime: &'a R,
    pub config: &'a ChatLaneConfig,
}

impl<T: Transport, R: Runtime, K: Kv> ChatLane<'_, T, R, K> {
    pub async fn handle(&self, transcript: &Transcript) -> Result<ChatOutcome, ChatLaneError> {
        let mut draft = match fold(transcript, &self.config.fold)? {
            Folded::Draft(draft) => *draft,
            Folded::Resolved => return Ok(ChatOutcome::Resolved),
        };
        // A visitor who mistyped their address still had the conversation: keep it, as an anonymous visitor's,
        // with what they typed in the body for the agent. (The form refuses such an address instead: there the
        // person is still on the page to correct it.)
        if let Some(typed) = draft.customer_email.take() {
            match normalise_email(&typed) {
                Ok(_) => draft.customer_email = Some(typed),
                Err(e) => draft.body.push_str(&format!("\n\n(The visitor gave the address \"{}\", which is not usable: {e}.)", typed.trim())),
            }
        }
        let mut ticket = draft.into_ticket(self.runtime.now(), self.runtime.random_u128(), &self.config.limits)?;
        if ticket.customer.email.is_none() {
            ticket.flags.push(TicketFlag::Anonymous);
        }
        let config = self.config;
        let kept =
            keep(self.store, self.sqs, &config.ticket_queue_url, config.append_queue_url.as_deref(), Intake::new(ticket))
                .await?;
        Ok(match kept {
            Kept::Created { ticket_id } => ChatOutcome::Created { ticket_id },
            Kept::Appended { ticket_id } => ChatOutcome::Appended { ticket_id },
            Kept::Repeat { ticket_id } => ChatOutcome::Repeat { ticket_id },
        })
    }
}
