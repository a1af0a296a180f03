//! One email → one [`TicketDraft`], with the raw body kept beside the stripped one.
//!
//! Role: the email lane's whole core path: size cap, parse, loop guard, body choice, quote and signature
//! stripping, ids. Key decisions:
//! - The idempotency key is the Message-ID (the same mail delivered twice is one ticket); without one, or with one
//!   too long to be a key, it is `sha256:` + the hash of the raw bytes (the same S3 object twice is one ticket).
//! - Body: text/plain stripped by [`quote_strip`]; when the plain text shows no history but the HTML carries a
//!   structural quote marker, the HTML path decides (structure does not depend on the reply's language); when
//!   there is only HTML, the HTML path. Then the signature goes ([`signature`]). If nothing would be left, the
//!   unstripped text is the body: a ticket never loses the customer's words to a heuristic.
//! - An automatic message is refused here with its reason ([`EmailError::Suppressed`]); the component logs it
//!   and deletes the message.

use sha2::{Digest, Sha256};

use super::html_quote;
use super::parse::{Attachment, EmailError, ParsedEmail, parse};
use super::quote_strip;
use super::signature;
use crate::normalise::TicketDraft;
use crate::ticket::{Source, ThreadIds};

/// Default cap on a raw message: SES inbound accepts up to 40 MB.
pub const DEFAULT_MAX_BYTES: usize = 40 * 1024 * 1024;
/// A Message-ID longer than this is hashed rather than used as the key (the key limit is 512).
const MAX_KEY_FROM_ID: usize = 400;

/// Which body the ticket text came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodySource {
    Plain,
    Html,
    /// No text at all: the body lists the attachments.
    Attachments,
}

/// What the stripping did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StripReport {
    pub quote_cut: bool,
    pub signature_cut: bool,
    pub inline_reply_kept: bool,
    /// The cut part may hold the customer's answers: show the raw body to an agent.
    pub may_have_cut_reply: bool,
}

/// A ticket draft with what the email lane knows besides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailDraft {
    pub draft: TicketDraft,
    /// The body before stripping: the text part, or for HTML the whole HTML as text with quotes marked `> `.
    pub raw_body: String,
    pub body_source: BodySource,
    pub strip: StripReport,
    pub attachments: Vec<Attachment>,
    /// The Date header, RFC 3339.
    pub date: Option<String>,
    pub reply_to: Option<String>,
    /// To and Cc addresses (see [`ParsedEmail::participants`]).
    pub participants: Vec<String>,
}

/// Raw message bytes → a ticket draft or the reason there is none.
pub fn email_to_draft(raw: &[u8], max_bytes: usize) -> Result<EmailDraft, EmailError> {
    let parsed = parse(raw, max_bytes)?;
    if let super::loop_guard::LoopGuard::Suppress(reason) = &parsed.loop_guard {
        return Err(EmailError::Suppressed(reason.clone()));
    }
    draft_from_parsed(parsed, raw)
}

/// A mail's idempotency key: its Message-ID when it has a usable one, else a digest of the raw bytes (the same
/// bytes again are the same mail).
pub fn idempotency_key(message_id: Option<&str>, raw: &[u8]) -> String {
    match message_id.map(str::trim) {
        Some(id) if !id.is_empty() && id.chars().count() <= MAX_KEY_FROM_ID => id.to_owned(),
        _ => format!("sha256:{}", hex::encode(Sha256::digest(raw))),
    }
}

/// A parsed message (whatever its loop-guard verdict) → a ticket draft.
pub fn draft_from_parsed(parsed: ParsedEmail, raw: &[u8]) -> Result<EmailDraft, EmailError> {
    let (raw_body, body, source, mut strip) = choose_body(&parsed)?;
    let (body, sig) = signature::split_signature(&body);
    strip.signature_cut = sig.is_some();

    let idempotency_key = idempotency_key(parsed.message_id.as_deref(), raw);
    let draft = TicketDraft {
        source: Source::Email,
        customer_email: parsed.sender.address.clone(),
        customer_name: parsed.sender.name.clone(),
        subject: parsed.subject.clone().unwrap_or_default(),
        body,
        page_url: None,
        thread: ThreadIds {
            message_id: parsed.message_id.clone(),
            in_reply_to: parsed.in_reply_to.clone(),
            references: parsed.references.clone(),
        },
        transcript_id: None,
        idempotency_key,
    };
    Ok(EmailDraft {
        draft,
        raw_body,
        body_source: source,
        strip,
        attachments: parsed.attachments,
        date: parsed.date,
        reply_to: parsed.reply_to.and_then(|m| m.address),
        participants: parsed.participants,
    })
}

/// `(raw body, stripped body, where it came from, what stripping did)`.
fn choose_body(p: &ParsedEmail) -> Result<(String, String, BodySource, StripReport), EmailError> {
    let html_strip = |html: &str| {
        let h = html_quote::strip_html(html);
        let report = StripReport {
            quote_cut: h.cut,
            inline_reply_kept: h.inline_reply_kept,
            may_have_cut_reply: h.may_have_cut_reply,
            ..StripReport::default()
        };
        (h, report)
    };
    if let Some(text) = p.text.as_deref() {
        let s = quote_strip::strip_quotes(text);
        if !s.cut
            && let Some(html) = p.html.as_deref().filter(|h| html_quote::has_structure_marker(h))
            && let Some(h) = html_quote::strip_html_if_cut(html)
        {
            let report = StripReport {
                quote_cut: true,
                inline_reply_kept: h.inline_reply_kept,
                may_have_cut_reply: h.may_have_cut_reply,
                ..StripReport::default()
            };
            return Ok((text.to_owned(), h.text, BodySource::Html, report));
        }
        let report = StripReport {
            quote_cut: s.cut,
            inline_reply_kept: s.inline_reply_kept,
            may_have_cut_reply: s.may_have_cut_reply,
            ..StripReport::default()
        };
        let body = if s.text.is_empty() { text.trim().to_owned() } else { s.text };
        return Ok((text.to_owned(), body, BodySource::Plain, report));
    }
    if let Some(html) = p.html.as_deref() {
        let (h, report) = html_strip(html);
        if !h.text.is_empty() {
            return Ok((h.raw_text, h.text, BodySource::Html, report));
        }
    }
    if !p.attachments.is_empty() {
        let list: Vec<String> = p
            .attachments
            .iter()
            .map(|a| format!("[attachment: {} ({}, {} bytes)]", a.name.as_deref().unwrap_or("unnamed"), a.content_type, a.size))
            .collect();
        let body = list.join("\n");
        return Ok((body.clone(), body, BodySource::Attachments, StripReport::default()));
    }
    Err(EmailError::NoBody)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPLY: &str = "From: Ana Lima <Ana@Example.com>\r\nTo: support@example.org\r\nSubject: =?UTF-8?Q?Re:_Rechnung_f=C3=BCr_M=C3=A4rz?=\r\n\
        Message-ID: <m2@example.com>\r\nIn-Reply-To: <m1@example.org>\r\nReferences: <m0@example.org> <m1@example.org>\r\n\
        Date: Thu, 26 Nov 2026 10:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
        Die Rechnung fehlt noch.\r\n\r\nViele Grüße\r\nAna\r\n\r\nVon meinem iPhone gesendet\r\n\r\nAm 25.11.2026 um 09:00 schrieb Support <support@example.org>:\r\n> Wir haben Ihre Anfrage erhalten.\r\n";

    #[test]
    fn reply_becomes_a_clean_draft() {
        let d = email_to_draft(REPLY.as_bytes(), DEFAULT_MAX_BYTES).unwrap();
        assert_eq!(d.draft.customer_email.as_deref(), Some("ana@example.com"));
        assert_eq!(d.draft.subject, "Re: Rechnung für März");
        // The sign-off is the customer's and stays; the device footer is the client's and goes.
        assert_eq!(d.draft.body, "Die Rechnung fehlt noch.\n\nViele Grüße\nAna");
        assert_eq!(d.draft.idempotency_key, "m2@example.com");
        assert_eq!(d.draft.thread.in_reply_to.as_deref(), Some("m1@example.org"));
        assert_eq!(d.draft.thread.references, ["m0@example.org", "m1@example.org"]);
        assert!(d.strip.quote_cut && d.strip.signature_cut);
        assert!(d.raw_body.contains("schrieb Support"));
        assert_eq!(d.date.as_deref(), Some("2026-11-26T10:00:00+01:00"));
    }

    #[test]
    fn typed_rejections() {
        assert_eq!(email_to_draft(REPLY.as_bytes(), 10), Err(EmailError::TooLarge { size: REPLY.len(), limit: 10 }));
        assert_eq!(email_to_draft(b"  \r\n", 100), Err(EmailError::Empty));
        let ooo = REPLY.replace("Date:", "Auto-Submitted: auto-replied\r\nDate:");
        assert!(matches!(email_to_draft(ooo.as_bytes(), DEFAULT_MAX_BYTES), Err(EmailError::Suppressed(_))));
        let nobody = REPLY.replace("Ana Lima <Ana@Example.com>", "undisclosed");
        assert!(matches!(email_to_draft(nobody.as_bytes(), DEFAULT_MAX_BYTES), Err(EmailError::NoSender(_))));
    }

    #[test]
    fn no_message_id_keys_on_the_bytes() {
        let raw = REPLY.replace("Message-ID: <m2@example.com>\r\n", "");
        let d = email_to_draft(raw.as_bytes(), DEFAULT_MAX_BYTES).unwrap();
        assert!(d.draft.idempotency_key.starts_with("sha256:") && d.draft.idempotency_key.len() == 71);
    }

    #[test]
    fn outlook_separator_encoded_quoted_printable() {
        // Outlook's header block, in Japanese, behind a border-top rule; the HTML is quoted-printable with the
        // style attribute broken across a soft line break. mail-parser decodes it; the rule is found.
        let raw = "From: Ken <ken@example.jp>\r\nSubject: Re: order\r\nMessage-ID: <q1@example.jp>\r\n\
            MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n\
            <html><body><div>=E3=81=82=E3=82=8A=E3=81=8C=E3=81=A8=E3=81=86=E3=80=82 The invoice is wrong.</div>\r\n\
            <div style=3D\"border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm =\r\n\
            0cm 0cm\"><p><b>=E5=B7=AE=E5=87=BA=E4=BA=BA:</b> Support &lt;s@example.org&gt;</p></div>\r\n\
            <p>Old message text</p></body></html>\r\n";
        let d = email_to_draft(raw.as_bytes(), DEFAULT_MAX_BYTES).unwrap();
        assert_eq!(d.body_source, BodySource::Html);
        assert_eq!(d.draft.body, "ありがとう。 The invoice is wrong.");
        assert!(d.raw_body.contains("Old message text"));
    }

    #[test]
    fn no_reply_form_robot_gives_way_to_reply_to() {
        let raw = "From: WordPress <noreply@shop.example>\r\nReply-To: Bo <bo@example.com>\r\nSubject: Contact form\r\n\r\nHello\r\n";
        let d = email_to_draft(raw.as_bytes(), DEFAULT_MAX_BYTES).unwrap();
        assert_eq!(d.draft.customer_email.as_deref(), Some("bo@example.com"));
    }
}
