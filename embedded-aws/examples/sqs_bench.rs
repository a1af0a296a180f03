//! SQS throughput, embedded endpoint vs moto, with the same aws-sdk-sqs client code against both.
//!
//! usage: `cargo run --release -p tr-embedded-aws --example sqs_bench -- [MESSAGES] [CONCURRENCY]`
//! (defaults 2000 and 8), with TR_MOTO_ENDPOINT / TR_MOTO_ACCESS_KEY_ID / TR_MOTO_SECRET_ACCESS_KEY set as
//! `scripts/test` sets them (see BENCHMARKS.md). Phases per endpoint: SendMessage (CONCURRENCY tasks, one message
//! per call), then ReceiveMessage (up to 10) + DeleteMessage per message until the queue is empty; then the
//! durable-write cost: SendMessage one at a time (every send its own fsync'd commit) and a bare SQLite commit in
//! the same mode (WAL, synchronous=FULL) on the same disk.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_sqs::Client;
use tr_embedded_aws::{Config, EmbeddedAws, LocalCredentials};

fn client(endpoint: &str, key: &str, secret: &str) -> Client {
    let conf = aws_sdk_sqs::Config::builder()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(aws_sdk_sqs::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            key, secret, None, None, "bench",
        ))
        .build();
    Client::from_conf(conf)
}

struct Result {
    send_per_s: f64,
    recv_delete_per_s: f64,
    sequential_send_ms: f64,
}

async fn bench(sqs: &Client, messages: usize, concurrency: usize) -> Result {
    let name = format!("bench-{}", uuid::Uuid::new_v4().simple());
    let url = sqs
        .create_queue()
        .queue_name(&name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let body = "x".repeat(512);

    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (sqs, url, body, next) = (sqs.clone(), url.clone(), body.clone(), next.clone());
            tokio::spawn(async move {
                while next.fetch_add(1, Ordering::Relaxed) < messages {
                    sqs.send_message()
                        .queue_url(&url)
                        .message_body(&body)
                        .send()
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let send_per_s = messages as f64 / started.elapsed().as_secs_f64();

    let done = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|_| {
            let (sqs, url, done) = (sqs.clone(), url.clone(), done.clone());
            tokio::spawn(async move {
                while done.load(Ordering::Relaxed) < messages {
                    let got = sqs
                        .receive_message()
                        .queue_url(&url)
                        .max_number_of_messages(10)
                        .send()
                        .await
                        .unwrap();
                    for m in got.messages.unwrap_or_default() {
                        sqs.delete_message()
                            .queue_url(&url)
                            .receipt_handle(m.receipt_handle.unwrap())
                            .send()
                            .await
                            .unwrap();
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let recv_delete_per_s = messages as f64 / started.elapsed().as_secs_f64();

    let sequential = 200;
    let started = Instant::now();
    for _ in 0..sequential {
        sqs.send_message()
            .queue_url(&url)
            .message_body(&body)
            .send()
            .await
            .unwrap();
    }
    let sequential_send_ms = started.elapsed().as_secs_f64() * 1000.0 / sequential as f64;
    sqs.delete_queue().queue_url(&url).send().await.unwrap();
    Result {
        send_per_s,
        recv_delete_per_s,
        sequential_send_ms,
    }
}

/// One row insert + COMMIT in the endpoint's durability mode: the floor under a lone SendMessage.
fn bare_commit_ms(dir: &std::path::Path) -> f64 {
    let conn = rusqlite::Connection::open(dir.join("commit-bench.sqlite3")).unwrap();
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    conn.execute_batch("CREATE TABLE t(x BLOB)").unwrap();
    let n = 300;
    let started = Instant::now();
    for _ in 0..n {
        conn.execute("INSERT INTO t VALUES (zeroblob(512))", [])
            .unwrap();
    }
    started.elapsed().as_secs_f64() * 1000.0 / n as f64
}

#[tokio::main]
async fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("numbers"))
        .collect();
    let messages = args.first().copied().unwrap_or(2000);
    let concurrency = args.get(1).copied().unwrap_or(8);
    let var = |n: &str| {
        std::env::var(n)
            .unwrap_or_else(|_| panic!("{n} must be set (start moto as scripts/test does)"))
    };
    let moto = client(
        &var("TR_MOTO_ENDPOINT"),
        &var("TR_MOTO_ACCESS_KEY_ID"),
        &var("TR_MOTO_SECRET_ACCESS_KEY"),
    );

    let dir = tempfile::tempdir().unwrap();
    let server = EmbeddedAws::start(Config::new(
        dir.path(),
        LocalCredentials::new("AKIDBENCH", "bench-secret"),
    ))
    .await
    .unwrap();
    let embedded = client(server.endpoint(), "AKIDBENCH", "bench-secret");

    // Warm both (connections, moto's first-request costs) so neither pays start-up inside the timing.
    for c in [&embedded, &moto] {
        let _ = c.list_queues().send().await.unwrap();
    }
    println!("messages {messages}, concurrency {concurrency}, body 512 B");
    let e = bench(&embedded, messages, concurrency).await;
    let m = bench(&moto, messages, concurrency).await;
    let commit = bare_commit_ms(dir.path());
    println!("| | embedded | moto | embedded / moto |");
    println!("|---|---:|---:|---:|");
    println!(
        "| SendMessage, msg/s | {:.0} | {:.0} | {:.1}x |",
        e.send_per_s,
        m.send_per_s,
        e.send_per_s / m.send_per_s
    );
    println!(
        "| ReceiveMessage + DeleteMessage, msg/s | {:.0} | {:.0} | {:.1}x |",
        e.recv_delete_per_s,
        m.recv_delete_per_s,
        e.recv_delete_per_s / m.recv_delete_per_s
    );
    println!(
        "| one SendMessage at a time, ms/msg | {:.2} | {:.2} | {:.1}x |",
        e.sequential_send_ms,
        m.sequential_send_ms,
        m.sequential_send_ms / e.sequential_send_ms
    );
    println!("| bare SQLite commit (WAL, synchronous=FULL), ms | {commit:.3} | – | – |");
    server.shutdown().await;
    tokio::time::sleep(Duration::from_millis(10)).await;
}
