//! What can still be read from a mail the full path cannot turn into a ticket (unparseable body, no text at all,
//! over the size cap): sender, subject, Message-ID, from the headers alone.
//!
//! Role: "rather than silence" — the lane makes a ticket flagged `unparseable` from this, so a customer whose mail
//! broke still gets answered. Key decision: only the header block is parsed (mail-parser's `parse_headers`), and
//! only its first [`HEADER_BYTES`] bytes, so this works on a truncated prefix of an oversized object too. No
//! usable sender → nothing to salvage: there is nobody to answer.

use mail_parser::MessageParser;

use super::parse::usable_address;

/// Headers beyond this are not looked at (a real header block is a few KB).
pub const HEADER_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Salvaged {
    pub address: String,
    pub name: Option<String>,
    pub subject: Option<String>,
    pub message_id: Option<String>,
}

/// The sender, subject and Message-ID of `raw` (or of its first [`HEADER_BYTES`]), when a sender is usable.
pub fn salvage(raw: &[u8]) -> Option<Salvaged> {
    let head = &raw[..raw.len().min(HEADER_BYTES)];
    let message = MessageParser::new().parse_headers(head)?;
    let mailbox = message
        .from()
        .and_then(|l| l.mailboxes().find(|m| m.address().is_some_and(|a| a.contains('@'))))
        .or_else(|| message.sender().and_then(|l| l.first()))?;
    Some(Salvaged {
        address: usable_address(mailbox.address()?)?,
        name: mailbox.name().map(str::to_owned),
        subject: message.subject().map(str::to_owned),
        message_id: message.message_id().map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_read_even_when_the_rest_is_cut_off() {
        let raw = b"From: =?utf-8?q?Jos=C3=A9?= <Jose@Example.com>\r\nSubject: Broken upload\r\nMessage-ID: <m1@x>\r\n\
                    Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/pl";
        let s = salvage(raw).unwrap();
        assert_eq!(s.address, "jose@example.com");
        assert_eq!(s.name.as_deref(), Some("José"));
        assert_eq!(s.subject.as_deref(), Some("Broken upload"));
        assert_eq!(s.message_id.as_deref(), Some("m1@x"));
    }

    #[test]
    fn no_sender_means_nothing_to_salvage() {
        assert_eq!(salvage(b"Subject: hi\r\n\r\nbody"), None);
        assert_eq!(salvage(b""), None);
    }
}
