//! What the store keeps: messages, ticket records, customers' recent tickets. Versioned JSON, like the wire.
//!
//! Key decisions:
//! - A **message** is one intake, kept whole under its own key: the fields of the normalised ticket it came in as,
//!   its raw body beside the stripped one, the ticket it belongs to and why. It is written first and never
//!   rewritten by anyone else, so no race between intakes can lose it.
//! - The **ticket record** holds the [`Ticket`] (what goes on the queue, unchanged in shape: appended messages
//!   are listed in its `merged_from`), a list of its messages without their bodies, the merge records that say
//!   why each appended message is there, links to related tickets, and who may reply into it. Bodies live in the
//!   messages, so the record grows by a few hundred bytes per message, never by a body. Every value is bounded
//!   in bytes for any input, under the 400 KB item limit of the strictest Spin backend (DynamoDB): a record by
//!   [`RECORD_BYTES`] (then it is full), a message by the ticket's limits and [`RAW_BODY_BYTES`], a customer's
//!   index by [`CUSTOMER_INDEX_BYTES`] (oldest entries go first).
//! - The **enqueued** flag is on the message that created the ticket, not on the record. Only that intake (and
//!   its retries) ever writes that message, so setting the flag cannot race with an append rewriting the record.
//! - The record carries the ticket's **status** ([`TicketStatus`]: open, solved, closed), when it was set and by
//!   which command ([`super::lifecycle`]). It still writes `closed` (true unless open) for builds from before
//!   statuses, which read only that, and a record without a status reads as `closed` says.
//! - Every value carries `v`; a value of an unknown version is an error, never a guess. Within a version, fields
//!   are only added, optional, so an older build keeps reading what a newer one writes.

use serde::{Deserialize, Serialize, Serializer};

use super::lifecycle::TicketStatus;
use crate::ticket::{Customer, MaskCount, Reading, Source, ThreadIds, Ticket, TicketFlag};

/// The version this build writes, and the only one it reads.
pub const RECORD_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("not a stored value of the expected kind: {0}")]
    Malformed(String),
    #[error("stored value version {found} is not supported (this build reads version {RECORD_VERSION})")]
    UnknownVersion { found: u64 },
}

/// One intake as received: everything its normalised ticket held, plus the raw body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// The id normalisation gave the intake (a ULID). A created ticket takes this id; an appended message is
    /// listed under it in the ticket's `merged_from`.
    pub id: String,
    pub source: Source,
    pub received_at: String,
    pub idempotency_key: String,
    pub customer: Customer,
    pub subject: String,
    /// The stripped body: for email, the reply without its quoted history; what the model reads.
    pub body: String,
    pub body_truncated: bool,
    /// The body before stripping, when the lane had one (email); cleaned like the body, cut at
    /// [`super::StoreConfig::raw_body_limit`].
    pub raw_body: Option<String>,
    pub raw_body_truncated: bool,
    pub page_url: Option<String>,
    /// Its Message-ID, In-Reply-To and References.
    pub thread: ThreadIds,
    pub transcript_id: Option<String>,
    /// Other people on the message (an email's To and Cc), as match addresses: they may reply into the ticket.
    pub participants: Vec<String>,
    #[serde(default)]
    pub flags: Vec<TicketFlag>,
    /// What masking replaced in this message's text, by kind (see [`crate::mask`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub masked: Vec<MaskCount>,
}

impl Message {
    /// The ticket this message starts, when it starts one.
    pub fn to_ticket(&self) -> Ticket {
        Ticket {
            id: self.id.clone(),
            customer: self.customer.clone(),
            subject: self.subject.clone(),
            body: self.body.clone(),
            body_truncated: self.body_truncated,
            source: self.source,
            received_at: self.received_at.clone(),
            page_url: self.page_url.clone(),
            thread: self.thread.clone(),
            transcript_id: self.transcript_id.clone(),
            idempotency_key: self.idempotency_key.clone(),
            merged_from: Vec::new(),
            reading: None,
            flags: self.flags.clone(),
            masked: self.masked.clone(),
        }
    }
}

/// Why a message was appended to a ticket instead of starting one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MergeReason {
    /// The intake named the ticket itself (a ticket reference from a subject tag or a reply address).
    SameKey,
    /// An email whose In-Reply-To or References names a Message-ID already on the ticket.
    Thread,
    /// The same customer about the same problem, within the window, text similarity over the threshold.
    Duplicate,
}

/// The explanation every appended message carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Merge {
    /// The appended message's id.
    pub message: String,
    pub reason: MergeReason,
    /// Text similarity for `duplicate`; 1 for `thread` and `same-key`, which are certain by construction.
    pub score: f64,
    /// For a person: which header matched, or the words the two texts share.
    pub detail: String,
    /// The message reopened the ticket: a reply to it while it was solved, within the reopen window. Absent
    /// (false) otherwise.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reopened: bool,
}

/// Why a new ticket points at an older one it was *not* merged into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LinkReason {
    /// The message threads onto (or names) a ticket, but its sender is neither that ticket's customer nor a
    /// participant: appending a stranger's mail to someone's ticket is the complaint we design against.
    OtherSender,
    /// The ticket it threads onto (or names) is closed, or was solved longer ago than the reopen window: the
    /// conversation goes on in a new ticket, a follow-up of that one (what Zendesk and Zammad do). Records from
    /// before statuses call it `closed`.
    #[serde(alias = "closed")]
    FollowUpOf,
    /// The ticket it threads onto holds [`MAX_MESSAGES`] messages already, or [`RECORD_BYTES`] less room for one
    /// more: a record must stay under the smallest item limit of Spin's key-value backends (DynamoDB: 400 KB),
    /// so the conversation goes on in a new ticket that points back.
    Full,
    /// Same customer, within the window, texts alike but not enough to merge (see
    /// [`super::StoreConfig::links`]): shown to a person, who can merge it.
    PossibleDuplicate,
    /// An email that threads onto (or names) the ticket, but SES's verdicts did not vouch for its sender (the
    /// ticket is flagged `unverified-sender`): a forged From must not write into someone's ticket.
    UnverifiedSender,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub ticket_id: String,
    pub reason: LinkReason,
    /// What pointed there, e.g. `In-Reply-To <id>`.
    pub via: String,
}

/// The value under a message key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageEntry {
    pub v: u32,
    pub ticket_id: String,
    /// `None` for a bare thread pointer: a Message-ID that is not the idempotency key of the message carrying it.
    pub message: Option<Message>,
    /// Set when the message was appended (and how); `None` when it created the ticket.
    pub merge: Option<Merge>,
    /// For a creating message whose thread target it was not admitted to.
    pub link: Option<Link>,
    /// The lane confirmed it sent what this message asked for: the ticket it created (ticket queue), or its
    /// append event (read-tickets queue).
    pub enqueued: bool,
}

/// A message as the record lists it: enough to show a timeline; the bodies are under `key`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRef {
    pub id: String,
    pub key: String,
    pub source: Source,
    pub received_at: String,
    pub subject: String,
    /// The message's own flags (`unverified`, `unverified-sender`, `masked`…), so a timeline shows which words
    /// came from whom, and how sure that is.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<TicketFlag>,
}

/// The value under a reading-claim key: when a delivery of the ticket began reading it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadingClaim {
    pub v: u32,
    pub at_ms: i64,
}

/// The value under a reading key: what the read stage wrote back for a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredReading {
    pub v: u32,
    pub reading: Reading,
    /// Flags the read stage added (`read-error`).
    #[serde(default)]
    pub flags: Vec<TicketFlag>,
}

/// The value under a ticket key.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(from = "RecordIn")]
pub struct TicketRecord {
    pub v: u32,
    pub ticket: Ticket,
    pub status: TicketStatus,
    /// When the status was set (RFC 3339): the ticket's `received_at` when it was created, a command's `at`, a
    /// reopening reply's time. `None` in records from before statuses.
    pub status_at: Option<String>,
    /// The router's command that set the status; `None` when the ticket's creation or a customer's reply did.
    pub status_command: Option<String>,
    /// Match addresses allowed to thread replies into the ticket: the customer, and everyone on its messages.
    pub participants: Vec<String>,
    /// In arrival order; the first created the ticket.
    pub messages: Vec<MessageRef>,
    pub merges: Vec<Merge>,
    pub links: Vec<Link>,
}

/// A ticket record as stored: its fields, and `closed` for builds that read only that.
#[derive(Serialize)]
struct RecordOut<'a> {
    v: u32,
    ticket: &'a Ticket,
    closed: bool,
    status: TicketStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_at: &'a Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status_command: &'a Option<String>,
    participants: &'a [String],
    messages: &'a [MessageRef],
    merges: &'a [Merge],
    links: &'a [Link],
}

impl Serialize for TicketRecord {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        RecordOut {
            v: self.v,
            ticket: &self.ticket,
            closed: !self.is_open(),
            status: self.status,
            status_at: &self.status_at,
            status_command: &self.status_command,
            participants: &self.participants,
            messages: &self.messages,
            merges: &self.merges,
            links: &self.links,
        }
        .serialize(serializer)
    }
}

/// A ticket record as read: with a status, or from before statuses (`closed` alone).
#[derive(Deserialize)]
struct RecordIn {
    v: u32,
    ticket: Ticket,
    #[serde(default)]
    closed: bool,
    #[serde(default)]
    status: Option<TicketStatus>,
    #[serde(default)]
    status_at: Option<String>,
    #[serde(default)]
    status_command: Option<String>,
    participants: Vec<String>,
    messages: Vec<MessageRef>,
    merges: Vec<Merge>,
    links: Vec<Link>,
}

impl From<RecordIn> for TicketRecord {
    fn from(r: RecordIn) -> Self {
        let legacy = if r.closed { TicketStatus::Closed } else { TicketStatus::Open };
        Self {
            v: r.v,
            ticket: r.ticket,
            status: r.status.unwrap_or(legacy),
            status_at: r.status_at,
            status_command: r.status_command,
            participants: r.participants,
            messages: r.messages,
            merges: r.merges,
            links: r.links,
        }
    }
}

/// Most messages one ticket record lists.
pub const MAX_MESSAGES: usize = 300;

/// Most bytes a ticket record takes: the queue's 256 KiB, so a record could travel whole (to a router or a
/// repair job) and sits far inside DynamoDB's 400 KB item limit, the strictest of Spin's key-value backends.
/// The ticket inside it stays under the queue's limit on its own ([`crate::Limits`]).
pub const RECORD_BYTES: usize = 256 * 1024;

/// The most one more append can add to a record: its listed message (a subject of 300 four-byte characters),
/// its merge record (whose detail may name a Message-ID of 998 four-byte characters), its id in `merged_from`.
/// It also covers a status change on a full record (a command id and a time: under 150 bytes).
pub const APPEND_ROOM_BYTES: usize = 16 * 1024;

/// Most bytes a customer's index value takes: well under any backend's item limit, and read on every intake.
pub const CUSTOMER_INDEX_BYTES: usize = 64 * 1024;

/// Most bytes of JSON a message's raw body keeps (cut and flagged `raw_body_truncated` past it). With the
/// longest body (32,000 four-byte characters: 128 KB) and the other fields at their limits, a message value
/// stays under 360 KB. The raw mail itself stays in the bucket.
pub const RAW_BODY_BYTES: usize = 160 * 1024;

impl TicketRecord {
    /// No room for another message: [`MAX_MESSAGES`] listed, or one more append could pass [`RECORD_BYTES`].
    /// A message that would have joined it starts a ticket that links back ([`LinkReason::Full`]).
    pub fn is_full(&self) -> bool {
        self.messages.len() >= MAX_MESSAGES || encode(self).len() + APPEND_ROOM_BYTES > RECORD_BYTES
    }

    /// The ticket as the read stage left it: its tags, and its flags added.
    pub fn apply_reading(&mut self, stored: StoredReading) {
        self.ticket.reading = Some(stored.reading);
        for flag in stored.flags {
            if !self.ticket.flags.contains(&flag) {
                self.ticket.flags.push(flag);
            }
        }
    }

    pub fn new(key: &str, message: &Message, link: Option<Link>, participants: Vec<String>) -> Self {
        Self {
            v: RECORD_VERSION,
            ticket: message.to_ticket(),
            status: TicketStatus::Open,
            status_at: Some(message.received_at.clone()),
            status_command: None,
            participants,
            messages: vec![message_ref(key, message)],
            merges: Vec::new(),
            links: link.into_iter().collect(),
        }
    }

    pub fn has_message(&self, key: &str) -> bool {
        self.messages.iter().any(|m| m.key == key)
    }

    /// Adds an appended message; a no-op when it is already there, so a retry can apply it again. A message
    /// whose merge says it reopened the ticket reopens it here, on the first attempt and on a retry alike.
    pub fn append(&mut self, key: &str, message: &Message, merge: &Merge, participants: &[String], cap: usize) {
        if self.has_message(key) {
            return;
        }
        if merge.reopened {
            self.reopen_for(message);
        }
        self.messages.push(message_ref(key, message));
        self.merges.push(merge.clone());
        self.ticket.merged_from.push(message.id.clone());
        for p in participants {
            if self.participants.len() < cap && !self.participants.contains(p) {
                self.participants.push(p.clone());
            }
        }
    }
}

fn message_ref(key: &str, message: &Message) -> MessageRef {
    MessageRef {
        id: message.id.clone(),
        key: key.to_owned(),
        source: message.source,
        received_at: message.received_at.clone(),
        subject: message.subject.clone(),
        flags: message.flags.clone(),
    }
}

/// One of a customer's recent tickets, with what the duplicate rule compares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recent {
    pub ticket_id: String,
    /// When the ticket was created, in milliseconds since the Unix epoch.
    pub at_ms: i64,
    pub fingerprint: super::similar::Fingerprint,
}

/// The value under a customer key: newest first, capped, expired entries dropped on every write.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentTickets {
    pub v: u32,
    pub entries: Vec<Recent>,
}

impl Default for RecentTickets {
    fn default() -> Self {
        Self { v: RECORD_VERSION, entries: Vec::new() }
    }
}

pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("stored values hold only strings, numbers, bools, lists and options")
}

pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, RecordError> {
    // The version first, so a future shape is reported as a version problem, not as a parse error.
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| RecordError::Malformed(e.to_string()))?;
    match value.get("v").and_then(serde_json::Value::as_u64) {
        Some(v) if v == u64::from(RECORD_VERSION) => {}
        Some(v) => return Err(RecordError::UnknownVersion { found: v }),
        None => return Err(RecordError::Malformed("no version field \"v\"".into())),
    }
    serde_json::from_value(value).map_err(|e| RecordError::Malformed(e.to_string()))
}
