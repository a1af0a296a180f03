//! S3, path-style REST: the object lane of the endpoint, for mail drops (small objects) and their event
//! notifications.
//!
//! Key decision: a PutObject and the `ObjectCreated:Put` event it enqueues are one storage job, so `api` writes
//! through both this lane's store and the SQS one. Each module imports only from those listed above it:
//!
//! - `notification` the event JSON S3 puts on a queue; pure
//! - `store`        buckets, objects and notification targets in SQLite
//! - `api`          the REST calls (notification, store, `crate::sqs::{messages, store}`)

pub mod api;
pub mod notification;
pub mod store;
