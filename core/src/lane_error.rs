//! How a queue-triggered lane fails: try again later, or never as sent.
//!
//! The components map [`LaneError::Retry`] to `leave` (the message comes back after its visibility timeout and
//! is dead-lettered after N receives) and [`LaneError::Permanent`] to an error (also left, so the dead-letter
//! queue keeps it for a person, but logged as an error rather than weather). Neither deletes: nothing is lost.
//! [`LaneError::Conflict`] is an HTTP lane's: the sender reused a key it drew for one message (409).

#[derive(Debug, thiserror::Error)]
pub enum LaneError {
    #[error("try again later: {0}")]
    Retry(String),
    #[error("cannot be handled as sent: {0}")]
    Permanent(String),
    /// The request's idempotency key already names a different message: nothing was kept; the same content
    /// under a new key will be.
    #[error("conflict: {0}")]
    Conflict(String),
}

impl LaneError {
    /// `"<what>: <error>"`, as [`LaneError::Retry`] when the failing dependency said retrying can help, else
    /// [`LaneError::Permanent`].
    pub fn classify(retryable: bool, what: &str, error: impl std::fmt::Display) -> Self {
        let message = format!("{what}: {error}");
        if retryable { LaneError::Retry(message) } else { LaneError::Permanent(message) }
    }
}
