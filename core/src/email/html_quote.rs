//! Cutting quoted history out of an HTML reply, by structure first and by text second.
//!
//! Role: HTML in, the reply's HTML and its text out. Key decisions:
//! - Structure before language. Mail clients mark what they quote: Gmail's `gmail_quote` container, Outlook's
//!   `divRplyFwdMsg` / `x_divRplyFwdMsg` / `OLK_SRC_BODY_SECTION` and its top-bordered header block (`#E1E1E1`,
//!   `#B5C4DF`, or any solid top border opening on a bold `Label:`), Hotmail's `hr#stopSpelling`, Yahoo's
//!   `yahoo_quoted`, Thunderbird's `moz-cite-prefix`, and the last top-level `blockquote` (Apple Mail's and
//!   Thunderbird's `type="cite"`). The first rule that finds something applies; these need no word of any language.
//!   A Gmail container that opens with a dashed line is a forward and stays.
//! - Then text: the remaining DOM is rendered to lines (remembering which line every node sits on), the plain-text
//!   planner ([`super::quote_strip`]) decides which lines go, and nodes whose every line went are removed. An
//!   element goes only when its start and all its content went: a separator sitting on a kept blank line stays.
//! - HTML that does not fit the DOM passes (too large, too many tags, too deep: [`fits_the_dom`], one linear scan
//!   before any parse) is planned on the scanner's lines instead, blockquotes marked `> `: no structural markers,
//!   but the text rules still apply, and the cost stays linear in the input whatever its shape.
//! - Nothing left means nothing cut: the input is returned whole. Nothing cut means the input is returned
//!   byte for byte, not re-serialised.
//! - Text for the ticket comes from the `html2text` crate on the stripped HTML (tables, lists and links handled by
//!   a maintained renderer); the DOM is html5ever's, through `markup5ever_rcdom` (published by the html5ever
//!   project alongside each release).

use std::rc::Rc;

use html5ever::tendril::TendrilSink;
use html5ever::{ParseOpts, parse_document};
use markup5ever_rcdom::{Handle, NodeData, RcDom};

use super::html_dom::{
    Removed, depth, has_class, inside, is_blank_text, parent, serialize, style_has, tag, text_of, walk, with_attr,
};
pub use super::html_dom::{MAX_DEPTH, MAX_HTML_BYTES, MAX_HTML_TAGS};
use super::html_text::Render;
use super::html_text::crude_lines;
pub use super::html_text::{crude_text, fits_the_dom, html_to_text};
use super::quote_strip;

/// An HTML reply with its history removed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HtmlStripped {
    /// The reply's HTML; the input unchanged when nothing was cut.
    pub html: String,
    /// The reply as text (html2text), trimmed.
    pub text: String,
    /// The whole input as text, quotes shown with `> ` (this module's own line renderer: cheap, and it keeps the
    /// quote depth visible for an agent reading the raw body).
    pub raw_text: String,
    pub cut: bool,
    pub inline_reply_kept: bool,
    pub may_have_cut_reply: bool,
}

/// Marker substrings that make structural detection worth a DOM parse when a text part exists as well.
/// A bare `blockquote` is not one: it may be the customer's own quoting of an error message.
pub const STRUCTURE_MARKERS: &[&str] = &[
    "gmail_quote", "divRplyFwdMsg", "OLK_SRC_BODY_SECTION", "stopSpelling", "yahoo_quoted", "moz-cite-prefix",
    "type=\"cite\"", "type=cite", "border-top:solid", "border-top: solid", "border-top-style", "BORDER-TOP",
    "#B5C4DF", "#b5c4df", "#E1E1E1", "#e1e1e1",
];

/// Whether `html` carries any structural quote marker (a cheap substring scan, no parse).
pub fn has_structure_marker(html: &str) -> bool {
    STRUCTURE_MARKERS.iter().any(|m| html.contains(m))
}

/// Removes quoted history from an HTML reply.
pub fn strip_html(html: &str) -> HtmlStripped {
    strip(html, true)
}

/// As [`strip_html`], but `None` when nothing was cut, without converting the unchanged HTML to text (the
/// caller has a text part already; html2text is the costliest step here).
pub fn strip_html_if_cut(html: &str) -> Option<HtmlStripped> {
    Some(strip(html, false)).filter(|s| s.cut)
}

fn strip(html: &str, text_when_unchanged: bool) -> HtmlStripped {
    if html.trim().is_empty() {
        return HtmlStripped { html: html.to_owned(), ..HtmlStripped::default() };
    }
    if !fits_the_dom(html) {
        return strip_without_dom(html);
    }
    let dom = parse_document(RcDom::default(), ParseOpts::default()).one(html);
    if depth(&dom.document) > MAX_DEPTH {
        return strip_without_dom(html);
    }
    let mut removed = Removed::default();
    let raw_text = Render::run(&dom.document, &removed).text();
    let structural = cut_by_structure(&dom.document, &mut removed);

    let render = Render::run(&dom.document, &removed);
    let lines: Vec<&str> = render.lines.iter().map(String::as_str).collect();
    let plan = quote_strip::plan(&lines);
    if plan.cut {
        remove_cut_lines(&dom.document, &render, &plan, &mut removed);
    }
    let unchanged = || HtmlStripped {
        html: html.to_owned(),
        text: if text_when_unchanged { html_to_text(html) } else { String::new() },
        raw_text: raw_text.clone(),
        ..HtmlStripped::default()
    };
    if !structural && !plan.cut {
        return HtmlStripped { inline_reply_kept: plan.inline_reply_kept, ..unchanged() };
    }
    let mut out = String::with_capacity(html.len());
    serialize(&dom.document, &removed, &mut out);
    let text = html_to_text(&out);
    if text.is_empty() {
        return unchanged();
    }
    HtmlStripped {
        html: out,
        text,
        raw_text,
        cut: true,
        inline_reply_kept: plan.inline_reply_kept,
        may_have_cut_reply: plan.may_have_cut_reply || removed.answered_inside,
    }
}

/// HTML the DOM passes must not see: its scanned lines (blockquotes marked `> `) planned as plain text. The
/// structural markers need a DOM and are not looked for; the HTML is returned as it came.
fn strip_without_dom(html: &str) -> HtmlStripped {
    let lines = crude_lines(html);
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    let raw_text = crude_text(html);
    let plan = quote_strip::plan(&lines);
    let text = if plan.cut { collapse_blank_lines(&plan.render(&lines)) } else { raw_text.clone() };
    HtmlStripped {
        html: html.to_owned(),
        text,
        raw_text,
        cut: plan.cut,
        inline_reply_kept: plan.inline_reply_kept,
        may_have_cut_reply: plan.may_have_cut_reply,
    }
}

/// Runs of blank lines (block boundaries in the scanned lines) shown as one.
fn collapse_blank_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for l in text.lines() {
        blank = if l.trim().is_empty() { blank + 1 } else { 0 };
        if blank <= 1 {
            out.push_str(l.trim_end());
            out.push('\n');
        }
    }
    out.trim_end().to_owned()
}

/// Removes `n` and everything after it in document order (its following siblings and those of its ancestors).
fn cut_from_here(n: &Handle, removed: &mut Removed) {
    // Outlook puts a rule just before its header block: it belongs to what it introduces.
    if let Some(p) = parent(n) {
        let siblings = p.children.borrow();
        if let Some(i) = siblings.iter().position(|c| Rc::ptr_eq(c, n)) {
            let prev = siblings[..i].iter().rev().find(|c| !is_blank_text(c));
            if let Some(prev) = prev.filter(|c| tag(c) == Some("hr")) {
                removed.insert(prev);
            }
        }
    }
    let mut cur = n.clone();
    removed.insert(&cur);
    while let Some(p) = parent(&cur) {
        if matches!(tag(&p), Some("body" | "html")) || matches!(p.data, NodeData::Document) {
            // Following siblings of the marker at body level still go; stop climbing there.
            let siblings = p.children.borrow();
            let i = siblings.iter().position(|c| Rc::ptr_eq(c, &cur)).unwrap_or(siblings.len());
            for s in siblings.iter().skip(i + 1) {
                removed.insert(s);
            }
            break;
        }
        {
            let siblings = p.children.borrow();
            let i = siblings.iter().position(|c| Rc::ptr_eq(c, &cur)).unwrap_or(siblings.len());
            for s in siblings.iter().skip(i + 1) {
                removed.insert(s);
            }
        }
        cur = p;
    }
}

/// The first non-blank text inside `n` is a bold label ending in a colon ("From:", "От:", "差出人:").
fn opens_on_bold_label(n: &Handle) -> bool {
    let mut all = Vec::new();
    walk(n, &mut all);
    let Some(first) = all.iter().find(|c| matches!(&c.data, NodeData::Text { contents } if !contents.borrow().trim().is_empty())) else {
        return false;
    };
    let NodeData::Text { contents } = &first.data else { return false };
    let t = contents.borrow();
    let t = t.trim();
    let label = t.split_once(':').map(|(l, _)| l).or_else(|| t.split_once('：').map(|(l, _)| l));
    let bold = inside(first, |p| {
        matches!(tag(p), Some("b" | "strong"))
            || style_has(p, "font-weight:bold")
    });
    bold && label.is_some_and(|l| !l.trim().is_empty() && l.chars().count() <= 24)
}

/// Reads a style attribute's top border: `(solid, in one of Outlook's separator colours)`. Declarations are read
/// one by one, so every order Outlook writes works: `border-top:solid #E1E1E1 1.0pt` (Word editor) and
/// `BORDER-TOP: #b5c4df 1pt solid` (older Outlook), or `border-top-style: solid` with a separate colour.
fn top_border(style: &str) -> (bool, bool) {
    let (mut solid, mut colour) = (false, false);
    for decl in style.split(';') {
        let Some((name, value)) = decl.split_once(':') else { continue };
        let name = name.trim().to_ascii_lowercase();
        if !name.starts_with("border-top") {
            continue;
        }
        let value = value.to_ascii_lowercase();
        solid |= value.split_whitespace().any(|w| w == "solid");
        colour |= value.contains("#e1e1e1") || value.contains("#b5c4df");
    }
    (solid, colour)
}

/// The structural rules, first match wins. Returns whether anything was cut.
fn cut_by_structure(doc: &Handle, removed: &mut Removed) -> bool {
    let mut all = Vec::new();
    walk(doc, &mut all);

    // Gmail: the outermost gmail_quote container, unless it holds a forward.
    if let Some(q) = all.iter().find(|n| tag(n) == Some("div") && has_class(n, "gmail_quote")) {
        let mut head = String::new();
        text_of(q, &mut head, 200);
        let first_line = head.trim_start().lines().next().unwrap_or("").trim();
        let forward = first_line.starts_with("---")
            && quote_strip::separator_kind(first_line) != Some(super::reply_headers::MarkerKind::OriginalMessage);
        if !forward {
            note_answers_inside(q, removed);
            removed.insert(q);
            return true;
        }
    }

    // Markers after which everything is the old message.
    let cut_marker = all.iter().find(|n| {
        let Some(t) = tag(n) else { return false };
        let id_is = |ids: &[&str]| with_attr(n, "id", |id| ids.contains(&id)).unwrap_or(false);
        if id_is(&["divRplyFwdMsg", "x_divRplyFwdMsg", "OLK_SRC_BODY_SECTION", "mail-editor-reference-message-container"])
            || (t == "hr" && id_is(&["stopSpelling"]))
            || has_class(n, "yahoo_quoted")
            || has_class(n, "protonmail_quote")
        {
            return true;
        }
        if matches!(t, "div" | "p" | "table" | "td") {
            let (solid, outlook_colour) = with_attr(n, "style", top_border).unwrap_or((false, false));
            return (solid && outlook_colour) || (solid && opens_on_bold_label(n));
        }
        false
    });
    if let Some(m) = cut_marker {
        cut_from_here(m, removed);
        return true;
    }

    // The last blockquote not nested in another; Gmail's own quote formatting outside its container is the
    // sender's text, not history.
    let quote = all
        .iter()
        .filter(|n| tag(n) == Some("blockquote") && !has_class(n, "gmail_quote"))
        .rfind(|n| !inside(n, |p| tag(p) == Some("blockquote")));
    if let Some(q) = quote {
        removed.insert(q);
        // Thunderbird's "On … wrote:" sits in its own div just before the quote.
        if let Some(p) = parent(q) {
            let siblings = p.children.borrow();
            let i = siblings.iter().position(|c| Rc::ptr_eq(c, q)).unwrap_or(0);
            if let Some(prev) = siblings[..i].iter().rev().find(|c| !is_blank_text(c))
                && has_class(prev, "moz-cite-prefix")
            {
                removed.insert(prev);
            }
        }
        return true;
    }
    false
}

/// Inside a cut container, text that sits between two quoted blocks is an answer written into the quote.
fn note_answers_inside(container: &Handle, removed: &mut Removed) {
    let children = container.children.borrow();
    let mut seen_quote = false;
    let mut text_after_quote = false;
    for c in children.iter() {
        if tag(c) == Some("blockquote") {
            if text_after_quote {
                removed.answered_inside = true;
                return;
            }
            seen_quote = true;
        } else if seen_quote {
            let mut t = String::new();
            text_of(c, &mut t, 64);
            text_after_quote |= !t.trim().is_empty();
        }
    }
}

/// Marks as removed every node the plan cut: text on cut lines, elements whose start and content all went. One
/// post-order pass: a node whose whole extent went is left for its parent to remove (so the largest such subtree
/// goes as one), and a surviving node removes its gone children.
fn remove_cut_lines(doc: &Handle, render: &Render, plan: &quote_strip::Plan, removed: &mut Removed) {
    let gone = |line: usize| line < plan.keep.len() && !plan.keep[line] && plan.column(line).is_none();

    /// `Some(true)`: everything this node rendered was cut; `Some(false)`: something stays; `None`: it rendered
    /// nothing and decides nothing.
    fn sweep(n: &Handle, render: &Render, removed: &mut Removed, gone: &dyn Fn(usize) -> bool) -> Option<bool> {
        if removed.contains(n) {
            return None;
        }
        let key = Rc::as_ptr(n);
        let own = match &n.data {
            NodeData::Text { .. } => return render.text_line.get(&key).map(|&l| gone(l)),
            NodeData::Element { .. } => render.start_line.get(&key).map(|&l| gone(l)),
            NodeData::Document => Some(false),
            _ => return None,
        };
        let children: Vec<Handle> = n.children.borrow().clone();
        let verdicts: Vec<Option<bool>> = children.iter().map(|c| sweep(c, render, removed, gone)).collect();
        // An element that rendered nothing at all (never reached by the renderer) decides nothing.
        let own = own?;
        let all_gone = own && verdicts.iter().all(|v| *v != Some(false));
        if !all_gone {
            for (c, v) in children.iter().zip(&verdicts) {
                if *v == Some(true) {
                    removed.insert(c);
                }
            }
        }
        Some(all_gone)
    }
    sweep(doc, render, removed, &gone);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmail_quote_goes() {
        let s = strip_html("Reply<div class=\"gmail_quote\">On Tue, Bob &lt;b@x.com&gt; wrote:<div>Test</div></div>");
        assert!(s.cut);
        assert_eq!(s.text, "Reply");
    }

    #[test]
    fn outlook_separator_in_any_language() {
        let html = "<div>Hallo, danke!</div><div style=\"border:none;border-top:solid #E1E1E1 1.0pt\">\
                    <p><b>差出人:</b> Bob</p></div><p>old message</p>";
        let s = strip_html(html);
        assert_eq!(s.text, "Hallo, danke!");
    }

    #[test]
    fn older_outlook_uppercase_border_declaration() {
        let html = "<p>Done.</p><DIV style=\"BORDER-RIGHT: medium none; BORDER-TOP: #b5c4df 1pt solid; PADDING-TOP: 3pt\">\
                    <P><B>Van:</B> Support</P></DIV><P>oud bericht</P>";
        let s = strip_html(html);
        assert_eq!(s.text, "Done.");
        assert!(has_structure_marker(html));
    }

    #[test]
    fn outlook_web_and_yahoo_markers() {
        let owa = "<div>Fixed, thanks.</div><hr style=\"display:inline-block;width:98%\"><div id=\"x_divRplyFwdMsg\">\
                   <b>Von:</b> Support<br><b>Gesendet:</b> Montag</div><div>alte Nachricht</div>";
        let s = strip_html(owa);
        assert_eq!(s.text, "Fixed, thanks.");
        assert!(!s.html.contains("<hr"), "the rule before the header block goes with it: {}", s.html);
        let yahoo = "<div>Ok</div><div class=\"yahoo_quoted\"><div>On Monday, Bob wrote:</div><div>old</div></div>";
        assert_eq!(strip_html(yahoo).text, "Ok");
    }

    #[test]
    fn answers_inside_a_gmail_quote_raise_the_flag() {
        let html = "<div>See inline.</div><div class=\"gmail_quote\"><div>On Tue, Bob &lt;b@x.com&gt; wrote:</div>\
                    <blockquote class=\"gmail_quote\">Which plan?</blockquote><div>Pro.</div>\
                    <blockquote class=\"gmail_quote\">Since when?</blockquote></div>";
        let s = strip_html(html);
        assert_eq!(s.text, "See inline.");
        assert!(s.may_have_cut_reply);
    }

    #[test]
    fn gmail_forward_stays() {
        let html = "<div>FYI<div class=\"gmail_quote\">---------- Weitergeleitete Nachricht ---------<br>Von: Bob</div></div>";
        assert!(!strip_html(html).cut);
    }

    #[test]
    fn deep_nesting_is_handled_without_the_dom_passes() {
        let html = format!("{}deep text{}", "<div>".repeat(5_000), "</div>".repeat(5_000));
        let s = strip_html(&html);
        assert_eq!(s.text, "deep text");
        assert_eq!(html_to_text(&html), "deep text");
    }

    #[test]
    fn huge_html_is_handled_without_a_dom() {
        let html = format!("<p>Order list</p>{}", "<i>x</i>".repeat(MAX_HTML_BYTES / 8 + 1));
        let s = strip_html(&html);
        assert!(s.text.starts_with("Order list"), "{}", &s.text[..20]);
        assert!(!s.cut);
        // The scanner breaks lines at blocks, as html2text would have.
        assert!(html_to_text(&html).starts_with("Order list\nxxx"));
    }

    #[test]
    fn dense_or_deep_html_is_judged_before_any_parse() {
        assert!(fits_the_dom("<p>a<p>b<ul><li>c<li>d</ul><br><img src=x>"));
        assert!(!fits_the_dom(&"<div>".repeat(MAX_DEPTH + 1)));
        assert!(!fits_the_dom(&"<b>x</b>".repeat(MAX_HTML_TAGS + 1)));
        // Unclosed paragraphs and list items do not nest; tags inside comments, scripts and quoted attribute
        // values are not tags.
        assert!(fits_the_dom(&"<p>para".repeat(MAX_DEPTH * 2)));
        let hidden = format!("<!-- {0} --><script>{0}</script><a title=\"{0}\">x</a>", "<div>".repeat(MAX_DEPTH + 1));
        assert!(fits_the_dom(&hidden));
    }

    #[test]
    fn quotes_are_stripped_without_a_dom_too() {
        let html = format!(
            "<div>The export fails.</div><div>On Tue, Bob &lt;bob@example.com&gt; wrote:</div>\
             <blockquote type=\"cite\">{}old text</blockquote>",
            "<span>".repeat(MAX_HTML_TAGS + 1)
        );
        let s = strip_html(&html);
        assert!(s.cut);
        assert_eq!(s.text, "The export fails.");
        assert!(s.raw_text.contains("> old text"), "{}", &s.raw_text[..60]);
    }

    #[test]
    fn nothing_cut_returns_input() {
        let html = "<p>Hello <b>there</b></p>";
        let s = strip_html(html);
        assert_eq!(s.html, html);
        assert_eq!(s.text, "Hello there");
    }
}
