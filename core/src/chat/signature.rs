//! Who may post a transcript: our generic HMAC scheme, and the pieces the vendor adapters share.
//!
//! Scheme: header `X-TR-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>`. Key
//! decisions:
//! - The timestamp is inside the MAC, so a captured request cannot be replayed with a fresh time, and it must be
//!   within [`TOLERANCE`] of the receiver's clock in either direction (a sender's clock may run fast). A replay
//!   inside the window is harmless anyway: the same conversation id is the same ticket.
//! - Several `v1=` values may be given (a sender rotating secrets signs with both); any one matching is enough.
//! - Comparisons are constant-time (`subtle`); the secret is a [`Secret`] and never reaches `Debug` or an error.

use std::time::{Duration, SystemTime};

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::credentials::Secret;

/// The header our scheme is carried in.
pub const SIGNATURE_HEADER: &str = "X-TR-Signature";

/// How far the signed time may be from the receiver's clock, either way.
pub const TOLERANCE: Duration = Duration::from_secs(5 * 60);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the {0} header is missing")]
    Missing(&'static str),
    #[error("the signature header is malformed: {0}")]
    Malformed(&'static str),
    #[error("the signature was made {age_secs} s ago, more than the {} s allowed", TOLERANCE.as_secs())]
    Expired { age_secs: u64 },
    #[error("the signature's time is {ahead_secs} s in the future, more than the {} s allowed", TOLERANCE.as_secs())]
    Future { ahead_secs: u64 },
    #[error("the signature does not match the body")]
    Mismatch,
}

/// Checks an `X-TR-Signature` header value against the raw body.
pub fn verify(header: Option<&str>, body: &[u8], secret: &Secret, now: SystemTime) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing(SIGNATURE_HEADER))?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        let (key, value) = part.trim().split_once('=').ok_or(SignatureError::Malformed("expected key=value pairs"))?;
        match key {
            "t" if timestamp.is_none() => {
                timestamp = Some(value.parse::<u64>().map_err(|_| SignatureError::Malformed("t is not unix seconds"))?)
            }
            "t" => return Err(SignatureError::Malformed("t is given twice")),
            "v1" => signatures.push(value),
            // Later schemes (v2, …) may be sent alongside; they are not ours to judge.
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed("no t="))?;
    if signatures.is_empty() {
        return Err(SignatureError::Malformed("no v1="));
    }
    check_window(timestamp, now)?;
    let expected = hmac_sha256(secret, &[timestamp.to_string().as_bytes(), b".", body]);
    if signatures.iter().any(|s| hex_matches(&expected, s)) { Ok(()) } else { Err(SignatureError::Mismatch) }
}

/// The header value a sender puts on `body` at `timestamp` (unix seconds). For senders and tests.
pub fn sign(secret: &Secret, timestamp: u64, body: &[u8]) -> String {
    let mac = hmac_sha256(secret, &[timestamp.to_string().as_bytes(), b".", body]);
    format!("t={timestamp},v1={}", hex::encode(mac))
}

/// A signed unix time must be within [`TOLERANCE`] of `now`.
pub(crate) fn check_window(timestamp: u64, now: SystemTime) -> Result<(), SignatureError> {
    let now = now.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    // Saturating: `t` is the sender's to choose, and u64::MAX must be "in the future", not an overflow.
    if timestamp.saturating_add(TOLERANCE.as_secs()) < now {
        return Err(SignatureError::Expired { age_secs: now - timestamp });
    }
    if timestamp > now.saturating_add(TOLERANCE.as_secs()) {
        return Err(SignatureError::Future { ahead_secs: timestamp - now });
    }
    Ok(())
}

pub(crate) fn hmac_sha256(secret: &Secret, parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).expect("HMAC takes keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

/// Whether `given` is the hex form of `expected` (either case), compared in constant time. Malformed hex is
/// simply no match: it cannot be anyone's signature.
pub(crate) fn hex_matches(expected: &[u8], given: &str) -> bool {
    match hex::decode(given.trim()) {
        Ok(given) => given.len() == expected.len() && bool::from(given.ct_eq(expected)),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_795_683_600;

    #[test]
    fn a_time_at_the_end_of_u64_is_in_the_future_not_an_overflow() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(T);
        assert!(matches!(check_window(u64::MAX, now), Err(SignatureError::Future { .. })));
        assert!(matches!(check_window(0, now), Err(SignatureError::Expired { .. })));
    }

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn signs_and_verifies() {
        let secret = Secret::new("s3cret");
        let header = sign(&secret, T, b"{}");
        assert!(header.starts_with(&format!("t={T},v1=")));
        assert_eq!(verify(Some(&header), b"{}", &secret, at(T)), Ok(()));
        assert_eq!(verify(Some(&header), b"{ }", &secret, at(T)), Err(SignatureError::Mismatch));
        assert_eq!(verify(Some(&header), b"{}", &Secret::new("other"), at(T)), Err(SignatureError::Mismatch));
    }

    #[test]
    fn matches_a_known_vector() {
        // python3 -c 'import hmac,hashlib;print(hmac.new(b"key",b"1795683600.body",hashlib.sha256).hexdigest())'
        let header = sign(&Secret::new("key"), T, b"body");
        assert_eq!(header, format!("t={T},v1=5a183d58b3b16eb5db428e4288a52312d9560bd7d8277f6fa1ebf03187f5a260"));
    }

    #[test]
    fn tolerance_is_five_minutes_both_ways() {
        let secret = Secret::new("s");
        let header = sign(&secret, T, b"x");
        assert_eq!(verify(Some(&header), b"x", &secret, at(T + 300)), Ok(()));
        assert_eq!(verify(Some(&header), b"x", &secret, at(T - 300)), Ok(()));
        assert_eq!(verify(Some(&header), b"x", &secret, at(T + 301)), Err(SignatureError::Expired { age_secs: 301 }));
        assert_eq!(verify(Some(&header), b"x", &secret, at(T - 301)), Err(SignatureError::Future { ahead_secs: 301 }));
    }

    #[test]
    fn malformed_headers_are_named() {
        let s = Secret::new("s");
        let v = |h: &str| verify(Some(h), b"x", &s, at(T));
        assert_eq!(verify(None, b"x", &s, at(T)), Err(SignatureError::Missing(SIGNATURE_HEADER)));
        assert!(matches!(v("garbage"), Err(SignatureError::Malformed(_))));
        assert!(matches!(v("t=soon,v1=00"), Err(SignatureError::Malformed(_))));
        assert!(matches!(v(&format!("t={T}")), Err(SignatureError::Malformed(_))));
        assert!(matches!(v("v1=00"), Err(SignatureError::Malformed(_))));
        assert!(matches!(v(&format!("t={T},t={T},v1=00")), Err(SignatureError::Malformed(_))));
        assert_eq!(v(&format!("t={T},v1=zz")), Err(SignatureError::Mismatch));
    }

    #[test]
    fn any_v1_may_match_and_unknown_schemes_are_skipped() {
        let s = Secret::new("new");
        let good = sign(&s, T, b"x");
        let v1 = good.split_once("v1=").unwrap().1;
        let rotated = format!("t={T}, v1={}, v1={}, v2=abc", "00".repeat(32), v1.to_uppercase());
        assert_eq!(verify(Some(&rotated), b"x", &s, at(T)), Ok(()));
    }

    #[test]
    fn secret_never_shows_in_errors() {
        let s = Secret::new("hunter2");
        let err = verify(Some("t=1,v1=00"), b"x", &s, at(T)).unwrap_err();
        assert!(!format!("{err:?} {err}").contains("hunter2"));
    }
}
