//! HTML as lines of text: the line renderer the quote planner works on, and the ticket text.
//!
//! Role: two renderings for two jobs. [`Render`] lays the DOM out as lines (blocks and `<br>` break lines,
//! blockquotes prefixed `> `) and remembers the line every node sits on, so lines the planner cuts map back to
//! nodes. The ticket text comes from the `html2text` crate ([`html_to_text`]), a maintained renderer for tables,
//! lists and links. Key decision: HTML that does not fit the DOM passes ([`fits_the_dom`]: larger than
//! [`MAX_HTML_BYTES`], more than [`MAX_HTML_TAGS`] tags, or nested deeper than [`MAX_DEPTH`], judged by one linear
//! scan of the tags before any parser runs) gets [`crude_text`] instead: the same scanner renders lines, breaking
//! at blocks and marking blockquotes with `> `, so the quote planner still works on it, in time linear in the
//! input whatever its shape.

use std::collections::HashMap;
use std::rc::Rc;

use markup5ever_rcdom::{Handle, Node, NodeData};

use super::html_dom::{MAX_DEPTH, MAX_HTML_BYTES, MAX_HTML_TAGS, Removed, VOID, depth_by};

/// HTML → text with html2text: no decoration, no link footnotes, no wrapping; trimmed. Pathologically deep or
/// large HTML gets [`crude_text`] instead.
pub fn html_to_text(html: &str) -> String {
    if !fits_the_dom(html) {
        return crude_text(html);
    }
    let config = html2text::config::plain_no_decorate().raw_mode(true).no_link_wrapping();
    let Ok(dom) = config.parse_html(html.as_bytes()) else { return crude_text(html) };
    // The scan estimates depth; the parser may nest deeper (implied `tbody`s, reopened formatting elements).
    if depth_by(&dom.document, |n| n.children.borrow().clone()) > MAX_DEPTH {
        return crude_text(html);
    }
    let text = config
        .dom_to_render_tree(&dom)
        .and_then(|tree| config.render_to_string(tree, 10_000))
        .unwrap_or_default();
    // html2text pads empty paragraphs with spaces; keep the text tidy for the ticket.
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out.trim().to_owned()
}

/// Tags dropped, block tags and `<br>` breaking lines, blockquotes prefixed `> `, a few entities decoded: the
/// rendering for HTML too deep or too dense for the DOM passes ([`fits_the_dom`]). One pass, no parser, no DOM.
pub fn crude_text(html: &str) -> String {
    let lines = crude_lines(html);
    let mut out = String::with_capacity(html.len() / 2);
    let mut blank = 0;
    for l in &lines {
        if l.trim().is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(l.trim_end());
        out.push('\n');
    }
    out.trim().to_owned()
}

/// Whether `html` may be given to html5ever and html2text: small enough, few enough tags, shallow enough. Both
/// build a DOM (several times the source, node by node) and html5ever's tree builder checks the stack of open
/// elements for every tag, so depth × tags is its cost: 1 MB of nested `<div>`s took over a minute.
pub fn fits_the_dom(html: &str) -> bool {
    if html.len() > MAX_HTML_BYTES {
        return false;
    }
    let (mut tags, mut depth) = (0usize, 0usize);
    let mut fits = true;
    scan(html, |event| {
        match event {
            Tag::Open { name, closes_itself } => {
                tags += 1;
                if !closes_itself && !VOID.contains(&name.as_str()) && !SIBLING_CLOSED.contains(&name.as_str()) {
                    depth += 1;
                }
            }
            Tag::Close { name } => {
                if !VOID.contains(&name.as_str()) && !SIBLING_CLOSED.contains(&name.as_str()) {
                    depth = depth.saturating_sub(1);
                }
            }
            Tag::Text(_) => {}
        }
        fits = tags <= MAX_HTML_TAGS && depth <= MAX_DEPTH;
        fits
    });
    fits
}

/// Elements a parser closes when the next of their kind opens (`<p>a<p>b`), so an unclosed one does not nest.
const SIBLING_CLOSED: &[&str] = &["p", "li", "td", "th", "tr", "dt", "dd", "option", "thead", "tbody", "tfoot"];
/// Elements whose content is not markup.
const RAW_TEXT: &[&str] = &["script", "style", "textarea", "title", "xmp"];

/// One piece of HTML as the scanner sees it.
enum Tag<'a> {
    Open { name: String, closes_itself: bool },
    Close { name: String },
    Text(&'a str),
}

/// Walks `html` once, tag by tag, calling `f` until it returns false. Comments, doctypes and the content of raw
/// text elements are skipped; attribute values may hold `>` inside quotes.
fn scan(html: &str, mut f: impl FnMut(Tag<'_>) -> bool) {
    let b = html.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let Some(lt) = memchr(b'<', &b[i..]).map(|k| i + k) else {
            f(Tag::Text(&html[i..]));
            return;
        };
        if lt > i && !f(Tag::Text(&html[i..lt])) {
            return;
        }
        let rest = &b[lt + 1..];
        if rest.starts_with(b"!--") {
            i = find(b, lt + 4, b"-->").map_or(b.len(), |k| k + 3);
            continue;
        }
        if rest.first().is_some_and(|c| *c == b'!' || *c == b'?') {
            i = memchr(b'>', rest).map_or(b.len(), |k| lt + 1 + k + 1);
            continue;
        }
        let closing = rest.first() == Some(&b'/');
        let name_at = lt + 1 + usize::from(closing);
        let name_len = b[name_at..].iter().take_while(|c| c.is_ascii_alphanumeric()).count();
        if name_len == 0 {
            // A `<` that opens no tag is text.
            if !f(Tag::Text(&html[lt..lt + 1])) {
                return;
            }
            i = lt + 1;
            continue;
        }
        let name = html[name_at..name_at + name_len].to_ascii_lowercase();
        // The tag ends at the first `>` outside a quoted attribute value.
        let mut k = name_at + name_len;
        let mut quote = None;
        while k < b.len() {
            match (quote, b[k]) {
                (None, b'"' | b'\'') => quote = Some(b[k]),
                (Some(q), c) if c == q => quote = None,
                (None, b'>') => break,
                _ => {}
            }
            k += 1;
        }
        let closes_itself = k > 0 && k < b.len() && b[k - 1] == b'/';
        i = (k + 1).min(b.len());
        let go = if closing {
            f(Tag::Close { name })
        } else {
            let raw = RAW_TEXT.contains(&name.as_str());
            let go = f(Tag::Open { name: name.clone(), closes_itself });
            if raw {
                // Skip to the matching end tag, case-insensitively.
                let end = format!("</{name}");
                let at = html.as_bytes()[i..].windows(end.len()).position(|w| w.eq_ignore_ascii_case(end.as_bytes()));
                i = at.map_or(b.len(), |k| i + k);
            }
            go
        };
        if !go {
            return;
        }
    }
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|c| *c == needle)
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|k| from + k)
}

/// The lines of [`crude_text`], quote depth shown as `> ` (the quote planner reads them).
pub(super) fn crude_lines(html: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut cur = String::new();
    let mut quote_depth = 0usize;
    scan(html, |event| {
        match event {
            // The scanner skips the content of raw text elements; `head` holds nothing else that renders.
            Tag::Open { name, .. } | Tag::Close { name } if SKIPPED.contains(&name.as_str()) => {}
            Tag::Open { name, closes_itself } => {
                if name == "br" || BLOCKS.contains(&name.as_str()) {
                    break_line(&mut lines, &mut cur);
                }
                if name == "blockquote" && !closes_itself {
                    quote_depth += 1;
                }
            }
            Tag::Close { name } => {
                if BLOCKS.contains(&name.as_str()) {
                    break_line(&mut lines, &mut cur);
                }
                if name == "blockquote" {
                    quote_depth = quote_depth.saturating_sub(1);
                }
            }
            Tag::Text(t) => {
                for (k, piece) in t.split('\n').enumerate() {
                    if k > 0 && !cur.trim().is_empty() && !cur.ends_with(' ') {
                        cur.push(' ');
                    }
                    push_words(&mut cur, piece, quote_depth);
                }
            }
        }
        true
    });
    lines.push(cur);
    lines
}

/// Ends the current line. A run of empty lines is kept as one: a block boundary is all it says, and thousands
/// of empty blocks must not become thousands of lines.
fn break_line(lines: &mut Vec<String>, cur: &mut String) {
    if cur.trim().is_empty() && lines.last().is_some_and(|l| l.trim().is_empty()) {
        cur.clear();
        return;
    }
    lines.push(std::mem::take(cur));
}

/// Appends `text` to the line with whitespace collapsed and entities decoded, prefixing the quote depth when the
/// line gets its first word.
fn push_words(cur: &mut String, text: &str, quote_depth: usize) {
    let text = decode_entities(text);
    let mut space = text.starts_with(char::is_whitespace);
    for word in text.split_whitespace() {
        if cur.trim().is_empty() {
            cur.clear();
            for _ in 0..quote_depth {
                cur.push_str("> ");
            }
        } else if space && !cur.ends_with(' ') {
            cur.push(' ');
        }
        cur.push_str(word);
        space = true;
    }
    if text.ends_with(char::is_whitespace) && !cur.trim().is_empty() && !cur.ends_with(' ') {
        cur.push(' ');
    }
}

fn decode_entities(t: &str) -> std::borrow::Cow<'_, str> {
    if !t.contains('&') {
        return t.into();
    }
    t.replace("&nbsp;", " ")
        .replace("&#160;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
        .into()
}

pub(super) const BLOCKS: &[&str] = &[
    "address", "article", "aside", "blockquote", "center", "dd", "div", "dl", "dt", "fieldset", "figure", "footer",
    "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "li", "main", "nav", "ol", "p", "pre", "section", "table",
    "tbody", "thead", "tfoot", "tr", "ul",
];

pub(super) const SKIPPED: &[&str] = &["head", "style", "script", "title", "template", "noscript"];

/// The DOM rendered to lines, with the line each text node and each element start sits on.
#[derive(Default)]
pub(super) struct Render {
    pub(super) lines: Vec<String>,
    pub(super) cur: String,
    /// The current line holds an element boundary (so a block after it starts a new line).
    pub(super) marks: bool,
    pub(super) quote_depth: usize,
    pub(super) text_line: HashMap<*const Node, usize>,
    pub(super) start_line: HashMap<*const Node, usize>,
}

impl Render {
    pub(super) fn run(doc: &Handle, removed: &Removed) -> Render {
        let mut r = Render::default();
        r.node(doc, removed);
        r.newline();
        r
    }

    /// The rendered lines as one text, blank-line runs collapsed, trimmed.
    pub(super) fn text(&self) -> String {
        let mut out = String::new();
        let mut blank = 0;
        for l in &self.lines {
            let l = l.trim_end();
            if l.is_empty() {
                blank += 1;
                if blank > 1 {
                    continue;
                }
            } else {
                blank = 0;
            }
            out.push_str(l);
            out.push('\n');
        }
        out.trim().to_owned()
    }

    pub(super) fn newline(&mut self) {
        let line = std::mem::take(&mut self.cur);
        self.lines.push(line);
        self.marks = false;
    }

    pub(super) fn has_text(&self) -> bool {
        !self.cur.trim().is_empty()
    }

    pub(super) fn node(&mut self, n: &Handle, removed: &Removed) {
        if removed.contains(n) {
            return;
        }
        match &n.data {
            NodeData::Text { contents } => {
                let t = contents.borrow();
                if t.trim().is_empty() {
                    if self.has_text() && !self.cur.ends_with(' ') {
                        self.cur.push(' ');
                    }
                    return;
                }
                if !self.has_text() && self.quote_depth > 0 {
                    self.cur.push_str(&"> ".repeat(self.quote_depth));
                }
                let mut space = t.starts_with(char::is_whitespace) && self.has_text() && !self.cur.ends_with(' ');
                for word in t.split_whitespace() {
                    if space {
                        self.cur.push(' ');
                    }
                    self.cur.push_str(word);
                    space = true;
                }
                if t.ends_with(char::is_whitespace) {
                    self.cur.push(' ');
                }
                self.text_line.insert(Rc::as_ptr(n), self.lines.len());
            }
            NodeData::Element { name, .. } => {
                let t = name.local.as_ref();
                if SKIPPED.contains(&t) {
                    return;
                }
                let key = Rc::as_ptr(n);
                match t {
                    "br" => {
                        self.start_line.insert(key, self.lines.len());
                        self.newline();
                    }
                    "hr" => {
                        // A rule ends the line of text before it and sits with what follows.
                        if self.has_text() {
                            self.newline();
                        }
                        self.start_line.insert(key, self.lines.len());
                        self.marks = true;
                    }
                    _ if BLOCKS.contains(&t) => {
                        if self.has_text() || self.marks {
                            self.newline();
                        }
                        self.start_line.insert(key, self.lines.len());
                        self.marks = true;
                        let quote = t == "blockquote";
                        self.quote_depth += usize::from(quote);
                        for c in n.children.borrow().iter() {
                            self.node(c, removed);
                        }
                        self.quote_depth -= usize::from(quote);
                        if self.has_text() {
                            self.newline();
                        }
                    }
                    _ => {
                        self.start_line.insert(key, self.lines.len());
                        if matches!(t, "td" | "th") && self.has_text() {
                            self.cur.push(' ');
                        }
                        for c in n.children.borrow().iter() {
                            self.node(c, removed);
                        }
                    }
                }
            }
            _ => {
                for c in n.children.borrow().iter() {
                    self.node(c, removed);
                }
            }
        }
    }
}
