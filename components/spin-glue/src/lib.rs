//! tr-spin-glue: the Spin side of the core's traits, shared by every tr-intake guest.
//!
//! Role: the core asks for a [`Transport`](tr_core::Transport), a [`Runtime`](tr_core::Runtime), a
//! [`Kv`](tr_core::store::Kv) and [`Vars`](tr_core::Vars); this crate answers with Spin's `wasi:http/client`,
//! WASI clocks and randomness (and stdout for the log line), `spin:key-value` and `spin:variables`. Key decision:
//! nothing here knows about a lane — components stay decode → core → encode, and [`wiring`] is the one place the
//! shared variables are read and the store opened.

mod guest_failure;
mod spin_kv;
mod spin_runtime;
mod spin_transport;
mod spin_vars;

pub use guest_failure::{Verdict, verdict};
pub use tr_core::guest_failure::GuestFailure;
pub use spin_kv::SpinKv;
pub use spin_runtime::SpinRuntime;
pub use spin_transport::SpinTransport;
pub use spin_vars::SpinVars;

/// What every lane is built on: the shared variables read once (region, credentials, `sqs_endpoint`, the queue
/// URLs) and the key-value store `default` opened.
pub async fn wiring() -> tr_core::Wiring<SpinTransport, SpinRuntime, SpinKv> {
    tr_core::Wiring::from_vars(&SpinVars, SpinTransport, SpinRuntime, SpinKv::open("default").await).await
}
