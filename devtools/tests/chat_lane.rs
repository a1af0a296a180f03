//! The chat lane end to end on the repository's own `spin.toml`: transcripts POSTed to the real `chat.wasm` on
//! the host become one ticket on the ticket queue (read by the offline reader, forwarded to the read-tickets
//! queue, read back with boto3). Every refusal is asserted by status and JSON error body.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::pipeline::{Pipeline, repo};
use common::{Reply, post};
use serde_json::Value;
use tr_core::Secret;
use tr_core::chat::signature;

const SECRET: &str = "chat-secret-for-tests";
const TAWK_SECRET: &str = "tawk-secret-for-tests";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("tests/fixtures/chat").join(name)).unwrap()
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

fn signed(at: u64, body: &[u8]) -> String {
    signature::sign(&Secret::new(SECRET), at, body)
}

fn send(p: &Pipeline, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, Value) {
    let Reply { status, body, .. } = post(&format!("{}{path}", p.host.base), headers, body);
    let json = serde_json::from_str(&body).unwrap_or_else(|_| panic!("{status}: not JSON: {body}"));
    (status, json)
}

fn json_post(p: &Pipeline, body: &[u8]) -> (u16, Value) {
    let sig = signed(now(), body);
    send(p, "/chat", &[("content-type", "application/json"), ("x-tr-signature", &sig)], body)
}

fn start() -> Pipeline {
    Pipeline::start("chat-lane", &[("reader", "offline"), ("chat_secret", SECRET), ("tawk_webhook_secret", TAWK_SECRET)])
}

#[test]
fn a_signed_transcript_becomes_one_read_ticket_and_a_replay_is_the_same_ticket() {
    let p = start();
    let body = fixture("generic.json");
    let (status, answer) = json_post(&p, &body);
    assert_eq!(status, 201, "{answer}\n{}", p.host.output());
    let id = answer["ticket_id"].as_str().unwrap().to_owned();

    let read = p.take(&p.read_queue, 1, 20);
    assert_eq!(read.len(), 1, "{}", p.host.output());
    let ticket = &read[0]["ticket"];
    assert_eq!((ticket["id"].as_str(), ticket["source"].as_str()), (Some(id.as_str()), Some("chat")));
    assert_eq!(ticket["customer"]["email"], "dana.whitfield@example.com");
    assert_eq!(ticket["transcript_id"], "conv-7f3a9c");
    let text = ticket["body"].as_str().unwrap();
    assert!(text.contains("Visitor (10:02): My card was charged twice"), "{text}");
    assert!(!text.contains("How can I help you today"), "bot boilerplate trimmed: {text}");
    assert!(ticket["reading"]["topic"].is_string(), "the read stage tagged it");

    // The chat tool retries: same conversation, same ticket, nothing new on the queue.
    let (status, again) = json_post(&p, &body);
    assert_eq!((status, again["status"].as_str(), again["ticket_id"].as_str()), (200, Some("repeat"), Some(id.as_str())));
    assert!(p.take(&p.ticket_queue, 1, 3).is_empty() && p.take(&p.read_queue, 1, 2).is_empty());
}

#[test]
fn anonymous_resolved_and_vendor_transcripts() {
    let p = start();
    let (status, answer) = json_post(&p, &fixture("generic-anonymous.json"));
    assert_eq!(status, 201, "{answer}");
    let read = p.take(&p.read_queue, 1, 20);
    assert_eq!(read[0]["ticket"]["flags"], serde_json::json!(["anonymous"]));
    assert!(read[0]["ticket"]["customer"]["email"].is_null());

    let mut resolved: Value = serde_json::from_slice(&fixture("generic.json")).unwrap();
    resolved["resolved"] = true.into();
    resolved["conversation_id"] = "conv-resolved".into();
    let (status, answer) = json_post(&p, resolved.to_string().as_bytes());
    assert_eq!((status, answer["status"].as_str()), (202, Some("acknowledged")), "{answer}");

    // Tawk.to signs the raw body with HMAC-SHA1 (hex) in X-Tawk-Signature.
    let tawk = fixture("tawk.json");
    let out = std::process::Command::new("python3")
        .args(["-c", "import hmac,hashlib,sys; print(hmac.new(sys.argv[1].encode(), open(sys.argv[2],'rb').read(), hashlib.sha1).hexdigest())"])
        .arg(TAWK_SECRET)
        .arg(repo().join("tests/fixtures/chat/tawk.json"))
        .output()
        .unwrap();
    let tawk_signature = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let headers = [("content-type", "application/json"), ("x-tawk-signature", tawk_signature.as_str())];
    let (status, answer) = send(&p, "/chat/tawk", &headers, &tawk);
    assert_eq!(status, 201, "{answer}\n{}", p.host.output());
    let (status, _) = send(&p, "/chat/tawk", &[("content-type", "application/json"), ("x-tawk-signature", "00")], &tawk);
    assert_eq!(status, 401, "a wrong Tawk.to signature");
    assert_eq!(p.take(&p.read_queue, 3, 10).len(), 1, "only the Tawk.to chat made a second ticket");
}

#[test]
fn bad_requests_get_a_clear_status_and_error_body_and_make_nothing() {
    let p = start();
    let body = fixture("generic.json");
    let url_cases: Vec<(&str, Vec<(&str, String)>, Vec<u8>, u16, &str)> = vec![
        ("no signature", vec![("content-type", "application/json".into())], body.clone(), 401, "unauthorized"),
        ("wrong secret", vec![("content-type", "application/json".into()), ("x-tr-signature", signature::sign(&Secret::new("nope"), now(), &body))], body.clone(), 401, "unauthorized"),
        ("expired timestamp", vec![("content-type", "application/json".into()), ("x-tr-signature", signed(now() - 600, &body))], body.clone(), 401, "unauthorized"),
        ("wrong content type", vec![("content-type", "text/plain".into()), ("x-tr-signature", signed(now(), &body))], body.clone(), 415, "unsupported_media_type"),
        ("too large", vec![("content-type", "application/json".into())], vec![b' '; 600 * 1024], 413, "payload_too_large"),
    ];
    for (why, headers, payload, status, code) in url_cases {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (got, answer) = send(&p, "/chat", &headers, &payload);
        assert_eq!((got, answer["error"]["code"].as_str()), (status, Some(code)), "{why}: {answer}");
        assert!(answer["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{why}: {answer}");
    }

    let mut wrong_type: Value = serde_json::from_slice(&body).unwrap();
    wrong_type["messages"][2]["text"] = 42.into();
    let (status, answer) = json_post(&p, wrong_type.to_string().as_bytes());
    assert_eq!((status, answer["error"]["field"].as_str()), (400, Some("$.messages[2].text")), "{answer}");

    let (status, answer) = json_post(&p, b"{\"conversation_id\": ");
    assert_eq!(status, 400, "malformed JSON: {answer}");

    let mut silent: Value = serde_json::from_slice(&body).unwrap();
    silent["conversation_id"] = "conv-silent".into();
    silent["messages"] = serde_json::json!([{"role": "bot", "text": "Hi! How can I help you today?", "time": "2026-11-26T10:01:12Z"}]);
    let (status, answer) = json_post(&p, silent.to_string().as_bytes());
    assert_eq!(status, 422, "no visitor text: {answer}");

    let get = common::get(&format!("{}/chat", p.host.base));
    assert_eq!(get.status, 405, "{}", get.body);
    assert!(p.take(&p.ticket_queue, 1, 3).is_empty(), "no refused request made a ticket");
}

/// A stand-in for a Chatwoot instance's messages API (no Chatwoot runs here): answers the one conversation's
/// messages (Chatwoot's documented response shape is `tests/fixtures/chat/chatwoot-messages.json`) to the right
/// token only; records every request line.
fn fake_chatwoot(token: &'static str, messages: Vec<u8>) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut request_line, mut authorised) = (String::new(), false);
            reader.read_line(&mut request_line).unwrap();
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':') {
                    authorised |= name.eq_ignore_ascii_case("api_access_token") && value.trim() == token;
                }
            }
            log.lock().unwrap().push(request_line.trim().to_owned());
            let ok = authorised && request_line.starts_with("GET /api/v1/accounts/3/conversations/10/messages ");
            let (status, body) = if ok { ("200 OK", messages.clone()) } else { ("401 Unauthorized", b"{\"error\":\"Unauthorized\"}".to_vec()) };
            let mut out = stream;
            let head = format!("HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
            let _ = out.write_all(head.as_bytes()).and_then(|_| out.write_all(&body));
        }
    });
    (origin, seen)
}

fn chatwoot_pipeline(name: &str, origin: &str) -> Pipeline {
    Pipeline::start(
        name,
        &[
            ("reader", "offline"),
            ("chatwoot_webhook_secret", CW_SECRET),
            ("chatwoot_api_url", origin),
            ("chatwoot_api_token", "cw-token"),
            ("chatwoot_account_id", "3"),
        ],
    )
}

const CW_SECRET: &str = "chatwoot-secret-for-tests";

/// POSTs a Chatwoot webhook body, signed as Chatwoot signs it.
fn chatwoot_post(p: &Pipeline, body: &[u8]) -> (u16, Value) {
    let at = now().to_string();
    let v1 = signature::sign(&Secret::new(CW_SECRET), now(), body);
    let hex = v1.split("v1=").nth(1).unwrap();
    let headers = [
        ("content-type", "application/json"),
        ("x-chatwoot-signature", &format!("sha256={hex}")),
        ("x-chatwoot-timestamp", at.as_str()),
    ];
    send(p, "/chat/chatwoot", &headers, body)
}

#[test]
fn a_chatwoot_hand_off_fetches_the_conversation_and_becomes_one_ticket_with_the_visitors_words() {
    let (origin, seen) = fake_chatwoot("cw-token", fixture("chatwoot-messages.json"));
    let p = chatwoot_pipeline("chat-chatwoot", &origin);
    // The sample webhook's only message is the agent's: without the fetched list there is no visitor text.
    let (status, answer) = chatwoot_post(&p, &fixture("chatwoot.json"));
    assert_eq!(status, 201, "{answer}\n{}", p.host.output());
    assert_eq!(seen.lock().unwrap().len(), 1, "one fetch: {:?}", seen.lock().unwrap());

    let read = p.take(&p.read_queue, 1, 20);
    assert_eq!(read.len(), 1, "{}", p.host.output());
    let text = read[0]["ticket"]["body"].as_str().unwrap();
    assert!(text.contains("The CSV export crashes with a timeout on large projects"), "{text}");
}

#[test]
fn an_unreadable_chatwoot_messages_list_falls_back_to_the_webhooks_message() {
    let (origin, _) = fake_chatwoot("cw-token", b"<html>Bad gateway</html>".to_vec());
    let p = chatwoot_pipeline("chat-chatwoot-garbled", &origin);
    // The webhook's own last message is the visitor's here.
    let mut webhook: Value = serde_json::from_slice(&fixture("chatwoot.json")).unwrap();
    webhook["messages"][0]["message_type"] = 0.into();
    let (status, answer) = chatwoot_post(&p, webhook.to_string().as_bytes());
    assert_eq!(status, 201, "not a 400 for Chatwoot's own bad answer: {answer}\n{}", p.host.output());
    assert!(p.host.output().contains("messages list could not be read"), "{}", p.host.output());
}
