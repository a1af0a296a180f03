//! The SQS trigger (the trigger-sqs plugin): `[[trigger.sqs]]` queues polled with the AWS SDK ([`poller`]),
//! each message run through a fresh instance of a `spin:sqs@3.0.0` guest ([`guest`]).
//!
//! Key decision: the poller knows only the [`Dispatch`] trait, not wasmtime, so its bounds (in-flight slots,
//! deadline, lease renewal) are tested with a plain closure; [`guest`] is the wasmtime implementation.

mod bindings;
pub mod guest;
pub mod poller;

pub use bindings::SpinSqsPre;
pub use guest::{SqsComponent, SqsGuests};
pub use poller::{
    AttributeValue, Dispatch, Dispatched, GuestAttribute, GuestMessage, HANDLER_DEADLINE, IN_FLIGHT, Outcome, TriggerLimits, client_from_env,
    run, run_with,
};
