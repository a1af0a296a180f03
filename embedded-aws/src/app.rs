//! The state every request handler shares: configuration, the storage thread, the public endpoint URL, and one
//! wake-up signal per queue for long polls.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;

use crate::config::Config;
use crate::storage::Storage;

pub struct App {
    pub config: Config,
    pub storage: Storage,
    /// `http://host:port`, no trailing slash.
    pub endpoint: String,
    waiters: Mutex<HashMap<String, Arc<Notify>>>,
    /// When each queue was last purged (ms). In memory on purpose: after a restart a purge is allowed at once,
    /// which errs on the side of letting the operator act.
    purged_at: Mutex<HashMap<String, i64>>,
}

impl App {
    pub fn new(config: Config, storage: Storage, endpoint: String) -> Self {
        Self {
            config,
            storage,
            endpoint,
            waiters: Mutex::new(HashMap::new()),
            purged_at: Mutex::new(HashMap::new()),
        }
    }

    pub fn queue_url(&self, name: &str) -> String {
        format!("{}/{}/{}", self.endpoint, self.config.account, name)
    }

    pub fn queue_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:sqs:{}:{}:{}",
            self.config.region, self.config.account, name
        )
    }

    /// The signal long polls on `queue` wait for.
    pub fn waiter(&self, queue: &str) -> Arc<Notify> {
        let mut waiters = self.waiters.lock().expect("waiters lock");
        waiters.entry(queue.to_owned()).or_default().clone()
    }

    /// SQS allows one PurgeQueue per queue per 60 seconds; records this one, or says it is too soon.
    pub fn claim_purge(&self, queue: &str, now_ms: i64) -> bool {
        let mut purged = self.purged_at.lock().expect("purge lock");
        match purged.get(queue) {
            Some(at) if now_ms - at < 60_000 => false,
            _ => {
                purged.insert(queue.to_owned(), now_ms);
                true
            }
        }
    }

    /// Wakes every long poll on `queue` (after a send has been committed).
    pub fn wake(&self, queue: &str) {
        let waiters = self.waiters.lock().expect("waiters lock");
        if let Some(n) = waiters.get(queue) {
            n.notify_waiters();
        }
    }
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
