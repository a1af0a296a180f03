//! `replay` moves a dead-letter queue back to the queue that dead-letters into it, and refuses what would
//! loop or steal work: a queue that is no dead-letter queue (`replay tr-read-tickets` used to run until
//! killed, moving the queue into itself), and a DLQ named as its own target. Against the embedded endpoint
//! with the queues `up` creates (started in-process: no wasm needed), through the real binary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use tr_devtools::local_aws::LocalAws;

/// `<target>/` from this test binary's path (`<target>/debug/deps/<test>`).
fn target_dir() -> PathBuf {
    std::env::current_exe().unwrap().ancestors().nth(3).unwrap().to_path_buf()
}

/// Runs `tr-intake args… -f dir/spin.toml`; (succeeded, stdout + stderr).
fn cli(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tr-intake")).args(args).arg("-f").arg(dir.join("spin.toml")).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn replay_refuses_a_queue_that_is_not_a_dead_letter_queue_and_never_replays_into_itself() {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    let dir = target_dir().join("tmp/devtools-tests").join(format!("replay-{nanos}"));
    std::fs::create_dir_all(dir.join(".spin")).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let _local = rt.block_on(LocalAws::start(&dir.join(".spin"), "127.0.0.1:0".parse().unwrap())).unwrap();

    for queue in ["tr-read-tickets", "tr-tickets"] {
        let (ok, text) = cli(&dir, &["replay", queue]);
        assert!(!ok, "replay {queue} succeeded:\n{text}");
        assert!(text.contains(&format!("`{queue}` is not a dead-letter queue")), "{text}");
        assert!(text.contains("dead-letter queues here: tr-raw-mail-events-dlq, tr-tickets-dlq"), "{text}");
    }

    let (ok, text) = cli(&dir, &["replay", "tr-tickets-dlq", "--to", "tr-tickets-dlq"]);
    assert!(!ok, "{text}");
    assert!(text.contains("`tr-tickets-dlq` cannot be replayed into itself"), "{text}");

    let (ok, text) = cli(&dir, &["replay", "tr-tickets-dlq", "--to", "nope"]);
    assert!(!ok && text.contains("no queue `nope`"), "{text}");

    // A dead-letter queue goes back to the queue whose RedrivePolicy names it.
    let (ok, text) = cli(&dir, &["replay", "tr-tickets-dlq"]);
    assert!(ok, "{text}");
    assert!(text.contains("moved 0 messages from tr-tickets-dlq to tr-tickets"), "{text}");
}
