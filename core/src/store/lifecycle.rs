//! A ticket's status — open, solved, closed — set by the router's commands and by the customer's replies.
//!
//! Key decisions (the rules for replies and duplicates are in [`crate::store`]'s module note):
//! - What Zendesk and Zammad do. `solved` is the agent's word that the problem is fixed, which the customer can
//!   still contradict: a reply in the ticket's thread within [`super::StoreConfig::reopen_window`] (7 days)
//!   reopens it. `closed` is final: a reply starts a new ticket linked `follow-up-of`, as does a reply to a
//!   ticket solved longer ago than the window. Neither ever absorbs a duplicate.
//! - The router sends its commands on the ticket queue ([`StatusCommand`], `{"v":1,"event":"status",…}`),
//!   authenticated like every queue here (IAM, SigV4): no endpoint and no shared secret to add, and the read
//!   component, which already consumes that queue, applies them and acknowledges on the read queue
//!   ([`StatusAck`]).
//! - A standard queue reorders and redelivers, so a command carries its own time (`at`) and the latest change
//!   wins: the status remembers when it was set and by which command. The same command again changes nothing and
//!   is acknowledged the same way; a command older than the status's last change (a newer command, or a reply
//!   that reopened the ticket) is `superseded`. No list of past commands is kept, so the record stays bounded.
//! - The store reads no clock: a command's time is the router's, a reopening's is the reply's `received_at`.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::keys;
use super::record::{LinkReason, Message, TicketRecord};
use crate::normalise::rfc3339_utc;
use crate::wire::WIRE_VERSION;

/// The `event` of a status command on the ticket queue.
pub const STATUS_EVENT: &str = "status";

/// The `event` of its acknowledgement on the read queue.
pub const STATUS_ACK_EVENT: &str = "status-ack";

/// Longest command id: with the ticket id it makes an event id well inside SQS's 128-character deduplication id.
pub const MAX_COMMAND_ID: usize = 64;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    /// New, or reopened: replies join it, duplicates merge into it.
    #[default]
    Open,
    /// Fixed, as far as the agent knows: a reply within the reopen window reopens it; no duplicate joins it.
    Solved,
    /// Done for good: a reply starts a follow-up ticket; no duplicate joins it.
    Closed,
}

impl TicketStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Open => "open",
            TicketStatus::Solved => "solved",
            TicketStatus::Closed => "closed",
        }
    }
}

/// The router's command: set ticket `ticket_id` to `status`, as decided at `at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusCommand {
    pub ticket_id: String,
    pub status: TicketStatus,
    /// The router's id for this command, unique per command (a ULID or UUID): a re-send of the same command keeps
    /// it. 1 to [`MAX_COMMAND_ID`] of `A-Z a-z 0-9 - _ . :`.
    pub command_id: String,
    /// When the router decided it, RFC 3339 (stored as UTC with milliseconds). Orders commands: see the note.
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("ticket_id {0:?} is not a ticket id (a 26-character ULID)")]
    TicketId(String),
    #[error("command_id {0:?} is not 1 to {MAX_COMMAND_ID} of A-Z a-z 0-9 - _ . :")]
    CommandId(String),
    #[error("at {0:?} is not an RFC 3339 time")]
    Time(String),
}

impl StatusCommand {
    /// A command for now (`at` from `now`), checked.
    pub fn new(ticket_id: &str, status: TicketStatus, command_id: &str, now: SystemTime) -> Result<Self, CommandError> {
        let command = Self { ticket_id: ticket_id.to_owned(), status, command_id: command_id.to_owned(), at: rfc3339_utc(now) };
        command.checked()
    }

    /// The command with its fields checked and `at` in the store's form (UTC, milliseconds): what arrives on a
    /// queue is refused, never guessed at.
    pub fn checked(mut self) -> Result<Self, CommandError> {
        if !keys::is_ticket_id(&self.ticket_id) {
            return Err(CommandError::TicketId(self.ticket_id));
        }
        let id_ok = (1..=MAX_COMMAND_ID).contains(&self.command_id.len())
            && self.command_id.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
        if !id_ok {
            return Err(CommandError::CommandId(self.command_id));
        }
        let at = OffsetDateTime::parse(&self.at, &Rfc3339).map_err(|_| CommandError::Time(self.at.clone()))?;
        self.at = rfc3339_utc(SystemTime::from(at));
        Ok(self)
    }

    /// `{"v":1,"event":"status","status":{…}}`, as the router puts it on the ticket queue.
    pub fn encode(&self) -> String {
        #[derive(Serialize)]
        struct Out<'a> {
            v: u32,
            event: &'static str,
            status: &'a StatusCommand,
        }
        serde_json::to_string(&Out { v: WIRE_VERSION, event: STATUS_EVENT, status: self }).expect("plain data serialises")
    }
}

/// What a command did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusOutcome {
    /// This command set the ticket's current status (now, or on an earlier delivery of the same command).
    Applied,
    /// The ticket already had that status, set by something else; nothing changed.
    Unchanged,
    /// The status was changed after the command's `at` (a newer command, or a reply that reopened the ticket);
    /// nothing changed.
    Superseded,
}

impl StatusOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            StatusOutcome::Applied => "applied",
            StatusOutcome::Unchanged => "unchanged",
            StatusOutcome::Superseded => "superseded",
        }
    }
}

/// The read stage's answer to a command, on the read queue for the router.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusAck {
    pub ticket_id: String,
    pub command_id: String,
    /// What the command asked for, and its time.
    pub requested: TicketStatus,
    pub requested_at: String,
    pub outcome: StatusOutcome,
    /// The ticket's status after the command, and since when (`None` for a ticket closed before statuses had a
    /// time).
    pub status: TicketStatus,
    pub status_at: Option<String>,
}

impl TicketRecord {
    pub fn is_open(&self) -> bool {
        self.status == TicketStatus::Open
    }

    /// Applies a checked command: the acknowledgement, and whether the record changed (and must be written).
    pub fn apply_command(&mut self, command: &StatusCommand) -> (StatusAck, bool) {
        let (outcome, changed) = if self.status_command.as_deref() == Some(command.command_id.as_str()) {
            (StatusOutcome::Applied, false)
        } else if millis(self.status_at.as_deref()).is_some_and(|last| millis(Some(&command.at)).is_some_and(|at| at < last)) {
            (StatusOutcome::Superseded, false)
        } else if self.status == command.status {
            (StatusOutcome::Unchanged, false)
        } else {
            self.status = command.status;
            self.status_at = Some(command.at.clone());
            self.status_command = Some(command.command_id.clone());
            (StatusOutcome::Applied, true)
        };
        let ack = StatusAck {
            ticket_id: command.ticket_id.clone(),
            command_id: command.command_id.clone(),
            requested: command.status,
            requested_at: command.at.clone(),
            outcome,
            status: self.status,
            status_at: self.status_at.clone(),
        };
        (ack, changed)
    }

    /// Whether a reply sent at `at_ms` may still join the ticket: open, or solved at most `window` before it.
    /// Otherwise the reply is a follow-up: a new ticket that links here.
    pub fn takes_reply(&self, at_ms: i64, window: Duration) -> Result<(), LinkReason> {
        match self.status {
            TicketStatus::Open => Ok(()),
            TicketStatus::Closed => Err(LinkReason::FollowUpOf),
            TicketStatus::Solved => match millis(self.status_at.as_deref()) {
                Some(solved) if at_ms - solved <= window.as_millis() as i64 => Ok(()),
                _ => Err(LinkReason::FollowUpOf),
            },
        }
    }

    /// A reply admitted to a solved ticket reopens it, as of the reply (or of the last change, when the reply is
    /// older than that: a command sent before it must stay superseded). Only a solved one: a ticket closed
    /// between the reply's admission and a retry of its write stays closed (only the router reopens it).
    pub(super) fn reopen_for(&mut self, message: &Message) {
        if self.status != TicketStatus::Solved {
            return;
        }
        let later = match (millis(self.status_at.as_deref()), millis(Some(&message.received_at))) {
            (Some(last), Some(reply)) if last > reply => self.status_at.clone(),
            _ => Some(message.received_at.clone()),
        };
        self.status = TicketStatus::Open;
        self.status_at = later;
        self.status_command = None;
    }
}

/// Milliseconds since the epoch of an RFC 3339 time; `None` for none or an unreadable one.
fn millis(at: Option<&str>) -> Option<i64> {
    let at = OffsetDateTime::parse(at?, &Rfc3339).ok()?;
    Some((at.unix_timestamp_nanos() / 1_000_000) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_is_checked_and_its_time_put_in_the_stores_form() {
        let command = |ticket: &str, id: &str, at: &str| {
            StatusCommand { ticket_id: ticket.into(), status: TicketStatus::Solved, command_id: id.into(), at: at.into() }.checked()
        };
        let ok = command("01KB0Y3J5V6N2Q8R9S0T1V2W3X", "cmd:42_a-b.c", "2026-11-27T11:00:00+01:00").unwrap();
        assert_eq!(ok.at, "2026-11-27T10:00:00.000Z");
        assert!(matches!(command("01KB0Y3J5V6N2Q8R9S0T1V2W3x", "c", "2026-11-27T10:00:00Z"), Err(CommandError::TicketId(_))));
        assert!(matches!(command("../t/x", "c", "2026-11-27T10:00:00Z"), Err(CommandError::TicketId(_))));
        for bad in ["", "a b", "é", "x/y", &"c".repeat(MAX_COMMAND_ID + 1)] {
            assert!(matches!(command("01KB0Y3J5V6N2Q8R9S0T1V2W3X", bad, "2026-11-27T10:00:00Z"), Err(CommandError::CommandId(_))), "{bad:?}");
        }
        assert!(command("01KB0Y3J5V6N2Q8R9S0T1V2W3X", &"c".repeat(MAX_COMMAND_ID), "2026-11-27T10:00:00Z").is_ok());
        assert!(matches!(command("01KB0Y3J5V6N2Q8R9S0T1V2W3X", "c", "yesterday"), Err(CommandError::Time(_))));
    }
}
