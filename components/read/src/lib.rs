//! The read component: a `spin:sqs@3.0.0` guest on the ticket queue.
//!
//! Thin by design: load the rules sheet (mounted at `/rules/rules.toml` by spin.toml `files`) → decode the
//! message → [`ReadWorker::from_vars`] → handle → answer `delete` / `leave` / error. The reader's variables, the
//! one model call and the log line are in [`tr_core::reader::lane`]. The model only reads: nothing here can send
//! a reply.
//!
//! Variables: `reader` (`bedrock` | `anthropic` | `openai` | `offline`), `model_id`, `bedrock_endpoint`,
//! `anthropic_endpoint`, `anthropic_api_key`, `openai_endpoint`, `openai_api_key`, `openai_model`,
//! `offline_fallback`, and the shared wiring (`tr_spin_glue::wiring`; `read_queue_url` optional).

spin_sdk::wit_bindgen::generate!({
    world: "spin:sqs/spin-sqs@3.0.0",
    path: "../../wit",
    runtime_path: "spin_sdk::wit_bindgen::rt",
});

use tr_core::guest_failure::GuestFailure;
use tr_core::reader::lane::ReadWorker;
use tr_spin_glue::{SpinVars, Verdict, verdict};

/// Where spin.toml mounts the rules sheet.
const RULES_PATH: &str = "/rules/rules.toml";

struct ReadComponent;

impl Guest for ReadComponent {
    async fn handle_queue_message(message: Message) -> Result<MessageAction, Error> {
        let id = message.id.unwrap_or_default();
        let Some(body) = message.body else {
            return Err(Error::Other(format!("message {id} has no body; a ticket was expected")));
        };
        match verdict("read", &id, run(&body).await) {
            Verdict::Delete => Ok(MessageAction::Delete),
            Verdict::Leave => Ok(MessageAction::Leave),
            Verdict::Error(e) => Err(Error::Other(e)),
        }
    }
}

async fn run(body: &str) -> Result<(), GuestFailure> {
    let sheet = std::fs::read_to_string(RULES_PATH).map_err(|e| GuestFailure::Other(format!("rules sheet {RULES_PATH}: {e}")))?;
    let worker = ReadWorker::from_vars(&SpinVars, tr_spin_glue::wiring().await, &sheet, RULES_PATH).await?;
    worker.handle_message(body).await.map(drop)
}

export!(ReadComponent);
