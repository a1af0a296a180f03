//! tr-host: runs tr-intake's spin.toml on wasmtime, faithfully to Spin 4.1, on one machine.
//!
//! Split by capability, one file per concern:
//! - [`manifest`]: spin.toml v2, unknown keys refused with file and line.
//! - [`variables`]: Spin's variable resolution (flags, `SPIN_VARIABLE_*`, defaults, component templates).
//! - [`outbound`]: `allowed_outbound_hosts` matching.
//! - [`kv_sqlite`]: the key-value backend in Spin's SQLite layout.
//! - [`routes`]: Spin route matching and the `spin-*` request headers.
//! - [`sqs_trigger`]: `[[trigger.sqs]]`, polling with the AWS SDK like the trigger-sqs plugin.

pub mod kv_sqlite;
pub mod manifest;
pub mod outbound;
pub mod routes;
pub mod sqs_trigger;
pub mod variables;
