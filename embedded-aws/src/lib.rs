//! tr-embedded-aws: a local SQS (AWS JSON 1.0) and S3 (path-style) endpoint on one port, durable and
//! SigV4-verifying, for `tr-intake up` to run the intake lanes with no cloud account and no moto.
//!
//! Role: the real SDKs (and tr-core's own clients) talk to it exactly as to AWS: same protocol, same signatures,
//! same error codes, same MD5 digests, same S3 event notification JSON. Key decisions:
//!
//! - **One store, SQLite.** Queues, messages, buckets, objects and notification targets live in one database
//!   (`<dir>/embedded-aws.sqlite3`) — no in-memory state that could disagree with the disk after a crash.
//! - **What is fsynced, and when.** The database is in WAL mode with `synchronous=FULL`: every COMMIT fsyncs the
//!   WAL. Every API call — SendMessage(Batch), ReceiveMessage (it changes visibility and receive counts),
//!   DeleteMessage, ChangeMessageVisibility, PurgeQueue, CreateQueue, PutObject (with its notification) — is a
//!   job on a single storage thread that runs waiting jobs in one transaction and commits *before* any of them
//!   gets its result, so a 200 is written only for changes already on disk. Concurrent callers share one fsync
//!   (group commit). SQLite checkpoints the WAL into the main file itself (fsyncing it) every ~1000 pages.
//! - **Verification is real.** Each request's SigV4 signature is recomputed from the configured secret and
//!   compared in constant time; a wrong secret or unknown key gets AWS's error for that protocol.
//! - **Bounded per client.** What a request's headers can already refuse (no or malformed credentials, an unknown
//!   key, a date outside the 15-minute window or not matching the scope, a declared length over the limit) is
//!   refused before its body is read; early refusals drain a little unread body so the client sees the answer.
//!   Connections are capped (overflow answered 503, then accepting pauses), slow headers and idle keep-alive
//!   connections are cut, and a failing `accept` backs off instead of spinning. The knobs are [`Limits`] in
//!   [`Config`] (and `serve` flags), with these defaults:
//!
//!   | knob | default | `serve` flag |
//!   |---|---|---|
//!   | `max_body_bytes` | 64 MiB | `--max-body BYTES` |
//!   | `header_read_timeout` (also bounds a keep-alive wait) | 30 s | `--header-timeout SECS` |
//!   | `idle_timeout` (keep-alive with nothing in flight) | 20 s | `--idle-timeout SECS` |
//!   | `max_connections` | 512 | `--max-connections N` |
//!   | `overflow_connections` (answered 503) | 64 | `--overflow-connections N` |
//!   | `drain_bytes` / `drain_time` (after an early refusal) | 1 MiB / 1 s | `--drain-bytes`, `--drain-time` |
//!   | `accept_backoff_max` (EMFILE etc., 5 ms doubling) | 1 s | `--accept-backoff-max SECS` |
//!
//! Start it with [`EmbeddedAws::start`]; point SDK clients at [`EmbeddedAws::endpoint`] (S3 with path-style
//! addressing). The `tr-embedded-aws serve` binary runs the same thing as a process.
//!
//! Crate map, lowest layer first: each module imports only from modules above it (so no import circles), named
//! in parentheses; `error` is used throughout and left out.
//!
//! - `config`          [`Config`], [`LocalCredentials`]: where to store, where to listen, the one key pair
//! - `error`           [`EmbeddedError`] for this API, `ApiError` for the wire
//! - `storage`         the single SQLite thread, group commit
//! - `sigv4_verify`    rebuilds and checks each request's signature (config)
//! - `app`             state shared by handlers: config, storage, endpoint URL, long-poll wake-ups (config, storage)
//! - `sqs::types`      message attributes
//! - `sqs::md5`        SQS's body and attribute digests (sqs::types)
//! - `sqs::store`      the SQS schema, queues and their attributes
//! - `sqs::messages`   send, receive, redrive, delete, visibility, expiry (sqs::{md5, store, types})
//! - `sqs::replay`     dead-letter queue back to its source (sqs::store)
//! - `sqs::wire`       SQS JSON fields in, messages out (sqs::{md5, messages, types})
//! - `sqs::api`        the SQS actions and long polls (app, sqs::{messages, store, wire})
//! - `s3::notification` S3 event JSON
//! - `s3::store`       buckets, objects, notification targets
//! - `s3::api`         the S3 calls (app, sigv4_verify, s3::{notification, store}, sqs::{messages, store})
//! - `server`          one request: refused early or read (bounded), signature checked, routed, errors per
//!   protocol (app, sigv4_verify, sqs::api, s3::api)
//! - `connections`     accept loop and connection lifecycle: cap, timeouts, accept back-off (app, server)
//! - this file         [`EmbeddedAws`]: start, the Rust-side calls, housekeeping (everything above)

mod app;
mod config;
mod connections;
mod error;
mod s3;
mod server;
mod sigv4_verify;
mod sqs;
mod storage;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{Config, Limits, LocalCredentials};
pub use error::EmbeddedError;
pub use s3::store::ObjectMeta;
pub use sqs::store::Depth as QueueDepth;

use app::{App, now_ms};
use s3::store::NotificationTarget;

/// A running endpoint. Dropping it stops accepting connections; [`EmbeddedAws::shutdown`] also waits.
pub struct EmbeddedAws {
    app: Arc<App>,
    gate: Arc<connections::Gate>,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl EmbeddedAws {
    /// Opens (or creates) the store in `config.dir`, binds `config.bind`, and serves in the background on the
    /// current tokio runtime.
    pub async fn start(config: Config) -> Result<EmbeddedAws, EmbeddedError> {
        let schema = format!("{}{}", sqs::store::SCHEMA, s3::store::SCHEMA);
        let storage = storage::Storage::open(&config.dir, &schema)?;
        storage
            .run(|c| sqs::messages::drop_expired(c, now_ms()))
            .await?;
        let listener = tokio::net::TcpListener::bind(config.bind)
            .await
            .map_err(|source| EmbeddedError::Bind {
                addr: config.bind.to_string(),
                source,
            })?;
        let addr = listener
            .local_addr()
            .map_err(|source| EmbeddedError::Bind {
                addr: config.bind.to_string(),
                source,
            })?;
        let app = Arc::new(App::new(config, storage, format!("http://{addr}")));
        let (stop, stopped) = watch::channel(false);
        let gate = Arc::new(connections::Gate::new(
            app.config.limits.max_connections,
            app.config.limits.overflow_connections,
        ));
        let task = tokio::spawn(connections::serve(
            listener,
            app.clone(),
            gate.clone(),
            stopped.clone(),
        ));
        tokio::spawn(housekeeping(app.clone(), stopped));
        Ok(EmbeddedAws {
            app,
            gate,
            addr,
            stop,
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT`: the endpoint URL for SQS and (path-style) S3 clients.
    pub fn endpoint(&self) -> &str {
        &self.app.endpoint
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections being served now (at most `Limits::max_connections`; overflow ones being refused 503 are not
    /// counted).
    pub fn open_connections(&self) -> usize {
        self.gate.open()
    }

    pub fn queue_url(&self, name: &str) -> String {
        self.app.queue_url(name)
    }

    pub fn queue_arn(&self, name: &str) -> String {
        self.app.queue_arn(name)
    }

    /// Creates a queue (idempotent for identical attributes), e.g. `VisibilityTimeout`, `RedrivePolicy`,
    /// `FifoQueue`; returns its URL.
    pub async fn create_queue(
        &self,
        name: &str,
        attributes: BTreeMap<String, String>,
    ) -> Result<String, EmbeddedError> {
        let n = name.to_owned();
        let now_s = now_ms() / 1000;
        self.app
            .storage
            .run(move |c| sqs::store::create_queue(c, &n, attributes, now_s))
            .await?;
        Ok(self.app.queue_url(name))
    }

    /// Creates a bucket (idempotent).
    pub async fn create_bucket(&self, name: &str) -> Result<(), EmbeddedError> {
        let n = name.to_owned();
        let now_s = now_ms() / 1000;
        self.app
            .storage
            .run(move |c| s3::store::create_bucket(c, &n, now_s))
            .await?;
        Ok(())
    }

    /// Stores an object as PutObject would, notification included.
    pub async fn put_object(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
    ) -> Result<ObjectMeta, EmbeddedError> {
        let principal = self.app.config.credentials.access_key_id.clone();
        Ok(s3::api::store_object(
            &self.app,
            bucket.to_owned(),
            key.to_owned(),
            body,
            None,
            &principal,
        )
        .await?)
    }

    /// Sends `ObjectCreated:Put` events for `bucket` to `queue` from now on, and (as S3 does when a notification
    /// is configured) an `s3:TestEvent` right away.
    pub async fn set_notification(
        &self,
        bucket: &str,
        queue: &str,
        configuration_id: &str,
    ) -> Result<(), EmbeddedError> {
        let (b, target) = (
            bucket.to_owned(),
            NotificationTarget {
                queue: queue.to_owned(),
                configuration_id: configuration_id.to_owned(),
            },
        );
        self.app
            .storage
            .run(move |c| {
                let q = sqs::store::get_queue(c, &target.queue)?;
                s3::store::set_notification(c, &b, &target)?;
                let body =
                    s3::notification::test_event(&b, time::OffsetDateTime::now_utc()).to_string();
                let message = sqs::messages::NewMessage {
                    body,
                    group_id: q.is_fifo().then(|| b.clone()),
                    dedup_id: q.is_fifo().then(|| uuid::Uuid::new_v4().to_string()),
                    ..Default::default()
                };
                sqs::messages::send(c, &q, message, now_ms())
            })
            .await?;
        self.app.wake(queue);
        Ok(())
    }

    /// Every queue's message counts, by queue name.
    pub async fn queue_depths(&self) -> Result<BTreeMap<String, QueueDepth>, EmbeddedError> {
        Ok(self
            .app
            .storage
            .run(|c| {
                let now = now_ms();
                sqs::store::list_queues(c, "")?
                    .into_iter()
                    .map(|name| Ok((name.clone(), sqs::store::depth(c, &name, now)?)))
                    .collect()
            })
            .await?)
    }

    /// Moves the visible messages of dead-letter queue `dlq` back to `source` (whose RedrivePolicy must name
    /// `dlq`); returns how many moved.
    pub async fn replay(&self, dlq: &str, source: &str) -> Result<u64, EmbeddedError> {
        let (d, s) = (dlq.to_owned(), source.to_owned());
        let moved = self
            .app
            .storage
            .run(move |c| sqs::replay::replay(c, &d, &s, now_ms()))
            .await?;
        self.app.wake(source);
        Ok(moved)
    }

    /// Stops accepting connections, lets open ones finish their current request, and waits for the listener.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

/// Every minute: drop messages past retention and expired de-duplication ids.
async fn housekeeping(app: Arc<App>, mut stop: watch::Receiver<bool>) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    tick.tick().await; // the first tick is immediate; start() has just done this
    loop {
        tokio::select! {
            _ = tick.tick() => {
                if let Err(e) = app.storage.run(|c| sqs::messages::drop_expired(c, now_ms())).await {
                    eprintln!("[embedded-aws] housekeeping failed: {e}");
                }
            }
            _ = stop.changed() => return,
        }
    }
}

impl Drop for EmbeddedAws {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}
