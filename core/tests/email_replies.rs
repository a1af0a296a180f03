//! Reply extraction scored on every reply corpus: mailgun/talon's cases and Discourse's EmailReplyTrimmer cases
//! (`shared/fixtures/email-replies/`), and this project's own cases (`tests/fixtures/email-replies/`).
//!
//! Every case is scored on three measures, printed per corpus:
//! - **history removed**: no line of the input that is not part of the expected reply is left in the output
//!   (quoted or forwarded history, and for Discourse and our own cases the signature too, which their expected
//!   texts leave out);
//! - **reply kept**: every line of the expected reply is in the output;
//! - **exact**: equal under the case's own comparison rule.
//!
//! Lines are compared with their whitespace removed, so the measures do not depend on wrapping or indentation.
//! Each corpus runs through the path its expectations describe: talon keeps signatures, so its cases run through
//! the quote stripper alone; Discourse and our own cases expect the ticket body, so they run through quote
//! stripping then the signature step, as the email lane does. Failures are written to
//! `<target tmp>/email_replies.<corpus>.failed`. Cases recorded under patched talon constants
//! (`non_default_config`) measure a configuration we do not have and are skipped with the reason printed.
//! No case is special-cased: the fixtures measure the general rules, they are not the spec.

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;

use serde_json::Value;
use tr_core::email::{html_quote, quote_strip, signature};

fn shared() -> PathBuf {
    match std::env::var_os("TR_SHARED") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"),
    }
}

fn compare(rule: &str, got: &str, expected: &str) -> bool {
    match rule {
        "exact" => got == expected,
        "remove_all_whitespace_then_equal" => squash(got) == squash(expected),
        "strip_both_then_equal" => got.trim() == expected.trim(),
        other => panic!("unknown comparison rule {other:?}"),
    }
}

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The non-blank lines of `s`, whitespace removed.
fn line_set(s: &str) -> HashSet<String> {
    s.lines().map(squash).filter(|l| !l.is_empty()).collect()
}

/// The ticket body of a plain-text reply, as the email lane makes it: quotes, then the signature.
fn ticket_text(input: &str) -> String {
    let stripped = quote_strip::strip_quotes(input).text;
    signature::strip_signature(&stripped)
}

#[derive(Default)]
struct Score {
    ran: usize,
    history_removed: usize,
    reply_kept: usize,
    exact: usize,
    failed: String,
}

impl Score {
    /// Scores one case. `input_text` is the input as text lines (HTML rendered); `one_line` marks an expected text
    /// with no line structure (talon's whitespace-free HTML expectations), compared by containment.
    fn add(&mut self, id: &str, input_text: &str, expected: &str, got: &str, exact: bool, one_line: bool) {
        let (history_ok, reply_ok) = if one_line {
            let (g, e) = (squash(got), squash(expected));
            let history = line_set(input_text).into_iter().filter(|l| l.chars().count() >= 4 && !e.contains(l.as_str()));
            (history.into_iter().all(|l| !g.contains(&l)), g.contains(&e))
        } else {
            let (g, e) = (line_set(got), line_set(expected));
            let history_ok = line_set(input_text).difference(&e).all(|l| !g.contains(l));
            (history_ok, e.is_subset(&g))
        };
        // Equal under the case's own rule means nothing of the history is left and nothing of the reply lost, even
        // where the two sides render differently line by line (talon's expected HTML is re-serialised).
        let (history_ok, reply_ok) = (history_ok || exact, reply_ok || exact);
        self.ran += 1;
        self.history_removed += usize::from(history_ok);
        self.reply_kept += usize::from(reply_ok);
        self.exact += usize::from(exact);
        if !(exact && history_ok && reply_ok) {
            let what = [(!history_ok, "history left"), (!reply_ok, "reply lost"), (!exact, "not exact")]
                .iter()
                .filter(|w| w.0)
                .map(|w| w.1)
                .collect::<Vec<_>>()
                .join(", ");
            self.failed.push_str(&format!("=== {id} [{what}]\n--- input\n{input_text}\n--- expected\n{expected}\n--- got\n{got}\n\n"));
        }
    }

    fn pct(n: usize, of: usize) -> f64 {
        100.0 * n as f64 / of.max(1) as f64
    }

    /// Prints the three measures and writes the failures; returns `(history, reply, exact)` as shares.
    fn report(&self, corpus: &str) -> (f64, f64, f64) {
        assert!(self.ran > 0, "no case ran in {corpus}");
        println!(
            "{corpus:16} {:3} cases: history removed {:3} ({:5.1} %), reply kept {:3} ({:5.1} %), exact {:3} ({:5.1} %)",
            self.ran,
            self.history_removed,
            Self::pct(self.history_removed, self.ran),
            self.reply_kept,
            Self::pct(self.reply_kept, self.ran),
            self.exact,
            Self::pct(self.exact, self.ran),
        );
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("email_replies.{corpus}.failed"));
        std::fs::write(&out, &self.failed).expect("write the failures file");
        println!("{:16} failures written to {}", "", out.display());
        let share = |n: usize| n as f64 / self.ran as f64;
        (share(self.history_removed), share(self.reply_kept), share(self.exact))
    }
}

#[test]
fn talon_cases() {
    let path = shared().join("fixtures/email-replies/talon/cases.jsonl");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {} ({e}); set TR_SHARED to the shared folder", path.display()));

    let (mut plain, mut html) = (Score::default(), Score::default());
    // Signature categories test talon's signature extractor, whose policy (cut sign-offs and names) is not ours:
    // reported as plain equality counts, with no goal.
    let mut sig_tally: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: Value = serde_json::from_str(line).expect("each line is one JSON case");
        let id = case["id"].as_str().unwrap_or("?");
        let category = case["category"].as_str().unwrap_or("?");
        let rule = case["compare"].as_str().unwrap_or("exact");
        let input = case["input"].as_str().unwrap_or("");
        let expected = case["expected"].as_str().unwrap_or("");
        if let Some(config) = case.get("non_default_config") {
            println!("skip {id}: recorded under patched talon constants {config}, which this stripper does not have");
            continue;
        }
        match category {
            "plain_reply_extraction" => {
                let got = quote_strip::strip_quotes(input).text;
                plain.add(id, input, expected, &got, compare(rule, &got, expected), false);
            }
            "html_reply_extraction" => {
                let got = html_quote::strip_html(input);
                let exact = compare(rule, &got.html, expected);
                let input_text = html_quote::html_to_text(input);
                let one_line = rule == "remove_all_whitespace_then_equal";
                html.add(id, &input_text, &html_quote::html_to_text(expected), &got.text, exact, one_line);
            }
            "html_reply_extraction_html_to_text" => {
                let got = html_quote::strip_html(input).text;
                let input_text = html_quote::html_to_text(input);
                html.add(id, &input_text, expected, &got, compare(rule, &got, expected), true);
            }
            "signature_bruteforce" => {
                let (body, sig) = signature::split_signature(input);
                // talon's expectation is the pair `[body, signature or null]`.
                let got = serde_json::json!([body, sig]);
                let t = sig_tally.entry(category.to_owned()).or_default();
                t.0 += 1;
                t.1 += usize::from(got == case["expected"]);
            }
            "signature_ml_classifier" => {
                let (body, sig) = signature::split_signature(input);
                let part = match case["expected_part"].as_str() {
                    Some("signature") => sig.unwrap_or_default(),
                    _ => body,
                };
                let t = sig_tally.entry(category.to_owned()).or_default();
                t.0 += 1;
                t.1 += usize::from(compare(rule, &part, expected));
            }
            other => panic!("unknown category {other}"),
        }
    }
    for (category, (ran, equal)) in &sig_tally {
        println!("{category:38} {equal:3}/{ran:3} equal (talon's signature policy, no goal)");
    }
    let (p_hist, p_reply, p_exact) = plain.report("talon-plain");
    let (h_hist, h_reply, h_exact) = html.report("talon-html");
    assert!(p_exact >= 0.97, "talon plain exact {:.1} % < 97 %", p_exact * 100.0);
    assert!(h_exact >= 0.95, "talon HTML exact {:.1} % < 95 %", h_exact * 100.0);
    assert!(p_hist >= 0.97 && p_reply >= 0.97, "talon plain history {p_hist:.3} / reply {p_reply:.3}");
    assert!(h_hist >= 0.95 && h_reply >= 0.95, "talon HTML history {h_hist:.3} / reply {h_reply:.3}");
}

#[test]
fn discourse_cases() {
    let dir = shared().join("fixtures/email-replies/discourse");
    let mut names: Vec<String> = std::fs::read_dir(dir.join("emails"))
        .unwrap_or_else(|e| panic!("cannot read {} ({e}); set TR_SHARED to the shared folder", dir.display()))
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    names.sort();
    let mut score = Score::default();
    for name in &names {
        let input = std::fs::read_to_string(dir.join("emails").join(name)).expect("readable case");
        let expected = std::fs::read_to_string(dir.join("trimmed").join(name)).expect("every case has its trimmed text");
        // The files end with a newline or not as their editor left them; EmailReplyTrimmer's result has none.
        let expected = expected.trim_end_matches(['\n', '\r']);
        let got = ticket_text(&input);
        score.add(name, &input, expected, &got, got == expected, false);
    }
    let (hist, reply, exact) = score.report("discourse");
    // Where our policy differs from Discourse's (see `quote_strip`): a forwarded message is the customer's request
    // and stays (forwarded_gmail, forwarded_message; talon agrees, talon-048 and talon-090); a mail that is all
    // quote keeps its text rather than becoming an empty ticket (spam_1). Those three cases are the ceiling:
    // 61 of 64. The floors are what the rules reach, so a change that loses ground fails here; the goals
    // are 97 % history removed and 99 % reply kept.
    assert!(hist >= 61.0 / 64.0, "discourse history removed {:.1} % < 95.3 %", hist * 100.0);
    assert!(reply >= 0.99, "discourse reply kept {:.1} % < 99 %", reply * 100.0);
    assert!(exact >= 60.0 / 64.0, "discourse exact {:.1} % < 93.8 %", exact * 100.0);
}

/// This project's own cases: one file each, `key: value` provenance lines, then `---- input` and `---- expected`.
#[test]
fn own_cases() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/email-replies");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {} ({e})", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    paths.sort();
    let mut score = Score::default();
    for path in &paths {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let text = std::fs::read_to_string(path).expect("readable case");
        let (head, rest) = text.split_once("---- input\n").unwrap_or_else(|| panic!("{name}: no ---- input line"));
        let (input, expected) = rest.split_once("\n---- expected\n").unwrap_or_else(|| panic!("{name}: no ---- expected line"));
        assert!(head.lines().any(|l| l.starts_with("client:")), "{name}: every case names the client it describes");
        let expected = expected.trim_end_matches('\n');
        let got = ticket_text(input);
        score.add(name, input, expected, &got, got == expected, false);
    }
    let (hist, reply, exact) = score.report("own");
    assert!(hist == 1.0 && reply == 1.0 && exact == 1.0, "every own case holds: see the failures file");
}
