//! Finding the signature at the end of a reply: separator lines, "Sent from my …" lines, `-Name` lines.
//!
//! Role: split a reply (already free of quoted history) into what was said and how it was signed.
//!
//! Policy: a **signature** is what a mail client or a signature setting adds below the message, in a shape that
//! says so: a block below an RFC 3676 `-- ` separator (or another rule line standing alone), a device or app
//! footer ("Sent from my iPhone", "Envoyé à partir de Outlook pour iOS", "Get Outlook for Android"), a
//! mailing-list footer below its `____` rule, and a `-Name` line. A **sign-off** is what the customer typed to
//! close the message ("Thanks!", "Best regards,\n\n//Jef", "Cheers"): it stays. Discourse's trimmer keeps
//! sign-offs and drops signatures; talon keeps both. We follow Discourse, because the ticket body is what a model
//! reads and an agent sees first: a footer is noise to both, while a sign-off costs a line and the rules that
//! would cut it ("a thank-you phrase followed by short lines") also cut the customer's last words ("Thanks, the
//! invoice is wrong" … "Regards, Ana from Acme, order 4411"). Losing a customer's words is worse than keeping a
//! sign-off, so whenever a shape is in doubt the text stays. The raw body always travels beside the ticket.
//!
//! Key decisions:
//! - Only the tail is searched: the last [`MAX_SIGNATURE_LINES`] non-blank lines, plus any run of device
//!   footers at the very end (a client may stack several, and each is recognisable on its own). The exact RFC
//!   `-- ` line is looked for further up (an address card or a legal notice below it may be long).
//! - A device line is a known opening ("Sent from", "Envoyé depuis", "发自我的") followed by a short device or
//!   app name, or a frame for languages that put the verb last ("Von meinem … gesendet", "Outlook voor …
//!   downloaden", matched before the link the app appends), then nothing but a link, a short apology for typos
//!   (at most eight words) or a carrier's second device phrase ending in a device word ("Sent from my Verizon,
//!   Samsung Galaxy smartphone"): "Sent from my desk, is much easier…" and "Sent from my laptop, phone is
//!   broken" say something and stay. The openings and frames are data, one entry per client localisation.
//! - Rule lines are tested as separators only where they cannot be layout: a rule directly under a line of text
//!   underlines it (a heading, a table header), and a rule with another rule of the same kind below it draws a
//!   table. `-- ` (the RFC form, two dashes) and `____` lines are always separators.
//! - A `-Name` line must start at the margin and must not continue a list: `   - how about bullets` is a bullet.
//! - A reply that would be left empty is not split: "--\nRoman" alone is the message.

/// The longest signature looked for, in non-blank lines (device footers stacked at the very end not counted).
pub const MAX_SIGNATURE_LINES: usize = 11;
/// How far up an exact RFC 3676 `-- ` separator is looked for, in non-blank lines.
const MAX_RFC_SIGNATURE_LINES: usize = 40;
/// A line of a signature tail that follows a device line is at most this long.
const SHORT_LINE: usize = 60;

/// Sign-off phrases, lower case. Not signatures (see the module note): used only to tell a closing below a
/// quote from an answer to it ([`is_closing`]).
const SIGN_OFFS: &[&str] = &[
    "thanks", "thank you", "thanks a lot", "many thanks", "thanks in advance", "thank you in advance", "thx", "ty",
    "regards", "best regards", "kind regards", "warm regards", "best", "all the best", "cheers", "sincerely",
    "yours sincerely", "yours truly", "br", "rgds", "best wishes", "mit freundlichen grüßen", "mit freundlichen grüssen",
    "freundliche grüße", "viele grüße", "beste grüße", "liebe grüße", "mit lieben grüßen", "gruß", "grüße", "danke",
    "vielen dank", "cordialement", "bien cordialement", "merci", "bien à vous", "salutations", "saludos",
    "un saludo", "atentamente", "gracias", "muchas gracias", "cordiali saluti", "saluti", "distinti saluti",
    "grazie", "met vriendelijke groet", "vriendelijke groet", "groeten", "bedankt", "pozdrawiam", "dziękuję",
    "med vänlig hälsning", "vänliga hälsningar", "hälsningar", "tack", "med venlig hilsen", "venlig hilsen",
    "hilsen", "mvh", "takk", "tak", "atenciosamente", "obrigado", "obrigada", "с уважением", "спасибо",
    "ystävällisin terveisin", "kiitos", "saygılarımla", "teşekkürler",
];

/// Openings of device and app footers, lower case, each followed by the device or app name.
const DEVICE_OPENINGS: &[&str] = &[
    "sent from my ", "sent from ", "sent with ", "sent via ", "sent by ", "sent using ", "sent on my ",
    "sent wirelessly from ", "get outlook for ", "get [outlook for ", "envoyé de mon ", "envoyé depuis mon ",
    "envoyé depuis ", "envoyé à partir de ", "envoyé avec ", "envoyé de ", "envoyé sans fil ", "enviado desde mi ",
    "enviado desde ", "enviado con ", "enviado de mi ", "enviado do meu ", "enviado de meu ", "enviado do ",
    "enviado a partir do ", "inviato da ", "inviato dal mio ", "inviato con ", "verzonden vanaf ", "verstuurd vanaf ",
    "verzonden met ", "verstuurd met ", "verzonden van mijn ", "verstuurd van mijn ", "gesendet von ",
    "gesendet mit ", "wysłane z ", "wysłano z ", "skickat från ", "skickat med ", "sendt fra ", "sendt med ",
    "отправлено с ", "отправлено из ", "надіслано з ", "lähetetty ", "odesláno z ", "odoslané z ", "trimis de pe ",
    "poslano s ", "poslano iz ", "послато са ", "изпратено от ", "στάλθηκε από ", "dikirim dari ", "được gửi từ ",
    "enviat des del ", "enviat des de ", "saadetud ", "nosūtīts no ", "išsiųsta iš ",
    // Chinese clients write the name with or without a space after the opening ("发自我的iPhone").
    "從我的", "从我的", "发自我的", "寄自我的",
    // Outlook's mobile app footer ("Get Outlook for iOS") in its localisations.
    "obtenez outlook pour ", "obtenir outlook pour ", "télécharger outlook pour ", "holen sie sich outlook für ",
    "obtener outlook para ", "descargar outlook para ", "obtenha o outlook para ", "obter o outlook para ",
    "baixe o outlook para ", "scarica outlook per ", "ottieni outlook per ", "download outlook voor ",
    "hent outlook til ", "hämta outlook för ", "skaffa outlook för ", "få outlook for ", "hanki outlook for ",
    "pobierz aplikację outlook dla ", "pobierz outlook dla ", "получить outlook для ", "скачайте outlook для ",
    "скачать outlook для ", "získat outlook pro ", "stáhnout outlook pro ",
];

/// Device footers whose language puts the verb last: `(opening, ending)`.
const DEVICE_FRAMES: &[(&str, &str)] = &[
    ("von meinem ", " gesendet"),
    ("diese nachricht wurde von meinem ", " gesendet"),
    ("", "'umdan gönderildi"),
    ("", "から送信"),
    ("", "에서 보냄"),
    ("az ", " küldve"),
    ("", "-ról küldve"),
    ("", "-ről küldve"),
    ("", " outlook を入手"),
    // Outlook's app footer with the verb last; the frame keeps "Outlook für Mac stürzt ab" a sentence.
    ("outlook für ", " herunterladen"),
    ("outlook für ", " beziehen"),
    ("outlook voor ", " downloaden"),
    ("נשלח מה-", " שלי"),
    ("from my ", ""),
];

/// Words that make a "From my …" line a device footer rather than a sentence.
const DEVICE_WORDS: &[&str] =
    &["iphone", "ipad", "android", "phone", "mobile", "galaxy", "blackberry", "tablet", "smartphone", "handy"];

/// The longest apology after a device name ("please excuse any typos or brevity"), in words.
const MAX_APOLOGY_WORDS: usize = 8;

/// Words of the apology that may follow a device name ("please excuse any typos").
const APOLOGIES: &[&str] = &[
    "excuse", "typo", "brevity", "brief", "sorry", "pardon", "entschuldig", "tippfehler", "kürze", "fautes",
    "disculp", "errores", "scusa", "refuso",
];

/// Splits `text` into `(body, signature)`; the signature is `None` when none was found.
pub fn split_signature(text: &str) -> (String, Option<String>) {
    let lines: Vec<&str> = text.trim_end().split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    let Some(start) = signature_start(&lines) else {
        return (text.trim_end().to_owned(), None);
    };
    let body = trim_tail(&lines[..start]);
    if body.trim().is_empty() {
        return (text.trim_end().to_owned(), None);
    }
    (body, Some(lines[start..].join("\n")))
}

/// Removes the signature, if any.
pub fn strip_signature(text: &str) -> String {
    split_signature(text).0
}

/// The line where the signature starts, if the tail of `lines` holds one.
pub fn signature_start(lines: &[&str]) -> Option<usize> {
    // Device footers stacked at the very end, any number of them.
    let mut run = lines.len();
    while run > 0 && (is_blank(lines[run - 1]) || is_device_line(lines[run - 1]) || is_tracker_mark(lines[run - 1])) {
        run -= 1;
    }
    let mut window: Vec<usize> = (0..run).rev().filter(|&i| !is_blank(lines[i])).take(MAX_SIGNATURE_LINES).collect();
    window.reverse();
    let from = window.first().copied().unwrap_or(run);
    (from..lines.len()).find(|&i| opens_signature(lines, i)).or_else(|| {
        // The RFC 3676 separator exactly ("-- ", trailing space and all) is never anything else: the block below
        // it may be longer than the window (an address card, a legal notice).
        (0..from).rev().filter(|&i| !is_blank(lines[i])).take(MAX_RFC_SIGNATURE_LINES).find(|&i| lines[i] == "-- ")
    })
}

/// Whether the text from `lines[0]` on is only a closing: a sign-off with a few short lines, or a signature.
/// The quote stripper asks this of the text below a quote: a closing there does not answer the quote.
pub fn is_closing(lines: &[&str]) -> bool {
    let content: Vec<usize> = (0..lines.len()).filter(|&i| !is_blank(lines[i])).collect();
    let Some(&first) = content.first() else { return true };
    if opens_signature(lines, first) {
        return true;
    }
    is_sign_off(lines[first]) && content.len() <= 4 && content[1..].iter().all(|&i| is_short_name_line(lines[i]))
}

fn opens_signature(lines: &[&str], i: usize) -> bool {
    let line = lines[i];
    let after = &lines[i + 1..];
    if is_separator(lines, i) {
        return true;
    }
    if is_device_line(line) {
        // What follows a device footer is more footers, or at most two short lines (a name, a disclaimer link).
        let other: Vec<&&str> = after.iter().filter(|l| !is_blank(l) && !is_device_line(l)).collect();
        return other.len() <= 2 && other.iter().all(|l| l.trim().chars().count() <= SHORT_LINE);
    }
    is_dash_name(lines, i) && after.iter().filter(|l| !is_blank(l)).count() <= 3
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// Mail trackers (Streak, Mixmax) put a lone `ᐧ` (U+1427) in the text part where their pixel sits in the HTML.
fn is_tracker_mark(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty() && t.chars().all(|c| c == '\u{1427}' || c == '\u{200b}' || c.is_whitespace())
}

/// The body above a signature, with trailing blank lines and tracker marks dropped.
fn trim_tail(lines: &[&str]) -> String {
    let mut end = lines.len();
    while end > 0 && (is_blank(lines[end - 1]) || is_tracker_mark(lines[end - 1])) {
        end -= 1;
    }
    lines[..end].join("\n").trim_end().to_owned()
}

fn is_separator(lines: &[&str], i: usize) -> bool {
    let t = lines[i].trim_end();
    // "-- " is the RFC 3676 separator; clients also write "--". Underscores are nobody's layout but a footer's.
    if t == "--" || (t.len() >= 4 && t.chars().all(|c| c == '_')) {
        return true;
    }
    if !super::reply_headers::is_rule(t) {
        return false;
    }
    let under_text = i > 0 && !is_blank(lines[i - 1]);
    let c = t.trim().chars().next();
    let another_rule = lines[i + 1..].iter().any(|l| super::reply_headers::is_rule(l) && l.trim().chars().next() == c);
    !under_text && !another_rule
}

/// A device or app footer (see the module note).
pub fn is_device_line(line: &str) -> bool {
    let t = line.trim().trim_matches(|c: char| "()<>*_".contains(c)).trim();
    if t.is_empty() || t.chars().count() > 160 {
        return false;
    }
    let l = t.to_lowercase();
    // A frame's ending comes before the link the app appends ("… downloaden<https://aka.ms/…>").
    let framed = without_trailing_link(&l);
    for (open, end) in DEVICE_FRAMES {
        let Some(rest) = framed.strip_prefix(open) else { continue };
        let rest = rest.trim_end_matches(['.', '!']);
        if end.is_empty() {
            // "From my iPhone 6": a sentence can start like this, so the name must be a device's.
            return rest.split_whitespace().count() <= 3 && DEVICE_WORDS.iter().any(|w| rest.contains(w));
        }
        if let Some(name) = rest.strip_suffix(end) {
            return !name.is_empty() && name.split_whitespace().count() <= 5;
        }
    }
    DEVICE_OPENINGS.iter().find_map(|p| l.strip_prefix(p)).is_some_and(device_name_then_nothing)
}

/// `line` without a link at its end (`<https://…>`, `[https://…]`, ` https://…`).
fn without_trailing_link(line: &str) -> &str {
    match line.rfind("http") {
        Some(k) if !line[k..].contains(char::is_whitespace) => {
            line[..k].trim_end_matches(['<', '[', '(', ' ']).trim_end()
        }
        _ => line,
    }
}

/// A short device or app name, then nothing but a link or an apology.
fn device_name_then_nothing(rest: &str) -> bool {
    let cut = [", ", ". ", " - ", "; "].iter().filter_map(|b| rest.find(b)).min();
    let (name, more) = match cut {
        Some(k) => (&rest[..k], rest[k..].trim_start_matches([',', '.', '-', ';', ' '])),
        None => (rest, ""),
    };
    let name_ok = !name.trim().is_empty() && name.split_whitespace().count() <= 6;
    let more = more.trim().trim_end_matches(['.', '!']);
    let words = more.split_whitespace().count();
    // Carriers brand the footer in two parts: "Sent from my Verizon, Samsung Galaxy smartphone". The second part
    // ends with the device word: "Sent from my laptop, phone is broken" says something.
    let device_more = words <= 4 && more.rsplit(' ').next().is_some_and(|w| DEVICE_WORDS.iter().any(|d| w.contains(d)));
    // An apology is a short phrase; a sentence that goes on past it is the customer's.
    let apology = words <= MAX_APOLOGY_WORDS && APOLOGIES.iter().any(|a| more.contains(a));
    let link = more.starts_with(['<', '[', '(']) || more.starts_with("http");
    name_ok && (more.is_empty() || link || device_more || apology)
}

fn is_sign_off(line: &str) -> bool {
    let t = line.trim().trim_end_matches([',', '!', '.', ':', ';', '-']).trim();
    // "Regards, Roman": the phrase, then at most a name on the same line ("Thanks, but …" is a sentence).
    let (phrase, name) = t.split_once(',').map_or((t, ""), |(p, n)| (p.trim(), n.trim()));
    let name_ok = name.split_whitespace().count() <= 3
        && name.split_whitespace().all(|w| w.starts_with(|c: char| c.is_uppercase() || !c.is_alphabetic()));
    name_ok && SIGN_OFFS.contains(&phrase.to_lowercase().as_str())
}

/// A name, a title or a phone number: short, no sentence.
fn is_short_name_line(line: &str) -> bool {
    let t = line.trim();
    t.chars().count() <= SHORT_LINE && !t.ends_with(['?', '.', '!', ':']) && t.split_whitespace().count() <= 5
}

/// "-Roman", "- Lev.": a dash and a name, at the margin, not one of a list's items.
fn is_dash_name(lines: &[&str], i: usize) -> bool {
    let line = lines[i].trim_end();
    let Some(rest) = line.strip_prefix('-') else { return false };
    let rest = rest.trim_start();
    let name = !rest.is_empty()
        && rest.split_whitespace().count() <= 3
        && rest.chars().next().is_some_and(char::is_alphabetic)
        && rest.chars().all(|c| c.is_alphabetic() || c == ' ' || c == '.');
    let item = |l: &&str| l.trim_start().starts_with(['-', '*', '•']);
    let prev_item = lines[..i].iter().rev().find(|l| !is_blank(l)).is_some_and(item);
    let next_item = lines[i + 1..].iter().find(|l| !is_blank(l)).is_some_and(item);
    name && !prev_item && !next_item
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(split_signature("Wow. Awesome!\n--\nBob Smith"), ("Wow. Awesome!".into(), Some("--\nBob Smith".into())));
        assert_eq!(split_signature("Hey!\n\nSent from my iPhone!").1.as_deref(), Some("Sent from my iPhone!"));
        assert_eq!(split_signature("Ok\n\nEnvoyé à partir de Outlook pour iOS").0, "Ok");
        assert_eq!(split_signature("Ok\n\nVon meinem iPhone gesendet").0, "Ok");
        assert_eq!(split_signature("Done, thanks.\n-Abhishek Kona").0, "Done, thanks.");
        assert_eq!(split_signature("Ok\n\nSent from my Verizon, Samsung Galaxy smartphone").0, "Ok");
        assert_eq!(split_signature("Ok\n\nObtenez Outlook pour iOS<https://aka.ms/o0ukef>").0, "Ok");
        let notice = format!("Ok\n\n-- \nAna Lima\n{}", "Confidential notice line.\n".repeat(20));
        assert_eq!(split_signature(&notice).0, "Ok");
    }

    #[test]
    fn device_lines_in_many_languages() {
        for line in [
            "Sent from my iPhone", "Envoyé de mon iPhone", "Von meinem iPhone gesendet", "Enviado desde mi iPhone",
            "Verzonden vanaf mijn iPhone", "Skickat från min iPhone", "Sendt fra min iPhone", "Inviato da iPhone",
            "Wysłane z iPhone'a", "Отправлено с iPhone", "iPhoneから送信", "Enviado do meu iPhone",
            "Lähetetty iPhonesta", "Odesláno z iPhonu", "Odoslané z iPhonu", "Trimis de pe iPhone-ul meu",
            "Poslano s mog iPhonea", "Στάλθηκε από το iPhone μου", "Dikirim dari iPhone saya",
            "Được gửi từ iPhone của tôi", "Enviat des del meu iPhone", "Az iPhone-omról küldve", "iPhone-ról küldve",
            "나의 iPhone에서 보냄", "发自我的iPhone", "发自我的 iPhone", "從我的 iPhone 傳送", "iPhone'umdan gönderildi",
            "Надіслано з iPhone", "נשלח מה-iPhone שלי", "Get Outlook for Android",
            "Get Outlook for iOS<https://aka.ms/o0ukef>",
            "Obtenir Outlook pour Android", "Télécharger Outlook pour Android", "Outlook für Android herunterladen",
            "Outlook für iOS beziehen", "Obtener Outlook para iOS", "Ottieni Outlook per iOS",
            "Scarica Outlook per Android",
            "Outlook voor Android downloaden", "Obter o Outlook para Android", "Baixe o Outlook para Android",
            "Hent Outlook til Android", "Skaffa Outlook för iOS", "Få Outlook for Android", "Hanki Outlook for iOS",
            "Pobierz aplikację Outlook dla systemu Android", "Получить Outlook для Android", "Stáhnout Outlook pro iOS",
            "Android 版 Outlook を入手", "Outlook voor Android downloaden<https://aka.ms/ghei36>",
            "Sent from Outlook for Android", "Sent from Yahoo Mail on Android",
            "Sent from my phone, please excuse any typos",
        ] {
            assert!(is_device_line(line), "{line}");
        }
        for line in [
            "Sent from my laptop, phone is broken",
            "Sent from my phone, sorry for the photo quality, the error is on page two of the invoice",
            "Outlook for iOS crashes when I open the invoice",
        ] {
            assert!(!is_device_line(line), "{line}");
        }
    }

    #[test]
    fn sign_offs_stay() {
        assert_eq!(split_signature("Hey!\n\nThanks!\nRoman"), ("Hey!\n\nThanks!\nRoman".into(), None));
        let text = "Danke für die Hilfe.\n\nMit freundlichen Grüßen\nAnna Schmidt";
        assert_eq!(split_signature(text).0, text);
        // A sign-off above the separator: the separator still opens the signature.
        assert_eq!(split_signature("Fixed.\n\nThanks,\nBob\n-- \nBob Smith | Acme").0, "Fixed.\n\nThanks,\nBob");
    }

    #[test]
    fn customer_words_that_look_like_signatures_stay() {
        for text in [
            "Here is what I mean:\n\n   - how about bullets\n   - and another",
            "Some text.\n\nSent from my desk, is much easier then my mobile phone.",
            "Prices:\n\nItem    Qty\n-------------\nA       2\n\nTotal   2",
            "Prices:\n\n-------------\nItem    Qty\n-------------\nA       2",
            "From my experience the export fails.",
        ] {
            assert_eq!(split_signature(text), (text.to_owned(), None), "{text}");
        }
    }

    #[test]
    fn never_left_empty_and_lists_survive() {
        assert_eq!(split_signature("--\nRoman"), ("--\nRoman".into(), None));
        let list = "Look at this:\n\n--> one\n--> two\n--\nRoman";
        assert_eq!(split_signature(list).0, "Look at this:\n\n--> one\n--> two");
    }

    #[test]
    fn closings_below_a_quote() {
        assert!(is_closing(&["", "Regards, Roman"]));
        assert!(is_closing(&["Thanks,", "Bob Smith", "Acme"]));
        assert!(is_closing(&["_______", "list mailing list", "https://lists.example.org/listinfo/list"]));
        assert!(!is_closing(&["Pro, since March."]));
        assert!(!is_closing(&["Thanks, but the export still fails on page two."]));
    }
}
