//! Cutting quoted history out of a plain-text reply, keeping what the customer wrote.
//!
//! Role: plain text in, the new part of the message out, with flags that say how sure the cut is. Key decisions:
//! - The cut starts at the first marker of history: an attribution, an "Original Message" separator or a quoted
//!   header block ([`super::reply_headers`]), or a block of `>`-quoted lines. A forwarded message seen before any
//!   marker stops the search: what a customer forwards to support is the request, not history.
//! - After an attribution followed by `>` lines, only the quoted lines go: text written below them (a bottom-posted
//!   answer, a sign-off) stays. An attribution followed by unquoted text (Outlook style) cuts to the end.
//! - Text interleaved with quoted blocks is an inline reply. It is kept with the quotes it answers (an answer
//!   without its question means little); only the quoted tail after the last answer goes.
//! - [`Stripped::may_have_cut_reply`] is set when what was cut looks answered inside (quoted blocks with text
//!   between them after an unquoted cut point) or the kept reply points below ("see below", "siehe unten"): the
//!   caller keeps the raw body, and an agent is told to look at it.
//! - Nothing is ever cut to emptiness: if no new text is left the input is returned whole.

use super::reply_headers::{MarkerKind, marker_at};

pub(crate) use super::reply_headers::separator_kind;

/// A reply with its history removed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Stripped {
    /// The new text, trimmed at both ends; the input (trimmed) when nothing was cut.
    pub text: String,
    /// Whether anything was removed.
    pub cut: bool,
    /// Quoted lines were kept because the customer answered between them.
    pub inline_reply_kept: bool,
    /// The cut part may contain the customer's own answers: show the raw body too.
    pub may_have_cut_reply: bool,
}

/// Phrases with which a reply points at answers written further down, inside the quoted message.
const POINTS_BELOW: &[&str] = &[
    "see below", "see inline", "answers below", "answered below", "comments below", "replies below", "inline below",
    "in red below", "see my answers", "see my comments", "siehe unten", "antworten unten", "ci-dessous",
    "voir plus bas", "ver abajo", "respuestas abajo", "vedi sotto", "vedi sopra", "zie hieronder", "zie onder",
    "poniżej", "se nedenfor", "se nedan", "см. ниже", "ниже",
];

/// Removes quoted history from a plain-text reply.
pub fn strip_quotes(text: &str) -> Stripped {
    let lines: Vec<&str> = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    let plan = plan(&lines);
    if !plan.cut {
        return Stripped { text: text.trim().to_owned(), inline_reply_kept: plan.inline_reply_kept, ..Stripped::default() };
    }
    Stripped {
        text: plan.render(&lines),
        cut: true,
        inline_reply_kept: plan.inline_reply_kept,
        may_have_cut_reply: plan.may_have_cut_reply,
    }
}

/// Which lines of a reply to keep. Shared with the HTML stripper, which renders HTML to lines, plans on them and
/// maps the removed lines back to DOM nodes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Plan {
    pub keep: Vec<bool>,
    /// Lines kept only up to a byte column: the reply's last words share the line with an attribution.
    pub partial: Vec<(usize, usize)>,
    pub cut: bool,
    pub inline_reply_kept: bool,
    pub may_have_cut_reply: bool,
}

impl Plan {
    fn unchanged(n: usize, inline_reply_kept: bool) -> Plan {
        Plan { keep: vec![true; n], partial: Vec::new(), cut: false, inline_reply_kept, may_have_cut_reply: false }
    }

    pub fn column(&self, line: usize) -> Option<usize> {
        self.partial.iter().find(|p| p.0 == line).map(|p| p.1)
    }

    /// The kept text, trimmed at both ends.
    pub fn render(&self, lines: &[&str]) -> String {
        let mut out = String::new();
        for (i, line) in lines.iter().enumerate().filter(|(i, _)| self.keep[*i]) {
            match self.column(i) {
                Some(c) => out.push_str(line[..c].trim_end()),
                None => out.push_str(line),
            }
            out.push('\n');
        }
        out.trim().to_owned()
    }
}

/// Most quote blocks one reply is planned through. Text below each block is planned again (bottom-posted text
/// may hold history of its own); past this many blocks the rest is kept as it is. Bounds the work, which grows
/// with blocks × lines, against a body built of thousands of tiny quote blocks.
const MAX_BLOCKS: usize = 64;

pub(crate) fn plan(lines: &[&str]) -> Plan {
    // Each block's plan depends on the plan of the text below it, so walk down first (iteratively: a body of
    // thousands of blocks must not exhaust the stack), then combine from the bottom up.
    let mut levels: Vec<(usize, Level)> = Vec::new();
    let mut offset = 0;
    loop {
        let level = if levels.len() == MAX_BLOCKS {
            Level::Done(Plan::unchanged(lines.len() - offset, false))
        } else {
            plan_head(&lines[offset..])
        };
        let below = match level {
            Level::Cut { tail_at: Some(end), .. } => Some(end),
            _ => None,
        };
        levels.push((offset, level));
        match below {
            Some(end) => offset += end,
            None => break,
        }
    }
    let mut below: Option<Plan> = None;
    for (offset, level) in levels.into_iter().rev() {
        let lines = &lines[offset..];
        below = Some(match level {
            Level::Done(plan) => plan,
            Level::Cut { mut plan, tail_at } => {
                if let (Some(end), Some(tail)) = (tail_at, below.take()) {
                    plan.may_have_cut_reply |= tail.may_have_cut_reply;
                    for (k, keep) in tail.keep.iter().enumerate() {
                        plan.keep[end + k] = *keep;
                    }
                    plan.partial.extend(tail.partial.iter().map(|(l, c)| (l + end, *c)));
                }
                finish(lines, plan)
            }
        });
    }
    below.expect("at least one level")
}

/// One quote block's share of a plan.
enum Level {
    /// The plan for these lines, final.
    Done(Plan),
    /// A cut, to be finished; when `tail_at` is set, the lines from there on are planned on their own and merged.
    Cut { plan: Plan, tail_at: Option<usize> },
}

fn plan_head(lines: &[&str]) -> Level {
    let n = lines.len();
    let Some(anchor) = find_anchor(lines) else {
        return Level::Done(Plan::unchanged(n, interleaved(lines)));
    };
    let mut plan = Plan::unchanged(n, false);
    plan.cut = true;
    let prefix = &lines[anchor.line][..anchor.column];
    if prefix.trim().is_empty() {
        plan.keep[anchor.line] = false;
    } else {
        plan.partial.push((anchor.line, anchor.column));
    }

    let after = anchor.line + anchor.lines;
    let first_content = (after..n).find(|&k| !is_blank(lines[k]));
    // Only an attribution introduces a quote that the reply may continue below; a separator or a header block
    // (Outlook) opens the old message, which runs to the end whatever it contains.
    let quoted_follows = anchor.quote_block
        || (anchor.kind == Some(MarkerKind::Attribution) && first_content.is_some_and(|k| is_quoted(lines[k])));

    let mut tail_at = None;
    if quoted_follows {
        let start = if anchor.quote_block { anchor.line } else { first_content.unwrap_or(after) };
        let end = quote_region_end(lines, start);
        if interleaved_after(&lines[end..]) {
            // An inline reply: keep everything down to the last answer, drop only the final quoted tail.
            let last_text = (0..n).rev().find(|&k| !is_blank(lines[k]) && !is_quoted(lines[k])).unwrap_or(n);
            plan = Plan::unchanged(n, true);
            for k in last_text + 1..n {
                plan.keep[k] = false;
            }
            plan.cut = last_text + 1 < n;
        } else {
            for k in anchor.line + 1..end {
                plan.keep[k] = false;
            }
            // Bottom-posted text or a sign-off below the quote stays; it may hold further history of its own.
            tail_at = Some(end).filter(|&e| e > 0);
        }
    } else {
        for k in anchor.line + 1..n {
            plan.keep[k] = false;
        }
        // Quoted blocks with text between them inside the cut history look like answers written into it.
        plan.may_have_cut_reply = interleaved(&lines[after.min(n)..]);
    }
    Level::Cut { plan, tail_at }
}

/// A cut that leaves nothing is no cut; a kept reply that points below ("see my answers below") may have lost them.
fn finish(lines: &[&str], mut plan: Plan) -> Plan {
    let text = plan.render(lines);
    if text.is_empty() {
        return Plan::unchanged(lines.len(), false);
    }
    if !plan.inline_reply_kept {
        // A pointer to answers below sits near the end of the reply; looking at its tail keeps this cheap.
        let mut from = text.len().saturating_sub(1_000);
        while !text.is_char_boundary(from) {
            from += 1;
        }
        let lower = text[from..].to_lowercase();
        plan.may_have_cut_reply |= POINTS_BELOW.iter().any(|p| lower.contains(p));
    }
    plan
}

#[derive(Debug, Clone, Copy)]
struct Anchor {
    line: usize,
    column: usize,
    /// Lines the marker covers (0 for a bare quoted block).
    lines: usize,
    /// The anchor is a block of `>` lines with no attribution above it.
    quote_block: bool,
    kind: Option<MarkerKind>,
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

/// A line that only continues a wrapped quoted line (a long link broken by the client): not an answer.
fn is_wrapped_fragment(line: &str) -> bool {
    let t = line.trim();
    if t.contains("://") {
        return true;
    }
    // One token carrying URL punctuation ("_nonce=3dd518)"); a one-word answer such as "Yes." is not one.
    !t.contains(char::is_whitespace)
        && t.trim_end_matches(['.', '!', '?']).chars().any(|c| "=&_/%)(#+".contains(c))
}

/// The first marker of history, or `None` when there is none or a forward comes first.
fn find_anchor(lines: &[&str]) -> Option<Anchor> {
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if is_blank(line) {
            i += 1;
            continue;
        }
        if is_quoted(line) {
            let end = quote_region_end(lines, i);
            let quoted = lines[i..end].iter().filter(|l| is_quoted(l)).count();
            // One stray `>` line is an arrow in prose (">>> http://… <<<"), not a quote.
            if quoted >= 2 {
                return Some(Anchor { line: i, column: 0, lines: 0, quote_block: true, kind: None });
            }
            i = end.max(i + 1);
            continue;
        }
        if let Some(m) = marker_at(lines, i) {
            if m.kind == MarkerKind::Forwarded {
                return None;
            }
            return Some(Anchor { line: i, column: m.column, lines: m.lines, quote_block: false, kind: Some(m.kind) });
        }
        i += 1;
    }
    None
}

/// From the first quoted line at `start`, the index just past the last line of the quoted region (quoted lines,
/// blank lines between them, wrapped link fragments), including the blank lines that trail it.
fn quote_region_end(lines: &[&str], start: usize) -> usize {
    let mut last_quoted = start;
    let mut k = start;
    while k < lines.len() {
        let l = lines[k];
        if is_quoted(l) {
            last_quoted = k;
        } else if !is_blank(l) {
            let next_quoted = lines.get(k + 1).is_some_and(|n| is_quoted(n));
            if !(is_wrapped_fragment(l) && next_quoted) {
                break;
            }
        }
        k += 1;
    }
    let mut end = last_quoted + 1;
    while end < lines.len() && is_blank(lines[end]) {
        end += 1;
    }
    end
}

/// Text followed later by a quoted line: the customer answered between quotes.
fn interleaved_after(rest: &[&str]) -> bool {
    let mut seen_text = false;
    for l in rest {
        if is_quoted(l) {
            if seen_text {
                return true;
            }
        } else if !is_blank(l) && !is_wrapped_fragment(l) {
            seen_text = true;
        }
    }
    false
}

/// A quoted block, then text, then another quoted block.
fn interleaved(lines: &[&str]) -> bool {
    match lines.iter().position(|l| is_quoted(l)) {
        Some(first) => {
            let end = quote_region_end(lines, first);
            interleaved_after(&lines[end..])
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_of_quote_blocks_neither_overflow_the_stack_nor_take_long() {
        // Each `x=1` looks like a wrapped link fragment, so the blocks never count as an inline reply and every
        // one opens another level of planning.
        let body = format!("Reply on top.\n\n{}", "x=1\n\n>a\n>b\n".repeat(20_000));
        let s = strip_quotes(&body);
        assert!(s.cut);
        assert!(s.text.starts_with("Reply on top."), "{}", &s.text[..40]);
    }

    #[test]
    fn attribution_and_quote_go_sign_off_below_stays() {
        let s = strip_quotes("Test reply\n\nOn 04/19/2011 07:10 AM, Roman wrote:\n\n>\n> Test\n\nRegards, Roman");
        assert_eq!(s.text, "Test reply\n\nRegards, Roman");
        assert!(s.cut && !s.may_have_cut_reply && !s.inline_reply_kept);
    }

    #[test]
    fn inline_reply_is_kept_with_its_questions() {
        let text = "On Tue, 3 Mar 2026 at 10:00, Bob <bob@example.com> wrote:\n> Which plan are you on?\nPro.\n\
                    > And since when?\nMarch.\n> Thanks,\n> Bob";
        let s = strip_quotes(text);
        assert!(s.inline_reply_kept);
        assert!(s.text.contains("Pro.") && s.text.ends_with("March."), "{}", s.text);
    }

    #[test]
    fn answers_inside_unquoted_history_raise_the_flag() {
        let text = "See my answers below.\n\nFrom: Bob <bob@example.com>\nSent: Tuesday\nTo: support\n\n\
                    > question one\nanswer one\n> question two";
        let s = strip_quotes(text);
        assert_eq!(s.text, "See my answers below.");
        assert!(s.may_have_cut_reply);
    }

    #[test]
    fn forward_is_content() {
        let text = "FYI\n\n---------- Forwarded message ----------\nFrom: bob@example.com\nDate: Tue\n\nText";
        assert!(!strip_quotes(text).cut);
    }

    #[test]
    fn nothing_left_means_nothing_cut() {
        let s = strip_quotes("> only\n> quotes");
        assert!(!s.cut);
        assert_eq!(s.text, "> only\n> quotes");
    }
}
