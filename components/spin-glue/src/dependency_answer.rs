//! What an HTTP component answers when a dependency fails: the same for every lane.
//!
//! Key decision: the client learns only whether to retry (503 with `Retry-After`) or not (500), in fixed words;
//! the detail — which can name queues, accounts or hosts — goes to the component's log.

use tr_core::http_answer::ApiError;
use tr_core::lane_error::LaneError;
use tr_core::store::KvError;

/// A lane's store or queue failure, logged under `[lane]`.
pub fn lane_failure(lane: &str, e: LaneError, retry_after: u32) -> ApiError {
    match e {
        LaneError::Retry(why) => {
            println!("[{lane}] dependency down, answered 503: {why}");
            ApiError::unavailable(retry_after)
        }
        LaneError::Permanent(why) => {
            println!("[{lane}] failed, answered 500: {why}");
            ApiError::internal()
        }
    }
}

/// The key-value store could not be opened: missing or denied is the operator's to fix (500, saying what to
/// check); anything else may pass (503).
pub fn store_unavailable(lane: &str, e: &KvError, retry_after: u32) -> ApiError {
    if e.is_retryable() {
        println!("[{lane}] key-value store unavailable, answered 503: {e}");
        ApiError::unavailable(retry_after)
    } else {
        ApiError::new(500, "not_configured", format!("key-value store `default`: {e}"))
    }
}
