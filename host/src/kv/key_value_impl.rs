//! `spin:key-value/key-value@3.0.0` on the SQLite backend ([`super::sqlite`]).
//!
//! A component may open only the labels its `key_value_stores` lists (`access-denied` otherwise, as in Spin);
//! a listed label with no backend is `no-such-store` (only `default` has one without a runtime config, and
//! start-up refuses other labels). SQLite calls run on tokio's blocking pool: a `set` waits for its fsync.

use std::sync::Arc;

use wasmtime::component::{Accessor, FutureReader, HasData, Linker, Resource, StreamReader};

use super::bindings::spin::key_value::key_value as kv;
use super::sqlite::{KvError, SqliteKv};
use super::state::{KvState, StoreHandle};

struct SpinKv;

impl HasData for SpinKv {
    type Data<'a> = &'a mut KvState;
}

/// Links the interface; `get` finds the calling instance's [`KvState`] in the store's data.
pub fn add_to_linker<T: Send + 'static>(linker: &mut Linker<T>, get: fn(&mut T) -> &mut KvState) -> wasmtime::Result<()> {
    kv::add_to_linker::<T, SpinKv>(linker, get)
}

impl kv::Host for &mut KvState {}

impl kv::HostStore for &mut KvState {
    fn drop(&mut self, rep: Resource<StoreHandle>) -> wasmtime::Result<()> {
        self.table.delete(rep)?;
        Ok(())
    }
}

/// The backend and label behind a handle.
fn target<T>(accessor: &Accessor<T, SpinKv>, store: &Resource<StoreHandle>) -> wasmtime::Result<(Arc<SqliteKv>, String)> {
    accessor.with(|mut access| {
        let state = access.get();
        let label = state.table.get(store)?.label.clone();
        Ok((state.access.backend.clone(), label))
    })
}

fn answer<R>(result: Result<R, KvError>) -> wasmtime::Result<Result<R, kv::Error>> {
    Ok(result.map_err(|e| kv::Error::Other(e.to_string())))
}

impl<T> kv::HostStoreWithStore<T> for SpinKv {
    async fn open(accessor: &Accessor<T, Self>, label: String) -> wasmtime::Result<Result<Resource<StoreHandle>, kv::Error>> {
        accessor.with(|mut access| {
            let state = access.get();
            if !state.access.labels.contains(&label) {
                return Ok(Err(kv::Error::AccessDenied));
            }
            if label != "default" {
                return Ok(Err(kv::Error::NoSuchStore));
            }
            Ok(Ok(state.table.push(StoreHandle { label })?))
        })
    }

    async fn get(
        accessor: &Accessor<T, Self>,
        store: Resource<StoreHandle>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, kv::Error>> {
        let (backend, label) = target(accessor, &store)?;
        answer(backend.get(&label, &key))
    }

    async fn set(
        accessor: &Accessor<T, Self>,
        store: Resource<StoreHandle>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), kv::Error>> {
        let (backend, label) = target(accessor, &store)?;
        answer(backend.set(&label, &key, &value).await)
    }

    async fn delete(accessor: &Accessor<T, Self>, store: Resource<StoreHandle>, key: String) -> wasmtime::Result<Result<(), kv::Error>> {
        let (backend, label) = target(accessor, &store)?;
        answer(backend.delete(&label, &key).await)
    }

    async fn exists(accessor: &Accessor<T, Self>, store: Resource<StoreHandle>, key: String) -> wasmtime::Result<Result<bool, kv::Error>> {
        let (backend, label) = target(accessor, &store)?;
        answer(backend.exists(&label, &key))
    }

    async fn get_keys(
        accessor: &Accessor<T, Self>,
        store: Resource<StoreHandle>,
    ) -> wasmtime::Result<(StreamReader<String>, FutureReader<Result<(), kv::Error>>)> {
        let (backend, label) = target(accessor, &store)?;
        let keys = tokio::task::spawn_blocking(move || backend.get_keys(&label)).await?;
        let (keys, outcome) = match keys {
            Ok(keys) => (keys, Ok(())),
            Err(e) => (Vec::new(), Err(kv::Error::Other(e.to_string()))),
        };
        accessor.with(|mut access| {
            let stream = StreamReader::new(&mut access, keys)?;
            let result = FutureReader::new(&mut access, async move { Ok::<_, wasmtime::Error>(outcome) })?;
            Ok((stream, result))
        })
    }
}
