//! The web form lane's component: a Spin HTTP component (spin-sdk 7) behind the "Contact support" form that
//! marketing pages on other origins embed, and the server of that embed's script.
//!
//! Thin by design: decode (the request's parts and body) → [`FormEndpoint::from_vars`] → serve → encode. The
//! routes, the guard order and every answer are in [`tr_core::form`] (`endpoint.rs`, `lane.rs`), tested natively.
//!
//! Variables: `form_site_key` (secret), `form_allowed_origins`, `form_min_fill_seconds`, `form_rate_limit`,
//! `form_trusted_proxies`, and the shared wiring (`tr_spin_glue::wiring`).

use spin_sdk::http::{IntoResponse, Request};
use spin_sdk::http_service;
use tr_core::form::endpoint::FormEndpoint;
use tr_spin_glue::SpinVars;

/// The embed, served as is: no build step, no dependencies.
const EMBED_JS: &str = include_str!("../assets/embed.js");

#[http_service]
async fn handle(req: Request) -> anyhow::Result<impl IntoResponse> {
    let (parts, body) = req.into_parts();
    let endpoint = FormEndpoint::from_vars(&SpinVars, tr_spin_glue::wiring().await, EMBED_JS).await;
    Ok(endpoint.serve(&parts, body).await.into_response()?)
}
