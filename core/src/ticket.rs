//! The ticket: one shape for every lane.
//!
//! These types mirror `tr:intake/types` in `wit/tr-intake.wit` field for field (a test parses the WIT and fails on
//! drift). They are plain serde data: the wire format ([`crate::wire`]) is their JSON with snake_case names.

use serde::{Deserialize, Serialize};

/// The lane a ticket came in through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Email,
    Form,
    Chat,
}

impl Source {
    pub const ALL: [Source; 3] = [Source::Email, Source::Form, Source::Chat];

    pub fn as_str(self) -> &'static str {
        match self {
            Source::Email => "email",
            Source::Form => "form",
            Source::Chat => "chat",
        }
    }
}

/// Who asked. `email` is `None` only for an anonymous chat visitor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub email: Option<String>,
    pub name: Option<String>,
}

/// Email threading headers (angle brackets stripped, as mail-parser gives them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreadIds {
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    Low,
    Medium,
    High,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    Calm,
    Confused,
    Angry,
}

/// Something a person should know before trusting the ticket's text (WIT `ticket-flag`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TicketFlag {
    Unparseable,
    ReplyMayBeCut,
    Anonymous,
    ReadError,
    /// Card numbers, IBANs or secrets were masked in the text ([`crate::mask`]); `masked` says how many.
    Masked,
    /// The address was typed by a visitor (form, chat): the words are theirs, the address may not be.
    Unverified,
    /// An email on a deployment behind SES whose verdicts do not vouch for its sender (DMARC fail, no aligned
    /// pass, or no verdict): a ticket of its own, never appended to or merged into another
    /// ([`crate::email::sender_trust`]).
    UnverifiedSender,
    /// The mail's References named more than a ticket keeps (by count or bytes): the root and the newest were
    /// kept, the middle left out. The raw mail, headers whole, stays in the bucket.
    ReferencesCut,
}

impl TicketFlag {
    pub const ALL: [TicketFlag; 8] = [
        TicketFlag::Unparseable,
        TicketFlag::ReplyMayBeCut,
        TicketFlag::Anonymous,
        TicketFlag::ReadError,
        TicketFlag::Masked,
        TicketFlag::Unverified,
        TicketFlag::UnverifiedSender,
        TicketFlag::ReferencesCut,
    ];
}

/// What kind of value [`crate::mask`] replaced (WIT `mask-kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskKind {
    Card,
    Iban,
    Secret,
}

impl MaskKind {
    pub const ALL: [MaskKind; 3] = [MaskKind::Card, MaskKind::Iban, MaskKind::Secret];
}

/// How many values of one kind were masked in a ticket's text; never the values (WIT `mask-count`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaskCount {
    pub kind: MaskKind,
    pub count: u32,
}

/// The three tags the read component writes back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reading {
    pub topic: String,
    pub urgency: Urgency,
    pub tone: Tone,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: String,
    pub customer: Customer,
    pub subject: String,
    pub body: String,
    pub body_truncated: bool,
    pub source: Source,
    pub received_at: String,
    pub page_url: Option<String>,
    pub thread: ThreadIds,
    pub transcript_id: Option<String>,
    pub idempotency_key: String,
    pub merged_from: Vec<String>,
    pub reading: Option<Reading>,
    /// Absent in tickets written before flags existed: read as none.
    #[serde(default)]
    pub flags: Vec<TicketFlag>,
    /// What masking replaced, by kind: counted over subject and body (for email, the raw body's count when it
    /// found more, as its quoted history may). Absent (empty) when nothing was, and in tickets from before masking.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub masked: Vec<MaskCount>,
}
