//! The HTML DOM as the quote stripper reads and writes it: node helpers, the set of removed nodes, serialisation.
//!
//! Role: everything that touches html5ever's tree (through `markup5ever_rcdom`, published by the html5ever project
//! with each release) apart from the quote rules themselves. Key decisions: the tree is never mutated; nodes are
//! marked removed by address and skipped when rendering or serialising. Depth is measured without recursion, and
//! the recursive passes run only below [`MAX_DEPTH`], so hostile nesting cannot exhaust a guest's stack.

use std::collections::HashSet;
use std::rc::Rc;

use markup5ever_rcdom::{Handle, Node, NodeData};

/// Deeper element nesting than this is not a mail client's HTML; it is handled without the DOM passes, whose
/// recursion (and html2text's) must not exhaust a WebAssembly guest's stack.
pub const MAX_DEPTH: usize = 256;

/// Larger HTML than this is not a person's reply; it is handled without building a DOM. A DOM is several times
/// the size of its source and two are built (ours, then html2text's), so a 40 MB part of tiny elements would
/// otherwise run a guest out of memory.
pub const MAX_HTML_BYTES: usize = 2 * 1024 * 1024;

/// More tags than this is not a person's reply either: each becomes a node in two DOMs, and a 1 MB run of tiny
/// elements would take hundreds of megabytes. Outlook threads of fifty messages stay well below it.
pub const MAX_HTML_TAGS: usize = 20_000;

/// Deepest nesting below `doc`, counted without recursion (stops counting past [`MAX_DEPTH`]). Generic over the
/// two DOMs in use, html5ever's and html2text's copy of it, through `children`.
pub(super) fn depth_by<N>(doc: &Rc<N>, children: impl Fn(&N) -> Vec<Rc<N>>) -> usize {
    let mut stack = vec![(doc.clone(), 0usize)];
    let mut max = 0;
    while let Some((n, d)) = stack.pop() {
        max = max.max(d);
        if max > MAX_DEPTH {
            break;
        }
        stack.extend(children(&n).into_iter().map(|c| (c, d + 1)));
    }
    max
}

pub(super) fn depth(doc: &Handle) -> usize {
    depth_by(doc, |n| n.children.borrow().clone())
}

/// Nodes cut so far, by address (the DOM is left intact; rendering and serialising skip these).
#[derive(Default)]
pub(super) struct Removed {
    pub(super) nodes: HashSet<*const Node>,
    /// A cut container held text between quoted blocks: answers written into the quote.
    pub(super) answered_inside: bool,
}

impl Removed {
    pub(super) fn contains(&self, n: &Handle) -> bool {
        self.nodes.contains(&Rc::as_ptr(n))
    }
    pub(super) fn insert(&mut self, n: &Handle) {
        self.nodes.insert(Rc::as_ptr(n));
    }
}

pub(super) fn tag(n: &Handle) -> Option<&str> {
    match &n.data {
        NodeData::Element { name, .. } => Some(name.local.as_ref()),
        _ => None,
    }
}

/// Applies `f` to attribute `key`'s value, without copying it (this runs on every element).
pub(super) fn with_attr<T>(n: &Handle, key: &str, f: impl FnOnce(&str) -> T) -> Option<T> {
    match &n.data {
        NodeData::Element { attrs, .. } => {
            let attrs = attrs.borrow();
            attrs.iter().find(|a| (*a.name.local).eq_ignore_ascii_case(key)).map(|a| f(&a.value))
        }
        _ => None,
    }
}

pub(super) fn has_class(n: &Handle, class: &str) -> bool {
    with_attr(n, "class", |c| c.split_whitespace().any(|t| t == class)).unwrap_or(false)
}

/// The style attribute contains `needle` once spaces are ignored and case folded (`needle` is lower case, no
/// spaces).
pub(super) fn style_has(n: &Handle, needle: &str) -> bool {
    with_attr(n, "style", |s| {
        let squeezed = s.bytes().filter(|b| !b.is_ascii_whitespace()).map(|b| b.to_ascii_lowercase());
        let hay: Vec<u8> = squeezed.collect();
        hay.windows(needle.len()).any(|w| w == needle.as_bytes())
    })
    .unwrap_or(false)
}

pub(super) fn parent(n: &Handle) -> Option<Handle> {
    let weak = n.parent.take();
    let p = weak.as_ref().and_then(|w| w.upgrade());
    n.parent.set(weak);
    p
}

/// Every node in document order.
pub(super) fn walk(n: &Handle, out: &mut Vec<Handle>) {
    out.push(n.clone());
    for c in n.children.borrow().iter() {
        walk(c, out);
    }
}

pub(super) fn text_of(n: &Handle, out: &mut String, limit: usize) {
    if out.len() >= limit {
        return;
    }
    match &n.data {
        NodeData::Text { contents } => out.push_str(&contents.borrow()),
        NodeData::Element { name, .. } if matches!(name.local.as_ref(), "style" | "script" | "head") => {}
        _ => {
            for c in n.children.borrow().iter() {
                text_of(c, out, limit);
                if matches!(tag(c), Some("br" | "div" | "p")) {
                    out.push('\n');
                }
            }
        }
    }
}

pub(super) fn is_blank_text(n: &Handle) -> bool {
    match &n.data {
        NodeData::Text { contents } => contents.borrow().trim().is_empty(),
        NodeData::Comment { .. } => true,
        _ => false,
    }
}

pub(super) fn inside(n: &Handle, pred: impl Fn(&Handle) -> bool) -> bool {
    let mut cur = parent(n);
    while let Some(p) = cur {
        if pred(&p) {
            return true;
        }
        cur = parent(&p);
    }
    false
}

pub(super) const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr",
];

/// HTML serialisation of what is left. Non-breaking spaces are written as `&#160;` so they survive any later
/// whitespace handling.
pub(super) fn serialize(n: &Handle, removed: &Removed, out: &mut String) {
    if removed.contains(n) {
        return;
    }
    match &n.data {
        NodeData::Document => {
            for c in n.children.borrow().iter() {
                serialize(c, removed, out);
            }
        }
        NodeData::Doctype { name, .. } => {
            out.push_str("<!DOCTYPE ");
            out.push_str(name);
            out.push('>');
        }
        NodeData::Text { contents } => {
            let raw = parent(n).and_then(|p| tag(&p).map(|t| matches!(t, "style" | "script"))).unwrap_or(false);
            let t = contents.borrow();
            if raw {
                out.push_str(&t);
            } else {
                escape(&t, false, out);
            }
        }
        NodeData::Comment { contents } => {
            out.push_str("<!--");
            out.push_str(contents);
            out.push_str("-->");
        }
        NodeData::Element { name, attrs, .. } => {
            let t = name.local.as_ref();
            out.push('<');
            out.push_str(t);
            for a in attrs.borrow().iter() {
                out.push(' ');
                out.push_str(a.name.local.as_ref());
                out.push_str("=\"");
                escape(&a.value, true, out);
                out.push('"');
            }
            out.push('>');
            if VOID.contains(&t) {
                return;
            }
            for c in n.children.borrow().iter() {
                serialize(c, removed, out);
            }
            out.push_str("</");
            out.push_str(t);
            out.push('>');
        }
        NodeData::ProcessingInstruction { .. } => {}
    }
}

pub(super) fn escape(s: &str, attribute: bool, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' if !attribute => out.push_str("&lt;"),
            '>' if !attribute => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\u{a0}' => out.push_str("&#160;"),
            c => out.push(c),
        }
    }
}
