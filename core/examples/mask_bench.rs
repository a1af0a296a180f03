//! The cost of masking per ticket, on the MIME corpus's bodies: each message becomes a draft as the email lane
//! makes it, then the three texts the lane masks (subject, stripped body, raw body) are masked, timed per ticket.
//! Also prints what was masked across the corpus, so a false positive in real mail shows up here.
//!
//! `cargo run --release -p tr-core --example mask_bench` (corpus: `$TR_SHARED/fixtures/mime`, default `../shared`
//! beside the repository).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

use tr_core::email::{DEFAULT_MAX_BYTES, email_to_draft};
use tr_core::mask::{MaskCounts, mask};

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

/// The texts one ticket's masking covers.
struct Texts {
    subject: String,
    body: String,
    raw_body: String,
}

impl Texts {
    fn mask(&self) -> MaskCounts {
        let head = mask(&self.subject).counts + mask(&self.body).counts;
        head.max(mask(&self.raw_body).counts)
    }

    fn bytes(&self) -> usize {
        self.subject.len() + self.body.len() + self.raw_body.len()
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let shared = std::env::var_os("TR_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let mut corpus = Vec::new();
    collect(&shared.join("fixtures/mime"), &mut corpus);
    let tickets: Vec<Texts> = corpus
        .iter()
        .filter_map(|raw| email_to_draft(raw, DEFAULT_MAX_BYTES).ok())
        .map(|d| Texts { subject: d.draft.subject, body: d.draft.body, raw_body: d.raw_body })
        .collect();
    let total_bytes: usize = tickets.iter().map(Texts::bytes).sum();

    // Per ticket: the best of several rounds (the machine is shared; the minimum is the cost, the rest is noise).
    const ROUNDS: usize = 30;
    let mut best = vec![f64::INFINITY; tickets.len()];
    for _ in 0..ROUNDS {
        for (t, slot) in tickets.iter().zip(best.iter_mut()) {
            let start = Instant::now();
            black_box(t.mask());
            *slot = slot.min(start.elapsed().as_secs_f64() * 1e6);
        }
    }
    let start = Instant::now();
    for _ in 0..ROUNDS {
        for t in &tickets {
            black_box(t.mask());
        }
    }
    let throughput = (total_bytes * ROUNDS) as f64 / start.elapsed().as_secs_f64() / 1e6;

    let mut sorted = best.clone();
    sorted.sort_by(f64::total_cmp);
    let mean = sorted.iter().sum::<f64>() / sorted.len() as f64;
    let (largest_at, _) = tickets.iter().enumerate().max_by_key(|(_, t)| t.bytes()).unwrap();
    println!("messages read: {} of {} in the corpus; texts masked: {} bytes", tickets.len(), corpus.len(), total_bytes);
    println!("| per ticket (subject + body + raw body) | µs |");
    println!("|---|---|");
    println!("| mean | {mean:.1} |");
    println!("| median | {:.1} |", percentile(&sorted, 0.5));
    println!("| p99 | {:.1} |", percentile(&sorted, 0.99));
    println!("| max | {:.1} |", sorted[sorted.len() - 1]);
    println!(
        "| largest ticket ({} KB of text) | {:.1} |",
        tickets[largest_at].bytes() / 1024,
        best[largest_at]
    );
    println!("throughput: {throughput:.0} MB/s over all texts, {ROUNDS} rounds");

    let mut found = MaskCounts::default();
    let mut with_any = 0;
    for t in &tickets {
        let c = t.mask();
        if !c.is_empty() {
            with_any += 1;
        }
        found = found + c;
    }
    println!("masked in the corpus: {with_any} tickets; card {}, iban {}, secret {}", found.card, found.iban, found.secret);
    if std::env::var_os("SHOW").is_some() {
        for t in &tickets {
            for text in [&t.subject, &t.raw_body] {
                let m = mask(text);
                if !m.counts.is_empty() {
                    for (before, after) in text.lines().zip(m.text.lines()).filter(|(b, a)| b != a) {
                        println!("  {before:?}\n    -> {after:?}");
                    }
                }
            }
        }
    }
}
