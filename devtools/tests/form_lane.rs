//! The form lane end to end on the repository's own `spin.toml`: posts to the real `form.wasm` on the host, as a
//! plain HTML form (urlencoded) and as the embed (JSON), become one ticket on the ticket queue (read by the
//! offline reader and forwarded to the read-tickets queue). Every rejection is asserted by status and error body,
//! and that it made nothing.

mod common;

use std::time::Duration;

use common::pipeline::Pipeline;
use common::{Reply, post};
use serde_json::{Value, json};

const SITE_KEY: &str = "site-key-for-tests";
const ORIGIN: &str = "https://shop.example.com";

fn start(extra: &[(&str, &str)]) -> Pipeline {
    let mut variables = vec![
        ("reader", "offline"),
        ("form_site_key", SITE_KEY),
        ("form_allowed_origins", "https://shop.example.com, https://www.example.com"),
        ("form_rate_limit", "1000/600"),
    ];
    variables.extend_from_slice(extra);
    Pipeline::start("form-lane", &variables)
}

/// A person's submission as the embed sends it.
fn embed_body(nonce: &str) -> Value {
    json!({
        "site_key": SITE_KEY, "nonce": nonce, "name": "Dana Whitfield", "email": "Dana.Whitfield@example.com",
        "subject": "Export button does nothing", "message": "On the reports page the CSV export button does nothing since Monday.",
        "page_url": "https://shop.example.com/pricing?plan=team", "referrer": "https://www.google.com/",
        "website": "", "fill_ms": 14_000
    })
}

fn post_json(p: &Pipeline, origin: &str, body: &Value) -> (u16, Value, Reply) {
    let reply = post(
        &format!("{}/form", p.host.base),
        &[("content-type", "application/json"), ("accept", "application/json"), ("origin", origin)],
        body.to_string().as_bytes(),
    );
    let json = serde_json::from_str(&reply.body).unwrap_or_else(|_| panic!("{}: not JSON: {}", reply.status, reply.body));
    (reply.status, json, reply)
}

#[test]
fn an_embed_post_becomes_one_read_ticket_with_its_page_and_a_retry_is_the_same_ticket() {
    let p = start(&[]);
    let body = embed_body("nonce-0001");
    let (status, answer, _) = post_json(&p, ORIGIN, &body);
    assert_eq!((status, &answer), (202, &json!({"status": "received"})), "{}", p.host.output());

    let read = p.take(&p.read_queue, 1, 20);
    assert_eq!(read.len(), 1, "{}", p.host.output());
    let ticket = &read[0]["ticket"];
    assert_eq!(ticket["source"], "form");
    assert_eq!(ticket["customer"]["email"], "dana.whitfield@example.com");
    assert_eq!(ticket["customer"]["name"], "Dana Whitfield");
    assert_eq!(ticket["subject"], "Export button does nothing");
    assert_eq!(ticket["page_url"], "https://shop.example.com/pricing?plan=team");
    assert_eq!(ticket["idempotency_key"], "form:nonce-0001");
    assert!(ticket["reading"]["topic"].is_string(), "the read stage tagged it");

    // The embed retries with the same nonce (its first answer was lost): same ticket, nothing new queued.
    let (status, _, _) = post_json(&p, ORIGIN, &body);
    assert_eq!(status, 202);
    assert!(p.take(&p.ticket_queue, 1, 3).is_empty() && p.take(&p.read_queue, 1, 2).is_empty());
    assert!(p.host.output().contains("[form] submission -> repeat of"), "{}", p.host.output());
}

#[test]
fn a_plain_html_form_post_gets_a_page_and_makes_a_ticket() {
    let p = start(&[]);
    let form = "site_key=site-key-for-tests&name=Ana+P%C3%A9rez&email=ana%40example.com&subject=&message=Where+is+my+invoice%3F&page_url=https%3A%2F%2Fwww.example.com%2Fbilling&website=";
    let headers = [("content-type", "application/x-www-form-urlencoded"), ("accept", "text/html,*/*;q=0.8"), ("origin", "https://www.example.com")];
    let reply = post(&format!("{}/form", p.host.base), &headers, form.as_bytes());
    assert_eq!(reply.status, 202, "{}", reply.body);
    assert!(reply.body.starts_with("<!doctype html>") && reply.body.contains("your message was sent"), "{}", reply.body);
    assert!(reply.body.contains("href=\"https://www.example.com/billing\""), "links back to the page: {}", reply.body);
    let read = p.take(&p.read_queue, 1, 20);
    assert_eq!(read.len(), 1, "{}", p.host.output());
    assert_eq!((read[0]["ticket"]["subject"].as_str(), read[0]["ticket"]["customer"]["name"].as_str()), (Some("(no subject)"), Some("Ana Pérez")));

    // A double click sends the same words again: no nonce, so the content is the key — one ticket.
    assert_eq!(post(&format!("{}/form", p.host.base), &headers, form.as_bytes()).status, 202);
    assert!(p.take(&p.read_queue, 1, 3).is_empty());

    // The same page's mistake comes back as a page too, with the status and the field.
    let bad = form.replace("ana%40example.com", "ana-at-example.com");
    let reply = post(&format!("{}/form", p.host.base), &headers, bad.as_bytes());
    assert_eq!(reply.status, 422);
    assert!(reply.body.contains("<h1>Your message was not sent</h1>") && reply.body.contains("email is not an email address"), "{}", reply.body);
}

#[test]
fn every_rejection_has_its_status_and_error_body_and_makes_nothing() {
    let p = start(&[]);
    let with = |change: &dyn Fn(&mut Value)| {
        let mut body = embed_body("nonce-reject");
        change(&mut body);
        body
    };
    let cases: Vec<(&str, &str, Value, u16, &str, Option<&str>)> = vec![
        ("missing site key", ORIGIN, with(&|b| b["site_key"] = Value::Null), 401, "unauthorized", Some("site_key")),
        ("wrong site key", ORIGIN, with(&|b| b["site_key"] = "site-key-for-test".into()), 401, "unauthorized", Some("site_key")),
        ("origin not allowed", "https://evil.example.net", embed_body("nonce-reject"), 403, "origin_not_allowed", Some("Origin")),
        ("bad email", ORIGIN, with(&|b| b["email"] = "dana@".into()), 422, "unprocessable", Some("email")),
        ("missing message", ORIGIN, with(&|b| b["message"] = "   ".into()), 422, "unprocessable", Some("message")),
        ("missing email", ORIGIN, with(&|b| { b.as_object_mut().unwrap().remove("email"); }), 422, "unprocessable", Some("email")),
        ("field of the wrong type", ORIGIN, with(&|b| b["subject"] = json!(["a"])), 400, "bad_request", Some("subject")),
        ("page URL not a web page", ORIGIN, with(&|b| b["page_url"] = "javascript:alert(1)".into()), 422, "unprocessable", Some("page_url")),
    ];
    for (why, origin, body, status, code, field) in cases {
        let (got, answer, _) = post_json(&p, origin, &body);
        assert_eq!((got, answer["error"]["code"].as_str(), answer["error"]["field"].as_str()), (status, Some(code), field), "{why}: {answer}");
        assert!(answer["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{why}: {answer}");
    }

    let raw = |headers: &[(&str, &str)], body: &[u8]| {
        let reply = post(&format!("{}/form", p.host.base), headers, body);
        (reply.status, serde_json::from_str::<Value>(&reply.body).unwrap_or_else(|_| panic!("not JSON: {}", reply.body)))
    };
    let (status, answer) = raw(&[("content-type", "text/plain"), ("origin", ORIGIN)], b"hello");
    assert_eq!((status, answer["error"]["code"].as_str()), (415, Some("unsupported_media_type")), "{answer}");
    let (status, answer) = raw(&[("content-type", "application/json"), ("origin", ORIGIN)], &vec![b' '; 100 * 1024]);
    assert_eq!((status, answer["error"]["code"].as_str()), (413, Some("payload_too_large")), "{answer}");
    let (status, answer) = raw(&[("content-type", "application/json"), ("origin", ORIGIN)], b"{\"email\": ");
    assert_eq!((status, answer["error"]["code"].as_str()), (400, Some("bad_request")), "{answer}");
    let (status, answer) = raw(&[("content-type", "application/json")], embed_body("nonce-no-origin").to_string().as_bytes());
    assert_eq!((status, answer["error"]["code"].as_str()), (403, Some("origin_not_allowed")), "no Origin: {answer}");

    // Bots: a filled honeypot, a form sent faster than a person types. Both get a person's answer.
    let (status, answer, _) = post_json(&p, ORIGIN, &with(&|b| { b["nonce"] = "bot-1".into(); b["website"] = "http://cheap-pills.test".into(); }));
    assert_eq!((status, &answer), (202, &json!({"status": "received"})), "honeypot");
    let (status, answer, _) = post_json(&p, ORIGIN, &with(&|b| { b["nonce"] = "bot-2".into(); b["fill_ms"] = 700.into(); }));
    assert_eq!((status, &answer), (202, &json!({"status": "received"})), "too fast");
    // The host logs a request after answering it: wait for the lines rather than read the log at once.
    for line in ["HoneypotFilled", "TooFast { fill_ms: 700 }"] {
        assert!(p.host.wait_for_output(line, Duration::from_secs(10)), "{line} not counted in the log:\n{}", p.host.output());
    }

    assert!(p.take(&p.ticket_queue, 10, 3).is_empty(), "no rejection made a ticket:\n{}", p.host.output());
    assert!(!p.host.output().contains(SITE_KEY), "the site key never reaches the log");
}

#[test]
fn cors_preflight_and_the_origin_check() {
    let p = start(&[]);
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let preflight = |origin: &str| {
        agent
            .options(&format!("{}/form", p.host.base))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .call()
            .unwrap()
    };
    let allowed = preflight(ORIGIN);
    let header = |r: &http::Response<ureq::Body>, n: &str| r.headers().get(n).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(allowed.status(), 204);
    assert_eq!(header(&allowed, "access-control-allow-origin").as_deref(), Some(ORIGIN));
    assert_eq!(header(&allowed, "access-control-allow-methods").as_deref(), Some("POST"));
    assert!(header(&allowed, "access-control-allow-headers").unwrap().contains("content-type"));
    let refused = preflight("https://evil.example.net");
    assert_eq!(refused.status(), 403);
    assert_eq!(header(&refused, "access-control-allow-origin"), None, "no CORS headers for a refused origin");

    // An allowed page's error answers carry CORS headers, so the embed can show the server's message.
    let (status, _, reply) = post_json(&p, ORIGIN, &json!({"site_key": "wrong"}));
    assert_eq!(status, 401);
    assert_eq!(reply.header("access-control-allow-origin"), Some(ORIGIN));
    let check = agent.get(&format!("{}/form/check", p.host.base)).header("origin", "https://evil.example.net").call().unwrap();
    assert_eq!(header(&check, "access-control-allow-origin").as_deref(), Some("*"));
    let body: Value = serde_json::from_str(&check.into_body().read_to_string().unwrap()).unwrap();
    assert_eq!(body["allowed"], false);
    assert!(body["message"].as_str().unwrap().contains("https://evil.example.net"), "{body}");

    let js = agent.get(&format!("{}/form/embed.js", p.host.base)).call().unwrap();
    assert_eq!(js.status(), 200);
    assert!(header(&js, "content-type").unwrap().starts_with("text/javascript"));
    let size = js.into_body().read_to_string().unwrap().len();
    assert!(size <= 8 * 1024, "the embed is {size} bytes; the goal is 8 KB");
    let wrong = agent.delete(&format!("{}/form", p.host.base)).call().unwrap();
    assert_eq!((wrong.status().as_u16(), header(&wrong, "allow").as_deref()), (405, Some("POST, OPTIONS")));
}

#[test]
fn over_the_rate_limit_is_429_with_retry_after() {
    let p = start(&[("form_rate_limit", "2/600")]);
    // Two different customers behind one address (an office), so the store does not merge them.
    for (nonce, email) in [("rate-1", "a@example.com"), ("rate-2", "b@example.com")] {
        let mut body = embed_body(nonce);
        body["email"] = email.into();
        assert_eq!(post_json(&p, ORIGIN, &body).0, 202);
    }
    let (status, answer, reply) = post_json(&p, ORIGIN, &embed_body("rate-3"));
    assert_eq!((status, answer["error"]["code"].as_str()), (429, Some("rate_limited")), "{answer}");
    let retry_after: u32 = reply.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=600).contains(&retry_after), "{retry_after}");
    assert_eq!(p.take(&p.read_queue, 3, 20).len(), 2, "the third post made nothing");
}

#[test]
fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_window_and_an_untrusted_header_is_ignored() {
    let post_from = |p: &Pipeline, nonce: &str, forwarded_for: &str| {
        let mut body = embed_body(nonce);
        body["email"] = format!("{nonce}@example.com").into();
        let reply = post(
            &format!("{}/form", p.host.base),
            &[("content-type", "application/json"), ("origin", ORIGIN), ("x-forwarded-for", forwarded_for)],
            body.to_string().as_bytes(),
        );
        reply.status
    };
    // The test client connects from 127.0.0.1: as the operator's load balancer, trusted.
    let p = start(&[("form_rate_limit", "2/600"), ("form_trusted_proxies", "127.0.0.0/8, ::1")]);
    assert_eq!(post_from(&p, "p1", "198.51.100.1"), 202);
    assert_eq!(post_from(&p, "p2", "203.0.113.50, 198.51.100.1"), 202, "a client-written entry left of the real one counts for nothing");
    assert_eq!(post_from(&p, "p3", "198.51.100.1"), 429, "198.51.100.1's window is full");
    assert_eq!(post_from(&p, "p4", "198.51.100.2"), 202, "another customer behind the same proxy is not turned away");
    assert_eq!(post_from(&p, "p5", "2001:db8:7:7::1"), 202);
    assert_eq!(post_from(&p, "p6", "2001:db8:7:7::2"), 202);
    assert_eq!(post_from(&p, "p7", "2001:db8:7:7:ffff::3"), 429, "one IPv6 /64 shares a window");
    drop(p);

    // Not trusted (the default): the header is anyone's to write, so it changes nothing.
    let p = start(&[("form_rate_limit", "2/600")]);
    assert_eq!(post_from(&p, "q1", "198.51.100.1"), 202);
    assert_eq!(post_from(&p, "q2", "198.51.100.2"), 202);
    assert_eq!(post_from(&p, "q3", "198.51.100.3"), 429, "a fresh X-Forwarded-For per post does not reset the limit");
}

#[test]
fn a_queue_that_is_down_is_503_and_a_retry_with_the_same_nonce_completes_the_ticket() {
    let mut p = start(&[("sqs_endpoint", "http://127.0.0.1:9")]);
    let body = embed_body("nonce-queue-down");
    let (status, answer, reply) = post_json(&p, ORIGIN, &body);
    assert_eq!((status, answer["error"]["code"].as_str()), (503, Some("unavailable")), "{answer}\n{}", p.host.output());
    assert!(reply.header("retry-after").is_some_and(|s| s.parse::<u32>().is_ok()));

    let moto = tr_tests::services::Moto::from_env();
    p.restart(&[("sqs_endpoint", &moto.endpoint)], None);
    let (status, _, _) = post_json(&p, ORIGIN, &body);
    assert_eq!(status, 202, "{}", p.host.output());
    let read = p.take(&p.read_queue, 2, 20);
    assert_eq!(read.len(), 1, "exactly one ticket:\n{}", p.host.output());
    assert_eq!(read[0]["ticket"]["idempotency_key"], "form:nonce-queue-down");
}
