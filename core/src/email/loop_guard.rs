//! Deciding whether a message was written by a machine answering another machine: no ticket for those.
//!
//! Role: headers in, a typed verdict out, with the reason an operator reads in the log. Key decisions follow
//! RFC 3834 and what helpdesks learned in practice: `Auto-Submitted` other than `no`; `Precedence: bulk|junk|list`;
//! `X-Autoreply`, `X-Autorespond` and Microsoft's `X-Auto-Response-Suppress` (set on Exchange's own automatic
//! mail); `X-Loop` (set by mail robots on what they send); SES's `X-SES-Spam-Verdict` / `X-SES-Virus-Verdict:
//! FAIL`; a null sender (`Return-Path: <>`) or a MAILER-DAEMON / postmaster From; a `multipart/report` (delivery or
//! read reports). A verdict never depends on the body's language.

use std::fmt;

/// Why a message gets no ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Suppressed {
    /// `Auto-Submitted` with a value other than `no` (RFC 3834).
    AutoSubmitted(String),
    /// `Precedence: bulk`, `junk` or `list`.
    Precedence(String),
    /// `X-Autoreply`, `X-Autorespond` or `X-Auto-Response-Suppress` present.
    AutoReplyHeader(&'static str),
    /// `X-Loop` present: a mail robot already handled this message.
    Loop(String),
    /// SES judged the message spam (`X-SES-Spam-Verdict: FAIL`).
    Spam,
    /// SES found a virus (`X-SES-Virus-Verdict: FAIL`).
    Virus,
    /// `Return-Path: <>`: a bounce or another message no one may answer.
    NullSender,
    /// From a mailer daemon or postmaster.
    MailerDaemon(String),
    /// `multipart/report`: a delivery status or read report.
    Report(String),
}

impl fmt::Display for Suppressed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Suppressed::AutoSubmitted(v) => write!(f, "Auto-Submitted: {v}"),
            Suppressed::Precedence(v) => write!(f, "Precedence: {v}"),
            Suppressed::AutoReplyHeader(h) => write!(f, "{h} header present"),
            Suppressed::Loop(v) => write!(f, "X-Loop: {v}"),
            Suppressed::Spam => f.write_str("X-SES-Spam-Verdict: FAIL"),
            Suppressed::Virus => f.write_str("X-SES-Virus-Verdict: FAIL"),
            Suppressed::NullSender => f.write_str("null sender (Return-Path: <>)"),
            Suppressed::MailerDaemon(a) => write!(f, "sent by {a}"),
            Suppressed::Report(t) => write!(f, "multipart/report ({t})"),
        }
    }
}

/// The headers the guard reads; a caller need collect no others.
pub const WATCHED: &[&str] = &[
    "Auto-Submitted", "Precedence", "X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress", "X-Loop",
    "X-SES-Spam-Verdict", "X-SES-Virus-Verdict", "Return-Path",
];

/// Whether the guard reads header `name`.
pub fn watches(name: &str) -> bool {
    WATCHED.iter().any(|w| w.eq_ignore_ascii_case(name))
}

/// The loop guard's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoopGuard {
    /// A person wrote this: make a ticket.
    Deliver,
    /// A machine wrote this: no ticket, log the reason, delete the message.
    Suppress(Suppressed),
}

/// What the guard looks at, already read from the message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GuardInput<'a> {
    /// `(name, value)` of the top-level headers named in [`WATCHED`] (others are ignored), names as written.
    pub headers: Vec<(&'a str, String)>,
    /// The From address, if any.
    pub from: Option<&'a str>,
    /// `multipart/report`'s `report-type`, when the message is one.
    pub report_type: Option<String>,
}

impl GuardInput<'_> {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim())
    }
}

/// Judges a message.
pub fn judge(input: &GuardInput<'_>) -> LoopGuard {
    use Suppressed::*;
    let verdict = |s| LoopGuard::Suppress(s);
    if input.header("X-SES-Virus-Verdict").is_some_and(|v| v.eq_ignore_ascii_case("FAIL")) {
        return verdict(Virus);
    }
    if input.header("X-SES-Spam-Verdict").is_some_and(|v| v.eq_ignore_ascii_case("FAIL")) {
        return verdict(Spam);
    }
    if let Some(v) = input.header("Auto-Submitted") {
        let value = v.split(';').next().unwrap_or("").trim();
        if !value.eq_ignore_ascii_case("no") && !value.is_empty() {
            return verdict(AutoSubmitted(value.to_owned()));
        }
    }
    if let Some(v) = input.header("Precedence") {
        let value = v.trim().to_ascii_lowercase();
        if matches!(value.as_str(), "bulk" | "junk" | "list") {
            return verdict(Precedence(value));
        }
    }
    for h in ["X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"] {
        if let Some(v) = input.header(h) {
            // "X-Autoreply: no" and "X-Auto-Response-Suppress: None" say the opposite.
            if !v.eq_ignore_ascii_case("no") && !v.eq_ignore_ascii_case("none") {
                return verdict(AutoReplyHeader(match h {
                    "X-Autoreply" => "X-Autoreply",
                    "X-Autorespond" => "X-Autorespond",
                    _ => "X-Auto-Response-Suppress",
                }));
            }
        }
    }
    if let Some(v) = input.header("X-Loop") {
        return verdict(Loop(v.to_owned()));
    }
    if let Some(rp) = input.header("Return-Path") {
        let inner = rp.trim().trim_start_matches('<').trim_end_matches('>').trim();
        if inner.is_empty() {
            return verdict(NullSender);
        }
    }
    if let Some(from) = input.from {
        let local = from.split('@').next().unwrap_or("").to_ascii_lowercase();
        if matches!(local.as_str(), "mailer-daemon" | "postmaster" | "mail-daemon" | "mailerdaemon") {
            return verdict(MailerDaemon(from.to_owned()));
        }
    }
    if let Some(t) = &input.report_type {
        return verdict(Report(t.clone()));
    }
    LoopGuard::Deliver
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(headers: &[(&'static str, &str)]) -> LoopGuard {
        let input = GuardInput {
            headers: headers.iter().map(|(n, v)| (*n, v.to_string())).collect(),
            from: Some("ana@example.com"),
            report_type: None,
        };
        judge(&input)
    }

    #[test]
    fn rfc_3834_and_practice() {
        assert_eq!(with(&[("Auto-Submitted", "no")]), LoopGuard::Deliver);
        assert!(matches!(with(&[("auto-submitted", "auto-replied; owner-email=a@b")]),
            LoopGuard::Suppress(Suppressed::AutoSubmitted(v)) if v == "auto-replied"));
        assert!(matches!(with(&[("Precedence", "Bulk")]), LoopGuard::Suppress(Suppressed::Precedence(_))));
        assert_eq!(with(&[("Precedence", "first-class")]), LoopGuard::Deliver);
        assert!(matches!(with(&[("X-Auto-Response-Suppress", "All")]), LoopGuard::Suppress(_)));
        assert!(matches!(with(&[("Return-Path", "<>")]), LoopGuard::Suppress(Suppressed::NullSender)));
        assert!(matches!(with(&[("X-SES-Spam-Verdict", "FAIL")]), LoopGuard::Suppress(Suppressed::Spam)));
        assert_eq!(with(&[("X-SES-Spam-Verdict", "PASS"), ("X-SES-Virus-Verdict", "PASS")]), LoopGuard::Deliver);
    }
}
