//! One attempt of a queue-triggered lane, failed: the lane's own [`LaneError`], configuration, or the store.
//!
//! Key decision: its own module above the store and the variables, so [`crate::lane_error`] (which the store
//! uses) depends on nothing.

use crate::lane_error::LaneError;
use crate::store::KvError;
use crate::vars::VarError;

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
