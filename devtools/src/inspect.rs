//! Looking at a pipeline from the command line: the tickets in the store, one line each (one ticket in full is
//! [`crate::show`]), queue depths (dead-letter queues included), and moving dead-lettered messages back.
//!
//! Key decisions: tickets are read through tr-core's [`Store::load`] over the host's SQLite file
//! ([`SqliteStore`] implements tr-core's [`Kv`]), so the key layout and the record's shape stay tr-core's;
//! only listing scans keys (which the intake path never does, so `Kv` has no scan), with the prefix taken
//! from tr-core's own key builder. Queues are asked through the SQS API (GetQueueAttributes), so `queues`
//! and `replay` work the same against the embedded endpoint, moto or AWS. Replay moves only a real dead-letter
//! queue (one some queue's RedrivePolicy names) and never into itself, and is receive → send to the source →
//! delete, so a crash in between repeats a message rather than losing it (the lanes are idempotent).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};
use serde::Serialize;
use tr_core::store::{Kv, KvError, LinkReason, Store, StoreConfig, TicketRecord, Watched, keys};
use tr_host::kv::SqliteKv;

use crate::local_aws::LocalAwsState;

/// The key-value store label the components use (`key_value_stores = ["default"]`).
const LABEL: &str = "default";

/// The host's SQLite key-value file as tr-core's [`Kv`]. Reads block (a CLI has nothing else to do meanwhile);
/// writes await the host's writer thread.
pub struct SqliteStore(SqliteKv);

fn kv_error(e: tr_host::kv::KvError) -> KvError {
    KvError::Other(e.to_string())
}

impl Kv for SqliteStore {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.0.get(LABEL, key).map_err(kv_error)
    }
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.0.set(LABEL, key, value).await.map_err(kv_error)
    }
    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.0.delete(LABEL, key).await.map_err(kv_error)
    }
    async fn exists(&self, key: &str) -> Result<bool, KvError> {
        self.0.exists(LABEL, key).map_err(kv_error)
    }
    type Watch = Watched;
    async fn watch(&self, key: &str) -> Result<(Option<Vec<u8>>, Watched), KvError> {
        let seen = self.0.get(LABEL, key).map_err(kv_error)?;
        Ok((seen.clone(), Watched { key: key.to_owned(), seen }))
    }
    async fn swap(&self, watch: Watched, value: &[u8]) -> Result<bool, KvError> {
        self.0.swap(LABEL, &watch.key, watch.seen, value).await.map_err(kv_error)
    }
}

/// The ticket store in the SQLite file `up` keeps beside `manifest` (tests write into it through this too).
pub fn store(manifest: &Path) -> anyhow::Result<Store<SqliteStore>> {
    let file = crate::local_aws::state_dir(manifest).join("sqlite_key_value.db");
    anyhow::ensure!(file.is_file(), "{} is missing: no ticket has been stored yet", file.display());
    Ok(Store::new(SqliteStore(SqliteKv::open(&file)?), StoreConfig::default()))
}

/// Ticket `id` as the store gives it: the record with the read stage's tags and flags on its ticket.
fn load(store: &Store<SqliteStore>, id: &str) -> anyhow::Result<Option<TicketRecord>> {
    let stored = pollster::block_on(store.load(id)).with_context(|| format!("reading ticket {id}"))?;
    Ok(stored.map(|s| s.record))
}

/// Every stored ticket record, oldest first (ticket ids are ULIDs: they sort by creation time).
pub fn tickets(manifest: &Path) -> anyhow::Result<Vec<TicketRecord>> {
    let store = store(manifest)?;
    let prefix = keys::ticket("");
    let mut ids: Vec<String> =
        store.kv().0.get_keys(LABEL)?.into_iter().filter_map(|k| k.strip_prefix(&prefix).map(str::to_owned)).collect();
    ids.sort();
    let mut records = Vec::new();
    for id in ids {
        records.extend(load(&store, &id)?);
    }
    Ok(records)
}

/// An enum's name as the wire format spells it (`medium`, `form`): the types' own serde names, not a copy.
pub fn wire_name(value: impl Serialize) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_else(|| "?".to_owned())
}

/// One line per ticket: id, received, source, customer, tags, messages, subject; then what a person should know:
/// possible duplicates, the ticket it follows up, its status unless open.
pub fn ticket_line(record: &TicketRecord) -> String {
    let t = &record.ticket;
    let tags = match &t.reading {
        None => "(not read yet)".to_owned(),
        Some(r) => format!("{}/{}/{}", r.topic, wire_name(r.urgency), wire_name(r.tone)),
    };
    // A near miss of the duplicate rule is for a person to judge, and a follow-up continues a ticket that was
    // closed: say so where they look.
    let linked = |reason: LinkReason, what: &str| {
        let ids: Vec<&str> = record.links.iter().filter(|l| l.reason == reason).map(|l| l.ticket_id.as_str()).collect();
        if ids.is_empty() { String::new() } else { format!("  ({what} {})", ids.join(", ")) }
    };
    let mut notes = linked(LinkReason::PossibleDuplicate, "possible duplicate of") + &linked(LinkReason::FollowUpOf, "follow-up of");
    if !record.is_open() {
        notes += &format!("  [{}]", record.status.as_str());
    }
    format!(
        "{}  {}  {:<5}  {:<32}  {:<28}  {} msg  {}{}",
        t.id,
        t.received_at,
        wire_name(t.source),
        t.customer.email.as_deref().unwrap_or("(anonymous)"),
        tags,
        record.messages.len(),
        t.subject,
        notes,
    )
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

/// Where `replay dlq [--to]` may move messages, checked before anything moves: `dlq` must be a dead-letter
/// queue (some queue's RedrivePolicy names it: replaying any other queue would take work away from its
/// consumer), and the target is `to` or the one queue that dead-letters into it — never `dlq` itself, which
/// would receive what it sends, forever.
pub async fn replay_target(state: &LocalAwsState, dlq: &str, to: Option<&str>) -> anyhow::Result<String> {
    state.queue_url(dlq)?;
    let sqs = aws_sdk_sqs::Client::new(&state.sdk_config().await);
    // Queue name → (its ARN, the ARN its RedrivePolicy dead-letters into).
    let mut queues = BTreeMap::new();
    for (name, url) in &state.queues {
        let out = sqs
            .get_queue_attributes()
            .queue_url(url)
            // `All`: a queue without a RedrivePolicy has no such attribute, and asking for it by name is an error
            // on the embedded endpoint (AWS answers without it).
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .with_context(|| format!("GetQueueAttributes {name}"))?;
        let attribute = |a: QueueAttributeName| out.attributes().and_then(|m| m.get(&a)).cloned();
        let target = attribute(QueueAttributeName::RedrivePolicy)
            .and_then(|policy| serde_json::from_str::<serde_json::Value>(&policy).ok())
            .and_then(|policy| policy["deadLetterTargetArn"].as_str().map(str::to_owned));
        queues.insert(name.clone(), (attribute(QueueAttributeName::QueueArn).unwrap_or_default(), target));
    }
    let arn = &queues[dlq].0;
    let sources: Vec<&String> = queues.iter().filter(|(_, (_, target))| target.as_ref() == Some(arn)).map(|(n, _)| n).collect();
    if sources.is_empty() {
        let dlqs: Vec<&String> = queues
            .iter()
            .filter(|(_, (a, _))| queues.values().any(|(_, target)| target.as_ref() == Some(a)))
            .map(|(n, _)| n)
            .collect();
        let dlqs = if dlqs.is_empty() { "none".to_owned() } else { dlqs.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", ") };
        anyhow::bail!(
            "`{dlq}` is not a dead-letter queue (no queue's RedrivePolicy sends to it), so it has nothing to replay and \
             nowhere to replay it to; dead-letter queues here: {dlqs}"
        );
    }
    let target = match (to, sources.as_slice()) {
        (Some(to), _) => {
            state.queue_url(to)?;
            to.to_owned()
        }
        (None, [only]) => (*only).clone(),
        (None, several) => anyhow::bail!(
            "several queues dead-letter into `{dlq}` ({}): name the one to replay to with --to",
            several.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", ")
        ),
    };
    anyhow::ensure!(target != dlq, "`{dlq}` cannot be replayed into itself: every message would come straight back, forever");
    Ok(target)
}

/// Moves every visible message of `dlq` to `source`, body and message attributes as they were; returns how many.
/// `source` comes from [`replay_target`]; this refuses the one case that would never end.
pub async fn replay(state: &LocalAwsState, dlq: &str, source: &str) -> anyhow::Result<u64> {
    anyhow::ensure!(dlq != source, "`{dlq}` cannot be replayed into itself: every message would come straight back, forever");
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
    use tr_core::store::TicketRecord;

    #[test]
    fn a_ticket_line_names_its_possible_duplicates_follow_ups_and_status() {
        let mut record: TicketRecord = serde_json::from_value(json!({
            "v": 1,
            "ticket": {"id": "01B", "customer": {"email": "ana@acme.example", "name": null}, "subject": "Invoice emails",
                       "body": "", "body_truncated": false, "source": "form", "received_at": "2026-11-27T10:00:00Z",
                       "page_url": null, "thread": {"message_id": null, "in_reply_to": null, "references": []},
                       "transcript_id": null, "idempotency_key": "form:n", "merged_from": [], "reading": null},
            "closed": false,
            "participants": [],
            "messages": [{"id": "m", "key": "k", "source": "form", "received_at": "2026-11-27T10:00:00Z", "subject": ""}],
            "merges": [],
            "links": [{"ticket_id": "01A", "reason": "possible-duplicate", "via": "similarity 0.33"},
                      {"ticket_id": "01C", "reason": "closed", "via": "In-Reply-To <x>"}],
        }))
        .unwrap();
        let line = super::ticket_line(&record);
        assert!(line.ends_with("Invoice emails  (possible duplicate of 01A)  (follow-up of 01C)"), "{line}");
        assert!(line.contains("  form   ana@acme.example") && line.contains("(not read yet)") && line.contains(" 1 msg "), "{line}");
        record.links.clear();
        assert!(super::ticket_line(&record).ends_with("Invoice emails"));
        record.status = tr_core::store::TicketStatus::Solved;
        assert!(super::ticket_line(&record).ends_with("Invoice emails  [solved]"));
    }
}
