//! Quote and signature stripping scored on mailgun/talon's cases (`shared/fixtures/email-replies/talon`).
//!
//! Every case is run under its own comparison rule; counts are printed per category and failures written to
//! `<target tmp>/email_replies.failed`. Goals: plain-text reply extraction ≥ 97 % equal, HTML (both categories
//! together) ≥ 95 %. Signature categories are reported with no goal. Cases recorded under patched talon constants
//! (`non_default_config`) measure a configuration we do not have, so they are skipped with the reason printed.
//! No case is special-cased: the fixtures measure the general rules, they are not the spec.

use std::collections::BTreeMap;
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
        "remove_all_whitespace_then_equal" => {
            let squash = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
            squash(got) == squash(expected)
        }
        "strip_both_then_equal" => got.trim() == expected.trim(),
        other => panic!("unknown comparison rule {other:?}"),
    }
}

#[derive(Default)]
struct Tally {
    ran: usize,
    equal: usize,
    skipped: usize,
}

#[test]
fn talon_cases() {
    let path = shared().join("fixtures/email-replies/talon/cases.jsonl");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {} ({e}); set TR_SHARED to the shared folder", path.display()));

    let mut tallies: BTreeMap<String, Tally> = BTreeMap::new();
    let mut failed = String::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let case: Value = serde_json::from_str(line).expect("each line is one JSON case");
        let id = case["id"].as_str().unwrap_or("?");
        let category = case["category"].as_str().unwrap_or("?").to_owned();
        let rule = case["compare"].as_str().unwrap_or("exact");
        let input = case["input"].as_str().unwrap_or("");
        let tally = tallies.entry(category.clone()).or_default();
        if let Some(config) = case.get("non_default_config") {
            println!("skip {id}: recorded under patched talon constants {config}, which this stripper does not have");
            tally.skipped += 1;
            continue;
        }
        let (got, expected) = match category.as_str() {
            "plain_reply_extraction" => (quote_strip::strip_quotes(input).text, case["expected"].clone()),
            "html_reply_extraction" => (html_quote::strip_html(input).html, case["expected"].clone()),
            "html_reply_extraction_html_to_text" => (html_quote::strip_html(input).text, case["expected"].clone()),
            "signature_bruteforce" => {
                let (body, sig) = signature::split_signature(input);
                (serde_json::to_string(&(body, sig)).unwrap(), Value::String(case["expected"].to_string()))
            }
            "signature_ml_classifier" => {
                let (body, sig) = signature::split_signature_for(input, case["sender"].as_str());
                let part = match case["expected_part"].as_str() {
                    Some("signature") => sig.unwrap_or_default(),
                    _ => body,
                };
                (part, case["expected"].clone())
            }
            other => panic!("unknown category {other}"),
        };
        let expected = expected.as_str().unwrap_or("").to_owned();
        // Signature pairs are compared as JSON text, exactly.
        let rule = if category == "signature_bruteforce" { "exact" } else { rule };
        tally.ran += 1;
        if compare(rule, &got, &expected) {
            tally.equal += 1;
        } else {
            failed.push_str(&format!(
                "=== {id} [{category}, {rule}]\n--- input\n{input}\n--- expected\n{expected}\n--- got\n{got}\n\n"
            ));
        }
    }

    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("email_replies.failed");
    std::fs::write(&out, &failed).expect("write the failures file");
    let mut total = 0;
    for (category, t) in &tallies {
        println!(
            "{category:38} {:3}/{:3} equal ({:5.1} %), {} skipped",
            t.equal,
            t.ran,
            100.0 * t.equal as f64 / t.ran.max(1) as f64,
            t.skipped
        );
        total += t.ran;
    }
    println!("failures written to {}", out.display());
    assert!(total > 0, "no case ran");

    let share = |names: &[&str]| {
        let (eq, ran) = names.iter().filter_map(|n| tallies.get(*n)).fold((0, 0), |a, t| (a.0 + t.equal, a.1 + t.ran));
        assert!(ran > 0, "no case ran in {names:?}");
        eq as f64 / ran as f64
    };
    let plain = share(&["plain_reply_extraction"]);
    let html = share(&["html_reply_extraction", "html_reply_extraction_html_to_text"]);
    println!("plain {:.1} %, html {:.1} %", plain * 100.0, html * 100.0);
    assert!(plain >= 0.97, "plain-text reply extraction {:.1} % < 97 %", plain * 100.0);
    assert!(html >= 0.95, "HTML reply extraction {:.1} % < 95 %", html * 100.0);
}
