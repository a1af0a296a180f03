//! SQS queues in SQLite: the lane's schema, each queue's attributes, and the queue operations, as plain
//! synchronous functions on a connection inside the caller's transaction.
//!
//! Key decision: SQLite is the only state (no in-memory copy that could disagree after a crash); a queue's
//! attributes are stored as set and read through [`Queue`]'s accessors, which hold the SQS defaults. What happens
//! to the messages in a queue is in [`super::messages`].

use std::collections::BTreeMap;

use rusqlite::{Connection, OptionalExtension, params};

use crate::error::ApiError;

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
    pub fn max_message_size(&self) -> i64 {
        self.number("MaximumMessageSize", 262_144)
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
