//! The chat lane minus its trigger: a finished conversation from a chat tool becomes one ticket.
//!
//! | file | job |
//! |---|---|
//! | [`transcript`] | the generic transcript (serde), documented in `docs/chat-transcript.schema.json`; decoding errors name the JSON path |
//! | [`signature`] | our `X-TR-Signature` scheme (HMAC-SHA256 over timestamp + body, 5-minute window) and the shared constant-time checks |
//! | [`adapters`] | vendor webhooks (Tawk.to, Chatwoot) → the generic transcript, each with the vendor's signature check |
//! | [`fold`] | transcript → ticket draft: one readable body, bot boilerplate trimmed, subject, customer, resolved policy |
//!
//! [`crate::chat::lane`] takes the draft through the store to the ticket queue.

pub mod adapters;
pub mod fold;
pub mod lane;
pub mod signature;
pub mod transcript;

pub use fold::{FoldConfig, FoldError, Folded, ResolvedPolicy, fold};
pub use signature::SignatureError;
pub use transcript::{DecodeError, Message, Role, Transcript, Visitor, decode};
