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
//!
//! Start it with [`EmbeddedAws::start`]; point SDK clients at [`EmbeddedAws::endpoint`] (S3 with path-style
//! addressing). The `tr-embedded-aws serve` binary runs the same thing as a process.

mod app;
mod config;
mod error;
mod object_store;
mod queue_store;
mod replay;
mod s3_api;
mod s3_notification;
mod server;
mod sigv4_verify;
mod sqs_api;
mod sqs_md5;
mod storage;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use config::{Config, LocalCredentials};
pub use error::EmbeddedError;
pub use object_store::ObjectMeta;
pub use queue_store::Depth as QueueDepth;

use app::{App, now_ms};
use object_store::NotificationTarget;

/// A running endpoint. Dropping it stops accepting connections; [`EmbeddedAws::shutdown`] also waits.
pub struct EmbeddedAws {
    app: Arc<App>,
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl EmbeddedAws {
    /// Opens (or creates) the store in `config.dir`, binds `config.bind`, and serves in the background on the
    /// current tokio runtime.
    pub async fn start(config: Config) -> Result<EmbeddedAws, EmbeddedError> {
        let schema = format!("{}{}", queue_store::SCHEMA, object_store::SCHEMA);
        let storage = storage::Storage::open(&config.dir, &schema)?;
        storage
            .run(|c| queue_store::drop_expired(c, now_ms()))
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
        let task = tokio::spawn(server::serve(listener, app.clone(), stopped.clone()));
        tokio::spawn(housekeeping(app.clone(), stopped));
        Ok(EmbeddedAws {
            app,
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
            .run(move |c| queue_store::create_queue(c, &n, attributes, now_s))
            .await?;
        Ok(self.app.queue_url(name))
    }

    /// Creates a bucket (idempotent).
    pub async fn create_bucket(&self, name: &str) -> Result<(), EmbeddedError> {
        let n = name.to_owned();
        let now_s = now_ms() / 1000;
        self.app
            .storage
            .run(move |c| object_store::create_bucket(c, &n, now_s))
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
        Ok(s3_api::store_object(
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
                let q = queue_store::get_queue(c, &target.queue)?;
                object_store::set_notification(c, &b, &target)?;
                let body =
                    s3_notification::test_event(&b, time::OffsetDateTime::now_utc()).to_string();
                let message = queue_store::NewMessage {
                    body,
                    group_id: q.is_fifo().then(|| b.clone()),
                    dedup_id: q.is_fifo().then(|| uuid::Uuid::new_v4().to_string()),
                    ..Default::default()
                };
                queue_store::send(c, &q, message, now_ms())
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
                queue_store::list_queues(c, "")?
                    .into_iter()
                    .map(|name| Ok((name.clone(), queue_store::depth(c, &name, now)?)))
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
            .run(move |c| replay::replay(c, &d, &s, now_ms()))
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
                if let Err(e) = app.storage.run(|c| queue_store::drop_expired(c, now_ms())).await {
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
