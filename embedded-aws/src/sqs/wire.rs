//! The SQS JSON 1.0 shapes: request fields decoded and validated with SQS's own error messages, and sent and
//! received messages rendered as SQS renders them.
//!
//! Key decision: pure functions of JSON values, no storage and no [`App`](crate::app::App), so the actions in
//! [`super::api`] read as what they do, and these shapes can change without touching the long-poll logic.

use std::collections::{BTreeMap, HashSet};

use base64::Engine;
use serde_json::{Map, Value, json};

use super::md5::md5_of_attributes;
use super::messages::{NewMessage, Received, Sent};
use super::types::{AttributeValue, MessageAttribute, MessageAttributes};
use crate::error::ApiError;

const MAX_BATCH: usize = 10;

pub fn required_str<'a>(req: &'a Value, field: &str) -> Result<&'a str, ApiError> {
    req.get(field).and_then(Value::as_str).ok_or_else(|| {
        ApiError::missing_parameter(format!("The request must contain the parameter {field}."))
    })
}

pub fn optional_int(req: &Value, field: &str) -> Result<Option<i64>, ApiError> {
    match req.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| {
            ApiError::invalid_parameter(format!("Value {v} for parameter {field} is invalid."))
        }),
    }
}

pub fn required_int(req: &Value, field: &str) -> Result<i64, ApiError> {
    optional_int(req, field)?.ok_or_else(|| {
        ApiError::missing_parameter(format!("The request must contain the parameter {field}."))
    })
}

pub fn string_list(req: &Value, field: &str) -> Vec<String> {
    req.get(field)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The queue a request's `QueueUrl` names: its last path segment (any host, as SQS accepts).
pub fn queue_name(req: &Value) -> Result<String, ApiError> {
    let url = required_str(req, "QueueUrl")?;
    url.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .ok_or_else(ApiError::queue_does_not_exist)
}

pub fn string_map(req: &Value, field: &str) -> Result<BTreeMap<String, String>, ApiError> {
    let Some(map) = req.get(field).and_then(Value::as_object) else {
        return Ok(BTreeMap::new());
    };
    map.iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k.clone(), s.clone())),
            other => Err(ApiError::invalid_parameter(format!(
                "Value {other} for attribute {k} is not a string."
            ))),
        })
        .collect()
}

/// `MessageAttributes` as the JSON protocol carries them (binary values base64-encoded).
fn parse_message_attributes(v: Option<&Value>) -> Result<MessageAttributes, ApiError> {
    let Some(map) = v.and_then(Value::as_object) else {
        return Ok(BTreeMap::new());
    };
    if map.len() > 10 {
        return Err(ApiError::invalid_parameter(
            "Number of message attributes [11] exceeds the allowed maximum [10].",
        ));
    }
    let mut out = BTreeMap::new();
    for (name, attr) in map {
        let bad =
            |why: &str| ApiError::invalid_parameter(format!("Message attribute '{name}' {why}."));
        let data_type = attr
            .get("DataType")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("must contain a DataType"))?;
        let value = if data_type == "Binary" || data_type.starts_with("Binary.") {
            let b64 = attr
                .get("BinaryValue")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("must contain a BinaryValue"))?;
            AttributeValue::Binary(
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .map_err(|_| bad("has an invalid BinaryValue"))?,
            )
        } else if ["String", "Number"]
            .iter()
            .any(|t| data_type == *t || data_type.starts_with(&format!("{t}.")))
        {
            let s = attr
                .get("StringValue")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("must contain a StringValue"))?;
            if data_type.starts_with("Number") && s.parse::<f64>().is_err() {
                return Err(bad("has an invalid Number value"));
            }
            AttributeValue::String(s.to_owned())
        } else {
            return Err(bad("has an invalid DataType"));
        };
        out.insert(
            name.clone(),
            MessageAttribute {
                data_type: data_type.to_owned(),
                value,
            },
        );
    }
    Ok(out)
}

fn render_message_attributes(attrs: &MessageAttributes) -> Value {
    let mut out = Map::new();
    for (name, attr) in attrs {
        let v = match &attr.value {
            AttributeValue::String(s) => json!({"DataType": attr.data_type, "StringValue": s}),
            AttributeValue::Binary(b) => json!({
                "DataType": attr.data_type,
                "BinaryValue": base64::engine::general_purpose::STANDARD.encode(b),
            }),
        };
        out.insert(name.clone(), v);
    }
    Value::Object(out)
}

pub fn new_message(entry: &Value) -> Result<NewMessage, ApiError> {
    Ok(NewMessage {
        body: required_str(entry, "MessageBody")?.to_owned(),
        attributes: parse_message_attributes(entry.get("MessageAttributes"))?,
        delay_seconds: optional_int(entry, "DelaySeconds")?
            .map(|d| {
                if (0..=900).contains(&d) {
                    Ok(d)
                } else {
                    Err(ApiError::invalid_parameter(format!(
                        "Value {d} for parameter DelaySeconds is invalid."
                    )))
                }
            })
            .transpose()?,
        group_id: entry
            .get("MessageGroupId")
            .and_then(Value::as_str)
            .map(str::to_owned),
        dedup_id: entry
            .get("MessageDeduplicationId")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

pub fn sent_json(sent: &Sent) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("MessageId".into(), json!(sent.message_id));
    out.insert("MD5OfMessageBody".into(), json!(sent.md5_body));
    if let Some(m) = &sent.md5_attributes {
        out.insert("MD5OfMessageAttributes".into(), json!(m));
    }
    if let Some(s) = &sent.sequence_number {
        out.insert("SequenceNumber".into(), json!(s));
    }
    out
}

/// Batch entries with distinct `Id`s, 1 to 10 of them.
pub fn batch_entries(req: &Value) -> Result<Vec<Value>, ApiError> {
    let entries = req
        .get("Entries")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if entries.is_empty() {
        return Err(ApiError::sqs(
            400,
            "EmptyBatchRequest",
            "com.amazonaws.sqs#EmptyBatchRequest",
            "There should be at least one SendMessageBatchRequestEntry in the request.",
        ));
    }
    if entries.len() > MAX_BATCH {
        return Err(ApiError::sqs(
            400,
            "TooManyEntriesInBatchRequest",
            "com.amazonaws.sqs#TooManyEntriesInBatchRequest",
            format!(
                "Maximum number of entries per request are 10. You have sent {}.",
                entries.len()
            ),
        ));
    }
    let mut ids = HashSet::new();
    for e in &entries {
        let id = required_str(e, "Id")?;
        if !ids.insert(id.to_owned()) {
            return Err(ApiError::sqs(
                400,
                "BatchEntryIdsNotDistinct",
                "com.amazonaws.sqs#BatchEntryIdsNotDistinct",
                format!("Id {id} repeated."),
            ));
        }
    }
    Ok(entries)
}

pub fn failed_entry(id: &str, e: &ApiError) -> Value {
    json!({"Id": id, "SenderFault": true, "Code": e.code, "Message": e.message})
}

/// Which message attributes a receive asked for: `All`, `.*`, exact names, or `prefix.*`.
fn attribute_selected(wanted: &[String], name: &str) -> bool {
    wanted.iter().any(|w| {
        w == "All"
            || w == ".*"
            || w == name
            || w.strip_suffix(".*")
                .is_some_and(|prefix| name.starts_with(prefix))
    })
}

pub fn render_received(
    m: &Received,
    system_wanted: &[String],
    attrs_wanted: &[String],
    sender_id: &str,
) -> Value {
    let mut system = Map::new();
    let mut put = |name: &str, value: String| {
        if system_wanted.iter().any(|w| w == "All" || w == name) {
            system.insert(name.into(), json!(value));
        }
    };
    put("SenderId", sender_id.to_owned());
    put("SentTimestamp", m.sent_ms.to_string());
    put("ApproximateReceiveCount", m.receive_count.to_string());
    put(
        "ApproximateFirstReceiveTimestamp",
        m.first_receive_ms.to_string(),
    );
    if let Some(g) = &m.group_id {
        put("MessageGroupId", g.clone());
    }
    if let Some(d) = &m.dedup_id {
        put("MessageDeduplicationId", d.clone());
    }
    if let Some(s) = &m.sequence_number {
        put("SequenceNumber", s.clone());
    }
    let mut out = Map::new();
    out.insert("MessageId".into(), json!(m.message_id));
    out.insert("ReceiptHandle".into(), json!(m.receipt_handle));
    out.insert("MD5OfBody".into(), json!(m.md5_body));
    out.insert("Body".into(), json!(m.body));
    if !system.is_empty() {
        out.insert("Attributes".into(), Value::Object(system));
    }
    let selected: MessageAttributes = m
        .attributes
        .iter()
        .filter(|(k, _)| attribute_selected(attrs_wanted, k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    // The digest covers the attributes returned, which is what a client can check.
    if let Some(md5) = md5_of_attributes(&selected) {
        out.insert("MD5OfMessageAttributes".into(), json!(md5));
        out.insert(
            "MessageAttributes".into(),
            render_message_attributes(&selected),
        );
    }
    Value::Object(out)
}
