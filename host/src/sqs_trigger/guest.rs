//! Runs one SQS message through a `spin:sqs@3.0.0` guest: a fresh instance, the async export
//! `handle-queue-message`, its answer mapped to an [`Outcome`]. A trap is an outcome too (the message stays).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use wasmtime::Engine;

use crate::runtime::{ComponentEnv, Ctx, new_store};
use super::bindings::SpinSqsPre;
use super::bindings::spin::sqs::sqs_types::{
    Error as GuestError, Message, MessageAction, MessageAttribute, MessageAttributeValue,
};
use super::poller::{AttributeValue, Dispatch, Dispatched, GuestMessage, Outcome};

pub struct SqsComponent {
    pub pre: SpinSqsPre<Ctx>,
    pub env: Arc<ComponentEnv>,
}

pub struct SqsGuests {
    pub engine: Engine,
    pub components: HashMap<String, SqsComponent>,
    /// Guest CPU limit per message (waiting on I/O does not count; the lease is renewed meanwhile).
    pub cpu_limit: Duration,
    /// Each instance's memory limit in bytes; a guest that needs more traps and its message is left.
    pub memory_limit: usize,
}

impl Dispatch for SqsGuests {
    async fn dispatch(&self, component: &str, message: GuestMessage) -> Dispatched {
        let Some(c) = self.components.get(component) else {
            return Outcome::Failed(format!("no component {component}")).into();
        };
        let mut instantiate = None;
        let outcome = match self.call(c, message, &mut instantiate).await {
            Ok(Ok(MessageAction::Delete)) => Outcome::Delete,
            Ok(Ok(MessageAction::Leave)) => Outcome::Leave,
            Ok(Err(GuestError::Other(e))) => Outcome::GuestError(e),
            Err(e) => Outcome::Failed(format!("{e:#}")),
        };
        Dispatched { outcome, instantiate }
    }
}

impl SqsGuests {
    async fn call(
        &self,
        c: &SqsComponent,
        message: GuestMessage,
        instantiate: &mut Option<Duration>,
    ) -> wasmtime::Result<Result<MessageAction, GuestError>> {
        let mut store = new_store(&self.engine, &c.env, self.cpu_limit, self.memory_limit)?;
        let instantiating = std::time::Instant::now();
        let guest = c.pre.instantiate_async(&mut store).await?;
        *instantiate = Some(instantiating.elapsed());
        let message = Message {
            id: message.id,
            message_attributes: message
                .attributes
                .into_iter()
                .map(|a| MessageAttribute {
                    name: a.name,
                    data_type: a.data_type,
                    value: match a.value {
                        AttributeValue::Str(s) => MessageAttributeValue::Str(s),
                        AttributeValue::Binary(b) => MessageAttributeValue::Binary(b),
                    },
                })
                .collect(),
            body: message.body,
        };
        let answer = store.run_concurrent(async |accessor| guest.call_handle_queue_message(accessor, message).await).await??;
        Ok(answer)
    }
}
