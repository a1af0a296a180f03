//! A ticket's status in the store: the router's commands (solved, closed, open), what a reply or a duplicate
//! does to a solved or closed ticket (reopen within the window, follow-up after it, never a merge), ordering by
//! time, idempotent commands, and records from before statuses.

mod common;

use common::*;
use pollster::block_on;
use tr_core::store::keep::encode_append_event;
use tr_core::store::{IntakeOutcome, LinkReason, MergeReason, StatusOutcome, Store, StoredTicket, TicketRecord, TicketStatus};
use tr_core::store::MemoryKv;

const FORM_BODY: &str = "Since this morning the CSV export of the Projects report fails with \"Export failed, try again later\". \
    It worked fine last week. We need the export for our monthly client billing.";
const EMAIL_BODY: &str = "Hello,\n\nthe Projects report CSV export fails (\"Export failed, try again later\"). We bill \
    clients from that export, so this is blocking us.\n\nBest regards,\nAna";

/// Seven days, in minutes: the default reopen window.
const WINDOW: u64 = 7 * 24 * 60;

fn load(store: &Store<MemoryKv>, id: &str) -> StoredTicket {
    block_on(store.load(id)).unwrap().expect("the ticket exists")
}

fn set(store: &Store<MemoryKv>, id: &str, to: TicketStatus, command: &str, minutes: u64) -> tr_core::store::StatusAck {
    block_on(store.set_status(&status(id, to, command, minutes))).unwrap().expect("the ticket exists")
}

fn appended(outcome: IntakeOutcome) -> tr_core::store::Append {
    match outcome {
        IntakeOutcome::Appended(a) => a,
        other => panic!("expected Appended, got {other:?}"),
    }
}

/// Ana's email ticket (`m1@acme`), created at minute 0.
fn ana_ticket(store: &Store<MemoryKv>, lane: &Lane) -> tr_core::Ticket {
    created(&run(store, lane.intake(email("ana@acme.example", "CSV export fails", EMAIL_BODY, "m1@acme"), 0))).clone()
}

fn ana_reply(message_id: &str, minutes: u64, lane: &Lane) -> tr_core::store::Intake {
    lane.intake(reply(email("ana@acme.example", "Re: CSV export fails", "It is broken again today.", message_id), Some("m1@acme"), &["m1@acme"]), minutes)
}

#[test]
fn a_new_ticket_is_open_since_it_arrived() {
    let (store, lane) = (store(), Lane::default());
    let t = ana_ticket(&store, &lane);
    let record = load(&store, &t.id).record;
    assert_eq!((record.status, record.status_at.as_deref(), record.status_command), (TicketStatus::Open, Some(t.received_at.as_str()), None));
}

#[test]
fn a_reply_within_the_reopen_window_reopens_a_solved_ticket_and_says_so() {
    let (store, lane) = (store(), Lane::default());
    let t = ana_ticket(&store, &lane);
    let ack = set(&store, &t.id, TicketStatus::Solved, "solve-1", 10);
    assert_eq!((ack.outcome, ack.status), (StatusOutcome::Applied, TicketStatus::Solved));

    // One minute inside the window.
    let a = appended(run(&store, ana_reply("m2@acme", 10 + WINDOW - 1, &lane)));
    assert_eq!((a.ticket_id.as_str(), a.merge.reason, a.merge.reopened), (t.id.as_str(), MergeReason::Thread, true));
    let record = load(&store, &t.id).record;
    assert_eq!(record.status, TicketStatus::Open);
    assert_eq!(record.status_at.as_deref(), Some(a.message.received_at.as_str()), "reopened as of the reply");
    assert_eq!(record.status_command, None);
    assert!(record.merges.iter().any(|m| m.reopened), "the record's merge says it too");

    // The event the lane sends says so.
    let event: serde_json::Value = serde_json::from_str(&encode_append_event(&a, 255 * 1024)).unwrap();
    assert_eq!(event["append"]["merge"]["reopened"], true);

    // Open again: the next reply is a plain append.
    let b = appended(run(&store, ana_reply("m3@acme", 10 + WINDOW + 5, &lane)));
    assert!(!b.merge.reopened);
    let event: serde_json::Value = serde_json::from_str(&encode_append_event(&b, 255 * 1024)).unwrap();
    assert!(event["append"]["merge"].get("reopened").is_none(), "absent unless it reopened: {event}");
}

#[test]
fn a_reply_past_the_reopen_window_starts_a_follow_up_ticket() {
    let (store, lane) = (store(), Lane::default());
    let t = ana_ticket(&store, &lane);
    set(&store, &t.id, TicketStatus::Solved, "solve-1", 10);

    // One minute past the window.
    let follow_up = created(&run(&store, ana_reply("m2@acme", 10 + WINDOW + 1, &lane))).clone();
    let links = load(&store, &follow_up.id).record.links;
    assert_eq!(links.len(), 1);
    assert_eq!((links[0].ticket_id.as_str(), links[0].reason), (t.id.as_str(), LinkReason::FollowUpOf));
    assert_eq!(links[0].via, "In-Reply-To <m1@acme>");
    let old = load(&store, &t.id);
    assert_eq!((old.record.status, old.messages.len()), (TicketStatus::Solved, 1), "the solved ticket is left as it was");
}

#[test]
fn the_reopen_window_is_a_store_setting() {
    let config = tr_core::store::StoreConfig { reopen_window: std::time::Duration::from_secs(3600), ..Default::default() };
    let (store, lane) = (Store::new(MemoryKv::new(), config), Lane::default());
    let t = ana_ticket(&store, &lane);
    set(&store, &t.id, TicketStatus::Solved, "solve-1", 10);
    let follow_up = created(&run(&store, ana_reply("m2@acme", 10 + 61, &lane))).clone();
    assert_eq!(load(&store, &follow_up.id).record.links[0].reason, LinkReason::FollowUpOf);
    let t2 = created(&run(&store, lane.intake(email("ana@acme.example", "Invoices missing", "Where are my invoices for May?", "n1@acme"), 100))).clone();
    set(&store, &t2.id, TicketStatus::Solved, "solve-2", 110);
    let reopened = lane.intake(reply(email("ana@acme.example", "Re: Invoices missing", "Still missing.", "n2@acme"), Some("n1@acme"), &[]), 110 + 59);
    assert!(appended(run(&store, reopened)).merge.reopened);
}

#[test]
fn a_reply_to_a_closed_ticket_starts_a_follow_up_at_once() {
    let (store, lane) = (store(), Lane::default());
    let t = ana_ticket(&store, &lane);
    set(&store, &t.id, TicketStatus::Closed, "close-1", 10);
    let follow_up = created(&run(&store, ana_reply("m2@acme", 11, &lane))).clone();
    let record = load(&store, &follow_up.id).record;
    assert_eq!((record.links[0].ticket_id.as_str(), record.links[0].reason), (t.id.as_str(), LinkReason::FollowUpOf));
    assert_eq!(record.status, TicketStatus::Open, "the follow-up is a ticket of its own, open");
    assert_eq!(load(&store, &t.id).record.status, TicketStatus::Closed);
}

#[test]
fn a_message_naming_a_solved_ticket_reopens_it_a_closed_one_gets_a_follow_up() {
    let (store, lane) = (store(), Lane::default());
    let t = created(&run(&store, lane.intake(form("ana@acme.example", "CSV export fails", FORM_BODY, "nonce-1"), 0))).clone();
    set(&store, &t.id, TicketStatus::Solved, "solve-1", 10);
    let mut named = lane.intake(form("ana@acme.example", "About my ticket", "The fix did not work for the Finance workspace.", "nonce-2"), 20);
    named.ticket_ref = Some(t.id.clone());
    let a = appended(run(&store, named));
    assert_eq!((a.merge.reason, a.merge.reopened), (MergeReason::SameKey, true));

    set(&store, &t.id, TicketStatus::Closed, "close-1", 30);
    let mut named = lane.intake(form("ana@acme.example", "About my ticket", "Could you also check the PDF export?", "nonce-3"), 40);
    named.ticket_ref = Some(t.id.clone());
    let follow_up = created(&run(&store, named)).clone();
    let link = &load(&store, &follow_up.id).record.links[0];
    assert_eq!((link.ticket_id.as_str(), link.reason, link.via.as_str()), (t.id.as_str(), LinkReason::FollowUpOf, "ticket reference"));
}

#[test]
fn a_stranger_on_a_solved_or_closed_thread_is_still_told_apart_as_another_sender() {
    for to in [TicketStatus::Solved, TicketStatus::Closed] {
        let (store, lane) = (store(), Lane::default());
        let t = ana_ticket(&store, &lane);
        set(&store, &t.id, to, "done-1", 10);
        let eve = reply(email("eve@other.example", "Re: CSV export fails", "We see this too.", "e1@other"), Some("m1@acme"), &[]);
        let eve_ticket = created(&run(&store, lane.intake(eve, 20))).clone();
        // Who wrote matters more than what became of the ticket: the link says "someone else", not "follow-up".
        assert_eq!(load(&store, &eve_ticket.id).record.links[0].reason, LinkReason::OtherSender, "{to:?}");
        assert_eq!(load(&store, &t.id).record.status, to, "a stranger reopens nothing");
    }
}

#[test]
fn duplicates_never_merge_into_a_solved_or_closed_ticket_until_it_is_open_again() {
    // The same problem in other words: a duplicate of the first post (the control: it merges into an open ticket).
    let retold = format!("{FORM_BODY} Our accountant Maria needs those numbers by Friday.");
    let (control, lane) = (store(), Lane::default());
    let t = created(&run(&control, lane.intake(form("ana@acme.example", "CSV export fails", FORM_BODY, "nonce-1"), 0))).clone();
    let a = appended(run(&control, lane.intake(form("ana@acme.example", "CSV export fails", &retold, "nonce-2"), 10)));
    assert_eq!((a.ticket_id.as_str(), a.merge.reason), (t.id.as_str(), MergeReason::Duplicate));

    for to in [TicketStatus::Solved, TicketStatus::Closed] {
        let (store, lane) = (store(), Lane::default());
        let t = created(&run(&store, lane.intake(form("ana@acme.example", "CSV export fails", FORM_BODY, "nonce-1"), 0))).clone();
        set(&store, &t.id, to, "done-1", 5);
        // Minutes later, well inside the duplicate window: a ticket of its own.
        let again = created(&run(&store, lane.intake(form("ana@acme.example", "CSV export fails", &retold, "nonce-2"), 10))).clone();
        assert_ne!(again.id, t.id, "{to:?}");
        assert_eq!(load(&store, &t.id).messages.len(), 1, "{to:?}: nothing joined");

        // `open` reopens: the first post's exact words again merge into the first ticket, their best match.
        let ack = set(&store, &t.id, TicketStatus::Open, "reopen-1", 15);
        assert_eq!((ack.outcome, ack.status), (StatusOutcome::Applied, TicketStatus::Open));
        let a = appended(run(&store, lane.intake(form("ana@acme.example", "CSV export fails", FORM_BODY, "nonce-3"), 20)));
        assert_eq!((a.ticket_id.as_str(), a.merge.reason), (t.id.as_str(), MergeReason::Duplicate), "{to:?}");
        assert!(!a.merge.reopened, "a duplicate merges only into an open ticket; it never reopens one");
    }
}

#[test]
fn the_same_command_twice_changes_nothing_the_second_time_and_is_acknowledged_alike() {
    let (store, lane) = (store(), Lane::default());
    let t = ana_ticket(&store, &lane);
    let first = set(&store, &t.id, TicketStatus::Solved, "solve-1", 10);
    let before = store.kv().snapshot();
    store.kv().reset_counts();
    let second = set(&store, &t.id, TicketStatus::Solved, "solve-1", 10);
    assert_eq!(second, first);
    assert_eq!(second.outcome, StatusOutcome::Applied);
    let ops = store.kv().counts();
    assert_eq!((ops.total(), ops.set + ops.swap + ops.delete), (1, 0), "one read, no write");
    assert_eq!(store.kv().snapshot(), before);

    // Another command asking for the status the ticket has: unchanged, no write either.
    store.kv().reset_counts();
    let other = set(&store, &t.id, TicketStatus::Solved, "solve-2", 20);
    assert_eq!((other.outcome, other.status_at.as_deref()), (StatusOutcome::Unchanged, first.status_at.as_deref()));
    let ops = store.kv().counts();
    assert_eq!(ops.set + ops.swap + ops.delete, 0);
}

#[test]
fn the_latest_change_wins_whatever_order_commands_arrive_in() {
    let (store, lane) = (store(), Lane::default());
    let t = ana_ticket(&store, &lane);
    // Solved at 20 arrives first; the router's earlier "open" of minute 10 arrives after it.
    set(&store, &t.id, TicketStatus::Solved, "solve-20", 20);
    let late = set(&store, &t.id, TicketStatus::Open, "open-10", 10);
    assert_eq!((late.outcome, late.status), (StatusOutcome::Superseded, TicketStatus::Solved));

    // A reply at minute 30 reopens it; a "solved" decided at 25, delivered now, is older than the reply.
    assert!(appended(run(&store, ana_reply("m2@acme", 30, &lane))).merge.reopened);
    let stale = set(&store, &t.id, TicketStatus::Solved, "solve-25", 25);
    assert_eq!((stale.outcome, stale.status), (StatusOutcome::Superseded, TicketStatus::Open));
    // So is a redelivery of the first command.
    assert_eq!(set(&store, &t.id, TicketStatus::Solved, "solve-20", 20).outcome, StatusOutcome::Superseded);
    // A newer one applies.
    let newer = set(&store, &t.id, TicketStatus::Closed, "close-40", 40);
    assert_eq!((newer.outcome, newer.status), (StatusOutcome::Applied, TicketStatus::Closed));
    assert_eq!(newer.status_at, Some(tr_core::normalise::rfc3339_utc(at_minutes(40))));
}

#[test]
fn a_reply_written_before_the_solve_but_kept_after_it_reopens_as_of_the_solve() {
    let (store, lane) = (store(), Lane::default());
    let t = ana_ticket(&store, &lane);
    set(&store, &t.id, TicketStatus::Solved, "solve-100", 100);
    // Ana wrote at minute 50; her mail is kept only now (a slow queue): it reopens the ticket…
    assert!(appended(run(&store, ana_reply("m2@acme", 50, &lane))).merge.reopened);
    let record = load(&store, &t.id).record;
    // …as of the solve, the later time, so a command sent between the two stays superseded.
    assert_eq!((record.status, record.status_at), (TicketStatus::Open, Some(tr_core::normalise::rfc3339_utc(at_minutes(100)))));
    assert_eq!(set(&store, &t.id, TicketStatus::Solved, "solve-80", 80).outcome, StatusOutcome::Superseded);
}

#[test]
fn a_command_for_no_such_ticket_finds_none_and_a_malformed_one_is_refused() {
    let store = store();
    assert_eq!(block_on(store.set_status(&status("01KB0Y3J5V6N2Q8R9S0T1V2W3X", TicketStatus::Closed, "c1", 1))).unwrap(), None);
    let mut bad = status("01KB0Y3J5V6N2Q8R9S0T1V2W3X", TicketStatus::Closed, "c1", 1);
    bad.ticket_id = "../../x".into();
    assert!(matches!(block_on(store.set_status(&bad)), Err(tr_core::store::StoreError::BadCommand(_))));
    assert!(store.kv().snapshot().is_empty());
}

#[test]
fn records_from_before_statuses_still_read_and_new_ones_still_say_closed() {
    let old = |closed: bool| {
        serde_json::json!({
            "v": 1,
            "ticket": {"id": "01KB0Y3J5V6N2Q8R9S0T1V2W3X", "customer": {"email": "ana@acme.example", "name": null},
                       "subject": "s", "body": "", "body_truncated": false, "source": "form",
                       "received_at": "2026-11-27T10:00:00.000Z", "page_url": null,
                       "thread": {"message_id": null, "in_reply_to": null, "references": []}, "transcript_id": null,
                       "idempotency_key": "form:n", "merged_from": [], "reading": null},
            "closed": closed,
            "participants": ["ana@acme.example"],
            "messages": [],
            "merges": [{"message": "01KB0Y3J5V6N2Q8R9S0T1V2W3Y", "reason": "thread", "score": 1.0, "detail": "d"}],
            "links": [{"ticket_id": "01KB0Y3J5V6N2Q8R9S0T1V2W3Z", "reason": "closed", "via": "In-Reply-To <x>"}],
        })
    };
    let closed: TicketRecord = serde_json::from_value(old(true)).unwrap();
    assert_eq!((closed.status, closed.status_at.as_deref()), (TicketStatus::Closed, None));
    assert_eq!(closed.links[0].reason, LinkReason::FollowUpOf, "`closed` links read as follow-ups");
    assert!(!closed.merges[0].reopened);
    let open: TicketRecord = serde_json::from_value(old(false)).unwrap();
    assert_eq!(open.status, TicketStatus::Open);

    // A build from before statuses reads only `closed`: a solved ticket is closed to it (it takes no duplicate).
    let mut solved = open.clone();
    solved.status = TicketStatus::Solved;
    let written: serde_json::Value = serde_json::to_value(&solved).unwrap();
    assert_eq!((written["closed"].as_bool(), written["status"].as_str()), (Some(true), Some("solved")));
    assert_eq!(serde_json::to_value(&open).unwrap()["closed"], false);
    assert_eq!(written["links"][0]["reason"], "follow-up-of");
    let back: TicketRecord = serde_json::from_value(written).unwrap();
    assert_eq!(back, solved);

    // A legacy closed ticket takes a command; with no time on it, any command is newer.
    let (ack, changed) = closed.clone().apply_command(&status("01KB0Y3J5V6N2Q8R9S0T1V2W3X", TicketStatus::Open, "c1", 0));
    assert_eq!((ack.outcome, ack.status, changed), (StatusOutcome::Applied, TicketStatus::Open, true));
}
