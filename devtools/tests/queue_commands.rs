//! The CLI's queue commands against the embedded endpoint with the queues `up` creates (started in-process: no
//! wasm needed), through the real binary:
//! - `replay` moves a dead-letter queue back to the queue that dead-letters into it, and refuses what would loop or
//!   steal work: a queue that is no dead-letter queue (`replay tr-read-tickets` used to run until killed, moving
//!   the queue into itself), and a DLQ named as its own target.
//! - `status ID solved|closed|open` puts the router's status command on the local ticket queue, in the shape the
//!   read component decodes, and refuses a malformed one before sending anything.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use tr_core::store::TicketStatus;
use tr_core::store::keep::{QueueEvent, decode_event};
use tr_devtools::local_aws::{LocalAws, TICKET_QUEUE};

/// `<target>/` from this test binary's path (`<target>/debug/deps/<test>`).
fn target_dir() -> PathBuf {
    std::env::current_exe().unwrap().ancestors().nth(3).unwrap().to_path_buf()
}

/// A fresh state folder with the embedded endpoint running in it (kept alive by the runtime and the handle).
fn local_endpoint(name: &str) -> (PathBuf, tokio::runtime::Runtime, LocalAws) {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    let dir = target_dir().join("tmp/devtools-tests").join(format!("{name}-{nanos}"));
    std::fs::create_dir_all(dir.join(".spin")).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    let local = rt.block_on(LocalAws::start(&dir.join(".spin"), "127.0.0.1:0".parse().unwrap())).unwrap();
    (dir, rt, local)
}

/// Runs `tr-intake args… -f dir/spin.toml`; (succeeded, stdout + stderr).
fn cli(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tr-intake")).args(args).arg("-f").arg(dir.join("spin.toml")).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn replay_refuses_a_queue_that_is_not_a_dead_letter_queue_and_never_replays_into_itself() {
    let (dir, _rt, _local) = local_endpoint("replay");

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

#[test]
fn status_sends_the_routers_command_to_the_ticket_queue() {
    let (dir, rt, local) = local_endpoint("status");
    let sqs = aws_sdk_sqs::Client::new(&rt.block_on(local.state.sdk_config()));
    let url = local.state.queue_url(TICKET_QUEUE).unwrap().to_owned();

    let (ok, text) = cli(&dir, &["status", "01KB0Y3J5V6N2Q8R9S0T1V2W3X", "solved", "--command-id", "c-7"]);
    assert!(ok, "{text}");
    assert!(text.contains("sent solved for ticket 01KB0Y3J5V6N2Q8R9S0T1V2W3X (command c-7"), "{text}");
    let (ok, text) = cli(&dir, &["status", "01KB0Y3J5V6N2Q8R9S0T1V2W3X", "open"]);
    assert!(ok, "{text}");

    let got = rt.block_on(sqs.receive_message().queue_url(&url).max_number_of_messages(10).wait_time_seconds(2).send()).unwrap();
    let mut commands: Vec<_> = got
        .messages()
        .iter()
        .map(|m| match decode_event(m.body().unwrap()).unwrap() {
            QueueEvent::Status(command) => command,
            other => panic!("not a status command: {other:?}"),
        })
        .collect();
    commands.sort_by_key(|c| c.status != TicketStatus::Solved);
    assert_eq!(commands.len(), 2, "{commands:?}");
    assert_eq!((commands[0].status, commands[0].command_id.as_str()), (TicketStatus::Solved, "c-7"));
    assert_eq!(commands[1].status, TicketStatus::Open);
    assert_eq!(commands[1].command_id.len(), 26, "a new ULID: {}", commands[1].command_id);

    // Refused before anything is sent.
    for bad in [&["status", "not-a-ticket", "closed"][..], &["status", "01KB0Y3J5V6N2Q8R9S0T1V2W3X", "closed", "--command-id", "a b"]] {
        let (ok, text) = cli(&dir, bad);
        assert!(!ok, "{text}");
    }
    let (ok, text) = cli(&dir, &["status", "01KB0Y3J5V6N2Q8R9S0T1V2W3X", "pending"]);
    assert!(!ok && text.contains("pending"), "{text}");
    let after = rt.block_on(sqs.receive_message().queue_url(&url).wait_time_seconds(1).send()).unwrap();
    assert!(after.messages().is_empty(), "nothing more was sent");
}
