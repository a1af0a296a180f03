//! Unsigned 64 MiB PUTs cost the endpoint almost nothing: they are refused from their headers, before a body byte
//! is read. Alone in its own test binary so that no other test's allocations move the process's RSS.

mod common;

use std::io::Write;
use std::time::Duration;

use common::raw::{self, connect, read_reply, vm_rss_kib};
use tr_embedded_aws::Limits;

const PUTS: usize = 20;
const BODY: usize = 64 * 1024 * 1024;
static CHUNK: [u8; 64 * 1024] = [b'x'; 64 * 1024];

#[test]
fn twenty_unsigned_64_mib_puts_are_refused_with_little_rss_growth() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (server, _dir, target) = rt.block_on(common::embedded_with(Limits::default()));
    // Warm up: one real call, so lazily built runtime and storage state is in the baseline.
    rt.block_on(target.sqs().list_queues().send()).unwrap();
    let addr = server.local_addr();
    let before = vm_rss_kib();

    let clients: Vec<_> = (0..PUTS)
        .map(|i| {
            std::thread::spawn(move || {
                let mut stream = connect(addr);
                stream
                    .write_all(
                        format!(
                            "PUT /b/k{i} HTTP/1.1\r\nHost: x\r\nContent-Length: {BODY}\r\n\r\n"
                        )
                        .as_bytes(),
                    )
                    .unwrap();
                // Send the body without waiting for an answer, as a careless client does.
                let mut writer = stream.try_clone().unwrap();
                let sender = std::thread::spawn(move || {
                    let mut sent = 0;
                    while sent < BODY && raw::write_ignoring(&mut writer, &CHUNK) {
                        sent += CHUNK.len();
                    }
                    sent
                });
                let reply = read_reply(&mut stream);
                let sent = sender.join().unwrap();
                (reply, sent)
            })
        })
        .collect();
    for c in clients {
        let (reply, sent) = c.join().unwrap();
        let reply = reply.expect("the client saw the refusal");
        assert_eq!(reply.status, 403, "{reply:?}");
        assert!(reply.closes(), "{reply:?}");
        assert!(sent < BODY, "the endpoint read all {sent} bytes");
    }
    std::thread::sleep(Duration::from_millis(100));
    let after = vm_rss_kib();
    let growth = after.saturating_sub(before);
    eprintln!("VmRSS {before} kB -> {after} kB (+{growth} kB) over {PUTS} unsigned 64 MiB PUTs");
    assert!(growth < 10 * 1024, "RSS grew {growth} kB");
}
