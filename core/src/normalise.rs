//! From a lane's raw fields to a ticket: the one place where input is cleaned and bounded.
//!
//! Every lane fills a [`TicketDraft`] and calls [`TicketDraft::into_ticket`] with the time and randomness it was
//! given. Key decisions:
//! - Text loses control characters (except newline and tab in the body), Unicode noncharacters and bidi
//!   overrides; line breaks become `\n`; single-line fields have whitespace runs collapsed to one space.
//! - Limits are in characters (not bytes) and documented in [`Limits`]. An over-long body is cut at the limit and
//!   flagged (`body_truncated`) — a customer's words are never refused for length here; an over-long id or key is
//!   refused, because cutting it would make two different things equal.
//! - Email addresses are validated and lower-cased whole (no real provider treats the local part
//!   case-sensitively; every helpdesk we measured folds it). Plus-addressing is kept as sent: the store decides
//!   how to match it. Internationalised domains are stored in their ASCII (punycode) form.
//! - `received_at` is RFC 3339 in UTC with milliseconds; ids are ULIDs (time-sortable, 26 characters).
//! - Card numbers, IBANs and secrets are masked ([`crate::mask`]) in the subject and body first, before cleaning
//!   and cutting: this is the one step every lane's text passes, and a cut must not leave half a card behind.

use std::time::SystemTime;

use time::OffsetDateTime;
use time::macros::format_description;

use crate::mask::mask;
use crate::ticket::{Customer, Source, ThreadIds, Ticket, TicketFlag};

/// Field limits, in Unicode scalar values. The defaults keep the worst-case ticket JSON (every body character
/// 4 UTF-8 bytes) under 256 KiB, the smallest SQS message limit still configured on older queues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub name: usize,
    pub subject: usize,
    pub body: usize,
    pub page_url: usize,
    pub idempotency_key: usize,
    pub message_id: usize,
    pub references: usize,
    /// Most bytes the references take in the ticket's JSON: 50 Message-IDs of 998 four-byte characters would be
    /// 200 KB, most of a queue message.
    pub references_bytes: usize,
    pub transcript_id: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            name: 200,
            subject: 300,
            body: 32_000,
            page_url: 2_048,
            idempotency_key: 512,
            message_id: 998,
            references: 50,
            references_bytes: 16 * 1024,
            transcript_id: 256,
        }
    }
}

/// Longest address RFC 5321 allows in a path; longest local part.
const EMAIL_MAX: usize = 254;
const LOCAL_PART_MAX: usize = 64;

/// Subject given to a ticket whose lane supplied none (an email without Subject, an untitled chat).
pub const NO_SUBJECT: &str = "(no subject)";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NormaliseError {
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    #[error("{field}: is required")]
    Missing { field: &'static str },
    #[error("{field}: longer than {limit} characters")]
    TooLong { field: &'static str, limit: usize },
}

impl NormaliseError {
    /// The input field at fault, for error bodies that point at it.
    pub fn field(&self) -> &'static str {
        match self {
            NormaliseError::Invalid { field, .. }
            | NormaliseError::Missing { field }
            | NormaliseError::TooLong { field, .. } => field,
        }
    }
}

/// What a lane knows, before cleaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketDraft {
    pub source: Source,
    /// `None` only for an anonymous chat visitor; any other lane must supply it.
    pub customer_email: Option<String>,
    pub customer_name: Option<String>,
    pub subject: String,
    pub body: String,
    pub page_url: Option<String>,
    pub thread: ThreadIds,
    pub transcript_id: Option<String>,
    pub idempotency_key: String,
}

impl TicketDraft {
    /// Cleans and bounds every field and stamps the ticket with `now` and an id made from `now` and `random`.
    pub fn into_ticket(self, now: SystemTime, random: u128, limits: &Limits) -> Result<Ticket, NormaliseError> {
        let email = match self.customer_email.as_deref().map(str::trim).filter(|e| !e.is_empty()) {
            Some(raw) => Some(normalise_email(raw)?),
            None if self.source == Source::Chat => None,
            None => return Err(NormaliseError::Missing { field: "customer.email" }),
        };
        let name = self
            .customer_name
            .as_deref()
            .map(|n| single_line(n, limits.name))
            .filter(|n| !n.is_empty());

        let subject_masked = mask(&self.subject);
        let body_masked = mask(&self.body);
        let masked = subject_masked.counts + body_masked.counts;

        let subject = single_line(&subject_masked.text, limits.subject);
        let subject = if subject.is_empty() { NO_SUBJECT.to_owned() } else { subject };

        let (body, body_truncated) = multi_line(&body_masked.text, limits.body);
        if body.is_empty() {
            return Err(NormaliseError::Missing { field: "body" });
        }

        let idempotency_key = bounded_id(&self.idempotency_key, "idempotency_key", limits.idempotency_key)?
            .ok_or(NormaliseError::Missing { field: "idempotency_key" })?;
        let page_url = match self.page_url.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
            Some(u) => Some(normalise_page_url(u, limits.page_url)?),
            None => None,
        };
        let transcript_id = match self.transcript_id.as_deref() {
            Some(t) => bounded_id(t, "transcript_id", limits.transcript_id)?,
            None => None,
        };
        let (thread, references_cut) = normalise_thread(self.thread, limits);
        let mut flags = if masked.is_empty() { Vec::new() } else { vec![TicketFlag::Masked] };
        if references_cut {
            flags.push(TicketFlag::ReferencesCut);
        }

        Ok(Ticket {
            id: new_id(now, random),
            customer: Customer { email, name },
            subject,
            body,
            body_truncated,
            source: self.source,
            received_at: rfc3339_utc(now),
            page_url,
            thread,
            transcript_id,
            idempotency_key,
            merged_from: Vec::new(),
            reading: None,
            flags,
            masked: masked.to_list(),
        })
    }
}

/// A ULID from the given time and 80 random bits: sorts by creation time, unique without coordination.
pub fn new_id(now: SystemTime, random: u128) -> String {
    let millis = now.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
    ulid::Ulid::from_parts(millis, random).to_string()
}

/// `2026-11-26T16:32:44.123Z`.
pub fn rfc3339_utc(at: SystemTime) -> String {
    let at = OffsetDateTime::from(at);
    at.format(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"))
        .expect("every SystemTime after year 0 formats")
}

/// Validates an address and folds it to lower case. Accepts the dot-atom local parts real mail uses; refuses
/// quoted local parts, IP-literal domains and single-label domains (no support customer writes from those).
pub fn normalise_email(raw: &str) -> Result<String, NormaliseError> {
    let invalid = |reason: &str| NormaliseError::Invalid { field: "customer.email", reason: reason.to_owned() };
    let raw = raw.trim();
    if raw.chars().count() > EMAIL_MAX {
        return Err(NormaliseError::TooLong { field: "customer.email", limit: EMAIL_MAX });
    }
    let (local, domain) = raw.rsplit_once('@').ok_or_else(|| invalid("is not an email address (no @)"))?;
    if local.is_empty() || local.len() > LOCAL_PART_MAX {
        return Err(invalid("the part before @ must be 1 to 64 characters"));
    }
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c) || !c.is_ascii();
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") || !local.chars().all(|c| c == '.' || atext(c)) {
        return Err(invalid("the part before @ has characters an address cannot have"));
    }
    // Noncharacters and bidi controls too: a queue (SQS) refuses U+FFFE/U+FFFF outright, and an address is shown.
    if local.chars().any(|c| !c.is_ascii() && (c.is_control() || c.is_whitespace() || is_dropped(c))) {
        return Err(invalid("the part before @ has characters an address cannot have"));
    }
    let domain = match url::Host::parse(domain) {
        Ok(url::Host::Domain(d)) => d,
        _ => return Err(invalid("the domain is not a valid host name")),
    };
    let labels_ok = domain.split('.').all(|l| {
        !l.is_empty() && l.len() <= 63 && !l.starts_with('-') && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    });
    if !labels_ok || !domain.contains('.') || domain.ends_with('.') {
        return Err(invalid("the domain is not a valid host name"));
    }
    Ok(format!("{}@{}", local.to_lowercase(), domain.to_ascii_lowercase()))
}

/// An http(s) URL without credentials. One over `limit` loses its query and fragment first: a page address that
/// tracking parameters made long must not stop a customer's message; only a path longer than the limit is refused.
fn normalise_page_url(raw: &str, limit: usize) -> Result<String, NormaliseError> {
    let mut url = url::Url::parse(raw)
        .map_err(|e| NormaliseError::Invalid { field: "page_url", reason: format!("not a URL ({e})") })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(NormaliseError::Invalid { field: "page_url", reason: "must be an http or https URL".into() });
    }
    // A page URL is shown to agents: never carry a password typed into it along.
    let _ = url.set_password(None);
    let _ = url.set_username("");
    if url.as_str().chars().count() > limit {
        url.set_query(None);
        url.set_fragment(None);
    }
    if url.as_str().chars().count() > limit {
        return Err(NormaliseError::TooLong { field: "page_url", limit });
    }
    Ok(url.into())
}

/// The thread ids, and whether references were left out. References keep the root (the oldest: the thread's
/// first message, which the store looks up) and then the newest (the messages closest to this one), within
/// `limits.references` ids and `limits.references_bytes` of JSON; the middle ones go first. Nothing is lost
/// for good: the raw mail, every header whole, stays in the bucket.
fn normalise_thread(thread: ThreadIds, limits: &Limits) -> (ThreadIds, bool) {
    let one = |id: Option<String>| id.and_then(|id| thread_id(&id, limits.message_id));
    let mut given = thread.references.into_iter();
    let root = given.by_ref().find_map(|r| thread_id(&r, limits.message_id)).filter(|_| limits.references > 0);
    let rest: Vec<String> = given.collect();
    let mut budget = limits.references_bytes.saturating_sub(root.as_deref().map_or(0, |r| json_len(r) + 3));
    let room = limits.references.saturating_sub(usize::from(root.is_some()));
    let mut newest = Vec::new();
    let mut cut = false;
    for r in rest.iter().rev() {
        let Some(id) = thread_id(r, limits.message_id) else { continue };
        let cost = json_len(&id) + 3;
        if newest.len() == room || cost > budget {
            cut = true;
            break;
        }
        budget -= cost;
        newest.push(id);
    }
    newest.reverse();
    let references = root.into_iter().chain(newest).collect();
    (ThreadIds { message_id: one(thread.message_id), in_reply_to: one(thread.in_reply_to), references }, cut)
}

/// How many bytes `text` takes as a JSON string's contents (as serde_json writes it: `"` `\` and controls
/// escaped, everything else as UTF-8).
pub fn json_len(text: &str) -> usize {
    text.chars().map(json_char_len).sum()
}

fn json_char_len(c: char) -> usize {
    match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    }
}

/// `text` cut at a character boundary so that its JSON takes at most `max` bytes; true when it was cut.
pub fn cut_to_json_bytes(text: &mut String, max: usize) -> bool {
    let mut used = 0;
    for (i, c) in text.char_indices() {
        used += json_char_len(c);
        if used > max {
            text.truncate(i);
            return true;
        }
    }
    false
}

/// A thread identifier, cleaned as [`bounded_id`]; one longer than `limit` is dropped, not refused: it only
/// threads a reply, and a sender's oversized header must not cost the customer their ticket.
fn thread_id(raw: &str, limit: usize) -> Option<String> {
    bounded_id(raw, "thread", limit).ok().flatten()
}

/// An identifier: control characters and surrounding space removed, refused (not cut) when too long.
fn bounded_id(raw: &str, field: &'static str, limit: usize) -> Result<Option<String>, NormaliseError> {
    let cleaned: String = raw.chars().filter(|c| !is_dropped(*c) && !c.is_whitespace()).collect();
    if cleaned.chars().count() > limit {
        return Err(NormaliseError::TooLong { field, limit });
    }
    Ok(Some(cleaned).filter(|c| !c.is_empty()))
}

/// Characters no ticket field keeps: C0/C1 controls, noncharacters, bidi embedding and override controls.
fn is_dropped(c: char) -> bool {
    c.is_control()
        || matches!(c as u32, 0xFDD0..=0xFDEF)
        || (c as u32) & 0xFFFE == 0xFFFE
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// One line: whitespace runs (including line breaks) become one space; trimmed; cut at `limit` characters.
pub fn single_line(raw: &str, limit: usize) -> String {
    let mut out = String::with_capacity(raw.len().min(limit * 4));
    let mut count = 0;
    let mut pending_space = false;
    for c in raw.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if is_dropped(c) {
            continue;
        }
        let needed = 1 + usize::from(pending_space);
        if count + needed > limit {
            break;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.push(c);
        count += needed;
    }
    out
}

/// Many lines: CRLF and CR become LF, tabs kept, other controls dropped, trailing spaces on each line and blank
/// lines at either end removed. Returns the text and whether it was cut at `limit` characters.
pub fn multi_line(raw: &str, limit: usize) -> (String, bool) {
    let unified = raw.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = String::with_capacity(unified.len().min(limit * 4));
    for line in unified.split('\n') {
        let line: String = line.chars().filter(|c| *c == '\t' || !is_dropped(*c)).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    // Whitespace-only lines are empty by now, so this drops blank lines at either end and keeps paragraphs.
    let trimmed = out.trim();
    let count = trimmed.chars().count();
    if count <= limit {
        return (trimmed.to_owned(), false);
    }
    let cut: String = trimmed.chars().take(limit).collect();
    (cut.trim_end().to_owned(), true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn draft() -> TicketDraft {
        TicketDraft {
            source: Source::Form,
            customer_email: Some("  Ana.Lima+billing@Example.COM ".into()),
            customer_name: Some(" Ana \n Lima ".into()),
            subject: "  Can't\tlog in \u{202E}now ".into(),
            body: "\r\n\r\nHello,\r\nI can't log in.\u{0007}   \r\n\r\nThanks\r\n\r\n".into(),
            page_url: Some("https://user:pw@example.com/pricing?plan=pro".into()),
            thread: ThreadIds::default(),
            transcript_id: None,
            idempotency_key: "nonce-1\n".into(),
        }
    }

    fn at(ms: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_millis(ms)
    }

    #[test]
    fn cleans_every_field() {
        let t = draft().into_ticket(at(1_795_710_764_123), 7, &Limits::default()).unwrap();
        assert_eq!(t.customer.email.as_deref(), Some("ana.lima+billing@example.com"));
        assert_eq!(t.customer.name.as_deref(), Some("Ana Lima"));
        assert_eq!(t.subject, "Can't log in now");
        assert_eq!(t.body, "Hello,\nI can't log in.\n\nThanks");
        assert!(!t.body_truncated);
        assert_eq!(t.page_url.as_deref(), Some("https://example.com/pricing?plan=pro"));
        assert_eq!(t.idempotency_key, "nonce-1");
        assert_eq!(t.received_at, "2026-11-26T16:32:44.123Z");
        assert_eq!(t.id.len(), 26);
    }

    #[test]
    fn ids_sort_by_time() {
        let a = new_id(at(1_000), u128::MAX);
        let b = new_id(at(1_001), 0);
        assert!(a < b, "{a} should sort before {b}");
        assert_ne!(new_id(at(5), 1), new_id(at(5), 2));
    }

    #[test]
    fn body_is_cut_and_flagged_not_refused() {
        let mut d = draft();
        d.body = "é".repeat(50);
        let limits = Limits { body: 10, ..Limits::default() };
        let t = d.into_ticket(at(0), 0, &limits).unwrap();
        assert_eq!(t.body.chars().count(), 10);
        assert!(t.body_truncated);
    }

    #[test]
    fn long_key_is_refused_not_cut() {
        let mut d = draft();
        d.idempotency_key = "k".repeat(513);
        assert_eq!(
            d.into_ticket(at(0), 0, &Limits::default()),
            Err(NormaliseError::TooLong { field: "idempotency_key", limit: 512 })
        );
    }

    #[test]
    fn email_rules() {
        assert_eq!(normalise_email("Bob@Bücher.Example").unwrap(), "bob@xn--bcher-kva.example");
        for bad in ["", "bob", "@example.com", "bob@", "bob@localhost", "bob@[127.0.0.1]", "a..b@example.com",
            ".a@example.com", "a b@example.com", "bob@exa mple.com", "bob@-x.com"]
        {
            let err = normalise_email(bad).unwrap_err();
            assert_eq!(err.field(), "customer.email", "{bad:?}");
        }
        assert!(matches!(normalise_email(&format!("{}@example.com", "a".repeat(250))),
            Err(NormaliseError::TooLong { .. })));
    }

    #[test]
    fn missing_email_only_allowed_for_chat() {
        let mut d = draft();
        d.customer_email = None;
        assert_eq!(d.clone().into_ticket(at(0), 0, &Limits::default()).unwrap_err(),
            NormaliseError::Missing { field: "customer.email" });
        d.source = Source::Chat;
        assert_eq!(d.into_ticket(at(0), 0, &Limits::default()).unwrap().customer.email, None);
    }

    #[test]
    fn empty_body_and_bad_url_are_refused() {
        let mut d = draft();
        d.body = " \r\n\t\u{0000} ".into();
        assert_eq!(d.into_ticket(at(0), 0, &Limits::default()).unwrap_err().field(), "body");
        let mut d = draft();
        d.page_url = Some("javascript:alert(1)".into());
        assert_eq!(d.into_ticket(at(0), 0, &Limits::default()).unwrap_err().field(), "page_url");
    }

    #[test]
    fn empty_subject_gets_placeholder() {
        let mut d = draft();
        d.subject = "\u{0001}  ".into();
        assert_eq!(d.into_ticket(at(0), 0, &Limits::default()).unwrap().subject, NO_SUBJECT);
    }

    #[test]
    fn an_oversized_thread_id_is_dropped_and_the_ticket_kept() {
        let mut d = draft();
        let long = format!("{}@x", "a".repeat(1_200));
        d.thread.message_id = Some(long.clone());
        d.thread.in_reply_to = Some(long.clone());
        d.thread.references = vec!["m1@x".into(), long];
        let t = d.into_ticket(at(0), 0, &Limits::default()).unwrap();
        assert_eq!((t.thread.message_id, t.thread.in_reply_to), (None, None));
        assert_eq!(t.thread.references, ["m1@x"]);
    }

    #[test]
    fn a_page_url_long_with_tracking_loses_its_query_not_the_ticket() {
        let mut d = draft();
        d.page_url = Some(format!("https://shop.example.com/pricing?utm={}#plans", "x".repeat(3_000)));
        let t = d.into_ticket(at(0), 0, &Limits::default()).unwrap();
        assert_eq!(t.page_url.as_deref(), Some("https://shop.example.com/pricing"));
    }

    #[test]
    fn an_address_with_a_noncharacter_is_refused() {
        for bad in ["ana\u{FFFE}@example.com", "ana\u{FFFF}@example.com", "ana\u{202E}x@example.com"] {
            assert!(normalise_email(bad).is_err(), "{bad:?}");
        }
        assert_eq!(normalise_email("ánа@example.com").unwrap(), "ánа@example.com");
    }

    #[test]
    fn references_keep_the_root_and_the_newest_and_say_so() {
        let mut d = draft();
        d.thread.references = (0..60).map(|i| format!("m{i}@x")).collect();
        let t = d.clone().into_ticket(at(0), 0, &Limits::default()).unwrap();
        assert_eq!(t.thread.references.len(), 50);
        assert_eq!(t.thread.references.first().unwrap(), "m0@x", "the thread's root");
        assert_eq!(t.thread.references[1], "m11@x");
        assert_eq!(t.thread.references.last().unwrap(), "m59@x");
        assert!(t.flags.contains(&TicketFlag::ReferencesCut));
        // In bytes too: the longest ids, in four-byte characters.
        d.thread.references = (0..50).map(|i| format!("{i}{}@x", "𝒳".repeat(990))).collect();
        let t = d.into_ticket(at(0), 0, &Limits::default()).unwrap();
        let json = serde_json::to_string(&t.thread.references).unwrap();
        assert!(json.len() <= Limits::default().references_bytes, "{}", json.len());
        assert!(t.thread.references.first().unwrap().starts_with("0𝒳") && t.thread.references.last().unwrap().starts_with("49𝒳"));
        assert!(t.flags.contains(&TicketFlag::ReferencesCut));
        let few = TicketDraft { thread: ThreadIds { references: vec!["a@x".into(), "b@x".into()], ..Default::default() }, ..draft() };
        let t = few.into_ticket(at(0), 0, &Limits::default()).unwrap();
        assert_eq!((t.thread.references.len(), t.flags.contains(&TicketFlag::ReferencesCut)), (2, false));
    }

    #[test]
    fn json_lengths_and_cuts() {
        assert_eq!(json_len("a\"\n𝒳\u{1}"), 1 + 2 + 2 + 4 + 6);
        assert_eq!(json_len("a\"\n𝒳\u{1}") + 2, serde_json::to_string("a\"\n𝒳\u{1}").unwrap().len());
        let mut s = "ab𝒳c".to_owned();
        assert!(cut_to_json_bytes(&mut s, 5));
        assert_eq!(s, "ab");
        let mut s = "abc".to_owned();
        assert!(!cut_to_json_bytes(&mut s, 3));
    }
}
