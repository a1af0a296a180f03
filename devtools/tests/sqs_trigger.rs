//! The SQS trigger end to end: the real `tr-intake` binary polls a moto queue (SigV4 verified) with the
//! `sqs-probe` guest, which counts each delivery in the key-value store. What the queue holds afterwards is read
//! with boto3 (`sqs_tool`), what the guest saw is read from `.spin/sqlite_key_value.db` — neither through the host.

mod common;

use std::time::{Duration, Instant};

use common::{app_dir, start, RunningHost};
use tr_host::kv::SqliteKv;
use tr_tests::services::{sqs_tool, unique_queue, Moto};

struct SqsApp {
    host: RunningHost,
    queue_url: String,
}

/// A fresh moto queue with the given visibility timeout and a host polling it.
fn sqs_app(name: &str, visibility_seconds: u32) -> SqsApp {
    let moto = Moto::from_env();
    let queue_url = sqs_tool(&["create", &unique_queue(name), &visibility_seconds.to_string()]);
    let dir = app_dir(name, "sqs-spin.toml", &[("@QUEUE_URL@", &queue_url)]);
    let host = start(
        &dir,
        &[],
        &[
            ("AWS_ACCESS_KEY_ID", moto.credentials.access_key_id.as_str()),
            ("AWS_SECRET_ACCESS_KEY", moto.credentials.secret_access_key.expose()),
            ("AWS_REGION", moto.region.as_str()),
            ("AWS_ENDPOINT_URL_SQS", moto.endpoint.as_str()),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ],
    );
    SqsApp { host, queue_url }
}

impl SqsApp {
    fn send(&self, body: &str) {
        sqs_tool(&["send", &self.queue_url, body]);
    }

    /// How many times the guest ran for `tag`.
    fn deliveries(&self, tag: &str) -> u32 {
        let kv = SqliteKv::open(&self.host.dir.join(".spin/sqlite_key_value.db")).expect("the host created its store");
        kv.get("default", tag)
            .expect("store readable")
            .map(|v| String::from_utf8(v).unwrap().parse().unwrap())
            .unwrap_or(0)
    }

    fn wait_for_deliveries(&self, tag: &str, at_least: u32, within: Duration) -> u32 {
        let deadline = Instant::now() + within;
        loop {
            let seen = self.deliveries(tag);
            if seen >= at_least || Instant::now() > deadline {
                return seen;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// (visible, in flight), as boto3 sees the queue.
    fn depth(&self) -> (u32, u32) {
        let answer = sqs_tool(&["depth", &self.queue_url]);
        let mut parts = answer.split_whitespace().map(|n| n.parse().unwrap());
        (parts.next().unwrap(), parts.next().unwrap())
    }
}

#[test]
fn a_delete_answer_runs_the_guest_once_and_removes_the_message() {
    let app = sqs_app("sqs-delete", 30);
    app.send("delete a");
    assert!(app.host.wait_for_output("-> delete in", Duration::from_secs(20)), "{}", app.host.output());
    assert_eq!(app.deliveries("a"), 1);
    assert_eq!(app.depth(), (0, 0), "the message is gone from the queue");
    // Nothing comes back: after twice the poll interval the guest still ran exactly once.
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(app.deliveries("a"), 1);
}

#[test]
fn leave_error_and_trap_keep_the_message_for_redelivery_after_the_visibility_timeout() {
    let app = sqs_app("sqs-leave", 2);
    app.send("leave b");
    app.send("error c");
    app.send("trap d");
    for tag in ["b", "c", "d"] {
        let seen = app.wait_for_deliveries(tag, 2, Duration::from_secs(30));
        assert!(seen >= 2, "`{tag}` was delivered {seen} time(s); the queue should have redelivered it:\n{}", app.host.output());
    }
    let out = app.host.output();
    assert!(out.contains("-> leave in"), "{out}");
    assert!(out.contains("-> error (left on queue): "), "{out}");
    assert!(out.contains("-> failed (left on queue): "), "a trap is reported, not fatal:\n{out}");

    // The host survived the trap and still deletes what a guest finishes.
    app.send("delete e");
    assert_eq!(app.wait_for_deliveries("e", 1, Duration::from_secs(20)), 1);
    let (visible, in_flight) = app.depth();
    assert_eq!(visible + in_flight, 3, "b, c and d stay on the queue; e is deleted");
}

#[test]
fn a_slow_guest_keeps_its_lease_so_the_message_is_not_delivered_twice() {
    // Visibility 1 s, the guest takes 3 s: without lease renewal moto would hand the message out again.
    let app = sqs_app("sqs-slow", 1);
    app.send("slow s");
    assert!(app.host.wait_for_output("-> delete in", Duration::from_secs(30)), "{}", app.host.output());
    assert_eq!(app.deliveries("s"), 1, "{}", app.host.output());
    assert_eq!(app.depth(), (0, 0));
}
