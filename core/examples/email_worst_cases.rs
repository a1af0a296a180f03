//! Worst-case mail shapes through `email_to_draft`: time and peak heap per size, to show the cost is linear.
//!
//! `cargo run --release -p tr-core --example email_worst_cases [-- SIZE_MIB...]` (default sizes 1 4 16).
//! Each shape is generated at each size as one MIME message and run three times; the time is the best run, the
//! peak is the largest heap in use during a call (a counting allocator around the system one) minus what was in
//! use before it (the message itself).
//! Shapes:
//! - `nested-div`: `<div>` opened and never closed, then closed; depth grows with size (the 1.1 MB mail that took
//!   69.6 s was this shape).
//! - `blockquotes`: a reply, then blockquotes one after another with an answer between each (~100 bytes each:
//!   10k per MiB), the shape the quote planner works hardest on.
//! - `long-line-html` / `long-line-plain`: the whole body as one line without a break.
//! - `plain-text`: ordinary lines of text with `>` quote blocks and attributions spread through.
//! - `dom-at-caps`: the costliest HTML still parsed into a DOM (just under the size, tag and depth caps), once.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use tr_core::email::html_quote::{MAX_DEPTH, MAX_HTML_BYTES, MAX_HTML_TAGS, fits_the_dom};
use tr_core::email::{DEFAULT_MAX_BYTES, email_to_draft};

struct Counting;

static IN_USE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: defers to the system allocator; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = IN_USE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        IN_USE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

const MIB: usize = 1024 * 1024;

fn message(content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Ana <ana@example.com>\r\nTo: support@example.org\r\nSubject: Re: worst case\r\n\
         Message-ID: <worst@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: {content_type}; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{body}"
    )
    .into_bytes()
}

fn repeat_to(unit: &str, size: usize) -> String {
    unit.repeat(size / unit.len() + 1)
}

fn shape(name: &str, size: usize) -> Vec<u8> {
    match name {
        "nested-div" => {
            let n = size / 11;
            let body = format!("<html><body>Hello{}deep{}</body></html>", "<div>".repeat(n), "</div>".repeat(n));
            message("text/html", &body)
        }
        "blockquotes" => {
            let unit = "<blockquote type=\"cite\">Which plan are you on, and since when?</blockquote><p>Pro, March.</p>\n";
            message("text/html", &format!("<p>Answers inline.</p>{}", repeat_to(unit, size)))
        }
        "long-line-html" => message("text/html", &format!("<p>{}</p>", repeat_to("word <b>bold</b> ", size))),
        "long-line-plain" => message("text/plain", &repeat_to("word: 12:30 a@b.c ", size)),
        "plain-text" => {
            let unit = "The export still fails on the second page, see the attached log.\n\
                        On Tue, 3 Mar 2026 at 10:00, Bob <bob@example.com> wrote:\n> Which plan are you on?\n> Thanks,\n\n";
            message("text/plain", &repeat_to(unit, size))
        }
        "dom-at-caps" => {
            // The costliest HTML still given to the DOM passes: just under the tag and depth caps, padded with
            // text to just under the size cap (the size argument is ignored).
            let (depth, groups) = (MAX_DEPTH - 6, MAX_HTML_TAGS / (2 * (MAX_DEPTH - 6)));
            let pad = "x".repeat((MAX_HTML_BYTES - 64 * 1024) / groups - depth * 11);
            let group = format!("{}{pad}{}", "<div>".repeat(depth), "</div>".repeat(depth));
            message("text/html", &format!("<html><body>{}</body></html>", group.repeat(groups)))
        }
        other => panic!("unknown shape {other}"),
    }
}

fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().expect("sizes in MiB")).collect();
    let sizes = if sizes.is_empty() { vec![1, 4, 16] } else { sizes };
    println!("| shape | MiB | seconds | s per MiB | peak heap MiB | peak ÷ input | body source |");
    println!("|---|---:|---:|---:|---:|---:|---|");
    for name in ["nested-div", "blockquotes", "long-line-html", "long-line-plain", "plain-text", "dom-at-caps"] {
        let sizes = if name == "dom-at-caps" { &sizes[..1] } else { &sizes[..] };
        for &mib in sizes {
            let raw = shape(name, mib * MIB);
            // Best of three runs (the machine is shared); the peak is the same every run.
            let (mut secs, mut peak, mut draft) = (f64::MAX, 0, None);
            for _ in 0..3 {
                drop(draft.take());
                let before = IN_USE.load(Ordering::Relaxed);
                PEAK.store(before, Ordering::Relaxed);
                let start = Instant::now();
                let d = email_to_draft(&raw, DEFAULT_MAX_BYTES.max(raw.len()));
                secs = secs.min(start.elapsed().as_secs_f64());
                peak = PEAK.load(Ordering::Relaxed) - before;
                draft = Some(d);
            }
            let draft = draft.expect("three runs");
            let html = raw.split(|b| *b == b'\n').any(|l| l.starts_with(b"<")).then(|| {
                let body = &raw[raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(0)..];
                if fits_the_dom(&String::from_utf8_lossy(body)) { ", DOM" } else { ", scanner" }
            });
            let source = match &draft {
                Ok(d) => format!("{:?}{}, body {} bytes", d.body_source, html.unwrap_or(""), d.draft.body.len()),
                Err(e) => format!("refused: {e}"),
            };
            let input_mib = raw.len() as f64 / MIB as f64;
            println!(
                "| {name} | {input_mib:.1} | {secs:.3} | {:.3} | {:.1} | {:.1} | {source} |",
                secs / input_mib,
                peak as f64 / MIB as f64,
                peak as f64 / raw.len() as f64,
            );
            drop(draft);
        }
    }
}
