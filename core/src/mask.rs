//! Masking at intake: card numbers, IBANs and secrets leave a ticket's text before anything is stored or queued.
//!
//! Role: [`mask`] rewrites one text and counts what it masked by kind. It runs inside
//! [`crate::TicketDraft::into_ticket`] on the subject and body of every lane (email, form, chat), before the text
//! is cleaned and cut — so a cut can never leave half a card number behind — and in
//! [`crate::store::Intake::with_raw_body`] on the email lane's unstripped body. The ticket records the counts
//! ([`crate::ticket::MaskCount`], flag `masked`), never a value.
//!
//! What is masked, and into what:
//! - **Card numbers** → `[card ending 1234]`: 13–19 digits, written whole or in groups of 2–6 digits separated by
//!   spaces or dashes, Luhn-valid, and in a card network's prefix and length (Visa, Mastercard incl. 2-series,
//!   Amex, Discover, JCB, Diners, UnionPay, Maestro). A card written before more digit groups (an expiry, a CVV)
//!   is found as the longest valid leading run of groups.
//! - **IBANs** → `[iban ending 5678]`: a country code from the IBAN registry, two check digits and the country's
//!   exact length, with or without single spaces, passing the ISO 13616 mod-97 check.
//! - **Secrets** → `[secret removed]`: AWS access key ids (`AKIA`/`ASIA` + 16), PEM private-key blocks (to the
//!   end of the text when the END line is missing), GitHub (`ghp_ gho_ ghu_ ghs_ ghr_ github_pat_`), Slack
//!   (`xoxa- xoxb- xoxp- xoxr- xoxs-`), Stripe live keys (`sk_live_ rk_live_`), OpenAI and Anthropic (`sk-…`,
//!   `sk-ant-…`), Google API keys (`AIza…`), JWTs (`eyJ….eyJ….…`), `Bearer <token>`, and the value after a
//!   password label (`password`, `passwort`, `kennwort`, `wachtwoord`, `senha`, `mot de passe`, `contraseña`,
//!   `aws_secret_access_key`, followed by `:` or `=`; also at the end of a name, `db_password=`). The label
//!   stays; only the value goes.
//!
//! False-positive policy — a customer's words are worth keeping, so every rule asks for the published shape and
//! its check, and everything else survives:
//! - A digit run glued to a letter, `_`, `+`, `/`, a decimal point, or a word and a dash is never a card (order
//!   ids like `ORD4111…` or `ORD-4111…`, UPS `1Z…`, phone numbers `+1 415 555 0100`, amounts, a UUID's last
//!   group). Chinese, Japanese and Korean text glues nothing: it has no spaces between words. A number that
//!   starts with a digit no card network issues (0, 1, 7, 8, 9: USPS tracking, ISBNs, most order numbers) or has
//!   the wrong length for its network is not a card. A run of digits longer than 19 without separators is an id, not a card. Dates, timestamps and
//!   version strings fail on length or separators (`.`, `/`, `:` end a run).
//! - What remains is a 1-in-10 chance: a 16-digit number with a card prefix passes Luhn one time in ten. Such a
//!   number is masked, and its last four digits stay visible, which is what an agent needs to find the order.
//! - An IBAN-shaped string whose check fails is a mistyped IBAN: left as written, and no digit group inside it
//!   is taken for a card.
//! - A token rule needs its prefix at a word start and a minimum length of its alphabet, so prose (`task-based`,
//!   `the bearer of`) survives. A password label masks only the first word after it (`password: reset link is
//!   broken` loses the word `reset`): a lost word is cheap; a leaked password is not.
//!
//! What stays unmasked, by design: the raw mail in S3 (the email lane reads it; how long it is kept is the
//! deployer's retention policy, set on the bucket), the chat vendor's own copy of a transcript, the customer's
//! name and address, attachment names, and ids the lanes need as sent (Message-IDs, page URLs — whose
//! credentials [`crate::normalise`] drops anyway). Values in none of the shapes above (a national id, a password
//! written without a label) are not found.
//!
//! Time is linear in the text: one pass, dispatched on the first byte; a word that starts no rule and a digit
//! run that is no card are skipped whole; runs of a token alphabet are measured once (`Runs`); the PEM header
//! is looked for within one line, and its END once, after which the block is skipped.

use crate::ticket::{MaskCount, MaskKind};

/// What one call to [`mask`] found, by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MaskCounts {
    pub card: u32,
    pub iban: u32,
    pub secret: u32,
}

impl MaskCounts {
    pub fn is_empty(&self) -> bool {
        self.card == 0 && self.iban == 0 && self.secret == 0
    }

    /// Per kind, the larger: the raw email body holds the stripped one, so adding would count its spans twice.
    pub fn max(self, other: MaskCounts) -> MaskCounts {
        MaskCounts {
            card: self.card.max(other.card),
            iban: self.iban.max(other.iban),
            secret: self.secret.max(other.secret),
        }
    }

    fn bump(&mut self, kind: MaskKind) {
        match kind {
            MaskKind::Card => self.card += 1,
            MaskKind::Iban => self.iban += 1,
            MaskKind::Secret => self.secret += 1,
        }
    }

    /// The ticket's `masked` field: only kinds that were found, in a fixed order.
    pub fn to_list(self) -> Vec<MaskCount> {
        [(MaskKind::Card, self.card), (MaskKind::Iban, self.iban), (MaskKind::Secret, self.secret)]
            .into_iter()
            .filter(|(_, count)| *count > 0)
            .map(|(kind, count)| MaskCount { kind, count })
            .collect()
    }

    pub fn from_list(list: &[MaskCount]) -> MaskCounts {
        let mut counts = MaskCounts::default();
        for item in list {
            match item.kind {
                MaskKind::Card => counts.card += item.count,
                MaskKind::Iban => counts.iban += item.count,
                MaskKind::Secret => counts.secret += item.count,
            }
        }
        counts
    }
}

impl std::ops::Add for MaskCounts {
    type Output = MaskCounts;

    fn add(self, other: MaskCounts) -> MaskCounts {
        MaskCounts { card: self.card + other.card, iban: self.iban + other.iban, secret: self.secret + other.secret }
    }
}

/// A masked text and what was masked in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Masked {
    pub text: String,
    pub counts: MaskCounts,
}

pub const SECRET_REMOVED: &str = "[secret removed]";

/// One span to replace: from where it was found to `end`, in bytes.
struct Hit {
    end: usize,
    kind: MaskKind,
    replacement: String,
    /// Bytes at the start of the span that stay (a password label, `Bearer `).
    keep: usize,
}

/// Masks every card number, IBAN and secret in `text`.
pub fn mask(text: &str) -> Masked {
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut counts = MaskCounts::default();
    let mut copied = 0;
    let mut runs = Runs::default();
    let mut i = 0;
    while i < bytes.len() {
        let found = match bytes[i] {
            b'0'..=b'9' => match card(text, i) {
                Ok(hit) => Some(hit),
                // The run is not a card, nor is any part of it: skip it whole (keeps the scan linear).
                Err(run_end) => {
                    i = run_end.max(i + 1);
                    continue;
                }
            },
            _ => match secret(text, i, &mut runs) {
                Some(hit) => Some(hit),
                None => match iban(text, i) {
                    IbanScan::Masked(hit) => Some(hit),
                    IbanScan::WrongCheck { end } => {
                        i = end;
                        continue;
                    }
                    IbanScan::No => None,
                },
            },
        };
        match found {
            Some(hit) => {
                out.push_str(&text[copied..i + hit.keep]);
                out.push_str(&hit.replacement);
                counts.bump(hit.kind);
                copied = hit.end;
                i = hit.end;
            }
            // A word that starts no rule holds none: no value starts inside a word (only a label after `_`).
            None if bytes[i].is_ascii_alphabetic() => {
                i += 1;
                while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
                    i += 1;
                }
            }
            None => i += text[i..].chars().next().map_or(1, char::len_utf8),
        }
    }
    if copied == 0 {
        return Masked { text: text.to_owned(), counts };
    }
    out.push_str(&text[copied..]);
    Masked { text: out, counts }
}

fn char_before(text: &str, i: usize) -> Option<char> {
    text[..i].chars().next_back()
}

/// A character that makes a value part of a longer word: a letter, digit or `_` — except in the scripts written
/// without spaces between words (Chinese, Japanese, Korean, fullwidth forms), where `卡号4111…` is two words.
fn joins(c: char) -> bool {
    let unspaced = matches!(c, '\u{3000}'..='\u{9FFF}' | '\u{AC00}'..='\u{D7AF}' | '\u{F900}'..='\u{FAFF}' | '\u{FF00}'..='\u{FFEF}');
    (c.is_alphanumeric() || c == '_') && !unspaced
}

/// A word starts at `i`: nothing that [`joins`] right before it.
fn word_start(text: &str, i: usize) -> bool {
    !char_before(text, i).is_some_and(joins)
}

fn word_ends_at(text: &str, i: usize) -> bool {
    !text[i..].chars().next().is_some_and(joins)
}

// ---- cards ----------------------------------------------------------------------------------------------------

/// Most digit groups a card is written in (19 digits in groups of at least 2).
const MAX_GROUPS: usize = 10;

/// A card starting at `i`, or the end of the digit run that is not one.
fn card(text: &str, i: usize) -> Result<Hit, usize> {
    let bytes = text.as_bytes();
    let skip_run = |mut j: usize| {
        while j < bytes.len() && bytes[j].is_ascii_digit() {
            j += 1;
        }
        j
    };
    // Glued to a word, a sign, or the decimal part of a number: not a card.
    let before = char_before(text, i);
    // `ORD-4111…`, `…-426614174000` (a UUID's last group): a dash after a word joins the digits to it.
    let glued = before.is_some_and(|c| joins(c) || matches!(c, '+' | '/'))
        || (matches!(before, Some('.' | ',')) && i >= 2 && bytes[i - 2].is_ascii_digit())
        || (before == Some('-') && char_before(text, i - 1).is_some_and(joins));
    if glued {
        return Err(skip_run(i));
    }
    // The groups: digit runs joined by 1–3 separators (space, no-break space, dash). Fixed buffers: this runs at
    // every number in the text, and most are short.
    let mut groups = [(0usize, 0usize); MAX_GROUPS + 1];
    let (mut count, mut total) = (0, 0);
    let mut j = i;
    loop {
        let start = j;
        j = skip_run(j);
        groups[count] = (start, j);
        count += 1;
        total += j - start;
        if count > MAX_GROUPS || total > 19 {
            break;
        }
        let mut k = j;
        let mut seps = 0;
        while seps < 3 {
            match text[k..].chars().next() {
                Some(c @ (' ' | '-' | '\u{a0}')) => {
                    k += c.len_utf8();
                    seps += 1;
                }
                _ => break,
            }
        }
        if seps == 0 || !bytes.get(k).is_some_and(u8::is_ascii_digit) {
            break;
        }
        j = k;
    }
    let groups = &groups[..count];
    let run_end = groups[count - 1].1;
    // The longest leading run of groups that is a card; a single group must be the whole number.
    let mut digits = [0u8; 19];
    let mut len = 0;
    let mut best = None;
    for &(s, e) in groups {
        if count > 1 && !(2..=6).contains(&(e - s)) || len + (e - s) > 19 {
            break;
        }
        digits[len..len + e - s].copy_from_slice(&bytes[s..e]);
        len += e - s;
        let number = std::str::from_utf8(&digits[..len]).expect("ASCII digits");
        let ends_clean = word_ends_at(text, e)
            && !(matches!(bytes.get(e), Some(b'.' | b',')) && bytes.get(e + 1).is_some_and(u8::is_ascii_digit));
        if (13..=19).contains(&len) && ends_clean && network_issues(number) && luhn(number) {
            best = Some(e);
        }
    }
    match best {
        Some(end) => Ok(Hit {
            end,
            kind: MaskKind::Card,
            replacement: format!("[card ending {}]", last_digits(&text[i..end], 4)),
            keep: 0,
        }),
        None => Err(run_end),
    }
}

fn last_digits(s: &str, n: usize) -> String {
    let d: Vec<char> = s.chars().filter(char::is_ascii_digit).collect();
    d[d.len().saturating_sub(n)..].iter().collect()
}

/// The Luhn (mod 10) check every payment card number carries.
pub fn luhn(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(n, b)| {
            let d = u32::from(b - b'0');
            if n % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Whether a card network issues numbers with this prefix at this length (ISO/IEC 7812 ranges as the networks
/// publish them).
fn network_issues(digits: &str) -> bool {
    let len = digits.len();
    let prefix = |n: usize| digits[..n].parse::<u32>().unwrap_or(0);
    let visa = digits.starts_with('4') && matches!(len, 13 | 16 | 19);
    let mastercard = len == 16 && ((51..=55).contains(&prefix(2)) || (2221..=2720).contains(&prefix(4)));
    let amex = len == 15 && matches!(prefix(2), 34 | 37);
    let discover = (16..=19).contains(&len)
        && (prefix(4) == 6011 || prefix(2) == 65 || (644..=649).contains(&prefix(3)));
    let jcb = (16..=19).contains(&len) && (3528..=3589).contains(&prefix(4));
    let diners = (14..=19).contains(&len) && ((300..=305).contains(&prefix(3)) || matches!(prefix(2), 36 | 38 | 39));
    let unionpay = (16..=19).contains(&len) && prefix(2) == 62;
    let maestro = (13..=19).contains(&len) && (prefix(2) == 50 || (56..=69).contains(&prefix(2)));
    visa || mastercard || amex || discover || jcb || diners || unionpay || maestro
}

// ---- IBANs ----------------------------------------------------------------------------------------------------

/// IBAN length by country (SWIFT IBAN registry).
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24), ("AE", 23), ("AL", 28), ("AT", 20), ("AZ", 28), ("BA", 20), ("BE", 16), ("BG", 22), ("BH", 22),
    ("BI", 27), ("BR", 29), ("BY", 28), ("CH", 21), ("CR", 22), ("CY", 28), ("CZ", 24), ("DE", 22), ("DJ", 27),
    ("DK", 18), ("DO", 28), ("EE", 20), ("EG", 29), ("ES", 24), ("FI", 18), ("FK", 18), ("FO", 18), ("FR", 27),
    ("GB", 22), ("GE", 22), ("GI", 23), ("GL", 18), ("GR", 27), ("GT", 28), ("HN", 28), ("HR", 21), ("HU", 28),
    ("IE", 22), ("IL", 23), ("IQ", 23), ("IS", 26), ("IT", 27), ("JO", 30), ("KW", 30), ("KZ", 20), ("LB", 28),
    ("LC", 32), ("LI", 21), ("LT", 20), ("LU", 20), ("LV", 21), ("LY", 25), ("MC", 27), ("MD", 24), ("ME", 22),
    ("MK", 19), ("MN", 20), ("MR", 27), ("MT", 31), ("MU", 30), ("NI", 28), ("NL", 18), ("NO", 15), ("OM", 23),
    ("PK", 24), ("PL", 28), ("PS", 29), ("PT", 25), ("QA", 29), ("RO", 24), ("RS", 22), ("RU", 33), ("SA", 24),
    ("SC", 31), ("SD", 18), ("SE", 24), ("SI", 19), ("SK", 24), ("SM", 27), ("SO", 23), ("ST", 25), ("SV", 28),
    ("TL", 23), ("TN", 24), ("TR", 26), ("UA", 29), ("VA", 22), ("VG", 24), ("XK", 20), ("YE", 30),
];

/// What [`iban`] found at a position.
enum IbanScan {
    Masked(Hit),
    /// IBAN-shaped (country, length) but the check fails: a mistyped IBAN, skipped whole so that no digit group
    /// inside it is read as a card.
    WrongCheck { end: usize },
    No,
}

/// An IBAN starting at `i`: country, check digits, then exactly the country's length of letters and digits,
/// single spaces allowed between them.
fn iban(text: &str, i: usize) -> IbanScan {
    match iban_shape(text, i) {
        Some((end, chars)) if mod97(&chars) => {
            let tail: String = chars[chars.len() - 4..].iter().map(|&b| b as char).collect();
            IbanScan::Masked(Hit { end, kind: MaskKind::Iban, replacement: format!("[iban ending {tail}]"), keep: 0 })
        }
        Some((end, _)) => IbanScan::WrongCheck { end },
        None => IbanScan::No,
    }
}

/// The end and the characters (upper case) of an IBAN-shaped span at `i`.
fn iban_shape(text: &str, i: usize) -> Option<(usize, Vec<u8>)> {
    let bytes = text.as_bytes();
    let head = bytes.get(i..i + 4)?;
    if !(head[0].is_ascii_uppercase() && head[1].is_ascii_uppercase() && head[2].is_ascii_digit() && head[3].is_ascii_digit())
        || !word_start(text, i)
    {
        return None;
    }
    let country = &text[i..i + 2];
    let length = IBAN_LENGTHS.iter().find(|(c, _)| *c == country)?.1;
    let mut chars = Vec::with_capacity(length);
    let mut j = i;
    while chars.len() < length {
        match bytes.get(j) {
            Some(b) if b.is_ascii_alphanumeric() => {
                chars.push(b.to_ascii_uppercase());
                j += 1;
            }
            Some(b' ') if !chars.is_empty() && bytes.get(j + 1).is_some_and(u8::is_ascii_alphanumeric) => j += 1,
            _ => return None,
        }
    }
    word_ends_at(text, j).then_some((j, chars))
}

/// ISO 13616: the first four characters moved to the end, letters as 10–35, the number mod 97 is 1.
fn mod97(chars: &[u8]) -> bool {
    let mut rem: u32 = 0;
    for &c in chars[4..].iter().chain(&chars[..4]) {
        rem = if c.is_ascii_digit() {
            (rem * 10 + u32::from(c - b'0')) % 97
        } else {
            (rem * 100 + u32::from(c - b'A') + 10) % 97
        };
    }
    rem == 1
}

// ---- secrets --------------------------------------------------------------------------------------------------

/// The characters a token's body may hold.
#[derive(Clone, Copy)]
enum Alphabet {
    Alnum,
    AlnumUnderscore,
    /// base64url: letters, digits, `_`, `-`.
    UrlSafe,
    UpperDigit,
    /// RFC 6750 `b64token`: base64url plus `.~+/=`.
    Bearer,
}

impl Alphabet {
    fn holds(self, b: u8) -> bool {
        b.is_ascii_alphanumeric()
            || match self {
                Alphabet::Alnum => false,
                Alphabet::AlnumUnderscore => b == b'_',
                Alphabet::UrlSafe => b == b'_' || b == b'-',
                Alphabet::UpperDigit => return b.is_ascii_uppercase() || b.is_ascii_digit(),
                Alphabet::Bearer => b"-._~+/=".contains(&b),
            }
    }
}

/// Where runs of each alphabet end. Every position inside a run has the same end, so remembering the last run
/// per alphabet means no character is scanned twice for the same alphabet: `sk-sk-sk-…` stays linear.
#[derive(Default)]
struct Runs {
    known: [(usize, usize); 5],
}

impl Runs {
    fn end(&mut self, text: &str, from: usize, alphabet: Alphabet) -> usize {
        let (lo, hi) = self.known[alphabet as usize];
        if lo <= from && from < hi {
            return hi;
        }
        let end = from + text.as_bytes()[from..].iter().take_while(|b| alphabet.holds(**b)).count();
        if end > from {
            self.known[alphabet as usize] = (from, end);
        }
        end
    }
}

/// A token by its published prefix: the characters its body may hold and the fewest it has.
struct TokenShape {
    prefix: &'static str,
    alphabet: Alphabet,
    min_body: usize,
}

const TOKENS: &[TokenShape] = &[
    TokenShape { prefix: "github_pat_", alphabet: Alphabet::AlnumUnderscore, min_body: 22 },
    TokenShape { prefix: "ghp_", alphabet: Alphabet::Alnum, min_body: 30 },
    TokenShape { prefix: "gho_", alphabet: Alphabet::Alnum, min_body: 30 },
    TokenShape { prefix: "ghu_", alphabet: Alphabet::Alnum, min_body: 30 },
    TokenShape { prefix: "ghs_", alphabet: Alphabet::Alnum, min_body: 30 },
    TokenShape { prefix: "ghr_", alphabet: Alphabet::Alnum, min_body: 30 },
    TokenShape { prefix: "xoxa-", alphabet: Alphabet::UrlSafe, min_body: 10 },
    TokenShape { prefix: "xoxb-", alphabet: Alphabet::UrlSafe, min_body: 10 },
    TokenShape { prefix: "xoxp-", alphabet: Alphabet::UrlSafe, min_body: 10 },
    TokenShape { prefix: "xoxr-", alphabet: Alphabet::UrlSafe, min_body: 10 },
    TokenShape { prefix: "xoxs-", alphabet: Alphabet::UrlSafe, min_body: 10 },
    TokenShape { prefix: "sk_live_", alphabet: Alphabet::Alnum, min_body: 16 },
    TokenShape { prefix: "rk_live_", alphabet: Alphabet::Alnum, min_body: 16 },
    // OpenAI (`sk-`, `sk-proj-…`) and Anthropic (`sk-ant-api03-…`) share the prefix.
    TokenShape { prefix: "sk-", alphabet: Alphabet::UrlSafe, min_body: 20 },
    TokenShape { prefix: "AIza", alphabet: Alphabet::UrlSafe, min_body: 30 },
];

/// Labels whose value is a password, matched at a word start (ASCII case-insensitively; `ñ` in both cases) and
/// followed by `:` or `=`.
const PASSWORD_LABELS: &[&str] = &[
    "password", "passwort", "kennwort", "wachtwoord", "senha", "mot de passe", "contraseña", "contraseÑa",
    "contrasena", "aws_secret_access_key",
];

fn secret(text: &str, i: usize, runs: &mut Runs) -> Option<Hit> {
    let rest = &text[i..];
    let first = *rest.as_bytes().first()?;
    if first == b'-' {
        return pem(text, i);
    }
    if !first.is_ascii_alphabetic() {
        return None;
    }
    if !word_start(text, i) {
        // `db_password=…`: a label may end a longer name; a token may not start inside one.
        return if char_before(text, i) == Some('_') { password_value(text, i).map(|(keep, end)| removed_at(end, keep)) } else { None };
    }
    // Dispatch on the first byte: most words start no rule, and this runs at every word.
    for shape in TOKENS.iter().filter(|s| s.prefix.as_bytes()[0] == first) {
        if rest.starts_with(shape.prefix) {
            let end = runs.end(text, i + shape.prefix.len(), shape.alphabet);
            if end - i - shape.prefix.len() >= shape.min_body && word_ends_at(text, end) {
                return Some(removed_at(end, 0));
            }
        }
    }
    if first == b'A' && (rest.starts_with("AKIA") || rest.starts_with("ASIA")) {
        let end = runs.end(text, i, Alphabet::UpperDigit);
        if end - i == 20 && word_ends_at(text, end) {
            return Some(removed_at(end, 0));
        }
    }
    if first == b'e'
        && let Some(end) = jwt(text, i, runs)
    {
        return Some(removed_at(end, 0));
    }
    if first.eq_ignore_ascii_case(&b'b')
        && let Some((keep, end)) = bearer(text, i, runs)
    {
        return Some(removed_at(end, keep));
    }
    password_value(text, i).map(|(keep, end)| removed_at(end, keep))
}

fn removed_at(end: usize, keep: usize) -> Hit {
    Hit { end, kind: MaskKind::Secret, replacement: SECRET_REMOVED.into(), keep }
}

/// `-----BEGIN … PRIVATE KEY-----` to the matching END line, or to the end of the text when it has none (a key
/// cut off is still a key).
/// Longest BEGIN line looked at (`-----BEGIN ENCRYPTED PRIVATE KEY-----` is 37 bytes).
const MAX_PEM_LINE: usize = 80;

fn pem(text: &str, i: usize) -> Option<Hit> {
    const BEGIN: &str = "-----BEGIN ";
    const TAIL: &str = "PRIVATE KEY-----";
    let rest = &text[i..];
    if !rest.starts_with(BEGIN) {
        return None;
    }
    // The BEGIN line is short: look no further than that, or a text of BEGINs without tails would be quadratic.
    // The END line may follow on the same line: a form or chat may have flattened the key.
    let tail_within = |from: usize| {
        let head = &text.as_bytes()[from..text.len().min(from + MAX_PEM_LINE)];
        let at = head.windows(TAIL.len()).position(|w| w == TAIL.as_bytes())?;
        (!head[..at].contains(&b'\n')).then_some(from + at + TAIL.len())
    };
    let after = tail_within(i)?;
    let end = match text[after..].find("-----END ") {
        Some(at) => tail_within(after + at).unwrap_or(text.len()),
        None => text.len(),
    };
    Some(Hit { end, kind: MaskKind::Secret, replacement: SECRET_REMOVED.into(), keep: 0 })
}

/// `eyJ<header>.eyJ<payload>.<signature>`: a JSON header and payload, base64url.
fn jwt(text: &str, i: usize, runs: &mut Runs) -> Option<usize> {
    let b = text.as_bytes();
    let mut segment = |from: usize| runs.end(text, from, Alphabet::UrlSafe);
    if !text[i..].starts_with("eyJ") {
        return None;
    }
    let header_end = segment(i);
    if header_end - i < 10 || b.get(header_end) != Some(&b'.') || !text[header_end + 1..].starts_with("eyJ") {
        return None;
    }
    let payload_end = segment(header_end + 1);
    if payload_end - header_end - 1 < 10 || b.get(payload_end) != Some(&b'.') {
        return None;
    }
    let end = segment(payload_end + 1);
    word_ends_at(text, end).then_some(end)
}

/// `Bearer <token>` (any case): the token, at least 16 characters of a token alphabet with a digit in it, so
/// that "the bearer of this letter" stays.
fn bearer(text: &str, i: usize, runs: &mut Runs) -> Option<(usize, usize)> {
    let word = text.get(i..i + 6)?;
    if !word.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let b = text.as_bytes();
    let mut j = i + 6;
    while b.get(j) == Some(&b' ') {
        j += 1;
    }
    if j == i + 6 {
        return None;
    }
    let end = runs.end(text, j, Alphabet::Bearer);
    let value = &b[j..end];
    (value.len() >= 16 && value.iter().any(u8::is_ascii_digit)).then_some((j - i, end))
}

/// A password label, `:` or `=`, and the first word after it on the same line: `(bytes kept, end)`.
fn password_value(text: &str, i: usize) -> Option<(usize, usize)> {
    let rest = &text[i..];
    let label_len = PASSWORD_LABELS
        .iter()
        .find(|label| rest.as_bytes().get(..label.len()).is_some_and(|head| head.eq_ignore_ascii_case(label.as_bytes())))?
        .len();
    let horizontal = |c: char| c == ' ' || c == '\t' || c == '\u{a0}' || c == '\u{202f}';
    let after_label = &rest[label_len..];
    let spaced = after_label.trim_start_matches(horizontal);
    let after_sep = spaced.strip_prefix([':', '=', '：'])?;
    let value = after_sep.trim_start_matches(horizontal);
    let value_len = value.find(char::is_whitespace).unwrap_or(value.len());
    if value_len == 0 {
        return None;
    }
    let keep = rest.len() - value.len();
    Some((keep, i + keep + value_len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_and_mod97_known_values() {
        assert!(luhn("4111111111111111") && !luhn("4111111111111112"));
        let iban: Vec<u8> = b"GB82WEST12345698765432".to_vec();
        assert!(mod97(&iban));
    }

    #[test]
    fn counts_merge_by_max_and_list_only_found_kinds() {
        let a = MaskCounts { card: 1, iban: 0, secret: 2 };
        let b = MaskCounts { card: 2, iban: 0, secret: 1 };
        assert_eq!(a.max(b), MaskCounts { card: 2, iban: 0, secret: 2 });
        assert_eq!(MaskCounts::from_list(&a.to_list()), a);
    }

    #[test]
    fn replacement_keeps_the_surrounding_text() {
        let m = mask("Card 4111 1111 1111 1111 exp 12/27, password: hunter2 thanks");
        assert_eq!(m.text, "Card [card ending 1111] exp 12/27, password: [secret removed] thanks");
        assert_eq!(m.counts, MaskCounts { card: 1, iban: 0, secret: 1 });
    }
}
