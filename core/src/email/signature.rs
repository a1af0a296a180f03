//! Finding the signature at the end of a reply: separator lines, "Sent from my …" lines, short sign-offs.
//!
//! Role: split a reply (already free of quoted history) into what was said and how it was signed. Key decisions:
//! - Only the tail is searched (the last [`MAX_SIGNATURE_LINES`] non-blank lines): a signature is short, and a
//!   rule that can fire anywhere would eat content.
//! - A reply that would be left empty is not split: "--\nRoman" alone is the message.
//! - Three shapes, no trained model: a dash separator line ("-- ", "--", "---", underscores), a device line
//!   ("Sent from my iPhone", "Von meinem iPhone gesendet", "Enviado desde mi …"), and a sign-off phrase in one of
//!   the listed languages followed only by a few short lines (a name, a title). When the sender's display name
//!   is known, a line that is the name (or starts with it) followed by short lines also opens the signature.

/// The longest signature looked for, in non-blank lines.
pub const MAX_SIGNATURE_LINES: usize = 11;
/// A line of a sign-off block (name, title, phone) is at most this long.
const SHORT_LINE: usize = 60;

/// Sign-off phrases, lower case, compared after trimming punctuation.
const SIGN_OFFS: &[&str] = &[
    "thanks", "thank you", "thanks a lot", "many thanks", "thanks in advance", "thank you in advance", "thx", "ty",
    "regards", "best regards", "kind regards", "warm regards", "best", "all the best", "cheers", "sincerely",
    "yours sincerely", "yours truly", "br", "rgds", "best wishes", "mit freundlichen grüßen", "mit freundlichen grüssen",
    "freundliche grüße", "viele grüße", "beste grüße", "liebe grüße", "gruß", "grüße", "danke", "vielen dank",
    "cordialement", "bien cordialement", "merci", "bien à vous", "salutations", "saludos", "un saludo",
    "atentamente", "gracias", "muchas gracias", "cordiali saluti", "saluti", "distinti saluti", "grazie",
    "met vriendelijke groet", "vriendelijke groet", "groeten", "bedankt", "pozdrawiam", "dziękuję",
    "med vänlig hälsning", "vänliga hälsningar", "hälsningar", "tack", "med venlig hilsen", "venlig hilsen",
    "hilsen", "mvh", "takk", "tak", "atenciosamente", "obrigado", "obrigada", "с уважением", "спасибо",
    "ystävällisin terveisin", "kiitos", "saygılarımla", "teşekkürler",
];

/// Starts of "sent from a device" lines.
const DEVICE_LINES: &[&str] = &[
    "sent from my", "sent from ", "sent with ", "sent wirelessly from", "sent via ", "get outlook for",
    "envoyé de mon", "envoyé depuis", "envoyé sans fil", "von meinem", "gesendet von", "enviado desde mi",
    "enviado desde", "enviado do meu", "enviado de meu", "inviato da", "verzonden vanaf", "verstuurd vanaf",
    "wysłane z", "skickat från", "sendt fra", "отправлено с", "lähetetty", "iphone'umdan gönderildi",
];

/// Splits `text` into `(body, signature)`; the signature is `None` when none was found.
pub fn split_signature(text: &str) -> (String, Option<String>) {
    split_signature_for(text, None)
}

/// As [`split_signature`], also opening a signature at a line naming the sender (`sender` is a display name).
pub fn split_signature_for(text: &str, sender: Option<&str>) -> (String, Option<String>) {
    let lines: Vec<&str> = text.trim_end().split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    let nonblank: Vec<usize> = (0..lines.len()).filter(|&i| !lines[i].trim().is_empty()).collect();
    let window = &nonblank[nonblank.len().saturating_sub(MAX_SIGNATURE_LINES)..];
    let sender = sender.map(|s| s.trim().to_lowercase()).filter(|s| s.chars().count() >= 3);

    // The earliest line in the window that opens a signature wins: everything below it is signature.
    let start = window.iter().position(|&i| {
        let after = &lines[i + 1..];
        is_separator(lines[i])
            || is_device_line(lines[i])
            || (is_sign_off(lines[i]) && short_tail(after, 4))
            || (is_dash_name(lines[i]) && short_tail(after, 3) && !lines[..i].iter().rev().find(|l| !l.trim().is_empty()).is_some_and(|p| p.trim_start().starts_with('-')))
            || sender.as_deref().is_some_and(|s| names_sender(lines[i], s) && short_tail(after, 6))
    });
    let Some(start) = start.map(|p| window[p]) else {
        return (text.trim_end().to_owned(), None);
    };
    let body = lines[..start].join("\n").trim_end().to_owned();
    if body.trim().is_empty() {
        return (text.trim_end().to_owned(), None);
    }
    (body, Some(lines[start..].join("\n")))
}

/// Removes the signature, if any.
pub fn strip_signature(text: &str) -> String {
    split_signature(text).0
}

fn is_separator(line: &str) -> bool {
    let t = line.trim_end();
    // "-- " is the RFC 3676 separator; clients also write "--", "---", "____".
    (t.len() >= 2 && t.chars().all(|c| c == '-')) || (t.len() >= 4 && t.chars().all(|c| c == '_'))
}

fn is_device_line(line: &str) -> bool {
    let l = line.trim().to_lowercase();
    DEVICE_LINES.iter().any(|p| l.starts_with(p)) && l.chars().count() <= 120
}

fn is_sign_off(line: &str) -> bool {
    let l = line.trim().trim_end_matches([',', '!', '.', ':', ';', '-']).trim().to_lowercase();
    SIGN_OFFS.contains(&l.as_str())
}

/// "-Roman", "- Lev.": a dash and a name.
fn is_dash_name(line: &str) -> bool {
    let t = line.trim();
    let Some(rest) = t.strip_prefix('-') else { return false };
    let rest = rest.trim_start();
    !rest.is_empty()
        && rest.split_whitespace().count() <= 3
        && rest.chars().next().is_some_and(char::is_alphabetic)
        && rest.chars().all(|c| c.is_alphabetic() || c == ' ' || c == '.')
}

/// At most `max` non-blank lines follow, each short and none a question or a sentence of many words: a name, a
/// title, a phone number, not more of the message.
fn short_tail(after: &[&str], max: usize) -> bool {
    let rest: Vec<&&str> = after.iter().filter(|l| !l.trim().is_empty()).collect();
    rest.len() <= max
        && rest.iter().all(|l| {
            let t = l.trim();
            t.chars().count() <= SHORT_LINE && !t.ends_with('?') && t.split_whitespace().count() <= 8
        })
}

/// The line is the sender's display name, alone or followed by a title ("Ana Lima, Acme", "Ana Lima | CTO").
fn names_sender(line: &str, sender: &str) -> bool {
    let l = line.trim().to_lowercase();
    match l.strip_prefix(sender) {
        Some(rest) => rest.is_empty() || rest.starts_with([',', '|', '(']) || rest.starts_with(" -") || rest.starts_with(" |"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(split_signature("Wow. Awesome!\n--\nBob Smith"), ("Wow. Awesome!".into(), Some("--\nBob Smith".into())));
        assert_eq!(split_signature("Hey!\n\nSent from my iPhone!").1.as_deref(), Some("Sent from my iPhone!"));
        assert_eq!(split_signature("Hey!\n\nThanks!\nRoman").1.as_deref(), Some("Thanks!\nRoman"));
        assert_eq!(split_signature("Danke für die Hilfe.\n\nMit freundlichen Grüßen\nAnna Schmidt").0, "Danke für die Hilfe.");
        let text = "Hi,\nAna from Acme here. Our invoice is wrong.\nThanks";
        assert_eq!(split_signature_for(text, Some("Ana")).0, "Hi,\nAna from Acme here. Our invoice is wrong.");
    }

    #[test]
    fn never_left_empty_and_lists_survive() {
        assert_eq!(split_signature("--\nRoman"), ("--\nRoman".into(), None));
        let list = "Look at this:\n\n--> one\n--> two\n--\nRoman";
        assert_eq!(split_signature(list).0, "Look at this:\n\n--> one\n--> two");
    }
}
