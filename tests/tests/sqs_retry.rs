//! Retry behaviour against a small local server that answers from a script: a throttled or failing SQS is
//! retried with backoff, a refused request is not, and a dead one ends in a retryable error.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tr_core::retry::RetryPolicy;
use tr_core::sqs_client::OutgoingMessage;
use tr_core::{Credentials, SqsClient, SqsConfig, SqsError};
use tr_tests::native::{SystemRuntime, UreqTransport};

const OK: &str = r#"{"MD5OfMessageBody":"x","MessageId":"5fea7756-0ea4-451a-a703-a558b933e274"}"#;

struct Seen {
    authorization: String,
    amz_date: String,
    target: String,
}

/// Serves `script` (status, body) one connection at a time; returns the URL and what each request carried.
fn scripted_server(script: Vec<(u16, &'static str)>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for (status, body) in script {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream);
            let mut headers = Vec::new();
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                headers.push(line.trim().to_owned());
            }
            let header = |name: &str| {
                headers
                    .iter()
                    .find_map(|h| h.split_once(':').filter(|(n, _)| n.eq_ignore_ascii_case(name)))
                    .map(|(_, v)| v.trim().to_owned())
                    .unwrap_or_default()
            };
            let len: usize = header("content-length").parse().unwrap_or(0);
            let mut body_in = vec![0; len];
            reader.read_exact(&mut body_in).unwrap();
            log.lock().unwrap().push(Seen {
                authorization: header("authorization"),
                amz_date: header("x-amz-date"),
                target: header("x-amz-target"),
            });
            let mut stream = reader.into_inner();
            let reason = if status == 200 { "OK" } else { "Error" };
            write!(
                stream,
                "HTTP/1.1 {status} {reason}\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
        }
    });
    (url, seen)
}

fn client(endpoint: &str, attempts: u32) -> SqsClient<UreqTransport, SystemRuntime> {
    let mut config = SqsConfig::new("us-east-1", Credentials::new("AKIDEXAMPLE", "secret-for-retry-test"))
        .with_endpoint(endpoint);
    config.retry = RetryPolicy { max_attempts: attempts, base_delay: Duration::from_millis(20), max_delay: Duration::from_millis(50) };
    SqsClient::new(config, UreqTransport::default(), SystemRuntime::default())
}

fn message() -> OutgoingMessage {
    OutgoingMessage { entry_id: "a".into(), body: "{}".into(), ..Default::default() }
}

#[test]
fn a_503_then_200_is_retried_and_succeeds() {
    let (url, seen) = scripted_server(vec![
        (503, r#"{"__type":"com.amazonaws.sqs#ServiceUnavailable","message":"try later"}"#),
        (200, OK),
    ]);
    let sqs = client(&url, 4);
    let sent = pollster::block_on(sqs.send_message(&format!("{url}/123/q"), &message())).expect("second try works");
    assert_eq!(sent.message_id, "5fea7756-0ea4-451a-a703-a558b933e274");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2, "one retry");
    for s in seen.iter() {
        assert!(s.authorization.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"), "{}", s.authorization);
        assert!(s.authorization.contains("/us-east-1/sqs/aws4_request"));
        assert!(!s.amz_date.is_empty());
        assert_eq!(s.target, "AmazonSQS.SendMessage");
    }
}

#[test]
fn throttling_is_retried() {
    let (url, seen) = scripted_server(vec![
        (400, r#"{"__type":"com.amazonaws.sqs#ThrottlingException","message":"Rate exceeded"}"#),
        (429, ""),
        (200, OK),
    ]);
    pollster::block_on(client(&url, 4).send_message(&format!("{url}/123/q"), &message())).unwrap();
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[test]
fn a_validation_error_is_not_retried() {
    let (url, seen) = scripted_server(vec![
        (400, r#"{"__type":"com.amazonaws.sqs#InvalidParameterValue","message":"bad attribute"}"#),
        (200, OK),
    ]);
    let err = pollster::block_on(client(&url, 4).send_message(&format!("{url}/123/q"), &message())).unwrap_err();
    assert!(matches!(&err, SqsError::Service(e) if e.code == "InvalidParameterValue"), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(seen.lock().unwrap().len(), 1, "no second attempt");
}

#[test]
fn a_dead_queue_exhausts_the_bounded_retries_with_a_retryable_error() {
    let (url, seen) = scripted_server(vec![(500, ""), (502, ""), (503, "")]);
    let err = pollster::block_on(client(&url, 3).send_message(&format!("{url}/123/q"), &message())).unwrap_err();
    match &err {
        SqsError::RetriesExhausted { attempts: 3, last } => {
            assert!(matches!(**last, SqsError::Service(ref e) if e.status == 503), "{last:?}")
        }
        other => panic!("expected RetriesExhausted, got {other:?}"),
    }
    assert!(err.is_retryable(), "the sender should try again later");
    assert_eq!(seen.lock().unwrap().len(), 3);
}

#[test]
fn an_unreachable_endpoint_is_retried_then_reported() {
    // Bind then drop: the port is closed, connections are refused.
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let err = pollster::block_on(client(&url, 2).send_message(&format!("{url}/123/q"), &message())).unwrap_err();
    assert!(
        matches!(&err, SqsError::RetriesExhausted { attempts: 2, last } if matches!(**last, SqsError::Transport(_))),
        "{err:?}"
    );
}

#[test]
fn oversized_and_invalid_bodies_are_refused_before_sending() {
    let (url, seen) = scripted_server(vec![]);
    let sqs = client(&url, 1);
    let big = OutgoingMessage { body: "x".repeat(256 * 1024 + 1), ..message() };
    let err = pollster::block_on(sqs.send_message(&format!("{url}/q"), &big)).unwrap_err();
    assert!(matches!(err, SqsError::MessageTooLarge { bytes: 262_145, limit: 262_144 }), "{err:?}");
    let bad = OutgoingMessage { body: "nul \u{0000} byte".into(), ..message() };
    let err = pollster::block_on(sqs.send_message(&format!("{url}/q"), &bad)).unwrap_err();
    assert!(matches!(err, SqsError::InvalidBody(0)), "{err:?}");
    let eleven: Vec<OutgoingMessage> =
        (0..11).map(|i| OutgoingMessage { entry_id: format!("e{i}"), ..message() }).collect();
    assert!(matches!(pollster::block_on(sqs.send_message_batch(&format!("{url}/q"), &eleven)), Err(SqsError::InvalidBatch(_))));
    assert!(seen.lock().unwrap().is_empty());
}
