//! tr-spin-glue: the Spin side of the core's traits, shared by every tr-intake guest.
//!
//! Role: the core asks for a [`Transport`](tr_core::Transport), a [`Runtime`](tr_core::Runtime) and a
//! [`Kv`](tr_core::store::Kv); this crate answers with Spin's `wasi:http/client`, WASI clocks and randomness,
//! and `spin:key-value`, plus typed access to Spin variables. Key decision: nothing here knows about a lane —
//! components stay decode → core → encode, and their only Spin-specific code is this crate.

mod dependency_answer;
mod guest_failure;
mod request_body;
mod spin_kv;
mod spin_runtime;
mod spin_transport;
mod spin_vars;

pub use dependency_answer::{lane_failure, store_unavailable};
pub use guest_failure::{GuestFailure, Verdict, verdict};
pub use request_body::read_body;
pub use spin_kv::SpinKv;
pub use spin_runtime::SpinRuntime;
pub use spin_transport::SpinTransport;
pub use spin_vars::{VarError, aws_credentials, optional, required};
