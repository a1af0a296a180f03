//! The email lane's core: raw RFC 5322 bytes → a ticket draft, with quoted history and signatures removed.
//!
//! Role: everything the email component needs that is not I/O. Key decision: parsing (mail-parser), the loop
//! guard, quote stripping and signature removal are separate steps in separate files, so each can be scored on
//! its own corpus; the raw body always travels beside the stripped one.
//!
//! Files:
//! - [`parse`]: bytes → [`ParsedEmail`] (sender choice, bodies, attachments, thread ids, size cap).
//! - [`loop_guard`]: automatic mail → no ticket, with the reason.
//! - [`quote_strip`]: plain-text history removal; [`reply_headers`]: the patterns it looks for.
//! - [`html_quote`]: HTML history removal (structure first); `html_dom` and `html_text` are its DOM helpers and
//!   renderers.
//! - [`signature`]: signature removal.
//! - [`salvage`]: sender, subject and Message-ID from the headers of a mail that cannot become a normal ticket.
//! - [`sender_trust`]: whether SES's SPF/DKIM/DMARC verdicts vouch for the sender (threading and merging need it).
//! - [`ticket_draft`]: the whole path, bytes → [`EmailDraft`].

mod html_dom;
pub mod html_quote;
mod html_text;
pub mod lane;
pub mod loop_guard;
pub mod parse;
pub mod quote_strip;
pub mod reply_headers;
pub mod salvage;
pub mod sender_trust;
pub mod signature;
pub mod ticket_draft;

pub use loop_guard::{LoopGuard, Suppressed};
pub use parse::{Attachment, EmailError, ParsedEmail, parse};
pub use ticket_draft::{BodySource, DEFAULT_MAX_BYTES, EmailDraft, StripReport, email_to_draft, idempotency_key};
