//! `wasi:keyvalue@0.2.0-draft2` (`store`, `atomics`, `batch`) on the same SQLite backend, labels and
//! permissions as `spin:key-value` ([`super::key_value_impl`]), as Spin's key-value factor serves both.
//!
//! Key decision: a `cas` handle holds the value read when it was made (`new` reads it; `current` answers it), and
//! `swap` writes only if the store still holds exactly that value — an absent key included — as one job of the
//! writer thread, so no other write can land between the compare and the write. Spin's own SQLite store treats a
//! swap of a key read as absent as an upsert; ours is strict (both match on every other outcome; see
//! docs/deploy.md for what each backend guarantees).

use std::sync::Arc;

use wasmtime::component::{HasData, Linker, Resource};

use super::sqlite::{KvError, SqliteKv};
use super::state::KvState;

mod generated {
    wasmtime::component::bindgen!({
        path: "../wit",
        inline: "package tr:host-wasi-kv; world kv {
            import wasi:keyvalue/store@0.2.0-draft2;
            import wasi:keyvalue/atomics@0.2.0-draft2;
            import wasi:keyvalue/batch@0.2.0-draft2;
        }",
        imports: { default: async | trappable },
        with: {
            "wasi:keyvalue/store.bucket": super::BucketHandle,
            "wasi:keyvalue/atomics.cas": super::CasHandle,
        },
    });
}

use generated::wasi::keyvalue::{atomics, batch, store};

/// The host value behind a guest's `bucket`.
pub struct BucketHandle {
    label: String,
}

/// The host value behind a guest's `cas`: the key and the value read when it was made.
pub struct CasHandle {
    label: String,
    key: String,
    seen: Option<Vec<u8>>,
}

struct WasiKv;

impl HasData for WasiKv {
    type Data<'a> = &'a mut KvState;
}

/// Links the three interfaces; `get` finds the calling instance's [`KvState`] in the store's data.
pub fn add_to_linker<T: Send + 'static>(linker: &mut Linker<T>, get: fn(&mut T) -> &mut KvState) -> wasmtime::Result<()> {
    store::add_to_linker::<T, WasiKv>(linker, get)?;
    atomics::add_to_linker::<T, WasiKv>(linker, get)?;
    batch::add_to_linker::<T, WasiKv>(linker, get)
}

fn other(e: impl std::fmt::Display) -> store::Error {
    store::Error::Other(e.to_string())
}

/// Runs a listing or a batch of reads on tokio's blocking pool: unlike a one-key read, either can take long.
async fn blocking<R: Send + 'static>(f: impl FnOnce() -> Result<R, KvError> + Send + 'static) -> wasmtime::Result<Result<R, store::Error>> {
    Ok(tokio::task::spawn_blocking(f).await?.map_err(other))
}

fn answer<R>(result: Result<R, KvError>) -> wasmtime::Result<Result<R, store::Error>> {
    Ok(result.map_err(other))
}

impl KvState {
    fn bucket(&self, bucket: &Resource<BucketHandle>) -> wasmtime::Result<(Arc<SqliteKv>, String)> {
        Ok((self.access.backend.clone(), self.table.get(bucket)?.label.clone()))
    }
}

impl store::Host for &mut KvState {
    async fn open(&mut self, identifier: String) -> wasmtime::Result<Result<Resource<BucketHandle>, store::Error>> {
        if !self.access.labels.contains(&identifier) {
            return Ok(Err(store::Error::AccessDenied));
        }
        if identifier != "default" {
            return Ok(Err(store::Error::NoSuchStore));
        }
        Ok(Ok(self.table.push(BucketHandle { label: identifier })?))
    }
}

impl store::HostBucket for &mut KvState {
    async fn get(&mut self, bucket: Resource<BucketHandle>, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, store::Error>> {
        let (backend, label) = self.bucket(&bucket)?;
        answer(backend.get(&label, &key))
    }

    async fn set(&mut self, bucket: Resource<BucketHandle>, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), store::Error>> {
        let (backend, label) = self.bucket(&bucket)?;
        answer(backend.set(&label, &key, &value).await)
    }

    async fn delete(&mut self, bucket: Resource<BucketHandle>, key: String) -> wasmtime::Result<Result<(), store::Error>> {
        let (backend, label) = self.bucket(&bucket)?;
        answer(backend.delete(&label, &key).await)
    }

    async fn exists(&mut self, bucket: Resource<BucketHandle>, key: String) -> wasmtime::Result<Result<bool, store::Error>> {
        let (backend, label) = self.bucket(&bucket)?;
        answer(backend.exists(&label, &key))
    }

    /// The whole listing in one page (the cursor is never set), as Spin's SQLite store answers.
    async fn list_keys(
        &mut self,
        bucket: Resource<BucketHandle>,
        _cursor: Option<String>,
    ) -> wasmtime::Result<Result<store::KeyResponse, store::Error>> {
        let (backend, label) = self.bucket(&bucket)?;
        Ok(blocking(move || backend.get_keys(&label)).await?.map(|keys| store::KeyResponse { keys, cursor: None }))
    }

    async fn drop(&mut self, bucket: Resource<BucketHandle>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for &mut KvState {
    /// Atomic like a swap (one writer-thread job): the value is an i64, little-endian, as Spin stores it.
    async fn increment(&mut self, bucket: Resource<BucketHandle>, key: String, delta: i64) -> wasmtime::Result<Result<i64, store::Error>> {
        let (backend, label) = self.bucket(&bucket)?;
        let counter = async {
            loop {
                let seen = backend.get(&label, &key)?;
                let current = match &seen {
                    None => 0,
                    Some(bytes) => match <[u8; 8]>::try_from(bytes.as_slice()) {
                        Ok(b) => i64::from_le_bytes(b),
                        Err(_) => return Err(KvError::Write(format!("{key} does not hold a 64-bit counter"))),
                    },
                };
                let next = current.wrapping_add(delta);
                if backend.swap(&label, &key, seen, &next.to_le_bytes()).await? {
                    return Ok(next);
                }
            }
        };
        answer(counter.await)
    }

    async fn swap(&mut self, cas: Resource<CasHandle>, value: Vec<u8>) -> wasmtime::Result<Result<(), atomics::CasError>> {
        let CasHandle { label, key, seen } = self.table.delete(cas)?;
        let backend = self.access.backend.clone();
        match backend.swap(&label, &key, seen, &value).await {
            Ok(true) => Ok(Ok(())),
            Err(e) => Ok(Err(atomics::CasError::StoreError(other(e)))),
            // The guest gets a fresh handle on the value that won, so it can retry without another `new`.
            Ok(false) => {
                match backend.get(&label, &key) {
                    Ok(seen) => Ok(Err(atomics::CasError::CasFailed(self.table.push(CasHandle { label, key, seen })?))),
                    Err(e) => Ok(Err(atomics::CasError::StoreError(other(e)))),
                }
            }
        }
    }
}

impl atomics::HostCas for &mut KvState {
    async fn new(&mut self, bucket: Resource<BucketHandle>, key: String) -> wasmtime::Result<Result<Resource<CasHandle>, store::Error>> {
        let (backend, label) = self.bucket(&bucket)?;
        match answer(backend.get(&label, &key))? {
            Ok(seen) => Ok(Ok(self.table.push(CasHandle { label, key, seen })?)),
            Err(e) => Ok(Err(e)),
        }
    }

    async fn current(&mut self, cas: Resource<CasHandle>) -> wasmtime::Result<Result<Option<Vec<u8>>, store::Error>> {
        Ok(Ok(self.table.get(&cas)?.seen.clone()))
    }

    async fn drop(&mut self, cas: Resource<CasHandle>) -> wasmtime::Result<()> {
        self.table.delete(cas)?;
        Ok(())
    }
}

impl batch::Host for &mut KvState {
    async fn get_many(
        &mut self,
        bucket: Resource<BucketHandle>,
        keys: Vec<String>,
    ) -> wasmtime::Result<Result<Vec<(String, Option<Vec<u8>>)>, store::Error>> {
        let (backend, label) = self.bucket(&bucket)?;
        blocking(move || keys.into_iter().map(|k| backend.get(&label, &k).map(|v| (k, v))).collect()).await
    }

    async fn set_many(&mut self, bucket: Resource<BucketHandle>, key_values: Vec<(String, Vec<u8>)>) -> wasmtime::Result<Result<(), store::Error>> {
        let (backend, label) = self.bucket(&bucket)?;
        let writes = async {
            for (k, v) in &key_values {
                backend.set(&label, k, v).await?;
            }
            Ok(())
        };
        answer(writes.await)
    }

    async fn delete_many(&mut self, bucket: Resource<BucketHandle>, keys: Vec<String>) -> wasmtime::Result<Result<(), store::Error>> {
        let (backend, label) = self.bucket(&bucket)?;
        let deletes = async {
            for k in &keys {
                backend.delete(&label, k).await?;
            }
            Ok(())
        };
        answer(deletes.await)
    }
}
