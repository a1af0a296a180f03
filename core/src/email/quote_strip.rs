//! Cutting quoted history out of a plain-text reply, keeping what the customer wrote.
//!
//! Role: plain text in, the new part of the message out, with flags that say how sure the cut is. Key decisions:
//! - One pass down the lines. History starts at a marker (an attribution, an "Original Message" separator or a
//!   quoted header block, [`super::reply_headers`]) or at a block of `>`-quoted lines. A forwarded message seen
//!   before any marker stops the search: what a customer forwards to support is the request, not history,
//!   whether they wrote a line above it ("FYI, I was charged twice, see below") or sent it bare; its header
//!   lines say who sent it and about what. This is talon's policy too; Discourse's trimmer, made for forum
//!   replies, drops a forward below new text and the header of a bare one: we keep both on purpose.
//! - Quotes marked with the quoted author's initials (`KL> `, as Emacs Supercite, Gnus and The Bat! write them,
//!   `C>` on a quoted blank line) are read as `>` quotes, but only in context, since a prefix of capitals and
//!   `>` is also a prompt (`SQL> `) or a comparison (`B> A`): a run of adjacent lines with the same initials (two
//!   or more, or one next to a `>` line or right under an attribution) with quoting already under way above it.
//!   When such a block is cut, [`Stripped::may_have_cut_reply`] is set.
//! - A quote is judged by what follows it. The customer's own words below it (a bottom-posted or inline reply)
//!   answer it, and it is kept with them (an answer without its question means little); a quote followed by
//!   nothing, by more history, or only by a closing (a sign-off, a signature: [`super::signature::is_closing`])
//!   is history and goes. So a top-posted reply above "On … wrote:" and a quoted tail loses the whole tail, and
//!   "Regards, Roman" below the quote stays with the reply.
//! - The attribution above a quote always goes (it is the client's line, not the customer's). A separator or a
//!   header block (Outlook) opens the old message, which runs to the end whatever it contains; when the message
//!   opens with such a marker, with nothing of the customer's above it, only the marker goes.
//! - A quoted line re-wrapped by a client leaves unquoted fragments between quoted lines (a link's tail, the end
//!   of a sentence cut at the wrap width); they belong to the quote, not to the answers.
//! - [`Stripped::may_have_cut_reply`] is set when what was cut looks answered inside (quoted blocks with text
//!   between them after an unquoted cut point) or the kept reply points below ("see below", "siehe unten"): the
//!   caller keeps the raw body, and an agent is told to look at it.
//! - Nothing is ever cut to emptiness: if no new text is left the input is returned whole (a reply that is all
//!   quote, sent without a word added, still makes a ticket a person reads; Discourse returns an empty reply).

use super::reply_headers::{MarkerKind, marker_at};
use super::signature;

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
        // Lines joined with `\n` whatever the input used: the ticket body has one line ending.
        let text = trim_lines(&lines.join("\n"));
        return Stripped { text, inline_reply_kept: plan.inline_reply_kept, ..Stripped::default() };
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
    fn unchanged(n: usize) -> Plan {
        Plan { keep: vec![true; n], partial: Vec::new(), cut: false, inline_reply_kept: false, may_have_cut_reply: false }
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
        trim_lines(&out)
    }
}

/// Blank lines and trailing spaces dropped at both ends; the first line's indentation kept (it may be code).
pub(crate) fn trim_lines(text: &str) -> String {
    let text = text.trim_end();
    let start = text.find(|c: char| !c.is_whitespace()).map_or(text.len(), |k| text[..k].rfind('\n').map_or(0, |n| n + 1));
    text[start..].to_owned()
}

/// Plans the cut in one pass down the lines. Each quoted region is judged by what follows it: the customer's
/// words below a quote answer it (the quote stays with them); a quote followed by nothing, by a closing or by
/// more history is history. Every line is looked at a bounded number of times (the look-ahead below a region
/// stops at the next quoted line), so the cost is linear in the text.
pub(crate) fn plan(lines: &[&str]) -> Plan {
    let Some(cited) = initials_citations(lines) else {
        return plan_marked(lines);
    };
    // Plan on the lines with each `JD>` prefix read as `>`; the plan's indices are the same lines.
    let marked: Vec<String> = lines
        .iter()
        .zip(&cited)
        .map(|(l, c)| match c {
            Some(gt) => format!(">{}", &l[gt + 1..]),
            None => (*l).to_owned(),
        })
        .collect();
    let marked: Vec<&str> = marked.iter().map(String::as_str).collect();
    let mut plan = plan_marked(&marked);
    // Such a block is judged on its shape and its context, not on a marker every client writes: when one is cut,
    // the raw body is pointed to.
    plan.may_have_cut_reply |= cited.iter().zip(&plan.keep).any(|(c, keep)| c.is_some() && !keep);
    plan
}

/// The longest initials a Supercite-style prefix (`JD>`) may have, and the most indentation before it (Supercite's
/// default citation leader is four spaces).
const MAX_INITIALS: usize = 3;
const MAX_CITATION_INDENT: usize = 4;

/// The byte offset of the `>` and the initials, when `line` opens with a Supercite-style citation prefix: at most
/// four spaces, one to three capital letters, `>`, then a space, another `>` or the end of the line. Capitals only: the
/// lookalikes are lower-case prompts (`ftp>`, `sql>`, `js>`), and Supercite takes initials from the capitalised
/// name.
fn initials_prefix(line: &str) -> Option<(usize, &str)> {
    let t = line.trim_start_matches(' ');
    let indent = line.len() - t.len();
    if indent > MAX_CITATION_INDENT {
        return None;
    }
    let letters = t.bytes().take(MAX_INITIALS + 1).take_while(u8::is_ascii_uppercase).count();
    if letters == 0 || letters > MAX_INITIALS || t.as_bytes().get(letters) != Some(&b'>') {
        return None;
    }
    let after = &t[letters + 1..];
    (after.is_empty() || after.starts_with([' ', '>'])).then_some((indent + letters, &t[..letters]))
}

/// Lines quoted Supercite-style (Emacs Supercite, Gnus, The Bat!: `JD> text`, `C>` on a quoted blank line), each
/// with the offset of its `>`, or `None` when the text has none. A prefix counts only in context, so that `B> A`
/// in a sorting complaint or a pasted `SQL>` session stays the customer's: its run of adjacent lines shares one
/// prefix and is at least two lines long (or one line next to a `>` line or right under an attribution), and
/// quoting is already under way above it (a `>` line or an attribution earlier in the text).
fn initials_citations(lines: &[&str]) -> Option<Vec<Option<usize>>> {
    lines.iter().find_map(|l| initials_prefix(l))?;
    let mut cited = vec![None; lines.len()];
    let mut any = false;
    let mut quoting_above = false;
    let mut i = 0;
    while i < lines.len() {
        let Some((gt, initials)) = initials_prefix(lines[i]) else {
            quoting_above |= is_quoted(lines[i])
                || (!quoting_above && marker_at(lines, i).is_some_and(|m| m.kind == MarkerKind::Attribution));
            i += 1;
            continue;
        };
        let mut end = i + 1;
        let mut offsets = vec![gt];
        while let Some((gt, _)) = lines.get(end).and_then(|l| initials_prefix(l)).filter(|p| p.1 == initials) {
            offsets.push(gt);
            end += 1;
        }
        let beside_quote = (i > 0 && is_quoted(lines[i - 1])) || lines.get(end).is_some_and(|l| is_quoted(l));
        if quoting_above && (offsets.len() >= 2 || beside_quote || under_attribution(lines, i)) {
            for (k, gt) in offsets.into_iter().enumerate() {
                cited[i + k] = Some(gt);
            }
            any = true;
        }
        i = end;
    }
    any.then_some(cited)
}

/// The last non-blank line above `i` ends an attribution (which may be wrapped over a few lines).
fn under_attribution(lines: &[&str], i: usize) -> bool {
    let Some(prev) = (0..i).rev().find(|&k| !is_blank(lines[k])) else { return false };
    (prev.saturating_sub(MAX_ATTRIBUTION_LOOKBACK)..=prev).any(|k| {
        marker_at(lines, k).is_some_and(|m| m.kind == MarkerKind::Attribution && k + m.lines == prev + 1)
    })
}

/// How many lines above its last one an attribution may start.
const MAX_ATTRIBUTION_LOOKBACK: usize = 5;

fn plan_marked(lines: &[&str]) -> Plan {
    let n = lines.len();
    let mut plan = Plan::unchanged(n);
    // The customer has written something above the current line (kept, not a marker, not a quote).
    let mut content_above = false;
    let mut i = 0;
    while i < n {
        let line = lines[i];
        if is_blank(line) {
            i += 1;
            continue;
        }
        if is_quoted(line) {
            let end = quote_region_end(lines, i);
            let quoted = lines[i..end].iter().filter(|l| is_quoted(l)).count();
            // One stray `>` line is an arrow in prose (">>> http://… <<<"), not a quote, unless the customer is
            // already answering between quotes.
            if quoted < 2 && !plan.inline_reply_kept {
                content_above = true;
                i = end.max(i + 1);
                continue;
            }
            content_above |= quote_region(lines, i, end, &mut plan);
            i = end;
            continue;
        }
        let Some(m) = marker_at(lines, i) else {
            content_above = true;
            i += 1;
            continue;
        };
        if m.kind == MarkerKind::Forwarded {
            // What a customer forwards to support is the request, not history.
            break;
        }
        plan.cut = true;
        if lines[i][..m.column].trim().is_empty() {
            plan.keep[i] = false;
        } else {
            plan.partial.push((i, m.column));
            content_above = true;
        }
        for keep in &mut plan.keep[i + 1..i + m.lines] {
            *keep = false;
        }
        let after = i + m.lines;
        let first_content = (after..n).find(|&k| !is_blank(lines[k]));
        // Only an attribution introduces a quote the customer may answer below; a separator or a header block
        // (Outlook) opens the old message, which runs to the end whatever it contains.
        if m.kind == MarkerKind::Attribution
            && let Some(start) = first_content.filter(|&k| is_quoted(lines[k]))
        {
            // The blank lines between the attribution and its quote go with it.
            for keep in &mut plan.keep[after..start] {
                *keep = false;
            }
            let end = quote_region_end(lines, start);
            if content_above || answer_then_quote(lines, end) {
                content_above = quote_region(lines, start, end, &mut plan);
            } else {
                // Nothing of the customer's above: a bottom-post under the client's full quote. The client quoted
                // the whole message, so the quote is history even though the reply follows it (a quote the
                // customer trimmed and kept, with no attribution, is context they chose: that one stays).
                drop_region(start, end, &mut plan);
            }
            i = end;
            continue;
        }
        if !content_above {
            // The message opens with the marker (a reply whose client put the attribution first, a pasted
            // header block): the text below is all there is to read, so only the marker goes.
            i = after;
            continue;
        }
        for keep in &mut plan.keep[after..] {
            *keep = false;
        }
        // Quoted blocks with text between them inside the cut history look like answers written into it.
        plan.may_have_cut_reply = interleaved(&lines[after.min(n)..]);
        break;
    }
    finish(lines, plan)
}

/// Judges the quoted region `lines[start..end]`: kept when the customer answers below it, else removed. Returns
/// whether it was kept.
fn quote_region(lines: &[&str], start: usize, end: usize, plan: &mut Plan) -> bool {
    if answered_below(lines, end) {
        plan.inline_reply_kept = true;
        return true;
    }
    drop_region(start, end, plan);
    false
}

fn drop_region(start: usize, end: usize, plan: &mut Plan) {
    for keep in &mut plan.keep[start..end] {
        *keep = false;
    }
    plan.cut = true;
}

/// The customer answers below the quote ending at `end` and another quote follows the answer: an inline reply.
fn answer_then_quote(lines: &[&str], end: usize) -> bool {
    answer_below(lines, end).is_some_and(|stop| stop < lines.len() && is_quoted(lines[stop]))
}

fn answered_below(lines: &[&str], end: usize) -> bool {
    answer_below(lines, end).is_some()
}

/// When the text from `end` on, up to the next quote or marker, is the customer's (not a closing or a
/// signature): where that text stops.
fn answer_below(lines: &[&str], end: usize) -> Option<usize> {
    let first = (end..lines.len()).find(|&k| !is_blank(lines[k]))?;
    if marker_at(lines, first).is_some() {
        return None;
    }
    // The segment ends at the next quoted line, or at a marker starting a paragraph (where clients put one).
    let mut stop = first + 1;
    while stop < lines.len() && !is_quoted(lines[stop]) {
        if is_blank(lines[stop - 1]) && !is_blank(lines[stop]) && marker_at(lines, stop).is_some() {
            break;
        }
        stop += 1;
    }
    (!signature::is_closing(&lines[first..stop])).then_some(stop)
}

/// A cut that leaves nothing is no cut; a kept reply that points below ("see my answers below") may have lost them.
fn finish(lines: &[&str], mut plan: Plan) -> Plan {
    let text = plan.render(lines);
    if text.is_empty() {
        return Plan::unchanged(lines.len());
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

/// `line` continues the quoted line above it, its `>` lost when a client re-wrapped the quote: the quoted line
/// was cut at the wrap width mid-sentence, and `line` (with a quoted line right below) does not start a sentence
/// of its own. An answer typed into a quote starts on a line of its own, after a finished quoted sentence.
fn lost_its_marker(above: &str, line: &str) -> bool {
    let quoted = above.trim_start().trim_start_matches(['>', ' ']);
    is_quoted(above)
        && quoted.chars().count() >= 50
        && !quoted.trim_end().ends_with(['.', '!', '?', ':'])
        && !line.trim_start().starts_with(|c: char| c.is_uppercase())
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
            if !(next_quoted && (is_wrapped_fragment(l) || lost_its_marker(lines[k - 1], l))) {
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
    fn quotes_are_judged_by_what_follows_them() {
        // A quote the customer trimmed and answered stays with the answer.
        let s = strip_quotes("> Which version?\n\n4.2 on a Pixel 7.");
        assert_eq!(s.text, "> Which version?\n\n4.2 on a Pixel 7.");
        // The client's full quote under an attribution, answered below (a bottom-post): the quote goes.
        assert_eq!(strip_quotes("On Tue, 3 Mar 2026, Bob <b@example.com> wrote:\n> Which version?\n4.2").text, "4.2");
        // Only a closing below the quote: the quote is a tail.
        let s = strip_quotes("Done.\n\nOn Tue, 3 Mar 2026, Bob <b@example.com> wrote:\n> Ok?\n> Bob\n\nThanks,\nAna");
        assert_eq!(s.text, "Done.\n\nThanks,\nAna");
    }

    #[test]
    fn rewrapped_quote_lines_are_not_answers() {
        let text = "Will try.\n\nOn Tue, 3 Mar 2026, Bob <b@example.com> wrote:\n\
                    > Please open Settings, choose Accounts and then press the button labelled\n\
                    \"Repair\" next to your mailbox, which rebuilds the cache\n> and fixes it.";
        let s = strip_quotes(text);
        assert_eq!(s.text, "Will try.");
        assert!(!s.inline_reply_kept);
    }

    #[test]
    fn initials_quotes_count_only_in_context() {
        // Under an attribution, a run of `KL>` lines is a quote: as a tail it goes, and the agent is pointed to
        // the raw body because the cut rests on the prefix's context.
        let text =
            "Fixed, thanks.\n\nOn Tue, 3 Mar 2026, Kim <kim@example.com> wrote:\n  KL> Try 4.2.1?\n  KL>\n  KL> Kim";
        let s = strip_quotes(text);
        assert_eq!(s.text, "Fixed, thanks.");
        assert!(s.may_have_cut_reply);
        // One `KL>` line right under its attribution is a quote too.
        assert_eq!(strip_quotes("Yes.\n\nOn Tue, 3 Mar 2026, Kim <kim@example.com> wrote:\nKL> Works?").text, "Yes.");
        // With no quoting above, prompts and comparisons are the customer's text.
        for text in ["It fails:\nSQL> COMMIT;\nSQL> EXIT", "Sorted wrongly:\nB> A\nC> B", "Arrows: A->B\nA>B\nA>C"] {
            let s = strip_quotes(text);
            assert!(!s.cut, "{text}");
        }
        // Different initials on adjacent lines are not one run, even below a quote.
        let s = strip_quotes("> q\n> q2\n\nAnswer.\n\nB> A\nC> B");
        assert!(s.text.ends_with("B> A\nC> B"), "{}", s.text);
    }

    #[test]
    fn crlf_becomes_lf() {
        assert_eq!(strip_quotes("one\r\ntwo\r\n").text, "one\ntwo");
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
