//! The embedded default end to end: the repository's own `spin.toml` under `tr-intake up` with no AWS endpoint,
//! no credentials and no queue configured. The host must start the embedded SQS/S3 endpoint, create the bucket
//! and queues, and wire every lane to them; `mail send` (PutObject, as SES inbound) must become a read ticket,
//! a form post too; `tickets`, `queues` and `replay` must show and move what is there.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::pipeline::{repo, repository_app};
use common::{RunningHost, post, start_cleared};
use serde_json::json;

fn app() -> PathBuf {
    repository_app("embedded")
}

/// The environment of a new machine: nothing that points at AWS (the test runner's own settings removed).
const CLEARED: [&str; 8] = [
    "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
    "SPIN_VARIABLE_SQS_ENDPOINT", "SPIN_VARIABLE_TICKET_QUEUE_URL", "SPIN_VARIABLE_AWS_ACCESS_KEY_ID", "SPIN_VARIABLE_READER",
];

fn up(dir: &Path, extra: &[&str]) -> RunningHost {
    let mut args = vec!["--aws-listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let env = [("SPIN_VARIABLE_FORM_SITE_KEY", "local-site-key"), ("SPIN_VARIABLE_FORM_ALLOWED_ORIGINS", "http://localhost:8000")];
    start_cleared(dir, &args, &env, &CLEARED)
}

fn cli(dir: &Path, args: &[&str]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tr-intake"));
    for name in CLEARED {
        cmd.env_remove(name);
    }
    let out = cmd.args(args).arg("-f").arg(dir.join("spin.toml")).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "tr-intake {args:?} failed:\n{text}");
    text
}

fn wait_for(what: &str, seconds: u64, mut check: impl FnMut() -> Option<String>) -> String {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(Instant::now() < deadline, "{what} did not happen within {seconds} s");
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn up_with_nothing_configured_runs_the_whole_pipeline() {
    let dir = app();
    let host = up(&dir, &[]);
    let log = host.output();
    assert!(log.contains("embedded SQS/S3 endpoint http://127.0.0.1:"), "{log}");
    for queue in ["tr-raw-mail-events", "tr-raw-mail-events-dlq", "tr-tickets", "tr-tickets-dlq", "tr-read-tickets"] {
        assert!(log.contains(&format!("queue {queue} ")), "{queue} not announced:\n{log}");
    }

    // A mail, exactly as SES inbound writes it: PutObject into the bucket → notification → email → ticket → read.
    let sent = cli(&dir, &["mail", "send", repo().join("tests/fixtures/email-lane/new.eml").to_str().unwrap()]);
    assert!(sent.contains("s3://tr-raw-mail/inbound/"), "{sent}");
    let line = wait_for("the mail's ticket being read", 60, || {
        let list = cli(&dir, &["tickets"]);
        list.lines().find(|l| l.contains(" email ") && !l.contains("(not read yet)")).map(str::to_owned)
    });
    let id = line.split_whitespace().next().unwrap().to_owned();
    let record: serde_json::Value = serde_json::from_str(&cli(&dir, &["tickets", &id, "--json"])).unwrap();
    assert_eq!(record["ticket"]["source"], "email");
    assert!(record["ticket"]["reading"]["topic"].is_string(), "{record}");
    // For a person: the reading and the mail's text without its quoted history, found by its Message-ID too.
    let shown = cli(&dir, &["tickets", "<first-7f3a@mail.example.com>"]);
    assert!(shown.starts_with(&format!("ticket {id} · email · ")) && shown.contains("\n  reading     topic "), "{shown}");
    assert!(shown.contains("\n    Hi, my card was charged twice for the November invoice (INV-2291).\n") && !shown.contains("> Your invoice"), "{shown}");

    // The form lane is wired to the same queue.
    let form = json!({"site_key": "local-site-key", "nonce": "n-embedded-1", "email": "ana@example.com",
        "message": "Where do I download last month's invoice?", "fill_ms": 9000});
    let reply = post(
        &format!("{}/form", host.base),
        &[("content-type", "application/json"), ("origin", "http://localhost:8000")],
        form.to_string().as_bytes(),
    );
    assert_eq!(reply.status, 202, "{}", reply.body);
    wait_for("the form's ticket being read", 60, || {
        let list = cli(&dir, &["tickets"]);
        list.lines().find(|l| l.contains(" form ") && l.contains("ana@example.com") && !l.contains("(not read yet)")).map(str::to_owned)
    });

    // A dead-lettered message goes back with `replay` (here: a copy of a real S3 event, put in the DLQ by hand).
    let queues = cli(&dir, &["queues"]);
    assert!(queues.contains("tr-tickets-dlq"), "{queues}");
    let state: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join(".spin/local-aws.json")).unwrap()).unwrap();
    // The local secret is this folder's own, and only its owner may read it.
    let secret = state["secret_access_key"].as_str().unwrap();
    assert!(secret.len() >= 32 && secret.chars().all(|c| c.is_ascii_hexdigit()), "{secret}");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join(".spin/local-aws.json")).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "local-aws.json is readable by others: {mode:o}");
    }
    let key = sent.split("s3://tr-raw-mail/").nth(1).unwrap().trim();
    let event = json!({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": "2026-11-27T07:00:00.000Z", "eventName": "ObjectCreated:Put",
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "replayed", "bucket": {"name": "tr-raw-mail", "arn": "arn:aws:s3:::tr-raw-mail"},
               "object": {"key": key, "size": 1, "eTag": "x", "sequencer": "0"}}}]});
    send_raw(&state, "tr-raw-mail-events-dlq", &event.to_string());
    let before = cli(&dir, &["queues"]);
    assert!(depth(&before, "tr-raw-mail-events-dlq") == 1, "{before}");
    let moved = cli(&dir, &["replay", "tr-raw-mail-events-dlq"]);
    assert!(moved.contains("moved 1 messages from tr-raw-mail-events-dlq to tr-raw-mail-events"), "{moved}");
    assert_eq!(depth(&cli(&dir, &["queues"]), "tr-raw-mail-events-dlq"), 0);
    let seen = host.wait_for_output(&format!("[email] s3://tr-raw-mail/{key} -> repeat"), Duration::from_secs(30));
    assert!(seen, "the replayed event reached the email lane (a repeat of the same mail: one ticket):\n{}", host.output());
    let tickets = cli(&dir, &["tickets"]);
    assert!(tickets.trim_end().ends_with("2 tickets"), "{tickets}");

    // The watched mail drop: a file put there goes into the bucket and on through the lane (an auto-reply:
    // suppressed by the loop guard, so still two tickets), and moves to sent/.
    let drop_dir = dir.join(".spin/mail-drop");
    std::fs::copy(repo().join("tests/fixtures/email-lane/autoreply.eml"), drop_dir.join("autoreply.eml")).unwrap();
    let seen = host.wait_for_output("autoreply.eml -> suppressed", Duration::from_secs(30));
    assert!(seen, "the dropped mail reached the email lane:\n{}", host.output());
    assert!(drop_dir.join("sent/autoreply.eml").is_file() && !drop_dir.join("autoreply.eml").exists());

    // `--reset` starts clean.
    drop(host);
    let host = up(&dir, &["--reset"]);
    assert!(host.output().contains("--reset: removed"), "{}", host.output());
    assert!(!dir.join(".spin/sqlite_key_value.db").exists() || cli(&dir, &["tickets"]).contains("0 tickets"));
}

/// The `visible` column of `tr-intake queues` for `queue`.
fn depth(table: &str, queue: &str) -> u64 {
    let line = table.lines().find(|l| l.split_whitespace().next() == Some(queue)).unwrap_or_else(|| panic!("{queue}: {table}"));
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// SendMessage with the official SDK to the embedded endpoint, using the state file's local key.
fn send_raw(state: &serde_json::Value, queue: &str, body: &str) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let state: tr_devtools::local_aws::LocalAwsState = serde_json::from_value(state.clone()).unwrap();
        aws_sdk_sqs::Client::new(&state.sdk_config().await)
            .send_message()
            .queue_url(state.queues[queue].as_str())
            .message_body(body)
            .send()
            .await
            .unwrap();
    });
}

/// What `up` prints at start, tried as a new user would: every route (the lanes' endpoints included), a warning
/// for each lane that cannot work as configured (here: no form site key or allowed origin, no chat secrets),
/// and next commands that run exactly as printed.
#[test]
fn up_lists_every_route_warns_of_unusable_lanes_and_prints_runnable_commands() {
    let dir = app();
    let mut cleared = CLEARED.to_vec();
    cleared.extend([
        "SPIN_VARIABLE_FORM_SITE_KEY", "SPIN_VARIABLE_FORM_ALLOWED_ORIGINS", "SPIN_VARIABLE_CHAT_SECRET",
        "SPIN_VARIABLE_TAWK_WEBHOOK_SECRET", "SPIN_VARIABLE_CHATWOOT_WEBHOOK_SECRET",
    ]);
    let host = start_cleared(&dir, &["--aws-listen", "127.0.0.1:0"], &[], &cleared);
    assert!(host.wait_for_output("tr-intake: warning: chat:", Duration::from_secs(30)), "no chat warning:\n{}", host.output());
    let log = host.output();
    for path in ["/form", "/form/embed.js", "/form/check", "/chat", "/chat/tawk", "/chat/chatwoot"] {
        assert!(log.contains(&format!("{}{path} ", host.base)), "{path} not listed:\n{log}");
    }
    for (lane, variable) in [("form", "form_site_key"), ("form", "form_allowed_origins"), ("chat", "chat_secret")] {
        let warning = format!("tr-intake: warning: {lane}: `{variable}` is empty");
        assert!(log.contains(&warning), "no `{warning}`:\n{log}");
    }
    assert!(log.contains("every form post is refused 403") && log.contains("every generic chat post (/chat) is answered 500"), "{log}");

    // Each `try:` command runs as printed (the first needs a real file in place of FILE.eml).
    let commands: Vec<&str> = log
        .lines()
        .skip_while(|l| !l.starts_with("  try: "))
        .take(4)
        .map(|l| l.trim_start().trim_start_matches("try: "))
        .collect();
    assert_eq!(commands.len(), 4, "{log}");
    let mail = repo().join("tests/fixtures/email-lane/new.eml");
    for command in commands {
        let words: Vec<String> = command.split_whitespace().map(|w| if w == "FILE.eml" { mail.display().to_string() } else { w.to_owned() }).collect();
        assert!(Path::new(&words[0]).is_absolute(), "{command}");
        let mut cmd = Command::new(&words[0]);
        for name in CLEARED {
            cmd.env_remove(name);
        }
        let out = cmd.args(&words[1..]).current_dir(std::env::temp_dir()).output().unwrap();
        assert!(out.status.success(), "`{command}` failed:\n{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    }
}
