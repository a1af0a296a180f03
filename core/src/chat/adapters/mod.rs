//! Vendor webhooks → the generic [`Transcript`](super::Transcript): one file per chat tool.
//!
//! Each adapter verifies the vendor's own signature scheme (constant-time, the secret a [`crate::Secret`]) and
//! maps the vendor's end-of-conversation payload onto the generic transcript. Events that carry no finished
//! conversation are [`Adapted::Ignored`] (the component acknowledges them and does nothing), never errors: a
//! vendor retries errors, and those events would never succeed.
//!
//! | tool | event used | signature |
//! |---|---|---|
//! | Tawk.to ([`tawk`]) | `chat:transcript_created` (the whole chat) | `X-Tawk-Signature`: hex HMAC-SHA1(secret, body) |
//! | Chatwoot ([`chatwoot`]) | `conversation_status_changed` to `open` (bot hand-off) or `resolved` | `X-Chatwoot-Signature`: `sha256=` hex HMAC-SHA256(secret, `"{X-Chatwoot-Timestamp}." + body`) |

pub mod chatwoot;
pub mod tawk;

use super::transcript::{DecodeError, Transcript};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Adapted {
    Transcript(Transcript),
    /// An event that carries no finished conversation (a chat starting, a status we do not act on).
    Ignored { event: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdapterError {
    /// The payload is not the vendor's documented shape (the path names where).
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The shape is right but a value cannot be used.
    #[error("{path}: {reason}")]
    Invalid { path: String, reason: String },
}
