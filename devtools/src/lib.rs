//! tr-devtools: the `tr-intake` command line (`src/main.rs`) and the tools behind it, for a person running the
//! pipeline on one machine. It sits above the runtime: tr-host runs spin.toml, tr-embedded-aws is the local
//! SQS/S3 endpoint, tr-core owns the ticket store.
//!
//! Key decisions: tools speak the same APIs a deployment does (the SQS and S3 APIs through the official SDK,
//! the ticket store through tr-core's `Store`), so they work the same against the embedded endpoint, moto or
//! AWS, and never learn the key layout or a record's JSON shape. Errors are `anyhow`: this crate is the edge,
//! where a message for a person is the whole point.
//!
//! Crate map, lowest layer first:
//! - [`local_aws`]: the embedded default — the embedded SQS/S3 endpoint, its queues and bucket, and the wiring.
//! - [`mail_drop`]: raw mail into the bucket as SES inbound writes it (`mail send`, the watched folder). → local_aws
//! - [`inspect`]: `tickets` (through tr-core's store over the host's SQLite file), `queues` and `replay`. → local_aws
//! - [`show`]: `tickets ID`: one ticket and every message's text, found by ticket id or any Message-ID. → inspect
//! - [`status`]: `status`, the router's status command onto the local ticket queue. → local_aws
//! - [`startup`]: what `up` tells a person at start: every route, the lanes that cannot work as configured,
//!   runnable next commands.
//! - [`eval`]: `eval`'s variables, HTTP transport and progress line (the figures are tr-core's `reader::eval`).

pub mod local_aws;
pub mod mail_drop;
pub mod inspect;
pub mod show;
pub mod status;
pub mod startup;
pub mod eval;
