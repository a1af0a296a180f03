//! SigV4 verification: rebuild the canonical request from what arrived, re-sign it with the local secret, and
//! compare in constant time.
//!
//! Key decisions: the canonical request is rebuilt from the request *as received* (raw path, raw query, the
//! headers the client listed in `SignedHeaders`), following the rules `aws-sigv4` signs by, so any SDK request
//! verifies and any tampering does not. S3 signs its path once-encoded and sends the payload hash in
//! `x-amz-content-sha256` (checked against the body unless `UNSIGNED-PAYLOAD`/streaming-unsigned); every other
//! service double-encodes the path and hashes the body itself. Presigned URLs are not supported. The checks that
//! need only headers (shape of `Authorization`, key id, `x-amz-date` window and scope date, payload mode) are
//! [`precheck`], which the server runs before reading a body; [`verify`] runs it again and then the signature.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use crate::config::LocalCredentials;

type HmacSha256 = Hmac<Sha256>;

/// Requests dated further than this from our clock are refused, as AWS does.
const MAX_SKEW_SECONDS: i64 = 15 * 60;

pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
pub const STREAMING_UNSIGNED_TRAILER: &str = "STREAMING-UNSIGNED-PAYLOAD-TRAILER";

/// Why a request was refused; rendered per protocol by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthFailure {
    /// No `Authorization` header (or not SigV4).
    Missing,
    /// The header is there but cannot be parsed.
    Malformed(String),
    /// The access key id is not the configured one.
    UnknownKey,
    /// The recomputed signature differs.
    SignatureMismatch,
    /// `x-amz-date` is missing, unparsable, or too far from now.
    BadTime(String),
    /// S3: `x-amz-content-sha256` does not match the body.
    PayloadHashMismatch,
}

/// What a verified request claimed in its credential scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub service: String,
    pub region: String,
    pub access_key_id: String,
}

struct AuthHeader<'a> {
    access_key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

fn parse_authorization(value: &str) -> Result<AuthHeader<'_>, AuthFailure> {
    let rest = value
        .strip_prefix("AWS4-HMAC-SHA256 ")
        .ok_or(AuthFailure::Missing)?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let malformed = |what: &str| AuthFailure::Malformed(format!("Authorization header: {what}"));
    let credential = credential.ok_or_else(|| malformed("no Credential"))?;
    let scope: Vec<&str> = credential.split('/').collect();
    let name = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    let well_formed = scope.len() == 5
        && !scope[0].is_empty()
        && scope[1].len() == 8
        && scope[1].bytes().all(|b| b.is_ascii_digit())
        && name(scope[2])
        && name(scope[3])
        && scope[4] == "aws4_request";
    if !well_formed {
        return Err(malformed(
            "Credential is not KEY/YYYYMMDD/REGION/SERVICE/aws4_request",
        ));
    }
    let signed_headers: Vec<&str> = signed
        .ok_or_else(|| malformed("no SignedHeaders"))?
        .split(';')
        .collect();
    if signed_headers.iter().any(|h| h.is_empty()) {
        return Err(malformed("empty name in SignedHeaders"));
    }
    let signature = signature.ok_or_else(|| malformed("no Signature"))?;
    if signature.len() != 64 || !signature.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(malformed("Signature is not 64 hex digits"));
    }
    Ok(AuthHeader {
        access_key_id: scope[0],
        date: scope[1],
        region: scope[2],
        service: scope[3],
        signed_headers,
        signature,
    })
}

/// What the headers alone establish: a well-formed SigV4 header for our key, dated within the skew window.
pub struct Prechecked<'a> {
    auth: AuthHeader<'a>,
    amz_date: &'a str,
    /// `x-amz-content-sha256` if sent and not a hash to check against the body.
    unsigned_payload: Option<&'a str>,
}

/// Everything that can be refused before a body byte is read: a missing or malformed `Authorization`, an unknown
/// key, a missing, skewed or inconsistent `x-amz-date`, an unsupported payload mode. The signature itself needs
/// the body's hash, so [`verify`] finishes the job.
pub fn precheck<'a>(
    headers: &'a http::HeaderMap,
    credentials: &LocalCredentials,
    now: OffsetDateTime,
) -> Result<Prechecked<'a>, AuthFailure> {
    let authorization = headers
        .get(http::header::AUTHORIZATION)
        .ok_or(AuthFailure::Missing)?
        .to_str()
        .map_err(|_| AuthFailure::Malformed("Authorization header is not ASCII".into()))?;
    let auth = parse_authorization(authorization)?;
    if auth.access_key_id != credentials.access_key_id {
        return Err(AuthFailure::UnknownKey);
    }
    let amz_date = header_str(headers, "x-amz-date")
        .ok_or_else(|| AuthFailure::BadTime("no x-amz-date".into()))?;
    check_time(amz_date, auth.date, now)?;
    let unsigned_payload = match header_str(headers, "x-amz-content-sha256") {
        Some(h) if h == UNSIGNED_PAYLOAD || h == STREAMING_UNSIGNED_TRAILER => Some(h),
        Some(h) if h.starts_with("STREAMING-") => {
            return Err(AuthFailure::Malformed(format!(
                "payload signing mode {h} is not supported"
            )));
        }
        _ => None,
    };
    Ok(Prechecked {
        auth,
        amz_date,
        unsigned_payload,
    })
}

/// How the canonical request writes the path: S3 signs it as sent; every other service removes dot segments and
/// repeated slashes, then percent-encodes the (already encoded) path again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PathRule {
    AsSent,
    NormalizedEncodedTwice,
}

impl PathRule {
    fn for_service(service: &str) -> PathRule {
        if service == "s3" {
            PathRule::AsSent
        } else {
            PathRule::NormalizedEncodedTwice
        }
    }
}

/// Verifies `request`'s SigV4 signature against `credentials` at `now`.
pub fn verify(
    method: &str,
    uri: &http::Uri,
    headers: &http::HeaderMap,
    body: &[u8],
    credentials: &LocalCredentials,
    now: OffsetDateTime,
) -> Result<Verified, AuthFailure> {
    verify_with(
        method,
        uri,
        headers,
        body,
        credentials,
        now,
        PathRule::for_service,
    )
}

/// [`verify`] with the path rule chosen by `path_rule(service)`: the official test vectors name one service
/// ("service") for both rules and say per case which one they signed by.
fn verify_with(
    method: &str,
    uri: &http::Uri,
    headers: &http::HeaderMap,
    body: &[u8],
    credentials: &LocalCredentials,
    now: OffsetDateTime,
    path_rule: impl FnOnce(&str) -> PathRule,
) -> Result<Verified, AuthFailure> {
    let Prechecked {
        auth,
        amz_date,
        unsigned_payload,
    } = precheck(headers, credentials, now)?;
    let payload_hash = match (
        unsigned_payload,
        header_str(headers, "x-amz-content-sha256"),
    ) {
        (Some(mode), _) => mode.to_owned(),
        (None, Some(h)) => {
            let actual = hex::encode(Sha256::digest(body));
            if !h.eq_ignore_ascii_case(&actual) {
                return Err(AuthFailure::PayloadHashMismatch);
            }
            actual
        }
        (None, None) => hex::encode(Sha256::digest(body)),
    };

    let canonical = canonical_request(
        method,
        uri,
        headers,
        &auth.signed_headers,
        &payload_hash,
        path_rule(auth.service),
    )?;
    let scope = format!(
        "{}/{}/{}/aws4_request",
        auth.date, auth.region, auth.service
    );
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let key = signing_key(credentials.secret(), auth.date, auth.region, auth.service);
    let expected = hex::encode(hmac(&key, string_to_sign.as_bytes()));
    if expected.as_bytes().ct_eq(auth.signature.as_bytes()).into() {
        Ok(Verified {
            service: auth.service.to_owned(),
            region: auth.region.to_owned(),
            access_key_id: auth.access_key_id.to_owned(),
        })
    } else {
        Err(AuthFailure::SignatureMismatch)
    }
}

fn header_str<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn check_time(amz_date: &str, scope_date: &str, now: OffsetDateTime) -> Result<(), AuthFailure> {
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let at = time::PrimitiveDateTime::parse(amz_date, format)
        .map_err(|_| {
            AuthFailure::BadTime(format!("x-amz-date {amz_date:?} is not YYYYMMDDTHHMMSSZ"))
        })?
        .assume_utc();
    if !amz_date.starts_with(scope_date) {
        return Err(AuthFailure::BadTime(
            "credential scope date differs from x-amz-date".into(),
        ));
    }
    if (at - now).whole_seconds().abs() > MAX_SKEW_SECONDS {
        return Err(AuthFailure::BadTime(format!(
            "request time {amz_date} is more than 15 minutes from now"
        )));
    }
    Ok(())
}

fn canonical_request(
    method: &str,
    uri: &http::Uri,
    headers: &http::HeaderMap,
    signed_headers: &[&str],
    payload_hash: &str,
    path_rule: PathRule,
) -> Result<String, AuthFailure> {
    let raw_path = if uri.path().is_empty() {
        "/"
    } else {
        uri.path()
    };
    let path = match path_rule {
        PathRule::AsSent => raw_path.to_owned(),
        PathRule::NormalizedEncodedTwice => encode(&normalize_path(raw_path), false),
    };
    let mut out = format!(
        "{method}\n{path}\n{}\n",
        canonical_query(uri.query().unwrap_or(""))
    );
    for name in signed_headers {
        let values: Vec<String> = headers
            .get_all(*name)
            .iter()
            .map(|v| v.to_str().map(collapse_spaces))
            .collect::<Result<_, _>>()
            .map_err(|_| AuthFailure::Malformed(format!("header {name} is not ASCII")))?;
        if values.is_empty() {
            return Err(AuthFailure::Malformed(format!(
                "signed header {name} is missing"
            )));
        }
        out.push_str(name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&signed_headers.join(";"));
    out.push('\n');
    out.push_str(payload_hash);
    Ok(out)
}

/// Sorted `key=value` pairs, each decoded (form-style, `+` is a space) then strictly re-encoded.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (encode(&form_decode(k), true), encode(&form_decode(v), true))
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn form_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(&s.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// RFC 3986 unreserved characters pass; everything else is `%XX`. `/` passes in paths.
fn encode(s: &str, encode_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b'/' if !encode_slash => out.push('/'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Removes `.` and `..` segments and repeated slashes, as the SDK does before signing non-S3 requests.
fn normalize_path(path: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = format!("/{}", segments.join("/"));
    if path.ends_with('/') && out.len() > 1 {
        out.push('/');
    }
    out
}

fn collapse_spaces(v: &str) -> String {
    v.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> Vec<u8> {
    let k = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k = hmac(&k, region.as_bytes());
    let k = hmac(&k, service.as_bytes());
    hmac(&k, b"aws4_request")
}

#[cfg(test)]
mod vectors;

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example from the AWS SigV4 documentation ("GET https://iam.amazonaws.com/?Action=ListUsers").
    #[test]
    fn the_documented_example_verifies() {
        let creds =
            LocalCredentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
        let uri: http::Uri = "/?Action=ListUsers&Version=2010-05-08".parse().unwrap();
        let mut headers = http::HeaderMap::new();
        headers.insert("host", "iam.amazonaws.com".parse().unwrap());
        headers.insert(
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8"
                .parse()
                .unwrap(),
        );
        headers.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
        headers.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, \
             Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
                .parse()
                .unwrap(),
        );
        let now = time::macros::datetime!(2015-08-30 12:40:00 UTC);
        let ok = verify("GET", &uri, &headers, b"", &creds, now).unwrap();
        assert_eq!(
            (ok.service.as_str(), ok.region.as_str()),
            ("iam", "us-east-1")
        );

        let wrong = LocalCredentials::new("AKIDEXAMPLE", "not-the-secret");
        assert_eq!(
            verify("GET", &uri, &headers, b"", &wrong, now),
            Err(AuthFailure::SignatureMismatch)
        );
        let other = LocalCredentials::new("AKIDOTHER", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
        assert_eq!(
            verify("GET", &uri, &headers, b"", &other, now),
            Err(AuthFailure::UnknownKey)
        );
        let tampered: http::Uri = "/?Action=DeleteUser&Version=2010-05-08".parse().unwrap();
        assert_eq!(
            verify("GET", &tampered, &headers, b"", &creds, now),
            Err(AuthFailure::SignatureMismatch)
        );
        let late = time::macros::datetime!(2015-08-30 13:00:00 UTC);
        assert!(matches!(
            verify("GET", &uri, &headers, b"", &creds, late),
            Err(AuthFailure::BadTime(_))
        ));
    }

    /// What `precheck` refuses from the headers alone, before a body exists.
    #[test]
    fn precheck_refuses_malformed_scopes_and_times() {
        let creds = LocalCredentials::new("AKIDEXAMPLE", "secret");
        let now = time::macros::datetime!(2015-08-30 12:40:00 UTC);
        let sig = "a".repeat(64);
        let check = |credential: &str, signature: &str, date: Option<&str>| {
            let mut headers = http::HeaderMap::new();
            let auth = format!(
                "AWS4-HMAC-SHA256 Credential={credential}, SignedHeaders=host;x-amz-date, Signature={signature}"
            );
            headers.insert("authorization", auth.parse().unwrap());
            if let Some(d) = date {
                headers.insert("x-amz-date", d.parse().unwrap());
            }
            precheck(&headers, &creds, now).map(|_| ())
        };
        let good = "AKIDEXAMPLE/20150830/us-east-1/sqs/aws4_request";
        assert_eq!(check(good, &sig, Some("20150830T123600Z")), Ok(()));
        let malformed = |r: Result<(), AuthFailure>| matches!(r, Err(AuthFailure::Malformed(_)));
        for bad_scope in [
            "AKIDEXAMPLE/2015-08-30/us-east-1/sqs/aws4_request",
            "AKIDEXAMPLE/20150830//sqs/aws4_request",
            "AKIDEXAMPLE/20150830/us-east-1/SQS/aws4_request",
            "AKIDEXAMPLE/20150830/us-east-1/sqs/aws5_request",
            "AKIDEXAMPLE/20150830/us-east-1/sqs",
        ] {
            assert!(
                malformed(check(bad_scope, &sig, Some("20150830T123600Z"))),
                "{bad_scope}"
            );
        }
        assert!(malformed(check(good, "xyz", Some("20150830T123600Z"))));
        assert_eq!(
            check(
                "AKIDOTHER/20150830/us-east-1/sqs/aws4_request",
                &sig,
                Some("20150830T123600Z")
            ),
            Err(AuthFailure::UnknownKey)
        );
        for bad_time in [None, Some("20150830"), Some("20150830T100000Z")] {
            assert!(
                matches!(check(good, &sig, bad_time), Err(AuthFailure::BadTime(_))),
                "{bad_time:?}"
            );
        }
        let other_day = "AKIDEXAMPLE/20150829/us-east-1/sqs/aws4_request";
        assert!(matches!(
            check(other_day, &sig, Some("20150830T123600Z")),
            Err(AuthFailure::BadTime(_))
        ));
    }

    #[test]
    fn query_and_path_canonicalisation() {
        assert_eq!(canonical_query("b=2&a=x+y&a=%2F"), "a=%2F&a=x%20y&b=2");
        assert_eq!(normalize_path("/a/./b/../c//d/"), "/a/c/d/");
        assert_eq!(encode("/a b/é", false), "/a%20b/%C3%A9");
    }
}
