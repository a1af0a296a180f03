//! The intake: one normalised ticket in, one outcome out — created, appended (and why), or a repeat.
//!
//! Key decisions (the layout and the rules are in [`crate::store`]'s module note):
//! - Writes go in one order: the message (under its idempotency key) first, then the thread pointer, the ticket
//!   record, and the customer index last. The message names its ticket before anything else exists, so a retry
//!   after any failure finds it and finishes the same job with the same ticket id; an index entry always names a
//!   record that exists, so an intake that finds a ticket in the index can append to it.
//! - Every read-modify-write is a compare-and-swap ([`Kv::watch`] / [`Kv::swap`]), each at the cost of the read
//!   and the write it replaces: the message key is created only if still absent (an intake that loses that race
//!   to a concurrent one with the same key answers [`StoreError::Busy`], and its retry finds the winner's work);
//!   an append re-reads the record and re-applies itself when another append got there first; a new ticket's
//!   index entry, when another intake of the customer wrote the index first, is re-judged against what that
//!   intake added — a duplicate of it turns this intake into an append to it (its own unsent record deleted).
//! - A second attempt with the key of an unfinished first one (a retry, or a copy of the same mail in the same
//!   poll) finishes the job with the same ticket id, possibly while the first is still at it. The two write the
//!   same values, and the index step never takes the ticket they both hold for a duplicate of itself.
//! - The time comes from the ticket (`received_at`, stamped by normalisation from the lane's injected clock); the
//!   store reads no clock and draws no random numbers.

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::keys;
use super::kv::{Kv, KvError};
use super::lifecycle::{CommandError, StatusAck, StatusCommand, TicketStatus};
use super::record::{
    self, Link, LinkReason, Merge, MergeReason, Message, MessageEntry, RECORD_VERSION, ReadingClaim, Recent,
    RecentTickets, RecordError, StoredReading, TicketRecord,
};
use super::similar::{self, Fingerprint};
use crate::mask;
use crate::normalise;
use crate::ticket::{Reading, ThreadIds, Ticket, TicketFlag};

#[derive(Debug, Clone, PartialEq)]
pub struct StoreConfig {
    /// How long after a ticket is created another intake from its customer can merge into it as a duplicate.
    pub window: Duration,
    /// Least text similarity ([`similar::similarity`]) for a duplicate merge.
    pub threshold: f64,
    /// Least number of content words the two texts must share, whatever the score: two one-word messages that
    /// happen to agree are no evidence.
    pub min_shared: usize,
    /// The second way to merge, for long texts: at least this many shared content words…
    pub strong_shared: usize,
    /// …and at least this similarity. Cosine falls with length (a 20-word email against a 12-word form sharing
    /// seven specific words scores 0.45); two different problems of one customer share the feature's words —
    /// two to five in every labelled hard negative — not six.
    pub strong_threshold: f64,
    /// A new ticket whose best candidate missed the merge rule but scored at least this, with
    /// [`Self::link_shared`] shared words, records a [`LinkReason::PossibleDuplicate`] link to it: a person
    /// merges in one click what the rule would not risk.
    pub link_threshold: f64,
    pub link_shared: usize,
    /// Most recent tickets kept per customer (newest kept). A customer with more open in one window is rare and
    /// is compared against the newest.
    pub recent_cap: usize,
    /// Longest raw body kept, in characters (longer is cut and flagged); also cut at
    /// [`record::RAW_BODY_BYTES`] of JSON, so a message value stays under 400 KB whatever the script.
    pub raw_body_limit: usize,
    /// Most participants a ticket keeps.
    pub participant_cap: usize,
    /// How long after a ticket is solved a reply in its thread (or naming it) reopens it; later, it starts a
    /// follow-up ticket ([`super::lifecycle`]).
    pub reopen_window: Duration,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(72 * 3600),
            threshold: DEFAULT_THRESHOLD,
            min_shared: 2,
            strong_shared: 6,
            strong_threshold: 0.30,
            link_threshold: 0.25,
            link_shared: 3,
            recent_cap: 8,
            raw_body_limit: 64_000,
            participant_cap: 20,
            reopen_window: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// The duplicate threshold: the lowest at which the rule kept precision ≥ 0.98 on the dev split of the labelled
/// pairs in `tests/fixtures/store/` (written before it was fixed; see the README there and `BENCHMARKS.md`).
/// Precision first: merging two different problems hides one of them from a person. Re-swept on `dev` for rule v3
/// (the synonym table, 2026-11-27): still 0.48 — at 0.47 two same-customer hard negatives (0.478, 0.474) merge.
/// Rule v4 adds the second way to merge ([`StoreConfig::strong_shared`]), chosen on all 273 pairs then written
/// (`blind3` had shown v3's recall fall to 0.24 on text written by someone else); see `BENCHMARKS.md`.
pub const DEFAULT_THRESHOLD: f64 = 0.48;

impl StoreConfig {
    /// The merge rule on one candidate: same customer and window are checked by the caller.
    pub fn merges(&self, sim: &similar::Similarity) -> bool {
        let shared = sim.shared.len();
        shared >= self.min_shared
            && (sim.score >= self.threshold || (shared >= self.strong_shared && sim.score >= self.strong_threshold))
    }

    /// Not merged, but close enough to show a person.
    pub fn links(&self, sim: &similar::Similarity) -> bool {
        !self.merges(sim) && sim.shared.len() >= self.link_shared && sim.score >= self.link_threshold
    }

    fn why(&self, sim: &similar::Similarity) -> String {
        if sim.score >= self.threshold {
            format!("similarity {:.3} ≥ {}", sim.score, self.threshold)
        } else {
            format!("{} shared words ≥ {} and similarity {:.3} ≥ {}", sim.shared.len(), self.strong_shared, sim.score, self.strong_threshold)
        }
    }
}

/// What a lane hands the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intake {
    /// Built by [`crate::TicketDraft::into_ticket`].
    pub ticket: Ticket,
    /// The body before quote stripping, when the lane has one (email).
    pub raw_body: Option<String>,
    /// Other addresses on the message (an email's To and Cc): they may reply into the ticket later.
    pub participants: Vec<String>,
    /// A ticket id the intake names itself (a subject tag, a reply address): `same-key`. Ignored unless it is a
    /// well-formed ticket id.
    pub ticket_ref: Option<String>,
    /// What its idempotency key already naming another message means.
    pub key_reuse: KeyReuse,
}

/// What a lane's idempotency key, found with *other* content under it, means. Either way nothing is lost: the
/// stored message stays as it was, and the new one is kept under a key of its own or refused *before* anything
/// is stored or acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyReuse {
    /// The key may honestly recur with other content (a second sender's mail reusing a Message-ID): the message
    /// is its own, stored under `{key}#{content digest}`, so its own retries find it.
    #[default]
    OwnKey,
    /// The key was drawn for one message (the form embed's nonce): another message under it is the sender's
    /// mistake, refused with [`StoreError::KeyReused`] (HTTP 409), and the sender draws a new key.
    Refuse,
}

impl Intake {
    pub fn new(ticket: Ticket) -> Self {
        Self { ticket, raw_body: None, participants: Vec::new(), ticket_ref: None, key_reuse: KeyReuse::OwnKey }
    }

    /// The unstripped body, masked like the ticket's text (it holds the same values and the quoted history's
    /// besides); the ticket's `masked` counts take the larger count per kind of the two.
    pub fn with_raw_body(mut self, raw: &str) -> Self {
        let masked = mask::mask(raw);
        let counts = mask::MaskCounts::from_list(&self.ticket.masked).max(masked.counts);
        if !counts.is_empty() && !self.ticket.flags.contains(&TicketFlag::Masked) {
            self.ticket.flags.push(TicketFlag::Masked);
        }
        self.ticket.masked = counts.to_list();
        self.raw_body = Some(masked.text);
        self
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum IntakeOutcome {
    /// A new ticket — or a retry of one whose sending was never confirmed. Either way the lane must put `ticket`
    /// on the ticket queue and then call [`Store::mark_enqueued`]. (Sending it twice is possible when the
    /// confirmation is what failed; the ticket id is the same, and a FIFO queue drops the copy.)
    Created { ticket: Ticket, resumed: bool },
    /// The intake was added to an existing ticket — or a retry of such an intake whose event was never confirmed
    /// sent. It must not go on the ticket queue (no second model call); the lane may put the [`Append`] on the
    /// optional read-tickets queue for the router, then call [`Store::mark_append_sent`].
    Appended(Append),
    /// This idempotency key was seen and its job is complete, sending included: nothing changed.
    Repeat { ticket_id: String },
}

impl IntakeOutcome {
    pub fn ticket_id(&self) -> &str {
        match self {
            IntakeOutcome::Created { ticket, .. } => &ticket.id,
            IntakeOutcome::Appended(a) => &a.ticket_id,
            IntakeOutcome::Repeat { ticket_id } => ticket_id,
        }
    }
}

/// An append event: which ticket, the message, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Append {
    pub ticket_id: String,
    pub message: Message,
    pub merge: Merge,
}

/// A ticket with all its messages, as [`Store::load`] reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredTicket {
    pub record: TicketRecord,
    pub messages: Vec<Message>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("key-value {op} of {key} failed: {source}")]
    Kv {
        op: &'static str,
        key: String,
        #[source]
        source: KvError,
    },
    #[error("stored value {key} is unreadable: {source}")]
    Record {
        key: String,
        #[source]
        source: RecordError,
    },
    #[error("received_at {0:?} is not an RFC 3339 time")]
    BadTime(String),
    #[error("no ticket {0} was created under this idempotency key")]
    UnknownTicket(String),
    #[error("ticket {ticket_id} exists but does not list the message that created it")]
    Inconsistent { ticket_id: String },
    /// Another intake with the same idempotency key wrote it between this one's read and write: it is being kept
    /// right now. Retryable: the retry finds its work (done, or to finish).
    #[error("another delivery of this message is being kept right now ({key}); try again")]
    Busy { key: String },
    /// Concurrent writers kept changing `key` for [`MAX_SWAPS`] tries. Retryable.
    #[error("{key} kept changing under concurrent writes; try again")]
    Contended { key: String },
    /// [`KeyReuse::Refuse`]: the idempotency key already names a message with other content. Nothing was
    /// stored; the same content under a new key will be kept.
    #[error("the idempotency key already names a different message; nothing was kept")]
    KeyReused,
    /// A status command that is not one ([`StatusCommand::checked`]).
    #[error("status command refused: {0}")]
    BadCommand(#[from] CommandError),
}

impl StoreError {
    /// Whether the *sender* should try again later (HTTP lanes answer 503 + Retry-After; queue-triggered
    /// components leave the message). A value of a newer version counts: a newer instance may be the one to read it.
    pub fn is_retryable(&self) -> bool {
        match self {
            StoreError::Kv { source, .. } => source.is_retryable(),
            StoreError::Busy { .. } | StoreError::Contended { .. } => true,
            StoreError::Record { source, .. } => matches!(source, RecordError::UnknownVersion { .. }),
            _ => false,
        }
    }
}

/// Most compare-and-swap attempts on one key per intake before it gives up ([`StoreError::Contended`]). Each
/// failed attempt means another intake's write landed, so this bounds the work, not the outcome.
pub const MAX_SWAPS: usize = 16;

pub struct Store<K> {
    kv: K,
    config: StoreConfig,
}

/// How an intake writes its message entry.
enum EntryWrite<W> {
    /// The key's first write: only if it is still absent, as the intake's first read found it.
    Create(W),
    /// The key is this intake's already (a resume, or a decision that changed after the entry was written).
    Overwrite,
    /// The stored entry already says what is true.
    Keep,
}

/// A customer's index as read for a compare-and-swap: the address, the list, and the watch.
struct Index<W> {
    addr: String,
    list: RecentTickets,
    watch: W,
}

impl<K: Kv> Store<K> {
    pub fn new(kv: K, config: StoreConfig) -> Self {
        Self { kv, config }
    }

    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    pub fn kv(&self) -> &K {
        &self.kv
    }

    pub async fn intake(&self, intake: Intake) -> Result<IntakeOutcome, StoreError> {
        let now_ms = millis(&intake.ticket.received_at)?;
        let ticket_ref = intake.ticket_ref.clone().filter(|r| keys::is_ticket_id(r));
        let key_reuse = intake.key_reuse;
        let mut message = self.message_from(intake);
        let mut key = keys::message(message.source, &message.idempotency_key);
        let (found, mut entry_watch) = self.watch::<MessageEntry>(&key).await?;
        if let Some(entry) = found {
            match &entry.message {
                // A reused key (a nonce replayed with another message, a second sender's mail reusing a
                // Message-ID) is not a repeat: the lane's key says whether it is refused (the sender draws a new
                // key) or the different message gets a key of its own, derived from its content, so its own
                // retries still find it.
                Some(stored) if !same_content(stored, &message) => {
                    if key_reuse == KeyReuse::Refuse {
                        return Err(StoreError::KeyReused);
                    }
                    message.idempotency_key = format!("{}#{}", message.idempotency_key, content_digest(&message));
                    key = keys::message(message.source, &message.idempotency_key);
                    let (found, watch) = self.watch::<MessageEntry>(&key).await?;
                    if let Some(entry) = found {
                        return self.resume(key, entry).await;
                    }
                    entry_watch = watch;
                }
                _ => return self.resume(key, entry).await,
            }
        }
        let sender = message.customer.email.as_deref().map(keys::match_address);
        // An email whose sender SES did not vouch for joins nothing: it may name a ticket or a thread (recorded
        // as a link for a person), but it is a ticket of its own, and not one later mail merges into by address.
        let verified = !message.flags.contains(&TicketFlag::UnverifiedSender);

        // Certain matches first: a ticket the intake names, then the email thread. Both admit only the ticket's
        // own people; anyone else starts a ticket that records the link.
        let mut link = None;
        if let Some(r) = ticket_ref
            && let (Some(rec), rec_watch) = self.watch::<TicketRecord>(&keys::ticket(&r)).await?
        {
            let via = "ticket reference".to_owned();
            match admit(&rec, sender.as_deref(), verified, now_ms, &self.config) {
                Ok(reopened) => {
                    let merge = Merge { reopened, ..merge_of(&message, MergeReason::SameKey, 1.0, via) };
                    return self.append(key, EntryWrite::Create(entry_watch), message, (rec, rec_watch), merge).await;
                }
                Err(reason) => link = Some(Link { ticket_id: r, reason, via }),
            }
        }
        if link.is_none() {
            let candidates: Vec<(&str, String)> =
                thread_candidates(&message.thread).into_iter().map(|(h, id)| (h, id.to_owned())).collect();
            for (header, id) in candidates {
                let Some(entry) = self.get::<MessageEntry>(&keys::thread(&id)).await? else { continue };
                let (Some(rec), rec_watch) = self.watch::<TicketRecord>(&keys::ticket(&entry.ticket_id)).await? else { continue };
                let via = format!("{header} <{id}>");
                match admit(&rec, sender.as_deref(), verified, now_ms, &self.config) {
                    Ok(reopened) => {
                        let merge = Merge { reopened, ..merge_of(&message, MergeReason::Thread, 1.0, via) };
                        return self.append(key, EntryWrite::Create(entry_watch), message, (rec, rec_watch), merge).await;
                    }
                    Err(reason) => {
                        link = Some(Link { ticket_id: rec.ticket.id, reason, via });
                        break;
                    }
                }
            }
        }

        // Then the duplicate rule, against this customer's recent tickets only. Anonymous visitors have none.
        let fingerprint = fingerprint_of(&message);
        let mut recent = None;
        if let Some(addr) = sender.filter(|_| verified) {
            let (list, watch) = self.watch::<RecentTickets>(&keys::customer(&addr)).await?;
            let list = list.unwrap_or_default();
            // Scored once; the merge rule looks first, the possible-duplicate link second.
            let scored = self.scored(&list, &fingerprint, now_ms);
            if let Some((best, sim)) = best_of(&scored, |s| self.config.merges(s))
                && let (Some(rec), rec_watch) = self.watch::<TicketRecord>(&keys::ticket(&best.ticket_id)).await?
                && rec.is_open()
                && !rec.is_full()
            {
                let merge = self.duplicate_merge(&message, best, sim, now_ms);
                return self.append(key, EntryWrite::Create(entry_watch), message, (rec, rec_watch), merge).await;
            }
            if link.is_none()
                && let Some((best, sim)) = best_of(&scored, |s| self.config.links(s))
            {
                let via = format!("similarity {:.3}, shared words: {}", sim.score, shared_list(sim));
                link = Some(Link { ticket_id: best.ticket_id.clone(), reason: LinkReason::PossibleDuplicate, via });
            }
            recent = Some(Index { addr, list, watch });
        }
        self.create(key, EntryWrite::Create(entry_watch), message, fingerprint, now_ms, recent, link, false).await
    }

    /// Records that the lane put a [`IntakeOutcome::Created`] ticket on the ticket queue, so a retry with the same
    /// idempotency key is a [`IntakeOutcome::Repeat`]. Two operations; writes only the creating message, which
    /// nothing else writes, so it cannot race with appends to the ticket.
    pub async fn mark_enqueued(&self, ticket: &Ticket) -> Result<(), StoreError> {
        let key = keys::message(ticket.source, &ticket.idempotency_key);
        self.mark_sent(&key, &ticket.id, false).await
    }

    /// Records that the lane put an [`Append`] on the read-tickets queue. A lane without that queue never calls
    /// it: a retry then returns the same `Appended` again, which such a lane simply answers with success.
    pub async fn mark_append_sent(&self, append: &Append) -> Result<(), StoreError> {
        let key = keys::message(append.message.source, &append.message.idempotency_key);
        self.mark_sent(&key, &append.ticket_id, true).await
    }

    async fn mark_sent(&self, key: &str, ticket_id: &str, appended: bool) -> Result<(), StoreError> {
        let unknown = || StoreError::UnknownTicket(ticket_id.to_owned());
        let mut entry: MessageEntry = self.get(key).await?.ok_or_else(unknown)?;
        if entry.ticket_id != ticket_id || entry.merge.is_some() != appended || entry.message.is_none() {
            return Err(unknown());
        }
        if !entry.enqueued {
            entry.enqueued = true;
            self.put(key, &entry).await?;
        }
        Ok(())
    }

    /// A ticket with its reading and all its messages (2 + one read per message; not for the intake path).
    pub async fn load(&self, ticket_id: &str) -> Result<Option<StoredTicket>, StoreError> {
        let Some(mut record) = self.get::<TicketRecord>(&keys::ticket(ticket_id)).await? else { return Ok(None) };
        if let Some(stored) = self.reading_of(ticket_id).await? {
            record.apply_reading(stored);
        }
        let mut messages = Vec::with_capacity(record.messages.len());
        for m in &record.messages {
            if let Some(MessageEntry { message: Some(message), .. }) = self.get(&m.key).await? {
                messages.push(message);
            }
        }
        Ok(Some(StoredTicket { record, messages }))
    }

    /// Applies the router's status command to its ticket ([`super::lifecycle`]: solved or closed, later
    /// duplicates start a new ticket; a reply reopens a solved ticket within the window, else starts a follow-up).
    /// `None` when there is no such ticket. One read, and one compare-and-swap only when the status changes: the
    /// same command twice writes once. A concurrent append or command that lands first makes it read the record
    /// and decide again.
    pub async fn set_status(&self, command: &StatusCommand) -> Result<Option<StatusAck>, StoreError> {
        let command = command.clone().checked()?;
        let key = keys::ticket(&command.ticket_id);
        for _ in 0..MAX_SWAPS {
            let (Some(mut record), watch) = self.watch::<TicketRecord>(&key).await? else { return Ok(None) };
            let (ack, changed) = record.apply_command(&command);
            if !changed || self.swap(watch, &key, &record).await? {
                return Ok(Some(ack));
            }
        }
        Err(StoreError::Contended { key })
    }

    /// Claims the reading of a ticket for one delivery of it, so two deliveries at once (SQS delivers at least
    /// once, and a lane may send a ticket twice) make one model call: `false` when another delivery claimed it
    /// less than `lease` ago (it is reading; this one comes back later and finds the reading). A claim outlives a
    /// reader that died by `lease` at most; a reader that fails releases it ([`Self::release_reading`]). Two
    /// operations.
    pub async fn claim_reading(&self, ticket_id: &str, now_ms: i64, lease: Duration) -> Result<bool, StoreError> {
        let key = keys::reading_claim(ticket_id);
        let (held, watch) = self.watch::<ReadingClaim>(&key).await?;
        if let Some(claim) = held
            && (now_ms - claim.at_ms).abs() < lease.as_millis() as i64
        {
            return Ok(false);
        }
        self.swap(watch, &key, &ReadingClaim { v: RECORD_VERSION, at_ms: now_ms }).await
    }

    /// Gives up a claim made by [`Self::claim_reading`] (the reading failed; the next delivery may read at once).
    pub async fn release_reading(&self, ticket_id: &str) -> Result<(), StoreError> {
        self.delete(&keys::reading_claim(ticket_id)).await
    }

    /// The reading already written for a ticket (the read component's redelivery check: one read per ticket).
    /// `None` when it was not read yet.
    pub async fn reading_of(&self, ticket_id: &str) -> Result<Option<StoredReading>, StoreError> {
        self.get::<StoredReading>(&keys::reading(ticket_id)).await
    }

    /// Writes the read component's tags (and flags such as `read-error`) for a ticket, under their own key (see
    /// [`keys::reading`]). Returns false, writing nothing, when there is no such ticket (a lane writing to
    /// another store). One existence check and one write; the record itself is not touched.
    pub async fn record_reading(&self, ticket_id: &str, reading: &Reading, flags: &[TicketFlag]) -> Result<bool, StoreError> {
        if !self.exists(&keys::ticket(ticket_id)).await? {
            return Ok(false);
        }
        let stored = StoredReading { v: RECORD_VERSION, reading: reading.clone(), flags: flags.to_vec() };
        self.put(&keys::reading(ticket_id), &stored).await?;
        Ok(true)
    }

    /// The idempotency key was seen. Finish whatever its first attempt did not, from what that attempt stored.
    async fn resume(&self, key: String, entry: MessageEntry) -> Result<IntakeOutcome, StoreError> {
        let Some(message) = entry.message.clone() else {
            // A bare thread pointer: a message with this Message-ID is already on the ticket.
            return Ok(IntakeOutcome::Repeat { ticket_id: entry.ticket_id });
        };
        if entry.enqueued {
            // Only set after the record was written and the ticket (or append event) sent: the job is done.
            return Ok(IntakeOutcome::Repeat { ticket_id: entry.ticket_id });
        }
        let ticket_key = keys::ticket(&entry.ticket_id);
        match (self.watch::<TicketRecord>(&ticket_key).await?, entry.merge) {
            // Complete, but the lane never confirmed sending what it had to send: hand it over again — after
            // making sure the customer's index lists a ticket this message created (the index is written last).
            ((Some(record), _), merge) if record.has_message(&key) => Ok(match merge {
                None => {
                    // Never joins another ticket: this one may have been sent already (its confirmation failed).
                    if let Some(index) = self.index_of(&message).await? {
                        let (fingerprint, now_ms) = (fingerprint_of(&message), millis(&message.received_at)?);
                        self.add_or_join(index, key, &message, &fingerprint, now_ms, false).await?;
                    }
                    IntakeOutcome::Created { ticket: record.ticket, resumed: true }
                }
                Some(merge) => IntakeOutcome::Appended(Append { ticket_id: entry.ticket_id, message, merge }),
            }),
            ((Some(record), watch), Some(merge)) => {
                self.put_thread_pointer(&key, &message, &entry.ticket_id).await?;
                self.append(key, EntryWrite::Keep, message, (record, watch), merge).await
            }
            // The record carries this message's own id, and only this intake creates it with the message listed.
            ((Some(_), _), None) => Err(StoreError::Inconsistent { ticket_id: entry.ticket_id }),
            ((None, _), merge) => {
                // Either this message's own ticket was not written yet, or the ticket it was appended to never
                // was (its intake failed midway): in both cases this message gets a ticket of its own.
                let now_ms = millis(&message.received_at)?;
                let fingerprint = fingerprint_of(&message);
                let recent = self.index_of(&message).await?;
                let write = if merge.is_some() { EntryWrite::Overwrite } else { EntryWrite::Keep };
                self.create(key, write, message, fingerprint, now_ms, recent, entry.link, true).await
            }
        }
    }

    /// The customer's index, watched, for a message whose sender has one (an address, vouched for).
    async fn index_of(&self, message: &Message) -> Result<Option<Index<K::Watch>>, StoreError> {
        let verified = !message.flags.contains(&TicketFlag::UnverifiedSender);
        let Some(addr) = message.customer.email.as_deref().map(keys::match_address).filter(|_| verified) else {
            return Ok(None);
        };
        let (list, watch) = self.watch::<RecentTickets>(&keys::customer(&addr)).await?;
        Ok(Some(Index { addr, list: list.unwrap_or_default(), watch }))
    }

    /// The merge record of a duplicate of `best`.
    fn duplicate_merge(&self, message: &Message, best: &Recent, sim: &similar::Similarity, now_ms: i64) -> Merge {
        let detail = format!(
            "same customer, {} after the ticket, {}, shared words: {}",
            hours(now_ms - best.at_ms),
            self.config.why(sim),
            shared_list(sim)
        );
        merge_of(message, MergeReason::Duplicate, round3(sim.score), detail)
    }

    #[allow(clippy::too_many_arguments)]
    async fn create(
        &self,
        key: String,
        write: EntryWrite<K::Watch>,
        message: Message,
        fingerprint: Fingerprint,
        now_ms: i64,
        recent: Option<Index<K::Watch>>,
        link: Option<Link>,
        resumed: bool,
    ) -> Result<IntakeOutcome, StoreError> {
        let ticket_id = message.id.clone();
        let entry = MessageEntry {
            v: RECORD_VERSION,
            ticket_id: ticket_id.clone(),
            message: Some(message.clone()),
            merge: None,
            link: link.clone(),
            enqueued: false,
        };
        self.write_entry(&key, write, &entry).await?;
        self.put_thread_pointer(&key, &message, &ticket_id).await?;
        let record = TicketRecord::new(&key, &message, link, self.participants_of(&message));
        self.put(&keys::ticket(&ticket_id), &record).await?;
        if let Some(index) = recent {
            // Another intake of this customer may have written the index since it was read: if what it added is
            // a ticket this one duplicates, this intake joins that ticket instead.
            if let Some(outcome) = self.add_or_join(index, key, &message, &fingerprint, now_ms, true).await? {
                return Ok(outcome);
            }
        }
        Ok(IntakeOutcome::Created { ticket: record.ticket, resumed })
    }

    /// Adds the message's own ticket to its customer's index (nothing when it is listed already). With `may_join`
    /// — the record was written by this very call, so it was never sent — if the index changed since it was read
    /// and a ticket added meanwhile is one this message duplicates, the message is appended there instead and its
    /// own record is deleted: `Some(Appended)`. `None` when the ticket is in the index.
    async fn add_or_join(
        &self,
        mut index: Index<K::Watch>,
        key: String,
        message: &Message,
        fingerprint: &Fingerprint,
        now_ms: i64,
        may_join: bool,
    ) -> Result<Option<IntakeOutcome>, StoreError> {
        let ticket_id = &message.id;
        let index_key = keys::customer(&index.addr);
        for _ in 0..MAX_SWAPS {
            if index.list.entries.iter().any(|r| &r.ticket_id == ticket_id) {
                return Ok(None);
            }
            let list = self.with_entry(index.list.clone(), ticket_id, fingerprint.clone(), now_ms);
            if self.swap(index.watch, &index_key, &list).await? {
                return Ok(None);
            }
            let seen: Vec<String> = index.list.entries.iter().map(|r| r.ticket_id.clone()).collect();
            let (fresh, watch) = self.watch::<RecentTickets>(&index_key).await?;
            index = Index { addr: index.addr, list: fresh.unwrap_or_default(), watch };
            // Listed meanwhile by another attempt with this message's key: the ticket stands (it may be sent
            // already), and it is never a duplicate of itself.
            if !may_join || index.list.entries.iter().any(|r| &r.ticket_id == ticket_id) {
                continue;
            }
            let added = RecentTickets {
                entries: index.list.entries.iter().filter(|r| !seen.contains(&r.ticket_id)).cloned().collect(),
                ..RecentTickets::default()
            };
            let scored = self.scored(&added, fingerprint, now_ms);
            if let Some((best, sim)) = best_of(&scored, |s| self.config.merges(s))
                && let (Some(rec), rec_watch) = self.watch::<TicketRecord>(&keys::ticket(&best.ticket_id)).await?
                && rec.is_open()
                && !rec.is_full()
            {
                let merge = self.duplicate_merge(message, best, sim, now_ms);
                let outcome = self.append(key, EntryWrite::Overwrite, message.clone(), (rec, rec_watch), merge).await?;
                if matches!(outcome, IntakeOutcome::Appended(_)) {
                    self.delete(&keys::ticket(ticket_id)).await?;
                }
                return Ok(Some(outcome));
            }
        }
        Err(StoreError::Contended { key: index_key })
    }

    /// The index with a ticket added: entries outside the window dropped, newest first, bounded in count and bytes.
    fn with_entry(&self, mut list: RecentTickets, ticket_id: &str, fingerprint: Fingerprint, now_ms: i64) -> RecentTickets {
        let window_ms = self.config.window.as_millis() as i64;
        list.entries.retain(|r| (now_ms - r.at_ms).abs() <= window_ms);
        list.entries.insert(0, Recent { ticket_id: ticket_id.to_owned(), at_ms: now_ms, fingerprint });
        list.entries.sort_by_key(|r| std::cmp::Reverse(r.at_ms));
        list.entries.truncate(self.config.recent_cap);
        // Bounded in bytes as well as in count: the oldest go first (a fingerprint is bounded, so the newest alone
        // always fits).
        while list.entries.len() > 1 && record::encode(&list).len() > record::CUSTOMER_INDEX_BYTES {
            list.entries.pop();
        }
        list
    }

    /// Appends `message` to the ticket `target` holds (read with its watch). When another writer changed the
    /// record first, it is read again and the append re-applied; if the ticket closed or filled up meanwhile, the
    /// message becomes a ticket of its own that links to it.
    async fn append(
        &self,
        key: String,
        write: EntryWrite<K::Watch>,
        message: Message,
        target: (TicketRecord, K::Watch),
        merge: Merge,
    ) -> Result<IntakeOutcome, StoreError> {
        let (mut record, mut watch) = target;
        let ticket_id = record.ticket.id.clone();
        let entry = MessageEntry {
            v: RECORD_VERSION,
            ticket_id: ticket_id.clone(),
            message: Some(message.clone()),
            merge: Some(merge.clone()),
            link: None,
            enqueued: false,
        };
        self.write_entry(&key, write, &entry).await?;
        self.put_thread_pointer(&key, &message, &ticket_id).await?;
        let ticket_key = keys::ticket(&ticket_id);
        for _ in 0..MAX_SWAPS {
            if record.has_message(&key) {
                return Ok(IntakeOutcome::Appended(Append { ticket_id, message, merge }));
            }
            record.append(&key, &message, &merge, &self.participants_of(&message), self.config.participant_cap);
            if self.swap(watch, &ticket_key, &record).await? {
                return Ok(IntakeOutcome::Appended(Append { ticket_id, message, merge }));
            }
            let (fresh, w) = self.watch::<TicketRecord>(&ticket_key).await?;
            // `Some(link)`: the message cannot join this ticket any more and becomes its own.
            let fall_back = match &fresh {
                // Solved or closed meanwhile: a duplicate never joins such a ticket, and a reply admitted while it
                // was open was not written as reopening it (its entry is already stored): it follows the ticket up.
                Some(r) if !r.is_open() && !(merge.reopened && r.status == TicketStatus::Solved) => {
                    Some(Some(LinkReason::FollowUpOf))
                }
                Some(r) if r.is_full() && !r.has_message(&key) => Some(Some(LinkReason::Full)),
                Some(_) => None,
                // Deleted meanwhile (an intake that lost a race and joined another ticket): nothing to link to.
                None => Some(None),
            };
            if let Some(reason) = fall_back {
                let link = reason.map(|reason| Link { ticket_id, reason, via: merge.detail });
                let now_ms = millis(&message.received_at)?;
                let fingerprint = fingerprint_of(&message);
                return Box::pin(self.create(key, EntryWrite::Overwrite, message, fingerprint, now_ms, None, link, false)).await;
            }
            (record, watch) = (fresh.expect("checked above"), w);
        }
        Err(StoreError::Contended { key: ticket_key })
    }

    async fn write_entry(&self, key: &str, write: EntryWrite<K::Watch>, entry: &MessageEntry) -> Result<(), StoreError> {
        match write {
            EntryWrite::Create(watch) => {
                if !self.swap(watch, key, entry).await? {
                    return Err(StoreError::Busy { key: key.to_owned() });
                }
                Ok(())
            }
            EntryWrite::Overwrite => self.put(key, entry).await,
            EntryWrite::Keep => Ok(()),
        }
    }

    /// An email whose idempotency key is not its Message-ID (the lane used something else) still needs the
    /// Message-ID in the thread index. Never overwrites: whatever is there already names the right ticket or a
    /// message of its own.
    async fn put_thread_pointer(&self, key: &str, message: &Message, ticket_id: &str) -> Result<(), StoreError> {
        let Some(mid) = &message.thread.message_id else { return Ok(()) };
        let thread_key = keys::thread(mid);
        if thread_key == key || self.exists(&thread_key).await? {
            return Ok(());
        }
        let pointer = MessageEntry {
            v: RECORD_VERSION,
            ticket_id: ticket_id.to_owned(),
            message: None,
            merge: None,
            link: None,
            enqueued: false,
        };
        self.put(&thread_key, &pointer).await
    }

    /// The customer's recent tickets inside the window, each with its similarity to the intake.
    fn scored<'a>(&self, list: &'a RecentTickets, fingerprint: &Fingerprint, now_ms: i64) -> Vec<(&'a Recent, similar::Similarity)> {
        let window_ms = self.config.window.as_millis() as i64;
        list.entries
            .iter()
            .filter(|r| (now_ms - r.at_ms).abs() <= window_ms)
            .map(|r| (r, similar::similarity(&r.fingerprint, fingerprint)))
            .collect()
    }

    fn message_from(&self, intake: Intake) -> Message {
        let t = intake.ticket;
        let (raw_body, raw_body_truncated) = match intake.raw_body {
            Some(raw) => {
                let (mut body, cut) = normalise::multi_line(&raw, self.config.raw_body_limit);
                let cut_bytes = normalise::cut_to_json_bytes(&mut body, record::RAW_BODY_BYTES);
                (Some(body).filter(|b| !b.is_empty()), cut || cut_bytes)
            }
            None => (None, false),
        };
        let sender = t.customer.email.as_deref().map(keys::match_address);
        let mut participants: Vec<String> = Vec::new();
        // At most the cap is ever kept, so the repeat check stays small whatever the lane handed over.
        for p in &intake.participants {
            if participants.len() == self.config.participant_cap {
                break;
            }
            let Ok(email) = normalise::normalise_email(p) else { continue };
            let addr = keys::match_address(&email);
            if Some(&addr) != sender.as_ref() && !participants.contains(&addr) {
                participants.push(addr);
            }
        }
        Message {
            id: t.id,
            source: t.source,
            received_at: t.received_at,
            idempotency_key: t.idempotency_key,
            customer: t.customer,
            subject: t.subject,
            body: t.body,
            body_truncated: t.body_truncated,
            raw_body,
            raw_body_truncated,
            page_url: t.page_url,
            thread: t.thread,
            transcript_id: t.transcript_id,
            participants,
            flags: t.flags,
            masked: t.masked,
        }
    }

    /// The sender and everyone else on the message.
    fn participants_of(&self, message: &Message) -> Vec<String> {
        let mut out: Vec<String> = message.customer.email.as_deref().map(keys::match_address).into_iter().collect();
        out.extend(message.participants.iter().cloned());
        out.truncate(self.config.participant_cap);
        out
    }

    async fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        let bytes = self.kv.get(key).await.map_err(|source| StoreError::Kv { op: "get", key: key.to_owned(), source })?;
        match bytes {
            None => Ok(None),
            Some(b) => record::decode(&b).map(Some).map_err(|source| StoreError::Record { key: key.to_owned(), source }),
        }
    }

    async fn put<T: Serialize>(&self, key: &str, value: &T) -> Result<(), StoreError> {
        self.kv.set(key, &record::encode(value)).await.map_err(|source| StoreError::Kv { op: "set", key: key.to_owned(), source })
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        self.kv.exists(key).await.map_err(|source| StoreError::Kv { op: "exists", key: key.to_owned(), source })
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.kv.delete(key).await.map_err(|source| StoreError::Kv { op: "delete", key: key.to_owned(), source })
    }

    async fn watch<T: DeserializeOwned>(&self, key: &str) -> Result<(Option<T>, K::Watch), StoreError> {
        let (bytes, watch) =
            self.kv.watch(key).await.map_err(|source| StoreError::Kv { op: "watch", key: key.to_owned(), source })?;
        match bytes {
            None => Ok((None, watch)),
            Some(b) => record::decode(&b).map(|v| (Some(v), watch)).map_err(|source| StoreError::Record { key: key.to_owned(), source }),
        }
    }

    /// `false` when another writer changed the key since its watch.
    async fn swap<T: Serialize>(&self, watch: K::Watch, key: &str, value: &T) -> Result<bool, StoreError> {
        self.kv.swap(watch, &record::encode(value)).await.map_err(|source| StoreError::Kv { op: "swap", key: key.to_owned(), source })
    }
}

fn merge_of(message: &Message, reason: MergeReason, score: f64, detail: String) -> Merge {
    Merge { message: message.id.clone(), reason, score, detail, reopened: false }
}

/// Whether the sender may add to this ticket, sent at `at_ms`: for email behind SES the sender is who the address
/// says; the sender is its customer or a participant (a stranger is told apart first, whatever the ticket's
/// status); it is open, or solved within the reopen window; it has room. `Ok(true)`: the message reopens it.
fn admit(record: &TicketRecord, sender: Option<&str>, verified: bool, at_ms: i64, config: &StoreConfig) -> Result<bool, LinkReason> {
    if !verified {
        return Err(LinkReason::UnverifiedSender);
    }
    if !sender.is_some_and(|s| record.participants.iter().any(|p| p == s)) {
        return Err(LinkReason::OtherSender);
    }
    record.takes_reply(at_ms, config.reopen_window)?;
    if record.is_full() {
        return Err(LinkReason::Full);
    }
    Ok(record.status == TicketStatus::Solved)
}

/// At most two Message-IDs to look up, so a reply costs the same however long its thread: In-Reply-To (or,
/// without it, the newest reference), then the oldest reference — the thread's root, which every client keeps
/// and which is the customer's first mail when the ticket began by email. Middle references are not looked up.
fn thread_candidates(thread: &ThreadIds) -> Vec<(&'static str, &str)> {
    let mut out: Vec<(&'static str, &str)> = Vec::with_capacity(2);
    match (&thread.in_reply_to, thread.references.last()) {
        (Some(irt), _) => out.push(("In-Reply-To", irt)),
        (None, Some(last)) => out.push(("References", last)),
        (None, None) => {}
    }
    if let Some(root) = thread.references.first()
        && !out.iter().any(|(_, id)| id == root)
    {
        out.push(("References", root));
    }
    out
}

/// The words a message is compared by.
pub fn fingerprint_of(message: &Message) -> Fingerprint {
    similar::fingerprint(&message.subject, &message.body, &similar::identity_words(&message.customer))
}

fn millis(rfc3339: &str) -> Result<i64, StoreError> {
    OffsetDateTime::parse(rfc3339, &Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .map_err(|_| StoreError::BadTime(rfc3339.to_owned()))
}

fn hours(ms: i64) -> String {
    let minutes = ms.abs() / 60_000;
    format!("{}h{:02}m", minutes / 60, minutes % 60)
}

/// The highest-scoring candidate `keep` accepts (the newer one on a tie).
fn best_of<'s, 'a>(
    scored: &'s [(&'a Recent, similar::Similarity)],
    keep: impl Fn(&similar::Similarity) -> bool,
) -> Option<&'s (&'a Recent, similar::Similarity)> {
    scored.iter().filter(|(_, s)| keep(s)).max_by(|(ra, a), (rb, b)| a.score.total_cmp(&b.score).then(ra.at_ms.cmp(&rb.at_ms)))
}

fn shared_list(sim: &similar::Similarity) -> String {
    sim.shared.iter().take(12).cloned().collect::<Vec<_>>().join(", ")
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Whether a message stored under an idempotency key says the same as a new intake under that key: the same
/// sender, subject and text. A retry always does; anything else reused the key.
fn same_content(stored: &Message, new: &Message) -> bool {
    stored.customer.email == new.customer.email
        && stored.subject == new.subject
        && stored.body == new.body
        && stored.raw_body == new.raw_body
}

/// 64 bits of SHA-256 over the sender, subject and text, length-prefixed so no two splits collide.
fn content_digest(message: &Message) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for part in [message.customer.email.as_deref(), Some(message.subject.as_str()), Some(message.body.as_str()), message.raw_body.as_deref()] {
        let part = part.unwrap_or("");
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part.as_bytes());
    }
    hex::encode(&hash.finalize()[..8])
}
