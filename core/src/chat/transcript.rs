//! The generic chat transcript: the one JSON shape the chat lane accepts, documented as a JSON Schema in
//! `docs/chat-transcript.schema.json` (a test holds the two together).
//!
//! Key decisions:
//! - Times are RFC 3339 with an offset, parsed here, so a bad time is refused at decoding with its JSON path
//!   (`$.messages[2].time`) rather than surfacing later as a vague folding error.
//! - Unknown fields are ignored (the schema allows them too): a chat tool may add fields without breaking us.
//! - Decoding errors carry the JSON path ([`DecodeError::path`]) so the component can answer 400 naming it.
//! - Values are checked only as far as decoding needs; addresses, URLs and lengths are the normaliser's job.

use serde::{Deserialize, Deserializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Longest conversation id, in characters: the ticket's transcript-id limit ([`crate::Limits::transcript_id`]).
pub const CONVERSATION_ID_MAX: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Transcript {
    /// The chat tool's id for the conversation; the lane's idempotency key is `chat:` + this.
    #[serde(deserialize_with = "conversation_id")]
    pub conversation_id: String,
    /// A subject the chat tool knows (a pre-chat form's topic); most have none.
    #[serde(default)]
    pub subject: Option<String>,
    pub visitor: Visitor,
    #[serde(default)]
    pub page_url: Option<String>,
    #[serde(deserialize_with = "rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(deserialize_with = "rfc3339")]
    pub ended_at: OffsetDateTime,
    /// The chat tool's own verdict: the visitor's question was answered.
    pub resolved: bool,
    pub messages: Vec<Message>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct Visitor {
    #[serde(default)]
    pub name: Option<String>,
    /// Absent for an anonymous visitor: the ticket is then marked anonymous and never merged by identity.
    #[serde(default)]
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Message {
    pub role: Role,
    #[serde(default)]
    pub name: Option<String>,
    pub text: String,
    #[serde(deserialize_with = "rfc3339")]
    pub time: OffsetDateTime,
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Visitor,
    Agent,
    Bot,
}

/// A transcript that could not be decoded, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct DecodeError {
    /// `$` for the document itself, else `$.messages[2].time` style.
    pub path: String,
    pub message: String,
}

/// Decodes a generic transcript from the raw request body.
pub fn decode(body: &[u8]) -> Result<Transcript, DecodeError> {
    decode_json(body)
}

/// Decodes any JSON document, naming the path of the first error. Shared with the vendor adapters.
pub(crate) fn decode_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, DecodeError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        DecodeError { path: json_path(&path), message }
    })?;
    // Trailing bytes after the document are as malformed as a broken document.
    de.end().map_err(|e| DecodeError { path: "$".into(), message: e.to_string() })?;
    Ok(value)
}

/// serde_path_to_error writes `.` for the root, `messages[2].time` or `[0]` below it.
fn json_path(path: &str) -> String {
    match path {
        "." => "$".to_owned(),
        p if p.starts_with('[') => format!("${p}"),
        p => format!("$.{p}"),
    }
}

fn rfc3339<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
    let raw = String::deserialize(d)?;
    OffsetDateTime::parse(&raw, &Rfc3339)
        .map_err(|e| serde::de::Error::custom(format!("{raw:?} is not an RFC 3339 time ({e})")))
}

fn conversation_id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let id = String::deserialize(d)?;
    let count = id.chars().count();
    if count == 0 || count > CONVERSATION_ID_MAX {
        return Err(serde::de::Error::custom(format!("must be 1 to {CONVERSATION_ID_MAX} characters")));
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{
        "conversation_id": "c-1",
        "visitor": {"name": "Ana", "email": "ana@example.com"},
        "page_url": "https://example.com/pricing",
        "started_at": "2026-11-26T10:02:00Z",
        "ended_at": "2026-11-26T10:09:30+01:00",
        "resolved": false,
        "messages": [{"role": "visitor", "text": "My invoice is wrong", "time": "2026-11-26T10:02:10Z"}],
        "extra": "ignored"
    }"#;

    #[test]
    fn decodes_the_documented_shape() {
        let t = decode(GOOD.as_bytes()).unwrap();
        assert_eq!(t.conversation_id, "c-1");
        assert_eq!(t.visitor.email.as_deref(), Some("ana@example.com"));
        assert_eq!(t.ended_at.offset().whole_hours(), 1);
        assert_eq!(t.messages[0].role, Role::Visitor);
        assert_eq!(t.subject, None);
    }

    #[test]
    fn errors_name_the_json_path() {
        let bad_time = GOOD.replace("2026-11-26T10:02:10Z", "yesterday");
        assert_eq!(decode(bad_time.as_bytes()).unwrap_err().path, "$.messages[0].time");
        let bad_role = GOOD.replace(r#""role": "visitor""#, r#""role": "customer""#);
        assert_eq!(decode(bad_role.as_bytes()).unwrap_err().path, "$.messages[0].role");
        let no_visitor = GOOD.replace(r#""visitor": {"name": "Ana", "email": "ana@example.com"},"#, "");
        let err = decode(no_visitor.as_bytes()).unwrap_err();
        assert_eq!(err.path, "$");
        assert!(err.message.contains("visitor"), "{err}");
        assert_eq!(decode(b"{\"conversation_id\": 7}").unwrap_err().path, "$.conversation_id");
        assert_eq!(decode(b"not json").unwrap_err().path, "$");
        assert_eq!(decode(b"[1, 2]").unwrap_err().path, "$[0]");
        assert_eq!(decode(format!("{GOOD} {{}}").as_bytes()).unwrap_err().path, "$");
    }

    #[test]
    fn conversation_id_is_bounded() {
        let empty = GOOD.replace(r#""c-1""#, r#""""#);
        assert_eq!(decode(empty.as_bytes()).unwrap_err().path, "$.conversation_id");
        let long = GOOD.replace(r#""c-1""#, &format!("\"{}\"", "é".repeat(CONVERSATION_ID_MAX + 1)));
        assert_eq!(decode(long.as_bytes()).unwrap_err().path, "$.conversation_id");
        let longest = GOOD.replace(r#""c-1""#, &format!("\"{}\"", "é".repeat(CONVERSATION_ID_MAX)));
        assert!(decode(longest.as_bytes()).is_ok());
    }
}
