//! The SQS trigger's bounds, with a plain dispatcher against moto (SigV4 verified): no more handlers at once
//! than the limit, and a handler that never answers is dropped at its deadline and its message left for
//! redelivery — not held forever by lease renewals.

use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tr_host::manifest::SqsTrigger;
use tr_host::sqs_trigger::{Dispatch, Dispatched, GuestMessage, Outcome, TriggerLimits, run_with};
use tr_tests::services::{Moto, sqs_tool, unique_queue};

#[derive(Default)]
struct Recorder {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    running: usize,
    most_at_once: usize,
    done: Vec<String>,
    stuck_deliveries: usize,
}

impl Dispatch for Recorder {
    async fn dispatch(&self, _component: &str, message: GuestMessage) -> Dispatched {
        let body = message.body.unwrap_or_default();
        if body == "stuck" {
            self.state.lock().unwrap().stuck_deliveries += 1;
            std::future::pending::<()>().await;
        }
        {
            let mut s = self.state.lock().unwrap();
            s.running += 1;
            s.most_at_once = s.most_at_once.max(s.running);
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
        let mut s = self.state.lock().unwrap();
        s.running -= 1;
        s.done.push(body);
        Outcome::Delete.into()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handlers_are_bounded_in_number_and_in_time() {
    let moto = Moto::from_env();
    let queue_url = sqs_tool(&["create", &unique_queue("trigger-limits"), "2"]);
    for i in 0..8 {
        sqs_tool(&["send", &queue_url, &format!("m{i}")]);
    }
    sqs_tool(&["send", &queue_url, "stuck"]);

    let config = aws_sdk_sqs::config::Builder::new()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(aws_sdk_sqs::config::Region::new(moto.region.clone()))
        .endpoint_url(&moto.endpoint)
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            moto.credentials.access_key_id.clone(),
            moto.credentials.secret_access_key.expose(),
            None,
            None,
            "tests",
        ))
        .build();
    let client = aws_sdk_sqs::Client::from_conf(config);
    let trigger: SqsTrigger = toml::from_str(&format!("queue_url = \"{queue_url}\"\ncomponent = \"probe\"\nidle_wait_seconds = 1")).unwrap();
    let recorder = Arc::new(Recorder::default());
    let limits = TriggerLimits { in_flight: 2, deadline: Duration::from_secs(2) };
    let poller = tokio::spawn(run_with(client, trigger, recorder.clone(), limits));

    let started = Instant::now();
    loop {
        let (done, stuck) = {
            let s = recorder.state.lock().unwrap();
            (s.done.len(), s.stuck_deliveries)
        };
        if (done == 8 && stuck >= 2) || started.elapsed() > Duration::from_secs(60) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    poller.abort();
    let s = recorder.state.lock().unwrap();
    assert_eq!(s.done.len(), 8, "every ordinary message was handled: {:?}", s.done);
    assert!(s.most_at_once <= 2, "at most 2 at once, saw {}", s.most_at_once);
    assert!(s.stuck_deliveries >= 2, "the stuck message was dropped at its deadline and delivered again ({})", s.stuck_deliveries);
}
