//! tr-host: a Spin-like runtime library that runs tr-intake's spin.toml on wasmtime, faithfully to Spin 4.1, on
//! one machine. The `tr-intake` command line and its tools live above it, in `devtools/`.
//!
//! Key decision: split by capability as Spin's `factor-*` crates are — each capability (key-value, variables,
//! outbound HTTP) owns its state and links its WIT interface given a getter into the store's data, so it knows
//! nothing of the runtime that composes it; generated bindings sit apart in each capability's `bindings.rs`,
//! hand-written host code in one `*_impl.rs` per WIT interface.
//!
//! Limits: bad clients and bad guests are bounded, each limit with a default and a knob. The knobs are fields of
//! [`app::Options`] (`connection_limits`: [`http_trigger::ConnectionLimits`], `guest_memory`), two of them also
//! `tr-intake up` flags:
//!
//! | limit | default | knob |
//! |---|---|---|
//! | header read (slow headers are cut; hyper's, with a timer) | 10 s | `ConnectionLimits::header_read_timeout` |
//! | idle keep-alive connection closed after | 60 s | `ConnectionLimits::idle_timeout` |
//! | connections served at once | 512 | `ConnectionLimits::max_connections`, `up --max-connections N` |
//! | more answered 503 at once (past both, accepting waits) | 64 | `ConnectionLimits::overflow_connections` |
//! | longest sleep between failing accepts (EMFILE: one log line per burst) | 1 s | `ConnectionLimits::accept_backoff_max` |
//! | unread request body drained after an early answer (413) | 1 MiB / 1 s | `ConnectionLimits::drain_bytes` / `drain_time` |
//! | each guest instance's memory (trap past it; HTTP 500, SQS message left) | 512 MiB | `Options::guest_memory`, `up --guest-memory-mib N` |
//! | guest time per request / per message (existing) | 30 s / 600 s | `Options::http_timeout` (`up --http-timeout`), `sqs_cpu_limit` |
//!
//! Crate map, lowest layer first (a module imports only from the lines above it; no circles):
//! - [`manifest`]: spin.toml v2, unknown keys refused with file and line; variable-name and template syntax.
//! - [`variables`]: Spin's variable resolution (flags, `SPIN_VARIABLE_*`, defaults, component templates) and `spin:variables` (`variables_impl`). → manifest
//! - [`outbound`]: `allowed_outbound_hosts` matching and the `wasi:http/client` policy (`http_client_impl`).
//! - [`kv`]: the SQLite backend in Spin's layout and `spin:key-value` (`key_value_impl`), each instance's handles in its own table.
//! - [`runtime`]: engine, linker (WASI 0.2 + 0.3, wasi-http, the capabilities), per-call stores, CPU and memory limits. → kv, variables, outbound
//! - [`http_trigger`]: Spin route matching and `spin-*` headers (`routes`), connection bounds (`connections`), the hyper server (`server`), instances reused as Spin reuses them (`reuse`). → runtime
//! - [`sqs_trigger`]: `[[trigger.sqs]]` polling with the AWS SDK (`poller`), one message through a `spin:sqs` guest (`guest`). → runtime, manifest
//! - [`app`]: spin.toml → everything above, checked before anything listens. → all of the above

pub mod manifest;
pub mod variables;
pub mod outbound;
pub mod kv;
pub mod runtime;
pub mod http_trigger;
pub mod sqs_trigger;
pub mod app;
