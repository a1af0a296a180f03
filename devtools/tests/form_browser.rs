//! The embed in a real browser: headless Chromium (Debian's `chromium` + `chromedriver`, over WebDriver) opens
//! the demo marketing page (`demo/index.html`) served from one origin, with the form endpoint on another (the
//! local host running the repository's `spin.toml`). A person types and clicks; the ticket must land on the
//! queue with the page's URL. A page on an origin that is not allowed shows a clear error and makes nothing. The
//! endpoint going down mid-submission ends, after the embed's retries, with exactly one ticket. Screenshots of
//! the embed before and after submitting are saved under `<target>/form-browser/`.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::pipeline::{Pipeline, repo};
use common::target_dir;
use common::webdriver::Browser;

const SITE_KEY: &str = "demo-site-key";
const DEMO_ENDPOINT: &str = "http://127.0.0.1:3000";

/// Serves the demo page on a free port, its form endpoint pointed at whatever `host` holds when it is asked for
/// (the host starts after the page's origin is known: that origin is what it allows). Returns the port.
fn serve_demo(host: Arc<Mutex<String>>) -> u16 {
    let template = std::fs::read_to_string(repo().join("demo/index.html")).expect("demo/index.html");
    assert!(template.contains(DEMO_ENDPOINT), "the demo page no longer posts to {DEMO_ENDPOINT}: update this test");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or("/");
            let page = template.replace(DEMO_ENDPOINT, &host.lock().unwrap());
            let (status, body) = if path == "/" || path.starts_with("/?") { ("200 OK", page.as_str()) } else { ("404 Not Found", "") };
            let mut stream = stream;
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

/// Types a person's message into the embedded form, reading a moment first (the form's minimum fill time).
fn fill(browser: &Browser, email: &str, message: &str) {
    let form = "#support form.tr-form";
    browser.find(form, 15);
    browser.type_into(&format!("{form} [name=name]"), "Dana Whitfield");
    browser.type_into(&format!("{form} [name=email]"), email);
    browser.type_into(&format!("{form} [name=subject]"), "Team plan seats");
    browser.type_into(&format!("{form} [name=message]"), message);
    std::thread::sleep(Duration::from_millis(1_200));
}

/// Waits until the embed's status region reports `kind` (`ok` or `error`); returns its text.
fn status(browser: &Browser, kind: &str, seconds: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        let now = browser.eval("var s = document.querySelector('#support .tr-status'); return s ? [s.getAttribute('data-kind'), s.textContent] : null;");
        if now[0] == kind {
            return now[1].as_str().unwrap_or_default().to_owned();
        }
        assert!(Instant::now() < deadline, "the embed's status never became `{kind}`; it is {now}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_person_submits_the_embedded_form_in_chromium() {
    let host = Arc::new(Mutex::new(String::new()));
    let demo_port = serve_demo(host.clone());
    let allowed = format!("http://127.0.0.1:{demo_port}");
    let mut p = Pipeline::start(
        "form-browser",
        &[("reader", "offline"), ("form_site_key", SITE_KEY), ("form_allowed_origins", &allowed), ("form_min_fill_seconds", "1")],
    );
    *host.lock().unwrap() = p.host.base.clone();
    let shots = target_dir().join("form-browser");
    let browser = Browser::start();

    // 1. A person on the allowed page.
    let page = format!("{allowed}/?plan=team");
    browser.goto(&page);
    fill(&browser, "dana.whitfield@example.com", "How do I add three more seats to the Team plan?");
    browser.screenshot(&shots.join("embed-before.png"));
    browser.click("#support form.tr-form button[type=submit]");
    let said = status(&browser, "ok", 30);
    assert!(said.starts_with("Thanks"), "{said}");
    browser.screenshot(&shots.join("embed-after.png"));
    let read = p.take(&p.read_queue, 2, 20);
    assert_eq!(read.len(), 1, "{}", p.host.output());
    let ticket = &read[0]["ticket"];
    assert_eq!((ticket["source"].as_str(), ticket["page_url"].as_str()), (Some("form"), Some(page.as_str())));
    assert_eq!(ticket["body"], "How do I add three more seats to the Team plan?");
    assert!(ticket["idempotency_key"].as_str().unwrap().starts_with("form:"), "{ticket}");
    let empty = browser.eval("return document.querySelector('#support [name=message]').value;");
    assert_eq!(empty, "", "the form was cleared for the next message");

    // 2. The same page on an origin that is not allowed (`localhost` is not `127.0.0.1` to a browser).
    browser.goto(&format!("http://localhost:{demo_port}/"));
    fill(&browser, "eve@example.com", "Please call me about pricing.");
    browser.click("#support form.tr-form button[type=submit]");
    let said = status(&browser, "error", 30);
    assert!(said.contains("cannot be sent from this page") && said.contains("localhost"), "{said}");
    browser.screenshot(&shots.join("embed-refused-origin.png"));
    assert!(p.take(&p.ticket_queue, 1, 3).is_empty(), "a refused origin made a ticket");

    // 2b. The same form without JavaScript: a plain post from the page, answered with a page.
    browser.goto(&page);
    browser.type_into("#plain [name=email]", "noscript@example.com");
    browser.type_into("#plain [name=message]", "Is there a discount for schools?");
    browser.click("#plain button[type=submit]");
    let deadline = Instant::now() + Duration::from_secs(15);
    while browser.text("h1") != "Thanks — your message was sent" {
        assert!(Instant::now() < deadline, "the browser never showed the lane's page: {}", browser.text("body"));
        std::thread::sleep(Duration::from_millis(200));
    }
    let read = p.take(&p.read_queue, 2, 20);
    assert_eq!(read.len(), 1, "{}", p.host.output());
    assert_eq!(read[0]["ticket"]["customer"]["email"], "noscript@example.com");
    let from = read[0]["ticket"]["page_url"].as_str().unwrap_or_default().to_owned();
    assert!(from.starts_with(&allowed), "the Referer stands in for the page: {from}");

    // 3. The endpoint is down when the person clicks; it comes back while the embed retries (same nonce).
    browser.goto(&page);
    fill(&browser, "sam@example.com", "Our invoices show the wrong company address since the last update.");
    let listen = p.host.base.trim_start_matches("http://").to_owned();
    p.stop();
    browser.click("#support form.tr-form button[type=submit]");
    std::thread::sleep(Duration::from_secs(3));
    let retrying = browser.text("#support .tr-status");
    assert!(retrying.contains("Still trying"), "the embed says it is retrying: {retrying}");
    p.restart(&[], Some(&listen));
    let said = status(&browser, "ok", 45);
    assert!(said.starts_with("Thanks"), "{said}");
    let read = p.take(&p.read_queue, 3, 20);
    assert_eq!(read.len(), 1, "exactly one ticket after the retries:\n{}", p.host.output());
    assert_eq!(read[0]["ticket"]["customer"]["email"], "sam@example.com");
}
