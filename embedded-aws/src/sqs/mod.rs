//! SQS, AWS JSON 1.0: the queue lane of the endpoint, from the wire shapes down to the SQLite rows.
//!
//! Key decision: each module imports only from modules listed above it (lowest first), so the storage code can
//! be read and tested without HTTP, and S3 can use this lane (its notifications are SQS messages) without this
//! lane ever importing from S3.
//!
//! - `types`    message attributes, shared by the digest and the store
//! - `md5`      the body and attribute digests SDKs check (types)
//! - `store`    the lane's schema, queues and their attributes
//! - `messages` send, receive, redrive, delete, visibility, expiry (md5, store, types)
//! - `replay`   a dead-letter queue back to its source queue (store)
//! - `wire`     JSON fields in, messages out; no storage (md5, messages, types)
//! - `api`      the actions and long polls; the only part that knows [`App`](crate::app::App) (messages, store, wire)

pub mod api;
pub mod md5;
pub mod messages;
pub mod replay;
pub mod store;
pub mod types;
pub mod wire;
