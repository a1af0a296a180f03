//! Which pages may post to the form, and the CORS headers they get.
//!
//! Key decisions: origins are compared in their serialised form (`scheme://host[:port]`, lower case, default
//! port dropped), so `https://Example.com:443/` in the variable matches the browser's `https://example.com`. A
//! request without `Origin`, or with the opaque `null` origin, is refused: every browser sends `Origin` on a
//! cross-origin POST, and a server-side sender can set it. There is no wildcard — a public form accepting every
//! origin is exactly what lets junk in.

use crate::http_answer::ApiError;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedOrigins(Vec<String>);

/// How long a browser may cache a successful preflight.
const PREFLIGHT_MAX_AGE_SECONDS: u32 = 600;

impl AllowedOrigins {
    /// Parses the `form_allowed_origins` variable: origins separated by commas or whitespace.
    pub fn parse(list: &str) -> Result<Self, String> {
        let mut origins = Vec::new();
        for item in list.split([',', ' ', '\n', '\t']).map(str::trim).filter(|s| !s.is_empty()) {
            origins.push(serialise(item).ok_or_else(|| format!("`{item}` is not an origin like https://www.example.com"))?);
        }
        Ok(Self(origins))
    }

    /// The request's origin, serialised, when it is on the list; else 403 saying which origin was refused.
    pub fn check(&self, origin: Option<&str>) -> Result<String, ApiError> {
        let refuse = |message: String| Err(ApiError::new(403, "origin_not_allowed", message).at("Origin"));
        let Some(raw) = origin.map(str::trim).filter(|o| !o.is_empty() && *o != "null") else {
            return refuse("the request has no Origin; the form only takes posts from the pages it is embedded on".into());
        };
        match serialise(raw) {
            Some(origin) if self.0.contains(&origin) => Ok(origin),
            _ => refuse(format!("pages on {raw} are not allowed to post to this form")),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Headers for a response to an allowed origin; `preflight` adds what an `OPTIONS` answer needs.
pub fn cors_headers(origin: &str, preflight: bool) -> Vec<(&'static str, String)> {
    let mut headers = vec![("access-control-allow-origin", origin.to_owned()), ("vary", "Origin".to_owned())];
    if preflight {
        headers.push(("access-control-allow-methods", "POST".to_owned()));
        headers.push(("access-control-allow-headers", "content-type, accept".to_owned()));
        headers.push(("access-control-max-age", PREFLIGHT_MAX_AGE_SECONDS.to_string()));
    } else {
        headers.push(("access-control-expose-headers", "retry-after".to_owned()));
    }
    headers
}

fn serialise(origin: &str) -> Option<String> {
    let url = url::Url::parse(origin).ok()?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return None;
    }
    if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
        return None;
    }
    Some(url.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_match_in_serialised_form() {
        let allowed = AllowedOrigins::parse("https://Example.com:443/, http://127.0.0.1:8080").unwrap();
        assert_eq!(allowed.check(Some("https://example.com")).unwrap(), "https://example.com");
        assert_eq!(allowed.check(Some("http://127.0.0.1:8080")).unwrap(), "http://127.0.0.1:8080");
        for refused in [Some("http://example.com"), Some("https://example.com.evil.test"), Some("http://localhost:8080"), Some("null"), None] {
            let e = allowed.check(refused).unwrap_err();
            assert_eq!((e.status, e.code), (403, "origin_not_allowed"), "{refused:?}");
        }
    }

    #[test]
    fn the_list_refuses_what_is_not_an_origin() {
        assert!(AllowedOrigins::parse("https://example.com/pricing").is_err());
        assert!(AllowedOrigins::parse("example.com").is_err());
        assert!(AllowedOrigins::parse("*").is_err());
        assert!(AllowedOrigins::parse("").unwrap().is_empty());
    }

    #[test]
    fn preflight_answers_say_what_may_be_sent() {
        let h = cors_headers("https://example.com", true);
        let get = |n: &str| h.iter().find(|(k, _)| *k == n).map(|(_, v)| v.as_str());
        assert_eq!(get("access-control-allow-origin"), Some("https://example.com"));
        assert_eq!(get("access-control-allow-methods"), Some("POST"));
        assert!(get("access-control-allow-headers").unwrap().contains("content-type"));
    }
}
