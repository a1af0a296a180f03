//! A transcript becomes one ticket draft: the turns in order as one readable body, bot boilerplate trimmed.
//!
//! Key decisions:
//! - One line per turn, `Visitor (10:02): …`, `Agent Maria (10:03): …`, `Bot (10:02): …`, times in UTC. The
//!   store's duplicate rule reads these labels and leaves staff and bot lines out of the evidence
//!   ([`crate::store::similar`]); continuation lines of a multi-line turn are indented by two spaces.
//! - Bot trimming is conservative: a bot turn is dropped only when its whole text (case, punctuation and spacing
//!   ignored) is a known greeting or sign-off ([`BOT_BOILERPLATE`]), or when it is a canned menu (a prompt line
//!   followed only by short numbered or bulleted options); a bot turn repeating the one before it is dropped.
//!   Anything else a bot said stays: it may be what the visitor answered.
//! - The subject is the transcript's own, else the visitor's first substantive message (greetings like "hi" and
//!   bare punctuation skipped), first line, cut at a word boundary near [`SUBJECT_CHARS`].
//! - Idempotency key `chat:` + conversation id, so a re-sent transcript is the same ticket; the visitor's email,
//!   when given, is the customer; without one the ticket is anonymous (the lane flags it).
//! - A resolved chat makes no ticket unless [`ResolvedPolicy::CreateTicket`] is configured; a transcript without
//!   a word from the visitor is an error ([`FoldError::NoVisitorText`]): there is nothing to ask about.

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::transcript::{Message, Role, Transcript};
use crate::normalise::TicketDraft;
use crate::ticket::{Source, ThreadIds};

/// Roughly how long a subject taken from the visitor's words may be, in characters.
pub const SUBJECT_CHARS: usize = 80;

/// Bot turns dropped when their whole normalised text is one of these (lower case, letters, digits and single
/// spaces). Kept short on purpose: every entry is something no visitor needs to see to understand the chat.
pub const BOT_BOILERPLATE: &[&str] = &[
    "hi how can i help you today",
    "hi how can i help you",
    "hi how can we help you today",
    "hi how can we help",
    "hi there how can i help you today",
    "hi there how can we help",
    "hello how can i help you today",
    "hello how can i help you",
    "hello how can we help you today",
    "hello how can we help",
    "how can i help you today",
    "how can we help you today",
    "how can we help",
    "welcome how can we help",
    "thanks for contacting us",
    "thank you for contacting us",
    "thanks for reaching out",
    "thank you for reaching out",
    "thanks for your message",
    "thank you for your message",
    "an agent will be with you shortly",
    "someone will be with you shortly",
    "please wait while we connect you to an agent",
    "connecting you to an agent",
    "is there anything else i can help you with",
    "is there anything else we can help you with",
];

/// Visitor openings that say nothing about the problem: skipped when choosing the subject.
const NOT_SUBSTANTIVE: &[&str] = &[
    "hi", "hello", "hey", "hi there", "hello there", "hey there", "yo", "hiya", "good morning", "good afternoon",
    "good evening", "help", "help me", "i need help", "can you help", "can you help me", "anyone there",
    "is anyone there", "are you there", "hallo", "bonjour", "hola", "ola", "ciao", "hej", "ok", "okay", "yes", "no",
    "thanks", "thank you",
];

/// What to do with a chat the tool marked resolved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ResolvedPolicy {
    /// Answer that it was received and make nothing (the default: the question was answered).
    #[default]
    Acknowledge,
    /// Make a ticket anyway (for teams that review every chat).
    CreateTicket,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FoldConfig {
    pub resolved: ResolvedPolicy,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Folded {
    Draft(Box<TicketDraft>),
    /// A resolved chat under [`ResolvedPolicy::Acknowledge`]: acknowledge, create nothing.
    Resolved,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FoldError {
    #[error("the transcript has no text from the visitor")]
    NoVisitorText,
}

pub fn fold(transcript: &Transcript, config: &FoldConfig) -> Result<Folded, FoldError> {
    if transcript.resolved && config.resolved == ResolvedPolicy::Acknowledge {
        return Ok(Folded::Resolved);
    }
    let visitor_said = |m: &&Message| m.role == Role::Visitor && !m.text.trim().is_empty();
    let first_visitor = transcript.messages.iter().find(visitor_said).ok_or(FoldError::NoVisitorText)?;

    let subject = match transcript.subject.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => s.to_owned(),
        None => {
            let substantive = transcript.messages.iter().filter(visitor_said).find(|m| is_substantive(&m.text));
            subject_from(&substantive.unwrap_or(first_visitor).text)
        }
    };

    let body = body(&transcript.messages);
    let idempotency_key = idempotency_key(&transcript.conversation_id, &body);
    Ok(Folded::Draft(Box::new(TicketDraft {
        source: Source::Chat,
        customer_email: transcript.visitor.email.clone().filter(|e| !e.trim().is_empty()),
        customer_name: transcript.visitor.name.clone(),
        subject,
        body,
        page_url: transcript.page_url.clone(),
        thread: ThreadIds::default(),
        transcript_id: Some(transcript.conversation_id.clone()),
        idempotency_key,
    })))
}

/// The key a conversation is stored under: the conversation and a digest of its turns. The same transcript sent
/// again (retry, replay, a tool sending twice) is the same ticket; a longer one (a reopened conversation, a
/// tool that sends the transcript as it grows) is a new intake — merged into the visitor's ticket by the store's
/// duplicate rule, or a ticket of its own for an anonymous visitor — never a "repeat" that drops the new turns.
pub fn idempotency_key(conversation_id: &str, body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    format!("chat:{conversation_id}:{}", hex::encode(&digest[..8]))
}

/// The turns in order, one labelled line each (continuations indented), boilerplate trimmed.
pub fn body(messages: &[Message]) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut last_bot: Option<String> = None;
    for m in messages {
        let text = m.text.trim();
        if text.is_empty() {
            continue;
        }
        if m.role == Role::Bot {
            let normalised = normalise(text);
            if last_bot.as_deref() == Some(normalised.as_str())
                || BOT_BOILERPLATE.contains(&normalised.as_str())
                || is_canned_menu(text)
            {
                last_bot = Some(normalised);
                continue;
            }
            last_bot = Some(normalised);
        } else {
            last_bot = None;
        }
        let mut turn = format!("{} ({}): ", label(m), clock(m.time));
        for (i, line) in text.lines().map(str::trim_end).enumerate() {
            if i > 0 {
                turn.push_str("\n  ");
            }
            turn.push_str(line);
        }
        lines.push(turn);
    }
    lines.join("\n")
}

fn label(m: &Message) -> String {
    let name = m.name.as_deref().map(str::trim).filter(|n| !n.is_empty());
    match (m.role, name) {
        // The visitor is the ticket's customer: their name is on the ticket, and a fixed label keeps the body
        // readable whatever the chat tool calls them ("V1561719148780935").
        (Role::Visitor, _) => "Visitor".to_owned(),
        (Role::Agent, Some(name)) => format!("Agent {name}"),
        (Role::Agent, None) => "Agent".to_owned(),
        (Role::Bot, _) => "Bot".to_owned(),
    }
}

fn clock(at: OffsetDateTime) -> String {
    // A time at the edge of the calendar (9999-12-31T23:59-01:00) has no UTC form; `to_offset` would panic.
    let utc = at.checked_to_offset(time::UtcOffset::UTC).unwrap_or(at);
    format!("{:02}:{:02}", utc.hour(), utc.minute())
}

/// Lower case, letters and digits only, single spaces: "Hi! How can I help you today?" → "hi how can i help you today".
fn normalise(text: &str) -> String {
    let mapped: String =
        text.chars().map(|c| if c.is_alphanumeric() { c.to_lowercase().next().unwrap_or(c) } else { ' ' }).collect();
    mapped.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn is_substantive(text: &str) -> bool {
    let n = normalise(text);
    n.chars().filter(|c| c.is_alphabetic()).count() >= 2 && !NOT_SUBSTANTIVE.contains(&n.as_str())
}

/// A prompt line followed only by two or more short options: `1. Billing`, `2) Login`, `- Other`, `• Sales`.
fn is_canned_menu(text: &str) -> bool {
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if lines.len() < 3 {
        return false;
    }
    lines[1..].iter().all(|l| {
        let rest = l.trim_start_matches(|c: char| c.is_ascii_digit());
        let numbered = rest.len() < l.len() && (rest.starts_with('.') || rest.starts_with(')'));
        let bulleted = l.starts_with(['-', '*', '•']);
        (numbered || bulleted) && l.chars().count() <= 40
    })
}

/// The first line, cut at the last word boundary before [`SUBJECT_CHARS`] with "…" when cut.
fn subject_from(text: &str) -> String {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    if line.chars().count() <= SUBJECT_CHARS {
        return line.to_owned();
    }
    let head: String = line.chars().take(SUBJECT_CHARS).collect();
    let cut = match head.rfind(char::is_whitespace) {
        Some(i) if i >= SUBJECT_CHARS / 2 => &head[..i],
        _ => head.as_str(),
    };
    format!("{}…", cut.trim_end_matches(|c: char| c.is_whitespace() || c == ',' || c == ';'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::transcript::Visitor;
    use time::macros::datetime;

    fn msg(role: Role, name: Option<&str>, text: &str, minute: u8) -> Message {
        Message {
            role,
            name: name.map(Into::into),
            text: text.into(),
            time: datetime!(2026-11-26 10:00 UTC) + time::Duration::minutes(minute.into()),
        }
    }

    fn transcript(messages: Vec<Message>) -> Transcript {
        Transcript {
            conversation_id: "conv-42".into(),
            subject: None,
            visitor: Visitor { name: Some("Ana Lima".into()), email: Some("ana@example.com".into()) },
            page_url: Some("https://example.com/billing".into()),
            started_at: datetime!(2026-11-26 10:00 UTC),
            ended_at: datetime!(2026-11-26 10:10 UTC),
            resolved: false,
            messages,
        }
    }

    fn draft(t: &Transcript) -> TicketDraft {
        match fold(t, &FoldConfig::default()).unwrap() {
            Folded::Draft(d) => *d,
            Folded::Resolved => panic!("not resolved"),
        }
    }

    #[test]
    fn a_time_with_no_utc_form_does_not_panic() {
        let mut edge = msg(Role::Visitor, None, "The export is empty.", 0);
        edge.time = datetime!(9999-12-31 23:59:59 -01:00);
        let d = draft(&transcript(vec![edge]));
        assert!(d.body.contains("The export is empty."), "{}", d.body);
    }

    #[test]
    fn folds_turns_in_order_with_labels_and_utc_times() {
        let mut late = msg(Role::Agent, Some("Maria"), "Which invoice?\nThe number is on the PDF.", 3);
        late.time = late.time.to_offset(time::macros::offset!(+2));
        let t = transcript(vec![
            msg(Role::Bot, None, "Hi! How can I help you today?", 1),
            msg(Role::Visitor, Some("V123"), "hi", 2),
            msg(Role::Visitor, None, "I was charged twice for my invoice", 2),
            late,
            msg(Role::Bot, Some("Ava"), "Please rate this chat", 9),
        ]);
        let d = draft(&t);
        assert_eq!(
            d.body,
            "Visitor (10:02): hi\n\
             Visitor (10:02): I was charged twice for my invoice\n\
             Agent Maria (10:03): Which invoice?\n  The number is on the PDF.\n\
             Bot (10:09): Please rate this chat"
        );
        assert_eq!(d.subject, "I was charged twice for my invoice");
        assert!(d.idempotency_key.starts_with("chat:conv-42:"), "{}", d.idempotency_key);
        assert_eq!(d.transcript_id.as_deref(), Some("conv-42"));
        assert_eq!(d.customer_email.as_deref(), Some("ana@example.com"));
        assert_eq!(d.customer_name.as_deref(), Some("Ana Lima"));
        assert_eq!(d.page_url.as_deref(), Some("https://example.com/billing"));
        assert_eq!(d.source, Source::Chat);
    }

    #[test]
    fn bot_trimming_is_conservative() {
        let menu = "What is it about?\n1. Billing\n2. Login problems\n3. Something else";
        let t = transcript(vec![
            msg(Role::Bot, None, "Thanks for contacting us!", 0),
            msg(Role::Bot, None, menu, 0),
            msg(Role::Visitor, None, "2", 1),
            msg(Role::Bot, None, "Did you try resetting your password?", 1),
            msg(Role::Bot, None, "Did you try resetting your  password?", 1),
            msg(Role::Visitor, None, "yes, it did not help", 2),
            msg(Role::Bot, None, "Did you try resetting your password?", 2),
            msg(Role::Bot, None, "Hi! How can I help you today? Our pricing changed.", 3),
        ]);
        assert_eq!(
            draft(&t).body,
            "Visitor (10:01): 2\n\
             Bot (10:01): Did you try resetting your password?\n\
             Visitor (10:02): yes, it did not help\n\
             Bot (10:02): Did you try resetting your password?\n\
             Bot (10:03): Hi! How can I help you today? Our pricing changed."
        );
        assert!(!is_canned_menu("Choose:\n1. Billing"), "one option is not a menu");
        assert!(!is_canned_menu("Steps:\n1. Open settings and then find the page called Security\n2. Reset"));
        assert!(is_canned_menu("Pick one\n- Sales\n• Support\n* Other"));
    }

    #[test]
    fn subject_prefers_the_transcripts_then_the_first_substantive_line() {
        let mut t = transcript(vec![
            msg(Role::Visitor, None, "Hello!", 0),
            msg(Role::Visitor, None, "??", 0),
            msg(Role::Visitor, None, &format!("{} and more words after that", "export fails ".repeat(8)), 1),
        ]);
        let s = draft(&t).subject;
        assert!(s.ends_with('…') && s.chars().count() <= SUBJECT_CHARS + 1, "{s}");
        assert!(s.starts_with("export fails export fails"), "{s}");
        assert!(!s.contains("  ") && !s.ends_with(" …"), "{s}");
        t.subject = Some("  Refund request ".into());
        assert_eq!(draft(&t).subject, "Refund request");
        let only_greeting = transcript(vec![msg(Role::Visitor, None, "hi", 0)]);
        assert_eq!(draft(&only_greeting).subject, "hi");
    }

    #[test]
    fn anonymous_visitor_has_no_customer_email() {
        let mut t = transcript(vec![msg(Role::Visitor, None, "where is my parcel", 0)]);
        t.visitor = Visitor { name: None, email: Some("  ".into()) };
        assert_eq!(draft(&t).customer_email, None);
    }

    #[test]
    fn resolved_chats_are_acknowledged_unless_configured() {
        let mut t = transcript(vec![msg(Role::Visitor, None, "where is my parcel", 0)]);
        t.resolved = true;
        assert_eq!(fold(&t, &FoldConfig::default()), Ok(Folded::Resolved));
        let keep = FoldConfig { resolved: ResolvedPolicy::CreateTicket };
        assert!(matches!(fold(&t, &keep), Ok(Folded::Draft(_))));
    }

    #[test]
    fn no_visitor_text_is_an_error() {
        let t = transcript(vec![msg(Role::Bot, None, "Hello?", 0), msg(Role::Visitor, None, "  \n ", 1)]);
        assert_eq!(fold(&t, &FoldConfig::default()), Err(FoldError::NoVisitorText));
        assert_eq!(fold(&transcript(vec![]), &FoldConfig::default()), Err(FoldError::NoVisitorText));
    }
}
