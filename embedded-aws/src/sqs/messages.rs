//! SQS messages in SQLite: send, receive, delete, change visibility, purge, expire, as plain synchronous
//! functions on a connection inside the caller's transaction.
//!
//! Key decisions: a message's visibility is one column, `visible_at_ms`: ready when `<= now`, in flight when
//! later and it has been received, delayed when later and never received. A receipt handle names the message row
//! and a random token that each receive replaces, so a stale handle deletes nothing (AWS's rule) and a forged one
//! is refused. Redrive happens at receive time: a message already received `maxReceiveCount` times is moved to the
//! dead-letter queue instead of being delivered again, which is when SQS moves it too.

use base64::Engine;
use rusqlite::{Connection, OptionalExtension, params};

use super::md5::{md5_hex, md5_of_attributes};
use super::store::{Queue, RedrivePolicy, get_queue, list_queues, queue_name_from_arn};
use super::types::{AttributeValue, MessageAttributes};
use crate::error::ApiError;

/// FIFO de-duplication window.
const DEDUP_WINDOW_MS: i64 = 5 * 60 * 1000;

/// A message to send.
#[derive(Debug, Clone, Default)]
pub struct NewMessage {
    pub body: String,
    pub attributes: MessageAttributes,
    pub delay_seconds: Option<i64>,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub message_id: String,
    pub md5_body: String,
    pub md5_attributes: Option<String>,
    /// FIFO queues only.
    pub sequence_number: Option<String>,
}

pub fn send(
    conn: &Connection,
    queue: &Queue,
    message: NewMessage,
    now_ms: i64,
) -> Result<Sent, ApiError> {
    if message.body.is_empty() {
        return Err(ApiError::missing_parameter(
            "The request must contain the parameter MessageBody.",
        ));
    }
    // SQS counts the body and every attribute's name, type and value against the queue's maximum.
    let limit = queue.max_message_size();
    let size = message.body.len()
        + message
            .attributes
            .iter()
            .map(|(name, a)| {
                name.len()
                    + a.data_type.len()
                    + match &a.value {
                        AttributeValue::String(v) => v.len(),
                        AttributeValue::Binary(v) => v.len(),
                    }
            })
            .sum::<usize>();
    if size as i64 > limit {
        return Err(ApiError::invalid_parameter(format!(
            "One or more parameters are invalid. Reason: Message must be shorter than {limit} bytes."
        )));
    }
    let md5_body = md5_hex(message.body.as_bytes());
    let md5_attributes = md5_of_attributes(&message.attributes);
    let fifo = queue.is_fifo();
    let dedup_id = if fifo {
        if message.group_id.is_none() {
            return Err(ApiError::missing_parameter(
                "The request must contain the parameter MessageGroupId.",
            ));
        }
        if message.delay_seconds.is_some_and(|d| d > 0) {
            return Err(ApiError::invalid_parameter(
                "Value for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.",
            ));
        }
        match (&message.dedup_id, queue.content_based_dedup()) {
            (Some(id), _) => Some(id.clone()),
            (None, true) => Some(hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
                message.body.as_bytes(),
            ))),
            (None, false) => {
                return Err(ApiError::invalid_parameter(
                    "The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly",
                ));
            }
        }
    } else {
        None
    };
    if let Some(dedup) = &dedup_id {
        let seen = conn
            .prepare_cached(
                "SELECT message_id, seq, md5_body, md5_attributes FROM fifo_dedup
                 WHERE queue = ?1 AND dedup_id = ?2 AND expires_ms > ?3",
            )?
            .query_row(params![queue.name, dedup, now_ms], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, Option<String>>(3)?,
                ))
            })
            .optional()?;
        if let Some((message_id, seq, md5_body, md5_attributes)) = seen {
            // A duplicate is acknowledged as if sent, with the first send's id; it is not enqueued again.
            return Ok(Sent {
                message_id,
                md5_body,
                md5_attributes,
                sequence_number: Some(sequence_number(seq)),
            });
        }
    }
    let message_id = uuid::Uuid::new_v4().to_string();
    let delay = message
        .delay_seconds
        .unwrap_or_else(|| queue.delay_seconds());
    let attributes_json = if message.attributes.is_empty() {
        None
    } else {
        Some(serde_json::to_string(&message.attributes).expect("attributes serialise"))
    };
    conn.prepare_cached(
        "INSERT INTO messages(queue, message_id, body, attributes, md5_body, md5_attributes, sent_ms, visible_at_ms,
                              group_id, dedup_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        queue.name,
        message_id,
        message.body,
        attributes_json,
        md5_body,
        md5_attributes,
        now_ms,
        now_ms + delay * 1000,
        message.group_id,
        dedup_id
    ])?;
    let seq = conn.last_insert_rowid();
    if let Some(dedup) = &dedup_id {
        conn.prepare_cached(
            "INSERT OR REPLACE INTO fifo_dedup(queue, dedup_id, message_id, seq, md5_body, md5_attributes, expires_ms)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )?
        .execute(params![queue.name, dedup, message_id, seq, md5_body, md5_attributes, now_ms + DEDUP_WINDOW_MS])?;
    }
    Ok(Sent {
        message_id,
        md5_body,
        md5_attributes,
        sequence_number: fifo.then(|| sequence_number(seq)),
    })
}

fn sequence_number(seq: i64) -> String {
    format!("{seq:020}")
}

/// A delivered message, with everything `ReceiveMessage` may report.
#[derive(Debug, Clone)]
pub struct Received {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    pub md5_body: String,
    pub attributes: MessageAttributes,
    pub sent_ms: i64,
    pub receive_count: i64,
    pub first_receive_ms: i64,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
    pub sequence_number: Option<String>,
}

struct Candidate {
    seq: i64,
    message_id: String,
    body: String,
    attributes: Option<String>,
    md5_body: String,
    sent_ms: i64,
    receive_count: i64,
    first_receive_ms: Option<i64>,
    group_id: Option<String>,
    dedup_id: Option<String>,
}

/// Receives up to `max` ready messages, making them invisible for `visibility_s` seconds. Messages past their
/// queue's `maxReceiveCount` are moved to the dead-letter queue on the way.
pub fn receive(
    conn: &Connection,
    queue: &Queue,
    max: usize,
    visibility_s: i64,
    now_ms: i64,
) -> Result<Vec<Received>, ApiError> {
    let redrive = queue.redrive_policy();
    let retention_cutoff = now_ms - queue.retention_seconds() * 1000;
    let mut out = Vec::new();
    loop {
        // Standard queues take the longest-visible messages first, in index order (`messages_ready`), so a receive
        // never sorts the backlog; FIFO queues must go strictly by send order.
        let sql = if queue.is_fifo() {
            // A group with a message in flight is blocked: that is what keeps a FIFO group in order.
            "SELECT seq, message_id, body, attributes, md5_body, sent_ms, receive_count, first_receive_ms, group_id,
                    dedup_id
             FROM messages WHERE queue = ?1 AND visible_at_ms <= ?2 AND sent_ms >= ?3
               AND group_id NOT IN (SELECT group_id FROM messages
                                    WHERE queue = ?1 AND visible_at_ms > ?2 AND receive_count > 0)
             ORDER BY seq LIMIT ?4"
        } else {
            "SELECT seq, message_id, body, attributes, md5_body, sent_ms, receive_count, first_receive_ms, group_id,
                    dedup_id
             FROM messages WHERE queue = ?1 AND visible_at_ms <= ?2 AND sent_ms >= ?3
             ORDER BY visible_at_ms, seq LIMIT ?4"
        };
        let want = (max - out.len()) as i64;
        let candidates = conn
            .prepare_cached(sql)?
            .query_map(params![queue.name, now_ms, retention_cutoff, want], |r| {
                Ok(Candidate {
                    seq: r.get(0)?,
                    message_id: r.get(1)?,
                    body: r.get(2)?,
                    attributes: r.get(3)?,
                    md5_body: r.get(4)?,
                    sent_ms: r.get(5)?,
                    receive_count: r.get(6)?,
                    first_receive_ms: r.get(7)?,
                    group_id: r.get(8)?,
                    dedup_id: r.get(9)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        if candidates.is_empty() {
            return Ok(out);
        }
        let mut moved_any = false;
        for c in candidates {
            if let Some(policy) = &redrive
                && c.receive_count >= policy.max_receive_count
                && move_to_dead_letter_queue(conn, queue, &c, policy, now_ms)?
            {
                moved_any = true;
                continue;
            }
            let token = uuid::Uuid::new_v4().simple().to_string();
            let first_receive_ms = c.first_receive_ms.unwrap_or(now_ms);
            conn.prepare_cached(
                "UPDATE messages SET receive_count = receive_count + 1, visible_at_ms = ?2, first_receive_ms = ?3,
                                     receipt_token = ?4
                 WHERE seq = ?1",
            )?
            .execute(params![c.seq, now_ms + visibility_s * 1000, first_receive_ms, token])?;
            out.push(Received {
                receipt_handle: encode_receipt_handle(&queue.name, c.seq, &token),
                message_id: c.message_id,
                body: c.body,
                md5_body: c.md5_body,
                attributes: c
                    .attributes
                    .and_then(|a| serde_json::from_str(&a).ok())
                    .unwrap_or_default(),
                sent_ms: c.sent_ms,
                receive_count: c.receive_count + 1,
                first_receive_ms,
                sequence_number: c.group_id.as_ref().map(|_| sequence_number(c.seq)),
                group_id: c.group_id,
                dedup_id: c.dedup_id,
            });
        }
        // Only messages moved to a DLQ leave room for another round; otherwise we got what there was.
        if !moved_any || out.len() >= max {
            return Ok(out);
        }
    }
}

/// Returns false (and leaves the message where it is) when the dead-letter queue does not exist.
fn move_to_dead_letter_queue(
    conn: &Connection,
    source: &Queue,
    c: &Candidate,
    policy: &RedrivePolicy,
    now_ms: i64,
) -> Result<bool, ApiError> {
    let dlq = queue_name_from_arn(&policy.dead_letter_target_arn);
    if dlq == source.name || get_queue(conn, dlq).is_err() {
        return Ok(false);
    }
    // Same id, body, attributes and original sent time (retention counts from the first send, as in SQS);
    // the receive count starts again in the DLQ.
    conn.prepare_cached(
        "INSERT INTO messages(queue, message_id, body, attributes, md5_body, md5_attributes, sent_ms, visible_at_ms,
                              group_id, dedup_id)
         SELECT ?2, message_id, body, attributes, md5_body, md5_attributes, sent_ms, ?3, group_id, dedup_id
         FROM messages WHERE seq = ?1",
    )?
    .execute(params![c.seq, dlq, now_ms])?;
    conn.prepare_cached("DELETE FROM messages WHERE seq = ?1")?
        .execute([c.seq])?;
    Ok(true)
}

fn encode_receipt_handle(queue: &str, seq: i64, token: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{queue}\n{seq}\n{token}"))
}

/// The message row and token a handle names, if it is one of ours for this queue.
fn decode_receipt_handle(queue: &str, handle: &str) -> Result<(i64, String), ApiError> {
    let invalid = || ApiError::receipt_handle_invalid(handle);
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(handle)
        .map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let mut parts = text.split('\n');
    match (
        parts.next(),
        parts.next().and_then(|s| s.parse().ok()),
        parts.next(),
        parts.next(),
    ) {
        (Some(q), Some(seq), Some(token), None) if q == queue && token.len() == 32 => {
            Ok((seq, token.to_owned()))
        }
        _ => Err(invalid()),
    }
}

/// Deletes the message the handle names. A well-formed but stale handle (the message was received again, or is
/// already gone) succeeds without deleting anything, as in SQS.
pub fn delete(conn: &Connection, queue: &Queue, handle: &str) -> Result<(), ApiError> {
    let (seq, token) = decode_receipt_handle(&queue.name, handle)?;
    conn.prepare_cached(
        "DELETE FROM messages WHERE seq = ?1 AND queue = ?2 AND receipt_token = ?3",
    )?
    .execute(params![seq, queue.name, token])?;
    Ok(())
}

pub fn change_visibility(
    conn: &Connection,
    queue: &Queue,
    handle: &str,
    visibility_s: i64,
    now_ms: i64,
) -> Result<(), ApiError> {
    if !(0..=43_200).contains(&visibility_s) {
        return Err(ApiError::invalid_parameter(format!(
            "Value {visibility_s} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and 43200."
        )));
    }
    let (seq, token) = decode_receipt_handle(&queue.name, handle)?;
    let changed = conn
        .prepare_cached(
            "UPDATE messages SET visible_at_ms = ?4 WHERE seq = ?1 AND queue = ?2 AND receipt_token = ?3",
        )?
        .execute(params![seq, queue.name, token, now_ms + visibility_s * 1000])?;
    if changed == 0 {
        return Err(ApiError::invalid_parameter(format!(
            "Value {handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not \
             available for visibility timeout change."
        )));
    }
    Ok(())
}

pub fn purge(conn: &Connection, queue: &Queue) -> Result<u64, ApiError> {
    Ok(conn.execute("DELETE FROM messages WHERE queue = ?1", [&queue.name])? as u64)
}

/// Drops messages past their queue's retention period and expired FIFO de-duplication ids (run at startup and
/// then every minute; delivery already skips expired messages, this reclaims the space).
pub fn drop_expired(conn: &Connection, now_ms: i64) -> Result<u64, ApiError> {
    let mut dropped = 0;
    let queues: Vec<String> = list_queues(conn, "")?;
    for name in queues {
        let q = get_queue(conn, &name)?;
        dropped += conn.execute(
            "DELETE FROM messages WHERE queue = ?1 AND sent_ms < ?2",
            params![name, now_ms - q.retention_seconds() * 1000],
        )? as u64;
    }
    conn.execute("DELETE FROM fifo_dedup WHERE expires_ms <= ?1", [now_ms])?;
    Ok(dropped)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::sqs::store::{Depth, SCHEMA, create_queue, depth};

    fn db() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(SCHEMA).unwrap();
        c
    }

    fn msg(body: &str) -> NewMessage {
        NewMessage {
            body: body.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_received_message_is_invisible_until_its_timeout_and_a_stale_handle_deletes_nothing() {
        let c = db();
        let q = create_queue(&c, "q", BTreeMap::new(), 0).unwrap();
        send(&c, &q, msg("one"), 1_000).unwrap();
        let first = receive(&c, &q, 10, 30, 2_000).unwrap();
        assert_eq!(first.len(), 1);
        assert!(
            receive(&c, &q, 10, 30, 31_000).unwrap().is_empty(),
            "still in flight"
        );
        let again = receive(&c, &q, 10, 30, 32_001).unwrap();
        assert_eq!((again.len(), again[0].receive_count), (1, 2));
        delete(&c, &q, &first[0].receipt_handle).unwrap(); // stale: accepted, deletes nothing
        assert_eq!(depth(&c, "q", 32_001).unwrap().not_visible, 1);
        delete(&c, &q, &again[0].receipt_handle).unwrap();
        assert_eq!(depth(&c, "q", 32_001).unwrap(), Depth::default());
        assert!(delete(&c, &q, "garbage").is_err());
    }

    #[test]
    fn redrive_moves_after_max_receives() {
        let c = db();
        create_queue(&c, "dlq", BTreeMap::new(), 0).unwrap();
        let policy = r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":"2"}"#;
        let q = create_queue(
            &c,
            "src",
            [("RedrivePolicy".to_string(), policy.to_string())].into(),
            0,
        )
        .unwrap();
        send(&c, &q, msg("poison"), 0).unwrap();
        assert_eq!(receive(&c, &q, 1, 0, 1).unwrap().len(), 1);
        assert_eq!(receive(&c, &q, 1, 0, 2).unwrap().len(), 1);
        assert!(
            receive(&c, &q, 1, 0, 3).unwrap().is_empty(),
            "third receive moves it instead"
        );
        let dlq = get_queue(&c, "dlq").unwrap();
        let moved = receive(&c, &dlq, 1, 30, 4).unwrap();
        assert_eq!(moved[0].body, "poison");
    }

    #[test]
    fn fifo_dedups_and_blocks_a_group_in_flight() {
        let c = db();
        let attrs = [
            ("FifoQueue".to_string(), "true".to_string()),
            ("ContentBasedDeduplication".into(), "true".into()),
        ];
        let q = create_queue(&c, "f.fifo", attrs.into(), 0).unwrap();
        let g = |b: &str, group: &str| NewMessage {
            group_id: Some(group.into()),
            ..msg(b)
        };
        let a1 = send(&c, &q, g("a1", "A"), 0).unwrap();
        assert_eq!(
            send(&c, &q, g("a1", "A"), 10).unwrap().message_id,
            a1.message_id,
            "dedup"
        );
        send(&c, &q, g("a2", "A"), 20).unwrap();
        send(&c, &q, g("b1", "B"), 30).unwrap();
        let got = receive(&c, &q, 1, 30, 40).unwrap();
        assert_eq!(got[0].body, "a1");
        let next = receive(&c, &q, 10, 30, 50).unwrap();
        assert_eq!(
            next.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(),
            ["b1"],
            "group A is blocked"
        );
        assert!(send(&c, &q, msg("no group"), 60).is_err());
        assert!(create_queue(&c, "nofifo.fifo", BTreeMap::new(), 0).is_err());
    }
}
