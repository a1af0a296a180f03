//! The offline reader: a deterministic reading from the rules sheet alone — no network, no model.
//!
//! Role: the embedded default (`up` runs with no cloud account) and, if configured, the fallback when the model
//! is down. Key decisions: topic = the best score of (the topic's cue words found in the ticket) + (word overlap
//! with each labelled example, credited to the example's topic); no evidence → `unsure`, never a guess. Urgency
//! and tone come from the nearest example when it is close, else from small built-in cue lists (English), so the
//! result is explainable line by line. Its agreement with the sheet's own examples (leave-one-out) is measured
//! in `BENCHMARKS.md`; it is a floor, not a model.

use std::collections::HashSet;

use super::rules_sheet::{RulesSheet, UNSURE};
use crate::ticket::{Reading, Ticket, Tone, Urgency};

const HIGH: &[&str] = &[
    "urgent", "asap", "immediately", "outage", "down", "emergency", "critical", "production", "blocked",
    "cannot access", "can't access", "can't log in", "cannot log in", "locked out", "data loss", "lost data",
    "deadline", "today", "right now", "not working", "stopped working",
];
const LOW: &[&str] = &[
    "question", "wondering", "curious", "feature request", "suggestion", "would be nice", "no rush",
    "when you have time", "just wanted", "feedback", "is it possible", "do you offer",
];
const ANGRY: &[&str] = &[
    "unacceptable", "ridiculous", "furious", "angry", "terrible", "worst", "scam", "disgusted", "fed up",
    "outrageous", "joke", "third time", "still not", "useless", "!!",
];
const CONFUSED: &[&str] = &[
    "confused", "don't understand", "do not understand", "not sure", "unclear", "how do i", "how can i",
    "what does", "why does", "why is", "which", "where do i", "can't find", "cannot find",
];

/// Nearest-example similarity above which that example's urgency and tone are taken.
const CLOSE: f64 = 0.34;

pub fn read_offline(sheet: &RulesSheet, ticket: &Ticket) -> Reading {
    read_text(sheet, &format!("{}\n{}", ticket.subject, ticket.body), None)
}

/// `skip`: an example index to leave out (the leave-one-out measurement).
pub fn read_text(sheet: &RulesSheet, text: &str, skip: Option<usize>) -> Reading {
    let lower = text.to_lowercase();
    let words = words(&lower);

    let mut scores: Vec<f64> = sheet
        .topics
        .iter()
        .map(|t| t.cues.iter().filter(|c| contains_phrase(&lower, &words, c)).count() as f64)
        .collect();
    let mut nearest: Option<(f64, usize)> = None;
    for (i, example) in sheet.examples.iter().enumerate() {
        if Some(i) == skip {
            continue;
        }
        let sim = jaccard(&words, &words_of(&example.text));
        if let Some(t) = sheet.topics.iter().position(|t| t.name == example.topic) {
            scores[t] += 2.0 * sim;
        }
        if nearest.is_none_or(|(best, _)| sim > best) {
            nearest = Some((sim, i));
        }
    }
    let best = scores.iter().cloned().enumerate().max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
    let topic = match best {
        Some((i, score)) if score >= 0.5 => sheet.topics[i].name.clone(),
        _ => UNSURE.to_owned(),
    };

    let close = nearest.filter(|(sim, _)| *sim >= CLOSE).map(|(_, i)| &sheet.examples[i]);
    let urgency = match close {
        Some(e) => e.urgency,
        None if HIGH.iter().any(|c| contains_phrase(&lower, &words, c)) => Urgency::High,
        None if LOW.iter().any(|c| contains_phrase(&lower, &words, c)) => Urgency::Low,
        None => Urgency::Medium,
    };
    let tone = match close {
        Some(e) => e.tone,
        None if ANGRY.iter().any(|c| contains_phrase(&lower, &words, c)) => Tone::Angry,
        None if CONFUSED.iter().any(|c| contains_phrase(&lower, &words, c)) || lower.matches('?').count() >= 2 => {
            Tone::Confused
        }
        None => Tone::Calm,
    };
    Reading { topic, urgency, tone }
}

fn words(lower: &str) -> HashSet<String> {
    lower
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| w.chars().count() > 2)
        .map(str::to_owned)
        .collect()
}

fn words_of(text: &str) -> HashSet<String> {
    words(&text.to_lowercase())
}

/// A single word must be a whole word (so "down" is not found in "download"); a phrase or punctuation cue is a
/// substring.
fn contains_phrase(lower: &str, words: &HashSet<String>, cue: &str) -> bool {
    if cue.chars().all(char::is_alphanumeric) { words.contains(cue) } else { lower.contains(cue) }
}

fn jaccard(a: &HashSet<String>, b: &HashSet<String>) -> f64 {
    let union = a.union(b).count();
    if union == 0 { 0.0 } else { a.intersection(b).count() as f64 / union as f64 }
}
