//! How a queue-triggered lane fails: try again later, or never as sent.
//!
//! The components map [`LaneError::Retry`] to `leave` (the message comes back after its visibility timeout and
//! is dead-lettered after N receives) and [`LaneError::Permanent`] to an error (also left, so the dead-letter
//! queue keeps it for a person, but logged as an error rather than weather). Neither deletes: nothing is lost.
//! [`GuestFailure`] is one attempt's failure as a queue-triggered component sees it, configuration included.

use crate::store::KvError;
use crate::vars::VarError;

#[derive(Debug, thiserror::Error)]
pub enum LaneError {
    #[error("try again later: {0}")]
    Retry(String),
    #[error("cannot be handled as sent: {0}")]
    Permanent(String),
}

impl LaneError {
    /// `"<what>: <error>"`, as [`LaneError::Retry`] when the failing dependency said retrying can help, else
    /// [`LaneError::Permanent`].
    pub fn classify(retryable: bool, what: &str, error: impl std::fmt::Display) -> Self {
        let message = format!("{what}: {error}");
        if retryable { LaneError::Retry(message) } else { LaneError::Permanent(message) }
    }
}

/// How one attempt of a queue-triggered lane failed, before it is answered to the trigger.
#[derive(Debug, thiserror::Error)]
pub enum GuestFailure {
    #[error("{0}")]
    Lane(#[from] LaneError),
    #[error("configuration: {0}")]
    Config(#[from] VarError),
    /// A store that is missing or denied: configuration, not weather.
    #[error("key-value store: {0}")]
    Kv(KvError),
    #[error("{0}")]
    Other(String),
}

/// A store that may come back (full, a backend hiccup) is retry-later; a missing or denied one is configuration.
impl From<KvError> for GuestFailure {
    fn from(e: KvError) -> Self {
        if e.is_retryable() { GuestFailure::Lane(LaneError::classify(true, "key-value store", e)) } else { GuestFailure::Kv(e) }
    }
}
