//! The HTTP lanes' endpoints natively, as the components run them: request parts and body in, a reply out,
//! over the in-memory store, a scripted transport (SQS and Chatwoot's API) and variables from a map.
//!
//! What is checked here is what used to live only in the components: the form's guard order and its settings,
//! the chat's vendor dispatch, and the status rules of Chatwoot's messages fetch.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::Full;
use serde_json::Value;
use sha2::Sha256;
use tr_core::chat::lane::ChatEndpoint;
use tr_core::form::endpoint::FormEndpoint;
use tr_core::http_answer::Reply;
use tr_core::store::MemoryKv;
use tr_core::transport::{HttpRequest, HttpResponse, Runtime, Transport, TransportError, TransportErrorKind};
use tr_core::vars::MapVars;
use tr_core::{Secret, Wiring};

const QUEUE: &str = "http://127.0.0.1:4566/000000000000/tr-tickets";
const ORIGIN: &str = "https://www.example.com";
/// 2026-11-26T10:10:00Z.
const NOW: u64 = 1_795_687_800;

/// SQS answers success and records each ticket queued; Chatwoot's API answers `chatwoot_status` (200 with the
/// fixture's messages); every request is recorded by URL.
#[derive(Clone, Default)]
struct World {
    requests: Rc<RefCell<Vec<String>>>,
    queued: Rc<RefCell<Vec<Value>>>,
    log: Rc<RefCell<Vec<String>>>,
    chatwoot_status: Option<u16>,
    random: Rc<RefCell<u64>>,
}

impl Transport for World {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        self.requests.borrow_mut().push(request.uri().to_string());
        if request.uri().path().contains("/conversations/") {
            return match self.chatwoot_status {
                None => Err(TransportError::new(TransportErrorKind::Connect, "refused")),
                Some(status) => {
                    let body = if status == 200 { fixture("chatwoot-messages.json") } else { b"{}".to_vec() };
                    Ok(http::Response::builder().status(status).body(body).unwrap())
                }
            };
        }
        let body: Value = serde_json::from_slice(request.body()).unwrap();
        self.queued.borrow_mut().push(serde_json::from_str(body["MessageBody"].as_str().unwrap()).unwrap());
        Ok(http::Response::builder().status(200).body(br#"{"MessageId":"m-1"}"#.to_vec()).unwrap())
    }
}

impl Runtime for World {
    fn now(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(NOW)
    }
    fn random_u64(&self) -> u64 {
        *self.random.borrow_mut() += 1;
        *self.random.borrow()
    }
    async fn sleep(&self, _: Duration) {}
    fn log(&self, line: &str) {
        self.log.borrow_mut().push(line.to_owned());
    }
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/../tests/fixtures/chat/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn base_vars() -> Vec<(&'static str, &'static str)> {
    vec![
        ("aws_access_key_id", "AKIDEXAMPLE"),
        ("aws_secret_access_key", "secret"),
        ("sqs_endpoint", "http://127.0.0.1:4566"),
        ("ticket_queue_url", QUEUE),
        ("form_site_key", "site-key-1"),
        ("form_allowed_origins", ORIGIN),
        ("form_min_fill_seconds", "0"),
        ("chat_secret", "chat-secret-1"),
        ("chatwoot_webhook_secret", "cw-secret"),
        ("chatwoot_api_url", "https://chat.example.com"),
        ("chatwoot_api_token", "cw-token"),
        // The sample webhook names no account: the configured one stands in.
        ("chatwoot_account_id", "3"),
    ]
}

fn request(method: &str, path_info: &str, headers: &[(&str, &str)]) -> http::request::Parts {
    let mut builder = http::Request::builder().method(method).uri(format!("http://localhost/x{path_info}"));
    builder = builder.header("spin-path-info", path_info).header("spin-client-addr", "192.0.2.7:50000");
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap().into_parts().0
}

fn form(world: &World, kv: &MemoryKv, vars: &[(&str, &str)], parts: &http::request::Parts, body: &str) -> Reply {
    pollster::block_on(async {
        let vars = MapVars::from_pairs(vars.iter().copied());
        let wiring = Wiring::from_vars(&vars, world.clone(), world.clone(), Ok(kv)).await;
        FormEndpoint::from_vars(&vars, wiring, "/* embed */").await.serve(parts, Full::new(Bytes::from(body.to_owned()))).await
    })
}

fn chat(world: &World, kv: &MemoryKv, vars: &[(&str, &str)], parts: &http::request::Parts, body: &[u8]) -> Reply {
    pollster::block_on(async {
        let vars = MapVars::from_pairs(vars.iter().copied());
        let wiring = Wiring::from_vars(&vars, world.clone(), world.clone(), Ok(kv)).await;
        ChatEndpoint::from_vars(&vars, wiring).await.serve(parts, Full::new(Bytes::from(body.to_vec()))).await
    })
}

fn code(reply: &Reply) -> String {
    let body: Value = serde_json::from_str(&reply.body).unwrap();
    body["error"]["code"].as_str().unwrap_or_default().to_owned()
}

const POST: &str = r#"{"email":"dana@example.com","message":"The export button does nothing.","nonce":"n-1","site_key":"site-key-1"}"#;

#[test]
fn a_form_post_through_every_guard_makes_one_queued_ticket() {
    let (world, kv) = (World::default(), MemoryKv::new());
    let parts = request("POST", "", &[("origin", ORIGIN), ("content-type", "application/json")]);
    let reply = form(&world, &kv, &base_vars(), &parts, POST);
    assert_eq!(reply.status, 202, "{}", reply.body);
    assert!(reply.headers.iter().any(|(n, v)| *n == "access-control-allow-origin" && v == ORIGIN));
    assert_eq!(world.queued.borrow().len(), 1);
    assert_eq!(world.queued.borrow()[0]["ticket"]["customer"]["email"], "dana@example.com");
    assert!(world.log.borrow().iter().any(|l| l.starts_with("[form] submission -> created ")), "{:?}", world.log.borrow());
    // The same nonce again: a repeat, nothing queued twice.
    assert_eq!(form(&world, &kv, &base_vars(), &parts, POST).status, 202);
    assert_eq!(world.queued.borrow().len(), 1);
}

#[test]
fn a_nonce_reused_for_another_message_is_409_and_nothing_is_lost() {
    let (world, kv) = (World::default(), MemoryKv::new());
    let parts = request("POST", "", &[("origin", ORIGIN), ("content-type", "application/json")]);
    assert_eq!(form(&world, &kv, &base_vars(), &parts, POST).status, 202);
    let before = kv.snapshot();
    let other = r#"{"email":"eve@example.com","message":"Please change my invoice address.","nonce":"n-1","site_key":"site-key-1"}"#;
    let reply = form(&world, &kv, &base_vars(), &parts, other);
    assert_eq!(reply.status, 409, "{}", reply.body);
    assert_eq!(code(&reply), "nonce_reused");
    let body: Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(body["error"]["field"], "nonce");
    assert!(body["error"]["message"].as_str().unwrap().contains("new nonce"), "{}", reply.body);
    // Refused before anything was kept: the first message is as it was, nothing new is queued.
    let after: Vec<_> = kv.snapshot().into_iter().filter(|(k, _)| !k.starts_with("tr/r/")).collect();
    let before: Vec<_> = before.into_iter().filter(|(k, _)| !k.starts_with("tr/r/")).collect();
    assert_eq!(after, before, "only the rate-limit window moved");
    assert_eq!(world.queued.borrow().len(), 1);
    // The embed sends the same words under a fresh nonce: kept as a ticket of its own.
    let renewed = other.replace("\"n-1\"", "\"n-2\"");
    assert_eq!(form(&world, &kv, &base_vars(), &parts, &renewed).status, 202);
    assert_eq!(world.queued.borrow().len(), 2);
    assert_eq!(world.queued.borrow()[1]["ticket"]["customer"]["email"], "eve@example.com");
}

#[test]
fn the_form_guards_answer_in_order() {
    let json = [("origin", ORIGIN), ("content-type", "application/json")];
    let cases: Vec<(&str, Vec<(&str, &str)>, Vec<(&str, &str)>, &str, u16, &str)> = vec![
        ("refused origin, even with a bad content type", vec![], vec![("origin", "https://evil.example"), ("content-type", "text/plain")], POST, 403, ""),
        ("content type before size", vec![], vec![("origin", ORIGIN), ("content-type", "text/plain"), ("content-length", "999999")], POST, 415, "unsupported_media_type"),
        ("declared size before reading", vec![], vec![("origin", ORIGIN), ("content-type", "application/json"), ("content-length", "999999")], POST, 413, "payload_too_large"),
        ("a bad rate-limit setting is the operator's, after size", vec![("form_rate_limit", "lots")], json.to_vec(), POST, 500, "not_configured"),
        ("decoding before the site key", vec![], json.to_vec(), "{not json", 400, "bad_request"),
        ("the site key", vec![], json.to_vec(), r#"{"email":"a@example.com","message":"m","site_key":"wrong"}"#, 401, "unauthorized"),
        ("no site key configured: 500 at the site-key step", vec![("form_site_key", "")], json.to_vec(), POST, 500, "not_configured"),
        ("a missing field names it", vec![], json.to_vec(), r#"{"message":"m","site_key":"site-key-1"}"#, 422, "unprocessable"),
        ("no queue configured: 500 only once a ticket would be made", vec![("ticket_queue_url", "")], json.to_vec(), POST, 500, "not_configured"),
    ];
    assert!(!cases.is_empty());
    for (what, overrides, headers, body, status, expected_code) in &cases {
        let mut vars = base_vars();
        vars.extend(overrides.iter().copied());
        let (world, kv) = (World::default(), MemoryKv::new());
        let reply = form(&world, &kv, &vars, &request("POST", "", headers), body);
        assert_eq!(reply.status, *status, "{what}: {}", reply.body);
        if !expected_code.is_empty() {
            assert_eq!(code(&reply), *expected_code, "{what}");
        }
        if *status != 202 {
            assert!(world.queued.borrow().is_empty(), "{what}: nothing queued");
        }
    }
    println!("form guard cases: {}", cases.len());
}

#[test]
fn a_honeypot_post_is_answered_like_a_person_and_makes_nothing() {
    let (world, kv) = (World::default(), MemoryKv::new());
    let parts = request("POST", "", &[("origin", ORIGIN), ("content-type", "application/json")]);
    let bot = r#"{"email":"a@example.com","message":"m","site_key":"site-key-1","website":"http://spam.example"}"#;
    let reply = form(&world, &kv, &base_vars(), &parts, bot);
    assert_eq!(reply.status, 202);
    assert!(world.queued.borrow().is_empty());
    assert!(kv.snapshot().keys().all(|k| !k.starts_with("tr/t/")), "no ticket stored");
}

#[test]
fn the_form_serves_its_other_routes() {
    let (world, kv) = (World::default(), MemoryKv::new());
    let embed = form(&world, &kv, &base_vars(), &request("GET", "/embed.js", &[]), "");
    assert_eq!((embed.status, embed.body.as_str()), (200, "/* embed */"));
    let preflight = form(&world, &kv, &base_vars(), &request("OPTIONS", "", &[("origin", ORIGIN)]), "");
    assert_eq!(preflight.status, 204);
    let check = form(&world, &kv, &base_vars(), &request("GET", "/check", &[("origin", "https://other.example")]), "");
    assert_eq!(serde_json::from_str::<Value>(&check.body).unwrap()["allowed"], false);
    let wrong = form(&world, &kv, &base_vars(), &request("DELETE", "", &[]), "");
    assert_eq!(wrong.status, 405);
    assert!(wrong.headers.iter().any(|(n, v)| *n == "allow" && v == "POST, OPTIONS"));
    assert_eq!(form(&world, &kv, &base_vars(), &request("GET", "/nope", &[]), "").status, 404);
}

fn signed_generic(body: &[u8]) -> String {
    tr_core::chat::signature::sign(&Secret::new("chat-secret-1"), NOW, body)
}

#[test]
fn the_chat_dispatch_picks_the_sender_by_route() {
    let (world, kv) = (World::default(), MemoryKv::new());
    let body = fixture("generic.json");
    let sig = signed_generic(&body);
    let json = ("content-type", "application/json");
    let reply = chat(&world, &kv, &base_vars(), &request("POST", "", &[json, ("x-tr-signature", &sig)]), &body);
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(world.queued.borrow().len(), 1);
    // Replayed: the same ticket, nothing queued again.
    let again = chat(&world, &kv, &base_vars(), &request("POST", "", &[json, ("x-tr-signature", &sig)]), &body);
    assert_eq!(serde_json::from_str::<Value>(&again.body).unwrap()["status"], "repeat");
    assert_eq!(world.queued.borrow().len(), 1);

    // The same body on the Tawk route is checked with Tawk's scheme, whose secret is not set here.
    let tawk = chat(&world, &kv, &base_vars(), &request("POST", "/tawk", &[json, ("x-tr-signature", &sig)]), &body);
    assert_eq!((tawk.status, code(&tawk)), (500, "not_configured".to_owned()));
    // A bad signature on the generic route.
    let forged = chat(&world, &kv, &base_vars(), &request("POST", "", &[json, ("x-tr-signature", "t=1,v1=00")]), &body);
    assert_eq!(forged.status, 401);
    assert_eq!(chat(&world, &kv, &base_vars(), &request("POST", "/other", &[json]), &body).status, 404);
    assert_eq!(chat(&world, &kv, &base_vars(), &request("GET", "", &[json]), &body).status, 405);
    assert_eq!(chat(&world, &kv, &base_vars(), &request("POST", "", &[("content-type", "text/plain")]), &body).status, 415);
}

fn chatwoot_signature(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(b"cw-secret").unwrap();
    mac.update(format!("{NOW}.").as_bytes());
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Chatwoot's messages fetch: 200 reads the list; 404 falls back to the webhook's message; 401/403 is the
/// operator's (500); 5xx and no connection are 503 with Retry-After (nothing kept); no token, no fetch. The
/// sample's own message is the bot's hand-off line, so a fallback is the lane's 422 (no visitor text), not a
/// ticket: that is how the test tells a fallback from a fetch.
#[test]
fn the_chatwoot_fetch_follows_its_status_rules() {
    let body = fixture("chatwoot.json");
    let sig = chatwoot_signature(&body);
    let now = NOW.to_string();
    let headers = [("content-type", "application/json"), ("x-chatwoot-signature", sig.as_str()), ("x-chatwoot-timestamp", now.as_str())];
    let cases: [(Option<u16>, bool, u16, bool); 6] = [
        (Some(200), true, 201, true),
        (Some(404), true, 422, false),
        (Some(401), true, 500, false),
        (Some(503), true, 503, false),
        (None, true, 503, false),
        (Some(500), false, 422, false),
    ];
    for (status, with_token, answer, queued) in cases {
        let world = World { chatwoot_status: status, ..World::default() };
        let kv = MemoryKv::new();
        let mut vars = base_vars();
        if !with_token {
            vars.push(("chatwoot_api_token", ""));
        }
        let reply = chat(&world, &kv, &vars, &request("POST", "/chatwoot", &headers), &body);
        let what = format!("Chatwoot {status:?}, token {with_token}");
        assert_eq!(reply.status, answer, "{what}: {}", reply.body);
        assert_eq!(!world.queued.borrow().is_empty(), queued, "{what}");
        let fetched = world.requests.borrow().iter().any(|u| u.starts_with("https://chat.example.com/api/v1/accounts/"));
        assert_eq!(fetched, with_token, "{what}: fetched only with a token");
        if answer == 503 {
            assert!(reply.headers.iter().any(|(n, _)| *n == "retry-after"), "{what}");
            assert!(kv.snapshot().keys().all(|k| !k.starts_with("tr/")), "{what}: nothing kept half");
        }
    }
    // The fetched list is what the ticket holds: the visitor's words, which the webhook itself never carried.
    let world = World { chatwoot_status: Some(200), ..World::default() };
    chat(&world, &MemoryKv::new(), &base_vars(), &request("POST", "/chatwoot", &headers), &body);
    let ticket_body = world.queued.borrow()[0]["ticket"]["body"].as_str().unwrap().to_owned();
    assert!(ticket_body.contains("The CSV export crashes with a timeout"), "{ticket_body}");
}

#[test]
fn a_store_that_cannot_open_is_retry_later_for_both_lanes() {
    let world = World::default();
    let vars = MapVars::from_pairs(base_vars());
    let reply = pollster::block_on(async {
        let wiring: Wiring<World, World, MemoryKv> =
            Wiring::from_vars(&vars, world.clone(), world.clone(), Err(tr_core::store::KvError::Other("down".into()))).await;
        let parts = request("POST", "", &[("origin", ORIGIN), ("content-type", "application/json")]);
        FormEndpoint::from_vars(&vars, wiring, "").await.serve(&parts, Full::new(Bytes::from(POST))).await
    });
    assert_eq!(reply.status, 503);
    assert!(reply.headers.iter().any(|(n, v)| *n == "retry-after" && v == "15"));
}
