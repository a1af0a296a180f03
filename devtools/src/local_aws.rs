//! The embedded default: when nothing points the host at an AWS endpoint, `up` starts the embedded SQS/S3
//! endpoint (`tr-embedded-aws`) and wires the application to it exactly as a deployment is wired to AWS.
//!
//! Key decisions:
//! - **Same wiring as production.** Components get the endpoint and credentials through the same Spin variables
//!   (`sqs_endpoint`, `s3_endpoint`, `aws_access_key_id`, …) and the SQS triggers through an SDK client with an
//!   explicit endpoint (what `AWS_ENDPOINT_URL_SQS` does for the plugin). These are *defaults*: a
//!   `SPIN_VARIABLE_*` or `--variable` the user sets still wins.
//! - **The resources a deployment has**: the raw-mail bucket notifying the raw-mail event queue, the ticket
//!   queue, the read-tickets queue, and a dead-letter queue behind each consumed queue (redrive after
//!   [`MAX_RECEIVES`]). `[[trigger.sqs]]` URLs are matched by queue name (their last path segment), so the
//!   manifest's literal URLs need no edit.
//! - **One state folder**: `.spin/` beside spin.toml holds the key-value store and `aws/` (the endpoint's
//!   SQLite) — `up --reset` deletes it. `.spin/local-aws.json` tells the CLI (`mail send`, `queues`, `replay`)
//!   where the endpoint is and with which key; the key is local-only (the endpoint listens on loopback).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use tr_embedded_aws::{Config, EmbeddedAws, LocalCredentials};

pub const RAW_MAIL_BUCKET: &str = "tr-raw-mail";
pub const RAW_MAIL_QUEUE: &str = "tr-raw-mail-events";
pub const TICKET_QUEUE: &str = "tr-tickets";
pub const READ_QUEUE: &str = "tr-read-tickets";
/// Receives before a message is dead-lettered (the deployment template uses the same).
pub const MAX_RECEIVES: u32 = 5;
pub const ACCESS_KEY_ID: &str = "tr-local";
const REGION: &str = "us-east-1";
const STATE_FILE: &str = "local-aws.json";

/// Written readable by its owner only: it holds the local secret.
fn write_private(file: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut f = options.open(file)?;
    #[cfg(unix)]
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    f.write_all(bytes)
}

impl std::fmt::Debug for LocalAwsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalAwsState")
            .field("endpoint", &self.endpoint)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("region", &self.region)
            .field("bucket", &self.bucket)
            .field("queues", &self.queues)
            .finish()
    }
}

/// What the CLI needs to reach a running embedded endpoint.
#[derive(Clone, Serialize, Deserialize)]
pub struct LocalAwsState {
    pub endpoint: String,
    pub access_key_id: String,
    /// Made at random for this state folder on first start and kept in the state file (owner-only), so the
    /// signature proves something: knowing the repository is not knowing the key.
    pub secret_access_key: String,
    pub region: String,
    pub bucket: String,
    /// Queue name → URL, dead-letter queues included.
    pub queues: BTreeMap<String, String>,
}

pub struct LocalAws {
    pub aws: EmbeddedAws,
    pub state: LocalAwsState,
}

impl LocalAws {
    /// Starts the endpoint on `listen` with its data in `<spin_dir>/aws`, creates what the application needs
    /// (idempotently: a restart finds them), and writes the CLI's state file.
    pub async fn start(spin_dir: &Path, listen: SocketAddr) -> anyhow::Result<Self> {
        if !listen.ip().is_loopback() {
            eprintln!("tr-intake: the embedded SQS/S3 endpoint listens on {listen}, which is not loopback: anyone who can reach it and has .spin/{STATE_FILE} can read and write the queues and mail");
        }
        let file = spin_dir.join(STATE_FILE);
        let secret = match std::fs::read(&file).ok().and_then(|b| serde_json::from_slice::<LocalAwsState>(&b).ok()) {
            Some(previous) => previous.secret_access_key,
            None => {
                let mut bytes = [0u8; 20];
                getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness for the local secret: {e}"))?;
                bytes.iter().map(|b| format!("{b:02x}")).collect()
            }
        };
        let credentials = LocalCredentials::new(ACCESS_KEY_ID, secret.as_str());
        let config = Config::new(spin_dir.join("aws"), credentials).with_bind(listen).with_region(REGION);
        let aws = EmbeddedAws::start(config).await.with_context(|| format!("starting the embedded SQS/S3 endpoint on {listen}"))?;
        let mut queues = BTreeMap::new();
        for consumed in [RAW_MAIL_QUEUE, TICKET_QUEUE] {
            let dlq = format!("{consumed}-dlq");
            queues.insert(dlq.clone(), aws.create_queue(&dlq, BTreeMap::new()).await?);
            let redrive = format!(r#"{{"deadLetterTargetArn":"{}","maxReceiveCount":"{MAX_RECEIVES}"}}"#, aws.queue_arn(&dlq));
            let attributes = BTreeMap::from([("RedrivePolicy".to_owned(), redrive), ("VisibilityTimeout".to_owned(), "60".to_owned())]);
            queues.insert(consumed.to_owned(), aws.create_queue(consumed, attributes).await?);
        }
        queues.insert(READ_QUEUE.to_owned(), aws.create_queue(READ_QUEUE, BTreeMap::new()).await?);
        aws.create_bucket(RAW_MAIL_BUCKET).await?;
        aws.set_notification(RAW_MAIL_BUCKET, RAW_MAIL_QUEUE, "tr-raw-mail-to-queue").await?;
        let state = LocalAwsState {
            endpoint: aws.endpoint().to_owned(),
            access_key_id: ACCESS_KEY_ID.to_owned(),
            secret_access_key: secret,
            region: REGION.to_owned(),
            bucket: RAW_MAIL_BUCKET.to_owned(),
            queues,
        };
        write_private(&file, &serde_json::to_vec_pretty(&state)?).with_context(|| format!("writing {}", file.display()))?;
        Ok(Self { aws, state })
    }

    /// Spin variables the application gets unless the user set them: the endpoint, the local key, the queues,
    /// the offline reader (no model account needed), and no sender verification: the mail drop writes mail
    /// straight into the bucket, with no SES in front to write SPF/DKIM/DMARC verdicts, so under the manifest's
    /// `ses` every local reply would become a ticket of its own.
    pub fn variable_defaults(&self) -> BTreeMap<String, String> {
        let s = &self.state;
        BTreeMap::from([
            ("aws_region".to_owned(), s.region.clone()),
            ("aws_access_key_id".to_owned(), s.access_key_id.clone()),
            ("aws_secret_access_key".to_owned(), s.secret_access_key.clone()),
            ("sqs_endpoint".to_owned(), s.endpoint.clone()),
            ("s3_endpoint".to_owned(), s.endpoint.clone()),
            ("s3_path_style".to_owned(), "true".to_owned()),
            ("ticket_queue_url".to_owned(), s.queues[TICKET_QUEUE].clone()),
            ("read_queue_url".to_owned(), s.queues[READ_QUEUE].clone()),
            ("reader".to_owned(), "offline".to_owned()),
            ("email_sender_verification".to_owned(), "off".to_owned()),
        ])
    }
}

impl LocalAwsState {
    /// The state a running `up` wrote next to `manifest`.
    pub fn load(manifest: &Path) -> anyhow::Result<Self> {
        let file = state_dir(manifest).join(STATE_FILE);
        let text = std::fs::read(&file)
            .with_context(|| format!("{} is missing: start `tr-intake up` (embedded mode) first", file.display()))?;
        Ok(serde_json::from_slice(&text)?)
    }

    /// An SQS or S3 SDK config for the endpoint.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        let credentials = aws_credential_types::Credentials::new(&self.access_key_id, &self.secret_access_key, None, None, "tr-local");
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new(self.region.clone()))
            .credentials_provider(credentials)
            .load()
            .await
    }

    /// The URL of queue `name`, or an error listing the ones there are.
    pub fn queue_url(&self, name: &str) -> anyhow::Result<&str> {
        self.queues.get(name).map(String::as_str).ok_or_else(|| {
            anyhow::anyhow!("no queue `{name}`; there are: {}", self.queues.keys().cloned().collect::<Vec<_>>().join(", "))
        })
    }
}

/// `.spin/` beside the manifest: the one folder all local state lives in.
pub fn state_dir(manifest: &Path) -> PathBuf {
    manifest.parent().map(Path::to_path_buf).unwrap_or_default().join(".spin")
}

/// Embedded mode unless the environment already points the application at its own queues: an SQS endpoint for
/// the triggers (moto, LocalStack) or for the components, or a ticket queue (a real AWS account).
pub fn wanted(env: impl Fn(&str) -> Option<String>) -> bool {
    ["AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL", "SPIN_VARIABLE_SQS_ENDPOINT", "SPIN_VARIABLE_TICKET_QUEUE_URL"]
        .iter()
        .all(|name| env(name).is_none())
}
