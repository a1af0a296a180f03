//! What an HTTP lane answers when a dependency fails: the same for every lane.
//!
//! Key decision: the client learns only whether to retry (503 with `Retry-After`) or not (500), in fixed words;
//! the detail — which can name queues, accounts or hosts — goes to the operator's log.

use crate::http_answer::ApiError;
use crate::lane_error::LaneError;
use crate::store::KvError;
use crate::transport::Runtime;
use crate::vars::VarError;

/// A lane's store or queue failure, logged under `[lane]`.
pub fn lane_failure(runtime: &impl Runtime, lane: &str, e: LaneError, retry_after: u32) -> ApiError {
    match e {
        LaneError::Retry(why) => {
            runtime.log(&format!("[{lane}] dependency down, answered 503: {why}"));
            ApiError::unavailable(retry_after)
        }
        LaneError::Permanent(why) => {
            runtime.log(&format!("[{lane}] failed, answered 500: {why}"));
            ApiError::internal()
        }
        LaneError::Conflict(why) => ApiError::new(409, "conflict", format!("{why}; send it again with a new key")),
    }
}

/// The key-value store could not be opened: missing or denied is the operator's to fix (500, saying what to
/// check); anything else may pass (503).
pub fn store_unavailable(runtime: &impl Runtime, lane: &str, e: &KvError, retry_after: u32) -> ApiError {
    if e.is_retryable() {
        runtime.log(&format!("[{lane}] key-value store unavailable, answered 503: {e}"));
        ApiError::unavailable(retry_after)
    } else {
        ApiError::new(500, "not_configured", format!("key-value store `default`: {e}"))
    }
}

/// The operator's mistake, not the client's: 500, saying what to set (never a value).
pub fn not_configured(why: impl Into<String>) -> ApiError {
    ApiError::new(500, "not_configured", why.into())
}

impl From<VarError> for ApiError {
    fn from(e: VarError) -> Self {
        not_configured(e.to_string())
    }
}
