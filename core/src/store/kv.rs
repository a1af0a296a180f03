//! The key-value store the ticket store runs on: the calls `spin:key-value@3.0.0` offers, and a counting
//! in-memory implementation for tests and the benchmark.
//!
//! Key decision: the trait has get / set / delete / exists and a compare-and-swap (`watch` then `swap`: the
//! `cas` resource of `wasi:keyvalue/atomics@0.2.0-draft2`, which Spin ≥ 3 serves on every backend), and nothing
//! else. Spin's `get-keys` is left out on purpose: it lists the whole store, and the intake path must cost the
//! same with a thousand or a million tickets stored, so a scan must be impossible to add by accident. Futures carry no `Send` bound (a Spin guest is single
//! threaded), as in [`crate::transport`]. Components wrap `spin_sdk::key_value::Store`; the core never sees it.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;

/// Why a key-value call failed: the cases of `spin:key-value/store.error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KvError {
    #[error("the key-value store is full")]
    StoreTableFull,
    #[error("no such key-value store (check the component's key_value_stores)")]
    NoSuchStore,
    #[error("access to the key-value store was denied")]
    AccessDenied,
    #[error("key-value store error: {0}")]
    Other(String),
}

impl KvError {
    /// Whether the *sender* should try again later. A full store or a backend hiccup may pass; a missing store or
    /// a denied one is configuration, and retrying the same request cannot fix it.
    pub fn is_retryable(&self) -> bool {
        matches!(self, KvError::StoreTableFull | KvError::Other(_))
    }
}

/// The key-value calls the ticket store uses.
pub trait Kv {
    /// What [`Kv::watch`] read, which a [`Kv::swap`] is conditional on.
    type Watch;
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>, KvError>>;
    fn set(&self, key: &str, value: &[u8]) -> impl Future<Output = Result<(), KvError>>;
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), KvError>>;
    fn exists(&self, key: &str) -> impl Future<Output = Result<bool, KvError>>;
    /// Reads a key's value (a read like `get`) and remembers it for a later [`Kv::swap`].
    fn watch(&self, key: &str) -> impl Future<Output = Result<(Option<Vec<u8>>, Self::Watch), KvError>>;
    /// Writes `value` if the key still holds what `watch` read — absent included — and answers `true`; answers
    /// `false`, writing nothing, if another writer changed it in between.
    fn swap(&self, watch: Self::Watch, value: &[u8]) -> impl Future<Output = Result<bool, KvError>>;
}

impl<K: Kv + ?Sized> Kv for &K {
    type Watch = K::Watch;
    fn get(&self, key: &str) -> impl Future<Output = Result<Option<Vec<u8>>, KvError>> {
        (**self).get(key)
    }
    fn set(&self, key: &str, value: &[u8]) -> impl Future<Output = Result<(), KvError>> {
        (**self).set(key, value)
    }
    fn delete(&self, key: &str) -> impl Future<Output = Result<(), KvError>> {
        (**self).delete(key)
    }
    fn exists(&self, key: &str) -> impl Future<Output = Result<bool, KvError>> {
        (**self).exists(key)
    }
    fn watch(&self, key: &str) -> impl Future<Output = Result<(Option<Vec<u8>>, Self::Watch), KvError>> {
        (**self).watch(key)
    }
    fn swap(&self, watch: Self::Watch, value: &[u8]) -> impl Future<Output = Result<bool, KvError>> {
        (**self).swap(watch, value)
    }
}

/// What an in-memory or single-file store remembers between `watch` and `swap`: the key and the value it read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watched {
    pub key: String,
    pub seen: Option<Vec<u8>>,
}

/// Operations performed, by kind. Failed operations count too: they cost a round trip all the same.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpCounts {
    pub get: u64,
    pub set: u64,
    pub delete: u64,
    pub exists: u64,
    /// Compare-and-swap reads (one backend read each) and writes (one conditional write each).
    pub watch: u64,
    pub swap: u64,
}

impl OpCounts {
    pub fn total(&self) -> u64 {
        self.get + self.set + self.delete + self.exists + self.watch + self.swap
    }
}

/// How an injected failure behaves. A real store can fail either way, and a caller cannot tell them apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultMode {
    /// The operation does not happen.
    Lost,
    /// A write happens but its answer is lost (the caller sees an error anyway).
    Unacknowledged,
}

/// An in-memory store that counts every operation and can fail one on purpose. Single-threaded, like a guest.
#[derive(Debug, Default)]
pub struct MemoryKv {
    map: RefCell<HashMap<String, Vec<u8>>>,
    counts: Cell<OpCounts>,
    /// Fail the operation whose 0-based index (in [`MemoryKv::counts`] total) is this, once.
    fault: Cell<Option<(u64, FaultMode)>>,
}

impl MemoryKv {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn counts(&self) -> OpCounts {
        self.counts.get()
    }

    pub fn reset_counts(&self) {
        self.counts.set(OpCounts::default());
    }

    /// Makes the `nth` operation from now (0 = the next one) fail with `KvError::Other`.
    pub fn fail_in(&self, nth: u64, mode: FaultMode) {
        self.fault.set(Some((self.counts.get().total() + nth, mode)));
    }

    pub fn len(&self) -> usize {
        self.map.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.borrow().is_empty()
    }

    /// Every key and value, sorted: for tests that compare whole stores. Not part of [`Kv`] (it is a scan).
    pub fn snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        self.map.borrow().iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Counts the operation and says whether it should fail, and how.
    fn begin(&self, bump: impl FnOnce(&mut OpCounts)) -> Option<FaultMode> {
        let mut counts = self.counts.get();
        let index = counts.total();
        bump(&mut counts);
        self.counts.set(counts);
        match self.fault.get() {
            Some((at, mode)) if at == index => {
                self.fault.set(None);
                Some(mode)
            }
            _ => None,
        }
    }
}

fn injected() -> KvError {
    KvError::Other("injected failure".into())
}

impl Kv for MemoryKv {
    type Watch = Watched;

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        match self.begin(|c| c.get += 1) {
            Some(_) => Err(injected()),
            None => Ok(self.map.borrow().get(key).cloned()),
        }
    }

    async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        let fault = self.begin(|c| c.set += 1);
        if fault != Some(FaultMode::Lost) {
            self.map.borrow_mut().insert(key.to_owned(), value.to_vec());
        }
        fault.map_or(Ok(()), |_| Err(injected()))
    }

    async fn delete(&self, key: &str) -> Result<(), KvError> {
        let fault = self.begin(|c| c.delete += 1);
        if fault != Some(FaultMode::Lost) {
            self.map.borrow_mut().remove(key);
        }
        fault.map_or(Ok(()), |_| Err(injected()))
    }

    async fn exists(&self, key: &str) -> Result<bool, KvError> {
        match self.begin(|c| c.exists += 1) {
            Some(_) => Err(injected()),
            None => Ok(self.map.borrow().contains_key(key)),
        }
    }

    async fn watch(&self, key: &str) -> Result<(Option<Vec<u8>>, Watched), KvError> {
        match self.begin(|c| c.watch += 1) {
            Some(_) => Err(injected()),
            None => {
                let seen = self.map.borrow().get(key).cloned();
                Ok((seen.clone(), Watched { key: key.to_owned(), seen }))
            }
        }
    }

    async fn swap(&self, watch: Watched, value: &[u8]) -> Result<bool, KvError> {
        let fault = self.begin(|c| c.swap += 1);
        let mut map = self.map.borrow_mut();
        if map.get(&watch.key) != watch.seen.as_ref() {
            return match fault {
                Some(_) => Err(injected()),
                None => Ok(false),
            };
        }
        if fault != Some(FaultMode::Lost) {
            map.insert(watch.key, value.to_vec());
        }
        fault.map_or(Ok(true), |_| Err(injected()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_faults() {
        let kv = MemoryKv::new();
        pollster::block_on(async {
            kv.set("a", b"1").await.unwrap();
            assert_eq!(kv.get("a").await.unwrap().as_deref(), Some(&b"1"[..]));
            assert!(kv.exists("a").await.unwrap());
            kv.fail_in(0, FaultMode::Unacknowledged);
            assert!(kv.set("b", b"2").await.is_err());
            assert!(kv.exists("b").await.unwrap(), "an unacknowledged write still happened");
            kv.fail_in(1, FaultMode::Lost);
            kv.get("a").await.unwrap();
            assert!(kv.set("c", b"3").await.is_err());
            assert!(!kv.exists("c").await.unwrap());
            kv.delete("a").await.unwrap();
            assert_eq!(kv.counts(), OpCounts { get: 2, set: 3, delete: 1, exists: 3, watch: 0, swap: 0 });
        });
        assert_eq!(kv.len(), 1);
    }

    #[test]
    fn a_swap_writes_only_over_what_its_watch_read() {
        let kv = MemoryKv::new();
        pollster::block_on(async {
            // Absent counts as a value: two creators, one wins.
            let (seen, first) = kv.watch("k").await.unwrap();
            let (_, second) = kv.watch("k").await.unwrap();
            assert_eq!(seen, None);
            assert!(kv.swap(first, b"1").await.unwrap());
            assert!(!kv.swap(second, b"2").await.unwrap(), "the second creator must see the first's write");
            assert_eq!(kv.get("k").await.unwrap().as_deref(), Some(&b"1"[..]));
            // A plain write in between fails the swap too; a fresh watch succeeds.
            let (_, w) = kv.watch("k").await.unwrap();
            kv.set("k", b"3").await.unwrap();
            assert!(!kv.swap(w, b"4").await.unwrap());
            let (seen, w) = kv.watch("k").await.unwrap();
            assert_eq!(seen.as_deref(), Some(&b"3"[..]));
            assert!(kv.swap(w, b"5").await.unwrap());
            assert_eq!(kv.get("k").await.unwrap().as_deref(), Some(&b"5"[..]));
        });
    }
}
