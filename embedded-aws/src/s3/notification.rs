//! S3 event notification bodies, in the shape S3 puts on an SQS queue.
//!
//! Key decision: object keys are URL-encoded the way S3 does it in events (form-style: a space is `+`, `/` is
//! kept, everything outside the unreserved set is `%XX`), because consumers (tr-core's `s3_event`) decode them.

use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// What one `ObjectCreated:Put` event reports.
pub struct PutEvent<'a> {
    pub region: &'a str,
    pub bucket: &'a str,
    pub key: &'a str,
    pub size: u64,
    pub etag: &'a str,
    pub configuration_id: &'a str,
    pub principal: &'a str,
    pub at: OffsetDateTime,
    /// Orders events for the same key; S3 documents it only as "compare as strings".
    pub sequencer: u128,
}

/// `2026-11-27T10:00:00.000Z`: millisecond precision, as S3 writes it.
pub fn event_time(at: OffsetDateTime) -> String {
    let at = at
        .replace_nanosecond((at.nanosecond() / 1_000_000) * 1_000_000)
        .unwrap_or(at);
    let s = at.format(&Rfc3339).unwrap_or_default();
    // Rfc3339 drops trailing zero fractions; S3 always has three digits.
    match s.split_once('.') {
        Some((head, frac)) => format!("{head}.{:0<3}Z", frac.trim_end_matches('Z')),
        None => format!("{}.000Z", s.trim_end_matches('Z')),
    }
}

pub fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

pub fn put_event(e: &PutEvent<'_>) -> Value {
    json!({"Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": e.region,
        "eventTime": event_time(e.at),
        "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": format!("AWS:{}", e.principal)},
        "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": format!("{:016X}", e.sequencer as u64), "x-amz-id-2": "embedded"},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": e.configuration_id,
            "bucket": {
                "name": e.bucket,
                "ownerIdentity": {"principalId": e.principal},
                "arn": format!("arn:aws:s3:::{}", e.bucket),
            },
            "object": {
                "key": encode_key(e.key),
                "size": e.size,
                "eTag": e.etag,
                "sequencer": format!("{:018X}", e.sequencer),
            },
        },
    }]})
}

/// The `s3:TestEvent` S3 sends when a notification is configured.
pub fn test_event(bucket: &str, at: OffsetDateTime) -> Value {
    json!({
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": event_time(at),
        "Bucket": bucket,
        "RequestId": "EMBEDDED",
        "HostId": "embedded",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_times_are_written_as_s3_writes_them() {
        assert_eq!(
            encode_key("inbound/a b+cé.eml"),
            "inbound/a+b%2Bc%C3%A9.eml"
        );
        assert_eq!(
            event_time(time::macros::datetime!(2026-11-27 10:00:00 UTC)),
            "2026-11-27T10:00:00.000Z"
        );
        assert_eq!(
            event_time(time::macros::datetime!(2026-11-27 10:00:00.12345 UTC)),
            "2026-11-27T10:00:00.123Z"
        );
    }
}
