//! The key-value backend: SQLite, in Spin's own layout, with writes committed in groups.
//!
//! Spin's default store is `.spin/sqlite_key_value.db` beside spin.toml with one table
//! `spin_key_value(store, key, value)`; we use the same file and table, so a database written here opens under
//! real `spin up` and the other way round. WAL journal with `synchronous = FULL`: a `set` that returned is on
//! disk (the store holds accepted tickets, which must survive a crash).
//!
//! Key decision: **group commit.** Every write (`set`, `delete`) is a job for one writer thread that owns the
//! write connection; it takes every job waiting (up to [`MAX_GROUP`]), runs each in its own SAVEPOINT (a failing
//! one rolls back alone), COMMITs once, and only then answers each caller. So "returned means on disk" holds for
//! every write, while concurrent requests share one fsync instead of paying one each (a new ticket makes five
//! writes; at 16 connections that was most of a form POST's time). The embedded endpoint's storage thread works
//! the same way. Reads use their own connection: in WAL mode they see every committed write and never wait for
//! a commit in progress.
//!
//! No thread waits on a guest's behalf: a write's caller awaits its commit on a oneshot the writer answers, and
//! a one-key read (an indexed lookup of microseconds, never waiting for a writer) runs on the calling task; only
//! whole-store listings go to the blocking pool. Dropping those thread hand-offs (each read and write went
//! through tokio's blocking pool) took a form POST from 1.92 to 1.56 ms of host CPU (BENCHMARKS.md).
//!
//! Compare-and-swap (`wasi:keyvalue/atomics`) is a write job too: the writer compares the stored value with the
//! one the guest read and writes only if they are equal — an absent key included, which is stricter than Spin's
//! own SQLite store (there, a swap of a key read as absent is an unconditional upsert; see docs/deploy.md).
//! Every write passes through the one writer thread, so nothing can land between the compare and the write.

use std::path::Path;
use std::sync::{Mutex, mpsc};

use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::oneshot;

/// The most writes one transaction takes; bounds how long the first one waits for its commit.
const MAX_GROUP: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum KvError {
    #[error("key-value store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("key-value store: {0}")]
    Write(String),
    #[error("key-value store: the writer thread is gone")]
    WriterGone,
    #[error("key-value store: cannot start the writer thread: {0}")]
    Thread(std::io::Error),
}

/// One write for the writer thread, with where to send its outcome (`Ok(false)`: a swap found another value).
/// The outcome goes back on a oneshot the caller's task awaits: no thread sits waiting for the commit.
struct Write {
    op: Op,
    done: oneshot::Sender<Result<bool, String>>,
}

enum Op {
    Set { store: String, key: String, value: Vec<u8> },
    Delete { store: String, key: String },
    /// Write `value` only if the key holds `expected` (`None`: only if it is absent).
    Swap { store: String, key: String, expected: Option<Vec<u8>>, value: Vec<u8> },
}

pub struct SqliteKv {
    reader: Mutex<Connection>,
    writes: mpsc::Sender<Write>,
}

impl SqliteKv {
    pub fn open(path: &Path) -> Result<Self, KvError> {
        let writer = Connection::open(path)?;
        prepare(&writer)?;
        writer.execute(
            "CREATE TABLE IF NOT EXISTS spin_key_value (
                store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (store, key))",
            [],
        )?;
        let reader = Connection::open(path)?;
        prepare(&reader)?;
        let (tx, rx) = mpsc::channel::<Write>();
        std::thread::Builder::new().name("kv-writer".into()).spawn(move || write_groups(writer, rx)).map_err(KvError::Thread)?;
        Ok(Self { reader: Mutex::new(reader), writes: tx })
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, KvError> {
        let conn = self.reader.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(f(&conn)?)
    }

    /// Hands `op` to the writer thread and waits until its group is committed.
    async fn write(&self, op: Op) -> Result<bool, KvError> {
        let (done, outcome) = oneshot::channel();
        self.writes.send(Write { op, done }).map_err(|_| KvError::WriterGone)?;
        match outcome.await {
            Ok(Ok(written)) => Ok(written),
            Ok(Err(message)) => Err(KvError::Write(message)),
            Err(_) => Err(KvError::WriterGone),
        }
    }

    pub fn get(&self, store: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.read(|c| {
            c.prepare_cached("SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .query_row(params![store, key], |r| r.get(0))
                .optional()
        })
    }

    pub async fn set(&self, store: &str, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.write(Op::Set { store: store.to_owned(), key: key.to_owned(), value: value.to_vec() }).await.map(drop)
    }

    pub async fn delete(&self, store: &str, key: &str) -> Result<(), KvError> {
        self.write(Op::Delete { store: store.to_owned(), key: key.to_owned() }).await.map(drop)
    }

    /// Writes `value` if the key still holds `expected` (`None`: is still absent); `false`, writing nothing, if
    /// not. Committed (fsync'd) before it returns `true`, like [`Self::set`].
    pub async fn swap(&self, store: &str, key: &str, expected: Option<Vec<u8>>, value: &[u8]) -> Result<bool, KvError> {
        self.write(Op::Swap { store: store.to_owned(), key: key.to_owned(), expected, value: value.to_vec() }).await
    }

    pub fn exists(&self, store: &str, key: &str) -> Result<bool, KvError> {
        self.read(|c| {
            c.prepare_cached("SELECT 1 FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .query_row(params![store, key], |_| Ok(()))
                .optional()
                .map(|r| r.is_some())
        })
    }

    pub fn get_keys(&self, store: &str) -> Result<Vec<String>, KvError> {
        self.read(|c| {
            let mut stmt = c.prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1 ORDER BY key")?;
            stmt.query_map(params![store], |r| r.get(0))?.collect()
        })
    }
}

fn prepare(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
}

/// The writer thread: one transaction per group of waiting writes; ends when every [`SqliteKv`] is dropped.
fn write_groups(conn: Connection, jobs: mpsc::Receiver<Write>) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let outcomes = commit_group(&conn, &group);
        for (job, outcome) in group.into_iter().zip(outcomes) {
            let _ = job.done.send(outcome);
        }
    }
}

/// Runs each write in its own savepoint inside one transaction; every outcome is an error if the commit fails.
fn commit_group(conn: &Connection, group: &[Write]) -> Vec<Result<bool, String>> {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        return group.iter().map(|_| Err(e.to_string())).collect();
    }
    let mut outcomes: Vec<Result<bool, String>> = group
        .iter()
        .map(|job| {
            conn.execute_batch("SAVEPOINT one").map_err(|e| e.to_string())?;
            match apply(conn, &job.op) {
                Ok(written) => conn.execute_batch("RELEASE one").map(|()| written).map_err(|e| e.to_string()),
                Err(e) => {
                    let _ = conn.execute_batch("ROLLBACK TO one; RELEASE one");
                    Err(e.to_string())
                }
            }
        })
        .collect();
    if let Err(e) = conn.execute_batch("COMMIT") {
        let _ = conn.execute_batch("ROLLBACK");
        outcomes = group.iter().map(|_| Err(format!("commit failed: {e}"))).collect();
    }
    outcomes
}

fn apply(conn: &Connection, op: &Op) -> rusqlite::Result<bool> {
    let upsert = |store: &str, key: &str, value: &[u8]| {
        conn.prepare_cached(
            "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
             ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
        )?
        .execute(params![store, key, value])
        .map(|_| true)
    };
    match op {
        Op::Set { store, key, value } => upsert(store, key, value),
        Op::Delete { store, key } => conn
            .prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")?
            .execute(params![store, key])
            .map(|_| true),
        Op::Swap { store, key, expected, value } => {
            let current: Option<Vec<u8>> = conn
                .prepare_cached("SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2")?
                .query_row(params![store, key], |r| r.get(0))
                .optional()?;
            if current != *expected {
                return Ok(false);
            }
            upsert(store, key, value)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Waits for one write, as a guest's call would, on a runtime of its own (tests call from plain threads).
    fn block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    }

    fn temp_db(name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("tr-kv-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("kv.db");
        (dir, path)
    }

    #[test]
    fn stores_are_separate_and_values_survive_reopen() {
        let (dir, path) = temp_db("reopen");
        {
            let kv = SqliteKv::open(&path).unwrap();
            block(kv.set("default", "a", b"1")).unwrap();
            block(kv.set("default", "a", b"2")).unwrap();
            block(kv.set("other", "a", b"x")).unwrap();
            block(kv.set("default", "b", b"")).unwrap();
        }
        let kv = SqliteKv::open(&path).unwrap();
        assert_eq!(kv.get("default", "a").unwrap().as_deref(), Some(&b"2"[..]));
        assert_eq!(kv.get("other", "a").unwrap().as_deref(), Some(&b"x"[..]));
        assert!(kv.exists("default", "b").unwrap());
        assert_eq!(kv.get_keys("default").unwrap(), vec!["a", "b"]);
        block(kv.delete("default", "a")).unwrap();
        assert_eq!(kv.get("default", "a").unwrap(), None);
        assert!(!kv.exists("default", "a").unwrap());
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// Concurrent writers share commits, yet each one's write is readable (from another connection, as after a
    /// crash and reopen) the moment its `set` returns.
    #[test]
    fn concurrent_writes_are_each_committed_before_they_return() {
        let (dir, path) = temp_db("group");
        let kv = Arc::new(SqliteKv::open(&path).unwrap());
        let threads: Vec<_> = (0..16)
            .map(|t| {
                let kv = kv.clone();
                let path = path.clone();
                std::thread::spawn(move || {
                    let witness = Connection::open(&path).unwrap();
                    for i in 0..25 {
                        let key = format!("k{t}-{i}");
                        block(kv.set("default", &key, key.as_bytes())).unwrap();
                        let seen: Option<Vec<u8>> = witness
                            .query_row("SELECT value FROM spin_key_value WHERE store = 'default' AND key = ?1", [&key], |r| r.get(0))
                            .optional()
                            .unwrap();
                        assert_eq!(seen.as_deref(), Some(key.as_bytes()), "{key} not committed when set returned");
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(kv.get_keys("default").unwrap().len(), 16 * 25);
        drop(kv);
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// Sixteen threads each add themselves to one list by read → swap, retrying when the swap fails: no
    /// addition is lost (a plain read → set loses most of them), and the first write of an absent key has one
    /// winner.
    #[test]
    fn swaps_from_racing_threads_lose_no_update() {
        let (dir, path) = temp_db("swap");
        let kv = Arc::new(SqliteKv::open(&path).unwrap());
        let threads: Vec<_> = (0..16u8)
            .map(|t| {
                let kv = kv.clone();
                std::thread::spawn(move || {
                    let created = block(kv.swap("default", "first", None, &[t])).unwrap();
                    let mut tries = 0;
                    loop {
                        tries += 1;
                        let seen = kv.get("default", "list").unwrap();
                        let mut list = seen.clone().unwrap_or_default();
                        list.push(t);
                        if block(kv.swap("default", "list", seen, &list)).unwrap() {
                            return (created, tries);
                        }
                    }
                })
            })
            .collect();
        let results: Vec<(bool, u32)> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let mut list = kv.get("default", "list").unwrap().unwrap();
        list.sort();
        assert_eq!(list, (0..16).collect::<Vec<u8>>(), "an addition was lost");
        assert_eq!(results.iter().filter(|(created, _)| *created).count(), 1, "one creator of an absent key");
        let winner = kv.get("default", "first").unwrap().unwrap();
        assert!(results[winner[0] as usize].0);
        drop(kv);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
