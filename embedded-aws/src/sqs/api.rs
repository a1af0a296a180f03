//! The SQS AWS JSON 1.0 protocol: `X-Amz-Target: AmazonSQS.<Action>` → a JSON answer or an AWS-shaped error.
//!
//! Role: validate each action, run it as one storage job (so it commits before we answer), and answer as SQS
//! does; the JSON shapes themselves (fields in, messages out) are in [`super::wire`]. Key decision: long polls
//! re-try the receive each time a send to the queue commits (a per-queue `Notify` armed *before* each attempt,
//! so no wake-up is lost) and otherwise every 250 ms, which is how expiring visibility timeouts and delays are
//! noticed without a timer per message.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::messages;
use super::store::{self as queue_store, Queue};
use super::wire::{
    batch_entries, failed_entry, new_message, optional_int, queue_name, render_received,
    required_int, required_str, sent_json, string_list, string_map,
};
use crate::app::{App, now_ms};
use crate::error::{ApiError, ApiErrorKind};

const POLL_TICK: Duration = Duration::from_millis(250);

/// Handles one SQS action; `sender_id` is the verified access key id (reported as `SenderId`).
pub async fn handle(
    app: &Arc<App>,
    action: &str,
    body: &[u8],
    sender_id: &str,
) -> Result<Value, ApiError> {
    let req: Value = if body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(body).map_err(|e| {
            ApiError::sqs(
                400,
                "SerializationException",
                "com.amazon.coral.service#SerializationException",
                e.to_string(),
            )
        })?
    };
    match action {
        "CreateQueue" => create_queue(app, &req).await,
        "GetQueueUrl" => get_queue_url(app, &req).await,
        "GetQueueAttributes" => get_queue_attributes(app, &req).await,
        "SetQueueAttributes" => set_queue_attributes(app, &req).await,
        "DeleteQueue" => {
            let name = queue_name(&req)?;
            app.storage
                .run(move |c| queue_store::delete_queue(c, &name))
                .await?;
            Ok(json!({}))
        }
        "ListQueues" => list_queues(app, &req).await,
        "SendMessage" => send_message(app, &req).await,
        "SendMessageBatch" => send_message_batch(app, &req).await,
        "ReceiveMessage" => receive_message(app, &req, sender_id).await,
        "DeleteMessage" => {
            let name = queue_name(&req)?;
            let handle = required_str(&req, "ReceiptHandle")?.to_owned();
            app.storage
                .run(move |c| messages::delete(c, &queue_store::get_queue(c, &name)?, &handle))
                .await?;
            Ok(json!({}))
        }
        "DeleteMessageBatch" => delete_message_batch(app, &req).await,
        "ChangeMessageVisibility" => {
            let name = queue_name(&req)?;
            let handle = required_str(&req, "ReceiptHandle")?.to_owned();
            let timeout = required_int(&req, "VisibilityTimeout")?;
            app.storage
                .run(move |c| {
                    messages::change_visibility(
                        c,
                        &queue_store::get_queue(c, &name)?,
                        &handle,
                        timeout,
                        now_ms(),
                    )
                })
                .await?;
            Ok(json!({}))
        }
        "ChangeMessageVisibilityBatch" => change_visibility_batch(app, &req).await,
        "PurgeQueue" => {
            let name = queue_name(&req)?;
            let queue = name.clone();
            app.storage
                .run(move |c| queue_store::get_queue(c, &queue))
                .await?;
            if !app.claim_purge(&name, now_ms()) {
                return Err(ApiError::sqs(
                    403,
                    "PurgeQueueInProgress",
                    "com.amazonaws.sqs#PurgeQueueInProgress",
                    format!("Only one PurgeQueue operation on {name} is allowed every 60 seconds."),
                ));
            }
            app.storage
                .run(move |c| messages::purge(c, &queue_store::get_queue(c, &name)?))
                .await?;
            Ok(json!({}))
        }
        other => Err(ApiError::sqs(
            400,
            "UnknownOperationException",
            "com.amazon.coral.service#UnknownOperationException",
            format!("The action {other} is not valid for this endpoint."),
        )),
    }
}

async fn create_queue(app: &Arc<App>, req: &Value) -> Result<Value, ApiError> {
    let name = required_str(req, "QueueName")?.to_owned();
    let attributes = string_map(req, "Attributes")?;
    let now_s = now_ms() / 1000;
    let queue = app
        .storage
        .run(move |c| queue_store::create_queue(c, &name, attributes, now_s))
        .await?;
    Ok(json!({ "QueueUrl": app.queue_url(&queue.name) }))
}

async fn get_queue_url(app: &Arc<App>, req: &Value) -> Result<Value, ApiError> {
    let name = required_str(req, "QueueName")?.to_owned();
    let queue = app
        .storage
        .run(move |c| queue_store::get_queue(c, &name))
        .await?;
    Ok(json!({ "QueueUrl": app.queue_url(&queue.name) }))
}

async fn list_queues(app: &Arc<App>, req: &Value) -> Result<Value, ApiError> {
    let prefix = req
        .get("QueueNamePrefix")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_owned();
    let names = app
        .storage
        .run(move |c| queue_store::list_queues(c, &prefix))
        .await?;
    let start: usize = req
        .get("NextToken")
        .and_then(Value::as_str)
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let max = optional_int(req, "MaxResults")?.map(|m| m.clamp(1, 1000) as usize);
    let page: Vec<String> = names
        .iter()
        .skip(start)
        .take(max.unwrap_or(1000))
        .map(|n| app.queue_url(n))
        .collect();
    let mut out = Map::new();
    if !page.is_empty() {
        out.insert("QueueUrls".into(), json!(page));
    }
    if let Some(max) = max
        && let Some(next) = start.checked_add(max).filter(|&next| next < names.len())
    {
        out.insert("NextToken".into(), json!(next.to_string()));
    }
    Ok(Value::Object(out))
}

const COMPUTED_ATTRIBUTES: &[&str] = &[
    "QueueArn",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
];

/// The attributes SQS reports for a queue: what was set, the defaults, and the computed ones.
pub fn all_attributes(
    app: &App,
    queue: &Queue,
    depth: queue_store::Depth,
) -> BTreeMap<String, String> {
    let mut attrs: BTreeMap<String, String> = [
        ("VisibilityTimeout", "30"),
        ("DelaySeconds", "0"),
        ("MaximumMessageSize", "262144"),
        ("MessageRetentionPeriod", "345600"),
        ("ReceiveMessageWaitTimeSeconds", "0"),
        ("SqsManagedSseEnabled", "false"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    if queue.is_fifo() {
        attrs.insert("ContentBasedDeduplication".into(), "false".into());
        attrs.insert("DeduplicationScope".into(), "queue".into());
        attrs.insert("FifoThroughputLimit".into(), "perQueue".into());
    }
    attrs.extend(queue.attributes.clone());
    if let Some(policy) = queue.redrive_policy() {
        // SQS answers with maxReceiveCount as a number whatever form it was given in.
        attrs.insert(
            "RedrivePolicy".into(),
            json!({"deadLetterTargetArn": policy.dead_letter_target_arn, "maxReceiveCount": policy.max_receive_count})
                .to_string(),
        );
    }
    attrs.insert("QueueArn".into(), app.queue_arn(&queue.name));
    attrs.insert(
        "ApproximateNumberOfMessages".into(),
        depth.visible.to_string(),
    );
    attrs.insert(
        "ApproximateNumberOfMessagesNotVisible".into(),
        depth.not_visible.to_string(),
    );
    attrs.insert(
        "ApproximateNumberOfMessagesDelayed".into(),
        depth.delayed.to_string(),
    );
    attrs.insert("CreatedTimestamp".into(), queue.created_s.to_string());
    attrs.insert("LastModifiedTimestamp".into(), queue.modified_s.to_string());
    attrs
}

async fn get_queue_attributes(app: &Arc<App>, req: &Value) -> Result<Value, ApiError> {
    let name = queue_name(req)?;
    let wanted = string_list(req, "AttributeNames");
    let (queue, depth) = app
        .storage
        .run(move |c| {
            let q = queue_store::get_queue(c, &name)?;
            let d = queue_store::depth(c, &name, now_ms())?;
            Ok((q, d))
        })
        .await?;
    let all = all_attributes(app, &queue, depth);
    let mut out = Map::new();
    for name in &wanted {
        if name == "All" {
            out.extend(all.iter().map(|(k, v)| (k.clone(), json!(v))));
        } else if let Some(v) = all.get(name) {
            out.insert(name.clone(), json!(v));
        } else if !(COMPUTED_ATTRIBUTES.contains(&name.as_str()) || name.starts_with("Approximate"))
        {
            return Err(ApiError::invalid_attribute_name(format!(
                "Unknown Attribute {name}."
            )));
        }
    }
    if out.is_empty() {
        return Ok(json!({}));
    }
    Ok(json!({ "Attributes": out }))
}

async fn set_queue_attributes(app: &Arc<App>, req: &Value) -> Result<Value, ApiError> {
    let name = queue_name(req)?;
    let attributes = string_map(req, "Attributes")?;
    app.storage
        .run(move |c| queue_store::set_queue_attributes(c, &name, attributes, now_ms() / 1000))
        .await?;
    Ok(json!({}))
}

async fn send_message(app: &Arc<App>, req: &Value) -> Result<Value, ApiError> {
    let name = queue_name(req)?;
    let message = new_message(req)?;
    let queue = name.clone();
    let sent = app
        .storage
        .run(move |c| messages::send(c, &queue_store::get_queue(c, &queue)?, message, now_ms()))
        .await?;
    app.wake(&name);
    Ok(Value::Object(sent_json(&sent)))
}

/// Runs `each` on every entry inside one storage job: per-entry client errors become `Failed` entries, a storage
/// error fails the whole request.
async fn run_batch<F>(
    app: &Arc<App>,
    req: &Value,
    each: F,
) -> Result<(Vec<Value>, Vec<Value>), ApiError>
where
    F: Fn(&rusqlite::Connection, &Queue, &Value) -> Result<Map<String, Value>, ApiError>
        + Send
        + 'static,
{
    let name = queue_name(req)?;
    let entries = batch_entries(req)?;
    app.storage
        .run(move |c| {
            let queue = queue_store::get_queue(c, &name)?;
            let (mut ok, mut failed) = (Vec::new(), Vec::new());
            for entry in &entries {
                let id = entry.get("Id").and_then(Value::as_str).unwrap_or_default();
                c.execute_batch("SAVEPOINT entry")?;
                match each(c, &queue, entry) {
                    Ok(mut out) => {
                        c.execute_batch("RELEASE entry")?;
                        out.insert("Id".into(), json!(id));
                        ok.push(Value::Object(out));
                    }
                    Err(e) if matches!(e.kind, ApiErrorKind::Storage(_)) => return Err(e),
                    Err(e) => {
                        c.execute_batch("ROLLBACK TO entry; RELEASE entry")?;
                        failed.push(failed_entry(id, &e));
                    }
                }
            }
            Ok((ok, failed))
        })
        .await
}

async fn send_message_batch(app: &Arc<App>, req: &Value) -> Result<Value, ApiError> {
    let (ok, failed) = run_batch(app, req, |c, q, entry| {
        let sent = messages::send(c, q, new_message(entry)?, now_ms())?;
        Ok(sent_json(&sent))
    })
    .await?;
    if !ok.is_empty() {
        app.wake(&queue_name(req)?);
    }
    Ok(json!({"Successful": ok, "Failed": failed}))
}

async fn delete_message_batch(app: &Arc<App>, req: &Value) -> Result<Value, ApiError> {
    let (ok, failed) = run_batch(app, req, |c, q, entry| {
        messages::delete(c, q, required_str(entry, "ReceiptHandle")?)?;
        Ok(Map::new())
    })
    .await?;
    Ok(json!({"Successful": ok, "Failed": failed}))
}

async fn change_visibility_batch(app: &Arc<App>, req: &Value) -> Result<Value, ApiError> {
    let (ok, failed) = run_batch(app, req, |c, q, entry| {
        let timeout = required_int(entry, "VisibilityTimeout")?;
        messages::change_visibility(
            c,
            q,
            required_str(entry, "ReceiptHandle")?,
            timeout,
            now_ms(),
        )?;
        Ok(Map::new())
    })
    .await?;
    Ok(json!({"Successful": ok, "Failed": failed}))
}

async fn receive_message(app: &Arc<App>, req: &Value, sender_id: &str) -> Result<Value, ApiError> {
    let name = queue_name(req)?;
    let max = optional_int(req, "MaxNumberOfMessages")?.unwrap_or(1);
    if !(1..=10).contains(&max) {
        return Err(ApiError::invalid_parameter(format!(
            "Value {max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided."
        )));
    }
    let visibility = optional_int(req, "VisibilityTimeout")?;
    if let Some(v) = visibility
        && !(0..=43_200).contains(&v)
    {
        return Err(ApiError::invalid_parameter(format!(
            "Value {v} for parameter VisibilityTimeout is invalid."
        )));
    }
    let wait = optional_int(req, "WaitTimeSeconds")?;
    if let Some(w) = wait
        && !(0..=20).contains(&w)
    {
        return Err(ApiError::invalid_parameter(format!(
            "Value {w} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided."
        )));
    }
    let mut system_wanted = string_list(req, "AttributeNames");
    system_wanted.extend(string_list(req, "MessageSystemAttributeNames"));
    let attrs_wanted = string_list(req, "MessageAttributeNames");

    let queue_for_wait = name.clone();
    let wait_s = match wait {
        Some(w) => w,
        None => {
            app.storage
                .run(
                    move |c| Ok(queue_store::get_queue(c, &queue_for_wait)?.receive_wait_seconds()),
                )
                .await?
        }
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait_s as u64);
    let waiter = app.waiter(&name);
    let messages = loop {
        let notified = waiter.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let queue = name.clone();
        let got = app
            .storage
            .run(move |c| {
                let q = queue_store::get_queue(c, &queue)?;
                let vis = visibility.unwrap_or_else(|| q.visibility_timeout());
                messages::receive(c, &q, max as usize, vis, now_ms())
            })
            .await?;
        let now = tokio::time::Instant::now();
        if !got.is_empty() || now >= deadline {
            break got;
        }
        tokio::select! {
            _ = &mut notified => {}
            _ = tokio::time::sleep((deadline - now).min(POLL_TICK)) => {}
        }
    };
    if messages.is_empty() {
        return Ok(json!({}));
    }
    let rendered: Vec<Value> = messages
        .iter()
        .map(|m| render_received(m, &system_wanted, &attrs_wanted, sender_id))
        .collect();
    Ok(json!({ "Messages": rendered }))
}
