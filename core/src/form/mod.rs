//! The web form lane minus its trigger: what a "Contact support" form posts, and the guards a public endpoint on
//! other sites' pages needs before any of it becomes a ticket.
//!
//! | file | job |
//! |---|---|
//! | [`submission`] | the posted fields, decoded alike from a plain HTML form (urlencoded) and the embed (JSON) |
//! | [`origin`] | the origin allow-list and the CORS headers an allowed page gets |
//! | [`junk`] | site key (constant time), honeypot and minimum fill time |
//! | [`client_address`] | the client behind a post: the peer, or `X-Forwarded-For` from a trusted proxy |
//! | [`rate_limit`] | a per-client-address fixed window on the key-value store |
//! | [`html_page`] | the small accessible page a plain form post gets instead of JSON |
//! | [`reply`] | JSON for the embed, a page for a plain post, from one error |
//! | [`lane`] | the guards in order ([`lane::accept`]), then submission → ticket → store → queue |
//! | [`endpoint`] | the component's routes: submit, preflight, `embed.js`, `check` |
//!
//! Key decision: the order of checks is cheapest-and-most-telling first — origin, content type, size, rate limit,
//! decode, site key, then the bot checks — so a refused request costs at most two key-value operations and never
//! reaches the store.

pub mod client_address;
pub mod endpoint;
pub mod html_page;
pub mod junk;
pub mod lane;
pub mod origin;
pub mod rate_limit;
pub mod reply;
pub mod submission;

pub use client_address::{TrustedProxies, client_address};
pub use junk::{BotVerdict, bot_verdict, check_site_key};
pub use origin::AllowedOrigins;
pub use rate_limit::{RateLimit, RateLimiter};
pub use submission::{Encoding, FormSubmission, decode};
