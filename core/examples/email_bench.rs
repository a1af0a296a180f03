//! Email lane throughput: raw bytes → ticket draft (parse, loop guard, quote and signature stripping) against
//! mail-parser alone, over the same MIME corpus in the same run.
//!
//! `cargo run --release -p tr-core --example email_bench` (corpus: `$TR_SHARED/fixtures/mime`, default
//! `../shared` beside the repository). mail-parser 1.x decodes bodies lazily, so two baselines are measured:
//! `parse()` alone, and `parse()` plus decoding every text and HTML body part (what any reader of the body pays).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tr_core::email::{DEFAULT_MAX_BYTES, email_to_draft, html_quote, parse, quote_strip, signature};

fn collect(dir: &Path, out: &mut Vec<Vec<u8>>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("corpus folder").flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            collect(&p, out);
            continue;
        }
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.ends_with(".eml") || (name.starts_with("msg_") && name.ends_with(".txt")) || name.starts_with("sample-") {
            out.push(std::fs::read(&p).expect("readable message"));
        }
    }
}

/// Runs `f` over the corpus until at least `min` has passed; returns MB/s (10^6 bytes per second).
fn measure(corpus: &[Vec<u8>], min: Duration, mut f: impl FnMut(&[u8])) -> (f64, usize) {
    let bytes: usize = corpus.iter().map(Vec::len).sum();
    for m in corpus {
        f(m); // warm-up
    }
    let start = Instant::now();
    let mut rounds = 0;
    while start.elapsed() < min {
        for m in corpus {
            f(m);
        }
        rounds += 1;
    }
    let secs = start.elapsed().as_secs_f64();
    ((bytes * rounds) as f64 / secs / 1e6, rounds)
}

/// Where the pipeline's time goes: each step timed alone over the corpus (seconds for 50 rounds).
fn phases(corpus: &[Vec<u8>]) {
    let parsed: Vec<_> = corpus.iter().filter_map(|m| parse(m, DEFAULT_MAX_BYTES).ok()).collect();
    let time = |f: &dyn Fn()| {
        let start = Instant::now();
        for _ in 0..50 {
            f();
        }
        start.elapsed().as_secs_f64()
    };
    let t_parse = time(&|| {
        for m in corpus {
            black_box(parse(black_box(m), DEFAULT_MAX_BYTES).ok());
        }
    });
    let t_plain = time(&|| {
        for p in &parsed {
            if let Some(t) = p.text.as_deref() {
                black_box(signature::split_signature(&quote_strip::strip_quotes(t).text));
            }
        }
    });
    let t_html = time(&|| {
        for p in &parsed {
            if let Some(h) = p.html.as_deref() {
                black_box(html_quote::strip_html(h));
            }
        }
    });
    let t_all = time(&|| {
        for m in corpus {
            black_box(email_to_draft(black_box(m), DEFAULT_MAX_BYTES).ok());
        }
    });
    let html_bytes: usize = parsed.iter().filter_map(|p| p.html.as_ref()).map(String::len).sum();
    let text_bytes: usize = parsed.iter().filter_map(|p| p.text.as_ref()).map(String::len).sum();
    println!("phases, 50 rounds: parse() {t_parse:.3} s; strip text parts ({text_bytes} B) {t_plain:.3} s; strip every HTML part ({html_bytes} B, more than the pipeline strips) {t_html:.3} s; whole pipeline {t_all:.3} s");
}

fn main() {
    let shared = std::env::var_os("TR_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let mut corpus = Vec::new();
    collect(&shared.join("fixtures/mime"), &mut corpus);
    let bytes: usize = corpus.iter().map(Vec::len).sum();
    let min = Duration::from_secs(3);
    println!("corpus: {} messages, {} bytes", corpus.len(), bytes);

    // `-- --pipeline-only` measures just the email lane's path (for a profiler).
    if std::env::args().any(|a| a == "--pipeline-only") {
        let (mbs, rounds) = measure(&corpus, min, |m| {
            black_box(email_to_draft(black_box(m), DEFAULT_MAX_BYTES).ok());
        });
        println!("email_to_draft: {mbs:.1} MB/s ({rounds} rounds)");
        return;
    }
    let parser = mail_parser::MessageParser::new();
    let (parse_only, r1) = measure(&corpus, min, |m| {
        black_box(parser.parse(black_box(m)).map(|msg| msg.subject().map(str::len)));
    });
    let (parse_decode, r2) = measure(&corpus, min, |m| {
        if let Some(msg) = parser.parse(black_box(m)) {
            let root = msg.root();
            let n: usize = root.text_body().chain(root.html_body()).filter_map(|p| p.text()).map(|t| t.len()).sum();
            black_box(n);
        }
    });
    let (pipeline, r3) = measure(&corpus, min, |m| {
        black_box(email_to_draft(black_box(m), DEFAULT_MAX_BYTES).ok());
    });

    println!("| path | MB/s | rounds |");
    println!("|---|---:|---:|");
    println!("| mail-parser `parse()` only | {parse_only:.1} | {r1} |");
    println!("| mail-parser `parse()` + decode text/HTML bodies | {parse_decode:.1} | {r2} |");
    println!("| tr-core `email_to_draft` (parse + guard + strip + signature) | {pipeline:.1} | {r3} |");
    println!("ratio vs parse only: {:.2}", pipeline / parse_only);
    phases(&corpus);
    println!("ratio vs parse + decode: {:.2}", pipeline / parse_decode);
}
