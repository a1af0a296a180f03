//! The email lane's core: raw RFC 5322 bytes → a ticket draft, with quoted history and signatures removed.
//!
//! Role: everything the email component needs that is not I/O. Key decision: parsing (mail-parser), quote
//! stripping and the loop guard are separate steps with separate files, so each can be scored on its own corpus;
//! the raw body always travels beside the stripped one.

pub mod quote_strip;
pub mod reply_headers;
pub mod html_quote;
pub mod signature;
pub mod loop_guard;
pub mod parse;
pub mod ticket_draft;

pub use loop_guard::{LoopGuard, Suppressed};
pub use parse::{Attachment, EmailError, ParsedEmail, parse};
pub use ticket_draft::{BodySource, DEFAULT_MAX_BYTES, EmailDraft, StripReport, email_to_draft};
