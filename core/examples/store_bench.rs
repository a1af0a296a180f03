//! Key-value operations per intake, by path, with 1,000 and then 100,000 tickets in the store.
//!
//! `cargo run -p tr-core --example store_bench` (operation counts do not depend on the build profile). Fills the
//! counting in-memory store through real intakes — 5 tickets per customer, all inside the duplicate window, so
//! every customer index is populated — then runs one intake of each path and prints the operations it made. Prints
//! the table and nothing else; exits non-zero if any path costs differently at the two sizes.

use std::time::{Duration, SystemTime};

use pollster::block_on;
use tr_core::store::{Intake, IntakeOutcome, KeyReuse, MemoryKv, OpCounts, StatusCommand, Store, StoreConfig, StoreError, TicketStatus};
use tr_core::{Limits, Source, ThreadIds, Ticket, TicketDraft, TicketFlag};

/// 2026-11-26T09:00:00Z.
const T0_MS: u64 = 1_795_683_600_000;

struct Bench {
    store: Store<MemoryKv>,
    random: u128,
}

impl Bench {
    fn ticket(&mut self, draft: TicketDraft, ms: u64) -> Ticket {
        self.random += 7919;
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(T0_MS + ms);
        draft.into_ticket(at, self.random, &Limits::default()).expect("valid draft")
    }

    fn intake(&mut self, intake: Intake) -> IntakeOutcome {
        block_on(self.store.intake(intake)).expect("intake")
    }

    /// Runs one intake and returns its outcome and the operations it made.
    fn measure(&mut self, intake: Intake) -> (IntakeOutcome, OpCounts) {
        self.store.kv().reset_counts();
        let outcome = self.intake(intake);
        (outcome, self.store.kv().counts())
    }
}

fn draft(source: Source, email: Option<&str>, subject: &str, body: &str, key: &str) -> TicketDraft {
    TicketDraft {
        source,
        customer_email: email.map(Into::into),
        customer_name: None,
        subject: subject.into(),
        body: body.into(),
        page_url: None,
        thread: match source {
            Source::Email => ThreadIds { message_id: Some(key.into()), ..ThreadIds::default() },
            _ => ThreadIds::default(),
        },
        transcript_id: (source == Source::Chat).then(|| key.to_owned()),
        idempotency_key: key.into(),
    }
}

fn reply(mut d: TicketDraft, in_reply_to: Option<&str>, references: &[&str]) -> TicketDraft {
    d.thread.in_reply_to = in_reply_to.map(Into::into);
    d.thread.references = references.iter().map(|r| (*r).into()).collect();
    d
}

const EXPORT: &str = "Since this morning the CSV export of the Projects report fails with \"Export failed, try again \
    later\". We need the export for our monthly client billing.";
const EXPORT_CHAT: &str = "Visitor: the projects report CSV export keeps failing, says export failed try again later\n\
    Agent: Sorry! I'll pass this to the team.";

/// One row per path: name and operations.
fn run(size: usize) -> Vec<(&'static str, OpCounts)> {
    let mut b = Bench { store: Store::new(MemoryKv::new(), StoreConfig::default()), random: 0 };
    let customers = size / 5;
    for j in 0..size {
        let email = format!("c{}@bench.example", j % customers);
        let source = [Source::Form, Source::Email, Source::Chat][j % 3];
        // Identifiers only: no two fill tickets share a word, so none merges and the store holds `size` tickets.
        let body = format!("ref{j}x code{j}y item{j}z part{j}w");
        let t = b.ticket(draft(source, Some(&email), &format!("r{j}q"), &body, &format!("fill-{j}@bench")), j as u64 * 2_000);
        b.intake(Intake::new(t));
    }
    let now = size as u64 * 2_000 + 60_000;
    let mut rows = Vec::new();
    let mut row = |name, counts| rows.push((name, counts));

    // New tickets.
    let t = b.ticket(draft(Source::Form, Some("c7@bench.example"), "CSV export fails", EXPORT, "n-1"), now);
    let (created, ops) = b.measure(Intake::new(t));
    row("new ticket: form (customer with 5 recent tickets)", ops);
    let IntakeOutcome::Created { ticket: form_ticket, .. } = created else { panic!("{created:?}") };
    let t = b.ticket(draft(Source::Email, Some("c8@bench.example"), "Login", "I cannot log in after the password reset.", "m1@c8"), now);
    let (created, ops) = b.measure(Intake::new(t));
    row("new ticket: email, no thread headers", ops);
    let IntakeOutcome::Created { ticket: email_ticket, .. } = created else { panic!() };
    let t = b.ticket(draft(Source::Chat, None, "", "Visitor: how much is the Team plan?", "conv-anon"), now);
    row("new ticket: anonymous chat", b.measure(Intake::new(t)).1);

    // Repeats.
    let t = b.ticket(draft(Source::Form, Some("c7@bench.example"), "CSV export fails", EXPORT, "n-1"), now + 1_000);
    let (outcome, ops) = b.measure(Intake::new(t));
    assert!(matches!(outcome, IntakeOutcome::Created { resumed: true, .. }));
    row("repeat before mark_enqueued (same ticket handed back)", ops);
    b.store.kv().reset_counts();
    block_on(b.store.mark_enqueued(&form_ticket)).unwrap();
    row("mark_enqueued", b.store.kv().counts());
    let t = b.ticket(draft(Source::Form, Some("c7@bench.example"), "CSV export fails", EXPORT, "n-1"), now + 2_000);
    let (outcome, ops) = b.measure(Intake::new(t));
    assert!(matches!(outcome, IntakeOutcome::Repeat { .. }));
    row("repeat after mark_enqueued", ops);

    // Appends.
    let t = b.ticket(draft(Source::Chat, Some("c7+chat@bench.example"), "", EXPORT_CHAT, "conv-7"), now + 3_000);
    let (outcome, ops) = b.measure(Intake::new(t));
    let IntakeOutcome::Appended(dup) = outcome else { panic!("{outcome:?}") };
    row("duplicate merge (chat into the form ticket)", ops);
    b.store.kv().reset_counts();
    block_on(b.store.mark_append_sent(&dup)).unwrap();
    row("mark_append_sent", b.store.kv().counts());
    let r = reply(draft(Source::Email, Some("c8@bench.example"), "Re: Login", "Any news?", "m2@c8"), Some("m1@c8"), &["m1@c8"]);
    let t = b.ticket(r, now + 4_000);
    let (outcome, ops) = b.measure(Intake::new(t));
    assert!(matches!(outcome, IntakeOutcome::Appended(ref a) if a.ticket_id == email_ticket.id));
    row("threaded reply: In-Reply-To known", ops);
    let r = reply(draft(Source::Email, Some("c8@bench.example"), "Re: Login", "Hello?", "m3@c8"), Some("agent-1@help"), &["m1@c8", "agent-1@help"]);
    let t = b.ticket(r, now + 5_000);
    let (outcome, ops) = b.measure(Intake::new(t));
    assert!(matches!(outcome, IntakeOutcome::Appended(_)));
    row("threaded reply: by the thread's root (In-Reply-To unknown)", ops);
    let t = b.ticket(draft(Source::Form, Some("c8@bench.example"), "More", "It also fails on mobile.", "n-ref"), now + 6_000);
    let mut intake = Intake::new(t);
    intake.ticket_ref = Some(email_ticket.id.clone());
    let (outcome, ops) = b.measure(intake);
    assert!(matches!(outcome, IntakeOutcome::Appended(_)));
    row("same-key (ticket reference)", ops);

    // Rarer paths.
    let r = reply(draft(Source::Email, Some("c9@bench.example"), "Re: Offer", "Is this still valid?", "m1@c9"), Some("x@elsewhere"), &["y@elsewhere", "x@elsewhere"]);
    let t = b.ticket(r, now + 7_000);
    let (outcome, ops) = b.measure(Intake::new(t));
    assert!(matches!(outcome, IntakeOutcome::Created { .. }));
    row("email replying to a thread never seen (new ticket)", ops);
    // Worst case: a stranger replies into c8's thread (In-Reply-To unknown, root known → link, no append); the
    // stranger has a similar ticket that is closed; the lane keyed the mail by its S3 object, so the Message-ID
    // needs a pointer of its own.
    let t = b.ticket(draft(Source::Form, Some("c10@bench.example"), "Login", "I cannot log in after the password reset.", "n-c10"), now + 8_000);
    let IntakeOutcome::Created { ticket: closed, .. } = b.intake(Intake::new(t)) else { panic!() };
    let close = StatusCommand { ticket_id: closed.id.clone(), status: TicketStatus::Closed, command_id: "close".into(), at: closed.received_at.clone() };
    block_on(b.store.set_status(&close)).unwrap().expect("the ticket exists");
    let mut d = reply(draft(Source::Email, Some("c10@bench.example"), "Re: Login", "I cannot log in after the password reset either.", "m1@c10"),
        Some("agent-2@help"), &["m1@c8", "agent-2@help"]);
    d.idempotency_key = "s3://tr-raw-mail/c10".into();
    let t = b.ticket(d, now + 9_000);
    let (outcome, ops) = b.measure(Intake::new(t));
    assert!(matches!(outcome, IntakeOutcome::Created { .. }), "{outcome:?}");
    row("worst case: stranger's reply, closed duplicate, S3-keyed mail", ops);

    // Keys reused with other content, and senders SES did not vouch for.
    let t = b.ticket(draft(Source::Form, Some("eve@bench.example"), "Invoice", "Send the invoices to me.", "n-1"), now + 10_000);
    let mut intake = Intake::new(t);
    intake.key_reuse = KeyReuse::Refuse;
    b.store.kv().reset_counts();
    assert!(matches!(block_on(b.store.intake(intake)), Err(StoreError::KeyReused)));
    row("reused form nonce, other content (409, nothing stored)", b.store.kv().counts());
    let t = b.ticket(draft(Source::Email, Some("eve@bench.example"), "Hello", "Another mail reusing a Message-ID.", "m1@c8"), now + 11_000);
    let (outcome, ops) = b.measure(Intake::new(t));
    assert!(matches!(outcome, IntakeOutcome::Created { .. }), "{outcome:?}");
    row("reused Message-ID, other bytes (kept under its own key: new ticket)", ops);
    let r = reply(draft(Source::Email, Some("c8@bench.example"), "Re: Login", "Send me the invoices.", "m9@c8"), Some("m1@c8"), &["m1@c8"]);
    let mut t = b.ticket(r, now + 12_000);
    t.flags.push(TicketFlag::UnverifiedSender);
    let (outcome, ops) = b.measure(Intake::new(t));
    assert!(matches!(outcome, IntakeOutcome::Created { .. }), "{outcome:?}");
    row("unverified sender, In-Reply-To known (new ticket, linked)", ops);
    let mut t = b.ticket(draft(Source::Email, Some("c8@bench.example"), "Login", "I cannot log in after the password reset.", "m10@c8"), now + 13_000);
    t.flags.push(TicketFlag::UnverifiedSender);
    let (outcome, ops) = b.measure(Intake::new(t));
    assert!(matches!(outcome, IntakeOutcome::Created { .. }), "{outcome:?}");
    row("unverified sender, no thread headers (new ticket, no index)", ops);

    let tickets = b.store.kv().snapshot().keys().filter(|k| k.starts_with("tr/t/")).count();
    assert!(tickets >= size, "the store holds {tickets} tickets");
    rows
}

fn main() {
    let small = run(1_000);
    let large = run(100_000);
    println!("| path | ops, 1,000 tickets | ops, 100,000 tickets | of which get / set / exists / delete / watch / swap |");
    println!("|---|---|---|---|");
    let mut same = true;
    for ((name, a), (_, b)) in small.iter().zip(&large) {
        same &= a == b;
        println!("| {name} | {} | {} | {} / {} / {} / {} / {} / {} |", a.total(), b.total(), b.get, b.set, b.exists, b.delete, b.watch, b.swap);
    }
    if !same {
        println!("\nsome path costs differently at the two sizes");
        std::process::exit(1);
    }
}
