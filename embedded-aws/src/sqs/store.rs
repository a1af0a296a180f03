//! SQS queues and messages in SQLite: the schema and every queue operation, as plain synchronous functions on a
//! connection inside the caller's transaction.
//!
//! Key decisions: SQLite is the only state (no in-memory copy that could disagree after a crash). A message's
//! visibility is one column, `visible_at_ms`: ready when `<= now`, in flight when later and it has been
//! received, delayed when later and never received. A receipt handle names the message row and a random token
//! that each receive replaces, so a stale handle deletes nothing (AWS's rule) and a forged one is refused.
//! Redrive happens at receive time: a message already received `maxReceiveCount` times is moved to the
//! dead-letter queue instead of being delivered again, which is when SQS moves it too.

use std::collections::BTreeMap;

use base64::Engine;
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;
use crate::sqs_md5::{md5_hex, md5_of_attributes};

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS queues(
    name TEXT PRIMARY KEY, attributes TEXT NOT NULL, created_s INTEGER NOT NULL, modified_s INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS messages(
    seq INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL, message_id TEXT NOT NULL, body TEXT NOT NULL,
    attributes TEXT, md5_body TEXT NOT NULL, md5_attributes TEXT, sent_ms INTEGER NOT NULL,
    visible_at_ms INTEGER NOT NULL, receive_count INTEGER NOT NULL DEFAULT 0, first_receive_ms INTEGER,
    group_id TEXT, dedup_id TEXT, receipt_token TEXT);
CREATE INDEX IF NOT EXISTS messages_ready ON messages(queue, visible_at_ms, seq);
CREATE TABLE IF NOT EXISTS fifo_dedup(
    queue TEXT NOT NULL, dedup_id TEXT NOT NULL, message_id TEXT NOT NULL, seq INTEGER NOT NULL,
    md5_body TEXT NOT NULL, md5_attributes TEXT, expires_ms INTEGER NOT NULL, PRIMARY KEY(queue, dedup_id));
";

/// FIFO de-duplication window.
const DEDUP_WINDOW_MS: i64 = 5 * 60 * 1000;

const SETTABLE_ATTRIBUTES: &[&str] = &[
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "Policy",
    "ReceiveMessageWaitTimeSeconds",
    "RedrivePolicy",
    "RedriveAllowPolicy",
    "VisibilityTimeout",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AttributeValue {
    String(String),
    Binary(Vec<u8>),
}

/// One message attribute; `data_type` is `String`, `Number`, `Binary`, optionally with a `.custom` suffix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageAttribute {
    pub data_type: String,
    pub value: AttributeValue,
}

pub type MessageAttributes = BTreeMap<String, MessageAttribute>;

/// A queue as stored: its name and the attributes that were set on it.
#[derive(Debug, Clone)]
pub struct Queue {
    pub name: String,
    pub attributes: BTreeMap<String, String>,
    pub created_s: i64,
    pub modified_s: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedrivePolicy {
    pub dead_letter_target_arn: String,
    pub max_receive_count: i64,
}

impl Queue {
    pub fn is_fifo(&self) -> bool {
        self.attributes
            .get("FifoQueue")
            .is_some_and(|v| v == "true")
    }
    fn number(&self, name: &str, default: i64) -> i64 {
        self.attributes
            .get(name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }
    pub fn visibility_timeout(&self) -> i64 {
        self.number("VisibilityTimeout", 30)
    }
    pub fn delay_seconds(&self) -> i64 {
        self.number("DelaySeconds", 0)
    }
    pub fn retention_seconds(&self) -> i64 {
        self.number("MessageRetentionPeriod", 345_600)
    }
    pub fn receive_wait_seconds(&self) -> i64 {
        self.number("ReceiveMessageWaitTimeSeconds", 0)
    }
    pub fn content_based_dedup(&self) -> bool {
        self.attributes
            .get("ContentBasedDeduplication")
            .is_some_and(|v| v == "true")
    }
    pub fn redrive_policy(&self) -> Option<RedrivePolicy> {
        self.attributes
            .get("RedrivePolicy")
            .and_then(|v| parse_redrive_policy(v).ok())
    }
}

/// `maxReceiveCount` arrives as a number or a string depending on the client; both are accepted.
pub fn parse_redrive_policy(json: &str) -> Result<RedrivePolicy, ApiError> {
    let bad = || {
        ApiError::invalid_parameter(format!(
            "Value {json} for parameter RedrivePolicy is invalid."
        ))
    };
    let v: serde_json::Value = serde_json::from_str(json).map_err(|_| bad())?;
    let arn = v
        .get("deadLetterTargetArn")
        .and_then(|a| a.as_str())
        .ok_or_else(bad)?;
    let max = match v.get("maxReceiveCount") {
        Some(serde_json::Value::Number(n)) => n.as_i64(),
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .filter(|n| (1..=1000).contains(n))
    .ok_or_else(bad)?;
    Ok(RedrivePolicy {
        dead_letter_target_arn: arn.to_owned(),
        max_receive_count: max,
    })
}

/// The queue name an ARN or URL ends with.
pub fn queue_name_from_arn(arn: &str) -> &str {
    arn.rsplit(':').next().unwrap_or(arn)
}

fn validate_name(name: &str, fifo: bool) -> Result<(), ApiError> {
    let stem = name.strip_suffix(".fifo").unwrap_or(name);
    let ok = !stem.is_empty()
        && name.len() <= 80
        && stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && (name.ends_with(".fifo") == fifo);
    if ok {
        Ok(())
    } else {
        Err(ApiError::invalid_parameter(
            "Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length. \
             FIFO queue names end with .fifo and need the FifoQueue attribute.",
        ))
    }
}

fn validate_attributes(attributes: &BTreeMap<String, String>) -> Result<(), ApiError> {
    for (name, value) in attributes {
        if !SETTABLE_ATTRIBUTES.contains(&name.as_str()) {
            return Err(ApiError::invalid_attribute_name(format!(
                "Unknown Attribute {name}."
            )));
        }
        let range = match name.as_str() {
            "VisibilityTimeout" => Some(0..=43_200),
            "DelaySeconds" => Some(0..=900),
            "ReceiveMessageWaitTimeSeconds" => Some(0..=20),
            "MessageRetentionPeriod" => Some(60..=1_209_600),
            "MaximumMessageSize" => Some(1024..=1_048_576),
            _ => None,
        };
        if let Some(range) = range
            && !value.parse::<i64>().is_ok_and(|n| range.contains(&n))
        {
            return Err(ApiError::invalid_parameter(format!(
                "Invalid value for the parameter {name}."
            )));
        }
        if name == "RedrivePolicy" {
            parse_redrive_policy(value)?;
        }
    }
    Ok(())
}

pub fn get_queue(conn: &Connection, name: &str) -> Result<Queue, ApiError> {
    conn.prepare_cached("SELECT attributes, created_s, modified_s FROM queues WHERE name = ?1")?
        .query_row([name], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })
        .optional()?
        .map(|(attrs, created_s, modified_s)| Queue {
            name: name.to_owned(),
            attributes: serde_json::from_str(&attrs).unwrap_or_default(),
            created_s,
            modified_s,
        })
        .ok_or_else(ApiError::queue_does_not_exist)
}

/// Creates the queue, or returns the existing one when its attributes are the same (SQS is idempotent here).
pub fn create_queue(
    conn: &Connection,
    name: &str,
    mut attributes: BTreeMap<String, String>,
    now_s: i64,
) -> Result<Queue, ApiError> {
    let fifo = attributes.get("FifoQueue").is_some_and(|v| v == "true");
    if !fifo {
        attributes.remove("FifoQueue"); // "false" means the same as absent
    }
    validate_name(name, fifo)?;
    validate_attributes(&attributes)?;
    if let Ok(existing) = get_queue(conn, name) {
        for (k, v) in &attributes {
            if existing.attributes.get(k) != Some(v) {
                return Err(ApiError::sqs(
                    400,
                    "QueueNameExists",
                    "com.amazonaws.sqs#QueueNameExists",
                    format!(
                        "A queue already exists with the same name and a different value for attribute {k}"
                    ),
                ));
            }
        }
        return Ok(existing);
    }
    let json = serde_json::to_string(&attributes).expect("string map serialises");
    conn.execute(
        "INSERT INTO queues(name, attributes, created_s, modified_s) VALUES (?1, ?2, ?3, ?3)",
        params![name, json, now_s],
    )?;
    get_queue(conn, name)
}

pub fn set_queue_attributes(
    conn: &Connection,
    name: &str,
    attributes: BTreeMap<String, String>,
    now_s: i64,
) -> Result<(), ApiError> {
    let mut queue = get_queue(conn, name)?;
    validate_attributes(&attributes)?;
    for (k, v) in attributes {
        if k == "FifoQueue" && (v == "true") != queue.is_fifo() {
            return Err(ApiError::invalid_attribute_name(
                "FifoQueue cannot be changed.",
            ));
        }
        if k == "RedrivePolicy" && v.is_empty() {
            queue.attributes.remove(&k);
        } else {
            queue.attributes.insert(k, v);
        }
    }
    let json = serde_json::to_string(&queue.attributes).expect("string map serialises");
    conn.execute(
        "UPDATE queues SET attributes = ?2, modified_s = ?3 WHERE name = ?1",
        params![name, json, now_s],
    )?;
    Ok(())
}

pub fn delete_queue(conn: &Connection, name: &str) -> Result<(), ApiError> {
    get_queue(conn, name)?;
    conn.execute("DELETE FROM messages WHERE queue = ?1", [name])?;
    conn.execute("DELETE FROM fifo_dedup WHERE queue = ?1", [name])?;
    conn.execute("DELETE FROM queues WHERE name = ?1", [name])?;
    Ok(())
}

pub fn list_queues(conn: &Connection, prefix: &str) -> Result<Vec<String>, ApiError> {
    let mut stmt = conn.prepare_cached("SELECT name FROM queues ORDER BY name")?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(names
        .into_iter()
        .filter(|n| n.starts_with(prefix))
        .collect())
}

/// Message counts, as `GetQueueAttributes` reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Depth {
    pub visible: u64,
    pub not_visible: u64,
    pub delayed: u64,
}

pub fn depth(conn: &Connection, queue: &str, now_ms: i64) -> Result<Depth, ApiError> {
    let (visible, not_visible, delayed) = conn
        .prepare_cached(
            "SELECT COALESCE(SUM(visible_at_ms <= ?2), 0),
                    COALESCE(SUM(visible_at_ms > ?2 AND receive_count > 0), 0),
                    COALESCE(SUM(visible_at_ms > ?2 AND receive_count = 0), 0)
             FROM messages WHERE queue = ?1",
        )?
        .query_row(params![queue, now_ms], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, i64>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?;
    Ok(Depth {
        visible: visible as u64,
        not_visible: not_visible as u64,
        delayed: delayed as u64,
    })
}

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
    let limit = queue.number("MaximumMessageSize", 262_144);
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

pub fn encode_receipt_handle(queue: &str, seq: i64, token: &str) -> String {
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
    use super::*;

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
