//! The one SQLite connection, owned by one thread that commits in groups.
//!
//! Durability: the database runs in WAL mode with `synchronous=FULL`, so every COMMIT fsyncs the WAL before it
//! returns. Every operation (send, receive, delete, put object, ...) is a job sent to this thread; the thread
//! takes every job waiting, runs each inside its own SAVEPOINT (a failing job rolls back alone), COMMITs once,
//! and only then hands each job its result. So a caller, and the HTTP response written after it, never sees
//! success for a change that is not on disk, and concurrent senders share one fsync instead of paying one each.
//! WAL checkpoints are SQLite's automatic ones (at 1000 pages), which fsync the database file too.

use std::path::Path;
use std::sync::mpsc;
use std::thread;

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::error::{ApiError, EmbeddedError};

/// The most jobs one transaction takes; bounds how long the first one waits for its commit.
const MAX_GROUP: usize = 512;

type Reply = Box<dyn FnOnce(Result<(), String>) + Send>;
type Job = Box<dyn FnOnce(&Connection) -> (bool, Reply) + Send>;

/// A cheap handle to the storage thread.
#[derive(Clone)]
pub struct Storage {
    jobs: mpsc::Sender<Job>,
}

pub const DB_FILE: &str = "embedded-aws.sqlite3";

impl Storage {
    /// Opens (creating) the database in `dir`, applies `schema`, and starts the storage thread.
    pub fn open(dir: &Path, schema: &str) -> Result<Storage, EmbeddedError> {
        std::fs::create_dir_all(dir).map_err(|source| EmbeddedError::StateDir {
            path: dir.display().to_string(),
            source,
        })?;
        let conn = Connection::open(dir.join(DB_FILE))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(schema)?;
        let (tx, rx) = mpsc::channel::<Job>();
        thread::Builder::new()
            .name("embedded-aws-storage".into())
            .spawn(move || run(conn, rx))
            .map_err(|source| EmbeddedError::StateDir {
                path: dir.display().to_string(),
                source,
            })?;
        Ok(Storage { jobs: tx })
    }

    /// Runs `f` in the next group transaction; resolves once that transaction is committed (or failed).
    pub async fn run<R, F>(&self, f: F) -> Result<R, ApiError>
    where
        R: Send + 'static,
        F: FnOnce(&Connection) -> Result<R, ApiError> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let result = f(conn);
            let ok = result.is_ok();
            let reply: Reply = Box::new(move |committed| {
                let _ = tx.send(match committed {
                    Ok(()) => result,
                    Err(e) => Err(ApiError::storage(e)),
                });
            });
            (ok, reply)
        });
        self.jobs
            .send(job)
            .map_err(|_| ApiError::storage("storage thread stopped"))?;
        rx.await
            .map_err(|_| ApiError::storage("storage thread stopped"))?
    }
}

fn run(conn: Connection, jobs: mpsc::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        let mut replies = Vec::with_capacity(group.len());
        let outcome = (|| -> rusqlite::Result<()> {
            conn.execute_batch("BEGIN IMMEDIATE")?;
            for job in group {
                conn.execute_batch("SAVEPOINT job")?;
                let (ok, reply) = job(&conn);
                replies.push(reply);
                if !ok {
                    conn.execute_batch("ROLLBACK TO job")?;
                }
                conn.execute_batch("RELEASE job")?;
            }
            conn.execute_batch("COMMIT")
        })();
        let outcome = outcome.map_err(|e| {
            let _ = conn.execute_batch("ROLLBACK");
            e.to_string()
        });
        for reply in replies {
            reply(outcome.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_connection_is_wal_with_full_sync() {
        let dir = tempfile::tempdir().unwrap();
        let s = Storage::open(dir.path(), "").unwrap();
        let (mode, sync): (String, i64) = s
            .run(|c| {
                let mode = c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
                let sync = c.query_row("PRAGMA synchronous", [], |r| r.get(0))?;
                Ok((mode, sync))
            })
            .await
            .unwrap();
        assert_eq!((mode.as_str(), sync), ("wal", 2), "2 = FULL");
    }

    #[tokio::test]
    async fn a_failing_job_rolls_back_alone() {
        let dir = tempfile::tempdir().unwrap();
        let s = Storage::open(dir.path(), "CREATE TABLE t(x INTEGER PRIMARY KEY);").unwrap();
        let a = s.run(|c| Ok(c.execute("INSERT INTO t VALUES (1)", [])?));
        let b = s.run(|c| {
            c.execute("INSERT INTO t VALUES (2)", [])?;
            Err::<(), _>(ApiError::invalid_parameter("no"))
        });
        let (a, b) = tokio::join!(a, b);
        assert!(a.is_ok() && b.is_err());
        let rows: Vec<i64> = s
            .run(|c| {
                Ok(c.prepare("SELECT x FROM t")?
                    .query_map([], |r| r.get(0))?
                    .collect::<Result<_, _>>()?)
            })
            .await
            .unwrap();
        assert_eq!(rows, vec![1]);
    }
}
