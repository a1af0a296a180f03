//! The one-ticket promise through the local host (issue 18's "must show"): the repository's own spin.toml under
//! `tr-intake up` with its defaults and nothing else configured — real components, the embedded SQS/S3 endpoint,
//! the host's SQLite store — driven the way customers and SES do: raw mail put into the bucket, form posts over
//! HTTP. What is asserted is what the router and a person would see: the records in the store and the events on
//! the read queue.

mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::pipeline::{repo, repository_app};
use common::{RunningHost, Reply, post, start_cleared};
use serde_json::{Value, json};
use tr_core::store::TicketRecord;

/// The environment of a new machine: nothing that points at AWS (the test runner's own settings removed).
const CLEARED: [&str; 8] = [
    "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "SPIN_VARIABLE_SQS_ENDPOINT",
    "SPIN_VARIABLE_TICKET_QUEUE_URL", "SPIN_VARIABLE_AWS_ACCESS_KEY_ID", "SPIN_VARIABLE_READER",
];
const ORIGIN: &str = "http://localhost:8000";

struct Up {
    dir: PathBuf,
    host: RunningHost,
}

impl Up {
    /// `up` on a fresh copy of the repository's spin.toml; `env`: what the operator set on top of the defaults.
    fn start(name: &str, env: &[(&str, &str)]) -> Up {
        let dir = repository_app(name);
        // The form needs a site key and an allowed origin to take posts at all; everything else is `up`'s.
        let mut vars = vec![("SPIN_VARIABLE_FORM_SITE_KEY", "local-site-key"), ("SPIN_VARIABLE_FORM_ALLOWED_ORIGINS", ORIGIN)];
        vars.extend_from_slice(env);
        let host = start_cleared(&dir, &["--aws-listen", "127.0.0.1:0"], &vars, &CLEARED);
        Up { dir, host }
    }

    fn cli(&self, args: &[&str]) -> String {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tr-intake"));
        for name in CLEARED {
            cmd.env_remove(name);
        }
        let out = cmd.args(args).arg("-f").arg(self.dir.join("spin.toml")).output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "tr-intake {args:?} failed:\n{text}");
        text
    }

    /// Puts raw mail into the bucket (as SES inbound does), one object per mail, in one command.
    fn mail(&self, mails: &[&str]) {
        let files: Vec<String> = mails
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
                let file = self.dir.join(format!("mail-{nanos}-{i}.eml"));
                std::fs::write(&file, text.replace('\n', "\r\n")).unwrap();
                file.display().to_string()
            })
            .collect();
        let mut args = vec!["mail", "send"];
        args.extend(files.iter().map(String::as_str));
        self.cli(&args);
    }

    fn form(&self, nonce: &str, email: &str, message: &str) -> Reply {
        form_post(&self.host.base, nonce, email, message)
    }

    fn form_raw(&self, body: &[u8]) -> Reply {
        post(&format!("{}/form", self.host.base), &[("content-type", "application/json"), ("origin", ORIGIN)], body)
    }

    /// Every ticket record in the store, by id (a scan: tests and the CLI only).
    fn records(&self) -> BTreeMap<String, TicketRecord> {
        let kv = tr_host::kv::SqliteKv::open(&self.dir.join(".spin/sqlite_key_value.db")).unwrap();
        kv.get_keys("default")
            .unwrap()
            .into_iter()
            .filter_map(|k| k.strip_prefix("tr/t/").map(str::to_owned))
            .map(|id| {
                let bytes = kv.get("default", &format!("tr/t/{id}")).unwrap().unwrap();
                (id, serde_json::from_slice(&bytes).unwrap())
            })
            .collect()
    }

    /// Waits until the store holds `n` messages in all (every intake done).
    fn wait_for_messages(&self, n: usize, what: &str) -> BTreeMap<String, TicketRecord> {
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let records = self.records();
            if records.values().map(|r| r.messages.len()).sum::<usize>() >= n {
                return records;
            }
            assert!(Instant::now() < deadline, "{what}: {n} messages not stored within 90 s:\n{records:#?}\n{}", self.host.output());
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Receives from the read queue (the router's side) until `n` events came or `seconds` passed.
    fn read_queue(&self, n: usize, seconds: u64) -> Vec<Value> {
        let state = tr_devtools::local_aws::LocalAwsState::load(&self.dir.join("spin.toml")).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let sqs = aws_sdk_sqs::Client::new(&state.sdk_config().await);
            let url = state.queues["tr-read-tickets"].as_str();
            let deadline = Instant::now() + Duration::from_secs(seconds);
            let mut out = Vec::new();
            while out.len() < n && Instant::now() < deadline {
                let got = sqs.receive_message().queue_url(url).max_number_of_messages(10).wait_time_seconds(1).send().await.unwrap();
                for m in got.messages() {
                    out.push(serde_json::from_str(m.body().unwrap()).unwrap());
                    sqs.delete_message().queue_url(url).receipt_handle(m.receipt_handle().unwrap()).send().await.unwrap();
                }
            }
            out
        })
    }
}

fn form_post(base: &str, nonce: &str, email: &str, message: &str) -> Reply {
    let body = json!({"site_key": "local-site-key", "nonce": nonce, "email": email, "message": message, "fill_ms": 9000});
    post(&format!("{base}/form"), &[("content-type", "application/json"), ("origin", ORIGIN)], body.to_string().as_bytes())
}

/// A form post as the embed sends it: retried on 503 and 429 with the same nonce until accepted.
fn form_until_accepted(base: &str, nonce: &str, email: &str, message: &str) -> Reply {
    for _ in 0..60 {
        let reply = form_post(base, nonce, email, message);
        if reply.status != 503 && reply.status != 429 {
            return reply;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    panic!("form post {nonce} never accepted");
}

fn mail(from: &str, message_id: &str, subject: &str, body: &str, extra_headers: &str) -> String {
    format!(
        "{extra_headers}From: {from}\nTo: support@tr-intake.test\nSubject: {subject}\nDate: Sun, 06 Dec 2026 09:00:00 +0000\n\
         Message-ID: <{message_id}>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n{body}\n"
    )
}

const PROBLEM: &str = "The CSV export of the Projects report fails with \"Export failed, try again later\" since this \
    morning. We need that export for our monthly client billing.";

/// The ticket event, or the append event, an item of the read queue is; and the ticket it names.
fn kind_and_ticket(event: &Value) -> (&'static str, String) {
    match event["event"].as_str() {
        Some("append") => ("append", event["append"]["ticket_id"].as_str().unwrap().to_owned()),
        None | Some("ticket") => ("ticket", event["ticket"]["id"].as_str().unwrap().to_owned()),
        Some(other) => (if other == "status" { "status" } else { "other" }, String::new()),
    }
}

#[test]
fn a_mail_its_reply_and_a_form_post_on_the_same_problem_are_one_ticket_read_once() {
    let up = Up::start("one-ticket", &[]);
    up.mail(&[&mail("Ana Lima <ana@acme.example>", "ot-1@acme.example", "CSV export fails", PROBLEM, "")]);
    up.wait_for_messages(1, "the first mail");
    up.mail(&[&mail(
        "Ana Lima <ana@acme.example>",
        "ot-2@acme.example",
        "Re: CSV export fails",
        "It still fails today, at 40% every time. Any news?",
        "In-Reply-To: <ot-1@acme.example>\nReferences: <ot-1@acme.example>\n",
    )]);
    up.wait_for_messages(2, "the reply");
    let reply = form_until_accepted(&up.host.base, "ot-form-1", "ana@acme.example", PROBLEM);
    assert_eq!(reply.status, 202, "{}", reply.body);
    let records = up.wait_for_messages(3, "the form post");
    assert_eq!(records.len(), 1, "one ticket: {records:#?}");
    let record = records.values().next().unwrap();
    let merges: Vec<String> = record.merges.iter().map(|m| format!("{:?}", m.reason)).collect();
    assert_eq!(merges, ["Thread", "Duplicate"], "reply by thread, form post by duplicate");

    // The router's side: the ticket once, read (its reading on it), and the two appends, with no second reading.
    let events = up.read_queue(3, 60);
    let kinds: Vec<(&str, String)> = events.iter().map(kind_and_ticket).collect();
    assert_eq!(kinds.iter().filter(|(k, _)| *k == "ticket").count(), 1, "{events:#?}");
    assert_eq!(kinds.iter().filter(|(k, _)| *k == "append").count(), 2, "{events:#?}");
    assert!(kinds.iter().all(|(_, t)| t == &record.ticket.id), "{events:#?}");
    // Every event is what the router contract says, with its stable id.
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(repo().join("docs/router-events.schema.json")).unwrap()).unwrap();
    let validator = jsonschema::options().should_validate_formats(true).build(&schema).expect("a valid schema");
    for event in &events {
        let errors: Vec<String> = validator.iter_errors(event).map(|e| format!("{} at {}", e, e.instance_path)).collect();
        assert!(errors.is_empty(), "{event}: {errors:?}");
    }
    let ids: std::collections::BTreeSet<&str> = events.iter().map(|e| e["event_id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 3, "three events, three ids: {ids:?}");
    assert!(ids.contains(format!("ticket-{}", record.ticket.id).as_str()), "{ids:?}");
    let ticket = events.iter().find(|e| kind_and_ticket(e).0 == "ticket").unwrap();
    assert!(ticket["ticket"]["reading"]["topic"].is_string(), "{ticket}");
    for append in events.iter().filter(|e| kind_and_ticket(e).0 == "append") {
        assert_eq!(append["reading"], ticket["ticket"]["reading"], "an append carries the ticket's one reading");
    }
    assert!(up.read_queue(1, 3).is_empty(), "nothing more reaches the router");
    let log = up.host.output();
    let readings = log.lines().filter(|l| l.contains("[read] ticket") && !l.contains("no model call")).count();
    assert_eq!(readings, 1, "one reading for the ticket:\n{log}");
}

#[test]
fn keys_never_eat_a_message_and_concurrent_deliveries_make_one_ticket() {
    let up = Up::start("keys-and-races", &[]);

    // A nonce reused for another message: 409, nothing kept; the first message stays.
    assert_eq!(up.form("kr-nonce", "bo@bolt.example", "How do I add a second admin to our workspace?").status, 202);
    let reused = up.form("kr-nonce", "cy@cyan.example", "Please delete my account and all its data.");
    assert_eq!(reused.status, 409, "{}", reused.body);
    assert!(reused.body.contains("nonce_reused"), "{}", reused.body);
    // A repeated JSON key: 400, nothing kept.
    let twice = up.form_raw(br#"{"site_key":"local-site-key","nonce":"kr-2","email":"a@x.example","email":"victim@y.example","message":"hello there, I need help","fill_ms":9000}"#);
    assert_eq!(twice.status, 400, "{}", twice.body);

    // A second sender's mail reusing a Message-ID already seen, with other bytes: its own message.
    up.mail(&[&mail("Dee <dee@delta.example>", "shared-id@x.example", "Invoice address", "Please change our invoice address to 4 Elm Street.", "")]);
    up.wait_for_messages(2, "the first mail");
    up.mail(&[&mail("Eve <eve@echo.example>", "shared-id@x.example", "Login", "I cannot log in since the password reset.", "")]);
    up.wait_for_messages(3, "the mail reusing a Message-ID");

    // The same mail twice in one command (two S3 objects, byte-identical: one poll): one ticket.
    let same = mail("Fay <fay@fox.example>", "twice@fox.example", "Refund", "Please refund order 7731, it arrived broken.", "");
    up.mail(&[&same, &same]);
    // Eight form posts of one new customer on one problem at once (distinct nonces): one ticket.
    let posts: Vec<_> = (0..8)
        .map(|i| {
            let base = up.host.base.clone();
            std::thread::spawn(move || {
                let message = format!("{PROBLEM} (sent from tab {i})");
                form_until_accepted(&base, &format!("kr-burst-{i}"), "gus@gale.example", &message).status
            })
        })
        .collect();
    for p in posts {
        assert_eq!(p.join().unwrap(), 202);
    }
    let records = up.wait_for_messages(12, "the burst");
    // Let the second copy of the mail finish (it may have been told to come back later).
    std::thread::sleep(Duration::from_secs(3));
    let records = if up.records().values().map(|r| r.messages.len()).sum::<usize>() > 12 { up.records() } else { records };

    let by_customer = |addr: &str| -> Vec<&TicketRecord> {
        records.values().filter(|r| r.ticket.customer.email.as_deref().is_some_and(|e| e.eq_ignore_ascii_case(addr))).collect()
    };
    assert_eq!(by_customer("bo@bolt.example").len(), 1);
    assert!(by_customer("cy@cyan.example").is_empty(), "the refused post was kept");
    assert!(by_customer("victim@y.example").is_empty() && by_customer("a@x.example").is_empty());
    assert_eq!(by_customer("dee@delta.example").len(), 1);
    assert_eq!(by_customer("eve@echo.example").len(), 1, "the reused Message-ID's second mail is kept");
    let fay = by_customer("fay@fox.example");
    assert_eq!(fay.len(), 1, "the same mail twice is one ticket: {fay:#?}");
    assert_eq!(fay[0].messages.len(), 1);
    let gus = by_customer("gus@gale.example");
    assert_eq!(gus.len(), 1, "eight posts on one problem are one ticket: {gus:#?}");
    assert_eq!(gus[0].messages.len(), 8, "every post is on it");
    assert_eq!(records.len(), 5, "{records:#?}");
}

#[test]
fn behind_ses_a_mail_dmarc_failed_with_the_right_references_is_a_new_ticket_flagged() {
    let up = Up::start("unverified", &[("SPIN_VARIABLE_EMAIL_SENDER_VERIFICATION", "ses")]);
    let pass = "Authentication-Results: amazonses.com;\n spf=pass (spfCheck: domain of acme.example designates 1.2.3.4 as permitted sender) smtp.mailfrom=ana@acme.example;\n dkim=pass header.i=@acme.example;\n dmarc=pass header.from=acme.example;\n";
    up.mail(&[&mail("Ana Lima <ana@acme.example>", "uv-1@acme.example", "CSV export fails", PROBLEM, pass)]);
    up.wait_for_messages(1, "the first mail");
    let fail = "Authentication-Results: amazonses.com;\n spf=fail smtp.mailfrom=ana@acme.example;\n dkim=fail header.i=@acme.example;\n dmarc=fail header.from=acme.example;\n";
    up.mail(&[&mail(
        "Ana Lima <ana@acme.example>",
        "uv-2@forger.example",
        "Re: CSV export fails",
        "Please send the invoices to my new address, finance@forger.example.",
        &format!("{fail}In-Reply-To: <uv-1@acme.example>\nReferences: <uv-1@acme.example>\n"),
    )]);
    let records = up.wait_for_messages(2, "the forged reply");
    assert_eq!(records.len(), 2, "{records:#?}");
    let first = records.values().find(|r| r.ticket.thread.message_id.as_deref() == Some("uv-1@acme.example")).unwrap();
    assert_eq!(first.messages.len(), 1, "nothing appended to the customer's ticket");
    let forged = records.values().find(|r| r.ticket.id != first.ticket.id).unwrap();
    let flags = serde_json::to_value(&forged.ticket.flags).unwrap();
    assert!(flags.as_array().unwrap().contains(&json!("unverified-sender")), "{flags}");
    assert!(forged.links.iter().any(|l| l.ticket_id == first.ticket.id), "linked to the ticket it named: {forged:#?}");
}

#[test]
fn closed_by_the_routers_command_a_similar_form_post_and_a_reply_in_the_old_thread_make_new_tickets() {
    let up = Up::start("closed", &[]);
    up.mail(&[&mail("Ana Lima <ana@acme.example>", "cl-1@acme.example", "CSV export fails", PROBLEM, "")]);
    let records = up.wait_for_messages(1, "the first mail");
    let id = records.keys().next().unwrap().clone();
    let first = up.read_queue(1, 60);
    assert_eq!(first.iter().map(kind_and_ticket).collect::<Vec<_>>(), [("ticket", id.clone())], "{first:#?}");

    // The router closes the ticket with its status command on the ticket queue (what `tr-intake status` sends).
    let sent = up.cli(&["status", &id, "closed", "--command-id", "close-1"]);
    assert!(sent.contains(&format!("sent closed for ticket {id}")), "{sent}");
    let acks = up.read_queue(1, 60);
    assert_eq!(acks.len(), 1, "{}", up.host.output());
    assert_eq!((acks[0]["event"].as_str(), acks[0]["status_ack"]["status"].as_str()), (Some("status-ack"), Some("closed")), "{acks:#?}");
    assert_eq!(up.records()[&id].status, tr_core::store::TicketStatus::Closed);

    // The same customer posts the same problem on the form: a closed ticket absorbs no duplicate.
    let reply = form_until_accepted(&up.host.base, "cl-form-1", "ana@acme.example", PROBLEM);
    assert_eq!(reply.status, 202, "{}", reply.body);
    up.wait_for_messages(2, "the form post");
    // And replies in the old thread about something else: a new ticket linked `follow-up-of` the closed one. (A
    // reply repeating the problem would join the open form ticket as its duplicate: one problem, one ticket.)
    up.mail(&[&mail(
        "Ana Lima <ana@acme.example>",
        "cl-2@acme.example",
        "Re: CSV export fails",
        "Thanks for your help. Could you also send me our November invoice as a PDF file?",
        "In-Reply-To: <cl-1@acme.example>\nReferences: <cl-1@acme.example>\n",
    )]);
    let records = up.wait_for_messages(3, "the reply in the old thread");
    assert_eq!(records.len(), 3, "three tickets: {records:#?}");
    assert_eq!(records[&id].messages.len(), 1, "nothing was added to the closed ticket");
    let follow_ups: Vec<&TicketRecord> = records
        .values()
        .filter(|r| r.links.iter().any(|l| l.ticket_id == id && l.reason == tr_core::store::LinkReason::FollowUpOf))
        .collect();
    assert_eq!(follow_ups.len(), 1, "the reply follows the closed ticket up: {records:#?}");
    assert_eq!(follow_ups[0].ticket.thread.message_id.as_deref(), Some("cl-2@acme.example"));

    // The router receives both as new tickets, each read once.
    let events = up.read_queue(2, 60);
    let kinds: Vec<(&str, String)> = events.iter().map(kind_and_ticket).collect();
    assert_eq!(kinds.len(), 2, "{events:#?}");
    assert!(kinds.iter().all(|(k, t)| *k == "ticket" && t != &id), "{events:#?}");
}
