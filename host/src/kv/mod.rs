//! The key-value capability (Spin's `factor-key-value`): the SQLite backend in Spin's own layout ([`sqlite`]),
//! what each component may open and the stores an instance opened ([`KvAccess`], [`KvState`]), and
//! `spin:key-value/key-value@3.0.0` served from them ([`key_value_impl`]).
//!
//! Key decision: the capability owns its state, including the resource table its `store` handles live in, and
//! is generic over the store's data type (a getter hands it `&mut KvState`), so the runtime composes it and
//! nothing here knows the runtime.

mod bindings;
pub mod key_value_impl;
pub mod sqlite;
mod state;

pub use sqlite::{KvError, SqliteKv};
pub use state::{KvAccess, KvState, StoreHandle};
