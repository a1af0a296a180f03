//! HTML as lines of text: the line renderer the quote planner works on, and the ticket text.
//!
//! Role: two renderings for two jobs. [`Render`] lays the DOM out as lines (blocks and `<br>` break lines,
//! blockquotes prefixed `> `) and remembers the line every node sits on, so lines the planner cuts map back to
//! nodes. The ticket text comes from the `html2text` crate ([`html_to_text`]), a maintained renderer for tables,
//! lists and links. Key decision: HTML nested deeper than [`MAX_DEPTH`] gets [`crude_text`] instead, tags dropped
//! without a parser.

use std::collections::HashMap;
use std::rc::Rc;

use markup5ever_rcdom::{Handle, Node, NodeData};

use super::html_dom::{MAX_DEPTH, MAX_HTML_BYTES, Removed, depth_by};

/// HTML → text with html2text: no decoration, no link footnotes, no wrapping; trimmed. Pathologically deep or
/// large HTML gets [`crude_text`] instead.
pub fn html_to_text(html: &str) -> String {
    if html.len() > MAX_HTML_BYTES {
        return crude_text(html);
    }
    let config = html2text::config::plain_no_decorate().raw_mode(true).no_link_wrapping();
    let Ok(dom) = config.parse_html(html.as_bytes()) else { return crude_text(html) };
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

/// Tags dropped and a few entities decoded, line by line, without a parser: the fallback for HTML too deep for
/// the DOM passes.
pub fn crude_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    let out = out.replace("&nbsp;", " ").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", "\"").replace("&amp;", "&");
    let lines: Vec<String> = out.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
    let mut text = lines.join("\n");
    while text.contains("\n\n\n") {
        text = text.replace("\n\n\n", "\n\n");
    }
    text.trim().to_owned()
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
