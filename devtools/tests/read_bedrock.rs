//! The read component against a protocol-faithful Bedrock (`tests/tools/fake_bedrock.py`: checks every SigV4
//! signature with botocore's signer, service `bedrock`; refuses a request with tools or without
//! `output_config.format`; answers structured output's shape, a text block holding the JSON, with scripted
//! cases). Tickets arrive the real way — raw mail in moto S3 through the email component — and each outcome is
//! asserted on the stored ticket, on the read-tickets queue, and in the calls the fake received.

mod common;

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::pipeline::{Pipeline, repo};
use common::target_dir;
use tr_tests::services::sqs_tool;

struct FakeBedrock {
    child: Child,
    origin: String,
}

impl Drop for FakeBedrock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn fake_bedrock() -> FakeBedrock {
    let port_file = target_dir().join(format!("tmp/fake-bedrock-{}.port", std::process::id()));
    let _ = std::fs::remove_file(&port_file);
    let child = Command::new("python3").arg(repo().join("tests/tools/fake_bedrock.py")).arg(&port_file).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(port) = std::fs::read_to_string(&port_file)
            && !port.is_empty()
        {
            return FakeBedrock { child, origin: format!("http://127.0.0.1:{port}") };
        }
        assert!(Instant::now() < deadline, "fake_bedrock.py did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
}

impl FakeBedrock {
    /// The calls the fake received for `case`, in order: (attempt, answered as scripted).
    fn calls(&self, case: &str) -> Vec<serde_json::Value> {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let body = agent.get(format!("{}/calls", self.origin)).call().unwrap().into_body().read_to_string().unwrap();
        let calls: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
        calls.into_iter().filter(|c| c["case"] == case).collect()
    }
}

/// A raw mail for `case` from its own customer (so no two cases merge as duplicates).
fn mail(case: &str, text: &str) -> PathBuf {
    let dir = target_dir().join("tmp/read-bedrock-mail");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{case}.eml"));
    let raw = format!(
        "From: Customer {case} <{case}@customers.example>\r\nTo: support@tr-intake.test\r\nSubject: {text}\r\n\
         Message-ID: <{case}-{}@customers.example>\r\nDate: Fri, 27 Nov 2026 09:00:00 +0000\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\ncase={case}\r\n",
        std::process::id()
    );
    std::fs::write(&path, raw).unwrap();
    path
}

#[test]
fn each_model_outcome_lands_on_the_stored_ticket_and_the_queue() {
    let bedrock = fake_bedrock();
    let p = Pipeline::start("read-bedrock", &[("reader", "bedrock"), ("bedrock_endpoint", &bedrock.origin)]);
    let cases = [
        ("valid", "My card was charged twice for one invoice", "billing", vec![], 1),
        ("unknown-topic", "Where is my parcel, it never arrived", "unsure", vec!["read-error"], 2),
        ("non-json", "Something odd happened with my account today", "unsure", vec!["read-error"], 2),
        ("throttle-once", "Please refund the duplicate payment from March", "billing", vec![], 2),
        ("bad-request", "The export button does nothing at all", "unsure", vec!["read-error"], 1),
    ];
    for (case, text, ..) in &cases {
        p.put_file(&format!("inbound/{case}"), &mail(case, text));
    }

    let mut read = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while read.len() < cases.len() && Instant::now() < deadline {
        read.extend(p.take(&p.read_queue, cases.len() - read.len(), 5));
    }
    assert_eq!(read.len(), cases.len(), "every ticket was read:\n{}", p.host.output());

    for (case, _, topic, flags, calls) in &cases {
        let ticket = read
            .iter()
            .map(|m| &m["ticket"])
            .find(|t| t["customer"]["email"] == format!("{case}@customers.example"))
            .unwrap_or_else(|| panic!("no read ticket for {case}"));
        assert_eq!(ticket["reading"]["topic"], *topic, "{case}");
        assert_eq!(ticket["flags"], serde_json::json!(flags), "{case}");
        let stored = p.stored_ticket(ticket["id"].as_str().unwrap());
        assert_eq!(stored["reading"], ticket["reading"], "{case}: the tags are on the stored ticket");
        assert_eq!(stored["flags"], ticket["flags"], "{case}");
        assert_eq!(bedrock.calls(case).len(), *calls, "{case}: model calls made");
    }
    let log = p.host.output();
    assert!(log.contains("left for redelivery: model: the model service refused the call: HTTP 429 ThrottlingException"), "{log}");

    // A redelivered message for a ticket already read makes no model call.
    let valid = read.iter().find(|m| m["ticket"]["customer"]["email"] == "valid@customers.example").unwrap();
    let mut again = valid.clone();
    again["ticket"]["reading"] = serde_json::Value::Null;
    sqs_tool(&["send", &p.ticket_queue, &again.to_string()]);
    p.wait_for_log(&format!("[read] ticket {}: already read, no model call", valid["ticket"]["id"].as_str().unwrap()));
    assert_eq!(bedrock.calls("valid").len(), 1);
    // The fake checked every signature; a request it refused would have left a ticket unread above.
    assert!(!log.contains("InvalidSignatureException"), "{log}");
}
