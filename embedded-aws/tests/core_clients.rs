//! The project's own clients (tr-core's SqsClient and S3Client, signing with tr-core's SigV4 over a native
//! transport) against the embedded endpoint: the lanes will talk to it through exactly these.

mod common;

use tr_core::Credentials;
use tr_core::s3_client::{S3Client, S3Config};
use tr_core::sqs_client::{OutgoingMessage, SqsClient, SqsConfig};
use tr_tests::native::{SystemRuntime, UreqTransport};

#[test]
fn tr_core_clients_send_batch_and_fetch() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (server, _dir, target) = rt.block_on(common::embedded());
    let credentials = Credentials::new(common::ACCESS_KEY, common::SECRET);
    let fifo_url = rt
        .block_on(server.create_queue("tickets.fifo", common::attrs(&[("FifoQueue", "true")])))
        .unwrap();

    let sqs = SqsClient::new(
        SqsConfig::new(common::REGION, credentials.clone()).with_endpoint(server.endpoint()),
        UreqTransport::default(),
        SystemRuntime::default(),
    );
    let message = |id: &str, group: &str| OutgoingMessage {
        entry_id: id.into(),
        body: format!("ticket {id}"),
        attributes: vec![("source".into(), "email".into())],
        group_id: Some(group.into()),
        deduplication_id: Some(format!("dedup-{id}")),
    };
    let sent = pollster::block_on(sqs.send_message(&fifo_url, &message("t1", "alice"))).unwrap();
    assert!(sent.sequence_number.is_some());
    let batch = pollster::block_on(
        sqs.send_message_batch(&fifo_url, &[message("t2", "alice"), message("t3", "bob")]),
    );
    let batch = batch.unwrap();
    assert!(batch.failed.is_empty(), "{batch:?}");
    // The same dedup id again is accepted and dropped.
    pollster::block_on(sqs.send_message(&fifo_url, &message("t1", "alice"))).unwrap();

    let bodies: Vec<String> = rt.block_on(async {
        let got = target
            .sqs()
            .receive_message()
            .queue_url(&fifo_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        got.messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| m.body.unwrap())
            .collect()
    });
    assert_eq!(bodies, ["ticket t1", "ticket t2", "ticket t3"]);

    rt.block_on(server.create_bucket("tr-raw-mail")).unwrap();
    let key = "inbound/a b+c.eml";
    rt.block_on(server.put_object("tr-raw-mail", key, b"0123456789".to_vec()))
        .unwrap();
    let mut config = S3Config::new(common::REGION, credentials, 1 << 20);
    config.endpoint = Some(server.endpoint().to_owned());
    config.path_style = true;
    let s3 = S3Client::new(config, UreqTransport::default(), SystemRuntime::default());
    assert_eq!(
        pollster::block_on(s3.get_object("tr-raw-mail", key)).unwrap(),
        b"0123456789"
    );
    assert_eq!(
        pollster::block_on(s3.get_object_prefix("tr-raw-mail", key, 4)).unwrap(),
        b"0123"
    );
    assert!(pollster::block_on(s3.get_object("tr-raw-mail", "missing.eml")).is_err());
}
