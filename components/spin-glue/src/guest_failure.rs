//! How a queue-triggered guest's attempt ends ([`GuestFailure`], from the core), before it is turned into the
//! generated `spin:sqs` types.
//!
//! Key decision: the mapping is written once — retry-later is `leave` (with a log line saying why), everything
//! else that failed is an error (also left on the queue by the trigger, then dead-lettered), success is `delete`
//! — so every queue guest treats failure the same way.

use tr_core::guest_failure::GuestFailure;
use tr_core::lane_error::LaneError;

/// What to answer the trigger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Delete,
    Leave,
    Error(String),
}

/// `Ok` → delete; a retryable failure → leave (logged as `[<component>] message <id>: left for redelivery: …`);
/// anything else → an error naming the message.
pub fn verdict(component: &str, message_id: &str, result: Result<(), GuestFailure>) -> Verdict {
    match result {
        Ok(()) => Verdict::Delete,
        Err(GuestFailure::Lane(LaneError::Retry(why))) => {
            println!("[{component}] message {message_id}: left for redelivery: {why}");
            Verdict::Leave
        }
        Err(e) => Verdict::Error(format!("message {message_id}: {e}")),
    }
}
