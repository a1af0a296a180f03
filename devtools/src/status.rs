//! `tr-intake status ID solved|closed|open`: the router's status command, sent to the local ticket queue.
//!
//! Key decisions: it sends exactly what a router sends — tr-core's [`StatusCommand`], encoded by tr-core, through
//! the SQS API with the embedded endpoint's key — so trying the lifecycle locally exercises the read component's
//! real path (applied to the record, acknowledged on the read queue). The command id is a new ULID unless one is
//! given: giving the same one again is how to see a command acknowledged twice and applied once.

use std::time::SystemTime;

use anyhow::Context;
use tr_core::normalise::new_id;
use tr_core::store::{StatusCommand, TicketStatus};

use crate::local_aws::{LocalAwsState, TICKET_QUEUE};

/// The command, checked, before anything is sent: a malformed one would only end in the dead-letter queue.
pub fn command(ticket_id: &str, status: TicketStatus, command_id: Option<&str>) -> anyhow::Result<StatusCommand> {
    let now = SystemTime::now();
    let command_id = match command_id {
        Some(id) => id.to_owned(),
        None => {
            let mut bytes = [0u8; 16];
            getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness for a command id: {e}"))?;
            new_id(now, u128::from_le_bytes(bytes))
        }
    };
    Ok(StatusCommand::new(ticket_id, status, &command_id, now)?)
}

/// Sends `command` to the ticket queue; returns the queue's message id.
pub async fn send(state: &LocalAwsState, command: &StatusCommand) -> anyhow::Result<String> {
    let url = state.queue_url(TICKET_QUEUE)?;
    let sqs = aws_sdk_sqs::Client::new(&state.sdk_config().await);
    let sent = sqs
        .send_message()
        .queue_url(url)
        .message_body(command.encode())
        .send()
        .await
        .with_context(|| format!("SendMessage {TICKET_QUEUE}"))?;
    Ok(sent.message_id().unwrap_or_default().to_owned())
}
