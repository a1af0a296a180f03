//! The outbound HTTP capability (Spin's `factor-outbound-http`): which hosts a component may reach
//! ([`allowed_hosts`], `allowed_outbound_hosts` in spin.toml) and the `wasi:http/client@0.3.0` policy that
//! enforces it on every request a guest sends ([`http_client_impl`]), over connections kept open for reuse
//! ([`pooled_client`]). Its per-instance state is the [`OutboundHooks`] the runtime hands wasmtime-wasi-http.

pub mod allowed_hosts;
pub mod http_client_impl;
pub mod pooled_client;

pub use allowed_hosts::{AllowedHosts, PatternError};
pub use http_client_impl::OutboundHooks;
pub use pooled_client::PooledClient;
