//! tr-host: runs tr-intake's spin.toml on wasmtime, faithfully to Spin 4.1, on one machine.
//!
//! Split by capability, one file per concern (`*_impl.rs`: one per WIT interface the host implements):
//! - [`manifest`]: spin.toml v2, unknown keys refused with file and line.
//! - [`variables`]: Spin's variable resolution (flags, `SPIN_VARIABLE_*`, defaults, component templates).
//! - [`outbound`]: `allowed_outbound_hosts` matching.
//! - [`kv_sqlite`]: the key-value backend in Spin's SQLite layout.
//! - [`routes`]: Spin route matching and the `spin-*` request headers.
//! - [`runtime`]: engine, linker (WASI 0.2 + 0.3, wasi-http, Spin interfaces), per-call stores, CPU limits.
//! - [`spin_bindings`]: generated bindings (kept apart). [`spin_kv_impl`], [`spin_variables_impl`],
//!   [`outbound_impl`]: the host side of spin:key-value, spin:variables and wasi:http/client's policy.
//! - [`http_trigger`]: hyper server, one fresh instance per request.
//! - [`sqs_guest`]: one message through a spin:sqs guest.
//! - [`app`]: spin.toml → everything above, checked before anything listens.
//! - [`sqs_trigger`]: `[[trigger.sqs]]`, polling with the AWS SDK like the trigger-sqs plugin.
//! - [`local_aws`]: the embedded default — the embedded SQS/S3 endpoint, its queues and bucket, and the wiring.
//! - [`mail_drop`]: raw mail into the bucket as SES inbound writes it (`mail send`, the watched folder).
//! - [`inspect`]: `tickets`, `queues` and `replay` for a person looking at a running pipeline.

pub mod app;
pub mod http_trigger;
pub mod inspect;
pub mod kv_sqlite;
pub mod local_aws;
pub mod mail_drop;
pub mod manifest;
pub mod outbound;
pub mod outbound_impl;
pub mod routes;
pub mod runtime;
pub mod spin_bindings;
pub mod spin_kv_impl;
pub mod spin_variables_impl;
pub mod sqs_guest;
pub mod sqs_trigger;
pub mod variables;
