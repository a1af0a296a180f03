//! The email lane's component: a `spin:sqs@3.0.0` guest on the raw-mail event queue.
//!
//! Thin by design: decode the SQS message → [`EmailWorker::from_vars`] → handle → encode its verdict as
//! `delete` / `leave` / error. The lane, its variables and its log lines are in [`tr_core::email::lane`].
//!
//! Variables: `s3_endpoint`, `s3_path_style`, `max_mail_bytes` (default 40 MiB, SES's own limit), and the shared
//! wiring (`tr_spin_glue::wiring`).

spin_sdk::wit_bindgen::generate!({
    world: "spin:sqs/spin-sqs@3.0.0",
    path: "../../wit",
    runtime_path: "spin_sdk::wit_bindgen::rt",
});

use tr_core::email::lane::EmailWorker;
use tr_spin_glue::{SpinVars, Verdict, verdict};

struct EmailComponent;

impl Guest for EmailComponent {
    async fn handle_queue_message(message: Message) -> Result<MessageAction, Error> {
        let id = message.id.unwrap_or_default();
        let Some(body) = message.body else {
            return Err(Error::Other(format!("message {id} has no body; an S3 event was expected")));
        };
        let result = match EmailWorker::from_vars(&SpinVars, tr_spin_glue::wiring().await).await {
            Ok(worker) => worker.handle_message(&id, &body).await,
            Err(e) => Err(e),
        };
        match verdict("email", &id, result) {
            Verdict::Delete => Ok(MessageAction::Delete),
            Verdict::Leave => Ok(MessageAction::Leave),
            Verdict::Error(e) => Err(Error::Other(e)),
        }
    }
}

export!(EmailComponent);
