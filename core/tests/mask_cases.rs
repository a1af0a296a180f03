//! Masking, case by case: the real-shaped cases in `tests/fixtures/mask/` (published test card numbers and IBANs,
//! providers' documented key shapes; and the phone numbers, order ids, tracking ids, dates, ISBNs, UUIDs and
//! hashes that must survive), then generated ones: Luhn-valid numbers of every network prefix and length in
//! several separator styles, IBANs of every registry country, tokens of every provider — and their near misses.

use std::time::Instant;

use tr_core::mask::{MaskCounts, mask};

fn fixture(name: &str) -> Vec<String> {
    let path = format!("{}/../tests/fixtures/mask/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| l.replace("\\r", "\r").replace("\\n", "\n"))
        .collect()
}

fn compact(s: &str) -> String {
    s.chars().filter(|c| !matches!(c, ' ' | '-' | '\u{a0}')).collect()
}

fn only(kind: &str) -> MaskCounts {
    match kind {
        "card" => MaskCounts { card: 1, ..MaskCounts::default() },
        "iban" => MaskCounts { iban: 1, ..MaskCounts::default() },
        "secret" => MaskCounts { secret: 1, ..MaskCounts::default() },
        other => panic!("unknown kind {other}"),
    }
}

/// Asserts one value of `kind` was masked in `text` and `value` is gone; returns the masked text.
fn assert_masked(kind: &str, text: &str, value: &str) -> String {
    let m = mask(text);
    assert_eq!(m.counts, only(kind), "{kind} in {text:?} -> {:?}", m.text);
    assert!(!compact(&m.text).contains(&compact(value)), "`{value}` survived: {:?}", m.text);
    m.text
}

fn assert_kept(text: &str) {
    let m = mask(text);
    assert_eq!((m.text.as_str(), m.counts), (text, MaskCounts::default()), "masked a non-value");
}

#[test]
fn real_shaped_values_are_masked() {
    let mut per_kind = std::collections::BTreeMap::<String, usize>::new();
    for line in fixture("positive.tsv") {
        let fields: Vec<&str> = line.split('\t').collect();
        let [kind, text, value] = fields[..] else { panic!("three fields expected: {line:?}") };
        let out = assert_masked(kind, text, value);
        let marker = match kind {
            "card" => format!("[card ending {}]", &compact(value)[compact(value).len() - 4..]),
            "iban" => format!("[iban ending {}]", &compact(value)[compact(value).len() - 4..]),
            _ => "[secret removed]".to_owned(),
        };
        assert!(out.contains(&marker), "{out:?} lacks {marker}");
        *per_kind.entry(kind.to_owned()).or_default() += 1;
    }
    println!("real-shaped positives: {per_kind:?}");
    assert!(per_kind.values().sum::<usize>() >= 30);
}

#[test]
fn real_shaped_look_alikes_survive() {
    let mut per_kind = std::collections::BTreeMap::<String, usize>::new();
    for line in fixture("negative.tsv") {
        let (kind, text) = line.split_once('\t').unwrap_or_else(|| panic!("kind and text expected: {line:?}"));
        assert_kept(text);
        *per_kind.entry(kind.to_owned()).or_default() += 1;
    }
    println!("real-shaped negatives: {per_kind:?}");
    assert!(per_kind.values().sum::<usize>() >= 30);
}

#[test]
fn labels_and_surroundings_stay() {
    assert_eq!(mask("Password : Tr0ub4dor&3 (the new one)").text, "Password : [secret removed] (the new one)");
    assert_eq!(mask("Authorization: Bearer 9f8e7d6c5b4a39281706f5e4d3c2b1a0\nthanks").text, "Authorization: Bearer [secret removed]\nthanks");
    assert_eq!(mask("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\nthanks").text, "[secret removed]\nthanks");
    assert_eq!(mask("4111 1111 1111 1111 123 is the cvv").text, "[card ending 1111] 123 is the cvv");
    assert_eq!(mask("IBAN: GB82WEST12345698765432.").text, "IBAN: [iban ending 5432].");
    let two = mask("old 4111111111111111, new 5555 5555 5555 4444");
    assert_eq!((two.text.as_str(), two.counts.card), ("old [card ending 1111], new [card ending 4444]", 2));
}

/// xorshift64*: deterministic cases, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn digits(&mut self, n: usize) -> String {
        (0..n).map(|_| char::from(b'0' + self.below(10) as u8)).collect()
    }
    fn from(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n).map(|_| char::from(alphabet[self.below(alphabet.len() as u64) as usize])).collect()
    }
}

fn luhn_digit(partial: &str) -> char {
    let sum: u32 = partial
        .bytes()
        .rev()
        .enumerate()
        .map(|(n, b)| {
            let d = u32::from(b - b'0');
            if n % 2 == 0 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d }
        })
        .sum();
    char::from(b'0' + ((10 - sum % 10) % 10) as u8)
}

/// Network prefixes and the lengths each issues (the ranges `tr_core::mask` knows).
const NETWORKS: &[(&str, &[usize])] = &[
    ("4", &[13, 16, 19]),
    ("51", &[16]),
    ("55", &[16]),
    ("2221", &[16]),
    ("2720", &[16]),
    ("34", &[15]),
    ("37", &[15]),
    ("6011", &[16, 19]),
    ("65", &[16]),
    ("3528", &[16]),
    ("3589", &[16]),
    ("36", &[14]),
    ("300", &[14]),
    ("62", &[16, 17, 18, 19]),
    ("6759", &[13, 16, 19]),
];

/// `digits` written as a person might: whole, in fours with spaces or dashes, or Amex/Diners style.
fn styles(digits: &str) -> Vec<String> {
    let fours = |sep: &str| {
        let groups: Vec<&str> = digits.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap()).collect();
        if groups.last().is_some_and(|g| g.len() == 1) {
            let (last, rest) = groups.split_last().unwrap();
            let merged = format!("{}{last}", rest.last().unwrap());
            let mut out: Vec<String> = rest[..rest.len() - 1].iter().map(|s| s.to_string()).collect();
            out.push(merged);
            return out.join(sep);
        }
        groups.join(sep)
    };
    let mut out = vec![digits.to_owned(), fours(" "), fours("-"), fours(" - ")];
    if digits.len() == 15 {
        out.push(format!("{} {} {}", &digits[..4], &digits[4..10], &digits[10..]));
    }
    if digits.len() == 14 {
        out.push(format!("{} {} {}", &digits[..4], &digits[4..10], &digits[10..]));
    }
    out
}

#[test]
fn generated_cards_are_masked_and_their_near_misses_kept() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut positives, mut negatives) = (0, 0);
    for (prefix, lengths) in NETWORKS {
        for &len in *lengths {
            for _ in 0..8 {
                let partial = format!("{prefix}{}", rng.digits(len - prefix.len() - 1));
                let number = format!("{partial}{}", luhn_digit(&partial));
                let last4 = &number[len - 4..];
                for written in styles(&number) {
                    let text = format!("Please refund {written}, thanks");
                    let out = assert_masked("card", &text, &number);
                    assert_eq!(out, format!("Please refund [card ending {last4}], thanks"));
                    positives += 1;
                }
                // One digit off fails Luhn; glued to a word it is an id. (Grouped, a 17–19 digit near miss can
                // read as a 16-digit card and its CVV — masked by design — so only its whole form is a negative.)
                let check = number.as_bytes()[len - 1] - b'0';
                let off = format!("{partial}{}", (check + 1) % 10);
                let near_misses = if len > 16 { vec![off.clone()] } else { styles(&off) };
                for written in near_misses {
                    assert_kept(&format!("ref {written} today"));
                    negatives += 1;
                }
                for glued in [format!("ORD{number}"), format!("{number}x"), format!("id_{number}"), format!("0.{number}")] {
                    assert_kept(&glued);
                    negatives += 1;
                }
            }
        }
    }
    // Numbers no network issues: a first digit of 0, 1, 7, 8 or 9, Luhn-valid or not.
    for first in ['0', '1', '7', '8', '9'] {
        for len in [13, 16, 19] {
            let partial = format!("{first}{}", rng.digits(len - 2));
            assert_kept(&format!("order {partial}{}", luhn_digit(&partial)));
            negatives += 1;
        }
    }
    println!("generated cards: {positives} masked, {negatives} kept");
}

const IBAN_COUNTRIES: &[(&str, usize)] = &[
    ("DE", 22), ("GB", 22), ("FR", 27), ("ES", 24), ("IT", 27), ("NL", 18), ("BE", 16), ("CH", 21), ("AT", 20),
    ("NO", 15), ("PL", 28), ("SE", 24), ("PT", 25), ("IE", 22), ("DK", 18), ("FI", 18), ("LU", 20), ("MT", 31),
    ("SA", 24), ("BR", 29), ("RU", 33), ("LC", 32),
];

fn iban_check(country: &str, bban: &str) -> u32 {
    let moved = format!("{bban}{country}00");
    let rem = moved.chars().fold(0u32, |rem, c| match c.to_digit(10) {
        Some(d) => (rem * 10 + d) % 97,
        None => (rem * 100 + (c as u32 - 'A' as u32 + 10)) % 97,
    });
    98 - rem
}

fn spaced(s: &str) -> String {
    s.as_bytes().chunks(4).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join(" ")
}

#[test]
fn generated_ibans_are_masked_and_wrong_checks_kept() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let (mut positives, mut negatives) = (0, 0);
    for (country, len) in IBAN_COUNTRIES {
        for _ in 0..4 {
            let bban = format!("{}{}", rng.from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ", 4), rng.digits(len - 8));
            let check = iban_check(country, &bban);
            let iban = format!("{country}{check:02}{bban}");
            for written in [iban.clone(), spaced(&iban)] {
                let out = assert_masked("iban", &format!("IBAN {written} please"), &iban);
                assert_eq!(out, format!("IBAN [iban ending {}] please", &iban[len - 4..]));
                positives += 1;
            }
            let wrong = format!("{country}{:02}{bban}", if check == 98 { 2 } else { check + 1 });
            for written in [wrong.clone(), spaced(&wrong), format!("{wrong}0"), wrong[..len - 1].to_owned()] {
                assert_kept(&format!("IBAN {written} please"));
                negatives += 1;
            }
        }
    }
    println!("generated IBANs: {positives} masked, {negatives} kept");
}

#[test]
fn generated_tokens_are_masked_and_short_ones_kept() {
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    let alnum = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let upper = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut positives, mut negatives) = (0, 0);
    for _ in 0..6 {
        let tokens = [
            format!("ghp_{}", rng.from(alnum, 36)),
            format!("gho_{}", rng.from(alnum, 36)),
            format!("ghs_{}", rng.from(alnum, 36)),
            format!("github_pat_11{}_{}", rng.from(alnum, 20), rng.from(alnum, 59)),
            format!("xoxb-{}-{}-{}", rng.digits(10), rng.digits(13), rng.from(alnum, 24)),
            format!("xoxs-{}-{}", rng.digits(10), rng.from(alnum, 32)),
            format!("sk_live_{}", rng.from(alnum, 24)),
            format!("rk_live_{}", rng.from(alnum, 24)),
            format!("sk-proj-{}", rng.from(alnum, 48)),
            format!("sk-ant-api03-{}", rng.from(alnum, 90)),
            format!("AIza{}", rng.from(alnum, 35)),
            format!("AKIA{}", rng.from(upper, 16)),
            format!("ASIA{}", rng.from(upper, 16)),
            format!("eyJ{}.eyJ{}.{}", rng.from(alnum, 30), rng.from(alnum, 60), rng.from(alnum, 43)),
        ];
        for token in &tokens {
            for text in [format!("my key is {token}"), format!("{token}\n"), format!("(\"{token}\")")] {
                assert_masked("secret", &text, token);
                positives += 1;
            }
            // Cut to its prefix and a few characters, or glued to a word, it is not the shape.
            let stub: String = token.chars().take(token.find(['_', '-']).map_or(4, |i| i + 3).min(8)).collect();
            assert_kept(&format!("see {stub} here"));
            assert_kept(&format!("x{token}"));
            negatives += 2;
        }
    }
    println!("generated tokens: {positives} masked, {negatives} kept");
}

#[test]
fn generated_everyday_numbers_survive() {
    let mut rng = Rng(0xA076_1D64_78BD_642F);
    let hex = b"0123456789abcdef";
    let mut kept = 0;
    for _ in 0..40 {
        let cases = [
            format!("+{} {} {} {}", 1 + rng.below(98), rng.digits(3), rng.digits(3), rng.digits(4)),
            format!("({}) {}-{}", rng.digits(3), rng.digits(3), rng.digits(4)),
            format!("{}-{:02}-{:02}T{:02}:{:02}:{:02}.{}Z", 2000 + rng.below(40), 1 + rng.below(12), 1 + rng.below(28),
                rng.below(24), rng.below(60), rng.below(60), rng.digits(3)),
            format!("{}{:02}{:02}{:02}{:02}{:02}", 2000 + rng.below(40), 1 + rng.below(12), 1 + rng.below(28),
                rng.below(24), rng.below(60), rng.below(60)),
            format!("{}-{}-{}-{}-{}", rng.from(hex, 8), rng.from(hex, 4), rng.from(hex, 4), rng.from(hex, 4), rng.from(hex, 12)),
            format!("commit {}", rng.from(hex, 40)),
            format!("1Z{}{}", rng.from(b"ABCDEFGHJKLMNPRSTUVWXYZ0123456789", 6), rng.digits(10)),
            format!("9{} USPS", rng.digits(21)),
            format!("v{}.{}.{}", rng.below(30), rng.below(100), rng.digits(4)),
            format!("978-{}-{}-{}-{}", rng.digits(1), rng.digits(2), rng.digits(6), rng.digits(1)),
        ];
        for text in &cases {
            assert_kept(text);
            kept += 1;
        }
    }
    println!("generated everyday numbers kept: {kept}");
}

#[test]
fn time_is_linear_on_adversarial_text() {
    // Near misses of every rule, and one long run that every `sk-` in it could rescan.
    let units = [
        "4111 1111 1111 111 -----BEGIN RSA PUBLIC KEY----- eyJaaaaaaaaaaaa.eyJbbbbbbbbbbbb Bearer aaaa DE89 3704 AKIA ",
        "sk-",
        "eyJa-",
        "1 ",
    ];
    for unit in units {
        let time = |n: usize| {
            let text = unit.repeat(n);
            let start = Instant::now();
            let masked = mask(&text);
            assert!(masked.counts.is_empty() || unit == "sk-", "{unit:?}: {:?}", masked.counts);
            start.elapsed()
        };
        let small = time(100_000 / unit.len());
        let large = time(800_000 / unit.len());
        // 8× the text: a quadratic scan would take ~64×; allow generous noise.
        assert!(large < small * 24 + std::time::Duration::from_millis(20), "{unit:?}: {small:?} vs {large:?}");
    }
}
