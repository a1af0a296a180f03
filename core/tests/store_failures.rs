//! Key-value failures: every operation of every intake path is made to fail — once without taking effect, once
//! taking effect with its answer lost — and the retry must finish the job exactly as a clean run would have:
//! same number of tickets, the message on the right ticket, a created ticket still to be sent, never a second one.

mod common;

use std::collections::BTreeMap;

use common::*;
use pollster::block_on;
use tr_core::TicketDraft;
use tr_core::store::{FaultMode, IntakeOutcome, KvError, MemoryKv, Store, StoreError};

const HISTORY: &str = "Our November invoice INV-2291 charges 20% VAT although our EU VAT number is in the billing settings.";
const PROBLEM: &str = "The CSV export of the Projects report fails with \"Export failed, try again later\" since this morning.";

struct Scenario {
    name: &'static str,
    setup: fn(&Store<MemoryKv>, &Lane),
    draft: fn() -> TicketDraft,
}

fn history(store: &Store<MemoryKv>, lane: &Lane) {
    run(store, lane.intake(form("ana@acme.example", "Wrong VAT", HISTORY, "old-1"), 0));
    run(store, lane.intake(email("ana@acme.example", "CSV export fails", PROBLEM, "m1@acme"), 1));
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario { name: "new ticket (form)", setup: history, draft: || form("ana@acme.example", "SSO", "How do we turn on SAML single sign-on for our team?", "n-1") },
        Scenario { name: "new ticket (email)", setup: history, draft: || email("new@acme.example", "SSO", "How do we turn on SAML single sign-on?", "m7@acme") },
        Scenario { name: "duplicate merge", setup: history, draft: || chat(Some("ana@acme.example"), "Visitor: the projects CSV export fails, says export failed try again later", "conv-1") },
        Scenario {
            name: "threaded reply",
            setup: history,
            draft: || reply(email("ana@acme.example", "Re: CSV export fails", "Any news?", "m2@acme"), Some("m1@acme"), &["m1@acme"]),
        },
        Scenario { name: "anonymous chat", setup: history, draft: || chat(None, "Visitor: how much is the Team plan?", "conv-2") },
        Scenario {
            name: "email keyed by its S3 object",
            setup: history,
            draft: || {
                let mut d = email("ana@acme.example", "Refund", "Please refund the duplicate charge on my card.", "m8@acme");
                d.idempotency_key = "s3://tr-raw-mail/8".into();
                d
            },
        },
    ]
}

/// What must match between a clean run and a failed-then-retried one (ticket ids may differ when the failure
/// came before anything was written, because the retry is normalised afresh).
#[derive(Debug, PartialEq)]
struct Shape {
    tickets: usize,
    message_keys: Vec<String>,
    customer_entries: BTreeMap<String, usize>,
    outcome: String,
    messages_on_target: usize,
}

fn shape(store: &Store<MemoryKv>, outcome: &IntakeOutcome) -> Shape {
    let snapshot = store.kv().snapshot();
    let customer_entries = snapshot
        .iter()
        .filter(|(k, _)| k.starts_with("tr/c/"))
        .map(|(k, v)| {
            let value: serde_json::Value = serde_json::from_slice(v).unwrap();
            (k.clone(), value["entries"].as_array().unwrap().len())
        })
        .collect();
    let outcome_kind = match outcome {
        IntakeOutcome::Created { .. } => "created".to_owned(),
        IntakeOutcome::Appended(a) => format!("appended {:?} to {}", a.merge.reason, a.ticket_id),
        IntakeOutcome::Repeat { .. } => "repeat".to_owned(),
    };
    let target = block_on(store.load(outcome.ticket_id())).unwrap().expect("the outcome's ticket exists");
    assert_eq!(target.messages.len(), target.record.messages.len(), "every listed message is stored");
    Shape {
        tickets: ticket_count(store),
        message_keys: snapshot.keys().filter(|k| k.starts_with("tr/m/")).cloned().collect(),
        customer_entries,
        outcome: outcome_kind,
        messages_on_target: target.messages.len(),
    }
}

#[test]
fn every_failure_is_completed_by_the_retry() {
    let mut cases = 0;
    for scenario in scenarios() {
        let clean = store();
        let lane = Lane::default();
        (scenario.setup)(&clean, &lane);
        clean.kv().reset_counts();
        let outcome = run(&clean, lane.intake((scenario.draft)(), 100));
        let ops = clean.kv().counts().total();
        let expected = shape(&clean, &outcome);

        for nth in 0..ops {
            for mode in [FaultMode::Lost, FaultMode::Unacknowledged] {
                let (store, lane) = (store(), Lane::default());
                (scenario.setup)(&store, &lane);
                store.kv().fail_in(nth, mode);
                let err = block_on(store.intake(lane.intake((scenario.draft)(), 100)))
                    .expect_err("the injected failure surfaces");
                assert!(matches!(err, StoreError::Kv { source: KvError::Other(_), .. }), "{}: {err:?}", scenario.name);
                assert!(err.is_retryable(), "{}: {err}", scenario.name);

                let retried = run(&store, lane.intake((scenario.draft)(), 101));
                let what = format!("{} — op {nth} {mode:?}", scenario.name);
                assert_eq!(shape(&store, &retried), expected, "{what}");
                match &retried {
                    IntakeOutcome::Created { ticket, .. } => block_on(store.mark_enqueued(ticket)).unwrap(),
                    IntakeOutcome::Appended(append) => block_on(store.mark_append_sent(append)).unwrap(),
                    IntakeOutcome::Repeat { .. } => panic!("{what}: the first attempt failed, nothing was sent"),
                }
                let again = run(&store, lane.intake((scenario.draft)(), 102));
                assert_eq!(again, IntakeOutcome::Repeat { ticket_id: retried.ticket_id().to_owned() }, "{what}");
                cases += 1;
            }
        }
    }
    assert!(cases >= 50, "ran {cases} failure cases");
}

#[test]
fn a_failed_confirmation_means_the_ticket_is_sent_again_not_lost() {
    let (store, lane) = (store(), Lane::default());
    let draft = form("ana@acme.example", "SSO", "How do we turn on SAML single sign-on?", "n-1");
    let ticket = created(&run(&store, lane.intake(draft.clone(), 0))).clone();
    store.kv().fail_in(1, FaultMode::Lost);
    assert!(block_on(store.mark_enqueued(&ticket)).unwrap_err().is_retryable());
    let IntakeOutcome::Created { ticket: again, resumed: true } = run(&store, lane.intake(draft.clone(), 1)) else { panic!() };
    assert_eq!(again, ticket);
    block_on(store.mark_enqueued(&again)).unwrap();
    assert!(matches!(run(&store, lane.intake(draft, 2)), IntakeOutcome::Repeat { .. }));
}

#[test]
fn configuration_errors_are_not_retryable_and_unreadable_values_are_typed() {
    assert!(!KvError::AccessDenied.is_retryable());
    assert!(!KvError::NoSuchStore.is_retryable());
    assert!(KvError::StoreTableFull.is_retryable());

    let (store, lane) = (store(), Lane::default());
    let draft = form("ana@acme.example", "SSO", "How do we turn on SAML single sign-on?", "n-1");
    let ticket = created(&run(&store, lane.intake(draft.clone(), 0))).clone();
    let key = format!("tr/t/{}", ticket.id);
    let mut value: serde_json::Value = serde_json::from_slice(&store.kv().snapshot()[&key]).unwrap();
    value["v"] = 2.into();
    block_on(tr_core::store::Kv::set(store.kv(), &key, value.to_string().as_bytes())).unwrap();
    let err = block_on(store.intake(lane.intake(draft, 1))).unwrap_err();
    assert!(matches!(err, StoreError::Record { .. }), "{err:?}");
    assert!(err.is_retryable(), "a newer build wrote it: {err}");
}
