//! The ticket store's key-value calls: `spin:key-value@3.0.0` for plain reads and writes, and
//! `wasi:keyvalue/atomics@0.2.0-draft2` for compare-and-swap, both on the same store label.
//!
//! Key decision: Spin serves both interfaces from one store per label (its key-value factor backs `wasi:keyvalue`
//! with the same backends and the same `key_value_stores` permission), so a swap sees every plain write. The
//! wasi bindings are spin-sdk's own generated ones (`spin_sdk::experimental`): spin-sdk 7 has no wrapper yet.

use spin_sdk::experimental::wasi::keyvalue::{atomics, store as wasi};
use spin_sdk::key_value::{Error, Store};
use tr_core::store::{Kv, KvError};

pub struct SpinKv {
    store: Store,
    bucket: wasi::Bucket,
}

impl SpinKv {
    /// Opens the store `label` (`default` unless the manifest says otherwise) through both interfaces.
    pub async fn open(label: &str) -> Result<Self, KvError> {
        let store = Store::open(label).await.map_err(convert)?;
        let bucket = wasi::open(label).map_err(convert_wasi)?;
        Ok(Self { store, bucket })
    }
}

fn convert(e: Error) -> KvError {
    match e {
        Error::StoreTableFull => KvError::StoreTableFull,
        Error::NoSuchStore => KvError::NoSuchStore,
        Error::AccessDenied => KvError::AccessDenied,
        Error::Other(message) => KvError::Other(message),
    }
}

fn convert_wasi(e: wasi::Error) -> KvError {
    match e {
        wasi::Error::NoSuchStore => KvError::NoSuchStore,
        wasi::Error::AccessDenied => KvError::AccessDenied,
        wasi::Error::Other(message) => KvError::Other(message),
    }
}

impl Kv for SpinKv {
    type Watch = atomics::Cas;

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.store.get(key).await.map_err(convert)
    }
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.store.set(key, value).await.map_err(convert)
    }
    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.store.delete(key).await.map_err(convert)
    }
    async fn exists(&self, key: &str) -> Result<bool, KvError> {
        self.store.exists(key).await.map_err(convert)
    }
    async fn watch(&self, key: &str) -> Result<(Option<Vec<u8>>, atomics::Cas), KvError> {
        let cas = atomics::Cas::new(&self.bucket, key).map_err(convert_wasi)?;
        let current = cas.current().map_err(convert_wasi)?;
        Ok((current, cas))
    }
    async fn swap(&self, watch: atomics::Cas, value: &[u8]) -> Result<bool, KvError> {
        match atomics::swap(watch, value) {
            Ok(()) => Ok(true),
            Err(atomics::CasError::CasFailed(_)) => Ok(false),
            Err(atomics::CasError::StoreError(e)) => Err(convert_wasi(e)),
        }
    }
}
