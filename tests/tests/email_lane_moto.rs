//! The email lane's core against moto (S3 and SQS, SigV4 verified), with failures injected where they happen in
//! production: S3 or the ticket queue unreachable, the key-value store failing. The S3 events are moto's own
//! bucket notifications, not built by us. What must hold: a failure is `Retry` (the trigger leaves the message),
//! the retry finishes the same ticket, and the ticket queue sees it exactly once.

use std::path::Path;

use pollster::block_on;
use tr_core::email::lane::{EmailLane, EmailLaneConfig, LaneError, LaneVerdict, MailOutcome};
use tr_core::email::sender_trust::SenderVerification;
use tr_core::s3_client::{S3Client, S3Config};
use tr_core::store::{FaultMode, MemoryKv, Store, StoreConfig};
use tr_core::{Limits, SqsClient, SqsConfig};
use tr_tests::native::{SystemRuntime, UreqTransport};
use tr_tests::services::{Moto, s3_tool, sqs_tool, unique_queue};

/// A port nothing listens on: connection refused, as when a service is down.
const DOWN: &str = "http://127.0.0.1:9";

struct Setup {
    moto: Moto,
    bucket: String,
    raw_queue: String,
    ticket_queue: String,
}

fn setup(name: &str) -> Setup {
    let moto = Moto::from_env();
    let raw_queue = sqs_tool(&["create", &unique_queue(&format!("{name}-raw"))]);
    let ticket_queue = sqs_tool(&["create", &unique_queue(&format!("{name}-tickets"))]);
    let bucket = unique_queue(&format!("{name}-mail"));
    s3_tool(&["bucket", &bucket, &raw_queue]);
    Setup { moto, bucket, raw_queue, ticket_queue }
}

impl Setup {
    /// Writes the fixture to S3 and returns the event moto put on the raw queue for it.
    fn put(&self, key: &str, fixture: &str) -> String {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/email-lane").join(fixture);
        s3_tool(&["put", &self.bucket, key, file.to_str().unwrap()]);
        let out = sqs_tool(&["receive", &self.raw_queue, "2", "5"]);
        let messages: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
        let event = messages
            .iter()
            .map(|m| m["body"].as_str().unwrap().to_owned())
            .find(|b| b.contains("ObjectCreated"))
            .unwrap_or_else(|| panic!("moto sent no ObjectCreated event: {out}"));
        assert!(event.contains(&self.bucket), "{event}");
        event
    }

    fn s3(&self, endpoint: &str, max_bytes: u64) -> S3Client<UreqTransport, SystemRuntime> {
        let mut config = S3Config::new("us-east-1", self.moto.credentials.clone(), max_bytes);
        config.endpoint = Some(endpoint.to_owned());
        config.path_style = true;
        S3Client::new(config, UreqTransport::default(), SystemRuntime::default())
    }

    fn sqs(&self, endpoint: &str) -> SqsClient<UreqTransport, SystemRuntime> {
        SqsClient::new(
            SqsConfig::new("us-east-1", self.moto.credentials.clone()).with_endpoint(endpoint),
            UreqTransport::default(),
            SystemRuntime::default(),
        )
    }

    fn config(&self) -> EmailLaneConfig {
        EmailLaneConfig {
            ticket_queue_url: self.ticket_queue.clone(),
            append_queue_url: None,
            limits: Limits::default(),
            // Mail written straight into the bucket, as the local mail drop does: no SES, no verdicts.
            sender_verification: SenderVerification::Off,
        }
    }

    fn tickets(&self, wait_seconds: u32) -> Vec<serde_json::Value> {
        let out = sqs_tool(&["receive", &self.ticket_queue, "5", &wait_seconds.to_string()]);
        let messages: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
        messages.iter().map(|m| serde_json::from_str::<serde_json::Value>(m["body"].as_str().unwrap()).unwrap()).collect()
    }
}

fn handle(
    s3: &S3Client<UreqTransport, SystemRuntime>,
    sqs: &SqsClient<UreqTransport, SystemRuntime>,
    store: &Store<&MemoryKv>,
    config: &EmailLaneConfig,
    event: &str,
) -> Result<LaneVerdict, LaneError> {
    let runtime = SystemRuntime::default();
    block_on(EmailLane { s3, sqs, store, runtime: &runtime, config }.handle_message(event))
}

fn single(verdict: LaneVerdict) -> MailOutcome {
    let LaneVerdict::Done(mut objects) = verdict else { panic!("objects expected, got {verdict:?}") };
    assert_eq!(objects.len(), 1);
    objects.remove(0).1
}

#[test]
fn failures_leave_the_message_and_the_retry_finishes_the_same_ticket_once() {
    let s = setup("lane-faults");
    let event = s.put("inbound/faults-1", "new.eml");
    let kv = MemoryKv::new();
    let store = Store::new(&kv, StoreConfig::default());
    let config = s.config();
    let (s3_up, sqs_up) = (s.s3(&s.moto.endpoint, 1 << 20), s.sqs(&s.moto.endpoint));

    // S3 down: nothing stored, try again later.
    let down = handle(&s.s3(DOWN, 1 << 20), &sqs_up, &store, &config, &event);
    assert!(matches!(down, Err(LaneError::Retry(ref why)) if why.starts_with("S3: gave up after 4 attempts")), "{down:?}");
    assert!(kv.is_empty());

    // The store fails mid-intake: try again later.
    kv.fail_in(2, FaultMode::Unacknowledged);
    let flaky = handle(&s3_up, &sqs_up, &store, &config, &event);
    assert!(matches!(flaky, Err(LaneError::Retry(ref why)) if why.starts_with("store: ")), "{flaky:?}");

    // The ticket queue down: the ticket is kept, not sent, try again later.
    let queue_down = handle(&s3_up, &s.sqs(DOWN), &store, &config, &event);
    assert!(matches!(queue_down, Err(LaneError::Retry(ref why)) if why.starts_with("ticket queue: ")), "{queue_down:?}");
    assert!(s.tickets(1).is_empty());

    // Everything up: the same ticket goes out, once; the next delivery is a repeat.
    let MailOutcome::Created { ticket_id } = single(handle(&s3_up, &sqs_up, &store, &config, &event).unwrap()) else {
        panic!("created expected")
    };
    let again = single(handle(&s3_up, &sqs_up, &store, &config, &event).unwrap());
    assert_eq!(again, MailOutcome::Repeat { ticket_id: ticket_id.clone() });
    let tickets = s.tickets(2);
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    assert_eq!(tickets[0]["ticket"]["id"], ticket_id.as_str());
    assert_eq!(tickets[0]["ticket"]["flags"], serde_json::json!([]));
}

#[test]
fn an_oversized_mail_becomes_a_ticket_flagged_unparseable_from_its_headers() {
    let s = setup("lane-oversized");
    let event = s.put("inbound/big-1", "new.eml");
    let kv = MemoryKv::new();
    let store = Store::new(&kv, StoreConfig::default());
    // The fixture is ~600 bytes: a 200-byte cap makes it "too large"; its headers come from a Range GET.
    let outcome = single(handle(&s.s3(&s.moto.endpoint, 200), &s.sqs(&s.moto.endpoint), &store, &s.config(), &event).unwrap());
    let MailOutcome::Unparseable { ticket_id } = outcome else { panic!("unparseable ticket expected, got {outcome:?}") };
    let tickets = s.tickets(2);
    assert_eq!(tickets.len(), 1);
    let ticket = &tickets[0]["ticket"];
    assert_eq!(ticket["id"], ticket_id.as_str());
    assert_eq!(ticket["flags"], serde_json::json!(["unparseable"]));
    assert_eq!(ticket["customer"]["email"], "dana.whitfield@example.com");
    assert_eq!(ticket["subject"], "Invoice charged twice this month");
    let body = ticket["body"].as_str().unwrap();
    assert!(body.contains("over the 200-byte limit") && body.contains(&format!("s3://{}/inbound/big-1", s.bucket)), "{body}");
    assert!(!body.contains("charged twice for the November"), "the body was not fetched whole: {body}");
}

#[test]
fn a_missing_key_is_refused_but_a_missing_bucket_is_never_acknowledged() {
    let s = setup("s3-404");
    let event = s.put("inbound/one.eml", "new.eml");
    let (s3, sqs) = (s.s3(&s.moto.endpoint, 1 << 20), s.sqs(&s.moto.endpoint));
    let kv = MemoryKv::new();
    let store = Store::new(&kv, StoreConfig::default());

    // The object was deleted after the event: moto answers NoSuchKey, the mail is gone, the event is done.
    s3_tool(&["delete", &s.bucket, "inbound/one.eml"]);
    assert!(matches!(single(handle(&s3, &sqs, &store, &s.config(), &event).unwrap()), MailOutcome::Refused { .. }));

    // The same event naming a bucket that does not exist (a wrong setting): NoSuchBucket is a 404 too, but it
    // must fail — left on the queue for the dead-letter queue — not be acknowledged as a missing mail.
    let wrong = event.replace(&s.bucket, &format!("{}-nope", s.bucket));
    let outcome = handle(&s3, &sqs, &store, &s.config(), &wrong);
    assert!(outcome.is_err(), "{outcome:?}");
}
