//! The key-value backend: SQLite, in Spin's own layout.
//!
//! Spin's default store is `.spin/sqlite_key_value.db` beside spin.toml with one table
//! `spin_key_value(store, key, value)`; we use the same file and table, so a database written here opens under
//! real `spin up` and the other way round. WAL journal with `synchronous = FULL`: a `set` that returned is on
//! disk (the store holds accepted tickets, which must survive a crash).

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{Connection, OptionalExtension, params};

#[derive(Debug, thiserror::Error)]
#[error("key-value store: {0}")]
pub struct KvError(#[from] rusqlite::Error);

pub struct SqliteKv {
    conn: Mutex<Connection>,
}

impl SqliteKv {
    pub fn open(path: &Path) -> Result<Self, KvError> {
        let conn = Connection::open(path)?;
        Self::init(conn)
    }

    pub fn in_memory() -> Result<Self, KvError> {
        Self::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Self, KvError> {
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute(
            "CREATE TABLE IF NOT EXISTS spin_key_value (
                store TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (store, key))",
            [],
        )?;
        Ok(Self { conn: Mutex::new(conn) })
    }

    fn with<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, KvError> {
        let conn = self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Ok(f(&conn)?)
    }

    pub fn get(&self, store: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.with(|c| {
            c.query_row("SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2", params![store, key], |r| r.get(0))
                .optional()
        })
    }

    pub fn set(&self, store: &str, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.with(|c| {
            c.execute(
                "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
                params![store, key, value],
            )
            .map(drop)
        })
    }

    pub fn delete(&self, store: &str, key: &str) -> Result<(), KvError> {
        self.with(|c| c.execute("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2", params![store, key]).map(drop))
    }

    pub fn exists(&self, store: &str, key: &str) -> Result<bool, KvError> {
        self.with(|c| {
            c.query_row("SELECT 1 FROM spin_key_value WHERE store = ?1 AND key = ?2", params![store, key], |_| Ok(()))
                .optional()
                .map(|r| r.is_some())
        })
    }

    pub fn get_keys(&self, store: &str) -> Result<Vec<String>, KvError> {
        self.with(|c| {
            let mut stmt = c.prepare("SELECT key FROM spin_key_value WHERE store = ?1 ORDER BY key")?;
            stmt.query_map(params![store], |r| r.get(0))?.collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stores_are_separate_and_values_survive_reopen() {
        let dir = std::env::temp_dir().join(format!("tr-kv-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("kv.db");
        {
            let kv = SqliteKv::open(&path).unwrap();
            kv.set("default", "a", b"1").unwrap();
            kv.set("default", "a", b"2").unwrap();
            kv.set("other", "a", b"x").unwrap();
            kv.set("default", "b", b"").unwrap();
        }
        let kv = SqliteKv::open(&path).unwrap();
        assert_eq!(kv.get("default", "a").unwrap().as_deref(), Some(&b"2"[..]));
        assert_eq!(kv.get("other", "a").unwrap().as_deref(), Some(&b"x"[..]));
        assert!(kv.exists("default", "b").unwrap());
        assert_eq!(kv.get_keys("default").unwrap(), vec!["a", "b"]);
        kv.delete("default", "a").unwrap();
        assert_eq!(kv.get("default", "a").unwrap(), None);
        assert!(!kv.exists("default", "a").unwrap());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
