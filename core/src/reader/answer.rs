//! The model's answer, checked strictly: exactly topic, urgency and tone, each from its set — or an error.
//!
//! Key decision: nothing is repaired or guessed. A topic outside the sheet, a missing field, an extra field,
//! prose instead of the tool call: all are [`AnswerError`]; the caller retries once, then records `unsure` with the
//! `read-error` flag. Both response dialects are read: Anthropic Messages (Bedrock InvokeModel and the Anthropic
//! API: a `tool_use` block) and OpenAI chat completions (a `tool_calls` function whose arguments are a JSON string).

use serde_json::{Map, Value};

use super::prompt::TOOL_NAME;
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
    #[error("the model did not call {TOOL_NAME} (and gave no JSON answer)")]
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
    let blocks = value["content"].as_array().cloned().unwrap_or_default();
    let tool = blocks.iter().find(|b| b["type"] == "tool_use" && b["name"] == TOOL_NAME).map(|b| b["input"].clone());
    let answer = match tool {
        Some(input) => input,
        None => match blocks.iter().filter_map(|b| b["text"].as_str()).find_map(json_in_text) {
            Some(v) => v,
            None => return (Err(AnswerError::NoAnswer), usage),
        },
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
    let message = &value["choices"][0]["message"];
    let from_tool = message["tool_calls"]
        .as_array()
        .and_then(|calls| calls.iter().find(|c| c["function"]["name"] == TOOL_NAME))
        .and_then(|c| c["function"]["arguments"].as_str())
        .and_then(|args| serde_json::from_str::<Value>(args).ok());
    let answer = match from_tool.or_else(|| message["content"].as_str().and_then(json_in_text)) {
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
