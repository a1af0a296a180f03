//! The duplicate rule measured on the labelled pairs in `tests/fixtures/store/pairs.jsonl` (see the README there).
//!
//! Every pair runs through the real store: intake `a`, then intake `b` `gap_hours` later, on a fresh in-memory
//! store with the default configuration. `b` appended to `a`'s ticket as a duplicate is a predicted duplicate.
//! Prints the confusion counts, precision and recall (all pairs, and each split), the score of every pair, and a
//! threshold sweep on the dev split; writes failing pairs to `pairs.failed`.
//!
//! The goals are precision ≥ 0.98 and recall ≥ 0.85. Precision is met and asserted. Recall is not (rule v4:
//! 0.693 on all 323 pairs, 0.360 on `blind4`, the split written blind after v4; see `BENCHMARKS.md`): the main test asserts the measured floor so
//! the rule cannot get worse unnoticed, and `recall_goal` — ignored, with the reason — asserts the goal itself.
//! Also counted: how many pairs the rule did not merge get a possible-duplicate link instead.

mod common;

use std::fmt::Write as _;
use std::path::PathBuf;

use common::*;
use serde_json::Value;
use tr_core::normalise::normalise_email;
use tr_core::store::record::{LinkReason, MergeReason};
use tr_core::store::{IntakeOutcome, StoreConfig, keys, similar};
use tr_core::{Source, ThreadIds, Ticket, TicketDraft};

const PRECISION_GOAL: f64 = 0.98;
const RECALL_GOAL: f64 = 0.85;
/// Measured with rule v4 (2026-11-27: v3 plus the second way to merge, ≥ 6 shared words and cosine ≥ 0.30):
/// recall 115/166 = 0.693 on all 323 pairs (106/141 = 0.752 before `blind4`, 9/25 on `blind4`). (v3 measured 92/116 = 0.793 on the 223 pairs
/// before `blind3` and 98/141 = 0.695 with it: `blind3`, written by someone else, took it to 0.24.)
const RECALL_FLOOR: f64 = 0.69;

struct Case {
    id: String,
    split: String,
    duplicate: bool,
    note: String,
    merged: bool,
    /// Not merged, but `b`'s new ticket records a possible-duplicate link to `a`'s.
    linked: bool,
    /// Same customer by match address (both identified): the rule compares the texts only then.
    same_customer: bool,
    score: f64,
    shared: Vec<String>,
    /// Distinct content words of `a` and of `b`.
    sizes: (u32, u32),
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/store")
}

fn draft(side: &Value, id: &str, which: &str) -> TicketDraft {
    let s = |k: &str| side.get(k).and_then(Value::as_str).map(str::to_owned);
    let source = match s("source").as_deref() {
        Some("form") => Source::Form,
        Some("chat") => Source::Chat,
        Some("email") => Source::Email,
        other => panic!("{id}: unknown source {other:?}"),
    };
    let key = format!("{id}-{which}@pairs.example");
    TicketDraft {
        source,
        customer_email: s("email"),
        customer_name: s("name"),
        subject: s("subject").unwrap_or_default(),
        body: s("body").unwrap_or_else(|| panic!("{id}: {which} has no body")),
        page_url: None,
        thread: match source {
            Source::Email => ThreadIds { message_id: Some(key.clone()), ..ThreadIds::default() },
            _ => ThreadIds::default(),
        },
        transcript_id: (source == Source::Chat).then(|| key.clone()),
        idempotency_key: key,
    }
}

fn match_address(t: &Ticket) -> Option<String> {
    t.customer.email.as_deref().map(|e| keys::match_address(&normalise_email(e).unwrap()))
}

fn run_pairs() -> Vec<Case> {
    let text = std::fs::read_to_string(fixtures().join("pairs.jsonl")).expect("pairs.jsonl is readable");
    let mut cases = Vec::new();
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let pair: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("line {}: {e}", n + 1));
        let id = pair["id"].as_str().expect("id").to_owned();
        let duplicate = match pair["label"].as_str() {
            Some("duplicate") => true,
            Some("distinct") => false,
            other => panic!("{id}: label {other:?}"),
        };
        let gap_minutes = (pair["gap_hours"].as_f64().unwrap_or(2.0) * 60.0) as u64;
        let (store, lane) = (store(), Lane::default());
        let a = lane.ticket(draft(&pair["a"], &id, "a"), 0);
        let b = lane.ticket(draft(&pair["b"], &id, "b"), gap_minutes);
        let first = created(&run(&store, tr_core::store::Intake::new(a.clone()))).id.clone();
        let (merged, linked) = match run(&store, tr_core::store::Intake::new(b.clone())) {
            IntakeOutcome::Appended(x) => {
                assert_eq!((x.ticket_id.as_str(), x.merge.reason), (first.as_str(), MergeReason::Duplicate), "{id}");
                (true, false)
            }
            outcome @ IntakeOutcome::Created { .. } => {
                let stored = pollster::block_on(store.load(&created(&outcome).id)).unwrap().expect("b's ticket");
                let linked = stored.record.links.iter().any(|l| l.ticket_id == first && l.reason == LinkReason::PossibleDuplicate);
                (false, linked)
            }
            other => panic!("{id}: {other:?}"),
        };
        let fp = |t: &Ticket| similar::fingerprint(&t.subject, &t.body, &similar::identity_words(&t.customer));
        let (fa, fb) = (fp(&a), fp(&b));
        let sim = similar::similarity(&fa, &fb);
        let same_customer = match_address(&a).is_some() && match_address(&a) == match_address(&b);
        cases.push(Case {
            id,
            split: pair["split"].as_str().unwrap_or("dev").to_owned(),
            duplicate,
            note: pair["note"].as_str().unwrap_or_default().to_owned(),
            merged,
            linked,
            same_customer,
            score: sim.score,
            shared: sim.shared,
            sizes: (fa.n, fb.n),
        });
    }
    cases
}

#[derive(Default, Debug)]
struct Counts {
    tp: usize,
    fp: usize,
    tn: usize,
    r#fn: usize,
}

impl Counts {
    fn of<'a>(cases: impl Iterator<Item = (&'a Case, bool)>) -> Self {
        let mut c = Counts::default();
        for (case, predicted) in cases {
            match (case.duplicate, predicted) {
                (true, true) => c.tp += 1,
                (false, true) => c.fp += 1,
                (false, false) => c.tn += 1,
                (true, false) => c.r#fn += 1,
            }
        }
        c
    }
    fn precision(&self) -> f64 {
        if self.tp + self.fp == 0 { 1.0 } else { self.tp as f64 / (self.tp + self.fp) as f64 }
    }
    fn recall(&self) -> f64 {
        if self.tp + self.r#fn == 0 { 1.0 } else { self.tp as f64 / (self.tp + self.r#fn) as f64 }
    }
    fn line(&self, name: &str) -> String {
        format!(
            "{name:<8} n={:<4} TP={:<3} FP={:<3} TN={:<3} FN={:<3} precision={:.3} recall={:.3}",
            self.tp + self.fp + self.tn + self.r#fn,
            self.tp,
            self.fp,
            self.tn,
            self.r#fn,
            self.precision(),
            self.recall()
        )
    }
}

#[test]
fn the_merge_rule_on_the_labelled_pairs() {
    let all = measure();
    assert!(all.precision() >= PRECISION_GOAL, "precision {:.3} < {PRECISION_GOAL}", all.precision());
    assert!(all.recall() >= RECALL_FLOOR, "recall {:.3} fell below the measured {RECALL_FLOOR}", all.recall());
    if all.recall() < RECALL_GOAL {
        println!("recall goal {RECALL_GOAL} NOT MET ({:.3}): see BENCHMARKS.md", all.recall());
    }
}

#[test]
#[ignore = "recall goal not met: 0.693 < 0.85 on all pairs, 0.360 on blind4 (rule v4; BENCHMARKS.md, Ticket store)"]
fn recall_goal() {
    let all = measure();
    assert!(all.recall() >= RECALL_GOAL, "recall {:.3} < {RECALL_GOAL}", all.recall());
}

/// Runs every pair, prints the report, writes `pairs.failed`; returns the counts over all pairs.
fn measure() -> Counts {
    let config = StoreConfig::default();
    let cases = run_pairs();
    assert!(cases.len() >= 100, "ran {} pairs; the set has at least 100", cases.len());

    // The rule applied to each pair's similarity, to sweep thresholds; it must agree with the store at the real one.
    let similarity = |c: &Case| similar::Similarity { score: c.score, shared: c.shared.clone() };
    let predict = |c: &Case, threshold: f64| {
        c.same_customer && StoreConfig { threshold, ..config.clone() }.merges(&similarity(c))
    };
    for c in &cases {
        assert_eq!(predict(c, config.threshold), c.merged, "{}: the sweep disagrees with the store", c.id);
        assert_eq!(c.same_customer && config.links(&similarity(c)), c.linked, "{}: link disagrees with the store", c.id);
    }

    println!("pair  split    label      merged  linked score  |a| |b| shared words");
    for c in &cases {
        println!(
            "{:<5} {:<8} {:<10} {:<7} {:<6} {:.3}  {:>3} {:>3} {}",
            c.id,
            c.split,
            if c.duplicate { "duplicate" } else { "distinct" },
            c.merged,
            c.linked,
            c.score,
            c.sizes.0,
            c.sizes.1,
            c.shared.join(" ")
        );
    }
    println!("\nthreshold sweep, dev split (the rule with only the threshold changed):");
    for t in [0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5] {
        let dev = Counts::of(cases.iter().filter(|c| c.split == "dev").map(|c| (c, predict(c, t))));
        println!("{}", dev.line(&format!("{t:.2}")));
    }
    let all = Counts::of(cases.iter().map(|c| (c, c.merged)));
    println!("\nat threshold {} (min shared words {}):", config.threshold, config.min_shared);
    for split in ["dev", "holdout", "blind", "blind2", "blind3", "blind4"] {
        println!("{}", Counts::of(cases.iter().filter(|c| c.split == split).map(|c| (c, c.merged))).line(split));
    }
    println!("{}", all.line("all"));
    let linked = |dup: bool| cases.iter().filter(|c| c.linked && c.duplicate == dup).count();
    let missed = cases.iter().filter(|c| c.duplicate && !c.merged).count();
    println!(
        "possible-duplicate links (score ≥ {}, ≥ {} shared words, not merged): {} of the {missed} missed duplicates, {} distinct pairs",
        config.link_threshold, config.link_shared, linked(true), linked(false)
    );

    let failed: Vec<&Case> = cases.iter().filter(|c| c.duplicate != c.merged).collect();
    let failed_path = fixtures().join("pairs.failed");
    if failed.is_empty() {
        let _ = std::fs::remove_file(&failed_path);
    } else {
        let mut out = String::new();
        for c in &failed {
            let kind = if c.merged { "FP (merged, labelled distinct)" } else { "FN (not merged, labelled duplicate)" };
            let _ = writeln!(out, "{} [{}] {kind}: score {:.3}, same customer {}, shared [{}] — {}",
                c.id, c.split, c.score, c.same_customer, c.shared.join(" "), c.note);
        }
        std::fs::write(&failed_path, out).expect("pairs.failed is writable");
        println!("\n{} failing pairs written to {}", failed.len(), failed_path.display());
    }
    all
}
