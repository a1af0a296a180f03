//! The key layout, and the one identity rule the store matches customers by.
//!
//! Every key is built here, so the layout in the module note of [`crate::store`] is the whole truth:
//! - `tr/t/{ticket id}`: the ticket record.
//! - `tr/g/{ticket id}`: the ticket's reading (tags and the read stage's flags), written once by the read stage.
//! - `tr/gc/{ticket id}`: which delivery of the ticket is reading it, and since when (one model call per ticket).
//!   Not in the record: the record is rewritten by every append, and a reading written into it could be lost
//!   to a racing append (or lose that append) — Spin's key-value has no compare-and-swap.
//! - `tr/m/{lane}/{h(idempotency key)}`: one message (its bodies, its ticket, why it is there). It is the
//!   idempotency index and, for email, whose idempotency key is the Message-ID, the thread index too.
//! - `tr/c/{h(match address)}`: a customer's recent tickets with their text fingerprints.
//! - `tr/r/form/{h(client address)}`: the form lane's rate-limit window for one client address.
//!
//! `h` is the first 128 bits of SHA-256, in hex. Hashing keeps every key short and of one alphabet whatever the
//! input (idempotency keys run to 512 characters, Message-IDs to 998), and keeps addresses out of key listings.
//! 128 bits make an accidental collision less likely than a disk error.

use sha2::{Digest, Sha256};

use crate::ticket::Source;

pub fn ticket(id: &str) -> String {
    format!("tr/t/{id}")
}

/// The read stage's tags for a ticket.
pub fn reading(ticket_id: &str) -> String {
    format!("tr/g/{ticket_id}")
}

/// Which delivery of a ticket is reading it right now ([`super::Store::claim_reading`]).
pub fn reading_claim(ticket_id: &str) -> String {
    format!("tr/gc/{ticket_id}")
}

/// A message, keyed by the lane and the idempotency key the lane gave it. Scoped by lane, so a form nonce can
/// never collide with (or probe for) an email's Message-ID.
pub fn message(source: Source, idempotency_key: &str) -> String {
    format!("tr/m/{}/{}", source.as_str(), digest(idempotency_key))
}

/// The thread index entry for a Message-ID: the same key an email with that Message-ID as its idempotency key
/// is stored under, so the usual email costs one write for both indexes.
pub fn thread(message_id: &str) -> String {
    message(Source::Email, message_id)
}

pub fn customer(match_address: &str) -> String {
    format!("tr/c/{}", digest(match_address))
}

/// The form's rate-limit window for one client address (hashed: addresses stay out of key listings).
pub fn form_rate(client_ip: &str) -> String {
    format!("tr/r/form/{}", digest(client_ip))
}

/// Whether a string is a ticket id this store made (a ULID), before it goes into a key: a ticket reference comes
/// from outside (a subject tag, a reply address) and must not become an arbitrary key.
pub fn is_ticket_id(id: &str) -> bool {
    id.len() == 26 && id.bytes().all(|b| b.is_ascii_digit() || (b.is_ascii_uppercase() && !b"ILOU".contains(&b)))
}

fn digest(s: &str) -> String {
    hex::encode(&Sha256::digest(s.as_bytes())[..16])
}

/// The address a customer is matched by, from an address [`crate::normalise::normalise_email`] already cleaned
/// (lower case, punycode domain). The ticket keeps the address as sent; this is for matching only.
/// - Letter case: already folded by normalisation (no real provider treats the local part case-sensitively).
/// - Plus-addressing: `ana+billing@x` matches `ana@x`. Gmail, Outlook, Fastmail, Proton and iCloud all deliver
///   `+tag` to the same mailbox, and customers use tags to file or filter mail, not to be someone else.
/// - Gmail dots: `a.na@gmail.com` matches `ana@gmail.com`, and `googlemail.com` is `gmail.com`, as Google
///   documents. Dots elsewhere are left alone: other providers treat them as different mailboxes.
pub fn match_address(email: &str) -> String {
    let Some((local, domain)) = email.rsplit_once('@') else {
        return email.to_owned();
    };
    let local = match local.split_once('+') {
        Some((base, _)) if !base.is_empty() => base,
        _ => local,
    };
    if domain == "gmail.com" || domain == "googlemail.com" {
        return format!("{}@gmail.com", local.replace('.', ""));
    }
    format!("{local}@{domain}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn match_addresses() {
        assert_eq!(match_address("ana+billing@example.com"), "ana@example.com");
        assert_eq!(match_address("ana@example.com"), "ana@example.com");
        assert_eq!(match_address("a.na+x@googlemail.com"), "ana@gmail.com");
        assert_eq!(match_address("a.na@example.com"), "a.na@example.com");
        assert_eq!(match_address("+only@example.com"), "+only@example.com");
    }

    #[test]
    fn keys_are_short_and_scoped() {
        let long = "x".repeat(998);
        assert_eq!(message(Source::Email, &long).len(), "tr/m/email/".len() + 32);
        assert_ne!(message(Source::Form, "k"), message(Source::Email, "k"));
        assert_eq!(thread("id@x"), message(Source::Email, "id@x"));
        assert!(is_ticket_id("01KB0Y3J5V6N2Q8R9S0T1V2W3X"));
        assert!(!is_ticket_id("01KB0Y3J5V6N2Q8R9S0T1V2W3"));
        assert!(!is_ticket_id("../../etc/passwd/aaaaaaaaaaa"));
    }
}
