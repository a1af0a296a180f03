//! The official SigV4 vectors (`shared/fixtures/aws/sigv4-test-suite`) through the verifier.
//!
//! For every header-signed v4 case that tr-core's signer test reproduces (`core/tests/sigv4_vectors.rs`), the
//! signed request, as an HTTP server receives it, is accepted with the vector's secret at the vector's time; and
//! each one-byte change (the body, each signed header's value, the path, the query, the signature) is refused.
//!
//! In-crate because the verifier is private and picks its path rule by service name ("s3" signs the path as
//! sent), while every vector names service "service" and says in `context.json` (`normalize`) which rule it used.
//!
//! Skipped, each counted and printed with its reason, and each still required to be *refused* (an unsupported
//! scheme must never verify by accident): v4a (ECDSA; the endpoint verifies AWS4-HMAC-SHA256 only), the
//! `query-*` presigned variants (presigned URLs are not supported), and the two cases whose signature is for a
//! raw space or non-ASCII byte in the request line, which no HTTP request can carry (the signer test checks only
//! their canonical request).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use super::{AuthFailure, PathRule, verify_with};
use crate::config::LocalCredentials;

const EXAMPLE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
/// The old-format `double-encode-path` case signs with this key pair, named only in its signed request.
const NOT_REAL: (&str, &str) = ("ANOTREAL", "notrealrnrELgWzOk3IfjzDKtFBhDby");

const RAW_PATH: &[&str] = &["get-space-normalized", "get-utf8"];

fn suite_dir() -> PathBuf {
    let shared = std::env::var_os("TR_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared"));
    let dir = shared.join("fixtures/aws/sigv4-test-suite");
    assert!(
        dir.join("v4").is_dir() && dir.join("v4a").is_dir(),
        "SigV4 vectors missing at {} (set TR_SHARED to the shared/ folder)",
        dir.display()
    );
    dir
}

fn case_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("{}/{file}: {e}", dir.display()))
}

/// A request as the verifier sees it once an HTTP server has parsed it.
#[derive(Clone)]
struct Wire {
    method: String,
    path: String,
    query: Option<String>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Wire {
    /// Request line, `Name:value` headers (continuation lines folded with one space), blank line, body. Values are
    /// trimmed as an HTTP parser trims them; a raw space or non-ASCII byte in the target is percent-encoded, as a
    /// client puts it on the wire.
    fn parse(text: &str) -> Wire {
        let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
        let mut lines = head.lines();
        let (method, target) = lines.next().unwrap().split_once(' ').unwrap();
        let target = target.strip_suffix(" HTTP/1.1").unwrap_or(target);
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in lines {
            if line.starts_with([' ', '\t']) {
                let last = headers
                    .last_mut()
                    .expect("continuation line after a header");
                last.1.push(' ');
                last.1.push_str(line.trim());
            } else {
                let (name, value) = line.split_once(':').unwrap();
                headers.push((name.to_owned(), value.trim().to_owned()));
            }
        }
        let target = wire_encode(target);
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (target, None),
        };
        Wire {
            method: method.to_owned(),
            path,
            query,
            headers,
            body: body.as_bytes().to_vec(),
        }
    }

    fn verify(
        &self,
        creds: &LocalCredentials,
        now: OffsetDateTime,
        rule: PathRule,
    ) -> Result<(), AuthFailure> {
        let target = match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        };
        let uri: http::Uri = target.parse().expect("a wire request target");
        let mut headers = http::HeaderMap::new();
        for (name, value) in &self.headers {
            headers.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                http::HeaderValue::from_str(value).unwrap(),
            );
        }
        verify_with(&self.method, &uri, &headers, &self.body, creds, now, |_| {
            rule
        })
        .map(|_| ())
    }

    fn authorization(&self) -> &str {
        self.header("authorization")
            .expect("a header-signed request")
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn signed_headers(&self) -> Vec<String> {
        let auth = self.authorization();
        let list = auth.split("SignedHeaders=").nth(1).unwrap();
        list.split(',')
            .next()
            .unwrap()
            .split(';')
            .map(str::to_owned)
            .collect()
    }

    /// The same request with exactly one byte changed (or, where a change could be normalised away, one added),
    /// each labelled by what changed.
    fn one_byte_changes(&self) -> Vec<(String, Wire)> {
        let mut out = Vec::new();

        let mut w = self.clone();
        match w.body.last_mut() {
            Some(b) => *b ^= 0x01,
            None => w.body.push(b'x'),
        }
        out.push(("body".to_owned(), w));

        for name in self.signed_headers() {
            let mut w = self.clone();
            let (_, value) = w
                .headers
                .iter_mut()
                .find(|(n, _)| n.eq_ignore_ascii_case(&name))
                .unwrap();
            *value = change_one_byte(value);
            out.push((format!("header {name}"), w));
        }

        // Appended, not replaced: in a normalised path `/example/..` a changed byte inside `example` is the same
        // canonical path, and rightly verifies.
        let mut w = self.clone();
        w.path.push('x');
        out.push(("path".to_owned(), w));

        if let Some(q) = &self.query {
            let mut w = self.clone();
            w.query = Some(change_one_byte(q));
            out.push(("query".to_owned(), w));
        }

        let mut w = self.clone();
        let auth = w
            .headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
            .unwrap();
        let last = auth.1.pop().unwrap();
        auth.1.push(if last == '0' { '1' } else { '0' });
        out.push(("signature".to_owned(), w));
        out
    }
}

/// Changes the last digit (so a date stays a valid date near the signing time), else the last letter, to the
/// next one of its kind; whitespace and punctuation are left alone because canonicalisation may fold them.
fn change_one_byte(value: &str) -> String {
    let mut bytes = value.as_bytes().to_vec();
    let at = bytes
        .iter()
        .rposition(u8::is_ascii_digit)
        .or_else(|| bytes.iter().rposition(u8::is_ascii_alphabetic));
    match at {
        Some(i) => {
            bytes[i] = match bytes[i] {
                b'9' => b'0',
                b'z' => b'a',
                b'Z' => b'A',
                b => b + 1,
            }
        }
        None => bytes.push(b'x'),
    }
    String::from_utf8(bytes).unwrap()
}

fn wire_encode(target: &str) -> String {
    let mut out = String::new();
    for b in target.bytes() {
        if b == b' ' || !b.is_ascii() {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(b as char);
        }
    }
    out
}

/// The secret, time and path rule a v4 case was signed with.
fn context(dir: &Path, signed: &Wire) -> (LocalCredentials, OffsetDateTime, PathRule) {
    if dir.join("context.json").exists() {
        let ctx: serde_json::Value = serde_json::from_str(&read(dir, "context.json")).unwrap();
        let c = &ctx["credentials"];
        let creds = LocalCredentials::new(
            c["access_key_id"].as_str().unwrap(),
            c["secret_access_key"].as_str().unwrap(),
        );
        let at = OffsetDateTime::parse(
            ctx["timestamp"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap();
        let rule = if ctx["normalize"].as_bool().unwrap_or(true) {
            PathRule::NormalizedEncodedTwice
        } else {
            PathRule::AsSent
        };
        return (creds, at, rule);
    }
    // Old-format cases: the key is in the signed request's credential, the time in its x-amz-date.
    let key = signed
        .authorization()
        .split("Credential=")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap();
    let secret = if key == NOT_REAL.0 {
        NOT_REAL.1
    } else {
        EXAMPLE_SECRET
    };
    let fmt = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let at = time::PrimitiveDateTime::parse(signed.header("x-amz-date").unwrap(), &fmt)
        .unwrap()
        .assume_utc();
    (
        LocalCredentials::new(key, secret),
        at,
        PathRule::NormalizedEncodedTwice,
    )
}

#[test]
fn official_sigv4_vectors_verify_and_a_changed_byte_is_refused() {
    let root = suite_dir();
    let (mut accepted, mut refused, mut changes) = (0, 0, 0);
    let mut refusals: BTreeMap<String, usize> = BTreeMap::new();
    let mut skipped: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failures = Vec::new();

    let v4 = case_dirs(&root.join("v4"));
    for dir in &v4 {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let signed = Wire::parse(&read(dir, "header-signed-request.txt"));
        let (creds, now, rule) = context(dir, &signed);

        // Presigned: no Authorization header, so refused as unsigned.
        if dir.join("query-signed-request.txt").exists() {
            let presigned = Wire::parse(&read(dir, "query-signed-request.txt"));
            match presigned.verify(&creds, now, rule) {
                Err(AuthFailure::Missing) => {
                    *skipped
                        .entry("query-* presigned URL variant (presigned URLs are not supported)")
                        .or_default() += 1
                }
                other => failures.push(format!(
                    "{name} (presigned): expected Missing, got {other:?}"
                )),
            }
        }

        if RAW_PATH.contains(&name.as_str()) {
            // The wire path (encoded once) is encoded again by a non-S3 service, so the vector's signature for
            // the raw path cannot match.
            match signed.verify(&creds, now, rule) {
                Err(AuthFailure::SignatureMismatch) => {
                    *skipped
                        .entry("raw space / non-ASCII request line no HTTP request can carry")
                        .or_default() += 1
                }
                other => failures.push(format!(
                    "{name} (raw path): expected a mismatch, got {other:?}"
                )),
            }
            continue;
        }

        if let Err(e) = signed.verify(&creds, now, rule) {
            failures.push(format!("{name}: refused the signed request: {e:?}"));
            continue;
        }
        accepted += 1;
        let mut all_refused = true;
        for (what, changed) in signed.one_byte_changes() {
            changes += 1;
            match changed.verify(&creds, now, rule) {
                Ok(()) => {
                    all_refused = false;
                    failures.push(format!(
                        "{name}: accepted after a one-byte change to the {what}"
                    ));
                }
                Err(e) => {
                    let kind = format!("{e:?}");
                    let kind = kind.split('(').next().unwrap().to_owned();
                    *refusals.entry(kind).or_default() += 1;
                }
            }
        }
        if all_refused {
            refused += 1;
        }
    }

    for dir in case_dirs(&root.join("v4a")) {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let signed = Wire::parse(&read(&dir, "header-signed-request.txt"));
        let creds = LocalCredentials::new("AKIDEXAMPLE", EXAMPLE_SECRET);
        let now = time::macros::datetime!(2015-08-30 12:36:00 UTC);
        match signed.verify(&creds, now, PathRule::NormalizedEncodedTwice) {
            Err(AuthFailure::Missing) => {
                *skipped
                    .entry("v4a (AWS4-ECDSA-P256-SHA256; only AWS4-HMAC-SHA256 is verified)")
                    .or_default() += 1
            }
            other => failures.push(format!("v4a {name}: expected Missing, got {other:?}")),
        }
    }

    println!(
        "sigv4 vectors: {} v4 cases; {accepted} accepted, {refused} refused after every one-byte change \
         ({changes} changed requests: {refusals:?}), {} failures",
        v4.len(),
        failures.len()
    );
    for (why, n) in &skipped {
        println!("  skipped {n}: {why} (each refused, as it must be)");
    }
    assert!(accepted > 0, "no SigV4 vector ran under {}", root.display());
    assert!(
        failures.is_empty(),
        "{} vector checks failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        refused, accepted,
        "every accepted vector is refused after each change"
    );
}
