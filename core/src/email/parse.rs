//! Raw RFC 5322 bytes → the fields a ticket needs, through the `mail-parser` crate.
//!
//! Role: one parse, everything read from it once, no I/O. Key decisions:
//! - The customer is the From mailbox: it names who wrote. Reply-To says where answers should go and is kept
//!   beside it ([`ParsedEmail::reply_to`]); it replaces From only when From is a no-reply robot address and
//!   Reply-To names exactly one mailbox (contact forms on other sites send "From: noreply@… / Reply-To:
//!   customer"). Sender (the agent that sent on behalf) is used only when From has no usable address.
//! - Body: the text/plain parts when there are any, else the HTML parts converted to text; the HTML is kept in
//!   any case for structural quote detection.
//! - Attachments are listed (name, type, decoded size), never inlined.
//! - A size cap is checked before parsing, so a 40 MB mail costs nothing but the refusal.
//! - mail-parser never fails on malformed input; it returns nothing only for bytes without a message in them.

use mail_parser::{MessageParser, PartKind};

use super::loop_guard::{self, GuardInput, LoopGuard};
use crate::normalise::{NormaliseError, normalise_email};

/// Why a message cannot become a ticket.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("message is {size} bytes, over the {limit}-byte limit")]
    TooLarge { size: usize, limit: usize },
    #[error("message is empty")]
    Empty,
    #[error("no message could be parsed from the bytes")]
    Unparseable,
    #[error("no usable sender address ({0})")]
    NoSender(String),
    #[error("message has no text, HTML or attachment to make a ticket body from")]
    NoBody,
    #[error("automatic message, no ticket: {0}")]
    Suppressed(loop_guard::Suppressed),
    #[error("ticket field refused: {0}")]
    Field(#[from] NormaliseError),
}

/// An attachment, listed and not inlined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    pub name: Option<String>,
    /// `type/subtype`, lower case; `application/octet-stream` when unknown.
    pub content_type: String,
    /// Decoded size in bytes.
    pub size: usize,
}

/// A person, as a mail header names them.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mailbox {
    pub name: Option<String>,
    pub address: Option<String>,
}

/// What the email lane reads from a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedEmail {
    /// The customer, chosen as described in the module note; its address validated and lower-cased.
    pub sender: Mailbox,
    pub from: Option<Mailbox>,
    pub reply_to: Option<Mailbox>,
    pub subject: Option<String>,
    /// The text/plain body parts joined; `None` when there are none.
    pub text: Option<String>,
    /// The text/html body parts joined; `None` when there are none.
    pub html: Option<String>,
    pub attachments: Vec<Attachment>,
    /// Angle brackets removed, as mail-parser gives them.
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Vec<String>,
    /// RFC 3339, when the Date header parses.
    pub date: Option<String>,
    pub loop_guard: LoopGuard,
    /// Everyone on To and Cc with a usable address, lower-cased: they may reply into the ticket later.
    pub participants: Vec<String>,
}

/// Local parts that say "do not answer me".
fn is_no_reply(address: &str) -> bool {
    let local = address.split('@').next().unwrap_or("").to_ascii_lowercase().replace(['-', '_', '.'], "");
    matches!(local.as_str(), "noreply" | "donotreply" | "donoreply" | "noresponse" | "wordpress")
}

/// A valid address from what a header gave, salvaging the common breakages: obsolete spaces inside the address
/// ("jdoe@machine.  example"), a display name without angle brackets ("Big Bug bb@bug.com"), two addresses
/// where one belongs ("tim@x.com concierge@x.com" → the first).
pub(super) fn usable_address(raw: &str) -> Option<String> {
    if let Ok(a) = normalise_email(raw) {
        return Some(a);
    }
    // Obsolete syntax allows spaces around the dots and the @ only; squeezing anything else would glue a display
    // name onto the address.
    let chars: Vec<char> = raw.trim().chars().collect();
    let squeezed: String = chars
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            if !c.is_whitespace() {
                return true;
            }
            let prev = chars[..*i].iter().rev().find(|c| !c.is_whitespace());
            let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
            !(matches!(prev, Some('.' | '@')) || matches!(next, Some('.' | '@')))
        })
        .map(|(_, c)| *c)
        .collect();
    if let Ok(a) = normalise_email(&squeezed) {
        return Some(a);
    }
    raw.split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .map(|t| t.trim_matches(|c: char| matches!(c, '<' | '>' | '"' | '\'' | '(' | ')')))
        .filter(|t| t.contains('@'))
        .find_map(|t| normalise_email(t).ok())
}

/// Most To/Cc addresses a parsed mail hands on (the store keeps fewer: `StoreConfig::participant_cap`).
const MAX_PARTICIPANTS: usize = 50;

/// Parses `raw`, refusing it when over `max_bytes`. The sender is chosen and validated here; a message without
/// one is refused with [`EmailError::NoSender`].
pub fn parse(raw: &[u8], max_bytes: usize) -> Result<ParsedEmail, EmailError> {
    if raw.len() > max_bytes {
        return Err(EmailError::TooLarge { size: raw.len(), limit: max_bytes });
    }
    if raw.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(EmailError::Empty);
    }
    let message = MessageParser::new().parse(raw).ok_or(EmailError::Unparseable)?;
    let root = message.root();

    let first = |list: Option<mail_parser::AddressList<'_>>| -> Option<Mailbox> {
        let list = list?;
        let with_address = list.mailboxes().find(|m| m.address().is_some_and(|a| a.contains('@')));
        let m = with_address.or_else(|| list.first())?;
        Some(Mailbox { name: m.name().map(str::to_owned), address: m.address().map(str::to_owned) })
    };
    let from = first(root.from());
    let reply_to_list = root.reply_to();
    let reply_to_count = reply_to_list.map_or(0, |l| l.mailboxes().count());
    let reply_to = first(reply_to_list);
    let agent = first(root.sender());
    let valid = |m: &Option<Mailbox>| m.as_ref().and_then(|m| m.address.as_deref()).and_then(usable_address);

    let sender = match (valid(&from), valid(&reply_to), valid(&agent)) {
        (Some(f), Some(r), _) if is_no_reply(&f) && reply_to_count == 1 => {
            Mailbox { name: reply_to.as_ref().and_then(|m| m.name.clone()), address: Some(r) }
        }
        (Some(f), _, _) => Mailbox { name: from.as_ref().and_then(|m| m.name.clone()), address: Some(f) },
        (None, _, Some(s)) => Mailbox { name: agent.as_ref().and_then(|m| m.name.clone()), address: Some(s) },
        (None, _, None) => {
            // Says what was wrong without the address itself: refusals are logged, and logs carry no addresses.
            let what = match from.as_ref().and_then(|m| m.address.as_deref()) {
                Some(a) => format!("the From address ({} characters) is not a usable address", a.chars().count()),
                None => "no From address".into(),
            };
            return Err(EmailError::NoSender(what));
        }
    };

    let mut text = String::new();
    for part in root.text_body() {
        if let PartKind::Text = part.kind()
            && let Some(t) = part.text()
        {
            if !text.is_empty() {
                text.push('\n');
            }
            text.push_str(&t);
        }
    }
    let mut html = String::new();
    for part in root.html_body() {
        if let PartKind::Html = part.kind()
            && let Some(t) = part.text()
        {
            html.push_str(&t);
        }
    }

    let attachments = root
        .attachments()
        .map(|part| Attachment {
            name: part.attachment_name().map(str::to_owned),
            content_type: part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase(),
                    None => ct.ctype().to_ascii_lowercase(),
                })
                .unwrap_or_else(|| "application/octet-stream".into()),
            size: part.decoded_len(),
        })
        .collect();

    let headers: Vec<(&str, String)> = root
        .headers()
        .iter()
        .filter(|h| loop_guard::watches(h.raw_name()))
        .map(|h| (h.raw_name(), String::from_utf8_lossy(h.raw_value()).trim().to_owned()))
        .collect();
    let report_type = root
        .content_type()
        .filter(|ct| ct.ctype().eq_ignore_ascii_case("multipart") && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report")))
        .map(|ct| ct.attribute("report-type").unwrap_or("unknown").to_owned());
    let from_address = from.as_ref().and_then(|m| m.address.as_deref());
    let guard = loop_guard::judge(&GuardInput { headers, from: from_address, report_type });

    // The first addresses on To and Cc, without repeats. Bounded: a ticket keeps a few participants, and a header
    // of thousands of addresses must not cost time in proportion to its square.
    let mut participants: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let addresses = [root.to(), root.cc()].into_iter().flatten().flat_map(|list| list.mailboxes());
    for address in addresses.filter_map(|m| m.address()).filter_map(usable_address).take(MAX_PARTICIPANTS * 4) {
        if seen.insert(address.clone()) {
            participants.push(address);
        }
    }
    participants.truncate(MAX_PARTICIPANTS);

    Ok(ParsedEmail {
        sender,
        from,
        reply_to,
        subject: root.subject().map(str::to_owned),
        text: Some(text).filter(|t| !t.trim().is_empty()),
        html: Some(html).filter(|h| !h.trim().is_empty()),
        attachments,
        message_id: root.message_id().map(str::to_owned),
        in_reply_to: root.in_reply_to().and_then(|l| l.first().map(str::to_owned)),
        references: root.references().map(|l| l.iter().map(str::to_owned).collect()).unwrap_or_default(),
        date: root.date().filter(|d| d.is_valid()).map(|d| d.to_rfc3339()),
        loop_guard: guard,
        participants,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_addresses_are_salvaged() {
        assert_eq!(usable_address("jdoe@machine.  example").as_deref(), Some("jdoe@machine.example"));
        assert_eq!(usable_address("Big Bug bb@bug.com").as_deref(), Some("bb@bug.com"));
        assert_eq!(usable_address("tim@x.com concierge@x.com").as_deref(), Some("tim@x.com"));
        assert_eq!(usable_address("xxxxx@xxxxx"), None);
    }

    #[test]
    fn html_only_attachments_listed() {
        let raw = "From: a@example.com\r\nSubject: s\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
            Content-Type: text/html\r\n\r\n<p>Hi <b>there</b></p>\r\n--b\r\nContent-Type: application/pdf; name=\"inv.pdf\"\r\n\
            Content-Disposition: attachment; filename=\"inv.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n";
        let p = parse(raw.as_bytes(), 1 << 20).unwrap();
        assert_eq!(p.text, None);
        assert!(p.html.as_deref().unwrap().contains("<b>there</b>"));
        assert_eq!(p.attachments, [Attachment { name: Some("inv.pdf".into()), content_type: "application/pdf".into(), size: 5 }]);
        assert_eq!(p.loop_guard, LoopGuard::Deliver);
    }
}
