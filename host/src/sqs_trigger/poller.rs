//! The SQS trigger: `[[trigger.sqs]]` run the way the trigger-sqs plugin runs it.
//!
//! The plugin is built on the official AWS SDK for Rust, and so is this: credentials and region from the standard
//! chain (`AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`, profiles), endpoint
//! from `AWS_ENDPOINT_URL_SQS`, every request SigV4-signed by the SDK. Each poll receives up to `max_messages`;
//! an empty poll sleeps `idle_wait_seconds`. Each message runs in its own task: `delete` deletes it; `leave`, an
//! error or a trap leaves it to come back after its visibility timeout. While a handler runs, its lease is
//! renewed (ChangeMessageVisibility every half visibility timeout), so a slow handler is not handed the same
//! message twice.
//!
//! Two bounds ([`TriggerLimits`]) keep a backlog or a stuck handler from taking the host down with it: at most
//! [`IN_FLIGHT`] messages per trigger run at once (the poll receives only as many as there are free slots, so the rest stay
//! on the queue, visible to other consumers), and a handler gets [`HANDLER_DEADLINE`] of wall-clock time — the
//! CPU limit does not tick while a guest waits on the network — after which it is dropped and its message left,
//! to come back and, if it keeps failing, be dead-lettered.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{MessageSystemAttributeName, QueueAttributeName};

use crate::manifest::SqsTrigger;

/// Most messages of one trigger handled at once.
pub const IN_FLIGHT: usize = 16;

/// Longest one delivery may take, waiting included.
pub const HANDLER_DEADLINE: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TriggerLimits {
    pub in_flight: usize,
    pub deadline: Duration,
}

impl Default for TriggerLimits {
    fn default() -> Self {
        Self { in_flight: IN_FLIGHT, deadline: HANDLER_DEADLINE }
    }
}

/// A message as the guest sees it (`spin:sqs/sqs-types.message`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestMessage {
    pub id: Option<String>,
    pub attributes: Vec<GuestAttribute>,
    pub body: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuestAttribute {
    pub name: String,
    pub data_type: Option<String>,
    pub value: AttributeValue,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AttributeValue {
    Str(String),
    Binary(Vec<u8>),
}

/// What became of one delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delete,
    Leave,
    /// The guest returned `error::other(text)`.
    GuestError(String),
    /// The guest trapped, or the host failed to run it.
    Failed(String),
}

/// An [`Outcome`] and how long instantiating the guest took (logged per message, as the HTTP trigger does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispatched {
    pub outcome: Outcome,
    pub instantiate: Option<Duration>,
}

impl From<Outcome> for Dispatched {
    fn from(outcome: Outcome) -> Self {
        Self { outcome, instantiate: None }
    }
}

/// Runs one message through a component. Implemented by the wasmtime runtime; tests may pass a plain closure.
pub trait Dispatch: Send + Sync + 'static {
    fn dispatch(&self, component: &str, message: GuestMessage) -> impl Future<Output = Dispatched> + Send;
}

/// An SQS client configured from the standard AWS environment, like the plugin's.
pub async fn client_from_env() -> Client {
    let config = aws_config::load_from_env().await;
    Client::new(&config)
}

/// Polls one trigger's queue until the task is dropped.
pub async fn run<D: Dispatch>(client: Client, trigger: SqsTrigger, dispatch: Arc<D>) {
    run_with(client, trigger, dispatch, TriggerLimits::default()).await
}

/// [`run`] with other limits (tests).
pub async fn run_with<D: Dispatch>(client: Client, trigger: SqsTrigger, dispatch: Arc<D>, limits: TriggerLimits) {
    let visibility = visibility_timeout(&client, &trigger.queue_url).await;
    let idle = Duration::from_secs(trigger.idle_wait_seconds);
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.in_flight.max(1)));
    loop {
        // Receive no more than can be started: a message taken and left waiting would sit invisible.
        if slots.available_permits() == 0 {
            drop(slots.acquire().await);
        }
        let room = slots.available_permits().min(trigger.max_messages.clamp(1, 10) as usize);
        let mut receive =
            client.receive_message().queue_url(&trigger.queue_url).max_number_of_messages(room.max(1) as i32);
        for name in &trigger.system_attributes {
            receive = receive.message_system_attribute_names(MessageSystemAttributeName::from(name.as_str()));
        }
        for name in &trigger.message_attributes {
            receive = receive.message_attribute_names(name);
        }
        let messages = match receive.send().await {
            Ok(answer) => answer.messages.unwrap_or_default(),
            Err(e) => {
                eprintln!("[sqs {}] receive failed: {}", trigger.component, aws_sdk_sqs::error::DisplayErrorContext(&e));
                tokio::time::sleep(idle).await;
                continue;
            }
        };
        if messages.is_empty() {
            tokio::time::sleep(idle).await;
            continue;
        }
        for message in messages {
            let slot = slots.clone().acquire_owned().await.expect("the semaphore is never closed");
            let (client, trigger, dispatch) = (client.clone(), trigger.clone(), dispatch.clone());
            tokio::spawn(async move {
                handle_one(client, trigger, dispatch, message, visibility, limits.deadline).await;
                drop(slot);
            });
        }
    }
}

async fn visibility_timeout(client: &Client, queue_url: &str) -> Duration {
    let answer = client
        .get_queue_attributes()
        .queue_url(queue_url)
        .attribute_names(QueueAttributeName::VisibilityTimeout)
        .send()
        .await;
    let seconds = answer
        .ok()
        .and_then(|a| a.attributes?.get(&QueueAttributeName::VisibilityTimeout)?.parse::<u64>().ok())
        .unwrap_or(30);
    Duration::from_secs(seconds.max(1))
}

async fn handle_one<D: Dispatch>(
    client: Client,
    trigger: SqsTrigger,
    dispatch: Arc<D>,
    message: aws_sdk_sqs::types::Message,
    visibility: Duration,
    deadline: Duration,
) {
    let started = Instant::now();
    let receipt = message.receipt_handle.clone().unwrap_or_default();
    let guest = to_guest(&message);
    let id = guest.id.clone().unwrap_or_default();

    let keeper = {
        let (client, url, receipt) = (client.clone(), trigger.queue_url.clone(), receipt.clone());
        tokio::spawn(async move {
            let every = (visibility / 2).max(Duration::from_millis(500));
            loop {
                tokio::time::sleep(every).await;
                let renewed = client
                    .change_message_visibility()
                    .queue_url(&url)
                    .receipt_handle(&receipt)
                    .visibility_timeout(visibility.as_secs() as i32)
                    .send()
                    .await;
                if let Err(e) = renewed {
                    eprintln!("[sqs] lease renewal failed: {}", aws_sdk_sqs::error::DisplayErrorContext(&e));
                }
            }
        })
    };
    let Dispatched { outcome, instantiate } = match tokio::time::timeout(deadline, dispatch.dispatch(&trigger.component, guest)).await {
        Ok(dispatched) => dispatched,
        Err(_) => Outcome::Failed(format!("no answer within {:.1} s; dropped", deadline.as_secs_f64())).into(),
    };
    keeper.abort();

    let note = match &outcome {
        Outcome::Delete => {
            match client.delete_message().queue_url(&trigger.queue_url).receipt_handle(&receipt).send().await {
                Ok(_) => "delete".to_owned(),
                Err(e) => format!("delete FAILED ({})", aws_sdk_sqs::error::DisplayErrorContext(&e)),
            }
        }
        Outcome::Leave => "leave".to_owned(),
        Outcome::GuestError(e) => format!("error (left on queue): {e}"),
        Outcome::Failed(e) => format!("failed (left on queue): {e}"),
    };
    let instantiate = instantiate.map(|d| format!(" (instantiate {:.2} ms)", d.as_secs_f64() * 1000.0)).unwrap_or_default();
    println!(
        "[sqs] {} message {} -> {} in {:.1} ms{instantiate}",
        trigger.component,
        id,
        note,
        started.elapsed().as_secs_f64() * 1000.0
    );
}

fn to_guest(message: &aws_sdk_sqs::types::Message) -> GuestMessage {
    let mut attributes = Vec::new();
    if let Some(system) = &message.attributes {
        let mut system: Vec<_> = system.iter().collect();
        system.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        for (name, value) in system {
            attributes.push(GuestAttribute {
                name: name.as_str().to_owned(),
                data_type: None,
                value: AttributeValue::Str(value.clone()),
            });
        }
    }
    if let Some(custom) = &message.message_attributes {
        let mut custom: Vec<_> = custom.iter().collect();
        custom.sort_by(|a, b| a.0.cmp(b.0));
        for (name, value) in custom {
            let data = match (&value.string_value, &value.binary_value) {
                (Some(s), _) => AttributeValue::Str(s.clone()),
                (None, Some(b)) => AttributeValue::Binary(b.as_ref().to_vec()),
                // Only string and binary values are passed, like the plugin.
                (None, None) => continue,
            };
            attributes.push(GuestAttribute { name: name.clone(), data_type: Some(value.data_type.clone()), value: data });
        }
    }
    GuestMessage { id: message.message_id.clone(), attributes, body: message.body.clone() }
}
