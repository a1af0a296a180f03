//! Durability: SIGKILL the endpoint process in the middle of a burst of sends, restart it on the same directory,
//! and check that every SendMessage that was acknowledged is there, exactly once, with the id it was given.
//! (Sends in flight at the kill may or may not have landed; they were never acknowledged, so either is right —
//! but none may appear twice.)

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{ACCESS_KEY, SECRET, Target};

fn start(dir: &std::path::Path) -> (Child, Target) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tr-embedded-aws"))
        .args(["serve", "--dir", dir.to_str().unwrap(), "--port", "0"])
        .env("TR_EMBEDDED_ACCESS_KEY_ID", ACCESS_KEY)
        .env("TR_EMBEDDED_SECRET_ACCESS_KEY", SECRET)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start tr-embedded-aws");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let endpoint = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected: {line:?}"))
        .to_owned();
    (
        child,
        Target {
            name: "embedded",
            endpoint,
            access_key: ACCESS_KEY.into(),
            secret: SECRET.into(),
        },
    )
}

/// A client that never retries: a retried send could land twice and hide (or fake) a duplicate.
fn no_retry_sqs(t: &Target) -> aws_sdk_sqs::Client {
    let conf = t
        .sqs()
        .config()
        .to_builder()
        .retry_config(aws_sdk_sqs::config::retry::RetryConfig::disabled())
        .build();
    aws_sdk_sqs::Client::from_conf(conf)
}

#[test]
fn every_acknowledged_send_survives_a_sigkill_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, target) = start(dir.path());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let url = rt.block_on(async {
        target
            .sqs()
            .create_queue()
            .queue_name("crash")
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap()
    });

    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let count = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let burst = std::thread::spawn({
        let (acked, count, stop, target, url) = (
            acked.clone(),
            count.clone(),
            stop.clone(),
            target.clone(),
            url.clone(),
        );
        move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let sqs = no_retry_sqs(&target);
                let senders: Vec<_> = (0..4)
                    .map(|sender| {
                        let (sqs, url, acked, count, stop) = (
                            sqs.clone(),
                            url.clone(),
                            acked.clone(),
                            count.clone(),
                            stop.clone(),
                        );
                        tokio::spawn(async move {
                            for i in 0.. {
                                if stop.load(Ordering::Relaxed) {
                                    return;
                                }
                                let body = format!("sender{sender}-msg{i}");
                                match sqs
                                    .send_message()
                                    .queue_url(&url)
                                    .message_body(&body)
                                    .send()
                                    .await
                                {
                                    Ok(out) => {
                                        acked.lock().unwrap().push((body, out.message_id.unwrap()));
                                        count.fetch_add(1, Ordering::Relaxed);
                                    }
                                    Err(_) => return, // the server is gone
                                }
                            }
                        })
                    })
                    .collect();
                for s in senders {
                    let _ = s.await;
                }
            });
        }
    });

    let deadline = Instant::now() + Duration::from_secs(60);
    while count.load(Ordering::Relaxed) < 300 {
        assert!(
            Instant::now() < deadline,
            "the burst never reached 300 acknowledged sends"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL: no shutdown, no flush
    child.wait().unwrap();
    stop.store(true, Ordering::Relaxed);
    burst.join().unwrap();
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 300);

    let (mut child, target) = start(dir.path());
    let received: Vec<(String, String)> = rt.block_on(async {
        let sqs = target.sqs();
        let url = sqs
            .get_queue_url()
            .queue_name("crash")
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let mut out = Vec::new();
        loop {
            let got = sqs
                .receive_message()
                .queue_url(&url)
                .max_number_of_messages(10)
                .visibility_timeout(600)
                .send()
                .await
                .unwrap();
            let messages = got.messages.unwrap_or_default();
            if messages.is_empty() {
                break;
            }
            out.extend(
                messages
                    .into_iter()
                    .map(|m| (m.body.unwrap(), m.message_id.unwrap())),
            );
        }
        out
    });
    child.kill().unwrap();
    child.wait().unwrap();

    let mut by_body: HashMap<&str, Vec<&str>> = HashMap::new();
    for (body, id) in &received {
        by_body.entry(body).or_default().push(id);
    }
    let duplicates: Vec<_> = by_body.iter().filter(|(_, ids)| ids.len() > 1).collect();
    assert!(
        duplicates.is_empty(),
        "delivered more than once: {duplicates:?}"
    );
    for (body, id) in &acked {
        assert_eq!(
            by_body.get(body.as_str()).map(|ids| ids[0]),
            Some(id.as_str()),
            "acknowledged {body} lost or changed"
        );
    }
    eprintln!(
        "acknowledged {}, present after restart {} (the rest were in flight at the kill)",
        acked.len(),
        received.len()
    );
}
