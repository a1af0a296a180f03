//! The ticket on the queue: versioned JSON.
//!
//! `{"v":1,"ticket":{…}}`. A reader refuses a version it does not know with [`WireError::UnknownVersion`] rather
//! than guessing, so a rolling deploy that changes the shape fails loudly and the message is retried or
//! dead-lettered, never misread. Within a version, additions are optional fields: unknown fields are ignored, so
//! an older reader keeps working while a newer writer adds them.

use serde::{Deserialize, Serialize};

use crate::ticket::Ticket;

/// The version this build writes, and the only one it reads.
pub const WIRE_VERSION: u32 = 1;

#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("ticket message is not JSON or not a ticket: {0}")]
    Malformed(String),
    #[error("ticket message has no version field \"v\"")]
    MissingVersion,
    #[error("ticket message version {found} is not supported (this build reads version {WIRE_VERSION})")]
    UnknownVersion { found: u64 },
}

#[derive(Serialize)]
struct EnvelopeOut<'a> {
    v: u32,
    ticket: &'a Ticket,
}

#[derive(Deserialize)]
struct EnvelopeIn {
    ticket: Ticket,
}

pub fn encode(ticket: &Ticket) -> String {
    serde_json::to_string(&EnvelopeOut { v: WIRE_VERSION, ticket })
        .expect("a Ticket holds only strings, bools, lists and options")
}

pub fn decode(json: &str) -> Result<Ticket, WireError> {
    // Read the version first, so a future shape is reported as a version problem, not as a parse error.
    let value: serde_json::Value = serde_json::from_str(json).map_err(|e| WireError::Malformed(e.to_string()))?;
    match value.get("v") {
        None => return Err(WireError::MissingVersion),
        Some(v) => match v.as_u64() {
            Some(n) if n == u64::from(WIRE_VERSION) => {}
            Some(n) => return Err(WireError::UnknownVersion { found: n }),
            None => return Err(WireError::Malformed(format!("\"v\" must be a number, found {v}"))),
        },
    }
    let envelope: EnvelopeIn = serde_json::from_value(value).map_err(|e| WireError::Malformed(e.to_string()))?;
    Ok(envelope.ticket)
}
