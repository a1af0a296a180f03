//! The Chatwoot conversation's messages, fetched from its API: the webhook carries only the last message.
//!
//! Key decisions: the fetch runs only when `chatwoot_api_token` is set (with `chatwoot_api_url`, the instance's
//! origin, also in the component's `allowed_outbound_hosts`); without it the transcript is the webhook's one
//! message, and a log line says so. A network failure or 5xx is a 503 (Chatwoot's job may retry; nothing is
//! kept half); a refused token is the operator's to fix (500); a 404 (the conversation was deleted meanwhile)
//! falls back to the webhook's message.

use tr_core::Transport;
use tr_core::chat::adapters::chatwoot;
use tr_core::http_answer::ApiError;
use tr_spin_glue::{SpinTransport, optional};

use crate::{RETRY_AFTER_SECONDS, adapter_error, not_configured};

/// The messages list (the API's JSON body) for a webhook, or `None` when there is none to fetch.
pub async fn fetch(body: &[u8]) -> Result<Option<Vec<u8>>, ApiError> {
    let Some(token) = optional("chatwoot_api_token").await.filter(|t| !t.trim().is_empty()) else {
        println!("[chat] chatwoot_api_token is not set: the transcript is the webhook's last message only");
        return Ok(None);
    };
    let default_account = match optional("chatwoot_account_id").await.filter(|a| !a.trim().is_empty()) {
        Some(a) => Some(a.trim().parse::<u64>().map_err(|_| not_configured("chatwoot_account_id is not a number"))?),
        None => None,
    };
    let Some(path) = chatwoot::history_path(body, default_account).map_err(adapter_error)? else { return Ok(None) };
    let origin = optional("chatwoot_api_url").await.ok_or_else(|| not_configured("chatwoot_api_url is not set"))?;
    let url = format!("{}{path}", origin.trim_end_matches('/'));
    let request = http::Request::get(&url)
        .header("api_access_token", token.trim())
        .header("accept", "application/json")
        .body(Vec::new())
        .map_err(|_| not_configured("chatwoot_api_url is not a URL"))?;
    let unavailable = |why: String| {
        println!("[chat] Chatwoot messages not fetched, answered 503: {why}");
        ApiError::unavailable(RETRY_AFTER_SECONDS)
    };
    let response = SpinTransport.send(request).await.map_err(|e| unavailable(e.to_string()))?;
    match response.status().as_u16() {
        200 => Ok(Some(response.into_body())),
        401 | 403 => Err(not_configured("Chatwoot refused chatwoot_api_token for this conversation's messages")),
        404 => {
            println!("[chat] Chatwoot has no messages at {path} (deleted?): the webhook's message only");
            Ok(None)
        }
        status => Err(unavailable(format!("HTTP {status} from {path}"))),
    }
}
