//! `allowed_outbound_hosts`: which outbound requests a component may make.
//!
//! Patterns are `scheme://host[:port]` as in Spin: `*` may stand for the scheme, the whole host, a leading host
//! label set (`*.amazonaws.com`) or the port; without a port the scheme's default applies (80 / 443). Templates
//! (`{{ endpoint }}`) are expanded with the application's variables before parsing. A request no pattern allows
//! is refused before any connection is made, with an error the guest sees.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHosts(Vec<HostPattern>);

#[derive(Debug, Clone, PartialEq, Eq)]
struct HostPattern {
    scheme: Option<String>,
    host: HostMatch,
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostMatch {
    Any,
    Exact(String),
    /// `*.example.com` → matches `a.example.com`, `b.c.example.com`, not `example.com`.
    Subdomain(String),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("allowed_outbound_hosts entry `{pattern}`: {reason}")]
pub struct PatternError {
    pub pattern: String,
    pub reason: String,
}

fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        _ => None,
    }
}

impl AllowedHosts {
    pub fn parse(patterns: &[String]) -> Result<Self, PatternError> {
        patterns.iter().map(|p| parse_one(p)).collect::<Result<_, _>>().map(Self)
    }

    pub fn allows(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
        let Some(port) = port.or_else(|| default_port(scheme)) else { return false };
        self.0.iter().any(|p| {
            p.scheme.as_deref().is_none_or(|s| s == scheme)
                && match &p.host {
                    HostMatch::Any => true,
                    HostMatch::Exact(h) => *h == host,
                    HostMatch::Subdomain(suffix) => host.ends_with(&format!(".{suffix}")),
                }
                && p.port.is_none_or(|allowed| allowed == port)
        })
    }
}

fn parse_one(pattern: &str) -> Result<HostPattern, PatternError> {
    let err = |reason: &str| PatternError { pattern: pattern.to_owned(), reason: reason.to_owned() };
    let (scheme, rest) = pattern.split_once("://").ok_or_else(|| err("must be scheme://host[:port]"))?;
    let rest = rest.trim_end_matches('/');
    if rest.contains('/') {
        return Err(err("must not contain a path"));
    }
    let scheme = match scheme {
        "*" => None,
        s if s.chars().all(|c| c.is_ascii_lowercase()) && !s.is_empty() => Some(s.to_owned()),
        _ => return Err(err("the scheme must be lower-case letters or *")),
    };
    let (host, port) = match rest.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (h, Some(p)),
        _ => (rest, None),
    };
    let port = match port {
        Some("*") => None,
        Some(p) => Some(p.parse::<u16>().map_err(|_| err("the port must be a number or *"))?),
        None => match &scheme {
            Some(s) => Some(default_port(s).ok_or_else(|| err("give a port for this scheme"))?),
            None => None,
        },
    };
    let host = host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    let host = if host == "*" {
        HostMatch::Any
    } else if let Some(suffix) = host.strip_prefix("*.") {
        HostMatch::Subdomain(suffix.to_owned())
    } else if host.is_empty() || host.contains('*') {
        return Err(err("the host must be a name, an address, *, or *.domain"));
    } else {
        HostMatch::Exact(host)
    };
    Ok(HostPattern { scheme, host, port })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(patterns: &[&str]) -> AllowedHosts {
        AllowedHosts::parse(&patterns.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn exact_default_ports() {
        let a = allowed(&["https://sqs.us-east-1.amazonaws.com"]);
        assert!(a.allows("https", "sqs.us-east-1.amazonaws.com", None));
        assert!(a.allows("https", "SQS.us-east-1.amazonaws.com", Some(443)));
        assert!(!a.allows("https", "sqs.us-east-1.amazonaws.com", Some(8443)));
        assert!(!a.allows("http", "sqs.us-east-1.amazonaws.com", None));
        assert!(!a.allows("https", "evil.com", None));
    }

    #[test]
    fn wildcards() {
        let a = allowed(&["https://*.amazonaws.com", "http://127.0.0.1:*", "*://localhost:4566"]);
        assert!(a.allows("https", "bedrock-runtime.us-east-1.amazonaws.com", None));
        assert!(!a.allows("https", "amazonaws.com", None));
        assert!(!a.allows("https", "evilamazonaws.com", None));
        assert!(a.allows("http", "127.0.0.1", Some(9999)));
        assert!(a.allows("https", "localhost", Some(4566)));
        assert!(!a.allows("http", "localhost", Some(4567)));
        assert!(allowed(&["*://*:*"]).allows("http", "anything", Some(1)));
        assert!(!allowed(&[]).allows("http", "anything", Some(1)));
    }

    #[test]
    fn bad_patterns() {
        for p in ["example.com", "https://example.com/path", "https://ex*ample.com", "ftp://example.com", "https://x:port"] {
            assert!(AllowedHosts::parse(&[p.to_string()]).is_err(), "{p}");
        }
    }
}
