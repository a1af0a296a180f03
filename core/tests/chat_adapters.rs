//! Each vendor's sample webhook (tests/fixtures/chat/, built from the vendor's documented shape) becomes the
//! expected generic transcript, and its signature scheme accepts the vendor's signature and nothing else.

use std::path::Path;
use std::time::{Duration, SystemTime};

use time::macros::datetime;
use tr_core::Secret;
use tr_core::chat::adapters::{Adapted, chatwoot, tawk};
use tr_core::chat::signature::SignatureError;
use tr_core::chat::{Message, Role, Transcript, Visitor};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/chat")).join(name)).unwrap()
}

fn transcript(adapted: Adapted) -> Transcript {
    match adapted {
        Adapted::Transcript(t) => t,
        Adapted::Ignored { event } => panic!("ignored {event}"),
    }
}

fn msg(role: Role, name: Option<&str>, text: &str, time: time::OffsetDateTime) -> Message {
    Message { role, name: name.map(Into::into), text: text.into(), time }
}

#[test]
fn tawk_transcript_sample_becomes_the_expected_transcript() {
    let t = transcript(tawk::to_transcript(&fixture("tawk.json")).unwrap());
    let expected = Transcript {
        conversation_id: "70fe3290-99ad-11e9-a30a-51567162179f".into(),
        subject: None,
        visitor: Visitor { name: Some("Dana Whitfield".into()), email: Some("dana.whitfield@example.com".into()) },
        page_url: None,
        started_at: datetime!(2026-11-26 10:02:37.780 UTC),
        ended_at: datetime!(2026-11-26 10:12:37.780 UTC),
        resolved: false,
        messages: vec![
            msg(Role::Bot, Some("Example Shop"), "Hi! How can we help?", datetime!(2026-11-26 10:02:37.780 UTC)),
            msg(Role::Visitor, None, "My parcel never arrived, order 88412", datetime!(2026-11-26 10:02:48.176 UTC)),
            msg(Role::Agent, Some("Maria"), "Let me check the tracking for 88412.", datetime!(2026-11-26 10:03:30.001 UTC)),
            msg(Role::Visitor, None, "thanks, it says delivered but nothing here", datetime!(2026-11-26 10:05:12.400 UTC)),
        ],
    };
    assert_eq!(t, expected);
}

#[test]
fn tawk_signature_is_checked_over_the_raw_sample() {
    let body = fixture("tawk.json");
    let secret = Secret::new("tawk webhook secret");
    // python3 -c 'import hmac,hashlib;print(hmac.new(b"tawk webhook secret",open("tests/fixtures/chat/tawk.json","rb").read(),hashlib.sha1).hexdigest())'
    let signature = "e5ca84d1744021c842a8f6e3bd083b30e1c4d012";
    assert_eq!(tawk::verify(Some(signature), &body, &secret), Ok(()));
    assert_eq!(tawk::verify(Some(signature), &body, &Secret::new("another secret")), Err(SignatureError::Mismatch));
    let mut tampered = body.clone();
    tampered[10] ^= 1;
    assert_eq!(tawk::verify(Some(signature), &tampered, &secret), Err(SignatureError::Mismatch));
}

#[test]
fn chatwoot_handoff_sample_with_fetched_messages_becomes_the_expected_transcript() {
    let t = transcript(chatwoot::to_transcript(&fixture("chatwoot.json"), Some(&fixture("chatwoot-messages.json"))).unwrap());
    let at = |s: i64| time::OffsetDateTime::from_unix_timestamp(s).unwrap();
    let expected = Transcript {
        conversation_id: "10".into(),
        subject: None,
        visitor: Visitor { name: Some("jane".into()), email: Some("jane@acme.inc".into()) },
        page_url: Some("https://app.example.com/settings/export".into()),
        started_at: at(1_795_687_250),
        ended_at: at(1_795_687_380),
        resolved: false,
        messages: vec![
            msg(Role::Bot, None, "Hi there! How can we help?", at(1_795_687_250)),
            msg(Role::Visitor, Some("jane"), "The CSV export crashes with a timeout on large projects", at(1_795_687_268)),
            msg(Role::Bot, Some("Helper"), "Have you tried exporting one month at a time?", at(1_795_687_300)),
            // Activity (type 2) and the private note are gone; the payload's last message appears once.
            msg(Role::Bot, Some("Helper"), "Transferring you to a human agent.", at(1_795_687_380)),
        ],
    };
    assert_eq!(t, expected);
}

#[test]
fn chatwoot_without_history_has_only_the_payloads_last_message() {
    let t = transcript(chatwoot::to_transcript(&fixture("chatwoot.json"), None).unwrap());
    assert_eq!(t.messages.len(), 1);
    assert_eq!(t.messages[0].role, Role::Bot, "sender_type AgentBot");
}

#[test]
fn chatwoot_history_path_names_the_account_and_conversation() {
    let sample = fixture("chatwoot.json");
    // The sample event carries no account: the configured one stands in; without either there is no path.
    assert_eq!(chatwoot::history_path(&sample, None).unwrap(), None);
    assert_eq!(chatwoot::history_path(&sample, Some(3)).unwrap().as_deref(), Some("/api/v1/accounts/3/conversations/10/messages"));
    let with_account = String::from_utf8(sample.clone()).unwrap().replacen('{', r#"{"account": {"id": 7, "name": "Acme"},"#, 1);
    assert_eq!(chatwoot::history_path(with_account.as_bytes(), Some(3)).unwrap().as_deref(), Some("/api/v1/accounts/7/conversations/10/messages"));
    let pending = String::from_utf8(sample).unwrap().replace(r#""status": "open""#, r#""status": "pending""#);
    assert_eq!(chatwoot::history_path(pending.as_bytes(), Some(3)).unwrap(), None, "an ignored event fetches nothing");
}

#[test]
fn chatwoot_resolved_status_is_a_resolved_transcript() {
    let body = String::from_utf8(fixture("chatwoot.json")).unwrap().replace(r#""status": "open""#, r#""status": "resolved""#);
    assert!(transcript(chatwoot::to_transcript(body.as_bytes(), None).unwrap()).resolved);
}

#[test]
fn chatwoot_signature_is_checked_over_timestamp_and_raw_sample() {
    let body = fixture("chatwoot.json");
    let secret = Secret::new("chatwoot webhook secret");
    // python3 -c 'import hmac,hashlib;print(hmac.new(b"chatwoot webhook secret",b"1795687381."+open("tests/fixtures/chat/chatwoot.json","rb").read(),hashlib.sha256).hexdigest())'
    let signature = "sha256=22a56968a9b3ec0fcd8a24bb9749cc878700f5009ee7b4149849a1e00a9af9be";
    let ts = Some("1795687381");
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_687_400);
    assert_eq!(chatwoot::verify(Some(signature), ts, &body, &secret, now), Ok(()));
    assert_eq!(chatwoot::verify(Some(signature), ts, &body, &Secret::new("x"), now), Err(SignatureError::Mismatch));
    let late = now + Duration::from_secs(3600);
    assert!(matches!(chatwoot::verify(Some(signature), ts, &body, &secret, late), Err(SignatureError::Expired { .. })));
}
