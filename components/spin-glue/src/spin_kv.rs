//! The ticket store's key-value calls on `spin:key-value@3.0.0` (the store label a component lists).

use spin_sdk::key_value::{Error, Store};
use tr_core::store::{Kv, KvError};

pub struct SpinKv(Store);

impl SpinKv {
    /// Opens the store `label` (`default` unless the manifest says otherwise).
    pub async fn open(label: &str) -> Result<Self, KvError> {
        Ok(Self(Store::open(label).await.map_err(convert)?))
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

impl Kv for SpinKv {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.0.get(key).await.map_err(convert)
    }
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.0.set(key, value).await.map_err(convert)
    }
    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.0.delete(key).await.map_err(convert)
    }
    async fn exists(&self, key: &str) -> Result<bool, KvError> {
        self.0.exists(key).await.map_err(convert)
    }
}
