//! The wiring every lane shares, read from the variables once: region, credentials, the SQS endpoint and the
//! key-value store the component opened; and the intake lanes' two queues ([`intake_queues`]).
//!
//! Key decision: nothing here fails on construction. Each value keeps its own `Result`, and a lane asks for it
//! at the step that needs it, so a lane answers a misconfiguration at the same point of its guard order as it
//! would with the variable read right there (a refused origin is still a 403 when the queue URL is missing).

use crate::credentials::Credentials;
use crate::sqs_client::{SqsClient, SqsConfig};
use crate::store::{Kv, KvError, Store, StoreConfig};
use crate::transport::{Runtime, Transport};
use crate::vars::{VarError, Vars};

/// AWS's default region when the deployment names none (SES inbound's home region).
pub const DEFAULT_REGION: &str = "us-east-1";

pub struct Wiring<T, R, K> {
    pub region: String,
    pub credentials: Result<Credentials, VarError>,
    pub sqs_endpoint: Option<String>,
    pub kv: Result<K, KvError>,
    pub transport: T,
    pub runtime: R,
}

impl<T: Transport + Clone, R: Runtime + Clone, K: Kv> Wiring<T, R, K> {
    /// Reads `aws_region`, the AWS credentials and `sqs_endpoint`: what every component declares. Anything else
    /// is read by the lane that declares it, so no component reads a variable spin.toml does not give it.
    pub async fn from_vars(vars: &impl Vars, transport: T, runtime: R, kv: Result<K, KvError>) -> Self {
        Self {
            region: vars.optional("aws_region").await.unwrap_or_else(|| DEFAULT_REGION.to_owned()),
            credentials: vars.aws_credentials().await,
            sqs_endpoint: vars.optional("sqs_endpoint").await,
            kv,
            transport,
            runtime,
        }
    }

    /// The SQS client, or the credential variable that is missing.
    pub fn sqs(&self) -> Result<SqsClient<T, R>, VarError> {
        let mut config = SqsConfig::new(self.region.clone(), self.credentials.clone()?);
        config.endpoint = self.sqs_endpoint.clone();
        Ok(SqsClient::new(config, self.transport.clone(), self.runtime.clone()))
    }

    /// The ticket store over the opened key-value store (taken: a lane opens one store per message).
    pub fn store(&mut self) -> Result<Store<K>, KvError> {
        let kv = std::mem::replace(&mut self.kv, Err(KvError::Other("the store was already taken".into())))?;
        Ok(Store::new(kv, StoreConfig::default()))
    }
}

/// Where an intake lane (email, form, chat) sends what it makes.
#[derive(Debug, Clone)]
pub struct IntakeQueues {
    pub ticket_queue_url: Result<String, VarError>,
    /// Optional: appends go here instead of the ticket queue.
    pub append_queue_url: Option<String>,
}

/// `ticket_queue_url` (required when a ticket is made) and `append_queue_url`.
pub async fn intake_queues(vars: &impl Vars) -> IntakeQueues {
    IntakeQueues {
        ticket_queue_url: vars.required("ticket_queue_url").await,
        append_queue_url: vars.optional("append_queue_url").await,
    }
}
