//! Whether an email's sender is who its address says: read from the verdicts SES wrote on the mail, never from
//! anything the sender could have written.
//!
//! Key decisions:
//! - **Only SES's own headers count.** SES inbound prepends `X-SES-Spam-Verdict`, `X-SES-Virus-Verdict`,
//!   `Received-SPF` and `Authentication-Results: amazonses.com; spf=… dkim=… dmarc=…` above everything the
//!   sender wrote, and nothing handles the mail between SES and the S3 object. So only the *topmost* instance
//!   of each header is read, and an `Authentication-Results` counts only when its authserv-id is
//!   `amazonses.com`: a sender who forges the headers puts them below SES's, where they are never read.
//! - **The verdict must vouch for the address the store matches on** (the customer's address: From, or Reply-To
//!   when From is a no-reply address), not merely for some domain. `dmarc=pass` counts when its `header.from`
//!   domain is aligned with the customer's; without a DMARC verdict of pass or fail (`none`, `temperror`, or
//!   absent: the domain publishes no policy), `dkim=pass` whose signing domain (`header.d`, else `header.i`) is
//!   aligned, or SPF `pass` whose envelope-from domain is aligned, counts. Aligned is DMARC's relaxed rule
//!   approximated without a public-suffix list: the same domain, or one a subdomain of the other. A DMARC
//!   `fail` is final whatever SPF or DKIM say (that is what DMARC is for). SES's spam or virus verdict `FAIL`
//!   also refuses: such a mail never joins a customer's ticket.
//! - **A missing verdict is a failing one** on a deployment that says it is behind SES
//!   ([`SenderVerification::Ses`]): a mail that reached the bucket another way is not vouched for.
//! - What follows from the verdict is the store's: a mail whose sender did not pass is a new ticket flagged
//!   `unverified-sender` and is never appended to (or merged into) an existing one.

use std::fmt;

/// `email_sender_verification`: whether the deployment receives mail through SES, whose verdicts then decide
/// whether a mail may join an existing ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SenderVerification {
    /// Mail arrives through SES inbound (the deployment this project documents): threading or merging onto an
    /// existing ticket requires SES's verdict to vouch for the sender. The manifest's default.
    Ses,
    /// Nothing in front of the bucket writes verdicts (the local host's mail drop, another MTA): no mail is
    /// judged, and threading works on headers alone, as it would for anyone who can write to the bucket.
    Off,
}

impl SenderVerification {
    pub fn parse(value: &str) -> Result<Self, String> {
        match value.trim().to_ascii_lowercase().as_str() {
            "ses" => Ok(SenderVerification::Ses),
            "off" => Ok(SenderVerification::Off),
            other => Err(format!("`{other}` is neither `ses` nor `off`")),
        }
    }
}

/// What SES's verdicts say about a mail's sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SenderCheck {
    /// The verdicts vouch for the customer's address; `how` says which (for the log and for people).
    Verified { how: String },
    /// They do not, or there are none; `why` never contains the address itself.
    Unverified { why: String },
}

impl SenderCheck {
    pub fn is_verified(&self) -> bool {
        matches!(self, SenderCheck::Verified { .. })
    }
}

impl fmt::Display for SenderCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SenderCheck::Verified { how } => write!(f, "verified ({how})"),
            SenderCheck::Unverified { why } => write!(f, "unverified ({why})"),
        }
    }
}

/// The authserv-id SES writes in `Authentication-Results`.
pub const SES_AUTHSERV_ID: &str = "amazonses.com";

/// Judges a raw mail's sender, `customer` being the (normalised) address the ticket is for.
pub fn judge(raw: &[u8], customer: &str) -> SenderCheck {
    let headers = top_headers(raw);
    let unverified = |why: &str| SenderCheck::Unverified { why: why.to_owned() };
    let Some(domain) = customer.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase()) else {
        return unverified("the sender has no domain");
    };
    for (name, what) in [("x-ses-virus-verdict", "virus"), ("x-ses-spam-verdict", "spam")] {
        if headers.first_value(name).is_some_and(|v| v.trim().eq_ignore_ascii_case("FAIL")) {
            return unverified(&format!("SES {what} verdict FAIL"));
        }
    }
    let Some(results) = headers.first_value("authentication-results") else {
        return unverified("no Authentication-Results from SES");
    };
    // Comments first: one may hold a `;` or a fake `dmarc=pass`.
    let results = strip_comments(results);
    let mut parts = results.split(';');
    let authserv = parts.next().unwrap_or("").split_whitespace().next().unwrap_or("");
    if !authserv.eq_ignore_ascii_case(SES_AUTHSERV_ID) {
        return unverified("the topmost Authentication-Results is not SES's");
    }
    let methods = methods(parts);
    let method = |name: &str| methods.iter().find(|m| m.name == name);

    match method("dmarc").map(|m| m.result.as_str()) {
        Some("pass") => {
            let from = method("dmarc").and_then(|m| m.property("header.from"));
            return match from {
                Some(d) if aligned(&d, &domain) => SenderCheck::Verified { how: "dmarc=pass".into() },
                Some(_) => unverified("dmarc=pass for another domain than the sender's address"),
                None => unverified("dmarc=pass without header.from"),
            };
        }
        Some("fail") => return unverified("dmarc=fail"),
        _ => {}
    }
    if let Some(dkim) = methods.iter().find(|m| m.name == "dkim" && m.result == "pass") {
        let signer = dkim.property("header.d").or_else(|| dkim.property("header.i"));
        if signer.is_some_and(|d| aligned(&d, &domain)) {
            return SenderCheck::Verified { how: "dkim=pass, aligned".into() };
        }
    }
    let spf = method("spf").map(|m| (m.result.clone(), m.property("smtp.mailfrom").or_else(|| m.property("envelope-from"))));
    let spf = spf.or_else(|| {
        // SES also writes the SPF verdict on its own line; used when its Authentication-Results has none.
        let line = headers.first_value("received-spf")?;
        let result = line.split_whitespace().next()?.to_ascii_lowercase();
        Some((result, Method::parse(&format!("spf={line}")).and_then(|m| m.property("envelope-from"))))
    });
    if let Some((result, envelope)) = spf
        && result == "pass"
        && envelope.is_some_and(|d| aligned(&d, &domain))
    {
        return SenderCheck::Verified { how: "spf=pass, aligned".into() };
    }
    unverified("no dmarc=pass, and no aligned dkim or spf pass")
}

/// The methods RFC 8601 and its updates register: a clause naming anything else continues the one before.
const METHODS: [&str; 8] = ["spf", "dkim", "dmarc", "arc", "iprev", "auth", "dkim-atps", "bimi"];

/// The clauses of `Authentication-Results` after the authserv-id. SES writes SPF's properties as `…;`-separated
/// clauses of their own (`spf=pass client-ip=…; envelope-from=…; helo=…;`): those are folded into the method
/// before them.
fn methods<'a>(clauses: impl Iterator<Item = &'a str>) -> Vec<Method> {
    let mut out: Vec<Method> = Vec::new();
    for clause in clauses {
        let Some(method) = Method::parse(clause) else { continue };
        match out.last_mut() {
            Some(last) if !METHODS.contains(&method.name.as_str()) => {
                last.properties.push((method.name, method.result));
                last.properties.extend(method.properties);
            }
            _ => out.push(method),
        }
    }
    out
}

/// One `method=result prop=value …` clause of `Authentication-Results`.
struct Method {
    name: String,
    result: String,
    /// `(property, value)` in order, lower-cased; comments in parentheses dropped.
    properties: Vec<(String, String)>,
}

impl Method {
    fn parse(clause: &str) -> Option<Method> {
        let clause = strip_comments(clause);
        let mut tokens = clause.split_whitespace();
        let (name, result) = tokens.next()?.split_once('=')?;
        let properties = tokens
            .filter_map(|t| t.split_once('='))
            .map(|(k, v)| (k.to_ascii_lowercase(), v.trim_end_matches(';').to_ascii_lowercase()))
            .collect();
        Some(Method { name: name.to_ascii_lowercase(), result: result.to_ascii_lowercase(), properties })
    }

    /// The domain a property names: `@example.com`, `user@example.com` and `example.com` all give `example.com`.
    fn property(&self, key: &str) -> Option<String> {
        let value = &self.properties.iter().find(|(k, _)| k == key)?.1;
        let domain = value.rsplit_once('@').map_or(value.as_str(), |(_, d)| d).trim_matches(|c| c == '<' || c == '>' || c == '.');
        Some(domain.to_owned()).filter(|d| !d.is_empty())
    }
}

fn strip_comments(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut depth = 0usize;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// DMARC's relaxed alignment without a public-suffix list: the same domain, or one a subdomain of the other.
/// (A signature or SPF pass for a public suffix such as `co.uk` cannot exist, so the shortcut admits no one.)
fn aligned(a: &str, b: &str) -> bool {
    let (a, b) = (a.to_ascii_lowercase(), b.to_ascii_lowercase());
    a == b || a.ends_with(&format!(".{b}")) || b.ends_with(&format!(".{a}"))
}

/// The header block's fields, unfolded, in order. Only the start of the mail is read: SES's headers come first.
struct TopHeaders(Vec<(String, String)>);

/// SES's headers sit at the very top; 64 KiB holds them whatever Received chain precedes the sender's own.
const HEADER_SCAN_BYTES: usize = 64 * 1024;

fn top_headers(raw: &[u8]) -> TopHeaders {
    let head = &raw[..raw.len().min(HEADER_SCAN_BYTES)];
    let text = String::from_utf8_lossy(head);
    let mut fields: Vec<(String, String)> = Vec::new();
    for line in text.split('\n') {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = fields.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((name, value)) = line.split_once(':') {
            fields.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
    }
    TopHeaders(fields)
}

impl TopHeaders {
    fn first_value(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(top: &str) -> Vec<u8> {
        format!("{top}From: Ana <ana@acme.example>\r\nSubject: hi\r\nMessage-ID: <m2@acme.example>\r\n\r\nbody\r\n").into_bytes()
    }

    const SES_PASS: &str = "X-SES-Spam-Verdict: PASS\r\nX-SES-Virus-Verdict: PASS\r\n\
        Received-SPF: pass (spfCheck: domain of acme.example designates 192.0.2.1 as permitted sender) client-ip=192.0.2.1; envelope-from=ana@acme.example; helo=mail.acme.example;\r\n\
        Authentication-Results: amazonses.com;\r\n spf=pass (spfCheck: domain of acme.example designates 192.0.2.1 as permitted sender) client-ip=192.0.2.1; envelope-from=ana@acme.example; helo=mail.acme.example;\r\n dkim=pass header.i=@acme.example;\r\n dmarc=pass header.from=acme.example;\r\n";

    #[test]
    fn ses_verdicts_that_vouch_for_the_address() {
        assert!(judge(&mail(SES_PASS), "ana@acme.example").is_verified());
        // A subdomain is aligned (relaxed), another domain is not.
        assert!(judge(&mail(SES_PASS), "ana@eu.acme.example").is_verified());
        let other = judge(&mail(SES_PASS), "victim@bank.example");
        assert!(!other.is_verified(), "{other}");
        // No DMARC policy: an aligned DKIM pass, or else an aligned SPF pass, vouches.
        let dkim_only = "Authentication-Results: amazonses.com; spf=softfail smtp.mailfrom=bounce@esp.example; dkim=pass header.d=acme.example; dmarc=none header.from=acme.example\r\n";
        assert!(judge(&mail(dkim_only), "ana@acme.example").is_verified());
        let spf_only = "Received-SPF: pass (spfCheck: ok) client-ip=192.0.2.1; envelope-from=ana@acme.example;\r\nAuthentication-Results: amazonses.com; dkim=none; dmarc=none\r\n";
        assert_eq!(judge(&mail(spf_only), "ana@acme.example"), SenderCheck::Verified { how: "spf=pass, aligned".into() });
        let unaligned = "Authentication-Results: amazonses.com; spf=pass envelope-from=x@esp.example; dkim=pass header.i=@esp.example; dmarc=none\r\n";
        assert!(!judge(&mail(unaligned), "ana@acme.example").is_verified());
    }

    #[test]
    fn failing_missing_or_forged_verdicts_do_not() {
        let dmarc_fail = SES_PASS.replace("dmarc=pass", "dmarc=fail");
        assert_eq!(judge(&mail(&dmarc_fail), "ana@acme.example"), SenderCheck::Unverified { why: "dmarc=fail".into() });
        assert!(!judge(&mail(""), "ana@acme.example").is_verified(), "no verdict at all");
        let spam = SES_PASS.replace("X-SES-Spam-Verdict: PASS", "X-SES-Spam-Verdict: FAIL");
        assert!(!judge(&mail(&spam), "ana@acme.example").is_verified());
        // A sender's own Authentication-Results claiming SES sits below SES's real one: never read.
        let forged = format!("{}Authentication-Results: amazonses.com; dmarc=pass header.from=acme.example\r\n", dmarc_fail);
        assert!(!judge(&mail(&forged), "ana@acme.example").is_verified());
        // Another service's verdict on top is not SES's.
        let foreign = "Authentication-Results: mx.evil.example; dmarc=pass header.from=acme.example\r\n";
        assert!(!judge(&mail(foreign), "ana@acme.example").is_verified());
        // Comments cannot smuggle a result in.
        let comment = "Authentication-Results: amazonses.com; dmarc=fail (dmarc=pass header.from=acme.example) header.from=acme.example\r\n";
        assert!(!judge(&mail(comment), "ana@acme.example").is_verified());
    }

    #[test]
    fn the_setting_parses() {
        assert_eq!(SenderVerification::parse(" SES "), Ok(SenderVerification::Ses));
        assert_eq!(SenderVerification::parse("off"), Ok(SenderVerification::Off));
        assert!(SenderVerification::parse("maybe").is_err());
    }
}
