//! The email lane end to end, on the repository's own `spin.toml`: raw mail is written to a moto S3 bucket (as
//! SES inbound would), moto's own bucket notification puts the S3 event on the raw-mail queue, the host's SQS
//! trigger runs the real `email.wasm`, which fetches the object with a SigV4-signed GET, makes the ticket, keeps
//! it in the key-value store and sends it to the ticket queue — read back with boto3. moto verifies every
//! signature (S3 and SQS).

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{RunningHost, start, target_dir};
use tr_tests::services::{Moto, s3_tool, sqs_tool, unique_queue};

/// The literal queue URL in `spin.toml` (trigger-sqs takes no variables there).
const MANIFEST_QUEUE_URL: &str = "http://localhost:5000/123456789012/tr-raw-mail-events";
const MANIFEST_SOURCE: &str = "target/wasm32-wasip2/release/email.wasm";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

struct Pipeline {
    host: RunningHost,
    bucket: String,
    raw_queue: String,
    ticket_queue: String,
}

/// Queues, bucket and notification in moto, and the host running the repository's spin.toml against them.
fn pipeline(name: &str) -> Pipeline {
    let moto = Moto::from_env();
    let email_wasm = target_dir().join("wasm32-wasip2/release/email.wasm");
    assert!(email_wasm.is_file(), "{} is missing: scripts/test builds it", email_wasm.display());

    let raw_queue = sqs_tool(&["create", &unique_queue(&format!("{name}-raw")), "3"]);
    let ticket_queue = sqs_tool(&["create", &unique_queue(&format!("{name}-tickets"))]);
    let bucket = unique_queue(&format!("{name}-mail"));
    s3_tool(&["bucket", &bucket, &raw_queue]);

    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    let dir = target_dir().join("tmp/host-tests").join(format!("{name}-{nanos}"));
    std::fs::create_dir_all(&dir).unwrap();
    let manifest = std::fs::read_to_string(repo().join("spin.toml")).expect("the repository's spin.toml");
    assert!(manifest.contains(MANIFEST_QUEUE_URL) && manifest.contains(MANIFEST_SOURCE), "spin.toml changed shape");
    let manifest = manifest
        .replace(MANIFEST_QUEUE_URL, &raw_queue)
        .replace(MANIFEST_SOURCE, &email_wasm.display().to_string());
    std::fs::write(dir.join("spin.toml"), manifest).unwrap();

    let secret = moto.credentials.secret_access_key.expose();
    let host = start(
        &dir,
        &[],
        &[
            // The trigger's own AWS client (standard environment, like the trigger-sqs plugin).
            ("AWS_ACCESS_KEY_ID", moto.credentials.access_key_id.as_str()),
            ("AWS_SECRET_ACCESS_KEY", secret),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ENDPOINT_URL_SQS", moto.endpoint.as_str()),
            ("AWS_EC2_METADATA_DISABLED", "true"),
            // The component's, through Spin variables.
            ("SPIN_VARIABLE_AWS_ACCESS_KEY_ID", moto.credentials.access_key_id.as_str()),
            ("SPIN_VARIABLE_AWS_SECRET_ACCESS_KEY", secret),
            ("SPIN_VARIABLE_SQS_ENDPOINT", moto.endpoint.as_str()),
            ("SPIN_VARIABLE_S3_ENDPOINT", moto.endpoint.as_str()),
            ("SPIN_VARIABLE_TICKET_QUEUE_URL", ticket_queue.as_str()),
        ],
    );
    Pipeline { host, bucket, raw_queue, ticket_queue }
}

impl Pipeline {
    fn put(&self, key: &str, fixture: &str) {
        let file = repo().join("tests/fixtures/email-lane").join(fixture);
        s3_tool(&["put", &self.bucket, key, file.to_str().unwrap()]);
    }

    fn wait_for_log(&self, needle: &str) {
        assert!(
            self.host.wait_for_output(needle, Duration::from_secs(30)),
            "no `{needle}` in the host's log:\n{}",
            self.host.output()
        );
    }

    /// Up to `n` tickets from the ticket queue, waiting at most `seconds`.
    fn tickets(&self, n: usize, seconds: u32) -> Vec<serde_json::Value> {
        let out = sqs_tool(&["receive", &self.ticket_queue, &n.to_string(), &seconds.to_string()]);
        let messages: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
        messages.iter().map(|m| serde_json::from_str(m["body"].as_str().unwrap()).unwrap()).collect()
    }
}

#[test]
fn raw_mail_in_s3_becomes_one_clean_ticket_and_replies_and_auto_replies_make_none() {
    let p = pipeline("email-lane");
    // moto sends the s3:TestEvent when the notification is configured; the lane deletes it.
    p.wait_for_log("s3:TestEvent, nothing to do");

    p.put("inbound/0001", "new.eml");
    p.wait_for_log(&format!("[email] s3://{}/inbound/0001 -> created ", p.bucket));
    let tickets = p.tickets(1, 10);
    assert_eq!(tickets.len(), 1, "one ticket on the queue");
    assert_eq!(tickets[0]["v"], 1, "the versioned wire format");
    let ticket = &tickets[0]["ticket"];
    assert_eq!(ticket["source"], "email");
    assert_eq!(ticket["customer"]["email"], "dana.whitfield@example.com", "address lower-cased");
    assert_eq!(ticket["customer"]["name"], "Dana Whitfield");
    assert_eq!(ticket["subject"], "Invoice charged twice this month");
    let body = ticket["body"].as_str().unwrap();
    assert!(body.contains("charged twice for the November invoice"), "{body}");
    assert!(!body.contains("Amount due"), "quoted history was stripped: {body}");
    assert_eq!(ticket["thread"]["message_id"], "first-7f3a@mail.example.com");
    let id = ticket["id"].as_str().unwrap().to_owned();

    // A reply by In-Reply-To lands on that ticket; an auto-reply makes nothing; the same mail again (SES retried,
    // another object) is a repeat.
    p.put("inbound/0002", "reply.eml");
    p.wait_for_log(&format!("[email] s3://{}/inbound/0002 -> appended to {id}", p.bucket));
    p.put("inbound/0003", "autoreply.eml");
    p.wait_for_log(&format!("[email] s3://{}/inbound/0003 -> suppressed (", p.bucket));
    p.put("inbound/0004", "new.eml");
    p.wait_for_log(&format!("[email] s3://{}/inbound/0004 -> repeat of {id}", p.bucket));

    assert!(p.tickets(1, 3).is_empty(), "no second ticket reached the queue");
    assert_eq!(sqs_tool(&["depth", &p.raw_queue]), "0 0", "every event was handled and deleted");
    let log = p.host.output();
    assert!(!log.contains(Moto::from_env().credentials.secret_access_key.expose()), "a secret reached the log");
    assert!(!log.contains("dana.whitfield"), "the log names no customer");
}

#[test]
fn an_event_for_a_missing_object_is_refused_and_deleted_and_garbage_is_left_for_the_dead_letter_queue() {
    let p = pipeline("email-missing");
    p.wait_for_log("s3:TestEvent, nothing to do");
    let event = serde_json::json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-27T10:00:00.000Z", "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": p.bucket}, "object": {"key": "inbound/never-written", "size": 10}}
    }]});
    sqs_tool(&["send", &p.raw_queue, &event.to_string()]);
    p.wait_for_log(&format!("[email] s3://{}/inbound/never-written -> refused (no object", p.bucket));

    sqs_tool(&["send", &p.raw_queue, "this is not an S3 event"]);
    p.wait_for_log("error (left on queue): message ");
    assert!(p.host.output().contains("not JSON"), "{}", p.host.output());
    assert!(p.tickets(1, 2).is_empty());
}
