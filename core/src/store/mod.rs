//! The ticket store: every ticket written once, retries made harmless, replies threaded, duplicates from other
//! lanes merged — each merge explained — over the Spin key-value store, at a constant cost per intake.
//!
//! Spin's key-value store has get, set, delete, exists and a whole-store key listing, and — through
//! `wasi:keyvalue/atomics`, on the same stores — compare-and-swap; no expiry. The layout below never lists keys;
//! every read-modify-write is a compare-and-swap ([`Kv::watch`], [`Kv::swap`]), at the cost of the read and the
//! write it replaces.
//!
//! # Key layout ([`keys`]; `h` = first 128 bits of SHA-256, hex)
//!
//! | key | value | written |
//! |---|---|---|
//! | `tr/m/{lane}/{h(idempotency key)}` | a message ([`record::MessageEntry`]): the intake whole (stripped and raw body, source, time, key, Message-ID, subject), its ticket id, and the merge record or link that says why it is there | once per intake, first |
//! | `tr/c/{h(match address)}` | the customer's recent tickets: id, created-at, text fingerprint; newest first, at most 8 and 64 KiB (oldest dropped first), entries older than the window dropped on every write | when a ticket is created |
//! | `tr/t/{ticket id}` | the ticket record: the [`crate::Ticket`] sent to the queue, its messages (without bodies), merge records, links, participants, its status (open / solved / closed, since when, set by which command); at most 256 KiB (then full) | created, then rewritten per append and per status change |
//! | `tr/g/{ticket id}` | the read stage's reading ([`record::StoredReading`]: topic, urgency, tone, its flags) | once, by the read stage ([`Store::record_reading`]); [`Store::load`] puts it on the ticket |
//! | `tr/gc/{ticket id}` | when a delivery began reading the ticket ([`record::ReadingClaim`]) | by the read stage before its model call ([`Store::claim_reading`]: a compare-and-swap; another delivery within the lease waits); removed when that reading fails |
//!
//! The message key is the idempotency index. For email the lane's idempotency key is the Message-ID, so the
//! same key is the **thread index** (`tr/m/email/{h(Message-ID)}`) at no extra write. An email whose key is
//! something else gets a bare pointer under its Message-ID as well (one exists + one set more).
//!
//! # What an intake does ([`Store::intake`])
//!
//! 1. Read its message key. Found → a **repeat**: finish whatever the first attempt did not (from what it
//!    stored), or, if it completed, answer [`IntakeOutcome::Repeat`] with the same ticket id and change nothing.
//!    Found with *other* content (sender, subject or text differ), the key was reused, and the lane's
//!    [`KeyReuse`] decides: a form nonce is refused ([`StoreError::KeyReused`], HTTP 409, nothing stored: the
//!    embed draws a new nonce), anything else — a second sender's mail reusing a Message-ID — is its own
//!    message under `{key}#{content digest}` (one get more). A key never swallows a different message.
//! 2. **Same key**: the intake names a ticket id itself (`ticket_ref`, from a subject tag or a reply address) →
//!    append, reason `same-key`, if the sender belongs to that ticket and its status takes the message (as in 3).
//! 3. **Thread**: an email's In-Reply-To (or newest reference) and its oldest reference (the thread's root) are
//!    looked up — two reads at most, however long the thread. A hit whose sender is the ticket's customer or a
//!    participant (anyone on its messages' To/Cc), on a ticket that is open — or solved within the reopen window,
//!    which the reply reopens (below) — → append, reason `thread`. Anyone else → a new ticket that records a
//!    [`record::Link`] to it (`other-sender`, whatever the ticket's status); never a stranger's mail on
//!    someone's ticket. The ticket's own people on a closed ticket, or one solved longer ago than the window →
//!    a new ticket linked `follow-up-of`; on one already listing [`record::MAX_MESSAGES`] messages (a record must
//!    fit the smallest backend's item limit) → linked `full`.
//! 4. **Duplicate** ([`similar`]): the customer's recent tickets (one read) are compared with the intake without
//!    reading any ticket. Same customer (by match address), created within the window (72 h by default), at
//!    least [`StoreConfig::min_shared`] (2) content words in common, and either cosine similarity ≥
//!    [`StoreConfig::threshold`] ([`DEFAULT_THRESHOLD`], 0.48) or — for long texts, whose cosine falls with
//!    length — at least [`StoreConfig::strong_shared`] (6) shared words and cosine ≥
//!    [`StoreConfig::strong_threshold`] (0.30) ([`StoreConfig::merges`]) → append to the best one if it is open
//!    (never to a solved or closed one: that makes a new ticket), reason `duplicate`, with the score, which rule and the shared words. Anonymous chat visitors (no address)
//!    have no index and never merge by identity. A candidate that misses the rule but scores ≥ 0.25 with ≥ 3
//!    shared words is recorded on the new ticket as a [`record::LinkReason::PossibleDuplicate`] link, for a
//!    person to merge (no extra operation: the list was read, the record is written anyway). Measured on 323
//!    labelled pairs (`BENCHMARKS.md`): the rule prefers a second ticket to hiding a different problem inside
//!    the first.
//!
//! An email flagged `unverified-sender` (behind SES, its verdicts did not vouch for the sender:
//! [`crate::email::sender_trust`]) skips 2–4: it is a new ticket that records a
//! [`record::LinkReason::UnverifiedSender`] link to the ticket it named or threaded onto, and it is left out of
//! the customer's index, so a forged From neither writes into a customer's ticket nor becomes one that the
//! customer's next message merges into. Form and chat messages (an address the visitor typed) merge as usual
//! but carry the `unverified` flag, on the ticket and on their entry in its message list.
//! 5. Otherwise **create**: message, customer index, record.
//!
//! # Status: open, solved, closed ([`lifecycle`])
//!
//! What Zendesk and Zammad do. The router sets a ticket **solved** (the agent believes it is fixed) or **closed**
//! (done for good), or **open** again, with a command on the ticket queue (`{"v":1,"event":"status",
//! "status":{"ticket_id","status","command_id","at"}}`, IAM-authenticated like every queue here); the read
//! component applies it ([`Store::set_status`]) and acknowledges it on the read queue.
//! - Neither a solved nor a closed ticket ever absorbs a duplicate: the same customer's similar message makes a
//!   new ticket.
//! - A reply by its own people — In-Reply-To / References, or a ticket reference — to a **solved** ticket within
//!   [`StoreConfig::reopen_window`] (7 days after it was solved) reopens it and is appended; its merge record and
//!   append event say `reopened: true`. To a **closed** ticket, or a solved one past the window, it becomes a new
//!   ticket linked [`record::LinkReason::FollowUpOf`] (`follow-up-of`; records from before statuses say
//!   `closed`).
//! - The latest change wins by time, not by arrival: a command carries the router's `at`, a reopening takes the
//!   reply's time (or the solve's, when the reply is older). A command older than the status's last change is
//!   acknowledged `superseded` and changes nothing; the same command again (same `command_id`) changes nothing
//!   and is acknowledged again, the same way. A command for a ticket the store does not have is refused for good
//!   (the read component dead-letters it).
//! - The record keeps `status`, `status_at`, `status_command`, and still writes `closed` (true unless open) for
//!   builds from before statuses; a record without a status reads as its `closed` says.
//!
//! Customers are matched by address with letter case folded and a `+tag` removed (`Ana+billing@x` is
//! `ana@x`), Gmail dots ignored on gmail.com ([`keys::match_address`]). The ticket keeps the address as sent.
//!
//! # Cost: key-value operations per intake, whatever the store holds
//!
//! | path | ops |
//! |---|---|
//! | new ticket (form, chat with an address, email without thread headers) | 5 (get message, get customer; set message, customer, record) |
//! | new ticket, anonymous chat | 3 |
//! | repeat, job confirmed sent | 1 · repeat before the confirmation (the customer index checked too) | 3 |
//! | duplicate merge | 5 (get message, customer, record; set message, record) |
//! | threaded reply, In-Reply-To known | 5 · by the thread's root | 6 |
//! | same-key | 4 |
//! | email replying to a thread we never saw → new ticket | 7 |
//! | worst case (a non-participant's reply whose customer has a closed duplicate, pointer needed) | 11 |
//! | reused form nonce, other content (refused, nothing stored) | 1 |
//! | reused Message-ID, other bytes (its own key: new ticket) | 7 |
//! | email from a sender SES did not vouch for: In-Reply-To known · no thread headers | 5 · 3 |
//! | [`Store::mark_enqueued`], [`Store::mark_append_sent`] | 2 |
//! | [`Store::set_status`]: a change · the same command again, or nothing to change | 2 · 1 |
//! | reply that reopens a solved ticket | as the threaded reply (the record is written anyway) |
//!
//! Nothing depends on the number of tickets, messages or customers stored (the benchmark in `examples/` checks
//! it with 1,000 and 100,000 tickets).
//!
//! # Sending, retries and appends
//!
//! Only a created ticket goes on the ticket queue (one model call per ticket). The lane sends the ticket of
//! [`IntakeOutcome::Created`], then calls [`Store::mark_enqueued`]. If sending fails, the lane answers "retry"
//! (HTTP 503, or leaves the SQS message); the retry carries the same idempotency key, finds its message, and
//! gets `Created` again with the *same* ticket — until `mark_enqueued` has run, after which it is a `Repeat`. A
//! ticket is therefore never lost and never doubled by a retry; it may be *sent* twice if the confirmation is what
//! failed (same ticket id; a FIFO queue drops the copy, a reader should be idempotent by ticket id).
//!
//! An append travels on the ticket queue too, as a typed event ([`keep`]: `{"v":1,"event":"append",…}`;
//! `append_queue_url` moves appends to a queue of their own): [`IntakeOutcome::Appended`] carries an [`Append`]
//! (ticket id, message, merge record), the lane sends it, and then calls [`Store::mark_append_sent`]. The read
//! stage passes it on with the ticket's existing reading — no second model call — which is how the router learns
//! that a ticket it already has grew. Until the confirmation a retry returns the same `Appended`, so an event is
//! never lost to a failure after the write (it may be sent twice; the router de-duplicates it by its `event_id`,
//! `append-{message id}`, which is also a FIFO queue's deduplication id). The store itself sends nothing. What
//! the router receives on the read queue, each event with a stable id, is [`crate::router_events`].
//!
//! # Failures and races
//!
//! Writes go message → thread pointer → record → customer index, and a record that lists a message proves the
//! message and its pointer were written; a resume re-checks the index. A key-value failure surfaces as
//! [`StoreError::Kv`] (retryable unless the store is missing or denied); whatever was written, the retry
//! completes it (tests fail every operation of every path, both before and after it takes effect).
//!
//! Races, when intakes run at the same moment (`tests/store_races.rs` runs each under 60 interleavings):
//! - The same key twice (a double click, a duplicated S3 event): the message key is created by a swap from
//!   absent, so one wins; the other answers [`StoreError::Busy`] (retryable: 503, or the SQS message stays), and
//!   its retry finds the winner's work — a repeat, or a job to finish. One ticket.
//! - Two intakes of one customer that would merge (eight form posts on one problem at once): each writes its
//!   own record, then adds it to the customer index by swap. One wins; a loser re-reads the index, and if what
//!   was added meanwhile is a ticket it duplicates, it appends itself there and deletes its own record, which was
//!   never sent. One ticket, every message on it.
//! - Appends to one ticket (replies, merges, a status command): each is a swap of the record; a loser re-reads
//!   the record and applies itself again, so no entry is lost, and an append that finds the ticket solved or
//!   closed meanwhile becomes a ticket of its own that links to it (`follow-up-of`; a reply that reopens a solved
//!   ticket still joins it).
//! - The read stage never writes the record: its reading has its own key, so a reply appended while the ticket
//!   is being read can neither lose the reading (and cause a second model call) nor be lost by it.
//!
//! What a backend guarantees: the swap is atomic on Spin's Redis (WATCH/MULTI), DynamoDB (conditional writes)
//! and Azure Cosmos (etags) stores, and on the local host's SQLite store (one writer thread compares and
//! writes). Spin's own SQLite store compares on update but treats a swap of a key that was read as absent as an
//! unconditional upsert, so there the first two races above can still make two tickets (docs/deploy.md).

pub mod intake;
pub mod keep;
pub mod keys;
pub mod kv;
pub mod lifecycle;
pub mod record;
pub mod similar;
pub mod synonyms;
pub mod words;

pub use intake::{Append, Intake, IntakeOutcome, KeyReuse, Store, StoreConfig, StoreError, StoredTicket, DEFAULT_THRESHOLD};
pub use kv::{FaultMode, Kv, KvError, MemoryKv, OpCounts, Watched};
pub use record::{Link, LinkReason, Merge, MergeReason, Message, StoredReading, TicketRecord};

pub use lifecycle::{StatusAck, StatusCommand, StatusOutcome, TicketStatus};
