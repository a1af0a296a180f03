//! The model's answer, checked strictly: exactly topic, urgency and tone, each from its set — or an error.
//!
//! Key decision: nothing is repaired or guessed. A topic outside the sheet, a missing field, an extra field,
//! prose instead of the JSON object: all are [`AnswerError`]; the caller retries once, then records `unsure` with
//! the `read-error` flag. The provider's schema constraint is not trusted on its own: Anthropic documents that a
//! refusal or a `max_tokens` stop can break it, and an OpenAI-compatible server may ignore `response_format`.
//! Both response dialects are read: Anthropic Messages (Bedrock InvokeModel and the Anthropic API: a `text`
//! block whose text is the JSON object) and OpenAI chat completions (`message.content` is the JSON object).

use serde_json::{Map, Value};

use super::rules_sheet::RulesSheet;
use crate::ticket::{Reading, Tone, Urgency};

/// Tokens the provider reports for one call.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub input_tokens: u64,
    pub output_tokens: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("the response is not JSON: {0}")]
    NotJson(String),
    #[error("the model gave no JSON object as its answer")]
    NoAnswer,
    #[error("the answer is invalid: {0}")]
    Invalid(String),
}

/// Anthropic Messages response → reading (+ usage, reported even when the reading is invalid).
pub fn parse_messages_response(body: &[u8], sheet: &RulesSheet) -> (Result<Reading, AnswerError>, Usage) {
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return (Err(AnswerError::NotJson(e.to_string())), Usage::default()),
    };
    let usage = Usage {
        input_tokens: value["usage"]["input_tokens"].as_u64().unwrap_or(0),
        output_tokens: value["usage"]["output_tokens"].as_u64().unwrap_or(0),
    };
    // Only `text` blocks: the request defines no tools, so a `tool_use` block is not an answer.
    let blocks = value["content"].as_array().cloned().unwrap_or_default();
    let mut texts = blocks.iter().filter(|b| b["type"] == "text").filter_map(|b| b["text"].as_str());
    let answer = match texts.find_map(json_in_text) {
        Some(v) => v,
        None => return (Err(AnswerError::NoAnswer), usage),
    };
    (check(&answer, sheet), usage)
}

/// OpenAI chat-completions response → reading (+ usage).
pub fn parse_openai_response(body: &[u8], sheet: &RulesSheet) -> (Result<Reading, AnswerError>, Usage) {
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => return (Err(AnswerError::NotJson(e.to_string())), Usage::default()),
    };
    let usage = Usage {
        input_tokens: value["usage"]["prompt_tokens"].as_u64().unwrap_or(0),
        output_tokens: value["usage"]["completion_tokens"].as_u64().unwrap_or(0),
    };
    let answer = match value["choices"][0]["message"]["content"].as_str().and_then(json_in_text) {
        Some(v) => v,
        None => return (Err(AnswerError::NoAnswer), usage),
    };
    (check(&answer, sheet), usage)
}

/// A JSON object that is the whole text (possibly fenced in ```).
fn json_in_text(text: &str) -> Option<Value> {
    let t = text.trim().trim_start_matches("```json").trim_start_matches("```").trim_end_matches("```").trim();
    serde_json::from_str::<Value>(t).ok().filter(Value::is_object)
}

/// The strict check.
pub fn check(answer: &Value, sheet: &RulesSheet) -> Result<Reading, AnswerError> {
    let Some(obj) = answer.as_object() else { return Err(AnswerError::Invalid(format!("not an object: {answer}"))) };
    let extra: Vec<&String> = obj.keys().filter(|k| !["topic", "urgency", "tone"].contains(&k.as_str())).collect();
    if !extra.is_empty() {
        return Err(AnswerError::Invalid(format!("unexpected fields {extra:?}")));
    }
    let field = |name: &str, obj: &Map<String, Value>| -> Result<String, AnswerError> {
        obj.get(name)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| AnswerError::Invalid(format!("`{name}` missing or not a string")))
    };
    let topic = field("topic", obj)?;
    if !sheet.has_topic(&topic) {
        return Err(AnswerError::Invalid(format!("topic `{topic}` is not on the rules sheet")));
    }
    let urgency: Urgency = serde_json::from_value(Value::String(field("urgency", obj)?))
        .map_err(|_| AnswerError::Invalid(format!("urgency `{}` is not low, medium or high", obj["urgency"])))?;
    let tone: Tone = serde_json::from_value(Value::String(field("tone", obj)?))
        .map_err(|_| AnswerError::Invalid(format!("tone `{}` is not calm, confused or angry", obj["tone"])))?;
    Ok(Reading { topic, urgency, tone })
}
