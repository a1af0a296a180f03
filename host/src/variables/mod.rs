//! The variables capability (Spin's `factor-variables`): resolving application variables once at start-up
//! ([`resolve`]), and serving `spin:variables/variables@3.0.0` to guests ([`variables_impl`]) from the state
//! each component gets ([`VariablesState`]).
//!
//! Key decision: the capability owns its state and is generic over the store's data type (a getter hands it
//! `&VariablesState`), so the runtime composes it and nothing here knows the runtime.

mod bindings;
pub mod resolve;
mod state;
pub mod variables_impl;

pub use resolve::{GetError, ResolvedVariables, VariablesError};
pub use state::VariablesState;
