//! What a component may open (fixed at start-up) and what one instance opened.

use std::sync::Arc;

use wasmtime::component::ResourceTable;

use super::sqlite::SqliteKv;

/// One component's key-value permissions: the backend and the labels its `key_value_stores` lists.
pub struct KvAccess {
    pub backend: Arc<SqliteKv>,
    pub labels: Vec<String>,
}

/// Per instance: the component's access and the `store` handles its guest opened (their own table, as each
/// Spin factor keeps its own).
pub struct KvState {
    pub(super) access: Arc<KvAccess>,
    pub(super) table: ResourceTable,
}

impl KvState {
    pub fn new(access: Arc<KvAccess>) -> Self {
        Self { access, table: ResourceTable::new() }
    }
}

/// The host value behind a guest's `store` handle.
pub struct StoreHandle {
    pub(super) label: String,
}
