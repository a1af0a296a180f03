//! The chat lane's component: a Spin HTTP component (spin-sdk 7) that takes a finished conversation and makes
//! it one ticket.
//!
//! Thin by design: decode (the request's parts and body) → [`ChatEndpoint::from_vars`] → serve → encode. The
//! routes (`/`, `/tawk`, `/chatwoot`), the guards, the vendor dispatch and Chatwoot's fetch are in
//! [`tr_core::chat::lane`], tested natively.
//!
//! Variables: `chat_secret`, `tawk_webhook_secret`, `chatwoot_webhook_secret`, `chatwoot_api_token` (secrets),
//! `chatwoot_api_url`, `chatwoot_account_id`, `chat_resolved_policy` (`acknowledge` | `create`), and the shared
//! wiring (`tr_spin_glue::wiring`).

use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;
use tr_core::chat::lane::ChatEndpoint;
use tr_spin_glue::SpinVars;

#[http_service]
async fn handle(req: Request) -> anyhow::Result<impl IntoResponse> {
    let (parts, body) = req.into_parts();
    let endpoint = ChatEndpoint::from_vars(&SpinVars, tr_spin_glue::wiring().await).await;
    Ok(endpoint.serve(&parts, body).await.into_response()?)
}
