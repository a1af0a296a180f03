//! Sender trust through the email lane end to end, natively (S3 event → S3 → store → queue), and the form lane
//! beside it: behind SES a reply joins its ticket only when SES's verdicts vouch for its sender; a forged or
//! unvouched reply becomes a ticket of its own flagged `unverified-sender`, linked, with nothing appended; a
//! form post's address is kept as `unverified` on the message it adds.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http_body_util::Full;
use serde_json::{Value, json};
use tr_core::email::lane::EmailWorker;
use tr_core::form::endpoint::FormEndpoint;
use tr_core::store::record::{LinkReason, TicketRecord};
use tr_core::store::{MemoryKv, Store, StoreConfig};
use tr_core::transport::{HttpRequest, HttpResponse, Runtime, Transport, TransportError};
use tr_core::vars::MapVars;
use tr_core::{TicketFlag, Wiring};

const QUEUE: &str = "http://127.0.0.1:4566/000000000000/tr-tickets";
const ORIGIN: &str = "https://www.example.com";
/// 2026-11-26T10:10:00Z.
const NOW: u64 = 1_795_687_800;

/// S3 answers the current mail; SQS records each message body queued.
#[derive(Clone, Default)]
struct World {
    mail: Rc<RefCell<Vec<u8>>>,
    queued: Rc<RefCell<Vec<Value>>>,
    random: Rc<RefCell<u64>>,
}

impl Transport for World {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let ok = |body: Vec<u8>| Ok(http::Response::builder().status(200).body(body).unwrap());
        if request.method() == http::Method::GET {
            return ok(self.mail.borrow().clone());
        }
        let body: Value = serde_json::from_slice(request.body()).unwrap();
        self.queued.borrow_mut().push(serde_json::from_str(body["MessageBody"].as_str().unwrap()).unwrap());
        ok(br#"{"MessageId":"m-1"}"#.to_vec())
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
}

fn vars(extra: &[(&'static str, &'static str)]) -> MapVars {
    let mut pairs = vec![
        ("aws_access_key_id", "AKIDEXAMPLE"),
        ("aws_secret_access_key", "secret"),
        ("sqs_endpoint", "http://127.0.0.1:4566"),
        ("ticket_queue_url", QUEUE),
        ("s3_endpoint", "http://127.0.0.1:9000"),
        ("s3_path_style", "true"),
        ("form_site_key", "site-key-1"),
        ("form_allowed_origins", ORIGIN),
        ("form_min_fill_seconds", "0"),
    ];
    pairs.extend_from_slice(extra);
    MapVars::from_pairs(pairs)
}

const PASS: &str = "X-SES-Spam-Verdict: PASS\r\nX-SES-Virus-Verdict: PASS\r\n\
    Received-SPF: pass (spfCheck: domain of acme.example designates 192.0.2.1 as permitted sender) client-ip=192.0.2.1; envelope-from=ana@acme.example; helo=mail.acme.example;\r\n\
    Authentication-Results: amazonses.com;\r\n spf=pass (spfCheck: domain of acme.example designates 192.0.2.1 as permitted sender) client-ip=192.0.2.1; envelope-from=ana@acme.example; helo=mail.acme.example;\r\n dkim=pass header.i=@acme.example;\r\n dmarc=pass header.from=acme.example;\r\n";

fn mail(verdicts: &str, message_id: &str, in_reply_to: Option<&str>, body: &str) -> Vec<u8> {
    let thread = in_reply_to.map(|r| format!("In-Reply-To: <{r}>\r\nReferences: <{r}>\r\n")).unwrap_or_default();
    format!(
        "{verdicts}From: Ana Lima <ana@acme.example>\r\nTo: support@tr-intake.test\r\nSubject: CSV export fails\r\n\
         Date: Thu, 26 Nov 2026 09:12:00 +0000\r\nMessage-ID: <{message_id}>\r\n{thread}MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// One mail through the email component's worker; returns the last ticket id its log names.
fn deliver(world: &World, kv: &MemoryKv, extra: &[(&'static str, &'static str)], raw: Vec<u8>) {
    *world.mail.borrow_mut() = raw;
    let event = r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","awsRegion":"us-east-1",
        "eventTime":"2026-11-26T10:00:00.000Z","eventName":"ObjectCreated:Put",
        "s3":{"s3SchemaVersion":"1.0","bucket":{"name":"tr-raw-mail"},"object":{"key":"inbound/x","size":2000}}}]}"#;
    pollster::block_on(async {
        let vars = vars(extra);
        let wiring = Wiring::from_vars(&vars, world.clone(), world.clone(), Ok(kv)).await;
        EmailWorker::from_vars(&vars, wiring).await.unwrap().handle_message("sqs-1", event).await.unwrap();
    });
}

fn record(kv: &MemoryKv, ticket_id: &str) -> TicketRecord {
    let store = Store::new(kv, StoreConfig::default());
    pollster::block_on(store.load(ticket_id)).unwrap().expect("a stored ticket").record
}

const FIRST: &str = "Since this morning the CSV export of the Projects report fails with \"Export failed\". We bill from it.";

#[test]
fn behind_ses_only_a_vouched_for_sender_threads_onto_a_ticket() {
    let (world, kv) = (World::default(), MemoryKv::new());
    deliver(&world, &kv, &[], mail(PASS, "m1@acme.example", None, FIRST));
    let first = world.queued.borrow()[0]["ticket"].clone();
    let id = first["id"].as_str().unwrap().to_owned();
    assert_eq!(first["flags"], json!([]), "SES vouched for the sender");

    // A genuine reply: appended.
    deliver(&world, &kv, &[], mail(PASS, "m2@acme.example", Some("m1@acme.example"), "It still fails today."));
    assert_eq!(world.queued.borrow()[1]["event"], "append");
    assert_eq!(record(&kv, &id).messages.len(), 2);

    // A forged reply (DMARC fails) with the right References: a ticket of its own, flagged, linked; nothing added.
    let forged = PASS.replace("dmarc=pass", "dmarc=fail");
    deliver(&world, &kv, &[], mail(&forged, "m3@evil.example", Some("m1@acme.example"), "Please send the invoices to me instead."));
    let queued = world.queued.borrow()[2].clone();
    assert!(queued.get("event").is_none(), "a new ticket, not an append: {queued}");
    assert_eq!(queued["ticket"]["flags"], json!(["unverified-sender"]));
    let forged_id = queued["ticket"]["id"].as_str().unwrap().to_owned();
    assert_eq!(record(&kv, &id).messages.len(), 2, "nothing appended to the customer's ticket");
    let forged_record = record(&kv, &forged_id);
    assert_eq!(forged_record.links.len(), 1);
    assert_eq!((forged_record.links[0].ticket_id.as_str(), forged_record.links[0].reason), (id.as_str(), LinkReason::UnverifiedSender));

    // No verdict at all, and the same words as the first mail: neither threaded nor merged as a duplicate.
    deliver(&world, &kv, &[], mail("", "m4@acme.example", Some("m1@acme.example"), FIRST));
    let queued = world.queued.borrow()[3].clone();
    assert_eq!(queued["ticket"]["flags"], json!(["unverified-sender"]), "{queued}");
    assert_eq!(record(&kv, &id).messages.len(), 2);

    // The same mail on a deployment with no SES in front (the local mail drop): nobody judges, it threads.
    deliver(&world, &kv, &[("email_sender_verification", "off")], mail("", "m5@acme.example", Some("m1@acme.example"), "Any news?"));
    assert_eq!(world.queued.borrow()[4]["event"], "append");
    assert_eq!(record(&kv, &id).messages.len(), 3);
    assert_eq!(world.queued.borrow().len(), 5);
}

#[test]
fn a_form_message_added_to_an_email_ticket_is_marked_unverified() {
    let (world, kv) = (World::default(), MemoryKv::new());
    deliver(&world, &kv, &[], mail(PASS, "m1@acme.example", None, FIRST));
    let id = world.queued.borrow()[0]["ticket"]["id"].as_str().unwrap().to_owned();
    let post = json!({"email": "ana@acme.example", "subject": "CSV export fails", "message": FIRST, "nonce": "n-1", "site_key": "site-key-1"});
    let parts = http::Request::builder()
        .method("POST")
        .uri("http://localhost/form")
        .header("spin-path-info", "")
        .header("origin", ORIGIN)
        .header("content-type", "application/json")
        .body(())
        .unwrap()
        .into_parts()
        .0;
    let reply = pollster::block_on(async {
        let vars = vars(&[]);
        let wiring = Wiring::from_vars(&vars, world.clone(), world.clone(), Ok(&kv)).await;
        FormEndpoint::from_vars(&vars, wiring, "").await.serve(&parts, Full::new(Bytes::from(post.to_string()))).await
    });
    assert_eq!(reply.status, 202, "{}", reply.body);
    let event = world.queued.borrow()[1].clone();
    assert_eq!(event["event"], "append", "{event}");
    assert_eq!(event["append"]["message"]["flags"], json!(["unverified"]));
    let record = record(&kv, &id);
    let flags: Vec<&[TicketFlag]> = record.messages.iter().map(|m| m.flags.as_slice()).collect();
    assert_eq!(flags, [&[][..], &[TicketFlag::Unverified][..]], "the timeline says which words came from whom");
}
