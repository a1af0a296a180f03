//! Replay: move the messages waiting in a dead-letter queue back to the queue that sent them there.
//!
//! Key decisions: the source must name the DLQ in its RedrivePolicy (replaying into an unrelated queue is a
//! mistake we refuse); only messages not currently in flight move (someone may be inspecting those); a replayed
//! message keeps its id, body, attributes and FIFO group, starts with a receive count of 0 and a new sent time,
//! and bypasses FIFO de-duplication (it is the same message, deliberately re-delivered). One transaction: a crash
//! mid-replay leaves every message in exactly one of the two queues.

use rusqlite::{Connection, params};

use super::store::{get_queue, queue_name_from_arn};
use crate::error::ApiError;

/// Moves every visible message from `dlq` to `source`; returns how many moved.
pub fn replay(conn: &Connection, dlq: &str, source: &str, now_ms: i64) -> Result<u64, ApiError> {
    let dlq_queue = get_queue(conn, dlq)?;
    let source_queue = get_queue(conn, source)?;
    let names_dlq = source_queue
        .redrive_policy()
        .is_some_and(|p| queue_name_from_arn(&p.dead_letter_target_arn) == dlq_queue.name);
    if !names_dlq {
        return Err(ApiError::invalid_parameter(format!(
            "Queue {source} does not have {dlq} as its dead-letter queue (RedrivePolicy)."
        )));
    }
    let moved = conn.execute(
        "INSERT INTO messages(queue, message_id, body, attributes, md5_body, md5_attributes, sent_ms, visible_at_ms,
                              group_id, dedup_id)
         SELECT ?2, message_id, body, attributes, md5_body, md5_attributes, ?3, ?3, group_id, dedup_id
         FROM messages WHERE queue = ?1 AND visible_at_ms <= ?3 ORDER BY seq",
        params![dlq, source, now_ms],
    )?;
    let deleted = conn.execute(
        "DELETE FROM messages WHERE queue = ?1 AND visible_at_ms <= ?2",
        params![dlq, now_ms],
    )?;
    debug_assert_eq!(moved, deleted, "same rows selected inside one transaction");
    Ok(moved as u64)
}
