//! Looking at a pipeline from the command line: the tickets in the store (with their tags, merges and
//! messages), queue depths (dead-letter queues included), and moving dead-lettered messages back.
//!
//! Key decisions: tickets are read from the key-value store's SQLite file directly (read-only use; listing
//! scans the `tr/t/` keys, which the intake path never does); queues are asked through the SQS API
//! (GetQueueAttributes), so `queues` and `replay` work the same against the embedded endpoint, moto or AWS.
//! Replay is receive → send to the source → delete, so a crash in between repeats a message rather than losing
//! it (the lanes are idempotent).

use std::path::Path;

use anyhow::Context;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use serde_json::Value;

use crate::kv_sqlite::SqliteKv;
use crate::local_aws::LocalAwsState;

fn store(manifest: &Path) -> anyhow::Result<SqliteKv> {
    let file = crate::local_aws::state_dir(manifest).join("sqlite_key_value.db");
    anyhow::ensure!(file.is_file(), "{} is missing: no ticket has been stored yet", file.display());
    Ok(SqliteKv::open(&file)?)
}

/// Every stored ticket record, oldest first (ticket ids are ULIDs: they sort by creation time).
pub fn tickets(manifest: &Path) -> anyhow::Result<Vec<Value>> {
    let kv = store(manifest)?;
    let mut keys: Vec<String> = kv.get_keys("default")?.into_iter().filter(|k| k.starts_with("tr/t/")).collect();
    keys.sort();
    let mut records = Vec::new();
    for key in keys {
        if let Some(bytes) = kv.get("default", &key)? {
            let record = serde_json::from_slice(&bytes).with_context(|| format!("{key} is not a ticket record"))?;
            records.push(with_reading(&kv, record)?);
        }
    }
    Ok(records)
}

/// The record with the read stage's tags and flags on its ticket: they are kept under their own key
/// (`tr/g/{id}`, see `tr_core::store::keys`), not in the record.
fn with_reading(kv: &SqliteKv, mut record: Value) -> anyhow::Result<Value> {
    let Some(id) = record["ticket"]["id"].as_str() else { return Ok(record) };
    let key = format!("tr/g/{id}");
    let Some(bytes) = kv.get("default", &key)? else { return Ok(record) };
    let stored: Value = serde_json::from_slice(&bytes).with_context(|| format!("{key} is not a reading"))?;
    let ticket = &mut record["ticket"];
    ticket["reading"] = stored["reading"].clone();
    for flag in stored["flags"].as_array().into_iter().flatten() {
        match ticket["flags"].as_array_mut() {
            Some(flags) if !flags.contains(flag) => flags.push(flag.clone()),
            Some(_) => {}
            None => ticket["flags"] = Value::Array(vec![flag.clone()]),
        }
    }
    Ok(record)
}

/// One line per ticket: id, received, source, customer, tags, messages, subject.
pub fn ticket_line(record: &Value) -> String {
    let t = &record["ticket"];
    let r = &t["reading"];
    let tags = if r.is_null() {
        "(not read yet)".to_owned()
    } else {
        format!("{}/{}/{}", r["topic"].as_str().unwrap_or("?"), r["urgency"].as_str().unwrap_or("?"), r["tone"].as_str().unwrap_or("?"))
    };
    let messages = record["messages"].as_array().map_or(1, Vec::len);
    // A near miss of the duplicate rule is for a person to judge: say so where they look.
    let possible: Vec<&str> = record["links"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|l| l["reason"] == "possible-duplicate")
        .filter_map(|l| l["ticket_id"].as_str())
        .collect();
    let possible = if possible.is_empty() { String::new() } else { format!("  (possible duplicate of {})", possible.join(", ")) };
    format!(
        "{}  {}  {:<5}  {:<32}  {:<28}  {} msg  {}{}",
        t["id"].as_str().unwrap_or("?"),
        t["received_at"].as_str().unwrap_or("?"),
        t["source"].as_str().unwrap_or("?"),
        t["customer"]["email"].as_str().unwrap_or("(anonymous)"),
        tags,
        messages,
        t["subject"].as_str().unwrap_or(""),
        possible,
    )
}

/// The whole record of ticket `id`, with its reading.
pub fn ticket(manifest: &Path, id: &str) -> anyhow::Result<Value> {
    let kv = store(manifest)?;
    let bytes = kv.get("default", &format!("tr/t/{id}"))?.ok_or_else(|| anyhow::anyhow!("no ticket {id}"))?;
    with_reading(&kv, serde_json::from_slice(&bytes)?)
}

/// (queue name, visible, in flight) for every queue the state knows, dead-letter queues included.
pub async fn queue_depths(state: &LocalAwsState) -> anyhow::Result<Vec<(String, u64, u64)>> {
    let sqs = aws_sdk_sqs::Client::new(&state.sdk_config().await);
    let mut depths = Vec::new();
    for (name, url) in &state.queues {
        let out = sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .with_context(|| format!("GetQueueAttributes {name}"))?;
        let count = |a: QueueAttributeName| {
            out.attributes().and_then(|m| m.get(&a)).and_then(|v| v.parse().ok()).unwrap_or(0)
        };
        depths.push((
            name.clone(),
            count(QueueAttributeName::ApproximateNumberOfMessages),
            count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        ));
    }
    Ok(depths)
}

/// Moves every visible message of `dlq` to `source`, body and message attributes as they were; returns how many.
pub async fn replay(state: &LocalAwsState, dlq: &str, source: &str) -> anyhow::Result<u64> {
    let (dlq_url, source_url) = (state.queue_url(dlq)?, state.queue_url(source)?);
    let sqs = aws_sdk_sqs::Client::new(&state.sdk_config().await);
    let mut moved = 0;
    loop {
        let batch = sqs
            .receive_message()
            .queue_url(dlq_url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .visibility_timeout(60)
            .wait_time_seconds(0)
            .send()
            .await
            .with_context(|| format!("ReceiveMessage {dlq}"))?;
        let messages = batch.messages.unwrap_or_default();
        if messages.is_empty() {
            return Ok(moved);
        }
        for m in messages {
            sqs.send_message()
                .queue_url(source_url)
                .message_body(m.body().unwrap_or_default())
                .set_message_attributes(m.message_attributes().cloned())
                .send()
                .await
                .with_context(|| format!("SendMessage {source}"))?;
            sqs.delete_message()
                .queue_url(dlq_url)
                .receipt_handle(m.receipt_handle().unwrap_or_default())
                .send()
                .await
                .with_context(|| format!("DeleteMessage {dlq}"))?;
            moved += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn a_ticket_line_names_its_possible_duplicates_and_nothing_else() {
        let mut record = json!({
            "ticket": {"id": "01B", "received_at": "2026-11-27T10:00:00Z", "source": "form",
                       "customer": {"email": "ana@acme.example"}, "subject": "Invoice emails"},
            "messages": [{}],
            "links": [{"ticket_id": "01A", "reason": "possible-duplicate", "via": "similarity 0.33"},
                      {"ticket_id": "01C", "reason": "closed", "via": "In-Reply-To <x>"}],
        });
        let line = super::ticket_line(&record);
        assert!(line.ends_with("Invoice emails  (possible duplicate of 01A)"), "{line}");
        record["links"] = json!([]);
        assert!(super::ticket_line(&record).ends_with("Invoice emails"));
    }
}
