//! The key-value capability (Spin's `factor-key-value`): the SQLite backend in Spin's own layout ([`sqlite`]),
//! what each component may open and the stores an instance opened ([`KvAccess`], [`KvState`]), and
//! `spin:key-value/key-value@3.0.0` served from them ([`key_value_impl`]), and `wasi:keyvalue@0.2.0-draft2` (with
//! its compare-and-swap) on the same stores ([`wasi_keyvalue`]).
//!
//! Key decision: the capability owns its state, including the resource table its `store` handles live in, and
//! is generic over the store's data type (a getter hands it `&mut KvState`), so the runtime composes it and
//! nothing here knows the runtime.

mod bindings;
pub mod key_value_impl;
pub mod sqlite;
mod state;
pub mod wasi_keyvalue;

pub use sqlite::{KvError, SqliteKv};
pub use state::{KvAccess, KvState, StoreHandle};
