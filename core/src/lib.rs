//! tr-core: everything the intake lanes and the read component share, as plain Rust.
//!
//! The core never sees an SDK type. Components decode their trigger (HTTP request, SQS message) into plain data,
//! call in here, and encode what comes back. Time, ids and randomness are passed in ([`Runtime`]), and so is the
//! HTTP transport ([`Transport`]), so everything here runs natively under `cargo test` and in a Spin guest alike.
//!
//! Crate map:
//! - [`ticket`]: the ticket's shape (mirrors `wit/tr-intake.wit`, checked by a test).
//! - [`normalise`]: turning a lane's raw fields into a ticket: limits, control characters, addresses, times, ids.
//! - [`mask`]: card numbers, IBANs and secrets masked out of every lane's text before it is stored or queued.
//! - [`wire`]: the versioned JSON a ticket travels in on the queue.
//! - [`email`]: the email lane, all of it: raw MIME → ticket draft (mail-parser), loop guard, quote and signature
//!   stripping, and [`email::lane`] (S3 event → S3 GetObject → ticket → store → queue).
//! - [`chat`]: the chat lane: generic transcript (and its JSON Schema), vendor adapters (Tawk.to, Chatwoot),
//!   webhook signatures, folding a conversation into one ticket draft, and [`chat::lane`] (transcript → ticket →
//!   store → queue).
//! - [`form`]: the form lane's fields (urlencoded and JSON), origin allow-list and CORS, site key, honeypot and
//!   fill time, per-address rate limit, the HTML page a plain form post gets, and [`form::lane`] (submission →
//!   ticket → store → queue).
//! - [`s3_event`]: S3 event notifications (direct or SNS-wrapped, test events, URL-encoded keys).
//! - [`s3_client`]: S3 GetObject, SigV4-signed, path-style or virtual-hosted, under a size cap.
//! - [`reader`]: the read stage: rules sheet, the one model request, strict answers, offline reader, read lane.
//! - [`router_events`]: what the router receives on the read queue (read ticket, append, status
//!   acknowledgement), each with a stable `event_id`; the contract is `docs/router-events.schema.json`.
//! - [`http_answer`]: the HTTP lanes' JSON error shape, their [`http_answer::Reply`], and request guards (size,
//!   content type, method); [`request_body`] reads a body never past its limit; [`dependency_answer`] is what
//!   a lane answers when the store or queue fails.
//! - [`vars`]: deployment variables behind a trait; [`wiring`]: the clients and store every lane builds from them.
//! - [`lane_error`]: retry-later vs never-as-sent, for the queue-triggered lanes; [`guest_failure`]: one
//!   attempt's failure as a queue-triggered component answers it (configuration and store included).
//! - [`credentials`]: AWS credentials whose `Debug` never shows a secret.
//! - [`sigv4`]: SigV4 signing through the `aws-sigv4` crate.
//! - [`transport`]: the injected HTTP transport and runtime (clock, sleep, randomness).
//! - [`retry`]: bounded exponential backoff with full jitter.
//! - [`aws_error`]: AWS error bodies (JSON 1.0 and XML) → retryable / auth / permanent.
//! - [`sqs_client`]: SendMessage and SendMessageBatch over the AWS JSON 1.0 protocol.
//! - [`store`]: the ticket store over Spin key-value: write once, idempotent retries, threads, cross-lane
//!   duplicate merges, constant key-value operations per intake; [`store::keep`] is the last step of every intake
//!   lane (store, then queue a new ticket once or announce an append).

pub mod aws_error;
pub mod chat;
pub mod credentials;
pub mod dependency_answer;
pub mod email;
pub mod form;
pub mod guest_failure;
pub mod http_answer;
pub mod lane_error;
pub mod mask;
pub mod normalise;
pub mod reader;
pub mod request_body;
pub mod retry;
pub mod router_events;
pub mod s3_client;
pub mod s3_event;
pub mod sigv4;
pub mod sqs_client;
pub mod store;
pub mod ticket;
pub mod transport;
pub mod vars;
pub mod wire;
pub mod wiring;

pub use credentials::{Credentials, Secret};
pub use normalise::{Limits, NormaliseError, TicketDraft};
pub use sqs_client::{SqsClient, SqsConfig, SqsError};
pub use ticket::{Customer, MaskCount, MaskKind, Reading, Source, ThreadIds, Ticket, TicketFlag, Tone, Urgency};
pub use transport::{Runtime, Transport, TransportError};
pub use vars::{VarError, Vars};
pub use wiring::Wiring;
