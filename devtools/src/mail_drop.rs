//! Raw mail into the raw-mail bucket, the way SES inbound delivers it: one PutObject per message under
//! `inbound/`, whose bucket notification then reaches the email component through the raw-mail queue.
//!
//! Key decision: this goes through the S3 API with the official SDK (SigV4, path-style), not into the store
//! behind the endpoint's back — so the notification, the event's shape and the email lane's S3 GET are the real
//! path, and the same command works against moto or a real bucket.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::Context;

use crate::local_aws::LocalAwsState;

/// Puts each file into the bucket; returns the keys written.
pub async fn send(state: &LocalAwsState, files: &[PathBuf]) -> anyhow::Result<Vec<String>> {
    let config = state.sdk_config().await;
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&config).force_path_style(true).build());
    let mut keys = Vec::new();
    for file in files {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let key = object_key(file);
        s3.put_object()
            .bucket(&state.bucket)
            .key(&key)
            .body(bytes.into())
            .send()
            .await
            .with_context(|| format!("PutObject s3://{}/{key}", state.bucket))?;
        keys.push(key);
    }
    Ok(keys)
}

/// `inbound/<unix-millis>-<random>-<file name>`: readable in a listing, like SES's object keys, and unique per
/// send — two files of one name sent in the same millisecond must not overwrite each other.
fn object_key(file: &Path) -> String {
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let name = file.file_name().map(|n| n.to_string_lossy().replace(' ', "_")).unwrap_or_else(|| "mail.eml".into());
    // The clock's nanoseconds and a per-process counter: no two calls in one process get the same pair.
    static SENT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SENT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("inbound/{}-{:08x}{n:04x}-{name}", now.as_millis(), now.subsec_nanos())
}

/// Watches `folder`: every `*.eml` dropped there is sent, then moved to `folder/sent/` (a failed send stays
/// and is tried again on the next pass). A file is sent only once its size and modification time are the same
/// on two passes a second apart, so a mail still being copied in is not sent half-written. A file sent but not
/// movable is not sent again. Runs until the task is dropped.
pub async fn watch(state: LocalAwsState, folder: PathBuf) {
    let sent = folder.join("sent");
    if let Err(e) = std::fs::create_dir_all(&sent) {
        eprintln!("tr-intake: mail drop {}: {e}", folder.display());
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut last_seen: HashMap<PathBuf, (u64, Option<SystemTime>)> = HashMap::new();
    let mut stuck: HashSet<PathBuf> = HashSet::new();
    loop {
        tick.tick().await;
        let Ok(entries) = std::fs::read_dir(&folder) else { continue };
        let mut files: Vec<(PathBuf, (u64, Option<SystemTime>))> = entries
            .flatten()
            .filter_map(|e| {
                let meta = e.metadata().ok().filter(|m| m.is_file())?;
                Some((e.path(), (meta.len(), meta.modified().ok())))
            })
            .filter(|(p, _)| p.extension().is_some_and(|x| x.eq_ignore_ascii_case("eml")) && !stuck.contains(p))
            .collect();
        files.sort();
        let previous = std::mem::take(&mut last_seen);
        for (file, stamp) in files {
            if previous.get(&file) != Some(&stamp) {
                last_seen.insert(file, stamp); // new or still changing: look again next pass
                continue;
            }
            match send(&state, std::slice::from_ref(&file)).await {
                Ok(keys) => {
                    println!("tr-intake: mail drop: {} -> s3://{}/{}", file.display(), state.bucket, keys[0]);
                    if let Err(e) = std::fs::rename(&file, sent.join(file.file_name().unwrap_or_default())) {
                        eprintln!("tr-intake: mail drop: {} was sent but cannot be moved ({e}); it will not be sent again", file.display());
                        stuck.insert(file);
                    }
                }
                Err(e) => {
                    eprintln!("tr-intake: mail drop: {}: {e:#} (will retry)", file.display());
                    last_seen.insert(file, stamp);
                }
            }
        }
    }
}
