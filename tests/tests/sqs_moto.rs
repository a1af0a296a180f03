//! The SQS client against moto with SigV4 verification on: tickets go out through our client and come back
//! through an independent one (boto3), field by field.

use std::time::{Duration, SystemTime};

use serde_json::Value;
use tr_core::normalise::Limits;
use tr_core::sqs_client::OutgoingMessage;
use tr_core::{Credentials, SqsClient, SqsConfig, SqsError, Source, ThreadIds, Ticket, TicketDraft, wire};
use tr_tests::native::{SystemRuntime, UreqTransport};
use tr_tests::services::{Moto, sqs_tool, unique_queue};

fn client(moto: &Moto, credentials: Credentials) -> SqsClient<UreqTransport, SystemRuntime> {
    let config = SqsConfig::new(&moto.region, credentials).with_endpoint(&moto.endpoint);
    SqsClient::new(config, UreqTransport::default(), SystemRuntime::default())
}

fn ticket(n: u64, source: Source, body: &str) -> Ticket {
    TicketDraft {
        source,
        customer_email: Some(format!("Customer{n}@Example.com")),
        customer_name: Some(format!("Customer Nº{n}")),
        subject: format!("Problem {n}: can't export"),
        body: body.into(),
        page_url: (source == Source::Form).then(|| "https://example.com/pricing?x=1".into()),
        thread: ThreadIds {
            message_id: (source == Source::Email).then(|| format!("m{n}@mail.example.com")),
            in_reply_to: None,
            references: vec![],
        },
        transcript_id: (source == Source::Chat).then(|| format!("conv-{n}")),
        idempotency_key: format!("key-{n}"),
    }
    .into_ticket(SystemTime::now() + Duration::from_millis(n), u128::from(n) * 7919, &Limits::default())
    .unwrap()
}

fn receive(queue_url: &str, n: usize) -> Vec<(Ticket, Value)> {
    receive_within(queue_url, n, 10)
}

fn receive_within(queue_url: &str, n: usize, seconds: u32) -> Vec<(Ticket, Value)> {
    let args = ["receive", queue_url, &n.to_string(), &seconds.to_string()];
    let got: Vec<Value> = serde_json::from_str(&sqs_tool(&args)).unwrap();
    got.into_iter()
        .map(|m| (wire::decode(m["body"].as_str().unwrap()).expect("our wire format"), m["attributes"].clone()))
        .collect()
}

fn assert_same(sent: &Ticket, got: &Ticket) {
    assert_eq!(got.id, sent.id);
    assert_eq!(got.customer, sent.customer);
    assert_eq!(got.subject, sent.subject);
    assert_eq!(got.body, sent.body);
    assert_eq!(got.body_truncated, sent.body_truncated);
    assert_eq!(got.source, sent.source);
    assert_eq!(got.received_at, sent.received_at);
    assert_eq!(got.page_url, sent.page_url);
    assert_eq!(got.thread, sent.thread);
    assert_eq!(got.transcript_id, sent.transcript_id);
    assert_eq!(got.idempotency_key, sent.idempotency_key);
    assert_eq!(got.merged_from, sent.merged_from);
    assert_eq!(got.reading, sent.reading);
    assert_eq!(got, sent, "and nothing else differs");
}

#[test]
fn tickets_sent_singly_and_in_a_batch_come_back_intact() {
    let moto = Moto::from_env();
    let queue = sqs_tool(&["create", &unique_queue("tickets")]);
    let sqs = client(&moto, moto.credentials.clone());
    let tickets = vec![
        ticket(1, Source::Email, "Hi,\r\nexport fails with \"error 42\" — ünïcödé, 中文, 😀.\u{0007}\r\n"),
        ticket(2, Source::Form, "Plain form message.\n\tIndented line."),
        ticket(3, Source::Chat, "Visitor (10:02): it crashes\nAgent (10:03): which browser?"),
    ];

    let sent = pollster::block_on(sqs.send_ticket(&queue, &tickets[0])).expect("SendMessage accepted");
    assert!(!sent.message_id.is_empty());
    let batch: Vec<OutgoingMessage> = tickets[1..].iter().map(OutgoingMessage::for_ticket).collect();
    let outcome = pollster::block_on(sqs.send_message_batch(&queue, &batch)).expect("SendMessageBatch accepted");
    assert_eq!(outcome.sent.len(), 2, "{outcome:?}");
    assert!(outcome.failed.is_empty(), "{outcome:?}");

    let mut got = receive(&queue, 3);
    assert_eq!(got.len(), 3, "all three tickets arrive");
    got.sort_by(|a, b| a.0.idempotency_key.cmp(&b.0.idempotency_key));
    for (sent, (got, attributes)) in tickets.iter().zip(&got) {
        assert_same(sent, got);
        assert_eq!(attributes["ticket-id"], sent.id.as_str());
        assert_eq!(attributes["source"], sent.source.as_str());
    }
}

#[test]
fn a_fifo_queue_drops_a_retried_intake() {
    let moto = Moto::from_env();
    let queue = sqs_tool(&["create", &format!("{}.fifo", unique_queue("tickets"))]);
    let sqs = client(&moto, moto.credentials.clone());
    let t = ticket(4, Source::Form, "Sent twice by a retrying browser.");
    let first = pollster::block_on(sqs.send_ticket(&queue, &t)).unwrap();
    pollster::block_on(sqs.send_ticket(&queue, &t)).expect("a duplicate is accepted, not refused");
    assert!(first.sequence_number.is_some(), "FIFO answers carry a sequence number");
    let got = receive_within(&queue, 2, 3);
    assert_eq!(got.len(), 1, "SQS de-duplicated the second send by MessageDeduplicationId");
    assert_same(&t, &got[0].0);
}

#[test]
fn a_wrong_secret_is_a_typed_auth_error_and_never_leaks() {
    let moto = Moto::from_env();
    let queue = sqs_tool(&["create", &unique_queue("auth")]);
    let secret = "wrong-secret-0123456789abcdefghijklmnopqrs";
    let sqs = client(&moto, Credentials::new(moto.credentials.access_key_id.clone(), secret));
    let err = pollster::block_on(sqs.send_ticket(&queue, &ticket(5, Source::Form, "x"))).unwrap_err();
    match &err {
        SqsError::Service(e) => {
            assert_eq!(e.status, 403);
            assert_eq!(e.code, "SignatureDoesNotMatch");
        }
        other => panic!("expected a service auth error, got {other:?}"),
    }
    assert!(err.is_auth() && !err.is_retryable(), "auth errors are permanent: {err:?}");
    for shown in [err.to_string(), format!("{err:?}"), format!("{:?}", sqs.config())] {
        assert!(!shown.contains(secret), "secret leaked: {shown}");
    }
    assert_eq!(receive_within(&queue, 1, 2).len(), 0, "nothing was queued");
}
