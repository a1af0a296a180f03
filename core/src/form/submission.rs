//! The form's fields, decoded from either encoding into one shape.
//!
//! Key decisions: both encodings use the same field names (`name`, `email`, `subject`, `message`, `page_url`,
//! `referrer`, `nonce`, `site_key`, the honeypot `website`, and `fill_ms`), so the no-JavaScript form and the
//! embed are one contract. Unknown fields are ignored (a marketing page's form may carry its own); a field given
//! twice is refused, because which one the customer meant cannot be known. Empty strings count as absent.

use serde_json::Value;

/// How the body was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `application/x-www-form-urlencoded`: a plain HTML form, no JavaScript.
    UrlEncoded,
    /// `application/json`: the embed script.
    Json,
}

impl Encoding {
    /// The encoding for a `Content-Type` header's media type, if it is one the form takes.
    pub fn from_content_type(header: Option<&str>) -> Option<Self> {
        let media = header?.split(';').next()?.trim().to_ascii_lowercase();
        match media.as_str() {
            "application/x-www-form-urlencoded" => Some(Encoding::UrlEncoded),
            "application/json" => Some(Encoding::Json),
            _ => None,
        }
    }
}

/// The honeypot's field name: a plausible field people never see and bots fill in.
pub const HONEYPOT_FIELD: &str = "website";

/// What was posted, every field optional until the lane decides what is required.
#[derive(Default, Clone, PartialEq, Eq)]
pub struct FormSubmission {
    pub site_key: Option<String>,
    /// Per-submission key from the embed; retries carry the same one.
    pub nonce: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub subject: Option<String>,
    pub message: Option<String>,
    pub page_url: Option<String>,
    pub referrer: Option<String>,
    pub honeypot: Option<String>,
    /// Milliseconds between the form appearing and being sent, measured by the embed.
    pub fill_ms: Option<u64>,
}

// The site key stays out of Debug: it is a shared secret, however public its page.
impl std::fmt::Debug for FormSubmission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FormSubmission")
            .field("site_key", &self.site_key.as_ref().map(|_| "**redacted**"))
            .field("nonce", &self.nonce)
            .field("email", &self.email)
            .field("subject", &self.subject)
            .field("page_url", &self.page_url)
            .field("fill_ms", &self.fill_ms)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DecodeError {
    pub message: String,
    /// The field at fault, when one is.
    pub field: Option<String>,
}

impl DecodeError {
    fn at(field: &str, message: impl Into<String>) -> Self {
        Self { message: message.into(), field: Some(field.to_owned()) }
    }
}

pub fn decode(encoding: Encoding, body: &[u8]) -> Result<FormSubmission, DecodeError> {
    match encoding {
        Encoding::UrlEncoded => decode_urlencoded(body),
        Encoding::Json => decode_json(body),
    }
}

fn decode_urlencoded(body: &[u8]) -> Result<FormSubmission, DecodeError> {
    if std::str::from_utf8(body).is_err() {
        return Err(DecodeError { message: "the form body is not UTF-8".into(), field: None });
    }
    let mut form = FormSubmission::default();
    for (key, value) in url::form_urlencoded::parse(body) {
        if key == "fill_ms" {
            let ms = value.trim().parse::<u64>().map_err(|_| DecodeError::at("fill_ms", "must be a whole number of milliseconds"))?;
            set_once(&mut form.fill_ms, &key, Some(ms))?;
        } else if let Some(slot) = text_slot(&mut form, &key) {
            set_once(slot, &key, non_empty(&value))?;
        }
    }
    Ok(form)
}

/// A JSON object's members in order, repeats included. A generic JSON object keeps the last of two equal keys,
/// so `{"email":"a@x.com","email":"victim@y.com"}` would choose the customer by a parser's habit; keeping every
/// member lets the decoder refuse the repeat, as the urlencoded decoder does.
struct Members(Vec<(String, Value)>);

impl<'de> serde::Deserialize<'de> for Members {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct InOrder;
        impl<'de> serde::de::Visitor<'de> for InOrder {
            type Value = Members;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry::<String, Value>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(InOrder)
    }
}

fn decode_json(body: &[u8]) -> Result<FormSubmission, DecodeError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| DecodeError { message: format!("the body is not JSON: {e}"), field: None })?;
    if !value.is_object() {
        return Err(DecodeError { message: "the body must be a JSON object".into(), field: None });
    }
    let Members(object) = serde_json::from_slice(body)
        .map_err(|e| DecodeError { message: format!("the body is not JSON: {e}"), field: None })?;
    let mut seen = std::collections::HashSet::new();
    if let Some((key, _)) = object.iter().find(|(key, _)| !seen.insert(key.as_str())) {
        return Err(DecodeError::at(key, "is given more than once"));
    }
    let mut form = FormSubmission::default();
    for (key, value) in &object {
        if key == "fill_ms" {
            form.fill_ms = match value {
                Value::Null => None,
                Value::Number(n) => Some(n.as_u64().ok_or_else(|| DecodeError::at("fill_ms", "must be a whole number of milliseconds"))?),
                _ => return Err(DecodeError::at("fill_ms", "must be a number")),
            };
        } else if let Some(slot) = text_slot(&mut form, key) {
            *slot = match value {
                Value::Null => None,
                Value::String(s) => non_empty(s),
                _ => return Err(DecodeError::at(key, "must be a string")),
            };
        }
    }
    Ok(form)
}

fn text_slot<'a>(form: &'a mut FormSubmission, key: &str) -> Option<&'a mut Option<String>> {
    Some(match key {
        "site_key" => &mut form.site_key,
        "nonce" => &mut form.nonce,
        "name" => &mut form.name,
        "email" => &mut form.email,
        "subject" => &mut form.subject,
        "message" => &mut form.message,
        "page_url" => &mut form.page_url,
        "referrer" => &mut form.referrer,
        HONEYPOT_FIELD => &mut form.honeypot,
        _ => return None,
    })
}

fn set_once<T>(slot: &mut Option<T>, key: &str, value: Option<T>) -> Result<(), DecodeError> {
    if slot.is_some() {
        return Err(DecodeError::at(key, "is given more than once"));
    }
    *slot = value;
    Ok(())
}

fn non_empty(s: &str) -> Option<String> {
    (!s.trim().is_empty()).then(|| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_encodings_decode_to_the_same_submission() {
        let plain = decode(
            Encoding::UrlEncoded,
            b"name=Dana+W&email=dana%40example.com&subject=Billing&message=Charged+twice%0Atoday&page_url=https%3A%2F%2Fexample.com%2Fpricing&website=&extra=kept+out",
        )
        .unwrap();
        let json = decode(
            Encoding::Json,
            br#"{"name":"Dana W","email":"dana@example.com","subject":"Billing","message":"Charged twice\ntoday","page_url":"https://example.com/pricing","website":"","extra":1}"#,
        )
        .unwrap();
        assert_eq!(plain, json);
        assert_eq!(plain.message.as_deref(), Some("Charged twice\ntoday"));
        assert_eq!(plain.honeypot, None);
    }

    #[test]
    fn refusals_name_the_field() {
        let e = decode(Encoding::Json, br#"{"email": 5}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("email"));
        let e = decode(Encoding::UrlEncoded, b"email=a%40b.co&email=c%40d.co").unwrap_err();
        assert_eq!((e.field.as_deref(), e.message.as_str()), (Some("email"), "is given more than once"));
        // A repeated JSON key would otherwise pick the customer by the parser's habit (the last one wins).
        let e = decode(Encoding::Json, br#"{"email":"a@x.com","message":"m","email":"victim@y.com"}"#).unwrap_err();
        assert_eq!((e.field.as_deref(), e.message.as_str()), (Some("email"), "is given more than once"));
        let e = decode(Encoding::UrlEncoded, b"fill_ms=soon").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("fill_ms"));
        assert_eq!(decode(Encoding::Json, b"[1]").unwrap_err().field, None);
        assert!(decode(Encoding::Json, b"{").unwrap_err().message.starts_with("the body is not JSON"));
    }

    #[test]
    fn content_types_map_to_encodings() {
        assert_eq!(Encoding::from_content_type(Some("application/json; charset=utf-8")), Some(Encoding::Json));
        assert_eq!(Encoding::from_content_type(Some("Application/X-WWW-Form-Urlencoded")), Some(Encoding::UrlEncoded));
        assert_eq!(Encoding::from_content_type(Some("multipart/form-data; boundary=x")), None);
        assert_eq!(Encoding::from_content_type(None), None);
    }

    #[test]
    fn the_site_key_never_reaches_debug() {
        let form = FormSubmission { site_key: Some("sk-very-secret".into()), ..Default::default() };
        assert!(!format!("{form:?}").contains("sk-very-secret"));
    }
}
