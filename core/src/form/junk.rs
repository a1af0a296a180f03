//! Keeping junk out without losing a person: the site key, the honeypot and the minimum fill time.
//!
//! Key decisions: a wrong or missing site key is a plain 401 (a misconfigured page should say so loudly). A
//! filled honeypot or a form sent faster than a person can type is *not* refused: the bot gets the same 202 a
//! person gets and nothing is made, so it learns nothing; the component logs the reason. The fill time is
//! measured by the embed (`fill_ms`), not from client clocks; a plain HTML post carries none and is judged by the
//! honeypot alone, since without JavaScript there is nothing to measure with.

use std::time::Duration;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::submission::FormSubmission;
use crate::Secret;
use crate::http_answer::ApiError;

/// 401 unless the posted site key equals the configured one. Compared as SHA-256 digests in constant time, so
/// neither the bytes nor the key's length show in the timing.
pub fn check_site_key(posted: Option<&str>, expected: &Secret) -> Result<(), ApiError> {
    let refuse = |why: &str| Err(ApiError::unauthorized(why.to_owned()).at("site_key"));
    let Some(posted) = posted else { return refuse("the site key is missing") };
    let (posted, expected) = (Sha256::digest(posted.as_bytes()), Sha256::digest(expected.expose().as_bytes()));
    if bool::from(posted.as_slice().ct_eq(expected.as_slice())) {
        Ok(())
    } else {
        refuse("the site key is not this form's")
    }
}

/// Whether a submission looks like a person's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BotVerdict {
    Person,
    HoneypotFilled,
    TooFast { fill_ms: u64 },
}

pub fn bot_verdict(form: &FormSubmission, min_fill: Duration) -> BotVerdict {
    if form.honeypot.is_some() {
        return BotVerdict::HoneypotFilled;
    }
    match form.fill_ms {
        Some(ms) if u128::from(ms) < min_fill.as_millis() => BotVerdict::TooFast { fill_ms: ms },
        _ => BotVerdict::Person,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_site_key_must_match_exactly() {
        let key = Secret::new("site-key-1");
        assert!(check_site_key(Some("site-key-1"), &key).is_ok());
        for wrong in [Some("site-key-2"), Some("site-key-1 "), Some(""), None] {
            let e = check_site_key(wrong, &key).unwrap_err();
            assert_eq!((e.status, e.field.as_deref()), (401, Some("site_key")), "{wrong:?}");
            assert!(!e.message.contains("site-key-1"));
        }
    }

    #[test]
    fn honeypot_and_fill_time_spot_bots() {
        let min = Duration::from_secs(3);
        let person = FormSubmission { fill_ms: Some(12_000), ..Default::default() };
        assert_eq!(bot_verdict(&person, min), BotVerdict::Person);
        let no_js = FormSubmission::default();
        assert_eq!(bot_verdict(&no_js, min), BotVerdict::Person);
        let fast = FormSubmission { fill_ms: Some(400), ..Default::default() };
        assert_eq!(bot_verdict(&fast, min), BotVerdict::TooFast { fill_ms: 400 });
        let pot = FormSubmission { honeypot: Some("http://spam.test".into()), fill_ms: Some(9_000), ..Default::default() };
        assert_eq!(bot_verdict(&pot, min), BotVerdict::HoneypotFilled);
    }
}
