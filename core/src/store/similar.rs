//! How alike two texts are: the measure behind cross-lane duplicate merges.
//!
//! The measure is the **cosine of the two sets of content words** (binary weights): `|A∩B| / √(|A|·|B|)`.
//! Cosine rather than Jaccard because the lanes differ in length by nature: a form message is three lines, a
//! chat transcript thirty, and Jaccard punishes the longer one for words the shorter never had room for. Words
//! rather than character n-grams so that every merge can be explained by listing the words the texts share.
//!
//! A text's content words come from its subject and body:
//! - Subject: reply and forward prefixes are removed, repeated and in any case (`Re`, `RE[2]`, `Fwd`, `Fw`, `AW`,
//!   `WG`, `SV`, `VS`, `TR`, `Réf`, `Antw`, `RV`, `Enc`, `Odp`, …), and leading `[tags]`; `(no subject)` counts as
//!   empty.
//! - Body: a signature is cut (from a `--` line; from the last sign-off line such as `Best regards,`, `Mit
//!   freundlichen Grüßen`, `Cordialement` among the last ten lines; from the last line there that is just the
//!   sender's name, e.g. `Mike Dubois` above `Backend lead, Quartz Labs`); "Sent from my …" lines are dropped; a
//!   chat transcript's speaker labels and timestamps (`[14:02] Ana:`) are dropped.
//! - Words: lower case, accents folded (`é` → `e`, `ß` → `ss`), split at anything not a letter or digit; CJK runs
//!   become character bigrams. Dropped: one-letter words, numbers under three digits (times, counts), stop words
//!   of English, German, French, Spanish, Portuguese, Dutch, Italian and Swedish, words every support message
//!   has (`hello`, `thanks`, `help`, `issue`, `problem`, `urgent`, `new`, `since`, …), and the customer's own name and address
//!   parts (both texts are from the same customer, so identity is no evidence of the same problem). Words of four
//!   or more ASCII letters lose common inflections (`-s`, `-es`, `-ies`, `-ed`, `-ing`, German `-en`, a final
//!   `-e`), so `charged`, `charges` and `charging` are one word; then every word of letters keeps only its first
//!   five (`dashboard` → `dashb`), which joins inflections in other languages and late typos. Words with digits
//!   (`INV-20931`, `v2`, `401`) are identifiers and stay whole.
//! - Synonyms: support vocabulary that names one thing in several ways (`text message` / `SMS`, `user` / `seat`
//!   / `licence`, `sign in` / `log in`) becomes one canonical word, from the data table `synonyms.txt`
//!   ([`super::synonyms`]). Phrases are read across stop words before those are dropped (`sign in` → `login`).
//!   The table holds interchangeable words only, never merely related ones (`invoice` / `receipt`): those would
//!   raise the score of two different problems with one feature as much as of one problem told twice. A
//!   synonym replaces a word, never adds one, so a fingerprint is no larger than before.
//! - Chat: lines spoken by staff or a bot (labels `Agent`, `Agent (Sam)`, `Bot`, `Support`, `Agente`, …) are left
//!   out: the customer's words are the evidence. The chat lane must label lines `Speaker: text`.
//!
//! The index stores each ticket's words, not the ticket, so the rule runs without reading the ticket. To keep an
//! index value bounded, a text with more than [`SKETCH`] distinct words keeps the [`SKETCH`] whose 64-bit hash
//! (FNV-1a, finalised) is smallest — a bottom-k sketch, a uniform sample — and the intersection is estimated
//! from the sketches. Below that size the score is exact. The sample depends on the hash: it must never change.
//! The bound is in bytes too, whatever the input: a word longer than [`MAX_WORD_BYTES`] (only identifiers with
//! digits can be: words of letters keep five characters) is kept as its start and a hash of the whole, so it
//! still matches only itself; and the sketch stops early when its words would pass [`SKETCH_BYTES`] (ordinary
//! text never reaches it: 256 words of ordinary length take 2–3 KB).

use std::collections::HashSet;
use std::sync::LazyLock;

use serde::{Deserialize, Serialize};

use super::synonyms::Synonyms;
use super::words::{fold, stem};
use crate::normalise::NO_SUBJECT;
use crate::ticket::Customer;

/// Most words a fingerprint keeps.
pub const SKETCH: usize = 256;
/// Most bytes a fingerprint's words take in JSON (each word counted with its quotes and comma).
pub const SKETCH_BYTES: usize = 6 * 1024;
/// Longest word kept as it is, in bytes; a longer one is its first bytes, `~`, and 8 hex digits of its hash.
pub const MAX_WORD_BYTES: usize = 32;

/// A text's content words, as the index stores them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// How many distinct content words the text had.
    pub n: u32,
    /// At most [`SKETCH`] of them: those with the smallest hashes, in hash order.
    pub words: Vec<String>,
}

impl Fingerprint {
    fn truncated(&self) -> bool {
        self.words.len() < self.n as usize
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Similarity {
    /// Cosine similarity, 0 to 1.
    pub score: f64,
    /// The content words both texts have (from the sketches when a text was longer than [`SKETCH`]), sorted.
    pub shared: Vec<String>,
}

/// The fingerprint of a subject and body, leaving out the words in `identity` (see [`identity_words`]).
pub fn fingerprint(subject: &str, body: &str, identity: &HashSet<String>) -> Fingerprint {
    let mut words = HashSet::new();
    let subject = normalise_subject(subject);
    if subject != NO_SUBJECT {
        collect_words(subject, identity, &mut words);
    }
    collect_words(&matching_text(body, identity), identity, &mut words);
    let mut hashed: Vec<(u64, String)> = words.into_iter().map(bounded_word).map(|w| (fnv1a(&w), w)).collect();
    hashed.sort_unstable();
    hashed.dedup();
    let n = hashed.len() as u32;
    let mut bytes = 0;
    let keep = hashed
        .iter()
        .take(SKETCH)
        .take_while(|(_, w)| {
            bytes += w.len() + 3;
            bytes <= SKETCH_BYTES
        })
        .count();
    hashed.truncate(keep);
    Fingerprint { n, words: hashed.into_iter().map(|(_, w)| w).collect() }
}

/// A word of at most [`MAX_WORD_BYTES`]: a longer one (an identifier with digits can be any length) keeps its
/// start, for a person reading the shared words, and a hash of the whole, so it matches only itself.
fn bounded_word(word: String) -> String {
    if word.len() <= MAX_WORD_BYTES {
        return word;
    }
    let mut cut = MAX_WORD_BYTES - 9;
    while !word.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}~{:08x}", &word[..cut], fnv1a(&word) as u32)
}

/// The words of a customer's name and address, folded like content words.
pub fn identity_words(customer: &Customer) -> HashSet<String> {
    let mut out = HashSet::new();
    let mut add = |text: &str| {
        for w in text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()) {
            let w = fold(&w.to_lowercase());
            out.insert(stem(&w));
            out.insert(w);
        }
    };
    if let Some(name) = &customer.name {
        add(name);
    }
    if let Some(email) = &customer.email
        && let Some((local, domain)) = email.rsplit_once('@')
    {
        add(local);
        // The domain's labels but the last (the TLD says nothing, and `com` might be a real word elsewhere).
        if let Some((labels, _tld)) = domain.rsplit_once('.') {
            add(labels);
        }
    }
    out
}

pub fn similarity(a: &Fingerprint, b: &Fingerprint) -> Similarity {
    let none = Similarity { score: 0.0, shared: Vec::new() };
    if a.n == 0 || b.n == 0 {
        return none;
    }
    let (ha, hb) = (hashes(a), hashes(b));
    // Only hashes both sketches cover are comparable: up to the largest hash a truncated sketch kept.
    let cover = |f: &Fingerprint, h: &[(u64, &str)]| if f.truncated() { h.last().map_or(0, |x| x.0) } else { u64::MAX };
    let tau = cover(a, &ha).min(cover(b, &hb));

    let (mut i, mut j, mut union, mut shared) = (0, 0, 0usize, Vec::new());
    loop {
        let (x, y) = (ha.get(i).filter(|x| x.0 <= tau), hb.get(j).filter(|y| y.0 <= tau));
        match (x, y) {
            (None, None) => break,
            (Some(x), Some(y)) if x.0 == y.0 => {
                shared.push(x.1.to_owned());
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x.0 < y.0 => i += 1,
            (Some(_), None) => i += 1,
            _ => j += 1,
        }
        union += 1;
    }
    let (na, nb) = (f64::from(a.n), f64::from(b.n));
    let intersection = if !a.truncated() && !b.truncated() {
        shared.len() as f64
    } else if union == 0 {
        0.0
    } else {
        // Jaccard estimated on the covered range, turned back into an intersection size: |A∩B| = J(|A|+|B|)/(1+J).
        let jac = shared.len() as f64 / union as f64;
        jac * (na + nb) / (1.0 + jac)
    };
    shared.sort_unstable();
    Similarity { score: (intersection / (na * nb).sqrt()).min(1.0), shared }
}

fn hashes(f: &Fingerprint) -> Vec<(u64, &str)> {
    let mut v: Vec<(u64, &str)> = f.words.iter().map(|w| (fnv1a(w), w.as_str())).collect();
    v.sort_unstable();
    v
}

/// The subject without reply/forward prefixes and leading `[tags]`.
pub fn normalise_subject(subject: &str) -> &str {
    let mut s = subject.trim();
    loop {
        let before = s;
        if s.starts_with('[')
            && let Some(end) = s.find(']').filter(|&e| e <= 40)
        {
            s = s[end + 1..].trim_start();
        }
        if let Some(colon) = s.find([':', '：']).filter(|&c| c <= 10) {
            let head = s[..colon].trim_end();
            // `Re[2]`, `RE(3)`: a count some clients add.
            let head = head.split(['[', '(']).next().unwrap_or(head).trim_end();
            if SUBJECT_PREFIXES.contains(&fold(&head.to_lowercase()).as_str()) {
                s = s[colon..].trim_start_matches([':', '：']).trim_start();
            }
        }
        if s == before {
            return s;
        }
    }
}

const SUBJECT_PREFIXES: &[&str] = &[
    "re", "fw", "fwd", "aw", "wg", "sv", "vs", "tr", "ref", "antw", "rv", "enc", "odp", "rif", "r", "i", "fs", "vl",
    "doorst", "wtr", "pd", "ynt", "ilt", "res",
];

/// The body as the rule reads it: signature, mobile footers and chat speaker labels removed.
fn matching_text(body: &str, identity: &HashSet<String>) -> String {
    let mut lines: Vec<&str> = Vec::new();
    for line in body.lines() {
        let t = line.trim();
        if t == "--" || t == "-- " || (t.len() >= 5 && t.chars().all(|c| c == '_')) {
            break;
        }
        let lower = t.to_lowercase();
        if MOBILE_FOOTERS.iter().any(|f| lower.starts_with(f)) {
            continue;
        }
        let (label, text) = split_label(t);
        if label.is_some_and(is_staff_label) {
            // The customer's words are the evidence; an agent's or a bot's are not.
            continue;
        }
        lines.push(text);
    }
    // Cut at the last sign-off line among the last ten non-empty lines.
    let tail_start = {
        let mut seen = 0;
        let mut start = lines.len();
        for (i, l) in lines.iter().enumerate().rev() {
            if !l.is_empty() {
                seen += 1;
                start = i;
            }
            if seen == 10 {
                break;
            }
        }
        start
    };
    if let Some(cut) = (tail_start..lines.len()).rev().find(|&i| is_sign_off(lines[i])) {
        lines.truncate(cut);
    }
    // A signature with no sign-off before it starts at the sender's name on a line of its own (`Mike Dubois` then
    // `Backend lead, Quartz Labs`): the title and company under it are the same in every mail the sender writes.
    let tail_start = tail_start.min(lines.len());
    if let Some(cut) = (tail_start..lines.len()).rev().find(|&i| is_name_line(lines[i], identity)) {
        lines.truncate(cut);
    }
    lines.join("\n")
}

/// A line whose first part (before `,`, `|`, `-`, `–`, `—`, `/`) is nothing but the sender's name or address words.
fn is_name_line(line: &str, identity: &HashSet<String>) -> bool {
    let first = line.split([',', '|', '-', '–', '—', '/']).find(|p| !p.trim().is_empty()).unwrap_or("");
    let words: Vec<String> = first.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(|w| fold(&w.to_lowercase())).collect();
    !words.is_empty() && words.len() <= 4 && words.iter().all(|w| identity.contains(w))
}

const MOBILE_FOOTERS: &[&str] = &[
    "sent from my", "sent from outlook", "get outlook for", "envoyé de mon", "envoyé depuis", "von meinem",
    "gesendet von", "enviado desde mi", "enviado do meu", "enviado de meu", "verzonden vanaf", "verstuurd vanaf",
    "inviato da", "skickat från",
];

fn is_sign_off(line: &str) -> bool {
    let l = fold(&line.to_lowercase());
    let l = l.trim_end_matches([',', '!', '.', ' ']).trim();
    SIGN_OFFS.contains(&l)
}

const SIGN_OFFS: &[&str] = &[
    "thanks", "thank you", "thanks in advance", "thank you in advance", "many thanks", "thanks a lot", "thx", "ty",
    "best", "best regards", "kind regards", "regards", "warm regards", "cheers", "br", "sincerely", "all the best",
    "mit freundlichen grussen", "freundliche grusse", "viele grusse", "beste grusse", "liebe grusse", "gruss",
    "grusse", "lg", "vg", "danke", "cordialement", "bien cordialement", "bien a vous", "merci", "merci d'avance",
    "salutations", "saludos", "un saludo", "saludos cordiales", "atentamente", "gracias", "muchas gracias",
    "atenciosamente", "obrigado", "obrigada", "abracos", "cumprimentos", "met vriendelijke groet", "groeten",
    "groet", "cordiali saluti", "saluti", "grazie", "med vanliga halsningar", "halsningar", "mvh", "vanliga halsningar",
];

/// `[14:02] Ana Lima: text` → (`Ana Lima`, `text`). A label is up to four words of letters before a colon and a
/// space; a timestamp before it is dropped.
fn split_label(line: &str) -> (Option<&str>, &str) {
    let mut s = line.trim_start();
    if (s.starts_with('[') || s.starts_with('('))
        && let Some(end) = s.find([']', ')']).filter(|&e| e <= 25)
    {
        s = s[end + 1..].trim_start();
    }
    // A bare clock time: `14:02` or `14:02:11`.
    if let Some(first) = s.split_whitespace().next()
        && is_clock(first)
    {
        s = s[first.len()..].trim_start();
    }
    // The chat lane's shape, `Agent Maria (10:03): text`: a clock time in brackets closes the label.
    if let Some(open) = s.find(" (").filter(|&o| o > 0 && o <= 40)
        && let Some(close) = s[open + 2..].find("):").map(|c| open + 2 + c)
        && is_clock(&s[open + 2..close])
    {
        let label = &s[..open];
        let rest = &s[close + 2..];
        if is_label(label) && (rest.is_empty() || rest.starts_with(char::is_whitespace)) {
            return (Some(label), rest.trim_start());
        }
    }
    if let Some(colon) = s.find(':').filter(|&c| c > 0 && c <= 40) {
        let label = &s[..colon];
        let rest = &s[colon + 1..];
        if is_label(label) && (rest.is_empty() || rest.starts_with(char::is_whitespace)) {
            return (Some(label), rest.trim_start());
        }
    }
    (None, s)
}

/// Up to four words of letters (and `.-'()`): a speaker, not the start of a sentence with a colon in it.
fn is_label(label: &str) -> bool {
    label.split_whitespace().count() <= 4 && label.chars().all(|c| c.is_alphabetic() || " .-'()".contains(c))
}

/// `14:02` or `14:02:11`.
fn is_clock(s: &str) -> bool {
    s.len() >= 4 && s.contains(':') && s.chars().all(|c| c.is_ascii_digit() || c == ':')
}

/// Speaker labels the chat lane gives staff and bots (`Agent:`, `Agent (Sam):`, `Bot:`, …), in the languages of
/// the stop words.
fn is_staff_label(label: &str) -> bool {
    let first = label.split(|c: char| !c.is_alphabetic()).find(|w| !w.is_empty()).unwrap_or("");
    STAFF_LABELS.contains(&fold(&first.to_lowercase()).as_str())
}

const STAFF_LABELS: &[&str] = &[
    "agent", "bot", "support", "operator", "assistant", "staff", "agente", "atendente", "operador", "asistente",
    "medewerker", "conseiller", "conseillere", "mitarbeiter", "kundenservice", "operatore", "assistente",
];

fn collect_words(text: &str, identity: &HashSet<String>, out: &mut HashSet<String>) {
    let lower = text.to_lowercase();
    // Latin-script words in order, folded and suffix-folded, stop words included: the synonym table's phrases
    // (`sign in`, `text message`) are read across them before single words are filtered.
    let mut run: Vec<(String, String)> = Vec::new();
    let mut word = String::new();
    for c in lower.chars().chain(std::iter::once(' ')) {
        if c.is_alphanumeric() {
            word.push(c);
            continue;
        }
        if word.is_empty() {
            continue;
        }
        if word.chars().any(is_cjk) {
            // No spaces between CJK words: every pair of neighbouring characters stands in for one.
            let chars: Vec<char> = word.chars().collect();
            if chars.len() == 1 {
                out.insert(word.clone());
            }
            for pair in chars.windows(2) {
                out.insert(pair.iter().collect());
            }
            collect_run(&mut run, identity, out);
        } else {
            let folded = fold(&word);
            let stemmed = stem(&folded);
            run.push((folded, stemmed));
        }
        word.clear();
    }
    collect_run(&mut run, identity, out);
}

/// The content words of a run of Latin-script words (`(folded, stemmed)`), emptying it: a phrase of the synonym
/// table becomes its canonical word; a single word is kept if it is content (see [`keep`]) and not the customer's
/// identity, as its canonical word if the table lists it.
fn collect_run(run: &mut Vec<(String, String)>, identity: &HashSet<String>, out: &mut HashSet<String>) {
    let stems: Vec<String> = run.iter().map(|(_, s)| s.clone()).collect();
    let mut i = 0;
    while i < run.len() {
        if let Some((canonical, n)) = SYNONYMS.phrase(&stems[i..]) {
            out.insert(truncate(canonical.to_owned()));
            i += n;
            continue;
        }
        let (folded, stemmed) = &run[i];
        i += 1;
        if !keep(folded) || identity.contains(folded) || identity.contains(stemmed) || is_stop_word(stemmed) {
            continue;
        }
        let word = SYNONYMS.word(stemmed).unwrap_or(stemmed);
        out.insert(truncate(word.to_owned()));
    }
    run.clear();
}

/// The support-vocabulary synonym table (`synonyms.txt`), normalised like content words.
static SYNONYMS: LazyLock<Synonyms> = LazyLock::new(|| {
    // Compiled in and checked by a unit test: a malformed table cannot reach a running store.
    Synonyms::parse(include_str!("synonyms.txt"), |w| stem(&fold(&w.to_lowercase())))
        .unwrap_or_else(|e| panic!("core/src/store/synonyms.txt: {e}"))
});

/// The stop words of every list in [`super::words`], as each is spelled folded and as stemmed: sorted, built by
/// `build.rs` from those lists, so a fresh instance (one per request) does not build a set first.
mod stop_words {
    include!(concat!(env!("OUT_DIR"), "/stop_words.rs"));
}

fn is_stop_word(word: &str) -> bool {
    stop_words::STOP_WORDS.binary_search(&word).is_ok()
}

fn keep(word: &str) -> bool {
    let chars = word.chars().count();
    if chars < 2 || is_stop_word(word) {
        return false;
    }
    !(word.chars().all(|c| c.is_ascii_digit()) && chars < 3)
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF)
}

/// A word of letters keeps its first [`PREFIX`] characters: inflections the suffix fold does not know (`esporto` /
/// `esportati`, `notificaciones` / `notificación`, `задачах` / `задачи`) and most typos past the fifth letter
/// then meet. Words with digits (`inv-20931`, `v2`, `401`) are identifiers and stay whole.
fn truncate(word: String) -> String {
    if !word.chars().all(char::is_alphabetic) || word.chars().count() <= PREFIX {
        return word;
    }
    word.chars().take(PREFIX).collect()
}

/// How many leading letters of a word the rule compares.
const PREFIX: usize = 5;

/// 64-bit FNV-1a with MurmurHash3's finaliser: stable across builds and platforms (the sketch order depends on
/// it). The finaliser matters: FNV alone leaves the high bits of similar short words alike, and the sketch keeps
/// the smallest hashes, so without it the sample would not be uniform.
fn fnv1a(word: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in word.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matching_text_plain(body: &str) -> String {
        matching_text(body, &HashSet::new())
    }

    fn fp(subject: &str, body: &str) -> Fingerprint {
        fingerprint(subject, body, &HashSet::new())
    }

    #[test]
    fn the_built_stop_word_table_is_every_form_sorted() {
        let table = &stop_words::STOP_WORDS;
        assert!(table.windows(2).all(|w| w[0] < w[1]), "sorted and unique, as binary search needs");
        let forms = super::super::words::stop_word_forms();
        assert_eq!(table.len(), forms.len());
        assert!(forms.iter().all(|f| is_stop_word(f)));
        assert!(is_stop_word("gett") || is_stop_word("getting"), "a stemmed form is listed");
        assert!(!is_stop_word("export") && !is_stop_word(""));
    }

    #[test]
    fn subject_prefixes() {
        assert_eq!(normalise_subject("Re: RE[2]: Fwd: AW: Invoice"), "Invoice");
        assert_eq!(normalise_subject("Réf : TR: SV: VS: WG: Fw: Login"), "Login");
        assert_eq!(normalise_subject("[EXTERNAL] Re: Export fails"), "Export fails");
        assert_eq!(normalise_subject("Remote: working?"), "Remote: working?");
        assert_eq!(normalise_subject("Error: 500"), "Error: 500");
    }

    #[test]
    fn signatures_footers_and_labels_are_not_evidence() {
        let t = matching_text_plain("Hi,\nthe export fails.\n\nBest regards,\nAna Lima\nHead of Ops, Acme\n+44 20 7946 0958");
        assert_eq!(t, "Hi,\nthe export fails.\n");
        assert_eq!(matching_text("Broken.\n-- \nAna\nAcme", &HashSet::new()), "Broken.");
        let ana: HashSet<String> = ["ana", "lima"].iter().map(|w| (*w).to_owned()).collect();
        assert_eq!(matching_text("It broke.\n\nAna Lima\nHead of Ops | Acme", &ana), "It broke.\n");
        assert_eq!(matching_text("Ana Lima reporting, the export broke", &ana), "Ana Lima reporting, the export broke");
        assert_eq!(matching_text_plain("Broken.\nSent from my iPhone"), "Broken.");
        assert_eq!(matching_text_plain("[14:02] Ana Lima: my card was charged twice\nAgent (Sam): which card?\nBot: bye"), "my card was charged twice");
        assert_eq!(split_label("Error 500: gateway"), (None, "Error 500: gateway"));
        assert_eq!(split_label("see https://x.example/a"), (None, "see https://x.example/a"));
        assert_eq!(split_label("[09:14] Agent (Sam): hi"), (Some("Agent (Sam)"), "hi"));
        // The chat lane's folded turns.
        assert_eq!(split_label("Agent Maria (10:03): which card?"), (Some("Agent Maria"), "which card?"));
        assert_eq!(split_label("Visitor (10:02): charged twice"), (Some("Visitor"), "charged twice"));
        assert_eq!(split_label("Meeting (10:30): moved"), (Some("Meeting"), "moved"));
        assert_eq!(split_label("Call me at (10:30): ok"), (Some("Call me at"), "ok"));
        assert_eq!(split_label("Invoice 2291 (10:30): ok"), (None, "Invoice 2291 (10:30): ok"));
        assert_eq!(
            matching_text_plain("Visitor (10:02): card charged twice\nAgent Maria (10:03): which card?\nBot (10:04): bye"),
            "card charged twice"
        );
    }

    #[test]
    fn words_are_folded_and_stemmed() {
        let f = fp("Re: Charges", "I was charged twice, charging stopped. Die Rechnungen! Grüße");
        let mut w = f.words.clone();
        w.sort();
        assert_eq!(w, ["charg", "rechn", "stop", "twic"]);
    }

    #[test]
    fn cosine_is_exact_below_the_sketch_size() {
        let a = fp("Invoice", "invoice amount wrong vat");
        let b = fp("", "the vat on my invoice is wrong, please fix the amount and the address");
        let s = similarity(&a, &b);
        // a = {invoi, amoun, wrong, vat}, b = {vat, invoi, wrong, fix, amoun, addre}
        assert_eq!(s.shared, ["amoun", "invoi", "vat", "wrong"]);
        assert!((s.score - 4.0 / (4.0f64 * 6.0).sqrt()).abs() < 1e-9, "{}", s.score);
        assert_eq!(similarity(&a, &Fingerprint::default()).score, 0.0);
    }

    #[test]
    fn sketches_estimate_long_texts() {
        let text = |from: usize, to: usize| (from..to).map(|i| format!("word{i}x")).collect::<Vec<_>>().join(" ");
        let a = fp("", &text(0, 1000));
        let b = fp("", &text(500, 1500));
        assert_eq!((a.n, a.words.len()), (1000, SKETCH));
        // True cosine: 500 / 1000 = 0.5.
        let s = similarity(&a, &b).score;
        assert!((s - 0.5).abs() < 0.1, "{s}");
        assert!((similarity(&a, &a).score - 1.0).abs() < 1e-9);
    }

    #[test]
    fn identity_is_left_out() {
        let customer = Customer { email: Some("ana.lima+x@acme.io".into()), name: Some("Ana Lima".into()) };
        let id = identity_words(&customer);
        let f = fingerprint("Acme export", "Ana from Acme: export fails", &id);
        let mut w = f.words;
        w.sort();
        assert_eq!(w, ["expor", "fail"]);
    }

    #[test]
    fn synonyms_and_phrases_become_one_word() {
        // Forces the shipped table to parse: a malformed `synonyms.txt` fails here, not in a running store.
        let a = fp("Text messages not arriving", "Our users never get the text message when they sign in.");
        let b = fp("", "no SMS for 2 of our seats at login");
        let mut w = similarity(&a, &b).shared;
        w.sort();
        assert_eq!(w, ["login", "seat", "sms"]);
        // A word of a phrase is only the phrase when its neighbour is there: `sign` alone stays itself.
        assert!(fp("", "please sign the contract").words.contains(&"sign".to_owned()));
    }

    #[test]
    fn cjk_becomes_bigrams() {
        let f = fp("", "請求書が届きません");
        assert!(f.words.contains(&"請求".to_owned()), "{:?}", f.words);
    }

    #[test]
    fn a_fingerprint_is_bounded_in_bytes_whatever_the_words() {
        // Identifiers with digits are never cut to five letters: the longest a body can hold, and many of them.
        let huge = format!("{}1", "𝒳".repeat(8_000));
        let f = fp("", &huge);
        assert_eq!(f.words.len(), 1);
        assert!(f.words[0].len() <= MAX_WORD_BYTES, "{}", f.words[0]);
        assert_eq!(similarity(&f, &fp("", &huge)).score, 1.0, "a long identifier still matches itself");
        let other = format!("{}2", "𝒳".repeat(8_000));
        assert_eq!(similarity(&f, &fp("", &other)).score, 0.0, "and only itself");
        let many: String = (0..4_000).map(|i| format!("inv{i:0>28} ")).collect();
        let f = fp("", &many);
        let json = serde_json::to_string(&f.words).unwrap();
        assert!(json.len() <= SKETCH_BYTES, "{}", json.len());
        assert!(f.words.len() < SKETCH && f.n == 4_000, "the byte bound, not the count, stopped it: {}", f.words.len());
        // Ordinary text never meets the byte bound.
        let ordinary: String =
            (0..600u32).map(|i| format!("{}{}xq ", char::from(b'a' + (i % 26) as u8), char::from(b'a' + (i / 26 % 26) as u8))).collect();
        let f = fp("", &ordinary);
        assert!(f.n > SKETCH as u32, "{}", f.n);
        assert_eq!(f.words.len(), SKETCH);
    }
}
