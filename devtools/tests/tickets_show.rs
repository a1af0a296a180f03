//! `tr-intake tickets ID` and `tickets <Message-ID>` on a store written the way the lanes write it: raw mail
//! through the email lane's parser, a form submission through the form lane's draft, each kept by tr-core's
//! `Store::intake` in the SQLite file `up` uses. The binary must show every message's text with its lane, time,
//! how it joined and its verification, and find the ticket by any of its Message-IDs.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::target_dir;
use tr_core::email::{DEFAULT_MAX_BYTES, email_to_draft};
use tr_core::form::lane::draft as form_draft;
use tr_core::form::submission::FormSubmission;
use tr_core::store::{Intake, IntakeOutcome};
use tr_core::{Limits, TicketFlag};

/// 2026-11-27T10:00:00Z plus `minutes`.
fn at(minutes: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_795_773_600 + minutes * 60)
}

fn mail(headers: &str, body: &str) -> Vec<u8> {
    format!("{headers}\r\nDate: Fri, 27 Nov 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}")
        .replace("\r\n", "\n")
        .replace('\n', "\r\n")
        .into_bytes()
}

/// An email intake as the email lane builds it (its own sender check left to the caller: `flag`).
fn email(raw: &[u8], now: SystemTime, random: u128, flag: Option<TicketFlag>) -> Intake {
    let parsed = email_to_draft(raw, DEFAULT_MAX_BYTES).unwrap();
    let mut ticket = parsed.draft.into_ticket(now, random, &Limits::default()).unwrap();
    ticket.flags.extend(flag);
    let mut intake = Intake::new(ticket).with_raw_body(&parsed.raw_body);
    intake.participants = parsed.participants;
    intake
}

struct Fixture {
    manifest: PathBuf,
    ticket: String,
    forged: String,
}

/// One ticket of three messages (an email, a threaded reply, a form message merged as a duplicate), and a
/// forged reply SES did not vouch for, which becomes a ticket of its own linked to the first.
fn fixture() -> Fixture {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    let dir = target_dir().join("tmp/host-tests").join(format!("tickets-show-{nanos}"));
    std::fs::create_dir_all(dir.join(".spin")).unwrap();
    let manifest = dir.join("spin.toml");
    tr_host::kv::SqliteKv::open(&dir.join(".spin/sqlite_key_value.db")).unwrap();
    let store = tr_devtools::inspect::store(&manifest).unwrap();
    let keep = |intake: Intake| pollster::block_on(store.intake(intake)).unwrap();

    let first = mail(
        "From: Ana Ruiz <ana@acme.example>\nTo: support@tr.example\nSubject: Invoice emails stopped arriving\nMessage-ID: <first.1@acme.example>",
        "Hello, since Monday the monthly invoice emails stopped arriving in our billing inbox.\nCan you resend the November invoice?\n\nThanks,\nAna\n",
    );
    let IntakeOutcome::Created { ticket, .. } = keep(email(&first, at(0), 1, None)) else { panic!("the first mail creates") };

    let reply = mail(
        "From: Ana Ruiz <ana@acme.example>\nTo: support@tr.example\nSubject: Re: Invoice emails stopped arriving\n\
         Message-ID: <reply.2@acme.example>\nIn-Reply-To: <first.1@acme.example>\nReferences: <first.1@acme.example>",
        "Still nothing today, and our accountant needs it by Friday.\n\nOn Fri, 27 Nov 2026 at 10:00, Ana Ruiz <ana@acme.example> wrote:\n\
         > Hello, since Monday the monthly invoice emails stopped arriving in our billing inbox.\n> Can you resend the November invoice?\n",
    );
    let IntakeOutcome::Appended(a) = keep(email(&reply, at(60), 2, None)) else { panic!("the reply threads") };
    assert_eq!(a.ticket_id, ticket.id);

    let form = FormSubmission {
        email: Some("ana@acme.example".into()),
        subject: Some("Invoice emails".into()),
        message: Some(
            "The monthly invoice emails stopped arriving in our billing inbox since Monday. Please resend the \
             November invoice; the card on file is 4111 1111 1111 1111."
                .into(),
        ),
        nonce: Some("n-1".into()),
        page_url: Some("https://acme.example/billing".into()),
        ..FormSubmission::default()
    };
    let mut ticket_form = form_draft(&form, at(120)).unwrap().into_ticket(at(120), 3, &Limits::default()).unwrap();
    ticket_form.flags.push(TicketFlag::Unverified); // as the form lane does: the visitor typed the address
    let IntakeOutcome::Appended(a) = keep(Intake::new(ticket_form)) else { panic!("the form message merges") };
    assert_eq!(a.ticket_id, ticket.id);

    let forged = mail(
        "From: Ana Ruiz <ana@acme.example>\nTo: support@tr.example\nSubject: Re: Invoice emails stopped arriving\n\
         Message-ID: <forged.3@elsewhere.example>\nIn-Reply-To: <reply.2@acme.example>",
        "Please send the invoice to billing@elsewhere.example instead.\n",
    );
    let forged = keep(email(&forged, at(180), 4, Some(TicketFlag::UnverifiedSender)));
    let IntakeOutcome::Created { ticket: forged, .. } = forged else { panic!("an unverified sender starts a ticket") };
    Fixture { manifest, ticket: ticket.id, forged: forged.id }
}

/// `tr-intake tickets ARGS -f MANIFEST`: (exit success, stdout, stderr).
fn tickets(manifest: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_tr-intake")).arg("tickets").args(args).arg("-f").arg(manifest).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn shown(manifest: &Path, arg: &str) -> String {
    let (ok, stdout, stderr) = tickets(manifest, &[arg]);
    assert!(ok, "tickets {arg} failed:\n{stdout}{stderr}");
    stdout
}

/// The lines of message `n` (1-based) of a `tickets ID` output: from its `[n/…]` header to the next one.
fn message(out: &str, n: usize) -> &str {
    let start = out.find(&format!("\n[{n}/")).unwrap_or_else(|| panic!("no message {n}:\n{out}"));
    let rest = &out[start + 1..];
    &rest[..rest.find("\n[").unwrap_or(rest.len())]
}

/// The value of the `name` field line (`  name   value`) in a block of output; the first when there are several.
fn field<'a>(block: &'a str, name: &str) -> &'a str {
    block
        .lines()
        .find_map(|l| l.strip_prefix("  ")?.strip_prefix(name)?.strip_prefix(' ').map(str::trim_start))
        .unwrap_or_else(|| panic!("no `{name}` in:\n{block}"))
}

/// The message's text: its lines indented by four spaces.
fn text(block: &str) -> String {
    block.lines().filter_map(|l| l.strip_prefix("    ")).collect::<Vec<_>>().join("\n")
}

#[test]
fn a_ticket_shows_every_message_with_its_lane_time_join_verification_and_text() {
    let f = fixture();
    let out = shown(&f.manifest, &f.ticket);
    assert!(out.starts_with(&format!("ticket {} · email · open · 3 messages\n", f.ticket)), "{out}");
    let head = &out[..out.find("\n[1/").unwrap()];
    assert_eq!((field(head, "customer"), field(head, "reading")), ("Ana Ruiz <ana@acme.example>", "(not read yet)"));

    let first = message(&out, 1);
    assert!(first.starts_with("[1/3] email · 2026-11-27T10:00:00.000Z · created the ticket\n"), "{first}");
    assert!(field(first, "sender").starts_with("verified ("), "{first}");
    assert_eq!(field(first, "Message-ID"), "<first.1@acme.example>");
    assert_eq!(
        text(first),
        "Hello, since Monday the monthly invoice emails stopped arriving in our billing inbox.\nCan you resend the November invoice?\n\nThanks,\nAna"
    );

    let reply = message(&out, 2);
    assert!(
        reply.starts_with("[2/3] email · 2026-11-27T11:00:00.000Z · reply by thread (In-Reply-To <first.1@acme.example>)\n"),
        "{reply}"
    );
    assert!(field(reply, "sender").starts_with("verified ("), "{reply}");
    assert_eq!(field(reply, "In-Reply-To"), "<first.1@acme.example>");
    // The text is the stripped reply; the quoted history stays in the raw body, which is mentioned, not shown.
    assert_eq!(text(reply), "Still nothing today, and our accountant needs it by Friday.");
    assert!(field(reply, "raw body").starts_with("differs from the text: "), "{reply}");

    let form = message(&out, 3);
    assert!(form.starts_with("[3/3] form · 2026-11-27T12:00:00.000Z · duplicate merge, score 0."), "{form}");
    assert!(field(form, "why").starts_with("same customer, 2h00m after the ticket, similarity "), "{form}");
    assert_eq!(field(form, "sender"), "unverified: an address the visitor typed");
    assert_eq!(field(form, "page"), "https://acme.example/billing");
    assert!(text(form).ends_with("the card on file is [card ending 1111]."), "{form}");
    assert!(field(form, "masked").starts_with("1 card"), "{form}");
    assert!(!out.contains("4111 1111"), "a masked value must stay masked:\n{out}");

    // The JSON form carries the same: the record as stored, each message whole.
    let (ok, json, stderr) = tickets(&f.manifest, &[&f.ticket, "--json"]);
    assert!(ok, "{stderr}");
    let record: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(record["ticket"]["id"], f.ticket.as_str());
    let messages = record["messages"].as_array().unwrap();
    let each = |name: &str| messages.iter().map(|m| m[name].clone()).collect::<Vec<_>>();
    assert_eq!(each("source"), ["email", "email", "form"]);
    assert_eq!(each("received_at"), ["2026-11-27T10:00:00.000Z", "2026-11-27T11:00:00.000Z", "2026-11-27T12:00:00.000Z"]);
    assert_eq!(each("joined"), ["created", "thread", "duplicate"]);
    assert_eq!(each("verification"), ["verified", "verified", "unverified"]);
    assert_eq!(messages[1]["message"]["body"], "Still nothing today, and our accountant needs it by Friday.");
    assert!(messages[1]["message"]["raw_body"].as_str().unwrap().contains("> Can you resend the November invoice?"));
    assert!(messages[2]["message"]["body"].as_str().unwrap().ends_with("[card ending 1111]."));
    assert_eq!(messages[2]["merge"]["reason"], "duplicate");
    assert!(messages[0]["merge"].is_null());

    // The forged reply: its own ticket, its sender unverified, linked to the ticket it threaded onto.
    let out = shown(&f.manifest, &f.forged);
    let head = &out[..out.find("\n[1/").unwrap()];
    assert_eq!(field(head, "flags"), "unverified-sender");
    let link = field(head, "links");
    assert!(link.starts_with(&format!("unverified-sender → {}: ", f.ticket)) && link.ends_with("(In-Reply-To <reply.2@acme.example>)"), "{out}");
    assert_eq!(field(message(&out, 1), "sender"), "unverified-sender: SES's verdicts did not vouch for this address");
    assert_eq!(text(message(&out, 1)), "Please send the invoice to billing@elsewhere.example instead.");
}

#[test]
fn a_ticket_is_found_by_any_of_its_message_ids() {
    let f = fixture();
    for (arg, n) in [("<reply.2@acme.example>", 2), ("reply.2@acme.example", 2), ("first.1@acme.example", 1), (" <first.1@acme.example> ", 1)] {
        let out = shown(&f.manifest, arg);
        assert!(out.starts_with(&format!("ticket {} · email · open · 3 messages\n", f.ticket)), "{arg}: {out}");
        let mid = arg.trim().trim_start_matches('<').trim_end_matches('>');
        assert_eq!(field(&out, "found by"), format!("Message-ID <{mid}>"), "{arg}: {out}");
        assert!(message(&out, n).lines().next().unwrap().ends_with("← this Message-ID"), "{arg}: {out}");
        assert_eq!(out.matches("← this Message-ID").count(), 1, "{arg}: {out}");
    }
    // A ticket id in lower case is still one (ULIDs are case-insensitive), found by id.
    let out = shown(&f.manifest, &f.ticket.to_lowercase());
    assert!(out.starts_with(&format!("ticket {} ", f.ticket)) && !out.contains("found by"), "{out}");
    // The forged mail's Message-ID names its own ticket, not the one it threaded onto.
    assert!(shown(&f.manifest, "<forged.3@elsewhere.example>").starts_with(&format!("ticket {} ", f.forged)));
    let (ok, json, _) = tickets(&f.manifest, &["<reply.2@acme.example>", "--json"]);
    assert!(ok);
    let record: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!((record["ticket"]["id"].as_str(), record["found_by_message_id"].as_str()), (Some(f.ticket.as_str()), Some("reply.2@acme.example")));
}

#[test]
fn a_message_id_or_ticket_id_that_names_nothing_exits_non_zero() {
    let f = fixture();
    let (ok, stdout, stderr) = tickets(&f.manifest, &["<nobody.9@acme.example>"]);
    assert!(!ok && stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("no email with Message-ID <nobody.9@acme.example> is stored"), "{stderr}");
    let (ok, _, stderr) = tickets(&f.manifest, &["01kb0y3j5v6n2q8r9s0t1v2w3x"]);
    assert!(!ok && stderr.contains("no ticket 01KB0Y3J5V6N2Q8R9S0T1V2W3X, and no email with Message-ID"), "{stderr}");
    let (ok, _, stderr) = tickets(&f.manifest, &["<>"]);
    assert!(!ok && stderr.contains("name a ticket id or a Message-ID"), "{stderr}");
}
