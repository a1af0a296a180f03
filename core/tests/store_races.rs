//! Concurrent intakes on one store: the races the soak run found before the store had compare-and-swap.
//!
//! Intakes run interleaved on one thread, as concurrent requests do against one key-value store: every
//! key-value call first yields a number of times drawn from a seed, so each seed is another interleaving of the
//! same operations. Each scenario runs under many seeds and asserts the outcome a person would see — one ticket,
//! every message on it — not a particular interleaving. A retryable answer (`Busy`, `Contended`) is retried
//! afterwards, as the lane's sender would.

mod common;

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use common::*;
use tr_core::store::{Intake, IntakeOutcome, Kv, KvError, MemoryKv, Store, StoreConfig, StoreError, TicketRecord, TicketStatus, Watched};

const SEEDS: u64 = 60;

/// The memory store, yielding before each call so other intakes run in between.
struct Interleaved {
    inner: MemoryKv,
    seed: Cell<u64>,
}

impl Interleaved {
    fn new(seed: u64) -> Self {
        Self { inner: MemoryKv::new(), seed: Cell::new(seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407)) }
    }

    fn pause(&self) -> YieldTimes {
        let s = self.seed.get().wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.seed.set(s);
        YieldTimes((s >> 33) % 4)
    }
}

struct YieldTimes(u64);

impl Future for YieldTimes {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 == 0 {
            return Poll::Ready(());
        }
        self.0 -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl Kv for Interleaved {
    type Watch = Watched;
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.pause().await;
        self.inner.get(key).await
    }
    async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.pause().await;
        self.inner.set(key, value).await
    }
    async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.pause().await;
        self.inner.delete(key).await
    }
    async fn exists(&self, key: &str) -> Result<bool, KvError> {
        self.pause().await;
        self.inner.exists(key).await
    }
    async fn watch(&self, key: &str) -> Result<(Option<Vec<u8>>, Watched), KvError> {
        self.pause().await;
        self.inner.watch(key).await
    }
    async fn swap(&self, watch: Watched, value: &[u8]) -> Result<bool, KvError> {
        self.pause().await;
        self.inner.swap(watch, value).await
    }
}

type Attempt<'a> = Pin<Box<dyn Future<Output = Result<IntakeOutcome, StoreError>> + 'a>>;

/// Polls every intake in turn until all are done: one thread, interleaved at each yield.
fn run_together<'a>(mut attempts: Vec<Attempt<'a>>) -> Vec<Result<IntakeOutcome, StoreError>> {
    let mut out: Vec<Option<Result<IntakeOutcome, StoreError>>> = attempts.iter().map(|_| None).collect();
    let mut cx = Context::from_waker(Waker::noop());
    while out.iter().any(Option::is_none) {
        for (i, attempt) in attempts.iter_mut().enumerate() {
            if out[i].is_none()
                && let Poll::Ready(r) = attempt.as_mut().poll(&mut cx)
            {
                out[i] = Some(r);
            }
        }
    }
    out.into_iter().map(Option::unwrap).collect()
}

/// Runs the intakes together, then retries each retryable answer alone, as its sender would (later, so with a
/// later clock), and returns the final outcomes.
fn deliver(store: &Store<Interleaved>, lane: &Lane, intakes: Vec<tr_core::TicketDraft>) -> Vec<IntakeOutcome> {
    let firsts: Vec<Intake> = intakes.iter().map(|d| lane.intake(d.clone(), 0)).collect();
    let attempts: Vec<Attempt<'_>> = firsts.into_iter().map(|i| Box::pin(store.intake(i)) as Attempt<'_>).collect();
    let results = run_together(attempts);
    results
        .into_iter()
        .zip(intakes)
        .map(|(result, draft)| match result {
            Ok(outcome) => outcome,
            Err(e) if e.is_retryable() => pollster::block_on(store.intake(lane.intake(draft, 1))).expect("the retry succeeds"),
            Err(e) => panic!("not retryable: {e}"),
        })
        .collect()
}

fn records(store: &Store<Interleaved>) -> Vec<TicketRecord> {
    store
        .kv()
        .inner
        .snapshot()
        .into_iter()
        .filter(|(k, _)| k.starts_with("tr/t/"))
        .map(|(_, v)| serde_json::from_slice(&v).expect("a record"))
        .collect()
}

fn new_store(seed: u64) -> Store<Interleaved> {
    Store::new(Interleaved::new(seed), StoreConfig::default())
}

/// The customer's first mail, kept alone: the ticket later intakes race on.
fn first_mail(store: &Store<Interleaved>, lane: &Lane) -> tr_core::Ticket {
    let first = email("ana@acme.example", "CSV export fails", BODY, "m1@acme.example");
    match pollster::block_on(store.intake(lane.intake(first, 0))).unwrap() {
        IntakeOutcome::Created { ticket, .. } => ticket,
        other => panic!("{other:?}"),
    }
}

const BODY: &str = "The CSV export of the Projects report fails with \"Export failed, try again later\" since this morning. \
    We need the export for our monthly client billing.";

#[test]
fn the_same_mail_twice_at_once_is_one_ticket() {
    let mut interleavings_with_a_loser = 0;
    for seed in 0..SEEDS {
        let (store, lane) = (new_store(seed), Lane::default());
        let mail = email("ana@acme.example", "CSV export fails", BODY, "m1@acme.example");
        let firsts: Vec<Attempt<'_>> = (0..2).map(|_| Box::pin(store.intake(lane.intake(mail.clone(), 0))) as Attempt<'_>).collect();
        let results = run_together(firsts);
        interleavings_with_a_loser += results.iter().filter(|r| matches!(r, Err(StoreError::Busy { .. }))).count();
        let outcomes = deliver(&store, &lane, vec![mail.clone()]);
        let recs = records(&store);
        assert_eq!(recs.len(), 1, "seed {seed}: {results:?} then {outcomes:?}");
        assert_eq!(outcomes[0].ticket_id(), recs[0].ticket.id, "seed {seed}");
        for r in results.into_iter().flatten() {
            assert_eq!(r.ticket_id(), recs[0].ticket.id, "seed {seed}: both deliveries name the one ticket");
        }
    }
    println!("same mail twice: {SEEDS} interleavings, {interleavings_with_a_loser} where the second delivery was told to retry");
    assert!(interleavings_with_a_loser > 0, "no interleaving raced: the test would prove nothing");
}

/// As the soak run found: three copies of one mail in one poll, each handled as the email lane does (intake, then
/// on `Created` the send's confirmation). A copy that finds the first one's unfinished entry resumes it and writes
/// the same ticket alongside it; neither may take the ticket they both hold for a duplicate of itself (the copy
/// appending the mail to its own ticket and deleting the record the other copy had sent, as the soak run saw).
#[test]
fn three_copies_of_one_mail_at_once_keep_the_one_ticket_they_make() {
    let (told_to_retry, resumed) = three_copies(StoreConfig::default());
    println!("three copies: {} interleavings, {resumed} copies that resumed another's unfinished intake, {told_to_retry} told to retry", SEEDS * 4);
    assert!(resumed > 0, "no copy resumed another's unfinished intake: the test would prove nothing");
}

/// Three copies of one mail at once under many interleavings, each as the email lane handles it; asserts one
/// ticket listing the mail once, named by every answer; returns how many answers were "retry" and how many copies
/// resumed another's unfinished intake.
fn three_copies(config: StoreConfig) -> (usize, usize) {
    let (mut told_to_retry, mut resumed) = (0, 0);
    for seed in 0..SEEDS * 4 {
        let (store, lane) = (Store::new(Interleaved::new(seed), config.clone()), Lane::default());
        let mail = email("ana@acme.example", "CSV export fails", BODY, "m1@acme.example");
        let handle = |minutes| {
            let (store, intake) = (&store, lane.intake(mail.clone(), minutes));
            Box::pin(async move {
                let outcome = store.intake(intake).await?;
                if let IntakeOutcome::Created { ticket, .. } = &outcome {
                    store.mark_enqueued(ticket).await?;
                }
                Ok(outcome)
            }) as Attempt<'_>
        };
        let mut results = run_together((0..3).map(|_| handle(0)).collect());
        for r in results.iter_mut().filter(|r| r.is_err()) {
            assert!(r.as_ref().is_err_and(StoreError::is_retryable), "seed {seed}: {r:?}");
            told_to_retry += 1;
            *r = pollster::block_on(handle(1));
        }
        resumed += results.iter().filter(|r| matches!(r, Ok(IntakeOutcome::Created { resumed: true, .. }))).count();
        let recs = records(&store);
        assert_eq!(recs.len(), 1, "seed {seed}: {results:?}");
        assert_eq!(recs[0].messages.len(), 1, "seed {seed}: the mail is listed once");
        for r in &results {
            match r {
                Ok(IntakeOutcome::Appended(a)) => panic!("seed {seed}: a copy was appended to {}: {results:?}", a.ticket_id),
                Ok(o) => assert_eq!(o.ticket_id(), recs[0].ticket.id, "seed {seed}"),
                Err(e) => panic!("seed {seed}: the retry failed: {e}"),
            }
        }
    }
    (told_to_retry, resumed)
}

#[test]
fn eight_posts_of_one_customer_on_one_problem_at_once_are_one_ticket_with_every_message() {
    for seed in 0..SEEDS {
        let (store, lane) = (new_store(seed), Lane::default());
        let posts: Vec<_> = (0..8)
            .map(|i| form("ana@acme.example", "CSV export fails", &format!("{BODY} Attempt {i}."), &format!("nonce-{i}")))
            .collect();
        let outcomes = deliver(&store, &lane, posts);
        let recs = records(&store);
        assert_eq!(recs.len(), 1, "seed {seed}: {} tickets: {outcomes:?}", recs.len());
        assert_eq!(recs[0].messages.len(), 8, "seed {seed}: every post is on the ticket");
        assert!(outcomes.iter().all(|o| o.ticket_id() == recs[0].ticket.id), "seed {seed}");
        assert_eq!(outcomes.iter().filter(|o| matches!(o, IntakeOutcome::Created { .. })).count(), 1, "seed {seed}");
        let index = store.kv().inner.snapshot().into_iter().filter(|(k, _)| k.starts_with("tr/c/")).count();
        assert_eq!(index, 1);
    }
}

#[test]
fn concurrent_replies_to_one_ticket_are_all_listed() {
    for seed in 0..SEEDS {
        let (store, lane) = (new_store(seed), Lane::default());
        let ticket = first_mail(&store, &lane);
        let replies: Vec<_> = (0..6)
            .map(|i| {
                reply(
                    email("ana@acme.example", "Re: CSV export fails", &format!("More detail number {i}: it fails at 40%."), &format!("r{i}@acme.example")),
                    Some("m1@acme.example"),
                    &["m1@acme.example"],
                )
            })
            .collect();
        let outcomes = deliver(&store, &lane, replies);
        assert!(outcomes.iter().all(|o| matches!(o, IntakeOutcome::Appended(a) if a.ticket_id == ticket.id)), "seed {seed}: {outcomes:?}");
        let recs = records(&store);
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].messages.len(), 7, "seed {seed}: no reply's entry lost to another's write");
    }
}

#[test]
fn a_close_racing_an_append_loses_neither() {
    for seed in 0..SEEDS {
        let (store, lane) = (new_store(seed), Lane::default());
        let ticket = first_mail(&store, &lane);
        let answer = reply(email("ana@acme.example", "Re: CSV export fails", "It fails at 40% now.", "r1@acme.example"), Some("m1@acme.example"), &[]);
        let close = async {
            store.set_status(&status(&ticket.id, TicketStatus::Closed, "close-1", 1)).await?;
            Ok(IntakeOutcome::Repeat { ticket_id: ticket.id.clone() })
        };
        let results = run_together(vec![Box::pin(store.intake(lane.intake(answer, 0))), Box::pin(close)]);
        let recs = records(&store);
        let original = recs.iter().find(|r| r.ticket.id == ticket.id).expect("the ticket");
        assert_eq!(original.status, TicketStatus::Closed, "seed {seed}: the close was lost to the append's write");
        match &results[0] {
            // Appended before the close landed: listed on the ticket.
            Ok(IntakeOutcome::Appended(_)) => assert_eq!(original.messages.len(), 2, "seed {seed}"),
            // The ticket closed first: the reply is a ticket of its own.
            Ok(IntakeOutcome::Created { .. }) => assert_eq!(recs.len(), 2, "seed {seed}"),
            other => panic!("seed {seed}: {other:?}"),
        }
    }
}

#[test]
fn a_solve_racing_a_reply_is_never_lost_unless_the_reply_reopens_the_ticket() {
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..SEEDS {
        let (store, lane) = (new_store(seed), Lane::default());
        let ticket = first_mail(&store, &lane);
        let answer = reply(email("ana@acme.example", "Re: CSV export fails", "It fails at 40% now.", "r1@acme.example"), Some("m1@acme.example"), &[]);
        let solve = async {
            let ack = store.set_status(&status(&ticket.id, TicketStatus::Solved, "solve-1", 1)).await?.expect("the ticket exists");
            assert_eq!(ack.outcome, tr_core::store::StatusOutcome::Applied, "seed {seed}");
            Ok(IntakeOutcome::Repeat { ticket_id: ticket.id.clone() })
        };
        let results = run_together(vec![Box::pin(store.intake(lane.intake(answer, 2))), Box::pin(solve)]);
        let recs = records(&store);
        let original = recs.iter().find(|r| r.ticket.id == ticket.id).expect("the ticket");
        match &results[0] {
            // Solved first, then the reply: it reopens the ticket, which says so.
            Ok(IntakeOutcome::Appended(a)) if a.merge.reopened => {
                assert_eq!((original.status, original.messages.len()), (TicketStatus::Open, 2), "seed {seed}");
                seen.insert("reopened");
            }
            // The reply landed while the ticket was open: it is listed, and the solve that came after stands.
            Ok(IntakeOutcome::Appended(_)) => {
                assert_eq!((original.status, original.messages.len()), (TicketStatus::Solved, 2), "seed {seed}");
                seen.insert("appended, then solved");
            }
            // Read open, solved before its write: the reply was not written as reopening, so it follows up.
            Ok(IntakeOutcome::Created { ticket: own, .. }) => {
                assert_eq!((original.status, original.messages.len()), (TicketStatus::Solved, 1), "seed {seed}");
                let link = &recs.iter().find(|r| r.ticket.id == own.id).unwrap().links[0];
                assert_eq!((link.ticket_id.as_str(), link.reason), (ticket.id.as_str(), tr_core::store::LinkReason::FollowUpOf));
                seen.insert("follow-up");
            }
            other => panic!("seed {seed}: {other:?}"),
        }
    }
    assert!(seen.len() >= 2, "the interleavings reached more than one order: {seen:?}");
}
