//! S3 event notifications, as S3 puts them on an SQS queue (directly, or wrapped by SNS).
//!
//! Role: an SQS message body → the objects it announces. Key decisions: object keys arrive URL-encoded with `+`
//! for a space (S3 encodes them like a form), so they are decoded here, once; the `s3:TestEvent` S3 sends when a
//! notification is configured is recognised and means "nothing to do"; records other than `ObjectCreated:*` are
//! skipped, not failed.

use serde::Deserialize;

/// One object an event announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Object {
    pub bucket: String,
    /// Decoded: the key exactly as stored.
    pub key: String,
    /// As the event reports it; used to refuse an oversized object before fetching it.
    pub size: Option<u64>,
    pub event_name: String,
    pub event_time: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum S3Event {
    /// `s3:TestEvent`: sent once when the notification is set up.
    Test,
    /// The created objects (possibly none, when every record was of another kind).
    Objects(Vec<S3Object>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum S3EventError {
    #[error("the message is not JSON: {0}")]
    NotJson(String),
    #[error("the message is JSON but not an S3 event notification: {0}")]
    NotAnEvent(String),
    #[error("record {index}: the object key is not valid percent-encoded UTF-8")]
    BadKey { index: usize },
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Records")]
    records: Option<Vec<Record>>,
    #[serde(rename = "Event")]
    event: Option<String>,
    /// SNS wraps the S3 event as a string in `Message` (`Type: Notification`).
    #[serde(rename = "Type")]
    sns_type: Option<String>,
    #[serde(rename = "Message")]
    sns_message: Option<String>,
}

#[derive(Deserialize)]
struct Record {
    #[serde(rename = "eventName")]
    event_name: String,
    #[serde(rename = "eventTime")]
    event_time: Option<String>,
    s3: RecordS3,
}

#[derive(Deserialize)]
struct RecordS3 {
    bucket: RecordBucket,
    object: RecordObject,
}

#[derive(Deserialize)]
struct RecordBucket {
    name: String,
}

#[derive(Deserialize)]
struct RecordObject {
    key: String,
    size: Option<u64>,
}

/// Parses an SQS message body holding an S3 event notification.
pub fn parse_s3_event(body: &str) -> Result<S3Event, S3EventError> {
    let envelope: Envelope = serde_json::from_str(body).map_err(|e| classify(body, e))?;
    if envelope.sns_type.as_deref() == Some("Notification")
        && let Some(inner) = envelope.sns_message.as_deref()
    {
        return parse_s3_event(inner);
    }
    if envelope.event.as_deref() == Some("s3:TestEvent") {
        return Ok(S3Event::Test);
    }
    let records = envelope.records.ok_or_else(|| S3EventError::NotAnEvent("no `Records` array".into()))?;
    let mut objects = Vec::new();
    for (index, record) in records.into_iter().enumerate() {
        if !record.event_name.starts_with("ObjectCreated:") {
            continue;
        }
        objects.push(S3Object {
            bucket: record.s3.bucket.name,
            key: decode_key(&record.s3.object.key).ok_or(S3EventError::BadKey { index })?,
            size: record.s3.object.size,
            event_name: record.event_name,
            event_time: record.event_time,
        });
    }
    Ok(S3Event::Objects(objects))
}

fn classify(body: &str, e: serde_json::Error) -> S3EventError {
    if serde_json::from_str::<serde_json::Value>(body).is_ok() {
        S3EventError::NotAnEvent(e.to_string())
    } else {
        S3EventError::NotJson(e.to_string())
    }
}

/// `+` is a space; `%2B` is a plus.
fn decode_key(encoded: &str) -> Option<String> {
    let spaced = encoded.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced).decode_utf8().ok().map(|k| k.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUT: &str = r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"eu-west-1",
        "eventTime":"2026-11-27T10:00:00.000Z","eventName":"ObjectCreated:Put",
        "s3":{"s3SchemaVersion":"1.0","configurationId":"raw-mail","bucket":{"name":"tr-raw-mail",
        "arn":"arn:aws:s3:::tr-raw-mail"},"object":{"key":"inbound/a+b%2Bc%C3%A9.eml","size":1234,
        "eTag":"0123456789abcdef0123456789abcdef","sequencer":"0055AED6DCD90281E5"}}}]}"#;

    #[test]
    fn a_put_record_gives_the_decoded_key_and_size() {
        let S3Event::Objects(objects) = parse_s3_event(PUT).unwrap() else { panic!("objects expected") };
        assert_eq!(objects.len(), 1);
        assert_eq!(objects[0].bucket, "tr-raw-mail");
        assert_eq!(objects[0].key, "inbound/a b+cé.eml");
        assert_eq!(objects[0].size, Some(1234));
    }

    #[test]
    fn the_test_event_is_recognised() {
        let body = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-27T10:00:00.000Z",
            "Bucket":"tr-raw-mail","RequestId":"5582815E1AEA5ADF","HostId":"8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"}"#;
        assert_eq!(parse_s3_event(body).unwrap(), S3Event::Test);
    }

    #[test]
    fn an_sns_wrapped_event_is_unwrapped() {
        let body = serde_json::json!({"Type": "Notification", "MessageId": "x", "Message": PUT}).to_string();
        let S3Event::Objects(objects) = parse_s3_event(&body).unwrap() else { panic!("objects expected") };
        assert_eq!(objects[0].key, "inbound/a b+cé.eml");
    }

    #[test]
    fn other_event_kinds_are_skipped_and_garbage_is_named() {
        let removed = PUT.replace("ObjectCreated:Put", "ObjectRemoved:Delete");
        assert_eq!(parse_s3_event(&removed).unwrap(), S3Event::Objects(vec![]));
        assert!(matches!(parse_s3_event("not json"), Err(S3EventError::NotJson(_))));
        assert!(matches!(parse_s3_event(r#"{"hello":1}"#), Err(S3EventError::NotAnEvent(_))));
        let bad = PUT.replace("a+b%2Bc%C3%A9", "%FF%FE");
        assert_eq!(parse_s3_event(&bad), Err(S3EventError::BadKey { index: 0 }));
    }
}
