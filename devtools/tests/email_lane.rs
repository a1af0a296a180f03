//! The email lane end to end, on the repository's own `spin.toml`: raw mail is written to a moto S3 bucket (as
//! SES inbound would), moto's own bucket notification puts the S3 event on the raw-mail queue, the host's SQS
//! trigger runs the real `email.wasm`, which fetches the object with a SigV4-signed GET, makes the ticket, keeps
//! it in the key-value store and sends it to the ticket queue; `read.wasm` (offline reader) tags it and forwards
//! it to the read-tickets queue — read back with boto3. moto verifies every signature (S3 and SQS).

mod common;

use common::pipeline::Pipeline;
use tr_tests::services::{Moto, sqs_tool};

#[test]
fn raw_mail_in_s3_becomes_one_clean_read_ticket_and_replies_and_auto_replies_make_none() {
    let p = Pipeline::start("email-lane", &[("reader", "offline")]);
    // moto sends the s3:TestEvent when the notification is configured; the lane deletes it.
    p.wait_for_log("s3:TestEvent, nothing to do");

    p.put("inbound/0001", "new.eml");
    p.wait_for_log(&format!("[email] s3://{}/inbound/0001 -> created ", p.bucket));
    let read = p.take(&p.read_queue, 1, 20);
    assert_eq!(read.len(), 1, "one ticket came through the read stage:\n{}", p.host.output());
    assert_eq!(read[0]["v"], 1, "the versioned wire format");
    let ticket = &read[0]["ticket"];
    assert_eq!(ticket["source"], "email");
    assert_eq!(ticket["customer"]["email"], "dana.whitfield@example.com", "address lower-cased");
    assert_eq!(ticket["customer"]["name"], "Dana Whitfield");
    assert_eq!(ticket["subject"], "Invoice charged twice this month");
    let body = ticket["body"].as_str().unwrap();
    assert!(body.contains("charged twice for the November invoice"), "{body}");
    assert!(!body.contains("Amount due"), "quoted history was stripped: {body}");
    assert_eq!(ticket["thread"]["message_id"], "first-7f3a@mail.example.com");
    assert_eq!(ticket["reading"]["topic"], "billing", "the offline reader tagged it");
    let id = ticket["id"].as_str().unwrap().to_owned();
    assert_eq!(p.stored_ticket(&id)["reading"], ticket["reading"], "the tags are on the stored ticket");

    // A reply by In-Reply-To lands on that ticket; an auto-reply makes nothing; the same mail again (SES retried,
    // another object) is a repeat.
    p.put("inbound/0002", "reply.eml");
    p.wait_for_log(&format!("[email] s3://{}/inbound/0002 -> appended to {id}", p.bucket));
    // Someone Cc'd on the first mail answers: the same ticket. Someone who never was on it: a new, linked ticket.
    p.put("inbound/0006", "colleague-reply.eml");
    p.wait_for_log(&format!("[email] s3://{}/inbound/0006 -> appended to {id}", p.bucket));
    p.put("inbound/0007", "stranger-reply.eml");
    p.wait_for_log(&format!("[email] s3://{}/inbound/0007 -> created ", p.bucket));
    // The router hears of both replies (append events, forwarded with the ticket's reading, no model call) and
    // of the stranger's new ticket.
    let events = p.take(&p.read_queue, 3, 20);
    assert_eq!(events.len(), 3, "{}", p.host.output());
    let (appends, tickets): (Vec<_>, Vec<_>) = events.iter().partition(|e| e["event"] == "append");
    assert_eq!(appends.len(), 2, "{events:?}");
    for append in &appends {
        assert_eq!(append["append"]["ticket_id"], id.as_str());
        assert_eq!(append["reading"], ticket["reading"], "forwarded with the ticket's reading");
    }
    assert_eq!(tickets[0]["ticket"]["customer"]["email"], "lee.park@elsewhere.example");
    p.put("inbound/0003", "autoreply.eml");
    p.wait_for_log(&format!("[email] s3://{}/inbound/0003 -> suppressed (", p.bucket));
    p.put("inbound/0004", "new.eml");
    p.wait_for_log(&format!("[email] s3://{}/inbound/0004 -> repeat of {id}", p.bucket));

    // A real client's reply (Gmail, from talon's corpus in ../shared): its quoted history goes, "Hello" stays.
    let gmail = common::pipeline::repo().join("../shared/fixtures/email-replies/talon/fixtures/standard_replies/gmail.eml");
    assert!(gmail.is_file(), "{} is missing: the shared fixtures must sit beside the repository", gmail.display());
    p.put_file("inbound/0005", &gmail);
    p.wait_for_log(&format!("[email] s3://{}/inbound/0005 -> created ", p.bucket));
    let real = p.take(&p.read_queue, 1, 20);
    assert_eq!(real.len(), 1, "{}", p.host.output());
    assert_eq!(real[0]["ticket"]["body"], "Hello", "talon's expected reply text");
    assert_eq!(real[0]["ticket"]["subject"], "Re: Test");

    assert!(p.take(&p.read_queue, 1, 3).is_empty(), "no second ticket was made or read");
    assert_eq!(sqs_tool(&["depth", &p.raw_queue]), "0 0", "every event was handled and deleted");
    assert_eq!(sqs_tool(&["depth", &p.ticket_queue]), "0 0", "the read component took the ticket");
    let log = p.host.output();
    assert!(!log.contains(Moto::from_env().credentials.secret_access_key.expose()), "a secret reached the log");
    for address in ["dana.whitfield", "sam.ortiz", "lee.park"] {
        assert!(!log.contains(address), "the log names no customer");
    }
}

#[test]
fn an_event_for_a_missing_object_is_refused_and_deleted_and_garbage_is_left_for_the_dead_letter_queue() {
    let p = Pipeline::start("email-missing", &[("reader", "offline")]);
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
    assert!(p.take(&p.ticket_queue, 1, 2).is_empty());
}
