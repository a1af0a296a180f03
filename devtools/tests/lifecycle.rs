//! The ticket lifecycle end to end, on the repository's own `spin.toml` against moto: an email ticket is read,
//! the router closes it with a status command on the ticket queue (IAM-signed, as a router sends it), the read
//! component applies it and acknowledges it on the read queue, and a reply in the old thread becomes a new
//! ticket linked `follow-up-of`; the same command again is acknowledged again under the same event id.

mod common;

use std::time::SystemTime;

use common::pipeline::Pipeline;
use tr_core::store::{LinkReason, StatusCommand, TicketRecord, TicketStatus};
use tr_tests::services::sqs_tool;

fn record(p: &Pipeline, id: &str) -> TicketRecord {
    let kv = tr_host::kv::SqliteKv::open(&p.host.dir.join(".spin/sqlite_key_value.db")).unwrap();
    let bytes = kv.get("default", &format!("tr/t/{id}")).unwrap().unwrap_or_else(|| panic!("no record for {id}"));
    serde_json::from_slice(&bytes).unwrap()
}

#[test]
fn the_router_closes_a_ticket_and_a_reply_in_its_thread_becomes_a_follow_up() {
    let p = Pipeline::start("lifecycle", &[("reader", "offline")]);
    p.wait_for_log("s3:TestEvent, nothing to do");
    p.put("inbound/0001", "new.eml");
    p.wait_for_log(&format!("[email] s3://{}/inbound/0001 -> created ", p.bucket));
    let read = p.take(&p.read_queue, 1, 20);
    assert_eq!(read.len(), 1, "{}", p.host.output());
    let id = read[0]["ticket"]["id"].as_str().unwrap().to_owned();
    assert_eq!((read[0]["event"].as_str(), read[0]["event_id"].as_str()), (Some("ticket"), Some(format!("ticket-{id}").as_str())));

    // The router closes it.
    let close = StatusCommand::new(&id, TicketStatus::Closed, "close-1", SystemTime::now()).unwrap().encode();
    sqs_tool(&["send", &p.ticket_queue, &close]);
    p.wait_for_log(&format!("[read] ticket {id}: status command close-1 (closed) applied, now closed"));
    let ack = p.take(&p.read_queue, 1, 20);
    assert_eq!(ack.len(), 1, "{}", p.host.output());
    assert_eq!(ack[0]["event"], "status-ack");
    assert_eq!(ack[0]["event_id"], format!("status-{id}-close-1"));
    assert_eq!((ack[0]["status_ack"]["outcome"].as_str(), ack[0]["status_ack"]["status"].as_str()), (Some("applied"), Some("closed")));
    assert_eq!(record(&p, &id).status, TicketStatus::Closed);

    // Dana replies in the old thread: a new ticket that follows the closed one up, read once.
    p.put("inbound/0002", "reply.eml");
    p.wait_for_log(&format!("[email] s3://{}/inbound/0002 -> created ", p.bucket));
    let read = p.take(&p.read_queue, 1, 20);
    assert_eq!(read.len(), 1, "{}", p.host.output());
    assert_eq!(read[0]["event"], "ticket");
    let follow_up = read[0]["ticket"]["id"].as_str().unwrap().to_owned();
    assert_ne!(follow_up, id);
    let links = record(&p, &follow_up).links;
    assert_eq!((links[0].ticket_id.as_str(), links[0].reason), (id.as_str(), LinkReason::FollowUpOf));
    assert_eq!(record(&p, &id).messages.len(), 1, "nothing was appended to the closed ticket");

    // The same command again (the router re-sent it): acknowledged again under the same id, nothing changed.
    sqs_tool(&["send", &p.ticket_queue, &close]);
    let again = p.take(&p.read_queue, 1, 20);
    assert_eq!(again.len(), 1, "{}", p.host.output());
    assert_eq!(again[0]["event_id"], format!("status-{id}-close-1"));
    assert_eq!(again[0]["status_ack"], ack[0]["status_ack"]);
}
