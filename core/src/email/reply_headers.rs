//! Recognising the line (or few lines) a mail client writes above the message it quotes.
//!
//! Role: classify one position of a plain-text body as the start of quoted history, and say how many lines the
//! marker spans. Key decision: the shape is tested before the words. An attribution is "a date or an address, then
//! a colon at the end" whatever the language; word lists (verbs such as "wrote", "schrieb", "a écrit"; header field
//! names such as "From", "Von", "De") only confirm a shape, they never cut on their own. Every list here is data:
//! adding a language means adding words, not code.
//!
//! Three kinds of marker are recognised:
//! - attributions ("On … wrote:", "Am … schrieb:", "2014-10-17 11:28 GMT+03:00 Bob <bob@x>:"), possibly wrapped
//!   over up to five lines, possibly sharing their first line with the end of the reply. Clients wrap an
//!   attribution wherever their line length runs out: Gmail's German and Norwegian forms start with the name or
//!   the weekday and may leave only `>:` or `Uhr:` on the next line. A wrapped attribution that does not open
//!   like one (an opener word or a date) is taken only when a `>` quote follows it, so the last line of a reply
//!   is never glued to the attribution below it. The closing colon may be missing ("… wrote", or "… schrieb
//!   Bob <bob@x>" where the verb comes first) when a quote follows; Gmail's ISO-dated form ("2016-03-03 17:21
//!   GMT+01:00 Name") needs neither.
//! - separators ("-----Original Message-----" and its translations, also bold-wrapped `*---- … ----*` as HTML
//!   renders them);
//! - header blocks (two or more distinct "From:/Sent:/To:/Subject:" fields, in any of the listed languages).
//!
//! A rule line (`----`, `____`, `====`) at most two blank lines above a marker belongs to it: Outlook and
//! Outlook-for-Mac draw one above their header block, and leaving it would leave a line of the history.
//!
//! Forward markers are reported separately: a forwarded message is the customer's content, not history.

/// Verbs that close an attribution, lower case, compared word by word.
const VERBS: &[&str] = &[
    "wrote", "writes", "sent", "schrieb", "schreibt", "geschrieben", "écrit", "ecrit", "escribió", "escribio",
    "escreveu", "scritto", "scrive", "schreef", "geschreven", "napisał", "napisała", "napisal", "skrev", "skriver",
    "viết", "написал", "написала", "написал(а)", "kirjoitti", "yazdı", "napsal", "napsala", "írta", "скрев",
    "έγραψε", "כתב", "كتب", "写道", "寫道", "작성", "wrote----", "pisze", "napsal(a)", "napísal", "napísala",
    "napísal(a)", "написав", "написала", "scris", "napisao", "napisala", "menulis", "kirjoittaa",
];

/// Words that open an attribution in some language; used to find where an attribution starts when it shares a
/// line with the end of the reply ("thanks! On Tue, … wrote:").
const OPENERS: &[&str] = &[
    "On", "Am", "Le", "El", "Il", "Op", "W dniu", "Den", "På", "Em", "Vào", "Dne", "Dňa", "В", "Pada", "Na",
];

/// Header field names of quoted-header blocks. The first field of a block must be an origin field (who or when);
/// any listed field may follow.
const ORIGIN_FIELDS: &[&str] = &[
    "from", "sent", "date", "von", "gesendet", "datum", "de", "envoyé", "envoye", "enviado", "enviada", "fecha", "da",
    "inviato", "data", "van", "verzonden", "od", "wysłano", "fra", "sendt", "dato", "från", "skickat", "lähettäjä",
    "lähetetty", "от", "отправлено", "дата", "odesláno", "feladó", "elküldve", "kimden", "gönderildi", "tarih",
    "差出人", "送信日時", "发件人", "发送时间", "寄件者", "寄件日期", "보낸 사람", "보낸 날짜", "enviado el", "від",
    "надіслано", "de la", "trimis", "šalje", "poslano", "από", "στάλθηκε", "từ", "đã gửi", "dari", "dikirim", "מאת",
    "נשלח", "من", "تم الإرسال",
];
const OTHER_FIELDS: &[&str] = &[
    "to", "cc", "bcc", "subject", "reply-to", "an", "betreff", "à", "a", "objet", "para", "asunto", "oggetto", "aan",
    "onderwerp", "do", "temat", "til", "emne", "till", "ämne", "vastaanottaja", "aihe", "assunto", "кому", "тема",
    "копия", "komu", "předmět", "címzett", "tárgy", "kime", "konu", "宛先", "件名", "收件人", "主题", "收件者", "主旨",
    "받는 사람", "제목", "importance", "priority", "către", "subiect", "prima", "predmet", "προς", "θέμα", "đến",
    "chủ đề", "kepada", "perihal", "אל", "נושא", "إلى", "الموضوع",
];

/// Phrases inside a dashed separator line that mean "the previous message follows".
const ORIGINAL_MESSAGE: &[&str] = &[
    "original message", "reply message", "ursprüngliche nachricht", "antwort nachricht", "oprindelig meddelelse",
    "message d'origine", "message original", "mensaje original", "messaggio originale", "oorspronkelijk bericht",
    "originalmeddelande", "original meddelelse", "opprinnelig melding", "mensagem original", "wiadomość oryginalna",
    "oryginalna wiadomość", "исходное сообщение", "исходное письмо", "alkuperäinen viesti", "původní zpráva",
    "eredeti üzenet", "özgün ileti", "原始邮件", "原始郵件", "元のメッセージ", "원본 메시지", "oprindelig besked",
    "ursprungligt meddelande", "originalnachricht", "původní e-mail", "оригинальное сообщение", "pôvodná správa",
    "mesaj original", "originalna poruka", "orijinal mesaj", "αρχικό μήνυμα", "оригінальне повідомлення",
    "початкове повідомлення", "tin nhắn gốc", "pesan asli", "ההודעה המקורית", "الرسالة الأصلية",
];

/// Phrases that introduce a forwarded message.
const FORWARDED: &[&str] = &[
    "forwarded message", "begin forwarded message", "weitergeleitete nachricht", "message transféré",
    "message transfere", "mensaje reenviado", "messaggio inoltrato", "doorgestuurd bericht", "wiadomość przekazana",
    "videresendt meddelelse", "videresendt melding", "vidarebefordrat meddelande", "пересылаемое сообщение",
    "mensagem encaminhada", "välitetty viesti", "转发的邮件", "転送されたメッセージ", "videresendt besked",
    "пересланное сообщение", "переслане повідомлення", "přeposlaná zpráva", "preposlaná správa",
    "mesaj redirecționat", "proslijeđena poruka", "προωθημένο μήνυμα", "iletilen mesaj", "wiadomość przekazana dalej",
];

/// The longest run of lines one attribution may wrap over (Polymail puts the address on its own three lines).
const MAX_ATTRIBUTION_LINES: usize = 6;
/// An attribution longer than this is prose, not a client's one-liner.
const MAX_ATTRIBUTION_CHARS: usize = 400;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkerKind {
    /// "On … wrote:" and its relatives.
    Attribution,
    /// "-----Original Message-----" and its translations.
    OriginalMessage,
    /// "From: … / Sent: … / To: …".
    HeaderBlock,
    /// "---------- Forwarded message ----------".
    Forwarded,
}

/// A marker found at some line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    pub kind: MarkerKind,
    /// Lines the marker itself covers (≥ 1).
    pub lines: usize,
    /// Byte offset in the first line where the marker starts: non-zero when the reply's last words share the line.
    pub column: usize,
}

/// Recognises a marker starting at `lines[i]`.
pub fn marker_at(lines: &[&str], i: usize) -> Option<Marker> {
    let line = lines[i].trim();
    if line.is_empty() || line.starts_with('>') {
        return None;
    }
    if let Some(kind) = dashed_separator(line) {
        return Some(Marker { kind, lines: 1, column: 0 });
    }
    if let Some(n) = header_block(lines, i) {
        return Some(Marker { kind: MarkerKind::HeaderBlock, lines: n, column: 0 });
    }
    if is_rule(line) {
        return rule_above_marker(lines, i);
    }
    attribution(lines, i)
}

/// A line drawn of one repeated rule character (`-----`, `_____`, `=====`, `*****`), at least three long.
pub fn is_rule(line: &str) -> bool {
    let t = line.trim();
    let mut chars = t.chars();
    let Some(c) = chars.next() else { return false };
    "-_=*~".contains(c) && t.len() >= 3 && chars.all(|d| d == c)
}

/// A rule line followed, after at most two blank lines, by a marker: the marker, extended up to the rule.
fn rule_above_marker(lines: &[&str], i: usize) -> Option<Marker> {
    let next = (i + 1..lines.len().min(i + 4)).find(|&k| !lines[k].trim().is_empty())?;
    if is_rule(lines[next]) {
        return None;
    }
    let m = marker_at(lines, next)?;
    (m.column == 0 && m.kind != MarkerKind::Forwarded).then_some(Marker { kind: m.kind, lines: next - i + m.lines, column: 0 })
}

/// The kind of a dashed separator line, if it is one.
pub fn separator_kind(line: &str) -> Option<MarkerKind> {
    dashed_separator(line.trim())
}

/// A line of only dashes/underscores around a known phrase, or a forwarding phrase ("Begin forwarded message:").
fn dashed_separator(line: &str) -> Option<MarkerKind> {
    // Cheap refusal first: every separator starts with a rule character or ends with a colon.
    if !line.starts_with(['-', '_', '=', '*']) && !line.ends_with(':') {
        return None;
    }
    let inner = line.trim_matches(|c: char| c == '-' || c == '_' || c == '=' || c == '*' || c.is_whitespace());
    let inner = inner.trim_end_matches(':').trim();
    if inner.is_empty() || inner.chars().count() > 40 {
        return None;
    }
    let lower = inner.to_lowercase();
    if FORWARDED.iter().any(|p| lower == *p) {
        return Some(MarkerKind::Forwarded);
    }
    // "Original Message" only counts inside a dashed line: in prose it is just two words. HTML rendered to text
    // may wrap the line in bold stars.
    let undecorated = line.trim_start_matches('*').trim_start();
    let dashed = undecorated.starts_with("--") || undecorated.starts_with("__");
    if dashed && ORIGINAL_MESSAGE.iter().any(|p| lower == *p) {
        return Some(MarkerKind::OriginalMessage);
    }
    None
}

/// The header field a line starts with, if any: `(is_origin, field, rest of line)`. Accepts the decorations
/// clients and HTML rendering add: leading spaces, `*From:*`, `From :`.
pub fn header_field(line: &str) -> Option<(bool, &'static str, &str)> {
    let t = line.trim_start().trim_start_matches('*');
    let colon = t.find([':', '：'])?;
    let name = t[..colon].trim().trim_end_matches('*').trim();
    if name.is_empty() || name.chars().count() > 16 {
        return None;
    }
    let rest = t[colon..].trim_start_matches([':', '：']).trim_start_matches('*');
    if let Some(f) = ORIGIN_FIELDS.iter().find(|f| eq_fold(name, f)) {
        return Some((true, f, rest));
    }
    OTHER_FIELDS.iter().find(|f| eq_fold(name, f)).map(|f| (false, *f, rest))
}

/// `a` equals the lower-case word `lower`, ignoring case, without allocating (this runs on every line).
fn eq_fold(a: &str, lower: &str) -> bool {
    if a.is_ascii() {
        return a.eq_ignore_ascii_case(lower);
    }
    a.chars().flat_map(char::to_lowercase).eq(lower.chars())
}

/// Other known fields named inside one line ("From: bob Date: Tue …", as HTML renders a header block).
fn inline_fields(rest: &str) -> usize {
    let mut n = 0;
    for (pos, _) in rest.match_indices(':') {
        let before = &rest[..pos];
        let word = before.rsplit(|c: char| c.is_whitespace() || c == '*').next().unwrap_or("");
        if !word.is_empty() && ORIGIN_FIELDS.iter().chain(OTHER_FIELDS).any(|f| eq_fold(word, f)) {
            n += 1;
        }
    }
    n
}

/// Two or more distinct header fields, the first naming who or when. Returns the lines the block covers.
fn header_block(lines: &[&str], i: usize) -> Option<usize> {
    let (origin, first, rest) = header_field(lines[i])?;
    if !origin {
        return None;
    }
    let mut seen = vec![first];
    let mut fields = 1 + inline_fields(rest);
    let mut end = i + 1;
    let mut gap = 0;
    let mut j = i + 1;
    while j < lines.len() && j <= i + 8 {
        let l = lines[j];
        if l.trim().is_empty() {
            break;
        }
        match header_field(l) {
            Some((_, f, _)) if !seen.contains(&f) => {
                seen.push(f);
                fields += 1;
                end = j + 1;
                gap = 0;
            }
            Some(_) => break,
            None => {
                // A wrapped value ("Subject: Two\nline subject", "[mailto:\n bob@x]"): one or two lines at most.
                gap += 1;
                if gap > 2 {
                    break;
                }
            }
        }
        j += 1;
    }
    (fields >= 2).then_some(end - i)
}

fn is_verb(word: &str) -> bool {
    let w = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '(' && c != ')');
    if w.is_empty() {
        return false;
    }
    VERBS.iter().any(|v| eq_fold(w, v))
}

fn has_time_or_date(s: &str) -> bool {
    // A digit next to a colon, dot, slash or dash ("6:54", "04/19", "2014-10-17", "14.02."), or a year standing
    // alone ("21 de noviembre de 2013,", "6 октября 2014 г.") — cheap and language-free.
    let b = s.as_bytes();
    b.windows(2).any(|w| w[0].is_ascii_digit() && matches!(w[1], b':' | b'/' | b'.' | b'-')) || has_year(b)
}

/// Four digits starting 19 or 20, not inside a longer number.
fn has_year(b: &[u8]) -> bool {
    b.windows(4).enumerate().any(|(k, w)| {
        (w.starts_with(b"19") || w.starts_with(b"20"))
            && w.iter().all(u8::is_ascii_digit)
            && (k == 0 || !b[k - 1].is_ascii_digit())
            && b.get(k + 4).is_none_or(|c| !c.is_ascii_digit())
    })
}

/// The next non-blank line after `lines[..end]` starts a `>` quote.
fn quote_follows(lines: &[&str], end: usize) -> bool {
    lines.iter().skip(end).take(4).find(|l| !l.trim().is_empty()).is_some_and(|l| l.trim_start().starts_with('>'))
}

/// Gmail's locale-neutral attribution, "2016-03-03 17:21 GMT+01:00 Name", which may lack both address and colon.
fn gmail_iso_attribution(s: &str) -> bool {
    let b = s.as_bytes();
    let iso_date = b.len() > 16
        && b[..10].iter().enumerate().all(|(k, c)| if k == 4 || k == 7 { *c == b'-' } else { c.is_ascii_digit() })
        && b[10] == b' ';
    iso_date
        && s[11..].split_whitespace().next().is_some_and(|t| t.contains(':') && t.starts_with(|c: char| c.is_ascii_digit()))
        && s.split_whitespace().any(|w| w.starts_with("GMT") || w.starts_with("UTC"))
        && !s.ends_with(['.', '!', '?'])
        && s.split_whitespace().count() <= 12
}

/// An attribution starting at line `i`, possibly wrapped over following lines, possibly starting mid-line.
fn attribution(lines: &[&str], i: usize) -> Option<Marker> {
    let first = lines[i].trim_end();
    if first.len() > MAX_ATTRIBUTION_CHARS * 4 {
        return None;
    }
    // Every one-line attribution ends in a colon, a dash (Android) or an address's `>` (old Gmail).
    if first.ends_with([':', '：', '-', '>'])
        && let Some(column) = is_attribution(first.trim(), true)
    {
        return Some(Marker { kind: MarkerKind::Attribution, lines: 1, column: column_in(first, column) });
    }
    let head = first.trim().trim_start_matches(|c: char| c == '-' || c.is_whitespace());
    if gmail_iso_attribution(head) {
        return Some(Marker { kind: MarkerKind::Attribution, lines: 1, column: 0 });
    }
    // "On <date>, Bob <bob@x> wrote" with the colon lost: only when a quote follows. Where the verb comes before
    // the name ("Am <date> schrieb Bob <bob@x>", "Op <date> schreef …") the line ends with the address.
    let verb_last = head.rsplit(char::is_whitespace).next().is_some_and(is_verb);
    let address_last = head.ends_with('>') && head.contains('@') && name_after_verb(head);
    if (verb_last || address_last)
        && quote_follows(lines, i + 1)
        && is_attribution(&format!("{head}:"), false).is_some()
    {
        return Some(Marker { kind: MarkerKind::Attribution, lines: 1, column: 0 });
    }
    // A line that opens like an attribution (an opener word or a date) may continue on the next lines. Any other
    // line may only when the whole is followed by a quote and starts a paragraph: otherwise the last line of a
    // reply could be glued to the attribution below it and cut with it.
    let opens = head.starts_with(|c: char| c.is_ascii_digit())
        || OPENERS.iter().any(|o| head.strip_prefix(o).is_some_and(|r| r.starts_with([' ', ','])));
    // Such a line carries a piece of the attribution itself: the address or the date.
    let paragraph_start = (i == 0 || lines[i - 1].trim().is_empty())
        && (head.contains('@') || head.contains(|c: char| c.is_ascii_digit()));
    if !(opens || paragraph_start) || ends_sentence(head) {
        return None;
    }
    let mut joined = head.to_owned();
    for l in lines.iter().skip(i + 1).take(MAX_ATTRIBUTION_LINES - 1).enumerate() {
        let (k, part) = (l.0 + 1, l.1.trim());
        // Gmail may push the closing `>` of the address onto the next line ("> wrote:", ">:"), where it looks
        // like a quote; it continues the attribution only while an address is open.
        let open_address = joined.matches('<').count() > joined.matches('>').count();
        if part.starts_with('>') && !open_address {
            return None;
        }
        // A wrap never leaves a blank line inside a loose candidate, and a continuation that is an attribution on
        // its own means the real one starts there.
        if !opens && (part.is_empty() || OPENERS.iter().any(|o| part.starts_with(&format!("{o} "))) || part.starts_with(|c: char| c.is_ascii_digit()) && has_time_or_date(part.split_whitespace().next().unwrap_or(""))) {
            return None;
        }
        // Gmail may push the closing ">:" of the address onto a line of its own.
        if !part.starts_with('>') {
            joined.push(' ');
        }
        joined.push_str(part);
        if joined.chars().count() > MAX_ATTRIBUTION_CHARS || ends_sentence(part) {
            return None;
        }
        if is_attribution(&joined, false).is_some() && (opens || quote_follows(lines, i + k + 1)) {
            return Some(Marker { kind: MarkerKind::Attribution, lines: k + 1, column: 0 });
        }
    }
    None
}

/// "… schrieb Bob Lee <bob@x>": the last verb is followed by a name (one to five words, the first capitalised or
/// quoted) and the address; "… I wrote to <billing@x>" is a sentence.
fn name_after_verb(s: &str) -> bool {
    let before_address = s.rfind('<').map_or(s, |k| &s[..k]);
    let words: Vec<&str> = before_address.split_whitespace().collect();
    let Some(v) = words.iter().rposition(|w| is_verb(w)) else { return false };
    let name = &words[v + 1..];
    (1..=5).contains(&name.len()) && name[0].starts_with(|c: char| c.is_uppercase() || c == '"')
}

/// The text ends a sentence. A day number with its ordinal dot ("Fr., 28.", "tir. 18.", as German and the Nordic
/// languages write dates) does not.
fn ends_sentence(s: &str) -> bool {
    let last = s.rsplit(char::is_whitespace).next().unwrap_or("");
    let ordinal = last.len() > 1 && last.strip_suffix('.').is_some_and(|d| d.chars().all(|c| c.is_ascii_digit()));
    s.ends_with(['.', '!', '?']) && !ordinal
}

/// `offset` was measured in the trimmed line; map it back to the untrimmed one.
fn column_in(line: &str, offset: usize) -> usize {
    let lead = line.len() - line.trim_start().len();
    (lead + offset).min(line.len())
}

/// Whether `s` (one attribution candidate, lines joined with spaces) is an attribution; returns the byte offset in
/// `s` where it starts (0 unless the reply shares the line).
fn is_attribution(s: &str, single_line: bool) -> Option<usize> {
    let s = s.trim();
    // Android: "---- John Smith wrote ----".
    let undashed = s.trim_matches(|c: char| c == '-' || c.is_whitespace());
    let dashed = s.starts_with("---") && s.ends_with("---");
    let ends_colon = undashed.ends_with(':') || undashed.ends_with('：');
    let body = undashed.trim_end_matches([':', '：']).trim_end();
    let last_word = body.rsplit(char::is_whitespace).next().unwrap_or("");
    let has_addr = s.contains('@');
    let dated = has_time_or_date(s);

    if ends_colon || dashed {
        // Verb form: "On <date>, <name> wrote:", "Op <date> schreef <name>:", "Le … a écrit :".
        let verb_at = if is_verb(last_word) {
            Some(body.len() - last_word.len())
        } else if ends_colon {
            body.split_whitespace().position(is_verb).map(|_| 0)
        } else {
            None
        };
        if verb_at.is_some() && (dated || has_addr || dashed) {
            return Some(start_of_attribution(s, single_line));
        }
        // Verbless form: "2014-10-17 11:28 GMT+03:00 Bob <bob@x>:", "26.06.2014, 14:41, "Al" <a@x>:".
        if ends_colon && dated && has_addr && !looks_like_header_field(s) {
            return Some(0);
        }
    }
    // Gmail's old form, no colon: "2011/4/7 Name <name@example.com>".
    if single_line && s.starts_with(|c: char| c.is_ascii_digit()) && dated && s.ends_with('>') && has_addr {
        return Some(0);
    }
    None
}

/// "Date: Tue, …" is a header field, not an attribution: header blocks are judged by [`header_block`].
fn looks_like_header_field(s: &str) -> bool {
    header_field(s).is_some()
}

/// Where an attribution starts inside its line: at an opener word when one follows other text ("reply On Wed, …
/// wrote:"), otherwise at the start. Any dashes between the reply and the opener go with the attribution.
fn start_of_attribution(s: &str, single_line: bool) -> usize {
    if !single_line {
        return 0;
    }
    let lead = s.len() - s.trim_start_matches(|c: char| c == '-' || c.is_whitespace()).len();
    for opener in OPENERS {
        let needle = format!(" {opener} ");
        let Some(pos) = s.find(&needle) else { continue };
        if pos == 0 || pos < lead {
            continue;
        }
        // Only when what precedes is short reply text, not part of the attribution itself ("On Mon, Le …").
        if s[..pos].contains(',') && s[..pos].contains(char::is_numeric) {
            continue;
        }
        if s.starts_with(opener) {
            return 0;
        }
        let before = s[..pos].trim_end_matches(|c: char| c == '-' || c.is_whitespace());
        return before.len();
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Option<Marker> {
        let lines: Vec<&str> = text.lines().collect();
        marker_at(&lines, 0)
    }

    #[test]
    fn attributions_in_many_languages() {
        for s in [
            "On 11-Apr-2011, at 6:54 PM, Roman Tkachenko <romant@example.com> wrote:",
            "Am 25.11.2014 um 14:59 schrieb Max Muster <max@example.de>:",
            "Le 23 janv. 2015 à 22:03, Brendan xxx <brendan.xxx@xxx.com> a écrit :",
            "El 3 mar 2020, a las 10:00, Ana <ana@example.es> escribió:",
            "Il giorno 3 mar 2020, alle ore 10:00, Ana <ana@example.it> ha scritto:",
            "Op 13-02-2014 3:18 schreef Julius Caesar <pantheon@rome.com>:",
            "Den 14 september, 2015 02:23:18, Valentino Rudy (valentino@rudy.be) skrev:",
            "---- John Smith wrote ----",
            "2014-10-17 11:28 GMT+03:00 Postmaster <postmaster@example.org>:",
        ] {
            assert_eq!(at(s).map(|m| m.kind), Some(MarkerKind::Attribution), "{s}");
        }
    }

    #[test]
    fn wrapped_and_shared_lines() {
        let m = at("W dniu 28 stycznia 2015 01:53 użytkownik Zoe <zoe@example.com>\nnapisał:").unwrap();
        assert_eq!(m.lines, 2);
        let line = "reply--- On Wed, Apr 4, 2012 at 3:59 PM, me@domain.com wrote:";
        let m = at(line).unwrap();
        assert_eq!(&line[..m.column], "reply");
    }

    #[test]
    fn loose_wraps_need_a_quote_below() {
        let nb = "tir. 3. mar. 2026 kl. 09:14 skrev Kundeservice <kundeservice@example.org\n>:\n\n> Hei";
        assert_eq!(at(nb).map(|m| m.lines), Some(2));
        let de = "Support <support@example.de> schrieb am Di., 3.\nMärz 2026 um 09:14 Uhr:\n> Hallo";
        assert_eq!(at(de).map(|m| m.lines), Some(2));
        // The same two lines with no quote below are left alone: they could be the end of a reply.
        assert_eq!(at("Support <support@example.de> schrieb am Di., 3.\nMärz 2026 um 09:14 Uhr:\nHallo"), None);
        // A reply's last line is never glued to the attribution below it.
        assert_eq!(at("Thanks Kim\nOn Mar 3, 2026 9:14 AM, \"Shop\" <\nshop@example.com> wrote:\n> Hi"), None);
    }

    #[test]
    fn colon_less_and_iso_attributions() {
        let no_colon = "On Tue, 3 Mar 2026 at 09:14, Billing <billing@example.com> wrote\n\n> Refund issued.";
        assert_eq!(at(no_colon).map(|m| m.kind), Some(MarkerKind::Attribution));
        assert_eq!(at("On Tue, 3 Mar 2026 at 09:14, Billing <billing@example.com> wrote\n\nThanks"), None);
        let verb_first = "Am 03.03.2026 um 09:14 schrieb Service <service@example.de>\n\n> Passwort";
        assert_eq!(at(verb_first).map(|m| m.kind), Some(MarkerKind::Attribution));
        assert_eq!(at("Am 03.03.2026 um 09:14 schrieb Service <service@example.de>\n\nDanke"), None);
        assert_eq!(at("On 3.3.2026 I wrote to <billing@example.com>\n> And?"), None);
        assert_eq!(at("2026-03-03 09:14 GMT+01:00 Kim Lee").map(|m| m.kind), Some(MarkerKind::Attribution));
        assert_eq!(at("El martes, 3 de marzo de 2026, Ana escribió:").map(|m| m.kind), Some(MarkerKind::Attribution));
    }

    #[test]
    fn rules_go_with_the_marker_below_them() {
        let block = "________________________________\nFrom: Sales <s@example.com>\nSent: Tuesday\nTo: Jo\n\nold";
        assert_eq!(at(block).map(|m| (m.kind, m.lines)), Some((MarkerKind::HeaderBlock, 4)));
        let spaced = " ------------------------------\n\n*From:* Sales\n*Sent:* Tuesday";
        assert_eq!(at(spaced).map(|m| m.lines), Some(4));
        assert_eq!(at("-----\nJust a rule above text"), None);
        assert_eq!(at("*-------- Original Message --------*").map(|m| m.kind), Some(MarkerKind::OriginalMessage));
    }

    #[test]
    fn prose_is_not_a_marker() {
        for s in ["On blah-blah-blah", "Date: Wednesday 3, October 2011\nTime: 7 : 00am\nAddress: 130 Fox St",
            "I wrote: hello", "---- Enter Feedback Below ----", "To: all staff"] {
            assert_eq!(at(s), None, "{s}");
        }
    }

    #[test]
    fn header_blocks_and_separators() {
        assert_eq!(at("Von: a@example.com\nGesendet: Dienstag\nAn: b\nBetreff: x").map(|m| m.lines), Some(4));
        assert_eq!(at("-----Ursprüngliche Nachricht-----").map(|m| m.kind), Some(MarkerKind::OriginalMessage));
        assert_eq!(at("---------- Forwarded message ----------").map(|m| m.kind), Some(MarkerKind::Forwarded));
    }
}
