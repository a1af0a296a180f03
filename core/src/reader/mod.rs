//! The read stage's core: the rules sheet, the one model request per ticket, the strict answer check, the
//! offline reader, and the lane that ties them to the store.
//!
//! The model only reads. No prompt asks it for a reply, its only output is one JSON object of three enum fields
//! (the provider's JSON-schema output), and nothing here sends anything to a customer.
//!
//! Files:
//! - [`rules_sheet`]: TOML topics and labelled examples, validated with file:line errors.
//! - [`prompt`]: system prompt, ticket text under a budget, the answer's JSON schema (Anthropic and OpenAI dialects).
//! - [`answer`]: response → reading, strictly; token usage.
//! - [`model_client`]: Bedrock InvokeModel (SigV4 `bedrock`), Anthropic Messages, OpenAI-compatible.
//! - [`offline`]: the deterministic reader (no network).
//! - [`lane`]: one ticket message → at most two model calls → tags on the stored ticket.
//! - [`eval`]: `tr-intake eval`'s figures: the reader over labelled tickets (the sheet's own, leave-one-out, and a
//!   team's CSV/JSONL), agreement, confusion, unsure rate, tokens and cost.

pub mod answer;
pub mod eval;
pub mod lane;
pub mod model_client;
pub mod offline;
pub mod prompt;
pub mod rules_sheet;

pub use rules_sheet::{RulesError, RulesSheet, UNSURE};
