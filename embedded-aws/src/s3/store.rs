//! S3 buckets, objects and bucket notification targets in SQLite (same database and transactions as the queues).
//!
//! Key decision: objects are stored as BLOBs in the same database, so a PutObject and the event notification it
//! enqueues commit together: after a crash there is never an object without its event, or an event without its
//! object. The endpoint is a mail drop for small objects (e-mails), not a bulk store.

use md5::{Digest, Md5};
use rusqlite::{Connection, OptionalExtension, params};

use crate::error::ApiError;

pub const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS buckets(name TEXT PRIMARY KEY, created_s INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS objects(
    bucket TEXT NOT NULL, key TEXT NOT NULL, body BLOB NOT NULL, etag TEXT NOT NULL, content_type TEXT,
    modified_s INTEGER NOT NULL, PRIMARY KEY(bucket, key));
CREATE TABLE IF NOT EXISTS bucket_notifications(
    bucket TEXT PRIMARY KEY, queue TEXT NOT NULL, configuration_id TEXT NOT NULL);
";

pub fn no_such_bucket() -> ApiError {
    ApiError::s3(404, "NoSuchBucket", "The specified bucket does not exist")
}

pub fn no_such_key() -> ApiError {
    ApiError::s3(404, "NoSuchKey", "The specified key does not exist.")
}

/// S3's bucket naming rules, the part that matters locally: 3-63 of lowercase letters, digits, `.` and `-`.
fn validate_bucket_name(name: &str) -> Result<(), ApiError> {
    let ok = (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric();
    if ok {
        Ok(())
    } else {
        Err(ApiError::s3(
            400,
            "InvalidBucketName",
            "The specified bucket is not valid.",
        ))
    }
}

/// Returns false when the bucket already existed.
pub fn create_bucket(conn: &Connection, name: &str, now_s: i64) -> Result<bool, ApiError> {
    validate_bucket_name(name)?;
    let inserted = conn.execute(
        "INSERT OR IGNORE INTO buckets(name, created_s) VALUES (?1, ?2)",
        params![name, now_s],
    )?;
    Ok(inserted == 1)
}

pub fn bucket_exists(conn: &Connection, name: &str) -> Result<bool, ApiError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM buckets WHERE name = ?1")?
        .query_row([name], |_| Ok(()))
        .optional()?
        .is_some())
}

pub fn list_buckets(conn: &Connection) -> Result<Vec<(String, i64)>, ApiError> {
    let mut stmt = conn.prepare_cached("SELECT name, created_s FROM buckets ORDER BY name")?;
    Ok(stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<_, _>>()?)
}

pub fn delete_bucket(conn: &Connection, name: &str) -> Result<(), ApiError> {
    if !bucket_exists(conn, name)? {
        return Err(no_such_bucket());
    }
    let objects: i64 = conn.query_row(
        "SELECT COUNT(*) FROM objects WHERE bucket = ?1",
        [name],
        |r| r.get(0),
    )?;
    if objects > 0 {
        return Err(ApiError::s3(
            409,
            "BucketNotEmpty",
            "The bucket you tried to delete is not empty",
        ));
    }
    conn.execute("DELETE FROM bucket_notifications WHERE bucket = ?1", [name])?;
    conn.execute("DELETE FROM buckets WHERE name = ?1", [name])?;
    Ok(())
}

/// An object's metadata (everything HeadObject reports).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub size: u64,
    /// MD5 hex, unquoted.
    pub etag: String,
    pub content_type: Option<String>,
    pub modified_s: i64,
}

pub fn put_object(
    conn: &Connection,
    bucket: &str,
    key: &str,
    body: &[u8],
    content_type: Option<&str>,
    now_s: i64,
) -> Result<ObjectMeta, ApiError> {
    if !bucket_exists(conn, bucket)? {
        return Err(no_such_bucket());
    }
    // A single-part upload's ETag is the body's MD5, which clients may compare with their own.
    let etag = hex::encode(Md5::digest(body));
    conn.prepare_cached(
        "INSERT OR REPLACE INTO objects(bucket, key, body, etag, content_type, modified_s)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![bucket, key, body, etag, content_type, now_s])?;
    Ok(ObjectMeta {
        size: body.len() as u64,
        etag,
        content_type: content_type.map(str::to_owned),
        modified_s: now_s,
    })
}

pub fn head_object(conn: &Connection, bucket: &str, key: &str) -> Result<ObjectMeta, ApiError> {
    if !bucket_exists(conn, bucket)? {
        return Err(no_such_bucket());
    }
    conn.prepare_cached(
        "SELECT length(body), etag, content_type, modified_s FROM objects WHERE bucket = ?1 AND key = ?2",
    )?
    .query_row(params![bucket, key], |r| {
        Ok(ObjectMeta { size: r.get::<_, i64>(0)? as u64, etag: r.get(1)?, content_type: r.get(2)?, modified_s: r.get(3)? })
    })
    .optional()?
    .ok_or_else(no_such_key)
}

pub fn get_object(
    conn: &Connection,
    bucket: &str,
    key: &str,
) -> Result<(ObjectMeta, Vec<u8>), ApiError> {
    let meta = head_object(conn, bucket, key)?;
    let body: Vec<u8> = conn
        .prepare_cached("SELECT body FROM objects WHERE bucket = ?1 AND key = ?2")?
        .query_row(params![bucket, key], |r| r.get(0))?;
    Ok((meta, body))
}

pub fn delete_object(conn: &Connection, bucket: &str, key: &str) -> Result<(), ApiError> {
    if !bucket_exists(conn, bucket)? {
        return Err(no_such_bucket());
    }
    conn.execute(
        "DELETE FROM objects WHERE bucket = ?1 AND key = ?2",
        params![bucket, key],
    )?;
    Ok(())
}

/// Keys under `prefix`, after `start_after`, at most `max`; with sizes, etags and times.
pub fn list_objects(
    conn: &Connection,
    bucket: &str,
    prefix: &str,
    start_after: &str,
    max: usize,
) -> Result<Vec<(String, ObjectMeta)>, ApiError> {
    if !bucket_exists(conn, bucket)? {
        return Err(no_such_bucket());
    }
    let mut stmt = conn.prepare_cached(
        "SELECT key, length(body), etag, content_type, modified_s FROM objects
         WHERE bucket = ?1 AND key > ?2 AND substr(key, 1, length(?3)) = ?3 ORDER BY key LIMIT ?4",
    )?;
    Ok(stmt
        .query_map(params![bucket, start_after, prefix, max as i64], |r| {
            Ok((
                r.get(0)?,
                ObjectMeta {
                    size: r.get::<_, i64>(1)? as u64,
                    etag: r.get(2)?,
                    content_type: r.get(3)?,
                    modified_s: r.get(4)?,
                },
            ))
        })?
        .collect::<Result<_, _>>()?)
}

/// Where a bucket's `ObjectCreated:*` events go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationTarget {
    pub queue: String,
    pub configuration_id: String,
}

pub fn set_notification(
    conn: &Connection,
    bucket: &str,
    target: &NotificationTarget,
) -> Result<(), ApiError> {
    if !bucket_exists(conn, bucket)? {
        return Err(no_such_bucket());
    }
    conn.execute(
        "INSERT OR REPLACE INTO bucket_notifications(bucket, queue, configuration_id) VALUES (?1, ?2, ?3)",
        params![bucket, target.queue, target.configuration_id],
    )?;
    Ok(())
}

pub fn notification(
    conn: &Connection,
    bucket: &str,
) -> Result<Option<NotificationTarget>, ApiError> {
    Ok(conn
        .prepare_cached(
            "SELECT queue, configuration_id FROM bucket_notifications WHERE bucket = ?1",
        )?
        .query_row([bucket], |r| {
            Ok(NotificationTarget {
                queue: r.get(0)?,
                configuration_id: r.get(1)?,
            })
        })
        .optional()?)
}
